//! The nightly job as one library call: usage series, log files, Polyv, report, over a
//! window of China days and a lookback before it. `cdncost run`, `cdncost demo` and the
//! tests all call [`run`]; the commands only print its [`NightlyOutcome`].
//!
//! Every step is one of the jobs a user can run by hand, so the whole is exactly as
//! idempotent and resumable as they are: complete files are never fetched twice, a day
//! is replaced whole, the report is written all at once. A step that fails is logged and
//! the others still run; the exit status is the worst outcome.

use std::path::PathBuf;
use std::time::Instant;

use crate::china_time::DateRange;

use super::{logs, media, polyv, usage, Job, StepOutcome};
use crate::exit::Exit;
use crate::lake::integrity::Depth;
use crate::lake::LakeError;
use crate::report::output::Format;
use crate::report::{self, ReportOutcome, ReportRequest};

/// What to run.
#[derive(Debug, Clone)]
pub struct NightlyRequest {
    /// The window asked for (the lookback comes before it).
    pub days: DateRange,
    /// Days before the window re-checked for late data.
    pub lookback: u64,
    /// Where the report goes.
    pub out: PathBuf,
    /// Where downloaded log files are kept [default: the `raw_dir` setting].
    pub raw: Option<PathBuf>,
    pub excel: bool,
    /// The page's language (`--lang`); else `[report] lang`.
    pub lang: Option<crate::report::words::Lang>,
}

/// What the run did: every step's outcome, the report's, and the status.
#[derive(Debug)]
pub struct NightlyOutcome {
    /// The days covered: the window and its lookback.
    pub days: DateRange,
    pub exit: Exit,
    /// The fetch steps' counts, summed, and what they said.
    pub fetched: StepOutcome,
    pub report: Option<ReportOutcome>,
    pub elapsed_s: f64,
    /// What failed, one line each ("CDN logs: …"), for whoever was not watching the log.
    pub problems: Vec<String>,
}

/// Runs the nightly job. Never fails as a whole: each step's failure is logged and
/// becomes the status (1), the other steps still run.
pub fn run(job: &Job, request: &NightlyRequest) -> NightlyOutcome {
    let started = Instant::now();
    let checked = request.days.extended_back(request.lookback);
    tracing::info!(
        "run {}, re-checking from {} (lookback {} days)",
        request.days,
        checked.from(),
        request.lookback
    );
    let mut exit = Exit::Ok;
    let mut fetched = StepOutcome::default();
    let mut problems = Vec::new();
    // Another run of any of these days: this one does nothing and says who.
    let _leases = match job.lake.lease_days(checked, |day| format!("run/{day}")) {
        Ok(leases) => leases,
        Err(e) => {
            tracing::error!("{e}");
            return NightlyOutcome {
                days: checked,
                exit: Exit::Failure,
                fetched: StepOutcome {
                    exit: Exit::Failure,
                    ..Default::default()
                },
                report: None,
                elapsed_s: started.elapsed().as_secs_f64(),
                problems: vec![format!("run: {e}")],
            };
        }
    };
    match set_aside_damage(job, checked) {
        Ok(outcome) => fetched.said.extend(outcome.said),
        Err(e) => {
            tracing::error!("checking the lake failed: {e}");
            problems.push(format!("checking the lake: {e}"));
            exit = exit.worst(Exit::Failure);
        }
    }
    let mut step = |name: &str, result: Result<StepOutcome, super::JobError>| match result {
        Ok(f) => {
            exit = exit.worst(f.exit);
            fetched.files += f.files;
            fetched.downloaded += f.downloaded;
            fetched.lines += f.lines;
            fetched.rejected += f.rejected;
            fetched.said.extend(f.said);
        }
        Err(e) => {
            tracing::error!("{name} failed: {e}");
            problems.push(format!("{name}: {e}"));
            exit = exit.worst(Exit::Failure);
        }
    };
    if let Some(days) = within_history(checked, usage::HISTORY_DAYS, "usage series") {
        tracing::info!("step 1/5: usage series {days}");
        step(
            "usage series",
            usage::fetch(job, days, usage::DAILY_MIN, usage::BILLED_TRAFFIC),
        );
    }
    if let Some(days) = within_history(checked, logs::HISTORY_DAYS, "CDN logs") {
        tracing::info!("step 2/5: CDN log files {days}");
        let logs_request = logs::LogsRequest {
            raw: request.raw.clone(),
            ..Default::default()
        };
        step("CDN logs", logs::fetch(job, days, &logs_request));
    }
    if job.polyv().userid.is_empty() {
        tracing::info!("step 3/5: Polyv skipped (no POLYV_USERID or [polyv] userid)");
    } else {
        tracing::info!("step 3/5: Polyv traffic {checked}");
        step("Polyv", polyv::fetch(job, checked, None));
    }

    // The catalogue only names dramas: a failure keeps the last one, and the run is
    // incomplete rather than failed.
    tracing::info!("step 4/5: media catalogue");
    match media::fetch(job) {
        Ok(f) => fetched.said.extend(f.said),
        Err(e) => {
            tracing::warn!("media catalogue failed, the last one is kept: {e}");
            problems.push(format!("media catalogue: {e}"));
            fetched.say(format!(
                "media: the catalogue could not be fetched ({e}); dramas are named from the last one"
            ));
            exit = exit.worst(Exit::Incomplete);
        }
    }

    // The report reads whole months of rollups: the days fetched get theirs built, and
    // a lake from before rollups gets them from its requests, once (said in the log).
    let (month_from, month_to) = (
        crate::china_time::first_of_month(checked.from()),
        crate::china_time::last_of_month(checked.to()),
    );
    let parquet = super::ingest::IngestOptions::from_config(&job.config.ingest).parquet;
    match super::rollup::refresh(job.lake, month_from, month_to, parquet) {
        Ok(rolled) if rolled.backfilled > 0 => fetched.say(rolled.line()),
        Ok(rolled) => tracing::info!("{}", rolled.line()),
        Err(e) => {
            tracing::error!("rollups failed: {e}");
            problems.push(format!("rollups: {e}"));
            exit = exit.worst(Exit::Failure);
        }
    }

    tracing::info!("step 5/5: report {checked} → {}", request.out.display());
    let report_request = ReportRequest {
        days: checked,
        out: request.out.clone(),
        formats: vec![Format::Csv, Format::Parquet],
        excel: request.excel,
        html: true,
        drama_mapping: job.config.media.mapping.clone(),
        polyv_dramas: crate::sources::polyv::videos::dramas_of(&job.polyv().videos),
        lang: request.lang.unwrap_or(job.config.report.lang),
        chinese_headers: false,
    };
    let report = match report::make(job.lake, &job.config.prices, &report_request) {
        Ok(outcome) => {
            exit = exit.worst(outcome.exit());
            Some(outcome)
        }
        Err(e) => {
            tracing::error!("report failed: {e}");
            problems.push(format!("report: {e}"));
            exit = Exit::Failure;
            None
        }
    };
    fetched.exit = exit;
    NightlyOutcome {
        days: checked,
        exit,
        fetched,
        report,
        elapsed_s: started.elapsed().as_secs_f64(),
        problems,
    }
}

/// Checks every lake file the re-checked days come from against what was written, and
/// sets the damaged ones aside (`LAKE/_damaged/`), so that the steps after this make
/// them again: log rows from `raw/` (or downloaded again), usage and Polyv days fetched.
fn set_aside_damage(job: &Job, days: DateRange) -> Result<StepOutcome, LakeError> {
    let damage = job
        .lake
        .damage_between(days.from(), days.to(), Depth::Content)?;
    let mut outcome = StepOutcome::default();
    if damage.is_empty() {
        return Ok(outcome);
    }
    let all = damage.all();
    for line in &all {
        tracing::warn!("lake: {line}");
    }
    let moved = job.lake.set_aside(&damage)?;
    outcome.say(format!(
        "lake: {} files damaged ({} missing, {} set aside in {}/): this run makes them again",
        all.len(),
        all.len() - damage.present.len() - damage.manifests.len(),
        moved.len(),
        crate::lake::integrity::DAMAGED_DIR
    ));
    Ok(outcome)
}

/// The part of `days` an API still keeps; warns about the days it no longer has.
fn within_history(days: DateRange, kept: u64, what: &str) -> Option<DateRange> {
    let oldest = super::oldest_kept(kept);
    if days.to() < oldest {
        tracing::warn!("{what}: {days} is older than the {kept} days the API keeps: skipped");
        return None;
    }
    if days.from() < oldest {
        tracing::warn!(
            "{what}: days before {oldest} are older than the {kept} days the API keeps: skipped"
        );
        return DateRange::new(oldest, days.to()).ok();
    }
    Some(days)
}

impl NightlyOutcome {
    /// The one line that says it all (and what cron mail shows).
    pub fn summary_line(&self) -> String {
        let status = match self.exit {
            Exit::Ok => "complete".to_string(),
            Exit::NotFinal => "complete but not final (status 4)".to_string(),
            Exit::Incomplete => "INCOMPLETE: data missing (status 3), run again".to_string(),
            Exit::Failure => "FAILED (status 1)".to_string(),
        };
        let cost = self.report.as_ref().map_or("no report".to_string(), |o| {
            format!(
                "{} log traffic, cost {} CNY",
                crate::table::gb(o.log_bytes as i128),
                crate::report::money::text(o.total_cost_fen)
            )
        });
        let thousands = |n: u64| crate::table::thousands(n as i128);
        format!(
            "run {}: {} days, {} log files ({} downloaded), {} lines ingested, {} rejected, {cost}, {:.1}s: {status}",
            self.days,
            self.days.len_days(),
            thousands(self.fetched.files as u64),
            thousands(self.fetched.downloaded as u64),
            thousands(self.fetched.lines),
            thousands(self.fetched.rejected),
            self.elapsed_s
        )
    }

    /// The `run finished` record for log collectors (`--json-logs`).
    pub fn log_record(&self) {
        tracing::info!(
            status = self.exit as u8,
            days = self.days.len_days(),
            files = self.fetched.files,
            lines = self.fetched.lines,
            rejected = self.fetched.rejected,
            log_bytes = self.report.as_ref().map_or(0, |o| o.log_bytes),
            cost_cny = %self
                .report
                .as_ref()
                .map_or("0.00".to_string(), |o| crate::report::money::text(o.total_cost_fen)),
            elapsed_s = self.elapsed_s,
            "run finished"
        );
    }
}
