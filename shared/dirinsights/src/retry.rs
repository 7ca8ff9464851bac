//! The pure half of retrying: which answers are worth another attempt, how long to wait, and
//! what `Retry-After` means. The loop that sleeps and sends lives in [`crate::client`].

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};

use crate::config::RetryPolicy;

/// Whether an HTTP status is worth retrying: rate limiting and server-side failures.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// The wait before retry number `retry` (1 for the first retry), with full jitter: `jitter` in
/// `[0, 1)` picks a point between zero and the capped exponential delay.
pub(crate) fn backoff_delay(policy: &RetryPolicy, retry: u32, jitter: f64) -> Duration {
    let exponent = retry.saturating_sub(1).min(31);
    let ceiling = policy
        .base_delay
        .checked_mul(1u32 << exponent)
        .unwrap_or(policy.max_delay)
        .min(policy.max_delay);
    ceiling.mul_f64(jitter.clamp(0.0, 1.0))
}

/// Reads a `Retry-After` value: either delay seconds (`120`) or an HTTP date
/// (`Wed, 21 Oct 2015 07:28:00 GMT`), which is turned into the time left from `now` (zero if
/// it has passed). `None` for anything else, so a garbled header falls back to backoff.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    // Some servers send fractional seconds; accept them rather than ignore the hint.
    if let Ok(seconds) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).ok();
    }

    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    let now: DateTime<Utc> = now.into();
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// A random number in `[0, 1)` for [`backoff_delay`].
pub(crate) fn jitter() -> f64 {
    use rand::RngExt;
    rand::rng().random::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            max_total: Duration::from_secs(60),
        }
    }

    #[test]
    fn full_jitter_at_the_top_reaches_the_doubling_ceiling() {
        let ceilings: Vec<_> = (1..=6)
            .map(|retry| backoff_delay(&policy(), retry, 1.0))
            .collect();

        assert_eq!(
            ceilings,
            [100, 200, 400, 800, 1600, 2000].map(Duration::from_millis)
        );
    }

    #[test]
    fn full_jitter_scales_the_ceiling_down_to_zero() {
        assert_eq!(backoff_delay(&policy(), 3, 0.0), Duration::ZERO);
        assert_eq!(backoff_delay(&policy(), 3, 0.5), Duration::from_millis(200));
    }

    #[test]
    fn very_late_retries_stay_at_the_cap_without_overflowing() {
        let delay = backoff_delay(&policy(), u32::MAX, 1.0);

        assert_eq!(delay, Duration::from_secs(2));
    }

    #[test]
    fn retry_after_in_seconds_is_read_as_seconds() {
        let now = SystemTime::now();

        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("0.25", now),
            Some(Duration::from_millis(250))
        );
    }

    #[test]
    fn retry_after_as_an_http_date_is_the_time_left_until_then() {
        let now: SystemTime = DateTime::parse_from_rfc3339("2015-10-21T07:27:30Z")
            .unwrap()
            .with_timezone(&Utc)
            .into();

        let wait = parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now);

        assert_eq!(wait, Some(Duration::from_secs(30)));
    }

    #[test]
    fn retry_after_in_the_past_means_no_wait() {
        let now = SystemTime::now();

        let wait = parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now);

        assert_eq!(wait, Some(Duration::ZERO));
    }

    #[test]
    fn garbled_retry_after_is_ignored() {
        let now = SystemTime::now();

        for value in ["soon", "-5", "", "NaN", "1e300", "Wed, 99 Oct 2015"] {
            assert_eq!(parse_retry_after(value, now), None, "{value:?}");
        }
    }

    #[test]
    fn rate_limits_and_server_errors_are_retryable_and_client_errors_are_not() {
        for status in [429, 500, 502, 503, 504] {
            assert!(is_retryable_status(status), "{status}");
        }
        for status in [200, 400, 401, 402, 403, 404, 422] {
            assert!(!is_retryable_status(status), "{status}");
        }
    }
}
