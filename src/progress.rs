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

/// Counts items (files) and bytes done out of a known number of items. Under cron
/// (`LogLines`) a line is logged at least every [`LOG_EVERY`] while it lives, also when
/// no item ends for longer (a slow download): a heartbeat thread says what has arrived.
pub struct Progress {
    shared: std::sync::Arc<Shared>,
    bar: Option<ProgressBar>,
    mode: ProgressMode,
    heartbeat: Option<(std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>)>,
}

/// What the heartbeat reads.
struct Shared {
    what: &'static str,
    total: AtomicU64,
    items: AtomicU64,
    bytes: AtomicU64,
    /// Bytes received so far, of items done or not.
    received: AtomicU64,
    started: Instant,
    last_log: Mutex<Instant>,
}

impl Shared {
    /// Logs the state if no line was logged for [`LOG_EVERY`] and items are left.
    fn log_if_due(&self) {
        let mut last = self.last_log.lock().unwrap_or_else(|e| e.into_inner());
        let (items, total) = (
            self.items.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        );
        if last.elapsed() < LOG_EVERY || (total > 0 && items >= total) {
            return;
        }
        *last = Instant::now();
        tracing::info!(
            "{}: {items}/{total} done, {:.1} MB, {:.1} MB received, {:.0}s",
            self.what,
            self.bytes.load(Ordering::Relaxed) as f64 / 1e6,
            self.received.load(Ordering::Relaxed) as f64 / 1e6,
            self.started.elapsed().as_secs_f64()
        );
    }
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
        let shared = std::sync::Arc::new(Shared {
            what,
            total: AtomicU64::new(total),
            items: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            received: AtomicU64::new(0),
            started: now,
            last_log: Mutex::new(now),
        });
        let heartbeat = (mode == ProgressMode::LogLines).then(|| {
            let (stop, stopped) = std::sync::mpsc::channel::<()>();
            let beating = shared.clone();
            let thread = std::thread::spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(LOG_EVERY / 2)
                {
                    beating.log_if_due();
                }
            });
            (stop, thread)
        });
        Progress {
            shared,
            bar,
            mode,
            heartbeat,
        }
    }

    /// Sets the number of items once it is known (after a listing).
    pub fn set_total(&self, total: u64) {
        self.shared.total.store(total, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.set_length(total);
        }
    }

    /// `bytes` more received (of an item not done yet).
    pub fn received(&self, bytes: u64) {
        self.shared.received.fetch_add(bytes, Ordering::Relaxed);
    }

    /// One more item done, with `bytes` of data.
    pub fn item_done(&self, bytes: u64) {
        let items = self.shared.items.fetch_add(1, Ordering::Relaxed) + 1;
        let bytes = self.shared.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        match self.mode {
            ProgressMode::Bar => {
                if let Some(bar) = &self.bar {
                    bar.set_position(items);
                    bar.set_message(format!("{:.1} MB", bytes as f64 / 1e6));
                }
            }
            ProgressMode::LogLines => self.shared.log_if_due(),
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

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some((stop, thread)) = self.heartbeat.take() {
            drop(stop);
            let _ = thread.join();
        }
    }
}
