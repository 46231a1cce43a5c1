//! Aligned text tables for terminals, with Chinese text measured by display width (a CJK
//! character takes two columns), numbers right-aligned and thousands separated.

use polars::prelude::*;
use unicode_width::UnicodeWidthStr;

/// Renders a frame as an aligned table. Nulls show as empty cells.
pub fn render_frame(frame: &DataFrame) -> String {
    let headers: Vec<String> = frame
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let numeric: Vec<bool> = frame
        .columns()
        .iter()
        .map(|c| c.dtype().is_primitive_numeric())
        .collect();
    let rows: Vec<Vec<String>> = (0..frame.height())
        .map(|row| {
            frame
                .columns()
                .iter()
                .map(|c| cell(c.get(row).unwrap_or(AnyValue::Null)))
                .collect()
        })
        .collect();
    render(&headers, &rows, &numeric)
}

fn cell(value: AnyValue<'_>) -> String {
    match value {
        AnyValue::Null => String::new(),
        AnyValue::String(s) => s.to_string(),
        AnyValue::StringOwned(s) => s.to_string(),
        AnyValue::Float64(f) => float(f),
        AnyValue::Float32(f) => float(f as f64),
        AnyValue::Int64(i) => thousands(i as i128),
        AnyValue::Int32(i) => thousands(i as i128),
        AnyValue::UInt64(i) => thousands(i as i128),
        AnyValue::UInt32(i) => thousands(i as i128),
        other => other.to_string().trim_matches('"').to_string(),
    }
}

fn float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        thousands(f as i128)
    } else if f.abs() >= 100.0 {
        format!("{f:.2}")
    } else {
        format!("{f:.4}")
    }
}

/// The bytes in one billed GB: platforms bill traffic in decimal units.
pub const DECIMAL_GB: f64 = 1e9;

/// Bytes as the status lines print them: decimal gigabytes (10^9 bytes, as the CDN
/// bills), three decimals: `12503000000` → `12.503 GB`. For reading, not for money.
pub fn gb(bytes: i128) -> String {
    format!("{:.3} GB", bytes as f64 / DECIMAL_GB)
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: i128) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn render(headers: &[String], rows: &[Vec<String>], right_align: &[bool]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.width()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.width());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &[String]| {
        for (i, c) in cells.iter().enumerate() {
            let pad = widths[i].saturating_sub(c.width());
            if i > 0 {
                out.push_str("  ");
            }
            if right_align.get(i).copied().unwrap_or(false) {
                out.extend(std::iter::repeat_n(' ', pad));
                out.push_str(c);
            } else {
                out.push_str(c);
                if i + 1 < cells.len() {
                    out.extend(std::iter::repeat_n(' ', pad));
                }
            }
        }
        out.push('\n');
    };
    line(&mut out, headers);
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    line(&mut out, &rule);
    for row in rows {
        line(&mut out, row);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_by_display_width() {
        let t = render(
            &["channel".into(), "bytes".into()],
            &[
                vec!["小红书".into(), "1,000".into()],
                vec!["wxad".into(), "22".into()],
            ],
            &[false, true],
        );
        assert_eq!(
            t,
            "channel  bytes\n-------  -----\n小红书   1,000\nwxad        22\n"
        );
        assert_eq!(thousands(-1234567), "-1,234,567");
        assert_eq!(thousands(999), "999");
    }
}
