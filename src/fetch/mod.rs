//! Fetching from the platforms' APIs into the lake: each submodule drives one source
//! client (`crate::sources`) and writes one table, idempotently (a re-fetch replaces).

pub mod polyv;
