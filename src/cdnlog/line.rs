//! One CDN access-log line → typed, borrowed fields (DOMAIN.md §2).
//!
//! The layout is 15 or 16 fields, but real files (Tencent Cloud CDN offline logs, see
//! DOMAIN.md "What real files look like") differ from the documented table in ways the
//! parser must take as they come:
//! - **Separators**: a run of spaces or tabs outside quotes is one separator (a published
//!   line has a space and a TAB before the IP).
//! - **Quotes**: any field may be wrapped in double quotes; real files quote the user agent
//!   and the range. The quotes are removed; a quoted field may contain spaces and quotes.
//! - **Field 11 (user agent) may contain spaces**, quoted or not. So fields 1-10 are taken
//!   from the left and 12-16 from the right; whatever lies between is the user agent.
//!   Fields 15 (cache: hit/miss) and 16 (client port: number or `-`) are told apart by
//!   content: a line whose last token is hit/miss has 15 fields.
//! - **Empty markers** differ by field and era: `-`, `NULL`, `(null)` and `""`, each quoted
//!   or not, all mean "no value". Which ones a line carried is counted, per file.
//!
//! The parser borrows every field from the line and allocates nothing: it runs once per
//! request, billions of times a month.

use super::masks::{BlockMasks, LineMasks};
use super::reader::Line;
use crate::china_time::china_civil_to_unix_ms;

/// How the request time was written; counted per file so unknown variants show up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFormat {
    /// `yyyyMMddHHmmss`, Beijing time (the documented expectation).
    Compact14,
    /// 10-digit unix seconds.
    UnixSeconds,
}
// 13-digit unix milliseconds are deliberately not accepted: a 14-digit time cut by one
// digit is also 13 digits, and reading it as milliseconds would file the request under
// a wrong year without a trace. Such lines are rejected (and visible in `rejects`).

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cache {
    Hit,
    Miss,
}

impl Cache {
    pub fn as_str(self) -> &'static str {
        match self {
            Cache::Hit => "HIT",
            Cache::Miss => "MISS",
        }
    }

    #[inline]
    fn parse(token: &str) -> Option<Cache> {
        if token.eq_ignore_ascii_case("hit") {
            Some(Cache::Hit)
        } else if token.eq_ignore_ascii_case("miss") {
            Some(Cache::Miss)
        } else {
            None
        }
    }
}

/// The spellings of "no value" seen in real files (DOMAIN.md §2), counted per file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmptyMarker {
    /// `-` (the documented one)
    Dash,
    /// `"-"`
    QuotedDash,
    /// `NULL` (old files' referer)
    Null,
    /// `"NULL"` (old files' user agent)
    QuotedNull,
    /// `(null)`
    ParenNull,
    /// `"(null)"` (the range in real files)
    QuotedParenNull,
    /// `""`
    EmptyQuotes,
}

impl EmptyMarker {
    pub const ALL: [EmptyMarker; 7] = [
        EmptyMarker::Dash,
        EmptyMarker::QuotedDash,
        EmptyMarker::Null,
        EmptyMarker::QuotedNull,
        EmptyMarker::ParenNull,
        EmptyMarker::QuotedParenNull,
        EmptyMarker::EmptyQuotes,
    ];

    /// The marker as it is written in the log.
    pub fn spelling(self) -> &'static str {
        match self {
            EmptyMarker::Dash => "-",
            EmptyMarker::QuotedDash => "\"-\"",
            EmptyMarker::Null => "NULL",
            EmptyMarker::QuotedNull => "\"NULL\"",
            EmptyMarker::ParenNull => "(null)",
            EmptyMarker::QuotedParenNull => "\"(null)\"",
            EmptyMarker::EmptyQuotes => "\"\"",
        }
    }

    /// The marker a field's text (quotes removed) is, if it is one.
    #[inline]
    fn of(field: Field<'_>) -> Option<EmptyMarker> {
        let marker = match (field.text, field.quoted) {
            ("-", false) => EmptyMarker::Dash,
            ("-", true) => EmptyMarker::QuotedDash,
            ("NULL", false) => EmptyMarker::Null,
            ("NULL", true) => EmptyMarker::QuotedNull,
            ("(null)", false) => EmptyMarker::ParenNull,
            ("(null)", true) => EmptyMarker::QuotedParenNull,
            ("", true) => EmptyMarker::EmptyQuotes,
            _ => return None,
        };
        Some(marker)
    }
}

/// How many of each [`EmptyMarker`] one line carried (indexed by the enum).
pub type MarkerCounts = [u8; EmptyMarker::ALL.len()];

/// A parsed line. Text fields borrow from the line; empty markers have become `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine<'a> {
    pub ts_ms: i64,
    pub time_format: TimeFormat,
    pub client_ip: &'a str,
    pub domain: &'a str,
    /// Path without the query string.
    pub path: &'a str,
    /// Query string without the `?`; `None` when the URL has no `?`.
    pub query: Option<&'a str>,
    pub bytes: i64,
    pub province_code: i32,
    pub isp_code: i32,
    pub status: i32,
    pub referer: Option<&'a str>,
    pub request_ms: i64,
    pub user_agent: Option<&'a str>,
    /// True when the agent was wrapped in double quotes (they are removed).
    pub user_agent_quoted: bool,
    /// As the log has it, quotes removed: `786432-4999999`, `0-`, `bytes=0-1023`.
    pub range: Option<&'a str>,
    pub range_quoted: bool,
    /// The first and last byte of a single byte range; `None` when absent, open
    /// (`0-` has no end), a suffix (`-500`) or several ranges.
    pub range_start: Option<i64>,
    pub range_end: Option<i64>,
    pub method: Option<&'a str>,
    pub protocol: Option<&'a str>,
    pub cache: Cache,
    pub port: Option<i32>,
    /// 15 or 16.
    pub field_count: u8,
    /// A separator was a tab or a run of blanks (not one space).
    pub irregular_separators: bool,
    pub empty_markers: MarkerCounts,
}

/// Why a line was not parsed. The raw line is kept beside it in the rejects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    Empty,
    TooLong,
    TooFewFields,
    BadTime,
    BadClientIp,
    EmptyField(&'static str),
    BadNumber(&'static str),
    NoCacheField,
    /// The bytes of one request above the per-request cap (`[ingest] max_request_bytes`).
    BytesAboveCap,
    /// The agent holds the start of another record (time, IP, domain): two records run
    /// together by a lost line end, which would otherwise count as one request.
    MergedRecords,
}

impl std::fmt::Display for Reject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reject::Empty => write!(f, "empty line"),
            Reject::TooLong => write!(f, "line longer than the line-length cap"),
            Reject::TooFewFields => write!(f, "fewer than 15 fields"),
            Reject::BadTime => write!(
                f,
                "request time is neither yyyyMMddHHmmss nor 10-digit unix seconds"
            ),
            Reject::BadClientIp => write!(f, "client IP is not an IPv4 or IPv6 address"),
            Reject::EmptyField(name) => write!(f, "empty {name}"),
            Reject::BadNumber(name) => write!(f, "{name} is not a number"),
            Reject::NoCacheField => write!(
                f,
                "neither of the last two fields is the cache flag (hit/miss)"
            ),
            Reject::BytesAboveCap => write!(
                f,
                "bytes above the per-request cap ([ingest] max_request_bytes)"
            ),
            Reject::MergedRecords => write!(
                f,
                "the user agent holds another record's start (time, IP, domain): two records joined by a lost line end"
            ),
        }
    }
}

/// Parses one line (without its line end; a trailing `\r` is tolerated).
pub fn parse_line(line: &str) -> Result<LogLine<'_>, Reject> {
    parse_line_with(line, &mut TimeParser::default())
}

/// [`parse_line`] with a time parser kept across the lines of a file. This is the
/// reference reading of a line: [`LineParser`] gives the same answer faster on the
/// common shapes and takes this path for the rest.
pub fn parse_line_with<'a>(line: &'a str, times: &mut TimeParser) -> Result<LogLine<'a>, Reject> {
    from_tokens(tokens_by_scanner(line)?, times)
}

/// A line's fields as the tokenizers find them, before any field is read.
struct Tokens<'a> {
    left: [Field<'a>; 10],
    agent: Field<'a>,
    range: Field<'a>,
    method: Field<'a>,
    protocol: Field<'a>,
    cache: Cache,
    port: Option<Field<'a>>,
    field_count: u8,
    irregular_separators: bool,
    /// The agent holds another record's start ([`holds_record_start`]).
    merged: bool,
}

/// Finds the fields by walking the line from both ends (any separators, quotes, markers).
fn tokens_by_scanner(line: &str) -> Result<Tokens<'_>, Reject> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let line = line.trim_matches(|c| c == ' ' || c == '\t');
    if line.is_empty() {
        return Err(Reject::Empty);
    }
    let mut scan = Scanner::new(line);
    let mut left = [Field::EMPTY; 10];
    for field in left.iter_mut() {
        *field = scan.next_from_left().ok_or(Reject::TooFewFields)?;
    }
    // Fields 12..=16 from the right: the last token is the cache flag (15 fields) or the
    // port after it (16 fields). At least the range, method, protocol and cache must lie
    // right of field 10, with something (the agent) between.
    let mut right = [Field::EMPTY; 5];
    for field in right.iter_mut().take(4) {
        *field = scan.next_from_right().ok_or(Reject::TooFewFields)?;
    }
    let (cache, port, field_count, right_used) = match Cache::parse(right[0].text) {
        Some(cache) => (cache, None, 15, 1),
        None => {
            let cache = Cache::parse(right[1].text).ok_or(Reject::NoCacheField)?;
            right[4] = scan.next_from_right().ok_or(Reject::TooFewFields)?;
            (cache, Some(right[0]), 16, 2)
        }
    };
    // The agent is everything left between field 10 and the range, spaces and all.
    let agent = scan.middle().ok_or(Reject::TooFewFields)?;
    Ok(Tokens {
        left,
        agent,
        range: right[right_used + 2],
        method: right[right_used + 1],
        protocol: right[right_used],
        cache,
        port,
        field_count,
        irregular_separators: scan.irregular,
        merged: holds_record_start(agent.text),
    })
}

/// Parses lines, a file at a time: the fast tokenizer ([`tokens_by_masks`]) for lines
/// of the common shape, [`parse_line_with`]'s for the rest. Both give the same fields,
/// so every line gets the same answer either way (a test holds them to it).
#[derive(Default)]
pub struct LineParser {
    times: TimeParser,
    /// For lines that come without the reader's masks ([`LineParser::parse_bytes`]).
    own_masks: BlockMasks,
    /// Lines the fast tokenizer read.
    pub fast_lines: u64,
}

impl LineParser {
    /// Parses a line as the reader hands it out, `None` when it is not UTF-8 (the caller
    /// repairs it and calls [`LineParser::parse`]).
    #[inline]
    pub fn parse_read<'a>(&mut self, line: &Line<'a>) -> Option<Result<LogLine<'a>, Reject>> {
        self.parse_with_masks(line.bytes, line.masks)
    }

    /// [`LineParser::parse_read`] for a line on its own.
    pub fn parse_bytes<'a>(&mut self, line: &'a [u8]) -> Option<Result<LogLine<'a>, Reject>> {
        let mut masks = std::mem::take(&mut self.own_masks);
        masks.invalidate();
        masks.update(line);
        let parsed = self.parse_with_masks(line, Some(masks.line(0, line.len())));
        self.own_masks = masks;
        parsed
    }

    /// Parses a line by the reference path.
    #[inline]
    pub fn parse<'a>(&mut self, line: &'a str) -> Result<LogLine<'a>, Reject> {
        parse_line_with(line, &mut self.times)
    }

    #[inline]
    fn parse_with_masks<'a>(
        &mut self,
        line: &'a [u8],
        masks: Option<LineMasks<'_>>,
    ) -> Option<Result<LogLine<'a>, Reject>> {
        let odd = masks.map(|m| m.oddities());
        let text = match odd {
            // SAFETY: no byte of the line has its top bit set (the masks' `high` class is
            // each byte's top bit, tested against the bytes in `masks`), so it is ASCII,
            // which is UTF-8.
            Some(odd) if !odd.high => unsafe { std::str::from_utf8_unchecked(line) },
            _ => std::str::from_utf8(line).ok()?,
        };
        if let (Some(masks), Some(odd)) = (masks, odd) {
            if !odd.tab_or_cr {
                if let Some(tokens) = tokens_by_masks(text, masks) {
                    self.fast_lines += 1;
                    return Some(from_tokens(tokens, &mut self.times));
                }
            }
        }
        Some(self.parse(text))
    }
}

/// Finds the fields from the line's blank and quote masks, for the common shape only:
/// single spaces between fields (runs of blanks may lie inside the agent), no tab or CR,
/// nothing before the first field or after the last, and each field other than the
/// agent either free of quotes or wrapped in one pair with none inside. `None` for any
/// other line, and for lines with too few fields or no cache flag: the scanner then
/// reads it, and rejects it with its reason.
#[inline]
fn tokens_by_masks<'a>(line: &'a str, masks: LineMasks<'_>) -> Option<Tokens<'a>> {
    let b = line.as_bytes();
    let n = b.len();
    if n == 0 || is_separator(b[0]) || is_separator(b[n - 1]) {
        return None;
    }
    // Fields 1-10: the first ten blanks end them.
    let mut left = [Field::EMPTY; 10];
    let mut blanks = masks.blanks(0, n);
    let mut start = 0;
    for slot in left.iter_mut() {
        let end = blanks.next()?;
        if end == start {
            return None; // a run of blanks
        }
        slot.text = &line[start..end];
        start = end + 1;
    }
    let agent_start = start;
    if masks.is_blank(agent_start) {
        return None;
    }
    if masks.has_quote(0, agent_start) {
        let mut from = 0;
        for slot in left.iter_mut() {
            let to = from + slot.text.len();
            *slot = masked_field(line, &masks, from, to)?;
            from = to + 1;
        }
    }
    // Fields 12-16 from the right: each one's blank lies inside the agent or after it,
    // alone.
    let mut right = [Field::EMPTY; 5];
    let mut end = n;
    let mut taken = 0;
    let cache = loop {
        right[taken] = field_before(line, &masks, agent_start, &mut end)?;
        taken += 1;
        if let Some(cache) = Cache::parse(right[taken - 1].text) {
            break cache;
        }
        if taken == 2 {
            return None; // neither of the last two is the cache flag: the scanner says so
        }
    };
    for slot in &mut right[taken..taken + 3] {
        *slot = field_before(line, &masks, agent_start, &mut end)?;
    }
    let port = (taken == 2).then_some(right[0]);
    let [protocol, method, range] = [right[taken], right[taken + 1], right[taken + 2]];
    let raw = &line[agent_start..end];
    let agent = match raw.len() >= 2 && raw.starts_with('"') && raw.ends_with('"') {
        true => Field {
            text: &raw[1..raw.len() - 1],
            quoted: true,
        },
        false => Field {
            text: raw,
            quoted: false,
        },
    };
    let text_start = agent_start + agent.quoted as usize;
    let text_end = text_start + agent.text.len();
    // The scanner's record-start check, visiting the agent's blanks from the mask.
    let merged = is_record_start(agent.text)
        || masks
            .blanks_before_digits(text_start, text_end)
            .any(|blank| is_record_start(&line[blank + 1..text_end]));
    Some(Tokens {
        left,
        agent,
        range,
        method,
        protocol,
        cache,
        port,
        field_count: 15 + port.is_some() as u8,
        irregular_separators: false,
        merged,
    })
}

/// The field that ends at `end`, taken from the right: its blank must lie at or after
/// `agent_start` and stand alone. `end` moves to that blank.
#[inline(always)]
fn field_before<'a>(
    line: &'a str,
    masks: &LineMasks<'_>,
    agent_start: usize,
    end: &mut usize,
) -> Option<Field<'a>> {
    let blank = masks.prev_blank(*end)?;
    if blank < agent_start || masks.is_blank(blank - 1) {
        return None;
    }
    let field = masked_field(line, masks, blank + 1, *end)?;
    *end = blank;
    Some(field)
}

/// The field at `from..to` as the scanner reads it, when it has no quotes or one pair
/// around it; `None` otherwise.
#[inline(always)]
fn masked_field<'a>(
    line: &'a str,
    masks: &LineMasks<'_>,
    from: usize,
    to: usize,
) -> Option<Field<'a>> {
    let b = line.as_bytes();
    match masks.quotes(from, to) {
        0 => Some(Field {
            text: &line[from..to],
            quoted: false,
        }),
        2 if to - from >= 2 && b[from] == b'"' && b[to - 1] == b'"' => Some(Field {
            text: &line[from + 1..to - 1],
            quoted: true,
        }),
        _ => None,
    }
}

/// Reads the fields the tokenizer found: the same checks, in the same order, whichever
/// tokenizer it was.
fn from_tokens<'a>(tokens: Tokens<'a>, times: &mut TimeParser) -> Result<LogLine<'a>, Reject> {
    if tokens.merged {
        return Err(Reject::MergedRecords);
    }
    let [time, client_ip, domain, url, bytes, province, isp, status, referer, request_ms] =
        tokens.left;
    let (agent, range) = (tokens.agent, tokens.range);
    let (ts_ms, time_format) = times.parse(time.text).ok_or(Reject::BadTime)?;
    if !plausible_ip(client_ip.text) {
        return Err(Reject::BadClientIp);
    }
    let mut markers = MarkerCounts::default();
    let mut text = |field: Field<'a>| -> Option<&'a str> {
        match EmptyMarker::of(field) {
            Some(marker) => {
                markers[marker as usize] += 1;
                None
            }
            None => Some(field.text),
        }
    };
    let domain = text(domain).ok_or(Reject::EmptyField("domain"))?;
    let url = text(url).ok_or(Reject::EmptyField("path"))?;
    let referer = text(referer);
    let user_agent = text(agent);
    let range_text = text(range);
    let method = text(tokens.method);
    let protocol = text(tokens.protocol);
    let port = tokens.port.and_then(&mut text);
    let (path, query) = match memchr::memchr(b'?', url.as_bytes()) {
        Some(q) => (&url[..q], Some(&url[q + 1..])),
        None => (url, None),
    };
    let (range_start, range_end) = range_text.and_then(byte_range).unwrap_or((None, None));
    Ok(LogLine {
        ts_ms,
        time_format,
        client_ip: client_ip.text,
        domain,
        path: non_empty(path, "path")?,
        query,
        bytes: parse_int(bytes.text)
            .filter(|b| *b >= 0)
            .ok_or(Reject::BadNumber("bytes"))?,
        province_code: parse_i32(province.text, "province code")?,
        isp_code: parse_i32(isp.text, "ISP code")?,
        status: parse_i32(status.text, "HTTP status")?,
        referer,
        request_ms: parse_int(request_ms.text).ok_or(Reject::BadNumber("request time (ms)"))?,
        user_agent,
        user_agent_quoted: agent.quoted,
        range: range_text,
        range_quoted: range.quoted,
        range_start,
        range_end,
        method,
        protocol,
        cache: tokens.cache,
        port: match port {
            None => None,
            Some(p) => Some(parse_i32(p, "client port")?),
        },
        field_count: tokens.field_count,
        irregular_separators: tokens.irregular_separators,
        empty_markers: markers,
    })
}

/// A field's text, quotes removed, and whether it was quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Field<'a> {
    text: &'a str,
    quoted: bool,
}

impl Field<'_> {
    const EMPTY: Field<'static> = Field {
        text: "",
        quoted: false,
    };
}

#[inline]
fn is_separator(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Walks a line's tokens from both ends towards the middle. Only the separators around
/// the fields taken are visited (SIMD memchr from each end); the agent's inner spaces,
/// often thirty of them, never are.
struct Scanner<'a> {
    line: &'a str,
    /// Everything before `front` has been taken from the left.
    front: usize,
    /// Everything from `back` on has been taken from the right.
    back: usize,
    /// A separator was a tab or more than one blank.
    irregular: bool,
}

impl<'a> Scanner<'a> {
    fn new(line: &'a str) -> Self {
        Scanner {
            line,
            front: 0,
            back: line.len(),
            irregular: false,
        }
    }

    /// The next token from the left. A token that starts with `"` runs to the next `"`
    /// followed by a separator or the end of the line (spaces and quotes inside are
    /// kept); one without such an end is read as unquoted.
    #[inline]
    fn next_from_left(&mut self) -> Option<Field<'a>> {
        let b = self.line.as_bytes();
        let start = self.skip_separators_forward();
        if start >= self.back {
            return None;
        }
        if b[start] == b'"' {
            let mut from = start + 1;
            while let Some(q) = memchr::memchr(b'"', &b[from..self.back]) {
                let q = from + q;
                if q + 1 == self.back || is_separator(b[q + 1]) {
                    self.front = q + 1;
                    return Some(Field {
                        text: &self.line[start + 1..q],
                        quoted: true,
                    });
                }
                from = q + 1;
            }
        }
        let end =
            memchr::memchr2(b' ', b'\t', &b[start..self.back]).map_or(self.back, |p| start + p);
        self.front = end;
        Some(Field {
            text: &self.line[start..end],
            quoted: false,
        })
    }

    /// The next token from the right, never reaching into what was taken from the left.
    /// A token that ends with `"` starts at the `"` before it that follows a separator.
    #[inline]
    fn next_from_right(&mut self) -> Option<Field<'a>> {
        let b = self.line.as_bytes();
        let end = self.skip_separators_backward();
        // `front` sits on the separator after the last left field (or the line's end).
        if end <= self.front + 1 {
            return None;
        }
        let floor = self.front + 1;
        if b[end - 1] == b'"' && end - 1 > floor {
            let mut to = end - 1;
            while let Some(q) = memchr::memrchr(b'"', &b[floor..to]) {
                let q = floor + q;
                if is_separator(b[q - 1]) {
                    self.back = q;
                    return Some(Field {
                        text: &self.line[q + 1..end - 1],
                        quoted: true,
                    });
                }
                to = q;
            }
        }
        let start = memchr::memrchr2(b' ', b'\t', &b[floor..end]).map_or(floor, |p| floor + p + 1);
        self.back = start;
        Some(Field {
            text: &self.line[start..end],
            quoted: false,
        })
    }

    /// What lies between the tokens taken from both ends, blanks trimmed and quotes
    /// removed: the user agent. `None` when nothing is there.
    fn middle(&mut self) -> Option<Field<'a>> {
        self.skip_separators_forward();
        let end = self.skip_separators_backward();
        if self.front >= end {
            return None;
        }
        let raw = &self.line[self.front..end];
        Some(
            match raw.strip_prefix('"').and_then(|a| a.strip_suffix('"')) {
                Some(inner) => Field {
                    text: inner,
                    quoted: true,
                },
                None => Field {
                    text: raw,
                    quoted: false,
                },
            },
        )
    }

    #[inline]
    fn skip_separators_forward(&mut self) -> usize {
        let b = self.line.as_bytes();
        let from = self.front;
        while self.front < self.back && is_separator(b[self.front]) {
            self.front += 1;
        }
        if from > 0 && (self.front - from != 1 || b[from] == b'\t') {
            self.irregular = true;
        }
        self.front
    }

    #[inline]
    fn skip_separators_backward(&mut self) -> usize {
        let b = self.line.as_bytes();
        let from = self.back;
        while self.back > self.front && is_separator(b[self.back - 1]) {
            self.back -= 1;
        }
        if from < self.line.len() && (from - self.back != 1 || b[from - 1] == b'\t') {
            self.irregular = true;
        }
        self.back
    }
}

/// A single byte range, `bytes=` prefix optional: `786432-4999999` → (786432, 4999999),
/// `0-` → (0, open). `None` for a suffix range (`-500`), several ranges or anything else.
pub fn byte_range(range: &str) -> Option<(Option<i64>, Option<i64>)> {
    let range = range.strip_prefix("bytes=").unwrap_or(range);
    let (first, last) = range.split_once('-')?;
    let start = parse_int(first).filter(|s| *s >= 0 && !first.starts_with('-'))?;
    if last.is_empty() {
        return Some((Some(start), None));
    }
    let end = parse_int(last).filter(|e| *e >= start && !last.starts_with('-'))?;
    Some((Some(start), Some(end)))
}

#[inline]
fn non_empty<'a>(field: &'a str, name: &'static str) -> Result<&'a str, Reject> {
    if field.is_empty() {
        Err(Reject::EmptyField(name))
    } else {
        Ok(field)
    }
}

/// Digits with an optional leading `-`; no overflow, no other characters.
#[inline]
fn parse_int(s: &str) -> Option<i64> {
    let (negative, digits) = match s.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        bytes => (false, bytes),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut value: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        value = value * 10 + (d - b'0') as i64;
    }
    Some(if negative { -value } else { value })
}

#[inline]
fn parse_i32(s: &str, name: &'static str) -> Result<i32, Reject> {
    parse_int(s)
        .and_then(|v| i32::try_from(v).ok())
        .ok_or(Reject::BadNumber(name))
}

#[inline]
/// Whether `text` holds a record's first three fields: a 14-digit time, an IP address,
/// a domain, after a blank (or a CR: a stray old-Mac line end). Only the positions after
/// a blank are looked at (an agent has a dozen), and only one starting with a digit is
/// looked at further, so the hot path pays one `memchr3` pass over the agent.
fn holds_record_start(text: &str) -> bool {
    let bytes = text.as_bytes();
    is_record_start(text)
        || memchr::memchr3_iter(b' ', b'\t', b'\r', bytes)
            .any(|blank| is_record_start(&text[blank + 1..]))
}

fn is_record_start(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() < 16 || !bytes[0].is_ascii_digit() || !matches!(bytes[14], b' ' | b'\t') {
        return false;
    }
    if !bytes[..14].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut rest = text[15..].split_ascii_whitespace();
    match (rest.next(), rest.next()) {
        (Some(ip), Some(domain)) => {
            plausible_ip(ip) && domain.contains('.') && !domain.contains('/')
        }
        _ => false,
    }
}

fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |acc, &d| {
        d.is_ascii_digit().then(|| acc * 10 + (d - b'0') as u32)
    })
}

/// Parses request times, remembering the last hour seen: the lines of one file share
/// their `yyyyMMddHH`, so the calendar arithmetic runs once per hour, not once per line.
#[derive(Debug, Default, Clone)]
pub struct TimeParser {
    hour_prefix: [u8; 10],
    hour_start_ms: i64,
}

impl TimeParser {
    /// The request time as unix milliseconds, from any of the accepted forms.
    #[inline]
    fn parse(&mut self, s: &str) -> Option<(i64, TimeFormat)> {
        let b = s.as_bytes();
        match b.len() {
            14 => {
                let (minute, second) = (digits(&b[10..12])?, digits(&b[12..14])?);
                if minute > 59 || second > 60 {
                    return None;
                }
                if b[..10] != self.hour_prefix || self.hour_start_ms == 0 {
                    self.hour_start_ms = china_civil_to_unix_ms(
                        digits(&b[0..4])? as i64,
                        digits(&b[4..6])?,
                        digits(&b[6..8])?,
                        digits(&b[8..10])?,
                        0,
                        0,
                    )?;
                    self.hour_prefix.copy_from_slice(&b[..10]);
                }
                let ms = self.hour_start_ms + (minute * 60 + second) as i64 * 1000;
                Some((ms, TimeFormat::Compact14))
            }
            10 => Some((
                parse_int(s).filter(|v| *v >= 0)? * 1000,
                TimeFormat::UnixSeconds,
            )),
            _ => None,
        }
    }
}

/// A cheap shape check in one pass, not a full address parse: IPv4 is digits and three
/// dots; IPv6 has colons among hex digits (maybe with an embedded IPv4 tail or a zone).
#[inline]
fn plausible_ip(s: &str) -> bool {
    let (mut dots, mut colons, mut hex_letters) = (0, 0, false);
    for &c in s.as_bytes() {
        match c {
            b'0'..=b'9' => {}
            b'.' => dots += 1,
            b':' => colons += 1,
            b'a'..=b'f' | b'A'..=b'F' | b'%' => hex_letters = true,
            _ => return false,
        }
    }
    (1..=45).contains(&s.len())
        && if colons > 0 {
            colons >= 2
        } else {
            dots == 3 && !hex_letters
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both tokenizers give the same answer, on the published lines and on thousands of
    /// variants of them with quotes, blanks, tabs, CRs and fields added or cut anywhere;
    /// and the fast one reads the regular lines.
    #[test]
    fn the_fast_tokenizer_agrees_with_the_scanner_on_every_variant() {
        let mut seed = 0x5eed_u64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let merged_agent = TYPICAL.replacen(
            "(iPhone;",
            "20261120000243 36.45.133.23 1500020822.vod2.myqcloud.com /v.ts 5 (iPhone;",
            1,
        );
        let quoted_agent_record = REAL_2023.replacen(
            "VivoBrowser",
            "20230330010010 223.104.149.43 cos.loveloveme.cn\" VivoBrowser",
            1,
        );
        let bases = [
            TYPICAL,
            OLD_ERA,
            REAL_2023,
            merged_agent.as_str(),
            quoted_agent_record.as_str(),
        ];
        let inserts: [&str; 9] = ["\"", " ", "  ", "\t", "\r", "-", "\"\"", "hit ", "é"];
        let mut parser = LineParser::default();
        let mut fast_before = 0;
        let mut compared = 0;
        for base in bases {
            let expected = parse_line(base);
            assert_eq!(parser.parse_bytes(base.as_bytes()), Some(expected.clone()));
            assert!(parser.fast_lines > fast_before, "{base}");
            fast_before = parser.fast_lines;
            for _ in 0..4000 {
                let mut line = base.to_string();
                for _ in 0..1 + next(3) {
                    let at = next(line.len() + 1);
                    let at = (0..=at).rev().find(|i| line.is_char_boundary(*i)).unwrap();
                    match next(3) {
                        0 => line.insert_str(at, inserts[next(inserts.len())]),
                        1 if at < line.len() => {
                            let end = (at + 1..=line.len().min(at + 12))
                                .find(|i| line.is_char_boundary(*i))
                                .unwrap();
                            line.replace_range(at..end, "");
                        }
                        _ => line.insert(at, '"'),
                    }
                }
                let reference = parse_line_with(&line, &mut TimeParser::default());
                let mut fresh = LineParser::default();
                assert_eq!(
                    fresh.parse_bytes(line.as_bytes()),
                    Some(reference),
                    "{line:?}"
                );
                compared += 1;
            }
        }
        assert_eq!(compared, 20_000);
        assert_eq!(parser.parse_bytes(b"\xff\xfe"), None);
    }

    #[test]
    fn two_records_joined_by_a_lost_line_end_are_a_reject() {
        let joined = format!("{} {TYPICAL}", &TYPICAL[..TYPICAL.len() - 30]);
        let merged = TYPICAL.replacen(
            "(iPhone;",
            "20261120000243 36.45.133.23 1500020822.vod2.myqcloud.com /v.ts 5 1 2 200 - 1 (iPhone;",
            1,
        );
        assert_eq!(parse_line(&merged).unwrap_err(), Reject::MergedRecords);
        assert!(parse_line(&joined).is_err());
        // Digits in a real agent are not a record.
        let agent = TYPICAL.replacen("(iPhone;", "Build/20261120000243 (iPhone;", 1);
        assert!(parse_line(&agent).is_ok());
        assert!(!holds_record_start(
            "MicroMessenger/8.0.47 12345678901234 NetType/WIFI"
        ));
    }

    /// Unix milliseconds of a China wall-clock time.
    fn china_ms(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
        china_civil_to_unix_ms(y, mo, d, h, mi, s).expect("a valid time")
    }

    const TYPICAL: &str = "20261120000242 36.45.133.22 1500020822.vod2.myqcloud.com /a1b2c3d4vodtranscq1500020822/1144961661379299507/v.f1419-46.ts?t=6affaa42&us=wxad-d97e967b6c18d982d1dcec53&sign=f22d2882d1a89b37ad0c9bb6e9526a69 1237276 1177 1046 200 - 499 AppleCoreMedia/1.0.0.21E236 (iPhone; U; CPU OS 17_4 like Mac OS X; zh_cn) - GET HTTP/2.0 hit 23765";

    #[test]
    fn every_field_of_the_typical_line() {
        let l = parse_line(TYPICAL).unwrap();
        assert_eq!(l.ts_ms, china_ms(2026, 11, 20, 0, 2, 42));
        assert_eq!(l.ts_ms, 1_795_104_162_000);
        assert_eq!(l.time_format, TimeFormat::Compact14);
        assert_eq!(l.client_ip, "36.45.133.22");
        assert_eq!(l.domain, "1500020822.vod2.myqcloud.com");
        assert_eq!(
            l.path,
            "/a1b2c3d4vodtranscq1500020822/1144961661379299507/v.f1419-46.ts"
        );
        assert_eq!(
            l.query,
            Some(
                "t=6affaa42&us=wxad-d97e967b6c18d982d1dcec53&sign=f22d2882d1a89b37ad0c9bb6e9526a69"
            )
        );
        assert_eq!(l.bytes, 1_237_276);
        assert_eq!((l.province_code, l.isp_code, l.status), (1177, 1046, 200));
        assert_eq!(l.referer, None);
        assert_eq!(l.request_ms, 499);
        assert_eq!(
            l.user_agent,
            Some("AppleCoreMedia/1.0.0.21E236 (iPhone; U; CPU OS 17_4 like Mac OS X; zh_cn)")
        );
        assert!(!l.user_agent_quoted);
        assert_eq!(l.range, None);
        assert_eq!(
            (l.method, l.protocol, l.cache),
            (Some("GET"), Some("HTTP/2.0"), Cache::Hit)
        );
        assert_eq!((l.port, l.field_count), (Some(23765), 16));
        assert!(!l.irregular_separators);
        assert_eq!(l.empty_markers[EmptyMarker::Dash as usize], 2);
    }

    #[test]
    fn ipv6_no_agent_referer_range_and_dash_port() {
        let l = parse_line("20261120002027 240e:3a1:4c2::1f 1500020822.vod2.myqcloud.com /a/v.f100030.mp4?t=6affae6b&sign=c0 525089 120 26 206 https://servicewechat.com/wx1234567890abcdef/12/page-frame.html 128 - bytes=0-525088 GET HTTP/3 MISS -").unwrap();
        assert_eq!(l.client_ip, "240e:3a1:4c2::1f");
        assert_eq!(
            l.referer,
            Some("https://servicewechat.com/wx1234567890abcdef/12/page-frame.html")
        );
        assert_eq!(l.user_agent, None);
        assert_eq!(l.range, Some("bytes=0-525088"));
        assert_eq!(
            (l.protocol, l.cache, l.port, l.field_count),
            (Some("HTTP/3"), Cache::Miss, None, 16)
        );
        assert_eq!(
            (l.range_start, l.range_end, l.range_quoted),
            (Some(0), Some(525088), false)
        );
    }

    #[test]
    fn quoted_agent_and_fifteen_fields() {
        let l = parse_line("20261120003745 101.18.7.5 d.example.com /p/v.mp4?t=1&us=baidu-feed-3d0a&sign=2 2097873 1 0 200 - 1007 \"Mozilla/5.0 (Linux; Android 14; wv) MicroMessenger/8.0.49\" - GET HTTP/1.1 hit").unwrap();
        assert_eq!(
            l.user_agent,
            Some("Mozilla/5.0 (Linux; Android 14; wv) MicroMessenger/8.0.49")
        );
        assert!(l.user_agent_quoted);
        assert_eq!((l.field_count, l.port, l.cache), (15, None, Cache::Hit));
        assert_eq!(l.province_code, 1);
    }

    #[test]
    fn agent_ending_in_hit_is_still_the_agent() {
        let l =
            parse_line("20261120003745 1.2.3.4 d /p 10 4 2 200 - 1 Bot hit - GET HTTP/1.1 miss")
                .unwrap();
        assert_eq!((l.user_agent, l.cache), (Some("Bot hit"), Cache::Miss));
    }

    #[test]
    fn crlf_unix_time_and_negative_codes() {
        let l = parse_line("1795104162 1.2.3.4 d /p 10 -1 -1 200 - 1 ua - GET HTTP/1.1 Hit 443\r")
            .unwrap();
        assert_eq!(
            (l.ts_ms, l.time_format),
            (1_795_104_162_000, TimeFormat::UnixSeconds)
        );
        assert_eq!((l.province_code, l.isp_code, l.port), (-1, -1, Some(443)));
        assert_eq!(
            parse_line("1795104162123 1.2.3.4 d /p 10 0 0 200 - 1 ua - GET HTTP/1.1 MISS")
                .unwrap_err(),
            Reject::BadTime,
            "13 digits could be a cut yyyyMMddHHmmss: rejected, not guessed"
        );
    }

    #[test]
    fn time_cache_follows_hour_changes() {
        let mut times = TimeParser::default();
        let at = |times: &mut TimeParser, s: &str| times.parse(s).map(|t| t.0);
        // In order: the cache is filled, kept within the hour, refilled at the next hour
        // and at a jump of a month; a leap second is accepted.
        for (text, (y, mo, d, h, mi, s)) in [
            ("20261120000242", (2026, 11, 20, 0, 2, 42)),
            ("20261120005959", (2026, 11, 20, 0, 59, 59)),
            ("20261120010000", (2026, 11, 20, 1, 0, 0)),
            ("20261231235960", (2026, 12, 31, 23, 59, 60)),
        ] {
            let want = china_civil_to_unix_ms(y, mo, d, h, mi, s);
            assert_eq!(at(&mut times, text), want, "{text}");
        }
        assert_eq!(at(&mut times, "20261120016000"), None, "minute 60");
        assert_eq!(
            at(&mut times, "20261130240000"),
            None,
            "hour 24, after a cached hour"
        );
        assert_eq!(at(&mut times, "2026113001000x"), None);
    }

    #[test]
    fn rejects_say_why() {
        let cases = [
            ("", Reject::Empty),
            ("   ", Reject::Empty),
            ("20261120000242 36.45.133.22 d /p 12", Reject::TooFewFields),
            (
                "20261120000242 1.2.3.4 d /p 10 4 2 200 - 1 ua - GET",
                Reject::TooFewFields,
            ),
            (
                "2026112000024 1.2.3.4 d /p 10 4 2 200 - 1 ua - GET HTTP/1.1 hit",
                Reject::BadTime,
            ),
            (
                "20261320000242 1.2.3.4 d /p 10 4 2 200 - 1 ua - GET HTTP/1.1 hit",
                Reject::BadTime,
            ),
            (
                "20261120000242 host.name d /p 10 4 2 200 - 1 ua - GET HTTP/1.1 hit",
                Reject::BadClientIp,
            ),
            (
                "20261120000242 1.2.3.4 d /p 1x0 4 2 200 - 1 ua - GET HTTP/1.1 hit",
                Reject::BadNumber("bytes"),
            ),
            (
                "20261120000242 1.2.3.4 d /p -5 4 2 200 - 1 ua - GET HTTP/1.1 hit",
                Reject::BadNumber("bytes"),
            ),
            (
                "20261120000242 1.2.3.4 d /p 10 x 2 200 - 1 ua - GET HTTP/1.1 hit",
                Reject::BadNumber("province code"),
            ),
            (
                "20261120000242 1.2.3.4 d /p 10 4 2 200 - 1 ua - GET HTTP/1.1 stale 80",
                Reject::NoCacheField,
            ),
            (
                "20261120000242 1.2.3.4 d /p 10 4 2 200 - 1 ua - GET HTTP/1.1 hit port",
                Reject::BadNumber("client port"),
            ),
        ];
        for (line, want) in cases {
            assert_eq!(parse_line(line).unwrap_err(), want, "line: {line:?}");
        }
    }

    /// GoAccess issue #604 (2016): 15 fields, `NULL` referer, `"NULL"` agent, `"(null)"` range.
    const OLD_ERA: &str = "20161227210131 223.104.185.75 img.xxx.com /images/h5-dingding/banner1.png 134594 122 1046 200 NULL 1455 \"NULL\" \"(null)\" GET HTTP/1.1 miss";
    /// A 2023 published line: 16 fields, quoted agent with spaces, quoted range, `HTTPS`.
    const REAL_2023: &str = "20230330010010 223.104.149.43 cos.loveloveme.cn /2023/03/29/91ad731639b8c.gif 459 120 1046 206 https://www.xooznnfuvqvl.buzz:8/vodata/32180/play.html?32180-0-1 1 \"Mozilla/5.0 (Linux; Android 9; V1809A Build/PKQ1.181030.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/87.0.4280.141 Mobile Safari/537.36 VivoBrowser/14.1.20.0\" \"786432-786432\" GET HTTPS hit 56845";

    #[test]
    fn published_old_era_line_markers_are_empty() {
        let l = parse_line(OLD_ERA).unwrap();
        assert_eq!((l.referer, l.user_agent, l.range), (None, None, None));
        assert_eq!((l.range_start, l.range_end), (None, None));
        assert_eq!((l.field_count, l.port, l.cache), (15, None, Cache::Miss));
        assert_eq!(
            (l.province_code, l.bytes, l.request_ms),
            (122, 134594, 1455)
        );
        let seen = |m: EmptyMarker| l.empty_markers[m as usize];
        assert_eq!(seen(EmptyMarker::Null), 1, "referer NULL");
        assert_eq!(seen(EmptyMarker::QuotedNull), 1, "agent \"NULL\"");
        assert_eq!(seen(EmptyMarker::QuotedParenNull), 1, "range \"(null)\"");
        assert!(l.user_agent_quoted && l.range_quoted);
    }

    #[test]
    fn published_2023_line_every_field() {
        let l = parse_line(REAL_2023).unwrap();
        assert_eq!(l.ts_ms, china_ms(2023, 3, 30, 1, 0, 10));
        assert_eq!(l.domain, "cos.loveloveme.cn");
        assert_eq!(l.path, "/2023/03/29/91ad731639b8c.gif");
        assert_eq!(l.query, None);
        assert_eq!(
            (l.bytes, l.province_code, l.isp_code, l.status),
            (459, 120, 1046, 206)
        );
        assert_eq!(
            l.referer,
            Some("https://www.xooznnfuvqvl.buzz:8/vodata/32180/play.html?32180-0-1")
        );
        assert_eq!(l.request_ms, 1);
        assert_eq!(l.user_agent, Some("Mozilla/5.0 (Linux; Android 9; V1809A Build/PKQ1.181030.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/87.0.4280.141 Mobile Safari/537.36 VivoBrowser/14.1.20.0"));
        assert_eq!(l.range, Some("786432-786432"));
        assert_eq!((l.range_start, l.range_end), (Some(786432), Some(786432)));
        assert_eq!((l.method, l.protocol), (Some("GET"), Some("HTTPS")));
        assert_eq!(
            (l.cache, l.port, l.field_count),
            (Cache::Hit, Some(56845), 16)
        );
        assert_eq!(l.empty_markers, MarkerCounts::default());
    }

    #[test]
    fn agent_with_quotes_inside_and_every_marker() {
        let l = parse_line("20261120003745 1.2.3.4 d /p?us=wxad-1 10 4 2 200 \"\" 1 \"Mozilla/5.0 \"quoted\" (x; y) \"end\"\" \"0-\" \"-\" (null) hit -").unwrap();
        assert_eq!(l.user_agent, Some("Mozilla/5.0 \"quoted\" (x; y) \"end\""));
        assert_eq!(l.referer, None);
        assert_eq!(l.range, Some("0-"));
        assert_eq!((l.range_start, l.range_end), (Some(0), None));
        assert_eq!((l.method, l.protocol), (None, None));
        assert_eq!((l.port, l.field_count), (None, 16));
        let seen = |m: EmptyMarker| l.empty_markers[m as usize];
        assert_eq!(seen(EmptyMarker::EmptyQuotes), 1);
        assert_eq!(seen(EmptyMarker::QuotedDash), 1);
        assert_eq!(seen(EmptyMarker::ParenNull), 1);
        assert_eq!(seen(EmptyMarker::Dash), 1, "the port");
    }

    #[test]
    fn tabs_and_runs_of_blanks_are_one_separator() {
        let tabbed = REAL_2023
            .replacen(' ', " \t", 1)
            .replace(" GET ", "  GET\t");
        let l = parse_line(&tabbed).unwrap();
        assert!(l.irregular_separators);
        let plain = parse_line(REAL_2023).unwrap();
        assert_eq!(
            LogLine {
                irregular_separators: false,
                ..l
            },
            plain
        );
        // A quoted field keeps its inner tabs and spaces.
        let l = parse_line("20261120003745\t1.2.3.4\td\t/p\t10\t4\t2\t200\t\"a b\"\t1\t\"x\ty  z\"\t\"bytes=5-9\"\tGET\tHTTP/3\tMISS").unwrap();
        assert_eq!((l.referer, l.user_agent), (Some("a b"), Some("x\ty  z")));
        assert_eq!(
            (l.range, l.range_start, l.range_end),
            (Some("bytes=5-9"), Some(5), Some(9))
        );
    }

    #[test]
    fn byte_ranges() {
        assert_eq!(
            byte_range("786432-4999999"),
            Some((Some(786432), Some(4999999)))
        );
        assert_eq!(byte_range("bytes=0-1023"), Some((Some(0), Some(1023))));
        assert_eq!(byte_range("0-"), Some((Some(0), None)));
        assert_eq!(byte_range("-500"), None, "suffix range: no absolute start");
        assert_eq!(byte_range("0-1,5-6"), None, "several ranges");
        assert_eq!(byte_range("9-3"), None, "end before start");
        assert_eq!(byte_range("bytes=a-b"), None);
        assert_eq!(byte_range("5"), None);
    }
}
