//! Platforms as data: each CDN whose traffic the report attributes to channels is one
//! [`Platform`]. It says what its traffic was per (date, channel) and which columns it
//! shows; the report's core table (`channel_platform_daily`: date, channel, platform,
//! billed bytes, basis, cost) is the union of what the platforms give, priced by one cost
//! rule ([`super::cost`]), and the wide `channel_daily` finance reads is a pivot of it
//! joined with each platform's own measures. Adding a platform is a new type implementing
//! the trait (its table in the lake, its fetch job) and its place in the list given to
//! [`super::tables::build_with`]: the tables, the page's cards and the monthly sums follow.

use chrono::NaiveDate;
use polars::prelude::*;

use super::apportion::largest_remainder;
use super::error::ReportError;
use super::exprs::round_bytes;
use super::inputs::{self, DayGaps, BUCKET_SECS};
pub use super::inputs::{Inputs, UsageDay};
use super::summary::share_of_day;
use crate::lake::{LakeError, UNATTRIBUTED};

/// What a platform is called and which of its columns the tables show: plain data, one
/// constant per platform.
#[derive(Debug)]
pub struct Spec {
    /// The `platform` value in the core table, the `[prices.<name>]` table, and the
    /// prefix of its columns in the wide table (`wechat_log_bytes`, `wechat_cost_cny`).
    pub name: &'static str,
    /// For people (the page's cards).
    pub label: &'static str,
    /// Its columns in `channel_daily`, in order.
    pub wide_columns: &'static [&'static str],
    /// Its columns in `channel_monthly`, in order (a subset of the wide ones).
    pub monthly_columns: &'static [&'static str],
    /// The wide columns a month sums (null when every day is null).
    pub summed: &'static [&'static str],
    /// Names of the shares [`Platform::monthly_shares`] computes.
    pub share_columns: &'static [&'static str],
    /// The traffic column rows are ordered by after their cost (the first platform's).
    pub volume_column: &'static str,
    /// Adds to `gaps` what its inputs lack on a date (missing, or not final yet).
    pub day_gaps: GapCheck,
}

/// See [`Spec::day_gaps`].
pub type GapCheck = fn(&Inputs, NaiveDate, &mut DayGaps) -> Result<(), LakeError>;

/// For a platform whose inputs are always whole.
pub fn no_gaps(_inputs: &Inputs, _date: NaiveDate, _gaps: &mut DayGaps) -> Result<(), LakeError> {
    Ok(())
}

/// One CDN platform, as the report sees it: its [`Spec`] and how its traffic is computed.
pub trait Platform: Sync {
    fn spec(&self) -> &'static Spec;
    fn name(&self) -> &'static str {
        self.spec().name
    }
    /// Per (date, channel) of `inputs.from..=inputs.to`: `date`, `channel`,
    /// `billed_bytes` (Int64: what this row is billed by), `cost_basis` (String: how
    /// `billed_bytes` was arrived at) and every column of [`Spec::wide_columns`].
    /// `None` when the lake has no data of it.
    fn daily(&self, inputs: &Inputs) -> Result<Option<LazyFrame>, ReportError>;
    /// The same columns with no rows, for a lake without its data.
    fn empty(&self) -> LazyFrame;
    /// Its other monthly aggregates (a maximum, a basis of the month).
    fn monthly_aggregates(&self) -> Vec<Expr> {
        Vec::new()
    }
    /// Values of those aggregates on the `(total)` rows, where they mean nothing.
    fn total_row_values(&self) -> Vec<Expr> {
        Vec::new()
    }
    /// Its shares of the month, from `month_total(column)` (the month's sum of a column
    /// over the channel rows), as named expressions; 1.0 on the period's total row.
    fn monthly_shares(&self, _month_total: &dyn Fn(&str) -> Expr) -> Vec<Expr> {
        Vec::new()
    }
}

/// The platforms of the media service studios use, in the wide table's order.
pub fn default_platforms() -> Vec<Box<dyn Platform>> {
    vec![Box::new(Wechat), Box::new(Polyv)]
}

/// `<platform>_cost_cny`: a platform's cost column in the wide tables.
pub fn cost_column(platform: &dyn Platform) -> String {
    format!("{}_cost_cny", platform.name())
}

/// The WeChat mini-drama media service's CDN: the access logs say who used what, the
/// usage series says what was billed. A day's bill is allocated to channels by their
/// share of the day's log bytes; a day without a usage series is estimated from the logs.
pub struct Wechat;

const WECHAT: Spec = Spec {
    name: "wechat",
    label: "WeChat CDN",
    wide_columns: &[
        "wechat_requests",
        "wechat_log_bytes",
        "wechat_billed_bytes_est",
        "wechat_peak_mbps",
        "wechat_p95_mbps",
        "wechat_share",
        "wechat_allocated_billed_bytes",
        "wechat_cost_basis",
    ],
    // p95 is a figure of one day's buckets: a month has none.
    monthly_columns: &[
        "wechat_requests",
        "wechat_log_bytes",
        "wechat_billed_bytes_est",
        "wechat_peak_mbps",
        "wechat_share",
        "wechat_allocated_billed_bytes",
        "wechat_cost_basis",
    ],
    summed: &[
        "wechat_requests",
        "wechat_log_bytes",
        "wechat_billed_bytes_est",
        "wechat_allocated_billed_bytes",
    ],
    share_columns: &["wechat_share"],
    volume_column: "wechat_log_bytes",
    day_gaps: inputs::wechat_gaps,
};

impl Platform for Wechat {
    fn spec(&self) -> &'static Spec {
        &WECHAT
    }

    fn daily(&self, inputs: &Inputs) -> Result<Option<LazyFrame>, ReportError> {
        // Billed usage without any log still makes rows: its bill must not vanish.
        let requests = match inputs.wechat_by_channel()? {
            Some(requests) => requests,
            None if inputs.usage_points.values().any(|d| d.billed_bytes > 0) => {
                DataFrame::empty_with_schema(&inputs::wechat_schema()).lazy()
            }
            None => return Ok(None),
        };
        let query = |source| ReportError::Query {
            from: inputs.from,
            to: inputs.to,
            source,
        };
        Ok(Some(self.measures(requests, inputs).map_err(query)?))
    }

    fn empty(&self) -> LazyFrame {
        let raw = DataFrame::empty_with_schema(&inputs::wechat_schema());
        let usage = DataFrame::empty_with_schema(&inputs::usage_schema());
        self.measures_with(raw.lazy(), usage.lazy(), 1.0)
            .expect("an empty frame always builds")
    }

    fn monthly_aggregates(&self) -> Vec<Expr> {
        vec![col("wechat_peak_mbps").max(), basis_of_sum()]
    }

    fn total_row_values(&self) -> Vec<Expr> {
        vec![lit(NULL).cast(DataType::Float64).alias("wechat_peak_mbps")]
    }

    fn monthly_shares(&self, month_total: &dyn Fn(&str) -> Expr) -> Vec<Expr> {
        vec![
            (col("wechat_log_bytes").cast(DataType::Float64) / month_total("wechat_log_bytes"))
                .round(6, RoundMode::HalfAwayFromZero)
                .alias("wechat_share"),
        ]
    }
}

impl Wechat {
    fn measures(&self, requests: LazyFrame, inputs: &Inputs) -> PolarsResult<LazyFrame> {
        self.measures_with(
            requests,
            inputs
                .usage
                .clone()
                .select([col("date"), col("billed_bytes")]),
            inputs.prices.billing_factor,
        )
    }

    /// The log measures, the estimate, the bandwidth figures and the allocation of the
    /// day's bill by share of log bytes.
    fn measures_with(
        &self,
        requests: LazyFrame,
        usage: LazyFrame,
        factor: f64,
    ) -> PolarsResult<LazyFrame> {
        // Bytes of one 5-minute bucket → megabits per second, billed.
        let to_mbps = |c: &str| {
            (col(c).cast(DataType::Float64) * lit(8.0 * factor / BUCKET_SECS as f64 / 1e6))
                .round(3, RoundMode::HalfAwayFromZero)
        };
        let requests = with_unattributed(requests, usage.clone())?;
        // Rows in the order ties are settled in (date, then channel name).
        let mut rows = requests
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
                col("billed_bytes").cast(DataType::Int64),
            ])
            .sort(["date", "channel"], SortMultipleOptions::default())
            .collect()?;
        let allocated = allocate_by_day(&rows)?;
        rows.with_column(allocated)?;
        Ok(rows
            .lazy()
            .with_columns([
                when(col("wechat_allocated_billed_bytes").is_not_null())
                    .then(lit("usage"))
                    .when(col("wechat_billed_bytes_est").is_not_null())
                    .then(lit("estimate"))
                    .otherwise(lit(NULL).cast(DataType::String))
                    .alias("wechat_cost_basis"),
                col("wechat_share").round(6, RoundMode::HalfAwayFromZero),
            ])
            .with_columns([
                coalesce(&[
                    col("wechat_allocated_billed_bytes"),
                    col("wechat_billed_bytes_est"),
                ])
                .alias("billed_bytes"),
                col("wechat_cost_basis").alias("cost_basis"),
            ])
            .select(
                ["date", "channel", "billed_bytes", "cost_basis"]
                    .iter()
                    .chain(WECHAT.wide_columns)
                    .map(|c| col(*c))
                    .collect::<Vec<_>>(),
            ))
    }
}

/// The request rows, plus an `(unattributed)` row on each day the usage series bills
/// bytes that no log byte of the lake explains (its logs were never listed or never
/// fetched): the day's bill goes to that row, so the totals still equal the bill.
fn with_unattributed(requests: LazyFrame, usage: LazyFrame) -> PolarsResult<LazyFrame> {
    let day_logs = requests
        .clone()
        .group_by([col("date")])
        .agg([col("wechat_log_bytes").sum().alias("day_log_bytes")]);
    let unexplained = usage
        .join(
            day_logs,
            [col("date")],
            [col("date")],
            JoinArgs::new(JoinType::Left),
        )
        .filter(
            col("billed_bytes")
                .gt(lit(0))
                .and(col("day_log_bytes").fill_null(lit(0)).eq(lit(0))),
        )
        .select([
            col("date"),
            lit(UNATTRIBUTED).alias("channel"),
            lit(0i64).alias("wechat_requests"),
            lit(0i64).alias("wechat_log_bytes"),
            lit(0i64).alias("peak_bucket_bytes"),
            lit(0i64).alias("p95_bucket_bytes"),
        ]);
    concat(
        [requests, unexplained],
        UnionArgs {
            to_supertypes: true,
            ..Default::default()
        },
    )
}

/// `wechat_allocated_billed_bytes`: each day's billed bytes (the usage series) split over
/// the day's channels in proportion to their log bytes, by the largest remainder, so the
/// channels of a day add up to the day's bill exactly. Rows come sorted by (date,
/// channel): an equal remainder goes to the channel first by name. Null on a day without
/// a usage series, or whose log bytes are all zero.
fn allocate_by_day(rows: &DataFrame) -> PolarsResult<Column> {
    let dates = rows.column("date")?.date()?.physical().clone();
    let channels = rows.column("channel")?.str()?;
    let logs = rows.column("wechat_log_bytes")?.i64()?;
    let billed = rows.column("billed_bytes")?.i64()?;
    let mut allocated: Vec<Option<i64>> = vec![None; rows.height()];
    let mut start = 0;
    while start < rows.height() {
        let day = dates.get(start);
        let end = (start..rows.height())
            .find(|&i| dates.get(i) != day)
            .unwrap_or(rows.height());
        let mut weights: Vec<u64> = (start..end)
            .map(|i| logs.get(i).unwrap_or(0).max(0) as u64)
            .collect();
        // A day no log byte explains: its `(unattributed)` row takes the whole bill.
        if weights.iter().all(|w| *w == 0) {
            for (w, i) in weights.iter_mut().zip(start..end) {
                *w = (channels.get(i) == Some(UNATTRIBUTED)) as u64;
            }
        }
        if let Some(total) = billed.get(start).filter(|b| *b >= 0) {
            if weights.iter().any(|w| *w > 0) {
                let parts = largest_remainder(total as u64, &weights);
                for (i, part) in (start..end).zip(parts) {
                    allocated[i] = Some(part as i64);
                }
            }
        }
        start = end;
    }
    Ok(Column::new(
        "wechat_allocated_billed_bytes".into(),
        allocated,
    ))
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

/// Polyv (保利威): its API reports each video's bytes per day; the mapping file says
/// which channel a video's traffic belongs to. Those bytes are what it bills.
pub struct Polyv;

const POLYV_BYTES: &[&str] = &["polyv_pc_bytes", "polyv_mobile_bytes", "polyv_bytes"];

const POLYV: Spec = Spec {
    name: "polyv",
    label: "Polyv",
    wide_columns: POLYV_BYTES,
    monthly_columns: POLYV_BYTES,
    summed: POLYV_BYTES,
    share_columns: &[],
    volume_column: "polyv_bytes",
    day_gaps: inputs::polyv_gaps,
};

impl Platform for Polyv {
    fn spec(&self) -> &'static Spec {
        &POLYV
    }

    fn daily(&self, inputs: &Inputs) -> Result<Option<LazyFrame>, ReportError> {
        Ok(
            inputs::polyv_by_channel(inputs.lake, inputs.from, inputs.to)?
                .map(|frame| self.with_basis(frame)),
        )
    }

    fn empty(&self) -> LazyFrame {
        let frame = DataFrame::empty_with_schema(&inputs::polyv_schema());
        self.with_basis(frame.lazy())
    }
}

impl Polyv {
    fn with_basis(&self, frame: LazyFrame) -> LazyFrame {
        frame.with_columns([
            col("polyv_bytes").alias("billed_bytes"),
            lit("reported").alias("cost_basis"),
        ])
    }
}
