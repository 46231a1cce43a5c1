//! A lake with every table in it, and `tests/filter_lake.py`, which counts rows of every
//! column by `IS NOT NULL` and `= v` in each engine and compares them with a whole read.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{write_gz, Run, Workdir};

/// Lines in the shape published Tencent CDN files have (DOMAIN.md §2): a quoted agent with
/// quotes inside and a quoted range, `NULL` and `"(null)"` markers, HTTPS and a port; the
/// old era's 15 fields; a TAB before the IP, an open range, HTTP/3.
pub const PUBLISHED_SHAPE: [&str; 3] = [
    "20261120000242 36.45.133.22 1500020822.vod2.myqcloud.com /a1b2/1144961661379299507/v.f100830.mp4?t=6affaa42&us=wxad-d97e967b6c18&sign=f2 1237276 1177 1046 206 NULL 499 \"Mozilla/5.0 (Linux; Android 14; wv) \"MicroMessenger\"/8.0.49 NetType/WIFI\" \"786432-4999999\" GET HTTPS hit 56845\n",
    "20261120001000 223.104.185.75 1500020822.vod2.myqcloud.com /a1b2/0478804280041957946/v.f1419-3.ts?us=douyin-ab12 0 122 1046 200 NULL 1455 \"NULL\" \"(null)\" GET HTTP/1.1 miss\n",
    "20261120002000 \t101.18.7.5 1500020822.vod2.myqcloud.com /a1b2/x/v.mp4?us=baidu-feed-3d0a 2097873 4 2 206 https://servicewechat.com/wx1/12/page-frame.html 1007 \"okhttp/4.9.2\" \"0-\" GET HTTP/3 hit -\n",
];

/// Fills `lake` (`demo/lake`, where the demo puts it, or `s3://…` reached with `env`) with
/// every table the lake
/// has: the demo's nightly run (usage series, Polyv, media catalogue and history, logs,
/// rejects), a real-shape generated day written in row groups of 4,096 rows (so engines
/// have row groups to skip), and the published-shape lines. Returns the report
/// directories to check as well: the demo's and a report over all the days.
pub fn lake_with_every_table(w: &Workdir, lake: &str, env: &[(&str, &str)]) -> Vec<PathBuf> {
    let run = |args: &[&str]| -> Run {
        let mut all = vec!["--lake", lake];
        all.extend_from_slice(args);
        w.run_env(&all, env)
    };
    run(&["demo", "--out", "demo"]).ok();
    w.generate(
        "gen",
        &[
            "--from",
            "2026-11-20",
            "--days",
            "1",
            "--domains",
            "2",
            "--peak-requests-per-hour",
            "2500",
            "--malformed",
            "25",
        ],
    );
    std::fs::write(w.path("rg.toml"), "[ingest]\nrow_group_rows = 4096\n").unwrap();
    run(&["--config", "rg.toml", "ingest", "gen/cdn_logs"]).ok();
    let published = PUBLISHED_SHAPE.concat() + "this is not a log line\n";
    write_gz(
        &w.path("published/2026112000-1500020822.vod2.myqcloud.com-mainland"),
        published.as_bytes(),
    );
    run(&["ingest", "published"]).ok();
    let report = run(&[
        "report",
        "--from",
        "2026-11-18",
        "--to",
        "2026-11-20",
        "--out",
        "report",
    ]);
    // Day 20 has logs but no usage series: the report says so (incomplete, status 3).
    assert_eq!(report.code(), 3, "{}\n{}", report.stdout(), report.stderr());
    vec![w.path("demo/report"), w.path("report")]
}

/// Runs `tests/filter_lake.py` with `args`; panics with its list of wrong counts when any
/// engine's filtered count differs from the whole read. An engine that is not installed
/// is SKIPPED, except where CI requires the readers.
pub fn check_filters(args: &[&str], env: &[(&str, &str)]) -> Option<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/filter_lake.py");
    let out = Command::new("python3")
        .arg(script)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let required = std::env::var_os("CDNCOST_REQUIRE_EXTERNAL_READERS").is_some();
    match out.status.code() {
        Some(0) => {
            assert!(
                text.contains("every filtered count equals the whole read"),
                "{text}"
            );
            eprintln!("{text}");
            Some(text)
        }
        Some(77) if !required => {
            eprintln!("SKIPPED: {text}");
            None
        }
        _ => panic!("filter_lake.py {}:\n{text}", args.join(" ")),
    }
}

/// Where CI installs DuckDB 1.5.5 with its httpfs extension (`.ci/run`).
pub fn duckdb_with_httpfs() -> String {
    std::env::var("CDNCOST_DUCKDB_S3").unwrap_or_else(|_| {
        format!(
            "{}/.cache/cdncost-duckdb-s3",
            std::env::var("HOME").unwrap_or_else(|_| "/tmp".into())
        )
    })
}
