//! `cdncost schedule`: a daily timer for hosts without cron or systemd.
//!
//! Each run is a child process (`cdncost run`), so one run's memory, threads or crash
//! never carry into the next, and a run is exactly what cron would have started.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, Result};
use chrono::{DateTime, FixedOffset, NaiveTime};

use cdncost::china_time;
use cdncost::exit::Exit;

use super::Context;

/// Start `cdncost run` every day at a China time (Asia/Shanghai), until stopped.
///
/// For hosts without cron or systemd timers (see contrib/ for those). Each run is a
/// child process with the same --config/--lake/--json-logs; its outcome is logged
/// (status 0 complete, 3 data missing, 4 not final yet, 1 failure). Arguments after
/// `--` go to each run, e.g. `cdncost schedule --at 03:30 -- --lookback 5 --out /srv/out`.
/// A run still going at the next start time delays that start (runs never overlap).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// China time of day to start, HH:MM (or HH:MM:SS)
    #[arg(long, value_parser = parse_time)]
    pub at: NaiveTime,
    /// Stop after this many runs [default: never]
    #[arg(long)]
    pub max_runs: Option<u64>,
    /// Arguments for each `cdncost run`
    #[arg(last = true)]
    pub run_args: Vec<String>,
}

fn parse_time(s: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(s, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M"))
        .map_err(|_| format!("'{s}' is not a time of day as HH:MM (China time)"))
}

/// The next moment at `at`, China time, strictly after `now`.
pub fn next_start(now: DateTime<FixedOffset>, at: NaiveTime) -> DateTime<FixedOffset> {
    let today = now.date_naive().and_time(at);
    let candidate = today
        .and_local_timezone(china_time::offset())
        .single()
        .expect("a fixed offset has no gaps");
    if candidate > now {
        candidate
    } else {
        candidate + chrono::Days::new(1)
    }
}

pub fn run(ctx: &Context, args: Args) -> Result<Exit> {
    let exe = std::env::current_exe().context("finding the cdncost executable")?;
    let mut runs = 0u64;
    loop {
        let start = next_start(china_time::now(), args.at);
        tracing::info!(
            "next run at {} (China time)",
            start.format("%Y-%m-%d %H:%M:%S")
        );
        // Sleep in short steps against the wall clock, so a suspended host or a clock
        // change does not shift the start by the length of one long sleep.
        while china_time::now() < start {
            let left = (start - china_time::now()).to_std().unwrap_or_default();
            std::thread::sleep(left.min(Duration::from_secs(30)));
        }
        let status = Command::new(&exe)
            .args(&ctx.global_args)
            .arg("run")
            .args(&args.run_args)
            .env_remove(china_time::CLOCK_START_ENV)
            .status()
            .with_context(|| format!("starting {}", exe.display()))?;
        match status.code() {
            Some(0) => tracing::info!("run finished: complete (status 0)"),
            Some(4) => tracing::info!("run finished: complete but not final yet (status 4)"),
            Some(3) => {
                tracing::warn!("run finished: data missing (status 3); the next run retries it")
            }
            Some(code) => tracing::error!("run failed (status {code})"),
            None => tracing::error!("run was killed by a signal ({status})"),
        }
        runs += 1;
        if args.max_runs.is_some_and(|max| runs >= max) {
            return Ok(Exit::Ok);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_start_is_today_or_tomorrow_in_china_time() {
        let at = NaiveTime::from_hms_opt(3, 30, 0).unwrap();
        // 2026-11-22 19:00 UTC is 2026-11-23 03:00 in China: today, 30 minutes later.
        let now = DateTime::parse_from_rfc3339("2026-11-22T19:00:00Z")
            .unwrap()
            .with_timezone(&china_time::offset());
        assert_eq!(
            next_start(now, at).to_rfc3339(),
            "2026-11-23T03:30:00+08:00"
        );
        // At 03:30 exactly it is the next day's turn.
        let now = DateTime::parse_from_rfc3339("2026-11-23T03:30:00+08:00").unwrap();
        assert_eq!(
            next_start(now, at).to_rfc3339(),
            "2026-11-24T03:30:00+08:00"
        );
    }
}
