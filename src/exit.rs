//! Exit statuses, chosen for cron and systemd: a script can tell "all good" from "ran,
//! but some data is missing" from "did not run".

use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Exit {
    /// Everything asked for was done.
    #[default]
    Ok = 0,
    /// The command failed (bad configuration, an API refusing us, a lake we can't write).
    Failure = 1,
    /// The command finished, but some inputs failed or are absent: data is missing.
    Incomplete = 3,
    /// Everything that exists is in, but some of it is not final yet (Polyv publishes a
    /// day two days late; a log file fetched soon after its hour may still grow). The
    /// next runs settle it; expected for the latest days of a nightly run.
    NotFinal = 4,
}

impl Exit {
    /// The worse of two outcomes: failure over missing data over not final over done.
    pub fn worst(self, other: Exit) -> Exit {
        let rank = |e: Exit| match e {
            Exit::Ok => 0,
            Exit::NotFinal => 1,
            Exit::Incomplete => 2,
            Exit::Failure => 3,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// For `--help`.
pub const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  done: everything asked for is complete
  1  failure: nothing (more) was done; the message says why
  2  usage: the command line is wrong
  3  incomplete: finished, but some data is missing (a fetch failed or an input is
     absent; listed above the exit): run again, it completes what is missing
  4  not final: everything available is in, but some of it is not final yet (a
     platform's figures of its latest days, log files fetched sooner after their hour
     than complete_after_hours, 3 by default); later runs settle it. Normal for the newest days of a nightly run.";
