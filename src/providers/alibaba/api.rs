//! RAM 2015-05-01 and STS 2015-04-01 wire types (RPC style, JSON answers). Nothing here leaves
//! the `alibaba` folder.
//!
//! Every field is decoded as optional: the docs mark few as required and the service omits
//! empty ones. Lists come wrapped (`{"AccessKeys":{"AccessKey":[…]}}`); an empty one may have
//! the inner key missing, `[]` or `null`, and all of those read as empty.

use serde::de::{DeserializeOwned, Deserializer};
use serde::Deserialize;
use serde_json::Value;

pub const RAM_VERSION: &str = "2015-05-01";
pub const STS_VERSION: &str = "2015-04-01";

/// Reads a wrapped list: `outer` is the value of e.g. `AccessKeys`, `inner` the item key
/// (`AccessKey`). A bare array, a single object and every form of "empty" are accepted.
fn unwrap_list<T: DeserializeOwned>(outer: &Option<Value>, inner: &str) -> Result<Vec<T>, String> {
    let items = match outer {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(map)) => match map.get(inner) {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(value) => value,
        },
        Some(other) => other,
    };
    // Read from the borrowed values: no copy of the list.
    match items {
        Value::Array(list) => list
            .iter()
            .map(|item| T::deserialize(item).map_err(|err| format!("{inner}: {err}")))
            .collect(),
        Value::Object(_) => T::deserialize(items)
            .map(|one| vec![one])
            .map_err(|err| format!("{inner}: {err}")),
        Value::String(s) if s.is_empty() => Ok(Vec::new()),
        other => Err(format!("{inner}: expected a list, got {other}")),
    }
}

/// `IsTruncated` is a JSON bool; a string `"true"` is accepted too.
fn lenient_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Bool(b) => b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    })
}

/// Strings the service may also send as numbers (ids) are read either way.
fn lenient_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::String(s) if !s.is_empty() => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccessKey {
    pub access_key_id: String,
    pub status: Option<String>,
    pub create_date: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAccessKeysResponse {
    pub access_keys: Option<Value>,
}

impl ListAccessKeysResponse {
    pub fn keys(&self) -> Result<Vec<AccessKey>, String> {
        unwrap_list(&self.access_keys, "AccessKey")
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct User {
    pub user_name: String,
    #[serde(default, deserialize_with = "lenient_string")]
    pub user_id: Option<String>,
    pub display_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListUsersResponse {
    #[serde(default, deserialize_with = "lenient_bool")]
    pub is_truncated: bool,
    pub marker: Option<String>,
    pub users: Option<Value>,
}

impl ListUsersResponse {
    pub fn users(&self) -> Result<Vec<User>, String> {
        unwrap_list(&self.users, "User")
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateAccessKeyResponse {
    pub access_key: CreatedAccessKey,
}

/// Holds the secret only until it is moved into a `Secret`; no `Debug`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreatedAccessKey {
    pub access_key_id: String,
    pub access_key_secret: String,
    pub status: Option<String>,
    pub create_date: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetAccessKeyLastUsedResponse {
    pub access_key_last_used: Option<AccessKeyLastUsed>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccessKeyLastUsed {
    /// Absent, `null` or `""` for a key never used.
    pub last_used_date: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetCallerIdentityResponse {
    /// `Account`, `RAMUser` or `AssumedRoleUser`.
    pub identity_type: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub account_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub principal_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub user_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub role_id: Option<String>,
    pub arn: Option<String>,
}

/// `{"RequestId","HostId","Code","Message","Recommend"}` (+ `AccessDeniedDetail` on NoPermission).
#[derive(Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorBody {
    pub code: Option<String>,
    pub message: Option<String>,
    pub request_id: Option<String>,
    pub host_id: Option<String>,
    pub recommend: Option<String>,
    pub access_denied_detail: Option<Value>,
}

/// Reads an error answer; `None` unless it is JSON with a `Code`.
pub fn parse_error(body: &[u8]) -> Option<ErrorBody> {
    let parsed: ErrorBody = serde_json::from_slice(body).ok()?;
    parsed
        .code
        .as_deref()
        .is_some_and(|c| !c.is_empty())
        .then_some(parsed)
}

/// Parses a success answer into its wire type.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_list_access_keys_and_its_empty_forms() {
        let json = r#"{"RequestId":"04F0F334-1335-436C-A1D7-6C044FE73368","AccessKeys":{"AccessKey":[
            {"AccessKeyId":"LTAI5tAAAAAAAAAAAAAAAAAA","Status":"Active","CreateDate":"2015-01-23T12:33:18Z"},
            {"AccessKeyId":"LTAI5tBBBBBBBBBBBBBBBBBB","Status":"Inactive","CreateDate":"2016-01-23T12:33:18Z"}]}}"#;
        let parsed: ListAccessKeysResponse = parse(json.as_bytes()).unwrap();
        let keys = parsed.keys().unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[1].status.as_deref(), Some("Inactive"));
        assert_eq!(keys[0].create_date.as_deref(), Some("2015-01-23T12:33:18Z"));
        for empty in [
            r#"{"RequestId":"r","AccessKeys":{"AccessKey":[]}}"#,
            r#"{"RequestId":"r","AccessKeys":{}}"#,
            r#"{"RequestId":"r","AccessKeys":null}"#,
            r#"{"RequestId":"r","AccessKeys":[]}"#,
            r#"{"RequestId":"r"}"#,
        ] {
            let parsed: ListAccessKeysResponse = parse(empty.as_bytes()).unwrap();
            assert!(parsed.keys().unwrap().is_empty(), "{empty}");
        }
        let bad: ListAccessKeysResponse =
            parse(br#"{"AccessKeys":{"AccessKey":[{"Status":"Active"}]}}"#).unwrap();
        assert!(bad.keys().is_err());
    }

    #[test]
    fn parses_list_users_pages() {
        let json = r#"{"RequestId":"r","IsTruncated":true,"Marker":"EXAMPLE+/=","Users":{"User":[
            {"UserId":"122748924538****","UserName":"zhangq****","DisplayName":"Zhang","CreateDate":"2015-01-23T12:33:18Z","UpdateDate":"2015-01-23T12:33:18Z"}]}}"#;
        let parsed: ListUsersResponse = parse(json.as_bytes()).unwrap();
        assert!(parsed.is_truncated);
        assert_eq!(parsed.marker.as_deref(), Some("EXAMPLE+/="));
        let users = parsed.users().unwrap();
        assert_eq!(users[0].user_name, "zhangq****");
        assert_eq!(users[0].user_id.as_deref(), Some("122748924538****"));
        let last: ListUsersResponse =
            parse(br#"{"RequestId":"r","IsTruncated":false,"Users":{"User":[]}}"#).unwrap();
        assert!(!last.is_truncated);
        assert!(last.marker.is_none());
        assert!(last.users().unwrap().is_empty());
    }

    #[test]
    fn parses_create_and_last_used() {
        let json = r#"{"RequestId":"r","AccessKey":{"Status":"Active","AccessKeySecret":"PupkTg8jdmau1cXxYacgE736PJj4cA","CreateDate":"2015-01-23T12:33:18Z","AccessKeyId":"0wNEpMMlzy7szvai"}}"#;
        let parsed: CreateAccessKeyResponse = parse(json.as_bytes()).unwrap();
        assert_eq!(parsed.access_key.access_key_id, "0wNEpMMlzy7szvai");
        assert_eq!(parsed.access_key.access_key_secret.len(), 30);
        let used: GetAccessKeyLastUsedResponse = parse(
            br#"{"RequestId":"r","AccessKeyLastUsed":{"LastUsedDate":"2020-10-21T06:37:40Z"}}"#,
        )
        .unwrap();
        assert_eq!(
            used.access_key_last_used.unwrap().last_used_date.as_deref(),
            Some("2020-10-21T06:37:40Z")
        );
        let never: GetAccessKeyLastUsedResponse =
            parse(br#"{"RequestId":"r","AccessKeyLastUsed":{}}"#).unwrap();
        assert!(never.access_key_last_used.unwrap().last_used_date.is_none());
    }

    #[test]
    fn parses_caller_identity() {
        let json = r#"{"IdentityType":"RAMUser","AccountId":"196813200012****","RequestId":"3C87BF47-3724-5443-ADC1-5AEAD9A03EB1","PrincipalId":"28877424437521****","UserId":"28877424437521****","Arn":"acs:ram::196813200012****:user/admin"}"#;
        let parsed: GetCallerIdentityResponse = parse(json.as_bytes()).unwrap();
        assert_eq!(parsed.identity_type.as_deref(), Some("RAMUser"));
        assert_eq!(parsed.account_id.as_deref(), Some("196813200012****"));
        assert!(parsed.role_id.is_none());
    }

    #[test]
    fn parses_error_bodies() {
        let json = r#"{"RequestId":"7463B73D-35CC-4D19-A010-6B8D65D242EF","HostId":"ram.aliyuncs.com","Code":"EntityNotExist.User","Message":"The user does not exist.","Recommend":"https://api.aliyun.com/troubleshoot?q=EntityNotExist.User&product=Ram"}"#;
        let parsed = parse_error(json.as_bytes()).unwrap();
        assert_eq!(parsed.code.as_deref(), Some("EntityNotExist.User"));
        assert_eq!(
            parsed.request_id.as_deref(),
            Some("7463B73D-35CC-4D19-A010-6B8D65D242EF")
        );
        assert_eq!(parsed.host_id.as_deref(), Some("ram.aliyuncs.com"));
        assert!(parse_error(b"<html>502 Bad Gateway</html>").is_none());
        assert!(parse_error(br#"{"RequestId":"r"}"#).is_none());
        assert!(parse_error(br#"{"Code":""}"#).is_none());
    }
}
