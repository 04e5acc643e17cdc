//! Writes a rotated access key back to the file a profile's credentials came from.
//!
//! `rotate` calls [`check`] before it creates a key, so that a source that cannot take the new
//! key is refused while nothing has happened yet, and [`write`] right after the cloud hands out
//! the new secret.
//!
//! How each source is edited: only the bytes of the two values (access key id and secret) change;
//! every other byte of the file (comments, spacing, order, other profiles, line endings) stays as
//! it was. The value spans are found with a parser that reports positions where one exists
//! (`toml_edit` for our TOML file, `jsonc-parser`, in strict JSON mode, for the JSON files of
//! tccli, aliyun and hcloud). No INI crate keeps a file byte-for-byte, so `~/.aws/credentials`
//! and `~/.aws/config` are edited by a small line editor that reads sections and `key = value`
//! lines as the AWS CLI does (`=` or `:`, spaces around them, keys in any case, CRLF, `#`/`;`
//! comments). Before anything is written, the edited text is parsed again with the same parser
//! the loaders use and compared with the old one: it must read back exactly as before except
//! for the two new values, or nothing is written.
//!
//! The file is replaced atomically: a temporary file in the same folder, written, fsynced, given
//! mode 0600 (and the old file's owner), renamed over the old one, then the folder is fsynced.
//! A crash leaves either the old file or the new one, never a mix.
//!
//! Refused (in [`check`] already): credentials from environment variables or a secret read from
//! one (`--save FILE` is the way out), temporary credentials (a session token), a file that is
//! not a regular file, one with several hard links (replacing it would leave the old key behind
//! in the other links), an entry that is gone, ambiguous (a section, profile or key appearing
//! twice) or holds another key id.
//!
//! A symlinked file is written through: the link is left alone and its final target is
//! replaced, in the target's folder, so files kept in a dotfiles repository or on another
//! volume stay where the link points. [`write`] returns that target's path.
//!
//! No secret ever appears in an error or a log line; errors name the file and the profile.

use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::atomic;
use crate::config::{Profile, Source};
use crate::error::{Error, Result};
use crate::model::Secret;

/// Checks, before anything is created, that the new key of `profile` can be written back to
/// its source (the file exists, is a regular file, its folder is writable, the profile's
/// entry is still there with the same access key id, the secret is not taken from an env var,
/// the source is not the environment). Err(Error kind Usage or Io, one clear line saying why
/// and, for env sources, "pass --save FILE").
pub fn check(profile: &crate::config::Profile) -> crate::error::Result<()> {
    let target = Target::of(profile)?;
    let text = target.read()?;
    let entry = target.locate(&text)?;
    if entry.id != profile.access_key_id {
        return Err(target.refuse(format!(
            "it now holds access key id {}, not {}; the file changed after it was read, run the \
             command again",
            entry.id, profile.access_key_id
        )));
    }
    target.probe_folder()
}

/// Replaces the access key id and secret of `profile` in its source file, by atomic replace:
/// temp file in the same folder (tempfile crate), write, fsync, rename over, fsync the folder;
/// mode 0600; everything else in the file byte-for-byte untouched. Returns the path written.
/// Refuses (and writes nothing) if the entry's current access key id isn't `old_key_id`
/// unless it already is `new_key_id` (then Ok: re-running after an interruption is a no-op).
pub fn write(
    profile: &crate::config::Profile,
    old_key_id: &str,
    new_key_id: &str,
    new_secret: &crate::model::Secret,
) -> crate::error::Result<std::path::PathBuf> {
    let target = Target::of(profile)?;
    target.validate("access key id", new_key_id)?;
    target.validate("secret", new_secret.expose())?;
    let backup = backup_path(&target.real, &profile.name);
    let made_backup = std::cell::Cell::new(false);
    // Under the file's lock, on what it holds now: another rotation of another profile of the
    // same file may have written it since `check` read it, and its change must stay.
    let written = atomic::write_locked(&target.real, 0o600, |current| {
        let text = target.text(current)?;
        let entry = target.locate(&text)?;
        if entry.id == new_key_id && entry.secret.expose() == new_secret.expose() {
            tracing::debug!(
                "{} already holds access key {new_key_id}; nothing to write",
                target.place
            );
            return Ok(text.as_bytes().to_vec());
        }
        if entry.id != old_key_id && entry.id != new_key_id {
            return Err(target.refuse(format!(
                "it holds access key id {}, neither {old_key_id} (the key being replaced) nor \
                 {new_key_id} (the new one); it was changed by something else, so nothing was written",
                entry.id
            )));
        }
        // The id already being the new one means an earlier run was interrupted, or someone
        // pasted the id by hand: the secret the cloud gave for that id is the only right one.
        let mut edits = vec![(
            entry.secret_span.clone(),
            target.encode(&text[entry.secret_span.clone()], new_secret.expose())?,
        )];
        if entry.id != new_key_id {
            edits.push((
                entry.id_span.clone(),
                target.encode(&text[entry.id_span.clone()], new_key_id)?,
            ));
        }
        let new_text = splice(&text, edits);
        target.verify(&text, &new_text, &entry, new_key_id, new_secret)?;
        // The old secret is about to be overwritten before the new key is proven: keep the
        // file as it is until the rotation is over, so that [`restore`] can put it back.
        if entry.id == old_key_id {
            atomic::write_held(&backup, 0o600, |_| Ok(text.as_bytes().to_vec()))
                .map_err(|err| err.with_profile(target.profile))?;
            made_backup.set(true);
        }
        Ok(new_text.as_bytes().to_vec())
    });
    let written = match written {
        Ok(written) => written,
        Err(err) => {
            // Nothing was written: the backup made for this write is not needed.
            if made_backup.get() {
                discard_backup(profile);
            }
            return Err(err.with_profile(target.profile));
        }
    };
    if written == atomic::Written::Replaced {
        tracing::info!("wrote access key {new_key_id} to {}", target.place);
    }
    Ok(target.real)
}

/// Puts the old key of `profile` (as loaded, before the rotation) back into its entry, when
/// the new key `new_key_id` is abandoned: the entry's id and secret get the exact bytes they
/// had in the backup [`write`] kept, and nothing else in the file changes (so a change another
/// profile made since stays; with no such change the file is byte-for-byte as before). Then
/// the backup is removed. Returns the path written.
pub fn restore(profile: &Profile, new_key_id: &str) -> Result<PathBuf> {
    let target = Target::of(profile)?;
    let backup = backup_path(&target.real, &profile.name);
    let saved = fs::read(&backup).map(Zeroizing::new).map_err(|err| {
        target.io(
            format_args!("cannot read the backup {}", backup.display()),
            &err,
        )
    })?;
    let saved = target.text(Some(&saved))?;
    let old = target.locate(&saved)?;
    if old.id != profile.access_key_id {
        return Err(target.refuse(format!(
            "the backup {} holds access key id {}, not {}; nothing was restored",
            backup.display(),
            old.id,
            profile.access_key_id
        )));
    }
    atomic::write_locked(&target.real, 0o600, |current| {
        let text = target.text(current)?;
        let entry = target.locate(&text)?;
        if entry.id == old.id && entry.secret.expose() == old.secret.expose() {
            return Ok(text.as_bytes().to_vec());
        }
        if entry.id != new_key_id {
            return Err(target.refuse(format!(
                "it holds access key id {}, not the new {new_key_id}; it was changed by \
                 something else, so the old key was not put back (it is in {})",
                entry.id,
                backup.display()
            )));
        }
        let new_text = splice(
            &text,
            vec![
                (
                    entry.id_span.clone(),
                    saved[old.id_span.clone()].to_string(),
                ),
                (
                    entry.secret_span.clone(),
                    saved[old.secret_span.clone()].to_string(),
                ),
            ],
        );
        target.verify(&text, &new_text, &entry, &old.id, &old.secret)?;
        Ok(new_text.as_bytes().to_vec())
    })
    .map_err(|err| err.with_profile(target.profile))?;
    tracing::info!("put access key {} back into {}", old.id, target.place);
    discard_backup(profile);
    Ok(target.real)
}

/// Removes the backup [`write`] kept, once the rotation is over (the new key works, or the old
/// one is back). A failure only leaves a 0600 file behind, so it is logged, not returned.
pub fn discard_backup(profile: &Profile) {
    let Ok(target) = Target::of(profile) else {
        return;
    };
    let backup = backup_path(&target.real, &profile.name);
    // Under the lock of the file it backs up, like its writes.
    if let Err(err) = atomic::lock(&target.real).and_then(|_lock| atomic::remove_held(&backup)) {
        tracing::warn!("{err}");
    }
}

/// `.FILE.cloudkeys-backup-PROFILE` beside the file, one per profile (two profiles of one file
/// may be rotated at once); the profile name percent-encoded so that it is a file name.
fn backup_path(real: &Path, profile: &str) -> PathBuf {
    let name = percent_encoding::utf8_percent_encode(profile, percent_encoding::NON_ALPHANUMERIC);
    atomic::beside(real, &format!("cloudkeys-backup-{name}"))
}

/// The kind of file and where the profile's entry is in it.
#[derive(Debug, Clone, Copy)]
enum Format<'a> {
    /// `[profiles.TABLE]` of our TOML file.
    Toml { table: &'a str },
    /// A section of `~/.aws/credentials` or `~/.aws/config`.
    Ini { section: &'a str },
    /// `~/.tccli/NAME.credential`: one object with `secretId` and `secretKey`.
    Tccli,
    /// One element of the `profiles` array of `~/.aliyun/config.json` or `~/.hcloud/config.json`.
    JsonProfiles { name: &'a str, cli: JsonCli },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsonCli {
    Aliyun,
    Hcloud,
}

impl JsonCli {
    fn id_key(self) -> &'static str {
        match self {
            JsonCli::Aliyun => "access_key_id",
            JsonCli::Hcloud => "accessKeyId",
        }
    }

    fn secret_key(self) -> &'static str {
        match self {
            JsonCli::Aliyun => "access_key_secret",
            JsonCli::Hcloud => "secretAccessKey",
        }
    }

    /// Whether a profile in this `mode` holds a long-term key (as the loaders decide it).
    fn long_term_mode(self, mode: Option<&str>) -> bool {
        match (self, mode) {
            (_, None) => true,
            (JsonCli::Aliyun, Some(mode)) => mode == "AK",
            (JsonCli::Hcloud, Some(mode)) => mode.eq_ignore_ascii_case("AKSK"),
        }
    }

    fn long_term_name(self) -> &'static str {
        match self {
            JsonCli::Aliyun => "AK",
            JsonCli::Hcloud => "AKSK",
        }
    }
}

const AWS_ID: &str = "aws_access_key_id";
const AWS_SECRET: &str = "aws_secret_access_key";

/// Where the profile's entry was found in the text.
struct Entry {
    id_span: Range<usize>,
    /// As the loaders read it (trimmed).
    id: String,
    secret_span: Range<usize>,
    secret: Secret,
    /// The element of a JSON `profiles` array.
    index: Option<usize>,
}

/// The file a profile came from and how to edit it.
struct Target<'a> {
    profile: &'a str,
    /// How errors name the entry, e.g. `~/.aws/credentials [prod]`.
    place: String,
    /// The regular file read and replaced (the final target if the named file is a symlink).
    real: PathBuf,
    format: Format<'a>,
}

impl<'a> Target<'a> {
    /// Refuses sources that cannot be written back, and finds the file to edit.
    fn of(profile: &'a Profile) -> Result<Self> {
        let usage = |message: String| Error::usage(message).with_profile(&profile.name);
        let (path, format) = match &profile.source {
            Source::Environment => {
                return Err(usage(
                    "its credentials come from environment variables, which cloudkeys cannot \
                     change; pass --save FILE to keep the new key in a file"
                        .into(),
                ))
            }
            Source::ConfigFile { path, table } => (path, Format::Toml { table }),
            Source::AwsCredentials { path, section } | Source::AwsConfig { path, section } => {
                (path, Format::Ini { section })
            }
            Source::TccliCredential { path } => (path, Format::Tccli),
            Source::AliyunConfig { path, name } => (
                path,
                Format::JsonProfiles {
                    name,
                    cli: JsonCli::Aliyun,
                },
            ),
            Source::HcloudConfig { path, name } => (
                path,
                Format::JsonProfiles {
                    name,
                    cli: JsonCli::Hcloud,
                },
            ),
        };
        let place = profile.source.to_string();
        if let Some(var) = &profile.secret_env {
            return Err(usage(format!(
                "{place}: its secret is read from environment variable {var}, which cloudkeys \
                 cannot change; pass --save FILE to keep the new key in a file"
            )));
        }
        if profile.session_token.is_some() {
            return Err(usage(format!(
                "{place}: it holds temporary credentials (a session token); only long-term \
                 access keys are rotated"
            )));
        }
        let io = |what: &str, err: &std::io::Error| {
            Error::io(format!("{what} {}", path.display()), err).with_profile(&profile.name)
        };
        let named = fs::symlink_metadata(path).map_err(|err| io("cannot read", &err))?;
        let real = if named.file_type().is_symlink() {
            fs::canonicalize(path).map_err(|err| io("cannot follow the symlink", &err))?
        } else {
            path.clone()
        };
        let meta = fs::metadata(&real).map_err(|err| io("cannot read", &err))?;
        if !meta.is_file() {
            return Err(usage(format!(
                "{} is not a regular file, so the new key cannot be written back to it; pass \
                 --save FILE",
                real.display()
            )));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            if meta.nlink() > 1 {
                return Err(usage(format!(
                    "{} has {} hard links; replacing it would leave the old key in the others \
                     (remove the extra links, or pass --save FILE)",
                    real.display(),
                    meta.nlink()
                )));
            }
        }
        Ok(Target {
            profile: &profile.name,
            place,
            real,
            format,
        })
    }

    /// A refusal about the entry: `FILE [section]: why`.
    fn refuse(&self, why: impl std::fmt::Display) -> Error {
        Error::usage(format!("{}: {why}", self.place)).with_profile(self.profile)
    }

    fn io(&self, what: impl std::fmt::Display, err: &std::io::Error) -> Error {
        Error::io(what, err).with_profile(self.profile)
    }

    fn read(&self) -> Result<Zeroizing<String>> {
        fs::read_to_string(&self.real)
            .map(Zeroizing::new)
            .map_err(|err| self.io(format_args!("cannot read {}", self.real.display()), &err))
    }

    /// The file's content as text, as [`atomic::write_locked`] hands it over.
    fn text(&self, current: Option<&[u8]>) -> Result<Zeroizing<String>> {
        let Some(bytes) = current else {
            return Err(self.refuse("the file is gone"));
        };
        std::str::from_utf8(bytes)
            .map(|t| Zeroizing::new(t.to_string()))
            .map_err(|_| self.refuse("the file is not UTF-8 text"))
    }

    fn folder(&self) -> &Path {
        atomic::folder(&self.real)
    }

    fn temp_file(&self) -> Result<tempfile::NamedTempFile> {
        let dir = self.folder();
        tempfile::Builder::new()
            .prefix(".cloudkeys-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|err| {
                self.io(
                    format_args!(
                        "cannot create a file in {} (needed to replace {} safely)",
                        dir.display(),
                        self.real.display()
                    ),
                    &err,
                )
            })
    }

    /// Proves that [`Target::replace`] could create its temporary file and give it the owner of
    /// the file it replaces. The probe is removed at once.
    fn probe_folder(&self) -> Result<()> {
        let probe = self.temp_file()?;
        self.keep_owner(probe.as_file())?;
        probe
            .close()
            .map_err(|err| self.io(format_args!("cannot remove a temporary file"), &err))
    }

    /// Gives `file` the owner of the file being replaced (see [`atomic::keep_owner`]).
    fn keep_owner(&self, file: &fs::File) -> Result<()> {
        atomic::keep_owner(&self.real, file).map_err(|err| err.with_profile(self.profile))
    }

    /// Refuses a new value that this file format, or the loader reading it back, would not keep
    /// exactly. Never shows the value.
    fn validate(&self, what: &str, value: &str) -> Result<()> {
        let why = if value.is_empty() {
            Some("is empty")
        } else if value.starts_with(char::is_whitespace) || value.ends_with(char::is_whitespace) {
            Some("starts or ends with whitespace, which the file's reader would drop")
        } else if matches!(self.format, Format::Ini { .. }) {
            if value.chars().any(char::is_control) {
                Some("contains a line break or another control character, which an INI file cannot hold")
            } else if value.ends_with('\\') {
                Some("ends with a backslash, which the INI reader takes as a line continuation")
            } else {
                None
            }
        } else {
            None
        };
        match why {
            Some(why) => Err(self.refuse(format!(
                "the new {what} {why}; nothing was written (pass --save FILE to keep it elsewhere)"
            ))),
            None => Ok(()),
        }
    }

    /// The text that replaces a value whose old text is `old`.
    fn encode(&self, old: &str, value: &str) -> Result<String> {
        match self.format {
            Format::Toml { .. } => Ok(toml_string(old, value)),
            Format::Ini { .. } => Ok(value.to_string()),
            Format::Tccli | Format::JsonProfiles { .. } => serde_json::to_string(value)
                .map_err(|err| self.refuse(format!("cannot encode the new value: {err}"))),
        }
    }

    fn locate(&self, text: &str) -> Result<Entry> {
        match self.format {
            Format::Toml { table } => self.locate_toml(text, table),
            Format::Ini { section } => self.locate_ini(text, section),
            Format::Tccli | Format::JsonProfiles { .. } => self.locate_json(text),
        }
    }

    /// Checks that `new` reads back, with the loaders' parser, exactly as `old` with the entry's
    /// id and secret replaced.
    fn verify(
        &self,
        old: &str,
        new: &str,
        entry: &Entry,
        new_id: &str,
        new_secret: &Secret,
    ) -> Result<()> {
        let same = match self.format {
            Format::Toml { table } => verify_toml(old, new, table, new_id, new_secret),
            Format::Ini { section } => verify_ini(old, new, section, new_id, new_secret),
            Format::Tccli => verify_json(
                old,
                new,
                None,
                ("secretId", "secretKey"),
                new_id,
                new_secret,
            ),
            Format::JsonProfiles { cli, .. } => verify_json(
                old,
                new,
                entry.index,
                (cli.id_key(), cli.secret_key()),
                new_id,
                new_secret,
            ),
        };
        if same {
            Ok(())
        } else {
            Err(self.refuse(
                "the edited file would not read back as expected, so nothing was written; \
                 please report this and pass --save FILE",
            ))
        }
    }

    // ---- TOML ----

    fn locate_toml(&self, text: &str, table: &str) -> Result<Entry> {
        let doc = toml_edit::ImDocument::parse(text).map_err(|err| {
            let at = err
                .span()
                .map(|span| format!(" at line {}", line_of(text, span.start)))
                .unwrap_or_default();
            self.refuse(format!(
                "the file no longer parses{at}: {}",
                err.message().trim()
            ))
        })?;
        let entry = doc
            .as_table()
            .get("profiles")
            .and_then(toml_edit::Item::as_table_like)
            .and_then(|profiles| profiles.get(table))
            .and_then(toml_edit::Item::as_table_like)
            .ok_or_else(|| self.refuse("the profile is no longer in the file"))?;
        let field = |key: &str| {
            let value = entry
                .get(key)
                .and_then(toml_edit::Item::as_value)
                .ok_or_else(|| self.refuse(format!("{key} is missing")))?;
            match (value.as_str(), value.span()) {
                (Some(text), Some(span)) => Ok((span, text.to_string())),
                _ => Err(self.refuse(format!("{key} is not a string"))),
            }
        };
        let (id_span, id) = field("access_key_id")?;
        let (secret_span, secret) = field("secret_access_key")?;
        Ok(Entry {
            id_span,
            id: id.trim().to_string(),
            secret_span,
            secret: Secret::new(secret),
            index: None,
        })
    }

    // ---- INI ----

    fn locate_ini(&self, text: &str, section: &str) -> Result<Entry> {
        let parsed = parse_ini(text)
            .map_err(|err| self.refuse(format!("the file no longer parses: {err}")))?;
        let sections: Vec<_> = parsed
            .iter()
            .filter(|(name, _)| *name == Some(section))
            .collect();
        let props = match sections.as_slice() {
            [] => return Err(self.refuse("the section is no longer in the file")),
            [(_, props)] => *props,
            _ => {
                return Err(
                    self.refuse("the section appears more than once; merge the copies by hand")
                )
            }
        };
        let lines = IniLines::scan(text, section);
        if lines.headers != 1 {
            return Err(self.refuse("the section appears more than once; merge the copies by hand"));
        }
        let field = |key: &str, found: &[IniValue]| -> Result<(Range<usize>, String)> {
            let value = match found {
                [] => return Err(self.refuse(format!("{key} is missing"))),
                [one] => one,
                _ => {
                    return Err(self.refuse(format!(
                        "{key} is set more than once in the section; keep one by hand"
                    )))
                }
            };
            if value.continued {
                return Err(self.refuse(format!(
                    "{key} continues on an indented next line; put it on one line by hand"
                )));
            }
            // What the loader read must be what this editor sees, or the edit is a guess.
            let loaded: Vec<&str> = props
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
                .collect();
            if loaded != [&text[value.span.clone()]] {
                return Err(self.refuse(format!(
                    "the {key} line is not a plain `key = value` line; fix it by hand"
                )));
            }
            Ok((value.span.clone(), text[value.span.clone()].to_string()))
        };
        let (id_span, id) = field(AWS_ID, &lines.ids)?;
        let (secret_span, secret) = field(AWS_SECRET, &lines.secrets)?;
        Ok(Entry {
            id_span,
            id,
            secret_span,
            secret: Secret::new(secret),
            index: None,
        })
    }

    // ---- JSON ----

    fn locate_json(&self, text: &str) -> Result<Entry> {
        // serde_json (what the loaders use) decides whether the file is valid; its errors show
        // positions, never content.
        serde_json::from_str::<serde_json::Value>(text)
            .map_err(|err| self.refuse(format!("the file is no longer valid JSON: {err}")))?;
        let ast = jsonc_parser::parse_to_ast(text, &Default::default(), &strict_json())
            .ok()
            .and_then(|parsed| parsed.value)
            .ok_or_else(|| self.refuse("the file could not be read as strict JSON"))?;
        let root = match &ast {
            jsonc_parser::ast::Value::Object(root) => root,
            _ => return Err(self.refuse("the file is not a JSON object")),
        };
        let (object, index, id_key, secret_key) = match self.format {
            Format::JsonProfiles { name, cli } => {
                let (index, object) = self.json_profile(root, name, cli)?;
                (object, Some(index), cli.id_key(), cli.secret_key())
            }
            _ => (root, None, "secretId", "secretKey"),
        };
        let field = |key: &str| -> Result<(Range<usize>, String)> {
            match self.unique_prop(object, key)?.map(|p| &p.value) {
                Some(jsonc_parser::ast::Value::StringLit(lit)) => {
                    Ok((lit.range.start..lit.range.end, lit.value.to_string()))
                }
                Some(_) => Err(self.refuse(format!("{key} is not a string"))),
                None => Err(self.refuse(format!("{key} is missing"))),
            }
        };
        let (id_span, id) = field(id_key)?;
        let (secret_span, secret) = field(secret_key)?;
        Ok(Entry {
            id_span,
            id: id.trim().to_string(),
            secret_span,
            secret: Secret::new(secret.trim()),
            index,
        })
    }

    /// The one element of `profiles` named `name`, which must hold a long-term key.
    fn json_profile<'t, 'b>(
        &self,
        root: &'b jsonc_parser::ast::Object<'t>,
        name: &str,
        cli: JsonCli,
    ) -> Result<(usize, &'b jsonc_parser::ast::Object<'t>)> {
        let Some(jsonc_parser::ast::Value::Array(profiles)) =
            self.unique_prop(root, "profiles")?.map(|p| &p.value)
        else {
            return Err(self.refuse("the file has no profiles list any more"));
        };
        let mut found = Vec::new();
        for (index, element) in profiles.elements.iter().enumerate() {
            let jsonc_parser::ast::Value::Object(object) = element else {
                continue;
            };
            let named = match self.unique_prop(object, "name")?.map(|p| &p.value) {
                Some(jsonc_parser::ast::Value::StringLit(lit)) => lit.value.trim() == name,
                _ => false,
            };
            if named {
                found.push((index, object));
            }
        }
        let (index, object) = match found.as_slice() {
            [] => return Err(self.refuse("the profile is no longer in the file")),
            [one] => *one,
            _ => return Err(self.refuse("several profiles have this name; rename one by hand")),
        };
        let mode = match self.unique_prop(object, "mode")?.map(|p| &p.value) {
            Some(jsonc_parser::ast::Value::StringLit(lit)) => Some(lit.value.trim().to_string()),
            _ => None,
        };
        if !cli.long_term_mode(mode.as_deref()) {
            return Err(self.refuse(format!(
                "the profile is in mode {}; only {} profiles hold a long-term key to write back",
                mode.unwrap_or_default(),
                cli.long_term_name()
            )));
        }
        Ok((index, object))
    }

    /// The property `key` of `object`; a key given twice is refused (readers disagree on which
    /// one counts).
    fn unique_prop<'t, 'b>(
        &self,
        object: &'b jsonc_parser::ast::Object<'t>,
        key: &str,
    ) -> Result<Option<&'b jsonc_parser::ast::ObjectProp<'t>>> {
        let mut props = object.properties.iter().filter(|p| p.name.as_str() == key);
        let first = props.next();
        if props.next().is_some() {
            return Err(self.refuse(format!(
                "\"{key}\" is given more than once in one object; keep one by hand"
            )));
        }
        Ok(first)
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Replaces non-overlapping spans of `text`.
fn splice(text: &str, mut edits: Vec<(Range<usize>, String)>) -> Zeroizing<String> {
    edits.sort_by_key(|(span, _)| std::cmp::Reverse(span.start));
    let mut out = Zeroizing::new(text.to_string());
    for (span, replacement) in edits {
        out.replace_range(span, &replacement);
    }
    out
}

/// A TOML string holding `value`, in the style of the string it replaces where possible: a
/// literal string (`'...'`) stays literal unless the value needs escapes.
fn toml_string(old: &str, value: &str) -> String {
    let literal_fits = !value.chars().any(|c| c == '\'' || c.is_control());
    if old.starts_with('\'') && literal_fits {
        return format!("'{value}'");
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn verify_toml(old: &str, new: &str, table: &str, new_id: &str, new_secret: &Secret) -> bool {
    let (Ok(mut expected), Ok(found)) = (
        toml::from_str::<toml::Table>(old),
        toml::from_str::<toml::Table>(new),
    ) else {
        return false;
    };
    let Some(entry) = expected
        .get_mut("profiles")
        .and_then(|p| p.get_mut(table))
        .and_then(toml::Value::as_table_mut)
    else {
        return false;
    };
    entry.insert("access_key_id".into(), new_id.into());
    entry.insert(
        "secret_access_key".into(),
        new_secret.expose().to_string().into(),
    );
    same_toml(&toml::Value::Table(expected), &toml::Value::Table(found))
}

/// Equality of TOML values where a NaN equals a NaN.
fn same_toml(a: &toml::Value, b: &toml::Value) -> bool {
    use toml::Value::*;
    match (a, b) {
        (Float(x), Float(y)) => x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
        (Array(x), Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_toml(x, y)),
        (Table(x), Table(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_toml(v, w)))
        }
        _ => a == b,
    }
}

fn strict_json() -> jsonc_parser::ParseOptions {
    jsonc_parser::ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

fn verify_json(
    old: &str,
    new: &str,
    index: Option<usize>,
    (id_key, secret_key): (&str, &str),
    new_id: &str,
    new_secret: &Secret,
) -> bool {
    let (Ok(mut expected), Ok(found)) = (
        serde_json::from_str::<serde_json::Value>(old),
        serde_json::from_str::<serde_json::Value>(new),
    ) else {
        return false;
    };
    let entry = match index {
        Some(index) => expected.get_mut("profiles").and_then(|p| p.get_mut(index)),
        None => Some(&mut expected),
    };
    let Some(serde_json::Value::Object(entry)) = entry else {
        return false;
    };
    entry.insert(id_key.into(), new_id.into());
    entry.insert(secret_key.into(), new_secret.expose().into());
    expected == found
}

/// Parses INI text exactly as the loaders do (src/config.rs).
fn parse_ini(text: &str) -> std::result::Result<ini::Ini, ini::ParseError> {
    ini::Ini::load_from_str_opt(
        text,
        ini::ParseOption {
            enabled_quote: false,
            enabled_escape: false,
            ..Default::default()
        },
    )
}

type IniShape = Vec<(Option<String>, Vec<(String, String)>)>;

fn ini_shape(ini: &ini::Ini) -> IniShape {
    ini.iter()
        .map(|(section, props)| {
            (
                section.map(str::to_string),
                props
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        })
        .collect()
}

fn verify_ini(old: &str, new: &str, section: &str, new_id: &str, new_secret: &Secret) -> bool {
    let (Ok(old), Ok(new)) = (parse_ini(old), parse_ini(new)) else {
        return false;
    };
    let mut expected = ini_shape(&old);
    for (name, props) in &mut expected {
        if name.as_deref() != Some(section) {
            continue;
        }
        for (key, value) in props {
            if key.eq_ignore_ascii_case(AWS_ID) {
                *value = new_id.to_string();
            } else if key.eq_ignore_ascii_case(AWS_SECRET) {
                *value = new_secret.expose().to_string();
            }
        }
    }
    expected == ini_shape(&new)
}

/// One `key = value` line found for a wanted key.
struct IniValue {
    /// The value, without the spaces around it and the line ending.
    span: Range<usize>,
    /// The next line that is not blank or a comment is indented deeper: the AWS CLI (Python's
    /// configparser) would read it as part of this value.
    continued: bool,
}

/// The wanted keys of one section, found line by line.
///
/// A line editor rather than an INI crate because no INI crate writes a file back
/// byte-for-byte. It reads lines as the AWS CLI does: `[name]` headers (name trimmed),
/// `#`/`;` comment lines, `key = value` or `key: value` with any spaces, keys in any case, LF
/// or CRLF endings.
struct IniLines {
    headers: usize,
    ids: Vec<IniValue>,
    secrets: Vec<IniValue>,
}

impl IniLines {
    fn scan(text: &str, section: &str) -> Self {
        let mut found = IniLines {
            headers: 0,
            ids: Vec::new(),
            secrets: Vec::new(),
        };
        let mut lines = Vec::new();
        let mut offset = 0;
        for raw in text.split_inclusive('\n') {
            let line = raw.strip_suffix('\n').unwrap_or(raw);
            let line = line.strip_suffix('\r').unwrap_or(line);
            lines.push((offset, line));
            offset += raw.len();
        }
        let mut in_section = false;
        for (i, &(start, line)) in lines.iter().enumerate() {
            let body = line.trim_start();
            if body.is_empty() || body.starts_with(['#', ';']) {
                continue;
            }
            if let Some(header) = body.strip_prefix('[') {
                let name = header.split(']').next().unwrap_or(header).trim();
                in_section = name == section;
                if in_section {
                    found.headers += 1;
                }
                continue;
            }
            if !in_section {
                continue;
            }
            let Some(at) = line.find(['=', ':']) else {
                continue;
            };
            let key = line[..at].trim();
            let list = if key.eq_ignore_ascii_case(AWS_ID) {
                &mut found.ids
            } else if key.eq_ignore_ascii_case(AWS_SECRET) {
                &mut found.secrets
            } else {
                continue;
            };
            let rest = &line[at + 1..];
            let value = rest.trim();
            let value_start = at + 1 + (rest.len() - rest.trim_start().len());
            let indent = line.len() - body.len();
            let continued = lines[i + 1..]
                .iter()
                .map(|(_, next)| *next)
                .find(|next| {
                    let body = next.trim_start();
                    !body.is_empty() && !body.starts_with(['#', ';'])
                })
                .is_some_and(|next| next.len() - next.trim_start().len() > indent);
            list.push(IniValue {
                span: start + value_start..start + value_start + value.len(),
                continued,
            });
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{self, Environment};
    use crate::error::ErrorKind;
    use crate::model::ProviderKind;
    use std::collections::BTreeMap;

    use crate::atomic::tests::BEFORE_RENAME;

    const NEW_ID: &str = "AKIANEWKEY00000000002";
    const NEW_SECRET: &str = "new/Secret+Value=2";

    /// A home folder with some files, and the config file (if any) our loader reads.
    struct Home {
        dir: tempfile::TempDir,
        config: Option<PathBuf>,
    }

    impl Home {
        fn new() -> Self {
            Home {
                dir: tempfile::tempdir().unwrap(),
                config: None,
            }
        }

        fn path(&self, relative: &str) -> PathBuf {
            self.dir.path().join(relative)
        }

        fn put(&self, relative: &str, text: &str) -> PathBuf {
            let path = self.path(relative);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, text).unwrap();
            path
        }

        fn env(&self) -> Environment {
            Environment {
                vars: Default::default(),
                home: Some(self.dir.path().to_path_buf()),
            }
        }

        fn load(&self) -> config::Config {
            config::load(self.config.as_deref(), &self.env()).unwrap()
        }

        fn profile(&self, name: &str) -> Profile {
            let config = self.load();
            config
                .profiles
                .into_iter()
                .find(|p| p.name == name)
                .unwrap_or_else(|| panic!("no profile {name}"))
        }

        /// Every file below the home folder and its bytes.
        fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
            fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
                for entry in fs::read_dir(dir).unwrap() {
                    let path = entry.unwrap().path();
                    // Lock files stay by design and the backup of the old content is the
                    // subject of its own tests: the snapshots compare everything else.
                    let name = path.file_name().unwrap().to_string_lossy();
                    if name.ends_with(".cloudkeys-lock") || name.contains(".cloudkeys-backup-") {
                        continue;
                    }
                    let meta = fs::symlink_metadata(&path).unwrap();
                    if meta.is_dir() {
                        walk(&path, out);
                    } else if meta.is_file() {
                        out.insert(path.clone(), fs::read(&path).unwrap());
                    } else {
                        out.insert(path.clone(), b"<link>".to_vec());
                    }
                }
            }
            let mut out = BTreeMap::new();
            walk(self.dir.path(), &mut out);
            out
        }
    }

    fn profile_path(profile: &Profile) -> PathBuf {
        match &profile.source {
            Source::TccliCredential { path } => path.clone(),
            other => panic!("not a tccli source: {other}"),
        }
    }

    fn mode(path: &Path) -> u32 {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::metadata(path).unwrap().permissions().mode() & 0o777
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            0o600
        }
    }

    fn secret(value: &str) -> Secret {
        Secret::new(value)
    }

    /// Writes the new key into `file` for `profile` and checks that the file became `expected`
    /// exactly, mode 0600, with every other file unchanged and no temporary file left.
    fn rotate_and_compare(home: &Home, profile: &str, file: &Path, expected: &str) {
        let profile = home.profile(profile);
        let before = home.snapshot();
        check(&profile).unwrap();
        assert_eq!(home.snapshot(), before, "check left something behind");
        let old_id = profile.access_key_id.clone();
        let written = write(&profile, &old_id, NEW_ID, &secret(NEW_SECRET)).unwrap();
        assert_eq!(written, file);
        assert_eq!(fs::read_to_string(file).unwrap(), expected);
        assert_eq!(mode(file), 0o600);
        let mut after = home.snapshot();
        assert_eq!(after.remove(file).unwrap(), expected.as_bytes());
        let mut before = before;
        before.remove(file);
        assert_eq!(
            after, before,
            "other files changed or a temporary file was left"
        );
        // The loaders read the new key back.
        let reloaded = home.profile(&profile.name);
        assert_eq!(reloaded.access_key_id, NEW_ID);
        assert_eq!(reloaded.secret_access_key.expose(), NEW_SECRET);
        assert_eq!(reloaded.source, profile.source);
    }

    const TOML: &str = r#"# cloudkeys configuration, kept by hand
default_profile = "prod"   # used when -p is not given

[profiles.prod]
provider = "aws"
access_key_id     =   "AKIAOLDPROD000000001"   # rotated by cloudkeys
secret_access_key = 'old/Prod+Secret'
region = "cn-north-1"

[profiles.staging]   # shares nothing with prod
provider = "aws"
access_key_id = "AKIASTAGING000000001"
secret_access_key = "stagingSecret"

[profiles]
ci = { provider = "alibaba", access_key_id = "LTAICI", secret_access_key = "ci\"quoted\\secret" }

[audit]
max_age_days = 90
[[audit.allow]]
access_key_id = "AKIAOLDPROD000000001"
reason = "the same id elsewhere must stay"
"#;

    fn toml_home() -> (Home, PathBuf) {
        let mut home = Home::new();
        let path = home.put(".config/cloudkeys/config.toml", TOML);
        home.put(".config/cloudkeys/notes.txt", "not ours\n");
        home.config = Some(path.clone());
        (home, path)
    }

    #[test]
    fn toml_changes_only_the_two_values() {
        let (home, path) = toml_home();
        let expected = TOML
            .replace(
                r#"=   "AKIAOLDPROD000000001"   #"#,
                &format!(r#"=   "{NEW_ID}"   #"#),
            )
            .replace("'old/Prod+Secret'", &format!("'{NEW_SECRET}'"));
        rotate_and_compare(&home, "prod", &path, &expected);
    }

    #[test]
    fn toml_inline_table_and_escaped_secrets() {
        let (home, path) = toml_home();
        let expected = TOML.replace(
            r#"access_key_id = "LTAICI", secret_access_key = "ci\"quoted\\secret" }"#,
            &format!(r#"access_key_id = "{NEW_ID}", secret_access_key = "{NEW_SECRET}" }}"#),
        );
        assert_ne!(expected, TOML);
        rotate_and_compare(&home, "ci", &path, &expected);
        // A literal string that cannot hold the new secret becomes a basic one.
        assert_eq!(toml_string("'x'", "it's"), r#""it's""#);
        assert_eq!(toml_string("'x'", "a\\b"), "'a\\b'");
        assert_eq!(toml_string("\"x\"", "q\"\\\n\u{7f}"), r#""q\"\\\n\u007F""#);
    }

    const CREDENTIALS: &str = "# AWS credentials\n\
        [default]\n\
        aws_access_key_id = AKIADEFAULT00000001\n\
        aws_secret_access_key = defaultSecret\n\
        \n\
        ; production, rotated by cloudkeys\n\
        [prod]\n\
        aws_access_key_id=AKIAOLDPROD000000001\n\
        aws_secret_access_key   =    old/Prod+Secret    \n\
        region = cn-north-1\n\
        \n\
        [  staging  ]\n\
        aws_access_key_id : AKIASTAGING00000001\n\
        aws_secret_access_key:stagingSecret\n\
        \n\
        [prod-copy]\n\
        # the same key under another name must stay\n\
        aws_access_key_id = AKIAOLDPROD000000001\n\
        aws_secret_access_key = old/Prod+Secret\n";

    fn aws_home(credentials: &str) -> (Home, PathBuf) {
        let home = Home::new();
        let path = home.put(".aws/credentials", credentials);
        home.put(
            ".aws/config",
            "[default]\nregion = eu-west-1\n[profile prod]\noutput = json\n",
        );
        (home, path)
    }

    #[test]
    fn aws_credentials_change_only_the_two_values() {
        let (home, path) = aws_home(CREDENTIALS);
        let expected = CREDENTIALS
            .replace(
                "aws_access_key_id=AKIAOLDPROD000000001\n",
                &format!("aws_access_key_id={NEW_ID}\n"),
            )
            .replace(
                "=    old/Prod+Secret    \n",
                &format!("=    {NEW_SECRET}    \n"),
            );
        rotate_and_compare(&home, "aws:prod", &path, &expected);

        // `key : value` with spaces, in a section whose header has spaces inside the brackets.
        let (home, path) = aws_home(CREDENTIALS);
        let expected = CREDENTIALS
            .replace(
                "aws_access_key_id : AKIASTAGING00000001",
                &format!("aws_access_key_id : {NEW_ID}"),
            )
            .replace(
                "aws_secret_access_key:stagingSecret",
                &format!("aws_secret_access_key:{NEW_SECRET}"),
            );
        rotate_and_compare(&home, "aws:staging", &path, &expected);
    }

    #[test]
    fn aws_crlf_and_keys_in_any_case() {
        let text = "[default]\r\n\
            AWS_Access_Key_ID = AKIAOLDPROD000000001\r\n\
            Aws_Secret_Access_Key = old/Prod+Secret\r\n\
            [other]\r\n\
            aws_access_key_id = AKIAOTHER\r\n\
            aws_secret_access_key = otherSecret\r\n";
        let (home, path) = aws_home(text);
        // The loader matches keys case-sensitively, as rust-ini does; the AWS CLI does not.
        let profile = Profile {
            name: "aws:default".into(),
            provider: ProviderKind::Aws,
            access_key_id: "AKIAOLDPROD000000001".into(),
            secret_access_key: secret("old/Prod+Secret"),
            session_token: None,
            region: None,
            endpoint: None,
            project_id: None,
            source: Source::AwsCredentials {
                path: path.clone(),
                section: "default".into(),
            },
            secret_env: None,
        };
        check(&profile).unwrap();
        write(
            &profile,
            "AKIAOLDPROD000000001",
            NEW_ID,
            &secret(NEW_SECRET),
        )
        .unwrap();
        let expected = text
            .replace("AKIAOLDPROD000000001\r\n", &format!("{NEW_ID}\r\n"))
            .replace("= old/Prod+Secret\r\n", &format!("= {NEW_SECRET}\r\n"));
        assert_eq!(fs::read_to_string(&path).unwrap(), expected);
        let other = home.profile("aws:other");
        assert_eq!(other.secret_access_key.expose(), "otherSecret");
    }

    const AWS_CONFIG: &str = "[default]\n\
        region = eu-west-1\n\
        output = json\n\
        \n\
        # a section the AWS CLI ignores in this file: it must not be touched\n\
        [ci]\n\
        aws_access_key_id = AKIAOLDCI00000000001\n\
        aws_secret_access_key = oldCiSecret\n\
        \n\
        [profile   ci]\n\
        region = us-west-2\n\
        aws_access_key_id = AKIAOLDCI00000000001\n\
        aws_secret_access_key = oldCiSecret\n\
        \n\
        [sso-session corp]\n\
        sso_region = us-east-1\n";

    #[test]
    fn aws_config_profile_sections() {
        let home = Home::new();
        let path = home.put(".aws/config", AWS_CONFIG);
        home.put(".aws/cli/cache/x.json", "{}");
        let profile = home.profile("aws:ci");
        assert_eq!(
            profile.source,
            Source::AwsConfig {
                path: path.clone(),
                section: "profile   ci".into()
            }
        );
        let at = AWS_CONFIG.find("[profile   ci]").unwrap();
        let expected = format!(
            "{}{}",
            &AWS_CONFIG[..at],
            AWS_CONFIG[at..]
                .replace("AKIAOLDCI00000000001", NEW_ID)
                .replace("oldCiSecret", NEW_SECRET)
        );
        rotate_and_compare(&home, "aws:ci", &path, &expected);
    }

    const TCCLI: &str = "{\n    \"secretId\": \"AKIDOLD0000000001\",\n    \"secretKey\": \"old\\/Tencent\\u002bSecret\",\n    \"token\": \"\"\n}";

    #[test]
    fn tccli_credential_changes_only_the_two_values() {
        let home = Home::new();
        let path = home.put(".tccli/default.credential", TCCLI);
        home.put(
            ".tccli/default.configure",
            "{\n    \"_sys_param\": {\"region\": \"ap-guangzhou\"}\n}",
        );
        home.put(
            ".tccli/other.credential",
            "{\"secretId\": \"AKIDOTHER\", \"secretKey\": \"otherSecret\"}",
        );
        let expected = TCCLI.replace("AKIDOLD0000000001", NEW_ID).replace(
            r#""old\/Tencent\u002bSecret""#,
            &serde_json::to_string(NEW_SECRET).unwrap(),
        );
        assert_ne!(expected, TCCLI);
        rotate_and_compare(&home, "tencent:default", &path, &expected);
    }

    const ALIYUN: &str = r#"{
	"current": "prod",
	"profiles": [
		{
			"name": "default",
			"mode": "AK",
			"access_key_id": "LTAIDEFAULT",
			"access_key_secret": "defaultSecret",
			"region_id": "cn-hangzhou",
			"output_format": "json",
			"language": "en"
		},
		{
			"name": "prod",
			"mode": "AK",
			"access_key_id":   "LTAIOLDPROD" ,
			"access_key_secret": "old\u002FProd\"Secret",
			"sts_token": "",
			"region_id": "cn-shanghai",
			"retry_count": 0
		},
		{
			"name": "role",
			"mode": "RamRoleArn",
			"access_key_id": "LTAIROLE",
			"access_key_secret": "roleSecret",
			"ram_role_arn": "acs:ram::1:role/x"
		}
	],
	"meta_path": ""
}
"#;

    #[test]
    fn aliyun_config_changes_only_the_two_values() {
        let home = Home::new();
        let path = home.put(".aliyun/config.json", ALIYUN);
        home.put(".aliyun/plugins.json", "[]\n");
        let expected = ALIYUN
            .replace(r#""LTAIOLDPROD""#, &format!(r#""{NEW_ID}""#))
            .replace(
                r#""old\u002FProd\"Secret""#,
                &serde_json::to_string(NEW_SECRET).unwrap(),
            );
        rotate_and_compare(&home, "alibaba:prod", &path, &expected);
    }

    #[test]
    fn aliyun_profile_in_another_mode_is_refused() {
        let home = Home::new();
        let path = home.put(".aliyun/config.json", ALIYUN);
        let mut profile = home.profile("alibaba:prod");
        profile.name = "alibaba:role".into();
        profile.access_key_id = "LTAIROLE".into();
        profile.source = Source::AliyunConfig {
            path: path.clone(),
            name: "role".into(),
        };
        let err = check(&profile).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Usage);
        assert!(err.to_string().contains("mode RamRoleArn"), "{err}");
        assert!(write(&profile, "LTAIROLE", NEW_ID, &secret(NEW_SECRET)).is_err());
        assert_eq!(fs::read_to_string(&path).unwrap(), ALIYUN);
    }

    const HCLOUD: &str = r#"{
  "language": "en",
  "current": "ops",
  "profiles": [
    {
      "name": "default",
      "mode": "AKSK",
      "accessKeyId": "HWOLDDEFAULT",
      "secretAccessKey": "defaultSecret",
      "securityToken": "",
      "region": "cn-north-4",
      "projectId": "p-default",
      "domainId": "",
      "skipSecureVerify": false,
      "readTimeout": 10
    },
    {
      "name": "ops",
      "mode": "AKSK",
      "accessKeyId": "HWOLDOPS",
      "secretAccessKey": "opsSecret\\with\\backslashes",
      "securityToken": "",
      "region": "cn-south-1",
      "projectId": "p-ops",
      "readTimeout": 10
    }
  ]
}"#;

    #[test]
    fn hcloud_config_changes_only_the_two_values() {
        let home = Home::new();
        let path = home.put(".hcloud/config.json", HCLOUD);
        home.put(".hcloud/log/hcloud.log", "log\n");
        let expected = HCLOUD.replace("HWOLDOPS", NEW_ID).replace(
            r#""opsSecret\\with\\backslashes""#,
            &serde_json::to_string(NEW_SECRET).unwrap(),
        );
        rotate_and_compare(&home, "huawei:ops", &path, &expected);
    }

    #[test]
    fn wrong_old_id_is_refused_and_nothing_written() {
        let (home, path) = aws_home(CREDENTIALS);
        let profile = home.profile("aws:prod");
        let before = home.snapshot();
        let err = write(&profile, "AKIASOMETHINGELSE", NEW_ID, &secret(NEW_SECRET)).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Usage);
        let text = err.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains("aws:prod"), "{text}");
        assert!(
            !text.contains(NEW_SECRET) && !text.contains("old/Prod+Secret"),
            "{text}"
        );
        assert_eq!(home.snapshot(), before);
    }

    #[cfg(unix)]
    fn inode(path: &Path) -> u64 {
        use std::os::unix::fs::MetadataExt;
        fs::metadata(path).unwrap().ino()
    }

    #[cfg(unix)]
    #[test]
    fn running_again_is_a_no_op() {
        let (home, path) = toml_home();
        let profile = home.profile("prod");
        let old = profile.access_key_id.clone();
        write(&profile, &old, NEW_ID, &secret(NEW_SECRET)).unwrap();
        let after_first = home.snapshot();
        let first_inode = inode(&path);
        // The same call again (the caller still holds the profile as it was loaded).
        let path_again = write(&profile, &old, NEW_ID, &secret(NEW_SECRET)).unwrap();
        assert_eq!(path_again, path);
        assert_eq!(home.snapshot(), after_first);
        assert_eq!(inode(&path), first_inode, "the file was replaced again");
        // The id is already the new one but the secret is not the new one: the secret is fixed.
        write(&profile, &old, NEW_ID, &secret("another")).unwrap();
        assert_eq!(home.profile("prod").secret_access_key.expose(), "another");
        assert_eq!(home.profile("prod").access_key_id, NEW_ID);
    }

    #[test]
    fn restore_puts_the_old_bytes_back_and_keeps_other_changes() {
        let (home, path) = aws_home(CREDENTIALS);
        let profile = home.profile("aws:prod");
        let backup = backup_path(&path, "aws:prod");
        write(
            &profile,
            &profile.access_key_id,
            NEW_ID,
            &secret(NEW_SECRET),
        )
        .unwrap();
        assert_eq!(fs::read_to_string(&backup).unwrap(), CREDENTIALS);
        assert_eq!(mode(&backup), 0o600);
        // Nothing else changed: the file is byte-for-byte what it was, the backup gone.
        restore(&profile, NEW_ID).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), CREDENTIALS);
        assert!(!backup.exists());

        // Another profile of the file changed meanwhile: its change stays.
        write(
            &profile,
            &profile.access_key_id,
            NEW_ID,
            &secret(NEW_SECRET),
        )
        .unwrap();
        let theirs = fs::read_to_string(&path)
            .unwrap()
            .replace("region = cn-north-1", "region = cn-north-2");
        fs::write(&path, &theirs).unwrap();
        restore(&profile, NEW_ID).unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            CREDENTIALS.replace("region = cn-north-1", "region = cn-north-2")
        );
        // The entry holding some third key: refused, nothing written.
        write(
            &profile,
            &profile.access_key_id,
            NEW_ID,
            &secret(NEW_SECRET),
        )
        .unwrap();
        let now = fs::read_to_string(&path)
            .unwrap()
            .replace(NEW_ID, "AKIATHIRD");
        fs::write(&path, &now).unwrap();
        let err = restore(&profile, NEW_ID).unwrap_err();
        assert!(err.message.contains("AKIATHIRD"), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), now);
        assert!(
            backup.exists(),
            "the old secret is kept when it cannot be put back"
        );
    }

    #[test]
    fn a_change_by_another_program_meanwhile_is_not_undone() {
        let (home, path) = aws_home(CREDENTIALS);
        let profile = home.profile("aws:prod");
        let theirs = CREDENTIALS.replace("region = cn-north-1", "region = cn-north-2");
        let (hook_path, hook_text) = (path.clone(), theirs.clone());
        BEFORE_RENAME.with(|hook| {
            hook.set(Some(Box::new(move || {
                fs::write(hook_path, hook_text).unwrap()
            })))
        });
        let before = home.snapshot();
        let err = write(
            &profile,
            &profile.access_key_id,
            NEW_ID,
            &secret(NEW_SECRET),
        )
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Usage);
        assert!(err.to_string().contains("changed while"), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), theirs);
        let mut after = home.snapshot();
        after.insert(path.clone(), CREDENTIALS.as_bytes().to_vec());
        assert_eq!(after, before, "a temporary file was left behind");
    }

    #[test]
    fn check_notices_a_changed_entry() {
        let (home, path) = aws_home(CREDENTIALS);
        let profile = home.profile("aws:prod");
        fs::write(
            &path,
            CREDENTIALS.replace("AKIAOLDPROD000000001", "AKIAOTHER"),
        )
        .unwrap();
        let err = check(&profile).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Usage);
        assert!(err.to_string().contains("AKIAOTHER"), "{err}");
        fs::write(&path, CREDENTIALS.replace("[prod]", "[gone]")).unwrap();
        let err = check(&profile).unwrap_err();
        assert!(err.to_string().contains("no longer in the file"), "{err}");
        fs::remove_file(&path).unwrap();
        let err = check(&profile).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Io);
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_file_is_written_through_and_the_link_kept() {
        let home = Home::new();
        let real = home.put("dotfiles/aws/credentials", CREDENTIALS);
        fs::create_dir_all(home.path(".aws")).unwrap();
        let link = home.path(".aws/credentials");
        std::os::unix::fs::symlink("../dotfiles/aws/credentials", &link).unwrap();
        let profile = home.profile("aws:prod");
        check(&profile).unwrap();
        let written = write(
            &profile,
            &profile.access_key_id,
            NEW_ID,
            &secret(NEW_SECRET),
        )
        .unwrap();
        assert_eq!(written, fs::canonicalize(&real).unwrap());
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(mode(&real), 0o600);
        let reloaded = home.profile("aws:prod");
        assert_eq!(reloaded.access_key_id, NEW_ID);
        // Beside it: its lock file and the old content kept until the rotation is over.
        let names: Vec<_> = fs::read_dir(home.path("dotfiles/aws"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.ends_with(".cloudkeys-lock") && !n.contains(".cloudkeys-backup-"))
            .collect();
        assert_eq!(names, vec!["credentials"]);
    }

    #[cfg(unix)]
    #[test]
    fn hard_linked_file_is_refused() {
        let (home, path) = aws_home(CREDENTIALS);
        fs::hard_link(&path, home.path("credentials.bak")).unwrap();
        let profile = home.profile("aws:prod");
        let err = check(&profile).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Usage);
        assert!(err.to_string().contains("2 hard links"), "{err}");
        assert!(write(
            &profile,
            &profile.access_key_id,
            NEW_ID,
            &secret(NEW_SECRET)
        )
        .is_err());
        assert_eq!(fs::read_to_string(&path).unwrap(), CREDENTIALS);
    }

    #[test]
    fn a_folder_in_place_of_the_file_is_refused() {
        let (home, path) = aws_home(CREDENTIALS);
        let profile = home.profile("aws:prod");
        fs::remove_file(&path).unwrap();
        fs::create_dir(&path).unwrap();
        let err = check(&profile).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Usage);
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }

    /// Drops, for the calling thread only, the capabilities that let root ignore file modes, so
    /// that permission tests mean the same as root (as in CI) as for a normal user.
    #[cfg(target_os = "linux")]
    fn obey_file_modes_in_this_thread() {
        #[repr(C)]
        struct Header {
            version: u32,
            pid: i32,
        }
        #[repr(C)]
        #[derive(Default, Clone, Copy)]
        struct Data {
            effective: u32,
            permitted: u32,
            inheritable: u32,
        }
        let mut header = Header {
            version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3: two Data structs
            pid: 0,
        };
        let mut data = [Data::default(); 2];
        // SAFETY: capget(2) reads the header and fills two Data structs for version 3.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_capget,
                &mut header as *mut Header,
                data.as_mut_ptr(),
            )
        };
        assert_eq!(rc, 0, "capget failed");
        // CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER.
        data[0].effective &= !((1 << 1) | (1 << 2) | (1 << 3));
        // SAFETY: capset(2) reads the header and two Data structs; capabilities are per thread.
        let rc =
            unsafe { libc::syscall(libc::SYS_capset, &mut header as *mut Header, data.as_ptr()) };
        assert_eq!(rc, 0, "capset failed");
    }

    #[cfg(not(target_os = "linux"))]
    fn obey_file_modes_in_this_thread() {}

    #[cfg(unix)]
    #[test]
    fn read_only_folder_is_an_io_error_and_nothing_changes() {
        use std::os::unix::fs::PermissionsExt;
        let (home, path) = aws_home(CREDENTIALS);
        let profile = home.profile("aws:prod");
        let folder = home.path(".aws");
        let before = home.snapshot();
        fs::set_permissions(&folder, fs::Permissions::from_mode(0o500)).unwrap();
        let (checked, written) = std::thread::spawn(move || {
            obey_file_modes_in_this_thread();
            let old = profile.access_key_id.clone();
            (
                check(&profile),
                write(&profile, &old, NEW_ID, &secret(NEW_SECRET)),
            )
        })
        .join()
        .unwrap();
        fs::set_permissions(&folder, fs::Permissions::from_mode(0o700)).unwrap();
        for err in [checked.unwrap_err(), written.unwrap_err()] {
            assert_eq!(err.kind, ErrorKind::Io, "{err}");
            let text = err.to_string();
            assert!(text.contains(&folder.display().to_string()), "{text}");
            assert!(text.contains(&path.display().to_string()), "{text}");
            assert!(text.contains("aws:prod"), "{text}");
        }
        assert_eq!(home.snapshot(), before);
    }

    #[test]
    fn environment_sources_say_pass_save() {
        let (home, _) = toml_home();
        let mut env = home.env();
        env.vars
            .insert("AWS_ACCESS_KEY_ID".into(), "AKIAENV".into());
        env.vars
            .insert("AWS_SECRET_ACCESS_KEY".into(), "envSecret".into());
        env.vars.insert("HW_SK".into(), "hwSecret".into());
        let path = home.put(
            "c.toml",
            "[profiles.hw]\nprovider = \"huawei\"\naccess_key_id = \"HWAK\"\nsecret_access_key_env = \"HW_SK\"\n",
        );
        let config = config::load(Some(&path), &env).unwrap();
        for name in ["aws:env", "hw"] {
            let profile = config.profiles.iter().find(|p| p.name == name).unwrap();
            let err = check(profile).unwrap_err();
            assert_eq!(err.kind, ErrorKind::Usage);
            let text = err.to_string();
            assert!(text.contains("pass --save FILE"), "{text}");
            assert!(!text.contains("Secret"), "{text}");
            let err = write(profile, "x", NEW_ID, &secret(NEW_SECRET)).unwrap_err();
            assert!(err.to_string().contains("pass --save FILE"), "{err}");
        }
    }

    #[test]
    fn temporary_credentials_are_refused() {
        let home = Home::new();
        let text = "[prod]\naws_access_key_id = ASIATEMP\naws_secret_access_key = s\naws_session_token = tok\n";
        let path = home.put(".aws/credentials", text);
        let profile = home.profile("aws:prod");
        let err = check(&profile).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Usage);
        assert!(err.to_string().contains("session token"), "{err}");
        assert!(write(&profile, "ASIATEMP", NEW_ID, &secret(NEW_SECRET)).is_err());
        assert_eq!(fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn ini_refuses_values_it_cannot_hold() {
        let (home, path) = aws_home(CREDENTIALS);
        let profile = home.profile("aws:prod");
        let old = profile.access_key_id.clone();
        for (bad, why) in [
            ("two\nlines", "line break"),
            ("cr\rinside", "line break"),
            (" leading", "whitespace"),
            ("trailing\t", "whitespace"),
            ("ends\\", "backslash"),
            ("", "empty"),
        ] {
            let err = write(&profile, &old, NEW_ID, &secret(bad)).unwrap_err();
            assert_eq!(err.kind, ErrorKind::Usage);
            let text = err.to_string();
            assert!(text.contains(why), "{text}");
            assert!(text.contains("secret"), "{text}");
            if !bad.is_empty() {
                assert!(!text.contains(bad), "{text}");
            }
        }
        let err = write(&profile, &old, "AKIA NEW\n", &secret(NEW_SECRET)).unwrap_err();
        assert!(err.to_string().contains("access key id"), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), CREDENTIALS);
    }

    #[test]
    fn ambiguous_ini_entries_are_refused() {
        let cases = [
            (
                "[prod]\naws_access_key_id = AKIAOLD\naws_secret_access_key = s\n[prod]\nregion = x\n",
                "more than once",
            ),
            (
                "[prod]\naws_access_key_id = AKIAOLD\nAWS_ACCESS_KEY_ID = AKIAOLD\naws_secret_access_key = s\n",
                "more than once",
            ),
            (
                "[prod]\naws_access_key_id = AKIAOLD\naws_secret_access_key = s\n    more\n",
                "continues",
            ),
            (
                "[prod]\naws_access_key_id = AKIAOLD\naws_secret_access_key = s\\\nnext = 1\n",
                "plain",
            ),
        ];
        for (text, why) in cases {
            let home = Home::new();
            let path = home.put(".aws/credentials", text);
            let profile = Profile {
                name: "aws:prod".into(),
                provider: ProviderKind::Aws,
                access_key_id: "AKIAOLD".into(),
                secret_access_key: secret("s"),
                session_token: None,
                region: None,
                endpoint: None,
                project_id: None,
                source: Source::AwsCredentials {
                    path: path.clone(),
                    section: "prod".into(),
                },
                secret_env: None,
            };
            let err = write(&profile, "AKIAOLD", NEW_ID, &secret(NEW_SECRET)).unwrap_err();
            assert_eq!(err.kind, ErrorKind::Usage, "{text}");
            assert!(err.to_string().contains(why), "{text}: {err}");
            assert_eq!(fs::read_to_string(&path).unwrap(), text);
        }
    }

    #[test]
    fn ambiguous_json_entries_are_refused() {
        let home = Home::new();
        let aliyun = r#"{"profiles":[{"name":"a","mode":"AK","access_key_id":"LTAIA","access_key_secret":"s"},{"name":"a","mode":"AK","access_key_id":"LTAIB","access_key_secret":"t"}]}"#;
        let path = home.put(".aliyun/config.json", aliyun);
        let profile = home.profile("alibaba:a");
        let err = check(&profile).unwrap_err();
        assert!(err.to_string().contains("several profiles"), "{err}");
        let text = r#"{"secretId":"AKID1","secretKey":"s","secretKey":"t"}"#;
        let tccli = home.put(".tccli/default.credential", text);
        let mut profile = profile;
        profile.source = Source::TccliCredential { path: tccli };
        profile.access_key_id = "AKID1".into();
        let err = check(&profile).unwrap_err();
        assert!(err.to_string().contains("more than once"), "{err}");
        assert!(write(&profile, "AKID1", NEW_ID, &secret(NEW_SECRET)).is_err());
        assert_eq!(fs::read_to_string(&path).unwrap(), aliyun);
        assert_eq!(fs::read_to_string(profile_path(&profile)).unwrap(), text);
    }

    #[test]
    fn verification_catches_any_other_change() {
        let new = secret(NEW_SECRET);
        let toml_ok = TOML
            .replace("\"AKIAOLDPROD000000001\"   #", &format!("\"{NEW_ID}\"   #"))
            .replace("'old/Prod+Secret'", &format!("'{NEW_SECRET}'"));
        assert!(verify_toml(TOML, &toml_ok, "prod", NEW_ID, &new));
        let toml_bad = toml_ok.replace("max_age_days = 90", "max_age_days = 91");
        assert!(!verify_toml(TOML, &toml_bad, "prod", NEW_ID, &new));
        assert!(!verify_toml(TOML, &toml_ok, "staging", NEW_ID, &new));
        assert!(!verify_toml(TOML, "not = [toml", "prod", NEW_ID, &new));

        let ini_ok = CREDENTIALS
            .replace("=AKIAOLDPROD000000001\n", &format!("={NEW_ID}\n"))
            .replace("old/Prod+Secret    ", &format!("{NEW_SECRET}    "));
        assert!(verify_ini(CREDENTIALS, &ini_ok, "prod", NEW_ID, &new));
        let ini_bad = ini_ok.replace("region = cn-north-1", "region = cn-north-2");
        assert!(!verify_ini(CREDENTIALS, &ini_bad, "prod", NEW_ID, &new));
        let ini_bad = ini_ok.replace("aws_secret_access_key = old/Prod+Secret", "x = y");
        assert!(!verify_ini(CREDENTIALS, &ini_bad, "prod", NEW_ID, &new));

        let keys = ("access_key_id", "access_key_secret");
        let json_ok = ALIYUN
            .replace("\"LTAIOLDPROD\"", &format!("\"{NEW_ID}\""))
            .replace(
                r#""old\u002FProd\"Secret""#,
                &serde_json::to_string(NEW_SECRET).unwrap(),
            );
        assert!(verify_json(ALIYUN, &json_ok, Some(1), keys, NEW_ID, &new));
        assert!(!verify_json(ALIYUN, &json_ok, Some(0), keys, NEW_ID, &new));
        let json_bad = json_ok.replace("\"retry_count\": 0", "\"retry_count\": 1");
        assert!(!verify_json(ALIYUN, &json_bad, Some(1), keys, NEW_ID, &new));
    }

    /// Secrets with quotes, backslashes, escapes, comment and section characters, unicode and
    /// control characters.
    fn any_secret() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![
            any::<String>(),
            "[a-zA-Z0-9'\"\\\\/+=#;:,{}\\[\\] \\té日本🔑\\x00\\x7f\u{2028}\n\r]{1,24}",
        ]
    }

    /// What happens when `secret` is written to each kind of file: either the loaders read back
    /// exactly it, or it is refused with a clear message and the file stays as it was.
    fn round_trip(secret_text: &str) {
        let homes: Vec<(Home, &str, PathBuf)> = vec![
            {
                let (home, path) = toml_home();
                (home, "prod", path)
            },
            {
                let (home, path) = aws_home(CREDENTIALS);
                (home, "aws:prod", path)
            },
            {
                let home = Home::new();
                let path = home.put(".tccli/default.credential", TCCLI);
                (home, "tencent:default", path)
            },
            {
                let home = Home::new();
                let path = home.put(".aliyun/config.json", ALIYUN);
                (home, "alibaba:prod", path)
            },
            {
                let home = Home::new();
                let path = home.put(".hcloud/config.json", HCLOUD);
                (home, "huawei:ops", path)
            },
        ];
        for (home, name, path) in homes {
            let profile = home.profile(name);
            let before = fs::read_to_string(&path).unwrap();
            let ini = matches!(profile.source, Source::AwsCredentials { .. });
            let trimmed = secret_text.trim() == secret_text && !secret_text.is_empty();
            let fits = trimmed
                && !(ini
                    && (secret_text.chars().any(char::is_control) || secret_text.ends_with('\\')));
            let result = write(
                &profile,
                &profile.access_key_id,
                NEW_ID,
                &secret(secret_text),
            );
            if fits {
                result.unwrap_or_else(|err| panic!("{name}: {err}"));
                let reloaded = home.profile(name);
                assert_eq!(reloaded.secret_access_key.expose(), secret_text, "{name}");
                assert_eq!(reloaded.access_key_id, NEW_ID, "{name}");
            } else {
                let err = result.unwrap_err();
                assert_eq!(err.kind, ErrorKind::Usage, "{name}");
                assert!(err.to_string().contains("the new secret"), "{name}: {err}");
                assert_eq!(fs::read_to_string(&path).unwrap(), before, "{name}");
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn any_secret_reads_back_exactly_or_is_refused(secret_text in any_secret()) {
            round_trip(&secret_text);
        }
    }

    #[test]
    fn hand_picked_secrets_read_back_exactly() {
        for secret_text in [
            "plain",
            "it's \"quoted\"",
            "back\\slash\\\\double",
            "\\u0041 not an escape",
            "#;[section] = : value",
            "日本語🔑é",
            "tab\tinside",
            "nul\u{0}del\u{7f}",
            "line\nbreak",
            "ends with backslash\\",
        ] {
            round_trip(secret_text);
        }
    }
}
