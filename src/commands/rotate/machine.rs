//! The rotation's state machine, without I/O: where a run picks up from an earlier one's
//! journal, what each failed step leaves to undo, and what is done to the old key.

use super::journal::{Journal, Stage};
use crate::cli::OldKeyAction;
use crate::commands::create::answer_lost;
use crate::error::ErrorKind;
use crate::model::{KeyRecord, KeyStatus};

/// Where a run starts, given the journal an earlier run left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Resume {
    /// No journal: a rotation from the start.
    Fresh,
    /// The new key was saved and still exists: verify it (unless done) and finish.
    Finish,
    /// A create's answer was lost: delete the key it made (asking), then start over.
    CleanUp,
    /// A journal that no longer applies (its new key is gone): dropped, start over.
    Discard,
}

pub(super) fn resume(journal: Option<&Journal>, keys: &[KeyRecord]) -> Resume {
    let Some(entry) = journal else {
        return Resume::Fresh;
    };
    match (entry.stage, &entry.new_key_id) {
        (Stage::Saved | Stage::Verified, Some(new_id))
            if keys.iter().any(|k| &k.access_key_id == new_id) =>
        {
            Resume::Finish
        }
        (Stage::Creating, _) => Resume::CleanUp,
        _ => Resume::Discard,
    }
}

/// A step whose failure may leave something to undo. (A failed save always deletes the new
/// key again: no secret may be left that nobody has. A failed old-key step undoes nothing: the
/// new key is saved and works.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    Create,
    Verify,
}

/// What a failed step leaves to undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rollback {
    /// Nothing was made, or what was made is kept and works: report and stop.
    Nothing,
    /// The create's answer was lost: the journal stays, so the next run finds the key it made.
    KeepJournal,
    /// The new key, written over the profile's own, never worked: put the file back as it
    /// was, then delete the new key.
    RestoreProfile,
}

/// `kind` is the failure's; `into_profile` says the new secret went into the profile's file.
pub(super) fn rollback(step: Step, kind: ErrorKind, into_profile: bool) -> Rollback {
    match step {
        Step::Create if answer_lost(kind) => Rollback::KeepJournal,
        Step::Verify if into_profile => Rollback::RestoreProfile,
        // A definite refusal made nothing; a new key saved in a file of its own is kept and
        // reported, the old key still active, for the same rotate to finish later.
        Step::Create | Step::Verify => Rollback::Nothing,
    }
}

/// Errors worth waiting out while a new key spreads through the cloud (eventual consistency):
/// it may not be known yet (auth, not found) or the cloud is busy.
pub(super) fn transient(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::Auth
            | ErrorKind::NotFound
            | ErrorKind::Throttled
            | ErrorKind::Server
            | ErrorKind::Network
            | ErrorKind::Timeout
    )
}

/// What is done to the old key, as re-read just before (`None`: it is gone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OldKeyStep {
    Delete,
    Deactivate,
    /// Already as asked (deleted by an earlier run, or inactive): nothing to call.
    Nothing,
    /// Gone, but it was to be deactivated: a surprise, reported as not found.
    Missing,
}

pub(super) fn old_key_step(action: OldKeyAction, status: Option<KeyStatus>) -> OldKeyStep {
    match (action, status) {
        (OldKeyAction::Keep, _) => OldKeyStep::Nothing,
        (OldKeyAction::Delete, None) => OldKeyStep::Nothing,
        (OldKeyAction::Delete, Some(_)) => OldKeyStep::Delete,
        (OldKeyAction::Deactivate, None) => OldKeyStep::Missing,
        (OldKeyAction::Deactivate, Some(KeyStatus::Inactive)) => OldKeyStep::Nothing,
        (OldKeyAction::Deactivate, Some(_)) => OldKeyStep::Deactivate,
    }
}

/// The old key's state once `action` succeeded, as the report names it.
pub(super) fn old_key_state(action: OldKeyAction) -> &'static str {
    match action {
        OldKeyAction::Keep => "active",
        OldKeyAction::Delete => "deleted",
        OldKeyAction::Deactivate => "inactive",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ProviderKind;

    fn journal(stage: Stage, new_key_id: Option<&str>) -> Journal {
        serde_json::from_value(serde_json::json!({
            "stage": stage,
            "old_key_id": "AKIAOLD",
            "new_key_id": new_key_id,
            "saved_to": null,
            "started_at": "2025-06-01T12:00:00Z",
        }))
        .unwrap()
    }

    fn keys(ids: &[&str]) -> Vec<KeyRecord> {
        ids.iter()
            .map(|id| KeyRecord::new(ProviderKind::Aws, "p", id.to_string(), KeyStatus::Active))
            .collect()
    }

    #[test]
    fn a_run_resumes_where_the_journal_says_while_its_new_key_exists() {
        let listed = keys(&["AKIAOLD", "AKIANEW"]);
        let only_old = keys(&["AKIAOLD"]);
        let cases = [
            (None, &listed, Resume::Fresh),
            (
                Some(journal(Stage::Saved, Some("AKIANEW"))),
                &listed,
                Resume::Finish,
            ),
            (
                Some(journal(Stage::Verified, Some("AKIANEW"))),
                &listed,
                Resume::Finish,
            ),
            // The saved key was deleted since: its journal no longer applies.
            (
                Some(journal(Stage::Saved, Some("AKIANEW"))),
                &only_old,
                Resume::Discard,
            ),
            (
                Some(journal(Stage::Verified, None)),
                &listed,
                Resume::Discard,
            ),
            // A lost create comes to the clean-up whatever is listed.
            (
                Some(journal(Stage::Creating, None)),
                &listed,
                Resume::CleanUp,
            ),
            (
                Some(journal(Stage::Creating, None)),
                &only_old,
                Resume::CleanUp,
            ),
        ];
        for (entry, listed, want) in cases {
            assert_eq!(resume(entry.as_ref(), listed), want, "{entry:?}");
        }
    }

    #[test]
    fn only_a_lost_create_keeps_its_journal_and_only_a_profile_is_restored() {
        for kind in [
            ErrorKind::Server,
            ErrorKind::Network,
            ErrorKind::Timeout,
            ErrorKind::BadResponse,
        ] {
            assert_eq!(rollback(Step::Create, kind, true), Rollback::KeepJournal);
        }
        for kind in [ErrorKind::Refused, ErrorKind::Limit, ErrorKind::Permission] {
            assert_eq!(rollback(Step::Create, kind, false), Rollback::Nothing);
        }
        assert_eq!(
            rollback(Step::Verify, ErrorKind::Timeout, true),
            Rollback::RestoreProfile
        );
        assert_eq!(
            rollback(Step::Verify, ErrorKind::Auth, false),
            Rollback::Nothing
        );
    }

    #[test]
    fn the_old_key_is_touched_only_as_asked_and_once() {
        use OldKeyAction::*;
        let active = Some(KeyStatus::Active);
        let inactive = Some(KeyStatus::Inactive);
        let cases = [
            (Delete, active, OldKeyStep::Delete, "deleted"),
            (Delete, inactive, OldKeyStep::Delete, "deleted"),
            (Delete, None, OldKeyStep::Nothing, "deleted"),
            (Deactivate, active, OldKeyStep::Deactivate, "inactive"),
            (Deactivate, inactive, OldKeyStep::Nothing, "inactive"),
            (Deactivate, None, OldKeyStep::Missing, "inactive"),
            (Keep, active, OldKeyStep::Nothing, "active"),
        ];
        for (action, status, step, state) in cases {
            assert_eq!(old_key_step(action, status), step, "{action:?} {status:?}");
            assert_eq!(old_key_state(action), state);
        }
    }

    #[test]
    fn a_new_key_is_waited_for_but_a_refusal_is_final() {
        for kind in [ErrorKind::Auth, ErrorKind::NotFound, ErrorKind::Throttled] {
            assert!(transient(kind), "{kind:?}");
        }
        for kind in [ErrorKind::Permission, ErrorKind::Refused, ErrorKind::Usage] {
            assert!(!transient(kind), "{kind:?}");
        }
    }
}
