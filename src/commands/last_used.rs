//! `last-used KEY_ID`: one key's last use.

use chrono::Utc;

use super::{check_key_id, find_key, output_error, Context};
use crate::cli::KeyArgs;
use crate::error::Result;

pub async fn run(ctx: &Context, args: &KeyArgs) -> Result<i32> {
    let hint = check_key_id(&args.key_id)?;
    let provider = ctx.single_provider(hint)?;
    let user = Context::user_arg(&args.user);
    let mut record = find_key(provider.as_ref(), &args.key_id, user.as_ref()).await?;
    let last_used = provider.last_used(&record.key_ref()).await?;
    record.apply_last_used(last_used);
    record.compute_ages(Utc::now());
    ctx.printer.keys(&[record]).map_err(output_error)?;
    Ok(0)
}
