//! Scale benchmark (not a test): one large account on each cloud, read through the release
//! binary against the sandbox.
//!
//! 1. Calls per 1,000 keys for `list --all-users` and `audit --all-users`, per-key (`--exact`,
//!    what every scan did before credential reports) and as cloudkeys reads now.
//! 2. The wall time of `list --all-users` when the sandbox throttles each key beyond
//!    `--rate-limit` calls a second per action (with each cloud's own throttling answer), against
//!    the ideal: answered calls ÷ the limit (a scan's phases — list the keys, then ask their
//!    last use — follow each other). cloudkeys starts below the limit (10/s; Tencent 20/s) and
//!    has to find it; its ceiling is raised out of the way.
//!
//! ```text
//! cargo bench --bench scale                                   # 7,500 users (~10,000 keys), 100/s
//! cargo bench --bench scale -- --users 7500 --rate-limit 100 --cloud tencent   # one cloud
//! ```

// The latency benches' helpers (Options, timed_run, rate_label) stay unused here.
#[allow(dead_code)]
mod common;
mod support;

use std::time::Instant;

use cloudkeys::model::ProviderKind;
use cloudkeys::sandbox::Stats;
use common::{build_fleet, config, flag, lock, start_sandbox};

fn main() {
    let users = flag("--users").unwrap_or(7_500) as usize;
    let limit = flag("--rate-limit").unwrap_or(100) as f64;
    let (runtime, sandbox) = start_sandbox();
    let state = sandbox.state();
    let (profiles, keys) = {
        let mut guard = lock(&state);
        build_fleet(&mut guard, 1, users)
    };
    let keys_per_cloud = keys as f64 / 4.0;
    // Ceilings far above the sandbox's limit: the adaptive rate has to find the limit itself.
    let (dir, path) = support::private_config(
        "scale.toml",
        &config(&profiles, &sandbox.endpoint(), Some(10_000)),
    );
    let run = |profile: &str, args: &[&str], rate_limit: Option<f64>| -> (Stats, f64) {
        {
            let mut guard = lock(&state);
            guard.stats = Stats::default();
            guard.settings.rate_limit = rate_limit;
            guard.rate_buckets.clear();
            // Every run makes its own credential report, as a first run would.
            for account in &mut guard.aws.accounts {
                account.credential_report = None;
            }
        }
        let started = Instant::now();
        let output = support::cloudkeys(dir.path(), &path)
            .args(["-p", profile, "-o", "json"])
            .args(args)
            .output()
            .expect("binary runs");
        let wall = started.elapsed().as_secs_f64();
        if !matches!(output.status.code(), Some(0 | 1)) {
            eprintln!(
                "{profile} {args:?}: exit {:?}\n{}",
                output.status.code(),
                String::from_utf8_lossy(&output.stderr)
            );
            std::process::exit(1);
        }
        (lock(&state).stats.clone(), wall)
    };
    println!(
        "scale: one account per cloud, {users} users, ~{keys_per_cloud:.0} keys each; sandbox limit {limit}/s per key and action"
    );
    println!(
        "{:<8} {:>22} {:>22} {:>8} {:>8} {:>8} {:>7} {:>10}",
        "cloud",
        "list calls/1k keys",
        "audit calls/1k keys",
        "wall s",
        "ideal s",
        "ratio",
        "calls",
        "throttled"
    );
    let only = std::env::args()
        .skip_while(|a| a != "--cloud")
        .nth(1)
        .and_then(|name| ProviderKind::parse(&name));
    for kind in ProviderKind::ALL {
        if only.is_some_and(|only| only != kind) {
            continue;
        }
        let profile = profiles
            .iter()
            .find(|p| p.provider == kind)
            .expect("a profile per cloud")
            .name
            .clone();
        let per_1k = |stats: &Stats| stats.requests as f64 / keys_per_cloud * 1000.0;
        let (list_before, _) = run(&profile, &["list", "--all-users", "--exact"], None);
        let (list_after, _) = run(&profile, &["list", "--all-users"], None);
        let (audit_before, _) = run(&profile, &["audit", "--all-users", "--exact"], None);
        let (audit_after, _) = run(&profile, &["audit", "--all-users"], None);
        let (limited, wall) = run(&profile, &["list", "--all-users"], Some(limit));
        let ideal = (limited.requests - limited.throttled) as f64 / limit;
        println!(
            "{:<8} {:>10.0} → {:<9.0} {:>10.0} → {:<9.0} {wall:>8.1} {ideal:>8.1} {:>7.2}× {:>7} {:>9.2}%",
            kind.as_str(),
            per_1k(&list_before),
            per_1k(&list_after),
            per_1k(&audit_before),
            per_1k(&audit_after),
            wall / ideal,
            limited.requests,
            100.0 * limited.throttled as f64 / limited.requests.max(1) as f64
        );
    }
    runtime.block_on(sandbox.shutdown());
}
