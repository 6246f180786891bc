//! When to try again: exponential backoff with jitter, and the server's Retry-After when it
//! gives one (a rate limiter knows better than our guess).

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// Retry settings of one endpoint.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Delay before the first retry; doubles each time.
    pub base_delay: Duration,
    /// Longest backoff delay.
    pub max_delay: Duration,
    /// Longest wait we accept from a Retry-After header (a server asking for an hour is treated
    /// as asking for this long, so a trial never hangs silently).
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// Delay before retry number `retry` (0-based): the server's Retry-After when given, else
    /// `base * 2^retry` capped at `max_delay`, with "equal jitter" (half fixed, half random) so
    /// that many workers hitting the same limit do not come back in lockstep.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.max_retry_after);
        }
        let exp = self
            .base_delay
            .saturating_mul(1u32.checked_shl(retry.min(20)).unwrap_or(u32::MAX))
            .min(self.max_delay);
        let half = exp / 2;
        half + half.mul_f64(unit_random())
    }
}

/// A random number in [0, 1) from std's per-process random hasher keys: good enough for jitter,
/// and no RNG dependency.
fn unit_random() -> f64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Reads `Retry-After` (seconds; HTTP dates are not worth a date parser here and fall back to
/// backoff) or OpenAI's `retry-after-ms`.
pub fn parse_retry_after(
    retry_after: Option<&str>,
    retry_after_ms: Option<&str>,
) -> Option<Duration> {
    if let Some(ms) = retry_after_ms.and_then(|v| v.trim().parse::<f64>().ok()) {
        if ms.is_finite() && ms >= 0.0 {
            return Some(Duration::from_secs_f64(ms / 1000.0));
        }
    }
    let secs = retry_after?.trim().parse::<f64>().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_jitters() {
        let p = RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            max_retry_after: Duration::from_secs(5),
        };
        for retry in 0..8 {
            let d = p.delay(retry, None);
            let full = (100u64 << retry).min(1000);
            assert!(d >= Duration::from_millis(full / 2), "{retry}: {d:?}");
            assert!(d <= Duration::from_millis(full), "{retry}: {d:?}");
        }
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(3600))),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(
            parse_retry_after(Some("3"), None),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            parse_retry_after(Some("0.5"), None),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            parse_retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT"), None),
            None
        );
        assert_eq!(
            parse_retry_after(Some("9"), Some("250")),
            Some(Duration::from_millis(250))
        );
        assert_eq!(parse_retry_after(None, None), None);
    }
}
