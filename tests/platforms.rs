//! A third platform plugs into the report without touching the report: a fake CDN with
//! its own daily traffic table, defined in this file only, flows into the core long table
//! (`channel_platform_daily`), the wide `channel_daily` (its columns after Polyv's, its
//! cost in the total), the monthly sums and the page's cards. WeChat and Polyv data come
//! from the loopback servers over HTTP, as in the other report tests.

mod common;

use std::collections::BTreeMap;

use cdncost::china_time::DateRange;
use cdncost::lake::Lake;
use cdncost::report::output::Format;
use cdncost::report::platform::{default_platforms, no_gaps, Inputs, Platform, Spec};
use cdncost::report::prices::Prices;
use cdncost::report::tables::ReportError;
use cdncost::report::{make_with, ReportRequest};
use common::servers::*;
use common::*;
use polars::prelude::*;

/// A CDN that bills what its own table says, per (date, channel).
struct FakeCdn;

const TABLE: &str = "fakecdn_traffic";

const FAKE: Spec = Spec {
    name: "fakecdn",
    label: "Fake CDN",
    wide_columns: &["fakecdn_bytes"],
    monthly_columns: &["fakecdn_bytes"],
    summed: &["fakecdn_bytes"],
    share_columns: &[],
    volume_column: "fakecdn_bytes",
    day_gaps: no_gaps,
};

impl Platform for FakeCdn {
    fn spec(&self) -> &'static Spec {
        &FAKE
    }

    fn daily(&self, inputs: &Inputs) -> Result<Option<LazyFrame>, ReportError> {
        let Ok(traffic) = inputs.lake.scan(TABLE) else {
            return Ok(None);
        };
        let frame = cdncost::report::inputs::in_range(traffic, inputs.from, inputs.to)
            .group_by([col("date"), col("channel")])
            .agg([col("bytes").sum().alias("fakecdn_bytes")]);
        Ok(Some(with_basis(frame)))
    }

    fn empty(&self) -> LazyFrame {
        let schema = Schema::from_iter([
            Field::new("date".into(), DataType::Date),
            Field::new("channel".into(), DataType::String),
            Field::new("fakecdn_bytes".into(), DataType::Int64),
        ]);
        with_basis(DataFrame::empty_with_schema(&schema).lazy())
    }
}

fn with_basis(frame: LazyFrame) -> LazyFrame {
    frame.with_columns([
        col("fakecdn_bytes").alias("billed_bytes"),
        lit("reported").alias("cost_basis"),
    ])
}

/// The fake CDN's table: (date, channel) → bytes, written as a hive partition per day.
fn write_fake_table(lake: &std::path::Path, rows: &[(&str, &str, i64)]) {
    let mut by_day: BTreeMap<&str, Vec<(&str, i64)>> = BTreeMap::new();
    for (date, channel, bytes) in rows {
        by_day.entry(date).or_default().push((channel, *bytes));
    }
    for (date, rows) in by_day {
        let dir = lake.join(TABLE).join(format!("date={date}"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut frame = df!(
            "channel" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            "bytes" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        )
        .unwrap();
        let file = std::fs::File::create(dir.join("fake.parquet")).unwrap();
        ParquetWriter::new(file).finish(&mut frame).unwrap();
    }
}

#[test]
fn a_third_platform_flows_into_every_table_by_adding_files_only() {
    let s = start("");
    s.fetch_all(DAY2);
    let lake_dir = s.w.path("lake");
    // wxad also uses the fake CDN; "fake-only" uses nothing else.
    let fake = [
        (DAY1, "wxad", 3_000_000_000i64),
        (DAY1, "fake-only", 1_000_000_000),
        (DAY2, "wxad", 2_000_000_000),
    ];
    write_fake_table(&lake_dir, &fake);

    let prices: Prices = toml::from_str(
        "wechat_cny_per_gb = 0.2\npolyv_cny_per_gb = 0.12\n[fakecdn]\ncny_per_gb = 0.5\n",
    )
    .unwrap();
    let mut platforms = default_platforms();
    platforms.push(Box::new(FakeCdn));
    let request = ReportRequest {
        days: DateRange::new(DAY1.parse().unwrap(), DAY2.parse().unwrap()).unwrap(),
        out: s.w.path("out"),
        formats: vec![Format::Csv],
        excel: false,
        html: true,
        drama_mapping: None,
        polyv_dramas: Default::default(),
        lang: Default::default(),
        chinese_headers: false,
    };
    make_with(&Lake::new(&lake_dir), &prices, &request, &platforms).unwrap();

    let cents = |v: &str| -> i64 {
        if v.is_empty() {
            0
        } else {
            (v.parse::<f64>().unwrap() * 100.0).round() as i64
        }
    };
    // The core table: the fake CDN's rows, billed by its bytes at its own price.
    let long = csv_rows(&std::fs::read(s.w.path("out/channel_platform_daily.csv")).unwrap());
    let fake_rows: Vec<(String, String, i64, i64)> = long
        .iter()
        .filter(|r| r["platform"] == "fakecdn")
        .map(|r| {
            (
                r["date"].clone(),
                r["channel"].clone(),
                r["billed_bytes"].parse().unwrap(),
                cents(&r["cost_cny"]),
            )
        })
        .collect();
    // 0.5 CNY per 10^9 bytes: 5 fen per 10^8 bytes, computed here in integers.
    let want: Vec<(String, String, i64, i64)> = {
        let mut rows: Vec<_> = fake
            .iter()
            .map(|(d, c, b)| (d.to_string(), c.to_string(), *b, b / 100_000_000 * 5))
            .collect();
        rows.sort();
        rows
    };
    assert_eq!(fake_rows, want);
    assert!(long.iter().any(|r| r["platform"] == "wechat"));
    assert!(long.iter().any(|r| r["platform"] == "polyv"));

    // The wide table: its columns after Polyv's, its cost in the total.
    let daily_text = std::fs::read_to_string(s.w.path("out/channel_daily.csv")).unwrap();
    let header = daily_text.lines().next().unwrap();
    assert!(
        header.contains("polyv_bytes,fakecdn_bytes,wechat_cost_cny,polyv_cost_cny,fakecdn_cost_cny,total_cost_cny"),
        "{header}"
    );
    let daily = csv_rows(daily_text.as_bytes());
    for row in &daily {
        let parts = cents(&row["wechat_cost_cny"])
            + cents(&row["polyv_cost_cny"])
            + cents(&row["fakecdn_cost_cny"]);
        assert_eq!(cents(&row["total_cost_cny"]), parts, "{row:?}");
    }
    let only = daily
        .iter()
        .find(|r| r["channel"] == "fake-only")
        .expect("a channel on the fake CDN only has its row");
    assert_eq!(
        (
            only["fakecdn_bytes"].as_str(),
            only["wechat_log_bytes"].as_str()
        ),
        ("1000000000", "")
    );
    assert_eq!(cents(&only["total_cost_cny"]), 50);
    let wxad = daily
        .iter()
        .find(|r| r["date"] == DAY1 && r["channel"] == "wxad")
        .unwrap();
    assert_eq!(wxad["fakecdn_bytes"], "3000000000");
    assert!(
        !wxad["wechat_log_bytes"].is_empty(),
        "joined with WeChat's row"
    );

    // The month sums it; the page has its card.
    let monthly = csv_rows(&std::fs::read(s.w.path("out/channel_monthly.csv")).unwrap());
    let total = monthly.iter().find(|r| r["channel"] == "(total)").unwrap();
    assert_eq!(total["fakecdn_bytes"], "6000000000");
    assert_eq!(cents(&total["fakecdn_cost_cny"]), 300);
    let page = std::fs::read_to_string(s.w.path("out/report.html")).unwrap();
    assert!(
        page.contains("<b>¥3.00</b><span>Fake CDN</span>"),
        "the page has the fake CDN's card"
    );
}
