//! What a report reads from the lake, each input reduced to one row per day (× channel):
//! the requests' rollups, the billed usage series, and what the manifests say about each
//! day's completeness. The platforms (`crate::platforms::<name>/report.rs`) read their
//! own tables with [`scan_range`] and [`day_record`]. Each function is one lazy polars query, so only the
//! days, partitions and columns asked for are read.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use polars::prelude::*;

use super::error::ReportError;
use super::exprs::data_label;
use super::prices::Prices;
use crate::lake::rollup::RollupRead;
use crate::lake::{
    collect_streaming, Kind, Lake, LakeError, SafeName, Scope, ACCOUNT, UNTAGGED, USAGE,
};

/// What every platform's daily traffic is computed from.
pub struct Inputs<'a> {
    pub lake: &'a Lake,
    /// Whole months: a tiered price needs the month's whole volume.
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The billed usage series per day (`date`, `billed_bytes`, …), for allocations.
    pub usage: LazyFrame,
    /// Per (account, day): what the usage series has of it (for completeness).
    pub usage_points: BTreeMap<(String, NaiveDate), UsageDay>,
    pub prices: &'a Prices,
    /// The rollups of the months ([`crate::lake::rollup`]): what every reader of the
    /// requests reads instead of them.
    pub rollups: &'a RollupRead,
    /// [`requests_by_channel`] over the months, collected the first time it is asked
    /// for: the logging platform's rows and the reconciliation both read it.
    requests_by_channel: std::sync::OnceLock<Option<DataFrame>>,
    /// Per platform, the accounts its gaps are checked for ([`Inputs::accounts_of`]).
    accounts: std::sync::Mutex<BTreeMap<&'static str, Vec<String>>>,
    /// Per platform, the accounts the settings name (checked whether seen or not).
    expected: BTreeMap<&'static str, Vec<String>>,
}

impl<'a> Inputs<'a> {
    pub fn new(
        lake: &'a Lake,
        (from, to): (NaiveDate, NaiveDate),
        usage: LazyFrame,
        usage_points: BTreeMap<(String, NaiveDate), UsageDay>,
        prices: &'a Prices,
        rollups: &'a RollupRead,
    ) -> Self {
        Inputs {
            lake,
            from,
            to,
            usage,
            usage_points,
            prices,
            rollups,
            requests_by_channel: std::sync::OnceLock::new(),
            accounts: Default::default(),
            expected: BTreeMap::new(),
        }
    }

    /// These inputs, the settings naming `accounts` per platform.
    pub fn expecting(mut self, accounts: &BTreeMap<&'static str, Vec<String>>) -> Self {
        self.expected = accounts.clone();
        self
    }

    /// The accounts of the platform whose usage series the lake keeps (`cdn_usage`'s
    /// owner): those with requests or a usage series in the months, and those the
    /// settings name. Its gaps and the reconciliation are per each of them.
    pub fn billed_accounts(&self) -> Result<Vec<String>, LakeError> {
        self.accounts_of(crate::lake::catalogue::owner(USAGE), || {
            let query = |source| LakeError::Query {
                table: crate::lake::REQUESTS.into(),
                source,
            };
            let logged = match self.requests_by_channel() {
                Ok(Some(requests)) => accounts_of_query(requests).map_err(query)?,
                Ok(None) => Vec::new(),
                Err(ReportError::Lake(e)) => return Err(e),
                Err(e) => return Err(query(PolarsError::ComputeError(e.to_string().into()))),
            };
            let billed = self.usage_points.keys().map(|(account, _)| account.clone());
            Ok(logged.into_iter().chain(billed).collect())
        })
    }

    /// Every account whose gaps some platform checked ([`Inputs::accounts_of`]).
    pub fn checked_accounts(&self) -> Vec<String> {
        let known = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        known.values().flatten().cloned().collect()
    }

    /// The accounts of `platform` whose gaps are checked: those the settings name, and
    /// those `find` sees in its data of the months (found once, for every day); else
    /// `default`.
    pub fn accounts_of(
        &self,
        platform: &'static str,
        find: impl FnOnce() -> Result<Vec<String>, LakeError>,
    ) -> Result<Vec<String>, LakeError> {
        let mut known = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(accounts) = known.get(platform) {
            return Ok(accounts.clone());
        }
        let named = self.expected.get(platform).into_iter().flatten().cloned();
        let accounts = accounts_to_check(find()?.into_iter().chain(named));
        known.insert(platform, accounts.clone());
        Ok(accounts)
    }

    /// [`requests_by_channel`] of these months, scanned once; `None` when the lake holds
    /// no requests.
    pub fn requests_by_channel(&self) -> Result<Option<LazyFrame>, ReportError> {
        if let Some(done) = self.requests_by_channel.get() {
            return Ok(done.clone().map(DataFrame::lazy));
        }
        let five_minutes = self.rollups.frames[0].clone();
        let frame = match five_minutes.map(requests_by_channel) {
            Some(query) => Some(
                collect_streaming(query).map_err(|source| ReportError::Query {
                    from: self.from,
                    to: self.to,
                    source,
                })?,
            ),
            None => None,
        };
        let _ = self.requests_by_channel.set(frame.clone());
        Ok(frame.map(DataFrame::lazy))
    }
}

/// The accounts whose gaps a platform checks: those `seen` in its data of the months,
/// else `default` (a lake without any of its data still says what it lacks).
pub fn accounts_to_check(seen: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut accounts: Vec<String> = seen.into_iter().collect();
    accounts.sort();
    accounts.dedup();
    if accounts.is_empty() {
        accounts.push(crate::lake::DEFAULT_ACCOUNT.to_string());
    }
    accounts
}

/// The accounts a query's rows name, in order: only its `account` column is read.
pub fn accounts_of_query(frame: LazyFrame) -> PolarsResult<Vec<String>> {
    let names = frame
        .select([col(ACCOUNT)])
        .unique(None, UniqueKeepStrategy::Any)
        .collect()?;
    accounts_in(&names)
}

/// The accounts of a frame's `account` column, in order.
pub fn accounts_in(frame: &DataFrame) -> PolarsResult<Vec<String>> {
    let accounts = frame.column(ACCOUNT)?.str()?;
    let mut names: Vec<String> = accounts.iter().flatten().map(str::to_string).collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// Where a platform's gap lines for `account` go among its `accounts`: the day's own
/// lines when the platform has one account, `default` (a report reads as before
/// accounts), else the account's.
pub fn gaps_of<'g>(gaps: &'g mut DayGaps, accounts: &[String], account: &str) -> &'g mut DayGaps {
    if accounts.len() == 1 && account == crate::lake::DEFAULT_ACCOUNT {
        gaps
    } else {
        gaps.accounts.entry(account.to_string()).or_default()
    }
}

/// One day of the usage series: its interval (minutes), how many points, bytes billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageDay {
    pub interval_min: i64,
    pub points: i64,
    pub billed_bytes: i64,
}

/// Seconds in one bandwidth bucket.
pub const BUCKET_SECS: i64 = 300;
/// Buckets in a China day (no daylight saving time in China).
pub const BUCKETS_PER_DAY: i64 = 86_400 / BUCKET_SECS;
/// The 95th percentile drops the top 5% of a day's buckets (14 of 288) and takes the
/// highest one left: the 15th highest, counting empty buckets as zero.
pub const P95_RANK: i64 = BUCKETS_PER_DAY * 5 / 100;

/// A schema of these (name, type) fields.
pub fn schema(fields: &[(&str, DataType)]) -> Schema {
    Schema::from_iter(
        fields
            .iter()
            .map(|(name, dtype)| Field::new((*name).into(), dtype.clone())),
    )
}

/// The columns [`requests_by_channel`] gives (for a lake without requests).
pub fn requests_schema() -> Schema {
    use DataType::*;
    schema(&[
        ("date", Date),
        (ACCOUNT, String),
        ("channel", String),
        ("requests", Int64),
        ("log_bytes", Int64),
        ("peak_bucket_bytes", Int64),
        ("p95_bucket_bytes", Int64),
    ])
}

/// The columns [`usage_by_day`] gives (for a lake without a usage series).
pub fn usage_schema() -> Schema {
    use DataType::*;
    schema(&[
        ("date", Date),
        (ACCOUNT, String),
        ("billed_bytes", Int64),
        ("usage_interval_min", Int32),
        ("usage_points", Int64),
    ])
}

/// Rows of `from..=to` (China days, by the `date` column).
pub fn in_range(frame: LazyFrame, from: NaiveDate, to: NaiveDate) -> LazyFrame {
    frame.filter(col("date").gt_eq(lit(from)).and(col("date").lt_eq(lit(to))))
}

/// A query over one table of the lake; `None` when the lake has no file of it yet.
pub type TableQuery = Result<Option<LazyFrame>, LakeError>;

/// The rows of `table` in `from..=to`.
pub fn scan_range(lake: &Lake, table: &str, from: NaiveDate, to: NaiveDate) -> TableQuery {
    match lake.scan(table) {
        Ok(frame) => Ok(Some(in_range(frame, from, to))),
        Err(LakeError::EmptyTable { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Per (date, account, channel): `requests`, `log_bytes`, and the busiest and the
/// 95th-percentile 5-minute bucket of log bytes (`peak_bucket_bytes`, `p95_bucket_bytes`),
/// from the 5-minute rollup ([`crate::lake::rollup::BY_5MIN`]). Only the requests of the
/// platform whose usage series the lake keeps (`cdn_usage`'s owner): they are what its
/// bill is allocated by and reconciled with; another platform's logs are its own.
pub fn requests_by_channel(five_minutes: LazyFrame) -> LazyFrame {
    let bucket =
        (col("bucket_start").cast(DataType::Int64) / lit(BUCKET_SECS * 1000)).alias("bucket");
    let descending = SortOptions::default().with_order_descending(true);
    let billed = crate::lake::catalogue::owner(USAGE);
    five_minutes
        .filter(col(crate::lake::PLATFORM).eq(lit(billed)))
        .select([
            col("date"),
            col(ACCOUNT),
            data_label("channel").fill_null(lit(UNTAGGED)),
            bucket,
            col("requests"),
            col("bytes"),
        ])
        .group_by([col("date"), col(ACCOUNT), col("channel"), col("bucket")])
        .agg([col("requests").sum(), col("bytes").sum()])
        .group_by([col("date"), col(ACCOUNT), col("channel")])
        .agg([
            col("requests")
                .sum()
                .cast(DataType::Int64)
                .alias("requests"),
            col("bytes").sum().alias("log_bytes"),
            col("bytes").max().alias("peak_bucket_bytes"),
            // Fewer busy buckets than the rank: the percentile falls on an empty one.
            col("bytes")
                .sort(descending)
                .slice(lit(P95_RANK), lit(1))
                .first()
                .fill_null(lit(0i64))
                .alias("p95_bucket_bytes"),
        ])
}

/// Per (date, account): `billed_bytes` of all traffic (query_type 0) from the usage series, taken
/// from the daily series when fetched, else the hourly, else the 5-minute one;
/// `usage_interval_min` says which, `usage_points` how many points it had.
pub fn usage_by_day(lake: &Lake, from: NaiveDate, to: NaiveDate) -> TableQuery {
    Ok(scan_range(lake, USAGE, from, to)?.map(best_series_per_day))
}

fn best_series_per_day(usage: LazyFrame) -> LazyFrame {
    let preference = when(col("interval_min").eq(lit(crate::china_time::MINUTES_PER_DAY)))
        .then(lit(0))
        .when(col("interval_min").eq(lit(60)))
        .then(lit(1))
        .otherwise(lit(2));
    usage
        .filter(col("query_type").eq(lit(0)))
        .group_by([col("date"), col(ACCOUNT), col("interval_min")])
        .agg([
            col("billed_bytes").sum().alias("billed_bytes"),
            len().cast(DataType::Int64).alias("usage_points"),
        ])
        .with_column(preference.alias("preference"))
        .sort(["date", "preference"], SortMultipleOptions::default())
        .group_by([col("date"), col(ACCOUNT)])
        .agg([
            col("billed_bytes").first(),
            col("interval_min").first().alias("usage_interval_min"),
            col("usage_points").first(),
        ])
}

/// Why a day's figures may be short, from the manifests the fetches leave: the day's
/// own reasons (the lake's, or the one account of a platform), and each named account's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayGaps {
    /// Inputs absent or failed: a run can fetch them.
    pub missing: Vec<Reason>,
    /// Inputs present but not final yet: time settles them.
    pub not_final: Vec<Reason>,
    /// What each account lacks, when a platform has several ([`gaps_of`]).
    pub accounts: BTreeMap<String, DayGaps>,
}

impl DayGaps {
    /// Whether the whole day (every account of it) is complete.
    pub fn complete(&self) -> bool {
        self.own_complete() && self.accounts.values().all(DayGaps::complete)
    }

    fn own_complete(&self) -> bool {
        self.missing.is_empty() && self.not_final.is_empty()
    }

    /// Whether anything the day lacks is missing (not merely not final).
    pub fn any_missing(&self) -> bool {
        !self.missing.is_empty() || self.accounts.values().any(|a| !a.missing.is_empty())
    }

    /// Every reason, each account's named, for the day's summary (in English: the
    /// CSVs' `missing` column, the log).
    pub fn describe(&self) -> String {
        self.describe_in(false)
    }

    /// The same in Chinese (`zh`: the page, the chat message) or English.
    pub fn describe_in(&self, zh: bool) -> String {
        let said = |r: &Reason| if zh { r.zh.clone() } else { r.en.clone() };
        let mut all: Vec<String> = self.own_lines().into_iter().map(said).collect();
        for (account, gaps) in &self.accounts {
            all.extend(gaps.own_lines().into_iter().map(|r| {
                if zh {
                    format!("账号 {account}：{}", r.zh)
                } else {
                    format!("{account}: {}", r.en)
                }
            }));
        }
        all.join(if zh { "；" } else { "; " })
    }

    /// What one account's rows of the day lack: the day's own reasons and its own.
    pub fn of_account(&self, account: &str) -> DayGaps {
        let mut gaps = DayGaps {
            missing: self.missing.clone(),
            not_final: self.not_final.clone(),
            accounts: BTreeMap::new(),
        };
        if let Some(own) = self.accounts.get(account) {
            gaps.missing.extend(own.missing.iter().cloned());
            gaps.not_final.extend(own.not_final.iter().cloned());
        }
        gaps
    }

    fn own_lines(&self) -> Vec<&Reason> {
        self.missing.iter().chain(&self.not_final).collect()
    }
}

/// Why a day is incomplete, as its source says it in both languages: English for the
/// CSVs and the log, Chinese for the page and the chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub en: String,
    pub zh: String,
}

impl Reason {
    pub fn new(en: impl Into<String>, zh: impl Into<String>) -> Reason {
        Reason {
            en: en.into(),
            zh: zh.into(),
        }
    }
}

/// An account's record of `kind` for a day: `Some(None)` when there is none, `None` when
/// it does not parse (said in `gaps`: the next run writes it again).
pub fn day_record<T: serde::de::DeserializeOwned>(
    lake: &Lake,
    kind: Kind,
    account: &str,
    date: NaiveDate,
    gaps: &mut DayGaps,
) -> Result<Option<Option<T>>, LakeError> {
    let scope = Scope::new(kind.owner, account).unwrap_or_else(|_| Scope::default_of(kind.owner));
    let path = lake.manifest_file(kind, &scope, &day_name(date));
    match lake.read_manifest(&path) {
        Ok(record) => Ok(Some(record)),
        Err(LakeError::Manifest { source, .. }) => {
            let file = lake.relative(&path);
            gaps.missing.push(Reason::new(
                format!("manifest {file} is damaged ({source}): `run` writes it again"),
                format!("清单 {file} 已损坏（{source}）：`run` 会重写"),
            ));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

fn day_name(date: NaiveDate) -> SafeName {
    SafeName::exact(&date.to_string()).expect("a date is a safe name")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The billed platform's rows only: another platform's logs in the same rollup
    /// neither add to its channels nor to the reconciliation.
    #[test]
    fn requests_by_channel_counts_the_billed_platforms_logs_only() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        let billed = crate::lake::catalogue::owner(USAGE);
        let five = df!(
            "platform" => [billed, "othercdn", billed],
            "account" => ["default", "default", "default"],
            "date" => [date, date, date],
            "bucket_start" => [0i64, 0, 300_000],
            "channel" => ["wxad", "wxad", "wxad"],
            "requests" => [2i64, 7, 3],
            "bytes" => [100i64, 900, 50],
        )
        .unwrap()
        .lazy()
        .with_column(col("bucket_start").cast(DataType::Datetime(TimeUnit::Milliseconds, None)));
        let out = requests_by_channel(five).collect().unwrap();
        assert_eq!(
            out.column("requests").unwrap().i64().unwrap().get(0),
            Some(5)
        );
        assert_eq!(
            out.column("log_bytes").unwrap().i64().unwrap().get(0),
            Some(150)
        );
        assert_eq!(
            out.column("peak_bucket_bytes")
                .unwrap()
                .i64()
                .unwrap()
                .get(0),
            Some(100)
        );
    }
}
