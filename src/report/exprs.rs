//! Small polars expressions the report's tables share: a sum that stays null when every
//! value is, whole bytes from computed ones, no negative zero.

use polars::prelude::*;

/// The sum of a column, null (not 0) when every value is null: a month without any
/// usage series has no allocated bytes, rather than zero of them.
pub fn sum_or_null(c: Expr) -> Expr {
    when(c.clone().count().gt(lit(0)))
        .then(c.clone().sum())
        .otherwise(lit(NULL))
        .alias(
            c.meta()
                .output_name()
                .map(|n| n.to_string())
                .unwrap_or_default(),
        )
}

/// A small negative value rounded to zero prints as `-0.0`; finance reads that as a
/// loss. Zero is zero.
pub fn no_negative_zero(value: Expr) -> Expr {
    when(value.clone().eq(lit(0.0)))
        .then(lit(0.0))
        .otherwise(value)
}

/// Bytes computed as floats (a share, a factor) back to whole bytes, half away from zero.
/// `part / whole` as a fraction, null when `whole` is 0 (a share of nothing is no share,
/// never NaN or infinity in a table).
pub fn share(part: Expr, whole: Expr) -> Expr {
    when(whole.clone().cast(DataType::Float64).gt(lit(0.0)))
        .then(part.cast(DataType::Float64) / whole.cast(DataType::Float64))
        .otherwise(lit(NULL).cast(DataType::Float64))
}

/// [`crate::lake::escape_label`] as an expression: a channel column as data wrote it,
/// its parentheses full-width (lakes ingested before the escape included).
pub fn data_label(column: &str) -> Expr {
    col(column)
        .str()
        .replace_all(lit("("), lit("（"), true)
        .str()
        .replace_all(lit(")"), lit("）"), true)
        .str()
        .replace_all(lit(r"[\x00-\x1f\x7f]"), lit("\u{fffd}"), false)
}

pub fn round_bytes(expr: Expr) -> Expr {
    expr.round(0, RoundMode::HalfAwayFromZero)
        .cast(DataType::Int64)
}
