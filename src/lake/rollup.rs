//! Rollups: the small tables every reader of requests needs, written with the requests,
//! so that nothing downstream scans `cdn_requests` again. Their rows grow with days ×
//! channels × (buckets, directories, places), never with requests:
//!
//! - `requests_5min`: per China day, 5-minute bucket and channel: peaks and p95;
//! - `requests_by_dir`: per day, hour, channel and path directory (the media path
//!   prefix the drama attribution matches);
//! - `requests_by_place`: per day, hour, channel, domain, province, ISP, status and
//!   cache state (the library's attribution queries).
//!
//! Every row carries `platform` and `account`, then its keys, then `requests` and
//! `bytes`. Two levels, so that publishing stays per source and reading stays per day:
//!
//! ```text
//! LAKE/_rollups/date=D/<table>/<stem>.<id>.parquet     one part per source and day,
//!                                                      published with the source's rows
//! LAKE/<table>/date=D/day.parquet                      the day: its parts summed, one
//!                                                      file per table (what readers read)
//! LAKE/_manifest/rollups/D.json                        which parts (names, sizes) and
//!                                                      request files the day was built from
//! ```
//!
//! A part is an output of its source's ingest ([`super::manifest::FileRecord`]): a
//! re-ingest replaces it, a killed ingest leaves none (parts are committed before the
//! request files, and neither counts until the manifest is written). Ingest sums the
//! parts while parsing (`cdnlog::rollups`); `cdncost rollup` makes them for files ingested
//! before rollups, from their rows ([`aggregate`]). A part's name carries a write id
//! ([`part_name`]), so a re-ingested source's parts never pass for the old ones. The day
//! file is derived: [`build_day`] rebuilds it when the day's parts change (`run` and
//! `fetch logs` for the days they fetch, `cdncost rollup` on demand). A reader compares
//! the day's listing with the day's record ([`plan`]): fresh, it reads the one day file
//! per table; stale (a source ingested since), it reads the parts; request files without
//! a part (a lake written before rollups) are an error naming `cdncost rollup`, never
//! silently left out.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::NaiveDate;
use polars::prelude::*;

use super::catalogue::manifest_kind;
use super::integrity::{Damage, Depth, Problem};
pub use super::manifest::RollupDayRecord;
use super::{stage_frame, Lake, LakeError, ParquetOptions, SafeName, Scope, REQUESTS};
use super::{ACCOUNT, PLATFORM};

pub use super::catalogue::{BY_5MIN, BY_DIR, BY_PLACE};
/// Every rollup table, in the order parts are written.
pub const ROLLUPS: [&str; 3] = [BY_5MIN, BY_DIR, BY_PLACE];

/// Where the per-source parts live (a `_` directory: no engine reads it as a table).
pub const PARTS_DIR: &str = "_rollups";
/// The name of a day's file in each rollup table.
pub const DAY_FILE: &str = "day.parquet";
/// How long a day's build waits for another writer building the same day.
const DAY_BUILD_PATIENCE: std::time::Duration = std::time::Duration::from_secs(120);
/// Milliseconds in a bucket.
pub const BUCKET_MS: i64 = 300_000;

/// The keys of each rollup table after `platform` and `account` (and the hive `date`).
pub fn keys(table: &str) -> &'static [&'static str] {
    match table {
        BY_5MIN => &["bucket_start", "channel"],
        BY_DIR => &["hour", "channel", "dir"],
        _ => &[
            "hour", "channel", "domain", "province", "isp", "status", "cache",
        ],
    }
}

fn all_keys(table: &str) -> Vec<Expr> {
    [PLATFORM, ACCOUNT]
        .iter()
        .chain(keys(table))
        .map(|k| col(*k))
        .collect()
}

/// The three rollups of some `cdn_requests` rows of one China day (each scanned file
/// given its China `hour`): one row per key, sorted, `requests` and `bytes` Int64.
pub fn aggregate(requests: LazyFrame) -> [LazyFrame; 3] {
    let bucket = (col("ts").cast(DataType::Int64).floor_div(lit(BUCKET_MS)) * lit(BUCKET_MS))
        .cast(DataType::Datetime(
            TimeUnit::Milliseconds,
            Some(crate::china_time::china_tz()),
        ))
        .alias("bucket_start");
    let dir = col("path").str().extract(lit(r"^(.*/)"), 1).alias("dir");
    let measures = [
        len().cast(DataType::Int64).alias("requests"),
        col("bytes").sum().cast(DataType::Int64).alias("bytes"),
    ];
    ROLLUPS.map(|table| {
        let extra: Vec<Expr> = match table {
            BY_5MIN => vec![bucket.clone()],
            BY_DIR => vec![dir.clone()],
            _ => Vec::new(),
        };
        requests
            .clone()
            .with_columns(extra)
            .group_by(all_keys(table))
            .agg(measures.clone())
            .sort_by_exprs(all_keys(table), SortMultipleOptions::default())
    })
}

/// Parts (or days) of one rollup table summed again by their keys: what one day file holds.
fn combine(table: &str, parts: LazyFrame) -> LazyFrame {
    parts
        .group_by(all_keys(table))
        .agg([col("requests").sum(), col("bytes").sum()])
        .sort_by_exprs(all_keys(table), SortMultipleOptions::default())
}

impl Lake {
    /// `_rollups/date=D/<table>/<name>`: a source's part (`name` as its request files').
    pub fn rollup_part(&self, table: &str, date: NaiveDate, name: &str) -> PathBuf {
        self.root()
            .join(PARTS_DIR)
            .join(format!("date={date}"))
            .join(table)
            .join(name)
    }

    /// `<table>/date=D/day.parquet`: every scope's rows of the day (the keys say whose).
    pub fn rollup_day(&self, table: &str, date: NaiveDate) -> PathBuf {
        self.table_dir(table)
            .join(format!("date={date}"))
            .join(DAY_FILE)
    }

    /// The Parquet files below `rel_dir` (hidden names left out), lake-relative, with
    /// their sizes: one listing on a store.
    pub fn list_parquet(&self, rel_dir: &str) -> Result<BTreeMap<String, u64>, LakeError> {
        let listed: Vec<(String, u64)> = match self.remote() {
            Some(remote) => remote.list(rel_dir)?,
            None => super::parquet_walk(&self.root().join(rel_dir), true)
                .into_iter()
                .map(|(path, size)| (self.relative(&path), size))
                .collect(),
        };
        Ok(listed
            .into_iter()
            .filter(|(rel, _)| {
                rel.ends_with(".parquet") && !rel.split('/').any(|p| p.starts_with('.'))
            })
            .collect())
    }
}

/// What a day holds now, from two listings.
#[derive(Debug, Default)]
pub struct DayListing {
    pub date: NaiveDate,
    /// `cdn_requests/date=D/…` (path → size).
    pub requests: BTreeMap<String, u64>,
    /// `_rollups/date=D/…` (path → size).
    pub parts: BTreeMap<String, u64>,
}

fn file_name(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}

/// The source a lake file is of: a request file's name, or a part's without its write
/// id (`<stem>.parquet` for `<stem>.<id>.parquet`).
fn source_of(rel: &str) -> String {
    let name = file_name(rel);
    let stem = name.strip_suffix(".parquet").unwrap_or(name);
    match stem.rsplit_once('.') {
        Some((source, id)) if rel.starts_with(PARTS_DIR) && is_part_id(id) => {
            format!("{source}.parquet")
        }
        _ => name.to_string(),
    }
}

fn is_part_id(id: &str) -> bool {
    id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A part's file name: its source's request file name with an id new at every write
/// (`<stem>.<16 hex>.parquet`, the hex of the write's time in nanoseconds, so later writes
/// sort after earlier ones). A day built from a source's parts is then never taken for
/// one built from its re-ingested parts, whatever their sizes; and where a cut-short
/// publish left two parts of one source, readers take the later one.
pub fn part_name(request_file: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    // Strictly increasing within the process, whatever the clock's resolution.
    let id = LAST
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
            Some(now.max(last + 1))
        })
        .map_or(now, |last| now.max(last + 1));
    let stem = request_file
        .strip_suffix(".parquet")
        .unwrap_or(request_file);
    format!("{stem}.{id:016x}.parquet")
}

/// Removes the parts of `record`'s source that it does not list (a record lost or damaged
/// before this ingest could not say which files to replace).
pub fn drop_other_parts(
    lake: &Lake,
    record: &super::manifest::FileRecord,
) -> Result<(), LakeError> {
    let ours: std::collections::BTreeSet<&str> = record
        .outputs
        .iter()
        .filter(|o| o.starts_with(PARTS_DIR))
        .map(String::as_str)
        .collect();
    let dirs: std::collections::BTreeSet<&str> = ours
        .iter()
        .filter_map(|o| o.rsplit_once('/').map(|(dir, _)| dir))
        .collect();
    for dir in dirs {
        let sources: std::collections::BTreeSet<String> = ours
            .iter()
            .filter(|o| o.starts_with(dir))
            .map(|o| source_of(o))
            .collect();
        for rel in lake.list_parquet(dir)?.into_keys() {
            if !ours.contains(rel.as_str()) && sources.contains(&source_of(&rel)) {
                lake.remove_output(&rel)?;
            }
        }
    }
    Ok(())
}

impl DayListing {
    pub fn of(lake: &Lake, date: NaiveDate) -> Result<DayListing, LakeError> {
        Ok(DayListing {
            date,
            requests: lake.list_parquet(&format!("{REQUESTS}/date={date}"))?,
            parts: lake.list_parquet(&format!("{PARTS_DIR}/date={date}"))?,
        })
    }

    /// Sources (their request files' names) with request files of the day.
    fn sources(&self) -> std::collections::BTreeSet<String> {
        self.requests.keys().map(|r| source_of(r)).collect()
    }

    /// Parts of `table` whose source has request files of the day (a part left without
    /// its requests by a killed publish is not read: its source is ingested again), the
    /// latest of each source.
    pub fn parts_of(&self, table: &str) -> Vec<&str> {
        let sources = self.sources();
        let dir = format!("{PARTS_DIR}/date={}/{table}/", self.date);
        let mut latest: BTreeMap<String, &str> = BTreeMap::new();
        // Names sort by write within a source (`part_name`): the last one seen wins.
        for part in self.parts.keys().filter(|p| p.starts_with(&dir)) {
            let source = source_of(part);
            if sources.contains(&source) {
                latest.insert(source, part);
            }
        }
        latest.into_values().collect()
    }

    /// Request files whose source has no part: ingested before rollups existed.
    pub fn unrolled(&self) -> Vec<&str> {
        let dir = format!("{PARTS_DIR}/date={}/{BY_5MIN}/", self.date);
        let rolled: std::collections::BTreeSet<String> = self
            .parts
            .keys()
            .filter(|p| p.starts_with(&dir))
            .map(|p| source_of(p))
            .collect();
        self.requests
            .keys()
            .filter(|r| !rolled.contains(&source_of(r)))
            .map(String::as_str)
            .collect()
    }

    /// Whether `record` was built from exactly these parts.
    pub fn built_into(&self, record: &RollupDayRecord) -> bool {
        record.parts == self.parts
    }
}

fn day_stem(date: NaiveDate) -> SafeName {
    SafeName::exact(&date.to_string()).expect("a date is a safe name")
}

/// The record of `date`'s rollups.
pub fn day_record_path(lake: &Lake, date: NaiveDate) -> PathBuf {
    lake.manifest_file(
        manifest_kind::ROLLUP_DAYS,
        &Scope::default_of(manifest_kind::ROLLUP_DAYS.owner),
        &day_stem(date),
    )
}

/// Rebuilds `date`'s day files from its parts (under the day's lease) unless they were
/// built from these very parts; `Ok(false)` when nothing changed.
pub fn build_day(
    lake: &Lake,
    date: NaiveDate,
    options: ParquetOptions,
) -> Result<bool, RollupError> {
    let record_path = day_record_path(lake, date);
    // Short work that writers of one day's sources all end with: wait for each other.
    let unit = format!("{}/{date}", manifest_kind::ROLLUP_DAYS.name);
    let _lease = lake.lease_waiting(&unit, DAY_BUILD_PATIENCE)?;
    let listing = DayListing::of(lake, date)?;
    let previous: Option<RollupDayRecord> = lake.read_manifest(&record_path).unwrap_or(None);
    let nothing = listing.parts.is_empty() && listing.requests.is_empty();
    let current = match &previous {
        Some(r) => {
            listing.built_into(r)
                && r.requests == listing.requests
                && lake.check_outputs(r, Depth::Size).is_empty()
        }
        None => nothing,
    };
    if current {
        return Ok(false);
    }
    let mut staged = Vec::new();
    let mut rows = BTreeMap::new();
    for table in ROLLUPS {
        let parts: Vec<PathBuf> = listing
            .parts_of(table)
            .into_iter()
            .map(|rel| lake.root().join(rel))
            .collect();
        let Some(frame) = scan_files(lake, &parts)? else {
            continue;
        };
        let day =
            super::collect_streaming(combine(table, frame)).map_err(|source| LakeError::Query {
                table: table.into(),
                source,
            })?;
        rows.insert(table.to_string(), day.height() as u64);
        staged.push(stage_frame(&lake.rollup_day(table, date), &day, options)?);
    }
    let record = RollupDayRecord {
        date: date.to_string(),
        parts: listing.parts,
        requests: listing.requests,
        rows,
        built_at: crate::china_time::now_rfc3339(),
        ..Default::default()
    };
    lake.replace(staged, &record_path, record)?;
    Ok(true)
}

/// One lazy scan of some lake files (no hive columns); `None` for no file.
fn scan_files(lake: &Lake, files: &[PathBuf]) -> Result<Option<LazyFrame>, LakeError> {
    if files.is_empty() {
        return Ok(None);
    }
    let args = ScanArgsParquet {
        hive_options: HiveOptions::new_disabled(),
        cloud_options: lake.remote().map(|r| r.polars_options()),
        ..Default::default()
    };
    let paths = files
        .iter()
        .map(|p| PlRefPath::new(lake.address(p).as_str()))
        .collect();
    LazyFrame::scan_parquet_files(paths, args)
        .map(Some)
        .map_err(|source| LakeError::Parquet {
            path: files[0].clone(),
            source,
        })
}

/// What a reader gets from the rollups of a range of days.
#[derive(Default)]
pub struct RollupRead {
    /// Per table (in [`ROLLUPS`] order): every day's rows, with `date`; `None` when no
    /// day has any.
    pub frames: Vec<Option<LazyFrame>>,
    /// Request files a day's record lists that are gone or changed.
    pub damage: BTreeMap<NaiveDate, Vec<Damage>>,
    /// The same rows, day by day (for readers that go a day at a time: each day's scan
    /// then reads that day's files only).
    pub by_day: BTreeMap<NaiveDate, [Option<LazyFrame>; 3]>,
}

/// What stops rollups from being built or read.
#[derive(Debug, thiserror::Error)]
pub enum RollupError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error(transparent)]
    Busy(#[from] super::LockError),
    /// Request files with no rollup: the lake predates rollups for them.
    #[error("{count} log files of {days} days have no rollups (ingested before rollups existed; first: {first}): run `cdncost rollup --from {from} --to {to}` once")]
    Unrolled {
        count: usize,
        days: usize,
        first: String,
        from: NaiveDate,
        to: NaiveDate,
    },
}

/// Reads the rollups of `from..=to`: per day, its day files when they are whole and
/// built from the parts there now, else its parts. Two listings and one record a day.
pub fn plan(lake: &Lake, from: NaiveDate, to: NaiveDate) -> Result<RollupRead, RollupError> {
    let mut read = RollupRead::default();
    let mut per_table: [Vec<LazyFrame>; 3] = Default::default();
    let mut unrolled: Vec<(NaiveDate, String)> = Vec::new();
    for date in from.iter_days().take_while(|d| *d <= to) {
        let listing = DayListing::of(lake, date)?;
        if listing.requests.is_empty() && listing.parts.is_empty() {
            continue;
        }
        unrolled.extend(
            listing
                .unrolled()
                .into_iter()
                .map(|r| (date, r.to_string())),
        );
        let record: Option<RollupDayRecord> = lake
            .read_manifest(&day_record_path(lake, date))
            .unwrap_or(None);
        let fresh = record.as_ref().filter(|r| {
            listing.built_into(r)
                && lake
                    .check_outputs(*r, Depth::Content)
                    .into_iter()
                    .next()
                    .is_none()
        });
        if let Some(record) = &record {
            let damage = missing_requests(record, &listing);
            if !damage.is_empty() {
                read.damage.insert(date, damage);
            }
        }
        for (i, table) in ROLLUPS.iter().enumerate() {
            let files: Vec<PathBuf> = match fresh {
                Some(r) => r
                    .outputs
                    .iter()
                    .filter(|o| o.starts_with(&format!("{table}/")))
                    .map(|o| lake.root().join(o))
                    .collect(),
                None => listing
                    .parts_of(table)
                    .into_iter()
                    .map(|rel| lake.root().join(rel))
                    .collect(),
            };
            if let Some(frame) = scan_files(lake, &files)? {
                let frame = frame.with_column(lit(date).cast(DataType::Date).alias("date"));
                read.by_day.entry(date).or_default()[i] = Some(frame.clone());
                per_table[i].push(frame);
            }
        }
    }
    if let Some((first_day, first)) = unrolled.first() {
        let days: std::collections::BTreeSet<NaiveDate> = unrolled.iter().map(|u| u.0).collect();
        return Err(RollupError::Unrolled {
            count: unrolled.len(),
            days: days.len(),
            first: first.clone(),
            from: *first_day,
            to: *days.last().expect("one day at least"),
        });
    }
    read.frames = per_table
        .into_iter()
        .map(|frames| {
            (!frames.is_empty()).then(|| {
                concat(frames, UnionArgs::default())
                    .expect("scans of one table's files concatenate")
            })
        })
        .collect();
    Ok(read)
}

/// Request files `record` lists that the listing lacks or has at another size.
fn missing_requests(record: &RollupDayRecord, listing: &DayListing) -> Vec<Damage> {
    record
        .requests
        .iter()
        .filter_map(|(rel, size)| {
            let problem = match listing.requests.get(rel) {
                None => Problem::Missing,
                Some(found) if found != size => Problem::Size {
                    recorded: *size,
                    found: *found,
                },
                Some(_) => return None,
            };
            Some(Damage {
                path: rel.clone(),
                problem,
            })
        })
        .collect()
}

/// One file of `cdn_requests` as the rollups read it: keys filled for a file written
/// before they existed, and its China `hour` (a partition, not a column of the file).
fn request_rows(lake: &Lake, address: &str, hour: u32) -> Result<LazyFrame, LakeError> {
    let address = address.to_string();
    let cloud = lake.remote().map(|r| r.polars_options());
    let open = Box::new(move |args: ScanArgsParquet| {
        LazyFrame::scan_parquet(PlRefPath::new(address.as_str()), args)
    });
    let args = ScanArgsParquet {
        hive_options: HiveOptions::new_disabled(),
        cloud_options: cloud,
        ..Default::default()
    };
    super::scan_keyed(open, args, super::catalogue::owner(REQUESTS))
        .map(|frame| frame.with_column(lit(hour as i64).alias("hour")))
        .map_err(|source| LakeError::Query {
            table: REQUESTS.into(),
            source,
        })
}

/// The parts of one source, staged: `files` are its request files (where to read each,
/// and its China hour), `name` their file name (`<stem>.parquet`, scoped). One part per
/// rollup table and China day the files cover.
pub fn stage_parts(
    lake: &Lake,
    name: &str,
    files: &[(String, crate::china_time::ChinaHour)],
    options: ParquetOptions,
) -> Result<Vec<super::StagedFile>, LakeError> {
    let mut by_date: BTreeMap<NaiveDate, Vec<LazyFrame>> = BTreeMap::new();
    for (address, hour) in files {
        let rows = request_rows(lake, address, hour.hour.into())?;
        by_date.entry(hour.date()).or_default().push(rows);
    }
    let mut staged = Vec::with_capacity(by_date.len() * ROLLUPS.len());
    for (date, frames) in by_date {
        let rows = concat(frames, UnionArgs::default()).map_err(|source| LakeError::Query {
            table: REQUESTS.into(),
            source,
        })?;
        let frames = aggregate(rows);
        let tables = ROLLUPS.iter().zip(frames);
        for (table, frame) in tables {
            let part = super::collect_streaming(frame).map_err(|source| LakeError::Query {
                table: (*table).into(),
                source,
            })?;
            let path = lake.rollup_part(table, date, &part_name(name));
            staged.push(stage_frame(&path, &part, options)?);
        }
    }
    Ok(staged)
}

/// Gives a source ingested before rollups existed its parts, from its request files,
/// added to its record (under its lease). `Ok(false)` when it has them already.
pub fn backfill_source(
    lake: &Lake,
    manifest: &std::path::Path,
    options: ParquetOptions,
) -> Result<bool, RollupError> {
    let _lease = lake.lease_of_manifest(manifest)?;
    let Some(record) = lake.read_manifest::<super::manifest::FileRecord>(manifest)? else {
        return Ok(false);
    };
    if record
        .outputs
        .iter()
        .any(|o| o.starts_with(&format!("{PARTS_DIR}/")))
    {
        return Ok(false);
    }
    let mut files = Vec::new();
    let mut name = None;
    for rel in &record.outputs {
        if let Some(hour) = request_hour(rel) {
            files.push((lake.address(&lake.root().join(rel)), hour));
            name = Some(file_name(rel).to_string());
        }
    }
    let Some(name) = name else {
        return Ok(false);
    };
    let staged = stage_parts(lake, &name, &files, options)?;
    lake.add_outputs(staged, manifest, record)?;
    Ok(true)
}

/// The China hour of a request file (`cdn_requests/date=D/hour=HH/…`).
fn request_hour(rel: &str) -> Option<crate::china_time::ChinaHour> {
    let mut parts = rel.split('/');
    if parts.next()? != REQUESTS {
        return None;
    }
    let date = NaiveDate::parse_from_str(parts.next()?.strip_prefix("date=")?, "%Y-%m-%d").ok()?;
    let hour: u8 = parts.next()?.strip_prefix("hour=")?.parse().ok()?;
    (hour < 24).then(|| crate::china_time::ChinaHour {
        day: crate::china_time::day_number(date),
        hour,
    })
}

impl Lake {
    /// The first and last China day with request files (`None`: no requests).
    pub fn request_days(&self) -> Result<Option<(NaiveDate, NaiveDate)>, LakeError> {
        let days: std::collections::BTreeSet<NaiveDate> = self
            .list_parquet(REQUESTS)?
            .keys()
            .filter_map(|rel| {
                let partition = rel.split('/').nth(1)?.strip_prefix("date=")?;
                NaiveDate::parse_from_str(partition, "%Y-%m-%d").ok()
            })
            .collect();
        Ok(days.first().copied().zip(days.last().copied()))
    }
}
