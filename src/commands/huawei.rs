//! `huawei cce-aksk-status`: the CCE long-term AK/SK status of a project. It is no access-key
//! operation, so it talks to the Huawei provider's own CCE client rather than the trait.

use futures::stream::{self, StreamExt};

use super::{output_error, split, Context};
use crate::cli::{CceAkskStatusArgs, HuaweiCommand};
use crate::config::Selection;
use crate::error::{Error, Result};
use crate::model::ProviderKind;
use crate::provider::{self, AccessKeyProvider, ProviderOptions};
use crate::providers::huawei::{cce, CceAkskStatus, HuaweiProvider};

pub async fn run(ctx: &Context, command: &HuaweiCommand) -> Result<i32> {
    match command {
        HuaweiCommand::CceAkskStatus(args) => cce_aksk_status(ctx, args).await,
    }
}

/// The Huawei profiles selected (`-p`, `--all-profiles`, else Huawei's default one).
fn providers(ctx: &Context) -> Result<Vec<HuaweiProvider>> {
    if let Some(chosen) = ctx.global.provider.map(ProviderKind::from) {
        if chosen != ProviderKind::Huawei {
            return Err(Error::usage(format!(
                "`huawei` commands need a huawei profile, but --provider {chosen} was given"
            )));
        }
    }
    let selection = Selection {
        names: ctx.global.profiles.clone(),
        all: ctx.global.all_profiles,
        provider: Some(ProviderKind::Huawei),
    };
    let profiles = ctx.config.select(&selection, &ctx.env)?;
    let options = ProviderOptions {
        page_size: None,
        ..ctx.options()?
    };
    profiles
        .iter()
        .map(|profile| {
            provider::resolve(profile, &options)
                .and_then(|resolved| HuaweiProvider::for_profile(resolved, &options))
                .map_err(|err| err.with_profile(&profile.name))
        })
        .collect()
}

async fn status_of(provider: &HuaweiProvider, project_id: Option<&str>) -> Result<CceAkskStatus> {
    let project_id = project_id.or(provider.project_id()).ok_or_else(|| {
        Error::usage("no project id: pass --project-id or set project_id in the profile")
    })?;
    provider.cce_aksk_status(project_id).await
}

async fn cce_aksk_status(ctx: &Context, args: &CceAkskStatusArgs) -> Result<i32> {
    let providers = providers(ctx)?;
    ctx.printer.note(
        "note: Huawei marks CCE's CheckAKSK API (long-term AK/SK status) as \"to be discarded\"; it may stop answering without notice",
    );
    let results: Vec<Result<CceAkskStatus>> = stream::iter(&providers)
        .map(|provider| async move {
            status_of(provider, args.project_id.as_deref())
                .await
                .map_err(|err| {
                    err.with_provider(ProviderKind::Huawei)
                        .with_profile(provider.profile())
                })
        })
        .buffered(ctx.concurrency())
        .collect()
        .await;
    let (statuses, errors) = split(results);
    let values: Vec<_> = statuses
        .iter()
        .map(|s| serde_json::to_value(s).unwrap_or_default())
        .collect();
    if !values.is_empty() || errors.is_empty() {
        ctx.printer
            .records(&values, &cce::COLUMNS)
            .map_err(output_error)?;
    }
    Ok(ctx.finish(&errors, !values.is_empty()))
}
