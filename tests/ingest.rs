//! End-to-end tests of `cdncost ingest` on real gzip files, read back with polars.

mod common;

use common::*;
use polars::prelude::*;

/// A small generated data set: 1 day, 3 domains (72 files), 2 malformed lines in each.
fn generated(w: &Workdir) -> std::path::PathBuf {
    w.generate(
        "gen",
        &[
            "--from",
            "2026-11-18",
            "--days",
            "1",
            "--domains",
            "3",
            "--peak-requests-per-hour",
            "300",
            "--malformed",
            "144",
        ],
    )
}

/// Enough data (one day, 2 domains, ~2 s of ingest) to interrupt a run part-way.
fn larger_generated(w: &Workdir) -> std::path::PathBuf {
    w.generate(
        "gen",
        &[
            "--days",
            "1",
            "--domains",
            "2",
            "--peak-requests-per-hour",
            "40000",
        ],
    )
}

#[test]
fn lake_totals_equal_the_generators_totals() {
    let w = Workdir::new();
    let gen = generated(&w);
    let run = w.run(&["ingest", "gen/cdn_logs"]).ok();

    // Per (date, channel) bytes and requests from an independent reader equal the truth.
    let want = expected_totals(&gen);
    assert!(want.len() >= 9, "several channels plus untagged: {want:?}");
    assert!(want.contains_key(&("2026-11-18".into(), "小红书".into())));
    assert!(want.contains_key(&("2026-11-18".into(), "(untagged)".into())));
    assert_eq!(lake_totals(&w.path("lake")), want);

    // The accounting identity, per file and in total.
    let files = expected_files(&gen);
    let (lines, malformed): (u64, u64) = files.values().fold((0, 0), |a, v| (a.0 + v.0, a.1 + v.1));
    let stdout = run.stdout();
    let expect = format!(
        "ingested 72 of 72 files: {} lines read = {} parsed + {} rejected",
        cdncost::table::thousands(lines as i128),
        cdncost::table::thousands((lines - malformed) as i128),
        malformed
    );
    assert!(stdout.contains(&expect), "want {expect:?} in\n{stdout}");
    for (name, (lines, malformed)) in &files {
        let stem = name.trim_end_matches(".gz");
        let record: serde_json::Value = serde_json::from_slice(
            &std::fs::read(w.path(&format!("lake/_manifest/ingest/{stem}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(record["lines_read"], *lines, "{name}");
        assert_eq!(record["lines_rejected"], *malformed, "{name}");
        assert_eq!(
            record["lines_parsed"].as_u64().unwrap() + record["lines_rejected"].as_u64().unwrap(),
            *lines
        );
    }

    // Every rejected line is in the rejects table with its file and line number.
    let rejects = scan_table(&w.path("lake"), "rejects").collect().unwrap();
    assert_eq!(rejects.height() as u64, malformed);
    assert!(ints(&rejects, "line_no").iter().all(|n| n.unwrap() >= 1));
    assert!(strings(&rejects, "source_file")
        .iter()
        .all(|s| files.contains_key(s.as_deref().unwrap())));
}

#[test]
fn schema_has_every_column_with_its_type() {
    let w = Workdir::new();
    generated(&w);
    w.run(&[
        "ingest",
        "gen/cdn_logs/date=2026-11-18/2026111820-1500020822.vod2.myqcloud.com-mainland.gz",
    ])
    .ok();
    let file = w.path("lake/cdn_requests/date=2026-11-18/hour=20/2026111820-1500020822.vod2.myqcloud.com-mainland.parquet");
    let frame = LazyFrame::scan_parquet(
        PlRefPath::try_from_path(&file).unwrap(),
        ScanArgsParquet {
            hive_options: HiveOptions::new_disabled(),
            ..Default::default()
        },
    )
    .unwrap()
    .collect()
    .unwrap();
    let schema = frame.schema();
    let want: Vec<(&str, DataType)> = vec![
        ("platform", DataType::String),
        ("account", DataType::String),
        (
            "ts",
            DataType::Datetime(
                TimeUnit::Milliseconds,
                Some(unsafe { TimeZone::from_static("Asia/Shanghai") }),
            ),
        ),
        ("client_ip", DataType::String),
        ("domain", DataType::String),
        ("path", DataType::String),
        ("query", DataType::String),
        ("us", DataType::String),
        ("channel", DataType::String),
        ("bytes", DataType::Int64),
        ("province_code", DataType::Int32),
        ("province", DataType::String),
        ("isp_code", DataType::Int32),
        ("isp", DataType::String),
        ("status", DataType::Int32),
        ("referer", DataType::String),
        ("request_ms", DataType::Int64),
        ("user_agent", DataType::String),
        ("range", DataType::String),
        ("range_start", DataType::Int64),
        ("range_end", DataType::Int64),
        ("method", DataType::String),
        ("protocol", DataType::String),
        ("cache", DataType::String),
        ("port", DataType::Int32),
        ("source_file", DataType::String),
        ("line_no", DataType::Int64),
    ];
    let got: Vec<(&str, DataType)> = schema
        .iter()
        .map(|(n, t)| (n.as_str(), t.clone()))
        .collect();
    assert_eq!(got, want);
    // Every row of this file is in the 20:00 China hour.
    let ts: Vec<i64> = ints(&frame, "ts").into_iter().map(Option::unwrap).collect();
    let (min, max) = (*ts.iter().min().unwrap(), *ts.iter().max().unwrap());
    // 2026-11-18 20:00 +08:00 = 12:00 UTC.
    let start = 1_795_003_200_000i64;
    assert!(
        min >= start && max < start + 3_600_000,
        "{min}..{max} outside {start}"
    );
}

/// Hand-written lines, one per oddity, checked field by field after a round trip.
#[test]
fn every_oddity_round_trips() {
    let w = Workdir::new();
    let mut content = Vec::new();
    // 1: the typical documented line (16 fields, unquoted agent with spaces).
    content.extend_from_slice(b"20261120000242 36.45.133.22 1500020822.vod2.myqcloud.com /a1b2c3d4vodtranscq1500020822/1144961661379299507/v.f1419-46.ts?t=6affaa42&us=wxad-d97e967b6c18d982d1dcec53&sign=f22d2882d1a89b37ad0c9bb6e9526a69 1237276 1177 1046 200 - 499 AppleCoreMedia/1.0.0.21E236 (iPhone; U; CPU OS 17_4 like Mac OS X; zh_cn) - GET HTTP/2.0 hit 23765\n");
    // 2: IPv6, untagged, no agent, referer, range, port `-`, CRLF.
    content.extend_from_slice(b"20261120002027 240e:3a1:4c2::1f 1500020822.vod2.myqcloud.com /x/v.f100030.mp4?t=6affae6b&sign=c0236e49 525089 120 26 206 https://servicewechat.com/wx1234567890abcdef/12/page-frame.html 128 - bytes=0-525088 GET HTTP/3 MISS -\r\n");
    // 3: quoted agent, 15 fields, channel with a dash, `us` first in the query.
    content.extend_from_slice(b"20261120003745 101.18.7.5 1500020822.vod2.myqcloud.com /y/v.f100830.mp4?us=baidu-feed-3d0a270bb5a432cf86e3e726&t=6affb279&sign=29 2097873 1 0 200 - 1007 \"Mozilla/5.0 (Linux; Android 14; wv) MicroMessenger/8.0.49\" - GET HTTP/1.1 hit\n");
    // 4: unix seconds, percent-encoded Chinese channel, unknown province and ISP codes.
    content.extend_from_slice(b"1795105800 1.2.3.4 d.example.com /z/v.mp4?t=1&us=%E5%B0%8F%E7%BA%A2%E4%B9%A6-abc123&sign=2 1000 9999 77 200 - 3 okhttp/4.9.2 - GET HTTP/1.1 Miss 8080\n");
    // 5: a `us` with no developer tag (platform tag only): untagged.
    content.extend_from_slice(b"20261120010000 1.2.3.5 d.example.com /z/v.mp4?t=1&us=647488c4792c15185b8fd2a6 500 4 2 304 - 3 - - HEAD HTTP/1.1 HIT\n");
    // 6: a malformed line (bad byte count) between good ones.
    content.extend_from_slice(
        b"20261120010000 1.2.3.5 d.example.com /z/v.mp4 5x0 4 2 200 - 3 - - GET HTTP/1.1 HIT\n",
    );
    // 7: not UTF-8 at all.
    content.extend_from_slice(b"\xff\xfe\x00binary\x80\n");
    // 8: the last line, without a newline, in the next China day (00:00 on 21st is hour 0).
    content.extend_from_slice(
        b"20261121000001 1.2.3.6 d.example.com /w/v.mp4 42 22 2 200 - 1 - - GET HTTP/2.0 hit",
    );
    write_gz(&w.path("in/odd-2026112000.gz"), &content);

    let run = w.run(&["ingest", "in"]).ok();
    assert!(
        run.stdout()
            .contains("8 lines read = 6 parsed + 2 rejected"),
        "{}",
        run.stdout()
    );

    let rows = scan_table(&w.path("lake"), "cdn_requests")
        .sort(["line_no"], Default::default())
        .collect()
        .unwrap();
    assert_eq!(rows.height(), 6);
    let s = |name: &str, i: usize| -> Option<String> { strings(&rows, name)[i].clone() };
    let n = |name: &str, i: usize| -> Option<i64> { ints(&rows, name)[i] };
    let ts = |i: usize| -> i64 { ints(&rows, "ts")[i].unwrap() };

    // Line 1, every field.
    assert_eq!(ts(0), 1_795_104_162_000);
    assert_eq!(s("client_ip", 0).as_deref(), Some("36.45.133.22"));
    assert_eq!(
        s("domain", 0).as_deref(),
        Some("1500020822.vod2.myqcloud.com")
    );
    assert_eq!(
        s("path", 0).as_deref(),
        Some("/a1b2c3d4vodtranscq1500020822/1144961661379299507/v.f1419-46.ts")
    );
    assert_eq!(
        s("query", 0).as_deref(),
        Some("t=6affaa42&us=wxad-d97e967b6c18d982d1dcec53&sign=f22d2882d1a89b37ad0c9bb6e9526a69")
    );
    assert_eq!(s("us", 0).as_deref(), Some("wxad-d97e967b6c18d982d1dcec53"));
    assert_eq!(s("channel", 0).as_deref(), Some("wxad"));
    assert_eq!(n("bytes", 0), Some(1_237_276));
    assert_eq!(
        (n("province_code", 0), s("province", 0).as_deref()),
        (Some(1177), Some("天津"))
    );
    assert_eq!(
        (n("isp_code", 0), s("isp", 0).as_deref()),
        (Some(1046), Some("中国移动"))
    );
    assert_eq!(n("status", 0), Some(200));
    assert_eq!(s("referer", 0), None);
    assert_eq!(n("request_ms", 0), Some(499));
    assert_eq!(
        s("user_agent", 0).as_deref(),
        Some("AppleCoreMedia/1.0.0.21E236 (iPhone; U; CPU OS 17_4 like Mac OS X; zh_cn)")
    );
    assert_eq!(s("range", 0), None);
    assert_eq!(
        (
            s("method", 0).as_deref(),
            s("protocol", 0).as_deref(),
            s("cache", 0).as_deref()
        ),
        (Some("GET"), Some("HTTP/2.0"), Some("HIT"))
    );
    assert_eq!(n("port", 0), Some(23765));
    assert_eq!(s("source_file", 0).as_deref(), Some("odd-2026112000.gz"));
    assert_eq!(n("line_no", 0), Some(1));

    // Line 2: IPv6, untagged, CRLF stripped from the last field.
    assert_eq!(s("client_ip", 1).as_deref(), Some("240e:3a1:4c2::1f"));
    assert_eq!((s("us", 1), s("channel", 1)), (None, None));
    assert_eq!(s("user_agent", 1), None);
    assert_eq!(
        s("referer", 1).as_deref(),
        Some("https://servicewechat.com/wx1234567890abcdef/12/page-frame.html")
    );
    assert_eq!(s("range", 1).as_deref(), Some("bytes=0-525088"));
    assert_eq!(
        (s("cache", 1).as_deref(), n("port", 1)),
        (Some("MISS"), None)
    );
    assert_eq!(
        (s("province", 1).as_deref(), s("isp", 1).as_deref()),
        (Some("江苏"), Some("中国联通"))
    );

    // Line 3: quoted agent unquoted, 15 fields, channel keeps its inner dash.
    assert_eq!(
        s("user_agent", 2).as_deref(),
        Some("Mozilla/5.0 (Linux; Android 14; wv) MicroMessenger/8.0.49")
    );
    assert_eq!(s("channel", 2).as_deref(), Some("baidu-feed"));
    assert_eq!(n("port", 2), None);
    assert_eq!(
        (s("province", 2).as_deref(), s("isp", 2).as_deref()),
        (Some("港澳台"), Some("其他运营商"))
    );

    // Line 4: unix time, decoded Chinese channel, unknown codes kept with 未知.
    assert_eq!(ts(3), 1_795_105_800_000);
    assert_eq!(s("us", 3).as_deref(), Some("小红书-abc123"));
    assert_eq!(s("channel", 3).as_deref(), Some("小红书"));
    assert_eq!(
        (n("province_code", 3), s("province", 3).as_deref()),
        (Some(9999), Some("未知"))
    );
    assert_eq!(
        (n("isp_code", 3), s("isp", 3).as_deref()),
        (Some(77), Some("未知"))
    );
    assert_eq!(s("cache", 3).as_deref(), Some("MISS"));

    // Line 5: platform-only tag is untagged but the `us` is kept.
    assert_eq!(
        (s("us", 4).as_deref(), s("channel", 4)),
        (Some("647488c4792c15185b8fd2a6"), None)
    );
    assert_eq!(s("method", 4).as_deref(), Some("HEAD"));

    // Line 8: no newline, next China day, hour 0.
    assert_eq!(n("line_no", 5), Some(8));
    assert_eq!(n("bytes", 5), Some(42));
    assert!(w
        .path("lake/cdn_requests/date=2026-11-21/hour=00/odd-2026112000.parquet")
        .exists());
    assert!(w
        .path("lake/cdn_requests/date=2026-11-20/hour=00/odd-2026112000.parquet")
        .exists());
    assert!(w
        .path("lake/cdn_requests/date=2026-11-20/hour=01/odd-2026112000.parquet")
        .exists());

    // The rejects keep line number, reason and the raw bytes exactly.
    let rejects = scan_table(&w.path("lake"), "rejects")
        .sort(["line_no"], Default::default())
        .collect()
        .unwrap();
    assert_eq!(rejects.height(), 2);
    assert_eq!(
        strings(&rejects, "reason"),
        vec![
            Some("bytes is not a number".to_string()),
            Some("fewer than 15 fields".to_string())
        ]
    );
    let raw = rejects.column("raw").unwrap().binary().unwrap();
    assert_eq!(raw.get(1), Some(&b"\xff\xfe\x00binary\x80"[..]));
    assert_eq!(ints(&rejects, "line_no"), vec![Some(6), Some(7)]);
}

#[test]
fn reingest_replaces_and_never_duplicates() {
    let w = Workdir::new();
    generated(&w);
    w.run(&["ingest", "gen/cdn_logs"]).ok();
    let first = lake_totals(&w.path("lake"));
    let files_first = lake_files(&w.path("lake"));
    w.run(&["--lake", "lake", "ingest", "gen/cdn_logs", "--jobs", "1"])
        .ok();
    assert_eq!(
        lake_totals(&w.path("lake")),
        first,
        "same totals after a second ingest"
    );
    assert_eq!(
        lake_files(&w.path("lake")),
        files_first,
        "same files, no temporaries"
    );

    // A source that changes (the platform completes files late) replaces its old rows,
    // including partitions the new version no longer has.
    let file = w.path("in/late-2026111812.gz");
    write_gz(&file, b"20261118120000 1.2.3.4 d /p?us=wxad-1 100 4 2 200 - 1 - - GET HTTP/1.1 hit\n20261118130000 1.2.3.4 d /p?us=wxad-1 50 4 2 200 - 1 - - GET HTTP/1.1 hit\n");
    w.run(&["ingest", "in"]).ok();
    assert!(w
        .path("lake/cdn_requests/date=2026-11-18/hour=13/late-2026111812.parquet")
        .exists());
    write_gz(&file, b"20261118120000 1.2.3.4 d /p?us=wxad-1 100 4 2 200 - 1 - - GET HTTP/1.1 hit\n20261118120500 1.2.3.4 d /p?us=wxad-1 7 4 2 200 - 1 - - GET HTTP/1.1 hit\n");
    w.run(&["ingest", "in"]).ok();
    assert!(!w
        .path("lake/cdn_requests/date=2026-11-18/hour=13/late-2026111812.parquet")
        .exists());
    let wxad = lake_totals(&w.path("lake"))[&("2026-11-18".to_string(), "wxad".to_string())];
    let before = first[&("2026-11-18".to_string(), "wxad".to_string())];
    assert_eq!(wxad, (before.0 + 2, before.1 + 107));
}

#[test]
fn truncated_gzip_fails_clearly_and_the_rest_completes() {
    let w = Workdir::new();
    let gen = generated(&w);
    let victim =
        gen.join("cdn_logs/date=2026-11-18/2026111821-1500020822.vod2.myqcloud.com-mainland.gz");
    let bytes = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &bytes[..bytes.len() * 2 / 3]).unwrap();

    let run = w.run(&["ingest", "gen/cdn_logs"]).expect_code(3);
    let out = run.stdout() + &run.stderr();
    assert!(
        out.contains("2026111821-1500020822.vod2.myqcloud.com-mainland.gz"),
        "{out}"
    );
    assert!(out.contains("corrupt or truncated gzip"), "{out}");
    assert!(
        run.stdout().contains("ingested 71 of 72 files"),
        "{}",
        run.stdout()
    );

    // Nothing of the victim is in the lake; everything else is; no temporaries remain.
    let lake_files = files_below(&w.path("lake"));
    assert!(
        !lake_files
            .iter()
            .any(|f| f.contains("2026111821-1500020822.vod2.myqcloud.com-mainland")),
        "{lake_files:?}"
    );
    assert!(!lake_files.iter().any(|f| f.ends_with(".tmp")));
    let mut want = expected_totals(&gen);
    let got = lake_totals(&w.path("lake"));
    let total = |m: &std::collections::BTreeMap<(String, String), (u64, u64)>| {
        m.values().map(|v| v.1).sum::<u64>()
    };
    assert!(total(&got) < total(&want));
    // After the file is repaired, the next run completes the lake exactly.
    let gen2 = w.generate(
        "gen2",
        &[
            "--from",
            "2026-11-18",
            "--days",
            "1",
            "--domains",
            "3",
            "--peak-requests-per-hour",
            "300",
            "--malformed",
            "144",
        ],
    );
    std::fs::copy(
        gen2.join("cdn_logs/date=2026-11-18/2026111821-1500020822.vod2.myqcloud.com-mainland.gz"),
        &victim,
    )
    .unwrap();
    w.run(&["ingest", "gen/cdn_logs"]).ok();
    want = expected_totals(&gen);
    assert_eq!(lake_totals(&w.path("lake")), want);
}

#[test]
fn plain_text_files_and_jobs_give_the_same_lake() {
    let w = Workdir::new();
    let gen = generated(&w);
    // Decompress a few files to plain `.log` and ingest them with one job.
    let dir = gen.join("cdn_logs/date=2026-11-18");
    std::fs::create_dir_all(w.path("plain")).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace(".gz", ".log");
        let mut text = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap()),
            &mut text,
        )
        .unwrap();
        std::fs::write(w.path("plain").join(name), text).unwrap();
    }
    w.run(&["ingest", "--lake", "lake-plain", "plain", "-j", "1"])
        .ok();
    w.run(&["ingest", "gen/cdn_logs", "--lake", "lake-gz", "-j", "2"])
        .ok();
    assert_eq!(
        lake_totals(&w.path("lake-plain")),
        lake_totals(&w.path("lake-gz"))
    );
    assert_eq!(lake_totals(&w.path("lake-gz")), expected_totals(&gen));
}

#[test]
fn usage_errors_and_missing_inputs() {
    let w = Workdir::new();
    w.run(&["ingest"]).expect_code(2);
    let run = w.run(&["ingest", "does-not-exist"]).expect_code(1);
    assert!(run.stderr().contains("does-not-exist"), "{}", run.stderr());
    std::fs::create_dir_all(w.path("empty")).unwrap();
    let run = w.run(&["ingest", "empty"]).expect_code(1);
    assert!(
        run.stderr()
            .contains("no log files (*.gz, *.log or YYYYMMDDHH-<domain>-<region> packages)"),
        "{}",
        run.stderr()
    );
    let run = w.run(&["--help"]).ok();
    assert!(run.stdout().contains("Exit status"), "{}", run.stdout());
    // A config file with a typo is an error, not a silent default.
    std::fs::write(w.path("cdncost.toml"), "[ingest]\njbos = 3\n").unwrap();
    let run = w.run(&["summary"]).expect_code(1);
    assert!(run.stderr().contains("jbos"), "{}", run.stderr());
}

#[test]
fn summary_shows_the_lake() {
    let w = Workdir::new();
    generated(&w);
    w.run(&["ingest", "gen/cdn_logs", "-q"]).ok();
    let run = w
        .run(&["summary", "--from", "2026-11-18", "--to", "2026-11-18"])
        .ok();
    let out = run.stdout();
    assert!(out.lines().next().unwrap().starts_with("date"), "{out}");
    assert!(
        out.contains("小红书") && out.contains("(untagged)") && out.contains("wxad"),
        "{out}"
    );
    let run = w.run(&["summary", "--lake", "nowhere"]).expect_code(1);
    assert!(run.stderr().contains("no data"), "{}", run.stderr());
}

/// Killed mid-run (SIGKILL, at several points): every Parquet file a reader can see is
/// complete, and the next run sweeps the temporaries and ends with exactly the truth.
#[test]
fn killed_mid_run_leaves_no_half_file_and_the_rerun_completes() {
    let w = Workdir::new();
    let gen = larger_generated(&w);
    let mut killed_mid_run = 0;
    for delay_ms in [150u64, 400, 900] {
        let lake = format!("lake-{delay_ms}");
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cdncost"))
            .args(["ingest", "-q", "-j", "1", "--lake", &lake, "gen/cdn_logs"])
            .current_dir(w.dir.path())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        // A kill counts as mid-run only if the process was still running when it landed
        // (a fast machine may finish first: that attempt then proves nothing).
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            killed_mid_run += 1;
        }
        child.wait().unwrap();

        // Readers skip hidden temporaries; every visible file must read in full.
        for rel in files_below(&w.path(&lake)) {
            let name = rel.rsplit('/').next().unwrap();
            if name.ends_with(".parquet") && !name.starts_with('.') {
                let path = w.path(&lake).join(&rel);
                let args = ScanArgsParquet {
                    hive_options: HiveOptions::new_disabled(),
                    ..Default::default()
                };
                LazyFrame::scan_parquet(PlRefPath::try_from_path(&path).unwrap(), args)
                    .unwrap()
                    .collect()
                    .unwrap_or_else(|e| panic!("{rel} is not a complete Parquet file: {e}"));
            }
        }
        w.run(&["ingest", "-q", "--lake", &lake, "gen/cdn_logs"])
            .ok();
        assert_eq!(
            lake_totals(&w.path(&lake)),
            expected_totals(&gen),
            "after a kill at {delay_ms} ms and a rerun"
        );
        let leftovers: Vec<String> = files_below(&w.path(&lake))
            .into_iter()
            .filter(|f| f.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
    assert!(
        killed_mid_run >= 2,
        "only {killed_mid_run} of 3 kills landed while the ingest ran: make the data larger"
    );
}

/// `--json-logs`: every stderr line is a JSON record, errors included, and stdout keeps
/// the human summary; under cron (stderr not a terminal) no colour codes appear.
#[test]
fn json_logs_and_plain_logs_for_collectors_and_cron() {
    let w = Workdir::new();
    generated(&w);
    let run = w.run(&["ingest", "gen/cdn_logs", "--json-logs", "-v"]).ok();
    let lines: Vec<&str> = run
        .output
        .stderr
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| std::str::from_utf8(l).unwrap())
        .collect();
    assert!(lines.len() > 10, "per-file debug records expected");
    for line in &lines {
        let record: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            record["level"].is_string() && record["fields"]["message"].is_string(),
            "{line}"
        );
    }
    assert!(
        run.stdout().starts_with("ingested 72 of 72 files"),
        "{}",
        run.stdout()
    );
    let run = w
        .run(&["summary", "--lake", "nowhere", "--json-logs"])
        .expect_code(1);
    let record: serde_json::Value = serde_json::from_str(run.stderr().trim()).unwrap();
    assert_eq!(record["level"], "ERROR");
    assert!(record["fields"]["message"]
        .as_str()
        .unwrap()
        .contains("no data"));
    let run = w.run(&["ingest", "gen/cdn_logs"]).ok();
    assert!(
        !run.stderr().contains('\u{1b}'),
        "no ANSI escapes when stderr is not a terminal"
    );
    assert_eq!(
        run.stderr()
            .lines()
            .filter(|l| l.contains("ingesting 72 files"))
            .count(),
        1
    );
}

/// Writers lease what they write, not the lake: while one ingests a source, a second
/// writer of the same source is refused, naming the first, and a writer of another source
/// goes ahead at the same time; a lease left by a killed process is taken over.
#[test]
fn one_writer_per_source_not_per_lake() {
    let w = Workdir::new();
    let gen = larger_generated(&w);
    // One big source (the day's gzip members, one after another, as `cat` makes them).
    let mut big = Vec::new();
    let mut small = None;
    for file in files_below(&gen.join("cdn_logs")) {
        let bytes = std::fs::read(gen.join("cdn_logs").join(&file)).unwrap();
        if small.is_none() {
            small = Some(gen.join("cdn_logs").join(&file));
        }
        big.extend_from_slice(&bytes);
    }
    std::fs::write(w.path("big.gz"), &big).unwrap();
    let mut first = std::process::Command::new(env!("CARGO_BIN_EXE_cdncost"))
        .args(["ingest", "-q", "big.gz"])
        .current_dir(w.dir.path())
        .spawn()
        .unwrap();
    // Wait until the first run holds the source's lease.
    let lease = w.path("lake/_leases/ingest/big.lease");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !lease.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let second = w.run(&["ingest", "-q", "big.gz"]).expect_code(1);
    let want = format!("pid {}, since", first.id());
    assert!(
        second.stderr().contains(&want)
            && second
                .stderr()
                .contains("is writing ingest/big in the lake"),
        "want {want:?} in: {}",
        second.stderr()
    );
    // Another source, meanwhile: not held up.
    let small = small.unwrap();
    w.run(&["ingest", "-q", small.to_str().unwrap()]).ok();
    assert!(lease.exists(), "the first still runs");
    assert!(first.wait().unwrap().success());
    assert!(!lease.exists(), "released at the end");

    // A lease whose process is gone (no flock held) is taken over.
    std::fs::write(
        &lease,
        r#"{"holder":"otherhost pid 4000000000","since":"2026-11-23T01:00:00+08:00","expires":0}"#,
    )
    .unwrap();
    let run = w.run(&["ingest", "big.gz"]).ok();
    assert!(
        run.stderr()
            .contains("taking over the lease of a cdncost that is gone (otherhost pid 4000000000"),
        "{}",
        run.stderr()
    );
    assert!(!lease.exists());
}

/// Lines in the shape published Tencent CDN files have (DOMAIN.md §2), in files named as
/// `getcdnlogs` names its packages (no extension), one gzip and one plain, found in a
/// directory beside a stray file; every field checked after the round trip.
#[test]
fn real_shape_package_files_round_trip_every_field() {
    let w = Workdir::new();
    let gz_name = "2026112000-1500020822.vod2.myqcloud.com-mainland";
    let plain_name = "2026112001-1500020822.vod2.myqcloud.com-overseas";
    // 1: current shape: quoted agent with spaces and quotes inside, quoted range, NULL
    //    referer, HTTPS, 16 fields with a port.
    // 2: old era: 15 fields, "NULL" agent, "(null)" range, NULL referer, bytes 0.
    // 3: a copied line with a space and a TAB before the IP, open range, HTTP/3.
    let mut gz = common::filters::PUBLISHED_SHAPE.concat().into_bytes();
    // 4: a line that is not a log line at all.
    gz.extend_from_slice(b"this is not a log line\n");
    write_gz(&w.path(&format!("in/{gz_name}")), &gz);
    // 5 (plain file, overseas package): a known country code and the overseas ISP.
    std::fs::write(
        w.path(&format!("in/{plain_name}")),
        b"20261120013000 126.10.1.2 1500020822.vod2.myqcloud.com /a1b2/y/v.mp4?us=wxad-99 4096 1044 -1 200 - 12 \"AppleCoreMedia/1.0.0.21E236 (iPhone; U; CPU OS 17_4 like Mac OS X; zh_cn)\" \"bytes=0-4095\" GET HTTPS MISS 443\n",
    )
    .unwrap();
    std::fs::write(w.path("in/notes.txt"), b"not a log").unwrap();

    let run = w.run(&["ingest", "in"]).ok();
    assert!(
        run.stdout()
            .contains("ingested 2 of 2 files: 5 lines read = 4 parsed + 1 rejected"),
        "{}",
        run.stdout()
    );
    assert!(
        run.stderr().contains("skipped 1 files") && run.stderr().contains("notes.txt"),
        "the stray file is named: {}",
        run.stderr()
    );

    let rows = scan_table(&w.path("lake"), "cdn_requests")
        .sort(["ts"], Default::default())
        .collect()
        .unwrap();
    assert_eq!(rows.height(), 4);
    let s = |name: &str, i: usize| -> Option<String> { strings(&rows, name)[i].clone() };
    let n = |name: &str, i: usize| -> Option<i64> { ints(&rows, name)[i] };

    // Line 1.
    assert_eq!(s("channel", 0).as_deref(), Some("wxad"));
    assert_eq!(n("bytes", 0), Some(1_237_276));
    assert_eq!(s("referer", 0), None, "NULL referer is empty");
    assert_eq!(
        s("user_agent", 0).as_deref(),
        Some("Mozilla/5.0 (Linux; Android 14; wv) \"MicroMessenger\"/8.0.49 NetType/WIFI")
    );
    assert_eq!(s("range", 0).as_deref(), Some("786432-4999999"));
    assert_eq!(
        (n("range_start", 0), n("range_end", 0)),
        (Some(786432), Some(4_999_999))
    );
    assert_eq!(
        (
            s("method", 0).as_deref(),
            s("protocol", 0).as_deref(),
            s("cache", 0).as_deref()
        ),
        (Some("GET"), Some("HTTPS"), Some("HIT"))
    );
    assert_eq!(
        (n("port", 0), n("status", 0), n("request_ms", 0)),
        (Some(56845), Some(206), Some(499))
    );
    assert_eq!(s("source_file", 0).as_deref(), Some(gz_name));

    // Line 2: every empty marker is null, 15 fields, zero bytes counted.
    assert_eq!(
        (s("referer", 1), s("user_agent", 1), s("range", 1)),
        (None, None, None)
    );
    assert_eq!(
        (n("range_start", 1), n("range_end", 1), n("port", 1)),
        (None, None, None)
    );
    assert_eq!(
        (n("bytes", 1), s("channel", 1).as_deref()),
        (Some(0), Some("douyin"))
    );
    assert_eq!(s("protocol", 1).as_deref(), Some("HTTP/1.1"));
    assert_eq!(s("province", 1).as_deref(), Some("山东"));

    // Line 3: the tab is a separator; open range; HTTP/3 kept; port `-`.
    assert_eq!(s("client_ip", 2).as_deref(), Some("101.18.7.5"));
    assert_eq!(s("channel", 2).as_deref(), Some("baidu-feed"));
    assert_eq!(s("user_agent", 2).as_deref(), Some("okhttp/4.9.2"));
    assert_eq!(
        (
            s("range", 2).as_deref(),
            n("range_start", 2),
            n("range_end", 2)
        ),
        (Some("0-"), Some(0), None)
    );
    assert_eq!(
        (s("protocol", 2).as_deref(), n("port", 2)),
        (Some("HTTP/3"), None)
    );
    assert_eq!(
        s("referer", 2).as_deref(),
        Some("https://servicewechat.com/wx1/12/page-frame.html")
    );

    // Line 5 (plain overseas file): Japan and the overseas ISP by name.
    assert_eq!(
        (n("province_code", 3), s("province", 3).as_deref()),
        (Some(1044), Some("日本"))
    );
    assert_eq!(
        (n("isp_code", 3), s("isp", 3).as_deref()),
        (Some(-1), Some("海外运营商"))
    );
    assert_eq!(
        (n("range_start", 3), n("range_end", 3)),
        (Some(0), Some(4095))
    );
    assert_eq!(s("source_file", 3).as_deref(), Some(plain_name));

    // The manifest counts what was seen, markers by spelling.
    let record: serde_json::Value = serde_json::from_slice(
        &std::fs::read(w.path(&format!("lake/_manifest/ingest/{gz_name}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(record["lines_read"], 4);
    assert_eq!(
        record["lines_parsed"].as_u64().unwrap() + record["lines_rejected"].as_u64().unwrap(),
        4
    );
    let seen = &record["observed"];
    assert_eq!(seen["empty_markers"]["NULL"], 2, "{seen}");
    assert_eq!(seen["empty_markers"]["\"NULL\""], 1, "{seen}");
    assert_eq!(seen["empty_markers"]["\"(null)\""], 1, "{seen}");
    assert_eq!(seen["empty_markers"]["-"], 1, "{seen}");
    assert_eq!(seen["quoted_ranges"], 2, "{seen}");
    assert_eq!(seen["irregular_separators"], 1, "{seen}");
    assert_eq!(
        (
            seen["lines_15_fields"].as_u64(),
            seen["lines_16_fields"].as_u64()
        ),
        (Some(1), Some(2))
    );
    let plain: serde_json::Value = serde_json::from_slice(
        &std::fs::read(w.path(&format!("lake/_manifest/ingest/{plain_name}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(
        (plain["gzip"].as_bool(), plain["lines_read"].as_u64()),
        (Some(false), Some(1))
    );
    assert_eq!(plain["observed"]["unknown_province_codes"], 0);
    assert_eq!(
        plain["format"], "tencent-cdn",
        "the line format is recorded"
    );
}

/// The same seed in both line shapes: the same requests, and the lake equals the truth.
#[test]
fn both_line_shapes_give_the_generators_totals() {
    let w = Workdir::new();
    let args = [
        "--from",
        "2026-11-18",
        "--days",
        "1",
        "--domains",
        "4",
        "--peak-requests-per-hour",
        "300",
        "--malformed",
        "20",
    ];
    let real = w.generate("real", &args);
    let mut classic_args = args.to_vec();
    classic_args.extend(["--shape", "classic"]);
    let classic = w.generate("classic", &classic_args);
    assert_eq!(expected_totals(&real), expected_totals(&classic));
    assert_eq!(expected_files(&real), expected_files(&classic));
    let a_real_line = first_line(
        &real.join("cdn_logs/date=2026-11-18/2026111820-1500020822.vod2.myqcloud.com-mainland.gz"),
    );
    assert!(
        a_real_line.contains(" GET HTTPS ") || a_real_line.contains(" HTTP/3 "),
        "{a_real_line}"
    );
    assert!(a_real_line.contains('"'), "{a_real_line}");
    for (name, gen) in [("real", &real), ("classic", &classic)] {
        let lake = format!("lake-{name}");
        let run = w
            .run(&["ingest", "--lake", &lake, &format!("{name}/cdn_logs")])
            .ok();
        let files = expected_files(gen);
        let (lines, malformed) = files.values().fold((0, 0), |a, v| (a.0 + v.0, a.1 + v.1));
        let expect = format!(
            "{} lines read = {} parsed + {malformed} rejected",
            cdncost::table::thousands(lines as i128),
            cdncost::table::thousands((lines - malformed) as i128),
        );
        assert!(
            run.stdout().contains(&expect),
            "{name}: want {expect:?} in\n{}",
            run.stdout()
        );
        assert_eq!(lake_totals(&w.path(&lake)), expected_totals(gen), "{name}");
    }
    // The real shape leaves no marker text in the lake.
    let rows = scan_table(&w.path("lake-real"), "cdn_requests")
        .select([
            col("range"),
            col("referer"),
            col("user_agent"),
            col("range_start"),
        ])
        .collect()
        .unwrap();
    for column in ["range", "referer", "user_agent"] {
        assert!(
            strings(&rows, column)
                .iter()
                .flatten()
                .all(|v| !["NULL", "(null)", "-", "\"NULL\""].contains(&v.as_str())),
            "{column}"
        );
    }
    assert!(ints(&rows, "range_start").iter().any(Option::is_some));
}

fn first_line(gz: &std::path::Path) -> String {
    use std::io::BufRead;
    let file = std::fs::File::open(gz).unwrap();
    let mut line = String::new();
    std::io::BufReader::new(flate2::read::MultiGzDecoder::new(file))
        .read_line(&mut line)
        .unwrap();
    line
}

/// `[ingest] max_line_bytes` is the cap the reader applies (it was parsed and ignored).
#[test]
fn max_line_bytes_setting_caps_lines() {
    let w = Workdir::new();
    let agent = "x".repeat(3000);
    let line = format!("20261120000242 1.2.3.4 d.example.com /p?us=wxad-1 10 4 2 200 - 1 \"{agent}\" \"(null)\" GET HTTPS hit 80\n");
    write_gz(&w.path("in/long-2026112000.gz"), line.as_bytes());
    let run = w.run(&["ingest", "--lake", "default", "in"]).ok();
    assert!(
        run.stdout().contains("1 parsed + 0 rejected"),
        "{}",
        run.stdout()
    );
    std::fs::write(w.path("capped.toml"), "[ingest]\nmax_line_bytes = 2048\n").unwrap();
    let run = w
        .run(&[
            "--config",
            "capped.toml",
            "ingest",
            "--lake",
            "capped",
            "in",
        ])
        .ok();
    assert!(
        run.stdout().contains("0 parsed + 1 rejected"),
        "{}",
        run.stdout()
    );
    let rejects = scan_table(&w.path("capped"), "rejects").collect().unwrap();
    assert_eq!(
        strings(&rejects, "reason"),
        vec![Some("line longer than the line-length cap".to_string())]
    );
    assert_eq!(
        ints(&rejects, "line_length"),
        vec![Some(line.len() as i64 - 1)]
    );
}

/// `cdncost … | head`: a reader that went away is a clean exit (status 0, no message),
/// on the `println` paths (summary, ingest) and the bulk-write path (query).
#[test]
fn a_closed_pipe_is_a_clean_exit() {
    let w = Workdir::new();
    w.run(&["ingest", "-q", &sample_logs()]).ok();
    let closed_stdout = |args: &[&str]| {
        // The read end is closed before the command writes anything.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cdncost"))
            .args(args)
            .current_dir(w.dir.path())
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("Broken pipe") && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
    };
    closed_stdout(&["summary"]);
    closed_stdout(&["ingest", "--lake", "lake2", &sample_logs()]);
    closed_stdout(&["query", "--format", "csv", "SELECT * FROM cdn_requests"]);
    closed_stdout(&["query", "--list"]);
}

fn sample_logs() -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sample_data/cdn_logs")
        .display()
        .to_string()
}

/// Hostile shapes: CR-only line ends, two records run together, a request counting more
/// bytes than any request can. Each is its own line or its own reject, never a merged
/// or inflated request; read = parsed + rejected.
#[test]
fn cr_line_ends_merged_records_and_impossible_byte_counts() {
    let w = Workdir::new();
    std::fs::create_dir_all(w.path("in")).unwrap();
    let line = |time: &str, bytes: &str| {
        format!(
            "{time} 1.2.3.4 d.example.com /p?us=wxad-1 {bytes} 4 2 200 - 1 - - GET HTTP/1.1 hit"
        )
    };
    let mut content = String::new();
    // 1-3: old Mac line ends.
    for time in ["20261118120000", "20261118120100", "20261118120200"] {
        content.push_str(&line(time, "100"));
        content.push('\r');
    }
    // 4: two records joined by a lost line end (the first's agent holds the second).
    content.push_str(&line("20261118120300", "7").replace(
        " - - GET",
        " - 20261118120400 1.2.3.5 d.example.com /q?us=douyin-1 9 4 2 200 - 1 - - GET",
    ));
    content.push_str("\r\n");
    // 5: an 18-digit byte count; 6: above the configured cap (1 MB here).
    content.push_str(&line("20261118120500", "123456789012345678"));
    content.push('\n');
    content.push_str(&line("20261118120600", "1000001"));
    content.push('\n');
    write_gz(&w.path("in/hostile-2026111812.gz"), content.as_bytes());
    std::fs::write(
        w.path("cdncost.toml"),
        "[ingest]\nmax_request_bytes = 1000000\n",
    )
    .unwrap();

    let run = w.run(&["ingest", "in"]).ok();
    assert!(
        run.stdout()
            .contains("6 lines read = 3 parsed + 3 rejected"),
        "{}",
        run.stdout()
    );
    assert_eq!(
        lake_totals(&w.path("lake"))
            .values()
            .map(|v| v.1)
            .sum::<u64>(),
        300,
        "only the three plain requests"
    );
    let rejects = scan_table(&w.path("lake"), "rejects")
        .sort(["line_no"], Default::default())
        .collect()
        .unwrap();
    assert_eq!(ints(&rejects, "line_no"), vec![Some(4), Some(5), Some(6)]);
    let reasons = strings(&rejects, "reason");
    assert!(reasons[0]
        .as_deref()
        .unwrap()
        .contains("another record's start"));
    for reason in &reasons[1..] {
        assert_eq!(
            reason.as_deref(),
            Some("bytes above the per-request cap ([ingest] max_request_bytes)")
        );
    }
}

/// A gzip of newlines (100 000 empty lines): refused as mostly rejects, nothing
/// published; allowed by the setting, only `max_rejects_kept` reject rows are written
/// and the rest are counted.
#[test]
fn a_file_of_garbage_is_refused_or_its_rejects_capped() {
    let w = Workdir::new();
    std::fs::create_dir_all(w.path("in")).unwrap();
    write_gz(&w.path("in/newlines-2026111812.gz"), &vec![b'\n'; 100_000]);
    let run = w.run(&["ingest", "in"]);
    assert_ne!(run.code(), 0);
    assert!(
        run.stderr()
            .contains("100000 of its 100000 lines are not CDN log lines (over 50%)"),
        "{}",
        run.stderr()
    );
    assert!(!w.path("lake/rejects").exists(), "nothing published");

    std::fs::write(
        w.path("cdncost.toml"),
        "[ingest]\nmax_reject_percent = 100\nmax_rejects_kept = 10\n",
    )
    .unwrap();
    let run = w.run(&["ingest", "in"]).ok();
    assert!(
        run.stdout()
            .contains("100,000 lines read = 0 parsed + 100,000 rejected")
            || run
                .stdout()
                .contains("100000 lines read = 0 parsed + 100000 rejected"),
        "{}",
        run.stdout()
    );
    let rejects = scan_table(&w.path("lake"), "rejects").collect().unwrap();
    assert_eq!(rejects.height(), 10);
}

/// Zero padding after the last gzip member (which `gzip -t` accepts) is not corruption;
/// other bytes after it are, and nothing of that file is published.
#[test]
fn gzip_zero_padding_is_accepted_and_trailing_junk_is_not() {
    let w = Workdir::new();
    std::fs::create_dir_all(w.path("in")).unwrap();
    let line =
        b"20261118120000 1.2.3.4 d.example.com /p?us=wxad-1 100 4 2 200 - 1 - - GET HTTP/1.1 hit\n";
    write_gz(&w.path("in/padded-2026111812.gz"), line);
    let mut bytes = std::fs::read(w.path("in/padded-2026111812.gz")).unwrap();
    bytes.extend([0u8; 1024]);
    std::fs::write(w.path("in/padded-2026111812.gz"), &bytes).unwrap();
    let run = w.run(&["ingest", "in"]).ok();
    assert!(
        run.stdout()
            .contains("1 lines read = 1 parsed + 0 rejected")
            || run.stdout().contains("1 line read"),
        "{}",
        run.stdout()
    );

    bytes.extend(b"junk");
    std::fs::write(w.path("in/padded-2026111812.gz"), &bytes).unwrap();
    let run = w.run(&["ingest", "in"]);
    assert_ne!(run.code(), 0);
    assert!(
        run.stderr().contains("corrupt or truncated gzip"),
        "{}",
        run.stderr()
    );
}

/// A truncated lake file is found by the report (its size is not the one written): the
/// report reads around it and names it once, its day incomplete; ingesting its source
/// again repairs it.
#[test]
fn a_damaged_lake_file_is_named_and_repaired_by_ingesting_again() {
    let w = Workdir::new();
    let gen = w.generate(
        "gen",
        &[
            "--days",
            "1",
            "--domains",
            "1",
            "--peak-requests-per-hour",
            "50",
        ],
    );
    w.run(&["ingest", "gen/cdn_logs"]).ok();
    // The day compacted (its record lists the request files the report checks).
    w.run(&["rollup"]).ok();
    let parquet = files_below(&w.path("lake/cdn_requests"))
        .into_iter()
        .find(|f| f.ends_with(".parquet"))
        .unwrap();
    let damaged = w.path("lake/cdn_requests").join(&parquet);
    let bytes = std::fs::read(&damaged).unwrap();
    std::fs::write(&damaged, &bytes[..bytes.len() / 2]).unwrap();
    let run = w
        .run(&["report", "--from", "2026-11-18", "--to", "2026-11-18"])
        .expect_code(3);
    let name = damaged.file_name().unwrap().to_string_lossy().to_string();
    assert!(
        run.stderr().contains(&format!(
            "lake file damaged: cdn_requests/{parquet} has {} bytes, {} were written",
            bytes.len() / 2,
            bytes.len()
        )),
        "{}",
        run.stderr()
    );
    assert_eq!(run.stderr().matches(&name).count(), 1, "{}", run.stderr());
    // Its source (the same name, .gz) ingested again: whole again, the report runs.
    let stem = name.trim_end_matches(".parquet");
    let source = files_below(&gen.join("cdn_logs"))
        .into_iter()
        .find(|f| f.contains(stem))
        .unwrap();
    let source = gen.join("cdn_logs").join(source);
    w.run(&["ingest", source.to_str().unwrap()]).ok();
    // (Status 3: logs ingested by hand have no listing to prove their day whole.)
    let run = w
        .run(&["report", "--from", "2026-11-18", "--to", "2026-11-18"])
        .expect_code(3);
    assert!(!run.stderr().contains("damaged"), "{}", run.stderr());
    assert_eq!(lake_totals(&w.path("lake")), expected_totals(&gen));
}

/// A file where a directory must be (the lake, the report): the error says which path
/// and why, once; the file is left as it was.
#[test]
fn a_file_in_place_of_a_directory_is_named_once_and_left_alone() {
    let w = Workdir::new();
    w.generate(
        "gen",
        &[
            "--days",
            "1",
            "--domains",
            "1",
            "--peak-requests-per-hour",
            "20",
        ],
    );
    std::fs::write(w.path("afile"), b"mine").unwrap();
    let run = w
        .run(&["ingest", "gen/cdn_logs", "--lake", "afile"])
        .expect_code(1);
    assert_eq!(
        run.stderr().trim(),
        "error: the lake: afile is a file, not a directory: a directory is needed there"
    );
    let run = w
        .run(&["ingest", "gen/cdn_logs", "--lake", "afile/lake"])
        .expect_code(1);
    assert_eq!(
        run.stderr().matches("is a file, not a directory").count(),
        1,
        "{}",
        run.stderr()
    );
    assert!(
        run.stderr().contains("afile/lake cannot be made below it"),
        "{}",
        run.stderr()
    );

    w.run(&["ingest", "gen/cdn_logs"]).ok();
    let run = w
        .run(&[
            "report",
            "--from",
            "2026-11-18",
            "--to",
            "2026-11-18",
            "--out",
            "afile",
        ])
        .expect_code(1);
    assert!(
        run.stderr().contains(
            "error: afile is a file, not a directory: the report is a directory of files"
        ),
        "{}",
        run.stderr()
    );
    assert_eq!(std::fs::read(w.path("afile")).unwrap(), b"mine");
    let hidden: Vec<String> = std::fs::read_dir(w.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".afile"))
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");
}

/// A URL cdncost does not know given as the lake (on the command line or in the config)
/// is refused with its scheme named, and nothing is written: taken as a path it used to
/// become a local directory named `oss:`. A malformed `s3://` is refused the same way.
#[test]
fn a_url_lake_is_refused_not_made_a_directory() {
    let w = Workdir::new();
    let gen = w.generate(
        "gen",
        &[
            "--days",
            "1",
            "--domains",
            "1",
            "--peak-requests-per-hour",
            "20",
        ],
    );
    let logs = gen.join("cdn_logs");
    let run = w
        .run(&[
            "--lake",
            "gs://studio-lake/lake",
            "ingest",
            logs.to_str().unwrap(),
        ])
        .expect_code(1);
    assert!(
        run.stderr()
            .contains("lake gs://studio-lake/lake: gs:// is not a lake location cdncost knows"),
        "{}",
        run.stderr()
    );
    std::fs::write(w.path("oss.toml"), "lake = \"oss://bucket/prefix\"\n").unwrap();
    let run = w.run(&["--config", "oss.toml", "summary"]).expect_code(1);
    assert!(
        run.stderr()
            .contains("lake oss://bucket/prefix: oss:// is not a lake location cdncost knows"),
        "{}",
        run.stderr()
    );
    let run = w
        .run(&["--lake", "s3://Bad_Bucket/../x", "summary"])
        .expect_code(1);
    assert!(
        run.stderr().contains("expected s3://bucket/prefix"),
        "{}",
        run.stderr()
    );
    assert!(!w.path("gs:").exists() && !w.path("oss:").exists() && !w.path("s3:").exists());
    assert!(!w.path("lake").exists(), "nothing was written");
}

/// stderr's reader gone (`cdncost ingest … 2>&1 | head -1`, a log shipper that died):
/// the log lines are dropped and the run goes on. It used to panic (exit 101) at the
/// first line written after, mid-file, leaving that file and the rest unread.
#[test]
fn a_closed_stderr_does_not_stop_an_ingest() {
    let w = Workdir::new();
    let gen = w.generate(
        "gen",
        &[
            "--days",
            "1",
            "--domains",
            "2",
            "--peak-requests-per-hour",
            "50",
        ],
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cdncost"))
        .args(["ingest", "--jobs", "1", "gen"])
        .current_dir(w.path(""))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Close the only reader before the first per-file line is written.
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    assert_eq!(lake_totals(&w.path("lake")), expected_totals(&gen));
}
