//! Where data comes from: the WeChat media-service API, the Polyv API and the log files
//! they point to. What the clients share lives here (secrets that never print and URL
//! redaction are `crate::util::secret`, below every room): retry policy and a client-side rate limit (Vector's split of *whether* to
//! retry from *when*).

pub mod download;
pub mod loopback;
pub mod retry;
pub mod robot;

use std::time::Duration;

/// The environment's value of `var`, when set, over a setting from the file.
pub fn from_env(var: &str, setting: &mut String) {
    if let Ok(value) = std::env::var(var) {
        *setting = value;
    }
}

/// [`from_env`] for a secret.
pub fn secret_from_env(var: &str, setting: &mut crate::util::secret::Secret) {
    if let Ok(value) = std::env::var(var) {
        *setting = crate::util::secret::Secret::new(value);
    }
}

/// The HTTP client of the API clients: connect and per-read timeouts only. API calls add
/// a total timeout per request; downloads do not, so a large log file may take minutes,
/// but a stalled connection still fails after `read_timeout`.
pub fn http_client(read_timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(read_timeout)
        // A redirect must not carry a credential to another host: no Referer, and no
        // redirect at all from a URL holding a token or a signature (API calls).
        .referer(false)
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            let credentialed = attempt.previous().iter().any(|url| {
                url.query_pairs()
                    .any(|(k, _)| k == "access_token" || k == "sign")
            });
            if credentialed {
                attempt.stop()
            } else if attempt.previous().len() >= 5 {
                attempt.error("more than 5 redirects")
            } else {
                attempt.follow()
            }
        }))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

/// Where an API client sends its calls and how long one may take: the HTTP client (shared
/// with the log downloader for WeChat), the total time of one call, the base address.
pub struct Endpoint {
    pub http: reqwest::Client,
    pub timeout: Duration,
    pub base: String,
}

impl Endpoint {
    pub fn new(api_base: &str, timeout_secs: u64) -> Result<Endpoint, String> {
        let timeout = Duration::from_secs(timeout_secs.max(1));
        Ok(Endpoint {
            http: http_client(timeout)?,
            timeout,
            base: api_base.trim_end_matches('/').to_string(),
        })
    }

    /// `<base><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A GET to `url` that may take `timeout` in all.
    pub fn get(&self, url: &str) -> reqwest::RequestBuilder {
        self.http.get(url).timeout(self.timeout)
    }

    /// A POST to `url` that may take `timeout` in all.
    pub fn post(&self, url: &str) -> reqwest::RequestBuilder {
        self.http.post(url).timeout(self.timeout)
    }
}

/// The settings a client of `section` needs, as (key, value): for the first empty one,
/// `Err("no <key>: set <SECTION>_<KEY> or [<section>] <key>")`.
pub fn require(section: &str, settings: &[(&str, &str)]) -> Result<(), String> {
    match settings.iter().find(|(_, value)| value.is_empty()) {
        Some((key, _)) => Err(format!(
            "no {key}: set {}_{} or [{section}] {key}",
            section.to_uppercase(),
            key.to_uppercase()
        )),
        None => Ok(()),
    }
}

/// The most an API reply may hold: far above any real one (a 90-day usage series of
/// 5-minute points is about 1 MB), far below what would strain memory.
pub const MAX_REPLY_BYTES: usize = 32 * 1024 * 1024;

/// Why a reply's body was not read.
pub enum BodyError {
    /// Larger than [`MAX_REPLY_BYTES`]: not worth another try.
    TooBig(String),
    /// The connection failed while reading: worth another try.
    Read(String),
}

/// A reply's body, read up to [`MAX_REPLY_BYTES`]; a larger one is an error, whatever
/// its `Content-Length` claims.
pub async fn reply_body(response: reqwest::Response) -> Result<Vec<u8>, BodyError> {
    reply_body_within(response, MAX_REPLY_BYTES).await
}

/// A reply's body, read up to `cap` bytes; a larger one is an error.
pub async fn reply_body_within(
    mut response: reqwest::Response,
    cap: usize,
) -> Result<Vec<u8>, BodyError> {
    let too_big = || BodyError::TooBig(format!("the reply is larger than {cap} bytes"));
    if response.content_length().is_some_and(|n| n > cap as u64) {
        return Err(too_big());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| BodyError::Read(format!("reading the reply: {}", describe(e))))?
    {
        if body.len() + chunk.len() > cap {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A reqwest error with its causes ("error sending request: … Connection refused") and
/// without its URL, which may carry a token or a signature.
pub fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A client-side request rate limit: requests are spaced at least `interval` apart, in
/// the order they asked, across every task of the client.
pub struct RateLimiter {
    interval: Duration,
    next: tokio::sync::Mutex<tokio::time::Instant>,
}

impl RateLimiter {
    pub fn per_second(rate: f64) -> RateLimiter {
        let interval = if rate > 0.0 {
            Duration::from_secs_f64(1.0 / rate)
        } else {
            Duration::ZERO
        };
        RateLimiter {
            interval,
            next: tokio::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    /// Waits for this request's slot.
    pub async fn wait(&self) {
        let slot = self.reserve(tokio::time::Instant::now()).await;
        tokio::time::sleep_until(slot).await;
    }

    /// The start of the next free slot at `now` (taken by the caller): the limiter's
    /// whole rule, kept apart from the sleeping so it is tested without a clock.
    async fn reserve(&self, now: tokio::time::Instant) -> tokio::time::Instant {
        let mut next = self.next.lock().await;
        let slot = (*next).max(now);
        *next = slot + self.interval;
        slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn spaces_requests() {
        // Five requests asking at the same instant get slots 20 ms apart, in order; one
        // asking after a long pause gets its slot at once. No real time passes.
        let limiter = RateLimiter::per_second(50.0);
        let unlimited = RateLimiter::per_second(0.0);
        let t0 = tokio::time::Instant::now();
        let mut slots = Vec::new();
        for _ in 0..5 {
            slots.push(limiter.reserve(t0).await - t0);
        }
        let ms = |n: u64| Duration::from_millis(n);
        assert_eq!(slots, vec![ms(0), ms(20), ms(40), ms(60), ms(80)]);
        let later = t0 + Duration::from_secs(10);
        assert_eq!(limiter.reserve(later).await, later);
        assert_eq!(unlimited.reserve(t0).await, t0);
        assert_eq!(unlimited.reserve(t0).await, t0);
    }
}
