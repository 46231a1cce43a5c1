//! The `cdncost` binary: parses the command line and hands each command to `cmd::<name>`.

use std::process::ExitCode;

use cdncost::exit::Exit;
use clap::{CommandFactory, FromArgMatches};

mod cmd;

/// glibc's allocator, set for an ingest (BENCHMARKS.md); called first thing, before any
/// thread exists.
/// - Arenas: glibc gives each thread that allocates its own arena and keeps freed memory
///   in it, so ingests that run on changing worker threads each leave ~100 MB behind:
///   fetching one day of logs peaked at 650 MB, and at 299 MB with two arenas, for the
///   same speed.
/// - Every row group hands its column buffers (a few MB each) to the Parquet writer and
///   allocates fresh ones. By default glibc maps each such buffer anew and returns it to
///   the system when freed, so every row group paid page faults to zero new pages: 9 % of
///   an ingest's CPU. Buffers below 32 MiB now come from the heap, and up to 64 MiB of
///   free heap is kept for the next row group.
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; no thread has started yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
    }
}

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
    tune_malloc();
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
