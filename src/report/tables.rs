//! The finance tables: the core `channel_platform_daily`, and `channel_daily`,
//! `channel_monthly` and `reconciliation` from it and the platforms' inputs.
//!
//! Every join and aggregation is a polars lazy query over the inputs of [`super::inputs`];
//! only the integer work (a day's allocation, a month's bill and its split) is Rust.
//!
//! Money: each platform's month is billed once and split in whole fen ([`super::cost`]);
//! everything above a row is a sum of rows: `total_cost_cny` = the platforms' costs of
//! the row, a month = the sum of its days, a total row = the sum of its channels. So
//! every figure equals the sum of the figures it is made of, and each platform's month
//! equals its bill, to the fen.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use polars::prelude::*;

use super::cost;
pub use super::error::ReportError;
use super::inputs::{self, DayGaps};
use super::money;
use super::months::{money_columns, monthly};
pub use super::months::{ALL_ACCOUNTS, ALL_MONTHS, ESTIMATED_COST, TOTAL_CHANNEL};
use super::platform::{cost_column, Inputs, Platform, UsageDay};
use super::prices::Prices;
use super::reconcile::reconciliation;
use crate::china_time::{first_of_month, last_of_month};
use crate::lake::integrity::{Damage, Depth};
use crate::lake::{rollup, Lake, ACCOUNT, DEFAULT_ACCOUNT};

/// The `cost_basis` of a row whose billed bytes are estimated from its logs (no usage
/// series for its day).
pub const ESTIMATE_BASIS: &str = "estimate";

pub struct ReportTables {
    /// What each day of the period lacks (empty when complete).
    pub gaps: BTreeMap<NaiveDate, DayGaps>,
    /// Cost in fen per (day, channel), all platforms, over the whole months read (the
    /// days before the period too: trailing comparisons).
    pub month_costs: BTreeMap<(NaiveDate, String), i64>,
    /// The core table: one row per day × channel × platform, with its billed bytes,
    /// their basis and its cost (`channel_platform_daily`).
    pub long: DataFrame,
    /// The wide table for finance: one row per day × channel (`channel_daily`).
    pub daily: DataFrame,
    pub monthly: DataFrame,
    pub reconciliation: DataFrame,
    /// Per drama × channel, per month, and per episode (`drama_daily`, …).
    pub dramas: super::drama::DramaTables,
    /// Name and label of each platform, in the wide table's order (for the page).
    pub platforms: Vec<(&'static str, &'static str)>,
    /// Every column's and platform's words, the platforms' included.
    pub labels: super::words::Labels,
    /// Each platform's columns in the page's monthly table.
    pub page_columns: Vec<&'static [(&'static str, super::platform::Shown)]>,
    /// What the unattributed policy moved, and what it left.
    pub allocations: super::allocation::Allocations,
    /// (platform, account, month) → price per GB in 10^-9 CNY.
    pub unit_prices: BTreeMap<(String, String, String), u128>,
    /// Each platform's FOCUS names (provider, service, …), by platform name.
    pub focus_names: BTreeMap<&'static str, super::platform::FocusNames>,
    /// The report in FOCUS ([`super::focus`]): made last, from the tables above.
    pub focus: DataFrame,
    /// Where the month of the period's last day will end ([`super::outlook`]).
    pub outlook: Option<super::outlook::Outlook>,
    /// The core table and `drama_daily` over the outlook's days (the month of the
    /// period's last day, and the 28 days before it within the months read).
    pub span_long: DataFrame,
    pub span_drama_daily: DataFrame,
}

/// The columns of the core table, in order.
pub const LONG_COLUMNS: &[&str] = &[
    "date",
    ACCOUNT,
    "channel",
    "platform",
    "billed_bytes",
    "cost_basis",
    "cost_cny",
];

/// The columns of `channel_daily`, in order: the keys, each platform's measures, each
/// platform's cost, the total, and the day's completeness.
pub fn daily_columns(platforms: &[Box<dyn Platform>]) -> Vec<String> {
    let mut columns = vec![
        "date".to_string(),
        ACCOUNT.to_string(),
        "channel".to_string(),
    ];
    for p in platforms {
        columns.extend(p.spec().wide_columns.iter().map(|c| c.to_string()));
    }
    columns.extend(money_columns(platforms));
    columns.extend(["complete".to_string(), "missing".to_string()]);
    columns
}

/// The report of `platforms`, in that order.
pub fn build_with(
    lake: &Lake,
    (from, to): (NaiveDate, NaiveDate),
    prices: &Prices,
    platforms: &[Box<dyn Platform>],
    (drama_mapping, accounts, policy): (
        &super::drama::Mapping,
        &BTreeMap<&'static str, Vec<String>>,
        &super::allocation::Unattributed,
    ),
) -> Result<ReportTables, ReportError> {
    prices.validate().map_err(ReportError::Prices)?;
    let query = |source| ReportError::Query { from, to, source };
    // Whole months are read: a tiered price depends on the month's whole volume.
    let (month_from, month_to) = (first_of_month(from), last_of_month(to));
    // Every file the month's figures come from is checked against what was written;
    // damaged ones are read around, and their days say so.
    // The requests are read from their rollups, which say which days' request files
    // are gone since (and which days were never rolled up: an error).
    let day_kinds: Vec<_> = platforms
        .iter()
        .flat_map(|p| p.spec().records.iter().copied())
        .collect();
    let mut damage =
        lake.damage_of_report_inputs(month_from, month_to, Depth::Content, &day_kinds)?;
    let checked = lake.excluding(damage.present.clone());
    let lake = &checked;
    let rollups = rollup::plan(lake, month_from, month_to)?;
    for (date, damaged) in &rollups.damage {
        damage
            .by_date
            .entry(*date)
            .or_default()
            .extend(damaged.iter().cloned());
    }
    let usage = match inputs::usage_by_day(lake, month_from, month_to)? {
        Some(frame) => frame.collect().map_err(query)?,
        None => DataFrame::empty_with_schema(&inputs::usage_schema()),
    };
    let context = Inputs::new(
        lake,
        (month_from, month_to),
        usage.clone().lazy(),
        usage_points(&usage).map_err(query)?,
        prices,
        &rollups,
    )
    .expecting(accounts);
    let mut frames = Vec::with_capacity(platforms.len());
    for p in platforms {
        frames.push(p.daily(&context)?);
    }
    if frames.iter().all(Option::is_none) {
        return Err(ReportError::NoData {
            lake: lake.location(),
        });
    }
    let frames: Vec<LazyFrame> = frames
        .into_iter()
        .zip(platforms)
        .map(|(frame, p)| frame.unwrap_or_else(|| p.empty()))
        .collect();
    let mut day_gaps = BTreeMap::new();
    for date in from.iter_days().take_while(|d| *d <= to) {
        let mut gaps = DayGaps::default();
        for p in platforms {
            (p.spec().day_gaps)(&context, date, &mut gaps)?;
        }
        if let Some(damaged) = damage.by_date.get(&date) {
            gaps.missing.push(damage_gap(damaged));
        }
        day_gaps.insert(date, gaps);
    }
    let unpriced = long_rows(&frames, platforms).map_err(query)?;
    let cost::Priced {
        rows: long,
        bills,
        allocations,
        unit_prices,
    } = cost::price(unpriced, prices, policy).map_err(query)?;
    // Each account's rows say whether its day is complete: every account with a row,
    // or named by the settings, or checked by a platform.
    let with_rows = inputs::accounts_of_query(long.clone()).map_err(query)?;
    let mut report_accounts: std::collections::BTreeSet<String> = with_rows.into_iter().collect();
    report_accounts.extend(context.checked_accounts());
    report_accounts.extend(day_gaps.values().flat_map(|g| g.accounts.keys().cloned()));
    if report_accounts.is_empty() {
        report_accounts.insert(DEFAULT_ACCOUNT.to_string());
    }
    let gaps = gaps_frame(&day_gaps, &report_accounts).map_err(query)?;
    let daily = wide(&frames, long.clone(), platforms).map_err(query)?;
    let month_costs = costs_by_day_and_channel(long.clone()).map_err(query)?;
    let day_keys = || [col("date"), col(ACCOUNT)];
    let daily_with_estimates = inputs::in_range(daily, from, to)
        .join(
            gaps.clone().lazy(),
            day_keys(),
            day_keys(),
            JoinArgs::new(JoinType::Left),
        )
        .sort_by_exprs(
            [
                col("date"),
                col(ACCOUNT),
                col("total_cost_cny"),
                col(platforms[0].spec().volume_column),
                col("channel"),
            ],
            SortMultipleOptions::default()
                .with_order_descending_multi([false, false, true, true, false])
                .with_nulls_last(true),
        )
        .collect()
        .map_err(query)?;
    let daily = daily_with_estimates
        .select(daily_columns(platforms))
        .map_err(query)?;
    // The outlook's days: the month of `to` (and the 28 days before it, as far as the
    // months read go) up to `to`; the report's own rows are the period's part of them.
    let span_from = from.min(month_from.max(super::outlook::history_from(to)));
    let in_order = |rows: LazyFrame| {
        rows.sort(
            ["date", ACCOUNT, "channel", "platform"],
            SortMultipleOptions::default(),
        )
        .select(LONG_COLUMNS.iter().map(|c| col(*c)).collect::<Vec<_>>())
        .collect()
    };
    let span_long = in_order(inputs::in_range(long, span_from, to)).map_err(query)?;
    let long = in_order(inputs::in_range(span_long.clone().lazy(), from, to)).map_err(query)?;
    let several_months = first_of_month(from) != first_of_month(to);
    let several_accounts = inputs::accounts_in(&daily_with_estimates)
        .map_err(query)?
        .len()
        > 1;
    let monthly = monthly(
        daily_with_estimates.lazy(),
        (several_months, several_accounts),
        platforms,
        bills,
    )
    .collect()
    .map_err(query)?;
    let requests = context
        .requests_by_channel()?
        .unwrap_or_else(|| DataFrame::empty_with_schema(&inputs::requests_schema()).lazy());
    let accounts = context.billed_accounts()?;
    let reconciliation = reconciliation(
        requests,
        usage.lazy(),
        gaps.lazy(),
        (from, to),
        &accounts,
        prices,
    )
    .collect()
    .map_err(query)?;
    let drama_inputs = super::drama::DramaInputs {
        lake,
        by_dir: &rollups.by_day,
        from: span_from,
        to,
        prefixes: &drama_mapping.prefixes,
        items: &drama_mapping.items,
    };
    let drama_err = |e| match e {
        super::drama::DramaError::Lake(e) => ReportError::from(e),
        super::drama::DramaError::Frame(source) => ReportError::Query { from, to, source },
    };
    let mut span_traffic = Vec::with_capacity(platforms.len());
    for p in platforms {
        span_traffic.push((p.name(), p.drama_traffic(&drama_inputs).map_err(drama_err)?));
    }
    // The period's traffic is the span's from `from` on: read once, split twice.
    let traffic = span_traffic
        .iter()
        .map(|(name, rows)| {
            let rows = rows.iter().filter(|(day, _, _)| day.0 >= from).cloned();
            (*name, rows.collect())
        })
        .collect();
    let dramas = super::drama::build(traffic, &long, prices.billing_factor, &allocations)
        .map_err(drama_err)?;
    let span_drama_daily = if span_from == from {
        dramas.daily.clone()
    } else {
        super::drama::build(
            span_traffic,
            &span_long,
            prices.billing_factor,
            &allocations,
        )
        .map_err(drama_err)?
        .daily
    };
    Ok(ReportTables {
        gaps: day_gaps,
        allocations,
        unit_prices,
        month_costs,
        dramas,
        long,
        daily,
        monthly,
        reconciliation,
        platforms: platforms
            .iter()
            .map(|p| (p.name(), p.spec().label))
            .collect(),
        labels: super::words::Labels::of(platforms),
        page_columns: platforms.iter().map(|p| p.spec().page_columns).collect(),
        focus_names: platforms
            .iter()
            .map(|p| (p.name(), p.spec().focus))
            .collect(),
        focus: DataFrame::empty(),
        outlook: None,
        span_long,
        span_drama_daily,
    })
}

fn costs_by_day_and_channel(long: LazyFrame) -> PolarsResult<BTreeMap<(NaiveDate, String), i64>> {
    let rows = long
        .select([col("date"), col("channel"), col("cost_cny")])
        .collect()?;
    let dates = rows
        .column("date")?
        .date()?
        .as_date_iter()
        .collect::<Vec<_>>();
    let channels = rows.column("channel")?.str()?.clone();
    let fen = money::fen_of(rows.column("cost_cny")?)?;
    let mut costs = BTreeMap::new();
    for (i, fen) in fen.into_iter().enumerate() {
        if let (Some(date), Some(channel)) = (dates[i], channels.get(i)) {
            *costs.entry((date, channel.to_string())).or_default() += fen.unwrap_or(0);
        }
    }
    Ok(costs)
}

/// The core table's rows, unpriced: every platform's (date, channel) rows with what
/// they are billed by.
fn long_rows(frames: &[LazyFrame], platforms: &[Box<dyn Platform>]) -> PolarsResult<LazyFrame> {
    let parts: Vec<LazyFrame> = frames
        .iter()
        .zip(platforms)
        .map(|(frame, p)| {
            frame.clone().select([
                col("date"),
                col(ACCOUNT),
                col("channel"),
                lit(p.name()).alias("platform"),
                col("billed_bytes").cast(DataType::Int64),
                col("cost_basis").cast(DataType::String),
            ])
        })
        .collect();
    concat(parts, UnionArgs::default())
}

/// The wide table: one row per (date, account, channel) of the core table (a channel
/// may use one platform only; the unattributed policy may give a channel a day it had no
/// traffic on, and take the `(unattributed)` row away), every platform's measures side by
/// side, each platform's cost pivoted from the core table, and their total.
fn wide(
    frames: &[LazyFrame],
    long: LazyFrame,
    platforms: &[Box<dyn Platform>],
) -> PolarsResult<LazyFrame> {
    let keys = || [col("date"), col(ACCOUNT), col("channel")];
    let mut wide = long
        .clone()
        .select(keys())
        .unique_stable(None, UniqueKeepStrategy::First);
    for (frame, p) in frames.iter().zip(platforms) {
        let mut columns = keys().to_vec();
        columns.extend(p.spec().wide_columns.iter().map(|c| col(*c)));
        let measures = frame.clone().select(columns);
        wide = wide.join(measures, keys(), keys(), JoinArgs::new(JoinType::Left));
    }
    let (mut total, mut estimate) = (money::zero(), money::zero());
    for (i, p) in platforms.iter().enumerate() {
        let name = cost_column(p.as_ref());
        let estimate_name = format!("{name}_estimate");
        let costs = long
            .clone()
            .filter(col("platform").eq(lit(p.name())))
            .select([
                col("date"),
                col(ACCOUNT),
                col("channel"),
                col("cost_cny").alias(name.as_str()),
                when(col("cost_basis").eq(lit(ESTIMATE_BASIS)))
                    .then(col("cost_cny"))
                    .otherwise(money::zero())
                    .alias(estimate_name.as_str()),
            ]);
        wide = wide.join(costs, keys(), keys(), JoinArgs::new(JoinType::Left));
        let cost = col(name.as_str()).fill_null(money::zero());
        let estimated = col(estimate_name.as_str()).fill_null(money::zero());
        (total, estimate) = if i == 0 {
            (cost, estimated)
        } else {
            (total + cost, estimate + estimated)
        };
    }
    Ok(wide.with_columns([
        total.cast(money::dtype()).alias("total_cost_cny"),
        estimate.cast(money::dtype()).alias(ESTIMATED_COST),
    ]))
}

/// One gap line for a day's damaged lake files: how many, and the first.
fn damage_gap(damaged: &[Damage]) -> inputs::Reason {
    let first = &damaged[0];
    match damaged.len() {
        1 => inputs::Reason::new(
            format!("lake file damaged: {first} (`run` repairs it)"),
            format!("数据湖文件损坏：{first}（`run` 会修复）"),
        ),
        n => inputs::Reason::new(
            format!("{n} lake files damaged, first: {first} (`run` repairs them)"),
            format!("{n} 个数据湖文件损坏，第一个：{first}（`run` 会修复）"),
        ),
    }
}

/// Per (date, account): whether the account's day is complete and what it lacks (the
/// day's own reasons, and the account's).
fn gaps_frame(
    gaps: &BTreeMap<NaiveDate, DayGaps>,
    accounts: &std::collections::BTreeSet<String>,
) -> PolarsResult<DataFrame> {
    let (mut dates, mut names, mut complete, mut missing) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (date, day) in gaps {
        for account in accounts {
            let gaps = day.of_account(account);
            dates.push(crate::china_time::day_number(*date));
            names.push(account.clone());
            complete.push(gaps.complete());
            missing.push(gaps.describe());
        }
    }
    DataFrame::new(
        dates.len(),
        vec![
            Int32Chunked::from_vec("date".into(), dates)
                .into_date()
                .into_column(),
            Column::new(ACCOUNT.into(), names),
            Column::new("complete".into(), complete),
            Column::new("missing".into(), missing),
        ],
    )
}

/// (account, date) → (interval, points) of the usage series each day is taken from.
fn usage_points(usage: &DataFrame) -> PolarsResult<BTreeMap<(String, NaiveDate), UsageDay>> {
    let dates = usage.column("date")?.date()?;
    let accounts = usage.column(ACCOUNT)?.str()?;
    let intervals = usage.column("usage_interval_min")?.cast(&DataType::Int64)?;
    let points = usage.column("usage_points")?.cast(&DataType::Int64)?;
    let billed = usage.column("billed_bytes")?.cast(&DataType::Int64)?;
    let mut out = BTreeMap::new();
    for ((((date, interval), count), bytes), account) in dates
        .physical()
        .iter()
        .zip(intervals.i64()?.iter())
        .zip(points.i64()?.iter())
        .zip(billed.i64()?.iter())
        .zip(accounts.iter())
    {
        if let (Some(date), Some(interval_min), Some(points)) = (date, interval, count) {
            let day = UsageDay {
                interval_min,
                points,
                billed_bytes: bytes.unwrap_or(0),
            };
            let account = account.unwrap_or(DEFAULT_ACCOUNT).to_string();
            out.insert((account, crate::china_time::date_of_day_number(date)), day);
        }
    }
    Ok(out)
}
