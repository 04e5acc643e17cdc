//! `completions SHELL`: a completion script on stdout; `man` (hidden): the man page.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::error::{Error, ErrorKind, Result};

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

/// The man page of cloudkeys (section 1, roff) on stdout, built from the same command tree
/// as `--help`; the release archives carry it.
pub fn man() -> Result<i32> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .map_err(|err| Error::new(ErrorKind::Io, format!("cannot render the man page: {err}")))?;
    super::plain_printer(true)
        .raw(&String::from_utf8_lossy(&page))
        .map_err(super::output_error)?;
    Ok(0)
}
