//! cloudkeys: parse arguments, run the command, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use cloudkeys::cli::{Cli, Command, OutputFormat};
use cloudkeys::commands;
use cloudkeys::config::Environment;
use cloudkeys::error::{Error, ErrorKind};

fn main() -> ExitCode {
    cloudkeys::output::guard_standard_streams();
    no_core_dumps();
    let cli = Cli::parse();
    init_logging(cli.global.verbose);
    let json_errors = matches!(
        cli.global.output,
        Some(OutputFormat::Json | OutputFormat::Ndjson)
    );
    let code = match run(cli, json_errors) {
        Ok(code) => code,
        Err(err) => {
            report(&err, json_errors);
            err.exit_code()
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// A core dump would hold every secret in memory (the profile's, a new key's): none, and on
/// Linux no ptrace or /proc/PID/mem reads by other processes of the same user either.
fn no_core_dumps() {
    #[cfg(unix)]
    {
        let zero = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: plain system calls on this process with valid arguments.
        unsafe { libc::setrlimit(libc::RLIMIT_CORE, &zero) };
        #[cfg(target_os = "linux")]
        unsafe {
            libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0)
        };
    }
}

/// The top-level error on stderr; never panics, even with stderr gone.
fn report(err: &Error, json_errors: bool) {
    if json_errors {
        cloudkeys::output::stderr_line(&err.to_json().to_string());
    } else {
        cloudkeys::output::stderr_line(&format!("error: {err}"));
    }
}

fn run(cli: Cli, json_errors: bool) -> Result<i32, Error> {
    // Completions and profile listing make no call (but --org's listing): no runtime for them.
    if let Command::Completions(args) = &cli.command {
        return commands::completions::run(args);
    }
    if let Command::Man = &cli.command {
        return commands::completions::man();
    }
    if matches!(cli.command, Command::Profiles) && cli.global.orgs.is_empty() {
        let ctx = commands::Context::new(cli.global, Environment::from_process())?;
        return commands::profiles::run(&ctx);
    }
    let runtime = match cli.command {
        #[cfg(feature = "sandbox")]
        Command::Sandbox(_) | Command::Demo => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build(),
        _ => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
    }
    .map_err(|err| Error::new(ErrorKind::Io, format!("cannot start the runtime: {err}")))?;
    let env = Environment::from_process();
    let interrupted = || Error::new(ErrorKind::Interrupted, "interrupted");
    let result = runtime.block_on(async {
        tokio::select! {
            result = commands::run(cli, env) => result,
            // Waits out a critical section (a new key's secret being saved, printed or its key
            // deleted again) before giving up: stopping half-way would lose the secret.
            _ = cloudkeys::critical::interrupted() => Err(interrupted()),
        }
    });
    // A signal that came during a critical section let the command finish it (and maybe
    // return in the same poll): still an interrupted run, its own error said first.
    match result {
        Err(err) if cloudkeys::critical::signalled() && err.kind != ErrorKind::Interrupted => {
            report(&err, json_errors);
            Err(interrupted())
        }
        Ok(_) if cloudkeys::critical::signalled() => Err(interrupted()),
        other => other,
    }
}

/// Logs go to stderr; only cloudkeys' own events, since HTTP libraries' traces may show headers.
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::new(format!("warn,cloudkeys={level}"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
