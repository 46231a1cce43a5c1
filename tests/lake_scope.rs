//! Platform and account in the lake's contract: every row names both, every unit
//! (manifest, lease, file) is named under both, and a lake written before accounts is
//! the WeChat and Polyv `default` accounts' lake, read and re-ingested in place.
//!
//! `tests/fixtures/lake-before-accounts/` is such a lake, written by cdncost at commit
//! 30d9514 (the last before accounts) with
//! `cdncost generate --out fx --days 1 --domains 1 --peak-requests-per-hour 8 --malformed 3`
//! then `cdncost demo --data fx --out fxout` (`fxout/lake`, its `_leases/` left out).
//! The generator writes the same bytes for the same flags, so each test makes the same
//! sample again and compares.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::*;
use polars::prelude::*;

const DAY: &str = "2026-11-18";
const FIXTURE_SAMPLE: &[&str] = &[
    "--days",
    "1",
    "--domains",
    "1",
    "--peak-requests-per-hour",
    "8",
    "--malformed",
    "3",
];

/// A copy of the fixture lake at `rel` (tests change it).
fn old_lake(w: &Workdir, rel: &str) -> std::path::PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lake-before-accounts");
    let to = w.path(rel);
    for file in files_below(&from) {
        let dest = to.join(&file);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(from.join(&file), dest).unwrap();
    }
    to
}

/// The columns of one Parquet file, read by polars directly (no hive partitions).
fn file_columns(path: &Path) -> Vec<String> {
    let args = ScanArgsParquet {
        hive_options: HiveOptions::new_disabled(),
        ..Default::default()
    };
    LazyFrame::scan_parquet(PlRefPath::new(path.to_string_lossy().as_ref()), args)
        .unwrap()
        .collect_schema()
        .unwrap()
        .iter_names()
        .map(|n| n.to_string())
        .collect()
}

fn parquet_files(lake: &Path) -> Vec<String> {
    files_below(lake)
        .into_iter()
        .filter(|f| f.ends_with(".parquet"))
        .collect()
}

/// `cdncost query SQL --format csv` on `lake`, as rows.
fn query(w: &Workdir, lake: &Path, sql: &str) -> Vec<CsvRow> {
    let run = w
        .run(&[
            "--lake",
            lake.to_str().unwrap(),
            "query",
            sql,
            "--format",
            "csv",
        ])
        .ok();
    csv_rows(run.stdout().as_bytes())
}

const KEYS_BY_TABLE: &str = "\
    select 'cdn_requests' t, platform, account, count(*) n, sum(bytes) b from cdn_requests group by 1, 2, 3
    union all select 'rejects', platform, account, count(*), sum(line_length) from rejects group by 1, 2, 3
    union all select 'cdn_usage', platform, account, count(*), sum(billed_bytes) from cdn_usage group by 1, 2, 3
    union all select 'polyv_traffic', platform, account, count(*), sum(total_bytes) from polyv_traffic group by 1, 2, 3
    union all select 'media_history', platform, account, count(*), sum(media_id) from media_history group by 1, 2, 3
    order by 1, 2, 3";

#[test]
fn a_lake_from_before_accounts_reads_as_the_default_accounts_and_reports_the_same() {
    let w = Workdir::new();
    let old = old_lake(&w, "old");
    // The fixture is what it says: no file of it has the two columns.
    let old_files = parquet_files(&old);
    assert!(old_files.len() > 20, "{old_files:?}");
    for file in &old_files {
        let columns = file_columns(&old.join(file));
        assert!(
            !columns.iter().any(|c| c == "account"),
            "{file}: {columns:?}"
        );
    }
    // The same sample, through today's code: every file has them, first.
    w.generate("gen", FIXTURE_SAMPLE);
    w.run(&["demo", "--data", "gen", "--out", "new"]).ok();
    let new = w.path("new/lake");
    for file in parquet_files(&new) {
        let columns = file_columns(&new.join(&file));
        assert_eq!(columns[..2], ["platform", "account"], "{file}");
    }
    // The old lake has no rollups: a report says so and names the command, never
    // leaving its requests out silently; `cdncost rollup` makes them from cdn_requests.
    let old_arg = old.to_str().unwrap();
    let refused = w
        .run(&[
            "--lake", old_arg, "report", "--from", DAY, "--to", DAY, "--out", "refused",
        ])
        .expect_code(1);
    assert!(
        refused.stderr().contains("have no rollups") && refused.stderr().contains("cdncost rollup"),
        "{}",
        refused.stderr()
    );
    assert!(!w.path("refused").exists(), "no half report");
    let rolled = w.run(&["--lake", old_arg, "rollup"]).ok();
    assert!(
        rolled.stdout().contains("rolled up from cdn_requests"),
        "{}",
        rolled.stdout()
    );
    let again = w.run(&["--lake", old_arg, "rollup"]).ok();
    assert!(
        again.stdout().contains("0 days built"),
        "{}",
        again.stdout()
    );

    // Same names for the same units: the home scope's layout is the old one (rollups
    // made afterwards included).
    // Quiet hours' log files are byte-identical (empty): the logs job keeps whichever
    // of such twins it downloads first, so their records are left out of the comparison.
    let gen_logs = w.path(&format!("gen/cdn_logs/date={DAY}"));
    let mut by_content: BTreeMap<Vec<u8>, Vec<String>> = BTreeMap::new();
    for file in files_below(&gen_logs) {
        let stem = file.trim_end_matches(".gz").to_string();
        by_content
            .entry(std::fs::read(gen_logs.join(&file)).unwrap())
            .or_default()
            .push(stem);
    }
    let twins: Vec<String> = by_content
        .into_values()
        .filter(|stems| stems.len() > 1)
        .flatten()
        .collect();
    let names = |lake: &Path| -> Vec<String> {
        let mut names: Vec<String> = files_below(lake)
            .into_iter()
            .filter(|f| !f.starts_with("_leases/"))
            .filter(|f| {
                !(f.starts_with("_manifest/ingest/")
                    && twins.iter().any(|t| f.contains(t.as_str())))
            })
            .map(|f| without_part_id(&f))
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(&old), names(&new));

    // Read as the default accounts, row for row what the new lake holds.
    let old_keys = query(&w, &old, KEYS_BY_TABLE);
    assert_eq!(old_keys, query(&w, &new, KEYS_BY_TABLE));
    let scopes: Vec<(&str, &str, &str)> = old_keys
        .iter()
        .map(|r| {
            (
                r["t"].as_str(),
                r["platform"].as_str(),
                r["account"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        scopes,
        [
            ("cdn_requests", "wechat", "default"),
            ("cdn_usage", "wechat", "default"),
            ("media_history", "wechat", "default"),
            ("polyv_traffic", "polyv", "default"),
            ("rejects", "wechat", "default"),
        ]
    );

    // Every report file byte-identical.
    for (lake, out) in [(&old, "old-report"), (&new, "new-report")] {
        w.run(&[
            "--lake",
            lake.to_str().unwrap(),
            "report",
            "--from",
            DAY,
            "--to",
            DAY,
            "--out",
            out,
        ])
        .ok();
    }
    let reports = files_below(&w.path("old-report"));
    assert!(reports.len() >= 10, "{reports:?}");
    assert_eq!(reports, files_below(&w.path("new-report")));
    for file in &reports {
        assert!(
            std::fs::read(w.path("old-report").join(file)).unwrap()
                == std::fs::read(w.path("new-report").join(file)).unwrap(),
            "{file} differs between the old lake's report and the new one's"
        );
    }
}

/// Requests and bytes the generator wrote into `gen`'s logs, over every day and channel.
fn generated_total(gen: &Path) -> (u64, i64) {
    expected_totals(gen)
        .values()
        .fold((0, 0), |a, v| (a.0 + v.0, a.1 + v.1 as i64))
}

/// Requests and bytes per account, read file by file with polars (not cdncost's reader):
/// a file's account from its name (`wechat.<account>.` or none) must be what its rows say.
fn per_account(lake: &Path) -> BTreeMap<String, (u64, i64)> {
    let mut out: BTreeMap<String, (u64, i64)> = BTreeMap::new();
    for file in parquet_files(lake)
        .iter()
        .filter(|f| f.starts_with("cdn_requests/"))
    {
        let name = file.rsplit('/').next().unwrap();
        let account = name
            .strip_prefix("wechat.")
            .and_then(|rest| rest.split_once('.'))
            .map_or("default", |(account, _)| account)
            .to_string();
        let frame = LazyFrame::scan_parquet(
            PlRefPath::new(lake.join(file).to_string_lossy().as_ref()),
            ScanArgsParquet {
                hive_options: HiveOptions::new_disabled(),
                ..Default::default()
            },
        )
        .unwrap()
        .collect()
        .unwrap();
        if let Ok(said) = frame.column("account") {
            let said: Vec<Option<&str>> = said.str().unwrap().iter().collect();
            assert!(said.iter().all(|a| *a == Some(account.as_str())), "{file}");
        } else {
            assert_eq!(account, "default", "{file} has no account column");
        }
        let entry = out.entry(account).or_default();
        entry.0 += frame.height() as u64;
        entry.1 += frame
            .column("bytes")
            .unwrap()
            .i64()
            .unwrap()
            .sum()
            .unwrap_or(0);
    }
    out
}

#[test]
fn re_ingest_in_an_old_lake_replaces_in_place_and_another_account_keeps_apart() {
    let w = Workdir::new();
    let lake = old_lake(&w, "lake");
    let gen = w.generate("gen", FIXTURE_SAMPLE);
    let logs = gen.join(format!("cdn_logs/date={DAY}"));
    let before = per_account(&lake);
    let expected = generated_total(&gen);
    assert_eq!(before["default"], expected);
    let files_before = files_below(&lake);

    // One file again, by today's code: the same names, its rows once, now with the keys.
    let one = logs.join("2026111820-1500020822.vod2.myqcloud.com-mainland.gz");
    w.run(&["ingest", one.to_str().unwrap()]).ok();
    // Plus the rollups today's ingest writes: that source's parts (its day's files are
    // built when the day is complete, by `run` or `cdncost rollup`).
    let is_rollup = |f: &String| {
        f.starts_with("_rollups/")
            || f.starts_with("requests_")
            || f.starts_with("_manifest/rollups/")
    };
    let (rollups, files_after): (Vec<String>, Vec<String>) =
        files_below(&lake).into_iter().partition(is_rollup);
    let rollups: Vec<String> = rollups.iter().map(|f| without_part_id(f)).collect();
    assert_eq!(files_after, files_before);
    let part = "2026111820-1500020822.vod2.myqcloud.com-mainland.parquet";
    let mut expected_rollups = Vec::new();
    for table in ["requests_5min", "requests_by_dir", "requests_by_place"] {
        expected_rollups.push(format!("_rollups/date={DAY}/{table}/{part}"));
    }
    expected_rollups.sort();
    assert_eq!(rollups, expected_rollups);
    assert_eq!(per_account(&lake), before);
    let stem = one
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .trim_end_matches(".gz");
    let rewritten: Vec<String> = parquet_files(&lake)
        .into_iter()
        .filter(|f| f.contains(stem))
        .collect();
    assert!(!rewritten.is_empty());
    for file in &rewritten {
        assert_eq!(file_columns(&lake.join(file))[..2], ["platform", "account"]);
    }

    // Another account's copy of the same logs: its own files, manifests and leases.
    w.run(&["ingest", "--account", "alpha", logs.to_str().unwrap()])
        .ok();
    let after = per_account(&lake);
    assert_eq!(after["default"], before["default"]);
    assert_eq!(after["alpha"], expected);
    let manifests: Vec<String> = files_below(&lake.join("_manifest/ingest"));
    for home in manifests.iter().filter(|m| !m.contains('/')) {
        assert!(
            manifests.contains(&format!("wechat.alpha/{home}")),
            "{manifests:?}"
        );
    }
    // Its leases were taken under the account (a disk lease's file goes with its holder).
    assert!(lake.join("_leases/ingest/wechat.alpha").is_dir());
    // Again: replaced, not added.
    w.run(&["ingest", "--account", "alpha", logs.to_str().unwrap()])
        .ok();
    assert_eq!(per_account(&lake), after);

    // cdncost reads old and new files together, each row under its account.
    let by_account = query(
        &w,
        &lake,
        "select account, count(*) n, sum(bytes) b from cdn_requests group by 1 order by 1",
    );
    for row in &by_account {
        let (n, b) = after[&row["account"]];
        assert_eq!(
            (
                row["n"].parse::<u64>().unwrap(),
                row["b"].parse::<i64>().unwrap()
            ),
            (n, b)
        );
    }
    assert_eq!(by_account.len(), 2);

    // An account name that could name other files is refused before anything is read.
    let bad = w.run(&["ingest", "--account", "../x", logs.to_str().unwrap()]);
    assert_ne!(bad.code(), 0);
    assert!(
        bad.stderr().contains("account name \"../x\""),
        "{}",
        bad.stderr()
    );

    // DuckDB reads the mixed lake by name (the files from before lack the two columns).
    if python_readers() {
        let sql = format!(
            "select coalesce(account, 'default') a, count(*) n, sum(bytes) b \
             from read_parquet('{}/cdn_requests/**/*.parquet', hive_partitioning = true, union_by_name = true) \
             group by 1 order by 1",
            lake.display()
        );
        let out = Command::new("python3")
            .args([
                "-c",
                "import duckdb, sys; print(duckdb.sql(sys.argv[1]).fetchall())",
                &sql,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let said = String::from_utf8_lossy(&out.stdout);
        let want = format!(
            "[('alpha', {}, {}), ('default', {}, {})]",
            after["alpha"].0, after["alpha"].1, after["default"].0, after["default"].1
        );
        assert_eq!(said.trim(), want);
    }
}

#[test]
fn two_accounts_ingest_the_same_files_at_once() {
    let w = Workdir::new();
    let gen = w.generate(
        "gen",
        &[
            "--days",
            "1",
            "--domains",
            "2",
            "--peak-requests-per-hour",
            "300",
        ],
    );
    let expected = generated_total(&gen);
    let spawn = |account: &str| {
        Command::new(env!("CARGO_BIN_EXE_cdncost"))
            .args(["ingest", "--jobs", "1", "--account", account, "gen"])
            .current_dir(w.path(""))
            .output()
            .unwrap()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| spawn("brand-a"));
        let b = s.spawn(|| spawn("brand-b"));
        (a.join().unwrap(), b.join().unwrap())
    });
    for out in [&a, &b] {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let totals = per_account(&w.path("lake"));
    assert_eq!(totals.len(), 2, "{totals:?}");
    assert_eq!(totals["brand-a"], expected);
    assert_eq!(totals["brand-b"], expected);
}
