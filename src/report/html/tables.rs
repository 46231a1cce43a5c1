//! The page's tables: the monthly table, the reconciliation, the drama × channel sums,
//! each an HTML table whose cells are formatted by kind (`Cell`).

use std::fmt::Write as _;

use polars::prelude::*;

use super::format::*;
use crate::lake::ACCOUNT;
use crate::report::platform::Shown as Cell;
use crate::report::tables::TOTAL_CHANNEL;
use crate::report::words::{Labels, Lang};
use crate::table::thousands;

/// Dramas whose channels the drama × channel table shows.
pub(super) const TOP_DRAMAS: usize = 10;

/// Channels the drama × channel matrix has a column for (the rest are one "other").
pub(super) const TOP_MATRIX_CHANNELS: usize = 6;

/// The period's cost of the `top` dramas (down, in their order) by channel (across: the
/// channels most spent on by those dramas, then the others together, then the total).
pub(super) fn drama_channel_table(
    daily: &DataFrame,
    top: &[&str],
    other: &str,
    (labels, lang): (&Labels, Lang),
) -> PolarsResult<String> {
    let dramas = strings(daily, "drama_name")?;
    let channels = strings(daily, "channel")?;
    let costs = fen(daily, "cost_cny")?;
    let mut cells: std::collections::BTreeMap<(usize, String), i64> = Default::default();
    let mut by_channel: std::collections::BTreeMap<String, i64> = Default::default();
    for i in 0..daily.height() {
        // `top` names dramas as the page shows them (markers in its words).
        let shown_name = labels.name(lang, &dramas[i]);
        let Some(rank) = top.iter().position(|d| *d == shown_name) else {
            continue;
        };
        let cost = costs[i].unwrap_or(0);
        *cells.entry((rank, channels[i].clone())).or_default() += cost;
        *by_channel.entry(channels[i].clone()).or_default() += cost;
    }
    let mut ranked: Vec<(String, i64)> = by_channel.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let shown: Vec<String> = ranked
        .iter()
        .take(TOP_MATRIX_CHANNELS)
        .map(|(c, _)| c.clone())
        .collect();
    let unit = labels.label(lang, "cost_cny");
    let mut out = format!(
        "<div class=\"scroll\"><table><tr><th class=\"l\">{}</th>",
        escape(labels.label(lang, "drama_name"))
    );
    for channel in &shown {
        let _ = write!(out, "<th>{}</th>", escape(&labels.name(lang, channel)));
    }
    let _ = writeln!(
        out,
        "<th>{}</th><th>{}</th></tr>",
        escape(other),
        escape(unit)
    );
    for (rank, drama) in top.iter().enumerate() {
        let row: Vec<(&String, i64)> = cells
            .iter()
            .filter(|((r, _), _)| *r == rank)
            .map(|((_, c), f)| (c, *f))
            .collect();
        let of = |channel: &String| {
            row.iter()
                .find(|(c, _)| *c == channel)
                .map_or(0, |(_, f)| *f)
        };
        let total: i64 = row.iter().map(|(_, f)| f).sum();
        let listed: i64 = shown.iter().map(of).sum();
        let _ = write!(out, "<tr><td class=\"l\">{}</td>", escape(drama));
        for channel in &shown {
            let _ = write!(out, "<td>{}</td>", money_fen(of(channel)));
        }
        let _ = writeln!(
            out,
            "<td>{}</td><td><b>{}</b></td></tr>",
            money_fen(total - listed),
            money_fen(total)
        );
    }
    out.push_str("</table></div>\n");
    Ok(out)
}

pub(super) fn reconciliation_table(
    reconciliation: &DataFrame,
    several_accounts: bool,
    gb: f64,
    (labels, lang): (&Labels, Lang),
) -> PolarsResult<String> {
    let mut columns = vec![("date", Cell::Text)];
    if several_accounts {
        columns.push((ACCOUNT, Cell::Text));
    }
    columns.extend([
        ("log_bytes", Cell::Gb),
        ("estimated_billed_bytes", Cell::Gb),
        ("billed_bytes", Cell::Gb),
        ("deviation_pct", Cell::Number(2)),
        ("complete", Cell::Text),
    ]);
    html_table(reconciliation, &columns, None, gb, (labels, lang))
}

/// The monthly table: the keys, each platform's own columns, each platform's cost, the
/// total and its share, in the platforms' order.
pub(super) fn monthly_table(
    monthly: &DataFrame,
    several_accounts: bool,
    platforms: &[(&str, &[(&str, Cell)])],
    gb: f64,
    (labels, lang): (&Labels, Lang),
) -> PolarsResult<String> {
    let costs: Vec<String> = platforms
        .iter()
        .map(|(name, _)| format!("{name}_cost_cny"))
        .collect();
    let mut columns = vec![("month", Cell::Text)];
    if several_accounts {
        columns.push((ACCOUNT, Cell::Text));
    }
    columns.extend([("channel", Cell::Text), ("days", Cell::Int)]);
    columns.extend(platforms.iter().flat_map(|(_, own)| own.iter().copied()));
    columns.extend(costs.iter().map(|c| (c.as_str(), Cell::Money)));
    columns.extend([
        ("total_cost_cny", Cell::Money),
        ("cost_share", Cell::Percent),
        ("complete", Cell::Text),
    ]);
    html_table(monthly, &columns, Some("channel"), gb, (labels, lang))
}

pub(super) fn html_table(
    frame: &DataFrame,
    columns: &[(&str, Cell)],
    total_marker: Option<&str>,
    gb: f64,
    (labels, lang): (&Labels, Lang),
) -> PolarsResult<String> {
    let mut out = String::from("<div class=\"scroll\"><table><tr>");
    for (name, cell) in columns {
        let class = if matches!(cell, Cell::Text) {
            " class=\"l\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<th{class}>{}</th>",
            escape(&header(name, *cell, labels, lang))
        );
    }
    out.push_str("</tr>\n");
    let texts: Vec<Vec<String>> = columns
        .iter()
        .map(|(name, _)| strings(frame, name))
        .collect::<PolarsResult<_>>()?;
    let numbers: Vec<Vec<Option<f64>>> = columns
        .iter()
        .map(|(name, cell)| match cell {
            Cell::Text | Cell::Money => Ok(Vec::new()),
            _ => floats(frame, name),
        })
        .collect::<PolarsResult<_>>()?;
    // Money is read as fen: the page prints the same figures as the CSVs.
    let amounts: Vec<Vec<Option<i64>>> = columns
        .iter()
        .map(|(name, cell)| match cell {
            Cell::Money => fen(frame, name),
            _ => Ok(Vec::new()),
        })
        .collect::<PolarsResult<_>>()?;
    let marker = total_marker.map(|m| strings(frame, m)).transpose()?;
    for row in 0..frame.height() {
        let total = marker.as_ref().is_some_and(|m| m[row] == TOTAL_CHANNEL);
        out.push_str(if total {
            "<tr class=\"total\">"
        } else {
            "<tr>"
        });
        for (c, (_, cell)) in columns.iter().enumerate() {
            let shown = match cell {
                Cell::Text if NAMES.contains(&columns[c].0) => labels.name(lang, &texts[c][row]),
                Cell::Text => labels.value(lang, &texts[c][row]),
                Cell::Money => amounts[c][row].map_or(String::new(), money_fen),
                _ => numbers[c][row].map_or(String::new(), |v| match cell {
                    Cell::Int => thousands(v as i128),
                    Cell::Gb => format!("{:.3}", v / gb),
                    Cell::Percent => format!("{:.1}%", v * 100.0),
                    // No "-0.00" for a value that rounds to zero.
                    Cell::Number(d) => {
                        let zero = v.abs() < 0.5 / 10f64.powi(*d as i32);
                        format!("{:.d$}", if zero { 0.0 } else { v })
                    }
                    Cell::Text | Cell::Money => unreachable!(),
                }),
            };
            let class = if matches!(cell, Cell::Text) {
                " class=\"l\""
            } else {
                ""
            };
            let _ = write!(out, "<td{class}>{}</td>", escape(&shown));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table></div>\n");
    Ok(out)
}

/// The columns whose text cells are names (data's, or the report's markers); every other
/// text column holds one of the report's own values (booleans, bases).
const NAMES: &[&str] = &["channel", "drama_name", ACCOUNT];

/// A column's header with its unit: byte columns are shown in GB, and say so.
fn header(name: &str, cell: Cell, labels: &Labels, lang: Lang) -> String {
    let label = labels.label(lang, name);
    match (cell, lang) {
        (Cell::Gb, Lang::Zh) => match label.strip_suffix("字节") {
            Some(stem) => format!("{stem}流量（GB）"),
            None => format!("{label}（GB）"),
        },
        (Cell::Gb, Lang::En) if !label.contains("GB") => format!("{label} (GB)"),
        _ => label.to_string(),
    }
}
