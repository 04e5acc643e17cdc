//! End-to-end: the built binary against the sandbox's Tencent Cloud CAM/STS emulator.

mod common;

use std::os::unix::fs::PermissionsExt;

use chrono::{Duration, Utc};
use cloudkeys::model::KeyStatus;
use cloudkeys::sandbox::tencent::{self, test_uin, TEST_OWNER_UIN};
use cloudkeys::sandbox::State;
use common::{assert_one_line_error, json_array, run, World};
use serde_json::Value;

const PROFILE: &str = "tencent-admin";

/// A test-seeded sandbox whose config file is private (as a config holding secrets should be:
/// otherwise every run warns on stderr and the one-line error checks could not hold).
fn world() -> World {
    let world = World::new();
    std::fs::set_permissions(world.config_path(), std::fs::Permissions::from_mode(0o600))
        .expect("config made private");
    world
}

/// `cloudkeys -p tencent-admin ARGS…`
fn tc(world: &World, args: &[&str]) -> assert_cmd::Command {
    let mut all = vec!["-p", PROFILE];
    all.extend_from_slice(args);
    world.cmd(all)
}

/// (id, status) of a user's keys in the sandbox, in creation order.
fn keys_of(state: &State, uin: u64) -> Vec<(String, KeyStatus)> {
    state
        .tencent
        .account(TEST_OWNER_UIN)
        .and_then(|a| a.keys(uin))
        .map(|keys| {
            keys.iter()
                .map(|k| (k.access_key_id.clone(), k.status))
                .collect()
        })
        .unwrap_or_default()
}

fn alice_keys(world: &World) -> Vec<(String, KeyStatus)> {
    world.with_state(|s| keys_of(s, test_uin(1)))
}

/// No secret of the sandbox (any key's) may appear in `text`.
fn assert_no_secret(world: &World, text: &str) {
    let secrets: Vec<String> = world.with_state(|s| {
        s.tencent
            .accounts
            .iter()
            .flat_map(|a| {
                a.root_keys
                    .iter()
                    .chain(a.users.iter().flat_map(|u| u.keys.iter()))
            })
            .map(|k| k.secret.clone())
            .collect()
    });
    for secret in secrets {
        assert!(!text.contains(&secret), "a secret leaked:\n{text}");
    }
}

/// A key's last use in the sandbox, as RFC 3339 UTC to the second.
fn exact_last_use(world: &World, id: &str) -> String {
    world.with_state(|s| {
        let at = s.tencent.find_key(id).unwrap().1.last_used.unwrap();
        cloudkeys::model::format_time(&at)
    })
}

fn field<'a>(record: &'a Value, name: &str) -> &'a Value {
    &record[name]
}

#[test]
fn lists_the_callers_own_keys() {
    let world = world();
    let admin = world.profile(PROFILE);
    let (stdout, stderr) = run(&mut tc(&world, &["list", "-o", "json"]), 0);
    let records = json_array(&stdout);
    assert_eq!(records.len(), 1, "{stdout}");
    let key = &records[0];
    assert_eq!(field(key, "provider"), "tencent");
    assert_eq!(field(key, "profile"), PROFILE);
    assert_eq!(field(key, "access_key_id"), admin.access_key_id.as_str());
    assert_eq!(field(key, "account_id"), "100000000001");
    assert_eq!(field(key, "user"), "admin");
    assert_eq!(field(key, "user_id"), test_uin(0).to_string().as_str());
    assert_eq!(field(key, "status"), "active");
    assert_eq!(field(key, "age_days"), 90);
    // The listing itself signed requests with this key: Tencent has the exact moment.
    assert!(key.get("last_used_precision").is_none(), "{key}");
    assert!(field(key, "last_used_at").is_string());
    assert_eq!(field(key, "idle_days"), 0);
    assert_no_secret(&world, &stderr);

    let (table, _) = run(&mut tc(&world, &["list"]), 0);
    assert!(table.contains(&admin.access_key_id), "{table}");
    assert!(table.contains("admin"), "{table}");
}

#[test]
fn lists_a_user_by_name_or_uin_with_ages_and_exact_last_use() {
    let world = world();
    let (stdout, stderr) = run(
        &mut tc(&world, &["list", "--user", "alice", "-o", "json"]),
        0,
    );
    let records = json_array(&stdout);
    assert_eq!(records.len(), 2, "{stdout}");
    let ids = alice_keys(&world);
    // Sorted by creation: the 200-day-old key first.
    let (old, new) = (&records[0], &records[1]);
    assert_eq!(field(old, "access_key_id"), ids[0].0.as_str());
    assert_eq!(field(new, "access_key_id"), ids[1].0.as_str());
    for record in &records {
        assert_eq!(field(record, "user"), "alice");
        assert_eq!(field(record, "user_id"), "100000000102");
        assert_eq!(field(record, "account_id"), "100000000001");
        assert_eq!(field(record, "status"), "active");
    }
    assert_eq!(field(old, "age_days"), 200);
    // Tencent's exact stamp of last use wins over its (delayed) day: no precision field.
    assert!(old.get("last_used_precision").is_none(), "{old}");
    assert_eq!(
        field(old, "last_used_at"),
        exact_last_use(&world, &ids[0].0).as_str()
    );
    assert_eq!(field(old, "idle_days"), 100);
    assert!(field(old, "last_used_service").is_null());
    assert_eq!(field(new, "age_days"), 10);
    assert!(field(new, "last_used_at").is_null());
    assert!(field(new, "last_used_precision").is_null());
    assert_eq!(field(new, "idle_days"), 10);
    assert_no_secret(&world, &stderr);

    // The same user by uin.
    let (stdout, _) = run(
        &mut tc(&world, &["list", "--user", "100000000102", "-o", "json"]),
        0,
    );
    let by_uin = json_array(&stdout);
    assert_eq!(by_uin.len(), 2);
    assert_eq!(field(&by_uin[0], "user"), "alice");
    assert_eq!(field(&by_uin[0], "access_key_id"), ids[0].0.as_str());

    // bob's only key is inactive and 400 days old.
    let (stdout, _) = run(&mut tc(&world, &["list", "--user", "bob", "-o", "json"]), 0);
    let bob = json_array(&stdout);
    assert_eq!(bob.len(), 1);
    assert_eq!(field(&bob[0], "status"), "inactive");
    assert_eq!(field(&bob[0], "age_days"), 400);
    assert_eq!(field(&bob[0], "idle_days"), 400);
    // carol has none.
    let (stdout, _) = run(
        &mut tc(&world, &["list", "--user", "carol", "-o", "json"]),
        0,
    );
    assert!(json_array(&stdout).is_empty());
}

#[test]
fn lists_every_user_in_json_csv_and_ndjson() {
    let world = world();
    let (stdout, _) = run(&mut tc(&world, &["list", "--all-users", "-o", "json"]), 0);
    let records = json_array(&stdout);
    let users: Vec<&str> = records
        .iter()
        .map(|r| r["user"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["admin", "alice", "alice", "bob"]);
    let statuses: Vec<&str> = records
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["active", "active", "active", "inactive"]);
    let ages: Vec<i64> = records
        .iter()
        .map(|r| r["age_days"].as_i64().unwrap())
        .collect();
    assert_eq!(ages, [90, 200, 10, 400]);

    let (csv, _) = run(&mut tc(&world, &["list", "--all-users", "-o", "csv"]), 0);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(lines[0].starts_with("provider,profile,account_id,user,user_id,access_key_id,status"));
    // Every last use is an exact stamp here: no record has day precision, so no such column.
    assert!(!lines[0].contains("last_used_precision"), "{csv}");
    assert!(lines[4].contains(",bob,100000000103,"), "{csv}");
    assert!(lines[4].contains(",inactive,"), "{csv}");

    let (ndjson, _) = run(&mut tc(&world, &["list", "--all-users", "-o", "ndjson"]), 0);
    let objects: Vec<Value> = ndjson
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.len(), 4);
    assert_eq!(objects[3]["user"], "bob");
    assert!(objects[1].get("last_used_precision").is_none());
    assert!(objects[1]["last_used_at"].is_string());
}

#[test]
fn last_used_of_one_key() {
    let world = world();
    let ids = alice_keys(&world);
    let (stdout, _) = run(
        &mut tc(
            &world,
            &["last-used", &ids[0].0, "--user", "alice", "-o", "json"],
        ),
        0,
    );
    let record = &json_array(&stdout)[0];
    assert_eq!(record["access_key_id"], ids[0].0.as_str());
    assert!(record.get("last_used_precision").is_none(), "{record}");
    let expected = exact_last_use(&world, &ids[0].0);
    assert_eq!(record["last_used_at"], expected.as_str());
    let (stdout, _) = run(
        &mut tc(
            &world,
            &["last-used", &ids[1].0, "--user", "alice", "-o", "json"],
        ),
        0,
    );
    assert!(json_array(&stdout)[0]["last_used_at"].is_null());
}

#[test]
fn create_prints_the_secret_once_and_the_cloud_has_the_key() {
    let world = world();
    let (stdout, stderr) = run(
        &mut tc(&world, &["create", "--user", "carol", "-o", "json"]),
        0,
    );
    let record = &json_array(&stdout)[0];
    let id = record["access_key_id"].as_str().unwrap();
    let secret = record["secret_access_key"].as_str().unwrap();
    assert!(id.starts_with("AKID") && id.len() == 36, "{id}");
    assert_eq!(secret.len(), 32);
    assert_eq!(record["user"], "carol");
    assert_eq!(record["user_id"], "100000000104");
    assert_eq!(record["status"], "active");
    assert_eq!(record["age_days"], 0);
    let created = chrono::DateTime::parse_from_rfc3339(record["created_at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc);
    assert!((Utc::now() - created).num_seconds().abs() < 60, "{created}");
    let stored = world.with_state(|s| {
        let (owner, key) = s.tencent.find_key(id).unwrap();
        (owner.user, key.secret.clone(), key.status)
    });
    let carol = Some("carol".to_string());
    assert_eq!(stored, (carol, secret.to_string(), KeyStatus::Active));
    assert!(!stderr.contains(secret));
}

#[test]
fn create_saves_to_a_private_file_and_never_overwrites() {
    let world = world();
    let path = world.home().join("carol-key.json");
    let path_arg = path.to_str().unwrap();
    let (stdout, stderr) = run(
        &mut tc(
            &world,
            &[
                "create", "--user", "carol", "--save", path_arg, "-o", "json",
            ],
        ),
        0,
    );
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let id = saved["access_key_id"].as_str().unwrap().to_string();
    let secret = saved["secret_access_key"].as_str().unwrap().to_string();
    assert_eq!(saved["provider"], "tencent");
    assert_eq!(saved["user"], "carol");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(!stdout.contains(&secret), "saved secrets are not printed");
    assert!(!stderr.contains(&secret));
    assert_eq!(json_array(&stdout)[0]["access_key_id"], id.as_str());
    assert_eq!(
        world.with_state(|s| s.tencent.find_key(&id).unwrap().1.secret.clone()),
        secret
    );

    // Refused before anything is created.
    let (_, stderr) = run(
        &mut tc(&world, &["create", "--user", "carol", "--save", path_arg]),
        2,
    );
    assert_one_line_error(&stderr, "refusing to overwrite");
    assert_eq!(world.with_state(|s| keys_of(s, test_uin(3))).len(), 1);
    let again: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(again["secret_access_key"], secret.as_str());
}

#[test]
fn a_third_key_is_refused() {
    let world = world();
    let before = alice_keys(&world);
    let (stdout, stderr) = run(&mut tc(&world, &["create", "--user", "alice"]), 3);
    assert_one_line_error(&stderr, "already has 2 keys");
    assert!(stderr.contains("tencent (tencent-admin)"), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert_eq!(alice_keys(&world), before);
}

#[test]
fn disable_and_enable_change_the_key_in_the_cloud() {
    let world = world();
    let id = alice_keys(&world)[1].0.clone();
    let (stdout, stderr) = run(
        &mut tc(&world, &["disable", &id, "--user", "alice", "-o", "json"]),
        0,
    );
    assert_eq!(json_array(&stdout)[0]["status"], "inactive");
    assert!(stderr.contains("now inactive"), "{stderr}");
    assert_eq!(alice_keys(&world)[1], (id.clone(), KeyStatus::Inactive));
    // By uin too.
    let (stdout, _) = run(
        &mut tc(
            &world,
            &["enable", &id, "--user", "100000000102", "-o", "json"],
        ),
        0,
    );
    assert_eq!(json_array(&stdout)[0]["status"], "active");
    assert_eq!(alice_keys(&world)[1], (id.clone(), KeyStatus::Active));
    // The other user's key is not alice's.
    let bob_key = world.with_state(|s| keys_of(s, test_uin(2)))[0].0.clone();
    let (_, stderr) = run(&mut tc(&world, &["enable", &bob_key, "--user", "alice"]), 3);
    assert_one_line_error(&stderr, "no access key");
    assert_eq!(
        world.with_state(|s| keys_of(s, test_uin(2)))[0].1,
        KeyStatus::Inactive
    );
}

#[test]
fn delete_needs_yes_without_a_terminal() {
    let world = world();
    let id = world.with_state(|s| keys_of(s, test_uin(2)))[0].0.clone();
    let (_, stderr) = run(&mut tc(&world, &["delete", &id, "--user", "bob"]), 2);
    assert_one_line_error(&stderr, "--yes");
    assert_eq!(world.with_state(|s| keys_of(s, test_uin(2))).len(), 1);
    let (stdout, _) = run(
        &mut tc(&world, &["delete", &id, "--user", "bob", "--yes"]),
        0,
    );
    assert!(stdout.contains(&id) && stdout.contains("bob"), "{stdout}");
    assert!(world.with_state(|s| keys_of(s, test_uin(2))).is_empty());
    assert!(world.with_state(|s| s.tencent.find_key(&id).is_none()));
}

#[test]
fn whoami_names_the_sub_user() {
    let world = world();
    let admin = world.profile(PROFILE);
    let (stdout, _) = run(&mut tc(&world, &["whoami", "-o", "json"]), 0);
    let me = &json_array(&stdout)[0];
    assert_eq!(me["provider"], "tencent");
    assert_eq!(me["account_id"], "100000000001");
    assert_eq!(me["user"], "admin");
    assert_eq!(me["user_id"], "100000000101");
    assert_eq!(me["type"], "user");
    assert_eq!(me["arn"], "qcs::cam:100000000001:uin/100000000101");
    assert_eq!(me["access_key_id"], admin.access_key_id.as_str());
}

#[test]
fn a_wrong_secret_is_refused_with_the_clouds_code() {
    let world = world();
    let admin = world.profile(PROFILE);
    let wrong = "0123456789abcdefghijklmnopqrstuv";
    let text = std::fs::read_to_string(world.config_path())
        .unwrap()
        .replace(&admin.secret_access_key, wrong);
    let bad = world.home().join("bad.toml");
    std::fs::write(&bad, text).unwrap();
    std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut cmd = world.bare_cmd();
    cmd.args(["--config", bad.to_str().unwrap(), "-p", PROFILE, "whoami"]);
    let (_, stderr) = run(&mut cmd, 3);
    assert_one_line_error(&stderr, "AuthFailure.SignatureFailure");
    assert!(stderr.contains("request id"), "{stderr}");
    assert!(!stderr.contains(wrong) && !stderr.contains(&admin.secret_access_key));
    // JSON errors name the kind and code.
    let mut cmd = world.bare_cmd();
    cmd.args([
        "--config",
        bad.to_str().unwrap(),
        "-p",
        PROFILE,
        "list",
        "-o",
        "json",
    ]);
    let (_, stderr) = run(&mut cmd, 3);
    let error: Value = serde_json::from_str(stderr.trim()).unwrap();
    assert_eq!(error["error"], "auth");
    assert_eq!(error["code"], "AuthFailure.SignatureFailure");
    assert_eq!(error["provider"], "tencent");
}

#[test]
fn unknown_users_and_bad_key_ids() {
    let world = world();
    let (_, stderr) = run(&mut tc(&world, &["list", "--user", "nobody"]), 3);
    assert_one_line_error(&stderr, "ResourceNotFound.UserNotExist");
    let (_, stderr) = run(&mut tc(&world, &["list", "--user", "100000000999"]), 3);
    assert_one_line_error(&stderr, "InvalidParameter.UserNotExist");
    let (_, stderr) = run(&mut tc(&world, &["create", "--user", "nobody"]), 3);
    assert_one_line_error(&stderr, "ResourceNotFound.UserNotExist");
    let (_, stderr) = run(&mut tc(&world, &["disable", "AKID-not/valid"]), 2);
    assert_one_line_error(&stderr, "invalid access key id");
    let (_, stderr) = run(&mut tc(&world, &["delete", "AKID+x", "--yes"]), 2);
    assert_one_line_error(&stderr, "invalid access key id");
    assert_eq!(alice_keys(&world).len(), 2);
}

#[test]
fn session_tokens_travel_as_x_tc_token() {
    let world = world();
    let (id, secret, token) = world.with_state(|s| {
        tencent::add_temp_credential(
            s,
            TEST_OWNER_UIN,
            test_uin(1),
            "ci-run",
            Utc::now() + Duration::hours(1),
        )
    });
    let config = |token: &str| {
        format!(
            "[profiles.tc-session]\nprovider = \"tencent\"\naccess_key_id = \"{id}\"\nsecret_access_key = \"{secret}\"\nsession_token = \"{token}\"\nregion = \"ap-shanghai\"\nendpoint = \"{}\"\n",
            world.endpoint()
        )
    };
    let path = world.home().join("session.toml");
    std::fs::write(&path, config(&token)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut cmd = world.bare_cmd();
    cmd.args([
        "--config",
        path.to_str().unwrap(),
        "-p",
        "tc-session",
        "whoami",
        "-o",
        "json",
    ]);
    let (stdout, stderr) = run(&mut cmd, 0);
    let me = &json_array(&stdout)[0];
    assert_eq!(me["user_id"], "100000000102");
    assert_eq!(me["account_id"], "100000000001");
    assert!(!stderr.contains(&token) && !stderr.contains(&secret));
    // alice's own keys, through her session.
    let mut cmd = world.bare_cmd();
    cmd.args([
        "--config",
        path.to_str().unwrap(),
        "-p",
        "tc-session",
        "list",
        "-o",
        "json",
    ]);
    let (stdout, _) = run(&mut cmd, 0);
    assert_eq!(json_array(&stdout).len(), 2);

    std::fs::write(&path, config("a-stale-token")).unwrap();
    let mut cmd = world.bare_cmd();
    cmd.args([
        "--config",
        path.to_str().unwrap(),
        "-p",
        "tc-session",
        "whoami",
    ]);
    let (_, stderr) = run(&mut cmd, 3);
    assert_one_line_error(&stderr, "AuthFailure.TokenFailure");
    assert!(!stderr.contains("a-stale-token"));
}

#[test]
fn endpoint_flag_sends_cam_and_sts_to_one_base_url() {
    let world = world();
    let admin = world.profile(PROFILE);
    // A profile pointing at the real hosts; --endpoint sends both services to the sandbox.
    let path = world.home().join("real.toml");
    std::fs::write(
        &path,
        format!(
            "[profiles.tc]\nprovider = \"tencent\"\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\n",
            admin.access_key_id, admin.secret_access_key
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut cmd = world.bare_cmd();
    cmd.args([
        "--config",
        path.to_str().unwrap(),
        "-p",
        "tc",
        "--endpoint",
        &world.endpoint(),
        "list",
        "--all-users",
        "-o",
        "json",
    ]);
    let (stdout, _) = run(&mut cmd, 0);
    assert_eq!(json_array(&stdout).len(), 4);
}

#[test]
fn verbose_logs_keep_secrets_out() {
    let world = world();
    let (stdout, stderr) = run(
        &mut tc(&world, &["-vvv", "create", "--user", "carol", "-o", "json"]),
        0,
    );
    let secret = json_array(&stdout)[0]["secret_access_key"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!stderr.contains(&secret), "{stderr}");
    assert_no_secret(&world, &stderr);
    let (_, stderr) = run(&mut tc(&world, &["-vvv", "list", "--all-users"]), 0);
    assert_no_secret(&world, &stderr);
}

#[test]
fn last_use_is_the_exact_stamp_else_the_day() {
    let world = world();
    let ids = alice_keys(&world);
    // A use at a known moment, minutes away from any midnight.
    let at = chrono::DateTime::parse_from_rfc3339("2026-03-04T05:06:07.890Z")
        .unwrap()
        .with_timezone(&Utc);
    world.with_state(|s| s.tencent.find_key_mut(&ids[0].0).unwrap().last_used = Some(at));
    let list = |world: &World| {
        let (stdout, _) = run(
            &mut tc(world, &["list", "--user", "alice", "-o", "json"]),
            0,
        );
        json_array(&stdout)
            .into_iter()
            .find(|r| r["access_key_id"] == ids[0].0.as_str())
            .unwrap()
    };
    // Both fields given: the exact time, and no precision field.
    let record = list(&world);
    assert_eq!(record["last_used_at"], "2026-03-04T05:06:07Z");
    assert!(record.get("last_used_precision").is_none(), "{record}");

    // Only the day (LastSecretUsedDate null): that Beijing day's start, date precision.
    world.with_state(|s| {
        s.tencent
            .find_key_mut(&ids[0].0)
            .unwrap()
            .last_used_day_only = true
    });
    let record = list(&world);
    assert_eq!(record["last_used_at"], "2026-03-03T16:00:00Z");
    assert_eq!(record["last_used_precision"], "date");
}

/// Gives the test account's owner (root) two keys and a profile `tencent-root` signing with
/// the first; returns the second key's id.
fn add_root_profile(world: &World) -> String {
    let ((id, secret), (other, _)) = world.with_state(|s| {
        let now = Utc::now();
        (
            tencent::add_key(s, TEST_OWNER_UIN, TEST_OWNER_UIN, now - Duration::days(30)),
            tencent::add_key(s, TEST_OWNER_UIN, TEST_OWNER_UIN, now - Duration::days(5)),
        )
    });
    let mut config = std::fs::read_to_string(world.config_path()).unwrap();
    config.push_str(&format!(
        "\n[profiles.tencent-root]\nprovider = \"tencent\"\naccess_key_id = \"{id}\"\nsecret_access_key = \"{secret}\"\nregion = \"ap-guangzhou\"\nendpoint = \"{}\"\n",
        world.endpoint()
    ));
    std::fs::write(world.config_path(), config).unwrap();
    other
}

#[test]
fn the_root_accounts_keys_can_be_disabled_enabled_and_deleted() {
    let world = world();
    let other = add_root_profile(&world);
    let root = |args: &[&str]| {
        let mut all = vec!["-p", "tencent-root"];
        all.extend_from_slice(args);
        world.cmd(all)
    };
    let status = || {
        world
            .with_state(|s| keys_of(s, TEST_OWNER_UIN))
            .into_iter()
            .find(|(id, _)| *id == other)
            .map(|(_, status)| status)
    };
    let (stdout, _) = run(&mut root(&["list", "-o", "json"]), 0);
    let records = json_array(&stdout);
    assert_eq!(records.len(), 2, "{stdout}");
    assert!(records.iter().all(|r| r["user"] == "<root>"), "{stdout}");

    run(&mut root(&["disable", &other]), 0);
    assert_eq!(status(), Some(KeyStatus::Inactive));
    // The label typed back as --user names the main account; it never reaches CAM as a name.
    run(&mut root(&["enable", &other, "--user", "<root>"]), 0);
    assert_eq!(status(), Some(KeyStatus::Active));
    run(&mut root(&["disable", &other, "--user", "<root>"]), 0);
    assert_eq!(status(), Some(KeyStatus::Inactive));
    run(
        &mut root(&["delete", &other, "--user", "<root>", "--yes"]),
        0,
    );
    assert_eq!(status(), None);
    assert_eq!(world.with_state(|s| keys_of(s, TEST_OWNER_UIN)).len(), 1);
}

/// `audit --all-users` asks GetSecurityLastUsed for ten keys a call across users, as `list`
/// does: one call per user would double the calls of a large account.
#[test]
fn audit_batches_last_use_across_users() {
    let world = World::new();
    world.with_state(|s| {
        let now = Utc::now();
        let account = s.tencent.account_mut(TEST_OWNER_UIN).unwrap();
        for i in 0..25u64 {
            account.add_user(&format!("svc{i:02}"), false, now).uin = TEST_OWNER_UIN + 9_000 + i;
        }
        for i in 0..25u64 {
            tencent::add_key(s, TEST_OWNER_UIN, TEST_OWNER_UIN + 9_000 + i, now);
        }
        s.stats = Default::default();
    });
    let (stdout, _) = run(
        &mut world.cmd(["-p", PROFILE, "audit", "--all-users", "-o", "json"]),
        1,
    );
    assert!(!json_array(&stdout).is_empty());
    let (keys, batches) = world.with_state(|s| {
        let keys: usize = s.tencent.accounts[0]
            .users
            .iter()
            .map(|u| u.keys.len())
            .sum();
        (
            keys,
            s.stats
                .by_action
                .get("GetSecurityLastUsed")
                .copied()
                .unwrap_or(0),
        )
    });
    assert!(keys >= 25);
    assert_eq!(batches as usize, keys.div_ceil(10), "{keys} keys");
}
