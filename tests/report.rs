//! `cdncost report` on the sample data, fetched over real HTTP from the loopback WeChat
//! and Polyv servers. Every expected value is computed here from the generator's own
//! files (`expected_totals.csv`, `cdn_usage.csv`, `polyv/traffic.csv`), never by the
//! report code.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::servers::*;
use common::*;

/// Graduated tiers for WeChat, a flat price for Polyv.
const PRICES: &str = "\n[prices]\npolyv_cny_per_gb = 0.05\nwechat_tiers = [\n  { up_to_gb = 5, cny_per_gb = 0.30 },\n  { up_to_gb = 10, cny_per_gb = 0.20 },\n  { cny_per_gb = 0.10 },\n]\n";

type Row = CsvRow;

fn read_csv(path: &Path) -> Vec<Row> {
    csv_rows(&std::fs::read(path).unwrap())
}

fn int(row: &Row, column: &str) -> Option<i64> {
    let v = &row[column];
    (!v.is_empty()).then(|| v.parse().unwrap())
}

fn float(row: &Row, column: &str) -> Option<f64> {
    let v = &row[column];
    (!v.is_empty()).then(|| v.parse().unwrap())
}

fn cents(v: f64) -> i64 {
    (v * 100.0).round() as i64
}

/// Billed bytes per China day, summed here from the server's 5-minute series.
fn billed_per_day() -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for row in read_csv(&sample().join("cdn_usage.csv")) {
        let t: i64 = row["time"].parse().unwrap();
        let day = chrono::DateTime::from_timestamp(t + 8 * 3600, 0)
            .unwrap()
            .date_naive()
            .to_string();
        *out.entry(day).or_default() += row["bytes"].parse::<i64>().unwrap();
    }
    out
}

/// (date, channel) → (pc, mobile) from Polyv's files; an empty channel is "polyv".
fn polyv_per_channel() -> BTreeMap<(String, String), (i64, i64)> {
    let channels: BTreeMap<String, String> = read_csv(&sample().join("polyv/videos.csv"))
        .into_iter()
        .map(|r| {
            let channel = if r["channel"].is_empty() {
                "polyv".to_string()
            } else {
                r["channel"].clone()
            };
            (r["vid"].clone(), channel)
        })
        .collect();
    // Polyv answers for every tracked video and day; a day it has no row for is zero.
    let mut out = BTreeMap::new();
    for day in [DAY1, DAY2] {
        for channel in channels.values() {
            out.insert((day.to_string(), channel.clone()), (0, 0));
        }
    }
    for r in read_csv(&sample().join("polyv/traffic.csv")) {
        let key = (r["date"].clone(), channels[&r["vid"]].clone());
        let entry: &mut (i64, i64) = out.entry(key).or_default();
        entry.0 += r["pc_bytes"].parse::<i64>().unwrap();
        entry.1 += r["mobile_bytes"].parse::<i64>().unwrap();
    }
    out
}

/// The test's own graduated tier price: 0.30 up to 5 GB, 0.20 up to 10, then 0.10.
fn tiered_cost(bytes: f64) -> f64 {
    let gb = bytes / 1e9;
    0.30 * gb.min(5.0) + 0.20 * (gb.min(10.0) - 5.0).max(0.0) + 0.10 * (gb - 10.0).max(0.0)
}

#[test]
fn daily_channel_rows_join_both_platforms_with_costs_and_gaps() {
    let s = start(PRICES);
    // The usage series of the second day is not fetched: it must show as missing.
    s.fetch_all(DAY1);
    let run = s.report(&[]).expect_code(3);
    assert!(
        run.stderr()
            .contains("2026-11-19 is incomplete: no usage series"),
        "{}",
        run.stderr()
    );
    let daily = read_csv(&s.w.path("out/channel_daily.csv"));
    let totals = expected_totals(&sample());
    let billed = billed_per_day();
    let polyv = polyv_per_channel();

    // One row per (date, channel) of either side.
    let mut keys: Vec<(String, String)> = totals.keys().cloned().collect();
    keys.extend(polyv.keys().cloned());
    keys.sort();
    keys.dedup();
    let mut got: Vec<(String, String)> = daily
        .iter()
        .map(|r| (r["date"].clone(), r["channel"].clone()))
        .collect();
    got.sort();
    assert_eq!(got, keys);
    assert!(
        keys.contains(&(DAY1.into(), "bilibili".into())),
        "Polyv-only channel"
    );
    assert!(
        keys.contains(&(DAY1.into(), "baidu-feed".into())),
        "WeChat-only channel"
    );

    let day_log: BTreeMap<String, i64> = totals.iter().fold(BTreeMap::new(), |mut m, (k, v)| {
        *m.entry(k.0.clone()).or_default() += v.1 as i64;
        m
    });
    // Month volume on the WeChat side: allocated bytes on day 1, the estimate on day 2.
    let mut month_wechat = 0.0;
    let mut basis: BTreeMap<(String, String), f64> = BTreeMap::new();
    for ((date, channel), (requests, bytes)) in &totals {
        let row = daily
            .iter()
            .find(|r| &r["date"] == date && &r["channel"] == channel)
            .unwrap();
        assert_eq!(int(row, "wechat_requests"), Some(*requests as i64));
        assert_eq!(int(row, "wechat_log_bytes"), Some(*bytes as i64));
        let estimate = (*bytes as f64 * 1.10).round() as i64;
        assert_eq!(int(row, "wechat_billed_bytes_est"), Some(estimate));
        let share = *bytes as f64 / day_log[date] as f64;
        assert!((float(row, "wechat_share").unwrap() - share).abs() < 1e-6);
        let bytes_basis = if let Some(day_billed) = billed.get(date).filter(|_| date == DAY1) {
            let allocated = int(row, "wechat_allocated_billed_bytes").unwrap();
            assert!((allocated - (*day_billed as f64 * share).round() as i64).abs() <= 1);
            assert_eq!(row["wechat_cost_basis"], "usage");
            allocated as f64
        } else {
            assert_eq!(
                row["wechat_allocated_billed_bytes"], "",
                "no usage series on {date}"
            );
            assert_eq!(row["wechat_cost_basis"], "estimate");
            estimate as f64
        };
        month_wechat += bytes_basis;
        basis.insert((date.clone(), channel.clone()), bytes_basis);
    }
    // The day's bill is apportioned exactly: its channels add up to it, to the byte.
    let allocated_day1: i64 = daily
        .iter()
        .filter(|r| r["date"] == DAY1)
        .filter_map(|r| int(r, "wechat_allocated_billed_bytes"))
        .sum();
    assert_eq!(
        allocated_day1, billed[DAY1],
        "allocations sum to the billed bytes"
    );
    // The bill is the anchor: each platform's month is priced once on its whole volume
    // (tiers computed here, rounded once), and its rows add up to that bill exactly;
    // each row stays within 2 fen (one per level: month → day → channel) of its exact
    // share of it.
    let wechat_bill = cents(tiered_cost(month_wechat));
    let polyv_month: i64 = polyv.values().map(|(pc, mobile)| pc + mobile).sum();
    let polyv_bill = cents(polyv_month as f64 / 1e9 * 0.05);
    let (mut wechat_sum, mut polyv_sum) = (0, 0);
    for row in &daily {
        let key = (row["date"].clone(), row["channel"].clone());
        let wechat_cost = float(row, "wechat_cost_cny").map(cents);
        assert_eq!(wechat_cost.is_some(), basis.contains_key(&key), "{key:?}");
        if let (Some(cost), Some(b)) = (wechat_cost, basis.get(&key)) {
            let exact = wechat_bill as f64 * b / month_wechat;
            assert!(
                (cost as f64 - exact).abs() <= 2.0,
                "{key:?}: {cost} fen, exact {exact}"
            );
            wechat_sum += cost;
        }
        let polyv_cost = float(row, "polyv_cost_cny").map(cents);
        match polyv.get(&key) {
            Some((pc, mobile)) => {
                assert_eq!(int(row, "polyv_pc_bytes"), Some(*pc));
                assert_eq!(int(row, "polyv_mobile_bytes"), Some(*mobile));
                assert_eq!(int(row, "polyv_bytes"), Some(pc + mobile));
                let exact = polyv_bill as f64 * (pc + mobile) as f64 / polyv_month as f64;
                let cost = polyv_cost.expect("a Polyv row has a cost");
                assert!(
                    (cost as f64 - exact).abs() <= 2.0,
                    "{key:?}: {cost} fen, exact {exact}"
                );
                polyv_sum += cost;
            }
            None => {
                assert_eq!(row["polyv_bytes"], "", "{key:?} has no Polyv side");
                assert_eq!(polyv_cost, None, "{key:?}");
            }
        }
        // The row's total is the sum of its parts.
        assert_eq!(
            cents(float(row, "total_cost_cny").unwrap()),
            wechat_cost.unwrap_or(0) + polyv_cost.unwrap_or(0)
        );
        let complete = row["date"] == DAY1;
        assert_eq!(row["complete"], complete.to_string(), "{key:?}");
    }
    assert_eq!(
        wechat_sum, wechat_bill,
        "WeChat rows add up to the bill, to the fen"
    );
    assert_eq!(
        polyv_sum, polyv_bill,
        "Polyv rows add up to the bill, to the fen"
    );

    // Monthly: each channel's month is the sum of its days, the total row the sum of
    // the channels, to the cent.
    let monthly = read_csv(&s.w.path("out/channel_monthly.csv"));
    let total = monthly.iter().find(|r| r["channel"] == "(total)").unwrap();
    let mut month_cents = 0;
    for row in monthly.iter().filter(|r| r["channel"] != "(total)") {
        let days: i64 = daily
            .iter()
            .filter(|d| d["channel"] == row["channel"])
            .map(|d| cents(float(d, "total_cost_cny").unwrap()))
            .sum();
        assert_eq!(cents(float(row, "total_cost_cny").unwrap()), days);
        month_cents += days;
    }
    assert_eq!(cents(float(total, "total_cost_cny").unwrap()), month_cents);
    // The (total) row carries each platform's bill for the month, equal to its rows.
    assert_eq!(
        float(total, "wechat_bill_cny").map(cents),
        Some(wechat_bill)
    );
    assert_eq!(float(total, "polyv_bill_cny").map(cents), Some(polyv_bill));
    assert!(monthly
        .iter()
        .filter(|r| r["channel"] != "(total)")
        .all(|r| r["wechat_bill_cny"].is_empty() && r["polyv_bill_cny"].is_empty()));
    assert_eq!(
        int(total, "wechat_log_bytes").unwrap(),
        day_log.values().sum::<i64>()
    );
    assert_eq!(total["wechat_cost_basis"], "mixed");
    assert_eq!(total["complete"], "false");

    // Reconciliation: every day, billed from the series, deviation of the estimate.
    let reconciliation = read_csv(&s.w.path("out/reconciliation.csv"));
    assert_eq!(reconciliation.len(), 2);
    let day1 = &reconciliation[0];
    let estimate = (day_log[DAY1] as f64 * 1.10).round();
    assert_eq!(int(day1, "billed_bytes"), Some(billed[DAY1]));
    let deviation = (estimate - billed[DAY1] as f64) / billed[DAY1] as f64 * 100.0;
    assert!((float(day1, "deviation_pct").unwrap() - deviation).abs() <= 0.005 + 1e-9);
    assert!(deviation.abs() < 3.0, "the sample bills log × 1.10 ± 2%");
    assert_eq!(day1["complete"], "true");
    assert_eq!(reconciliation[1]["billed_bytes"], "");
    assert_eq!(reconciliation[1]["missing"], "no usage series");

    // With the second day's series fetched, every day is complete.
    s.cdncost(&["fetch", "usage", "--from", DAY2, "--to", DAY2])
        .ok();
    s.report(&[]).ok();
    let daily = read_csv(&s.w.path("out/channel_daily.csv"));
    assert!(daily.iter().all(|r| r["complete"] == "true"));
    assert!(daily
        .iter()
        .filter(|r| !r["wechat_log_bytes"].is_empty())
        .all(|r| r["wechat_cost_basis"] == "usage"));
}

#[test]
fn reports_are_byte_identical_and_parquet_matches_csv() {
    let s = start(PRICES);
    s.fetch_all(DAY2);
    s.report(&[]).ok();
    let first: Vec<(String, Vec<u8>)> = files_below(&s.w.path("out"))
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(s.w.path("out").join(&f)).unwrap();
            (f, bytes)
        })
        .collect();
    assert_eq!(
        first.len(),
        17,
        "{:?}",
        first.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    // Money reads as money: two decimals in every money cell.
    for (name, bytes) in first.iter().filter(|(n, _)| n.ends_with(".csv")) {
        for row in csv_rows(bytes) {
            for (column, value) in row
                .iter()
                .filter(|(c, v)| c.ends_with("_cny") && !v.is_empty())
            {
                let (units, cents) = value.split_once('.').unwrap_or((value, ""));
                assert!(
                    !units.is_empty()
                        && units.bytes().all(|b| b.is_ascii_digit())
                        && cents.len() == 2
                        && cents.bytes().all(|b| b.is_ascii_digit()),
                    "{name}: {column} = {value}"
                );
            }
        }
    }
    // No cell reads "-0.0": a deviation that rounds to zero is zero.
    for (name, bytes) in first.iter().filter(|(n, _)| n.ends_with(".csv")) {
        for row in csv_rows(bytes) {
            for (column, value) in &row {
                let negative_zero = value.starts_with("-0") && value.parse::<f64>() == Ok(0.0);
                assert!(!negative_zero, "{name}: {column} = {value}");
            }
        }
    }
    s.report(&[]).ok();
    for (name, bytes) in &first {
        assert_eq!(
            &std::fs::read(s.w.path("out").join(name)).unwrap(),
            bytes,
            "{name} changed on a second run"
        );
    }
    // Parquet holds what the CSV holds.
    let csv = read_csv(&s.w.path("out/channel_daily.csv"));
    let parquet = polars::prelude::LazyFrame::scan_parquet(
        polars::prelude::PlRefPath::new(s.w.path("out/channel_daily.parquet").to_str().unwrap()),
        Default::default(),
    )
    .unwrap()
    .collect()
    .unwrap();
    assert_eq!(parquet.height(), csv.len());
    let channels = strings(&parquet, "channel");
    let bytes = ints(&parquet, "wechat_log_bytes");
    for (i, row) in csv.iter().enumerate() {
        assert_eq!(channels[i].as_deref(), Some(row["channel"].as_str()));
        assert_eq!(bytes[i], int(row, "wechat_log_bytes"));
    }
    // The page is self-contained: nothing is loaded from elsewhere.
    let page = std::fs::read_to_string(s.w.path("out/report.html")).unwrap();
    for outside in ["src=", "href=", "<script", "@import", "url("] {
        assert!(!page.contains(outside), "report.html contains {outside}");
    }
    assert!(page.contains("小红书"));
    assert_eq!(
        page.matches("<svg").count(),
        4,
        "days, channels, dramas, reconciliation"
    );
}

#[test]
fn excel_csv_has_bom_and_crlf() {
    let s = start("");
    s.fetch_all(DAY2);
    s.report(&["--excel", "--format", "csv", "--no-html", "--out", "xl"])
        .ok();
    let bytes = std::fs::read(s.w.path("xl/channel_daily.csv")).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBFdate,account,channel,"));
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(text.lines().count() > 10);
    assert_eq!(text.matches("\r\n").count(), text.matches('\n').count());
    assert!(text.contains("小红书"));
    assert!(!s.w.path("xl/channel_daily.parquet").exists());
    assert!(!s.w.path("xl/report.html").exists());
    // A killed run's staged file (its pid gone) is swept by the next report; a live
    // process's is left alone.
    let dead = s.w.path("xl/.channel_monthly.csv.4000000000.tmp");
    let live = s.w.path(&format!(
        "xl/.channel_monthly.csv.{}.tmp",
        std::process::id()
    ));
    std::fs::write(&dead, "half").unwrap();
    std::fs::write(&live, "in progress").unwrap();
    s.report(&["--excel", "--format", "csv", "--no-html", "--out", "xl"])
        .ok();
    assert!(!dead.exists(), "swept");
    assert!(live.exists(), "not ours to sweep");

    // The report is published as one directory. A killed run's staging directory
    // (marked: a new report that never took OUT's place) is removed unpublished; one left
    // after the swap (unmarked: the old report) gives back what OUT lacks, then goes.
    let before = std::fs::read(s.w.path("xl/channel_daily.csv")).unwrap();
    let staged = s.w.path(".xl.4000000000.tmp");
    std::fs::create_dir_all(&staged).unwrap();
    std::fs::write(staged.join(".cdncost-staging"), "").unwrap();
    std::fs::write(staged.join("channel_daily.csv"), "half a report").unwrap();
    let old = s.w.path(".xl.4000000001.tmp");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::write(old.join("notes.txt"), "the user's").unwrap();
    std::fs::write(s.w.path("xl/keep.txt"), "also the user's").unwrap();
    s.report(&["--excel", "--format", "csv", "--no-html", "--out", "xl"])
        .ok();
    assert!(!staged.exists() && !old.exists());
    assert_eq!(
        std::fs::read(s.w.path("xl/channel_daily.csv")).unwrap(),
        before
    );
    assert!(s.w.path("xl/notes.txt").exists(), "moved back");
    assert!(s.w.path("xl/keep.txt").exists(), "carried over");
    assert!(!s.w.path("xl/.cdncost-staging").exists());
    let leftovers: Vec<_> = std::fs::read_dir(s.w.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".xl."))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// A known 5-minute series: `peaky` has 20 busy buckets of 1..=20 MB (two requests in
/// the busiest), `sparse` 3 buckets. p95 is the 15th highest of the day's 288 buckets.
#[test]
fn peak_and_p95_come_from_five_minute_buckets() {
    let w = Workdir::new();
    let mut log = String::new();
    for k in 0..20u64 {
        let minute = 5 * k;
        let ts = format!("20261118{:02}{:02}{:02}", 10 + minute / 60, minute % 60, 7);
        let bytes = (k + 1) * 1_000_000;
        if k == 19 {
            // Two requests in one bucket add up.
            log.push_str(&format!(
                "{ts} 1.2.3.4 d /p?us=peaky-1 {} 4 2 200 - 1 - - GET HTTP/1.1 hit\n",
                bytes - 400_000
            ));
            log.push_str(&format!(
                "{ts} 1.2.3.4 d /p?us=peaky-1 400000 4 2 200 - 1 - - GET HTTP/1.1 hit\n"
            ));
        } else {
            log.push_str(&format!(
                "{ts} 1.2.3.4 d /p?us=peaky-1 {bytes} 4 2 200 - 1 - - GET HTTP/1.1 hit\n"
            ));
        }
    }
    for hour in [1, 2, 3] {
        log.push_str(&format!("20261118{hour:02}0000 1.2.3.4 d /p?us=sparse-1 3000000 4 2 200 - 1 - - GET HTTP/1.1 hit\n"));
    }
    write_gz(&w.path("in/handmade.gz"), log.as_bytes());
    w.run(&["ingest", "in"]).ok();
    w.run(&["report", "--from", DAY1, "--to", DAY1])
        .expect_code(3);
    let daily = read_csv(&w.path("out/channel_daily.csv"));
    let mbps = |bytes: f64| (bytes * 8.0 * 1.10 / 300.0 / 1e6 * 1000.0).round() / 1000.0;
    let peaky = daily.iter().find(|r| r["channel"] == "peaky").unwrap();
    assert_eq!(float(peaky, "wechat_peak_mbps"), Some(mbps(20e6)));
    assert_eq!(float(peaky, "wechat_p95_mbps"), Some(mbps(6e6)));
    assert_eq!(int(peaky, "wechat_requests"), Some(21));
    let sparse = daily.iter().find(|r| r["channel"] == "sparse").unwrap();
    assert_eq!(float(sparse, "wechat_peak_mbps"), Some(mbps(3e6)));
    assert_eq!(float(sparse, "wechat_p95_mbps"), Some(0.0));
    // No prices configured: costs are zero, never missing; logs ingested by hand are
    // not proven complete.
    assert_eq!(float(peaky, "total_cost_cny"), Some(0.0));
    assert!(peaky["missing"].contains("log files not listed by the API"));
}

#[test]
fn bad_ranges_and_prices_are_clear_errors() {
    let w = Workdir::new();
    let run = w
        .run(&["report", "--from", DAY2, "--to", DAY1])
        .expect_code(1);
    assert!(run.stderr().contains("before --from"), "{}", run.stderr());
    let run = w
        .run(&["report", "--from", DAY1, "--to", DAY1])
        .expect_code(1);
    assert!(run.stderr().contains("no CDN requests"), "{}", run.stderr());
    write_gz(
        &w.path("in/x.gz"),
        b"20261118120000 1.2.3.4 d /p 100 4 2 200 - 1 - - GET HTTP/1.1 hit\n",
    );
    w.run(&["ingest", "in"]).ok();
    // A bad price is refused when the config loads, by any command.
    std::fs::write(
        w.path("cdncost.toml"),
        "[prices]\nwechat_tiers = [{ up_to_gb = 5, cny_per_gb = 0.3 }]\n",
    )
    .unwrap();
    let run = w
        .run(&["report", "--from", DAY1, "--to", DAY1])
        .expect_code(1);
    assert!(run.stderr().contains("last band"), "{}", run.stderr());
    assert!(!w.path("out").exists(), "nothing is written on an error");
}

/// The page's GB are the GB of `[prices] bytes_per_gb` (it used 10^9 whatever was set).
#[test]
fn page_uses_the_configured_bytes_per_gb() {
    let log_bytes: u64 = expected_totals(&sample()).values().map(|v| v.1).sum();
    let shown = |bytes_per_gb: f64| format!("{:.2} GB", log_bytes as f64 / bytes_per_gb);
    let s = start("\n[prices]\nbytes_per_gb = 1073741824\n");
    s.fetch_all(DAY2);
    s.report(&[]).ok();
    let page = std::fs::read_to_string(s.w.path("out/report.html")).unwrap();
    let card = format!("<b>{}</b><span>微信日志流量</span>", shown(1073741824.0));
    assert!(page.contains(&card), "want {card} in the page");
    assert!(!page.contains(&shown(1e9)), "{} is decimal GB", shown(1e9));
}

/// The page is Chinese by default, English with `--lang en` or `[report] lang = "en"`;
/// `--headers zh` gives every CSV Chinese headers (a column without a label would keep its
/// snake_case name and fail here), `--headers names` (the default) the stable names.
#[test]
fn the_page_speaks_chinese_or_english_and_csv_headers_can_too() {
    let s = start(PRICES);
    s.fetch_all(DAY2);
    s.report(&["--headers", "zh", "--out", "zh"]).ok();
    s.report(&["--out", "out-names", "--format", "csv", "--no-html"])
        .ok();
    let page = std::fs::read_to_string(s.w.path("zh/report.html")).unwrap();
    assert!(page.contains("<html lang=\"zh-CN\">"));
    for words in [
        "各渠道 CDN 费用",
        "总费用",
        "月度汇总",
        "对账",
        "日期",
        "渠道",
    ] {
        assert!(page.contains(words), "{words}");
    }
    let cjk = |s: &str| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    // FOCUS's column names are the format (never translated).
    for file in files_below(&s.w.path("zh"))
        .iter()
        .filter(|f| f.ends_with(".csv") && *f != "focus.csv")
    {
        let text = std::fs::read_to_string(s.w.path("zh").join(file)).unwrap();
        let header = text.lines().next().unwrap();
        for name in header.split(',') {
            assert!(cjk(name), "{file}: '{name}' has no Chinese label");
        }
    }
    // Every cell of the Chinese page's tables is Chinese, a number, a unit, or a name
    // that data gave (a channel's, a drama's, an account's): no `true`, no `usage`, no
    // `(untagged)`.
    let names: std::collections::BTreeSet<String> = ["channel_daily.csv", "drama_daily.csv"]
        .iter()
        .flat_map(|f| csv_rows(&std::fs::read(s.w.path("out-names").join(f)).unwrap_or_default()))
        .flat_map(|r| {
            ["channel", "drama_name", "account"]
                .iter()
                .filter_map(|c| r.get(*c).cloned())
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        names.contains("wxad"),
        "the data's names are known: {names:?}"
    );
    let cells = table_cells(&page);
    assert!(cells.len() > 100, "{}", cells.len());
    for cell in &cells {
        let mut rest = cell.clone();
        for name in names.iter().filter(|n| !n.starts_with('(')) {
            rest = rest.replace(name.as_str(), "");
        }
        for unit in ["GB", "ID", "Mbps", "p95", "CDN"] {
            rest = rest.replace(unit, "");
        }
        assert!(
            !rest.chars().any(|c| c.is_ascii_alphabetic()),
            "an English word in the Chinese page's table cell {cell:?}"
        );
    }
    s.report(&["--lang", "en", "--out", "en"]).ok();
    let page = std::fs::read_to_string(s.w.path("en/report.html")).unwrap();
    assert!(page.contains("<html lang=\"en\">") && page.contains("CDN cost by channel"));
    assert!(page.contains("Monthly") && !page.contains("月度汇总"));
    let csv = std::fs::read_to_string(s.w.path("en/channel_daily.csv")).unwrap();
    assert!(csv.starts_with("date,account,channel,"));

    let toml = std::fs::read_to_string(s.w.path("cdncost.toml")).unwrap();
    std::fs::write(
        s.w.path("cdncost.toml"),
        format!("{toml}\n[report]\nlang = \"en\"\n"),
    )
    .unwrap();
    s.report(&["--out", "configured"]).ok();
    let page = std::fs::read_to_string(s.w.path("configured/report.html")).unwrap();
    assert!(page.contains("<html lang=\"en\">"));
}

/// Every column of every report table has a label (`report/words.rs` holds each column's
/// Chinese and English label side by side): with `--headers zh` no CSV header is left as
/// its snake_case name, the drama tables' included.
#[test]
fn every_column_has_a_label_in_both_languages() {
    let w = Workdir::new();
    w.run(&["demo", "--out", "demo"]).ok();
    w.run(&[
        "--lake",
        "demo/lake",
        "report",
        "--from",
        "2026-11-18",
        "--to",
        "2026-11-19",
        "--out",
        "zh",
        "--headers",
        "zh",
    ])
    .ok();
    let mut tables = 0;
    for entry in std::fs::read_dir(w.path("zh")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "csv") {
            continue;
        }
        tables += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        let header = text.trim_start_matches('\u{feff}').lines().next().unwrap();
        for column in header.split(',') {
            let unlabelled = column
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            assert!(
                !unlabelled,
                "{}: column {column} has no label",
                path.display()
            );
        }
    }
    assert!(tables >= 7, "the demo's report has its drama tables too");
}

/// The text of every `<td>` and `<th>` of a page, tags inside removed, entities decoded.
fn table_cells(page: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut rest = page;
    while let Some(start) = rest.find("<t") {
        let after = &rest[start + 2..];
        if !(after.starts_with('d') || after.starts_with('h')) {
            rest = after;
            continue;
        }
        let Some(open_end) = after.find('>') else {
            break;
        };
        let body = &after[open_end + 1..];
        let close = body.find("</t").unwrap_or(body.len());
        let mut text = String::new();
        let mut in_tag = false;
        for c in body[..close].chars() {
            match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                c if !in_tag => text.push(c),
                _ => {}
            }
        }
        let decoded = text
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'");
        cells.push(decoded);
        rest = &body[close..];
    }
    cells
}
