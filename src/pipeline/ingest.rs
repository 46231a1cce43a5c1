//! One CDN log file → the lake: read, parse, partition by China hour, write, publish.
//!
//! Every line read ends in exactly one place: a row of `cdn_requests` or a row of
//! `rejects` (with file, line number, reason and the raw bytes). The per-file record
//! proves it (`lines_read = lines_parsed + lines_rejected`) and is kept as the source's
//! manifest, beside counts of every format variant seen, because the log format is only
//! partly documented and the variants are how we learn it.
//!
//! A file is published whole or not at all: outputs are staged under temporary names and
//! renamed only after the last line was read and every footer written. A corrupt gzip
//! stops that file (its temporaries are dropped) and leaves the lake as it was.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use crate::cdnlog::channel::{channel_of, percent_decode_into, query_param};
use crate::cdnlog::codes::{isp_name, province_name, UNKNOWN};
use crate::cdnlog::columns::{FileLabels, RejectColumns, RequestColumns, Tag};
use crate::cdnlog::format::{LogFormat, TencentCdn};
use crate::cdnlog::line::{EmptyMarker, LogLine, Reject, TimeFormat};
use crate::cdnlog::reader::{Line, LineReader, DEFAULT_MAX_LINE};
use crate::cdnlog::rollups::{RollupLine, RollupSums};
use crate::china_time::{self, ChinaHour};
use crate::config::IngestConfig;
use crate::lake::catalogue::manifest_kind;
use crate::lake::columns::RowGroup;
use crate::lake::manifest::{FileRecord, Observed};
use crate::lake::rollup;
use crate::lake::scope::Scope;
use crate::lake::{
    Lake, LakeError, ParquetOptions, RowGroupSink, SafeName, StagedFile, TableSchema,
};

/// Rows a new hour's column builders make room for before they grow.
const INITIAL_ROWS: usize = 8192;

#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Whose logs the files are: every row and the file's manifest and lease name it.
    pub scope: Scope,
    pub parquet: ParquetOptions,
    pub max_line: usize,
    /// The most bytes one request line may count; a larger one is rejected (an
    /// 18-digit `bytes` would otherwise take a whole day's bill to its channel).
    pub max_request_bytes: i64,
    /// Rejected lines kept (with their bytes) per file; the rest are counted only, so a
    /// file of garbage can't write millions of reject rows.
    pub max_rejects_kept: u64,
    /// A file of at least [`MOSTLY_REJECTS_MIN_LINES`] lines with more rejects than
    /// this share (percent) is not taken: most likely not a CDN log at all.
    pub max_reject_percent: u64,
}

impl IngestOptions {
    /// The config's `[ingest]` values over the defaults.
    pub fn from_config(settings: &IngestConfig) -> IngestOptions {
        let defaults = IngestOptions::default();
        IngestOptions {
            scope: defaults.scope,
            parquet: ParquetOptions {
                row_group_rows: settings
                    .row_group_rows
                    .unwrap_or(defaults.parquet.row_group_rows)
                    .max(1),
                zstd_level: settings.zstd_level.unwrap_or(defaults.parquet.zstd_level),
            },
            max_line: settings
                .max_line_bytes
                .unwrap_or(defaults.max_line)
                .max(1024),
            max_request_bytes: settings
                .max_request_bytes
                .unwrap_or(defaults.max_request_bytes),
            max_rejects_kept: settings
                .max_rejects_kept
                .unwrap_or(defaults.max_rejects_kept),
            max_reject_percent: settings
                .max_reject_percent
                .unwrap_or(defaults.max_reject_percent)
                .min(100),
        }
    }
}

/// Below this many lines, a file is never refused for its share of rejects.
pub const MOSTLY_REJECTS_MIN_LINES: u64 = 1000;

/// 100 GB: more than any one video file a CDN serves in a request.
pub const DEFAULT_MAX_REQUEST_BYTES: i64 = 100_000_000_000;

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            scope: Scope::default_of(crate::lake::catalogue::owner(crate::lake::REQUESTS)),
            parquet: ParquetOptions::default(),
            max_line: DEFAULT_MAX_LINE,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            max_rejects_kept: 10_000,
            max_reject_percent: 50,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{file}: cannot open: {source}")]
    Open {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: {what} after line {line}: {source}; nothing of this file was published")]
    Read {
        file: PathBuf,
        line: u64,
        what: &'static str,
        source: std::io::Error,
    },
    #[error("{file}: building row group: {source}")]
    Frame {
        file: PathBuf,
        source: polars::prelude::PolarsError,
    },
    #[error("{file}: {source}")]
    Lake { file: PathBuf, source: LakeError },
    /// Another writer is ingesting a source of the same name.
    #[error("{file}: {source}")]
    Lease {
        file: PathBuf,
        source: crate::lake::LockError,
    },
    #[error("{file}: {rejected} of its {read} lines are not CDN log lines (over {percent}%): not taken, nothing of it published; is it a CDN log? ([ingest] max_reject_percent)")]
    MostlyRejects {
        file: PathBuf,
        rejected: u64,
        read: u64,
        percent: u64,
    },
    #[error("{file}: has the same source name '{stem}' as {other}; ingest them in separate runs or rename one")]
    DuplicateSource {
        file: PathBuf,
        other: PathBuf,
        stem: String,
    },
}

/// The per-line part of [`Observed`], kept in plain counters while a file is read and
/// folded into the record once at its end.
#[derive(Debug, Default)]
struct LineVariants {
    time_yyyymmddhhmmss: u64,
    time_unix_seconds: u64,
    lines_15_fields: u64,
    lines_16_fields: u64,
    quoted_user_agents: u64,
    quoted_ranges: u64,
    ranges_not_single: u64,
    irregular_separators: u64,
    empty_markers: [u64; EmptyMarker::ALL.len()],
}

impl LineVariants {
    #[inline]
    fn count(&mut self, line: &LogLine<'_>) {
        match line.time_format {
            TimeFormat::Compact14 => self.time_yyyymmddhhmmss += 1,
            TimeFormat::UnixSeconds => self.time_unix_seconds += 1,
        }
        if line.field_count == 15 {
            self.lines_15_fields += 1;
        } else {
            self.lines_16_fields += 1;
        }
        self.quoted_user_agents += line.user_agent_quoted as u64;
        self.quoted_ranges += (line.range.is_some() && line.range_quoted) as u64;
        self.ranges_not_single += (line.range.is_some() && line.range_start.is_none()) as u64;
        self.irregular_separators += line.irregular_separators as u64;
        for (total, seen) in self.empty_markers.iter_mut().zip(line.empty_markers) {
            *total += seen as u64;
        }
    }

    fn into_observed(self, observed: &mut Observed) {
        observed.time_yyyymmddhhmmss += self.time_yyyymmddhhmmss;
        observed.time_unix_seconds += self.time_unix_seconds;
        observed.lines_15_fields += self.lines_15_fields;
        observed.lines_16_fields += self.lines_16_fields;
        observed.quoted_user_agents += self.quoted_user_agents;
        observed.quoted_ranges += self.quoted_ranges;
        observed.ranges_not_single += self.ranges_not_single;
        observed.irregular_separators += self.irregular_separators;
        for (marker, count) in EmptyMarker::ALL.iter().zip(self.empty_markers) {
            if count > 0 {
                *observed
                    .empty_markers
                    .entry(marker.spelling().to_string())
                    .or_default() += count;
            }
        }
    }
}

/// The source name of a log file: its file name without `.gz` and `.log`, made path-safe.
pub fn source_name(path: &Path) -> SafeName {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    let name = name.strip_suffix(".log").unwrap_or(name);
    SafeName::sanitize(name)
}

/// Whether the lake holds a source's rows: its record, and every file the record lists
/// at its recorded size (a lake file lost or set aside as damaged means ingest again).
pub fn rows_in_lake(lake: &Lake, scope: &Scope, stem: &SafeName) -> bool {
    lake.intact_record::<FileRecord>(&lake.manifest_file(manifest_kind::INGEST, scope, stem))
        .is_some()
}

/// Ingests one file and publishes its outputs, replacing any earlier ingest of it.
pub fn ingest_file(
    lake: &Lake,
    path: &Path,
    options: &IngestOptions,
) -> Result<FileRecord, IngestError> {
    ingest_file_as::<TencentCdn>(lake, path, options)
}

/// [`ingest_file`] for a file in the line format `F`.
pub fn ingest_file_as<F: LogFormat>(
    lake: &Lake,
    path: &Path,
    options: &IngestOptions,
) -> Result<FileRecord, IngestError> {
    let started = Instant::now();
    let stem = source_name(path);
    let lake_err = |source| IngestError::Lake {
        file: path.to_path_buf(),
        source,
    };
    let open_err = |source| IngestError::Open {
        file: path.to_path_buf(),
        source,
    };
    let manifest = lake.manifest_file(manifest_kind::INGEST, &options.scope, &stem);
    let _lease = lake
        .lease_of_manifest(&manifest)
        .map_err(|source| IngestError::Lease {
            file: path.to_path_buf(),
            source,
        })?;
    let source_size = std::fs::metadata(path).map_err(open_err)?.len();
    let mut reader = LineReader::open(path, options.max_line).map_err(open_err)?;

    let mut pass = FilePass::<F>::new(lake, path, &stem, options);
    loop {
        let line = match reader.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(source) => {
                let what = if reader.is_gzip {
                    "corrupt or truncated gzip"
                } else {
                    "read error"
                };
                return Err(IngestError::Read {
                    file: path.to_path_buf(),
                    line: pass.lines_read,
                    what,
                    source,
                });
            }
        };
        pass.line(&line)?;
    }
    let text_bytes = reader.text_bytes();
    let (staged, mut record) = pass.finish()?;

    record.source_path = path.display().to_string();
    record.source_size = source_size;
    record.gzip = reader.is_gzip;
    record.text_bytes = text_bytes;
    record.ingested_at = china_time::now_rfc3339();
    record.elapsed_ms = started.elapsed().as_millis() as u64;
    let record = lake.replace(staged, &manifest, record).map_err(lake_err)?;
    rollup::drop_other_parts(lake, &record).map_err(lake_err)?;
    Ok(record)
}

/// Writes a row group of `table` to `sink`, creating its file at `path()` on first use.
fn append(
    sink: &mut Option<RowGroupSink>,
    path: impl FnOnce() -> PathBuf,
    table: &'static TableSchema,
    group: RowGroup,
    file: &Path,
    options: ParquetOptions,
) -> Result<(), IngestError> {
    let lake_err = |source| IngestError::Lake {
        file: file.to_path_buf(),
        source,
    };
    let sink = match sink {
        Some(sink) => sink,
        None => sink.insert(RowGroupSink::create(&path(), table, options).map_err(lake_err)?),
    };
    sink.write(group).map_err(lake_err)
}

/// The `us` parameter of a query, percent-decoded (into `scratch`) when it needs to be
/// and decodes to UTF-8; otherwise as written. ASCII parentheses become full-width
/// (`crate::lake::escape_label`): the report's own labels, `(total)`, `(untagged)`, …,
/// are never a viewer's to write.
fn decoded_us<'a>(query: Option<&'a str>, scratch: &'a mut Vec<u8>) -> Option<&'a str> {
    let raw = query.and_then(|q| query_param(q, "us"))?;
    let decoded = raw.contains('%') && percent_decode_into(raw, scratch);
    // Raw bytes are never control characters (a line has none), decoded ones may be.
    if !decoded {
        if memchr::memchr2(b'(', b')', raw.as_bytes()).is_none() {
            return Some(raw);
        }
        scratch.clear();
        scratch.extend_from_slice(raw.as_bytes());
    }
    if memchr::memchr2(b'(', b')', scratch).is_some() || scratch.iter().any(u8::is_ascii_control) {
        let escaped = crate::lake::escape_label(std::str::from_utf8(scratch).ok()?).into_owned();
        *scratch = escaped.into_bytes();
    }
    std::str::from_utf8(scratch).ok()
}

/// The state of one pass over one file.
struct FilePass<'a, F: LogFormat> {
    lake: &'a Lake,
    file: &'a Path,
    stem: &'a SafeName,
    source_file: String,
    options: &'a IngestOptions,
    partitions: Vec<Partition>,
    /// Index of the partition the last line went to: lines come in time order, so this
    /// is almost always the one.
    last_partition: usize,
    buffered_rows: usize,
    rejects: RejectColumns,
    reject_sink: Option<RowGroupSink>,
    us_scratch: Vec<u8>,
    format: F,
    lines_read: u64,
    lines_parsed: u64,
    lines_rejected: u64,
    log_bytes: u64,
    observed: Observed,
    variants: LineVariants,
    /// The file's part of the rollups, summed line by line.
    rollups: RollupSums,
}

struct Partition {
    hour: ChinaHour,
    columns: RequestColumns,
    sink: Option<RowGroupSink>,
}

impl<'a, F: LogFormat> FilePass<'a, F> {
    fn new(lake: &'a Lake, file: &'a Path, stem: &'a SafeName, options: &'a IngestOptions) -> Self {
        let source_file = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        FilePass {
            lake,
            file,
            stem,
            source_file,
            options,
            partitions: Vec::new(),
            last_partition: 0,
            buffered_rows: 0,
            rejects: RejectColumns::new(1024),
            reject_sink: None,
            us_scratch: Vec::with_capacity(128),
            format: F::default(),
            lines_read: 0,
            lines_parsed: 0,
            lines_rejected: 0,
            log_bytes: 0,
            observed: Observed::default(),
            variants: LineVariants::default(),
            rollups: RollupSums::default(),
        }
    }

    fn line(&mut self, line: &Line<'_>) -> Result<(), IngestError> {
        let (line_no, bytes) = (line.number, line.bytes);
        self.lines_read += 1;
        if let Some(length) = line.truncated_from {
            return self.reject(line_no, Reject::TooLong, bytes, length);
        }
        // Lines that are not UTF-8 are read with their bad bytes replaced (and counted).
        let repaired: String;
        let (parsed, was_repaired) = match self.format.parse_read(line) {
            Some(parsed) => (parsed, false),
            None => {
                repaired = String::from_utf8_lossy(bytes).into_owned();
                (self.format.parse(&repaired), true)
            }
        };
        match parsed {
            Ok(parsed) if parsed.bytes > self.options.max_request_bytes => {
                self.reject(line_no, Reject::BytesAboveCap, bytes, bytes.len() as u64)
            }
            Ok(parsed) => {
                self.observed.non_utf8_lines_repaired += was_repaired as u64;
                self.accept(&parsed, line_no)
            }
            Err(reason) => self.reject(line_no, reason, bytes, bytes.len() as u64),
        }
    }

    fn accept(&mut self, line: &LogLine<'_>, line_no: u64) -> Result<(), IngestError> {
        self.lines_parsed += 1;
        self.log_bytes += line.bytes as u64;
        self.variants.count(line);
        let province = province_name(line.province_code).unwrap_or_else(|| {
            self.observed.unknown_province_codes += 1;
            UNKNOWN
        });
        let isp = isp_name(line.isp_code).unwrap_or_else(|| {
            self.observed.unknown_isp_codes += 1;
            UNKNOWN
        });
        let hour = ChinaHour::of_unix_ms(line.ts_ms);
        let index = self.partition_index(hour);
        let us = decoded_us(line.query, &mut self.us_scratch);
        let channel = us.and_then(channel_of);
        self.observed.untagged_requests += channel.is_none() as u64;
        self.rollups.add(&RollupLine {
            ts_ms: line.ts_ms,
            hour,
            channel,
            path: line.path,
            domain: line.domain,
            province_code: line.province_code,
            isp_code: line.isp_code,
            status: line.status,
            cache: line.cache,
            bytes: line.bytes,
        });
        self.partitions[index]
            .columns
            .push(line, &Tag { us, channel }, province, isp, line_no);
        self.buffered_rows += 1;
        self.flush_if_full(index)
    }

    fn partition_index(&mut self, hour: ChinaHour) -> usize {
        if self
            .partitions
            .get(self.last_partition)
            .is_some_and(|p| p.hour == hour)
        {
            return self.last_partition;
        }
        let index = match self.partitions.iter().position(|p| p.hour == hour) {
            Some(i) => i,
            None => {
                // Builders start small and grow: an hour with few requests (most
                // files have several hours) does not reserve a whole row group.
                let capacity = self.options.parquet.row_group_rows.min(INITIAL_ROWS);
                self.partitions.push(Partition {
                    hour,
                    columns: RequestColumns::new(capacity),
                    sink: None,
                });
                self.partitions.len() - 1
            }
        };
        self.last_partition = index;
        index
    }

    /// Memory stays bounded: a partition is written out when it holds a row group, and
    /// when the rows held over all partitions (a file spanning many hours) pass two row
    /// groups, the largest one is written out early.
    fn flush_if_full(&mut self, index: usize) -> Result<(), IngestError> {
        let row_group = self.options.parquet.row_group_rows;
        if self.partitions[index].columns.len() >= row_group {
            self.flush_partition(index)?;
        }
        while self.buffered_rows >= 2 * row_group {
            let largest = (0..self.partitions.len())
                .max_by_key(|i| self.partitions[*i].columns.len())
                .expect("rows are buffered, so a partition exists");
            self.flush_partition(largest)?;
        }
        Ok(())
    }

    fn flush_partition(&mut self, index: usize) -> Result<(), IngestError> {
        let partition = &mut self.partitions[index];
        if partition.columns.is_empty() {
            return Ok(());
        }
        self.buffered_rows -= partition.columns.len();
        let group = partition.columns.take(&FileLabels {
            scope: &self.options.scope,
            source_file: &self.source_file,
        });
        let (lake, scope, stem, hour) = (self.lake, &self.options.scope, self.stem, partition.hour);
        append(
            &mut partition.sink,
            || lake.request_file(hour, scope, stem),
            RequestColumns::schema(),
            group,
            self.file,
            self.options.parquet,
        )
    }

    fn reject(
        &mut self,
        line_no: u64,
        reason: Reject,
        raw: &[u8],
        length: u64,
    ) -> Result<(), IngestError> {
        self.lines_rejected += 1;
        if self.lines_rejected > self.options.max_rejects_kept {
            self.observed.rejects_not_kept += 1;
            return Ok(());
        }
        self.rejects.push(line_no, &reason.to_string(), raw, length);
        if self.rejects.len() >= self.options.parquet.row_group_rows {
            self.flush_rejects()?;
        }
        Ok(())
    }

    fn flush_rejects(&mut self) -> Result<(), IngestError> {
        if self.rejects.is_empty() {
            return Ok(());
        }
        let group = self.rejects.take(&FileLabels {
            scope: &self.options.scope,
            source_file: &self.source_file,
        });
        let (lake, scope, stem) = (self.lake, &self.options.scope, self.stem);
        append(
            &mut self.reject_sink,
            || lake.reject_file(scope, stem),
            RejectColumns::schema(),
            group,
            self.file,
            self.options.parquet,
        )
    }

    /// The rollup parts of the file's rows, named as its request files are.
    fn stage_rollups(&mut self, requests: &[StagedFile]) -> Result<Vec<StagedFile>, LakeError> {
        let Some(first) = requests.first() else {
            return Ok(Vec::new());
        };
        let name = first
            .final_path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let days = std::mem::take(&mut self.rollups).into_parts(&self.options.scope);
        let mut staged = Vec::with_capacity(days.len() * rollup::ROLLUPS.len());
        for (date, parts) in days {
            for (table, (schema, rows)) in rollup::ROLLUPS.iter().zip(parts) {
                let path = self
                    .lake
                    .rollup_part(table, date, &rollup::part_name(&name));
                let mut sink = RowGroupSink::create(&path, schema, self.options.parquet)?;
                sink.write(rows)?;
                staged.push(sink.finish()?);
            }
        }
        Ok(staged)
    }

    /// Writes what is still buffered and every footer; returns the staged outputs and the
    /// record (without the fields only the caller knows).
    fn finish(mut self) -> Result<(Vec<StagedFile>, FileRecord), IngestError> {
        let percent = self.options.max_reject_percent;
        if self.lines_read >= MOSTLY_REJECTS_MIN_LINES
            && self.lines_rejected * 100 > self.lines_read * percent
        {
            return Err(IngestError::MostlyRejects {
                file: self.file.to_path_buf(),
                rejected: self.lines_rejected,
                read: self.lines_read,
                percent,
            });
        }
        for index in 0..self.partitions.len() {
            self.flush_partition(index)?;
        }
        self.flush_rejects()?;
        let lake_err = |source| IngestError::Lake {
            file: self.file.to_path_buf(),
            source,
        };
        self.partitions.sort_by_key(|p| p.hour);
        let hours = self
            .partitions
            .iter()
            .map(|p| format!("{} {:02}", p.hour.date(), p.hour.hour))
            .collect();
        let mut requests = Vec::with_capacity(self.partitions.len());
        for partition in self.partitions.drain(..) {
            if let Some(sink) = partition.sink {
                requests.push(sink.finish().map_err(lake_err)?);
            }
        }
        // The rollups of these rows, summed as they were parsed, committed before the
        // request files: a publish cut short leaves parts without requests, which no
        // reader counts.
        let mut staged = self.stage_rollups(&requests).map_err(lake_err)?;
        staged.extend(requests);
        if let Some(sink) = self.reject_sink.take() {
            staged.push(sink.finish().map_err(lake_err)?);
        }
        debug_assert_eq!(self.lines_read, self.lines_parsed + self.lines_rejected);
        std::mem::take(&mut self.variants).into_observed(&mut self.observed);
        let record = FileRecord {
            source: self.stem.to_string(),
            source_path: String::new(),
            source_size: 0,
            gzip: false,
            format: F::NAME.to_string(),
            lines_read: self.lines_read,
            lines_parsed: self.lines_parsed,
            lines_rejected: self.lines_rejected,
            text_bytes: 0,
            log_bytes: self.log_bytes,
            hours,
            outputs: Vec::new(),
            sums: Default::default(),
            observed: self.observed,
            ingested_at: String::new(),
            elapsed_ms: 0,
        };
        Ok((staged, record))
    }
}

/// Ingests `files` on `jobs` threads, one file per thread at a time. `on_done` is called
/// as each file ends (for progress and logs); results come back in input order.
pub fn ingest_files(
    lake: &Lake,
    files: &[PathBuf],
    jobs: usize,
    options: &IngestOptions,
    on_done: &(dyn Fn(&Path, &Result<FileRecord, IngestError>) + Sync),
) -> Vec<Result<FileRecord, IngestError>> {
    let first_with_name = first_with_same_name(files);
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Result<FileRecord, IngestError>>>> =
        files.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, files.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(file) = files.get(i) else { break };
                let result = match first_with_name[i] {
                    Some(other) => Err(IngestError::DuplicateSource {
                        file: file.clone(),
                        other: files[other].clone(),
                        stem: source_name(file).to_string(),
                    }),
                    None => ingest_file(lake, file, options),
                };
                on_done(file, &result);
                *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
            });
        }
    });
    slots
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every file was processed")
        })
        .collect()
}

/// For each file, the index of an earlier file with the same source name. Two such
/// inputs would replace each other's rows, so the later one is refused, by name.
fn first_with_same_name(files: &[PathBuf]) -> Vec<Option<usize>> {
    let mut seen = std::collections::HashMap::new();
    files
        .iter()
        .enumerate()
        .map(|(i, file)| match seen.entry(source_name(file)) {
            std::collections::hash_map::Entry::Occupied(first) => Some(*first.get()),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(i);
                None
            }
        })
        .collect()
}
