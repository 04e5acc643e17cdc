//! Tencent Cloud CAM + STS key APIs and Organization's member list (API 3.0: JSON, TC3-HMAC-SHA256, `{"Response": ...}`
//! answers, HTTP 200 even for errors) over the sandbox state.
//!
//! The real service learns which API it is from the host it was called on; the sandbox serves
//! every cloud on one port, so it takes the service from the host when that is a
//! `*.tencentcloudapi.com` name and from the credential scope otherwise, and then recomputes
//! the signature for that service with our signer's `compute`.

use axum::response::Response;
use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde_json::{json, Map, Value};

use super::state::{
    change_key, Account, AwsRole, Key, OrgMember, Organization, State, TempKey, User, MAX_KEYS,
};
use super::{
    fail, fill, new_status, object, reply, seed_account, seed_member, session_name_ok,
    signing_secret, trusts, with_users, Caller, Dialect, Fail, Incoming, Refused, SandboxProfile,
    Seed, SeedKey, MEMBER_USERS,
};
use crate::model::ProviderKind;
use crate::providers::tencent::api::{
    CAM_VERSION, LAST_USED_BATCH, ORG_PAGE_LIMIT, ORG_VERSION, STS_VERSION,
};
use crate::providers::tencent::signer::{self, SigningKey};
use crate::providers::tencent::ORG_ROLE;
use crate::signing::RequestParts;

pub use super::state::{Account as TencentAccount, Key as TencentKey, User as TencentUser};

/// The owner (root) uin of the test seed's account (and the first of the demo seed).
/// The first word of its `Authorization` header.
pub const SCHEME: &str = signer::ALGORITHM;
pub const TEST_OWNER_UIN: u64 = 100000000001;
/// The owner uin of the demo seed's second account.
pub const DEMO_OWNER_UIN: u64 = 200012345678;
/// A member account of the test seed, reached only through its roles: `KeyAuditor` trusts
/// [`TEST_OWNER_UIN`], `KeyAdmin` trusts only `KeyAuditor` (a chain).
pub const MEMBER_OWNER_UIN: u64 = 300000000001;
/// A second member of the test account's organization, with user `erin`, reached only through
/// its `OrganizationAccessControlRole`.
pub const SECOND_MEMBER_UIN: u64 = 400000000001;
/// Longest AssumeRole session (DurationSeconds), and the default.
const MAX_SESSION_SECONDS: i64 = 43200;
const DEFAULT_SESSION_SECONDS: i64 = 7200;
const REGION: &str = "ap-guangzhou";
/// `X-TC-Timestamp` may be this far from the server's clock.
const MAX_SKEW_SECONDS: i64 = 300;

/// Creates an active key for `uin` (a sub-user, or the owner) of an existing account and
/// returns its (id, secret). Usable from `created_at + settings.new_key_delay`.
///
/// # Panics
/// When the account or the user does not exist (callers check first).
pub fn add_key(
    state: &mut State,
    owner_uin: u64,
    uin: u64,
    created_at: DateTime<Utc>,
) -> (String, String) {
    let delay = state.settings.new_key_delay;
    state.tencent.add_key(owner_uin, uin, created_at, delay)
}

/// Issues temporary credentials for `uin` valid until `expires_at`; returns (id, secret, token).
pub fn add_temp_credential(
    state: &mut State,
    owner_uin: u64,
    uin: u64,
    session_name: &str,
    expires_at: DateTime<Utc>,
) -> (String, String, String) {
    let user = state
        .tencent
        .account(owner_uin)
        .and_then(|a| a.user_by_uin(uin))
        .map(|u| u.name.clone());
    let temp = TempKey {
        account_id: owner_uin.to_string(),
        user,
        session_name: session_name.to_string(),
        expires_at: Some(expires_at),
        ..TempKey::default()
    };
    state.tencent.add_temporary(temp, 96)
}

// ---------------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------------

/// An error: `Response.Error.{Code, Message}`, HTTP 200 like the real API.
fn err(code: &'static str, message: impl Into<String>) -> Fail {
    fail(200, code, message)
}

// CAM's and STS's errors, all HTTP 200: (200, code, message; `{}` filled in by `fill`).
wire! {
    SIGNATURE_FAILURE = 200 "AuthFailure.SignatureFailure" "The provided credentials could not be validated. Please check your signature is correct.";
    SECRET_ID_NOT_FOUND = 200 "AuthFailure.SecretIdNotFound" "The SecretId is not found, please ensure that your SecretId is correct.";
    TOKEN_FAILURE = 200 "AuthFailure.TokenFailure" "Token verification failed: {}.";
    MISSING = 200 "MissingParameter" "The request is missing a required parameter `{}`.";
    USER_NOT_EXIST = 200 "InvalidParameter.UserNotExist" "The user with uin {} does not exist.";
    NOT_STRING = 200 "InvalidParameter" "The value type of parameter `{}` is not String.";
    NOT_ID_LIST = 200 "InvalidParameter" "The value type of parameter `SecretIdList` is not Array of String.";
    BAD_AUTHORIZATION = 200 "AuthFailure.InvalidAuthorization" "The Authorization header is not in the TC3-HMAC-SHA256 format.";
    THROTTLED = 200 "RequestLimitExceeded" "Your current request times equals to `20` in a second, which exceeds the frequency limit `20` for a second. Please reduce the frequency of calls.";
    INTERNAL = 200 "InternalError" "An internal error has occurred. Retry your request, but if the problem persists, contact us.";
    SUB_UIN = 200 "OperationDenied.SubUin" "A sub-user may not operate on the keys of the root account.";
    KEY_LIMIT = 200 "OperationDenied.AccessKeyOverLimit" "Each account can have up to {} access keys.";
}

fn missing(name: &str) -> Fail {
    fill(MISSING, name)
}

fn param_error(message: impl Into<String>) -> Fail {
    err("InvalidParameter.ParamError", message)
}

fn uin_not_match(id: &str, uin: u64) -> Fail {
    err(
        "OperationDenied.UinNotMatch",
        format!("The access key {id} does not belong to uin {uin}."),
    )
}

fn json_response(mut inner: Map<String, Value>) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    inner.insert("RequestId".into(), Value::String(request_id));
    let body = json!({ "Response": Value::Object(inner) }).to_string();
    reply(200, "application/json", "", "", Some(body))
}

/// The error envelope, HTTP 200 like the real API.
fn error_response(error: &Fail) -> Response {
    let mut inner = Map::new();
    inner.insert(
        "Error".into(),
        json!({ "Code": error.code, "Message": error.message }),
    );
    json_response(inner)
}

/// `2019-12-25 14:53:03` in Beijing time.
fn beijing_time(t: &DateTime<Utc>) -> String {
    t.with_timezone(&beijing())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn beijing_date(t: &DateTime<Utc>) -> String {
    t.with_timezone(&beijing()).format("%Y-%m-%d").to_string()
}

fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/// The service of an action.
fn service_of(action: &str) -> Option<&'static str> {
    match action {
        "GetCallerIdentity" | "AssumeRole" => Some("sts"),
        "DescribeOrganizationMembers" => Some("organization"),
        "ListUsers"
        | "GetUser"
        | "ListAccessKeys"
        | "CreateAccessKey"
        | "UpdateAccessKey"
        | "DeleteAccessKey"
        | "GetSecurityLastUsed" => Some("cam"),
        _ => None,
    }
}

fn version_of(service: &str) -> &'static str {
    match service {
        "sts" => STS_VERSION,
        "organization" => ORG_VERSION,
        _ => CAM_VERSION,
    }
}

/// The owner uin of the caller's account.
fn owner(caller: &Caller) -> u64 {
    caller.account_id.parse().unwrap_or_default()
}

/// The uin the signing key belongs to (the owner's own uin for the root account).
fn uin(caller: &Caller) -> u64 {
    caller.user.as_ref().map_or(owner(caller), |u| u.uin)
}

fn is_root(caller: &Caller) -> bool {
    caller.user.is_none() && caller.temp.is_none()
}

fn unauthorized(caller: &Caller, action: &str, resource: &str) -> Fail {
    err(
        "AuthFailure.UnauthorizedOperation",
        format!(
            "you are not authorized to perform operation ({}:{action}) resource ({resource}) has no permission (caller uin {})",
            service_of(action).unwrap_or("cam"),
            uin(caller)
        ),
    )
}

/// Tencent Cloud CAM and STS: API 3.0, TC3-HMAC-SHA256, HTTP 200 even for errors.
pub struct Tencent;

impl Dialect for Tencent {
    /// The action a request asks for (`X-TC-Action`).
    fn action_of(&self, request: &Incoming) -> String {
        request.header("x-tc-action").unwrap_or_default()
    }

    /// Both in its HTTP-200 envelope: `RequestLimitExceeded` or `InternalError`.
    fn fault(&self, throttled: bool) -> Response {
        error_response(&(if throttled { THROTTLED } else { INTERNAL }).into())
    }

    fn handle(&self, state: &mut State, request: &Incoming, now: DateTime<Utc>) -> Response {
        match serve(state, request, now) {
            Ok(inner) => json_response(inner),
            Err(error) => error_response(&error),
        }
    }
}

fn serve(
    state: &mut State,
    request: &Incoming,
    now: DateTime<Utc>,
) -> Result<Map<String, Value>, Fail> {
    let action = request.header("x-tc-action").unwrap_or_default();
    if action.is_empty() {
        return Err(missing("Action"));
    }
    let (caller, service) = authenticate(state, request, &action, now)?;
    if service_of(&action) != Some(service.as_str()) {
        return Err(err(
            "InvalidAction",
            format!("The action `{action}` does not exist in service `{service}`."),
        ));
    }
    let version = request.header("x-tc-version").unwrap_or_default();
    if version.is_empty() {
        return Err(missing("Version"));
    }
    if version != version_of(&service) {
        return Err(err(
            "NoSuchVersion",
            format!("The API version `{version}` of service `{service}` does not exist."),
        ));
    }
    if service == "sts" && request.header("x-tc-region").is_none_or(|r| r.is_empty()) {
        return Err(missing("Region"));
    }
    let params = params(request)?;
    run(state, &caller, &action, &params, now)
}

/// The action's parameters: the JSON body of a POST, the form-encoded query of a GET
/// (`SecretIdList.0=…` collected into an array, `TargetUin` made a number).
fn params(request: &Incoming) -> Result<Map<String, Value>, Fail> {
    if request.method == axum::http::Method::GET {
        let mut out = Map::new();
        for (name, value) in crate::signing::parse_query(request.uri.query().unwrap_or("")) {
            let value = match value.parse::<u64>() {
                Ok(n) if name == "TargetUin" => Value::from(n),
                _ => Value::String(value),
            };
            match name.split_once('.') {
                Some((list, index)) if index.bytes().all(|b| b.is_ascii_digit()) => {
                    if let Value::Array(items) = out
                        .entry(list.to_string())
                        .or_insert_with(|| Value::Array(Vec::new()))
                    {
                        items.push(value);
                    }
                }
                _ => {
                    out.insert(name, value);
                }
            }
        }
        return Ok(out);
    }
    if request.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&request.body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(err(
            "InvalidParameter",
            "The request body is not a valid JSON object.",
        )),
    }
}

/// Checks timestamp, key and signature; records the key's use; returns the caller and the
/// service the request was signed for.
fn authenticate(
    state: &mut State,
    request: &Incoming,
    action: &str,
    now: DateTime<Utc>,
) -> Result<(Caller, String), Fail> {
    let authorization = request
        .header("authorization")
        .ok_or_else(|| missing("Authorization"))?;
    let parsed = signer::parse_authorization(&authorization).ok_or(BAD_AUTHORIZATION)?;
    let raw_timestamp = request
        .header("x-tc-timestamp")
        .ok_or_else(|| missing("Timestamp"))?;
    let timestamp: i64 = raw_timestamp.trim().parse().map_err(|_| {
        err(
            "InvalidParameter",
            format!("The value `{raw_timestamp}` of parameter `Timestamp` is not a Unix time."),
        )
    })?;
    let server = now.timestamp();
    if (timestamp - server).abs() > MAX_SKEW_SECONDS {
        return Err(err(
            "AuthFailure.SignatureExpire",
            format!(
                "Signature expired: the request timestamp {timestamp} is more than {MAX_SKEW_SECONDS} seconds away from the server time {server}."
            ),
        ));
    }
    let host = request.header("host").unwrap_or_default();
    // A real host names its service (cam.tencentcloudapi.com); the shared sandbox port does not.
    let hostname = host.split(':').next().unwrap_or_default();
    let service = match hostname.strip_suffix(".tencentcloudapi.com") {
        Some(rest) => rest.split('.').next().unwrap_or_default().to_string(),
        None => parsed.service.clone(),
    };

    // The key: long-term, or temporary with its token.
    let token = request.header("x-tc-token");
    let id = &parsed.secret_id;
    let (secret, _) =
        signing_secret(&state.tencent, id, token.as_deref(), now).map_err(|why| match why {
            Refused::Unknown | Refused::Disabled => SECRET_ID_NOT_FOUND.into(),
            Refused::NoToken => fill(TOKEN_FAILURE, "the request carries no X-TC-Token"),
            Refused::WrongToken => fill(TOKEN_FAILURE, "the token does not match the SecretId"),
            Refused::Expired => fill(TOKEN_FAILURE, "the token has expired"),
        })?;

    // The signature, recomputed for the service and the day of the timestamp.
    let signs = |h: &str| parsed.signed_headers.iter().any(|s| s == h);
    let scoped = parsed.service == service && parsed.date == signer::scope_date(timestamp);
    if !scoped || !signs("content-type") || !signs("host") {
        return Err(SIGNATURE_FAILURE.into());
    }
    let key = SigningKey {
        secret_id: &parsed.secret_id,
        secret_key: &secret,
        token: None,
        service: &service,
    };
    let compute = |parts: &RequestParts| signer::compute(&key, parts, timestamp).signature;
    let given = &parsed.signature;
    let names = &parsed.signed_headers;
    request.verify(names, Some("/"), compute, given, |_| {
        Fail::from(SIGNATURE_FAILURE)
    })?;
    let caller = super::caller(state, ProviderKind::Tencent, id, action, now, None);
    Ok((caller.ok_or(SECRET_ID_NOT_FOUND)?, service))
}

fn account<'a>(state: &'a State, caller: &Caller) -> Result<&'a Account, Fail> {
    state
        .tencent
        .account(owner(caller))
        .ok_or(SECRET_ID_NOT_FOUND.into())
}

fn required_str<'a>(params: &'a Map<String, Value>, name: &str) -> Result<&'a str, Fail> {
    match params.get(name) {
        None | Some(Value::Null) => Err(missing(name)),
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) => Err(missing(name)),
        Some(_) => Err(fill(NOT_STRING, name)),
    }
}

fn target_uin(params: &Map<String, Value>) -> Result<Option<u64>, Fail> {
    match params.get("TargetUin") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| {
            err(
                "InvalidParameter",
                "The value of parameter `TargetUin` is not a valid uin.",
            )
        }),
        Some(_) => Err(err(
            "InvalidParameter",
            "The value type of parameter `TargetUin` is not Integer.",
        )),
    }
}

/// The uin a key action is about (`TargetUin`, default the caller), after the permission and
/// existence checks CAM makes.
fn key_target(
    state: &State,
    caller: &Caller,
    action: &str,
    params: &Map<String, Value>,
) -> Result<u64, Fail> {
    let target = target_uin(params)?.unwrap_or(uin(caller));
    let account = account(state, caller)?;
    if target == owner(caller) {
        if !is_root(caller) {
            return Err(SUB_UIN.into());
        }
        return Ok(target);
    }
    if !caller.admin && target != uin(caller) {
        return Err(unauthorized(
            caller,
            action,
            &format!("qcs::cam::uin/{}:uin/{target}", owner(caller)),
        ));
    }
    account
        .user_by_uin(target)
        .map(|u| u.uin)
        .ok_or_else(|| fill(USER_NOT_EXIST, target))
}

fn user_json(user: &User) -> Map<String, Value> {
    object(
        json!({"Uin": user.uin, "Name": user.name, "Uid": user.uid, "Remark": user.remark,
        "ConsoleLogin": 1, "PhoneNum": "", "CountryCode": "86", "Email": ""}),
    )
}

fn key_json(key: &Key) -> Value {
    json!({
        "AccessKeyId": key.access_key_id,
        "Status": key.status.as_wire(),
        "CreateTime": beijing_time(&key.created_at),
    })
}

/// Runs an authenticated action; returns the fields of `Response` (RequestId is added later).
fn run(
    state: &mut State,
    caller: &Caller,
    action: &str,
    params: &Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<Map<String, Value>, Fail> {
    let mut out = Map::new();
    match action {
        "GetCallerIdentity" => {
            let owner = owner(caller);
            if let Some(TempKey {
                role: Some((_, role_id)),
                session_name,
                assumed_by,
                ..
            }) = &caller.temp
            {
                // As the STS page's AssumeRole example: the role id, and the uin that assumed it.
                let arn = format!("qcs::sts:{owner}:assumed-role/{role_id}");
                let user_id = format!("{role_id}:{session_name}");
                return Ok(object(
                    json!({"Arn": arn, "AccountId": owner.to_string(), "UserId": user_id,
                    "PrincipalId": assumed_by, "Type": "CAMRole"}),
                ));
            }
            let (arn, user_id) = match caller.temp.as_ref().map(|t| &t.session_name) {
                Some(session) => (
                    format!("qcs::sts:{owner}:federated-user/{}", uin(caller)),
                    format!("{}:{session}", uin(caller)),
                ),
                None if is_root(caller) => (
                    format!("qcs::cam::uin/{owner}:uin/{owner}"),
                    owner.to_string(),
                ),
                None => (
                    format!("qcs::cam:{owner}:uin/{}", uin(caller)),
                    uin(caller).to_string(),
                ),
            };
            out = object(
                json!({"Arn": arn, "AccountId": owner.to_string(), "UserId": user_id,
                "PrincipalId": uin(caller).to_string(), "Type": "CAMUser"}),
            );
        }
        "AssumeRole" => return assume_role(state, caller, params, now),
        "DescribeOrganizationMembers" => return organization_members(state, caller, params),
        "ListUsers" => {
            let account = account(state, caller)?;
            if !caller.admin {
                return Err(unauthorized(caller, action, "*"));
            }
            let data: Vec<Value> = account
                .users
                .iter()
                .map(|u| {
                    let mut entry = user_json(u);
                    entry.insert("CreateTime".into(), json!(beijing_time(&u.created_at)));
                    entry.insert("NickName".into(), json!(u.name));
                    Value::Object(entry)
                })
                .collect();
            out.insert("Data".into(), Value::Array(data));
        }
        "GetUser" => {
            let name = required_str(params, "Name")?;
            let account = account(state, caller)?;
            let own = account
                .user_by_uin(uin(caller))
                .is_some_and(|u| u.name == name);
            if !caller.admin && !own {
                return Err(unauthorized(
                    caller,
                    action,
                    &format!("qcs::cam::uin/{}:uin/*", owner(caller)),
                ));
            }
            let user = account.user(name).ok_or_else(|| {
                err(
                    "ResourceNotFound.UserNotExist",
                    format!("The user `{name}` does not exist."),
                )
            })?;
            out = user_json(user);
            out.insert("RecentlyLoginIP".into(), Value::Null);
            out.insert("RecentlyLoginTime".into(), Value::Null);
        }
        "ListAccessKeys" => {
            let target = key_target(state, caller, action, params)?;
            let keys = account(state, caller)?
                .keys(target)
                .ok_or_else(|| fill(USER_NOT_EXIST, target))?;
            let list: Vec<Value> = keys.iter().map(key_json).collect();
            out.insert("AccessKeys".into(), Value::Array(list));
        }
        "CreateAccessKey" => {
            let target = key_target(state, caller, action, params)?;
            let (id, secret) = state
                .create_key(ProviderKind::Tencent, &caller.account_id, target, now)
                .ok_or_else(|| fill(KEY_LIMIT, MAX_KEYS))?;
            out.insert(
                "AccessKey".into(),
                json!({
                    "AccessKeyId": id,
                    "SecretAccessKey": secret,
                    "Status": "Active",
                    "CreateTime": beijing_time(&now),
                }),
            );
        }
        "UpdateAccessKey" | "DeleteAccessKey" => {
            let id = required_str(params, "AccessKeyId")?.to_string();
            let status = || Ok(required_str(params, "Status")?.to_string());
            let status = new_status(action, status, |other| {
                param_error(format!(
                    "The value `{other}` of parameter `Status` is not one of Active, Inactive."
                ))
            })?;
            let target = key_target(state, caller, action, params)?;
            let keys = state
                .tencent
                .account_mut(owner(caller))
                .and_then(|a| a.keys_mut(target))
                .ok_or_else(|| fill(USER_NOT_EXIST, target))?;
            if !change_key(keys, &id, status) {
                return Err(uin_not_match(&id, target));
            }
        }
        "GetSecurityLastUsed" => {
            let ids: Vec<&str> = match params.get("SecretIdList") {
                None | Some(Value::Null) => return Err(missing("SecretIdList")),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| v.as_str().ok_or(NOT_ID_LIST))
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(NOT_ID_LIST.into()),
            };
            if ids.is_empty() || ids.len() > LAST_USED_BATCH {
                return Err(err(
                    "InvalidParameter",
                    format!(
                        "SecretIdList must hold between 1 and {LAST_USED_BATCH} ids; got {}.",
                        ids.len()
                    ),
                ));
            }
            let account = account(state, caller)?;
            let mut rows = Vec::new();
            for id in ids {
                let Some((_, user, key)) = state
                    .tencent
                    .key_entry(id)
                    .filter(|(a, ..)| a.account_id == account.account_id)
                else {
                    continue;
                };
                let owner = user.map_or(owner(caller), |u| u.uin);
                if !caller.admin && owner != uin(caller) {
                    let account_owner = self::owner(caller);
                    return Err(unauthorized(
                        caller,
                        action,
                        &format!("qcs::cam::uin/{account_owner}:uin/{owner}"),
                    ));
                }
                let row = match &key.last_used {
                    Some(at) if key.last_used_day_only => json!({
                        "SecretId": id,
                        "LastUsedDate": beijing_date(at),
                        "LastSecretUsedDate": null,
                    }),
                    Some(at) => json!({
                        "SecretId": id,
                        "LastUsedDate": beijing_date(at),
                        "LastSecretUsedDate": at.timestamp_millis(),
                    }),
                    None => json!({
                        "SecretId": id,
                        "LastUsedDate": null,
                        "LastSecretUsedDate": 0,
                    }),
                };
                rows.push(row);
            }
            out.insert("SecretIdLastUsedRows".into(), Value::Array(rows));
        }
        other => {
            return Err(err(
                "InvalidAction",
                format!("The action `{other}` does not exist."),
            ))
        }
    }
    Ok(out)
}

/// The caller as a role's trust names it: a role session as its role, a sub-user by uin.
fn principal(caller: &Caller) -> String {
    let owner = owner(caller);
    match &caller.temp {
        Some(TempKey {
            role: Some((name, _)),
            ..
        }) => format!("qcs::cam::uin/{owner}:roleName/{name}"),
        _ => format!("qcs::cam::uin/{owner}:uin/{}", uin(caller)),
    }
}

/// STS AssumeRole: its parameters, the role (missing: `ResourceNotFound.RoleNotFound`), the
/// caller's own permission and the role's trust (`UnauthorizedOperation`), the duration
/// (`InvalidParameter.OverTimeError`). The codes are those the SDK lists for AssumeRole; which
/// one a refused trust gets, and every message text here, are UNCONFIRMED (research notes
/// §3.1). So is the minimum duration (not enforced), and whether a role session may assume
/// another role (allowed here; the SDK also lists `FailedOperation.TempKeyNotAllowed`).
fn assume_role(
    state: &mut State,
    caller: &Caller,
    params: &Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<Map<String, Value>, Fail> {
    let role_arn = required_str(params, "RoleArn")?;
    let session = required_str(params, "RoleSessionName")?;
    if !session_name_ok(session, 2..=128, "_+=,.@-") {
        return Err(param_error(format!(
            "The value `{session}` of parameter `RoleSessionName` is invalid."
        )));
    }
    let duration = match params.get("DurationSeconds") {
        None | Some(Value::Null) => DEFAULT_SESSION_SECONDS,
        Some(value) => value.as_i64().ok_or_else(|| {
            err(
                "InvalidParameter",
                "The value type of parameter `DurationSeconds` is not Integer.",
            )
        })?,
    };
    // qcs::cam::uin/<owner uin>:roleName/<name>
    let not_found = || {
        err(
            "ResourceNotFound.RoleNotFound",
            format!("The role `{role_arn}` does not exist."),
        )
    };
    let (owner_uin, name) = role_arn
        .strip_prefix("qcs::cam::uin/")
        .and_then(|rest| rest.split_once(":roleName/"))
        .and_then(|(uin, name)| Some((uin.parse::<u64>().ok()?, name)))
        .ok_or_else(not_found)?;
    let role = state.tencent.role(owner_uin, |r| r.name == name);
    let role = role.ok_or_else(not_found)?;
    let external_id = params.get("ExternalId").and_then(Value::as_str);
    if !trusts(&role, caller, &[&principal(caller)], false, external_id) {
        return Err(err(
            "UnauthorizedOperation",
            format!(
                "{} is not authorized to perform operation (sts:AssumeRole) on resource ({role_arn}).",
                principal(caller)
            ),
        ));
    }
    if duration > role.max_session.min(MAX_SESSION_SECONDS) {
        return Err(err(
            "InvalidParameter.OverTimeError",
            format!(
                "DurationSeconds {duration} exceeds the limit of {MAX_SESSION_SECONDS} seconds."
            ),
        ));
    }
    let temp = TempKey {
        assumed_by: Some(uin(caller).to_string()),
        ..TempKey::session(&owner_uin.to_string(), &role, session)
    };
    let ((id, secret, token), expires) =
        state.issue_session(ProviderKind::Tencent, temp, duration, now);
    let mut out = Map::new();
    out.insert(
        "Credentials".into(),
        json!({ "Token": token, "TmpSecretId": id, "TmpSecretKey": secret }),
    );
    out.insert("ExpiredTime".into(), json!(expires.timestamp()));
    out.insert(
        "Expiration".into(),
        json!(expires.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
    );
    Ok(out)
}

/// A required integer parameter.
fn required_u64(params: &Map<String, Value>, name: &str) -> Result<u64, Fail> {
    match params.get(name) {
        None | Some(Value::Null) => Err(missing(name)),
        Some(value) => value.as_u64().ok_or_else(|| {
            err(
                "InvalidParameter",
                format!("The value type of parameter `{name}` is not Integer."),
            )
        }),
    }
}

/// Organization DescribeOrganizationMembers (2021-03-31), for the management account only.
/// `Offset` and `Limit` (1–50) are required; `Total` counts every member. The codes are those
/// the SDK lists for this action; which one a member account (rather than a lone one) gets,
/// every message text, and whether the management account is itself listed (it is here) are
/// UNCONFIRMED (research notes §3.3).
fn organization_members(
    state: &State,
    caller: &Caller,
    params: &Map<String, Value>,
) -> Result<Map<String, Value>, Fail> {
    let offset = required_u64(params, "Offset")? as usize;
    let limit = required_u64(params, "Limit")?;
    if !(1..=u64::from(ORG_PAGE_LIMIT)).contains(&limit) {
        return Err(err(
            "InvalidParameter",
            format!(
                "The value `{limit}` of parameter `Limit` is not between 1 and {ORG_PAGE_LIMIT}."
            ),
        ));
    }
    // CAM decides before the service looks for the organization.
    if !caller.may(false, false) {
        return Err(unauthorized(
            caller,
            "DescribeOrganizationMembers",
            &format!("qcs::organization::uin/{}:organization/*", owner(caller)),
        ));
    }
    let org = account(state, caller)?
        .organization
        .as_ref()
        .ok_or_else(|| {
            err(
                "ResourceNotFound.OrganizationNotExist",
                "The organization does not exist.",
            )
        })?;
    // The test seed pages small, so that clients must follow Offset and Total.
    let size = match state.tencent.page_cap {
        0 => limit as usize,
        cap => cap.min(limit as usize),
    };
    let items: Vec<Value> = org
        .accounts
        .iter()
        .skip(offset)
        .take(size)
        .map(|m| {
            let joined = beijing_time(&m.joined_at);
            json!({
                "MemberUin": m.account_id.parse::<u64>().unwrap_or_default(),
                "Name": m.name,
                "MemberType": if m.account_id == caller.account_id { "Invite" } else { "Create" },
                "OrgPolicyType": "Financial",
                "OrgPolicyName": "Self-pay",
                "OrgPermission": [],
                "NodeId": 0,
                "NodeName": "root",
                "Remark": "",
                "CreateTime": joined,
                "UpdateTime": joined,
                "IsAllowQuit": "Denied",
                "PayUin": "",
                "PayName": "",
                "OrgIdentity": [{"IdentityId": 1, "IdentityAliasName": "Admin"}],
                "BindStatus": "Unbound",
                "PermissionStatus": "Confirmed",
            })
        })
        .collect();
    let mut out = Map::new();
    out.insert("Items".into(), Value::Array(items));
    out.insert("Total".into(), json!(org.accounts.len()));
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Seeds
// ---------------------------------------------------------------------------------------------

/// Seeds the Tencent side of the world and returns the profiles for the CLI.
pub(crate) fn seed(state: &mut State, seed: Seed, now: DateTime<Utc>) -> Vec<SandboxProfile> {
    let profile = |name, owner: u64, key| {
        let owner = owner.to_string();
        super::profile(
            ProviderKind::Tencent,
            name,
            REGION,
            &owner,
            Some(name_of(name)),
            key,
        )
    };
    let account = Account::new(ProviderKind::Tencent, &TEST_OWNER_UIN.to_string());
    let mut account = with_users(account, &super::TEST_USERS, now);
    account
        .users
        .iter_mut()
        .enumerate()
        .for_each(|(i, u)| u.uin = test_uin(i));
    let key = seed_account(state, account, &super::TEST_KEYS, now);
    let mut profiles = vec![profile("tencent-admin", TEST_OWNER_UIN, key)];
    let member = Account::new(ProviderKind::Tencent, &MEMBER_OWNER_UIN.to_string());
    let mut member = with_users(member, &MEMBER_USERS, now);
    member
        .users
        .iter_mut()
        .enumerate()
        .for_each(|(i, u)| u.uin = member_uin(i));
    let auditor = format!("qcs::cam::uin/{MEMBER_OWNER_UIN}:roleName/KeyAuditor");
    let role = |name: &str, trusted: &[&str]| AwsRole {
        // Tencent role ids are numbers such as 4611686018427397919.
        role_id: format!("4611686018427{}", rand::random::<u32>() % 900_000 + 100_000),
        max_session: MAX_SESSION_SECONDS,
        ..AwsRole::new(name, trusted)
    };
    let test = TEST_OWNER_UIN.to_string();
    let roles = vec![
        role("KeyAuditor", &[&test]),
        role("KeyAdmin", &[&auditor]),
        role(ORG_ROLE, &[&test]),
    ];
    seed_member(state, member, roles, now);
    // The test account manages an organization of both; its listing pages two at a time.
    let mut second = Account::new(ProviderKind::Tencent, &SECOND_MEMBER_UIN.to_string());
    second.add_user("erin", false, now - Duration::days(90)).uin = SECOND_MEMBER_UIN + 100;
    second.roles = vec![role(ORG_ROLE, &[&test])];
    let erin_key = [SeedKey(Some("erin"), 200, Some(1), true, None)];
    seed_account(state, second, &erin_key, now);
    let member = |id: u64, name: &str, days| OrgMember {
        account_id: id.to_string(),
        name: name.to_string(),
        state: String::new(),
        joined_at: now - Duration::days(days),
    };
    let accounts = vec![
        member(TEST_OWNER_UIN, "management", 900),
        member(MEMBER_OWNER_UIN, "member", 600),
        member(SECOND_MEMBER_UIN, "second", 300),
    ];
    if let Some(account) = state.tencent.account_mut(TEST_OWNER_UIN) {
        account.organization = Some(Organization {
            id: "45155".to_string(),
            accounts,
        });
    }
    state.tencent.page_cap = 2;
    if seed == Seed::Demo {
        let mut account = Account::new(ProviderKind::Tencent, &DEMO_OWNER_UIN.to_string());
        for (name, admin, age, uin) in [
            ("ops", true, 1100, 100023450001),
            ("ci-deployer", false, 700, 100023450002),
            ("li.wei", false, 250, 100023450003),
            ("cos-backup", false, 1500, 100023450004),
        ] {
            account.add_user(name, admin, now - Duration::days(age)).uin = uin;
        }
        let keys = [
            SeedKey(Some("ops"), 60, None, true, None),
            SeedKey(Some("ci-deployer"), 380, Some(1), true, None),
            SeedKey(Some("ci-deployer"), 20, None, true, None),
            SeedKey(Some("li.wei"), 75, Some(3), true, None),
            SeedKey(Some("cos-backup"), 900, Some(400), true, None),
        ];
        let key = seed_account(state, account, &keys, now);
        profiles.push(profile("tencent-ops", DEMO_OWNER_UIN, key));
    }
    profiles
}

/// The user a seeded profile signs as: `tencent-admin` → `admin`.
fn name_of(profile: &str) -> &str {
    profile.trim_start_matches("tencent-")
}

/// Uins of the member account's users, in seed order: carol, dave.
pub fn member_uin(index: usize) -> u64 {
    300000000101 + index as u64
}

/// Uins of the test seed's users, in seed order: admin, alice, bob, carol.
pub fn test_uin(index: usize) -> u64 {
    100000000101 + index as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::KeyStatus;
    use crate::sandbox::lock;
    use axum::http::{HeaderValue, StatusCode};
    use std::sync::Mutex;

    fn handle(state: &Mutex<State>, request: &Incoming, now: DateTime<Utc>) -> Response {
        crate::sandbox::dispatch(state, request, ProviderKind::Tencent, now)
    }
    use axum::body::Bytes;
    use axum::http::{HeaderMap, HeaderName, Method, Uri};

    const HOST: &str = "127.0.0.1:8790";

    fn world() -> (Mutex<State>, SandboxProfile, DateTime<Utc>) {
        let mut state = State::default();
        let now = Utc::now();
        let profiles = seed(&mut state, Seed::Test, now);
        let admin = profiles.into_iter().next().unwrap();
        (Mutex::new(state), admin, now)
    }

    struct Call<'a> {
        id: &'a str,
        secret: &'a str,
        token: Option<&'a str>,
        service: &'a str,
        action: &'a str,
        body: Value,
        timestamp: i64,
        host: &'a str,
    }

    impl<'a> Call<'a> {
        /// A call signed with a profile's key.
        fn by(
            profile: &'a SandboxProfile,
            action: &'a str,
            body: Value,
            now: DateTime<Utc>,
        ) -> Self {
            Call::new(
                &profile.access_key_id,
                &profile.secret_access_key,
                action,
                body,
                now,
            )
        }

        fn new(
            id: &'a str,
            secret: &'a str,
            action: &'a str,
            body: Value,
            now: DateTime<Utc>,
        ) -> Self {
            Call {
                id,
                secret,
                token: None,
                service: service_of(action).unwrap_or("cam"),
                action,
                body,
                timestamp: now.timestamp(),
                host: HOST,
            }
        }

        fn request(&self) -> Incoming {
            let body = self.body.to_string();
            let content = vec![("Content-Type".to_string(), "application/json".to_string())];
            let parts = RequestParts {
                method: "POST",
                host: self.host,
                path: "/",
                query: "",
                headers: &content,
                body: body.as_bytes(),
            };
            let key = SigningKey {
                secret_id: self.id,
                secret_key: self.secret,
                token: self.token,
                service: self.service,
            };
            let (added, _) = signer::sign(&key, &parts, self.timestamp);
            let mut headers = HeaderMap::new();
            let mut put = |name: &str, value: &str| {
                headers.insert(
                    HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).unwrap(),
                    HeaderValue::from_str(value).unwrap(),
                );
            };
            put("host", self.host);
            put("content-type", "application/json");
            put("x-tc-action", self.action);
            put("x-tc-version", version_of(self.service));
            put("x-tc-region", REGION);
            for (name, value) in &added {
                put(name, value);
            }
            Incoming {
                method: Method::POST,
                uri: Uri::from_static("/"),
                headers,
                body: Bytes::from(body),
            }
        }
    }

    /// Sends a request through `handle` and returns `Response` of the answer.
    fn send(state: &Mutex<State>, request: &Incoming, now: DateTime<Utc>) -> Value {
        let response = handle(state, request, now);
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "API 3.0 always answers 200"
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let bytes = runtime
            .block_on(axum::body::to_bytes(response.into_body(), 1 << 20))
            .unwrap();
        let doc: Value = serde_json::from_slice(&bytes).unwrap();
        let inner = doc["Response"].clone();
        assert!(inner["RequestId"].is_string(), "{doc}");
        inner
    }

    fn code(answer: &Value) -> &str {
        answer["Error"]["Code"].as_str().unwrap_or("")
    }

    /// The `index`th key of test user `user`.
    fn test_key(state: &Mutex<State>, user: usize, index: usize) -> crate::sandbox::Key {
        let state = lock(state);
        let account = state.tencent.account(TEST_OWNER_UIN).unwrap();
        account.keys(test_uin(user)).unwrap()[index].clone()
    }

    /// The error code (empty: none) of `call` sent at `at`.
    fn code_of(state: &Mutex<State>, call: &Call, at: DateTime<Utc>) -> String {
        code(&send(state, &call.request(), at)).to_string()
    }

    fn secret_of(state: &Mutex<State>, id: &str) -> String {
        lock(state).tencent.find_key(id).unwrap().1.secret.clone()
    }

    #[test]
    fn a_correctly_signed_call_is_answered_and_recorded_as_a_use() {
        let (state, admin, now) = world();
        lock(&state)
            .tencent
            .find_key_mut(&admin.access_key_id)
            .unwrap()
            .last_used = None;
        let call = Call::by(&admin, "ListUsers", json!({}), now);
        let answer = send(&state, &call.request(), now);
        let names: Vec<&str> = answer["Data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["Name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["admin", "alice", "bob", "carol"]);
        assert_eq!(answer["Data"][1]["Uin"], json!(test_uin(1)));
        let used = lock(&state)
            .tencent
            .find_key(&admin.access_key_id)
            .unwrap()
            .1
            .last_used;
        assert_eq!(used, Some(now));
        let who = send(
            &state,
            &Call::by(&admin, "GetCallerIdentity", json!({}), now).request(),
            now,
        );
        assert_eq!(who["AccountId"], "100000000001");
        assert_eq!(who["PrincipalId"], test_uin(0).to_string());
        assert_eq!(who["Type"], "CAMUser");
    }

    /// DescribeOrganizationMembers: Offset and Limit required, Limit 1–50, the seed's pages
    /// of two, Total over all; an account managing no organization is refused.
    #[test]
    fn the_member_list_pages_and_checks_its_parameters() {
        let (state, admin, now) = world();
        let list = |body: Value| {
            let call = Call::by(&admin, "DescribeOrganizationMembers", body, now);
            send(&state, &call.request(), now)
        };
        let code = |answer: Value| answer["Error"]["Code"].as_str().unwrap_or("").to_string();
        assert_eq!(code(list(json!({"Limit": 10}))), "MissingParameter");
        assert_eq!(code(list(json!({"Offset": 0}))), "MissingParameter");
        assert_eq!(
            code(list(json!({"Offset": 0, "Limit": 51}))),
            "InvalidParameter"
        );
        let first = list(json!({"Offset": 0, "Limit": 10}));
        assert_eq!(first["Total"], 3, "{first}");
        let uins: Vec<&Value> = first["Items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| &m["MemberUin"])
            .collect();
        assert_eq!(uins, [&json!(TEST_OWNER_UIN), &json!(MEMBER_OWNER_UIN)]);
        let last = list(json!({"Offset": 2, "Limit": 10}));
        assert_eq!(last["Items"][0]["MemberUin"], json!(SECOND_MEMBER_UIN));
        assert_eq!(last["Items"].as_array().unwrap().len(), 1);

        let (id, secret) = add_key(&mut lock(&state), MEMBER_OWNER_UIN, member_uin(1), now);
        let call = Call::new(
            &id,
            &secret,
            "DescribeOrganizationMembers",
            json!({"Offset": 0, "Limit": 10}),
            now,
        );
        let refused = send(&state, &call.request(), now);
        assert_eq!(code(refused), "ResourceNotFound.OrganizationNotExist");
    }

    /// AssumeRole as the SDK lists its codes; the session signs only with its token, as the
    /// role, in the role's account.
    #[test]
    fn assume_role_checks_trust_and_its_sessions_need_their_token() {
        let (state, admin, now) = world();
        let arn = |name: &str| format!("qcs::cam::uin/{MEMBER_OWNER_UIN}:roleName/{name}");
        let assume = |role: &str, extra: Value| {
            let mut body = json!({ "RoleArn": arn(role), "RoleSessionName": "ck" });
            body.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            Call::by(&admin, "AssumeRole", body, now)
        };
        assert_eq!(
            code_of(&state, &assume("Nope", json!({})), now),
            "ResourceNotFound.RoleNotFound"
        );
        assert_eq!(
            code_of(&state, &assume("KeyAdmin", json!({})), now),
            "UnauthorizedOperation"
        );
        let long = json!({ "DurationSeconds": 43201 });
        assert_eq!(
            code_of(&state, &assume("KeyAuditor", long), now),
            "InvalidParameter.OverTimeError"
        );
        let bad_name = json!({ "RoleSessionName": "a b" });
        assert_eq!(
            code_of(&state, &assume("KeyAuditor", bad_name), now),
            "InvalidParameter.ParamError"
        );
        // A non-admin sub-user of the trusted account may not call sts:AssumeRole.
        let alice = test_key(&state, 1, 0);
        let mut call = Call::new(
            &alice.access_key_id,
            &alice.secret,
            "AssumeRole",
            json!({ "RoleArn": arn("KeyAuditor"), "RoleSessionName": "ck" }),
            now,
        );
        assert_eq!(code_of(&state, &call, now), "UnauthorizedOperation");

        let answer = send(&state, &assume("KeyAuditor", json!({})).request(), now);
        let credentials = &answer["Credentials"];
        assert_eq!(
            answer["ExpiredTime"],
            json!((now + Duration::seconds(DEFAULT_SESSION_SECONDS)).timestamp())
        );
        let id = credentials["TmpSecretId"].as_str().unwrap();
        let secret = credentials["TmpSecretKey"].as_str().unwrap();
        let token = credentials["Token"].as_str().unwrap();
        call = Call::new(id, secret, "GetCallerIdentity", json!({}), now);
        assert_eq!(code_of(&state, &call, now), "AuthFailure.TokenFailure");
        call.token = Some(token);
        let who = send(&state, &call.request(), now);
        assert_eq!(who["Type"], "CAMRole");
        assert_eq!(who["AccountId"], MEMBER_OWNER_UIN.to_string());
        assert_eq!(who["PrincipalId"], test_uin(0).to_string());
        let role_id = who["UserId"].as_str().unwrap().strip_suffix(":ck").unwrap();
        assert_eq!(
            who["Arn"],
            format!("qcs::sts:{MEMBER_OWNER_UIN}:assumed-role/{role_id}")
        );
        // The session lists the member account's users, not the test account's.
        let mut list = Call::new(id, secret, "ListUsers", json!({}), now);
        list.token = Some(token);
        let names: Vec<String> = send(&state, &list.request(), now)["Data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["Name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names, ["carol", "dave"]);
        // Once expired, refused.
        let later = now + Duration::seconds(DEFAULT_SESSION_SECONDS + 1);
        list.timestamp = later.timestamp();
        assert_eq!(code_of(&state, &list, later), "AuthFailure.TokenFailure");
    }

    #[test]
    fn signatures_keys_and_timestamps_are_checked() {
        let (state, admin, now) = world();
        let id = admin.access_key_id.as_str();
        let good = admin.secret_access_key.as_str();
        // Wrong secret.
        let call = Call::new(
            id,
            "0123456789abcdef0123456789abcdef",
            "ListUsers",
            json!({}),
            now,
        );
        assert_eq!(code_of(&state, &call, now), "AuthFailure.SignatureFailure");
        // A body changed after signing.
        let mut request = Call::new(id, good, "ListAccessKeys", json!({}), now).request();
        request.body = Bytes::from(json!({"TargetUin": test_uin(1)}).to_string());
        assert_eq!(
            code(&send(&state, &request, now)),
            "AuthFailure.SignatureFailure"
        );
        // Unknown SecretId.
        let call = Call::new("AKIDunknown", good, "ListUsers", json!({}), now);
        assert_eq!(code_of(&state, &call, now), "AuthFailure.SecretIdNotFound");
        // Six minutes off either way is refused, four minutes is fine.
        for (offset, expected) in [
            (-360, "AuthFailure.SignatureExpire"),
            (360, "AuthFailure.SignatureExpire"),
            (-240, ""),
            (240, ""),
        ] {
            let mut call = Call::new(id, good, "ListUsers", json!({}), now);
            call.timestamp = now.timestamp() + offset;
            assert_eq!(code_of(&state, &call, now), expected, "offset {offset}");
        }
        // Signed for sts but sent to a CAM action: the sandbox recomputes for sts and CAM has no
        // such sts action.
        let mut call = Call::new(id, good, "ListUsers", json!({}), now);
        call.service = "sts";
        assert_eq!(code_of(&state, &call, now), "InvalidAction");
        // On a real host the service comes from the host: signing for sts fails there.
        call.host = "cam.tencentcloudapi.com";
        assert_eq!(code_of(&state, &call, now), "AuthFailure.SignatureFailure");
        call.service = "cam";
        assert_eq!(code_of(&state, &call, now), "");
        // An inactive key may not sign.
        lock(&state).tencent.find_key_mut(id).unwrap().status = KeyStatus::Inactive;
        let call = Call::new(id, good, "ListUsers", json!({}), now);
        assert_eq!(code_of(&state, &call, now), "AuthFailure.SecretIdNotFound");
    }

    #[test]
    fn new_keys_wait_for_the_configured_delay() {
        let (state, _, now) = world();
        lock(&state).settings.new_key_delay = std::time::Duration::from_secs(60);
        let (id, secret) = add_key(&mut lock(&state), TEST_OWNER_UIN, test_uin(3), now);
        let call = Call::new(&id, &secret, "ListAccessKeys", json!({}), now);
        assert_eq!(code_of(&state, &call, now), "AuthFailure.SecretIdNotFound");
        let later = now + Duration::seconds(61);
        let call = Call::new(&id, &secret, "ListAccessKeys", json!({}), later);
        assert_eq!(
            send(&state, &call.request(), later)["AccessKeys"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn a_third_key_is_refused_with_the_real_code() {
        let (state, admin, now) = world();
        let create = |uin: u64| {
            let call = Call::by(&admin, "CreateAccessKey", json!({"TargetUin": uin}), now);
            send(&state, &call.request(), now)
        };
        // alice already has two.
        let answer = create(test_uin(1));
        assert_eq!(code(&answer), "OperationDenied.AccessKeyOverLimit");
        // carol has none: two are made, the third refused.
        let first = create(test_uin(3));
        let id = first["AccessKey"]["AccessKeyId"].as_str().unwrap();
        assert!(id.starts_with("AKID") && id.len() == 36, "{id}");
        assert_eq!(
            first["AccessKey"]["SecretAccessKey"]
                .as_str()
                .unwrap()
                .len(),
            32
        );
        assert_eq!(first["AccessKey"]["Status"], "Active");
        assert_eq!(first["AccessKey"]["CreateTime"], beijing_time(&now));
        assert_eq!(code(&create(test_uin(3))), "");
        assert_eq!(
            code(&create(test_uin(3))),
            "OperationDenied.AccessKeyOverLimit"
        );
        assert_eq!(
            lock(&state)
                .tencent
                .account(TEST_OWNER_UIN)
                .unwrap()
                .keys(test_uin(3))
                .unwrap()
                .len(),
            2
        );
        // A uin that is nobody.
        assert_eq!(code(&create(100000000999)), "InvalidParameter.UserNotExist");
    }

    #[test]
    fn last_used_takes_at_most_ten_ids_and_reports_a_beijing_day() {
        let (state, admin, now) = world();
        let alice_old = test_key(&state, 1, 0);
        let mut ids: Vec<String> = vec![alice_old.access_key_id.clone(), "AKIDnotakey".into()];
        let call = Call::by(
            &admin,
            "GetSecurityLastUsed",
            json!({"SecretIdList": ids}),
            now,
        );
        let answer = send(&state, &call.request(), now);
        let rows = answer["SecretIdLastUsedRows"].as_array().unwrap();
        assert_eq!(rows.len(), 1, "unknown ids have no row");
        let at = alice_old.last_used.unwrap();
        assert_eq!(rows[0]["LastUsedDate"], beijing_date(&at));
        assert_eq!(rows[0]["LastSecretUsedDate"], at.timestamp_millis());
        ids.extend((0..8).map(|i| format!("AKIDfiller{i}")));
        let call = Call::by(
            &admin,
            "GetSecurityLastUsed",
            json!({"SecretIdList": ids}),
            now,
        );
        assert_eq!(code_of(&state, &call, now), "", "ten ids are fine");
        ids.push("AKIDeleventh".into());
        let call = Call::by(
            &admin,
            "GetSecurityLastUsed",
            json!({"SecretIdList": ids}),
            now,
        );
        assert_eq!(code_of(&state, &call, now), "InvalidParameter");
        let call = Call::by(&admin, "GetSecurityLastUsed", json!({}), now);
        assert_eq!(code_of(&state, &call, now), "MissingParameter");
    }

    #[test]
    fn sub_users_manage_only_their_own_keys() {
        let (state, _, now) = world();
        let alice_key = test_key(&state, 1, 1).access_key_id;
        let secret = secret_of(&state, &alice_key);
        let ask = |action: &'static str, body: Value| {
            send(
                &state,
                &Call::new(&alice_key, &secret, action, body, now).request(),
                now,
            )
        };
        assert_eq!(
            code(&ask("ListUsers", json!({}))),
            "AuthFailure.UnauthorizedOperation"
        );
        assert_eq!(
            ask("ListAccessKeys", json!({}))["AccessKeys"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            code(&ask("ListAccessKeys", json!({"TargetUin": test_uin(1)}))),
            ""
        );
        assert_eq!(
            code(&ask("ListAccessKeys", json!({"TargetUin": test_uin(2)}))),
            "AuthFailure.UnauthorizedOperation"
        );
        assert_eq!(
            code(&ask("ListAccessKeys", json!({"TargetUin": TEST_OWNER_UIN}))),
            "OperationDenied.SubUin"
        );
        assert_eq!(code(&ask("GetUser", json!({"Name": "alice"}))), "");
        assert_eq!(
            code(&ask("GetUser", json!({"Name": "bob"}))),
            "AuthFailure.UnauthorizedOperation"
        );
        // A key of someone else cannot be switched off through one's own uin.
        let bob_key = test_key(&state, 2, 0).access_key_id;
        let answer = ask(
            "UpdateAccessKey",
            json!({"AccessKeyId": bob_key, "Status": "Active"}),
        );
        assert_eq!(code(&answer), "OperationDenied.UinNotMatch");
        let answer = ask(
            "UpdateAccessKey",
            json!({"AccessKeyId": alice_key, "Status": "Paused"}),
        );
        assert_eq!(code(&answer), "InvalidParameter.ParamError");
        let answer = ask("UpdateAccessKey", json!({"AccessKeyId": alice_key}));
        assert_eq!(code(&answer), "MissingParameter");
        let answer = ask("ListAccessKeys", json!({"TargetUin": "100000000102"}));
        assert_eq!(code(&answer), "InvalidParameter");
    }

    #[test]
    fn version_region_and_action_are_checked() {
        let (state, admin, now) = world();
        let call = Call::by(&admin, "GetCallerIdentity", json!({}), now);
        let mut request = call.request();
        request
            .headers
            .insert("x-tc-version", HeaderValue::from_static("2019-01-16"));
        assert_eq!(code(&send(&state, &request, now)), "NoSuchVersion");
        let mut request = call.request();
        request.headers.remove("x-tc-region");
        assert_eq!(code(&send(&state, &request, now)), "MissingParameter");
        let mut request = call.request();
        request.headers.remove("x-tc-action");
        assert_eq!(code(&send(&state, &request, now)), "MissingParameter");
        let call = Call::by(&admin, "DescribeInstances", json!({}), now);
        assert_eq!(code_of(&state, &call, now), "InvalidAction");
    }

    #[test]
    fn temporary_credentials_need_their_token() {
        let (state, _, now) = world();
        let (id, secret, token) = add_temp_credential(
            &mut lock(&state),
            TEST_OWNER_UIN,
            test_uin(1),
            "ci",
            now + Duration::hours(1),
        );
        let mut call = Call::new(&id, &secret, "GetCallerIdentity", json!({}), now);
        assert_eq!(code_of(&state, &call, now), "AuthFailure.TokenFailure");
        call.token = Some("not-the-token");
        assert_eq!(code_of(&state, &call, now), "AuthFailure.TokenFailure");
        call.token = Some(&token);
        let who = send(&state, &call.request(), now);
        assert_eq!(who["PrincipalId"], test_uin(1).to_string());
        assert_eq!(
            who["Arn"],
            format!("qcs::sts:{TEST_OWNER_UIN}:federated-user/{}", test_uin(1))
        );
        let later = now + Duration::hours(2);
        call.timestamp = later.timestamp();
        assert_eq!(code_of(&state, &call, later), "AuthFailure.TokenFailure");
        assert!(!format!("{:?}", lock(&state).tencent).contains(&token));
    }

    #[test]
    fn get_requests_sign_the_query() {
        let (state, admin, now) = world();
        let query =
            signer::form_query(&[("SecretIdList.0".to_string(), admin.access_key_id.clone())]);
        let headers = vec![(
            "Content-Type".to_string(),
            "application/x-www-form-urlencoded".to_string(),
        )];
        let parts = RequestParts {
            method: "GET",
            host: HOST,
            path: "/",
            query: &query,
            headers: &headers,
            body: b"",
        };
        let key = SigningKey {
            secret_id: &admin.access_key_id,
            secret_key: &admin.secret_access_key,
            token: None,
            service: "cam",
        };
        let (added, _) = signer::sign(&key, &parts, now.timestamp());
        let mut map = HeaderMap::new();
        map.insert("host", HeaderValue::from_static(HOST));
        map.insert(
            "content-type",
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        map.insert(
            "x-tc-action",
            HeaderValue::from_static("GetSecurityLastUsed"),
        );
        map.insert("x-tc-version", HeaderValue::from_static(CAM_VERSION));
        for (name, value) in added {
            map.insert(
                HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).unwrap(),
                HeaderValue::from_str(&value).unwrap(),
            );
        }
        let request = Incoming {
            method: Method::GET,
            uri: format!("/?{query}").parse().unwrap(),
            headers: map,
            body: Bytes::new(),
        };
        let answer = send(&state, &request, now);
        assert_eq!(
            answer["SecretIdLastUsedRows"][0]["SecretId"],
            admin.access_key_id
        );
    }

    #[test]
    fn ids_secrets_and_debug_have_their_shapes() {
        let id = super::super::state::new_key_id(ProviderKind::Tencent, "");
        assert_eq!(id.len(), 36);
        assert!(id.starts_with("AKID") && id.bytes().all(|b| b.is_ascii_alphanumeric()));
        let secret = super::super::state::new_secret(ProviderKind::Tencent);
        assert_eq!(secret.len(), 32);
        let (state, admin, _) = world();
        let shown = format!("{:?}", lock(&state).tencent);
        assert!(shown.contains(&admin.access_key_id));
        assert!(!shown.contains(&admin.secret_access_key));
        assert_eq!(admin.account_id, TEST_OWNER_UIN.to_string());
    }
}
