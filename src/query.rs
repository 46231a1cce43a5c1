//! Ad-hoc SQL over the lake with polars' SQL engine.
//!
//! Tables are registered as lazy scans, hive partitions kept, so `WHERE date = '…'`
//! reads only that day's files. Parameters are filled in by us, not by the engine (it
//! has no bound parameters): a `:name` placeholder outside strings and comments becomes
//! a single-quoted SQL string literal, quotes doubled. Values with a backslash or a
//! control character are refused outright, so no dialect's escape rules can turn a
//! value into SQL. A query casts where it needs a number: `CAST(:limit AS INT)`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use polars::sql::SQLContext;

use crate::lake::catalogue::Table;
use crate::lake::{collect_streaming, rollup, Lake, LakeError};

/// The report tables, read from a report directory (the lake's come from its catalogue).
pub const REPORT_TABLES: &[&str] = &[
    "channel_daily",
    "channel_platform_daily",
    "channel_monthly",
    "reconciliation",
    "drama_daily",
    "drama_monthly",
    "episode_daily",
];

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("parameter :{name} is not given (--param {name}=VALUE){}", hint(.declared))]
    MissingParam { name: String, declared: String },
    #[error("--param {0}: the query has no :{0} placeholder")]
    UnusedParam(String),
    #[error("--param {0}: expected NAME=VALUE")]
    BadParam(String),
    #[error("--param {0}: backslashes and control characters are not accepted in values")]
    UnsafeValue(String),
    #[error("SQL: {message}{}", tables_hint(.message, .tables))]
    Sql {
        message: String,
        tables: Vec<String>,
    },
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no query named '{name}' in {dir} (cdncost query --list shows them)")]
    UnknownQuery { name: String, dir: PathBuf },
}

fn hint(declared: &str) -> String {
    if declared.is_empty() {
        String::new()
    } else {
        format!("; the query says: {declared}")
    }
}

fn tables_hint(message: &str, tables: &[String]) -> String {
    if message.contains("not found") || message.contains("relation") {
        format!("; tables here: {}", tables.join(", "))
    } else {
        String::new()
    }
}

/// The SQL context with every one of `tables` that exists registered (the lake's
/// catalogue and the platforms' tables, as the registry lists them), and the report
/// tables of `reports`; returns the names too.
pub fn context(
    lake: &Lake,
    reports: &Path,
    tables: &[Table],
) -> Result<(SQLContext, Vec<String>), QueryError> {
    let ctx = SQLContext::new();
    let mut names = Vec::new();
    let rollups = rollups_of_every_day(lake)?;
    for table in tables.iter().map(|t| t.name) {
        if let Some(i) = rollup::ROLLUPS.iter().position(|r| *r == table) {
            if let Some(frame) = rollups.as_ref().and_then(|r| r.frames[i].clone()) {
                ctx.register(table, frame);
                names.push(table.to_string());
            }
            continue;
        }
        match lake.scan(table) {
            Ok(frame) => {
                ctx.register(table, frame);
                names.push(table.to_string());
            }
            Err(LakeError::EmptyTable { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    for table in REPORT_TABLES {
        let path = reports.join(format!("{table}.parquet"));
        if path.is_file() {
            let frame = LazyFrame::scan_parquet(
                PlRefPath::new(path.to_string_lossy().as_ref()),
                ScanArgsParquet::default(),
            )
            .map_err(|e| QueryError::Sql {
                message: format!("{}: {}", path.display(), first_line(&e)),
                tables: Vec::new(),
            })?;
            ctx.register(table, frame);
            names.push(table.to_string());
        }
    }
    Ok((ctx, names))
}

/// The rollup tables as reports read them ([`rollup::plan`]: a day's files, or its parts
/// when they are newer), over every day with requests. A lake with request files that
/// have no rollups yet gets the others registered and a warning naming `cdncost rollup`.
fn rollups_of_every_day(lake: &Lake) -> Result<Option<rollup::RollupRead>, QueryError> {
    let Some((first, last)) = lake.request_days()? else {
        return Ok(None);
    };
    match rollup::plan(lake, first, last) {
        Ok(read) => Ok(Some(read)),
        Err(e @ rollup::RollupError::Unrolled { .. }) => {
            tracing::warn!("the rollup tables are not available: {e}");
            Ok(None)
        }
        Err(rollup::RollupError::Lake(e)) => Err(e.into()),
        Err(e) => Err(QueryError::Sql {
            message: e.to_string(),
            tables: Vec::new(),
        }),
    }
}

/// Runs one statement and collects its result on polars' streaming engine
/// ([`collect_streaming`]): memory that grows with the answer, not the days asked.
pub fn execute(
    lake: &Lake,
    reports: &Path,
    tables: &[Table],
    sql: &str,
) -> Result<DataFrame, QueryError> {
    let (mut ctx, tables) = context(lake, reports, tables)?;
    let sql_err = |e: PolarsError| QueryError::Sql {
        message: first_line(&e),
        tables: tables.clone(),
    };
    collect_streaming(ctx.execute(sql).map_err(sql_err)?).map_err(sql_err)
}

fn first_line(e: &PolarsError) -> String {
    e.to_string().lines().next().unwrap_or_default().to_string()
}

/// A query file of the library: its text, first comment line and declared parameters.
#[derive(Debug, Clone)]
pub struct LibraryQuery {
    pub name: String,
    pub path: PathBuf,
    pub summary: String,
    pub sql: String,
}

impl LibraryQuery {
    pub fn read(path: &Path) -> Result<LibraryQuery, QueryError> {
        let sql = std::fs::read_to_string(path).map_err(|source| QueryError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let summary = sql
            .lines()
            .find_map(|l| l.trim().strip_prefix("--"))
            .unwrap_or("")
            .trim()
            .to_string();
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(LibraryQuery {
            name,
            path: path.to_path_buf(),
            summary,
            sql,
        })
    }
}

/// The `.sql` files of a directory, by name.
pub fn library(dir: &Path) -> Result<Vec<LibraryQuery>, QueryError> {
    let entries = std::fs::read_dir(dir).map_err(|source| QueryError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut out: Vec<LibraryQuery> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .map(|p| LibraryQuery::read(&p))
        .collect::<Result<_, _>>()?;
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// SQL text, a `.sql` path, or a library name → the SQL.
pub fn resolve(arg: &str, library_dir: &Path) -> Result<String, QueryError> {
    let as_path = Path::new(arg);
    if arg.ends_with(".sql") || (as_path.is_file() && !arg.contains(char::is_whitespace)) {
        return Ok(LibraryQuery::read(as_path)?.sql);
    }
    let is_name = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if is_name {
        let path = library_dir.join(format!("{arg}.sql"));
        if path.is_file() {
            return Ok(LibraryQuery::read(&path)?.sql);
        }
        return Err(QueryError::UnknownQuery {
            name: arg.to_string(),
            dir: library_dir.to_path_buf(),
        });
    }
    Ok(arg.to_string())
}

/// `NAME=VALUE` → (name, value).
pub fn parse_param(arg: &str) -> Result<(String, String), QueryError> {
    let (name, value) = arg
        .split_once('=')
        .ok_or_else(|| QueryError::BadParam(arg.to_string()))?;
    let valid = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if !valid {
        return Err(QueryError::BadParam(arg.to_string()));
    }
    Ok((name.to_string(), value.to_string()))
}

/// Defaults declared in the query's comments: `-- param: NAME = VALUE  what it is`.
pub fn declared_defaults(sql: &str) -> BTreeMap<String, String> {
    sql.lines()
        .filter_map(|l| l.trim().strip_prefix("--")?.trim().strip_prefix("param:"))
        .filter_map(|decl| {
            let (name, rest) = decl.split_once('=')?;
            let value = rest.split_whitespace().next()?;
            Some((name.trim().to_string(), value.to_string()))
        })
        .collect()
}

/// Replaces each `:name` placeholder (outside string literals, quoted identifiers and
/// comments; `::` casts left alone) by the value as a quoted string literal.
pub fn bind(sql: &str, params: &BTreeMap<String, String>) -> Result<String, QueryError> {
    if let Some((name, _)) = params
        .iter()
        .find(|(_, value)| value.chars().any(|c| c == '\\' || c.is_control()))
    {
        return Err(QueryError::UnsafeValue(name.clone()));
    }
    let chars: Vec<char> = sql.chars().collect();
    let mut out = String::with_capacity(sql.len());
    let mut used = std::collections::BTreeSet::new();
    let mut i = 0;
    while i < chars.len() {
        let (piece, end) = sql_piece(&chars, i);
        match piece {
            Piece::Placeholder => {
                let name: String = chars[i + 1..end].iter().collect();
                let value = params.get(&name).ok_or_else(|| QueryError::MissingParam {
                    name: name.clone(),
                    declared: declared_params(sql),
                })?;
                out.push('\'');
                out.push_str(&value.replace('\'', "''"));
                out.push('\'');
                used.insert(name);
            }
            Piece::Text => out.extend(&chars[i..end]),
        }
        i = end;
    }
    if let Some(unused) = params.keys().find(|k| !used.contains(*k)) {
        return Err(QueryError::UnusedParam(unused.clone()));
    }
    Ok(out)
}

/// What [`bind`] meets in SQL: a placeholder to fill, or text to copy as it is.
#[derive(Debug, PartialEq, Eq)]
enum Piece {
    Placeholder,
    Text,
}

/// The piece of SQL that starts at `chars[i]`, and where it ends. Copied whole, so a
/// placeholder in them is text and a value can never close them: quoted strings and
/// identifiers (`'…'`, `"…"`, `` `…` ``, a doubled quote staying inside), dollar-quoted
/// strings (`$$…$$`, `$tag$…$tag$`), comments (`-- …`, `/* … */`) and `::` casts.
fn sql_piece(chars: &[char], i: usize) -> (Piece, usize) {
    let next = chars.get(i + 1).copied();
    let name_start = |c: char| c.is_ascii_alphabetic() || c == '_';
    let end = match (chars[i], next) {
        (quote @ ('\'' | '"' | '`'), _) => quoted_end(chars, i, quote),
        ('$', _) if dollar_tag(&chars[i..]).is_some() => {
            let tag = dollar_tag(&chars[i..]).expect("checked");
            (i + tag.len()..chars.len())
                .find(|&j| chars[j..].starts_with(&tag))
                .map_or(chars.len(), |j| j + tag.len())
        }
        ('-', Some('-')) => (i..chars.len())
            .find(|&j| chars[j] == '\n')
            .unwrap_or(chars.len()),
        ('/', Some('*')) => (i + 2..chars.len())
            .find(|&j| chars[j] == '*' && chars.get(j + 1) == Some(&'/'))
            .map_or(chars.len(), |j| j + 2),
        (':', Some(':')) => i + 2,
        (':', Some(c)) if name_start(c) => {
            let end = (i + 1..chars.len())
                .find(|&j| !(chars[j].is_ascii_alphanumeric() || chars[j] == '_'))
                .unwrap_or(chars.len());
            return (Piece::Placeholder, end);
        }
        _ => i + 1,
    };
    (Piece::Text, end)
}

/// The end of the quoted run opened at `chars[open]` (past its closing quote; a doubled
/// quote stays inside), or the end of the text when it is never closed.
fn quoted_end(chars: &[char], open: usize, quote: char) -> usize {
    let mut j = open + 1;
    while j < chars.len() {
        if chars[j] == quote {
            if chars.get(j + 1) != Some(&quote) {
                return j + 1;
            }
            j += 1;
        }
        j += 1;
    }
    chars.len()
}

/// The opening `$tag$` of a dollar-quoted string at the start of `chars` (the tag may be
/// empty; it can't start with a digit, so `$1` is not one).
fn dollar_tag(chars: &[char]) -> Option<Vec<char>> {
    let close = chars.iter().skip(1).position(|c| *c == '$')? + 1;
    let tag = &chars[1..close];
    let valid = tag
        .first()
        .is_none_or(|c| c.is_ascii_alphabetic() || *c == '_')
        && tag.iter().all(|c| c.is_ascii_alphanumeric() || *c == '_');
    valid.then(|| chars[..=close].to_vec())
}

fn declared_params(sql: &str) -> String {
    sql.lines()
        .filter_map(|l| l.trim().strip_prefix("--")?.trim().strip_prefix("param:"))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A placeholder inside a backtick-quoted identifier is text: a value can't close
    /// the identifier (`--param` injection through `` `:p` ``).
    #[test]
    fn backtick_identifiers_are_copied_whole() {
        let p = params(&[("p", "x` UNION SELECT secret FROM t --")]);
        assert!(matches!(
            bind("SELECT `:p` FROM t", &p),
            Err(QueryError::UnusedParam(name)) if name == "p"
        ));
        assert_eq!(
            bind("SELECT `a``b` AS `:p`, :p", &p).unwrap(),
            "SELECT `a``b` AS `:p`, 'x` UNION SELECT secret FROM t --'"
        );
    }

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_placeholder_in_a_dollar_quoted_string_is_text() {
        let params: BTreeMap<String, String> =
            [("x".to_string(), "$$ AS a, 6*7 AS injected, $$".to_string())].into();
        // In a dollar quote the placeholder is not bound: the value is unused.
        assert!(matches!(
            bind("SELECT $$ :x $$", &params),
            Err(QueryError::UnusedParam(_))
        ));
        assert!(bind("SELECT $t$ :x $t$", &params).is_err());
        // Outside, the value is one single-quoted literal, its $$ harmless.
        assert_eq!(
            bind("SELECT :x AS v, $$:x$$", &params).unwrap(),
            "SELECT '$$ AS a, 6*7 AS injected, $$' AS v, $$:x$$"
        );
    }

    #[test]
    fn placeholders_become_quoted_literals() {
        let sql = "SELECT * FROM t WHERE channel = :channel AND note = ':channel' -- :channel\nAND x::INT = 1";
        let bound = bind(sql, &params(&[("channel", "it's")])).unwrap();
        assert_eq!(
            bound,
            "SELECT * FROM t WHERE channel = 'it''s' AND note = ':channel' -- :channel\nAND x::INT = 1"
        );
    }

    #[test]
    fn a_quote_cannot_end_the_literal() {
        let bound = bind("WHERE c = :c", &params(&[("c", "x' OR '1'='1")])).unwrap();
        assert_eq!(bound, "WHERE c = 'x'' OR ''1''=''1'");
        assert!(matches!(
            bind("WHERE c = :c", &params(&[("c", "x\\' OR 1=1 --")])),
            Err(QueryError::UnsafeValue(_))
        ));
    }

    #[test]
    fn missing_and_unused_parameters_are_errors() {
        assert!(matches!(
            bind("WHERE c = :c", &params(&[])),
            Err(QueryError::MissingParam { .. })
        ));
        assert!(matches!(
            bind("SELECT 1", &params(&[("c", "x")])),
            Err(QueryError::UnusedParam(_))
        ));
    }

    #[test]
    fn defaults_come_from_param_comments() {
        let d = declared_defaults("-- Top channels\n-- param: from = 2026-11-01  first day\n-- param: limit = 10\nSELECT 1");
        assert_eq!(d["from"], "2026-11-01");
        assert_eq!(d["limit"], "10");
    }
}
