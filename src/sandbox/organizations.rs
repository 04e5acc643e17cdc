//! AWS Organizations ListAccounts (JSON 1.1, `X-Amz-Target`), answered to the management
//! account only, as AWS does.

use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::state::{decode_marker, encode_marker, Organization, State};
use super::{fail as err, reply, Caller, Fail, Incoming};

/// The `X-Amz-Target` prefix of Organizations' actions.
pub const TARGET: &str = "AWSOrganizationsV20161128.";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// The Organizations action a request names in `X-Amz-Target`, if it is one.
pub fn action_of(request: &Incoming) -> Option<String> {
    let target = request.header("x-amz-target")?;
    target.strip_prefix(TARGET).map(str::to_string)
}

/// Organizations' throttling (400) or internal error (500), as its API reference words them.
pub fn fault(throttled: bool) -> Response {
    answer(Err(if throttled {
        err(
            400,
            "TooManyRequestsException",
            "You have sent too many requests in too short a period of time. The quota helps protect against denial-of-service attacks. Try again later.",
        )
    } else {
        err(
            500,
            "ServiceException",
            "AWS Organizations can't complete your request because of an internal service error. Try again later.",
        )
    }))
}

/// Organizations (errors `{"__type","Message"}`, HTTP 400 but for ServiceException's 500).
pub fn handle(state: &mut State, request: &Incoming, action: &str, now: DateTime<Utc>) -> Response {
    answer(
        super::aws::authenticate(state, request, action, now)
            .map_err(json_auth_error)
            .and_then(|(caller, _)| run(state, &caller, action, request)),
    )
}

fn answer(answer: Result<Value, Fail>) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let (status, body) = match answer {
        Ok(body) => (200, body),
        Err(fail) => {
            let mut body = json!({"__type": fail.code, "Message": fail.message});
            if let Some(reason) = fail.detail {
                body["Reason"] = Value::String(reason);
            }
            (fail.status, body)
        }
    };
    reply(
        status,
        CONTENT_TYPE,
        "x-amzn-RequestId",
        &request_id,
        Some(body.to_string()),
    )
}

/// JSON services name the query protocol's signature errors differently.
fn json_auth_error(fail: Fail) -> Fail {
    let code = match fail.code.as_str() {
        "InvalidClientTokenId" => "UnrecognizedClientException",
        "SignatureDoesNotMatch" | "IncompleteSignature" => "InvalidSignatureException",
        "ExpiredToken" => "ExpiredTokenException",
        other => other,
    };
    Fail {
        status: if fail.status == 403 { 400 } else { fail.status },
        code: code.to_string(),
        ..fail
    }
}

fn access_denied() -> Fail {
    err(
        400,
        "AccessDeniedException",
        "You don't have permissions to access this resource.",
    )
}

fn run(state: &State, caller: &Caller, action: &str, request: &Incoming) -> Result<Value, Fail> {
    if action != "ListAccounts" {
        return Err(err(
            400,
            "UnknownOperationException",
            format!("Unknown operation {action}"),
        ));
    }
    let org = state
        .aws
        .accounts
        .iter()
        .find_map(|a| a.organization.as_ref().map(|o| (&a.account_id, o)));
    let managed = org.filter(|(management, _)| **management == caller.account_id);
    let Some((management, org)) = managed else {
        // A member account may not list its organization; a lone account has none.
        let member = state
            .aws
            .accounts
            .iter()
            .filter_map(|a| a.organization.as_ref());
        let member = member
            .flat_map(|o| &o.accounts)
            .any(|m| m.account_id == caller.account_id);
        return Err(if member {
            access_denied()
        } else {
            err(
                400,
                "AWSOrganizationsNotInUseException",
                "Your account is not a member of an organization.",
            )
        });
    };
    if !caller.may(false, false) {
        return Err(access_denied());
    }
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(json!({}));
    let max = match body.get("MaxResults") {
        None => 20,
        Some(v) => match v.as_u64().filter(|n| (1..=20).contains(n)) {
            Some(n) => n as usize,
            None => {
                return Err(err(
                    400,
                    "ValidationException",
                    format!("1 validation error detected: Value '{v}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 20"),
                ))
            }
        },
    };
    // The test seed pages small, so that clients must follow NextToken.
    let max = match state.aws.page_cap {
        0 => max,
        cap => max.min(cap),
    };
    let start = match body.get("NextToken").and_then(Value::as_str) {
        None => 0,
        Some(token) => decode_marker(token).ok_or_else(|| Fail {
            detail: Some("INVALID_PAGINATION_TOKEN".into()),
            ..err(
                400,
                "InvalidInputException",
                "You specified an invalid value for nextToken. You must get the value from the response to a previous call to the API.",
            )
        })?,
    };
    Ok(page(management, org, start, max))
}

fn page(management: &str, org: &Organization, start: usize, max: usize) -> Value {
    let accounts: Vec<Value> = org
        .accounts
        .iter()
        .skip(start)
        .take(max)
        .map(|m| {
            let status = match m.state.as_str() {
                "PENDING_ACTIVATION" | "CLOSED" => "SUSPENDED",
                other => other,
            };
            json!({
                "Id": m.account_id,
                "Arn": format!("arn:aws:organizations::{management}:account/{}/{}", org.id, m.account_id),
                "Email": format!("{}@example.com", m.name),
                "Name": m.name,
                "Status": status,
                "State": m.state,
                "JoinedMethod": if m.account_id == management { "INVITED" } else { "CREATED" },
                "JoinedTimestamp": m.joined_at.timestamp_millis() as f64 / 1000.0,
            })
        })
        .collect();
    let mut answer = json!({ "Accounts": accounts });
    if start + max < org.accounts.len() {
        answer["NextToken"] = Value::String(encode_marker(start + max, false));
    }
    answer
}
