//! `cdncost fetch`: data from the platforms' APIs into the lake.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Result};

use cdncost::exit::Exit;
use cdncost::lake::Scope;
use cdncost::pipeline::{JobError, StepOutcome};
use cdncost::platforms::accounts::Account;
use cdncost::platforms::wechat::logs::{self, LogsRequest};
use cdncost::platforms::{
    polyv::fetch as polyv,
    wechat::{self, media, usage},
};

use super::{Context, DaysArgs};

/// Fetch data from the platforms' APIs into the lake.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub source: Source,
    /// Fetch this account only ([wechat.accounts.NAME] / [polyv.accounts.NAME], or
    /// `default`) [default: every account of the platform]
    #[arg(long, global = true, value_name = "NAME")]
    pub account: Option<String>,
}

#[derive(clap::Subcommand, Debug)]
pub enum Source {
    Usage(UsageArgs),
    Logs(LogsArgs),
    Polyv(PolyvArgs),
    Media(MediaArgs),
}

/// The billed CDN usage series (getcdnusagedata) → LAKE/cdn_usage/interval=N/date=YYYY-MM-DD/.
///
/// Needs WECHAT_APPID and WECHAT_APPSECRET (or [wechat] in the config). Values are the
/// bytes the platform bills per interval. Ranges over 90 days are split into several
/// calls; a range starting more than 365 days back is refused (the API keeps 365 days).
/// Re-fetching a day replaces it.
#[derive(clap::Args, Debug)]
pub struct UsageArgs {
    #[command(flatten)]
    pub days: DaysArgs,
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
    #[command(flatten)]
    pub days: DaysArgs,
    /// 0 all traffic, 1 mini-drama player only, 2 general playback only
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub query_type: u8,
    /// Where downloaded files are kept [default: [logs] raw_dir, else ./raw]
    #[arg(long, value_name = "DIR")]
    pub raw: Option<PathBuf>,
    /// Downloads at once [default: [logs] download_jobs, else 4]
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
    #[command(flatten)]
    pub days: DaysArgs,
    /// The mapping file [default: [polyv] videos in the config, else ./videos.csv]
    #[arg(long, value_name = "FILE")]
    pub videos: Option<PathBuf>,
}

/// The media catalogue (listdramas, listmedia) → LAKE/media/, LAKE/dramas/ and
/// LAKE/media_history/.
///
/// Which drama and episode each media file is, for the per-drama report: media.parquet
/// and dramas.parquet hold the latest listing (replaced whole, and only once every page
/// was read), media_history/history.parquet every path prefix ever listed, so that a
/// drama taken down keeps its earlier traffic. Needs WECHAT_APPID and WECHAT_APPSECRET.
/// The replies' links are temporary and signed: only their path prefix is kept.
#[derive(clap::Args, Debug)]
pub struct MediaArgs {}

pub fn run(ctx: &Context, args: Args) -> Result<Exit> {
    let job = ctx.job();
    let only = args.account.as_deref();
    match args.source {
        Source::Usage(a) => {
            let days = a.days.range()?;
            each(wechat::accounts(&job), only, |account| {
                usage::fetch(&job, account, days, a.interval, a.query_type)
            })
        }
        Source::Logs(a) => {
            let days = a.days.range()?;
            let request = LogsRequest {
                query_type: a.query_type,
                raw: a.raw,
                jobs: a.jobs,
            };
            each(wechat::accounts(&job), only, |account| {
                logs::fetch(&job, account, days, &request)
            })
        }
        Source::Polyv(a) => {
            let days = a.days.range()?;
            let accounts = cdncost::platforms::polyv::accounts(&job);
            if accounts.is_empty() {
                bail!("Polyv is not configured: set POLYV_USERID and POLYV_SECRETKEY, or [polyv] userid, or [polyv.accounts.NAME]");
            }
            each(accounts, only, |account| {
                polyv::fetch(&job, account, days, a.videos.as_deref())
            })
        }
        Source::Media(MediaArgs {}) => each(wechat::accounts(&job), only, |account| {
            media::fetch(&job, account)
        }),
    }
}

/// Runs `fetch` for each account (or the one `only` names), printing what each said.
/// One account failing leaves the others fetched; the status is the worst.
fn each<C>(
    accounts: Vec<Account<C>>,
    only: Option<&str>,
    mut fetch: impl FnMut((&Scope, &C)) -> Result<StepOutcome, JobError>,
) -> Result<Exit> {
    let names: Vec<String> = accounts
        .iter()
        .map(|a| a.scope.account().to_string())
        .collect();
    let chosen: Vec<&Account<C>> = accounts
        .iter()
        .filter(|a| only.is_none_or(|name| a.scope.account() == name))
        .collect();
    if chosen.is_empty() {
        bail!(
            "no account {} in the settings (accounts: {})",
            only.unwrap_or_default(),
            names.join(", ")
        );
    }
    let alone = chosen.len() == 1;
    let mut exit = Exit::Ok;
    for account in chosen {
        let result = account
            .settings
            .as_ref()
            .map_err(|e| anyhow!("{e}"))
            .and_then(|settings| Ok(fetch((&account.scope, settings))?));
        match result {
            Ok(outcome) => {
                for line in &outcome.said {
                    outln!("{line}")?;
                }
                exit = exit.worst(outcome.exit);
            }
            Err(e) if alone => return Err(e),
            Err(e) => {
                tracing::error!("account {}: {e:#}", account.scope.account());
                outln!("FAILED account {}: {e:#}", account.scope.account())?;
                exit = exit.worst(Exit::Failure);
            }
        }
    }
    Ok(exit)
}
