//! Alibaba Cloud RAM (2015-05-01) + STS (2015-04-01) key APIs over the sandbox state: RPC
//! style, ACS3-HMAC-SHA256 checked with our signer's `compute`, JSON answers and the real
//! error envelope `{"RequestId","HostId","Code","Message","Recommend"}`.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use rand::Rng;
use serde_json::{json, Map, Value};

use super::state::State;
use super::{lock, Incoming, SandboxProfile, Seed};
use crate::model::{KeyStatus, ProviderKind};
use crate::providers::alibaba::api::{IMS_VERSION, RAM_VERSION, STS_VERSION};
use crate::providers::alibaba::signer::{self, SigningKey};
use crate::signing::{constant_time_eq, sha256_hex, RequestParts};

/// The account of the test seed (and the first of the demo seed).
pub const TEST_ACCOUNT: &str = "1968132000123456";
/// The second account of the demo seed.
pub const DEMO_ACCOUNT: &str = "5123987600554321";
const REGION: &str = "cn-hangzhou";
/// `x-acs-date` must be within this many minutes of the server's clock.
const MAX_SKEW_MINUTES: i64 = 15;
const MAX_KEYS_PER_USER: usize = 2;
/// Users per `ListUsers` page of the test seed, whatever `MaxItems` asks: paging is exercised.
pub const TEST_PAGE_SIZE: usize = 3;

/// The Alibaba side of the sandbox world.
#[derive(Debug, Default)]
pub struct AlibabaWorld {
    pub accounts: Vec<AlibabaAccount>,
    /// Signature nonces already seen, with when: a repeat is refused (SignatureNonceUsed).
    pub nonces: HashMap<String, DateTime<Utc>>,
    /// At most this many users per `ListUsers` page, whatever `MaxItems` asks.
    pub page_size_cap: Option<usize>,
    /// Error answers (HTTP status, code) given, in order, to the next requests before anything
    /// else is looked at: how the tests provoke throttling and server faults.
    pub inject: VecDeque<(u16, String)>,
    /// Every action asked for, in order (`x-acs-action`), including refused ones.
    pub calls: Vec<String>,
}

/// One Alibaba Cloud account: its RAM users, and the account's own (root) keys.
#[derive(Debug, Clone)]
pub struct AlibabaAccount {
    /// 16 digits.
    pub account_id: String,
    pub users: Vec<AlibabaUser>,
    pub root_keys: Vec<AlibabaKey>,
    /// The last user credential report: when it was made and its CSV rows (header first), a
    /// snapshot as IMS keeps it.
    pub credential_report: Option<(DateTime<Utc>, Vec<String>)>,
}

/// A RAM user.
#[derive(Debug, Clone)]
pub struct AlibabaUser {
    pub name: String,
    /// 16 digits.
    pub user_id: String,
    pub display_name: String,
    /// An admin (AliyunRAMFullAccess) may do anything in its account; others only manage
    /// their own keys (the console's "users manage their own AccessKeys" setting).
    pub admin: bool,
    pub created_at: DateTime<Utc>,
    pub keys: Vec<AlibabaKey>,
}

/// An AccessKey pair. `Debug` never shows the secret.
#[derive(Clone)]
pub struct AlibabaKey {
    pub access_key_id: String,
    pub secret: String,
    pub status: KeyStatus,
    pub created_at: DateTime<Utc>,
    /// When it last signed a request.
    pub last_used: Option<DateTime<Utc>>,
    /// Refused as not found before this time (eventual consistency).
    pub usable_after: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for AlibabaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlibabaKey")
            .field("access_key_id", &self.access_key_id)
            .field("secret", &"***")
            .field("status", &self.status)
            .field("created_at", &self.created_at)
            .field("last_used", &self.last_used)
            .field("usable_after", &self.usable_after)
            .finish()
    }
}

impl AlibabaAccount {
    pub fn new(account_id: &str) -> Self {
        AlibabaAccount {
            account_id: account_id.to_string(),
            users: Vec::new(),
            root_keys: Vec::new(),
            credential_report: None,
        }
    }

    pub fn user(&self, name: &str) -> Option<&AlibabaUser> {
        self.users.iter().find(|u| u.name == name)
    }

    /// Keys of a RAM user, or of the account itself when `user` is `None`.
    pub fn keys(&self, user: Option<&str>) -> Option<&Vec<AlibabaKey>> {
        match user {
            Some(name) => self.user(name).map(|u| &u.keys),
            None => Some(&self.root_keys),
        }
    }

    pub fn keys_mut(&mut self, user: Option<&str>) -> Option<&mut Vec<AlibabaKey>> {
        match user {
            Some(name) => self
                .users
                .iter_mut()
                .find(|u| u.name == name)
                .map(|u| &mut u.keys),
            None => Some(&mut self.root_keys),
        }
    }

    /// Adds a RAM user with a fresh user id.
    pub fn add_user(
        &mut self,
        name: &str,
        display_name: &str,
        admin: bool,
        created_at: DateTime<Utc>,
    ) {
        self.users.push(AlibabaUser {
            name: name.to_string(),
            user_id: random_digits(16),
            display_name: display_name.to_string(),
            admin,
            created_at,
            keys: Vec::new(),
        });
    }
}

/// Who owns a key: the account, and the RAM user (`None` for the account itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlibabaOwner {
    pub account_id: String,
    pub user: Option<String>,
}

impl AlibabaWorld {
    pub fn account(&self, account_id: &str) -> Option<&AlibabaAccount> {
        self.accounts.iter().find(|a| a.account_id == account_id)
    }

    pub fn account_mut(&mut self, account_id: &str) -> Option<&mut AlibabaAccount> {
        self.accounts
            .iter_mut()
            .find(|a| a.account_id == account_id)
    }

    /// Finds a key in any account.
    pub fn find_key(&self, access_key_id: &str) -> Option<(AlibabaOwner, &AlibabaKey)> {
        for account in &self.accounts {
            let owner = |user: Option<&str>| AlibabaOwner {
                account_id: account.account_id.clone(),
                user: user.map(str::to_string),
            };
            if let Some(key) = account
                .root_keys
                .iter()
                .find(|k| k.access_key_id == access_key_id)
            {
                return Some((owner(None), key));
            }
            for user in &account.users {
                if let Some(key) = user.keys.iter().find(|k| k.access_key_id == access_key_id) {
                    return Some((owner(Some(&user.name)), key));
                }
            }
        }
        None
    }

    pub fn find_key_mut(&mut self, access_key_id: &str) -> Option<&mut AlibabaKey> {
        self.accounts.iter_mut().find_map(|account| {
            account
                .root_keys
                .iter_mut()
                .chain(account.users.iter_mut().flat_map(|u| u.keys.iter_mut()))
                .find(|k| k.access_key_id == access_key_id)
        })
    }

    /// Creates an active key for a RAM user (or the account itself when `user` is `None`) and
    /// returns its (id, secret). It is usable from `created_at + delay`.
    ///
    /// # Panics
    /// When the account or the user does not exist (callers check first).
    pub fn add_key(
        &mut self,
        account: &str,
        user: Option<&str>,
        created_at: DateTime<Utc>,
        delay: std::time::Duration,
    ) -> (String, String) {
        let mut id = new_key_id();
        while self.find_key(&id).is_some() {
            id = new_key_id();
        }
        let secret = new_secret();
        let usable_after = (!delay.is_zero())
            .then(|| created_at + Duration::from_std(delay).unwrap_or(Duration::MAX));
        let keys = self
            .account_mut(account)
            .unwrap_or_else(|| panic!("sandbox: no Alibaba account {account}"))
            .keys_mut(user)
            .unwrap_or_else(|| panic!("sandbox: no RAM user {user:?} in account {account}"));
        keys.push(AlibabaKey {
            access_key_id: id.clone(),
            secret: secret.clone(),
            status: KeyStatus::Active,
            created_at,
            last_used: None,
            usable_after,
        });
        (id, secret)
    }
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn random_string(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
        .collect()
}

fn random_digits(len: usize) -> String {
    let mut rng = rand::thread_rng();
    let mut out = String::with_capacity(len);
    out.push(char::from(b'1' + rng.gen_range(0..9u8)));
    for _ in 1..len {
        out.push(char::from(b'0' + rng.gen_range(0..10u8)));
    }
    out
}

/// `LTAI5t` + 18 letters and digits: 24 characters, as keys made today look.
pub fn new_key_id() -> String {
    format!("LTAI5t{}", random_string(ALNUM, 18))
}

/// 30 letters and digits.
pub fn new_secret() -> String {
    random_string(ALNUM, 30)
}

/// An error answer.
#[derive(Debug)]
struct AliError {
    status: u16,
    code: String,
    message: String,
}

fn err(status: u16, code: &str, message: impl Into<String>) -> AliError {
    AliError {
        status,
        code: code.to_string(),
        message: message.into(),
    }
}

fn missing(name: &str) -> AliError {
    err(
        400,
        &format!("Missing{name}"),
        format!("{name} is mandatory for this action."),
    )
}

fn no_such_user() -> AliError {
    err(404, "EntityNotExist.User", "The user does not exist.")
}

fn no_such_key() -> AliError {
    err(
        404,
        "EntityNotExist.User.AccessKey",
        "The access key does not exist.",
    )
}

fn key_not_found() -> AliError {
    err(
        404,
        "InvalidAccessKeyId.NotFound",
        "Specified access key is not found.",
    )
}

fn signature_mismatch() -> AliError {
    err(
        400,
        "SignatureDoesNotMatch",
        "Specified signature does not match our calculation.",
    )
}

fn incomplete(message: impl Into<String>) -> AliError {
    err(400, "IncompleteSignature", message)
}

fn time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string().to_ascii_uppercase()
}

fn json_response(status: u16, body: &Value, request_id: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/json;charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert("x-acs-request-id", value);
    }
    response
}

fn error_response(error: &AliError, host_id: &str, product: &str) -> Response {
    let request_id = new_request_id();
    let body = json!({
        "RequestId": request_id,
        "HostId": host_id,
        "Code": error.code,
        "Message": error.message,
        "Recommend": format!(
            "https://api.aliyun.com/troubleshoot?q={}&product={product}&requestId={request_id}",
            error.code
        ),
    });
    json_response(error.status, &body, &request_id)
}

/// The caller: owner of the signing key.
struct Caller {
    account_id: String,
    /// `None` for the account itself.
    user: Option<String>,
    admin: bool,
    /// Actions refused to this caller whatever its rights (`Settings::denied_actions`).
    denied: Vec<String>,
}

impl Caller {
    /// Admins and the account may do anything in the account; other users only act on their
    /// own keys.
    fn authorize(&self, action: &str, target: Option<&str>) -> Result<(), AliError> {
        let denied = self.denied.iter().any(|a| a == action);
        if self.admin && !denied {
            return Ok(());
        }
        let own = target.is_some() && target == self.user.as_deref();
        let self_service = matches!(
            action,
            "ListAccessKeys"
                | "CreateAccessKey"
                | "UpdateAccessKey"
                | "DeleteAccessKey"
                | "GetAccessKeyLastUsed"
        );
        if own && self_service && !denied {
            return Ok(());
        }
        Err(err(
            403,
            "NoPermission",
            "You are not authorized to do this action. You should be authorized by RAM.",
        ))
    }
}

/// Parameters from the URL query and, for a form body, the body.
struct Params(Vec<(String, String)>);

impl Params {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn require(&self, name: &str) -> Result<&str, AliError> {
        self.get(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| missing(name))
    }
}

fn header(request: &Incoming, name: &str) -> Option<String> {
    let values: Vec<&str> = request
        .headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().ok())
        .collect::<Option<Vec<_>>>()?;
    (!values.is_empty()).then(|| values.join(","))
}

/// Which API an action belongs to: (product for `Recommend`, default host, version).
fn api_of(action: &str) -> (&'static str, &'static str, &'static str) {
    if action == "GetCallerIdentity" {
        ("Sts", "sts.aliyuncs.com", STS_VERSION)
    } else if IMS_ACTIONS.contains(&action) {
        ("Ims", "ims.aliyuncs.com", IMS_VERSION)
    } else {
        ("Ram", "ram.aliyuncs.com", RAM_VERSION)
    }
}

const RAM_ACTIONS: [&str; 6] = [
    "ListUsers",
    "ListAccessKeys",
    "CreateAccessKey",
    "UpdateAccessKey",
    "DeleteAccessKey",
    "GetAccessKeyLastUsed",
];

/// IMS 2019-08-15 actions served: the user credential report.
const IMS_ACTIONS: [&str; 2] = ["GenerateCredentialReport", "GetCredentialReport"];

/// The action a request asks for (`x-acs-action`), as fault rules name it.
pub fn action_of(request: &Incoming) -> String {
    header(request, "x-acs-action").unwrap_or_default()
}

/// Alibaba's answers to an injected fault: `Throttling.User` (400) or `ServiceUnavailable` (503).
pub fn fault_response(throttled: bool) -> Response {
    let error = if throttled {
        err(
            400,
            "Throttling.User",
            "Request was denied due to user flow control.",
        )
    } else {
        err(
            503,
            "ServiceUnavailable",
            "The request has failed due to a temporary failure of the server.",
        )
    };
    error_response(&error, "ram.aliyuncs.com", "Ram")
}

/// Handles one ACS3-signed request.
pub fn handle(state: &Mutex<State>, request: &Incoming, now: DateTime<Utc>) -> Response {
    let action = header(request, "x-acs-action").unwrap_or_default();
    let (product, default_host, _) = api_of(&action);
    let host_id = header(request, "host")
        .map(|h| h.split(':').next().unwrap_or_default().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| default_host.to_string());
    let mut guard = lock(state);
    let state: &mut State = &mut guard;
    state.alibaba.calls.push(action.clone());
    if let Some((status, code)) = state.alibaba.inject.pop_front() {
        let message = match code.as_str() {
            c if c.starts_with("Throttling") => "Request was denied due to user flow control.",
            "ServiceUnavailable" => {
                "The request has failed due to a temporary failure of the server."
            }
            _ => "The request processing has failed due to some unknown error.",
        };
        return error_response(&err(status, &code, message), &host_id, product);
    }
    let params = {
        let mut pairs = request
            .uri
            .query()
            .map(crate::signing::parse_query)
            .unwrap_or_default();
        let form = header(request, "content-type")
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        if form {
            pairs.extend(
                url::form_urlencoded::parse(&request.body)
                    .map(|(k, v)| (k.into_owned(), v.into_owned())),
            );
        }
        Params(pairs)
    };
    let caller = match authenticate(state, request, now) {
        Ok(caller) => caller,
        Err(error) => return error_response(&error, &host_id, product),
    };
    match run(state, &caller, &action, request, &params, now) {
        Ok(mut body) => {
            let request_id = new_request_id();
            body.insert("RequestId".into(), Value::String(request_id.clone()));
            json_response(200, &Value::Object(body), &request_id)
        }
        Err(error) => error_response(&error, &host_id, product),
    }
}

/// Checks the date window, the signed headers, the key, the signature and the nonce; records
/// the key's use; returns the caller.
fn authenticate(
    state: &mut State,
    request: &Incoming,
    now: DateTime<Utc>,
) -> Result<Caller, AliError> {
    let authorization = header(request, "authorization").unwrap_or_default();
    let parsed = signer::parse_authorization(&authorization)
        .ok_or_else(|| incomplete("The request signature does not conform to Aliyun standards."))?;
    let require = |name: &str| {
        header(request, name).filter(|v| !v.is_empty()).ok_or_else(|| {
            err(
                400,
                "MissingParameter",
                format!(
                    "The input parameter \"{name}\" that is mandatory for processing this request is not supplied."
                ),
            )
        })
    };
    let date = require("x-acs-date")?;
    let nonce = require("x-acs-signature-nonce")?;
    let content_sha256 = require("x-acs-content-sha256")?;
    let signed_at = NaiveDateTime::parse_from_str(&date, "%Y-%m-%dT%H:%M:%SZ")
        .map_err(|_| {
            err(
                400,
                "IllegalTimestamp",
                format!("The input parameter \"x-acs-date\" that is \"{date}\" is not a valid ISO 8601 UTC time (yyyy-MM-ddTHH:mm:ssZ)."),
            )
        })?
        .and_utc();
    if (signed_at - now).abs() > Duration::minutes(MAX_SKEW_MINUTES) {
        // The gateway's exact words (RAM, Alidns, … alike), too old or too new.
        return Err(err(
            400,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        ));
    }
    // Every x-acs-* header sent, host and content-type must be signed.
    for name in request.headers.keys() {
        let name = name.as_str();
        let must_sign = name == "host" || name == "content-type" || name.starts_with("x-acs-");
        if must_sign && !parsed.signed_headers.iter().any(|h| h == name) {
            return Err(incomplete(format!(
                "The request signature does not conform to Aliyun standards: header {name} is not signed."
            )));
        }
    }
    let (owner, key) = state
        .alibaba
        .find_key(&parsed.access_key_id)
        .ok_or_else(key_not_found)?;
    if key.usable_after.is_some_and(|t| now < t) {
        return Err(key_not_found());
    }
    if key.status != KeyStatus::Active {
        return Err(err(
            400,
            "InvalidAccessKeyId.Inactive",
            "Specified access key is disabled.",
        ));
    }
    if content_sha256 != sha256_hex(&request.body) {
        return Err(signature_mismatch());
    }
    let mut signed: Vec<(String, String)> = Vec::with_capacity(parsed.signed_headers.len());
    for name in &parsed.signed_headers {
        let value = header(request, name).ok_or_else(|| {
            incomplete(format!(
                "The request signature does not conform to Aliyun standards: signed header {name} is not sent."
            ))
        })?;
        signed.push((name.clone(), value));
    }
    let host = header(request, "host").unwrap_or_default();
    let expected = signer::compute(
        &SigningKey {
            access_key_id: &parsed.access_key_id,
            access_key_secret: &key.secret,
            security_token: None,
        },
        &RequestParts {
            method: request.method.as_str(),
            host: &host,
            path: request.uri.path(),
            query: request.uri.query().unwrap_or(""),
            headers: &signed,
            body: &request.body,
        },
    );
    if !constant_time_eq(&expected.signature, &parsed.signature) {
        return Err(signature_mismatch());
    }
    let denied = state.settings.denied_actions.clone();
    // Only a correctly signed request spends its nonce.
    let world = &mut state.alibaba;
    let horizon = now - Duration::minutes(2 * MAX_SKEW_MINUTES);
    world.nonces.retain(|_, seen| *seen > horizon);
    if world.nonces.contains_key(&nonce) {
        return Err(err(
            400,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        ));
    }
    world.nonces.insert(nonce, now);
    let admin = match &owner.user {
        None => true,
        Some(name) => world
            .account(&owner.account_id)
            .and_then(|a| a.user(name))
            .is_some_and(|u| u.admin),
    };
    if let Some(key) = world.find_key_mut(&parsed.access_key_id) {
        key.last_used = Some(now);
    }
    Ok(Caller {
        account_id: owner.account_id,
        user: owner.user,
        admin,
        denied,
    })
}

fn valid_user_name(name: &str) -> Result<(), AliError> {
    if name.is_empty() || name.chars().count() > 64 {
        return Err(err(
            400,
            "InvalidParameter.UserName.Length",
            "The parameter - UserName beyond the length limit (1-64).",
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'@' | b'-' | b'_'))
    {
        return Err(err(
            400,
            "InvalidParameter.UserName.InvalidChars",
            "The parameter - UserName contains invalid chars.",
        ));
    }
    Ok(())
}

/// The owner a key action is about: `UserName` (checked, authorized, must exist) or the
/// caller. `None` means the account itself.
fn target_user(
    world: &AlibabaWorld,
    caller: &Caller,
    action: &str,
    params: &Params,
) -> Result<Option<String>, AliError> {
    match params.get("UserName").filter(|n| !n.is_empty()) {
        Some(name) => {
            valid_user_name(name)?;
            caller.authorize(action, Some(name))?;
            world
                .account(&caller.account_id)
                .and_then(|a| a.user(name))
                .ok_or_else(no_such_user)?;
            Ok(Some(name.to_string()))
        }
        None => {
            caller.authorize(action, caller.user.as_deref())?;
            Ok(caller.user.clone())
        }
    }
}

fn wire_status(status: KeyStatus) -> &'static str {
    match status {
        KeyStatus::Active => "Active",
        KeyStatus::Inactive => "Inactive",
    }
}

fn encode_marker(offset: usize) -> String {
    hex::encode(format!("cloudkeys-sandbox:{offset}")).to_ascii_uppercase()
}

fn decode_marker(marker: &str) -> Option<usize> {
    let raw = String::from_utf8(hex::decode(marker).ok()?).ok()?;
    raw.strip_prefix("cloudkeys-sandbox:")?.parse().ok()
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Runs an authenticated action and returns the answer's fields (`RequestId` added later).
fn run(
    state: &mut State,
    caller: &Caller,
    action: &str,
    request: &Incoming,
    params: &Params,
    now: DateTime<Utc>,
) -> Result<Map<String, Value>, AliError> {
    let version = header(request, "x-acs-version").unwrap_or_default();
    if action.is_empty() {
        return Err(err(
            400,
            "MissingParameter",
            "The input parameter \"x-acs-action\" that is mandatory for processing this request is not supplied.",
        ));
    }
    if action != "GetCallerIdentity"
        && !RAM_ACTIONS.contains(&action)
        && !IMS_ACTIONS.contains(&action)
    {
        return Err(err(
            404,
            "InvalidAction.NotFound",
            format!("Specified api {action} is not found, please check your url and method."),
        ));
    }
    let (_, _, expected_version) = api_of(action);
    if version != expected_version {
        return Err(err(
            400,
            "InvalidVersion",
            format!("Specified parameter Version \"{version}\" is not valid."),
        ));
    }
    let delay = state.settings.new_key_delay;
    let world = &mut state.alibaba;
    let account = |world: &AlibabaWorld| -> Result<AlibabaAccount, AliError> {
        world
            .account(&caller.account_id)
            .cloned()
            .ok_or_else(key_not_found)
    };
    match action {
        "GetCallerIdentity" => {
            let account_id = &caller.account_id;
            Ok(object(match &caller.user {
                None => json!({
                    "IdentityType": "Account",
                    "AccountId": account_id,
                    "PrincipalId": account_id,
                    "UserId": account_id,
                    "Arn": format!("acs:ram::{account_id}:root"),
                }),
                Some(name) => {
                    let user_id = account(world)?
                        .user(name)
                        .map(|u| u.user_id.clone())
                        .ok_or_else(key_not_found)?;
                    json!({
                        "IdentityType": "RAMUser",
                        "AccountId": account_id,
                        "PrincipalId": user_id,
                        "UserId": user_id,
                        "Arn": format!("acs:ram::{account_id}:user/{name}"),
                    })
                }
            }))
        }
        "ListUsers" => {
            caller.authorize(action, None)?;
            let max = match params.get("MaxItems") {
                None => 100,
                Some(raw) => raw
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| {
                        err(
                            400,
                            "InvalidParameter.MaxItems",
                            "The parameter - MaxItems must be between 1 and 1000.",
                        )
                    })?,
            };
            let max = world.page_size_cap.map_or(max, |cap| max.min(cap.max(1)));
            let start = match params.get("Marker").filter(|m| !m.is_empty()) {
                None => 0,
                Some(marker) => decode_marker(marker).ok_or_else(|| {
                    err(
                        400,
                        "InvalidParameter.Marker",
                        "The parameter - Marker is invalid.",
                    )
                })?,
            };
            let account = account(world)?;
            let users: Vec<Value> = account
                .users
                .iter()
                .skip(start)
                .take(max)
                .map(|u| {
                    json!({
                        "UserId": u.user_id,
                        "UserName": u.name,
                        "DisplayName": u.display_name,
                        "CreateDate": time(&u.created_at),
                        "UpdateDate": time(&u.created_at),
                    })
                })
                .collect();
            let end = start.saturating_add(max);
            let mut out = Map::new();
            if end < account.users.len() {
                out.insert("IsTruncated".into(), Value::Bool(true));
                out.insert("Marker".into(), Value::String(encode_marker(end)));
            } else {
                out.insert("IsTruncated".into(), Value::Bool(false));
            }
            out.insert("Users".into(), json!({ "User": users }));
            Ok(out)
        }
        "ListAccessKeys" => {
            let user = target_user(world, caller, action, params)?;
            let account = account(world)?;
            let keys: Vec<Value> = account
                .keys(user.as_deref())
                .ok_or_else(no_such_user)?
                .iter()
                .map(|k| {
                    json!({
                        "AccessKeyId": k.access_key_id,
                        "Status": wire_status(k.status),
                        "CreateDate": time(&k.created_at),
                    })
                })
                .collect();
            Ok(object(json!({ "AccessKeys": { "AccessKey": keys } })))
        }
        "CreateAccessKey" => {
            let user = target_user(world, caller, action, params)?;
            let count = account(world)?.keys(user.as_deref()).map_or(0, Vec::len);
            if count >= MAX_KEYS_PER_USER {
                return Err(err(
                    409,
                    "LimitExceeded.User.AccessKey",
                    format!(
                        "The count of AccessKeys of the user exceeds the limit ({MAX_KEYS_PER_USER})."
                    ),
                ));
            }
            let (id, secret) = world.add_key(&caller.account_id, user.as_deref(), now, delay);
            Ok(object(json!({
                "AccessKey": {
                    "AccessKeyId": id,
                    "AccessKeySecret": secret,
                    "Status": "Active",
                    "CreateDate": time(&now),
                }
            })))
        }
        "UpdateAccessKey" | "DeleteAccessKey" | "GetAccessKeyLastUsed" => {
            let id = params.require("UserAccessKeyId")?.to_string();
            let status = if action == "UpdateAccessKey" {
                Some(match params.require("Status")? {
                    "Active" => KeyStatus::Active,
                    "Inactive" => KeyStatus::Inactive,
                    _ => {
                        return Err(err(
                            400,
                            "InvalidParameter.Status",
                            "The parameter - Status must be Active or Inactive.",
                        ))
                    }
                })
            } else {
                None
            };
            let user = target_user(world, caller, action, params)?;
            let keys = world
                .account_mut(&caller.account_id)
                .and_then(|a| a.keys_mut(user.as_deref()))
                .ok_or_else(no_such_key)?;
            let index = keys
                .iter()
                .position(|k| k.access_key_id == id)
                .ok_or_else(no_such_key)?;
            match action {
                "UpdateAccessKey" => {
                    if let Some(status) = status {
                        keys[index].status = status;
                    }
                    Ok(Map::new())
                }
                "DeleteAccessKey" => {
                    keys.remove(index);
                    Ok(Map::new())
                }
                _ => {
                    let mut used = Map::new();
                    if let Some(at) = &keys[index].last_used {
                        used.insert("LastUsedDate".into(), Value::String(time(at)));
                    }
                    Ok(object(json!({ "AccessKeyLastUsed": used })))
                }
            }
        }
        "GenerateCredentialReport" => {
            caller.authorize(action, None)?;
            let account = world
                .account_mut(&caller.account_id)
                .ok_or_else(key_not_found)?;
            // A new report at most every 4 hours; until then the last one is it.
            let fresh = account
                .credential_report
                .as_ref()
                .is_some_and(|(at, _)| now - *at < Duration::hours(4));
            if fresh {
                return Ok(object(json!({ "State": "COMPLETED" })));
            }
            account.credential_report = Some((now, credential_report(account)));
            Ok(object(json!({ "State": "STARTED" })))
        }
        "GetCredentialReport" => {
            use base64::Engine as _;
            caller.authorize(action, None)?;
            let max = match params.get("MaxItems").filter(|m| !m.is_empty()) {
                None => 3501,
                Some(raw) => raw
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=3501).contains(n))
                    .ok_or_else(|| {
                        err(
                            400,
                            "InvalidParameter.MaxItems",
                            "The parameter - MaxItems must be between 1 and 3501.",
                        )
                    })?,
            };
            let start = match params.get("NextToken").filter(|t| !t.is_empty()) {
                None => 0,
                Some(token) => decode_marker(token).ok_or_else(|| {
                    err(
                        400,
                        "InvalidParameter.NextToken",
                        "The parameter - NextToken is invalid.",
                    )
                })?,
            };
            let account = world
                .account(&caller.account_id)
                .ok_or_else(key_not_found)?;
            // Not documented; the code is the one report readers test for "no report".
            let (at, rows) = account
                .credential_report
                .as_ref()
                .ok_or_else(|| err(404, "EntityNotExist.Report", "The report does not exist."))?;
            let (header, users) = rows
                .split_first()
                .map_or(("", &[][..]), |(h, u)| (h.as_str(), u));
            // Each page a CSV of its own, header first.
            let mut csv = format!("{header}\n");
            for row in users.iter().skip(start).take(max) {
                csv.push_str(row);
                csv.push('\n');
            }
            let end = start.saturating_add(max);
            let mut out = object(json!({
                "GeneratedTime": time(at),
                "Content": base64::engine::general_purpose::STANDARD.encode(csv),
            }));
            // The API reference gives IsTruncated as a string ("true").
            if end < users.len() {
                out.insert("IsTruncated".into(), Value::String("true".into()));
                out.insert("NextToken".into(), Value::String(encode_marker(end)));
            } else {
                out.insert("IsTruncated".into(), Value::String("false".into()));
            }
            Ok(out)
        }
        _ => Err(err(
            404,
            "InvalidAction.NotFound",
            "Specified api is not found, please check your url and method.",
        )),
    }
}

/// The user credential report's rows as IMS writes them: the header, the account itself as
/// `<root>`, then every RAM user by logon name (`name@<account>.onaliyun.com`); per key slot
/// whether it holds a key, is active, when it was made and last used (`N/A`: none). Keys past
/// the 2-key limit go into the `additional_access_key_N` slots.
fn credential_report(account: &AlibabaAccount) -> Vec<String> {
    const HEADER: &str = "user,user_creation_time,user_last_logon,password_exist,password_active,password_last_changed,password_next_rotation,mfa_active,access_key_1_exist,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used,access_key_2_exist,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used,additional_access_key_1_exist,additional_access_key_1_active,additional_access_key_1_last_rotated,additional_access_key_1_last_used,additional_access_key_2_exist,additional_access_key_2_active,additional_access_key_2_last_rotated,additional_access_key_2_last_used,additional_access_key_3_exist,additional_access_key_3_active,additional_access_key_3_last_rotated,additional_access_key_3_last_used";
    let flag = |b: bool| if b { "TRUE" } else { "FALSE" };
    let slots = |keys: &[AlibabaKey]| {
        let mut cells = String::new();
        for n in 0..5 {
            match keys.get(n) {
                Some(key) => {
                    let used = key.last_used.as_ref().map_or("N/A".to_string(), time);
                    cells.push_str(&format!(
                        ",TRUE,{},{},{used}",
                        flag(key.status == KeyStatus::Active),
                        time(&key.created_at)
                    ));
                }
                None => cells.push_str(",FALSE,N/A,N/A,N/A"),
            }
        }
        cells
    };
    let created = account
        .users
        .iter()
        .map(|u| u.created_at)
        .min()
        .unwrap_or_else(Utc::now);
    let mut rows = vec![
        HEADER.to_string(),
        format!(
            "<root>,{},-,TRUE,TRUE,N/A,N/A,FALSE{}",
            time(&created),
            slots(&account.root_keys)
        ),
    ];
    for user in &account.users {
        rows.push(format!(
            "{}@{}.onaliyun.com,{},-,FALSE,N/A,N/A,N/A,FALSE{}",
            user.name,
            account.account_id,
            time(&user.created_at),
            slots(&user.keys)
        ));
    }
    rows
}

/// Seeds the Alibaba side of the world and returns the profiles for the CLI.
pub fn seed(state: &mut State, seed: Seed, now: DateTime<Utc>) -> Vec<SandboxProfile> {
    let days = Duration::days;
    let none = std::time::Duration::ZERO;
    let world = &mut state.alibaba;
    let mut profiles = Vec::new();

    let mut account = AlibabaAccount::new(TEST_ACCOUNT);
    for (name, display, admin, age) in [
        ("admin", "Admin", true, 900),
        ("alice", "Alice", false, 400),
        ("bob", "Bob", false, 600),
        ("carol", "Carol", false, 30),
    ] {
        account.add_user(name, display, admin, now - days(age));
    }
    world.accounts.push(account);
    let (id, secret) = world.add_key(TEST_ACCOUNT, Some("admin"), now - days(90), none);
    profiles.push(profile(
        "alibaba-admin",
        TEST_ACCOUNT,
        Some("admin"),
        id,
        secret,
    ));
    let (old, _) = world.add_key(TEST_ACCOUNT, Some("alice"), now - days(200), none);
    set_last_used(world, &old, now - days(100));
    world.add_key(TEST_ACCOUNT, Some("alice"), now - days(10), none);
    let (inactive, _) = world.add_key(TEST_ACCOUNT, Some("bob"), now - days(400), none);
    if let Some(key) = world.find_key_mut(&inactive) {
        key.status = KeyStatus::Inactive;
    }

    match seed {
        Seed::Test => world.page_size_cap = Some(TEST_PAGE_SIZE),
        Seed::Demo => {
            let mut account = AlibabaAccount::new(DEMO_ACCOUNT);
            for (name, display, admin, age) in [
                ("ops", "运维管理员", true, 1100),
                ("deploy-bot", "Deploy bot", false, 700),
                ("zhang.wei", "张伟", false, 250),
                ("oss-backup", "OSS backup", false, 1500),
            ] {
                account.add_user(name, display, admin, now - days(age));
            }
            world.accounts.push(account);
            // This account is reached through its own (root) key, as many still are.
            let (id, secret) = world.add_key(DEMO_ACCOUNT, None, now - days(1300), none);
            set_last_used(world, &id, now - days(3));
            profiles.push(profile("alibaba-root", DEMO_ACCOUNT, None, id, secret));
            let (key, _) = world.add_key(DEMO_ACCOUNT, Some("ops"), now - days(60), none);
            set_last_used(world, &key, now - days(1));
            let (key, _) = world.add_key(DEMO_ACCOUNT, Some("deploy-bot"), now - days(500), none);
            set_last_used(world, &key, now - days(2));
            world.add_key(DEMO_ACCOUNT, Some("deploy-bot"), now - days(20), none);
            let (key, _) = world.add_key(DEMO_ACCOUNT, Some("zhang.wei"), now - days(120), none);
            set_last_used(world, &key, now - days(40));
            let (key, _) = world.add_key(DEMO_ACCOUNT, Some("oss-backup"), now - days(900), none);
            set_last_used(world, &key, now - days(450));
            if let Some(k) = world.find_key_mut(&key) {
                k.status = KeyStatus::Inactive;
            }
        }
    }
    profiles
}

fn set_last_used(world: &mut AlibabaWorld, id: &str, at: DateTime<Utc>) {
    if let Some(key) = world.find_key_mut(id) {
        key.last_used = Some(at);
    }
}

fn profile(
    name: &str,
    account_id: &str,
    user: Option<&str>,
    access_key_id: String,
    secret_access_key: String,
) -> SandboxProfile {
    SandboxProfile {
        name: name.to_string(),
        provider: ProviderKind::Alibaba,
        access_key_id,
        secret_access_key,
        region: REGION.to_string(),
        account_id: account_id.to_string(),
        user: user.map(str::to_string),
        project_id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes;
    use axum::http::{HeaderMap, HeaderName, Method};

    struct World {
        state: Mutex<State>,
        now: DateTime<Utc>,
        admin: SandboxProfile,
    }

    fn world() -> World {
        let now = Utc::now();
        let mut state = State::default();
        let profiles = seed(&mut state, Seed::Test, now);
        World {
            state: Mutex::new(state),
            now,
            admin: profiles.into_iter().next().unwrap(),
        }
    }

    /// What to send; `signed_query` lets a test sign one query and send another.
    struct Call<'a> {
        id: &'a str,
        secret: &'a str,
        action: &'a str,
        version: &'a str,
        query: &'a str,
        signed_query: Option<&'a str>,
        time: DateTime<Utc>,
        nonce: String,
        extra: Vec<(&'a str, &'a str)>,
    }

    impl World {
        fn call<'a>(&self, action: &'a str, query: &'a str) -> Call<'a> {
            let version = if action == "GetCallerIdentity" {
                STS_VERSION
            } else {
                RAM_VERSION
            };
            Call {
                id: "",
                secret: "",
                action,
                version,
                query,
                signed_query: None,
                time: self.now,
                nonce: uuid::Uuid::new_v4().simple().to_string(),
                extra: Vec::new(),
            }
        }

        fn admin_call<'a>(&'a self, action: &'a str, query: &'a str) -> Call<'a> {
            Call {
                id: &self.admin.access_key_id,
                secret: &self.admin.secret_access_key,
                ..self.call(action, query)
            }
        }

        async fn send(&self, call: &Call<'_>) -> (u16, Value) {
            let mut headers = vec![
                ("x-acs-action".to_string(), call.action.to_string()),
                ("x-acs-version".to_string(), call.version.to_string()),
            ];
            for (name, value) in &call.extra {
                headers.push((name.to_string(), value.to_string()));
            }
            let (added, _) = signer::sign(
                &SigningKey {
                    access_key_id: call.id,
                    access_key_secret: call.secret,
                    security_token: None,
                },
                &RequestParts {
                    method: "POST",
                    host: "ram.aliyuncs.com",
                    path: "/",
                    query: call.signed_query.unwrap_or(call.query),
                    headers: &headers,
                    body: b"",
                },
                call.time,
                &call.nonce,
            );
            let mut map = HeaderMap::new();
            map.insert("host", HeaderValue::from_static("ram.aliyuncs.com"));
            for (name, value) in headers.iter().chain(added.iter()) {
                map.append(
                    HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).unwrap(),
                    HeaderValue::from_str(value).unwrap(),
                );
            }
            let uri = if call.query.is_empty() {
                "/".to_string()
            } else {
                format!("/?{}", call.query)
            };
            let incoming = Incoming {
                method: Method::POST,
                uri: uri.parse().unwrap(),
                headers: map,
                body: Bytes::new(),
            };
            let response = handle(&self.state, &incoming, self.now);
            let status = response.status().as_u16();
            assert!(response.headers().contains_key("x-acs-request-id"));
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            (status, serde_json::from_slice(&body).unwrap())
        }

        fn key_of(&self, user: &str, index: usize) -> AlibabaKey {
            let state = lock(&self.state);
            state
                .alibaba
                .account(TEST_ACCOUNT)
                .unwrap()
                .user(user)
                .unwrap()
                .keys[index]
                .clone()
        }
    }

    fn assert_error(answer: &(u16, Value), status: u16, code: &str) {
        assert_eq!(answer.0, status, "{}", answer.1);
        assert_eq!(answer.1["Code"], code, "{}", answer.1);
        for field in ["RequestId", "HostId", "Message", "Recommend"] {
            assert!(answer.1[field].is_string(), "{field} in {}", answer.1);
        }
    }

    #[tokio::test]
    async fn a_signed_request_is_answered_and_marks_the_key_used() {
        let w = world();
        let answer = w.send(&w.admin_call("GetCallerIdentity", "")).await;
        assert_eq!(answer.0, 200, "{}", answer.1);
        assert_eq!(answer.1["IdentityType"], "RAMUser");
        assert_eq!(answer.1["AccountId"], TEST_ACCOUNT);
        assert_eq!(
            answer.1["Arn"],
            format!("acs:ram::{TEST_ACCOUNT}:user/admin")
        );
        assert!(answer.1["RequestId"].is_string());
        assert_eq!(answer.1["UserId"], answer.1["PrincipalId"]);
        let used = lock(&w.state)
            .alibaba
            .find_key(&w.admin.access_key_id)
            .unwrap()
            .1
            .last_used;
        assert_eq!(used, Some(w.now));
    }

    #[tokio::test]
    async fn bad_signatures_are_refused() {
        let w = world();
        let wrong = Call {
            secret: "not-the-secret-at-all-000000000",
            ..w.admin_call("GetCallerIdentity", "")
        };
        assert_error(&w.send(&wrong).await, 400, "SignatureDoesNotMatch");
        // Signed for alice, sent for bob.
        let tampered = Call {
            signed_query: Some("UserName=alice"),
            ..w.admin_call("ListAccessKeys", "UserName=bob")
        };
        assert_error(&w.send(&tampered).await, 400, "SignatureDoesNotMatch");
        let unknown = Call {
            id: "LTAI5tUnknownUnknownUnkn",
            secret: "x",
            ..w.call("GetCallerIdentity", "")
        };
        assert_error(&w.send(&unknown).await, 404, "InvalidAccessKeyId.NotFound");
        let bob = w.key_of("bob", 0);
        let inactive = Call {
            id: &bob.access_key_id,
            secret: &bob.secret,
            ..w.call("GetCallerIdentity", "")
        };
        assert_error(&w.send(&inactive).await, 400, "InvalidAccessKeyId.Inactive");
        // A refused request does not count as use.
        assert!(w.key_of("bob", 0).last_used.is_none());
    }

    #[tokio::test]
    async fn unsigned_acs_headers_are_refused() {
        let w = world();
        let mut call = w.admin_call("GetCallerIdentity", "");
        call.extra.push(("x-acs-extra", "1"));
        // Signed normally: accepted.
        assert_eq!(w.send(&call).await.0, 200);
        // Now send a header the signature does not cover.
        let (added, _) = signer::sign(
            &SigningKey {
                access_key_id: &w.admin.access_key_id,
                access_key_secret: &w.admin.secret_access_key,
                security_token: None,
            },
            &RequestParts {
                method: "POST",
                host: "ram.aliyuncs.com",
                path: "/",
                query: "",
                headers: &[
                    ("x-acs-action".to_string(), "GetCallerIdentity".to_string()),
                    ("x-acs-version".to_string(), STS_VERSION.to_string()),
                ],
                body: b"",
            },
            w.now,
            "feedfacefeedfacefeedfacefeedface",
        );
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("ram.aliyuncs.com"));
        headers.insert(
            "x-acs-action",
            HeaderValue::from_static("GetCallerIdentity"),
        );
        headers.insert("x-acs-version", HeaderValue::from_static(STS_VERSION));
        headers.insert("x-acs-unsigned", HeaderValue::from_static("sneaky"));
        for (name, value) in &added {
            headers.insert(
                HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        let response = handle(
            &w.state,
            &Incoming {
                method: Method::POST,
                uri: "/".parse().unwrap(),
                headers,
                body: Bytes::new(),
            },
            w.now,
        );
        assert_eq!(response.status().as_u16(), 400);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["Code"], "IncompleteSignature");
    }

    #[tokio::test]
    async fn nonces_cannot_be_reused_and_dates_must_be_current() {
        let w = world();
        let call = w.admin_call("GetCallerIdentity", "");
        assert_eq!(w.send(&call).await.0, 200);
        assert_error(&w.send(&call).await, 400, "SignatureNonceUsed");
        let late = Call {
            time: w.now - Duration::minutes(16),
            ..w.admin_call("GetCallerIdentity", "")
        };
        assert_error(&w.send(&late).await, 400, "InvalidTimeStamp.Expired");
        let early = Call {
            time: w.now + Duration::minutes(16),
            ..w.admin_call("GetCallerIdentity", "")
        };
        let answer = w.send(&early).await;
        assert_error(&answer, 400, "InvalidTimeStamp.Expired");
        assert_eq!(
            answer.1["Message"],
            "Specified time stamp or date value is expired."
        );
        let skewed = Call {
            time: w.now - Duration::minutes(14),
            ..w.admin_call("GetCallerIdentity", "")
        };
        assert_eq!(w.send(&skewed).await.0, 200);
    }

    #[tokio::test]
    async fn a_third_key_hits_the_limit() {
        let w = world();
        let answer = w
            .send(&w.admin_call("CreateAccessKey", "UserName=alice"))
            .await;
        assert_error(&answer, 409, "LimitExceeded.User.AccessKey");
        let answer = w
            .send(&w.admin_call("CreateAccessKey", "UserName=carol"))
            .await;
        assert_eq!(answer.0, 200, "{}", answer.1);
        let key = &answer.1["AccessKey"];
        assert_eq!(key["Status"], "Active");
        assert!(key["AccessKeyId"].as_str().unwrap().starts_with("LTAI"));
        assert_eq!(key["AccessKeySecret"].as_str().unwrap().len(), 30);
        assert_eq!(key["CreateDate"], time(&w.now));
        assert_eq!(w.key_of("carol", 0).access_key_id, key["AccessKeyId"]);
    }

    #[tokio::test]
    async fn list_users_pages_with_an_opaque_marker() {
        let w = world();
        let first = w.send(&w.admin_call("ListUsers", "MaxItems=100")).await;
        assert_eq!(first.0, 200, "{}", first.1);
        assert_eq!(first.1["IsTruncated"], true);
        let names: Vec<&str> = first.1["Users"]["User"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["UserName"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["admin", "alice", "bob"]);
        let marker = first.1["Marker"].as_str().unwrap().to_string();
        let query = format!("Marker={marker}&MaxItems=100");
        let second = w.send(&w.admin_call("ListUsers", &query)).await;
        assert_eq!(second.1["IsTruncated"], false);
        assert!(second.1.get("Marker").is_none());
        assert_eq!(second.1["Users"]["User"][0]["UserName"], "carol");
        assert!(second.1["Users"]["User"][0]["UserId"].is_string());
        let bad = w.send(&w.admin_call("ListUsers", "Marker=nonsense")).await;
        assert_error(&bad, 400, "InvalidParameter.Marker");
        let bad = w.send(&w.admin_call("ListUsers", "MaxItems=0")).await;
        assert_error(&bad, 400, "InvalidParameter.MaxItems");
    }

    #[tokio::test]
    async fn keys_are_addressed_by_user_and_id() {
        let w = world();
        let bob = w.key_of("bob", 0);
        let query = format!("UserAccessKeyId={}&UserName=alice", bob.access_key_id);
        let answer = w.send(&w.admin_call("DeleteAccessKey", &query)).await;
        assert_error(&answer, 404, "EntityNotExist.User.AccessKey");
        let answer = w
            .send(&w.admin_call("ListAccessKeys", "UserName=nobody"))
            .await;
        assert_error(&answer, 404, "EntityNotExist.User");
        // The `<root>` display label is no user name either: RAM refuses its characters.
        for name in ["bad%20name", "%3Croot%3E"] {
            let answer = w
                .send(&w.admin_call("ListAccessKeys", &format!("UserName={name}")))
                .await;
            assert_error(&answer, 400, "InvalidParameter.UserName.InvalidChars");
        }
        let answer = w
            .send(&w.admin_call("UpdateAccessKey", "UserName=bob&Status=Active"))
            .await;
        assert_error(&answer, 400, "MissingUserAccessKeyId");
        let query = format!("UserAccessKeyId={}&UserName=bob", bob.access_key_id);
        let answer = w.send(&w.admin_call("UpdateAccessKey", &query)).await;
        assert_error(&answer, 400, "MissingStatus");
        let query = format!(
            "Status=Active&UserAccessKeyId={}&UserName=bob",
            bob.access_key_id
        );
        let answer = w.send(&w.admin_call("UpdateAccessKey", &query)).await;
        assert_eq!(answer.0, 200, "{}", answer.1);
        assert_eq!(w.key_of("bob", 0).status, KeyStatus::Active);
        let alice = w.key_of("alice", 0);
        let query = format!("UserAccessKeyId={}&UserName=alice", alice.access_key_id);
        let answer = w.send(&w.admin_call("GetAccessKeyLastUsed", &query)).await;
        assert_eq!(
            answer.1["AccessKeyLastUsed"]["LastUsedDate"],
            time(&alice.last_used.unwrap())
        );
        let fresh = w.key_of("alice", 1);
        let query = format!("UserAccessKeyId={}&UserName=alice", fresh.access_key_id);
        let answer = w.send(&w.admin_call("GetAccessKeyLastUsed", &query)).await;
        assert_eq!(answer.1["AccessKeyLastUsed"], json!({}));
    }

    #[tokio::test]
    async fn users_manage_only_their_own_keys() {
        let w = world();
        let alice = w.key_of("alice", 1);
        let as_alice = |action: &'static str, query: &'static str| Call {
            id: &alice.access_key_id,
            secret: &alice.secret,
            ..w.call(action, query)
        };
        let own = w.send(&as_alice("ListAccessKeys", "")).await;
        assert_eq!(own.0, 200, "{}", own.1);
        assert_eq!(
            own.1["AccessKeys"]["AccessKey"].as_array().unwrap().len(),
            2
        );
        let named = w.send(&as_alice("ListAccessKeys", "UserName=alice")).await;
        assert_eq!(named.0, 200, "{}", named.1);
        assert_error(
            &w.send(&as_alice("ListAccessKeys", "UserName=bob")).await,
            403,
            "NoPermission",
        );
        assert_error(
            &w.send(&as_alice("ListUsers", "")).await,
            403,
            "NoPermission",
        );
        // Her own key is the one that just signed: its last use is now.
        assert_eq!(w.key_of("alice", 1).last_used, Some(w.now));
    }

    #[tokio::test]
    async fn new_keys_wait_for_the_delay_and_unknown_calls_are_named() {
        let w = world();
        lock(&w.state).settings.new_key_delay = std::time::Duration::from_secs(60);
        let answer = w
            .send(&w.admin_call("CreateAccessKey", "UserName=carol"))
            .await;
        let id = answer.1["AccessKey"]["AccessKeyId"].as_str().unwrap();
        let secret = answer.1["AccessKey"]["AccessKeySecret"].as_str().unwrap();
        let fresh = Call {
            id,
            secret,
            ..w.call("GetCallerIdentity", "")
        };
        assert_error(&w.send(&fresh).await, 404, "InvalidAccessKeyId.NotFound");
        let unknown = w.send(&w.admin_call("ListRoles", "")).await;
        assert_error(&unknown, 404, "InvalidAction.NotFound");
        let wrong_version = Call {
            version: "2019-08-15",
            ..w.admin_call("ListUsers", "")
        };
        assert_error(&w.send(&wrong_version).await, 400, "InvalidVersion");
    }

    #[tokio::test]
    async fn injected_errors_come_first_and_in_order() {
        let w = world();
        lock(&w.state)
            .alibaba
            .inject
            .extend([(400, "Throttling.User".to_string())]);
        let answer = w.send(&w.admin_call("GetCallerIdentity", "")).await;
        assert_error(&answer, 400, "Throttling.User");
        assert_eq!(answer.1["HostId"], "ram.aliyuncs.com");
        assert_eq!(w.send(&w.admin_call("GetCallerIdentity", "")).await.0, 200);
        assert_eq!(
            lock(&w.state).alibaba.calls,
            ["GetCallerIdentity", "GetCallerIdentity"]
        );
    }

    #[test]
    fn ids_and_secrets_have_their_shapes() {
        let id = new_key_id();
        assert_eq!(id.len(), 24);
        assert!(id.starts_with("LTAI"));
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(new_secret().len(), 30);
        let digits = random_digits(16);
        assert_eq!(digits.len(), 16);
        assert!(!digits.starts_with('0'));
        let key = AlibabaKey {
            access_key_id: id,
            secret: "s3cr3tvalue".into(),
            status: KeyStatus::Active,
            created_at: Utc::now(),
            last_used: None,
            usable_after: None,
        };
        assert!(!format!("{key:?}").contains("s3cr3tvalue"));
    }

    #[tokio::test]
    async fn seeds_give_alibaba_profiles_in_the_config() {
        let sandbox = super::super::Sandbox::start(0, Seed::Demo).await.unwrap();
        let names: Vec<String> = sandbox
            .profiles()
            .into_iter()
            .filter(|p| p.provider == ProviderKind::Alibaba)
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["alibaba-admin", "alibaba-root"]);
        let doc: toml::Value = toml::from_str(&sandbox.config_toml()).unwrap();
        let root = &doc["profiles"]["alibaba-root"];
        assert_eq!(root["provider"].as_str(), Some("alibaba"));
        assert_eq!(root["region"].as_str(), Some(REGION));
        assert_eq!(root["endpoint"].as_str(), Some(sandbox.endpoint().as_str()));
        {
            let state = sandbox.state();
            let guard = lock(&state);
            // Demo pages like the real service; only the test seed pages small.
            assert_eq!(guard.alibaba.page_size_cap, None);
            assert_eq!(
                guard.alibaba.account(DEMO_ACCOUNT).unwrap().root_keys.len(),
                1
            );
        }
        sandbox.shutdown().await;
        let test = super::super::Sandbox::start(0, Seed::Test).await.unwrap();
        let names: Vec<String> = test
            .profiles()
            .into_iter()
            .filter(|p| p.provider == ProviderKind::Alibaba)
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["alibaba-admin"]);
        test.shutdown().await;
    }

    #[tokio::test]
    async fn the_credential_report_is_a_snapshot_made_at_most_every_four_hours() {
        use base64::Engine as _;
        let w = world();
        fn ims<'a>(w: &'a World, action: &'a str, query: &'a str) -> Call<'a> {
            Call {
                version: IMS_VERSION,
                ..w.admin_call(action, query)
            }
        }
        let (status, body) = w.send(&ims(&w, "GetCredentialReport", "")).await;
        assert_eq!(
            (status, body["Code"].as_str()),
            (404, Some("EntityNotExist.Report"))
        );
        let (status, body) = w.send(&ims(&w, "GenerateCredentialReport", "")).await;
        assert_eq!(
            (status, body["State"].as_str()),
            (200, Some("STARTED")),
            "{body}"
        );
        let (_, body) = w.send(&ims(&w, "GenerateCredentialReport", "")).await;
        assert_eq!(body["State"], "COMPLETED");
        // Two rows a page: header + <root> + 4 users = 3 pages, each a CSV with its header.
        let (status, first) = w.send(&ims(&w, "GetCredentialReport", "MaxItems=2")).await;
        assert_eq!(status, 200, "{first}");
        assert_eq!(first["IsTruncated"], "true");
        assert_eq!(first["GeneratedTime"], time(&w.now));
        let csv = base64::engine::general_purpose::STANDARD
            .decode(first["Content"].as_str().unwrap())
            .unwrap();
        let csv = String::from_utf8(csv).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3, "{csv}");
        assert!(lines[0].starts_with("user,user_creation_time,"));
        assert!(lines[1].starts_with("<root>,"));
        assert!(lines[2].starts_with(&format!("admin@{TEST_ACCOUNT}.onaliyun.com,")));
        let parsed =
            crate::providers::alibaba::api::parse_credential_report(csv.as_bytes(), "<root>")
                .unwrap();
        assert_eq!(parsed["admin"].len(), 1);
        assert_eq!(
            parsed["admin"][0].created_at.timestamp(),
            w.key_of("admin", 0).created_at.timestamp()
        );
        let token = format!(
            "MaxItems=2&NextToken={}",
            first["NextToken"].as_str().unwrap()
        );
        let (_, second) = w.send(&ims(&w, "GetCredentialReport", &token)).await;
        assert_eq!(second["IsTruncated"], "true");
        let (status, body) = w
            .send(&ims(&w, "GetCredentialReport", "MaxItems=3502"))
            .await;
        assert_eq!(
            (status, body["Code"].as_str()),
            (400, Some("InvalidParameter.MaxItems"))
        );
        // A key made since is not in the report until a new one is made, 4 hours on.
        lock(&w.state).alibaba.add_key(
            TEST_ACCOUNT,
            Some("carol"),
            w.now,
            std::time::Duration::ZERO,
        );
        let rows = || {
            lock(&w.state)
                .alibaba
                .account(TEST_ACCOUNT)
                .unwrap()
                .credential_report
                .clone()
                .unwrap()
                .1
        };
        assert!(rows().iter().any(
            |r| r.starts_with("carol@") && r.contains(",FALSE,N/A,N/A,N/A,FALSE,N/A,N/A,N/A,")
        ));
        if let Some((at, _)) = lock(&w.state)
            .alibaba
            .account_mut(TEST_ACCOUNT)
            .unwrap()
            .credential_report
            .as_mut()
        {
            *at = w.now - Duration::hours(4);
        }
        let (_, body) = w.send(&ims(&w, "GenerateCredentialReport", "")).await;
        assert_eq!(body["State"], "STARTED");
        assert!(rows()
            .iter()
            .any(|r| r.starts_with("carol@") && r.contains(",TRUE,TRUE,")));
        // Denied actions are refused as RAM refuses them.
        lock(&w.state).settings.denied_actions = vec!["GetCredentialReport".into()];
        let (status, body) = w.send(&ims(&w, "GetCredentialReport", "")).await;
        assert_eq!((status, body["Code"].as_str()), (403, Some("NoPermission")));
    }
}
