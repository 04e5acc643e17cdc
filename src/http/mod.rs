//! One HTTP client for every cloud: timeouts, retries with exponential backoff and full
//! jitter, clock-skew correction, one bound on the calls in flight across every profile, and
//! a per-provider request-rate limit applied to each calling credential. Providers only
//! build requests and classify answers; what is retried is decided here.

mod call;
mod client;
mod proxy;
mod rate;
mod retry;

use url::Url;

use crate::error::{Error, Result};

pub use self::call::{Caller, Failure, Idempotency, Request, Response, Retry, MAX_BODY};
pub use self::client::HttpClient;
pub use self::proxy::Proxies;
pub use self::rate::{RateLimiter, DEFAULT_RATE_LIMITS, START_RATES};
pub use self::retry::{HttpSettings, MAX_CLOCK_OFFSET};

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
