//! Shared test scaffolding: a fresh directory per test and the real `cdncost` binary,
//! with the command, status and output shown when an expectation fails (xsv's Workdir).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use polars::prelude::*;

pub mod filters;
pub mod s3;
pub mod servers;

pub struct Workdir {
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub command: String,
    pub output: Output,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }

    fn describe(&self) -> String {
        format!(
            "command: {}\nstatus: {}\nstdout:\n{}\nstderr:\n{}",
            self.command,
            self.output.status,
            self.stdout(),
            self.stderr()
        )
    }

    #[track_caller]
    pub fn expect_code(self, code: i32) -> Run {
        assert_eq!(
            self.code(),
            code,
            "unexpected exit status\n{}",
            self.describe()
        );
        self
    }

    #[track_caller]
    pub fn ok(self) -> Run {
        self.expect_code(0)
    }
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::Builder::new()
                .prefix("cdncost-test-")
                .tempdir()
                .unwrap(),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Runs the binary in the work directory (so `./lake` is the test's own lake).
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[])
    }

    /// Runs the binary with extra environment variables.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let output = Command::new(env!("CARGO_BIN_EXE_cdncost"))
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("RUST_LOG")
            .envs(env.iter().copied())
            .output()
            .expect("the cdncost binary runs");
        Run {
            command: format!("cdncost {}", args.join(" ")),
            output,
        }
    }

    /// Runs the binary, killing it (and failing the test) if it has not ended within
    /// `limit`: for commands that wait on the clock, so a slow start can't hang a test.
    pub fn run_within(
        &self,
        args: &[&str],
        env: &[(&str, &str)],
        limit: std::time::Duration,
    ) -> Run {
        use std::io::Read;
        let mut child = Command::new(env!("CARGO_BIN_EXE_cdncost"))
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("RUST_LOG")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the cdncost binary runs");
        let deadline = std::time::Instant::now() + limit;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "cdncost {} still running after {limit:?}: killed",
                    args.join(" ")
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        child
            .stdout
            .take()
            .unwrap()
            .read_to_end(&mut stdout)
            .unwrap();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_end(&mut stderr)
            .unwrap();
        Run {
            command: format!("cdncost {}", args.join(" ")),
            output: Output {
                status,
                stdout,
                stderr,
            },
        }
    }

    /// Generates logs with the repo's generator under `rel`.
    pub fn generate(&self, rel: &str, extra: &[&str]) -> PathBuf {
        let mut args = vec!["generate", "--out", rel];
        args.extend_from_slice(extra);
        self.run(&args).ok();
        self.path(rel)
    }
}

/// Scans a hive-partitioned table with polars directly (not through cdncost's code).
pub fn scan_table(lake: &Path, table: &str) -> LazyFrame {
    let pattern = format!("{}/{table}/**/*.parquet", lake.display());
    let args = ScanArgsParquet {
        hive_options: HiveOptions {
            enabled: Some(true),
            hive_start_idx: 0,
            schema: None,
            try_parse_dates: true,
        },
        ..Default::default()
    };
    LazyFrame::scan_parquet(PlRefPath::new(pattern.as_str()), args).unwrap()
}

/// Reads the generator's `expected_totals.csv`: (date, channel) → (requests, bytes).
pub fn expected_totals(generated: &Path) -> BTreeMap<(String, String), (u64, u64)> {
    let text = std::fs::read_to_string(generated.join("expected_totals.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                (f[0].to_string(), f[1].to_string()),
                (f[2].parse().unwrap(), f[3].parse().unwrap()),
            )
        })
        .collect()
}

/// Reads `expected_files.csv`: file name → (lines, malformed).
pub fn expected_files(generated: &Path) -> BTreeMap<String, (u64, u64)> {
    let text = std::fs::read_to_string(generated.join("expected_files.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].to_string(),
                (f[1].parse().unwrap(), f[2].parse().unwrap()),
            )
        })
        .collect()
}

/// Every file below `dir`, relative, sorted.
pub fn files_below(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path().strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// (date, channel) → (requests, bytes) computed from the lake with polars.
pub fn lake_totals(lake: &Path) -> BTreeMap<(String, String), (u64, u64)> {
    let frame = scan_table(lake, "cdn_requests")
        .group_by([
            col("date").cast(DataType::String),
            col("channel").fill_null(lit("(untagged)")),
        ])
        .agg([
            len().cast(DataType::UInt64).alias("requests"),
            col("bytes").sum().cast(DataType::UInt64).alias("bytes"),
        ])
        .collect()
        .unwrap();
    let dates = frame.column("date").unwrap().str().unwrap().clone();
    let channels = frame.column("channel").unwrap().str().unwrap().clone();
    let requests = frame.column("requests").unwrap().u64().unwrap().clone();
    let bytes = frame.column("bytes").unwrap().u64().unwrap().clone();
    (0..frame.height())
        .map(|i| {
            (
                (
                    dates.get(i).unwrap().to_string(),
                    channels.get(i).unwrap().to_string(),
                ),
                (requests.get(i).unwrap(), bytes.get(i).unwrap()),
            )
        })
        .collect()
}

/// Writes `lines` gzip-compressed to `path`.
pub fn write_gz(path: &Path, content: &[u8]) {
    use std::io::Write;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(path).unwrap(),
        flate2::Compression::default(),
    );
    enc.write_all(content).unwrap();
    enc.finish().unwrap();
}

/// A column as strings (nulls as `None`).
pub fn strings(frame: &DataFrame, name: &str) -> Vec<Option<String>> {
    let column = frame.column(name).unwrap().cast(&DataType::String).unwrap();
    let ca = column.str().unwrap();
    (0..ca.len())
        .map(|i| ca.get(i).map(str::to_string))
        .collect()
}

/// A numeric or datetime column as i64 (datetimes as their epoch value).
pub fn ints(frame: &DataFrame, name: &str) -> Vec<Option<i64>> {
    let column = frame
        .column(name)
        .unwrap()
        .as_materialized_series()
        .to_physical_repr()
        .cast(&DataType::Int64)
        .unwrap();
    let ca = column.i64().unwrap();
    (0..ca.len()).map(|i| ca.get(i)).collect()
}

/// A CSV row: column name → text (empty for a missing value).
pub type CsvRow = BTreeMap<String, String>;

/// CSV text with a header row → rows keyed by column name.
pub fn csv_rows(bytes: &[u8]) -> Vec<CsvRow> {
    let mut reader = csv::Reader::from_reader(bytes);
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// Whether python3 with duckdb and pyarrow is here; where CI requires them
/// (`CDNCOST_REQUIRE_EXTERNAL_READERS=1`), their absence fails the test.
pub fn python_readers() -> bool {
    python_has(
        "import duckdb, pyarrow",
        "python3 with duckdb and pyarrow",
        "pip install duckdb pyarrow",
    )
}

/// Whether python3 runs `imports`. Where CI requires the test's tools
/// (`CDNCOST_REQUIRE_EXTERNAL_READERS=1`) their absence fails the test; elsewhere the
/// test says SKIPPED.
pub fn python_has(imports: &str, what: &str, install: &str) -> bool {
    let present = std::process::Command::new("python3")
        .args(["-c", imports])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        present || std::env::var_os("CDNCOST_REQUIRE_EXTERNAL_READERS").is_none(),
        "{what} is required here ({install})"
    );
    if !present {
        eprintln!("SKIPPED: {what} not found ({install})");
    }
    present
}

/// A rollup part's name without the id each write gives it (`<stem>.<16 hex>.parquet`).
pub fn without_part_id(name: &str) -> String {
    match name
        .strip_suffix(".parquet")
        .and_then(|s| s.rsplit_once('.'))
    {
        Some((stem, id))
            if name.starts_with("_rollups/")
                && id.len() == 16
                && id.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            format!("{stem}.parquet")
        }
        _ => name.to_string(),
    }
}

/// [`files_below`], rollup parts named without their write ids (sorted).
pub fn lake_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = files_below(dir)
        .iter()
        .map(|f| without_part_id(f))
        .collect();
    names.sort();
    names
}
