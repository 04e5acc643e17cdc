//! `create [--user U] [--save FILE]`: a new key; the secret shown once or saved.

use std::io::Write;
use std::path::Path;

use super::{output_error, Context};
use crate::cli::CreateArgs;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{format_time, NewKey};

pub async fn run(ctx: &Context, args: &CreateArgs) -> Result<i32> {
    if let Some(path) = &args.save {
        // Refuse before creating anything: a key whose secret has nowhere to go is a lost secret.
        check_save_target(path)?;
    }
    let provider = ctx.single_provider(None)?;
    let user = Context::user_arg(&args.user);
    let mut key = provider.create_key(user.as_ref()).await?;
    key.record.compute_ages(chrono::Utc::now());
    match &args.save {
        None => {
            ctx.printer.new_key(&key, true).map_err(output_error)?;
            Ok(0)
        }
        Some(path) => match save_key(path, &key) {
            Ok(()) => {
                ctx.printer.note(&format!(
                    "created {}; secret saved to {}",
                    key.record.access_key_id,
                    path.display()
                ));
                ctx.printer.new_key(&key, false).map_err(output_error)?;
                Ok(0)
            }
            Err(err) => {
                // The key exists now; printing its secret is the only way not to lose it.
                ctx.printer.new_key(&key, true).map_err(output_error)?;
                Err(err)
            }
        },
    }
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

/// Writes the new key as JSON to a file that did not exist, mode 0600, synced to disk.
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
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let fail = |err: std::io::Error| {
        Error::new(
            ErrorKind::Io,
            format!("cannot save the new key to {}: {err}", path.display()),
        )
    };
    let mut file = options.open(path).map_err(fail)?;
    let text = serde_json::to_string_pretty(&document).unwrap_or_default();
    file.write_all(text.as_bytes())
        .and_then(|_| file.write_all(b"\n"))
        .and_then(|_| file.sync_all())
        .map_err(fail)
}
