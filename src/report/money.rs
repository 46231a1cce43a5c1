//! Money in the report's frames: `…_cny` columns are `Decimal(18, 2)`, built from whole
//! fen and read back as whole fen, so no binary fraction ever holds an amount. Polars
//! adds decimals exactly (as scaled 128-bit integers); Parquet stores them as
//! `decimal(18,2)`, which DuckDB, pyarrow and Spark read as decimals; the CSVs and the
//! page print them from the fen, two decimals always.
//!
//! Why polars' `Decimal` rather than integer fen columns: finance and the analysts read
//! `cost_cny` in yuan, in every reader, without a rule to divide by 100; the price is one
//! polars feature (`dtype-decimal`), built once.

use polars::prelude::*;

/// Digits in all and after the point of every money column.
pub const PRECISION: usize = 18;
pub const SCALE: usize = 2;

/// The dtype of every money column.
pub fn dtype() -> DataType {
    DataType::Decimal(PRECISION, SCALE)
}

/// A money column from amounts in fen (null stays null).
pub fn column_from_fen(name: &str, fen: impl IntoIterator<Item = Option<i64>>) -> Column {
    let values: Int128Chunked = fen.into_iter().map(|v| v.map(i128::from)).collect();
    values
        .with_name(name.into())
        .into_decimal_unchecked(PRECISION, SCALE)
        .into_series()
        .into_column()
}

/// A money literal of zero (a sum's start, a null's stand-in).
pub fn zero() -> Expr {
    lit(0i64).cast(dtype())
}

/// A money column as fen: a decimal of any scale is rescaled to 2 (exactly when it has
/// 2 or fewer decimals, as every money column here does).
pub fn fen_of(column: &Column) -> PolarsResult<Vec<Option<i64>>> {
    let decimal = column.cast(&dtype())?;
    let values = decimal.decimal()?.physical().clone();
    Ok(values.iter().map(|v| v.map(|v| v as i64)).collect())
}

/// The sum of two amounts (fen, bytes) either of which may be unknown: unknown only when
/// both are.
pub fn add_option(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (None, None) => None,
        _ => Some(a.unwrap_or(0) + b.unwrap_or(0)),
    }
}

/// Whole fen as yuan with two decimals: 40 → "0.40", -105 → "-1.05", 0 → "0.00".
pub fn text(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// `fen` as people read yuan: `¥1,234.56`, `-¥0.05`.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!(
        "{sign}¥{}.{:02}",
        crate::table::thousands((abs / 100) as i128),
        abs % 100
    )
}

/// A money column as text with two decimals (`0.40`, `-1.05`, `0.00`), for CSV readers
/// that would otherwise see `0.4` or `1E+1`.
pub fn as_text(column: &Column) -> PolarsResult<Column> {
    let fen = fen_of(column)?;
    let text: StringChunked = fen.into_iter().map(|v| v.map(text)).collect();
    Ok(text.with_name(column.name().clone()).into_column())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fen_round_trip_through_a_decimal_column() {
        let fen = vec![Some(40), None, Some(-105), Some(0), Some(123_456_789_012)];
        let column = column_from_fen("cost_cny", fen.clone());
        assert_eq!(column.dtype(), &dtype());
        assert_eq!(fen_of(&column).unwrap(), fen);
    }

    #[test]
    fn text_has_two_decimals_and_no_negative_zero() {
        assert_eq!(text(40), "0.40");
        assert_eq!(text(-105), "-1.05");
        assert_eq!(text(0), "0.00");
        assert_eq!(text(-7), "-0.07");
        assert_eq!(text(123_456), "1234.56");
    }

    #[test]
    fn sums_of_decimals_are_exact() {
        // 0.10 added ten times is 1.00 exactly (as binary floats it is not).
        let frame = DataFrame::new(10, vec![column_from_fen("c_cny", vec![Some(10); 10])])
            .unwrap()
            .lazy()
            .select([col("c_cny").sum()])
            .collect()
            .unwrap();
        assert_eq!(fen_of(frame.column("c_cny").unwrap()).unwrap(), [Some(100)]);
    }
}
