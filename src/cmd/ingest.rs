//! `cdncost ingest`: log files → the lake.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context as _, Result};

use cdncost::cdnlog::reader::is_log_file_name;
use cdncost::exit::Exit;
use cdncost::lake::manifest::Published;
use cdncost::lake::manifest::{FileRecord, Observed};
use cdncost::lake::Scope;
use cdncost::pipeline::ingest::{ingest_files, IngestError};
use cdncost::progress::Progress;
use cdncost::table::thousands;

use super::{all_cores, Context};

/// Parse CDN access-log files (gzip or plain) into the Parquet lake.
///
/// Each file becomes LAKE/cdn_requests/date=YYYY-MM-DD/hour=HH/<file>.parquet (China time
/// of each request); lines that do not parse go to LAKE/rejects/<file>.parquet with their
/// line number, the reason and the raw bytes. Ingesting a file again replaces its rows.
/// Every row names the platform and account whose logs these are (`--account`: another
/// account's files are kept apart, their names prefixed with `wechat.<account>.`).
/// A file that fails (say, a truncated gzip) publishes nothing; the others still complete
/// and the exit status is 3.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Log files, or directories searched recursively for *.gz, *.log and files named like
    /// the platform's packages (YYYYMMDDHH-<domain>-<region>, any extension)
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Files parsed at once [default: all cores]
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// The WeChat account whose logs these are (1 to 40 of a-z, 0-9, _ and -)
    #[arg(long, value_name = "NAME", default_value = cdncost::lake::DEFAULT_ACCOUNT)]
    pub account: String,
}

pub fn run(ctx: &Context, args: Args) -> Result<Exit> {
    let LogFiles { files, skipped } = collect_log_files(&args.paths)?;
    if !skipped.is_empty() {
        tracing::warn!(
            "skipped {} files that are not log files (not *.gz, *.log or YYYYMMDDHH-<domain>-<region>): {}",
            skipped.len(),
            display_list(&skipped)
        );
    }
    if files.is_empty() {
        bail!(
            "no log files (*.gz, *.log or YYYYMMDDHH-<domain>-<region> packages) under {}",
            display_list(&args.paths)
        );
    }
    cdncost::pipeline::sweep_temporaries(&[ctx.lake.root()]);
    let mut options = cdncost::pipeline::ingest::IngestOptions::from_config(&ctx.config.ingest);
    options.scope = Scope::new(
        cdncost::lake::catalogue::owner(cdncost::lake::REQUESTS),
        &args.account,
    )?;
    let jobs = args
        .jobs
        .or(ctx.config.ingest.jobs)
        .unwrap_or_else(all_cores)
        .max(1);
    tracing::info!(
        "ingesting {} files into {} with {jobs} jobs",
        files.len(),
        ctx.lake.location()
    );

    let started = Instant::now();
    let progress = Progress::new(ctx.progress, "ingest", files.len() as u64);
    let results = ingest_files(&ctx.lake, &files, jobs, &options, &|file, result| {
        progress.suspend(|| log_file(file, result));
        progress.item_done(result.as_ref().map_or(0, |r| r.text_bytes));
    });
    progress.finish();
    // Each file's rollup parts are in the lake with its rows; a day's files are built
    // once the day is complete (`run`, `fetch logs`), or by `cdncost rollup`: reports
    // read the parts until then, to the same figures.
    let days: std::collections::BTreeSet<chrono::NaiveDate> =
        results.iter().flatten().flat_map(|r| r.dates()).collect();
    if let (Some(first), Some(last)) = (days.first(), days.last()) {
        tracing::info!(
            "rollups: {} days have new parts; `cdncost rollup --from {first} --to {last}` compacts them to a file per day",
            days.len()
        );
    }
    let elapsed = started.elapsed().as_secs_f64();
    print_totals(&results, elapsed)
}

fn log_file(file: &Path, result: &Result<FileRecord, IngestError>) {
    match result {
        Ok(r) => tracing::debug!(
            "{}: {} lines = {} parsed + {} rejected, {:.1} MB text in {:.2}s",
            file.display(),
            r.lines_read,
            r.lines_parsed,
            r.lines_rejected,
            r.text_bytes as f64 / 1e6,
            r.elapsed_ms as f64 / 1e3
        ),
        Err(e) => tracing::error!("{e}"),
    }
}

/// The run's accounting on stdout; the exit status says whether anything failed.
fn print_totals(results: &[Result<FileRecord, IngestError>], elapsed: f64) -> Result<Exit> {
    let done: Vec<&FileRecord> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    let failed: Vec<&IngestError> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    let sum = |f: fn(&FileRecord) -> u64| done.iter().map(|r| f(r)).sum::<u64>();
    let (read, parsed, rejected) = (
        sum(|r| r.lines_read),
        sum(|r| r.lines_parsed),
        sum(|r| r.lines_rejected),
    );
    let text = sum(|r| r.text_bytes) as f64;
    let mut observed = Observed::default();
    done.iter().for_each(|r| observed.add(&r.observed));

    outln!(
        "ingested {} of {} files: {} lines read = {} parsed + {} rejected",
        done.len(),
        results.len(),
        thousands(read as i128),
        thousands(parsed as i128),
        thousands(rejected as i128)
    )?;
    outln!(
        "log bytes {}; text {:.1} MB in {elapsed:.2}s ({:.1} MB/s)",
        cdncost::table::gb(sum(|r| r.log_bytes) as i128),
        text / 1e6,
        text / 1e6 / elapsed.max(1e-9)
    )?;
    outln!(
        "seen: {} untagged requests, {} unknown province codes, {} unknown ISP codes, {} lines with 15 fields, {} with 16, {} unix-time lines, {} non-UTF-8 lines repaired",
        observed.untagged_requests,
        observed.unknown_province_codes,
        observed.unknown_isp_codes,
        observed.lines_15_fields,
        observed.lines_16_fields,
        observed.time_unix_seconds,
        observed.non_utf8_lines_repaired
    )?;
    let markers: Vec<String> = observed
        .empty_markers
        .iter()
        .map(|(spelling, n)| format!("{spelling} {n}"))
        .collect();
    outln!(
        "shape: {} quoted agents, {} quoted ranges, {} ranges not a single byte range, {} lines with tabs or runs of blanks; empty markers: {}",
        observed.quoted_user_agents,
        observed.quoted_ranges,
        observed.ranges_not_single,
        observed.irregular_separators,
        if markers.is_empty() { "none".to_string() } else { markers.join(", ") }
    )?;
    if rejected > 0 {
        outln!(
            "rejected lines are in the lake's rejects/ table (file, line number, reason, raw line)"
        )?;
    }
    if failed.is_empty() {
        return Ok(Exit::Ok);
    }
    outln!(
        "FAILED: {} files (nothing of them was published):",
        failed.len()
    )?;
    for e in &failed {
        outln!("  {e}")?;
    }
    // A file another writer holds was not ours to do: that is a refusal, not missing
    // data this run could have had.
    let refused = failed
        .iter()
        .any(|e| matches!(e, IngestError::Lease { .. }));
    Ok(if refused {
        Exit::Failure
    } else {
        Exit::Incomplete
    })
}

/// The inputs found under the paths given, and the files passed over.
pub struct LogFiles {
    pub files: Vec<PathBuf>,
    pub skipped: Vec<PathBuf>,
}

/// Explicit files are taken whatever their name; directories are searched recursively
/// for log files by name ([`is_log_file_name`]), skipping hidden entries. Sorted, so runs
/// are reproducible.
pub fn collect_log_files(paths: &[PathBuf]) -> Result<LogFiles> {
    let mut found = LogFiles {
        files: Vec::new(),
        skipped: Vec::new(),
    };
    for path in paths {
        let meta = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
        if meta.is_dir() {
            walk(path, &mut found).with_context(|| format!("listing {}", path.display()))?;
        } else {
            found.files.push(path.clone());
        }
    }
    found.files.sort();
    found.files.dedup();
    found.skipped.sort();
    Ok(found)
}

fn walk(dir: &Path, found: &mut LogFiles) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&entry.path(), found)?;
        } else if kind.is_file() && is_log_file_name(&name) {
            found.files.push(entry.path());
        } else {
            found.skipped.push(entry.path());
        }
    }
    Ok(())
}

/// The paths, comma-separated; past ten, the count of the rest.
fn display_list(paths: &[PathBuf]) -> String {
    let mut list: Vec<String> = paths
        .iter()
        .take(10)
        .map(|p| p.display().to_string())
        .collect();
    if paths.len() > 10 {
        list.push(format!("and {} more", paths.len() - 10));
    }
    list.join(", ")
}
