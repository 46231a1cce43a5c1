//! `report.html`: one self-contained page (inline CSS and SVG, no script, no network)
//! for a finance reader: headline figures, daily cost per channel, the top channels,
//! the reconciliation of the estimate against the billed series, and the monthly table.
//!
//! Channel names come from URLs handed to third parties, so every text is escaped.
//! Nothing on the page depends on when it was made (same lake, same bytes).

use std::fmt::Write as _;

use chrono::NaiveDate;
use polars::prelude::*;

use super::allocation::Unattributed;
use super::platform::Shown as Cell;
use super::tables::ReportTables;
use super::words::{self, Lang, PageWords};

mod charts;
mod format;
mod outlook;
mod rows;
mod tables;

use charts::*;
pub use format::escape;
use format::*;
use rows::*;
use tables::*;

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
    let mut rows = daily_rows(tables, gb)?;
    // The charts and cards show the report's markers in the page's words.
    for r in &mut rows {
        r.channel = tables.labels.name(lang, &r.channel);
        r.account = tables.labels.name(lang, &r.account);
    }
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
    gaps(&mut page, &tables.gaps, (w, lang));
    if measure == Measure::Traffic {
        let _ = writeln!(page, "<p class=\"note\">{}</p>", escape(w.no_prices));
    }
    let _ = writeln!(
        page,
        "<p class=\"note\">{}</p>",
        escape(&unattributed_policy(&tables.allocations.policy, w))
    );
    if let Some(outlook) = &tables.outlook {
        outlook::section(
            &mut page,
            outlook,
            (&tables.labels, &tables.platforms),
            lang,
            w,
        );
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
    let mut dramas = drama_rows(&tables.dramas.daily, gb)?;
    for r in &mut dramas {
        r.channel = tables.labels.name(lang, &r.channel);
    }
    let _ = writeln!(page, "<h2>{}</h2>", w.top_dramas);
    page.push_str(&top_channels(&dramas, value, measure));
    let top: Vec<&str> = ranked_channels(&dramas, &value)
        .into_iter()
        .take(TOP_DRAMAS)
        .map(|d| d.0)
        .collect();
    let _ = writeln!(page, "<h2>{}</h2>", w.dramas_by_channel);
    page.push_str(&drama_channel_table(
        &tables.dramas.daily,
        &top,
        w.other,
        (&tables.labels, lang),
    )?);
    let _ = writeln!(page, "<h2>{}</h2>", w.reconciliation);
    page.push_str(&reconciliation_chart(&tables.reconciliation, gb, w)?);
    // The account column, where there is more than one to tell apart.
    let several = crate::report::inputs::accounts_in(&tables.daily)?.len() > 1;
    page.push_str(&reconciliation_table(
        &tables.reconciliation,
        several,
        gb,
        (&tables.labels, lang),
    )?);
    let _ = writeln!(page, "<h2>{}</h2>", w.monthly);
    let page_columns: Vec<(&str, &[(&str, Cell)])> = tables
        .platforms
        .iter()
        .map(|(name, _)| *name)
        .zip(tables.page_columns.iter().copied())
        .collect();
    page.push_str(&monthly_table(
        &tables.monthly,
        several,
        &page_columns,
        gb,
        (&tables.labels, lang),
    )?);
    page.push_str("</body></html>\n");
    Ok(page)
}

/// The sentence that states the unattributed policy.
fn unattributed_policy(policy: &Unattributed, w: &PageWords) -> String {
    let how = match policy {
        Unattributed::Separate => w.unattributed_separate.to_string(),
        Unattributed::Proportional => w.unattributed_proportional.to_string(),
        Unattributed::To(channel) => w.unattributed_to.replace("{channel}", channel),
    };
    w.unattributed
        .replace("{how}", &how)
        .replace("{policy}", &policy.to_string())
}

const STYLE: &str = "body{font-family:-apple-system,'Segoe UI','PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif;margin:24px auto;max-width:1000px;color:#222;padding:0 16px}\
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}\
.sub,.note{color:#666;font-size:13px}.cards{display:flex;gap:12px;flex-wrap:wrap}\
.card{border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:140px}.card b{display:block;font-size:20px}\
.card span{color:#666;font-size:12px}.warn{background:#fff4e5;border:1px solid #f0b36a;border-radius:6px;padding:8px 14px;font-size:13px}\
table{border-collapse:collapse;font-size:12px;width:100%}th,td{padding:3px 6px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}\
th{background:#f6f6f6}td.l,th.l{text-align:left}tr.total td{font-weight:bold;border-top:1px solid #999}\
.scroll{overflow-x:auto}.budget{margin:10px 0;font-size:13px}.bname{margin-bottom:3px}.budget.over .bname b{color:#c0392b}\
.bar{position:relative;height:14px;background:#eee;border-radius:3px;overflow:hidden}.bar i{position:absolute;top:0;bottom:0;left:0}\
.bar .fc{background:#f6c59a}.bar .used{background:#e8833a}.bar .full{width:2px;background:#333}\
svg text{font-size:11px;fill:#333}.legend{font-size:12px}.legend i{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}";

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
    // A day is complete when every account's is.
    let days = &tables.gaps;
    let days_complete = days.values().filter(|g| g.complete()).count();
    let w = words::page(lang);
    let mut cards: Vec<(String, String)> = Vec::new();
    if measure == Measure::Cost {
        let total: i64 = rows.iter().map(|r| r.cost_fen).sum();
        cards.push((format!("¥{}", money_fen(total)), w.total_cost.into()));
        for (i, (_, label)) in tables.platforms.iter().enumerate() {
            let cost: i64 = rows.iter().map(|r| r.costs_fen[i]).sum();
            cards.push((
                format!("¥{}", money_fen(cost)),
                tables.labels.label(lang, label).into(),
            ));
        }
        // With several accounts, a card each (the first card is the studio's total).
        let mut by_account: std::collections::BTreeMap<&str, i64> = Default::default();
        for r in rows {
            *by_account.entry(r.account.as_str()).or_default() += r.cost_fen;
        }
        if by_account.len() > 1 {
            for (account, fen) in by_account {
                let label = format!("{} {account}", tables.labels.label(lang, "account"));
                cards.push((format!("¥{}", money_fen(fen)), label));
            }
        }
    }
    let said = |name: &str, otherwise| {
        tables
            .labels
            .find(name)
            .map_or(otherwise, |&(_, zh, en)| match lang {
                words::Lang::Zh => zh,
                words::Lang::En => en,
            })
    };
    cards.push((
        format!("{log_gb:.2} GB"),
        said("log_traffic", w.log_traffic).into(),
    ));
    cards.push((
        format!("{billed_gb:.2} GB"),
        said("billed_traffic", w.billed_traffic).into(),
    ));
    cards.push((
        format!("{days_complete} / {}", days.len()),
        w.days_complete.into(),
    ));
    page.push_str("<div class=\"cards\">");
    for (value, label) in cards {
        let _ = write!(
            page,
            "<div class=\"card\"><b>{}</b><span>{}</span></div>",
            escape(&value),
            escape(&label)
        );
    }
    page.push_str("</div>\n");
    Ok(())
}

/// The incomplete days, each with what it lacks (each account's named).
fn gaps(
    page: &mut String,
    gaps: &std::collections::BTreeMap<NaiveDate, crate::report::inputs::DayGaps>,
    (w, lang): (&PageWords, Lang),
) {
    let incomplete: Vec<_> = gaps.iter().filter(|(_, g)| !g.complete()).collect();
    if incomplete.is_empty() {
        return;
    }
    let _ = write!(
        page,
        "<div class=\"warn\"><b>{}</b>: {}<ul>",
        w.incomplete_days, w.incomplete_note
    );
    for (date, gaps) in incomplete {
        let _ = write!(
            page,
            "<li>{}: {}</li>",
            escape(&date.to_string()),
            escape(&gaps.describe_in(lang == Lang::Zh))
        );
    }
    page.push_str("</ul></div>\n");
}
