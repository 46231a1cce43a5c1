//! The seam between a vendor's log format and the file pass: the ingest reads lines,
//! asks a [`LogFormat`] for a [`LogLine`], and does the rest (codes, channel, partitions,
//! rejects, accounting) the same for every format. A second vendor's format (Aliyun,
//! Volcengine) is a new type implementing the trait, in a file of its own; the file pass
//! is generic over it, so the hot path stays statically dispatched.

use super::line::{parse_line_with, LogLine, Reject, TimeParser};

/// One vendor's line format. A value lives for one file: it may keep state between lines
/// (the Tencent format caches the hour it last converted).
pub trait LogFormat: Default {
    /// A short name, for logs and manifests.
    const NAME: &'static str;
    /// Parses one line (without its line end), borrowing from it.
    fn parse<'a>(&mut self, line: &'a str) -> Result<LogLine<'a>, Reject>;
}

/// Tencent Cloud CDN offline logs: what the WeChat mini-drama media service's
/// `getcdnlogs` packages hold (DOMAIN.md §2).
#[derive(Debug, Default)]
pub struct TencentCdn {
    times: TimeParser,
}

impl LogFormat for TencentCdn {
    const NAME: &'static str = "tencent-cdn";

    #[inline]
    fn parse<'a>(&mut self, line: &'a str) -> Result<LogLine<'a>, Reject> {
        parse_line_with(line, &mut self.times)
    }
}
