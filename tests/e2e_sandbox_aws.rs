//! End-to-end: the built binary against the sandbox's AWS emulator.

mod common;

use common::{json_array, run, World};

#[test]
fn list_all_users_as_json() {
    let world = World::new();
    let (stdout, _) = run(
        &mut world.cmd(["-p", "aws-admin", "list", "--all-users", "-o", "json"]),
        0,
    );
    let records = json_array(&stdout);
    assert!(!records.is_empty());
}
