//! The seam between a vendor's log format and the file pass: the ingest reads lines,
//! asks a [`LogFormat`] for a [`LogLine`], and does the rest (codes, channel, partitions,
//! rejects, accounting) the same for every format. A second vendor's format (Aliyun,
//! Volcengine) is a new type implementing the trait, in a file of its own; the file pass
//! is generic over it, so the hot path stays statically dispatched.

use super::line::{LineParser, LogLine, Reject};
use super::reader::Line;

/// One vendor's line format. A value lives for one file: it may keep state between lines
/// (the Tencent format caches the hour it last converted).
pub trait LogFormat: Default {
    /// A short name, for logs and manifests.
    const NAME: &'static str;
    /// Parses one line (without its line end), borrowing from it.
    fn parse<'a>(&mut self, line: &'a str) -> Result<LogLine<'a>, Reject>;

    /// Parses a line as the reader hands it out, `None` when it is not UTF-8 (the file
    /// pass then repairs it and calls [`LogFormat::parse`]). A format overrides this when
    /// it can use the reader's structural masks.
    #[inline]
    fn parse_read<'a>(&mut self, line: &Line<'a>) -> Option<Result<LogLine<'a>, Reject>> {
        std::str::from_utf8(line.bytes)
            .ok()
            .map(|text| self.parse(text))
    }
}

/// Tencent Cloud CDN offline logs: what the WeChat mini-drama media service's
/// `getcdnlogs` packages hold (DOMAIN.md §2).
#[derive(Default)]
pub struct TencentCdn {
    lines: LineParser,
}

impl LogFormat for TencentCdn {
    const NAME: &'static str = "tencent-cdn";

    #[inline]
    fn parse<'a>(&mut self, line: &'a str) -> Result<LogLine<'a>, Reject> {
        self.lines.parse(line)
    }

    #[inline]
    fn parse_read<'a>(&mut self, line: &Line<'a>) -> Option<Result<LogLine<'a>, Reject>> {
        self.lines.parse_read(line)
    }
}
