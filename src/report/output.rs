//! Writes one report's files into OUT as one unit: the whole report is written into a
//! staging directory beside OUT (`.OUT.<pid>.tmp/`), which then takes OUT's place in one
//! step (`renameat2(RENAME_EXCHANGE)`), so a reader, or a run killed at any point, sees
//! the old report or the new one, never a mix. Files in OUT that the report does not
//! write are moved over. A staging directory a killed run left is removed by the next
//! report (the old report's leftovers moved back first). Nothing in the files depends on
//! when they were written, so the same lake gives byte-identical files.

use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::tables::ReportTables;
use crate::lake::{stage_bytes, stage_frame, LakeError, ParquetOptions};

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
    /// CSV headers in Chinese (`--headers zh`) instead of the snake_case names.
    pub chinese_headers: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("writing {path}: {source}")]
    Csv { path: PathBuf, source: PolarsError },
}

/// The FOCUS export's stem: its column names are FOCUS's (never translated), its cells
/// as FOCUS writes them ([`super::focus::for_csv`]).
pub const FOCUS: &str = "focus";

/// The tables in the order they are written, with their file stems.
pub fn named_tables(tables: &ReportTables) -> [(&'static str, &DataFrame); 8] {
    [
        ("channel_daily", &tables.daily),
        ("channel_platform_daily", &tables.long),
        ("channel_monthly", &tables.monthly),
        ("reconciliation", &tables.reconciliation),
        ("drama_daily", &tables.dramas.daily),
        ("drama_monthly", &tables.dramas.monthly),
        ("episode_daily", &tables.dramas.episodes),
        (FOCUS, &tables.focus),
    ]
}

/// Writes the report; returns the paths written, in order.
pub fn write_report(
    out: &Path,
    tables: &ReportTables,
    html: Option<&str>,
    options: &OutputOptions,
) -> Result<Vec<PathBuf>, OutputError> {
    let unit = Unit::new(out)?;
    let staging = unit.staging();
    let mut names: Vec<String> = Vec::new();
    for (stem, frame) in named_tables(tables) {
        for format in &options.formats {
            let name = format!("{stem}.{}", extension(*format));
            let path = staging.join(&name);
            let staged = match format {
                Format::Csv => {
                    let bytes = if stem == FOCUS {
                        let cells =
                            super::focus::for_csv(frame).map_err(|source| OutputError::Csv {
                                path: path.clone(),
                                source,
                            })?;
                        csv_bytes(&cells, options.excel, &path)?
                    } else if options.chinese_headers {
                        let renamed = chinese_headers(frame, &tables.labels).map_err(|source| {
                            OutputError::Csv {
                                path: path.clone(),
                                source,
                            }
                        })?;
                        csv_bytes(&renamed, options.excel, &path)?
                    } else {
                        csv_bytes(frame, options.excel, &path)?
                    };
                    stage_bytes(&path, &bytes)?
                }
                Format::Parquet => stage_frame(&path, frame, ParquetOptions::default())?,
            };
            staged.commit()?;
            names.push(name);
        }
    }
    if let Some(page) = html {
        stage_bytes(&staging.join("report.html"), page.as_bytes())?.commit()?;
        names.push("report.html".into());
    }
    unit.publish()?;
    Ok(names.into_iter().map(|n| out.join(n)).collect())
}

/// Refuses an OUT that is a file (the publish would swap it away). Checked before the
/// report is built, and again before it is written.
pub fn check_out(out: &Path) -> Result<(), OutputError> {
    if std::fs::symlink_metadata(out).is_ok_and(|m| !m.is_dir()) {
        return Err(OutputError::Lake(LakeError::NotADirectory {
            path: out.to_path_buf(),
            needed: "the report is a directory of files (choose another --out)".into(),
        }));
    }
    Ok(())
}

/// One report being published: OUT and its staging directory.
struct Unit {
    out: PathBuf,
    staging: PathBuf,
}

/// In a staging directory until the swap: it holds a new report, never to be moved.
const STAGING_MARK: &str = ".cdncost-staging";

impl Unit {
    fn new(out: &Path) -> Result<Unit, OutputError> {
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "out".into());
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| OutputError::Lake(LakeError::Io { path, source })
        };
        crate::lake::make_dir(&parent)?;
        check_out(out)?;
        sweep_leftovers(&parent, &name, out);
        // Staged files of older versions (`.name.<pid>.tmp` inside OUT) of dead runs.
        crate::lake::sweep_temporaries(out);
        let staging = parent.join(format!(".{name}.{}.tmp", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir(&staging).map_err(io(&staging))?;
        std::fs::write(staging.join(STAGING_MARK), b"").map_err(io(&staging))?;
        Ok(Unit {
            out: out.to_path_buf(),
            staging,
        })
    }

    fn staging(&self) -> &Path {
        &self.staging
    }

    /// The staging directory takes OUT's place; what else OUT held is moved over.
    fn publish(self) -> Result<(), OutputError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| OutputError::Lake(LakeError::Io { path, source })
        };
        if !self.out.exists() {
            std::fs::rename(&self.staging, &self.out).map_err(io(&self.out))?;
        } else {
            exchange(&self.staging, &self.out).map_err(io(&self.out))?;
            // `staging` now holds the previous report and whatever else OUT held.
            move_missing(&self.staging, &self.out);
            let _ = std::fs::remove_dir_all(&self.staging);
        }
        let _ = std::fs::remove_file(self.out.join(STAGING_MARK));
        Ok(())
    }
}

/// Swaps two directories in one step (Linux `renameat2`); where the file system can't,
/// OUT is moved aside and the new one moved in (a moment without OUT, never a mix).
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c =
        |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(std::io::Error::other);
    let (ca, cb) = (c(a)?, c(b)?);
    // SAFETY: two valid NUL-terminated paths; the call reads them only.
    let done = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if done == 0 {
        return Ok(());
    }
    let aside = a.with_extension("old");
    std::fs::rename(b, &aside)?;
    std::fs::rename(a, b)?;
    std::fs::rename(&aside, a)
}

/// Moves each entry of `from` that `to` lacks into `to` (files OUT held that are not
/// part of the report: they stay where the user put them).
fn move_missing(from: &Path, to: &Path) {
    let Ok(entries) = std::fs::read_dir(from) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name == STAGING_MARK {
            continue;
        }
        let target = to.join(&name);
        if !target.exists() {
            let _ = std::fs::rename(entry.path(), target);
        }
    }
}

/// Staging directories of OUT (`.OUT.<pid>.tmp`) whose process is gone: one still marked
/// held a new report that never took OUT's place (removed); one unmarked held the old
/// report after the swap (what it holds that OUT lacks is moved back, then removed).
fn sweep_leftovers(parent: &Path, name: &str, out: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    let prefix = format!(".{name}.");
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = file_name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".tmp"))
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let dir = entry.path();
        if !dir.join(STAGING_MARK).exists() && out.exists() {
            move_missing(&dir, out);
        }
        let _ = std::fs::remove_dir_all(&dir);
        tracing::info!("removed {} (left by a killed report)", dir.display());
    }
}

fn extension(format: Format) -> &'static str {
    match format {
        Format::Csv => "csv",
        Format::Parquet => "parquet",
    }
}

/// A frame as CSV: UTF-8, a header row, dates as YYYY-MM-DD, empty cells for nulls.
/// `frame` with each column named by its Chinese label (`--headers zh`).
fn chinese_headers(frame: &DataFrame, labels: &super::words::Labels) -> PolarsResult<DataFrame> {
    let mut renamed = frame.clone();
    let names: Vec<String> = frame
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    for name in names {
        let label = labels.label(super::words::Lang::Zh, &name).to_string();
        renamed.rename(&name, label.into())?;
    }
    Ok(renamed)
}

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
