//! `reconciliation`: per day of the period and account, the log bytes, the estimate from
//! them, the billed bytes and how far apart they are (each account's logs against its
//! own bill).

use chrono::NaiveDate;
use polars::prelude::*;

use super::exprs::{no_negative_zero, round_bytes};
use super::inputs;
use super::prices::Prices;
use crate::lake::ACCOUNT;

/// Per day of the period and account: log bytes, the estimate, the billed bytes and how
/// far apart they are, and whether the account's day is complete (`gaps`, per date and
/// account). Every day is listed for every account of `accounts`, also one without any
/// data.
pub(super) fn reconciliation(
    requests: LazyFrame,
    usage: LazyFrame,
    gaps: LazyFrame,
    (from, to): (NaiveDate, NaiveDate),
    accounts: &[String],
    prices: &Prices,
) -> LazyFrame {
    let keys = || [col("date"), col(ACCOUNT)];
    let per_day = requests.group_by(keys()).agg([
        col("requests").sum().alias("requests"),
        col("log_bytes").sum().alias("log_bytes"),
    ]);
    let estimate =
        round_bytes(col("log_bytes").cast(DataType::Float64) * lit(prices.billing_factor));
    let accounts = DataFrame::new(
        accounts.len(),
        vec![Column::new(ACCOUNT.into(), accounts.to_vec())],
    )
    .expect("one column")
    .lazy();
    inputs::in_range(gaps, from, to)
        .join(
            accounts,
            [col(ACCOUNT)],
            [col(ACCOUNT)],
            JoinArgs::new(JoinType::Inner),
        )
        .join(per_day, keys(), keys(), JoinArgs::new(JoinType::Left))
        .join(usage, keys(), keys(), JoinArgs::new(JoinType::Left))
        .with_column(estimate.alias("estimated_billed_bytes"))
        .with_columns([
            no_negative_zero(
                ((col("estimated_billed_bytes").cast(DataType::Float64)
                    - col("billed_bytes").cast(DataType::Float64))
                    / col("billed_bytes").cast(DataType::Float64)
                    * lit(100.0))
                .round(2, RoundMode::HalfAwayFromZero),
            )
            .alias("deviation_pct"),
            (col("billed_bytes").cast(DataType::Float64)
                / col("log_bytes").cast(DataType::Float64))
            .round(4, RoundMode::HalfAwayFromZero)
            .alias("billed_per_log_byte"),
        ])
        .sort(["date", ACCOUNT], SortMultipleOptions::default())
        .select([
            col("date"),
            col(ACCOUNT),
            col("requests"),
            col("log_bytes"),
            col("estimated_billed_bytes"),
            col("billed_bytes"),
            col("deviation_pct"),
            col("billed_per_log_byte"),
            col("usage_interval_min"),
            col("usage_points"),
            col("complete"),
            col("missing"),
        ])
}
