//! `report.html`: one self-contained page (inline CSS and SVG, no script, no network)
//! for a finance reader: headline figures, daily cost per channel, the top channels,
//! the reconciliation of the estimate against the billed series, and the monthly table.
//!
//! Channel names come from URLs handed to third parties, so every text is escaped.
//! Nothing on the page depends on when it was made (same lake, same bytes).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::NaiveDate;
use polars::prelude::*;

use super::tables::{ReportTables, TOTAL_CHANNEL};
use super::words::{self, Lang, PageWords};
use crate::table::thousands;

const PALETTE: &[&str] = &[
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];
/// Channels drawn on their own in the stacked chart; the rest are summed as "other".
const STACKED_CHANNELS: usize = 8;
const TOP_CHANNELS: usize = 15;
/// Dramas whose channels the drama × channel table shows.
const TOP_DRAMAS: usize = 10;

/// What the charts measure: money when prices are set, else billed traffic in GB.
#[derive(Clone, Copy, PartialEq)]
enum Measure {
    Cost,
    Traffic,
}

impl Measure {
    fn show(self, v: f64) -> String {
        match self {
            Measure::Cost => format!("¥{}", money(v)),
            Measure::Traffic => format!("{v:.2} GB"),
        }
    }
}

struct DailyRow {
    date: String,
    channel: String,
    /// The row's cost in fen, exact (the cards add these up).
    cost_fen: i64,
    /// Each platform's cost in fen, in the order of `ReportTables::platforms`.
    costs_fen: Vec<i64>,
    traffic_gb: f64,
}

/// The page. `bytes_per_gb` is the `[prices]` setting, so GB on the page are the GB the
/// prices are per (10^9 bytes by default, 2^30 when so configured).
pub fn render(
    tables: &ReportTables,
    from: NaiveDate,
    to: NaiveDate,
    bytes_per_gb: f64,
    lang: Lang,
) -> PolarsResult<String> {
    let gb = bytes_per_gb;
    let rows = daily_rows(tables, gb)?;
    let measure = if rows.iter().any(|r| r.cost_fen != 0) {
        Measure::Cost
    } else {
        Measure::Traffic
    };
    let value = |r: &DailyRow| match measure {
        Measure::Cost => r.cost_fen as f64 / 100.0,
        Measure::Traffic => r.traffic_gb,
    };
    let mut page = String::with_capacity(64 * 1024);
    let w = words::page(lang);
    let title = w
        .title
        .replace("{from}", &from.to_string())
        .replace("{to}", &to.to_string());
    let _ = write!(
        page,
        "<!doctype html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n\
         <p class=\"sub\">{}</p>\n",
        w.html_lang,
        escape(&title),
        escape(&title),
        escape(w.sub)
    );
    headline(&mut page, &rows, tables, measure, gb, lang)?;
    gaps(&mut page, &tables.reconciliation, w)?;
    if measure == Measure::Traffic {
        let _ = writeln!(page, "<p class=\"note\">{}</p>", escape(w.no_prices));
    }
    let daily_heading = if measure == Measure::Cost {
        w.daily_cost
    } else {
        w.daily_traffic
    };
    let _ = writeln!(page, "<h2>{daily_heading}</h2>");
    page.push_str(&stacked_days(&rows, value, measure, w));
    let _ = writeln!(page, "<h2>{}</h2>", w.top_channels);
    page.push_str(&top_channels(&rows, value, measure));
    // Dramas: the same bars over drama_daily, and each top drama's channels.
    let dramas = drama_rows(&tables.dramas.daily, gb)?;
    let _ = writeln!(page, "<h2>{}</h2>", w.top_dramas);
    page.push_str(&top_channels(&dramas, value, measure));
    let top: Vec<&str> = ranked_channels(&dramas, &value)
        .into_iter()
        .take(TOP_DRAMAS)
        .map(|d| d.0)
        .collect();
    let _ = writeln!(page, "<h2>{}</h2>", w.dramas_by_channel);
    page.push_str(&drama_channel_table(&tables.dramas.daily, &top, gb, lang)?);
    let _ = writeln!(page, "<h2>{}</h2>", w.reconciliation);
    page.push_str(&reconciliation_chart(&tables.reconciliation, gb, w)?);
    page.push_str(&reconciliation_table(&tables.reconciliation, gb, lang)?);
    let _ = writeln!(page, "<h2>{}</h2>", w.monthly);
    page.push_str(&monthly_table(&tables.monthly, gb, lang)?);
    page.push_str("</body></html>\n");
    Ok(page)
}

const STYLE: &str = "body{font-family:-apple-system,'Segoe UI','PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif;margin:24px auto;max-width:1000px;color:#222;padding:0 16px}\
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}\
.sub,.note{color:#666;font-size:13px}.cards{display:flex;gap:12px;flex-wrap:wrap}\
.card{border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:140px}.card b{display:block;font-size:20px}\
.card span{color:#666;font-size:12px}.warn{background:#fff4e5;border:1px solid #f0b36a;border-radius:6px;padding:8px 14px;font-size:13px}\
table{border-collapse:collapse;font-size:12px;width:100%}th,td{padding:3px 6px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}\
th{background:#f6f6f6}td.l,th.l{text-align:left}tr.total td{font-weight:bold;border-top:1px solid #999}\
svg text{font-size:11px;fill:#333}.legend{font-size:12px}.legend i{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}";

/// The daily rows as the charts use them; a row's traffic is what its platforms bill it
/// by, summed from the core table.
fn daily_rows(tables: &ReportTables, gb: f64) -> PolarsResult<Vec<DailyRow>> {
    let daily = &tables.daily;
    let dates = strings(daily, "date")?;
    let channels = strings(daily, "channel")?;
    let total = fen(daily, "total_cost_cny")?;
    let costs: Vec<Vec<Option<i64>>> = tables
        .platforms
        .iter()
        .map(|(name, _)| fen(daily, &format!("{name}_cost_cny")))
        .collect::<PolarsResult<_>>()?;
    let long = &tables.long;
    let mut billed: std::collections::HashMap<(String, String), f64> = Default::default();
    for ((date, channel), bytes) in strings(long, "date")?
        .into_iter()
        .zip(strings(long, "channel")?)
        .zip(floats(long, "billed_bytes")?)
    {
        *billed.entry((date, channel)).or_default() += bytes.unwrap_or(0.0);
    }
    Ok((0..daily.height())
        .map(|i| DailyRow {
            date: dates[i].clone(),
            channel: channels[i].clone(),
            cost_fen: total[i].unwrap_or(0),
            costs_fen: costs.iter().map(|c| c[i].unwrap_or(0)).collect(),
            traffic_gb: billed
                .get(&(dates[i].clone(), channels[i].clone()))
                .copied()
                .unwrap_or(0.0)
                / gb,
        })
        .collect())
}

fn headline(
    page: &mut String,
    rows: &[DailyRow],
    tables: &ReportTables,
    measure: Measure,
    gb: f64,
    lang: Lang,
) -> PolarsResult<()> {
    let reconciliation = &tables.reconciliation;
    let log_gb = floats(reconciliation, "log_bytes")?
        .iter()
        .flatten()
        .sum::<f64>()
        / gb;
    let billed_gb = floats(reconciliation, "billed_bytes")?
        .iter()
        .flatten()
        .sum::<f64>()
        / gb;
    let complete = bools(reconciliation, "complete")?;
    let days_complete = complete.iter().filter(|c| **c).count();
    let w = words::page(lang);
    let mut cards: Vec<(String, &str)> = Vec::new();
    if measure == Measure::Cost {
        let total: i64 = rows.iter().map(|r| r.cost_fen).sum();
        cards.push((format!("¥{}", money_fen(total)), w.total_cost));
        for (i, (_, label)) in tables.platforms.iter().enumerate() {
            let cost: i64 = rows.iter().map(|r| r.costs_fen[i]).sum();
            cards.push((format!("¥{}", money_fen(cost)), words::label(lang, label)));
        }
    }
    cards.push((format!("{log_gb:.2} GB"), w.log_traffic));
    cards.push((format!("{billed_gb:.2} GB"), w.billed_traffic));
    cards.push((
        format!("{days_complete} / {}", complete.len()),
        w.days_complete,
    ));
    page.push_str("<div class=\"cards\">");
    for (value, label) in cards {
        let _ = write!(
            page,
            "<div class=\"card\"><b>{}</b><span>{}</span></div>",
            escape(&value),
            label
        );
    }
    page.push_str("</div>\n");
    Ok(())
}

fn gaps(page: &mut String, reconciliation: &DataFrame, w: &PageWords) -> PolarsResult<()> {
    let dates = strings(reconciliation, "date")?;
    let complete = bools(reconciliation, "complete")?;
    let missing = strings(reconciliation, "missing")?;
    let incomplete: Vec<usize> = (0..dates.len()).filter(|i| !complete[*i]).collect();
    if incomplete.is_empty() {
        return Ok(());
    }
    let _ = write!(
        page,
        "<div class=\"warn\"><b>{}</b>: {}<ul>",
        w.incomplete_days, w.incomplete_note
    );
    for i in incomplete {
        let _ = write!(
            page,
            "<li>{}: {}</li>",
            escape(&dates[i]),
            escape(&missing[i])
        );
    }
    page.push_str("</ul></div>\n");
    Ok(())
}

/// Each channel's total for the period, biggest first (ties by name).
fn ranked_channels<'a>(
    rows: &'a [DailyRow],
    value: &impl Fn(&DailyRow) -> f64,
) -> Vec<(&'a str, f64)> {
    let mut per_channel: BTreeMap<&str, f64> = BTreeMap::new();
    for r in rows {
        *per_channel.entry(&r.channel).or_default() += value(r);
    }
    let mut ranked: Vec<(&str, f64)> = per_channel.into_iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    ranked
}

/// Stacked bars, one per day, one segment per top channel (the rest as "other").
fn stacked_days(
    rows: &[DailyRow],
    value: impl Fn(&DailyRow) -> f64,
    measure: Measure,
    w: &PageWords,
) -> String {
    let ranked = ranked_channels(rows, &value);
    let mut series: Vec<&str> = ranked.iter().take(STACKED_CHANNELS).map(|c| c.0).collect();
    if ranked.len() > STACKED_CHANNELS {
        series.push(w.other);
    }
    let mut days: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for r in rows {
        let slot = series
            .iter()
            .position(|s| *s == r.channel)
            .unwrap_or(series.len() - 1);
        days.entry(&r.date)
            .or_insert_with(|| vec![0.0; series.len()])[slot] += value(r);
    }
    let max = days
        .values()
        .map(|v| v.iter().sum::<f64>())
        .fold(0.0, f64::max);
    let frame = Frame::new(max, measure, w);
    let mut svg = frame.open();
    let step = frame.width / days.len().max(1) as f64;
    let label_every = (days.len() / 12).max(1);
    for (i, (date, values)) in days.iter().enumerate() {
        let x = frame.left + step * i as f64 + step * 0.15;
        let mut y = frame.bottom();
        for (slot, v) in values.iter().enumerate() {
            let h = frame.height * v / frame.top_value;
            y -= h;
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{}\"><title>{} {}: {}</title></rect>",
                step * 0.7,
                PALETTE[slot % PALETTE.len()],
                escape(date),
                escape(series[slot]),
                escape(&measure.show(*v))
            );
        }
        if i % label_every == 0 {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                x + step * 0.35,
                frame.bottom() + 16.0,
                escape(date.get(5..).unwrap_or(date))
            );
        }
    }
    svg.push_str("</svg>\n<div class=\"legend\">");
    for (slot, name) in series.iter().enumerate() {
        let _ = write!(
            svg,
            "<i style=\"background:{}\"></i>{}",
            PALETTE[slot % PALETTE.len()],
            escape(name)
        );
    }
    svg.push_str("</div>\n");
    svg
}

/// Horizontal bars of each channel's total for the period, biggest first.
fn top_channels(rows: &[DailyRow], value: impl Fn(&DailyRow) -> f64, measure: Measure) -> String {
    let mut ranked = ranked_channels(rows, &value);
    ranked.truncate(TOP_CHANNELS);
    let total: f64 = rows.iter().map(&value).sum();
    let max = ranked.first().map_or(0.0, |c| c.1);
    let bar_h = 22.0;
    let (label_w, bar_w) = (150.0, 600.0);
    let height = bar_h * ranked.len() as f64 + 10.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100%\" viewBox=\"0 0 960 {height:.0}\" role=\"img\">"
    );
    for (i, (name, v)) in ranked.iter().enumerate() {
        let y = i as f64 * bar_h + 4.0;
        let w = if max > 0.0 { bar_w * v / max } else { 0.0 };
        let share = if total > 0.0 { 100.0 * v / total } else { 0.0 };
        let _ = write!(
            svg,
            "<text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
             <rect x=\"{label_w:.0}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{} ({share:.1}%)</text>",
            label_w - 8.0,
            y + 15.0,
            escape(name),
            bar_h - 6.0,
            PALETTE[0],
            label_w + w + 6.0,
            y + 15.0,
            escape(&measure.show(*v))
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// Estimated and billed GB per day as two lines.
fn reconciliation_chart(
    reconciliation: &DataFrame,
    gb: f64,
    w: &PageWords,
) -> PolarsResult<String> {
    let dates = strings(reconciliation, "date")?;
    let estimate = floats(reconciliation, "estimated_billed_bytes")?;
    let billed = floats(reconciliation, "billed_bytes")?;
    let max = estimate
        .iter()
        .chain(billed.iter())
        .flatten()
        .fold(0.0f64, |a, b| a.max(*b))
        / gb;
    let frame = Frame::new(max, Measure::Traffic, w);
    let mut svg = frame.open();
    let step = frame.width / dates.len().max(1) as f64;
    let x = |i: usize| frame.left + step * (i as f64 + 0.5);
    let y = |v: f64| frame.bottom() - frame.height * (v / gb) / frame.top_value;
    // The estimate is drawn dashed over the billed line: they often nearly coincide.
    let lines = [
        (&billed, PALETTE[0], w.line_billed, "stroke-width=\"4\""),
        (
            &estimate,
            PALETTE[1],
            w.line_estimate,
            "stroke-width=\"2\" stroke-dasharray=\"6 4\"",
        ),
    ];
    for (series, color, name, stroke) in lines {
        let points: Vec<String> = series
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| format!("{:.1},{:.1}", x(i), y(v))))
            .collect();
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"{color}\" {stroke} points=\"{}\"/>",
            points.join(" ")
        );
        for (i, v) in series.iter().enumerate() {
            if let Some(v) = v {
                let _ = write!(
                    svg,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{color}\"><title>{} {name}: {:.3} GB</title></circle>",
                    x(i),
                    y(*v),
                    escape(&dates[i]),
                    v / gb
                );
            }
        }
    }
    let label_every = (dates.len() / 12).max(1);
    for (i, date) in dates
        .iter()
        .enumerate()
        .filter(|(i, _)| i % label_every == 0)
    {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            x(i),
            frame.bottom() + 16.0,
            escape(date.get(5..).unwrap_or(date))
        );
    }
    let _ = write!(
        svg,
        "</svg>\n<div class=\"legend\"><i style=\"background:{}\"></i>{}<i style=\"background:{}\"></i>{}</div>\n",
        PALETTE[1], w.legend_estimate, PALETTE[0], w.legend_billed
    );
    Ok(svg)
}

/// `drama_daily` as chart rows: one per (day, drama, channel), the drama in `channel`.
fn drama_rows(daily: &DataFrame, gb: f64) -> PolarsResult<Vec<DailyRow>> {
    let (dates, dramas) = (strings(daily, "date")?, strings(daily, "drama_name")?);
    let (cost, billed) = (fen(daily, "cost_cny")?, floats(daily, "billed_bytes")?);
    Ok((0..daily.height())
        .map(|i| DailyRow {
            date: dates[i].clone(),
            channel: dramas[i].clone(),
            cost_fen: cost[i].unwrap_or(0),
            costs_fen: Vec::new(),
            traffic_gb: billed[i].unwrap_or(0.0) / gb,
        })
        .collect())
}

/// The period's drama × channel sums for the `top` dramas, in their order, each drama's
/// channels by cost.
fn drama_channel_table(
    daily: &DataFrame,
    top: &[&str],
    gb: f64,
    lang: Lang,
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
    html_table(&sums, &columns, None, gb, lang)
}

fn reconciliation_table(reconciliation: &DataFrame, gb: f64, lang: Lang) -> PolarsResult<String> {
    let columns = [
        ("date", Cell::Text),
        ("log_bytes", Cell::Gb),
        ("estimated_billed_bytes", Cell::Gb),
        ("billed_bytes", Cell::Gb),
        ("deviation_pct", Cell::Number(2)),
        ("complete", Cell::Text),
    ];
    html_table(reconciliation, &columns, None, gb, lang)
}

fn monthly_table(monthly: &DataFrame, gb: f64, lang: Lang) -> PolarsResult<String> {
    let columns = [
        ("month", Cell::Text),
        ("channel", Cell::Text),
        ("days", Cell::Int),
        ("wechat_requests", Cell::Int),
        ("wechat_log_bytes", Cell::Gb),
        ("wechat_billed_bytes_est", Cell::Gb),
        ("wechat_allocated_billed_bytes", Cell::Gb),
        ("wechat_cost_basis", Cell::Text),
        ("polyv_bytes", Cell::Gb),
        ("wechat_cost_cny", Cell::Money),
        ("polyv_cost_cny", Cell::Money),
        ("total_cost_cny", Cell::Money),
        ("cost_share", Cell::Percent),
        ("complete", Cell::Text),
    ];
    html_table(monthly, &columns, Some("channel"), gb, lang)
}

#[derive(Clone, Copy)]
enum Cell {
    Text,
    Int,
    Gb,
    Money,
    Percent,
    Number(usize),
}

fn html_table(
    frame: &DataFrame,
    columns: &[(&str, Cell)],
    total_marker: Option<&str>,
    gb: f64,
    lang: Lang,
) -> PolarsResult<String> {
    let mut out = String::from("<table><tr>");
    for (name, cell) in columns {
        let class = if matches!(cell, Cell::Text) {
            " class=\"l\""
        } else {
            ""
        };
        let _ = write!(out, "<th{class}>{}</th>", escape(words::label(lang, name)));
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

/// The plot area of a vertical chart, and its y axis.
struct Frame {
    left: f64,
    top: f64,
    width: f64,
    height: f64,
    top_value: f64,
    measure: Measure,
    /// The y axis's unit in the page's language.
    unit: &'static str,
}

impl Frame {
    fn new(max: f64, measure: Measure, w: &PageWords) -> Frame {
        Frame {
            left: 80.0,
            top: 10.0,
            width: 860.0,
            height: 260.0,
            top_value: nice_ceiling(max),
            measure,
            unit: match measure {
                Measure::Cost => w.unit_cost,
                Measure::Traffic => "GB",
            },
        }
    }

    fn bottom(&self) -> f64 {
        self.top + self.height
    }

    /// The opening tag, grid lines and y labels.
    fn open(&self) -> String {
        let mut svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100%\" viewBox=\"0 0 960 {:.0}\" role=\"img\">",
            self.bottom() + 26.0
        );
        for tick in 0..=4 {
            let v = self.top_value * tick as f64 / 4.0;
            let y = self.bottom() - self.height * tick as f64 / 4.0;
            let label = match self.measure {
                Measure::Cost => format!("¥{}", money(v)),
                Measure::Traffic => format!("{v:.1}"),
            };
            let _ = write!(
                svg,
                "<line x1=\"{:.0}\" x2=\"{:.0}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#e5e5e5\"/>\
                 <text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                self.left,
                self.left + self.width,
                self.left - 6.0,
                y + 4.0,
                escape(&label)
            );
        }
        let _ = write!(
            svg,
            "<text x=\"4\" y=\"{:.0}\">{}</text>",
            self.top + 4.0,
            self.unit
        );
        svg
    }
}

/// The smallest 1, 2 or 5 × 10^k at or above `v` (1 for nothing to draw).
fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * magnitude)
}

/// 1234567.8 → "1,234,567.80": a chart's value (a sum of exact fen, or an axis tick).
fn money(v: f64) -> String {
    money_fen((v * 100.0).round() as i64)
}

/// 123456780 fen → "1,234,567.80": the figures of the cards and tables.
fn money_fen(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs() as i128;
    format!("{sign}{}.{:02}", thousands(abs / 100), abs % 100)
}

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn strings(frame: &DataFrame, name: &str) -> PolarsResult<Vec<String>> {
    let column = frame.column(name)?.cast(&DataType::String)?;
    Ok(column
        .str()?
        .iter()
        .map(|v| v.unwrap_or("").to_string())
        .collect())
}

fn fen(frame: &DataFrame, name: &str) -> PolarsResult<Vec<Option<i64>>> {
    super::money::fen_of(frame.column(name)?)
}

fn floats(frame: &DataFrame, name: &str) -> PolarsResult<Vec<Option<f64>>> {
    let column = frame.column(name)?.cast(&DataType::Float64)?;
    Ok(column.f64()?.iter().collect())
}

fn bools(frame: &DataFrame, name: &str) -> PolarsResult<Vec<bool>> {
    Ok(frame
        .column(name)?
        .bool()?
        .iter()
        .map(|v| v.unwrap_or(false))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_urls_is_escaped() {
        assert_eq!(
            escape("<script>alert('x')</script>&"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"
        );
    }

    #[test]
    fn money_has_thousands_and_cents() {
        assert_eq!(money(1234567.8), "1,234,567.80");
        assert_eq!(money(0.005), "0.01");
        assert_eq!(money(-3.2), "-3.20");
    }

    #[test]
    fn axis_tops_are_round() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(7.3), 10.0);
        assert_eq!(nice_ceiling(180.0), 200.0);
        assert_eq!(nice_ceiling(2.2), 2.5);
    }
}
