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
use super::money;
use crate::lake::media::KnownPrefix;
use crate::lake::{Lake, LakeError, ACCOUNT, UNATTRIBUTED, UNMATCHED};

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

/// What names dramas besides the catalogue: prefixes by hand, and per platform, items
/// (Polyv's videos) by their id.
#[derive(Debug, Default, Clone)]
pub struct Mapping {
    pub prefixes: Vec<Named>,
    /// Per platform, item → drama (Polyv's mapping file's `drama` column).
    pub items: BTreeMap<&'static str, BTreeMap<String, String>>,
}

/// What a platform's [`Platform::drama_traffic`] reads: the lake, the requests' rollups
/// day by day (`by_dir`: each day's three frames, of which `[1]` is the one per
/// directory), the period, and the names given by hand.
pub struct DramaInputs<'a> {
    pub lake: &'a Lake,
    pub by_dir: &'a BTreeMap<NaiveDate, [Option<LazyFrame>; 3]>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Path prefixes named by hand (`[media] mapping`), for what the catalogue lacks.
    pub prefixes: &'a [Named],
    /// Per platform, item → drama.
    pub items: &'a BTreeMap<&'static str, BTreeMap<String, String>>,
}

/// One (day, account, channel)'s traffic of one episode, as a platform reports it.
pub type EpisodeTraffic = (DayChannel, Episode, Traffic);

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
pub struct Episode {
    pub drama_name: String,
    pub drama_id: Option<i64>,
    pub episode: Option<u32>,
    pub media_id: Option<i64>,
}

impl Episode {
    /// The episode the catalogue's history knows under a prefix.
    pub fn of(k: &KnownPrefix) -> Episode {
        Episode {
            drama_name: k.drama_name.clone(),
            drama_id: Some(k.drama_id),
            episode: k.episode,
            media_id: Some(k.media_id),
        }
    }

    /// A drama known by its name only.
    pub fn named(name: &str) -> Episode {
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
pub struct Traffic {
    pub requests: i64,
    pub log_bytes: i64,
    /// The bytes the split is weighted by (log bytes; Polyv's own bytes).
    pub weight: u64,
}

/// One attributed row: a (day, channel, platform) cost share of one episode.
#[derive(Debug)]
struct Share {
    date: NaiveDate,
    account: String,
    platform: String,
    channel: String,
    episode: Episode,
    traffic: Traffic,
    billed_bytes: Option<i64>,
    fen: Option<i64>,
}

/// A China day, an account and a channel.
pub type DayChannel = (NaiveDate, String, String);

/// The drama tables of a report.
pub struct DramaTables {
    pub daily: DataFrame,
    pub monthly: DataFrame,
    pub episodes: DataFrame,
    /// Requests of the period no known prefix matched.
    pub unmatched_requests: i64,
    /// The core table's cost per (day, account, platform, channel, drama): the rows of
    /// the FOCUS export.
    pub charges: Vec<Charge>,
}

/// One (day, account, platform, channel, drama)'s share of its core row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    pub date: NaiveDate,
    pub account: String,
    pub platform: String,
    pub channel: String,
    pub drama_id: Option<i64>,
    pub drama_name: String,
    pub billed_bytes: Option<i64>,
    pub fen: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum DramaError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("drama report: {0}")]
    Frame(#[from] PolarsError),
}

/// The drama tables: each platform's traffic per episode (its `drama_traffic`, here by
/// platform name) splits its cost in the priced core table (`long`: date, channel,
/// platform, billed_bytes, cost_cny).
pub fn build(
    by_platform: Vec<(&'static str, Vec<EpisodeTraffic>)>,
    long: &DataFrame,
    billing_factor: f64,
    allocations: &super::allocation::Allocations,
) -> Result<DramaTables, DramaError> {
    let mut traffic: BTreeMap<(DayChannel, &str), BTreeMap<Episode, Traffic>> = BTreeMap::new();
    let mut unmatched_requests = 0;
    for (platform, rows) in by_platform {
        for (day_channel, episode, t) in rows {
            if episode.drama_name == UNMATCHED {
                unmatched_requests += t.requests;
            }
            add(
                traffic.entry((day_channel, platform)).or_default(),
                episode,
                t,
            );
        }
    }
    let shares = split(long, &traffic, allocations)?;
    Ok(DramaTables {
        daily: daily(&shares, billing_factor)?,
        monthly: monthly(&shares, billing_factor)?,
        episodes: episodes(&shares)?,
        unmatched_requests,
        charges: charges(&shares),
    })
}

fn add(into: &mut BTreeMap<Episode, Traffic>, episode: Episode, t: Traffic) {
    let sum = into.entry(episode).or_default();
    sum.requests += t.requests;
    sum.log_bytes += t.log_bytes;
    sum.weight += t.weight;
}

/// Each core row's billed bytes and fen, split over its episodes by weight.
fn split(
    long: &DataFrame,
    traffic: &BTreeMap<(DayChannel, &str), BTreeMap<Episode, Traffic>>,
    allocations: &super::allocation::Allocations,
) -> Result<Vec<Share>, DramaError> {
    let dates: Vec<Option<NaiveDate>> = long.column("date")?.date()?.as_date_iter().collect();
    let accounts = long.column(ACCOUNT)?.str()?.clone();
    let channels = long.column("channel")?.str()?.clone();
    let platforms = long.column("platform")?.str()?.clone();
    let billed = long.column("billed_bytes")?.i64()?.clone();
    let fen = money::fen_of(long.column("cost_cny")?)?;
    let mut shares = Vec::new();
    let nothing = BTreeMap::new();
    for (i, fen) in fen.into_iter().enumerate() {
        let date = dates[i].unwrap_or_default();
        let account = accounts.get(i).unwrap_or_default().to_string();
        let channel = channels.get(i).unwrap_or_default().to_string();
        let platform = platforms.get(i).unwrap_or_default();
        let parts = traffic
            .get(&((date, account.clone(), channel.clone()), platform))
            .unwrap_or(&nothing);
        let weights: Vec<u64> = parts.values().map(|t| t.weight).collect();
        if weights.iter().all(|w| *w == 0) {
            // Nothing to weigh by (billed usage no log explains, kept apart or given to
            // this channel by the unattributed policy): one row keeps it all.
            let received = || {
                let key = (
                    crate::china_time::day_number(date),
                    account.clone(),
                    channel.clone(),
                    platform.to_string(),
                );
                allocations.received.contains_key(&key)
            };
            let name = if channel == UNATTRIBUTED || received() {
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
                account,
                platform: platform.to_string(),
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
                account: account.clone(),
                platform: platform.to_string(),
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

fn sum_by<K: Ord>(shares: &[Share], key: impl Fn(&Share) -> K) -> BTreeMap<K, Sums> {
    let mut sums: BTreeMap<K, Sums> = BTreeMap::new();
    for s in shares {
        let sum = sums.entry(key(s)).or_default();
        sum.requests += s.traffic.requests;
        sum.log_bytes += s.traffic.log_bytes;
        sum.billed_bytes = money::add_option(sum.billed_bytes, s.billed_bytes);
        sum.fen = money::add_option(sum.fen, s.fen);
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

/// The shares summed per (period, account, drama, channel): `period_of` gives a share's period,
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
            s.account.clone(),
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
            ACCOUNT.into(),
            keys.iter().map(|k| k.1.clone()).collect::<Vec<_>>(),
        ),
        Column::new(
            "drama_id".into(),
            keys.iter().map(|k| k.2).collect::<Vec<_>>(),
        ),
        Column::new(
            "drama_name".into(),
            keys.iter().map(|k| k.3.clone()).collect::<Vec<_>>(),
        ),
        Column::new(
            "channel".into(),
            keys.iter().map(|k| k.4.clone()).collect::<Vec<_>>(),
        ),
    ];
    columns.extend(measures(
        &sums.values().collect::<Vec<_>>(),
        Some(billing_factor),
    ));
    sorted(DataFrame::new(sums.len(), columns)?, &period_name)
}

/// The shares summed per (day, account, platform, channel, drama), in that order.
fn charges(shares: &[Share]) -> Vec<Charge> {
    sum_by(shares, |s| {
        (
            s.date,
            s.account.clone(),
            s.platform.clone(),
            s.channel.clone(),
            s.episode.drama_id,
            s.episode.drama_name.clone(),
        )
    })
    .into_iter()
    .map(
        |((date, account, platform, channel, drama_id, drama_name), sums)| Charge {
            date,
            account,
            platform,
            channel,
            drama_id,
            drama_name,
            billed_bytes: sums.billed_bytes,
            fen: sums.fen,
        },
    )
    .collect()
}

fn episodes(shares: &[Share]) -> PolarsResult<DataFrame> {
    let sums = sum_by(shares, |s| {
        (
            s.date,
            s.account.clone(),
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
            ACCOUNT.into(),
            keys.iter().map(|k| k.1.clone()).collect::<Vec<_>>(),
        ),
        Column::new(
            "drama_id".into(),
            keys.iter().map(|k| k.2).collect::<Vec<_>>(),
        ),
        Column::new(
            "drama_name".into(),
            keys.iter().map(|k| k.3.clone()).collect::<Vec<_>>(),
        ),
        Column::new(
            "episode".into(),
            keys.iter()
                .map(|k| k.4.map(|e| e as i32))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "media_id".into(),
            keys.iter().map(|k| k.5).collect::<Vec<_>>(),
        ),
    ];
    columns.extend(measures(&sums.values().collect::<Vec<_>>(), None));
    DataFrame::new(sums.len(), columns)?
        .lazy()
        .sort_by_exprs(
            [col("date"), col(ACCOUNT), col("drama_name"), col("episode")],
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
                col(ACCOUNT),
                col("cost_cny"),
                col("drama_name"),
                col("channel"),
            ],
            SortMultipleOptions::default()
                .with_order_descending_multi([false, false, true, false, false])
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
    fn video_titles_name_their_drama() {
        assert_eq!(
            drama_of_title("重生之我在短剧当总裁 - 第 1 集"),
            "重生之我在短剧当总裁"
        );
        assert_eq!(drama_of_title("单集短片"), "单集短片");
    }
}
