//! The `us` channel tag of a play URL (DOMAIN.md §2, "The `us` channel tag").
//!
//! `us=<developer tag>-<platform tag>`: the channel is the text before the **last** `-`,
//! because the developer's own tag may contain `-`. No `us`, an empty one, or one without
//! a `-` is untagged traffic: it is kept and counted under its own row, never dropped.

/// The raw (still percent-encoded) value of query parameter `name`, wherever it stands
/// in the query. The first occurrence wins.
pub fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    // Byte scan over the `&`s (SIMD via memchr): this runs once per request.
    let mut pair_start = 0;
    let ends = memchr::memchr_iter(b'&', query.as_bytes()).chain(std::iter::once(query.len()));
    for pair_end in ends {
        if let Some(rest) = query[pair_start..pair_end].strip_prefix(name) {
            if rest.is_empty() {
                return Some("");
            }
            if let Some(value) = rest.strip_prefix('=') {
                return Some(value);
            }
        }
        pair_start = pair_end + 1;
    }
    None
}

/// Percent-decodes `raw` into `out` (cleared first). Malformed escapes are kept as they are;
/// `+` stays `+`, because tags are path-safe tokens, not form text.
/// Returns false when the result is not valid UTF-8.
pub fn percent_decode_into(raw: &str, out: &mut Vec<u8>) -> bool {
    out.clear();
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex_value(bytes[i + 1]), hex_value(bytes[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    std::str::from_utf8(out).is_ok()
}

#[inline]
fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The channel of a decoded `us` value: the text before its last `-`; `None` (untagged)
/// when there is no `-` or nothing before it.
#[inline]
pub fn channel_of(us: &str) -> Option<&str> {
    // A byte search: `str::rfind` of a char walks a generic searcher, ~250 instructions a
    // call on these short strings. `-` is ASCII, so the cut is a char boundary.
    match memchr::memrchr(b'-', us.as_bytes()) {
        Some(cut) if cut > 0 => Some(&us[..cut]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(raw: &str) -> String {
        let mut out = Vec::new();
        assert!(percent_decode_into(raw, &mut out));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn finds_us_anywhere_in_query() {
        assert_eq!(
            query_param("t=6a&us=wxad-d97e&sign=f2", "us"),
            Some("wxad-d97e")
        );
        assert_eq!(query_param("us=a-b&t=1", "us"), Some("a-b"));
        assert_eq!(query_param("t=1&sign=2&us=a-b", "us"), Some("a-b"));
        assert_eq!(
            query_param("t=1&bus=x-y&sign=2", "us"),
            None,
            "bus is not us"
        );
        assert_eq!(query_param("t=1&us", "us"), Some(""));
        assert_eq!(query_param("", "us"), None);
    }

    #[test]
    fn channel_is_text_before_last_dash() {
        assert_eq!(channel_of("wxad-d97e967b6c18d982d1dcec53"), Some("wxad"));
        assert_eq!(
            channel_of("baidu-feed-3d0a270bb5a432cf86e3e726"),
            Some("baidu-feed")
        );
        assert_eq!(
            channel_of("647488c4792c15185b8fd2a6"),
            None,
            "platform tag only"
        );
        assert_eq!(channel_of("-647488c4"), None);
        assert_eq!(channel_of(""), None);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(decoded("baidu%2Dfeed-3d0a"), "baidu-feed-3d0a");
        assert_eq!(decoded("%E6%8A%96%E9%9F%B3-abc"), "抖音-abc");
        assert_eq!(decoded("50%-x"), "50%-x", "bad escape kept");
        assert_eq!(decoded("a%2"), "a%2", "short escape at end kept");
        assert_eq!(decoded("a+b-c"), "a+b-c");
        let mut out = Vec::new();
        assert!(
            !percent_decode_into("%FF-x", &mut out),
            "invalid UTF-8 is reported"
        );
    }
}
