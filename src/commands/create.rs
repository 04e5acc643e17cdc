//! `create [--user U] [--save FILE]`: a new key; the secret shown once or saved.

use std::path::Path;

use super::Context;
use crate::cli::CreateArgs;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{format_time, KeyRecord, NewKey, UserRef};
use crate::provider::AccessKeyProvider;

/// Every cloud here allows two access keys per user.
pub const MAX_KEYS_PER_USER: usize = 2;

/// Refuses, before anything is created, when the user already has the most keys allowed.
pub fn check_room(
    provider: &dyn AccessKeyProvider,
    existing: &[KeyRecord],
    user: Option<&UserRef>,
) -> Result<()> {
    if existing.len() < MAX_KEYS_PER_USER {
        return Ok(());
    }
    let whose = user.map_or("the profile's own user".to_string(), |u| {
        format!("user {}", u.name)
    });
    Err(Error::new(
        ErrorKind::Limit,
        format!(
            "{whose} already has {} keys ({}), the most allowed; delete or rotate one first",
            existing.len(),
            super::key_ids(existing)
        ),
    )
    .with_provider(provider.kind())
    .with_profile(provider.profile()))
}

/// Creates a key, never twice. When the answer is lost (a 5xx, a dropped connection, a
/// timeout, an unreadable body) the cloud may or may not have made the key: the user's keys
/// are listed again and any key that appeared is named, since its secret can't be recovered.
pub async fn create_once(
    provider: &dyn AccessKeyProvider,
    user: Option<&UserRef>,
    before: &[KeyRecord],
) -> Result<NewKey> {
    let err = match provider.create_key(user).await {
        Ok(key) => return Ok(key),
        Err(err) => err,
    };
    if !answer_lost(err.kind) {
        return Err(err);
    }
    let mut err = err
        .with_provider(provider.kind())
        .with_profile(provider.profile());
    let user_flag = super::user_flag(user.map(|u| u.name.as_str()));
    err.message = match provider.list_keys(user).await {
        Ok(after) => {
            let appeared: Vec<&str> = after
                .iter()
                .filter(|k| !before.iter().any(|b| b.access_key_id == k.access_key_id))
                .map(|k| k.access_key_id.as_str())
                .collect();
            match appeared.as_slice() {
                [] => format!(
                    "{}; no key was created, so it is safe to try again",
                    err.message
                ),
                [id, ..] => format!(
                    "{}; the cloud did create key {id}, but its secret was lost with the answer: \
                     delete it (cloudkeys delete {id}{user_flag} --yes) and try again",
                    err.message
                ),
            }
        }
        Err(list_err) => format!(
            "{}; whether a key was created is unknown (listing the keys failed too: {}): \
             check with cloudkeys list{user_flag} before trying again",
            err.message, list_err.message
        ),
    };
    Err(err)
}

/// The create's answer did not come: whether the cloud made a key is unknown.
pub fn answer_lost(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::Server | ErrorKind::Network | ErrorKind::Timeout | ErrorKind::BadResponse
    )
}

pub async fn run(ctx: &Context, args: &CreateArgs) -> Result<i32> {
    if let Some(path) = &args.save {
        for profile in ctx.profiles(None)? {
            profile.refuse_role()?;
        }
        // Refuse before creating anything: a key whose secret has nowhere to go is a lost secret.
        check_save_target(path)?;
    }
    let provider = ctx.single_provider(None)?;
    let user = Context::user_arg(&args.user);
    let existing = provider.list_keys(user.as_ref()).await?;
    check_room(provider.as_ref(), &existing, user.as_ref())?;
    // From here until the secret is delivered or the key deleted, a signal waits.
    let _critical = crate::critical::enter();
    let mut key = create_once(provider.as_ref(), user.as_ref(), &existing).await?;
    key.record.compute_ages(chrono::Utc::now());
    super::deliver_new_key(ctx, provider.as_ref(), &key, args.save.as_deref()).await?;
    Ok(0)
}

/// The save file must not exist and its folder must.
pub fn check_save_target(path: &Path) -> Result<()> {
    if path.symlink_metadata().is_ok() {
        return Err(Error::usage(format!(
            "{} already exists; refusing to overwrite it",
            path.display()
        )));
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(Error::usage(format!(
            "cannot save to {}: folder {} does not exist",
            path.display(),
            parent.display()
        )));
    }
    Ok(())
}

/// `--save FILE` (create and rotate): the new key as JSON in a file that must not exist yet,
/// mode 0600, through the one locked, atomic write (temp file, fsync, rename, folder fsync), so
/// a failed write leaves no half-written secret file behind.
pub fn save_key(path: &Path, key: &NewKey) -> Result<()> {
    let record = &key.record;
    let document = serde_json::json!({
        "provider": record.provider,
        "profile": record.profile,
        "account_id": record.account_id,
        "user": record.user,
        "access_key_id": record.access_key_id,
        "secret_access_key": key.secret.expose(),
        "created_at": record.created_at.as_ref().map(format_time),
    });
    let text =
        zeroize::Zeroizing::new(serde_json::to_string_pretty(&document).unwrap_or_default() + "\n");
    crate::atomic::write_locked(path, 0o600, |current| match current {
        Some(_) => Err(Error::usage(format!(
            "{} already exists; refusing to overwrite it",
            path.display()
        ))),
        None => Ok(text.as_bytes().to_vec()),
    })
    .map(|_| ())
    .map_err(|err| {
        super::prefixed(
            err,
            format!("cannot save the new key to {}", path.display()),
        )
    })
}
