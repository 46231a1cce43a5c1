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

/// The period's drama × channel sums for the `top` dramas, in their order, each drama's
/// channels by cost.
pub(super) fn drama_channel_table(
    daily: &DataFrame,
    top: &[&str],
    gb: f64,
    (labels, lang): (&Labels, Lang),
) -> PolarsResult<String> {
    let order = DataFrame::new(
        top.len(),
        vec![
            Column::new("drama_name".into(), top.to_vec()),
            Column::new("rank".into(), (0..top.len() as u32).collect::<Vec<_>>()),
        ],
    )?;
    let sums = daily
        .clone()
        .lazy()
        .group_by([col("drama_name"), col("channel")])
        .agg([
            col("requests").sum(),
            col("log_bytes").sum(),
            col("billed_bytes").sum(),
            col("cost_cny").sum(),
        ])
        .join(
            order.lazy(),
            [col("drama_name")],
            [col("drama_name")],
            JoinArgs::new(JoinType::Inner),
        )
        .sort_by_exprs(
            [
                col("rank"),
                col("cost_cny"),
                col("billed_bytes"),
                col("channel"),
            ],
            SortMultipleOptions::default()
                .with_order_descending_multi([false, true, true, false])
                .with_nulls_last(true),
        )
        .collect()?;
    let columns = [
        ("drama_name", Cell::Text),
        ("channel", Cell::Text),
        ("requests", Cell::Int),
        ("log_bytes", Cell::Gb),
        ("billed_bytes", Cell::Gb),
        ("cost_cny", Cell::Money),
    ];
    html_table(&sums, &columns, None, gb, (labels, lang))
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
    let mut out = String::from("<table><tr>");
    for (name, cell) in columns {
        let class = if matches!(cell, Cell::Text) {
            " class=\"l\""
        } else {
            ""
        };
        let _ = write!(out, "<th{class}>{}</th>", escape(labels.label(lang, name)));
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
                Cell::Text => texts[c][row].clone(),
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
    out.push_str("</table>\n");
    Ok(out)
}
