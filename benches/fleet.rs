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

use common::{build_fleet, config, lock, rate_label, start_sandbox, timed_run, Options};

fn main() {
    let options = Options::parse("--profiles", 25, 3);
    let (runtime, sandbox) = start_sandbox();
    let state = sandbox.state();
    let (profiles, keys) = build_fleet(&mut lock(&state), options.count, options.users);
    let (dir, path) = support::private_config(
        "fleet.toml",
        &config(&profiles, &sandbox.endpoint(), options.rate_limit),
    );

    println!(
        "fleet: 4 clouds × {} profiles × {} users = {} users, {keys} keys; {} ms added to every request; --concurrency {}; rate limits: {}",
        options.count,
        options.users,
        4 * options.count * options.users,
        options.latency.as_millis(),
        options.concurrency,
        rate_label(options.rate_limit, "credential")
    );
    println!(
        "{:>4} {:>9} {:>9} {:>9} {:>7} {:>9}",
        "run", "requests", "wall s", "ideal s", "ratio", "findings"
    );
    let mut ratios = Vec::new();
    for run in 1..=options.runs {
        let mut command = support::cloudkeys(dir.path(), &path);
        command
            .args(["--all-profiles", "--concurrency"])
            .arg(options.concurrency.to_string())
            .args(["audit", "--all-users", "-o", "json"]);
        let (output, wall, _, requests) = timed_run(&state, options.latency, &mut command);
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
