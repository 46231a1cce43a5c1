//! A log file's part of the rollups ([`crate::lake::rollup`]), summed as its lines are
//! parsed: three hash maps keyed by small integers (strings interned once per file), so
//! a line costs a few hash lookups and no allocation, and memory follows the file's
//! distinct keys, never its lines.
//!
//! Why not group the written rows with polars afterwards (as `cdncost rollup` does for
//! files ingested before rollups): reading a file's rows back doubled ingest time and
//! took 0.5 GB a job, for sums the parser holds in its hands. Both give the same rows:
//! `tests/rollups.rs` checks what ingest writes against `cdn_requests` grouped by polars,
//! and `tests/lake_scope.rs` the backfilled rollups against ingested ones.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use foldhash::fast::FixedState;
use hashbrown::HashMap;
use polars::prelude::*;

use crate::cdnlog::codes::{isp_name, province_name, UNKNOWN};
use crate::cdnlog::line::Cache;
use crate::china_time::{china_tz, ChinaHour};
use crate::lake::rollup::BUCKET_MS;
use crate::lake::Scope;

/// "No value" (an untagged request's channel, a path without `/`).
const NONE: u32 = u32::MAX;

/// Strings seen in one file, each stored once and named by its index.
#[derive(Default)]
struct Interner {
    index: HashMap<Box<str>, u32, FixedState>,
    strings: Vec<Box<str>>,
}

impl Interner {
    #[inline]
    fn id(&mut self, value: &str) -> u32 {
        if let Some(id) = self.index.get(value) {
            return *id;
        }
        let id = self.strings.len() as u32;
        self.strings.push(value.into());
        self.index.insert(value.into(), id);
        id
    }

    fn get(&self, id: u32) -> Option<&str> {
        (id != NONE).then(|| &*self.strings[id as usize])
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct PlaceKey {
    hour: ChinaHour,
    channel: u32,
    domain: u32,
    /// Codes, named when the part is written (as the request rows name them).
    province: i32,
    isp: i32,
    status: i32,
    cache: Cache,
}

/// Requests and bytes.
type Sums = [i64; 2];

/// One file's sums per rollup key.
#[derive(Default)]
pub struct RollupSums {
    channels: Interner,
    dirs: Interner,
    domains: Interner,
    /// The last domain and its id: a file is one domain's.
    last_domain: Option<(u32, usize)>,
    five_minutes: HashMap<(i64, u32), Sums, FixedState>,
    by_dir: HashMap<(ChinaHour, u32, u32), Sums, FixedState>,
    by_place: HashMap<PlaceKey, Sums, FixedState>,
}

/// What one parsed line adds.
pub struct RollupLine<'a> {
    pub ts_ms: i64,
    pub hour: ChinaHour,
    pub channel: Option<&'a str>,
    pub path: &'a str,
    pub domain: &'a str,
    pub province_code: i32,
    pub isp_code: i32,
    pub status: i32,
    pub cache: Cache,
    pub bytes: i64,
}

fn add(sums: &mut Sums, bytes: i64) {
    sums[0] += 1;
    sums[1] += bytes;
}

impl RollupSums {
    #[inline]
    pub fn add(&mut self, line: &RollupLine<'_>) {
        let channel = line.channel.map_or(NONE, |c| self.channels.id(c));
        let dir = match line.path.rfind('/') {
            Some(end) => self.dirs.id(&line.path[..=end]),
            None => NONE,
        };
        let bucket = line.ts_ms.div_euclid(BUCKET_MS);
        add(
            self.five_minutes.entry((bucket, channel)).or_default(),
            line.bytes,
        );
        add(
            self.by_dir.entry((line.hour, channel, dir)).or_default(),
            line.bytes,
        );
        let place = PlaceKey {
            hour: line.hour,
            channel,
            domain: self.domain_id(line.domain),
            province: line.province_code,
            isp: line.isp_code,
            status: line.status,
            cache: line.cache,
        };
        add(self.by_place.entry(place).or_default(), line.bytes);
    }

    #[inline]
    fn domain_id(&mut self, domain: &str) -> u32 {
        if let Some((id, len)) = self.last_domain {
            if len == domain.len() && &*self.domains.strings[id as usize] == domain {
                return id;
            }
        }
        let id = self.domains.id(domain);
        self.last_domain = Some((id, domain.len()));
        id
    }

    /// The parts, per China day: one frame per rollup table (`rollup::ROLLUPS` order), each
    /// with `scope`'s keys.
    pub fn into_frames(&self, scope: &Scope) -> PolarsResult<BTreeMap<NaiveDate, [DataFrame; 3]>> {
        let mut days: BTreeMap<NaiveDate, [Columns<'_>; 3]> = BTreeMap::new();
        for ((bucket, channel), sums) in &self.five_minutes {
            let date = ChinaHour::of_unix_ms(bucket * BUCKET_MS).date();
            let c = &mut days.entry(date).or_default()[0];
            c.bucket.push(bucket * BUCKET_MS);
            c.channel.push(self.channels.get(*channel));
            c.sums(sums);
        }
        for ((hour, channel, dir), sums) in &self.by_dir {
            let c = &mut days.entry(hour.date()).or_default()[1];
            c.hour.push(i64::from(hour.hour));
            c.channel.push(self.channels.get(*channel));
            c.dir.push(self.dirs.get(*dir));
            c.sums(sums);
        }
        for (key, sums) in &self.by_place {
            let c = &mut days.entry(key.hour.date()).or_default()[2];
            c.hour.push(i64::from(key.hour.hour));
            c.channel.push(self.channels.get(key.channel));
            c.domain.push(self.domains.get(key.domain));
            c.province
                .push(Some(province_name(key.province).unwrap_or(UNKNOWN)));
            c.isp.push(Some(isp_name(key.isp).unwrap_or(UNKNOWN)));
            c.status.push(key.status);
            c.cache.push(key.cache.as_str());
            c.sums(sums);
        }
        days.into_iter()
            .map(|(date, [a, b, c])| {
                Ok((
                    date,
                    [a.frame(0, scope)?, b.frame(1, scope)?, c.frame(2, scope)?],
                ))
            })
            .collect()
    }
}

/// A rollup's rows as they are gathered (only a table's own columns are filled).
#[derive(Default)]
struct Columns<'a> {
    bucket: Vec<i64>,
    hour: Vec<i64>,
    channel: Vec<Option<&'a str>>,
    dir: Vec<Option<&'a str>>,
    domain: Vec<Option<&'a str>>,
    province: Vec<Option<&'a str>>,
    isp: Vec<Option<&'a str>>,
    status: Vec<i32>,
    cache: Vec<&'static str>,
    requests: Vec<i64>,
    bytes: Vec<i64>,
}

impl Columns<'_> {
    fn sums(&mut self, sums: &Sums) {
        self.requests.push(sums[0]);
        self.bytes.push(sums[1]);
    }

    fn frame(self, table: usize, scope: &Scope) -> PolarsResult<DataFrame> {
        let height = self.requests.len();
        let text = |name: &str, values: Vec<Option<&str>>| Column::new(name.into(), values);
        let mut columns = vec![
            Column::new(crate::lake::PLATFORM.into(), vec![scope.platform(); height]),
            Column::new(crate::lake::ACCOUNT.into(), vec![scope.account(); height]),
        ];
        match table {
            0 => columns.extend([
                Column::new("bucket_start".into(), self.bucket).cast(&DataType::Datetime(
                    TimeUnit::Milliseconds,
                    Some(china_tz()),
                ))?,
                text("channel", self.channel),
            ]),
            1 => columns.extend([
                Column::new("hour".into(), self.hour),
                text("channel", self.channel),
                text("dir", self.dir),
            ]),
            _ => columns.extend([
                Column::new("hour".into(), self.hour),
                text("channel", self.channel),
                text("domain", self.domain),
                text("province", self.province),
                text("isp", self.isp),
                Column::new("status".into(), self.status),
                Column::new("cache".into(), self.cache),
            ]),
        }
        columns.push(Column::new("requests".into(), self.requests));
        columns.push(Column::new("bytes".into(), self.bytes));
        // Unsorted (the day file sorts): the maps' order is fixed for the same file, and
        // sorting every part by its text keys cost more than summing them.
        DataFrame::new(height, columns)
    }
}
