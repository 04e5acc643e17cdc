//! End-to-end: the built binary against the sandbox's AWS emulator.

mod common;

use chrono::Utc;
use cloudkeys::model::KeyStatus;
use common::{assert_one_line_error, comparable, json_array, run, scan_all_users, World};
use serde_json::Value;

const ACCOUNT: &str = "111122223333";

fn keys_of(world: &World, user: &str) -> Vec<(String, KeyStatus)> {
    world.with_state(|s| {
        s.aws_account(ACCOUNT)
            .and_then(|a| a.user(user))
            .map(|u| {
                u.keys
                    .iter()
                    .map(|k| (k.access_key_id.clone(), k.status))
                    .collect()
            })
            .unwrap_or_default()
    })
}

fn by_user<'a>(records: &'a [Value], user: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["user"] == user).collect()
}

#[test]
fn list_all_users_gives_normalized_records() {
    let world = World::new();
    let (stdout, stderr) = run(
        &mut world.cmd(["-p", "aws-admin", "list", "--all-users", "-o", "json"]),
        0,
    );
    let records = json_array(&stdout);
    // admin 1, alice 2, bob 1, carol 0.
    assert_eq!(records.len(), 4, "{stdout}");
    let alice = by_user(&records, "alice");
    assert_eq!(alice.len(), 2);
    let old = alice
        .iter()
        .find(|r| r["age_days"] == 200)
        .expect("old key");
    assert_eq!(old["provider"], "aws");
    assert_eq!(old["profile"], "aws-admin");
    assert_eq!(old["account_id"], ACCOUNT);
    assert_eq!(old["status"], "active");
    assert_eq!(old["last_used_service"], "s3");
    assert_eq!(old["last_used_region"], "us-east-1");
    assert_eq!(old["idle_days"], 100);
    assert!(old["user_id"].as_str().unwrap().starts_with("AIDA"));
    let new = alice.iter().find(|r| r["age_days"] == 10).expect("new key");
    assert_eq!(new["last_used_at"], Value::Null);
    // A never-used key is idle since its creation.
    assert_eq!(new["idle_days"], 10);
    let bob = by_user(&records, "bob");
    assert_eq!(bob[0]["status"], "inactive");
    assert_eq!(bob[0]["age_days"], 400);
    let secret = world.profile("aws-admin").secret_access_key;
    assert!(!stdout.contains(&secret) && !stderr.contains(&secret));
}

#[test]
fn list_defaults_to_the_caller_and_takes_a_user() {
    let world = World::new();
    let admin = world.profile("aws-admin");
    let (stdout, _) = run(&mut world.cmd(["-p", "aws-admin", "list", "-o", "json"]), 0);
    let records = json_array(&stdout);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["access_key_id"], admin.access_key_id.as_str());
    assert_eq!(records[0]["user"], "admin");
    // The key just signed this request: last use is now.
    assert_eq!(records[0]["idle_days"], 0);
    assert_eq!(records[0]["last_used_service"], "iam");

    let (stdout, _) = run(
        &mut world.cmd(["-p", "aws-admin", "list", "--user", "bob", "-o", "json"]),
        0,
    );
    let records = json_array(&stdout);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["user"], "bob");
}

#[test]
fn list_pages_through_many_users() {
    let world = World::new();
    world.with_state(|s| {
        let account = s.aws_account_mut(ACCOUNT).unwrap();
        for i in 0..150 {
            account.add_user(&format!("svc-{i:03}"), false, Utc::now());
        }
        for i in [0, 99, 100, 149] {
            s.add_aws_key(ACCOUNT, Some(&format!("svc-{i:03}")), Utc::now());
        }
    });
    let (stdout, _) = run(
        &mut world.cmd([
            "-p",
            "aws-admin",
            "list",
            "--all-users",
            "--no-last-used",
            "-o",
            "ndjson",
        ]),
        0,
    );
    let users: Vec<String> = stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["user"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(users.len(), 8, "{stdout}");
    for name in ["svc-000", "svc-099", "svc-100", "svc-149"] {
        assert!(users.iter().any(|u| u == name), "{name} missing: {users:?}");
    }
}

#[test]
fn list_as_csv_and_table() {
    let world = World::new();
    let (csv, _) = run(
        &mut world.cmd(["-p", "aws-admin", "list", "-a", "-o", "csv"]),
        0,
    );
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("provider,profile,account_id,user"),
        "{header}"
    );
    assert_eq!(lines.count(), 4);

    let (table, _) = run(&mut world.cmd(["-p", "aws-admin", "list", "-a"]), 0);
    assert!(
        table.contains("alice") && table.contains("inactive"),
        "{table}"
    );
    assert!(!table.contains('\u{1b}'), "no colour without a TTY");
}

#[test]
fn last_used_of_one_key() {
    let world = World::new();
    let old = world.with_state(|s| {
        let alice = s.aws_account(ACCOUNT).unwrap().user("alice").unwrap();
        alice
            .keys
            .iter()
            .find(|k| k.last_used.is_some())
            .unwrap()
            .access_key_id
            .clone()
    });
    let (stdout, _) = run(
        &mut world.cmd([
            "-p",
            "aws-admin",
            "last-used",
            &old,
            "-o",
            "json",
            "--user",
            "alice",
        ]),
        0,
    );
    let records = json_array(&stdout);
    assert_eq!(records[0]["access_key_id"], old.as_str());
    assert_eq!(records[0]["last_used_service"], "s3");
    assert_eq!(records[0]["idle_days"], 100);
}

#[test]
fn create_prints_the_secret_once_and_the_limit_holds() {
    let world = World::new();
    let (stdout, stderr) = run(
        &mut world.cmd(["-p", "aws-admin", "create", "--user", "carol", "-o", "json"]),
        0,
    );
    let created = &json_array(&stdout)[0];
    let id = created["access_key_id"].as_str().unwrap().to_string();
    let secret = created["secret_access_key"].as_str().unwrap().to_string();
    assert!(id.starts_with("AKIA"));
    assert!(!stderr.contains(&secret));
    let stored = world.with_state(|s| s.find_key(&id).map(|(_, k)| k.secret.clone()));
    assert_eq!(stored.as_deref(), Some(secret.as_str()));

    // alice already has two keys: the third is refused with the cloud's code.
    let (_, stderr) = run(
        &mut world.cmd(["-p", "aws-admin", "create", "--user", "alice"]),
        3,
    );
    assert_one_line_error(&stderr, "already has 2 keys");
    assert_eq!(keys_of(&world, "alice").len(), 2);
}

#[test]
fn create_save_writes_a_private_file_and_never_overwrites() {
    let world = World::new();
    let path = world.home().join("carol-key.json");
    let (stdout, _) = run(
        &mut world.cmd([
            "-p",
            "aws-admin",
            "create",
            "--user",
            "carol",
            "--save",
            path.to_str().unwrap(),
        ]),
        0,
    );
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let secret = saved["secret_access_key"].as_str().unwrap();
    assert!(!stdout.contains(secret), "secret printed although saved");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let before = std::fs::read(&path).unwrap();
    let (_, stderr) = run(
        &mut world.cmd([
            "-p",
            "aws-admin",
            "create",
            "--user",
            "carol",
            "--save",
            path.to_str().unwrap(),
        ]),
        2,
    );
    assert_one_line_error(&stderr, "refusing to overwrite");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    // Refused before anything was created.
    assert_eq!(keys_of(&world, "carol").len(), 1);
}

#[test]
fn disable_enable_and_delete() {
    let world = World::new();
    let (id, _) = keys_of(&world, "alice")[0].clone();
    run(
        &mut world.cmd(["-p", "aws-admin", "disable", &id, "--user", "alice"]),
        0,
    );
    assert_eq!(keys_of(&world, "alice")[0].1, KeyStatus::Inactive);
    run(
        &mut world.cmd(["-p", "aws-admin", "enable", &id, "--user", "alice"]),
        0,
    );
    assert_eq!(keys_of(&world, "alice")[0].1, KeyStatus::Active);

    // No terminal and no --yes: refused before any call.
    let (_, stderr) = run(
        &mut world.cmd(["-p", "aws-admin", "delete", &id, "--user", "alice"]),
        2,
    );
    assert_one_line_error(&stderr, "--yes");
    assert_eq!(keys_of(&world, "alice").len(), 2);
    run(
        &mut world.cmd(["-p", "aws-admin", "delete", &id, "--user", "alice", "--yes"]),
        0,
    );
    let left = keys_of(&world, "alice");
    assert_eq!(left.len(), 1);
    assert_ne!(left[0].0, id);
}

#[test]
fn whoami_names_account_user_and_key() {
    let world = World::new();
    let admin = world.profile("aws-admin");
    let (stdout, _) = run(
        &mut world.cmd(["-p", "aws-admin", "whoami", "-o", "json"]),
        0,
    );
    let records = json_array(&stdout);
    assert_eq!(records[0]["account_id"], ACCOUNT);
    assert!(
        records[0]["arn"]
            .as_str()
            .unwrap_or_default()
            .ends_with(":user/admin"),
        "{stdout}"
    );
    assert!(stdout.contains(&admin.access_key_id));
}

#[test]
fn profiles_never_show_secrets() {
    let world = World::new();
    let admin = world.profile("aws-admin");
    let (stdout, stderr) = run(&mut world.cmd(["profiles", "-o", "json"]), 0);
    assert!(stdout.contains("aws-admin"));
    assert!(!stdout.contains(&admin.secret_access_key));
    assert!(!stderr.contains(&admin.secret_access_key));
}

#[test]
fn several_profiles_at_once() {
    let world = World::with_seed(cloudkeys::sandbox::Seed::Demo);
    let (stdout, _) = run(
        &mut world.cmd([
            "--all-profiles",
            "list",
            "-a",
            "-o",
            "json",
            "--provider",
            "aws",
        ]),
        0,
    );
    let records = json_array(&stdout);
    let profiles: std::collections::BTreeSet<&str> = records
        .iter()
        .map(|r| r["profile"].as_str().unwrap())
        .collect();
    assert!(
        profiles.contains("aws-admin") && profiles.contains("aws-ops"),
        "{profiles:?}"
    );
}

#[test]
fn wrong_secret_is_the_clouds_refusal() {
    let world = World::new();
    let admin = world.profile("aws-admin");
    let (stdout, stderr) = run(
        world
            .bare_cmd()
            .args([
                "--provider",
                "aws",
                "--endpoint",
                &world.endpoint(),
                "whoami",
            ])
            .env("AWS_ACCESS_KEY_ID", &admin.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", "not-the-secret-at-all")
            .env("AWS_REGION", "us-east-1"),
        3,
    );
    assert_one_line_error(&stderr, "SignatureDoesNotMatch");
    assert!(!stderr.contains("not-the-secret-at-all"));
    assert!(stdout.is_empty(), "{stdout}");
}

#[test]
fn unknown_user_is_not_found() {
    let world = World::new();
    let (stdout, stderr) = run(
        &mut world.cmd(["-p", "aws-admin", "list", "--user", "nobody"]),
        3,
    );
    assert_one_line_error(&stderr, "NoSuchEntity");
    assert!(
        stdout.is_empty(),
        "nothing to show when every profile failed: {stdout}"
    );
}

#[test]
fn bad_input_gets_one_line_and_exit_2() {
    let world = World::new();
    let (_, stderr) = run(&mut world.cmd(["-p", "nope", "list"]), 2);
    assert_one_line_error(&stderr, "unknown profile 'nope'");

    let (_, stderr) = run(
        &mut world.cmd(["-p", "aws-admin", "disable", "AKIA!!bad"]),
        2,
    );
    // Not echoed: a pasted secret must not end up in a terminal log.
    assert_one_line_error(&stderr, "invalid access key id");
    assert!(!stderr.contains("AKIA!!bad"));

    let bad = world.home().join("bad.toml");
    std::fs::write(&bad, "[profiles.x]\nprovider = \"aws\"\naccess_key_id = \n").unwrap();
    common::private(&bad);
    let (_, stderr) = run(
        world
            .bare_cmd()
            .args(["--config", bad.to_str().unwrap(), "list"]),
        2,
    );
    assert_one_line_error(&stderr, "bad.toml");
    assert!(stderr.contains("line 3"), "{stderr}");

    // No config, no env, no CLI files.
    let (_, stderr) = run(world.bare_cmd().args(["list"]), 2);
    assert_one_line_error(&stderr, "no credentials");
}

#[test]
fn unreachable_endpoint_is_a_network_error() {
    let world = World::new();
    // A port nothing listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (_, stderr) = run(
        &mut world.cmd([
            "-p",
            "aws-admin",
            "--endpoint",
            &format!("http://127.0.0.1:{port}"),
            "--retries",
            "1",
            "whoami",
        ]),
        4,
    );
    assert_one_line_error(&stderr, "127.0.0.1");
}

#[test]
fn plain_http_off_loopback_is_refused() {
    let world = World::new();
    let (_, stderr) = run(
        &mut world.cmd([
            "-p",
            "aws-admin",
            "--endpoint",
            "http://example.com",
            "whoami",
        ]),
        2,
    );
    assert_one_line_error(&stderr, "http");
}

#[test]
fn version_help_and_completions() {
    let world = World::new();
    let (stdout, _) = run(world.bare_cmd().arg("--version"), 0);
    assert!(stdout.starts_with("cloudkeys "));
    let (stdout, _) = run(world.bare_cmd().arg("--help"), 0);
    assert!(stdout.contains("Exit codes"));
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let (stdout, _) = run(world.bare_cmd().args(["completions", shell]), 0);
        assert!(stdout.contains("cloudkeys"), "{shell}");
    }
    run(world.bare_cmd().args(["completions", "tcsh"]), 2);
}

#[test]
fn world_readable_config_is_warned_about() {
    let world = World::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let loose = std::fs::Permissions::from_mode(0o644);
        std::fs::set_permissions(world.config_path(), loose).unwrap();
        let (_, stderr) = run(&mut world.cmd(["-p", "aws-admin", "whoami"]), 0);
        assert!(stderr.contains("readable by others"), "{stderr}");
        assert!(stderr.contains("chmod 600"), "{stderr}");
    }
}

#[test]
fn one_failing_profile_of_several_is_a_partial_failure() {
    let world = World::new();
    let admin = world.profile("aws-admin");
    let mut config = std::fs::read_to_string(world.config_path()).unwrap();
    config.push_str(&format!(
        "\n[profiles.broken]\nprovider = \"aws\"\naccess_key_id = \"{}\"\nsecret_access_key = \"wrong\"\nregion = \"us-east-1\"\nendpoint = \"{}\"\n",
        admin.access_key_id,
        world.endpoint()
    ));
    std::fs::write(world.config_path(), config).unwrap();
    let (stdout, stderr) = run(
        &mut world.cmd(["-p", "aws-admin,broken", "list", "-o", "json"]),
        5,
    );
    let records = json_array(&stdout);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["profile"], "aws-admin");
    // The failure is reported as a JSON object on stderr, naming the profile and the code.
    let error: Value = serde_json::from_str(stderr.lines().last().unwrap()).unwrap();
    assert_eq!(error["profile"], "broken");
    assert_eq!(error["code"], "SignatureDoesNotMatch");
    assert_eq!(error["exit_code"], 3);
}

#[test]
fn all_users_scan_reads_the_credential_report() {
    let world = World::new();
    world.with_state(|s| {
        let account = s.aws_account_mut(ACCOUNT).unwrap();
        for i in 0..26 {
            account.add_user(&format!("svc-{i:03}"), false, Utc::now());
        }
        for i in 0..8 {
            let (id, _) = s.add_aws_key(ACCOUNT, Some(&format!("svc-{i:03}")), Utc::now());
            if i % 2 == 0 {
                let key = s.find_key_mut(&id).unwrap();
                key.last_used = Some(Utc::now());
                key.last_used_in = Some(("ec2".into(), "eu-west-1".into()));
            }
        }
    });
    let admin = world.profile("aws-admin").access_key_id;
    let (exact, exact_calls, _) = scan_all_users(&world, "aws-admin", &["--exact"]);
    let (fast, calls, _) = scan_all_users(&world, "aws-admin", &[]);
    // 30 users in 3 pages; 12 keys among 11 users (admin, alice x2, bob, 8 of svc).
    assert_eq!(exact.len(), 12);
    assert_eq!(exact_calls, 1 + 3 + 30 + 12, "whoami, pages, users, keys");
    // whoami, pages, GenerateCredentialReport x2 (STARTED, COMPLETE), GetCredentialReport,
    // the 11 users with keys, and no per-key call (each key matches one report slot).
    assert_eq!(calls, 1 + 3 + 3 + 11, "{calls} calls");
    assert_eq!(comparable(&fast, &admin), comparable(&exact, &admin));
    let as_of = fast[0]["last_used_as_of"]
        .as_str()
        .expect("the report's time");
    assert!(fast.iter().all(|r| r["last_used_as_of"] == as_of));
    assert!(exact.iter().all(|r| r.get("last_used_as_of").is_none()));
    assert!(fast
        .iter()
        .any(|r| r["last_used_service"] == "ec2" && r["last_used_region"] == "eu-west-1"));

    // The report is a snapshot: a key made since has no slot and is asked about itself.
    let (late, _) = world.with_state(|s| s.add_aws_key(ACCOUNT, Some("svc-000"), Utc::now()));
    let (after, _, _) = scan_all_users(&world, "aws-admin", &[]);
    let late = after.iter().find(|r| r["access_key_id"] == late).unwrap();
    assert!(late.get("last_used_as_of").is_none(), "{late}");
}

#[test]
fn a_refused_credential_report_falls_back_with_a_note() {
    let world = World::new();
    world.with_state(|s| s.settings.denied_actions = vec!["GenerateCredentialReport".into()]);
    let admin = world.profile("aws-admin").access_key_id;
    let (exact, _, _) = scan_all_users(&world, "aws-admin", &["--exact"]);
    let (records, _, stderr) = scan_all_users(&world, "aws-admin", &[]);
    assert_eq!(comparable(&records, &admin), comparable(&exact, &admin));
    assert!(records.iter().all(|r| r.get("last_used_as_of").is_none()));
    let notes: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("no credential report"))
        .collect();
    assert_eq!(notes.len(), 1, "{stderr}");
    assert!(notes[0].contains("AccessDenied"), "{}", notes[0]);
    // Without -v the note is the only line on stderr.
    let (_, quiet_stderr) = run(
        &mut world.cmd(["-p", "aws-admin", "list", "--all-users", "-o", "json"]),
        0,
    );
    assert_eq!(quiet_stderr.lines().count(), 1, "{quiet_stderr}");
}

#[test]
fn an_hour_of_clock_skew_either_way_is_corrected() {
    for hours in [1, -1] {
        let world = World::new();
        world.with_state(|s| s.settings.clock_skew = chrono::Duration::hours(hours));
        // IAM answers a stale or future X-Amz-Date with 403 SignatureDoesNotMatch
        // ("Signature expired: …" / "Signature not yet current: …"): that is clock skew,
        // corrected from the Date header, not a wrong secret.
        let (stdout, stderr) = run(
            &mut world.cmd(["-p", "aws-admin", "-v", "list", "--all-users", "-o", "json"]),
            0,
        );
        assert_eq!(json_array(&stdout).len(), 4, "skew {hours}h: {stdout}");
        assert!(
            stderr.contains("clock skew corrected"),
            "skew {hours}h: {stderr}"
        );
    }
}

/// Gives the test account's root user two keys and a profile `aws-root` signing with the first;
/// returns the second key's id.
fn add_root_profile(world: &World) -> String {
    let ((id, secret), (other, _)) = world.with_state(|s| {
        let now = Utc::now();
        (
            s.add_aws_key(ACCOUNT, None, now - chrono::Duration::days(30)),
            s.add_aws_key(ACCOUNT, None, now - chrono::Duration::days(5)),
        )
    });
    let mut config = std::fs::read_to_string(world.config_path()).unwrap();
    config.push_str(&format!(
        "\n[profiles.aws-root]\nprovider = \"aws\"\naccess_key_id = \"{id}\"\nsecret_access_key = \"{secret}\"\nregion = \"us-east-1\"\nendpoint = \"{}\"\n",
        world.endpoint()
    ));
    std::fs::write(world.config_path(), config).unwrap();
    other
}

fn root_keys(world: &World) -> Vec<(String, KeyStatus)> {
    world.with_state(|s| {
        s.aws_account(ACCOUNT)
            .unwrap()
            .root_keys
            .iter()
            .map(|k| (k.access_key_id.clone(), k.status))
            .collect()
    })
}

#[test]
fn the_root_users_keys_can_be_disabled_enabled_and_deleted() {
    let world = World::new();
    let other = add_root_profile(&world);
    let status = |world: &World| {
        root_keys(world)
            .into_iter()
            .find(|(id, _)| *id == other)
            .map(|(_, status)| status)
    };
    // The records label the root user `<root>`; that label must not reach IAM as a UserName
    // (IAM refuses it: 400 ValidationError), the root user's key calls carry none.
    let (stdout, _) = run(&mut world.cmd(["-p", "aws-root", "list", "-o", "json"]), 0);
    let records = json_array(&stdout);
    assert_eq!(records.len(), 2, "{stdout}");
    assert!(records.iter().all(|r| r["user"] == "<root>"), "{stdout}");

    run(&mut world.cmd(["-p", "aws-root", "disable", &other]), 0);
    assert_eq!(status(&world), Some(KeyStatus::Inactive));
    // The label typed back as --user names the root user too.
    run(
        &mut world.cmd(["-p", "aws-root", "enable", &other, "--user", "<root>"]),
        0,
    );
    assert_eq!(status(&world), Some(KeyStatus::Active));
    run(
        &mut world.cmd(["-p", "aws-root", "delete", &other, "--yes"]),
        0,
    );
    assert_eq!(status(&world), None);
    assert_eq!(root_keys(&world).len(), 1);
}

#[test]
fn only_the_root_user_can_name_the_root_user() {
    let world = World::new();
    let other = add_root_profile(&world);
    // An IAM user cannot reach the root user's keys: a one-line usage error, nothing sent
    // that would act on the caller's own keys instead.
    let (_, stderr) = run(
        &mut world.cmd(["-p", "aws-admin", "disable", &other, "--user", "<root>"]),
        2,
    );
    assert_one_line_error(&stderr, "root");
    assert!(root_keys(&world)
        .iter()
        .all(|(_, status)| *status == KeyStatus::Active));
}

#[test]
fn a_role_session_without_user_is_told_it_has_no_keys_of_its_own() {
    let world = World::new();
    let (id, secret, token) =
        world.with_state(|s| s.add_aws_role_session(ACCOUNT, "ops-admin", "ci-run"));
    assert!(id.starts_with("ASIA"));
    let mut config = std::fs::read_to_string(world.config_path()).unwrap();
    config.push_str(&format!(
        "\n[profiles.aws-role]\nprovider = \"aws\"\naccess_key_id = \"{id}\"\nsecret_access_key = \"{secret}\"\nsession_token = \"{token}\"\nregion = \"us-east-1\"\nendpoint = \"{}\"\n",
        world.endpoint()
    ));
    std::fs::write(world.config_path(), config).unwrap();

    let (stdout, _) = run(
        &mut world.cmd(["-p", "aws-role", "whoami", "-o", "json"]),
        0,
    );
    let me = &json_array(&stdout)[0];
    assert_eq!(me["type"], "role");
    assert_eq!(
        me["arn"],
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/ops-admin/ci-run").as_str()
    );
    // IAM answers a key call without UserName from a role session with 400 ValidationError
    // "Must specify userName when calling with non-User credentials": a usage error (exit 2),
    // said in one line, for every command that would act on the caller's own keys. (rotate
    // refuses any profile with a session token before asking the cloud.)
    for (args, needle) in [
        (vec!["list"], "role session has no access keys of its own"),
        (vec!["create"], "role session has no access keys of its own"),
        (
            vec!["rotate", "--save", "new-key.txt"],
            "temporary credentials (a session token): there is no long-term key",
        ),
    ] {
        let mut all = vec!["-p", "aws-role"];
        all.extend(args.iter().copied());
        let (stdout, stderr) = run(world.cmd(all).current_dir(world.home()), 2);
        assert_one_line_error(&stderr, needle);
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        assert!(!stderr.contains(&secret) && !stderr.contains(&token));
        if args[0] != "rotate" {
            assert!(stderr.contains("--user"), "{args:?}: {stderr}");
        }
    }
    assert!(!world.home().join("new-key.txt").exists());
    assert_eq!(keys_of(&world, "admin").len(), 1, "nothing was created");
    // With --user the session manages that user's keys.
    let (stdout, _) = run(
        &mut world.cmd(["-p", "aws-role", "list", "--user", "alice", "-o", "json"]),
        0,
    );
    assert_eq!(json_array(&stdout).len(), 2);
}

/// Under a cloud that throttles each key beyond 40 calls a second per action, a scan of 300
/// users and keys starts below that, rises towards it and backs off on throttling: every
/// record arrives and under 5 % of the calls are throttled.
#[test]
fn the_adaptive_rate_keeps_throttling_rare() {
    let world = World::new();
    world.with_state(|s| {
        s.settings.rate_limit = Some(40.0);
        let account = s.aws_account_mut(ACCOUNT).unwrap();
        for i in 0..300 {
            account.add_user(&format!("svc-{i:03}"), false, Utc::now());
        }
        for i in 0..300 {
            s.add_aws_key(ACCOUNT, Some(&format!("svc-{i:03}")), Utc::now());
        }
    });
    let (stdout, _) = run(
        &mut world.cmd([
            "-p",
            "aws-admin",
            "list",
            "--all-users",
            "--exact",
            "-o",
            "json",
        ]),
        0,
    );
    assert_eq!(json_array(&stdout).len(), 304);
    let stats = world.with_state(|s| s.stats.clone());
    assert!(stats.requests > 600, "{stats:?}");
    assert!(stats.throttled > 0, "the rate rose to the limit: {stats:?}");
    assert!(
        (stats.throttled as f64) < 0.05 * stats.requests as f64,
        "{stats:?}"
    );
}
