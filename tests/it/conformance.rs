//! The scenarios every cloud shares, written once and run per cloud from `CLOUDS`' entries:
//! `conformance::<cloud>::<scenario>`. Expectations that differ by cloud come from its
//! `Cloud` descriptor; what only one cloud has lives in that cloud's module.

use std::time::{Duration, Instant};

use chrono::Utc;
use cloudkeys::model::{format_time, KeyStatus};
use serde_json::Value;

use crate::common::{
    add_profile, append_config, assert_no_secret, assert_nothing_leaked, assert_one_line_error,
    assert_role_profile_never_rotated, comparable, fault, json_array, ndjson, private, refused,
    run, scan_all_users, whoami, Cloud, Effect, Fault, Key, World,
};

/// One `#[test]` per cloud and scenario, named `<cloud>::<scenario>`.
macro_rules! per_cloud {
    ($($scenario:ident),* $(,)?) => {
        mod aws { $( #[test] fn $scenario() { super::$scenario(&crate::common::AWS) } )* }
        mod tencent { $( #[test] fn $scenario() { super::$scenario(&crate::common::TENCENT) } )* }
        mod alibaba { $( #[test] fn $scenario() { super::$scenario(&crate::common::ALIBABA) } )* }
        mod huawei { $( #[test] fn $scenario() { super::$scenario(&crate::common::HUAWEI) } )* }
    };
}

per_cloud!(
    list_own_keys,
    list_one_user,
    list_all_users_in_every_format,
    list_pages_through_many_users,
    last_used_of_one_key,
    create_prints_the_secret_once,
    a_third_key_is_refused,
    create_saves_a_private_file_and_never_overwrites,
    disable_and_enable_change_the_key_in_the_cloud,
    a_disabled_key_stops_signing,
    delete_needs_yes_without_a_terminal,
    whoami_names_account_user_and_key,
    a_wrong_secret_is_refused_in_one_line,
    an_unknown_user_is_the_clouds_refusal,
    a_malformed_key_id_is_a_usage_error_sent_nowhere,
    an_hour_of_clock_skew_either_way_is_corrected,
    reads_survive_throttling_faults_and_drops,
    persistent_faults_end_in_exit_4_after_the_retries,
    slow_answers_hit_the_timeout,
    a_create_is_never_repeated_and_a_lost_answer_is_explained,
    fault_matrix_every_command,
    the_account_manages_its_own_keys,
    an_organization_is_audited_and_revoked_through_the_management_profile_alone,
    a_role_profile_reads_another_account_with_no_key_of_it,
    a_chain_of_two_roles_works_and_an_untrusted_source_is_refused,
    a_role_profile_is_never_rotated_or_saved,
    role_credentials_are_assumed_again_before_they_expire,
);

fn time(key_time: &chrono::DateTime<Utc>) -> Value {
    Value::String(format_time(key_time))
}

/// The fields every record of a test-seed key of `user` carries (`named`: listed by `--user`).
fn assert_record_of(cloud: &Cloud, world: &World, record: &Value, user: &str, named: bool) {
    assert_eq!(record["provider"], cloud.name().as_str(), "{record}");
    assert_eq!(record["profile"], cloud.admin, "{record}");
    assert_eq!(record["account_id"], cloud.account, "{record}");
    assert_eq!(record["user"], user, "{record}");
    if cloud.user_by_id || !named {
        let id = world.user_id(cloud.kind, user);
        assert_eq!(record["user_id"], id.as_str(), "{record}");
    }
    // Exact stamps everywhere in the test seed: no day precision.
    assert!(record.get("last_used_precision").is_none(), "{record}");
    assert!(record.get("secret_access_key").is_none(), "{record}");
}

fn list(cloud: &Cloud, world: &World, args: &[&str]) -> Vec<Value> {
    let (stdout, stderr) = run(&mut cloud.cmd(world, args), 0);
    assert_no_secret(world, &stdout);
    assert_no_secret(world, &stderr);
    json_array(&stdout)
}

fn list_own_keys(cloud: &Cloud) {
    let world = World::new();
    let admin = world.profile(cloud.admin);
    let records = list(cloud, &world, &["list", "-o", "json"]);
    assert_eq!(records.len(), 1, "{records:?}");
    let record = &records[0];
    assert_record_of(cloud, &world, record, "admin", false);
    assert_eq!(record["access_key_id"], admin.access_key_id.as_str());
    assert_eq!(record["status"], "active");
    assert_eq!(record["age_days"], 90);
    let key = &cloud.keys(&world, "admin")[0];
    assert_eq!(record["created_at"], time(&key.created_at));
    // The key signed these very calls, so it was just used.
    let used = key.last_used.expect("use recorded");
    assert_eq!(record["last_used_at"], time(&used));
    assert!((Utc::now() - used).num_seconds() < 60);
    assert!(record["last_used_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(record["idle_days"], 0);
    if cloud.last_used_where.is_some() {
        assert_eq!(record["last_used_service"], "iam");
    }

    let (table, _) = run(&mut cloud.cmd(&world, &["list"]), 0);
    assert!(table.contains(&admin.access_key_id), "{table}");
    assert!(table.contains("admin"), "{table}");
}

fn list_one_user(cloud: &Cloud) {
    let world = World::new();
    let alice = cloud.keys(&world, "alice");
    let alice_id = world.user_id(cloud.kind, "alice");
    let mut names = vec!["alice"];
    if cloud.user_by_id {
        names.push(&alice_id);
    }
    for who in names {
        let records = list(cloud, &world, &["list", "--user", who, "-o", "json"]);
        assert_eq!(records.len(), 2, "{who}: {records:?}");
        // Sorted by creation: the 200-day-old key first.
        let (old, new) = (&records[0], &records[1]);
        assert_eq!(old["access_key_id"], alice[0].id.as_str());
        assert_eq!(new["access_key_id"], alice[1].id.as_str());
        for record in &records {
            assert_record_of(cloud, &world, record, "alice", true);
            assert_eq!(record["status"], "active");
        }
        assert_eq!(old["age_days"], 200);
        assert_eq!(old["last_used_at"], time(&alice[0].last_used.unwrap()));
        assert_eq!(old["idle_days"], 100);
        match cloud.last_used_where {
            Some((service, region)) => {
                assert_eq!(old["last_used_service"], service);
                assert_eq!(old["last_used_region"], region);
            }
            None => assert!(old["last_used_service"].is_null(), "{old}"),
        }
        assert_eq!(new["age_days"], 10);
        assert!(new["last_used_at"].is_null());
        assert!(new["last_used_precision"].is_null());
        // A never-used key is idle since its creation.
        assert_eq!(new["idle_days"], 10);
    }
    // Listing others' keys does not count as their use.
    assert_eq!(cloud.keys(&world, "alice"), alice);

    // bob's only key is inactive and 400 days old.
    let bob = list(cloud, &world, &["list", "--user", "bob", "-o", "json"]);
    assert_eq!(bob.len(), 1);
    assert_record_of(cloud, &world, &bob[0], "bob", true);
    assert_eq!(bob[0]["status"], "inactive");
    assert_eq!(bob[0]["age_days"], 400);
    assert_eq!(bob[0]["idle_days"], 400);
    // carol has none.
    assert!(list(cloud, &world, &["list", "--user", "carol", "-o", "json"]).is_empty());
}

fn list_all_users_in_every_format(cloud: &Cloud) {
    let world = World::new();
    let ids = |user: &str| -> Vec<String> {
        cloud.keys(&world, user).into_iter().map(|k| k.id).collect()
    };
    let (admin, alice, bob) = (ids("admin"), ids("alice"), ids("bob"));
    let records = list(cloud, &world, &["list", "--all-users", "-o", "json"]);
    let rows: Vec<(&str, &str, &str, i64)> = records
        .iter()
        .map(|r| {
            (
                r["user"].as_str().unwrap(),
                r["access_key_id"].as_str().unwrap(),
                r["status"].as_str().unwrap(),
                r["age_days"].as_i64().unwrap(),
            )
        })
        .collect();
    // carol (no keys) has nothing to show; sorted by user, then creation.
    assert_eq!(
        rows,
        [
            ("admin", admin[0].as_str(), "active", 90),
            ("alice", alice[0].as_str(), "active", 200),
            ("alice", alice[1].as_str(), "active", 10),
            ("bob", bob[0].as_str(), "inactive", 400),
        ]
    );
    for record in &records {
        let user = record["user"].as_str().unwrap();
        assert_record_of(cloud, &world, record, user, false);
    }
    assert!(records[3]["last_used_at"].is_null());

    let (csv, _) = run(
        &mut cloud.cmd(&world, &["list", "--all-users", "-o", "csv"]),
        0,
    );
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(
        lines[0].starts_with("provider,profile,account_id,user,user_id,access_key_id,status"),
        "{csv}"
    );
    // Every last use is an exact stamp here: no record has day precision, so no such column.
    assert!(!lines[0].contains("last_used_precision"), "{csv}");
    let bob_line = format!(
        "{},{},{},bob,{},{},inactive,",
        cloud.name(),
        cloud.admin,
        cloud.account,
        world.user_id(cloud.kind, "bob"),
        bob[0]
    );
    assert!(lines[4].starts_with(&bob_line), "{csv}");

    let (text, _) = run(
        &mut cloud.cmd(&world, &["list", "--all-users", "-o", "ndjson"]),
        0,
    );
    let objects = ndjson(&text);
    assert_eq!(objects.len(), 4);
    assert_eq!(objects[3]["user"], "bob");
    assert_eq!(objects[1]["access_key_id"], alice[0].as_str());
    assert_eq!(objects[1]["idle_days"], 100);
    assert!(objects[1]["last_used_at"].is_string());
    assert!(objects[1].get("last_used_precision").is_none());

    let (table, _) = run(&mut cloud.cmd(&world, &["list", "-a"]), 0);
    assert!(
        table.contains("alice") && table.contains("inactive"),
        "{table}"
    );
    assert!(!table.contains('\u{1b}'), "no colour without a TTY");
}

fn list_pages_through_many_users(cloud: &Cloud) {
    let world = World::new();
    let names: Vec<String> = (0..150).map(|i| format!("svc-{i:03}")).collect();
    world.add_users(cloud.kind, &names);
    for i in [0, 99, 100, 149] {
        world.add_key(cloud.kind, &names[i], chrono::Duration::zero());
    }
    let (stdout, _) = run(
        &mut cloud.cmd(
            &world,
            &["list", "--all-users", "--no-last-used", "-o", "ndjson"],
        ),
        0,
    );
    let users: Vec<String> = ndjson(&stdout)
        .iter()
        .map(|r| r["user"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(users.len(), 8, "{stdout}");
    for name in ["svc-000", "svc-099", "svc-100", "svc-149"] {
        assert!(users.iter().any(|u| u == name), "{name} missing: {users:?}");
    }
}

fn last_used_of_one_key(cloud: &Cloud) {
    let world = World::new();
    let alice = cloud.keys(&world, "alice");
    let last_used = |id: &str, output: &[&str]| {
        let mut args = vec!["last-used", id, "--user", "alice"];
        args.extend_from_slice(output);
        run(&mut cloud.cmd(&world, &args), 0).0
    };
    let records = json_array(&last_used(&alice[0].id, &["-o", "json"]));
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record["access_key_id"], alice[0].id.as_str());
    assert_eq!(record["last_used_at"], time(&alice[0].last_used.unwrap()));
    assert!(record.get("last_used_precision").is_none(), "{record}");
    assert_eq!(record["idle_days"], 100);
    assert_eq!(record["age_days"], 200);
    if let Some((service, _)) = cloud.last_used_where {
        assert_eq!(record["last_used_service"], service);
    }
    // Never used is an answer, not an error.
    let never = json_array(&last_used(&alice[1].id, &["-o", "json"]));
    assert!(never[0]["last_used_at"].is_null());
    let table = last_used(&alice[1].id, &[]);
    assert!(table.contains("never"), "{table}");
}

fn create_prints_the_secret_once(cloud: &Cloud) {
    let world = World::new();
    let (stdout, stderr) = run(
        &mut cloud.cmd(&world, &["create", "--user", "carol", "-o", "json"]),
        0,
    );
    let created = json_array(&stdout);
    assert_eq!(created.len(), 1);
    let record = &created[0];
    let id = record["access_key_id"].as_str().unwrap();
    let secret = record["secret_access_key"].as_str().unwrap();
    let (prefix, len) = cloud.key_id;
    assert!(id.starts_with(prefix) && id.len() == len, "{id}");
    assert_eq!(secret.len(), cloud.secret_len);
    assert_eq!(record["provider"], cloud.name().as_str());
    assert_eq!(record["account_id"], cloud.account);
    assert_eq!(record["user"], "carol");
    if cloud.user_by_id {
        let carol = world.user_id(cloud.kind, "carol");
        assert_eq!(record["user_id"], carol.as_str());
    }
    assert_eq!(record["status"], "active");
    assert_eq!(record["age_days"], 0);
    let made = chrono::DateTime::parse_from_rfc3339(record["created_at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc);
    assert!((Utc::now() - made).num_seconds().abs() < 60, "{made}");
    assert!(!stderr.contains(secret));
    assert_no_secret(&world, &stderr);
    // The cloud holds that key, with that secret.
    let carol = cloud.keys(&world, "carol");
    assert_eq!(carol.len(), 1);
    assert_eq!(
        (
            carol[0].id.as_str(),
            carol[0].secret.as_str(),
            carol[0].status
        ),
        (id, secret, KeyStatus::Active)
    );
    // The list never shows a secret.
    let (stdout, _) = run(
        &mut cloud.cmd(&world, &["list", "--user", "carol", "-o", "json"]),
        0,
    );
    assert!(!stdout.contains(secret));
    assert!(json_array(&stdout)[0].get("secret_access_key").is_none());
}

fn a_third_key_is_refused(cloud: &Cloud) {
    let world = World::new();
    let before = cloud.keys(&world, "alice");
    let (stdout, stderr) = run(&mut cloud.cmd(&world, &["create", "--user", "alice"]), 3);
    assert!(stdout.is_empty(), "{stdout}");
    // Refused before any create call, naming the profile and both keys.
    assert_one_line_error(&stderr, "already has 2 keys");
    let who = format!("{} ({})", cloud.name(), cloud.admin);
    assert!(stderr.contains(&who), "{stderr}");
    for key in &before {
        assert!(stderr.contains(&key.id), "{stderr}");
    }
    assert_eq!(cloud.keys(&world, "alice"), before);
    assert_eq!(world.calls_of(cloud.create), 0);
    assert_no_secret(&world, &stderr);
}

fn create_saves_a_private_file_and_never_overwrites(cloud: &Cloud) {
    let world = World::new();
    let path = world.home().join("carol-key.json");
    let path_arg = path.to_str().unwrap();
    let save = ["create", "--user", "carol", "--save", path_arg];
    let (stdout, stderr) = run(
        &mut cloud.cmd(&world, &[&save[..], &["-o", "json"]].concat()),
        0,
    );
    let carol = cloud.keys(&world, "carol");
    assert_eq!(carol.len(), 1);
    let secret = &carol[0].secret;
    assert!(
        !stdout.contains(secret.as_str()),
        "saved secrets are not printed"
    );
    assert!(!stderr.contains(secret.as_str()), "{stderr}");
    let shown = &json_array(&stdout)[0];
    assert_eq!(shown["access_key_id"], carol[0].id.as_str());
    assert!(shown.get("secret_access_key").is_none());
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(saved["secret_access_key"], secret.as_str());
    assert_eq!(saved["access_key_id"], carol[0].id.as_str());
    assert_eq!(saved["provider"], cloud.name().as_str());
    assert_eq!(saved["user"], "carol");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Refused before anything is created: the file is never overwritten.
    let before = std::fs::read(&path).unwrap();
    let stderr = refused(&mut cloud.cmd(&world, &save), 2, "refusing to overwrite");
    assert!(stderr.contains("already exists"), "{stderr}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(cloud.keys(&world, "carol").len(), 1);
}

fn disable_and_enable_change_the_key_in_the_cloud(cloud: &Cloud) {
    let world = World::new();
    let key = cloud.keys(&world, "alice")[1].id.clone();
    let status = |i: usize| cloud.keys(&world, "alice")[i].status;
    let (stdout, stderr) = run(
        &mut cloud.cmd(&world, &["disable", &key, "--user", "alice", "-o", "json"]),
        0,
    );
    assert_eq!(json_array(&stdout)[0]["status"], "inactive");
    assert!(stderr.contains("now inactive"), "{stderr}");
    assert_eq!(status(1), KeyStatus::Inactive);
    // The other key was not touched.
    assert_eq!(status(0), KeyStatus::Active);
    let alice_id = world.user_id(cloud.kind, "alice");
    // By the user's id too, where the cloud has one to type.
    let alice = if cloud.user_by_id {
        alice_id.as_str()
    } else {
        "alice"
    };
    let (stdout, _) = run(
        &mut cloud.cmd(&world, &["enable", &key, "--user", alice, "-o", "json"]),
        0,
    );
    assert_eq!(json_array(&stdout)[0]["status"], "active");
    assert_eq!(status(1), KeyStatus::Active);

    // A key of another user is not found under alice; one under an unknown user neither.
    let bob_key = cloud.keys(&world, "bob")[0].id.clone();
    let stderr = refused(
        &mut cloud.cmd(&world, &["enable", &bob_key, "--user", "alice"]),
        3,
        "no access key",
    );
    assert!(stderr.contains(&bob_key), "{stderr}");
    assert_eq!(cloud.keys(&world, "bob")[0].status, KeyStatus::Inactive);
    refused(
        &mut cloud.cmd(&world, &["disable", &key, "--user", "nobody"]),
        3,
        cloud.no_such_user,
    );
    assert_eq!(status(1), KeyStatus::Active);
}

fn a_disabled_key_stops_signing(cloud: &Cloud) {
    let world = World::new();
    let key = cloud.keys(&world, "alice")[1].clone();
    let region = format!("region = \"{}\"\n", world.profile(cloud.admin).region);
    add_profile(&world, "alice", cloud.kind, &key.id, &key.secret, &region);
    run(&mut world.as_profile("alice", &["whoami"]), 0);
    run(
        &mut cloud.cmd(&world, &["disable", &key.id, "--user", "alice"]),
        0,
    );
    refused(
        &mut world.as_profile("alice", &["whoami"]),
        3,
        cloud.inactive_key,
    );
    run(
        &mut cloud.cmd(&world, &["enable", &key.id, "--user", "alice"]),
        0,
    );
    run(&mut world.as_profile("alice", &["whoami"]), 0);
    // The profile's own key, disabled by itself, stops working too.
    let own = world.profile(cloud.admin).access_key_id;
    run(&mut cloud.cmd(&world, &["disable", &own, "-o", "json"]), 0);
    refused(&mut cloud.cmd(&world, &["whoami"]), 3, cloud.inactive_key);
}

fn delete_needs_yes_without_a_terminal(cloud: &Cloud) {
    let world = World::new();
    let key = cloud.keys(&world, "bob")[0].id.clone();
    // No terminal and no --yes: refused before any call.
    refused(
        &mut cloud.cmd(&world, &["delete", &key, "--user", "bob"]),
        2,
        "--yes",
    );
    assert_eq!(cloud.keys(&world, "bob").len(), 1);
    assert_eq!(world.calls_of(cloud.delete), 0);
    let (stdout, _) = run(
        &mut cloud.cmd(
            &world,
            &["delete", &key, "--user", "bob", "--yes", "-o", "json"],
        ),
        0,
    );
    let deleted: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(deleted["deleted"], true);
    assert_eq!(deleted["access_key_id"], key.as_str());
    assert!(cloud.keys(&world, "bob").is_empty());
    assert!(world.find_key(&key).is_none());
    // Gone: a second delete finds nothing.
    refused(
        &mut cloud.cmd(&world, &["delete", &key, "--user", "bob", "--yes"]),
        3,
        &key,
    );
    // The table says which key of whom went.
    let alice = cloud.keys(&world, "alice")[1].id.clone();
    let (stdout, _) = run(
        &mut cloud.cmd(&world, &["delete", &alice, "--user", "alice", "--yes"]),
        0,
    );
    assert!(
        stdout.contains(&alice) && stdout.contains("alice"),
        "{stdout}"
    );
    let left = cloud.keys(&world, "alice");
    assert_eq!(left.len(), 1);
    assert_ne!(left[0].id, alice);
}

fn whoami_names_account_user_and_key(cloud: &Cloud) {
    let world = World::new();
    let (stdout, _) = run(&mut cloud.cmd(&world, &["whoami", "-o", "json"]), 0);
    let identities = json_array(&stdout);
    assert_eq!(identities.len(), 1);
    let me = &identities[0];
    assert_eq!(me["provider"], cloud.name().as_str());
    assert_eq!(me["account_id"], cloud.account);
    assert_eq!(me["user"], "admin");
    assert_eq!(me["user_id"], world.user_id(cloud.kind, "admin").as_str());
    assert_eq!(me["type"], "user");
    assert_eq!(me["arn"], cloud.admin_arn);
    assert_eq!(
        me["access_key_id"],
        world.profile(cloud.admin).access_key_id.as_str()
    );
}

fn a_wrong_secret_is_refused_in_one_line(cloud: &Cloud) {
    let world = World::new();
    let real = world.profile(cloud.admin).secret_access_key;
    let wrong = "WrongSecretWrongSecretWrong123";
    let config = std::fs::read_to_string(world.config_path())
        .unwrap()
        .replace(&real, wrong);
    let bad = world.home().join("bad.toml");
    std::fs::write(&bad, config).unwrap();
    private(&bad);
    let with_bad = |args: &[&str]| {
        let mut cmd = world.bare_cmd();
        cmd.args(["--config", bad.to_str().unwrap(), "-p", cloud.admin])
            .args(args);
        cmd
    };
    let (stdout, stderr) = run(&mut with_bad(&["list"]), 3);
    assert!(
        stdout.is_empty(),
        "nothing to show when every profile failed: {stdout}"
    );
    assert_one_line_error(&stderr, cloud.bad_signature);
    let who = format!("{} ({})", cloud.name(), cloud.admin);
    assert!(stderr.contains(&who), "{stderr}");
    assert!(stderr.contains(cloud.bad_signature_text), "{stderr}");
    assert!(!stderr.contains(wrong) && !stderr.contains("WrongSecret"));
    assert!(!stderr.contains(&real));
    assert_no_secret(&world, &stderr);
    // With -o json the error is a JSON object on stderr naming the kind and code.
    for args in [&["whoami", "-o", "json"][..], &["list", "-o", "json"]] {
        let (_, stderr) = run(&mut with_bad(args), 3);
        let error: Value = serde_json::from_str(stderr.trim()).unwrap();
        assert_eq!(error["error"], "auth");
        assert_eq!(error["code"], cloud.bad_signature);
        assert_eq!(error["provider"], cloud.name().as_str());
        assert!(error["request_id"].is_string(), "{error}");
    }
}

fn an_unknown_user_is_the_clouds_refusal(cloud: &Cloud) {
    let world = World::new();
    let (stdout, stderr) = run(&mut cloud.cmd(&world, &["list", "--user", "nobody"]), 3);
    assert_one_line_error(&stderr, cloud.no_such_user);
    assert!(
        stdout.is_empty(),
        "nothing to show when every profile failed: {stdout}"
    );
    refused(
        &mut cloud.cmd(&world, &["create", "--user", "nobody"]),
        3,
        cloud.no_such_user,
    );
    assert_eq!(world.calls_of(cloud.create), 0);
}

fn a_malformed_key_id_is_a_usage_error_sent_nowhere(cloud: &Cloud) {
    let world = World::new();
    let (prefix, _) = cloud.key_id;
    for (args, bad) in [
        (vec!["disable"], format!("{prefix}!!bad")),
        (vec!["disable"], "not/a key!".to_string()),
        (vec!["delete", "--yes"], format!("{prefix}+x")),
    ] {
        let mut all = args.clone();
        all.insert(1, &bad);
        let (_, stderr) = run(&mut cloud.cmd(&world, &all), 2);
        // Not echoed: a pasted secret must not end up in a terminal log.
        assert_one_line_error(&stderr, "invalid access key id");
        assert!(!stderr.contains(&bad), "{stderr}");
    }
    assert_eq!(world.requests().0, 0, "nothing reached the cloud");
    assert_eq!(cloud.keys(&world, "alice").len(), 2);
}

/// The clouds refuse a request time far off theirs, each its own way (AWS 403
/// SignatureDoesNotMatch "Signature expired", Alibaba 400 InvalidTimeStamp.Expired, Huawei
/// 401 APIGW.0301 "signature expired", Tencent AuthFailure.SignatureExpire): the client
/// corrects its clock once from the answer's Date header and retries, whichever way it is off.
fn an_hour_of_clock_skew_either_way_is_corrected(cloud: &Cloud) {
    for hours in [1, -1] {
        let world = World::new();
        world.set_clock_skew(chrono::Duration::hours(hours));
        let (stdout, stderr) = run(&mut cloud.cmd(&world, &["-v", "whoami", "-o", "json"]), 0);
        assert_eq!(json_array(&stdout).len(), 1);
        assert!(
            stderr.contains("clock skew corrected"),
            "{hours}h: {stderr}"
        );
        let (stdout, stderr) = run(
            &mut cloud.cmd(&world, &["-v", "list", "--all-users", "-o", "json"]),
            0,
        );
        assert_eq!(json_array(&stdout).len(), 4, "{hours}h: {stdout}");
        assert!(
            stderr.contains("clock skew corrected"),
            "{hours}h: {stderr}"
        );
        // Once corrected within the run, no retry is needed for it: no refusal is shown.
        let (_, stderr) = run(&mut cloud.cmd(&world, &["--retries", "0", "whoami"]), 0);
        assert!(!stderr.contains("InvalidTimeStamp"), "{stderr}");
    }
}

fn stderr_is_one_line(stderr: &str) {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn reads_survive_throttling_faults_and_drops(cloud: &Cloud) {
    for effect in [Effect::Throttle, Effect::ServerError, Effect::Drop] {
        let world = World::new();
        world.inject(Fault::always(effect).provider(cloud.kind).every(2));
        let (stdout, stderr) = run(
            &mut cloud.cmd(&world, &["list", "--all-users", "-o", "json"]),
            0,
        );
        assert_eq!(json_array(&stdout).len(), 4, "{effect:?}: {stderr}");
    }
}

fn persistent_faults_end_in_exit_4_after_the_retries(cloud: &Cloud) {
    for (effect, needle) in [
        (Effect::Throttle, "after 3 attempts"),
        (Effect::ServerError, "after 3 attempts"),
        (Effect::Drop, "after 3 attempts"),
        (Effect::Truncate, ""),
    ] {
        let world = World::new();
        world.inject(Fault::always(effect).provider(cloud.kind));
        let (_, stderr) = run(&mut cloud.cmd(&world, &["--retries", "2", "whoami"]), 4);
        stderr_is_one_line(&stderr);
        assert!(stderr.contains(needle), "{effect:?}: {stderr}");
    }
}

fn slow_answers_hit_the_timeout(cloud: &Cloud) {
    let world = World::new();
    world.inject(Fault::always(Effect::Latency(Duration::from_secs(30))).provider(cloud.kind));
    let started = Instant::now();
    let (_, stderr) = run(
        &mut cloud.cmd(&world, &["--timeout", "1", "--retries", "1", "whoami"]),
        4,
    );
    stderr_is_one_line(&stderr);
    assert!(stderr.contains("timed out"), "{stderr}");
    // Two tries of one second each, not thirty.
    assert!(started.elapsed() < Duration::from_secs(20));
}

fn a_create_is_never_repeated_and_a_lost_answer_is_explained(cloud: &Cloud) {
    let carol = |world: &World| cloud.keys(world, "carol");
    // The cloud fails before acting: nothing was made, and we say it is safe to retry.
    let world = World::new();
    world.inject(fault(cloud.kind, Effect::ServerError, cloud.create));
    let (stdout, stderr) = run(&mut cloud.cmd(&world, &["create", "--user", "carol"]), 4);
    stderr_is_one_line(&stderr);
    assert!(stderr.contains("no key was created"), "{stderr}");
    assert!(stdout.is_empty());
    assert!(carol(&world).is_empty());

    // The cloud acts, then the answer is lost: one key exists, and we name it.
    let world = World::new();
    world.inject(fault(cloud.kind, Effect::LoseAnswer, cloud.create));
    let (_, stderr) = run(&mut cloud.cmd(&world, &["create", "--user", "carol"]), 4);
    stderr_is_one_line(&stderr);
    let keys: Vec<Key> = carol(&world);
    assert_eq!(keys.len(), 1, "created exactly once");
    assert_eq!(world.calls_of(cloud.create), 1);
    assert!(
        stderr.contains(&format!("did create key {}", keys[0].id)),
        "{stderr}"
    );
}

/// Every key command × every fault: each run succeeds (after retries) or ends with exit 4 and
/// one line — never a panic, a leaked secret or a half-written file.
fn fault_matrix_every_command(cloud: &Cloud) {
    let faults = [
        Fault::always(Effect::Throttle).every(2),
        Fault::always(Effect::ServerError),
        Fault::always(Effect::Drop),
        Fault::always(Effect::Truncate),
        Fault::always(Effect::Latency(Duration::from_secs(30))),
    ];
    for fault in faults {
        let world = World::new();
        let alice_key = cloud.keys(&world, "alice")[0].id.clone();
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
        let what_fault = format!("{:?}", fault.effect);
        world.inject(fault.provider(cloud.kind));
        let secrets = world.secrets();
        for command in &commands {
            let mut all = vec!["--timeout", "1", "--retries", "1"];
            all.extend(command.iter().copied());
            let output = cloud.cmd(&world, &all).output().unwrap();
            let code = output.status.code();
            let stderr = String::from_utf8_lossy(&output.stderr);
            let stdout = String::from_utf8_lossy(&output.stdout);
            let what = format!("{what_fault} {command:?}");
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
                assert!(!stderr.contains(secret), "{what}");
                // A created key's secret may show (it is not in `secrets`); no other may.
                assert!(!stdout.contains(secret), "{what}");
            }
            if command[0] == "create" && std::path::Path::new(&save).exists() {
                // Whole or absent: a saved file always parses and names a key.
                let doc: Value = serde_json::from_str(&std::fs::read_to_string(&save).unwrap())
                    .unwrap_or_else(|e| panic!("{what}: half-written save file: {e}"));
                assert!(doc["secret_access_key"].is_string(), "{what}");
            }
        }
    }
}

/// The account's own keys (AWS's root user, Tencent's owner, Alibaba's account, Huawei's root
/// user) are managed by the account with key calls that name no user: `<root>` as `--user` is
/// a label that never reaches the wire. Anyone else naming `<root>` is refused before sending.
fn the_account_manages_its_own_keys(cloud: &Cloud) {
    let world = World::new();
    let (id, secret) = world.add_key(cloud.kind, "<root>", chrono::Duration::days(30));
    let region = format!("region = \"{}\"\n", world.profile(cloud.admin).region);
    add_profile(&world, "root", cloud.kind, &id, &secret, &region);
    let root = |args: &[&str]| world.as_profile("root", args);
    let (stdout, _) = run(&mut root(&["whoami", "-o", "json"]), 0);
    assert_eq!(json_array(&stdout)[0]["type"], "root", "{stdout}");
    // A second key of the account, so the profile's own key keeps signing.
    let (stdout, _) = run(&mut root(&["create", "-o", "json"]), 0);
    let created = &json_array(&stdout)[0];
    assert_eq!(created["user"], cloud.root_user);
    let key = created["access_key_id"].as_str().unwrap().to_string();
    assert_eq!(world.keys(cloud.kind, "<root>").len(), 2);
    let (stdout, _) = run(&mut root(&["list", "-o", "json"]), 0);
    let records = json_array(&stdout);
    assert_eq!(records.len(), 2, "{stdout}");
    assert!(
        records.iter().all(|r| r["user"] == cloud.root_user),
        "{stdout}"
    );
    let status = || world.find_key(&key).map(|k| k.status);
    for named in [false, true] {
        let user: &[&str] = if named { &["--user", "<root>"] } else { &[] };
        let (_, stderr) = run(&mut root(&[&["disable", &key], user].concat()), 0);
        assert_eq!(
            status(),
            Some(KeyStatus::Inactive),
            "named {named}: {stderr}"
        );
        let (_, stderr) = run(&mut root(&[&["enable", &key], user].concat()), 0);
        assert_eq!(status(), Some(KeyStatus::Active), "named {named}: {stderr}");
    }
    // An administrator naming `<root>` is refused, locally where the client can tell (exit 2:
    // nothing sent), else by the cloud; nothing changes.
    if let Some((code, needle)) = cloud.root_refused {
        let sent = |w: &World| (w.calls_of(cloud.update), w.calls_of("ListAccessKeys"));
        let before = sent(&world);
        let (_, stderr) = run(
            &mut cloud.cmd(&world, &["disable", &key, "--user", "<root>"]),
            code,
        );
        assert_one_line_error(&stderr, needle);
        assert_eq!(status(), Some(KeyStatus::Active));
        if code == 2 {
            assert_eq!(sent(&world), before, "nothing sent");
        }
    }
    let (_, stderr) = run(&mut root(&["delete", &key, "--user", "<root>", "--yes"]), 0);
    assert_eq!(status(), None, "{stderr}");
    // `--user <root>` lists the account's own keys.
    let (stdout, _) = run(&mut root(&["list", "--user", "<root>", "-o", "json"]), 0);
    let records = json_array(&stdout);
    assert_eq!(records.len(), 1, "{stdout}");
    assert_eq!(records[0]["access_key_id"], id.as_str());
    let root_id = world.user_id(cloud.kind, "<root>");
    if !root_id.is_empty() {
        // Tencent's owner uin, Huawei's root user id (AWS and Alibaba give the account none).
        assert_eq!(records[0]["user_id"], root_id.as_str(), "{stdout}");
    }
    assert_eq!(world.keys(cloud.kind, "<root>").len(), 1);
}

/// Where the account refuses the credential report (AWS, Alibaba), the scan asks each key
/// instead, with one note naming the cloud's code; the records are those of `--exact`.
pub fn a_refused_credential_report_falls_back_with_a_note(cloud: &Cloud, code: &str) {
    let world = World::new();
    world.deny(&["GenerateCredentialReport"]);
    let admin = world.profile(cloud.admin).access_key_id;
    let (exact, _, _) = scan_all_users(&world, cloud.admin, &["--exact"]);
    let (records, _, stderr) = scan_all_users(&world, cloud.admin, &[]);
    assert_eq!(comparable(&records, &admin), comparable(&exact, &admin));
    assert!(records.iter().all(|r| r.get("last_used_as_of").is_none()));
    assert_eq!(world.calls_of("GetCredentialReport"), 0);
    let notes: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("no credential report"))
        .collect();
    assert_eq!(notes.len(), 1, "{stderr}");
    assert!(notes[0].contains(code), "{}", notes[0]);
    assert_no_secret(&world, &stderr);
    // Without -v the note is the only line on stderr.
    let (_, quiet) = run(
        &mut cloud.cmd(&world, &["list", "--all-users", "-o", "json"]),
        0,
    );
    assert_eq!(quiet.lines().count(), 1, "{quiet}");
}

/// `--org acme`: every active member account audited through the default member role, with no
/// key in the config but the management (admin) profile's; a member's leaked key revoked.
fn an_organization_is_audited_and_revoked_through_the_management_profile_alone(cloud: &Cloud) {
    let world = World::new();
    append_config(
        &world,
        &format!(
            "\n[organizations.acme]\nprovider = \"{}\"\nsource_profile = \"{}\"\n",
            cloud.name(),
            cloud.admin
        ),
    );
    let Some(org) = &cloud.org else {
        refused(
            &mut world.cmd(["--org", "acme", "list"]),
            2,
            "not supported yet",
        );
        return;
    };
    let config = std::fs::read_to_string(world.config_path()).unwrap();
    let (account, user) = org.user;
    let leaked = world.keys_in(cloud.kind, account, user);
    assert!(!leaked.is_empty(), "the seed gives {user} a key");
    assert!(
        !config.contains(&leaked[0].id),
        "no member key in the config"
    );

    let (stdout, stderr) = run(
        &mut world.cmd(["--org", "acme", "audit", "--all-users", "-o", "json"]),
        1,
    );
    assert_no_secret(&world, &format!("{stdout}{stderr}"));
    let findings = json_array(&stdout);
    let profiles: std::collections::BTreeSet<&str> = findings
        .iter()
        .filter_map(|f| f["profile"].as_str())
        .collect();
    let mut expected: std::collections::BTreeSet<String> =
        org.members.iter().map(|m| format!("acme/{m}")).collect();
    expected.insert(cloud.admin.to_string());
    for profile in &expected {
        assert!(profiles.contains(profile.as_str()), "{profile}: {stdout}");
    }
    assert!(stdout.contains(&leaked[0].id), "{stdout}");
    for skipped in org.skipped {
        assert!(
            !stdout.contains(skipped),
            "{skipped} is never read: {stdout}"
        );
    }
    assert_eq!(world.calls_of(org.assume), org.members.len() as u64);
    assert_eq!(world.calls_of(org.list_accounts), org.list_calls);

    let (profiles, _) = run(
        &mut world.cmd(["profiles", "--org", "acme", "-o", "json"]),
        0,
    );
    let mut names: Vec<String> = json_array(&profiles)
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        expected.into_iter().collect::<Vec<_>>(),
        "{profiles}"
    );

    let (stdout, stderr) = run(
        &mut world.cmd(["revoke", &leaked[0].id, "--org", "acme", "-o", "json"]),
        0,
    );
    assert!(
        stderr.contains(&format!("disabled {}", leaked[0].id)),
        "{stderr}"
    );
    assert!(stdout.contains(&format!("acme/{account}")), "{stdout}");
    assert_eq!(
        world.keys_in(cloud.kind, account, user)[0].status,
        KeyStatus::Inactive
    );
}

/// A role profile (Huawei: agency) reads the member account, which no key in the config
/// belongs to, assuming the role once a run; no temporary secret reaches output or file.
fn a_role_profile_reads_another_account_with_no_key_of_it(cloud: &Cloud) {
    let world = World::new();
    let roles = &cloud.roles;
    let extra = "role_session_name = \"audit-run\"\nduration_seconds = 900\n";
    cloud.add_role_profile(&world, "member", "KeyAuditor", cloud.admin, extra);
    let config_before = std::fs::read_to_string(world.config_path()).unwrap();
    let member_keys = |user: &str| world.member_keys_of(cloud.kind, user);
    let mut want: Vec<String> = ["carol", "dave"]
        .iter()
        .flat_map(|u| member_keys(u))
        .map(|k| k.id)
        .collect();
    want.sort_unstable();
    for id in &want {
        assert!(
            !config_before.contains(id.as_str()),
            "no member key in the config"
        );
    }

    let args = ["-vv", "list", "--all-users", "-o", "json"];
    let (stdout, stderr) = run(&mut world.as_profile("member", &args), 0);
    let records = json_array(&stdout);
    let field = |name: &str| -> Vec<&str> {
        let mut values: Vec<&str> = records.iter().map(|r| r[name].as_str().unwrap()).collect();
        values.sort_unstable();
        values
    };
    assert_eq!(field("user"), ["carol", "dave"], "{stdout}");
    assert_eq!(field("access_key_id"), want, "{stdout}");
    assert!(
        records
            .iter()
            .all(|r| r["account_id"] == roles.member && r["profile"] == "member"),
        "{stdout}"
    );
    assert_eq!(world.calls_of(roles.assume), 1, "assumed once for the run");

    let audit = ["audit", "--all-users", "-o", "json"];
    let (audit, _) = run(&mut world.as_profile("member", &audit), 1);
    assert!(audit.contains(&member_keys("carol")[0].id), "{audit}");

    let (me, whoami_err) = whoami(&world, "member");
    assert_eq!(me["type"], "role", "{me}");
    assert_eq!(me["account_id"], roles.member, "{me}");
    let arn = me["arn"].as_str().unwrap();
    let want_arn = cloud.session_arn("KeyAuditor", "audit-run");
    if roles.names_role {
        assert_eq!(arn, want_arn);
    } else {
        assert!(arn.starts_with(&want_arn), "{arn}");
    }
    let key_id = me["access_key_id"].as_str().unwrap();
    assert!(key_id.starts_with(roles.key_prefix), "{me}");
    let issued = world.temporaries(cloud.kind);
    assert!(issued.iter().any(|t| t.0 == key_id), "{me}");

    // A role session has no keys of its own: `list` needs --user (exit 2).
    if let Some((needle, listings)) = roles.own_keys {
        world.reset_stats();
        refused(&mut world.as_profile("member", &["list"]), 2, needle);
        assert_eq!(world.calls_of(roles.reads[1]), listings);
    }

    let (profiles, _) = run(&mut world.cmd(["profiles", "-o", "json"]), 0);
    let via = format!("role KeyAuditor via {}", cloud.admin);
    assert!(profiles.contains(&via), "{profiles}");
    let output = format!("{stdout}{stderr}{audit}{me}{whoami_err}{profiles}");
    assert_nothing_leaked(&world, cloud.kind, &output, &config_before, &[]);
}

/// A role reached through another role takes one assume a link; a role that does not trust
/// the caller, or a caller denied the assume action, is the cloud's refusal (exit 3).
fn a_chain_of_two_roles_works_and_an_untrusted_source_is_refused(cloud: &Cloud) {
    let world = World::new();
    let roles = &cloud.roles;
    cloud.add_role_profile(&world, "member", "KeyAuditor", cloud.admin, "");
    cloud.add_role_profile(&world, "member-admin", "KeyAdmin", "member", "");
    cloud.add_role_profile(&world, "direct-admin", "KeyAdmin", cloud.admin, "");
    let config_before = std::fs::read_to_string(world.config_path()).unwrap();
    let args = ["-vv", "list", "--all-users", "-o", "json"];
    let (stdout, stderr) = run(&mut world.as_profile("member-admin", &args), 0);
    assert_eq!(json_array(&stdout).len(), 2, "{stdout}");
    assert_eq!(world.calls_of(roles.assume), 2, "one assume per link");
    let (me, _) = whoami(&world, "member-admin");
    let arn = me["arn"].as_str().unwrap();
    assert!(
        arn.starts_with(&cloud.session_arn("KeyAdmin", "cloudkeys-")),
        "{arn}"
    );
    let (profiles, _) = run(&mut world.cmd(["profiles"]), 0);
    let chain = format!(
        "role KeyAdmin via member (role KeyAuditor via {})",
        cloud.admin
    );
    assert!(profiles.contains(&chain), "{profiles}");

    // KeyAdmin trusts KeyAuditor only: the cloud's own refusal, exit 3, nothing else asked.
    world.reset_stats();
    let args = ["list", "--all-users"];
    let refusal = refused(
        &mut world.as_profile("direct-admin", &args),
        3,
        roles.untrusted[0],
    );
    for piece in roles.untrusted.iter().chain(&["direct-admin"]) {
        assert!(refusal.contains(piece), "{refusal}");
    }
    if roles.untrusted_names_role {
        assert!(refusal.contains(&cloud.role_arn("KeyAdmin")), "{refusal}");
    }
    assert_eq!(
        world.calls_of(roles.reads[0]),
        0,
        "nothing asked without the role"
    );
    // A trusted caller whose own policy denies the assume action is refused alike.
    world.deny(&[roles.assume]);
    refused(
        &mut world.as_profile("member", &["whoami"]),
        3,
        roles.untrusted[0],
    );
    let output = format!("{stdout}{stderr}{me}{profiles}{refusal}");
    assert_nothing_leaked(&world, cloud.kind, &output, &config_before, &[]);
}

fn a_role_profile_is_never_rotated_or_saved(cloud: &Cloud) {
    let world = World::new();
    cloud.add_role_profile(&world, "member", "KeyAuditor", cloud.admin, "");
    assert_role_profile_never_rotated(&world, "member");
    assert_eq!(world.member_keys_of(cloud.kind, "carol").len(), 1);
}

/// Sessions last 2 s and every read takes 0.4 s: the scan outlives several sessions, and a
/// call signed with an expired one would be refused.
fn role_credentials_are_assumed_again_before_they_expire(cloud: &Cloud) {
    let world = World::new();
    cloud.add_role_profile(&world, "member", "KeyAuditor", cloud.admin, "");
    world.set_session_lifetime(chrono::Duration::seconds(2));
    let slow = Effect::Latency(Duration::from_millis(400));
    for action in cloud.roles.reads {
        world.inject(fault(cloud.kind, slow, action));
    }
    let args = [
        "--concurrency",
        "1",
        "list",
        "--all-users",
        "--exact",
        "-o",
        "json",
    ];
    let (stdout, _) = run(&mut world.as_profile("member", &args), 0);
    assert_eq!(json_array(&stdout).len(), 2, "{stdout}");
    let assumed = world.calls_of(cloud.roles.assume);
    assert!(assumed >= 2, "assumed {assumed} times");
}
