//! End-to-end: `list -o ndjson` prints profile by profile, and gives the same records in the
//! same order as `-o json`.

use crate::common::{json_array, run, World};
use serde_json::Value;

/// A record without the fields that change between two runs (the caller's own key is used by
/// every run, so its last use moves).
fn stable(record: &Value) -> Value {
    let mut record = record.clone();
    if let Value::Object(map) = &mut record {
        for field in [
            "last_used_at",
            "idle_days",
            "last_used_service",
            "last_used_region",
        ] {
            map.remove(field);
        }
    }
    record
}

#[test]
fn ndjson_lines_are_the_json_elements_in_the_same_order() {
    let world = World::demo();
    let args = ["--all-profiles", "list", "--all-users", "-o"];
    let (json, _) = run(&mut world.cmd(args.iter().chain(&["json"])), 0);
    let (ndjson, _) = run(&mut world.cmd(args.iter().chain(&["ndjson"])), 0);
    let from_json: Vec<Value> = json_array(&json).iter().map(stable).collect();
    let from_ndjson: Vec<Value> = ndjson
        .lines()
        .map(|line| stable(&serde_json::from_str(line).expect("one JSON object a line")))
        .collect();
    assert_eq!(from_ndjson, from_json);
    // Every cloud's profiles are there, grouped: the config lists Alibaba before Tencent, the
    // output sorts Tencent first (provider order), then by profile name.
    let profiles: Vec<(String, String)> = from_ndjson
        .iter()
        .map(|r| {
            (
                r["provider"].as_str().unwrap_or_default().to_string(),
                r["profile"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let mut runs = profiles.clone();
    runs.dedup();
    let mut sorted = runs.clone();
    sorted.sort_by_key(|(provider, profile)| {
        let rank = ["aws", "tencent", "alibaba", "huawei"]
            .iter()
            .position(|p| p == provider);
        (rank, profile.clone())
    });
    sorted.dedup();
    assert_eq!(
        runs, sorted,
        "each profile's records come together, in order"
    );
    let providers: std::collections::BTreeSet<&str> =
        runs.iter().map(|(provider, _)| provider.as_str()).collect();
    assert_eq!(providers.len(), 4, "{runs:?}");
}

#[test]
fn ndjson_prints_the_profiles_that_worked_when_one_fails() {
    let world = World::new();
    let admin = world.profile("aws-admin");
    let mut config = std::fs::read_to_string(world.config_path()).unwrap();
    // Named to sort before aws-admin, so its failure comes first.
    config.push_str(&format!(
        "\n[profiles.aa-broken]\nprovider = \"aws\"\naccess_key_id = \"{}\"\nsecret_access_key = \"wrong\"\nregion = \"us-east-1\"\nendpoint = \"{}\"\n",
        admin.access_key_id,
        world.endpoint()
    ));
    std::fs::write(world.config_path(), config).unwrap();
    let (stdout, stderr) = run(
        &mut world.cmd([
            "-p",
            "aws-admin,aa-broken",
            "list",
            "--all-users",
            "-o",
            "ndjson",
        ]),
        5,
    );
    let records: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object a line"))
        .collect();
    // admin 1, alice 2, bob 1.
    assert_eq!(records.len(), 4, "{stdout}");
    assert!(records.iter().all(|r| r["profile"] == "aws-admin"));
    let error: Value = serde_json::from_str(stderr.lines().last().unwrap()).unwrap();
    assert_eq!(error["profile"], "aa-broken");
    assert_eq!(error["code"], "SignatureDoesNotMatch");
}
