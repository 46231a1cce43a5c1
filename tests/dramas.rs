//! Per-drama attribution end to end: the catalogue fetched over HTTP from the loopback
//! WeChat server in pages, requests matched to dramas by path prefix, costs split to the
//! fen, a catalogue broken mid-paging, a media taken down.

mod common;

use std::collections::BTreeMap;

use cdncost::generator::catalogue;
use cdncost::platforms::wechat::server::Logged;
use common::servers::*;
use common::*;
use polars::prelude::*;

const RUN: &[&str] = &["run", "--date", DAY2, "--lookback", "1"];
const PRICED: &str = "[prices]\nwechat_cny_per_gb = 0.2\npolyv_cny_per_gb = 0.12\n";

fn fen(v: &str) -> i64 {
    let (units, cents) = v.split_once('.').unwrap_or((v, "0"));
    units.parse::<i64>().unwrap() * 100 + format!("{cents:0<2}").parse::<i64>().unwrap()
}

/// (date, drama, channel) → (requests, bytes), counted here from the lake's request rows
/// (the log lines as parsed) and the catalogue the server serves: what was listed (and
/// not since taken down, unless `known_before`) names its drama, the rest is unmatched.
fn expected_by_drama(
    lake: &std::path::Path,
    known_before: &[i64],
    taken_down: &[i64],
) -> BTreeMap<(String, String, String), (i64, i64)> {
    let names: BTreeMap<String, String> = catalogue::media()
        .into_iter()
        .filter(|m| !m.deleted)
        .filter(|m| !taken_down.contains(&m.media_id) || known_before.contains(&m.media_id))
        .map(|m| (m.path_prefix(), m.drama_name.clone()))
        .collect();
    let rows = scan_table(lake, "cdn_requests")
        .select([
            col("date").cast(DataType::String),
            col("channel").fill_null(lit("(untagged)")),
            col("path"),
            col("bytes"),
        ])
        .collect()
        .unwrap();
    let strings = |n: &str| rows.column(n).unwrap().str().unwrap().clone();
    let (dates, channels, paths) = (strings("date"), strings("channel"), strings("path"));
    let bytes = rows.column("bytes").unwrap().i64().unwrap().clone();
    let mut out: BTreeMap<(String, String, String), (i64, i64)> = BTreeMap::new();
    for i in 0..rows.height() {
        let path = paths.get(i).unwrap();
        let dir = &path[..=path.rfind('/').unwrap()];
        let drama = names.get(dir).cloned().unwrap_or("(unmatched)".into());
        let key = (
            dates.get(i).unwrap().to_string(),
            drama,
            channels.get(i).unwrap().to_string(),
        );
        let e = out.entry(key).or_default();
        e.0 += 1;
        e.1 += bytes.get(i).unwrap();
    }
    out
}

/// The same counts made from the log files' own lines (sample_data, gunzipped here): the
/// date from field 1, the directory and the `us` tag from field 4, bytes from field 5;
/// the lines the lake's `rejects` table lists (file and line number) are left out.
fn expected_from_log_lines(
    data: &std::path::Path,
    lake: &std::path::Path,
) -> BTreeMap<(String, String, String), (i64, i64)> {
    use std::io::Read;
    let rejects = scan_table(lake, "rejects")
        .select([col("source_file"), col("line_no")])
        .collect()
        .unwrap();
    let files = rejects
        .column("source_file")
        .unwrap()
        .str()
        .unwrap()
        .clone();
    let numbers = rejects.column("line_no").unwrap().i64().unwrap().clone();
    let rejected: std::collections::BTreeSet<(String, i64)> = (0..rejects.height())
        .map(|i| (files.get(i).unwrap().to_string(), numbers.get(i).unwrap()))
        .collect();
    let names: BTreeMap<String, String> = catalogue::media()
        .into_iter()
        .filter(|m| !m.deleted)
        .map(|m| (m.path_prefix(), m.drama_name.clone()))
        .collect();
    let mut out: BTreeMap<(String, String, String), (i64, i64)> = BTreeMap::new();
    for file in files_below(&data.join("cdn_logs")) {
        let mut text = Vec::new();
        let gz = std::fs::File::open(data.join("cdn_logs").join(&file)).unwrap();
        flate2::read::MultiGzDecoder::new(gz)
            .read_to_end(&mut text)
            .unwrap();
        let name = std::path::Path::new(&file)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        let stem = name.trim_end_matches(".gz");
        let lines = text
            .strip_suffix(b"\n")
            .unwrap_or(&text)
            .split(|b| *b == b'\n');
        for (i, line) in lines.enumerate() {
            let rejected_here = rejected
                .iter()
                .any(|(f, n)| f.contains(stem) && *n == i as i64 + 1);
            if rejected_here {
                continue;
            }
            let line = String::from_utf8_lossy(line.strip_suffix(b"\r").unwrap_or(line));
            let fields: Vec<&str> = line.split(' ').collect();
            let date = format!(
                "{}-{}-{}",
                &fields[0][..4],
                &fields[0][4..6],
                &fields[0][6..8]
            );
            let (path, query) = fields[3].split_once('?').unwrap_or((fields[3], ""));
            let dir = &path[..=path.rfind('/').unwrap()];
            let us = query.split('&').find_map(|p| p.strip_prefix("us="));
            let decoded = us.map(percent_decode).unwrap_or_default();
            let channel = match decoded.rsplit_once('-') {
                Some((channel, _)) if !channel.is_empty() => channel.to_string(),
                _ => "(untagged)".to_string(),
            };
            let drama = names.get(dir).cloned().unwrap_or("(unmatched)".into());
            let e = out.entry((date, drama, channel)).or_default();
            e.0 += 1;
            e.1 += fields[4].parse::<i64>().unwrap();
        }
    }
    out
}

fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&raw[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// drama_daily's WeChat side: (date, drama, channel) → (requests, log bytes), rows with
/// requests only (Polyv rows have none).
fn reported_by_drama(s: &Servers) -> BTreeMap<(String, String, String), (i64, i64)> {
    let rows = csv_rows(&std::fs::read(s.w.path("out/drama_daily.csv")).unwrap());
    rows.iter()
        .filter(|r| r["requests"] != "0")
        .map(|r| {
            (
                (
                    r["date"].clone(),
                    r["drama_name"].clone(),
                    r["channel"].clone(),
                ),
                (
                    r["requests"].parse().unwrap(),
                    r["log_bytes"].parse().unwrap(),
                ),
            )
        })
        .collect()
}

/// Σ cost per (date, channel) of a report table, in fen.
fn cost_by_day_channel(s: &Servers, file: &str, column: &str) -> BTreeMap<(String, String), i64> {
    let mut out = BTreeMap::new();
    for r in csv_rows(&std::fs::read(s.w.path("out").join(file)).unwrap()) {
        if !r[column].is_empty() {
            *out.entry((r["date"].clone(), r["channel"].clone()))
                .or_default() += fen(&r[column]);
        }
    }
    out
}

#[test]
fn dramas_are_attributed_by_path_prefix_and_add_up_to_the_channels() {
    let s = start(PRICED);
    let fetched = s.cdncost(&["fetch", "media"]).ok();
    assert!(
        fetched.stdout().contains("40 dramas, 2395 media listed"),
        "{}",
        fetched.stdout()
    );
    let pages = s
        .wechat
        .requests()
        .iter()
        .filter(|r| matches!(r, Logged::Api { name, .. } if name == "listmedia"))
        .count();
    assert_eq!(pages, 24, "2395 media in pages of 100");

    s.cdncost(RUN).ok();
    let lake = s.w.path("lake");
    let expected = expected_by_drama(&lake, &[], &[]);
    assert_eq!(reported_by_drama(&s), expected);
    assert_eq!(
        expected_from_log_lines(&sample(), &lake),
        expected,
        "the lake's rows are the log files' lines"
    );
    assert!(
        expected.keys().any(|k| k.1 == "(unmatched)"),
        "the deleted media's traffic is unmatched, and shown"
    );
    // Σ drama costs = Σ channel costs, per day and channel, to the fen.
    assert_eq!(
        cost_by_day_channel(&s, "drama_daily.csv", "cost_cny"),
        cost_by_day_channel(&s, "channel_daily.csv", "total_cost_cny")
    );
    // Episodes: the same requests, by media.
    let episodes = csv_rows(&std::fs::read(s.w.path("out/episode_daily.csv")).unwrap());
    let requests: i64 = episodes
        .iter()
        .map(|r| r["requests"].parse::<i64>().unwrap())
        .sum();
    assert_eq!(requests, expected.values().map(|v| v.0).sum::<i64>());

    // No temporary link, signature or token left anything behind.
    for file in files_below(s.w.dir.path()) {
        let bytes = std::fs::read(s.w.dir.path().join(&file)).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for needle in ["us=studio-", "v.f1419.m3u8", "cover.jpg", "access_token"] {
            assert!(!text.contains(needle), "{needle} in {file}");
        }
        if file.starts_with("lake/media") || file.contains("_manifest/media") {
            assert!(!text.contains("sign="), "sign= in {file}");
        }
    }
}

#[test]
fn a_catalogue_broken_mid_paging_keeps_the_last_and_a_taken_down_media_keeps_its_drama() {
    let s = start(PRICED);
    s.cdncost(RUN).ok();
    let media = s.w.path("lake/media/media.parquet");
    let before = std::fs::read(&media).unwrap();

    // The busiest media of the sample is taken down, and the listing breaks at page 13.
    let lake = s.w.path("lake");
    let busiest = busiest_media(&lake);
    {
        let mut faults = s.wechat.faults();
        faults.taken_down = vec![busiest];
        faults.listmedia_fails_at_offset = Some(1200);
    }
    let run = s.cdncost(RUN).expect_code(3);
    assert!(
        run.stdout()
            .contains("media: the catalogue could not be fetched")
            && run.stdout().contains("47003"),
        "{}",
        run.stdout()
    );
    assert_eq!(
        std::fs::read(&media).unwrap(),
        before,
        "the last catalogue is kept"
    );
    assert_eq!(reported_by_drama(&s), expected_by_drama(&lake, &[], &[]));

    s.wechat.faults().listmedia_fails_at_offset = None;
    let rerun = s.cdncost(RUN).ok();
    assert!(
        rerun.stdout().contains("2394 media listed"),
        "{}",
        rerun.stdout()
    );
    // Listed no more, but known from before: its traffic keeps its drama (from the
    // latest listing alone, it would be unmatched).
    assert_eq!(
        reported_by_drama(&s),
        expected_by_drama(&lake, &[busiest], &[busiest])
    );
    assert_ne!(
        reported_by_drama(&s),
        expected_by_drama(&lake, &[], &[busiest])
    );
    let history = scan_table(&lake, "media_history")
        .filter(col("media_id").eq(lit(busiest)))
        .collect()
        .unwrap();
    assert_eq!(history.height(), 1);
    assert_eq!(
        history.column("listed").unwrap().bool().unwrap().get(0),
        Some(false)
    );
}

/// The media with the most requests in the lake.
fn busiest_media(lake: &std::path::Path) -> i64 {
    let by_prefix: BTreeMap<String, i64> = catalogue::media()
        .into_iter()
        .filter(|m| !m.deleted)
        .map(|m| (m.path_prefix(), m.media_id))
        .collect();
    let paths = scan_table(lake, "cdn_requests")
        .select([col("path")])
        .collect()
        .unwrap();
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    for path in paths
        .column("path")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
    {
        if let Some(id) = by_prefix.get(&path[..=path.rfind('/').unwrap()]) {
            *counts.entry(*id).or_default() += 1;
        }
    }
    counts.into_iter().max_by_key(|(_, n)| *n).unwrap().0
}

/// `[media] mapping` names what the catalogue does not know (a deleted media) and
/// leaves what it knows alone; a bad line is an error naming the file and the line.
#[test]
fn the_mapping_file_fills_gaps_only() {
    let all = catalogue::media();
    let deleted = all.iter().find(|m| m.deleted).unwrap();
    let listed = all.iter().find(|m| !m.deleted).unwrap();
    let s = start(&format!("{PRICED}[media]\nmapping = \"dramas.csv\"\n"));
    std::fs::write(
        s.w.path("dramas.csv"),
        format!(
            "path_prefix,drama_name\n{},手工命名的剧\n{},不该覆盖\n",
            deleted.path_prefix(),
            listed.path_prefix()
        ),
    )
    .unwrap();
    s.cdncost(RUN).ok();
    let episodes = csv_rows(&std::fs::read(s.w.path("out/episode_daily.csv")).unwrap());
    assert!(episodes.iter().any(|r| r["drama_name"] == "手工命名的剧"));
    assert!(episodes.iter().all(|r| r["drama_name"] != "不该覆盖"));
    assert!(episodes
        .iter()
        .any(|r| r["media_id"] == listed.media_id.to_string()
            && r["drama_name"] == listed.drama_name));

    std::fs::write(
        s.w.path("dramas.csv"),
        "path_prefix,drama_name\nno-slash,剧\n",
    )
    .unwrap();
    let run = s.report(&[]).expect_code(1);
    assert!(
        run.stderr().contains(
            "drama mapping dramas.csv, line 2: 'no-slash' does not start and end with '/'"
        ),
        "{}",
        run.stderr()
    );
}

/// The Polyv mapping file's optional `drama` column names a video's drama; videos
/// without it are named by their titles ("剧目名 - 第 N 集").
#[test]
fn polyv_videos_join_the_drama_their_mapping_or_title_names() {
    let s = start(PRICED);
    let videos = std::fs::read_to_string(sample().join("polyv/videos.csv")).unwrap();
    let mut lines = videos.lines();
    let mut with_drama = format!("{},drama\n", lines.next().unwrap());
    for line in lines {
        let drama = if line.starts_with("9c0d77f3e1_1,") {
            "预告合集"
        } else {
            ""
        };
        with_drama.push_str(&format!("{line},{drama}\n"));
    }
    std::fs::write(s.w.path("videos.csv"), with_drama).unwrap();
    let toml = std::fs::read_to_string(s.w.path("cdncost.toml")).unwrap();
    let toml: String = toml
        .lines()
        .map(|l| {
            if l.starts_with("videos = ") {
                "videos = \"videos.csv\"".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(s.w.path("cdncost.toml"), toml).unwrap();
    s.cdncost(RUN).ok();
    let daily = csv_rows(&std::fs::read(s.w.path("out/drama_daily.csv")).unwrap());
    let polyv_dramas: std::collections::BTreeSet<(String, String)> = daily
        .iter()
        .filter(|r| r["requests"] == "0" && r["drama_id"].is_empty())
        .map(|r| (r["drama_name"].clone(), r["channel"].clone()))
        .collect();
    assert!(
        polyv_dramas.contains(&("预告合集".into(), "polyv".into())),
        "{polyv_dramas:?}"
    );
    assert!(polyv_dramas.contains(&("重生之我在短剧当总裁".into(), "wxad".into())));
    assert!(!polyv_dramas.iter().any(|d| d.0 == "Trailer, season 2"));
}
