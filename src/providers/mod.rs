//! The machinery every cloud shares: the factory, one way to sign and send a call and read
//! its answer, the error classification table, paging and the root-user label.

/// What every provider says alike, given a struct with `client` and `keys` fields, a `new`
/// (`?` after the name when it returns a `Result`) and an inherent AssumeRole `$assume`:
/// `for_profile`, `name` and its [`assumed::Assume`].
macro_rules! provider_glue {
    ($provider:ident, $assume:ident $(, $fallible:tt)?) => {
        impl $provider {
            /// The provider of a profile; a role profile's holds its source's provider, down
            /// the chain.
            pub fn for_profile(
                profile: $crate::provider::ResolvedProfile,
                options: &$crate::provider::ProviderOptions,
            ) -> $crate::error::Result<Self> {
                let keys = $crate::providers::assumed::Credentials::of(&profile, options, Self::for_profile)?;
                let mut provider = Self::new(profile, options.http.clone())$($fallible)?;
                provider.keys = keys;
                Ok(provider)
            }

            fn name(&self) -> &str {
                self.client.name()
            }
        }

        impl $crate::providers::assumed::Assume for $provider {
            fn credentials(&self) -> &$crate::providers::assumed::Credentials<Self> {
                &self.keys
            }

            fn assume<'a>(
                &'a self,
                role: &'a $crate::config::Role,
                with: &'a $crate::providers::assumed::SigningKeys,
            ) -> futures::future::BoxFuture<'a, $crate::error::Result<$crate::providers::assumed::SigningKeys>> {
                Box::pin(self.$assume(role, with))
            }
        }
    };
}

/// Wire answer types, read with serde and shown with `Debug` (a secret in them is a
/// [`crate::model::Secret`]); field names as the cloud spells them: PascalCase unless the
/// block begins with `snake_case;`.
macro_rules! wire {
    (snake_case; $($(#[$meta:meta])* pub struct $name:ident { $($body:tt)* })*) => {$(
        $(#[$meta])*
        #[derive(Debug, serde::Deserialize)]
        pub struct $name { $($body)* }
    )*};
    ($($(#[$meta:meta])* pub struct $name:ident { $($body:tt)* })*) => {$(
        $(#[$meta])*
        #[derive(Debug, serde::Deserialize)]
        #[serde(rename_all = "PascalCase")]
        pub struct $name { $($body)* }
    )*};
}

pub mod alibaba;
pub mod assumed;
pub mod aws;
pub mod huawei;
pub mod report;
pub mod tencent;

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::de::DeserializeOwned;
use url::Url;

use crate::config::Profile;
use crate::error::{Error, ErrorKind, Result};
use crate::http::{host_header, Failure, HttpClient, Idempotency, Request, Response, Retry};
use crate::model::{Identity, KeyStatus, ProviderKind, UserRef};
use crate::provider::{resolve, AccessKeyProvider, ProviderOptions, ResolvedProfile};
use crate::providers::assumed::{Assume, SigningKeys};
use crate::signing::RequestParts;

/// Builds the provider for a profile.
pub fn build(profile: &Profile, options: &ProviderOptions) -> Result<Arc<dyn AccessKeyProvider>> {
    let resolved = resolve(profile, options)?;
    Ok(match profile.provider {
        ProviderKind::Aws => Arc::new(aws::AwsProvider::for_profile(resolved, options)?),
        ProviderKind::Alibaba => {
            Arc::new(alibaba::AlibabaProvider::for_profile(resolved, options)?)
        }
        ProviderKind::Tencent => {
            Arc::new(tencent::TencentProvider::for_profile(resolved, options)?)
        }
        ProviderKind::Huawei => Arc::new(huawei::HuaweiProvider::for_profile(resolved, options)?),
    })
}

/// One row of a [`Dialect::CODES`] table: which codes mean which kind of error. Lists of
/// codes are one string, the codes separated by spaces, to keep the tables short.
pub struct Rule(Match, ErrorKind);

enum Match {
    Is(&'static str),
    Family(&'static str),
    Prefix(&'static str),
    When(&'static str, fn(&str) -> bool),
}

/// Exactly one of these codes.
pub const fn is(codes: &'static str, kind: ErrorKind) -> Rule {
    Rule(Match::Is(codes), kind)
}

/// One of these codes or any of their sub-codes: `X` and `X.anything`.
pub const fn family(codes: &'static str, kind: ErrorKind) -> Rule {
    Rule(Match::Family(codes), kind)
}

/// Any code that begins so.
pub const fn prefix(code: &'static str, kind: ErrorKind) -> Rule {
    Rule(Match::Prefix(code), kind)
}

/// Exactly this code, when its message says so (the same code means two things).
pub const fn when(code: &'static str, says: fn(&str) -> bool, kind: ErrorKind) -> Rule {
    Rule(Match::When(code, says), kind)
}

impl Rule {
    fn matches(&self, code: &str, message: &str) -> bool {
        match self.0 {
            Match::Is(codes) => codes.split(' ').any(|c| c == code),
            Match::Family(codes) => codes.split(' ').any(|c| {
                code.strip_prefix(c)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
            }),
            Match::Prefix(c) => code.starts_with(c),
            Match::When(c, says) => code == c && says(message),
        }
    }
}

/// An error envelope reduced to what we report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloudError {
    pub code: String,
    pub message: Option<String>,
    pub request_id: Option<String>,
    /// Shown with `-v` only (an explanation of a denial, a recommendation).
    pub detail: Option<String>,
}

/// Why a success answer could not be read.
pub enum Unreadable {
    /// It is an error envelope after all (Tencent answers HTTP 200 either way).
    Envelope(CloudError),
    /// It is not the answer expected; the request id, when the body still tells it.
    Text(String, Option<String>),
}

impl From<String> for Unreadable {
    fn from(why: String) -> Self {
        Unreadable::Text(why, None)
    }
}

/// One cloud's wire dialect: how its answers and error envelopes read and what its codes mean.
/// The rest of a call (sending, retrying, the error's shape) is the same for every cloud.
pub trait Dialect {
    /// The header that carries the request id when the error body does not.
    const REQUEST_ID_HEADER: Option<&'static str>;
    /// Error codes in the order they are tried; the first match decides.
    const CODES: &'static [Rule];
    /// Reads a success answer into its wire type (JSON unless the cloud says otherwise).
    fn parse<T: DeserializeOwned>(body: &[u8]) -> std::result::Result<T, Unreadable> {
        serde_json::from_slice(body).map_err(|err| Unreadable::from(err.to_string()))
    }
    /// Reads an error answer; `None` unless it names an error code.
    fn parse_error(body: &[u8]) -> Option<CloudError>;
    /// The kind of an error no code of the table names.
    fn fallback(_message: &str, status: u16) -> ErrorKind {
        match status {
            429 => ErrorKind::Throttled,
            s if s >= 500 => ErrorKind::Server,
            _ => ErrorKind::Refused,
        }
    }
    /// The message as reported, once the kind is known.
    fn reword(_kind: ErrorKind, message: String) -> String {
        message
    }
    /// Says more about an error at `-v` (Huawei's encoded authorization message).
    fn note(_action: &str, _error: &CloudError) {}
}

/// How a failure of this kind may be retried.
pub fn retry_of(kind: ErrorKind) -> Retry {
    match kind {
        ErrorKind::ClockSkew => Retry::ClockSkew,
        ErrorKind::Throttled => Retry::Throttled,
        ErrorKind::Server => Retry::Server,
        _ => Retry::Never,
    }
}

/// Our kind of a cloud's error: the dialect's table first, then its fallback.
pub fn error_class<D: Dialect>(code: &str, message: &str, status: u16) -> (ErrorKind, Retry) {
    let kind = D::CODES
        .iter()
        .find(|rule| rule.matches(code, message))
        .map_or_else(|| D::fallback(message, status), |rule| rule.1);
    (kind, retry_of(kind))
}

/// Reads one answer: the wire type on success, else the cloud's error with its kind and
/// retry class. Pure: the fuzz targets call it on any bytes.
pub fn decode<D: Dialect, T: DeserializeOwned>(
    action: &str,
    response: Response,
) -> std::result::Result<T, Failure> {
    let status = response.status;
    let ok = (200..300).contains(&status);
    let header_id = D::REQUEST_ID_HEADER
        .and_then(|name| response.header(name))
        .map(str::to_string);
    let envelope = if ok {
        match D::parse::<T>(&response.body) {
            Ok(value) => return Ok(value),
            Err(Unreadable::Envelope(envelope)) => envelope,
            Err(Unreadable::Text(why, request_id)) => {
                let mut error = Error::bad_response(format!("{action}: unreadable answer: {why}"));
                error.request_id = request_id;
                return Err(Failure::new(error, Retry::Never));
            }
        }
    } else {
        match D::parse_error(&response.body) {
            Some(envelope) => envelope,
            None => {
                // Not the cloud's own error: a proxy or gateway page, or garbage.
                let kind = match D::fallback("", status) {
                    ErrorKind::Refused => ErrorKind::BadResponse,
                    kind => kind,
                };
                let mut error = Error::new(
                    kind,
                    format!("{action}: HTTP {status} with an unreadable body"),
                );
                error.request_id = header_id;
                return Err(Failure::new(error, retry_of(kind)));
            }
        }
    };
    let message = match envelope.message.as_deref().map(str::trim) {
        Some(m) if !m.is_empty() => envelope.message.clone().unwrap_or_default(),
        _ if ok => format!("{action} failed"),
        _ => format!("{action} failed with HTTP {status}"),
    };
    let (kind, retry) = error_class::<D>(&envelope.code, &message, status);
    D::note(action, &envelope);
    let request_id = envelope.request_id.or(header_id);
    let mut error = Error::cloud(kind, envelope.code, D::reword(kind, message), request_id);
    if let Some(detail) = envelope.detail {
        error = error.with_detail(detail);
    }
    Err(Failure::new(error, retry))
}

/// [`decode`] on an answer with no headers, for the fuzz targets and tests.
pub fn parse<D: Dialect, T: DeserializeOwned>(action: &str, status: u16, body: &[u8]) -> Result<T> {
    let response = Response {
        status,
        headers: Default::default(),
        body: bytes::Bytes::copy_from_slice(body),
    };
    decode::<D, T>(action, response).map_err(|failure| failure.error)
}

/// A request before signing: the signer sees exactly these headers and this body.
pub struct Unsigned {
    pub method: Method,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The request of one attempt at `time`: the request's headers, then those `sign` adds.
pub fn signed(
    request: &Unsigned,
    sign: &impl Fn(RequestParts<'_>, DateTime<Utc>) -> Vec<(String, String)>,
    time: DateTime<Utc>,
) -> Request {
    let host = host_header(&request.url);
    let parts = RequestParts {
        method: request.method.as_str(),
        host: &host,
        path: request.url.path(),
        query: request.url.query().unwrap_or(""),
        headers: &request.headers,
        body: &request.body,
    };
    let mut headers = request.headers.clone();
    headers.extend(sign(parts, time));
    Request {
        method: request.method.clone(),
        url: request.url.clone(),
        headers,
        body: request.body.clone(),
    }
}

/// What every provider holds: its profile after the command-line overrides, and the shared
/// HTTP client.
pub struct Client {
    pub profile: ResolvedProfile,
    pub http: Arc<HttpClient>,
}

impl Client {
    /// The profile's name.
    pub fn name(&self) -> &str {
        &self.profile.profile.name
    }

    /// Signs, sends and reads one call. `sign` gets the parts of each attempt (the time
    /// changes between attempts) and returns the headers to add after the request's own.
    /// The profile's credential spends its own rate budget for `action` (the clouds limit
    /// each API on its own), and errors name the provider and the profile.
    pub async fn send<D: Dialect, T: DeserializeOwned>(
        &self,
        action: &str,
        idempotency: Idempotency,
        request: Unsigned,
        sign: impl Fn(RequestParts<'_>, DateTime<Utc>) -> Vec<(String, String)>,
    ) -> Result<T> {
        let id = &self.profile.profile.access_key_id;
        self.send_as::<D, T>(id, action, idempotency, request, sign)
            .await
    }

    /// [`send`](Self::send) signed with another key than the profile's (a role's temporary
    /// one), which spends that key's own rate budget.
    pub async fn send_as<D: Dialect, T: DeserializeOwned>(
        &self,
        access_key_id: &str,
        action: &str,
        idempotency: Idempotency,
        request: Unsigned,
        sign: impl Fn(RequestParts<'_>, DateTime<Utc>) -> Vec<(String, String)>,
    ) -> Result<T> {
        let build = |time| Ok(signed(&request, &sign, time));
        let profile = &self.profile.profile;
        self.http
            .execute(
                (profile.provider, access_key_id, action),
                idempotency,
                build,
                |response| decode::<D, T>(action, response),
            )
            .await
            .map_err(|err| self.blame(err))
    }

    /// The error as this profile's.
    pub fn blame(&self, err: Error) -> Error {
        let profile = &self.profile.profile;
        err.with_provider(profile.provider)
            .with_profile(&profile.name)
    }

    /// The user to name on the wire: `None` for the caller's own keys, and `None` for the
    /// root label when the caller is the account itself (the clouds act on the caller's own
    /// keys when no user is named, and the account has no user name). The label never goes
    /// out: from anyone else it is refused with `refusal`, before any call. `is_root` is only
    /// asked for the root label.
    pub async fn wire_user<'a>(
        &self,
        user: Option<&'a UserRef>,
        is_root: impl Future<Output = Result<bool>>,
        refusal: impl FnOnce() -> String,
    ) -> Result<Option<&'a UserRef>> {
        match user {
            Some(u) if u.is_root() => match is_root.await? {
                true => Ok(None),
                false => Err(self.blame(Error::usage(refusal()))),
            },
            other => Ok(other),
        }
    }
}

/// The calls of a cloud where each is (service, action, parameters): AWS's, Alibaba Cloud's
/// and Tencent Cloud's. The provider says how one is built and signed; how it is sent, with
/// the keys of now or given ones, is the same for each.
/// `P` is what a call's parameters are (a type parameter, not an associated type, so that
/// borrowed parameters need no generic associated type).
pub(crate) trait Rpc<P: Send>: Assume {
    type Service: Copy + Send + Sync;
    type Dialect: Dialect;
    fn client(&self) -> &Client;
    /// The request of one call before signing.
    fn request(&self, service: Self::Service, action: &str, params: P) -> Result<Unsigned>;
    /// The headers an attempt at `time` adds, signed with `keys`.
    fn sign(
        &self,
        keys: &SigningKeys,
        service: Self::Service,
        action: &str,
        parts: RequestParts<'_>,
        time: DateTime<Utc>,
    ) -> Vec<(String, String)>;

    /// A call signed with the provider's keys of now (a role's are assumed as needed).
    async fn call<T: DeserializeOwned>(
        &self,
        service: Self::Service,
        action: &str,
        params: P,
        idempotency: Idempotency,
    ) -> Result<T> {
        let keys = self.keys().await?;
        self.call_with(&keys, service, action, params, idempotency)
            .await
    }

    /// STS GetCallerIdentity, as `read` makes it an identity (of the answer, the profile's name
    /// and the key id), signed with the keys of now: a role profile's identity is the assumed
    /// role's, with its temporary key id.
    async fn caller_identity<A: DeserializeOwned>(
        &self,
        service: Self::Service,
        params: P,
        read: impl FnOnce(A, &str, &str) -> Identity + Send,
    ) -> Result<Identity> {
        let keys = self.keys().await?;
        let action = "GetCallerIdentity";
        let answer = self
            .call_with(&keys, service, action, params, Idempotency::Idempotent)
            .await?;
        Ok(read(answer, self.client().name(), &keys.id))
    }

    /// A call signed with `keys`, spending their own rate budget.
    async fn call_with<T: DeserializeOwned>(
        &self,
        keys: &SigningKeys,
        service: Self::Service,
        action: &str,
        params: P,
        idempotency: Idempotency,
    ) -> Result<T> {
        let request = self.request(service, action, params)?;
        let sign = |parts: RequestParts<'_>, time| self.sign(keys, service, action, parts, time);
        self.client()
            .send_as::<Self::Dialect, T>(&keys.id, action, idempotency, request, sign)
            .await
    }
}

/// Follows a listing to its last page. `fetch` gets the marker of the page to read (`None`
/// for the first) and returns its items and the next page's marker (`None` at the end).
/// A marker seen before (a loop, even A→B→A) or more than [`MAX_PAGES`] pages stop the
/// listing with a clear error instead of an endless run.
pub async fn paginate<T, F, Fut>(call: &str, mut fetch: F) -> Result<Vec<T>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>)>>,
{
    let mut items = Vec::new();
    let mut seen = HashSet::new();
    let mut marker = None;
    for pages in 1.. {
        let (page, next) = fetch(marker.take()).await?;
        items.extend(page);
        let Some(next) = next else { break };
        if !seen.insert(next.clone()) {
            // The marker itself is the cloud's text: not echoed.
            return Err(Error::bad_response(format!(
                "{call}: the answer repeats a page marker after {pages} pages; stopping rather than looping"
            )));
        }
        if pages >= MAX_PAGES {
            return Err(Error::bad_response(format!(
                "{call}: more than {MAX_PAGES} pages; stopping"
            )));
        }
        marker = Some(next);
    }
    Ok(items)
}

/// A key's status as the cloud wrote it.
pub fn key_status(status: &str) -> Result<KeyStatus> {
    KeyStatus::from_wire(status)
        .ok_or_else(|| Error::bad_response(format!("unknown key status '{status}'")))
}

/// 10,000 pages of 100 to 1,000 items: far beyond any real account.
pub const MAX_PAGES: usize = 10_000;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Source;
    use crate::http::HttpSettings;
    use crate::model::Secret;

    async fn pages(markers: &[&str]) -> Result<Vec<usize>> {
        let markers: Vec<String> = markers.iter().map(|m| m.to_string()).collect();
        let mut n = 0;
        paginate("ListUsers", |_| {
            n += 1;
            let next = markers.get(n - 1).cloned();
            async move { Ok((vec![n], next)) }
        })
        .await
    }

    #[tokio::test]
    async fn paginate_stops_loops_and_endless_listings() {
        assert_eq!(pages(&["a", "b"]).await.unwrap(), [1, 2, 3]);
        let err = pages(&["a", "b", "a"]).await.unwrap_err();
        assert_eq!(err.exit_code(), 4);
        assert!(
            err.to_string()
                .contains("repeats a page marker after 3 pages"),
            "{err}"
        );
        let endless: Vec<String> = (0..MAX_PAGES + 5).map(|n| n.to_string()).collect();
        let endless: Vec<&str> = endless.iter().map(String::as_str).collect();
        let err = pages(&endless).await.unwrap_err();
        assert!(err.to_string().contains("more than 10000 pages"), "{err}");
        // The last page allowed is read: 10,000 pages and no more marker.
        assert_eq!(
            pages(&endless[..MAX_PAGES - 1]).await.unwrap().len(),
            MAX_PAGES
        );
    }

    struct Plain;
    impl Dialect for Plain {
        const REQUEST_ID_HEADER: Option<&'static str> = None;
        const CODES: &'static [Rule] = &[
            when("Sig", |m| m.starts_with("late"), ErrorKind::ClockSkew),
            is("Sig Bad", ErrorKind::Auth),
            family("Limit", ErrorKind::Limit),
            prefix("Slow", ErrorKind::Throttled),
        ];
        fn parse<T: DeserializeOwned>(body: &[u8]) -> std::result::Result<T, Unreadable> {
            serde_json::from_slice(body).map_err(|e| Unreadable::from(e.to_string()))
        }
        fn parse_error(body: &[u8]) -> Option<CloudError> {
            let v: serde_json::Value = serde_json::from_slice(body).ok()?;
            Some(CloudError {
                code: v.get("code")?.as_str()?.to_string(),
                message: v
                    .get("message")
                    .and_then(|m| m.as_str())
                    .map(str::to_string),
                ..CloudError::default()
            })
        }
    }

    #[test]
    fn the_table_decides_first_then_the_status() {
        let class = |code, message, status| error_class::<Plain>(code, message, status);
        assert_eq!(
            class("Sig", "late by 20 min", 403),
            (ErrorKind::ClockSkew, Retry::ClockSkew)
        );
        assert_eq!(class("Sig", "wrong", 403), (ErrorKind::Auth, Retry::Never));
        assert_eq!(class("Limit.User", "", 400).0, ErrorKind::Limit);
        assert_eq!(class("LimitUser", "", 400).0, ErrorKind::Refused);
        assert_eq!(class("SlowDown", "", 400).1, Retry::Throttled);
        assert_eq!(class("X", "", 429).1, Retry::Throttled);
        assert_eq!(class("X", "", 503), (ErrorKind::Server, Retry::Server));
        // No envelope: a refusal the cloud did not word is an unreadable answer.
        let err = parse::<Plain, serde::de::IgnoredAny>("Act", 400, b"<html>").unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadResponse);
        assert_eq!(err.to_string(), "Act: HTTP 400 with an unreadable body");
        let err =
            parse::<Plain, serde::de::IgnoredAny>("Act", 409, br#"{"code":"Bad"}"#).unwrap_err();
        assert_eq!(
            (err.kind, err.message.as_str()),
            (ErrorKind::Auth, "Act failed with HTTP 409")
        );
    }

    fn profile(provider: ProviderKind, region: Option<&str>) -> Profile {
        Profile {
            name: "p".into(),
            provider,
            access_key_id: "AKIA1".into(),
            secret_access_key: Secret::new("s"),
            session_token: None,
            region: region.map(str::to_string),
            endpoint: None,
            project_id: None,
            source: Source::Environment,
            secret_env: None,
            role: None,
            fetch: None,
        }
    }

    #[test]
    fn regions_must_be_region_names_before_they_reach_a_host_name() {
        // Found by the toml_profiles_round_trip property: a region of "\u{10d69}a" made
        // `sts.<region>.amazonaws.com` unparsable and the AWS provider panicked; one like
        // "evil.example/x#" would have sent signed requests to another host.
        let options = ProviderOptions {
            http: Arc::new(HttpClient::new(HttpSettings::default()).unwrap()),
            endpoint: None,
            region: None,
            allow_insecure_http: false,
            page_size: None,
        };
        for kind in ProviderKind::ALL {
            for bad in [
                "\u{10d69}a",
                "bad region",
                "evil.example/x#",
                "a\nb",
                "us-east-1.",
            ] {
                let err = build(&profile(kind, Some(bad)), &options).err().expect(bad);
                assert_eq!(err.exit_code(), 2, "{kind} {bad:?}");
                assert!(!err.to_string().contains('\n'));
            }
            for good in [
                "us-east-1",
                " cn-north-4 ",
                "ap-southeast-1",
                "us-gov-west-1",
            ] {
                assert!(
                    build(&profile(kind, Some(good)), &options).is_ok(),
                    "{kind} {good}"
                );
            }
            let resolved = resolve(&profile(kind, Some(" ")), &options).unwrap();
            assert_eq!(resolved.region, None);
        }
        // --region is checked the same way, and wins over the profile's.
        let options = ProviderOptions {
            region: Some("x y".into()),
            ..options
        };
        let err = build(&profile(ProviderKind::Aws, Some("us-east-1")), &options).err();
        assert_eq!(err.map(|e| e.exit_code()), Some(2));
    }
}
