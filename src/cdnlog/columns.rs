//! The `cdn_requests` and `rejects` tables: column builders that parsed lines are pushed
//! into, turned into one Parquet row group at a time.
//!
//! Each table is declared once, as a list of columns (name, kind, and what a pushed line
//! puts in it); [`table_columns!`] writes the struct, `new`, `push` and `take` from that
//! list, so adding a column is one line here (and one in the README's schema table).
//! Column names here are the lake's public schema (README, "Output columns"); queries and
//! reports depend on them, so they change only with a note in the README.

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

/// The builder type of a column kind.
macro_rules! builder {
    (Ts) => { PrimitiveChunkedBuilder<Int64Type> };
    (I64) => { PrimitiveChunkedBuilder<Int64Type> };
    (I32) => { PrimitiveChunkedBuilder<Int32Type> };
    (Str) => { StringChunkedBuilder };
    (Bin) => { BinaryChunkedBuilder };
    // The file's name, the same on every row: no builder, filled in by `take`.
    (Source) => { () };
}

macro_rules! new_builder {
    (Source, $name:expr, $capacity:expr) => {
        ()
    };
    ($kind:ident, $name:expr, $capacity:expr) => {
        <builder!($kind)>::new($name.into(), $capacity)
    };
}

macro_rules! finish {
    (Ts, $builder:expr, $name:expr, $source:expr, $height:expr) => {
        $builder
            .finish()
            .into_datetime(TimeUnit::Milliseconds, Some(china_tz()))
            .into_column()
    };
    (Source, $builder:expr, $name:expr, $source:expr, $height:expr) => {{
        let () = $builder;
        StringChunked::full($name.into(), $source, $height).into_column()
    }};
    ($kind:ident, $builder:expr, $name:expr, $source:expr, $height:expr) => {
        $builder.finish().into_column()
    };
}

/// A table's column builders from its column list: `name: Kind = append_value(expr)` or
/// `append_option(expr)`, the expressions over the arguments of `push`; `Source` columns
/// take no value. Columns come out of `take` in the order listed.
macro_rules! table_columns {
    (
        $(#[$meta:meta])*
        pub struct $table:ident;
        push($($arg:ident: $argty:ty),*);
        $( $(#[$colmeta:meta])* $col:ident: $kind:ident $(= $how:ident($value:expr))? ),+ $(,)?
    ) => {
        $(#[$meta])*
        pub struct $table {
            capacity: usize,
            len: usize,
            $( $(#[$colmeta])* $col: builder!($kind), )+
        }

        impl $table {
            pub fn new(capacity: usize) -> Self {
                $table {
                    capacity,
                    len: 0,
                    $( $col: new_builder!($kind, stringify!($col), capacity), )+
                }
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
                $( $( self.$col.$how($value); )? )+
            }

            /// The rows pushed so far as a DataFrame; the builders start empty again.
            pub fn take(&mut self, source_file: &str) -> PolarsResult<DataFrame> {
                let full = std::mem::replace(self, $table::new(self.capacity));
                let height = full.len;
                let columns = vec![
                    $( finish!($kind, full.$col, stringify!($col), source_file, height), )+
                ];
                DataFrame::new(height, columns)
            }
        }
    };
}

table_columns! {
    /// Column builders for one row group of `cdn_requests`.
    pub struct RequestColumns;
    push(l: &LogLine<'_>, tag: &Tag<'_>, province: &str, isp: &str, line_no: u64);
    ts: Ts = append_value(l.ts_ms),
    client_ip: Str = append_value(l.client_ip),
    domain: Str = append_value(l.domain),
    path: Str = append_value(l.path),
    query: Str = append_option(l.query),
    us: Str = append_option(tag.us),
    channel: Str = append_option(tag.channel),
    bytes: I64 = append_value(l.bytes),
    province_code: I32 = append_value(l.province_code),
    province: Str = append_value(province),
    isp_code: I32 = append_value(l.isp_code),
    isp: Str = append_value(isp),
    status: I32 = append_value(l.status),
    referer: Str = append_option(l.referer),
    request_ms: I64 = append_value(l.request_ms),
    user_agent: Str = append_option(l.user_agent),
    range: Str = append_option(l.range),
    range_start: I64 = append_option(l.range_start),
    range_end: I64 = append_option(l.range_end),
    method: Str = append_option(l.method),
    protocol: Str = append_option(l.protocol),
    cache: Str = append_value(l.cache.as_str()),
    port: I32 = append_option(l.port),
    source_file: Source,
    line_no: I64 = append_value(line_no as i64),
}

table_columns! {
    /// Column builders for lines that did not parse: enough to find, explain and replay
    /// them. `raw` is the line as kept (its first bytes when it was cut at the cap);
    /// `line_length` is the full length read.
    pub struct RejectColumns;
    push(line_no: u64, reason: &str, raw: &[u8], line_length: u64);
    source_file: Source,
    line_no: I64 = append_value(line_no as i64),
    reason: Str = append_value(reason),
    line_length: I64 = append_value(line_length as i64),
    /// The line decoded as UTF-8 with invalid bytes replaced, for eyes and SQL.
    raw_text: Str = append_value(String::from_utf8_lossy(raw)),
    /// The line exactly as read (bytes, so nothing is lost when it is not UTF-8).
    raw: Bin = append_value(raw),
}
