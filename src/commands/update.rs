//! `enable` / `disable KEY_ID`.

use chrono::Utc;

use super::{check_key_id, find_key, output_error, Context};
use crate::cli::KeyArgs;
use crate::error::Result;
use crate::model::KeyStatus;

pub async fn run(ctx: &Context, args: &KeyArgs, status: KeyStatus) -> Result<i32> {
    let hint = check_key_id(&args.key_id)?;
    let provider = ctx.single_provider(hint)?;
    let user = Context::user_arg(&args.user);
    // Re-check ownership first: the key must be this user's before we touch it.
    let mut record = find_key(provider.as_ref(), &args.key_id, user.as_ref()).await?;
    if status == KeyStatus::Inactive
        && provider.whoami().await?.access_key_id == record.access_key_id
    {
        ctx.printer.note(&format!(
            "warning: {} is the key profile {} signs with; it will stop working",
            record.access_key_id,
            provider.profile()
        ));
    }
    if record.status == status {
        ctx.printer
            .note(&format!("{} is already {status}", record.access_key_id));
    } else {
        provider.set_status(&record.key_ref(), status).await?;
        record.status = status;
        ctx.printer.note(&format!(
            "{} of user {} is now {status}",
            record.access_key_id,
            record.user.as_deref().unwrap_or("-")
        ));
    }
    record.compute_ages(Utc::now());
    ctx.printer.keys(&[record]).map_err(output_error)?;
    Ok(0)
}
