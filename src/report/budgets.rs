//! `[budgets]`: the studio's month, and any channel's or drama's, in CNY; each one's
//! month-to-date use and month-end forecast ([`super::forecast`]) against it, and the
//! thresholds (`warn_at_percent`) each has crossed, by its cost so far or by its
//! forecast. The nightly run announces a crossing once per month ([`Notices`]).

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::forecast::Forecast;

/// An amount of CNY in the settings (`8000`, `8000.5`, `"8000.50"`), held in fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Yuan(pub i64);

impl<'de> Deserialize<'de> for Yuan {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Given {
            Int(i64),
            Float(f64),
            Text(String),
        }
        let text = match Given::deserialize(d)? {
            Given::Int(i) => i.to_string(),
            // The shortest text that reads back as the same float: what was typed.
            Given::Float(f) => format!("{f}"),
            Given::Text(t) => t,
        };
        parse_yuan(&text)
            .map(Yuan)
            .map_err(serde::de::Error::custom)
    }
}

/// "8000", "8000.5", "8000.50" → fen; more than two decimals, a sign or anything else is
/// an error.
pub fn parse_yuan(text: &str) -> Result<i64, String> {
    let bad = || format!("{text:?} is not an amount of CNY (like 8000 or 8000.50)");
    let (int, frac) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 2 {
        return Err(bad());
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let whole: i64 = int.parse().map_err(|_| bad())?;
    let cents: i64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    whole
        .checked_mul(100)
        .and_then(|f| f.checked_add(cents))
        .ok_or_else(bad)
}

fn default_thresholds() -> Vec<u32> {
    vec![80, 100]
}

/// `[budgets]` in `cdncost.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetsConfig {
    /// The studio's month, all platforms and accounts.
    pub month_cny: Option<Yuan>,
    /// The percentages of a budget that are announced when crossed.
    #[serde(default = "default_thresholds")]
    pub warn_at_percent: Vec<u32>,
    /// A channel's month, all platforms and accounts.
    #[serde(default)]
    pub channels: BTreeMap<String, Yuan>,
    /// A drama's month (by its name, as `drama_daily` shows it).
    #[serde(default)]
    pub dramas: BTreeMap<String, Yuan>,
}

impl Default for BudgetsConfig {
    fn default() -> Self {
        BudgetsConfig {
            month_cny: None,
            warn_at_percent: default_thresholds(),
            channels: BTreeMap::new(),
            dramas: BTreeMap::new(),
        }
    }
}

impl BudgetsConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.warn_at_percent.is_empty()
            || self.warn_at_percent.iter().any(|p| !(1..=1000).contains(p))
        {
            return Err("[budgets] warn_at_percent: one or more percentages from 1 to 1000".into());
        }
        let amounts = self
            .month_cny
            .iter()
            .map(|y| ("month_cny".to_string(), y))
            .chain(
                self.channels
                    .iter()
                    .map(|(c, y)| (format!("channels.{c}"), y)),
            )
            .chain(self.dramas.iter().map(|(d, y)| (format!("dramas.{d}"), y)));
        for (key, yuan) in amounts {
            if yuan.0 <= 0 {
                return Err(format!("[budgets] {key} must be more than 0"));
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.month_cny.is_none() && self.channels.is_empty() && self.dramas.is_empty()
    }
}

/// Whose budget.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "of", content = "name", rename_all = "lowercase")]
pub enum Scope {
    Studio,
    Channel(String),
    Drama(String),
}

/// What crossed a threshold: the cost so far, or (not yet that) the forecast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum By {
    MonthToDate,
    Forecast,
}

/// One budget of the month, and where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    pub scope: Scope,
    pub budget_fen: i64,
    pub forecast: Forecast,
    /// The highest threshold the cost so far has crossed, and the highest the forecast
    /// has (when higher): at most two.
    pub crossed: Vec<(u32, By)>,
}

impl Budget {
    pub fn used_percent(&self) -> f64 {
        percent(self.forecast.month_to_date_fen, self.budget_fen)
    }

    pub fn forecast_percent(&self) -> f64 {
        percent(self.forecast.expected_fen, self.budget_fen)
    }
}

fn percent(part: i64, whole: i64) -> f64 {
    if whole <= 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// Every budget of the settings, with the forecast of its scope (`forecast_of`; a scope
/// without cost this month has a forecast of nothing).
pub fn evaluate(config: &BudgetsConfig, forecast_of: impl Fn(&Scope) -> Forecast) -> Vec<Budget> {
    let mut scopes: Vec<(Scope, i64)> = Vec::new();
    if let Some(month) = config.month_cny {
        scopes.push((Scope::Studio, month.0));
    }
    scopes.extend(
        config
            .channels
            .iter()
            .map(|(c, y)| (Scope::Channel(c.clone()), y.0)),
    );
    scopes.extend(
        config
            .dramas
            .iter()
            .map(|(d, y)| (Scope::Drama(d.clone()), y.0)),
    );
    let thresholds: BTreeSet<u32> = config.warn_at_percent.iter().copied().collect();
    scopes
        .into_iter()
        .map(|(scope, budget_fen)| {
            let forecast = forecast_of(&scope);
            let reached = |fen: i64| {
                thresholds
                    .iter()
                    .copied()
                    .filter(|t| fen as i128 * 100 >= budget_fen as i128 * *t as i128)
                    .max()
            };
            let mut crossed = Vec::new();
            let used = reached(forecast.month_to_date_fen);
            if let Some(t) = used {
                crossed.push((t, By::MonthToDate));
            }
            if let Some(t) = reached(forecast.expected_fen).filter(|t| Some(*t) > used) {
                crossed.push((t, By::Forecast));
            }
            Budget {
                scope,
                budget_fen,
                forecast,
                crossed,
            }
        })
        .collect()
}

/// What the nightly run has announced in a month: each (budget, threshold, by) once.
/// Kept in the lake (`_manifest/budget_notices/<YYYY-MM>.json`), so a second run of the
/// same month, on any machine, stays quiet about it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notices {
    pub month: String,
    pub announced: BTreeSet<(Scope, u32, By)>,
}

impl Notices {
    pub fn for_month(month: NaiveDate) -> Notices {
        Notices {
            month: month.format("%Y-%m").to_string(),
            announced: BTreeSet::new(),
        }
    }

    /// The crossings of `budgets` not announced yet; they are recorded as announced.
    pub fn take_new(&mut self, budgets: &[Budget]) -> Vec<Crossing> {
        let mut new = Vec::new();
        for budget in budgets {
            for (threshold, by) in &budget.crossed {
                if self
                    .announced
                    .insert((budget.scope.clone(), *threshold, *by))
                {
                    new.push(Crossing {
                        budget: budget.clone(),
                        threshold: *threshold,
                        by: *by,
                    });
                }
            }
        }
        new
    }
}

/// A threshold of a budget crossed, to announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crossing {
    pub budget: Budget,
    pub threshold: u32,
    pub by: By,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::forecast::Method;

    fn forecast(month_to_date_fen: i64, expected_fen: i64) -> Forecast {
        Forecast {
            month: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            month_to_date_fen,
            expected_fen,
            low_fen: expected_fen,
            high_fen: expected_fen,
            days_projected: 10,
            method: Method::TrailingMean { days: 7 },
        }
    }

    #[test]
    fn amounts_are_read_exactly() {
        assert_eq!(parse_yuan("8000"), Ok(800_000));
        assert_eq!(parse_yuan("8000.5"), Ok(800_050));
        assert_eq!(parse_yuan("0.07"), Ok(7));
        for bad in ["", "-5", "1.234", "1e3", "abc", "1.x"] {
            assert!(parse_yuan(bad).is_err(), "{bad}");
        }
        let config: BudgetsConfig =
            toml::from_str("month_cny = 30000.1\n[channels]\nwxad = \"8000.50\"\n").unwrap();
        assert_eq!(config.month_cny, Some(Yuan(3_000_010)));
        assert_eq!(config.channels["wxad"], Yuan(800_050));
        assert_eq!(config.warn_at_percent, vec![80, 100]);
        assert!(toml::from_str::<BudgetsConfig>("month_cny = -1\n").is_err());
        assert!(toml::from_str::<BudgetsConfig>("monthly = 1\n").is_err());
    }

    #[test]
    fn thresholds_are_crossed_by_the_cost_so_far_or_the_forecast() {
        let config: BudgetsConfig = toml::from_str(
            "month_cny = 100\nwarn_at_percent = [50, 80, 100]\n[channels]\na = 10\nb = 10\n",
        )
        .unwrap();
        let budgets = evaluate(&config, |scope| match scope {
            // 85 of 100 so far, 120 expected: 80 by the cost, 100 by the forecast.
            Scope::Studio => forecast(8500, 12000),
            // 4 of 10, 6 expected: 50 by the forecast only.
            Scope::Channel(c) if c == "a" => forecast(400, 600),
            _ => forecast(0, 0),
        });
        assert_eq!(
            budgets[0].crossed,
            vec![(80, By::MonthToDate), (100, By::Forecast)]
        );
        assert_eq!(budgets[1].crossed, vec![(50, By::Forecast)]);
        assert!(budgets[2].crossed.is_empty());
        // Announced once a month: the second night is quiet, a higher threshold is not.
        let mut notices = Notices::for_month(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap());
        assert_eq!(notices.take_new(&budgets).len(), 3);
        assert!(notices.take_new(&budgets).is_empty());
        let later = evaluate(&config, |_| forecast(10_000, 12_000));
        let new: Vec<(Scope, u32, By)> = notices
            .take_new(&later)
            .into_iter()
            .map(|c| (c.budget.scope, c.threshold, c.by))
            .collect();
        assert!(
            new.contains(&(Scope::Studio, 100, By::MonthToDate)),
            "{new:?}"
        );
        let text = serde_json::to_string(&notices).unwrap();
        assert_eq!(serde_json::from_str::<Notices>(&text).unwrap(), notices);
    }
}
