//! One HTTP client for every cloud: timeouts, retries with exponential backoff and full
//! jitter, clock-skew correction, one bound on the calls in flight across every profile, and
//! a per-provider request-rate limit applied to each calling credential. Providers only
//! build requests and classify answers; what is retried is decided here.

mod client;
mod proxy;
mod rate;
mod retry;

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::Method;
use url::Url;

use crate::error::{Error, Result};
use crate::model::ProviderKind;

pub use self::client::HttpClient;
pub use self::proxy::Proxies;
pub use self::rate::{RateLimiter, DEFAULT_RATE_LIMITS, START_RATES};
pub use self::retry::{HttpSettings, MAX_CLOCK_OFFSET};

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
        (provider, "", "").into()
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
}
