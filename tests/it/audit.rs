//! End-to-end: `cloudkeys audit` against the sandbox on all four clouds. Each rule fires on a
//! key made to break it and stays quiet on a compliant one; the allow-list ends when it says;
//! an unreadable target gives exit 5 with the rest reported; Markdown renders as a table.

use std::collections::BTreeSet;

use crate::common::{
    assert_one_line_error, fault, json_array, refused, run, Effect, Fault, World, AWS_ACCOUNT,
    CLOUDS, TEST_PROJECT,
};
use chrono::{Duration, Utc};
use cloudkeys::model::{KeyStatus, ProviderKind};
use serde_json::Value;

/// A key for carol (who has none in the test seed): created `created` days ago, last used
/// `used` days ago (`None`: never). Returns its id.
fn carol_key(
    world: &World,
    kind: ProviderKind,
    created: i64,
    used: Option<i64>,
    status: KeyStatus,
) -> String {
    let (id, _) = world.add_key(kind, "carol", Duration::days(created));
    world.set_key(&id, status, used.map(|d| Utc::now() - Duration::days(d)));
    id
}

/// (rule, key id) of every finding.
fn found(findings: &[Value]) -> BTreeSet<(String, String)> {
    findings
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or("?").to_string(),
                f["access_key_id"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect()
}

fn append_config(world: &World, text: &str) {
    let mut config = std::fs::read_to_string(world.config_path()).expect("config");
    config.push_str(text);
    std::fs::write(world.config_path(), config).expect("config written");
}

/// One scenario: carol's keys as (created days ago, last used days ago, status), extra flags,
/// and the findings expected as (rule, index of the key).
struct Case {
    name: &'static str,
    keys: &'static [(i64, Option<i64>, KeyStatus)],
    flags: &'static [&'static str],
    expect: &'static [(&'static str, usize)],
}

const ACTIVE: KeyStatus = KeyStatus::Active;
const INACTIVE: KeyStatus = KeyStatus::Inactive;

const CASES: &[Case] = &[
    Case {
        name: "compliant keys",
        keys: &[(10, Some(1), ACTIVE), (60, Some(5), INACTIVE)],
        flags: &[],
        expect: &[],
    },
    Case {
        name: "too old",
        keys: &[(100, Some(1), ACTIVE)],
        flags: &[],
        expect: &[("max-age", 0)],
    },
    Case {
        name: "old but within a raised limit",
        keys: &[(100, Some(1), ACTIVE)],
        flags: &["--max-age", "120"],
        expect: &[],
    },
    Case {
        name: "idle",
        keys: &[(200, Some(95), ACTIVE)],
        flags: &["--max-age", "365"],
        expect: &[("max-idle", 0)],
    },
    Case {
        name: "never used",
        keys: &[(20, None, ACTIVE)],
        flags: &[],
        expect: &[("never-used", 0)],
    },
    Case {
        name: "never used, still new",
        keys: &[(3, None, ACTIVE)],
        flags: &[],
        expect: &[],
    },
    Case {
        name: "inactive and forgotten",
        keys: &[(60, Some(40), INACTIVE)],
        flags: &[],
        expect: &[("inactive-unused", 0)],
    },
    Case {
        name: "a rotation left half done",
        keys: &[(10, Some(1), ACTIVE), (5, Some(1), ACTIVE)],
        flags: &[],
        expect: &[("two-active", 0)],
    },
    Case {
        name: "a skipped rule",
        keys: &[(10, Some(1), ACTIVE), (5, Some(1), ACTIVE)],
        flags: &["--skip", "two-active"],
        expect: &[],
    },
];

#[test]
fn each_rule_fires_on_a_breaking_key_and_stays_quiet_on_a_compliant_one() {
    for (kind, profile) in CLOUDS.map(|c| (c.kind, c.admin)) {
        for case in CASES {
            let world = World::new();
            let ids: Vec<String> = case
                .keys
                .iter()
                .map(|&(created, used, status)| carol_key(&world, kind, created, used, status))
                .collect();
            let mut args = vec!["-p", profile, "audit", "--user", "carol", "-o", "json"];
            args.extend(case.flags);
            let code = if case.expect.is_empty() { 0 } else { 1 };
            let (stdout, stderr) = run(&mut world.cmd(&args), code);
            let findings = json_array(&stdout);
            let expected: BTreeSet<(String, String)> = case
                .expect
                .iter()
                .map(|(rule, i)| (rule.to_string(), ids[*i].clone()))
                .collect();
            assert_eq!(
                found(&findings),
                expected,
                "{kind}, {}: {stdout}\n{stderr}",
                case.name
            );
            for f in &findings {
                assert_eq!(f["provider"], kind.as_str());
                assert_eq!(f["profile"], profile);
                assert_eq!(f["user"], "carol");
                assert_eq!(f["allowed"], false);
                assert!(f["message"].as_str().is_some_and(|m| !m.is_empty()));
                assert!(f["age_days"].is_i64() && f["created_at"].is_string());
            }
        }
    }
}

#[test]
fn findings_carry_the_key_record_then_rule_and_message() {
    let world = World::new();
    let id = carol_key(&world, ProviderKind::Aws, 120, Some(100), ACTIVE);
    let (stdout, _) = run(
        &mut world.as_profile("aws-admin", &["audit", "-u", "carol", "-o", "json"]),
        1,
    );
    let findings = json_array(&stdout);
    assert_eq!(findings.len(), 2, "{stdout}");
    // Worst first: max-age before max-idle.
    assert_eq!(findings[0]["rule"], "max-age");
    assert_eq!(findings[1]["rule"], "max-idle");
    let keys: Vec<&str> = findings[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    // The key record's fields (no day precision here), then the finding's.
    let record = "provider,profile,account_id,user,user_id,access_key_id,status,created_at,\
                  last_used_at,last_used_service,last_used_region,age_days,idle_days";
    let finding = "rule,message,allowed,allow_reason,allow_until";
    assert_eq!(keys.join(","), format!("{record},{finding}"));
    assert_eq!(findings[0]["access_key_id"], id.as_str());
    assert_eq!(findings[0]["account_id"], AWS_ACCOUNT);
    assert_eq!(findings[0]["status"], "active");
    assert_eq!(findings[0]["age_days"], 120);
    assert_eq!(findings[1]["idle_days"], 100);
    assert_eq!(findings[1]["last_used_service"], "s3");
    assert!(findings[0]["message"]
        .as_str()
        .unwrap()
        .contains("limit 90 days"));

    // ndjson: the same findings, one a line; csv: a header with the rule and the message.
    let (stdout, _) = run(
        &mut world.as_profile("aws-admin", &["audit", "-u", "carol", "-o", "ndjson"]),
        1,
    );
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, findings);
    let (stdout, _) = run(
        &mut world.as_profile("aws-admin", &["audit", "-u", "carol", "-o", "csv"]),
        1,
    );
    let mut rows = stdout.lines();
    let header = rows.next().unwrap();
    assert!(
        header.starts_with("provider,profile,account_id,user"),
        "{header}"
    );
    assert!(header.contains(",rule,message,allowed,"), "{header}");
    assert_eq!(rows.count(), 2);
    // The table groups by rule, worst first, and ends with a summary.
    let (stdout, _) = run(
        &mut world.as_profile("aws-admin", &["audit", "-u", "carol"]),
        1,
    );
    let age = stdout.find("max-age (1)").expect(&stdout);
    let idle = stdout.find("max-idle (1)").expect(&stdout);
    assert!(age < idle, "{stdout}");
    assert!(stdout.contains(&id));
    assert!(
        stdout
            .trim_end()
            .ends_with("2 findings in 1 key of 1 profile"),
        "{stdout}"
    );
}

#[test]
fn config_thresholds_apply_and_flags_win() {
    let world = World::new();
    let id = carol_key(&world, ProviderKind::Tencent, 60, Some(1), ACTIVE);
    append_config(&world, "\n[audit]\nmax_age_days = 50\n");
    let (stdout, _) = run(
        &mut world.as_profile("tencent-admin", &["audit", "-u", "carol", "-o", "json"]),
        1,
    );
    assert_eq!(
        found(&json_array(&stdout)),
        BTreeSet::from([("max-age".to_string(), id)])
    );
    let (stdout, _) = run(
        &mut world.as_profile(
            "tencent-admin",
            &["audit", "-u", "carol", "--max-age", "70", "-o", "json"],
        ),
        0,
    );
    assert!(json_array(&stdout).is_empty());
}

#[test]
fn cce_aksk_expiry_is_audited_on_huawei_profiles_with_a_project() {
    let set_expiry = |world: &World, days: Option<i64>| world.huawei_set_cce_expiry(days);
    let audit = |world: &World, flags: &[&str], code: i32| {
        let mut args = vec!["-p", "huawei-admin", "audit", "-u", "carol", "-o", "json"];
        args.extend(flags);
        json_array(&run(&mut world.cmd(&args), code).0)
    };
    // Compliant: far from expiry, or nothing uploaded.
    let world = World::new();
    set_expiry(&world, Some(200));
    assert!(audit(&world, &[], 0).is_empty());
    set_expiry(&world, None);
    assert!(audit(&world, &[], 0).is_empty());
    // Expiring within the warning window, and not with a narrower one.
    set_expiry(&world, Some(10));
    let findings = audit(&world, &[], 1);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["rule"], "cce-expiring");
    assert_eq!(findings[0]["project_id"], TEST_PROJECT);
    assert!(findings[0]["access_key_id"].is_null());
    assert!(findings[0]["expires_at"].is_string());
    assert!(audit(&world, &["--cce-warn-days", "5"], 0).is_empty());
    // Expired.
    set_expiry(&world, Some(-2));
    let findings = audit(&world, &[], 1);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["rule"], "cce-expired");
    // Skipping both CCE rules skips the call too: a broken CCE endpoint then doesn't matter.
    world.inject(fault(
        ProviderKind::Huawei,
        Effect::ServerError,
        "CheckLongAksk",
    ));
    assert!(audit(
        &world,
        &["--skip", "cce-expired,cce-expiring", "--retries", "0"],
        0
    )
    .is_empty());
}

#[test]
fn allow_list_entries_waive_findings_until_their_end_date() {
    let world = World::new();
    let id = carol_key(&world, ProviderKind::Alibaba, 100, Some(1), ACTIVE);
    let today = Utc::now().date_naive();
    let entry = |until: chrono::NaiveDate| {
        format!(
            "\n[[audit.allow]]\naccess_key_id = \"{id}\"\nreason = \"vendor integration\"\nuntil = \"{until}\"\n"
        )
    };
    let original = std::fs::read_to_string(world.config_path()).unwrap();
    let args = ["-p", "alibaba-admin", "audit", "-u", "carol", "-o", "json"];

    // In force: reported as allowed, and not a failure.
    append_config(&world, &entry(today + Duration::days(30)));
    let (stdout, _) = run(&mut world.cmd(args), 0);
    let findings = json_array(&stdout);
    assert_eq!(findings.len(), 1, "{stdout}");
    assert_eq!(findings[0]["rule"], "max-age");
    assert_eq!(findings[0]["allowed"], true);
    assert_eq!(findings[0]["allow_reason"], "vendor integration");
    assert_eq!(
        findings[0]["allow_until"],
        (today + Duration::days(30)).to_string()
    );
    let (stdout, _) = run(
        &mut world.as_profile("alibaba-admin", &["audit", "-u", "carol"]),
        0,
    );
    assert!(stdout.contains("allowed: findings waived"), "{stdout}");
    assert!(stdout.contains("vendor integration"), "{stdout}");

    // Past its end date: audited again, and the run says why.
    std::fs::write(world.config_path(), &original).unwrap();
    append_config(&world, &entry(today - Duration::days(1)));
    let (stdout, stderr) = run(&mut world.cmd(args), 1);
    let findings = json_array(&stdout);
    assert_eq!(findings[0]["allowed"], false);
    assert!(
        findings[0]["message"]
            .as_str()
            .unwrap()
            .contains("ended on"),
        "{stdout}"
    );
    assert!(
        stderr.contains(&format!("allow-list entry for {id} ended")),
        "{stderr}"
    );

    // --allow waives with no end date.
    let mut with_flag = args.to_vec();
    with_flag.extend(["--allow", &id]);
    let (stdout, _) = run(&mut world.cmd(&with_flag), 0);
    assert_eq!(json_array(&stdout)[0]["allowed"], true);
}

#[test]
fn an_unreadable_profile_gives_exit_5_and_the_rest_is_reported() {
    let world = World::new();
    world.inject(Fault::always(Effect::Throttle).provider(ProviderKind::Tencent));
    let both = [
        "-p",
        "aws-admin,tencent-admin",
        "--retries",
        "0",
        "audit",
        "--all-users",
    ];
    let (stdout, stderr) = run(&mut world.cmd([&both[..], &["-o", "json"]].concat()), 5);
    let findings = json_array(&stdout);
    assert!(!findings.is_empty());
    assert!(findings.iter().all(|f| f["provider"] == "aws"), "{stdout}");
    assert!(findings.iter().any(|f| f["rule"] == "two-active"));
    assert_one_line_error(&stderr, "tencent-admin");
    let error: Value = serde_json::from_str(stderr.trim()).expect("a JSON error");
    assert_eq!(error["profile"], "tencent-admin");

    // The table says the audit is incomplete.
    let (stdout, _) = run(&mut world.cmd(both), 5);
    assert!(stdout.contains("1 target could not be read"), "{stdout}");

    // Nothing readable at all: the failure's own exit code.
    refused(
        &mut world.as_profile("tencent-admin", &["--retries", "0", "audit"]),
        4,
        "tencent-admin",
    );
}

#[test]
fn one_unreadable_user_fails_alone() {
    for (kind, profile, action) in [
        (ProviderKind::Aws, "aws-admin", "ListAccessKeys"),
        (ProviderKind::Huawei, "huawei-admin", "ListAccessKeysV5"),
    ] {
        let world = World::new();
        world.inject(fault(kind, Effect::ServerError, action).times(1));
        let (stdout, stderr) = run(
            &mut world.as_profile(
                profile,
                &[
                    "--retries",
                    "0",
                    "audit",
                    "--all-users",
                    "--skip",
                    "cce-expired,cce-expiring",
                    "-o",
                    "json",
                ],
            ),
            5,
        );
        assert_one_line_error(&stderr, profile);
        assert!(stderr.contains("user "), "{stderr}");
        // Four users with keys in the test account; one of them could not be read.
        let users: BTreeSet<String> = json_array(&stdout)
            .iter()
            .filter_map(|f| f["user"].as_str().map(str::to_string))
            .collect();
        assert!(!users.is_empty(), "{kind}: {stdout}");
    }
}

/// The table a Markdown renderer sees in `text`: (header cells, body rows).
fn rendered_table(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let mut header = Vec::new();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let (mut in_head, mut tables, mut cell) = (false, 0, None::<String>);
    for event in Parser::new_ext(text, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::Table(_)) => tables += 1,
            Event::Start(Tag::TableHead) => in_head = true,
            Event::End(TagEnd::TableHead) => in_head = false,
            Event::Start(Tag::TableRow) => rows.push(Vec::new()),
            Event::Start(Tag::TableCell) => cell = Some(String::new()),
            Event::Text(t) | Event::Code(t) => {
                if let Some(cell) = cell.as_mut() {
                    cell.push_str(&t);
                }
            }
            Event::End(TagEnd::TableCell) => {
                let text = cell.take().unwrap_or_default();
                if in_head {
                    header.push(text);
                } else if let Some(row) = rows.last_mut() {
                    row.push(text);
                }
            }
            _ => {}
        }
    }
    assert_eq!(tables, 1, "one table expected:\n{text}");
    (header, rows)
}

#[test]
fn markdown_renders_as_a_table_for_audit_and_list() {
    let world = World::new();
    let base = ["-p", "aws-admin,huawei-admin", "--all-users"];
    let json = |cmd: &str, code| {
        let mut args = vec![cmd];
        args.extend(base);
        args.extend(["-o", "json"]);
        json_array(&run(&mut world.cmd(&args), code).0)
    };
    let markdown = |cmd: &str, code| {
        let mut args = vec![cmd];
        args.extend(base);
        args.extend(["-o", "markdown"]);
        run(&mut world.cmd(&args), code).0
    };

    let findings = json("audit", 1);
    let text = markdown("audit", 1);
    assert!(text.starts_with("### "), "{text}");
    let (header, rows) = rendered_table(&text);
    assert_eq!(header[0], "Rule");
    assert!(header.contains(&"Access key".to_string()));
    assert_eq!(rows.len(), findings.len());
    for (row, finding) in rows.iter().zip(&findings) {
        assert_eq!(row.len(), header.len());
        assert_eq!(row[0], finding["rule"].as_str().unwrap());
        assert_eq!(row[4], finding["access_key_id"].as_str().unwrap());
    }
    assert!(text.trim_end().ends_with("profiles."), "{text}");

    let keys = json("list", 0);
    let text = markdown("list", 0);
    let (header, rows) = rendered_table(&text);
    assert_eq!(header[0], "Cloud");
    assert_eq!(rows.len(), keys.len());
    for (row, key) in rows.iter().zip(&keys) {
        assert_eq!(row.len(), header.len());
        assert_eq!(row[4], key["access_key_id"].as_str().unwrap());
    }
}

#[test]
fn a_fleet_audit_is_the_same_every_run() {
    let world = World::new();
    let args = ["--all-profiles", "audit", "--all-users", "-o", "json"];
    let (first, _) = run(&mut world.cmd(args), 1);
    let (second, _) = run(&mut world.cmd(args), 1);
    assert_eq!(first, second);
    let findings = json_array(&first);
    let providers: BTreeSet<&str> = findings
        .iter()
        .filter_map(|f| f["provider"].as_str())
        .collect();
    assert_eq!(providers.len(), 4, "{first}");
    // Worst first: the rules come in severity order.
    let order: Vec<&str> =
        "cce-expired max-age max-idle two-active never-used cce-expiring inactive-unused"
            .split(' ')
            .collect();
    let ranks: Vec<usize> = findings
        .iter()
        .map(|f| order.iter().position(|r| f["rule"] == *r).unwrap())
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{ranks:?}");
}

#[test]
fn bad_audit_settings_are_usage_errors() {
    let world = World::new();
    let aws = |args: &[&str]| world.as_profile("aws-admin", args);
    for (text, needle) in [
        ("\n[audit]\nmax_age_days = -5\n", "max_age_days"),
        ("\n[audit]\nmax_age = 5\n", "max_age"),
        ("\n[audit]\nskip = [\"too-old\"]\n", "too-old"),
        (
            "\n[[audit.allow]]\naccess_key_id = \"AKIAX000000000000000\"\nreason = \"\"\n",
            "reason",
        ),
        ("\n[rate_limits]\naws = -1\n", "rate_limits"),
    ] {
        let original = std::fs::read_to_string(world.config_path()).unwrap();
        append_config(&world, text);
        refused(&mut aws(&["audit"]), 2, needle);
        std::fs::write(world.config_path(), original).unwrap();
    }
    let (_, stderr) = run(&mut aws(&["audit", "--skip", "too-old"]), 2);
    assert!(stderr.contains("too-old"), "{stderr}");
    let bad_allow = ["audit", "--allow", "not/a/key"];
    refused(&mut aws(&bad_allow), 2, "invalid access key id");
}

#[test]
fn the_demo_shows_findings_and_still_exits_0() {
    let world = World::new();
    let (stdout, stderr) = run(world.bare_cmd().arg("demo"), 0);
    assert!(stderr.contains("cloudkeys audit"), "{stderr}");
    for rule in [
        "max-age (",
        "max-idle (",
        "two-active (",
        "never-used (",
        "cce-expiring (",
        "inactive-unused (",
    ] {
        assert!(stdout.contains(rule), "{rule} missing:\n{stdout}");
    }
}
