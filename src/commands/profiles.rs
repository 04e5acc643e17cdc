//! `profiles`: what was found and where, secrets hidden. Makes no network call, except
//! listing the accounts of `--org` organizations.

use super::{output_error, Context};
use crate::error::Result;
use crate::output::ProfileRow;

pub fn run(ctx: &Context) -> Result<i32> {
    let provider = ctx.global.provider.map(crate::model::ProviderKind::from);
    let rows: Vec<ProfileRow> = ctx
        .config
        .profiles
        .iter()
        .filter(|p| provider.is_none_or(|k| p.provider == k))
        // With --org: that organization's accounts (and any -p profile) only.
        .filter(|p| {
            ctx.orgs.is_empty()
                || ctx.org_profiles().contains(&p.name)
                || ctx.global.profiles.contains(&p.name)
        })
        .map(|p| ProfileRow {
            name: p.name.clone(),
            provider: p.provider.to_string(),
            access_key_id: p.access_key_id.clone(),
            region: p.region.clone(),
            endpoint: p.endpoint.clone(),
            source: match (&p.role, &p.secret_env) {
                (Some(role), _) => format!("{} ({})", role.describe(), p.source),
                (None, Some(var)) if p.source != crate::config::Source::Environment => {
                    format!("{} (secret from ${var})", p.source)
                }
                _ => p.source.to_string(),
            },
        })
        .collect();
    ctx.printer.profiles(&rows).map_err(output_error)?;
    Ok(0)
}
