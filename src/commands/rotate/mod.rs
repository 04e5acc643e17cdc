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
//!
//! `machine` decides (which step follows, what is undone), `journal` remembers, `report`
//! tells; this file calls the cloud and the files.

mod journal;
mod machine;
mod report;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::Value;

use self::journal::{Journal, Stage, Unknown};
use self::machine::{OldKeyStep, Resume, Rollback, Step};
use self::report::{old_action_plan, Outcome, Report};
use super::create::{check_room, check_save_target, create_once};
use super::{check_key_id, find_key, output_error, Context};
use crate::cli::{OldKeyAction, RotateArgs};
use crate::config::Profile;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{format_time, Identity, KeyRecord, KeyRef, KeyStatus, NewKey, Secret, UserRef};
use crate::provider::AccessKeyProvider;
use crate::{critical, writeback};

/// Where the new secret goes.
enum Target {
    /// Back into the profile's own source (config file or native CLI file).
    Profile,
    /// A new file of its own.
    File(PathBuf),
}

/// A failed rotation: what it got done (boxed: it is large) and why it stopped.
type Failed = (Option<Box<Outcome>>, Error);

fn fail(err: Error) -> Failed {
    (None, err)
}

/// One rotation: what it acts on, where the secret goes, its journal and its report so far.
struct Rotation<'a> {
    ctx: &'a Context,
    args: &'a RotateArgs,
    profile: &'a Profile,
    provider: Arc<dyn AccessKeyProvider>,
    user: Option<&'a UserRef>,
    target: Target,
    journal: PathBuf,
    report: Report,
}

pub async fn run(ctx: &Context, args: &RotateArgs) -> Result<i32> {
    // A key id names its cloud (most do), which narrows the profiles to choose from.
    let cloud = args.key.as_deref().map(check_key_id).transpose()?.flatten();
    let profile = ctx.single_profile(cloud, "rotate")?;
    profile.refuse_role()?;
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
    let mut rotation = Rotation {
        ctx,
        args,
        profile: &profile,
        provider,
        user: user.as_ref(),
        target,
        journal: journal::path(&ctx.env, &profile, user.as_ref())?,
        report: Report {
            quiet: ctx.printer.quiet,
            steps: Vec::new(),
        },
    };
    let (outcome, error) = match rotation.rotate().await {
        Ok(outcome) => (Some(outcome), None),
        Err((outcome, err)) => (outcome.map(|o| *o), Some(err)),
    };
    let printed =
        rotation
            .report
            .print(ctx, &profile, user.as_ref(), args.dry_run, outcome.as_ref());
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

impl Rotation<'_> {
    fn writes_profile(&self) -> bool {
        matches!(self.target, Target::Profile)
    }

    async fn rotate(&mut self) -> std::result::Result<Outcome, Failed> {
        let me = self.provider.whoami().await.map_err(fail)?;
        let mut keys = self.provider.list_keys(self.user).await.map_err(fail)?;
        let whose = self
            .user
            .map_or(format!("profile {}'s own user", self.profile.name), |u| {
                format!("user {}", u.name)
            });

        // An earlier run that stopped half-way?
        let earlier = journal::read(&self.journal).map_err(fail)?;
        let resume = machine::resume(earlier.as_ref(), &keys);
        if let Some(entry) = earlier {
            match resume {
                Resume::Finish => {
                    self.report.step(
                        "resume",
                        "done",
                        format!(
                            "an earlier rotation of {} got as far as '{:?}'; finishing it",
                            entry.old_key_id, entry.stage
                        )
                        .to_lowercase(),
                    );
                    return self.finish(entry, &keys).await;
                }
                // The create's answer was lost last time: a key it made has a secret nobody
                // has. Delete it (asking first), so the user has room again.
                Resume::CleanUp => {
                    if self
                        .clean_up_lost_create(&entry, &keys, &me)
                        .await
                        .map_err(fail)?
                    {
                        keys = self.provider.list_keys(self.user).await.map_err(fail)?;
                    }
                }
                Resume::Fresh | Resume::Discard => {}
            }
            journal::remove(&self.journal);
        }

        // 1. The key to replace.
        let old = match (&self.args.key, self.user) {
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
                    return Err(fail(Error::usage(format!(
                        "{whose} has {} keys ({}); choose the one to replace with --key",
                        several.len(),
                        super::key_ids(several)
                    ))));
                }
            },
        };
        let Some(old_record) = keys.iter().find(|k| k.access_key_id == old) else {
            return Err(fail(Error::new(
                ErrorKind::NotFound,
                format!("no access key {old} belongs to {whose}"),
            )));
        };
        if self.writes_profile() && old != me.access_key_id {
            return Err(fail(Error::usage(format!(
                "{old} is not the key profile {} signs with, so its replacement can't be written into the profile: pass --save FILE",
                self.profile.name
            ))));
        }
        let created = old_record
            .created_at
            .as_ref()
            .map_or("?".to_string(), format_time);
        let found = format!(
            "{old} of {whose} ({}, created {created})",
            old_record.status
        );
        self.report.step("find", "done", found);

        // 2. Room for a second key, and somewhere to put its secret — before creating anything.
        check_room(self.provider.as_ref(), &keys, self.user).map_err(fail)?;
        self.report
            .step("check", "done", format!("{whose} has room for a new key"));
        let destination = match &self.target {
            Target::Profile => {
                writeback::check(self.profile).map_err(fail)?;
                self.profile.source.to_string()
            }
            Target::File(path) => {
                check_save_target(path).map_err(fail)?;
                path.display().to_string()
            }
        };
        if self.args.dry_run {
            let report = &mut self.report;
            report.step("create", "planned", format!("a new key for {whose}"));
            report.step("save", "planned", format!("its secret into {destination}"));
            report.step("verify", "planned", "a signed read call with the new key");
            report.step("old key", "planned", old_action_plan(self.args.old, &old));
            return Ok(Outcome::unchanged(old));
        }

        // 3. Create, once. The journal is written first, so that even a run stopped before the
        // answer came leaves what a later run needs to recognise the key it may have made.
        let mut entry = Journal::creating(&old, self.profile, &me, self.user, &keys);
        journal::write(&self.journal, &entry).map_err(fail)?;
        // From the create until the secret is stored (or the key deleted again), a SIGINT or
        // SIGTERM waits: stopping in between would lose the secret.
        let critical = critical::enter();
        let new_key = match create_once(self.provider.as_ref(), self.user, &keys).await {
            Ok(key) => key,
            Err(err) => {
                match machine::rollback(Step::Create, err.kind, self.writes_profile()) {
                    Rollback::KeepJournal => self.keep_lost_create(&mut entry).await,
                    // A definite answer: nothing was made, nothing is left to clean up.
                    _ => journal::remove(&self.journal),
                }
                self.report.step("create", "failed", err.message.clone());
                return Err(fail(err));
            }
        };
        let new_id = new_key.record.access_key_id.clone();

        // 4. Save the secret before anything else (and only then say the key exists).
        let saved = match &self.target {
            Target::Profile => writeback::write(self.profile, &old, &new_id, &new_key.secret),
            Target::File(path) => super::create::save_key(path, &new_key).map(|()| path.clone()),
        };
        self.report.step("create", "done", new_id.clone());
        let saved_to = match saved {
            Ok(path) => path,
            // No secret may be left that nobody has: the new key goes again.
            Err(err) => {
                self.report.step("save", "failed", err.message.clone());
                return Err(self.undo_create(new_key, old, err).await);
            }
        };
        self.report.step(
            "save",
            "done",
            format!("secret of {new_id} saved to {}", saved_to.display()),
        );
        entry.stage = Stage::Saved;
        entry.new_key_id = Some(new_id.clone());
        entry.saved_to = (!self.writes_profile()).then(|| saved_to.clone());
        journal::write_or_warn(&self.journal, &entry);
        drop(critical);
        let saved_to = saved_to.display().to_string();
        match self.finish_steps(&mut entry, &new_key, &saved_to).await {
            // The old secret was overwritten in the profile's file: a new key that never works
            // is abandoned and the file put back as it was, so the profile keeps working.
            Err(Stop::Unproven(cause))
                if machine::rollback(Step::Verify, cause.kind, self.writes_profile())
                    == Rollback::RestoreProfile =>
            {
                self.abandon(new_key, cause).await
            }
            other => conclude(
                other.map_err(|stop| stop.into_error(self.args, &entry, &saved_to)),
                old,
                new_key,
                saved_to,
            ),
        }
    }

    /// Resumes a rotation whose new key was already saved.
    async fn finish(
        &mut self,
        mut entry: Journal,
        keys: &[KeyRecord],
    ) -> std::result::Result<Outcome, Failed> {
        let profile = self.profile;
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
        let secret = match (&self.target, &entry.saved_to) {
            (Target::Profile, _) if profile.access_key_id == new_id => {
                profile.secret_access_key.clone()
            }
            (_, Some(path)) => read_saved_secret(path, &new_id).map_err(fail)?,
            _ => {
                return Err(fail(Error::config(format!(
                    "the interrupted rotation saved {new_id}, but profile {} now holds {}: fix the profile, or delete {new_id} and rotate again",
                    profile.name, profile.access_key_id
                ))))
            }
        };
        let saved_to = entry
            .saved_to
            .as_ref()
            .map_or(profile.source.to_string(), |p| p.display().to_string());
        let new_key = NewKey { record, secret };
        let finished = self
            .finish_steps(&mut entry, &new_key, &saved_to)
            .await
            .map_err(|stop| stop.into_error(self.args, &entry, &saved_to));
        conclude(finished, entry.old_key_id, new_key, saved_to)
    }

    /// Steps 5 and 6: prove the new key, then deal with the old one. Returns the old key's state.
    async fn finish_steps(
        &mut self,
        entry: &mut Journal,
        new_key: &NewKey,
        saved_to: &str,
    ) -> std::result::Result<&'static str, Stop> {
        let (ctx, user) = (self.ctx, self.user);
        let new_id = new_key.record.access_key_id.clone();
        let old = entry.old_key_id.clone();
        let wait = Duration::from_secs(self.args.verify_timeout);

        // 5. Prove the new key with a signed read call, waiting out eventual consistency.
        let mut with_new = self.profile.clone();
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
                self.report.step("verify", "failed", err.message.clone());
                return Err(Stop::Unproven(err));
            }
            self.report
                .step("verify", "done", format!("{new_id} signs requests"));
            entry.stage = Stage::Verified;
            journal::write_or_warn(&self.journal, entry);
        }

        // 6. Only now the old key. For one's own key the new key does it: it is the one that works.
        let operator = match user {
            None => ctx.build(&with_new).map_err(Stop::Other)?,
            Some(_) => self.provider.clone(),
        };
        let action = self.args.old;
        if action == OldKeyAction::Keep {
            let kept = format!("{old} kept active (--old keep)");
            self.report.step("old key", "skipped", kept);
        } else {
            let done = retry_until(wait, || async {
                // Re-check that the key is still this user's before touching it.
                let (status, missing) = match find_key(operator.as_ref(), &old, user).await {
                    Ok(record) => (Some(record.status), None),
                    Err(err) if err.kind == ErrorKind::NotFound => (None, Some(err)),
                    Err(err) => return Err(err),
                };
                let key = KeyRef {
                    access_key_id: old.clone(),
                    user: user.cloned(),
                };
                match machine::old_key_step(action, status) {
                    OldKeyStep::Delete => operator.delete_key(&key).await,
                    OldKeyStep::Deactivate => operator.set_status(&key, KeyStatus::Inactive).await,
                    OldKeyStep::Nothing => Ok(()),
                    OldKeyStep::Missing => missing.map_or(Ok(()), Err),
                }
            })
            .await;
            let verb = if action == OldKeyAction::Delete {
                "delete"
            } else {
                "disable"
            };
            if let Err(mut err) = done {
                self.report.step("old key", "failed", err.message.clone());
                let user_flag = super::user_flag(user.map(|u| u.name.as_str()));
                err.message = format!(
                    "new key {new_id} is saved in {saved_to} and works, but old key {old} is still active ({}): {verb} it with cloudkeys {verb} {old}{user_flag}, or run the same rotate again",
                    err.message
                );
                return Err(Stop::Other(err));
            }
            let state = machine::old_key_state(action);
            self.report
                .step("old key", "done", format!("{old} {state}"));
        }
        if entry.saved_to.is_none() {
            // Written back into the profile's file, and the new key works: the old content kept
            // beside it is no longer needed.
            writeback::discard_backup(self.profile);
        }
        journal::remove(&self.journal);
        Ok(machine::old_key_state(action))
    }

    /// The new key written back into the profile's file never worked: put the old key back into
    /// the file, then delete the new key. If the file can't be put back, the new key stays (the
    /// file holds it) and the old content stays in its backup.
    async fn abandon(
        &mut self,
        new_key: NewKey,
        cause: Error,
    ) -> std::result::Result<Outcome, Failed> {
        let new_id = new_key.record.access_key_id.clone();
        let old = self.profile.access_key_id.clone();
        let why = format!(
            "new key {new_id} was not accepted within {}s ({})",
            self.args.verify_timeout, cause.message
        );
        let place = self.profile.source.to_string();
        if let Err(err) = writeback::restore(self.profile, &new_id) {
            self.report.step("restore", "failed", err.message.clone());
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
        self.report.step(
            "restore",
            "done",
            format!("{place} holds old key {old} again, as it was"),
        );
        let deleted = self.delete_new_key(&new_key).await;
        journal::remove(&self.journal);
        let message = match deleted {
            Ok(()) => {
                self.report
                    .step("undo", "done", format!("deleted {new_id}"));
                format!("{why}: it was deleted and {place} restored as it was; old key {old} is still active and in use, nothing changed")
            }
            Err(err) => {
                self.report.step("undo", "failed", err.message.clone());
                format!("{why}: {place} was restored as it was (old key {old} is still active and in use), but deleting {new_id} failed ({}): delete it with cloudkeys delete {new_id}", err.message)
            }
        };
        Err((
            Some(Box::new(Outcome::unchanged(old))),
            Error::new(ErrorKind::Timeout, message),
        ))
    }

    /// After a lost create answer: lists the keys again and keeps the journal only if a key
    /// appeared (or the listing failed), with the window's end and the keys that appeared.
    async fn keep_lost_create(&self, entry: &mut Journal) {
        entry.window_end = Some(Utc::now());
        if let Ok(after) = self.provider.list_keys(self.user).await {
            if !entry.note_appeared(&after) {
                journal::remove(&self.journal);
                return;
            }
        }
        journal::write_or_warn(&self.journal, entry);
    }

    /// A journal left by a create whose answer was lost: deletes the key that create made, if
    /// one can be told apart ([`Journal::orphans`]), after asking on a terminal, or with
    /// `--yes`. Returns whether a key was deleted.
    async fn clean_up_lost_create(
        &mut self,
        entry: &Journal,
        keys: &[KeyRecord],
        me: &Identity,
    ) -> Result<bool> {
        let orphans = match entry.orphans(keys, me) {
            Ok(orphans) => orphans,
            Err(why) => {
                let detail = match why {
                    Unknown::OldVersion => "the journal of an earlier rotation names no keys (an older version wrote it); check the keys with cloudkeys list",
                    Unknown::OtherAccount => "the journal of an earlier rotation is of another account; nothing deleted",
                };
                self.report.step("clean up", "skipped", detail);
                return Ok(false);
            }
        };
        let mut deleted = false;
        for orphan in orphans {
            let id = &orphan.access_key_id;
            let when = orphan
                .created_at
                .as_ref()
                .map_or("?".to_string(), format_time);
            let question = format!(
                "key {id} (created {when}) appeared while an earlier rotation's create answer was lost, so its secret was never seen. Delete it?"
            );
            let yes = if self.ctx.global.yes {
                true
            } else if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
                super::delete::confirm(&question)
            } else {
                return Err(Error::usage(format!(
                    "key {id} (created {when}) appeared while an earlier rotation's create answer was lost, so its secret was never seen: run the same rotate with --yes to delete it (or cloudkeys delete {id} --yes), or, if the key is someone's, remove the journal {}",
                    self.journal.display()
                )));
            };
            if !yes {
                self.report
                    .step("clean up", "skipped", format!("{id} kept, as asked"));
                continue;
            }
            self.provider.delete_key(&orphan.key_ref()).await?;
            deleted = true;
            self.report.step(
                "clean up",
                "done",
                format!(
                    "deleted {id}, made by the interrupted rotation but never saved (its secret was lost)"
                ),
            );
        }
        Ok(deleted)
    }

    /// Saving failed: delete the new key again so no unknown secret is left behind; if even
    /// that fails, print the secret, the only copy there is.
    async fn undo_create(&mut self, new_key: NewKey, old: String, save_error: Error) -> Failed {
        let new_id = new_key.record.access_key_id.clone();
        let deleted = self.delete_new_key(&new_key).await;
        journal::remove(&self.journal);
        let mut outcome = Outcome::unchanged(old);
        let mut err = save_error;
        match deleted {
            Ok(()) => {
                self.report.step(
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
                self.report
                    .step("undo", "failed", delete_err.message.clone());
                match self.ctx.printer.new_key(&new_key, true) {
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

    /// Deletes a new key that must not stay, waiting out a cloud that does not know it yet.
    async fn delete_new_key(&self, new_key: &NewKey) -> Result<()> {
        retry_until(Duration::from_secs(10), || async {
            self.provider.delete_key(&new_key.record.key_ref()).await
        })
        .await
    }
}

/// The report of a rotation that got its new key saved, however the last steps went.
fn conclude(
    finished: Result<&'static str>,
    old_key_id: String,
    new_key: NewKey,
    saved_to: String,
) -> std::result::Result<Outcome, Failed> {
    let outcome = Outcome {
        old_key_id,
        new_key: Some(new_key),
        saved_to: Some(saved_to),
        old_key: finished.as_ref().unwrap_or(&"active"),
        secret_printed: false,
    };
    match finished {
        Ok(_) => Ok(outcome),
        Err(err) => Err((Some(Box::new(outcome)), err)),
    }
}

/// Why [`Rotation::finish_steps`] stopped.
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
                if !machine::transient(err.kind) || tokio::time::Instant::now() + delay > deadline {
                    return Err(err);
                }
                tracing::info!("not yet ({}); trying again in {delay:?}", err);
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// The secret of `key_id` from a file `create --save` / `rotate --save` wrote.
fn read_saved_secret(path: &Path, key_id: &str) -> Result<Secret> {
    let text = std::fs::read_to_string(path).map_err(|err| Error::io(path.display(), &err))?;
    let doc: Value = serde_json::from_str(&text).map_err(|err| {
        Error::config(format!("{}: not a saved key ({err})", path.display())).with_source(err)
    })?;
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
