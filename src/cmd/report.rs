//! `cdncost report`: the finance tables and page for a range of China days.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Result};
use chrono::NaiveDate;

use cdncost::china_time::parse_date;
use cdncost::exit::Exit;
use cdncost::report::inputs::DayGaps;
use cdncost::report::output::{write_report, Format, OutputOptions};
use cdncost::report::{html, tables};

use super::Context;

/// Per-channel traffic and cost per China day and month, reconciled with the bill.
///
/// Reads the lake (requests, the usage series, Polyv traffic, the fetch manifests) and
/// writes into OUT:
///   channel_daily.{csv,parquet}    one row per day × channel (WeChat and Polyv joined)
///   channel_monthly.{csv,parquet}  per month × channel, with a total row per month
///   reconciliation.{csv,parquet}   per day: log bytes × factor against the billed series
///   report.html                    one self-contained page with the charts and tables
///
/// Prices come from [prices] in cdncost.toml (CNY per GB, GB = 10^9 bytes, optional
/// monthly tiers). Costs are rounded to 0.01 CNY per row; every total is the sum of its
/// rows. Days with missing or provisional inputs are listed, flagged complete=false, and
/// make the exit status 3. Files are replaced all at once, only when all are written.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// First China day (YYYY-MM-DD)
    #[arg(long, value_parser = parse_date)]
    pub from: NaiveDate,
    /// Last China day, inclusive
    #[arg(long, value_parser = parse_date)]
    pub to: NaiveDate,
    /// Output directory
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub out: PathBuf,
    /// Table formats to write, comma-separated
    #[arg(long, value_enum, value_delimiter = ',', default_value = "csv,parquet")]
    pub format: Vec<Format>,
    /// CSV for Excel: a UTF-8 byte-order mark and CRLF line ends (Chinese shows right)
    #[arg(long)]
    pub excel: bool,
    /// Do not write report.html
    #[arg(long)]
    pub no_html: bool,
}

/// What a report run found, for the command's (and `run`'s) summary line.
pub struct ReportOutcome {
    pub files: Vec<PathBuf>,
    pub total_cost_cny: f64,
    /// WeChat log bytes of the period.
    pub log_bytes: i64,
    pub gaps: BTreeMap<NaiveDate, DayGaps>,
}

pub fn run(ctx: &Context, args: Args) -> Result<Exit> {
    let outcome = make(ctx, &args)?;
    for path in &outcome.files {
        outln!("wrote {}", path.display())?;
    }
    outln!("total cost {:.2} CNY", outcome.total_cost_cny)?;
    Ok(exit_for(&outcome))
}

/// Warns about each incomplete day; the worst gap sets the status: data missing (3)
/// over data not final yet (4).
pub fn exit_for(outcome: &ReportOutcome) -> Exit {
    let mut exit = Exit::Ok;
    for (date, gaps) in outcome.gaps.iter().filter(|(_, g)| !g.complete()) {
        tracing::warn!("{date} is incomplete: {}", gaps.describe());
        exit = exit.worst(if gaps.missing.is_empty() {
            Exit::NotFinal
        } else {
            Exit::Incomplete
        });
    }
    exit
}

pub fn make(ctx: &Context, args: &Args) -> Result<ReportOutcome> {
    if args.to < args.from {
        bail!("--to {} is before --from {}", args.to, args.from);
    }
    if args.format.is_empty() && args.no_html {
        bail!("nothing to write: no --format and --no-html");
    }
    let built = tables::build(&ctx.lake, args.from, args.to, &ctx.config.prices)?;
    let page = if args.no_html {
        None
    } else {
        Some(html::render(
            &built,
            args.from,
            args.to,
            ctx.config.prices.bytes_per_gb,
        )?)
    };
    let mut formats = args.format.clone();
    formats.dedup();
    let options = OutputOptions {
        formats,
        excel: args.excel,
    };
    let files = write_report(&args.out, &built, page.as_deref(), &options)?;
    let total_cost_cny = built
        .daily
        .column("total_cost_cny")?
        .f64()?
        .iter()
        .flatten()
        .sum::<f64>();
    // A sum of cent amounts: rounding drops the float noise, not money.
    let total_cost_cny = (total_cost_cny * 100.0).round() / 100.0;
    let log_bytes = built
        .reconciliation
        .column("log_bytes")?
        .i64()?
        .iter()
        .flatten()
        .sum::<i64>();
    Ok(ReportOutcome {
        files,
        total_cost_cny,
        log_bytes,
        gaps: built.gaps,
    })
}
