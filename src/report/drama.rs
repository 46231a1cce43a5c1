//! Per-drama attribution: which drama (and episode), through which channel, cost how much.
//!
//! A request belongs to the media whose path prefix starts its path ([`media_of`]: the
//! longest prefix the catalogue's history knows, so a media taken down keeps its drama).
//! Polyv videos belong to the drama their title names ("剧目名 - 第 N 集"). What matches
//! nothing is `(unmatched)`, counted and shown; billed usage no log explains stays
//! `(unattributed)`.
//!
//! Money is split, never re-priced: each (day, channel, platform) cost of the core table
//! is divided over that day's and channel's episodes by their bytes, in whole fen by the
//! largest remainder ([`super::apportion`]). So a day's drama rows add up to its channel
//! rows to the fen, and those to the bill.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use polars::prelude::*;

use super::apportion::largest_remainder;
use super::inputs::{in_range, scan_range};
use super::money;
use crate::lake::media::{read_history, KnownPrefix};
use crate::lake::scope::platform;
use crate::lake::{collect_streaming, Scope};
use crate::lake::{Lake, LakeError, POLYV, UNATTRIBUTED, UNMATCHED, UNTAGGED};

/// The media a request path belongs to: the longest prefix of `path`, ending at a `/`,
/// that `known` lists. DOMAIN.md marks the prefix rule an assumption to check on real
/// data; this is the one place the report applies it. The library's SQL
/// (`queries/drama_*.sql`) joins on the request's own directory instead: the same media
/// wherever a file lies directly in its prefix (as the catalogue lists them), none for a
/// file in a directory below it, which this rule still attributes.
pub fn media_of<'a, T>(path: &str, known: &'a BTreeMap<String, T>) -> Option<&'a T> {
    let mut end = path.len();
    while let Some(slash) = path[..end].rfind('/') {
        if let Some(found) = known.get(&path[..=slash]) {
            return Some(found);
        }
        end = slash;
    }
    None
}

/// What names dramas besides the catalogue: prefixes by hand, Polyv videos by vid.
#[derive(Debug, Default, Clone)]
pub struct Mapping {
    pub prefixes: Vec<Named>,
    /// vid → drama, from the Polyv mapping file's `drama` column.
    pub polyv: BTreeMap<String, String>,
}

/// A path prefix named by hand (`[media] mapping`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub path_prefix: String,
    pub drama_name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("drama mapping {path}: {why}")]
    Read {
        path: std::path::PathBuf,
        why: String,
    },
    #[error("drama mapping {path}, line {line}: {why}")]
    Line {
        path: std::path::PathBuf,
        line: usize,
        why: String,
    },
}

/// Reads a `path_prefix,drama_name` file (a header line, then one prefix a line; a
/// prefix starts and ends with `/`, as in the log paths).
pub fn read_mapping(path: &std::path::Path) -> Result<Vec<Named>, MappingError> {
    let bad = |line: usize, why: String| MappingError::Line {
        path: path.to_path_buf(),
        line,
        why,
    };
    let mut reader = csv::Reader::from_path(path).map_err(|e| MappingError::Read {
        path: path.to_path_buf(),
        why: e.to_string(),
    })?;
    let headers = reader.headers().map_err(|e| bad(1, e.to_string()))?.clone();
    let headers: Vec<&str> = headers
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}'))
        .collect();
    if headers != ["path_prefix", "drama_name"] {
        return Err(bad(1, "the header must be path_prefix,drama_name".into()));
    }
    let mut named = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| bad(line, e.to_string()))?;
        let (prefix, name) = (record[0].trim(), record[1].trim());
        if !prefix.starts_with('/') || !prefix.ends_with('/') {
            return Err(bad(
                line,
                format!("'{prefix}' does not start and end with '/'"),
            ));
        }
        if name.is_empty() {
            return Err(bad(line, "no drama_name".into()));
        }
        named.push(Named {
            path_prefix: prefix.to_string(),
            drama_name: name.to_string(),
        });
    }
    Ok(named)
}

/// The drama a Polyv title names: its part before " - " (the whole title otherwise).
pub fn drama_of_title(title: &str) -> &str {
    title.split(" - ").next().unwrap_or(title).trim()
}

/// What a share of traffic is attributed to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Episode {
    drama_name: String,
    drama_id: Option<i64>,
    episode: Option<u32>,
    media_id: Option<i64>,
}

impl Episode {
    fn of(k: &KnownPrefix) -> Episode {
        Episode {
            drama_name: k.drama_name.clone(),
            drama_id: Some(k.drama_id),
            episode: k.episode,
            media_id: Some(k.media_id),
        }
    }

    fn named(name: &str) -> Episode {
        Episode {
            drama_name: name.to_string(),
            drama_id: None,
            episode: None,
            media_id: None,
        }
    }
}

/// Traffic of one episode in one (day, channel, platform).
#[derive(Debug, Default, Clone, Copy)]
struct Traffic {
    requests: i64,
    log_bytes: i64,
    /// The bytes the split is weighted by (log bytes; Polyv's own bytes).
    weight: u64,
}

/// One attributed row: a (day, channel, platform) cost share of one episode.
#[derive(Debug)]
struct Share {
    date: NaiveDate,
    channel: String,
    episode: Episode,
    traffic: Traffic,
    billed_bytes: Option<i64>,
    fen: Option<i64>,
}

type DayChannel = (NaiveDate, String);

/// The drama tables of a report.
pub struct DramaTables {
    pub daily: DataFrame,
    pub monthly: DataFrame,
    pub episodes: DataFrame,
    /// Requests of the period no known prefix matched.
    pub unmatched_requests: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum DramaError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("drama report: {0}")]
    Frame(#[from] PolarsError),
}

/// The drama tables of `from..=to`, from the lake (its catalogue, Polyv's traffic and
/// `by_dir`, the requests' rollups day by day, of which the one per directory is read)
/// and the priced core table (`long`:
/// date, channel, platform, billed_bytes, cost_cny).
pub fn build(
    lake: &Lake,
    by_dir: &BTreeMap<NaiveDate, [Option<LazyFrame>; 3]>,
    from: NaiveDate,
    to: NaiveDate,
    long: &DataFrame,
    billing_factor: f64,
    mapping: &Mapping,
) -> Result<DramaTables, DramaError> {
    let mut known: BTreeMap<String, Episode> =
        read_history(lake, &Scope::default_of(platform::WECHAT))?
            .into_iter()
            .map(|(prefix, k)| (prefix, Episode::of(&k)))
            .collect();
    // The hand-made names fill gaps only: what the catalogue knows, it names.
    for named in &mapping.prefixes {
        known
            .entry(named.path_prefix.clone())
            .or_insert_with(|| Episode::named(&named.drama_name));
    }
    let mut traffic: BTreeMap<(DayChannel, &str), BTreeMap<Episode, Traffic>> = BTreeMap::new();
    let mut unmatched_requests = 0;
    // A day at a time, each day's files only: what is held is one day's directories.
    for (day, frames) in by_dir.range(from..=to) {
        for (day_channel, episode, t) in wechat_traffic(frames[1].clone(), *day, *day, &known)? {
            if episode.drama_name == UNMATCHED {
                unmatched_requests += t.requests;
            }
            add(
                traffic.entry((day_channel, "wechat")).or_default(),
                episode,
                t,
            );
        }
    }
    for (day_channel, episode, t) in polyv_traffic(lake, from, to, &mapping.polyv)? {
        add(
            traffic.entry((day_channel, "polyv")).or_default(),
            episode,
            t,
        );
    }
    let shares = split(long, &traffic)?;
    Ok(DramaTables {
        daily: daily(&shares, billing_factor)?,
        monthly: monthly(&shares, billing_factor)?,
        episodes: episodes(&shares)?,
        unmatched_requests,
    })
}

fn add(into: &mut BTreeMap<Episode, Traffic>, episode: Episode, t: Traffic) {
    let sum = into.entry(episode).or_default();
    sum.requests += t.requests;
    sum.log_bytes += t.log_bytes;
    sum.weight += t.weight;
}

/// WeChat requests per (day, channel, episode): the rollup per directory (a few
/// thousand rows a day) summed over hours, then matched here.
fn wechat_traffic(
    by_dir: Option<LazyFrame>,
    from: NaiveDate,
    to: NaiveDate,
    known: &BTreeMap<String, Episode>,
) -> Result<Vec<(DayChannel, Episode, Traffic)>, DramaError> {
    let Some(by_dir) = by_dir else {
        return Ok(Vec::new());
    };
    let groups = in_range(by_dir, from, to)
        .select([
            col("date"),
            col("channel").fill_null(lit(UNTAGGED)),
            col("dir"),
            col("requests"),
            col("bytes"),
        ])
        .group_by([col("date"), col("channel"), col("dir")])
        .agg([
            col("requests").sum().alias("requests"),
            col("bytes").sum().alias("log_bytes"),
        ]);
    let groups = collect_streaming(groups)?;
    let dates: Vec<Option<NaiveDate>> = groups.column("date")?.date()?.as_date_iter().collect();
    let channels = groups.column("channel")?.str()?.clone();
    let dirs = groups.column("dir")?.str()?.clone();
    let requests = groups.column("requests")?.i64()?.clone();
    let bytes = groups.column("log_bytes")?.cast(&DataType::Int64)?;
    let bytes = bytes.i64()?;
    let mut rows = Vec::with_capacity(groups.height());
    for (i, date) in dates.into_iter().enumerate() {
        let date = date.unwrap_or_default();
        let channel = channels.get(i).unwrap_or(UNTAGGED).to_string();
        let episode = dirs
            .get(i)
            .and_then(|dir| media_of(dir, known))
            .cloned()
            .unwrap_or_else(|| Episode::named(UNMATCHED));
        let log_bytes = bytes.get(i).unwrap_or(0);
        let t = Traffic {
            requests: requests.get(i).unwrap_or(0),
            log_bytes,
            weight: log_bytes.max(0) as u64,
        };
        rows.push(((date, channel), episode, t));
    }
    Ok(rows)
}

/// Polyv bytes per (day, channel, drama): the mapping file's drama of the video, else
/// the one its title names.
fn polyv_traffic(
    lake: &Lake,
    from: NaiveDate,
    to: NaiveDate,
    dramas: &BTreeMap<String, String>,
) -> Result<Vec<(DayChannel, Episode, Traffic)>, DramaError> {
    let Some(scan) = scan_range(lake, POLYV, from, to)? else {
        return Ok(Vec::new());
    };
    let rows = scan
        .select([
            col("date"),
            col("channel"),
            col("vid"),
            col("title"),
            col("total_bytes"),
        ])
        .collect()?;
    let dates: Vec<Option<NaiveDate>> = rows.column("date")?.date()?.as_date_iter().collect();
    let channels = rows.column("channel")?.str()?.clone();
    let titles = rows.column("title")?.str()?.clone();
    let vids = rows.column("vid")?.str()?.clone();
    let bytes = rows.column("total_bytes")?.cast(&DataType::Int64)?;
    let bytes = bytes.i64()?;
    Ok((0..rows.height())
        .map(|i| {
            let date = dates[i].unwrap_or_default();
            let channel = channels.get(i).unwrap_or_default().to_string();
            let drama = vids
                .get(i)
                .and_then(|vid| dramas.get(vid))
                .map(String::as_str)
                .or_else(|| titles.get(i).map(drama_of_title))
                .filter(|d| !d.is_empty());
            let t = Traffic {
                weight: bytes.get(i).unwrap_or(0).max(0) as u64,
                ..Traffic::default()
            };
            (
                (date, channel),
                Episode::named(drama.unwrap_or(UNMATCHED)),
                t,
            )
        })
        .collect())
}

/// Each core row's billed bytes and fen, split over its episodes by weight.
fn split(
    long: &DataFrame,
    traffic: &BTreeMap<(DayChannel, &str), BTreeMap<Episode, Traffic>>,
) -> Result<Vec<Share>, DramaError> {
    let dates: Vec<Option<NaiveDate>> = long.column("date")?.date()?.as_date_iter().collect();
    let channels = long.column("channel")?.str()?.clone();
    let platforms = long.column("platform")?.str()?.clone();
    let billed = long.column("billed_bytes")?.i64()?.clone();
    let fen = money::fen_of(long.column("cost_cny")?)?;
    let mut shares = Vec::new();
    let nothing = BTreeMap::new();
    for (i, fen) in fen.into_iter().enumerate() {
        let date = dates[i].unwrap_or_default();
        let channel = channels.get(i).unwrap_or_default().to_string();
        let platform = platforms.get(i).unwrap_or_default();
        let parts = traffic
            .get(&((date, channel.clone()), platform))
            .unwrap_or(&nothing);
        let weights: Vec<u64> = parts.values().map(|t| t.weight).collect();
        if weights.iter().all(|w| *w == 0) {
            // Nothing to weigh by (billed usage no log explains): one row keeps it all.
            let name = if channel == UNATTRIBUTED {
                UNATTRIBUTED
            } else {
                UNMATCHED
            };
            let mut sum = Traffic::default();
            parts.values().for_each(|t| {
                sum.requests += t.requests;
                sum.log_bytes += t.log_bytes;
            });
            shares.push(Share {
                date,
                channel,
                episode: Episode::named(name),
                traffic: sum,
                billed_bytes: billed.get(i),
                fen,
            });
            continue;
        }
        let split_of =
            |total: Option<i64>| total.map(|t| largest_remainder(t.max(0) as u64, &weights));
        let (bytes_parts, fen_parts) = (split_of(billed.get(i)), split_of(fen));
        for (k, (episode, t)) in parts.iter().enumerate() {
            shares.push(Share {
                date,
                channel: channel.clone(),
                episode: episode.clone(),
                traffic: *t,
                billed_bytes: bytes_parts.as_ref().map(|p| p[k] as i64),
                fen: fen_parts.as_ref().map(|p| p[k] as i64),
            });
        }
    }
    Ok(shares)
}

/// Sums of shares by a key.
#[derive(Debug, Default, Clone, Copy)]
struct Sums {
    requests: i64,
    log_bytes: i64,
    billed_bytes: Option<i64>,
    fen: Option<i64>,
}

fn add_option(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (None, None) => None,
        _ => Some(a.unwrap_or(0) + b.unwrap_or(0)),
    }
}

fn sum_by<K: Ord>(shares: &[Share], key: impl Fn(&Share) -> K) -> BTreeMap<K, Sums> {
    let mut sums: BTreeMap<K, Sums> = BTreeMap::new();
    for s in shares {
        let sum = sums.entry(key(s)).or_default();
        sum.requests += s.traffic.requests;
        sum.log_bytes += s.traffic.log_bytes;
        sum.billed_bytes = add_option(sum.billed_bytes, s.billed_bytes);
        sum.fen = add_option(sum.fen, s.fen);
    }
    sums
}

/// The measure columns shared by the drama tables.
fn measures(sums: &[&Sums], billing_factor: Option<f64>) -> Vec<Column> {
    let mut columns = vec![
        Column::new(
            "requests".into(),
            sums.iter().map(|s| s.requests).collect::<Vec<_>>(),
        ),
        Column::new(
            "log_bytes".into(),
            sums.iter().map(|s| s.log_bytes).collect::<Vec<_>>(),
        ),
    ];
    if let Some(factor) = billing_factor {
        columns.push(Column::new(
            "billed_bytes_est".into(),
            sums.iter()
                .map(|s| (s.log_bytes as f64 * factor).round() as i64)
                .collect::<Vec<_>>(),
        ));
    }
    columns.push(Column::new(
        "billed_bytes".into(),
        sums.iter().map(|s| s.billed_bytes).collect::<Vec<_>>(),
    ));
    columns.push(money::column_from_fen(
        "cost_cny",
        sums.iter().map(|s| s.fen),
    ));
    columns
}

fn daily(shares: &[Share], billing_factor: f64) -> PolarsResult<DataFrame> {
    let column = |dates: Vec<NaiveDate>| Column::new("date".into(), dates);
    by_drama_and_channel(shares, |s| s.date, column, billing_factor)
}

fn monthly(shares: &[Share], billing_factor: f64) -> PolarsResult<DataFrame> {
    let month = |s: &Share| format!("{:04}-{:02}", s.date.year(), s.date.month());
    let column = |months: Vec<String>| Column::new("month".into(), months);
    by_drama_and_channel(shares, month, column, billing_factor)
}

/// The shares summed per (period, drama, channel): `period_of` gives a share's period,
/// `period_column` makes the periods a column.
fn by_drama_and_channel<P: Ord + Clone>(
    shares: &[Share],
    period_of: impl Fn(&Share) -> P,
    period_column: impl Fn(Vec<P>) -> Column,
    billing_factor: f64,
) -> PolarsResult<DataFrame> {
    let sums = sum_by(shares, |s| {
        let e = &s.episode;
        (
            period_of(s),
            e.drama_id,
            e.drama_name.clone(),
            s.channel.clone(),
        )
    });
    let keys: Vec<_> = sums.keys().collect();
    let period = period_column(keys.iter().map(|k| k.0.clone()).collect());
    let period_name = period.name().to_string();
    let mut columns = vec![
        period,
        Column::new(
            "drama_id".into(),
            keys.iter().map(|k| k.1).collect::<Vec<_>>(),
        ),
        Column::new(
            "drama_name".into(),
            keys.iter().map(|k| k.2.clone()).collect::<Vec<_>>(),
        ),
        Column::new(
            "channel".into(),
            keys.iter().map(|k| k.3.clone()).collect::<Vec<_>>(),
        ),
    ];
    columns.extend(measures(
        &sums.values().collect::<Vec<_>>(),
        Some(billing_factor),
    ));
    sorted(DataFrame::new(sums.len(), columns)?, &period_name)
}

fn episodes(shares: &[Share]) -> PolarsResult<DataFrame> {
    let sums = sum_by(shares, |s| {
        (
            s.date,
            s.episode.drama_id,
            s.episode.drama_name.clone(),
            s.episode.episode,
            s.episode.media_id,
        )
    });
    let keys: Vec<_> = sums.keys().collect();
    let mut columns = vec![
        Column::new("date".into(), keys.iter().map(|k| k.0).collect::<Vec<_>>()),
        Column::new(
            "drama_id".into(),
            keys.iter().map(|k| k.1).collect::<Vec<_>>(),
        ),
        Column::new(
            "drama_name".into(),
            keys.iter().map(|k| k.2.clone()).collect::<Vec<_>>(),
        ),
        Column::new(
            "episode".into(),
            keys.iter()
                .map(|k| k.3.map(|e| e as i32))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "media_id".into(),
            keys.iter().map(|k| k.4).collect::<Vec<_>>(),
        ),
    ];
    columns.extend(measures(&sums.values().collect::<Vec<_>>(), None));
    DataFrame::new(sums.len(), columns)?
        .lazy()
        .sort_by_exprs(
            [col("date"), col("drama_name"), col("episode")],
            SortMultipleOptions::default().with_nulls_last(true),
        )
        .collect()
}

/// By period, then cost (highest first), then drama and channel.
fn sorted(frame: DataFrame, period: &str) -> PolarsResult<DataFrame> {
    frame
        .lazy()
        .sort_by_exprs(
            [
                col(period),
                col("cost_cny"),
                col("drama_name"),
                col("channel"),
            ],
            SortMultipleOptions::default()
                .with_order_descending_multi([false, true, false, false])
                .with_nulls_last(true),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(prefixes: &[(&str, i64)]) -> BTreeMap<String, KnownPrefix> {
        prefixes
            .iter()
            .map(|(p, id)| {
                let k = KnownPrefix {
                    media_id: *id,
                    drama_id: 1,
                    drama_name: "剧".into(),
                    episode: None,
                    first_listed: String::new(),
                    last_listed: String::new(),
                    listed: true,
                };
                (p.to_string(), k)
            })
            .collect()
    }

    #[test]
    fn the_longest_known_prefix_wins() {
        let k = known(&[("/app/111/", 1), ("/app/", 9), ("/app/111/hls/", 2)]);
        let id = |path: &str| media_of(path, &k).map(|m| m.media_id);
        assert_eq!(id("/app/111/v.f100030.mp4"), Some(1));
        assert_eq!(
            id("/app/111/hls/v.f1419-3.ts"),
            Some(2),
            "a deeper prefix first"
        );
        assert_eq!(
            id("/app/222/v.mp4"),
            Some(9),
            "a shorter prefix when nothing deeper"
        );
        assert_eq!(id("/other/111/v.mp4"), None);
        assert_eq!(id("/app/111"), Some(9), "a prefix ends at a '/'");
        assert_eq!(id(""), None);
    }

    #[test]
    fn polyv_titles_name_their_drama() {
        assert_eq!(
            drama_of_title("重生之我在短剧当总裁 - 第 1 集"),
            "重生之我在短剧当总裁"
        );
        assert_eq!(drama_of_title("单集短片"), "单集短片");
    }
}
