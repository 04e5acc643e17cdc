//! Writes a rotated access key back to the file a profile's credentials came from.
//!
//! `rotate` calls [`check`] before it creates a key, so that a source that cannot take the new
//! key is refused while nothing has happened yet, and [`write`] right after the cloud hands out
//! the new secret. Only the bytes of the two values (access key id and secret) change; the
//! format's module in `crate::credentials` finds them with its loader's field names and
//! navigation, and the edited text must read back, with the loader's parser, exactly as before
//! but for the two values, or nothing is written. The file is replaced by
//! [`atomic::write_locked`] (locked, temporary file, fsync, mode 0600, rename, read back).
//!
//! Refused (in [`check`] already): credentials from environment variables or a secret read from
//! one (`--save FILE` is the way out), temporary credentials (a session token), a file that is
//! not a regular file, one with several hard links (replacing it would leave the old key behind
//! in the other links), an entry that is gone, ambiguous (a section, profile or key appearing
//! twice) or holds another key id. A symlink is written through: its final target is replaced
//! in place, and [`write`] returns that target's path.
//!
//! No secret ever appears in an error or a log line; errors name the file and the profile.

use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::atomic;
use crate::credentials::{self, Edit, Entry, Profile};
use crate::error::{Error, Result};
use crate::model::Secret;

/// Checks, before anything is created, that the new key of `profile` can be written back to
/// its source (the file exists, is a regular file, its folder is writable, the profile's
/// entry is still there with the same access key id, the secret is not taken from an env var,
/// the source is not the environment). Err(Error kind Usage or Io, one clear line saying why
/// and, for env sources, "pass --save FILE").
pub fn check(profile: &Profile) -> Result<()> {
    let target = Target::of(profile)?;
    let text = fs::read_to_string(&target.real)
        .map(Zeroizing::new)
        .map_err(|err| target.io(format_args!("cannot read {}", target.real.display()), &err))?;
    let entry = target.locate(&text)?;
    if entry.id != profile.access_key_id {
        return Err(target.refuse(format!(
            "it now holds access key id {}, not {}; the file changed after it was read, run the \
             command again",
            entry.id, profile.access_key_id
        )));
    }
    atomic::probe(&target.real).map_err(|err| err.with_profile(target.profile))
}

/// Replaces the access key id and secret of `profile` in its source file, by atomic replace
/// (see [`atomic::write_locked`]); everything else in the file byte-for-byte untouched. Returns
/// the path written. Refuses (and writes nothing) if the entry's current access key id isn't
/// `old_key_id` unless it already is `new_key_id` (then Ok: re-running after an interruption
/// is a no-op).
pub fn write(
    profile: &Profile,
    old_key_id: &str,
    new_key_id: &str,
    new_secret: &Secret,
) -> Result<PathBuf> {
    let target = Target::of(profile)?;
    target.validate("access key id", new_key_id)?;
    target.validate("secret", new_secret.expose())?;
    let backup = backup_path(&target.real, &profile.name);
    let made_backup = std::cell::Cell::new(false);
    let written = target.rewrite(new_key_id, new_secret, |text, entry| {
        if entry.id != old_key_id && entry.id != new_key_id {
            return Err(target.refuse(format!(
                "it holds access key id {}, neither {old_key_id} (the key being replaced) nor \
                 {new_key_id} (the new one); it was changed by something else, so nothing was written",
                entry.id
            )));
        }
        // The old secret is about to be overwritten before the new key is proven: keep the
        // file as it is until the rotation is over, so that [`restore`] can put it back.
        if entry.id == old_key_id {
            atomic::write_held(&backup, 0o600, |_| Ok(text.as_bytes().to_vec()))?;
            made_backup.set(true);
        }
        // The id already being the new one means an earlier run was interrupted, or someone
        // pasted the id by hand: the secret the cloud gave for that id is the only right one.
        let mut edits = vec![(
            entry.secret_span.clone(),
            target.format.encode(&text[entry.secret_span.clone()], new_secret.expose()),
        )];
        if entry.id != new_key_id {
            let id_text = target.format.encode(&text[entry.id_span.clone()], new_key_id);
            edits.push((entry.id_span.clone(), id_text));
        }
        Ok(edits)
    });
    match written {
        Ok(atomic::Written::Replaced) => {
            tracing::info!("wrote access key {new_key_id} to {}", target.place)
        }
        Ok(atomic::Written::Unchanged) => {}
        Err(err) => {
            // Nothing was written: the backup made for this write is not needed.
            if made_backup.get() {
                discard_backup(profile);
            }
            return Err(err);
        }
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
    target.rewrite(&old.id, &old.secret, |_, entry| {
        if entry.id != new_key_id {
            return Err(target.refuse(format!(
                "it holds access key id {}, not the new {new_key_id}; it was changed by \
                 something else, so the old key was not put back (it is in {})",
                entry.id,
                backup.display()
            )));
        }
        Ok(vec![
            (
                entry.id_span.clone(),
                saved[old.id_span.clone()].to_string(),
            ),
            (
                entry.secret_span.clone(),
                saved[old.secret_span.clone()].to_string(),
            ),
        ])
    })?;
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

/// The file a profile came from and how to edit it.
struct Target<'a> {
    profile: &'a str,
    /// How errors name the entry, e.g. `~/.aws/credentials [prod]`.
    place: String,
    /// The regular file read and replaced (the final target if the named file is a symlink).
    real: PathBuf,
    format: Box<dyn Edit + 'a>,
}

impl<'a> Target<'a> {
    /// Refuses sources that cannot be written back, and finds the file to edit.
    fn of(profile: &'a Profile) -> Result<Self> {
        let usage = |message: String| Error::usage(message).with_profile(&profile.name);
        profile.refuse_role()?;
        let Some((path, format)) = credentials::editor(&profile.source) else {
            return Err(usage(
                "its credentials come from environment variables, which cloudkeys cannot \
                 change; pass --save FILE to keep the new key in a file"
                    .into(),
            ));
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

    /// The file's content as text, as [`atomic::write_locked`] hands it over.
    fn text(&self, current: Option<&[u8]>) -> Result<Zeroizing<String>> {
        let Some(bytes) = current else {
            return Err(self.refuse("the file is gone"));
        };
        std::str::from_utf8(bytes)
            .map(|t| Zeroizing::new(t.to_string()))
            .map_err(|_| self.refuse("the file is not UTF-8 text"))
    }

    fn locate(&self, text: &str) -> Result<Entry> {
        self.format.locate(text).map_err(|why| self.refuse(why))
    }

    /// Refuses a new value that this file format, or the loader reading it back, would not keep
    /// exactly. Never shows the value.
    fn validate(&self, what: &str, value: &str) -> Result<()> {
        let why = if value.is_empty() {
            Some("is empty")
        } else if value.starts_with(char::is_whitespace) || value.ends_with(char::is_whitespace) {
            Some("starts or ends with whitespace, which the file's reader would drop")
        } else {
            self.format.cannot_hold(value)
        };
        match why {
            Some(why) => Err(self.refuse(format!(
                "the new {what} {why}; nothing was written (pass --save FILE to keep it elsewhere)"
            ))),
            None => Ok(()),
        }
    }

    /// Under the file's lock, on what it holds now (another rotation of another profile of the
    /// same file may have written it since it was read, and its change must stay): unless the
    /// entry holds `id` and `secret` already, `edit` says which spans get which text (or
    /// refuses), and the result must read back as the file with the entry holding `id` and
    /// `secret`, or nothing is written.
    fn rewrite(
        &self,
        id: &str,
        secret: &Secret,
        edit: impl FnOnce(&str, &Entry) -> Result<Vec<(Range<usize>, String)>>,
    ) -> Result<atomic::Written> {
        atomic::write_locked(&self.real, 0o600, |current| {
            let text = self.text(current)?;
            let entry = self.locate(&text)?;
            if entry.id == id && entry.secret.expose() == secret.expose() {
                tracing::debug!(
                    "{} already holds access key {id}; nothing to write",
                    self.place
                );
                return Ok(text.as_bytes().to_vec());
            }
            let mut new_text = Zeroizing::new(text.to_string());
            let mut edits = edit(&text, &entry)?;
            // From the end, so that the earlier spans stay where they are.
            edits.sort_by_key(|(span, _)| std::cmp::Reverse(span.start));
            for (span, replacement) in edits {
                new_text.replace_range(span, &replacement);
            }
            if !self.format.reads_back(&text, &new_text, &entry, id, secret) {
                return Err(self.refuse(
                    "the edited file would not read back as expected, so nothing was written; \
                     please report this and pass --save FILE",
                ));
            }
            Ok(new_text.as_bytes().to_vec())
        })
        .map_err(|err| err.with_profile(self.profile))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{self, Environment, Source};
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

    /// The profile of section `section` of the ~/.aws/credentials file at `path`.
    fn aws_profile(path: &Path, section: &str, id: &str, secret: &str) -> Profile {
        let source = Source::AwsCredentials {
            path: path.to_path_buf(),
            section: section.into(),
        };
        Profile::native(ProviderKind::Aws, section, id, secret, source)
    }

    /// Writes the new key over the one `profile` was loaded with.
    fn write_new(profile: &Profile) -> Result<PathBuf> {
        write_from(profile, &profile.access_key_id)
    }

    /// Writes the new key in place of `old`.
    fn write_from(profile: &Profile, old: &str) -> Result<PathBuf> {
        write(profile, old, NEW_ID, &secret(NEW_SECRET))
    }

    fn secret(value: &str) -> Secret {
        Secret::new(value)
    }

    /// `text` with the old id in the fragment `id.0` and the old secret in the fragment
    /// `secret.0` (fragments of `text` around the values) replaced by the new key.
    fn rekeyed(text: &str, id: (&str, &str), secret: (&str, &str)) -> String {
        let mut text = text.to_string();
        for ((at, old), new) in [(id, NEW_ID), (secret, NEW_SECRET)] {
            assert!(text.contains(at), "{at}");
            text = text.replace(at, &at.replace(old, new));
        }
        text
    }

    /// Writes the new key into `file` for `profile` and checks that the file became `expected`
    /// exactly, mode 0600, with every other file unchanged and no temporary file left.
    fn rotate_and_compare(home: &Home, profile: &str, file: &Path, expected: &str) {
        let profile = home.profile(profile);
        let before = home.snapshot();
        check(&profile).unwrap();
        assert_eq!(home.snapshot(), before, "check left something behind");
        let old_id = profile.access_key_id.clone();
        let written = write_from(&profile, &old_id).unwrap();
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
        let id = r#"=   "AKIAOLDPROD000000001"   #"#;
        let expected = rekeyed(
            TOML,
            (id, "AKIAOLDPROD000000001"),
            ("'old/Prod+Secret'", "old/Prod+Secret"),
        );
        rotate_and_compare(&home, "prod", &path, &expected);
    }

    #[test]
    fn toml_inline_table_and_escaped_secrets() {
        let (home, path) = toml_home();
        let secret = r#"ci\"quoted\\secret"#;
        let expected = rekeyed(TOML, (r#""LTAICI""#, "LTAICI"), (secret, secret));
        rotate_and_compare(&home, "ci", &path, &expected);
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
        let id = "aws_access_key_id=AKIAOLDPROD000000001\n";
        let secret = "=    old/Prod+Secret    \n";
        let expected = rekeyed(
            CREDENTIALS,
            (id, "AKIAOLDPROD000000001"),
            (secret, "old/Prod+Secret"),
        );
        rotate_and_compare(&home, "aws:prod", &path, &expected);

        // `key : value` with spaces, in a section whose header has spaces inside the brackets.
        let (home, path) = aws_home(CREDENTIALS);
        let id = "AKIASTAGING00000001";
        let expected = rekeyed(CREDENTIALS, (id, id), ("stagingSecret", "stagingSecret"));
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
        let profile = aws_profile(&path, "default", "AKIAOLDPROD000000001", "old/Prod+Secret");
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
        let (id, secret) = ("AKIDOLD0000000001", r#"old\/Tencent\u002bSecret"#);
        let expected = rekeyed(TCCLI, (id, id), (secret, secret));
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
        let (id, secret) = ("LTAIOLDPROD", r#"old\u002FProd\"Secret"#);
        let expected = rekeyed(ALIYUN, (id, id), (secret, secret));
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
        assert!(write_from(&profile, "LTAIROLE").is_err());
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
        let secret = r#"opsSecret\\with\\backslashes"#;
        let expected = rekeyed(HCLOUD, ("HWOLDOPS", "HWOLDOPS"), (secret, secret));
        rotate_and_compare(&home, "huawei:ops", &path, &expected);
    }

    #[test]
    fn wrong_old_id_is_refused_and_nothing_written() {
        let (home, path) = aws_home(CREDENTIALS);
        let profile = home.profile("aws:prod");
        let before = home.snapshot();
        let err = write_from(&profile, "AKIASOMETHINGELSE").unwrap_err();
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
        write_from(&profile, &old).unwrap();
        let after_first = home.snapshot();
        let first_inode = inode(&path);
        // The same call again (the caller still holds the profile as it was loaded).
        let path_again = write_from(&profile, &old).unwrap();
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
        write_new(&profile).unwrap();
        assert_eq!(fs::read_to_string(&backup).unwrap(), CREDENTIALS);
        assert_eq!(mode(&backup), 0o600);
        // Nothing else changed: the file is byte-for-byte what it was, the backup gone.
        restore(&profile, NEW_ID).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), CREDENTIALS);
        assert!(!backup.exists());

        // Another profile of the file changed meanwhile: its change stays.
        write_new(&profile).unwrap();
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
        write_new(&profile).unwrap();
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
        let err = write_new(&profile).unwrap_err();
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
        let written = write_new(&profile).unwrap();
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
        assert!(write_new(&profile).is_err());
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
            (check(&profile), write_from(&profile, &old))
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
            let err = write_from(profile, "x").unwrap_err();
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
        assert!(write_from(&profile, "ASIATEMP").is_err());
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
            let profile = aws_profile(&path, "prod", "AKIAOLD", "s");
            let err = write_from(&profile, "AKIAOLD").unwrap_err();
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
        assert!(write_from(&profile, "AKID1").is_err());
        assert_eq!(fs::read_to_string(&path).unwrap(), aliyun);
        assert_eq!(fs::read_to_string(profile_path(&profile)).unwrap(), text);
    }

    #[test]
    fn verification_catches_any_other_change() {
        let new = secret(NEW_SECRET);
        // Whether `edited` reads back as `old` with the entry of `source` holding the new key.
        let reads_back = |source: Source, old: &str, edited: &str, index: Option<usize>| {
            let (_, format) = credentials::editor(&source).unwrap();
            let entry = format.locate(old).unwrap();
            let entry = Entry { index, ..entry };
            format.reads_back(old, edited, &entry, NEW_ID, &new)
        };
        let path = PathBuf::from("f");
        let toml = |table: &str| Source::ConfigFile {
            path: path.clone(),
            table: table.into(),
        };
        let toml_ok = TOML
            .replace("\"AKIAOLDPROD000000001\"   #", &format!("\"{NEW_ID}\"   #"))
            .replace("'old/Prod+Secret'", &format!("'{NEW_SECRET}'"));
        assert!(reads_back(toml("prod"), TOML, &toml_ok, None));
        let toml_bad = toml_ok.replace("max_age_days = 90", "max_age_days = 91");
        assert!(!reads_back(toml("prod"), TOML, &toml_bad, None));
        assert!(!reads_back(toml("staging"), TOML, &toml_ok, None));
        assert!(!reads_back(toml("prod"), TOML, "not = [toml", None));

        let ini = || Source::AwsCredentials {
            path: path.clone(),
            section: "prod".into(),
        };
        let ini_ok = CREDENTIALS
            .replace("=AKIAOLDPROD000000001\n", &format!("={NEW_ID}\n"))
            .replace("old/Prod+Secret    ", &format!("{NEW_SECRET}    "));
        assert!(reads_back(ini(), CREDENTIALS, &ini_ok, None));
        let ini_bad = ini_ok.replace("region = cn-north-1", "region = cn-north-2");
        assert!(!reads_back(ini(), CREDENTIALS, &ini_bad, None));
        let ini_bad = ini_ok.replace("aws_secret_access_key = old/Prod+Secret", "x = y");
        assert!(!reads_back(ini(), CREDENTIALS, &ini_bad, None));

        let json = || Source::AliyunConfig {
            path: path.clone(),
            name: "prod".into(),
        };
        let json_ok = ALIYUN
            .replace("\"LTAIOLDPROD\"", &format!("\"{NEW_ID}\""))
            .replace(
                r#""old\u002FProd\"Secret""#,
                &serde_json::to_string(NEW_SECRET).unwrap(),
            );
        assert!(reads_back(json(), ALIYUN, &json_ok, Some(1)));
        assert!(!reads_back(json(), ALIYUN, &json_ok, Some(0)));
        let json_bad = json_ok.replace("\"retry_count\": 0", "\"retry_count\": 1");
        assert!(!reads_back(json(), ALIYUN, &json_bad, Some(1)));
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
