//! What can stop a report: the lake, a query, the prices, damaged files, no data at all.
//! Every part of the report returns it, so it sits below them all.

use chrono::NaiveDate;
use polars::prelude::PolarsError;

use crate::lake::LakeError;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error(transparent)]
    Rollup(#[from] crate::lake::rollup::RollupError),
    #[error("report {from}..{to}: {}", first_line(source))]
    Query {
        from: NaiveDate,
        to: NaiveDate,
        source: PolarsError,
    },
    #[error("{0}")]
    Prices(String),
    #[error("report {from}..{to}: {} damaged lake file(s), not whole Parquet: {}; ingest each one's source log again (`cdncost ingest <file>`: it replaces that file's rows; fetched logs are kept in raw/cdn_logs/, under the same name)", files.len(), files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", "))]
    Damaged {
        from: NaiveDate,
        to: NaiveDate,
        files: Vec<std::path::PathBuf>,
    },
    #[error("the lake {lake} has no CDN requests and no traffic of any platform: ingest or fetch first (cdncost ingest / cdncost fetch / cdncost run)")]
    NoData { lake: String },
}

/// polars' errors end with the whole query plan, several times: the first line says it.
fn first_line(error: &PolarsError) -> String {
    error
        .to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}
