//! AWS IAM + STS key APIs (query protocol, SigV4, XML answers) over the sandbox state.

use std::fmt::Write as _;

use base64::Engine as _;

use axum::response::Response;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use quick_xml::escape::escape;

use super::state::{change_key, Account, AwsRole, Key, Organization, State, TempKey, MAX_KEYS};
use super::{
    fail as err, fill, new_status, next_marker, reply, seed_account, seed_member, session_name_ok,
    signing_secret, with_users, BadPage, Caller, Dialect, Fail, Incoming, Params, Refused,
    SandboxProfile, Seed, SeedKey, MEMBER_USERS, SELF_SERVICE, TEST_KEYS, TEST_USERS,
};
use crate::model::{KeyStatus, ProviderKind};
use crate::providers::aws::signer::{self, SigningKey};
use crate::signing::RequestParts;

pub const IAM_NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
pub const STS_NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// The account of the test seed (and the first of the demo seed).
/// The first word of its `Authorization` header.
pub const SCHEME: &str = signer::ALGORITHM;
pub const TEST_ACCOUNT: &str = "111122223333";
/// The second account of the demo seed.
pub const DEMO_ACCOUNT: &str = "444455556666";
/// A member account of the test seed, reached only through its roles: `KeyAuditor` trusts
/// [`TEST_ACCOUNT`], `KeyAdmin` trusts only `KeyAuditor` (a chain).
pub const MEMBER_ACCOUNT: &str = "222233334444";
/// A second member of the test account's organization, reached only through its
/// `OrganizationAccountAccessRole`.
pub const SECOND_MEMBER: &str = "333344445555";
/// A suspended member of the organization: listed, never read.
pub const SUSPENDED_MEMBER: &str = "555566667777";
/// The role Organizations makes in the accounts it creates, trusting the management account.
pub const ORG_ROLE: &str = "OrganizationAccountAccessRole";
/// A role of the member account whose trust requires MFA (trusting the test account).
pub const MFA_ROLE: &str = "KeyAuditorMfa";
/// The one code the sandbox's MFA devices accept (any serial number: UNCONFIRMED what AWS
/// answers for a device that is not the caller's).
pub const MFA_CODE: &str = "123456";
const REGION: &str = "us-east-1";
/// IAM and STS accept an `X-Amz-Date` this close to their clock.
const MAX_SKEW_MINUTES: i64 = 15;

// IAM's and STS's errors: (HTTP status, code, message; `{}` filled in by `fill`).
wire! {
    INVALID_TOKEN = 403 "InvalidClientTokenId" "The security token included in the request is invalid.";
    EXPIRED = 403 "ExpiredToken" "The security token included in the request is expired";
    NO_AUTH = 403 "MissingAuthenticationToken" "Request is missing Authentication Token";
    NO_SUCH_USER = 404 "NoSuchEntity" "The user with name {} cannot be found.";
    NO_SUCH_KEY = 404 "NoSuchEntity" "The Access Key with id {} cannot be found.";
    MISSING = 400 "MissingParameter" "The request must contain the parameter {}";
    THROTTLED = 400 "Throttling" "Rate exceeded";
    UNAVAILABLE = 503 "ServiceUnavailable" "Service is unable to handle request.";
    NO_CREDENTIAL = 403 "IncompleteSignature" "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.";
    NO_DATE = 403 "IncompleteSignature" "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.";
    BAD_DATE = 403 "IncompleteSignature" "Date must be in ISO-8601 'basic format'. Got '{}'.";
    HOST_UNSIGNED = 403 "SignatureDoesNotMatch" "'Host' must be a 'SignedHeader' in the AWS Authorization.";
    MISMATCH = 403 "SignatureDoesNotMatch" "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
    BAD_USER_NAME = 400 "ValidationError" "The specified value for userName is invalid. It must contain only alphanumeric characters and/or the following: +=,.@_-";
    NO_USER_NAME = 400 "ValidationError" "Must specify userName when calling with non-User credentials";
    BAD_STATUS = 400 "ValidationError" "1 validation error detected: Value '{}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]";
}

fn invalid_token() -> Fail {
    INVALID_TOKEN.into()
}

fn xml_response(status: u16, body: String, request_id: &str) -> Response {
    reply(
        status,
        "text/xml",
        "x-amzn-RequestId",
        request_id,
        Some(body),
    )
}

fn error_response(ns: &str, error: &Fail) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let body = format!(
        "<ErrorResponse xmlns=\"{ns}\"><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
        error.code,
        escape(error.message.as_str()),
    );
    xml_response(error.status, body, &request_id)
}

/// The answer to a request without usable credentials (and, for now, to any scheme no
/// emulated cloud claims).
pub fn missing_authentication() -> Response {
    error_response(IAM_NS, &NO_AUTH.into())
}

/// Request parameters from the form body and the query string (the body wins).
fn params(request: &Incoming) -> Params {
    let mut pairs = if request.body.is_empty() {
        Vec::new()
    } else {
        request.form()
    };
    pairs.extend(request.query());
    Params(pairs)
}

fn missing(name: &str) -> Fail {
    fill(MISSING, name)
}

/// AWS IAM + STS: the query protocol, SigV4, XML answers.
pub struct Aws;

impl Dialect for Aws {
    /// The `Action` a request asks for (form body, then query string).
    fn action_of(&self, request: &Incoming) -> String {
        if let Some(action) = super::organizations::action_of(request) {
            return action;
        }
        params(request)
            .get("Action")
            .unwrap_or_default()
            .to_string()
    }

    /// `Throttling` (400) or `ServiceUnavailable` (503).
    fn fault(&self, throttled: bool) -> Response {
        error_response(
            IAM_NS,
            &(if throttled { THROTTLED } else { UNAVAILABLE }).into(),
        )
    }

    fn fault_for(&self, request: &Incoming, throttled: bool) -> Response {
        match super::organizations::action_of(request) {
            Some(_) => super::organizations::fault(throttled),
            None => self.fault(throttled),
        }
    }

    fn handle(&self, state: &mut State, request: &Incoming, now: DateTime<Utc>) -> Response {
        if let Some(action) = super::organizations::action_of(request) {
            return super::organizations::handle(state, request, &action, now);
        }
        let params = params(request);
        let action = params.get("Action").unwrap_or("").to_string();
        let (caller, service) = match authenticate(state, request, &action, now) {
            Ok(found) => found,
            Err(error) => {
                let ns = if is_sts(&action) { STS_NS } else { IAM_NS };
                return error_response(ns, &error);
            }
        };
        let sts = is_sts(&action) || (action.is_empty() && service == "sts");
        let ns = if sts { STS_NS } else { IAM_NS };
        match run(state, &caller, &action, &params, now) {
            Ok(result) => {
                let request_id = uuid::Uuid::new_v4().to_string();
                let result = match result {
                    Some(inner) => format!("<{action}Result>{inner}</{action}Result>"),
                    None => String::new(),
                };
                let body = format!(
                    "<{action}Response xmlns=\"{ns}\">{result}<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>"
                );
                xml_response(200, body, &request_id)
            }
            Err(error) => error_response(ns, &error),
        }
    }
}

fn time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn is_sts(action: &str) -> bool {
    matches!(
        action,
        "GetCallerIdentity" | "GetAccessKeyInfo" | "AssumeRole"
    )
}

fn arn(caller: &Caller) -> String {
    let account = &caller.account_id;
    match (caller.role_session(), caller.user_name()) {
        (Some((role, _, session)), _) => {
            format!("arn:aws:sts::{account}:assumed-role/{role}/{session}")
        }
        (_, Some(name)) => format!("arn:aws:iam::{account}:user/{name}"),
        (_, None) => format!("arn:aws:iam::{account}:root"),
    }
}

/// Admins and root may do anything in their account; others only act on their own keys.
fn authorize(caller: &Caller, action: &str, target: Option<Option<&str>>) -> Result<(), Fail> {
    let own = matches!(target, Some(Some(name)) if Some(name) == caller.user_name());
    if caller.may(SELF_SERVICE.contains(&action), own) {
        return Ok(());
    }
    let account = &caller.account_id;
    let resource = match target {
        Some(Some(name)) => format!("arn:aws:iam::{account}:user/{name}"),
        Some(None) => format!("arn:aws:iam::{account}:root"),
        None => format!("arn:aws:iam::{account}:user/"),
    };
    let service = if is_sts(action) { "sts" } else { "iam" };
    Err(err(
        403,
        "AccessDenied",
        format!(
            "User: {} is not authorized to perform: {service}:{action} on resource: {resource}",
            arn(caller)
        ),
    ))
}

/// Checks the signature; records the key's use; returns the caller and the signed service.
pub(super) fn authenticate(
    state: &mut State,
    request: &Incoming,
    action: &str,
    now: DateTime<Utc>,
) -> Result<(Caller, String), Fail> {
    let authorization = request.header("authorization").ok_or(NO_AUTH)?;
    let parsed = signer::parse_authorization(&authorization).ok_or(NO_CREDENTIAL)?;
    // A long-term key, or an assumed-role session's key, which needs its session token.
    let token = request.header("x-amz-security-token");
    let (secret, _) = signing_secret(&state.aws, &parsed.access_key_id, token.as_deref(), now)
        .map_err(|why| {
            if why == Refused::Expired {
                EXPIRED
            } else {
                INVALID_TOKEN
            }
        })?;
    let amz_date = request.header("x-amz-date").ok_or(NO_DATE)?;
    let signed_at = NaiveDateTime::parse_from_str(&amz_date, "%Y%m%dT%H%M%SZ")
        .map_err(|_| fill(BAD_DATE, &amz_date))?
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
        return Err(HOST_UNSIGNED.into());
    }
    let key = SigningKey {
        access_key_id: &parsed.access_key_id,
        secret_access_key: &secret,
        session_token: None,
        region: &parsed.region,
        service: &parsed.service,
    };
    let compute = |parts: &RequestParts| signer::compute(&key, parts, &amz_date).signature;
    let (names, given) = (&parsed.signed_headers, &parsed.signature);
    request.verify(names, None, compute, given, |_| Fail::from(MISMATCH))?;
    let place = Some((parsed.service.clone(), parsed.region.clone()));
    let id = &parsed.access_key_id;
    let caller = super::caller(state, ProviderKind::Aws, id, action, now, place);
    Ok((caller.ok_or(INVALID_TOKEN)?, parsed.service))
}

/// Parses `MaxItems` (1–1000, default 100) and `Marker` (an offset we handed out).
fn page_window(params: &Params) -> Result<(usize, usize), Fail> {
    let raw = params.get("MaxItems");
    super::page_window(raw, 100, 1000, params.get("Marker")).map_err(|bad| match bad {
        BadPage::Size => err(
            400,
            "ValidationError",
            format!("1 validation error detected: Value '{}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000", raw.unwrap_or_default()),
        ),
        BadPage::Marker => err(400, "ValidationError", "Invalid Marker."),
    })
}

/// Appends `<IsTruncated>` and, when truncated, `<Marker>`.
fn page_tail(out: &mut String, total: usize, start: usize, max: usize) {
    match next_marker(total, start, max, true) {
        Some(marker) => {
            let _ = write!(
                out,
                "<IsTruncated>true</IsTruncated><Marker>{marker}</Marker>"
            );
        }
        None => out.push_str("<IsTruncated>false</IsTruncated>"),
    }
}

fn account<'a>(state: &'a State, caller: &Caller) -> Result<&'a Account, Fail> {
    state
        .aws_account(&caller.account_id)
        .ok_or_else(invalid_token)
}

/// The user a key action is about: `UserName` (its pattern, the permission, then its
/// existence checked) or the caller. `None` means the root user.
fn target_user(
    state: &State,
    caller: &Caller,
    action: &str,
    params: &Params,
) -> Result<Option<String>, Fail> {
    let check = |name: Option<&str>| {
        match name {
            // IAM checks the parameter's pattern ([\w+=,.@-]+) before anything else: a name like
            // `<root>` is invalid, not unknown.
            Some(name) if !session_name_ok(name, 1..=usize::MAX, "+=,.@_-") => {
                Err(BAD_USER_NAME.into())
            }
            Some(name) => authorize(caller, action, Some(Some(name))),
            // A role session is no IAM user: it has no keys to default to.
            None if caller.temp.is_some() => Err(NO_USER_NAME.into()),
            None => authorize(caller, action, Some(caller.user_name())),
        }
    };
    let no_user = |name: &str| fill(NO_SUCH_USER, name);
    super::target_user(account(state, caller)?, caller, params, check, no_user)
}

fn user_name_xml(user: Option<&str>) -> String {
    user.map(|u| format!("<UserName>{}</UserName>", escape(u)))
        .unwrap_or_default()
}

fn key_member(user: Option<&str>, key: &Key) -> String {
    format!(
        "<member>{}<AccessKeyId>{}</AccessKeyId><Status>{}</Status><CreateDate>{}</CreateDate></member>",
        user_name_xml(user),
        key.access_key_id,
        key.status.as_wire(),
        time(&key.created_at),
    )
}

/// Runs an authenticated action: `Ok(Some(inner))` is the content of `<ActionResult>`,
/// `Ok(None)` an empty result.
fn run(
    state: &mut State,
    caller: &Caller,
    action: &str,
    params: &Params,
    now: DateTime<Utc>,
) -> Result<Option<String>, Fail> {
    match action {
        "GetCallerIdentity" => {
            let user_id = match (caller.role_session(), &caller.user) {
                (Some((_, role_id, session)), _) => format!("{role_id}:{session}"),
                (_, Some(user)) => user.user_id.clone(),
                (_, None) => caller.account_id.clone(),
            };
            Ok(Some(format!(
                "<Arn>{}</Arn><UserId>{user_id}</UserId><Account>{}</Account>",
                escape(arn(caller).as_str()),
                caller.account_id
            )))
        }
        "AssumeRole" => assume_role(state, caller, params, now).map(Some),
        "GetAccessKeyInfo" => {
            let id = params.require("AccessKeyId", missing)?;
            authorize(caller, action, None)?;
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
            authorize(caller, action, None)?;
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
                .ok_or_else(|| fill(NO_SUCH_USER, user.as_deref().unwrap_or("")))?;
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
            let (id, secret) = state
                .create_key(ProviderKind::Aws, &caller.account_id, user.as_deref(), now)
                .ok_or_else(|| {
                    let message = format!("Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS}");
                    err(409, "LimitExceeded", message)
                })?;
            Ok(Some(format!(
                "<AccessKey>{}<AccessKeyId>{id}</AccessKeyId><Status>Active</Status><SecretAccessKey>{}</SecretAccessKey><CreateDate>{}</CreateDate></AccessKey>",
                user_name_xml(user.as_deref()),
                escape(secret.as_str()),
                time(&now),
            )))
        }
        "UpdateAccessKey" | "DeleteAccessKey" => {
            let id = params.require("AccessKeyId", missing)?.to_string();
            let status = || Ok(params.require("Status", missing)?.to_string());
            let status = new_status(action, status, |bad| fill(BAD_STATUS, escape(bad)))?;
            let user = target_user(state, caller, action, params)?;
            let keys = state
                .aws_account_mut(&caller.account_id)
                .and_then(|a| a.keys_mut(user.as_deref()))
                .ok_or_else(|| fill(NO_SUCH_KEY, &id))?;
            match change_key(keys, &id, status) {
                true => Ok(None),
                false => Err(fill(NO_SUCH_KEY, &id)),
            }
        }
        "GetAccessKeyLastUsed" => {
            let id = params.require("AccessKeyId", missing)?;
            let account = account(state, caller)?;
            let owner = account.key_owner(id).map(|u| u.map(|u| u.name.as_str()));
            authorize(caller, action, owner)?;
            let owner = owner.ok_or_else(|| fill(NO_SUCH_KEY, id))?;
            let key = account
                .keys(owner)
                .and_then(|keys| keys.iter().find(|k| k.access_key_id == id))
                .ok_or_else(|| fill(NO_SUCH_KEY, id))?;
            let used = match last_use(key) {
                Some((at, service, region)) => format!(
                    "<LastUsedDate>{}</LastUsedDate><ServiceName>{}</ServiceName><Region>{}</Region>",
                    time(at),
                    escape(service),
                    escape(region)
                ),
                None => "<ServiceName>N/A</ServiceName><Region>N/A</Region>".to_string(),
            };
            Ok(Some(format!(
                "<UserName>{}</UserName><AccessKeyLastUsed>{used}</AccessKeyLastUsed>",
                escape(owner.unwrap_or("root"))
            )))
        }
        "GenerateCredentialReport" => {
            authorize(caller, action, None)?;
            let account = state
                .aws_account_mut(&caller.account_id)
                .ok_or_else(invalid_token)?;
            if !account.refresh_report(now, credential_report) {
                return Ok(Some("<State>COMPLETE</State>".to_string()));
            }
            Ok(Some(
                "<State>STARTED</State><Description>No report exists. Starting a new report generation task</Description>"
                    .to_string(),
            ))
        }
        "GetCredentialReport" => {
            authorize(caller, action, None)?;
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

/// A constraint of the STS model broken, in AWS's words.
fn invalid(field: &str, value: Option<&str>, constraint: &str) -> Fail {
    let value = value.map_or("null".to_string(), |v| format!("'{}'", escape(v)));
    err(
        400,
        "ValidationError",
        format!("1 validation error detected: Value {value} at '{field}' failed to satisfy constraint: Member must {constraint}"),
    )
}

/// STS AssumeRole: the model's constraints, then the role's trust (a missing role is refused
/// alike, as AWS does), then its session limits; the session acts as an admin of the role's
/// account.
fn assume_role(
    state: &mut State,
    caller: &Caller,
    params: &Params,
    now: DateTime<Utc>,
) -> Result<String, Fail> {
    let role_arn = params.get("RoleArn");
    let role_arn = role_arn.ok_or_else(|| invalid("roleArn", None, "not be null"))?;
    if role_arn.len() < 20 {
        let why = "have length greater than or equal to 20";
        return Err(invalid("roleArn", Some(role_arn), why));
    }
    let session = params.get("RoleSessionName");
    let session = session.ok_or_else(|| invalid("roleSessionName", None, "not be null"))?;
    let field = ("roleSessionName", Some(session));
    if session.len() < 2 {
        return Err(invalid(
            field.0,
            field.1,
            "have length greater than or equal to 2",
        ));
    }
    if session.len() > 64 {
        return Err(invalid(
            field.0,
            field.1,
            "have length less than or equal to 64",
        ));
    }
    if !session
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
    {
        let why = "satisfy regular expression pattern: [\\w+=,.@-]*";
        return Err(invalid(field.0, field.1, why));
    }
    let raw = params.get("DurationSeconds");
    let duration = match raw {
        None => 3600,
        Some(d) => d.parse::<i64>().map_err(|_| {
            err(
                400,
                "ValidationError",
                format!(
                    "Value '{}' for parameter DurationSeconds is invalid.",
                    escape(d)
                ),
            )
        })?,
    };
    if duration < 900 {
        return Err(invalid(
            "durationSeconds",
            raw,
            "have value greater than or equal to 900",
        ));
    }
    if duration > 43200 {
        return Err(invalid(
            "durationSeconds",
            raw,
            "have value less than or equal to 43200",
        ));
    }
    let denied = || {
        err(
            403,
            "AccessDenied",
            format!(
                "User: {} is not authorized to perform: sts:AssumeRole on resource: {}",
                arn(caller),
                escape(role_arn)
            ),
        )
    };
    // arn:aws:iam::<account>:role/<path/>name
    let (account_id, name) = role_arn
        .strip_prefix("arn:aws:iam::")
        .and_then(|rest| rest.split_once(":role/"))
        .map(|(account, path)| (account, path.rsplit('/').next().unwrap_or(path)))
        .ok_or_else(denied)?;
    let role: AwsRole = state
        .aws_account(account_id)
        .and_then(|a| a.roles.iter().find(|r| r.name == name))
        .cloned()
        .ok_or_else(denied)?;
    let caller_account = &caller.account_id;
    // A role session is trusted as its role.
    let principal = match &caller.temp {
        Some(TempKey {
            role: Some((role, _)),
            ..
        }) => format!("arn:aws:iam::{caller_account}:role/{role}"),
        _ => arn(caller),
    };
    let root = format!("arn:aws:iam::{caller_account}:root");
    let trusted = role
        .trusted
        .iter()
        .any(|t| t == caller_account || *t == root || *t == principal);
    let external_ok = role
        .external_id
        .as_deref()
        .is_none_or(|want| params.get("ExternalId") == Some(want));
    // The caller's own policy must allow sts:AssumeRole too: admins (and role sessions) only.
    let allowed = caller.may(false, false);
    // A trust requiring MFA refuses a call without it as an untrusted one.
    let code = params.get("SerialNumber").and(params.get("TokenCode"));
    if !trusted || !external_ok || !allowed || (role.mfa && code.is_none()) {
        return Err(denied());
    }
    if role.mfa && code != Some(MFA_CODE) {
        // AWS's text, trailing space included (as SDK users match it).
        let why = "MultiFactorAuthentication failed with invalid MFA one time pass code. ";
        return Err(err(403, "AccessDenied", why));
    }
    if duration > role.max_session {
        return Err(err(
            400,
            "ValidationError",
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }
    let chained = caller.temp.as_ref().is_some_and(|t| t.role.is_some());
    if chained && duration > 3600 {
        return Err(err(
            400,
            "ValidationError",
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        ));
    }
    let lifetime = state
        .settings
        .session_lifetime
        .unwrap_or_else(|| Duration::seconds(duration));
    let expires = now + lifetime;
    let (id, secret, token) =
        state.start_aws_session(account_id, name, &role.role_id, session, Some(expires));
    Ok(format!(
        "<Credentials><AccessKeyId>{id}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey><SessionToken>{}</SessionToken><Expiration>{}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>{}:{session}</AssumedRoleId><Arn>arn:aws:sts::{account_id}:assumed-role/{name}/{session}</Arn></AssumedRoleUser>",
        escape(secret.as_str()),
        escape(token.as_str()),
        time(&expires),
        role.role_id,
    ))
}

/// The credential report's CSV as IAM writes it: the root row first, then every user; per
/// key slot whether it is active, when it was made, and its last use (`N/A`: none).
/// When, for which service and in which region a key was last used.
fn last_use(key: &Key) -> Option<(&DateTime<Utc>, &str, &str)> {
    let (service, region) = key
        .last_used_in
        .as_ref()
        .map_or(("N/A", "N/A"), |(s, r)| (s.as_str(), r.as_str()));
    key.last_used.as_ref().map(|at| (at, service, region))
}

fn credential_report(account: &Account) -> String {
    const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";
    let iso = |t: &DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string();
    let slots = |keys: &[Key]| {
        let mut cells = String::new();
        for n in 0..2 {
            match keys.get(n) {
                Some(key) => {
                    let (date, region, service) = match last_use(key) {
                        Some((at, service, region)) => (iso(at), region, service),
                        None => ("N/A".into(), "N/A", "N/A"),
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

/// The test account manages an organization: the member account, a second member with user
/// `erin`, and a suspended account; ListAccounts pages two at a time.
fn seed_organization(state: &mut State, now: DateTime<Utc>) {
    let role = AwsRole::new(ORG_ROLE, &[TEST_ACCOUNT]);
    super::seed_second_member(state, ProviderKind::Aws, SECOND_MEMBER, role, now);
    let members = [
        (TEST_ACCOUNT, "management", "ACTIVE", 900),
        (MEMBER_ACCOUNT, "member", "ACTIVE", 600),
        (SUSPENDED_MEMBER, "closed", "SUSPENDED", 500),
        (SECOND_MEMBER, "second", "ACTIVE", 300),
    ];
    let organization = Organization::new("o-a1b2c3d4e5", now, &members);
    if let Some(account) = state.aws_account_mut(TEST_ACCOUNT) {
        account.organization = Some(organization);
    }
    state.aws.page_cap = 2;
}

/// Seeds the AWS side of the world and returns the profiles for the CLI.
pub(crate) fn seed(state: &mut State, seed: Seed, now: DateTime<Utc>) -> Vec<SandboxProfile> {
    let profile = |name, account, user, key| {
        super::profile(ProviderKind::Aws, name, REGION, account, Some(user), key)
    };
    let account = with_users(
        Account::new(ProviderKind::Aws, TEST_ACCOUNT),
        &TEST_USERS,
        now,
    );
    let key = seed_account(state, account, &TEST_KEYS, now);
    let mut profiles = vec![profile("aws-admin", TEST_ACCOUNT, "admin", key)];
    let member = with_users(
        Account::new(ProviderKind::Aws, MEMBER_ACCOUNT),
        &MEMBER_USERS,
        now,
    );
    let auditor = format!("arn:aws:iam::{MEMBER_ACCOUNT}:role/KeyAuditor");
    let roles = vec![
        AwsRole::new("KeyAuditor", &[TEST_ACCOUNT]),
        // Up to 12 hours, so that only role chaining's 1-hour limit applies to it.
        AwsRole {
            max_session: 43200,
            ..AwsRole::new("KeyAdmin", &[&auditor])
        },
        AwsRole::new(ORG_ROLE, &[TEST_ACCOUNT]),
        AwsRole {
            mfa: true,
            ..AwsRole::new(MFA_ROLE, &[TEST_ACCOUNT])
        },
    ];
    seed_member(state, member, roles, now);
    seed_organization(state, now);
    if seed == Seed::Demo {
        let users = [
            ("ops", true, 1200),
            ("deploy-bot", false, 800),
            ("maria.garcia", false, 300),
            ("legacy-backup", false, 2000),
        ];
        let account = with_users(Account::new(ProviderKind::Aws, DEMO_ACCOUNT), &users, now);
        let keys = [
            SeedKey(Some("ops"), 45, None, true, None),
            SeedKey(
                Some("deploy-bot"),
                420,
                Some(1),
                true,
                Some(("ec2", "eu-west-1")),
            ),
            SeedKey(Some("deploy-bot"), 30, None, true, None),
            SeedKey(
                Some("maria.garcia"),
                95,
                Some(2),
                true,
                Some(("s3", "us-west-2")),
            ),
            SeedKey(
                Some("legacy-backup"),
                800,
                Some(500),
                true,
                Some(("s3", "us-east-1")),
            ),
        ];
        let key = seed_account(state, account, &keys, now);
        profiles.push(profile("aws-ops", DEMO_ACCOUNT, "ops", key));
    }
    profiles
}
