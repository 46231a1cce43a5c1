//! Every table of the lake, in one place: its name, where its files go, what a row is,
//! and the labels its rows carry. Writers and readers both name tables from here, so a
//! reader (a report, a query) depends on the lake's contract, never on the job that
//! writes the table.

use super::scope::platform;

/// One request of the CDN access logs: `cdn_requests/date=D/hour=HH/<source>.parquet`.
pub const REQUESTS: &str = "cdn_requests";
/// Log lines that did not parse, byte-exact: `rejects/<source>.parquet`.
pub const REJECTS: &str = "rejects";
/// The billed usage series: `cdn_usage/interval=N/date=D/usage-q<type>.parquet`.
pub const USAGE: &str = "cdn_usage";

// The rollups of `cdn_requests` ([`super::rollup`]): `<table>/date=D/day.parquet`.
/// Requests and bytes per China day, 5-minute bucket (`bucket_start`) and channel.
pub const BY_5MIN: &str = "requests_5min";
/// Requests and bytes per China day, hour, channel and path directory (`dir`: the path
/// up to its last `/`, null when it has none).
pub const BY_DIR: &str = "requests_by_dir";
/// Requests and bytes per China day, hour, channel, domain, province, ISP, status and
/// cache state.
pub const BY_PLACE: &str = "requests_by_place";

/// How rows without a channel (no `us`, or a platform-only tag) are labelled wherever
/// channels are listed: they are counted under this row, never dropped.
pub const UNTAGGED: &str = "(untagged)";
/// The channel of billed usage that no log line explains (a day the usage series bills
/// but whose logs are not in the lake): it keeps the day's bill in the report's totals.
pub const UNATTRIBUTED: &str = "(unattributed)";

/// A label as data may carry it: ASCII parentheses become full-width ones, so no value
/// from data (a viewer's `us`, a mapping file's channel) can be one of the labels the
/// report makes, which are parenthesised: [`UNTAGGED`], [`UNATTRIBUTED`], [`UNMATCHED`],
/// `(total)`; control characters become U+FFFD (no line break in a CSV cell or a chat
/// line).
pub fn escape_label(value: &str) -> std::borrow::Cow<'_, str> {
    let needs = |c: char| c == '(' || c == ')' || c.is_ascii_control();
    if !value.contains(needs) {
        return value.into();
    }
    value
        .chars()
        .map(|c| match c {
            '(' => '（',
            ')' => '）',
            c if c.is_ascii_control() => '\u{fffd}',
            c => c,
        })
        .collect::<String>()
        .into()
}

/// A table as readers see it.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub name: &'static str,
    /// The platform whose `default` account keeps the table's old file names
    /// ([`super::scope`]); every row also names its own platform and account.
    pub owner: &'static str,
    /// The hive partition layout below the table's directory.
    pub partitions: &'static str,
    /// One row is…
    pub row: &'static str,
}

/// The lake's own tables (the platforms bring theirs, `Spec::tables` of the report), in
/// the order `cdncost query` lists them.
pub const TABLES: &[Table] = &[
    Table {
        name: REQUESTS,
        owner: platform::WECHAT,
        partitions: "date=YYYY-MM-DD/hour=HH",
        row: "one request of the CDN access logs",
    },
    Table {
        name: BY_5MIN,
        owner: platform::WECHAT,
        partitions: "date=YYYY-MM-DD",
        row: "requests and bytes of one 5-minute bucket and channel (a rollup of cdn_requests)",
    },
    Table {
        name: BY_DIR,
        owner: platform::WECHAT,
        partitions: "date=YYYY-MM-DD",
        row: "requests and bytes of one hour, channel and path directory (a rollup of cdn_requests)",
    },
    Table {
        name: BY_PLACE,
        owner: platform::WECHAT,
        partitions: "date=YYYY-MM-DD",
        row: "requests and bytes of one hour, channel, domain, province, ISP, status and cache state (a rollup of cdn_requests)",
    },
    Table {
        name: USAGE,
        owner: platform::WECHAT,
        partitions: "interval=N/date=YYYY-MM-DD",
        row: "one point of the billed usage series",
    },
    Table {
        name: MEDIA_HISTORY,
        owner: platform::WECHAT,
        partitions: "(none)",
        row: "one path prefix ever listed by the media catalogue, with its last known media",
    },
    Table {
        name: REJECTS,
        owner: platform::WECHAT,
        partitions: "(none)",
        row: "one log line that did not parse",
    },
];

/// The platform owning `table`: one of [`TABLES`]'s owner; the catalogue's `media` and
/// `dramas` are WeChat's; any other table is a platform's own, named
/// `<platform>_<what>` (`polyv_traffic`).
pub fn owner(table: &str) -> &str {
    if let Some(t) = TABLES.iter().find(|t| t.name == table) {
        return t.owner;
    }
    if [MEDIA_DIR, DRAMAS_DIR].contains(&table) {
        return platform::WECHAT;
    }
    table
        .split_once('_')
        .map_or(table, |(platform, _)| platform)
}

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

/// A kind of manifest, under `LAKE/_manifest/<name>/`, and the platform whose `default`
/// account keeps its old names (other scopes' records are under `<platform>.<account>/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    pub name: &'static str,
    pub owner: &'static str,
}

/// Kinds of manifest under `LAKE/_manifest/<kind>/`.
pub mod manifest_kind {
    use super::{platform, Kind};

    /// One record per ingested source file ([`super::super::manifest::FileRecord`]).
    pub const INGEST: Kind = Kind {
        name: "ingest",
        owner: platform::WECHAT,
    };
    /// One record per China day of listed log files ([`super::super::manifest::LogDayRecord`]).
    pub const LOG_DAYS: Kind = Kind {
        name: "cdn_logs",
        owner: platform::WECHAT,
    };
    /// One record per China day, interval and query type of the usage series
    /// ([`super::super::manifest::UsageDayRecord`]).
    pub const USAGE_DAYS: Kind = Kind {
        name: "cdn_usage",
        owner: platform::WECHAT,
    };
    /// One record per China day of rollups: the parts its day files were built from
    /// ([`super::super::manifest::RollupDayRecord`]).
    pub const ROLLUP_DAYS: Kind = Kind {
        name: "rollups",
        owner: platform::WECHAT,
    };
    /// The one record of the media catalogue ([`super::super::manifest::CatalogueRecord`]).
    pub const CATALOGUE: Kind = Kind {
        name: "media",
        owner: platform::WECHAT,
    };
}
