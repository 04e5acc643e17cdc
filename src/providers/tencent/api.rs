//! CAM, STS and Organization wire types (API 3.0: JSON in, `{"Response": {...}}` out). Nothing here leaves
//! the `tencent` folder.

use serde::de::{self, DeserializeOwned, Deserializer};
use serde::Deserialize;
use serde_json::Value;

use crate::model::Secret;

pub const CAM_VERSION: &str = "2019-01-16";
pub const STS_VERSION: &str = "2018-08-13";
pub const ORG_VERSION: &str = "2021-03-31";

/// `DescribeOrganizationMembers` takes a `Limit` of 1 to 50.
pub const ORG_PAGE_LIMIT: u32 = 50;

/// `GetSecurityLastUsed` takes at most this many ids a call.
pub const LAST_USED_BATCH: usize = 10;

/// A `null` (Tencent's "no valid value") read as the type's default, e.g. an empty list.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A uin: documented as an integer; a numeric string is accepted too.
fn uin<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| de::Error::custom(format!("uin {n} is not a positive integer"))),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| de::Error::custom(format!("uin '{s}' is not a number"))),
        other => Err(de::Error::custom(format!("uin is not a number: {other}"))),
    }
}

/// A string that may also come as a number (`AccountId`, `PrincipalId` are strings, uins elsewhere are not).
fn lenient_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(other) => return Err(de::Error::custom(format!("expected a string: {other}"))),
    })
}

wire! {
    pub struct GetCallerIdentityResponse {
        pub arn: Option<String>,
        #[serde(default, deserialize_with = "lenient_string")]
        pub account_id: Option<String>,
        #[serde(default, deserialize_with = "lenient_string")]
        pub user_id: Option<String>,
        #[serde(default, deserialize_with = "lenient_string")]
        pub principal_id: Option<String>,
        #[serde(rename = "Type")]
        pub identity_type: Option<String>,
    }

    /// STS AssumeRole: the role's temporary credentials and when they expire. `Debug` shows
    /// neither the secret nor the token ([`Secret`]).
    pub struct AssumeRoleResponse {
        pub credentials: TemporaryCredentials,
        /// Unix seconds.
        pub expired_time: i64,
    }
}

#[derive(Debug, Deserialize)]
pub struct TemporaryCredentials {
    #[serde(rename = "TmpSecretId")]
    pub tmp_secret_id: String,
    #[serde(rename = "TmpSecretKey")]
    pub tmp_secret_key: Secret,
    #[serde(rename = "Token")]
    pub token: Secret,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccessKey {
    pub access_key_id: String,
    pub status: String,
    /// Beijing time, `2019-12-25 14:53:03`.
    pub create_time: Option<String>,
}

wire! {
    pub struct ListAccessKeysResponse {
        /// "May return null".
        #[serde(default, deserialize_with = "null_as_default")]
        pub access_keys: Vec<AccessKey>,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateAccessKeyResponse {
    pub access_key: Option<CreatedAccessKey>,
}

/// Holds the secret only until it is moved into a `Secret`; no `Debug`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreatedAccessKey {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub status: String,
    pub create_time: Option<String>,
}

/// One entry of `ListUsers` (`SubAccountInfo`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubAccountInfo {
    #[serde(deserialize_with = "uin")]
    pub uin: u64,
    pub name: String,
}

wire! {
    pub struct ListUsersResponse {
        #[serde(default, deserialize_with = "null_as_default")]
        pub data: Vec<SubAccountInfo>,
    }

    pub struct GetUserResponse {
        #[serde(deserialize_with = "uin")]
        pub uin: u64,
        pub name: String,
    }

    pub struct GetSecurityLastUsedResponse {
        #[serde(default, deserialize_with = "null_as_default")]
        pub secret_id_last_used_rows: Vec<SecretIdLastUsed>,
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretIdLastUsed {
    pub secret_id: String,
    /// A Beijing calendar day, `2022-12-19` (about one day behind); null or empty when never used.
    pub last_used_date: Option<String>,
    /// Documented as "the last date the key was accessed", an integer; the documented example
    /// is in milliseconds (`1671681023555`). 0 or absent when unknown.
    pub last_secret_used_date: Option<u64>,
}

/// One page of `DescribeOrganizationMembers`: `Total` counts every member, not this page's.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeOrganizationMembersResponse {
    #[serde(default, deserialize_with = "null_as_default")]
    pub items: Vec<OrgMember>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub total: u64,
}

/// An `OrgMember` (the fields read; it has no active/suspended state).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrgMember {
    #[serde(deserialize_with = "uin")]
    pub member_uin: u64,
    #[serde(default)]
    pub name: Option<String>,
}

/// `Response.Error` of a failed call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
}

/// A parsed answer: the action's fields, or the error envelope.
#[derive(Debug)]
pub enum Answer<T> {
    Ok(T),
    Err(ErrorBody),
}

/// Reads `{"Response": {...}}`: `Response.Error` makes it an error (Tencent answers HTTP 200
/// either way), anything else is the action's answer.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<Answer<T>, String> {
    let doc: Value = serde_json::from_slice(body).map_err(|err| format!("not JSON: {err}"))?;
    let Some(response) = doc.get("Response") else {
        return Err("no \"Response\" object".to_string());
    };
    if let Some(error) = parse_error_value(response) {
        return Ok(Answer::Err(error));
    }
    T::deserialize(response)
        .map(Answer::Ok)
        .map_err(|err| err.to_string())
}

/// The error envelope of an answer, if it is one.
pub fn parse_error(body: &[u8]) -> Option<ErrorBody> {
    let doc: Value = serde_json::from_slice(body).ok()?;
    parse_error_value(doc.get("Response")?)
}

fn parse_error_value(response: &Value) -> Option<ErrorBody> {
    let error = response.get("Error")?.as_object()?;
    let code = error.get("Code")?.as_str()?.to_string();
    let message = error
        .get("Message")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let request_id = response
        .get("RequestId")
        .and_then(Value::as_str)
        .map(str::to_string);
    Some(ErrorBody {
        code,
        message,
        request_id,
    })
}

/// The request id of any answer.
pub fn request_id(body: &[u8]) -> Option<String> {
    let doc: Value = serde_json::from_slice(body).ok()?;
    doc.get("Response")?
        .get("RequestId")?
        .as_str()
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok<T: DeserializeOwned>(text: &str) -> T {
        match parse::<T>(text.as_bytes()).unwrap() {
            Answer::Ok(value) => value,
            Answer::Err(err) => panic!("unexpected error {err:?}"),
        }
    }

    #[test]
    fn parses_the_documented_list_access_keys_answer() {
        let parsed: ListAccessKeysResponse = ok(r#"{"Response": {"AccessKeys": [
            {"AccessKeyId": "AKID***", "Status": "Active", "CreateTime": "2019-12-25 14:53:03"},
            {"AccessKeyId": "AKID2", "Status": "Inactive", "CreateTime": "2020-03-03 16:51:21", "Description": "ci"}],
            "RequestId": "bbc4c6b1-ee32-416a-9135-68de318c54f2"}}"#);
        assert_eq!(parsed.access_keys.len(), 2);
        assert_eq!(parsed.access_keys[1].status, "Inactive");
        assert_eq!(
            parsed.access_keys[0].create_time.as_deref(),
            Some("2019-12-25 14:53:03")
        );
        let empty: ListAccessKeysResponse =
            ok(r#"{"Response": {"AccessKeys": null, "RequestId": "r"}}"#);
        assert!(empty.access_keys.is_empty());
    }

    #[test]
    fn parses_users_with_integer_or_string_uins() {
        let parsed: ListUsersResponse = ok(r#"{"Response": {"Data": [
            {"Uin": 100000546533, "Name": "jack", "Uid": 1001774, "Remark": null, "ConsoleLogin": 1,
             "PhoneNum": "10086", "CountryCode": "86", "Email": "", "CreateTime": "2021-11-26 16:21:01", "NickName": "jack"},
            {"Uin": "100000546534", "Name": "rose"}], "RequestId": "r"}}"#);
        assert_eq!(parsed.data[0].uin, 100000546533);
        assert_eq!(parsed.data[1].uin, 100000546534);
        assert_eq!(parsed.data[1].name, "rose");
        let user: GetUserResponse = ok(
            r#"{"Response": {"Uin": 100000546533, "Name": "jack", "Uid": 1001774, "RequestId": "r"}}"#,
        );
        assert_eq!(user.uin, 100000546533);
    }

    #[test]
    fn parses_the_documented_last_used_answer() {
        let parsed: GetSecurityLastUsedResponse = ok(r#"{"Response": {"SecretIdLastUsedRows": [
            {"SecretId": "AKID***", "LastUsedDate": "2022-12-19", "LastSecretUsedDate": 1671681023555},
            {"SecretId": "AKID2", "LastUsedDate": null}],
            "RequestId": "b790d4ca-5692-42ae-8a8c-d15c6ed976db"}}"#);
        let rows = parsed.secret_id_last_used_rows;
        assert_eq!(rows[0].last_used_date.as_deref(), Some("2022-12-19"));
        assert_eq!(rows[0].last_secret_used_date, Some(1671681023555));
        assert_eq!(rows[1].last_used_date, None);
        assert_eq!(rows[1].last_secret_used_date, None);
    }

    #[test]
    fn parses_caller_identity() {
        let parsed: GetCallerIdentityResponse = ok(r#"{"Response": {"Type": "CAMUser",
            "AccountId": "1000262001", "UserId": "1000261001", "PrincipalId": "1000261001",
            "Arn": "qcs::cam:1000262001:uin/1000261001", "RequestId": "r"}}"#);
        assert_eq!(parsed.principal_id.as_deref(), Some("1000261001"));
        assert_eq!(parsed.identity_type.as_deref(), Some("CAMUser"));
        let numeric: GetCallerIdentityResponse =
            ok(r#"{"Response": {"AccountId": 1000262001, "RequestId": "r"}}"#);
        assert_eq!(numeric.account_id.as_deref(), Some("1000262001"));
    }

    #[test]
    fn an_error_envelope_is_an_error_even_with_http_200() {
        let body = br#"{"Response": {"Error": {"Code": "AuthFailure.SignatureFailure",
            "Message": "The provided credentials could not be validated."}, "RequestId": "req-1"}}"#;
        let Answer::Err(err) = parse::<ListUsersResponse>(body).unwrap() else {
            panic!("expected an error");
        };
        assert_eq!(err.code, "AuthFailure.SignatureFailure");
        assert_eq!(err.request_id.as_deref(), Some("req-1"));
        assert_eq!(parse_error(body), Some(err));
        assert_eq!(request_id(body).as_deref(), Some("req-1"));
        assert!(parse::<ListUsersResponse>(b"<html>").is_err());
        assert!(parse::<ListUsersResponse>(b"{}").is_err());
        assert!(parse_error(b"{\"Response\": {}}").is_none());
    }
}
