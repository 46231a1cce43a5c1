//! Rollups (`requests_5min`, `requests_by_dir`, `requests_by_place`) hold exactly what
//! `cdn_requests` holds, summed: checked here with polars reading the lake's files
//! directly (not through cdncost's code), per key of each rollup, after ingests in
//! several batches and a re-ingest. And a report is the same whichever rollup files it
//! reads: the day files, the parts alone (day files gone), or day files built again.

mod common;

use std::path::Path;

use common::*;
use polars::prelude::*;

/// Two days, two domains, malformed lines: untagged requests, paths no catalogue knows.
const SAMPLE: &[&str] = &[
    "--days",
    "2",
    "--domains",
    "2",
    "--peak-requests-per-hour",
    "400",
    "--malformed",
    "5",
];

fn sorted(frame: LazyFrame, keys: &[&str]) -> DataFrame {
    let by: Vec<PlSmallStr> = keys.iter().map(|k| (*k).into()).collect();
    frame
        .sort(by, SortMultipleOptions::default().with_nulls_last(true))
        .collect()
        .unwrap()
}

/// `cdn_requests` grouped by `keys` (after `extra` columns are derived) against the
/// rollup `table` grouped by the same keys: equal, row for row.
fn assert_rollup_equals_requests(lake: &Path, table: &str, keys: &[&str], extra: Vec<Expr>) {
    let group: Vec<Expr> = keys.iter().map(|k| col(*k)).collect();
    let from_requests = scan_table(lake, "cdn_requests")
        .with_columns(extra)
        .group_by(group.clone())
        .agg([
            len().cast(DataType::Int64).alias("requests"),
            col("bytes").sum().cast(DataType::Int64).alias("bytes"),
        ]);
    let from_rollup = scan_table(lake, table)
        .group_by(group)
        .agg([col("requests").sum(), col("bytes").sum()]);
    let (expected, got) = (sorted(from_requests, keys), sorted(from_rollup, keys));
    assert!(expected.height() > 10, "{table}: a sample with rows");
    let got = got
        .lazy()
        .with_columns(
            keys.iter()
                .map(|k| col(*k).cast(expected.column(k).unwrap().dtype().clone()))
                .collect::<Vec<_>>(),
        )
        .collect()
        .unwrap();
    assert!(
        expected.equals_missing(&got),
        "{table} by {keys:?} differs from cdn_requests:\n{expected}\n{got}"
    );
}

fn assert_rollups_equal_requests(lake: &Path) {
    assert_rollup_equals_requests(lake, "requests_5min", &["date", "channel"], vec![]);
    let bucket = (col("ts").cast(DataType::Int64).floor_div(lit(300_000i64)) * lit(300_000i64))
        .cast(DataType::Datetime(
            TimeUnit::Milliseconds,
            Some(unsafe { TimeZone::from_static("Asia/Shanghai") }),
        ))
        .alias("bucket_start");
    assert_rollup_equals_requests(
        lake,
        "requests_5min",
        &["date", "channel", "bucket_start"],
        vec![bucket],
    );
    let dir = col("path").str().extract(lit(r"^(.*/)"), 1).alias("dir");
    assert_rollup_equals_requests(
        lake,
        "requests_by_dir",
        &["date", "hour", "channel", "dir"],
        vec![dir],
    );
    assert_rollup_equals_requests(
        lake,
        "requests_by_place",
        &[
            "platform", "account", "date", "hour", "channel", "domain", "province", "isp",
            "status", "cache",
        ],
        vec![],
    );
    assert_rollup_equals_requests(
        lake,
        "requests_by_place",
        &["date", "province", "isp"],
        vec![],
    );
}

/// Every file below `dir`, by name, with its bytes.
fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    files_below(dir)
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(dir.join(&f)).unwrap();
            (f, bytes)
        })
        .collect()
}

#[test]
fn rollups_sum_to_the_requests_per_bucket_directory_and_place() {
    let w = Workdir::new();
    let generated = w.generate("gen", SAMPLE);
    let mut logs = files_below(&generated.join("cdn_logs"));
    logs.sort();
    assert!(logs.len() > 8, "{logs:?}");
    // Three batches, the last one the first batch again: a re-ingest replaces parts.
    let (first, rest) = logs.split_at(logs.len() / 3);
    let paths = |names: &[String]| -> Vec<String> {
        names
            .iter()
            .map(|n| generated.join("cdn_logs").join(n).display().to_string())
            .collect()
    };
    for batch in [paths(first), paths(rest), paths(first)] {
        let mut args = vec!["--lake", "lake", "ingest"];
        args.extend(batch.iter().map(String::as_str));
        w.run(&args).ok();
    }
    let lake = w.path("lake");
    assert_eq!(
        lake_totals(&lake),
        expected_totals(&generated),
        "the requests themselves"
    );
    // Ingest writes each file's parts; the days are compacted by `rollup` (or `run`).
    assert!(
        !lake.join("requests_5min").exists(),
        "no day file before the days are built"
    );
    let built = w.run(&["--lake", "lake", "rollup"]).ok();
    assert!(
        built.stdout().contains("2 days built"),
        "{}",
        built.stdout()
    );
    assert_rollups_equal_requests(&lake);
    // One day file per table and day, built from the parts there now.
    for table in ["requests_5min", "requests_by_dir", "requests_by_place"] {
        let files = files_below(&lake.join(table));
        assert_eq!(
            files,
            ["date=2026-11-18/day.parquet", "date=2026-11-19/day.parquet"],
            "{table}"
        );
    }
    // Running it again changes nothing.
    let before = contents(&lake.join("requests_5min"));
    let again = w.run(&["--lake", "lake", "rollup"]).ok();
    assert!(
        again.stdout().contains("0 days built, 2 up to date"),
        "{}",
        again.stdout()
    );
    assert_eq!(before, contents(&lake.join("requests_5min")));
}

#[test]
fn a_report_is_the_same_from_day_files_from_parts_and_from_rebuilt_days() {
    let w = Workdir::new();
    w.generate("gen", SAMPLE);
    w.run(&["demo", "--data", "gen", "--out", "demo"]).ok();
    let lake = w.path("demo/lake");
    let lake_arg = lake.to_str().unwrap();
    // Three days: the third has no logs (and so no rollups).
    let report = |out: &str| {
        w.run(&[
            "--lake",
            lake_arg,
            "report",
            "--from",
            "2026-11-18",
            "--to",
            "2026-11-20",
            "--out",
            out,
        ])
    };
    let reference = report("from-days");
    assert!(
        reference.code() == 3,
        "the day without logs is incomplete: {}",
        reference.stderr()
    );
    let reference = contents(&w.path("from-days"));
    assert!(
        reference.len() >= 10,
        "{:?}",
        reference.iter().map(|f| &f.0).collect::<Vec<_>>()
    );

    // The day files gone (as after a source was ingested again, before its day was
    // built): the report reads the parts, to the same bytes.
    for table in ["requests_5min", "requests_by_dir", "requests_by_place"] {
        std::fs::remove_dir_all(lake.join(table)).unwrap();
    }
    report("from-parts").expect_code(3);
    assert_eq!(reference, contents(&w.path("from-parts")), "from the parts");

    let rolled = w.run(&["--lake", lake_arg, "rollup"]).ok();
    assert!(
        rolled.stdout().contains("2 days built"),
        "{}",
        rolled.stdout()
    );
    report("rebuilt").expect_code(3);
    assert_eq!(
        reference,
        contents(&w.path("rebuilt")),
        "from rebuilt day files"
    );
    assert_rollups_equal_requests(&lake);
}
