//! China time: every day and hour in cdncost is a day or hour in Asia/Shanghai.
//!
//! China has used a fixed UTC+8 offset without daylight saving since 1991, so a fixed
//! offset gives exactly the Asia/Shanghai wall clock for any date this tool will meet,
//! without a time-zone database on the hot path. The `ts` column is still tagged
//! `Asia/Shanghai` so readers (DuckDB, pandas, polars) show China wall-clock time.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Utc};

/// The IANA name written into timestamp columns.
pub const CHINA_TZ: &str = "Asia/Shanghai";

/// The zone of every timestamp column in the lake, as polars names it.
pub fn china_tz() -> polars::prelude::TimeZone {
    // `from_static` only skips validation, and this name is a valid IANA zone.
    unsafe { polars::prelude::TimeZone::from_static(CHINA_TZ) }
}
/// UTC+8 in seconds.
pub const OFFSET_SECS: i64 = 8 * 3600;
/// Minutes in a China day (no daylight saving time in China): the daily series' interval.
pub const MINUTES_PER_DAY: i64 = 1440;
const MS_PER_HOUR: i64 = 3_600_000;

pub fn offset() -> FixedOffset {
    FixedOffset::east_opt(OFFSET_SECS as i32).expect("UTC+8 is a valid offset")
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm):
/// allocation-free and branch-light, used for every log line.
pub const fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub const fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// A China-time wall clock reading to unix milliseconds, or `None` when a part is out of range.
pub fn china_civil_to_unix_ms(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<i64> {
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60
    {
        return None;
    }
    let secs = days_from_civil(y, mo, d) * 86_400 + (h * 3600 + mi * 60 + s) as i64 - OFFSET_SECS;
    Some(secs * 1000)
}

/// The China day (days since epoch) and hour of a unix-millisecond instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChinaHour {
    pub day: i32,
    pub hour: u8,
}

impl ChinaHour {
    #[inline]
    pub fn of_unix_ms(ts_ms: i64) -> Self {
        let local_hours = (ts_ms + OFFSET_SECS * 1000).div_euclid(MS_PER_HOUR);
        ChinaHour {
            day: local_hours.div_euclid(24) as i32,
            hour: local_hours.rem_euclid(24) as u8,
        }
    }

    pub fn date(self) -> NaiveDate {
        date_of_day_number(self.day)
    }
}

pub fn date_of_day_number(day: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::TimeDelta::days(day as i64)
}

pub fn day_number(date: NaiveDate) -> i32 {
    days_from_civil(date.year() as i64, date.month(), date.day()) as i32
}

/// Unix seconds of 00:00 China time on `date`.
pub fn day_start_unix(date: NaiveDate) -> i64 {
    day_number(date) as i64 * 86_400 - OFFSET_SECS
}

/// Environment variable that fixes "today" (a China date, `YYYY-MM-DD`), for tests and
/// the demo, whose sample data has fixed dates. It moves calendar decisions only (which
/// day is yesterday, what is old enough to be final, history limits); request
/// timestamps such as Polyv's `ptime` always use the real clock.
pub const TODAY_ENV: &str = "CDNCOST_TODAY";

static PINNED_TODAY: std::sync::OnceLock<NaiveDate> = std::sync::OnceLock::new();

/// The clock seam: fixes "today" for the rest of the process (the demo serves sample
/// data with fixed dates). Like [`TODAY_ENV`], it moves calendar decisions only. The
/// first pin holds for the rest of the process.
pub fn pin_today(date: NaiveDate) {
    PINNED_TODAY.get_or_init(|| date);
}

/// Today's date in China, whatever the host's zone (or the pinned date, or `CDNCOST_TODAY`).
pub fn today() -> NaiveDate {
    if let Some(pinned) = PINNED_TODAY.get() {
        return *pinned;
    }
    std::env::var(TODAY_ENV)
        .ok()
        .and_then(|s| parse_date(s.trim()).ok())
        .unwrap_or_else(|| Utc::now().with_timezone(&offset()).date_naive())
}

/// Environment variable that sets what the scheduler's clock reads when the process
/// starts (RFC 3339, e.g. `2026-11-20T02:59:58+08:00`); it runs on at the real pace from
/// there. For tests of `schedule`, so a late start cannot make it wait a day. Runs the
/// scheduler starts do not inherit it.
pub const CLOCK_START_ENV: &str = "CDNCOST_CLOCK_START";

/// How far the clock seam moves the real clock (zero unless [`CLOCK_START_ENV`] is set).
fn clock_shift() -> chrono::Duration {
    static SHIFT: std::sync::OnceLock<chrono::Duration> = std::sync::OnceLock::new();
    *SHIFT.get_or_init(|| {
        std::env::var(CLOCK_START_ENV)
            .ok()
            .and_then(|s| DateTime::parse_from_rfc3339(s.trim()).ok())
            .map(|start| start.with_timezone(&Utc) - Utc::now())
            .unwrap_or_default()
    })
}

/// The time now in China, through the clock seam ([`CLOCK_START_ENV`]).
pub fn now() -> DateTime<FixedOffset> {
    (Utc::now() + clock_shift()).with_timezone(&offset())
}

/// The China wall-clock time now, in whole seconds, as RFC 3339 (`2026-11-20T03:30:00+08:00`):
/// how manifests, leases and messages stamp when something happened.
pub fn now_rfc3339() -> String {
    to_china(Utc::now().timestamp()).to_rfc3339()
}

/// The China wall-clock time of unix seconds, for messages.
pub fn to_china(unix_secs: i64) -> DateTime<FixedOffset> {
    offset()
        .timestamp_opt(unix_secs, 0)
        .single()
        .unwrap_or_else(|| offset().timestamp_opt(0, 0).unwrap())
}

/// China days `from..=to`, checked once where they enter (the command line): every job
/// and report takes one of these, never two loose dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    from: NaiveDate,
    to: NaiveDate,
}

/// A range whose end comes before its start.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("--to {to} is before --from {from}")]
pub struct ReversedRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl DateRange {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<DateRange, ReversedRange> {
        if to < from {
            return Err(ReversedRange { from, to });
        }
        Ok(DateRange { from, to })
    }

    /// One day.
    pub fn day(date: NaiveDate) -> DateRange {
        DateRange {
            from: date,
            to: date,
        }
    }

    pub fn from(&self) -> NaiveDate {
        self.from
    }

    pub fn to(&self) -> NaiveDate {
        self.to
    }

    /// Every day, in order.
    pub fn days(&self) -> impl Iterator<Item = NaiveDate> + use<> {
        let to = self.to;
        self.from.iter_days().take_while(move |d| *d <= to)
    }

    pub fn len_days(&self) -> u64 {
        (self.to - self.from).num_days() as u64 + 1
    }

    /// The same range, starting `days` earlier (a lookback).
    pub fn extended_back(&self, days: u64) -> DateRange {
        DateRange {
            from: self.from - chrono::Days::new(days),
            to: self.to,
        }
    }
}

impl std::fmt::Display for DateRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}..{}", self.from, self.to)
    }
}

/// Parses `YYYY-MM-DD` (the form used on the command line and in partition names).
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| format!("'{s}' is not a date of the form YYYY-MM-DD"))
}

/// The first day of `date`'s month.
pub fn first_of_month(date: NaiveDate) -> NaiveDate {
    use chrono::Datelike;
    date.with_day(1).expect("day 1 exists")
}

/// The last day of `date`'s month.
pub fn last_of_month(date: NaiveDate) -> NaiveDate {
    use chrono::Datelike;
    let (y, m) = if date.month() == 12 {
        (date.year() + 1, 1)
    } else {
        (date.year(), date.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).expect("a month starts on day 1") - chrono::Days::new(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_ranges_are_checked_once() {
        let d = |s: &str| parse_date(s).unwrap();
        let range = DateRange::new(d("2026-11-29"), d("2026-12-02")).unwrap();
        assert_eq!(range.len_days(), 4);
        assert_eq!(range.days().last(), Some(d("2026-12-02")));
        assert_eq!(range.to_string(), "2026-11-29..2026-12-02");
        assert_eq!(range.extended_back(3).from(), d("2026-11-26"));
        let err = DateRange::new(d("2026-11-19"), d("2026-11-18")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--to 2026-11-18 is before --from 2026-11-19"
        );
        assert_eq!(DateRange::day(d("2026-11-18")).len_days(), 1);
    }

    #[test]
    fn civil_matches_chrono_for_many_days() {
        let mut d = NaiveDate::from_ymd_opt(1999, 12, 25).unwrap();
        for _ in 0..20_000 {
            assert_eq!(
                day_number(d) as i64,
                d.signed_duration_since(NaiveDate::from_ymd_opt(1970, 1, 1).unwrap())
                    .num_days()
            );
            assert_eq!(date_of_day_number(day_number(d)), d);
            d = d.succ_opt().unwrap();
        }
    }

    #[test]
    fn domain_example_hour_is_beijing_time() {
        // DOMAIN.md: name 2024032819-… has start_time 1711623600 = 2024-03-28 19:00 +08:00.
        let ms = china_civil_to_unix_ms(2024, 3, 28, 19, 0, 0).unwrap();
        assert_eq!(ms, 1_711_623_600_000);
        let h = ChinaHour::of_unix_ms(ms);
        assert_eq!(
            (h.date().to_string(), h.hour),
            ("2024-03-28".to_string(), 19)
        );
        // One millisecond earlier is the previous China hour.
        assert_eq!(ChinaHour::of_unix_ms(ms - 1).hour, 18);
        // 16:00 UTC is midnight of the next China day.
        let midnight = ChinaHour::of_unix_ms(1_711_641_600_000);
        assert_eq!(
            (midnight.date().to_string(), midnight.hour),
            ("2024-03-29".to_string(), 0)
        );
    }

    #[test]
    fn rejects_impossible_dates() {
        assert!(china_civil_to_unix_ms(2026, 2, 29, 0, 0, 0).is_none());
        assert!(china_civil_to_unix_ms(2024, 2, 29, 0, 0, 0).is_some());
        assert!(china_civil_to_unix_ms(2026, 13, 1, 0, 0, 0).is_none());
        assert!(china_civil_to_unix_ms(2026, 4, 31, 0, 0, 0).is_none());
        assert!(china_civil_to_unix_ms(2026, 4, 30, 24, 0, 0).is_none());
    }

    #[test]
    fn day_start_is_midnight_china() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        assert_eq!(
            to_china(day_start_unix(d)).to_rfc3339(),
            "2026-11-20T00:00:00+08:00"
        );
    }
}
