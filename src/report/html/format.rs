//! How the page writes values: money with thousands and cents, escaped text (channel
//! names come from URLs handed to third parties), and columns read as plain values.

use polars::prelude::*;

use crate::table::thousands;

/// 1234567.8 → "1,234,567.80": a chart's value (a sum of exact fen, or an axis tick).
pub(super) fn money(v: f64) -> String {
    money_fen((v * 100.0).round() as i64)
}

/// 123456780 fen → "1,234,567.80": the figures of the cards and tables.
pub(super) fn money_fen(fen: i64) -> String {
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
            // Data (a drama's name, a channel) may hold them; a page shows none.
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

pub(super) fn strings(frame: &DataFrame, name: &str) -> PolarsResult<Vec<String>> {
    let column = frame.column(name)?.cast(&DataType::String)?;
    Ok(column
        .str()?
        .iter()
        .map(|v| v.unwrap_or("").to_string())
        .collect())
}

pub(super) fn fen(frame: &DataFrame, name: &str) -> PolarsResult<Vec<Option<i64>>> {
    crate::report::money::fen_of(frame.column(name)?)
}

pub(super) fn floats(frame: &DataFrame, name: &str) -> PolarsResult<Vec<Option<f64>>> {
    let column = frame.column(name)?.cast(&DataType::Float64)?;
    Ok(column.f64()?.iter().collect())
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
}
