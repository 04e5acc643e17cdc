//! What only Huawei Cloud has: CCE's long-term AK/SK status, IAM v5 marker paging, API
//! Gateway throttling, STS5 caller identity without IAM list permission, encoded denials,
//! temporary credentials with X-Security-Token.

use chrono::Utc;
use cloudkeys::model::{format_time, ProviderKind};
use serde_json::Value;

use crate::common::{
    add_profile, append_config, assert_no_secret, fault, json_array, refused, run, whoami, World,
    HUAWEI, TEST_PROJECT,
};

const ADMIN: &str = "huawei-admin";
const HW: ProviderKind = ProviderKind::Huawei;
/// The fields of `huawei cce-aksk-status`, in order.
const CCE_COLUMNS: &str =
    "provider,profile,project_id,uploaded,expired,expires_in_seconds,expires_at,created_at,updated_at";

fn time(t: &chrono::DateTime<Utc>) -> Value {
    Value::String(format_time(t))
}

/// Appends a profile signing with `user`'s `index`-th key to the test config.
fn add_key_profile(world: &World, name: &str, user: &str, index: usize) {
    let key = world.keys(HW, user)[index].clone();
    let region = "region = \"cn-north-4\"\n";
    add_profile(world, name, HW, &key.id, &key.secret, region);
}

fn key_ids(world: &World, user: &str) -> Vec<String> {
    world.keys(HW, user).into_iter().map(|k| k.id).collect()
}

#[test]
fn all_users_follow_the_markers_one_item_a_page() {
    let world = World::new();
    assert_eq!(world.huawei_page_cap(), 1);
    let (stdout, _) = run(
        &mut world.as_profile(ADMIN, &["list", "--all-users", "-o", "json"]),
        0,
    );
    assert_eq!(json_array(&stdout).len(), 4, "{stdout}");
}

/// API Gateway's request ids are 32 hex digits; errors carry them.
#[test]
fn errors_carry_the_gateways_request_id() {
    let world = World::new();
    let real = world.profile(ADMIN).secret_access_key;
    let config = std::fs::read_to_string(world.config_path())
        .unwrap()
        .replace(&real, "WrongSecretWrongSecretWrongSecretWrong00");
    std::fs::write(world.config_path(), config).unwrap();
    let (_, stderr) = run(&mut world.as_profile(ADMIN, &["whoami", "-o", "json"]), 3);
    let error: Value = serde_json::from_str(stderr.lines().next().unwrap()).unwrap();
    assert_eq!(error["code"], HUAWEI.bad_signature);
    assert_eq!(error["request_id"].as_str().map(str::len), Some(32));
}

#[test]
fn cce_aksk_status_as_json_table_and_csv() {
    let world = World::new();
    let (expires_at, created_at, updated_at) = world.huawei_cce_aksk();
    let (stdout, stderr) = run(
        &mut world.as_profile(ADMIN, &["huawei", "cce-aksk-status", "-o", "json"]),
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
    assert_eq!(keys.join(","), CCE_COLUMNS);
    assert_eq!(status["provider"], "huawei");
    assert_eq!(status["profile"], ADMIN);
    assert_eq!(status["project_id"], TEST_PROJECT);
    assert_eq!(status["uploaded"], true);
    assert_eq!(status["expired"], false);
    assert_eq!(status["expires_at"], time(&expires_at));
    assert_eq!(status["created_at"], time(&created_at));
    assert_eq!(status["updated_at"], time(&updated_at));
    let left = status["expires_in_seconds"].as_i64().unwrap();
    let expected = (expires_at - Utc::now()).num_seconds();
    assert!((expected - left).abs() < 120, "{left} vs {expected}");

    let (table, stderr) = run(
        &mut world.as_profile(
            ADMIN,
            &["huawei", "cce-aksk-status", "--project-id", TEST_PROJECT],
        ),
        0,
    );
    assert!(stderr.contains("to be discarded"), "{stderr}");
    for needle in [
        "FIELD",
        "expires_at",
        TEST_PROJECT,
        format_time(&expires_at).as_str(),
        "uploaded",
        "true",
    ] {
        assert!(table.contains(needle), "{needle} missing:\n{table}");
    }

    let (csv, _) = run(
        &mut world.as_profile(ADMIN, &["huawei", "cce-aksk-status", "-o", "csv"]),
        0,
    );
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], CCE_COLUMNS);
    assert!(lines[1].starts_with(&format!("huawei,{ADMIN},{TEST_PROJECT},true,false,")));

    // A project the account does not have: CCE's own error, exit 3.
    let (_, stderr) = run(
        &mut world.as_profile(
            ADMIN,
            &[
                "huawei",
                "cce-aksk-status",
                "--project-id",
                "00000000000000000000000000000000",
            ],
        ),
        3,
    );
    assert!(stderr.contains("CCE.01404001"), "{stderr}");
    // Not a Huawei profile.
    let (_, stderr) = run(
        &mut world.as_profile("aws-admin", &["huawei", "cce-aksk-status"]),
        2,
    );
    assert!(stderr.contains("not huawei"), "{stderr}");
}

#[test]
fn throttled_calls_are_retried() {
    let world = World::new();
    world.huawei_throttle_next(Some(2));
    let (stdout, _) = run(&mut world.as_profile(ADMIN, &["whoami", "-o", "json"]), 0);
    assert_eq!(json_array(&stdout)[0]["user"], "admin");
    assert_eq!(world.huawei_throttle_next(None), 0);
    world.huawei_throttle_next(Some(1));
    refused(
        &mut world.as_profile(ADMIN, &["whoami", "--retries", "0"]),
        4,
        "APIGW.0308",
    );
}

#[test]
fn a_plain_user_manages_its_own_keys_and_sees_denials_explained_with_verbose() {
    let world = World::new();
    add_key_profile(&world, "huawei-alice", "alice", 1);
    let alice_id = world.user_id(HW, "alice");
    assert!(world.keys(HW, "alice")[1].last_used.is_none());
    // Alice may not list users: STS5's caller identity needs no permission.
    let (identity, _) = whoami(&world, "huawei-alice");
    assert_eq!(identity["user_id"], alice_id.as_str());
    assert_eq!(identity["type"], "user");
    // Signing recorded the use of her key.
    let used = world.keys(HW, "alice")[1].last_used.expect("use recorded");
    assert!((Utc::now() - used).num_seconds() < 60);
    let (stdout, _) = run(
        &mut world.as_profile("huawei-alice", &["list", "-o", "json"]),
        0,
    );
    let records = json_array(&stdout);
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|r| r["user_id"] == alice_id.as_str()));
    // Listing every user is denied; -v shows the encoded authorization message.
    let stderr = refused(
        &mut world.as_profile("huawei-alice", &["list", "--all-users"]),
        3,
        "PAP5.0001",
    );
    assert!(
        !stderr.contains("encoded authorization message"),
        "{stderr}"
    );
    let (_, stderr) = run(
        &mut world.as_profile("huawei-alice", &["list", "--all-users", "-v"]),
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
    let world = World::new();
    let admin = world.profile(ADMIN);
    let token = "session_token = \"TemporaryTokenValue123\"\n";
    add_profile(
        &world,
        "huawei-temp",
        HW,
        &admin.access_key_id,
        &admin.secret_access_key,
        token,
    );
    // The sandbox issues no temporary credentials: it refuses the token it was sent.
    let stderr = refused(
        &mut world.as_profile("huawei-temp", &["whoami"]),
        3,
        "security token is invalid",
    );
    assert!(!stderr.contains("TemporaryTokenValue123"), "{stderr}");
}

/// API Gateway refuses a date more than 15 minutes off with 401 `APIGW.0301` "calc aksk signature
/// fail:signature expired": the client reads the server's Date header, corrects its clock once
/// and retries, for CCE as for IAM (conformance), whichever way the clock is off.
#[test]
fn cce_corrects_an_hour_of_clock_skew_too() {
    for hours in [1, -1] {
        let world = World::new();
        world.set_clock_skew(chrono::Duration::hours(hours));
        let (stdout, stderr) = run(
            &mut world.as_profile(ADMIN, &["-v", "huawei", "cce-aksk-status", "-o", "json"]),
            0,
        );
        assert_eq!(
            json_array(&stdout)[0]["uploaded"],
            true,
            "{hours}h: {stderr}"
        );
        assert!(
            stderr.contains("clock skew corrected"),
            "{hours}h: {stderr}"
        );
    }
}

/// A user whom IAM refuses every user read (403 `PAP5.0001` on ListUsersV5 and ShowUserV5) still
/// learns who it is from STS5 GetCallerIdentity, and lists its own keys.
#[test]
fn whoami_and_list_need_no_iam_list_permission() {
    let world = World::new();
    world.huawei_no_list_permission("admin");
    let admin_id = world.user_id(HW, "admin");
    let (identity, stderr) = whoami(&world, ADMIN);
    assert_eq!(identity["account_id"], HUAWEI.account, "{stderr}");
    assert_eq!(identity["user"], "admin");
    assert_eq!(identity["user_id"], admin_id.as_str());
    assert_eq!(identity["type"], "user");
    assert_eq!(identity["arn"], HUAWEI.admin_arn);
    let (stdout, _) = run(&mut world.as_profile(ADMIN, &["list", "-o", "json"]), 0);
    let records = json_array(&stdout);
    assert_eq!(records.len(), 1, "{stdout}");
    assert_eq!(records[0]["user"], "admin");
    assert_eq!(records[0]["account_id"], HUAWEI.account);
    assert_eq!(
        records[0]["access_key_id"],
        world.keys(HW, "admin")[0].id.as_str()
    );
    // Listing the users is still refused, as IAM would.
    refused(
        &mut world.as_profile(ADMIN, &["list", "--all-users"]),
        3,
        "PAP5.0001",
    );
}

/// Temporary credentials of a user without IAM list permission: whoami and list of its own keys
/// work from STS5's caller identity; the token travels (signed) as X-Security-Token.
#[test]
fn temporary_credentials_without_list_permission_see_their_own_keys() {
    let world = World::new();
    let (ak, sk, token) = world.huawei_session("alice");
    let extra = format!("session_token = \"{token}\"\n");
    add_profile(&world, "huawei-alice-temp", HW, &ak, &sk, &extra);
    let (identity, stderr) = whoami(&world, "huawei-alice-temp");
    assert_eq!(identity["user"], "alice", "{stderr}");
    assert_eq!(identity["user_id"], world.user_id(HW, "alice").as_str());
    assert_eq!(identity["account_id"], HUAWEI.account);
    let (stdout, stderr) = run(
        &mut world.as_profile("huawei-alice-temp", &["list", "-o", "json"]),
        0,
    );
    let ids: Vec<String> = json_array(&stdout)
        .iter()
        .map(|r| r["access_key_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, key_ids(&world, "alice"), "{stderr}");
    assert!(
        !stderr.contains(&token) && !stderr.contains(&sk),
        "{stderr}"
    );
}

/// One CCE time that is no time becomes null with a warning; the rest of the answer stays.
#[test]
fn an_unparsable_cce_time_is_null_with_a_warning() {
    let world = World::new();
    world.huawei_cce_update_time("not a time");
    let (stdout, stderr) = run(
        &mut world.as_profile(ADMIN, &["huawei", "cce-aksk-status", "-o", "json"]),
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
    let world = World::demo();
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

// --- agency (role) profiles ------------------------------------------------------------------

#[test]
fn the_clouds_refusals_of_assume_agency_are_reported() {
    let world = World::new();
    HUAWEI.add_role_profile(&world, "missing", "NoSuchAgency", ADMIN, "");
    HUAWEI.add_role_profile(
        &world,
        "long",
        "KeyAuditor",
        ADMIN,
        "duration_seconds = 7200\n",
    );
    // A user without the right to assume (only self-service on its own keys).
    add_key_profile(&world, "hw-alice", "alice", 0);
    HUAWEI.add_role_profile(&world, "via-alice", "KeyAuditor", "hw-alice", "");
    let cases = [
        ("missing", 3, "agency not found"),
        ("long", 3, "duration_seconds"),
        ("via-alice", 3, "sts:agencies:assume"),
    ];
    for (profile, code, needle) in cases {
        refused(&mut world.as_profile(profile, &["whoami"]), code, needle);
    }
    // Not an agency URN: a one-line config error before any call.
    append_config(
        &world,
        "\n[profiles.arn]\nprovider = \"huawei\"\nrole_arn = \"arn:aws:iam::1:role/x\"\nsource_profile = \"huawei-admin\"\n",
    );
    world.reset_stats();
    refused(
        &mut world.as_profile(ADMIN, &["whoami"]),
        2,
        "is no Huawei agency URN",
    );
    assert_eq!(world.requests().0, 0);
}

// --- organizations ---------------------------------------------------------------------------

/// `[organizations.NAME]` listed through profile `source`.
fn add_org(world: &World, name: &str, source: &str) {
    append_config(
        world,
        &format!(
            "\n[organizations.{name}]\nprovider = \"huawei\"\nsource_profile = \"{source}\"\n"
        ),
    );
}

#[test]
fn an_organization_member_without_its_agency_is_a_partial_failure() {
    use cloudkeys::providers::huawei::MEMBER_AGENCY;
    use cloudkeys::sandbox::huawei::{MEMBER_DOMAIN, SECOND_MEMBER};
    let world = World::new();
    add_org(&world, "acme", ADMIN);
    world.remove_role(HW, SECOND_MEMBER, MEMBER_AGENCY);
    // Organizations answers API Gateway's throttling like every Huawei API: retried.
    world.inject(fault(HW, cloudkeys::sandbox::Effect::Throttle, "ListAccounts").times(1));
    let mut cmd = world.cmd(["--org", "acme", "list", "--all-users", "-o", "json"]);
    let (stdout, stderr) = run(&mut cmd, 5);
    let profiles: std::collections::BTreeSet<String> = json_array(&stdout)
        .iter()
        .map(|r| r["profile"].as_str().unwrap().to_string())
        .collect();
    let reached = [ADMIN.to_string(), format!("acme/{MEMBER_DOMAIN}")];
    assert_eq!(profiles, reached.into_iter().collect(), "{stdout}");
    assert!(
        stderr.contains(&format!("acme/{SECOND_MEMBER}")),
        "{stderr}"
    );
    assert!(stderr.contains("agency not found"), "{stderr}");
    // Four accounts one a page, the first page throttled once.
    assert_eq!(world.calls_of("ListAccounts"), 5);
    assert_no_secret(&world, &format!("{stdout}{stderr}"));
}

#[test]
fn only_the_management_account_may_list_its_organization() {
    let world = World::new();
    // A session in a member account lists nothing: Organizations' own refusal, exit 3.
    HUAWEI.add_role_profile(&world, "member", "KeyAuditor", ADMIN, "");
    add_org(&world, "m", "member");
    refused(
        &mut world.cmd(["--org", "m", "list"]),
        3,
        "Organizations.1002",
    );
    assert_eq!(world.calls_of("AssumeAgency"), 1, "nothing else assumed");
}
