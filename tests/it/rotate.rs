//! End-to-end: `rotate` and `revoke` against the sandbox on every cloud, including each
//! failure path of DESIGN.md's rotation rules — and in each, no secret is lost.

use std::path::Path;
use std::time::Duration;

use crate::common::{
    fault, json_array, listed_keys, own_config, run, Cloud, Effect, World, CLOUDS,
};
use cloudkeys::model::ProviderKind;
use serde_json::Value;

/// Bob's keys as the admin sees them: (id, status).
fn bob_keys(world: &World, cloud: &Cloud) -> Vec<(String, String)> {
    listed_keys(world, cloud.admin, "bob")
}

/// A test world where bob has one active key, and that key's id.
fn bob_world(cloud: &Cloud) -> (World, String) {
    let world = World::new();
    let old = active_bob(&world, cloud);
    (world, old)
}

/// Bob's world where `cloud`'s `action` answers with `effect` (only `times` times, when given).
fn faulty_bob(
    cloud: &Cloud,
    effect: Effect,
    action: &str,
    times: Option<usize>,
) -> (World, String) {
    let (world, old) = bob_world(cloud);
    let fault = fault(cloud.kind, effect, action);
    world.inject(match times {
        Some(n) => fault.times(n),
        None => fault,
    });
    (world, old)
}

/// Bob's one key, switched on so that there is something to deactivate.
fn active_bob(world: &World, cloud: &Cloud) -> String {
    let (id, _) = bob_keys(world, cloud).remove(0);
    run(&mut cloud.cmd(world, &["enable", &id, "--user", "bob"]), 0);
    id
}

fn rotate_bob(cloud: &Cloud, save: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "-p",
        cloud.admin,
        "rotate",
        "--user",
        "bob",
        "--save",
        save.to_str().unwrap(),
        "--verify-timeout",
        "3",
        "--retries",
        "1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn saved(path: &Path) -> (String, String) {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    (
        doc["access_key_id"].as_str().unwrap().to_string(),
        doc["secret_access_key"].as_str().unwrap().to_string(),
    )
}

/// A key for bob made by hand, saved to `file` in the home: (id, secret).
fn create_saved(world: &World, cloud: &Cloud, file: &str) -> (String, String) {
    let path = world.home().join(file);
    let save = ["create", "--user", "bob", "--save", path.to_str().unwrap()];
    run(&mut cloud.cmd(world, &save), 0);
    saved(&path)
}

/// The secret in `path` really signs requests for `cloud`.
fn assert_works(world: &World, cloud: &Cloud, path: &Path) {
    let (id, secret) = saved(path);
    let region = format!("region = \"{}\"\n", world.profile(cloud.admin).region);
    let file = format!("check-{id}.toml");
    let config = own_config(world, &file, ("check", cloud.kind), &id, &secret, &region);
    let (stdout, _) = run(
        world
            .bare_cmd()
            .args(["--config", config.to_str().unwrap(), "whoami", "-o", "json"]),
        0,
    );
    assert_eq!(json_array(&stdout)[0]["access_key_id"], id.as_str());
}

#[test]
fn rotating_the_profiles_own_key_on_every_cloud() {
    for cloud in CLOUDS {
        let world = World::new();
        let old = world.profile(cloud.admin).access_key_id;
        let save = world.home().join("new.json");
        let (stdout, stderr) = run(
            &mut cloud.cmd(
                &world,
                &["rotate", "--save", save.to_str().unwrap(), "-o", "json"],
            ),
            0,
        );
        let report: Value = serde_json::from_str(&stdout).expect("one JSON report");
        let (new_id, secret) = saved(&save);
        assert_eq!(report["old_key_id"], old.as_str(), "{}", cloud.kind);
        assert_eq!(report["new_key_id"], new_id.as_str());
        assert_eq!(report["old_key"], "inactive");
        let steps: Vec<&str> = report["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["step"].as_str().unwrap())
            .collect();
        assert_eq!(
            steps,
            ["find", "check", "create", "save", "verify", "old key"]
        );
        assert!(!stdout.contains(&secret) && !stderr.contains(&secret));
        assert_works(&world, cloud, &save);
        // The old key no longer works: the profile now fails with the cloud's refusal.
        run(&mut cloud.cmd(&world, &["whoami"]), 3);
    }
}

#[test]
fn rotating_another_users_key_needs_a_file_and_a_choice() {
    let world = World::new();
    let admin = |args: &[&str], code| run(&mut world.as_profile("aws-admin", args), code);
    let (_, stderr) = admin(&["rotate", "--user", "bob"], 2);
    assert!(stderr.contains("needs --save FILE"), "{stderr}");
    let save = world.home().join("a.json");
    let alice = [
        "rotate",
        "--user",
        "alice",
        "--save",
        save.to_str().unwrap(),
    ];
    let (_, stderr) = admin(&alice, 2);
    assert!(
        stderr.contains("choose the one to replace with --key"),
        "{stderr}"
    );
    // alice has two keys: replacing one would need a third first.
    let (stdout, _) = admin(&["list", "--user", "alice", "-o", "json"], 0);
    let first = json_array(&stdout)[0]["access_key_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, stderr) = admin(&[&alice[..], &["--key", &first]].concat(), 3);
    assert!(stderr.contains("already has 2 keys"), "{stderr}");
    assert!(!save.exists());
}

#[test]
fn dry_run_changes_nothing() {
    for cloud in CLOUDS {
        let world = World::new();
        let before = bob_keys(&world, cloud);
        let save = world.home().join("plan.json");
        let (_, stderr) = run(&mut world.cmd(rotate_bob(cloud, &save, &["--dry-run"])), 0);
        assert!(stderr.contains("· create"), "{stderr}");
        assert_eq!(bob_keys(&world, cloud), before);
        assert!(!save.exists());
    }
}

/// Rotating bob's key into `save` exits `code`, says `says` on stderr, prints nothing on
/// stdout and leaves bob with his one key `old`, still active.
fn assert_rotation_undone(
    world: &World,
    cloud: &Cloud,
    save: &Path,
    code: i32,
    says: &str,
    old: String,
) {
    let (stdout, stderr) = run(&mut world.cmd(rotate_bob(cloud, save, &[])), code);
    assert!(stderr.contains(says), "{}: {stderr}", cloud.kind);
    assert!(stdout.is_empty());
    assert_eq!(bob_keys(world, cloud), [(old, "active".to_string())]);
}

#[test]
fn create_failing_leaves_everything_as_it_was() {
    for cloud in CLOUDS {
        let (world, old) = faulty_bob(cloud, Effect::ServerError, cloud.create, None);
        let save = world.home().join("new.json");
        assert_rotation_undone(&world, cloud, &save, 4, "no key was created", old);
        assert!(!save.exists());
    }
}

#[test]
fn a_lost_create_answer_is_reported_and_a_rerun_finishes_without_a_third_key() {
    for cloud in CLOUDS {
        let (world, old) = faulty_bob(cloud, Effect::LoseAnswer, cloud.create, Some(1));
        let save = world.home().join("new.json");
        let (_, stderr) = run(&mut world.cmd(rotate_bob(cloud, &save, &[])), 4);
        let keys = bob_keys(&world, cloud);
        assert_eq!(keys.len(), 2, "{}: {stderr}", cloud.kind);
        let orphan = keys.iter().find(|(id, _)| id != &old).unwrap().0.clone();
        assert!(
            stderr.contains(&format!("did create key {orphan}")),
            "{stderr}"
        );
        assert!(!save.exists());

        // The same command again, with no terminal to ask on: it names the orphan and
        // deletes nothing without --yes.
        let (_, stderr) = run(&mut world.cmd(rotate_bob(cloud, &save, &[])), 2);
        assert!(
            stderr.contains(&orphan) && stderr.contains("--yes"),
            "{stderr}"
        );
        assert_eq!(bob_keys(&world, cloud).len(), 2);
        // With --yes the orphan (whose secret nobody has) goes, and the job is done.
        let (_, stderr) = run(&mut world.cmd(rotate_bob(cloud, &save, &["--yes"])), 0);
        assert!(stderr.contains(&format!("deleted {orphan}")), "{stderr}");
        let keys = bob_keys(&world, cloud);
        assert_eq!(keys.len(), 2, "{keys:?}");
        let (new_id, _) = saved(&save);
        assert!(keys.contains(&(new_id, "active".to_string())));
        assert!(keys.contains(&(old.clone(), "inactive".to_string())));
        assert!(!keys.iter().any(|(id, _)| id == &orphan));
        assert_works(&world, cloud, &save);
    }
}

/// A path the process can't create a file at, even as root (CI often runs as root, which
/// ignores a read-only folder's mode).
fn unwritable(world: &World) -> std::path::PathBuf {
    let dir = world.home().join("readonly");
    std::fs::create_dir(&dir).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o500)).unwrap();
        if std::fs::write(dir.join("probe"), b"").is_ok() {
            // Root: use a folder no one may create files in.
            let _ = std::fs::remove_file(dir.join("probe"));
            return Path::new("/proc/cloudkeys-rotate-test.json").to_path_buf();
        }
    }
    dir.join("new.json")
}

#[test]
fn a_failed_save_deletes_the_new_key_again() {
    for cloud in CLOUDS {
        let (world, old) = bob_world(cloud);
        let save = unwritable(&world);
        let says = "was deleted again, nothing changed";
        assert_rotation_undone(&world, cloud, &save, 2, says, old);
    }
}

#[test]
fn when_save_and_undo_both_fail_the_secret_is_printed() {
    for cloud in CLOUDS {
        let (world, old) = faulty_bob(cloud, Effect::ServerError, cloud.delete, None);
        let save = unwritable(&world);
        let (stdout, stderr) = run(&mut world.cmd(rotate_bob(cloud, &save, &["-o", "json"])), 2);
        assert!(stderr.contains("its secret is printed above"), "{stderr}");
        let report: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
        let new_id = report["new_key_id"].as_str().unwrap();
        let secret = report["secret_access_key"]
            .as_str()
            .expect("secret printed");
        let keys = bob_keys(&world, cloud);
        assert!(keys.contains(&(old, "active".to_string())));
        assert!(keys.iter().any(|(id, _)| id == new_id));
        // The printed secret is the real one: it signs.
        let kept = world.home().join("kept.json");
        std::fs::write(
            &kept,
            serde_json::json!({"access_key_id": new_id, "secret_access_key": secret}).to_string(),
        )
        .unwrap();
        assert_works(&world, cloud, &kept);
    }
}

/// Save, undo and the last-resort print all fail (stdout is the full device): the key that is
/// left is named on stderr for someone to delete, and nothing claims the secret was printed.
#[test]
fn when_save_undo_and_print_fail_the_key_left_is_named() {
    let cloud = &CLOUDS[0];
    let (world, old) = faulty_bob(cloud, Effect::ServerError, cloud.delete, None);
    let save = unwritable(&world);
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let output = world
        .std_cmd(rotate_bob(cloud, &save, &["-o", "json"]))
        .stdout(full)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("printed above"), "{stderr}");
    let keys = bob_keys(&world, cloud);
    let (new_id, _) = keys
        .iter()
        .find(|(id, _)| *id != old)
        .expect("the new key is left");
    assert!(
        stderr.contains(&format!("delete {new_id} by hand")),
        "{stderr}"
    );
}

#[test]
fn verify_timing_out_keeps_the_old_key_and_a_rerun_finishes() {
    for cloud in CLOUDS {
        let (world, old) = bob_world(cloud);
        world.set_new_key_delay(Duration::from_secs(4));
        let save = world.home().join("new.json");
        let mut args = rotate_bob(cloud, &save, &[]);
        let at = args.iter().position(|a| a == "--verify-timeout").unwrap();
        args[at + 1] = "1".into();
        let (_, stderr) = run(&mut world.cmd(&args), 4);
        assert!(
            stderr.contains("was not accepted within 1s"),
            "{}: {stderr}",
            cloud.kind
        );
        let (new_id, _) = saved(&save);
        let keys = bob_keys(&world, cloud);
        assert!(keys.contains(&(old.clone(), "active".to_string())));
        assert!(keys.iter().any(|(id, _)| id == &new_id));

        // The journal it leaves names keys and a stage, never a secret.
        let (_, secret) = saved(&save);
        let dir = world.home().join(".local/state/cloudkeys");
        for name in journals(&world) {
            let text = std::fs::read_to_string(dir.join(name)).unwrap();
            assert!(text.contains(&new_id) && !text.contains(&secret));
        }
        // Once the cloud has caught up, the same command finishes the job.
        std::thread::sleep(Duration::from_secs(5));
        let (_, stderr) = run(&mut world.cmd(&args), 0);
        assert!(stderr.contains("finishing it"), "{stderr}");
        let keys = bob_keys(&world, cloud);
        assert_eq!(keys.len(), 2);
        assert!(keys.contains(&(old, "inactive".to_string())));
        assert!(keys.contains(&(new_id, "active".to_string())));
    }
}

#[test]
fn deactivate_failing_is_reported_and_a_rerun_finishes() {
    for cloud in CLOUDS {
        let (world, old) = faulty_bob(cloud, Effect::ServerError, cloud.update, None);
        let save = world.home().join("new.json");
        let args = rotate_bob(cloud, &save, &[]);
        let (_, stderr) = run(&mut world.cmd(&args), 4);
        let (new_id, _) = saved(&save);
        assert!(
            stderr.contains(&format!("old key {old} is still active")),
            "{}: {stderr}",
            cloud.kind
        );
        assert!(stderr.contains(&new_id));
        assert_works(&world, cloud, &save);

        world.clear_faults();
        run(&mut world.cmd(&args), 0);
        let keys = bob_keys(&world, cloud);
        assert!(keys.contains(&(old, "inactive".to_string())));
        assert!(keys.contains(&(new_id, "active".to_string())));
    }
}

#[test]
fn revoke_finds_the_owner_among_profiles_and_clouds() {
    let world = World::demo();
    for cloud in CLOUDS {
        // A key of some user in some account: the admin lists it, revoke finds it from its id.
        let (stdout, _) = run(
            &mut cloud.cmd(
                &world,
                &["list", "--user", "alice", "--no-last-used", "-o", "json"],
            ),
            0,
        );
        let records = json_array(&stdout);
        let target = records.iter().find(|r| r["status"] == "active").unwrap()["access_key_id"]
            .as_str()
            .unwrap()
            .to_string();
        let (stdout, stderr) = run(&mut world.cmd(["revoke", &target, "-o", "json"]), 0);
        let record = &json_array(&stdout)[0];
        assert_eq!(record["status"], "inactive", "{}: {stderr}", cloud.kind);
        assert_eq!(record["user"], "alice");
        assert_eq!(record["profile"], cloud.admin);
        assert!(stderr.contains("found"), "{stderr}");
        let after = listed_keys(&world, cloud.admin, "alice");
        assert!(after.contains(&(target, "inactive".to_string())));
    }
    // An id no configured profile can see.
    let (_, stderr) = run(
        &mut world.cmd(["revoke", "AKIDZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"]),
        3,
    );
    assert!(stderr.contains("no configured profile can see"), "{stderr}");
}

/// Rotates the profile's own key with no `--save`: the new secret goes back where the
/// profile came from, and nothing else in that file changes.
fn rotate_in_place(world: &World, args: &[&str], file: &Path, old_id: &str, old_secret: &str) {
    let before = std::fs::read_to_string(file).unwrap();
    let (stdout, stderr) = run(
        world.bare_cmd().args(args).args(["rotate", "-o", "json"]),
        0,
    );
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let new_id = report["new_key_id"].as_str().unwrap();
    let after = std::fs::read_to_string(file).unwrap();
    assert!(
        !after.contains(old_secret),
        "old secret still in {}",
        file.display()
    );
    assert!(!stdout.contains(old_secret) && !stderr.contains(old_secret));
    // Exactly the id and the secret changed: the rest is byte-for-byte the same.
    let restored = after.replacen(new_id, old_id, 1);
    let diff: Vec<(&str, &str)> = before
        .lines()
        .zip(restored.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(diff.len(), 1, "only the secret's line may differ: {diff:?}");
    assert!(diff[0].0.contains(old_secret));
    assert_eq!(before.lines().count(), after.lines().count());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The profile works with its new key.
    let (stdout, _) = run(
        world.bare_cmd().args(args).args(["whoami", "-o", "json"]),
        0,
    );
    assert_eq!(json_array(&stdout)[0]["access_key_id"], new_id);
}

#[test]
fn rotation_writes_back_into_our_config_file() {
    for cloud in CLOUDS {
        let world = World::new();
        let profile = world.profile(cloud.admin);
        let mut text = String::from("# my cloudkeys profiles\n");
        text.push_str(&std::fs::read_to_string(world.config_path()).unwrap());
        text.push_str("\n[profiles.other]  # another account\nprovider = \"aws\"\naccess_key_id = \"AKIAOTHEROTHER000000\"\nsecret_access_key = \"keep/me+as=is\"\n");
        std::fs::write(world.config_path(), &text).unwrap();
        let config = world.config_path().to_str().unwrap().to_string();
        rotate_in_place(
            &world,
            &["--config", &config, "-p", cloud.admin],
            world.config_path(),
            &profile.access_key_id,
            &profile.secret_access_key,
        );
    }
}

#[test]
fn rotation_writes_back_into_each_clouds_own_cli_file() {
    for cloud in CLOUDS {
        let world = World::new();
        let p = world.profile(cloud.admin);
        let (relative, text) = match cloud.kind {
            ProviderKind::Aws => (
                ".aws/credentials",
                format!(
                    "# work account\n[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n\n[other]\naws_access_key_id=AKIAOTHEROTHER000000\naws_secret_access_key=keep\n",
                    p.access_key_id, p.secret_access_key
                ),
            ),
            ProviderKind::Tencent => (
                ".tccli/default.credential",
                format!(
                    "{{\n    \"secretId\": \"{}\",\n    \"secretKey\": \"{}\"\n}}\n",
                    p.access_key_id, p.secret_access_key
                ),
            ),
            ProviderKind::Alibaba => (
                ".aliyun/config.json",
                format!(
                    "{{\n  \"current\": \"default\",\n  \"profiles\": [\n    {{\n      \"name\": \"default\",\n      \"mode\": \"AK\",\n      \"access_key_id\": \"{}\",\n      \"access_key_secret\": \"{}\",\n      \"region_id\": \"cn-hangzhou\"\n    }},\n    {{\n      \"name\": \"other\",\n      \"mode\": \"AK\",\n      \"access_key_id\": \"LTAIother\",\n      \"access_key_secret\": \"keep\"\n    }}\n  ]\n}}\n",
                    p.access_key_id, p.secret_access_key
                ),
            ),
            ProviderKind::Huawei => (
                ".hcloud/config.json",
                format!(
                    "{{\n  \"language\": \"en\",\n  \"current\": \"default\",\n  \"profiles\": [\n    {{\n      \"name\": \"default\",\n      \"mode\": \"AKSK\",\n      \"accessKeyId\": \"{}\",\n      \"secretAccessKey\": \"{}\",\n      \"region\": \"{}\"\n    }}\n  ]\n}}\n",
                    p.access_key_id, p.secret_access_key, p.region
                ),
            ),
        };
        let file = world.home().join(relative);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, text).unwrap();
        crate::common::private(&file);
        let provider = cloud.kind.to_string();
        let endpoint = world.endpoint();
        rotate_in_place(
            &world,
            &[
                "--provider",
                &provider,
                "--endpoint",
                &endpoint,
                "-p",
                &format!("{}:default", cloud.kind),
            ],
            &file,
            &p.access_key_id,
            &p.secret_access_key,
        );
    }
}

#[test]
fn a_profile_from_the_environment_needs_save_before_anything_is_created() {
    let world = World::new();
    let p = world.profile("aws-admin");
    let (_, stderr) = run(
        &mut world.aws_env_cmd(&p.access_key_id, &p.secret_access_key, &["rotate"]),
        2,
    );
    assert!(stderr.contains("--save"), "{stderr}");
    let (stdout, _) = run(
        &mut world.as_profile("aws-admin", &["list", "-o", "json"]),
        0,
    );
    assert_eq!(json_array(&stdout).len(), 1, "nothing was created");
}

#[test]
fn an_interrupted_write_back_rotation_finishes_on_the_next_run() {
    for cloud in CLOUDS {
        let world = World::new();
        let old = world.profile(cloud.admin).access_key_id;
        world.inject(fault(cloud.kind, Effect::ServerError, cloud.update));
        let args = [
            "-p",
            cloud.admin,
            "rotate",
            "--verify-timeout",
            "2",
            "--retries",
            "0",
        ];
        let (_, stderr) = run(&mut world.cmd(args), 4);
        assert!(
            stderr.contains(&format!("old key {old} is still active")),
            "{stderr}"
        );
        // The config already holds the new key, which works.
        let (stdout, _) = run(&mut cloud.cmd(&world, &["whoami", "-o", "json"]), 0);
        let new_id = json_array(&stdout)[0]["access_key_id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_ne!(new_id, old);

        world.clear_faults();
        let (_, stderr) = run(&mut world.cmd(args), 0);
        assert!(stderr.contains("finishing it"), "{stderr}");
        let (stdout, _) = run(
            &mut cloud.cmd(&world, &["list", "-o", "json", "--no-last-used"]),
            0,
        );
        let keys: Vec<(String, String)> = json_array(&stdout)
            .iter()
            .map(|r| {
                (
                    r["access_key_id"].as_str().unwrap().into(),
                    r["status"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert_eq!(keys.len(), 2, "no third key: {keys:?}");
        assert!(keys.contains(&(old, "inactive".into())));
        assert!(keys.contains(&(new_id, "active".into())));
    }
}

/// The rotation journals in the test's HOME (no XDG_STATE_HOME: `~/.local/state/cloudkeys`).
fn journals(world: &World) -> Vec<String> {
    let dir = world.home().join(".local/state/cloudkeys");
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("rotate-") && n.ends_with(".json"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_refused_create_leaves_no_journal_and_a_key_made_by_hand_is_never_deleted() {
    // The clouds whose sandbox can refuse an action to an admin.
    for cloud in [&CLOUDS[0], &CLOUDS[2]] {
        refused_create_then_key_by_hand(cloud);
    }
}

fn refused_create_then_key_by_hand(cloud: &Cloud) {
    let (world, old) = bob_world(cloud);
    // A definite answer: the policy lacks iam:CreateAccessKey.
    world.deny(&[cloud.create]);
    let save = world.home().join("new.json");
    let (_, stderr) = run(&mut world.cmd(rotate_bob(cloud, &save, &[])), 3);
    assert!(
        stderr.contains("AccessDenied") || stderr.contains("NoPermission"),
        "{stderr}"
    );
    assert!(journals(&world).is_empty(), "{:?}", journals(&world));

    // Someone is given the permission and makes a key for bob by hand.
    world.deny(&[]);
    let (hand_id, _) = create_saved(&world, cloud, "by-hand.json");

    // A later rotation must not take that key for an orphan of the refused one.
    let (_, stderr) = world
        .cmd(rotate_bob(cloud, &save, &["--key", &old]))
        .output()
        .map(|o| (o.status, String::from_utf8_lossy(&o.stderr).into_owned()))
        .unwrap();
    assert!(!stderr.contains("interrupted rotation"), "{stderr}");
    let keys = bob_keys(&world, cloud);
    assert!(
        keys.iter().any(|(id, _)| id == &hand_id),
        "{keys:?}\n{stderr}"
    );
}

#[test]
fn two_rotations_writing_into_one_file_both_keep_their_key() {
    let cloud = &CLOUDS[2];
    let world = World::new();
    // bob gets a key whose secret we know; the admin keeps its own.
    for (id, _) in bob_keys(&world, cloud) {
        run(
            &mut cloud.cmd(&world, &["delete", &id, "--user", "bob", "--yes"]),
            0,
        );
    }
    let (bob_id, bob_secret) = create_saved(&world, cloud, "bob.json");
    let admin = world.profile(cloud.admin);
    let file = world.home().join(".aliyun/config.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let entry = |name: &str, id: &str, secret: &str| {
        format!("    {{\n      \"name\": \"{name}\",\n      \"mode\": \"AK\",\n      \"access_key_id\": \"{id}\",\n      \"access_key_secret\": \"{secret}\",\n      \"region_id\": \"cn-hangzhou\"\n    }}")
    };
    std::fs::write(
        &file,
        format!(
            "{{\n  \"current\": \"default\",\n  \"profiles\": [\n{},\n{}\n  ]\n}}\n",
            entry("default", &admin.access_key_id, &admin.secret_access_key),
            entry("bob", &bob_id, &bob_secret)
        ),
    )
    .unwrap();
    crate::common::private(&file);
    let endpoint = world.endpoint();
    let rotation = |profile: &str| {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("cloudkeys"));
        cmd.env_clear()
            .env("HOME", world.home())
            .env("NO_COLOR", "1")
            // Debug builds only: a slow write-back, so the two runs overlap in it.
            .env("CLOUDKEYS_TEST_WRITE_DELAY_MS", "1500")
            .args(["--provider", "alibaba", "--endpoint", &endpoint, "-p"])
            .arg(format!("alibaba:{profile}"))
            .args(["rotate", "--verify-timeout", "10"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd.spawn().unwrap()
    };
    let first = rotation("default");
    let second = rotation("bob");
    for child in [first, second] {
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Each profile in the file now holds a new key that works.
    for (profile, old) in [("default", &admin.access_key_id), ("bob", &bob_id)] {
        let (stdout, stderr) = run(
            world.bare_cmd().args([
                "--provider",
                "alibaba",
                "--endpoint",
                &endpoint,
                "-p",
                &format!("alibaba:{profile}"),
                "whoami",
                "-o",
                "json",
            ]),
            0,
        );
        let now = json_array(&stdout)[0]["access_key_id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_ne!(&now, old, "{profile} still holds its old key: {stderr}");
    }
}

#[test]
fn a_new_key_never_accepted_is_deleted_and_the_file_restored_byte_for_byte() {
    let cloud = &CLOUDS[0];
    let world = World::new();
    let old = world.profile(cloud.admin).access_key_id;
    let before = std::fs::read(world.config_path()).unwrap();
    // The cloud never accepts the new key within the wait.
    world.set_new_key_delay(Duration::from_secs(600));
    let (_, stderr) = run(
        &mut cloud.cmd(&world, &["rotate", "--verify-timeout", "1"]),
        4,
    );
    // (Compared as bytes but not printed: the file holds secrets.)
    let after = std::fs::read(world.config_path()).unwrap();
    assert!(after == before, "the file is not as it was: {stderr}");
    assert!(stderr.contains("was deleted"), "{stderr}");
    assert!(stderr.contains("restored"), "{stderr}");
    let (stdout, _) = run(
        &mut cloud.cmd(&world, &["list", "-o", "json", "--no-last-used"]),
        0,
    );
    let ids: Vec<String> = json_array(&stdout)
        .iter()
        .map(|r| r["access_key_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, [old], "the new key is gone, the old one is left");
    // No backup left behind once the rotation is over.
    let leftovers: Vec<_> = std::fs::read_dir(world.home())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("backup"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[cfg(unix)]
#[test]
fn sigint_during_create_waits_until_the_secret_is_saved() {
    interrupted_during_create(libc::SIGINT);
}

#[cfg(unix)]
#[test]
fn sigterm_during_create_waits_until_the_secret_is_saved() {
    interrupted_during_create(libc::SIGTERM);
}

#[cfg(unix)]
fn interrupted_during_create(signal: i32) {
    let cloud = &CLOUDS[0];
    let slow = Effect::Latency(Duration::from_secs(3));
    let (world, _) = faulty_bob(cloud, slow, cloud.create, None);
    let save = world.home().join("new.json");
    let started = std::time::Instant::now();
    let child = world
        .std_cmd(rotate_bob(cloud, &save, &[]))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Well inside the slow create: its journal is written just before the call goes out.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while journals(&world).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: kill(2) on the child's pid; no memory is touched.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "it waited for the create"
    );
    let (new_id, _) = saved(&save);
    assert!(bob_keys(&world, cloud).iter().any(|(id, _)| id == &new_id));
    assert_works(&world, cloud, &save);
}

#[test]
fn after_a_lost_create_answer_a_key_made_later_by_hand_is_not_taken_for_the_orphan() {
    let cloud = &CLOUDS[0];
    let (world, old) = faulty_bob(cloud, Effect::LoseAnswer, cloud.create, Some(1));
    let save = world.home().join("new.json");
    run(&mut world.cmd(rotate_bob(cloud, &save, &[])), 4);
    assert_eq!(journals(&world).len(), 1);
    // The orphan is cleaned up by hand, and someone makes a key of their own.
    let orphan = bob_keys(&world, cloud)
        .into_iter()
        .find(|(id, _)| id != &old)
        .unwrap()
        .0;
    run(
        &mut cloud.cmd(&world, &["delete", &orphan, "--user", "bob", "--yes"]),
        0,
    );
    let (hand_id, _) = create_saved(&world, cloud, "by-hand.json");
    // Even with --yes, a key that did not appear during the lost create is left alone.
    let (_, stderr) = run(
        &mut world.cmd(rotate_bob(cloud, &save, &["--key", &old, "--yes"])),
        3,
    );
    assert!(stderr.contains("already has 2 keys"), "{stderr}");
    assert!(!stderr.contains("deleted"), "{stderr}");
    assert!(bob_keys(&world, cloud).iter().any(|(id, _)| id == &hand_id));
    assert!(journals(&world).is_empty(), "the journal is used up");
}

#[cfg(unix)]
#[test]
fn a_closed_stderr_does_not_stop_a_rotation_half_way() {
    let cloud = &CLOUDS[0];
    let (world, _) = bob_world(cloud);
    let save = world.home().join("new.json");
    let mut child = world
        .std_cmd(rotate_bob(cloud, &save, &[]))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Nobody reads stderr: every progress line meets a broken pipe.
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let (new_id, _) = saved(&save);
    let keys = bob_keys(&world, cloud);
    assert!(keys.contains(&(new_id, "active".to_string())), "{keys:?}");
    assert_works(&world, cloud, &save);
}
