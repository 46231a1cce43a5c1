//! Requests and log bytes per China day and channel: the first look at a lake.

use chrono::NaiveDate;
use polars::prelude::*;

use super::error::ReportError;
use crate::lake::UNTAGGED;
use crate::lake::{rollup, Lake, LakeError, REQUESTS};

/// One row per (date, channel), untagged traffic as "(untagged)", biggest first per day:
/// from the 5-minute rollup (a lake without requests is an empty table error, one with
/// requests not rolled up yet names `cdncost rollup`).
pub fn channel_day_summary(
    lake: &Lake,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<DataFrame, ReportError> {
    let Some((first, last)) = lake.request_days()? else {
        return Err(LakeError::EmptyTable {
            table: REQUESTS.into(),
            root: lake.location().into(),
        }
        .into());
    };
    let (from, to) = (
        from.unwrap_or(first).max(first),
        to.unwrap_or(last).min(last),
    );
    let read = rollup::plan(lake, from, to)?;
    let Some(five_minutes) = read.frames[0].clone() else {
        return Ok(DataFrame::empty());
    };
    five_minutes
        .group_by([col("date"), col("channel").fill_null(lit(UNTAGGED))])
        .agg([
            col("requests").sum().alias("requests"),
            col("bytes").sum().alias("log_bytes"),
        ])
        .with_column(share_of_day("log_bytes").alias("share"))
        .sort_by_exprs(
            [col("date"), col("log_bytes"), col("channel")],
            SortMultipleOptions::default().with_order_descending_multi([false, true, false]),
        )
        .collect()
        .map_err(|source| ReportError::Query { from, to, source })
}

/// A column's share of its day's total (a window over `date`).
pub fn share_of_day(column: &str) -> Expr {
    let day_total = col(column)
        .sum()
        .over([col("date")])
        .expect("a window over a plain column is valid");
    crate::report::exprs::share(col(column), day_total)
}

/// A column's share of its account's day (a window over `date` and `account`): what a
/// channel's bytes are of the bill they are allocated from.
pub fn share_of_account_day(column: &str) -> Expr {
    let day_total = col(column)
        .sum()
        .over([col("date"), col(crate::lake::ACCOUNT)])
        .expect("a window over plain columns is valid");
    crate::report::exprs::share(col(column), day_total)
}
