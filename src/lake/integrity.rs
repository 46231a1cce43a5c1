//! The lake checks its own files. Every file a job publishes has its size and CRC-32
//! recorded in the job's manifest (`sums`), computed while it was written. Readers check
//! them: jobs cheaply (the size, a `stat`) before trusting an earlier run's work, reports
//! and `run` fully (the content) for the days they read. A file that is missing, of
//! another size or of other content is *damaged*: its days are incomplete, a report reads
//! around it, and `run` sets it aside (`LAKE/_damaged/`) so the job that made it makes it
//! again (from `raw/`, or by downloading again).
//!
//! CRC-32 and not SHA-1: this guards against disks and hands, not adversaries, and
//! crc32fast checks several GB a second (a month's lake reads in about the time the
//! report's own scan takes). Records written before sums existed are checked for
//! presence only.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::de::DeserializeOwned;

use super::catalogue::{manifest_kind, Kind};
use super::manifest::{day_of, DayOutputs, FileRecord, Published, RollupDayRecord};
use super::object::Stat;
pub use super::sums::FileSum;
use super::{io_err, is_safe_relative, Lake, LakeError, MANIFEST_DIR};

/// Where damaged files and manifests are set aside, below the lake root.
pub const DAMAGED_DIR: &str = "_damaged";

/// How deeply files are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Present, of the recorded size: one `stat` a file.
    Size,
    /// Also the recorded CRC-32: the file is read.
    Content,
}

/// What is wrong with one file the lake should hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    Missing,
    Size {
        recorded: u64,
        found: u64,
    },
    Content,
    Unreadable(String),
    /// The manifest itself does not parse (its outputs are unknown).
    Manifest(String),
}

/// A damaged file (or manifest), by its path relative to the lake root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub path: String,
    pub problem: Problem,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.problem {
            Problem::Missing => write!(f, "{} is missing", self.path),
            Problem::Size { recorded, found } => write!(
                f,
                "{} has {found} bytes, {recorded} were written",
                self.path
            ),
            Problem::Content => write!(f, "{} differs from what was written", self.path),
            Problem::Unreadable(why) => write!(f, "{} cannot be read: {why}", self.path),
            Problem::Manifest(why) => write!(f, "manifest {} is damaged: {why}", self.path),
        }
    }
}

/// The damage found among the records of some days.
#[derive(Debug, Default)]
pub struct DamageReport {
    /// Per China day, what its records lack.
    pub by_date: BTreeMap<NaiveDate, Vec<Damage>>,
    /// Damaged files that exist (to be read around, or set aside).
    pub present: BTreeSet<PathBuf>,
    /// Manifests that do not parse (absolute paths).
    pub manifests: BTreeSet<PathBuf>,
    /// The manifest listing each damaged file of `present` (whose unit's lease moving
    /// it needs).
    pub listed_by: BTreeMap<PathBuf, PathBuf>,
    pub files_checked: usize,
    pub bytes_checked: u64,
}

impl DamageReport {
    pub fn is_empty(&self) -> bool {
        self.by_date.is_empty()
    }

    /// Every damage once (a file can touch several days).
    pub fn all(&self) -> BTreeSet<String> {
        self.by_date
            .values()
            .flatten()
            .map(|d| d.to_string())
            .collect()
    }
}

impl Lake {
    /// Checks the files `record` lists against the sums recorded with them.
    pub fn check_outputs<T: Published>(&self, record: &T, depth: Depth) -> Vec<(Damage, bool)> {
        self.check_outputs_in(record, depth, None)
    }

    /// [`Lake::check_outputs`]; on a store, against `listing` (every object's size, from
    /// one listing) when given, instead of a request per file.
    fn check_outputs_in<T: Published>(
        &self,
        record: &T,
        depth: Depth,
        listing: Option<&BTreeMap<String, Stat>>,
    ) -> Vec<(Damage, bool)> {
        let mut damaged = Vec::new();
        for rel in record.outputs() {
            if !is_safe_relative(rel) {
                continue;
            }
            let sum = record.sums().get(rel);
            let problem = match (self.remote(), listing) {
                (Some(_), Some(listing)) => stat_problem(listing.get(rel), sum),
                (Some(remote), None) => match remote.stat(rel) {
                    Ok(stat) => stat_problem(stat.as_ref(), sum),
                    Err(e) => Some(Problem::Unreadable(e.to_string())),
                },
                (None, _) => check_file(&self.root().join(rel), sum, depth),
            };
            if let Some(problem) = problem {
                let present = !matches!(problem, Problem::Missing);
                let path = rel.clone();
                damaged.push((Damage { path, problem }, present));
            }
        }
        damaged
    }

    /// A job's earlier record, trusted only when every file it lists is still there at
    /// its recorded size: otherwise `None`, and the job does the work again.
    pub fn intact_record<T: Published + DeserializeOwned>(&self, manifest: &Path) -> Option<T> {
        let record: T = self.read_manifest(manifest).ok()??;
        self.check_outputs(&record, Depth::Size)
            .is_empty()
            .then_some(record)
    }

    /// Checks every record with outputs (ingested sources, rollup days, usage days, and
    /// the day records of `day_kinds`, the platforms') that touches `from..=to`: what
    /// `run` checks before it repairs. A manifest that does not parse counts against
    /// every day of the range whose records it might hold.
    pub fn damage_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        depth: Depth,
        day_kinds: &[Kind],
    ) -> Result<DamageReport, LakeError> {
        self.damage(from, to, depth, true, day_kinds)
    }

    /// [`Lake::damage_between`] of what a report reads besides rollups (which
    /// [`super::rollup::plan`] checks): the usage days and the platforms' day records
    /// (`day_kinds`). Not the sources' records and request files: a report never reads
    /// them, and on a store they are a request per log file.
    pub fn damage_of_report_inputs(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        depth: Depth,
        day_kinds: &[Kind],
    ) -> Result<DamageReport, LakeError> {
        self.damage(from, to, depth, false, day_kinds)
    }

    fn damage(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        depth: Depth,
        sources: bool,
        day_kinds: &[Kind],
    ) -> Result<DamageReport, LakeError> {
        let mut report = DamageReport::default();
        // On a store: one listing for every object's size, not a request per file.
        let listing = match (self.remote(), sources) {
            (Some(remote), true) => Some(
                remote
                    .list_stats("")?
                    .into_iter()
                    .collect::<BTreeMap<_, _>>(),
            ),
            _ => None,
        };
        let check = Check {
            from,
            to,
            depth,
            listing: listing.as_ref(),
        };
        if sources {
            self.check_kind::<FileRecord>(manifest_kind::INGEST, &check, &mut report)?;
            self.check_kind::<RollupDayRecord>(manifest_kind::ROLLUP_DAYS, &check, &mut report)?;
        }
        for kind in std::iter::once(&manifest_kind::USAGE_DAYS).chain(day_kinds) {
            self.check_kind::<DayOutputs>(*kind, &check, &mut report)?;
        }
        Ok(report)
    }

    fn check_kind<T: Published + DeserializeOwned>(
        &self,
        kind: Kind,
        check: &Check,
        report: &mut DamageReport,
    ) -> Result<(), LakeError> {
        let (from, to, depth) = (check.from, check.to, check.depth);
        let dir = self.root().join(MANIFEST_DIR).join(kind.name);
        let in_range = |d: &NaiveDate| *d >= from && *d <= to;
        let paths: Vec<PathBuf> = self
            .records_in(&dir)?
            .into_iter()
            .filter(|p| {
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default();
                !name.starts_with('.') && name.ends_with(".json")
            })
            .collect();
        let records = self.read_manifests::<T>(&paths);
        for (path, read) in paths.into_iter().zip(records) {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let record: T = match read {
                Ok(Some(record)) => record,
                Ok(None) => continue,
                Err(e) => {
                    // Named by date (usage, Polyv) or not (sources): the days it might
                    // hold are its own, or all of them.
                    let days = day_of(&name).map_or_else(
                        || from.iter_days().take_while(|d| *d <= to).collect(),
                        |d| vec![d],
                    );
                    let damage = Damage {
                        path: self.relative(&path),
                        problem: Problem::Manifest(manifest_reason(&e)),
                    };
                    for day in days.into_iter().filter(in_range) {
                        report.by_date.entry(day).or_default().push(damage.clone());
                    }
                    report.manifests.insert(path);
                    continue;
                }
            };
            let days: Vec<NaiveDate> = record.dates().into_iter().filter(in_range).collect();
            if days.is_empty() {
                continue;
            }
            report.files_checked += record.outputs().len();
            report.bytes_checked += record.sums().values().map(|s| s.bytes).sum::<u64>();
            for (damage, present) in self.check_outputs_in(&record, depth, check.listing) {
                if present {
                    let file = self.root().join(&damage.path);
                    report.listed_by.insert(file.clone(), path.clone());
                    report.present.insert(file);
                }
                for day in &days {
                    report.by_date.entry(*day).or_default().push(damage.clone());
                }
            }
        }
        Ok(())
    }

    /// The records of a kind: its directory's files, and those of its scope directories
    /// (`<platform>.<account>/`, one level down: [`super::scope`]).
    pub(crate) fn records_in(&self, dir: &Path) -> Result<Vec<PathBuf>, LakeError> {
        if let Some(remote) = self.remote() {
            let rel = self.relative(dir);
            return Ok(remote
                .list(&rel)?
                .into_iter()
                .filter(|(name, _)| {
                    name[rel.len()..]
                        .trim_start_matches('/')
                        .matches('/')
                        .count()
                        <= 1
                })
                .map(|(name, _)| self.root().join(name))
                .collect());
        }
        let mut records = Vec::new();
        for entry in read_dir_or_none(dir)? {
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if entry.file_type().is_ok_and(|t| t.is_dir()) && !hidden {
                records.extend(
                    read_dir_or_none(&entry.path())?
                        .into_iter()
                        .map(|e| e.path()),
                );
            } else {
                records.push(entry.path());
            }
        }
        Ok(records)
    }

    /// Moves damaged files and manifests to `LAKE/_damaged/` (same relative path, with
    /// the time appended), so that the jobs that made them make them again and the
    /// evidence stays for whoever wants to look. Returns what was moved.
    /// A file is moved only under the lease of the unit that wrote it: one being written
    /// right now is passed over (its writer's publish replaces it).
    pub fn set_aside(&self, report: &DamageReport) -> Result<Vec<String>, LakeError> {
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let mut moved = Vec::new();
        for path in report.present.iter().chain(&report.manifests) {
            let rel = self.relative(path);
            let manifest = report.listed_by.get(path).unwrap_or(path);
            let _lease = match self.lease_of_manifest(manifest) {
                Ok(lease) => lease,
                Err(super::LockError::Busy { unit, holder, .. }) => {
                    tracing::info!("{rel}: not set aside, {holder} is writing {unit} now");
                    continue;
                }
                Err(super::LockError::Io { source, .. }) => return Err(source),
            };
            if let Some(remote) = self.remote() {
                // No rename on a store: a copy under _damaged/, then the original goes.
                let target = format!("{DAMAGED_DIR}/{rel}.{stamp}");
                if remote.copy(&rel, &target)? {
                    remote.delete(&rel)?;
                    moved.push(rel);
                }
                continue;
            }
            let target = self.root().join(DAMAGED_DIR).join(format!("{rel}.{stamp}"));
            if let Some(dir) = target.parent() {
                super::make_dir(dir)?;
            }
            match fs::rename(path, &target) {
                Ok(()) => moved.push(rel),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(path)(e)),
            }
        }
        Ok(moved)
    }
}

fn check_file(path: &Path, sum: Option<&FileSum>, depth: Depth) -> Option<Problem> {
    let found = match fs::metadata(path) {
        Ok(meta) => Some((meta.len(), None)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Some(Problem::Unreadable(e.to_string())),
    };
    if let Some(problem) = stat_problem(found.as_ref(), sum) {
        return Some(problem);
    }
    let recorded = sum?;
    if depth == Depth::Content {
        match FileSum::of_file(path) {
            Ok(actual) if (actual.bytes, actual.crc32) == (recorded.bytes, recorded.crc32) => {}
            Ok(_) => return Some(Problem::Content),
            Err(e) => return Some(Problem::Unreadable(e.to_string())),
        }
    }
    None
}

/// What one damage check covers.
struct Check<'a> {
    from: NaiveDate,
    to: NaiveDate,
    depth: Depth,
    listing: Option<&'a BTreeMap<String, Stat>>,
}

/// A file or object (size, ETag; `None`: not there) against its recorded sum: present,
/// of the recorded size, and (an object) of the ETag the store gave it at publish, so an
/// object edited in place at the same size is caught from the listing. An object's
/// content is not read back: every upload (each part too) is signed with the SHA-256 of
/// its body (`x-amz-content-sha256`), which the store checks as it receives it, and
/// reading a month of objects back for every report would cost what the report costs.
fn stat_problem(found: Option<&Stat>, sum: Option<&FileSum>) -> Option<Problem> {
    let Some((found, etag)) = found else {
        return Some(Problem::Missing);
    };
    let recorded = sum?;
    if *found != recorded.bytes {
        return Some(Problem::Size {
            recorded: recorded.bytes,
            found: *found,
        });
    }
    match (recorded.etag, etag) {
        (Some(print), Some(etag)) if print != super::sums::etag_print(etag) => {
            Some(Problem::Content)
        }
        _ => None,
    }
}

fn manifest_reason(e: &LakeError) -> String {
    match e {
        LakeError::Manifest { source, .. } => source.to_string(),
        other => other.to_string(),
    }
}

/// A directory's entries; none when it does not exist.
fn read_dir_or_none(dir: &Path) -> Result<Vec<fs::DirEntry>, LakeError> {
    match fs::read_dir(dir) {
        Ok(entries) => Ok(entries.flatten().collect()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io_err(dir)(e)),
    }
}
