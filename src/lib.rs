//! cdncost: per-channel CDN traffic and cost for mini-drama studios.
//!
//! Data flows one way (ARCHITECTURE.md): `sources` (every HTTP byte: the WeChat and Polyv
//! clients, downloads, the retry rule, the loopback servers) → `pipeline` (the jobs:
//! ingest, logs, usage, polyv, the nightly run) with `cdnlog` (reading and parsing log
//! lines) → `lake` (the dataset's contract: tables, manifests, atomic writes, leases)
//! → `report` and `query`, which read the lake only. The binary (`src/main.rs`,
//! `src/cmd/`) is a thin shell over this library. Below every room, `util` (secrets and
//! their redaction, the process's name) and the small shared files (`china_time`, `gzip`,
//! `exit`, `progress`, `table`, and the `generator` of sample data); `tests/architecture.rs`
//! checks that no file imports a room above its own.

pub mod cdnlog;
pub mod china_time;
pub mod config;
pub mod exit;
pub mod generator;
pub mod gzip;
pub mod lake;
pub mod pipeline;
pub mod platforms;
pub mod progress;
pub mod query;
pub mod report;
pub mod sources;
pub mod table;
pub mod util;

/// glibc's allocator, set for an ingest (BENCHMARKS.md). Call it first thing, before any
/// thread exists: the binary's `main` does, and so does the stage bench.
/// - Arenas: glibc gives each thread that allocates its own arena and keeps freed memory
///   in it, so ingests that run on changing worker threads each leave ~100 MB behind:
///   fetching one day of logs peaked at 650 MB, and at 299 MB with two arenas, for the
///   same speed.
/// - Every row group hands its column buffers (a few MB each) to the Parquet writer and
///   allocates fresh ones. By default glibc maps each such buffer anew and returns it to
///   the system when freed, so every row group paid page faults to zero new pages: 9 % of
///   an ingest's CPU. Buffers below 32 MiB now come from the heap, and up to 64 MiB of
///   free heap is kept for the next row group.
pub fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters (under glibc's own lock).
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
    }
}
