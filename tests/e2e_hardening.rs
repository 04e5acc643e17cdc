//! Smaller holes closed end to end: key-id shapes, redirects, per-host clock offsets,
//! loopback and proxies, control characters, core dumps, pagination guards.

mod common;

use common::{run, World};

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
                &mut world.cmd([
                    "-p", profile, command, secret, "--user", "alice", "--yes", "-vvv",
                ]),
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
