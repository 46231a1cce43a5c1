//! Chat robots: the nightly result posted to the team's WeCom (企业微信), Feishu (飞书) or
//! DingTalk (钉钉) group, or as plain JSON to any webhook.
//!
//! Each kind has its own body and, for signed robots, its own signature:
//! - WeCom: `{"msgtype":"markdown","markdown":{"content":…}}`; the key is in the URL.
//! - DingTalk: `{"msgtype":"markdown","markdown":{"title":…,"text":…}}`; with a secret,
//!   `timestamp` (ms) and `sign` = base64(HMAC-SHA256(key = secret, timestamp + "\n" +
//!   secret)) are added to the URL (URL-encoded).
//! - Feishu: `{"msg_type":"text","content":{"text":…}}`; with a secret, the body carries
//!   `timestamp` (s) and `sign` = base64(HMAC-SHA256(key = timestamp + "\n" + secret,
//!   empty message)).
//! - webhook: the run's record as JSON.
//!
//! A post that fails (timeout, HTTP error, the robot's error code, rate limit) is retried
//! with backoff a few times; what is left is a warning, never the run's exit status. The
//! webhook URL (its key or token) and the secret are secrets: never shown.

pub mod server;

use std::time::Duration;

use base64::Engine;
use serde::Deserialize;

use super::retry::{Backoff, RetryPolicy};
use crate::util::secret::{scrub, Secret};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Wecom,
    Feishu,
    Dingtalk,
    Webhook,
}

/// When a run posts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum When {
    #[default]
    Always,
    /// Only when the exit status is not 0.
    Problems,
}

/// `[notify.alerts]`: what makes an anomaly line.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Alerts {
    /// A channel's day cost at least this many times its trailing 7-day median.
    pub channel_spike_factor: f64,
    /// Untagged traffic above this share of the day's cost (percent).
    pub untagged_share_pct: f64,
    /// Reconciliation deviation beyond ± this (percent).
    pub deviation_pct: f64,
    /// Rejected lines above this share of the lines read (percent).
    pub rejected_pct: f64,
}

impl Default for Alerts {
    fn default() -> Self {
        Alerts {
            channel_spike_factor: 2.0,
            untagged_share_pct: 20.0,
            deviation_pct: 5.0,
            rejected_pct: 0.1,
        }
    }
}

/// `[notify]` in cdncost.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    pub kind: Kind,
    pub webhook_url: Secret,
    #[serde(default)]
    pub secret: Option<Secret>,
    #[serde(default)]
    pub on: When,
    /// `zh` (default) or `en`.
    #[serde(default = "default_lang")]
    pub lang: String,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    #[serde(default = "default_retry")]
    pub retry: RetryPolicy,
    #[serde(default)]
    pub alerts: Alerts,
}

impl NotifyConfig {
    /// Checked when the config loads, so a bad setting is found before the night it is
    /// needed. The URL itself is not shown (it holds the robot's key).
    pub fn validate(&self) -> Result<(), String> {
        let url = reqwest::Url::parse(self.webhook_url.expose())
            .map_err(|e| format!("[notify] webhook_url does not parse ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("[notify] webhook_url must be an http(s) URL".into());
        }
        if !matches!(self.lang.as_str(), "zh" | "en") {
            return Err(format!(
                "[notify] lang = {:?}: use \"zh\" or \"en\"",
                self.lang
            ));
        }
        let alerts = [
            self.alerts.channel_spike_factor,
            self.alerts.untagged_share_pct,
            self.alerts.deviation_pct,
            self.alerts.rejected_pct,
        ];
        if alerts.iter().any(|v| !v.is_finite() || *v < 0.0) {
            return Err("[notify.alerts] thresholds must be finite and not negative".into());
        }
        Ok(())
    }
}

fn default_lang() -> String {
    "zh".into()
}

fn default_timeout() -> u64 {
    10
}

fn default_retry() -> RetryPolicy {
    RetryPolicy {
        attempts: 4,
        base_ms: 1000,
        max_ms: 10_000,
        total_secs: 60,
    }
}

/// One message, in the words of its language.
#[derive(Debug, Clone)]
pub struct Message {
    pub title: String,
    /// Markdown (WeCom, DingTalk); Feishu gets it as plain text.
    pub text: String,
    /// The run's record (the plain webhook's body).
    pub record: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
#[error("posting to the {kind:?} robot: {detail}")]
pub struct RobotError {
    pub kind: Kind,
    pub detail: String,
}

/// DingTalk's signature of `timestamp_ms` (before URL encoding).
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, format!("{timestamp_ms}\n{secret}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
}

/// Feishu's signature of `timestamp_s`.
pub fn feishu_sign(secret: &str, timestamp_s: i64) -> String {
    let key_text = format!("{timestamp_s}\n{secret}");
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key_text.as_bytes());
    let tag = ring::hmac::sign(&key, b"");
    base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
}

/// The URL and body of one post of `message`, signed at `now` (unix ms) when the robot
/// has a secret.
pub fn request(
    config: &NotifyConfig,
    message: &Message,
    now_ms: i64,
) -> Result<(reqwest::Url, serde_json::Value), String> {
    let mut url = reqwest::Url::parse(config.webhook_url.expose())
        .map_err(|e| format!("webhook_url does not parse ({e})"))?;
    let secret = config.secret.as_ref().map(Secret::expose);
    let body = match config.kind {
        Kind::Wecom => serde_json::json!({
            "msgtype": "markdown",
            "markdown": {"content": format!("**{}**\n{}", message.title, message.text)},
        }),
        Kind::Dingtalk => {
            if let Some(secret) = secret {
                url.query_pairs_mut()
                    .append_pair("timestamp", &now_ms.to_string())
                    .append_pair("sign", &dingtalk_sign(secret, now_ms));
            }
            serde_json::json!({
                "msgtype": "markdown",
                "markdown": {"title": message.title, "text": format!("### {}\n{}", message.title, message.text)},
            })
        }
        Kind::Feishu => {
            let mut body = serde_json::json!({
                "msg_type": "text",
                "content": {"text": format!("{}\n{}", message.title, message.text)},
            });
            if let Some(secret) = secret {
                let seconds = now_ms / 1000;
                body["timestamp"] = serde_json::json!(seconds.to_string());
                body["sign"] = serde_json::json!(feishu_sign(secret, seconds));
            }
            body
        }
        Kind::Webhook => message.record.clone(),
    };
    Ok((url, body))
}

/// Why a reply is not a success: the robots answer HTTP 200 with their own code.
fn robot_failure(kind: Kind, reply: &serde_json::Value) -> Option<String> {
    let code = match kind {
        Kind::Wecom | Kind::Dingtalk => reply.get("errcode"),
        Kind::Feishu => reply.get("code").or_else(|| reply.get("StatusCode")),
        Kind::Webhook => None,
    }?;
    if code.as_i64() == Some(0) {
        return None;
    }
    let said = ["errmsg", "msg", "StatusMessage"]
        .iter()
        .find_map(|k| reply.get(*k).and_then(|v| v.as_str()))
        .unwrap_or("");
    Some(format!("the robot answered code {code}: {said}"))
}

/// The most a robot's reply may hold: its answer is a line of JSON.
pub const MAX_ROBOT_REPLY_BYTES: usize = 64 * 1024;

/// Posts `message`, retrying failures with backoff; the error says what the last attempt
/// met, with every part of the robot's address and signature scrubbed (a reply may echo
/// the URL, or one of its parts).
pub async fn post(config: &NotifyConfig, message: &Message) -> Result<(), RobotError> {
    let fail = |detail: String, hidden: &[Secret]| RobotError {
        kind: config.kind,
        detail: scrub(&detail, &hidden.iter().collect::<Vec<_>>()),
    };
    let timeout = Duration::from_secs(config.timeout_secs.max(1));
    // A robot never redirects: a redirect would carry the message (and a signed URL) to
    // whatever host it names.
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(timeout)
        .referer(false)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| fail(format!("HTTP client: {e}"), &hidden_parts(config, None)))?;
    let mut backoff = Backoff::new(config.retry);
    loop {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let (url, body) =
            request(config, message, now_ms).map_err(|e| fail(e, &hidden_parts(config, None)))?;
        let hidden = hidden_parts(config, Some(&url));
        let sent = http.post(url).timeout(timeout).json(&body).send().await;
        let problem = match sent {
            Err(e) => super::describe(e),
            Ok(reply) if reply.status().is_redirection() => format!(
                "HTTP {}: the robot redirects, which a robot never does; not followed",
                reply.status()
            ),
            Ok(reply) if !reply.status().is_success() => format!("HTTP {}", reply.status()),
            Ok(reply) => match super::reply_body_within(reply, MAX_ROBOT_REPLY_BYTES).await {
                Err(super::BodyError::TooBig(e) | super::BodyError::Read(e)) => e,
                Ok(bytes) => match reply_failure(config.kind, &bytes) {
                    None => return Ok(()),
                    Some(problem) => problem,
                },
            },
        };
        let problem = scrub(&problem, &hidden.iter().collect::<Vec<_>>());
        let what = format!("{:?} robot", config.kind);
        if !backoff.pause(&what, &problem, Duration::ZERO).await {
            return Err(fail(
                format!(
                    "{problem} (gave up after {} attempts)",
                    backoff.attempt() + 1
                ),
                &hidden,
            ));
        }
    }
}

/// Why a 2xx reply is not a delivery: the chat robots answer with a JSON code (a reply
/// that is not JSON is no delivery, whatever proxy sent it); the plain webhook takes any
/// 2xx.
fn reply_failure(kind: Kind, bytes: &[u8]) -> Option<String> {
    if kind == Kind::Webhook {
        return None;
    }
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(reply) if reply.is_object() => {
            robot_failure(kind, &reply).or_else(|| robot_code_missing(kind, &reply))
        }
        _ => Some(format!(
            "the robot's reply is not JSON ({} bytes): not delivered",
            bytes.len()
        )),
    }
}

/// A JSON reply without the robot's code says nothing about delivery.
fn robot_code_missing(kind: Kind, reply: &serde_json::Value) -> Option<String> {
    let keys: &[&str] = match kind {
        Kind::Wecom | Kind::Dingtalk => &["errcode"],
        Kind::Feishu => &["code", "StatusCode"],
        Kind::Webhook => return None,
    };
    (!keys.iter().any(|k| reply.get(*k).is_some()))
        .then(|| format!("the robot's reply has no {}: not delivered", keys[0]))
}

/// Everything of the robot's address and signature a reply or an error could echo: the
/// URL whole (as set and as sent), every query value (WeCom's `key`, DingTalk's
/// `access_token`, `timestamp`'s `sign`), every path segment of 16 characters or more
/// (Feishu's hook id), the signing secret, each also percent-encoded and decoded.
fn hidden_parts(config: &NotifyConfig, sent: Option<&reqwest::Url>) -> Vec<Secret> {
    let mut parts = vec![config.webhook_url.expose().to_string()];
    parts.extend(config.secret.as_ref().map(|s| s.expose().to_string()));
    let set = reqwest::Url::parse(config.webhook_url.expose()).ok();
    for url in set.iter().chain(sent) {
        parts.push(url.to_string());
        for (key, value) in url.query_pairs() {
            if key != "timestamp" {
                parts.push(value.into_owned());
            }
        }
        parts.extend(
            url.path_segments()
                .into_iter()
                .flatten()
                .filter(|s| s.len() >= 16)
                .map(String::from),
        );
        parts.extend(
            url.query()
                .map(|q| {
                    q.split('&')
                        .filter_map(|pair| pair.split_once('=').map(|(_, v)| v.to_string()))
                        .collect::<Vec<_>>()
                })
                .into_iter()
                .flatten(),
        );
    }
    // Longest first, so a part is never left half-replaced by a shorter one inside it.
    parts.sort_by_key(|p| std::cmp::Reverse(p.len()));
    parts.dedup();
    parts.into_iter().map(Secret::new).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known answers, computed with Python's own hmac/hashlib/base64 (an independent
    /// implementation), following the robots' published rules:
    /// `base64.b64encode(hmac.new(b"SECtest", b"1700000000000\nSECtest", sha256).digest())`
    /// and `base64.b64encode(hmac.new(b"1700000000\nfeishu-secret", b"", sha256).digest())`.
    #[test]
    fn signatures_match_known_answers() {
        assert_eq!(dingtalk_sign("SECtest", 1_700_000_000_000), DINGTALK_KNOWN);
        assert_eq!(feishu_sign("feishu-secret", 1_700_000_000), FEISHU_KNOWN);
    }

    const DINGTALK_KNOWN: &str = "aZLLrriXgn05YbwaGR7knYsLeJADjr9NwLaNNKpxh4g=";
    const FEISHU_KNOWN: &str = "OrBzY1Y01Gq+HgJsl+7OfWcMVwc7YocohQm5iiZwjhU=";

    #[test]
    fn settings_are_checked_without_showing_the_url() {
        let config = |text: &str| toml::from_str::<NotifyConfig>(text).unwrap().validate();
        assert!(config("kind = \"wecom\"\nwebhook_url = \"https://h/send?key=K9\"").is_ok());
        let bad = config("kind = \"wecom\"\nwebhook_url = \"ftp://h/send?key=K9\"").unwrap_err();
        assert!(bad.contains("http(s)") && !bad.contains("K9"), "{bad}");
        let lang = config("kind = \"feishu\"\nwebhook_url = \"https://h/x\"\nlang = \"fr\"");
        assert!(lang.unwrap_err().contains("\"zh\" or \"en\""));
        let alerts =
            "kind = \"webhook\"\nwebhook_url = \"https://h/x\"\n[alerts]\ndeviation_pct = -1.0";
        assert!(config(alerts).is_err());
    }

    #[test]
    fn robot_codes_are_read_per_kind() {
        let ok = serde_json::json!({"errcode": 0, "errmsg": "ok"});
        assert_eq!(robot_failure(Kind::Dingtalk, &ok), None);
        let limited = serde_json::json!({"errcode": 130101, "errmsg": "send too fast"});
        assert!(robot_failure(Kind::Wecom, &limited)
            .unwrap()
            .contains("130101"));
        let feishu = serde_json::json!({"code": 19021, "msg": "sign match fail"});
        assert!(robot_failure(Kind::Feishu, &feishu)
            .unwrap()
            .contains("sign match fail"));
        assert_eq!(
            robot_failure(Kind::Feishu, &serde_json::json!({"code": 0})),
            None
        );
    }
}
