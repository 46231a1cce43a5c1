//! `cdncost query` and every query of `queries/` on the sample data. Expected values are
//! computed here in plain Rust from the lake's rows (or the generator's own files), not
//! with SQL.

mod common;

use std::collections::BTreeMap;

use common::servers::*;
use common::*;

type Row = CsvRow;

/// One request as the test reads it from the lake.
struct Request {
    channel: String,
    ts_ms: i64,
    bytes: i64,
    domain: String,
    province: String,
    isp: String,
    status: i64,
    cache: String,
    path: String,
    referer: String,
    untagged: bool,
}

/// The sample ingested, and Polyv fetched, in one work dir.
fn setup() -> Servers {
    let s = start("");
    s.cdncost(&["ingest", sample().join("cdn_logs").to_str().unwrap()])
        .ok();
    s.cdncost(&["fetch", "polyv", "--from", DAY1, "--to", DAY2])
        .ok();
    s.cdncost(&["fetch", "media"]).ok();
    s
}

fn requests(s: &Servers) -> Vec<Request> {
    let frame = scan_table(&s.w.path("lake"), "cdn_requests")
        .collect()
        .unwrap();
    let text = |name: &str| strings(&frame, name);
    let (channel, domain, province, isp, cache, path, referer) = (
        text("channel"),
        text("domain"),
        text("province"),
        text("isp"),
        text("cache"),
        text("path"),
        text("referer"),
    );
    let ts = ints(&frame, "ts");
    let bytes = ints(&frame, "bytes");
    let status = ints(&frame, "status");
    (0..frame.height())
        .map(|i| Request {
            untagged: channel[i].is_none(),
            channel: channel[i].clone().unwrap_or("(untagged)".into()),
            ts_ms: ts[i].unwrap(),
            bytes: bytes[i].unwrap(),
            domain: domain[i].clone().unwrap(),
            province: province[i].clone().unwrap(),
            isp: isp[i].clone().unwrap(),
            status: status[i].unwrap(),
            cache: cache[i].clone().unwrap(),
            path: path[i].clone().unwrap(),
            referer: referer[i].clone().unwrap_or("-".into()),
        })
        .collect()
}

/// Requests and log bytes per channel over both sample days, from the generator's truth.
fn wechat_per_channel() -> BTreeMap<String, (i64, i64)> {
    let mut per_channel: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for ((_, channel), (requests, bytes)) in &expected_totals(&sample()) {
        let e = per_channel.entry(channel.clone()).or_default();
        e.0 += *requests as i64;
        e.1 += *bytes as i64;
    }
    per_channel
}

fn query(s: &Servers, args: &[&str]) -> Vec<Row> {
    let mut all = vec!["query", "--format", "csv"];
    all.extend_from_slice(args);
    csv_rows(&s.cdncost(&all).ok().output.stdout)
}

fn n(row: &Row, column: &str) -> i64 {
    row[column].parse::<f64>().unwrap() as i64
}

fn f(row: &Row, column: &str) -> f64 {
    row[column].parse().unwrap()
}

fn round_to(v: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (v * scale).round() / scale
}

/// China seconds since midnight of a unix-ms time.
fn china_second_of_day(ts_ms: i64) -> i64 {
    (ts_ms / 1000 + 8 * 3600).rem_euclid(86_400)
}

/// Channels by billed-estimate bytes and cost, against the generator's own totals.
#[test]
fn top_channels_against_the_generators_totals() {
    let s = setup();
    let totals = expected_totals(&sample());
    let per_channel = wechat_per_channel();
    let all_bytes: i64 = per_channel.values().map(|v| v.1).sum();
    let top = query(&s, &["top_channels", "--param", "price_cny_per_gb=0.3"]);
    assert_eq!(top.len(), per_channel.len());
    for row in &top {
        let (requests, bytes) = per_channel[&row["channel"]];
        assert_eq!(n(row, "requests"), requests);
        assert_eq!(n(row, "log_bytes"), bytes);
        assert_eq!(
            n(row, "billed_bytes_est"),
            (bytes as f64 * 1.10).round() as i64
        );
        assert_eq!(
            f(row, "cost_cny_est"),
            round_to(bytes as f64 * 1.10 / 1e9 * 0.3, 2)
        );
        assert_eq!(
            f(row, "share_pct"),
            round_to(100.0 * bytes as f64 / all_bytes as f64, 2)
        );
    }
    assert!(n(&top[0], "log_bytes") >= n(&top[1], "log_bytes"));
    // One day only.
    let one_day = query(
        &s,
        &[
            "top_channels",
            "--param",
            &format!("from={DAY2}"),
            "--param",
            &format!("to={DAY2}"),
        ],
    );
    let wxad = one_day.iter().find(|r| r["channel"] == "wxad").unwrap();
    assert_eq!(
        n(wxad, "log_bytes"),
        totals[&(DAY2.to_string(), "wxad".to_string())].1 as i64
    );
}

/// One channel by province and ISP, with names, not codes.
#[test]
fn channel_by_province_isp_names_provinces_and_isps() {
    let s = setup();
    let rows = requests(&s);
    let mut expected: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.channel == "douyin") {
        let e = expected
            .entry((r.province.clone(), r.isp.clone()))
            .or_default();
        e.0 += 1;
        e.1 += r.bytes;
    }
    let got: BTreeMap<(String, String), (i64, i64)> = query(
        &s,
        &["channel_by_province_isp", "--param", "channel=douyin"],
    )
    .iter()
    .map(|r| {
        (
            (r["province"].clone(), r["isp"].clone()),
            (n(r, "requests"), n(r, "log_bytes")),
        )
    })
    .collect();
    assert_eq!(got, expected);
    assert!(got.keys().any(|(p, _)| p == "广东"), "names, not codes");
}

/// The busiest 5-minute bucket per (day, channel) and its China start time.
#[test]
fn channel_peak_5min_finds_each_days_busiest_bucket() {
    let s = setup();
    let rows = requests(&s);
    let mut buckets: BTreeMap<(String, String, i64), i64> = BTreeMap::new();
    for r in &rows {
        let day = chrono::DateTime::from_timestamp_millis(r.ts_ms + 8 * 3_600_000)
            .unwrap()
            .date_naive()
            .to_string();
        *buckets
            .entry((day, r.channel.clone(), r.ts_ms.div_euclid(300_000)))
            .or_default() += r.bytes;
    }
    let mut peaks: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    for ((day, channel, bucket), bytes) in buckets {
        let e = peaks.entry((day, channel)).or_insert((0, bucket));
        if bytes > e.0 {
            *e = (bytes, bucket);
        }
    }
    let got = query(&s, &["channel_peak_5min"]);
    assert_eq!(got.len(), peaks.len());
    for row in &got {
        let (bytes, bucket) = peaks[&(row["date"].clone(), row["channel"].clone())];
        assert_eq!(n(row, "peak_bucket_bytes"), bytes);
        let second = china_second_of_day(bucket * 300_000);
        assert_eq!(
            row["peak_start"],
            format!("{:02}:{:02}", second / 3600, second % 3600 / 60)
        );
        assert_eq!(
            f(row, "peak_mbps"),
            round_to(bytes as f64 * 8.0 * 1.1 / 300.0 / 1e6, 3)
        );
    }
}

/// A channel by the China hour of each request.
#[test]
fn channel_hourly_groups_by_china_hour() {
    let s = setup();
    let rows = requests(&s);
    let mut hours: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.channel == "小红书") {
        let e = hours
            .entry(china_second_of_day(r.ts_ms) / 3600)
            .or_default();
        e.0 += 1;
        e.1 += r.bytes;
    }
    let got: BTreeMap<i64, (i64, i64)> =
        query(&s, &["channel_hourly", "--param", "channel=小红书"])
            .iter()
            .map(|r| (n(r, "hour"), (n(r, "requests"), n(r, "log_bytes"))))
            .collect();
    assert_eq!(got, hours);
}

/// Hit ratios by channel and domain, by requests and by bytes.
#[test]
fn cache_hit_ratio_by_channel_and_domain() {
    let s = setup();
    let rows = requests(&s);
    let mut cache: BTreeMap<(String, String), (i64, i64, i64, i64)> = BTreeMap::new();
    for r in &rows {
        let e = cache
            .entry((r.channel.clone(), r.domain.clone()))
            .or_default();
        e.0 += 1;
        e.2 += r.bytes;
        if r.cache == "HIT" {
            e.1 += 1;
            e.3 += r.bytes;
        }
    }
    let got = query(&s, &["cache_hit_ratio"]);
    assert_eq!(got.len(), cache.len());
    for row in &got {
        let (count, hits, bytes, hit_bytes) =
            cache[&(row["channel"].clone(), row["domain"].clone())];
        assert_eq!((n(row, "requests"), n(row, "hits")), (count, hits));
        assert_eq!(f(row, "hit_ratio"), round_to(hits as f64 / count as f64, 4));
        assert_eq!(
            f(row, "byte_hit_ratio"),
            round_to(hit_bytes as f64 / bytes as f64, 4)
        );
    }
}

/// The 50 biggest (path, referer) pairs of untagged requests.
#[test]
fn untagged_traffic_ranks_paths_and_referers() {
    let s = setup();
    let rows = requests(&s);
    let mut untagged: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.untagged) {
        let e = untagged
            .entry((r.path.clone(), r.referer.clone()))
            .or_default();
        e.0 += 1;
        e.1 += r.bytes;
    }
    let mut ranked: Vec<_> = untagged.into_iter().collect();
    ranked.sort_by(|a, b| b.1 .1.cmp(&a.1 .1).then(a.0.cmp(&b.0)));
    ranked.truncate(50);
    let got: Vec<_> = query(&s, &["untagged_traffic"])
        .iter()
        .map(|r| {
            (
                (r["path"].clone(), r["referer"].clone()),
                (n(r, "requests"), n(r, "log_bytes")),
            )
        })
        .collect();
    assert_eq!(got, ranked);
}

/// 4xx and 5xx by channel, domain and province.
#[test]
fn status_errors_by_channel_domain_and_province() {
    let s = setup();
    let rows = requests(&s);
    let mut errors: BTreeMap<(String, String, String), (i64, i64)> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.status >= 400) {
        let e = errors
            .entry((r.channel.clone(), r.domain.clone(), r.province.clone()))
            .or_default();
        if r.status < 500 {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    }
    let got: BTreeMap<_, _> = query(&s, &["status_errors"])
        .iter()
        .map(|r| {
            assert_eq!(n(r, "errors"), n(r, "status_4xx") + n(r, "status_5xx"));
            (
                (
                    r["channel"].clone(),
                    r["domain"].clone(),
                    r["province"].clone(),
                ),
                (n(r, "status_4xx"), n(r, "status_5xx")),
            )
        })
        .collect();
    assert!(!errors.is_empty());
    assert_eq!(got, errors);
}

/// Polyv's bytes against WeChat's per channel, full outer.
#[test]
fn polyv_vs_wechat_side_by_side() {
    let s = setup();
    let per_channel = wechat_per_channel();
    let mut polyv: BTreeMap<String, i64> = BTreeMap::new();
    let mut reader = csv::Reader::from_path(sample().join("polyv/videos.csv")).unwrap();
    let channel_of: BTreeMap<String, String> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let channel = if r[2].is_empty() { "polyv" } else { &r[2] };
            (r[0].to_string(), channel.to_string())
        })
        .collect();
    let mut reader = csv::Reader::from_path(sample().join("polyv/traffic.csv")).unwrap();
    for r in reader.records() {
        let r = r.unwrap();
        *polyv.entry(channel_of[&r[1]].clone()).or_default() +=
            r[2].parse::<i64>().unwrap() + r[3].parse::<i64>().unwrap();
    }
    let got = query(&s, &["polyv_vs_wechat"]);
    let names: std::collections::BTreeSet<&String> =
        per_channel.keys().chain(channel_of.values()).collect();
    assert_eq!(got.len(), names.len());
    for row in &got {
        let channel = &row["channel"];
        let wechat = per_channel
            .get(channel)
            .map(|v| v.1.to_string())
            .unwrap_or_default();
        assert_eq!(row["wechat_log_bytes"], wechat, "{channel}");
        let polyv = polyv
            .get(channel)
            .copied()
            .or(channel_of.values().any(|c| c == channel).then_some(0));
        assert_eq!(
            row["polyv_bytes"],
            polyv.map(|b| b.to_string()).unwrap_or_default(),
            "{channel}"
        );
    }
}

#[test]
fn parameters_cannot_change_the_query() {
    let s = setup();
    let injected = query(
        &s,
        &[
            "channel_by_province_isp",
            "--param",
            "channel=wxad' OR '1'='1",
        ],
    );
    assert!(
        injected.is_empty(),
        "the quote stayed inside the literal: {injected:?}"
    );
    let run = s
        .cdncost(&[
            "query",
            "channel_hourly",
            "--param",
            "channel=wxad\\' OR 1=1 --",
        ])
        .expect_code(1);
    assert!(run.stderr().contains("backslashes"), "{}", run.stderr());
    let run = s
        .cdncost(&["query", "channel_hourly", "--param", "chanel=wxad"])
        .expect_code(1);
    assert!(
        run.stderr().contains("no :chanel placeholder"),
        "{}",
        run.stderr()
    );
    let run = s
        .cdncost(&["query", "SELECT * FROM cdn_requests WHERE channel = :c"])
        .expect_code(1);
    assert!(
        run.stderr().contains("parameter :c is not given"),
        "{}",
        run.stderr()
    );
}

#[test]
fn errors_are_clear_and_formats_work() {
    let s = setup();
    let run = s
        .cdncost(&["query", "SELEC channel FROM cdn_requests"])
        .expect_code(1);
    assert!(run.stderr().starts_with("error: SQL: "), "{}", run.stderr());
    assert_eq!(run.stderr().lines().count(), 1, "{}", run.stderr());
    let run = s
        .cdncost(&["query", "SELECT * FROM channel_daily"])
        .expect_code(1);
    assert!(
        run.stderr().contains("not found") && run.stderr().contains("tables here: cdn_requests"),
        "{}",
        run.stderr()
    );
    let run = s.cdncost(&["query", "no_such_query"]).expect_code(1);
    assert!(run.stderr().contains("--list"), "{}", run.stderr());

    let list = s.cdncost(&["query", "--list"]).ok().stdout();
    assert_eq!(list.lines().count(), 11, "{list}");
    let top = list
        .lines()
        .find(|l| l.starts_with("top_channels "))
        .unwrap();
    assert!(
        top.ends_with(
            "Channels by billed-estimate bytes and cost over a date range (WeChat CDN logs)."
        ),
        "{list}"
    );

    // Report tables are queryable once a report exists.
    s.cdncost(&["report", "--from", DAY1, "--to", DAY2])
        .expect_code(3);
    let monthly = s
        .cdncost(&[
            "query",
            "--format",
            "json",
            "SELECT channel, total_cost_cny FROM channel_monthly WHERE channel = '(total)'",
        ])
        .ok()
        .stdout();
    let parsed: serde_json::Value = serde_json::from_str(&monthly).unwrap();
    assert_eq!(parsed[0]["channel"], "(total)");

    let table = s.cdncost(&["query", "top_channels"]).ok().stdout();
    assert!(table.lines().nth(1).unwrap().starts_with("---"), "{table}");
    s.cdncost(&[
        "query",
        "top_channels",
        "--format",
        "parquet",
        "--output",
        "top.parquet",
    ])
    .ok();
    let back = polars::prelude::LazyFrame::scan_parquet(
        polars::prelude::PlRefPath::new(s.w.path("top.parquet").to_str().unwrap()),
        Default::default(),
    )
    .unwrap()
    .collect()
    .unwrap();
    assert_eq!(back.height(), 9);
}

/// A filter on `date` reads only that day's partition: a damaged file of another day
/// does not disturb it.
#[test]
fn date_filters_read_only_their_partitions() {
    let s = setup();
    let other_day = files_below(&s.w.path(&format!("lake/cdn_requests/date={DAY2}")));
    std::fs::write(
        s.w.path(&format!("lake/cdn_requests/date={DAY2}"))
            .join(&other_day[0]),
        b"not parquet",
    )
    .unwrap();
    // (The library's `top_channels` reads the 5-minute rollup now: ad-hoc SQL over the
    // requests themselves shows the pruning.)
    let per_channel =
        "SELECT channel, count(*) AS n FROM cdn_requests WHERE date = :day GROUP BY channel";
    let rows = query(&s, &[per_channel, "--param", &format!("day={DAY1}")]);
    assert_eq!(rows.len(), 9);
    s.cdncost(&["query", per_channel, "--param", &format!("day={DAY2}")])
        .expect_code(1);
}

/// The library's cost estimate prices traffic as the report does: with the settings'
/// billing factor, GB and WeChat price, unless the command line says otherwise.
#[test]
fn cost_parameters_come_from_the_prices_setting() {
    let s = start(
        "[prices]\nwechat_cny_per_gb = 0.5\nbilling_factor = 1.2\nbytes_per_gb = 1073741824\n",
    );
    s.cdncost(&["ingest", sample().join("cdn_logs").to_str().unwrap()])
        .ok();
    let gib = 1_073_741_824f64;
    for row in query(&s, &["top_channels"]) {
        let bytes = n(&row, "log_bytes") as f64;
        assert_eq!(n(&row, "billed_bytes_est"), (bytes * 1.2).round() as i64);
        assert_eq!(
            f(&row, "cost_cny_est"),
            round_to(bytes * 1.2 / gib * 0.5, 2),
            "{row:?}"
        );
    }
    // The command line still wins.
    for row in query(&s, &["top_channels", "--param", "price_cny_per_gb=0.1"]) {
        let bytes = n(&row, "log_bytes") as f64;
        assert_eq!(
            f(&row, "cost_cny_est"),
            round_to(bytes * 1.2 / gib * 0.1, 2)
        );
    }
}

/// Each library query (`queries/NAME.sql`) run through the binary on the sample, with its
/// declared defaults, prints exactly `tests/query_snapshots/NAME.csv` (datafusion-cli's
/// way): a change of columns, order or number format shows up here. After an intended
/// change, `CDNCOST_BLESS=1 cargo test --release --test query` rewrites the snapshots.
#[test]
fn every_library_query_prints_its_snapshot() {
    let s = setup();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let snapshots = root.join("tests/query_snapshots");
    let bless = std::env::var_os("CDNCOST_BLESS").is_some();
    let mut names: Vec<String> = std::fs::read_dir(root.join("queries"))
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".sql").map(str::to_string)
        })
        .collect();
    names.sort();
    assert!(names.len() >= 8, "{names:?}");
    for name in &names {
        let out = s
            .cdncost(&["query", "--format", "csv", name])
            .ok()
            .output
            .stdout;
        let file = snapshots.join(format!("{name}.csv"));
        if bless {
            std::fs::create_dir_all(&snapshots).unwrap();
            std::fs::write(&file, &out).unwrap();
            continue;
        }
        let want = std::fs::read(&file).unwrap_or_else(|_| {
            panic!(
                "no snapshot {}: run with CDNCOST_BLESS=1 once",
                file.display()
            )
        });
        assert!(
            out == want,
            "{name}: output differs from {}:\n{}",
            file.display(),
            String::from_utf8_lossy(&out)
        );
    }
}
