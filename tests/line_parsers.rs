//! The two tokenizers agree on every line of real gzip files: the bundled sample data and
//! generated days in both line shapes (malformed lines included), read as ingest reads
//! them. The fast one must read the regular lines; the scanner stays the reference.

use std::path::{Path, PathBuf};

use cdncost::cdnlog::line::{parse_line_with, LineParser, TimeParser};
use cdncost::cdnlog::reader::{LineReader, DEFAULT_MAX_LINE};
use cdncost::generator::{generate_logs, LogShape, LogSpec};

fn log_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(log_files(&path));
        } else if path.extension().is_some_and(|e| e == "gz") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// Lines compared, lines the fast path read, lines the scanner rejected.
fn compare(files: &[PathBuf]) -> (u64, u64, u64) {
    let (mut lines, mut fast, mut rejected) = (0, 0, 0);
    for file in files {
        let mut parser = LineParser::default();
        let mut times = TimeParser::default();
        let mut reader = LineReader::open(file, DEFAULT_MAX_LINE).unwrap();
        while let Some(line) = reader.next_line().unwrap() {
            let text = String::from_utf8_lossy(line.bytes);
            let reference = parse_line_with(&text, &mut times);
            rejected += reference.is_err() as u64;
            let got = match parser.parse_read(&line) {
                Some(got) => got,
                None => parser.parse(&text),
            };
            assert_eq!(got, reference, "{}:{}", file.display(), line.number);
            lines += 1;
        }
        fast += parser.fast_lines;
    }
    (lines, fast, rejected)
}

#[test]
fn both_tokenizers_agree_on_sample_and_generated_files() {
    let sample = log_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_data/cdn_logs"));
    let (lines, fast, rejected) = compare(&sample);
    assert!(lines > 1000, "{lines}");
    assert!(fast + rejected >= lines * 99 / 100, "{fast} of {lines}");

    for shape in [LogShape::Real, LogShape::Classic] {
        let dir = tempfile::tempdir().unwrap();
        let spec = LogSpec {
            start: chrono::NaiveDate::from_ymd_opt(2026, 11, 18).unwrap(),
            days: 1,
            domains: 2,
            peak_requests_per_hour: 400,
            malformed_lines: 200,
            seed: 7,
            gzip_level: 1,
            shape,
        };
        let files = generate_logs(&spec, dir.path(), 2).unwrap();
        let (lines, fast, rejected) = compare(&files);
        assert!(lines > 5000, "{shape:?}: {lines}");
        assert!(rejected >= 100, "{shape:?}: {rejected} rejected");
        // Every regular line takes the fast path; the malformed ones may not.
        assert!(fast + 200 >= lines, "{shape:?}: {fast} fast of {lines}");
    }
}
