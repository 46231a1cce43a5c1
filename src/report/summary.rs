//! Requests and log bytes per China day and channel: the first look at a lake.

use chrono::NaiveDate;
use polars::prelude::*;

use crate::lake::UNTAGGED;
use crate::lake::{Lake, LakeError, REQUESTS};

/// One row per (date, channel), untagged traffic as "(untagged)", biggest first per day.
pub fn channel_day_summary(
    lake: &Lake,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<DataFrame, LakeError> {
    let mut requests = lake.scan(REQUESTS)?;
    if let Some(from) = from {
        requests = requests.filter(col("date").gt_eq(lit(from)));
    }
    if let Some(to) = to {
        requests = requests.filter(col("date").lt_eq(lit(to)));
    }
    requests
        .group_by([col("date"), col("channel").fill_null(lit(UNTAGGED))])
        .agg([
            len().alias("requests"),
            col("bytes").sum().alias("log_bytes"),
        ])
        .with_column(share_of_day("log_bytes").alias("share"))
        .sort_by_exprs(
            [col("date"), col("log_bytes")],
            SortMultipleOptions::default().with_order_descending_multi([false, true]),
        )
        .collect()
        .map_err(|source| LakeError::Query {
            table: REQUESTS.into(),
            source,
        })
}

/// A column's share of its day's total (a window over `date`).
pub fn share_of_day(column: &str) -> Expr {
    let day_total = col(column)
        .sum()
        .over([col("date")])
        .expect("a window over a plain column is valid");
    col(column).cast(DataType::Float64) / day_total.cast(DataType::Float64)
}
