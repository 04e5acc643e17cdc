//! `demo`: the main job with no cloud account, against an in-process sandbox.

use std::io::Write;

use super::{audit, list, Context};
use crate::cli::{AuditArgs, GlobalArgs, ListArgs};
use crate::config::Environment;
use crate::error::{Error, ErrorKind, Result};
use crate::sandbox::{Sandbox, Seed};

pub async fn run(mut global: GlobalArgs) -> Result<i32> {
    let sandbox = Sandbox::start(0, Seed::Demo)
        .await
        .map_err(|err| Error::new(ErrorKind::Io, format!("cannot start the sandbox: {err}")))?;
    let mut file = tempfile::Builder::new()
        .prefix("cloudkeys-demo")
        .suffix(".toml")
        .tempfile()
        .map_err(|err| Error::io("cannot write the demo config", &err))?;
    file.write_all(sandbox.config_toml().as_bytes())
        .map_err(|err| Error::io("cannot write the demo config", &err))?;
    global.config = Some(file.path().to_path_buf());
    global.all_profiles = true;
    global.profiles.clear();
    global.provider = None;
    global.endpoint = None;
    // Only the sandbox's profiles: none of the operator's own credentials are read.
    let ctx = Context::new(global, Environment::default())?;
    ctx.printer.note(&format!(
        "cloudkeys demo: a sandbox of {} accounts on {}; running `cloudkeys list --all-users --all-profiles`\n",
        sandbox.profiles().len(),
        sandbox.endpoint()
    ));
    let listed = list::run(
        &ctx,
        &ListArgs {
            user: None,
            all_users: true,
            no_last_used: false,
            exact: false,
        },
    )
    .await?;
    ctx.printer.note(
        "\ncloudkeys demo: running `cloudkeys audit --all-users --all-profiles` (the sample accounts break a few rules on purpose)\n",
    );
    let audited = audit::run(
        &ctx,
        &AuditArgs {
            all_users: true,
            ..AuditArgs::default()
        },
    )
    .await?;
    sandbox.shutdown().await;
    // Findings are the point of the demo, not a failure of it.
    Ok(match (listed, audited) {
        (0, audit::EXIT_FINDINGS) => 0,
        (0, code) => code,
        (code, _) => code,
    })
}
