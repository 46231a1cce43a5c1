//! The rollups job: every day of a range gets its day files built from the parts there
//! now, and sources ingested before rollups existed get their parts first, from their
//! request files, said in the log. `run` does it for the months it reports, `fetch logs`
//! for the days it fetched, `cdncost rollup` for any range (after `ingest` by hand).

use chrono::NaiveDate;

use crate::lake::catalogue::manifest_kind;
use crate::lake::manifest::{FileRecord, Published};
use crate::lake::rollup::{self, RollupError};
use crate::lake::{Lake, ParquetOptions, MANIFEST_DIR};

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RollupOutcome {
    /// Sources given their parts from their request files.
    pub backfilled: usize,
    /// Days whose day files were built again.
    pub days_built: usize,
    /// Days already up to date (or without requests).
    pub days_current: usize,
}

impl RollupOutcome {
    pub fn line(&self) -> String {
        format!(
            "rollups: {} days built, {} up to date{}",
            self.days_built,
            self.days_current,
            if self.backfilled > 0 {
                format!(
                    "; {} log files ingested before rollups existed were rolled up from cdn_requests",
                    self.backfilled
                )
            } else {
                String::new()
            }
        )
    }
}

/// Gives every source of `from..=to` its parts, then builds the days.
pub fn refresh(
    lake: &Lake,
    from: NaiveDate,
    to: NaiveDate,
    options: ParquetOptions,
) -> Result<RollupOutcome, RollupError> {
    let mut outcome = RollupOutcome {
        backfilled: backfill(lake, from, to, options)?,
        ..Default::default()
    };
    let days: Vec<NaiveDate> = from.iter_days().take_while(|d| *d <= to).collect();
    build_days(lake, &days, options, &mut outcome)?;
    Ok(outcome)
}

/// Builds the day files of `days` (the days a batch of ingests touched).
pub fn build_days(
    lake: &Lake,
    days: &[NaiveDate],
    options: ParquetOptions,
    outcome: &mut RollupOutcome,
) -> Result<(), RollupError> {
    for day in days {
        if rollup::build_day(lake, *day, options)? {
            outcome.days_built += 1;
        } else {
            outcome.days_current += 1;
        }
    }
    Ok(())
}

/// Sources of `from..=to` whose record lists no part: rolled up from their request files.
fn backfill(
    lake: &Lake,
    from: NaiveDate,
    to: NaiveDate,
    options: ParquetOptions,
) -> Result<usize, RollupError> {
    let dir = lake
        .root()
        .join(MANIFEST_DIR)
        .join(manifest_kind::INGEST.name);
    let paths = lake.records_in(&dir)?;
    let paths: Vec<_> = paths
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    let mut done = 0;
    for (path, record) in paths.iter().zip(lake.read_manifests::<FileRecord>(&paths)) {
        // A record that does not parse is the integrity check's to report and repair.
        let Ok(Some(record)) = record else { continue };
        let in_range = record.dates().iter().any(|d| *d >= from && *d <= to);
        let rolled = record
            .outputs
            .iter()
            .any(|o| o.starts_with(rollup::PARTS_DIR));
        if in_range && !rolled && rollup::backfill_source(lake, path, options)? {
            if done == 0 {
                tracing::info!(
                    "rollups: log files ingested before rollups existed: rolling them up from cdn_requests (once)"
                );
            }
            done += 1;
        }
    }
    Ok(done)
}
