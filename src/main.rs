//! The `cdncost` binary: parses the command line and hands each command to `cmd::<name>`.

use std::process::ExitCode;

use cdncost::exit::Exit;
use clap::{CommandFactory, FromArgMatches};

mod cmd;

fn main() -> ExitCode {
    let matches = cmd::Cli::command().get_matches();
    let cli = match cmd::Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    cmd::init_logging(&cli.global);
    match cmd::dispatch(cli) {
        Ok(exit) => exit.into(),
        Err(err) => {
            // `{:#}` prints the whole chain: "ingest: lake/…: No space left on device".
            // Once: as a JSON log record for collectors, else as a plain line.
            if cmd::logs_are_json() {
                tracing::error!("{err:#}");
            } else {
                eprintln!("error: {err:#}");
            }
            Exit::Failure.into()
        }
    }
}
