//! Running the built binary: a clean environment, exit codes, one-line errors, JSON output.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

/// The binary with a clean environment: HOME = `home`, no colour, only PATH inherited.
pub fn bare_cmd(home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("cloudkeys").expect("binary built");
    cmd.env_clear()
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .timeout(std::time::Duration::from_secs(120));
    cmd
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

/// Runs the command, asserts exit `code` and a one-line error naming `needle`; returns stderr.
pub fn refused(cmd: &mut Command, code: i32, needle: &str) -> String {
    let (_, stderr) = run(cmd, code);
    assert_one_line_error(&stderr, needle);
    stderr
}

/// Parses stdout as one JSON array.
pub fn json_array(stdout: &str) -> Vec<Value> {
    match serde_json::from_str::<Value>(stdout) {
        Ok(Value::Array(items)) => items,
        other => panic!("expected a JSON array, got {other:?}\n{stdout}"),
    }
}

/// The lines of NDJSON output, parsed.
pub fn ndjson(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
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
