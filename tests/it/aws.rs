//! What only AWS has: credential reports, role sessions, the adaptive rate; and the CLI's
//! cloud-independent behaviour, run against the AWS emulator.

use chrono::Utc;
use cloudkeys::model::ProviderKind;
use serde_json::Value;

use cloudkeys::sandbox::Effect;

use crate::common::{
    add_profile, append_config, assert_no_secret, assert_one_line_error, assert_report_scan, fault,
    json_array, refused, run, scan_all_users, whoami, World, AWS,
};

const AWS_KIND: ProviderKind = ProviderKind::Aws;

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
    let world = World::demo();
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
            .aws_env_cmd(&admin.access_key_id, "not-the-secret-at-all", &["whoami"])
            .env("AWS_REGION", "us-east-1"),
        3,
    );
    assert_one_line_error(&stderr, "SignatureDoesNotMatch");
    assert!(!stderr.contains("not-the-secret-at-all"));
    assert!(stdout.is_empty(), "{stdout}");
}

#[test]
fn bad_input_gets_one_line_and_exit_2() {
    let world = World::new();
    refused(
        &mut world.as_profile("nope", &["list"]),
        2,
        "unknown profile 'nope'",
    );

    let bad = world.home().join("bad.toml");
    std::fs::write(&bad, "[profiles.x]\nprovider = \"aws\"\naccess_key_id = \n").unwrap();
    crate::common::private(&bad);
    let stderr = refused(
        world
            .bare_cmd()
            .args(["--config", bad.to_str().unwrap(), "list"]),
        2,
        "bad.toml",
    );
    assert!(stderr.contains("line 3"), "{stderr}");

    // No config, no env, no CLI files.
    refused(world.bare_cmd().args(["list"]), 2, "no credentials");
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
    refused(
        &mut world.as_profile(
            "aws-admin",
            &[
                "--endpoint",
                &format!("http://127.0.0.1:{port}"),
                "--retries",
                "1",
                "whoami",
            ],
        ),
        4,
        "127.0.0.1",
    );
}

#[test]
fn plain_http_off_loopback_is_refused() {
    let world = World::new();
    refused(
        &mut world.as_profile("aws-admin", &["--endpoint", "http://example.com", "whoami"]),
        2,
        "http",
    );
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
        let (_, stderr) = run(&mut world.as_profile("aws-admin", &["whoami"]), 0);
        assert!(stderr.contains("readable by others"), "{stderr}");
        assert!(stderr.contains("chmod 600"), "{stderr}");
    }
}

#[test]
fn one_failing_profile_of_several_is_a_partial_failure() {
    let world = World::new();
    let admin = world.profile("aws-admin");
    let region = "region = \"us-east-1\"\n";
    add_profile(
        &world,
        "broken",
        AWS_KIND,
        &admin.access_key_id,
        "wrong",
        region,
    );
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
    let names: Vec<String> = (0..26).map(|i| format!("svc-{i:03}")).collect();
    world.add_users(AWS_KIND, &names);
    for (i, name) in names.iter().enumerate().take(8) {
        let (id, _) = world.add_key(AWS_KIND, name, chrono::Duration::zero());
        if i % 2 == 0 {
            world.set_aws_last_used(&id, Utc::now(), "ec2", "eu-west-1");
        }
    }
    let admin = world.profile("aws-admin").access_key_id;
    let (exact, exact_calls, _) = scan_all_users(&world, "aws-admin", &["--exact"]);
    let (fast, calls, _) = scan_all_users(&world, "aws-admin", &[]);
    // 30 users in 3 pages; 12 keys among 11 users (admin, alice x2, bob, 8 of svc).
    assert_eq!(exact.len(), 12);
    assert_eq!(exact_calls, 1 + 3 + 30 + 12, "whoami, pages, users, keys");
    // whoami, pages, GenerateCredentialReport x2 (STARTED, COMPLETE), GetCredentialReport,
    // the 11 users with keys, and no per-key call (each key matches one report slot).
    assert_eq!(calls, 1 + 3 + 3 + 11, "{calls} calls");
    assert_report_scan(&fast, &exact, &admin);
    assert!(fast
        .iter()
        .any(|r| r["last_used_service"] == "ec2" && r["last_used_region"] == "eu-west-1"));

    // The report is a snapshot: a key made since has no slot and is asked about itself.
    let (late, _) = world.add_key(AWS_KIND, "svc-000", chrono::Duration::zero());
    let (after, _, _) = scan_all_users(&world, "aws-admin", &[]);
    let late = after.iter().find(|r| r["access_key_id"] == late).unwrap();
    assert!(late.get("last_used_as_of").is_none(), "{late}");
}

#[test]
fn a_refused_credential_report_falls_back_with_a_note() {
    crate::conformance::a_refused_credential_report_falls_back_with_a_note(&AWS, "AccessDenied");
}

#[test]
fn a_role_session_without_user_is_told_it_has_no_keys_of_its_own() {
    let world = World::new();
    let (id, secret, token) = world.aws_role_session("ops-admin", "ci-run");
    assert!(id.starts_with("ASIA"));
    let extra = format!("session_token = \"{token}\"\nregion = \"us-east-1\"\n");
    add_profile(&world, "aws-role", AWS_KIND, &id, &secret, &extra);

    let (me, _) = whoami(&world, "aws-role");
    assert_eq!(me["type"], "role");
    assert_eq!(
        me["arn"],
        format!("arn:aws:sts::{}:assumed-role/ops-admin/ci-run", AWS.account).as_str()
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
    assert_eq!(
        world.keys(AWS_KIND, "admin").len(),
        1,
        "nothing was created"
    );
    // With --user the session manages that user's keys.
    let (stdout, _) = run(
        &mut world.as_profile("aws-role", &["list", "--user", "alice", "-o", "json"]),
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
    world.set_rate_limit(40.0);
    let names: Vec<String> = (0..300).map(|i| format!("svc-{i:03}")).collect();
    world.add_users(AWS_KIND, &names);
    for name in &names {
        world.add_key(AWS_KIND, name, chrono::Duration::zero());
    }
    let (stdout, _) = run(
        &mut world.as_profile(
            "aws-admin",
            &["list", "--all-users", "--exact", "-o", "json"],
        ),
        0,
    );
    assert_eq!(json_array(&stdout).len(), 304);
    let (requests, throttled) = world.requests();
    assert!(requests > 600, "{requests} requests");
    assert!(throttled > 0, "the rate rose to the limit: {throttled}");
    assert!(
        (throttled as f64) < 0.05 * requests as f64,
        "{throttled} of {requests}"
    );
}

#[test]
fn role_profile_config_errors_are_one_line() {
    let arn = AWS.role_arn("KeyAuditor");
    for (extra, needle) in [
        (format!("[profiles.r]\nprovider = \"aws\"\nrole_arn = \"{arn}\"\nsource_profile = \"nope\"\n"), "source_profile 'nope' is not a known profile"),
        (format!("[profiles.r]\nprovider = \"aws\"\nrole_arn = \"{arn}\"\n"), "needs both role_arn and source_profile"),
        (format!("[profiles.r]\nprovider = \"huawei\"\nrole_arn = \"{arn}\"\nsource_profile = \"aws-admin\"\n"), "is no Huawei agency URN: expected iam::<account id>:agency:<agency name>"),
        (format!("[profiles.a]\nprovider = \"aws\"\nrole_arn = \"{arn}\"\nsource_profile = \"b\"\n[profiles.b]\nprovider = \"aws\"\nrole_arn = \"{arn}\"\nsource_profile = \"a\"\n"), "loop (a -> b -> a)"),
    ] {
        let world = World::new();
        append_config(&world, &format!("\n{extra}"));
        world.reset_stats();
        refused(&mut world.as_profile("aws-admin", &["list"]), 2, needle);
        assert_eq!(world.requests().0, 0);
    }
}

/// The sandbox holds AssumeRole to AWS's limits, and the client reports them as AWS says them.
#[test]
fn assume_role_limits_are_the_clouds() {
    let world = World::new();
    AWS.add_role_profile(
        &world,
        "short",
        "KeyAuditor",
        "aws-admin",
        "duration_seconds = 100\n",
    );
    AWS.add_role_profile(
        &world,
        "long",
        "KeyAuditor",
        "aws-admin",
        "duration_seconds = 7200\n",
    );
    AWS.add_role_profile(&world, "member", "KeyAuditor", "aws-admin", "");
    AWS.add_role_profile(
        &world,
        "chained-long",
        "KeyAdmin",
        "member",
        "duration_seconds = 3601\n",
    );
    let cases = [
        ("short", "Value '100' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"),
        ("long", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."),
        ("chained-long", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."),
    ];
    for (profile, needle) in cases {
        let stderr = refused(&mut world.as_profile(profile, &["whoami"]), 3, needle);
        assert!(stderr.contains("ValidationError"), "{stderr}");
    }
}

// --- organizations ---------------------------------------------------------------------------

use cloudkeys::sandbox::aws::{MEMBER_ACCOUNT, ORG_ROLE, SECOND_MEMBER};

/// `[organizations.acme]` read through the test account's admin profile; `extra`: more lines.
fn add_org(world: &World, extra: &str) {
    append_config(
        world,
        &format!(
            "\n[organizations.acme]\nprovider = \"aws\"\nsource_profile = \"aws-admin\"\n{extra}"
        ),
    );
}

/// The profiles of the records in `stdout` (a JSON array).
fn profiles_of(stdout: &str) -> std::collections::BTreeSet<String> {
    json_array(stdout)
        .iter()
        .map(|r| r["profile"].as_str().unwrap().to_string())
        .collect()
}

/// `--org acme list --all-users -o json` (and `extra` global flags): the profiles of its
/// records, stdout and stderr.
fn org_scan(
    world: &World,
    extra: &[&str],
    code: i32,
) -> (std::collections::BTreeSet<String>, String, String) {
    let mut cmd = world.cmd(["--org", "acme"]);
    cmd.args(extra).args(["list", "--all-users", "-o", "json"]);
    let (stdout, stderr) = run(&mut cmd, code);
    (profiles_of(&stdout), stdout, stderr)
}

fn names(list: &[&str]) -> std::collections::BTreeSet<String> {
    list.iter().map(|n| n.to_string()).collect()
}

fn org_profile(account: &str) -> String {
    format!("acme/{account}")
}

/// What the conformance org scenario leaves out on AWS: Organizations' own throttling answer
/// retried, the member records' account, and how `profiles` shows a member.
#[test]
fn an_organization_is_read_through_its_management_key_alone() {
    let world = World::new();
    add_org(&world, "");
    world.inject(fault(AWS_KIND, Effect::Throttle, "ListAccounts").times(1));
    let (profiles, stdout, stderr) = org_scan(&world, &["-vv"], 0);
    let expected = names(&[
        "aws-admin",
        &org_profile(MEMBER_ACCOUNT),
        &org_profile(SECOND_MEMBER),
    ]);
    assert_eq!(profiles, expected, "{stdout}");
    let records = json_array(&stdout);
    let erin = records.iter().find(|r| r["user"] == "erin").expect("erin");
    assert_eq!(erin["account_id"], SECOND_MEMBER);
    assert!(records.iter().any(|r| r["user"] == "carol"));
    assert_eq!(world.calls_of("ListAccounts"), 3, "two pages, one retried");
    assert_no_secret(&world, &format!("{stdout}{stderr}"));

    let (profiles, _) = run(
        &mut world.cmd(["profiles", "--org", "acme", "-o", "json"]),
        0,
    );
    assert!(
        profiles.contains(&format!("role {ORG_ROLE} via aws-admin")),
        "{profiles}"
    );
}

#[test]
fn organization_filters_and_combining_with_profiles() {
    let world = World::new();
    add_org(&world, &format!("accounts = [\"{SECOND_MEMBER}\"]\n"));
    let (profiles, stdout, _) = org_scan(&world, &[], 0);
    assert_eq!(profiles, names(&[&org_profile(SECOND_MEMBER)]), "{stdout}");
    assert_eq!(world.calls_of("AssumeRole"), 1);

    let world = World::new();
    add_org(
        &world,
        &format!(
            "role_name = \"{ORG_ROLE}\"\nexclude = [\"{}\", \"{MEMBER_ACCOUNT}\"]\n",
            crate::common::AWS_ACCOUNT
        ),
    );
    let (profiles, stdout, _) = org_scan(&world, &["-p", "aws-admin"], 0);
    assert_eq!(
        profiles,
        names(&["aws-admin", &org_profile(SECOND_MEMBER)]),
        "{stdout}"
    );

    refused(
        &mut world.cmd(["--org", "nope", "list"]),
        2,
        "unknown organization 'nope'",
    );
    append_config(
        &world,
        "\n[organizations.tc]\nprovider = \"tencent\"\nsource_profile = \"aws-admin\"\n",
    );
    refused(
        &mut world.cmd(["--org", "tc", "list"]),
        2,
        "source_profile 'aws-admin' is a profile of aws, not tencent",
    );
    append_config(
        &world,
        "\n[organizations.bad]\nprovider = \"aws\"\nrole = \"x\"\n",
    );
    refused(&mut world.cmd(["list"]), 2, "unknown field `role`");
}

#[test]
fn an_unreachable_member_is_a_partial_failure() {
    let world = World::new();
    add_org(&world, "");
    world.remove_aws_role(SECOND_MEMBER, ORG_ROLE);
    let (profiles, stdout, stderr) = org_scan(&world, &[], 5);
    let reached = names(&["aws-admin", &org_profile(MEMBER_ACCOUNT)]);
    assert_eq!(profiles, reached, "{stdout}");
    assert!(stderr.contains(&org_profile(SECOND_MEMBER)), "{stderr}");
    assert!(stderr.contains("AccessDenied"), "{stderr}");

    // A member's key cannot list the organization: AWS's refusal, exit 3.
    let (id, secret) = world.add_aws_key_in(MEMBER_ACCOUNT, "dave");
    add_profile(&world, "member-admin", AWS_KIND, &id, &secret, "");
    let org = "\n[organizations.m]\nprovider = \"aws\"\nsource_profile = \"member-admin\"\n";
    append_config(&world, org);
    refused(
        &mut world.cmd(["--org", "m", "list"]),
        3,
        "AccessDeniedException",
    );
}

#[test]
fn revoke_in_an_organization_assumes_only_the_owners_account() {
    let world = World::new();
    add_org(&world, "");
    let erin = world.account_keys(SECOND_MEMBER, "erin")[0].id.clone();
    let (stdout, stderr) = run(
        &mut world.cmd(["revoke", &erin, "--org", "acme", "-o", "json"]),
        0,
    );
    assert!(stderr.contains(&format!("disabled {erin}")), "{stderr}");
    assert!(stdout.contains(&org_profile(SECOND_MEMBER)), "{stdout}");
    assert_eq!(
        world.account_keys(SECOND_MEMBER, "erin")[0].status,
        cloudkeys::model::KeyStatus::Inactive
    );
    assert_eq!(world.calls_of("GetAccessKeyInfo"), 1);
    assert_eq!(world.calls_of("AssumeRole"), 1, "only the owner's account");

    // A key of an account the filters leave out: nothing is assumed.
    let world = World::new();
    add_org(&world, &format!("exclude = [\"{SECOND_MEMBER}\"]\n"));
    let erin = world.account_keys(SECOND_MEMBER, "erin")[0].id.clone();
    refused(
        &mut world.cmd(["revoke", &erin, "--org", "acme"]),
        3,
        &format!(
            "belongs to account {SECOND_MEMBER}, which is not an account of organization acme"
        ),
    );
    assert_eq!(world.calls_of("AssumeRole"), 0);

    // GetAccessKeyInfo refused: every member is searched instead.
    let world = World::new();
    add_org(&world, "");
    world.deny(&["GetAccessKeyInfo"]);
    let carol = world.member_keys("carol")[0].id.clone();
    let (_, stderr) = run(&mut world.cmd(["revoke", &carol, "--org", "acme"]), 0);
    assert!(stderr.contains(&format!("disabled {carol}")), "{stderr}");
    assert!(stderr.contains("searching every account"), "{stderr}");
    assert_eq!(world.calls_of("AssumeRole"), 2);
    assert_eq!(
        world.member_keys("carol")[0].status,
        cloudkeys::model::KeyStatus::Inactive
    );
}
