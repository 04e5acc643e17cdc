//! What is retried and how long to wait: the settings, full-jitter backoff, `Retry-After`.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;

use super::proxy::Proxies;
use super::rate::DEFAULT_RATE_LIMITS;
use crate::model::ProviderKind;

/// Retry and timeout settings, from the global flags.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub timeout: Duration,
    pub retries: u32,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// The most requests per second each credential of a provider may send to one API (0 or
    /// absent = unlimited); the adaptive rate starts below it (see [`START_RATES`]).
    pub rate_limits: HashMap<ProviderKind, f64>,
    /// Most requests in flight at once over the whole client (`--concurrency`; 0 = no bound).
    pub max_in_flight: usize,
    /// Proxies to use; none unless read from the environment with [`Proxies::from_env`].
    pub proxies: Proxies,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            timeout: Duration::from_secs(30),
            retries: 4,
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            rate_limits: DEFAULT_RATE_LIMITS.into_iter().collect(),
            max_in_flight: 0,
            proxies: Proxies::default(),
        }
    }
}

impl HttpSettings {
    /// Full jitter: a random delay between 0 and min(max, base·2^attempt).
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base_backoff
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max_backoff);
        let millis = ceiling.as_millis() as u64;
        Duration::from_millis(rand::thread_rng().gen_range(0..=millis))
    }
}

/// The most a server's clock may differ from ours for its `Date` to be trusted.
pub const MAX_CLOCK_OFFSET: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// A `Retry-After` value: delay seconds, or an HTTP date (RFC 7231 IMF-fixdate, e.g.
/// `Sun, 06 Nov 1994 08:49:37 GMT`) from which the delay is counted; a past date is no wait.
pub(super) fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let client = HttpSettings::default();
        for attempt in 0..20 {
            assert!(client.backoff(attempt) <= Duration::from_secs(10));
        }
        assert!(client.backoff(1) <= Duration::from_millis(400));
    }

    #[test]
    fn backoff_is_full_jitter() {
        // sleep = random(0, min(cap, base·2^n)): short waits happen too, not only the top
        // three quarters, and the spread covers the whole range.
        let client = HttpSettings::default();
        let delays: Vec<Duration> = (0..2000).map(|_| client.backoff(3)).collect();
        let ceiling = Duration::from_millis(1600);
        assert!(delays.iter().all(|d| *d <= ceiling));
        assert!(delays.iter().any(|d| *d < ceiling / 8), "no short delay");
        assert!(delays.iter().any(|d| *d > ceiling * 7 / 8), "no long delay");
        let capped: Vec<Duration> = (0..2000).map(|_| client.backoff(30)).collect();
        assert!(capped.iter().all(|d| *d <= Duration::from_secs(10)));
        assert!(capped.iter().any(|d| *d < Duration::from_secs(1)));
    }

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        let now = DateTime::parse_from_rfc3339("1994-11-06T08:49:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(37))
        );
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:48:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-5", now), None);
    }
}
