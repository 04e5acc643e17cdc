//! `completions SHELL`: a completion script on stdout.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::error::Result;

pub fn run(args: &CompletionsArgs) -> Result<i32> {
    let mut command = Cli::command();
    clap_complete::generate(
        args.shell,
        &mut command,
        "cloudkeys",
        &mut std::io::stdout(),
    );
    Ok(0)
}
