//! Reports over the lake: everything a finance reader or an analyst sees. Every join and
//! aggregation is a polars lazy query, so only the partitions and columns needed are read.

pub mod summary;
