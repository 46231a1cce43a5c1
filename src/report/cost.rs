//! The one cost rule, for every platform, anchored on the bill. For each platform and
//! month, the bill is the platform's price applied to the month's billed bytes (tiers on
//! the whole volume), rounded once to the fen ([`Prices::month_bill_fen`]). It is then
//! split, by the largest remainder in whole fen ([`super::apportion`]): over the month's
//! days by their billed bytes, then over each day's channels by theirs. So every level
//! adds up exactly: the rows of a day make the day, the days make the month's bill. Ties
//! go to the earlier day, and within a day to the channel first by name. A month still
//! in progress is billed on its volume so far (month to date). Last, the policy for
//! billed usage no log explains ([`super::allocation`]) moves the `(unattributed)` rows'
//! fen and bytes, within their day, to channels.

use polars::prelude::*;

use std::collections::BTreeMap;

use super::allocation::{self, Allocations, Unattributed};
use super::apportion::largest_remainder;
use super::money;
use super::prices::Prices;
use crate::lake::{ACCOUNT, DEFAULT_ACCOUNT};

/// How a month's bill was reached: on its whole volume, or (a month not over yet in
/// China) on its volume so far, which later days may move into a cheaper band.
pub const WHOLE_MONTH: &str = "whole month";
pub const MONTH_TO_DATE: &str = "month to date";

/// Rows priced, and each (platform, account, month)'s bill (`platform`, `account`,
/// `month`, `bill_cny`, `bill_basis`).
pub struct Priced {
    pub rows: LazyFrame,
    pub bills: DataFrame,
    /// What the unattributed policy moved.
    pub allocations: Allocations,
    /// (platform, account, month) → its price per GB in 10^-9 CNY: the flat price, or
    /// with tiers the month's average ([`Prices::unit_price_nano`]).
    pub unit_prices: BTreeMap<(String, String, String), u128>,
}

/// Adds `month` and `cost_cny` to rows of `date`, `account`, `channel`, `platform`,
/// `billed_bytes`
/// that cover whole months (a month's bill depends on its whole volume), and returns the
/// bills they were split from.
pub fn price(rows: LazyFrame, prices: &Prices, policy: &Unattributed) -> PolarsResult<Priced> {
    let mut rows = rows
        .with_column(col("date").dt().strftime("%Y-%m").alias("month"))
        .sort(
            ["platform", ACCOUNT, "month", "date", "channel"],
            SortMultipleOptions::default(),
        )
        .collect()?;
    let (fen, bills, unit_prices) = apportion_bills(&rows, prices)?;
    rows.with_column(money::column_from_fen("cost_cny", fen))?;
    let (rows, allocations) = allocation::apply(rows, policy)?;
    Ok(Priced {
        rows: rows.lazy(),
        bills,
        allocations,
        unit_prices,
    })
}

/// Each row's share of its (platform, account, month)'s bill, in fen (null where a row
/// has no billed bytes), and the bills. Rows come sorted by platform, account, month,
/// date, channel: each account of a platform is billed on its own volume and price.
type UnitPrices = BTreeMap<(String, String, String), u128>;

fn apportion_bills(
    rows: &DataFrame,
    prices: &Prices,
) -> PolarsResult<(Vec<Option<i64>>, DataFrame, UnitPrices)> {
    let platforms = rows.column("platform")?.str()?;
    let accounts = rows.column(ACCOUNT)?.str()?;
    let months = rows.column("month")?.str()?;
    let dates = rows.column("date")?.date()?.physical().clone();
    let bytes = rows.column("billed_bytes")?.i64()?;
    let units = |i: usize| bytes.get(i).map(|b| b.max(0) as u64);
    let mut fen = vec![None; rows.height()];
    let mut unit_prices = UnitPrices::new();
    let (mut bill_platforms, mut bill_accounts, mut bill_months, mut bill_fen) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let key = |i| (platforms.get(i), accounts.get(i), months.get(i));
    for month in runs(rows.height(), key) {
        let volume: u128 = month.clone().filter_map(units).map(u128::from).sum();
        let platform = platforms.get(month.start).unwrap_or_default();
        let account = accounts.get(month.start).unwrap_or(DEFAULT_ACCOUNT);
        let bill = prices.month_bill_fen(platform, account, volume);
        let month_name = months.get(month.start).unwrap_or_default();
        unit_prices.insert(
            (platform.into(), account.into(), month_name.into()),
            prices.unit_price_nano(platform, account, volume),
        );
        bill_platforms.push(platform);
        bill_accounts.push(account);
        bill_months.push(months.get(month.start).unwrap_or_default());
        bill_fen.push(Some(bill as i64));
        let days: Vec<std::ops::Range<usize>> =
            runs_within(month.clone(), |i| dates.get(i)).collect();
        let day_volumes: Vec<u64> = days
            .iter()
            .map(|day| day.clone().filter_map(units).sum())
            .collect();
        let day_bills = largest_remainder(bill as u64, &day_volumes);
        for (day, day_bill) in days.into_iter().zip(day_bills) {
            let weights: Vec<u64> = day.clone().map(|i| units(i).unwrap_or(0)).collect();
            for (i, part) in day.zip(largest_remainder(day_bill, &weights)) {
                fen[i] = units(i).map(|_| part as i64);
            }
        }
    }
    let bills = DataFrame::new(
        bill_fen.len(),
        vec![
            Column::new("platform".into(), bill_platforms),
            Column::new(ACCOUNT.into(), bill_accounts),
            Column::new("month".into(), bill_months),
            money::column_from_fen("bill_cny", bill_fen),
        ],
    )?
    .lazy()
    .with_column(
        when(col("month").gt_eq(lit(crate::china_time::today().format("%Y-%m").to_string())))
            .then(lit(MONTH_TO_DATE))
            .otherwise(lit(WHOLE_MONTH))
            .alias("bill_basis"),
    )
    .collect()?;
    Ok((fen, bills, unit_prices))
}

/// The ranges of consecutive rows of `0..len` with the same `key`.
fn runs<K: PartialEq>(
    len: usize,
    key: impl Fn(usize) -> K,
) -> impl Iterator<Item = std::ops::Range<usize>> {
    runs_within(0..len, key)
}

fn runs_within<K: PartialEq>(
    range: std::ops::Range<usize>,
    key: impl Fn(usize) -> K,
) -> impl Iterator<Item = std::ops::Range<usize>> {
    let mut start = range.start;
    std::iter::from_fn(move || {
        if start >= range.end {
            return None;
        }
        let first = key(start);
        let end = (start..range.end)
            .find(|&i| key(i) != first)
            .unwrap_or(range.end);
        let run = start..end;
        start = end;
        Some(run)
    })
}
