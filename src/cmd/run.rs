//! `cdncost run`: the nightly job. Every step is one of the commands a user can run by
//! hand (fetch usage, fetch logs, fetch polyv, report), called in order over the window
//! and its lookback, so the job is exactly as idempotent and resumable as they are:
//! complete files are never fetched twice, a day is replaced whole, the report is
//! written all at once. A step that fails is reported and the others still run; the
//! exit status is the worst outcome.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Result};
use chrono::{Days, NaiveDate};

use cdncost::china_time::{self, parse_date};
use cdncost::exit::Exit;
use cdncost::fetch::{logs::HISTORY_DAYS as LOG_HISTORY, usage::HISTORY_DAYS as USAGE_HISTORY};
use cdncost::report::output::Format;
use cdncost::table::thousands;

use super::fetch::{self, Fetched, LogsArgs, PolyvArgs, UsageArgs};
use super::report::{self, ReportOutcome};
use super::Context;

/// The nightly job: fetch usage, fetch and ingest logs, fetch Polyv, write the report.
///
/// With no date it does yesterday (China time). Each run also re-checks the LOOKBACK
/// days before the window: log files fetched soon after their hour are fetched again,
/// Polyv days within its two-day lag are fetched again, and the usage series is
/// refreshed, so late data lands without a manual backfill. A backfill is the same
/// command with --from/--to. Safe to run twice (nothing is fetched or counted twice)
/// and after a kill (the next run completes the work).
///
/// Polyv is skipped when no Polyv userid is configured. The report covers the window
/// and its lookback and goes to --out.
///
/// Ends with one summary line. Exit status: 0 complete; 3 data missing (run again);
/// 4 complete except data not final yet (normal for the newest days); 1 failure.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// One China day (YYYY-MM-DD) [default: yesterday, China time]
    #[arg(long, value_parser = parse_date, conflicts_with_all = ["from", "to"])]
    pub date: Option<NaiveDate>,
    /// First China day of a backfill
    #[arg(long, value_parser = parse_date, requires = "to")]
    pub from: Option<NaiveDate>,
    /// Last China day of a backfill, inclusive
    #[arg(long, value_parser = parse_date, requires = "from")]
    pub to: Option<NaiveDate>,
    /// Days before the window to re-check for late data
    #[arg(long, default_value_t = 3)]
    pub lookback: u64,
    /// Where the report goes
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub out: PathBuf,
    /// Where downloaded log files are kept [default: [wechat] raw_dir, else ./raw]
    #[arg(long, value_name = "DIR")]
    pub raw: Option<PathBuf>,
    /// CSV for Excel (BOM and CRLF)
    #[arg(long)]
    pub excel: bool,
}

impl Args {
    /// The window asked for: `--date`, `--from/--to`, or yesterday.
    fn window(&self) -> Result<(NaiveDate, NaiveDate)> {
        let (from, to) = match (self.date, self.from, self.to) {
            (Some(day), _, _) => (day, day),
            (None, Some(from), Some(to)) => (from, to),
            _ => {
                let yesterday = china_time::today() - Days::new(1);
                (yesterday, yesterday)
            }
        };
        if to < from {
            bail!("--to {to} is before --from {from}");
        }
        Ok((from, to))
    }
}

pub fn run(ctx: &Context, args: Args) -> Result<Exit> {
    let started = Instant::now();
    let (from, to) = args.window()?;
    let check_from = from - Days::new(args.lookback);
    tracing::info!(
        "run {from}..{to}, re-checking from {check_from} (lookback {} days)",
        args.lookback
    );
    let mut exit = Exit::Ok;
    let mut fetched = Fetched::default();
    let mut step = |name: &str, result: Result<Fetched>| match result {
        Ok(f) => {
            exit = exit.worst(f.exit);
            fetched.files += f.files;
            fetched.downloaded += f.downloaded;
            fetched.lines += f.lines;
            fetched.rejected += f.rejected;
        }
        Err(e) => {
            tracing::error!("{name} failed: {e:#}");
            exit = exit.worst(Exit::Failure);
        }
    };

    let usage_from = within_history(check_from, to, USAGE_HISTORY, "usage series");
    if let Some(usage_from) = usage_from {
        tracing::info!("step 1/4: usage series {usage_from}..{to}");
        step(
            "usage series",
            fetch::usage(
                ctx,
                UsageArgs {
                    from: usage_from,
                    to,
                    interval: 1440,
                    query_type: 0,
                },
            ),
        );
    }
    if let Some(logs_from) = within_history(check_from, to, LOG_HISTORY, "CDN logs") {
        tracing::info!("step 2/4: CDN log files {logs_from}..{to}");
        step(
            "CDN logs",
            fetch::logs(
                ctx,
                LogsArgs {
                    from: logs_from,
                    to,
                    query_type: 0,
                    raw: args.raw.clone(),
                    jobs: None,
                },
            ),
        );
    }
    if ctx.config.polyv.clone().with_env().userid.is_empty() {
        tracing::info!("step 3/4: Polyv skipped (no POLYV_USERID or [polyv] userid)");
    } else {
        tracing::info!("step 3/4: Polyv traffic {check_from}..{to}");
        step(
            "Polyv",
            fetch::polyv(
                ctx,
                PolyvArgs {
                    from: check_from,
                    to,
                    videos: None,
                },
            ),
        );
    }

    tracing::info!(
        "step 4/4: report {check_from}..{to} → {}",
        args.out.display()
    );
    let report_args = report::Args {
        from: check_from,
        to,
        out: args.out.clone(),
        format: vec![Format::Csv, Format::Parquet],
        excel: args.excel,
        no_html: false,
    };
    let outcome = match report::make(ctx, &report_args) {
        Ok(outcome) => {
            exit = exit.worst(report::exit_for(&outcome));
            Some(outcome)
        }
        Err(e) => {
            tracing::error!("report failed: {e:#}");
            exit = Exit::Failure;
            None
        }
    };
    let line = summary_line(check_from, to, &fetched, outcome.as_ref(), started, exit);
    outln!("{line}")?;
    tracing::info!(
        status = exit as u8,
        days = (to - check_from).num_days() + 1,
        files = fetched.files,
        lines = fetched.lines,
        rejected = fetched.rejected,
        log_bytes = outcome.as_ref().map_or(0, |o| o.log_bytes),
        cost_cny = outcome.as_ref().map_or(0.0, |o| o.total_cost_cny),
        elapsed_s = started.elapsed().as_secs_f64(),
        "run finished"
    );
    Ok(exit)
}

/// The part of `from..=to` an API still keeps; warns about the days it no longer has.
fn within_history(from: NaiveDate, to: NaiveDate, days: u64, what: &str) -> Option<NaiveDate> {
    let oldest = cdncost::fetch::oldest_kept(days);
    if to < oldest {
        tracing::warn!("{what}: {from}..{to} is older than the {days} days the API keeps: skipped");
        return None;
    }
    if from < oldest {
        tracing::warn!(
            "{what}: days before {oldest} are older than the {days} days the API keeps: skipped"
        );
        return Some(oldest);
    }
    Some(from)
}

fn summary_line(
    from: NaiveDate,
    to: NaiveDate,
    fetched: &Fetched,
    outcome: Option<&ReportOutcome>,
    started: Instant,
    exit: Exit,
) -> String {
    let status = match exit {
        Exit::Ok => "complete".to_string(),
        Exit::NotFinal => "complete but not final (status 4)".to_string(),
        Exit::Incomplete => "INCOMPLETE: data missing (status 3), run again".to_string(),
        _ => "FAILED (status 1)".to_string(),
    };
    let cost = outcome.map_or("no report".to_string(), |o| {
        format!(
            "{:.3} GB log traffic, cost {:.2} CNY",
            o.log_bytes as f64 / 1e9,
            o.total_cost_cny
        )
    });
    format!(
        "run {from}..{to}: {} days, {} log files ({} downloaded), {} lines ingested, {} rejected, {cost}, {:.1}s: {status}",
        (to - from).num_days() + 1,
        thousands(fetched.files as i128),
        thousands(fetched.downloaded as i128),
        thousands(fetched.lines as i128),
        thousands(fetched.rejected as i128),
        started.elapsed().as_secs_f64()
    )
}
