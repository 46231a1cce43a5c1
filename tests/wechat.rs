//! `cdncost fetch usage` and `cdncost fetch logs` over real HTTP against the loopback
//! WeChat media-service server (started in-process), which issues and checks access
//! tokens like the real service and injects faults on request.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use cdncost::platforms::wechat::server::{Logged, WechatServer};
use cdncost::util::secret::Secret;
use common::*;

const APPID: &str = "wx0123456789abcdef";
const SECRET: &str = "Wx-App-Secret-Test-77";
const TODAY: &str = "2026-11-23";
const FAST: &str = "[wechat]\ntimeout_secs = 1\nretry = { attempts = 5, base_ms = 20, max_ms = 100, total_secs = 30 }\n";

/// `fetch usage` of both sample days.
const USAGE_OF_THE_SAMPLE: [&str; 6] = [
    "fetch",
    "usage",
    "--from",
    "2026-11-18",
    "--to",
    "2026-11-19",
];

fn sample() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sample_data")
}

struct Setup {
    w: Workdir,
    server: WechatServer,
    _rt: tokio::runtime::Runtime,
}

fn start(config: &str) -> Setup {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt
        .block_on(WechatServer::start(APPID, Secret::new(SECRET), &sample()))
        .unwrap();
    let w = Workdir::new();
    std::fs::write(w.path("cdncost.toml"), config).unwrap();
    Setup { w, server, _rt: rt }
}

impl Setup {
    fn cdncost(&self, args: &[&str]) -> Run {
        self.cdncost_with_secret(args, SECRET)
    }

    fn cdncost_with_secret(&self, args: &[&str], secret: &str) -> Run {
        let base = self.server.url();
        let env = [
            ("WECHAT_APPID", APPID),
            ("WECHAT_APPSECRET", secret),
            ("WECHAT_API_BASE", &base),
            ("CDNCOST_TODAY", TODAY),
        ];
        self.w.run_env(args, &env)
    }

    /// `fetch usage` of both sample days, with `extra` arguments.
    fn usage(&self, extra: &[&str]) -> Run {
        let mut args = USAGE_OF_THE_SAMPLE.to_vec();
        args.extend_from_slice(extra);
        self.cdncost(&args)
    }

    fn logs(&self, from: &str, to: &str) -> Run {
        self.cdncost(&["fetch", "logs", "--from", from, "--to", to])
    }

    fn api_calls(&self, name: &str) -> Vec<String> {
        self.server
            .requests()
            .into_iter()
            .filter_map(|r| match r {
                Logged::Api { name: n, outcome } if n == name => Some(outcome),
                _ => None,
            })
            .collect()
    }

    /// (date, channel) → (requests, bytes) in the lake must equal the generator's truth.
    fn assert_lake_is_complete(&self) {
        assert_eq!(
            lake_totals(&self.w.path("lake")),
            expected_totals(&sample())
        );
    }

    /// Neither the app secret nor any access token appears in output or files.
    fn assert_no_secrets(&self, runs: &[&Run]) {
        for run in runs {
            for text in [run.stdout(), run.stderr()] {
                assert!(
                    !text.contains(SECRET) && !text.contains("LOOPBACK_TOKEN"),
                    "secret or token leaked by {}:\n{text}",
                    run.command
                );
            }
        }
        for rel in files_below(self.w.dir.path()) {
            let bytes = std::fs::read(self.w.dir.path().join(&rel)).unwrap();
            for needle in [SECRET.as_bytes(), b"LOOPBACK_TOKEN".as_slice()] {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle),
                    "secret or token in {rel}"
                );
            }
        }
    }
}

/// Billed bytes per China day from the sample's usage CSV, computed here directly.
fn usage_per_day() -> BTreeMap<String, i64> {
    let text = std::fs::read_to_string(sample().join("cdn_usage.csv")).unwrap();
    let mut out = BTreeMap::new();
    for line in text.lines().skip(1) {
        let (t, b) = line.split_once(',').unwrap();
        let t: i64 = t.parse().unwrap();
        let day = chrono::DateTime::from_timestamp(t + 8 * 3600, 0)
            .unwrap()
            .date_naive()
            .to_string();
        *out.entry(day).or_default() += b.parse::<i64>().unwrap();
    }
    out
}

fn lake_usage(s: &Setup, interval: i64) -> (BTreeMap<String, i64>, usize) {
    let frame = scan_table(&s.w.path("lake"), "cdn_usage")
        .collect()
        .unwrap();
    let (dates, intervals, bytes) = (
        strings(&frame, "date"),
        ints(&frame, "interval"),
        ints(&frame, "billed_bytes"),
    );
    let mut out = BTreeMap::new();
    let mut points = 0;
    for i in 0..frame.height() {
        if intervals[i] == Some(interval) {
            *out.entry(dates[i].clone().unwrap()).or_default() += bytes[i].unwrap();
            points += 1;
        }
    }
    (out, points)
}

#[test]
fn usage_series_for_two_days_at_each_interval() {
    let s = start(FAST);
    let five = s.usage(&["--interval", "5"]).ok();
    let daily = s.usage(&[]).ok();
    let want = usage_per_day();
    assert_eq!(want.len(), 2);
    let (per_day_5, points_5) = lake_usage(&s, 5);
    assert_eq!(per_day_5, want);
    assert_eq!(points_5, 574, "every 5-minute bucket of the sample");
    let (per_day_1440, points_1440) = lake_usage(&s, 1440);
    assert_eq!(
        (per_day_1440, points_1440),
        (want, 2),
        "one point per China day"
    );
    // Again: replaced, not duplicated.
    s.usage(&["--interval", "5"]).ok();
    assert_eq!(lake_usage(&s, 5).1, 574);
    s.assert_no_secrets(&[&five, &daily]);
}

#[test]
fn long_usage_ranges_are_split_and_old_ones_refused() {
    let s = start(FAST);
    // 203 days: three calls of at most 90 days (the server refuses longer ones).
    let run = s
        .cdncost(&[
            "fetch",
            "usage",
            "--from",
            "2026-05-01",
            "--to",
            "2026-11-19",
        ])
        .ok();
    assert_eq!(s.api_calls("getcdnusagedata"), vec!["ok", "ok", "ok"]);
    assert!(
        run.stderr().contains("no usage points for 2026-05-01"),
        "{}",
        run.stderr()
    );
    let run = s
        .cdncost(&[
            "fetch",
            "usage",
            "--from",
            "2025-11-01",
            "--to",
            "2025-11-02",
        ])
        .expect_code(1);
    assert!(
        run.stderr().contains("more than 365 days back"),
        "{}",
        run.stderr()
    );
    let run = s.logs("2026-10-01", "2026-10-02").expect_code(1);
    assert!(
        run.stderr().contains("getcdnlogs keeps 30 days"),
        "{}",
        run.stderr()
    );
    assert_eq!(
        s.api_calls("getcdnusagedata").len(),
        3,
        "refused ranges make no call"
    );
}

#[test]
fn logs_for_two_days_then_a_second_run_downloads_nothing() {
    let s = start(FAST);
    let first = s.logs("2026-11-18", "2026-11-19").ok();
    assert!(
        first.stdout().contains("144 files listed: 144 downloaded"),
        "{}",
        first.stdout()
    );
    assert!(
        first
            .stdout()
            .contains("144 ingested: 9462 lines, 6 rejected"),
        "{}",
        first.stdout()
    );
    s.assert_lake_is_complete();
    assert_eq!(
        s.api_calls("getcdnlogs").len(),
        1,
        "48 hours: one listing call"
    );
    let raw = files_below(&s.w.path("raw/cdn_logs"));
    assert_eq!(raw.len(), 144);
    let record: serde_json::Value =
        serde_json::from_slice(
            &std::fs::read(s.w.path(
                "raw/_manifest/cdn_logs/2026111820-1500020822.vod2.myqcloud.com-mainland.json",
            ))
            .unwrap(),
        )
        .unwrap();
    assert_eq!(record["status"], "complete");
    assert_eq!(record["domain"], "1500020822.vod2.myqcloud.com");
    assert_eq!(record["hour"], "2026-11-18T20:00:00+08:00");
    assert!(
        record.get("url").is_none(),
        "expiring URLs are never stored"
    );

    let downloads = s.server.downloads();
    let second = s.logs("2026-11-18", "2026-11-19").ok();
    assert_eq!(s.server.downloads(), downloads, "nothing downloaded again");
    assert!(
        second
            .stdout()
            .contains("0 downloaded (0.0 MB), 144 complete and skipped"),
        "{}",
        second.stdout()
    );
    s.assert_lake_is_complete();
    s.assert_no_secrets(&[&first, &second]);
}

#[test]
fn token_expiry_mid_run_is_survived() {
    let s = start(FAST);
    // Three days need two listing calls; tokens expire after the first.
    s.server.faults().expire_tokens_after_calls = Some(0);
    let run = s.logs("2026-11-17", "2026-11-19").ok();
    assert_eq!(s.api_calls("getcdnlogs"), vec!["ok", "errcode 42001", "ok"]);
    let tokens = s
        .server
        .requests()
        .iter()
        .filter(|r| **r == Logged::Token)
        .count();
    assert_eq!(
        tokens, 2,
        "one token, then one fresh token after the expiry"
    );
    assert!(
        run.stderr()
            .contains("access token refused (errcode 42001)"),
        "{}",
        run.stderr()
    );
    s.assert_lake_is_complete();
    s.assert_no_secrets(&[&run]);
}

#[test]
fn server_errors_and_busy_answers_are_retried() {
    let s = start(FAST);
    {
        let mut f = s.server.faults();
        f.http_500 = 2;
        f.busy = 2;
    }
    let run = s.logs("2026-11-18", "2026-11-19").ok();
    assert_eq!(
        s.api_calls("getcdnlogs"),
        vec!["HTTP 500", "HTTP 500", "errcode -1", "errcode -1", "ok"]
    );
    s.assert_lake_is_complete();
    s.assert_no_secrets(&[&run]);
}

#[test]
fn slow_answers_time_out_and_a_persistent_fault_fails_clearly() {
    let s = start(FAST);
    s.server.faults().delay = Duration::from_millis(1500);
    let run = s.usage(&[]).expect_code(1);
    assert!(
        run.stderr()
            .contains("WeChat getcdnusagedata: gave up after 5 attempts"),
        "{}",
        run.stderr()
    );
    assert!(!s.w.path("lake/cdn_usage").exists(), "nothing half-written");
    s.server.faults().delay = Duration::from_millis(200);
    s.usage(&[]).ok();
    assert_eq!(lake_usage(&s, 1440).0, usage_per_day());
    s.server.faults().daily_quota = true;
    let run = s.usage(&[]).expect_code(1);
    assert!(
        run.stderr()
            .contains("daily API quota is used up (errcode 45009)"),
        "{}",
        run.stderr()
    );
    s.assert_no_secrets(&[&run]);
    // An error whose errcode is a string is still that error, and never replaces the
    // stored series with an "empty" reply.
    s.server.faults().daily_quota = false;
    s.server.faults().string_errcode = 1;
    let run = s.usage(&[]).expect_code(1);
    assert!(run.stderr().contains("errcode 45009"), "{}", run.stderr());
    assert_eq!(
        lake_usage(&s, 1440).0,
        usage_per_day(),
        "stored series kept"
    );
}

#[test]
fn cut_connections_and_truncated_files_are_downloaded_again() {
    let s = start(FAST);
    {
        let mut f = s.server.faults();
        f.cut_downloads = 3;
        f.truncated_downloads = 2;
    }
    let run = s.logs("2026-11-18", "2026-11-19").ok();
    let outcomes: Vec<String> = s
        .server
        .requests()
        .into_iter()
        .filter_map(|r| {
            if let Logged::Download { outcome, .. } = r {
                Some(outcome)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(outcomes.iter().filter(|o| *o == "cut").count(), 3);
    assert_eq!(outcomes.iter().filter(|o| *o == "truncated").count(), 2);
    assert_eq!(outcomes.len(), 144 + 5);
    s.assert_lake_is_complete();
    assert!(files_below(s.w.dir.path())
        .iter()
        .all(|f| !f.ends_with(".tmp")));
    s.assert_no_secrets(&[&run]);
}

#[test]
fn a_file_that_stays_truncated_is_reported_and_the_next_run_completes() {
    let s = start(FAST);
    s.server.faults().truncated_downloads = 1000;
    let run = s.logs("2026-11-18", "2026-11-18").expect_code(3);
    assert!(
        run.stdout().contains("not a complete gzip stream"),
        "{}",
        run.stdout()
    );
    assert!(
        run.stdout().contains("72 files missing"),
        "{}",
        run.stdout()
    );
    assert!(
        files_below(&s.w.path("raw"))
            .iter()
            .all(|f| f.starts_with("_manifest") || !f.ends_with(".gz")),
        "no bad file kept"
    );
    assert!(!s.w.path("lake/cdn_requests").exists());
    s.server.faults().truncated_downloads = 0;
    s.logs("2026-11-18", "2026-11-19").ok();
    s.assert_lake_is_complete();
}

#[test]
fn a_changed_file_replaces_its_rows() {
    // Every file counts as possibly incomplete, so every run checks it again.
    // Under [wechat], where the setting used to live: still taken, with a warning.
    let s = start(&format!("{FAST}complete_after_hours = 100000000\n"));
    let first = s.logs("2026-11-18", "2026-11-19").ok();
    assert!(
        first
            .stderr()
            .contains("complete_after_hours under [wechat] is deprecated: move it to [logs]"),
        "{}",
        first.stderr()
    );
    s.assert_lake_is_complete();
    let name = "2026111820-1500020822.vod2.myqcloud.com-mainland";
    let mut content = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::MultiGzDecoder::new(&s.server.file(name).unwrap()[..]),
        &mut content,
    )
    .unwrap();
    content.extend_from_slice(b"20261118205959 1.2.3.4 1500020822.vod2.myqcloud.com /late?us=wxad-abc 1000 4 2 200 - 1 - - GET HTTP/1.1 hit 1\n");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&content).unwrap();
    s.server.change_file(name, gz.finish().unwrap());

    let run = s.logs("2026-11-18", "2026-11-19").ok();
    assert!(
        run.stdout().contains("144 downloaded")
            && run.stdout().contains("143 unchanged; 1 ingested"),
        "{}",
        run.stdout()
    );
    let mut want = expected_totals(&sample());
    let wxad = want
        .get_mut(&("2026-11-18".to_string(), "wxad".to_string()))
        .unwrap();
    *wxad = (wxad.0 + 1, wxad.1 + 1000);
    assert_eq!(lake_totals(&s.w.path("lake")), want);
}

#[test]
fn hostile_listing_entries_are_refused_and_nothing_escapes() {
    let s = start(FAST);
    s.server.faults().hostile_entries = true;
    let run = s.logs("2026-11-18", "2026-11-19").expect_code(3);
    let out = run.stdout();
    assert_eq!(out.matches("REFUSED listing entry").count(), 4, "{out}");
    assert!(
        out.contains("\"../../escaped\"") && out.contains("not http(s)"),
        "{out}"
    );
    s.assert_lake_is_complete();
    // Nothing was written outside the work dir's raw/ and lake/, and no hostile name exists.
    let all = files_below(s.w.dir.path());
    assert!(
        all.iter()
            .all(|f| f == "cdncost.toml" || f.starts_with("raw/") || f.starts_with("lake/")),
        "{all:?}"
    );
    assert!(!all
        .iter()
        .any(|f| f.contains("escaped") || f.contains("sub/dir") || f.contains("passwd")));
    assert!(!s.w.dir.path().parent().unwrap().join("escaped.gz").exists());
}

#[test]
fn size_caps_stop_oversized_downloads() {
    let s = start(&format!("{FAST}max_download_bytes = 2000\n"));
    let run = s.logs("2026-11-18", "2026-11-18").expect_code(3);
    assert!(
        run.stdout().contains("over the download cap of 2000"),
        "{}",
        run.stdout()
    );
    let s = start(&format!("{FAST}max_inflated_bytes = 20000\n"));
    let run = s.logs("2026-11-18", "2026-11-18").expect_code(3);
    assert!(
        run.stdout().contains("inflates past the cap of 20000"),
        "{}",
        run.stdout()
    );
}

#[test]
fn wrong_credentials_are_a_clear_error() {
    let s = start(FAST);
    let run = s
        .cdncost_with_secret(&USAGE_OF_THE_SAMPLE, "wrong-secret")
        .expect_code(1);
    assert!(
        run.stderr().contains("errcode 40125")
            && run
                .stderr()
                .contains("check WECHAT_APPID and WECHAT_APPSECRET"),
        "{}",
        run.stderr()
    );
    assert!(!run.stderr().contains("wrong-secret"));
}

#[test]
fn a_lake_rebuilt_from_scratch_is_refilled_from_raw_without_downloads() {
    let s = start(FAST);
    s.logs("2026-11-18", "2026-11-19").ok();
    std::fs::remove_dir_all(s.w.path("lake")).unwrap();
    let downloads = s.server.downloads();
    let run = s.logs("2026-11-18", "2026-11-19").ok();
    assert_eq!(
        s.server.downloads(),
        downloads,
        "no downloads: the raw copies are complete"
    );
    assert!(
        run.stdout()
            .contains("144 complete files were ingested again"),
        "{}",
        run.stdout()
    );
    s.assert_lake_is_complete();
}

#[test]
fn a_slow_but_live_download_is_not_cut_by_the_call_timeout() {
    // timeout_secs = 1: each file arrives in four parts 400 ms apart (1.6 s in all).
    let s = start(FAST);
    s.server.faults().trickle_downloads = Some(Duration::from_millis(400));
    let run = s
        .cdncost(&[
            "fetch",
            "logs",
            "--from",
            "2026-11-18",
            "--to",
            "2026-11-18",
            "--jobs",
            "24",
        ])
        .ok();
    assert!(run.stdout().contains("72 downloaded"), "{}", run.stdout());
    let outcomes = s
        .server
        .requests()
        .iter()
        .filter(|r| matches!(r, Logged::Download { .. }))
        .count();
    assert_eq!(outcomes, 72, "no download had to be retried");
}

/// A download that trickles past `[logs] download_deadline_secs` is cut and retried,
/// then given up clearly: the run ends (exit 3), naming the setting, and the lock is freed.
#[test]
fn a_trickling_download_is_cut_at_its_deadline() {
    let s = start("[wechat]\ntimeout_secs = 1\nretry = { attempts = 2, base_ms = 20, max_ms = 50, total_secs = 30 }\n[logs]\ndownload_deadline_secs = 1\n");
    // Four parts 600 ms apart: 1.8 s a file, over the 1 s deadline.
    s.server.faults().trickle_downloads = Some(Duration::from_millis(600));
    let run = s
        .cdncost(&[
            "fetch",
            "logs",
            "--from",
            "2026-11-18",
            "--to",
            "2026-11-18",
            "--jobs",
            "24",
        ])
        .expect_code(3);
    assert!(
        run.stderr()
            .contains("not done after 1 s ([logs] download_deadline_secs)"),
        "{}",
        run.stderr()
    );
    let leases = s.w.path("lake/_leases");
    assert!(
        files_below(&leases).is_empty(),
        "every lease is released: {:?}",
        files_below(&leases)
    );
    // Without the trickle the next run completes the day.
    s.server.faults().trickle_downloads = None;
    s.logs("2026-11-18", "2026-11-18").ok();
}

/// The token call follows the one retry rule: a 429 is retried like any API call's.
#[test]
fn a_rate_limited_token_call_is_retried() {
    let s = start(FAST);
    s.server.faults().token_429 = 2;
    let run = s.usage(&[]).ok();
    assert_eq!(lake_usage(&s, 1440).0, usage_per_day());
    s.assert_no_secrets(&[&run]);
}

/// 45011 (per-minute limit) is told apart by its code, not by matching message text.
#[test]
fn the_per_minute_limit_is_named_when_it_persists() {
    let s = start(FAST);
    s.server.faults().minute_limit = 1;
    let run = s.usage(&[]).expect_code(1);
    assert!(
        run.stderr()
            .contains("still over the per-minute call limit (errcode 45011)"),
        "{}",
        run.stderr()
    );
    assert_eq!(s.api_calls("getcdnusagedata"), vec!["errcode 45011"]);
}

/// The reply's own counts are cross-checks: an interval other than the one asked, or a
/// listing shorter than its `total_count`, is an error and nothing of it is written.
#[test]
fn replies_that_contradict_themselves_are_refused() {
    let s = start(FAST);
    s.server.faults().wrong_interval = true;
    let run = s.usage(&["--interval", "60"]).expect_code(1);
    assert!(
        run.stderr().contains("asked for 60-minute points")
            && run.stderr().contains("answered data_interval 1440"),
        "{}",
        run.stderr()
    );
    assert!(!s.w.path("lake/cdn_usage").exists(), "nothing written");
    s.server.faults().short_listing = true;
    let run = s.logs("2026-11-18", "2026-11-19").expect_code(1);
    assert!(
        run.stderr().contains("getcdnlogs: total_count is"),
        "{}",
        run.stderr()
    );
    assert!(!s.w.path("lake/cdn_requests").exists(), "nothing ingested");
}

/// A repeated point is counted once (with a warning); two values for one interval, or a
/// value no interval can bill, are errors naming the day, and the stored series stays.
#[test]
fn repeated_conflicting_and_impossible_usage_points() {
    let s = start(FAST);
    let day_start = 1_794_931_200i64; // 2026-11-18 00:00 China time
    let billed = usage_per_day()["2026-11-18"];
    s.server.faults().extra_usage_items =
        vec![serde_json::json!({"time": day_start, "value": billed})];
    let run = s.usage(&[]).ok();
    assert!(
        run.stderr()
            .contains("listed 1 point(s) of 2026-11-18 twice"),
        "{}",
        run.stderr()
    );
    assert_eq!(lake_usage(&s, 1440).0, usage_per_day(), "counted once");

    s.server.faults().extra_usage_items =
        vec![serde_json::json!({"time": day_start, "value": billed + 1})];
    let run = s.usage(&[]).expect_code(1);
    assert!(
        run.stderr()
            .contains("2026-11-18: the point at 2026-11-18 00:00:00 +08:00 is listed twice"),
        "{}",
        run.stderr()
    );
    for huge in [
        serde_json::json!(1e19),
        serde_json::json!(9_300_000_000_000_000_000u64),
    ] {
        s.server.faults().extra_usage_items =
            vec![serde_json::json!({"time": day_start, "value": huge})];
        let run = s.usage(&[]).expect_code(1);
        assert!(
            run.stderr()
                .contains("more than the 10000000000000000 one point can"),
            "{}",
            run.stderr()
        );
    }
    assert_eq!(
        lake_usage(&s, 1440).0,
        usage_per_day(),
        "stored series kept"
    );
}

/// The access token never reaches another host: a redirect from an API call is not
/// followed (nor is a Referer sent), and a cached token is only used with the API base
/// it came from.
#[test]
fn the_token_goes_to_no_other_host() {
    let s = start("[wechat]\ntoken_cache = \"token.json\"\n");
    let other = s
        ._rt
        .block_on(WechatServer::start(APPID, Secret::new(SECRET), &sample()))
        .unwrap();
    // A redirect to the other host: refused, and the other host hears nothing.
    s.server.faults().redirect_api_to = Some(other.url());
    let run = s.usage(&[]);
    assert_ne!(run.code(), 0, "a redirect is not an answer");
    assert!(run.stderr().contains("getcdnusagedata"), "{}", run.stderr());
    assert!(other.requests().is_empty(), "{:?}", other.requests());
    let text = run.stdout() + &run.stderr();
    assert!(
        !text.contains("LOOPBACK_TOKEN") && !text.contains(SECRET),
        "{text}"
    );

    // A page echoing the request URL: the error quotes it without the token.
    s.server.faults().redirect_api_to = None;
    s.server.faults().echo_url = 1;
    let run = s.usage(&[]).expect_code(1);
    assert!(
        run.stderr().contains("upstream error for"),
        "{}",
        run.stderr()
    );
    assert!(!run.stderr().contains("LOOPBACK_TOKEN"), "{}", run.stderr());

    // A reply larger than the cap is refused, not read into memory, and not retried.
    s.server.faults().echo_url = 0;
    s.server.faults().pad_replies_to = cdncost::sources::MAX_REPLY_BYTES + 1;
    let run = s.usage(&[]).expect_code(1);
    assert!(
        run.stderr()
            .contains("the reply is larger than 33554432 bytes"),
        "{}",
        run.stderr()
    );
    assert_eq!(
        s.api_calls("getcdnusagedata").last().map(String::as_str),
        Some("padded")
    );
    s.server.faults().pad_replies_to = 0;

    // A token cached for one base is not sent to another: the other base gets a token
    // request of its own first.
    s.server.faults().redirect_api_to = None;
    s.usage(&[]).ok();
    assert!(s.w.path("token.json").exists());
    let env = [
        ("WECHAT_APPID", APPID.to_string()),
        ("WECHAT_APPSECRET", SECRET.to_string()),
        ("WECHAT_API_BASE", other.url()),
        ("CDNCOST_TODAY", TODAY.to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut args = USAGE_OF_THE_SAMPLE.to_vec();
    args.push("--lake");
    args.push("lake-other");
    s.w.run_env(&args, &env).ok();
    assert_eq!(
        other.requests().first(),
        Some(&Logged::Token),
        "{:?}",
        other.requests()
    );
    assert!(other
        .requests()
        .iter()
        .all(|r| !matches!(r, Logged::Api { outcome, .. } if outcome.contains("40001"))));
}

/// The same file listed under two names is downloaded under both, counted once (by its
/// sha1): the lake's totals are the generator's, the day is complete, and a second run
/// neither downloads nor counts it again.
#[test]
fn a_file_listed_under_two_names_is_counted_once() {
    let s = start(FAST);
    s.server.faults().renamed_copy = true;
    let run = s.logs("2026-11-18", "2026-11-19").ok();
    assert!(
        run.stdout().contains(
            "1 listed files have the same content (sha1) as another listed file: counted once"
        ),
        "{}",
        run.stdout()
    );
    assert!(
        run.stderr().contains("-copy-"),
        "the copy is named: {}",
        run.stderr()
    );
    assert_eq!(lake_totals(&s.w.path("lake")), expected_totals(&sample()));
    let again = s.logs("2026-11-18", "2026-11-19").ok();
    assert!(
        again.stdout().contains("0 downloaded"),
        "{}",
        again.stdout()
    );
    assert_eq!(lake_totals(&s.w.path("lake")), expected_totals(&sample()));
}

/// A name listed for two different files is refused (both), named, and the run is
/// incomplete (exit 3); the same name listed twice for the same file is one file.
#[test]
fn an_ambiguous_listing_name_is_refused() {
    let s = start(FAST);
    s.server.faults().ambiguous_name = true;
    let run = s.logs("2026-11-18", "2026-11-18").expect_code(3);
    assert!(
        run.stdout()
            .contains("listed 2 times for different files: ambiguous, refused")
            || run
                .stderr()
                .contains("listed 2 times for different files: ambiguous, refused"),
        "{}{}",
        run.stdout(),
        run.stderr()
    );
    assert!(
        run.stdout().contains("71 downloaded") || run.stdout().contains("71 ingested"),
        "{}",
        run.stdout()
    );
}
