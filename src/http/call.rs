//! What one call is: the signed request, the answer, how a failure may be retried, and whose
//! request budget it spends.

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::Method;
use url::Url;

use crate::error::Error;
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
pub(super) fn describe(request: &Request) -> String {
    format!(
        "{} {}{}",
        request.method,
        request.url.authority(),
        request.url.path()
    )
}
