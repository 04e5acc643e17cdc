//! End-to-end on a pseudo-terminal (util-linux `script`): tables fitted to 80, 100 and 120
//! columns never split an id and never run past the edge, and say what they hid; pipes keep
//! every column; the scan's progress bar shows on a terminal's stderr, is cleared, and never
//! shows when stderr is not a terminal.

use std::path::Path;
use std::process::Command as Process;
use std::time::Duration;

use cloudkeys::model::ProviderKind;

use crate::common::{json_array, run, Effect, Fault, World};

/// Runs `cloudkeys --config CONFIG ARGS…` on a pseudo-terminal `cols` wide; `redirect` is
/// appended to the shell command (e.g. `2>FILE`). Returns what the terminal showed, with the
/// terminal's `\r\n` line ends made `\n`. `None` when `script` is not installed.
fn on_terminal(world: &World, cols: usize, args: &[&str], redirect: &str) -> Option<String> {
    if Process::new("script").arg("--version").output().is_err() {
        eprintln!("util-linux `script` is missing: skipping the pseudo-terminal test");
        return None;
    }
    let bin = assert_cmd::cargo::cargo_bin("cloudkeys");
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut line = format!(
        "stty cols {cols} rows 200; exec {} --config {}",
        quote(&bin.to_string_lossy()),
        quote(&world.config_path().to_string_lossy())
    );
    for arg in args {
        line.push(' ');
        line.push_str(&quote(arg));
    }
    line.push(' ');
    line.push_str(redirect);
    let output = Process::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env_clear()
        .env("HOME", world.home())
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .expect("script runs");
    Some(String::from_utf8_lossy(&output.stdout).replace("\r\n", "\n"))
}

fn ids(world: &World, args: &[&str]) -> Vec<String> {
    let mut json_args = args.to_vec();
    json_args.extend(["-o", "json"]);
    let (stdout, _) = run(&mut world.cmd(&json_args), 0);
    json_array(&stdout)
        .iter()
        .map(|r| r["access_key_id"].as_str().expect("key id").to_string())
        .collect()
}

/// Checks that every id is whole on one line and no line is wider than the terminal; returns
/// the names the note says were hidden, each of them missing from the table's header.
fn hidden(screen: &str, cols: usize, ids: &[String]) -> Vec<String> {
    for line in screen.lines() {
        assert!(
            line.chars().count() <= cols,
            "line wider than {cols} columns: {line:?}\n{screen}"
        );
    }
    for id in ids {
        assert!(
            screen.lines().any(|l| l.contains(id.as_str())),
            "{id} is not whole on one line at {cols} columns:\n{screen}"
        );
    }
    let header = screen
        .lines()
        .find(|l| l.starts_with("CLOUD") || l.starts_with("USER"))
        .expect("header line");
    let Some(note) = screen
        .lines()
        .find(|l| l.starts_with("note: hidden to fit: "))
    else {
        return Vec::new();
    };
    assert!(note.ends_with("(-o wide shows all)"), "{note}");
    let names: Vec<String> = note["note: hidden to fit: ".len()..]
        .trim_end_matches(" (-o wide shows all)")
        .split(", ")
        .map(str::to_string)
        .collect();
    for name in &names {
        if name.chars().all(|c| c.is_ascii_uppercase() || c == ' ') {
            assert!(
                !header
                    .split("  ")
                    .any(|h| h.trim().starts_with(name.as_str())),
                "{name} said hidden but shown: {header}"
            );
        }
    }
    names
}

#[test]
fn fleet_list_fits_80_100_and_120_columns_without_splitting_ids() {
    let world = World::demo();
    // Tencent gives only the day of last use of every used key: the calendar day in its zone.
    world.tencent_days_only();
    let args = ["--all-profiles", "list", "--all-users"];
    let ids = ids(&world, &args);
    assert!(ids.len() > 10, "{ids:?}");
    let mut hidden_at = Vec::new();
    for cols in [80, 100, 120] {
        let Some(screen) = on_terminal(&world, cols, &args, "") else {
            return;
        };
        let names = hidden(&screen, cols, &ids);
        assert!(!names.is_empty(), "the fleet table is wider than {cols}");
        hidden_at.push(names);
    }
    // Narrower terminals hide more: at 80 columns the dates go too.
    assert!(hidden_at[0].len() > hidden_at[2].len(), "{hidden_at:?}");
    assert!(hidden_at[0].contains(&"CREATED".to_string()));

    // `-o wide` on the terminal and any pipe: every column, no note.
    let screen = on_terminal(
        &world,
        80,
        &["-o", "wide", "--all-profiles", "list", "-a"],
        "",
    )
    .expect("script");
    let (piped, stderr) = run(&mut world.cmd(args), 0);
    for text in [&screen, &piped] {
        let header = text
            .lines()
            .find(|l| l.starts_with("CLOUD"))
            .expect("header");
        for column in [
            "PROFILE",
            "USER",
            "CREATED (UTC)",
            "LAST USED (UTC)",
            "IDLE",
        ] {
            assert!(header.contains(column), "{column} missing: {header}");
        }
        assert!(!text.contains("hidden to fit"), "{text}");
    }
    assert!(!stderr.contains("hidden"), "{stderr}");
    // Full times, and Tencent's calendar days in their own zone.
    assert!(piped.contains(" (UTC+8)"), "{piped}");
}

#[test]
fn audit_fits_80_100_and_120_columns_without_splitting_ids() {
    let world = World::demo();
    let args = ["--all-profiles", "audit", "--all-users"];
    let (json, _) = run(
        &mut world.cmd(["--all-profiles", "audit", "-a", "-o", "json"]),
        1,
    );
    let ids: Vec<String> = json_array(&json)
        .iter()
        .filter_map(|f| f["access_key_id"].as_str().map(str::to_string))
        .collect();
    assert!(ids.len() > 10);
    for cols in [80, 100, 120] {
        let Some(screen) = on_terminal(&world, cols, &args, "") else {
            return;
        };
        let names = hidden(&screen, cols, &ids);
        if cols == 80 {
            assert!(names.contains(&"PROFILE".to_string()), "{screen}");
        }
    }
}

/// Latency on every call makes the scan take more than the second after which the bar shows.
fn slow_world() -> World {
    let world = World::new();
    world.inject(
        Fault::always(Effect::Latency(Duration::from_millis(700))).provider(ProviderKind::Aws),
    );
    world
}

#[test]
fn progress_bar_shows_on_a_terminal_and_is_cleared() {
    let world = slow_world();
    let profile = world.profile("aws-admin").name;
    let Some(screen) = on_terminal(&world, 100, &["-p", &profile, "audit", "-a"], "") else {
        return;
    };
    let bar = screen
        .rfind("auditing ")
        .unwrap_or_else(|| panic!("no progress bar:\n{screen:?}"));
    // indicatif clears its line (erase line) before the report is printed.
    let after = &screen[bar..];
    let clear = after.find("\u{1b}[2K").expect("bar cleared");
    let report = after.find("findings in").expect("summary");
    assert!(clear < report, "{screen:?}");
}

#[test]
fn progress_bar_never_shows_when_stderr_is_not_a_terminal() {
    let world = slow_world();
    let profile = world.profile("aws-admin").name;
    let dir = tempfile::tempdir().expect("temp dir");
    let stderr_file = dir.path().join("stderr");
    let redirect = format!("2>'{}'", stderr_file.display());
    let Some(screen) = on_terminal(&world, 100, &["-p", &profile, "audit", "-a"], &redirect) else {
        return;
    };
    let stderr = std::fs::read_to_string(Path::new(&stderr_file)).expect("stderr file");
    assert!(screen.contains("findings in"), "{screen:?}");
    assert!(!screen.contains("auditing"), "{screen:?}");
    assert!(!stderr.contains("auditing"), "{stderr:?}");
    // And in a plain pipe.
    let (_, stderr) = run(&mut world.cmd(["-p", &profile, "audit", "-a"]), 1);
    assert!(!stderr.contains("auditing"), "{stderr}");
}

#[test]
fn times_name_their_zone_utc_by_default_local_with_flag() {
    let world = World::new();
    let (json, _) = run(
        &mut world.as_profile("aws-admin", &["list", "-a", "-o", "json"]),
        0,
    );
    let created = json_array(&json)[0]["created_at"]
        .as_str()
        .expect("created_at")
        .to_string();
    // "2026-06-01T10:00:00Z" → "2026-06-01 10:00:00" in the UTC table.
    let utc_text = created.replace('T', " ").trim_end_matches('Z').to_string();
    let (table, _) = run(&mut world.as_profile("aws-admin", &["list", "-a"]), 0);
    assert!(table.contains("CREATED (UTC)"), "{table}");
    assert!(table.contains(&utc_text), "{utc_text} not in\n{table}");
    let (markdown, _) = run(
        &mut world.as_profile("aws-admin", &["list", "-a", "-o", "markdown"]),
        0,
    );
    assert!(markdown.contains("| Created (UTC) |"), "{markdown}");

    // --local: the system zone (TZ honoured; a POSIX zone with no DST), named in the header.
    let mut cmd = world.cmd(["--local", "-p", "aws-admin", "list", "-a"]);
    cmd.env("TZ", "IST-5:30");
    let (local, _) = run(&mut cmd, 0);
    assert!(local.contains("CREATED (UTC+5:30)"), "{local}");
    let at = chrono::DateTime::parse_from_rfc3339(&created).expect("rfc3339")
        + chrono::Duration::minutes(330);
    let local_text = at.format("%Y-%m-%d %H:%M:%S").to_string();
    assert!(local.contains(&local_text), "{local_text} not in\n{local}");
    // JSON stays UTC whatever the flag.
    let mut cmd = world.cmd(["--local", "-p", "aws-admin", "list", "-a", "-o", "json"]);
    cmd.env("TZ", "IST-5:30");
    let (json_local, _) = run(&mut cmd, 0);
    assert_eq!(json_local, json);

    // Tencent's calendar day of last use is that day in Beijing, said so.
    // Tencent gives only the day of last use of every used key: the calendar day in its zone.
    world.tencent_days_only();
    let (tencent, _) = run(&mut world.as_profile("tencent-admin", &["list", "-a"]), 0);
    assert!(tencent.contains(" (UTC+8)"), "{tencent}");
}
