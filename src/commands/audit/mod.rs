//! `audit`: checks every key the selected profiles can see against a policy, for CI.
//!
//! The scan reads all profiles × users at once; the HTTP client bounds the calls in flight
//! (`--concurrency`) and each credential's request rate, so no bound is needed here. A target
//! (one profile's user list, one user's keys, one project's CCE AK/SK) that cannot be read is
//! reported and the rest is still audited: exit 5 then, so a half-read fleet never passes.

mod scan;

use std::collections::BTreeSet;

use chrono::{NaiveDate, Utc};

use super::{check_key_id, output_error, Context};
use crate::audit::{Allow, Limits, Policy, Rule};
use crate::cli::AuditArgs;
use crate::config::{AllowUntil, AuditConfig};
use crate::error::{Error, Result};
use crate::output::AuditReport;

pub use self::scan::{scan, targets, Scan};

/// Exit code when findings (not allowed) remain.
pub const EXIT_FINDINGS: i32 = 1;

/// The day an allow-list entry's `until` names.
fn allow_date(until: &AllowUntil) -> Option<NaiveDate> {
    match until {
        AllowUntil::Date(datetime) => datetime.date.and_then(|d| {
            NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
        }),
        AllowUntil::Text(text) => NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok(),
    }
}

/// The thresholds: flags win over the config's `[audit]` table, which wins over the defaults.
fn limits(args: &AuditArgs, config: &AuditConfig) -> Result<Limits> {
    let default = Limits::default();
    // A bad config value is refused even when a flag overrides it.
    let pick = |flag: Option<i64>, name: &str, value: Option<i64>, default: i64| match value {
        Some(days) if !(0..=36500).contains(&days) => Err(Error::config(format!(
            "[audit] {name} = {days}: expected a number of days from 0 to 36500"
        ))),
        _ => Ok(flag.or(value).unwrap_or(default)),
    };
    // The config's keys, `[audit]`'s, are the fields' names.
    macro_rules! days {
        ($flag:ident, $field:ident) => {
            pick(
                args.$flag,
                stringify!($field),
                config.$field,
                default.$field,
            )?
        };
    }
    Ok(Limits {
        max_age_days: days!(max_age, max_age_days),
        max_idle_days: days!(max_idle, max_idle_days),
        never_used_days: days!(never_used_days, never_used_days),
        inactive_days: days!(inactive_days, inactive_days),
        cce_warn_days: days!(cce_warn_days, cce_warn_days),
    })
}

/// The allow-list: the config's entries (checked), then `--allow`'s.
fn allow_list(args: &AuditArgs, config: &AuditConfig) -> Result<Vec<Allow>> {
    let mut allow = Vec::new();
    for entry in &config.allow {
        let id = &entry.access_key_id;
        check_key_id(id)
            .map_err(|err| Error::config(format!("[[audit.allow]]: {}", err.message)))?;
        if entry.reason.trim().is_empty() {
            return Err(Error::config(format!(
                "[[audit.allow]] {id}: the reason is empty; say why the key is allowed"
            )));
        }
        let until = entry.until.as_ref().map(|until| {
            allow_date(until).ok_or_else(|| {
                Error::config(format!(
                    "[[audit.allow]] {id}: until: expected a date such as 2027-01-31"
                ))
            })
        });
        allow.push(Allow {
            access_key_id: id.clone(),
            reason: entry.reason.trim().to_string(),
            until: until.transpose()?,
        });
    }
    for key_id in &args.allow {
        check_key_id(key_id)?;
        allow.push(Allow {
            access_key_id: key_id.clone(),
            reason: "allowed with --allow".to_string(),
            until: None,
        });
    }
    Ok(allow)
}

/// The policy of this run, from the flags, the config's `[audit]` table and the defaults.
pub fn policy(args: &AuditArgs, config: &AuditConfig) -> Result<Policy> {
    let mut skip = BTreeSet::new();
    for name in &config.skip {
        skip.insert(Rule::parse(name).ok_or_else(|| {
            Error::config(format!(
                "[audit] skip: unknown rule '{name}' (expected one of {})",
                Rule::NAMES.join(", ")
            ))
        })?);
    }
    // clap checked the flag's names already.
    skip.extend(args.skip.iter().filter_map(|name| Rule::parse(name)));
    Ok(Policy {
        limits: limits(args, config)?,
        skip,
        allow: allow_list(args, config)?,
    })
}

pub async fn run(ctx: &Context, args: &AuditArgs) -> Result<i32> {
    let policy = policy(args, &ctx.config.audit)?;
    let now = Utc::now();
    for entry in policy.expired_allows(now.date_naive()) {
        if let Some(until) = entry.until {
            ctx.printer.note(&format!(
                "note: the allow-list entry for {} ended on {until}; the key is audited again",
                entry.access_key_id
            ));
        }
    }
    let providers = ctx.providers(None)?;
    let want_credentials = policy.checks(Rule::CceExpired) || policy.checks(Rule::CceExpiring);
    let scan = scan(ctx, &providers, args, want_credentials).await;
    let findings = policy.evaluate(&scan.records, &scan.credentials, now);
    let report = AuditReport {
        findings: &findings,
        keys: scan.records.len(),
        profiles: providers.len(),
        failed: scan.errors.len(),
    };
    ctx.printer.audit(&report).map_err(output_error)?;
    let read_any = scan.profiles_read > 0 || !scan.credentials.is_empty();
    let code = ctx.finish(&scan.errors, read_any);
    Ok(match code {
        0 if findings.iter().any(|f| !f.allowed) => EXIT_FINDINGS,
        code => code,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AllowEntry;

    fn allow_entry(id: &str, until: Option<&str>) -> AllowEntry {
        AllowEntry {
            access_key_id: id.into(),
            reason: "vendor".into(),
            until: until.map(|u| AllowUntil::Text(u.into())),
        }
    }

    #[test]
    fn the_allow_list_is_the_configs_then_the_flags() {
        let config = AuditConfig {
            allow: vec![allow_entry("AKIAKEPT000000000000", Some(" 2025-06-01 "))],
            ..AuditConfig::default()
        };
        let args = AuditArgs {
            allow: vec!["AKIAFLAG000000000000".into()],
            ..AuditArgs::default()
        };
        let entry = |id: &str, reason: &str, until| Allow {
            access_key_id: id.into(),
            reason: reason.into(),
            until,
        };
        assert_eq!(
            policy(&args, &config).unwrap().allow,
            [
                entry(
                    "AKIAKEPT000000000000",
                    "vendor",
                    NaiveDate::from_ymd_opt(2025, 6, 1)
                ),
                entry("AKIAFLAG000000000000", "allowed with --allow", None),
            ]
        );
    }

    #[test]
    fn flags_win_over_config_and_bad_config_is_refused() {
        let config = AuditConfig {
            max_age_days: Some(30),
            max_idle_days: Some(60),
            skip: vec!["never-used".into()],
            ..AuditConfig::default()
        };
        let args = AuditArgs {
            max_age: Some(10),
            skip: vec!["two-active".into()],
            ..AuditArgs::default()
        };
        let found = policy(&args, &config).unwrap();
        assert_eq!(found.limits.max_age_days, 10);
        assert_eq!(found.limits.max_idle_days, 60);
        assert_eq!(
            found.limits.never_used_days,
            Limits::default().never_used_days
        );
        assert_eq!(
            found.skip.iter().copied().collect::<Vec<_>>(),
            [Rule::TwoActive, Rule::NeverUsed]
        );
        for bad in [
            AuditConfig {
                max_age_days: Some(-1),
                ..AuditConfig::default()
            },
            AuditConfig {
                skip: vec!["too-old".into()],
                ..AuditConfig::default()
            },
            AuditConfig {
                allow: vec![AllowEntry {
                    reason: " ".into(),
                    ..allow_entry("AKIAX000000000000000", None)
                }],
                ..AuditConfig::default()
            },
            AuditConfig {
                allow: vec![allow_entry("not a key!", None)],
                ..AuditConfig::default()
            },
            AuditConfig {
                allow: vec![allow_entry("AKIAX000000000000000", Some("next week"))],
                ..AuditConfig::default()
            },
        ] {
            let err = policy(&AuditArgs::default(), &bad).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{err}");
        }
    }

    #[test]
    fn allow_dates_may_be_toml_dates_or_strings() {
        let config: AuditConfig = toml::from_str(
            r#"
[[allow]]
access_key_id = "AKIAA000000000000000"
reason = "vendor"
until = 2027-01-31
[[allow]]
access_key_id = "AKIAB000000000000000"
reason = "vendor"
until = "2027-02-01"
"#,
        )
        .unwrap();
        let found = policy(&AuditArgs::default(), &config).unwrap();
        assert_eq!(found.allow[0].until, NaiveDate::from_ymd_opt(2027, 1, 31));
        assert_eq!(found.allow[1].until, NaiveDate::from_ymd_opt(2027, 2, 1));
    }
}
