//! `cdncost.toml`: settings that outlive one command line.
//!
//! Read from `--config FILE`, or `./cdncost.toml` when it exists. Unknown keys are an
//! error, so a typo never silently falls back to a default. Command-line flags and
//! environment variables win over the file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

pub const DEFAULT_CONFIG: &str = "cdncost.toml";

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `lake = "DIR"` or `lake = "s3://bucket/prefix"` (default `./lake`), or a `[lake]`
    /// table with `location` and `[lake.s3]`.
    #[serde(default)]
    pub lake: LakeSetting,
    #[serde(default)]
    pub ingest: IngestConfig,
    #[serde(default)]
    pub logs: LogsConfig,
    #[serde(default)]
    pub prices: crate::report::prices::Prices,
    #[serde(default)]
    pub media: MediaConfig,
    #[serde(default)]
    pub report: ReportConfig,
    /// `[allocation]`: what becomes of billed usage no log explains.
    #[serde(default)]
    pub allocation: crate::report::allocation::AllocationConfig,
    /// `[budgets]`: the month's budgets and the thresholds announced.
    #[serde(default)]
    pub budgets: crate::report::budgets::BudgetsConfig,
    /// `[notify]`: the nightly result in a chat group (none: no message).
    #[serde(default)]
    pub notify: Option<crate::sources::robot::NotifyConfig>,
    /// Each platform's own table (`[<platform>]`), as the platform read it when the
    /// file loaded ([`PlatformSettings`]).
    #[serde(skip)]
    pub platforms: PlatformTables,
}

/// What loading the settings asks of a platform: its table's name, and how the table is
/// read and checked. The platforms' registry hands the list to [`Config::load`]; this
/// room never names a platform.
pub trait PlatformSettings: Sync {
    /// The table, `[<name>]`.
    fn name(&self) -> &'static str;
    /// Reads the table (`None` when the file has none: the platform's defaults), checks
    /// it and keeps it with [`PlatformTables::set`]. A platform may move its deprecated
    /// keys into the shared settings of `config` (saying so in the log).
    fn load(
        &self,
        table: Option<toml::Value>,
        config: &mut Config,
        file: &Path,
    ) -> Result<(), String>;
}

/// A platform's table as its settings type (`None`: the file has none, the defaults);
/// an unknown key or a wrong type is an error, as everywhere in the file.
pub fn read_table<T: serde::de::DeserializeOwned + Default>(
    table: Option<toml::Value>,
) -> Result<T, String> {
    match table {
        Some(table) => table.try_into().map_err(|e| e.to_string()),
        None => Ok(T::default()),
    }
}

/// Each platform's settings, typed by the platform that reads them.
#[derive(Clone, Default)]
pub struct PlatformTables(
    std::collections::BTreeMap<&'static str, std::sync::Arc<dyn std::any::Any + Send + Sync>>,
);

impl PlatformTables {
    /// A platform's settings: as loaded, else its type's defaults (no table in the file,
    /// or settings made in code).
    pub fn get<T: std::any::Any + Clone + Default>(&self, platform: &str) -> T {
        self.0
            .get(platform)
            .and_then(|value| value.downcast_ref::<T>())
            .cloned()
            .unwrap_or_default()
    }

    pub fn set<T: std::any::Any + Send + Sync>(&mut self, platform: &'static str, value: T) {
        self.0.insert(platform, std::sync::Arc::new(value));
    }
}

/// Names only: a platform's settings hold secrets, and their own `Debug` is theirs.
impl std::fmt::Debug for PlatformTables {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// `lake = "…"`, or `[lake]` with `location = "…"` and an optional `[lake.s3]` section
/// (endpoint, region, keys, part size, leases: `lake::S3Settings`).
#[derive(Debug, Clone)]
pub enum LakeSetting {
    Location(String),
    Table(LakeTable),
}

/// A string or a table, each with its own errors (an untagged enum would only say that
/// neither matched, hiding the misspelt key).
impl<'de> Deserialize<'de> for LakeSetting {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Either;
        impl<'de> serde::de::Visitor<'de> for Either {
            type Value = LakeSetting;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a directory or s3:// URL, or a [lake] table")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<LakeSetting, E> {
                Ok(LakeSetting::Location(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<LakeSetting, A::Error> {
                LakeTable::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(LakeSetting::Table)
            }
        }
        d.deserialize_any(Either)
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LakeTable {
    pub location: Option<String>,
    #[serde(default)]
    pub s3: crate::lake::S3Settings,
}

impl Default for LakeSetting {
    fn default() -> Self {
        LakeSetting::Table(LakeTable::default())
    }
}

impl LakeSetting {
    pub fn location(&self) -> Option<String> {
        match self {
            LakeSetting::Location(location) => Some(location.clone()),
            LakeSetting::Table(table) => table.location.clone(),
        }
    }

    pub fn s3(&self) -> crate::lake::S3Settings {
        match self {
            LakeSetting::Location(_) => Default::default(),
            LakeSetting::Table(table) => table.s3.clone(),
        }
    }
}

/// `[report]`: how reports read.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportConfig {
    /// The page's language: `zh` (default) or `en`; `--lang` wins.
    #[serde(default)]
    pub lang: crate::report::words::Lang,
}

/// `[media]`: how requests are attributed to dramas.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaConfig {
    /// A hand-made `path_prefix,drama_name` file that names prefixes the catalogue does
    /// not know (default: none).
    pub mapping: Option<PathBuf>,
}

/// `[logs]`: how the hourly log files are downloaded and when they count as complete.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogsConfig {
    /// Where downloaded log files are kept (`RAW/cdn_logs/date=…/<name>.gz`).
    pub raw_dir: PathBuf,
    /// Downloads at once.
    pub download_jobs: usize,
    /// A download larger than this is stopped (bytes).
    pub max_download_bytes: u64,
    /// A log file that inflates past this is refused (bytes).
    pub max_inflated_bytes: u64,
    /// One download attempt that is not done after this many seconds is cut (and
    /// retried): a connection trickling a byte at a time can't hold the lake's lock.
    pub download_deadline_secs: u64,
    /// A file fetched this many hours after its hour ended is complete; earlier ones are
    /// downloaded again next run (the platform completes files about 3 hours late).
    pub complete_after_hours: u64,
}

impl Default for LogsConfig {
    fn default() -> Self {
        LogsConfig {
            raw_dir: "raw".into(),
            download_jobs: 4,
            max_download_bytes: 4_000_000_000,
            max_inflated_bytes: 40_000_000_000,
            download_deadline_secs: 1800,
            complete_after_hours: 3,
        }
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    /// Files parsed at once (default: all cores).
    pub jobs: Option<usize>,
    /// Rows per Parquet row group (default 65536).
    pub row_group_rows: Option<usize>,
    /// zstd level for Parquet pages (default 1: level 3 made ingest 15% slower for 5%
    /// smaller files, BENCHMARKS.md).
    pub zstd_level: Option<i32>,
    /// Lines longer than this are rejected, their first bytes kept (default 1 MiB).
    pub max_line_bytes: Option<usize>,
    /// A request line counting more bytes than this is rejected (default 100 GB).
    pub max_request_bytes: Option<i64>,
    /// Rejected lines kept per file with their bytes (default 10000; the rest counted).
    pub max_rejects_kept: Option<u64>,
    /// A file of 1000+ lines with more rejects than this percentage is refused (default 50).
    pub max_reject_percent: Option<u64>,
}

impl Config {
    /// The file named by `--config`, else `./cdncost.toml` if present, else defaults;
    /// each of `platforms` reads its own table.
    pub fn load(explicit: Option<&Path>, platforms: &[&dyn PlatformSettings]) -> Result<Config> {
        let path = match explicit {
            Some(path) => path.to_path_buf(),
            None if Path::new(DEFAULT_CONFIG).exists() => PathBuf::from(DEFAULT_CONFIG),
            None => PathBuf::new(),
        };
        let text = if path.as_os_str().is_empty() {
            String::new()
        } else {
            read_capped(&path)?
        };
        Config::from_text(&text, &path, platforms)
    }

    /// The settings `text` holds (`path` names it in errors and warnings).
    pub fn from_text(
        text: &str,
        path: &Path,
        platforms: &[&dyn PlatformSettings],
    ) -> Result<Config> {
        let in_file = |e: &dyn std::fmt::Display| anyhow::anyhow!("config {}: {e}", path.display());
        let mut table: toml::Table = toml::from_str(text).map_err(|e| in_file(&e))?;
        let tables: Vec<Option<toml::Value>> =
            platforms.iter().map(|p| table.remove(p.name())).collect();
        let mut config = Config::deserialize(table).map_err(|e| in_file(&e))?;
        for (platform, table) in platforms.iter().zip(tables) {
            platform
                .load(table, &mut config, path)
                .map_err(|e| in_file(&format!("[{}] {e}", platform.name())))?;
        }
        config.validate().map_err(|e| in_file(&e))?;
        let names: Vec<&str> = platforms.iter().map(|p| p.name()).collect();
        config
            .prices
            .check_platforms(&names)
            .map_err(|e| in_file(&e))?;
        Ok(config)
    }

    /// Checks the numbers serde takes as they come: no NaN or infinity anywhere, rates a
    /// timer can wait for, every size within the range it works in (a value out of range
    /// is an error naming the key and the range, never raised or lowered silently).
    pub fn validate(&self) -> Result<(), String> {
        self.prices.validate()?;
        self.budgets.validate()?;
        if self.logs.download_deadline_secs == 0 {
            return Err("[logs] download_deadline_secs must be at least 1".into());
        }
        let ingest = &self.ingest;
        in_range(
            "[ingest] max_line_bytes",
            ingest.max_line_bytes,
            1024,
            1 << 30,
        )?;
        in_range(
            "[ingest] row_group_rows",
            ingest.row_group_rows,
            1,
            16 << 20,
        )?;
        in_range("[ingest] zstd_level", ingest.zstd_level, 1, 22)?;
        in_range(
            "[ingest] max_reject_percent",
            ingest.max_reject_percent,
            0,
            100,
        )?;
        in_range("[ingest] jobs", ingest.jobs, 1, 1024)?;
        in_range(
            "[ingest] max_request_bytes",
            ingest.max_request_bytes,
            1,
            i64::MAX,
        )?;
        let logs = &self.logs;
        in_range("[logs] download_jobs", Some(logs.download_jobs), 1, 256)?;
        in_range(
            "[logs] max_download_bytes",
            Some(logs.max_download_bytes),
            1,
            u64::MAX,
        )?;
        in_range(
            "[logs] max_inflated_bytes",
            Some(logs.max_inflated_bytes),
            1,
            u64::MAX,
        )?;
        if let Some(notify) = &self.notify {
            notify.validate()?;
        }
        Ok(())
    }
}

/// A settings file larger than this is refused before it is read whole (a typo'd path
/// such as `/dev/zero` must not read until memory runs out).
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

fn read_capped(path: &Path) -> Result<String> {
    use std::io::Read;
    let reading = || format!("reading config {}", path.display());
    let file = std::fs::File::open(path).with_context(reading)?;
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(reading)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        anyhow::bail!(
            "config {}: larger than {} KiB, not a settings file",
            path.display(),
            MAX_CONFIG_BYTES >> 10
        );
    }
    String::from_utf8(bytes).with_context(|| format!("config {}: not UTF-8 text", path.display()))
}

/// `value` (when set) within `min..=max`, else an error naming `key` and the range.
fn in_range<T: PartialOrd + std::fmt::Display + Copy>(
    key: &str,
    value: Option<T>,
    min: T,
    max: T,
) -> Result<(), String> {
    match value {
        Some(v) if v < min || v > max => {
            Err(format!("{key} = {v} is out of range: use {min} to {max}"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `lake = "…"` and `[lake]` + `[lake.s3]` both load; the secret key never prints;
    /// a misspelt key is named.
    #[test]
    fn lake_settings_in_both_forms() {
        let plain: Config = toml::from_str("lake = \"s3://studio-lake/x\"\n").unwrap();
        assert_eq!(plain.lake.location().as_deref(), Some("s3://studio-lake/x"));
        let table: Config = toml::from_str(
            "[lake]\nlocation = \"s3://studio-lake/x\"\n[lake.s3]\nendpoint = \"https://cos.ap-shanghai.myqcloud.com\"\nsecret_access_key = \"sk-very-secret\"\npart_size_mib = 16\n",
        )
        .unwrap();
        let s3 = table.lake.s3();
        assert_eq!(s3.part_size_mib, Some(16));
        assert!(!format!("{table:?}").contains("sk-very-secret"));
        let none: Config = toml::from_str("").unwrap();
        assert_eq!(none.lake.location(), None);
        let typo = toml::from_str::<Config>("[lake.s3]\nendpont = \"x\"\n").unwrap_err();
        assert!(
            typo.to_string().contains("unknown field `endpont`"),
            "{typo}"
        );
    }

    #[test]
    fn every_number_is_checked_when_the_config_loads() {
        let validated = |text| toml::from_str::<Config>(text).unwrap().validate();
        assert!(validated("").is_ok());
        let err = validated("[prices]\nbilling_factor = nan\n").unwrap_err();
        assert!(err.contains("[prices]"), "{err}");
    }
}
