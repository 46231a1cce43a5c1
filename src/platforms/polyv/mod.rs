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

use super::accounts::{accounts_of, check_tables, of, Account, AccountTable};
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

/// Every Polyv account a job fetches: the `default` one of `[polyv]` (and the `POLYV_*`
/// variables) when it has a userid, then each `[polyv.accounts.<name>]`, with the shared
/// keys as its defaults.
pub fn accounts(job: &Job) -> Vec<Account<PolyvConfig>> {
    let mut shared = settings(job);
    let tables = std::mem::take(&mut shared.accounts);
    let with_default = !shared.userid.is_empty();
    accounts_of(
        NAME,
        (shared, with_default),
        tables,
        |_, table, secret, shared| PolyvConfig {
            userid: table.userid.clone(),
            secretkey: secret,
            api_base: table.api_base.clone().unwrap_or(shared.api_base.clone()),
            videos: table.mapping.clone().unwrap_or(shared.videos.clone()),
            ..shared.clone()
        },
    )
}

impl AccountTable for api::PolyvAccount {
    const KEYS: (&'static str, (&'static str, &'static str)) =
        ("userid", ("secret_key", "secret_key_env"));

    fn id(&self) -> &str {
        &self.userid
    }

    fn secret(&self) -> (&Option<crate::util::secret::Secret>, &Option<String>) {
        (&self.secret_key, &self.secret_key_env)
    }
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
        check_tables(&polyv.userid, &polyv.accounts)?;
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
        let accounts = accounts(job);
        if accounts.is_empty() {
            tracing::info!("Polyv skipped (no POLYV_USERID, [polyv] userid or [polyv.accounts])");
            return;
        }
        steps.per_account(
            &accounts,
            |a| a.whose("Polyv", &accounts),
            |account, steps| match &account.settings {
                Ok(settings) => {
                    tracing::info!("Polyv traffic {days}{}", of(&account.scope));
                    steps.required(
                        "Polyv",
                        fetch::fetch(job, (&account.scope, settings), days, None),
                    );
                }
                Err(e) => steps.required("settings", Err(JobError::Setup(e.clone()))),
            },
        );
    }

    fn report(&self) -> Box<dyn crate::report::platform::Platform> {
        Box::new(report::Polyv)
    }

    fn account_names(&self, job: &Job) -> Vec<String> {
        accounts(job)
            .into_iter()
            .map(|a| a.scope.account().to_string())
            .collect()
    }

    fn account_ids(&self, job: &Job) -> std::collections::BTreeMap<String, String> {
        super::accounts::ids_of(accounts(job), |settings| settings.userid)
    }

    /// Every account's mapping file's dramas (a vid is one account's: they never meet).
    fn item_dramas(&self, config: &Config) -> std::collections::BTreeMap<String, String> {
        let shared = config.platforms.get::<PolyvConfig>(NAME);
        let mut dramas = videos::dramas_of(&shared.videos);
        for account in shared.accounts.values() {
            if let Some(mapping) = &account.mapping {
                dramas.extend(videos::dramas_of(mapping));
            }
        }
        dramas
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
