//! Exit statuses, chosen for cron and systemd: a script can tell "all good" from "ran,
//! but some data is missing" from "did not run".

use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything asked for was done.
    Ok = 0,
    /// The command failed (bad configuration, an API refusing us, a lake we can't write).
    Failure = 1,
    /// The command line was wrong (clap's own status).
    Usage = 2,
    /// The command finished, but some inputs failed or are not final: data is missing.
    Incomplete = 3,
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
  3  incomplete: finished, but some inputs failed or are not final (listed above the exit)";
