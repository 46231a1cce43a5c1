//! The billed usage series (`getcdnusagedata`) →
//! `LAKE/cdn_usage/interval=N/date=YYYY-MM-DD/usage-q<query_type>.parquet`.
//!
//! One file per China day, interval and query type, so re-fetching a day replaces it.
//! Ranges longer than the API's 90 days are split; ranges older than its 365 days of
//! history are refused before any call. A day the API returns no points for gets no
//! file, and its manifest says so: reports then show the usage as missing, not zero.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use polars::prelude::*;

use super::WechatClient;
use crate::china_time::china_tz;
use crate::china_time::DateRange;
use crate::china_time::{self, ChinaHour};
use crate::lake::catalogue::manifest_kind;
use crate::lake::manifest::UsageDayRecord;
use crate::lake::scope::Scope;
use crate::lake::{Lake, LakeError, ParquetOptions, SafeName, USAGE};
use crate::pipeline::{check_history, windows, JobError};

pub const MAX_SPAN_DAYS: u32 = 90;
/// The most bytes one point of the series may bill: 10 PB, over 260 Tbit/s for a
/// 5-minute point and far above any studio's day. A larger value is a broken reply.
pub const MAX_POINT_BYTES: u64 = 10_000_000_000_000_000;
pub const HISTORY_DAYS: u64 = 365;
/// The daily series (minutes per point) the nightly run fetches; 5 and 60 also exist.
pub const DAILY_MIN: u32 = crate::china_time::MINUTES_PER_DAY as u32;
/// `query_type` 0: the billed traffic (the bill's own series).
pub const BILLED_TRAFFIC: u8 = 0;

#[derive(Debug, Default)]
pub struct UsageReport {
    pub days: usize,
    pub points: usize,
    pub billed_bytes: u64,
    pub empty_days: Vec<NaiveDate>,
}

pub struct UsageFetch<'a> {
    pub lake: &'a Lake,
    /// Whose usage series it is.
    pub scope: Scope,
    pub client: &'a WechatClient,
    pub interval_min: u32,
    pub query_type: u8,
    pub parquet: ParquetOptions,
}

impl UsageFetch<'_> {
    pub async fn run(&self, from: NaiveDate, to: NaiveDate) -> Result<UsageReport, JobError> {
        check_history(from, HISTORY_DAYS, "getcdnusagedata")?;
        let mut report = UsageReport::default();
        for (start, end) in windows(from, to, MAX_SPAN_DAYS) {
            let start_unix = china_time::day_start_unix(start);
            let end_unix = china_time::day_start_unix(end + chrono::Days::new(1)) - 1;
            let reply = self
                .client
                .cdn_usage(start_unix, end_unix, self.interval_min, self.query_type)
                .await?;
            // Points of another interval would be filed (and summed) as this one's.
            if let Some(answered) = reply.data_interval {
                if answered != self.interval_min as i64 {
                    return Err(JobError::Inconsistent {
                        platform: "WeChat",
                        call: "getcdnusagedata",
                        detail: format!(
                            "asked for {}-minute points of {start}..{end}, answered data_interval {answered}",
                            self.interval_min
                        ),
                    });
                }
            }
            let mut by_day: BTreeMap<NaiveDate, Vec<(i64, u64)>> = BTreeMap::new();
            for point in reply.item_list {
                if point.value > MAX_POINT_BYTES {
                    return Err(JobError::Inconsistent {
                        platform: "WeChat",
                        call: "getcdnusagedata",
                        detail: format!(
                            "the point at {} bills {} bytes, more than the {MAX_POINT_BYTES} one point can",
                            china_time::to_china(point.time),
                            point.value
                        ),
                    });
                }
                let day = ChinaHour::of_unix_ms(point.time * 1000).date();
                if day >= start && day <= end {
                    by_day
                        .entry(day)
                        .or_default()
                        .push((point.time, point.value));
                }
            }
            // Every day of the reply is checked before any is written.
            let days: Vec<(NaiveDate, Vec<(i64, u64)>)> = start
                .iter_days()
                .take_while(|d| *d <= end)
                .map(|day| {
                    Ok((
                        day,
                        distinct_points(day, by_day.remove(&day).unwrap_or_default())?,
                    ))
                })
                .collect::<Result<_, JobError>>()?;
            for (day, points) in days {
                if points.is_empty() {
                    report.empty_days.push(day);
                }
                report.points += points.len();
                report.billed_bytes += points.iter().map(|p| p.1).sum::<u64>();
                self.write_day(day, &points)?;
                report.days += 1;
            }
        }
        Ok(report)
    }

    fn write_day(&self, day: NaiveDate, points: &[(i64, u64)]) -> Result<(), LakeError> {
        let path = self.lake.table_file(
            USAGE,
            &format!("interval={}/date={day}", self.interval_min),
            &self.scope,
            &format!("usage-q{}.parquet", self.query_type),
        );
        let key = SafeName::sanitize(&format!(
            "{day}-i{}-q{}",
            self.interval_min, self.query_type
        ));
        let manifest = self
            .lake
            .manifest_file(manifest_kind::USAGE_DAYS, &self.scope, &key);
        let frame = if points.is_empty() {
            None
        } else {
            Some(
                usage_frame(points, self.interval_min, self.query_type)
                    .and_then(|frame| self.scope.label(frame))
                    .map_err(|source| LakeError::Parquet {
                        path: path.clone(),
                        source,
                    })?,
            )
        };
        let record = UsageDayRecord {
            date: day.to_string(),
            interval_min: self.interval_min,
            query_type: self.query_type,
            points: points.len(),
            billed_bytes: points.iter().map(|p| p.1).sum(),
            fetched_at: china_time::now_rfc3339(),
            outputs: Vec::new(),
            sums: Default::default(),
        };
        self.lake
            .replace_partition(&path, frame.as_ref(), self.parquet, &manifest, record)
            .map(|_| ())
    }
}

/// The day's points, each interval once. The same interval twice with the same value is
/// a repeat (kept once, with a warning); with different values the reply contradicts
/// itself, and which one is billed is unknown: an error naming the day.
fn distinct_points(
    day: NaiveDate,
    mut points: Vec<(i64, u64)>,
) -> Result<Vec<(i64, u64)>, JobError> {
    points.sort_unstable();
    let before = points.len();
    points.dedup();
    if let Some(pair) = points.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(JobError::Inconsistent {
            platform: "WeChat",
            call: "getcdnusagedata",
            detail: format!(
                "{day}: the point at {} is listed twice, billing {} and {} bytes",
                china_time::to_china(pair[0].0),
                pair[0].1,
                pair[1].1
            ),
        });
    }
    if points.len() < before {
        tracing::warn!(
            "getcdnusagedata listed {} point(s) of {day} twice with the same value: counted once",
            before - points.len()
        );
    }
    Ok(points)
}

fn usage_frame(
    points: &[(i64, u64)],
    interval_min: u32,
    query_type: u8,
) -> PolarsResult<DataFrame> {
    let mut sorted = points.to_vec();
    sorted.sort_unstable();
    let ts = Int64Chunked::from_vec("ts".into(), sorted.iter().map(|p| p.0 * 1000).collect())
        .into_datetime(TimeUnit::Milliseconds, Some(china_tz()));
    DataFrame::new(
        sorted.len(),
        vec![
            ts.into_column(),
            Column::new(
                "interval_min".into(),
                vec![interval_min as i32; sorted.len()],
            ),
            Column::new("query_type".into(), vec![query_type as i32; sorted.len()]),
            Column::new(
                "billed_bytes".into(),
                sorted.iter().map(|p| p.1 as i64).collect::<Vec<i64>>(),
            ),
        ],
    )
}

/// `fetch usage` as one call: the client from the settings (and the environment), the
/// series of `from..=to` into the lake.
pub fn fetch(
    job: &crate::pipeline::Job,
    (scope, config): super::AccountSettings,
    days: DateRange,
    interval_min: u32,
    query_type: u8,
) -> Result<crate::pipeline::StepOutcome, crate::pipeline::JobError> {
    let scope = scope.clone();
    // One lease per day record this writes (`_manifest/cdn_usage/<day>-i<N>-q<T>`).
    let _leases = job.lake.lease_days(days, |day| {
        job.lake.unit(
            manifest_kind::USAGE_DAYS,
            &scope,
            &format!("{day}-i{interval_min}-q{query_type}"),
        )
    })?;
    let client = WechatClient::new(config)?;
    let fetch = UsageFetch {
        lake: job.lake,
        scope,
        client: &client,
        interval_min,
        query_type,
        parquet: ParquetOptions::default(),
    };
    let report = crate::pipeline::runtime()?.block_on(fetch.run(days.from(), days.to()))?;
    let outcome = crate::pipeline::StepOutcome::saying(format!(
        "usage{}: {} days, {} points of {interval_min} min, {} billed (query_type {query_type})",
        crate::platforms::accounts::of(&fetch.scope),
        report.days,
        report.points,
        crate::table::gb(report.billed_bytes as i128),
    ));
    if !report.empty_days.is_empty() {
        let days: Vec<String> = report.empty_days.iter().map(|d| d.to_string()).collect();
        tracing::warn!(
            "no usage points for {}: reports will show these days' billed bytes as missing",
            days.join(", ")
        );
    }
    Ok(outcome)
}
