//! A log file's part of the rollups ([`crate::lake::rollup`]), summed as its lines are
//! parsed: three hash maps keyed by small integers (strings interned once per file), so
//! a line costs a few hash lookups and no allocation, and memory follows the file's
//! distinct keys, never its lines.
//!
//! Why not group the written rows with polars afterwards (as `cdncost rollup` does for
//! files ingested before rollups): reading a file's rows back doubled ingest time and
//! took 0.5 GB a job, for sums the parser holds in its hands. The parts are written by
//! the lake's own row-group writer through the same column builders as the requests
//! (`cdnlog::columns`), not by polars' writer, whose dictionary trial on every column
//! cost more than the sums for a small file. Both give the same rows:
//! `tests/rollups.rs` checks what ingest writes against `cdn_requests` grouped by polars,
//! and `tests/lake_scope.rs` the backfilled rollups against ingested ones.

use std::collections::BTreeMap;

use crate::cdnlog::codes::{isp_name, province_name, UNKNOWN};
use crate::cdnlog::columns::{DirPart, FileLabels, FiveMinutePart, PlacePart, PlaceRow};
use crate::cdnlog::line::Cache;
use crate::china_time::ChinaHour;
use crate::lake::columns::RowGroup;
use crate::lake::rollup::BUCKET_MS;
use crate::lake::{Scope, TableSchema};
use chrono::NaiveDate;
use foldhash::fast::FixedState;
use hashbrown::HashMap;

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
        // A byte search (`/` is ASCII): `str::rfind` of a char is a generic searcher.
        let dir = match memchr::memrchr(b'/', line.path.as_bytes()) {
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

    /// The parts, per China day: one row group per rollup table (`rollup::ROLLUPS`
    /// order), each with `scope`'s keys, and the schema to write it with. Rows are in the
    /// maps' order (the day file sorts): fixed for the same file, and sorting every part
    /// by its text keys cost more than summing them.
    pub fn into_parts(&self, scope: &Scope) -> BTreeMap<NaiveDate, [Part; 3]> {
        let mut days: BTreeMap<NaiveDate, Builders> = BTreeMap::new();
        for ((bucket, channel), [requests, bytes]) in &self.five_minutes {
            let date = ChinaHour::of_unix_ms(bucket * BUCKET_MS).date();
            let channel = self.channels.get(*channel);
            day(&mut days, date)
                .five
                .push(bucket * BUCKET_MS, channel, *requests, *bytes);
        }
        for ((hour, channel, dir), [requests, bytes]) in &self.by_dir {
            let (channel, dir) = (self.channels.get(*channel), self.dirs.get(*dir));
            day(&mut days, hour.date()).dir.push(
                i64::from(hour.hour),
                channel,
                dir,
                *requests,
                *bytes,
            );
        }
        for (key, [requests, bytes]) in &self.by_place {
            day(&mut days, key.hour.date()).place.push(&PlaceRow {
                hour: i64::from(key.hour.hour),
                channel: self.channels.get(key.channel),
                domain: self.domains.get(key.domain),
                province: province_name(key.province).unwrap_or(UNKNOWN),
                isp: isp_name(key.isp).unwrap_or(UNKNOWN),
                status: key.status,
                cache: key.cache.as_str(),
                requests: *requests,
                bytes: *bytes,
            });
        }
        let labels = FileLabels {
            scope,
            source_file: "",
        };
        days.into_iter()
            .map(|(date, mut b)| {
                let parts = [
                    (FiveMinutePart::schema(), b.five.take(&labels)),
                    (DirPart::schema(), b.dir.take(&labels)),
                    (PlacePart::schema(), b.place.take(&labels)),
                ];
                (date, parts)
            })
            .collect()
    }
}

/// A rollup part: its table's schema and its rows.
pub type Part = (&'static TableSchema, RowGroup);

/// One China day's part builders.
struct Builders {
    five: FiveMinutePart,
    dir: DirPart,
    place: PlacePart,
}

impl Builders {
    fn new() -> Self {
        Builders {
            five: FiveMinutePart::new(256),
            dir: DirPart::new(1024),
            place: PlacePart::new(1024),
        }
    }
}

fn day(days: &mut BTreeMap<NaiveDate, Builders>, date: NaiveDate) -> &mut Builders {
    days.entry(date).or_insert_with(Builders::new)
}
