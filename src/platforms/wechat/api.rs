//! The WeChat mini-drama media service (VOD) server API (DOMAIN.md §1): access token,
//! `getcdnusagedata` (the billed usage series) and `getcdnlogs` (signed URLs of the hourly
//! log files).
//!
//! Every call goes through [`WechatClient::call`], which owns the error policy:
//! - 40001 / 40014 / 42001 (token invalid or expired): drop the token, fetch a fresh one,
//!   retry the call once;
//! - -1 / -2 / 10093023, HTTP 5xx, timeouts and resets: back off (full jitter) and retry,
//!   bounded in attempts and total time;
//! - 45011 (per-minute limit): wait a minute if the time budget allows, else stop;
//!   45009 (daily quota): stop, saying so;
//! - anything else: an error naming the call, the errcode and errmsg, and what to do.
//!
//! The access token rides in the URL, so every URL shown is redacted first.

use std::path::PathBuf;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::sources::retry::{self, Backoff, RetryPolicy, Verdict};
use crate::sources::{describe, Endpoint};
use crate::util::secret::{redact_url, scrub, Secret};

pub const DEFAULT_API_BASE: &str = "https://api.weixin.qq.com";

/// `[wechat]` in cdncost.toml; `WECHAT_APPID`, `WECHAT_APPSECRET`, `WECHAT_API_BASE` win.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WechatConfig {
    pub appid: String,
    pub appsecret: Secret,
    pub api_base: String,
    /// Keep the access token in this file between runs (created with mode 0600).
    pub token_cache: Option<PathBuf>,
    /// Seconds an API call may take in all, and a download may go without receiving a
    /// byte (a large download may take longer in all).
    pub timeout_secs: u64,
    pub retry: RetryPolicy,
    /// Deprecated here: the download settings of the log files live in `[logs]`
    /// ([`crate::config::LogsConfig`]); values found here are moved there, with a warning.
    pub raw_dir: Option<PathBuf>,
    pub download_jobs: Option<usize>,
    pub max_download_bytes: Option<u64>,
    pub max_inflated_bytes: Option<u64>,
    pub complete_after_hours: Option<u64>,
    /// `[wechat.accounts.<name>]`: further mini-programs, each its own account
    /// ([`crate::platforms::accounts`]); the keys above are their defaults.
    pub accounts: std::collections::BTreeMap<String, WechatAccount>,
}

/// `[wechat.accounts.<name>]`: one mini-program of the studio.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WechatAccount {
    #[serde(default)]
    pub appid: String,
    pub secret: Option<Secret>,
    /// The name of an environment variable holding the secret.
    pub secret_env: Option<String>,
    /// Its own token cache [default: the shared one's name with `.<account>` added].
    pub token_cache: Option<PathBuf>,
    /// Its own API base [default: the shared one].
    pub api_base: Option<String>,
}

impl Default for WechatConfig {
    fn default() -> Self {
        WechatConfig {
            appid: String::new(),
            appsecret: Secret::default(),
            api_base: DEFAULT_API_BASE.into(),
            token_cache: None,
            timeout_secs: 30,
            retry: RetryPolicy::default(),
            raw_dir: None,
            download_jobs: None,
            max_download_bytes: None,
            max_inflated_bytes: None,
            complete_after_hours: None,
            accounts: Default::default(),
        }
    }
}

impl WechatConfig {
    /// Applies the environment over the file's values (the environment wins).
    pub fn with_env(mut self) -> WechatConfig {
        crate::sources::from_env("WECHAT_APPID", &mut self.appid);
        crate::sources::secret_from_env("WECHAT_APPSECRET", &mut self.appsecret);
        crate::sources::from_env("WECHAT_API_BASE", &mut self.api_base);
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WechatError {
    #[error("WeChat is not configured: {0}")]
    Config(String),
    #[error(
        "WeChat access token: errcode {errcode}: {errmsg}; check WECHAT_APPID and WECHAT_APPSECRET (or the account's appid and secret under [wechat.accounts])"
    )]
    Token { errcode: i64, errmsg: String },
    #[error("WeChat {call}: errcode {errcode}: {errmsg}{hint}")]
    Api {
        call: &'static str,
        errcode: i64,
        errmsg: String,
        hint: &'static str,
    },
    #[error("WeChat {call}: the daily API quota is used up (errcode 45009): no more calls today; run again tomorrow, or reset the quota in the mini-program admin console")]
    DailyQuota { call: &'static str },
    #[error("WeChat {call}: still over the per-minute call limit (errcode 45011) after waiting; lower the run's concurrency or run again in a few minutes")]
    MinuteLimit { call: &'static str },
    #[error("WeChat {call}: gave up after {attempts} attempts: {last}")]
    GaveUp {
        call: &'static str,
        attempts: u32,
        last: String,
    },
    #[error("WeChat {call}: unexpected reply: {detail}")]
    BadReply { call: &'static str, detail: String },
}

/// One point of the usage series: bytes billed in the interval starting at `time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct UsagePoint {
    pub time: i64,
    #[serde(deserialize_with = "u64_from_number_or_string")]
    pub value: u64,
}

/// A success reply must list its points (`item_list`, empty or not): a reply without it
/// is not the documented shape, never "no usage".
#[derive(Debug, Deserialize)]
pub struct UsageReply {
    #[serde(default)]
    pub data_interval: Option<i64>,
    pub item_list: Vec<UsagePoint>,
}

/// One log file as `getcdnlogs` lists it. `date` comes as a string (`"2024-03-28"`)
/// although the documentation says number; both are accepted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LogFileEntry {
    #[serde(deserialize_with = "string_from_string_or_number")]
    pub date: String,
    pub name: String,
    pub url: String,
    pub start_time: i64,
    pub end_time: i64,
}

/// A success reply must list its files (`domestic_cdn_logs`, empty or not).
#[derive(Debug, Deserialize)]
pub struct LogsReply {
    #[serde(default)]
    pub total_count: Option<i64>,
    pub domestic_cdn_logs: Vec<LogFileEntry>,
}

pub(crate) fn u64_from_number_or_string<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<u64, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f.round() as u64))
            .ok_or_else(|| serde::de::Error::custom(format!("{n} is not a byte count"))),
        serde_json::Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("'{s}' is not a byte count"))),
        other => Err(serde::de::Error::custom(format!(
            "{other} is not a byte count"
        ))),
    }
}

fn string_from_string_or_number<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "date {other} is neither a string nor a number"
        ))),
    }
}

struct CachedToken {
    token: Secret,
    /// Unix seconds.
    expires_at: i64,
}

/// The token cache: a token is good for the appid *and* the API base it came from (a
/// token sent to another base would leak it there).
#[derive(serde::Serialize, Deserialize)]
struct TokenFile {
    appid: String,
    #[serde(default)]
    api_base: String,
    access_token: String,
    expires_at: i64,
}

/// What one attempt came to.
enum Attempt<T> {
    Done(T),
    /// Worth another attempt: why (for the log), the least wait, and whether it is the
    /// per-minute limit (which has its own error when the attempts run out).
    Retry(String, Duration, Limit),
    TokenRejected(i64, String),
    Fatal(WechatError),
}

/// Which limit, if any, a retried call ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Limit {
    None,
    /// errcode 45011: calls per minute.
    PerMinute,
}

pub struct WechatClient {
    /// Its HTTP client is shared with the log downloader (connect and per-read timeouts
    /// only); the total timeout is the API calls' (downloads have none).
    endpoint: Endpoint,
    appid: String,
    secret: Secret,
    token_cache: Option<PathBuf>,
    token: tokio::sync::Mutex<Option<CachedToken>>,
    retry: RetryPolicy,
}

impl WechatClient {
    pub fn new(config: &WechatConfig) -> Result<WechatClient, WechatError> {
        let config_error = WechatError::Config;
        let settings = [
            ("appid", config.appid.as_str()),
            ("appsecret", config.appsecret.expose()),
        ];
        crate::sources::require("wechat", &settings).map_err(config_error)?;
        Ok(WechatClient {
            endpoint: Endpoint::new(&config.api_base, config.timeout_secs).map_err(config_error)?,
            appid: config.appid.clone(),
            secret: config.appsecret.clone(),
            token_cache: config.token_cache.clone(),
            token: tokio::sync::Mutex::new(None),
            retry: config.retry,
        })
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.endpoint.http
    }

    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// The billed usage series for `[start, end]` (unix seconds; at most 90 days).
    pub async fn cdn_usage(
        &self,
        start: i64,
        end: i64,
        interval_min: u32,
        query_type: u8,
    ) -> Result<UsageReply, WechatError> {
        let body = serde_json::json!({"start_time": start, "end_time": end, "data_interval": interval_min, "query_type": query_type});
        self.call("getcdnusagedata", body).await
    }

    /// The log files of `[start, end]` (unix seconds; at most 48 hours).
    pub async fn cdn_logs(
        &self,
        start: i64,
        end: i64,
        query_type: u8,
    ) -> Result<LogsReply, WechatError> {
        let body =
            serde_json::json!({"start_time": start, "end_time": end, "query_type": query_type});
        self.call("getcdnlogs", body).await
    }

    /// Calls `/wxa/sec/vod/<name>` with the error policy of this module.
    pub async fn call<T: DeserializeOwned>(
        &self,
        name: &'static str,
        body: serde_json::Value,
    ) -> Result<T, WechatError> {
        let mut backoff = Backoff::new(self.retry);
        let mut token_refreshed = false;
        loop {
            let token = self.access_token().await?;
            let (at_least, reason, limit) = match self.attempt::<T>(name, &token, &body).await {
                Attempt::Done(value) => return Ok(value),
                Attempt::Fatal(e) => return Err(e),
                Attempt::TokenRejected(errcode, errmsg) => {
                    if token_refreshed {
                        return Err(WechatError::Api {
                            call: name,
                            errcode,
                            errmsg,
                            hint: "; a freshly fetched token was refused too",
                        });
                    }
                    tracing::warn!("WeChat {name}: access token refused (errcode {errcode}); fetching a new one");
                    self.drop_token(&token).await;
                    token_refreshed = true;
                    continue;
                }
                Attempt::Retry(reason, at_least, limit) => (at_least, reason, limit),
            };
            if !backoff
                .pause(&format!("WeChat {name}"), &reason, at_least)
                .await
            {
                if limit == Limit::PerMinute {
                    return Err(WechatError::MinuteLimit { call: name });
                }
                return Err(WechatError::GaveUp {
                    call: name,
                    attempts: backoff.attempt(),
                    last: reason,
                });
            }
        }
    }

    async fn attempt<T: DeserializeOwned>(
        &self,
        name: &'static str,
        token: &Secret,
        body: &serde_json::Value,
    ) -> Attempt<T> {
        let url = self.endpoint.url(&format!(
            "/wxa/sec/vod/{name}?access_token={}",
            token.expose()
        ));
        tracing::debug!("POST {}", redact_url(&url));
        let response = match self.endpoint.post(&url).json(body).send().await {
            Ok(r) => r,
            Err(e) => {
                return Attempt::Retry(
                    self.clean_token(token, &describe(e)),
                    Duration::ZERO,
                    Limit::None,
                )
            }
        };
        let status = response.status();
        if retry::http_status(status) == Verdict::Retry {
            return Attempt::Retry(
                format!("HTTP {status}"),
                retry::status_pause(status),
                Limit::None,
            );
        }
        let bytes = match crate::sources::reply_body(response).await {
            Ok(b) => b,
            Err(crate::sources::BodyError::Read(e)) => {
                return Attempt::Retry(self.clean_token(token, &e), Duration::ZERO, Limit::None)
            }
            Err(crate::sources::BodyError::TooBig(detail)) => {
                return Attempt::Fatal(WechatError::BadReply { call: name, detail })
            }
        };
        // The reply's start, without secrets, for an error about its shape.
        let snippet = || {
            self.clean_token(
                token,
                &String::from_utf8_lossy(&bytes[..bytes.len().min(200)]),
            )
        };
        let value: serde_json::Value = match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(e) => {
                return Attempt::Fatal(WechatError::BadReply {
                    call: name,
                    detail: format!("HTTP {status}, not JSON ({e}): {}", snippet()),
                });
            }
        };
        let Some(errcode) = errcode_of(&value) else {
            return Attempt::Fatal(WechatError::BadReply {
                call: name,
                detail: format!("HTTP {status}, no integer errcode: {}", snippet()),
            });
        };
        let errmsg = self.clean_token(
            token,
            value.get("errmsg").and_then(|m| m.as_str()).unwrap_or(""),
        );
        match errcode {
            0 => match serde_json::from_value(value) {
                Ok(v) => Attempt::Done(v),
                Err(e) => Attempt::Fatal(WechatError::BadReply {
                    call: name,
                    detail: e.to_string(),
                }),
            },
            40001 | 40014 | 42001 => Attempt::TokenRejected(errcode, errmsg),
            -1 | -2 => Attempt::Retry(
                format!("errcode {errcode} ({errmsg}): busy or not ready"),
                Duration::ZERO,
                Limit::None,
            ),
            10093023 => Attempt::Retry(
                format!("errcode {errcode} ({errmsg}): calls too frequent"),
                Duration::from_secs(1),
                Limit::None,
            ),
            45011 => Attempt::Retry(
                format!("errcode 45011 ({errmsg}): per-minute limit"),
                Duration::from_secs(60),
                Limit::PerMinute,
            ),
            45009 => Attempt::Fatal(WechatError::DailyQuota { call: name }),
            _ => Attempt::Fatal(WechatError::Api {
                call: name,
                errcode,
                errmsg,
                hint: hint_for(errcode),
            }),
        }
    }

    /// The cached token, or a fresh one (from the cache file when it is still valid).
    async fn access_token(&self) -> Result<Secret, WechatError> {
        let mut slot = self.token.lock().await;
        let now = chrono::Utc::now().timestamp();
        if let Some(t) = slot.as_ref().filter(|t| t.expires_at > now + 60) {
            return Ok(t.token.clone());
        }
        if let Some(t) = self.read_token_cache().filter(|t| t.expires_at > now + 60) {
            let token = t.token.clone();
            *slot = Some(t);
            return Ok(token);
        }
        let fresh = self.fetch_token().await?;
        let token = fresh.token.clone();
        self.write_token_cache(&fresh);
        *slot = Some(fresh);
        Ok(token)
    }

    /// Forgets `rejected` (unless another task already replaced it).
    async fn drop_token(&self, rejected: &Secret) {
        let mut slot = self.token.lock().await;
        if slot.as_ref().is_some_and(|t| &t.token == rejected) {
            *slot = None;
            if let Some(path) = &self.token_cache {
                let _ = std::fs::remove_file(path);
            }
        }
    }

    /// `POST /cgi-bin/stable_token` (old and new tokens overlap for 5 minutes).
    async fn fetch_token(&self) -> Result<CachedToken, WechatError> {
        let url = self.endpoint.url("/cgi-bin/stable_token");
        let body = serde_json::json!({"grant_type": "client_credential", "appid": self.appid, "secret": self.secret.expose(), "force_refresh": false});
        let mut backoff = Backoff::new(self.retry);
        loop {
            let reason = match self.endpoint.post(&url).json(&body).send().await {
                Err(e) => self.clean(&describe(e)),
                Ok(r) if retry::http_status(r.status()) == Verdict::Retry => {
                    format!("HTTP {}", r.status())
                }
                Ok(r) => {
                    let value: serde_json::Value =
                        r.json().await.map_err(|e| WechatError::BadReply {
                            call: "stable_token",
                            detail: self.clean(&describe(e)),
                        })?;
                    let errcode = value.get("errcode").and_then(|c| c.as_i64()).unwrap_or(0);
                    let errmsg =
                        self.clean(value.get("errmsg").and_then(|m| m.as_str()).unwrap_or(""));
                    match (errcode, value.get("access_token").and_then(|t| t.as_str())) {
                        (0, Some(token)) => {
                            let expires_in = value
                                .get("expires_in")
                                .and_then(|e| e.as_i64())
                                .unwrap_or(7200);
                            return Ok(CachedToken {
                                token: Secret::new(token),
                                expires_at: chrono::Utc::now().timestamp() + expires_in,
                            });
                        }
                        (-1, _) => format!("errcode -1 ({errmsg}): busy"),
                        (0, None) => {
                            return Err(WechatError::BadReply {
                                call: "stable_token",
                                detail: "no access_token in the reply".into(),
                            })
                        }
                        _ => return Err(WechatError::Token { errcode, errmsg }),
                    }
                }
            };
            if !backoff
                .pause("WeChat access token", &reason, Duration::ZERO)
                .await
            {
                return Err(WechatError::GaveUp {
                    call: "stable_token",
                    attempts: backoff.attempt(),
                    last: reason,
                });
            }
        }
    }

    fn read_token_cache(&self) -> Option<CachedToken> {
        let file: TokenFile =
            serde_json::from_slice(&std::fs::read(self.token_cache.as_ref()?).ok()?).ok()?;
        (file.appid == self.appid && file.api_base == self.endpoint.base).then(|| CachedToken {
            token: Secret::new(file.access_token),
            expires_at: file.expires_at,
        })
    }

    /// Writes the token cache, readable by the owner only. Failure is logged, not fatal.
    fn write_token_cache(&self, token: &CachedToken) {
        let Some(path) = &self.token_cache else {
            return;
        };
        let file = TokenFile {
            appid: self.appid.clone(),
            api_base: self.endpoint.base.clone(),
            access_token: token.token.expose().to_string(),
            expires_at: token.expires_at,
        };
        if let Err(e) =
            crate::util::files::write_private(path, &serde_json::to_vec(&file).unwrap_or_default())
        {
            tracing::warn!("could not write the token cache {}: {e}", path.display());
        }
    }

    fn clean(&self, text: &str) -> String {
        scrub(text, &[&self.secret])
    }

    /// Server text about a call made with `token`: the secret and the token taken out (a
    /// proxy's error page may echo the request URL).
    fn clean_token(&self, token: &Secret, text: &str) -> String {
        scrub(text, &[&self.secret, token])
    }
}

/// A reply's `errcode`: an integer as documented, or the digits of one in a string (an
/// error is then still taken as that error, never as success). `None` when it is absent
/// or not a number: the reply is not the documented shape.
fn errcode_of(reply: &serde_json::Value) -> Option<i64> {
    match reply.get("errcode")? {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn hint_for(errcode: i64) -> &'static str {
    match errcode {
        40013 => "; the appid is not valid: check WECHAT_APPID",
        40125 | 40164 => "; check WECHAT_APPSECRET and the IP allow-list of the mini-program",
        48001 => {
            "; the mini-program has no permission for this API: enable the mini-drama media service"
        }
        47001 | 44002 => "; the request body was refused: report this as a cdncost bug",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_entries_take_date_as_string_or_number() {
        let reply: LogsReply = serde_json::from_str(
            r#"{"errcode":0,"total_count":2,"domestic_cdn_logs":[
                {"date":"2024-03-28","name":"2024032819-1500020822.vod2.myqcloud.com-mainland","url":"https://x/y","start_time":1711623600,"end_time":1711627200},
                {"date":20240328,"name":"n2","url":"https://x/z","start_time":1711623600,"end_time":1711627200}]}"#,
        )
        .unwrap();
        assert_eq!(reply.domestic_cdn_logs[0].date, "2024-03-28");
        assert_eq!(reply.domestic_cdn_logs[1].date, "20240328");
        let usage: UsageReply = serde_json::from_str(
            r#"{"data_interval":5,"item_list":[{"time":1,"value":"42"},{"time":2,"value":7}]}"#,
        )
        .unwrap();
        assert_eq!(usage.item_list.iter().map(|p| p.value).sum::<u64>(), 49);
    }
}
