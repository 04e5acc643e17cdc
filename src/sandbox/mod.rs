//! A local emulator of the clouds' access-key APIs, for the tests, `cloudkeys sandbox` and
//! `cloudkeys demo`.
//!
//! One HTTP server on 127.0.0.1, one port, one in-memory world ([`State`]: one model of
//! accounts, users and keys for every cloud, keys indexed by id). Each request is routed to a
//! cloud by the scheme of its `Authorization` header (`AWS4-HMAC-SHA256` → [`aws`]); faults,
//! rate limits and counts apply alike to all, then the cloud's `Dialect` checks the real
//! request signature and answers in the cloud's real shapes. Built only with the `sandbox`
//! feature (the default).

/// `Debug` for a type holding secrets: its `fields`, then `***` for each of its `hidden` ones.
macro_rules! debug_hiding {
    ($type:ident { $($field:ident),* } hiding { $($hidden:ident),* }) => {
        impl std::fmt::Debug for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($type))
                    $(.field(stringify!($field), &self.$field))*
                    $(.field(stringify!($hidden), &"***"))*
                    .finish()
            }
        }
    };
}

/// A dialect's table of errors: rows `NAME = status code message;`, each a [`Wire`] const
/// (written as a table, where rustfmt would give each tuple five lines).
macro_rules! wire {
    ($($name:ident = $status:literal $code:tt $message:tt;)*) => {
        $(const $name: crate::sandbox::Wire = ($status, $code, $message);)*
    };
}

pub mod alibaba;
pub mod aws;
pub mod faults;
pub mod huawei;
pub mod organizations;
pub mod state;
pub mod tencent;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::http::{HeaderMap, HeaderValue, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use chrono::{DateTime, Utc};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::model::{KeyStatus, ProviderKind};
use crate::signing::{constant_time_eq, RequestParts};

pub use faults::{Effect, Fault};
use state::AwsRole;
pub use state::{Account, Cloud, Key, KeyOwner, Settings, State, Stats, TempKey, User};
/// The one model under the names each cloud's tests know it by.
pub type AwsAccount = Account;
pub type AwsUser = User;
pub type AwsKey = Key;

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

debug_hiding!(SandboxProfile {
    name, provider, access_key_id, region, account_id, user, project_id
} hiding { secret_access_key });

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

impl Incoming {
    /// A header's values joined with `,` as signers canonicalize them; `None` when absent or
    /// not text.
    pub fn header(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().ok())
            .collect::<Option<Vec<_>>>()?;
        (!values.is_empty()).then(|| values.join(","))
    }

    /// The (name, value) of every header a signature names, or the first one not sent.
    pub fn signed<'a>(&self, names: &'a [String]) -> Result<Vec<(String, String)>, &'a str> {
        names
            .iter()
            .map(|name| Ok((name.clone(), self.header(name).ok_or(name.as_str())?)))
            .collect()
    }

    /// Recomputes the request's signature with `compute` over the headers `names` (at `path`,
    /// the request's own when `None`) and compares it with `given`; `bad(Some(name))` when a
    /// named header is not sent, `bad(None)` when the signatures differ.
    pub fn verify<E>(
        &self,
        names: &[String],
        path: Option<&str>,
        compute: impl FnOnce(&RequestParts) -> String,
        given: &str,
        bad: impl Fn(Option<&str>) -> E,
    ) -> Result<(), E> {
        let signed = self.signed(names).map_err(|name| bad(Some(name)))?;
        let host = self.header("host").unwrap_or_default();
        let parts = RequestParts {
            method: self.method.as_str(),
            host: &host,
            path: path.unwrap_or(self.uri.path()),
            query: self.uri.query().unwrap_or(""),
            headers: &signed,
            body: &self.body,
        };
        match constant_time_eq(&compute(&parts), given) {
            true => Ok(()),
            false => Err(bad(None)),
        }
    }

    /// The URL query's pairs.
    pub fn query(&self) -> Vec<(String, String)> {
        crate::signing::parse_query(self.uri.query().unwrap_or(""))
    }

    /// The pairs of a form-encoded body.
    pub fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }
}

/// One emulated cloud's wire dialect: how its requests name their action, how it answers,
/// faults included, and the seed of its part of the world. Handlers share the one [`State`].
pub(crate) trait Dialect: Sync {
    /// The cloud's name for the call a request makes, as fault rules name it.
    fn action_of(&self, request: &Incoming) -> String;
    /// The cloud's own throttling or 5xx answer.
    fn fault(&self, throttled: bool) -> Response;
    /// The same for this request, where a cloud's services answer in different shapes.
    fn fault_for(&self, _request: &Incoming, throttled: bool) -> Response {
        self.fault(throttled)
    }
    /// Answers a request at `now`, under the state's lock.
    fn handle(&self, state: &mut State, request: &Incoming, now: DateTime<Utc>) -> Response;
}

/// A seed of one cloud's part of the world: the profiles it made for the CLI.
type SeedFn = fn(&mut State, Seed, DateTime<Utc>) -> Vec<SandboxProfile>;

/// Every cloud: its kind, the first word of its `Authorization` header, its dialect and seed,
/// in the order the seeds list their profiles.
static CLOUDS: [(ProviderKind, &str, &dyn Dialect, SeedFn); 4] = [
    (ProviderKind::Aws, aws::SCHEME, &aws::Aws, aws::seed),
    (
        ProviderKind::Alibaba,
        alibaba::SCHEME,
        &alibaba::Alibaba,
        alibaba::seed,
    ),
    (
        ProviderKind::Tencent,
        tencent::SCHEME,
        &tencent::Tencent,
        tencent::seed,
    ),
    (
        ProviderKind::Huawei,
        huawei::SCHEME,
        &huawei::Huawei,
        huawei::seed,
    ),
];

/// An error answer in any dialect: HTTP status, the cloud's code and message, and (Huawei)
/// whether the body repeats the request id and the encoded authorization message.
#[derive(Debug)]
pub(crate) struct Fail {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub bare: bool,
    pub detail: Option<String>,
}

pub(crate) fn fail(status: u16, code: impl Into<String>, message: impl Into<String>) -> Fail {
    let (code, message) = (code.into(), message.into());
    Fail {
        status,
        code,
        message,
        bare: false,
        detail: None,
    }
}

/// An error as a row of a dialect's table: (HTTP status, code, message); `?` makes it a [`Fail`].
pub(crate) type Wire = (u16, &'static str, &'static str);

impl From<Wire> for Fail {
    fn from((status, code, message): Wire) -> Self {
        fail(status, code, message)
    }
}

/// A row whose message has a `{}` for `arg`.
pub(crate) fn fill(wire: Wire, arg: impl std::fmt::Display) -> Fail {
    fail(wire.0, wire.1, wire.2.replacen("{}", &arg.to_string(), 1))
}

/// Why a credential may not sign, for each dialect to word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// No such key, or one not yet known (eventual consistency).
    Unknown,
    Disabled,
    NoToken,
    WrongToken,
    Expired,
}

/// The secret a credential signs with at `now`, and whether it is temporary: a known active
/// key, or temporary credentials sent with their own unexpired `token`.
pub(crate) fn signing_secret(
    cloud: &state::Cloud,
    id: &str,
    token: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(String, bool), Refused> {
    match Credential::find(cloud, id).ok_or(Refused::Unknown)? {
        Credential::Key(_, _, key) if !key.known(now) => Err(Refused::Unknown),
        Credential::Key(_, _, key) if !key.usable(now) => Err(Refused::Disabled),
        Credential::Key(_, _, key) => Ok((key.secret.clone(), false)),
        Credential::Temp(temp) => match token {
            None => Err(Refused::NoToken),
            Some(t) if !constant_time_eq(t, &temp.token) => Err(Refused::WrongToken),
            _ if temp.expires_at.is_some_and(|at| now >= at) => Err(Refused::Expired),
            _ => Ok((temp.secret.clone(), true)),
        },
    }
}

/// The status an update asks for, as AWS, Alibaba and Tencent spell it (`bad` for any other
/// word); `None` for a delete or a last-use read.
pub(crate) fn new_status(
    action: &str,
    status: impl FnOnce() -> Result<String, Fail>,
    bad: impl FnOnce(&str) -> Fail,
) -> Result<Option<KeyStatus>, Fail> {
    if action != "UpdateAccessKey" {
        return Ok(None);
    }
    match status()?.as_str() {
        "Active" => Ok(Some(KeyStatus::Active)),
        "Inactive" => Ok(Some(KeyStatus::Inactive)),
        other => Err(bad(other)),
    }
}

/// Whether `role`'s trust lets `caller` in: its account, or one of `principals` (`fold`: any
/// case), with the external id the trust may require, and (admins and role sessions only)
/// the caller's own right to assume roles.
pub(crate) fn trusts(
    role: &AwsRole,
    caller: &Caller,
    principals: &[&str],
    fold: bool,
    external_id: Option<&str>,
) -> bool {
    let same = |t: &str, p: &str| {
        if fold {
            t.eq_ignore_ascii_case(p)
        } else {
            t == p
        }
    };
    let trusted = role
        .trusted
        .iter()
        .any(|t| *t == caller.account_id || principals.iter().any(|p| !p.is_empty() && same(t, p)));
    let external_ok = role
        .external_id
        .as_deref()
        .is_none_or(|want| external_id == Some(want));
    trusted && external_ok && caller.may(false, false)
}

/// A role session name of `len` characters in `[A-Za-z0-9]` and `extra`.
pub(crate) fn session_name_ok(
    name: &str,
    len: std::ops::RangeInclusive<usize>,
    extra: &str,
) -> bool {
    len.contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
}

/// An answer with the cloud's content type and request-id header (none when `id_header` is
/// empty); no body when `body` is `None`.
pub(crate) fn reply(
    status: u16,
    content_type: &'static str,
    id_header: &'static str,
    request_id: &str,
    body: Option<String>,
) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match body {
        Some(body) => (status, body).into_response(),
        None => status.into_response(),
    };
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static(content_type));
    if let (false, Ok(value)) = (id_header.is_empty(), HeaderValue::from_str(request_id)) {
        headers.insert(id_header, value);
    }
    response
}

/// The fields of a JSON object (none for anything else).
pub(crate) fn object(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    match value {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

/// Request parameters by name (the first of a name wins).
pub(crate) struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A non-empty parameter, or `missing(name)`.
    pub fn require<E>(&self, name: &str, missing: impl FnOnce(&str) -> E) -> Result<&str, E> {
        self.get(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| missing(name))
    }
}

/// Why a list's page window is refused.
pub(crate) enum BadPage {
    Size,
    Marker,
}

/// `(start, size)` of a list page: `size` (in `1..=max`, `default` when absent) and a
/// `marker` we handed out (an offset).
pub(crate) fn page_window(
    size: Option<&str>,
    default: usize,
    max: usize,
    marker: Option<&str>,
) -> Result<(usize, usize), BadPage> {
    let size = match size {
        None => default,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or(BadPage::Size)?,
    };
    let start = match marker {
        None => 0,
        Some(marker) => state::decode_marker(marker).ok_or(BadPage::Marker)?,
    };
    Ok((start, size))
}

/// The marker of the page after `start..start + size` of `total` items, if any remain.
pub(crate) fn next_marker(total: usize, start: usize, size: usize, upper: bool) -> Option<String> {
    let end = start.saturating_add(size);
    (end < total).then(|| state::encode_marker(end, upper))
}

/// The actions every user may call on their own keys (AWS and Alibaba name them alike).
pub(crate) const SELF_SERVICE: [&str; 5] = [
    "ListAccessKeys",
    "CreateAccessKey",
    "UpdateAccessKey",
    "DeleteAccessKey",
    "GetAccessKeyLastUsed",
];

/// The user a key call names (AWS, Alibaba): `UserName` when given, checked by `check` (its
/// pattern, the caller's right) and then looked up, else the caller itself once `check(None)`
/// passes; `None` is the account itself.
pub(crate) fn target_user(
    account: &Account,
    caller: &Caller,
    params: &Params,
    check: impl FnOnce(Option<&str>) -> Result<(), Fail>,
    no_user: impl FnOnce(&str) -> Fail,
) -> Result<Option<String>, Fail> {
    let Some(name) = params.get("UserName").filter(|n| !n.is_empty()) else {
        check(None)?;
        return Ok(caller.user_name().map(str::to_string));
    };
    check(Some(name))?;
    account.user(name).ok_or_else(|| no_user(name))?;
    Ok(Some(name.to_string()))
}

/// Who signed a request, once its signature checked out.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub account_id: String,
    /// The user signing; `None` for the account itself (root) or an AWS role.
    pub user: Option<User>,
    /// Temporary credentials signing, if so.
    pub temp: Option<TempKey>,
    pub admin: bool,
    /// The action is in `Settings::denied_actions` (honoured by AWS and Alibaba).
    pub denied: bool,
}

impl Caller {
    pub fn user_name(&self) -> Option<&str> {
        self.user.as_ref().map(|u| u.name.as_str())
    }

    /// The assumed role's name and id and the session's name, when a role session signs.
    pub fn role_session(&self) -> Option<(&str, &str, &str)> {
        let temp = self.temp.as_ref()?;
        let (name, id) = temp.role.as_ref()?;
        Some((name, id, &temp.session_name))
    }

    /// The caller as a trust policy names it: a user by `user(name)`, a role session (with no
    /// user) by `role(name)`; empty for anyone else.
    pub fn principal(
        &self,
        user: impl Fn(&str) -> String,
        role: impl Fn(&str) -> String,
    ) -> String {
        match (self.user_name(), self.role_session()) {
            (Some(name), _) => user(name),
            (None, Some((name, ..))) => role(name),
            _ => String::new(),
        }
    }

    /// Admins (and root) may do anything not denied; others only `self_service` calls on
    /// their `own` keys.
    pub fn may(&self, self_service: bool, own: bool) -> bool {
        !self.denied && (self.admin || (self_service && own))
    }
}

/// A user without its keys: who a caller is.
fn identity(user: &User) -> User {
    User {
        keys: Vec::new(),
        ..user.clone()
    }
}

/// What a key id names in a cloud: a long-term key (with its account and user) or temporary
/// credentials.
pub(crate) enum Credential<'a> {
    Key(&'a Account, Option<&'a User>, &'a Key),
    Temp(&'a TempKey),
}

impl<'a> Credential<'a> {
    pub fn find(cloud: &'a state::Cloud, id: &str) -> Option<Credential<'a>> {
        // Temporary credentials first: few, and a miss in the key index rebuilds it.
        if let Some(temp) = cloud.temporary_key(id) {
            return Some(Credential::Temp(temp));
        }
        let (account, user, key) = cloud.key_entry(id)?;
        Some(Credential::Key(account, user, key))
    }
}

/// The end of every authentication: the caller of a verified credential, and the key's use
/// recorded (with AWS's service and region). Root, admins and AWS roles are admins.
pub(crate) fn caller(
    state: &mut State,
    kind: ProviderKind,
    id: &str,
    action: &str,
    now: DateTime<Utc>,
    place: Option<(String, String)>,
) -> Option<Caller> {
    let denied = state.settings.denied_actions.iter().any(|a| a == action);
    let cloud = state.cloud_mut(kind);
    let (account_id, user, temp) = match Credential::find(cloud, id)? {
        Credential::Key(account, user, _) => (account.account_id.clone(), user.map(identity), None),
        Credential::Temp(temp) => {
            let user = temp
                .user
                .as_deref()
                .and_then(|name| cloud.account(&temp.account_id)?.user(name).map(identity));
            (temp.account_id.clone(), user, Some(temp.clone()))
        }
    };
    cloud.touch(id, now, place);
    let admin = user.as_ref().is_none_or(|u| u.admin || u.root);
    Some(Caller {
        account_id,
        user,
        temp,
        admin,
        denied,
    })
}

impl Sandbox {
    /// Binds 127.0.0.1:`port` (0 picks a free port), seeds the state and serves in a
    /// spawned tokio task.
    pub async fn start(port: u16, seed: Seed) -> std::io::Result<Sandbox> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
        let addr = listener.local_addr()?;
        let mut state = State::default();
        let now = Utc::now();
        let profiles = CLOUDS
            .iter()
            .flat_map(|(.., seed_fn)| seed_fn(&mut state, seed, now))
            .collect();
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

/// A TOML basic string, escaped by the `toml` crate.
fn toml_string(value: &str) -> String {
    toml::Value::String(value.to_string()).to_string()
}

/// A bare TOML key where the name allows one, else a quoted one.
fn toml_key(name: &str) -> String {
    let bare = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    match !name.is_empty() && name.bytes().all(bare) {
        true => name.to_string(),
        false => toml_string(name),
    }
}

/// A key a seed makes: its holder (`None`: the account itself), age and last use in days,
/// whether it is active, and (AWS) the service and region of its last use.
pub(crate) struct SeedKey(
    pub Option<&'static str>,
    pub i64,
    pub Option<i64>,
    pub bool,
    pub Option<(&'static str, &'static str)>,
);

/// The users every cloud's test seed has: (name, admin, age in days).
pub(crate) const TEST_USERS: [(&str, bool, i64); 4] = [
    ("admin", true, 900),
    ("alice", false, 400),
    ("bob", false, 600),
    ("carol", false, 30),
];

/// The keys every cloud's test seed has: admin's (the profile's), alice's old used one and
/// new one, bob's inactive one.
pub(crate) const TEST_KEYS: [SeedKey; 4] = [
    SeedKey(Some("admin"), 90, None, true, None),
    SeedKey(
        Some("alice"),
        200,
        Some(100),
        true,
        Some(("s3", "us-east-1")),
    ),
    SeedKey(Some("alice"), 10, None, true, None),
    SeedKey(Some("bob"), 400, None, false, None),
];

/// The second member of a test organization: user `erin` with one active 200-day-old key
/// (used a day ago), reached only through `role`.
pub(crate) fn seed_second_member(
    state: &mut State,
    kind: ProviderKind,
    account_id: &str,
    role: state::AwsRole,
    now: DateTime<Utc>,
) {
    let mut second = with_users(Account::new(kind, account_id), &[("erin", false, 90)], now);
    second.roles = vec![role];
    let key = SeedKey(Some("erin"), 200, Some(1), true, None);
    seed_account(state, second, &[key], now);
}

/// The users of every cloud's member account: carol, and dave its admin.
pub(crate) const MEMBER_USERS: [(&str, bool, i64); 2] = [("carol", false, 200), ("dave", true, 50)];

/// The member account's keys: carol's used one, dave's new one.
pub(crate) const MEMBER_KEYS: [SeedKey; 2] = [
    SeedKey(Some("carol"), 120, Some(3), true, Some(("s3", "us-east-1"))),
    SeedKey(Some("dave"), 20, None, true, None),
];

/// `account` with `users` (name, admin, age in days) added.
pub(crate) fn with_users(
    mut account: Account,
    users: &[(&str, bool, i64)],
    now: DateTime<Utc>,
) -> Account {
    for (name, admin, age) in users {
        account.add_user(name, *admin, now - chrono::Duration::days(*age));
    }
    account
}

/// Seeds a member account (no profile holds a key of it) with its `roles`, which let the
/// test account in: `KeyAuditor` trusts it, `KeyAdmin` only `KeyAuditor` (a chain).
pub(crate) fn seed_member(
    state: &mut State,
    mut account: Account,
    roles: Vec<AwsRole>,
    now: DateTime<Utc>,
) {
    account.roles = roles;
    seed_account(state, account, &MEMBER_KEYS, now);
}

/// Puts a seeded account in its cloud with `keys`; returns the first key's (id, secret).
pub(crate) fn seed_account(
    state: &mut State,
    account: Account,
    keys: &[SeedKey],
    now: DateTime<Utc>,
) -> (String, String) {
    let days = chrono::Duration::days;
    let delay = state.settings.new_key_delay;
    let account_id = account.account_id.clone();
    let cloud = state.cloud_mut(account.kind);
    cloud.accounts.push(account);
    let mut first = None;
    for SeedKey(user, age, used, active, place) in keys {
        let made = cloud.add_key(&account_id, *user, now - days(*age), delay);
        let key = cloud.find_key_mut(&made.0).expect("just made");
        key.last_used = used.map(|d| now - days(d));
        key.last_used_in = place.map(|(s, r)| (s.to_string(), r.to_string()));
        if !active {
            key.status = crate::model::KeyStatus::Inactive;
        }
        first.get_or_insert(made);
    }
    first.expect("a seed makes keys")
}

/// A profile of the seeded credentials.
pub(crate) fn profile(
    provider: ProviderKind,
    name: &str,
    region: &str,
    account_id: &str,
    user: Option<&str>,
    (access_key_id, secret_access_key): (String, String),
) -> SandboxProfile {
    SandboxProfile {
        name: name.to_string(),
        provider,
        access_key_id,
        secret_access_key,
        region: region.to_string(),
        account_id: account_id.to_string(),
        user: user.map(str::to_string),
        project_id: None,
    }
}

/// The cloud a request is for and its dialect, by its `Authorization` scheme.
fn dialect_of(request: &Incoming) -> Option<(ProviderKind, &'static dyn Dialect)> {
    let authorization = request.header("authorization").unwrap_or_default();
    let scheme = authorization.split_whitespace().next().unwrap_or("");
    let found = CLOUDS.iter().find(|(_, s, ..)| *s == scheme);
    found.map(|(kind, _, dialect, _)| (*kind, *dialect))
}

/// Answers one request: injected faults first, then the cloud's handler at the sandbox's
/// (possibly skewed) time, with a `Date` header telling that time as real servers do.
async fn serve(state: &Mutex<State>, request: &Incoming) -> Response {
    let Some((cloud, dialect)) = dialect_of(request) else {
        return aws::missing_authentication();
    };
    let action = dialect.action_of(request);
    let (effects, skew, over_rate) = {
        let mut guard = lock(state);
        let skew = guard.settings.clock_skew;
        guard.stats.requests += 1;
        *guard.stats.by_action.entry(action.clone()).or_insert(0) += 1;
        guard.cloud_mut(cloud).log_call(&action);
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
        return dialect.fault_for(request, true);
    }
    let mut lose_answer = false;
    let mut truncate = false;
    for effect in &effects {
        match effect {
            Effect::Latency(delay) => tokio::time::sleep(*delay).await,
            Effect::Throttle | Effect::ServerError => {
                return dialect.fault_for(request, *effect == Effect::Throttle);
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
        .header("authorization")
        .as_deref()
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

/// Routes a request to its cloud's handler, under the state's lock.
pub fn dispatch(
    state: &Mutex<State>,
    request: &Incoming,
    cloud: ProviderKind,
    now: DateTime<Utc>,
) -> Response {
    let (.., dialect, _) = CLOUDS
        .iter()
        .find(|(kind, ..)| *kind == cloud)
        .expect("every cloud");
    dialect.handle(&mut lock(state), request, now)
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
