//! What the fleet and scale benches share besides the sandbox: a private config file and the
//! release binary run against it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Writes `text` as `name` in a new temporary home, readable by the owner only (as the
/// binary wants a config holding secrets). Keep the directory alive while it is used.
pub fn private_config(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .expect("config written");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    (dir, path)
}

/// The binary with a clean environment: `home` as HOME, no colour, `config` as its config.
pub fn cloudkeys(home: &Path, config: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cloudkeys"));
    command
        .env_clear()
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .arg("--config")
        .arg(config);
    command
}
