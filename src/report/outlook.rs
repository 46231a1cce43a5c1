//! The month-end outlook of a report: where the month of its last day will end for the
//! studio, each platform, the top channels and the top dramas ([`super::forecast`]), and
//! each budget of `[budgets]` against it ([`super::budgets`]).
//!
//! It is read from the days the report priced ([`History`]): the month of its last day,
//! and the 28 days before that day as far as the months read go (a report reads whole
//! months for the bill; the outlook adds only the per-directory rollups of those earlier
//! days, for the dramas' split). Each day's cost is the
//! cost rule's, so the month to date is exact to the fen.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use polars::prelude::*;

use super::budgets::{self, Budget, BudgetsConfig, Scope};
use super::forecast::{month_end, Forecast, WINDOW_DAYS};
use super::money;
use crate::lake::UNMATCHED;

/// Channels and dramas the outlook names (the most expected first).
pub const TOP: usize = 5;

#[derive(Debug, Clone)]
pub struct Outlook {
    /// The last day whose data counts.
    pub as_of: NaiveDate,
    pub studio: Forecast,
    /// (platform name, its forecast), in the report's platform order.
    pub platforms: Vec<(&'static str, Forecast)>,
    pub channels: Vec<(String, Forecast)>,
    pub dramas: Vec<(String, Forecast)>,
    pub budgets: Vec<Budget>,
}

/// The first day the outlook of a report ending `to` reads: the month's first, or 28
/// days back when that is earlier.
pub fn history_from(to: NaiveDate) -> NaiveDate {
    let window = to
        .checked_sub_days(chrono::Days::new(WINDOW_DAYS - 1))
        .unwrap_or(to);
    window.min(crate::china_time::first_of_month(to))
}

type Series = BTreeMap<NaiveDate, i64>;

/// What the outlook reads: a report's core table (`long`), its `drama_daily`, and its
/// platforms' names in order; holding at least [`history_from`]`(as_of)..=as_of`.
pub struct History<'a> {
    pub long: &'a DataFrame,
    pub drama_daily: &'a DataFrame,
    pub platforms: Vec<&'static str>,
}

/// The outlook as of `as_of` from `tables`.
pub fn outlook(
    tables: &History,
    as_of: NaiveDate,
    config: &BudgetsConfig,
) -> PolarsResult<Outlook> {
    let mut studio = Series::new();
    let mut by_platform: BTreeMap<String, Series> = BTreeMap::new();
    let mut by_channel: BTreeMap<String, Series> = BTreeMap::new();
    for (date, platform, channel, fen) in rows(tables.long, "platform", "channel")? {
        *studio.entry(date).or_default() += fen;
        *by_platform
            .entry(platform)
            .or_default()
            .entry(date)
            .or_default() += fen;
        *by_channel
            .entry(channel)
            .or_default()
            .entry(date)
            .or_default() += fen;
    }
    let mut by_drama: BTreeMap<String, Series> = BTreeMap::new();
    for (date, drama, _, fen) in rows(tables.drama_daily, "drama_name", "channel")? {
        *by_drama.entry(drama).or_default().entry(date).or_default() += fen;
    }
    let forecast = |series: Option<&Series>| month_end(series.unwrap_or(&Series::new()), as_of);
    let top = |all: &BTreeMap<String, Series>| -> Vec<(String, Forecast)> {
        let mut ranked: Vec<(String, Forecast)> = all
            .iter()
            .map(|(name, series)| (name.clone(), forecast(Some(series))))
            .filter(|(name, f)| f.expected_fen > 0 && name != UNMATCHED)
            .collect();
        ranked.sort_by(|a, b| b.1.expected_fen.cmp(&a.1.expected_fen).then(a.0.cmp(&b.0)));
        ranked.truncate(TOP);
        ranked
    };
    let budgets = budgets::evaluate(config, |scope| match scope {
        Scope::Studio => forecast(Some(&studio)),
        Scope::Channel(c) => forecast(by_channel.get(c)),
        Scope::Drama(d) => forecast(by_drama.get(d)),
    });
    Ok(Outlook {
        as_of,
        studio: forecast(Some(&studio)),
        platforms: tables
            .platforms
            .iter()
            .map(|name| (*name, forecast(by_platform.get(*name))))
            .collect(),
        channels: top(&by_channel),
        dramas: top(&by_drama),
        budgets,
    })
}

/// (date, key, other key, fen) of each row of a table with `date` and `cost_cny`.
fn rows(
    frame: &DataFrame,
    key: &str,
    other: &str,
) -> PolarsResult<Vec<(NaiveDate, String, String, i64)>> {
    let dates: Vec<Option<NaiveDate>> = frame.column("date")?.date()?.as_date_iter().collect();
    let keys = frame.column(key)?.str()?;
    let others = frame.column(other)?.str()?;
    let fen = money::fen_of(frame.column("cost_cny")?)?;
    Ok((0..frame.height())
        .filter_map(|i| {
            Some((
                dates[i]?,
                keys.get(i).unwrap_or_default().to_string(),
                others.get(i).unwrap_or_default().to_string(),
                fen[i].unwrap_or(0),
            ))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_history_is_the_month_or_the_four_weeks_before() {
        let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        assert_eq!(history_from(day(11, 30)), day(11, 1));
        assert_eq!(history_from(day(11, 28)), day(11, 1));
        assert_eq!(history_from(day(11, 10)), day(10, 14));
        assert_eq!(history_from(day(12, 1)), day(11, 4));
    }
}
