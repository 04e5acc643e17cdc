//! Secret hygiene end to end: every command, run with `-vvv` (and `RUST_LOG=trace`, which
//! must change nothing) against the sandbox on each of the four clouds, and its stdout and
//! stderr scanned for every secret in play — each key's secret in the sandbox, each secret in
//! the config, the wrong secrets of failing runs. Only `create` may print a secret: the one it
//! just made, on stdout, when it is not saved to a file.

use std::path::Path;

use crate::common::{json_array, listed_ids, own_config, run, World, CLOUDS};
use cloudkeys::model::ProviderKind;

/// The secrets in play: the sandbox's, the config's, and any `extra` (wrong ones).
fn secrets_in_play(world: &World, extra: &[String]) -> Vec<String> {
    let mut all = world.secrets();
    all.extend(world.profiles().into_iter().map(|p| p.secret_access_key));
    all.extend(extra.iter().cloned());
    all.sort();
    all.dedup();
    assert!(
        all.iter().all(|s| s.len() >= 16),
        "secrets too short to scan for"
    );
    all
}

/// No secret, nor any 12-character piece of one, may appear in `text`.
fn assert_clean(what: &str, text: &str, secrets: &[String], allowed: Option<&str>) {
    for secret in secrets {
        if Some(secret.as_str()) == allowed {
            continue;
        }
        let chars: Vec<char> = secret.chars().collect();
        for piece in chars.windows(12) {
            let piece: String = piece.iter().collect();
            assert!(
                !text.contains(&piece),
                "{what} shows (part of) a secret:\n{text}"
            );
        }
    }
}

/// Runs one command with every log on (`-vvv`, and `RUST_LOG=trace`, which must not open
/// the HTTP libraries' logs); returns (stdout, stderr).
fn logged(world: &World, args: &[&str], code: i32) -> (String, String) {
    let mut cmd = world.cmd(["-vvv"]);
    cmd.args(args).env("RUST_LOG", "trace");
    let (stdout, stderr) = run(&mut cmd, code);
    assert!(!stderr.contains("panicked"), "{stderr}");
    (stdout, stderr)
}

/// Both outputs of a run are free of every secret but `allowed_on_stdout`.
fn assert_outputs_clean(
    what: &str,
    (stdout, stderr): &(String, String),
    secrets: &[String],
    allowed_on_stdout: Option<&str>,
) {
    assert_clean(
        &format!("stdout of {what}"),
        stdout,
        secrets,
        allowed_on_stdout,
    );
    assert_clean(&format!("stderr of {what}"), stderr, secrets, None);
}

/// Runs one command with every log on and checks that neither output shows a secret.
fn checked(world: &World, args: &[&str], code: i32, secrets: &[String]) -> String {
    let outputs = logged(world, args, code);
    assert_outputs_clean(&args.join(" "), &outputs, secrets, None);
    outputs.0
}

/// The secret that `after` holds and `before` did not.
fn new_secret(before: &[String], after: &[String]) -> String {
    let new: Vec<&String> = after.iter().filter(|s| !before.contains(s)).collect();
    assert_eq!(new.len(), 1, "exactly one new secret expected");
    new[0].clone()
}

#[test]
fn no_command_prints_a_secret_on_any_cloud() {
    for (kind, admin) in CLOUDS.map(|c| (c.kind, c.admin)) {
        let world = World::new();
        let secrets = secrets_in_play(&world, &[]);

        // Reads, in every output format, with the verbose logs on.
        for format in ["table", "json", "ndjson", "csv"] {
            checked(
                &world,
                &["-p", admin, "list", "-a", "-o", format],
                0,
                &secrets,
            );
        }
        checked(&world, &["-p", admin, "whoami"], 0, &secrets);
        checked(&world, &["-p", admin, "whoami", "-o", "json"], 0, &secrets);
        checked(&world, &["profiles"], 0, &secrets);
        checked(&world, &["profiles", "-o", "json"], 0, &secrets);
        let alice = listed_ids(&world, admin, "alice");
        checked(
            &world,
            &[
                "-p",
                admin,
                "last-used",
                &alice[0],
                "--user",
                "alice",
                "-o",
                "json",
            ],
            0,
            &secrets,
        );
        if kind == ProviderKind::Huawei {
            checked(
                &world,
                &["-p", admin, "huawei", "cce-aksk-status"],
                0,
                &secrets,
            );
            checked(
                &world,
                &["-p", admin, "huawei", "cce-aksk-status", "-o", "json"],
                0,
                &secrets,
            );
        }

        // create prints its new secret on stdout, and nothing else secret anywhere.
        let before = secrets_in_play(&world, &[]);
        let args = ["-p", admin, "create", "--user", "carol", "-o", "json"];
        let outputs = logged(&world, &args, 0);
        let after = secrets_in_play(&world, &[]);
        let printed = new_secret(&before, &after);
        assert_outputs_clean("create", &outputs, &after, Some(&printed));
        assert_eq!(outputs.0.matches(&printed).count(), 1, "{}", outputs.0);
        checked(&world, &["-p", admin, "list", "-a"], 0, &after);

        // create --save puts the secret in the file only.
        let saved = world.home().join(format!("{kind}-carol.json"));
        let save = saved.to_string_lossy().to_string();
        let before = after;
        let args = ["-p", admin, "create", "--user", "carol", "--save", &save];
        let outputs = logged(&world, &args, 0);
        let after = secrets_in_play(&world, &[]);
        let saved_secret = new_secret(&before, &after);
        assert_outputs_clean("create --save", &outputs, &after, None);
        let file = std::fs::read_to_string(&saved).expect("saved file");
        assert!(file.contains(&saved_secret));
        assert_mode_600(&saved);

        // create in table form: the secret is shown once, and only on stdout.
        let carol = listed_ids(&world, admin, "carol");
        assert_eq!(carol.len(), 2);
        let args = ["-p", admin, "delete", &carol[0], "--user", "carol", "--yes"];
        checked(&world, &args, 0, &after);
        let before = secrets_in_play(&world, &[]);
        let outputs = logged(&world, &["-p", admin, "create", "--user", "carol"], 0);
        let after = secrets_in_play(&world, &[]);
        let shown = new_secret(&before, &after);
        assert_outputs_clean("create (table)", &outputs, &after, Some(&shown));
        assert!(outputs.0.contains(&shown), "{}", outputs.0);
        // alice has two keys already: refused before anything is made, and nothing printed.
        let stdout = checked(
            &world,
            &["-p", admin, "create", "--user", "alice"],
            3,
            &after,
        );
        assert!(
            stdout.is_empty(),
            "a refused create prints nothing: {stdout}"
        );

        // Status changes and deletion.
        let secrets = secrets_in_play(&world, &[]);
        let carol = listed_ids(&world, admin, "carol");
        for args in [
            vec!["disable", carol[0].as_str(), "--user", "carol"],
            vec!["enable", carol[0].as_str(), "--user", "carol"],
            vec![
                "disable",
                carol[1].as_str(),
                "--user",
                "carol",
                "-o",
                "json",
            ],
            vec!["delete", carol[1].as_str(), "--user", "carol", "--yes"],
        ] {
            let mut full = vec!["-p", admin];
            full.extend(args);
            checked(&world, &full, 0, &secrets);
        }
    }
}

#[test]
fn failing_runs_print_no_secret_on_any_cloud() {
    for (kind, admin) in CLOUDS.map(|c| (c.kind, c.admin)) {
        let world = World::new();
        let secrets = secrets_in_play(&world, &[]);

        // Unknown user, unknown key: the cloud refuses, exit 3.
        for format in ["table", "json"] {
            checked(
                &world,
                &["-p", admin, "list", "--user", "nobody", "-o", format],
                3,
                &secrets,
            );
        }
        let alice = listed_ids(&world, admin, "alice");
        checked(
            &world,
            &["-p", admin, "disable", &alice[0], "--user", "nobody"],
            3,
            &secrets,
        );

        // A secret pasted where a key id belongs (an AWS-style one, with a '/') is refused
        // before any call, and not echoed: the scan covers every 12-character piece of it.
        let own = world.profile(admin).secret_access_key;
        let pasted = format!("{}/{}", &own[..own.len() / 2], &own[own.len() / 2..]);
        for command in ["last-used", "disable", "delete"] {
            checked(
                &world,
                &["-p", admin, command, &pasted, "--yes"],
                2,
                &secrets,
            );
        }

        // A wrong secret: the cloud refuses the signature, exit 3.
        let profile = world.profile(admin);
        let wrong = format!("{}WRONGwrong", profile.secret_access_key);
        let extra = format!(
            "region = \"{}\"\n{}",
            profile.region,
            profile
                .project_id
                .map(|p| format!("project_id = \"{p}\"\n"))
                .unwrap_or_default(),
        );
        let file = format!("{kind}-wrong.toml");
        let config = own_config(
            &world,
            &file,
            ("wrong", kind),
            &profile.access_key_id,
            &wrong,
            &extra,
        );
        let secrets = secrets_in_play(&world, &[wrong]);
        for args in [
            vec!["whoami"],
            vec!["list", "-a", "-o", "json"],
            vec!["create", "--user", "carol"],
        ] {
            let mut cmd = world.bare_cmd();
            cmd.arg("--config")
                .arg(&config)
                .args(["-vvv", "-p", "wrong"])
                .args(&args)
                .env("RUST_LOG", "trace");
            let (stdout, stderr) = run(&mut cmd, 3);
            assert_clean("stdout", &stdout, &secrets, None);
            assert_clean("stderr", &stderr, &secrets, None);
        }

        // A config file others can read: a warning, and still no secret.
        let (_, stderr) = {
            let mut cmd = world.bare_cmd();
            cmd.arg("--config").arg(&config).arg("profiles");
            set_mode(&config, 0o644);
            run(&mut cmd, 0)
        };
        assert!(stderr.contains("readable by others"), "{stderr}");
        assert_clean("stderr", &stderr, &secrets, None);
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn assert_mode_600(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{}", path.display());
}

/// Credentials in each cloud's own files (and in the environment) are found, used and never
/// shown; a native file others can read is warned about.
#[test]
fn native_credential_files_are_used_and_never_shown() {
    let world = World::new();
    let home = world.home();
    let endpoint = world.endpoint();
    let aws = world.profile("aws-admin");
    let tencent = world.profile("tencent-admin");
    let alibaba = world.profile("alibaba-admin");
    let huawei = world.profile("huawei-admin");
    let write = |relative: &str, text: String, mode: u32| {
        let path = home.join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
        set_mode(&path, mode);
        path
    };
    let credentials = write(
        ".aws/credentials",
        format!(
            "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            aws.access_key_id, aws.secret_access_key
        ),
        0o600,
    );
    let tccli = write(
        ".tccli/default.credential",
        serde_json::json!({ "secretId": tencent.access_key_id, "secretKey": tencent.secret_access_key })
            .to_string(),
        0o644,
    );
    // aliyun and hcloud keep a list of profiles and name the one in use.
    let current = |mut profile: serde_json::Value| {
        profile["name"] = "default".into();
        serde_json::json!({ "current": "default", "profiles": [profile] }).to_string()
    };
    let aliyun = write(
        ".aliyun/config.json",
        current(
            serde_json::json!({ "mode": "AK", "access_key_id": alibaba.access_key_id,
            "access_key_secret": alibaba.secret_access_key, "region_id": alibaba.region }),
        ),
        0o640,
    );
    let hcloud = write(
        ".hcloud/config.json",
        current(
            serde_json::json!({ "mode": "AKSK", "accessKeyId": huawei.access_key_id,
            "secretAccessKey": huawei.secret_access_key, "region": huawei.region,
            "projectId": huawei.project_id }),
        ),
        0o604,
    );
    let secrets = secrets_in_play(&world, &[]);

    let mut cmd = world.bare_cmd();
    cmd.args(["-vvv", "profiles"]).env("RUST_LOG", "trace");
    let (stdout, stderr) = run(&mut cmd, 0);
    assert_clean("stdout", &stdout, &secrets, None);
    assert_clean("stderr", &stderr, &secrets, None);
    for (path, warned) in [
        (&credentials, false),
        (&tccli, true),
        (&aliyun, true),
        (&hcloud, true),
    ] {
        let named = stderr
            .lines()
            .filter(|l| l.contains("readable by others") && l.contains(&*path.to_string_lossy()))
            .count();
        assert_eq!(named, usize::from(warned), "{}:\n{stderr}", path.display());
    }

    // The native profiles sign real calls; their secrets stay hidden.
    for (profile, provider) in [
        ("aws:default", "aws"),
        ("tencent:default", "tencent"),
        ("alibaba:default", "alibaba"),
        ("huawei:default", "huawei"),
    ] {
        let mut cmd = world.bare_cmd();
        cmd.args([
            "-vvv",
            "-p",
            profile,
            "--endpoint",
            &endpoint,
            "whoami",
            "-o",
            "json",
        ])
        .env("RUST_LOG", "trace");
        let (stdout, stderr) = run(&mut cmd, 0);
        assert_eq!(json_array(&stdout)[0]["provider"], provider);
        assert_clean("stdout", &stdout, &secrets, None);
        assert_clean("stderr", &stderr, &secrets, None);
    }

    // And from the environment.
    let mut cmd = world.bare_cmd();
    cmd.args([
        "-vvv",
        "--provider",
        "aws",
        "--endpoint",
        &endpoint,
        "list",
        "-a",
    ])
    .env("AWS_ACCESS_KEY_ID", &aws.access_key_id)
    .env("AWS_SECRET_ACCESS_KEY", &aws.secret_access_key)
    .env("RUST_LOG", "trace");
    let (stdout, stderr) = run(&mut cmd, 0);
    assert_clean("stdout", &stdout, &secrets, None);
    assert_clean("stderr", &stderr, &secrets, None);
}
