//! `delete KEY_ID`: asks on a terminal; without one it needs `--yes`.

use std::io::BufRead;

use super::{check_key_id, output_error, require_confirmation, Context};
use crate::cli::KeyArgs;
use crate::error::Result;

pub async fn run(ctx: &Context, args: &KeyArgs) -> Result<i32> {
    check_key_id(&args.key_id)?;
    require_confirmation(ctx)?;
    let (provider, record) = ctx.key(args).await?;
    let owner = record.user.as_deref().unwrap_or("-");
    let signing = provider.whoami().await?.access_key_id == record.access_key_id;
    if !ctx.global.yes {
        let mut question = format!(
            "Delete {} access key {} of user {owner} (profile {}, {})?",
            record.provider, record.access_key_id, record.profile, record.status
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
