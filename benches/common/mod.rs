//! The sandbox fleet the benchmarks read: accounts on every cloud with users and keys of
//! varied ages and uses, and the cloudkeys config that reaches them.

use chrono::{DateTime, Utc};
use cloudkeys::model::{KeyStatus, ProviderKind};
use cloudkeys::sandbox::huawei::{HuaweiProject, LongAksk};
use cloudkeys::sandbox::{Account, Sandbox, Seed, State};

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
                for (created, used, active) in keys_of(i) {
                    let (id, _) =
                        cloud.add_key(&account_id, Some(name(i).as_str()), ago(now, created), zero);
                    let key = cloud.find_key_mut(&id).expect("key just made");
                    key.last_used = used.map(|d| ago(now, d));
                    key.last_used_in = used.map(|_| ("s3".into(), "us-east-1".into()));
                    if !active {
                        key.status = KeyStatus::Inactive;
                    }
                    keys += 1;
                }
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
