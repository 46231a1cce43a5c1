//! What the report makes of Polyv's data: its API reports each video's bytes per day, the
//! mapping file says which channel (and drama) a video's traffic belongs to, and those
//! bytes are what it bills.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use polars::prelude::*;

use super::fetch::VideoDayRecord;
use crate::lake::{Lake, LakeError, ACCOUNT, UNMATCHED};
use crate::report::drama::{
    drama_of_title, DramaError, DramaInputs, Episode, EpisodeTraffic, Traffic,
};
use crate::report::error::ReportError;
use crate::report::exprs::data_label;
use crate::report::inputs::{day_record, scan_range, schema, DayGaps, Inputs, TableQuery};
use crate::report::platform::{FocusNames, Platform, Shown, Spec};

/// Polyv (保利威): its API reports each video's bytes per day; the mapping file says
/// which channel a video's traffic belongs to. Those bytes are what it bills.
pub struct Polyv;

const POLYV_BYTES: &[&str] = &["polyv_pc_bytes", "polyv_mobile_bytes", "polyv_bytes"];

const POLYV: Spec = Spec {
    name: super::NAME,
    label: "Polyv",
    wide_columns: POLYV_BYTES,
    monthly_columns: POLYV_BYTES,
    summed: POLYV_BYTES,
    share_columns: &[],
    volume_column: "polyv_bytes",
    day_gaps: gaps,
    tables: super::TABLES,
    records: &[super::DAYS],
    page_columns: &[("polyv_bytes", Shown::Gb)],
    focus: FocusNames {
        provider: "Polyv",
        publisher: "Polyv",
        invoice_issuer: "Polyv (保利威)",
        service: "Polyv VOD CDN",
        sku: "polyv-vod-traffic",
    },
    labels: &[
        ("polyv_pc_bytes", "保利威 PC 字节", "Polyv PC GB"),
        ("polyv_mobile_bytes", "保利威移动端字节", "Polyv mobile GB"),
        ("polyv_bytes", "保利威字节", "Polyv GB"),
        ("polyv_cost_cny", "保利威费用（元）", "Polyv ¥"),
        ("polyv_bill_cny", "保利威账单（元）", "Polyv bill ¥"),
        ("Polyv", "保利威", "Polyv"),
    ],
};

impl Platform for Polyv {
    fn spec(&self) -> &'static Spec {
        &POLYV
    }

    fn daily(&self, inputs: &Inputs) -> Result<Option<LazyFrame>, ReportError> {
        Ok(polyv_by_channel(inputs.lake, inputs.from, inputs.to)?
            .map(|frame| self.with_basis(frame)))
    }

    /// Each video's bytes go to the drama the mapping file names for it, else the one
    /// its title names.
    fn drama_traffic(&self, inputs: &DramaInputs) -> Result<Vec<EpisodeTraffic>, DramaError> {
        let none = BTreeMap::new();
        let dramas = inputs.items.get(super::NAME).unwrap_or(&none);
        traffic(inputs.lake, inputs.from, inputs.to, dramas)
    }

    fn empty(&self) -> LazyFrame {
        let frame = DataFrame::empty_with_schema(&polyv_schema());
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

/// The columns [`polyv_by_channel`] gives (for a lake without Polyv data).
pub fn polyv_schema() -> Schema {
    use DataType::*;
    schema(&[
        ("date", Date),
        (ACCOUNT, String),
        ("channel", String),
        ("polyv_pc_bytes", Int64),
        ("polyv_mobile_bytes", Int64),
        ("polyv_bytes", Int64),
    ])
}

/// Per (date, account, channel): Polyv's bytes, and whether every video's figure is final.
pub fn polyv_by_channel(lake: &Lake, from: NaiveDate, to: NaiveDate) -> TableQuery {
    Ok(scan_range(lake, super::TABLE, from, to)?.map(polyv_per_channel))
}

fn polyv_per_channel(polyv: LazyFrame) -> LazyFrame {
    polyv
        .with_column(data_label("channel"))
        .group_by([col("date"), col(ACCOUNT), col("channel")])
        .agg([
            col("pc_bytes").sum().alias("polyv_pc_bytes"),
            col("mobile_bytes").sum().alias("polyv_mobile_bytes"),
            col("total_bytes").sum().alias("polyv_bytes"),
        ])
}

/// What the Polyv side lacks on `date`, when the lake has any Polyv data: the day's
/// record must exist, be final and have no failed video.
fn gaps(inputs: &Inputs, date: NaiveDate, gaps: &mut DayGaps) -> Result<(), LakeError> {
    let lake = inputs.lake;
    if !lake.has_table(super::TABLE)? {
        return Ok(());
    }
    let accounts = inputs.accounts_of(super::NAME, || {
        let Some(scan) = scan_range(lake, super::TABLE, inputs.from, inputs.to)? else {
            return Ok(Vec::new());
        };
        crate::report::inputs::accounts_of_query(scan).map_err(|source| LakeError::Query {
            table: super::TABLE.into(),
            source,
        })
    })?;
    use crate::report::inputs::Reason;
    for account in &accounts {
        let gaps = crate::report::inputs::gaps_of(gaps, &accounts, account);
        let Some(polyv) = day_record::<VideoDayRecord>(lake, super::DAYS, account, date, gaps)?
        else {
            continue;
        };
        match polyv {
            None => gaps
                .missing
                .push(Reason::new("no Polyv data", "无保利威数据")),
            Some(r) if !r.videos_failed.is_empty() => {
                let n = r.videos_failed.len();
                gaps.missing.push(Reason::new(
                    format!("Polyv: {n} videos failed"),
                    format!("保利威：{n} 个视频获取失败"),
                ))
            }
            Some(r) if !r.is_final => gaps
                .not_final
                .push(Reason::new("Polyv not final", "保利威数据尚未最终")),
            Some(_) => {}
        }
    }
    Ok(())
}

/// Polyv bytes per (day, channel, drama): the mapping file's drama of the video, else
/// the one its title names.
fn traffic(
    lake: &Lake,
    from: NaiveDate,
    to: NaiveDate,
    dramas: &BTreeMap<String, String>,
) -> Result<Vec<EpisodeTraffic>, DramaError> {
    let Some(scan) = scan_range(lake, super::TABLE, from, to)? else {
        return Ok(Vec::new());
    };
    let rows = scan
        .select([
            col("date"),
            col(ACCOUNT),
            data_label("channel"),
            col("vid"),
            col("title"),
            col("total_bytes"),
        ])
        .collect()?;
    let dates: Vec<Option<NaiveDate>> = rows.column("date")?.date()?.as_date_iter().collect();
    let accounts = rows.column(ACCOUNT)?.str()?.clone();
    let channels = rows.column("channel")?.str()?.clone();
    let titles = rows.column("title")?.str()?.clone();
    let vids = rows.column("vid")?.str()?.clone();
    let bytes = rows.column("total_bytes")?.cast(&DataType::Int64)?;
    let bytes = bytes.i64()?;
    Ok((0..rows.height())
        .map(|i| {
            let date = dates[i].unwrap_or_default();
            let channel = channels.get(i).unwrap_or_default().to_string();
            let drama = vids
                .get(i)
                .and_then(|vid| dramas.get(vid))
                .map(String::as_str)
                .or_else(|| titles.get(i).map(drama_of_title))
                .filter(|d| !d.is_empty());
            let t = Traffic {
                weight: bytes.get(i).unwrap_or(0).max(0) as u64,
                ..Traffic::default()
            };
            let account = accounts.get(i).unwrap_or_default().to_string();
            (
                (date, account, channel),
                Episode::named(drama.unwrap_or(UNMATCHED)),
                t,
            )
        })
        .collect())
}
