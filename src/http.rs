//! One HTTP client for every cloud: timeouts, retries with exponential backoff and full
//! jitter, clock-skew correction, one bound on the calls in flight across every profile, and
//! a per-provider request-rate limit applied to each calling credential. Providers only
//! build requests and classify answers; what is retried is decided here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use rand::Rng;
use reqwest::header::HeaderMap;
use reqwest::Method;
use url::Url;

use crate::error::{Error, ErrorKind, Result};
use crate::model::ProviderKind;

/// A request ready to send, signed.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The most of an answer's body read: the key APIs answer in kilobytes, and a server that
/// sends more (a hostile endpoint, a misrouted download) must not exhaust memory.
pub const MAX_BODY: usize = 8 << 20;

/// A whole response; bodies of key APIs are small.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// How a failed answer may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// A definite refusal: retrying cannot help.
    Never,
    /// The cloud rate-limited us and did nothing: safe to retry any call.
    Throttled,
    /// A server fault: the call may have taken effect, so only idempotent calls retry.
    Server,
    /// The cloud refused our timestamp: correct the clock from its `Date` header, retry once.
    ClockSkew,
}

/// A failed answer as a provider classifies it.
#[derive(Debug)]
pub struct Failure {
    pub error: Error,
    pub retry: Retry,
}

impl Failure {
    pub fn new(error: Error, retry: Retry) -> Self {
        Failure { error, retry }
    }
}

/// Whether a call may be repeated without changing the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    Idempotent,
    /// Creating a key: never repeated once it may have reached the cloud.
    NotIdempotent,
}

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

/// Whose request budget a call spends. The clouds count request rates per calling identity
/// and API (Tencent: per API, access region and sub-account; Alibaba and Huawei: per API and
/// user), so each credential gets its own bucket for each API family; a bare [`ProviderKind`]
/// shares one bucket for the whole provider.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Caller {
    pub provider: ProviderKind,
    /// The access key id signing the call (never the secret).
    pub access_key_id: String,
    /// The API family (the providers pass the action's name); empty for "all".
    pub family: String,
}

impl From<ProviderKind> for Caller {
    fn from(provider: ProviderKind) -> Self {
        Caller {
            provider,
            access_key_id: String::new(),
            family: String::new(),
        }
    }
}

impl From<(ProviderKind, &str)> for Caller {
    fn from((provider, access_key_id): (ProviderKind, &str)) -> Self {
        (provider, access_key_id, "").into()
    }
}

impl From<(ProviderKind, &str, &str)> for Caller {
    fn from((provider, access_key_id, family): (ProviderKind, &str, &str)) -> Self {
        Caller {
            provider,
            access_key_id: access_key_id.to_string(),
            family: family.to_string(),
        }
    }
}

/// Proxies as most HTTP clients read them from the environment: `HTTPS_PROXY` for
/// https endpoints (every real cloud), `HTTP_PROXY` for http ones (a local sandbox or moto),
/// `ALL_PROXY` for both when the other is unset, lower-case names too, and `NO_PROXY` (a comma
/// list of hosts, domain suffixes, IPs, CIDR ranges, or `*`) for the hosts reached directly.
/// Loopback (127.0.0.0/8, ::1, localhost) is never proxied, as Go's net/http does: a new
/// secret from a local endpoint would cross the proxy in clear. Under CGI
/// (`REQUEST_METHOD` set) `HTTP_PROXY` is ignored, since a client's `Proxy:` header arrives
/// under that name.
///
/// They come from the [`Environment`](crate::config::Environment) cloudkeys was given, not the
/// process's own variables: `demo` and tests that build an empty one use no proxy.
#[derive(Clone, Default)]
pub struct Proxies {
    http: Option<String>,
    https: Option<String>,
    no: String,
}

impl Proxies {
    pub fn from_env(env: &crate::config::Environment) -> Self {
        let first = |names: &[&str]| names.iter().find_map(|n| env.var(n)).map(str::to_string);
        let all = first(&["ALL_PROXY", "all_proxy"]);
        let cgi = env.var("REQUEST_METHOD").is_some();
        let http = if cgi {
            first(&["http_proxy"])
        } else {
            first(&["HTTP_PROXY", "http_proxy"])
        };
        let no = first(&["NO_PROXY", "no_proxy"]).unwrap_or_default();
        // `*` means no proxy for any host; the matcher alone would still proxy IP addresses.
        if no.split(',').any(|entry| entry.trim() == "*") {
            return Proxies::default();
        }
        Proxies {
            http: http.or_else(|| all.clone()),
            https: first(&["HTTPS_PROXY", "https_proxy"]).or(all),
            no,
        }
    }

    fn matcher(&self) -> hyper_util::client::proxy::matcher::Matcher {
        let mut builder = hyper_util::client::proxy::matcher::Matcher::builder();
        if let Some(http) = &self.http {
            builder = builder.http(http.as_str());
        }
        if let Some(https) = &self.https {
            builder = builder.https(https.as_str());
        }
        builder.no(self.bypassed().as_str()).build()
    }

    /// `NO_PROXY` plus loopback, which no proxy may see.
    fn bypassed(&self) -> String {
        format!("{},{LOOPBACK}", self.no)
    }

    /// Adds the proxies to a client builder, with the same matching rules as [`Self::matcher`].
    fn apply(&self, mut builder: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder> {
        // Never reqwest's own reading of the process environment.
        builder = builder.no_proxy();
        let no = reqwest::NoProxy::from_string(&self.bypassed());
        for (name, url) in [("HTTP_PROXY", &self.http), ("HTTPS_PROXY", &self.https)] {
            let Some(url) = url else { continue };
            let scheme = url
                .split_once("://")
                .map(|(scheme, _)| scheme.to_ascii_lowercase());
            if !matches!(scheme.as_deref(), None | Some("http" | "https")) {
                return Err(Error::config(format!(
                    "{name} (or ALL_PROXY): only http:// and https:// proxies are supported"
                )));
            }
            let proxy = if name == "HTTP_PROXY" {
                reqwest::Proxy::http(url.as_str())
            } else {
                reqwest::Proxy::https(url.as_str())
            };
            // The value may hold a password: the message names the variable only.
            let proxy = proxy.map_err(|_| {
                Error::config(format!(
                    "{name} (or ALL_PROXY) is not a usable proxy URL: expected http://HOST:PORT"
                ))
            })?;
            builder = builder.proxy(proxy.no_proxy(no.clone()));
        }
        Ok(builder)
    }

    /// The proxy a request to `url` goes through, as `scheme://host:port` (no credentials).
    pub fn proxy_for(&self, url: &Url) -> Option<String> {
        if self.http.is_none() && self.https.is_none() {
            return None;
        }
        let uri = url.as_str().parse::<http::Uri>().ok()?;
        let intercept = self.matcher().intercept(&uri)?;
        let proxy = intercept.uri();
        Some(format!(
            "{}://{}",
            proxy.scheme_str().unwrap_or("http"),
            proxy.authority().map(|a| a.as_str()).unwrap_or_default()
        ))
    }
}

/// Never through a proxy, whatever `NO_PROXY` says.
const LOOPBACK: &str = "127.0.0.0/8,::1,localhost";

impl std::fmt::Debug for Proxies {
    /// Proxy URLs may hold a password: only their hosts are shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = |url: &Option<String>| {
            url.as_ref().map(|u| {
                let without_scheme = u.split_once("://").map_or(u.as_str(), |(_, rest)| rest);
                without_scheme
                    .rsplit_once('@')
                    .map_or(without_scheme, |(_, host)| host)
                    .trim_end_matches('/')
                    .to_string()
            })
        };
        f.debug_struct("Proxies")
            .field("http", &host(&self.http))
            .field("https", &host(&self.https))
            .field("no", &self.no)
            .finish()
    }
}

/// The shared client. Cheap to share behind an `Arc`; connections are pooled.
pub struct HttpClient {
    client: reqwest::Client,
    settings: HttpSettings,
    /// Milliseconds to add to our clock when signing for a host (`host:port`), learnt from
    /// that host when it refused our timestamp. Per host: one endpoint's clock (a hostile one's)
    /// must not move the signatures sent to the others.
    clock_offsets: Mutex<HashMap<String, i64>>,
    /// One token bucket per calling credential, made on first use.
    limiters: Mutex<HashMap<Caller, Arc<RateLimiter>>>,
    /// The global bound on calls in flight.
    in_flight: Option<tokio::sync::Semaphore>,
}

impl HttpClient {
    pub fn new(settings: HttpSettings) -> Result<Self> {
        let builder = reqwest::Client::builder()
            // A redirect would carry the signed headers (and a session token) to wherever it
            // points; the key APIs never redirect, so a 3xx is answered with an error instead.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("cloudkeys/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(64);
        let client = settings
            .proxies
            .apply(builder)?
            .build()
            .map_err(|err| Error::config(format!("cannot set up the HTTP client: {err}")))?;
        let in_flight = (settings.max_in_flight > 0)
            .then(|| tokio::sync::Semaphore::new(settings.max_in_flight));
        Ok(HttpClient {
            client,
            settings,
            clock_offsets: Mutex::new(HashMap::new()),
            limiters: Mutex::new(HashMap::new()),
            in_flight,
        })
    }

    /// The token bucket of a caller, if its provider is rate-limited.
    fn limiter(&self, caller: &Caller) -> Option<Arc<RateLimiter>> {
        let ceiling = self
            .settings
            .rate_limits
            .get(&caller.provider)
            .copied()
            .filter(|rate| *rate > 0.0)?;
        let start = START_RATES
            .iter()
            .find(|(kind, _)| *kind == caller.provider)
            .map_or(ceiling, |(_, rate)| rate.min(ceiling));
        let mut limiters = self.limiters.lock().unwrap_or_else(|e| e.into_inner());
        Some(
            limiters
                .entry(caller.clone())
                .or_insert_with(|| Arc::new(RateLimiter::new(start, ceiling)))
                .clone(),
        )
    }

    /// Waits until the caller may send: a rate token is free and a slot in flight is held.
    /// The slot is taken only when a token is at hand, so a caller waiting out its rate
    /// never holds a slot other profiles could use.
    async fn admit(
        &self,
        limiter: Option<&Arc<RateLimiter>>,
    ) -> Option<tokio::sync::SemaphorePermit<'_>> {
        loop {
            if let Some(limiter) = limiter {
                let wait = limiter.wait_time();
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            let permit = match &self.in_flight {
                // The semaphore is never closed, so acquiring only fails if it were.
                Some(semaphore) => semaphore.acquire().await.ok(),
                None => None,
            };
            match limiter.map(|l| l.try_take()) {
                None | Some(Ok(())) => return permit,
                Some(Err(wait)) => {
                    drop(permit);
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// The time to sign requests to `host` (`host:port`) with: our clock, corrected by the
    /// skew that host told us about, if any.
    pub fn now_for(&self, host: &str) -> DateTime<Utc> {
        let offsets = self.clock_offsets.lock().unwrap_or_else(|e| e.into_inner());
        Utc::now() + chrono::Duration::milliseconds(offsets.get(host).copied().unwrap_or(0))
    }

    /// Sends a request built (and signed) afresh for every attempt, and classifies the answer.
    /// `build` gets the signing time; `classify` turns a response into a value or a failure.
    /// `caller` is the provider, or (provider, signing key id) to rate-limit per credential.
    pub async fn execute<T>(
        &self,
        caller: impl Into<Caller>,
        idempotency: Idempotency,
        mut build: impl FnMut(DateTime<Utc>) -> Result<Request>,
        classify: impl Fn(Response) -> std::result::Result<T, Failure>,
    ) -> Result<T> {
        let caller = caller.into();
        let provider = caller.provider;
        let limiter = self.limiter(&caller);
        let attempts = self.settings.retries + 1;
        let mut skew_corrected = false;
        let mut attempt = 0;
        // The host is known once the first request is built; its clock offset then applies.
        let mut host: Option<String> = None;
        loop {
            attempt += 1;
            // Held while the call is in flight, released before any backoff sleep.
            let permit = self.admit(limiter.as_ref()).await;
            // Signed only once admitted, so a long wait can't age the signature.
            let mut request = build(host.as_deref().map_or_else(Utc::now, |h| self.now_for(h)))?;
            if host.is_none() {
                let this = authority(&request.url);
                if self
                    .clock_offsets
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .contains_key(&this)
                {
                    request = build(self.now_for(&this))?;
                }
                host = Some(this);
            }
            let proxy = self.settings.proxies.proxy_for(&request.url);
            let mut action = describe(&request);
            if let Some(proxy) = &proxy {
                action = format!("{action} via proxy {proxy}");
            }
            tracing::debug!(%provider, attempt, "{action}");
            let started = Instant::now();
            let sent = self.send(request).await;
            drop(permit);
            let last = attempt >= attempts;
            let (error, retry_after) = match sent {
                Ok(response) => {
                    tracing::debug!(
                        %provider,
                        status = response.status,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "{action} answered"
                    );
                    if (300..400).contains(&response.status) {
                        return Err(redirected(&response));
                    }
                    let date = response.header("date").map(str::to_string);
                    let retry_after = response
                        .header("retry-after")
                        .and_then(|v| retry_after(v, Utc::now()));
                    let answer = classify(response);
                    if let Some(limiter) = &limiter {
                        match &answer {
                            Err(failure) if failure.retry == Retry::Throttled => {
                                limiter.throttled()
                            }
                            _ => limiter.answered(),
                        }
                    }
                    match answer {
                        Ok(value) => return Ok(value),
                        Err(failure) => match failure.retry {
                            Retry::Never => return Err(failure.error),
                            Retry::ClockSkew => {
                                if skew_corrected {
                                    return Err(failure.error);
                                }
                                let host = host.as_deref().unwrap_or_default();
                                if let Err(why) = self.correct_clock(host, date.as_deref()) {
                                    let mut error = failure.error;
                                    if let Some(why) = why {
                                        error.message = format!("{}; {why}", error.message);
                                    }
                                    return Err(error);
                                }
                                skew_corrected = true;
                                tracing::info!(%provider, "clock skew corrected from the server's Date header; retrying");
                                // The correcting retry does not count against the budget.
                                attempt -= 1;
                                continue;
                            }
                            Retry::Server if idempotency == Idempotency::NotIdempotent => {
                                return Err(failure.error)
                            }
                            Retry::Server | Retry::Throttled => (failure.error, retry_after),
                        },
                    }
                }
                Err(SendError { mut error, connect }) => {
                    if let Some(proxy) = &proxy {
                        error.message = format!("{} (through the proxy at {proxy})", error.message);
                    }
                    // A connection that never opened sent nothing: safe to retry anything.
                    if !connect && idempotency == Idempotency::NotIdempotent {
                        return Err(error);
                    }
                    (error, None)
                }
            };
            if last {
                let mut error = error;
                if attempts > 1 {
                    error.message = format!("{} (after {attempts} attempts)", error.message);
                }
                return Err(error);
            }
            let delay = retry_after
                .map(|d| d.min(self.settings.max_backoff))
                .unwrap_or_else(|| self.backoff(attempt));
            tracing::info!(%provider, attempt, delay_ms = delay.as_millis() as u64, "retrying: {}", error);
            tokio::time::sleep(delay).await;
        }
    }

    async fn send(&self, request: Request) -> std::result::Result<Response, SendError> {
        let mut builder = self
            .client
            .request(request.method, request.url)
            .body(request.body);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let mut response = builder.send().await.map_err(SendError::from)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let too_large = || SendError {
            error: Error::bad_response(format!(
                "the answer is larger than {} MiB; refused unread",
                MAX_BODY >> 20
            )),
            connect: false,
        };
        if response.content_length().unwrap_or(0) > MAX_BODY as u64 {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(SendError::from)? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            headers,
            body: Bytes::from(body),
        })
    }

    /// Full jitter: a random delay between 0 and min(max, base·2^attempt).
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .settings
            .base_backoff
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.settings.max_backoff);
        let millis = ceiling.as_millis() as u64;
        Duration::from_millis(rand::thread_rng().gen_range(0..=millis))
    }

    /// Learns `host`'s clock from its `Date` header. Refused (with the reason) beyond
    /// [`MAX_CLOCK_OFFSET`]: no real clock is a day off, and a hostile endpoint must not be able
    /// to make us sign with a time of its choosing.
    fn correct_clock(
        &self,
        host: &str,
        date: Option<&str>,
    ) -> std::result::Result<(), Option<String>> {
        let Some(server) = date.and_then(|d| DateTime::parse_from_rfc2822(d).ok()) else {
            return Err(None);
        };
        let offset = server.with_timezone(&Utc) - Utc::now();
        if offset.abs() > MAX_CLOCK_OFFSET {
            return Err(Some(format!(
                "the server's clock is {} hours off ours, more than the {} hours cloudkeys \
                 corrects for: check the endpoint and this machine's clock",
                offset.num_hours(),
                MAX_CLOCK_OFFSET.num_hours()
            )));
        }
        self.clock_offsets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(host.to_string(), offset.num_milliseconds());
        Ok(())
    }
}

/// The most a server's clock may differ from ours for its `Date` to be trusted.
pub const MAX_CLOCK_OFFSET: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// `host:port` of a URL: the key of the clock offsets.
fn authority(url: &Url) -> String {
    url.authority().to_string()
}

/// A 3xx: never followed (it would carry the signed headers elsewhere), reported plainly.
fn redirected(response: &Response) -> Error {
    let target = response
        .header("location")
        .and_then(|l| Url::parse(l).ok())
        .map(|u| format!(" to {}://{}", u.scheme(), u.authority()))
        .unwrap_or_default();
    Error::bad_response(format!(
        "the endpoint answered with a redirect (HTTP {}{target}); cloudkeys does not follow \
         redirects, which would carry the signed request elsewhere: check the endpoint URL",
        response.status
    ))
}

/// A `Retry-After` value: delay seconds, or an HTTP date (RFC 7231 IMF-fixdate, e.g.
/// `Sun, 06 Nov 1994 08:49:37 GMT`) from which the delay is counted; a past date is no wait.
fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

struct SendError {
    error: Error,
    connect: bool,
}

impl From<reqwest::Error> for SendError {
    fn from(err: reqwest::Error) -> Self {
        let kind = if err.is_timeout() {
            ErrorKind::Timeout
        } else {
            ErrorKind::Network
        };
        let what = if err.is_timeout() {
            "timed out"
        } else if err.is_connect() {
            "cannot connect"
        } else {
            "connection failed"
        };
        let url = err
            .url()
            .map(|u| format!("{}://{}", u.scheme(), u.authority()))
            .unwrap_or_default();
        // The source chain says why (refused, reset, DNS); no secret is ever in it.
        let mut reason = String::new();
        let mut source = std::error::Error::source(&err);
        while let Some(inner) = source {
            reason = inner.to_string();
            source = inner.source();
        }
        let message = if reason.is_empty() {
            format!("{what}: {url}")
        } else {
            format!("{what}: {url}: {reason}")
        };
        SendError {
            connect: err.is_connect(),
            error: Error::new(kind, message),
        }
    }
}

/// `POST iam.amazonaws.com/ Action=ListUsers`: what a debug line may show (never headers or bodies,
/// which carry tokens and secrets).
fn describe(request: &Request) -> String {
    format!(
        "{} {}{}",
        request.method,
        request.url.authority(),
        request.url.path()
    )
}

/// A token bucket whose rate adapts, after the AWS SDKs' "adaptive" retry mode: it starts at
/// the documented or cautious rate, rises while the cloud answers — quickly until it first
/// throttles us, slowly after — and drops to 70 % on a throttling answer, never above the
/// ceiling. So a scan runs near the cloud's real limit without a storm of throttled calls.
struct RateLimiter {
    ceiling: f64,
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
    fn new(start: f64, ceiling: f64) -> Self {
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
    fn rate(&self) -> f64 {
        self.bucket().rate
    }

    /// Takes a token, or tells how long until one is free.
    fn try_take(&self) -> std::result::Result<(), Duration> {
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
    fn wait_time(&self) -> Duration {
        let mut bucket = self.bucket();
        bucket.refill(Instant::now());
        if bucket.tokens >= 1.0 {
            Duration::ZERO
        } else {
            bucket.wait()
        }
    }

    /// The cloud answered without throttling: rise a step.
    fn answered(&self) {
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
    fn throttled(&self) {
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

/// `http://` is allowed only to loopback, unless the operator insists.
pub fn check_endpoint(endpoint: &Url, allow_insecure_http: bool) -> Result<()> {
    match endpoint.scheme() {
        "https" => Ok(()),
        "http" if allow_insecure_http || is_loopback(endpoint) => Ok(()),
        "http" => Err(Error::usage(format!(
            "refusing plain http to {}: use https, or --allow-insecure-http",
            endpoint.authority()
        ))),
        other => Err(Error::usage(format!(
            "endpoint {endpoint}: unsupported scheme {other}"
        ))),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The `Host` header value for a URL: the port kept when it is not the default.
pub fn host_header(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    #[test]
    fn plain_http_only_to_loopback() {
        let ok = |s: &str| check_endpoint(&Url::parse(s).unwrap(), false).is_ok();
        assert!(ok("https://iam.amazonaws.com"));
        assert!(ok("http://127.0.0.1:5000"));
        assert!(ok("http://localhost:1"));
        assert!(ok("http://[::1]:1"));
        assert!(!ok("http://10.0.0.1:5000"));
        assert!(!ok("ftp://127.0.0.1"));
        assert!(check_endpoint(&Url::parse("http://10.0.0.1").unwrap(), true).is_ok());
    }

    fn proxies(vars: &[(&str, &str)]) -> Proxies {
        Proxies::from_env(&crate::config::Environment {
            vars: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            home: None,
        })
    }

    #[test]
    fn proxies_follow_the_environment_as_curl_does() {
        let https = Url::parse("https://iam.amazonaws.com/").unwrap();
        let local = Url::parse("http://10.1.2.3:8790/").unwrap();
        assert_eq!(proxies(&[]).proxy_for(&https), None);

        let p = proxies(&[
            ("HTTPS_PROXY", "http://user:pw@proxy.corp:3128"),
            ("http_proxy", "proxy.local:8080"),
        ]);
        // Credentials never come back out, and a missing scheme means http.
        assert_eq!(
            p.proxy_for(&https).as_deref(),
            Some("http://proxy.corp:3128")
        );
        assert_eq!(
            p.proxy_for(&local).as_deref(),
            Some("http://proxy.local:8080")
        );
        assert!(!format!("{p:?}").contains("pw"), "{p:?}");

        // NO_PROXY: hosts, domain suffixes, addresses, ranges, or everything.
        for no in ["amazonaws.com", ".amazonaws.com", "iam.amazonaws.com", "*"] {
            let p = proxies(&[("HTTPS_PROXY", "http://proxy:1"), ("NO_PROXY", no)]);
            assert_eq!(p.proxy_for(&https), None, "{no}");
        }
        for (no, bypassed) in [
            ("10.1.2.3", true),
            ("*", true),
            ("example.com, *", true),
            ("10.0.0.0/8", true),
            ("localhost", false),
            ("192.168.0.0/16", false),
        ] {
            let p = proxies(&[("HTTP_PROXY", "http://proxy:1"), ("no_proxy", no)]);
            assert_eq!(p.proxy_for(&local).is_none(), bypassed, "{no}");
        }

        // ALL_PROXY fills in for either; an empty variable counts as unset.
        let p = proxies(&[("ALL_PROXY", "http://all:1"), ("HTTPS_PROXY", "")]);
        assert_eq!(p.proxy_for(&https).as_deref(), Some("http://all:1"));
        assert_eq!(p.proxy_for(&local).as_deref(), Some("http://all:1"));

        // Under CGI, HTTP_PROXY may come from a request header: ignored.
        let p = proxies(&[("HTTP_PROXY", "http://evil:1"), ("REQUEST_METHOD", "GET")]);
        assert_eq!(p.proxy_for(&local), None);
    }

    #[test]
    fn loopback_is_never_proxied() {
        let p = proxies(&[("ALL_PROXY", "http://proxy:1")]);
        for url in [
            "http://127.0.0.1:8790/",
            "http://127.9.9.9/",
            "http://[::1]:5000/",
            "http://localhost:1/",
            "https://localhost/",
            "http://sandbox.localhost:1/",
        ] {
            assert_eq!(p.proxy_for(&Url::parse(url).unwrap()), None, "{url}");
        }
        let remote = Url::parse("http://128.0.0.1/").unwrap();
        assert!(p.proxy_for(&remote).is_some());
    }

    #[test]
    fn bad_proxy_urls_are_config_errors_that_hide_the_value() {
        for (name, value) in [
            ("HTTPS_PROXY", "socks5://u:secretpw@h:1"),
            ("HTTP_PROXY", "http://[::secretpw"),
            ("ALL_PROXY", "ftp://secretpw@h"),
        ] {
            let settings = HttpSettings {
                proxies: proxies(&[(name, value)]),
                ..HttpSettings::default()
            };
            let err = HttpClient::new(settings).err().expect(value);
            assert_eq!(err.exit_code(), 2);
            assert!(!err.to_string().contains("secretpw"), "{err}");
        }
    }

    #[test]
    fn host_header_keeps_non_default_port() {
        assert_eq!(
            host_header(&Url::parse("http://127.0.0.1:5000/").unwrap()),
            "127.0.0.1:5000"
        );
        assert_eq!(
            host_header(&Url::parse("https://iam.amazonaws.com/").unwrap()),
            "iam.amazonaws.com"
        );
        assert_eq!(
            host_header(&Url::parse("https://iam.amazonaws.com:443/").unwrap()),
            "iam.amazonaws.com"
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let client = HttpClient::new(HttpSettings::default()).unwrap();
        for attempt in 0..20 {
            assert!(client.backoff(attempt) <= Duration::from_secs(10));
        }
        assert!(client.backoff(1) <= Duration::from_millis(400));
    }

    #[test]
    fn backoff_is_full_jitter() {
        // sleep = random(0, min(cap, base·2^n)): short waits happen too, not only the top
        // three quarters, and the spread covers the whole range.
        let client = HttpClient::new(HttpSettings::default()).unwrap();
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

    #[test]
    fn each_api_of_a_credential_has_its_own_bucket_starting_at_the_start_rate() {
        let client = HttpClient::new(HttpSettings::default()).unwrap();
        let list = client
            .limiter(&(ProviderKind::Aws, "AKIA1", "ListAccessKeys").into())
            .unwrap();
        let used = client
            .limiter(&(ProviderKind::Aws, "AKIA1", "GetAccessKeyLastUsed").into())
            .unwrap();
        assert!(!Arc::ptr_eq(&list, &used));
        assert_eq!(list.rate(), 10.0);
        assert_eq!(list.ceiling, 100.0);
        // A ceiling below the start rate wins.
        let capped = HttpClient::new(HttpSettings {
            rate_limits: [(ProviderKind::Aws, 4.0)].into_iter().collect(),
            ..HttpSettings::default()
        })
        .unwrap();
        let limiter = capped
            .limiter(&(ProviderKind::Aws, "AKIA1").into())
            .unwrap();
        assert_eq!((limiter.rate(), limiter.ceiling), (4.0, 4.0));
    }

    #[test]
    fn each_credential_has_its_own_bucket() {
        let client = HttpClient::new(HttpSettings {
            rate_limits: [(ProviderKind::Tencent, 20.0), (ProviderKind::Aws, 0.0)]
                .into_iter()
                .collect(),
            ..HttpSettings::default()
        })
        .unwrap();
        let a = client
            .limiter(&(ProviderKind::Tencent, "AKIDa").into())
            .unwrap();
        let a_again = client
            .limiter(&(ProviderKind::Tencent, "AKIDa").into())
            .unwrap();
        let b = client
            .limiter(&(ProviderKind::Tencent, "AKIDb").into())
            .unwrap();
        assert!(Arc::ptr_eq(&a, &a_again));
        assert!(!Arc::ptr_eq(&a, &b));
        // A full bucket holds a second's worth; spending it leaves the other credential's.
        for _ in 0..20 {
            assert!(a.try_take().is_ok());
        }
        assert!(a.try_take().is_err());
        assert!(!a.wait_time().is_zero());
        assert!(b.try_take().is_ok());
        // 0 means no limit; providers not named get none either.
        assert!(client.limiter(&ProviderKind::Aws.into()).is_none());
        assert!(client.limiter(&ProviderKind::Huawei.into()).is_none());
        let defaults = HttpClient::new(HttpSettings::default()).unwrap();
        for (kind, _) in DEFAULT_RATE_LIMITS {
            assert!(defaults.limiter(&kind.into()).is_some(), "{kind}");
        }
    }

    #[tokio::test]
    async fn calls_in_flight_never_exceed_the_bound() {
        use std::sync::atomic::AtomicUsize;
        let current = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (now, top) = (current.clone(), peak.clone());
        let app = axum::Router::new().fallback(move || {
            let (now, top) = (now.clone(), top.clone());
            async move {
                let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                top.fetch_max(n, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                "ok"
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let client = HttpClient::new(HttpSettings {
            max_in_flight: 3,
            ..HttpSettings::default()
        })
        .unwrap();
        let calls = (0..12).map(|i| {
            let caller: Caller = (ProviderKind::Huawei, if i % 2 == 0 { "A" } else { "B" }).into();
            let client = &client;
            let url = url.clone();
            async move {
                let build = |_time| {
                    Ok(Request {
                        method: Method::GET,
                        url: url.clone(),
                        headers: Vec::new(),
                        body: Vec::new(),
                    })
                };
                client
                    .execute(caller, Idempotency::Idempotent, build, classify)
                    .await
            }
        });
        let results = futures::future::join_all(calls).await;
        assert!(results.iter().all(|r| r.is_ok()));
        let peak = peak.load(Ordering::SeqCst);
        assert!((1..=3).contains(&peak), "{peak} in flight");
    }

    /// A server answering with `script[n]` (status, Date header offset in seconds) for the
    /// n-th request, then 200; counts the requests it saw.
    async fn scripted(
        script: Vec<(u16, Option<i64>)>,
        delay: Duration,
    ) -> (Url, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::AtomicUsize;
        use std::sync::Arc;
        let seen = Arc::new(AtomicUsize::new(0));
        let counter = seen.clone();
        let app = axum::Router::new().fallback(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let (status, skew) = script.get(n).copied().unwrap_or((200, None));
            async move {
                tokio::time::sleep(delay).await;
                let date = (Utc::now() + chrono::Duration::seconds(skew.unwrap_or(0)))
                    .format("%a, %d %b %Y %H:%M:%S GMT")
                    .to_string();
                (
                    axum::http::StatusCode::from_u16(status).unwrap(),
                    [("date", date)],
                    "body",
                )
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, seen)
    }

    fn quick(retries: u32, timeout: Duration) -> HttpClient {
        HttpClient::new(HttpSettings {
            retries,
            timeout,
            base_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            ..HttpSettings::default()
        })
        .unwrap()
    }

    /// 2xx is a value; 409 a definite refusal; 429 throttling; 400 a clock refusal; 5xx a fault.
    fn classify(response: Response) -> std::result::Result<u16, Failure> {
        let retry = match response.status {
            200..=299 => return Ok(response.status),
            429 => Retry::Throttled,
            400 => Retry::ClockSkew,
            500..=599 => Retry::Server,
            _ => Retry::Never,
        };
        let kind = match retry {
            Retry::Throttled => ErrorKind::Throttled,
            Retry::Server => ErrorKind::Server,
            _ => ErrorKind::Refused,
        };
        Err(Failure::new(
            Error::new(kind, format!("status {}", response.status)),
            retry,
        ))
    }

    async fn call(client: &HttpClient, url: &Url, idempotency: Idempotency) -> Result<u16> {
        let build = |_time| {
            Ok(Request {
                method: Method::POST,
                url: url.clone(),
                headers: Vec::new(),
                body: Vec::new(),
            })
        };
        client
            .execute(ProviderKind::Aws, idempotency, build, classify)
            .await
    }

    #[tokio::test]
    async fn server_faults_and_throttling_are_retried_on_reads() {
        let (url, seen) =
            scripted(vec![(503, None), (429, None), (500, None)], Duration::ZERO).await;
        let client = quick(4, Duration::from_secs(10));
        assert_eq!(
            call(&client, &url, Idempotency::Idempotent).await.unwrap(),
            200
        );
        assert_eq!(seen.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn the_last_failure_says_how_many_tries() {
        let (url, seen) = scripted(vec![(429, None); 10], Duration::ZERO).await;
        let err = call(
            &quick(2, Duration::from_secs(10)),
            &url,
            Idempotency::Idempotent,
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Throttled);
        assert!(err.to_string().ends_with("(after 3 attempts)"), "{err}");
        assert_eq!(seen.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn oversized_answers_are_refused_unread() {
        // With a length, and streamed without one.
        for chunked in [false, true] {
            let app = axum::Router::new().fallback(move || async move {
                let big = vec![b'x'; MAX_BODY + 1];
                if chunked {
                    let chunks = big
                        .chunks(1 << 16)
                        .map(|c| Ok::<_, std::io::Error>(Bytes::copy_from_slice(c)))
                        .collect::<Vec<_>>();
                    axum::body::Body::from_stream(futures::stream::iter(chunks))
                } else {
                    axum::body::Body::from(big)
                }
            });
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
            tokio::spawn(async move { axum::serve(listener, app).await });
            let err = call(
                &quick(0, Duration::from_secs(30)),
                &url,
                Idempotency::Idempotent,
            )
            .await
            .unwrap_err();
            assert_eq!(err.kind, ErrorKind::BadResponse, "{err}");
            assert!(err.to_string().contains("larger than 8 MiB"), "{err}");
        }
    }

    #[tokio::test]
    async fn creation_is_not_repeated_after_a_server_fault() {
        let (url, seen) = scripted(vec![(500, None)], Duration::ZERO).await;
        let err = call(
            &quick(4, Duration::from_secs(10)),
            &url,
            Idempotency::NotIdempotent,
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Server);
        assert_eq!(seen.load(Ordering::SeqCst), 1);
        // Throttling means the cloud did nothing: that may be retried even for a create.
        let (url, seen) = scripted(vec![(429, None)], Duration::ZERO).await;
        let client = quick(4, Duration::from_secs(10));
        assert_eq!(
            call(&client, &url, Idempotency::NotIdempotent)
                .await
                .unwrap(),
            200
        );
        assert_eq!(seen.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn refusals_are_not_retried() {
        let (url, seen) = scripted(vec![(409, None)], Duration::ZERO).await;
        let err = call(
            &quick(4, Duration::from_secs(10)),
            &url,
            Idempotency::Idempotent,
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Refused);
        assert_eq!(seen.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn clock_skew_is_corrected_once_from_the_date_header() {
        let (url, seen) = scripted(vec![(400, Some(3600))], Duration::ZERO).await;
        let client = quick(0, Duration::from_secs(10));
        assert_eq!(
            call(&client, &url, Idempotency::Idempotent).await.unwrap(),
            200
        );
        assert_eq!(seen.load(Ordering::SeqCst), 2);
        let offset = client.now_for(url.authority()) - Utc::now();
        assert!((offset.num_seconds() - 3600).abs() <= 5, "{offset}");
        // Only for that host: another endpoint's signatures keep our clock.
        let other = client.now_for("other.example:443") - Utc::now();
        assert!(other.num_seconds().abs() <= 1, "{other}");
        // A second refusal is final: the clock was already corrected.
        let (url, seen) =
            scripted(vec![(400, Some(3600)), (400, Some(3600))], Duration::ZERO).await;
        let client = quick(3, Duration::from_secs(10));
        assert!(call(&client, &url, Idempotency::Idempotent).await.is_err());
        assert_eq!(seen.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn the_clock_offset_is_kept_per_host_and_bounded() {
        use std::sync::{Arc, Mutex as StdMutex};
        // Two endpoints: a hostile one claiming a clock two days ahead, and one an hour ahead.
        // The first is refused (no offset learnt); the second's offset signs only its requests.
        let times: Arc<StdMutex<Vec<DateTime<Utc>>>> = Arc::default();
        let client = quick(0, Duration::from_secs(10));
        let (hostile, _) = scripted(vec![(400, Some(48 * 3600))], Duration::ZERO).await;
        let err = call(&client, &hostile, Idempotency::Idempotent)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("hours off ours"), "{err}");
        let (honest, _) = scripted(vec![(400, Some(3600))], Duration::ZERO).await;
        call(&client, &honest, Idempotency::Idempotent)
            .await
            .unwrap();
        for url in [&hostile, &honest] {
            let seen = times.clone();
            let build = |time| {
                seen.lock().unwrap().push(time);
                Ok(Request {
                    method: Method::POST,
                    url: url.clone(),
                    headers: Vec::new(),
                    body: Vec::new(),
                })
            };
            client
                .execute(ProviderKind::Aws, Idempotency::Idempotent, build, classify)
                .await
                .unwrap();
        }
        let times = times.lock().unwrap();
        let signed = times.last().unwrap();
        assert!(
            ((*signed - Utc::now()).num_seconds() - 3600).abs() <= 5,
            "{signed}"
        );
        // The hostile host's request was signed with our own clock.
        assert!(
            (times[0] - Utc::now()).num_seconds().abs() <= 5,
            "{}",
            times[0]
        );
    }

    #[tokio::test]
    async fn redirects_are_not_followed() {
        use std::sync::atomic::AtomicUsize;
        let seen = Arc::new(AtomicUsize::new(0));
        let counter = seen.clone();
        let app = axum::Router::new().fallback(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async {
                (
                    axum::http::StatusCode::FOUND,
                    [("location", "http://127.0.0.1:9/elsewhere")],
                    "",
                )
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let err = call(
            &quick(3, Duration::from_secs(10)),
            &url,
            Idempotency::Idempotent,
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadResponse);
        assert!(
            err.to_string()
                .contains("redirect (HTTP 302 to http://127.0.0.1:9)"),
            "{err}"
        );
        assert_eq!(
            seen.load(Ordering::SeqCst),
            1,
            "one request, no retry, no follow"
        );
    }

    #[tokio::test]
    async fn a_slow_server_times_out() {
        let (url, _) = scripted(Vec::new(), Duration::from_secs(30)).await;
        let err = call(
            &quick(0, Duration::from_millis(300)),
            &url,
            Idempotency::Idempotent,
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Timeout);
        assert_eq!(err.exit_code(), 4);
    }
}
