//! What a rotation tells: each step as it happens (stderr), and the whole at the end.

use serde_json::{json, Value};

use crate::cli::{OldKeyAction, OutputFormat};
use crate::commands::{output_error, Context};
use crate::config::Profile;
use crate::error::Result;
use crate::model::{NewKey, UserRef};

/// The steps, reported as they happen (stderr) and as a whole (`-o json`).
pub(super) struct Report {
    pub quiet: bool,
    pub steps: Vec<Value>,
}

impl Report {
    pub fn step(&mut self, step: &str, status: &str, detail: impl Into<String>) {
        let detail = detail.into();
        let mark = match status {
            "done" => "✓",
            "failed" => "✗",
            "planned" => "·",
            _ => "-",
        };
        // Never eprintln!: a closed stderr must not abort a rotation half-way. Through the one
        // stderr writer, so a cloud's message can't reach the terminal's control sequences.
        if !self.quiet {
            crate::output::stderr_line(&format!("{mark} {step}: {detail}"));
        }
        self.steps
            .push(json!({ "step": step, "status": status, "detail": detail }));
    }

    /// The whole report: a JSON document with `-o json`, else the new key's table (the secret
    /// only when it could not be stored, and then it was printed already).
    pub fn print(
        &self,
        ctx: &Context,
        profile: &Profile,
        user: Option<&UserRef>,
        dry_run: bool,
        outcome: Option<&Outcome>,
    ) -> Result<()> {
        let new_key = outcome.and_then(|o| o.new_key.as_ref());
        match ctx.printer.format {
            OutputFormat::Json | OutputFormat::Ndjson => {
                let mut value = json!({
                    "provider": profile.provider,
                    "profile": profile.name,
                    "user": user.map(|u| u.name.clone()),
                    "old_key_id": outcome.map(|o| o.old_key_id.clone()),
                    "new_key_id": new_key.map(|k| k.record.access_key_id.clone()),
                    "saved_to": outcome.and_then(|o| o.saved_to.clone()),
                    "old_key": outcome.map(|o| o.old_key),
                    "dry_run": dry_run,
                    "steps": self.steps,
                });
                if let (Some(o), Some(key)) = (outcome, new_key) {
                    if o.secret_printed {
                        value["secret_access_key"] = Value::String(key.secret.expose().to_string());
                    }
                }
                ctx.printer.raw(&format!("{value}\n")).map_err(output_error)
            }
            _ => match (outcome, new_key) {
                (Some(o), Some(key)) if !o.secret_printed => {
                    ctx.printer.new_key(key, false).map_err(output_error)
                }
                _ => Ok(()),
            },
        }
    }
}

/// Everything the final report names.
pub(super) struct Outcome {
    pub old_key_id: String,
    pub new_key: Option<NewKey>,
    pub saved_to: Option<String>,
    pub old_key: &'static str,
    /// The secret had to be printed because it could not be stored.
    pub secret_printed: bool,
}

impl Outcome {
    /// No new key (none made, or made and deleted again): the old key is as it was.
    pub fn unchanged(old_key_id: String) -> Self {
        Outcome {
            old_key_id,
            new_key: None,
            saved_to: None,
            old_key: "active",
            secret_printed: false,
        }
    }
}

/// The dry run's last line.
pub(super) fn old_action_plan(action: OldKeyAction, old: &str) -> String {
    match action {
        OldKeyAction::Deactivate => format!("then deactivate {old}"),
        OldKeyAction::Delete => format!("then delete {old}"),
        OldKeyAction::Keep => format!("then keep {old} active"),
    }
}
