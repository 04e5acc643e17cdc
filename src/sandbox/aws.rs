//! AWS IAM + STS key APIs (query protocol, SigV4, XML answers) over the sandbox state.

use std::fmt::Write as _;

use base64::Engine as _;
use std::sync::Mutex;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use quick_xml::escape::escape;

use super::state::{AwsAccount, AwsKey, KeyOwner, State};
use super::{lock, Incoming, SandboxProfile, Seed};
use crate::model::{KeyStatus, ProviderKind};
use crate::providers::aws::signer::{self, SigningKey};
use crate::signing::{constant_time_eq, RequestParts};

pub const IAM_NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
pub const STS_NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// The account of the test seed (and the first of the demo seed).
pub const TEST_ACCOUNT: &str = "111122223333";
/// The second account of the demo seed.
pub const DEMO_ACCOUNT: &str = "444455556666";
const REGION: &str = "us-east-1";
/// IAM and STS accept an `X-Amz-Date` this close to their clock.
const MAX_SKEW_MINUTES: i64 = 15;
const MAX_KEYS_PER_USER: usize = 2;

/// An error answer.
#[derive(Debug)]
struct AwsError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

fn err(status: u16, code: &'static str, message: impl Into<String>) -> AwsError {
    AwsError {
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        code,
        message: message.into(),
    }
}

fn invalid_token() -> AwsError {
    err(
        403,
        "InvalidClientTokenId",
        "The security token included in the request is invalid.",
    )
}

fn no_such_user(name: &str) -> AwsError {
    err(
        404,
        "NoSuchEntity",
        format!("The user with name {name} cannot be found."),
    )
}

fn no_such_key(id: &str) -> AwsError {
    err(
        404,
        "NoSuchEntity",
        format!("The Access Key with id {id} cannot be found."),
    )
}

fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn xml_response(status: StatusCode, body: String, request_id: &str) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("text/xml"));
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-RequestId", value);
    }
    response
}

fn error_response(ns: &str, error: &AwsError) -> Response {
    let request_id = new_request_id();
    let body = format!(
        "<ErrorResponse xmlns=\"{ns}\"><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
        error.code,
        escape(error.message.as_str()),
    );
    xml_response(error.status, body, &request_id)
}

/// The answer to a request without usable credentials (and, for now, to any scheme no
/// emulated cloud claims).
pub fn missing_authentication(_request: &Incoming) -> Response {
    error_response(
        IAM_NS,
        &err(
            403,
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        ),
    )
}

/// The `Action` a request asks for (query string or form body).
pub fn action_of(request: &Incoming) -> String {
    let from_body = url::form_urlencoded::parse(&request.body)
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v.into_owned());
    from_body
        .or_else(|| {
            crate::signing::parse_query(request.uri.query().unwrap_or(""))
                .into_iter()
                .find(|(k, _)| k == "Action")
                .map(|(_, v)| v)
        })
        .unwrap_or_default()
}

/// AWS's answers to an injected fault: `Throttling` (400) or `ServiceUnavailable` (503).
pub fn fault_response(throttled: bool) -> Response {
    let error = if throttled {
        err(400, "Throttling", "Rate exceeded")
    } else {
        err(
            503,
            "ServiceUnavailable",
            "Service is unable to handle request.",
        )
    };
    error_response(IAM_NS, &error)
}

fn time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn is_sts(action: &str) -> bool {
    matches!(action, "GetCallerIdentity" | "GetAccessKeyInfo")
}

/// An assumed-role session signing a request.
struct RoleCaller {
    role_name: String,
    role_id: String,
    session_name: String,
}

/// The caller: owner of the signing key.
struct Caller {
    account_id: String,
    /// `None` for root (and for a role session).
    user: Option<String>,
    /// Set for temporary credentials of an assumed role.
    role: Option<RoleCaller>,
    admin: bool,
    /// Actions refused to this caller whatever its rights (`Settings::denied_actions`).
    denied: Vec<String>,
}

impl Caller {
    fn arn(&self) -> String {
        match (&self.role, &self.user) {
            (Some(role), _) => format!(
                "arn:aws:sts::{}:assumed-role/{}/{}",
                self.account_id, role.role_name, role.session_name
            ),
            (None, Some(name)) => format!("arn:aws:iam::{}:user/{name}", self.account_id),
            (None, None) => format!("arn:aws:iam::{}:root", self.account_id),
        }
    }

    /// Admins and root may do anything in their account; others only act on their own keys.
    fn authorize(&self, action: &str, target: Option<Option<&str>>) -> Result<(), AwsError> {
        let denied = self.denied.iter().any(|a| a == action);
        if self.admin && !denied {
            return Ok(());
        }
        let own = matches!(target, Some(Some(name)) if Some(name) == self.user.as_deref());
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
        let resource = match target {
            Some(Some(name)) => format!("arn:aws:iam::{}:user/{name}", self.account_id),
            Some(None) => format!("arn:aws:iam::{}:root", self.account_id),
            None => format!("arn:aws:iam::{}:user/", self.account_id),
        };
        let service = if is_sts(action) { "sts" } else { "iam" };
        Err(err(
            403,
            "AccessDenied",
            format!(
                "User: {} is not authorized to perform: {service}:{action} on resource: {resource}",
                self.arn()
            ),
        ))
    }
}

/// Request parameters from the form body and the query string (the body wins).
struct Params(Vec<(String, String)>);

impl Params {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn require(&self, name: &str) -> Result<&str, AwsError> {
        self.get(name).filter(|v| !v.is_empty()).ok_or_else(|| {
            err(
                400,
                "MissingParameter",
                format!("The request must contain the parameter {name}"),
            )
        })
    }
}

/// Handles one SigV4-signed request.
pub fn handle(state: &Mutex<State>, request: &Incoming, now: DateTime<Utc>) -> Response {
    let params = {
        let mut pairs: Vec<(String, String)> = Vec::new();
        if !request.body.is_empty() {
            pairs.extend(
                url::form_urlencoded::parse(&request.body)
                    .map(|(k, v)| (k.into_owned(), v.into_owned())),
            );
        }
        if let Some(query) = request.uri.query() {
            pairs.extend(crate::signing::parse_query(query));
        }
        Params(pairs)
    };
    let action = params.get("Action").unwrap_or("").to_string();
    let mut guard = lock(state);
    let (caller, service) = match authenticate(&mut guard, request, now) {
        Ok(found) => found,
        Err(error) => {
            let ns = if is_sts(&action) { STS_NS } else { IAM_NS };
            return error_response(ns, &error);
        }
    };
    let sts = is_sts(&action) || (action.is_empty() && service == "sts");
    let ns = if sts { STS_NS } else { IAM_NS };
    match run(&mut guard, &caller, &action, &params, now) {
        Ok(result) => {
            let request_id = new_request_id();
            let result = match result {
                Some(inner) => format!("<{action}Result>{inner}</{action}Result>"),
                None => String::new(),
            };
            let body = format!(
                "<{action}Response xmlns=\"{ns}\">{result}<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>"
            );
            xml_response(StatusCode::OK, body, &request_id)
        }
        Err(error) => error_response(ns, &error),
    }
}

/// Checks the signature; records the key's use; returns the caller and the signed service.
fn authenticate(
    state: &mut State,
    request: &Incoming,
    now: DateTime<Utc>,
) -> Result<(Caller, String), AwsError> {
    let header = |name: &str| -> Option<String> {
        let values: Vec<&str> = request
            .headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().ok())
            .collect::<Option<Vec<_>>>()?;
        (!values.is_empty()).then(|| values.join(","))
    };
    let authorization = header("authorization").ok_or_else(|| {
        err(
            403,
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        )
    })?;
    let parsed = signer::parse_authorization(&authorization).ok_or_else(|| {
        err(
            403,
            "IncompleteSignature",
            "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.",
        )
    })?;
    // A long-term key, or an assumed-role session's key, which needs its session token.
    let (owner, secret, role) = match state.find_key(&parsed.access_key_id) {
        Some((owner, key)) => {
            if !key.usable(now) {
                return Err(invalid_token());
            }
            (owner, key.secret.clone(), None)
        }
        None => {
            let (account_id, session) = state
                .find_role_session(&parsed.access_key_id)
                .ok_or_else(invalid_token)?;
            let token = header("x-amz-security-token").unwrap_or_default();
            if !constant_time_eq(&token, &session.token) {
                return Err(invalid_token());
            }
            let owner = KeyOwner {
                account_id: account_id.to_string(),
                user: None,
            };
            let role = RoleCaller {
                role_name: session.role_name.clone(),
                role_id: session.role_id.clone(),
                session_name: session.session_name.clone(),
            };
            (owner, session.secret.clone(), Some(role))
        }
    };
    let amz_date = header("x-amz-date").ok_or_else(|| {
        err(
            403,
            "IncompleteSignature",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        )
    })?;
    let signed_at = NaiveDateTime::parse_from_str(&amz_date, "%Y%m%dT%H%M%SZ")
        .map_err(|_| {
            err(
                403,
                "IncompleteSignature",
                format!("Date must be in ISO-8601 'basic format'. Got '{amz_date}'."),
            )
        })?
        .and_utc();
    let stamp = |t: DateTime<Utc>| signer::amz_date(t);
    let window = Duration::minutes(MAX_SKEW_MINUTES);
    // AWS answers a stale or future date as a signature mismatch, told apart only by its
    // message (IAM and STS send no RequestExpired).
    if signed_at < now - window {
        return Err(err(
            403,
            "SignatureDoesNotMatch",
            format!(
                "Signature expired: {amz_date} is now earlier than {} ({} - {MAX_SKEW_MINUTES} min.)",
                stamp(now - window),
                stamp(now)
            ),
        ));
    }
    if signed_at > now + window {
        return Err(err(
            403,
            "SignatureDoesNotMatch",
            format!(
                "Signature not yet current: {amz_date} is still later than {} ({} + {MAX_SKEW_MINUTES} min.)",
                stamp(now + window),
                stamp(now)
            ),
        ));
    }
    if !parsed.signed_headers.iter().any(|h| h == "host") {
        return Err(err(
            403,
            "SignatureDoesNotMatch",
            "'Host' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    let mismatch = || {
        err(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        )
    };
    let mut signed: Vec<(String, String)> = Vec::with_capacity(parsed.signed_headers.len());
    for name in &parsed.signed_headers {
        let value = header(name).ok_or_else(mismatch)?;
        signed.push((name.clone(), value));
    }
    let host = header("host").unwrap_or_default();
    let parts = RequestParts {
        method: request.method.as_str(),
        host: &host,
        path: request.uri.path(),
        query: request.uri.query().unwrap_or(""),
        headers: &signed,
        body: &request.body,
    };
    let expected = signer::compute(
        &SigningKey {
            access_key_id: &parsed.access_key_id,
            secret_access_key: &secret,
            session_token: None,
            region: &parsed.region,
            service: &parsed.service,
        },
        &parts,
        &amz_date,
    );
    if !constant_time_eq(&expected.signature, &parsed.signature) {
        return Err(mismatch());
    }
    // Root, and the sandbox's roles, may do anything in their account.
    let user = owner.user.as_deref().and_then(|name| {
        state
            .aws_account(&owner.account_id)
            .and_then(|a| a.user(name))
    });
    let admin = owner.user.is_none() || user.is_some_and(|u| u.admin);
    if let Some(key) = state.find_key_mut(&parsed.access_key_id) {
        key.last_used = Some((now, parsed.service.clone(), parsed.region.clone()));
    }
    Ok((
        Caller {
            account_id: owner.account_id,
            user: owner.user,
            role,
            admin,
            denied: state.settings.denied_actions.clone(),
        },
        parsed.service,
    ))
}

/// Parses `MaxItems` (1–1000, default 100) and `Marker` (an offset we handed out).
fn page_window(params: &Params) -> Result<(usize, usize), AwsError> {
    let max = match params.get("MaxItems") {
        None => 100,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| {
                err(
                    400,
                    "ValidationError",
                    format!("1 validation error detected: Value '{raw}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000"),
                )
            })?,
    };
    let start = match params.get("Marker") {
        None => 0,
        Some(marker) => {
            decode_marker(marker).ok_or_else(|| err(400, "ValidationError", "Invalid Marker."))?
        }
    };
    Ok((start, max))
}

fn encode_marker(offset: usize) -> String {
    hex::encode(format!("cloudkeys-sandbox:{offset}")).to_ascii_uppercase()
}

fn decode_marker(marker: &str) -> Option<usize> {
    let raw = String::from_utf8(hex::decode(marker).ok()?).ok()?;
    raw.strip_prefix("cloudkeys-sandbox:")?.parse().ok()
}

/// Appends `<IsTruncated>` and, when truncated, `<Marker>`.
fn page_tail(out: &mut String, total: usize, start: usize, max: usize) {
    let end = start.saturating_add(max);
    if end < total {
        let _ = write!(
            out,
            "<IsTruncated>true</IsTruncated><Marker>{}</Marker>",
            encode_marker(end)
        );
    } else {
        out.push_str("<IsTruncated>false</IsTruncated>");
    }
}

fn account<'a>(state: &'a State, caller: &Caller) -> Result<&'a AwsAccount, AwsError> {
    state
        .aws_account(&caller.account_id)
        .ok_or_else(invalid_token)
}

/// The user a key action is about: `UserName` (checked for permission, then existence)
/// or the caller. `None` means the root user.
fn target_user(
    state: &State,
    caller: &Caller,
    action: &str,
    params: &Params,
) -> Result<Option<String>, AwsError> {
    match params.get("UserName").filter(|n| !n.is_empty()) {
        Some(name) => {
            // IAM checks the parameter's pattern ([\w+=,.@-]+) before anything else: a name
            // like `<root>` is invalid, not unknown.
            let valid = name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
            if !valid {
                return Err(err(
                    400,
                    "ValidationError",
                    "The specified value for userName is invalid. It must contain only alphanumeric characters and/or the following: +=,.@_-",
                ));
            }
            caller.authorize(action, Some(Some(name)))?;
            account(state, caller)?
                .user(name)
                .ok_or_else(|| no_such_user(name))?;
            Ok(Some(name.to_string()))
        }
        None => {
            // A role session is no IAM user: it has no keys to default to.
            if caller.role.is_some() {
                return Err(err(
                    400,
                    "ValidationError",
                    "Must specify userName when calling with non-User credentials",
                ));
            }
            caller.authorize(action, Some(caller.user.as_deref()))?;
            Ok(caller.user.clone())
        }
    }
}

fn user_name_xml(user: Option<&str>) -> String {
    user.map(|u| format!("<UserName>{}</UserName>", escape(u)))
        .unwrap_or_default()
}

fn key_member(user: Option<&str>, key: &AwsKey) -> String {
    format!(
        "<member>{}<AccessKeyId>{}</AccessKeyId><Status>{}</Status><CreateDate>{}</CreateDate></member>",
        user_name_xml(user),
        key.access_key_id,
        wire_status(key.status),
        time(&key.created_at),
    )
}

fn wire_status(status: KeyStatus) -> &'static str {
    match status {
        KeyStatus::Active => "Active",
        KeyStatus::Inactive => "Inactive",
    }
}

/// Runs an authenticated action: `Ok(Some(inner))` is the content of `<ActionResult>`,
/// `Ok(None)` an empty result.
fn run(
    state: &mut State,
    caller: &Caller,
    action: &str,
    params: &Params,
    now: DateTime<Utc>,
) -> Result<Option<String>, AwsError> {
    match action {
        "GetCallerIdentity" => {
            let user_id = match (&caller.role, &caller.user) {
                (Some(role), _) => format!("{}:{}", role.role_id, role.session_name),
                (None, Some(name)) => account(state, caller)?
                    .user(name)
                    .map(|u| u.user_id.clone())
                    .ok_or_else(invalid_token)?,
                (None, None) => caller.account_id.clone(),
            };
            Ok(Some(format!(
                "<Arn>{}</Arn><UserId>{user_id}</UserId><Account>{}</Account>",
                escape(caller.arn().as_str()),
                caller.account_id
            )))
        }
        "GetAccessKeyInfo" => {
            let id = params.require("AccessKeyId")?;
            caller.authorize(action, None)?;
            let owner = state
                .find_key(id)
                .map(|(owner, _)| owner.account_id)
                .or_else(|| crate::providers::aws::account_from_key_id(id));
            match owner {
                Some(account_id) => Ok(Some(format!("<Account>{account_id}</Account>"))),
                None => Err(err(
                    400,
                    "InvalidParameterValue",
                    format!("The access key id {} is not valid.", escape(id)),
                )),
            }
        }
        "ListUsers" => {
            caller.authorize(action, None)?;
            let (start, max) = page_window(params)?;
            let prefix = params.get("PathPrefix").unwrap_or("/");
            let users: Vec<_> = if prefix == "/" {
                account(state, caller)?.users.iter().collect()
            } else {
                Vec::new()
            };
            let mut out = String::from("<Users>");
            for user in users.iter().skip(start).take(max) {
                let _ = write!(
                    out,
                    "<member><Path>/</Path><UserName>{name}</UserName><UserId>{}</UserId><Arn>arn:aws:iam::{}:user/{name}</Arn><CreateDate>{}</CreateDate></member>",
                    user.user_id,
                    caller.account_id,
                    time(&user.created_at),
                    name = escape(user.name.as_str()),
                );
            }
            out.push_str("</Users>");
            page_tail(&mut out, users.len(), start, max);
            Ok(Some(out))
        }
        "ListAccessKeys" => {
            let user = target_user(state, caller, action, params)?;
            let (start, max) = page_window(params)?;
            let keys = account(state, caller)?
                .keys(user.as_deref())
                .ok_or_else(|| no_such_user(user.as_deref().unwrap_or("")))?;
            let mut out = user_name_xml(user.as_deref());
            out.push_str("<AccessKeyMetadata>");
            for key in keys.iter().skip(start).take(max) {
                out.push_str(&key_member(user.as_deref(), key));
            }
            out.push_str("</AccessKeyMetadata>");
            page_tail(&mut out, keys.len(), start, max);
            Ok(Some(out))
        }
        "CreateAccessKey" => {
            let user = target_user(state, caller, action, params)?;
            let count = account(state, caller)?
                .keys(user.as_deref())
                .map_or(0, Vec::len);
            if count >= MAX_KEYS_PER_USER {
                return Err(err(
                    409,
                    "LimitExceeded",
                    format!("Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS_PER_USER}"),
                ));
            }
            let (id, secret) = state.add_aws_key(&caller.account_id, user.as_deref(), now);
            Ok(Some(format!(
                "<AccessKey>{}<AccessKeyId>{id}</AccessKeyId><Status>Active</Status><SecretAccessKey>{}</SecretAccessKey><CreateDate>{}</CreateDate></AccessKey>",
                user_name_xml(user.as_deref()),
                escape(secret.as_str()),
                time(&now),
            )))
        }
        "UpdateAccessKey" | "DeleteAccessKey" => {
            let id = params.require("AccessKeyId")?.to_string();
            let status = if action == "UpdateAccessKey" {
                Some(match params.require("Status")? {
                    "Active" => KeyStatus::Active,
                    "Inactive" => KeyStatus::Inactive,
                    other => {
                        return Err(err(
                            400,
                            "ValidationError",
                            format!("1 validation error detected: Value '{}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]", escape(other)),
                        ))
                    }
                })
            } else {
                None
            };
            let user = target_user(state, caller, action, params)?;
            let keys = state
                .aws_account_mut(&caller.account_id)
                .and_then(|a| a.keys_mut(user.as_deref()))
                .ok_or_else(|| no_such_key(&id))?;
            let index = keys
                .iter()
                .position(|k| k.access_key_id == id)
                .ok_or_else(|| no_such_key(&id))?;
            match status {
                Some(status) => keys[index].status = status,
                None => {
                    keys.remove(index);
                }
            }
            Ok(None)
        }
        "GetAccessKeyLastUsed" => {
            let id = params.require("AccessKeyId")?;
            let account = account(state, caller)?;
            let owner = account.key_owner(id);
            caller.authorize(action, owner)?;
            let owner = owner.ok_or_else(|| no_such_key(id))?;
            let key = account
                .keys(owner)
                .and_then(|keys| keys.iter().find(|k| k.access_key_id == id))
                .ok_or_else(|| no_such_key(id))?;
            let used = match &key.last_used {
                Some((at, service, region)) => format!(
                    "<LastUsedDate>{}</LastUsedDate><ServiceName>{}</ServiceName><Region>{}</Region>",
                    time(at),
                    escape(service.as_str()),
                    escape(region.as_str())
                ),
                None => "<ServiceName>N/A</ServiceName><Region>N/A</Region>".to_string(),
            };
            Ok(Some(format!(
                "<UserName>{}</UserName><AccessKeyLastUsed>{used}</AccessKeyLastUsed>",
                escape(owner.unwrap_or("root"))
            )))
        }
        "GenerateCredentialReport" => {
            caller.authorize(action, None)?;
            let account = state
                .aws_account_mut(&caller.account_id)
                .ok_or_else(invalid_token)?;
            // IAM makes a new report at most every 4 hours; until then it answers COMPLETE.
            let fresh = account
                .credential_report
                .as_ref()
                .is_some_and(|(at, _)| now - *at < Duration::hours(4));
            if fresh {
                return Ok(Some("<State>COMPLETE</State>".to_string()));
            }
            account.credential_report = Some((now, credential_report(account)));
            Ok(Some(
                "<State>STARTED</State><Description>No report exists. Starting a new report generation task</Description>"
                    .to_string(),
            ))
        }
        "GetCredentialReport" => {
            caller.authorize(action, None)?;
            match &account(state, caller)?.credential_report {
                Some((at, csv)) => Ok(Some(format!(
                    "<Content>{}</Content><ReportFormat>text/csv</ReportFormat><GeneratedTime>{}</GeneratedTime>",
                    base64::engine::general_purpose::STANDARD.encode(csv),
                    time(at)
                ))),
                None => Err(err(410, "ReportNotPresent", "Credential report not present")),
            }
        }
        "" => Err(err(400, "MissingAction", "Missing Action parameter")),
        other => Err(err(
            400,
            "InvalidAction",
            format!(
                "The action {} is not valid for this web service.",
                escape(other)
            ),
        )),
    }
}

/// The credential report's CSV as IAM writes it: the root row first, then every user; per
/// key slot whether it is active, when it was made, and its last use (`N/A`: none).
fn credential_report(account: &AwsAccount) -> String {
    const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";
    let iso = |t: &DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string();
    let slots = |keys: &[AwsKey]| {
        let mut cells = String::new();
        for n in 0..2 {
            match keys.get(n) {
                Some(key) => {
                    let (date, region, service) = match &key.last_used {
                        Some((at, service, region)) => (iso(at), region.clone(), service.clone()),
                        None => ("N/A".into(), "N/A".into(), "N/A".into()),
                    };
                    let _ = write!(
                        cells,
                        ",{},{},{date},{region},{service}",
                        key.status == KeyStatus::Active,
                        iso(&key.created_at)
                    );
                }
                None => cells.push_str(",false,N/A,N/A,N/A,N/A"),
            }
        }
        cells
    };
    let mut csv = format!("{HEADER}\n");
    let root_created = account
        .users
        .iter()
        .map(|u| u.created_at)
        .min()
        .unwrap_or_else(Utc::now);
    let _ = writeln!(
        csv,
        "<root_account>,arn:aws:iam::{}:root,{},not_supported,no_information,not_supported,not_supported,false{},false,N/A,false,N/A",
        account.account_id,
        iso(&root_created),
        slots(&account.root_keys)
    );
    for user in &account.users {
        let _ = writeln!(
            csv,
            "{name},arn:aws:iam::{}:user/{name},{},false,N/A,N/A,N/A,false{},false,N/A,false,N/A",
            account.account_id,
            iso(&user.created_at),
            slots(&user.keys),
            name = user.name
        );
    }
    csv
}

/// Seeds the AWS side of the world and returns the profiles for the CLI.
pub fn seed(state: &mut State, seed: Seed, now: DateTime<Utc>) -> Vec<SandboxProfile> {
    let days = Duration::days;
    let mut profiles = Vec::new();

    let mut account = AwsAccount::new(TEST_ACCOUNT);
    for (name, admin, age) in [
        ("admin", true, 900),
        ("alice", false, 400),
        ("bob", false, 600),
        ("carol", false, 30),
    ] {
        account.add_user(name, admin, now - days(age));
    }
    state.aws_accounts.push(account);
    let (id, secret) = state.add_aws_key(TEST_ACCOUNT, Some("admin"), now - days(90));
    profiles.push(profile("aws-admin", TEST_ACCOUNT, "admin", id, secret));
    let (old, _) = state.add_aws_key(TEST_ACCOUNT, Some("alice"), now - days(200));
    set_last_used(state, &old, now - days(100), "s3", "us-east-1");
    state.add_aws_key(TEST_ACCOUNT, Some("alice"), now - days(10));
    let (inactive, _) = state.add_aws_key(TEST_ACCOUNT, Some("bob"), now - days(400));
    if let Some(key) = state.find_key_mut(&inactive) {
        key.status = KeyStatus::Inactive;
    }

    if seed == Seed::Demo {
        let mut account = AwsAccount::new(DEMO_ACCOUNT);
        for (name, admin, age) in [
            ("ops", true, 1200),
            ("deploy-bot", false, 800),
            ("maria.garcia", false, 300),
            ("legacy-backup", false, 2000),
        ] {
            account.add_user(name, admin, now - days(age));
        }
        state.aws_accounts.push(account);
        let (id, secret) = state.add_aws_key(DEMO_ACCOUNT, Some("ops"), now - days(45));
        profiles.push(profile("aws-ops", DEMO_ACCOUNT, "ops", id, secret));
        let (key, _) = state.add_aws_key(DEMO_ACCOUNT, Some("deploy-bot"), now - days(420));
        set_last_used(state, &key, now - days(1), "ec2", "eu-west-1");
        state.add_aws_key(DEMO_ACCOUNT, Some("deploy-bot"), now - days(30));
        let (key, _) = state.add_aws_key(DEMO_ACCOUNT, Some("maria.garcia"), now - days(95));
        set_last_used(state, &key, now - days(2), "s3", "us-west-2");
        let (key, _) = state.add_aws_key(DEMO_ACCOUNT, Some("legacy-backup"), now - days(800));
        set_last_used(state, &key, now - days(500), "s3", "us-east-1");
    }
    profiles
}

fn set_last_used(state: &mut State, id: &str, at: DateTime<Utc>, service: &str, region: &str) {
    if let Some(key) = state.find_key_mut(id) {
        key.last_used = Some((at, service.to_string(), region.to_string()));
    }
}

fn profile(
    name: &str,
    account_id: &str,
    user: &str,
    access_key_id: String,
    secret_access_key: String,
) -> SandboxProfile {
    SandboxProfile {
        name: name.to_string(),
        provider: ProviderKind::Aws,
        access_key_id,
        secret_access_key,
        region: REGION.to_string(),
        account_id: account_id.to_string(),
        user: Some(user.to_string()),
        project_id: None,
    }
}
