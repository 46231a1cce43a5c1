//! `cdncost rollup`: build the rollups of a range of days (once, for a lake written
//! before rollups existed; `run` keeps them current after that).

use anyhow::Result;
use cdncost::exit::Exit;
use cdncost::pipeline::ingest::IngestOptions;
use cdncost::pipeline::rollup::refresh;

use super::{Context, LakeDaysArgs};

/// Builds the rollup tables (requests_5min, requests_by_dir, requests_by_place) of the
/// days asked, from what the lake holds.
///
/// Reports read rollups, never every request (and `cdncost query` or DuckDB can read them
/// too: a day per file, rows per bucket, directory or place). Ingest writes a source's
/// part of them with its rows; this command gives the log files ingested before
/// rollups existed their parts (from cdn_requests, once) and builds each day's files
/// (one per table and day). Safe to run again: days already current are left alone.
///
/// Examples:
///   cdncost rollup                                   # every day of the lake
///   cdncost rollup --from 2026-11-01 --to 2026-11-30
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub days: LakeDaysArgs,
}

pub fn run(ctx: &Context, args: Args) -> Result<Exit> {
    let LakeDaysArgs { from, to } = args.days;
    let days = match (from, to) {
        (Some(from), Some(to)) => Some((from, to)),
        _ => ctx
            .lake
            .request_days()?
            .map(|(first, last)| (from.unwrap_or(first), to.unwrap_or(last))),
    };
    let Some((from, to)) = days else {
        outln!("rollups: the lake has no requests: nothing to roll up")?;
        return Ok(Exit::Ok);
    };
    anyhow::ensure!(from <= to, "--from {from} is after --to {to}");
    let options = IngestOptions::from_config(&ctx.config.ingest).parquet;
    let outcome = refresh(&ctx.lake, from, to, options)?;
    outln!("{from}..{to}: {}", outcome.line())?;
    Ok(Exit::Ok)
}
