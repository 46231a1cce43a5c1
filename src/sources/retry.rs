//! Whether and when to try again (Vector's split). *Whether*: [`http_status`] is the one
//! rule for every HTTP exchange of every client (API calls, the token call, downloads):
//! transport errors, 408, 429 and 5xx are worth another attempt, any other status is
//! final; each client adds only its own error codes on top. *When*: capped exponential
//! backoff with full jitter, bounded both in attempts and in total time.

use std::time::{Duration, Instant};

use serde::Deserialize;

/// What one failed exchange deserves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Another attempt may succeed (the server or the network was busy or broken).
    Retry,
    /// It will fail the same way again (our request or our credentials are wrong).
    Final,
}

/// The rule for an HTTP status that is not a success: 408 (request timeout), 429 (rate
/// limited) and every 5xx are retried; any other status is final. A transport error
/// (refused, reset, timed out) has no status and is always retried.
pub fn http_status(status: reqwest::StatusCode) -> Verdict {
    if status.is_server_error()
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
    {
        Verdict::Retry
    } else {
        Verdict::Final
    }
}

/// The extra wait a server's status asks for: a rate limit (429) is not retried at once.
pub fn status_pause(status: reqwest::StatusCode) -> Duration {
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        Duration::from_secs(2)
    } else {
        Duration::ZERO
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// First backoff, in milliseconds; doubles per attempt.
    pub base_ms: u64,
    /// Longest single wait, in milliseconds.
    pub max_ms: u64,
    /// No new attempt starts after this many seconds since the first.
    pub total_secs: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 6,
            base_ms: 500,
            max_ms: 30_000,
            total_secs: 300,
        }
    }
}

/// The attempts of one call.
pub struct Backoff {
    policy: RetryPolicy,
    attempt: u32,
    started: Instant,
    seed: u64,
}

impl Backoff {
    pub fn new(policy: RetryPolicy) -> Backoff {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
            | 1;
        Backoff {
            policy,
            attempt: 0,
            started: Instant::now(),
            seed,
        }
    }

    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Waits before the next attempt, logging `what` failed and why, and returns true; or
    /// returns false when attempts or time are used up.
    pub async fn pause(&mut self, what: &str, reason: &str, at_least: Duration) -> bool {
        match self.next_delay(at_least) {
            Some(delay) => {
                tracing::warn!(
                    "{what}: {reason}; retry {} in {:.1}s",
                    self.attempt,
                    delay.as_secs_f64()
                );
                tokio::time::sleep(delay).await;
                true
            }
            None => false,
        }
    }

    /// The wait before the next attempt, or `None` when attempts or time are used up.
    /// `at_least` raises the wait (a server's "try again in N s").
    pub fn next_delay(&mut self, at_least: Duration) -> Option<Duration> {
        self.attempt += 1;
        if self.attempt >= self.policy.attempts {
            return None;
        }
        let cap = self
            .policy
            .base_ms
            .saturating_mul(1 << (self.attempt - 1).min(20))
            .min(self.policy.max_ms);
        // Full jitter: uniform in [0, cap], so many clients don't retry in step.
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        let delay = Duration::from_millis(self.seed % (cap + 1)).max(at_least);
        if self.started.elapsed() + delay > Duration::from_secs(self.policy.total_secs) {
            return None;
        }
        Some(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(attempts: u32, base_ms: u64, max_ms: u64, total_secs: u64) -> RetryPolicy {
        RetryPolicy {
            attempts,
            base_ms,
            max_ms,
            total_secs,
        }
    }

    #[test]
    fn bounded_in_attempts_and_growth() {
        let policy = policy(4, 100, 250, 60);
        let mut b = Backoff::new(policy);
        let delays: Vec<Duration> = std::iter::from_fn(|| b.next_delay(Duration::ZERO)).collect();
        assert_eq!(delays.len(), 3);
        assert!(delays[0] <= Duration::from_millis(100));
        assert!(delays.iter().all(|d| *d <= Duration::from_millis(250)));
        let mut b = Backoff::new(policy);
        assert!(b.next_delay(Duration::from_millis(200)).unwrap() >= Duration::from_millis(200));
    }

    #[test]
    fn one_status_rule() {
        use reqwest::StatusCode as S;
        for status in [
            S::INTERNAL_SERVER_ERROR,
            S::BAD_GATEWAY,
            S::TOO_MANY_REQUESTS,
            S::REQUEST_TIMEOUT,
        ] {
            assert_eq!(http_status(status), Verdict::Retry, "{status}");
        }
        for status in [S::BAD_REQUEST, S::UNAUTHORIZED, S::FORBIDDEN, S::NOT_FOUND] {
            assert_eq!(http_status(status), Verdict::Final, "{status}");
        }
        assert_eq!(status_pause(S::TOO_MANY_REQUESTS), Duration::from_secs(2));
    }

    #[test]
    fn bounded_in_total_time() {
        let mut b = Backoff::new(policy(100, 10_000, 10_000, 1));
        assert!(b.next_delay(Duration::from_secs(2)).is_none());
    }
}
