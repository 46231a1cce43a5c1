//! The `cdncost` binary: parses the command line and hands each command to `cmd::<name>`.

use std::process::ExitCode;

use cdncost::exit::Exit;
use clap::{CommandFactory, FromArgMatches};

mod cmd;

/// Whether an error comes from writing to a closed pipe.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes, each said once: our messages often include their cause's
/// text already ("locking the lake: lake: File exists"), so a cause whose text is in what
/// was said is left out, where `{:#}` would repeat it.
fn said_once(err: &anyhow::Error) -> String {
    let mut said = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !said.contains(&text) {
            if !said.is_empty() {
                said.push_str(": ");
            }
            said.push_str(&text);
        }
    }
    said
}

fn main() -> ExitCode {
    // Before any thread exists (mallopt is not for a running program).
    cdncost::tune_malloc();
    let matches = cmd::Cli::command().get_matches();
    let cli = match cmd::Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    cmd::init_logging(&cli.global);
    match cmd::dispatch(cli) {
        Ok(exit) => exit.into(),
        // The reader of stdout went away (`| head`): what it wanted, it got.
        Err(err) if is_broken_pipe(&err) => Exit::Ok.into(),
        Err(err) => {
            // The whole chain, "ingest: lake/…: No space left on device", each part once;
            // as a JSON log record for collectors, else as a plain line.
            let said = said_once(&err);
            if cmd::logs_are_json() {
                tracing::error!("{said}");
            } else {
                eprintln!("error: {said}");
            }
            Exit::Failure.into()
        }
    }
}
