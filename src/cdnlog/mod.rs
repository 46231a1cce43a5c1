//! The CDN access log: reading files, parsing lines, the code tables and the channel tag,
//! and the columns a parsed line becomes. `crate::pipeline::ingest` puts these together.

pub mod channel;
pub mod codes;
pub mod columns;
pub mod format;
pub mod line;
pub mod masks;
pub mod reader;
pub mod rollups;
