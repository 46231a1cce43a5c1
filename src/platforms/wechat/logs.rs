//! Hourly CDN log files: list them (`getcdnlogs`, windows of at most 48 hours, no paging),
//! download each to `RAW/cdn_logs/date=YYYY-MM-DD/<name>.gz`, verify it, and ingest it
//! into the lake with the same code as `cdncost ingest`.
//!
//! Resumable and idempotent: `RAW/_manifest/cdn_logs/<name>.json` records each file (name,
//! domain, hour, size, sha1, lines, when fetched, status). A file fetched at least
//! `complete_after_hours` after its hour ended is *complete* and is not downloaded again;
//! an earlier one is *provisional* (the platform completes files late) and is downloaded
//! again next run: if its sha1 changed, it replaces the old file and its rows.
//! Download URLs expire in 24 hours, so they are never stored: the next run lists again.
//!
//! Hostile input is refused, never written: a `name` that is not one safe path component,
//! a `url` that is not http(s), a download over the size cap, a gzip that inflates past
//! the inflate cap or does not end cleanly.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use super::{LogFileEntry, WechatClient};
use crate::china_time::DateRange;
use crate::china_time::{self, ChinaHour};
use crate::lake::catalogue::manifest_kind;
use crate::lake::manifest::{FileRecord, LogDayRecord};
use crate::lake::{write_atomic, Lake, SafeName};
use crate::pipeline::ingest::{ingest_file, rows_in_lake, IngestOptions};
use crate::pipeline::{check_history, JobError};
use crate::progress::Progress;
use crate::sources::download::{Downloader, Verified};

pub const HISTORY_DAYS: u64 = 30;
const WINDOW_SECS: i64 = 48 * 3600;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStatus {
    /// Fetched long enough after its hour: not downloaded again.
    Complete,
    /// Fetched soon after its hour: downloaded again next run, in case it grew.
    Provisional,
}

/// The manifest record of one downloaded log file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DownloadRecord {
    pub name: String,
    pub domain: String,
    /// Start of the file's China hour (RFC 3339).
    pub hour: String,
    /// The `date` the listing gave, as given.
    pub listed_date: String,
    pub path: String,
    pub size: u64,
    pub sha1: String,
    pub lines: u64,
    pub fetched_at: String,
    pub status: FileStatus,
    /// The lake holds this version's rows.
    pub ingested: bool,
    /// The same content (sha1) as this other listed file, whose rows count it: a file
    /// listed under two names is counted once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
}

impl DownloadRecord {
    /// Its content is in the lake: under its own name, or under its twin's.
    fn counted(&self) -> bool {
        self.ingested || self.duplicate_of.is_some()
    }
}

/// Which listed file first claimed each content (sha1 → name): the files of the earlier
/// runs, then those of this run as they settle.
type Claims = std::sync::Mutex<std::collections::BTreeMap<String, String>>;

/// The name that already holds `sha1`'s rows, if not `name` itself; else `name` claims it.
fn twin_of(claims: &Claims, sha1: &str, name: &str) -> Option<String> {
    let mut claims = claims.lock().unwrap_or_else(|p| p.into_inner());
    match claims.get(sha1) {
        Some(holder) if holder != name => Some(holder.clone()),
        Some(_) => None,
        None => {
            claims.insert(sha1.to_string(), name.to_string());
            None
        }
    }
}

#[derive(Debug, Default)]
pub struct LogsReport {
    pub listed: usize,
    pub downloaded: usize,
    pub skipped_complete: usize,
    /// Complete files kept in RAW whose rows the lake lacked (a rebuilt lake).
    pub reingested_from_raw: usize,
    pub unchanged: usize,
    pub ingested: usize,
    pub bytes: u64,
    pub lines: u64,
    pub rejected_lines: u64,
    /// Entries refused as hostile or malformed (name and reason).
    pub refused: Vec<String>,
    /// Files with the same content as another listed file (counted once).
    pub duplicates: Vec<String>,
    /// Files that could not be fetched or ingested (name and reason).
    pub failures: Vec<String>,
}

impl LogsReport {
    fn add(&mut self, other: LogsReport) {
        self.listed += other.listed;
        self.downloaded += other.downloaded;
        self.skipped_complete += other.skipped_complete;
        self.reingested_from_raw += other.reingested_from_raw;
        self.unchanged += other.unchanged;
        self.ingested += other.ingested;
        self.bytes += other.bytes;
        self.lines += other.lines;
        self.rejected_lines += other.rejected_lines;
        self.refused.extend(other.refused);
        self.duplicates.extend(other.duplicates);
        self.failures.extend(other.failures);
    }
}

pub struct LogsFetch<'a> {
    pub lake: &'a Lake,
    pub raw: PathBuf,
    pub client: &'a WechatClient,
    pub query_type: u8,
    pub jobs: usize,
    pub max_download_bytes: u64,
    pub max_inflated_bytes: u64,
    pub download_deadline: std::time::Duration,
    pub complete_after_hours: u64,
    pub ingest: IngestOptions,
    pub progress: Option<&'a Progress>,
}

/// A listed file that passed the checks.
#[derive(Debug, Clone)]
struct Wanted {
    name: SafeName,
    url: String,
    hour: ChinaHour,
    hour_start: i64,
    hour_end: i64,
    listed_date: String,
}

/// The listing with each name once. A name listed again for the same file (the same
/// address but for its signature: windows overlap, links are signed per call) is one
/// entry; a name listed for two different files is ambiguous: refused, both, and named.
fn one_entry_per_name(entries: Vec<LogFileEntry>, report: &mut LogsReport) -> Vec<LogFileEntry> {
    let file_of = |e: &LogFileEntry| e.url.split('?').next().unwrap_or_default().to_string();
    let mut by_name: std::collections::BTreeMap<String, Vec<LogFileEntry>> = Default::default();
    for entry in entries {
        by_name.entry(entry.name.clone()).or_default().push(entry);
    }
    let mut kept = Vec::new();
    for (name, mut listed) in by_name {
        let first = file_of(&listed[0]);
        if listed.iter().all(|e| file_of(e) == first) {
            kept.push(listed.swap_remove(0));
        } else {
            report.refused.push(format!(
                "{name:?}: listed {} times for different files: ambiguous, refused",
                listed.len()
            ));
        }
    }
    kept
}

impl LogsFetch<'_> {
    /// The files listed for `from..=to` (China days), validated; refused entries are
    /// added to the report.
    async fn list(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        report: &mut LogsReport,
    ) -> Result<Vec<LogFileEntry>, JobError> {
        check_history(from, HISTORY_DAYS, "getcdnlogs")?;
        let start = china_time::day_start_unix(from);
        let end = china_time::day_start_unix(to + chrono::Days::new(1));
        let mut entries: Vec<LogFileEntry> = Vec::new();
        let mut window = start;
        while window < end {
            let window_end = (window + WINDOW_SECS).min(end);
            let reply = self
                .client
                .cdn_logs(window, window_end - 1, self.query_type)
                .await?;
            // The count is a cross-check: a listing shorter than its count lost files.
            if let Some(total) = reply.total_count {
                if total != reply.domestic_cdn_logs.len() as i64 {
                    return Err(JobError::Inconsistent {
                        platform: "WeChat",
                        call: "getcdnlogs",
                        detail: format!(
                            "total_count is {total} but {} files are listed for {}..{}",
                            reply.domestic_cdn_logs.len(),
                            china_time::to_china(window),
                            china_time::to_china(window_end)
                        ),
                    });
                }
            }
            entries.extend(reply.domestic_cdn_logs);
            window = window_end;
        }
        let entries = one_entry_per_name(entries, report);
        report.listed = entries.len();
        Ok(entries)
    }

    /// The whole fetch of `from..=to`: list, download and ingest what is not complete
    /// yet, then record each day. The progress (if any) learns its total from the listing.
    pub async fn run(&self, from: NaiveDate, to: NaiveDate) -> Result<LogsReport, JobError> {
        let mut report = LogsReport::default();
        let entries = self.list(from, to, &mut report).await?;
        if let Some(progress) = self.progress {
            progress.set_total(entries.len() as u64);
        }
        let (report, states) = self.fetch_listed(&entries, report).await?;
        self.record_days(from, to, &entries, &states)?;
        Ok(report)
    }

    /// Writes a [`LogDayRecord`] for every day of `from..=to`, from the listing and
    /// `states`, each listed file's download record as the fetch left it (none: refused
    /// or never downloaded).
    fn record_days(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        entries: &[LogFileEntry],
        states: &States,
    ) -> Result<(), JobError> {
        let checked_at = china_time::now_rfc3339();
        // One pass over the listing: every day of the range gets a record, also a
        // day the API listed nothing for.
        let mut days: std::collections::BTreeMap<NaiveDate, LogDayRecord> = from
            .iter_days()
            .take_while(|d| *d <= to)
            .map(|date| {
                let record = LogDayRecord {
                    date: date.to_string(),
                    checked_at: checked_at.clone(),
                    complete_after_hours: self.complete_after_hours,
                    ..LogDayRecord::default()
                };
                (date, record)
            })
            .collect();
        for entry in entries {
            let date = ChinaHour::of_unix_ms(entry.start_time * 1000).date();
            let Some(record) = days.get_mut(&date) else {
                continue;
            };
            record.listed += 1;
            match states.get(&entry.name) {
                Some(r) if r.counted() => {
                    record.ingested += 1;
                    if r.status == FileStatus::Provisional {
                        record.provisional += 1;
                    }
                }
                Some(_) => record.missing.push(format!("{}: not ingested", entry.name)),
                None => record
                    .missing
                    .push(format!("{:?}: not downloaded", entry.name)),
            }
        }
        for record in days.into_values() {
            let stem = SafeName::exact(&record.date).expect("a date is a safe name");
            let path = self
                .lake
                .manifest_file(manifest_kind::LOG_DAYS, &self.ingest.scope, &stem);
            let json = serde_json::to_vec_pretty(&record).expect("a record serializes");
            self.lake.write_record(&path, &json)?;
        }
        Ok(())
    }

    /// Downloads, verifies and ingests what [`LogsFetch::list`] returned; says what it
    /// did, and each file's download record as it left it.
    async fn fetch_listed(
        &self,
        entries: &[LogFileEntry],
        mut report: LogsReport,
    ) -> Result<(LogsReport, States), JobError> {
        let mut wanted = Vec::new();
        for entry in entries {
            match validate(entry) {
                Ok(w) => wanted.push(w),
                Err(reason) => report.refused.push(format!("{:?}: {reason}", entry.name)),
            }
        }
        // Contents the lake already holds, by the earlier records of the listed names
        // (in name order, so the same name keeps its claim run after run).
        let wanted: Vec<(Wanted, Option<DownloadRecord>)> = wanted
            .into_iter()
            .map(|w| {
                let previous = self.previous(&w);
                (w, previous)
            })
            .collect();
        let claims: Claims = Default::default();
        for (w, previous) in &wanted {
            if let Some(r) = previous.as_ref().filter(|r| r.ingested) {
                twin_of(&claims, &r.sha1, w.name.as_str());
            }
        }
        let mut todo = Vec::new();
        let mut states = States::new();
        for (w, previous) in wanted {
            if let Some(record) = &previous {
                states.insert(w.name.to_string(), record.clone());
            }
            match previous {
                Some(record)
                    if record.status == FileStatus::Complete && record.duplicate_of.is_some() =>
                {
                    report.skipped_complete += 1;
                    self.tick(0);
                }
                Some(record)
                    if record.status == FileStatus::Complete
                        && record.ingested
                        && self.raw_path(&w).exists() =>
                {
                    // Complete and kept: no download. A lake rebuilt from scratch, or
                    // that lost the file's rows, gets them again from the local copy.
                    if rows_in_lake(self.lake, &self.ingest.scope, &w.name) {
                        report.skipped_complete += 1;
                    } else if let Err(e) = self.ingest_local(&self.raw_path(&w), &mut report).await
                    {
                        report.failures.push(format!("{}: {e}", w.name));
                    } else {
                        report.reingested_from_raw += 1;
                    }
                    self.tick(0);
                }
                previous => todo.push((w, previous)),
            }
        }
        // Each file is downloaded, verified and ingested in one task, so ingesting one
        // file overlaps downloading the next; ingests (CPU work) are capped at the cores.
        let ingest_slots = tokio::sync::Semaphore::new(
            std::thread::available_parallelism().map_or(1, |n| n.get()),
        );
        let parts: Vec<(LogsReport, String, Option<DownloadRecord>)> = futures::stream::iter(todo)
            .map(|(w, previous)| {
                let (slots, claims) = (&ingest_slots, &claims);
                async move {
                    let mut part = LogsReport::default();
                    let mut state = None;
                    match self.download(&w).await {
                        Ok(verified) => {
                            part.downloaded += 1;
                            part.bytes += verified.size;
                            let _slot = slots.acquire().await;
                            let settled = self.settle(&w, previous, verified, claims, &mut part);
                            match settled.await {
                                Ok(record) => state = Some(record),
                                Err(e) => part.failures.push(format!("{}: {e}", w.name)),
                            }
                        }
                        Err(e) => part.failures.push(format!("{}: {e}", w.name)),
                    }
                    self.tick(part.bytes);
                    (part, w.name.to_string(), state)
                }
            })
            .buffer_unordered(self.jobs.max(1))
            .collect()
            .await;
        for (part, name, state) in parts {
            report.add(part);
            // A failed settle leaves the earlier record in place, and so its state.
            if let Some(record) = state {
                states.insert(name, record);
            }
        }
        report.failures.sort();
        Ok((report, states))
    }

    fn tick(&self, bytes: u64) {
        if let Some(p) = self.progress {
            p.item_done(bytes);
        }
    }

    fn raw_path(&self, w: &Wanted) -> PathBuf {
        self.raw
            .join("cdn_logs")
            .join(format!("date={}", w.hour.date()))
            .join(format!("{}.gz", w.name))
    }

    fn manifest_path(&self, name: &SafeName) -> PathBuf {
        self.raw
            .join("_manifest")
            .join("cdn_logs")
            .join(format!("{name}.json"))
    }

    fn previous(&self, w: &Wanted) -> Option<DownloadRecord> {
        serde_json::from_slice(&std::fs::read(self.manifest_path(&w.name)).ok()?).ok()
    }

    /// Downloads and verifies one file into a temporary name beside its final place.
    async fn download(&self, w: &Wanted) -> Result<Verified, String> {
        let dest = self.raw_path(w);
        let dir = dest.parent().expect("raw paths have a directory");
        crate::lake::make_dir(dir).map_err(|e| e.to_string())?;
        let temp = dir.join(format!(".{}.gz.{}.tmp", w.name, std::process::id()));
        let downloader = Downloader {
            http: self.client.http(),
            retry: self.client.retry_policy(),
            max_download_bytes: self.max_download_bytes,
            max_inflated_bytes: self.max_inflated_bytes,
            deadline: self.download_deadline,
            progress: self.progress,
        };
        downloader
            .fetch_gzip(&w.url, &temp, &format!("download {}", w.name))
            .await
    }

    /// Ingests a downloaded file (off the async threads: it is CPU work).
    async fn ingest_local(&self, path: &Path, report: &mut LogsReport) -> Result<(), String> {
        let (lake, options, path) = (self.lake.clone(), self.ingest.clone(), path.to_path_buf());
        let ingested = tokio::task::spawn_blocking(move || ingest_file(&lake, &path, &options))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        report.ingested += 1;
        report.lines += ingested.lines_read;
        report.rejected_lines += ingested.lines_rejected;
        Ok(())
    }

    /// Publishes a verified download (or drops it when unchanged), ingests it, and
    /// records it in the manifest; returns the record.
    async fn settle(
        &self,
        w: &Wanted,
        previous: Option<DownloadRecord>,
        v: Verified,
        claims: &Claims,
        report: &mut LogsReport,
    ) -> Result<DownloadRecord, String> {
        let dest = self.raw_path(w);
        let now = chrono::Utc::now().timestamp();
        let status = if now >= w.hour_end + self.complete_after_hours as i64 * 3600 {
            FileStatus::Complete
        } else {
            FileStatus::Provisional
        };
        let unchanged = previous
            .as_ref()
            .is_some_and(|p| p.sha1 == v.sha1 && p.ingested)
            && dest.exists()
            && rows_in_lake(self.lake, &self.ingest.scope, &w.name);
        let mut record = DownloadRecord {
            name: w.name.to_string(),
            domain: domain_of(w.name.as_str()),
            hour: china_time::to_china(w.hour_start).to_rfc3339(),
            listed_date: w.listed_date.clone(),
            path: dest.display().to_string(),
            size: v.size,
            sha1: v.sha1.clone(),
            lines: v.lines,
            fetched_at: china_time::to_china(now).to_rfc3339(),
            status,
            ingested: false,
            duplicate_of: None,
        };
        if let Some(twin) = twin_of(claims, &v.sha1, w.name.as_str()) {
            // Its rows are in already, under the twin's name: not ingested twice (and
            // out again if an earlier run ingested them under this name).
            let _ = std::fs::remove_file(&v.temp);
            let _ = std::fs::remove_file(&dest);
            if previous.as_ref().is_some_and(|p| p.ingested) {
                let manifest =
                    self.lake
                        .manifest_file(manifest_kind::INGEST, &self.ingest.scope, &w.name);
                self.lake
                    .withdraw::<FileRecord>(&manifest)
                    .map_err(|e| e.to_string())?;
            }
            report
                .duplicates
                .push(format!("{}: the same content as {twin}", w.name));
            record.duplicate_of = Some(twin);
        } else if unchanged {
            let _ = std::fs::remove_file(&v.temp);
            report.unchanged += 1;
            record.ingested = true;
        } else {
            std::fs::rename(&v.temp, &dest).map_err(|e| format!("{}: {e}", dest.display()))?;
            if previous.is_some() {
                tracing::info!(
                    "{} changed since it was last fetched: replacing its rows",
                    w.name
                );
            }
            self.ingest_local(&dest, report).await?;
            record.ingested = true;
        }
        let json = serde_json::to_vec_pretty(&record).map_err(|e| e.to_string())?;
        write_atomic(&self.manifest_path(&w.name), &json).map_err(|e| e.to_string())?;
        Ok(record)
    }
}

/// Each listed file's download record as a fetch left it, by name.
type States = std::collections::BTreeMap<String, DownloadRecord>;

/// `2024032819-1500020822.vod2.myqcloud.com-mainland` → `1500020822.vod2.myqcloud.com`.
fn domain_of(name: &str) -> String {
    let rest = name.split_once('-').map_or(name, |(_, r)| r);
    rest.rsplit_once('-').map_or(rest, |(d, _)| d).to_string()
}

/// Checks a listed entry before anything is written for it.
fn validate(entry: &LogFileEntry) -> Result<Wanted, String> {
    let name = SafeName::exact(&entry.name).ok_or(
        "the name is not a single safe file name (letters, digits, '.', '_', '-'): refused",
    )?;
    let url = reqwest::Url::parse(&entry.url)
        .map_err(|e| format!("the url does not parse ({e}): refused"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "the url scheme '{}' is not http(s): refused",
            url.scheme()
        ));
    }
    if entry.end_time <= entry.start_time {
        return Err("end_time is not after start_time".into());
    }
    Ok(Wanted {
        name,
        url: entry.url.clone(),
        hour: ChinaHour::of_unix_ms(entry.start_time * 1000),
        hour_start: entry.start_time,
        hour_end: entry.end_time,
        listed_date: entry.date.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, url: &str) -> LogFileEntry {
        LogFileEntry {
            date: "2024-03-28".into(),
            name: name.into(),
            url: url.into(),
            start_time: 1_711_623_600,
            end_time: 1_711_627_200,
        }
    }

    #[test]
    fn hostile_entries_are_refused() {
        assert!(validate(&entry(
            "2024032819-1500020822.vod2.myqcloud.com-mainland",
            "https://x/y?sign=1"
        ))
        .is_ok());
        for name in ["../../etc/passwd", "a/b", "..", ".hidden", "a\0b", ""] {
            assert!(validate(&entry(name, "https://x/y")).is_err(), "{name:?}");
        }
        assert!(validate(&entry("ok", "file:///etc/passwd"))
            .unwrap_err()
            .contains("scheme"));
        assert!(validate(&entry("ok", "not a url")).is_err());
    }

    #[test]
    fn hour_and_domain_from_the_documented_example() {
        let w = validate(&entry(
            "2024032819-1500020822.vod2.myqcloud.com-mainland",
            "https://x/y",
        ))
        .unwrap();
        assert_eq!(
            (w.hour.date().to_string(), w.hour.hour),
            ("2024-03-28".to_string(), 19)
        );
        assert_eq!(
            domain_of("2024032819-1500020822.vod2.myqcloud.com-mainland"),
            "1500020822.vod2.myqcloud.com"
        );
    }
}

/// Where an account's downloads are kept under the raw directory: the directory itself
/// for the `default` account (as before accounts), `RAW/<platform>.<account>/` for any
/// other, so two mini-programs' files of the same name never meet.
pub fn raw_of(raw: &std::path::Path, scope: &crate::lake::Scope) -> PathBuf {
    match scope.tag_in(super::NAME) {
        None => raw.to_path_buf(),
        Some(tag) => raw.join(tag),
    }
}

/// What `fetch logs` is asked for beyond the days.
#[derive(Debug, Clone, Default)]
pub struct LogsRequest {
    pub query_type: u8,
    /// Where downloads are kept [default: the `raw_dir` setting].
    pub raw: Option<PathBuf>,
    /// Downloads at once [default: the `download_jobs` setting].
    pub jobs: Option<usize>,
}

/// `fetch logs` as one call: list, download, verify and ingest `from..=to`, record the
/// days, and say what happened.
pub fn fetch(
    job: &crate::pipeline::Job,
    (scope, settings): super::AccountSettings,
    days: DateRange,
    request: &LogsRequest,
) -> Result<crate::pipeline::StepOutcome, crate::pipeline::JobError> {
    let client = WechatClient::new(settings)?;
    let config = &job.config.logs;
    let raw = raw_of(
        &request
            .raw
            .clone()
            .unwrap_or_else(|| config.raw_dir.clone()),
        scope,
    );
    // What this job writes: the days' log records and the sources listed for them.
    let mut ingest = crate::pipeline::ingest::IngestOptions::from_config(&job.config.ingest);
    ingest.scope = scope.clone();
    let _leases = job.lake.lease_days(days, |day| {
        job.lake
            .unit(manifest_kind::LOG_DAYS, &ingest.scope, &day.to_string())
    })?;
    crate::pipeline::sweep_temporaries(&[job.lake.root(), &raw]);
    let progress = Progress::new(job.progress, "logs", 0);
    let fetch = LogsFetch {
        lake: job.lake,
        raw: raw.clone(),
        client: &client,
        query_type: request.query_type,
        jobs: request.jobs.unwrap_or(config.download_jobs),
        max_download_bytes: config.max_download_bytes,
        max_inflated_bytes: config.max_inflated_bytes,
        download_deadline: std::time::Duration::from_secs(config.download_deadline_secs),
        complete_after_hours: config.complete_after_hours,
        ingest,
        progress: Some(&progress),
    };
    let ingest_parquet = fetch.ingest.parquet;
    let report = crate::pipeline::runtime()?.block_on(fetch.run(days.from(), days.to()));
    progress.finish();
    let report = report?;
    // The days fetched get their day rollups built from the new parts (should it fail,
    // readers read the parts, and the next run builds them).
    let fetched: Vec<chrono::NaiveDate> = days
        .from()
        .iter_days()
        .take_while(|d| *d <= days.to())
        .collect();
    let mut rolled = crate::pipeline::rollup::RollupOutcome::default();
    match crate::pipeline::rollup::build_days(job.lake, &fetched, ingest_parquet, &mut rolled) {
        Ok(()) => tracing::info!("{}", rolled.line()),
        Err(e) => tracing::warn!(
            "rollups of {days}: {e}; reports read the parts until the next run builds them"
        ),
    }
    let mut outcome = crate::pipeline::StepOutcome {
        files: report.listed,
        downloaded: report.downloaded,
        lines: report.lines,
        rejected: report.rejected_lines,
        ..Default::default()
    };
    outcome.say(format!(
        "logs{}: {} files listed: {} downloaded ({:.1} MB), {} complete and skipped, {} unchanged; {} ingested: {} lines, {} rejected",
        crate::platforms::accounts::of(scope),
        report.listed,
        report.downloaded,
        report.bytes as f64 / 1e6,
        report.skipped_complete,
        report.unchanged,
        report.ingested,
        report.lines,
        report.rejected_lines
    ));
    if report.reingested_from_raw > 0 {
        outcome.say(format!(
            "{} complete files were ingested again from {} (the lake lacked their rows)",
            report.reingested_from_raw,
            raw.display()
        ));
    }
    for refused in &report.refused {
        outcome.say(format!("REFUSED listing entry {refused}"));
    }
    if !report.duplicates.is_empty() {
        for duplicate in &report.duplicates {
            tracing::warn!("listed twice under two names: {duplicate}");
        }
        outcome.say(format!(
            "{} listed files have the same content (sha1) as another listed file: counted once",
            report.duplicates.len()
        ));
    }
    for failure in &report.failures {
        outcome.say(format!("FAILED {failure}"));
    }
    if !report.refused.is_empty() || !report.failures.is_empty() {
        outcome.say(format!(
            "{} files missing: run again to retry them (nothing was half-written)",
            report.refused.len() + report.failures.len()
        ));
        outcome.exit = crate::exit::Exit::Incomplete;
    }
    Ok(outcome)
}
