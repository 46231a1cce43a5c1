//! Where a month will end: its cost so far (each day as billed, to the fen) plus a
//! projection of the days it still lacks, with a low–high range.
//!
//! The days projected are the month's days after the last day of data, and any earlier
//! day of the month without data (a gap the next run may fill). Each is projected from the
//! 28 days up to the last day of data:
//!
//! - **same weekday**, when those days hold every weekday to project at least twice: the
//!   mean of that weekday's days (a studio's traffic has a weekly rhythm: weekends differ);
//!   the range is the lowest and highest of them;
//! - else the **trailing mean** of the last (at most) 7 days with data; the range is the
//!   lowest and highest of those days;
//! - with no day of data at all, nothing is projected.
//!
//! Integer fen throughout: a mean is rounded half up, once per projected day.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use crate::china_time::{first_of_month, last_of_month};

/// Days of history a projection looks back over.
pub const WINDOW_DAYS: u64 = 28;
/// Days the trailing mean takes (the latest with data).
pub const TRAILING_DAYS: usize = 7;
/// Observations of a weekday the weekday method needs.
pub const MIN_PER_WEEKDAY: usize = 2;

/// How the days left were projected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Each day from the mean of its weekday over the window.
    Weekday,
    /// Each day from the mean of the last `days` days with data.
    TrailingMean { days: usize },
    /// No day of data: nothing projected.
    NoHistory,
    /// The month is over and whole: nothing to project.
    Complete,
}

impl Method {
    /// For the README's words and the message: `weekday`, `trailing mean of 7 days`, ….
    pub fn describe(&self) -> String {
        match self {
            Method::Weekday => "same weekday over the last 4 weeks".into(),
            Method::TrailingMean { days } => format!("trailing mean of {days} days"),
            Method::NoHistory => "no history".into(),
            Method::Complete => "month complete".into(),
        }
    }
}

/// A month's forecast, in fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forecast {
    /// The first day of the month.
    pub month: NaiveDate,
    /// The cost of the month's days with data, up to the last.
    pub month_to_date_fen: i64,
    /// The month-end cost: month to date plus the days projected.
    pub expected_fen: i64,
    pub low_fen: i64,
    pub high_fen: i64,
    pub days_projected: u32,
    pub method: Method,
}

/// The forecast for the month of `as_of` (the last China day whose data counts) from
/// `daily`, a series of fen per China day (days without data absent).
pub fn month_end(daily: &BTreeMap<NaiveDate, i64>, as_of: NaiveDate) -> Forecast {
    let (first, last) = (first_of_month(as_of), last_of_month(as_of));
    let month_to_date_fen: i64 = daily.range(first..=as_of).map(|(_, fen)| fen).sum();
    let to_project: Vec<NaiveDate> = first
        .iter_days()
        .take_while(|d| *d <= last)
        .filter(|d| *d > as_of || !daily.contains_key(d))
        .collect();
    let window_start = as_of
        .checked_sub_days(chrono::Days::new(WINDOW_DAYS - 1))
        .unwrap_or(as_of);
    let window: Vec<(NaiveDate, i64)> = daily
        .range(window_start..=as_of)
        .map(|(d, f)| (*d, *f))
        .collect();
    let mut forecast = Forecast {
        month: first,
        month_to_date_fen,
        expected_fen: month_to_date_fen,
        low_fen: month_to_date_fen,
        high_fen: month_to_date_fen,
        days_projected: to_project.len() as u32,
        method: Method::Complete,
    };
    if to_project.is_empty() {
        return forecast;
    }
    if window.is_empty() {
        forecast.method = Method::NoHistory;
        forecast.days_projected = 0;
        return forecast;
    }
    let by_weekday = |d: NaiveDate| -> Vec<i64> {
        window
            .iter()
            .filter(|(w, _)| w.weekday() == d.weekday())
            .map(|(_, f)| *f)
            .collect()
    };
    let weekly = to_project
        .iter()
        .all(|d| by_weekday(*d).len() >= MIN_PER_WEEKDAY);
    let trailing: Vec<i64> = window
        .iter()
        .rev()
        .take(TRAILING_DAYS)
        .map(|(_, f)| *f)
        .collect();
    forecast.method = if weekly {
        Method::Weekday
    } else {
        Method::TrailingMean {
            days: trailing.len(),
        }
    };
    for day in &to_project {
        let basis = if weekly {
            by_weekday(*day)
        } else {
            trailing.clone()
        };
        forecast.expected_fen += mean_half_up(&basis);
        forecast.low_fen += basis.iter().copied().min().unwrap_or(0);
        forecast.high_fen += basis.iter().copied().max().unwrap_or(0);
    }
    forecast
}

/// The mean of `values`, rounded half away from zero, in integers.
fn mean_half_up(values: &[i64]) -> i64 {
    if values.is_empty() {
        return 0;
    }
    let n = values.len() as i128;
    let sum: i128 = values.iter().map(|v| *v as i128).sum();
    let rounded = if sum >= 0 {
        (2 * sum + n) / (2 * n)
    } else {
        -((-2 * sum + n) / (2 * n))
    };
    rounded as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, d).unwrap()
    }

    fn series(
        from: NaiveDate,
        to: NaiveDate,
        fen: impl Fn(NaiveDate) -> i64,
    ) -> BTreeMap<NaiveDate, i64> {
        from.iter_days()
            .take_while(|d| *d <= to)
            .map(|d| (d, fen(d)))
            .collect()
    }

    #[test]
    fn a_flat_series_projects_itself_with_no_range() {
        // 100 fen a day since October; as of 10 November, 20 days left.
        let daily = series(day(10, 1), day(11, 10), |_| 100);
        let f = month_end(&daily, day(11, 10));
        assert_eq!(f.month_to_date_fen, 1000);
        assert_eq!(f.days_projected, 20);
        assert_eq!(f.method, Method::Weekday);
        assert_eq!((f.expected_fen, f.low_fen, f.high_fen), (3000, 3000, 3000));
    }

    #[test]
    fn a_growing_series_with_little_history_takes_the_trailing_mean() {
        // 1 November … 10 November: 100, 110, …, 190 fen. Ten days: no weekday seen
        // twice for every day left, so the trailing mean of the last 7 (130…190):
        // 1120 / 7 = 160 per day, 20 days left; low 130, high 190 a day.
        let daily = series(day(11, 1), day(11, 10), |d| 100 + 10 * (d.day() as i64 - 1));
        let f = month_end(&daily, day(11, 10));
        assert_eq!(f.month_to_date_fen, 1450);
        assert_eq!(f.method, Method::TrailingMean { days: 7 });
        assert_eq!(f.expected_fen, 1450 + 20 * 160);
        assert_eq!((f.low_fen, f.high_fen), (1450 + 20 * 130, 1450 + 20 * 190));
    }

    #[test]
    fn a_weekly_pattern_projects_each_weekday_from_its_own() {
        // Weekends cost 300 fen, weekdays 100, since 1 October (4 weeks and more).
        let weekend = |d: NaiveDate| d.weekday().number_from_monday() >= 6;
        let fen = |d: NaiveDate| if weekend(d) { 300 } else { 100 };
        let daily = series(day(10, 1), day(11, 10), fen);
        let f = month_end(&daily, day(11, 10));
        assert_eq!(f.method, Method::Weekday);
        // 11…30 November: 14 weekdays and 6 weekend days.
        let left: i64 = series(day(11, 11), day(11, 30), fen).values().sum();
        assert_eq!(left, 14 * 100 + 6 * 300);
        assert_eq!(f.expected_fen, f.month_to_date_fen + left);
        assert_eq!((f.low_fen, f.high_fen), (f.expected_fen, f.expected_fen));
        // The trailing mean would have been off: 7 days of 5 × 100 + 2 × 300.
        assert_ne!(f.expected_fen, f.month_to_date_fen + 20 * 157);
    }

    #[test]
    fn a_months_first_day_projects_from_the_month_before() {
        // As of 1 December: its one day so far, the 30 left from November's days.
        let daily = series(day(11, 1), day(12, 1), |d| {
            if d.month() == 12 {
                500
            } else {
                200
            }
        });
        let f = month_end(&daily, day(12, 1));
        assert_eq!(f.month, day(12, 1));
        assert_eq!(f.month_to_date_fen, 500);
        assert_eq!(f.days_projected, 30);
        assert_eq!(f.method, Method::Weekday);
        // Each weekday's mean over the 28 days: three or four 200s and (one weekday)
        // the 500; computed here day by day.
        let window = series(day(11, 4), day(12, 1), |d| {
            if d.month() == 12 {
                500
            } else {
                200
            }
        });
        let expected: i64 = series(day(12, 2), day(12, 31), |_| 0)
            .keys()
            .map(|d| {
                let same: Vec<i64> = window
                    .iter()
                    .filter(|(w, _)| w.weekday() == d.weekday())
                    .map(|(_, f)| *f)
                    .collect();
                mean_half_up(&same)
            })
            .sum();
        assert_eq!(f.expected_fen, 500 + expected);
        assert!(f.low_fen < f.expected_fen && f.expected_fen < f.high_fen);
    }

    #[test]
    fn missing_days_of_the_month_are_projected_not_counted_as_zero() {
        // November 1…10 at 100 fen but the 4th and 5th missing: month to date 800, and
        // 22 days projected (the two gaps and the 20 left) at the trailing mean, 100.
        let mut daily = series(day(11, 1), day(11, 10), |_| 100);
        daily.remove(&day(11, 4));
        daily.remove(&day(11, 5));
        let f = month_end(&daily, day(11, 10));
        assert_eq!(f.month_to_date_fen, 800);
        assert_eq!(f.days_projected, 22);
        assert_eq!(f.expected_fen, 800 + 22 * 100);
    }

    #[test]
    fn no_history_projects_nothing_and_a_whole_month_is_complete() {
        let f = month_end(&BTreeMap::new(), day(11, 10));
        assert_eq!((f.expected_fen, f.method), (0, Method::NoHistory));
        let daily = series(day(11, 1), day(11, 30), |_| 7);
        let f = month_end(&daily, day(11, 30));
        assert_eq!((f.expected_fen, f.method), (210, Method::Complete));
    }

    #[test]
    fn means_round_half_up_in_integers() {
        assert_eq!(mean_half_up(&[1, 2]), 2);
        assert_eq!(mean_half_up(&[1, 1, 2]), 1);
        assert_eq!(mean_half_up(&[-1, -2]), -2);
        assert_eq!(mean_half_up(&[]), 0);
    }
}
