//! `cdncost fetch`: data from the platforms' APIs into the lake.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use chrono::NaiveDate;

use cdncost::china_time::parse_date;
use cdncost::exit::Exit;
use cdncost::fetch::logs::LogsFetch;
use cdncost::fetch::polyv::{PolyvFetch, LAG_DAYS};
use cdncost::fetch::usage::UsageFetch;
use cdncost::lake::ParquetOptions;
use cdncost::progress::Progress;
use cdncost::sources::polyv::videos::read_videos;
use cdncost::sources::polyv::PolyvClient;
use cdncost::sources::wechat::WechatClient;

use super::Context;

/// Fetch data from the platforms' APIs into the lake.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub source: Source,
}

#[derive(clap::Subcommand, Debug)]
pub enum Source {
    Usage(UsageArgs),
    Logs(LogsArgs),
    Polyv(PolyvArgs),
}

/// The billed CDN usage series (getcdnusagedata) → LAKE/cdn_usage/interval=N/date=YYYY-MM-DD/.
///
/// Needs WECHAT_APPID and WECHAT_APPSECRET (or [wechat] in the config). Values are the
/// bytes the platform bills per interval. Ranges over 90 days are split into several
/// calls; a range starting more than 365 days back is refused (the API keeps 365 days).
/// Re-fetching a day replaces it.
#[derive(clap::Args, Debug)]
pub struct UsageArgs {
    /// First China day (YYYY-MM-DD)
    #[arg(long, value_parser = parse_date)]
    pub from: NaiveDate,
    /// Last China day, inclusive
    #[arg(long, value_parser = parse_date)]
    pub to: NaiveDate,
    /// Minutes per point: 5, 60 or 1440
    #[arg(long, default_value_t = 1440, value_parser = interval)]
    pub interval: u32,
    /// 0 all traffic, 1 mini-drama player only, 2 general playback only
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub query_type: u8,
}

/// Hourly CDN log files (getcdnlogs) → RAW/cdn_logs/date=…/<name>.gz → the lake.
///
/// Lists the files in windows of at most 48 hours (the API's limit; paging is deprecated),
/// downloads each one (several hours can have one file per domain; quiet hours none),
/// verifies it is a complete gzip stream, records it in RAW/_manifest/cdn_logs/, and
/// ingests it exactly as `cdncost ingest` would. A second run downloads nothing that is
/// complete; files fetched less than complete_after_hours (3 by default) after their hour
/// ended are downloaded again, and a file that changed replaces its rows. The API keeps
/// 30 days of logs.
#[derive(clap::Args, Debug)]
pub struct LogsArgs {
    /// First China day (YYYY-MM-DD)
    #[arg(long, value_parser = parse_date)]
    pub from: NaiveDate,
    /// Last China day, inclusive
    #[arg(long, value_parser = parse_date)]
    pub to: NaiveDate,
    /// 0 all traffic, 1 mini-drama player only, 2 general playback only
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub query_type: u8,
    /// Where downloaded files are kept [default: [wechat] raw_dir, else ./raw]
    #[arg(long, value_name = "DIR")]
    pub raw: Option<PathBuf>,
    /// Downloads at once [default: [wechat] download_jobs, else 4]
    #[arg(short, long)]
    pub jobs: Option<usize>,
}

fn interval(s: &str) -> Result<u32, String> {
    match s.parse() {
        Ok(n @ (5 | 60 | 1440)) => Ok(n),
        _ => Err(format!("'{s}' is not one of 5, 60, 1440")),
    }
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
    let fetched = match args.source {
        Source::Usage(args) => usage(ctx, args),
        Source::Logs(args) => logs(ctx, args),
        Source::Polyv(args) => polyv(ctx, args),
    }?;
    Ok(fetched.exit)
}

/// What one fetch did, for `cdncost run`'s summary line.
#[derive(Debug, Default)]
pub struct Fetched {
    pub exit: Exit,
    pub files: usize,
    pub downloaded: usize,
    pub lines: u64,
    pub rejected: u64,
}

impl Fetched {
    fn with_exit(exit: Exit) -> Fetched {
        Fetched {
            exit,
            ..Fetched::default()
        }
    }
}

pub fn usage(ctx: &Context, args: UsageArgs) -> Result<Fetched> {
    let config = ctx.config.wechat.clone().with_env();
    let client = WechatClient::new(&config)?;
    let fetch = UsageFetch {
        lake: &ctx.lake,
        client: &client,
        interval_min: args.interval,
        query_type: args.query_type,
        parquet: ParquetOptions::default(),
    };
    let report = super::runtime()?.block_on(fetch.run(args.from, args.to))?;
    outln!(
        "usage: {} days, {} points of {} min, {:.3} GB billed (query_type {})",
        report.days,
        report.points,
        args.interval,
        report.billed_bytes as f64 / 1e9,
        args.query_type
    )?;
    if !report.empty_days.is_empty() {
        let days: Vec<String> = report.empty_days.iter().map(|d| d.to_string()).collect();
        tracing::warn!(
            "no usage points for {}: reports will show these days' billed bytes as missing",
            days.join(", ")
        );
    }
    Ok(Fetched::with_exit(Exit::Ok))
}

pub fn logs(ctx: &Context, args: LogsArgs) -> Result<Fetched> {
    let config = ctx.config.wechat.clone().with_env();
    let client = WechatClient::new(&config)?;
    let raw = args.raw.unwrap_or_else(|| config.raw_dir.clone());
    super::sweep_temporaries(&[ctx.lake.root(), &raw]);
    let options = ctx.config.ingest_options();
    let progress = Progress::new(ctx.progress, "logs", 0);
    let fetch = LogsFetch {
        lake: &ctx.lake,
        raw: raw.clone(),
        client: &client,
        query_type: args.query_type,
        jobs: args.jobs.unwrap_or(config.download_jobs),
        max_download_bytes: config.max_download_bytes,
        max_inflated_bytes: config.max_inflated_bytes,
        complete_after_hours: config.complete_after_hours,
        ingest: options,
        progress: Some(&progress),
    };
    let report = super::runtime()?.block_on(fetch.run(args.from, args.to));
    progress.finish();
    let report = report?;
    outln!(
        "logs: {} files listed: {} downloaded ({:.1} MB), {} complete and skipped, {} unchanged; {} ingested: {} lines, {} rejected",
        report.listed,
        report.downloaded,
        report.bytes as f64 / 1e6,
        report.skipped_complete,
        report.unchanged,
        report.ingested,
        report.lines,
        report.rejected_lines
    )?;
    if report.reingested_from_raw > 0 {
        outln!(
            "{} complete files were ingested again from {} (the lake lacked their rows)",
            report.reingested_from_raw,
            raw.display()
        )?;
    }
    for refused in &report.refused {
        outln!("REFUSED listing entry {refused}")?;
    }
    for failure in &report.failures {
        outln!("FAILED {failure}")?;
    }
    let exit = if report.refused.is_empty() && report.failures.is_empty() {
        Exit::Ok
    } else {
        outln!(
            "{} files missing: run again to retry them (nothing was half-written)",
            report.refused.len() + report.failures.len()
        )?;
        Exit::Incomplete
    };
    Ok(Fetched {
        exit,
        files: report.listed,
        downloaded: report.downloaded,
        lines: report.lines,
        rejected: report.rejected_lines,
    })
}

pub fn polyv(ctx: &Context, args: PolyvArgs) -> Result<Fetched> {
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

    outln!(
        "polyv: {} videos × {} days: {} rows ({} zero: Polyv listed no traffic), {:.3} GB",
        report.videos,
        report.days,
        report.rows,
        report.zero_rows,
        report.total_bytes as f64 / 1e9
    )?;
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
        return Ok(Fetched::with_exit(if report.provisional_days.is_empty() {
            Exit::Ok
        } else {
            Exit::NotFinal
        }));
    }
    outln!(
        "FAILED: {} requests (earlier rows of those videos, if any, were kept):",
        report.failures.len()
    )?;
    for e in &report.failures {
        outln!("  {e}")?;
    }
    Ok(Fetched::with_exit(Exit::Incomplete))
}
