//! What only Tencent Cloud has: users by uin, session tokens as X-TC-Token, one endpoint for
//! CAM and STS, the exact stamp of last use or else its day, batched last-use calls,
//! Organization's member list paged by Offset and Total.

use cloudkeys::model::{KeyStatus, ProviderKind};

use cloudkeys::sandbox::tencent::{MEMBER_OWNER_UIN, SECOND_MEMBER_UIN};
use cloudkeys::sandbox::Effect;

use crate::common::{
    add_profile, append_config, assert_no_secret, fault, json_array, private, refused, run, whoami,
    World, TENCENT,
};

const PROFILE: &str = "tencent-admin";
const TC: ProviderKind = ProviderKind::Tencent;

/// `cloudkeys -p tencent-admin ARGS…`
fn tc(world: &World, args: &[&str]) -> assert_cmd::Command {
    world.as_profile(PROFILE, args)
}

/// A uin no user has is CAM's InvalidParameter.UserNotExist (a name: ResourceNotFound).
#[test]
fn an_unknown_uin_is_its_own_refusal() {
    let world = World::new();
    refused(
        &mut tc(&world, &["list", "--user", "100000000999"]),
        3,
        "InvalidParameter.UserNotExist",
    );
}

#[test]
fn session_tokens_travel_as_x_tc_token() {
    let world = World::new();
    let (id, secret, token) = world.tencent_session("alice");
    let extra = format!("session_token = \"{token}\"\nregion = \"ap-shanghai\"\n");
    add_profile(&world, "tc-session", TC, &id, &secret, &extra);
    let (me, stderr) = whoami(&world, "tc-session");
    assert_eq!(me["user_id"], world.user_id(TC, "alice").as_str());
    assert_eq!(me["account_id"], TENCENT.account);
    assert!(!stderr.contains(&token) && !stderr.contains(&secret));
    // alice's own keys, through her session.
    let (stdout, _) = run(
        &mut world.as_profile("tc-session", &["list", "-o", "json"]),
        0,
    );
    assert_eq!(json_array(&stdout).len(), 2);

    // The same profile with a token the cloud no longer knows.
    let config = std::fs::read_to_string(world.config_path()).unwrap();
    let stale = config.replace(&token, "a-stale-token");
    std::fs::write(world.config_path(), stale).unwrap();
    let stderr = refused(
        &mut world.as_profile("tc-session", &["whoami"]),
        3,
        "AuthFailure.TokenFailure",
    );
    assert!(!stderr.contains("a-stale-token"));
}

#[test]
fn endpoint_flag_sends_cam_and_sts_to_one_base_url() {
    let world = World::new();
    let admin = world.profile(PROFILE);
    // A profile pointing at the real hosts; --endpoint sends both services to the sandbox.
    let path = world.home().join("real.toml");
    let real =
        crate::common::profile_toml("tc", TC, &admin.access_key_id, &admin.secret_access_key, "");
    std::fs::write(&path, real).unwrap();
    private(&path);
    let mut cmd = world.bare_cmd();
    cmd.args(["--config", path.to_str().unwrap(), "-p", "tc"])
        .args([
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
    let world = World::new();
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
    let world = World::new();
    let id = world.keys(TC, "alice")[0].id.clone();
    // A use at a known moment, minutes away from any midnight.
    let at = chrono::DateTime::parse_from_rfc3339("2026-03-04T05:06:07.890Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    world.set_key(&id, KeyStatus::Active, Some(at));
    let list = || {
        let (stdout, _) = run(
            &mut tc(&world, &["list", "--user", "alice", "-o", "json"]),
            0,
        );
        crate::common::by_id(&json_array(&stdout), &id).clone()
    };
    // Both fields given: the exact time, and no precision field.
    let record = list();
    assert_eq!(record["last_used_at"], "2026-03-04T05:06:07Z");
    assert!(record.get("last_used_precision").is_none(), "{record}");

    // Only the day (LastSecretUsedDate null): that Beijing day's start, date precision.
    world.tencent_day_only(&id);
    let record = list();
    assert_eq!(record["last_used_at"], "2026-03-03T16:00:00Z");
    assert_eq!(record["last_used_precision"], "date");
}

/// `audit --all-users` asks GetSecurityLastUsed for ten keys a call across users, as `list`
/// does: one call per user would double the calls of a large account.
#[test]
fn audit_batches_last_use_across_users() {
    let world = World::new();
    let names: Vec<String> = (0..25).map(|i| format!("svc{i:02}")).collect();
    world.add_users(TC, &names);
    for name in &names {
        world.add_key(TC, name, chrono::Duration::zero());
    }
    world.reset_stats();
    let (stdout, _) = run(&mut tc(&world, &["audit", "--all-users", "-o", "json"]), 1);
    assert!(!json_array(&stdout).is_empty());
    // admin 1, alice 2, bob 1 and the 25 new keys.
    let keys: usize = 4 + names.len();
    assert_eq!(
        world.calls_of("GetSecurityLastUsed") as usize,
        keys.div_ceil(10),
        "{keys} keys"
    );
}

/// A role that does not exist, and a session longer than the role allows: CAM's codes, exit 3
/// (the chain and the untrusted source: conformance).
#[test]
fn the_clouds_refusals_of_assume_role_are_reported() {
    let world = World::new();
    TENCENT.add_role_profile(&world, "ghost", "NoSuchRole", PROFILE, "");
    refused(
        &mut world.as_profile("ghost", &["whoami"]),
        3,
        "ResourceNotFound.RoleNotFound",
    );
    TENCENT.add_role_profile(
        &world,
        "long",
        "KeyAuditor",
        PROFILE,
        "duration_seconds = 43201\n",
    );
    let stderr = refused(
        &mut world.as_profile("long", &["whoami"]),
        3,
        "InvalidParameter.OverTimeError",
    );
    assert!(stderr.contains("long"), "{stderr}");
}

/// tccli's own role fields: the file's key assumes the role named in it, as tccli does.
#[test]
fn a_tccli_role_arn_profile_assumes_its_role_with_its_own_key() {
    let world = World::new();
    let admin = world.profile(PROFILE);
    let dir = world.home().join(".tccli");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("dev.credential");
    let file = serde_json::json!({
        "secretId": admin.access_key_id,
        "secretKey": admin.secret_access_key,
        "role-arn": TENCENT.role_arn("KeyAuditor"),
        "role-session-name": "ck-tccli",
    });
    std::fs::write(&path, file.to_string()).unwrap();
    private(&path);
    let before = std::fs::read_to_string(&path).unwrap();
    let endpoint = world.endpoint();
    let tccli = |args: &[&str]| {
        let mut cmd = world.bare_cmd();
        cmd.args(["-p", "tencent:dev", "--endpoint", &endpoint])
            .args(args);
        cmd
    };
    let (stdout, stderr) = run(&mut tccli(&["-vv", "whoami", "-o", "json"]), 0);
    let me = &json_array(&stdout)[0];
    assert_eq!(me["type"], "role", "{stdout}");
    assert_eq!(me["account_id"], MEMBER_OWNER_UIN.to_string().as_str());
    assert!(
        me["user_id"].as_str().unwrap().ends_with(":ck-tccli"),
        "{me}"
    );
    assert_no_secret(&world, &format!("{stdout}{stderr}"));
    let (stdout, _) = run(&mut tccli(&["list", "--all-users", "-o", "json"]), 0);
    assert_eq!(json_array(&stdout).len(), 2, "{stdout}");
    // Never written back: the file keeps the key that assumes the role.
    world.reset_stats();
    refused(&mut tccli(&["rotate"]), 2, "assumes a role");
    assert_eq!(world.requests().0, 0);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
}

// --- organizations ---------------------------------------------------------------------------

/// `[organizations.acme]` listed through profile `source`.
fn add_org(world: &World, source: &str) {
    let org =
        format!("\n[organizations.acme]\nprovider = \"tencent\"\nsource_profile = \"{source}\"\n");
    append_config(world, &org);
}

/// The profiles of the records of `--org acme list --all-users -o json` (`extra`: global
/// flags), and its stdout and stderr.
fn org_scan(world: &World, extra: &[&str], code: i32) -> (Vec<String>, String, String) {
    let mut cmd = world.cmd(["--org", "acme"]);
    cmd.args(extra).args(["list", "--all-users", "-o", "json"]);
    let (stdout, stderr) = run(&mut cmd, code);
    let mut profiles: Vec<String> = json_array(&stdout)
        .iter()
        .map(|r| r["profile"].as_str().unwrap().to_string())
        .collect();
    profiles.sort();
    profiles.dedup();
    (profiles, stdout, stderr)
}

fn all_three() -> Vec<String> {
    let mut all = vec![
        format!("acme/{MEMBER_OWNER_UIN}"),
        format!("acme/{SECOND_MEMBER_UIN}"),
        PROFILE.to_string(),
    ];
    all.sort();
    all
}

/// Offset moves by what each page held until Total: three accounts at two a page are two
/// calls, at `--page-size 1` three; throttling (RequestLimitExceeded) is retried.
#[test]
fn the_member_list_is_paged_by_offset_until_total() {
    let world = World::new();
    add_org(&world, PROFILE);
    world.inject(fault(TC, Effect::Throttle, "DescribeOrganizationMembers").times(1));
    let (profiles, stdout, stderr) = org_scan(&world, &[], 0);
    assert_eq!(profiles, all_three(), "{stdout}");
    assert_eq!(
        world.calls_of("DescribeOrganizationMembers"),
        3,
        "two pages, one retried"
    );
    assert!(stdout.contains("\"erin\""), "{stdout}");
    assert_no_secret(&world, &format!("{stdout}{stderr}"));

    world.reset_stats();
    let (profiles, stdout, _) = org_scan(&world, &["--page-size", "1"], 0);
    assert_eq!(profiles, all_three(), "{stdout}");
    assert_eq!(world.calls_of("DescribeOrganizationMembers"), 3);

    let (listed, _) = run(
        &mut world.cmd(["profiles", "--org", "acme", "-o", "json"]),
        0,
    );
    assert!(
        listed.contains("role OrganizationAccessControlRole via tencent-admin"),
        "{listed}"
    );
}

/// Only the management account may list: a sub-user without the permission gets CAM's
/// refusal, an account in no organization (here a member's role session) the service's
/// ResourceNotFound.OrganizationNotExist; both exit 3, nothing assumed.
#[test]
fn the_member_list_is_refused_to_others_than_the_management_account() {
    let world = World::new();
    let (id, secret) = world.add_key(TC, "bob", chrono::Duration::days(1));
    add_profile(&world, "bob", TC, &id, &secret, "");
    add_org(&world, "bob");
    refused(
        &mut world.cmd(["--org", "acme", "list"]),
        3,
        "AuthFailure.UnauthorizedOperation",
    );

    let world = World::new();
    TENCENT.add_role_profile(&world, "member", "KeyAuditor", PROFILE, "");
    add_org(&world, "member");
    refused(
        &mut world.cmd(["--org", "acme", "list"]),
        3,
        "ResourceNotFound.OrganizationNotExist",
    );
    assert_eq!(
        world.calls_of("AssumeRole"),
        1,
        "the source's own role only"
    );
}

/// A member without the member role: its AssumeRole refusal, the others read, exit 5.
#[test]
fn a_member_whose_role_is_missing_is_a_partial_failure() {
    let world = World::new();
    add_org(&world, PROFILE);
    world.tencent_remove_role(SECOND_MEMBER_UIN, "OrganizationAccessControlRole");
    let (profiles, stdout, stderr) = org_scan(&world, &[], 5);
    let mut reached = vec![format!("acme/{MEMBER_OWNER_UIN}"), PROFILE.to_string()];
    reached.sort();
    assert_eq!(profiles, reached, "{stdout}");
    assert!(
        stderr.contains(&format!("acme/{SECOND_MEMBER_UIN}")),
        "{stderr}"
    );
    assert!(stderr.contains("ResourceNotFound.RoleNotFound"), "{stderr}");
}
