//! Column builders that turn pushed values straight into Arrow arrays, each with the
//! Parquet encoding its data wants (see [`ColumnPlan`]).
//!
//! Why not polars' builders and writer: polars gives every string and integer column
//! `RLE_DICTIONARY`, and for each it first hashes every value for a cardinality estimate,
//! then hashes every value again to build the dictionary; for high-variety columns the
//! estimate says "too many" and the work is thrown away. Here the table says what each
//! column is: low-variety columns build their dictionary while the values are pushed
//! (at most one hash per value, none for a repeat of a recent value), high-variety ones
//! are kept plain and skip both. The files are the same to a reader: the declared types
//! (the `ARROW:schema` a reader sees) are the ones every table of the lake declares
//! (`large_string` for text, see `parquet.rs`), and a dictionary is only an encoding (it
//! reads back as strings).
//!
//! Strings are built as offsets + bytes (Arrow `LargeBinary`, declared as strings): a
//! push is one copy, with no view to build.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use polars_arrow::array::{Array, BinaryArray, DictionaryArray, PrimitiveArray};
use polars_arrow::bitmap::{Bitmap, MutableBitmap};
use polars_arrow::datatypes::{ArrowDataType, IntegerType};
use polars_arrow::offset::OffsetsBuffer;
use polars_arrow::types::NativeType;

/// How many recent keys a dictionary column checks before hashing.
const RECENT: usize = 4;

/// Codes below this are looked up in a table by [`StringDictionary::push_coded`] (32 KB
/// at most per column; every documented province, country and ISP code but the service
/// areas' 2000000001… is below it); others are hashed like any value.
const MAX_CODE: usize = 1 << 13;

/// A dictionary is kept only while it has at most this share (per cent) of distinct
/// values; above it, the column is written plain (polars' rule, counted exactly).
const DICTIONARY_MAX_DISTINCT_PERCENT: usize = 75;

/// How a column of numbers is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberEncoding {
    Plain,
    /// `DELTA_BINARY_PACKED`: differences from the previous value, bit-packed. For
    /// numbers that grow (times, line numbers) or vary within a range (sizes, offsets):
    /// 2 % smaller than plain for the same time, line numbers almost free.
    Delta,
    /// The writer makes a dictionary when the values span a small range (one min/max
    /// pass, no hashing) and falls back to plain otherwise: codes, statuses, durations.
    SmallRangeDictionary,
}

/// How a column is written to Parquet. Text is written as its builder made it: a
/// dictionary array as a dictionary, other text plain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnPlan {
    pub numbers: NumberEncoding,
    /// Min/max statistics in the footer (every column has its null count). Off for
    /// high-variety text (query strings, IPs, ranges): its values are spread over every
    /// row group, so min/max would let no reader skip one, and cost a comparison per
    /// value. Such a column must then have no column index, which cannot say "no
    /// min/max" (see `parquet.rs`).
    pub min_max: bool,
}

impl ColumnPlan {
    pub const DEFAULT: ColumnPlan = ColumnPlan {
        numbers: NumberEncoding::Plain,
        min_max: true,
    };
}

/// The rows of one row group: one array per column, in the table's order.
pub struct RowGroup {
    pub height: usize,
    pub arrays: Vec<Box<dyn Array>>,
}

/// Which rows hold a value: nothing is stored until the first missing one.
#[derive(Default)]
struct Validity {
    bits: Option<MutableBitmap>,
}

impl Validity {
    /// A row with a value: nothing to do until a missing one was seen.
    #[inline]
    fn push_valid(&mut self) {
        if let Some(bits) = &mut self.bits {
            bits.push(true);
        }
    }

    /// A missing value after `len_before` rows.
    #[inline]
    fn push_missing(&mut self, len_before: usize) {
        match &mut self.bits {
            Some(bits) => bits.push(false),
            None => {
                let mut bits = MutableBitmap::with_capacity(len_before.max(1024));
                bits.extend_constant(len_before, true);
                bits.push(false);
                self.bits = Some(bits);
            }
        }
    }

    fn take(&mut self) -> Option<Bitmap> {
        self.bits.take().map(Bitmap::from)
    }
}

/// Byte strings as offsets + bytes.
pub struct Strings {
    offsets: Vec<i64>,
    bytes: Vec<u8>,
    validity: Validity,
}

impl Strings {
    pub fn new(capacity: usize) -> Self {
        let mut offsets = Vec::with_capacity(capacity + 1);
        offsets.push(0);
        Strings {
            offsets,
            bytes: Vec::with_capacity(capacity * 16),
            validity: Validity::default(),
        }
    }

    fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    #[inline]
    pub fn push_value(&mut self, value: &[u8]) {
        self.bytes.extend_from_slice(value);
        self.offsets.push(self.bytes.len() as i64);
        self.validity.push_valid();
    }

    #[inline]
    pub fn push_option(&mut self, value: Option<&[u8]>) {
        match value {
            Some(value) => self.push_value(value),
            None => {
                self.validity.push_missing(self.len());
                self.push_missing();
            }
        }
    }

    #[inline]
    fn get(&self, index: usize) -> &[u8] {
        &self.bytes[self.offsets[index] as usize..self.offsets[index + 1] as usize]
    }

    pub fn take(&mut self) -> Box<dyn Array> {
        let capacity = self.len();
        let full = std::mem::replace(self, Strings::new(capacity));
        full.into_array()
    }

    fn into_array(mut self) -> Box<dyn Array> {
        let validity = self.validity.take();
        self.into_array_with(validity)
    }

    fn into_array_with(self, validity: Option<Bitmap>) -> Box<dyn Array> {
        let offsets = OffsetsBuffer::try_from(self.offsets).expect("offsets only grow");
        Box::new(
            BinaryArray::<i64>::try_new(
                ArrowDataType::LargeBinary,
                offsets,
                self.bytes.into(),
                validity,
            )
            .expect("offsets and validity match the bytes"),
        )
    }

    /// A placeholder for a missing value (its validity bit says so).
    fn push_missing(&mut self) {
        self.offsets.push(self.bytes.len() as i64);
    }

    /// Each key's value, as a plain array.
    fn gather(&self, keys: &[u32], validity: Option<Bitmap>) -> Box<dyn Array> {
        let mut plain = Strings::new(keys.len());
        for &key in keys {
            plain.push_value(self.get(key as usize));
        }
        plain.into_array_with(validity)
    }
}

/// A column whose dictionary is built as values are pushed: a repeat of one of the last
/// few values costs a comparison, any other value one hash and a probe of a table of keys
/// (the values themselves are stored once, in key order). A column whose row group turned
/// out mostly distinct is not worth a dictionary: its next row groups are built plain.
pub struct StringDictionary {
    keys: Vec<u32>,
    validity: Validity,
    /// The distinct values in key order; one per row once the column is plain.
    values: Strings,
    index: HashTable<u32>,
    hasher: foldhash::fast::FixedState,
    /// The keys of the last distinct values pushed (`u32::MAX`: none yet), checked
    /// before hashing: most columns repeat one of a handful of values.
    recent: [u32; RECENT],
    /// Where the next key goes in `recent`.
    recent_next: usize,
    /// The key of each value code seen (plus one; 0: not seen), for columns whose values
    /// come from a code (provinces, ISPs): no hashing at all.
    by_code: Vec<u32>,
    /// Rows are kept as plain values (in `values`, one per row), not as keys.
    plain: bool,
}

impl StringDictionary {
    pub fn new(capacity: usize) -> Self {
        StringDictionary {
            keys: Vec::with_capacity(capacity),
            validity: Validity::default(),
            values: Strings::new(0),
            index: HashTable::new(),
            hasher: foldhash::fast::FixedState::default(),
            recent: [u32::MAX; RECENT],
            recent_next: 0,
            by_code: Vec::new(),
            plain: false,
        }
    }

    fn len(&self) -> usize {
        if self.plain {
            self.values.len()
        } else {
            self.keys.len()
        }
    }

    #[inline]
    pub fn push_value(&mut self, value: &[u8]) {
        self.validity.push_valid();
        if self.plain {
            self.values.push_value(value);
            return;
        }
        let key = self.key_of(value);
        self.keys.push(key);
    }

    /// [`Self::push_value`] for a value that `code` always stands for.
    #[inline]
    pub fn push_coded(&mut self, code: i32, value: &[u8]) {
        let slot = code as usize;
        if self.plain || code < 0 || slot >= MAX_CODE {
            return self.push_value(value);
        }
        self.validity.push_valid();
        if slot >= self.by_code.len() {
            self.by_code.resize(slot + 1, 0);
        }
        let key = match self.by_code[slot] {
            0 => {
                let key = self.key_of(value);
                self.by_code[slot] = key + 1;
                key
            }
            known => known - 1,
        };
        self.keys.push(key);
    }

    #[inline]
    pub fn push_option(&mut self, value: Option<&[u8]>) {
        match value {
            Some(value) => self.push_value(value),
            None => {
                self.validity.push_missing(self.len());
                if self.plain {
                    self.values.push_missing();
                } else {
                    self.keys.push(0);
                }
            }
        }
    }

    #[inline]
    fn key_of(&mut self, value: &[u8]) -> u32 {
        for &key in &self.recent {
            if key != u32::MAX && self.values.get(key as usize) == value {
                return key;
            }
        }
        let key = self.key_of_hashed(value);
        self.recent[self.recent_next] = key;
        self.recent_next = (self.recent_next + 1) % RECENT;
        key
    }

    fn key_of_hashed(&mut self, value: &[u8]) -> u32 {
        let StringDictionary {
            values,
            index,
            hasher,
            ..
        } = self;
        let hash = hasher.hash_one(value);
        if let Some(&key) = index.find(hash, |&key| values.get(key as usize) == value) {
            return key;
        }
        let key = values.len() as u32;
        values.push_value(value);
        index.insert_unique(hash, key, |&key| hasher.hash_one(values.get(key as usize)));
        key
    }

    /// A dictionary array, or a plain one when most values are distinct.
    pub fn take(&mut self) -> Box<dyn Array> {
        let capacity = self.len();
        let mut next = StringDictionary::new(capacity);
        next.plain = self.plain;
        let mut full = std::mem::replace(self, next);
        let validity = full.validity.take();
        if full.plain {
            return full.values.into_array_with(validity);
        }
        let height = full.keys.len();
        if full.values.len() * 100 > height * DICTIONARY_MAX_DISTINCT_PERCENT && height > 128 {
            self.plain = true;
            self.values = Strings::new(capacity);
            return full.values.gather(&full.keys, validity);
        }
        dictionary_array(full.keys, validity, full.values.into_array_with(None))
    }
}

/// The same value on every row (the source file's name), as a one-value dictionary.
pub fn constant_string(value: &str, height: usize) -> Box<dyn Array> {
    let mut values = Strings::new(1);
    values.push_value(value.as_bytes());
    dictionary_array(vec![0; height], None, values.into_array())
}

fn dictionary_array(
    keys: Vec<u32>,
    validity: Option<Bitmap>,
    values: Box<dyn Array>,
) -> Box<dyn Array> {
    let dtype =
        ArrowDataType::Dictionary(IntegerType::UInt32, Box::new(values.dtype().clone()), false);
    let keys = PrimitiveArray::new(ArrowDataType::UInt32, keys.into(), validity);
    Box::new(DictionaryArray::try_new(dtype, keys, values).expect("keys index the values"))
}

/// Fixed-width numbers.
pub struct Numbers<T: NativeType> {
    values: Vec<T>,
    validity: Validity,
}

impl<T: NativeType> Numbers<T> {
    pub fn new(capacity: usize) -> Self {
        Numbers {
            values: Vec::with_capacity(capacity),
            validity: Validity::default(),
        }
    }

    #[inline]
    pub fn push_value(&mut self, value: T) {
        self.values.push(value);
        self.validity.push_valid();
    }

    #[inline]
    pub fn push_option(&mut self, value: Option<T>) {
        match value {
            Some(value) => self.push_value(value),
            None => {
                self.validity.push_missing(self.values.len());
                self.values.push(T::default());
            }
        }
    }

    pub fn take(&mut self) -> Box<dyn Array> {
        let full = std::mem::replace(self, Numbers::new(self.values.len()));
        let mut validity = full.validity;
        Box::new(PrimitiveArray::new(
            T::PRIMITIVE.into(),
            full.values.into(),
            validity.take(),
        ))
    }
}

/// What a builder takes: `Push::push(&mut builder, value)` for each kind of value a
/// column of it holds (a value, or maybe one).
pub trait Push<T> {
    fn push(&mut self, value: T);
}

impl Push<&str> for Strings {
    #[inline]
    fn push(&mut self, value: &str) {
        self.push_value(value.as_bytes());
    }
}

impl Push<Option<&str>> for Strings {
    #[inline]
    fn push(&mut self, value: Option<&str>) {
        self.push_option(value.map(str::as_bytes));
    }
}

impl Push<&[u8]> for Strings {
    #[inline]
    fn push(&mut self, value: &[u8]) {
        self.push_value(value);
    }
}

impl Push<&str> for StringDictionary {
    #[inline]
    fn push(&mut self, value: &str) {
        self.push_value(value.as_bytes());
    }
}

/// A text value and the code it always stands for (a province's name and its code).
pub struct Coded<'a>(pub i32, pub &'a str);

impl Push<Coded<'_>> for StringDictionary {
    #[inline]
    fn push(&mut self, Coded(code, value): Coded<'_>) {
        self.push_coded(code, value.as_bytes());
    }
}

impl Push<Option<&str>> for StringDictionary {
    #[inline]
    fn push(&mut self, value: Option<&str>) {
        self.push_option(value.map(str::as_bytes));
    }
}

impl<T: NativeType> Push<T> for Numbers<T> {
    #[inline]
    fn push(&mut self, value: T) {
        self.push_value(value);
    }
}

impl<T: NativeType> Push<Option<T>> for Numbers<T> {
    #[inline]
    fn push(&mut self, value: Option<T>) {
        self.push_option(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars_arrow::array::{BinaryArray, DictionaryArray};

    /// A text column's values as written, whatever array it came out as.
    fn texts(array: &dyn Array) -> Vec<Option<String>> {
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
        if let Some(plain) = array.as_any().downcast_ref::<BinaryArray<i64>>() {
            return plain.iter().map(|v| v.map(text)).collect();
        }
        let dict = array
            .as_any()
            .downcast_ref::<DictionaryArray<u32>>()
            .expect("a text column is plain or a dictionary");
        let values = dict
            .values()
            .as_any()
            .downcast_ref::<BinaryArray<i64>>()
            .unwrap();
        dict.keys()
            .iter()
            .map(|k| k.map(|k| text(values.value(*k as usize))))
            .collect()
    }

    fn is_dictionary(array: &dyn Array) -> bool {
        matches!(array.dtype(), ArrowDataType::Dictionary(..))
    }

    #[test]
    fn missing_values_anywhere_keep_their_place() {
        let rows = [None, Some("a"), Some(""), None, Some("bc"), None];
        let mut plain = Strings::new(2);
        let mut dict = StringDictionary::new(2);
        for row in rows {
            Push::push(&mut plain, row);
            Push::push(&mut dict, row);
        }
        let want: Vec<Option<String>> = rows.iter().map(|r| r.map(String::from)).collect();
        assert_eq!(texts(plain.take().as_ref()), want);
        assert_eq!(texts(dict.take().as_ref()), want);
        // Taken builders start empty, with no missing values left over.
        Push::push(&mut plain, "x");
        assert_eq!(texts(plain.take().as_ref()), [Some("x".to_string())]);
    }

    #[test]
    fn a_dictionary_holds_each_value_once() {
        let mut dict = StringDictionary::new(8);
        let rows: Vec<&str> = (0..1000).map(|i| ["GET", "HEAD", "POST"][i % 3]).collect();
        for row in &rows {
            Push::push(&mut dict, *row);
        }
        let array = dict.take();
        assert!(is_dictionary(array.as_ref()));
        let values = array
            .as_any()
            .downcast_ref::<DictionaryArray<u32>>()
            .unwrap()
            .values()
            .len();
        assert_eq!(values, 3);
        assert_eq!(
            texts(array.as_ref()),
            rows.iter().map(|r| Some(r.to_string())).collect::<Vec<_>>()
        );
    }

    #[test]
    fn mostly_distinct_text_goes_plain_and_stays_plain() {
        let mut dict = StringDictionary::new(8);
        let first: Vec<String> = (0..200).map(|i| format!("/v/{i}.ts")).collect();
        for row in &first {
            Push::push(&mut dict, row.as_str());
        }
        let array = dict.take();
        assert!(!is_dictionary(array.as_ref()));
        assert_eq!(
            texts(array.as_ref()),
            first.iter().map(|r| Some(r.clone())).collect::<Vec<_>>()
        );
        // The next row group is built plain from the start, missing values included.
        let second = [Some("/a.ts"), None, Some("/a.ts")];
        for row in second {
            Push::push(&mut dict, row);
        }
        let array = dict.take();
        assert!(!is_dictionary(array.as_ref()));
        assert_eq!(
            texts(array.as_ref()),
            second.map(|r| r.map(String::from)).to_vec()
        );
    }

    #[test]
    fn coded_values_share_keys_with_plain_pushes() {
        let mut dict = StringDictionary::new(8);
        Push::push(&mut dict, Coded(22, "北京"));
        Push::push(&mut dict, "北京");
        Push::push(&mut dict, Coded(4, "广东"));
        Push::push(&mut dict, Coded(22, "北京"));
        // A code out of the table's range is hashed like any value.
        Push::push(&mut dict, Coded(2_000_000_001, "亚太一区"));
        Push::push(&mut dict, Coded(-1, "海外"));
        let array = dict.take();
        let dict_array = array
            .as_any()
            .downcast_ref::<DictionaryArray<u32>>()
            .unwrap();
        assert_eq!(dict_array.values().len(), 4);
        assert_eq!(
            texts(array.as_ref()),
            ["北京", "北京", "广东", "北京", "亚太一区", "海外"]
                .map(|s| Some(s.to_string()))
                .to_vec()
        );
    }

    #[test]
    fn numbers_keep_missing_values() {
        let mut numbers = Numbers::<i64>::new(4);
        for v in [Some(5), None, Some(-7)] {
            Push::push(&mut numbers, v);
        }
        let array = numbers.take();
        let array = array
            .as_any()
            .downcast_ref::<PrimitiveArray<i64>>()
            .unwrap();
        assert_eq!(
            array.iter().map(|v| v.copied()).collect::<Vec<_>>(),
            [Some(5), None, Some(-7)]
        );
    }

    #[test]
    fn a_constant_column_is_one_value() {
        let array = constant_string("2026111820-x.gz", 3);
        assert_eq!(
            texts(array.as_ref()),
            vec![Some("2026111820-x.gz".to_string()); 3]
        );
    }
}
