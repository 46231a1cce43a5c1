//! Hostile inputs, round 3 (issue 33): what an attacker or a careless operator can hand
//! the binary, each refused or made harmless with a clear message. One test per item,
//! named after it.

mod common;

use std::time::Duration;

use common::*;

/// A report over an empty lake: the cheapest command that loads the settings.
fn report_with(w: &Workdir, config: &str) -> Run {
    w.run_within(
        &[
            "--config",
            config,
            "report",
            "--lake",
            "lake",
            "--from",
            "2026-11-18",
            "--to",
            "2026-11-18",
            "--out",
            "out",
        ],
        &[],
        Duration::from_secs(20),
    )
}

/// Item 13: settings out of their range are errors naming the key and the range (they
/// were raised or taken silently), a price of 1e300 is refused, and `--config /dev/zero`
/// stops at the size cap instead of reading until memory runs out.
#[test]
fn item13_config_values_out_of_range_are_errors_naming_the_key() {
    let w = Workdir::new();
    for (text, key) in [
        (
            "[ingest]\nmax_line_bytes = 300\n",
            "[ingest] max_line_bytes = 300",
        ),
        (
            "[ingest]\nrow_group_rows = 0\n",
            "[ingest] row_group_rows = 0",
        ),
        ("[ingest]\nzstd_level = 99\n", "[ingest] zstd_level = 99"),
        (
            "[ingest]\nmax_reject_percent = 101\n",
            "[ingest] max_reject_percent",
        ),
        ("[logs]\ndownload_jobs = 0\n", "[logs] download_jobs = 0"),
        ("[prices]\nwechat_cny_per_gb = 1e300\n", "is not a price"),
        ("[prices]\nbilling_factor = 1e300\n", "billing_factor"),
    ] {
        std::fs::write(w.path("bad.toml"), text).unwrap();
        let run = report_with(&w, "bad.toml");
        assert_eq!(run.code(), 1, "{text}: {}", run.stderr());
        assert!(run.stderr().contains(key), "{text}: {}", run.stderr());
    }
    let run = report_with(&w, "/dev/zero");
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(
        run.stderr().contains("larger than 1024 KiB"),
        "{}",
        run.stderr()
    );
}

mod robots {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use axum::http::{StatusCode, Uri};
    use axum::routing::post;
    use axum::{Json, Router};
    use cdncost::sources::loopback::{serve, Running};
    use cdncost::sources::robot::{post as post_message, Message, NotifyConfig, RobotError};

    /// A stand-in for a robot that misbehaves on each path.
    pub struct Hostile {
        pub running: Running,
        pub thief: Running,
        pub stolen: Arc<AtomicUsize>,
    }

    pub async fn start() -> Hostile {
        let stolen = Arc::new(AtomicUsize::new(0));
        let counter = stolen.clone();
        let thief = serve(Router::new().route(
            "/steal",
            post(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                async { Json(serde_json::json!({"errcode": 0, "errmsg": "ok"})) }
            }),
        ))
        .await
        .unwrap();
        let to_thief = format!("{}/steal", thief.url());
        let app = Router::new()
            // Echoes the URL it was called with, as robots' error messages do.
            .route(
                "/echo/{*rest}",
                post(|uri: Uri| async move {
                    Json(serde_json::json!({
                        "errcode": 93000,
                        "errmsg": format!("invalid webhook url, hint: [{uri}] key={:?}", uri.query()),
                    }))
                }),
            )
            .route(
                "/open-apis/bot/v2/hook/{id}",
                post(|uri: Uri| async move {
                    let id = uri.path().rsplit('/').next().unwrap_or_default().to_string();
                    Json(serde_json::json!({"code": 19001, "msg": format!("param invalid: incoming webhook access token invalid: {id}")}))
                }),
            )
            .route(
                "/redirect",
                post(move || {
                    let to = to_thief.clone();
                    async move { (StatusCode::TEMPORARY_REDIRECT, [("location", to)]) }
                }),
            )
            .route("/html", post(|| async { "<html>ok</html>" }))
            .route("/huge", post(|| async { " ".repeat(1 << 20) + "{\"errcode\": 0}" }));
        Hostile {
            running: serve(app).await.unwrap(),
            thief,
            stolen,
        }
    }

    pub fn config(kind: &str, url: &str, secret: Option<&str>) -> NotifyConfig {
        let secret = secret.map_or(String::new(), |s| format!("secret = {s:?}\n"));
        toml::from_str(&format!(
            "kind = {kind:?}\nwebhook_url = {url:?}\n{secret}timeout_secs = 5\n[retry]\nattempts = 1\nbase_ms = 1\nmax_ms = 1\ntotal_secs = 5\n"
        ))
        .unwrap()
    }

    pub async fn send(config: &NotifyConfig) -> Result<(), RobotError> {
        let message = Message {
            title: "t".into(),
            text: "x".into(),
            record: serde_json::json!({}),
        };
        post_message(config, &message).await
    }
}

/// Item 2: a robot's reply that echoes the URL (or a part of it) never puts the WeCom
/// key, DingTalk's access token or signature, or the Feishu hook id into the error (the
/// same text the retry warnings print).
#[test]
fn item2_robot_secrets_are_redacted_from_echoing_replies() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let hostile = rt.block_on(robots::start());
    let base = hostile.running.url();
    let wecom = robots::config(
        "wecom",
        &format!("{base}/echo/cgi-bin/webhook/send?key=wecom-KEY-5f2e9a"),
        None,
    );
    let dingtalk = robots::config(
        "dingtalk",
        &format!("{base}/echo/robot/send?access_token=ding-TOKEN-77aa31"),
        Some("SECding-signing-secret"),
    );
    let hook = "3f1c2b9e-aaaa-bbbb-cccc-1234567890ab";
    let feishu = robots::config(
        "feishu",
        &format!("{base}/open-apis/bot/v2/hook/{hook}"),
        Some("feishu-sign-secret"),
    );
    for (config, secrets) in [
        (wecom, vec!["wecom-KEY-5f2e9a"]),
        (
            dingtalk,
            vec!["ding-TOKEN-77aa31", "SECding-signing-secret", "sign=%"],
        ),
        (feishu, vec![hook]),
    ] {
        let err = rt.block_on(robots::send(&config)).unwrap_err().to_string();
        assert!(err.contains("REDACTED"), "{err}");
        for secret in secrets {
            assert!(!err.contains(secret), "{secret} in: {err}");
        }
    }
}

/// Item 10: a robot that redirects is not followed (the message and its signed URL never
/// reach the other host), a 200 that is not the robot's JSON is not a delivery, and a
/// reply is read up to a cap.
#[test]
fn item10_robots_do_not_follow_redirects_or_take_any_reply_as_delivery() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let hostile = rt.block_on(robots::start());
    let base = hostile.running.url();
    let redirect = robots::config("wecom", &format!("{base}/redirect?key=k-1234567"), None);
    let err = rt
        .block_on(robots::send(&redirect))
        .unwrap_err()
        .to_string();
    assert!(err.contains("redirect"), "{err}");
    assert_eq!(hostile.stolen.load(std::sync::atomic::Ordering::SeqCst), 0);
    let _ = &hostile.thief;
    let html = robots::config(
        "dingtalk",
        &format!("{base}/html?access_token=t-1234567"),
        None,
    );
    let err = rt.block_on(robots::send(&html)).unwrap_err().to_string();
    assert!(err.contains("not JSON"), "{err}");
    let huge = robots::config("feishu", &format!("{base}/huge"), None);
    let err = rt.block_on(robots::send(&huge)).unwrap_err().to_string();
    assert!(err.contains("larger than 65536 bytes"), "{err}");
}

/// One access-log line of 2026-11-20 with this `us` (none when empty).
fn log_line(second: u32, us: &str, bytes: u64) -> String {
    let query = if us.is_empty() {
        "t=6affaa42&sign=f2".to_string()
    } else {
        format!("t=6affaa42&us={us}&sign=f2")
    };
    format!(
        "202611200{:05} 36.45.133.22 1500020822.vod2.myqcloud.com /a1b2c3/114/v.f1419-46.ts?{query} {bytes} 1177 1046 200 - 499 AppleCoreMedia/1.0 - GET HTTP/2.0 hit 23765\n",
        second
    )
}

/// Item 4: a viewer's `us` can't be one of the report's labels. `(total)-x` made a second
/// `(total)` row carrying the month's bill, `(untagged)-y` merged with the real untagged
/// traffic; now their parentheses are full-width, in every table and on the page.
#[test]
fn item4_forged_labels_stay_data() {
    let w = Workdir::new();
    let mut text = String::new();
    for (i, (us, bytes)) in [
        ("(total)-x", 7_000_000u64),
        ("(untagged)-y", 5_000_000),
        ("%28unattributed%29-z", 3_000_000),
        ("wxad-1", 2_000_000),
        ("", 1_000_000),
    ]
    .iter()
    .enumerate()
    {
        text.push_str(&log_line(10 + i as u32, us, *bytes));
    }
    write_gz(
        &w.path("in/2026112000-1500020822.vod2.myqcloud.com-mainland.gz"),
        text.as_bytes(),
    );
    w.run(&["--lake", "lake", "ingest", "in"]).ok();
    w.run(&[
        "--lake",
        "lake",
        "rollup",
        "--from",
        "2026-11-20",
        "--to",
        "2026-11-20",
    ])
    .ok();
    w.run(&[
        "--lake",
        "lake",
        "report",
        "--from",
        "2026-11-20",
        "--to",
        "2026-11-20",
        "--out",
        "out",
    ]);
    let monthly = csv_rows(&std::fs::read(w.path("out/channel_monthly.csv")).unwrap());
    let channels: Vec<&str> = monthly.iter().map(|r| r["channel"].as_str()).collect();
    assert_eq!(
        channels.iter().filter(|c| **c == "(total)").count(),
        1,
        "{channels:?}"
    );
    for forged in ["（total）", "（untagged）", "（unattributed）"] {
        assert!(channels.contains(&forged), "{forged} in {channels:?}");
    }
    let untagged = monthly
        .iter()
        .find(|r| r["channel"] == "(untagged)")
        .unwrap();
    assert_eq!(untagged["wechat_requests"], "1", "only the line without us");
    let daily = csv_rows(&std::fs::read(w.path("out/channel_daily.csv")).unwrap());
    assert!(!daily.iter().any(|r| r["channel"] == "(unattributed)"));
    let page = std::fs::read_to_string(w.path("out/report.html")).unwrap();
    assert!(
        page.contains("（total）"),
        "the page shows the forged name as data"
    );
}

/// Item 14: what finance notices. A day whose requests all count 0 bytes had `NaN` in its
/// share column; a channel with a control character (`us=a%0Ab%07-x`) put a raw line
/// break into a CSV cell and the page. Now the share is empty and the characters U+FFFD.
#[test]
fn item14_no_nan_or_control_characters_in_the_tables() {
    let w = Workdir::new();
    let text = log_line(10, "a%0Ab%07-x", 0) + &log_line(11, "wxad-1", 0);
    write_gz(
        &w.path("in/2026112000-1500020822.vod2.myqcloud.com-mainland.gz"),
        text.as_bytes(),
    );
    w.run(&["--lake", "lake", "ingest", "in"]).ok();
    w.run(&[
        "--lake",
        "lake",
        "rollup",
        "--from",
        "2026-11-20",
        "--to",
        "2026-11-20",
    ])
    .ok();
    w.run(&[
        "--lake",
        "lake",
        "report",
        "--from",
        "2026-11-20",
        "--to",
        "2026-11-20",
        "--out",
        "out",
    ]);
    for file in ["channel_daily.csv", "channel_monthly.csv", "report.html"] {
        let text = std::fs::read_to_string(w.path(&format!("out/{file}"))).unwrap();
        assert!(!text.contains("NaN"), "{file}:\n{text}");
        assert!(!text.contains('\u{7}'), "{file}");
        if file.ends_with(".csv") {
            assert!(!text.contains("a\nb"), "{file}:\n{text}");
            assert!(text.contains("a\u{fffd}b\u{fffd}"), "{file}:\n{text}");
        }
    }
    let daily = csv_rows(&std::fs::read(w.path("out/channel_daily.csv")).unwrap());
    assert!(
        daily.iter().all(|r| r["wechat_share"].is_empty()),
        "{daily:?}"
    );
}

mod catalogue {
    use super::common::servers::*;
    use super::common::*;
    use polars::prelude::*;

    pub const RUN: &[&str] = &["run", "--date", DAY2, "--lookback", "1"];

    /// A column of the catalogue's media table.
    pub fn media_column(s: &Servers, column: &str) -> Vec<Option<String>> {
        let frame = scan_table(&s.w.path("lake"), "media")
            .select([col(column).cast(DataType::String)])
            .collect()
            .unwrap();
        strings(&frame, column)
    }
}

/// Item 1: a catalogue server that ignores `offset` (full pages forever) made `run` hang
/// at the media step, holding the day's lease. Now the repeated page is caught at once
/// (and pages and time are capped): the last catalogue is kept and the run exits 3
/// naming it.
#[test]
fn item1_a_catalogue_that_pages_forever_is_stopped() {
    use common::servers::*;
    let s = start("");
    s.cdncost(catalogue::RUN).ok();
    let media = s.w.path("lake/media/media.parquet");
    let before = std::fs::read(&media).unwrap();
    s.wechat.faults().listmedia_ignores_offset = true;
    let env = s.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run =
        s.w.run_within(catalogue::RUN, &env, Duration::from_secs(120))
            .expect_code(3);
    assert!(
        run.stdout()
            .contains("media: the catalogue could not be fetched")
            && run.stdout().contains("ignores offset"),
        "{}",
        run.stdout()
    );
    assert_eq!(
        std::fs::read(&media).unwrap(),
        before,
        "the last catalogue is kept"
    );
}

/// Item 7: a drama or media name of 100,000 characters is cut to 200 in the lake, and
/// the run says how many were cut.
#[test]
fn item7_catalogue_names_are_bounded() {
    use common::servers::*;
    let s = start("");
    s.wechat.faults().huge_names = 100_000;
    let fetched = s.cdncost(&["fetch", "media"]).ok();
    assert!(
        fetched
            .stdout()
            .contains("2 names longer than 200 characters were cut to 200"),
        "{}",
        fetched.stdout()
    );
    for column in ["name", "drama_name"] {
        let longest = catalogue::media_column(&s, column)
            .into_iter()
            .flatten()
            .map(|n| n.chars().count())
            .max()
            .unwrap();
        assert_eq!(longest, 200, "{column}");
    }
}

/// Item 8: a media listed twice and a path prefix claimed by media of two dramas are
/// said with their ids, and decided by the stated rules (the first listing; the highest
/// media id names the prefix).
#[test]
fn item8_catalogue_inconsistencies_are_said_and_decided() {
    use common::servers::*;
    let s = start("");
    s.wechat.faults().inconsistent_catalogue = true;
    let fetched = s.cdncost(&["fetch", "media"]).ok();
    let out = fetched.stdout();
    assert!(
        out.contains("lists media ids") && out.contains("more than once"),
        "{out}"
    );
    assert!(
        out.contains("is claimed by media") && out.contains("the highest id, names it"),
        "{out}"
    );
    let ids = catalogue::media_column(&s, "media_id");
    let unique: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "one row per media id");
}

/// Item 9: signatures in a media link's path (`;sign=`, Tencent's type-B hotlink
/// segments) never reach the lake: the prefix is the media's directory alone.
#[test]
fn item9_signatures_in_media_paths_are_not_kept() {
    use common::servers::*;
    use polars::prelude::*;
    let s = start("");
    s.wechat.faults().signed_paths = true;
    s.cdncost(&["fetch", "media"]).ok();
    let prefixes = catalogue::media_column(&s, "path_prefix");
    assert!(!prefixes.is_empty());
    for prefix in prefixes.into_iter().flatten() {
        assert!(
            !prefix.contains("sign") && !prefix.contains("0123456789abcdef"),
            "{prefix}"
        );
        assert!(
            prefix.starts_with("/a1b2c3d4vodtranscq1500020822/"),
            "{prefix}"
        );
    }
    let history = scan_table(&s.w.path("lake"), "media_history")
        .select([col("path_prefix")])
        .collect()
        .unwrap();
    for prefix in strings(&history, "path_prefix").into_iter().flatten() {
        assert!(
            !prefix.contains("sign") && !prefix.contains("0123456789abcdef"),
            "{prefix}"
        );
    }
}

/// Item 12: under cron a progress line comes every 10 s, also while nothing finishes: a
/// day of downloads that trickle (four parts 5 s apart, all at once) said nothing for
/// 20 s; now a heartbeat says what has arrived before any file is done.
#[test]
fn item12_a_trickling_download_still_logs_progress() {
    use common::servers::*;
    let s = start("");
    s.wechat.faults().trickle_downloads = Some(Duration::from_secs(5));
    let run = s
        .cdncost(&[
            "fetch",
            "logs",
            "--from",
            "2026-11-18",
            "--to",
            "2026-11-18",
            "--jobs",
            "72",
        ])
        .ok();
    let stderr = run.stderr();
    let beats = stderr
        .lines()
        .filter(|l| l.contains("logs: 0/72 done") && l.contains("MB received"))
        .count();
    assert!(beats > 0, "{stderr}");
}
