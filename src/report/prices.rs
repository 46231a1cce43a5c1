//! `[prices]`: what a byte costs, per platform, with optional monthly volume tiers.
//!
//! Prices are configuration because neither platform publishes one that applies to every
//! contract. A tiered price depends on the month's whole volume, which no single day or
//! channel knows, so a month's cost is worked out once for the month's volume and spread
//! over its rows as one effective price per GB: every row of the month pays the same
//! rate, and the rows add up to the month's tiered cost.

use std::collections::BTreeMap;

use serde::Deserialize;

pub use crate::table::DECIMAL_GB;
/// The highest price taken, CNY per GB: far above any CDN's, far below where a month's
/// bill in fen would overflow.
pub const MAX_CNY_PER_GB: f64 = 1000.0;
/// The highest band limit taken, GB (an exabyte a month).
pub const MAX_BAND_GB: f64 = 1e9;
/// The highest billing factor taken.
pub const MAX_BILLING_FACTOR: f64 = 100.0;
/// Billed bytes ≈ log bytes × 1.10 (the log counts application-layer bytes only).
pub const DEFAULT_BILLING_FACTOR: f64 = 1.10;

/// `[prices]`: the keys every platform shares, and each platform's price, either as a
/// table of its own, `[prices.<platform>]` with `cny_per_gb` and/or `tiers`, or as flat
/// keys `<platform>_cny_per_gb` and `<platform>_tiers` (as the first two platforms were
/// priced, and still may be). Unknown keys are errors; a price of a platform no one
/// registered is one when the settings load ([`Prices::check_platforms`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "toml::Table")]
pub struct Prices {
    /// Bytes per GB: 1e9 (default, as both platforms bill) or 1073741824.
    pub bytes_per_gb: f64,
    /// Billed bytes per log byte, for the estimate when no usage series is at hand.
    pub billing_factor: f64,
    /// How tiers apply: "graduated" (each band of the month's volume at its own price,
    /// the default) or "volume" (the whole month at the price of the band it reaches).
    pub tier_mode: TierMode,
    /// How a month's bill is rounded to the fen: "half-up" (default, as invoices do),
    /// "half-even", "down" or "up". Only the bill is rounded; its parts are apportioned.
    pub rounding: Rounding,
    /// Each platform's price, by platform name (a platform without one is free).
    pub platforms: BTreeMap<String, PlatformPrice>,
}

/// `[prices.<platform>]`: a flat price, or monthly volume bands that replace it; and
/// `[prices.<platform>.<account>]`, an account with a contract of its own (the same
/// keys; the platform's price is every other account's).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PlatformPrice {
    #[serde(default)]
    pub cny_per_gb: f64,
    #[serde(default)]
    pub tiers: Vec<Tier>,
    /// Accounts' own prices, by account name.
    #[serde(skip)]
    pub accounts: BTreeMap<String, PlatformPrice>,
}

/// The shared keys of `[prices]`, as they are written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SharedKeys {
    #[serde(default = "default_gb")]
    bytes_per_gb: f64,
    #[serde(default = "default_factor")]
    billing_factor: f64,
    #[serde(default)]
    tier_mode: TierMode,
    #[serde(default)]
    rounding: Rounding,
}

/// A platform's flat key: `<platform>_cny_per_gb` or `<platform>_tiers`.
fn flat_key(key: &str) -> Option<(&str, &str)> {
    ["cny_per_gb", "tiers"].into_iter().find_map(|what| {
        let platform = key.strip_suffix(what)?.strip_suffix('_')?;
        (!platform.is_empty()).then_some((platform, what))
    })
}

impl TryFrom<toml::Table> for Prices {
    type Error = String;

    fn try_from(mut table: toml::Table) -> Result<Prices, String> {
        let mut platforms = BTreeMap::new();
        let tables: Vec<String> = table
            .iter()
            .filter(|(_, value)| value.is_table())
            .map(|(name, _)| name.clone())
            .collect();
        // Platforms whose table holds account tables only: a flat key may price the rest.
        let mut accounts_only = std::collections::BTreeSet::new();
        for name in tables {
            let Some(toml::Value::Table(mut keys)) = table.remove(&name) else {
                unreachable!("listed above as a table")
            };
            let accounts = account_tables(&name, &mut keys)?;
            if keys.is_empty() && !accounts.is_empty() {
                accounts_only.insert(name.clone());
            }
            let mut price: PlatformPrice = toml::Value::Table(keys)
                .try_into()
                .map_err(|e| format!("[prices.{name}]: {e}"))?;
            price.accounts = accounts;
            platforms.insert(name, price);
        }
        let mut flat: BTreeMap<String, toml::Table> = BTreeMap::new();
        let keys: Vec<String> = table.keys().cloned().collect();
        for key in keys {
            if let Some((platform, what)) = flat_key(&key) {
                if platforms.contains_key(platform) && !accounts_only.contains(platform) {
                    return Err(format!(
                        "[prices]: {key} and [prices.{platform}] both price {platform}: keep one"
                    ));
                }
                let value = table.remove(&key).expect("listed above");
                flat.entry(platform.to_string())
                    .or_default()
                    .insert(what.to_string(), value);
            }
        }
        for (name, keys) in flat {
            let mut price: PlatformPrice = toml::Value::Table(keys)
                .try_into()
                .map_err(|e| format!("[prices] {name}_*: {e}"))?;
            if let Some(table) = platforms.remove(&name) {
                price.accounts = table.accounts;
            }
            platforms.insert(name, price);
        }
        let shared: SharedKeys = toml::Value::Table(table)
            .try_into()
            .map_err(|e| format!("[prices]: {e}"))?;
        Ok(Prices {
            bytes_per_gb: shared.bytes_per_gb,
            billing_factor: shared.billing_factor,
            tier_mode: shared.tier_mode,
            rounding: shared.rounding,
            platforms,
        })
    }
}

/// The account tables of `[prices.<platform>]` (`[prices.<platform>.<account>]`), taken
/// out of `keys`.
fn account_tables(
    platform: &str,
    keys: &mut toml::Table,
) -> Result<BTreeMap<String, PlatformPrice>, String> {
    let names: Vec<String> = keys
        .iter()
        .filter(|(_, value)| value.is_table())
        .map(|(name, _)| name.clone())
        .collect();
    let mut accounts = BTreeMap::new();
    for name in names {
        crate::lake::Scope::new("prices", &name)
            .map_err(|e| format!("[prices.{platform}.{name}]: {e}"))?;
        let value = keys.remove(&name).expect("listed above");
        let price: PlatformPrice = value
            .try_into()
            .map_err(|e| format!("[prices.{platform}.{name}]: {e}"))?;
        accounts.insert(name, price);
    }
    Ok(accounts)
}

fn default_gb() -> f64 {
    DECIMAL_GB
}

fn default_factor() -> f64 {
    DEFAULT_BILLING_FACTOR
}

impl Default for Prices {
    fn default() -> Self {
        Prices {
            bytes_per_gb: DECIMAL_GB,
            billing_factor: DEFAULT_BILLING_FACTOR,
            tier_mode: TierMode::Graduated,
            rounding: Rounding::HalfUp,
            platforms: BTreeMap::new(),
        }
    }
}

/// A band of monthly volume: up to `up_to_gb` (the last band has none) at `cny_per_gb`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    pub up_to_gb: Option<f64>,
    pub cny_per_gb: f64,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TierMode {
    #[default]
    Graduated,
    Volume,
}

/// How a month's bill is rounded to the fen (`[prices] rounding`).
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Rounding {
    /// Half a fen or more goes up: how invoices round.
    #[default]
    HalfUp,
    /// Half a fen goes to the even fen (banker's rounding).
    HalfEven,
    /// Any fraction of a fen is dropped.
    Down,
    /// Any fraction of a fen makes a whole one.
    Up,
}

impl Rounding {
    /// `numerator / divisor` rounded to a whole number by this rule.
    pub fn divide(self, numerator: u128, divisor: u128) -> u128 {
        let (whole, rest) = (numerator / divisor, numerator % divisor);
        let up = match self {
            Rounding::HalfUp => rest * 2 >= divisor,
            Rounding::HalfEven => rest * 2 > divisor || (rest * 2 == divisor && whole % 2 == 1),
            Rounding::Down => false,
            Rounding::Up => rest > 0,
        };
        whole + up as u128
    }
}

impl Prices {
    /// The cost parameters of the library's queries, from the settings, so a query's estimate
    /// prices traffic as the report does: `factor` (billing_factor), `bytes_per_gb`, and
    /// `price_cny_per_gb` (the flat price of `logged`, the platform whose requests the
    /// queries read, else its first band's) when a price is set.
    pub fn query_params(&self, logged: &str) -> std::collections::BTreeMap<String, String> {
        let mut params = std::collections::BTreeMap::from([
            ("factor".to_string(), self.billing_factor.to_string()),
            ("bytes_per_gb".to_string(), self.bytes_per_gb.to_string()),
        ]);
        let (tiers, flat) = self.tiers(logged, crate::lake::DEFAULT_ACCOUNT);
        let price = if flat > 0.0 {
            Some(flat)
        } else {
            tiers.first().map(|t| t.cny_per_gb)
        };
        if let Some(price) = price.filter(|p| *p > 0.0) {
            params.insert("price_cny_per_gb".into(), price.to_string());
        }
        params
    }

    /// Checks what serde can't: ordered bands, a last open band, no negative price.
    pub fn validate(&self) -> Result<(), String> {
        if !self.bytes_per_gb.is_finite() || self.bytes_per_gb < 1.0 || self.bytes_per_gb > 1e12 {
            return Err("[prices] bytes_per_gb must be 1 to 10^12 (1e9 or 1073741824)".into());
        }
        if !self.billing_factor.is_finite()
            || self.billing_factor <= 0.0
            || self.billing_factor > MAX_BILLING_FACTOR
        {
            return Err(format!(
                "[prices] billing_factor must be above 0 and at most {MAX_BILLING_FACTOR}"
            ));
        }
        let every_price = self.platforms.iter().flat_map(|(name, p)| {
            std::iter::once((name.clone(), p)).chain(
                p.accounts
                    .iter()
                    .map(move |(account, a)| (format!("{name}.{account}"), a)),
            )
        });
        for (name, flat, tiers) in every_price.map(|(name, p)| (name, p.cny_per_gb, &p.tiers)) {
            let prices = std::iter::once(flat).chain(tiers.iter().map(|t| t.cny_per_gb));
            for price in prices {
                if !price.is_finite() || !(0.0..=MAX_CNY_PER_GB).contains(&price) {
                    return Err(format!(
                        "[prices] {name}: {price} is not a price (0 to {MAX_CNY_PER_GB} CNY per GB)"
                    ));
                }
            }
            for volume in tiers.iter().filter_map(|t| t.up_to_gb) {
                if !volume.is_finite() || !(0.0..=MAX_BAND_GB).contains(&volume) {
                    return Err(format!(
                        "[prices] {name}: {volume} is not a volume (0 to {MAX_BAND_GB:e} GB)"
                    ));
                }
            }
            let mut previous = 0.0;
            for (i, tier) in tiers.iter().enumerate() {
                match tier.up_to_gb {
                    Some(limit) if limit > previous => previous = limit,
                    Some(limit) => {
                        return Err(format!(
                        "[prices] {name}_tiers: band {} ends at {limit} GB, not above the previous band's {previous} GB",
                        i + 1
                    ))
                    }
                    None if i + 1 == tiers.len() => {}
                    None => {
                        return Err(format!(
                            "[prices] {name}_tiers: only the last band may omit up_to_gb"
                        ))
                    }
                }
            }
            if tiers.last().is_some_and(|t| t.up_to_gb.is_some()) {
                return Err(format!(
                    "[prices] {name}_tiers: the last band must have no up_to_gb (it covers all volume above the others)"
                ));
            }
        }
        Ok(())
    }

    /// An account's bands and flat price: its own (`[prices.<platform>.<account>]`), else
    /// its platform's; nothing (free) when neither has one.
    fn tiers(&self, platform: &str, account: &str) -> (&[Tier], f64) {
        match self.platforms.get(platform) {
            Some(p) => match p.accounts.get(account) {
                Some(own) => (&own.tiers, own.cny_per_gb),
                None => (&p.tiers, p.cny_per_gb),
            },
            None => (&[], 0.0),
        }
    }

    /// A price of a platform that is not one of `registered` is a typo or a platform
    /// gone: an error, as an unknown key is.
    pub fn check_platforms(&self, registered: &[&str]) -> Result<(), String> {
        match self
            .platforms
            .keys()
            .find(|p| !registered.contains(&p.as_str()))
        {
            Some(unknown) => Err(format!(
                "[prices] prices {unknown}, which is no platform (platforms: {})",
                registered.join(", ")
            )),
            None => Ok(()),
        }
    }

    /// One month's bill for `bytes` of a platform's traffic, in fen: the flat price, or
    /// the tiers applied to the month's whole volume, rounded once by `rounding` (half up,
    /// as invoices are, unless set otherwise). Integer arithmetic: a price is taken to 10^-9 CNY per GB, a band's limit to
    /// the byte, so no binary fraction ever touches the money.
    pub fn month_bill_fen(&self, platform: &str, account: &str, bytes: u128) -> u128 {
        let gb = self.bytes_per_gb.round() as u128;
        self.rounding
            .divide(self.month_scaled(platform, account, bytes), gb * 10_000_000)
    }

    /// The price of a GB of a platform's month of `bytes`, in 10^-9 CNY: the flat price,
    /// or the tiers' average over the month's volume (unrounded bill ÷ GB, half up; the
    /// first band's price for a month without traffic).
    pub fn unit_price_nano(&self, platform: &str, account: &str, bytes: u128) -> u128 {
        let (tiers, flat) = self.tiers(platform, account);
        if tiers.is_empty() {
            return (flat * 1e9).round() as u128;
        }
        if bytes == 0 {
            return (tiers[0].cny_per_gb * 1e9).round() as u128;
        }
        let scaled = self.month_scaled(platform, account, bytes);
        (scaled + bytes / 2) / bytes
    }

    /// A month's bill before rounding, in 10^-9 CNY per GB × bytes.
    fn month_scaled(&self, platform: &str, account: &str, bytes: u128) -> u128 {
        let nano = |cny_per_gb: f64| (cny_per_gb * 1e9).round() as u128;
        let limit =
            |up_to_gb: Option<f64>| up_to_gb.map(|g| (g * self.bytes_per_gb).round() as u128);
        let (tiers, flat) = self.tiers(platform, account);
        // Nano-CNY per GB × bytes: divided by bytes per GB and 10^7, it is fen.
        if tiers.is_empty() {
            bytes * nano(flat)
        } else {
            match self.tier_mode {
                TierMode::Volume => {
                    let band = tiers
                        .iter()
                        .find(|t| limit(t.up_to_gb).is_none_or(|l| bytes <= l))
                        .expect("validated: the last band is open");
                    bytes * nano(band.cny_per_gb)
                }
                TierMode::Graduated => {
                    let mut floor = 0u128;
                    let mut sum = 0u128;
                    for tier in tiers {
                        let ceiling = limit(tier.up_to_gb).unwrap_or(u128::MAX);
                        if bytes > floor {
                            sum += (bytes.min(ceiling) - floor) * nano(tier.cny_per_gb);
                        }
                        floor = ceiling;
                    }
                    sum
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiered(mode: TierMode) -> Prices {
        let tiers = vec![
            Tier {
                up_to_gb: Some(10.0),
                cny_per_gb: 0.20,
            },
            Tier {
                up_to_gb: Some(50.0),
                cny_per_gb: 0.15,
            },
            Tier {
                up_to_gb: None,
                cny_per_gb: 0.10,
            },
        ];
        let price = PlatformPrice {
            cny_per_gb: 0.0,
            tiers,
            ..PlatformPrice::default()
        };
        Prices {
            tier_mode: mode,
            platforms: BTreeMap::from([("cdn_a".to_string(), price)]),
            ..Prices::default()
        }
    }

    #[test]
    fn graduated_tiers_price_each_band() {
        let p = tiered(TierMode::Graduated);
        assert_eq!(p.month_bill_fen("cdn_a", "default", 5_000_000_000), 100);
        // 10 × 0.20 + 40 × 0.15 + 10 × 0.10
        assert_eq!(p.month_bill_fen("cdn_a", "default", 60_000_000_000), 900);
        // Rounded once, half up: 0.025 fen of a byte short of a whole fen.
        assert_eq!(
            p.month_bill_fen("cdn_a", "default", 25_000_000),
            1,
            "0.5 fen → 1"
        );
        assert_eq!(p.month_bill_fen("cdn_a", "default", 24_999_999), 0);
    }

    #[test]
    fn nan_and_infinite_numbers_are_refused() {
        for text in [
            "cdn_a_cny_per_gb = nan\n",
            "cdn_b_cny_per_gb = inf\n",
            "billing_factor = nan\n",
            "bytes_per_gb = inf\n",
            "cdn_a_tiers = [{ up_to_gb = nan, cny_per_gb = 0.1 }, { cny_per_gb = 0.1 }]\n",
            "[cdn_c]\ncny_per_gb = -inf\n",
            "cdn_a_cny_per_gb = 1e300\n",
            "billing_factor = 1e300\n",
        ] {
            let prices: Prices = toml::from_str(text).unwrap();
            assert!(prices.validate().is_err(), "{text}");
        }
    }

    #[test]
    fn the_rounding_mode_is_a_setting() {
        // 1.5 fen and 2.5 fen of a flat 0.01 CNY per GB.
        let at = |rounding| Prices {
            rounding,
            ..toml::from_str("cdn_a_cny_per_gb = 0.01\n").unwrap()
        };
        let fen = |rounding, bytes| at(rounding).month_bill_fen("cdn_a", "default", bytes);
        let (one_and_half, two_and_half, two_and_bit) =
            (1_500_000_000, 2_500_000_000, 2_000_000_001);
        assert_eq!(fen(Rounding::HalfUp, one_and_half), 2);
        assert_eq!(fen(Rounding::HalfUp, two_and_half), 3);
        assert_eq!(fen(Rounding::HalfEven, one_and_half), 2);
        assert_eq!(fen(Rounding::HalfEven, two_and_half), 2);
        assert_eq!(fen(Rounding::Down, two_and_half), 2);
        assert_eq!(fen(Rounding::Up, two_and_bit), 3);
        assert_eq!(fen(Rounding::Up, 2_000_000_000), 2);
        let parsed: Prices = toml::from_str("rounding = \"half-even\"\n").unwrap();
        assert_eq!(parsed.rounding, Rounding::HalfEven);
        assert!(toml::from_str::<Prices>("rounding = \"nearest\"\n").is_err());
    }

    #[test]
    fn volume_tiers_price_the_whole_month_at_its_band() {
        let p = tiered(TierMode::Volume);
        assert_eq!(p.month_bill_fen("cdn_a", "default", 60_000_000_000), 600);
        assert_eq!(p.month_bill_fen("cdn_a", "default", 10_000_000_000), 200);
    }

    #[test]
    fn platform_tables_price_any_platform() {
        let text = "bytes_per_gb = 1e9\ncdn_a_cny_per_gb = 0.2\n[cdn_c]\ncny_per_gb = 0.5\n[cdn_b]\ntiers = [{ up_to_gb = 1, cny_per_gb = 0.3 }, { cny_per_gb = 0.1 }]\n";
        let p: Prices = toml::from_str(text).unwrap();
        assert!(p.validate().is_ok());
        assert_eq!(p.month_bill_fen("cdn_c", "default", 2_000_000_000), 100);
        assert_eq!(p.month_bill_fen("cdn_a", "default", 2_000_000_000), 40);
        assert_eq!(
            p.month_bill_fen("cdn_b", "default", 2_000_000_000),
            40,
            "0.3 + 0.1"
        );
        assert_eq!(p.month_bill_fen("unpriced", "default", 2_000_000_000), 0);
        let err = toml::from_str::<Prices>("cdn_a_cny_per_gbb = 1\n").unwrap_err();
        assert!(err.to_string().contains("cdn_a_cny_per_gbb"), "{err}");
        let err = toml::from_str::<Prices>("[x]\ncny = 1\n").unwrap_err();
        assert!(err.to_string().contains("[prices.x]"), "{err}");
        let err = toml::from_str::<Prices>("x_cny_per_gb = 1\n[x]\ncny_per_gb = 2\n").unwrap_err();
        assert!(err.to_string().contains("keep one"), "{err}");
        assert!(p.check_platforms(&["cdn_a", "cdn_b", "cdn_c"]).is_ok());
        let err = p.check_platforms(&["cdn_a", "cdn_b"]).unwrap_err();
        assert!(err.contains("cdn_c, which is no platform"), "{err}");
    }

    /// `[prices.<platform>.<account>]` prices that account only; the others keep the
    /// platform's price, from its table or its flat key.
    #[test]
    fn an_account_may_have_a_contract_of_its_own() {
        let text = "[cdn_a]\ncny_per_gb = 0.2\n[cdn_a.brand_b]\ncny_per_gb = 0.15\n";
        let p: Prices = toml::from_str(text).unwrap();
        assert!(p.validate().is_ok());
        assert_eq!(p.month_bill_fen("cdn_a", "default", 2_000_000_000), 40);
        assert_eq!(p.month_bill_fen("cdn_a", "main", 2_000_000_000), 40);
        assert_eq!(p.month_bill_fen("cdn_a", "brand_b", 2_000_000_000), 30);
        let flat = "cdn_a_cny_per_gb = 0.2\n[cdn_a.brand_b]\ntiers = [{ up_to_gb = 1, cny_per_gb = 0.3 }, { cny_per_gb = 0.1 }]\n";
        let p: Prices = toml::from_str(flat).unwrap();
        assert!(p.validate().is_ok());
        assert_eq!(p.month_bill_fen("cdn_a", "default", 2_000_000_000), 40);
        assert_eq!(p.month_bill_fen("cdn_a", "brand_b", 2_000_000_000), 40);
        let bad = "[cdn_a.brand_b]\ncny_per_gb = -1\n";
        let err = toml::from_str::<Prices>(bad)
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(err.contains("cdn_a.brand_b"), "{err}");
        let err = toml::from_str::<Prices>("[cdn_a.brand_b]\ncny = 1\n").unwrap_err();
        assert!(err.to_string().contains("[prices.cdn_a.brand_b]"), "{err}");
        let err = toml::from_str::<Prices>("[cdn_a.\"B.x\"]\ncny_per_gb = 1\n").unwrap_err();
        assert!(err.to_string().contains("account name"), "{err}");
    }

    #[test]
    fn bands_are_validated() {
        let mut p = tiered(TierMode::Graduated);
        assert!(p.validate().is_ok());
        p.platforms.get_mut("cdn_a").unwrap().tiers[1].up_to_gb = Some(5.0);
        assert!(p.validate().unwrap_err().contains("band 2"));
        let mut p = tiered(TierMode::Graduated);
        p.platforms.get_mut("cdn_a").unwrap().tiers.pop();
        assert!(p.validate().unwrap_err().contains("last band"));
    }
}
