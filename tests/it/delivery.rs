//! A new secret is delivered, or its key is deleted again: stdout closed, full or a closed
//! pipe; a `--save` file that cannot be written; stderr gone; an interrupt during `create`.
#![cfg(unix)]

use std::os::unix::process::CommandExt;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::common::{fault, json_array, listed_ids, run, Effect, World, CLOUDS};
use cloudkeys::model::ProviderKind;

const FORMATS: [&str; 5] = ["table", "json", "ndjson", "csv", "markdown"];

/// The secret the sandbox holds for an AWS key.
fn aws_secret(world: &World, id: &str) -> String {
    world.find_key(id).expect("key").secret
}

fn close_fd(cmd: &mut Command, fd: i32) {
    // SAFETY: close is async-signal-safe; runs in the child between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            libc::close(fd);
            Ok(())
        });
    }
}

fn finish(cmd: &mut Command) -> (Option<i32>, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("binary runs");
    (
        status.code(),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

fn dev_full() -> Stdio {
    Stdio::from(
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full"),
    )
}

#[test]
fn an_undeliverable_secret_means_its_key_is_deleted_again() {
    for profile in CLOUDS.map(|c| c.admin) {
        let world = World::new();
        for format in FORMATS {
            let args = ["-p", profile, "create", "--user", "carol", "-o", format];
            // stdout closed (`>&-`) or full (`>/dev/full`): nothing can be printed.
            for how in [">&-", ">/dev/full"] {
                let mut cmd = world.std_cmd(args);
                if how == ">&-" {
                    close_fd(&mut cmd, 1);
                } else {
                    cmd.stdout(dev_full());
                }
                let (code, _, stderr) = finish(&mut cmd);
                assert_eq!(code, Some(2), "{profile} {format} {how}: {stderr}");
                assert!(
                    stderr.contains("deleted again"),
                    "{profile} {format}: {stderr}"
                );
                assert!(
                    listed_ids(&world, profile, "carol").is_empty(),
                    "{profile} {format}"
                );
            }
        }
    }
}

#[test]
fn a_closed_pipe_is_not_a_delivery() {
    let world = World::new();
    let mut cmd = world.std_cmd(["-p", "aws-admin", "create", "--user", "carol", "-o", "json"]);
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    cmd.stdout(writer);
    let (code, _, stderr) = finish(&mut cmd);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(listed_ids(&world, "aws-admin", "carol").is_empty());
}

#[test]
fn a_key_that_cannot_be_deleted_either_is_named_without_its_secret() {
    let world = World::new();
    world.inject(fault(
        ProviderKind::Aws,
        Effect::ServerError,
        "DeleteAccessKey",
    ));
    let mut cmd = world.std_cmd(["-p", "aws-admin", "create", "--user", "carol", "-o", "json"]);
    cmd.stdout(dev_full());
    let (code, _, stderr) = finish(&mut cmd);
    assert_eq!(code, Some(4), "{stderr}");
    let left = listed_ids(&world, "aws-admin", "carol");
    assert_eq!(left.len(), 1);
    assert!(stderr.contains(&left[0]), "the key is named: {stderr}");
    assert!(stderr.contains("failed too"), "{stderr}");
    assert!(!stderr.contains(&aws_secret(&world, &left[0])));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn a_failed_save_leaves_no_file_and_no_key() {
    let world = World::new();
    let save = world.home().join("carol.json");
    let mut cmd = world.std_cmd(["-p", "aws-admin", "create", "--user", "carol", "--save"]);
    cmd.arg(&save);
    // The file may grow to 10 bytes: the secret is cut off half-way.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit {
                rlim_cur: 10,
                rlim_max: 10,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &limit);
            Ok(())
        });
    }
    let (code, stdout, stderr) = finish(&mut cmd);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(!save.exists(), "a half-written secret file is removed");
    assert!(stderr.contains("deleted again"), "{stderr}");
    assert!(listed_ids(&world, "aws-admin", "carol").is_empty());
    assert!(
        stdout.is_empty(),
        "nothing to print once the key is gone: {stdout}"
    );

    // Saving fails and so does the delete: the secret is printed, the only copy left.
    world.inject(fault(
        ProviderKind::Aws,
        Effect::ServerError,
        "DeleteAccessKey",
    ));
    let (_, stderr) = run(
        &mut world.as_profile(
            "aws-admin",
            &["create", "--user", "carol", "--save", "/proc/cloudkeys-x"],
        ),
        2,
    );
    let left = listed_ids(&world, "aws-admin", "carol");
    assert_eq!(left.len(), 1);
    assert!(
        stderr.contains(&left[0]) && stderr.contains("printed"),
        "{stderr}"
    );
}

#[test]
fn progress_lines_never_stop_a_delivered_secret() {
    let world = World::new();
    // stderr closed, stdout to a file: the secret is in the file, exit 0.
    let out = world.home().join("out.json");
    let mut cmd = world.std_cmd(["-p", "aws-admin", "create", "--user", "carol", "-o", "json"]);
    cmd.stdout(std::fs::File::create(&out).expect("out"));
    close_fd(&mut cmd, 2);
    let (code, _, _) = finish(&mut cmd);
    assert_eq!(code, Some(0));
    let printed = json_array(&std::fs::read_to_string(&out).expect("read"));
    let id = printed[0]["access_key_id"].as_str().expect("id");
    assert_eq!(printed[0]["secret_access_key"], aws_secret(&world, id));

    // stderr full while --save reports progress (eprintln! panicked here).
    let save = world.home().join("carol.json");
    let mut cmd = world.std_cmd(["-p", "aws-admin", "create", "--user", "carol", "--save"]);
    cmd.arg(&save).stderr(dev_full());
    let (code, _, _) = finish(&mut cmd);
    assert_eq!(code, Some(0));
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&save).expect("saved")).expect("json");
    let id = saved["access_key_id"].as_str().expect("id");
    assert_eq!(saved["secret_access_key"], aws_secret(&world, id));
}

#[test]
fn an_interrupt_during_create_does_not_drop_the_secret() {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let world = World::new();
        // The create call is slow: the signal comes while it is in flight.
        world.inject(fault(
            ProviderKind::Aws,
            Effect::Latency(Duration::from_secs(2)),
            "CreateAccessKey",
        ));
        let mut cmd = world.std_cmd(["-p", "aws-admin", "create", "--user", "carol", "-o", "json"]);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let child = cmd.spawn().expect("spawn");
        std::thread::sleep(Duration::from_millis(1000));
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, signal) };
        let output = child.wait_with_output().expect("wait");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(130), "signal {signal}: {stdout}");
        let left = listed_ids(&world, "aws-admin", "carol");
        for id in &left {
            assert!(
                stdout.contains(&aws_secret(&world, id)),
                "signal {signal}: key {id} exists but its secret was not printed"
            );
        }
    }
}
