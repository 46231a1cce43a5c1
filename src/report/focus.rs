//! The report in FOCUS, the FinOps Foundation's cost and usage format (version 1.0, the
//! one `focus-validator` 1.0.0 checks): `focus.csv` and `focus.parquet`, one row per
//! (China day, account, platform, channel, drama) of the core table, its cost split as
//! the drama tables split it. So the rows' `BilledCost` add up to the report's total to
//! the fen.
//!
//! What FOCUS 1.0 has no column for goes into `x_` columns: FOCUS 1.3's split-cost
//! allocation (`x_AllocatedMethodId`, `x_AllocatedMethodDetails`,
//! `x_AllocatedResourceId`/`Name`), 1.2's `x_ServiceSubcategory`, whether the day is
//! provisional, and the report's own keys. The validator 1.0.0 still checks four columns
//! under the names of the 1.0 preview (`Provider`, `Publisher`, `InvoiceIssuer`,
//! `ChargeType`, which its `SkuPriceId` rule reads); they are written beside the 1.0 names,
//! with the same values, so the file passes both. It also wants `ResourceID` where 1.0
//! says `ResourceId`: one column, as SQL engines match names regardless of case (two would
//! clash in DuckDB and Spark), under the validator's spelling.
//!
//! Times are UTC: a China day D is `D-1T16:00:00Z` to `DT16:00:00Z` (end exclusive), the
//! billing period the China month likewise. Money is `Decimal(18, 2)` CNY, quantities
//! `Decimal(28, 9)` GB (10^9 bytes; GiB when `[prices] bytes_per_gb` is 2^30), unit prices
//! `Decimal(18, 9)` CNY per GB.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use polars::prelude::*;

use super::allocation::Unattributed;
use super::drama::Charge;
use super::money;
use super::tables::ReportTables;
use crate::china_time::{day_start_unix, first_of_month, last_of_month};
use crate::lake::UNATTRIBUTED;

/// The columns of `focus.csv` / `focus.parquet`, in order: FOCUS 1.0's, the validator's
/// older names, then ours.
pub const COLUMNS: &[&str] = &[
    "AvailabilityZone",
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "RegionName",
    "ResourceID",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "SkuId",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "Tags",
    "ChargeType",
    "InvoiceIssuer",
    "Provider",
    "Publisher",
    "x_AllocatedMethodId",
    "x_AllocatedMethodDetails",
    "x_AllocatedResourceId",
    "x_AllocatedResourceName",
    "x_ServiceSubcategory",
    "x_Platform",
    "x_Account",
    "x_Channel",
    "x_DramaId",
    "x_DramaName",
    "x_BilledBytes",
    "x_CostBasis",
    "x_Provisional",
    "x_DayGaps",
    "x_UnattributedPolicy",
];

/// Digits after the point of quantities and unit prices.
const QUANTITY_SCALE: usize = 9;

/// What the export needs besides the report's tables.
pub struct FocusContext<'a> {
    /// Per platform, account name → its id (appid, Polyv userid).
    pub account_ids: &'a BTreeMap<&'static str, BTreeMap<String, String>>,
    pub bytes_per_gb: f64,
    pub policy: &'a Unattributed,
}

/// One FOCUS row, before it becomes columns.
struct Row<'a> {
    charge: &'a Charge,
    account_id: String,
    names: super::platform::FocusNames,
    basis: Option<String>,
    unit_price_nano: Option<u128>,
    method_id: String,
    details: String,
    provisional: bool,
    gaps: Option<String>,
}

/// The FOCUS table of a built report.
pub fn build(tables: &ReportTables, context: &FocusContext) -> PolarsResult<DataFrame> {
    let bases = bases_of(&tables.long)?;
    // Each origin charge (platform, account, day)'s billed bytes: the ratios' whole.
    let mut origin: BTreeMap<(&str, &str, NaiveDate), i64> = BTreeMap::new();
    for c in &tables.dramas.charges {
        *origin
            .entry((c.platform.as_str(), c.account.as_str(), c.date))
            .or_default() += c.billed_bytes.unwrap_or(0).max(0);
    }
    let unit = if (context.bytes_per_gb - (1u64 << 30) as f64).abs() < 0.5 {
        "GiB"
    } else {
        "GB"
    };
    let mut rows = Vec::with_capacity(tables.dramas.charges.len());
    for c in &tables.dramas.charges {
        let Some(names) = tables.focus_names.get(c.platform.as_str()) else {
            continue;
        };
        let basis = bases
            .get(&(
                c.date,
                c.account.clone(),
                c.channel.clone(),
                c.platform.clone(),
            ))
            .cloned()
            .flatten();
        let month = c.date.format("%Y-%m").to_string();
        let whole = origin
            .get(&(c.platform.as_str(), c.account.as_str(), c.date))
            .copied()
            .unwrap_or(0);
        let (method_id, details) = allocation_of(c, basis.as_deref(), whole, tables, context, unit);
        let day = tables.gaps.get(&c.date).map(|g| g.of_account(&c.account));
        let complete = day.as_ref().is_none_or(|g| g.complete());
        rows.push(Row {
            charge: c,
            account_id: context
                .account_ids
                .get(c.platform.as_str())
                .and_then(|ids| ids.get(&c.account))
                .cloned()
                .unwrap_or_else(|| c.account.clone()),
            names: *names,
            basis,
            unit_price_nano: tables
                .unit_prices
                .get(&(c.platform.clone(), c.account.clone(), month))
                .copied(),
            method_id,
            details,
            provisional: !complete,
            gaps: (!complete).then(|| day.map(|g| g.describe()).unwrap_or_default()),
        });
    }
    columns(&rows, context, unit)
}

/// (date, account, channel, platform) → the core row's `cost_basis`.
type Bases = BTreeMap<(NaiveDate, String, String, String), Option<String>>;

fn bases_of(long: &DataFrame) -> PolarsResult<Bases> {
    let dates: Vec<Option<NaiveDate>> = long.column("date")?.date()?.as_date_iter().collect();
    let accounts = long.column(crate::lake::ACCOUNT)?.str()?;
    let channels = long.column("channel")?.str()?;
    let platforms = long.column("platform")?.str()?;
    let bases = long.column("cost_basis")?.str()?;
    Ok((0..long.height())
        .map(|i| {
            (
                (
                    dates[i].unwrap_or_default(),
                    accounts.get(i).unwrap_or_default().to_string(),
                    channels.get(i).unwrap_or_default().to_string(),
                    platforms.get(i).unwrap_or_default().to_string(),
                ),
                bases.get(i).map(str::to_string),
            )
        })
        .collect())
}

/// `x_AllocatedMethodId` and `x_AllocatedMethodDetails` of a row: how its origin charge
/// (its platform's bill of its account's day) came to it. The details follow FOCUS 1.3's
/// shape, `{"Elements": [{"AllocatedRatio", "UsageQuantity", "UsageUnit"}]}`, with the
/// basis, the unattributed policy and what it moved.
fn allocation_of(
    c: &Charge,
    basis: Option<&str>,
    whole: i64,
    tables: &ReportTables,
    context: &FocusContext,
    unit: &str,
) -> (String, String) {
    let bytes = c.billed_bytes.unwrap_or(0).max(0);
    let ratio = if whole > 0 {
        ((bytes as f64 / whole as f64) * 1e12).round() / 1e12
    } else {
        0.0
    };
    let basis = basis.unwrap_or("none");
    let mut details = serde_json::json!({
        "Elements": [{
            "AllocatedRatio": ratio,
            "UsageQuantity": gb_number(bytes, context.bytes_per_gb),
            "UsageUnit": unit,
        }],
        "Basis": basis,
        "UnattributedPolicy": context.policy.to_string(),
    });
    let key = (
        crate::china_time::day_number(c.date),
        c.account.clone(),
        c.channel.clone(),
        c.platform.clone(),
    );
    let method = if c.channel == UNATTRIBUTED {
        let day_key = (c.platform.clone(), c.account.clone(), key.0);
        if let Some(why) = tables.allocations.kept.get(&day_key) {
            details["Kept"] = serde_json::Value::String(why.clone());
        }
        "cdncost/unattributed".to_string()
    } else if let Some(got) = tables.allocations.received.get(&key) {
        details["Unattributed"] = serde_json::json!({
            "UsageQuantity": gb_number(got.bytes, context.bytes_per_gb),
            "Cost": money::text(got.fen),
            "SpreadBy": got.spread_by,
        });
        format!("cdncost/{basis}+unattributed:{}", context.policy)
    } else {
        format!("cdncost/{basis}")
    };
    (method, details.to_string())
}

/// Bytes as a JSON number of GB, to the byte (nine decimals).
fn gb_number(bytes: i64, bytes_per_gb: f64) -> serde_json::Value {
    let gb = (bytes as f64 / bytes_per_gb * 1e9).round() / 1e9;
    serde_json::json!(gb)
}

/// Bytes as GB in units of 10^-9 GB, exact for decimal GB (rounded half up otherwise).
fn nano_gb(bytes: i64, bytes_per_gb: f64) -> i128 {
    let per = bytes_per_gb.round() as i128;
    let scaled = bytes as i128 * 1_000_000_000;
    (scaled + per / 2).div_euclid(per)
}

/// Microseconds since the epoch of China midnight starting `date`.
fn china_midnight_us(date: NaiveDate) -> i64 {
    day_start_unix(date) * 1_000_000
}

fn columns(rows: &[Row], context: &FocusContext, unit: &str) -> PolarsResult<DataFrame> {
    let n = rows.len();
    let text = |name: &str, f: &dyn Fn(&Row) -> Option<String>| -> Column {
        Column::new(
            name.into(),
            rows.iter().map(f).collect::<Vec<Option<String>>>(),
        )
    };
    let fixed = |name: &str, value: &str| text(name, &|_| Some(value.to_string()));
    let null = |name: &str| text(name, &|_| None);
    let time = |name: &str, f: &dyn Fn(&Row) -> i64| -> Column {
        Int64Chunked::from_vec(name.into(), rows.iter().map(f).collect())
            .into_datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
            .into_column()
    };
    let decimal = |name: &str, f: &dyn Fn(&Row) -> Option<i128>, precision: usize| -> Column {
        let values: Int128Chunked = rows.iter().map(f).collect();
        values
            .with_name(name.into())
            .into_decimal_unchecked(precision, QUANTITY_SCALE)
            .into_column()
    };
    let cost = |name: &str| {
        money::column_from_fen(name, rows.iter().map(|r| Some(r.charge.fen.unwrap_or(0))))
    };
    let quantity = |name: &str| {
        decimal(
            name,
            &|r| {
                Some(nano_gb(
                    r.charge.billed_bytes.unwrap_or(0),
                    context.bytes_per_gb,
                ))
            },
            28,
        )
    };
    let unit_price = |name: &str| decimal(name, &|r| r.unit_price_nano.map(|p| p as i128), 18);
    let next_month = |d: NaiveDate| last_of_month(d).succ_opt().unwrap_or(d);
    let description = |r: &Row| {
        Some(format!(
            "{} traffic of channel {}, drama {}",
            r.names.service, r.charge.channel, r.charge.drama_name
        ))
    };
    let tags = |r: &Row| {
        let mut tags = serde_json::json!({
            "channel": r.charge.channel,
            "drama": r.charge.drama_name,
        });
        if let Some(id) = r.charge.drama_id {
            tags["drama_id"] = serde_json::json!(id.to_string());
        }
        Some(tags.to_string())
    };
    let attributed = |r: &Row| r.charge.channel != UNATTRIBUTED;
    let all = vec![
        null("AvailabilityZone"),
        cost("BilledCost"),
        text("BillingAccountId", &|r| Some(r.account_id.clone())),
        text("BillingAccountName", &|r| Some(r.charge.account.clone())),
        fixed("BillingCurrency", "CNY"),
        time("BillingPeriodEnd", &|r| {
            china_midnight_us(next_month(r.charge.date))
        }),
        time("BillingPeriodStart", &|r| {
            china_midnight_us(first_of_month(r.charge.date))
        }),
        fixed("ChargeCategory", "Usage"),
        null("ChargeClass"),
        text("ChargeDescription", &description),
        fixed("ChargeFrequency", "Usage-Based"),
        time("ChargePeriodEnd", &|r| {
            china_midnight_us(r.charge.date.succ_opt().unwrap_or(r.charge.date))
        }),
        time("ChargePeriodStart", &|r| china_midnight_us(r.charge.date)),
        null("CommitmentDiscountCategory"),
        null("CommitmentDiscountId"),
        null("CommitmentDiscountName"),
        null("CommitmentDiscountStatus"),
        null("CommitmentDiscountType"),
        quantity("ConsumedQuantity"),
        fixed("ConsumedUnit", unit),
        cost("ContractedCost"),
        unit_price("ContractedUnitPrice"),
        cost("EffectiveCost"),
        text("InvoiceIssuerName", &|r| {
            Some(r.names.invoice_issuer.into())
        }),
        cost("ListCost"),
        unit_price("ListUnitPrice"),
        fixed("PricingCategory", "Standard"),
        quantity("PricingQuantity"),
        fixed("PricingUnit", unit),
        text("ProviderName", &|r| Some(r.names.provider.into())),
        text("PublisherName", &|r| Some(r.names.publisher.into())),
        null("RegionId"),
        null("RegionName"),
        null("ResourceID"),
        null("ResourceName"),
        null("ResourceType"),
        fixed("ServiceCategory", "Networking"),
        text("ServiceName", &|r| Some(r.names.service.into())),
        text("SkuId", &|r| Some(r.names.sku.into())),
        text("SkuPriceId", &|r| {
            Some(format!("{}:{}", r.names.sku, r.charge.account))
        }),
        text("SubAccountId", &|r| Some(r.account_id.clone())),
        text("SubAccountName", &|r| Some(r.charge.account.clone())),
        text("Tags", &tags),
        fixed("ChargeType", "Usage"),
        text("InvoiceIssuer", &|r| Some(r.names.invoice_issuer.into())),
        text("Provider", &|r| Some(r.names.provider.into())),
        text("Publisher", &|r| Some(r.names.publisher.into())),
        text("x_AllocatedMethodId", &|r| Some(r.method_id.clone())),
        text("x_AllocatedMethodDetails", &|r| Some(r.details.clone())),
        text("x_AllocatedResourceId", &|r| {
            attributed(r).then(|| r.charge.channel.clone())
        }),
        text("x_AllocatedResourceName", &|r| {
            attributed(r).then(|| format!("{} / {}", r.charge.channel, r.charge.drama_name))
        }),
        fixed("x_ServiceSubcategory", "Content Delivery"),
        text("x_Platform", &|r| Some(r.charge.platform.clone())),
        text("x_Account", &|r| Some(r.charge.account.clone())),
        text("x_Channel", &|r| Some(r.charge.channel.clone())),
        Column::new(
            "x_DramaId".into(),
            rows.iter().map(|r| r.charge.drama_id).collect::<Vec<_>>(),
        ),
        text("x_DramaName", &|r| Some(r.charge.drama_name.clone())),
        Column::new(
            "x_BilledBytes".into(),
            rows.iter()
                .map(|r| r.charge.billed_bytes)
                .collect::<Vec<_>>(),
        ),
        text("x_CostBasis", &|r| r.basis.clone()),
        Column::new(
            "x_Provisional".into(),
            rows.iter().map(|r| r.provisional).collect::<Vec<_>>(),
        ),
        text("x_DayGaps", &|r| r.gaps.clone()),
        fixed("x_UnattributedPolicy", &context.policy.to_string()),
    ];
    debug_assert_eq!(
        all.iter().map(|c| c.name().as_str()).collect::<Vec<_>>(),
        COLUMNS
    );
    DataFrame::new(n, all)
}

/// The table as CSV text cells: each decimal with exactly its scale's digits (`0.40`,
/// `1.500000000`), each time as `YYYY-MM-DDTHH:MM:SSZ`, as FOCUS writes them.
pub fn for_csv(frame: &DataFrame) -> PolarsResult<DataFrame> {
    let mut columns = Vec::with_capacity(frame.width());
    for column in frame.columns() {
        let text: Option<StringChunked> = match column.dtype() {
            DataType::Decimal(_, scale) => {
                let scale = *scale;
                let values = column.decimal()?.physical().clone();
                Some(
                    values
                        .iter()
                        .map(|v| v.map(|v| decimal_text(v, scale)))
                        .collect(),
                )
            }
            DataType::Datetime(TimeUnit::Microseconds, _) => {
                let values = column.datetime()?.physical().clone();
                Some(
                    values
                        .iter()
                        .map(|v| {
                            v.and_then(chrono::DateTime::from_timestamp_micros)
                                .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                        })
                        .collect(),
                )
            }
            _ => None,
        };
        columns.push(match text {
            Some(text) => text.with_name(column.name().clone()).into_column(),
            None => column.clone(),
        });
    }
    DataFrame::new(frame.height(), columns)
}

/// A scaled integer as decimal text: (150, 2) → "1.50", (-5, 2) → "-0.05".
fn decimal_text(value: i128, scale: usize) -> String {
    if scale == 0 {
        return value.to_string();
    }
    let sign = if value < 0 { "-" } else { "" };
    let abs = value.unsigned_abs();
    let unit = 10u128.pow(scale as u32);
    format!("{sign}{}.{:0scale$}", abs / unit, abs % unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_keep_their_scale_and_days_are_china_days_in_utc() {
        assert_eq!(decimal_text(150, 2), "1.50");
        assert_eq!(decimal_text(-5, 2), "-0.05");
        assert_eq!(decimal_text(1_500_000_000, 9), "1.500000000");
        assert_eq!(decimal_text(0, 9), "0.000000000");
        let day = NaiveDate::from_ymd_opt(2026, 11, 3).unwrap();
        let start = chrono::DateTime::from_timestamp_micros(china_midnight_us(day)).unwrap();
        assert_eq!(start.to_rfc3339(), "2026-11-02T16:00:00+00:00");
    }

    #[test]
    fn quantities_are_exact_for_decimal_gigabytes() {
        assert_eq!(nano_gb(1_234_567_891, 1e9), 1_234_567_891);
        assert_eq!(nano_gb(1 << 30, (1u64 << 30) as f64), 1_000_000_000);
        assert_eq!(
            nano_gb(1, (1u64 << 30) as f64),
            1,
            "0.93 nano-GiB rounds up"
        );
    }
}
