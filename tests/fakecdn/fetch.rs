//! The fake CDN's fetch job: each day of the range asked of its API, the day's rows
//! written as `fakecdn_traffic/date=D/fakecdn.parquet` with its record, the lake's one
//! publish step replacing what an earlier fetch wrote.

use std::collections::BTreeMap;

use cdncost::china_time::DateRange;
use cdncost::lake::sums::FileSum;
use cdncost::lake::{ParquetOptions, SafeName, Scope};
use cdncost::pipeline::{Job, JobError, StepOutcome};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::{FakeConfig, DAYS, NAME, TABLE};

/// The record of one day fetched.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct DayRecord {
    pub date: String,
    pub rows: usize,
    pub outputs: Vec<String>,
    #[serde(default)]
    pub sums: BTreeMap<String, FileSum>,
}

cdncost::published_record!(
    DayRecord => |r| cdncost::lake::manifest::day_of(&r.date).into_iter().collect()
);

#[derive(Deserialize)]
struct Reply {
    rows: Vec<ReplyRow>,
}

#[derive(Deserialize)]
struct ReplyRow {
    channel: String,
    drama: String,
    bytes: i64,
}

pub fn fetch(job: &Job, config: &FakeConfig, days: DateRange) -> Result<StepOutcome, JobError> {
    let scope = Scope::default_of(NAME);
    let client = reqwest::Client::new();
    let runtime = cdncost::pipeline::runtime()?;
    let mut rows_written = 0;
    for day in days.from().iter_days().take_while(|d| *d <= days.to()) {
        let url = format!("{}/v1/traffic/{day}", config.api_base);
        let reply: Reply = runtime
            .block_on(async {
                client
                    .get(&url)
                    .bearer_auth(config.token.expose())
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await
            })
            .map_err(|e| JobError::Source(Box::new(e)))?;
        let frame = df!(
            "channel" => reply.rows.iter().map(|r| r.channel.as_str()).collect::<Vec<_>>(),
            "drama" => reply.rows.iter().map(|r| r.drama.as_str()).collect::<Vec<_>>(),
            "bytes" => reply.rows.iter().map(|r| r.bytes).collect::<Vec<_>>(),
        )
        .and_then(|frame| scope.label(frame))
        .map_err(|e| JobError::Setup(format!("fake CDN rows: {e}")))?;
        let path = job
            .lake
            .table_file(TABLE, &format!("date={day}"), &scope, "fakecdn.parquet");
        let name = SafeName::exact(&day.to_string()).expect("a date is a safe name");
        let manifest = job.lake.manifest_file(DAYS, &scope, &name);
        let record = DayRecord {
            date: day.to_string(),
            rows: reply.rows.len(),
            ..Default::default()
        };
        let frame = (frame.height() > 0).then_some(frame);
        job.lake.replace_partition(
            &path,
            frame.as_ref(),
            ParquetOptions::default(),
            &manifest,
            record,
        )?;
        rows_written += reply.rows.len();
    }
    Ok(StepOutcome::saying(format!(
        "fake CDN: {rows_written} rows of {days}"
    )))
}
