//! The audit policy: thresholds, rules to skip and the allow-list, applied to what a scan read.
//! No I/O and no command-line types: the command builds it from flags, config and defaults.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};

use super::finding::{Finding, Rule};
use crate::model::{CredentialKind, ExpiringCredential, KeyRecord, KeyStatus};

/// The thresholds, in whole days; a key or credential past one is a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Active keys older than this.
    pub max_age_days: i64,
    /// Active keys unused (never used: since their creation) longer than this.
    pub max_idle_days: i64,
    /// Active keys never used this long after their creation.
    pub never_used_days: i64,
    /// Inactive keys unused longer than this.
    pub inactive_days: i64,
    /// CCE long-term AK/SK expiring within this.
    pub cce_warn_days: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_age_days: 90,
            max_idle_days: 90,
            never_used_days: 7,
            inactive_days: 30,
            cce_warn_days: 30,
        }
    }
}

/// One allow-list entry in force or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allow {
    pub access_key_id: String,
    pub reason: String,
    /// The last day the entry holds; `None` for no end.
    pub until: Option<NaiveDate>,
}

/// Thresholds, rules to skip and the allow-list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    pub limits: Limits,
    pub skip: BTreeSet<Rule>,
    pub allow: Vec<Allow>,
}

impl Policy {
    /// Whether `rule` is checked (not skipped).
    pub fn checks(&self, rule: Rule) -> bool {
        !self.skip.contains(&rule)
    }

    /// Entries whose end date has passed (`today` is after `until`).
    pub fn expired_allows(&self, today: NaiveDate) -> Vec<&Allow> {
        self.allow
            .iter()
            .filter(|a| a.until.is_some_and(|until| today > until))
            .collect()
    }

    /// All findings about these keys and credentials, allow-list applied, worst first.
    pub fn evaluate(
        &self,
        records: &[KeyRecord],
        credentials: &[ExpiringCredential],
        now: DateTime<Utc>,
    ) -> Vec<Finding> {
        let mut findings = Vec::new();
        for record in records {
            self.check_key(record, &mut findings);
        }
        if self.checks(Rule::TwoActive) {
            self.check_rotations(records, &mut findings);
        }
        for credential in credentials {
            self.check_credential(credential, now, &mut findings);
        }
        self.apply_allow_list(&mut findings, now.date_naive());
        sort_findings(&mut findings);
        findings
    }

    fn check_key(&self, r: &KeyRecord, findings: &mut Vec<Finding>) {
        let mut add = |rule: Rule, message: String| {
            if self.checks(rule) {
                findings.push(Finding::for_key(r, rule, message));
            }
        };
        let never_used = r.last_used_at.is_none();
        match r.status {
            KeyStatus::Active => {
                if let Some(age) = r.age_days.filter(|age| *age > self.limits.max_age_days) {
                    add(
                        Rule::MaxAge,
                        format!(
                            "created {age} days ago; limit {} days",
                            self.limits.max_age_days
                        ),
                    );
                }
                if let Some(idle) = r.idle_days.filter(|idle| *idle > self.limits.max_idle_days) {
                    let message = if never_used {
                        format!(
                            "never used since its creation {idle} days ago; limit {} days",
                            self.limits.max_idle_days
                        )
                    } else {
                        format!(
                            "last used {idle} days ago; limit {} days",
                            self.limits.max_idle_days
                        )
                    };
                    add(Rule::MaxIdle, message);
                }
                if let Some(age) = r
                    .age_days
                    .filter(|age| never_used && *age > self.limits.never_used_days)
                {
                    add(
                        Rule::NeverUsed,
                        format!(
                            "never used in the {age} days since its creation; limit {} days",
                            self.limits.never_used_days
                        ),
                    );
                }
            }
            KeyStatus::Inactive => {
                if let Some(idle) = r.idle_days.filter(|idle| *idle > self.limits.inactive_days) {
                    let since = if never_used {
                        "never used; created"
                    } else {
                        "last used"
                    };
                    add(
                        Rule::InactiveUnused,
                        format!(
                            "inactive; {since} {idle} days ago; limit {} days",
                            self.limits.inactive_days
                        ),
                    );
                }
            }
        }
    }

    /// A user with two (or more) active keys: the finding names the oldest, the one to retire.
    fn check_rotations(&self, records: &[KeyRecord], findings: &mut Vec<Finding>) {
        let mut by_user: BTreeMap<_, Vec<&KeyRecord>> = BTreeMap::new();
        for r in records.iter().filter(|r| r.status == KeyStatus::Active) {
            let account = r.account_id.as_deref().unwrap_or(&r.profile);
            let user = r.user_id.as_deref().or(r.user.as_deref());
            by_user
                .entry((r.provider, account, user))
                .or_default()
                .push(r);
        }
        for keys in by_user.values().filter(|keys| keys.len() > 1) {
            let oldest = keys
                .iter()
                .min_by_key(|r| (r.created_at.is_none(), r.created_at, &r.access_key_id))
                .copied()
                .unwrap_or(keys[0]);
            let others: Vec<&str> = keys
                .iter()
                .filter(|r| r.access_key_id != oldest.access_key_id)
                .map(|r| r.access_key_id.as_str())
                .collect();
            let user = oldest.user.as_deref().unwrap_or("the account's root user");
            findings.push(Finding::for_key(
                oldest,
                Rule::TwoActive,
                format!(
                    "{user} has {} active keys; this is the oldest; the other: {}",
                    keys.len(),
                    others.join(", ")
                ),
            ));
        }
    }

    fn check_credential(
        &self,
        credential: &ExpiringCredential,
        now: DateTime<Utc>,
        findings: &mut Vec<Finding>,
    ) {
        let (expired_rule, expiring_rule, what) = match credential.kind {
            CredentialKind::CceAksk => (Rule::CceExpired, Rule::CceExpiring, "CCE long-term AK/SK"),
        };
        let project = credential
            .project_id
            .as_deref()
            .map(|p| format!(" of project {p}"))
            .unwrap_or_default();
        let expired = credential.expired || credential.expires_at.is_some_and(|at| at <= now);
        let mut add = |rule: Rule, message: String| {
            if self.checks(rule) {
                findings.push(Finding::for_credential(credential, rule, message, now));
            }
        };
        let on = |at: Option<DateTime<Utc>>| {
            at.map(|at| format!(" on {}", at.format("%Y-%m-%d")))
                .unwrap_or_default()
        };
        if expired {
            add(
                expired_rule,
                format!("{what}{project} expired{}", on(credential.expires_at)),
            );
        } else if let Some(at) = credential.expires_at {
            let left = (at - now).num_days();
            if left < self.limits.cce_warn_days {
                add(
                    expiring_rule,
                    format!(
                        "{what}{project} expires{}, in {left} days; warning from {} days",
                        on(Some(at)),
                        self.limits.cce_warn_days
                    ),
                );
            }
        }
    }

    /// Marks findings about allowed keys; an entry past its end date allows nothing and says so.
    fn apply_allow_list(&self, findings: &mut [Finding], today: NaiveDate) {
        for finding in findings.iter_mut() {
            let Some(key_id) = finding.access_key_id.as_deref() else {
                continue;
            };
            let entries: Vec<&Allow> = self
                .allow
                .iter()
                .filter(|a| a.access_key_id == key_id)
                .collect();
            if let Some(entry) = entries
                .iter()
                .find(|a| a.until.is_none_or(|until| today <= until))
            {
                finding.allowed = true;
                finding.allow_reason = Some(entry.reason.clone());
                finding.allow_until = entry.until;
            } else if let Some(until) = entries.iter().filter_map(|a| a.until).max() {
                finding.message = format!(
                    "{} (its allow-list entry ended on {until})",
                    finding.message
                );
            }
        }
    }
}

/// Worst first: findings that fail the run before allowed ones, then by rule severity, then
/// by how far past the limit, then by where they are; the same order every run.
pub fn sort_findings(findings: &mut [Finding]) {
    fn badness(f: &Finding) -> i64 {
        match f.rule {
            Rule::MaxAge | Rule::NeverUsed | Rule::TwoActive => f.age_days.unwrap_or(0),
            Rule::MaxIdle | Rule::InactiveUnused => f.idle_days.unwrap_or(0),
            Rule::CceExpired | Rule::CceExpiring => {
                -f.expires_at.map(|t| t.timestamp()).unwrap_or(i64::MAX)
            }
        }
    }
    findings.sort_by(|a, b| {
        (a.allowed, a.rule, std::cmp::Reverse(badness(a)))
            .cmp(&(b.allowed, b.rule, std::cmp::Reverse(badness(b))))
            .then_with(|| {
                (
                    a.provider,
                    &a.profile,
                    &a.account_id,
                    &a.user,
                    &a.access_key_id,
                    &a.project_id,
                )
                    .cmp(&(
                        b.provider,
                        &b.profile,
                        &b.account_id,
                        &b.user,
                        &b.access_key_id,
                        &b.project_id,
                    ))
            })
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ProviderKind;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap()
    }

    fn key(id: &str, user: &str, status: KeyStatus, age: i64, idle: Option<i64>) -> KeyRecord {
        let mut r = KeyRecord::new(ProviderKind::Aws, "prod", id.into(), status);
        r.account_id = Some("111122223333".into());
        r.user = Some(user.into());
        r.created_at = Some(now() - chrono::Duration::days(age));
        r.last_used_at = idle.map(|d| now() - chrono::Duration::days(d));
        r.compute_ages(now());
        r
    }

    fn rules(findings: &[Finding], id: &str) -> Vec<Rule> {
        findings
            .iter()
            .filter(|f| f.access_key_id.as_deref() == Some(id))
            .map(|f| f.rule)
            .collect()
    }

    #[test]
    fn each_rule_fires_past_its_limit_only() {
        let policy = Policy::default();
        let records = vec![
            key("AKIAOLD", "a", KeyStatus::Active, 91, Some(1)),
            key("AKIAFINE", "b", KeyStatus::Active, 90, Some(90)),
            key("AKIAIDLE", "c", KeyStatus::Active, 30, Some(91)),
            key("AKIANEVER", "d", KeyStatus::Active, 8, None),
            key("AKIANEW", "e", KeyStatus::Active, 7, None),
            key("AKIAGONE", "f", KeyStatus::Inactive, 400, Some(31)),
            key("AKIARECENT", "g", KeyStatus::Inactive, 400, Some(30)),
        ];
        let findings = policy.evaluate(&records, &[], now());
        assert_eq!(rules(&findings, "AKIAOLD"), [Rule::MaxAge]);
        assert!(rules(&findings, "AKIAFINE").is_empty());
        assert_eq!(rules(&findings, "AKIAIDLE"), [Rule::MaxIdle]);
        assert_eq!(rules(&findings, "AKIANEVER"), [Rule::NeverUsed]);
        assert!(rules(&findings, "AKIANEW").is_empty());
        assert_eq!(rules(&findings, "AKIAGONE"), [Rule::InactiveUnused]);
        assert!(rules(&findings, "AKIARECENT").is_empty());
    }

    #[test]
    fn two_active_keys_name_the_older_one() {
        let records = vec![
            key("AKIANEWER", "alice", KeyStatus::Active, 10, Some(1)),
            key("AKIAOLDER", "alice", KeyStatus::Active, 20, Some(1)),
            key("AKIAOTHER", "bob", KeyStatus::Active, 20, Some(1)),
            key("AKIAOFF", "bob", KeyStatus::Inactive, 20, Some(1)),
        ];
        let findings = Policy::default().evaluate(&records, &[], now());
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].rule, Rule::TwoActive);
        assert_eq!(findings[0].access_key_id.as_deref(), Some("AKIAOLDER"));
        assert!(findings[0].message.contains("AKIANEWER"));
    }

    #[test]
    fn cce_expiry_rules() {
        let credential = |expires_in: i64, expired: bool| ExpiringCredential {
            kind: CredentialKind::CceAksk,
            provider: ProviderKind::Huawei,
            profile: "hw".into(),
            account_id: None,
            project_id: Some(format!("p{expires_in}")),
            expired,
            expires_at: Some(now() + chrono::Duration::days(expires_in)),
            created_at: None,
        };
        let credentials = [
            credential(200, false),
            credential(12, false),
            credential(-1, false),
            credential(5, true),
        ];
        let findings = Policy::default().evaluate(&[], &credentials, now());
        let got: Vec<(Rule, Option<&str>)> = findings
            .iter()
            .map(|f| (f.rule, f.project_id.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (Rule::CceExpired, Some("p-1")),
                (Rule::CceExpired, Some("p5")),
                (Rule::CceExpiring, Some("p12")),
            ]
        );
        let value = serde_json::to_value(&findings[2]).unwrap();
        assert_eq!(value["rule"], "cce-expiring");
        assert!(value["access_key_id"].is_null());
        assert!(value["expires_at"].is_string());
    }

    #[test]
    fn rule_names_round_trip() {
        for rule in Rule::ALL {
            assert_eq!(Rule::parse(rule.as_str()), Some(rule));
            assert_eq!(
                serde_json::to_value(rule).unwrap(),
                serde_json::Value::String(rule.as_str().into())
            );
        }
    }

    #[test]
    fn the_limits_and_skips_are_the_policys_own() {
        let policy = Policy {
            limits: Limits {
                max_age_days: 10,
                ..Limits::default()
            },
            skip: [Rule::NeverUsed].into(),
            allow: Vec::new(),
        };
        let records = vec![
            key("AKIAYOUNG", "a", KeyStatus::Active, 10, Some(1)),
            key("AKIAUNUSED", "b", KeyStatus::Active, 11, None),
        ];
        let findings = policy.evaluate(&records, &[], now());
        assert!(rules(&findings, "AKIAYOUNG").is_empty());
        // Past the policy's 10 days, not the default 90; never-used is skipped.
        assert_eq!(rules(&findings, "AKIAUNUSED"), [Rule::MaxAge]);
        assert!(
            findings[0].message.ends_with("limit 10 days"),
            "{findings:?}"
        );
        assert!(!policy.checks(Rule::NeverUsed) && policy.checks(Rule::MaxAge));
    }

    #[test]
    fn allowed_findings_are_kept_but_sorted_last() {
        let day = |d| NaiveDate::from_ymd_opt(2025, 6, d).unwrap();
        let entry = |id: &str, until| Allow {
            access_key_id: id.into(),
            reason: "vendor".into(),
            until,
        };
        let policy = Policy {
            allow: vec![
                entry("AKIAOLDEST", None),
                entry("AKIAOLD", Some(day(1) - chrono::Days::new(1))),
                entry("AKIAGONE", Some(day(1))),
            ],
            ..Policy::default()
        };
        let records = vec![
            key("AKIAOLDEST", "a", KeyStatus::Active, 500, Some(1)),
            key("AKIAOLD", "b", KeyStatus::Active, 100, Some(1)),
            key("AKIAGONE", "c", KeyStatus::Active, 100, Some(1)),
        ];
        let findings = policy.evaluate(&records, &[], now());
        let order: Vec<(Option<&str>, bool)> = findings
            .iter()
            .map(|f| (f.access_key_id.as_deref(), f.allowed))
            .collect();
        // The older key would come first, but allowed findings never fail the run: last.
        assert_eq!(
            order,
            [
                (Some("AKIAOLD"), false),
                (Some("AKIAOLDEST"), true),
                (Some("AKIAGONE"), true),
            ]
        );
        assert_eq!(findings[1].allow_reason.as_deref(), Some("vendor"));
        // An entry holds through its last day (today for AKIAGONE); after, it says when it ended.
        assert_eq!(findings[2].allow_until, Some(day(1)));
        assert!(
            findings[0]
                .message
                .ends_with("(its allow-list entry ended on 2025-05-31)"),
            "{}",
            findings[0].message
        );
        let expired = |today| -> Vec<String> {
            let entries = policy.expired_allows(today);
            entries.iter().map(|a| a.access_key_id.clone()).collect()
        };
        assert_eq!(expired(day(1)), ["AKIAOLD"]);
        assert_eq!(expired(day(2)), ["AKIAOLD", "AKIAGONE"]);
    }
}
