//! The per-credential request rate: an adaptive token bucket per caller and API.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::model::ProviderKind;

/// The most requests per second each credential may send to one API, by cloud, unless
/// `[rate_limits]` says otherwise: the ceiling the adaptive rate rises to while calls succeed.
/// Tencent documents 20/s for its key APIs (ListAccessKeys, GetSecurityLastUsed; counted per
/// API, access region and sub-account); for the others no published figure is known to us.
pub const DEFAULT_RATE_LIMITS: [(ProviderKind, f64); 4] = [
    (ProviderKind::Aws, 100.0),
    (ProviderKind::Tencent, 20.0),
    (ProviderKind::Alibaba, 100.0),
    (ProviderKind::Huawei, 100.0),
];

/// The rate a credential starts each API at: the documented rate (Tencent), else a cautious
/// 10/s; never above the ceiling.
pub const START_RATES: [(ProviderKind, f64); 4] = [
    (ProviderKind::Aws, 10.0),
    (ProviderKind::Tencent, 20.0),
    (ProviderKind::Alibaba, 10.0),
    (ProviderKind::Huawei, 10.0),
];

/// APIs limited apart from the key APIs, with their published rate (requests a second): the
/// rate such an API starts at and never exceeds, even under a higher `[rate_limits]` ceiling.
/// Tencent: STS AssumeRole 600/s and GetCallerIdentity 20/s (API pages 1150/49456, 1150/49443),
/// DescribeOrganizationMembers 20/s (UNCONFIRMED: printed for the other organization APIs).
/// Alibaba: STS AssumeRole and GetCallerIdentity 100/s per account (STS quota page).
pub const API_RATES: [(ProviderKind, &str, f64); 5] = [
    (ProviderKind::Tencent, "AssumeRole", 600.0),
    (ProviderKind::Tencent, "GetCallerIdentity", 20.0),
    (ProviderKind::Tencent, "DescribeOrganizationMembers", 20.0),
    (ProviderKind::Alibaba, "AssumeRole", 100.0),
    (ProviderKind::Alibaba, "GetCallerIdentity", 100.0),
];

/// The (start, ceiling) rates of one caller's API: its published rate when [`API_RATES`] has
/// one, else the cloud's start rate; both under the cloud's ceiling.
pub fn rates_of(provider: ProviderKind, api: &str, ceiling: f64) -> (f64, f64) {
    let published = API_RATES
        .iter()
        .find(|(kind, name, _)| *kind == provider && *name == api)
        .map(|(_, _, rate)| *rate);
    let ceiling = published.map_or(ceiling, |rate| rate.min(ceiling));
    let start = published
        .or_else(|| {
            START_RATES
                .iter()
                .find(|(kind, _)| *kind == provider)
                .map(|(_, rate)| *rate)
        })
        .map_or(ceiling, |rate| rate.min(ceiling));
    (start, ceiling)
}

/// A token bucket whose rate adapts, after the AWS SDKs' "adaptive" retry mode: it starts at
/// the documented or cautious rate, rises while the cloud answers — quickly until it first
/// throttles us, slowly after — and drops to 70 % on a throttling answer, never above the
/// ceiling. So a scan runs near the cloud's real limit without a storm of throttled calls.
pub struct RateLimiter {
    pub(super) ceiling: f64,
    state: Mutex<Bucket>,
}

struct Bucket {
    rate: f64,
    /// Tokens on hand; a bucket holds one second's worth (at least one).
    tokens: f64,
    last: Instant,
    /// When the rate was last cut: answers to calls sent before then say nothing new.
    cut_at: Option<Instant>,
}

/// The rate never falls below this (requests a second).
const MIN_RATE: f64 = 0.5;
/// What each answered call adds to the rate before the first throttling, and after.
const RISE_FAST: f64 = 0.2;
const RISE_SLOW: f64 = 0.02;
/// What a throttling answer leaves of the rate.
const CUT: f64 = 0.7;

impl Bucket {
    fn refill(&mut self, now: Instant) {
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate.max(1.0));
        self.last = now;
    }

    fn wait(&self) -> Duration {
        Duration::from_secs_f64(((1.0 - self.tokens) / self.rate).max(0.0))
    }
}

impl RateLimiter {
    pub(super) fn new(start: f64, ceiling: f64) -> Self {
        let rate = start.clamp(MIN_RATE, ceiling.max(MIN_RATE));
        RateLimiter {
            ceiling: ceiling.max(MIN_RATE),
            state: Mutex::new(Bucket {
                rate,
                tokens: rate.max(1.0),
                last: Instant::now(),
                cut_at: None,
            }),
        }
    }

    fn bucket(&self) -> std::sync::MutexGuard<'_, Bucket> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Requests a second it allows now.
    #[cfg(test)]
    pub(super) fn rate(&self) -> f64 {
        self.bucket().rate
    }

    /// Takes a token, or tells how long until one is free.
    pub(super) fn try_take(&self) -> std::result::Result<(), Duration> {
        let mut bucket = self.bucket();
        bucket.refill(Instant::now());
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(bucket.wait())
        }
    }

    /// How long until a token is free (zero: one is), taking none.
    pub(super) fn wait_time(&self) -> Duration {
        let mut bucket = self.bucket();
        bucket.refill(Instant::now());
        if bucket.tokens >= 1.0 {
            Duration::ZERO
        } else {
            bucket.wait()
        }
    }

    /// The cloud answered without throttling: rise a step.
    pub(super) fn answered(&self) {
        let mut bucket = self.bucket();
        bucket.refill(Instant::now());
        let step = if bucket.cut_at.is_some() {
            RISE_SLOW
        } else {
            RISE_FAST
        };
        bucket.rate = (bucket.rate + step).min(self.ceiling);
    }

    /// The cloud throttled a call: cut the rate, once for the calls in flight together (those
    /// answered within a second of the last cut, which were sent at the old rate).
    pub(super) fn throttled(&self) {
        let now = Instant::now();
        let mut bucket = self.bucket();
        if bucket
            .cut_at
            .is_some_and(|at| now.duration_since(at) < Duration::from_secs(1))
        {
            return;
        }
        bucket.refill(now);
        bucket.rate = (bucket.rate * CUT).max(MIN_RATE);
        bucket.tokens = bucket.tokens.min(0.0);
        bucket.cut_at = Some(now);
    }

    #[cfg(test)]
    async fn acquire(&self) {
        while let Err(wait) = self.try_take() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_published_api_rate_is_start_and_cap_under_the_clouds_ceiling() {
        // Alibaba's STS: 100/s published, so no cautious 10/s start.
        assert_eq!(
            rates_of(ProviderKind::Alibaba, "AssumeRole", 100.0),
            (100.0, 100.0)
        );
        assert_eq!(
            rates_of(ProviderKind::Alibaba, "ListUsers", 100.0),
            (10.0, 100.0)
        );
        // A higher configured ceiling never lifts an API over its published rate.
        assert_eq!(
            rates_of(ProviderKind::Tencent, "AssumeRole", 1000.0),
            (600.0, 600.0)
        );
        assert_eq!(
            rates_of(ProviderKind::Tencent, "AssumeRole", 20.0),
            (20.0, 20.0)
        );
        assert_eq!(
            rates_of(ProviderKind::Aws, "AssumeRole", 100.0),
            (10.0, 100.0)
        );
    }
    use super::*;

    #[tokio::test]
    async fn rate_limiter_spaces_requests() {
        let limiter = RateLimiter::new(20.0, 20.0);
        let started = Instant::now();
        for _ in 0..30 {
            limiter.acquire().await;
        }
        // 20 burst, then 10 more at 20/s: about half a second at least.
        assert!(started.elapsed() >= Duration::from_millis(400));
    }

    #[test]
    fn the_rate_rises_while_answered_and_drops_on_throttling() {
        let limiter = RateLimiter::new(10.0, 50.0);
        for _ in 0..100 {
            limiter.answered();
        }
        // Quick before the first throttling: 10 + 100 x 0.2.
        assert!((limiter.rate() - 30.0).abs() < 1e-6, "{}", limiter.rate());
        for _ in 0..1000 {
            limiter.answered();
        }
        assert_eq!(limiter.rate(), 50.0, "never above the ceiling");
        limiter.throttled();
        assert!((limiter.rate() - 35.0).abs() < 1e-6);
        // Throttling answers to calls sent together cut once.
        limiter.throttled();
        limiter.throttled();
        assert!((limiter.rate() - 35.0).abs() < 1e-6);
        assert!(limiter.try_take().is_err(), "no burst right after a cut");
        // Slow after a cut: 100 answers add 2.
        for _ in 0..100 {
            limiter.answered();
        }
        assert!((limiter.rate() - 37.0).abs() < 1e-6, "{}", limiter.rate());
        let floor = RateLimiter::new(0.6, 0.6);
        floor.throttled();
        assert_eq!(floor.rate(), MIN_RATE);
    }
}
