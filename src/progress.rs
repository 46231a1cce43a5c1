//! Progress for long runs: a bar when a person is watching (stderr is a terminal), a plain
//! log line every few seconds when cron is (stderr is a file or a pipe), nothing with -q.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

const LOG_EVERY: Duration = Duration::from_secs(10);

/// How progress is shown; chosen once from the command line and the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    Bar,
    LogLines,
    Silent,
}

impl ProgressMode {
    pub fn detect(quiet: bool, json_logs: bool) -> ProgressMode {
        if quiet {
            ProgressMode::Silent
        } else if !json_logs && std::io::stderr().is_terminal() {
            ProgressMode::Bar
        } else {
            ProgressMode::LogLines
        }
    }
}

/// Counts items (files) and bytes done out of a known number of items.
pub struct Progress {
    what: &'static str,
    total: AtomicU64,
    items: AtomicU64,
    bytes: AtomicU64,
    bar: Option<ProgressBar>,
    mode: ProgressMode,
    started: Instant,
    last_log: Mutex<Instant>,
}

impl Progress {
    pub fn new(mode: ProgressMode, what: &'static str, total: u64) -> Progress {
        let bar = (mode == ProgressMode::Bar).then(|| {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed}, eta {eta})",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar.set_prefix(what);
            bar
        });
        let now = Instant::now();
        Progress {
            what,
            total: AtomicU64::new(total),
            items: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            bar,
            mode,
            started: now,
            last_log: Mutex::new(now),
        }
    }

    /// Sets the number of items once it is known (after a listing).
    pub fn set_total(&self, total: u64) {
        self.total.store(total, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.set_length(total);
        }
    }

    /// One more item done, with `bytes` of data.
    pub fn item_done(&self, bytes: u64) {
        let items = self.items.fetch_add(1, Ordering::Relaxed) + 1;
        let bytes = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        match self.mode {
            ProgressMode::Bar => {
                if let Some(bar) = &self.bar {
                    bar.set_position(items);
                    bar.set_message(format!("{:.1} MB", bytes as f64 / 1e6));
                }
            }
            ProgressMode::LogLines => {
                let mut last = self.last_log.lock().unwrap_or_else(|e| e.into_inner());
                let total = self.total.load(Ordering::Relaxed);
                if last.elapsed() >= LOG_EVERY && items < total {
                    *last = Instant::now();
                    tracing::info!(
                        "{}: {items}/{total} done, {:.1} MB, {:.0}s",
                        self.what,
                        bytes as f64 / 1e6,
                        self.started.elapsed().as_secs_f64()
                    );
                }
            }
            ProgressMode::Silent => {}
        }
    }

    /// Runs `f` with the bar hidden, so a log line is not torn by a redraw.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
