//! The WeChat mini-drama media service (a VOD platform on Tencent Cloud), one folder:
//! its API client (`api.rs`, `media_api.rs`), the loopback server that speaks its
//! protocol (`server.rs`), its fetch jobs (`logs.rs`: the hourly log files into
//! `cdn_requests`; `usage.rs`: the billed usage series; `media.rs`: the catalogue), and
//! what the report makes of them (`report.rs`). `super::registry` lists it once.

pub mod api;
pub mod logs;
pub mod media;
pub mod media_api;
pub mod report;
pub mod server;
pub mod usage;

pub use api::{LogFileEntry, WechatClient, WechatConfig, WechatError};

use std::path::Path;

use super::accounts::{accounts_of, check_tables, file_of_account, of, Account, AccountTable};
use crate::config::{Config, LogsConfig, PlatformSettings};
use crate::lake::Scope;
use crate::pipeline::{Job, JobError};

/// The platform's name: its `platform` value in the lake and the report, its settings
/// table `[wechat]`, its prices `[prices.wechat]` (or the flat `wechat_*` keys).
pub const NAME: &str = "wechat";

/// The settings a job uses: `[wechat]`, with `WECHAT_*` variables over it when the job
/// takes the environment.
pub fn settings(job: &Job) -> WechatConfig {
    job.platform_settings(NAME, WechatConfig::with_env)
}

/// Every mini-program a job fetches: the `default` one of `[wechat]` (and the
/// `WECHAT_*` variables) when it has an appid or is the only one, then each
/// `[wechat.accounts.<name>]`, with the shared keys as its defaults.
pub fn accounts(job: &Job) -> Vec<Account<WechatConfig>> {
    let mut shared = settings(job);
    let tables = std::mem::take(&mut shared.accounts);
    let with_default = !shared.appid.is_empty() || tables.is_empty();
    accounts_of(
        NAME,
        (shared, with_default),
        tables,
        |name, table, secret, shared| WechatConfig {
            appid: table.appid.clone(),
            appsecret: secret,
            api_base: table.api_base.clone().unwrap_or(shared.api_base.clone()),
            token_cache: table.token_cache.clone().or_else(|| {
                shared
                    .token_cache
                    .as_deref()
                    .map(|file| file_of_account(file, name))
            }),
            ..shared.clone()
        },
    )
}

impl AccountTable for api::WechatAccount {
    const KEYS: (&'static str, (&'static str, &'static str)) = ("appid", ("secret", "secret_env"));

    fn id(&self) -> &str {
        &self.appid
    }

    fn secret(&self) -> (&Option<crate::util::secret::Secret>, &Option<String>) {
        (&self.secret, &self.secret_env)
    }

    fn own_file(&self) -> Option<&Path> {
        self.token_cache.as_deref()
    }
}

/// `[wechat]` in cdncost.toml.
pub struct Settings;

impl PlatformSettings for Settings {
    fn name(&self) -> &'static str {
        NAME
    }

    fn load(
        &self,
        table: Option<toml::Value>,
        config: &mut Config,
        file: &Path,
    ) -> Result<(), String> {
        let mut wechat: WechatConfig = crate::config::read_table(table)?;
        move_deprecated(&mut wechat, &mut config.logs, file);
        check_tables(&wechat.appid, &wechat.accounts)?;
        config.platforms.set(NAME, wechat);
        Ok(())
    }
}

/// Download settings written under `[wechat]` (where they used to be) are taken into
/// `[logs]`, unless `[logs]` sets them too, with one warning naming them.
fn move_deprecated(old: &mut WechatConfig, new: &mut LogsConfig, file: &Path) {
    let defaults = LogsConfig::default();
    let mut moved = Vec::new();
    macro_rules! take {
        ($field:ident) => {
            if let Some(value) = old.$field.take() {
                moved.push(stringify!($field));
                if new.$field == defaults.$field {
                    new.$field = value;
                }
            }
        };
    }
    take!(raw_dir);
    take!(download_jobs);
    take!(max_download_bytes);
    take!(max_inflated_bytes);
    take!(complete_after_hours);
    if !moved.is_empty() {
        tracing::warn!(
            "{}: {} under [wechat] is deprecated: move it to [logs]",
            file.display(),
            moved.join(", ")
        );
    }
}

impl From<WechatError> for JobError {
    fn from(e: WechatError) -> JobError {
        JobError::Source(Box::new(e))
    }
}

/// The nightly run's WeChat steps: the usage series, the log files, the catalogue.
pub struct Nightly;

/// One mini-program's nightly steps.
fn fetch_account(
    job: &Job,
    account: &Account<WechatConfig>,
    days: crate::china_time::DateRange,
    request: &crate::pipeline::nightly::NightlyRequest,
    steps: &mut crate::pipeline::nightly::Steps,
) {
    use crate::pipeline::nightly::within_history;
    let settings = match &account.settings {
        Ok(settings) => settings,
        Err(e) => return steps.required("settings", Err(JobError::Setup(e.clone()))),
    };
    let scope = &account.scope;
    if let Some(days) = within_history(days, usage::HISTORY_DAYS, "usage series") {
        tracing::info!("WeChat usage series {days}{}", of(scope));
        steps.required(
            "usage series",
            usage::fetch(
                job,
                (scope, settings),
                days,
                usage::DAILY_MIN,
                usage::BILLED_TRAFFIC,
            ),
        );
    }
    if let Some(days) = within_history(days, logs::HISTORY_DAYS, "CDN logs") {
        tracing::info!("WeChat CDN log files {days}{}", of(scope));
        let logs_request = logs::LogsRequest {
            raw: request.raw.clone(),
            ..Default::default()
        };
        steps.required(
            "CDN logs",
            logs::fetch(job, (scope, settings), days, &logs_request),
        );
    }
    // The catalogue only names dramas: a failure keeps the last one, and the run is
    // incomplete rather than failed.
    tracing::info!("WeChat media catalogue{}", of(scope));
    steps.optional(
        "media catalogue",
        media::fetch(job, (scope, settings)),
        (
            "media: the catalogue could not be fetched",
            "dramas are named from the last one",
        ),
    );
}

/// What a fetch job of one account gets: whose data, and its client's settings.
pub type AccountSettings<'a> = (&'a Scope, &'a WechatConfig);

impl crate::pipeline::nightly::NightlyPlatform for Nightly {
    fn name(&self) -> &'static str {
        NAME
    }

    fn fetch(
        &self,
        job: &Job,
        days: crate::china_time::DateRange,
        request: &crate::pipeline::nightly::NightlyRequest,
        steps: &mut crate::pipeline::nightly::Steps,
    ) {
        let accounts = accounts(job);
        steps.per_account(
            &accounts,
            |a| a.whose("WeChat", &accounts),
            |account, steps| fetch_account(job, account, days, request, steps),
        );
    }

    fn report(&self) -> Box<dyn crate::report::platform::Platform> {
        Box::new(report::Wechat)
    }

    /// Its accounts; none when no appid is set anywhere (a lake read without settings).
    fn account_names(&self, job: &Job) -> Vec<String> {
        accounts(job)
            .into_iter()
            .filter(|a| a.settings.as_ref().map_or(true, |s| !s.appid.is_empty()))
            .map(|a| a.scope.account().to_string())
            .collect()
    }

    fn account_ids(&self, job: &Job) -> std::collections::BTreeMap<String, String> {
        super::accounts::ids_of(accounts(job), |settings| settings.appid)
    }
}
