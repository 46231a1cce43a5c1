//! A third CDN, "fakecdn", as a platform folder of the same shape as
//! `src/platforms/wechat/` and `src/platforms/polyv/`: its loopback server (`server.rs`),
//! its fetch job (`fetch.rs`: the day's traffic over HTTP into its lake table), its
//! settings table (`[fakecdn]`, below), its nightly step and what the report makes of it
//! (`report.rs`: columns, labels in both languages, page columns, drama traffic). It is
//! registered once, in the list `tests/platforms.rs` hands the library; no file of `src/`
//! knows it.

pub mod fetch;
pub mod report;
pub mod server;

use std::path::Path;

use cdncost::china_time::DateRange;
use cdncost::config::{Config, PlatformSettings};
use cdncost::lake::catalogue::Kind;
use cdncost::pipeline::nightly::{NightlyPlatform, NightlyRequest, Steps};
use cdncost::pipeline::Job;
use cdncost::util::secret::Secret;
use serde::Deserialize;

/// Its `platform` value, its settings table, its prices table, its columns' prefix.
pub const NAME: &str = "fakecdn";
/// Its lake table: per China day, channel and drama, the bytes it billed.
pub const TABLE: &str = "fakecdn_traffic";
/// Its table as the catalogue lists it.
pub const TABLE_ENTRY: cdncost::lake::catalogue::Table = cdncost::lake::catalogue::Table {
    name: TABLE,
    owner: NAME,
    partitions: "date=YYYY-MM-DD",
    row: "one channel's bytes of one drama on one day",
};
/// One record per China day fetched, `_manifest/fakecdn/<date>.json`.
pub const DAYS: Kind = Kind {
    name: "fakecdn",
    owner: NAME,
};

/// `[fakecdn]`: where its API is and the token it takes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FakeConfig {
    pub api_base: String,
    pub token: Secret,
}

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
        let fake: FakeConfig = cdncost::config::read_table(table)?;
        config.platforms.set(NAME, fake);
        Ok(())
    }
}

pub struct Nightly;

impl NightlyPlatform for Nightly {
    fn name(&self) -> &'static str {
        NAME
    }

    fn fetch(&self, job: &Job, days: DateRange, _: &NightlyRequest, steps: &mut Steps) {
        let config: FakeConfig = job.config.platforms.get(NAME);
        if config.api_base.is_empty() {
            return;
        }
        steps.required("fake CDN", fetch::fetch(job, &config, days));
    }

    fn report(&self) -> Box<dyn cdncost::report::platform::Platform> {
        Box::new(report::FakeCdn)
    }
}
