//! A sandbox with one big AWS account, for the scale benchmark (see BENCHMARKS.md).
//!
//!     cargo run --release --example bigsandbox -- [--port P] [--users N] [--keys-per-user K]
//!
//! Starts the in-process sandbox with the small test world, then grows its AWS account
//! 111122223333 to N users (default 5,000) with K keys each (default 2, AWS's own maximum):
//! N × K keys in all, the existing users included. Prints a cloudkeys config on stdout (the
//! `aws-admin` profile can list every user's keys), then a last line `# ready`, and serves until
//! interrupted (Ctrl-C or SIGTERM).

use std::io::Write;
use std::process::ExitCode;

use chrono::{Duration, Utc};
use cloudkeys::model::KeyStatus;
use cloudkeys::sandbox::{Sandbox, Seed};

const ACCOUNT: &str = "111122223333";

struct Options {
    port: u16,
    users: usize,
    keys_per_user: usize,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        port: 0,
        users: 5_000,
        keys_per_user: 2,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| format!("{name} needs a value"))
                .and_then(|v| {
                    v.parse::<usize>()
                        .map_err(|_| format!("{name}: '{v}' is not a number"))
                })
        };
        match arg.as_str() {
            "--port" => {
                options.port = u16::try_from(value("--port")?)
                    .map_err(|_| "--port: at most 65535".to_string())?;
            }
            "--users" => options.users = value("--users")?,
            "--keys-per-user" => options.keys_per_user = value("--keys-per-user")?,
            // `cargo bench`/`cargo test` may pass these to any target.
            "--bench" | "--nocapture" => {}
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    if options.users < 4 {
        return Err("--users: at least 4 (the test world's users stay)".to_string());
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the runtime: {err}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(serve(options))
}

async fn serve(options: Options) -> ExitCode {
    let sandbox = match Sandbox::start(options.port, Seed::Test).await {
        Ok(sandbox) => sandbox,
        Err(err) => {
            eprintln!("error: cannot listen on 127.0.0.1:{}: {err}", options.port);
            return ExitCode::from(1);
        }
    };
    let started = std::time::Instant::now();
    let keys = grow(&sandbox, options.users, options.keys_per_user);
    eprintln!(
        "bigsandbox: account {ACCOUNT} has {} users and {keys} keys (seeded in {:.1?}); serving on {}",
        options.users,
        started.elapsed(),
        sandbox.endpoint()
    );
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{}# ready", sandbox.config_toml())
        .and_then(|_| out.flush())
        .is_err()
    {
        return ExitCode::from(1);
    }
    drop(out);
    wait_for_stop().await;
    sandbox.shutdown().await;
    ExitCode::SUCCESS
}

/// Grows the account to `users` users of `per_user` keys each; returns the number of keys.
fn grow(sandbox: &Sandbox, users: usize, per_user: usize) -> usize {
    let state = sandbox.state();
    let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
    let now = Utc::now();
    let Some(account) = state.aws_account_mut(ACCOUNT) else {
        return 0;
    };
    let mut n = account.users.len();
    while account.users.len() < users {
        let created = now - Duration::days(30 + (n % 1500) as i64);
        account.add_user(&format!("user-{n:05}"), false, created);
        n += 1;
    }
    let holders: Vec<(String, usize)> = account
        .users
        .iter()
        .map(|u| (u.name.clone(), u.keys.len()))
        .collect();
    for (index, (name, mut have)) in holders.into_iter().enumerate() {
        while have < per_user {
            let age = (index * 7 + have * 200) % 1200;
            let created_at = now - Duration::days(age as i64);
            let zero = std::time::Duration::ZERO;
            let (id, _) = state
                .aws
                .add_key(ACCOUNT, Some(name.as_str()), created_at, zero);
            let key = state.aws.find_key_mut(&id).expect("just made");
            // A third of the keys were used lately, some keys are disabled.
            if index % 3 == 0 {
                key.last_used = Some(now - Duration::days((index % 40) as i64));
                key.last_used_in = Some(("s3".into(), "us-east-1".into()));
            }
            if index % 10 == 9 && have > 0 {
                key.status = KeyStatus::Inactive;
            }
            have += 1;
        }
    }
    state.aws_account(ACCOUNT).map_or(0, |a| {
        a.root_keys.len() + a.users.iter().map(|u| u.keys.len()).sum::<usize>()
    })
}

/// Ctrl-C or SIGTERM.
async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
