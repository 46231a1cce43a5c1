//! The page's charts, inline SVG: stacked daily cost per channel, the top channels, the
//! reconciliation of the estimate against the billed series; their axes (`Frame`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use polars::prelude::*;

use super::format::*;
use super::rows::*;
use crate::report::words::PageWords;

pub(super) const PALETTE: &[&str] = &[
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];
/// Channels drawn on their own in the stacked chart; the rest are summed as "other".
pub(super) const STACKED_CHANNELS: usize = 8;
pub(super) const TOP_CHANNELS: usize = 15;

/// Stacked bars, one per day, one segment per top channel (the rest as "other").
pub(super) fn stacked_days(
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
pub(super) fn top_channels(
    rows: &[DailyRow],
    value: impl Fn(&DailyRow) -> f64,
    measure: Measure,
) -> String {
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
pub(super) fn reconciliation_chart(
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

/// The plot area of a vertical chart, and its y axis.
pub(super) struct Frame {
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
pub(super) fn nice_ceiling(v: f64) -> f64 {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_tops_are_round() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(7.3), 10.0);
        assert_eq!(nice_ceiling(180.0), 200.0);
        assert_eq!(nice_ceiling(2.2), 2.5);
    }
}
