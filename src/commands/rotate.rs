//! `rotate`: replace a key without ever losing a secret (DESIGN.md, "Rotation must never lose a
//! secret"). A small journal (no secret in it) records how far a rotation got, so running the
//! same command again after an interruption finishes the job instead of starting over.
//!
//! The journal of a create survives only when the create's answer was lost (or cloudkeys was
//! stopped before it came): a definite answer, success or refusal, replaces or removes it. It
//! names the keys the user had before the create and a time window around it; a later run
//! deletes only a key that was not among them, was created inside the window (and, when the
//! keys could be listed after the lost answer, appeared then), and only after asking on a
//! terminal or with `--yes`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::create::{check_room, check_save_target, create_once};
use super::{check_key_id, find_key, output_error, Context};
use crate::cli::{OldKeyAction, OutputFormat, RotateArgs};
use crate::config::{Environment, Profile};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{format_time, KeyRecord, KeyRef, KeyStatus, NewKey, Secret, UserRef};
use crate::provider::AccessKeyProvider;
use crate::{atomic, critical, writeback};

/// Where the new secret goes.
enum Target {
    /// Back into the profile's own source (config file or native CLI file).
    Profile,
    /// A new file of its own.
    File(PathBuf),
}

/// How far an interrupted rotation got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Stage {
    /// A create call was (about to be) sent; its answer may have been lost.
    Creating,
    /// The new secret is stored; the new key still has to be proven.
    Saved,
    /// The new key works; the old key still has to be dealt with.
    Verified,
}

/// No secret in it. The fields after `started_at` are missing from journals of older versions.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Journal {
    stage: Stage,
    old_key_id: String,
    new_key_id: Option<String>,
    saved_to: Option<PathBuf>,
    started_at: DateTime<Utc>,
    #[serde(default)]
    profile: String,
    #[serde(default)]
    provider: String,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    user: Option<String>,
    /// The user's key ids just before the create: none of them is ever an orphan.
    #[serde(default)]
    keys_before: Option<Vec<String>>,
    /// A key the lost create made was created (cloud's clock) no earlier than this…
    #[serde(default)]
    window_start: Option<DateTime<Utc>>,
    /// …and no later than this (unknown when cloudkeys was stopped during the create).
    #[serde(default)]
    window_end: Option<DateTime<Utc>>,
    /// The keys that appeared between the listings before and after the lost answer, when the
    /// second listing worked.
    #[serde(default)]
    appeared: Option<Vec<String>>,
}

/// How far the cloud's clock may be from ours. The create's time window is widened by it: the
/// cloud's `Date` header is not kept by the HTTP client, so the window is read on our clock.
const CLOCK_TOLERANCE: chrono::TimeDelta = chrono::TimeDelta::minutes(5);
/// The longest a create call can take (the HTTP client's timeouts are far shorter).
const CREATE_LONGEST: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// The steps, reported as they happen (stderr) and as a whole (`-o json`).
struct Report<'a> {
    ctx: &'a Context,
    steps: Vec<Value>,
}

impl Report<'_> {
    fn step(&mut self, step: &str, status: &str, detail: impl Into<String>) {
        let detail = detail.into();
        let mark = match status {
            "done" => "✓",
            "failed" => "✗",
            "planned" => "·",
            _ => "-",
        };
        // Not eprintln!: a closed stderr must never abort a rotation half-way.
        if !self.ctx.printer.quiet {
            let _ = writeln!(std::io::stderr(), "{mark} {step}: {detail}");
        }
        self.steps
            .push(json!({ "step": step, "status": status, "detail": detail }));
    }
}

/// Everything the final report names.
struct Outcome {
    old_key_id: String,
    new_key: Option<NewKey>,
    saved_to: Option<String>,
    old_key: &'static str,
    /// The secret had to be printed because it could not be stored.
    secret_printed: bool,
}

pub async fn run(ctx: &Context, args: &RotateArgs) -> Result<i32> {
    if let Some(key) = &args.key {
        check_key_id(key)?;
    }
    let mut profiles = ctx.profiles(
        args.key
            .as_deref()
            .and_then(|k| check_key_id(k).ok().flatten()),
    )?;
    if profiles.len() != 1 {
        return Err(Error::usage(format!(
            "rotate acts on one profile, but {} were selected; choose one with -p NAME",
            profiles.len()
        )));
    }
    let profile = profiles.remove(0);
    if profile.session_token.is_some() {
        return Err(Error::usage(format!(
            "profile {} uses temporary credentials (a session token): there is no long-term key to rotate",
            profile.name
        )));
    }
    let user = Context::user_arg(&args.user);
    let target = match (&args.save, &user) {
        (Some(path), _) => Target::File(path.clone()),
        (None, Some(u)) => {
            return Err(Error::usage(format!(
            "rotating user {}'s key needs --save FILE: profile {} holds its own key, not theirs",
            u.name, profile.name
        )))
        }
        (None, None) => Target::Profile,
    };
    let provider = ctx.build(&profile)?;
    let journal_path = journal_path(&ctx.env, &profile, user.as_ref())?;
    let mut report = Report {
        ctx,
        steps: Vec::new(),
    };
    let result = rotate(
        ctx,
        args,
        &profile,
        provider,
        user.as_ref(),
        &target,
        &journal_path,
        &mut report,
    )
    .await;
    let (outcome, error) = match result {
        Ok(outcome) => (Some(outcome), None),
        Err((outcome, err)) => (outcome.map(|o| *o), Some(err)),
    };
    let printed = print_report(
        ctx,
        &profile,
        user.as_ref(),
        args,
        outcome.as_ref(),
        &report,
    );
    match error {
        None => printed.map(|()| 0),
        // The rotation's own error says what became of the keys: it must not be lost to
        // a report that could not be printed.
        Some(err) => {
            if let Err(print_err) = printed {
                ctx.printer.note(&format!("warning: {print_err}"));
            }
            Err(err
                .with_provider(profile.provider)
                .with_profile(&profile.name))
        }
    }
}

/// A failed rotation: what it got done (boxed: it is large) and why it stopped.
type Failed = (Option<Box<Outcome>>, Error);

#[allow(clippy::too_many_arguments)]
async fn rotate(
    ctx: &Context,
    args: &RotateArgs,
    profile: &Profile,
    provider: Arc<dyn AccessKeyProvider>,
    user: Option<&UserRef>,
    target: &Target,
    journal_path: &Path,
    report: &mut Report<'_>,
) -> std::result::Result<Outcome, Failed> {
    let fail = |err: Error| (None, err);
    let me = provider.whoami().await.map_err(fail)?;
    let mut keys = provider.list_keys(user).await.map_err(fail)?;
    let whose = user.map_or(format!("profile {}'s own user", profile.name), |u| {
        format!("user {}", u.name)
    });

    // An earlier run that stopped half-way?
    let journal = read_journal(journal_path).map_err(fail)?;
    if let Some(entry) = &journal {
        match (entry.stage, &entry.new_key_id) {
            (Stage::Saved | Stage::Verified, Some(new_id))
                if keys.iter().any(|k| &k.access_key_id == new_id) =>
            {
                report.step(
                    "resume",
                    "done",
                    format!(
                        "an earlier rotation of {} got as far as '{:?}'; finishing it",
                        entry.old_key_id, entry.stage
                    )
                    .to_lowercase(),
                );
                return finish(
                    ctx,
                    args,
                    profile,
                    provider,
                    user,
                    target,
                    journal_path,
                    entry,
                    &keys,
                    report,
                )
                .await;
            }
            (Stage::Creating, _) => {
                // The create's answer was lost last time: a key it made has a secret nobody
                // has. Delete it (asking first), so the user has room again.
                let deleted = clean_up_lost_create(
                    ctx,
                    provider.as_ref(),
                    entry,
                    &keys,
                    &me,
                    journal_path,
                    report,
                )
                .await
                .map_err(fail)?;
                if deleted {
                    keys = provider.list_keys(user).await.map_err(fail)?;
                }
            }
            _ => {}
        }
        remove_journal(journal_path);
    }

    // 1. The key to replace.
    let old = match (&args.key, user) {
        (Some(id), _) => id.clone(),
        (None, None) => me.access_key_id.clone(),
        (None, Some(_)) => match keys.as_slice() {
            [only] => only.access_key_id.clone(),
            [] => {
                return Err(fail(Error::new(
                    ErrorKind::NotFound,
                    format!(
                        "{whose} has no access key to rotate (create one with cloudkeys create)"
                    ),
                )))
            }
            several => {
                let ids: Vec<&str> = several.iter().map(|k| k.access_key_id.as_str()).collect();
                return Err(fail(Error::usage(format!(
                    "{whose} has {} keys ({}); choose the one to replace with --key",
                    ids.len(),
                    ids.join(", ")
                ))));
            }
        },
    };
    let Some(old_record) = keys.iter().find(|k| k.access_key_id == old).cloned() else {
        return Err(fail(Error::new(
            ErrorKind::NotFound,
            format!("no access key {old} belongs to {whose}"),
        )));
    };
    if matches!(target, Target::Profile) && old != me.access_key_id {
        return Err(fail(Error::usage(format!(
            "{old} is not the key profile {} signs with, so its replacement can't be written into the profile: pass --save FILE",
            profile.name
        ))));
    }
    report.step(
        "find",
        "done",
        format!(
            "{old} of {whose} ({}, created {})",
            old_record.status,
            old_record
                .created_at
                .as_ref()
                .map_or("?".to_string(), format_time)
        ),
    );

    // 2. Room for a second key, and somewhere to put its secret — before creating anything.
    check_room(provider.as_ref(), &keys, user).map_err(fail)?;
    report.step("check", "done", format!("{whose} has room for a new key"));
    let destination = match target {
        Target::Profile => {
            writeback::check(profile).map_err(fail)?;
            profile.source.to_string()
        }
        Target::File(path) => {
            check_save_target(path).map_err(fail)?;
            path.display().to_string()
        }
    };
    if args.dry_run {
        report.step("create", "planned", format!("a new key for {whose}"));
        report.step("save", "planned", format!("its secret into {destination}"));
        report.step("verify", "planned", "a signed read call with the new key");
        report.step("old key", "planned", old_action_plan(args.old, &old));
        return Ok(Outcome {
            old_key_id: old,
            new_key: None,
            saved_to: None,
            old_key: "active",
            secret_printed: false,
        });
    }

    // 3. Create, once. The journal is written first, so that even a run stopped before the
    // answer came leaves what a later run needs to recognise the key it may have made.
    let now = Utc::now();
    let mut entry = Journal {
        stage: Stage::Creating,
        old_key_id: old.clone(),
        new_key_id: None,
        saved_to: None,
        started_at: now,
        profile: profile.name.clone(),
        provider: profile.provider.to_string(),
        account: me.account_id.clone(),
        user: user.map(|u| u.name.clone()).or_else(|| me.user.clone()),
        keys_before: Some(keys.iter().map(|k| k.access_key_id.clone()).collect()),
        window_start: Some(now),
        window_end: None,
        appeared: None,
    };
    write_journal(journal_path, &entry).map_err(fail)?;
    // From the create until the secret is stored (or the key deleted again), a SIGINT or
    // SIGTERM waits: stopping in between would lose the secret.
    let critical = critical::enter();
    let new_key = match create_once(provider.as_ref(), user, &keys).await {
        Ok(key) => key,
        Err(err) => {
            if answer_lost(&err) {
                keep_lost_create(provider.as_ref(), user, &mut entry, journal_path).await;
            } else {
                // A definite answer: nothing was made, nothing is left to clean up.
                remove_journal(journal_path);
            }
            report.step("create", "failed", err.message.clone());
            return Err(fail(err));
        }
    };
    let new_id = new_key.record.access_key_id.clone();

    // 4. Save the secret before anything else (and only then say the key exists).
    let saved = match target {
        Target::Profile => writeback::write(profile, &old, &new_id, &new_key.secret),
        Target::File(path) => super::create::save_key(path, &new_key).map(|()| path.clone()),
    };
    let saved_to = match saved {
        Ok(path) => path,
        Err(err) => {
            report.step("create", "done", new_id.clone());
            report.step("save", "failed", err.message.clone());
            return Err(undo_create(
                ctx,
                provider.as_ref(),
                new_key,
                old,
                err,
                journal_path,
                report,
            )
            .await);
        }
    };
    report.step("create", "done", new_id.clone());
    report.step(
        "save",
        "done",
        format!("secret of {new_id} saved to {}", saved_to.display()),
    );
    entry.stage = Stage::Saved;
    entry.new_key_id = Some(new_id.clone());
    entry.saved_to = matches!(target, Target::File(_)).then(|| saved_to.clone());
    // The secret is safe; a journal that can't be written only costs a manual finish.
    if let Err(err) = write_journal(journal_path, &entry) {
        tracing::warn!("{err}");
    }
    drop(critical);
    let saved_to = saved_to.display().to_string();
    let finished = finish_steps(
        ctx,
        args,
        profile,
        provider.clone(),
        user,
        journal_path,
        &mut entry,
        report,
        &new_key,
        &saved_to,
    )
    .await;
    match finished {
        // The old secret was overwritten in the profile's file: a new key that never works
        // is abandoned and the file put back as it was, so the profile keeps working.
        Err(Stop::Unproven(cause)) if matches!(target, Target::Profile) => {
            abandon(
                args,
                profile,
                provider.as_ref(),
                new_key,
                cause,
                journal_path,
                report,
            )
            .await
        }
        other => conclude(
            other.map_err(|stop| stop.into_error(args, &entry, &saved_to)),
            old,
            new_key,
            saved_to,
        ),
    }
}

/// Resumes a rotation whose new key was already saved.
#[allow(clippy::too_many_arguments)]
async fn finish(
    ctx: &Context,
    args: &RotateArgs,
    profile: &Profile,
    provider: Arc<dyn AccessKeyProvider>,
    user: Option<&UserRef>,
    target: &Target,
    journal_path: &Path,
    entry: &Journal,
    keys: &[KeyRecord],
    report: &mut Report<'_>,
) -> std::result::Result<Outcome, Failed> {
    let new_id = entry.new_key_id.clone().unwrap_or_default();
    let record = keys
        .iter()
        .find(|k| k.access_key_id == new_id)
        .cloned()
        .unwrap_or_else(|| {
            KeyRecord::new(
                profile.provider,
                &profile.name,
                new_id.clone(),
                KeyStatus::Active,
            )
        });
    // The secret is where the first run saved it.
    let secret = match (target, &entry.saved_to) {
        (Target::Profile, _) if profile.access_key_id == new_id => profile.secret_access_key.clone(),
        (_, Some(path)) => read_saved_secret(path, &new_id).map_err(|e| (None, e))?,
        _ => {
            return Err((
                None,
                Error::new(
                    ErrorKind::Config,
                    format!(
                        "the interrupted rotation saved {new_id}, but profile {} now holds {}: fix the profile, or delete {new_id} and rotate again",
                        profile.name, profile.access_key_id
                    ),
                ),
            ))
        }
    };
    let saved_to = entry
        .saved_to
        .as_ref()
        .map_or(profile.source.to_string(), |p| p.display().to_string());
    let new_key = NewKey { record, secret };
    let mut entry = entry.clone();
    let finished = finish_steps(
        ctx,
        args,
        profile,
        provider,
        user,
        journal_path,
        &mut entry,
        report,
        &new_key,
        &saved_to,
    )
    .await
    .map_err(|stop| stop.into_error(args, &entry, &saved_to));
    conclude(finished, entry.old_key_id, new_key, saved_to)
}

/// The report of a rotation that got its new key saved, however the last steps went.
fn conclude(
    finished: Result<&'static str>,
    old_key_id: String,
    new_key: NewKey,
    saved_to: String,
) -> std::result::Result<Outcome, Failed> {
    let (old_key, error) = match finished {
        Ok(state) => (state, None),
        Err(err) => ("active", Some(err)),
    };
    let outcome = Outcome {
        old_key_id,
        new_key: Some(new_key),
        saved_to: Some(saved_to),
        old_key,
        secret_printed: false,
    };
    match error {
        None => Ok(outcome),
        Some(err) => Err((Some(Box::new(outcome)), err)),
    }
}

/// Steps 5 and 6: prove the new key, then deal with the old one. Returns the old key's state.
#[allow(clippy::too_many_arguments)]
async fn finish_steps(
    ctx: &Context,
    args: &RotateArgs,
    profile: &Profile,
    provider: Arc<dyn AccessKeyProvider>,
    user: Option<&UserRef>,
    journal_path: &Path,
    entry: &mut Journal,
    report: &mut Report<'_>,
    new_key: &NewKey,
    saved_to: &str,
) -> std::result::Result<&'static str, Stop> {
    let new_id = new_key.record.access_key_id.clone();
    let old = entry.old_key_id.clone();
    let wait = Duration::from_secs(args.verify_timeout);

    // 5. Prove the new key with a signed read call, waiting out eventual consistency.
    let mut with_new = profile.clone();
    with_new.access_key_id = new_id.clone();
    with_new.secret_access_key = new_key.secret.clone();
    if entry.stage == Stage::Saved {
        let proven = retry_until(wait, || async {
            let identity = ctx.build(&with_new)?.whoami().await?;
            if identity.access_key_id == new_id {
                Ok(())
            } else {
                Err(Error::bad_response(format!(
                    "the cloud says the new key's caller signs with {}",
                    identity.access_key_id
                )))
            }
        })
        .await;
        if let Err(err) = proven {
            report.step("verify", "failed", err.message.clone());
            return Err(Stop::Unproven(err));
        }
        report.step("verify", "done", format!("{new_id} signs requests"));
        entry.stage = Stage::Verified;
        if let Err(err) = write_journal(journal_path, entry) {
            tracing::warn!("{err}");
        }
    }

    // 6. Only now the old key. For one's own key the new key does it: it is the one that works.
    let operator = if user.is_none() {
        ctx.build(&with_new).map_err(Stop::Other)?
    } else {
        provider
    };
    let action = args.old;
    let state = if action == OldKeyAction::Keep {
        report.step(
            "old key",
            "skipped",
            format!("{old} kept active (--old keep)"),
        );
        "active"
    } else {
        let done = retry_until(wait, || async {
            // Re-check that the key is still this user's before touching it.
            let record = match find_key(operator.as_ref(), &old, user).await {
                Ok(record) => record,
                // Gone already (an earlier run deleted it): nothing left to do.
                Err(err) if err.kind == ErrorKind::NotFound && action == OldKeyAction::Delete => {
                    return Ok(());
                }
                Err(err) => return Err(err),
            };
            let key = KeyRef {
                access_key_id: record.access_key_id.clone(),
                user: user.cloned(),
            };
            match action {
                OldKeyAction::Delete => operator.delete_key(&key).await,
                _ if record.status == KeyStatus::Inactive => Ok(()),
                _ => operator.set_status(&key, KeyStatus::Inactive).await,
            }
        })
        .await;
        if let Err(err) = done {
            report.step("old key", "failed", err.message.clone());
            let verb = if action == OldKeyAction::Delete {
                "delete"
            } else {
                "disable"
            };
            let user_flag = user.map_or(String::new(), |u| format!(" --user {}", u.name));
            let mut err = err;
            err.message = format!(
                "new key {new_id} is saved in {saved_to} and works, but old key {old} is still active ({}): {verb} it with cloudkeys {verb} {old}{user_flag}, or run the same rotate again",
                err.message
            );
            return Err(Stop::Other(err));
        }
        let state = if action == OldKeyAction::Delete {
            "deleted"
        } else {
            "inactive"
        };
        report.step("old key", "done", format!("{old} {state}"));
        state
    };
    if entry.saved_to.is_none() {
        // Written back into the profile's file, and the new key works: the old content kept
        // beside it is no longer needed.
        writeback::discard_backup(profile);
    }
    remove_journal(journal_path);
    Ok(state)
}

/// Why [`finish_steps`] stopped.
enum Stop {
    /// The new key was not accepted (within `--verify-timeout`, or refused outright).
    Unproven(Error),
    Other(Error),
}

impl Stop {
    fn into_error(self, args: &RotateArgs, entry: &Journal, saved_to: &str) -> Error {
        match self {
            Stop::Other(err) => err,
            Stop::Unproven(err) => Error::new(
                ErrorKind::Timeout,
                format!(
                    "new key {} is saved in {saved_to} but was not accepted within {}s ({}); old key {} is still active. Run the same rotate again to finish",
                    entry.new_key_id.as_deref().unwrap_or("?"),
                    args.verify_timeout,
                    err.message,
                    entry.old_key_id
                ),
            ),
        }
    }
}

/// The new key written back into the profile's file never worked: put the old key back into
/// the file, then delete the new key. If the file can't be put back, the new key stays (the
/// file holds it) and the old content stays in its backup.
#[allow(clippy::too_many_arguments)]
async fn abandon(
    args: &RotateArgs,
    profile: &Profile,
    provider: &dyn AccessKeyProvider,
    new_key: NewKey,
    cause: Error,
    journal_path: &Path,
    report: &mut Report<'_>,
) -> std::result::Result<Outcome, Failed> {
    let new_id = new_key.record.access_key_id.clone();
    let old = profile.access_key_id.clone();
    let why = format!(
        "new key {new_id} was not accepted within {}s ({})",
        args.verify_timeout, cause.message
    );
    let place = profile.source.to_string();
    if let Err(err) = writeback::restore(profile, &new_id) {
        report.step("restore", "failed", err.message.clone());
        let message = format!(
            "{why}; putting old key {old} back into {place} failed ({}), so {place} still holds {new_id} and old key {old} is still active. Run the same rotate again to finish",
            err.message
        );
        return conclude(
            Err(Error::new(ErrorKind::Timeout, message)),
            old,
            new_key,
            place,
        );
    }
    report.step(
        "restore",
        "done",
        format!("{place} holds old key {old} again, as it was"),
    );
    let deleted = retry_until(Duration::from_secs(10), || async {
        provider.delete_key(&new_key.record.key_ref()).await
    })
    .await;
    remove_journal(journal_path);
    let outcome = Outcome {
        old_key_id: old.clone(),
        new_key: None,
        saved_to: None,
        old_key: "active",
        secret_printed: false,
    };
    let message = match deleted {
        Ok(()) => {
            report.step("undo", "done", format!("deleted {new_id}"));
            format!("{why}: it was deleted and {place} restored as it was; old key {old} is still active and in use, nothing changed")
        }
        Err(err) => {
            report.step("undo", "failed", err.message.clone());
            format!("{why}: {place} was restored as it was (old key {old} is still active and in use), but deleting {new_id} failed ({}): delete it with cloudkeys delete {new_id}", err.message)
        }
    };
    Err((
        Some(Box::new(outcome)),
        Error::new(ErrorKind::Timeout, message),
    ))
}

/// The create's answer did not come: whether the cloud made a key is unknown.
fn answer_lost(err: &Error) -> bool {
    matches!(
        err.kind,
        ErrorKind::Server | ErrorKind::Network | ErrorKind::Timeout | ErrorKind::BadResponse
    )
}

/// After a lost create answer: lists the keys again and keeps the journal only if a key
/// appeared (or the listing failed), with the window's end and the keys that appeared.
async fn keep_lost_create(
    provider: &dyn AccessKeyProvider,
    user: Option<&UserRef>,
    entry: &mut Journal,
    journal_path: &Path,
) {
    entry.window_end = Some(Utc::now());
    if let Ok(after) = provider.list_keys(user).await {
        let before = entry.keys_before.clone().unwrap_or_default();
        let appeared: Vec<String> = after
            .iter()
            .map(|k| k.access_key_id.clone())
            .filter(|id| !before.contains(id))
            .collect();
        if appeared.is_empty() {
            remove_journal(journal_path);
            return;
        }
        entry.appeared = Some(appeared);
    }
    if let Err(err) = write_journal(journal_path, entry) {
        tracing::warn!("{err}");
    }
}

/// A journal left by a create whose answer was lost: deletes the key that create made, if one
/// can be told apart — a key not listed before the create, created inside its time window and,
/// when known, one of the keys that appeared — after asking on a terminal, or with `--yes`.
/// Returns whether a key was deleted.
async fn clean_up_lost_create(
    ctx: &Context,
    provider: &dyn AccessKeyProvider,
    entry: &Journal,
    keys: &[KeyRecord],
    me: &crate::model::Identity,
    journal_path: &Path,
    report: &mut Report<'_>,
) -> Result<bool> {
    let (Some(before), Some(start)) = (&entry.keys_before, entry.window_start) else {
        report.step(
            "clean up",
            "skipped",
            "the journal of an earlier rotation names no keys (an older version wrote it); check the keys with cloudkeys list",
        );
        return Ok(false);
    };
    if entry.account.is_some() && entry.account != me.account_id {
        report.step(
            "clean up",
            "skipped",
            "the journal of an earlier rotation is of another account; nothing deleted",
        );
        return Ok(false);
    }
    let end = entry
        .window_end
        .unwrap_or(entry.started_at + CREATE_LONGEST);
    let (from, to) = (start - CLOCK_TOLERANCE, end + CLOCK_TOLERANCE);
    let orphans: Vec<&KeyRecord> = keys
        .iter()
        .filter(|k| {
            !before.contains(&k.access_key_id)
                && k.access_key_id != entry.old_key_id
                && k.access_key_id != me.access_key_id
                && entry
                    .appeared
                    .as_ref()
                    .is_none_or(|a| a.contains(&k.access_key_id))
                && k.created_at.is_some_and(|t| t >= from && t <= to)
        })
        .collect();
    let mut deleted = false;
    for orphan in orphans {
        let id = &orphan.access_key_id;
        let when = orphan
            .created_at
            .as_ref()
            .map_or("?".to_string(), crate::model::format_time);
        let question = format!(
            "key {id} (created {when}) appeared while an earlier rotation's create answer was lost, so its secret was never seen. Delete it?"
        );
        let yes = if ctx.global.yes {
            true
        } else if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
            super::delete::confirm(&question)
        } else {
            return Err(Error::usage(format!(
                "key {id} (created {when}) appeared while an earlier rotation's create answer was lost, so its secret was never seen: run the same rotate with --yes to delete it (or cloudkeys delete {id} --yes), or, if the key is someone's, remove the journal {}",
                journal_path.display()
            )));
        };
        if !yes {
            report.step("clean up", "skipped", format!("{id} kept, as asked"));
            continue;
        }
        provider.delete_key(&orphan.key_ref()).await?;
        deleted = true;
        report.step(
            "clean up",
            "done",
            format!(
                "deleted {id}, made by the interrupted rotation but never saved (its secret was lost)"
            ),
        );
    }
    Ok(deleted)
}

/// Saving failed: delete the new key again so no unknown secret is left behind; if even that
/// fails, print the secret, the only copy there is.
async fn undo_create(
    ctx: &Context,
    provider: &dyn AccessKeyProvider,
    new_key: NewKey,
    old: String,
    save_error: Error,
    journal_path: &Path,
    report: &mut Report<'_>,
) -> Failed {
    let new_id = new_key.record.access_key_id.clone();
    let deleted = retry_until(Duration::from_secs(10), || async {
        provider.delete_key(&new_key.record.key_ref()).await
    })
    .await;
    remove_journal(journal_path);
    let mut outcome = Outcome {
        old_key_id: old,
        new_key: None,
        saved_to: None,
        old_key: "active",
        secret_printed: false,
    };
    let mut err = save_error;
    match deleted {
        Ok(()) => {
            report.step(
                "undo",
                "done",
                format!("deleted {new_id} again; nothing changed"),
            );
            err.message = format!(
                "{}; the new key {new_id} was deleted again, nothing changed",
                err.message
            );
        }
        Err(delete_err) => {
            report.step("undo", "failed", delete_err.message.clone());
            match ctx.printer.new_key(&new_key, true) {
                Ok(()) => {
                    outcome.secret_printed = true;
                    err.message = format!(
                        "{}; deleting the new key {new_id} failed too ({}): its secret is printed above — store it now",
                        err.message, delete_err.message
                    );
                }
                // Nowhere left to put the secret: name the key (never the secret) so that
                // someone deletes it.
                Err(print_err) => {
                    err.message = format!(
                        "{}; deleting the new key {new_id} failed too ({}) and its secret could not be printed ({}): delete {new_id} by hand",
                        err.message,
                        delete_err.message,
                        output_error(print_err).message
                    );
                }
            }
            outcome.new_key = Some(new_key);
        }
    }
    (Some(Box::new(outcome)), err)
}

/// Calls `f` until it succeeds, a non-transient error comes, or `wait` has passed.
async fn retry_until<F, Fut>(wait: Duration, mut f: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let deadline = tokio::time::Instant::now() + wait;
    let mut delay = Duration::from_millis(500);
    loop {
        match f().await {
            Ok(()) => return Ok(()),
            Err(err) => {
                let transient = matches!(
                    err.kind,
                    ErrorKind::Auth
                        | ErrorKind::NotFound
                        | ErrorKind::Throttled
                        | ErrorKind::Server
                        | ErrorKind::Network
                        | ErrorKind::Timeout
                );
                if !transient || tokio::time::Instant::now() + delay > deadline {
                    return Err(err);
                }
                tracing::info!("not yet ({}); trying again in {delay:?}", err);
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

fn old_action_plan(action: OldKeyAction, old: &str) -> String {
    match action {
        OldKeyAction::Deactivate => format!("then deactivate {old}"),
        OldKeyAction::Delete => format!("then delete {old}"),
        OldKeyAction::Keep => format!("then keep {old} active"),
    }
}

fn print_report(
    ctx: &Context,
    profile: &Profile,
    user: Option<&UserRef>,
    args: &RotateArgs,
    outcome: Option<&Outcome>,
    report: &Report<'_>,
) -> Result<()> {
    match ctx.printer.format {
        OutputFormat::Json | OutputFormat::Ndjson => {
            let new_key = outcome.and_then(|o| o.new_key.as_ref());
            let mut value = json!({
                "provider": profile.provider,
                "profile": profile.name,
                "user": user.map(|u| u.name.clone()),
                "old_key_id": outcome.map(|o| o.old_key_id.clone()),
                "new_key_id": new_key.map(|k| k.record.access_key_id.clone()),
                "saved_to": outcome.and_then(|o| o.saved_to.clone()),
                "old_key": outcome.map(|o| o.old_key),
                "dry_run": args.dry_run,
                "steps": report.steps,
            });
            if let (Some(o), Some(key)) = (outcome, new_key) {
                if o.secret_printed {
                    value["secret_access_key"] = Value::String(key.secret.expose().to_string());
                }
            }
            ctx.printer.raw(&format!("{value}\n")).map_err(output_error)
        }
        _ => match outcome.and_then(|o| o.new_key.as_ref().map(|k| (o, k))) {
            Some((o, key)) if !o.secret_printed => {
                ctx.printer.new_key(key, false).map_err(output_error)
            }
            _ => Ok(()),
        },
    }
}

/// `$XDG_STATE_HOME/cloudkeys/rotate-<cloud>-<profile>[-<user>].json` (no secret in it). The
/// names are percent-encoded (`-` and `_` too), so that two profiles or users never share a
/// journal (`aws:prod` and `aws_prod`, or profile `a-b` and profile `a` with user `b`).
fn journal_path(env: &Environment, profile: &Profile, user: Option<&UserRef>) -> Result<PathBuf> {
    let base = match env.var("XDG_STATE_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => env
            .home
            .as_ref()
            .map(|h| h.join(".local/state"))
            .ok_or_else(|| {
                Error::config("HOME is not set: nowhere to keep the rotation journal")
            })?,
    };
    Ok(base.join("cloudkeys").join(journal_name(
        &profile.provider.to_string(),
        &profile.name,
        user.map(|u| u.name.as_str()),
    )))
}

fn journal_name(provider: &str, profile: &str, user: Option<&str>) -> String {
    let encode = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let mut name = format!("rotate-{}-{}", encode(provider), encode(profile));
    if let Some(user) = user {
        name.push_str(&format!("-{}", encode(user)));
    }
    name.push_str(".json");
    name
}

fn read_journal(path: &Path) -> Result<Option<Journal>> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map(Some).map_err(|err| {
            Error::config(format!(
                "rotation journal {} is damaged ({err}); delete it after checking the keys with cloudkeys list",
                path.display()
            ))
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(Error::io(path.display(), &err)),
    }
}

/// Through the one locked, atomic write (the folder is created and flushed first).
fn write_journal(path: &Path, entry: &Journal) -> Result<()> {
    let text = serde_json::to_string_pretty(entry).unwrap_or_default();
    atomic::create_folder(atomic::folder(path))
        .and_then(|()| atomic::write_locked(path, 0o600, |_| Ok(text.into_bytes())))
        .map(|_| ())
        .map_err(|mut err| {
            err.message = format!("rotation journal: {}", err.message);
            err
        })
}

fn remove_journal(path: &Path) {
    if let Err(err) = atomic::remove_locked(path) {
        tracing::warn!("cannot remove rotation journal: {err}");
    }
}

/// The secret of `key_id` from a file `create --save` / `rotate --save` wrote.
fn read_saved_secret(path: &Path, key_id: &str) -> Result<Secret> {
    let text = std::fs::read_to_string(path).map_err(|err| Error::io(path.display(), &err))?;
    let doc: Value = serde_json::from_str(&text)
        .map_err(|err| Error::config(format!("{}: not a saved key ({err})", path.display())))?;
    match (
        doc["access_key_id"].as_str(),
        doc["secret_access_key"].as_str(),
    ) {
        (Some(id), Some(secret)) if id == key_id => Ok(Secret::new(secret)),
        _ => Err(Error::config(format!(
            "{} does not hold the key {key_id} the interrupted rotation saved there",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::journal_name;

    #[test]
    fn journal_names_never_collide() {
        let names = [
            journal_name("aws", "aws:prod", None),
            journal_name("aws", "aws_prod", None),
            journal_name("aws", "a-b", None),
            journal_name("aws", "a", Some("b")),
            journal_name("aws", "a", Some("-b")),
            journal_name("aws", "a-", Some("b")),
            journal_name("aws", "a/b", None),
            journal_name("aws", "a%2Fb", None),
        ];
        let unique: std::collections::BTreeSet<&String> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        for name in &names {
            assert!(!name.contains('/') && !name.contains(':'), "{name}");
        }
    }
}
