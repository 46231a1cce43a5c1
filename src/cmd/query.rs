//! `cdncost query`: ad-hoc SQL over the lake and the report tables.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use polars::prelude::*;

use cdncost::exit::Exit;
use cdncost::query::{self, LibraryQuery};
use cdncost::report::output::csv_bytes;
use cdncost::table::render_frame;

use super::Context;

/// Run SQL over the lake (polars' SQL engine), or a named query from queries/.
///
/// Tables: cdn_requests, cdn_usage, polyv_traffic, media_history, rejects (the lake, with
/// the hive partition columns `date`, `hour`, `interval`); the rollups of cdn_requests,
/// a row per key instead of a row per request: requests_5min, requests_by_dir,
/// requests_by_place (`requests` and `bytes` per key); and
/// channel_daily, channel_monthly, reconciliation… when the report directory holds them.
/// A filter on `date` reads only those days' files.
///
/// QUERY is SQL text, a .sql file, or a name from the library (`top_channels` is
/// queries/top_channels.sql; `cdncost query --list` shows them).
///
/// Parameters: write `:name` in the SQL and pass `--param name=value`; the value goes in
/// as a quoted string literal (quotes doubled; backslashes and control characters are
/// refused), so it can never change the query. Cast where a number is needed:
/// `CAST(:limit AS INT)`. Library queries declare defaults as `-- param: name = value`.
///
/// Examples:
///   cdncost query --list
///   cdncost query top_channels --param from=2026-11-18 --param to=2026-11-18
///   cdncost query "SELECT channel, sum(bytes) FROM cdn_requests WHERE date = '2026-11-18' GROUP BY 1"
///   cdncost query channel_by_province_isp --param channel=wxad --format csv --output wxad.csv
#[derive(clap::Args, Debug)]
pub struct Args {
    /// SQL text, a .sql file, or a library query name
    #[arg(required_unless_present = "list")]
    pub query: Option<String>,
    /// List the library's queries with what each answers
    #[arg(long)]
    pub list: bool,
    /// NAME=VALUE for a :NAME placeholder (repeatable)
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// Write the result to FILE instead of stdout
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The query library [default: ./queries, else the one in the source tree]
    #[arg(long, value_name = "DIR")]
    pub queries: Option<PathBuf>,
    /// Where the report tables are read from
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub reports: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Table,
    Csv,
    Json,
    Parquet,
}

pub fn run(ctx: &Context, args: Args) -> Result<Exit> {
    let library_dir = args
        .queries
        .clone()
        .unwrap_or_else(|| super::bundled("queries"));
    if args.list {
        list(&library_dir)?;
        return Ok(Exit::Ok);
    }
    let text = args.query.as_deref().unwrap_or_default();
    let sql = query::resolve(text, &library_dir)?;
    let mut params: BTreeMap<String, String> = BTreeMap::new();
    for arg in &args.params {
        let (name, value) = query::parse_param(arg)?;
        params.insert(name, value);
    }
    // What the command line leaves out comes from the settings (the cost parameters),
    // else from the query's declared defaults.
    let settings = ctx
        .config
        .prices
        .query_params(cdncost::lake::catalogue::owner(cdncost::lake::REQUESTS));
    for (name, value) in query::declared_defaults(&sql) {
        let value = settings.get(&name).cloned().unwrap_or(value);
        params.entry(name).or_insert(value);
    }
    let bound = query::bind(&sql, &params)?;
    let started = std::time::Instant::now();
    let mut frame = query::execute(
        &ctx.lake,
        &args.reports,
        &cdncost::platforms::tables(),
        &bound,
    )?;
    tracing::debug!(
        "{} rows in {:.3}s",
        frame.height(),
        started.elapsed().as_secs_f64()
    );
    let bytes = render(&mut frame, args.format, args.output.as_deref())?;
    match &args.output {
        Some(path) => {
            std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?
        }
        None => std::io::stdout().lock().write_all(&bytes)?,
    }
    Ok(Exit::Ok)
}

fn list(dir: &Path) -> Result<()> {
    let queries: Vec<LibraryQuery> = query::library(dir)?;
    let width = queries.iter().map(|q| q.name.len()).max().unwrap_or(0);
    for q in queries {
        outln!("{:width$}  {}", q.name, q.summary)?;
    }
    Ok(())
}

fn render(frame: &mut DataFrame, format: OutputFormat, output: Option<&Path>) -> Result<Vec<u8>> {
    Ok(match format {
        OutputFormat::Table => render_frame(frame).into_bytes(),
        OutputFormat::Csv => csv_bytes(frame, false, output.unwrap_or(Path::new("stdout")))?,
        OutputFormat::Json => json_bytes(frame)?,
        OutputFormat::Parquet => {
            if output.is_none() && std::io::stdout().is_terminal() {
                bail!("Parquet is binary: use --output FILE, or redirect stdout");
            }
            let mut bytes = Vec::new();
            ParquetWriter::new(&mut bytes)
                .with_compression(ParquetCompression::Zstd(None))
                .finish(frame)?;
            bytes
        }
    })
}

/// A JSON array of row objects, keys in column order; dates and times as strings.
fn json_bytes(frame: &DataFrame) -> Result<Vec<u8>> {
    use serde_json::Value;
    let mut cells: Vec<Vec<String>> = vec![Vec::new(); frame.height()];
    for column in frame.columns() {
        let key = serde_json::to_string(column.name().as_str())?;
        for (i, value) in column.as_materialized_series().iter().enumerate() {
            let json = match value {
                AnyValue::Null => Value::Null,
                AnyValue::Boolean(b) => Value::Bool(b),
                AnyValue::Int8(v) => v.into(),
                AnyValue::Int16(v) => v.into(),
                AnyValue::Int32(v) => v.into(),
                AnyValue::Int64(v) => v.into(),
                AnyValue::UInt8(v) => v.into(),
                AnyValue::UInt16(v) => v.into(),
                AnyValue::UInt32(v) => v.into(),
                AnyValue::UInt64(v) => v.into(),
                AnyValue::Float32(v) => float(v as f64),
                AnyValue::Float64(v) => float(v),
                AnyValue::String(s) => Value::String(s.to_string()),
                AnyValue::StringOwned(s) => Value::String(s.to_string()),
                other => Value::String(other.to_string().trim_matches('"').to_string()),
            };
            cells[i].push(format!("{key}:{json}"));
        }
    }
    let rows: Vec<String> = cells
        .into_iter()
        .map(|row| format!("  {{{}}}", row.join(",")))
        .collect();
    Ok(format!("[\n{}\n]\n", rows.join(",\n")).into_bytes())
}

fn float(v: f64) -> serde_json::Value {
    serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, serde_json::Value::Number)
}
