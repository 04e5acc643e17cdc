//! `audit`: checks every key the selected profiles can see against a policy, for CI.
//!
//! The scan reads all profiles × users at once; the HTTP client bounds the calls in flight
//! (`--concurrency`) and each credential's request rate, so no bound is needed here. A target
//! (one profile's user list, one user's keys, one project's CCE AK/SK) that cannot be read is
//! reported and the rest is still audited: exit 5 then, so a half-read fleet never passes.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use futures::future::join_all;

use super::{check_key_id, output_error, sort_records, Context};
use crate::cli::AuditArgs;
use crate::config::{AllowUntil, AuditConfig};
use crate::error::{Error, Result};
use crate::model::{
    CredentialKind, ExpiringCredential, Finding, IdentityType, KeyRecord, KeyStatus, Rule, UserRef,
};
use crate::output::AuditReport;
use crate::provider::AccessKeyProvider;

/// Exit code when findings (not allowed) remain.
pub const EXIT_FINDINGS: i32 = 1;

pub const DEFAULT_MAX_AGE_DAYS: i64 = 90;
pub const DEFAULT_MAX_IDLE_DAYS: i64 = 90;
pub const DEFAULT_NEVER_USED_DAYS: i64 = 7;
pub const DEFAULT_INACTIVE_DAYS: i64 = 30;
pub const DEFAULT_CCE_WARN_DAYS: i64 = 30;

/// One allow-list entry in force or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allow {
    pub access_key_id: String,
    pub reason: String,
    /// The last day the entry holds; `None` for no end.
    pub until: Option<NaiveDate>,
}

/// Thresholds (whole days), rules to skip and the allow-list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub max_age_days: i64,
    pub max_idle_days: i64,
    pub never_used_days: i64,
    pub inactive_days: i64,
    pub cce_warn_days: i64,
    pub skip: BTreeSet<Rule>,
    pub allow: Vec<Allow>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_age_days: DEFAULT_MAX_AGE_DAYS,
            max_idle_days: DEFAULT_MAX_IDLE_DAYS,
            never_used_days: DEFAULT_NEVER_USED_DAYS,
            inactive_days: DEFAULT_INACTIVE_DAYS,
            cce_warn_days: DEFAULT_CCE_WARN_DAYS,
            skip: BTreeSet::new(),
            allow: Vec::new(),
        }
    }
}

fn config_days(name: &str, value: Option<i64>) -> Result<Option<i64>> {
    match value {
        Some(days) if !(0..=36500).contains(&days) => Err(Error::config(format!(
            "[audit] {name} = {days}: expected a number of days from 0 to 36500"
        ))),
        other => Ok(other),
    }
}

/// The day an allow-list entry's `until` names.
fn allow_date(until: &AllowUntil) -> Option<NaiveDate> {
    match until {
        AllowUntil::Date(datetime) => datetime.date.and_then(|d| {
            NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
        }),
        AllowUntil::Text(text) => NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok(),
    }
}

impl Policy {
    /// Flags win over the config's `[audit]` table, which wins over the defaults.
    pub fn new(args: &AuditArgs, config: &AuditConfig) -> Result<Policy> {
        let pick = |flag: Option<i64>, name: &str, value: Option<i64>, default: i64| {
            Ok::<i64, Error>(flag.or(config_days(name, value)?).unwrap_or(default))
        };
        let mut skip = BTreeSet::new();
        for name in &config.skip {
            skip.insert(Rule::parse(name).ok_or_else(|| {
                Error::config(format!(
                    "[audit] skip: unknown rule '{name}' (expected one of {})",
                    Rule::NAMES.join(", ")
                ))
            })?);
        }
        for name in &args.skip {
            // clap checked the names already.
            skip.extend(Rule::parse(name));
        }
        let mut allow = Vec::new();
        for entry in &config.allow {
            check_key_id(&entry.access_key_id)
                .map_err(|err| Error::config(format!("[[audit.allow]]: {}", err.message)))?;
            if entry.reason.trim().is_empty() {
                return Err(Error::config(format!(
                    "[[audit.allow]] {}: the reason is empty; say why the key is allowed",
                    entry.access_key_id
                )));
            }
            let until = entry
                .until
                .as_ref()
                .map(|until| {
                    allow_date(until).ok_or_else(|| {
                        Error::config(format!(
                            "[[audit.allow]] {}: until: expected a date such as 2027-01-31",
                            entry.access_key_id
                        ))
                    })
                })
                .transpose()?;
            allow.push(Allow {
                access_key_id: entry.access_key_id.clone(),
                reason: entry.reason.trim().to_string(),
                until,
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
        Ok(Policy {
            max_age_days: pick(
                args.max_age,
                "max_age_days",
                config.max_age_days,
                DEFAULT_MAX_AGE_DAYS,
            )?,
            max_idle_days: pick(
                args.max_idle,
                "max_idle_days",
                config.max_idle_days,
                DEFAULT_MAX_IDLE_DAYS,
            )?,
            never_used_days: pick(
                args.never_used_days,
                "never_used_days",
                config.never_used_days,
                DEFAULT_NEVER_USED_DAYS,
            )?,
            inactive_days: pick(
                args.inactive_days,
                "inactive_days",
                config.inactive_days,
                DEFAULT_INACTIVE_DAYS,
            )?,
            cce_warn_days: pick(
                args.cce_warn_days,
                "cce_warn_days",
                config.cce_warn_days,
                DEFAULT_CCE_WARN_DAYS,
            )?,
            skip,
            allow,
        })
    }

    fn checks(&self, rule: Rule) -> bool {
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
                if let Some(age) = r.age_days.filter(|age| *age > self.max_age_days) {
                    add(
                        Rule::MaxAge,
                        format!("created {age} days ago; limit {} days", self.max_age_days),
                    );
                }
                if let Some(idle) = r.idle_days.filter(|idle| *idle > self.max_idle_days) {
                    let message = if never_used {
                        format!(
                            "never used since its creation {idle} days ago; limit {} days",
                            self.max_idle_days
                        )
                    } else {
                        format!(
                            "last used {idle} days ago; limit {} days",
                            self.max_idle_days
                        )
                    };
                    add(Rule::MaxIdle, message);
                }
                if let Some(age) = r
                    .age_days
                    .filter(|age| never_used && *age > self.never_used_days)
                {
                    add(
                        Rule::NeverUsed,
                        format!(
                            "never used in the {age} days since its creation; limit {} days",
                            self.never_used_days
                        ),
                    );
                }
            }
            KeyStatus::Inactive => {
                if let Some(idle) = r.idle_days.filter(|idle| *idle > self.inactive_days) {
                    let since = if never_used {
                        "never used; created"
                    } else {
                        "last used"
                    };
                    add(
                        Rule::InactiveUnused,
                        format!(
                            "inactive; {since} {idle} days ago; limit {} days",
                            self.inactive_days
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
            if left < self.cce_warn_days {
                add(
                    expiring_rule,
                    format!(
                        "{what}{project} expires{}, in {left} days; warning from {} days",
                        on(Some(at)),
                        self.cce_warn_days
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

/// What the scan of the fleet read, and what it could not.
#[derive(Debug, Default)]
pub struct Scan {
    pub records: Vec<KeyRecord>,
    pub credentials: Vec<ExpiringCredential>,
    pub errors: Vec<Error>,
    /// Profiles whose keys were read, at least in part.
    pub profiles_read: usize,
}

/// A progress bar on stderr, shown only on a terminal, without `--quiet`, once the scan has
/// taken more than a second.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    started: Instant,
    shown: AtomicBool,
}

impl Progress {
    fn new(enabled: bool) -> Self {
        let bar = enabled.then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                Some(0),
                indicatif::ProgressDrawTarget::hidden(),
            );
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} auditing {pos}/{len} users [{bar:30}] {elapsed}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        Progress {
            bar,
            started: Instant::now(),
            shown: AtomicBool::new(false),
        }
    }

    fn update(&self, f: impl FnOnce(&indicatif::ProgressBar)) {
        let Some(bar) = &self.bar else { return };
        f(bar);
        if self.started.elapsed() > Duration::from_secs(1)
            && !self.shown.swap(true, Ordering::Relaxed)
        {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar.enable_steady_tick(Duration::from_millis(200));
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The users to audit through one profile (`None`: the caller itself).
async fn targets(
    provider: &dyn AccessKeyProvider,
    args: &AuditArgs,
) -> Result<Vec<Option<UserRef>>> {
    if !args.all_users {
        return Ok(vec![Context::user_arg(&args.user)]);
    }
    let scan = async {
        if !args.exact {
            provider.begin_account_scan().await;
        }
    };
    let (users, identity, ()) = futures::join!(provider.list_users(), provider.whoami(), scan);
    let mut targets: Vec<Option<UserRef>> = users?.into_iter().map(Some).collect();
    // The root account is no user: its own keys are audited besides.
    if identity?.identity_type == IdentityType::Root {
        targets.push(None);
    }
    Ok(targets)
}

/// One user's keys (last use not yet filled in), errors naming the user.
async fn user_keys(
    provider: &dyn AccessKeyProvider,
    user: Option<UserRef>,
) -> Result<Vec<KeyRecord>> {
    provider
        .list_keys(user.as_ref())
        .await
        .map_err(|err| match &user {
            Some(user) if !err.message.contains(&user.name) => {
                let mut err = err;
                err.message = format!("user {}: {}", user.name, err.message);
                err
            }
            _ => err,
        })
}

/// Last use for every user's keys of one profile in one go, so that a cloud that answers for
/// several keys a call (Tencent, 10) or from a report is asked as few times as it can be. If
/// that fails, each user is asked on its own, so one user's failure costs only that user.
async fn fill_last_used(
    provider: &dyn AccessKeyProvider,
    users: &mut [Result<Vec<KeyRecord>>],
    concurrency: usize,
) {
    let mut all: Vec<KeyRecord> = users.iter().flatten().flatten().cloned().collect();
    if provider.fill_last_used(&mut all, concurrency).await.is_ok() {
        let mut filled = all.into_iter();
        for records in users.iter_mut().flatten() {
            for record in records.iter_mut() {
                *record = filled.next().expect("one filled record per record");
            }
        }
        return;
    }
    for result in users.iter_mut() {
        if let Ok(records) = result {
            if let Err(err) = provider.fill_last_used(records, concurrency).await {
                *result = Err(err);
            }
        }
    }
}

#[derive(Default)]
struct ProfileScan {
    records: Vec<KeyRecord>,
    credentials: Vec<ExpiringCredential>,
    errors: Vec<Error>,
    read_any: bool,
}

async fn scan_profile(
    provider: Arc<dyn AccessKeyProvider>,
    args: &AuditArgs,
    want_credentials: bool,
    concurrency: usize,
    progress: &Progress,
) -> ProfileScan {
    let kind = provider.kind();
    let name = provider.profile().to_string();
    let tag = |err: Error| err.with_provider(kind).with_profile(&name);
    let credentials = async {
        if want_credentials {
            provider.expiring_credentials().await
        } else {
            Ok(Vec::new())
        }
    };
    let keys = async {
        let targets = targets(provider.as_ref(), args).await?;
        progress.update(|bar| bar.inc_length(targets.len() as u64));
        let scans = targets.into_iter().map(|user| {
            let provider = provider.as_ref();
            async move {
                let result = user_keys(provider, user).await;
                progress.update(|bar| bar.inc(1));
                result
            }
        });
        let mut users = join_all(scans).await;
        fill_last_used(provider.as_ref(), &mut users, concurrency).await;
        let now = Utc::now();
        for record in users.iter_mut().flatten().flatten() {
            record.compute_ages(now);
        }
        Ok::<_, Error>(users)
    };
    let (credentials, keys) = futures::join!(credentials, keys);
    let mut scan = ProfileScan::default();
    match credentials {
        Ok(found) => scan.credentials = found,
        Err(err) => scan.errors.push(tag(err)),
    }
    match keys {
        Ok(users) => {
            // Read when its users were listed and any of them (or none exists) could be read.
            scan.read_any = users.is_empty() || users.iter().any(Result::is_ok);
            for result in users {
                match result {
                    Ok(records) => scan.records.extend(records),
                    Err(err) => scan.errors.push(tag(err)),
                }
            }
        }
        Err(err) => scan.errors.push(tag(err)),
    }
    scan
}

/// Reads every selected profile × user at once (the HTTP client bounds what is in flight).
pub async fn scan(
    ctx: &Context,
    providers: &[Arc<dyn AccessKeyProvider>],
    args: &AuditArgs,
    want_credentials: bool,
) -> Scan {
    let progress = Progress::new(!ctx.printer.quiet && std::io::stderr().is_terminal());
    let scans = providers.iter().map(|provider| {
        scan_profile(
            provider.clone(),
            args,
            want_credentials,
            ctx.concurrency(),
            &progress,
        )
    });
    let results = join_all(scans).await;
    progress.finish();
    let mut scan = Scan::default();
    for result in results {
        scan.profiles_read += usize::from(result.read_any);
        scan.records.extend(result.records);
        scan.credentials.extend(result.credentials);
        scan.errors.extend(result.errors);
    }
    sort_records(&mut scan.records);
    // Two profiles of one account see the same keys: audit each key once.
    let mut seen = HashSet::new();
    scan.records
        .retain(|r| seen.insert((r.provider, r.access_key_id.clone())));
    scan.credentials.sort_by(|a, b| {
        (a.provider, &a.project_id, &a.profile).cmp(&(b.provider, &b.project_id, &b.profile))
    });
    let mut seen = HashSet::new();
    scan.credentials
        .retain(|c| seen.insert((c.provider, c.kind, c.project_id.clone())));
    scan.errors.sort_by(|a, b| {
        (a.provider, &a.profile, &a.message).cmp(&(b.provider, &b.profile, &b.message))
    });
    scan
}

pub async fn run(ctx: &Context, args: &AuditArgs) -> Result<i32> {
    let policy = Policy::new(args, &ctx.config.audit)?;
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

    fn allow_entry(id: &str, until: Option<&str>) -> AllowEntry {
        AllowEntry {
            access_key_id: id.into(),
            reason: "vendor".into(),
            until: until.map(|u| AllowUntil::Text(u.into())),
        }
    }

    #[test]
    fn allow_entries_hold_until_their_last_day() {
        let config = AuditConfig {
            allow: vec![
                allow_entry("AKIAKEPT000000000000", Some("2025-06-01")),
                allow_entry("AKIALAPSED0000000000", Some("2025-05-31")),
            ],
            ..AuditConfig::default()
        };
        let policy = Policy::new(&AuditArgs::default(), &config).unwrap();
        let records = vec![
            key("AKIAKEPT000000000000", "a", KeyStatus::Active, 100, Some(1)),
            key("AKIALAPSED0000000000", "b", KeyStatus::Active, 100, Some(1)),
        ];
        let findings = policy.evaluate(&records, &[], now());
        let kept = findings
            .iter()
            .find(|f| f.access_key_id.as_deref() == Some("AKIAKEPT000000000000"))
            .unwrap();
        assert!(kept.allowed);
        assert_eq!(kept.allow_reason.as_deref(), Some("vendor"));
        let lapsed = findings
            .iter()
            .find(|f| f.access_key_id.as_deref() == Some("AKIALAPSED0000000000"))
            .unwrap();
        assert!(!lapsed.allowed);
        assert!(
            lapsed.message.contains("ended on 2025-05-31"),
            "{}",
            lapsed.message
        );
        // The failing finding comes first.
        assert_eq!(
            findings[0].access_key_id.as_deref(),
            Some("AKIALAPSED0000000000")
        );
        assert_eq!(policy.expired_allows(now().date_naive()).len(), 1);
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
        let policy = Policy::new(&args, &config).unwrap();
        assert_eq!(policy.max_age_days, 10);
        assert_eq!(policy.max_idle_days, 60);
        assert_eq!(policy.never_used_days, DEFAULT_NEVER_USED_DAYS);
        assert_eq!(
            policy.skip.iter().copied().collect::<Vec<_>>(),
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
            let err = Policy::new(&AuditArgs::default(), &bad).unwrap_err();
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
        let policy = Policy::new(&AuditArgs::default(), &config).unwrap();
        assert_eq!(policy.allow[0].until, NaiveDate::from_ymd_opt(2027, 1, 31));
        assert_eq!(policy.allow[1].until, NaiveDate::from_ymd_opt(2027, 2, 1));
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
}
