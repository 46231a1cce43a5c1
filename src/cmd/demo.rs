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
use cdncost::platforms::polyv::api::PolyvAccount;
use cdncost::platforms::polyv::{self, PolyvConfig};
use cdncost::platforms::wechat::api::WechatAccount;
use cdncost::platforms::wechat::{self, WechatConfig};
use cdncost::util::secret::Secret;

use super::Context;

const DEMO_APPID: &str = "wxd0e0m0o0a0p0p0i0";
const DEMO_USERID: &str = "demouser01";
/// The account the sample's own data is when it has others (`accounts/<name>/`); alone,
/// it is the `default` account, as a single-account configuration is.
const FIRST_ACCOUNT: &str = "main";

/// Run the whole nightly job on the bundled sample data, against loopback servers.
///
/// Starts local WeChat media-service and Polyv servers backed by sample_data/, then runs
/// `cdncost run` over the sample's days through the real HTTP clients: usage series,
/// log downloads (signed links, gzip checks), ingest, Polyv (signed requests), report.
/// The sample is a studio with two mini-programs and two Polyv accounts: `main` (the
/// sample's own data) and `brand_b` (sample_data/accounts/brand_b/), each fetched with
/// its own credentials and billed on its own. Writes OUT/lake, OUT/raw and OUT/report
/// (report.html first). Needs no credentials and no network; environment variables for
/// the real APIs are ignored. Demo prices: 0.20 CNY/GB for WeChat CDN traffic (0.18 for
/// brand_b, a contract of its own), 0.12 CNY/GB for Polyv.
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
    let accounts = sample_accounts(&data)?;
    let servers = cdncost::pipeline::runtime()?;
    let mut served = Vec::new();
    let mut wechat_accounts = std::collections::BTreeMap::new();
    let mut polyv_accounts = std::collections::BTreeMap::new();
    for (i, (name, dir)) in accounts.iter().enumerate() {
        // Each account its own ids and secrets (made up per run: nothing to leak).
        let appid = if i == 0 {
            DEMO_APPID.to_string()
        } else {
            format!("wxd0e0m0o0b{i:07}")
        };
        let userid = if i == 0 {
            DEMO_USERID.to_string()
        } else {
            format!("demouser{:02}", i + 1)
        };
        let wechat_secret = Secret::new(format!("demo-{name}-{}", std::process::id()));
        let polyv_secret = Secret::new(format!("demo-key-{name}-{}", std::process::id()));
        let who = Credentials {
            wechat_appid: appid.clone(),
            wechat_secret: wechat_secret.clone(),
            polyv_userid: userid.clone(),
            polyv_secret: polyv_secret.clone(),
        };
        served.push((dir.clone(), who));
        wechat_accounts.insert(
            name.clone(),
            WechatAccount {
                appid,
                secret: Some(wechat_secret),
                ..WechatAccount::default()
            },
        );
        polyv_accounts.insert(
            name.clone(),
            PolyvAccount {
                userid,
                secret_key: Some(polyv_secret),
                mapping: Some(dir.join("polyv/videos.csv")),
                ..PolyvAccount::default()
            },
        );
    }
    let Platforms { wechat, polyv } = servers.block_on(Platforms::start_accounts(served, today))?;
    let names: Vec<&str> = accounts.iter().map(|(name, _)| name.as_str()).collect();
    tracing::info!(
        "loopback servers: WeChat {} and Polyv {}, serving {} (accounts {})",
        wechat.url(),
        polyv.url(),
        data.display(),
        names.join(", ")
    );

    let mut config = Config::default();
    config.platforms.set(
        wechat::NAME,
        WechatConfig {
            api_base: wechat.url(),
            accounts: wechat_accounts,
            ..WechatConfig::default()
        },
    );
    config.logs.raw_dir = args.out.join("raw");
    config.platforms.set(
        polyv::NAME,
        PolyvConfig {
            api_base: polyv.url(),
            requests_per_second: 100.0,
            accounts: polyv_accounts,
            ..PolyvConfig::default()
        },
    );
    config.prices = toml::from_str(
        "wechat_cny_per_gb = 0.20\npolyv_cny_per_gb = 0.12\n[wechat.brand_b]\ncny_per_gb = 0.18\n",
    )
    .expect("the demo's prices parse");
    // Budgets for the page's bars: the studio's month, a channel and a drama.
    config.budgets = toml::from_str(
        "month_cny = 150\n[channels]\nwxad = 20\n[dramas]\n\"闪婚后，傅总每天都在追妻\" = 30\n",
    )
    .expect("the demo's budgets parse");
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
        (
            "channel_daily.csv",
            "per day x account x channel (also .parquet)",
        ),
        (
            "channel_platform_daily.csv",
            "per day x account x channel x platform: billed bytes and cost",
        ),
        (
            "channel_monthly.csv",
            "per month x account x channel, totals per account",
        ),
        (
            "reconciliation.csv",
            "log estimate against each account's bill",
        ),
        (
            "drama_daily.csv",
            "per day x drama x channel (dramas from the catalogue)",
        ),
        (
            "focus.csv",
            "the same cost in FOCUS 1.0, for FinOps tools (also .parquet)",
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

/// The sample's accounts: its own data (as `main`, or `default` when alone), then each
/// `DATA/accounts/<name>/`.
fn sample_accounts(data: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut accounts = vec![(FIRST_ACCOUNT.to_string(), data.to_path_buf())];
    let dir = data.join("accounts");
    if dir.is_dir() {
        let mut more: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .flatten()
            .filter(|e| e.path().is_dir())
            .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
            .collect();
        more.sort();
        for (name, _) in &more {
            cdncost::lake::Scope::new(wechat::NAME, name)
                .with_context(|| format!("{}: not an account name", dir.join(name).display()))?;
        }
        accounts.extend(more);
    }
    if accounts.len() == 1 {
        accounts[0].0 = cdncost::lake::DEFAULT_ACCOUNT.to_string();
    }
    Ok(accounts)
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
