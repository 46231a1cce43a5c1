//! cdncost: per-channel CDN traffic and cost for mini-drama studios.
//!
//! Data flows one way (ARCHITECTURE.md): `sources` (every HTTP byte: the WeChat and Polyv
//! clients, downloads, the retry rule, the loopback servers) → `pipeline` (the jobs:
//! ingest, logs, usage, polyv, the nightly run) with `cdnlog` (reading and parsing log
//! lines) → `lake` (the dataset's contract: tables, manifests, atomic writes, the lock)
//! → `report` and `query`, which read the lake only. The binary (`src/main.rs`,
//! `src/cmd/`) is a thin shell over this library.

pub mod cdnlog;
pub mod china_time;
pub mod config;
pub mod exit;
pub mod generator;
pub mod gzip;
pub mod lake;
pub mod pipeline;
pub mod progress;
pub mod query;
pub mod report;
pub mod sources;
pub mod table;
