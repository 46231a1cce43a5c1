//! cdncost: per-channel CDN traffic and cost for mini-drama studios.
//!
//! Data flows one way: `sources` (WeChat and Polyv APIs, downloaded log files) →
//! `cdnlog` (parse) → `ingest` → `lake` (partitioned Parquet) → `report` and queries.
//! The binary (`src/main.rs`, `src/cmd/`) is a thin shell over this library.

pub mod cdnlog;
pub mod china_time;
pub mod config;
pub mod exit;
pub mod fetch;
pub mod generator;
pub mod ingest;
pub mod lake;
pub mod progress;
pub mod query;
pub mod report;
pub mod sources;
pub mod table;
