//! Huawei Cloud wire types: IAM v5 (users, access keys), STS5 (caller identity),
//! Organizations (ListAccounts) and CCE (CheckAKSK), as JSON. They never leave `providers/huawei/`.

use serde::{Deserialize, Deserializer, Serialize};

use crate::model::Secret;
use crate::providers::CloudError;

/// `page_info` of the v5 lists: `next_marker` is present (and non-null) while pages remain.
#[derive(Debug, Default, Deserialize)]
pub struct PageInfo {
    pub next_marker: Option<String>,
    pub current_count: Option<u64>,
}

/// An IAM v5 user (ListUsersV5, ShowUserV5).
#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub user_id: String,
    pub user_name: String,
    #[serde(default)]
    pub is_root_user: bool,
    /// `iam::<account id>:user:<user name>`.
    pub urn: Option<String>,
    pub created_at: Option<String>,
    pub enabled: Option<bool>,
    pub description: Option<String>,
}

wire! {
    snake_case;

    pub struct ListUsersResponse {
        #[serde(default)]
        pub users: Vec<User>,
        #[serde(default)]
        pub page_info: Option<PageInfo>,
    }

    /// One key as ListAccessKeysV5 and UpdateAccessKeyV5 return it.
    pub struct AccessKeyMetadata {
        pub user_id: Option<String>,
        pub access_key_id: String,
        pub created_at: Option<String>,
        pub status: String,
    }

    pub struct ListAccessKeysResponse {
        #[serde(default)]
        pub access_keys: Vec<AccessKeyMetadata>,
        #[serde(default)]
        pub page_info: Option<PageInfo>,
    }

    /// CreateAccessKeyV5's key: the only answer that carries the secret.
    pub struct CreatedAccessKey {
        pub user_id: Option<String>,
        pub access_key_id: String,
        pub created_at: Option<String>,
        #[serde(deserialize_with = "secret")]
        pub secret_access_key: Secret,
        pub status: String,
    }

    pub struct CreateAccessKeyResponse {
        pub access_key: CreatedAccessKey,
    }
}

/// Body of STS5 AssumeAgency (top level, no wrapper); unset fields are left out.
#[derive(Serialize)]
pub struct AssumeAgencyRequest<'a> {
    pub agency_urn: &'a str,
    pub agency_session_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<&'a str>,
}

wire! {
    snake_case;

    /// STS5 AssumeAgency: the temporary credentials (the assumed agency is not needed).
    pub struct AssumeAgencyResponse {
        pub credentials: TemporaryCredentials,
    }

    /// Temporary AK/SK and security token; `Debug` shows neither the secret nor the token.
    pub struct TemporaryCredentials {
        pub access_key_id: String,
        #[serde(deserialize_with = "secret")]
        pub secret_access_key: Secret,
        #[serde(deserialize_with = "secret")]
        pub security_token: Secret,
        pub expiration: String,
    }
}

/// Body of UpdateAccessKeyV5.
#[derive(Debug, Serialize)]
pub struct UpdateAccessKeyRequest {
    pub status: &'static str,
}

wire! {
    snake_case;

    pub struct UpdateAccessKeyResponse {
        pub access_key: AccessKeyMetadata,
    }

    /// ShowAccessKeyLastUsedV5: a never-used key has no (or a null) `last_used_at`.
    pub struct LastUsedResponse {
        pub access_key_last_used: Option<AccessKeyLastUsed>,
    }

    pub struct AccessKeyLastUsed {
        pub last_used_at: Option<String>,
    }

    /// ShowUserV5 (`GET /v5/users/{user_id}`).
    pub struct ShowUserResponse {
        pub user: User,
    }

    /// STS5 GetCallerIdentity (`GET /v5/caller-identity`), which needs no permission.
    pub struct CallerIdentityResponse {
        pub account_id: Option<String>,
        /// `iam::<account id>:user:<user name>` for a user; another form for an agency session.
        pub principal_urn: Option<String>,
        /// The user id for a user.
        pub principal_id: Option<String>,
    }

    /// Organizations ListAccounts (`GET /v1/organizations/accounts`): one page.
    pub struct ListAccountsResponse {
        #[serde(default)]
        pub accounts: Vec<OrgAccountWire>,
        #[serde(default)]
        pub page_info: Option<PageInfo>,
    }

    /// An account of the organization (`AccountDto`; contact fields left unread).
    pub struct OrgAccountWire {
        /// The account's (domain's) id, which agency URNs name.
        pub id: String,
        pub name: Option<String>,
        /// `active`, `suspended` or `pending_closure`.
        pub status: String,
    }

    /// CCE CheckAKSK (`GET /api/v2/projects/{project_id}/longaksk`). Dates are in Go's default
    /// format; `expiredTime` is the remaining validity in seconds, sent as a string.
    pub struct CheckAkskResponse {
        #[serde(rename = "akskUpload")]
        pub aksk_upload: Option<bool>,
        pub expired: Option<bool>,
        #[serde(rename = "expiredTime")]
        pub expired_time: Option<serde_json::Value>,
        pub expired_date: Option<String>,
        pub create_time: Option<String>,
        pub update_time: Option<String>,
    }
}

/// Every error envelope met on these APIs: IAM v5 and API Gateway (`error_code`, `error_msg`,
/// `request_id`, `encoded_authorization_message` on 403), older CCE (`errorCode`,
/// `errorMessage`) and Keystone-style IAM v3 (`{"error": {"code", "message", "title"}}`).
#[derive(Debug, Default, Deserialize)]
pub struct ErrorBody {
    pub error_code: Option<String>,
    pub error_msg: Option<String>,
    pub request_id: Option<String>,
    pub encoded_authorization_message: Option<String>,
    #[serde(rename = "errorCode")]
    pub error_code_camel: Option<String>,
    #[serde(rename = "errorMessage")]
    pub error_message_camel: Option<String>,
    pub error: Option<KeystoneError>,
}

#[derive(Debug, Default, Deserialize)]
pub struct KeystoneError {
    pub code: Option<serde_json::Value>,
    pub message: Option<String>,
    pub title: Option<String>,
}

impl ErrorBody {
    /// The code, message and request id, whichever envelope carried them; `None` when the
    /// body names no error code at all.
    pub fn normalize(self) -> Option<CloudError> {
        let keystone = self.error.unwrap_or_default();
        let keystone_code = keystone.code.map(|code| match code {
            serde_json::Value::String(text) => text,
            other => other.to_string(),
        });
        let code = self
            .error_code
            .or(self.error_code_camel)
            .or(keystone_code)
            .or(keystone.title.clone())
            .filter(|c| !c.is_empty())?;
        Some(CloudError {
            code,
            message: self
                .error_msg
                .or(self.error_message_camel)
                .or(keystone.message)
                .filter(|m| !m.is_empty()),
            request_id: self.request_id.filter(|r| !r.is_empty()),
            detail: self.encoded_authorization_message.filter(|m| !m.is_empty()),
        })
    }
}

fn secret<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
    String::deserialize(deserializer).map(Secret::new)
}

/// Parses a successful answer; an empty body (DeleteAccessKeyV5's 204) reads as JSON `null`.
pub fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, serde_json::Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::from_slice(b"null")
    } else {
        serde_json::from_slice(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_envelopes_of_every_kind() {
        let v5: ErrorBody = serde_json::from_str(
            r#"{"error_msg":"access denied: no identity policy allows it","error_code":"PAP5.0001","request_id":"abc","encoded_authorization_message":"ZW5j"}"#,
        )
        .unwrap();
        let v5 = v5.normalize().unwrap();
        assert_eq!(v5.code, "PAP5.0001");
        assert_eq!(v5.request_id.as_deref(), Some("abc"));
        assert_eq!(v5.detail.as_deref(), Some("ZW5j"));
        let cce: ErrorBody =
            serde_json::from_str(r#"{"errorCode":"CCE.01404001","errorMessage":"gone"}"#).unwrap();
        let cce = cce.normalize().unwrap();
        assert_eq!(
            (cce.code.as_str(), cce.message.as_deref()),
            ("CCE.01404001", Some("gone"))
        );
        let keystone: ErrorBody = serde_json::from_str(
            r#"{"error":{"code":404,"message":"Could not find credential.","title":"Not Found"}}"#,
        )
        .unwrap();
        assert_eq!(keystone.normalize().unwrap().code, "404");
        let nothing: ErrorBody = serde_json::from_str(r#"{"message":"?"}"#).unwrap();
        assert!(nothing.normalize().is_none());
    }

    #[test]
    fn empty_success_bodies_and_secrets() {
        let _: serde::de::IgnoredAny = parse(b"").unwrap();
        let created: CreateAccessKeyResponse = parse(
            br#"{"access_key":{"user_id":"u","access_key_id":"AK","created_at":"2024-01-02T03:04:05.000Z","secret_access_key":"s3cr3t","status":"active"}}"#,
        )
        .unwrap();
        assert_eq!(created.access_key.secret_access_key.expose(), "s3cr3t");
        assert!(!format!("{created:?}").contains("s3cr3t"));
        let last: LastUsedResponse = parse(br#"{"access_key_last_used":{}}"#).unwrap();
        assert!(last.access_key_last_used.unwrap().last_used_at.is_none());
        let last: LastUsedResponse =
            parse(br#"{"access_key_last_used":{"last_used_at":null}}"#).unwrap();
        assert!(last.access_key_last_used.unwrap().last_used_at.is_none());
    }
}
