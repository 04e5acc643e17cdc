//! Organization-scan benchmark (not a test): `cloudkeys --org acme audit --all-users` (and
//! `list --all-users`) over a sandbox AWS organization — the management account, whose admin
//! key is the only key in the config, and A member accounts × U users, each member read by
//! assuming its OrganizationAccountAccessRole — every request slowed by an injected latency,
//! run through the release binary. Reports the calls by action and the wall time against the
//! ideal `answered calls ÷ concurrency × latency` (`--concurrency` bounds the calls in flight
//! of the whole run, across the accounts and within each).
//!
//! ```text
//! cargo bench --bench org                  # 100 accounts × 20 users, 50 ms, concurrency 16
//! cargo bench --bench org -- --accounts 100 --users 20 --latency-ms 50 --concurrency 64 --runs 3
//! cargo bench --bench org -- --rate-limit 0        # [rate_limits] off
//! ```

// The fleet helpers this bench does not use (build_fleet, config) stay unused here.
#[allow(dead_code)]
mod common;
mod support;

use std::collections::BTreeSet;

use cloudkeys::model::ProviderKind;
use cloudkeys::sandbox::aws::ORG_ROLE;
use cloudkeys::sandbox::state::{AwsRole, OrgMember, Organization};
use cloudkeys::sandbox::{Account, State};
use common::{add_keys, ago, lock, rate_label, start_sandbox, timed_run, Options};

const MANAGEMENT: u64 = 810_000_000_000;

/// Seeds the organization; returns the management admin's (key id, secret) and the number of
/// keys in the member accounts.
fn build_org(state: &mut State, members: usize, users: usize) -> ((String, String), usize) {
    let now = chrono::Utc::now();
    let zero = std::time::Duration::ZERO;
    let management = MANAGEMENT.to_string();
    // ListAccounts answers the first organization it finds: the test seed's must go. It also
    // pages by two there; AWS's default (and maximum) page is 20.
    for account in &mut state.aws.accounts {
        account.organization = None;
    }
    state.aws.page_cap = 0;
    let member_id = |m: usize| (MANAGEMENT + 1 + m as u64).to_string();
    let joined = |id: String, name: String| OrgMember {
        account_id: id,
        name,
        state: "ACTIVE".into(),
        joined_at: ago(now, 400),
    };
    let mut accounts = vec![joined(management.clone(), "management".into())];
    accounts.extend((0..members).map(|m| joined(member_id(m), format!("member-{m:03}"))));

    let mut root = Account::new(ProviderKind::Aws, &management);
    root.add_user("admin", true, ago(now, 900));
    root.organization = Some(Organization {
        id: "o-b3nch00001".into(),
        accounts,
    });
    let cloud = state.cloud_mut(ProviderKind::Aws);
    cloud.accounts.push(root);
    let admin_key = cloud.add_key(&management, Some("admin"), ago(now, 30), zero);

    let mut keys = 0;
    for m in 0..members {
        let id = member_id(m);
        let mut account = Account::new(ProviderKind::Aws, &id);
        account.roles = vec![AwsRole::new(ORG_ROLE, &[&management])];
        for i in 0..users {
            account.add_user(&format!("user{i:03}"), false, ago(now, 500));
        }
        cloud.accounts.push(account);
        for i in 0..users {
            keys += add_keys(cloud, &id, &format!("user{i:03}"), i);
        }
    }
    (admin_key, keys)
}

fn config(key: &(String, String), endpoint: &str, rate_limit: Option<u64>) -> String {
    let mut text = String::new();
    if let Some(rate) = rate_limit {
        text.push_str(&format!("[rate_limits]\naws = {rate}\n\n"));
    }
    text.push_str(&format!(
        "[profiles.mgmt]\nprovider = \"aws\"\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\nregion = \"us-east-1\"\nendpoint = \"{endpoint}\"\n\n",
        key.0, key.1
    ));
    text.push_str("[organizations.acme]\nprovider = \"aws\"\nsource_profile = \"mgmt\"\n");
    text
}

/// The distinct `profile` values of a JSON array of records, and its length.
fn records(stdout: &[u8]) -> Option<(usize, BTreeSet<String>)> {
    let value: serde_json::Value = serde_json::from_slice(stdout).ok()?;
    let array = value.as_array()?;
    let profiles = array
        .iter()
        .filter_map(|r| r["profile"].as_str().map(str::to_string))
        .collect();
    Some((array.len(), profiles))
}

fn main() {
    let options = Options::parse("--accounts", 100, 1);
    let (runtime, sandbox) = start_sandbox();
    let state = sandbox.state();
    let (admin_key, member_keys) = build_org(&mut lock(&state), options.count, options.users);
    let (dir, path) = support::private_config(
        "org.toml",
        &config(&admin_key, &sandbox.endpoint(), options.rate_limit),
    );
    let accounts = options.count + 1;
    println!(
        "organization: management + {} members × {} users = {accounts} accounts, {} keys; {} ms added to every request; --concurrency {}; rate limits: {}",
        options.count,
        options.users,
        member_keys + 1,
        options.latency.as_millis(),
        options.concurrency,
        rate_label(options.rate_limit, "credential and API")
    );
    for command in ["list", "audit"] {
        for run in 1..=options.runs {
            let mut cmd = support::cloudkeys(dir.path(), &path);
            cmd.args(["--org", "acme", "--concurrency"])
                .arg(options.concurrency.to_string())
                .args([command, "--all-users", "-o", "json"]);
            let (output, wall, stats, _) = timed_run(&state, options.latency, &mut cmd);
            let code = output.status.code();
            let found = records(&output.stdout);
            // `list` shows every key; `audit` exits 1 with findings in every account (each
            // member holds old, unused and inactive keys).
            let ok = match (command, &found) {
                ("list", Some((n, profiles))) => {
                    code == Some(0) && *n == member_keys + 1 && profiles.len() == accounts
                }
                (_, Some((n, profiles))) => {
                    code == Some(1) && *n > 0 && profiles.len() >= options.count
                }
                _ => false,
            };
            if !ok {
                eprintln!(
                    "{command}: unexpected result: exit {code:?}, records {:?}\n{}",
                    found.as_ref().map(|(n, p)| (n, p.len())),
                    String::from_utf8_lossy(&output.stderr)
                );
                std::process::exit(1);
            }
            let (n, profiles) = found.unwrap_or_default();
            let answered = stats.requests - stats.throttled;
            let ideal =
                answered as f64 / options.concurrency as f64 * options.latency.as_secs_f64();
            println!(
                "\n{command} --all-users, run {run}: {n} records from {} accounts; exit {}",
                profiles.len(),
                code.unwrap_or(-1)
            );
            println!(
                "  calls {} ({} throttled by the sandbox): {}",
                stats.requests,
                stats.throttled,
                stats
                    .by_action
                    .iter()
                    .map(|(action, count)| format!("{action} {count}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            println!(
                "  wall {:.2} s, ideal {ideal:.2} s ({answered} ÷ {} × {} ms), ratio {:.2}×",
                wall.as_secs_f64(),
                options.concurrency,
                options.latency.as_millis(),
                wall.as_secs_f64() / ideal
            );
        }
    }
    revoke_by_search(&state, &options, dir.path(), &path);
    runtime.block_on(sandbox.shutdown());
}

/// `revoke KEY --org acme` with STS GetAccessKeyInfo refused: every member is assumed and
/// searched at once (each rules itself out by the account an AWS key id encodes), for a key
/// of the last member to join.
fn revoke_by_search(
    state: &std::sync::Arc<std::sync::Mutex<State>>,
    options: &Options,
    dir: &std::path::Path,
    path: &std::path::Path,
) {
    let last = (MANAGEMENT + options.count as u64).to_string();
    let key = {
        let mut guard = lock(state);
        guard.settings.denied_actions = vec!["GetAccessKeyInfo".to_string()];
        let account = guard.cloud_mut(ProviderKind::Aws).account(last.as_str());
        let keys = account.and_then(|a| a.keys("user000"));
        match keys.and_then(|k| k.first()) {
            Some(key) => key.access_key_id.clone(),
            None => return,
        }
    };
    let mut cmd = support::cloudkeys(dir, path);
    cmd.args(["--org", "acme", "--concurrency"])
        .arg(options.concurrency.to_string())
        .args(["revoke", &key, "-o", "json"]);
    let (output, wall, stats, _) = timed_run(state, options.latency, &mut cmd);
    if output.status.code() != Some(0) {
        eprintln!(
            "revoke: unexpected exit {:?}\n{}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        );
        std::process::exit(1);
    }
    println!(
        "\nrevoke by search (GetAccessKeyInfo refused): {} calls ({}), wall {:.2} s",
        stats.requests,
        stats
            .by_action
            .iter()
            .map(|(action, count)| format!("{action} {count}"))
            .collect::<Vec<_>>()
            .join(", "),
        wall.as_secs_f64()
    );
}
