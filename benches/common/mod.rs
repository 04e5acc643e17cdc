//! The sandbox fleet the benchmarks read: accounts on every cloud with users and keys of
//! varied ages and uses, and the cloudkeys config that reaches them.

use std::process::{Command, Output};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use cloudkeys::model::{KeyStatus, ProviderKind};
use cloudkeys::sandbox::huawei::{HuaweiProject, LongAksk};
use cloudkeys::sandbox::{Account, Cloud, Effect, Fault, Sandbox, Seed, State, Stats};

/// A profile the bench config names: (name, provider, key id, secret, project id).
pub struct Profile {
    pub name: String,
    pub provider: ProviderKind,
    pub access_key_id: String,
    pub secret: String,
    pub project_id: Option<String>,
}

/// The keys of user `i`: (created days ago, last used days ago, active). Some break rules.
pub fn keys_of(i: usize) -> Vec<(i64, Option<i64>, bool)> {
    let created = 5 + (i as i64 * 37) % 400;
    let used = (!i.is_multiple_of(4)).then(|| (i as i64 * 11) % created.max(1));
    let mut keys = vec![(created, used, true)];
    if i.is_multiple_of(3) {
        keys.push((2 + (i as i64 % 20), None, i.is_multiple_of(2)));
    }
    keys
}

pub fn ago(now: DateTime<Utc>, days: i64) -> DateTime<Utc> {
    now - chrono::Duration::days(days)
}

/// Gives `user` (the `i`-th) of `account_id` the keys [`keys_of`] says; returns how many.
pub fn add_keys(cloud: &mut Cloud, account_id: &str, user: &str, i: usize) -> usize {
    let now = Utc::now();
    let keys = keys_of(i);
    for &(created, used, active) in &keys {
        let (id, _) = cloud.add_key(account_id, Some(user), ago(now, created), Duration::ZERO);
        let key = cloud.find_key_mut(&id).expect("key just made");
        key.last_used = used.map(|d| ago(now, d));
        key.last_used_in = used.map(|_| ("s3".into(), "us-east-1".into()));
        if !active {
            key.status = KeyStatus::Inactive;
        }
    }
    keys.len()
}

/// The command line of the benches that slow every request (fleet, org).
pub struct Options {
    /// Profiles (fleet) or member accounts (org).
    pub count: usize,
    pub users: usize,
    pub latency: Duration,
    pub concurrency: usize,
    pub runs: usize,
    /// Requests per second per credential (`[rate_limits]`); `None` keeps cloudkeys'
    /// defaults, 0 turns the limits off.
    pub rate_limit: Option<u64>,
}

impl Options {
    /// `--users`, `--latency-ms`, `--concurrency`, `--runs`, `--rate-limit`, and `count_flag`
    /// for `count`; `count` and `runs` are the defaults of those two.
    pub fn parse(count_flag: &str, count: u64, runs: u64) -> Options {
        Options {
            count: flag(count_flag).unwrap_or(count) as usize,
            users: flag("--users").unwrap_or(20) as usize,
            latency: Duration::from_millis(flag("--latency-ms").unwrap_or(50)),
            concurrency: flag("--concurrency").unwrap_or(16).max(1) as usize,
            runs: flag("--runs").unwrap_or(runs).max(1) as usize,
            rate_limit: flag("--rate-limit"),
        }
    }
}

/// The number after flag `name` on the bench's command line.
pub fn flag(name: &str) -> Option<u64> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}

/// `[rate_limits]` as the header line tells them: `rate` per `per`.
pub fn rate_label(rate: Option<u64>, per: &str) -> String {
    match rate {
        None => "defaults".to_string(),
        Some(0) => "off".to_string(),
        Some(rate) => format!("{rate}/s per {per}"),
    }
}

/// The sandbox state, also after a panic elsewhere.
pub fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// One run of `command` with every request delayed by `latency` and the stats reset: its
/// output, wall time, the sandbox's stats and how many requests were delayed.
pub fn timed_run(
    state: &Arc<Mutex<State>>,
    latency: Duration,
    command: &mut Command,
) -> (Output, Duration, Stats, usize) {
    {
        let mut guard = lock(state);
        guard.settings.faults = vec![Fault::always(Effect::Latency(latency))];
        guard.stats = Stats::default();
    }
    let started = Instant::now();
    let output = command.output().expect("binary runs");
    let wall = started.elapsed();
    let guard = lock(state);
    // The rule counts down the requests it delayed.
    let delayed = usize::MAX - guard.settings.faults[0].times;
    (output, wall, guard.stats.clone(), delayed)
}

/// Builds the fleet into the sandbox state; returns the profiles to audit through (each
/// account's admin user) and the number of keys made.
pub fn build_fleet(state: &mut State, profiles: usize, users: usize) -> (Vec<Profile>, usize) {
    let now = Utc::now();
    let zero = std::time::Duration::ZERO;
    let mut out = Vec::new();
    let mut keys = 0;
    for p in 0..profiles {
        for kind in [
            ProviderKind::Aws,
            ProviderKind::Alibaba,
            ProviderKind::Tencent,
            ProviderKind::Huawei,
        ] {
            let project = format!("{:032x}", 0xce00u128 + p as u128);
            let mut account = match kind {
                ProviderKind::Aws => {
                    Account::new(kind, &format!("{:012}", 700_000_000_000u64 + p as u64))
                }
                ProviderKind::Alibaba => Account::new(
                    kind,
                    &format!("{:016}", 5_000_000_000_000_000u64 + p as u64),
                ),
                ProviderKind::Tencent => {
                    Account::new(kind, &(300_000_000_000u64 + p as u64 * 1000).to_string())
                }
                // The account's root user comes first; audit through an admin IAM user.
                ProviderKind::Huawei => {
                    let domain = format!("{:032x}", 0xbe00u128 + p as u128);
                    let mut hw = Account::huawei(&domain, &format!("fleet-{p:02}"), ago(now, 1500));
                    hw.projects.push(HuaweiProject {
                        project_id: project.clone(),
                        region: "cn-north-4".into(),
                        long_aksk: Some(LongAksk {
                            expires_at: now + chrono::Duration::days(p as i64 * 5),
                            created_at: ago(now, 300),
                            updated_at: ago(now, 300),
                        }),
                    });
                    hw
                }
            };
            let owner: u64 = account.account_id.parse().unwrap_or(0);
            let name = |i: usize| match i {
                0 => "admin".to_string(),
                i => format!("user{i:03}"),
            };
            for i in 0..users {
                let user =
                    account.add_user(&name(i), i == 0, ago(now, if i == 0 { 900 } else { 500 }));
                user.display_name = if i == 0 { "Admin" } else { "User" }.into();
                user.uin = owner + 1 + i as u64;
            }
            let account_id = account.account_id.clone();
            let cloud = state.cloud_mut(kind);
            cloud.accounts.push(account);
            let (id, secret) = cloud.add_key(&account_id, Some("admin"), ago(now, 30), zero);
            out.push(Profile {
                name: format!("{kind}-{p:02}"),
                provider: kind,
                access_key_id: id,
                secret,
                project_id: (kind == ProviderKind::Huawei).then(|| project.clone()),
            });
            for i in 1..users {
                keys += add_keys(cloud, &account_id, &name(i), i);
            }
        }
    }
    (out, keys)
}

pub fn config(profiles: &[Profile], endpoint: &str, rate_limit: Option<u64>) -> String {
    let mut text = String::new();
    if let Some(rate) = rate_limit {
        text.push_str(&format!(
            "[rate_limits]\naws = {rate}\ntencent = {rate}\nalibaba = {rate}\nhuawei = {rate}\n\n"
        ));
    }
    for p in profiles {
        let region = match p.provider {
            ProviderKind::Aws => "us-east-1",
            ProviderKind::Tencent => "ap-guangzhou",
            ProviderKind::Alibaba => "cn-hangzhou",
            ProviderKind::Huawei => "cn-north-4",
        };
        text.push_str(&format!(
            "[profiles.{}]\nprovider = \"{}\"\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\nregion = \"{region}\"\nendpoint = \"{endpoint}\"\n",
            p.name, p.provider, p.access_key_id, p.secret
        ));
        if let Some(project) = &p.project_id {
            text.push_str(&format!("project_id = \"{project}\"\n"));
        }
        text.push('\n');
    }
    text
}

/// A two-thread runtime and a sandbox started on it. The demo seed's own profiles are left out
/// of the bench configs; only its page sizes matter (the test seed's tiny pages would multiply
/// the requests).
pub fn start_sandbox() -> (tokio::runtime::Runtime, Sandbox) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let sandbox = runtime
        .block_on(Sandbox::start(0, Seed::Demo))
        .expect("sandbox starts");
    (runtime, sandbox)
}
