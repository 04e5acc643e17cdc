//! `revoke KEY_ID [--delete]`: incident response. From the id alone, find which configured
//! account owns the key, disable it (or delete it), and say whose it was.

use std::sync::Arc;

use chrono::Utc;
use futures::stream::{self, StreamExt};

use super::{check_key_id, find_key, output_error, require_confirmation, Context};
use crate::cli::RevokeArgs;
use crate::config::Selection;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{IdentityType, KeyRecord, KeyStatus, ProviderKind};
use crate::provider::AccessKeyProvider;

pub async fn run(ctx: &Context, args: &RevokeArgs) -> Result<i32> {
    let key_id = args.key_id.as_str();
    // A valid id without a prefix is a Huawei AK.
    let hint = Some(check_key_id(key_id)?.unwrap_or(ProviderKind::Huawei));
    if args.delete {
        require_confirmation(ctx)?;
    }
    let profiles =
        if ctx.global.profiles.is_empty() && !ctx.global.all_profiles && ctx.orgs.is_empty() {
            // No profile named: every configured profile that could own the key.
            let provider = ctx.global.provider.map(ProviderKind::from).or(hint);
            ctx.config.select(
                &Selection {
                    names: Vec::new(),
                    all: true,
                    provider,
                },
                &ctx.env,
            )?
        } else {
            ctx.profiles(hint)?
        };
    let mut providers = profiles
        .iter()
        .map(|p| ctx.build(p))
        .collect::<Result<Vec<_>>>()?;
    match org_owner(ctx, &providers, key_id).await {
        Some(Owner::Profile(owner)) => providers.retain(|p| p.profile() == owner),
        Some(Owner::Outside(account)) => {
            // No member to assume: only the profiles named with -p may still hold it.
            let members = ctx.org_profiles();
            providers.retain(|p| {
                ctx.global.profiles.iter().any(|n| n == p.profile())
                    || !members.iter().any(|m| m == p.profile())
            });
            if providers.is_empty() {
                let orgs: Vec<&str> = ctx.orgs.iter().map(|o| o.name.as_str()).collect();
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!(
                        "{key_id} belongs to account {account}, which is not an account of \
                         organization {} (or its filters leave it out)",
                        orgs.join(", ")
                    ),
                ));
            }
        }
        None => {}
    }
    let names: Vec<&str> = providers.iter().map(|p| p.profile()).collect();
    let names = names.join(", ");
    ctx.printer.note(&format!(
        "looking for {key_id} through {} profile(s): {names}",
        providers.len()
    ));

    let (found, errors) = ctx
        .for_each(&providers, |p| async move {
            search(p.as_ref(), key_id, ctx.concurrency())
                .await
                .map(|r| r.map(|r| (p, r)))
        })
        .await;
    let Some((provider, record)) = found.into_iter().flatten().next() else {
        let mut message = format!("no configured profile can see {key_id} (searched {names})");
        if !errors.is_empty() {
            let failed: Vec<String> = errors.iter().map(ToString::to_string).collect();
            message.push_str(&format!("; could not search: {}", failed.join("; ")));
        }
        return Err(Error::new(ErrorKind::NotFound, message));
    };
    for err in &errors {
        ctx.printer.note(&format!("warning: {err}"));
    }
    revoke(ctx, provider, record, args.delete).await
}

/// Where `--org`'s management account says a key lives.
enum Owner {
    /// The profile of the organization account that owns it.
    Profile(String),
    /// An account no `--org` organization holds (after its filters).
    Outside(String),
}

/// With `--org`: the account that owns the key, as the management account's STS
/// GetAccessKeyInfo names it, so that only that account is assumed. `None` (search them all,
/// concurrently) if the cloud refuses to say.
async fn org_owner(
    ctx: &Context,
    providers: &[Arc<dyn AccessKeyProvider>],
    key_id: &str,
) -> Option<Owner> {
    let mut outside = None;
    for org in &ctx.orgs {
        // The source profile, even when the filters leave the management account out.
        let source = match providers.iter().find(|p| p.profile() == org.source) {
            Some(source) => source.clone(),
            None => {
                let profile = ctx.config.profiles.iter().find(|p| p.name == org.source)?;
                ctx.build(profile).ok()?
            }
        };
        match source.key_owner(key_id).await {
            Ok(Some(account)) => match org.profile_of(&account) {
                Some(profile) => return Some(Owner::Profile(profile.to_string())),
                None => outside = Some(Owner::Outside(account)),
            },
            Ok(None) => return None,
            Err(err) => {
                ctx.printer.note(&format!(
                    "warning: {err}; searching every account of organization {}",
                    org.name
                ));
                return None;
            }
        }
    }
    outside
}

/// The key's record if this profile's account owns it: the caller's own keys first, then
/// every user's, `concurrency` users at a time.
async fn search(
    provider: &dyn AccessKeyProvider,
    key_id: &str,
    concurrency: usize,
) -> Result<Option<KeyRecord>> {
    let me = provider.whoami().await?;
    if let (Some(owner), Some(mine)) = (provider.key_account(key_id).await?, &me.account_id) {
        if &owner != mine {
            return Ok(None);
        }
    }
    // A role session has no keys of its own to look through.
    if me.identity_type != IdentityType::Role {
        let own = provider.list_keys(None).await?;
        if let Some(record) = own.into_iter().find(|k| k.access_key_id == key_id) {
            return Ok(Some(record));
        }
    }
    let users = provider.list_users().await?;
    let mut lookups = stream::iter(users)
        .map(|user| async move { provider.list_keys(Some(&user)).await })
        .buffer_unordered(concurrency.max(1));
    while let Some(keys) = lookups.next().await {
        match keys {
            Ok(keys) => {
                if let Some(record) = keys.into_iter().find(|k| k.access_key_id == key_id) {
                    return Ok(Some(record));
                }
            }
            // A user deleted while we look is no reason to stop looking.
            Err(err) if err.kind == ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
    }
    Ok(None)
}

async fn revoke(
    ctx: &Context,
    provider: Arc<dyn AccessKeyProvider>,
    found: KeyRecord,
    delete: bool,
) -> Result<i32> {
    let user = found.key_ref().user;
    // Re-check right before acting: the key must still be this user's.
    let mut record = find_key(provider.as_ref(), &found.access_key_id, user.as_ref()).await?;
    if let Ok(last_used) = provider.last_used(&record.key_ref()).await {
        record.apply_last_used(last_used);
    }
    let owner = record.user.clone().unwrap_or_else(|| "-".into());
    let account = record.account_id.clone().unwrap_or_else(|| "?".into());
    ctx.printer.note(&format!(
        "found {} in {} account {account} (profile {}), user {owner}",
        record.access_key_id, record.provider, record.profile
    ));
    record.compute_ages(Utc::now());
    let id = record.access_key_id.clone();
    if delete {
        let question = format!(
            "Delete {} access key {id} of user {owner} (account {account})?",
            record.provider
        );
        if !ctx.global.yes && !super::delete::confirm(&question) {
            ctx.printer.note("cancelled: nothing was changed");
            return Ok(0);
        }
        provider.delete_key(&record.key_ref()).await?;
        ctx.printer.note(&format!("deleted {id}"));
        return ctx
            .printer
            .deleted(&record)
            .map(|()| 0)
            .map_err(output_error);
    }
    if record.status == KeyStatus::Inactive {
        ctx.printer.note(&format!("{id} was already inactive"));
    } else {
        let key = record.key_ref();
        provider.set_status(&key, KeyStatus::Inactive).await?;
        record.status = KeyStatus::Inactive;
        ctx.printer.note(&format!("disabled {id}"));
    }
    ctx.printer.keys(&[record]).map_err(output_error)?;
    Ok(0)
}
