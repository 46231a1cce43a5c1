//! One CDN access-log line → typed, borrowed fields (DOMAIN.md §2).
//!
//! The layout is 15 or 16 space-separated fields, but field 11 (user agent) may itself
//! contain spaces, quoted or not. So fields 1-10 are taken from the left and 12-16 from
//! the right; whatever lies between is the user agent. Fields 15 (cache: hit/miss) and
//! 16 (client port: number or `-`) are told apart by content: a line whose last token is
//! hit/miss has 15 fields.
//!
//! The parser borrows every field from the line and allocates nothing: it runs once per
//! request, billions of times a month.

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// A parsed line. Text fields borrow from the line; `-` has become `None`.
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
    pub range: Option<&'a str>,
    pub method: &'a str,
    pub protocol: &'a str,
    pub cache: Cache,
    pub port: Option<i32>,
    /// 15 or 16.
    pub field_count: u8,
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
        }
    }
}

/// Parses one line (without its line end; a trailing `\r` is tolerated).
pub fn parse_line(line: &str) -> Result<LogLine<'_>, Reject> {
    parse_line_with(line, &mut TimeParser::default())
}

/// [`parse_line`] with a time parser kept across the lines of a file.
pub fn parse_line_with<'a>(line: &'a str, times: &mut TimeParser) -> Result<LogLine<'a>, Reject> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.trim_ascii().is_empty() {
        return Err(Reject::Empty);
    }
    let f = Fields::split(line)?;
    let field = |i: usize| &line[f.starts[i]..f.ends[i]];
    let (time, client_ip, domain, url, bytes) = (field(0), field(1), field(2), field(3), field(4));
    let (province, isp, status, referer, request_ms) =
        (field(5), field(6), field(7), field(8), field(9));
    // Fields 12..=16 from the right: the last token is the cache flag (15 fields) or the
    // port after it (16 fields).
    let last = f.right(line, 0);
    let (cache, port, field_count, right_used) = match Cache::parse(last) {
        Some(cache) => (cache, None, 15, 1),
        None => {
            let cache = Cache::parse(f.right(line, 1)).ok_or(Reject::NoCacheField)?;
            (cache, Some(last), 16, 2)
        }
    };
    // The range's space must still lie right of field 10, leaving room for the agent.
    if f.right_count < right_used + 3 {
        return Err(Reject::TooFewFields);
    }
    let protocol = f.right(line, right_used);
    let method = f.right(line, right_used + 1);
    let range = f.right(line, right_used + 2);
    // The agent is everything between field 10 and the range, spaces and all.
    let agent_end = f.right_start(right_used + 2) - 1;
    let agent_start = f.ends[9] + 1;
    let (user_agent, user_agent_quoted) = unquote(
        line.get(agent_start..agent_end.max(agent_start))
            .unwrap_or(""),
    );

    let (ts_ms, time_format) = times.parse(time).ok_or(Reject::BadTime)?;
    if !plausible_ip(client_ip) {
        return Err(Reject::BadClientIp);
    }
    let (path, query) = match memchr::memchr(b'?', url.as_bytes()) {
        Some(q) => (&url[..q], Some(&url[q + 1..])),
        None => (url, None),
    };
    Ok(LogLine {
        ts_ms,
        time_format,
        client_ip,
        domain: non_empty(domain, "domain")?,
        path: non_empty(path, "path")?,
        query,
        bytes: parse_int(bytes)
            .filter(|b| *b >= 0)
            .ok_or(Reject::BadNumber("bytes"))?,
        province_code: parse_i32(province, "province code")?,
        isp_code: parse_i32(isp, "ISP code")?,
        status: parse_i32(status, "HTTP status")?,
        referer: dash_none(referer),
        request_ms: parse_int(request_ms).ok_or(Reject::BadNumber("request time (ms)"))?,
        user_agent: dash_none(user_agent),
        user_agent_quoted,
        range: dash_none(range),
        method: non_empty(method, "HTTP method")?,
        protocol: non_empty(protocol, "protocol")?,
        cache,
        port: match port.and_then(dash_none) {
            None => None,
            Some(p) => Some(parse_i32(p, "client port")?),
        },
        field_count,
    })
}

/// Where the fields of a line are: the first ten fields from the left, and the last
/// `RIGHT` spaces from the right. Only the spaces around those are visited (SIMD memchr
/// from each end); the agent's inner spaces, often thirty of them, never are.
struct Fields {
    starts: [usize; 10],
    ends: [usize; 10],
    /// Spaces after field 10, from the right: `right_spaces[0]` is the last one.
    right_spaces: [usize; RIGHT],
    /// How many of `right_spaces` were found.
    right_count: usize,
    len: usize,
}

const RIGHT: usize = 6;

impl Fields {
    #[inline]
    fn split(line: &str) -> Result<Fields, Reject> {
        let bytes = line.as_bytes();
        let mut f = Fields {
            starts: [0; 10],
            ends: [0; 10],
            right_spaces: [0; RIGHT],
            right_count: 0,
            len: line.len(),
        };
        let mut from_left = memchr::memchr_iter(b' ', bytes);
        for i in 0..10 {
            let pos = from_left.next().ok_or(Reject::TooFewFields)?;
            f.ends[i] = pos;
            if i + 1 < 10 {
                f.starts[i + 1] = pos + 1;
            }
        }
        let after_left = f.ends[9];
        for pos in memchr::memrchr_iter(b' ', bytes).take(RIGHT) {
            if pos <= after_left {
                break;
            }
            f.right_spaces[f.right_count] = pos;
            f.right_count += 1;
        }
        // 15 fields: the agent, then range, method, protocol and cache after 4 spaces.
        if f.right_count < 4 {
            return Err(Reject::TooFewFields);
        }
        Ok(f)
    }

    /// Start of the `k`-th token from the right (0 = the last one), `k < right_count`.
    #[inline]
    fn right_start(&self, k: usize) -> usize {
        self.right_spaces[k] + 1
    }

    /// The `k`-th token from the right (0 = the last one), `k < right_count`.
    #[inline]
    fn right<'a>(&self, line: &'a str, k: usize) -> &'a str {
        let end = if k == 0 {
            self.len
        } else {
            self.right_spaces[k - 1]
        };
        &line[self.right_start(k)..end]
    }
}

#[inline]
fn non_empty<'a>(field: &'a str, name: &'static str) -> Result<&'a str, Reject> {
    if field.is_empty() {
        Err(Reject::EmptyField(name))
    } else {
        Ok(field)
    }
}

#[inline]
fn dash_none(field: &str) -> Option<&str> {
    (!field.is_empty() && field != "-").then_some(field)
}

#[inline]
fn unquote(agent: &str) -> (&str, bool) {
    match agent.strip_prefix('"').and_then(|a| a.strip_suffix('"')) {
        Some(inner) => (inner, true),
        None => (agent, false),
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

    const TYPICAL: &str = "20261120000242 36.45.133.22 1500020822.vod2.myqcloud.com /a1b2c3d4vodtranscq1500020822/1144961661379299507/v.f1419-46.ts?t=6affaa42&us=wxad-d97e967b6c18d982d1dcec53&sign=f22d2882d1a89b37ad0c9bb6e9526a69 1237276 1177 1046 200 - 499 AppleCoreMedia/1.0.0.21E236 (iPhone; U; CPU OS 17_4 like Mac OS X; zh_cn) - GET HTTP/2.0 hit 23765";

    #[test]
    fn every_field_of_the_typical_line() {
        let l = parse_line(TYPICAL).unwrap();
        assert_eq!(
            l.ts_ms,
            china_civil_to_unix_ms(2026, 11, 20, 0, 2, 42).unwrap()
        );
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
            ("GET", "HTTP/2.0", Cache::Hit)
        );
        assert_eq!((l.port, l.field_count), (Some(23765), 16));
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
            ("HTTP/3", Cache::Miss, None, 16)
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
        assert_eq!(
            at(&mut times, "20261120000242"),
            china_civil_to_unix_ms(2026, 11, 20, 0, 2, 42)
        );
        assert_eq!(
            at(&mut times, "20261120005959"),
            china_civil_to_unix_ms(2026, 11, 20, 0, 59, 59)
        );
        assert_eq!(
            at(&mut times, "20261120010000"),
            china_civil_to_unix_ms(2026, 11, 20, 1, 0, 0)
        );
        assert_eq!(
            at(&mut times, "20261231235960"),
            china_civil_to_unix_ms(2026, 12, 31, 23, 59, 60)
        );
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
}
