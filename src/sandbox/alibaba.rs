//! Alibaba Cloud RAM (2015-05-01) + STS (2015-04-01) key APIs over the sandbox state: RPC
//! style, ACS3-HMAC-SHA256 checked with our signer's `compute`, JSON answers and the real
//! error envelope `{"RequestId","HostId","Code","Message","Recommend"}`.

use axum::response::Response;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde_json::{json, Map, Value};

use super::state::{Account, AwsRole as Role, Organization, State, TempKey, MAX_KEYS};
use super::{
    fail as err, fill, new_status, next_marker, object, page_window, reply, seed_account,
    seed_member, session_name_ok, signing_secret, trusts, with_users, BadPage, Caller, Dialect,
    Fail, Incoming, Params, Refused, SandboxProfile, Seed, SeedKey, MEMBER_USERS, SELF_SERVICE,
    TEST_KEYS, TEST_USERS,
};
use crate::model::{KeyStatus, ProviderKind};
use crate::providers::alibaba::api::{
    IMS_VERSION, RAM_VERSION, RESOURCE_MANAGER_VERSION, STS_VERSION,
};
use crate::providers::alibaba::signer::{self, SigningKey};
use crate::signing::{sha256_hex, RequestParts};

pub use super::state::{Account as AlibabaAccount, Key as AlibabaKey, User as AlibabaUser};

/// The account of the test seed (and the first of the demo seed).
/// The first word of its `Authorization` header.
pub const SCHEME: &str = signer::ALGORITHM;
pub const TEST_ACCOUNT: &str = "1968132000123456";
/// The second account of the demo seed.
pub const DEMO_ACCOUNT: &str = "5123987600554321";
/// A member account of the test seed, reached only through its roles: `KeyAuditor` trusts
/// [`TEST_ACCOUNT`], `KeyAdmin` trusts only `KeyAuditor` (a chain).
pub const MEMBER_ACCOUNT: &str = "1577000022223333";
/// A second member of the test account's resource directory, reached only through its
/// [`ORG_ROLE`].
pub const SECOND_MEMBER: &str = "1577000044445555";
/// A member still being promoted to a cloud account: listed, never read.
pub const PROMOTING_MEMBER: &str = "1577000066667777";
/// The role Resource Directory makes in the members it creates, trusting the management account.
pub const ORG_ROLE: &str = "ResourceDirectoryAccountAccessRole";
const REGION: &str = "cn-hangzhou";
/// `x-acs-date` must be within this many minutes of the server's clock.
const MAX_SKEW_MINUTES: i64 = 15;
/// Users per `ListUsers` page of the test seed, whatever `MaxItems` asks: paging is exercised.
pub const TEST_PAGE_SIZE: usize = 3;

// RAM's, STS's and the gateway's errors: (HTTP status, code, message; `{}` filled by `fill`).
wire! {
    NO_SUCH_USER = 404 "EntityNotExist.User" "The user does not exist.";
    NO_SUCH_KEY = 404 "EntityNotExist.User.AccessKey" "The access key does not exist.";
    KEY_NOT_FOUND = 404 "InvalidAccessKeyId.NotFound" "Specified access key is not found.";
    KEY_DISABLED = 400 "InvalidAccessKeyId.Inactive" "Specified access key is disabled.";
    MISMATCH = 400 "SignatureDoesNotMatch" "Specified signature does not match our calculation.";
    NONCONFORMING = 400 "IncompleteSignature" "The request signature does not conform to Aliyun standards{}";
    MISSING_INPUT = 400 "MissingParameter" "The input parameter \"{}\" that is mandatory for processing this request is not supplied.";
    BAD_DATE = 400 "IllegalTimestamp" "The input parameter \"x-acs-date\" that is \"{}\" is not a valid ISO 8601 UTC time (yyyy-MM-ddTHH:mm:ssZ).";
    // The gateway's exact words (RAM, Alidns, … alike), too old or too new.
    EXPIRED_DATE = 400 "InvalidTimeStamp.Expired" "Specified time stamp or date value is expired.";
    NO_TOKEN = 400 "MissingSecurityToken" "SecurityToken is mandatory for this action.";
    WRONG_TOKEN = 400 "InvalidSecurityToken.MismatchWithAccessKey" "Specified SecurityToken mismatch with the AccessKey.";
    EXPIRED_TOKEN = 400 "InvalidSecurityToken.Expired" "Specified SecurityToken is expired.";
    NONCE_USED = 400 "SignatureNonceUsed" "Specified signature nonce was used already.";
    NO_PERMISSION = 403 "NoPermission" "You are not authorized to do this action. You should be authorized by RAM.";
    THROTTLED = 400 "Throttling.User" "Request was denied due to user flow control.";
    UNAVAILABLE = 503 "ServiceUnavailable" "The request has failed due to a temporary failure of the server.";
    NO_API = 404 "InvalidAction.NotFound" "Specified api {}is not found, please check your url and method.";
    BAD_VERSION = 400 "InvalidVersion" "Specified parameter Version \"{}\" is not valid.";
    NAME_LENGTH = 400 "InvalidParameter.UserName.Length" "The parameter - UserName beyond the length limit (1-64).";
    NAME_CHARS = 400 "InvalidParameter.UserName.InvalidChars" "The parameter - UserName contains invalid chars.";
    KEY_LIMIT = 409 "LimitExceeded.User.AccessKey" "The count of AccessKeys of the user exceeds the limit ({}).";
    // Not documented; the code is the one report readers test for "no report".
    NO_REPORT = 404 "EntityNotExist.Report" "The report does not exist.";
    ROOT_ASSUMES = 403 "NoPermission" "Roles may not be assumed by root accounts.";
    NOT_TRUSTED = 403 "NoPermission" "No permission perform sts:AssumeRole on this Role. Maybe you are not authorized to perform sts:AssumeRole or the specified role does not trust you";
    BAD_SESSION = 400 "InvalidParameter.RoleSessionName" "The parameter RoleSessionName is wrongly formed.";
    BAD_DURATION = 400 "InvalidParameter.DurationSeconds" "The Min/Max value of DurationSeconds is 15min/1hr.";
    // The code and text STS gives (Alibaba SDK samples quote it); the status is not published.
    NO_ROLE = 404 "EntityNotExist.Role" "The role not exists: {}";
}

fn missing(name: &str) -> Fail {
    err(
        400,
        format!("Missing{name}"),
        format!("{name} is mandatory for this action."),
    )
}

fn incomplete(detail: impl std::fmt::Display) -> Fail {
    fill(NONCONFORMING, detail)
}

fn bad_parameter(name: &str, why: &str) -> Fail {
    err(
        400,
        format!("InvalidParameter.{name}"),
        format!("The parameter - {name} {why}."),
    )
}

fn time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string().to_ascii_uppercase()
}

fn json_response(status: u16, body: &Value, request_id: &str) -> Response {
    let body = Some(body.to_string());
    reply(
        status,
        "application/json;charset=utf-8",
        "x-acs-request-id",
        request_id,
        body,
    )
}

fn error_response(error: &Fail, host_id: &str, product: &str) -> Response {
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

/// Admins and the account may do anything in the account; other users only act on their own
/// keys.
fn authorize(caller: &Caller, action: &str, target: Option<&str>) -> Result<(), Fail> {
    let own = target.is_some() && target == caller.user_name();
    if caller.may(SELF_SERVICE.contains(&action), own) {
        return Ok(());
    }
    Err(NO_PERMISSION.into())
}

/// Which API an action belongs to: (product for `Recommend`, default host, version).
fn api_of(action: &str) -> (&'static str, &'static str, &'static str) {
    if STS_ACTIONS.contains(&action) {
        ("Sts", "sts.aliyuncs.com", STS_VERSION)
    } else if IMS_ACTIONS.contains(&action) {
        ("Ims", "ims.aliyuncs.com", IMS_VERSION)
    } else if action == "ListAccounts" {
        (
            "ResourceManager",
            "resourcemanager.aliyuncs.com",
            RESOURCE_MANAGER_VERSION,
        )
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

/// STS 2015-04-01 actions served.
const STS_ACTIONS: [&str; 2] = ["GetCallerIdentity", "AssumeRole"];

/// IMS 2019-08-15 actions served: the user credential report.
const IMS_ACTIONS: [&str; 2] = ["GenerateCredentialReport", "GetCredentialReport"];

/// Alibaba Cloud RAM, IMS and STS: RPC style, ACS3-HMAC-SHA256, JSON answers.
pub struct Alibaba;

impl Dialect for Alibaba {
    /// The action a request asks for (`x-acs-action`).
    fn action_of(&self, request: &Incoming) -> String {
        request.header("x-acs-action").unwrap_or_default()
    }

    /// `Throttling.User` (400) or `ServiceUnavailable` (503).
    fn fault(&self, throttled: bool) -> Response {
        let error = if throttled { THROTTLED } else { UNAVAILABLE };
        error_response(&error.into(), "ram.aliyuncs.com", "Ram")
    }

    fn handle(&self, state: &mut State, request: &Incoming, now: DateTime<Utc>) -> Response {
        let action = self.action_of(request);
        let (product, default_host, _) = api_of(&action);
        let host_id = request
            .header("host")
            .map(|h| h.split(':').next().unwrap_or_default().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| default_host.to_string());
        let mut pairs = request.query();
        let form = request
            .header("content-type")
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        if form {
            pairs.extend(request.form());
        }
        let params = Params(pairs);
        let answer = authenticate(state, request, &action, now)
            .and_then(|caller| run(state, &caller, &action, request, &params, now));
        match answer {
            Ok(mut body) => {
                let request_id = new_request_id();
                body.insert("RequestId".into(), Value::String(request_id.clone()));
                json_response(200, &Value::Object(body), &request_id)
            }
            Err(error) => error_response(&error, &host_id, product),
        }
    }
}

/// Checks the date window, the signed headers, the key, the signature and the nonce; records
/// the key's use; returns the caller.
fn authenticate(
    state: &mut State,
    request: &Incoming,
    action: &str,
    now: DateTime<Utc>,
) -> Result<Caller, Fail> {
    let authorization = request.header("authorization").unwrap_or_default();
    let parsed = signer::parse_authorization(&authorization).ok_or_else(|| incomplete("."))?;
    let require = |name: &str| {
        let value = request.header(name).filter(|v| !v.is_empty());
        value.ok_or_else(|| fill(MISSING_INPUT, name))
    };
    let date = require("x-acs-date")?;
    let nonce = require("x-acs-signature-nonce")?;
    let content_sha256 = require("x-acs-content-sha256")?;
    let signed_at = NaiveDateTime::parse_from_str(&date, "%Y-%m-%dT%H:%M:%SZ")
        .map_err(|_| fill(BAD_DATE, &date))?
        .and_utc();
    if (signed_at - now).abs() > Duration::minutes(MAX_SKEW_MINUTES) {
        return Err(EXPIRED_DATE.into());
    }
    // Every x-acs-* header sent, host and content-type must be signed.
    for name in request.headers.keys() {
        let name = name.as_str();
        let must_sign = name == "host" || name == "content-type" || name.starts_with("x-acs-");
        if must_sign && !parsed.signed_headers.iter().any(|h| h == name) {
            return Err(incomplete(format!(": header {name} is not signed.")));
        }
    }
    // STS credentials sign with their security token, which must be theirs and current.
    let token = request
        .header("x-acs-security-token")
        .filter(|t| !t.is_empty());
    let id = &parsed.access_key_id;
    let (secret, _) =
        signing_secret(&state.alibaba, id, token.as_deref(), now).map_err(|why| match why {
            Refused::Unknown => KEY_NOT_FOUND,
            Refused::Disabled => KEY_DISABLED,
            Refused::NoToken => NO_TOKEN,
            Refused::WrongToken => WRONG_TOKEN,
            Refused::Expired => EXPIRED_TOKEN,
        })?;
    if content_sha256 != sha256_hex(&request.body) {
        return Err(MISMATCH.into());
    }
    let key = SigningKey {
        access_key_id: &parsed.access_key_id,
        access_key_secret: &secret,
        security_token: None,
    };
    let compute = |parts: &RequestParts| signer::compute(&key, parts).signature;
    request.verify(
        &parsed.signed_headers,
        None,
        compute,
        &parsed.signature,
        |name| match name {
            Some(name) => incomplete(format!(": signed header {name} is not sent.")),
            None => MISMATCH.into(),
        },
    )?;
    // Only a correctly signed request spends its nonce.
    let horizon = Duration::minutes(2 * MAX_SKEW_MINUTES);
    if !state.alibaba.nonces.spend(&nonce, now, horizon) {
        return Err(NONCE_USED.into());
    }
    let caller = super::caller(state, ProviderKind::Alibaba, id, action, now, None);
    Ok(caller.ok_or(KEY_NOT_FOUND)?)
}

fn valid_user_name(name: &str) -> Result<(), Fail> {
    if name.is_empty() || name.chars().count() > 64 {
        return Err(NAME_LENGTH.into());
    }
    match session_name_ok(name, 1..=64, ".@-_") {
        true => Ok(()),
        false => Err(NAME_CHARS.into()),
    }
}

/// The owner a key action is about: `UserName` (checked, authorized, must exist) or the
/// caller. `None` means the account itself.
fn target_user(
    account: &Account,
    caller: &Caller,
    action: &str,
    params: &Params,
) -> Result<Option<String>, Fail> {
    let check = |name: Option<&str>| match name {
        Some(name) => valid_user_name(name).and_then(|_| authorize(caller, action, Some(name))),
        None => authorize(caller, action, caller.user_name()),
    };
    super::target_user(account, caller, params, check, |_| NO_SUCH_USER.into())
}

/// `IsTruncated` (a bool, or as GetCredentialReport gives it a string) and the next marker.
fn page_info(out: &mut Map<String, Value>, next: Option<String>, marker: &str, text: bool) {
    let truncated = next.is_some();
    out.insert(
        "IsTruncated".into(),
        if text {
            Value::String(truncated.to_string())
        } else {
            Value::Bool(truncated)
        },
    );
    if let Some(next) = next {
        out.insert(marker.into(), Value::String(next));
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
) -> Result<Map<String, Value>, Fail> {
    let version = request.header("x-acs-version").unwrap_or_default();
    if action.is_empty() {
        return Err(fill(MISSING_INPUT, "x-acs-action"));
    }
    if ![&STS_ACTIONS[..], &RAM_ACTIONS, &IMS_ACTIONS]
        .iter()
        .any(|a| a.contains(&action))
        && action != "ListAccounts"
    {
        return Err(fill(NO_API, format!("{action} ")));
    }
    if version != api_of(action).2 {
        return Err(fill(BAD_VERSION, version));
    }
    let world = &mut state.alibaba;
    let cap = world.page_cap;
    let account = world.account_mut(&caller.account_id).ok_or(KEY_NOT_FOUND)?;
    let account_id = &caller.account_id;
    match action {
        "GetCallerIdentity" => Ok(object(match (&caller.user, caller.role_session()) {
            (None, Some((role, role_id, session_name))) => json!({
                "IdentityType": "AssumedRoleUser",
                "AccountId": account_id,
                "PrincipalId": format!("{role_id}:{session_name}"),
                "RoleId": role_id,
                "Arn": format!("acs:ram::{account_id}:assumed-role/{role}/{session_name}"),
            }),
            (None, _) => json!({
                "IdentityType": "Account",
                "AccountId": account_id,
                "PrincipalId": account_id,
                "UserId": account_id,
                "Arn": format!("acs:ram::{account_id}:root"),
            }),
            (Some(user), _) => json!({
                "IdentityType": "RAMUser",
                "AccountId": account_id,
                "PrincipalId": user.user_id,
                "UserId": user.user_id,
                "Arn": format!("acs:ram::{account_id}:user/{}", user.name),
            }),
        })),
        "AssumeRole" => assume_role(state, caller, params, now),
        "ListAccounts" => list_accounts(state, caller, params, cap),
        "ListUsers" => {
            authorize(caller, action, None)?;
            let marker = params.get("Marker").filter(|m| !m.is_empty());
            let (start, max) = page_window(params.get("MaxItems"), 100, 1000, marker).map_err(
                |bad| match bad {
                    BadPage::Size => bad_parameter("MaxItems", "must be between 1 and 1000"),
                    BadPage::Marker => bad_parameter("Marker", "is invalid"),
                },
            )?;
            let max = if cap == 0 { max } else { max.min(cap) };
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
            let mut out = Map::new();
            let next = next_marker(account.users.len(), start, max, true);
            page_info(&mut out, next, "Marker", false);
            out.insert("Users".into(), json!({ "User": users }));
            Ok(out)
        }
        "ListAccessKeys" => {
            let user = target_user(account, caller, action, params)?;
            let keys: Vec<Value> = account
                .keys(user.as_deref())
                .ok_or(NO_SUCH_USER)?
                .iter()
                .map(|k| {
                    json!({
                        "AccessKeyId": k.access_key_id,
                        "Status": k.status.as_wire(),
                        "CreateDate": time(&k.created_at),
                    })
                })
                .collect();
            Ok(object(json!({ "AccessKeys": { "AccessKey": keys } })))
        }
        "CreateAccessKey" => {
            let user = target_user(account, caller, action, params)?;
            let (id, secret) = state
                .create_key(ProviderKind::Alibaba, account_id, user.as_deref(), now)
                .ok_or_else(|| fill(KEY_LIMIT, MAX_KEYS))?;
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
            let id = params.require("UserAccessKeyId", missing)?.to_string();
            let status = || Ok(params.require("Status", missing)?.to_string());
            let bad = |_: &str| bad_parameter("Status", "must be Active or Inactive");
            let status = new_status(action, status, bad)?;
            let user = target_user(account, caller, action, params)?;
            let keys = account.keys_mut(user.as_deref()).ok_or(NO_SUCH_KEY)?;
            let index = keys.iter().position(|k| k.access_key_id == id);
            let index = index.ok_or(NO_SUCH_KEY)?;
            match (action, status) {
                ("UpdateAccessKey", Some(status)) => {
                    keys[index].status = status;
                    Ok(Map::new())
                }
                ("DeleteAccessKey", _) => {
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
            authorize(caller, action, None)?;
            let state = match account.refresh_report(now, credential_report) {
                true => "STARTED",
                false => "COMPLETED",
            };
            Ok(object(json!({ "State": state })))
        }
        "GetCredentialReport" => {
            use base64::Engine as _;
            authorize(caller, action, None)?;
            let raw = params.get("MaxItems").filter(|m| !m.is_empty());
            let token = params.get("NextToken").filter(|t| !t.is_empty());
            let (start, max) = page_window(raw, 3501, 3501, token).map_err(|bad| match bad {
                BadPage::Size => bad_parameter("MaxItems", "must be between 1 and 3501"),
                BadPage::Marker => bad_parameter("NextToken", "is invalid"),
            })?;
            let (at, report) = account.credential_report.as_ref().ok_or(NO_REPORT)?;
            let mut rows = report.lines();
            let header = rows.next().unwrap_or_default();
            let users: Vec<&str> = rows.collect();
            // Each page a CSV of its own, header first.
            let mut csv = format!("{header}\n");
            for row in users.iter().skip(start).take(max) {
                csv.push_str(row);
                csv.push('\n');
            }
            let mut out = object(json!({
                "GeneratedTime": time(at),
                "Content": base64::engine::general_purpose::STANDARD.encode(csv),
            }));
            // The API reference gives IsTruncated as a string ("true").
            let next = next_marker(users.len(), start, max, true);
            page_info(&mut out, next, "NextToken", true);
            Ok(out)
        }
        _ => Err(fill(NO_API, "")),
    }
}

/// STS AssumeRole as the cloud answers it: never for an account's own key, then the
/// parameters, the role (in any account), its trust and the duration it allows. The session
/// acts as an admin of the role's account.
fn assume_role(
    state: &mut State,
    caller: &Caller,
    params: &Params,
    now: DateTime<Utc>,
) -> Result<Map<String, Value>, Fail> {
    if caller.user.is_none() && caller.temp.is_none() {
        return Err(ROOT_ASSUMES.into());
    }
    let role_arn = params.require("RoleArn", missing)?;
    let session = params.require("RoleSessionName", missing)?;
    if !session_name_ok(session, 2..=64, ".@-_") {
        return Err(BAD_SESSION.into());
    }
    // acs:ram::<account>:role/<name>; RAM role names are case-insensitive.
    let (account_id, name) = role_arn
        .strip_prefix("acs:ram::")
        .and_then(|rest| rest.split_once(":role/"))
        .ok_or_else(|| fill(NO_ROLE, role_arn))?;
    let role = state
        .alibaba
        .role(account_id, |r| r.name.eq_ignore_ascii_case(name));
    let role = role.ok_or_else(|| fill(NO_ROLE, role_arn))?;
    let caller_account = &caller.account_id;
    // A role session is trusted as its role; a RAM user as itself or its whole account.
    let principal = caller.principal(
        |user| format!("acs:ram::{caller_account}:user/{user}"),
        |role| {
            format!(
                "acs:ram::{caller_account}:role/{}",
                role.to_ascii_lowercase()
            )
        },
    );
    if !trusts(&role, caller, &[&principal], true, params.get("ExternalId")) {
        return Err(NOT_TRUSTED.into());
    }
    let duration = match params.get("DurationSeconds") {
        None => Some(3600),
        Some(raw) => raw.parse::<i64>().ok(),
    };
    let duration = duration.filter(|d| (900..=role.max_session).contains(d));
    let duration = duration.ok_or(BAD_DURATION)?;
    let temp = TempKey::session(account_id, &role, session);
    let ((id, secret, token), expires) =
        state.issue_session(ProviderKind::Alibaba, temp, duration, now);
    Ok(object(json!({
        "Credentials": {
            "AccessKeyId": id,
            "AccessKeySecret": secret,
            "SecurityToken": token,
            "Expiration": time(&expires),
        },
        "AssumedRoleUser": {
            "Arn": format!("acs:ram::{account_id}:role/{}/{session}", role.name.to_ascii_lowercase()),
            "AssumedRoleId": format!("{}:{session}", role.role_id),
        },
    })))
}

/// Resource Directory ListAccounts (resourcemanager 2020-03-31), answered to the directory's
/// management account only; `PageNumber`/`PageSize` (1–100, default 10) paging with
/// `TotalCount`, the list wrapped like RAM's.
fn list_accounts(
    state: &State,
    caller: &Caller,
    params: &Params,
    cap: usize,
) -> Result<Map<String, Value>, Fail> {
    authorize(caller, "ListAccounts", None)?;
    // The one error the API reference lists (404). That a member of a directory gets it too,
    // rather than some NoPermission code, is UNCONFIRMED.
    let directory = state
        .alibaba
        .account(&caller.account_id)
        .and_then(|a| a.organization.as_ref())
        .ok_or_else(|| {
            err(
                404,
                "EntityNotExists.ResourceDirectory",
                "The resource directory for the account is not enabled. We recommend that you first enable the resource directory for the account.",
            )
        })?;
    // Codes for bad paging values are not published (UNCONFIRMED); RAM's form is used.
    let number = match params.get("PageNumber").filter(|v| !v.is_empty()) {
        None => 1,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| bad_parameter("PageNumber", "must be at least 1"))?,
    };
    let size = match params.get("PageSize").filter(|v| !v.is_empty()) {
        None => 10,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| bad_parameter("PageSize", "must be between 1 and 100"))?,
    };
    // The test seed pages small, so that clients must follow the pages.
    let size = if cap == 0 { size } else { size.min(cap) };
    let management = &caller.account_id;
    let accounts: Vec<Value> = directory
        .accounts
        .iter()
        .skip((number - 1).saturating_mul(size))
        .take(size)
        .map(|m| {
            let created = m.state != "InviteSuccess" && m.account_id != *management;
            json!({
                "AccountId": m.account_id,
                "DisplayName": m.name,
                "Status": m.state,
                "Type": if created { "ResourceAccount" } else { "CloudAccount" },
                "JoinMethod": if created { "created" } else { "invited" },
                "JoinTime": time(&m.joined_at),
                "ModifyTime": time(&m.joined_at),
                "FolderId": "fd-QRzuim3x2b",
                "ResourceDirectoryId": directory.id,
                "ResourceDirectoryPath": format!("{}/r-Wm3x2b/fd-QRzuim3x2b/{}", directory.id, m.account_id),
            })
        })
        .collect();
    Ok(object(json!({
        "TotalCount": directory.accounts.len(),
        "PageNumber": number,
        "PageSize": size,
        "Accounts": { "Account": accounts },
    })))
}

/// The test account manages a resource directory: the member account, a second member with
/// user `erin`, and a member still being promoted. Whether ListAccounts shows the management
/// account itself is UNCONFIRMED; here it does (clients flag it by their own account id).
fn seed_organization(state: &mut State, now: DateTime<Utc>) {
    let kind = ProviderKind::Alibaba;
    super::seed_second_member(state, kind, SECOND_MEMBER, org_role(1), now);
    let members = [
        (TEST_ACCOUNT, "management", "InviteSuccess", 900),
        (MEMBER_ACCOUNT, "member", "CreateSuccess", 600),
        (PROMOTING_MEMBER, "promoting", "PromoteVerifying", 500),
        (SECOND_MEMBER, "second", "CreateSuccess", 300),
    ];
    let organization = Organization::new("rd-3Gx9Kq", now, &members);
    if let Some(account) = state.alibaba.account_mut(TEST_ACCOUNT) {
        account.organization = Some(organization);
    }
}

/// [`ORG_ROLE`] trusting the test account; Alibaba role ids are digits.
fn org_role(n: usize) -> Role {
    Role {
        role_id: format!("3{n:017}2"),
        ..Role::new(ORG_ROLE, &[TEST_ACCOUNT])
    }
}

/// The user credential report's rows as IMS writes them: the header, the account itself as
/// `<root>`, then every RAM user by logon name (`name@<account>.onaliyun.com`); per key slot
/// whether it holds a key, is active, when it was made and last used (`N/A`: none). Keys past
/// the 2-key limit go into the `additional_access_key_N` slots.
fn credential_report(account: &Account) -> String {
    const HEADER: &str = "user,user_creation_time,user_last_logon,password_exist,password_active,password_last_changed,password_next_rotation,mfa_active,access_key_1_exist,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used,access_key_2_exist,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used,additional_access_key_1_exist,additional_access_key_1_active,additional_access_key_1_last_rotated,additional_access_key_1_last_used,additional_access_key_2_exist,additional_access_key_2_active,additional_access_key_2_last_rotated,additional_access_key_2_last_used,additional_access_key_3_exist,additional_access_key_3_active,additional_access_key_3_last_rotated,additional_access_key_3_last_used";
    let flag = |b: bool| if b { "TRUE" } else { "FALSE" };
    let slots = |keys: &[super::state::Key]| {
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
    rows.join("\n")
}

/// Seeds the Alibaba side of the world and returns the profiles for the CLI.
pub(crate) fn seed(state: &mut State, seed: Seed, now: DateTime<Utc>) -> Vec<SandboxProfile> {
    let profile = |name, account, user, key| {
        super::profile(ProviderKind::Alibaba, name, REGION, account, user, key)
    };
    let mut account = with_users(
        Account::new(ProviderKind::Alibaba, TEST_ACCOUNT),
        &TEST_USERS,
        now,
    );
    for user in &mut account.users {
        // "Admin", "Alice", …
        user.display_name = user.name[..1].to_ascii_uppercase() + &user.name[1..];
    }
    let key = seed_account(state, account, &TEST_KEYS, now);
    let mut profiles = vec![profile("alibaba-admin", TEST_ACCOUNT, Some("admin"), key)];
    let member = Account::new(ProviderKind::Alibaba, MEMBER_ACCOUNT);
    let auditor = format!("acs:ram::{MEMBER_ACCOUNT}:role/keyauditor");
    let roles = [("KeyAuditor", TEST_ACCOUNT), ("KeyAdmin", &auditor)]
        .into_iter()
        .enumerate();
    // Alibaba role ids are digits.
    let role = |(n, (name, trusted))| Role {
        role_id: format!("3{n:017}1"),
        ..Role::new(name, &[trusted])
    };
    let member = with_users(member, &MEMBER_USERS, now);
    let mut roles: Vec<Role> = roles.map(role).collect();
    roles.push(org_role(0));
    seed_member(state, member, roles, now);
    seed_organization(state, now);
    match seed {
        Seed::Test => state.alibaba.page_cap = TEST_PAGE_SIZE,
        Seed::Demo => {
            let mut account = Account::new(ProviderKind::Alibaba, DEMO_ACCOUNT);
            for (name, display, admin, age) in [
                ("ops", "运维管理员", true, 1100),
                ("deploy-bot", "Deploy bot", false, 700),
                ("zhang.wei", "张伟", false, 250),
                ("oss-backup", "OSS backup", false, 1500),
            ] {
                account
                    .add_user(name, admin, now - Duration::days(age))
                    .display_name = display.to_string();
            }
            // This account is reached through its own (root) key, as many still are.
            let keys = [
                SeedKey(None, 1300, Some(3), true, None),
                SeedKey(Some("ops"), 60, Some(1), true, None),
                SeedKey(Some("deploy-bot"), 500, Some(2), true, None),
                SeedKey(Some("deploy-bot"), 20, None, true, None),
                SeedKey(Some("zhang.wei"), 120, Some(40), true, None),
                SeedKey(Some("oss-backup"), 900, Some(450), false, None),
            ];
            let key = seed_account(state, account, &keys, now);
            profiles.push(profile("alibaba-root", DEMO_ACCOUNT, None, key));
        }
    }
    profiles
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::lock;
    use axum::http::HeaderValue;
    use std::sync::Mutex;

    fn handle(state: &Mutex<State>, request: &Incoming, now: DateTime<Utc>) -> Response {
        crate::sandbox::dispatch(state, request, ProviderKind::Alibaba, now)
    }
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

    #[tokio::test]
    async fn role_sessions_sign_with_their_own_security_token() {
        let w = world();
        let assume = |role: &str| {
            let arn = format!("acs:ram::{MEMBER_ACCOUNT}:role/{role}");
            let arn = crate::signing::percent_encode(&arn);
            format!("RoleArn={arn}&RoleSessionName=ck-test")
        };
        let query = assume("KeyAuditor");
        fn sts(call: Call<'_>) -> Call<'_> {
            Call {
                version: STS_VERSION,
                ..call
            }
        }
        let (status, body) = w.send(&sts(w.admin_call("AssumeRole", &query))).await;
        assert_eq!(status, 200, "{body}");
        let field = |name: &str| body["Credentials"][name].as_str().unwrap().to_string();
        let (id, secret, token) = (
            field("AccessKeyId"),
            field("AccessKeySecret"),
            field("SecurityToken"),
        );
        assert!(id.starts_with("STS."), "{id}");
        let as_session = |extra| Call {
            id: &id,
            secret: &secret,
            extra,
            ..w.call("GetCallerIdentity", "")
        };
        let missing = w.send(&as_session(vec![])).await;
        assert_error(&missing, 400, "MissingSecurityToken");
        let wrong = as_session(vec![("x-acs-security-token", "not-the-token")]);
        let wrong = w.send(&wrong).await;
        assert_error(&wrong, 400, "InvalidSecurityToken.MismatchWithAccessKey");
        let (status, me) = w
            .send(&as_session(vec![("x-acs-security-token", &token)]))
            .await;
        assert_eq!(status, 200, "{me}");
        assert_eq!(me["IdentityType"], "AssumedRoleUser");
        assert_eq!(me["AccountId"], MEMBER_ACCOUNT);
        // KeyAdmin trusts the KeyAuditor role, not the test account's admin.
        let admin_role = assume("KeyAdmin");
        let direct = w.send(&sts(w.admin_call("AssumeRole", &admin_role))).await;
        assert_error(&direct, 403, "NoPermission");
        let chained = Call {
            id: &id,
            secret: &secret,
            extra: vec![("x-acs-security-token", &token)],
            ..sts(w.call("AssumeRole", &admin_role))
        };
        assert_eq!(w.send(&chained).await.0, 200);
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
            assert_eq!(guard.alibaba.page_cap, 0);
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
                .lines()
                .map(String::from)
                .collect::<Vec<_>>()
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
