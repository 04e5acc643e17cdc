//! Shared harness of the end-to-end tests: an in-process sandbox and the built binary run
//! against it with a clean environment.
#![allow(dead_code)] // each test binary uses its own part of the harness

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use assert_cmd::Command;
use cloudkeys::sandbox::{Sandbox, SandboxProfile, Seed, State};
use tempfile::TempDir;

/// One sandbox, one temporary HOME holding a config that points at it.
pub struct World {
    // Field order matters: the sandbox stops before its runtime goes away.
    sandbox: Sandbox,
    runtime: tokio::runtime::Runtime,
    home: TempDir,
    config: PathBuf,
}

impl World {
    /// A sandbox seeded with the small fixed test world.
    pub fn new() -> World {
        World::with_seed(Seed::Test)
    }

    pub fn with_seed(seed: Seed) -> World {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let sandbox = runtime
            .block_on(Sandbox::start(0, seed))
            .expect("sandbox starts");
        let home = tempfile::tempdir().expect("temp home");
        let config = home.path().join("config.toml");
        std::fs::write(&config, sandbox.config_toml()).expect("config written");
        private(&config);
        World {
            sandbox,
            runtime,
            home,
            config,
        }
    }

    /// `cloudkeys --config <sandbox config> ARGS…` with no inherited environment.
    pub fn cmd<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = self.bare_cmd();
        cmd.arg("--config").arg(&self.config).args(args);
        cmd
    }

    /// The binary with a clean environment (HOME = the temp dir) and no `--config`.
    pub fn bare_cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("cloudkeys").expect("binary built");
        cmd.env_clear()
            .env("HOME", self.home.path())
            .env("NO_COLOR", "1")
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .timeout(std::time::Duration::from_secs(120));
        cmd
    }

    /// Like `cmd`, as a `std::process::Command`: for tests that close or redirect the
    /// standard streams themselves or send signals.
    pub fn std_cmd<I, S>(&self, args: I) -> std::process::Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("cloudkeys"));
        cmd.env_clear()
            .env("HOME", self.home.path())
            .env("NO_COLOR", "1")
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .arg("--config")
            .arg(&self.config)
            .args(args);
        cmd
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    pub fn config_path(&self) -> &Path {
        &self.config
    }

    pub fn endpoint(&self) -> String {
        self.sandbox.endpoint()
    }

    pub fn profile(&self, name: &str) -> SandboxProfile {
        self.sandbox
            .profiles()
            .into_iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no sandbox profile {name}"))
    }

    pub fn profiles(&self) -> Vec<SandboxProfile> {
        self.sandbox.profiles()
    }

    pub fn state(&self) -> Arc<Mutex<State>> {
        self.sandbox.state()
    }

    /// Runs `f` on the sandbox state under its lock.
    pub fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let state = self.sandbox.state();
        let mut guard = state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    pub fn runtime(&self) -> &tokio::runtime::Runtime {
        &self.runtime
    }
}

/// Runs the command, asserts its exit code and returns (stdout, stderr).
pub fn run(cmd: &mut Command, code: i32) -> (String, String) {
    let output = cmd.output().expect("binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(code),
        "exit code\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    (stdout, stderr)
}

/// Parses stdout as one JSON array.
pub fn json_array(stdout: &str) -> Vec<serde_json::Value> {
    match serde_json::from_str::<serde_json::Value>(stdout) {
        Ok(serde_json::Value::Array(items)) => items,
        other => panic!("expected a JSON array, got {other:?}\n{stdout}"),
    }
}

/// The error output must be exactly one line, naming `needle`.
pub fn assert_one_line_error(stderr: &str, needle: &str) {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected:\n{stderr}");
    assert!(
        lines[0].contains(needle),
        "error should mention {needle:?}: {stderr}"
    );
}

/// Mode 0600, as a file holding secrets should be (else cloudkeys warns).
pub fn private(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
}

/// The Python that runs moto: a virtual environment under target/ with the pinned
/// `moto[server]` of tests/requirements.txt, made on first use (so `cargo test` needs only
/// `python3` with its `venv` module, also where the system Python is externally managed,
/// PEP 668). `Err(reason)`: python3 or its venv module is missing, so the moto tests skip.
/// A failed install (no network) panics with pip's error: a silent skip would hide it.
/// `CLOUDKEYS_PYTHON` names another interpreter than `python3` to make the venv with.
pub fn moto_python() -> Result<PathBuf, String> {
    static PYTHON: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    PYTHON.get_or_init(make_moto_venv).clone()
}

fn make_moto_venv() -> Result<PathBuf, String> {
    use std::process::Command as Process;
    let python3 = std::env::var_os("CLOUDKEYS_PYTHON").unwrap_or_else(|| "python3".into());
    match Process::new(&python3)
        .args(["-c", "import venv, ensurepip"])
        .output()
    {
        Err(err) => return Err(format!("python3 cannot run ({err})")),
        Ok(out) if !out.status.success() => {
            return Err(
                "python3's venv module is missing (Debian/Ubuntu: apt-get install python3-venv)"
                    .to_string(),
            )
        }
        Ok(_) => {}
    }
    let requirements_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/requirements.txt");
    let requirements = std::fs::read_to_string(&requirements_path).expect("tests/requirements.txt");
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("..");
    let venv = root.join("moto-venv");
    let python = if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    };
    let marker = venv.join("cloudkeys-requirements.txt");
    std::fs::create_dir_all(&root).expect("target dir");
    // Several test binaries start at once: one makes the venv, the others wait for it.
    let lock = std::fs::File::create(root.join("moto-venv.lock")).expect("lock file");
    let _guard = FileLock::exclusive(&lock);
    if std::fs::read_to_string(&marker).is_ok_and(|done| done == requirements) {
        return Ok(python);
    }
    let _ = std::fs::remove_dir_all(&venv);
    let made = Process::new(&python3)
        .arg("-m")
        .arg("venv")
        .arg(&venv)
        .output()
        .expect("python3 -m venv runs");
    assert!(
        made.status.success(),
        "python3 -m venv {} failed: {}",
        venv.display(),
        String::from_utf8_lossy(&made.stderr)
    );
    eprintln!(
        "installing the pinned moto[server] into {} (once)",
        venv.display()
    );
    let pip = Process::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(&requirements_path)
        .env("PIP_NO_INPUT", "1")
        .output()
        .expect("the venv's pip runs");
    assert!(
        pip.status.success(),
        "pip install -r tests/requirements.txt into {} failed (set CLOUDKEYS_SKIP_MOTO=1 to skip the moto tests):\n{}",
        venv.display(),
        String::from_utf8_lossy(&pip.stderr)
    );
    std::fs::write(&marker, &requirements).expect("venv marker");
    Ok(python)
}

/// An exclusive `flock` held until dropped (closing the file would release it too).
struct FileLock<'a>(&'a std::fs::File);

impl<'a> FileLock<'a> {
    fn exclusive(file: &'a std::fs::File) -> Self {
        #[cfg(unix)]
        {
            use std::os::unix::io::AsRawFd;
            // SAFETY: a valid open descriptor; flock blocks until the lock is ours.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            assert_eq!(rc, 0, "flock: {}", std::io::Error::last_os_error());
        }
        FileLock(file)
    }
}

impl Drop for FileLock<'_> {
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            use std::os::unix::io::AsRawFd;
            // SAFETY: as above.
            unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
        }
    }
}

/// Records of `list --all-users` through `profile` and the HTTP calls it took (from `-vv`).
pub fn scan_all_users(
    world: &World,
    profile: &str,
    extra: &[&str],
) -> (Vec<serde_json::Value>, usize, String) {
    let mut cmd = world.cmd([
        "-p",
        profile,
        "-vv",
        "--page-size",
        "10",
        "list",
        "--all-users",
        "-o",
        "json",
    ]);
    let (stdout, stderr) = run(cmd.args(extra), 0);
    let calls = stderr.lines().filter(|l| l.contains(" answered")).count();
    (json_array(&stdout), calls, stderr)
}

/// Records as a credential-report scan and an `--exact` one must agree on them: without the
/// report's time, and without the scanning key's own last use, which every call moves on.
pub fn comparable(records: &[serde_json::Value], scanning_key: &str) -> Vec<serde_json::Value> {
    let mut out: Vec<serde_json::Value> = records
        .iter()
        .map(|r| {
            let mut r = r.clone();
            let map = r.as_object_mut().unwrap();
            map.remove("last_used_as_of");
            if map["access_key_id"] == scanning_key {
                for field in [
                    "last_used_at",
                    "last_used_service",
                    "last_used_region",
                    "idle_days",
                ] {
                    map.remove(field);
                }
            }
            r
        })
        .collect();
    out.sort_by_key(|r| r["access_key_id"].as_str().unwrap_or_default().to_string());
    out
}
