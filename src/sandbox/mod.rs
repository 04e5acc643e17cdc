//! A local emulator of the clouds' access-key APIs, for the tests, `cloudkeys sandbox` and
//! `cloudkeys demo`.
//!
//! One HTTP server on 127.0.0.1, one port, in-memory [`State`]. Each request is routed to a
//! cloud by the scheme of its `Authorization` header (`AWS4-HMAC-SHA256` → [`aws`]); the
//! cloud module checks the real request signature and answers in the cloud's real shapes.

pub mod alibaba;
pub mod aws;
pub mod faults;
pub mod huawei;
pub mod state;
pub mod tencent;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, Uri};
use axum::response::Response;
use axum::Router;
use chrono::{DateTime, Utc};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::model::ProviderKind;

pub use faults::{Effect, Fault};
pub use state::{AwsAccount, AwsKey, AwsRoleSession, AwsUser, KeyOwner, Settings, State, Stats};

/// Credentials the seed made for the CLI to use. `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SandboxProfile {
    pub name: String,
    pub provider: ProviderKind,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub region: String,
    pub account_id: String,
    pub user: Option<String>,
    /// Huawei: the project the CCE check looks at.
    pub project_id: Option<String>,
}

impl fmt::Debug for SandboxProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxProfile")
            .field("name", &self.name)
            .field("provider", &self.provider)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"***")
            .field("region", &self.region)
            .field("account_id", &self.account_id)
            .field("user", &self.user)
            .field("project_id", &self.project_id)
            .finish()
    }
}

/// Which world to start with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seed {
    /// A showcase with several accounts and realistic users.
    Demo,
    /// The small, fixed world the tests rely on.
    Test,
}

/// A running sandbox. Dropping it stops the server too.
pub struct Sandbox {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    profiles: Vec<SandboxProfile>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// A request as the cloud modules see it.
pub struct Incoming {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Locks the state, shrugging off poisoning (a panicking handler leaves consistent data).
pub(crate) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Sandbox {
    /// Binds 127.0.0.1:`port` (0 picks a free port), seeds the state and serves in a
    /// spawned tokio task.
    pub async fn start(port: u16, seed: Seed) -> std::io::Result<Sandbox> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
        let addr = listener.local_addr()?;
        let mut state = State::default();
        let now = Utc::now();
        let mut profiles = aws::seed(&mut state, seed, now);
        profiles.extend(alibaba::seed(&mut state, seed, now));
        profiles.extend(tencent::seed(&mut state, seed, now));
        profiles.extend(huawei::seed(&mut state, seed, now));
        let state = Arc::new(Mutex::new(state));
        let shared = state.clone();
        let app = Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let shared = shared.clone();
                async move {
                    let request = Incoming {
                        method,
                        uri,
                        headers,
                        body,
                    };
                    serve(&shared, &request).await
                }
            },
        );
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(err) = served {
                tracing::warn!("sandbox server stopped: {err}");
            }
        });
        tracing::info!("sandbox listening on http://{addr}");
        Ok(Sandbox {
            addr,
            state,
            profiles,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn profiles(&self) -> Vec<SandboxProfile> {
        self.profiles.clone()
    }

    /// A cloudkeys config with one `[profiles.NAME]` table per seeded profile.
    pub fn config_toml(&self) -> String {
        let endpoint = self.endpoint();
        let mut out = format!("# cloudkeys sandbox at {endpoint}: made-up credentials\n");
        for p in &self.profiles {
            out.push_str(&format!(
                "\n[profiles.{}]\nprovider = {}\naccess_key_id = {}\nsecret_access_key = {}\nregion = {}\nendpoint = {}\n",
                toml_key(&p.name),
                toml_string(p.provider.as_str()),
                toml_string(&p.access_key_id),
                toml_string(&p.secret_access_key),
                toml_string(&p.region),
                toml_string(&endpoint),
            ));
            if let Some(project_id) = &p.project_id {
                out.push_str(&format!("project_id = {}\n", toml_string(project_id)));
            }
        }
        out
    }

    pub fn state(&self) -> Arc<Mutex<State>> {
        self.state.clone()
    }

    /// Stops serving and waits (briefly) for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            // Idle keep-alive connections may hold graceful shutdown: don't wait forever.
            if tokio::time::timeout(Duration::from_secs(2), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn toml_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for ch in value.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn toml_key(name: &str) -> String {
    if !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        name.to_string()
    } else {
        toml_string(name)
    }
}

/// The emulated cloud a request is for, by its `Authorization` scheme.
fn cloud_of(request: &Incoming) -> Option<ProviderKind> {
    let authorization = request
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match authorization.split_whitespace().next().unwrap_or("") {
        crate::providers::aws::signer::ALGORITHM => Some(ProviderKind::Aws),
        crate::providers::alibaba::signer::ALGORITHM => Some(ProviderKind::Alibaba),
        crate::providers::tencent::signer::ALGORITHM => Some(ProviderKind::Tencent),
        crate::providers::huawei::signer::ALGORITHM => Some(ProviderKind::Huawei),
        _ => None,
    }
}

/// Answers one request: injected faults first, then the cloud's handler at the sandbox's
/// (possibly skewed) time, with a `Date` header telling that time as real servers do.
async fn serve(state: &Mutex<State>, request: &Incoming) -> Response {
    let Some(cloud) = cloud_of(request) else {
        return aws::missing_authentication(request);
    };
    let (effects, skew, over_rate) = {
        let mut guard = lock(state);
        let action = action_of(cloud, request);
        let skew = guard.settings.clock_skew;
        guard.stats.requests += 1;
        *guard.stats.by_action.entry(action.clone()).or_default() += 1;
        let over_rate = over_rate(&mut guard, request, &action);
        if over_rate {
            guard.stats.throttled += 1;
        }
        (
            faults::take(&mut guard.settings.faults, cloud, &action),
            skew,
            over_rate,
        )
    };
    if over_rate {
        return fault_response(cloud, true);
    }
    let mut lose_answer = false;
    let mut truncate = false;
    for effect in &effects {
        match effect {
            Effect::Latency(delay) => tokio::time::sleep(*delay).await,
            Effect::Throttle | Effect::ServerError => {
                return fault_response(cloud, *effect == Effect::Throttle);
            }
            Effect::Drop => return faults::dropped(),
            Effect::LoseAnswer => lose_answer = true,
            Effect::Truncate => truncate = true,
        }
    }
    let now = Utc::now() + skew;
    let mut response = dispatch(state, request, cloud, now);
    if let Ok(date) = HeaderValue::from_str(&now.format("%a, %d %b %Y %H:%M:%S GMT").to_string()) {
        response
            .headers_mut()
            .insert(axum::http::header::DATE, date);
    }
    if lose_answer {
        return faults::dropped();
    }
    if truncate {
        return faults::truncated(response).await;
    }
    response
}

/// Spends a token of the request's (access key, action) bucket under `settings.rate_limit`;
/// true when none is left (a bucket holds one second's worth).
fn over_rate(state: &mut State, request: &Incoming, action: &str) -> bool {
    let Some(rate) = state.settings.rate_limit.filter(|r| *r > 0.0) else {
        return false;
    };
    let key_id = request
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(signing_key_id)
        .unwrap_or_default();
    let now = std::time::Instant::now();
    let burst = rate.max(1.0);
    let (tokens, at) = state
        .rate_buckets
        .entry((key_id, action.to_string()))
        .or_insert((burst, now));
    *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(burst);
    *at = now;
    if *tokens >= 1.0 {
        *tokens -= 1.0;
        false
    } else {
        true
    }
}

/// The access key id an `Authorization` header names: `Credential=ID/…` (AWS, Tencent),
/// `Credential=ID,…` (Alibaba) or `Access=ID,…` (Huawei).
fn signing_key_id(authorization: &str) -> Option<String> {
    let start = ["Credential=", "Access="]
        .iter()
        .find_map(|name| authorization.find(name).map(|i| i + name.len()))?;
    let rest = &authorization[start..];
    let end = rest.find(['/', ',', ' ']).unwrap_or(rest.len());
    Some(rest[..end].to_string())
}

/// The cloud's name for the call a request makes, as fault rules name it.
fn action_of(cloud: ProviderKind, request: &Incoming) -> String {
    match cloud {
        ProviderKind::Aws => aws::action_of(request),
        ProviderKind::Alibaba => alibaba::action_of(request),
        ProviderKind::Tencent => tencent::action_of(request),
        ProviderKind::Huawei => huawei::action_of(request),
    }
}

/// The cloud's own throttling or 5xx answer.
fn fault_response(cloud: ProviderKind, throttled: bool) -> Response {
    match cloud {
        ProviderKind::Alibaba => alibaba::fault_response(throttled),
        ProviderKind::Tencent => tencent::fault_response(throttled),
        ProviderKind::Huawei => huawei::fault_response(throttled),
        ProviderKind::Aws => aws::fault_response(throttled),
    }
}

/// Routes a request to its cloud's handler.
pub fn dispatch(
    state: &Mutex<State>,
    request: &Incoming,
    cloud: ProviderKind,
    now: DateTime<Utc>,
) -> Response {
    match cloud {
        ProviderKind::Aws => aws::handle(state, request, now),
        ProviderKind::Alibaba => alibaba::handle(state, request, now),
        ProviderKind::Tencent => tencent::handle(state, request, now),
        ProviderKind::Huawei => huawei::handle(state, request, now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn config_toml_lists_every_profile() {
        let sandbox = Sandbox::start(0, Seed::Demo).await.unwrap();
        let profiles = sandbox.profiles();
        let names: Vec<&str> = profiles.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names[..2], ["aws-admin", "aws-ops"]);
        let text = sandbox.config_toml();
        let doc: toml::Value = toml::from_str(&text).unwrap();
        let admin = &doc["profiles"]["aws-admin"];
        assert_eq!(admin["provider"].as_str(), Some("aws"));
        assert_eq!(
            admin["access_key_id"].as_str(),
            Some(profiles[0].access_key_id.as_str())
        );
        assert_eq!(
            admin["secret_access_key"].as_str(),
            Some(profiles[0].secret_access_key.as_str())
        );
        assert_eq!(
            admin["endpoint"].as_str(),
            Some(sandbox.endpoint().as_str())
        );
        assert_eq!(
            doc["profiles"]["aws-ops"]["region"].as_str(),
            Some("us-east-1")
        );
        assert!(!format!("{profiles:?}").contains(&profiles[0].secret_access_key));
        sandbox.shutdown().await;
    }

    #[tokio::test]
    async fn unknown_schemes_are_refused() {
        let sandbox = Sandbox::start(0, Seed::Test).await.unwrap();
        let client = reqwest::Client::new();
        let response = client
            .post(sandbox.endpoint())
            .header("Authorization", "Bearer abc")
            .body("Action=ListUsers")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 403);
        assert!(response.headers().contains_key("x-amzn-requestid"));
        let body = response.text().await.unwrap();
        assert!(
            body.contains("<Code>MissingAuthenticationToken</Code>"),
            "{body}"
        );
        sandbox.shutdown().await;
    }
}
