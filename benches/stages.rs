//! Where ingest time goes: each stage of the pipeline timed on the same files, as
//! throughput of uncompressed log text and as a ratio to `gzip -dc` on those files.
//!
//!   cargo bench --bench stages -- FILE.gz...        (default: bench-data from ingest.sh)
//!
//! Stages are cumulative: inflate + split lines (with the structural masks); + parse (the
//! reference scanner alone, then as ingest parses); + build columns; + encode and write
//! Parquet (the real ingest_file, to a scratch lake). Each is run 3 times; the best
//! is reported, since noise on a shared machine only ever adds time.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use cdncost::cdnlog::columns::{FileLabels, RequestColumns, Tag};
use cdncost::cdnlog::line::{parse_line_with, LineParser, TimeParser};
use cdncost::cdnlog::reader::{LineReader, DEFAULT_MAX_LINE};
use cdncost::lake::scope::platform;
use cdncost::lake::{Lake, Scope};
use cdncost::pipeline::ingest::{ingest_file, IngestOptions};

fn main() {
    cdncost::tune_malloc();
    let mut files: Vec<PathBuf> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .collect();
    if files.is_empty() {
        files = default_files();
    }
    assert!(
        !files.is_empty(),
        "no input: run benches/ingest.sh once, or name .gz files"
    );
    let text: u64 = files
        .iter()
        .map(|f| stage_split(std::slice::from_ref(f)).1)
        .sum();
    println!(
        "{} files, {:.0} MB of log text",
        files.len(),
        text as f64 / 1e6
    );

    let gzip = best(|| {
        let status = Command::new("gzip")
            .arg("-dc")
            .args(&files)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
    });
    report("gzip -dc", gzip, gzip, text);
    report(
        "inflate + split lines",
        best(|| {
            std::hint::black_box(stage_split(&files));
        }),
        gzip,
        text,
    );
    report(
        "+ parse (scanner)",
        best(|| stage_parse_by_scanner(&files)),
        gzip,
        text,
    );
    report("+ parse", best(|| stage_parse(&files)), gzip, text);
    report(
        "+ build columns",
        best(|| stage_columns(&files)),
        gzip,
        text,
    );
    let scratch = tempfile::tempdir().unwrap();
    report(
        "+ Parquet (ingest_file)",
        best(|| {
            let lake = Lake::new(scratch.path().join("lake"));
            for f in &files {
                ingest_file(&lake, f, &IngestOptions::default()).unwrap();
            }
        }),
        gzip,
        text,
    );
}

fn default_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Ok(dirs) = std::fs::read_dir("bench-data") {
        for d in dirs.flatten() {
            let day = d.path().join("cdn_logs/date=2026-11-18");
            if let Ok(entries) = std::fs::read_dir(day) {
                files.extend(
                    entries
                        .flatten()
                        .map(|e| e.path())
                        .filter(|p| p.to_string_lossy().contains("2026111820")),
                );
            }
        }
    }
    files.sort();
    files
}

fn best(mut f: impl FnMut()) -> f64 {
    (0..3)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn report(stage: &str, secs: f64, gzip: f64, text: u64) {
    println!(
        "{stage:<26} {secs:>7.3}s {:>7.0} MB/s  {:>5.2}× gzip -dc",
        text as f64 / 1e6 / secs,
        gzip / secs
    );
}

fn stage_split(files: &[PathBuf]) -> (u64, u64) {
    let mut lines = 0;
    let mut text = 0;
    for f in files {
        let mut reader = LineReader::open(f, DEFAULT_MAX_LINE).unwrap();
        while let Some(line) = reader.next_line().unwrap() {
            lines += line.bytes.len() as u64 & 1;
        }
        text += reader.text_bytes();
    }
    (lines, text)
}

/// The reference tokenizer alone (every line through the scanner), for comparison.
fn stage_parse_by_scanner(files: &[PathBuf]) {
    let mut ok = 0u64;
    let mut times = TimeParser::default();
    for f in files {
        let mut reader = LineReader::open(f, DEFAULT_MAX_LINE).unwrap();
        while let Some(line) = reader.next_line().unwrap() {
            if let Ok(text) = std::str::from_utf8(line.bytes) {
                ok += parse_line_with(text, &mut times).is_ok() as u64;
            }
        }
    }
    std::hint::black_box(ok);
}

/// Parsing as ingest parses: structural masks, the fast tokenizer, the scanner for the rest.
fn stage_parse(files: &[PathBuf]) {
    let mut ok = 0u64;
    for f in files {
        let mut parser = LineParser::default();
        let mut reader = LineReader::open(f, DEFAULT_MAX_LINE).unwrap();
        while let Some(line) = reader.next_line().unwrap() {
            ok += matches!(parser.parse_read(&line), Some(Ok(_))) as u64;
        }
    }
    std::hint::black_box(ok);
}

fn stage_columns(files: &[PathBuf]) {
    for f in files {
        let mut parser = LineParser::default();
        let mut reader = LineReader::open(f, DEFAULT_MAX_LINE).unwrap();
        let mut columns = RequestColumns::new(65_536);
        let scope = Scope::default_of(platform::WECHAT);
        let labels = FileLabels {
            scope: &scope,
            source_file: "f",
        };
        while let Some(line) = reader.next_line().unwrap() {
            let Some(Ok(parsed)) = parser.parse_read(&line) else {
                continue;
            };
            columns.push(
                &parsed,
                &Tag {
                    us: None,
                    channel: None,
                },
                "广东",
                "中国移动",
                line.number,
            );
            if columns.len() == 65_536 {
                std::hint::black_box(columns.take(&labels));
            }
        }
        std::hint::black_box(columns.take(&labels));
    }
}
