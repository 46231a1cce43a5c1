//! `cdncost report`: the finance tables and page for a range of China days.

use std::path::PathBuf;

use anyhow::Result;

use cdncost::exit::Exit;
use cdncost::report::output::Format;
use cdncost::report::{self, ReportRequest};

use super::{Context, DaysArgs};

/// Per-channel traffic and cost per China day and month, reconciled with the bill.
///
/// Reads the lake (requests, the usage series, Polyv traffic, the fetch manifests) and
/// writes into OUT:
///   channel_platform_daily.{csv,parquet}  the core table: per day × channel × platform,
///                                         billed bytes, their basis and the cost
///   channel_daily.{csv,parquet}    one row per day × channel (WeChat and Polyv joined)
///   channel_monthly.{csv,parquet}  per month × channel, with a total row per month
///   reconciliation.{csv,parquet}   per day: log bytes × factor against the billed series
///   drama_daily, drama_monthly, episode_daily.{csv,parquet}
///                                  each channel's cost split over the dramas it carried
///   focus.{csv,parquet}            the same cost in FOCUS 1.0, for FinOps tools: per day ×
///                                  account × platform × channel × drama, periods in UTC
///   report.html                    one self-contained page with the charts and tables
///
/// Prices come from [prices] in cdncost.toml (CNY per GB, GB = 10^9 bytes, optional
/// monthly tiers, or [prices.<platform>]). Each platform's month is billed once, rounded
/// to the fen, and split over days and channels in whole fen, so every total is the sum
/// of its rows and each month equals its bill; a day's billed bytes are split over its
/// channels exactly. Days with missing or provisional inputs are listed, flagged
/// complete=false, and make the exit status 3. Files are replaced all at once, only when
/// all are written.
///
/// Billed usage no log explains (a billed day whose logs the lake lacks) is the
/// "(unattributed)" row; --unattributed (or [allocation] unattributed) can spread it over
/// the channels by their traffic (proportional) or give it to one (to:CHANNEL).
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    pub days: DaysArgs,
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
    /// The page's language: zh (中文, the default) or en [default: [report] lang]
    #[arg(long, value_enum, value_name = "LANG")]
    pub lang: Option<cdncost::report::words::Lang>,
    /// CSV headers: the stable snake_case names (an interface, the default) or zh, the
    /// Chinese labels, for people who open the files in Excel
    #[arg(long, value_enum, value_name = "NAMES", default_value = "names")]
    pub headers: Headers,
    /// Billed usage no log explains: separate (its own "(unattributed)" row),
    /// proportional (spread over the channels by their traffic) or to:CHANNEL
    /// [default: [allocation] unattributed, else separate]
    #[arg(long, value_name = "POLICY")]
    pub unattributed: Option<cdncost::report::allocation::Unattributed>,
}

/// What a CSV header row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Headers {
    /// date,channel,wechat_requests,…
    Names,
    /// 日期,渠道,微信请求数,…
    Zh,
}

impl Args {
    pub fn request(&self) -> Result<ReportRequest> {
        Ok(ReportRequest {
            days: self.days.range()?,
            out: self.out.clone(),
            formats: self.format.clone(),
            excel: self.excel,
            html: !self.no_html,
            drama_mapping: None,
            item_dramas: Default::default(),
            accounts: Default::default(),
            account_ids: Default::default(),
            allocation: self.unattributed.clone().unwrap_or_default(),
            budgets: Default::default(),
            lang: self.lang.unwrap_or_default(),
            chinese_headers: self.headers == Headers::Zh,
        })
    }
}

pub fn run(ctx: &Context, args: Args) -> Result<Exit> {
    let mut request = args.request()?;
    request.drama_mapping = ctx.config.media.mapping.clone();
    request.lang = args.lang.unwrap_or(ctx.config.report.lang);
    request.item_dramas = cdncost::platforms::item_dramas(&ctx.config);
    request.accounts = cdncost::platforms::account_names(&ctx.job());
    request.account_ids = cdncost::platforms::account_ids(&ctx.job());
    request.budgets = ctx.config.budgets.clone();
    request.allocation = args
        .unattributed
        .clone()
        .unwrap_or_else(|| ctx.config.allocation.unattributed.clone());
    let platforms = cdncost::platforms::report();
    let outcome = report::make_with(&ctx.lake, &ctx.config.prices, &request, &platforms)?;
    for path in &outcome.files {
        outln!("wrote {}", path.display())?;
    }
    outln!(
        "total cost {} CNY",
        cdncost::report::money::text(outcome.total_cost_fen)
    )?;
    Ok(outcome.exit())
}
