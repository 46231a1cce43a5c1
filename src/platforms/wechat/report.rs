//! What the report makes of WeChat's data: the access logs say who used what (their
//! rollups, per channel and 5-minute bucket), the usage series says what was billed. A
//! day's bill is allocated to channels by their share of the day's log bytes; a day
//! without a usage series is estimated from the logs. Its requests are matched to dramas
//! by their path's directory in the catalogue's history.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use polars::prelude::*;

use crate::china_time::MINUTES_PER_DAY;
use crate::lake::catalogue::manifest_kind;
use crate::lake::manifest::LogDayRecord;
use crate::lake::media::read_history;
use crate::lake::{
    collect_streaming, LakeError, Scope, ACCOUNT, PLATFORM, UNATTRIBUTED, UNMATCHED, UNTAGGED,
};
use crate::report::apportion::largest_remainder;
use crate::report::drama::{media_of, DramaError, DramaInputs, Episode, EpisodeTraffic, Traffic};
use crate::report::error::ReportError;
use crate::report::exprs::{data_label, round_bytes, share};
use crate::report::inputs::{self, day_record, in_range, DayGaps, Inputs, Reason, BUCKET_SECS};
use crate::report::platform::{basis_of_sum, FocusNames, Platform, Shown, Spec};
use crate::report::summary::share_of_account_day;

/// The WeChat mini-drama media service's CDN: the access logs say who used what, the
/// usage series says what was billed. A day's bill is allocated to channels by their
/// share of the day's log bytes; a day without a usage series is estimated from the logs.
pub struct Wechat;

const WECHAT: Spec = Spec {
    name: super::NAME,
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
    day_gaps: gaps,
    // Its tables and records are the lake's shared ones (logs, usage, catalogue).
    tables: &[],
    records: &[],
    page_columns: &[
        ("wechat_requests", Shown::Int),
        ("wechat_log_bytes", Shown::Gb),
        ("wechat_billed_bytes_est", Shown::Gb),
        ("wechat_allocated_billed_bytes", Shown::Gb),
        ("wechat_cost_basis", Shown::Text),
    ],
    // The media service is WeChat's; its CDN is Tencent Cloud's; Tencent invoices it.
    focus: FocusNames {
        provider: "WeChat",
        publisher: "Tencent Cloud",
        invoice_issuer: "Tencent",
        service: "WeChat mini-drama media service CDN",
        sku: "wechat-vod-cdn-traffic",
    },
    labels: &[
        ("wechat_requests", "微信请求数", "requests"),
        ("wechat_log_bytes", "微信日志字节", "log GB"),
        (
            "wechat_billed_bytes_est",
            "微信估算计费字节",
            "est. billed GB",
        ),
        (
            "wechat_allocated_billed_bytes",
            "微信分摊计费字节",
            "allocated GB",
        ),
        ("wechat_peak_mbps", "微信峰值带宽 Mbps", "peak Mbps"),
        ("wechat_p95_mbps", "微信 95 带宽 Mbps", "p95 Mbps"),
        ("wechat_share", "微信流量占比", "WeChat share"),
        ("wechat_cost_basis", "微信计费依据", "basis"),
        ("wechat_cost_cny", "微信费用（元）", "WeChat ¥"),
        ("wechat_bill_cny", "微信账单（元）", "WeChat bill ¥"),
        ("WeChat CDN", "微信 CDN", "WeChat CDN"),
        ("log_traffic", "微信日志流量", "WeChat log traffic"),
        (
            "billed_traffic",
            "微信计费流量（用量序列）",
            "WeChat billed (usage series)",
        ),
    ],
};

impl Platform for Wechat {
    fn spec(&self) -> &'static Spec {
        &WECHAT
    }

    fn daily(&self, inputs: &Inputs) -> Result<Option<LazyFrame>, ReportError> {
        // Billed usage without any log still makes rows: its bill must not vanish.
        let requests = match inputs.requests_by_channel()? {
            Some(requests) => requests,
            None if inputs.usage_points.values().any(|d| d.billed_bytes > 0) => {
                DataFrame::empty_with_schema(&inputs::requests_schema()).lazy()
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
        let raw = DataFrame::empty_with_schema(&inputs::requests_schema());
        let usage = DataFrame::empty_with_schema(&inputs::usage_schema());
        self.measures_with(raw.lazy(), usage.lazy(), 1.0)
            .expect("an empty frame always builds")
    }

    fn monthly_aggregates(&self) -> Vec<Expr> {
        vec![
            col("wechat_peak_mbps").max(),
            basis_of_sum("wechat_cost_basis"),
        ]
    }

    fn total_row_values(&self) -> Vec<Expr> {
        vec![lit(NULL).cast(DataType::Float64).alias("wechat_peak_mbps")]
    }

    fn monthly_shares(&self, month_total: &dyn Fn(&str) -> Expr) -> Vec<Expr> {
        vec![
            share(col("wechat_log_bytes"), month_total("wechat_log_bytes"))
                .round(6, RoundMode::HalfAwayFromZero)
                .alias("wechat_share"),
        ]
    }

    /// Each day's rollup per directory, matched to the catalogue's history (and the
    /// prefixes named by hand, where it knows none): a day at a time, so what is held is
    /// one day's directories.
    fn drama_traffic(&self, inputs: &DramaInputs) -> Result<Vec<EpisodeTraffic>, DramaError> {
        let mut catalogues = Catalogues {
            inputs,
            read: BTreeMap::new(),
        };
        let mut rows = Vec::new();
        for (day, frames) in inputs.by_dir.range(inputs.from..=inputs.to) {
            rows.extend(traffic_of_day(
                frames[1].clone(),
                *day,
                *day,
                &mut catalogues,
            )?);
        }
        Ok(rows)
    }
}

/// Each account's catalogue history, read the first time one of its directories is
/// matched: a media id is matched only against its own account's catalogue.
struct Catalogues<'a> {
    inputs: &'a DramaInputs<'a>,
    read: BTreeMap<String, BTreeMap<String, Episode>>,
}

impl Catalogues<'_> {
    fn of(&mut self, account: &str) -> Result<&BTreeMap<String, Episode>, DramaError> {
        if !self.read.contains_key(account) {
            let scope =
                Scope::new(super::NAME, account).unwrap_or_else(|_| Scope::default_of(super::NAME));
            let mut known: BTreeMap<String, Episode> = read_history(self.inputs.lake, &scope)?
                .into_iter()
                .map(|(prefix, k)| (prefix, Episode::of(&k)))
                .collect();
            // The hand-made names fill gaps only: what the catalogue knows, it names.
            for named in self.inputs.prefixes {
                known
                    .entry(named.path_prefix.clone())
                    .or_insert_with(|| Episode::named(&named.drama_name));
            }
            self.read.insert(account.to_string(), known);
        }
        Ok(&self.read[account])
    }
}

impl Wechat {
    fn measures(&self, requests: LazyFrame, inputs: &Inputs) -> PolarsResult<LazyFrame> {
        self.measures_with(
            requests,
            inputs
                .usage
                .clone()
                .select([col("date"), col(ACCOUNT), col("billed_bytes")]),
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
        let requests = with_unattributed(
            requests.rename(
                ["requests", "log_bytes"],
                ["wechat_requests", "wechat_log_bytes"],
                true,
            ),
            usage.clone(),
        )?;
        // Rows in the order ties are settled in (date, then channel name).
        let keys = || [col("date"), col(ACCOUNT)];
        let mut rows = requests
            .join(usage, keys(), keys(), JoinArgs::new(JoinType::Left))
            .with_columns([
                round_bytes(col("wechat_log_bytes").cast(DataType::Float64) * lit(factor))
                    .alias("wechat_billed_bytes_est"),
                to_mbps("peak_bucket_bytes").alias("wechat_peak_mbps"),
                to_mbps("p95_bucket_bytes").alias("wechat_p95_mbps"),
                share_of_account_day("wechat_log_bytes").alias("wechat_share"),
                col("billed_bytes").cast(DataType::Int64),
            ])
            .sort(["date", ACCOUNT, "channel"], SortMultipleOptions::default())
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
                ["date", ACCOUNT, "channel", "billed_bytes", "cost_basis"]
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
    let keys = || [col("date"), col(ACCOUNT)];
    let day_logs = requests
        .clone()
        .group_by(keys())
        .agg([col("wechat_log_bytes").sum().alias("day_log_bytes")]);
    let unexplained = usage
        .join(day_logs, keys(), keys(), JoinArgs::new(JoinType::Left))
        .filter(
            col("billed_bytes")
                .gt(lit(0))
                .and(col("day_log_bytes").fill_null(lit(0)).eq(lit(0))),
        )
        .select([
            col("date"),
            col(ACCOUNT),
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

/// `wechat_allocated_billed_bytes`: each account's day's billed bytes (its usage series)
/// split over the day's channels in proportion to their log bytes, by the largest
/// remainder, so the channels of a day add up to the day's bill exactly. Rows come sorted
/// by (date, account, channel): an equal remainder goes to the channel first by name.
/// Null on a day without a usage series, or whose log bytes are all zero.
fn allocate_by_day(rows: &DataFrame) -> PolarsResult<Column> {
    let dates = rows.column("date")?.date()?.physical().clone();
    let accounts = rows.column(ACCOUNT)?.str()?;
    let channels = rows.column("channel")?.str()?;
    let logs = rows.column("wechat_log_bytes")?.i64()?;
    let billed = rows.column("billed_bytes")?.i64()?;
    let mut allocated: Vec<Option<i64>> = vec![None; rows.height()];
    let mut start = 0;
    while start < rows.height() {
        let day = (dates.get(start), accounts.get(start));
        let end = (start..rows.height())
            .find(|&i| (dates.get(i), accounts.get(i)) != day)
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

/// What the WeChat side lacks on `date`:
/// - logs: the day's listing record (written by `fetch logs`) must show every listed file
///   ingested and none provisional. Logs ingested by hand have no listing, so nothing
///   proves the day whole: such days say "log files not listed by the API";
/// - the usage series: the day must have its points (all of them for its interval).
fn gaps(inputs: &Inputs, date: NaiveDate, gaps: &mut DayGaps) -> Result<(), LakeError> {
    let accounts = inputs.billed_accounts()?;
    for account in &accounts {
        account_gaps(
            inputs,
            account,
            date,
            inputs::gaps_of(gaps, &accounts, account),
        )?;
    }
    Ok(())
}

/// What one mini-program's side lacks on `date`.
fn account_gaps(
    inputs: &Inputs,
    account: &str,
    date: NaiveDate,
    gaps: &mut DayGaps,
) -> Result<(), LakeError> {
    let lake = inputs.lake;
    let usage = inputs.usage_points.get(&(account.to_string(), date));
    let Some(logs) =
        day_record::<LogDayRecord>(lake, manifest_kind::LOG_DAYS, account, date, gaps)?
    else {
        return Ok(());
    };
    let billed = usage.is_some_and(|d| d.billed_bytes > 0);
    match logs {
        None => gaps.missing.push(Reason::new(
            "log files not listed by the API",
            "日志文件未经 API 列出",
        )),
        Some(r) if r.listed == 0 && billed => gaps.missing.push(Reason::new(
            "no log files listed for a billed day",
            "有计费用量的一天没有列出日志文件",
        )),
        Some(r) if !r.missing.is_empty() => {
            let (n, of) = (r.missing.len(), r.listed);
            gaps.missing.push(Reason::new(
                format!("{n} of {of} log files missing"),
                format!("{of} 个日志文件中缺 {n} 个"),
            ))
        }
        Some(r) if r.provisional > 0 => {
            let (n, hours) = (r.provisional, r.complete_after_hours);
            gaps.not_final.push(Reason::new(
                format!("{n} log files provisional (fetched under {hours} hours after their hour)"),
                format!("{n} 个日志文件为临时数据（在其所属小时后不足 {hours} 小时获取）"),
            ))
        }
        Some(_) => {}
    }
    match usage {
        None => gaps
            .missing
            .push(Reason::new("no usage series", "没有用量序列")),
        Some(d) if d.points < MINUTES_PER_DAY / d.interval_min.max(1) => {
            let (n, of) = (d.points, MINUTES_PER_DAY / d.interval_min.max(1));
            gaps.missing.push(Reason::new(
                format!("usage series has {n} of {of} points"),
                format!("用量序列只有 {of} 个点中的 {n} 个"),
            ))
        }
        Some(_) => {}
    }
    Ok(())
}

/// WeChat requests per (day, channel, episode): the rollup per directory (a few
/// thousand rows a day) summed over hours, then matched here.
fn traffic_of_day(
    by_dir: Option<LazyFrame>,
    from: NaiveDate,
    to: NaiveDate,
    catalogues: &mut Catalogues,
) -> Result<Vec<EpisodeTraffic>, DramaError> {
    let Some(by_dir) = by_dir else {
        return Ok(Vec::new());
    };
    // Its own logs only: another CDN's in the same rollup are that platform's.
    let groups = in_range(by_dir, from, to)
        .filter(col(PLATFORM).eq(lit(super::NAME)))
        .select([
            col("date"),
            col(ACCOUNT),
            data_label("channel").fill_null(lit(UNTAGGED)),
            col("dir"),
            col("requests"),
            col("bytes"),
        ])
        .group_by([col("date"), col(ACCOUNT), col("channel"), col("dir")])
        .agg([
            col("requests").sum().alias("requests"),
            col("bytes").sum().alias("log_bytes"),
        ]);
    let groups = collect_streaming(groups)?;
    let dates: Vec<Option<NaiveDate>> = groups.column("date")?.date()?.as_date_iter().collect();
    let accounts = groups.column(ACCOUNT)?.str()?.clone();
    let channels = groups.column("channel")?.str()?.clone();
    let dirs = groups.column("dir")?.str()?.clone();
    let requests = groups.column("requests")?.i64()?.clone();
    let bytes = groups.column("log_bytes")?.cast(&DataType::Int64)?;
    let bytes = bytes.i64()?;
    let mut rows = Vec::with_capacity(groups.height());
    for (i, date) in dates.into_iter().enumerate() {
        let date = date.unwrap_or_default();
        let account = accounts.get(i).unwrap_or(crate::lake::DEFAULT_ACCOUNT);
        let channel = channels.get(i).unwrap_or(UNTAGGED).to_string();
        let known = catalogues.of(account)?;
        let episode = dirs
            .get(i)
            .and_then(|dir| media_of(dir, known))
            .cloned()
            .unwrap_or_else(|| Episode::named(UNMATCHED));
        let log_bytes = bytes.get(i).unwrap_or(0);
        let t = Traffic {
            requests: requests.get(i).unwrap_or(0),
            log_bytes,
            weight: log_bytes.max(0) as u64,
        };
        rows.push(((date, account.to_string(), channel), episode, t));
    }
    Ok(rows)
}
