//! Reports over the lake: everything a finance reader or an analyst sees. Every join and
//! aggregation is a polars lazy query, so only the partitions and columns needed are read.
//!
//! `inputs` reduces each source to rows per day (× channel), `tables` joins and prices
//! them, `html` draws the page, `output` writes the files of one report atomically.

pub mod allocation;
pub mod apportion;
pub mod budgets;
pub mod cost;
pub mod drama;
pub mod error;
pub mod exprs;
pub mod focus;
pub mod forecast;
pub mod html;
pub mod inputs;
pub mod money;
mod months;
pub mod outlook;
pub mod output;
pub mod platform;
pub mod prices;
mod reconcile;
pub mod summary;
pub mod tables;
pub mod words;

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::NaiveDate;
use polars::prelude::PolarsError;

use crate::china_time::DateRange;
use crate::exit::Exit;
use crate::lake::Lake;
use inputs::DayGaps;
use output::{write_report, Format, OutputError, OutputOptions};
use prices::Prices;
use tables::ReportError;

/// One report to write: the China days, where, and in which forms.
#[derive(Debug, Clone)]
pub struct ReportRequest {
    pub days: DateRange,
    pub out: PathBuf,
    pub formats: Vec<Format>,
    /// CSV for Excel: a byte-order mark and CRLF line ends.
    pub excel: bool,
    pub html: bool,
    /// `[media] mapping`: prefixes named by hand, for what the catalogue does not know.
    pub drama_mapping: Option<PathBuf>,
    /// Per platform, item → drama names its settings give (Polyv's mapping file's
    /// `drama` column), for items whose titles don't say.
    pub item_dramas: BTreeMap<&'static str, BTreeMap<String, String>>,
    /// Per platform, the accounts the settings name: each one's days are checked (and
    /// said incomplete) even when the lake holds none of its data yet.
    pub accounts: BTreeMap<&'static str, Vec<String>>,
    /// Per platform, each account's id (the appid, the Polyv userid) by its name, for
    /// the FOCUS export's account columns (an account without one is named by its name).
    pub account_ids: BTreeMap<&'static str, BTreeMap<String, String>>,
    /// `[allocation] unattributed`: what becomes of billed usage no log explains.
    pub allocation: allocation::Unattributed,
    /// `[budgets]`: checked against the month-end outlook.
    pub budgets: budgets::BudgetsConfig,
    /// The page's language.
    pub lang: words::Lang,
    /// CSV headers in Chinese instead of the snake_case names.
    pub chinese_headers: bool,
}

/// What a report run found, for the command's (and the nightly run's) summary line.
#[derive(Debug)]
pub struct ReportOutcome {
    pub files: Vec<PathBuf>,
    /// The period's total cost in fen (print with [`money::text`]).
    pub total_cost_fen: i64,
    /// WeChat log bytes of the period.
    pub log_bytes: i64,
    pub gaps: BTreeMap<NaiveDate, DayGaps>,
    pub figures: Figures,
    /// Where the month of the period's last day will end, and the budgets.
    pub outlook: Option<outlook::Outlook>,
}

/// What a summary of the report says (the chat message): exact money in fen.
#[derive(Debug, Default, Clone)]
pub struct Figures {
    /// (platform label, fen) of the period, in the report's platform order.
    pub platform_fen: Vec<(PlatformLabel, i64)>,
    /// (channel, fen) of the period, most expensive first.
    pub channel_fen: Vec<(String, i64)>,
    /// Fen per (day, channel) over the whole months read (trailing comparisons).
    pub day_channel_fen: BTreeMap<(NaiveDate, String), i64>,
    /// Reconciliation deviation per day, percent (days with both figures).
    pub deviation_pct: BTreeMap<NaiveDate, f64>,
    /// The report's page.
    pub page: PathBuf,
}

/// A platform as people call it, in both languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlatformLabel {
    pub en: &'static str,
    pub zh: &'static str,
}

impl PlatformLabel {
    pub fn in_lang(&self, lang: words::Lang) -> &'static str {
        match lang {
            words::Lang::Zh => self.zh,
            words::Lang::En => self.en,
        }
    }
}

impl ReportOutcome {
    /// Warns about each incomplete day; the worst gap sets the status: data missing (3)
    /// over data not final yet (4).
    pub fn exit(&self) -> Exit {
        let mut exit = Exit::Ok;
        for (date, gaps) in self.gaps.iter().filter(|(_, g)| !g.complete()) {
            tracing::warn!("{date} is incomplete: {}", gaps.describe());
            exit = exit.worst(if gaps.any_missing() {
                Exit::Incomplete
            } else {
                Exit::NotFinal
            });
        }
        exit
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MakeError {
    #[error("nothing to write: no --format and --no-html")]
    Nothing,
    #[error(transparent)]
    Build(#[from] ReportError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error("report: {0}")]
    Frame(#[from] PolarsError),
    #[error(transparent)]
    Mapping(#[from] drama::MappingError),
}

/// Builds the report of `request` for `platforms` (the registry's list, in its order)
/// from the lake and writes its files, all at once.
pub fn make_with(
    lake: &Lake,
    prices: &Prices,
    request: &ReportRequest,
    platforms: &[Box<dyn platform::Platform>],
) -> Result<ReportOutcome, MakeError> {
    let (from, to) = (request.days.from(), request.days.to());
    if request.formats.is_empty() && !request.html {
        return Err(MakeError::Nothing);
    }
    output::check_out(&request.out)?;
    let mapping = drama::Mapping {
        prefixes: match &request.drama_mapping {
            Some(path) => drama::read_mapping(path)?,
            None => Vec::new(),
        },
        items: request.item_dramas.clone(),
    };
    let mut built = match tables::build_with(
        lake,
        (from, to),
        prices,
        platforms,
        (&mapping, &request.accounts, &request.allocation),
    ) {
        // A query that fails on the lake's files: name the damaged ones if that is why.
        Err(ReportError::Query { from, to, source }) => {
            let files = lake.damaged_parquet();
            return Err(if files.is_empty() {
                ReportError::Query { from, to, source }
            } else {
                ReportError::Damaged { from, to, files }
            }
            .into());
        }
        other => other?,
    };
    built.outlook = outlook_of(request, &built);
    built.focus = focus::build(
        &built,
        &focus::FocusContext {
            account_ids: &request.account_ids,
            bytes_per_gb: prices.bytes_per_gb,
            policy: &request.allocation,
        },
    )?;
    let page = if request.html {
        Some(html::render(
            &built,
            from,
            to,
            prices.bytes_per_gb,
            request.lang,
        )?)
    } else {
        None
    };
    let mut formats = request.formats.clone();
    formats.dedup();
    let options = OutputOptions {
        chinese_headers: request.chinese_headers,
        formats,
        excel: request.excel,
    };
    let files = write_report(&request.out, &built, page.as_deref(), &options)?;
    let total_cost_fen = money::fen_of(built.daily.column("total_cost_cny")?)?
        .into_iter()
        .flatten()
        .sum::<i64>();
    let log_bytes = built
        .reconciliation
        .column("log_bytes")?
        .i64()?
        .iter()
        .flatten()
        .sum::<i64>();
    if built.dramas.unmatched_requests > 0 {
        tracing::info!(
            "dramas: {} requests matched no media the catalogue ever listed: they are {} in drama_daily ([media] mapping can name them)",
            crate::table::thousands(built.dramas.unmatched_requests as i128),
            crate::lake::UNMATCHED
        );
    }
    let figures = figures(&built, &request.out.join("report.html"))?;
    Ok(ReportOutcome {
        files,
        total_cost_fen,
        log_bytes,
        gaps: built.gaps,
        figures,
        outlook: built.outlook,
    })
}

/// The month-end outlook of the period's last day, from the days the report read for it
/// (`span_long`, `span_drama_daily`). What cannot be computed leaves the outlook out (said
/// in the log), never the report.
fn outlook_of(request: &ReportRequest, built: &tables::ReportTables) -> Option<outlook::Outlook> {
    let read = outlook::History {
        long: &built.span_long,
        drama_daily: &built.span_drama_daily,
        platforms: built.platforms.iter().map(|(name, _)| *name).collect(),
    };
    match outlook::outlook(&read, request.days.to(), &request.budgets) {
        Ok(outlook) => Some(outlook),
        Err(e) => {
            tracing::warn!("no month-end outlook: {e}");
            None
        }
    }
}

fn figures(built: &tables::ReportTables, page: &std::path::Path) -> Result<Figures, PolarsError> {
    let long = &built.long;
    let platforms = long.column("platform")?.str()?.clone();
    let channels = long.column("channel")?.str()?.clone();
    let fen = money::fen_of(long.column("cost_cny")?)?;
    let mut by_platform: BTreeMap<&str, i64> = BTreeMap::new();
    let mut by_channel: BTreeMap<String, i64> = BTreeMap::new();
    for (i, fen) in fen.into_iter().enumerate() {
        let fen = fen.unwrap_or(0);
        *by_platform
            .entry(platforms.get(i).unwrap_or_default())
            .or_default() += fen;
        *by_channel
            .entry(channels.get(i).unwrap_or_default().to_string())
            .or_default() += fen;
    }
    let platform_fen = built
        .platforms
        .iter()
        .map(|(name, label)| {
            let label = PlatformLabel {
                en: label,
                zh: built.labels.label(words::Lang::Zh, label),
            };
            (label, by_platform.get(name).copied().unwrap_or(0))
        })
        .collect();
    let mut channel_fen: Vec<(String, i64)> = by_channel.into_iter().collect();
    channel_fen.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let rec = &built.reconciliation;
    let dates = rec
        .column("date")?
        .date()?
        .as_date_iter()
        .collect::<Vec<_>>();
    let deviations = rec
        .column("deviation_pct")?
        .cast(&polars::prelude::DataType::Float64)?;
    let deviation_pct = dates
        .into_iter()
        .zip(deviations.f64()?.iter())
        .filter_map(|(d, v)| Some((d?, v?)))
        .collect();
    Ok(Figures {
        platform_fen,
        channel_fen,
        day_channel_fen: built.month_costs.clone(),
        deviation_pct,
        // Absolute where it can be: the message is read far from the working directory.
        page: std::fs::canonicalize(page).unwrap_or_else(|_| page.to_path_buf()),
    })
}
