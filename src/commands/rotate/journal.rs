//! The rotation journal: how far a rotation got, no secret in it, so that running the same
//! command again after an interruption finishes the job instead of starting over.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::atomic;
use crate::config::{Environment, Profile};
use crate::error::{Error, Result};
use crate::model::{Identity, KeyRecord, UserRef};

/// How far an interrupted rotation got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Stage {
    /// A create call was (about to be) sent; its answer may have been lost.
    Creating,
    /// The new secret is stored; the new key still has to be proven.
    Saved,
    /// The new key works; the old key still has to be dealt with.
    Verified,
}

/// No secret in it. The fields after `started_at` are missing from journals of older versions
/// (serde reads a missing `Option` as `None`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Journal {
    pub stage: Stage,
    pub old_key_id: String,
    pub new_key_id: Option<String>,
    pub saved_to: Option<PathBuf>,
    pub started_at: DateTime<Utc>,
    #[serde(default)]
    pub profile: String,
    #[serde(default)]
    pub provider: String,
    pub account: Option<String>,
    pub user: Option<String>,
    /// The user's key ids just before the create: none of them is ever an orphan.
    pub keys_before: Option<Vec<String>>,
    /// A key the lost create made was created (cloud's clock) no earlier than this…
    pub window_start: Option<DateTime<Utc>>,
    /// …and no later than this (unknown when cloudkeys was stopped during the create).
    pub window_end: Option<DateTime<Utc>>,
    /// The keys that appeared between the listings before and after the lost answer, when the
    /// second listing worked.
    pub appeared: Option<Vec<String>>,
}

/// How far the cloud's clock may be from ours. The create's time window is widened by it: the
/// cloud's `Date` header is not kept by the HTTP client, so the window is read on our clock.
const CLOCK_TOLERANCE: chrono::TimeDelta = chrono::TimeDelta::minutes(5);
/// The longest a create call can take (the HTTP client's timeouts are far shorter).
const CREATE_LONGEST: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// Why a journal of a lost create cannot say which key it made.
pub(super) enum Unknown {
    /// An older version wrote it without the keys before the create.
    OldVersion,
    /// It is of another account than the one signed in.
    OtherAccount,
}

impl Journal {
    /// The journal of a create about to be sent: the keys the user has now and the time.
    pub fn creating(
        old_key_id: &str,
        profile: &Profile,
        me: &Identity,
        user: Option<&UserRef>,
        keys: &[KeyRecord],
    ) -> Self {
        let now = Utc::now();
        Journal {
            stage: Stage::Creating,
            old_key_id: old_key_id.to_string(),
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
        }
    }

    /// After a lost create answer, the keys listed since: records those that appeared;
    /// false when none did (the create made nothing, nothing to keep).
    pub fn note_appeared(&mut self, after: &[KeyRecord]) -> bool {
        let before = self.keys_before.clone().unwrap_or_default();
        let appeared: Vec<String> = after
            .iter()
            .map(|k| k.access_key_id.clone())
            .filter(|id| !before.contains(id))
            .collect();
        if appeared.is_empty() {
            return false;
        }
        self.appeared = Some(appeared);
        true
    }

    /// The keys a lost create may have made: not listed before it, not the old key nor the
    /// caller's, created inside its time window and, when known, among those that appeared.
    pub fn orphans<'k>(
        &self,
        keys: &'k [KeyRecord],
        me: &Identity,
    ) -> std::result::Result<Vec<&'k KeyRecord>, Unknown> {
        let (Some(before), Some(start)) = (&self.keys_before, self.window_start) else {
            return Err(Unknown::OldVersion);
        };
        if self.account.is_some() && self.account != me.account_id {
            return Err(Unknown::OtherAccount);
        }
        let end = self.window_end.unwrap_or(self.started_at + CREATE_LONGEST);
        let (from, to) = (start - CLOCK_TOLERANCE, end + CLOCK_TOLERANCE);
        Ok(keys
            .iter()
            .filter(|k| {
                !before.contains(&k.access_key_id)
                    && k.access_key_id != self.old_key_id
                    && k.access_key_id != me.access_key_id
                    && self
                        .appeared
                        .as_ref()
                        .is_none_or(|a| a.contains(&k.access_key_id))
                    && k.created_at.is_some_and(|t| t >= from && t <= to)
            })
            .collect())
    }
}

/// `$XDG_STATE_HOME/cloudkeys/rotate-<cloud>-<profile>[-<user>].json` (no secret in it). The
/// names are percent-encoded (`-` and `_` too), so that two profiles or users never share a
/// journal (`aws:prod` and `aws_prod`, or profile `a-b` and profile `a` with user `b`).
pub(super) fn path(
    env: &Environment,
    profile: &Profile,
    user: Option<&UserRef>,
) -> Result<PathBuf> {
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
    Ok(base.join("cloudkeys").join(name(
        &profile.provider.to_string(),
        &profile.name,
        user.map(|u| u.name.as_str()),
    )))
}

fn name(provider: &str, profile: &str, user: Option<&str>) -> String {
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

pub(super) fn read(path: &Path) -> Result<Option<Journal>> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map(Some).map_err(|err| {
            Error::config(format!(
                "rotation journal {} is damaged ({err}); delete it after checking the keys with cloudkeys list",
                path.display()
            ))
            .with_source(err)
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(Error::io(path.display(), &err)),
    }
}

/// Through the one locked, atomic write (the folder is created and flushed first).
pub(super) fn write(path: &Path, entry: &Journal) -> Result<()> {
    let text = serde_json::to_string_pretty(entry).unwrap_or_default();
    atomic::create_folder(atomic::folder(path))
        .and_then(|()| atomic::write_locked(path, 0o600, |_| Ok(text.into_bytes())))
        .map(|_| ())
        .map_err(|err| crate::commands::prefixed(err, "rotation journal"))
}

/// Once the secret is safe, a journal that can't be written only costs a manual finish.
pub(super) fn write_or_warn(path: &Path, entry: &Journal) {
    if let Err(err) = write(path, entry) {
        tracing::warn!("{err}");
    }
}

pub(super) fn remove(path: &Path) {
    if let Err(err) = atomic::remove_locked(path) {
        tracing::warn!("cannot remove rotation journal: {err}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{IdentityType, KeyStatus, ProviderKind};

    #[test]
    fn journal_names_never_collide() {
        let names = [
            name("aws", "aws:prod", None),
            name("aws", "aws_prod", None),
            name("aws", "a-b", None),
            name("aws", "a", Some("b")),
            name("aws", "a", Some("-b")),
            name("aws", "a-", Some("b")),
            name("aws", "a/b", None),
            name("aws", "a%2Fb", None),
        ];
        let unique: std::collections::BTreeSet<&String> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        for name in &names {
            assert!(!name.contains('/') && !name.contains(':'), "{name}");
        }
    }

    fn me() -> Identity {
        Identity {
            provider: ProviderKind::Aws,
            profile: "p".into(),
            account_id: Some("111122223333".into()),
            user: Some("alice".into()),
            user_id: None,
            arn: None,
            identity_type: IdentityType::User,
            access_key_id: "AKIAME".into(),
        }
    }

    fn key(id: &str, minutes_after_start: i64) -> KeyRecord {
        let mut key = KeyRecord::new(ProviderKind::Aws, "p", id.into(), KeyStatus::Active);
        key.created_at = Some(start() + chrono::TimeDelta::minutes(minutes_after_start));
        key
    }

    fn start() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-06-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    /// A journal of a create started at [`start`], before which the user had `before`.
    fn lost_create(before: &[&str]) -> Journal {
        let mut entry: Journal = serde_json::from_value(serde_json::json!({
            "stage": "creating",
            "old_key_id": "AKIAOLD",
            "new_key_id": null,
            "saved_to": null,
            "started_at": "2025-06-01T12:00:00Z",
            "account": "111122223333",
        }))
        .unwrap();
        entry.keys_before = Some(before.iter().map(|id| id.to_string()).collect());
        entry.window_start = Some(start());
        entry
    }

    fn ids(orphans: &[&KeyRecord]) -> Vec<String> {
        orphans.iter().map(|k| k.access_key_id.clone()).collect()
    }

    #[test]
    fn an_orphan_is_new_since_the_create_and_made_inside_its_window() {
        let keys = [
            key("AKIAOLD", 3),
            key("AKIAME", 3),
            key("AKIABEFORE", 3),
            key("AKIAEARLY", -6),
            key("AKIALATE", 16),
            key("AKIAORPHAN", 3),
        ];
        // No end known: ten minutes for the create, five of clock tolerance either side.
        let entry = lost_create(&["AKIAOLD", "AKIABEFORE"]);
        let Ok(orphans) = entry.orphans(&keys, &me()) else {
            panic!("a full journal")
        };
        assert_eq!(ids(&orphans), ["AKIAORPHAN"]);
        // A known end narrows the window; what appeared after the lost answer narrows the keys.
        let mut entry = lost_create(&["AKIAOLD", "AKIABEFORE"]);
        entry.window_end = Some(start());
        assert!(entry.orphans(&keys, &me()).is_ok_and(|o| o.len() == 1));
        entry.window_end = Some(start() - chrono::TimeDelta::minutes(3));
        assert!(entry.orphans(&keys, &me()).is_ok_and(|o| o.is_empty()));
        let mut entry = lost_create(&["AKIAOLD"]);
        assert!(entry.note_appeared(&keys[..3]));
        assert_eq!(
            entry.appeared.as_deref(),
            Some(&["AKIAME".to_string(), "AKIABEFORE".into()][..])
        );
        assert!(entry
            .orphans(&keys, &me())
            .is_ok_and(|o| ids(&o) == ["AKIABEFORE"]));
        assert!(!lost_create(&["AKIAOLD"]).note_appeared(&keys[..1]));
    }

    #[test]
    fn a_journal_that_cannot_tell_its_key_deletes_nothing() {
        let keys = [key("AKIAORPHAN", 1)];
        let mut old_version = lost_create(&[]);
        old_version.keys_before = None;
        assert!(matches!(
            old_version.orphans(&keys, &me()),
            Err(Unknown::OldVersion)
        ));
        let mut other = lost_create(&[]);
        other.account = Some("999999999999".into());
        assert!(matches!(
            other.orphans(&keys, &me()),
            Err(Unknown::OtherAccount)
        ));
        assert!(lost_create(&[])
            .orphans(&keys, &me())
            .is_ok_and(|o| o.len() == 1));
    }
}
