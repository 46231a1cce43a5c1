//! `cdncost demo`: the nightly job, end to end, with no credentials and no network.
//!
//! Starts the loopback WeChat and Polyv servers (the ones the tests use, speaking both
//! protocols: tokens, signatures, signed download links) on free ports, backed by
//! `sample_data/`, and runs `cdncost run` against them through the real HTTP clients.
//! Nothing is faked past the network: what the demo shows is what a real run does.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use chrono::{Days, NaiveDate};

use cdncost::china_time::{self, DateRange};
use cdncost::config::Config;
use cdncost::exit::Exit;
use cdncost::lake::Lake;
use cdncost::pipeline::nightly::{self, NightlyRequest};
use cdncost::pipeline::Job;
use cdncost::platforms::loopback::{Credentials, Platforms};
use cdncost::platforms::polyv::{self, PolyvConfig};
use cdncost::platforms::wechat::{self, WechatConfig};
use cdncost::util::secret::Secret;

use super::Context;

const DEMO_APPID: &str = "wxd0e0m0o0a0p0p0i0";
const DEMO_USERID: &str = "demouser01";

/// Run the whole nightly job on the bundled sample data, against loopback servers.
///
/// Starts local WeChat media-service and Polyv servers backed by sample_data/, then runs
/// `cdncost run` over the sample's days through the real HTTP clients: usage series,
/// log downloads (signed links, gzip checks), ingest, Polyv (signed requests), report.
/// Writes OUT/lake, OUT/raw and OUT/report (report.html first). Needs no credentials
/// and no network; environment variables for the real APIs are ignored. Demo prices:
/// 0.20 CNY/GB for WeChat CDN traffic, 0.12 CNY/GB for Polyv.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Where the lake, the downloads and the report go
    #[arg(long, value_name = "DIR", default_value = "demo-out")]
    pub out: PathBuf,
    /// The sample data to serve [default: ./sample_data, else the one in the source tree]
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// The page's language: zh (中文, the default) or en [default: [report] lang]
    #[arg(long, value_enum, value_name = "LANG")]
    pub lang: Option<cdncost::report::words::Lang>,
}

pub fn run(ctx: &Context, args: Args) -> Result<Exit> {
    let data = args
        .data
        .clone()
        .unwrap_or_else(|| super::bundled("sample_data"));
    let (first, last) = sample_days(&data)?;
    // The demo's "today" is two days after the sample, so its days are within the
    // APIs' history and Polyv's figures are final, whatever the real date.
    let today = last + Days::new(2);
    china_time::pin_today(today);
    let wechat_secret = Secret::new(format!("demo-{}", std::process::id()));
    let polyv_secret = Secret::new(format!("demo-key-{}", std::process::id()));
    let servers = cdncost::pipeline::runtime()?;
    let who = Credentials {
        wechat_appid: DEMO_APPID.into(),
        wechat_secret: wechat_secret.clone(),
        polyv_userid: DEMO_USERID.into(),
        polyv_secret: polyv_secret.clone(),
    };
    let Platforms { wechat, polyv } = servers.block_on(Platforms::start(&data, who, today))?;
    let videos_file = data.join("polyv/videos.csv");
    tracing::info!(
        "loopback servers: WeChat {} and Polyv {}, serving {}",
        wechat.url(),
        polyv.url(),
        data.display()
    );

    let mut config = Config::default();
    config.platforms.set(
        wechat::NAME,
        WechatConfig {
            appid: DEMO_APPID.into(),
            appsecret: wechat_secret,
            api_base: wechat.url(),
            ..WechatConfig::default()
        },
    );
    config.logs.raw_dir = args.out.join("raw");
    config.platforms.set(
        polyv::NAME,
        PolyvConfig {
            userid: DEMO_USERID.into(),
            secretkey: polyv_secret,
            api_base: polyv.url(),
            videos: videos_file,
            requests_per_second: 100.0,
            ..PolyvConfig::default()
        },
    );
    config.prices = toml::from_str("wechat_cny_per_gb = 0.20\npolyv_cny_per_gb = 0.12\n")
        .expect("the demo's prices parse");
    // The demo's own lake beside its report, unless --lake names a store to try.
    let lake = match ctx.lake.remote() {
        Some(_) => ctx.lake.clone(),
        None => Lake::new(args.out.join("lake")),
    };
    let report = args.out.join("report");
    // The demo's settings are the servers above: real credentials in the environment
    // are ignored.
    let job = Job {
        config: &config,
        lake: &lake,
        progress: ctx.progress,
        use_env: false,
    };
    let request = NightlyRequest {
        days: DateRange::new(first, last)?,
        lookback: 0,
        out: report.clone(),
        raw: None,
        excel: false,
        lang: args.lang,
    };
    let outcome = nightly::run(&job, &cdncost::platforms::nightly(), &request);
    for line in &outcome.fetched.said {
        outln!("{line}")?;
    }
    outln!("{}", outcome.summary_line())?;
    outcome.log_record();
    let exit = outcome.exit;
    outln!("\nLook at:")?;
    for (file, what) in [
        ("report.html", "the page for finance"),
        ("channel_daily.csv", "per day x channel (also .parquet)"),
        (
            "channel_platform_daily.csv",
            "per day x channel x platform: billed bytes and cost",
        ),
        ("channel_monthly.csv", "per month x channel"),
        ("reconciliation.csv", "log estimate against the bill"),
        (
            "drama_daily.csv",
            "per day x drama x channel (dramas from the catalogue)",
        ),
    ] {
        outln!("  {}   {what}", report.join(file).display())?;
    }
    outln!(
        "  cdncost --lake {} summary   the lake (hive-partitioned Parquet) itself",
        lake.location()
    )?;
    drop(servers);
    Ok(exit)
}

/// The first and last day of the sample's log partitions (`cdn_logs/date=YYYY-MM-DD`).
fn sample_days(data: &Path) -> Result<(NaiveDate, NaiveDate)> {
    let dir = data.join("cdn_logs");
    let mut days: Vec<NaiveDate> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading the sample data {}", dir.display()))?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            NaiveDate::parse_from_str(name.strip_prefix("date=")?, "%Y-%m-%d").ok()
        })
        .collect();
    days.sort();
    match (days.first(), days.last()) {
        (Some(first), Some(last)) => Ok((*first, *last)),
        _ => bail!("{} has no date=YYYY-MM-DD directories", dir.display()),
    }
}
