//! Reading the fleet for an audit: every selected profile × user at once, each target's
//! failure reported on its own.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::future::join_all;

use crate::cli::AuditArgs;
use crate::commands::{sort_records, Context};
use crate::error::{Error, Result};
use crate::model::{ExpiringCredential, IdentityType, KeyRecord, UserRef};
use crate::provider::AccessKeyProvider;

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

/// The users to read through one profile (`None`: the caller itself): `user`, or with
/// `all_users` every user (and the root account's own keys).
pub async fn targets(
    provider: &dyn AccessKeyProvider,
    all_users: bool,
    user: &Option<String>,
    exact: bool,
) -> Result<Vec<Option<UserRef>>> {
    if !all_users {
        return Ok(vec![Context::user_arg(user)]);
    }
    let scan = async {
        if !exact {
            provider.begin_account_scan().await;
        }
    };
    let (users, identity, ()) = futures::join!(provider.list_users(), provider.whoami(), scan);
    let mut targets: Vec<Option<UserRef>> = users?.into_iter().map(Some).collect();
    // The root account is no user: its own keys are read besides.
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
                crate::commands::prefixed(err, format!("user {}", user.name))
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

/// One profile's keys and credentials (`profiles_read` is 1 when any of its keys were read).
async fn scan_profile(
    provider: Arc<dyn AccessKeyProvider>,
    args: &AuditArgs,
    want_credentials: bool,
    concurrency: usize,
    progress: &Progress,
) -> Scan {
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
        let targets = targets(provider.as_ref(), args.all_users, &args.user, args.exact).await?;
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
    let mut scan = Scan::default();
    match credentials {
        Ok(found) => scan.credentials = found,
        Err(err) => scan.errors.push(tag(err)),
    }
    match keys {
        Ok(users) => {
            // Read when its users were listed and any of them (or none exists) could be read.
            scan.profiles_read = usize::from(users.is_empty() || users.iter().any(Result::is_ok));
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
        scan.profiles_read += result.profiles_read;
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
