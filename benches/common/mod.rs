//! The sandbox fleet the benchmarks read: accounts on every cloud with users and keys of
//! varied ages and uses, and the cloudkeys config that reaches them.

use chrono::{DateTime, Utc};
use cloudkeys::model::{KeyStatus, ProviderKind};
use cloudkeys::sandbox::alibaba::AlibabaAccount;
use cloudkeys::sandbox::huawei::{HuaweiAccount, HuaweiProject, LongAksk};
use cloudkeys::sandbox::tencent::{self, TencentAccount};
use cloudkeys::sandbox::{AwsAccount, Sandbox, Seed, State};

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
        // AWS
        let account = format!("{:012}", 700_000_000_000u64 + p as u64);
        let mut aws = AwsAccount::new(&account);
        aws.add_user("admin", true, ago(now, 900));
        for i in 1..users {
            aws.add_user(&format!("user{i:03}"), false, ago(now, 500));
        }
        state.aws_accounts.push(aws);
        let (id, secret) = state.add_aws_key(&account, Some("admin"), ago(now, 30));
        out.push(Profile {
            name: format!("aws-{p:02}"),
            provider: ProviderKind::Aws,
            access_key_id: id,
            secret,
            project_id: None,
        });
        for i in 1..users {
            for (created, used, active) in keys_of(i) {
                let (id, _) =
                    state.add_aws_key(&account, Some(&format!("user{i:03}")), ago(now, created));
                let key = state.find_key_mut(&id).expect("key just made");
                key.last_used = used.map(|d| (ago(now, d), "s3".into(), "us-east-1".into()));
                if !active {
                    key.status = KeyStatus::Inactive;
                }
                keys += 1;
            }
        }

        // Alibaba
        let account = format!("{:016}", 5_000_000_000_000_000u64 + p as u64);
        let mut ali = AlibabaAccount::new(&account);
        ali.add_user("admin", "Admin", true, ago(now, 900));
        for i in 1..users {
            ali.add_user(&format!("user{i:03}"), "User", false, ago(now, 500));
        }
        state.alibaba.accounts.push(ali);
        let (id, secret) = state
            .alibaba
            .add_key(&account, Some("admin"), ago(now, 30), zero);
        out.push(Profile {
            name: format!("alibaba-{p:02}"),
            provider: ProviderKind::Alibaba,
            access_key_id: id,
            secret,
            project_id: None,
        });
        for i in 1..users {
            for (created, used, active) in keys_of(i) {
                let (id, _) = state.alibaba.add_key(
                    &account,
                    Some(&format!("user{i:03}")),
                    ago(now, created),
                    zero,
                );
                let key = state.alibaba.find_key_mut(&id).expect("key just made");
                key.last_used = used.map(|d| ago(now, d));
                if !active {
                    key.status = KeyStatus::Inactive;
                }
                keys += 1;
            }
        }

        // Tencent
        let owner = 300_000_000_000u64 + p as u64 * 1000;
        let mut tc = TencentAccount::new(owner);
        tc.add_user("admin", owner + 1, true, ago(now, 900));
        for i in 1..users {
            tc.add_user(
                &format!("user{i:03}"),
                owner + 1 + i as u64,
                false,
                ago(now, 500),
            );
        }
        state.tencent.accounts.push(tc);
        let (id, secret) = tencent::add_key(state, owner, owner + 1, ago(now, 30));
        out.push(Profile {
            name: format!("tencent-{p:02}"),
            provider: ProviderKind::Tencent,
            access_key_id: id,
            secret,
            project_id: None,
        });
        for i in 1..users {
            for (created, used, active) in keys_of(i) {
                let (id, _) =
                    tencent::add_key(state, owner, owner + 1 + i as u64, ago(now, created));
                let key = state.tencent.find_key_mut(&id).expect("key just made");
                key.last_used = used.map(|d| ago(now, d));
                if !active {
                    key.status = KeyStatus::Inactive;
                }
                keys += 1;
            }
        }

        // Huawei: the account's root user comes first; audit through an admin IAM user.
        let domain = format!("{:032x}", 0xbe00u128 + p as u128);
        let project = format!("{:032x}", 0xce00u128 + p as u128);
        let mut hw = HuaweiAccount::new(&domain, &format!("fleet-{p:02}"), ago(now, 1500));
        hw.add_user("admin", true, ago(now, 900));
        for i in 1..users {
            hw.add_user(&format!("user{i:03}"), false, ago(now, 500));
        }
        hw.projects.push(HuaweiProject {
            project_id: project.clone(),
            region: "cn-north-4".into(),
            long_aksk: Some(LongAksk {
                expires_at: now + chrono::Duration::days(p as i64 * 5),
                created_at: ago(now, 300),
                updated_at: ago(now, 300),
            }),
        });
        state.huawei.accounts.push(hw);
        let (id, secret) = state.huawei.add_key(&domain, "admin", ago(now, 30), zero);
        out.push(Profile {
            name: format!("huawei-{p:02}"),
            provider: ProviderKind::Huawei,
            access_key_id: id,
            secret,
            project_id: Some(project),
        });
        for i in 1..users {
            for (created, used, active) in keys_of(i) {
                let (id, _) =
                    state
                        .huawei
                        .add_key(&domain, &format!("user{i:03}"), ago(now, created), zero);
                let key = state.huawei.find_key_mut(&id).expect("key just made");
                key.last_used = used.map(|d| ago(now, d));
                if !active {
                    key.status = KeyStatus::Inactive;
                }
                keys += 1;
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
