//! The Parquet lake: the dataset's contract. Where every table lives ([`catalogue`]),
//! the records kept beside them ([`manifest`]), how files get there (staged, atomic
//! writes), and who may write what ([`lease`]). It lives in a directory or on an
//! S3-compatible store ([`object`]): the same contract, other moves. Jobs write through
//! it; reports and queries read through it and depend on nothing else.
//!
//! Layout (hive-style, readable as is by DuckDB, Spark, pandas/pyarrow and polars):
//!
//! ```text
//! LAKE/cdn_requests/date=YYYY-MM-DD/hour=HH/<source stem>.parquet
//! LAKE/rejects/<source stem>.parquet
//! LAKE/requests_5min/date=YYYY-MM-DD/day.parquet   (and the other rollups: [`rollup`])
//! LAKE/_rollups/date=YYYY-MM-DD/<rollup>/<source stem>.parquet
//! LAKE/_manifest/ingest/<source stem>.json
//! LAKE/_manifest/ingest/<platform>.<account>/<source stem>.json   (other scopes: [`scope`])
//! ```
//!
//! Writes are staged: a file is written under a hidden temporary name (`.name.<pid>.tmp`,
//! which readers skip), synced, and renamed into place only when every output of its
//! source is complete. The manifest of a source lists its outputs, so ingesting the same
//! source again replaces them and removes the ones it no longer produces: a source's rows
//! are never in the lake twice. A crash leaves only temporaries, swept by the next run.
//! On a store the staging directory is local and "renamed into place" is an upload to
//! the final key, completed only when all of a source's files are in ([`object`]).

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::{de::DeserializeOwned, Serialize};

use crate::china_time::ChinaHour;
use crate::util::files::{process_alive, temp_owner, temp_path_for};

pub mod catalogue;
pub mod columns;
pub mod integrity;
pub mod lease;
pub mod manifest;
pub mod media;
pub mod object;
mod parquet;
pub mod rollup;
pub mod scope;
pub mod sums;

pub use lease::{Lease, LockError};
pub use object::{Location, ObjectLake, S3Settings};

pub use parquet::{stage_frame, ParquetSink, RowGroupSink, TableSchema};
pub use scope::{Scope, ACCOUNT, DEFAULT_ACCOUNT, PLATFORM};

pub use catalogue::{
    escape_label, Kind, DRAMAS_DIR, MEDIA_DIR, MEDIA_HISTORY, REJECTS, REQUESTS, UNATTRIBUTED,
    UNMATCHED, UNTAGGED, USAGE,
};

pub(crate) const MANIFEST_DIR: &str = "_manifest";
/// Upload journals on an object store (`lake::object`).
pub(crate) const UPLOADS_DIR: &str = "_uploads";

/// Collects a query over the lake's scans on polars' streaming engine: files are read a
/// morsel at a time and aggregated as they come, so a group-by over a month of requests
/// holds its groups, not the month (what the engine cannot stream runs in memory, with
/// the same answer). Readers of `cdn_requests` collect through this.
pub fn collect_streaming(query: LazyFrame) -> PolarsResult<DataFrame> {
    // One plan, one result (several come only from a sink of several plans).
    Ok(query
        .collect_with_engine(Engine::Streaming)?
        .unwrap_single())
}

/// A table's scan in which files written before accounts (without `platform` and
/// `account`) and files written since may mix: the columns a file lacks come back as
/// `owner`'s `default` account ([`scope`]). polars takes a scan's columns from its first
/// file, so when that one is old, the two keys are added to what it says.
fn scan_keyed(
    open: Box<dyn Fn(ScanArgsParquet) -> PolarsResult<LazyFrame>>,
    args: ScanArgsParquet,
    owner: &str,
) -> PolarsResult<LazyFrame> {
    let mut first_file = open(ScanArgsParquet {
        hive_options: HiveOptions::new_disabled(),
        ..args.clone()
    })?
    .collect_schema()?
    .as_ref()
    .clone();
    let schema = if first_file.contains(ACCOUNT) {
        None
    } else {
        first_file.insert_at_index(0, PLATFORM.into(), DataType::String)?;
        first_file.insert_at_index(1, ACCOUNT.into(), DataType::String)?;
        Some(Arc::new(first_file))
    };
    let frame = open(ScanArgsParquet {
        schema,
        allow_missing_columns: true,
        ..args
    })?;
    Ok(scope::fill_keys(frame, owner))
}

#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    /// This writer's lease on a unit expired and another writer holds it (a writer
    /// paused past `lease_seconds`): what it was about to publish is not.
    #[error("the lease on {unit} is no longer this writer's ({holder}): nothing of it was published; run again")]
    LeaseLost { unit: String, holder: String },
    #[error("writing Parquet {path}: {source}")]
    Parquet { path: PathBuf, source: PolarsError },
    #[error("manifest {path}: {source}")]
    Manifest {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path} is a file, not a directory: {needed}")]
    NotADirectory { path: PathBuf, needed: String },
    #[error("table {table} has no data in {root}: ingest or fetch first")]
    EmptyTable { table: String, root: PathBuf },
    #[error("reading table {table}: {source}")]
    Query { table: String, source: PolarsError },
    #[error("lake {location}: {scheme}:// is not a lake location cdncost knows: give a directory or s3://bucket/prefix (Tencent COS, Aliyun OSS and MinIO speak S3: set AWS_ENDPOINT_URL or [lake.s3] endpoint)")]
    UnknownScheme { location: String, scheme: String },
    #[error("lake {location}: {why}")]
    BadLocation { location: String, why: String },
    #[error("{action} {location}: {message}")]
    Store {
        location: String,
        action: String,
        message: String,
    },
}

/// Creates `dir` and its parents. When a file is where a directory should be, says which
/// (the system's own word, "File exists", names neither).
pub fn make_dir(dir: &Path) -> Result<(), LakeError> {
    match fs::create_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(source) => {
            let in_the_way = dir
                .ancestors()
                .find(|a| fs::metadata(a).is_ok_and(|m| !m.is_dir()));
            Err(match in_the_way {
                Some(file) => LakeError::NotADirectory {
                    needed: if file == dir {
                        "a directory is needed there".into()
                    } else {
                        format!("{} cannot be made below it", dir.display())
                    },
                    path: file.to_path_buf(),
                },
                None => io_err(dir)(source),
            })
        }
    }
}

pub fn io_err(path: &Path) -> impl FnOnce(io::Error) -> LakeError + '_ {
    move |source| LakeError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// How Parquet is written: on purpose, not by default.
#[derive(Debug, Clone, Copy)]
pub struct ParquetOptions {
    pub row_group_rows: usize,
    pub zstd_level: i32,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        // 64 Ki rows keeps a row group's builders near 25 MB per open partition while
        // staying in the range DuckDB and Spark parallelise well over. zstd level 1:
        // level 3 (the library default) made ingest 15% slower for 5% smaller files
        // (BENCHMARKS.md).
        ParquetOptions {
            row_group_rows: 65_536,
            zstd_level: 1,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Lake {
    /// The lake's directory; for a lake on an object store, the local staging directory
    /// whose relative paths are the objects' keys below the lake's prefix.
    root: PathBuf,
    /// Files scans leave out (damaged ones a report reads around).
    excluded: std::sync::Arc<std::collections::BTreeSet<PathBuf>>,
    /// The object store the lake lives on (`None`: the lake is `root`).
    remote: Option<std::sync::Arc<ObjectLake>>,
}

impl Lake {
    /// The lake at `location`: a directory, or `s3://bucket/prefix` reached with `s3`
    /// (and the `AWS_*` environment). Any other URL is refused: taken as a path it would
    /// quietly become a local directory named `oss:`.
    pub fn open(location: &str, s3: &S3Settings) -> Result<Self, LakeError> {
        match Location::parse(location)? {
            Location::Dir(dir) => Ok(Lake::new(dir)),
            Location::S3 { bucket, prefix } => {
                let remote = ObjectLake::open(&bucket, &prefix, s3)?;
                if !remote.conditional_put {
                    tracing::info!(
                        "{}: conditional_put = false, so no leases are taken: run one writer per day",
                        remote.url()
                    );
                }
                Ok(Lake {
                    root: remote.staging.clone(),
                    excluded: Default::default(),
                    remote: Some(std::sync::Arc::new(remote)),
                })
            }
        }
    }

    /// Where the lake is, as a user names it: its directory or its `s3://` URL.
    pub fn location(&self) -> String {
        match &self.remote {
            Some(remote) => remote.url(),
            None => self.root.display().to_string(),
        }
    }

    /// The object store holding the lake, if it is on one.
    pub fn remote(&self) -> Option<&std::sync::Arc<ObjectLake>> {
        self.remote.as_ref()
    }

    pub fn new(root: impl Into<PathBuf>) -> Self {
        Lake {
            root: root.into(),
            excluded: Default::default(),
            remote: None,
        }
    }

    /// The same lake, whose scans leave `files` out.
    pub fn excluding(&self, files: std::collections::BTreeSet<PathBuf>) -> Lake {
        Lake {
            root: self.root.clone(),
            excluded: std::sync::Arc::new(files),
            remote: self.remote.clone(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn table_dir(&self, table: &str) -> PathBuf {
        self.root.join(table)
    }

    /// `scope`'s file `name` of `table` in `partition` (`date=…/hour=HH`, or empty):
    /// `name` for the table owner's `default` account, `<platform>.<account>.<name>` for
    /// any other scope ([`scope`]).
    pub fn table_file(&self, table: &str, partition: &str, scope: &Scope, name: &str) -> PathBuf {
        self.table_dir(table)
            .join(partition)
            .join(scope.file_name_in(catalogue::owner(table), name))
    }

    /// `cdn_requests/date=…/hour=HH/<stem>.parquet`, named for `scope`.
    pub fn request_file(&self, hour: ChinaHour, scope: &Scope, stem: &SafeName) -> PathBuf {
        let partition = format!("date={}/hour={:02}", hour.date(), hour.hour);
        self.table_file(REQUESTS, &partition, scope, &format!("{stem}.parquet"))
    }

    pub fn reject_file(&self, scope: &Scope, stem: &SafeName) -> PathBuf {
        self.table_file(REJECTS, "", scope, &format!("{stem}.parquet"))
    }

    /// The unit a job publishing `kind`'s record `stem` for `scope` leases: the
    /// manifest's path below `_manifest/`, without `.json` ([`Lake::lease`]).
    pub fn unit(&self, kind: Kind, scope: &Scope, stem: &str) -> String {
        match scope.tag_in(kind.owner) {
            None => format!("{}/{stem}", kind.name),
            Some(tag) => format!("{}/{tag}/{stem}", kind.name),
        }
    }

    /// `_manifest/<kind>/<stem>.json` for the kind owner's `default` account,
    /// `_manifest/<kind>/<platform>.<account>/<stem>.json` for any other scope.
    /// A record of the whole studio's (no platform's, no account's):
    /// `_manifest/<kind>/<stem>.json` (the budget notices of a month).
    pub fn studio_record(&self, kind: &str, stem: &SafeName) -> PathBuf {
        self.root
            .join(MANIFEST_DIR)
            .join(kind)
            .join(format!("{}.json", stem.as_str()))
    }

    pub fn manifest_file(&self, kind: Kind, scope: &Scope, stem: &SafeName) -> PathBuf {
        let unit = self.unit(kind, scope, stem.as_str());
        self.root.join(MANIFEST_DIR).join(format!("{unit}.json"))
    }

    /// A lazy scan of a table's hive-partitioned Parquet files (partition columns such as
    /// `date` come back typed). Hidden and temporary files are not read.
    pub fn scan(&self, table: &str) -> Result<LazyFrame, LakeError> {
        let query_err = |source| LakeError::Query {
            table: table.into(),
            source,
        };
        let empty = || LakeError::EmptyTable {
            table: table.into(),
            root: PathBuf::from(self.location()),
        };
        let args = ScanArgsParquet {
            hive_options: HiveOptions {
                enabled: Some(true),
                hive_start_idx: 0,
                schema: None,
                try_parse_dates: true,
            },
            cloud_options: self.remote.as_ref().map(|r| r.polars_options()),
            ..Default::default()
        };
        let dir = self.table_dir(table);
        let local = self.remote.is_none();
        if local && !has_parquet(&dir) {
            return Err(empty());
        }
        let open: Box<dyn Fn(ScanArgsParquet) -> PolarsResult<LazyFrame>> = if local
            && !self.excluded.iter().any(|p| p.starts_with(&dir))
        {
            let pattern = format!("{}/**/*.parquet", dir.display());
            Box::new(move |args| LazyFrame::scan_parquet(PlRefPath::new(pattern.as_str()), args))
        } else {
            // Files named one by one (the excluded left out; on a store, the objects
            // at their final keys); partitions still come from the directory names
            // below the table's.
            let files: Vec<PlRefPath> = self
                .table_files(table)?
                .into_iter()
                .filter(|path| !self.excluded.contains(path))
                .map(|path| PlRefPath::new(self.address(&path).as_str()))
                .collect();
            if files.is_empty() {
                return Err(empty());
            }
            Box::new(move |args| {
                LazyFrame::scan_parquet_files(files.iter().cloned().collect(), args)
            })
        };
        scan_keyed(open, args, catalogue::owner(table)).map_err(query_err)
    }

    /// A lazy scan of one Parquet file of the lake (no partitions); `None` when there is
    /// no such file.
    pub fn scan_file(&self, path: &Path) -> Result<Option<LazyFrame>, LakeError> {
        let exists = match &self.remote {
            Some(remote) => remote.size(&self.relative(path))?.is_some(),
            None => path.exists(),
        };
        if !exists {
            return Ok(None);
        }
        let args = ScanArgsParquet {
            hive_options: HiveOptions::new_disabled(),
            cloud_options: self.remote.as_ref().map(|r| r.polars_options()),
            ..Default::default()
        };
        LazyFrame::scan_parquet(PlRefPath::new(self.address(path).as_str()), args)
            .map(Some)
            .map_err(|source| LakeError::Parquet {
                path: path.to_path_buf(),
                source,
            })
    }

    /// Whether a table holds any Parquet file.
    pub fn has_table(&self, table: &str) -> Result<bool, LakeError> {
        match &self.remote {
            Some(_) => Ok(!self.table_files(table)?.is_empty()),
            None => Ok(has_parquet(&self.table_dir(table))),
        }
    }

    /// The Parquet files of a table (hidden names and `_` directories left out).
    fn table_files(&self, table: &str) -> Result<Vec<PathBuf>, LakeError> {
        match &self.remote {
            None => Ok(parquet_files(&self.table_dir(table))),
            Some(remote) => Ok(remote
                .list(table)?
                .into_iter()
                .filter(|(rel, _)| is_lake_parquet(rel))
                .map(|(rel, _)| self.root.join(rel))
                .collect()),
        }
    }

    /// What a reader opens for a lake file: its path, or its `s3://` URL.
    pub fn address(&self, path: &Path) -> String {
        match &self.remote {
            Some(remote) => remote.url_of(&self.relative(path)),
            None => path.to_string_lossy().into_owned(),
        }
    }

    /// A path relative to the lake root, as stored in manifests (always `/`-separated).
    pub fn relative(&self, path: &Path) -> String {
        let rel = path.strip_prefix(&self.root).unwrap_or(path);
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/")
    }

    /// Reads a manifest record; `None` when there is none yet.
    pub fn read_manifest<T: DeserializeOwned>(&self, path: &Path) -> Result<Option<T>, LakeError> {
        match &self.remote {
            Some(remote) => match remote.get(&self.relative(path))? {
                Some(object) => parse_record(path, &object.bytes),
                None => Ok(None),
            },
            None => match fs::read(path) {
                Ok(bytes) => parse_record(path, &bytes),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(io_err(path)(e)),
            },
        }
    }

    /// [`Lake::read_manifest`] of many records (on a store, 32 requests at a time).
    pub fn read_manifests<T: DeserializeOwned>(
        &self,
        paths: &[PathBuf],
    ) -> Vec<Result<Option<T>, LakeError>> {
        let Some(remote) = &self.remote else {
            return paths.iter().map(|p| self.read_manifest(p)).collect();
        };
        let rels: Vec<String> = paths.iter().map(|p| self.relative(p)).collect();
        remote
            .get_many(&rels)
            .into_iter()
            .zip(paths)
            .map(|(got, path)| match got? {
                Some(object) => parse_record(path, &object.bytes),
                None => Ok(None),
            })
            .collect()
    }

    /// Writes a record (a manifest) whole: staged and renamed on disk, one PUT on a store.
    pub fn write_record(&self, path: &Path, bytes: &[u8]) -> Result<(), LakeError> {
        match &self.remote {
            Some(remote) => remote.put(&self.relative(path), bytes::Bytes::copy_from_slice(bytes)),
            None => write_atomic(path, bytes),
        }
    }

    /// Removes a lake file (a manifest, a lease); one already gone is not an error.
    fn remove_file(&self, path: &Path) -> Result<(), LakeError> {
        if let Some(remote) = &self.remote {
            return remote.delete(&self.relative(path));
        }
        match fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(path)(e)),
        }
    }

    /// The one publish sequence of every job: `staged` replaces what `manifest` listed
    /// last time (outputs this run did not produce are removed), and `record`, with its
    /// outputs filled in, becomes the new manifest, written last.
    pub fn replace<T>(
        &self,
        staged: Vec<StagedFile>,
        manifest: &Path,
        mut record: T,
    ) -> Result<T, LakeError>
    where
        T: manifest::Published + Serialize + DeserializeOwned,
    {
        let previous: Option<T> = match self.read_manifest(manifest) {
            Ok(previous) => previous,
            // A damaged manifest is replaced: its outputs are unknown, but this publish
            // writes the same names (a source's or a day's) over them.
            Err(LakeError::Manifest { path, source }) => {
                tracing::warn!(
                    "manifest {} is damaged ({source}): replacing it",
                    path.display()
                );
                None
            }
            Err(e) => return Err(e),
        };
        let previous_outputs = previous.map(|p| p.outputs().to_vec()).unwrap_or_default();
        record.set_outputs(
            staged
                .iter()
                .map(|s| self.relative(s.final_path()))
                .collect(),
        );
        record.set_sums(
            staged
                .iter()
                .filter_map(|s| Some((self.relative(s.final_path()), s.sum?)))
                .collect(),
        );
        self.publish(staged, &previous_outputs, manifest, &mut record)?;
        Ok(record)
    }

    /// Publishes `staged` beside what `manifest`'s `record` already lists (nothing of it
    /// removed), and rewrites the record with them added: a source given its rollups.
    pub fn add_outputs<T>(
        &self,
        staged: Vec<StagedFile>,
        manifest: &Path,
        mut record: T,
    ) -> Result<T, LakeError>
    where
        T: manifest::Published + Serialize,
    {
        let mut outputs = record.outputs().to_vec();
        let mut sums = record.sums().clone();
        for file in &staged {
            let rel = self.relative(file.final_path());
            if let Some(sum) = file.sum {
                sums.insert(rel.clone(), sum);
            }
            outputs.push(rel);
        }
        record.set_outputs(outputs);
        record.set_sums(sums);
        self.publish(staged, &[], manifest, &mut record)?;
        Ok(record)
    }

    /// A partition that is one file: `frame` staged at `path` (no file when `None`: the
    /// partition is emptied), then [`Lake::replace`].
    pub fn replace_partition<T>(
        &self,
        path: &Path,
        frame: Option<&DataFrame>,
        options: ParquetOptions,
        manifest: &Path,
        record: T,
    ) -> Result<T, LakeError>
    where
        T: manifest::Published + Serialize + DeserializeOwned,
    {
        let staged = match frame {
            Some(frame) => vec![stage_frame(path, frame, options)?],
            None => Vec::new(),
        };
        self.replace(staged, manifest, record)
    }

    /// Removes what `manifest`'s record published, then the record: the source's rows
    /// leave the lake (a file found to be another's copy).
    pub fn withdraw<T>(&self, manifest: &Path) -> Result<(), LakeError>
    where
        T: manifest::Published + DeserializeOwned,
    {
        let Some(record) = self.read_manifest::<T>(manifest)? else {
            return Ok(());
        };
        for rel in record.outputs() {
            self.remove_output(rel)?;
        }
        self.remove_file(manifest)
    }

    /// Removes a published file named in a manifest (and the directories it leaves
    /// empty); a name that would leave the lake, or a file already gone, is passed over.
    pub(crate) fn remove_output(&self, rel: &str) -> Result<(), LakeError> {
        if !is_safe_relative(rel) {
            return Ok(());
        }
        let path = self.root.join(rel);
        self.remove_file(&path)?;
        if self.remote.is_none() {
            remove_empty_parents(&path, &self.root);
        }
        Ok(())
    }

    /// Publishes a source's staged outputs, removes its outputs from an earlier run that
    /// this run did not produce, then records the new manifest. The manifest is written
    /// last: until it is, the source counts as not (re)ingested.
    fn publish<T: Serialize + manifest::Published>(
        &self,
        staged: Vec<StagedFile>,
        previous_outputs: &[String],
        manifest_path: &Path,
        record: &mut T,
    ) -> Result<(), LakeError> {
        let mut published = Vec::with_capacity(staged.len());
        match &self.remote {
            // No rename on a store: the files go up together, each completed only when
            // all are in (journaled, so a killed writer's uploads are found again).
            Some(remote) => {
                let files: Vec<(PathBuf, String)> = staged
                    .iter()
                    .map(|s| (s.temp.clone(), self.relative(&s.final_path)))
                    .collect();
                let journal = format!("{UPLOADS_DIR}/{}", self.relative(manifest_path));
                // The uploads are completed only while the unit's lease is still this
                // writer's: one paused past its lease must not publish over the writer
                // that took it over.
                let still_ours = || self.check_lease_of(manifest_path);
                let etags = remote.publish_files(&journal, &files, &still_ours)?;
                // Each file's ETag joins its sum: an object edited in place at the same
                // size is found from a listing.
                let mut sums = record.sums().clone();
                for ((_, rel), etag) in files.iter().zip(&etags) {
                    if let (Some(sum), Some(etag)) = (sums.get_mut(rel), etag) {
                        sum.etag = Some(sums::etag_print(etag));
                    }
                }
                record.set_sums(sums);
                published.extend(files.into_iter().map(|(_, rel)| rel));
                drop(staged); // the local copies go
            }
            None => {
                for file in staged {
                    published.push(self.relative(&file.commit()?));
                }
            }
        }
        for old in previous_outputs
            .iter()
            .filter(|old| !published.contains(old))
        {
            self.remove_output(old)?;
        }
        let json = serde_json::to_vec_pretty(record).map_err(|source| LakeError::Manifest {
            path: manifest_path.to_path_buf(),
            source,
        })?;
        self.write_record(manifest_path, &json)
    }
}

impl Lake {
    /// The lake's Parquet files that are not whole (no `PAR1` at both ends: truncated or
    /// overwritten): a cheap check of 8 bytes a file, for naming the culprit of a failed
    /// query. Temporaries (hidden names) are not looked at.
    pub fn damaged_parquet(&self) -> Vec<PathBuf> {
        let mut damaged: Vec<PathBuf> = match &self.remote {
            None => parquet_files(&self.root)
                .into_iter()
                .filter(|p| !parquet_whole(p))
                .collect(),
            Some(remote) => remote
                .list("")
                .unwrap_or_default()
                .into_iter()
                .filter(|(rel, _)| is_lake_parquet(rel))
                .filter(|(rel, size)| {
                    let end = |range| remote.read_range(rel, range).ok();
                    let whole = *size >= 8
                        && end(0..4).is_some_and(|b| &b[..] == b"PAR1")
                        && end(size - 4..*size).is_some_and(|b| &b[..] == b"PAR1");
                    !whole
                })
                .map(|(rel, _)| self.root.join(rel))
                .collect(),
        };
        damaged.sort();
        damaged
    }
}

/// A manifest record from its bytes.
fn parse_record<T: DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<Option<T>, LakeError> {
    serde_json::from_slice(bytes)
        .map(Some)
        .map_err(|source| LakeError::Manifest {
            path: path.to_path_buf(),
            source,
        })
}

/// A lake-relative name readers read: a `.parquet` file, no part hidden (`.`) or
/// set aside (`_manifest`, `_damaged`, `_leases`).
fn is_lake_parquet(rel: &str) -> bool {
    rel.ends_with(".parquet")
        && rel
            .split('/')
            .all(|part| !part.starts_with('.') && !part.starts_with('_'))
}

/// The Parquet files below `dir` with their sizes, hidden names (temporaries) left out;
/// `_`-directories (manifests, damaged files set aside, rollup parts) only when
/// `underscore_dirs`.
fn parquet_walk(dir: &Path, underscore_dirs: bool) -> Vec<(PathBuf, u64)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') {
                continue;
            }
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                if underscore_dirs || !name.starts_with('_') {
                    stack.push(entry.path());
                }
            } else if name.ends_with(".parquet") {
                let size = entry.metadata().map_or(0, |m| m.len());
                files.push((entry.path(), size));
            }
        }
    }
    files
}

/// The Parquet files below `dir`, hidden names (temporaries) and `_`-directories
/// (manifests, damaged files set aside) left out.
fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    parquet_walk(dir, false)
        .into_iter()
        .map(|(path, _)| path)
        .collect()
}

fn parquet_whole(path: &Path) -> bool {
    use std::io::{Seek, SeekFrom};
    let Ok(mut file) = File::open(path) else {
        return false;
    };
    let (mut head, mut tail) = ([0u8; 4], [0u8; 4]);
    file.read_exact(&mut head).is_ok()
        && file.seek(SeekFrom::End(-4)).is_ok()
        && file.read_exact(&mut tail).is_ok()
        && &head == b"PAR1"
        && &tail == b"PAR1"
}

/// Removes the temporaries (`.name.<pid>.tmp`) below `dir` whose process is gone.
pub fn sweep_temporaries(dir: &Path) -> usize {
    let mut removed = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let Ok(entries) = fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(path);
            } else if let Some(pid) = temp_owner(&entry.file_name().to_string_lossy()) {
                if !process_alive(pid) && fs::remove_file(&path).is_ok() {
                    removed += 1;
                }
            }
        }
    }
    removed
}

fn has_parquet(dir: &Path) -> bool {
    let Ok(entries) = fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let name = e.file_name();
        let name = name.to_string_lossy();
        !name.starts_with('.')
            && (name.ends_with(".parquet")
                || (e.file_type().is_ok_and(|t| t.is_dir()) && has_parquet(&e.path())))
    })
}

fn remove_empty_parents(path: &Path, root: &Path) {
    let mut dir = path.parent();
    while let Some(d) = dir {
        if d == root || !d.starts_with(root) || fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

/// A manifest entry must stay inside the lake, whatever the file says.
pub(crate) fn is_safe_relative(rel: &str) -> bool {
    !rel.is_empty()
        && !rel.starts_with('/')
        && rel
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

/// A name that is safe as one path component: `[A-Za-z0-9._-]`, not starting with `.`.
/// Anything else is replaced with `_`, so a name can never climb out of its directory.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SafeName(String);

impl SafeName {
    pub fn sanitize(raw: &str) -> SafeName {
        let mut name: String = raw
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if name.starts_with('.') || name.is_empty() {
            name.insert(0, '_');
        }
        name.truncate(200);
        SafeName(name)
    }

    /// The name unchanged, or `None` when it would need changing.
    pub fn exact(raw: &str) -> Option<SafeName> {
        let safe = SafeName::sanitize(raw);
        (safe.0 == raw).then_some(safe)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SafeName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A finished file under its temporary name. Dropping it without `commit` deletes it.
#[derive(Debug)]
pub struct StagedFile {
    pub(crate) temp: PathBuf,
    final_path: PathBuf,
    committed: bool,
    /// What was written, when the writer summed it (recorded in the manifest).
    sum: Option<sums::FileSum>,
}

impl StagedFile {
    pub fn final_path(&self) -> &Path {
        &self.final_path
    }

    pub fn commit(mut self) -> Result<PathBuf, LakeError> {
        fs::rename(&self.temp, &self.final_path).map_err(io_err(&self.final_path))?;
        self.committed = true;
        Ok(self.final_path.clone())
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Creates the parent directory and a temporary file beside `final_path`.
fn create_staged(final_path: &Path) -> Result<(File, StagedFile), LakeError> {
    if let Some(dir) = final_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        make_dir(dir)?;
    }
    let temp = temp_path_for(final_path);
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    let file = options.open(&temp).map_err(io_err(&temp))?;
    let staged = StagedFile {
        temp,
        final_path: final_path.to_path_buf(),
        committed: false,
        sum: None,
    };
    Ok((file, staged))
}

/// Writes `bytes` to `path` atomically (temp file, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), LakeError> {
    stage_bytes(path, bytes)?.commit().map(|_| ())
}

/// Writes `bytes` under `path`'s temporary name, synced, for a later `commit`.
pub fn stage_bytes(path: &Path, bytes: &[u8]) -> Result<StagedFile, LakeError> {
    let (mut file, mut staged) = create_staged(path)?;
    file.write_all(bytes).map_err(io_err(path))?;
    file.sync_all().map_err(io_err(path))?;
    staged.sum = Some(sums::FileSum::of_bytes(bytes));
    Ok(staged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_names_cannot_escape() {
        assert_eq!(
            SafeName::sanitize("2024032819-1500020822.vod2.myqcloud.com-mainland").as_str(),
            "2024032819-1500020822.vod2.myqcloud.com-mainland"
        );
        assert_eq!(
            SafeName::sanitize("../../etc/passwd").as_str(),
            "_.._.._etc_passwd"
        );
        assert_eq!(SafeName::sanitize("..").as_str(), "_..");
        assert_eq!(SafeName::sanitize("a\0b/c").as_str(), "a_b_c");
        assert_eq!(SafeName::sanitize("").as_str(), "_");
        assert!(SafeName::exact("a/b").is_none());
        assert!(SafeName::exact("ok-name_1.gz").is_some());
    }

    #[test]
    fn manifest_paths_must_stay_inside() {
        assert!(is_safe_relative(
            "cdn_requests/date=2026-11-20/hour=00/x.parquet"
        ));
        assert!(!is_safe_relative("../x"));
        assert!(!is_safe_relative("/etc/passwd"));
        assert!(!is_safe_relative("a//b"));
    }

    #[test]
    fn staged_file_vanishes_unless_committed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a/b.txt");
        {
            let (_f, staged) = create_staged(&target).unwrap();
            assert!(staged.temp.exists());
            let temp = staged.temp.clone();
            drop(staged);
            assert!(!temp.exists());
        }
        write_atomic(&target, b"hello").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"hello");
        assert_eq!(
            fs::read_dir(target.parent().unwrap()).unwrap().count(),
            1,
            "no temp left"
        );
    }
}
