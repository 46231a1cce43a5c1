//! Platforms as data: each CDN whose traffic the report attributes to channels is one
//! [`Platform`]. It says what its traffic was per (date, account, channel) and which columns it
//! shows; the report's core table (`channel_platform_daily`: date, account, channel, platform,
//! billed bytes, basis, cost) is the union of what the platforms give, priced by one cost
//! rule ([`super::cost`]), and the wide `channel_daily` finance reads is a pivot of it
//! joined with each platform's own measures. The platforms themselves live in
//! `crate::platforms::<name>/report.rs`, and the registry there hands their list to
//! [`super::make_with`]: the tables, the drama tables, the page's cards, its monthly
//! table and the labels follow, and this room never names one.

use chrono::NaiveDate;
use polars::prelude::*;

use super::drama::{DramaError, DramaInputs, EpisodeTraffic};
use super::error::ReportError;
use super::inputs::DayGaps;
pub use super::inputs::{Inputs, UsageDay};
use crate::lake::catalogue::{Kind, Table};
use crate::lake::LakeError;

/// A label: (column or platform label, 中文, English).
pub type Label = (&'static str, &'static str, &'static str);

/// How the page shows a column in its tables.
#[derive(Debug, Clone, Copy)]
pub enum Shown {
    Text,
    Int,
    /// Bytes, shown in GB.
    Gb,
    Money,
    Percent,
    /// A number with this many decimals.
    Number(usize),
}

/// What a platform is called and which of its columns the tables show: plain data, one
/// constant per platform.
#[derive(Debug)]
pub struct Spec {
    /// The `platform` value in the core table, the `[prices.<name>]` table, and the
    /// prefix of its columns in the wide table (`<name>_cost_cny`).
    pub name: &'static str,
    /// For people (the page's cards, the chat message), in English; [`Spec::labels`]
    /// says it in Chinese.
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
    /// Its columns in the page's monthly table (its cost column follows the others').
    pub page_columns: &'static [(&'static str, Shown)],
    /// Its own tables in the lake (those the catalogue does not list), for `query`.
    pub tables: &'static [Table],
    /// Its manifests of day records listing the files it published: checked for damage
    /// wherever the lake's are (`run` before it repairs, each report).
    pub records: &'static [Kind],
    /// Who provides, publishes and invoices its charges, and what they are called, in
    /// the FOCUS export.
    pub focus: FocusNames,
    /// Its columns', its label's (and, for the platform whose logs are reconciled with
    /// the bill, the page's `log_traffic` and `billed_traffic` cards') words in both
    /// languages.
    pub labels: &'static [Label],
}

/// A platform's charges as FOCUS names them (`ProviderName`, `PublisherName`,
/// `InvoiceIssuerName`, `ServiceName`, `SkuId`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FocusNames {
    pub provider: &'static str,
    pub publisher: &'static str,
    pub invoice_issuer: &'static str,
    pub service: &'static str,
    /// The SKU of its traffic; `SkuPriceId` adds the account (each has its own price).
    pub sku: &'static str,
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
    /// Per (date, account, channel) of `inputs.from..=inputs.to`: `date`, `account`
    /// (whose bill the row is part of: each account's month is billed apart), `channel`,
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
    /// Its traffic per (day, account, channel, episode) of `inputs.from..=inputs.to`,
    /// which its cost of each (day, account, channel) is split by in the drama tables. None: its cost stays
    /// with the channel.
    fn drama_traffic(&self, _inputs: &DramaInputs) -> Result<Vec<EpisodeTraffic>, DramaError> {
        Ok(Vec::new())
    }
}

/// `<platform>_cost_cny`: a platform's cost column in the wide tables.
pub fn cost_column(platform: &dyn Platform) -> String {
    format!("{}_cost_cny", platform.name())
}

/// "usage" when every summed day was costed from the usage series, "estimate" when
/// none was, "mixed" otherwise; null without any basis. `basis` is the platform's basis
/// column in the wide table.
pub fn basis_of_sum(basis: &str) -> Expr {
    let usage = col(basis).eq(lit("usage")).sum();
    let estimate = col(basis).eq(lit("estimate")).sum();
    when(usage.clone().gt(lit(0)).and(estimate.clone().gt(lit(0))))
        .then(lit("mixed"))
        .when(usage.gt(lit(0)))
        .then(lit("usage"))
        .when(estimate.gt(lit(0)))
        .then(lit("estimate"))
        .otherwise(lit(NULL).cast(DataType::String))
        .alias(basis)
}
