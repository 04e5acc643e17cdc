//! The CCE long-term AK/SK status (CheckAKSK, which Huawei marks "to be discarded"), as the
//! normalized record `cloudkeys huawei cce-aksk-status` prints.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::api::CheckAkskResponse;
use crate::error::{Error, Result};
use crate::model::{CredentialKind, ExpiringCredential, ProviderKind};
use crate::time::parse_go_time;

/// The columns, in order, of the CSV/Markdown/table forms.
pub const COLUMNS: [&str; 9] = [
    "provider",
    "profile",
    "project_id",
    "uploaded",
    "expired",
    "expires_in_seconds",
    "expires_at",
    "created_at",
    "updated_at",
];

/// Whether a project's CCE clusters hold an uploaded long-term AK/SK, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CceAkskStatus {
    pub provider: ProviderKind,
    pub profile: String,
    pub project_id: String,
    pub uploaded: bool,
    pub expired: bool,
    pub expires_in_seconds: Option<i64>,
    #[serde(serialize_with = "rfc3339")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "rfc3339")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "rfc3339")]
    pub updated_at: Option<DateTime<Utc>>,
}

fn rfc3339<S: serde::Serializer>(
    value: &Option<DateTime<Utc>>,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    match value {
        Some(time) => serializer.serialize_str(&crate::model::format_time(time)),
        None => serializer.serialize_none(),
    }
}

/// A Go-format date, or `None` when absent or empty. An unparsable one is `None` too, with a
/// warning on stderr: the docs allow odd values there, and one bad date must not lose the
/// rest of the answer.
fn go_time(profile: &str, field: &str, value: Option<&str>) -> Option<DateTime<Utc>> {
    let text = value.map(str::trim).filter(|v| !v.is_empty())?;
    let parsed = parse_go_time(text);
    if parsed.is_none() {
        tracing::warn!(
            "profile {profile}: CheckAKSK {field} '{text}' is not a time; shown as null"
        );
    }
    parsed
}

/// `expiredTime` arrives as a string of digits (a number is accepted too).
fn seconds(value: Option<&serde_json::Value>) -> Result<Option<i64>> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| Error::bad_response(format!("CheckAKSK: expiredTime {n} is not whole"))),
        Some(serde_json::Value::String(text)) if text.trim().is_empty() => Ok(None),
        Some(serde_json::Value::String(text)) => {
            text.trim().parse::<i64>().map(Some).map_err(|_| {
                Error::bad_response(format!("CheckAKSK: expiredTime '{text}' is not a number"))
            })
        }
        Some(other) => Err(Error::bad_response(format!(
            "CheckAKSK: expiredTime {other} is not a number"
        ))),
    }
}

/// The most seconds an expiry may lie ahead or behind: a century. Beyond it the answer is
/// nonsense (or hostile), reported as null with a warning rather than carried into sums.
const MAX_SECONDS: i64 = 100 * 366 * 24 * 3600;

fn plausible(seconds: Option<i64>) -> Option<i64> {
    match seconds {
        Some(s) if s.checked_abs().is_none_or(|s| s > MAX_SECONDS) => {
            tracing::warn!(
                "CheckAKSK: expiredTime {s} seconds is beyond a century; reported as null"
            );
            None
        }
        other => other,
    }
}

impl CceAkskStatus {
    /// The uploaded AK/SK as a credential to audit (`None` when nothing is uploaded). When the
    /// answer gives only the seconds left, the expiry is counted from `now`.
    pub fn expiring_credential(&self, now: DateTime<Utc>) -> Option<ExpiringCredential> {
        self.uploaded.then(|| ExpiringCredential {
            kind: CredentialKind::CceAksk,
            provider: self.provider,
            profile: self.profile.clone(),
            account_id: None,
            project_id: Some(self.project_id.clone()),
            expired: self.expired,
            expires_at: self.expires_at.or_else(|| {
                // Checked: no answer can make the sum overflow (a panic, or a wrap).
                self.expires_in_seconds
                    .and_then(chrono::Duration::try_seconds)
                    .and_then(|left| now.checked_add_signed(left))
            }),
            created_at: self.created_at,
        })
    }

    pub fn from_wire(profile: &str, project_id: &str, wire: CheckAkskResponse) -> Result<Self> {
        Ok(CceAkskStatus {
            provider: ProviderKind::Huawei,
            profile: profile.to_string(),
            project_id: project_id.to_string(),
            uploaded: wire.aksk_upload.unwrap_or(false),
            expired: wire.expired.unwrap_or(false),
            expires_in_seconds: plausible(seconds(wire.expired_time.as_ref())?),
            expires_at: go_time(profile, "expired_date", wire.expired_date.as_deref()),
            created_at: go_time(profile, "create_time", wire.create_time.as_deref()),
            updated_at: go_time(profile, "update_time", wire.update_time.as_deref()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_answer_becomes_a_utc_record() {
        let wire: CheckAkskResponse = serde_json::from_str(
            r#"{"akskUpload": true, "expired": false, "expiredTime": "31469520", "expired_date": "2026-12-07 09:02:00.147 +0000 UTC", "create_time": "2025-04-18 07:56:03.551866 +0000 UTC", "update_time": "2025-12-07 17:02:00.158785 +0800 CST"}"#,
        )
        .unwrap();
        let status = CceAkskStatus::from_wire("hw", "p1", wire).unwrap();
        let value = serde_json::to_value(&status).unwrap();
        assert_eq!(value["provider"], "huawei");
        assert_eq!(value["uploaded"], true);
        assert_eq!(value["expired"], false);
        assert_eq!(value["expires_in_seconds"], 31_469_520);
        assert_eq!(value["expires_at"], "2026-12-07T09:02:00Z");
        assert_eq!(value["created_at"], "2025-04-18T07:56:03Z");
        assert_eq!(value["updated_at"], "2025-12-07T09:02:00Z");
        let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
        assert_eq!(keys, COLUMNS.iter().collect::<Vec<_>>().as_slice());
    }

    #[test]
    fn an_uploaded_aksk_is_a_credential_to_audit() {
        let now = Utc::now();
        let wire: CheckAkskResponse = serde_json::from_str(
            r#"{"akskUpload": true, "expired": false, "expiredTime": "3600"}"#,
        )
        .unwrap();
        let status = CceAkskStatus::from_wire("hw", "p1", wire).unwrap();
        let credential = status.expiring_credential(now).unwrap();
        assert_eq!(credential.kind, CredentialKind::CceAksk);
        assert_eq!(credential.project_id.as_deref(), Some("p1"));
        assert_eq!(
            credential.expires_at,
            Some(now + chrono::Duration::hours(1))
        );
        assert!(!credential.expired);
        let wire: CheckAkskResponse = serde_json::from_str(r#"{"akskUpload": false}"#).unwrap();
        let status = CceAkskStatus::from_wire("hw", "p1", wire).unwrap();
        assert!(status.expiring_credential(now).is_none());
    }

    #[test]
    fn nothing_uploaded_and_bad_values() {
        let wire: CheckAkskResponse = serde_json::from_str(r#"{"akskUpload": false}"#).unwrap();
        let status = CceAkskStatus::from_wire("hw", "p1", wire).unwrap();
        assert!(!status.uploaded);
        assert_eq!(status.expires_at, None);
        assert_eq!(status.expires_in_seconds, None);
        let wire: CheckAkskResponse =
            serde_json::from_str(r#"{"expiredTime": 12, "expired_date": ""}"#).unwrap();
        assert_eq!(
            CceAkskStatus::from_wire("hw", "p1", wire)
                .unwrap()
                .expires_in_seconds,
            Some(12)
        );
        // An unparsable time is null; the rest of the answer stays.
        let wire: CheckAkskResponse = serde_json::from_str(
            r#"{"akskUpload": true, "expiredTime": "60", "expired_date": "tomorrow", "create_time": "2025-04-18 07:56:03 +0000 UTC"}"#,
        )
        .unwrap();
        let status = CceAkskStatus::from_wire("hw", "p1", wire).unwrap();
        assert!(status.uploaded);
        assert_eq!(status.expires_at, None);
        assert_eq!(status.expires_in_seconds, Some(60));
        assert_eq!(
            status.created_at.map(|t| t.timestamp()),
            Some(1_744_962_963)
        );
        // Absurd but well-formed: null, never a panic or an overflowing sum.
        let now = Utc::now();
        for absurd in [
            i64::MAX.to_string(),
            i64::MIN.to_string(),
            "9223372036854775".to_string(),
            (MAX_SECONDS + 1).to_string(),
        ] {
            let wire: CheckAkskResponse = serde_json::from_str(&format!(
                r#"{{"akskUpload": true, "expiredTime": "{absurd}"}}"#
            ))
            .unwrap();
            let status = CceAkskStatus::from_wire("hw", "p1", wire).unwrap();
            assert_eq!(status.expires_in_seconds, None, "{absurd}");
            assert_eq!(status.expiring_credential(now).unwrap().expires_at, None);
        }
        // Even a status built by hand cannot overflow the sum.
        let mut status = CceAkskStatus::from_wire(
            "hw",
            "p1",
            serde_json::from_str(r#"{"akskUpload": true}"#).unwrap(),
        )
        .unwrap();
        for s in [i64::MAX, i64::MIN, 9_223_372_036_854_775] {
            status.expires_in_seconds = Some(s);
            assert_eq!(status.expiring_credential(now).unwrap().expires_at, None);
        }
        for bad in [r#"{"expiredTime": "soon"}"#, r#"{"expiredTime": [1]}"#] {
            let wire: CheckAkskResponse = serde_json::from_str(bad).unwrap();
            let err = CceAkskStatus::from_wire("hw", "p1", wire).unwrap_err();
            assert_eq!(err.exit_code(), 4, "{bad}");
        }
    }
}
