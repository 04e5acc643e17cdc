//! The release archive: .github/scripts/package.sh packs the binary, completions, man page
//! and licences, and writes a SHA-256 sum that checks (run here for the host, with the test
//! build's binary instead of a release build).
#![cfg(unix)]

use std::path::Path;
use std::process::Command;

fn host() -> String {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .expect("host triple")
}

#[test]
fn man_page_is_roff_naming_the_commands() {
    let out = assert_cmd::Command::cargo_bin("cloudkeys")
        .unwrap()
        .arg("man")
        .output()
        .unwrap();
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.contains(".TH cloudkeys 1"), "{page}");
    for command in ["list", "audit", "rotate", "completions"] {
        assert!(page.contains(command), "{command} missing");
    }
}

#[test]
fn package_script_packs_binary_completions_man_page_and_sum() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dist = tempfile::tempdir().unwrap();
    let target = host();
    let bin = assert_cmd::cargo::cargo_bin("cloudkeys");
    let out = Command::new("bash")
        .arg(root.join(".github/scripts/package.sh"))
        .arg(&target)
        .env("CLOUDKEYS_BIN", &bin)
        .env("DIST_DIR", dist.path())
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "package.sh failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let version = env!("CARGO_PKG_VERSION");
    let name = format!("cloudkeys-{version}-{target}");
    let archive = dist.path().join(format!("{name}.tar.gz"));
    let list = Command::new("tar")
        .arg("tzf")
        .arg(&archive)
        .output()
        .unwrap();
    assert!(list.status.success());
    let list = String::from_utf8_lossy(&list.stdout);
    for member in [
        "cloudkeys",
        "README.md",
        "LICENSE-MIT",
        "LICENSE-APACHE",
        "completions/cloudkeys.bash",
        "completions/_cloudkeys",
        "completions/cloudkeys.fish",
        "completions/_cloudkeys.ps1",
        "man/cloudkeys.1",
    ] {
        let path = format!("{name}/{member}");
        assert!(list.lines().any(|l| l == path), "{path} missing:\n{list}");
    }
    // The packed binary is the one given, byte for byte.
    let unpacked = tempfile::tempdir().unwrap();
    let status = Command::new("tar")
        .arg("xzf")
        .arg(&archive)
        .arg("-C")
        .arg(unpacked.path())
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        std::fs::read(unpacked.path().join(&name).join("cloudkeys")).unwrap(),
        std::fs::read(&bin).unwrap()
    );
    // The sum file checks with sha256sum -c (or shasum -c on macOS).
    let sums = std::fs::read_to_string(dist.path().join(format!("{name}.tar.gz.sha256"))).unwrap();
    assert!(sums.ends_with(&format!("  {name}.tar.gz\n")), "{sums}");
    let check = Command::new("sh")
        .arg("-c")
        .arg("sha256sum -c \"$1\" 2>/dev/null || shasum -a 256 -c \"$1\"")
        .arg("sh")
        .arg(format!("{name}.tar.gz.sha256"))
        .current_dir(dist.path())
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}
