//! Where data comes from: the WeChat media-service API, the Polyv API and the log files
//! they point to. What the clients share lives here: secrets that never print, URL
//! redaction, retry policy and a client-side rate limit (Vector's split of *whether* to
//! retry from *when*).

pub mod loopback;
pub mod polyv;
pub mod retry;
pub mod secret;
pub mod wechat;

use std::time::Duration;

/// The HTTP client of the API clients: connect and per-read timeouts only. API calls add
/// a total timeout per request; downloads do not, so a large log file may take minutes,
/// but a stalled connection still fails after `read_timeout`.
pub fn http_client(read_timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(read_timeout)
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
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
        let slot = {
            let mut next = self.next.lock().await;
            let slot = (*next).max(tokio::time::Instant::now());
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn spaces_requests() {
        let limiter = std::sync::Arc::new(RateLimiter::per_second(50.0));
        let start = tokio::time::Instant::now();
        let tasks: Vec<_> = (0..5)
            .map(|_| {
                let limiter = limiter.clone();
                tokio::spawn(async move { limiter.wait().await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        // 5 requests at 50/s, even from concurrent tasks: the last starts 80 ms or more
        // after the first.
        assert!(
            start.elapsed() >= Duration::from_millis(80),
            "{:?}",
            start.elapsed()
        );
    }
}
