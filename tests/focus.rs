//! The FOCUS export, checked by the FinOps Foundation's own validator (`focus-validator`
//! 1.0.0, which `.ci/run` installs), read back by DuckDB with the spec's types, and summed
//! against the report to the fen; and the three policies for billed usage no log
//! explains, each channel's cost worked out here on its own.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::servers::*;
use common::*;

const PRICED: &str = "[prices]\nwechat_cny_per_gb = 0.2\npolyv_cny_per_gb = 0.12\n";

/// The validator's executable: `CDNCOST_FOCUS_VALIDATOR`, else the virtual environment
/// `.ci/run` makes. Where CI requires the external tools, its absence fails the test.
fn validator() -> Option<PathBuf> {
    let exe = match std::env::var_os("CDNCOST_FOCUS_VALIDATOR") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into()))
            .join(".cache/cdncost-focus-venv/bin/focus-validator"),
    };
    if exe.exists() {
        return Some(exe);
    }
    assert!(
        std::env::var_os("CDNCOST_REQUIRE_EXTERNAL_READERS").is_none(),
        "focus-validator is required here (.ci/run installs it; or set CDNCOST_FOCUS_VALIDATOR)"
    );
    eprintln!("SKIPPED: focus-validator not found at {}", exe.display());
    None
}

/// The validator's report on `csv`. focus-validator 1.0.0 opens its list of currency
/// codes by a path relative to the working directory (`focus_validator/utils/…`): it is
/// run from the directory its package lies in, as its own tests are.
fn validate(exe: &Path, csv: &Path) -> String {
    let python = exe.with_file_name("python");
    let site = Command::new(&python)
        .args([
            "-c",
            "import os, focus_validator; print(os.path.dirname(os.path.dirname(focus_validator.__file__)))",
        ])
        .output()
        .expect("the validator's python runs");
    let site = String::from_utf8(site.stdout).unwrap().trim().to_string();
    let out = Command::new(exe)
        .args([
            "--data-file",
            csv.to_str().unwrap(),
            "--validate-version",
            "1.0",
        ])
        .current_dir(&site)
        .output()
        .expect("focus-validator runs");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[track_caller]
fn assert_valid(exe: &Path, csv: &Path) {
    let said = validate(exe, csv);
    assert!(
        said.contains("Validation succeeded.") && !said.contains("failed"),
        "{}: {said}",
        csv.display()
    );
}

fn fen(text: &str) -> i64 {
    if text.is_empty() {
        return 0;
    }
    let (int, frac) = text.split_once('.').unwrap_or((text, "0"));
    let negative = int.starts_with('-');
    let whole: i64 = int.trim_start_matches('-').parse().unwrap();
    let cents: i64 = format!("{frac:0<2}")[..2].parse().unwrap();
    let value = whole * 100 + cents;
    if negative {
        -value
    } else {
        value
    }
}

fn rows(path: &Path) -> Vec<CsvRow> {
    csv_rows(&std::fs::read(path).unwrap())
}

/// Σ of a money column.
fn sum(rows: &[CsvRow], column: &str) -> i64 {
    rows.iter().map(|r| fen(&r[column])).sum()
}

/// The demo's `focus.csv` passes the validator, and its BilledCost adds up to the report's
/// total; a copy with a currency that is no ISO code fails it (the check can fail).
#[test]
fn the_demos_focus_export_passes_the_validator_and_adds_up() {
    let w = Workdir::new();
    w.run(&["demo"]).ok();
    let report = w.path("demo-out/report");
    let focus = rows(&report.join("focus.csv"));
    let daily = rows(&report.join("channel_daily.csv"));
    assert_eq!(sum(&focus, "BilledCost"), sum(&daily, "total_cost_cny"));
    assert_eq!(sum(&focus, "BilledCost"), 905, "the demo's ¥9.05");
    for column in ["EffectiveCost", "ListCost", "ContractedCost"] {
        assert_eq!(sum(&focus, column), 905, "{column}");
    }
    // Both accounts, both platforms, each under its own id.
    let ids: std::collections::BTreeSet<(String, String, String)> = focus
        .iter()
        .map(|r| {
            (
                r["x_Platform"].clone(),
                r["SubAccountName"].clone(),
                r["SubAccountId"].clone(),
            )
        })
        .collect();
    assert_eq!(ids.len(), 4, "{ids:?}");
    assert!(
        ids.iter().all(|(_, name, id)| !id.is_empty() && id != name),
        "{ids:?}"
    );
    let Some(exe) = validator() else { return };
    assert_valid(&exe, &report.join("focus.csv"));
    let text = std::fs::read_to_string(report.join("focus.csv")).unwrap();
    let broken = w.path("broken.csv");
    std::fs::write(&broken, text.replace(",CNY,", ",RMB,")).unwrap();
    let said = validate(&exe, &broken);
    assert!(
        said.contains("BillingCurrency") && said.contains("Validation failed"),
        "{said}"
    );
}

/// A lake with every awkward row: DAY1's logs fetched under the provisional window,
/// DAY2 billed with no logs at all (its bill is `(unattributed)`), untagged traffic,
/// channels on Polyv only, a Polyv video with no traffic (a zero-cost row).
fn awkward(config: &str) -> Servers {
    let s = start(&format!(
        "{PRICED}[logs]\ncomplete_after_hours = 100000\n{config}"
    ));
    s.cdncost(&["fetch", "usage", "--from", DAY1, "--to", DAY2])
        .ok();
    s.cdncost(&["fetch", "logs", "--from", DAY1, "--to", DAY1])
        .ok();
    s.cdncost(&["fetch", "polyv", "--from", DAY1, "--to", DAY2])
        .ok();
    s
}

#[test]
fn every_awkward_row_validates_and_adds_up() {
    let s = awkward("");
    s.report(&["--out", "out"]).expect_code(3);
    let out = s.w.path("out");
    let focus = rows(&out.join("focus.csv"));
    let daily = rows(&out.join("channel_daily.csv"));
    assert_eq!(sum(&focus, "BilledCost"), sum(&daily, "total_cost_cny"));
    let has = |what: &str, f: &dyn Fn(&CsvRow) -> bool| {
        assert!(focus.iter().any(f), "no {what} row");
    };
    has("untagged", &|r| r["x_Channel"] == "(untagged)");
    has("unattributed", &|r| {
        r["x_Channel"] == "(unattributed)"
            && r["ChargePeriodStart"] == "2026-11-18T16:00:00Z"
            && r["x_AllocatedResourceId"].is_empty()
            && fen(&r["BilledCost"]) > 0
    });
    has("zero-cost", &|r| fen(&r["BilledCost"]) == 0);
    let wechat_channels: std::collections::BTreeSet<&str> = focus
        .iter()
        .filter(|r| r["x_Platform"] == "wechat")
        .map(|r| r["x_Channel"].as_str())
        .collect();
    has("Polyv-only channel", &|r| {
        r["x_Platform"] == "polyv" && !wechat_channels.contains(r["x_Channel"].as_str())
    });
    // Charge periods are China days in UTC; both days are provisional, and say why.
    for r in &focus {
        let (start, end) = (&r["ChargePeriodStart"], &r["ChargePeriodEnd"]);
        assert!(
            [
                ("2026-11-17T16:00:00Z", "2026-11-18T16:00:00Z"),
                ("2026-11-18T16:00:00Z", "2026-11-19T16:00:00Z")
            ]
            .contains(&(start.as_str(), end.as_str())),
            "{start} {end}"
        );
        assert_eq!(
            (
                r["BillingPeriodStart"].as_str(),
                r["BillingPeriodEnd"].as_str()
            ),
            ("2026-10-31T16:00:00Z", "2026-11-30T16:00:00Z")
        );
        assert_eq!(r["x_Provisional"], "true", "{r:?}");
        assert!(!r["x_DayGaps"].is_empty());
    }
    // The page says why in Chinese; the CSVs keep the English reasons (an interface).
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        page.contains("日志文件未经 API 列出"),
        "the incomplete days in Chinese"
    );
    assert!(!page.contains("log files not listed by the API"));
    assert!(daily
        .iter()
        .any(|r| r["missing"].contains("log files not listed by the API")));
    let Some(exe) = validator() else { return };
    assert_valid(&exe, &out.join("focus.csv"));
}

/// Largest remainder, written again here: `total` split by `weights`, ties to the
/// earlier part.
fn split(total: i64, weights: &[i64]) -> Vec<i64> {
    let sum: i128 = weights.iter().map(|w| *w as i128).sum();
    let mut parts: Vec<i64> = weights
        .iter()
        .map(|w| (total as i128 * *w as i128 / sum) as i64)
        .collect();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by_key(|&i| {
        (
            std::cmp::Reverse(total as i128 * weights[i] as i128 % sum),
            i,
        )
    });
    let left = total - parts.iter().sum::<i64>();
    for &i in order.iter().take(left as usize) {
        parts[i] += 1;
    }
    parts
}

/// (date, channel) → (billed bytes, fen) of one platform in a core table.
fn by_channel(rows: &[CsvRow], platform: &str) -> BTreeMap<(String, String), (i64, i64)> {
    rows.iter()
        .filter(|r| r["platform"] == platform)
        .map(|r| {
            (
                (r["date"].clone(), r["channel"].clone()),
                (r["billed_bytes"].parse().unwrap_or(0), fen(&r["cost_cny"])),
            )
        })
        .collect()
}

/// DAY2 is billed and has no logs: `separate` keeps its `(unattributed)` row,
/// `proportional` spreads its fen and bytes over DAY1's WeChat channels by their billed
/// bytes (the day has none of its own), `to:<channel>` hands it to one; the totals, the
/// other rows and the validator's verdict stay.
#[test]
fn the_three_unattributed_policies_move_the_cost_exactly() {
    let s = awkward("[allocation]\nunattributed = \"proportional\"\n");
    s.report(&["--out", "separate", "--unattributed", "separate"])
        .expect_code(3);
    s.report(&["--out", "proportional"]).expect_code(3);
    s.report(&["--out", "to", "--unattributed", "to:douyin"])
        .expect_code(3);
    let core = |dir: &str| rows(&s.w.path(dir).join("channel_platform_daily.csv"));
    let separate = by_channel(&core("separate"), "wechat");
    let unattributed = (DAY2.to_string(), "(unattributed)".to_string());
    let (bytes, cost) = separate[&unattributed];
    assert!(cost > 0 && bytes > 0);
    let day1: Vec<(&String, i64)> = separate
        .iter()
        .filter(|((d, _), _)| d == DAY1)
        .map(|((_, c), (b, _))| (c, *b))
        .filter(|(_, b)| *b > 0)
        .collect();
    let weights: Vec<i64> = day1.iter().map(|(_, b)| *b).collect();
    let mut want = separate.clone();
    want.remove(&unattributed);
    for ((channel, _), (b, f)) in day1.iter().zip(
        split(bytes, &weights)
            .into_iter()
            .zip(split(cost, &weights)),
    ) {
        want.insert((DAY2.to_string(), channel.to_string()), (b, f));
    }
    assert_eq!(by_channel(&core("proportional"), "wechat"), want);
    let mut want = separate.clone();
    want.remove(&unattributed);
    want.insert((DAY2.to_string(), "douyin".into()), (bytes, cost));
    assert_eq!(by_channel(&core("to"), "wechat"), want);
    for dir in ["separate", "proportional", "to"] {
        assert_eq!(
            by_channel(&core(dir), "polyv"),
            by_channel(&core("separate"), "polyv"),
            "{dir}: Polyv untouched"
        );
        let total = sum(
            &rows(&s.w.path(dir).join("channel_daily.csv")),
            "total_cost_cny",
        );
        assert_eq!(total, sum(&core("separate"), "cost_cny"), "{dir}");
        let focus = rows(&s.w.path(dir).join("focus.csv"));
        assert_eq!(sum(&focus, "BilledCost"), total, "{dir}");
        let policy = if dir == "to" { "to:douyin" } else { dir };
        assert!(focus.iter().all(|r| r["x_UnattributedPolicy"] == policy));
        if dir != "separate" {
            assert!(!focus.iter().any(|r| r["x_Channel"] == "(unattributed)"));
            let moved: Vec<&CsvRow> = focus
                .iter()
                .filter(|r| r["x_AllocatedMethodDetails"].contains("\"Unattributed\""))
                .collect();
            assert!(!moved.is_empty(), "{dir}: the receiving rows say so");
            assert!(moved
                .iter()
                .all(|r| r["x_AllocatedMethodId"].contains("+unattributed:")));
        }
    }
    // The page states the policy.
    let page = std::fs::read_to_string(s.w.path("proportional/report.html")).unwrap();
    assert!(page.contains("proportional"), "the page names the policy");
    let Some(exe) = validator() else { return };
    assert_valid(&exe, &s.w.path("proportional/focus.csv"));
}

/// A policy that is none is refused where it is read, naming the setting.
#[test]
fn an_unknown_policy_is_an_error() {
    let s = start("[allocation]\nunattributed = \"spread\"\n");
    let run = s.report(&["--out", "out"]).expect_code(1);
    assert!(
        run.stderr().contains("allocation.unattributed") && run.stderr().contains("spread"),
        "{}",
        run.stderr()
    );
    let s = start("");
    let run = s
        .report(&["--out", "out", "--unattributed", "to:"])
        .expect_code(2);
    assert!(run.stderr().contains("to:"), "{}", run.stderr());
}

/// DuckDB reads `focus.parquet` with the types the spec gives (decimal costs and
/// quantities, UTC timestamps), filters it by a charge period as a FinOps tool would,
/// and sums it to the report's total.
#[test]
fn duckdb_reads_the_focus_parquet_with_the_specs_types() {
    if !python_readers() {
        return;
    }
    let w = Workdir::new();
    w.run(&["demo"]).ok();
    let parquet = w.path("demo-out/report/focus.parquet");
    let script = r#"
import sys, duckdb
f = sys.argv[1]
types = dict(duckdb.sql(f"select column_name, column_type from (describe select * from '{f}')").fetchall())
for column in ["BilledCost", "EffectiveCost", "ListCost", "ContractedCost"]:
    assert types[column] == "DECIMAL(18,2)", (column, types[column])
for column in ["ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart", "BillingPeriodEnd"]:
    assert types[column] == "TIMESTAMP WITH TIME ZONE", (column, types[column])
assert types["ConsumedQuantity"] == "DECIMAL(28,9)", types["ConsumedQuantity"]
assert types["ListUnitPrice"] == "DECIMAL(18,9)", types["ListUnitPrice"]
assert types["x_Provisional"] == "BOOLEAN", types["x_Provisional"]
con = duckdb.connect()
con.sql("set TimeZone = 'UTC'")
total = con.sql(f"select sum(BilledCost) from '{f}'").fetchall()[0][0]
day = con.sql(f"select sum(BilledCost), count(*) from '{f}' where ChargePeriodStart = TIMESTAMPTZ '2026-11-17 16:00:00+00'").fetchall()[0]
other = con.sql(f"select sum(BilledCost) from '{f}' where ChargePeriodStart > TIMESTAMPTZ '2026-11-17 16:00:00+00'").fetchall()[0][0]
tags = con.sql(f"select count(*) from '{f}' where json_extract_string(Tags, '$.channel') = x_Channel").fetchall()[0][0]
rows = con.sql(f"select count(*) from '{f}'").fetchall()[0][0]
print(total, day[0], day[1], other, tags, rows)
"#;
    let out = Command::new("python3")
        .args(["-c", script, parquet.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8(out.stdout).unwrap();
    let v: Vec<&str> = said.split_whitespace().collect();
    assert_eq!(v[0], "9.05");
    assert_eq!(
        fen(v[1]) + fen(v[3]),
        905,
        "{said}: the two days make the total"
    );
    assert!(v[2].parse::<u64>().unwrap() > 0);
    assert_eq!(v[4], v[5], "every row's Tags name its channel");
}
