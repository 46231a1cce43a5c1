//! The `cdn_requests` and `rejects` tables: column builders that parsed lines are pushed
//! into, turned into one Parquet row group at a time.
//!
//! Each table is declared once, as a list of columns (name, kind, and what a pushed line
//! puts in it); [`table_columns!`] writes the struct, `new`, `push` and `take` from that
//! list, so adding a column is one line here (and one in the README's schema table).
//! Column names here are the lake's public schema (README, "Output columns"); queries and
//! reports depend on them, so they change only with a note in the README.

use std::sync::OnceLock;

use polars::prelude::{DataType, TimeUnit};

use super::line::LogLine;
use crate::china_time::china_tz;
use crate::lake::columns::{
    constant_string, Coded, ColumnPlan, NumberEncoding, Numbers, Push, RowGroup, StringDictionary,
    Strings,
};
use crate::lake::{Scope, TableSchema};

/// What every row of one file says alike: whose logs they are, and the file.
pub struct FileLabels<'a> {
    pub scope: &'a Scope,
    pub source_file: &'a str,
}

/// The decoded channel fields that come with a line.
pub struct Tag<'a> {
    /// Decoded `us` value, `None` when the URL has none.
    pub us: Option<&'a str>,
    /// Channel (text before the last `-` of `us`), `None` when untagged.
    pub channel: Option<&'a str>,
}

/// Column kinds: what a column holds, how it is built and how it is written (each
/// choice measured, see BENCHMARKS.md).
/// - `Ts`: request time (China time zone), delta-encoded;
/// - `I64`: numbers that grow or vary widely (sizes, offsets, line numbers), delta-encoded;
/// - `Small`: numbers with few distinct values (codes, statuses, durations, ports): the
///   writer makes a dictionary when they span a small range;
/// - `Dict`: text with few distinct values (domains, provinces, agents, channels):
///   dictionary built as lines come, plain when most values turn out distinct;
/// - `Plain`: high-variety text readers filter on (paths), plain;
/// - `Text`: high-variety text (query strings, IPs, ranges), plain, no min/max;
/// - `Bytes`: raw bytes, plain, no min/max;
/// - `Platform`, `Account`, `Source`: the file's platform, account and name, the same on
///   every row: no builder, filled in by `take` from the file's [`FileLabels`].
macro_rules! builder {
    (Ts) => { Numbers<i64> };
    (I64) => { Numbers<i64> };
    (Small64) => { Numbers<i64> };
    (Small32) => { Numbers<i32> };
    (I32) => { Numbers<i32> };
    (Dict) => { StringDictionary };
    (Text) => { Strings };
    (Plain) => { Strings };
    (Bytes) => { Strings };
    (Source) => { () };
    (Platform) => { () };
    (Account) => { () };
}

macro_rules! new_builder {
    (Source, $capacity:expr) => {
        ()
    };
    (Platform, $capacity:expr) => {
        ()
    };
    (Account, $capacity:expr) => {
        ()
    };
    ($kind:ident, $capacity:expr) => {
        <builder!($kind)>::new($capacity)
    };
}

/// The type readers see.
macro_rules! declared {
    (Ts) => {
        DataType::Datetime(TimeUnit::Milliseconds, Some(china_tz()))
    };
    (I64) => {
        DataType::Int64
    };
    (Small64) => {
        DataType::Int64
    };
    (Small32) => {
        DataType::Int32
    };
    (I32) => {
        DataType::Int32
    };
    (Bytes) => {
        DataType::Binary
    };
    ($text:ident) => {
        DataType::String
    };
}

macro_rules! plan {
    (Ts) => {
        plan!(I64)
    };
    (I32) => {
        plan!(I64)
    };
    (I64) => {
        ColumnPlan {
            numbers: NumberEncoding::Delta,
            ..ColumnPlan::DEFAULT
        }
    };
    (Small64) => {
        plan!(Small32)
    };
    (Small32) => {
        ColumnPlan {
            numbers: NumberEncoding::SmallRangeDictionary,
            ..ColumnPlan::DEFAULT
        }
    };
    (Text) => {
        ColumnPlan {
            min_max: false,
            ..ColumnPlan::DEFAULT
        }
    };
    (Bytes) => {
        plan!(Text)
    };
    ($kind:ident) => {
        ColumnPlan::DEFAULT
    };
}

macro_rules! finish {
    (Source, $builder:expr, $labels:expr, $height:expr) => {{
        let () = $builder;
        constant_string($labels.source_file, $height)
    }};
    (Platform, $builder:expr, $labels:expr, $height:expr) => {{
        let () = $builder;
        constant_string($labels.scope.platform(), $height)
    }};
    (Account, $builder:expr, $labels:expr, $height:expr) => {{
        let () = $builder;
        constant_string($labels.scope.account(), $height)
    }};
    ($kind:ident, $builder:expr, $source:expr, $height:expr) => {
        $builder.take()
    };
}

/// A table's column builders from its column list: `name: Kind = value` (an expression
/// over the arguments of `push`, a value or an `Option` of one); `Platform`, `Account` and
/// `Source` columns take no value. Columns come out of `take` in the order listed.
macro_rules! table_columns {
    (
        $(#[$meta:meta])*
        pub struct $table:ident;
        push($($arg:ident: $argty:ty),*);
        $( $(#[$colmeta:meta])* $col:ident: $kind:ident $(= $value:expr)? ),+ $(,)?
    ) => {
        $(#[$meta])*
        pub struct $table {
            len: usize,
            $( $(#[$colmeta])* $col: builder!($kind), )+
        }

        impl $table {
            pub fn new(capacity: usize) -> Self {
                $table {
                    len: 0,
                    $( $col: new_builder!($kind, capacity), )+
                }
            }

            /// The table's columns as readers see them, and how each is written.
            pub fn schema() -> &'static TableSchema {
                static SCHEMA: OnceLock<TableSchema> = OnceLock::new();
                SCHEMA.get_or_init(|| {
                    TableSchema::new(vec![
                        $( (stringify!($col), declared!($kind), plan!($kind)), )+
                    ])
                })
            }

            pub fn len(&self) -> usize {
                self.len
            }

            pub fn is_empty(&self) -> bool {
                self.len == 0
            }

            #[inline]
            pub fn push(&mut self, $($arg: $argty),*) {
                self.len += 1;
                $( $( Push::push(&mut self.$col, $value); )? )+
            }

            /// The rows pushed so far as one row group; the builders start empty again,
            /// each keeping what it learnt (a column found not worth a dictionary stays
            /// plain for the rest of the file).
            pub fn take(&mut self, labels: &FileLabels<'_>) -> RowGroup {
                let height = std::mem::take(&mut self.len);
                let arrays = vec![
                    $( finish!($kind, self.$col, labels, height), )+
                ];
                RowGroup { height, arrays }
            }
        }
    };
}

table_columns! {
    /// Column builders for one row group of `cdn_requests`.
    pub struct RequestColumns;
    push(l: &LogLine<'_>, tag: &Tag<'_>, province: &str, isp: &str, line_no: u64);
    platform: Platform,
    account: Account,
    ts: Ts = l.ts_ms,
    client_ip: Text = l.client_ip,
    domain: Dict = l.domain,
    path: Plain = l.path,
    query: Text = l.query,
    us: Text = tag.us,
    channel: Dict = tag.channel,
    bytes: I64 = l.bytes,
    province_code: Small32 = l.province_code,
    province: Dict = Coded(l.province_code, province),
    isp_code: Small32 = l.isp_code,
    isp: Dict = Coded(l.isp_code, isp),
    status: Small32 = l.status,
    referer: Dict = l.referer,
    request_ms: Small64 = l.request_ms,
    user_agent: Dict = l.user_agent,
    range: Text = l.range,
    range_start: I64 = l.range_start,
    range_end: I64 = l.range_end,
    method: Dict = l.method,
    protocol: Dict = l.protocol,
    cache: Dict = l.cache.as_str(),
    port: I32 = l.port,
    source_file: Source,
    line_no: I64 = line_no as i64,
}

table_columns! {
    /// Column builders for lines that did not parse: enough to find, explain and replay
    /// them. `raw` is the line as kept (its first bytes when it was cut at the cap);
    /// `line_length` is the full length read.
    pub struct RejectColumns;
    push(line_no: u64, reason: &str, raw: &[u8], line_length: u64);
    platform: Platform,
    account: Account,
    source_file: Source,
    line_no: I64 = line_no as i64,
    reason: Dict = reason,
    line_length: I64 = line_length as i64,
    /// The line decoded as UTF-8 with invalid bytes replaced, for eyes and SQL.
    raw_text: Text = &*String::from_utf8_lossy(raw),
    /// The line exactly as read (bytes, so nothing is lost when it is not UTF-8).
    raw: Bytes = raw,
}

// A source's part of each rollup table (`crate::lake::rollup`), one China day of it:
// written through the same builders and writer as the requests (polars' writer hashed
// every text value of every column for a dictionary trial, a fixed cost of several
// milliseconds for each of the three parts of every file). The columns and their types
// are the ones the day build and the readers know.

table_columns! {
    /// Builders of a source's part of `requests_5min`.
    pub struct FiveMinutePart;
    push(bucket_ms: i64, channel: Option<&str>, requests: i64, bytes: i64);
    platform: Platform,
    account: Account,
    bucket_start: Ts = bucket_ms,
    channel: Dict = channel,
    requests: I64 = requests,
    bytes: I64 = bytes,
}

table_columns! {
    /// Builders of a source's part of `requests_by_dir`.
    pub struct DirPart;
    push(hour: i64, channel: Option<&str>, dir: Option<&str>, requests: i64, bytes: i64);
    platform: Platform,
    account: Account,
    hour: I64 = hour,
    channel: Dict = channel,
    dir: Dict = dir,
    requests: I64 = requests,
    bytes: I64 = bytes,
}

/// One row of a `requests_by_place` part.
pub struct PlaceRow<'a> {
    pub hour: i64,
    pub channel: Option<&'a str>,
    pub domain: Option<&'a str>,
    pub province: &'a str,
    pub isp: &'a str,
    pub status: i32,
    pub cache: &'a str,
    pub requests: i64,
    pub bytes: i64,
}

table_columns! {
    /// Builders of a source's part of `requests_by_place`.
    pub struct PlacePart;
    push(r: &PlaceRow<'_>);
    platform: Platform,
    account: Account,
    hour: I64 = r.hour,
    channel: Dict = r.channel,
    domain: Dict = r.domain,
    province: Dict = r.province,
    isp: Dict = r.isp,
    status: Small32 = r.status,
    cache: Dict = r.cache,
    requests: I64 = r.requests,
    bytes: I64 = r.bytes,
}
