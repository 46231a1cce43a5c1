//! `fetch media`: the media catalogue (`listdramas`, `listmedia`) into the lake, so that
//! reports can say which drama and episode each request's file belongs to.
//!
//! Written whole, after every page was read (an error mid-paging writes nothing and the
//! previous catalogue stays):
//! - `LAKE/media/media.parquet`: the latest listing, one row per media;
//! - `LAKE/dramas/dramas.parquet`: the latest listing, one row per drama (a directory of
//!   its own: each directory of the lake is one table to the engines that read it);
//! - `LAKE/media_history/history.parquet`: every path prefix ever listed, with its last
//!   known media: a media taken down keeps its drama in later reports of earlier traffic.
//!
//! The replies' links are temporary and signed: only their path prefix is kept.

use std::collections::BTreeMap;

use polars::prelude::*;

use crate::pipeline::{Job, JobError, StepOutcome};

/// The name of the catalogue's one record (`_manifest/media/catalogue.json`).
const CATALOGUE_RECORD: &str = "catalogue";
use super::media_api::{
    bound_name, episode_number, path_prefix, DramaInfo, MediaInfo, MAX_NAME_CHARS,
};
use super::WechatClient;
use crate::china_time;
use crate::lake::catalogue::manifest_kind;
use crate::lake::manifest::CatalogueRecord;
use crate::lake::media::{history_file, read_history, KnownPrefix};
use crate::lake::scope::Scope;
use crate::lake::{stage_frame, Lake, LakeError, ParquetOptions, SafeName, DRAMAS_DIR, MEDIA_DIR};

/// One media as the lake keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaRow {
    pub media_id: i64,
    pub drama_id: i64,
    pub drama_name: String,
    pub name: String,
    pub episode: Option<u32>,
    pub duration_s: f64,
    pub file_size: u64,
    pub path_prefix: Option<String>,
}

/// The listing as the lake keeps it: names joined, links reduced to prefixes.
pub fn media_rows(dramas: &[DramaInfo], media: &[MediaInfo]) -> Vec<MediaRow> {
    let names: BTreeMap<i64, &str> = dramas
        .iter()
        .map(|d| (d.drama_id, d.name.as_str()))
        .collect();
    media
        .iter()
        .map(|m| {
            // The drama's own name; else the episode name's part before " - ".
            let drama_name = names
                .get(&m.drama_id)
                .filter(|n| !n.is_empty())
                .map(|n| n.to_string())
                .unwrap_or_else(|| {
                    m.name
                        .split(" - ")
                        .next()
                        .unwrap_or_default()
                        .trim()
                        .to_string()
                });
            let prefix = [&m.mp4_url, &m.hls_url]
                .into_iter()
                .flatten()
                .find_map(|link| path_prefix(link));
            MediaRow {
                media_id: m.media_id,
                drama_id: m.drama_id,
                drama_name,
                name: m.name.clone(),
                episode: episode_number(&m.name),
                duration_s: m.duration,
                file_size: m.file_size,
                path_prefix: prefix,
            }
        })
        .collect()
}

fn media_frame(rows: &[MediaRow], fetched_at: &str) -> PolarsResult<DataFrame> {
    df!(
        "media_id" => rows.iter().map(|r| r.media_id).collect::<Vec<_>>(),
        "drama_id" => rows.iter().map(|r| r.drama_id).collect::<Vec<_>>(),
        "drama_name" => rows.iter().map(|r| r.drama_name.clone()).collect::<Vec<_>>(),
        "name" => rows.iter().map(|r| r.name.clone()).collect::<Vec<_>>(),
        "episode" => rows.iter().map(|r| r.episode.map(|e| e as i32)).collect::<Vec<_>>(),
        "duration_s" => rows.iter().map(|r| r.duration_s).collect::<Vec<_>>(),
        "file_size" => rows.iter().map(|r| r.file_size as i64).collect::<Vec<_>>(),
        "path_prefix" => rows.iter().map(|r| r.path_prefix.clone()).collect::<Vec<_>>(),
        "fetched_at" => vec![fetched_at.to_string(); rows.len()],
    )
}

fn dramas_frame(dramas: &[DramaInfo]) -> PolarsResult<DataFrame> {
    df!(
        "drama_id" => dramas.iter().map(|d| d.drama_id).collect::<Vec<_>>(),
        "name" => dramas.iter().map(|d| d.name.clone()).collect::<Vec<_>>(),
        "producer" => dramas.iter().map(|d| d.producer.clone()).collect::<Vec<_>>(),
        "media_count" => dramas.iter().map(|d| d.media_count).collect::<Vec<_>>(),
        "audit_status" => dramas
            .iter()
            .map(|d| d.audit_detail.as_ref().and_then(|a| a.status))
            .collect::<Vec<_>>(),
    )
}

/// What a listing says that it should not: ids listed twice, names past the bound, a
/// path prefix claimed by media of two dramas, counts that disagree. Each is decided by
/// a stated rule and said with its ids; the listing that is kept follows the rules.
pub fn check_listing(dramas: &mut Vec<DramaInfo>, media: &mut Vec<MediaInfo>) -> Vec<String> {
    let mut said = Vec::new();
    let twice = |ids: Vec<i64>, what: &str, said: &mut Vec<String>| {
        if !ids.is_empty() {
            said.push(format!(
                "media: the catalogue lists {what} {} more than once (the listing changed while it was read?): the first listing of each is kept",
                ids_text(&ids)
            ));
        }
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut repeated = Vec::new();
    dramas.retain(|d| {
        seen.insert(d.drama_id) || {
            repeated.push(d.drama_id);
            false
        }
    });
    twice(repeated, "drama ids", &mut said);
    let mut seen = std::collections::BTreeSet::new();
    let mut repeated = Vec::new();
    media.retain(|m| {
        seen.insert(m.media_id) || {
            repeated.push(m.media_id);
            false
        }
    });
    twice(repeated, "media ids", &mut said);
    let mut cut = 0;
    for d in dramas.iter_mut() {
        cut += bound_name(&mut d.name) as usize + bound_name(&mut d.producer) as usize;
    }
    for m in media.iter_mut() {
        cut += bound_name(&mut m.name) as usize;
    }
    if cut > 0 {
        said.push(format!(
            "media: {cut} names longer than {MAX_NAME_CHARS} characters were cut to {MAX_NAME_CHARS}"
        ));
    }
    let counted: i64 = dramas.iter().map(|d| d.media_count.max(0)).sum();
    if counted != media.len() as i64 {
        said.push(format!(
            "media: the dramas count {counted} media and {} are listed (the listing changed while it was read, or media without a drama): the media listed are kept",
            media.len()
        ));
    }
    said
}

/// Path prefixes that media of more than one drama claim, with the media: the rule is
/// that the highest media id (the newest upload) names the prefix.
fn shared_prefixes(rows: &[MediaRow]) -> Vec<String> {
    let mut claims: BTreeMap<&str, Vec<&MediaRow>> = BTreeMap::new();
    for row in rows {
        if let Some(prefix) = &row.path_prefix {
            claims.entry(prefix).or_default().push(row);
        }
    }
    claims
        .into_iter()
        .filter(|(_, rows)| rows.iter().any(|r| r.drama_id != rows[0].drama_id))
        .map(|(prefix, rows)| {
            let who: Vec<String> = rows
                .iter()
                .map(|r| format!("media {} (drama {})", r.media_id, r.drama_id))
                .collect();
            let newest = rows.iter().map(|r| r.media_id).max().unwrap_or_default();
            format!(
                "media: path prefix {prefix} is claimed by {}: media {newest}, the highest id, names it",
                who.join(", ")
            )
        })
        .collect()
}

fn ids_text(ids: &[i64]) -> String {
    let shown: Vec<String> = ids.iter().take(10).map(i64::to_string).collect();
    match ids.len() {
        n if n > 10 => format!("{} and {} more", shown.join(", "), n - 10),
        _ => shown.join(", "),
    }
}

/// The history after a listing: what was known, each prefix of `rows` updated to it (a
/// prefix several rows claim goes to the highest media id).
pub fn merge_history(
    mut known: BTreeMap<String, KnownPrefix>,
    rows: &[MediaRow],
    now: &str,
) -> BTreeMap<String, KnownPrefix> {
    for entry in known.values_mut() {
        entry.listed = false;
    }
    let mut rows: Vec<&MediaRow> = rows.iter().collect();
    rows.sort_by_key(|r| r.media_id);
    for row in rows {
        let Some(prefix) = &row.path_prefix else {
            continue;
        };
        let first_listed = known
            .get(prefix)
            .map_or_else(|| now.to_string(), |k| k.first_listed.clone());
        known.insert(
            prefix.clone(),
            KnownPrefix {
                media_id: row.media_id,
                drama_id: row.drama_id,
                drama_name: row.drama_name.clone(),
                episode: row.episode,
                first_listed,
                last_listed: now.to_string(),
                listed: true,
            },
        );
    }
    known
}

fn history_frame(known: &BTreeMap<String, KnownPrefix>) -> PolarsResult<DataFrame> {
    let v = || known.values();
    df!(
        "path_prefix" => known.keys().cloned().collect::<Vec<_>>(),
        "media_id" => v().map(|k| k.media_id).collect::<Vec<_>>(),
        "drama_id" => v().map(|k| k.drama_id).collect::<Vec<_>>(),
        "drama_name" => v().map(|k| k.drama_name.clone()).collect::<Vec<_>>(),
        "episode" => v().map(|k| k.episode.map(|e| e as i32)).collect::<Vec<_>>(),
        "first_listed" => v().map(|k| k.first_listed.clone()).collect::<Vec<_>>(),
        "last_listed" => v().map(|k| k.last_listed.clone()).collect::<Vec<_>>(),
        "listed" => v().map(|k| k.listed).collect::<Vec<_>>(),
    )
}

/// Writes the three files and the record, all or nothing.
pub fn publish(
    lake: &Lake,
    scope: &Scope,
    dramas: &[DramaInfo],
    media: &[MediaInfo],
) -> Result<CatalogueRecord, LakeError> {
    let now = china_time::now_rfc3339();
    let rows = media_rows(dramas, media);
    let history = merge_history(read_history(lake, scope)?, &rows, &now);
    let frame_err = |path: std::path::PathBuf| move |source| LakeError::Parquet { path, source };
    let (media_path, dramas_path, history_path) = (
        lake.table_file(MEDIA_DIR, "", scope, "media.parquet"),
        lake.table_file(DRAMAS_DIR, "", scope, "dramas.parquet"),
        history_file(lake, scope),
    );
    let options = ParquetOptions::default();
    let staged = vec![
        stage_frame(
            &media_path,
            &media_frame(&rows, &now)
                .and_then(|f| scope.label(f))
                .map_err(frame_err(media_path.clone()))?,
            options,
        )?,
        stage_frame(
            &dramas_path,
            &dramas_frame(dramas)
                .and_then(|f| scope.label(f))
                .map_err(frame_err(dramas_path.clone()))?,
            options,
        )?,
        stage_frame(
            &history_path,
            &history_frame(&history)
                .and_then(|f| scope.label(f))
                .map_err(frame_err(history_path.clone()))?,
            options,
        )?,
    ];
    let record = CatalogueRecord {
        fetched_at: now,
        dramas: dramas.len(),
        media: rows.len(),
        media_without_prefix: rows.iter().filter(|r| r.path_prefix.is_none()).count(),
        prefixes_known: history.len(),
        ..Default::default()
    };
    let manifest = lake.manifest_file(
        manifest_kind::CATALOGUE,
        scope,
        &SafeName::exact(CATALOGUE_RECORD).expect("a safe name"),
    );
    lake.replace(staged, &manifest, record)
}

/// `fetch media` as one call.
pub fn fetch(job: &Job, (scope, config): super::AccountSettings) -> Result<StepOutcome, JobError> {
    let client = WechatClient::new(config)?;
    // Runs of other days refresh the same catalogue: wait for one that is at it (a
    // minute or so), rather than fail.
    let _lease = job.lake.lease_waiting(
        &job.lake
            .unit(manifest_kind::CATALOGUE, scope, CATALOGUE_RECORD),
        std::time::Duration::from_secs(300),
    )?;
    let (mut dramas, mut media) = crate::pipeline::runtime()?.block_on(async {
        let dramas = client.list_dramas().await?;
        let media = client.list_media().await?;
        Ok::<_, JobError>((dramas, media))
    })?;
    let mut said = check_listing(&mut dramas, &mut media);
    said.extend(shared_prefixes(&media_rows(&dramas, &media)));
    for line in &said {
        tracing::warn!("{line}");
    }
    let record = publish(job.lake, scope, &dramas, &media)?;
    let mut outcome = StepOutcome::saying(format!(
        "media{}: {} dramas, {} media listed; {} path prefixes known (listed now or before)",
        crate::platforms::accounts::of(scope),
        record.dramas,
        record.media,
        record.prefixes_known
    ));
    outcome.said.extend(said);
    if record.media_without_prefix > 0 {
        outcome.say(format!(
            "{} media had no link to take a path prefix from: their traffic stays (unmatched)",
            record.media_without_prefix
        ));
    }
    Ok(outcome)
}
