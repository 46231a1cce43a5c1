//! The records the lake keeps beside its tables (`LAKE/_manifest/<kind>/<name>.json`):
//! what each job published, and what a report needs to know about a day's completeness.
//! Jobs write them; reports read them; both name them from here.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::sums::FileSum;

/// A record that lists the files its job published: the next publish of the same thing
/// replaces exactly those ([`super::Lake::replace`]), and readers check them against
/// the sums recorded with them ([`super::integrity`]).
pub trait Published {
    fn outputs(&self) -> &[String];
    fn set_outputs(&mut self, outputs: Vec<String>);
    /// Size and CRC-32 of each output, by its path (empty in records from before).
    fn sums(&self) -> &BTreeMap<String, FileSum>;
    fn set_sums(&mut self, sums: BTreeMap<String, FileSum>);
    /// The China days whose figures the outputs hold.
    fn dates(&self) -> Vec<NaiveDate>;
}

/// Implements [`Published`] for records with `outputs` and `sums` fields, each with how
/// its dates are found: `published_record!(MyRecord => |r| day_of(&r.date).into_iter().collect())`.
/// A platform's own day record (its folder's) uses it as the lake's do.
#[macro_export]
macro_rules! published_record {
    ($($record:ty => |$r:ident| $dates:expr),* $(,)?) => {$(
        impl $crate::lake::manifest::Published for $record {
            fn outputs(&self) -> &[String] {
                &self.outputs
            }
            fn set_outputs(&mut self, outputs: Vec<String>) {
                self.outputs = outputs;
            }
            fn sums(
                &self,
            ) -> &::std::collections::BTreeMap<String, $crate::lake::sums::FileSum> {
                &self.sums
            }
            fn set_sums(
                &mut self,
                sums: ::std::collections::BTreeMap<String, $crate::lake::sums::FileSum>,
            ) {
                self.sums = sums;
            }
            fn dates(&self) -> Vec<::chrono::NaiveDate> {
                let $r = self;
                $dates
            }
        }
    )*};
}

crate::published_record!(
    CatalogueRecord => |_r| Vec::new(),
    FileRecord => |r| {
        let mut days: Vec<NaiveDate> = r.hours.iter().filter_map(|h| day_of(h)).collect();
        days.dedup();
        days
    },
    DayOutputs => |r| day_of(&r.date).into_iter().collect(),
    UsageDayRecord => |r| day_of(&r.date).into_iter().collect(),
    RollupDayRecord => |r| day_of(&r.date).into_iter().collect(),
);

/// The date at the start of `YYYY-MM-DD…` (a record's date or hour, a manifest's name).
pub fn day_of(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()
}

/// What ingesting one file did; also its manifest record in the lake.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileRecord {
    pub source: String,
    pub source_path: String,
    pub source_size: u64,
    pub gzip: bool,
    /// The line format it was read as (`tencent-cdn`); empty in records from before.
    #[serde(default)]
    pub format: String,
    pub lines_read: u64,
    pub lines_parsed: u64,
    pub lines_rejected: u64,
    /// Uncompressed text read, line ends included.
    pub text_bytes: u64,
    /// Sum of the `bytes` field of the parsed lines.
    pub log_bytes: u64,
    /// China hours (`YYYY-MM-DD HH`) the file's requests fall in.
    pub hours: Vec<String>,
    pub outputs: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sums: BTreeMap<String, FileSum>,
    pub observed: Observed,
    pub ingested_at: String,
    pub elapsed_ms: u64,
}

/// Counts of the format variants seen in a file (DOMAIN.md marks the format partly unknown).
/// Manifests written before a counter existed read it as 0.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Observed {
    pub time_yyyymmddhhmmss: u64,
    pub time_unix_seconds: u64,
    pub lines_15_fields: u64,
    pub lines_16_fields: u64,
    pub quoted_user_agents: u64,
    pub quoted_ranges: u64,
    /// Ranges that are not one `start-end` / `start-` byte range (suffix, several, other).
    pub ranges_not_single: u64,
    /// Lines with a tab or a run of blanks between fields.
    pub irregular_separators: u64,
    /// Empty markers by spelling as written (`-`, `NULL`, `"(null)"`, …), over all fields.
    pub empty_markers: BTreeMap<String, u64>,
    pub unknown_province_codes: u64,
    pub unknown_isp_codes: u64,
    pub untagged_requests: u64,
    pub non_utf8_lines_repaired: u64,
    /// Rejected lines counted but not kept in `rejects` (over `[ingest] max_rejects_kept`).
    pub rejects_not_kept: u64,
}

impl Observed {
    pub fn add(&mut self, other: &Observed) {
        self.time_yyyymmddhhmmss += other.time_yyyymmddhhmmss;
        self.time_unix_seconds += other.time_unix_seconds;
        self.lines_15_fields += other.lines_15_fields;
        self.lines_16_fields += other.lines_16_fields;
        self.quoted_user_agents += other.quoted_user_agents;
        self.quoted_ranges += other.quoted_ranges;
        self.ranges_not_single += other.ranges_not_single;
        self.irregular_separators += other.irregular_separators;
        for (marker, count) in &other.empty_markers {
            *self.empty_markers.entry(marker.clone()).or_default() += count;
        }
        self.unknown_province_codes += other.unknown_province_codes;
        self.unknown_isp_codes += other.unknown_isp_codes;
        self.untagged_requests += other.untagged_requests;
        self.non_utf8_lines_repaired += other.non_utf8_lines_repaired;
        self.rejects_not_kept += other.rejects_not_kept;
    }
}

/// What the lake holds of one China day's listed log files, written after every fetch
/// to `LAKE/_manifest/cdn_logs/DATE.json`: reports flag a day as incomplete from it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LogDayRecord {
    pub date: String,
    /// Files the API listed for the day.
    pub listed: usize,
    /// Listed files whose rows are in the lake.
    pub ingested: usize,
    /// Ingested, but fetched soon after their hour: they may still grow.
    pub provisional: usize,
    /// Listed files the lake lacks (name and why).
    pub missing: Vec<String>,
    pub checked_at: String,
    /// The `complete_after_hours` setting the fetch used (older records: the default, 3).
    #[serde(default = "default_complete_after_hours")]
    pub complete_after_hours: u64,
}

fn default_complete_after_hours() -> u64 {
    3
}

/// What every day record lists, whatever else its kind keeps (the usage series', a
/// platform's): the day, and the files it published with their sums. The damage checks
/// read any day kind as this.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DayOutputs {
    pub date: String,
    pub outputs: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sums: BTreeMap<String, FileSum>,
}

/// The manifest of one day of the usage series at one interval and query type.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct UsageDayRecord {
    pub date: String,
    pub interval_min: u32,
    pub query_type: u8,
    pub points: usize,
    pub billed_bytes: u64,
    pub fetched_at: String,
    pub outputs: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sums: BTreeMap<String, FileSum>,
}

/// What the last `fetch media` published (`LAKE/_manifest/media/catalogue.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CatalogueRecord {
    pub fetched_at: String,
    pub dramas: usize,
    pub media: usize,
    /// Media whose reply had no link to take a path prefix from.
    pub media_without_prefix: usize,
    /// Path prefixes the history knows (listed now or before).
    pub prefixes_known: usize,
    pub outputs: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sums: BTreeMap<String, FileSum>,
}

/// What a day's rollups were built from, at `_manifest/rollups/D.json`
/// ([`super::rollup`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RollupDayRecord {
    pub date: String,
    /// The parts summed (lake-relative path → size).
    pub parts: BTreeMap<String, u64>,
    /// The day's request files then (path → size): a reader checks they are still there.
    pub requests: BTreeMap<String, u64>,
    /// Rows of each day file.
    pub rows: BTreeMap<String, u64>,
    pub built_at: String,
    pub outputs: Vec<String>,
    #[serde(default)]
    pub sums: BTreeMap<String, FileSum>,
}
