//! The jobs that fill the lake: `ingest` (log files → `cdn_requests`), `logs` (list,
//! download, verify and ingest the hourly log files), `usage` (the billed series) and
//! `polyv` (Polyv's daily traffic). Each drives one source client (`crate::sources`) and
//! writes its tables through the lake, idempotently (a re-fetch replaces). The commands
//! (`src/cmd/`) only parse arguments, call one job and print what it did.

pub mod ingest;
mod job;
pub mod nightly;
pub mod notify;
pub mod rollup;

use chrono::NaiveDate;

pub use job::{runtime, sweep_temporaries, Job, JobError, StepOutcome};

/// `from..=to` cut into windows of at most `max_days` days.
pub fn windows(from: NaiveDate, to: NaiveDate, max_days: u32) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut start = from;
    while start <= to {
        let end = (start + chrono::Days::new(max_days.max(1) as u64 - 1)).min(to);
        out.push((start, end));
        start = end + chrono::Days::new(1);
    }
    out
}

/// The oldest China day an API keeping `history_days` days of history still has.
pub fn oldest_kept(history_days: u64) -> NaiveDate {
    crate::china_time::today() - chrono::Days::new(history_days)
}

/// Refuses a range starting on a day the API no longer keeps (`history_days` back from
/// today, China time).
pub fn check_history(from: NaiveDate, history_days: u64, call: &str) -> Result<(), JobError> {
    let today = crate::china_time::today();
    let oldest = oldest_kept(history_days);
    if from < oldest {
        return Err(JobError::Range(format!(
            "--from {from} is more than {history_days} days back (today is {today} in China): {call} keeps {history_days} days of history; start at {oldest} or later"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_the_range_exactly() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            windows(d("2026-11-01"), d("2026-11-01"), 31),
            vec![(d("2026-11-01"), d("2026-11-01"))]
        );
        let w = windows(d("2026-01-01"), d("2026-03-05"), 31);
        assert_eq!(w.len(), 3);
        assert_eq!(w[0], (d("2026-01-01"), d("2026-01-31")));
        assert_eq!(w[2].1, d("2026-03-05"));
        assert!(windows(d("2026-01-02"), d("2026-01-01"), 31).is_empty());
        // 200 days in 90-day windows: 90 + 90 + 20.
        let w = windows(d("2026-01-01"), d("2026-07-19"), 90);
        assert_eq!(
            w.iter()
                .map(|(a, b)| (*b - *a).num_days() + 1)
                .collect::<Vec<_>>(),
            vec![90, 90, 20]
        );
    }
}
