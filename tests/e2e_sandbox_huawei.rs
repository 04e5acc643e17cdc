//! End-to-end: the built binary against the sandbox's Huawei Cloud emulator (IAM v5, the IAM v3
//! credential lookup and CCE CheckAKSK), profile "huawei-admin" of the test seed.

mod common;

use chrono::{DateTime, Utc};
use cloudkeys::model::{format_time, KeyStatus, ProviderKind};
use cloudkeys::sandbox::huawei::{HuaweiUser, DEMO_DOMAIN, TEST_DOMAIN, TEST_PROJECT};
use cloudkeys::sandbox::{Effect, Fault};
use common::{assert_one_line_error, json_array, run, World};
use serde_json::Value;

const ADMIN: &str = "huawei-admin";

/// The test world, its config readable by its owner only (as a file holding secrets should be,
/// so that no permission warning joins the one-line errors on stderr).
fn world() -> World {
    let world = World::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(world.config_path(), std::fs::Permissions::from_mode(0o600))
            .expect("config mode set");
    }
    world
}

/// A user of the test account as the sandbox holds it now.
fn user(world: &World, name: &str) -> HuaweiUser {
    world.with_state(|state| {
        state
            .huawei
            .account(TEST_DOMAIN)
            .and_then(|a| a.user(name))
            .cloned()
            .unwrap_or_else(|| panic!("no user {name}"))
    })
}

fn key_ids(user: &HuaweiUser) -> Vec<String> {
    user.keys.iter().map(|k| k.access_key_id.clone()).collect()
}

fn time(t: &DateTime<Utc>) -> Value {
    Value::String(format_time(t))
}

/// Every secret the sandbox knows (and the profile secrets), none of which may reach stderr.
fn assert_no_secret(world: &World, stderr: &str) {
    let secrets: Vec<String> = world.with_state(|state| {
        state
            .huawei
            .accounts
            .iter()
            .flat_map(|a| a.users.iter())
            .flat_map(|u| u.keys.iter())
            .map(|k| k.secret.clone())
            .collect()
    });
    for secret in secrets {
        assert!(
            !stderr.contains(&secret),
            "a secret reached stderr:\n{stderr}"
        );
    }
}

/// Appends a profile signing with `user`'s `index`-th key to the test config.
fn add_profile(world: &World, name: &str, user_name: &str, index: usize) {
    let key = user(world, user_name).keys[index].clone();
    let mut config = std::fs::read_to_string(world.config_path()).unwrap();
    config.push_str(&format!(
        "\n[profiles.{name}]\nprovider = \"huawei\"\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\nregion = \"cn-north-4\"\nendpoint = \"{}\"\n",
        key.access_key_id,
        key.secret,
        world.endpoint()
    ));
    std::fs::write(world.config_path(), config).unwrap();
}

#[test]
fn list_the_callers_keys_as_json() {
    let world = world();
    let admin = user(&world, "admin");
    let (stdout, stderr) = run(&mut world.cmd(["-p", ADMIN, "list", "-o", "json"]), 0);
    let records = json_array(&stdout);
    assert_eq!(records.len(), 1, "{stdout}");
    let record = &records[0];
    assert_eq!(record["provider"], "huawei");
    assert_eq!(record["profile"], ADMIN);
    assert_eq!(record["account_id"], TEST_DOMAIN);
    assert_eq!(record["user"], "admin");
    assert_eq!(record["user_id"], admin.user_id.as_str());
    assert_eq!(
        record["access_key_id"],
        world.profile(ADMIN).access_key_id.as_str()
    );
    assert_eq!(record["status"], "active");
    assert_eq!(record["created_at"], time(&admin.keys[0].created_at));
    assert_eq!(record["age_days"], 90);
    // The key signed these very calls, so it was just used.
    assert_eq!(record["idle_days"], 0);
    let used = user(&world, "admin").keys[0]
        .last_used
        .expect("use recorded");
    assert_eq!(record["last_used_at"], time(&used));
    assert!((Utc::now() - used).num_seconds() < 60);
    assert_no_secret(&world, &stderr);
}

#[test]
fn list_one_user_by_name_or_by_id() {
    let world = world();
    let alice = user(&world, "alice");
    for who in ["alice", alice.user_id.as_str()] {
        let (stdout, _) = run(
            &mut world.cmd(["-p", ADMIN, "list", "--user", who, "-o", "json"]),
            0,
        );
        let records = json_array(&stdout);
        assert_eq!(records.len(), 2, "{who}: {stdout}");
        let ids: Vec<&str> = records
            .iter()
            .map(|r| r["access_key_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, key_ids(&alice), "{who}");
        assert!(records.iter().all(|r| r["user"] == "alice"));
        assert!(records
            .iter()
            .all(|r| r["user_id"] == alice.user_id.as_str()));
        let (old, new) = (&records[0], &records[1]);
        assert_eq!(old["age_days"], 200);
        assert_eq!(old["last_used_at"], time(&alice.keys[0].last_used.unwrap()));
        assert_eq!(old["idle_days"], 100);
        assert_eq!(new["age_days"], 10);
        assert_eq!(new["last_used_at"], Value::Null);
        assert_eq!(new["idle_days"], 10);
    }
}

#[test]
fn list_all_users_in_every_format() {
    let world = world();
    // One item a page: the listing only finds everyone by following the markers.
    assert_eq!(world.with_state(|s| s.huawei.page_cap), 1);
    let (stdout, _) = run(
        &mut world.cmd(["-p", ADMIN, "list", "--all-users", "-o", "json"]),
        0,
    );
    let records = json_array(&stdout);
    let rows: Vec<(&str, &str, &str)> = records
        .iter()
        .map(|r| {
            (
                r["user"].as_str().unwrap(),
                r["access_key_id"].as_str().unwrap(),
                r["status"].as_str().unwrap(),
            )
        })
        .collect();
    let admin = key_ids(&user(&world, "admin"));
    let alice = key_ids(&user(&world, "alice"));
    let bob = key_ids(&user(&world, "bob"));
    assert_eq!(
        rows,
        [
            ("admin", admin[0].as_str(), "active"),
            ("alice", alice[0].as_str(), "active"),
            ("alice", alice[1].as_str(), "active"),
            ("bob", bob[0].as_str(), "inactive"),
        ]
    );
    let bob_record = &records[3];
    assert_eq!(bob_record["age_days"], 400);
    assert_eq!(bob_record["last_used_at"], Value::Null);

    let (csv, _) = run(
        &mut world.cmd(["-p", ADMIN, "list", "--all-users", "-o", "csv"]),
        0,
    );
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("provider,profile,account_id,user,user_id,access_key_id,status"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 4, "{csv}");
    assert!(rows[3].starts_with(&format!(
        "huawei,{ADMIN},{TEST_DOMAIN},bob,{},{},inactive,",
        user(&world, "bob").user_id,
        bob[0]
    )));

    let (ndjson, _) = run(
        &mut world.cmd(["-p", ADMIN, "list", "--all-users", "-o", "ndjson"]),
        0,
    );
    let objects: Vec<Value> = ndjson
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.len(), 4);
    assert_eq!(objects[1]["access_key_id"], alice[0].as_str());
    assert_eq!(objects[1]["idle_days"], 100);
}

#[test]
fn last_used_of_one_key() {
    let world = world();
    let alice = user(&world, "alice");
    let (stdout, _) = run(
        &mut world.cmd([
            "-p",
            ADMIN,
            "last-used",
            &alice.keys[0].access_key_id,
            "--user",
            "alice",
            "-o",
            "json",
        ]),
        0,
    );
    let record = &json_array(&stdout)[0];
    assert_eq!(
        record["last_used_at"],
        time(&alice.keys[0].last_used.unwrap())
    );
    assert_eq!(record["idle_days"], 100);
    // Never used is an answer, not an error.
    let (stdout, _) = run(
        &mut world.cmd([
            "-p",
            ADMIN,
            "last-used",
            &alice.keys[1].access_key_id,
            "--user",
            "alice",
            "-o",
            "json",
        ]),
        0,
    );
    assert_eq!(json_array(&stdout)[0]["last_used_at"], Value::Null);
    let (table, _) = run(
        &mut world.cmd([
            "-p",
            ADMIN,
            "last-used",
            &alice.keys[1].access_key_id,
            "--user",
            "alice",
        ]),
        0,
    );
    assert!(table.contains("never"), "{table}");
}

#[test]
fn create_shows_the_secret_once_or_saves_it_0600() {
    let world = world();
    let (stdout, stderr) = run(
        &mut world.cmd(["-p", ADMIN, "create", "--user", "carol", "-o", "json"]),
        0,
    );
    let record = &json_array(&stdout)[0];
    let carol = user(&world, "carol");
    assert_eq!(carol.keys.len(), 1);
    assert_eq!(
        record["access_key_id"],
        carol.keys[0].access_key_id.as_str()
    );
    assert_eq!(record["secret_access_key"], carol.keys[0].secret.as_str());
    assert_eq!(record["user"], "carol");
    assert_eq!(record["user_id"], carol.user_id.as_str());
    assert_eq!(record["status"], "active");
    assert_eq!(record["age_days"], 0);
    assert_no_secret(&world, &stderr);

    let file = world.home().join("carol-key.json");
    let (stdout, stderr) = run(
        &mut world.cmd([
            "-p",
            ADMIN,
            "create",
            "--user",
            "carol",
            "--save",
            file.to_str().unwrap(),
        ]),
        0,
    );
    let carol = user(&world, "carol");
    assert_eq!(carol.keys.len(), 2);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved["access_key_id"], carol.keys[1].access_key_id.as_str());
    assert_eq!(saved["secret_access_key"], carol.keys[1].secret.as_str());
    assert_eq!(saved["provider"], "huawei");
    assert!(!stdout.contains(&carol.keys[1].secret));
    assert_no_secret(&world, &stderr);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The file is never overwritten, and nothing is created when it can't be saved.
    world.with_state(|s| {
        let keys = &mut s.huawei.accounts[0]
            .users
            .iter_mut()
            .find(|u| u.name == "carol")
            .unwrap()
            .keys;
        keys.pop();
    });
    let (_, stderr) = run(
        &mut world.cmd([
            "-p",
            ADMIN,
            "create",
            "--user",
            "carol",
            "--save",
            file.to_str().unwrap(),
        ]),
        2,
    );
    assert!(stderr.contains("already exists"), "{stderr}");
    assert_eq!(user(&world, "carol").keys.len(), 1);
    let saved_again: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved_again, saved);
}

#[test]
fn a_third_key_is_refused() {
    let world = world();
    let before = key_ids(&user(&world, "alice"));
    let (stdout, stderr) = run(
        &mut world.cmd(["-p", ADMIN, "create", "--user", "alice"]),
        3,
    );
    assert!(stdout.is_empty(), "{stdout}");
    // Refused before any create call, naming both keys.
    assert_one_line_error(&stderr, "already has 2 keys");
    for id in &before {
        assert!(stderr.contains(id.as_str()), "{stderr}");
    }
    assert_eq!(key_ids(&user(&world, "alice")), before);
}

#[test]
fn disable_and_enable_change_the_key_in_the_cloud() {
    let world = world();
    let key = user(&world, "alice").keys[1].access_key_id.clone();
    let (stdout, stderr) = run(
        &mut world.cmd([
            "-p", ADMIN, "disable", &key, "--user", "alice", "-o", "json",
        ]),
        0,
    );
    assert_eq!(json_array(&stdout)[0]["status"], "inactive");
    assert!(stderr.contains("now inactive"), "{stderr}");
    assert_eq!(user(&world, "alice").keys[1].status, KeyStatus::Inactive);
    // An inactive key no longer signs.
    add_profile(&world, "huawei-alice", "alice", 1);
    let (_, stderr) = run(&mut world.cmd(["-p", "huawei-alice", "whoami"]), 3);
    assert_one_line_error(&stderr, "APIGW.0301");
    let (stdout, _) = run(
        &mut world.cmd(["-p", ADMIN, "enable", &key, "--user", "alice", "-o", "json"]),
        0,
    );
    assert_eq!(json_array(&stdout)[0]["status"], "active");
    assert_eq!(user(&world, "alice").keys[1].status, KeyStatus::Active);
    run(&mut world.cmd(["-p", "huawei-alice", "whoami"]), 0);
}

#[test]
fn delete_needs_yes_without_a_terminal() {
    let world = world();
    let key = user(&world, "bob").keys[0].access_key_id.clone();
    let (_, stderr) = run(
        &mut world.cmd(["-p", ADMIN, "delete", &key, "--user", "bob"]),
        2,
    );
    assert!(stderr.contains("--yes"), "{stderr}");
    assert_eq!(user(&world, "bob").keys.len(), 1);
    let (stdout, _) = run(
        &mut world.cmd([
            "-p", ADMIN, "delete", &key, "--user", "bob", "--yes", "-o", "json",
        ]),
        0,
    );
    let answer: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(answer["deleted"], true);
    assert_eq!(answer["access_key_id"], key.as_str());
    assert!(user(&world, "bob").keys.is_empty());
}

#[test]
fn whoami_names_account_user_and_key() {
    let world = world();
    let (stdout, _) = run(&mut world.cmd(["-p", ADMIN, "whoami", "-o", "json"]), 0);
    let identity = &json_array(&stdout)[0];
    assert_eq!(identity["provider"], "huawei");
    assert_eq!(identity["account_id"], TEST_DOMAIN);
    assert_eq!(identity["user"], "admin");
    assert_eq!(identity["user_id"], user(&world, "admin").user_id.as_str());
    assert_eq!(identity["type"], "user");
    assert_eq!(identity["arn"], format!("iam::{TEST_DOMAIN}:user:admin"));
    assert_eq!(
        identity["access_key_id"],
        world.profile(ADMIN).access_key_id.as_str()
    );
}

#[test]
fn a_wrong_secret_is_refused_in_one_line() {
    let world = world();
    let real = world.profile(ADMIN).secret_access_key;
    let config = std::fs::read_to_string(world.config_path())
        .unwrap()
        .replace(&real, "WrongSecretWrongSecretWrongSecretWrong00");
    std::fs::write(world.config_path(), config).unwrap();
    let (stdout, stderr) = run(&mut world.cmd(["-p", ADMIN, "list"]), 3);
    assert!(
        stdout.trim().is_empty() || stdout.contains("no access keys"),
        "{stdout}"
    );
    assert_one_line_error(&stderr, "APIGW.0301");
    assert!(stderr.contains("huawei (huawei-admin)"), "{stderr}");
    assert!(stderr.contains("verify aksk signature fail"), "{stderr}");
    assert!(!stderr.contains(&real) && !stderr.contains("WrongSecret"));
    // With -o json the error is a JSON object on stderr.
    let (_, stderr) = run(&mut world.cmd(["-p", ADMIN, "whoami", "-o", "json"]), 3);
    let error: Value = serde_json::from_str(stderr.lines().next().unwrap()).unwrap();
    assert_eq!(error["code"], "APIGW.0301");
    assert_eq!(error["error"], "auth");
    assert_eq!(error["request_id"].as_str().map(str::len), Some(32));
}

#[test]
fn unknown_users_and_malformed_key_ids_are_refused() {
    let world = world();
    let (_, stderr) = run(&mut world.cmd(["-p", ADMIN, "list", "--user", "nobody"]), 3);
    assert_one_line_error(&stderr, "'nobody'");
    let key = user(&world, "alice").keys[0].access_key_id.clone();
    let (_, stderr) = run(
        &mut world.cmd(["-p", ADMIN, "disable", &key, "--user", "nobody"]),
        3,
    );
    assert_one_line_error(&stderr, "nobody");
    assert_eq!(user(&world, "alice").keys[0].status, KeyStatus::Active);
    let (_, stderr) = run(&mut world.cmd(["-p", ADMIN, "disable", "not/a key!"]), 2);
    assert_one_line_error(&stderr, "invalid access key id");
    // A key of another user is not found under the wrong owner.
    let (_, stderr) = run(
        &mut world.cmd(["-p", ADMIN, "disable", &key, "--user", "bob"]),
        3,
    );
    assert_one_line_error(&stderr, "no access key");
    assert_eq!(user(&world, "alice").keys[0].status, KeyStatus::Active);
}

#[test]
fn cce_aksk_status_as_json_table_and_csv() {
    let world = world();
    let aksk = world.with_state(|s| {
        s.huawei.accounts[0].projects[0]
            .long_aksk
            .clone()
            .expect("seeded")
    });
    let (stdout, stderr) = run(
        &mut world.cmd(["-p", ADMIN, "huawei", "cce-aksk-status", "-o", "json"]),
        0,
    );
    assert!(stderr.contains("to be discarded"), "{stderr}");
    let records = json_array(&stdout);
    assert_eq!(records.len(), 1);
    let status = &records[0];
    let keys: Vec<&str> = status
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "provider",
            "profile",
            "project_id",
            "uploaded",
            "expired",
            "expires_in_seconds",
            "expires_at",
            "created_at",
            "updated_at"
        ]
    );
    assert_eq!(status["provider"], "huawei");
    assert_eq!(status["profile"], ADMIN);
    assert_eq!(status["project_id"], TEST_PROJECT);
    assert_eq!(status["uploaded"], true);
    assert_eq!(status["expired"], false);
    assert_eq!(status["expires_at"], time(&aksk.expires_at));
    assert_eq!(status["created_at"], time(&aksk.created_at));
    assert_eq!(status["updated_at"], time(&aksk.updated_at));
    let left = status["expires_in_seconds"].as_i64().unwrap();
    let expected = (aksk.expires_at - Utc::now()).num_seconds();
    assert!((expected - left).abs() < 120, "{left} vs {expected}");

    let (table, stderr) = run(
        &mut world.cmd([
            "-p",
            ADMIN,
            "huawei",
            "cce-aksk-status",
            "--project-id",
            TEST_PROJECT,
        ]),
        0,
    );
    assert!(stderr.contains("to be discarded"), "{stderr}");
    for needle in [
        "FIELD",
        "expires_at",
        TEST_PROJECT,
        format_time(&aksk.expires_at).as_str(),
        "uploaded",
        "true",
    ] {
        assert!(table.contains(needle), "{needle} missing:\n{table}");
    }

    let (csv, _) = run(
        &mut world.cmd(["-p", ADMIN, "huawei", "cce-aksk-status", "-o", "csv"]),
        0,
    );
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "provider,profile,project_id,uploaded,expired,expires_in_seconds,expires_at,created_at,updated_at"
    );
    assert!(lines[1].starts_with(&format!("huawei,{ADMIN},{TEST_PROJECT},true,false,")));

    // A project the account does not have: CCE's own error, exit 3.
    let (_, stderr) = run(
        &mut world.cmd([
            "-p",
            ADMIN,
            "huawei",
            "cce-aksk-status",
            "--project-id",
            "00000000000000000000000000000000",
        ]),
        3,
    );
    assert!(stderr.contains("CCE.01404001"), "{stderr}");
    // Not a Huawei profile.
    let (_, stderr) = run(
        &mut world.cmd(["-p", "aws-admin", "huawei", "cce-aksk-status"]),
        2,
    );
    assert!(stderr.contains("not huawei"), "{stderr}");
}

#[test]
fn throttled_calls_are_retried() {
    let world = world();
    let throttle = |times| {
        let fault = Fault::always(Effect::Throttle).provider(ProviderKind::Huawei);
        world.with_state(|s| s.settings.faults = vec![fault.times(times)]);
    };
    throttle(2);
    let (stdout, _) = run(&mut world.cmd(["-p", ADMIN, "whoami", "-o", "json"]), 0);
    assert_eq!(json_array(&stdout)[0]["user"], "admin");
    assert_eq!(world.with_state(|s| s.settings.faults[0].times), 0);
    throttle(1);
    let (_, stderr) = run(&mut world.cmd(["-p", ADMIN, "whoami", "--retries", "0"]), 4);
    assert_one_line_error(&stderr, "APIGW.0308");
}

#[test]
fn a_plain_user_manages_its_own_keys_and_sees_denials_explained_with_verbose() {
    let world = world();
    add_profile(&world, "huawei-alice", "alice", 1);
    let alice = user(&world, "alice");
    assert!(alice.keys[1].last_used.is_none());
    // Alice may not list users: STS5's caller identity needs no permission.
    let (stdout, _) = run(
        &mut world.cmd(["-p", "huawei-alice", "whoami", "-o", "json"]),
        0,
    );
    let identity = &json_array(&stdout)[0];
    assert_eq!(identity["user_id"], alice.user_id.as_str());
    assert_eq!(identity["type"], "user");
    // Signing recorded the use of her key.
    let used = user(&world, "alice").keys[1]
        .last_used
        .expect("use recorded");
    assert!((Utc::now() - used).num_seconds() < 60);
    let (stdout, _) = run(
        &mut world.cmd(["-p", "huawei-alice", "list", "-o", "json"]),
        0,
    );
    let records = json_array(&stdout);
    assert_eq!(records.len(), 2);
    assert!(records
        .iter()
        .all(|r| r["user_id"] == alice.user_id.as_str()));
    // Listing every user is denied; -v shows the encoded authorization message.
    let (_, stderr) = run(
        &mut world.cmd(["-p", "huawei-alice", "list", "--all-users"]),
        3,
    );
    assert_one_line_error(&stderr, "PAP5.0001");
    assert!(
        !stderr.contains("encoded authorization message"),
        "{stderr}"
    );
    let (_, stderr) = run(
        &mut world.cmd(["-p", "huawei-alice", "list", "--all-users", "-v"]),
        3,
    );
    let line = stderr
        .lines()
        .find(|l| l.contains("encoded authorization message"))
        .unwrap_or_else(|| panic!("no detail line:\n{stderr}"));
    let encoded = line.rsplit(' ').next().unwrap();
    let decoded = String::from_utf8(hex::decode(encoded).unwrap()).unwrap();
    assert!(decoded.contains("iam:users:listUsersV5"), "{decoded}");
    assert_no_secret(&world, &stderr);
}

#[test]
fn a_session_token_travels_as_x_security_token() {
    let world = world();
    let admin = world.profile(ADMIN);
    let mut config = std::fs::read_to_string(world.config_path()).unwrap();
    config.push_str(&format!(
        "\n[profiles.huawei-temp]\nprovider = \"huawei\"\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\nsession_token = \"TemporaryTokenValue123\"\nendpoint = \"{}\"\n",
        admin.access_key_id,
        admin.secret_access_key,
        world.endpoint()
    ));
    std::fs::write(world.config_path(), config).unwrap();
    // The sandbox issues no temporary credentials: it refuses the token it was sent.
    let (_, stderr) = run(&mut world.cmd(["-p", "huawei-temp", "whoami"]), 3);
    assert_one_line_error(&stderr, "security token is invalid");
    assert!(!stderr.contains("TemporaryTokenValue123"), "{stderr}");
}

/// API Gateway refuses a date more than 15 minutes off with 401 `APIGW.0301` "calc aksk signature
/// fail:signature expired": the client reads the server's Date header, corrects its clock once
/// and retries, for IAM and for CCE alike, whichever way the clock is off.
#[test]
fn an_hour_of_clock_skew_either_way_is_corrected() {
    for hours in [1, -1] {
        let world = world();
        world.with_state(|s| s.settings.clock_skew = chrono::Duration::hours(hours));
        let (stdout, stderr) = run(&mut world.cmd(["-p", ADMIN, "-v", "list", "-o", "json"]), 0);
        assert_eq!(json_array(&stdout).len(), 1, "{hours}h: {stdout}");
        assert!(
            stderr.contains("clock skew corrected"),
            "{hours}h: {stderr}"
        );
        let (stdout, stderr) = run(
            &mut world.cmd(["-p", ADMIN, "huawei", "cce-aksk-status", "-o", "json"]),
            0,
        );
        assert_eq!(
            json_array(&stdout)[0]["uploaded"],
            true,
            "{hours}h: {stderr}"
        );
    }
}

/// A user whom IAM refuses every user read (403 `PAP5.0001` on ListUsersV5 and ShowUserV5) still
/// learns who it is from STS5 GetCallerIdentity, and lists its own keys.
#[test]
fn whoami_and_list_need_no_iam_list_permission() {
    let world = world();
    world.with_state(|s| {
        let account = s
            .huawei
            .accounts
            .iter_mut()
            .find(|a| a.account_id == TEST_DOMAIN);
        let admin = account
            .and_then(|a| a.users.iter_mut().find(|u| u.name == "admin"))
            .expect("seeded");
        admin.no_list_permission = true;
    });
    let admin = user(&world, "admin");
    let (stdout, stderr) = run(&mut world.cmd(["-p", ADMIN, "whoami", "-o", "json"]), 0);
    let identity = &json_array(&stdout)[0];
    assert_eq!(identity["account_id"], TEST_DOMAIN, "{stderr}");
    assert_eq!(identity["user"], "admin");
    assert_eq!(identity["user_id"], admin.user_id.as_str());
    assert_eq!(identity["type"], "user");
    assert_eq!(identity["arn"], format!("iam::{TEST_DOMAIN}:user:admin"));
    let (stdout, _) = run(&mut world.cmd(["-p", ADMIN, "list", "-o", "json"]), 0);
    let records = json_array(&stdout);
    assert_eq!(records.len(), 1, "{stdout}");
    assert_eq!(records[0]["user"], "admin");
    assert_eq!(records[0]["account_id"], TEST_DOMAIN);
    assert_eq!(
        records[0]["access_key_id"],
        admin.keys[0].access_key_id.as_str()
    );
    // Listing the users is still refused, as IAM would.
    let (_, stderr) = run(&mut world.cmd(["-p", ADMIN, "list", "--all-users"]), 3);
    assert_one_line_error(&stderr, "PAP5.0001");
}

/// The account's root user (an IAM v5 user with `is_root_user`) manages the account's own
/// keys, named or not: `<root>` is resolved to its user id and never sent.
#[test]
fn the_root_user_disables_enables_and_deletes_a_root_key() {
    let world = World::with_seed(cloudkeys::sandbox::Seed::Demo);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(world.config_path(), std::fs::Permissions::from_mode(0o600))
            .expect("config mode set");
    }
    let root = || {
        world.with_state(|s| {
            s.huawei
                .account(DEMO_DOMAIN)
                .and_then(|a| a.users.iter().find(|u| u.root).cloned())
                .expect("seeded root user")
        })
    };
    let cmd = |args: &[&str]| {
        let mut all = vec!["-p", "huawei-root"];
        all.extend_from_slice(args);
        world.cmd(all)
    };
    let (stdout, _) = run(&mut cmd(&["whoami", "-o", "json"]), 0);
    assert_eq!(json_array(&stdout)[0]["type"], "root");
    // A second key of the account itself, so the profile's own key keeps signing.
    let (stdout, _) = run(&mut cmd(&["create", "-o", "json"]), 0);
    let key = json_array(&stdout)[0]["access_key_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(root().keys.len(), 2);
    let status = |id: &str| {
        root()
            .keys
            .iter()
            .find(|k| k.access_key_id == id)
            .map(|k| k.status)
    };
    for named in [false, true] {
        let user: &[&str] = if named { &["--user", "<root>"] } else { &[] };
        let (_, stderr) = run(&mut cmd(&[&["disable", &key], user].concat()), 0);
        assert_eq!(
            status(&key),
            Some(KeyStatus::Inactive),
            "named {named}: {stderr}"
        );
        let (_, stderr) = run(&mut cmd(&[&["enable", &key], user].concat()), 0);
        assert_eq!(
            status(&key),
            Some(KeyStatus::Active),
            "named {named}: {stderr}"
        );
    }
    let (_, stderr) = run(&mut cmd(&["delete", &key, "--user", "<root>", "--yes"]), 0);
    assert_eq!(status(&key), None, "{stderr}");
    assert_eq!(root().keys.len(), 1);
    // `--user <root>` lists the account's own keys.
    let (stdout, _) = run(&mut cmd(&["list", "--user", "<root>", "-o", "json"]), 0);
    let records = json_array(&stdout);
    assert_eq!(records.len(), 1, "{stdout}");
    assert_eq!(records[0]["user_id"], root().user_id.as_str());
}

/// Temporary credentials of a user without IAM list permission: whoami and list of its own keys
/// work from STS5's caller identity; the token travels (signed) as X-Security-Token.
#[test]
fn temporary_credentials_without_list_permission_see_their_own_keys() {
    let world = world();
    let alice = user(&world, "alice");
    let (ak, sk, token) = world.with_state(|s| {
        s.huawei
            .issue_temporary(TEST_DOMAIN, "alice", Utc::now(), chrono::Duration::hours(1))
    });
    let mut config = std::fs::read_to_string(world.config_path()).unwrap();
    config.push_str(&format!(
        "\n[profiles.huawei-alice-temp]\nprovider = \"huawei\"\naccess_key_id = \"{ak}\"\nsecret_access_key = \"{sk}\"\nsession_token = \"{token}\"\nendpoint = \"{}\"\n",
        world.endpoint()
    ));
    std::fs::write(world.config_path(), config).unwrap();
    let (stdout, stderr) = run(
        &mut world.cmd(["-p", "huawei-alice-temp", "whoami", "-o", "json"]),
        0,
    );
    let identity = &json_array(&stdout)[0];
    assert_eq!(identity["user"], "alice", "{stderr}");
    assert_eq!(identity["user_id"], alice.user_id.as_str());
    assert_eq!(identity["account_id"], TEST_DOMAIN);
    let (stdout, stderr) = run(
        &mut world.cmd(["-p", "huawei-alice-temp", "list", "-o", "json"]),
        0,
    );
    let ids: Vec<String> = json_array(&stdout)
        .iter()
        .map(|r| r["access_key_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, key_ids(&alice), "{stderr}");
    assert!(
        !stderr.contains(&token) && !stderr.contains(&sk),
        "{stderr}"
    );
}

/// One CCE time that is no time becomes null with a warning; the rest of the answer stays.
#[test]
fn an_unparsable_cce_time_is_null_with_a_warning() {
    let world = world();
    world.with_state(|s| s.huawei.cce_update_time_text = Some("not a time".into()));
    let (stdout, stderr) = run(
        &mut world.cmd(["-p", ADMIN, "huawei", "cce-aksk-status", "-o", "json"]),
        0,
    );
    let record = &json_array(&stdout)[0];
    assert_eq!(record["updated_at"], Value::Null);
    assert_eq!(record["uploaded"], true);
    assert!(record["expires_at"].is_string(), "{record}");
    assert!(record["created_at"].is_string(), "{record}");
    assert!(
        stderr.contains("update_time 'not a time' is not a time"),
        "{stderr}"
    );
}

/// Each key once, however the caller is related to the users: the root user is one of the
/// users IAM lists, so its own keys are not read a second time.
#[test]
fn all_users_lists_each_key_once_even_for_the_root_user() {
    let world = World::with_seed(cloudkeys::sandbox::Seed::Demo);
    for profile in ["huawei-admin", "huawei-root"] {
        assert!(
            world.profiles().iter().any(|p| p.name == profile),
            "{profile} seeded"
        );
        let (stdout, stderr) = run(
            &mut world.cmd(["-vv", "-p", profile, "list", "--all-users", "-o", "json"]),
            0,
        );
        let records = json_array(&stdout);
        let mut ids: Vec<&str> = records
            .iter()
            .map(|r| r["access_key_id"].as_str().unwrap())
            .collect();
        let total = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), total, "{profile}: a key listed twice: {stdout}");
        // No user's keys are listed twice either.
        let mut listings: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains("/access-keys") && l.contains(" answered"))
            .filter_map(|l| l.split_whitespace().find(|w| w.contains("/access-keys")))
            .collect();
        let calls = listings.len();
        assert!(calls > 0, "{stderr}");
        listings.sort();
        listings.dedup();
        assert_eq!(listings.len(), calls, "{profile}: {stderr}");
    }
}
