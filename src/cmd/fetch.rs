//! `cdncost fetch`: data from the platforms' APIs into the lake.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use chrono::NaiveDate;

use cdncost::china_time::parse_date;
use cdncost::exit::Exit;
use cdncost::fetch::polyv::{PolyvFetch, LAG_DAYS};
use cdncost::lake::ParquetOptions;
use cdncost::sources::polyv::videos::read_videos;
use cdncost::sources::polyv::PolyvClient;

use super::Context;

/// Fetch data from the platforms' APIs into the lake.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub source: Source,
}

#[derive(clap::Subcommand, Debug)]
pub enum Source {
    Polyv(PolyvArgs),
}

/// Per-video daily traffic from Polyv (保利威) → LAKE/polyv_traffic/date=YYYY-MM-DD/.
///
/// Needs POLYV_USERID and POLYV_SECRETKEY (or [polyv] userid/secretkey in the config).
/// The videos and the channel each one's traffic belongs to come from the mapping file
/// (vid,title,channel; an empty channel means "polyv"). Polyv publishes a day two days
/// later: newer days are fetched but marked provisional, and later runs fetch them again.
/// A video that fails is named; the others complete, and the exit status is 3.
#[derive(clap::Args, Debug)]
pub struct PolyvArgs {
    /// First China day (YYYY-MM-DD)
    #[arg(long, value_parser = parse_date)]
    pub from: NaiveDate,
    /// Last China day, inclusive
    #[arg(long, value_parser = parse_date)]
    pub to: NaiveDate,
    /// The mapping file [default: [polyv] videos in the config, else ./videos.csv]
    #[arg(long, value_name = "FILE")]
    pub videos: Option<PathBuf>,
}

pub fn run(ctx: &Context, args: Args) -> Result<Exit> {
    match args.source {
        Source::Polyv(args) => polyv(ctx, args),
    }
}

fn polyv(ctx: &Context, args: PolyvArgs) -> Result<Exit> {
    anyhow::ensure!(
        args.from <= args.to,
        "--from {} is after --to {}",
        args.from,
        args.to
    );
    let mut config = ctx.config.polyv.clone().with_env();
    if let Some(videos) = args.videos {
        config.videos = videos;
    }
    let videos = read_videos(&config.videos)?;
    let client = PolyvClient::new(&config)?;
    let fetch = PolyvFetch {
        lake: &ctx.lake,
        client: &client,
        videos: &videos,
        max_days_per_request: config.max_days_per_request,
        concurrency: config.concurrency,
        parquet: ParquetOptions::default(),
    };
    tracing::info!(
        "fetching Polyv traffic of {} videos for {}..{}",
        videos.len(),
        args.from,
        args.to
    );
    let report = super::runtime()?
        .block_on(fetch.run(args.from, args.to))
        .context("writing Polyv traffic to the lake")?;

    println!(
        "polyv: {} videos × {} days: {} rows ({} zero: Polyv listed no traffic), {:.3} GB",
        report.videos,
        report.days,
        report.rows,
        report.zero_rows,
        report.total_bytes as f64 / 1e9
    );
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
    }
    if report.failures.is_empty() {
        return Ok(Exit::Ok);
    }
    println!(
        "FAILED: {} requests (earlier rows of those videos, if any, were kept):",
        report.failures.len()
    );
    for e in &report.failures {
        println!("  {e}");
    }
    Ok(Exit::Incomplete)
}
