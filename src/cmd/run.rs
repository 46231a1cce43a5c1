//! `cdncost run`: the nightly job ([`cdncost::pipeline::nightly`]): parse the window,
//! make the one library call, print what it says and its summary line.

use std::path::PathBuf;

use anyhow::Result;
use chrono::{Days, NaiveDate};

use cdncost::china_time::{self, parse_date, DateRange};
use cdncost::exit::Exit;
use cdncost::pipeline::nightly::{self, NightlyRequest};

use super::Context;

/// The nightly job: fetch usage, fetch and ingest logs, fetch Polyv, fetch the media
/// catalogue, write the report, tell the team's chat ([notify]).
///
/// First, the lake files of the days it covers are checked against what was written;
/// damaged ones are set aside in LAKE/_damaged/ and made again by the steps.
///
/// With no date it does yesterday (China time). Each run also re-checks the LOOKBACK
/// days before the window: log files fetched soon after their hour are fetched again,
/// Polyv days within its two-day lag are fetched again, and the usage series is
/// refreshed, so late data lands without a manual backfill. A backfill is the same
/// command with --from/--to. Safe to run twice (nothing is fetched or counted twice)
/// and after a kill (the next run completes the work).
///
/// Polyv is skipped when no Polyv userid is configured; a failed catalogue fetch keeps the
/// last one (status 3). The report covers the window and its lookback and goes to --out,
/// in Chinese unless --lang en or [report] lang = "en". With [notify] set, one message
/// goes to the robot after the run; a robot that fails never changes the status.
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
    /// Where downloaded log files are kept [default: [logs] raw_dir, else ./raw]
    #[arg(long, value_name = "DIR")]
    pub raw: Option<PathBuf>,
    /// CSV for Excel (BOM and CRLF)
    #[arg(long)]
    pub excel: bool,
    /// The page's language: zh (中文, the default) or en [default: [report] lang]
    #[arg(long, value_enum, value_name = "LANG")]
    pub lang: Option<cdncost::report::words::Lang>,
}

impl Args {
    /// The window asked for: `--date`, `--from/--to`, or yesterday.
    fn window(&self) -> Result<DateRange> {
        Ok(match (self.date, self.from, self.to) {
            (Some(day), _, _) => DateRange::day(day),
            (None, Some(from), Some(to)) => DateRange::new(from, to)?,
            _ => DateRange::day(china_time::today() - Days::new(1)),
        })
    }
}

pub fn run(ctx: &Context, args: Args) -> Result<Exit> {
    let request = NightlyRequest {
        days: args.window()?,
        lookback: args.lookback,
        out: args.out.clone(),
        raw: args.raw.clone(),
        excel: args.excel,
        lang: args.lang,
    };
    let job = ctx.job();
    let outcome = nightly::run(&job, &cdncost::platforms::nightly(), &request);
    cdncost::pipeline::notify::send(&job, &outcome);
    for line in &outcome.fetched.said {
        outln!("{line}")?;
    }
    outln!("{}", outcome.summary_line())?;
    outcome.log_record();
    Ok(outcome.exit)
}
