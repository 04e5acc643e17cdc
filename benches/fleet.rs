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

mod common;
mod support;

use std::time::{Duration, Instant};

use cloudkeys::sandbox::{Effect, Fault};
use common::{build_fleet, config, start_sandbox};

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

fn main() {
    let options = options();
    let (runtime, sandbox) = start_sandbox();
    let state = sandbox.state();
    let (profiles, keys) = {
        let mut guard = state.lock().unwrap_or_else(|e| e.into_inner());
        build_fleet(&mut guard, options.profiles, options.users)
    };
    let (dir, path) = support::private_config(
        "fleet.toml",
        &config(&profiles, &sandbox.endpoint(), options.rate_limit),
    );

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
        let output = support::cloudkeys(dir.path(), &path)
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
