//! The page's rows: each day × channel (or drama) as the charts and cards use it, and
//! what the charts measure.

use std::collections::BTreeMap;

use polars::prelude::*;

use super::format::*;
use crate::lake::ACCOUNT;
use crate::report::tables::ReportTables;

/// What the charts measure: money when prices are set, else billed traffic in GB.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Measure {
    Cost,
    Traffic,
}

impl Measure {
    pub(super) fn show(self, v: f64) -> String {
        match self {
            Measure::Cost => format!("¥{}", money(v)),
            Measure::Traffic => format!("{v:.2} GB"),
        }
    }
}

pub(super) struct DailyRow {
    pub(super) date: String,
    pub(super) account: String,
    pub(super) channel: String,
    /// The row's cost in fen, exact (the cards add these up).
    pub(super) cost_fen: i64,
    /// Each platform's cost in fen, in the order of `ReportTables::platforms`.
    pub(super) costs_fen: Vec<i64>,
    pub(super) traffic_gb: f64,
}

/// The daily rows as the charts use them; a row's traffic is what its platforms bill it
/// by, summed from the core table.
pub(super) fn daily_rows(tables: &ReportTables, gb: f64) -> PolarsResult<Vec<DailyRow>> {
    let daily = &tables.daily;
    let dates = strings(daily, "date")?;
    let accounts = strings(daily, ACCOUNT)?;
    let channels = strings(daily, "channel")?;
    let total = fen(daily, "total_cost_cny")?;
    let costs: Vec<Vec<Option<i64>>> = tables
        .platforms
        .iter()
        .map(|(name, _)| fen(daily, &format!("{name}_cost_cny")))
        .collect::<PolarsResult<_>>()?;
    let long = &tables.long;
    let mut billed: std::collections::HashMap<(String, String, String), f64> = Default::default();
    for (((date, account), channel), bytes) in strings(long, "date")?
        .into_iter()
        .zip(strings(long, ACCOUNT)?)
        .zip(strings(long, "channel")?)
        .zip(floats(long, "billed_bytes")?)
    {
        *billed.entry((date, account, channel)).or_default() += bytes.unwrap_or(0.0);
    }
    Ok((0..daily.height())
        .map(|i| DailyRow {
            date: dates[i].clone(),
            account: accounts[i].clone(),
            channel: channels[i].clone(),
            cost_fen: total[i].unwrap_or(0),
            costs_fen: costs.iter().map(|c| c[i].unwrap_or(0)).collect(),
            traffic_gb: billed
                .get(&(dates[i].clone(), accounts[i].clone(), channels[i].clone()))
                .copied()
                .unwrap_or(0.0)
                / gb,
        })
        .collect())
}

/// Each channel's total for the period, biggest first (ties by name).
pub(super) fn ranked_channels<'a>(
    rows: &'a [DailyRow],
    value: &impl Fn(&DailyRow) -> f64,
) -> Vec<(&'a str, f64)> {
    let mut per_channel: BTreeMap<&str, f64> = BTreeMap::new();
    for r in rows {
        *per_channel.entry(&r.channel).or_default() += value(r);
    }
    let mut ranked: Vec<(&str, f64)> = per_channel.into_iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    ranked
}

/// `drama_daily` as chart rows: one per (day, drama, channel), the drama in `channel`.
pub(super) fn drama_rows(daily: &DataFrame, gb: f64) -> PolarsResult<Vec<DailyRow>> {
    let (dates, dramas) = (strings(daily, "date")?, strings(daily, "drama_name")?);
    let accounts = strings(daily, ACCOUNT)?;
    let (cost, billed) = (fen(daily, "cost_cny")?, floats(daily, "billed_bytes")?);
    Ok((0..daily.height())
        .map(|i| DailyRow {
            date: dates[i].clone(),
            account: accounts[i].clone(),
            channel: dramas[i].clone(),
            cost_fen: cost[i].unwrap_or(0),
            costs_fen: Vec::new(),
            traffic_gb: billed[i].unwrap_or(0.0) / gb,
        })
        .collect())
}
