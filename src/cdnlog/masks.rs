//! Structural scanning: one SIMD pass over each inflated block finds every blank, quote,
//! tab, CR and non-ASCII byte at once, as bit masks (bit `i` of word `w` is byte
//! `64 w + i` of the block), the way simdjson's and simdcsv's first stage do. The
//! tokenizer then walks set bits (`trailing_zeros`, `leading_zeros`) instead of scanning
//! bytes per field: a line's ~16 field boundaries cost a few instructions each, the user
//! agent's thirty inner spaces a bit each, and no byte is classified twice.
//!
//! x86-64 uses AVX2 when the CPU has it (detected once) and SSE2 otherwise (part of the
//! x86-64 baseline); other targets classify a byte at a time, the same way.

/// The classes of a block's bytes. The reader ([`super::reader::LineReader`]) keeps one
/// beside its buffer and brings it up to date as bytes arrive.
pub struct BlockMasks {
    blank: Vec<u64>,
    quote: Vec<u64>,
    /// Tabs, CRs and the controls between them (9..=13): the lines the fast tokenizer
    /// leaves to the scanner (irregular separators, stray line ends).
    tab_cr: Vec<u64>,
    /// Bytes above ASCII: lines that must be checked as UTF-8.
    high: Vec<u64>,
    /// ASCII digits: with `blank`, where a record could start inside a field.
    digit: Vec<u64>,
    /// Bytes before this offset are classified.
    scanned_to: usize,
    classify: Classifier,
}

/// Classifies whole 64-byte chunks into the masks' words (`first` is the first chunk's
/// word): one call per block, so the SIMD loop runs without a call per chunk.
type Classifier = fn(&[u8], &mut Words<'_>);

/// The words a classifier writes, one slice per class, from the first chunk's word on.
pub struct Words<'a> {
    blank: &'a mut [u64],
    quote: &'a mut [u64],
    tab_cr: &'a mut [u64],
    high: &'a mut [u64],
    digit: &'a mut [u64],
}

impl Words<'_> {
    #[inline(always)]
    fn set(&mut self, word: usize, c: Chunk) {
        self.blank[word] = c.blank;
        self.quote[word] = c.quote;
        self.tab_cr[word] = c.tab_cr;
        self.high[word] = c.high;
        self.digit[word] = c.digit;
    }
}

impl Default for BlockMasks {
    fn default() -> Self {
        BlockMasks {
            blank: Vec::new(),
            quote: Vec::new(),
            tab_cr: Vec::new(),
            high: Vec::new(),
            digit: Vec::new(),
            scanned_to: 0,
            classify: pick_classifier(),
        }
    }
}

/// One 64-byte chunk's classes.
#[derive(Default)]
pub struct Chunk {
    blank: u64,
    quote: u64,
    tab_cr: u64,
    high: u64,
    digit: u64,
}

impl BlockMasks {
    /// Classifies `block[..end]` where it is not yet (bytes appended since the last call;
    /// the chunk that was partial then is classified again).
    #[inline]
    pub fn update(&mut self, block: &[u8]) {
        let end = block.len();
        if end <= self.scanned_to {
            return;
        }
        // One word more than the bytes need, zero: a window may read one word ahead.
        let words = end.div_ceil(64) + 1;
        if self.blank.len() < words {
            self.blank.resize(words, 0);
            self.quote.resize(words, 0);
            self.tab_cr.resize(words, 0);
            self.high.resize(words, 0);
            self.digit.resize(words, 0);
        }
        let first = self.scanned_to / 64;
        let bytes = &block[first * 64..];
        let whole = bytes.len() / 64 * 64;
        (self.classify)(&bytes[..whole], &mut self.words_from(first));
        let mut word = first + whole / 64;
        let rest = &bytes[whole..];
        if !rest.is_empty() {
            // Zero padding is none of the classes.
            let mut tail = [0u8; 64];
            tail[..rest.len()].copy_from_slice(rest);
            (self.classify)(&tail, &mut self.words_from(word));
            word += 1;
        }
        self.words_from(word).set(0, Chunk::default());
        self.scanned_to = end;
    }

    fn words_from(&mut self, word: usize) -> Words<'_> {
        Words {
            blank: &mut self.blank[word..],
            quote: &mut self.quote[word..],
            tab_cr: &mut self.tab_cr[word..],
            high: &mut self.high[word..],
            digit: &mut self.digit[word..],
        }
    }

    /// The block's bytes moved: nothing is classified any more.
    pub fn invalidate(&mut self) {
        self.scanned_to = 0;
    }

    /// The block's bytes from `pos` on are replaced.
    pub fn forget_from(&mut self, pos: usize) {
        self.scanned_to = self.scanned_to.min(pos);
    }

    /// The masks of the line at `offset..offset + len` of the block, which must be
    /// classified.
    #[inline]
    pub fn line(&self, offset: usize, len: usize) -> LineMasks<'_> {
        debug_assert!(offset + len <= self.scanned_to);
        LineMasks {
            masks: self,
            offset,
            len,
        }
    }
}

/// The bits of positions `pos..pos + 64` of `mask` (bit 0 is `pos`).
#[inline(always)]
fn window(mask: &[u64], pos: usize) -> u64 {
    let (w, s) = (pos / 64, pos % 64);
    // Two shifts for the high word: a shift by 64 (when `s` is 0) is not defined.
    (mask[w] >> s) | ((mask[w + 1] << 1) << (63 - s))
}

/// The lowest `n` bits (all of them when `n` ≥ 64).
#[inline(always)]
fn low_bits(n: usize) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

/// What a line holds besides printable ASCII.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Oddities {
    /// A tab, a CR, or a control between them (LF, VT, FF).
    pub tab_or_cr: bool,
    /// A byte above ASCII.
    pub high: bool,
}

/// One line's view of the block's masks; positions are the line's own (0 is its first
/// byte) and nothing at or past its end is seen.
#[derive(Clone, Copy)]
pub struct LineMasks<'a> {
    masks: &'a BlockMasks,
    offset: usize,
    len: usize,
}

impl LineMasks<'_> {
    /// The line's length.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// What the line holds besides printable ASCII, in one pass over its words.
    #[inline(always)]
    pub fn oddities(&self) -> Oddities {
        let (mut tab_cr, mut high) = (0, 0);
        let mut at = 0;
        while at < self.len {
            let keep = low_bits(self.len - at);
            tab_cr |= self.bits(&self.masks.tab_cr, at) & keep;
            high |= self.bits(&self.masks.high, at) & keep;
            at += 64;
        }
        Oddities {
            tab_or_cr: tab_cr != 0,
            high: high != 0,
        }
    }

    /// Whether `from..to` holds a quote.
    #[inline]
    pub fn has_quote(&self, from: usize, to: usize) -> bool {
        self.any(&self.masks.quote, from, to)
    }

    /// How many quotes `from..to` holds, counted up to 3 (without `popcnt`, which the
    /// x86-64 baseline lacks).
    #[inline(always)]
    pub fn quotes(&self, from: usize, to: usize) -> u32 {
        let mut count = 0;
        let mut at = from;
        while at < to && count < 3 {
            let bits = self.bits(&self.masks.quote, at) & low_bits(to - at);
            let rest = bits & bits.wrapping_sub(1);
            count +=
                (bits != 0) as u32 + (rest != 0) as u32 + (rest & rest.wrapping_sub(1) != 0) as u32;
            at += 64;
        }
        count.min(3)
    }

    /// Whether byte `pos` is a blank (space or tab); `false` past the end.
    #[inline(always)]
    pub fn is_blank(&self, pos: usize) -> bool {
        pos < self.len && self.bits(&self.masks.blank, pos) & 1 == 1
    }

    /// The last blank before `before`.
    #[inline(always)]
    pub fn prev_blank(&self, before: usize) -> Option<usize> {
        let mut to = before.min(self.len);
        while to > 0 {
            let from = to.saturating_sub(64);
            let bits = self.bits(&self.masks.blank, from) & low_bits(to - from);
            if bits != 0 {
                return Some(from + 63 - bits.leading_zeros() as usize);
            }
            to = from;
        }
        None
    }

    /// The blanks of `from..to`, in order.
    #[inline(always)]
    pub fn blanks(&self, from: usize, to: usize) -> Blanks<'_> {
        self.blanks_where(from, to, false)
    }

    /// The blanks of `from..to` that a digit follows (inside the line), in order.
    #[inline(always)]
    pub fn blanks_before_digits(&self, from: usize, to: usize) -> Blanks<'_> {
        self.blanks_where(from, to, true)
    }

    #[inline(always)]
    fn blanks_where(&self, from: usize, to: usize, before_digit: bool) -> Blanks<'_> {
        let to = to.min(self.len);
        let mut blanks = Blanks {
            line: *self,
            base: from,
            bits: 0,
            to,
            before_digit,
        };
        if from < to {
            blanks.bits = blanks.word(from);
        }
        blanks
    }

    #[inline(always)]
    fn bits(&self, mask: &[u64], pos: usize) -> u64 {
        window(mask, self.offset + pos)
    }

    #[inline(always)]
    fn any(&self, mask: &[u64], from: usize, to: usize) -> bool {
        let mut at = from;
        while at < to {
            if self.bits(mask, at) & low_bits(to - at) != 0 {
                return true;
            }
            at += 64;
        }
        false
    }
}

/// The blanks of a line's span, found a word at a time.
pub struct Blanks<'a> {
    line: LineMasks<'a>,
    /// The position of bit 0 of `bits`.
    base: usize,
    bits: u64,
    to: usize,
    before_digit: bool,
}

impl Blanks<'_> {
    /// The wanted blanks of `at..at + 64`, none at or past `to`.
    #[inline(always)]
    fn word(&self, at: usize) -> u64 {
        let mut bits = self.line.bits(&self.line.masks.blank, at);
        if self.before_digit {
            // A digit at `to` (the line's end or not) does not count.
            let digits = self.line.bits(&self.line.masks.digit, at + 1);
            bits &= digits & low_bits((self.line.len - at).saturating_sub(1));
        }
        bits & low_bits(self.to - at)
    }
}

impl Iterator for Blanks<'_> {
    type Item = usize;

    #[inline(always)]
    fn next(&mut self) -> Option<usize> {
        while self.bits == 0 {
            self.base += 64;
            if self.base >= self.to {
                return None;
            }
            self.bits = self.word(self.base);
        }
        let found = self.base + self.bits.trailing_zeros() as usize;
        self.bits &= self.bits - 1;
        Some(found)
    }
}

fn pick_classifier() -> Classifier {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            return classify_avx2;
        }
        classify_sse2
    }
    #[cfg(not(target_arch = "x86_64"))]
    classify_bytes
}

#[cfg(target_arch = "x86_64")]
fn classify_sse2(bytes: &[u8], words: &mut Words<'_>) {
    for (word, chunk) in bytes.chunks_exact(64).enumerate() {
        words.set(word, chunk_sse2(chunk.try_into().expect("64 bytes")));
    }
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn chunk_sse2(chunk: &[u8; 64]) -> Chunk {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of the x86-64 baseline; the four 16-byte loads read inside
    // the 64-byte array (unaligned loads).
    unsafe {
        let (space, tab, quote, cr) = (
            _mm_set1_epi8(b' ' as i8),
            _mm_set1_epi8(b'\t' as i8),
            _mm_set1_epi8(b'"' as i8),
            _mm_set1_epi8(b'\r' as i8),
        );
        let (zero, nine) = (_mm_set1_epi8(b'0' as i8), _mm_set1_epi8(b'9' as i8));
        let mut out = Chunk::default();
        for i in 0..4 {
            let v = _mm_loadu_si128(chunk.as_ptr().add(16 * i) as *const __m128i);
            let is_tab = _mm_cmpeq_epi8(v, tab);
            let blank = _mm_or_si128(_mm_cmpeq_epi8(v, space), is_tab);
            let controls = _mm_min_epu8(_mm_max_epu8(v, tab), cr);
            let tab_cr = _mm_cmpeq_epi8(controls, v);
            let bits = |m: __m128i| (_mm_movemask_epi8(m) as u16 as u64) << (16 * i);
            out.blank |= bits(blank);
            out.quote |= bits(_mm_cmpeq_epi8(v, quote));
            out.tab_cr |= bits(tab_cr);
            // Bytes above ASCII have their top bit set: the movemask of `v` itself.
            out.high |= bits(v);
            // '0'..='9': equal to itself clamped into the range (unsigned).
            let clamped = _mm_min_epu8(_mm_max_epu8(v, zero), nine);
            out.digit |= bits(_mm_cmpeq_epi8(clamped, v));
        }
        out
    }
}

#[cfg(target_arch = "x86_64")]
fn classify_avx2(bytes: &[u8], words: &mut Words<'_>) {
    // SAFETY: chosen only when the CPU has AVX2 (`pick_classifier`).
    unsafe { classify_avx2_block(bytes, words) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn classify_avx2_block(bytes: &[u8], words: &mut Words<'_>) {
    for (word, chunk) in bytes.chunks_exact(64).enumerate() {
        let (low, high) = chunk.split_at(32);
        let low = half_avx2(low.try_into().expect("32 bytes"));
        let high = half_avx2(high.try_into().expect("32 bytes"));
        let join = |i: usize| low[i] as u64 | (high[i] as u64) << 32;
        words.set(
            word,
            Chunk {
                blank: join(0),
                quote: join(1),
                tab_cr: join(2),
                high: join(3),
                digit: join(4),
            },
        );
    }
}

/// The five classes of 32 bytes. No closures in here: a closure does not inherit its
/// function's target features, and LLVM then emulates the 256-bit operations.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn half_avx2(bytes: &[u8; 32]) -> [u32; 5] {
    use std::arch::x86_64::*;
    // SAFETY: a 32-byte unaligned load of a 32-byte array.
    let v = unsafe { _mm256_loadu_si256(bytes.as_ptr() as *const __m256i) };
    let blank = _mm256_or_si256(
        _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b' ' as i8)),
        _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'\t' as i8)),
    );
    let quote = _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'"' as i8));
    // Tab to CR (9..=13) as one range, as the digits below: an OR of two comparisons
    // sharing the tab's with `blank` makes LLVM scalarise the lot.
    let controls = _mm256_min_epu8(
        _mm256_max_epu8(v, _mm256_set1_epi8(b'\t' as i8)),
        _mm256_set1_epi8(b'\r' as i8),
    );
    let tab_cr = _mm256_cmpeq_epi8(controls, v);
    // Bytes above ASCII have their top bit set: the movemask of `v` itself.
    let high = _mm256_movemask_epi8(v) as u32;
    // '0'..='9': equal to itself clamped into the range (unsigned).
    let clamped = _mm256_min_epu8(
        _mm256_max_epu8(v, _mm256_set1_epi8(b'0' as i8)),
        _mm256_set1_epi8(b'9' as i8),
    );
    let digit = _mm256_cmpeq_epi8(clamped, v);
    [
        _mm256_movemask_epi8(blank) as u32,
        _mm256_movemask_epi8(quote) as u32,
        _mm256_movemask_epi8(tab_cr) as u32,
        high,
        _mm256_movemask_epi8(digit) as u32,
    ]
}

/// The classification a byte at a time: other targets' path, and the tests' reference.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn classify_bytes(bytes: &[u8], words: &mut Words<'_>) {
    for (word, chunk) in bytes.chunks_exact(64).enumerate() {
        let mut out = Chunk::default();
        for (i, &b) in chunk.iter().enumerate() {
            let bit = 1u64 << i;
            if b == b' ' || b == b'\t' {
                out.blank |= bit;
            }
            if b == b'"' {
                out.quote |= bit;
            }
            if (b'\t'..=b'\r').contains(&b) {
                out.tab_cr |= bit;
            }
            if b >= 0x80 {
                out.high |= bit;
            }
            if b.is_ascii_digit() {
                out.digit |= bit;
            }
        }
        words.set(word, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_blank(b: u8) -> bool {
        b == b' ' || b == b'\t'
    }

    /// Every classifier this machine has gives the byte-at-a-time answer.
    #[test]
    fn classifiers_agree_with_the_bytes() {
        let mut classifiers: Vec<Classifier> = vec![classify_bytes];
        #[cfg(target_arch = "x86_64")]
        {
            classifiers.push(classify_sse2);
            if std::is_x86_feature_detected!("avx2") {
                classifiers.push(classify_avx2);
            }
        }
        let classes = |classify: Classifier, bytes: &[u8]| {
            let mut m = [[0u64; 8]; 5];
            let [blank, quote, tab_cr, high, digit] = &mut m;
            classify(
                bytes,
                &mut Words {
                    blank,
                    quote,
                    tab_cr,
                    high,
                    digit,
                },
            );
            m
        };
        let mut block = [0u8; 512];
        for round in 0..500u64 {
            for (i, b) in block.iter_mut().enumerate() {
                let x = (round * 131 + i as u64 * 7919).wrapping_mul(0x9E37_79B9) >> 11;
                *b = b" \t\"\rx\xc3\xa9-A09/:\x0b\x08\x0e"[(x % 16) as usize];
            }
            let expected = classes(classify_bytes, &block);
            for classify in &classifiers {
                assert_eq!(classes(*classify, &block), expected);
            }
        }
    }

    /// The line queries against a byte-by-byte reading, for lines at every offset and
    /// length around the word edges, in a block classified in uneven pieces.
    #[test]
    fn line_queries_match_the_bytes() {
        let pattern = b"ab \"c\td e\r\"  f\xc3\xa9 9 1";
        let block: Vec<u8> = pattern.iter().cycle().take(700).copied().collect();
        let mut masks = BlockMasks::default();
        let mut end = 0;
        for step in [1, 63, 64, 65, 200, 307] {
            end += step;
            masks.update(&block[..end]);
        }
        assert_eq!(end, 700);
        for offset in [0, 1, 63, 64, 65, 130] {
            for len in [0, 1, 2, 63, 64, 65, 127, 128, 129, 300, 700 - 130] {
                let line = &block[offset..offset + len];
                let m = masks.line(offset, len);
                assert_eq!(m.len(), len);
                let tab_cr = line.iter().any(|b| (b'\t'..=b'\r').contains(b));
                let high = line.iter().any(|b| *b >= 0x80);
                assert_eq!(
                    m.oddities(),
                    Oddities {
                        tab_or_cr: tab_cr,
                        high
                    }
                );
                for pos in 0..len + 2 {
                    let p = pos.min(len);
                    assert_eq!(m.is_blank(pos), line.get(pos).is_some_and(|b| is_blank(*b)));
                    let prev = (0..p).rev().find(|&i| is_blank(line[i]));
                    assert_eq!(
                        m.prev_blank(pos),
                        prev,
                        "offset {offset} len {len} pos {pos}"
                    );
                    for to in [p, (p + 5).min(len), (p + 70).min(len), len] {
                        let span = &line[p..to];
                        let quotes = span.iter().filter(|b| **b == b'"').count().min(3);
                        assert_eq!(m.quotes(p, to), quotes as u32);
                        assert_eq!(m.has_quote(p, to), quotes > 0);
                        let blanks: Vec<usize> = m.blanks(p, to).collect();
                        let expected: Vec<usize> = (p..to).filter(|&i| is_blank(line[i])).collect();
                        assert_eq!(blanks, expected, "offset {offset} len {len} {p}..{to}");
                        let blanks: Vec<usize> = m.blanks_before_digits(p, to).collect();
                        let expected: Vec<usize> = (p..to)
                            .filter(|&i| {
                                is_blank(line[i]) && line.get(i + 1).is_some_and(u8::is_ascii_digit)
                            })
                            .collect();
                        assert_eq!(
                            blanks, expected,
                            "digits: offset {offset} len {len} {p}..{to}"
                        );
                    }
                }
            }
        }
    }
}
