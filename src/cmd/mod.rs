//! One module per command (xsv-style): each holds its clap arguments, its help text and a
//! thin `run` over the library. This file holds what they share.

use std::path::PathBuf;
use std::sync::OnceLock;

use anyhow::{Context as _, Result};
use clap::{Args, Parser, Subcommand};

use cdncost::config::Config;
use cdncost::exit::{Exit, EXIT_STATUS_HELP};
use cdncost::lake::Lake;
use cdncost::progress::ProgressMode;

/// `println!` that returns the write's error instead of panicking, so a closed pipe
/// (`cdncost summary | head -1`) ends the command cleanly: `main` maps BrokenPipe to
/// status 0. Use as `outln!(...)?`.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

pub mod demo;
pub mod fetch;
pub mod generate;
pub mod ingest;
pub mod query;
pub mod report;
pub mod rollup;
pub mod run;
pub mod schedule;
pub mod summary;

const ABOUT: &str = "Per-channel CDN traffic and cost for mini-drama studios";
const LONG_ABOUT: &str = "\
Per-channel CDN traffic and cost for mini-drama studios.

cdncost turns the hourly CDN access logs of the WeChat mini-drama media service into a
partitioned Parquet lake (one row per request, with its `us` channel, province and ISP),
and from there into per-channel traffic and cost figures finance can use.

Typical first steps:
  cdncost demo                       # the whole nightly job on sample_data/, offline
  cdncost run                        # the nightly job: yesterday (China time) + lookback
  cdncost report --from 2026-11-01 --to 2026-11-30
  cdncost ingest sample_data/cdn_logs && cdncost summary

Days are China days (Asia/Shanghai) everywhere, whatever the host's time zone.";

#[derive(Parser, Debug)]
#[command(name = "cdncost", version, about = ABOUT, long_about = LONG_ABOUT, after_help = EXIT_STATUS_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags accepted before or after the command name.
#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Settings file [default: ./cdncost.toml when it exists]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The Parquet lake: a directory, or s3://bucket/prefix on any S3-compatible store
    /// (AWS S3, Tencent COS, Aliyun OSS, MinIO; endpoint and keys from AWS_ENDPOINT_URL,
    /// AWS_ACCESS_KEY_ID, … or [lake.s3]) [default: lake setting in the config, else ./lake]
    #[arg(long, global = true, value_name = "DIR|URL")]
    pub lake: Option<String>,
    /// Log as JSON lines on stderr (for log collectors)
    #[arg(long, global = true)]
    pub json_logs: bool,
    /// Only warnings and errors on stderr
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More detail on stderr (-v debug, -vv trace)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    Run(run::Args),
    Demo(demo::Args),
    Schedule(schedule::Args),
    Ingest(ingest::Args),
    Fetch(fetch::Args),
    Summary(summary::Args),
    Report(report::Args),
    Query(query::Args),
    Rollup(rollup::Args),
    Generate(generate::Args),
}

impl GlobalArgs {
    fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(config) = &self.config {
            args.extend(["--config".to_string(), config.display().to_string()]);
        }
        if let Some(lake) = &self.lake {
            args.extend(["--lake".to_string(), lake.clone()]);
        }
        if self.json_logs {
            args.push("--json-logs".into());
        }
        if self.quiet {
            args.push("--quiet".into());
        }
        for _ in 0..self.verbose {
            args.push("--verbose".into());
        }
        args
    }
}

/// `--from` and `--to`, for every command that works on a range of China days.
#[derive(Args, Debug, Clone)]
pub struct DaysArgs {
    /// First China day (YYYY-MM-DD)
    #[arg(long, value_parser = cdncost::china_time::parse_date)]
    pub from: chrono::NaiveDate,
    /// Last China day, inclusive
    #[arg(long, value_parser = cdncost::china_time::parse_date)]
    pub to: chrono::NaiveDate,
}

impl DaysArgs {
    /// The range, checked: the one place a reversed range is refused.
    pub fn range(&self) -> Result<cdncost::china_time::DateRange> {
        Ok(cdncost::china_time::DateRange::new(self.from, self.to)?)
    }
}

/// `--from` and `--to`, each optional: the lake's first and last day with requests when
/// left out (`summary`, `rollup`).
#[derive(Args, Debug, Clone)]
pub struct LakeDaysArgs {
    /// First China day (YYYY-MM-DD) [default: the earliest with requests]
    #[arg(long, value_parser = cdncost::china_time::parse_date)]
    pub from: Option<chrono::NaiveDate>,
    /// Last China day, inclusive [default: the latest with requests]
    #[arg(long, value_parser = cdncost::china_time::parse_date)]
    pub to: Option<chrono::NaiveDate>,
}

/// What every command gets: the loaded settings and the lake.
pub struct Context {
    pub config: Config,
    pub lake: Lake,
    pub progress: ProgressMode,
    /// The global flags as given, for child processes (`schedule`).
    pub global_args: Vec<String>,
}

impl Context {
    /// The library's view of this context, for a job.
    pub fn job(&self) -> cdncost::pipeline::Job<'_> {
        cdncost::pipeline::Job {
            config: &self.config,
            lake: &self.lake,
            progress: self.progress,
            use_env: true,
        }
    }

    fn new(global: &GlobalArgs) -> Result<Context> {
        let config = cdncost::platforms::load_config(global.config.as_deref())?;
        let location = global
            .lake
            .clone()
            .or_else(|| config.lake.location())
            .unwrap_or_else(|| "lake".to_string());
        let lake = Lake::open(&location, &config.lake.s3())?;
        let progress = ProgressMode::detect(global.quiet, global.json_logs);
        Ok(Context {
            config,
            lake,
            progress,
            global_args: global.to_args(),
        })
    }
}

pub fn dispatch(cli: Cli) -> Result<Exit> {
    let ctx = Context::new(&cli.global)?;
    // Writers take leases on what they write (lake::lease), job by job, so that workers
    // on different days or files never wait for each other. On an object store, the
    // uploads a killed writer left open for a day are aborted first.
    let writes = matches!(
        cli.command,
        Command::Ingest(_)
            | Command::Fetch(_)
            | Command::Run(_)
            | Command::Demo(_)
            | Command::Rollup(_)
    );
    // A lake directory that cannot be made is one error, before any job starts.
    if writes && ctx.lake.remote().is_none() && !matches!(cli.command, Command::Demo(_)) {
        cdncost::lake::make_dir(ctx.lake.root()).context("the lake")?;
    }
    if let (true, Some(remote)) = (writes, ctx.lake.remote()) {
        let aborted = remote.abort_stale_uploads(std::time::Duration::from_secs(24 * 3600))?;
        if aborted > 0 {
            tracing::info!("{aborted} uploads left open for over a day were aborted");
        }
    }
    match cli.command {
        Command::Run(args) => run::run(&ctx, args),
        Command::Demo(args) => demo::run(&ctx, args),
        Command::Schedule(args) => schedule::run(&ctx, args),
        Command::Ingest(args) => ingest::run(&ctx, args),
        Command::Fetch(args) => fetch::run(&ctx, args),
        Command::Summary(args) => summary::run(&ctx, args),
        Command::Report(args) => report::run(&ctx, args),
        Command::Query(args) => query::run(&ctx, args),
        Command::Rollup(args) => rollup::run(&ctx, args),
        Command::Generate(args) => generate::run(&ctx, args),
    }
}

static JSON_LOGS: OnceLock<bool> = OnceLock::new();

pub fn logs_are_json() -> bool {
    JSON_LOGS.get().copied().unwrap_or(false)
}

/// Logs go to stderr (stdout is for results): human lines, or JSON with `--json-logs`.
/// `RUST_LOG` overrides the level chosen by -q/-v.
pub fn init_logging(global: &GlobalArgs) {
    use tracing_subscriber::EnvFilter;
    let level = match (global.quiet, global.verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("cdncost={level},warn")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // A log line that cannot be written (stderr's reader gone: `2>&1 | head`, a dead
        // log shipper) is dropped. tracing-subscriber would report it with `eprintln!`,
        // which panics on that same closed stderr and would end the run mid-file.
        .log_internal_errors(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = JSON_LOGS.set(global.json_logs);
    if global.json_logs {
        builder.json().with_current_span(false).init();
    } else {
        builder.with_target(false).init();
    }
}

/// A directory shipped with the source (`sample_data`, `queries`): the one in the
/// current directory when there is one, else the source tree's.
pub fn bundled(name: &str) -> PathBuf {
    let local = PathBuf::from(name);
    if local.is_dir() {
        local
    } else {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
    }
}

/// Default parallelism: every core.
pub fn all_cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}
