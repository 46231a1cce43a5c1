//! Money over a whole month, end to end: a 31-day month of generated traffic, graduated
//! WeChat tiers and a flat Polyv price, fetched by `cdncost run` from the loopback
//! servers. Every bill here is computed by the test from the servers' own files (the
//! usage series, Polyv's traffic) with its own integer tier function, never by the
//! report code; the report must equal it to the fen at every level.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::servers::*;
use common::*;

const FROM: &str = "2026-10-01";
const TO: &str = "2026-10-31";

/// WeChat's bands, in fen per GB (0.27, 0.21, 0.17 CNY): the test's own prices.
const WECHAT_FEN_PER_GB: [u128; 3] = [27, 21, 17];
/// Polyv's flat price: 0.13 CNY per GB.
const POLYV_FEN_PER_GB: u128 = 13;
const GB: u128 = 1_000_000_000;

/// A graduated bill in fen, rounded once, half up: bands end at `limits` (bytes).
fn graduated_bill_fen(bytes: u128, limits: [u128; 2]) -> i64 {
    let bands = [
        (0, limits[0]),
        (limits[0], limits[1]),
        (limits[1], u128::MAX),
    ];
    let scaled: u128 = bands
        .iter()
        .zip(WECHAT_FEN_PER_GB)
        .map(|(&(floor, ceiling), price)| bytes.clamp(floor, ceiling).saturating_sub(floor) * price)
        .sum();
    ((scaled + GB / 2) / GB) as i64
}

fn flat_bill_fen(bytes: u128) -> i64 {
    ((bytes * POLYV_FEN_PER_GB + GB / 2) / GB) as i64
}

/// "1234.05" → 123405 fen; the text must have exactly two decimals.
fn fen(text: &str) -> i64 {
    let (whole, cents) = text.split_once('.').expect("two decimals");
    assert_eq!(cents.len(), 2, "{text}");
    let negative = whole.starts_with('-');
    let value =
        whole.trim_start_matches('-').parse::<i64>().unwrap() * 100 + cents.parse::<i64>().unwrap();
    if negative {
        -value
    } else {
        value
    }
}

fn opt_fen(row: &CsvRow, column: &str) -> Option<i64> {
    (!row[column].is_empty()).then(|| fen(&row[column]))
}

fn int(row: &CsvRow, column: &str) -> Option<i64> {
    (!row[column].is_empty()).then(|| row[column].parse().unwrap())
}

fn read_csv(path: &Path) -> Vec<CsvRow> {
    csv_rows(&std::fs::read(path).unwrap())
}

/// Billed bytes per China day of October, from the generated 5-minute series.
fn billed_per_day(data: &Path) -> BTreeMap<String, i64> {
    let mut days = BTreeMap::new();
    for row in read_csv(&data.join("cdn_usage.csv")) {
        let t: i64 = row["time"].parse().unwrap();
        let day = chrono::DateTime::from_timestamp(t + 8 * 3600, 0)
            .unwrap()
            .date_naive()
            .to_string();
        *days.entry(day).or_default() += row["bytes"].parse::<i64>().unwrap();
    }
    days.retain(|day, _| day.as_str() >= FROM && day.as_str() <= TO);
    days
}

fn polyv_month_bytes(data: &Path) -> u128 {
    read_csv(&data.join("polyv/traffic.csv"))
        .iter()
        .filter(|r| r["date"].as_str() >= FROM && r["date"].as_str() <= TO)
        .map(|r| {
            r["pc_bytes"].parse::<u128>().unwrap() + r["mobile_bytes"].parse::<u128>().unwrap()
        })
        .sum()
}

#[test]
fn a_whole_tiered_month_adds_up_to_the_bill_at_every_level() {
    let w = Workdir::new();
    let data = w.generate(
        "month",
        &[
            "--from",
            FROM,
            "--days",
            "31",
            "--domains",
            "1",
            "--peak-requests-per-hour",
            "30",
        ],
    );
    let billed = billed_per_day(&data);
    assert_eq!(billed.len(), 31, "a usage series for every day");
    let month_bytes: u128 = billed.values().map(|&b| b as u128).sum();
    // Band limits at a third and two thirds of the month, in whole MB: all three bands
    // are used.
    let mb = |bytes: u128| bytes / 1_000_000 * 1_000_000;
    let limits = [mb(month_bytes / 3), mb(month_bytes * 2 / 3)];
    let config = format!(
        "[prices]\npolyv_cny_per_gb = 0.13\nwechat_tiers = [\n  {{ up_to_gb = {}, cny_per_gb = 0.27 }},\n  {{ up_to_gb = {}, cny_per_gb = 0.21 }},\n  {{ cny_per_gb = 0.17 }},\n]\n",
        limits[0] as f64 / 1e9,
        limits[1] as f64 / 1e9
    );
    // Today is 2 November: Polyv has all of October (its two-day lag), the log API
    // keeps 30 days (3 October on), so the first two days' files are ingested by hand,
    // as an operator backfilling older logs would.
    let s = start_on(&data, "2026-11-02", &config);
    let run = s.cdncost(&["run", "--from", FROM, "--to", TO, "--lookback", "0"]);
    assert!(
        run.stderr().contains("days before 2026-10-03 are older"),
        "{}",
        run.stderr()
    );
    for day in ["2026-10-01", "2026-10-02"] {
        let dir = data.join(format!("cdn_logs/date={day}"));
        s.cdncost(&["ingest", dir.to_str().unwrap()]).ok();
    }
    // Complete but for the two days no listing proves whole: status 3, said so.
    let report = s
        .cdncost(&["report", "--from", FROM, "--to", TO])
        .expect_code(3);
    assert!(
        report
            .stderr()
            .contains("2026-10-01 is incomplete: log files not listed by the API"),
        "{}",
        report.stderr()
    );
    assert!(
        !report.stderr().contains("2026-10-03 is incomplete"),
        "{}",
        report.stderr()
    );

    let wechat_bill = graduated_bill_fen(month_bytes, limits);
    let polyv_bill = flat_bill_fen(polyv_month_bytes(&data));
    assert!(
        wechat_bill > 100 && polyv_bill > 10,
        "{wechat_bill} {polyv_bill}"
    );

    let out = s.w.path("out");
    let daily = read_csv(&out.join("channel_daily.csv"));
    let channels: std::collections::BTreeSet<&str> =
        daily.iter().map(|r| r["channel"].as_str()).collect();
    assert!(channels.len() >= 9, "many channels: {channels:?}");

    // Every day: the channels' allocated bytes are the day's billed bytes exactly.
    for (day, bytes) in &billed {
        let allocated: i64 = daily
            .iter()
            .filter(|r| &r["date"] == day)
            .filter_map(|r| int(r, "wechat_allocated_billed_bytes"))
            .sum();
        assert_eq!(allocated, *bytes, "{day}");
    }
    // Every row: its total is its parts; every platform's rows add up to its bill.
    let (mut wechat_sum, mut polyv_sum, mut total_sum) = (0, 0, 0);
    for row in &daily {
        let (wechat, polyv) = (
            opt_fen(row, "wechat_cost_cny"),
            opt_fen(row, "polyv_cost_cny"),
        );
        let total = fen(&row["total_cost_cny"]);
        assert_eq!(total, wechat.unwrap_or(0) + polyv.unwrap_or(0), "{row:?}");
        wechat_sum += wechat.unwrap_or(0);
        polyv_sum += polyv.unwrap_or(0);
        total_sum += total;
    }
    assert_eq!(wechat_sum, wechat_bill, "WeChat rows = the bill");
    assert_eq!(polyv_sum, polyv_bill, "Polyv rows = the bill");

    // The month: each channel is the sum of its days; `(total)` = Σ channels = the bills.
    let monthly = read_csv(&out.join("channel_monthly.csv"));
    let total_row = monthly.iter().find(|r| r["channel"] == "(total)").unwrap();
    for row in monthly.iter().filter(|r| r["channel"] != "(total)") {
        let days: i64 = daily
            .iter()
            .filter(|d| d["channel"] == row["channel"])
            .map(|d| fen(&d["total_cost_cny"]))
            .sum();
        assert_eq!(fen(&row["total_cost_cny"]), days, "{}", row["channel"]);
        assert_eq!(
            opt_fen(row, "estimated_cost_cny"),
            Some(0),
            "no estimated day"
        );
    }
    assert_eq!(opt_fen(total_row, "wechat_cost_cny"), Some(wechat_bill));
    assert_eq!(opt_fen(total_row, "polyv_cost_cny"), Some(polyv_bill));
    assert_eq!(opt_fen(total_row, "wechat_bill_cny"), Some(wechat_bill));
    assert_eq!(opt_fen(total_row, "polyv_bill_cny"), Some(polyv_bill));
    assert_eq!(fen(&total_row["total_cost_cny"]), total_sum);

    // Every money cell of every CSV has exactly two decimals.
    let money = regex_like_money;
    for table in ["channel_daily", "channel_monthly", "channel_platform_daily"] {
        let rows = read_csv(&out.join(format!("{table}.csv")));
        for row in &rows {
            for (column, value) in row.iter().filter(|(c, _)| c.ends_with("_cny")) {
                assert!(
                    value.is_empty() || money(value),
                    "{table}.{column} = {value:?}"
                );
            }
        }
    }

    // Parquet money is decimal(18,2) to DuckDB, and sums to the same fen.
    if python_readers() {
        let script = format!(
            "import duckdb\nc = duckdb.connect()\nt = c.execute(\"SELECT typeof(wechat_cost_cny), typeof(total_cost_cny), CAST(SUM(wechat_cost_cny) * 100 AS BIGINT), CAST(SUM(polyv_cost_cny) * 100 AS BIGINT) FROM '{}' GROUP BY ALL\").fetchall()\nprint(t)\n",
            out.join("channel_daily.parquet").display()
        );
        let run = std::process::Command::new("python3")
            .args(["-c", &script])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&run.stdout).to_string()
            + &String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "{text}");
        let want = format!("[('DECIMAL(18,2)', 'DECIMAL(18,2)', {wechat_bill}, {polyv_bill})]");
        assert_eq!(text.trim(), want);
    }

    // The page's cards show the same totals.
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    for (fen, label) in [
        (total_sum, "总费用"),
        (wechat_bill, "微信 CDN"),
        (polyv_bill, "保利威"),
    ] {
        let card = format!("<b>¥{}</b><span>{label}</span>", grouped(fen));
        assert!(page.contains(&card), "{card} not on the page");
    }
}

/// `-?\d+\.\d\d`, without a regex crate.
fn regex_like_money(value: &str) -> bool {
    let digits = value.strip_prefix('-').unwrap_or(value);
    match digits.split_once('.') {
        Some((whole, cents)) => {
            !whole.is_empty()
                && whole.bytes().all(|b| b.is_ascii_digit())
                && cents.len() == 2
                && cents.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

/// 123456 fen → "1,234.56", as the page prints money.
fn grouped(fen: i64) -> String {
    let whole = (fen / 100).to_string();
    let mut out = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("{out}.{:02}", fen % 100)
}
