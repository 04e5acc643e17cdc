//! The one way cloudkeys writes a file that holds (or guards) a secret: rotate's write-back,
//! `--save` and the rotation journal all go through [`write_locked`].
//!
//! From re-read to rename an exclusive lock is held on a lock file beside the target
//! (`.NAME.cloudkeys-lock`, never removed: removing it would let two writers lock two different
//! files), so two cloudkeys processes editing one file (two profiles of one
//! `~/.aliyun/config.json`) run one after the other and the second edits what the first wrote.
//! The new content goes to a temporary file in the same folder, is fsynced, given `mode` (and
//! the old file's owner), renamed over the target, the folder is fsynced, and the target is read
//! again to prove the new content is there. A crash leaves the old file or the new one.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind, Result};

/// How long to wait for another cloudkeys process to finish its write.
const LOCK_WAIT: Duration = Duration::from_secs(60);

/// What [`write_locked`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The edit returned the content the file already had: nothing was written.
    Unchanged,
    /// The file now holds the new content (read back and compared).
    Replaced,
}

/// Held while a file is being rewritten; the lock goes with the file handle.
pub struct Lock {
    _file: fs::File,
}

/// The folder of `path` (`.` for a bare file name).
pub fn folder(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// `.NAME.SUFFIX` beside `path` (`NAME.SUFFIX` if NAME is hidden already).
pub fn beside(path: &Path, suffix: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dot = if name.starts_with('.') { "" } else { "." };
    folder(path).join(format!("{dot}{name}.{suffix}"))
}

/// Takes the exclusive lock guarding `path` (waits up to a minute for another writer).
pub fn lock(path: &Path) -> Result<Lock> {
    let lock_path = beside(path, "cloudkeys-lock");
    let fail = |err: std::io::Error| {
        Error::io(
            format!(
                "cannot lock {} (lock file {})",
                path.display(),
                lock_path.display()
            ),
            &err,
        )
    };
    let mut options = fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(&lock_path).map_err(fail)?;
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Lock { _file: file }),
            Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(Error::new(
                    ErrorKind::Io,
                    format!(
                    "{} is being written by another process (lock {} held for over {}s); try again",
                    path.display(),
                    lock_path.display(),
                    LOCK_WAIT.as_secs()
                ),
                ))
            }
            Err(fs::TryLockError::Error(err)) => return Err(fail(err)),
        }
    }
}

/// Under the lock of `path`: reads it (`None` if it does not exist), asks `edit` for the new
/// content and, unless it is the same, replaces the file atomically with mode `mode`, then
/// reads it back to prove the new content is there. `edit` refuses by returning an error;
/// then nothing is written.
pub fn write_locked<F>(path: &Path, mode: u32, edit: F) -> Result<Written>
where
    F: FnOnce(Option<&[u8]>) -> Result<Vec<u8>>,
{
    let _lock = lock(path)?;
    write_held(path, mode, edit)
}

/// [`write_locked`] for a file guarded by another lock the caller holds (a backup written
/// under the lock of the file it backs up), so it needs no lock file of its own.
pub fn write_held<F>(path: &Path, mode: u32, edit: F) -> Result<Written>
where
    F: FnOnce(Option<&[u8]>) -> Result<Vec<u8>>,
{
    let current = read(path)?;
    let new = Zeroizing::new(edit(current.as_ref().map(|c| c.as_slice()))?);
    if current
        .as_ref()
        .is_some_and(|c| c.as_slice() == new.as_slice())
    {
        return Ok(Written::Unchanged);
    }
    replace(path, current.as_ref().map(|c| c.as_slice()), &new, mode)?;
    Ok(Written::Replaced)
}

/// Removes `path` under its lock and flushes its folder; a missing file is fine.
pub fn remove_locked(path: &Path) -> Result<()> {
    let _lock = lock(path)?;
    remove_held(path)
}

/// [`remove_locked`] for a file guarded by another lock the caller holds.
pub fn remove_held(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => {
            sync_folder(path);
            Ok(())
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(Error::io(format!("cannot remove {}", path.display()), &err)),
    }
}

/// Creates `dir` (and its parents) and flushes the folder that got the new entry.
pub fn create_folder(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir)
        .map_err(|err| Error::io(format!("cannot create {}", dir.display()), &err))?;
    sync_folder(dir);
    Ok(())
}

fn read(path: &Path) -> Result<Option<Zeroizing<Vec<u8>>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(Zeroizing::new(bytes))),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(Error::io(format!("cannot read {}", path.display()), &err)),
    }
}

/// fsync of the folder holding `path`, so a rename or removal survives a crash.
fn sync_folder(path: &Path) {
    #[cfg(unix)]
    if let Err(err) = fs::File::open(folder(path)).and_then(|dir| dir.sync_all()) {
        // The change is made; only its durability across a power cut is in doubt.
        tracing::warn!("could not flush folder {}: {err}", folder(path).display());
    }
}

/// The temporary file that will replace `path`, in its folder.
fn temp_for(path: &Path) -> Result<tempfile::NamedTempFile> {
    let dir = folder(path);
    let fail = |err| {
        let what = format!(
            "cannot create a file in {} (needed to replace {} safely)",
            dir.display(),
            path.display()
        );
        Error::io(what, &err)
    };
    tempfile::Builder::new()
        .prefix(".cloudkeys-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(fail)
}

/// Proves, before anything else happens, that the existing file `path` could be replaced: a
/// temporary file can be made beside it and given its owner. The probe is removed at once.
pub fn probe(path: &Path) -> Result<()> {
    let temp = temp_for(path)?;
    keep_owner(path, temp.as_file())?;
    temp.close()
        .map_err(|err| Error::io("cannot remove a temporary file", &err))
}

fn replace(path: &Path, old: Option<&[u8]>, contents: &[u8], mode: u32) -> Result<()> {
    let mut temp = temp_for(path)?;
    let failed =
        |err: std::io::Error| Error::io(format!("cannot write the new {}", path.display()), &err);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        temp.as_file()
            .set_permissions(fs::Permissions::from_mode(mode))
            .map_err(failed)?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    if old.is_some() {
        keep_owner(path, temp.as_file())?;
    }
    temp.write_all(contents).map_err(failed)?;
    temp.as_file().sync_all().map_err(failed)?;
    #[cfg(test)]
    tests::BEFORE_RENAME.with(|hook| hook.take().map(|hook| hook()));
    // Test-only knob: a slow write-back, to show that two writers are serialised by the lock.
    #[cfg(debug_assertions)]
    if let Some(ms) = std::env::var("CLOUDKEYS_TEST_WRITE_DELAY_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(Duration::from_millis(ms));
    }
    // A program that does not take our lock (an editor, the cloud's own CLI) may have saved
    // the file since it was read: do not undo its change.
    if read(path)?.as_ref().map(|c| c.as_slice()) != old {
        return Err(Error::usage(format!(
            "{} changed while it was being written; nothing was written, run the command again",
            path.display()
        )));
    }
    // On failure the PersistError drops the temporary file, which removes it.
    temp.persist(path).map_err(|err| failed(err.error))?;
    sync_folder(path);
    // Prove it: the file must now hold exactly what was written.
    match read(path)? {
        Some(now) if now.as_slice() == contents => Ok(()),
        _ => Err(Error::new(
            ErrorKind::Io,
            format!(
                "{} does not hold what was just written to it (changed by another program?)",
                path.display()
            ),
        )),
    }
}

/// Gives `file` the owner of the file at `path` it replaces, so that replacing it as root does
/// not hand someone's credentials to root. The group is kept when possible (mode 0600 gives it
/// no access anyway).
pub fn keep_owner(path: &Path, file: &fs::File) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let stat = |err| Error::io(format!("cannot read {}", path.display()), &err);
        let old = fs::metadata(path).map_err(stat)?;
        let new = file.metadata().map_err(stat)?;
        if new.uid() != old.uid() {
            std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid())).map_err(|err| {
                Error::io(
                    format!(
                        "{} belongs to another user (uid {}) and a replacement could not be \
                         given that owner",
                        path.display(),
                        old.uid()
                    ),
                    &err,
                )
            })?;
        } else if new.gid() != old.gid() {
            // Not a member of that group: the file stays 0600 and ours, which is fine.
            let _ = std::os::unix::fs::fchown(file, None, Some(old.gid()));
        }
    }
    #[cfg(not(unix))]
    let _ = (path, file);
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    thread_local! {
        /// Runs once in [`replace`] just before its last look at the old file.
        pub(crate) static BEFORE_RENAME: std::cell::Cell<Option<Box<dyn FnOnce()>>> =
            std::cell::Cell::new(None);
    }

    fn mode(path: &Path) -> u32 {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::metadata(path).unwrap().permissions().mode() & 0o777
        }
        #[cfg(not(unix))]
        0o600
    }

    #[test]
    fn creates_replaces_and_leaves_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.json");
        let seen = std::cell::Cell::new(None);
        let w = write_locked(&path, 0o600, |cur| {
            seen.set(Some(cur.is_none()));
            Ok(b"one".to_vec())
        })
        .unwrap();
        assert_eq!((w, seen.get()), (Written::Replaced, Some(true)));
        assert_eq!(fs::read(&path).unwrap(), b"one");
        assert_eq!(mode(&path), 0o600);
        let w = write_locked(&path, 0o600, |cur| {
            assert_eq!(cur, Some(&b"one"[..]));
            Ok(b"one".to_vec())
        })
        .unwrap();
        assert_eq!(w, Written::Unchanged);
        let err = write_locked(&path, 0o600, |_| Err(Error::usage("no"))).unwrap_err();
        assert_eq!(err.message, "no");
        assert_eq!(fs::read(&path).unwrap(), b"one");
        // Only the target, its lock file: no temporary file left behind.
        let names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn a_change_by_another_program_meanwhile_is_not_undone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, "old").unwrap();
        let hook_path = path.clone();
        BEFORE_RENAME.with(|hook| {
            hook.set(Some(Box::new(move || {
                fs::write(hook_path, "theirs").unwrap()
            })))
        });
        let err = write_locked(&path, 0o600, |_| Ok(b"ours".to_vec())).unwrap_err();
        assert!(err.message.contains("changed while"), "{}", err.message);
        assert_eq!(fs::read(&path).unwrap(), b"theirs");
    }

    #[test]
    fn writers_take_turns_and_each_sees_the_others_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("counter");
        fs::write(&path, "0").unwrap();
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || {
                    write_locked(&path, 0o600, |cur| {
                        let n: u32 = std::str::from_utf8(cur.unwrap()).unwrap().parse().unwrap();
                        // Widen the window a lost update would need.
                        std::thread::sleep(Duration::from_millis(20));
                        Ok((n + 1).to_string().into_bytes())
                    })
                    .unwrap()
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(fs::read_to_string(&path).unwrap(), "8");
    }

    #[test]
    fn remove_is_fine_when_missing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gone");
        remove_locked(&path).unwrap();
        fs::write(&path, "x").unwrap();
        remove_locked(&path).unwrap();
        assert!(!path.exists());
    }
}
