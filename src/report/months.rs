//! `channel_monthly`: the daily rows summed per month × account × channel, a `(total)`
//! row per month and account, the studio's `(all)` accounts' total per month when there
//! are several, a total of the period when it spans months, and each month's bill beside
//! them.

use polars::prelude::*;

use super::exprs::sum_or_null;
use super::money;
use super::platform::{cost_column, Platform};
use crate::lake::ACCOUNT;

/// The row of a month's (or the period's) totals in `channel_monthly`.
pub const TOTAL_CHANNEL: &str = "(total)";
/// The `month` of the whole period's total row, when the period spans several months.
pub const ALL_MONTHS: &str = "all";
/// In `channel_monthly`: how much of `total_cost_cny` rests on estimated days.
pub const ESTIMATED_COST: &str = "estimated_cost_cny";
/// The `account` of the studio's total rows (every account's), when there are several.
pub const ALL_ACCOUNTS: &str = "(all)";

/// Each platform's cost column, then the total.
pub(super) fn money_columns(platforms: &[Box<dyn Platform>]) -> Vec<String> {
    let mut money: Vec<String> = platforms.iter().map(|p| cost_column(p.as_ref())).collect();
    money.push("total_cost_cny".into());
    money
}

/// Month × account × channel sums of the daily rows, a total row per month and account
/// (and for the studio, with several accounts), and a total of the period when it spans
/// several months.
pub(super) fn monthly(
    daily: LazyFrame,
    (several_months, several_accounts): (bool, bool),
    platforms: &[Box<dyn Platform>],
    bills: DataFrame,
) -> LazyFrame {
    let daily = daily.with_column(col("date").dt().strftime("%Y-%m").alias("month"));
    let summed: Vec<&str> = platforms
        .iter()
        .flat_map(|p| p.spec().summed.iter().copied())
        .collect();
    let mut money_cols = money_columns(platforms);
    money_cols.push(ESTIMATED_COST.to_string());
    let sums = |frame: LazyFrame, keys: Vec<Expr>| {
        let mut aggs: Vec<Expr> = summed.iter().map(|c| sum_or_null(col(*c))).collect();
        aggs.extend(money_cols.iter().map(|c| {
            sum_or_null(col(c.as_str()))
                .cast(money::dtype())
                .alias(c.as_str())
        }));
        aggs.push(col("date").n_unique().cast(DataType::Int64).alias("days"));
        aggs.extend(platforms.iter().flat_map(|p| p.monthly_aggregates()));
        aggs.push(col("complete").all(false));
        if keys.is_empty() {
            frame.select(aggs)
        } else {
            frame.group_by(keys).agg(aggs)
        }
    };
    // Parts are stacked, so each has the same columns in the same order.
    let extra: Vec<String> = platforms
        .iter()
        .flat_map(|p| p.monthly_aggregates())
        .filter_map(|e| e.meta().output_name().ok().map(|n| n.to_string()))
        .collect();
    let mut order = vec![col("month"), col(ACCOUNT), col("channel"), col("days")];
    order.extend(summed.iter().map(|c| col(*c)));
    order.extend(money_cols.iter().map(|c| col(c.as_str())));
    order.extend(extra.iter().map(|c| col(c.as_str())));
    order.push(col("complete"));
    let total_values = || -> Vec<Expr> {
        let mut values = vec![lit(TOTAL_CHANNEL).alias("channel")];
        values.extend(platforms.iter().flat_map(|p| p.total_row_values()));
        values
    };
    let per_channel = sums(
        daily.clone(),
        vec![col("month"), col(ACCOUNT), col("channel")],
    )
    .select(order.clone());
    let per_month = sums(daily.clone(), vec![col("month"), col(ACCOUNT)])
        .with_columns(total_values())
        .select(order.clone());
    let studio_month = sums(daily.clone(), vec![col("month")])
        .with_columns([lit(ALL_ACCOUNTS).alias(ACCOUNT)])
        .with_columns(total_values())
        .select(order.clone());
    let period = sums(daily.clone(), vec![col(ACCOUNT)])
        .with_columns([lit(ALL_MONTHS).alias("month")])
        .with_columns(total_values())
        .select(order.clone());
    let studio_period = sums(daily, vec![])
        .with_columns([
            lit(ALL_MONTHS).alias("month"),
            lit(ALL_ACCOUNTS).alias(ACCOUNT),
        ])
        .with_columns(total_values())
        .select(order);
    let mut columns: Vec<&str> = vec!["month", ACCOUNT, "channel", "days"];
    for p in platforms {
        columns.extend(p.spec().monthly_columns);
    }
    columns.extend(money_cols.iter().map(String::as_str));
    let bill_columns: Vec<String> = platforms
        .iter()
        .map(|p| format!("{}_bill_cny", p.name()))
        .collect();
    columns.extend(bill_columns.iter().map(String::as_str));
    columns.extend(["bill_basis", "cost_share", "complete"]);
    // Shares are of the studio's month: its channel rows, every account's.
    let month_total = |c: &str| {
        col(c)
            .filter(col("channel").neq(lit(TOTAL_CHANNEL)))
            .sum()
            .over([col("month")])
            .expect("a window over a plain column is valid")
            .cast(DataType::Float64)
    };
    let mut shares: Vec<Expr> = platforms
        .iter()
        .flat_map(|p| p.monthly_shares(&month_total))
        .collect();
    shares.push(
        when(month_total("total_cost_cny").gt(lit(0.0)))
            .then(col("total_cost_cny").cast(DataType::Float64) / month_total("total_cost_cny"))
            .otherwise(lit(NULL).cast(DataType::Float64))
            .round(6, RoundMode::HalfAwayFromZero)
            .alias("cost_share"),
    );
    let union = || UnionArgs {
        to_supertypes: true,
        ..Default::default()
    };
    let mut month_parts = vec![per_channel, per_month];
    if several_accounts {
        month_parts.push(studio_month);
    }
    let months = concat(month_parts, union())
        .expect("the parts have the same columns")
        .with_columns(shares.clone());
    // The period's totals only when they are not the same as the one month's: each
    // account's share of the studio's period, or 1.0 for the one account.
    let period = if several_accounts {
        let period_total = |c: &str| {
            col(c)
                .filter(col(ACCOUNT).neq(lit(ALL_ACCOUNTS)))
                .sum()
                .cast(DataType::Float64)
        };
        let mut shares: Vec<Expr> = platforms
            .iter()
            .flat_map(|p| p.monthly_shares(&period_total))
            .collect();
        shares.push(
            when(period_total("total_cost_cny").gt(lit(0.0)))
                .then(
                    col("total_cost_cny").cast(DataType::Float64) / period_total("total_cost_cny"),
                )
                .otherwise(lit(NULL).cast(DataType::Float64))
                .round(6, RoundMode::HalfAwayFromZero)
                .alias("cost_share"),
        );
        concat([period, studio_period], union())
            .expect("the parts have the same columns")
            .with_columns(shares)
    } else {
        let mut whole: Vec<Expr> = platforms
            .iter()
            .flat_map(|p| p.spec().share_columns.iter().map(|c| lit(1.0).alias(*c)))
            .collect();
        whole.push(lit(1.0).alias("cost_share"));
        period.with_columns(whole)
    };
    let parts = if several_months {
        vec![months, period]
    } else {
        vec![months]
    };
    let sorted = concat(
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
            col(ACCOUNT).eq(lit(ALL_ACCOUNTS)),
            col(ACCOUNT),
            col("is_total"),
            col("total_cost_cny"),
            col(platforms[0].spec().volume_column),
            col("channel"),
        ],
        SortMultipleOptions::default()
            .with_order_descending_multi([false, false, false, false, false, true, true, false])
            .with_nulls_last(true),
    );
    with_bills(sorted, bills, platforms).select(columns.iter().map(|c| col(*c)).collect::<Vec<_>>())
}

/// `<platform>_bill_cny` on each month's `(total)` rows: the account's bill for its
/// whole month (its rows add up to it when the period covers the month; a shorter period
/// shows part of it), and on the studio's row the sum of its accounts' bills. Null on the
/// other rows and on the period's totals.
fn with_bills(monthly: LazyFrame, bills: DataFrame, platforms: &[Box<dyn Platform>]) -> LazyFrame {
    // The months are already in their order: keep it.
    let keep_order = || JoinArgs {
        maintain_order: MaintainOrderJoin::Left,
        ..JoinArgs::new(JoinType::Left)
    };
    let on_total_rows = |name: &str, dtype: DataType| {
        when(col("channel").eq(lit(TOTAL_CHANNEL)))
            .then(col(name))
            .otherwise(lit(NULL).cast(dtype))
            .alias(name)
    };
    let keys = || [col("month"), col(ACCOUNT)];
    let mut frame = monthly;
    for p in platforms {
        let name = format!("{}_bill_cny", p.name());
        let bill = bills
            .clone()
            .lazy()
            .filter(col("platform").eq(lit(p.name())))
            .select([
                col("month"),
                col(ACCOUNT),
                col("bill_cny").alias(name.as_str()),
            ]);
        let studio = bill
            .clone()
            .group_by([col("month")])
            .agg([col(name.as_str()).sum()])
            .with_column(lit(ALL_ACCOUNTS).alias(ACCOUNT))
            .select([col("month"), col(ACCOUNT), col(name.as_str())]);
        let bill = concat([bill, studio], UnionArgs::default()).expect("the same columns");
        frame = frame
            .join(bill, keys(), keys(), keep_order())
            .with_column(on_total_rows(&name, money::dtype()));
    }
    // Every platform's bill of a month has the same basis: the month is over or not.
    let basis = bills
        .lazy()
        .group_by([col("month")])
        .agg([col("bill_basis").first()]);
    frame
        .join(basis, [col("month")], [col("month")], keep_order())
        .with_column(on_total_rows("bill_basis", DataType::String))
}
