//! IAM and STS wire types (query protocol, XML answers). Nothing here leaves the `aws` folder.

use quick_xml::events::Event;
use serde::Deserialize;

use crate::providers::report::{self, ReportSlot, ReportUse, ReportUsers};
use crate::time::parse_rfc3339;

pub const IAM_VERSION: &str = "2010-05-08";
pub const STS_VERSION: &str = "2011-06-15";

#[derive(Debug, Deserialize)]
pub struct Members<T> {
    #[serde(rename = "member", default = "Vec::new")]
    pub member: Vec<T>,
}

impl<T> Default for Members<T> {
    fn default() -> Self {
        Members { member: Vec::new() }
    }
}

/// Every answer wraps its result: `<XResponse><XResult>…</XResult>…</XResponse>`.
macro_rules! answers {
    ($($name:ident($tag:literal, $result:ty)),* $(,)?) => {$(
        #[derive(Debug, Deserialize)]
        pub struct $name {
            #[serde(rename = $tag)]
            pub result: $result,
        }
    )*};
}

answers! {
    ListAccessKeysResponse("ListAccessKeysResult", ListAccessKeysResult),
    ListUsersResponse("ListUsersResult", ListUsersResult),
    GetAccessKeyLastUsedResponse("GetAccessKeyLastUsedResult", GetAccessKeyLastUsedResult),
    GetCallerIdentityResponse("GetCallerIdentityResult", GetCallerIdentityResult),
    AssumeRoleResponse("AssumeRoleResult", AssumeRoleResult),
    GetAccessKeyInfoResponse("GetAccessKeyInfoResult", GetAccessKeyInfoResult),
    GenerateCredentialReportResponse("GenerateCredentialReportResult", GenerateCredentialReportResult),
    GetCredentialReportResponse("GetCredentialReportResult", GetCredentialReportResult),
}

wire! {
    pub struct AccessKeyMetadata {
        pub user_name: Option<String>,
        pub access_key_id: String,
        pub status: String,
        pub create_date: Option<String>,
    }

    pub struct ListAccessKeysResult {
        #[serde(default)]
        pub access_key_metadata: Members<AccessKeyMetadata>,
        #[serde(default)]
        pub is_truncated: bool,
        pub marker: Option<String>,
    }

    pub struct ListUsersResult {
        #[serde(default)]
        pub users: Members<User>,
        #[serde(default)]
        pub is_truncated: bool,
        pub marker: Option<String>,
    }

    pub struct User {
        pub user_name: String,
        pub user_id: Option<String>,
    }
}

#[derive(Deserialize)]
pub struct CreateAccessKeyResponse {
    #[serde(rename = "CreateAccessKeyResult")]
    pub result: CreateAccessKeyResult,
}

#[derive(Deserialize)]
pub struct CreateAccessKeyResult {
    #[serde(rename = "AccessKey")]
    pub access_key: CreatedAccessKey,
}

/// Holds the secret only until it is moved into a `Secret`; no `Debug`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreatedAccessKey {
    pub user_name: Option<String>,
    pub access_key_id: String,
    pub status: String,
    pub secret_access_key: String,
    pub create_date: Option<String>,
}

wire! {
    pub struct GetAccessKeyLastUsedResult {
        pub user_name: Option<String>,
        pub access_key_last_used: Option<AccessKeyLastUsed>,
    }

    pub struct AccessKeyLastUsed {
        pub last_used_date: Option<String>,
        pub service_name: Option<String>,
        pub region: Option<String>,
    }

    pub struct GetCallerIdentityResult {
        pub user_id: Option<String>,
        pub account: Option<String>,
        pub arn: Option<String>,
    }

    /// STS AssumeRole: `AssumeRoleResult/Credentials` (the assumed user is not needed).
    pub struct AssumeRoleResult {
        pub credentials: TemporaryCredentials,
    }

    /// Temporary credentials; `Debug` shows neither the secret nor the token.
    pub struct TemporaryCredentials {
        pub access_key_id: String,
        pub secret_access_key: crate::model::Secret,
        pub session_token: crate::model::Secret,
        pub expiration: String,
    }

    /// Organizations ListAccounts (JSON 1.1): one page.
    pub struct ListAccountsResponse {
        #[serde(default)]
        pub accounts: Vec<OrgAccountWire>,
        pub next_token: Option<String>,
    }

    pub struct OrgAccountWire {
        pub id: String,
        /// `arn:aws:organizations::<management account>:account/o-…/<id>`
        pub arn: Option<String>,
        pub name: Option<String>,
        /// `ACTIVE|SUSPENDED|PENDING_CLOSURE` (to be retired in favour of `State`).
        pub status: Option<String>,
        /// `PENDING_ACTIVATION|ACTIVE|SUSPENDED|PENDING_CLOSURE|CLOSED`
        pub state: Option<String>,
    }
}

/// A JSON 1.1 error: `{"__type": "[namespace#]Code", "Message": "…"}`.
#[derive(Debug, Deserialize)]
pub struct JsonError {
    #[serde(rename = "__type")]
    pub kind: String,
    #[serde(alias = "message")]
    #[serde(rename = "Message")]
    pub message: Option<String>,
}

wire! {
    pub struct GetAccessKeyInfoResult {
        pub account: Option<String>,
    }

    pub struct GenerateCredentialReportResult {
        /// `STARTED`, `INPROGRESS` or `COMPLETE`.
        pub state: Option<String>,
    }

    pub struct GetCredentialReportResult {
        /// Base64 of the CSV.
        pub content: Option<String>,
        pub generated_time: Option<String>,
    }
}

/// The credential report's CSV (IAM User Guide, "Getting credential reports"): one row per
/// user, the root as `<root_account>`; per key slot N (1, 2) `access_key_N_active`,
/// `_last_rotated` (its creation, `N/A` for no key), `_last_used_date`, `_last_used_region`,
/// `_last_used_service` (`N/A` when never used). Rows are keyed by the user names our
/// records carry (`root` for the root row).
pub fn parse_credential_report(csv_text: &[u8], root: &str) -> Result<ReportUsers, String> {
    let mut users = ReportUsers::new();
    for (name, cells) in report::read_rows(csv_text)? {
        let cell = |column: &str| cells.get(column).map(String::as_str);
        let known = |name: &str| {
            cell(name).filter(|v| {
                !v.is_empty() && !matches!(*v, "N/A" | "not_supported" | "no_information")
            })
        };
        let mut slots = Vec::new();
        for n in 1..=2 {
            let Some(created_at) =
                known(&format!("access_key_{n}_last_rotated")).and_then(parse_rfc3339)
            else {
                continue;
            };
            let date = cell(&format!("access_key_{n}_last_used_date")).unwrap_or("N/A");
            let last_used = match date {
                "N/A" | "" => ReportUse::Never,
                value => match parse_rfc3339(value) {
                    Some(at) => ReportUse::At {
                        at,
                        service: known(&format!("access_key_{n}_last_used_service"))
                            .map(str::to_string),
                        region: known(&format!("access_key_{n}_last_used_region"))
                            .map(str::to_string),
                    },
                    None => ReportUse::Unknown,
                },
            };
            slots.push(ReportSlot {
                active: cell(&format!("access_key_{n}_active")) == Some("true"),
                created_at,
                last_used,
            });
        }
        let name = if name == "<root_account>" {
            root
        } else {
            &name
        };
        users.insert(name.to_string(), slots);
    }
    Ok(users)
}

/// The parts of an error answer. AWS nests `<Error>` in `<ErrorResponse>` (moto's auth errors
/// add an `<Errors>` level), so this reads the first `Code`, `Message` and `RequestId` anywhere.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ErrorBody {
    pub code: Option<String>,
    pub message: Option<String>,
    pub request_id: Option<String>,
}

pub fn parse_error(body: &[u8]) -> Option<ErrorBody> {
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut out = ErrorBody::default();
    let mut current: Option<Vec<u8>> = None;
    let mut saw_error_root = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(start)) => {
                let name = start.local_name().as_ref().to_vec();
                if name == b"ErrorResponse" || name == b"Error" {
                    saw_error_root = true;
                }
                current = Some(name);
            }
            Ok(Event::Text(text)) => {
                let Some(name) = current.as_deref() else {
                    continue;
                };
                let Ok(value) = text.unescape() else { continue };
                let value = value.trim().to_string();
                let slot = match name {
                    b"Code" => &mut out.code,
                    b"Message" => &mut out.message,
                    b"RequestId" => &mut out.request_id,
                    _ => continue,
                };
                if slot.is_none() && !value.is_empty() {
                    *slot = Some(value);
                }
            }
            Ok(Event::End(_)) => current = None,
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    (saw_error_root && out.code.is_some()).then_some(out)
}

/// Parses a success answer into its wire type.
pub fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, String> {
    let text = std::str::from_utf8(body).map_err(|_| "answer is not UTF-8".to_string())?;
    quick_xml::de::from_str(text).map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_list_access_keys() {
        let xml = r#"<ListAccessKeysResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
<ListAccessKeysResult><UserName>alice</UserName><AccessKeyMetadata>
<member><UserName>alice</UserName><AccessKeyId>AKIA1</AccessKeyId><Status>Active</Status><CreateDate>2024-01-02T03:04:05Z</CreateDate></member>
<member><UserName>alice</UserName><AccessKeyId>AKIA2</AccessKeyId><Status>Inactive</Status><CreateDate>2024-01-03T03:04:05.123Z</CreateDate></member>
</AccessKeyMetadata><IsTruncated>true</IsTruncated><Marker>m+1/=</Marker></ListAccessKeysResult>
<ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></ListAccessKeysResponse>"#;
        let parsed: ListAccessKeysResponse = parse(xml.as_bytes()).unwrap();
        assert_eq!(parsed.result.access_key_metadata.member.len(), 2);
        assert_eq!(
            parsed.result.access_key_metadata.member[1].status,
            "Inactive"
        );
        assert!(parsed.result.is_truncated);
        assert_eq!(parsed.result.marker.as_deref(), Some("m+1/="));
    }

    #[test]
    fn parses_empty_lists() {
        let xml = "<ListAccessKeysResponse><ListAccessKeysResult><AccessKeyMetadata/></ListAccessKeysResult></ListAccessKeysResponse>";
        let parsed: ListAccessKeysResponse = parse(xml.as_bytes()).unwrap();
        assert!(parsed.result.access_key_metadata.member.is_empty());
        assert!(!parsed.result.is_truncated);
        let xml = "<ListUsersResponse><ListUsersResult><IsTruncated>false</IsTruncated></ListUsersResult></ListUsersResponse>";
        let parsed: ListUsersResponse = parse(xml.as_bytes()).unwrap();
        assert!(parsed.result.users.member.is_empty());
    }

    #[test]
    fn parses_a_credential_report() {
        let csv = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated
<root_account>,arn:aws:iam::123456789012:root,2020-01-01T00:00:00+00:00,not_supported,2021-01-01T00:00:00+00:00,not_supported,not_supported,true,true,2020-02-01T00:00:00+00:00,2026-11-01T10:00:00+00:00,us-east-1,iam,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
alice,arn:aws:iam::123456789012:user/alice,2020-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2024-01-02T03:04:05+00:00,N/A,N/A,N/A,false,2024-03-02T03:04:05+00:00,2026-01-01T00:00:00+00:00,eu-west-1,not_supported,false,N/A,false,N/A
carol,arn:aws:iam::123456789012:user/carol,2020-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
";
        use crate::providers::report::ReportUse;
        let users = parse_credential_report(csv.as_bytes(), "<root>").unwrap();
        assert_eq!(users.len(), 3);
        assert!(users["carol"].is_empty());
        let root = &users["<root>"];
        assert_eq!(root.len(), 1);
        assert!(matches!(&root[0].last_used, ReportUse::At { service: Some(s), .. } if s == "iam"));
        let alice = &users["alice"];
        assert_eq!(alice.len(), 2);
        assert!(alice[0].active && !alice[1].active);
        assert_eq!(alice[0].last_used, ReportUse::Never);
        // A use whose service the report does not give (moto's "not_supported").
        assert!(matches!(
            &alice[1].last_used,
            ReportUse::At {
                service: None,
                region: Some(_),
                ..
            }
        ));
        assert!(parse_credential_report(b"name,arn\nx,y\n", "<root>").is_err());
    }

    #[test]
    fn parses_never_used_last_used() {
        let xml = "<GetAccessKeyLastUsedResponse><GetAccessKeyLastUsedResult><UserName>a</UserName><AccessKeyLastUsed><ServiceName>N/A</ServiceName><Region>N/A</Region></AccessKeyLastUsed></GetAccessKeyLastUsedResult></GetAccessKeyLastUsedResponse>";
        let parsed: GetAccessKeyLastUsedResponse = parse(xml.as_bytes()).unwrap();
        let used = parsed.result.access_key_last_used.unwrap();
        assert!(used.last_used_date.is_none());
        assert_eq!(used.service_name.as_deref(), Some("N/A"));
    }

    #[test]
    fn parses_both_error_shapes() {
        let iam = r#"<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The user with name nobody cannot be found.</Message></Error><RequestId>abc</RequestId></ErrorResponse>"#;
        let parsed = parse_error(iam.as_bytes()).unwrap();
        assert_eq!(parsed.code.as_deref(), Some("NoSuchEntity"));
        assert_eq!(parsed.request_id.as_deref(), Some("abc"));
        let moto = r#"<?xml version="1.0" encoding="utf-8"?>
<ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code><Message>bad &amp; wrong</Message><Type>Sender</Type></Error></Errors></ErrorResponse>"#;
        let parsed = parse_error(moto.as_bytes()).unwrap();
        assert_eq!(parsed.code.as_deref(), Some("SignatureDoesNotMatch"));
        assert_eq!(parsed.message.as_deref(), Some("bad & wrong"));
        assert!(parse_error(b"<html>500</html>").is_none());
        assert!(parse_error(b"\xff\xfe").is_none());
    }
}
