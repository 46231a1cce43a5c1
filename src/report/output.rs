//! Writes one report's files into OUT, all or nothing: every file is staged under a
//! temporary name first and renamed only when all of them are written, so a reader (or
//! a run killed part-way) never sees half a report. Nothing in the files depends on
//! when they were written, so the same lake gives byte-identical files.

use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::tables::ReportTables;
use crate::lake::{stage_bytes, stage_frame, LakeError, ParquetOptions, StagedFile};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Parquet,
}

#[derive(Debug, Clone)]
pub struct OutputOptions {
    pub formats: Vec<Format>,
    /// CSV with a UTF-8 BOM and CRLF line ends, as Excel expects.
    pub excel: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("writing {path}: {source}")]
    Csv { path: PathBuf, source: PolarsError },
}

/// The tables in the order they are written, with their file stems.
pub fn named_tables(tables: &ReportTables) -> [(&'static str, &DataFrame); 4] {
    [
        ("channel_daily", &tables.daily),
        ("channel_platform_daily", &tables.long),
        ("channel_monthly", &tables.monthly),
        ("reconciliation", &tables.reconciliation),
    ]
}

/// Writes the report; returns the paths written, in order.
pub fn write_report(
    out: &Path,
    tables: &ReportTables,
    html: Option<&str>,
    options: &OutputOptions,
) -> Result<Vec<PathBuf>, OutputError> {
    // What a killed run left staged here is of no use: its process is gone.
    let swept = crate::lake::sweep_temporaries(out);
    if swept > 0 {
        tracing::info!(
            "{}: removed {swept} temporary file(s) a killed run left",
            out.display()
        );
    }
    let mut staged: Vec<StagedFile> = Vec::new();
    for (stem, frame) in named_tables(tables) {
        for format in &options.formats {
            let path = out.join(format!("{stem}.{}", extension(*format)));
            staged.push(match format {
                Format::Csv => stage_bytes(&path, &csv_bytes(frame, options.excel, &path)?)?,
                Format::Parquet => stage_frame(&path, frame, ParquetOptions::default())?,
            });
        }
    }
    if let Some(page) = html {
        staged.push(stage_bytes(&out.join("report.html"), page.as_bytes())?);
    }
    staged
        .into_iter()
        .map(|file| file.commit().map_err(OutputError::from))
        .collect()
}

fn extension(format: Format) -> &'static str {
    match format {
        Format::Csv => "csv",
        Format::Parquet => "parquet",
    }
}

/// A frame as CSV: UTF-8, a header row, dates as YYYY-MM-DD, empty cells for nulls.
pub fn csv_bytes(frame: &DataFrame, excel: bool, path: &Path) -> Result<Vec<u8>, OutputError> {
    let mut bytes = Vec::new();
    let csv_err = |source| OutputError::Csv {
        path: path.to_path_buf(),
        source,
    };
    let mut frame = money_as_text(frame)
        .and_then(|f| neutralise_formulas(&f))
        .map_err(csv_err)?;
    CsvWriter::new(&mut bytes)
        .include_header(true)
        .include_bom(excel)
        .with_line_terminator(if excel { "\r\n" } else { "\n" }.into())
        .finish(&mut frame)
        .map_err(csv_err)?;
    Ok(bytes)
}

/// Text a spreadsheet would run as a formula (a cell starting with `=`, `+`, `-`, `@`, a
/// tab or a CR: a `us` value is anyone's URL parameter) gets a leading `'`, which Excel
/// and LibreOffice show as text. A number (`-1.05`, `+3`) stays a number.
fn neutralise_formulas(frame: &DataFrame) -> PolarsResult<DataFrame> {
    rewrite_columns(
        frame,
        |c| c.dtype() == &DataType::String,
        |c| {
            let safe: StringChunked = c
                .str()?
                .iter()
                .map(|v| {
                    v.map(|v| {
                        if is_formula(v) {
                            format!("'{v}")
                        } else {
                            v.to_string()
                        }
                    })
                })
                .collect();
            Ok(safe.with_name(c.name().clone()).into_column())
        },
    )
}

/// `frame` with each column that `pick` chooses replaced by `rewrite` of it.
fn rewrite_columns(
    frame: &DataFrame,
    pick: impl Fn(&Column) -> bool,
    rewrite: impl Fn(&Column) -> PolarsResult<Column>,
) -> PolarsResult<DataFrame> {
    let mut frame = frame.clone();
    let picked: Vec<Column> = frame
        .columns()
        .iter()
        .filter(|c| pick(c))
        .cloned()
        .collect();
    for column in picked {
        frame.with_column(rewrite(&column)?)?;
    }
    Ok(frame)
}

fn is_formula(cell: &str) -> bool {
    // A lone `-` (a placeholder) or `+` is text to every spreadsheet.
    cell.len() > 1
        && cell.starts_with(['=', '+', '-', '@', '\t', '\r'])
        && cell.trim().parse::<f64>().is_err()
}

/// Money reads as money in a CSV: every `…_cny` column is written with two decimals
/// (`0.40`, never `0.4`; zero is `0.00`, never `-0.00`). The report's money is decimal
/// (printed from the fen); a query may compute a float amount of its own, which is
/// printed rounded to the fen. Parquet keeps the numbers.
fn money_as_text(frame: &DataFrame) -> PolarsResult<DataFrame> {
    let is_money = |c: &Column| c.name().ends_with("_cny");
    let exact = rewrite_columns(
        frame,
        |c| is_money(c) && c.dtype().is_decimal(),
        super::money::as_text,
    )?;
    rewrite_columns(
        &exact,
        |c| is_money(c) && c.dtype().is_float(),
        |c| {
            let text: StringChunked = c
                .f64()?
                .iter()
                .map(|v| v.map(|v| format!("{:.2}", if v == 0.0 { 0.0 } else { v })))
                .collect();
            Ok(text.with_name(c.name().clone()).into_column())
        },
    )
}

#[cfg(test)]
mod formula_tests {
    use super::*;

    #[test]
    fn formula_cells_are_text_and_numbers_stay_numbers() {
        let frame = DataFrame::new(
            6,
            vec![Column::new(
                "channel".into(),
                [
                    "=HYPERLINK(\"http://x\")",
                    "+1+1",
                    "@SUM(1)",
                    "-1.05",
                    "\tx",
                    "-",
                ],
            )],
        )
        .unwrap();
        let text = String::from_utf8(csv_bytes(&frame, true, Path::new("t.csv")).unwrap()).unwrap();
        assert_eq!(
            text,
            "\u{feff}channel\r\n\"'=HYPERLINK(\"\"http://x\"\")\"\r\n'+1+1\r\n'@SUM(1)\r\n-1.05\r\n'\tx\r\n-\r\n"
        );
    }
}
