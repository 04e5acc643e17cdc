//! `whoami`: the identity behind each selected profile.

use super::{output_error, Context};
use crate::error::Result;

pub async fn run(ctx: &Context) -> Result<i32> {
    let providers = ctx.providers(None)?;
    let (identities, errors) = ctx
        .for_each(&providers, |p| async move { p.whoami().await })
        .await;
    // When every profile failed there is nothing to show, not an empty table.
    if !identities.is_empty() {
        ctx.printer.identities(&identities).map_err(output_error)?;
    }
    Ok(ctx.finish(&errors, !identities.is_empty()))
}
