//! The page's outlook: where the month will end (the studio, each platform, the top
//! channels and dramas: so far, expected, the range, how it was projected) and every
//! budget as a bar: the part used, the forecast beyond it, the thresholds marked.

use std::fmt::Write as _;

use super::format::{escape, money_fen};
use crate::report::budgets::{Budget, Scope};
use crate::report::forecast::{Forecast, Method};
use crate::report::outlook::Outlook;
use crate::report::words::{Labels, Lang, PageWords};

/// How a forecast was projected, in the page's words.
fn method(f: &Forecast, w: &PageWords) -> String {
    match f.method {
        Method::Weekday => w.method_weekday.to_string(),
        Method::TrailingMean { days } => w.method_trailing.replace("{n}", &days.to_string()),
        Method::NoHistory => w.method_none.to_string(),
        Method::Complete => w.method_complete.to_string(),
    }
}

fn yuan(fen: i64) -> String {
    format!("¥{}", money_fen(fen))
}

/// The forecast table and the budgets' bars.
pub fn section(
    page: &mut String,
    outlook: &Outlook,
    (labels, platforms): (&Labels, &[(&'static str, &'static str)]),
    lang: Lang,
    w: &PageWords,
) {
    let month = outlook.studio.month.format("%Y-%m").to_string();
    let _ = writeln!(
        page,
        "<h2>{}</h2>",
        escape(&w.forecast_heading.replace("{month}", &month))
    );
    let _ = writeln!(
        page,
        "<p class=\"note\">{}</p>",
        escape(
            &w.forecast_note
                .replace("{date}", &outlook.as_of.to_string())
        )
    );
    let mut rows: Vec<(String, &Forecast)> = vec![(w.forecast_studio.to_string(), &outlook.studio)];
    for (platform, f) in &outlook.platforms {
        let label = platforms
            .iter()
            .find(|(name, _)| name == platform)
            .map_or(*platform, |(_, label)| *label);
        rows.push((labels.label(lang, label).to_string(), f));
    }
    for (channel, f) in &outlook.channels {
        rows.push((
            w.forecast_channel
                .replace("{name}", &labels.name(lang, channel)),
            f,
        ));
    }
    for (drama, f) in &outlook.dramas {
        rows.push((
            w.forecast_drama
                .replace("{name}", &labels.name(lang, drama)),
            f,
        ));
    }
    let _ = write!(
        page,
        "<div class=\"scroll\"><table><tr><th class=\"l\">{}</th><th>{}</th><th>{}</th><th>{}</th><th class=\"l\">{}</th></tr>",
        escape(w.forecast_of),
        escape(w.forecast_so_far),
        escape(w.forecast_expected),
        escape(w.forecast_range),
        escape(w.forecast_method)
    );
    for (name, f) in rows {
        let _ = write!(
            page,
            "<tr><td class=\"l\">{}</td><td>{}</td><td><b>{}</b></td><td>{} – {}</td><td class=\"l\">{}</td></tr>",
            escape(&name),
            yuan(f.month_to_date_fen),
            yuan(f.expected_fen),
            yuan(f.low_fen),
            yuan(f.high_fen),
            escape(&method(f, w))
        );
    }
    page.push_str("</table></div>\n");
    if outlook.budgets.is_empty() {
        return;
    }
    let _ = writeln!(page, "<h2>{}</h2>", escape(w.budgets_heading));
    for budget in &outlook.budgets {
        bar(page, budget, labels, lang, w);
    }
}

/// One budget: its name and figures, and a bar whose dark part is the cost so far, the
/// light part the forecast beyond it (to 150 % of the budget at most), a line at 100 %.
fn bar(page: &mut String, budget: &Budget, labels: &Labels, lang: Lang, w: &PageWords) {
    let name = match &budget.scope {
        Scope::Studio => w.forecast_studio.to_string(),
        Scope::Channel(c) => w.forecast_channel.replace("{name}", &labels.name(lang, c)),
        Scope::Drama(d) => w.forecast_drama.replace("{name}", &labels.name(lang, d)),
    };
    let (used, expected) = (budget.used_percent(), budget.forecast_percent());
    let scale = |p: f64| (p.clamp(0.0, 150.0) / 1.5 * 100.0).round() / 100.0;
    let over = if budget.crossed.is_empty() {
        ""
    } else {
        " over"
    };
    let text = w
        .budget_line
        .replace("{used}", &yuan(budget.forecast.month_to_date_fen))
        .replace("{used_pct}", &format!("{used:.1}"))
        .replace("{budget}", &yuan(budget.budget_fen))
        .replace("{expected}", &yuan(budget.forecast.expected_fen))
        .replace("{expected_pct}", &format!("{expected:.1}"));
    let _ = writeln!(
        page,
        "<div class=\"budget{over}\"><div class=\"bname\"><b>{}</b> {}</div>\
         <div class=\"bar\"><i class=\"fc\" style=\"width:{}%\"></i><i class=\"used\" style=\"width:{}%\"></i><i class=\"full\" style=\"left:{}%\"></i></div></div>",
        escape(&name),
        escape(&text),
        scale(expected),
        scale(used),
        scale(100.0)
    );
}
