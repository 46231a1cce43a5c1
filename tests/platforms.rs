//! A third platform plugs in as a folder, `tests/fakecdn/` (server, fetch job, settings
//! table, nightly step, report spec), registered once: the list this test hands the
//! nightly run is the library's registry plus it. Its traffic comes over HTTP from its
//! loopback server as WeChat's and Polyv's do from theirs, and reaches every output:
//! the core table (`channel_platform_daily`), the wide `channel_daily` (its columns
//! after Polyv's, its cost in the total), the monthly sums, the drama tables, and the
//! page's cards and monthly table.
//!
//! Files it touched: `tests/fakecdn/{mod,server,fetch,report}.rs` and this one. No file
//! of `src/` names it.

mod common;
mod fakecdn;

use std::collections::BTreeMap;

use cdncost::china_time::{self, DateRange};
use cdncost::config::Config;
use cdncost::lake::Lake;
use cdncost::pipeline::nightly::{self, NightlyPlatform, NightlyRequest};
use cdncost::pipeline::Job;
use cdncost::progress::ProgressMode;
use common::servers::*;
use common::*;
use fakecdn::server::FakeServer;

const TOKEN: &str = "fake-token-5c1d";

/// The fake CDN's days: wxad also uses it, "fake-only" uses nothing else.
fn fake_days() -> BTreeMap<String, Vec<fakecdn::server::Row>> {
    BTreeMap::from([
        (
            DAY1.to_string(),
            vec![
                ("wxad", "假剧甲", 2_000_000_000i64),
                ("wxad", "假剧乙", 1_000_000_000),
                ("fake-only", "假剧甲", 1_000_000_000),
            ],
        ),
        (DAY2.to_string(), vec![("wxad", "假剧乙", 2_000_000_000)]),
    ])
}

#[test]
fn a_third_platform_folder_reaches_every_output() {
    let s = start("");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fake_server = rt.block_on(FakeServer::start(TOKEN, fake_days()));
    china_time::pin_today(TODAY.parse().unwrap());
    let text = format!(
        "[wechat]\nappid = {APPID:?}\nappsecret = {WECHAT_SECRET:?}\napi_base = {:?}\n\
         [polyv]\nuserid = {USERID:?}\nsecretkey = {POLYV_SECRET:?}\napi_base = {:?}\n\
         videos = {:?}\nrequests_per_second = 200\n\
         [fakecdn]\napi_base = {:?}\ntoken = {TOKEN:?}\n\
         [prices]\nwechat_cny_per_gb = 0.2\npolyv_cny_per_gb = 0.12\n\
         [prices.fakecdn]\ncny_per_gb = 0.5\n",
        s.wechat.url(),
        s.polyv.url(),
        sample().join("polyv/videos.csv").display().to_string(),
        fake_server.url(),
    );
    // Registered once: the library's list, and the fake CDN after it.
    let mut settings = cdncost::platforms::settings();
    settings.push(&fakecdn::Settings);
    let mut platforms: Vec<&dyn NightlyPlatform> = cdncost::platforms::nightly();
    platforms.push(&fakecdn::Nightly);
    let config = Config::from_text(&text, std::path::Path::new("cdncost.toml"), &settings).unwrap();
    let lake = Lake::new(s.w.path("lake"));
    let job = Job {
        config: &config,
        lake: &lake,
        progress: ProgressMode::Silent,
        use_env: false,
    };
    let request = NightlyRequest {
        days: DateRange::new(DAY1.parse().unwrap(), DAY2.parse().unwrap()).unwrap(),
        lookback: 0,
        out: s.w.path("out"),
        raw: Some(s.w.path("raw")),
        excel: false,
        lang: None,
    };
    let outcome = nightly::run(&job, &platforms, &request);
    assert!(outcome.problems.is_empty(), "{:?}", outcome.problems);
    assert_eq!(fake_server.answered(), 2, "one request per day");
    let fake: Vec<(&str, &str, i64)> = fake_days()
        .iter()
        .flat_map(|(day, rows)| {
            let mut per_channel: BTreeMap<&str, i64> = BTreeMap::new();
            for (channel, _, bytes) in rows {
                *per_channel.entry(channel).or_default() += bytes;
            }
            let day: &'static str = if day == DAY1 { DAY1 } else { DAY2 };
            per_channel
                .into_iter()
                .map(move |(c, b)| (day, c, b))
                .collect::<Vec<_>>()
        })
        .collect();

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
        page.contains("<b>¥3.00</b><span>假 CDN</span>"),
        "the page has the fake CDN's card, in Chinese"
    );
    assert!(
        page.contains("<th>假 CDN 流量（GB）</th>") && page.contains("<th>假 CDN 费用（元）</th>"),
        "the page's monthly table has its columns"
    );

    // The drama tables split its cost over the dramas its rows name (which only it
    // carries), to the fen.
    let dramas = csv_rows(&std::fs::read(s.w.path("out/drama_daily.csv")).unwrap());
    let fake_dramas: BTreeMap<(String, String, String), i64> = dramas
        .iter()
        .filter(|r| r["drama_name"].starts_with("假剧"))
        .map(|r| {
            (
                (
                    r["date"].clone(),
                    r["channel"].clone(),
                    r["drama_name"].clone(),
                ),
                cents(&r["cost_cny"]),
            )
        })
        .collect();
    let want: BTreeMap<(String, String, String), i64> = fake_days()
        .iter()
        .flat_map(|(day, rows)| {
            rows.iter().map(move |(channel, drama, bytes)| {
                (
                    (day.clone(), channel.to_string(), drama.to_string()),
                    bytes / 100_000_000 * 5,
                )
            })
        })
        .collect();
    assert_eq!(fake_dramas, want);

    // The FOCUS export carries it under its own provider and service, its cost split
    // over its dramas as above, and adds up to the report's total.
    let focus = csv_rows(&std::fs::read(s.w.path("out/focus.csv")).unwrap());
    let fake_focus: Vec<&CsvRow> = focus
        .iter()
        .filter(|r| r["x_Platform"] == "fakecdn")
        .collect();
    assert!(fake_focus.iter().all(|r| r["ProviderName"] == "Fake Cloud"
        && r["ServiceName"] == "Fake CDN"
        && r["SkuId"] == "fakecdn-traffic"
        && r["x_CostBasis"] == "reported"));
    assert_eq!(
        fake_focus
            .iter()
            .map(|r| cents(&r["BilledCost"]))
            .sum::<i64>(),
        300
    );
    assert_eq!(
        focus.iter().map(|r| cents(&r["BilledCost"])).sum::<i64>(),
        daily
            .iter()
            .map(|r| cents(&r["total_cost_cny"]))
            .sum::<i64>()
    );

    // `query` registers its table with the lake's, as the registry lists them.
    let mut tables = cdncost::platforms::tables();
    tables.push(fakecdn::TABLE_ENTRY);
    let sum = cdncost::query::execute(
        &lake,
        &s.w.path("out"),
        &tables,
        "SELECT CAST(SUM(bytes) AS BIGINT) AS b, COUNT(DISTINCT platform) AS p FROM fakecdn_traffic",
    )
    .unwrap();
    assert_eq!(
        sum.column("b").unwrap().i64().unwrap().get(0),
        Some(6_000_000_000)
    );
    assert_eq!(sum.column("p").unwrap().u32().unwrap().get(0), Some(1));

    // Its day records are checked for damage with the lake's: a file of its changed
    // behind the lake's back makes its day incomplete in the report.
    let report_platforms: Vec<_> = platforms.iter().map(|p| p.report()).collect();
    let day1 = s.w.path(&format!("lake/{}/date={DAY1}", fakecdn::TABLE));
    let file = std::fs::read_dir(&day1)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();
    let request = cdncost::report::ReportRequest {
        days: DateRange::new(DAY1.parse().unwrap(), DAY2.parse().unwrap()).unwrap(),
        out: s.w.path("damaged"),
        formats: vec![cdncost::report::output::Format::Csv],
        excel: false,
        html: false,
        drama_mapping: None,
        item_dramas: Default::default(),
        accounts: Default::default(),
        account_ids: Default::default(),
        allocation: Default::default(),
        budgets: Default::default(),
        lang: Default::default(),
        chinese_headers: false,
    };
    let damaged =
        cdncost::report::make_with(&lake, &config.prices, &request, &report_platforms).unwrap();
    let day1_gaps = damaged.gaps[&DAY1.parse().unwrap()].describe();
    assert!(day1_gaps.contains(fakecdn::TABLE), "{day1_gaps}");
    let day2_gaps = damaged.gaps[&DAY2.parse().unwrap()].describe();
    assert!(!day2_gaps.contains(fakecdn::TABLE), "{day2_gaps}");

    // Run again: the damaged day is set aside and fetched again, and the fake CDN's
    // days are replaced, not added to.
    let request = NightlyRequest {
        days: DateRange::new(DAY1.parse().unwrap(), DAY2.parse().unwrap()).unwrap(),
        lookback: 0,
        out: s.w.path("out"),
        raw: Some(s.w.path("raw")),
        excel: false,
        lang: None,
    };
    let again = nightly::run(&job, &platforms, &request);
    assert!(again.problems.is_empty(), "{:?}", again.problems);
    assert!(
        again
            .fetched
            .said
            .iter()
            .any(|l| l.contains("1 files damaged")),
        "{:?}",
        again.fetched.said
    );
    assert_eq!(fake_server.answered(), 4, "both days fetched again");
    let long_again = csv_rows(&std::fs::read(s.w.path("out/channel_platform_daily.csv")).unwrap());
    assert_eq!(long_again, long);
}
