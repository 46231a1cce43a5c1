//! Polyv (保利威) per-video daily traffic: `GET /v2/traffic/{userid}/video/{vid}`, signed
//! with SHA-1 (DOMAIN.md §3).
//!
//! Every request, retries included, carries a fresh 13-digit `ptime` (valid 3 minutes)
//! and its own signature. Whether to retry is decided here from Polyv's codes and
//! messages: 5xx, `query failed.`, rate limiting, timeouts and resets are retried with
//! backoff; `ptime is too old.` once with a new ptime (twice means the clock is off);
//! a bad signature, an unknown vid or user are errors that name the video.

use std::time::Duration;

use chrono::NaiveDate;
use serde::Deserialize;
use sha1::{Digest, Sha1};

use crate::sources::retry::{self, Backoff, RetryPolicy, Verdict};
use crate::sources::{describe, Endpoint};
use crate::util::secret::{redact_url, scrub, Secret};

pub const DEFAULT_API_BASE: &str = "https://api.polyv.net";

/// `[polyv]` in cdncost.toml; `POLYV_USERID`, `POLYV_SECRETKEY` and `POLYV_API_BASE` win.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolyvConfig {
    pub userid: String,
    pub secretkey: Secret,
    pub api_base: String,
    /// The mapping file `vid,title,channel`.
    pub videos: std::path::PathBuf,
    /// Client-side limit; Polyv blocks an IP for 5 minutes past 150 requests/s.
    pub requests_per_second: f64,
    /// Videos fetched at once.
    pub concurrency: usize,
    /// Longest `start`..`end` span asked in one request (longer ranges are split).
    pub max_days_per_request: u32,
    /// Per-request timeout, seconds.
    pub timeout_secs: u64,
    pub retry: RetryPolicy,
    /// `[polyv.accounts.<name>]`: further Polyv accounts
    /// ([`crate::platforms::accounts`]); the keys above are their defaults.
    pub accounts: std::collections::BTreeMap<String, PolyvAccount>,
}

/// `[polyv.accounts.<name>]`: one Polyv account of the studio.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolyvAccount {
    #[serde(default)]
    pub userid: String,
    pub secret_key: Option<Secret>,
    /// The name of an environment variable holding the secret key.
    pub secret_key_env: Option<String>,
    /// Its mapping file `vid,title,channel` (`videos` is the same key).
    #[serde(alias = "videos")]
    pub mapping: Option<std::path::PathBuf>,
    /// Its own API base [default: the shared one].
    pub api_base: Option<String>,
}

impl Default for PolyvConfig {
    fn default() -> Self {
        PolyvConfig {
            userid: String::new(),
            secretkey: Secret::default(),
            api_base: DEFAULT_API_BASE.into(),
            videos: "videos.csv".into(),
            requests_per_second: 10.0,
            concurrency: 4,
            max_days_per_request: 31,
            timeout_secs: 20,
            retry: RetryPolicy::default(),
            accounts: Default::default(),
        }
    }
}

impl PolyvConfig {
    /// Applies the environment over the file's values (the environment wins).
    pub fn with_env(mut self) -> PolyvConfig {
        crate::sources::from_env("POLYV_USERID", &mut self.userid);
        crate::sources::secret_from_env("POLYV_SECRETKEY", &mut self.secretkey);
        crate::sources::from_env("POLYV_API_BASE", &mut self.api_base);
        self
    }
}

/// The documented signature: the non-empty parameters that are sent, except `sign`,
/// sorted by name, joined as `name=value` with `&`, the secret key appended, SHA-1 over
/// UTF-8, uppercase hex.
pub fn sign(params: &[(&str, &str)], secret: &Secret) -> String {
    let mut signed: Vec<&(&str, &str)> = params
        .iter()
        .filter(|(k, v)| !v.is_empty() && *k != "sign")
        .collect();
    signed.sort_by(|a, b| a.0.cmp(b.0));
    let joined = signed
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut hasher = Sha1::new();
    hasher.update(joined.as_bytes());
    hasher.update(secret.expose().as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// One day of one video's traffic, bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayTraffic {
    pub date: NaiveDate,
    pub pc_bytes: u64,
    pub mobile_bytes: u64,
    pub total_bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum PolyvError {
    #[error("Polyv is not configured: {0}")]
    Config(String),
    #[error("Polyv traffic of video {vid}: {message} (code {code}){hint}")]
    Refused {
        vid: String,
        code: i64,
        message: String,
        hint: &'static str,
    },
    #[error("Polyv traffic of video {vid}: gave up after {attempts} attempts: {last}")]
    GaveUp {
        vid: String,
        attempts: u32,
        last: String,
    },
    #[error("Polyv traffic of video {vid}: Polyv said 'ptime is too old.' for two fresh timestamps: this host's clock is probably off (local time {local}); fix the clock (NTP) and run again")]
    ClockSkew { vid: String, local: String },
    #[error("Polyv traffic of video {vid}: unexpected reply from {url}: {detail}")]
    BadReply {
        vid: String,
        url: String,
        detail: String,
    },
}

#[derive(Debug, Deserialize)]
struct Reply {
    code: i64,
    #[serde(default)]
    message: String,
    #[serde(default)]
    data: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReplyDay {
    current_day: String,
    #[serde(default)]
    pc_flow_size: Option<serde_json::Value>,
    #[serde(default)]
    mobile_flow_size: Option<serde_json::Value>,
    #[serde(default)]
    total_flow_size: Option<serde_json::Value>,
}

/// What one attempt came to.
enum Attempt {
    Done(Vec<DayTraffic>),
    /// Worth another try, with the reason (and a minimum wait, for rate limits).
    Retry(String, Duration),
    PtimeTooOld,
    Fatal(PolyvError),
}

pub struct PolyvClient {
    endpoint: Endpoint,
    userid: String,
    secret: Secret,
    retry: RetryPolicy,
    limiter: crate::sources::RateLimiter,
}

impl PolyvClient {
    pub fn new(config: &PolyvConfig) -> Result<PolyvClient, PolyvError> {
        let config_error = PolyvError::Config;
        let settings = [
            ("userid", config.userid.as_str()),
            ("secretkey", config.secretkey.expose()),
        ];
        crate::sources::require("polyv", &settings).map_err(config_error)?;
        if !is_safe_token(&config.userid) {
            return Err(config_error(
                "the userid may only hold letters, digits, '_' and '-'".into(),
            ));
        }
        Ok(PolyvClient {
            endpoint: Endpoint::new(&config.api_base, config.timeout_secs).map_err(config_error)?,
            userid: config.userid.clone(),
            secret: config.secretkey.clone(),
            retry: config.retry,
            limiter: crate::sources::RateLimiter::per_second(config.requests_per_second),
        })
    }

    /// Daily traffic of `vid` for `start..=end` (China days), as Polyv reports it: a day
    /// Polyv has no row for is absent from the result.
    pub async fn video_traffic(
        &self,
        vid: &str,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<Vec<DayTraffic>, PolyvError> {
        if !is_safe_token(vid) {
            return Err(PolyvError::Refused {
                vid: vid.into(),
                code: 0,
                message: "not a valid vid (letters, digits, '_', '-')".into(),
                hint: "; fix the mapping file",
            });
        }
        let mut backoff = Backoff::new(self.retry);
        let mut ptime_too_old = 0;
        loop {
            self.limiter.wait().await;
            let (wait_at_least, reason) = match self.attempt(vid, start, end).await {
                Attempt::Done(days) => return Ok(days),
                Attempt::Fatal(e) => return Err(e),
                Attempt::PtimeTooOld => {
                    ptime_too_old += 1;
                    if ptime_too_old >= 2 {
                        let local = crate::china_time::now_rfc3339();
                        return Err(PolyvError::ClockSkew {
                            vid: vid.into(),
                            local,
                        });
                    }
                    tracing::warn!("Polyv said 'ptime is too old.' for video {vid}: retrying once with a new ptime");
                    continue;
                }
                Attempt::Retry(reason, at_least) => (at_least, reason),
            };
            if !backoff
                .pause(
                    &format!("Polyv traffic of video {vid}"),
                    &reason,
                    wait_at_least,
                )
                .await
            {
                return Err(PolyvError::GaveUp {
                    vid: vid.into(),
                    attempts: backoff.attempt(),
                    last: reason,
                });
            }
        }
    }

    async fn attempt(&self, vid: &str, start: NaiveDate, end: NaiveDate) -> Attempt {
        let ptime = chrono::Utc::now().timestamp_millis().to_string();
        let (start_s, end_s) = (start.to_string(), end.to_string());
        let mut params = vec![
            ("ptime", ptime.as_str()),
            ("start", start_s.as_str()),
            ("end", end_s.as_str()),
        ];
        let signature = sign(&params, &self.secret);
        params.push(("sign", &signature));
        let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let url = self.endpoint.url(&format!(
            "/v2/traffic/{}/video/{vid}?{}",
            self.userid,
            query.join("&")
        ));
        let shown = redact_url(&url);
        tracing::debug!("GET {shown}");
        let response = match self.endpoint.get(&url).send().await {
            Ok(r) => r,
            Err(e) => return Attempt::Retry(self.clean(&describe(e)), Duration::ZERO),
        };
        let status = response.status();
        if retry::http_status(status) == Verdict::Retry {
            return Attempt::Retry(format!("HTTP {status}"), retry::status_pause(status));
        }
        let body = match crate::sources::reply_body(response).await {
            Ok(b) => b,
            Err(crate::sources::BodyError::Read(e)) => {
                return Attempt::Retry(self.clean(&e), Duration::ZERO)
            }
            Err(crate::sources::BodyError::TooBig(detail)) => {
                return Attempt::Fatal(PolyvError::BadReply {
                    vid: vid.into(),
                    url: shown,
                    detail,
                })
            }
        };
        let reply: Reply = match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => {
                let snippet = self.clean(&String::from_utf8_lossy(&body[..body.len().min(200)]));
                return Attempt::Fatal(PolyvError::BadReply {
                    vid: vid.into(),
                    url: shown,
                    detail: format!("HTTP {status}, not the JSON expected ({e}): {snippet}"),
                });
            }
        };
        self.classify(vid, &shown, reply)
    }

    fn classify(&self, vid: &str, shown: &str, reply: Reply) -> Attempt {
        let message = self.clean(reply.message.trim());
        if reply.code == 200 {
            return match parse_days(reply.data) {
                Ok(days) => Attempt::Done(days),
                Err(detail) => Attempt::Fatal(PolyvError::BadReply {
                    vid: vid.into(),
                    url: shown.into(),
                    detail,
                }),
            };
        }
        let lower = message.to_ascii_lowercase();
        if lower.contains("ptime is too old") {
            return Attempt::PtimeTooOld;
        }
        if reply.code >= 500 || lower.contains("query failed") {
            return Attempt::Retry(format!("code {}: {message}", reply.code), Duration::ZERO);
        }
        if reply.code == 429 || lower.contains("too frequent") || lower.contains("frequen") {
            return Attempt::Retry(format!("rate limited: {message}"), Duration::from_secs(2));
        }
        let hint = if lower.contains("sign") {
            "; check POLYV_SECRETKEY"
        } else if lower.contains("userid") || lower.contains("user by") {
            "; check POLYV_USERID"
        } else if lower.contains("vid") {
            "; check the vid in the mapping file"
        } else {
            ""
        };
        Attempt::Fatal(PolyvError::Refused {
            vid: vid.into(),
            code: reply.code,
            message,
            hint,
        })
    }

    fn clean(&self, text: &str) -> String {
        scrub(text, &[&self.secret])
    }
}

fn parse_days(data: Option<serde_json::Value>) -> Result<Vec<DayTraffic>, String> {
    let Some(data) = data else {
        return Ok(Vec::new());
    };
    if data.is_null() {
        return Ok(Vec::new());
    }
    let rows: Vec<ReplyDay> =
        serde_json::from_value(data).map_err(|e| format!("data is not a list of days: {e}"))?;
    rows.into_iter()
        .map(|r| {
            let date = NaiveDate::parse_from_str(r.current_day.trim(), "%Y-%m-%d")
                .or_else(|_| NaiveDate::parse_from_str(r.current_day.trim(), "%Y%m%d"))
                .map_err(|_| format!("currentDay '{}' is not a date", r.current_day))?;
            let pc = bytes(&r.pc_flow_size, "pcFlowSize")?;
            let mobile = bytes(&r.mobile_flow_size, "mobileFlowSize")?;
            let total = match &r.total_flow_size {
                None => pc + mobile, // each at most MAX_DAY_BYTES: no overflow
                some => bytes(some, "totalFlowSize")?,
            };
            Ok(DayTraffic {
                date,
                pc_bytes: pc,
                mobile_bytes: mobile,
                total_bytes: total,
            })
        })
        .collect()
}

/// The most bytes one video may be served in a day: 10 PB (a larger figure is a broken
/// reply, and would turn into negative money downstream).
pub const MAX_DAY_BYTES: u64 = 10_000_000_000_000_000;

/// A byte count sent as a number or as a numeric string; absent or null is 0; above
/// [`MAX_DAY_BYTES`] an error.
fn bytes(value: &Option<serde_json::Value>, name: &str) -> Result<u64, String> {
    let count = byte_count(value, name)?;
    if count > MAX_DAY_BYTES {
        return Err(format!(
            "{name} {count} is more than one video can be served in a day ({MAX_DAY_BYTES})"
        ));
    }
    Ok(count)
}

fn byte_count(value: &Option<serde_json::Value>, name: &str) -> Result<u64, String> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(0),
        Some(serde_json::Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f.round() as u64))
            .ok_or_else(|| format!("{name} {n} is not a byte count")),
        Some(serde_json::Value::String(s)) => s
            .trim()
            .parse()
            .map_err(|_| format!("{name} '{s}' is not a byte count")),
        Some(other) => Err(format!("{name} {other} is not a byte count")),
    }
}

/// Ids that go into a URL path: letters, digits, `_` and `-` only.
pub fn is_safe_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_out_of_range_are_errors() {
        let day = |total: serde_json::Value| {
            parse_days(Some(serde_json::json!([
                {"currentDay": "2026-11-18", "pcFlowSize": 1, "mobileFlowSize": 2, "totalFlowSize": total}
            ])))
        };
        assert_eq!(day(serde_json::json!(3)).unwrap()[0].total_bytes, 3);
        for bad in [
            serde_json::json!(1e19),
            serde_json::json!("18446744073709551615"),
            serde_json::json!(-1),
        ] {
            let err = day(bad.clone()).unwrap_err();
            assert!(err.contains("totalFlowSize"), "{bad}: {err}");
        }
    }

    #[test]
    fn documented_known_answers() {
        let secret = Secret::new("tIQp4ATe9Z");
        let params = [
            ("format", "json"),
            ("ptime", "1492591990000"),
            ("vid", "382839019131be68715e9455f8d0971a_3"),
        ];
        assert_eq!(
            sign(&params, &secret),
            "50BF9B165630A8047EB1D17D95A469CC51FF754E"
        );
        // Order of the input does not matter; empty values and `sign` are not signed.
        let shuffled = [
            ("vid", "382839019131be68715e9455f8d0971a_3"),
            ("sign", "X"),
            ("dr", ""),
            ("ptime", "1492591990000"),
            ("format", "json"),
        ];
        assert_eq!(
            sign(&shuffled, &secret),
            "50BF9B165630A8047EB1D17D95A469CC51FF754E"
        );
        assert_eq!(
            sign(&[("ptime", "1"), ("vid", "test1")], &Secret::new("test2")),
            "C2B1558D697EA3AF4ED2FC90152751860C1E2163"
        );
    }

    #[test]
    fn reply_days_accept_numbers_and_strings() {
        let data = serde_json::json!([
            {"currentDay": "2026-11-18", "pcFlowSize": 10, "mobileFlowSize": "20", "totalFlowSize": 30},
            {"currentDay": "2026-11-19", "pcFlowSize": null, "mobileFlowSize": 5}
        ]);
        let days = parse_days(Some(data)).unwrap();
        assert_eq!(days[0].total_bytes, 30);
        assert_eq!(
            (days[1].pc_bytes, days[1].mobile_bytes, days[1].total_bytes),
            (0, 5, 5)
        );
        assert!(parse_days(Some(serde_json::json!([{"currentDay": "x"}]))).is_err());
        assert!(parse_days(Some(
            serde_json::json!([{"currentDay": "2026-11-18", "pcFlowSize": -4}])
        ))
        .is_err());
    }

    #[test]
    fn ids_for_paths() {
        assert!(is_safe_token("382839019131be68715e9455f8d0971a_3"));
        assert!(!is_safe_token("../x"));
        assert!(!is_safe_token("a/b"));
        assert!(!is_safe_token(""));
    }
}
