//! The audit's rules and what it finds.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::{whole_days, ExpiringCredential, KeyRecord, KeyStatus, ProviderKind};

/// An audit rule, in order of severity (worst first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// An uploaded CCE long-term AK/SK has expired.
    CceExpired,
    /// An active key older than the maximum age.
    MaxAge,
    /// An active key unused (or, never used, created) longer than the maximum idle time.
    MaxIdle,
    /// A user with two active keys: a rotation left half done.
    TwoActive,
    /// An active key never used some days after its creation.
    NeverUsed,
    /// An uploaded CCE long-term AK/SK expires soon.
    CceExpiring,
    /// An inactive key unused for a while: delete it (or enable it again).
    InactiveUnused,
}

impl Rule {
    pub const ALL: [Rule; 7] = [
        Rule::CceExpired,
        Rule::MaxAge,
        Rule::MaxIdle,
        Rule::TwoActive,
        Rule::NeverUsed,
        Rule::CceExpiring,
        Rule::InactiveUnused,
    ];

    /// The names, as `-o json` and `--skip` spell them.
    pub const NAMES: [&'static str; 7] = [
        "cce-expired",
        "max-age",
        "max-idle",
        "two-active",
        "never-used",
        "cce-expiring",
        "inactive-unused",
    ];

    pub fn as_str(self) -> &'static str {
        Rule::NAMES[self as usize]
    }

    pub fn parse(name: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|rule| rule.as_str() == name)
    }
}

crate::model::display_as_str!(Rule);

/// One audit finding: the fields of the key record it is about (null where it is about no key,
/// as for the CCE rules, which add `project_id` and `expires_at`), then the rule, a message
/// for people, and whether the allow-list waives it (and why, and until when).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub provider: ProviderKind,
    pub profile: String,
    pub account_id: Option<String>,
    pub user: Option<String>,
    pub user_id: Option<String>,
    pub access_key_id: Option<String>,
    pub status: Option<KeyStatus>,
    #[serde(with = "crate::model::rfc3339_opt")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(with = "crate::model::rfc3339_opt")]
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_used_service: Option<String>,
    pub last_used_region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_precision: Option<&'static str>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "crate::model::rfc3339_opt"
    )]
    pub last_used_as_of: Option<DateTime<Utc>>,
    pub age_days: Option<i64>,
    pub idle_days: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "crate::model::rfc3339_opt"
    )]
    pub expires_at: Option<DateTime<Utc>>,
    pub rule: Rule,
    pub message: String,
    /// Waived by an allow-list entry: reported, but not a failure.
    pub allowed: bool,
    pub allow_reason: Option<String>,
    /// The last day the allow-list entry holds (`None`: no end date, or not allowed).
    pub allow_until: Option<chrono::NaiveDate>,
}

impl Finding {
    /// A finding about nothing yet but its place: the constructors below fill in the rest.
    fn new(provider: ProviderKind, profile: &str, rule: Rule, message: String) -> Self {
        Finding {
            provider,
            profile: profile.to_string(),
            account_id: None,
            user: None,
            user_id: None,
            access_key_id: None,
            status: None,
            created_at: None,
            last_used_at: None,
            last_used_service: None,
            last_used_region: None,
            last_used_precision: None,
            last_used_as_of: None,
            age_days: None,
            idle_days: None,
            project_id: None,
            expires_at: None,
            rule,
            message,
            allowed: false,
            allow_reason: None,
            allow_until: None,
        }
    }

    /// A finding about a key.
    pub fn for_key(record: &KeyRecord, rule: Rule, message: String) -> Self {
        Finding {
            account_id: record.account_id.clone(),
            user: record.user.clone(),
            user_id: record.user_id.clone(),
            access_key_id: Some(record.access_key_id.clone()),
            status: Some(record.status),
            created_at: record.created_at,
            last_used_at: record.last_used_at,
            last_used_service: record.last_used_service.clone(),
            last_used_region: record.last_used_region.clone(),
            last_used_precision: record.last_used_precision,
            last_used_as_of: record.last_used_as_of,
            age_days: record.age_days,
            idle_days: record.idle_days,
            ..Finding::new(record.provider, &record.profile, rule, message)
        }
    }

    /// A finding about a self-expiring credential; its age counts from its creation.
    pub fn for_credential(
        credential: &ExpiringCredential,
        rule: Rule,
        message: String,
        now: DateTime<Utc>,
    ) -> Self {
        Finding {
            account_id: credential.account_id.clone(),
            created_at: credential.created_at,
            age_days: credential.created_at.map(|t| whole_days(now, t)),
            project_id: credential.project_id.clone(),
            expires_at: credential.expires_at,
            ..Finding::new(credential.provider, &credential.profile, rule, message)
        }
    }
}
