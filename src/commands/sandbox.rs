//! `sandbox`: serve the local emulators and print a config that points at them.

use crate::cli::{GlobalArgs, SandboxArgs};
use crate::error::{Error, ErrorKind, Result};
use crate::sandbox::{Sandbox, Seed};

pub async fn run(args: &SandboxArgs, global: &GlobalArgs) -> Result<i32> {
    let sandbox = Sandbox::start(args.port, Seed::Demo)
        .await
        .map_err(|err| Error::usage(format!("cannot listen on 127.0.0.1:{}: {err}", args.port)))?;
    let printer = super::plain_printer(global.quiet);
    printer
        .raw(&sandbox.config_toml())
        .map_err(super::output_error)?;
    printer.note(&format!(
        "sandbox serving on {} (save the config above to a file and pass it with --config); Ctrl-C stops it",
        sandbox.endpoint()
    ));
    tokio::signal::ctrl_c()
        .await
        .map_err(|err| Error::new(ErrorKind::Io, format!("cannot wait for Ctrl-C: {err}")))?;
    sandbox.shutdown().await;
    Ok(0)
}
