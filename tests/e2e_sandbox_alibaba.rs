//! End-to-end: the built binary against the sandbox's Alibaba Cloud RAM/STS emulator.

mod common;

use cloudkeys::model::KeyStatus;
use cloudkeys::sandbox::alibaba::{AlibabaKey, TEST_ACCOUNT};
use cloudkeys::sandbox::State;
use common::{assert_one_line_error, comparable, json_array, run, scan_all_users, World};
use serde_json::Value;

const PROFILE: &str = "alibaba-admin";

/// The test world, its config private (mode 0600) as a real one holding secrets would be, so
/// no permission warning joins the one-line errors checked below.
fn world() -> World {
    let world = World::new();
    private(world.config_path());
    world
}

fn private(path: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// `-p alibaba-admin ARGS…`
fn ali(world: &World, args: &[&str]) -> assert_cmd::Command {
    let mut all = vec!["-p", PROFILE];
    all.extend_from_slice(args);
    world.cmd(all)
}

fn keys_of(state: &State, user: &str) -> Vec<AlibabaKey> {
    state
        .alibaba
        .account(TEST_ACCOUNT)
        .and_then(|a| a.user(user))
        .map(|u| u.keys.clone())
        .unwrap_or_default()
}

fn user_keys(world: &World, user: &str) -> Vec<AlibabaKey> {
    world.with_state(|s| keys_of(s, user))
}

/// Every secret the sandbox holds (seeded or created): none may reach stderr.
fn assert_no_secret(world: &World, stderr: &str) {
    let secrets: Vec<String> = world.with_state(|s| {
        s.alibaba
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
        assert!(
            !stderr.contains(&secret),
            "a secret leaked to stderr:\n{stderr}"
        );
    }
}

fn by_id<'a>(records: &'a [Value], id: &str) -> &'a Value {
    records
        .iter()
        .find(|r| r["access_key_id"] == id)
        .unwrap_or_else(|| panic!("no record for {id} in {records:?}"))
}

fn calls_of(world: &World, action: &str) -> usize {
    world.with_state(|s| s.alibaba.calls.iter().filter(|c| *c == action).count())
}

#[test]
fn all_users_scan_reads_the_credential_report() {
    let world = world();
    let now = chrono::Utc::now();
    let day = chrono::Duration::days;
    world.with_state(|s| {
        let account = s.alibaba.account_mut(TEST_ACCOUNT).unwrap();
        for i in 0..26 {
            let user = account.add_user(&format!("svc-{i:03}"), false, now - day(300));
            user.display_name = "svc".into();
        }
        let none = std::time::Duration::ZERO;
        for i in 0..8 {
            let user = format!("svc-{i:03}");
            let (id, _) = s
                .alibaba
                .add_key(TEST_ACCOUNT, Some(&user), now - day(50 + i), none);
            if i % 2 == 0 {
                s.alibaba.find_key_mut(&id).unwrap().last_used = Some(now - day(i));
            }
        }
        // An account from before the 2-key limit: keys 3 and 4 are in the additional slots.
        for n in 0..4 {
            let (id, _) =
                s.alibaba
                    .add_key(TEST_ACCOUNT, Some("svc-010"), now - day(700 + n), none);
            if n == 3 {
                let key = s.alibaba.find_key_mut(&id).unwrap();
                key.last_used = Some(now - day(5));
                key.status = KeyStatus::Inactive;
            }
        }
    });
    let admin = world.profile(PROFILE).access_key_id;
    let (exact, exact_calls, _) = scan_all_users(&world, PROFILE, &["--exact"]);
    assert_eq!(calls_of(&world, "GenerateCredentialReport"), 0);
    let (fast, calls, stderr) = scan_all_users(&world, PROFILE, &[]);
    // 30 users in 10 pages (3 a page in the test seed); 16 keys among 12 users (admin,
    // alice x2, bob, 8 of svc, svc-010 x4).
    assert_eq!(exact.len(), 16);
    assert_eq!(exact_calls, 1 + 10 + 30 + 16, "whoami, pages, users, keys");
    // whoami, pages, GenerateCredentialReport x2 (STARTED, COMPLETED), GetCredentialReport x4
    // (31 rows, 10 a page), the 12 users with keys, and no per-key call.
    assert_eq!(calls, 1 + 10 + 2 + 4 + 12, "{calls} calls\n{stderr}");
    assert_eq!(calls_of(&world, "GetCredentialReport"), 4);
    assert_eq!(calls_of(&world, "GetAccessKeyLastUsed"), 16);
    assert_eq!(comparable(&fast, &admin), comparable(&exact, &admin));
    let as_of = fast[0]["last_used_as_of"]
        .as_str()
        .expect("the report's time");
    assert!(fast.iter().all(|r| r["last_used_as_of"] == as_of));
    assert!(exact.iter().all(|r| r.get("last_used_as_of").is_none()));
    // The inactive fourth key of svc-010 matched its additional slot: used, 5 days ago.
    let old: Vec<&Value> = fast.iter().filter(|r| r["user"] == "svc-010").collect();
    assert_eq!(old.len(), 4);
    assert_eq!(
        old.iter()
            .filter(|r| r["status"] == "inactive" && r["last_used_at"].is_string())
            .count(),
        1,
        "{old:?}"
    );

    // The report is a snapshot, made at most every 4 hours: the next scan makes none, and a
    // key made since has no slot and is asked about itself.
    let late = world.with_state(|s| {
        s.alibaba
            .add_key(
                TEST_ACCOUNT,
                Some("svc-000"),
                chrono::Utc::now(),
                std::time::Duration::ZERO,
            )
            .0
    });
    let (after, after_calls, _) = scan_all_users(&world, PROFILE, &[]);
    assert_eq!(
        after_calls,
        1 + 10 + 1 + 4 + 12 + 1,
        "one Generate, one key asked"
    );
    let late = by_id(&after, &late);
    assert!(late.get("last_used_as_of").is_none(), "{late}");
    assert!(by_id(&after, &admin)["last_used_as_of"] == as_of);
}

#[test]
fn the_account_itself_scans_with_its_root_row() {
    let world = World::with_seed(cloudkeys::sandbox::Seed::Demo);
    let root = world.profile("alibaba-root").access_key_id;
    let (exact, _, _) = scan_all_users(&world, "alibaba-root", &["--exact"]);
    let asked = calls_of(&world, "GetAccessKeyLastUsed");
    assert_eq!(asked, exact.len());
    let (fast, _, _) = scan_all_users(&world, "alibaba-root", &[]);
    assert_eq!(comparable(&fast, &root), comparable(&exact, &root));
    // The account's own key got its answer from the `<root>` row: no per-key call at all.
    let own = by_id(&fast, &root);
    assert_eq!(own["user"], "<root>");
    assert!(own["last_used_as_of"].is_string(), "{own}");
    assert_eq!(calls_of(&world, "GetAccessKeyLastUsed"), asked);
}

#[test]
fn a_refused_credential_report_falls_back_with_a_note() {
    let world = world();
    world.with_state(|s| {
        s.settings.denied_actions = vec!["GenerateCredentialReport".into()];
    });
    let admin = world.profile(PROFILE).access_key_id;
    let (exact, _, _) = scan_all_users(&world, PROFILE, &["--exact"]);
    let (records, _, stderr) = scan_all_users(&world, PROFILE, &[]);
    assert_eq!(comparable(&records, &admin), comparable(&exact, &admin));
    assert!(records.iter().all(|r| r.get("last_used_as_of").is_none()));
    assert_eq!(calls_of(&world, "GetCredentialReport"), 0);
    let notes: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("no credential report"))
        .collect();
    assert_eq!(notes.len(), 1, "{stderr}");
    assert!(notes[0].contains("NoPermission"), "{}", notes[0]);
    assert_no_secret(&world, &stderr);
    // Without -v the note is the only line on stderr.
    let (_, quiet_stderr) = run(&mut ali(&world, &["list", "--all-users", "-o", "json"]), 0);
    assert_eq!(quiet_stderr.lines().count(), 1, "{quiet_stderr}");
}

#[test]
fn list_the_callers_own_keys() {
    let world = world();
    let me = world.profile(PROFILE);
    let (stdout, stderr) = run(&mut ali(&world, &["list", "-o", "json"]), 0);
    assert_no_secret(&world, &stderr);
    let records = json_array(&stdout);
    assert_eq!(records.len(), 1, "{stdout}");
    let key = &records[0];
    assert_eq!(key["provider"], "alibaba");
    assert_eq!(key["profile"], PROFILE);
    assert_eq!(key["account_id"], TEST_ACCOUNT);
    assert_eq!(key["user"], "admin");
    assert_eq!(key["access_key_id"], me.access_key_id.as_str());
    assert_eq!(key["status"], "active");
    assert_eq!(key["age_days"], 90);
    // The key signed the very calls that listed it: used just now.
    assert_eq!(key["idle_days"], 0);
    assert!(key["last_used_at"].as_str().unwrap().ends_with('Z'));
    let user_id = key["user_id"].as_str().unwrap();
    assert_eq!(user_id.len(), 16);
    assert!(user_id.bytes().all(|b| b.is_ascii_digit()));
}

#[test]
fn list_one_user_with_ages_and_last_use() {
    let world = world();
    let alice = user_keys(&world, "alice");
    let (stdout, _) = run(
        &mut ali(&world, &["list", "--user", "alice", "-o", "json"]),
        0,
    );
    let records = json_array(&stdout);
    assert_eq!(records.len(), 2, "{stdout}");
    let old = by_id(&records, &alice[0].access_key_id);
    assert_eq!(old["user"], "alice");
    assert_eq!(old["status"], "active");
    assert_eq!(old["age_days"], 200);
    assert_eq!(old["idle_days"], 100);
    assert_eq!(
        old["last_used_at"].as_str().unwrap(),
        alice[0]
            .last_used
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    );
    // RAM tells the time of last use only.
    assert!(old["last_used_service"].is_null());
    let new = by_id(&records, &alice[1].access_key_id);
    assert_eq!(new["age_days"], 10);
    assert!(new["last_used_at"].is_null());
    assert_eq!(new["idle_days"], 10);
    // Listing others' keys does not count as their use.
    assert!(user_keys(&world, "alice")[1].last_used.is_none());
}

#[test]
fn list_all_users_reads_every_page() {
    let world = world();
    let (stdout, stderr) = run(&mut ali(&world, &["list", "--all-users", "-o", "json"]), 0);
    assert_no_secret(&world, &stderr);
    let records = json_array(&stdout);
    let users: Vec<&str> = records
        .iter()
        .map(|r| r["user"].as_str().unwrap())
        .collect();
    // carol (no keys) is on the second ListUsers page with nothing to show; sorted by user.
    assert_eq!(users, ["admin", "alice", "alice", "bob"], "{stdout}");
    let bob = &records[3];
    assert_eq!(bob["status"], "inactive");
    assert_eq!(bob["age_days"], 400);
    assert!(bob["last_used_at"].is_null());
    assert!(records
        .iter()
        .all(|r| r["user_id"].as_str().is_some_and(|id| id.len() == 16)));
    let pages = world.with_state(|s| s.alibaba.calls.iter().filter(|c| *c == "ListUsers").count());
    assert_eq!(pages, 2, "the test seed pages ListUsers by 3");
    // carol has no keys: the credential report says so, and hers are not asked for.
    let lists = world.with_state(|s| {
        s.alibaba
            .calls
            .iter()
            .filter(|c| *c == "ListAccessKeys")
            .count()
    });
    assert_eq!(lists, 3);
}

#[test]
fn list_as_csv_and_ndjson() {
    let world = world();
    let (stdout, _) = run(&mut ali(&world, &["list", "--all-users", "-o", "csv"]), 0);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{stdout}");
    assert!(lines[0].starts_with("provider,profile,account_id,user,user_id,access_key_id,status"));
    let bob_key = &user_keys(&world, "bob")[0].access_key_id;
    let bob_line = lines.iter().find(|l| l.contains(bob_key.as_str())).unwrap();
    assert!(bob_line.starts_with(&format!("alibaba,{PROFILE},{TEST_ACCOUNT},bob,")));
    assert!(bob_line.contains(",inactive,"));
    let (stdout, _) = run(
        &mut ali(&world, &["list", "--user", "alice", "-o", "ndjson"]),
        0,
    );
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines
        .iter()
        .all(|r| r["user"] == "alice" && r["provider"] == "alibaba"));
}

#[test]
fn last_used_of_one_key() {
    let world = world();
    let alice = user_keys(&world, "alice");
    let (stdout, _) = run(
        &mut ali(
            &world,
            &[
                "last-used",
                &alice[0].access_key_id,
                "--user",
                "alice",
                "-o",
                "json",
            ],
        ),
        0,
    );
    let records = json_array(&stdout);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["idle_days"], 100);
    assert_eq!(records[0]["age_days"], 200);
    let (stdout, _) = run(
        &mut ali(
            &world,
            &[
                "last-used",
                &alice[1].access_key_id,
                "--user",
                "alice",
                "-o",
                "json",
            ],
        ),
        0,
    );
    assert!(json_array(&stdout)[0]["last_used_at"].is_null());
}

#[test]
fn create_prints_the_secret_once_and_the_third_key_is_refused() {
    let world = world();
    let (stdout, stderr) = run(
        &mut ali(&world, &["create", "--user", "carol", "-o", "json"]),
        0,
    );
    let created = json_array(&stdout);
    assert_eq!(created.len(), 1);
    let id = created[0]["access_key_id"].as_str().unwrap();
    let secret = created[0]["secret_access_key"].as_str().unwrap();
    assert!(id.starts_with("LTAI"), "{id}");
    assert_eq!(secret.len(), 30);
    assert_eq!(created[0]["user"], "carol");
    assert_eq!(created[0]["status"], "active");
    assert_eq!(created[0]["account_id"], TEST_ACCOUNT);
    assert!(!stderr.contains(secret));
    let carol = user_keys(&world, "carol");
    assert_eq!(carol.len(), 1);
    assert_eq!(carol[0].access_key_id, id);
    assert_eq!(carol[0].secret, secret);
    // The list never shows a secret.
    let (stdout, _) = run(
        &mut ali(&world, &["list", "--user", "carol", "-o", "json"]),
        0,
    );
    assert!(!stdout.contains(secret));
    assert!(json_array(&stdout)[0].get("secret_access_key").is_none());

    // alice already has two keys.
    let (stdout, stderr) = run(&mut ali(&world, &["create", "--user", "alice"]), 3);
    assert!(stdout.is_empty(), "{stdout}");
    // Refused before any create call, naming both keys.
    assert_one_line_error(&stderr, "already has 2 keys");
    assert!(stderr.contains("alibaba"), "{stderr}");
    for key in user_keys(&world, "alice") {
        assert!(stderr.contains(&key.access_key_id), "{stderr}");
    }
    assert_eq!(user_keys(&world, "alice").len(), 2);
    assert_no_secret(&world, &stderr);
}

#[test]
fn create_saves_to_a_private_file_and_never_overwrites() {
    let world = world();
    let path = world.home().join("carol-key.json");
    let path_arg = path.to_str().unwrap();
    let (stdout, stderr) = run(
        &mut ali(
            &world,
            &[
                "create", "--user", "carol", "--save", path_arg, "-o", "json",
            ],
        ),
        0,
    );
    let carol = user_keys(&world, "carol");
    assert_eq!(carol.len(), 1);
    let secret = &carol[0].secret;
    assert!(!stdout.contains(secret.as_str()), "{stdout}");
    assert!(!stderr.contains(secret.as_str()), "{stderr}");
    assert!(json_array(&stdout)[0].get("secret_access_key").is_none());
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(saved["secret_access_key"], secret.as_str());
    assert_eq!(saved["access_key_id"], carol[0].access_key_id.as_str());
    assert_eq!(saved["provider"], "alibaba");
    assert_eq!(saved["user"], "carol");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let before = std::fs::read(&path).unwrap();
    let (_, stderr) = run(
        &mut ali(&world, &["create", "--user", "carol", "--save", path_arg]),
        2,
    );
    assert_one_line_error(&stderr, "already exists");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    // Refused before anything was created.
    assert_eq!(user_keys(&world, "carol").len(), 1);
}

#[test]
fn disable_and_enable_change_the_real_status() {
    let world = world();
    let key = user_keys(&world, "alice")[1].access_key_id.clone();
    let (stdout, _) = run(
        &mut ali(&world, &["disable", &key, "--user", "alice", "-o", "json"]),
        0,
    );
    assert_eq!(json_array(&stdout)[0]["status"], "inactive");
    assert_eq!(user_keys(&world, "alice")[1].status, KeyStatus::Inactive);
    // The first key was not touched.
    assert_eq!(user_keys(&world, "alice")[0].status, KeyStatus::Active);
    let (stdout, _) = run(
        &mut ali(&world, &["enable", &key, "--user", "alice", "-o", "json"]),
        0,
    );
    assert_eq!(json_array(&stdout)[0]["status"], "active");
    assert_eq!(user_keys(&world, "alice")[1].status, KeyStatus::Active);
    // A key of another user is not found under alice.
    let bob_key = user_keys(&world, "bob")[0].access_key_id.clone();
    let (_, stderr) = run(
        &mut ali(&world, &["enable", &bob_key, "--user", "alice"]),
        3,
    );
    assert_one_line_error(&stderr, &bob_key);
    assert_eq!(user_keys(&world, "bob")[0].status, KeyStatus::Inactive);
}

#[test]
fn a_disabled_key_stops_working() {
    let world = world();
    let me = world.profile(PROFILE);
    run(
        &mut ali(&world, &["disable", &me.access_key_id, "-o", "json"]),
        0,
    );
    let (_, stderr) = run(&mut ali(&world, &["whoami"]), 3);
    assert_one_line_error(&stderr, "InvalidAccessKeyId.Inactive");
}

#[test]
fn delete_needs_yes_without_a_terminal() {
    let world = world();
    let key = user_keys(&world, "bob")[0].access_key_id.clone();
    let (_, stderr) = run(&mut ali(&world, &["delete", &key, "--user", "bob"]), 2);
    assert_one_line_error(&stderr, "--yes");
    assert_eq!(user_keys(&world, "bob").len(), 1);
    let (stdout, _) = run(
        &mut ali(
            &world,
            &["delete", &key, "--user", "bob", "--yes", "-o", "json"],
        ),
        0,
    );
    let deleted: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(deleted["deleted"], true);
    assert_eq!(deleted["access_key_id"], key.as_str());
    assert!(user_keys(&world, "bob").is_empty());
    // Gone: a second delete finds nothing.
    let (_, stderr) = run(
        &mut ali(&world, &["delete", &key, "--user", "bob", "--yes"]),
        3,
    );
    assert_one_line_error(&stderr, &key);
}

#[test]
fn whoami_names_the_ram_user() {
    let world = world();
    let me = world.profile(PROFILE);
    let (stdout, _) = run(&mut ali(&world, &["whoami", "-o", "json"]), 0);
    let identities = json_array(&stdout);
    assert_eq!(identities.len(), 1);
    let id = &identities[0];
    assert_eq!(id["provider"], "alibaba");
    assert_eq!(id["type"], "user");
    assert_eq!(id["user"], "admin");
    assert_eq!(id["account_id"], TEST_ACCOUNT);
    assert_eq!(id["arn"], format!("acs:ram::{TEST_ACCOUNT}:user/admin"));
    assert_eq!(id["access_key_id"], me.access_key_id.as_str());
    let user_id = world.with_state(|s| {
        s.alibaba
            .account(TEST_ACCOUNT)
            .and_then(|a| a.user("admin"))
            .map(|u| u.user_id.clone())
    });
    assert_eq!(id["user_id"].as_str(), user_id.as_deref());
}

#[test]
fn a_wrong_secret_is_refused_in_one_line() {
    let world = world();
    let me = world.profile(PROFILE);
    let config = world.home().join("bad.toml");
    let wrong = "WrongSecretWrongSecretWrong123";
    std::fs::write(
        &config,
        format!(
            "[profiles.bad]\nprovider = \"alibaba\"\naccess_key_id = \"{}\"\nsecret_access_key = \"{wrong}\"\nendpoint = \"{}\"\n",
            me.access_key_id,
            world.endpoint()
        ),
    )
    .unwrap();
    private(&config);
    let mut cmd = world.bare_cmd();
    cmd.args(["--config", config.to_str().unwrap(), "-p", "bad", "list"]);
    let (stdout, stderr) = run(&mut cmd, 3);
    // The list command still says it found nothing; no key shows.
    assert!(!stdout.contains("LTAI"), "{stdout}");
    assert_one_line_error(&stderr, "SignatureDoesNotMatch");
    assert!(stderr.contains("bad"), "{stderr}");
    assert!(!stderr.contains(wrong));
    assert_no_secret(&world, &stderr);
    // JSON errors carry the same facts.
    let mut cmd = world.bare_cmd();
    cmd.args([
        "--config",
        config.to_str().unwrap(),
        "-p",
        "bad",
        "whoami",
        "-o",
        "json",
    ]);
    let (_, stderr) = run(&mut cmd, 3);
    let error: Value = serde_json::from_str(stderr.trim()).unwrap();
    assert_eq!(error["code"], "SignatureDoesNotMatch");
    assert_eq!(error["error"], "auth");
    assert_eq!(error["provider"], "alibaba");
    assert!(error["request_id"].is_string());
}

#[test]
fn an_unknown_user_is_a_refusal() {
    let world = world();
    let (stdout, stderr) = run(&mut ali(&world, &["list", "--user", "nobody"]), 3);
    assert!(
        stdout.trim().is_empty() || stdout.contains("no access keys"),
        "{stdout}"
    );
    assert_one_line_error(&stderr, "EntityNotExist.User");
    let (_, stderr) = run(&mut ali(&world, &["create", "--user", "nobody"]), 3);
    assert_one_line_error(&stderr, "EntityNotExist.User");
}

#[test]
fn a_malformed_key_id_is_a_usage_error() {
    let world = world();
    let (_, stderr) = run(&mut ali(&world, &["disable", "LTAI-not!an/id"]), 2);
    assert_one_line_error(&stderr, "invalid access key id");
    assert!(!stderr.contains("LTAI-not!an/id"));
    // Nothing reached the sandbox.
    assert!(world.with_state(|s| s.alibaba.calls.is_empty()));
}

#[test]
fn the_key_prefix_picks_alibaba_without_a_profile() {
    let world = world();
    let alice = user_keys(&world, "alice")[0].access_key_id.clone();
    // No -p: the LTAI prefix selects the one Alibaba profile of the config.
    let (stdout, _) = run(
        &mut world.cmd(["last-used", &alice, "--user", "alice", "-o", "json"]),
        0,
    );
    assert_eq!(json_array(&stdout)[0]["provider"], "alibaba");
}

#[test]
fn the_account_itself_lists_its_own_keys_besides_its_users() {
    let world = World::with_seed(cloudkeys::sandbox::Seed::Demo);
    private(world.config_path());
    let root = world.profile("alibaba-root");
    let (stdout, stderr) = run(
        &mut world.cmd(["-p", "alibaba-root", "list", "--all-users", "-o", "json"]),
        0,
    );
    assert_no_secret(&world, &stderr);
    let records = json_array(&stdout);
    let own = by_id(&records, &root.access_key_id);
    assert_eq!(own["user"], "<root>");
    assert_eq!(own["age_days"], 1300);
    let users: std::collections::BTreeSet<&str> = records
        .iter()
        .map(|r| r["user"].as_str().unwrap())
        .collect();
    assert_eq!(
        users.into_iter().collect::<Vec<_>>(),
        ["<root>", "deploy-bot", "ops", "oss-backup", "zhang.wei"]
    );
    let (stdout, _) = run(
        &mut world.cmd(["-p", "alibaba-root", "whoami", "-o", "json"]),
        0,
    );
    let me = &json_array(&stdout)[0];
    assert_eq!(me["type"], "root");
    assert!(me["user"].is_null());
    assert_eq!(me["account_id"], root.account_id.as_str());
}

/// RAM refuses an `x-acs-date` more than 15 minutes off with 400 `InvalidTimeStamp.Expired`
/// "Specified time stamp or date value is expired.": the client corrects its clock once from the
/// server's Date header and retries, whichever way the clock is off.
#[test]
fn an_hour_of_clock_skew_either_way_is_corrected() {
    for hours in [1, -1] {
        let world = world();
        world.with_state(|s| s.settings.clock_skew = chrono::Duration::hours(hours));
        let (stdout, stderr) = run(&mut ali(&world, &["-v", "list", "-o", "json"]), 0);
        assert_eq!(json_array(&stdout).len(), 1, "{hours}h: {stdout}");
        assert!(
            stderr.contains("clock skew corrected"),
            "{hours}h: {stderr}"
        );
        // Without the correcting retry the cloud's own answer is what the user sees.
        let (_, stderr) = run(&mut ali(&world, &["--retries", "0", "whoami"]), 0);
        assert!(!stderr.contains("InvalidTimeStamp"), "{stderr}");
    }
}

/// The account's own AccessKeys are changed by RAM calls without `UserName`: with a root
/// profile, `disable`, `enable` and `delete` of a root key work named `<root>` or not, and the
/// label never reaches the wire. A RAM identity cannot reach those keys: refused before sending.
#[test]
fn the_account_disables_enables_and_deletes_its_own_keys() {
    use cloudkeys::sandbox::alibaba::DEMO_ACCOUNT;
    let world = World::with_seed(cloudkeys::sandbox::Seed::Demo);
    private(world.config_path());
    let root_keys = || {
        world.with_state(|s| {
            s.alibaba
                .account(DEMO_ACCOUNT)
                .map(|a| a.root_keys.clone())
                .unwrap_or_default()
        })
    };
    let cmd = |profile: &str, args: &[&str]| {
        let mut all = vec!["-p", profile];
        all.extend_from_slice(args);
        world.cmd(all)
    };
    // A second key of the account, so the profile's own key keeps signing.
    let (stdout, _) = run(&mut cmd("alibaba-root", &["create", "-o", "json"]), 0);
    let created = &json_array(&stdout)[0];
    assert_eq!(created["user"], "<root>");
    let key = created["access_key_id"].as_str().unwrap().to_string();
    assert_eq!(root_keys().len(), 2);
    let status = |id: &str| {
        root_keys()
            .iter()
            .find(|k| k.access_key_id == id)
            .map(|k| k.status)
    };
    for named in [false, true] {
        let user: &[&str] = if named { &["--user", "<root>"] } else { &[] };
        let (_, stderr) = run(
            &mut cmd("alibaba-root", &[&["disable", &key], user].concat()),
            0,
        );
        assert_eq!(
            status(&key),
            Some(KeyStatus::Inactive),
            "named {named}: {stderr}"
        );
        let (_, stderr) = run(
            &mut cmd("alibaba-root", &[&["enable", &key], user].concat()),
            0,
        );
        assert_eq!(
            status(&key),
            Some(KeyStatus::Active),
            "named {named}: {stderr}"
        );
    }
    // A RAM administrator naming `<root>` is refused locally (exit 2), nothing sent or changed.
    let calls_before = world.with_state(|s| s.alibaba.calls.len());
    let (_, stderr) = run(
        &mut cmd("alibaba-admin", &["disable", &key, "--user", "<root>"]),
        2,
    );
    assert_one_line_error(&stderr, "only the account itself");
    assert_eq!(status(&key), Some(KeyStatus::Active));
    let sent: Vec<String> = world.with_state(|s| s.alibaba.calls[calls_before..].to_vec());
    assert!(
        !sent
            .iter()
            .any(|c| c == "ListAccessKeys" || c == "UpdateAccessKey"),
        "{sent:?}"
    );
    let (_, stderr) = run(
        &mut cmd(
            "alibaba-root",
            &["delete", &key, "--user", "<root>", "--yes"],
        ),
        0,
    );
    assert_eq!(status(&key), None, "{stderr}");
    assert_eq!(root_keys().len(), 1);
}
