//! `list`: keys of the caller, of one user, or of every user.

use std::sync::Arc;

use chrono::Utc;
use futures::stream::{self, StreamExt, TryStreamExt};

use super::{output_error, sort_records, Context};
use crate::cli::{ListArgs, OutputFormat};
use crate::error::Result;
use crate::model::KeyRecord;
use crate::provider::AccessKeyProvider;

pub async fn run(ctx: &Context, args: &ListArgs) -> Result<i32> {
    let providers = ctx.providers(None)?;
    if ctx.printer.format == OutputFormat::Ndjson {
        return run_streamed(ctx, args, providers).await;
    }
    let (lists, errors) = ctx.for_each(&providers, |p| list_one(ctx, p, args)).await;
    let mut records: Vec<KeyRecord> = lists.into_iter().flatten().collect();
    sort_records(&mut records);
    let any = errors.len() < providers.len();
    // When every profile failed there is nothing to show, not "no access keys found".
    if any {
        ctx.printer.keys(&records).map_err(output_error)?;
    }
    Ok(ctx.finish(&errors, any))
}

/// `-o ndjson`: each profile's records are printed as soon as that profile, and every profile
/// before it, is done. Profiles go in the order `sort_records` gives them (provider, then
/// profile name) and each profile's records are sorted, so the lines are exactly the elements
/// of `-o json`, in the same order; only one profile's records are held at a time.
async fn run_streamed(
    ctx: &Context,
    args: &ListArgs,
    mut providers: Vec<Arc<dyn AccessKeyProvider>>,
) -> Result<i32> {
    providers.sort_by(|a, b| (a.kind(), a.profile()).cmp(&(b.kind(), b.profile())));
    let mut results = std::pin::pin!(ctx.each(&providers, |p| list_one(ctx, p, args)));
    let mut errors = Vec::new();
    while let Some(result) = results.next().await {
        match result {
            Ok(mut records) => {
                sort_records(&mut records);
                ctx.printer.keys(&records).map_err(output_error)?;
            }
            Err(err) => errors.push(err),
        }
    }
    let any = errors.len() < providers.len();
    Ok(ctx.finish(&errors, any))
}

/// Every key one profile can see for the chosen targets, with ages (and last use) filled in.
pub async fn list_one(
    ctx: &Context,
    provider: Arc<dyn AccessKeyProvider>,
    args: &ListArgs,
) -> Result<Vec<KeyRecord>> {
    let targets =
        super::audit::targets(provider.as_ref(), args.all_users, &args.user, args.exact).await?;
    let mut records: Vec<KeyRecord> = stream::iter(targets)
        .map(|user| {
            let provider = provider.clone();
            async move { provider.list_keys(user.as_ref()).await }
        })
        .buffered(ctx.concurrency())
        .try_concat()
        .await?;
    if !args.no_last_used {
        provider
            .fill_last_used(&mut records, ctx.concurrency())
            .await?;
    }
    let now = Utc::now();
    for record in &mut records {
        record.compute_ages(now);
    }
    Ok(records)
}
