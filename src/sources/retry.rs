//! When to try again: capped exponential backoff with full jitter, bounded both in
//! attempts and in total time. *Whether* to retry is each client's call (it knows its
//! error codes); this only spaces the attempts.

use std::time::{Duration, Instant};

use serde::Deserialize;

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

    #[test]
    fn bounded_in_attempts_and_growth() {
        let policy = RetryPolicy {
            attempts: 4,
            base_ms: 100,
            max_ms: 250,
            total_secs: 60,
        };
        let mut b = Backoff::new(policy);
        let delays: Vec<Duration> = std::iter::from_fn(|| b.next_delay(Duration::ZERO)).collect();
        assert_eq!(delays.len(), 3);
        assert!(delays[0] <= Duration::from_millis(100));
        assert!(delays.iter().all(|d| *d <= Duration::from_millis(250)));
        let mut b = Backoff::new(policy);
        assert!(b.next_delay(Duration::from_millis(200)).unwrap() >= Duration::from_millis(200));
    }

    #[test]
    fn bounded_in_total_time() {
        let policy = RetryPolicy {
            attempts: 100,
            base_ms: 10_000,
            max_ms: 10_000,
            total_secs: 1,
        };
        let mut b = Backoff::new(policy);
        assert!(b.next_delay(Duration::from_secs(2)).is_none());
    }
}
