//! `last-used KEY_ID`: one key's last use.

use chrono::Utc;

use super::{output_error, Context};
use crate::cli::KeyArgs;
use crate::error::Result;

pub async fn run(ctx: &Context, args: &KeyArgs) -> Result<i32> {
    let (provider, mut record) = ctx.key(args).await?;
    record.apply_last_used(provider.last_used(&record.key_ref()).await?);
    record.compute_ages(Utc::now());
    ctx.printer.keys(&[record]).map_err(output_error)?;
    Ok(0)
}
