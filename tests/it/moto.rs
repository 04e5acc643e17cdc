//! End-to-end: the built binary against moto, AWS's community emulator, with request
//! authentication switched on — moto recomputes every SigV4 signature with botocore, so a
//! signing mistake of ours fails here even where the sandbox (which shares our signer) agrees.
//!
//! Needs only `python3` with its `venv` module: the first test makes target/moto-venv and
//! pip-installs the pinned moto there (tests/requirements.txt). Without python3 or venv the
//! tests skip, saying why; a failed install fails them, unless `CLOUDKEYS_SKIP_MOTO=1`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command as Process, Stdio};

use crate::common::{assert_one_line_error, json_array, private, refused, run};
use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

/// One moto server, seeded by tests/moto/start_moto.py; killed when dropped (its stdin closes).
struct Moto {
    child: Child,
    info: Value,
    home: TempDir,
    config: PathBuf,
}

impl Moto {
    fn start() -> Option<Moto> {
        Self::start_with(&[])
    }

    /// Starts moto with extra arguments for tests/moto/start_moto.py.
    fn start_with(extra: &[&str]) -> Option<Moto> {
        if std::env::var_os("CLOUDKEYS_SKIP_MOTO").is_some_and(|v| v == "1") {
            eprintln!("CLOUDKEYS_SKIP_MOTO=1: skipping the moto test");
            return None;
        }
        let python = match crate::common::moto_python() {
            Ok(python) => python,
            Err(reason) => {
                eprintln!("skipping the moto test: {reason}");
                return None;
            }
        };
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/moto/start_moto.py");
        let mut child = Process::new(&python)
            .args([script, "--port", "0"])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the moto venv's python runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("moto start line");
        let info: Value = serde_json::from_str(&line).unwrap_or_else(|_| {
            panic!(
                "moto did not start ({}; or CLOUDKEYS_SKIP_MOTO=1): {line:?}",
                python.display()
            )
        });
        let home = tempfile::tempdir().expect("temp home");
        let config = home.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "[profiles.moto]\nprovider = \"aws\"\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\nregion = \"us-east-1\"\nendpoint = \"{}\"\n",
                info["admin"]["access_key_id"].as_str().unwrap(),
                info["admin"]["secret_access_key"].as_str().unwrap(),
                info["endpoint"].as_str().unwrap(),
            ),
        )
        .expect("config");
        private(&config);
        Some(Moto {
            child,
            info,
            home,
            config,
        })
    }

    fn cmd<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.as_profile("moto", args)
    }

    fn as_profile<I, S>(&self, profile: &str, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = self.bare_cmd();
        cmd.arg("--config")
            .arg(&self.config)
            .args(["-p", profile])
            .args(args);
        cmd
    }

    fn bare_cmd(&self) -> Command {
        crate::common::bare_cmd(self.home.path())
    }

    fn admin_key(&self) -> &str {
        self.info["admin"]["access_key_id"].as_str().unwrap()
    }

    fn admin_secret(&self) -> &str {
        self.info["admin"]["secret_access_key"].as_str().unwrap()
    }

    fn keys(&self, user: &str) -> Vec<String> {
        self.info["keys"][user]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    }

    fn list(&self, user: &str) -> Vec<Value> {
        let (stdout, _) = run(
            &mut self.cmd(["list", "--user", user, "-o", "json", "--no-last-used"]),
            0,
        );
        json_array(&stdout)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        // Closing stdin tells the script to stop moto; kill it if it lingers.
        drop(self.child.stdin.take());
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn moto_whoami_and_list() {
    let Some(moto) = Moto::start() else { return };
    let (stdout, _) = run(&mut moto.cmd(["whoami", "-o", "json"]), 0);
    let me = &json_array(&stdout)[0];
    assert_eq!(me["account_id"], moto.info["account_id"]);
    assert_eq!(me["access_key_id"], moto.admin_key());

    let (stdout, stderr) = run(&mut moto.cmd(["list", "--all-users", "-o", "json"]), 0);
    let records = json_array(&stdout);
    let mut ids: Vec<&str> = records
        .iter()
        .map(|r| r["access_key_id"].as_str().unwrap())
        .collect();
    ids.sort();
    let mut expected: Vec<String> = ["alice", "bob"].iter().flat_map(|u| moto.keys(u)).collect();
    expected.push(moto.admin_key().to_string());
    expected.sort();
    assert_eq!(ids, expected);
    let bob = records.iter().find(|r| r["user"] == "bob").unwrap();
    assert_eq!(bob["status"], "inactive");
    assert!(!stdout.contains(moto.admin_secret()) && !stderr.contains(moto.admin_secret()));

    let (stdout, _) = run(&mut moto.cmd(["list", "-o", "json"]), 0);
    let own = json_array(&stdout);
    assert_eq!(own.len(), 1);
    assert_eq!(own[0]["user"], "admin");
}

#[test]
fn moto_last_used() {
    let Some(moto) = Moto::start() else { return };
    let admin_key = moto.admin_key().to_string();
    let (stdout, _) = run(&mut moto.cmd(["last-used", &admin_key, "-o", "json"]), 0);
    let record = &json_array(&stdout)[0];
    assert_eq!(record["access_key_id"], admin_key.as_str());
    assert_eq!(record["user"], "admin");
}

#[test]
fn moto_create_limit_and_save() {
    let Some(moto) = Moto::start() else { return };
    let path = moto.home.path().join("carol.json");
    run(
        &mut moto.cmd([
            "create",
            "--user",
            "carol",
            "--save",
            path.to_str().unwrap(),
        ]),
        0,
    );
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let carol = moto.list("carol");
    assert_eq!(carol.len(), 1);
    assert_eq!(carol[0]["access_key_id"], saved["access_key_id"]);

    let (stdout, _) = run(
        &mut moto.cmd(["create", "--user", "carol", "-o", "json"]),
        0,
    );
    assert!(json_array(&stdout)[0]["secret_access_key"].is_string());
    // Two keys now: a third is refused by the cloud.
    refused(
        &mut moto.cmd(["create", "--user", "carol"]),
        3,
        "already has 2 keys",
    );
    assert_eq!(moto.list("carol").len(), 2);
}

#[test]
fn moto_disable_enable_delete() {
    let Some(moto) = Moto::start() else { return };
    let key = moto.keys("alice")[0].clone();
    let status = |m: &Moto| {
        m.list("alice")
            .into_iter()
            .find(|r| r["access_key_id"] == key.as_str())
            .map(|r| r["status"].as_str().unwrap().to_string())
    };
    run(&mut moto.cmd(["disable", &key, "--user", "alice"]), 0);
    assert_eq!(status(&moto).as_deref(), Some("inactive"));
    run(&mut moto.cmd(["enable", &key, "--user", "alice"]), 0);
    assert_eq!(status(&moto).as_deref(), Some("active"));
    run(&mut moto.cmd(["delete", &key, "--user", "alice"]), 2);
    assert!(status(&moto).is_some());
    run(
        &mut moto.cmd(["delete", &key, "--user", "alice", "--yes"]),
        0,
    );
    assert_eq!(status(&moto), None);
    assert_eq!(moto.list("alice").len(), 1);
}

#[test]
fn moto_refusals() {
    let Some(moto) = Moto::start() else { return };
    // A wrong secret: moto recomputes the signature and refuses it.
    let (_, stderr) = run(
        moto.bare_cmd()
            .args(["--provider", "aws", "--endpoint"])
            .arg(moto.info["endpoint"].as_str().unwrap())
            .arg("whoami")
            .env("AWS_ACCESS_KEY_ID", moto.admin_key())
            .env("AWS_SECRET_ACCESS_KEY", "definitely-wrong-secret")
            .env("AWS_REGION", "us-east-1"),
        3,
    );
    assert_one_line_error(&stderr, "SignatureDoesNotMatch");
    assert!(!stderr.contains("definitely-wrong-secret"));

    // A key id moto never issued.
    let (_, stderr) = run(
        moto.bare_cmd()
            .args(["--provider", "aws", "--endpoint"])
            .arg(moto.info["endpoint"].as_str().unwrap())
            .args(["list"])
            .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", moto.admin_secret())
            .env("AWS_REGION", "us-east-1"),
        3,
    );
    assert_one_line_error(&stderr, "InvalidClientTokenId");

    refused(
        &mut moto.cmd(["list", "--user", "nobody"]),
        3,
        "NoSuchEntity",
    );
}

/// `list --all-users` on a 31-user, 33-key account: the credential report answers last use and
/// shows who has no keys, so the scan needs at most 45 calls (66 with one call per user and
/// per key, as `--exact` does) and gives the same records.
#[test]
fn moto_all_users_scan_reads_the_credential_report() {
    let Some(moto) = Moto::start_with(&["--extra-users", "27"]) else {
        return;
    };
    let scan = |extra: &[&str]| {
        let (records, calls, _) = crate::common::scan(moto.cmd(Vec::<&str>::new()), extra);
        (records, calls)
    };
    let (exact, exact_calls) = scan(&["--exact"]);
    let (fast, calls) = scan(&[]);
    assert_eq!(exact.len(), 33, "{exact:?}");
    // GetCallerIdentity, ListUsers (moto 5.2 answers every user in one page whatever
    // MaxItems says; the sandbox tests page), 31 ListAccessKeys, 33 GetAccessKeyLastUsed.
    assert_eq!(exact_calls, 66, "one call per page, user and key");
    assert!(calls <= 45, "{calls} calls with the credential report");
    // The same records, but for when the report was made and for the scanning key's own
    // last use, which each scan moves on.
    let comparable = |records: &[Value]| -> Vec<Value> {
        records
            .iter()
            .map(|r| {
                let mut r = r.clone();
                let map = r.as_object_mut().unwrap();
                map.remove("last_used_as_of");
                if map["access_key_id"] == moto.admin_key() {
                    for field in ["last_used_at", "idle_days"] {
                        map.remove(field);
                    }
                }
                r
            })
            .collect()
    };
    assert_eq!(comparable(&fast), comparable(&exact));
    assert!(
        fast.iter().any(|r| r.get("last_used_as_of").is_some()),
        "records answered by the report say so"
    );
    assert!(exact.iter().all(|r| r.get("last_used_as_of").is_none()));
}

/// A role of a second account, assumed with the first account's admin key: moto checks the
/// signature of AssumeRole and of every call made with the session's keys and token, and the
/// role's policy in the member account.
#[test]
fn moto_role_profile_reads_a_member_account() {
    let Some(moto) = Moto::start_with(&["--member-account", "222233334444"]) else {
        return;
    };
    let member = &moto.info["member"];
    let mut config = std::fs::read_to_string(&moto.config).unwrap();
    config.push_str(&format!(
        "\n[profiles.member]\nprovider = \"aws\"\nrole_arn = \"{}\"\nsource_profile = \"moto\"\n",
        member["role_arn"].as_str().unwrap()
    ));
    std::fs::write(&moto.config, config).unwrap();
    let cmd = |args: &[&str]| moto.as_profile("member", args);
    let (stdout, _) = run(&mut cmd(&["whoami", "-o", "json"]), 0);
    let me = &json_array(&stdout)[0];
    assert_eq!(me["account_id"], "222233334444");
    let arn = me["arn"].as_str().unwrap();
    assert!(
        arn.starts_with("arn:aws:sts::222233334444:assumed-role/KeyAuditor/cloudkeys-"),
        "{arn}"
    );

    let (stdout, stderr) = run(&mut cmd(&["list", "--all-users", "-o", "json"]), 0);
    let records = json_array(&stdout);
    let ids: Vec<&str> = records
        .iter()
        .map(|r| r["access_key_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [member["keys"]["dave"][0].as_str().unwrap()],
        "{stderr}"
    );
    assert_eq!(records[0]["user"], "dave");
    assert!(!stdout.contains(moto.admin_secret()) && !stderr.contains(moto.admin_secret()));
}

/// An organization over moto with auth on: the management key lists the accounts (moto checks
/// its organizations:ListAccounts permission), assumes the member's
/// OrganizationAccountAccessRole and reads the member with the role's policy there.
#[test]
fn moto_organization_scan_reads_every_account() {
    let Some(moto) = Moto::start_with(&["--organization"]) else {
        return;
    };
    let member = &moto.info["organization"];
    let member_id = member["account_id"].as_str().unwrap();
    let mut config = std::fs::read_to_string(&moto.config).unwrap();
    config.push_str("\n[organizations.acme]\nprovider = \"aws\"\nsource_profile = \"moto\"\n");
    std::fs::write(&moto.config, config).unwrap();
    let mut cmd = moto.bare_cmd();
    cmd.arg("--config").arg(&moto.config);
    let (stdout, stderr) = run(
        cmd.args(["--org", "acme", "list", "--all-users", "-o", "json"]),
        0,
    );
    let records = json_array(&stdout);
    let frank = records
        .iter()
        .find(|r| r["user"] == "frank")
        .unwrap_or_else(|| panic!("{stdout}{stderr}"));
    assert_eq!(frank["access_key_id"], member["keys"]["frank"][0]);
    assert_eq!(frank["account_id"], member_id);
    assert_eq!(frank["profile"], format!("acme/{member_id}").as_str());
    // The management account itself, through the source profile.
    assert!(records
        .iter()
        .any(|r| r["user"] == "alice" && r["profile"] == "moto"));
    assert!(!stdout.contains(moto.admin_secret()) && !stderr.contains(moto.admin_secret()));

    // The measure: the whole organization audited with the management key alone.
    let mut cmd = moto.bare_cmd();
    cmd.arg("--config").arg(&moto.config);
    let (stdout, stderr) = run(
        cmd.args(["--org", "acme", "audit", "--all-users", "-o", "json"]),
        1,
    );
    let findings = json_array(&stdout);
    let franks: Vec<&Value> = findings
        .iter()
        .filter(|f| f["user"] == "frank" && f["rule"] == "two-active")
        .collect();
    assert!(!franks.is_empty(), "{stdout}{stderr}");
    assert!(
        franks
            .iter()
            .all(|f| f["profile"] == format!("acme/{member_id}").as_str()),
        "{stdout}"
    );
    assert!(!stdout.contains(moto.admin_secret()) && !stderr.contains(moto.admin_secret()));
}
