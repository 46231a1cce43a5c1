//! What becomes of billed usage no log line explains: the `(unattributed)` row a platform
//! gives a day whose bill its logs cannot split (WeChat: a day billed by the usage series
//! with no log byte in the lake). `[allocation] unattributed` states the policy:
//!
//! - `separate` (the default): the row stays, under its own name;
//! - `proportional`: its billed bytes and cost are spread over the channels of the same
//!   platform and account by their billed bytes (their log bytes' share): those of the
//!   day, or, when the day has none (as a day without logs never has), those of its month;
//! - `to:<channel>`: all of it goes to one channel.
//!
//! The policy is the last step of the one cost rule ([`super::cost::price`]): the day's
//! bill is already split in whole fen, so moving the row's fen (and its bytes, by the same
//! weights, largest remainder) changes no day's, month's or account's total by a fen.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use polars::prelude::*;

use super::apportion::largest_remainder;
use super::money;
use crate::lake::{ACCOUNT, UNATTRIBUTED};

/// `[allocation] unattributed`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Unattributed {
    #[default]
    Separate,
    Proportional,
    To(String),
}

impl FromStr for Unattributed {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "separate" => Ok(Unattributed::Separate),
            "proportional" => Ok(Unattributed::Proportional),
            _ => match s.strip_prefix("to:") {
                Some(channel) => {
                    let channel = channel.trim();
                    if channel.is_empty() || channel == UNATTRIBUTED {
                        Err(format!(
                            "unattributed = \"{s}\": to: needs a channel other than {UNATTRIBUTED}"
                        ))
                    } else {
                        Ok(Unattributed::To(channel.to_string()))
                    }
                }
                None => Err(format!(
                    "unattributed = \"{s}\": expected \"separate\", \"proportional\" or \"to:<channel>\""
                )),
            },
        }
    }
}

impl fmt::Display for Unattributed {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Unattributed::Separate => f.write_str("separate"),
            Unattributed::Proportional => f.write_str("proportional"),
            Unattributed::To(channel) => write!(f, "to:{channel}"),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Unattributed {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// `[allocation]` in `cdncost.toml`.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllocationConfig {
    #[serde(default)]
    pub unattributed: Unattributed,
}

/// A core row: (date as China day number, account, channel, platform).
pub type RowKey = (i32, String, String, String);

/// What the policy did: the billed bytes and fen each row received from an
/// `(unattributed)` row, and why the rows it left alone stayed.
#[derive(Debug, Clone, Default)]
pub struct Allocations {
    pub policy: Unattributed,
    pub received: BTreeMap<RowKey, Received>,
    /// (platform, account, date) → why its `(unattributed)` row stays under a policy that
    /// would have moved it.
    pub kept: BTreeMap<(String, String, i32), String>,
}

/// What one row received from its day's `(unattributed)` row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Received {
    pub bytes: i64,
    pub fen: i64,
    /// What the weights were: "billed bytes of the day's channels", "… of 2026-11's".
    pub spread_by: String,
}

/// One priced core row, as the policy handles it.
struct Row {
    date: i32,
    account: String,
    channel: String,
    platform: String,
    billed: Option<i64>,
    basis: Option<String>,
    month: String,
    fen: Option<i64>,
}

impl Row {
    fn key(&self) -> RowKey {
        (
            self.date,
            self.account.clone(),
            self.channel.clone(),
            self.platform.clone(),
        )
    }
}

/// Applies `policy` to priced core rows (`date`, `account`, `channel`, `platform`,
/// `billed_bytes`, `cost_basis`, `month`, `cost_cny`), returning them in the same columns
/// and order (platform, account, month, date, channel).
pub fn apply(rows: DataFrame, policy: &Unattributed) -> PolarsResult<(DataFrame, Allocations)> {
    let mut allocations = Allocations {
        policy: policy.clone(),
        ..Allocations::default()
    };
    let has_unattributed = rows
        .column("channel")?
        .str()?
        .iter()
        .any(|c| c == Some(UNATTRIBUTED));
    if *policy == Unattributed::Separate || !has_unattributed {
        return Ok((rows, allocations));
    }
    let columns: Vec<PlSmallStr> = rows.get_column_names_owned();
    let mut table = read_rows(&rows)?;
    let weights = Weights::of(&table);
    let mut index: BTreeMap<RowKey, usize> = table
        .iter()
        .enumerate()
        .map(|(i, r)| (r.key(), i))
        .collect();
    let mut removed = vec![false; table.len()];
    for i in 0..table.len() {
        if table[i].channel != UNATTRIBUTED {
            continue;
        }
        let (targets, spread_by) = match policy {
            Unattributed::Separate => unreachable!("returned above"),
            Unattributed::To(channel) => (
                vec![(channel.clone(), 1u64)],
                format!("all to channel {channel}"),
            ),
            Unattributed::Proportional => match weights.for_row(&table[i]) {
                Some(found) => found,
                None => {
                    let r = &table[i];
                    allocations.kept.insert(
                        (r.platform.clone(), r.account.clone(), r.date),
                        format!(
                            "no channel of account {} had {} traffic in {} to spread it over",
                            r.account, r.platform, r.month
                        ),
                    );
                    continue;
                }
            },
        };
        let w: Vec<u64> = targets.iter().map(|t| t.1).collect();
        let (bytes, fen) = (table[i].billed, table[i].fen);
        let split = |total: Option<i64>| total.map(|t| largest_remainder(t.max(0) as u64, &w));
        let (bytes_parts, fen_parts) = (split(bytes), split(fen));
        let source = &table[i];
        let (date, account, platform) =
            (source.date, source.account.clone(), source.platform.clone());
        let (basis, month) = (source.basis.clone(), source.month.clone());
        for (k, (channel, _)) in targets.iter().enumerate() {
            let part_bytes = bytes_parts.as_ref().map(|p| p[k] as i64);
            let part_fen = fen_parts.as_ref().map(|p| p[k] as i64);
            let key = (date, account.clone(), channel.clone(), platform.clone());
            let target = match index.get(&key) {
                Some(&t) => t,
                None => {
                    table.push(Row {
                        date,
                        account: account.clone(),
                        channel: channel.clone(),
                        platform: platform.clone(),
                        billed: None,
                        basis: basis.clone(),
                        month: month.clone(),
                        fen: None,
                    });
                    removed.push(false);
                    index.insert(key.clone(), table.len() - 1);
                    table.len() - 1
                }
            };
            let row = &mut table[target];
            row.billed = money::add_option(row.billed, part_bytes);
            row.fen = money::add_option(row.fen, part_fen);
            let got = allocations.received.entry(key).or_default();
            got.bytes += part_bytes.unwrap_or(0);
            got.fen += part_fen.unwrap_or(0);
            got.spread_by = spread_by.clone();
        }
        removed[i] = true;
    }
    let kept: Vec<Row> = table
        .into_iter()
        .zip(removed)
        .filter(|(_, gone)| !gone)
        .map(|(r, _)| r)
        .collect();
    let frame = write_rows(kept)?
        .lazy()
        .sort(
            ["platform", ACCOUNT, "month", "date", "channel"],
            SortMultipleOptions::default(),
        )
        .select(columns.iter().map(|c| col(c.clone())).collect::<Vec<_>>())
        .collect()?;
    Ok((frame, allocations))
}

/// The channels' billed bytes per (platform, account) day and month, `(unattributed)`
/// aside: what `proportional` spreads by.
struct Weights {
    days: BTreeMap<(String, String, i32), BTreeMap<String, u64>>,
    months: BTreeMap<(String, String, String), BTreeMap<String, u64>>,
}

impl Weights {
    fn of(rows: &[Row]) -> Weights {
        let mut weights = Weights {
            days: BTreeMap::new(),
            months: BTreeMap::new(),
        };
        for r in rows.iter().filter(|r| r.channel != UNATTRIBUTED) {
            let bytes = r.billed.unwrap_or(0).max(0) as u64;
            *weights
                .days
                .entry((r.platform.clone(), r.account.clone(), r.date))
                .or_default()
                .entry(r.channel.clone())
                .or_default() += bytes;
            *weights
                .months
                .entry((r.platform.clone(), r.account.clone(), r.month.clone()))
                .or_default()
                .entry(r.channel.clone())
                .or_default() += bytes;
        }
        weights
    }

    /// The channels (by name) and weights an `(unattributed)` row is spread over: its
    /// day's, else its month's; none when neither has a billed byte.
    fn for_row(&self, r: &Row) -> Option<(Vec<(String, u64)>, String)> {
        let positive = |m: &BTreeMap<String, u64>| -> Option<Vec<(String, u64)>> {
            let found: Vec<(String, u64)> = m
                .iter()
                .filter(|(_, w)| **w > 0)
                .map(|(c, w)| (c.clone(), *w))
                .collect();
            (!found.is_empty()).then_some(found)
        };
        let day = self
            .days
            .get(&(r.platform.clone(), r.account.clone(), r.date))
            .and_then(positive);
        if let Some(day) = day {
            return Some((day, "billed bytes of the day's channels".into()));
        }
        self.months
            .get(&(r.platform.clone(), r.account.clone(), r.month.clone()))
            .and_then(positive)
            .map(|m| {
                (
                    m,
                    format!(
                        "billed bytes of the channels' {} (the day has no log traffic)",
                        r.month
                    ),
                )
            })
    }
}

fn read_rows(rows: &DataFrame) -> PolarsResult<Vec<Row>> {
    let dates = rows.column("date")?.date()?.physical().clone();
    let accounts = rows.column(ACCOUNT)?.str()?;
    let channels = rows.column("channel")?.str()?;
    let platforms = rows.column("platform")?.str()?;
    let billed = rows.column("billed_bytes")?.i64()?;
    let bases = rows.column("cost_basis")?.str()?;
    let months = rows.column("month")?.str()?;
    let fen = money::fen_of(rows.column("cost_cny")?)?;
    Ok((0..rows.height())
        .map(|i| Row {
            date: dates.get(i).unwrap_or_default(),
            account: accounts.get(i).unwrap_or_default().to_string(),
            channel: channels.get(i).unwrap_or_default().to_string(),
            platform: platforms.get(i).unwrap_or_default().to_string(),
            billed: billed.get(i),
            basis: bases.get(i).map(str::to_string),
            month: months.get(i).unwrap_or_default().to_string(),
            fen: fen[i],
        })
        .collect())
}

fn write_rows(rows: Vec<Row>) -> PolarsResult<DataFrame> {
    let height = rows.len();
    let text = |name: &str, f: &dyn Fn(&Row) -> Option<String>| {
        Column::new(name.into(), rows.iter().map(f).collect::<Vec<_>>())
    };
    let dates = Int32Chunked::from_vec("date".into(), rows.iter().map(|r| r.date).collect())
        .into_date()
        .into_column();
    let columns = vec![
        dates,
        text(ACCOUNT, &|r| Some(r.account.clone())),
        text("channel", &|r| Some(r.channel.clone())),
        text("platform", &|r| Some(r.platform.clone())),
        Column::new(
            "billed_bytes".into(),
            rows.iter().map(|r| r.billed).collect::<Vec<_>>(),
        ),
        text("cost_basis", &|r| r.basis.clone()),
        text("month", &|r| Some(r.month.clone())),
        money::column_from_fen("cost_cny", rows.iter().map(|r| r.fen)),
    ];
    DataFrame::new(height, columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_and_print_back() {
        for text in ["separate", "proportional", "to:douyin-ads", "to:(untagged)"] {
            let policy: Unattributed = text.parse().unwrap();
            assert_eq!(policy.to_string(), text);
        }
        for bad in ["", "spread", "to:", "to:(unattributed)", "Proportional"] {
            let err = bad.parse::<Unattributed>().unwrap_err();
            assert!(err.contains("unattributed"), "{bad}: {err}");
        }
    }

    fn rows(list: &[(i32, &str, i64, i64)]) -> DataFrame {
        let table = list
            .iter()
            .map(|(date, channel, bytes, fen)| Row {
                date: *date,
                account: "default".into(),
                channel: channel.to_string(),
                platform: "cdn".into(),
                billed: Some(*bytes),
                basis: Some("usage".into()),
                month: "2026-11".into(),
                fen: Some(*fen),
            })
            .collect();
        write_rows(table).unwrap()
    }

    fn fen_by_channel(frame: &DataFrame) -> BTreeMap<(i32, String), (i64, i64)> {
        read_rows(frame)
            .unwrap()
            .into_iter()
            .map(|r| {
                (
                    (r.date, r.channel),
                    (r.billed.unwrap_or(0), r.fen.unwrap_or(0)),
                )
            })
            .collect()
    }

    #[test]
    fn a_day_without_logs_is_spread_by_the_month_or_given_to_one_channel() {
        // Day 1: a 3, b 1 (bytes); day 2: only the unattributed row, 100 bytes, 10 fen.
        let frame = rows(&[
            (1, "a", 300, 30),
            (1, "b", 100, 10),
            (2, UNATTRIBUTED, 100, 10),
        ]);
        let (same, _) = apply(frame.clone(), &Unattributed::Separate).unwrap();
        assert!(same.equals_missing(&frame));
        let (spread, allocations) = apply(frame.clone(), &Unattributed::Proportional).unwrap();
        let got = fen_by_channel(&spread);
        assert_eq!(
            got[&(2, "a".to_string())],
            (75, 8),
            "10 fen by 3:1 → 7.5, 2.5"
        );
        assert_eq!(got[&(2, "b".to_string())], (25, 2));
        assert!(!got.contains_key(&(2, UNATTRIBUTED.to_string())));
        assert_eq!(
            got[&(1, "a".to_string())],
            (300, 30),
            "other days untouched"
        );
        assert!(
            allocations.received[&(2, "default".into(), "a".into(), "cdn".into())]
                .spread_by
                .contains("2026-11")
        );
        let (given, _) = apply(frame, &Unattributed::To("b".into())).unwrap();
        let got = fen_by_channel(&given);
        assert_eq!(got[&(2, "b".to_string())], (100, 10));
        assert_eq!(got.len(), 3);
    }

    #[test]
    fn nothing_to_spread_by_keeps_the_row_and_says_why() {
        let frame = rows(&[(2, UNATTRIBUTED, 100, 10)]);
        let (kept, allocations) = apply(frame.clone(), &Unattributed::Proportional).unwrap();
        assert!(kept.equals_missing(&frame));
        assert!(allocations
            .kept
            .values()
            .next()
            .unwrap()
            .contains("no channel"));
    }
}
