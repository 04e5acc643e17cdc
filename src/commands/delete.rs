//! `delete KEY_ID`: asks on a terminal; without one it needs `--yes`.

use std::io::{BufRead, IsTerminal};

use super::{check_key_id, find_key, output_error, Context};
use crate::cli::KeyArgs;
use crate::error::{Error, Result};

pub async fn run(ctx: &Context, args: &KeyArgs) -> Result<i32> {
    let hint = check_key_id(&args.key_id)?;
    if !ctx.global.yes && !std::io::stdin().is_terminal() {
        return Err(Error::usage(
            "refusing to delete without confirmation: no terminal to ask on; pass --yes",
        ));
    }
    let provider = ctx.single_provider(hint)?;
    let user = Context::user_arg(&args.user);
    // Re-check that the key is this user's before deleting it.
    let record = find_key(provider.as_ref(), &args.key_id, user.as_ref()).await?;
    let owner = record.user.clone().unwrap_or_else(|| "-".into());
    let signing = provider.whoami().await?.access_key_id == record.access_key_id;
    if !ctx.global.yes {
        let mut question = format!(
            "Delete {} access key {} of user {} (profile {}, {})?",
            record.provider, record.access_key_id, owner, record.profile, record.status
        );
        if signing {
            question.push_str(" It is the key this profile signs with.");
        }
        if !confirm(&question) {
            ctx.printer.note("cancelled: nothing was deleted");
            return Ok(0);
        }
    }
    provider.delete_key(&record.key_ref()).await?;
    ctx.printer.deleted(&record).map_err(output_error)?;
    Ok(0)
}

pub fn confirm(question: &str) -> bool {
    crate::output::prompt(&format!("{question} [y/N] "));
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}
