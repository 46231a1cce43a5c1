//! The one cost rule, for every platform: a month's rate per byte comes from the
//! platform's price (`[prices]`, tiers applied to the month's whole volume), and a row
//! costs its billed bytes at that rate, rounded half away from zero to 0.01 CNY once.
//! The core table is priced here; every other figure of money (the wide tables, the
//! monthly sums, the page's cards) is a sum of these rows.

use polars::prelude::*;

use super::prices::Prices;

/// Adds `month`, `cny_per_byte` and `cost_cny` to rows of `date`, `platform`, `billed_bytes` that cover
/// whole months (the rate of a month depends on its whole volume).
pub fn price(rows: LazyFrame, prices: &Prices) -> PolarsResult<LazyFrame> {
    let rows = rows.with_column(col("date").dt().strftime("%Y-%m").alias("month"));
    let rates = monthly_rates(rows.clone(), prices)?;
    Ok(rows
        .join(
            rates.lazy(),
            [col("month"), col("platform")],
            [col("month"), col("platform")],
            JoinArgs::new(JoinType::Left),
        )
        .with_column(row_cost(col("billed_bytes"), col("cny_per_byte")).alias("cost_cny")))
}

/// One row's cost: bytes × rate, rounded to the fen once.
pub fn row_cost(bytes: Expr, cny_per_byte: Expr) -> Expr {
    (bytes.cast(DataType::Float64) * cny_per_byte).round(2, RoundMode::HalfAwayFromZero)
}

/// Each (month, platform)'s effective CNY per byte, from its whole volume.
fn monthly_rates(rows: LazyFrame, prices: &Prices) -> PolarsResult<DataFrame> {
    let volumes = rows
        .group_by([col("month"), col("platform")])
        .agg([col("billed_bytes").sum().cast(DataType::Float64)])
        .collect()?;
    let months = volumes.column("month")?.str()?;
    let platforms = volumes.column("platform")?.str()?;
    let bytes = volumes.column("billed_bytes")?.f64()?;
    let rates: Vec<f64> = platforms
        .iter()
        .zip(bytes.iter())
        .map(|(platform, bytes)| {
            prices.effective_cny_per_byte(platform.unwrap_or_default(), bytes.unwrap_or(0.0))
        })
        .collect();
    DataFrame::new(
        volumes.height(),
        vec![
            months.clone().into_column(),
            platforms.clone().into_column(),
            Column::new("cny_per_byte".into(), rates),
        ],
    )
}
