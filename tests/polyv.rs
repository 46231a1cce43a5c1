//! `cdncost fetch polyv` over real HTTP against the loopback Polyv server (started
//! in-process), which checks signatures and ptime like the real service.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use cdncost::platforms::polyv::server::{PolyvServer, PolyvTraffic};
use cdncost::util::secret::Secret;
use chrono::NaiveDate;
use common::*;

/// (date, vid) → (pc, mobile, total, final, api_row, channel)
type Rows = BTreeMap<(String, String), (i64, i64, i64, bool, bool, String)>;

const USERID: &str = "e0a9b1c2d3";
const SECRET: &str = "S3cr3t-Polyv-Key-42";
/// Two days after the sample's last day: both days are final.
const TODAY: &str = "2026-11-23";

fn sample() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sample_data/polyv")
}

struct Setup {
    w: Workdir,
    server: PolyvServer,
    _rt: tokio::runtime::Runtime,
}

fn start(server_today: &str) -> Setup {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let videos =
        cdncost::platforms::polyv::videos::read_videos(&sample().join("videos.csv")).unwrap();
    let traffic = PolyvTraffic::load(
        &sample().join("traffic.csv"),
        videos.into_iter().map(|v| v.vid),
    )
    .unwrap();
    let today = NaiveDate::parse_from_str(server_today, "%Y-%m-%d").unwrap();
    let server = rt
        .block_on(PolyvServer::start(
            USERID,
            Secret::new(SECRET),
            traffic,
            today,
        ))
        .unwrap();
    let w = Workdir::new();
    // Fast retries, so fault tests take milliseconds, not minutes.
    std::fs::write(
        w.path("cdncost.toml"),
        "[polyv]\nrequests_per_second = 200\ntimeout_secs = 1\nretry = { attempts = 6, base_ms = 20, max_ms = 100, total_secs = 30 }\n",
    )
    .unwrap();
    Setup { w, server, _rt: rt }
}

impl Setup {
    fn fetch(&self, secret: &str, today: &str) -> Run {
        self.fetch_with(secret, today, sample().join("videos.csv").to_str().unwrap())
    }

    fn fetch_with(&self, secret: &str, today: &str, videos: &str) -> Run {
        let args = fetch_args(videos);
        let base = self.server.url();
        let env = [
            ("POLYV_USERID", USERID),
            ("POLYV_SECRETKEY", secret),
            ("POLYV_API_BASE", &base),
            ("CDNCOST_TODAY", today),
        ];
        self.w.run_env(&args, &env)
    }

    fn lake_rows(&self) -> Rows {
        let frame = scan_table(&self.w.path("lake"), "polyv_traffic")
            .collect()
            .unwrap();
        let dates = strings(&frame, "date");
        let vids = strings(&frame, "vid");
        let channels = strings(&frame, "channel");
        let (pc, mobile, total) = (
            ints(&frame, "pc_bytes"),
            ints(&frame, "mobile_bytes"),
            ints(&frame, "total_bytes"),
        );
        let (fin, api) = (ints(&frame, "final"), ints(&frame, "api_row"));
        (0..frame.height())
            .map(|i| {
                (
                    (dates[i].clone().unwrap(), vids[i].clone().unwrap()),
                    (
                        pc[i].unwrap(),
                        mobile[i].unwrap(),
                        total[i].unwrap(),
                        fin[i] == Some(1),
                        api[i] == Some(1),
                        channels[i].clone().unwrap(),
                    ),
                )
            })
            .collect()
    }
}

/// `fetch polyv` over the sample's two days with a mapping file.
fn fetch_args(videos: &str) -> [&str; 8] {
    [
        "fetch",
        "polyv",
        "--from",
        "2026-11-18",
        "--to",
        "2026-11-19",
        "--videos",
        videos,
    ]
}

/// The expected rows, computed from the server's CSV and the mapping file directly.
fn expected(is_final: bool) -> Rows {
    let mapping = std::fs::read_to_string(sample().join("videos.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(mapping.as_bytes());
    let channels: Vec<(String, String)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let channel = if r[2].is_empty() {
                "polyv".to_string()
            } else {
                r[2].to_string()
            };
            (r[0].to_string(), channel)
        })
        .collect();
    let traffic = std::fs::read_to_string(sample().join("traffic.csv")).unwrap();
    let known: BTreeMap<(String, String), (i64, i64)> = traffic
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                (f[0].to_string(), f[1].to_string()),
                (f[2].parse().unwrap(), f[3].parse().unwrap()),
            )
        })
        .collect();
    let mut want = BTreeMap::new();
    for date in ["2026-11-18", "2026-11-19"] {
        for (vid, channel) in &channels {
            let (pc, mobile, api_row) = match known.get(&(date.to_string(), vid.clone())) {
                Some((pc, mobile)) => (*pc, *mobile, true),
                None => (0, 0, false),
            };
            want.insert(
                (date.to_string(), vid.clone()),
                (pc, mobile, pc + mobile, is_final, api_row, channel.clone()),
            );
        }
    }
    want
}

/// Every file under the work dir and all output, searched for the secret.
fn assert_secret_absent(s: &Setup, runs: &[&Run]) {
    for run in runs {
        assert!(
            !run.stdout().contains(SECRET) && !run.stderr().contains(SECRET),
            "secret leaked by {}",
            run.command
        );
    }
    for rel in files_below(s.w.dir.path()) {
        if rel == "cdncost.toml" {
            continue;
        }
        let bytes = std::fs::read(s.w.dir.path().join(&rel)).unwrap();
        assert!(
            !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
            "secret found in {rel}"
        );
    }
}

#[test]
fn clean_fetch_of_several_videos_over_several_days() {
    let s = start(TODAY);
    let run = s.fetch(SECRET, TODAY).ok();
    eprintln!("{}{}", run.stdout(), run.stderr()); // shown with --nocapture
    let want = expected(true);
    assert_eq!(want.len(), 12);
    assert!(
        want.values().any(|v| !v.4),
        "the sample has a day without a row"
    );
    assert_eq!(s.lake_rows(), want);
    assert!(
        run.stdout().contains("6 videos × 2 days: 12 rows (1 zero"),
        "{}",
        run.stdout()
    );
    // Re-fetching replaces: same rows, one file per day.
    let again = s.fetch(SECRET, TODAY).ok();
    assert_eq!(s.lake_rows(), want);
    let files: Vec<String> = files_below(&s.w.path("lake/polyv_traffic"));
    assert_eq!(
        files,
        vec![
            "date=2026-11-18/polyv.parquet",
            "date=2026-11-19/polyv.parquet"
        ]
    );
    assert_secret_absent(&s, &[&run, &again]);
}

#[test]
fn transient_faults_are_retried_and_end_as_a_clean_run() {
    let s = start(TODAY);
    {
        let mut f = s.server.faults();
        f.http_500 = 2;
        f.query_failed = 1;
        f.rate_limited = 1;
        f.ptime_too_old = 1;
    }
    let run = s.fetch(SECRET, TODAY).ok();
    assert_eq!(s.lake_rows(), expected(true));
    let log = s.server.requests();
    let faults = log.iter().filter(|r| !r.outcome.starts_with("ok")).count();
    assert_eq!(faults, 5, "{log:?}");
    assert_eq!(
        log.len(),
        6 + 5,
        "one successful request per video, plus one per fault"
    );
    // Every request carries its own fresh ptime, retries included.
    let ptimes: std::collections::BTreeSet<&str> = log.iter().map(|r| r.ptime.as_str()).collect();
    assert!(ptimes.len() >= log.len() - 1, "ptimes reused: {log:?}");
    assert!(
        run.stderr().contains("ptime is too old"),
        "{}",
        run.stderr()
    );
    assert_secret_absent(&s, &[&run]);
}

#[test]
fn a_clock_that_stays_wrong_is_reported_as_such() {
    let s = start(TODAY);
    s.server.faults().ptime_too_old = 1000;
    let run = s.fetch(SECRET, TODAY).expect_code(3);
    assert!(
        run.stdout().contains("clock is probably off"),
        "{}",
        run.stdout()
    );
    assert!(
        !s.w.path("lake/polyv_traffic").exists(),
        "no zeros are invented for failed calls"
    );
}

#[test]
fn a_bad_signature_for_one_video_names_it_and_keeps_its_earlier_rows() {
    let s = start(TODAY);
    s.fetch(SECRET, TODAY).ok();
    s.server.faults().bad_sign_vids = vec!["7b2e44d1aa_1".into()];
    let run = s.fetch(SECRET, TODAY).expect_code(3);
    assert!(
        run.stdout().contains(
            "video 7b2e44d1aa_1: the sign is not right. (code 401); check POLYV_SECRETKEY"
        ),
        "{}",
        run.stdout()
    );
    // The other videos were fetched again; the failed one kept its earlier rows.
    assert_eq!(s.lake_rows(), expected(true));
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(s.w.path("lake/_manifest/polyv/2026-11-18.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        manifest["videos_failed"],
        serde_json::json!(["7b2e44d1aa_1"])
    );
    assert_eq!(
        manifest["videos_kept_previous"],
        serde_json::json!(["7b2e44d1aa_1"])
    );
    assert_secret_absent(&s, &[&run]);
}

#[test]
fn a_wrong_secret_is_rejected_by_the_server() {
    let s = start(TODAY);
    let run = s.fetch("not-the-key", TODAY).expect_code(3);
    assert_eq!(
        run.stdout().matches("the sign is not right.").count(),
        6,
        "{}",
        run.stdout()
    );
    assert!(!s.w.path("lake/polyv_traffic").exists());
    let run = s.fetch(SECRET, TODAY).ok();
    assert_eq!(s.lake_rows(), expected(true));
    assert_secret_absent(&s, &[&run]);
}

#[test]
fn slow_replies_time_out_and_are_retried() {
    let s = start(TODAY);
    s.server.faults().delay = Duration::from_millis(1500);
    let run = s.fetch(SECRET, TODAY).expect_code(3);
    assert!(run.stdout().contains("gave up after"), "{}", run.stdout());
    s.server.faults().delay = Duration::from_millis(100);
    s.fetch(SECRET, TODAY).ok();
    assert_eq!(s.lake_rows(), expected(true));
}

#[test]
fn days_within_the_two_day_lag_are_provisional() {
    // On the 20th, the 19th is not published yet: Polyv answers without rows.
    let s = start("2026-11-20");
    // Exit 4: all in, but not final yet.
    let run = s.fetch(SECRET, "2026-11-20").expect_code(4);
    assert!(
        run.stderr().contains("not final yet") && run.stderr().contains("2026-11-19"),
        "{}",
        run.stderr()
    );
    let rows = s.lake_rows();
    assert!(rows
        .iter()
        .filter(|(k, _)| k.0 == "2026-11-19")
        .all(|(_, v)| !v.3 && !v.4 && v.2 == 0));
    assert!(rows
        .iter()
        .filter(|(k, _)| k.0 == "2026-11-18")
        .all(|(_, v)| v.3));
    // Two days later the same command fetches the day again, now final.
    drop(s);
    let s = start(TODAY);
    s.fetch(SECRET, TODAY).ok();
    assert_eq!(s.lake_rows(), expected(true));
}

#[test]
fn missing_credentials_and_bad_mapping_are_clear_errors() {
    let s = start(TODAY);
    let videos = sample().join("videos.csv");
    let run = s.w.run(&fetch_args(videos.to_str().unwrap()));
    let run = run.expect_code(1);
    assert!(run.stderr().contains("POLYV_USERID"), "{}", run.stderr());
    std::fs::write(s.w.path("bad.csv"), "vid,title,channel\n../../etc,x,y\n").unwrap();
    let run = s.fetch_with(SECRET, TODAY, "bad.csv").expect_code(1);
    assert!(run.stderr().contains("bad.csv: line 2"), "{}", run.stderr());
}
