//! Polyv per-video daily traffic → `LAKE/polyv_traffic/date=YYYY-MM-DD/polyv.parquet`.
//!
//! One file per China day holds every tracked video, so re-fetching a day replaces it.
//! What a value means is never blurred:
//! - Polyv answered and listed the day: its bytes.
//! - Polyv answered without a row for the day: zero (`api_row` false), because it said so.
//! - The call failed: no zero is invented. The video keeps the row an earlier fetch wrote
//!   for that day, if any; the day's manifest lists it as failed and the exit status says
//!   data is missing.
//! - The day is within Polyv's two-day lag: fetched, but `final` is false, so the next
//!   runs fetch it again.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use futures::StreamExt;
use polars::prelude::*;

use super::videos::Video;
use super::TABLE as POLYV;
use super::{DayTraffic, PolyvClient, PolyvConfig, PolyvError};
use crate::china_time;
use crate::china_time::DateRange;
use crate::lake::scope::Scope;
use crate::lake::sums::FileSum;
use crate::lake::{Lake, LakeError, ParquetOptions, SafeName};
use crate::pipeline::windows;
use serde::{Deserialize, Serialize};

/// Polyv publishes a day's traffic two days later.
pub const LAG_DAYS: u64 = 2;

/// One row of `polyv_traffic` (the day is the partition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolyvRow {
    pub vid: String,
    pub title: String,
    pub channel: String,
    pub pc_bytes: i64,
    pub mobile_bytes: i64,
    pub total_bytes: i64,
    pub is_final: bool,
    pub api_row: bool,
    pub fetched_at: String,
}

#[derive(Debug, Default)]
pub struct PolyvFetchReport {
    pub videos: usize,
    pub days: usize,
    pub rows: usize,
    pub zero_rows: usize,
    pub total_bytes: u64,
    pub provisional_days: Vec<NaiveDate>,
    pub failures: Vec<PolyvError>,
}

pub struct PolyvFetch<'a> {
    pub lake: &'a Lake,
    /// Whose videos they are.
    pub scope: Scope,
    pub client: &'a PolyvClient,
    pub videos: &'a [Video],
    pub max_days_per_request: u32,
    pub concurrency: usize,
    pub parquet: ParquetOptions,
}

impl PolyvFetch<'_> {
    pub async fn run(&self, from: NaiveDate, to: NaiveDate) -> Result<PolyvFetchReport, LakeError> {
        let today = china_time::today();
        let windows = windows(from, to, self.max_days_per_request.max(1));
        let jobs: Vec<(usize, (NaiveDate, NaiveDate))> = (0..self.videos.len())
            .flat_map(|v| windows.iter().map(move |w| (v, *w)))
            .collect();
        let results: Vec<WindowResult> = futures::stream::iter(jobs)
            .map(|(video, (start, end))| async move {
                let result = self
                    .client
                    .video_traffic(&self.videos[video].vid, start, end)
                    .await;
                WindowResult {
                    video,
                    start,
                    end,
                    result,
                }
            })
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await;

        // Per day: video → Some(traffic or zero) when Polyv answered, None when the call failed.
        let mut answered: BTreeMap<NaiveDate, BTreeMap<usize, Option<DayTraffic>>> =
            BTreeMap::new();
        let mut failed: BTreeMap<NaiveDate, BTreeSet<usize>> = BTreeMap::new();
        let mut report = PolyvFetchReport {
            videos: self.videos.len(),
            ..Default::default()
        };
        for WindowResult {
            video: v,
            start,
            end,
            result,
        } in results
        {
            match result {
                Ok(days) => {
                    let by_day: BTreeMap<NaiveDate, DayTraffic> =
                        days.into_iter().map(|d| (d.date, d)).collect();
                    for day in start.iter_days().take_while(|d| *d <= end) {
                        answered
                            .entry(day)
                            .or_default()
                            .insert(v, by_day.get(&day).copied());
                    }
                }
                Err(e) => {
                    for day in start.iter_days().take_while(|d| *d <= end) {
                        failed.entry(day).or_default().insert(v);
                    }
                    report.failures.push(e);
                }
            }
        }
        let fetched_at = china_time::now_rfc3339();
        for day in from.iter_days().take_while(|d| *d <= to) {
            let is_final = day + chrono::Days::new(LAG_DAYS) <= today;
            if !is_final {
                report.provisional_days.push(day);
            }
            let empty = BTreeMap::new();
            let no_failures = BTreeSet::new();
            let day_answers = answered.get(&day).unwrap_or(&empty);
            let day_failures = failed.get(&day).unwrap_or(&no_failures);
            self.write_day(
                day,
                is_final,
                &fetched_at,
                day_answers,
                day_failures,
                &mut report,
            )?;
            report.days += 1;
        }
        Ok(report)
    }

    fn write_day(
        &self,
        day: NaiveDate,
        is_final: bool,
        fetched_at: &str,
        answers: &BTreeMap<usize, Option<DayTraffic>>,
        failures: &BTreeSet<usize>,
        report: &mut PolyvFetchReport,
    ) -> Result<(), LakeError> {
        let path =
            self.lake
                .table_file(POLYV, &format!("date={day}"), &self.scope, "polyv.parquet");
        let manifest = self.lake.manifest_file(
            super::DAYS,
            &self.scope,
            &SafeName::sanitize(&day.to_string()),
        );
        let previous_rows = read_rows(self.lake, &path)?;
        let mut record = VideoDayRecord {
            date: day.to_string(),
            is_final,
            fetched_at: fetched_at.into(),
            ..Default::default()
        };
        let mut rows = Vec::new();
        for (v, video) in self.videos.iter().enumerate() {
            if let Some(answer) = answers.get(&v) {
                let t = answer.unwrap_or(DayTraffic {
                    date: day,
                    pc_bytes: 0,
                    mobile_bytes: 0,
                    total_bytes: 0,
                });
                report.zero_rows += answer.is_none() as usize;
                report.total_bytes += t.total_bytes;
                record.videos_ok.push(video.vid.clone());
                rows.push(PolyvRow {
                    vid: video.vid.clone(),
                    title: video.title.clone(),
                    channel: video.channel.clone(),
                    pc_bytes: t.pc_bytes as i64,
                    mobile_bytes: t.mobile_bytes as i64,
                    total_bytes: t.total_bytes as i64,
                    is_final,
                    api_row: answer.is_some(),
                    fetched_at: fetched_at.into(),
                });
            } else if failures.contains(&v) {
                record.videos_failed.push(video.vid.clone());
                if let Some(old) = previous_rows.iter().find(|r| r.vid == video.vid) {
                    record.videos_kept_previous.push(video.vid.clone());
                    rows.push(old.clone());
                }
            }
        }
        report.rows += rows.len();
        let frame = if rows.is_empty() {
            None
        } else {
            Some(
                rows_frame(&rows)
                    .and_then(|frame| self.scope.label(frame))
                    .map_err(|source| LakeError::Parquet {
                        path: path.clone(),
                        source,
                    })?,
            )
        };
        self.lake
            .replace_partition(&path, frame.as_ref(), self.parquet, &manifest, record)
            .map(|_| ())
    }
}

/// What Polyv said for one video over one window of days.
struct WindowResult {
    video: usize,
    start: NaiveDate,
    end: NaiveDate,
    result: Result<Vec<DayTraffic>, PolyvError>,
}

fn rows_frame(rows: &[PolyvRow]) -> PolarsResult<DataFrame> {
    let strings = |f: fn(&PolyvRow) -> &str| rows.iter().map(f).collect::<Vec<&str>>();
    let ints = |f: fn(&PolyvRow) -> i64| rows.iter().map(f).collect::<Vec<i64>>();
    DataFrame::new(
        rows.len(),
        vec![
            Column::new("vid".into(), strings(|r| &r.vid)),
            Column::new("title".into(), strings(|r| &r.title)),
            Column::new("channel".into(), strings(|r| &r.channel)),
            Column::new("pc_bytes".into(), ints(|r| r.pc_bytes)),
            Column::new("mobile_bytes".into(), ints(|r| r.mobile_bytes)),
            Column::new("total_bytes".into(), ints(|r| r.total_bytes)),
            Column::new(
                "final".into(),
                rows.iter().map(|r| r.is_final).collect::<Vec<bool>>(),
            ),
            Column::new(
                "api_row".into(),
                rows.iter().map(|r| r.api_row).collect::<Vec<bool>>(),
            ),
            Column::new("fetched_at".into(), strings(|r| &r.fetched_at)),
        ],
    )
}

/// The rows of a day file written earlier (none when there is no file).
fn read_rows(lake: &Lake, path: &std::path::Path) -> Result<Vec<PolyvRow>, LakeError> {
    let Some(scan) = lake.scan_file(path)? else {
        return Ok(Vec::new());
    };
    let err = |source| LakeError::Query {
        table: POLYV.into(),
        source,
    };
    let frame = scan.collect().map_err(err)?;
    let s = |name: &str| -> Result<Vec<String>, LakeError> {
        let c = frame.column(name).map_err(err)?.str().map_err(err)?.clone();
        Ok((0..c.len())
            .map(|i| c.get(i).unwrap_or("").to_string())
            .collect())
    };
    let n = |name: &str| -> Result<Vec<i64>, LakeError> {
        let c = frame.column(name).map_err(err)?.i64().map_err(err)?.clone();
        Ok((0..c.len()).map(|i| c.get(i).unwrap_or(0)).collect())
    };
    let b = |name: &str| -> Result<Vec<bool>, LakeError> {
        let c = frame
            .column(name)
            .map_err(err)?
            .bool()
            .map_err(err)?
            .clone();
        Ok((0..c.len()).map(|i| c.get(i).unwrap_or(false)).collect())
    };
    let (vid, title, channel, fetched_at) =
        (s("vid")?, s("title")?, s("channel")?, s("fetched_at")?);
    let (pc, mobile, total) = (n("pc_bytes")?, n("mobile_bytes")?, n("total_bytes")?);
    let (is_final, api_row) = (b("final")?, b("api_row")?);
    Ok((0..frame.height())
        .map(|i| PolyvRow {
            vid: vid[i].clone(),
            title: title[i].clone(),
            channel: channel[i].clone(),
            pc_bytes: pc[i],
            mobile_bytes: mobile[i],
            total_bytes: total[i],
            is_final: is_final[i],
            api_row: api_row[i],
            fetched_at: fetched_at[i].clone(),
        })
        .collect())
}

/// `fetch polyv` as one call: the videos of the mapping file (`videos`, else the
/// setting), their traffic of `from..=to` into the lake.
pub fn fetch(
    job: &crate::pipeline::Job,
    (scope, config): (&Scope, &PolyvConfig),
    days: DateRange,
    videos: Option<&std::path::Path>,
) -> Result<crate::pipeline::StepOutcome, crate::pipeline::JobError> {
    use crate::exit::Exit;
    let mut config = config.clone();
    if let Some(videos) = videos {
        config.videos = videos.to_path_buf();
    }
    let videos = crate::platforms::polyv::videos::read_videos(&config.videos)
        .map_err(|e| crate::pipeline::JobError::Setup(format!("{e:#}")))?;
    let client = PolyvClient::new(&config)?;
    let _leases = job.lake.lease_days(days, |day| {
        job.lake.unit(super::DAYS, scope, &day.to_string())
    })?;
    let fetch = PolyvFetch {
        lake: job.lake,
        scope: scope.clone(),
        client: &client,
        videos: &videos,
        max_days_per_request: config.max_days_per_request,
        concurrency: config.concurrency,
        parquet: ParquetOptions::default(),
    };
    tracing::info!(
        "fetching Polyv traffic of {} videos for {days}",
        videos.len()
    );
    let report = crate::pipeline::runtime()?.block_on(fetch.run(days.from(), days.to()))?;
    let mut outcome = crate::pipeline::StepOutcome::saying(format!(
        "polyv{}: {} videos × {} days: {} rows ({} zero: Polyv listed no traffic), {}",
        crate::platforms::accounts::of(scope),
        report.videos,
        report.days,
        report.rows,
        report.zero_rows,
        crate::table::gb(report.total_bytes as i128)
    ));
    if !report.provisional_days.is_empty() {
        let days: Vec<String> = report
            .provisional_days
            .iter()
            .map(|d| d.to_string())
            .collect();
        tracing::warn!(
            "not final yet (Polyv publishes a day {LAG_DAYS} days later): {}; marked provisional, later runs fetch them again",
            days.join(", ")
        );
        outcome.exit = Exit::NotFinal;
    }
    if !report.failures.is_empty() {
        outcome.say(format!(
            "FAILED: {} requests (earlier rows of those videos, if any, were kept):",
            report.failures.len()
        ));
        for e in &report.failures {
            outcome.say(format!("  {e}"));
        }
        outcome.exit = Exit::Incomplete;
    }
    Ok(outcome)
}

/// The record of one day of Polyv traffic (`_manifest/polyv/<date>.json`): which videos
/// are in, and how.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct VideoDayRecord {
    pub date: String,
    #[serde(rename = "final")]
    pub is_final: bool,
    pub fetched_at: String,
    pub videos_ok: Vec<String>,
    pub videos_failed: Vec<String>,
    /// Failed this time, but an earlier fetch's row was kept.
    pub videos_kept_previous: Vec<String>,
    pub outputs: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sums: BTreeMap<String, FileSum>,
}

crate::published_record!(
    VideoDayRecord => |r| crate::lake::manifest::day_of(&r.date).into_iter().collect()
);
