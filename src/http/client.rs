//! The shared client: sends, retries, corrects the clock, bounds what is in flight.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use url::Url;

use super::call::{describe, Caller, Failure, Idempotency, Request, Response, Retry, MAX_BODY};
use super::rate::{rates_of, RateLimiter};
use super::retry::{retry_after, HttpSettings, MAX_CLOCK_OFFSET};
use crate::error::{Error, ErrorKind, Result};

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
        let (start, ceiling) = rates_of(caller.provider, &caller.family, ceiling);
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
                .unwrap_or_else(|| self.settings.backoff(attempt));
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
            // Without its URL: a signed query string has no place in a debug print.
            error: Error::new(kind, message).with_source(err.without_url()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::DEFAULT_RATE_LIMITS;
    use crate::model::ProviderKind;
    use reqwest::Method;
    use std::sync::atomic::Ordering;

    /// Serves `app` on a free loopback port.
    async fn serve(app: axum::Router) -> Url {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    /// An unsigned request to `url`.
    fn request(method: Method, url: &Url) -> Request {
        Request {
            method,
            url: url.clone(),
            headers: Vec::new(),
            body: Vec::new(),
        }
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
        let url = serve(app).await;
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
                let build = |_time| Ok(request(Method::GET, &url));
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
        let url = serve(app).await;
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
        let build = |_time| Ok(request(Method::POST, url));
        client
            .execute(ProviderKind::Aws, idempotency, build, classify)
            .await
    }

    /// The error of a read call to `url` with `retries` and `timeout`.
    async fn fails(url: &Url, retries: u32, timeout: Duration) -> Error {
        let client = quick(retries, timeout);
        call(&client, url, Idempotency::Idempotent)
            .await
            .unwrap_err()
    }

    /// One call with `retries` to a [`scripted`] server: its result and the requests seen.
    async fn scripted_call(
        script: Vec<(u16, Option<i64>)>,
        retries: u32,
        idempotency: Idempotency,
    ) -> (Result<u16>, usize) {
        let (url, seen) = scripted(script, Duration::ZERO).await;
        let result = call(&quick(retries, Duration::from_secs(10)), &url, idempotency).await;
        (result, seen.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn server_faults_and_throttling_are_retried_on_reads() {
        let script = vec![(503, None), (429, None), (500, None)];
        let (result, seen) = scripted_call(script, 4, Idempotency::Idempotent).await;
        assert_eq!((result.unwrap(), seen), (200, 4));
    }

    #[tokio::test]
    async fn the_last_failure_says_how_many_tries() {
        let (result, seen) = scripted_call(vec![(429, None); 10], 2, Idempotency::Idempotent).await;
        let err = result.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Throttled);
        assert!(err.to_string().ends_with("(after 3 attempts)"), "{err}");
        assert_eq!(seen, 3);
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
            let url = serve(app).await;
            let err = fails(&url, 0, Duration::from_secs(30)).await;
            assert_eq!(err.kind, ErrorKind::BadResponse, "{err}");
            assert!(err.to_string().contains("larger than 8 MiB"), "{err}");
        }
    }

    #[tokio::test]
    async fn creation_is_not_repeated_after_a_server_fault() {
        let (result, seen) = scripted_call(vec![(500, None)], 4, Idempotency::NotIdempotent).await;
        assert_eq!(result.unwrap_err().kind, ErrorKind::Server);
        assert_eq!(seen, 1);
        // Throttling means the cloud did nothing: that may be retried even for a create.
        let (result, seen) = scripted_call(vec![(429, None)], 4, Idempotency::NotIdempotent).await;
        assert_eq!((result.unwrap(), seen), (200, 2));
    }

    #[tokio::test]
    async fn refusals_are_not_retried() {
        let (result, seen) = scripted_call(vec![(409, None)], 4, Idempotency::Idempotent).await;
        assert_eq!(result.unwrap_err().kind, ErrorKind::Refused);
        assert_eq!(seen, 1);
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
                Ok(request(Method::POST, url))
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
        let url = serve(app).await;
        let err = fails(&url, 3, Duration::from_secs(10)).await;
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
        let err = fails(&url, 0, Duration::from_millis(300)).await;
        assert_eq!(err.kind, ErrorKind::Timeout);
        assert_eq!(err.exit_code(), 4);
    }
}
