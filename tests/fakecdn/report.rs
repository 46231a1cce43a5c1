//! What the report makes of the fake CDN: it bills what its table says, per (date,
//! account, channel); its bytes are split over the dramas its rows name.

use cdncost::report::drama::{DramaError, DramaInputs, Episode, EpisodeTraffic, Traffic};
use cdncost::report::inputs::{in_range, scan_range, schema};
use cdncost::report::platform::{no_gaps, FocusNames, Inputs, Platform, Shown, Spec};
use cdncost::report::tables::ReportError;
use polars::prelude::*;

use super::{NAME, TABLE};

pub struct FakeCdn;

const FAKE: Spec = Spec {
    name: NAME,
    label: "Fake CDN",
    wide_columns: &["fakecdn_bytes"],
    monthly_columns: &["fakecdn_bytes"],
    summed: &["fakecdn_bytes"],
    share_columns: &[],
    volume_column: "fakecdn_bytes",
    day_gaps: no_gaps,
    tables: &[super::TABLE_ENTRY],
    records: &[super::DAYS],
    page_columns: &[("fakecdn_bytes", Shown::Gb)],
    focus: FocusNames {
        provider: "Fake Cloud",
        publisher: "Fake Cloud",
        invoice_issuer: "Fake Cloud Ltd",
        service: "Fake CDN",
        sku: "fakecdn-traffic",
    },
    labels: &[
        ("fakecdn_bytes", "假 CDN 字节", "fake GB"),
        ("fakecdn_cost_cny", "假 CDN 费用（元）", "fake ¥"),
        ("fakecdn_bill_cny", "假 CDN 账单（元）", "fake bill ¥"),
        ("Fake CDN", "假 CDN", "Fake CDN"),
    ],
};

impl Platform for FakeCdn {
    fn spec(&self) -> &'static Spec {
        &FAKE
    }

    fn daily(&self, inputs: &Inputs) -> Result<Option<LazyFrame>, ReportError> {
        let Some(traffic) = scan_range(inputs.lake, TABLE, inputs.from, inputs.to)? else {
            return Ok(None);
        };
        let frame = traffic
            .group_by([col("date"), col("account"), col("channel")])
            .agg([col("bytes").sum().alias("fakecdn_bytes")]);
        Ok(Some(with_basis(frame)))
    }

    fn empty(&self) -> LazyFrame {
        use DataType::*;
        let schema = schema(&[
            ("date", Date),
            ("account", String),
            ("channel", String),
            ("fakecdn_bytes", Int64),
        ]);
        with_basis(DataFrame::empty_with_schema(&schema).lazy())
    }

    fn drama_traffic(&self, inputs: &DramaInputs) -> Result<Vec<EpisodeTraffic>, DramaError> {
        let Ok(traffic) = inputs.lake.scan(TABLE) else {
            return Ok(Vec::new());
        };
        let rows = in_range(traffic, inputs.from, inputs.to)
            .select([
                col("date"),
                col("account"),
                col("channel"),
                col("drama"),
                col("bytes"),
            ])
            .collect()?;
        let dates: Vec<_> = rows.column("date")?.date()?.as_date_iter().collect();
        let accounts = rows.column("account")?.str()?.clone();
        let channels = rows.column("channel")?.str()?.clone();
        let dramas = rows.column("drama")?.str()?.clone();
        let bytes = rows.column("bytes")?.i64()?.clone();
        Ok((0..rows.height())
            .map(|i| {
                let day_channel = (
                    dates[i].unwrap_or_default(),
                    accounts.get(i).unwrap_or_default().to_string(),
                    channels.get(i).unwrap_or_default().to_string(),
                );
                let t = Traffic {
                    weight: bytes.get(i).unwrap_or(0).max(0) as u64,
                    ..Traffic::default()
                };
                (
                    day_channel,
                    Episode::named(dramas.get(i).unwrap_or_default()),
                    t,
                )
            })
            .collect())
    }
}

fn with_basis(frame: LazyFrame) -> LazyFrame {
    frame.with_columns([
        col("fakecdn_bytes").alias("billed_bytes"),
        lit("reported").alias("cost_basis"),
    ])
}
