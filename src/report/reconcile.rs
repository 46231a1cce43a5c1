//! `reconciliation`: per day of the period, the log bytes, the estimate from them, the
//! billed bytes and how far apart they are.

use chrono::NaiveDate;
use polars::prelude::*;

use super::exprs::{no_negative_zero, round_bytes};
use super::inputs;
use super::prices::Prices;

/// Per day of the period: log bytes, the estimate, the billed bytes and how far apart
/// they are. Every day is listed, also one without any data.
pub(super) fn reconciliation(
    requests: LazyFrame,
    usage: LazyFrame,
    gaps: LazyFrame,
    from: NaiveDate,
    to: NaiveDate,
    prices: &Prices,
) -> LazyFrame {
    let per_day = requests.group_by([col("date")]).agg([
        col("requests").sum().alias("requests"),
        col("log_bytes").sum().alias("log_bytes"),
    ]);
    let estimate =
        round_bytes(col("log_bytes").cast(DataType::Float64) * lit(prices.billing_factor));
    inputs::in_range(gaps, from, to)
        .join(
            per_day,
            [col("date")],
            [col("date")],
            JoinArgs::new(JoinType::Left),
        )
        .join(
            usage,
            [col("date")],
            [col("date")],
            JoinArgs::new(JoinType::Left),
        )
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
        .sort(["date"], SortMultipleOptions::default())
        .select([
            col("date"),
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
