//! Polyv (保利威), one folder: its SHA-1 signed API client (`api.rs`), the video → channel
//! mapping file (`videos.rs`), the loopback server that speaks its protocol
//! (`server.rs`), the job that fetches each video's daily traffic into `polyv_traffic`
//! (`fetch.rs`), and what the report makes of it (`report.rs`). `super::registry` lists
//! it once.

pub mod api;
pub mod fetch;
pub mod report;
pub mod server;
pub mod videos;

pub use api::{DayTraffic, PolyvClient, PolyvConfig, PolyvError};

use std::path::Path;

use crate::config::{Config, PlatformSettings};
use crate::lake::catalogue::{Kind, Table};
use crate::pipeline::{Job, JobError};

/// The platform's name: its `platform` value in the lake and the report, its settings
/// table `[polyv]`, its prices `[prices.polyv]` (or the flat `polyv_*` keys).
pub const NAME: &str = "polyv";

/// Its table: each video's traffic per China day, `polyv_traffic/date=D/polyv.parquet`.
pub const TABLE: &str = "polyv_traffic";

/// Its tables, as the catalogue lists them.
pub const TABLES: &[Table] = &[Table {
    name: TABLE,
    owner: NAME,
    partitions: "date=YYYY-MM-DD",
    row: "one Polyv video's traffic on one day",
}];

/// One record per China day fetched (`_manifest/polyv/<date>.json`,
/// [`fetch::VideoDayRecord`]).
pub const DAYS: Kind = Kind {
    name: "polyv",
    owner: NAME,
};

/// The settings a job uses: `[polyv]`, with `POLYV_*` variables over it when the job
/// takes the environment.
pub fn settings(job: &Job) -> PolyvConfig {
    job.platform_settings(NAME, PolyvConfig::with_env)
}

/// `[polyv]` in cdncost.toml.
pub struct Settings;

impl PlatformSettings for Settings {
    fn name(&self) -> &'static str {
        NAME
    }

    fn load(
        &self,
        table: Option<toml::Value>,
        config: &mut Config,
        _: &Path,
    ) -> Result<(), String> {
        let polyv: PolyvConfig = crate::config::read_table(table)?;
        let rate = polyv.requests_per_second;
        if !rate.is_finite() || rate < 0.0 || (rate > 0.0 && rate < 0.001) {
            return Err(format!(
                "requests_per_second = {rate}: use 0 (no limit) or a rate of at least 0.001"
            ));
        }
        config.platforms.set(NAME, polyv);
        Ok(())
    }
}

impl From<PolyvError> for JobError {
    fn from(e: PolyvError) -> JobError {
        JobError::Source(Box::new(e))
    }
}

/// The nightly run's Polyv step: each video's traffic, when an account is set.
pub struct Nightly;

impl crate::pipeline::nightly::NightlyPlatform for Nightly {
    fn name(&self) -> &'static str {
        NAME
    }

    fn fetch(
        &self,
        job: &Job,
        days: crate::china_time::DateRange,
        _: &crate::pipeline::nightly::NightlyRequest,
        steps: &mut crate::pipeline::nightly::Steps,
    ) {
        if settings(job).userid.is_empty() {
            tracing::info!("Polyv skipped (no POLYV_USERID or [polyv] userid)");
            return;
        }
        tracing::info!("Polyv traffic {days}");
        steps.required("Polyv", fetch::fetch(job, days, None));
    }

    fn report(&self) -> Box<dyn crate::report::platform::Platform> {
        Box::new(report::Polyv)
    }

    fn item_dramas(&self, config: &Config) -> std::collections::BTreeMap<String, String> {
        videos::dramas_of(&config.platforms.get::<PolyvConfig>(NAME).videos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_rate_is_checked_when_the_config_loads() {
        let load = |text: &str| Config::from_text(text, Path::new("t.toml"), &[&Settings]);
        assert!(load("[polyv]\nrequests_per_second = 0\n").is_ok());
        for bad in ["1e-20", "nan", "inf"] {
            let err = load(&format!("[polyv]\nrequests_per_second = {bad}\n"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("[polyv] requests_per_second"), "{bad}: {err}");
        }
    }
}
