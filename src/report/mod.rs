//! Reports over the lake: everything a finance reader or an analyst sees. Every join and
//! aggregation is a polars lazy query, so only the partitions and columns needed are read.
//!
//! `inputs` reduces each source to rows per day (× channel), `tables` joins and prices
//! them, `html` draws the page, `output` writes the files of one report atomically.

pub mod html;
pub mod inputs;
pub mod output;
pub mod prices;
pub mod summary;
pub mod tables;
