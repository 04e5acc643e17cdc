//! Smaller holes closed end to end: key-id shapes, redirects, per-host clock offsets,
//! loopback and proxies, control characters, core dumps, pagination guards.

use crate::common::{run, World};

#[test]
fn a_secret_given_as_key_id_is_refused_unsent_and_not_echoed() {
    let world = World::new();
    // The shapes of a Tencent (32), Alibaba (30) and Huawei (40) secret: letters and digits.
    let secrets = [
        ("tencent-admin", "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"),
        ("alibaba-admin", "8mT3qKx0DQu2F1bVh7cPzR9yWn4sLa"),
        ("huawei-admin", "Qm9vZkFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFla"),
        ("aws-admin", "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY00"),
    ];
    for (profile, secret) in secrets {
        for command in ["disable", "enable", "last-used", "delete"] {
            let (stdout, stderr) = run(
                &mut world.as_profile(
                    profile,
                    &[command, secret, "--user", "alice", "--yes", "-vvv"],
                ),
                2,
            );
            assert!(stdout.is_empty());
            assert!(
                !stderr.contains(&secret[..12]),
                "{profile} {command}: {stderr}"
            );
            assert!(
                stderr.contains(&format!("({} characters)", secret.len())),
                "{stderr}"
            );
        }
    }
}

/// A fake AWS whose ListUsers answer always says "truncated, next page: `same`".
fn looping_aws(world: &World) -> String {
    let app = axum::Router::new().fallback(|body: String| async move {
        let identity = "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:aws:iam::111122223333:user/admin</Arn><UserId>AIDAEXAMPLEUSERID0001</UserId><Account>111122223333</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></GetCallerIdentityResponse>";
        let users = "<ListUsersResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ListUsersResult><Users><member><Path>/</Path><UserName>u1</UserName><UserId>AIDAEXAMPLEUSERID0002</UserId><Arn>arn:aws:iam::111122223333:user/u1</Arn><CreateDate>2024-01-01T00:00:00Z</CreateDate></member></Users><IsTruncated>true</IsTruncated><Marker>same</Marker></ListUsersResult><ResponseMetadata><RequestId>r2</RequestId></ResponseMetadata></ListUsersResponse>";
        let answer = if body.contains("Action=ListUsers") {
            users
        } else {
            identity
        };
        ([("content-type", "text/xml")], answer)
    });
    let listener = world
        .runtime()
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("binds");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    world
        .runtime()
        .spawn(async move { axum::serve(listener, app).await });
    url
}

#[test]
fn a_cloud_repeating_its_page_marker_ends_in_a_clear_error() {
    let world = World::new();
    let endpoint = looping_aws(&world);
    let (stdout, stderr) = run(
        &mut world.cmd([
            "--endpoint",
            &endpoint,
            "-p",
            "aws-admin",
            "list",
            "--all-users",
            "--no-last-used",
        ]),
        4,
    );
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("ListUsers: the answer repeats a page marker"),
        "{stderr}"
    );
}

/// Every control character a terminal would act on: C0 (with ESC, CR, BEL), DEL and C1.
fn has_terminal_controls(text: &str) -> bool {
    text.chars().any(|c| c.is_control() && c != '\n')
}

#[test]
fn cloud_text_reaches_the_terminal_without_control_characters() {
    let world = World::new();
    // A user name from a hostile cloud: retitle the window, clear the screen with the
    // one-byte CSI, hide a line with CR.
    let hostile = "alice\u{1b}]0;owned\u{7}\u{9b}2J\rx\u{7f}";
    // Tencent addresses users by uin in key calls, so the name only travels back to us (IAM
    // would refuse such a UserName, as the AWS sandbox now does).
    let key = world.tencent_rename("alice", hostile);
    // revoke reports the owner on stderr; list shows it in a table, CSV and Markdown.
    let (stdout, stderr) = run(
        &mut world.as_profile("tencent-admin", &["revoke", &key, "--yes"]),
        0,
    );
    assert!(stderr.contains("user alice"), "{stderr:?}");
    assert!(!has_terminal_controls(&stderr), "{stderr:?}");
    assert!(!has_terminal_controls(&stdout), "{stdout:?}");
    for format in ["table", "csv", "markdown"] {
        let (stdout, stderr) = run(
            &mut world.as_profile("tencent-admin", &["list", "-a", "-o", format]),
            0,
        );
        assert!(stdout.contains("alice"), "{format}: {stdout}");
        assert!(!has_terminal_controls(&stdout), "{format}: {stdout:?}");
        assert!(!has_terminal_controls(&stderr), "{format}: {stderr:?}");
    }
    // An error naming the user: one clean line.
    let (_, stderr) = run(
        &mut world.as_profile("aws-admin", &["create", "--user", hostile]),
        3,
    );
    assert!(!has_terminal_controls(&stderr), "{stderr:?}");
}

#[cfg(target_os = "linux")]
#[test]
fn no_core_dump_can_hold_a_secret() {
    use std::os::unix::process::CommandExt;
    // A long-running command (the sandbox); its limits are read while it runs. It starts
    // with core dumps allowed, so only cloudkeys itself can have turned them off.
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("cloudkeys"));
    // SAFETY: setrlimit is async-signal-safe; runs in the child between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let allowed = libc::rlimit {
                rlim_cur: 1 << 30,
                rlim_max: 1 << 30,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &allowed);
            Ok(())
        });
    }
    let mut child = cmd
        .args(["sandbox", "--port", "0"])
        .env_clear()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id()));
    let _ = child.kill();
    let _ = child.wait();
    let limits = limits.expect("limits readable");
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .expect("core line");
    let fields: Vec<&str> = core.split_whitespace().collect();
    assert_eq!(&fields[4..6], ["0", "0"], "{core}");
}
