//! End-to-end under injected faults: every run either succeeds after retries or ends with the
//! documented error and exit code — no panic, no hang past the timeout, no lost key.

mod common;

use std::time::Duration;

use cloudkeys::model::ProviderKind;
use cloudkeys::sandbox::{Effect, Fault};
use common::{json_array, run, World};

/// The admin profile of each emulated cloud in the test seed, and its create call's name.
const CLOUDS: &[(ProviderKind, &str, &str)] = &[
    (ProviderKind::Aws, "aws-admin", "CreateAccessKey"),
    (ProviderKind::Tencent, "tencent-admin", "CreateAccessKey"),
    (ProviderKind::Alibaba, "alibaba-admin", "CreateAccessKey"),
    (ProviderKind::Huawei, "huawei-admin", "CreateAccessKeyV5"),
];

fn inject(world: &World, fault: Fault) {
    world.with_state(|s| s.settings.faults.push(fault));
}

fn stderr_is_one_line(stderr: &str) {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn reads_survive_throttling_faults_and_drops() {
    for &(kind, profile, _) in CLOUDS {
        for effect in [Effect::Throttle, Effect::ServerError, Effect::Drop] {
            let world = World::new();
            inject(&world, Fault::always(effect).provider(kind).every(2));
            let (stdout, stderr) = run(
                &mut world.cmd(["-p", profile, "list", "--all-users", "-o", "json"]),
                0,
            );
            assert_eq!(json_array(&stdout).len(), 4, "{kind} {effect:?}: {stderr}");
        }
    }
}

#[test]
fn persistent_faults_end_in_exit_4_after_the_retries() {
    for &(kind, profile, _) in CLOUDS {
        for (effect, needle) in [
            (Effect::Throttle, "after 3 attempts"),
            (Effect::ServerError, "after 3 attempts"),
            (Effect::Drop, "after 3 attempts"),
            (Effect::Truncate, ""),
        ] {
            let world = World::new();
            inject(&world, Fault::always(effect).provider(kind));
            let (_, stderr) = run(
                &mut world.cmd(["-p", profile, "--retries", "2", "whoami"]),
                4,
            );
            stderr_is_one_line(&stderr);
            assert!(stderr.contains(needle), "{kind} {effect:?}: {stderr}");
        }
    }
}

#[test]
fn slow_answers_hit_the_timeout() {
    for &(kind, profile, _) in CLOUDS {
        let world = World::new();
        inject(
            &world,
            Fault::always(Effect::Latency(Duration::from_secs(30))).provider(kind),
        );
        let started = std::time::Instant::now();
        let (_, stderr) = run(
            &mut world.cmd(["-p", profile, "--timeout", "1", "--retries", "1", "whoami"]),
            4,
        );
        stderr_is_one_line(&stderr);
        assert!(stderr.contains("timed out"), "{stderr}");
        // Two tries of one second each, not thirty.
        assert!(started.elapsed() < Duration::from_secs(20));
    }
}

#[test]
fn a_skewed_clock_is_corrected_from_the_server_date() {
    // A machine an hour off, either way: whoami and list work on every cloud.
    for minutes in [60, -60] {
        for &(_, profile, _) in CLOUDS {
            let world = World::new();
            world.with_state(|s| s.settings.clock_skew = chrono::Duration::minutes(minutes));
            let (stdout, stderr) = run(
                &mut world.cmd(["-p", profile, "-v", "whoami", "-o", "json"]),
                0,
            );
            assert_eq!(json_array(&stdout).len(), 1);
            assert!(
                stderr.contains("clock skew corrected"),
                "{profile} {minutes}: {stderr}"
            );
            let (stdout, _) = run(
                &mut world.cmd(["-p", profile, "list", "--all-users", "-o", "json"]),
                0,
            );
            assert!(!json_array(&stdout).is_empty(), "{profile} {minutes}");
        }
    }
}

#[test]
fn a_create_is_never_repeated_and_a_lost_answer_is_explained() {
    for &(kind, profile, create) in CLOUDS {
        // The cloud fails before acting: nothing was made, and we say it is safe to retry.
        let world = World::new();
        inject(
            &world,
            Fault::always(Effect::ServerError).provider(kind).on(create),
        );
        let (stdout, stderr) = run(
            &mut world.cmd(["-p", profile, "create", "--user", "carol"]),
            4,
        );
        stderr_is_one_line(&stderr);
        assert!(stderr.contains("no key was created"), "{stderr}");
        assert!(stdout.is_empty());
        let (listed, _) = run(
            &mut world.cmd(["-p", profile, "list", "--user", "carol", "-o", "json"]),
            0,
        );
        assert!(json_array(&listed).is_empty());

        // The cloud acts, then the answer is lost: one key exists, and we name it.
        let world = World::new();
        inject(
            &world,
            Fault::always(Effect::LoseAnswer).provider(kind).on(create),
        );
        let (_, stderr) = run(
            &mut world.cmd(["-p", profile, "create", "--user", "carol"]),
            4,
        );
        stderr_is_one_line(&stderr);
        let (listed, _) = run(
            &mut world.cmd(["-p", profile, "list", "--user", "carol", "-o", "json"]),
            0,
        );
        let keys = json_array(&listed);
        assert_eq!(keys.len(), 1, "created exactly once");
        let id = keys[0]["access_key_id"].as_str().unwrap();
        assert!(stderr.contains(&format!("did create key {id}")), "{stderr}");
    }
}

/// Every key command × every fault × every cloud: each run succeeds (after retries) or ends
/// with exit 4 and one line — never a panic, a leaked secret or a half-written file.
#[test]
fn fault_matrix_every_command() {
    let faults = [
        Fault::always(Effect::Throttle).every(2),
        Fault::always(Effect::ServerError),
        Fault::always(Effect::Drop),
        Fault::always(Effect::Truncate),
        Fault::always(Effect::Latency(Duration::from_secs(30))),
    ];
    for &(kind, profile, _) in CLOUDS {
        for fault in &faults {
            let world = World::new();
            let (stdout, _) = run(
                &mut world.cmd(["-p", profile, "list", "--user", "alice", "-o", "json"]),
                0,
            );
            let alice_key = json_array(&stdout)[0]["access_key_id"]
                .as_str()
                .unwrap()
                .to_string();
            let save = world.home().join("saved.json");
            let save = save.to_str().unwrap().to_string();
            let commands: Vec<Vec<&str>> = vec![
                vec!["list", "--all-users"],
                vec!["last-used", &alice_key, "--user", "alice"],
                vec!["disable", &alice_key, "--user", "alice"],
                vec!["enable", &alice_key, "--user", "alice"],
                vec!["whoami"],
                vec!["create", "--user", "carol", "--save", &save],
                vec!["delete", &alice_key, "--user", "alice", "--yes"],
            ];
            world.with_state(|s| s.settings.faults.push(fault.clone().provider(kind)));
            let secrets: Vec<String> = world
                .profiles()
                .into_iter()
                .map(|p| p.secret_access_key)
                .collect();
            for command in &commands {
                let output = world
                    .cmd(["-p", profile, "--timeout", "1", "--retries", "1"])
                    .args(command)
                    .output()
                    .unwrap();
                let code = output.status.code();
                let stderr = String::from_utf8_lossy(&output.stderr);
                let stdout = String::from_utf8_lossy(&output.stdout);
                let what = format!("{kind} {:?} {command:?}", fault.effect);
                assert!(
                    matches!(code, Some(0) | Some(4)),
                    "{what}: exit {code:?}\n{stderr}"
                );
                assert!(!stderr.contains("panicked"), "{what}: {stderr}");
                if code == Some(4) {
                    let lines = stderr.lines().filter(|l| l.starts_with("error:")).count();
                    assert_eq!(lines, 1, "{what}: {stderr}");
                }
                for secret in &secrets {
                    assert!(
                        !stdout.contains(secret) && !stderr.contains(secret),
                        "{what}"
                    );
                }
                if command[0] == "create" && std::path::Path::new(&save).exists() {
                    // Whole or absent: a saved file always parses and names a key.
                    let doc: serde_json::Value =
                        serde_json::from_str(&std::fs::read_to_string(&save).unwrap())
                            .unwrap_or_else(|e| panic!("{what}: half-written save file: {e}"));
                    assert!(doc["secret_access_key"].is_string(), "{what}");
                }
            }
        }
    }
}
