//! Realistic synthetic CDN logs, with their ground truth.
//!
//! One generator makes the bundled `sample_data/`, the test fixtures and the benchmark's
//! gigabytes, so all three exercise the same shapes: hourly gzip files per domain, a
//! diurnal load curve, weighted channels (one of them Chinese and percent-encoded),
//! untagged traffic, IPv6 and a few malformed lines, in one of two line shapes:
//! - [`LogShape::Real`] (the default): what published Tencent CDN lines look like
//!   (DOMAIN.md §2): quoted agent and range, `"(null)"` range, `NULL` referer and
//!   `"NULL"` agent, ranges without `bytes=`, `HTTPS`, lowercase cache, 16 fields;
//! - [`LogShape::Classic`]: the documented illustrative shape: unquoted or quoted agents,
//!   `-` markers, `bytes=` ranges, 15- and 16-field lines, two time formats, mixed case.
//!
//! The shape only changes how a request is written, never which requests there are:
//! the main random stream draws the same values in both shapes, and the choices only the
//! real shape makes come from a second stream. So one seed gives the same ground truth
//! (requests, bytes, channels) in both shapes.
//!
//! Beside the logs it writes what it generated, counted independently of the parser:
//! `expected_totals.csv` (requests and bytes per China day × channel) and
//! `expected_files.csv` (lines and malformed lines per file). Tests compare the lake
//! against these. Output is a pure function of the spec and seed.

pub mod catalogue;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::china_time;

#[derive(Debug, Clone)]
pub struct LogSpec {
    pub start: NaiveDate,
    pub days: u32,
    pub domains: usize,
    /// Requests in the busiest hour of one domain; other hours follow a diurnal curve.
    pub peak_requests_per_hour: u64,
    /// Malformed lines in all, spread evenly over the files.
    pub malformed_lines: u32,
    pub seed: u64,
    pub gzip_level: u32,
    pub shape: LogShape,
}

/// How request lines are written (see the module header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogShape {
    /// Published Tencent CDN lines: quoted agent and range, `(null)`/`NULL` markers, HTTPS.
    #[default]
    Real,
    /// The documented illustrative lines: `-` markers, `bytes=` ranges, 15/16 fields.
    Classic,
}

pub const DOMAINS: &[&str] = &[
    "1500020822.vod2.myqcloud.com",
    "1500020822.vod-qcloud.com",
    "wxvod-cdn.example-drama.cn",
    "1500020822.vod2.cdn-cn-2.myqcloud.com",
];

/// (developer tag as it appears in the URL, decoded channel, weight)
const CHANNELS: &[(&str, &str, u32)] = &[
    ("wxad", "wxad", 30),
    ("baidu-feed", "baidu-feed", 16),
    ("douyin", "douyin", 14),
    ("kuaishou", "kuaishou", 9),
    ("toutiao-cpc", "toutiao-cpc", 7),
    ("%E5%B0%8F%E7%BA%A2%E4%B9%A6", "小红书", 4),
    ("oppo-store", "oppo-store", 3),
    ("weibo", "weibo", 2),
];
/// Share of requests with no `us` at all, and with a platform-only `us` (no `-`), in %.
/// The label of untagged traffic in the ground truth: the lake's `UNTAGGED`, spelt here
/// so that the generator, below the lake, does not import it (`tests/architecture.rs`
/// checks the two are the same).
pub const UNTAGGED: &str = "(untagged)";

const UNTAGGED_PCT: u64 = 12;
const PLATFORM_ONLY_PCT: u64 = 3;

/// Load per China hour of day, relative to the peak (mini-drama viewing peaks at night).
const DIURNAL: [u32; 24] = [
    55, 38, 24, 15, 10, 9, 12, 22, 35, 42, 46, 50, 58, 54, 50, 52, 58, 64, 74, 86, 95, 100, 92, 76,
];

const PROVINCES: &[(i32, u32)] = &[
    (4, 14),
    (1068, 7),
    (122, 7),
    (182, 7),
    (120, 7),
    (1442, 6),
    (1135, 5),
    (1466, 5),
    (1069, 5),
    (2, 4),
    (173, 4),
    (121, 4),
    (1051, 3),
    (153, 3),
    (1465, 3),
    (152, 3),
    (118, 3),
    (22, 3),
    (1050, 3),
    (1464, 2),
    (146, 2),
    (1177, 1),
    (86, 1),
    (145, 1),
    (1445, 1),
    (1208, 1),
    (1441, 1),
    (119, 1),
    (1467, 1),
    (1468, 1),
    (1155, 1),
    (0, 1),
    (1, 1),
    (-1, 1),
];
const UNKNOWN_PROVINCE: i32 = 9001;
const ISPS: &[(i32, u32)] = &[
    (1046, 42),
    (2, 30),
    (26, 22),
    (38, 2),
    (43, 1),
    (3947, 1),
    (0, 1),
    (-1, 1),
];

const AGENTS: &[&str] = &[
    "AppleCoreMedia/1.0.0.21E236 (iPhone; U; CPU OS 17_4 like Mac OS X; zh_cn)",
    "\"Mozilla/5.0 (Linux; Android 14; V2307A Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 MMWEBSDK/20231202 MicroMessenger/8.0.49.2600(0x28003133) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64 MiniProgramEnv/android\"",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/4G Language/zh_CN",
    "\"Lavf/60.3.100\"",
    "okhttp/4.9.2",
    "-",
];

const MINI_PROGRAMS: &[&str] = &[
    "wx1234567890abcdef",
    "wx9f8e7d6c5b4a3921",
    "wx0a1b2c3d4e5f6789",
];

/// A small, fast, deterministic PRNG (SplitMix64): the generator must give the same
/// bytes for the same seed on every machine, and pulls no crate in for that.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        ((self.next() >> 32) * n) >> 32
    }

    fn pct(&mut self, p: u64) -> bool {
        self.below(100) < p
    }

    fn weighted<T: Copy>(&mut self, table: &[(T, u32)]) -> T {
        let total: u32 = table.iter().map(|e| e.1).sum();
        let mut pick = self.below(total as u64) as u32;
        for &(value, weight) in table {
            if pick < weight {
                return value;
            }
            pick -= weight;
        }
        table[table.len() - 1].0
    }
}

/// One hourly file to generate.
#[derive(Debug, Clone)]
struct HourFile {
    date: NaiveDate,
    hour: u32,
    domain_index: usize,
}

impl HourFile {
    fn name(&self) -> String {
        format!(
            "{}{:02}-{}-mainland.gz",
            self.date.format("%Y%m%d"),
            self.hour,
            DOMAINS[self.domain_index % DOMAINS.len()]
        )
    }
}

#[derive(Default)]
struct Truth {
    /// (date, channel) → (requests, bytes)
    totals: BTreeMap<(String, String), (u64, u64)>,
    /// file name → (lines, malformed lines)
    files: BTreeMap<String, (u64, u64)>,
    /// 5-minute bucket start (unix s) → log bytes
    buckets: BTreeMap<i64, u64>,
}

/// Generates the logs of `spec` under `out/cdn_logs/date=YYYY-MM-DD/`, with the expected
/// totals beside them. Uses `jobs` threads. Returns the paths of the log files.
pub fn generate_logs(spec: &LogSpec, out: &Path, jobs: usize) -> Result<Vec<PathBuf>> {
    let mut work = Vec::new();
    for d in 0..spec.days {
        let date = spec.start + chrono::Days::new(d as u64);
        for hour in 0..24 {
            for domain_index in 0..spec.domains {
                work.push(HourFile {
                    date,
                    hour,
                    domain_index,
                });
            }
        }
    }
    let truth = Mutex::new(Truth::default());
    let paths = Mutex::new(Vec::new());
    let next = AtomicUsize::new(0);
    let failure = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(file) = work.get(i) else { break };
                let n = work.len() as u64;
                let m = spec.malformed_lines as u64;
                let malformed = ((i as u64 + 1) * m / n - i as u64 * m / n) as u32;
                match write_hour_file(spec, file, out, i as u64, malformed) {
                    Ok((path, local)) => {
                        merge(&mut truth.lock().unwrap(), local);
                        paths.lock().unwrap().push(path);
                    }
                    Err(e) => {
                        *failure.lock().unwrap() = Some(e);
                        break;
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().unwrap() {
        return Err(e);
    }
    write_truth(&truth.into_inner().unwrap(), out)?;
    let mut paths = paths.into_inner().unwrap();
    paths.sort();
    Ok(paths)
}

fn merge(into: &mut Truth, local: Truth) {
    for (key, (r, b)) in local.totals {
        let entry = into.totals.entry(key).or_default();
        entry.0 += r;
        entry.1 += b;
    }
    into.files.extend(local.files);
    for (bucket, bytes) in local.buckets {
        *into.buckets.entry(bucket).or_default() += bytes;
    }
}

fn write_truth(truth: &Truth, out: &Path) -> Result<()> {
    let mut totals = String::from("date,channel,requests,bytes\n");
    for ((date, channel), (requests, bytes)) in &truth.totals {
        writeln!(totals, "{date},{channel},{requests},{bytes}").unwrap();
    }
    fs::write(out.join("expected_totals.csv"), totals)?;
    let mut files = String::from("file,lines,malformed\n");
    for (name, (lines, malformed)) in &truth.files {
        writeln!(files, "{name},{lines},{malformed}").unwrap();
    }
    fs::write(out.join("expected_files.csv"), files)?;
    // The billed usage series: the platform bills about 110% of log bytes (DOMAIN.md);
    // a deterministic ±2% wobble per bucket keeps reconciliation honest.
    let mut usage = String::from("time,bytes\n");
    for (bucket, bytes) in &truth.buckets {
        let wobble = (bucket / 300).wrapping_mul(2_654_435_761).rem_euclid(41) - 20;
        let billed = *bytes as i128 * (1100 + wobble as i128) / 1000;
        writeln!(usage, "{bucket},{billed}").unwrap();
    }
    fs::write(out.join("cdn_usage.csv"), usage)?;
    Ok(())
}

fn write_hour_file(
    spec: &LogSpec,
    file: &HourFile,
    out: &Path,
    index: u64,
    malformed_count: u32,
) -> Result<(PathBuf, Truth)> {
    let dir = out.join("cdn_logs").join(format!("date={}", file.date));
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = file.name();
    let path = dir.join(&name);
    let mut rng = Rng(spec.seed ^ index.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0x5EED);

    let domain_weight = [100, 60, 35, 20][file.domain_index % 4] as u64;
    let requests =
        spec.peak_requests_per_hour * DIURNAL[file.hour as usize] as u64 * domain_weight / 10_000;
    let hour_start_ms = (china_time::day_start_unix(file.date) + file.hour as i64 * 3600) * 1000;
    let mut offsets: Vec<u32> = (0..requests).map(|_| rng.below(3_600_000) as u32).collect();
    offsets.sort_unstable();

    let style = FileStyle::of(file.domain_index, spec.shape);
    let mut style_rng = Rng(spec.seed ^ index.wrapping_mul(0x9E37_79B9) ^ 0x57_11E5);
    let mut malformed_at: Vec<u64> = (0..malformed_count)
        .map(|_| rng.below(requests + 1))
        .collect();
    malformed_at.sort_unstable();

    let mut truth = Truth::default();
    let encoder = GzEncoder::new(fs::File::create(&path)?, Compression::new(spec.gzip_level));
    let mut gz = std::io::BufWriter::with_capacity(1 << 20, encoder);
    let mut line = String::with_capacity(1024);
    let mut malformed = malformed_at.iter().peekable();
    let mut lines = 0u64;
    let date = file.date.to_string();
    for (i, offset) in offsets.iter().enumerate() {
        while malformed.next_if(|at| **at == i as u64).is_some() {
            line.clear();
            malformed_line(&mut rng, &mut line, &mut gz)?;
            lines += 1;
        }
        line.clear();
        let (channel, bytes) = request_line(
            &mut rng,
            &mut style_rng,
            &mut line,
            &style,
            file,
            hour_start_ms + *offset as i64,
        );
        gz.write_all(line.as_bytes())?;
        lines += 1;
        let entry = truth
            .totals
            .entry((date.clone(), channel.to_string()))
            .or_default();
        entry.0 += 1;
        entry.1 += bytes;
        let second = (hour_start_ms + *offset as i64) / 1000;
        *truth
            .buckets
            .entry(second - second.rem_euclid(300))
            .or_default() += bytes;
    }
    for _ in malformed {
        line.clear();
        malformed_line(&mut rng, &mut line, &mut gz)?;
        lines += 1;
    }
    gz.into_inner()
        .map_err(|e| e.into_error())?
        .finish()?
        .sync_all()?;
    truth.files.insert(name, (lines, malformed_count as u64));
    Ok((path, truth))
}

/// Per-domain habits, so one run exercises every variant the parser accepts.
struct FileStyle {
    shape: LogShape,
    unix_seconds: bool,
    /// Whether the classic shape writes a port (the real shape always does); the main
    /// random stream draws the port only where the classic shape writes one.
    classic_port: bool,
    crlf: bool,
}

impl FileStyle {
    fn of(domain_index: usize, shape: LogShape) -> Self {
        FileStyle {
            shape,
            unix_seconds: shape == LogShape::Classic && domain_index % 4 == 2,
            classic_port: domain_index.is_multiple_of(2),
            crlf: domain_index % 4 == 3,
        }
    }

    fn real(&self) -> bool {
        self.shape == LogShape::Real
    }
}

/// Appends one request line; returns its channel label and bytes.
fn request_line(
    rng: &mut Rng,
    style_rng: &mut Rng,
    out: &mut String,
    style: &FileStyle,
    file: &HourFile,
    ts_ms: i64,
) -> (&'static str, u64) {
    if style.unix_seconds {
        write!(out, "{}", ts_ms / 1000).unwrap();
    } else {
        let t = china_time::to_china(ts_ms / 1000);
        write!(out, "{}", t.format("%Y%m%d%H%M%S")).unwrap();
    }
    out.push(' ');
    if rng.pct(18) {
        write!(
            out,
            "240e:{:x}:{:x}::{:x}",
            rng.below(0xfff),
            rng.below(0xffff),
            rng.below(0xffff)
        )
        .unwrap();
    } else {
        let first = [36, 101, 112, 117, 183, 223, 39, 120][rng.below(8) as usize];
        write!(
            out,
            "{first}.{}.{}.{}",
            rng.below(256),
            rng.below(256),
            1 + rng.below(254)
        )
        .unwrap();
    }
    write!(out, " {} ", DOMAINS[file.domain_index % DOMAINS.len()]).unwrap();

    // The drama, episode and rendition (the catalogue names them).
    let drama = rng.below(catalogue::DRAMAS);
    let segment = rng.pct(55);
    write!(
        out,
        "/{}/{:019}/",
        catalogue::SUB_APP_DIR,
        catalogue::file_id(drama, rng.below(catalogue::EPISODES))
    )
    .unwrap();
    if segment {
        write!(out, "v.f1419-{}.ts", rng.below(180)).unwrap();
    } else {
        write!(
            out,
            "v.f{}.mp4",
            [100030, 100830, 100040][rng.below(3) as usize]
        )
        .unwrap();
    }

    let tag = pick_channel(rng);
    let t = format!("t={:08x}", 0x6aff_0000u64 + rng.below(0xffff));
    let sign = format!("sign={:016x}{:016x}", rng.next(), rng.next());
    let us = match tag {
        ChannelPick::Tagged(url_tag, _) => Some(format!(
            "us={url_tag}-{:012x}{:012x}",
            rng.next() >> 16,
            rng.next() >> 16
        )),
        ChannelPick::PlatformOnly => Some(format!(
            "us={:012x}{:012x}",
            rng.next() >> 16,
            rng.next() >> 16
        )),
        ChannelPick::NoUs => None,
    };
    out.push('?');
    let mut params: Vec<String> = vec![t, sign];
    if let Some(us) = us {
        let at = rng.below(3) as usize;
        params.insert(at.min(params.len()), us);
    }
    if rng.pct(10) {
        params.push("exper=0".into());
    }
    if rng.pct(5) {
        params.push("rlimit=2048".into());
    }
    out.push_str(&params.join("&"));

    let status = [(200, 58), (206, 34), (304, 4), (404, 2), (403, 1), (502, 1)];
    let status = rng.weighted(&status);
    let bytes = match status {
        200 if segment => 150_000 + rng.below(1_400_000),
        200 => 400_000 + rng.below(4_600_000),
        206 => 65_536 + rng.below(2_000_000),
        304 => 280 + rng.below(60),
        _ => 400 + rng.below(300),
    };
    let province = if rng.below(1000) == 0 {
        UNKNOWN_PROVINCE
    } else {
        rng.weighted(PROVINCES)
    };
    write!(out, " {bytes} {province} {} {status} ", rng.weighted(ISPS)).unwrap();
    if rng.pct(70) {
        // A studio runs a few mini-programs, each in a handful of live versions.
        let app = MINI_PROGRAMS[rng.below(MINI_PROGRAMS.len() as u64) as usize];
        write!(
            out,
            "https://servicewechat.com/{app}/{}/page-frame.html",
            30 + rng.below(6)
        )
        .unwrap();
    } else if style.real() && style_rng.pct(80) {
        out.push_str("NULL");
    } else {
        out.push('-');
    }
    write!(out, " {} ", 1 + rng.below(2500)).unwrap();
    let agent = AGENTS[rng.below(AGENTS.len() as u64) as usize];
    if style.real() {
        // Always quoted; an absent agent is "NULL" as in old files, or "-".
        match agent.trim_matches('"') {
            "-" if style_rng.pct(50) => out.push_str("\"NULL\""),
            bare => write!(out, "\"{bare}\"").unwrap(),
        }
    } else {
        out.push_str(agent);
    }
    out.push(' ');
    match (status == 206, style.real()) {
        (true, real) => {
            let from = rng.below(4_000_000);
            let to = from + bytes - 1;
            if real {
                write!(out, "\"{from}-{to}\"").unwrap();
            } else {
                write!(out, "bytes={from}-{to}").unwrap();
            }
        }
        (false, true) => out.push_str("\"(null)\""),
        (false, false) => out.push('-'),
    }
    let method = if rng.below(200) == 0 { "HEAD" } else { "GET" };
    let protocols = if style.real() {
        ["HTTPS", "HTTPS", "HTTP/3"]
    } else {
        ["HTTP/1.1", "HTTP/2.0", "HTTP/3"]
    };
    let protocol = protocols[rng.below(3) as usize];
    let cache = ["hit", "HIT", "miss", "MISS", "Hit"]
        [rng.weighted(&[(0usize, 40), (1, 30), (2, 15), (3, 10), (4, 5)])];
    let cache = match (style.real(), cache.as_bytes()[0]) {
        (true, b'h' | b'H') => "hit",
        (true, _) => "miss",
        (false, _) => cache,
    };
    write!(out, " {method} {protocol} {cache}").unwrap();
    // The classic shape writes a port on some domains only; the real one on every line.
    let port_rng = if style.classic_port {
        Some(&mut *rng)
    } else if style.real() {
        Some(style_rng)
    } else {
        None
    };
    if let Some(port_rng) = port_rng {
        if port_rng.pct(8) {
            out.push_str(" -");
        } else {
            write!(out, " {}", 1024 + port_rng.below(64_000)).unwrap();
        }
    }
    out.push_str(if style.crlf { "\r\n" } else { "\n" });
    let label = match tag {
        ChannelPick::Tagged(_, channel) => channel,
        _ => UNTAGGED,
    };
    (label, bytes)
}

#[derive(Clone, Copy)]
enum ChannelPick {
    Tagged(&'static str, &'static str),
    PlatformOnly,
    NoUs,
}

fn pick_channel(rng: &mut Rng) -> ChannelPick {
    let roll = rng.below(100);
    if roll < UNTAGGED_PCT {
        return ChannelPick::NoUs;
    }
    if roll < UNTAGGED_PCT + PLATFORM_ONLY_PCT {
        return ChannelPick::PlatformOnly;
    }
    let weights: Vec<(usize, u32)> = CHANNELS.iter().enumerate().map(|(i, c)| (i, c.2)).collect();
    let (url_tag, channel, _) = CHANNELS[rng.weighted(&weights)];
    ChannelPick::Tagged(url_tag, channel)
}

/// Writes one malformed line: the kinds of damage a real log shows.
fn malformed_line(rng: &mut Rng, line: &mut String, out: &mut impl Write) -> Result<()> {
    match rng.below(5) {
        0 => out.write_all(b"\n")?,
        1 => out.write_all(
            b"20261120000242 36.45.133.22 1500020822.vod2.myqcloud.com /cut/off/mid-wri\n",
        )?,
        2 => out.write_all(b"\x00\x9f\x92\x96\xff binary \xfe\xfd garbage\n")?,
        3 => {
            line.push_str("20261120000242 36.45.133.22 1500020822.vod2.myqcloud.com /v.mp4?us=wxad-1 12x3 4 2 200 - 9 \"ua\" \"(null)\" GET HTTPS hit\n");
            out.write_all(line.as_bytes())?;
        }
        _ => out.write_all(
            b"2026-11-20T00:02:42+08:00 36.45.133.22 d /p 1 4 2 200 - 1 ua - GET HTTP/1.1 hit\n",
        )?,
    }
    Ok(())
}

/// (vid, title, channel in the mapping file: empty means "polyv")
const POLYV_VIDEOS: &[(&str, &str, &str)] = &[
    ("5f3a1c9e0b_1", "重生之我在短剧当总裁 - 第 1 集", "wxad"),
    ("5f3a1c9e0b_2", "重生之我在短剧当总裁 - 第 2 集", "douyin"),
    (
        "7b2e44d1aa_1",
        "闪婚后，傅总每天都在追妻 - 第 1 集",
        "bilibili",
    ),
    (
        "7b2e44d1aa_2",
        "闪婚后，傅总每天都在追妻 - 第 2 集",
        "小红书",
    ),
    ("9c0d77f3e1_1", "Trailer, season 2", ""),
    ("9c0d77f3e1_2", "下架剧集 - 第 9 集", "kuaishou"),
];

/// Writes `out/polyv/videos.csv` (the mapping file) and `out/polyv/traffic.csv`
/// (`date,vid,pc_bytes,mobile_bytes`, what the loopback Polyv server serves). The last
/// video has no traffic after the first day, as a video taken down would.
pub fn generate_polyv(start: NaiveDate, days: u32, seed: u64, out: &Path) -> Result<()> {
    generate_polyv_account(start, days, seed, out, 0)
}

/// The vid of one of the sample videos in the `account`th Polyv account (from 0): vids
/// are Polyv's, unique across its users, so each account's differ (`<10 hex>_<n>`).
fn vid_of_account(vid: &str, account: u64) -> String {
    if account == 0 {
        return vid.to_string();
    }
    let (stem, episode) = vid.split_once('_').unwrap_or((vid, ""));
    let stem = u64::from_str_radix(stem, 16).unwrap_or(0) ^ (account * 0x1_0000_0001);
    format!("{stem:010x}_{episode}")
}

/// [`generate_polyv`] for the `account`th Polyv account (from 0): the same titles and
/// channels, its own vids and traffic.
pub fn generate_polyv_account(
    start: NaiveDate,
    days: u32,
    seed: u64,
    out: &Path,
    account: u64,
) -> Result<()> {
    let dir = out.join("polyv");
    fs::create_dir_all(&dir)?;
    let mut videos = csv::Writer::from_path(dir.join("videos.csv"))?;
    videos.write_record(["vid", "title", "channel"])?;
    for (vid, title, channel) in POLYV_VIDEOS {
        videos.write_record([vid_of_account(vid, account).as_str(), title, channel])?;
    }
    videos.flush()?;
    let mut rng = Rng(seed ^ 0x901F);
    let mut traffic = String::from("date,vid,pc_bytes,mobile_bytes\n");
    for d in 0..days {
        let date = start + chrono::Days::new(d as u64);
        for (i, (vid, _, _)) in POLYV_VIDEOS.iter().enumerate() {
            let vid = vid_of_account(vid, account);
            if i == POLYV_VIDEOS.len() - 1 && d > 0 {
                continue;
            }
            let total = 50_000_000 + rng.below(3_000_000_000);
            let pc = total * (5 + rng.below(15)) / 100;
            writeln!(traffic, "{date},{vid},{pc},{}", total - pc).unwrap();
        }
    }
    fs::write(dir.join("traffic.csv"), traffic)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_uniform_enough_and_deterministic() {
        let mut a = Rng(7);
        let mut b = Rng(7);
        let mut counts = [0u32; 10];
        for _ in 0..100_000 {
            let x = a.below(10);
            assert_eq!(x, b.below(10));
            counts[x as usize] += 1;
        }
        assert!(
            counts.iter().all(|c| (9_000..11_000).contains(c)),
            "{counts:?}"
        );
    }
}
