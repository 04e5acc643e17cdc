//! What only Alibaba Cloud has: RAM's credential report with its additional key slots, the
//! account's own row in it, ListUsers paging, the LTAI prefix picking the profile.

use std::collections::BTreeSet;

use cloudkeys::model::{KeyStatus, ProviderKind};
use cloudkeys::sandbox::alibaba::{MEMBER_ACCOUNT, ORG_ROLE, PROMOTING_MEMBER, SECOND_MEMBER};
use serde_json::Value;

use crate::common::{
    add_profile, append_config, assert_no_secret, assert_nothing_leaked, assert_report_scan, by_id,
    comparable, fault, json_array, refused, run, scan_all_users, whoami, World, ALIBABA,
};

const PROFILE: &str = "alibaba-admin";
const ALI: ProviderKind = ProviderKind::Alibaba;

#[test]
fn a_refused_credential_report_falls_back_with_a_note() {
    crate::conformance::a_refused_credential_report_falls_back_with_a_note(
        &ALIBABA,
        "NoPermission",
    );
}

#[test]
fn all_users_scan_reads_the_credential_report() {
    let world = World::new();
    let now = chrono::Utc::now();
    let day = chrono::Duration::days;
    let names: Vec<String> = (0..26).map(|i| format!("svc-{i:03}")).collect();
    world.add_users(ALI, &names);
    for (i, user) in (0..8).zip(&names) {
        let (id, _) = world.add_key(ALI, user, day(50 + i));
        if i % 2 == 0 {
            world.set_key(&id, KeyStatus::Active, Some(now - day(i)));
        }
    }
    // An account from before the 2-key limit: keys 3 and 4 are in the additional slots.
    for n in 0..4 {
        let (id, _) = world.add_key(ALI, "svc-010", day(700 + n));
        if n == 3 {
            world.set_key(&id, KeyStatus::Inactive, Some(now - day(5)));
        }
    }
    let admin = world.profile(PROFILE).access_key_id;
    let (exact, exact_calls, _) = scan_all_users(&world, PROFILE, &["--exact"]);
    assert_eq!(world.calls_of("GenerateCredentialReport"), 0);
    let (fast, calls, stderr) = scan_all_users(&world, PROFILE, &[]);
    // 30 users in 10 pages (3 a page in the test seed); 16 keys among 12 users (admin,
    // alice x2, bob, 8 of svc, svc-010 x4).
    assert_eq!(exact.len(), 16);
    assert_eq!(exact_calls, 1 + 10 + 30 + 16, "whoami, pages, users, keys");
    // whoami, pages, GenerateCredentialReport x2 (STARTED, COMPLETED), GetCredentialReport x4
    // (31 rows, 10 a page), the 12 users with keys, and no per-key call.
    assert_eq!(calls, 1 + 10 + 2 + 4 + 12, "{calls} calls\n{stderr}");
    assert_eq!(world.calls_of("GetCredentialReport"), 4);
    assert_eq!(world.calls_of("GetAccessKeyLastUsed"), 16);
    let as_of = assert_report_scan(&fast, &exact, &admin);
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
    let (late, _) = world.add_key(ALI, "svc-000", chrono::Duration::zero());
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
    let world = World::demo();
    let root = world.profile("alibaba-root").access_key_id;
    let (exact, _, _) = scan_all_users(&world, "alibaba-root", &["--exact"]);
    let asked = world.calls_of("GetAccessKeyLastUsed");
    assert_eq!(asked as usize, exact.len());
    let (fast, _, _) = scan_all_users(&world, "alibaba-root", &[]);
    assert_eq!(comparable(&fast, &root), comparable(&exact, &root));
    // The account's own key got its answer from the `<root>` row: no per-key call at all.
    let own = by_id(&fast, &root);
    assert_eq!(own["user"], "<root>");
    assert!(own["last_used_as_of"].is_string(), "{own}");
    assert_eq!(world.calls_of("GetAccessKeyLastUsed"), asked);
}

#[test]
fn list_all_users_reads_every_page() {
    let world = World::new();
    let (stdout, stderr) = run(
        &mut world.as_profile(PROFILE, &["list", "--all-users", "-o", "json"]),
        0,
    );
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
    assert_eq!(
        world.calls_of("ListUsers"),
        2,
        "the test seed pages ListUsers by 3"
    );
    // carol has no keys: the credential report says so, and hers are not asked for.
    assert_eq!(world.calls_of("ListAccessKeys"), 3);
}

#[test]
fn the_key_prefix_picks_alibaba_without_a_profile() {
    let world = World::new();
    let alice = world.keys(ALI, "alice")[0].id.clone();
    // No -p: the LTAI prefix selects the one Alibaba profile of the config.
    let (stdout, _) = run(
        &mut world.cmd(["last-used", &alice, "--user", "alice", "-o", "json"]),
        0,
    );
    assert_eq!(json_array(&stdout)[0]["provider"], "alibaba");
}

#[test]
fn the_account_itself_lists_its_own_keys_besides_its_users() {
    let world = World::demo();
    let root = world.profile("alibaba-root");
    let (stdout, stderr) = run(
        &mut world.as_profile("alibaba-root", &["list", "--all-users", "-o", "json"]),
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
    let (me, _) = whoami(&world, "alibaba-root");
    assert_eq!(me["type"], "root");
    assert!(me["user"].is_null());
    assert_eq!(me["account_id"], root.account_id.as_str());
}

// --- role profiles ---------------------------------------------------------------------------

#[test]
fn the_clouds_refusals_of_assume_role_are_reported() {
    let world = World::new();
    // An account's own (root) key may not assume roles.
    let (id, secret) = world.add_key(ALI, "<root>", chrono::Duration::days(1));
    add_profile(&world, "ali-root", ALI, &id, &secret, "");
    ALIBABA.add_role_profile(&world, "via-root", "KeyAuditor", "ali-root", "");
    ALIBABA.add_role_profile(&world, "missing", "NoSuchRole", PROFILE, "");
    ALIBABA.add_role_profile(
        &world,
        "short",
        "KeyAuditor",
        PROFILE,
        "duration_seconds = 100\n",
    );
    ALIBABA.add_role_profile(
        &world,
        "long",
        "KeyAuditor",
        PROFILE,
        "duration_seconds = 7200\n",
    );
    let cases = [
        ("via-root", "Roles may not be assumed by root accounts."),
        ("missing", "EntityNotExist.Role"),
        ("short", "InvalidParameter.DurationSeconds"),
        ("long", "InvalidParameter.DurationSeconds"),
    ];
    for (profile, needle) in cases {
        refused(&mut world.as_profile(profile, &["whoami"]), 3, needle);
    }
}

#[test]
fn aliyun_ram_role_arn_and_sts_token_profiles() {
    let world = World::new();
    let admin = world.profile(PROFILE);
    let (sts_id, sts_secret, sts_token) = world.alibaba_session("alice");
    let file = world.home().join(".aliyun/config.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let config = serde_json::json!({
        "current": "role",
        "profiles": [
            {"name": "role", "mode": "RamRoleArn", "access_key_id": admin.access_key_id,
             "access_key_secret": admin.secret_access_key, "ram_role_arn": ALIBABA.role_arn("KeyAuditor"),
             "ram_session_name": "aliyun-run", "expired_seconds": 900, "region_id": "cn-hangzhou"},
            {"name": "sts", "mode": "StsToken", "access_key_id": sts_id,
             "access_key_secret": sts_secret, "sts_token": sts_token, "region_id": "cn-hangzhou"},
        ],
    });
    std::fs::write(&file, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    crate::common::private(&file);
    let before = std::fs::read_to_string(&file).unwrap();
    let config_before = std::fs::read_to_string(world.config_path()).unwrap();
    let endpoint = world.endpoint();
    let cmd = |profile: &str, args: &[&str]| {
        let mut cmd = world.bare_cmd();
        cmd.args(["--endpoint", &endpoint, "-p", profile])
            .args(args);
        cmd
    };
    let member = cloudkeys::sandbox::alibaba::MEMBER_ACCOUNT;
    let list = ["list", "--all-users", "-o", "json"];
    let (stdout, stderr) = run(&mut cmd("alibaba:role", &list), 0);
    let records = json_array(&stdout);
    assert_eq!(records.len(), 2, "{stdout}");
    assert!(
        records.iter().all(|r| r["account_id"] == member),
        "{stdout}"
    );
    let (me, _) = run(&mut cmd("alibaba:role", &["whoami", "-o", "json"]), 0);
    let arn = format!("acs:ram::{member}:assumed-role/KeyAuditor/aliyun-run");
    assert_eq!(json_array(&me)[0]["arn"], arn.as_str(), "{me}");
    // The StsToken profile signs with its token as it is: alice's own keys.
    let (own, _) = run(&mut cmd("alibaba:sts", &["whoami", "-o", "json"]), 0);
    assert_eq!(json_array(&own)[0]["user"], "alice", "{own}");
    assert_eq!(json_array(&own)[0]["access_key_id"], sts_id.as_str());
    let (keys, _) = run(&mut cmd("alibaba:sts", &["list", "-o", "json"]), 0);
    assert_eq!(json_array(&keys).len(), 2, "{keys}");
    // Neither is rotated nor written back.
    refused(&mut cmd("alibaba:role", &["rotate"]), 2, "assumes a role");
    refused(
        &mut cmd("alibaba:sts", &["rotate"]),
        2,
        "temporary credentials",
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
    // (The aliyun file holds the StsToken profile's credentials the test wrote.)
    let output = format!("{stdout}{stderr}{me}{own}{keys}");
    let aliyun = [".aliyun/config.json"];
    assert_nothing_leaked(&world, ALI, &output, &config_before, &aliyun);
}

// --- resource directory ----------------------------------------------------------------------

/// `[organizations.NAME]` of Alibaba listed through `source`; `extra`: more lines.
fn add_directory(world: &World, name: &str, source: &str, extra: &str) {
    append_config(
        world,
        &format!(
            "\n[organizations.{name}]\nprovider = \"alibaba\"\nsource_profile = \"{source}\"\n{extra}"
        ),
    );
}

/// The profiles of the records in a JSON array.
fn profiles_of(stdout: &str) -> BTreeSet<String> {
    json_array(stdout)
        .iter()
        .map(|r| r["profile"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_resource_directory_is_paged_retried_and_read_through_its_default_role() {
    let world = World::new();
    add_directory(&world, "rd", PROFILE, "");
    // Throttled once: retried like every other read.
    world.inject(fault(ALI, cloudkeys::sandbox::Effect::Throttle, "ListAccounts").times(1));
    let mut cmd = world.cmd(["--org", "rd", "-vv", "list", "--all-users", "-o", "json"]);
    let (stdout, stderr) = run(&mut cmd, 0);
    let expected: BTreeSet<String> = [
        PROFILE.to_string(),
        format!("rd/{MEMBER_ACCOUNT}"),
        format!("rd/{SECOND_MEMBER}"),
    ]
    .into();
    assert_eq!(profiles_of(&stdout), expected, "{stdout}");
    assert!(!stdout.contains(PROMOTING_MEMBER), "{stdout}");
    // Four accounts at three a page: two pages, the first one asked twice.
    assert_eq!(world.calls_of("ListAccounts"), 3);
    assert_eq!(world.calls_of("AssumeRole"), 2);
    assert_no_secret(&world, &format!("{stdout}{stderr}"));

    let (profiles, _) = run(&mut world.cmd(["profiles", "--org", "rd"]), 0);
    assert!(
        profiles.contains(&format!("role {ORG_ROLE} via {PROFILE}")),
        "{profiles}"
    );
}

#[test]
fn a_member_without_the_role_is_a_partial_failure() {
    let world = World::new();
    // Only the member account holds KeyAuditor.
    add_directory(&world, "rd", PROFILE, "role_name = \"KeyAuditor\"\n");
    let mut cmd = world.cmd(["--org", "rd", "list", "--all-users", "-o", "json"]);
    let (stdout, stderr) = run(&mut cmd, 5);
    let reached: BTreeSet<String> = [PROFILE.to_string(), format!("rd/{MEMBER_ACCOUNT}")].into();
    assert_eq!(profiles_of(&stdout), reached, "{stdout}");
    assert!(stderr.contains(&format!("rd/{SECOND_MEMBER}")), "{stderr}");
    assert!(stderr.contains("EntityNotExist.Role"), "{stderr}");
}

#[test]
fn only_the_management_account_may_list_the_directory() {
    let world = World::new();
    // A member's session: its account manages no directory (the cloud's 404 code), exit 3.
    ALIBABA.add_role_profile(&world, "member", "KeyAuditor", PROFILE, "");
    add_directory(&world, "m", "member", "");
    let stderr = refused(
        &mut world.cmd(["--org", "m", "list"]),
        3,
        "EntityNotExists.ResourceDirectory",
    );
    assert!(stderr.contains("organization m"), "{stderr}");
    // A RAM user of the management account without resourcemanager:ListAccounts.
    world.deny(&["ListAccounts"]);
    add_directory(&world, "rd", PROFILE, "");
    refused(&mut world.cmd(["--org", "rd", "list"]), 3, "NoPermission");
    assert_eq!(world.calls_of("AssumeRole"), 1, "the member session only");
}
