//! RAM 2015-05-01 and STS 2015-04-01 wire types (RPC style, JSON answers). Nothing here leaves
//! the `alibaba` folder.
//!
//! Every field is decoded as optional: the docs mark few as required and the service omits
//! empty ones. Lists come wrapped (`{"AccessKeys":{"AccessKey":[…]}}`); an empty one may have
//! the inner key missing, `[]` or `null`, and all of those read as empty.

use serde::de::{DeserializeOwned, Deserializer};
use serde::Deserialize;
use serde_json::Value;

use crate::providers::report::{self, ReportSlot, ReportUse, ReportUsers};
use crate::time::parse_rfc3339;

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

wire! {
    /// STS AssumeRole: `Credentials` (the assumed user is not needed).
    pub struct AssumeRoleResponse {
        pub credentials: TemporaryCredentials,
    }

    /// Temporary credentials (`STS.` key id); `Debug` shows neither the secret nor the token.
    pub struct TemporaryCredentials {
        pub access_key_id: String,
        #[serde(deserialize_with = "secret")]
        pub access_key_secret: crate::model::Secret,
        #[serde(deserialize_with = "secret")]
        pub security_token: crate::model::Secret,
        pub expiration: String,
    }
}

fn secret<'de, D: Deserializer<'de>>(d: D) -> Result<crate::model::Secret, D::Error> {
    String::deserialize(d).map(crate::model::Secret::new)
}

wire! {
    pub struct AccessKey {
        pub access_key_id: String,
        pub status: Option<String>,
        pub create_date: Option<String>,
    }

    pub struct ListAccessKeysResponse {
        pub access_keys: Option<Value>,
    }
}

impl ListAccessKeysResponse {
    pub fn keys(&self) -> Result<Vec<AccessKey>, String> {
        unwrap_list(&self.access_keys, "AccessKey")
    }
}

wire! {
    pub struct User {
        pub user_name: String,
        #[serde(default, deserialize_with = "lenient_string")]
        pub user_id: Option<String>,
        pub display_name: Option<String>,
    }

    pub struct ListUsersResponse {
        #[serde(default, deserialize_with = "lenient_bool")]
        pub is_truncated: bool,
        pub marker: Option<String>,
        pub users: Option<Value>,
    }
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

wire! {
    pub struct GetAccessKeyLastUsedResponse {
        pub access_key_last_used: Option<AccessKeyLastUsed>,
    }

    pub struct AccessKeyLastUsed {
        /// Absent, `null` or `""` for a key never used.
        pub last_used_date: Option<String>,
    }

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
}

/// Resource Directory (product `resourcemanager`): only its account listing is used here.
pub const RESOURCE_MANAGER_VERSION: &str = "2020-03-31";

/// ListAccounts: one page of the resource directory's members and how many there are.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAccountsResponse {
    #[serde(default, deserialize_with = "lenient_u64")]
    pub total_count: Option<u64>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub page_size: Option<u64>,
    pub accounts: Option<Value>,
}

impl ListAccountsResponse {
    pub fn accounts(&self) -> Result<Vec<DirectoryAccount>, String> {
        unwrap_list(&self.accounts, "Account")
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DirectoryAccount {
    #[serde(default, deserialize_with = "lenient_string")]
    pub account_id: Option<String>,
    pub display_name: Option<String>,
    /// `CreateSuccess`, `InviteSuccess`, `PromoteSuccess`, `PromoteVerifying`, …
    pub status: Option<String>,
}

/// Counts the SDK models as integers, read from a number or a string.
fn lenient_u64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// IMS, the newer identity API beside RAM: only its credential report is used here.
pub const IMS_VERSION: &str = "2019-08-15";

wire! {
    pub struct GenerateCredentialReportResponse {
        /// `STARTED`, `INPROGRESS` or `COMPLETED` (IMS API reference, GenerateCredentialReport).
        pub state: Option<String>,
    }

    pub struct GetCredentialReportResponse {
        /// Base64 of (a page of) the CSV.
        pub content: Option<String>,
        pub generated_time: Option<String>,
        /// Documented as a string (`"true"`); a JSON bool is accepted too.
        #[serde(default, deserialize_with = "lenient_bool")]
        pub is_truncated: bool,
        pub next_token: Option<String>,
    }
}

/// The key slots of a credential report row, in the order the CSV gives them: two for the
/// 2-key limit, three more for accounts that held more keys before it.
const REPORT_SLOTS: [&str; 5] = [
    "access_key_1",
    "access_key_2",
    "additional_access_key_1",
    "additional_access_key_2",
    "additional_access_key_3",
];

/// The row's user as our records name it: the first row is the account itself (`<root>`),
/// the others give the RAM user's logon name `name@<alias>.onaliyun.com`. The domain part has
/// no `@`, so the name is what comes before the last one.
fn report_user(cell: &str, root: &str) -> String {
    match cell {
        "<root>" => root.to_string(),
        upn => upn
            .rsplit_once('@')
            .map_or(upn, |(name, _)| name)
            .to_string(),
    }
}

/// The user credential report's CSV (RAM guide, "Generate and download user credential
/// reports"): per slot `<slot>_exist`, `_active` (`TRUE`/`FALSE`), `_last_rotated` (when the
/// key was made) and `_last_used`; `N/A` or `-` where there is nothing. Rows are keyed by the
/// user names our records carry (`root` for the account's row).
pub fn parse_credential_report(csv_text: &[u8], root: &str) -> Result<ReportUsers, String> {
    let mut users = ReportUsers::new();
    for (name, cells) in report::read_rows(csv_text)? {
        let cell = |column: &str| cells.get(column).map(String::as_str);
        let none = |v: &str| v.is_empty() || v == "N/A" || v == "-";
        let mut slots = Vec::new();
        for slot in REPORT_SLOTS {
            let exist = cell(&format!("{slot}_exist"));
            let rotated = cell(&format!("{slot}_last_rotated")).filter(|v| !none(v));
            let created_at = rotated.and_then(parse_rfc3339);
            // A slot holds a key when the report says so or names its creation time; when
            // unsure, say it holds one: the user's keys are then listed, never skipped.
            let holds = exist.is_some_and(|v| v.eq_ignore_ascii_case("TRUE")) || rotated.is_some();
            if !holds {
                continue;
            }
            let last_used = match cell(&format!("{slot}_last_used")) {
                Some(v) if v == "N/A" || v == "-" => ReportUse::Never,
                Some(v) => parse_rfc3339(v).map_or(ReportUse::Unknown, |at| ReportUse::At {
                    at,
                    service: None,
                    region: None,
                }),
                None => ReportUse::Unknown,
            };
            slots.push(ReportSlot {
                active: cell(&format!("{slot}_active"))
                    .is_some_and(|v| v.eq_ignore_ascii_case("TRUE")),
                // A key whose creation time the report does not give matches no record (none
                // is made at the earliest representable time) and is asked about itself.
                created_at: created_at.unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC),
                last_used,
            });
        }
        let name = report_user(&name, root);
        if !name.is_empty() {
            users.entry(name).or_default().extend(slots);
        }
    }
    Ok(users)
}

/// Joins the decoded CSV pages of a truncated report into one CSV. Whether a later page
/// repeats the header line is not documented: a repeat of the first page's header is dropped.
pub fn join_report_pages(pages: &[Vec<u8>]) -> Vec<u8> {
    fn first_line(page: &[u8]) -> &[u8] {
        let end = page.iter().position(|&b| b == b'\n').unwrap_or(page.len());
        page[..end].strip_suffix(b"\r").unwrap_or(&page[..end])
    }
    let mut joined: Vec<u8> = Vec::new();
    let header = pages
        .first()
        .map(|p| first_line(p).to_vec())
        .unwrap_or_default();
    for (i, page) in pages.iter().enumerate() {
        let mut page: &[u8] = page;
        if i > 0 && !header.is_empty() && first_line(page) == header.as_slice() {
            let end = page
                .iter()
                .position(|&b| b == b'\n')
                .map_or(page.len(), |n| n + 1);
            page = &page[end..];
        }
        if !joined.is_empty() && !joined.ends_with(b"\n") && !page.is_empty() {
            joined.push(b'\n');
        }
        joined.extend_from_slice(page);
    }
    joined
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

    const REPORT_HEADER: &str = "user,user_creation_time,user_last_logon,password_exist,password_active,password_last_changed,password_next_rotation,mfa_active,access_key_1_exist,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used,access_key_2_exist,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used,additional_access_key_1_exist,additional_access_key_1_active,additional_access_key_1_last_rotated,additional_access_key_1_last_used,additional_access_key_2_exist,additional_access_key_2_active,additional_access_key_2_last_rotated,additional_access_key_2_last_used,additional_access_key_3_exist,additional_access_key_3_active,additional_access_key_3_last_rotated,additional_access_key_3_last_used";
    const NO_EXTRA: &str = "FALSE,N/A,N/A,N/A,FALSE,N/A,N/A,N/A,FALSE,N/A,N/A,N/A";

    #[test]
    fn parses_a_credential_report() {
        use crate::providers::report::ReportUse;
        use crate::time::parse_rfc3339;
        let csv = format!(
            "{REPORT_HEADER}
<root>,2019-01-01T00:00:00Z,2026-11-01T10:00:00Z,TRUE,TRUE,N/A,N/A,TRUE,TRUE,TRUE,2019-02-01T00:00:00Z,2026-11-02T03:04:05Z,FALSE,N/A,N/A,N/A,{NO_EXTRA}
alice@example.onaliyun.com,2020-01-01T00:00:00Z,-,FALSE,N/A,N/A,N/A,FALSE,TRUE,TRUE,2024-01-02T03:04:05Z,N/A,TRUE,FALSE,2024-03-02T03:04:05Z,-,{NO_EXTRA}
ci.bot@corp@old.onaliyun.com,2016-01-01T00:00:00Z,-,FALSE,N/A,N/A,N/A,FALSE,TRUE,TRUE,2016-01-02T00:00:00Z,2026-01-01T00:00:00Z,TRUE,TRUE,2016-01-03T00:00:00Z,N/A,TRUE,FALSE,2016-01-04T00:00:00Z,2017-05-05T05:05:05Z,TRUE,TRUE,2016-01-05T00:00:00Z,not a time,FALSE,N/A,N/A,N/A
carol@example.onaliyun.com,2020-01-01T00:00:00Z,-,FALSE,N/A,N/A,N/A,FALSE,FALSE,N/A,N/A,N/A,FALSE,-,-,-,{NO_EXTRA}
"
        );
        let users = parse_credential_report(csv.as_bytes(), "<root>").unwrap();
        assert_eq!(users.len(), 4, "{:?}", users.keys());
        let time = |s: &str| parse_rfc3339(s).unwrap();
        // The account's own row.
        let root = &users["<root>"];
        assert_eq!(root.len(), 1);
        assert!(root[0].active);
        assert_eq!(root[0].created_at, time("2019-02-01T00:00:00Z"));
        assert_eq!(
            root[0].last_used,
            ReportUse::At {
                at: time("2026-11-02T03:04:05Z"),
                service: None,
                region: None
            }
        );
        // UPN to user name; N/A and '-' both mean never used.
        let alice = &users["alice"];
        assert_eq!(alice.len(), 2);
        assert!(alice[0].active && !alice[1].active);
        assert_eq!(alice[1].created_at, time("2024-03-02T03:04:05Z"));
        assert_eq!(alice[0].last_used, ReportUse::Never);
        assert_eq!(alice[1].last_used, ReportUse::Never);
        // A name holding '@' keeps it: only the last '@' starts the domain. Keys from before
        // the 2-key limit are in the additional slots; an unreadable time is no answer.
        let old = &users["ci.bot@corp"];
        assert_eq!(old.len(), 4);
        assert_eq!(old[2].created_at, time("2016-01-04T00:00:00Z"));
        assert!(!old[2].active);
        assert!(matches!(old[2].last_used, ReportUse::At { .. }));
        assert_eq!(old[3].last_used, ReportUse::Unknown);
        // A user without keys is known and has none; one not in the report is unknown.
        assert!(users["carol"].is_empty());
        assert!(!users.contains_key("carol@example.onaliyun.com"));
        assert!(parse_credential_report(b"name,arn\nx,y\n", "<root>").is_err());
    }

    #[test]
    fn a_slot_said_to_exist_without_a_time_still_holds_a_key() {
        let csv = format!(
            "{REPORT_HEADER}\ndave@example.onaliyun.com,2020-01-01T00:00:00Z,-,FALSE,N/A,N/A,N/A,FALSE,TRUE,TRUE,-,N/A,FALSE,N/A,N/A,N/A,{NO_EXTRA}\n"
        );
        let users = parse_credential_report(csv.as_bytes(), "<root>").unwrap();
        // Listed (never skipped as keyless), and matched to no record by time.
        assert_eq!(users["dave"].len(), 1);
        assert_eq!(
            users["dave"][0].created_at,
            chrono::DateTime::<chrono::Utc>::MIN_UTC
        );
    }

    #[test]
    fn parses_credential_report_answers() {
        let generated: GenerateCredentialReportResponse =
            parse(br#"{"RequestId":"BBCCA90A-A1F0-4B16-B355-692247197805","State":"STARTED"}"#)
                .unwrap();
        assert_eq!(generated.state.as_deref(), Some("STARTED"));
        let page: GetCredentialReportResponse = parse(br#"{"GeneratedTime":"2020-10-19T15:06:52Z","RequestId":"7A01826E-7601-44B0-B4DF-2B0C509836DE","Content":"OVZWK4RMOVZW****","IsTruncated":"true","NextToken":"EXAMPLE"}"#).unwrap();
        assert!(page.is_truncated);
        assert_eq!(page.next_token.as_deref(), Some("EXAMPLE"));
        assert_eq!(page.generated_time.as_deref(), Some("2020-10-19T15:06:52Z"));
        let last: GetCredentialReportResponse =
            parse(br#"{"RequestId":"r","Content":"","IsTruncated":false}"#).unwrap();
        assert!(!last.is_truncated);
    }

    #[test]
    fn joins_report_pages_with_or_without_a_repeated_header() {
        let pages = |rest: &[&str]| -> Vec<Vec<u8>> {
            let mut all = vec![b"user,x\n<root>,1\n".to_vec()];
            all.extend(rest.iter().map(|p| p.as_bytes().to_vec()));
            all
        };
        let want = b"user,x\n<root>,1\na@d,2\nb@d,3".to_vec();
        assert_eq!(
            join_report_pages(&pages(&["user,x\na@d,2\n", "b@d,3"])),
            want
        );
        assert_eq!(
            join_report_pages(&pages(&["a@d,2", "user,x\r\nb@d,3"])),
            want
        );
        assert_eq!(join_report_pages(&pages(&["a@d,2\n", "b@d,3"])), want);
        assert!(join_report_pages(&[]).is_empty());
    }

    #[test]
    fn odd_reports_are_errors_or_empty_never_panics() {
        for junk in [
            &b""[..],
            b"\xff\xfe,\"",
            b"user\n\"unterminated",
            b"user,access_key_1_exist\n,TRUE\n",
            b"user,access_key_1_last_rotated\n@,2020-01-01T00:00:00Z,extra,cells\n",
        ] {
            let _ = parse_credential_report(junk, "<root>");
            let _ = join_report_pages(&[junk.to_vec(), junk.to_vec()]);
        }
        // A row without a user name is skipped rather than filed under "".
        let users = parse_credential_report(b"user,access_key_1_exist\n,TRUE\n", "<root>").unwrap();
        assert!(users.is_empty());
    }
}
