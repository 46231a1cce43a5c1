//! The media catalogue's history as the lake keeps it (`LAKE/media_history/`): every
//! path prefix ever listed, with its last known media. `fetch media` writes it; reports
//! read it to name each request's drama.

use std::collections::BTreeMap;

use polars::prelude::*;

use super::{Lake, LakeError, Scope, MEDIA_HISTORY};

/// One row of the history: a prefix and what it last belonged to.
#[derive(Debug, Clone, PartialEq)]
pub struct KnownPrefix {
    pub media_id: i64,
    pub drama_id: i64,
    pub drama_name: String,
    pub episode: Option<u32>,
    pub first_listed: String,
    pub last_listed: String,
    /// In the latest listing.
    pub listed: bool,
}

/// The history file of `scope`'s catalogue.
pub fn history_file(lake: &Lake, scope: &Scope) -> std::path::PathBuf {
    lake.table_file(MEDIA_HISTORY, "", scope, "history.parquet")
}

/// Every prefix `scope`'s history knows (empty before its first `fetch media`).
pub fn read_history(
    lake: &Lake,
    scope: &Scope,
) -> Result<BTreeMap<String, KnownPrefix>, LakeError> {
    let path = history_file(lake, scope);
    let Some(scan) = lake.scan_file(&path)? else {
        return Ok(BTreeMap::new());
    };
    let err = |source| LakeError::Parquet {
        path: path.clone(),
        source,
    };
    let frame = scan.collect().map_err(err)?;
    let text = |name: &str| -> PolarsResult<Vec<Option<String>>> {
        Ok(frame
            .column(name)?
            .str()?
            .iter()
            .map(|v| v.map(str::to_string))
            .collect())
    };
    let int = |name: &str| -> PolarsResult<Vec<Option<i64>>> {
        Ok(frame
            .column(name)?
            .cast(&DataType::Int64)?
            .i64()?
            .iter()
            .collect())
    };
    let (prefix, drama_name, first, last) = (
        text("path_prefix").map_err(err)?,
        text("drama_name").map_err(err)?,
        text("first_listed").map_err(err)?,
        text("last_listed").map_err(err)?,
    );
    let (media_id, drama_id, episode) = (
        int("media_id").map_err(err)?,
        int("drama_id").map_err(err)?,
        int("episode").map_err(err)?,
    );
    let listed: Vec<Option<bool>> = frame
        .column("listed")
        .and_then(|c| c.bool().map(|b| b.iter().collect()))
        .map_err(err)?;
    let mut known = BTreeMap::new();
    for i in 0..frame.height() {
        let Some(p) = prefix[i].clone() else { continue };
        known.insert(
            p,
            KnownPrefix {
                media_id: media_id[i].unwrap_or_default(),
                drama_id: drama_id[i].unwrap_or_default(),
                drama_name: drama_name[i].clone().unwrap_or_default(),
                episode: episode[i].map(|e| e as u32),
                first_listed: first[i].clone().unwrap_or_default(),
                last_listed: last[i].clone().unwrap_or_default(),
                listed: listed[i].unwrap_or(false),
            },
        );
    }
    Ok(known)
}
