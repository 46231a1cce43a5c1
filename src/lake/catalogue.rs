//! Every table of the lake, in one place: its name, where its files go, what a row is,
//! and the labels its rows carry. Writers and readers both name tables from here, so a
//! reader (a report, a query) depends on the lake's contract, never on the job that
//! writes the table.

/// One request of the CDN access logs: `cdn_requests/date=D/hour=HH/<source>.parquet`.
pub const REQUESTS: &str = "cdn_requests";
/// Log lines that did not parse, byte-exact: `rejects/<source>.parquet`.
pub const REJECTS: &str = "rejects";
/// The billed usage series: `cdn_usage/interval=N/date=D/usage-q<type>.parquet`.
pub const USAGE: &str = "cdn_usage";
/// Polyv's per-video daily traffic: `polyv_traffic/date=D/polyv.parquet`.
pub const POLYV: &str = "polyv_traffic";

/// How rows without a channel (no `us`, or a platform-only tag) are labelled wherever
/// channels are listed: they are counted under this row, never dropped.
pub const UNTAGGED: &str = "(untagged)";
/// The channel of billed usage that no log line explains (a day the usage series bills
/// but whose logs are not in the lake): it keeps the day's bill in the report's totals.
pub const UNATTRIBUTED: &str = "(unattributed)";

/// A table as readers see it.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub name: &'static str,
    /// The hive partition layout below the table's directory.
    pub partitions: &'static str,
    /// One row is…
    pub row: &'static str,
}

/// Every table of the lake, in the order `cdncost query --list` shows them.
pub const TABLES: &[Table] = &[
    Table {
        name: REQUESTS,
        partitions: "date=YYYY-MM-DD/hour=HH",
        row: "one request of the CDN access logs",
    },
    Table {
        name: USAGE,
        partitions: "interval=N/date=YYYY-MM-DD",
        row: "one point of the billed usage series",
    },
    Table {
        name: POLYV,
        partitions: "date=YYYY-MM-DD",
        row: "one Polyv video's traffic on one day",
    },
    Table {
        name: MEDIA_HISTORY,
        partitions: "(none)",
        row: "one path prefix ever listed by the media catalogue, with its last known media",
    },
    Table {
        name: REJECTS,
        partitions: "(none)",
        row: "one log line that did not parse",
    },
];

/// The media catalogue (`fetch media`): the latest listing, replaced whole, one row per
/// media: `media/media.parquet`.
pub const MEDIA_DIR: &str = "media";
/// The same listing, one row per drama: `dramas/dramas.parquet`. A table of its own
/// directory, as every table is: engines read a directory as one table, and two schemas
/// in one (as `media/` once held) is an error to DuckDB and polars.
pub const DRAMAS_DIR: &str = "dramas";
/// Every path prefix ever listed, with its last known media (`LAKE/media_history/`).
pub const MEDIA_HISTORY: &str = "media_history";
/// Requests whose path matches no media the catalogue ever listed.
pub const UNMATCHED: &str = "(unmatched)";

/// Kinds of manifest under `LAKE/_manifest/<kind>/`.
pub mod manifest_kind {
    /// One record per ingested source file ([`super::super::manifest::FileRecord`]).
    pub const INGEST: &str = "ingest";
    /// One record per China day of listed log files ([`super::super::manifest::LogDayRecord`]).
    pub const LOG_DAYS: &str = "cdn_logs";
    /// One record per China day of Polyv traffic ([`super::super::manifest::PolyvDayRecord`]).
    pub const POLYV_DAYS: &str = "polyv";
    /// One record per China day, interval and query type of the usage series
    /// ([`super::super::manifest::UsageDayRecord`]).
    pub const USAGE_DAYS: &str = "cdn_usage";
    /// The one record of the media catalogue ([`super::super::manifest::CatalogueRecord`]).
    pub const CATALOGUE: &str = "media";
}
