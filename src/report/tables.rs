//! The finance tables: `channel_daily`, `channel_monthly` and `reconciliation`.
//!
//! Every join and aggregation is a polars lazy query over the inputs of [`super::inputs`];
//! only the tiered price of each month, a scalar per month, is worked out in Rust.
//!
//! Rounding: costs are computed unrounded and rounded half away from zero to 0.01 CNY
//! once, per (day, channel) row. Everything above a row is a sum of rounded rows:
//! `total_cost_cny` = WeChat + Polyv cost of the row, a month = the sum of its days, a
//! total row = the sum of its channels. So every figure equals the sum of the figures it
//! is made of, cent for cent; the price of that is up to 0.005 CNY of rounding per row
//! against the month's unrounded tiered cost.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use polars::prelude::*;

use super::inputs::{self, DayGaps, BUCKET_SECS};
use super::prices::{Platform, Prices};
use crate::lake::{Lake, LakeError};
use crate::report::summary::share_of_day;

/// The row of a month's (or the period's) totals in `channel_monthly`.
pub const TOTAL_CHANNEL: &str = "(total)";
/// The `month` of the whole period's total row, when the period spans several months.
pub const ALL_MONTHS: &str = "all";

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("report {from}..{to}: {}", first_line(source))]
    Query {
        from: NaiveDate,
        to: NaiveDate,
        source: PolarsError,
    },
    #[error("{0}")]
    Prices(String),
    #[error("the lake {lake} has no CDN requests and no Polyv traffic: ingest or fetch first (cdncost ingest / cdncost fetch / cdncost run)")]
    NoData { lake: String },
}

/// polars' errors end with the whole query plan, several times: the first line says it.
fn first_line(error: &PolarsError) -> String {
    error
        .to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

pub struct ReportTables {
    /// What each day of the period lacks (empty when complete).
    pub gaps: BTreeMap<NaiveDate, DayGaps>,
    pub daily: DataFrame,
    pub monthly: DataFrame,
    pub reconciliation: DataFrame,
}

/// The columns of `channel_daily`, in order.
pub const DAILY_COLUMNS: &[&str] = &[
    "date",
    "channel",
    "wechat_requests",
    "wechat_log_bytes",
    "wechat_billed_bytes_est",
    "wechat_peak_mbps",
    "wechat_p95_mbps",
    "wechat_share",
    "wechat_allocated_billed_bytes",
    "wechat_cost_basis",
    "polyv_pc_bytes",
    "polyv_mobile_bytes",
    "polyv_bytes",
    "wechat_cost_cny",
    "polyv_cost_cny",
    "total_cost_cny",
    "complete",
    "missing",
];

/// Sums carried from `channel_daily` into `channel_monthly`.
const SUMMED: &[&str] = &[
    "wechat_requests",
    "wechat_log_bytes",
    "wechat_billed_bytes_est",
    "wechat_allocated_billed_bytes",
    "polyv_pc_bytes",
    "polyv_mobile_bytes",
    "polyv_bytes",
];
const MONEY: &[&str] = &["wechat_cost_cny", "polyv_cost_cny", "total_cost_cny"];

pub fn build(
    lake: &Lake,
    from: NaiveDate,
    to: NaiveDate,
    prices: &Prices,
) -> Result<ReportTables, ReportError> {
    prices.validate().map_err(ReportError::Prices)?;
    let query = |source| ReportError::Query { from, to, source };
    // Whole months are read: a tiered price depends on the month's whole volume.
    let (month_from, month_to) = (first_of_month(from), last_of_month(to));
    let wechat = inputs::wechat_by_channel(lake, month_from, month_to)?;
    let polyv = inputs::polyv_by_channel(lake, month_from, month_to)?;
    if wechat.is_none() && polyv.is_none() {
        return Err(ReportError::NoData {
            lake: lake.root().display().to_string(),
        });
    }
    let usage = match inputs::usage_by_day(lake, month_from, month_to)? {
        Some(frame) => frame.collect().map_err(query)?,
        None => DataFrame::empty_with_schema(&usage_schema()),
    };
    let day_gaps = inputs::day_gaps(lake, from, to, &usage_points(&usage).map_err(query)?)?;
    let gaps = gaps_frame(&day_gaps).map_err(query)?;

    let wechat = wechat.unwrap_or_else(|| DataFrame::empty_with_schema(&wechat_schema()).lazy());
    let polyv = polyv.unwrap_or_else(|| DataFrame::empty_with_schema(&polyv_schema()).lazy());
    let rows = priced_rows(wechat.clone(), polyv, usage.clone().lazy(), prices).map_err(query)?;
    let daily = inputs::in_range(rows, from, to)
        .join(
            gaps.clone().lazy(),
            [col("date")],
            [col("date")],
            JoinArgs::new(JoinType::Left),
        )
        .sort_by_exprs(
            [
                col("date"),
                col("total_cost_cny"),
                col("wechat_log_bytes"),
                col("channel"),
            ],
            SortMultipleOptions::default()
                .with_order_descending_multi([false, true, true, false])
                .with_nulls_last(true),
        )
        .select(DAILY_COLUMNS.iter().map(|c| col(*c)).collect::<Vec<_>>())
        .collect()
        .map_err(query)?;
    let several_months = first_of_month(from) != first_of_month(to);
    let monthly = monthly(daily.clone().lazy(), several_months)
        .collect()
        .map_err(query)?;
    let reconciliation = reconciliation(wechat, usage.lazy(), gaps.lazy(), from, to, prices)
        .collect()
        .map_err(query)?;
    Ok(ReportTables {
        gaps: day_gaps,
        daily,
        monthly,
        reconciliation,
    })
}

/// Day × channel rows of both platforms, with the WeChat measures and the costs.
fn priced_rows(
    wechat: LazyFrame,
    polyv: LazyFrame,
    usage: LazyFrame,
    prices: &Prices,
) -> PolarsResult<LazyFrame> {
    let factor = prices.billing_factor;
    // Bytes of one 5-minute bucket → megabits per second, billed.
    let to_mbps = |c: &str| {
        (col(c).cast(DataType::Float64) * lit(8.0 * factor / BUCKET_SECS as f64 / 1e6))
            .round(3, RoundMode::HalfAwayFromZero)
    };
    let joined = wechat
        .join(
            polyv,
            [col("date"), col("channel")],
            [col("date"), col("channel")],
            JoinArgs::new(JoinType::Full).with_coalesce(JoinCoalesce::CoalesceColumns),
        )
        .join(
            usage,
            [col("date")],
            [col("date")],
            JoinArgs::new(JoinType::Left),
        )
        .with_columns([
            round_bytes(col("wechat_log_bytes").cast(DataType::Float64) * lit(factor))
                .alias("wechat_billed_bytes_est"),
            to_mbps("peak_bucket_bytes").alias("wechat_peak_mbps"),
            to_mbps("p95_bucket_bytes").alias("wechat_p95_mbps"),
            share_of_day("wechat_log_bytes").alias("wechat_share"),
            col("date").dt().strftime("%Y-%m").alias("month"),
        ])
        .with_column(
            round_bytes(col("billed_bytes").cast(DataType::Float64) * col("wechat_share"))
                .alias("wechat_allocated_billed_bytes"),
        )
        .with_columns([
            when(col("wechat_allocated_billed_bytes").is_not_null())
                .then(lit("usage"))
                .when(col("wechat_billed_bytes_est").is_not_null())
                .then(lit("estimate"))
                .otherwise(lit(NULL).cast(DataType::String))
                .alias("wechat_cost_basis"),
            coalesce(&[
                col("wechat_allocated_billed_bytes"),
                col("wechat_billed_bytes_est"),
            ])
            .alias("wechat_basis_bytes"),
            col("wechat_share").round(6, RoundMode::HalfAwayFromZero),
        ]);
    let rates = monthly_rates(joined.clone(), prices)?;
    let cost = |bytes: &str, rate: &str| {
        (col(bytes).cast(DataType::Float64) * col(rate)).round(2, RoundMode::HalfAwayFromZero)
    };
    Ok(joined
        .join(
            rates.lazy(),
            [col("month")],
            [col("month")],
            JoinArgs::new(JoinType::Left),
        )
        .with_columns([
            cost("wechat_basis_bytes", "wechat_cny_per_byte").alias("wechat_cost_cny"),
            cost("polyv_bytes", "polyv_cny_per_byte").alias("polyv_cost_cny"),
        ])
        .with_column(
            (col("wechat_cost_cny").fill_null(lit(0.0))
                + col("polyv_cost_cny").fill_null(lit(0.0)))
            .round(2, RoundMode::HalfAwayFromZero)
            .alias("total_cost_cny"),
        ))
}

fn round_bytes(expr: Expr) -> Expr {
    expr.round(0, RoundMode::HalfAwayFromZero)
        .cast(DataType::Int64)
}

/// Each month's effective CNY per byte, per platform, from its whole volume.
fn monthly_rates(rows: LazyFrame, prices: &Prices) -> PolarsResult<DataFrame> {
    let volumes = rows
        .group_by([col("month")])
        .agg([
            col("wechat_basis_bytes").sum().cast(DataType::Float64),
            col("polyv_bytes").sum().cast(DataType::Float64),
        ])
        .collect()?;
    let months = volumes.column("month")?.str()?;
    let wechat = volumes.column("wechat_basis_bytes")?.f64()?;
    let polyv = volumes.column("polyv_bytes")?.f64()?;
    let rate = |platform, bytes: Option<f64>| {
        prices.effective_cny_per_byte(platform, bytes.unwrap_or(0.0))
    };
    let wechat_rates: Vec<f64> = wechat.iter().map(|b| rate(Platform::Wechat, b)).collect();
    let polyv_rates: Vec<f64> = polyv.iter().map(|b| rate(Platform::Polyv, b)).collect();
    DataFrame::new(
        volumes.height(),
        vec![
            months.clone().into_column(),
            Column::new("wechat_cny_per_byte".into(), wechat_rates),
            Column::new("polyv_cny_per_byte".into(), polyv_rates),
        ],
    )
}

/// Month × channel sums of the daily rows, a total row per month, and a total of the
/// period when it spans several months.
fn monthly(daily: LazyFrame, several_months: bool) -> LazyFrame {
    let daily = daily.with_column(col("date").dt().strftime("%Y-%m").alias("month"));
    let sums = |frame: LazyFrame, keys: Vec<Expr>| {
        let mut aggs: Vec<Expr> = SUMMED.iter().map(|c| sum_or_null(col(*c))).collect();
        aggs.extend(MONEY.iter().map(|c| {
            sum_or_null(col(*c))
                .round(2, RoundMode::HalfAwayFromZero)
                .alias(*c)
        }));
        aggs.extend([
            col("date").n_unique().cast(DataType::Int64).alias("days"),
            col("wechat_peak_mbps").max(),
            basis_of_sum(),
            col("complete").all(false),
        ]);
        if keys.is_empty() {
            frame.select(aggs)
        } else {
            frame.group_by(keys).agg(aggs)
        }
    };
    // Parts are stacked, so each has the same columns in the same order.
    let mut order = vec![col("month"), col("channel"), col("days")];
    order.extend(SUMMED.iter().chain(MONEY).map(|c| col(*c)));
    order.extend([
        col("wechat_peak_mbps"),
        col("wechat_cost_basis"),
        col("complete"),
    ]);
    let no_peak = || lit(NULL).cast(DataType::Float64).alias("wechat_peak_mbps");
    let per_channel = sums(daily.clone(), vec![col("month"), col("channel")]).select(order.clone());
    let per_month = sums(daily.clone(), vec![col("month")])
        .with_columns([lit(TOTAL_CHANNEL).alias("channel"), no_peak()])
        .select(order.clone());
    let period = sums(daily, vec![])
        .with_columns([
            lit(ALL_MONTHS).alias("month"),
            lit(TOTAL_CHANNEL).alias("channel"),
            no_peak(),
        ])
        .select(order);
    // The daily measures in their order (a month has no p95: it is a daily figure),
    // between the month's keys and its shares.
    let per_day_only = ["date", "channel", "wechat_p95_mbps", "complete", "missing"];
    let columns: Vec<&str> = ["month", "channel", "days"]
        .into_iter()
        .chain(
            DAILY_COLUMNS
                .iter()
                .copied()
                .filter(|c| !per_day_only.contains(c)),
        )
        .chain(["cost_share", "complete"])
        .collect();
    let month_total = |c: &str| {
        col(c)
            .filter(col("channel").neq(lit(TOTAL_CHANNEL)))
            .sum()
            .over([col("month")])
            .expect("a window over a plain column is valid")
            .cast(DataType::Float64)
    };
    let shares = [
        (col("wechat_log_bytes").cast(DataType::Float64) / month_total("wechat_log_bytes"))
            .round(6, RoundMode::HalfAwayFromZero)
            .alias("wechat_share"),
        when(month_total("total_cost_cny").gt(lit(0.0)))
            .then(col("total_cost_cny") / month_total("total_cost_cny"))
            .otherwise(lit(NULL).cast(DataType::Float64))
            .round(6, RoundMode::HalfAwayFromZero)
            .alias("cost_share"),
    ];
    let months = concat(
        [per_channel, per_month],
        UnionArgs {
            to_supertypes: true,
            ..Default::default()
        },
    )
    .expect("both parts have the same columns")
    .with_columns(shares);
    // The period's total only when it is not the same as the one month's.
    let period =
        period.with_columns([lit(1.0).alias("wechat_share"), lit(1.0).alias("cost_share")]);
    let parts = if several_months {
        vec![months, period]
    } else {
        vec![months]
    };
    concat(
        parts,
        UnionArgs {
            to_supertypes: true,
            ..Default::default()
        },
    )
    .expect("both parts have the same columns")
    .with_column(col("channel").eq(lit(TOTAL_CHANNEL)).alias("is_total"))
    .sort_by_exprs(
        [
            col("month").eq(lit(ALL_MONTHS)),
            col("month"),
            col("is_total"),
            col("total_cost_cny"),
            col("wechat_log_bytes"),
            col("channel"),
        ],
        SortMultipleOptions::default()
            .with_order_descending_multi([false, false, false, true, true, false])
            .with_nulls_last(true),
    )
    .select(columns.iter().map(|c| col(*c)).collect::<Vec<_>>())
}

/// The sum of a column, null (not 0) when every value is null: a month without any
/// usage series has no allocated bytes, rather than zero of them.
fn sum_or_null(c: Expr) -> Expr {
    when(c.clone().count().gt(lit(0)))
        .then(c.clone().sum())
        .otherwise(lit(NULL))
        .alias(
            c.meta()
                .output_name()
                .map(|n| n.to_string())
                .unwrap_or_default(),
        )
}

/// "usage" when every summed day was costed from the usage series, "estimate" when
/// none was, "mixed" otherwise; null with no WeChat traffic.
fn basis_of_sum() -> Expr {
    let usage = col("wechat_cost_basis").eq(lit("usage")).sum();
    let estimate = col("wechat_cost_basis").eq(lit("estimate")).sum();
    when(usage.clone().gt(lit(0)).and(estimate.clone().gt(lit(0))))
        .then(lit("mixed"))
        .when(usage.gt(lit(0)))
        .then(lit("usage"))
        .when(estimate.gt(lit(0)))
        .then(lit("estimate"))
        .otherwise(lit(NULL).cast(DataType::String))
        .alias("wechat_cost_basis")
}

/// Per day of the period: log bytes, the estimate, the billed bytes and how far apart
/// they are. Every day is listed, also one without any data.
fn reconciliation(
    wechat: LazyFrame,
    usage: LazyFrame,
    gaps: LazyFrame,
    from: NaiveDate,
    to: NaiveDate,
    prices: &Prices,
) -> LazyFrame {
    let per_day = wechat.group_by([col("date")]).agg([
        col("wechat_requests").sum().alias("requests"),
        col("wechat_log_bytes").sum().alias("log_bytes"),
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
            ((col("estimated_billed_bytes").cast(DataType::Float64)
                - col("billed_bytes").cast(DataType::Float64))
                / col("billed_bytes").cast(DataType::Float64)
                * lit(100.0))
            .round(2, RoundMode::HalfAwayFromZero)
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

fn gaps_frame(gaps: &BTreeMap<NaiveDate, DayGaps>) -> PolarsResult<DataFrame> {
    let dates: Vec<i32> = gaps
        .keys()
        .map(|d| crate::china_time::day_number(*d))
        .collect();
    let complete: Vec<bool> = gaps.values().map(DayGaps::complete).collect();
    let missing: Vec<String> = gaps.values().map(DayGaps::describe).collect();
    DataFrame::new(
        dates.len(),
        vec![
            Int32Chunked::from_vec("date".into(), dates)
                .into_date()
                .into_column(),
            Column::new("complete".into(), complete),
            Column::new("missing".into(), missing),
        ],
    )
}

/// date → (interval, points) of the usage series each day is taken from.
fn usage_points(usage: &DataFrame) -> PolarsResult<BTreeMap<NaiveDate, (i64, i64)>> {
    let dates = usage.column("date")?.date()?;
    let intervals = usage.column("usage_interval_min")?.cast(&DataType::Int64)?;
    let points = usage.column("usage_points")?.cast(&DataType::Int64)?;
    let mut out = BTreeMap::new();
    for ((date, interval), count) in dates
        .physical()
        .iter()
        .zip(intervals.i64()?.iter())
        .zip(points.i64()?.iter())
    {
        if let (Some(date), Some(interval), Some(count)) = (date, interval, count) {
            out.insert(
                crate::china_time::date_of_day_number(date),
                (interval, count),
            );
        }
    }
    Ok(out)
}

fn schema(fields: &[(&str, DataType)]) -> Schema {
    Schema::from_iter(
        fields
            .iter()
            .map(|(name, dtype)| Field::new((*name).into(), dtype.clone())),
    )
}

fn wechat_schema() -> Schema {
    use DataType::*;
    schema(&[
        ("date", Date),
        ("channel", String),
        ("wechat_requests", Int64),
        ("wechat_log_bytes", Int64),
        ("peak_bucket_bytes", Int64),
        ("p95_bucket_bytes", Int64),
    ])
}

fn polyv_schema() -> Schema {
    use DataType::*;
    schema(&[
        ("date", Date),
        ("channel", String),
        ("polyv_pc_bytes", Int64),
        ("polyv_mobile_bytes", Int64),
        ("polyv_bytes", Int64),
    ])
}

fn usage_schema() -> Schema {
    use DataType::*;
    schema(&[
        ("date", Date),
        ("billed_bytes", Int64),
        ("usage_interval_min", Int32),
        ("usage_points", Int64),
    ])
}

fn first_of_month(date: NaiveDate) -> NaiveDate {
    date.with_day(1).expect("day 1 exists")
}

fn last_of_month(date: NaiveDate) -> NaiveDate {
    let (y, m) = if date.month() == 12 {
        (date.year() + 1, 1)
    } else {
        (date.year(), date.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).expect("a month starts on day 1") - chrono::Days::new(1)
}
