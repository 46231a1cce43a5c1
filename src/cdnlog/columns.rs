//! The `cdn_requests` and `rejects` tables: column builders that parsed lines are pushed
//! into, turned into one Parquet row group at a time.
//!
//! Column names here are the lake's public schema (README, "Output columns"); queries
//! and reports depend on them, so they change only with a note in the README.

use polars::prelude::*;

use super::line::LogLine;
use crate::china_time::china_tz;

/// The decoded channel fields that come with a line.
pub struct Tag<'a> {
    /// Decoded `us` value, `None` when the URL has none.
    pub us: Option<&'a str>,
    /// Channel (text before the last `-` of `us`), `None` when untagged.
    pub channel: Option<&'a str>,
}

/// Column builders for one row group of `cdn_requests`.
pub struct RequestColumns {
    capacity: usize,
    len: usize,
    ts: PrimitiveChunkedBuilder<Int64Type>,
    client_ip: StringChunkedBuilder,
    domain: StringChunkedBuilder,
    path: StringChunkedBuilder,
    query: StringChunkedBuilder,
    us: StringChunkedBuilder,
    channel: StringChunkedBuilder,
    bytes: PrimitiveChunkedBuilder<Int64Type>,
    province_code: PrimitiveChunkedBuilder<Int32Type>,
    province: StringChunkedBuilder,
    isp_code: PrimitiveChunkedBuilder<Int32Type>,
    isp: StringChunkedBuilder,
    status: PrimitiveChunkedBuilder<Int32Type>,
    referer: StringChunkedBuilder,
    request_ms: PrimitiveChunkedBuilder<Int64Type>,
    user_agent: StringChunkedBuilder,
    range: StringChunkedBuilder,
    range_start: PrimitiveChunkedBuilder<Int64Type>,
    range_end: PrimitiveChunkedBuilder<Int64Type>,
    method: StringChunkedBuilder,
    protocol: StringChunkedBuilder,
    cache: StringChunkedBuilder,
    port: PrimitiveChunkedBuilder<Int32Type>,
    line_no: PrimitiveChunkedBuilder<Int64Type>,
}

fn s(name: &str, capacity: usize) -> StringChunkedBuilder {
    StringChunkedBuilder::new(name.into(), capacity)
}

fn p<T: PolarsNumericType>(name: &str, capacity: usize) -> PrimitiveChunkedBuilder<T> {
    PrimitiveChunkedBuilder::new(name.into(), capacity)
}

impl RequestColumns {
    pub fn new(capacity: usize) -> Self {
        RequestColumns {
            capacity,
            len: 0,
            ts: p("ts", capacity),
            client_ip: s("client_ip", capacity),
            domain: s("domain", capacity),
            path: s("path", capacity),
            query: s("query", capacity),
            us: s("us", capacity),
            channel: s("channel", capacity),
            bytes: p("bytes", capacity),
            province_code: p("province_code", capacity),
            province: s("province", capacity),
            isp_code: p("isp_code", capacity),
            isp: s("isp", capacity),
            status: p("status", capacity),
            referer: s("referer", capacity),
            request_ms: p("request_ms", capacity),
            user_agent: s("user_agent", capacity),
            range: s("range", capacity),
            range_start: p("range_start", capacity),
            range_end: p("range_end", capacity),
            method: s("method", capacity),
            protocol: s("protocol", capacity),
            cache: s("cache", capacity),
            port: p("port", capacity),
            line_no: p("line_no", capacity),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    pub fn push(
        &mut self,
        l: &LogLine<'_>,
        tag: &Tag<'_>,
        province: &str,
        isp: &str,
        line_no: u64,
    ) {
        self.len += 1;
        self.ts.append_value(l.ts_ms);
        self.client_ip.append_value(l.client_ip);
        self.domain.append_value(l.domain);
        self.path.append_value(l.path);
        self.query.append_option(l.query);
        self.us.append_option(tag.us);
        self.channel.append_option(tag.channel);
        self.bytes.append_value(l.bytes);
        self.province_code.append_value(l.province_code);
        self.province.append_value(province);
        self.isp_code.append_value(l.isp_code);
        self.isp.append_value(isp);
        self.status.append_value(l.status);
        self.referer.append_option(l.referer);
        self.request_ms.append_value(l.request_ms);
        self.user_agent.append_option(l.user_agent);
        self.range.append_option(l.range);
        self.range_start.append_option(l.range_start);
        self.range_end.append_option(l.range_end);
        self.method.append_option(l.method);
        self.protocol.append_option(l.protocol);
        self.cache.append_value(l.cache.as_str());
        self.port.append_option(l.port);
        self.line_no.append_value(line_no as i64);
    }

    /// The rows pushed so far as a DataFrame; the builders start empty again.
    pub fn take(&mut self, source_file: &str) -> PolarsResult<DataFrame> {
        let full = std::mem::replace(self, RequestColumns::new(self.capacity));
        let height = full.len;
        let ts = full
            .ts
            .finish()
            .into_datetime(TimeUnit::Milliseconds, Some(china_tz()));
        let columns = vec![
            ts.into_column(),
            full.client_ip.finish().into_column(),
            full.domain.finish().into_column(),
            full.path.finish().into_column(),
            full.query.finish().into_column(),
            full.us.finish().into_column(),
            full.channel.finish().into_column(),
            full.bytes.finish().into_column(),
            full.province_code.finish().into_column(),
            full.province.finish().into_column(),
            full.isp_code.finish().into_column(),
            full.isp.finish().into_column(),
            full.status.finish().into_column(),
            full.referer.finish().into_column(),
            full.request_ms.finish().into_column(),
            full.user_agent.finish().into_column(),
            full.range.finish().into_column(),
            full.range_start.finish().into_column(),
            full.range_end.finish().into_column(),
            full.method.finish().into_column(),
            full.protocol.finish().into_column(),
            full.cache.finish().into_column(),
            full.port.finish().into_column(),
            StringChunked::full("source_file".into(), source_file, height).into_column(),
            full.line_no.finish().into_column(),
        ];
        DataFrame::new(height, columns)
    }
}

/// Column builders for lines that did not parse: enough to find, explain and replay them.
pub struct RejectColumns {
    capacity: usize,
    len: usize,
    line_no: PrimitiveChunkedBuilder<Int64Type>,
    reason: StringChunkedBuilder,
    /// The line exactly as read (bytes, so nothing is lost when it is not UTF-8).
    raw: BinaryChunkedBuilder,
    /// The same, decoded as UTF-8 with invalid bytes replaced, for eyes and SQL.
    raw_text: StringChunkedBuilder,
    line_length: PrimitiveChunkedBuilder<Int64Type>,
}

impl RejectColumns {
    pub fn new(capacity: usize) -> Self {
        RejectColumns {
            capacity,
            len: 0,
            line_no: p("line_no", capacity),
            reason: s("reason", capacity),
            raw: BinaryChunkedBuilder::new("raw".into(), capacity),
            raw_text: s("raw_text", capacity),
            line_length: p("line_length", capacity),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `raw` is the line as kept (its first bytes when it was cut at the cap);
    /// `line_length` is the full length read.
    pub fn push(&mut self, line_no: u64, reason: &str, raw: &[u8], line_length: u64) {
        self.len += 1;
        self.line_no.append_value(line_no as i64);
        self.reason.append_value(reason);
        self.raw.append_value(raw);
        self.raw_text.append_value(String::from_utf8_lossy(raw));
        self.line_length.append_value(line_length as i64);
    }

    pub fn take(&mut self, source_file: &str) -> PolarsResult<DataFrame> {
        let full = std::mem::replace(self, RejectColumns::new(self.capacity));
        let height = full.len;
        DataFrame::new(
            height,
            vec![
                StringChunked::full("source_file".into(), source_file, height).into_column(),
                full.line_no.finish().into_column(),
                full.reason.finish().into_column(),
                full.line_length.finish().into_column(),
                full.raw_text.finish().into_column(),
                full.raw.finish().into_column(),
            ],
        )
    }
}
