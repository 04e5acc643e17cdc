//! `enable` / `disable KEY_ID`.

use chrono::Utc;

use super::{output_error, Context};
use crate::cli::KeyArgs;
use crate::error::Result;
use crate::model::KeyStatus;

pub async fn run(ctx: &Context, args: &KeyArgs, status: KeyStatus) -> Result<i32> {
    let (provider, mut record) = ctx.key(args).await?;
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
