//! The normalized records every provider produces and every command consumes.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// `Display` as the type's `as_str`: the name records, flags and messages use.
macro_rules! display_as_str {
    ($($ty:ty),*) => {$(
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}
pub(crate) use display_as_str;

display_as_str!(ProviderKind, KeyStatus);

/// The four clouds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    Aws,
    Tencent,
    Alibaba,
    Huawei,
}

impl ProviderKind {
    pub const ALL: [ProviderKind; 4] = [
        ProviderKind::Aws,
        ProviderKind::Tencent,
        ProviderKind::Alibaba,
        ProviderKind::Huawei,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Aws => "aws",
            ProviderKind::Tencent => "tencent",
            ProviderKind::Alibaba => "alibaba",
            ProviderKind::Huawei => "huawei",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "aws" => Some(ProviderKind::Aws),
            "tencent" | "tencentcloud" | "qcloud" => Some(ProviderKind::Tencent),
            "alibaba" | "aliyun" | "alibabacloud" => Some(ProviderKind::Alibaba),
            "huawei" | "huaweicloud" => Some(ProviderKind::Huawei),
            _ => None,
        }
    }

    /// The cloud a key id belongs to, when its prefix tells (Huawei AKs have none).
    pub fn from_key_id(access_key_id: &str) -> Option<Self> {
        if access_key_id.starts_with("AKIA") || access_key_id.starts_with("ASIA") {
            Some(ProviderKind::Aws)
        } else if access_key_id.starts_with("LTAI") || access_key_id.starts_with("STS.") {
            Some(ProviderKind::Alibaba)
        } else if access_key_id.starts_with("AKID") || access_key_id.starts_with("IKID") {
            Some(ProviderKind::Tencent)
        } else {
            None
        }
    }
}

/// A secret string: zeroized on drop, printed as `***` by `Debug` and `Display`.
/// The only way to read it is [`Secret::expose`], so every use is visible in the code.
/// Read from a cloud's answer as the string it is.
#[derive(Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(from = "String")]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Zeroizing::new(value.into()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

/// Whether a key may sign requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    Active,
    Inactive,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Inactive => "inactive",
        }
    }

    /// A status as the clouds write it (`Active`, Huawei's `active`), in any case; `None`
    /// for any other word (`providers::key_status` makes that an error).
    pub fn from_wire(status: &str) -> Option<Self> {
        match status.to_ascii_lowercase().as_str() {
            "active" => Some(KeyStatus::Active),
            "inactive" => Some(KeyStatus::Inactive),
            _ => None,
        }
    }

    /// The form AWS, Tencent and Alibaba take: `Active`, `Inactive`.
    pub fn as_wire(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::Inactive => "Inactive",
        }
    }
}

/// How a record names an account's root identity (AWS root user, Tencent/Alibaba main account,
/// Huawei account). A display label only: it must never reach the wire as a user name; providers
/// test [`UserRef::is_root`] and send the form their cloud documents for the account's own keys.
pub const ROOT_USER: &str = "<root>";

/// A user as named on the command line or returned by the cloud: `name` is the user name
/// (or whatever the operator typed), `id` the cloud's own id once known (AWS UserId,
/// Tencent uin, Alibaba UserId, Huawei user_id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct UserRef {
    pub name: String,
    pub id: Option<String>,
}

impl UserRef {
    /// A user as typed by the operator: the provider resolves it (by name or id).
    pub fn from_arg(value: &str) -> Self {
        UserRef {
            name: value.to_string(),
            id: None,
        }
    }

    /// The account's root identity (see [`ROOT_USER`]).
    pub fn root() -> Self {
        UserRef::from_arg(ROOT_USER)
    }

    /// Whether this names the account's root identity rather than a user.
    pub fn is_root(&self) -> bool {
        self.name == ROOT_USER
    }
}

/// A key to act on: its id and, when not the caller's own, its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRef {
    pub access_key_id: String,
    pub user: Option<UserRef>,
}

/// When and where a key was last used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LastUsed {
    pub at: Option<DateTime<Utc>>,
    pub service: Option<String>,
    pub region: Option<String>,
    /// The cloud reports a day, not a time (Tencent): `at` is that day's start, UTC+8.
    pub date_only: bool,
    /// Read from the account's credential report made at this time (AWS, Alibaba), which may
    /// be hours old, rather than asked of the key itself.
    pub as_of: Option<DateTime<Utc>>,
}

/// A member account of an organization, as its management account lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgAccount {
    pub id: String,
    pub name: Option<String>,
    /// Whether the account can be used now (AWS `State` ACTIVE).
    pub active: bool,
    /// The organization's management account, when the listing names it.
    pub management: Option<String>,
}

/// The identity behind a profile's credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    pub provider: ProviderKind,
    pub profile: String,
    pub account_id: Option<String>,
    /// User name, or None for a root account or a role session.
    pub user: Option<String>,
    pub user_id: Option<String>,
    pub arn: Option<String>,
    /// `user`, `root` or `role`.
    #[serde(rename = "type")]
    pub identity_type: IdentityType,
    /// The key id the profile signs with.
    pub access_key_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityType {
    User,
    Root,
    Role,
}

/// The normalized key record of DESIGN.md.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyRecord {
    pub provider: ProviderKind,
    pub profile: String,
    pub account_id: Option<String>,
    pub user: Option<String>,
    pub user_id: Option<String>,
    pub access_key_id: String,
    pub status: KeyStatus,
    #[serde(with = "rfc3339_opt")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(with = "rfc3339_opt")]
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_used_service: Option<String>,
    pub last_used_region: Option<String>,
    /// Present (and `"date"`) only when the cloud reports the day of last use, not the time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_precision: Option<&'static str>,
    /// Present only when last use comes from the account's credential report: when that
    /// report was made (it may be hours old; `--exact` asks each key instead).
    #[serde(skip_serializing_if = "Option::is_none", with = "rfc3339_opt")]
    pub last_used_as_of: Option<DateTime<Utc>>,
    pub age_days: Option<i64>,
    pub idle_days: Option<i64>,
}

impl KeyRecord {
    /// A record with the fields every provider knows; the rest filled in later.
    pub fn new(
        provider: ProviderKind,
        profile: &str,
        access_key_id: String,
        status: KeyStatus,
    ) -> Self {
        KeyRecord {
            provider,
            profile: profile.to_string(),
            account_id: None,
            user: None,
            user_id: None,
            access_key_id,
            status,
            created_at: None,
            last_used_at: None,
            last_used_service: None,
            last_used_region: None,
            last_used_precision: None,
            last_used_as_of: None,
            age_days: None,
            idle_days: None,
        }
    }

    pub fn key_ref(&self) -> KeyRef {
        KeyRef {
            access_key_id: self.access_key_id.clone(),
            user: self.user.as_ref().map(|name| UserRef {
                name: name.clone(),
                id: self.user_id.clone(),
            }),
        }
    }

    pub fn apply_last_used(&mut self, last_used: LastUsed) {
        self.last_used_at = last_used.at;
        self.last_used_service = last_used.service;
        self.last_used_region = last_used.region;
        self.last_used_precision = last_used.date_only.then_some("date");
        self.last_used_as_of = last_used.as_of;
    }

    /// Fills `age_days` and `idle_days` as of `now` (idle counts from creation when never used).
    pub fn compute_ages(&mut self, now: DateTime<Utc>) {
        self.age_days = self.created_at.map(|t| whole_days(now, t));
        self.idle_days = self
            .last_used_at
            .or(self.created_at)
            .map(|t| whole_days(now, t));
    }
}

pub(crate) fn whole_days(now: DateTime<Utc>, then: DateTime<Utc>) -> i64 {
    (now - then).num_days().max(0)
}

/// What kind of self-expiring credential an [`ExpiringCredential`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CredentialKind {
    /// The long-term AK/SK uploaded to a Huawei Cloud project for its CCE clusters.
    CceAksk,
}

/// A credential other than a user's access key that expires by itself and so is audited too
/// (today: Huawei CCE's uploaded long-term AK/SK of the profile's project).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiringCredential {
    pub kind: CredentialKind,
    pub provider: ProviderKind,
    pub profile: String,
    pub account_id: Option<String>,
    pub project_id: Option<String>,
    pub expired: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: Option<DateTime<Utc>>,
}

/// A freshly created key: its record and the secret the cloud shows only once.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub record: KeyRecord,
    pub secret: Secret,
}

/// Formats times as RFC 3339 UTC with a `Z` and whole seconds.
pub fn format_time(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub(crate) mod rfc3339_opt {
    use chrono::{DateTime, Utc};
    use serde::Serializer;

    pub fn serialize<S: Serializer>(
        value: &Option<DateTime<Utc>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(time) => serializer.serialize_str(&super::format_time(time)),
            None => serializer.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn secret_never_prints() {
        let secret = Secret::new("wJalrXUtnFEMI");
        assert_eq!(format!("{secret} {secret:?}"), "*** ***");
        assert_eq!(secret.expose(), "wJalrXUtnFEMI");
        let new_key = NewKey {
            record: KeyRecord::new(ProviderKind::Aws, "p", "AKIA1".into(), KeyStatus::Active),
            secret,
        };
        assert!(!format!("{new_key:?}").contains("wJalr"));
    }

    #[test]
    fn key_prefixes_tell_the_cloud() {
        use ProviderKind::{Alibaba, Aws, Tencent};
        for (id, kind) in [
            ("AKIAIOSFODNN7EXAMPLE", Some(Aws)),
            ("ASIAXXXX", Some(Aws)),
            ("LTAI5tXXXX", Some(Alibaba)),
            ("STS.NUxx", Some(Alibaba)),
            ("AKIDz8krbsJ5", Some(Tencent)),
            ("IKIDabc", Some(Tencent)),
            ("HPUAXXXXXXXXXXXXXXXX", None),
        ] {
            assert_eq!(ProviderKind::from_key_id(id), kind, "{id}");
        }
    }

    #[test]
    fn ages_count_whole_days_and_idle_falls_back_to_creation() {
        let now = Utc.with_ymd_and_hms(2024, 6, 21, 0, 0, 0).unwrap();
        let mut record = KeyRecord::new(ProviderKind::Aws, "p", "AKIA1".into(), KeyStatus::Active);
        record.created_at = Some(Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap());
        record.compute_ages(now);
        assert_eq!(record.age_days, Some(170));
        assert_eq!(record.idle_days, Some(170));
        record.last_used_at = Some(Utc.with_ymd_and_hms(2024, 6, 1, 0, 0, 0).unwrap());
        record.compute_ages(now);
        assert_eq!(record.idle_days, Some(20));
    }

    #[test]
    fn record_serializes_as_the_contract_says() {
        let mut record =
            KeyRecord::new(ProviderKind::Aws, "prod", "AKIA1".into(), KeyStatus::Active);
        record.created_at = Some(Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap());
        let value = serde_json::to_value(&record).unwrap();
        assert_eq!(value["provider"], "aws");
        assert_eq!(value["status"], "active");
        assert_eq!(value["created_at"], "2024-01-02T03:04:05Z");
        assert!(value["last_used_at"].is_null());
        assert!(value.get("last_used_precision").is_none());
    }
}
