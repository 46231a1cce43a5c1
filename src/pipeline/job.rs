//! What every job shares: the settings and the lake it works on, how it shows progress,
//! and what it hands back: a [`StepOutcome`] with its exit status, its counts and the
//! lines a person reads. The commands print those lines; the nightly run collects them.

use crate::config::Config;
use crate::exit::Exit;
use crate::lake::{Lake, LakeError};
use crate::progress::ProgressMode;

/// The context of one job.
#[derive(Clone, Copy)]
pub struct Job<'a> {
    pub config: &'a Config,
    pub lake: &'a Lake,
    pub progress: ProgressMode,
    /// Whether the platforms' environment variables (`<PLATFORM>_*`) override the settings (they
    /// do for the commands; the demo's own settings must win over a user's real ones).
    pub use_env: bool,
}

impl Job<'_> {
    /// A platform's settings as this job uses them: as loaded, with `with_env` (its
    /// `<PLATFORM>_*` variables) over them when the job takes the environment.
    pub fn platform_settings<T: std::any::Any + Clone + Default>(
        &self,
        platform: &str,
        with_env: fn(T) -> T,
    ) -> T {
        let file: T = self.config.platforms.get(platform);
        if self.use_env {
            with_env(file)
        } else {
            file
        }
    }
}

/// What one job did.
#[derive(Debug, Default)]
pub struct StepOutcome {
    pub exit: Exit,
    /// Log files listed (the logs job).
    pub files: usize,
    pub downloaded: usize,
    pub lines: u64,
    pub rejected: u64,
    /// What to tell the person who ran it, one line each (stdout).
    pub said: Vec<String>,
}

impl StepOutcome {
    pub fn say(&mut self, line: impl Into<String>) {
        self.said.push(line.into());
    }

    /// An outcome that says one line.
    pub fn saying(line: impl Into<String>) -> StepOutcome {
        StepOutcome {
            said: vec![line.into()],
            ..StepOutcome::default()
        }
    }
}

/// Why a job could not run or finish (a failed file or video is an outcome, not this).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// A platform's API failed (its client's error, which names the call).
    #[error(transparent)]
    Source(Box<dyn std::error::Error + Send + Sync>),
    #[error(transparent)]
    Lake(#[from] LakeError),
    /// Another writer holds what this job writes.
    #[error(transparent)]
    Lease(#[from] crate::lake::LockError),
    /// Days outside what an API keeps, said in the API's terms.
    #[error("{0}")]
    Range(String),
    /// A reply that contradicts itself or the request: nothing of it is written.
    #[error("{platform} {call}: {detail}; nothing of this reply was written")]
    Inconsistent {
        /// The platform, as people call it.
        platform: &'static str,
        call: &'static str,
        detail: String,
    },
    #[error("{0}")]
    Setup(String),
    #[error("starting the async runtime: {0}")]
    Runtime(std::io::Error),
}

/// The async runtime the API clients run on.
pub fn runtime() -> Result<tokio::runtime::Runtime, JobError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(JobError::Runtime)
}

/// Removes temporaries that runs killed part-way left in `dirs`, and says so.
pub fn sweep_temporaries(dirs: &[&std::path::Path]) {
    let swept: usize = dirs.iter().map(|d| crate::lake::sweep_temporaries(d)).sum();
    if swept > 0 {
        tracing::info!("removed {swept} temporary files left by an interrupted run");
    }
}
