//! Fleet-scan benchmark (not a test): `cloudkeys audit --all-profiles --all-users` over a
//! sandbox fleet of 4 clouds × P profiles (one account each) × U users, every request slowed
//! by an injected latency, run through the release binary. Reports the wall time against the
//! ideal `requests ÷ concurrency × latency`.
//!
//! ```text
//! cargo bench --bench fleet                      # 25 profiles × 20 users, 50 ms, concurrency 16
//! cargo bench --bench fleet -- --concurrency 64 --profiles 25 --users 20 --latency-ms 50 --runs 3
//! cargo bench --bench fleet -- --concurrency 64 --rate-limit 0   # [rate_limits] off
//! ```

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use cloudkeys::model::{KeyStatus, ProviderKind};
use cloudkeys::sandbox::alibaba::AlibabaAccount;
use cloudkeys::sandbox::huawei::{HuaweiAccount, HuaweiProject, LongAksk};
use cloudkeys::sandbox::tencent::{self, TencentAccount};
use cloudkeys::sandbox::{AwsAccount, Effect, Fault, Sandbox, Seed, State};

struct Options {
    profiles: usize,
    users: usize,
    latency: Duration,
    concurrency: usize,
    runs: usize,
    /// Requests per second per credential for every cloud (`[rate_limits]`); `None` keeps
    /// cloudkeys' defaults, 0 turns the limits off.
    rate_limit: Option<u64>,
}

fn options() -> Options {
    let mut options = Options {
        profiles: 25,
        users: 20,
        latency: Duration::from_millis(50),
        concurrency: 16,
        runs: 3,
        rate_limit: None,
    };
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| -> Option<u64> {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
    };
    if let Some(v) = value("--profiles") {
        options.profiles = v as usize;
    }
    if let Some(v) = value("--users") {
        options.users = v as usize;
    }
    if let Some(v) = value("--latency-ms") {
        options.latency = Duration::from_millis(v);
    }
    if let Some(v) = value("--concurrency") {
        options.concurrency = v as usize;
    }
    options.rate_limit = value("--rate-limit");
    if let Some(v) = value("--runs") {
        options.runs = (v as usize).max(1);
    }
    options
}

/// A profile the bench config names: (name, provider, key id, secret, project id).
struct Profile {
    name: String,
    provider: ProviderKind,
    access_key_id: String,
    secret: String,
    project_id: Option<String>,
}

/// The keys of user `i`: (created days ago, last used days ago, active). Some break rules.
fn keys_of(i: usize) -> Vec<(i64, Option<i64>, bool)> {
    let created = 5 + (i as i64 * 37) % 400;
    let used = (!i.is_multiple_of(4)).then(|| (i as i64 * 11) % created.max(1));
    let mut keys = vec![(created, used, true)];
    if i.is_multiple_of(3) {
        keys.push((2 + (i as i64 % 20), None, i.is_multiple_of(2)));
    }
    keys
}

fn ago(now: DateTime<Utc>, days: i64) -> DateTime<Utc> {
    now - chrono::Duration::days(days)
}

/// Builds the fleet into the sandbox state; returns the profiles to audit through (each
/// account's admin user) and the number of keys made.
fn build_fleet(state: &mut State, profiles: usize, users: usize) -> (Vec<Profile>, usize) {
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

fn config(profiles: &[Profile], endpoint: &str, rate_limit: Option<u64>) -> String {
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

fn main() {
    let options = options();
    let binary = env!("CARGO_BIN_EXE_cloudkeys");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // The demo seed's own profiles are left out of the config; only its page sizes matter
    // (the test seed's tiny pages would multiply the requests).
    let sandbox = runtime
        .block_on(Sandbox::start(0, Seed::Demo))
        .expect("sandbox starts");
    let state = sandbox.state();
    let (profiles, keys) = {
        let mut guard = state.lock().unwrap_or_else(|e| e.into_inner());
        build_fleet(&mut guard, options.profiles, options.users)
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("fleet.toml");
    let mut file = std::fs::File::create(&path).expect("config file");
    file.write_all(config(&profiles, &sandbox.endpoint(), options.rate_limit).as_bytes())
        .expect("config written");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }

    println!(
        "fleet: 4 clouds × {} profiles × {} users = {} users, {keys} keys; {} ms added to every request; --concurrency {}; rate limits: {}",
        options.profiles,
        options.users,
        4 * options.profiles * options.users,
        options.latency.as_millis(),
        options.concurrency,
        match options.rate_limit {
            None => "defaults".to_string(),
            Some(0) => "off".to_string(),
            Some(rate) => format!("{rate}/s per credential"),
        }
    );
    println!(
        "{:>4} {:>9} {:>9} {:>9} {:>7} {:>9}",
        "run", "requests", "wall s", "ideal s", "ratio", "findings"
    );
    let mut ratios = Vec::new();
    for run in 1..=options.runs {
        // Every request is delayed; the rule counts the requests it delayed.
        {
            let mut guard = state.lock().unwrap_or_else(|e| e.into_inner());
            guard.settings.faults = vec![Fault::always(Effect::Latency(options.latency))];
        }
        let started = Instant::now();
        let output = Command::new(binary)
            .env_clear()
            .env("HOME", dir.path())
            .env("NO_COLOR", "1")
            .arg("--config")
            .arg(&path)
            .args(["--all-profiles", "--concurrency"])
            .arg(options.concurrency.to_string())
            .args(["audit", "--all-users", "-o", "json"])
            .output()
            .expect("binary runs");
        let wall = started.elapsed();
        let requests = {
            let guard = state.lock().unwrap_or_else(|e| e.into_inner());
            usize::MAX - guard.settings.faults[0].times
        };
        let code = output.status.code();
        let findings = serde_json::from_slice::<serde_json::Value>(&output.stdout)
            .ok()
            .and_then(|v| v.as_array().map(Vec::len));
        if code != Some(1) || findings.is_none() {
            eprintln!(
                "unexpected result: exit {code:?}\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            std::process::exit(1);
        }
        let ideal = requests as f64 / options.concurrency as f64 * options.latency.as_secs_f64();
        let ratio = wall.as_secs_f64() / ideal;
        ratios.push(ratio);
        println!(
            "{run:>4} {requests:>9} {:>9.2} {ideal:>9.2} {ratio:>6.2}× {:>9}",
            wall.as_secs_f64(),
            findings.unwrap_or(0)
        );
    }
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    println!(
        "median ratio {median:.2}× of the ideal (target: within 1.5×): {}",
        if median <= 1.5 { "met" } else { "NOT met" }
    );
    runtime.block_on(sandbox.shutdown());
}
