//! Every platform studios publish through, one folder each (`wechat/`, `polyv/`): its
//! client and loopback server, its fetch jobs, its lake tables and manifests, its
//! settings, and what the report and the page make of its data.

pub mod accounts;
pub mod loopback;
pub mod polyv;
pub mod wechat;

use crate::config::PlatformSettings;
use crate::pipeline::nightly::NightlyPlatform;

/// One platform, as each room loops over it: its settings table, its nightly steps (and
/// through them what the report makes of its data).
pub struct Registered {
    pub name: &'static str,
    pub settings: &'static dyn PlatformSettings,
    pub nightly: &'static dyn NightlyPlatform,
}

/// Every platform, in the report's order (its columns, its cards): the one list.
pub const REGISTRY: &[Registered] = &[
    Registered {
        name: wechat::NAME,
        settings: &wechat::Settings,
        nightly: &wechat::Nightly,
    },
    Registered {
        name: polyv::NAME,
        settings: &polyv::Settings,
        nightly: &polyv::Nightly,
    },
];

/// The settings tables of every platform, for [`crate::config::Config::load`].
pub fn settings() -> Vec<&'static dyn PlatformSettings> {
    REGISTRY.iter().map(|p| p.settings).collect()
}

/// Every platform's nightly steps, for [`crate::pipeline::nightly::run`].
pub fn nightly() -> Vec<&'static dyn NightlyPlatform> {
    REGISTRY.iter().map(|p| p.nightly).collect()
}

/// What the report makes of every platform, for [`crate::report::make_with`].
pub fn report() -> Vec<Box<dyn crate::report::platform::Platform>> {
    REGISTRY.iter().map(|p| p.nightly.report()).collect()
}

/// Every table of the lake: its own catalogue, then each platform's.
pub fn tables() -> Vec<crate::lake::catalogue::Table> {
    let own = crate::lake::catalogue::TABLES.iter().copied();
    own.chain(
        REGISTRY
            .iter()
            .flat_map(|p| p.nightly.report().spec().tables.iter().copied()),
    )
    .collect()
}

/// The settings in `--config FILE` (or `./cdncost.toml`), every platform's table read
/// by that platform.
pub fn load_config(explicit: Option<&std::path::Path>) -> anyhow::Result<crate::config::Config> {
    crate::config::Config::load(explicit, &settings())
}

/// The accounts every platform's settings name (as `job` reads them), for the report.
pub fn account_names(
    job: &crate::pipeline::Job,
) -> std::collections::BTreeMap<&'static str, Vec<String>> {
    REGISTRY
        .iter()
        .map(|p| (p.name, p.nightly.account_names(job)))
        .filter(|(_, names)| !names.is_empty())
        .collect()
}

/// Every platform's accounts' ids (appid, userid) by name, for the FOCUS export.
pub fn account_ids(
    job: &crate::pipeline::Job,
) -> std::collections::BTreeMap<&'static str, std::collections::BTreeMap<String, String>> {
    REGISTRY
        .iter()
        .map(|p| (p.name, p.nightly.account_ids(job)))
        .filter(|(_, ids)| !ids.is_empty())
        .collect()
}

/// Item → drama names of every platform's settings, for the report.
pub fn item_dramas(
    config: &crate::config::Config,
) -> std::collections::BTreeMap<&'static str, std::collections::BTreeMap<String, String>> {
    REGISTRY
        .iter()
        .map(|p| (p.name, p.nightly.item_dramas(config)))
        .filter(|(_, names)| !names.is_empty())
        .collect()
}
