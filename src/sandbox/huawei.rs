//! Huawei Cloud IAM v5 (users and access keys), the IAM v3 credential lookup and CCE's
//! CheckAKSK, over the sandbox state: SDK-HMAC-SHA256 checked on every request, JSON answers
//! and error envelopes in Huawei's shapes.
//!
//! Error codes: `APIGW.0301` (authentication), `APIGW.0308` (throttling), `APIGW.0101`
//! (no such API), `PAP5.0001` (access denied, with `encoded_authorization_message`),
//! `PAP5.0010` (invalid marker) and IAM v3's `IAM.0002`/`IAM.0004` are Huawei's documented
//! codes. For "not found", "limit exceeded" and "invalid parameter" the documentation gives the
//! envelope and HTTP status but not the PAP5 number; [`NO_SUCH_ENTITY`], [`QUOTA_EXCEEDED`] and
//! [`INVALID_PARAMETER`] stand in for them (the adapter classifies by status and message).
//!
//! Organizations ListAccounts: fields and paging as documented; a caller that is not the
//! management account gets the documented `Organizations.1002` (401). UNCONFIRMED: the largest
//! `limit` (1000 here; the default is documented) and the answers to a bad marker (IAM's
//! [`INVALID_MARKER`] here) and to an IAM user without `organizations:accounts:list` (the v5
//! access-denied shape here).
//!
//! STS5 AssumeAgency: the answer's shape is documented; its refusals are UNCONFIRMED beyond the
//! v5 envelope: an untrusted caller gets the documented access-denied shape (403 `PAP5.0001`),
//! a missing agency [`NO_SUCH_ENTITY`] (404), a bad session name or duration
//! [`INVALID_PARAMETER`] (400), with texts of our own.

use axum::http::Method;
use axum::response::Response;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde_json::{json, Value};

use super::state::{
    change_key, new_hex_id, Account, AwsRole as AgencyRole, Cloud, Key, Organization, State,
    TempKey, User, MAX_KEYS,
};
use super::{
    fail, fill, next_marker, reply, seed_account, session_name_ok, signing_secret, trusts,
    with_users, BadPage, Caller, Dialect, Fail, Incoming, Refused, SandboxProfile, Seed, SeedKey,
    MEMBER_USERS,
};
use crate::model::{KeyStatus, ProviderKind};
use crate::providers::huawei::signer::{self, SigningKey};
use crate::providers::huawei::MEMBER_AGENCY;
use crate::signing::{parse_query, RequestParts};

pub use super::state::{
    Account as HuaweiAccount, HuaweiProject, Key as HuaweiKey, LongAksk, User as HuaweiUser,
};

/// The account (domain) of the test seed, also the first of the demo seed.
/// The first word of its `Authorization` header.
pub const SCHEME: &str = signer::ALGORITHM;
pub const TEST_DOMAIN: &str = "0c5a8e1f3b7d4e29a6f1c8b3d5e7a902";
/// The test account's project in [`REGION`], which has a long-term AK/SK uploaded to CCE.
pub const TEST_PROJECT: &str = "6f2d9b4c8a1e47d3b5c0e9f8a7d6c5b4";
/// The second account of the demo seed.
pub const DEMO_DOMAIN: &str = "9a7b3c1d5e2f48a6b0c4d8e2f6a1b3c5";
const DEMO_PROJECT: &str = "3e8a1f6c2b9d4057a1c3e5f7b9d2a4c6";
const REGION: &str = "cn-north-4";
const DEMO_REGION: &str = "ap-southeast-1";
/// A member account of the test seed, reached only through its agencies: `KeyAuditor` trusts
/// [`TEST_DOMAIN`], `KeyAdmin` trusts only `KeyAuditor`'s sessions (a chain).
pub const MEMBER_DOMAIN: &str = "4d1e7b2a9c8f40e6b3a5d7c9e1f2a3b4";
/// A second member of the test account's organization, reached only through its
/// `OrganizationAccountAccessAgency`.
pub const SECOND_MEMBER: &str = "7e3f9a1c5b2d48e0a6c4f8b1d3e5a7c9";
/// A closed (`suspended`) member of the organization: listed, never entered.
pub const SUSPENDED_MEMBER: &str = "2b8d4f6a1c3e45a7b9d0e2f4a6c8e1b3";
/// API Gateway accepts an `X-Sdk-Date` this far from its own clock.
const MAX_SKEW_MINUTES: i64 = 15;
/// Largest `limit` the v5 lists accept, and their default.
const MAX_LIMIT: usize = 200;
const DEFAULT_LIMIT: usize = 100;
/// Organizations ListAccounts' default `limit` (documented) and largest (UNCONFIRMED).
const ORG_DEFAULT_LIMIT: usize = 1000;
const ORG_MAX_LIMIT: usize = 1000;
const V5_LIMITS: (usize, usize) = (DEFAULT_LIMIT, MAX_LIMIT);

const ACCESS_DENIED: &str = "PAP5.0001";
const INVALID_MARKER: &str = "PAP5.0010";
/// Stand-in code (see the module doc) for a missing user or key.
pub const NO_SUCH_ENTITY: &str = "PAP5.0004";
/// Stand-in code (see the module doc) for the two-keys-per-user quota.
pub const QUOTA_EXCEEDED: &str = "PAP5.0005";
/// Stand-in code (see the module doc) for a malformed parameter.
pub const INVALID_PARAMETER: &str = "PAP5.0009";

/// IAM v5 times: RFC 3339 UTC with milliseconds.
fn iam_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Go's default time format, as CCE prints it: `2026-12-07 09:02:00.147 +0000 UTC`
/// (fraction without trailing zeros).
fn go_time(t: &DateTime<Utc>) -> String {
    let fraction = t.format("%.6f").to_string();
    let fraction = fraction.trim_end_matches('0').trim_end_matches('.');
    format!("{}{fraction} +0000 UTC", t.format("%Y-%m-%d %H:%M:%S"))
}

fn err(status: u16, code: &'static str, message: impl Into<String>) -> Fail {
    fail(status, code, message)
}

/// IAM v3 and CCE answers carry no `request_id` in the body.
fn bare(error: Fail) -> Fail {
    Fail {
        bare: true,
        ..error
    }
}

fn auth_failed(detail: impl std::fmt::Display) -> Fail {
    err(
        401,
        "APIGW.0301",
        format!("Incorrect IAM authentication information: {detail}"),
    )
}

wire! {
    NO_SUCH_USER = 404 NO_SUCH_ENTITY "user not found: {}";
    NO_SUCH_KEY = 404 NO_SUCH_ENTITY "access key not found: {}";
    NOT_JSON = 400 INVALID_PARAMETER "the request body is not JSON";
    THROTTLED = 429 "APIGW.0308" "The throttling threshold has been reached";
    UNAVAILABLE = 500 "APIGW.0103" "The backend service is unavailable";
    NO_API = 404 "APIGW.0101" "The API does not exist or has not been published in the environment";
    KEY_LIMIT = 409 QUOTA_EXCEEDED "access keys per user limit exceeded: at most {}";
    BAD_STATUS = 400 INVALID_PARAMETER "invalid status: must be active or inactive";
    NO_CREDENTIAL = 404 "IAM.0004" "Could not find credential: {}.";
    NOT_AUTHORIZED = 403 "IAM.0002" "You are not authorized to perform the requested action.";
}

fn invalid_parameter(message: impl Into<String>) -> Fail {
    err(400, INVALID_PARAMETER, message)
}

fn respond(status: u16, body: Option<Value>, request_id: &str) -> Response {
    let body = body.map(|b| b.to_string());
    reply(
        status,
        "application/json;charset=UTF-8",
        "x-request-id",
        request_id,
        body,
    )
}

fn error_response(error: Fail, request_id: &str) -> Response {
    let mut body = json!({"error_code": error.code, "error_msg": error.message});
    if !error.bare {
        body["request_id"] = json!(request_id);
    }
    if let Some(encoded) = error.detail {
        body["encoded_authorization_message"] = json!(encoded);
    }
    respond(error.status, Some(body), request_id)
}

/// The signer's user (every Huawei caller is one, the root user included).
fn me(caller: &Caller) -> &User {
    static NOBODY: std::sync::OnceLock<User> = std::sync::OnceLock::new();
    caller
        .user
        .as_ref()
        .unwrap_or_else(|| NOBODY.get_or_init(User::default))
}

/// Admins may do anything in their account; other users only the self-service key actions on
/// their own user. A refusal carries the (here merely hex-encoded) authorization message.
fn authorize(caller: &Caller, permission: &str, target_user: Option<&str>) -> Result<(), Fail> {
    let self_service = matches!(
        permission,
        "iam:credentials:listCredentialsV5"
            | "iam:credentials:createCredentialV5"
            | "iam:credentials:updateCredentialV5"
            | "iam:credentials:deleteCredentialV5"
            | "iam:credentials:showAccessKeyLastUsedV5"
    );
    let me = me(caller);
    let denied_read = me.no_list_permission
        && matches!(permission, "iam:users:listUsersV5" | "iam:users:getUserV5");
    let own = target_user == Some(me.user_id.as_str());
    if !denied_read && caller.admin || (!denied_read && self_service && own) {
        return Ok(());
    }
    let domain_id = &caller.account_id;
    let resource = match target_user {
        Some(id) => format!("iam::{domain_id}:user:{id}"),
        None => format!("iam::{domain_id}:user:*"),
    };
    let principal = format!("iam::{domain_id}:user:{}", me.name);
    Err(access_denied(
        &principal,
        "the user",
        permission,
        &resource,
        "no identity policy allows the action",
    ))
}

/// IAM v5's 403 `PAP5.0001` with its (here merely hex-encoded) authorization message.
fn access_denied(principal: &str, who: &str, action: &str, resource: &str, reason: &str) -> Fail {
    let explanation = json!({
        "allowed": false,
        "principal": principal,
        "action": action,
        "resource": resource,
        "reason": reason,
    });
    let mut error = err(
        403,
        ACCESS_DENIED,
        format!("access denied: {who} is not authorized to perform {action} on {resource}"),
    );
    error.detail = Some(hex::encode(explanation.to_string()));
    error
}

/// Huawei Cloud IAM v5/v3 and CCE: REST paths, SDK-HMAC-SHA256, JSON answers.
pub struct Huawei;

impl Dialect for Huawei {
    /// The API name of a request (`CreateAccessKeyV5`, …).
    fn action_of(&self, request: &Incoming) -> String {
        match route(&request.method, request.uri.path()) {
            Route::CallerIdentity => "GetCallerIdentity",
            Route::AssumeAgency => "AssumeAgency",
            Route::ListUsers => "ListUsersV5",
            Route::ShowUser(_) => "ShowUserV5",
            Route::ListKeys(_) => "ListAccessKeysV5",
            Route::CreateKey(_) => "CreateAccessKeyV5",
            Route::UpdateKey(..) => "UpdateAccessKeyV5",
            Route::DeleteKey(..) => "DeleteAccessKeyV5",
            Route::KeyLastUsed(..) => "ShowAccessKeyLastUsedV5",
            Route::Credential(_) => "ShowPermanentAccessKey",
            Route::CheckAksk(_) => "CheckLongAksk",
            Route::ListAccounts => "ListAccounts",
            Route::Unknown => "",
        }
        .to_string()
    }

    /// API Gateway's 429 `APIGW.0308`, or a 500.
    fn fault(&self, throttled: bool) -> Response {
        let error = if throttled { THROTTLED } else { UNAVAILABLE };
        error_response(error.into(), &new_hex_id())
    }

    fn handle(&self, state: &mut State, request: &Incoming, now: DateTime<Utc>) -> Response {
        let request_id = new_hex_id();
        let answer =
            authenticate(state, request, now).and_then(|caller| run(state, &caller, request, now));
        match answer {
            Ok((status, body)) => respond(status, body, &request_id),
            Err(error) => error_response(error, &request_id),
        }
    }
}

/// Checks date, key and signature; records the key's use; returns the caller.
fn authenticate(state: &mut State, request: &Incoming, now: DateTime<Utc>) -> Result<Caller, Fail> {
    let authorization = request.header("authorization").unwrap_or_default();
    let parsed = signer::parse_authorization(&authorization)
        .ok_or_else(|| auth_failed("the Authorization header is malformed"))?;
    let sdk_date = request
        .header("x-sdk-date")
        .ok_or_else(|| auth_failed("X-Sdk-Date is missing"))?;
    let signed_at = NaiveDateTime::parse_from_str(&sdk_date, "%Y%m%dT%H%M%SZ")
        .map_err(|_| auth_failed(format!("X-Sdk-Date '{sdk_date}' is malformed")))?
        .and_utc();
    // The gateway's own words, for a date too old and too new alike (observed in
    // huaweicloud-sdk-java-v3#44): nothing in them names X-Sdk-Date.
    if (signed_at - now).abs() > Duration::minutes(MAX_SKEW_MINUTES) {
        return Err(auth_failed(format!(
            "calc aksk signature fail:signature expired, signature time:{sdk_date},server time:{}",
            signer::sdk_date(now)
        )));
    }
    let token = request.header("x-security-token");
    let bad_token = || auth_failed("the security token is invalid");
    let ak = &parsed.access_key;
    // Temporary credentials sign only with their own token, until they expire.
    let (secret, temporary) =
        signing_secret(&state.huawei, ak, token.as_deref(), now).map_err(|why| match why {
            Refused::Unknown => auth_failed(format!("ak {ak} not exist")),
            Refused::Disabled => auth_failed(format!("ak {ak} is disabled")),
            _ => bad_token(),
        })?;
    // A permanent key carries no security token.
    if !temporary && token.is_some() {
        return Err(bad_token());
    }
    let mismatch = || auth_failed("verify aksk signature fail");
    // host and X-Sdk-Date are always signed; Content-Type, the security token and the
    // domain/project ids must be signed whenever they are sent (the SDK signs every header).
    let must_sign = [
        "content-type",
        "x-security-token",
        "x-domain-id",
        "x-project-id",
    ]
    .into_iter()
    .filter(|name| request.headers.contains_key(*name));
    for name in ["host", "x-sdk-date"].into_iter().chain(must_sign) {
        if !parsed.signed_headers.iter().any(|h| h == name) {
            return Err(mismatch());
        }
    }
    let key = SigningKey {
        access_key: &parsed.access_key,
        secret_key: &secret,
        security_token: None,
    };
    let compute = |parts: &RequestParts| signer::compute(&key, parts).signature;
    let (names, given) = (&parsed.signed_headers, &parsed.signature);
    request.verify(names, None, compute, given, |_| mismatch())?;
    let action = Huawei.action_of(request);
    let caller = super::caller(state, ProviderKind::Huawei, ak, &action, now, None);
    // Every caller is a user of its account, or an agency's session.
    let session = |c: &Caller| c.temp.as_ref().is_some_and(|t| t.role.is_some());
    caller
        .filter(|c| c.user.is_some() || session(c))
        .ok_or_else(mismatch)
}

/// The API a method and path name.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    CallerIdentity,
    AssumeAgency,
    ListUsers,
    ShowUser(String),
    ListKeys(String),
    CreateKey(String),
    UpdateKey(String, String),
    DeleteKey(String, String),
    KeyLastUsed(String, String),
    Credential(String),
    CheckAksk(String),
    ListAccounts,
    Unknown,
}

fn route(method: &Method, path: &str) -> Route {
    let segments: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["v5", "caller-identity"]) => Route::CallerIdentity,
        ("POST", ["v5", "agencies", "assume"]) => Route::AssumeAgency,
        ("GET", ["v5", "users"]) => Route::ListUsers,
        ("GET", ["v5", "users", user]) => Route::ShowUser(user.to_string()),
        ("GET", ["v5", "users", user, "access-keys"]) => Route::ListKeys(user.to_string()),
        ("POST", ["v5", "users", user, "access-keys"]) => Route::CreateKey(user.to_string()),
        ("PUT", ["v5", "users", user, "access-keys", key]) => {
            Route::UpdateKey(user.to_string(), key.to_string())
        }
        ("DELETE", ["v5", "users", user, "access-keys", key]) => {
            Route::DeleteKey(user.to_string(), key.to_string())
        }
        ("GET", ["v5", "users", user, "access-keys", key, "last-used"]) => {
            Route::KeyLastUsed(user.to_string(), key.to_string())
        }
        ("GET", ["v3.0", "OS-CREDENTIAL", "credentials", key]) => {
            Route::Credential(key.to_string())
        }
        ("GET", ["api", "v2", "projects", project, "longaksk"]) => {
            Route::CheckAksk(project.to_string())
        }
        ("GET", ["v1", "organizations", "accounts"]) => Route::ListAccounts,
        _ => Route::Unknown,
    }
}

/// `limit` (1–`max`, else `default`) and `marker` (an offset we handed out) of a list.
fn page_window(
    cap: usize,
    query: &[(String, String)],
    (default, max): (usize, usize),
) -> Result<(usize, usize), Fail> {
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let (start, limit) =
        super::page_window(get("limit"), default, max, get("marker")).map_err(|bad| match bad {
            BadPage::Size => invalid_parameter(format!(
                "invalid limit: {}, must be in [1,{max}]",
                get("limit").unwrap_or_default()
            )),
            BadPage::Marker => err(400, INVALID_MARKER, "invalid marker"),
        })?;
    Ok((start, if cap == 0 { limit } else { limit.min(cap) }))
}

/// One page of `items` and its `page_info` (`next_marker` only while items remain).
fn page<T>(items: &[T], start: usize, size: usize) -> (&[T], Value) {
    let start = start.min(items.len());
    let end = start.saturating_add(size).min(items.len());
    let slice = &items[start..end];
    let mut info = json!({"current_count": slice.len()});
    if let Some(marker) = next_marker(items.len(), start, size, false) {
        info["next_marker"] = json!(marker);
    }
    (slice, info)
}

fn urn(account: &Account, user: &User) -> String {
    format!("iam::{}:user:{}", account.account_id, user.name)
}

fn user_json(account: &Account, user: &User) -> Value {
    json!({
        "user_id": user.user_id,
        "user_name": user.name,
        "description": "",
        "is_root_user": user.root,
        "created_at": iam_time(&user.created_at),
        "urn": urn(account, user),
        "enabled": true,
    })
}

fn key_json(user_id: &str, key: &Key) -> Value {
    json!({
        "user_id": user_id,
        "access_key_id": key.access_key_id,
        "created_at": iam_time(&key.created_at),
        "status": key.status.as_str(),
    })
}

/// Runs an authenticated request: `(HTTP status, JSON body or none)`.
fn run(
    state: &mut State,
    caller: &Caller,
    request: &Incoming,
    now: DateTime<Utc>,
) -> Result<(u16, Option<Value>), Fail> {
    let query = parse_query(request.uri.query().unwrap_or(""));
    let route = route(&request.method, request.uri.path());
    if route == Route::AssumeAgency {
        return assume_agency(state, caller, request, now).map(|body| (200, Some(body)));
    }
    let world = &mut state.huawei;
    let update_time_text = world.cce_update_time_text.clone();
    let account = world
        .account(&caller.account_id)
        .ok_or_else(|| auth_failed("the account is disabled"))?;
    let user_of = |user_id: &str| {
        account
            .user_by_id(user_id)
            .ok_or_else(|| fill(NO_SUCH_USER, user_id))
    };
    match route {
        Route::AssumeAgency => unreachable!("answered above"),
        // An agency session: `sts::<account>:assumed-agency:<agency>/<session>` (the URN the
        // AssumeAgency page shows for `assumed_agency`).
        Route::CallerIdentity if caller.user.is_none() => {
            let (agency, agency_id, session) = caller
                .role_session()
                .ok_or_else(|| auth_failed("the security token is invalid"))?;
            Ok((
                200,
                Some(json!({
                    "account_id": account.account_id,
                    "principal_urn": format!("sts::{}:assumed-agency:{agency}/{session}", account.account_id),
                    "principal_id": format!("{agency_id}:{session}"),
                })),
            ))
        }
        // STS5: any caller may ask who it is; no identity-policy permission is needed.
        Route::CallerIdentity => {
            let user = user_of(&me(caller).user_id)?;
            Ok((
                200,
                Some(json!({
                    "account_id": account.account_id,
                    "principal_urn": urn(account, user),
                    "principal_id": user.user_id,
                })),
            ))
        }
        Route::ListUsers => {
            authorize(caller, "iam:users:listUsersV5", None)?;
            let (start, size) = page_window(world.page_cap, &query, V5_LIMITS)?;
            let filter = |name: &str| {
                query
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            };
            let by_key = filter("access_key_id");
            let users: Vec<&User> = account
                .users
                .iter()
                .filter(|u| {
                    by_key
                        .as_deref()
                        .is_none_or(|ak| u.keys.iter().any(|k| k.access_key_id == ak))
                })
                // The sandbox has no user groups: a group filter matches nobody.
                .filter(|_| filter("group_id").is_none())
                .collect();
            let (slice, info) = page(&users, start, size);
            let users: Vec<Value> = slice.iter().map(|u| user_json(account, u)).collect();
            Ok((200, Some(json!({"users": users, "page_info": info}))))
        }
        Route::ShowUser(user_id) => {
            authorize(caller, "iam:users:getUserV5", Some(&user_id))?;
            let user = user_of(&user_id)?;
            Ok((200, Some(json!({"user": user_json(account, user)}))))
        }
        Route::ListKeys(user_id) => {
            authorize(caller, "iam:credentials:listCredentialsV5", Some(&user_id))?;
            let user = user_of(&user_id)?;
            let (start, size) = page_window(world.page_cap, &query, V5_LIMITS)?;
            let (slice, info) = page(&user.keys, start, size);
            let keys: Vec<Value> = slice.iter().map(|k| key_json(&user.user_id, k)).collect();
            Ok((200, Some(json!({"access_keys": keys, "page_info": info}))))
        }
        Route::CreateKey(user_id) => {
            authorize(caller, "iam:credentials:createCredentialV5", Some(&user_id))?;
            let name = user_of(&user_id)?.name.clone();
            let (id, secret) = state
                .create_key(ProviderKind::Huawei, &caller.account_id, name.as_str(), now)
                .ok_or_else(|| fill(KEY_LIMIT, MAX_KEYS))?;
            Ok((
                201,
                Some(json!({"access_key": {
                    "user_id": user_id,
                    "access_key_id": id,
                    "created_at": iam_time(&now),
                    "secret_access_key": secret,
                    "status": "active",
                }})),
            ))
        }
        Route::UpdateKey(user_id, key_id) => {
            authorize(caller, "iam:credentials:updateCredentialV5", Some(&user_id))?;
            let body: Value =
                serde_json::from_slice(&request.body).map_err(|_| Fail::from(NOT_JSON))?;
            let status = match body.get("status").and_then(Value::as_str) {
                Some("active") => KeyStatus::Active,
                Some("inactive") => KeyStatus::Inactive,
                _ => return Err(BAD_STATUS.into()),
            };
            user_of(&user_id)?;
            let domain_id = account.account_id.clone();
            let key = world
                .account_mut(&domain_id)
                .and_then(|a| a.users.iter_mut().find(|u| u.user_id == user_id))
                .and_then(|u| u.keys.iter_mut().find(|k| k.access_key_id == key_id))
                .ok_or_else(|| fill(NO_SUCH_KEY, &key_id))?;
            key.status = status;
            Ok((200, Some(json!({"access_key": key_json(&user_id, key)}))))
        }
        Route::DeleteKey(user_id, key_id) => {
            authorize(caller, "iam:credentials:deleteCredentialV5", Some(&user_id))?;
            user_of(&user_id)?;
            let domain_id = account.account_id.clone();
            let keys = &mut world
                .account_mut(&domain_id)
                .and_then(|a| a.users.iter_mut().find(|u| u.user_id == user_id))
                .ok_or_else(|| fill(NO_SUCH_USER, &user_id))?
                .keys;
            match change_key(keys, &key_id, None) {
                true => Ok((204, None)),
                false => Err(fill(NO_SUCH_KEY, &key_id)),
            }
        }
        Route::KeyLastUsed(user_id, key_id) => {
            authorize(
                caller,
                "iam:credentials:showAccessKeyLastUsedV5",
                Some(&user_id),
            )?;
            let key = user_of(&user_id)?
                .keys
                .iter()
                .find(|k| k.access_key_id == key_id)
                .ok_or_else(|| fill(NO_SUCH_KEY, &key_id))?;
            let used = match &key.last_used {
                Some(at) => json!({"last_used_at": iam_time(at)}),
                None => json!({}),
            };
            Ok((200, Some(json!({"access_key_last_used": used}))))
        }
        Route::Credential(key_id) => {
            // IAM v3: any user may look up their own key; admins any key of the account.
            let not_found = || bare(fill(NO_CREDENTIAL, &key_id));
            let (owner_account, owner, key) = world.key_entry(&key_id).ok_or_else(not_found)?;
            let owner = owner.map(|u| u.user_id.as_str()).unwrap_or_default();
            if owner_account.account_id != caller.account_id {
                return Err(not_found());
            }
            if owner != me(caller).user_id && !caller.admin {
                return Err(bare(NOT_AUTHORIZED.into()));
            }
            Ok((
                200,
                Some(json!({"credential": {
                    "user_id": owner,
                    "access": key.access_key_id,
                    "status": key.status.as_str(),
                    "create_time": key.created_at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
                    "description": "",
                }})),
            ))
        }
        Route::CheckAksk(project_id) => {
            let project = account
                .projects
                .iter()
                .find(|p| p.project_id == project_id)
                .ok_or_else(|| {
                    bare(err(
                        404,
                        "CCE.01404001",
                        format!("project {project_id} not found"),
                    ))
                })?;
            let body = match &project.long_aksk {
                Some(aksk) => json!({
                    "akskUpload": true,
                    "expired": now >= aksk.expires_at,
                    "expiredTime": (aksk.expires_at - now).num_seconds().max(0).to_string(),
                    "expired_date": go_time(&aksk.expires_at),
                    "create_time": go_time(&aksk.created_at),
                    "update_time": update_time_text
                        .clone()
                        .unwrap_or_else(|| go_time(&aksk.updated_at)),
                }),
                None => json!({"akskUpload": false, "expired": false}),
            };
            Ok((200, Some(body)))
        }
        Route::ListAccounts => list_accounts(world, caller, &query).map(|body| (200, Some(body))),
        Route::Unknown => Err(NO_API.into()),
    }
}

/// Organizations ListAccounts: every account of the caller's organization, itself included,
/// in the order they joined, to its management account alone (delegated administrators are
/// not emulated; an account in no organization gets the same refusal: UNCONFIRMED).
fn list_accounts(
    world: &Cloud,
    caller: &Caller,
    query: &[(String, String)],
) -> Result<Value, Fail> {
    let management = &caller.account_id;
    let org = world
        .account(management)
        .and_then(|a| a.organization.as_ref())
        .ok_or_else(|| {
            err(
                401,
                "Organizations.1002",
                "This operation can be called only from the management account of an organization or by a member account that is a delegated administrator for a service.",
            )
        })?;
    if !caller.may(false, false) {
        let principal = format!("iam::{management}:user:{}", me(caller).name);
        let action = "organizations:accounts:list";
        let reason = "no identity policy allows the action";
        return Err(access_denied(&principal, "the user", action, "*", reason));
    }
    let limits = (ORG_DEFAULT_LIMIT, ORG_MAX_LIMIT);
    let (start, size) = page_window(world.page_cap, query, limits)?;
    let (slice, info) = page(&org.accounts, start, size);
    let accounts: Vec<Value> = slice
        .iter()
        .map(|m| {
            json!({
                "id": m.account_id,
                // As the API page's example: the management account, then the organization.
                "urn": format!("organizations::{management}:account:{}/{}", org.id, m.account_id),
                "join_method": if m.account_id == *management { "invited" } else { "created" },
                "status": m.state,
                "joined_at": m.joined_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                "name": m.name,
            })
        })
        .collect();
    Ok(json!({"accounts": accounts, "page_info": info}))
}

/// STS5 AssumeAgency as the sandbox answers it: the body's fields, the agency (in any account),
/// its trust (the caller's account, or the URN of the caller: an IAM user or an agency whose
/// session signs) and external id, then the duration (at most the agency's maximum, and an
/// hour when the caller signs with a security token). The session acts as an admin of the
/// agency's account.
fn assume_agency(
    state: &mut State,
    caller: &Caller,
    request: &Incoming,
    now: DateTime<Utc>,
) -> Result<Value, Fail> {
    let body: Value = serde_json::from_slice(&request.body).map_err(|_| Fail::from(NOT_JSON))?;
    let field = |name: &str| body.get(name).and_then(Value::as_str);
    let urn = field("agency_urn").ok_or_else(|| invalid_parameter("agency_urn is required"))?;
    let session = field("agency_session_name").unwrap_or("");
    if !session_name_ok(session, 2..=128, "_+=,.@-") {
        return Err(invalid_parameter(format!(
            "invalid agency_session_name: {session}"
        )));
    }
    let not_found = || err(404, NO_SUCH_ENTITY, format!("agency not found: {urn}"));
    let (account_id, name) = match urn.split(':').collect::<Vec<_>>().as_slice() {
        ["iam", "", account, "agency", name] => (account.to_string(), name.to_string()),
        _ => return Err(invalid_parameter(format!("invalid agency_urn: {urn}"))),
    };
    let agency = state.huawei.role(&account_id, |r| r.name == name);
    let agency = agency.ok_or_else(not_found)?;
    let from = &caller.account_id;
    let principal = caller.principal(
        |user| format!("iam::{from}:user:{user}"),
        |agency| format!("iam::{from}:agency:{agency}"),
    );
    if !trusts(&agency, caller, &[&principal], false, field("external_id")) {
        return Err(access_denied(
            &principal,
            "the principal",
            "sts:agencies:assume",
            urn,
            "the agency's trust policy does not allow the principal",
        ));
    }
    let cap = if caller.temp.is_some() {
        3600
    } else {
        agency.max_session
    };
    let duration = match body.get("duration_seconds") {
        None => Some(3600),
        Some(value) => value.as_i64(),
    };
    let duration = duration
        .filter(|d| (900..=cap.min(agency.max_session)).contains(d))
        .ok_or_else(|| {
            invalid_parameter(format!(
                "invalid duration_seconds: must be between 900 and {cap}"
            ))
        })?;
    let temp = TempKey::session(&account_id, &agency, session);
    let ((id, secret, token), expires) =
        state.issue_session(ProviderKind::Huawei, temp, duration, now);
    Ok(json!({
        "credentials": {
            "access_key_id": id,
            "secret_access_key": secret,
            "security_token": token,
            "expiration": iam_time(&expires),
        },
        "assumed_agency": {
            "urn": format!("sts::{account_id}:assumed-agency:{}/{session}", agency.name),
            "id": format!("{}:{session}", agency.role_id),
        },
    }))
}

/// Seeds Huawei's side of the world and returns the profiles for the CLI.
pub(crate) fn seed(state: &mut State, seed: Seed, now: DateTime<Utc>) -> Vec<SandboxProfile> {
    let days = Duration::days;
    // Whole milliseconds, as the real APIs report them.
    let now = DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now);
    let project = |project_id: &str, region: &str, expires, created, updated| HuaweiProject {
        project_id: project_id.to_string(),
        region: region.to_string(),
        long_aksk: Some(LongAksk {
            expires_at: now + days(expires),
            created_at: now - days(created),
            updated_at: now - days(updated),
        }),
    };
    let profile = |name, domain, user, region, project: &str, key| SandboxProfile {
        project_id: Some(project.to_string()),
        ..super::profile(ProviderKind::Huawei, name, region, domain, Some(user), key)
    };
    let account = Account::huawei(TEST_DOMAIN, "hw-test-account", now - days(1000));
    let mut account = with_users(account, &super::TEST_USERS, now);
    account
        .projects
        .push(project(TEST_PROJECT, REGION, 200, 230, 165));
    let key = seed_account(state, account, &super::TEST_KEYS, now);
    seed_member(state, now);
    seed_organization(state, now);
    let mut profiles = vec![profile(
        "huawei-admin",
        TEST_DOMAIN,
        "admin",
        REGION,
        TEST_PROJECT,
        key,
    )];
    match seed {
        // One item a page: every list needs its markers followed.
        Seed::Test => state.huawei.page_cap = 1,
        Seed::Demo => {
            state.huawei.page_cap = 0;
            let account = Account::huawei(DEMO_DOMAIN, "retail-prod", now - days(1500));
            let users = [
                ("ci-deployer", false, 700),
                ("data-sync", false, 520),
                ("m.zhang", false, 45),
            ];
            let mut account = with_users(account, &users, now);
            account
                .projects
                .push(project(DEMO_PROJECT, DEMO_REGION, 12, 353, 353));
            // This profile signs as the account's root user.
            let keys = [
                SeedKey(Some("retail-prod"), 60, None, true, None),
                SeedKey(Some("ci-deployer"), 500, Some(1), true, None),
                SeedKey(Some("ci-deployer"), 20, None, true, None),
                SeedKey(Some("data-sync"), 120, Some(45), false, None),
                SeedKey(Some("m.zhang"), 30, None, true, None),
            ];
            let key = seed_account(state, account, &keys, now);
            profiles.push(profile(
                "huawei-root",
                DEMO_DOMAIN,
                "retail-prod",
                DEMO_REGION,
                DEMO_PROJECT,
                key,
            ));
        }
    }
    profiles
}

/// The member account: no profile holds a key of it; its agencies let the test account in.
fn seed_member(state: &mut State, now: DateTime<Utc>) {
    let days = Duration::days;
    let member = Account::huawei(MEMBER_DOMAIN, "hw-member", now - days(400));
    let auditor = format!("iam::{MEMBER_DOMAIN}:agency:KeyAuditor");
    let roles = [
        ("KeyAuditor", TEST_DOMAIN),
        ("KeyAdmin", auditor.as_str()),
        (MEMBER_AGENCY, TEST_DOMAIN),
    ]
    .into_iter();
    // Agency ids are 32 hex characters.
    let role = |(name, trusted)| AgencyRole {
        role_id: new_hex_id(),
        ..AgencyRole::new(name, &[trusted])
    };
    let member = with_users(member, &MEMBER_USERS, now);
    super::seed_member(state, member, roles.map(role).collect(), now);
}

/// Agency `name` trusting `trusted` (an account id or an agency's URN).
fn agency(name: &str, trusted: &str) -> AgencyRole {
    AgencyRole {
        // Agency ids are 32 hex characters.
        role_id: new_hex_id(),
        ..AgencyRole::new(name, &[trusted])
    }
}

/// The test account manages an organization: the member account, a second member whose user
/// `erin` holds one old key, and a closed account; every member's default agency trusts the
/// test account. The test seed's pages of one make ListAccounts take four calls.
fn seed_organization(state: &mut State, now: DateTime<Utc>) {
    let days = Duration::days;
    let mut second = Account::huawei(SECOND_MEMBER, "hw-second", now - days(300));
    second.add_user("erin", false, now - days(250));
    second.roles = vec![agency(MEMBER_AGENCY, TEST_DOMAIN)];
    let keys = [SeedKey(Some("erin"), 200, Some(1), true, None)];
    seed_account(state, second, &keys, now);
    // `o-` and 32 lower-case letters and digits, as the API page's example.
    let organization = Organization::new(
        "o-k3x9m2q7w5e1r8t4y6u0i2o5p7a9s1d3",
        now,
        &[
            (TEST_DOMAIN, "hw-test-account", "active", 900),
            (MEMBER_DOMAIN, "hw-member", "active", 400),
            (SUSPENDED_MEMBER, "hw-closed", "suspended", 350),
            (SECOND_MEMBER, "hw-second", "active", 300),
        ],
    );
    if let Some(account) = state.huawei.account_mut(TEST_DOMAIN) {
        account.organization = Some(organization);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::dispatch;
    use crate::sandbox::lock;
    use axum::http::HeaderValue;
    use axum::http::{HeaderMap, HeaderName, Uri};
    use std::sync::Mutex;

    const HOST: &str = "127.0.0.1:8790";

    struct World {
        state: Mutex<State>,
        now: DateTime<Utc>,
        admin: (String, String),
    }

    impl World {
        fn new() -> World {
            let mut state = State::default();
            // Whole milliseconds, like the seed's times.
            let now = DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap();
            let profiles = seed(&mut state, Seed::Test, now);
            let admin = profiles
                .iter()
                .find(|p| p.name == "huawei-admin")
                .map(|p| (p.access_key_id.clone(), p.secret_access_key.clone()))
                .unwrap();
            World {
                state: Mutex::new(state),
                now,
                admin,
            }
        }

        fn user_id(&self, name: &str) -> String {
            lock(&self.state)
                .huawei
                .account(TEST_DOMAIN)
                .and_then(|a| a.user(name))
                .map(|u| u.user_id.clone())
                .unwrap()
        }

        /// The (AK, SK) of a user's `index`-th key.
        fn key_of(&self, name: &str, index: usize) -> (String, String) {
            let state = lock(&self.state);
            let key = &state
                .huawei
                .account(TEST_DOMAIN)
                .unwrap()
                .user(name)
                .unwrap()
                .keys[index];
            (key.access_key_id.clone(), key.secret.clone())
        }

        async fn send(&self, request: Incoming) -> (u16, Value) {
            let response = dispatch(
                &self.state,
                &request,
                crate::model::ProviderKind::Huawei,
                self.now,
            );
            let status = response.status().as_u16();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            let body = if bytes.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&bytes).unwrap()
            };
            (status, body)
        }

        async fn call(&self, method: &str, target: &str, body: &str) -> (u16, Value) {
            let (ak, sk) = self.admin.clone();
            self.send(signed(method, target, body, (&ak, &sk), self.now))
                .await
        }
    }

    /// A request signed by our signer as the adapter sends it.
    fn signed(
        method: &str,
        target: &str,
        body: &str,
        key: (&str, &str),
        time: DateTime<Utc>,
    ) -> Incoming {
        signed_with_token(method, target, body, key, None, time)
    }

    /// [`signed`] by temporary credentials, with their security token if any.
    fn signed_with_token(
        method: &str,
        target: &str,
        body: &str,
        (ak, sk): (&str, &str),
        token: Option<&str>,
        time: DateTime<Utc>,
    ) -> Incoming {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let mut caller = Vec::new();
        if !body.is_empty() {
            caller.push(("Content-Type".to_string(), "application/json".to_string()));
        }
        let (added, _) = signer::sign(
            &SigningKey {
                access_key: ak,
                secret_key: sk,
                security_token: token,
            },
            &RequestParts {
                method,
                host: HOST,
                path,
                query,
                headers: &caller,
                body: body.as_bytes(),
            },
            time,
        );
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static(HOST));
        for (name, value) in caller.into_iter().chain(added) {
            headers.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(&value).unwrap(),
            );
        }
        Incoming {
            method: Method::from_bytes(method.as_bytes()).unwrap(),
            uri: target.parse::<Uri>().unwrap(),
            headers,
            body: axum::body::Bytes::from(body.to_string()),
        }
    }

    #[tokio::test]
    async fn refuses_wrong_secrets_tampering_stale_dates_and_unusable_keys() {
        let world = World::new();
        let (ak, _) = world.admin.clone();
        let (status, body) = world
            .send(signed(
                "GET",
                "/v5/users",
                "",
                (&ak, "not-the-secret"),
                world.now,
            ))
            .await;
        assert_eq!(status, 401);
        assert_eq!(body["error_code"], "APIGW.0301");
        assert!(body["error_msg"]
            .as_str()
            .unwrap()
            .contains("verify aksk signature fail"));
        assert_eq!(body["request_id"].as_str().unwrap().len(), 32);
        // Signed for one path, sent to another.
        let (_, sk) = world.admin.clone();
        let mut request = signed("GET", "/v5/users?limit=1", "", (&ak, &sk), world.now);
        request.uri = "/v5/users?limit=2".parse().unwrap();
        assert_eq!(world.send(request).await.0, 401);
        // A body changed after signing.
        let bob = world.user_id("bob");
        let (bob_key, _) = world.key_of("bob", 0);
        let target = format!("/v5/users/{bob}/access-keys/{bob_key}");
        let mut request = signed(
            "PUT",
            &target,
            r#"{"status":"inactive"}"#,
            (&ak, &sk),
            world.now,
        );
        request.body = axum::body::Bytes::from_static(br#"{"status":"active"}"#);
        assert_eq!(world.send(request).await.0, 401);
        // Outside the 15-minute window, either way.
        for minutes in [-16, 16] {
            let at = world.now + Duration::minutes(minutes);
            let (status, body) = world
                .send(signed("GET", "/v5/users", "", (&ak, &sk), at))
                .await;
            assert_eq!(status, 401, "{minutes}");
            assert_eq!(body["error_code"], "APIGW.0301");
            assert_eq!(
                body["error_msg"],
                format!(
                    "Incorrect IAM authentication information: calc aksk signature fail:signature expired, signature time:{},server time:{}",
                    signer::sdk_date(at),
                    signer::sdk_date(world.now)
                )
            );
        }
        let at = world.now - Duration::minutes(14);
        assert_eq!(
            world
                .send(signed("GET", "/v5/users", "", (&ak, &sk), at))
                .await
                .0,
            200
        );
        // Unknown and inactive keys.
        let (status, body) = world
            .send(signed(
                "GET",
                "/v5/users",
                "",
                ("NOSUCHKEY0000000000X", &sk),
                world.now,
            ))
            .await;
        assert_eq!(status, 401);
        assert!(body["error_msg"].as_str().unwrap().contains("not exist"));
        let (bob_ak, bob_sk) = world.key_of("bob", 0);
        let (status, body) = world
            .send(signed(
                "GET",
                "/v5/users",
                "",
                (&bob_ak, &bob_sk),
                world.now,
            ))
            .await;
        assert_eq!(status, 401);
        assert!(body["error_msg"].as_str().unwrap().contains("disabled"));
        // Host left out of the signed headers.
        let mut request = signed("GET", "/v5/users", "", (&ak, &sk), world.now);
        let auth = request.headers["authorization"]
            .to_str()
            .unwrap()
            .replace("host;", "");
        request
            .headers
            .insert("authorization", HeaderValue::from_str(&auth).unwrap());
        assert_eq!(world.send(request).await.0, 401);
    }

    #[tokio::test]
    async fn two_keys_per_user_then_quota_exceeded() {
        let world = World::new();
        let carol = world.user_id("carol");
        let target = format!("/v5/users/{carol}/access-keys");
        for _ in 0..2 {
            let (status, body) = world.call("POST", &target, "{}").await;
            assert_eq!(status, 201);
            let key = &body["access_key"];
            assert_eq!(key["user_id"], carol.as_str());
            assert_eq!(key["status"], "active");
            assert_eq!(key["access_key_id"].as_str().unwrap().len(), 20);
            assert_eq!(key["secret_access_key"].as_str().unwrap().len(), 40);
        }
        let (status, body) = world.call("POST", &target, "{}").await;
        assert_eq!(status, 409);
        assert_eq!(body["error_code"], QUOTA_EXCEEDED);
        assert!(body["error_msg"]
            .as_str()
            .unwrap()
            .contains("limit exceeded"));
        let keys = lock(&world.state)
            .huawei
            .account(TEST_DOMAIN)
            .unwrap()
            .user("carol")
            .unwrap()
            .keys
            .len();
        assert_eq!(keys, 2);
    }

    #[tokio::test]
    async fn lists_page_by_marker_to_the_end() {
        let world = World::new();
        let mut names = Vec::new();
        let mut target = "/v5/users?limit=200".to_string();
        let mut pages = 0;
        loop {
            let (status, body) = world.call("GET", &target, "").await;
            assert_eq!(status, 200, "{body}");
            pages += 1;
            assert_eq!(body["page_info"]["current_count"], 1);
            names.extend(
                body["users"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|u| u["user_name"].as_str().unwrap().to_string()),
            );
            match body["page_info"]["next_marker"].as_str() {
                Some(marker) => target = format!("/v5/users?limit=200&marker={marker}"),
                None => break,
            }
        }
        assert_eq!(pages, 5);
        assert_eq!(names, ["hw-test-account", "admin", "alice", "bob", "carol"]);
        let alice = world.user_id("alice");
        let (_, first) = world
            .call("GET", &format!("/v5/users/{alice}/access-keys?limit=5"), "")
            .await;
        let marker = first["page_info"]["next_marker"]
            .as_str()
            .unwrap()
            .to_string();
        let (_, second) = world
            .call(
                "GET",
                &format!("/v5/users/{alice}/access-keys?limit=5&marker={marker}"),
                "",
            )
            .await;
        assert!(second["page_info"].get("next_marker").is_none());
        assert_ne!(
            first["access_keys"][0]["access_key_id"],
            second["access_keys"][0]["access_key_id"]
        );
        let (status, body) = world.call("GET", "/v5/users?marker=zzzz", "").await;
        assert_eq!(
            (status, body["error_code"].as_str()),
            (400, Some(INVALID_MARKER))
        );
        let (status, _) = world.call("GET", "/v5/users?limit=201", "").await;
        assert_eq!(status, 400);
        // The caller-identity lookup: the owner of one access key.
        let (alice_ak, _) = world.key_of("alice", 1);
        let (_, body) = world
            .call("GET", &format!("/v5/users?access_key_id={alice_ak}"), "")
            .await;
        assert_eq!(body["users"].as_array().unwrap().len(), 1);
        assert_eq!(body["users"][0]["user_id"], alice.as_str());
        assert_eq!(
            body["users"][0]["urn"],
            format!("iam::{TEST_DOMAIN}:user:alice")
        );
    }

    #[tokio::test]
    async fn signing_records_last_use_and_last_used_answers() {
        let world = World::new();
        let (alice_ak, alice_sk) = world.key_of("alice", 1);
        let alice = world.user_id("alice");
        let target = format!("/v5/users/{alice}/access-keys/{alice_ak}/last-used");
        let (status, body) = world.call("GET", &target, "").await;
        assert_eq!(status, 200);
        assert_eq!(body, json!({"access_key_last_used": {}}));
        // Alice signs a request of her own (allowed: her own key), which counts as a use.
        let (status, _) = world
            .send(signed(
                "GET",
                &format!("/v5/users/{alice}/access-keys"),
                "",
                (&alice_ak, &alice_sk),
                world.now,
            ))
            .await;
        assert_eq!(status, 200);
        let (_, body) = world.call("GET", &target, "").await;
        assert_eq!(
            body["access_key_last_used"]["last_used_at"],
            iam_time(&world.now)
        );
    }

    #[tokio::test]
    async fn users_manage_only_their_own_keys() {
        let world = World::new();
        let (alice_ak, alice_sk) = world.key_of("alice", 1);
        let as_alice = |method: &str, target: &str| {
            signed(method, target, "", (&alice_ak, &alice_sk), world.now)
        };
        let (status, body) = world.send(as_alice("GET", "/v5/users")).await;
        assert_eq!(status, 403);
        assert_eq!(body["error_code"], ACCESS_DENIED);
        let encoded = body["encoded_authorization_message"].as_str().unwrap();
        let decoded = String::from_utf8(hex::decode(encoded).unwrap()).unwrap();
        assert!(decoded.contains("iam:users:listUsersV5"), "{decoded}");
        let bob = world.user_id("bob");
        let (status, _) = world
            .send(as_alice("GET", &format!("/v5/users/{bob}/access-keys")))
            .await;
        assert_eq!(status, 403);
        // IAM v3 tells a user who owns their own key, but not someone else's.
        let alice = world.user_id("alice");
        let (status, body) = world
            .send(as_alice(
                "GET",
                &format!("/v3.0/OS-CREDENTIAL/credentials/{alice_ak}"),
            ))
            .await;
        assert_eq!(status, 200);
        assert_eq!(body["credential"]["user_id"], alice.as_str());
        let (bob_ak, _) = world.key_of("bob", 0);
        let (status, body) = world
            .send(as_alice(
                "GET",
                &format!("/v3.0/OS-CREDENTIAL/credentials/{bob_ak}"),
            ))
            .await;
        assert_eq!(
            (status, body["error_code"].as_str()),
            (403, Some("IAM.0002"))
        );
        assert!(body.get("request_id").is_none());
    }

    /// STS5 GetCallerIdentity answers every caller, even one IAM denies all user reads.
    #[tokio::test]
    async fn caller_identity_needs_no_permission() {
        let world = World::new();
        let alice = world.user_id("alice");
        {
            let mut state = lock(&world.state);
            let account = state.huawei.account_mut(TEST_DOMAIN).unwrap();
            account
                .users
                .iter_mut()
                .find(|u| u.user_id == alice)
                .unwrap()
                .no_list_permission = true;
        }
        let (ak, sk) = world.key_of("alice", 1);
        let (status, body) = world
            .send(signed(
                "GET",
                "/v5/caller-identity",
                "",
                (&ak, &sk),
                world.now,
            ))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body,
            json!({
                "account_id": TEST_DOMAIN,
                "principal_urn": format!("iam::{TEST_DOMAIN}:user:alice"),
                "principal_id": alice,
            })
        );
        // Marked users are refused user reads with IAM's 403, even their own user.
        let (status, body) = world
            .send(signed(
                "GET",
                &format!("/v5/users/{alice}"),
                "",
                (&ak, &sk),
                world.now,
            ))
            .await;
        assert_eq!(
            (status, body["error_code"].as_str()),
            (403, Some(ACCESS_DENIED))
        );
        // Even an admin so marked.
        let admin = world.user_id("admin");
        lock(&world.state)
            .huawei
            .account_mut(TEST_DOMAIN)
            .unwrap()
            .users
            .iter_mut()
            .find(|u| u.user_id == admin)
            .unwrap()
            .no_list_permission = true;
        assert_eq!(world.call("GET", "/v5/users", "").await.0, 403);
        assert_eq!(
            world
                .call("GET", &format!("/v5/users/{admin}/access-keys"), "")
                .await
                .0,
            200
        );
    }

    /// Temporary credentials sign only with their own, signed token, and only until expiry.
    #[tokio::test]
    async fn temporary_credentials_need_their_token() {
        let world = World::new();
        let (ak, sk, token) = lock(&world.state).huawei.issue_temporary(
            TEST_DOMAIN,
            "alice",
            world.now,
            Duration::minutes(30),
        );
        let with_token = |token: Option<&str>, at: DateTime<Utc>| {
            let path = "/v5/caller-identity";
            let headers = vec![("Content-Type".to_string(), "application/json".to_string())];
            let (added, _) = signer::sign(
                &SigningKey {
                    access_key: &ak,
                    secret_key: &sk,
                    security_token: token,
                },
                &RequestParts {
                    method: "GET",
                    host: HOST,
                    path,
                    query: "",
                    headers: &headers,
                    body: b"",
                },
                at,
            );
            let mut map = HeaderMap::new();
            map.insert("host", HeaderValue::from_static(HOST));
            for (name, value) in headers.into_iter().chain(added) {
                map.insert(
                    HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    HeaderValue::from_str(&value).unwrap(),
                );
            }
            Incoming {
                method: Method::GET,
                uri: path.parse::<Uri>().unwrap(),
                headers: map,
                body: axum::body::Bytes::new(),
            }
        };
        let (status, body) = world.send(with_token(Some(&token), world.now)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["principal_id"], world.user_id("alice").as_str());
        for token in [None, Some("wrong-token")] {
            let (status, body) = world.send(with_token(token, world.now)).await;
            assert_eq!(
                (status, body["error_msg"].as_str()),
                (
                    401,
                    Some("Incorrect IAM authentication information: the security token is invalid")
                ),
                "{token:?}"
            );
        }
        // Expired.
        lock(&world.state).huawei.temporary[0].expires_at = Some(world.now);
        assert_eq!(world.send(with_token(Some(&token), world.now)).await.0, 401);
    }

    /// AssumeAgency: trust by account or by the caller agency's URN (a chain), the duration
    /// cap for a caller signing with a token, the session's token on every later call.
    #[tokio::test]
    async fn assume_agency_checks_trust_duration_and_the_sessions_token() {
        let world = World::new();
        let assume = |agency: &str, extra: &str| {
            let urn = format!("iam::{MEMBER_DOMAIN}:agency:{agency}");
            format!(r#"{{"agency_urn":"{urn}","agency_session_name":"ck-test"{extra}}}"#)
        };
        let path = "/v5/agencies/assume";
        let (status, body) = world.call("POST", path, &assume("KeyAuditor", "")).await;
        assert_eq!(status, 200, "{body}");
        let field = |name: &str| body["credentials"][name].as_str().unwrap().to_string();
        let (ak, sk, token) = (
            field("access_key_id"),
            field("secret_access_key"),
            field("security_token"),
        );
        let expires = DateTime::parse_from_rfc3339(&field("expiration")).unwrap();
        assert_eq!(expires, world.now + Duration::hours(1));
        let as_session = |method, target, body, token| {
            signed_with_token(method, target, body, (&ak, &sk), token, world.now)
        };
        for wrong in [None, Some("not-the-token")] {
            let (status, body) = world
                .send(as_session("GET", "/v5/caller-identity", "", wrong))
                .await;
            assert_eq!((status, &body["error_code"]), (401, &json!("APIGW.0301")));
        }
        let (status, me) = world
            .send(as_session("GET", "/v5/caller-identity", "", Some(&token)))
            .await;
        assert_eq!(status, 200, "{me}");
        assert_eq!(me["account_id"], MEMBER_DOMAIN);
        let urn = format!("sts::{MEMBER_DOMAIN}:assumed-agency:KeyAuditor/ck-test");
        assert_eq!(me["principal_urn"], urn.as_str());
        // The session acts in the member account.
        let (status, users) = world
            .send(as_session("GET", "/v5/users?limit=200", "", Some(&token)))
            .await;
        let urn = format!("iam::{MEMBER_DOMAIN}:user:hw-member");
        assert_eq!((status, &users["users"][0]["urn"]), (200, &json!(urn)));
        // A chain: KeyAdmin trusts KeyAuditor's sessions, for at most an hour then.
        let long = assume("KeyAdmin", r#","duration_seconds":7200"#);
        let (status, body) = world
            .send(as_session("POST", path, &long, Some(&token)))
            .await;
        assert_eq!(
            (status, &body["error_code"]),
            (400, &json!(INVALID_PARAMETER))
        );
        let chained = assume("KeyAdmin", "");
        let (status, body) = world
            .send(as_session("POST", path, &chained, Some(&token)))
            .await;
        assert_eq!(status, 200, "{body}");
        // The test account itself is not trusted by KeyAdmin.
        let (status, body) = world.call("POST", path, &chained).await;
        assert_eq!((status, &body["error_code"]), (403, &json!(ACCESS_DENIED)));
        assert!(body["encoded_authorization_message"].is_string(), "{body}");
        let (status, body) = world.call("POST", path, &assume("Nope", "")).await;
        assert_eq!((status, &body["error_code"]), (404, &json!(NO_SUCH_ENTITY)));
        let bad = r#"{"agency_urn":"iam::x:role:y","agency_session_name":"ck"}"#;
        assert_eq!(world.call("POST", path, bad).await.0, 400);
        // An external id the trust requires must be sent.
        lock(&world.state)
            .huawei
            .account_mut(MEMBER_DOMAIN)
            .unwrap()
            .roles[0]
            .external_id = Some("ext-1".into());
        assert_eq!(
            world.call("POST", path, &assume("KeyAuditor", "")).await.0,
            403
        );
        let with_id = assume("KeyAuditor", r#","external_id":"ext-1""#);
        assert_eq!(world.call("POST", path, &with_id).await.0, 200);
    }

    /// A `Content-Type` (or project id) that is sent must be signed.
    #[tokio::test]
    async fn sent_content_type_must_be_signed() {
        let world = World::new();
        let (ak, sk) = world.admin.clone();
        let request = signed("GET", "/v5/caller-identity", "", (&ak, &sk), world.now);
        assert_eq!(world.send(request).await.0, 200);
        let mut request = signed("GET", "/v5/caller-identity", "", (&ak, &sk), world.now);
        request
            .headers
            .insert("content-type", HeaderValue::from_static("application/json"));
        let (status, body) = world.send(request).await;
        assert_eq!(
            (status, body["error_msg"].as_str()),
            (
                401,
                Some("Incorrect IAM authentication information: verify aksk signature fail")
            )
        );
    }

    #[tokio::test]
    async fn updates_deletes_and_not_found() {
        let world = World::new();
        let bob = world.user_id("bob");
        let (bob_key, _) = world.key_of("bob", 0);
        let target = format!("/v5/users/{bob}/access-keys/{bob_key}");
        let (status, body) = world.call("PUT", &target, r#"{"status":"active"}"#).await;
        assert_eq!(status, 200);
        assert_eq!(body["access_key"]["status"], "active");
        assert_eq!(
            world.call("PUT", &target, r#"{"status":"on"}"#).await.0,
            400
        );
        let (status, body) = world.call("DELETE", &target, "").await;
        assert_eq!((status, body), (204, Value::Null));
        let (status, body) = world.call("DELETE", &target, "").await;
        assert_eq!(
            (status, body["error_code"].as_str()),
            (404, Some(NO_SUCH_ENTITY))
        );
        let (status, _) = world
            .call(
                "GET",
                "/v5/users/ffffffffffffffffffffffffffffffff/access-keys",
                "",
            )
            .await;
        assert_eq!(status, 404);
        // The root label is no user id.
        let (status, body) = world
            .call("GET", "/v5/users/%3Croot%3E/access-keys", "")
            .await;
        assert_eq!(
            (status, body["error_code"].as_str()),
            (404, Some(NO_SUCH_ENTITY))
        );
        let (status, body) = world.call("GET", "/v5/agencies", "").await;
        assert_eq!(
            (status, body["error_code"].as_str()),
            (404, Some("APIGW.0101"))
        );
    }

    #[tokio::test]
    async fn cce_long_aksk_and_throttling() {
        let world = World::new();
        let (status, body) = world
            .call(
                "GET",
                &format!("/api/v2/projects/{TEST_PROJECT}/longaksk"),
                "",
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(body["akskUpload"], true);
        assert_eq!(body["expired"], false);
        assert_eq!(body["expiredTime"], (200 * 86_400).to_string());
        let expires = body["expired_date"].as_str().unwrap();
        assert!(expires.ends_with(" +0000 UTC"), "{expires}");
        assert_eq!(
            crate::time::parse_go_time(expires).map(|t| t.timestamp()),
            Some((world.now + Duration::days(200)).timestamp())
        );
        let (status, body) = world
            .call("GET", "/api/v2/projects/0000/longaksk", "")
            .await;
        assert_eq!(
            (status, body["error_code"].as_str()),
            (404, Some("CCE.01404001"))
        );
        // Throttling, as a fault gives it.
        let fault = Huawei.fault(true);
        assert_eq!(fault.status().as_u16(), 429);
        let body = axum::body::to_bytes(fault.into_body(), usize::MAX)
            .await
            .unwrap();
        assert!(String::from_utf8_lossy(&body).contains("\"APIGW.0308\""));
    }

    #[test]
    fn ids_and_times_have_huawei_shapes() {
        for _ in 0..200 {
            let id = super::super::state::new_key_id(ProviderKind::Huawei, "");
            assert_eq!(id.len(), 20);
            assert!(id
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
            assert_eq!(ProviderKind::from_key_id(&id), None);
        }
        assert_eq!(new_hex_id().len(), 32);
        let t = DateTime::parse_from_rfc3339("2026-12-07T09:02:00.147Z")
            .unwrap()
            .to_utc();
        assert_eq!(go_time(&t), "2026-12-07 09:02:00.147 +0000 UTC");
        assert_eq!(iam_time(&t), "2026-12-07T09:02:00.147Z");
        let whole = DateTime::parse_from_rfc3339("2026-12-07T09:02:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(go_time(&whole), "2026-12-07 09:02:00 +0000 UTC");
        let key = HuaweiKey {
            access_key_id: "AK".into(),
            secret: "very-secret".into(),
            status: KeyStatus::Active,
            created_at: t,
            last_used: None,
            last_used_in: None,
            last_used_day_only: false,
            usable_after: Some(t + Duration::seconds(5)),
        };
        assert!(!format!("{key:?}").contains("very-secret"));
        assert!(!key.usable(t));
        assert!(key.usable(t + Duration::seconds(5)));
    }
}
