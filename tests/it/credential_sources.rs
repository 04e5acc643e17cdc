//! Credentials that no file holds: AWS `credential_process`, a role's `credential_source`
//! (environment, EC2 instance metadata, ECS container endpoint, each served here by a tiny
//! local HTTP server), and aliyun's ChainableRamRoleArn profiles.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use assert_cmd::Command;
use cloudkeys::model::ProviderKind;

use crate::common::{
    append_config, append_role_profile, assert_never_rotated, assert_no_secret,
    assert_one_line_error, json_array, refused, run, World,
};

fn aws_member_role(name: &str) -> String {
    let member = cloudkeys::sandbox::aws::MEMBER_ACCOUNT;
    format!("arn:aws:iam::{member}:role/{name}")
}

/// A credential_process script in the world's home printing `json`; each run appends its
/// first argument to `runs` (so a test sees how often it ran and how its command was split).
fn process_script(world: &World, json: &str, exit: i32) -> (String, PathBuf) {
    let script = world.home().join("creds.sh");
    let runs = world.home().join("runs");
    let body = format!(
        "#!/bin/sh\necho \"$1\" >> '{}'\necho 'child says hi' >&2\nprintf '%s' '{json}'\nexit {exit}\n",
        runs.display()
    );
    std::fs::write(&script, body).unwrap();
    (format!("sh '{}' \"two words\"", script.display()), runs)
}

fn runs(path: &PathBuf) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// credential_process's answer for (id, secret, token).
fn process_json(id: &str, secret: &str, token: Option<&str>, expires_in: i64) -> String {
    let mut json = serde_json::json!({"Version": 1, "AccessKeyId": id, "SecretAccessKey": secret});
    if let Some(token) = token {
        json["SessionToken"] = token.into();
    }
    let at = chrono::Utc::now() + chrono::Duration::seconds(expires_in);
    json["Expiration"] = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true).into();
    json.to_string()
}

/// A credential_process script printing the test account's admin key.
fn admin_process(world: &World) -> (String, PathBuf) {
    let admin = world.profile("aws-admin");
    let json = process_json(&admin.access_key_id, &admin.secret_access_key, None, 3600);
    process_script(world, &json, 0)
}

fn add_process_profile(world: &World, name: &str, command: &str) {
    let command = command.replace('\\', "\\\\").replace('"', "\\\"");
    append_config(
        world,
        &format!(
            "\n[profiles.{name}]\nprovider = \"aws\"\ncredential_process = \"{command}\"\nendpoint = \"{}\"\n",
            world.endpoint()
        ),
    );
}

#[test]
fn a_credential_process_profile_signs_with_what_the_command_prints() {
    let world = World::new();
    let (id, secret, token) = world.aws_role_session("ops-admin", "from-process");
    let (command, runs_file) =
        process_script(&world, &process_json(&id, &secret, Some(&token), 3600), 0);
    add_process_profile(&world, "proc", &command);
    let (stdout, stderr) = run(
        &mut world.as_profile("proc", &["-vv", "whoami", "-o", "json"]),
        0,
    );
    let me = &json_array(&stdout)[0];
    assert_eq!(me["access_key_id"], id.as_str(), "{stdout}");
    assert!(me["arn"]
        .as_str()
        .unwrap()
        .ends_with("assumed-role/ops-admin/from-process"));
    // Split as a shell would, run once, its stderr passed through; no secret shown.
    assert_eq!(runs(&runs_file), ["two words"]);
    assert!(stderr.contains("child says hi"), "{stderr}");
    assert_no_secret(&world, &format!("{stdout}{stderr}"));
    let (profiles, _) = run(&mut world.cmd(["profiles"]), 0);
    assert!(profiles.contains("proc"), "{profiles}");

    // As the source of a role profile: the command runs once, the role is assumed once.
    append_role_profile(
        &world,
        ProviderKind::Aws,
        "member",
        &aws_member_role("KeyAuditor"),
        "proc",
        "",
    );
    world.reset_stats();
    let (stdout, _) = run(
        &mut world.as_profile("member", &["list", "--all-users", "-o", "json"]),
        0,
    );
    let member = cloudkeys::sandbox::aws::MEMBER_ACCOUNT;
    let records = json_array(&stdout);
    assert_eq!(records.len(), 2, "{stdout}");
    assert!(records.iter().all(|r| r["account_id"] == member));
    assert_eq!(world.calls_of("AssumeRole"), 1);
    assert_eq!(runs(&runs_file).len(), 2);
}

#[test]
fn a_failing_or_unreadable_credential_process_is_one_line_naming_the_profile() {
    let world = World::new();
    let leak = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYLEAKEDLEAKED";
    // A failing command: exit 3, its stdout (maybe a secret) never shown, its stderr passed.
    let (command, _) = process_script(&world, leak, 7);
    add_process_profile(&world, "broken", &command);
    world.reset_stats();
    let (_, stderr) = run(&mut world.as_profile("broken", &["whoami"]), 3);
    assert!(stderr.contains("child says hi"), "{stderr}");
    let error: Vec<&str> = stderr.lines().filter(|l| l.contains("broken")).collect();
    assert_eq!(error.len(), 1, "{stderr}");
    assert!(error[0].contains("credential_process"), "{stderr}");
    assert!(error[0].contains("exit status: 7"), "{stderr}");
    assert!(!stderr.contains(leak), "{stderr}");
    assert_eq!(world.requests().0, 0, "no call without credentials");

    // Output that is not JSON, or not Version 1, or lacks a key: exit 2, nothing of it shown.
    for (json, needle) in [
        (leak.to_string(), "its output is not JSON"),
        (
            format!(r#"{{"Version": 2, "AccessKeyId": "AKIAX", "SecretAccessKey": "{leak}"}}"#),
            "unsupported Version 2",
        ),
        (
            format!(r#"{{"Version": 1, "AccessKeyId": "AKIAX", "Secret": "{leak}"}}"#),
            "missing required key SecretAccessKey",
        ),
        (
            format!(
                r#"{{"Version": 1, "AccessKeyId": "AKIAX", "SecretAccessKey": "{leak}", "Expiration": "2001-01-01T00:00:00Z"}}"#
            ),
            "already expired",
        ),
    ] {
        process_script(&world, &json, 0);
        let code = if needle == "already expired" { 3 } else { 2 };
        let (_, stderr) = run(&mut world.as_profile("broken", &["whoami"]), code);
        let line = stderr
            .lines()
            .find(|l| l.contains("broken"))
            .unwrap_or_else(|| panic!("{stderr}"));
        assert!(line.contains(needle), "{stderr}");
        assert!(!stderr.contains(leak), "{stderr}");
    }
}

#[test]
fn a_credential_process_profile_is_never_rotated_or_saved() {
    let world = World::new();
    let (command, runs_file) = admin_process(&world);
    add_process_profile(&world, "proc", &command);
    assert_never_rotated(
        &world,
        "proc",
        "gets its credentials from credential_process",
    );
    assert!(runs(&runs_file).is_empty(), "not even the command ran");
}

#[test]
fn aws_config_credential_process_and_credential_source_environment() {
    let world = World::new();
    let (command, runs_file) = admin_process(&world);
    let aws = world.home().join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    let role = aws_member_role("KeyAuditor");
    std::fs::write(
        aws.join("config"),
        format!(
            "[profile proc]\ncredential_process = {command}\n\
             [profile chained]\nrole_arn = {role}\nsource_profile = proc\nrole_session_name = via-proc\n\
             [profile from-env]\nrole_arn = {role}\ncredential_source = Environment\nrole_session_name = via-env\n\
             [profile both]\nrole_arn = {role}\ncredential_source = Environment\nsource_profile = proc\n\
             [profile odd]\nrole_arn = {role}\ncredential_source = Floppy\n"
        ),
    )
    .unwrap();
    let endpoint = world.endpoint();
    let cmd = |profile: &str| {
        let mut cmd = world.bare_cmd();
        cmd.args([
            "--endpoint",
            &endpoint,
            "-p",
            profile,
            "whoami",
            "-o",
            "json",
        ]);
        cmd
    };
    // Both set, or an unknown source: the file is refused as botocore refuses it.
    let (_, stderr) = run(&mut cmd("aws:proc"), 2);
    assert_one_line_error(&stderr, "set source_profile or credential_source, not both");
    let mut text = std::fs::read_to_string(aws.join("config")).unwrap();
    text = text.replace(
        "credential_source = Environment\nsource_profile = proc\n",
        "source_profile = proc\n",
    );
    std::fs::write(aws.join("config"), &text).unwrap();
    refused(
        &mut cmd("aws:proc"),
        2,
        "credential_source 'Floppy' is not valid",
    );
    std::fs::write(
        aws.join("config"),
        text.replace("credential_source = Floppy\n", "source_profile = proc\n"),
    )
    .unwrap();

    let (stdout, _) = run(&mut cmd("aws:proc"), 0);
    assert_eq!(
        json_array(&stdout)[0]["access_key_id"],
        world.profile("aws-admin").access_key_id.as_str()
    );
    let (stdout, _) = run(&mut cmd("aws:chained"), 0);
    assert!(
        stdout.contains("assumed-role/KeyAuditor/via-proc"),
        "{stdout}"
    );
    assert_eq!(runs(&runs_file).len(), 2);

    // credential_source = Environment: AWS's variables assume the role.
    let (id, secret, token) = world.aws_role_session("ops-admin", "env-session");
    let (stdout, stderr) = run(
        cmd("aws:from-env")
            .env("AWS_ACCESS_KEY_ID", &id)
            .env("AWS_SECRET_ACCESS_KEY", &secret)
            .env("AWS_SESSION_TOKEN", &token),
        0,
    );
    assert!(
        stdout.contains("assumed-role/KeyAuditor/via-env"),
        "{stdout}"
    );
    assert_no_secret(&world, &format!("{stdout}{stderr}"));
    let (profiles, _) = run(world.bare_cmd().args(["profiles"]), 0);
    assert!(
        profiles.contains("role KeyAuditor via credential_source Environment"),
        "{profiles}"
    );
    world.reset_stats();
    refused(
        &mut cmd("aws:from-env"),
        2,
        "aws:from-env: credential_source Environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set",
    );
    assert_eq!(world.requests().0, 0);
}

/// One request a metadata server saw: method, path, headers (names lower-cased).
type Seen = Arc<Mutex<Vec<(String, String, Vec<(String, String)>)>>>;

/// A local HTTP/1.1 server answering each request with `answer(method, path, headers)`: its
/// base URL and the requests it saw. It lives as long as the test process.
fn serve(
    answer: impl Fn(&str, &str, &[(String, String)]) -> (u16, String) + Send + 'static,
) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap_or_default();
            let mut parts = line.split_whitespace();
            let (method, path) = (
                parts.next().unwrap_or_default().to_string(),
                parts.next().unwrap_or_default().to_string(),
            );
            let mut headers = Vec::new();
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
                    break;
                }
                if let Some((name, value)) = header.split_once(':') {
                    headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
                }
            }
            let (status, body) = answer(&method, &path, &headers);
            log.lock().unwrap().push((method, path, headers));
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, seen)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// A role profile of ~/.aws/config assuming KeyAuditor with `credential_source`.
fn role_from(world: &World, source: &str) -> Command {
    let aws = world.home().join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    std::fs::write(
        aws.join("config"),
        format!(
            "[profile r]\nrole_arn = {}\ncredential_source = {source}\nrole_session_name = meta\n",
            aws_member_role("KeyAuditor")
        ),
    )
    .unwrap();
    let mut cmd = world.bare_cmd();
    cmd.args([
        "--endpoint",
        &world.endpoint(),
        "-p",
        "aws:r",
        "-vv",
        "whoami",
        "-o",
        "json",
    ]);
    cmd
}

/// The metadata services' credentials answer (IMDS and ECS name the fields alike).
fn metadata_json(id: &str, secret: &str, token: &str) -> String {
    let at = chrono::Utc::now() + chrono::Duration::hours(1);
    serde_json::json!({"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": id,
        "SecretAccessKey": secret, "Token": token,
        "Expiration": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)})
    .to_string()
}

#[test]
fn credential_source_ec2_instance_metadata_uses_an_imdsv2_token() {
    let world = World::new();
    let (id, secret, token) = world.aws_role_session("ops-admin", "on-ec2");
    let creds = metadata_json(&id, &secret, &token);
    let (url, seen) = serve(move |method, path, headers| {
        let session = header(headers, "x-aws-ec2-metadata-token") == Some("imds-session");
        match (method, path) {
            ("PUT", "/latest/api/token")
                if header(headers, "x-aws-ec2-metadata-token-ttl-seconds").is_some() =>
            {
                (200, "imds-session".into())
            }
            ("GET", "/latest/meta-data/iam/security-credentials/") if session => {
                (200, "ec2-role".into())
            }
            ("GET", "/latest/meta-data/iam/security-credentials/ec2-role") if session => {
                (200, creds.clone())
            }
            _ => (401, String::new()),
        }
    });
    let (stdout, stderr) = run(
        role_from(&world, "Ec2InstanceMetadata").env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &url),
        0,
    );
    assert!(stdout.contains("assumed-role/KeyAuditor/meta"), "{stdout}");
    let paths: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(m, p, _)| format!("{m} {p}"))
        .collect();
    assert_eq!(
        paths,
        [
            "PUT /latest/api/token",
            "GET /latest/meta-data/iam/security-credentials/",
            "GET /latest/meta-data/iam/security-credentials/ec2-role"
        ]
    );
    assert_no_secret(&world, &format!("{stdout}{stderr}"));

    // A service that refuses the role: one line naming the profile and the URL, exit 3.
    let (url, _) = serve(|_, _, _| (401, String::new()));
    world.reset_stats();
    let (_, stderr) = run(
        role_from(&world, "Ec2InstanceMetadata").env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &url),
        3,
    );
    assert!(
        stderr.contains("aws:r: credential_source Ec2InstanceMetadata"),
        "{stderr}"
    );
    assert!(stderr.contains("answered HTTP 401"), "{stderr}");
    assert_eq!(
        world.requests().0,
        0,
        "no AssumeRole without source credentials"
    );
}

#[test]
fn credential_source_ecs_container_sends_the_authorization_token() {
    let world = World::new();
    let (id, secret, token) = world.aws_role_session("ops-admin", "in-ecs");
    let creds = metadata_json(&id, &secret, &token);
    let (url, seen) = serve(move |method, path, headers| {
        match (method, path, header(headers, "authorization")) {
            ("GET", "/v2/credentials/abc", Some("ecs-agent-token")) => (200, creds.clone()),
            _ => (403, String::new()),
        }
    });
    let (stdout, _) = run(
        role_from(&world, "EcsContainer")
            .env(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                format!("{url}/v2/credentials/abc"),
            )
            .env("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ecs-agent-token"),
        0,
    );
    assert!(stdout.contains("assumed-role/KeyAuditor/meta"), "{stdout}");
    assert_eq!(seen.lock().unwrap().len(), 1);
    // The token file wins over the variable, as in botocore.
    let file = world.home().join("token");
    std::fs::write(&file, "ecs-agent-token\n").unwrap();
    run(
        role_from(&world, "EcsContainer")
            .env(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                format!("{url}/v2/credentials/abc"),
            )
            .env("AWS_CONTAINER_AUTHORIZATION_TOKEN", "stale")
            .env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &file),
        0,
    );
    // A plain-HTTP full URI to another host is refused before any request.
    refused(
        role_from(&world, "EcsContainer").env(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "http://192.0.2.1/creds",
        ),
        2,
        "is neither HTTPS nor a loopback or container-agent address",
    );
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[test]
fn aliyun_chainable_ram_role_arn_profiles_assume_down_the_chain() {
    let world = World::new();
    let admin = world.profile("alibaba-admin");
    let member = cloudkeys::sandbox::alibaba::MEMBER_ACCOUNT;
    let role = |name: &str| format!("acs:ram::{member}:role/{name}");
    let file = world.home().join(".aliyun/config.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let config = serde_json::json!({
        "current": "admin-chain",
        "profiles": [
            {"name": "base", "mode": "AK", "access_key_id": admin.access_key_id,
             "access_key_secret": admin.secret_access_key, "region_id": "cn-hangzhou"},
            {"name": "auditor", "mode": "ChainableRamRoleArn", "source_profile": "base",
             "ram_role_arn": role("KeyAuditor"), "ram_session_name": "link-1"},
            {"name": "admin-chain", "mode": "ChainableRamRoleArn", "source_profile": "auditor",
             "ram_role_arn": role("KeyAdmin"), "ram_session_name": "link-2",
             "expired_seconds": 900},
            {"name": "lost", "mode": "ChainableRamRoleArn", "source_profile": "nowhere",
             "ram_role_arn": role("KeyAdmin"), "ram_session_name": "x"},
        ],
    });
    std::fs::write(&file, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    crate::common::private(&file);
    let endpoint = world.endpoint();
    let cmd = |profile: &str, args: &[&str]| {
        let mut cmd = world.bare_cmd();
        cmd.args(["--endpoint", &endpoint, "-p", profile])
            .args(args);
        cmd
    };
    // A source that is not there: the file is refused, naming the profile.
    refused(
        &mut cmd("alibaba:base", &["whoami"]),
        2,
        "profile alibaba:lost: source_profile 'nowhere' is not a known profile",
    );
    let mut config = config;
    config["profiles"].as_array_mut().unwrap().pop();
    std::fs::write(&file, serde_json::to_string_pretty(&config).unwrap()).unwrap();

    world.reset_stats();
    let (stdout, stderr) = run(
        &mut cmd("alibaba:admin-chain", &["whoami", "-o", "json"]),
        0,
    );
    let arn = format!("acs:ram::{member}:assumed-role/KeyAdmin/link-2");
    assert_eq!(json_array(&stdout)[0]["arn"], arn.as_str(), "{stdout}");
    assert_eq!(world.calls_of("AssumeRole"), 2, "one assume per link");
    let (profiles, _) = run(world.bare_cmd().args(["profiles"]), 0);
    assert!(
        profiles.contains("role KeyAdmin via auditor (role KeyAuditor via base)"),
        "{profiles}"
    );
    refused(
        &mut cmd("alibaba:auditor", &["rotate"]),
        2,
        "assumes a role",
    );
    assert_no_secret(&world, &format!("{stdout}{stderr}{profiles}"));
}

// --- MFA (mfa_serial) ----------------------------------------------------------------------

/// Role profiles of the MFA role: `mfa` (TOML, with mfa_serial), `no-mfa` (without), and
/// `aws:cfg-mfa` of ~/.aws/config.
fn add_mfa_profiles(world: &World) {
    use cloudkeys::sandbox::aws::{MFA_ROLE, TEST_ACCOUNT};
    let arn = aws_member_role(MFA_ROLE);
    let serial = format!("mfa_serial = \"arn:aws:iam::{TEST_ACCOUNT}:mfa/admin\"\n");
    append_role_profile(world, ProviderKind::Aws, "mfa", &arn, "aws-admin", &serial);
    append_role_profile(world, ProviderKind::Aws, "no-mfa", &arn, "aws-admin", "");
    let aws = world.home().join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    let admin = world.profile("aws-admin");
    std::fs::write(
        aws.join("credentials"),
        format!(
            "[src]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            admin.access_key_id, admin.secret_access_key
        ),
    )
    .unwrap();
    crate::common::private(&aws.join("credentials"));
    std::fs::write(
        aws.join("config"),
        format!("[profile cfg-mfa]\nrole_arn = {arn}\nsource_profile = src\nmfa_serial = arn:aws:iam::{TEST_ACCOUNT}:mfa/admin\n"),
    )
    .unwrap();
}

#[test]
fn an_mfa_role_without_a_terminal_is_refused_before_any_request() {
    let world = World::new();
    add_mfa_profiles(&world);
    let endpoint = world.endpoint();
    world.reset_stats();
    // assert_cmd pipes stderr: no terminal to prompt on.
    refused(
        &mut world.as_profile("mfa", &["whoami"]),
        2,
        "profile mfa: mfa_serial needs a terminal",
    );
    refused(
        world
            .bare_cmd()
            .args(["--endpoint", &endpoint, "-p", "aws:cfg-mfa", "whoami"]),
        2,
        "profile aws:cfg-mfa: mfa_serial needs a terminal",
    );
    assert_eq!(world.requests().0, 0, "refused before any request");
    // Without the MFA parameters the role refuses as if untrusted, as AWS does.
    let stderr = refused(
        &mut world.as_profile("no-mfa", &["whoami"]),
        3,
        "is not authorized to perform: sts:AssumeRole on resource",
    );
    assert!(stderr.contains("AccessDenied"), "{stderr}");
}

/// Runs `cmd` with a new pseudo-terminal as its controlling terminal and stderr (stdin and
/// stdout are not terminals); types `typed` once the MFA prompt shows. (exit code, stdout,
/// what the terminal showed).
#[cfg(unix)]
fn on_terminal(mut cmd: std::process::Command, typed: &str) -> (i32, String, String) {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    let (mut master, mut slave) = (0, 0);
    let null = std::ptr::null_mut();
    // SAFETY: openpty fills two descriptors, owned below.
    let opened = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            null,
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(opened, 0, "openpty");
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(slave));
    // SAFETY: setsid and ioctl are async-signal-safe; stderr (2) is the pty's slave by now.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(2, libc::TIOCSCTTY as _, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().expect("binary runs");
    drop(cmd); // the parent's copy of the slave: reads end when the child exits
    let mut master = std::fs::File::from(master);
    let mut shown = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&shown).contains("Enter MFA code for") {
        match master.read(&mut buf) {
            Ok(n) if n > 0 => shown.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    std::io::Write::write_all(&mut master, format!("{typed}\n").as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    // The child is gone: the rest, until EIO.
    while let Ok(n) = master.read(&mut buf) {
        if n == 0 {
            break;
        }
        shown.extend_from_slice(&buf[..n]);
    }
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (
        output.status.code().unwrap_or(-1),
        stdout,
        String::from_utf8_lossy(&shown).into_owned(),
    )
}

/// The prompt on a terminal: the code is read there (not from stdin), not echoed, sent with
/// the device; a wrong one gets AWS's answer, one that is not 6 digits is refused locally.
#[cfg(unix)]
#[test]
fn an_mfa_role_asks_its_code_on_the_terminal_once() {
    use cloudkeys::sandbox::aws::{MFA_CODE, TEST_ACCOUNT};
    let world = World::new();
    add_mfa_profiles(&world);
    let cmd = || world.std_cmd(["-p", "mfa", "-vv", "whoami", "-o", "json"]);
    let serial = format!("arn:aws:iam::{TEST_ACCOUNT}:mfa/admin");

    world.reset_stats();
    let (code, _, shown) = on_terminal(cmd(), "12345");
    assert_eq!(code, 2, "{shown}");
    assert!(shown.contains("the MFA code must be 6 digits"), "{shown}");
    assert_eq!(world.requests().0, 0, "refused before any request");

    let (code, _, shown) = on_terminal(cmd(), "654321");
    assert_eq!(code, 3, "{shown}");
    assert!(
        shown.contains("MultiFactorAuthentication failed with invalid MFA one time pass code."),
        "{shown}"
    );
    assert!(
        !shown.contains("654321"),
        "the code is neither echoed nor logged"
    );

    world.reset_stats();
    let (code, stdout, shown) = on_terminal(cmd(), MFA_CODE);
    assert_eq!(code, 0, "{shown}");
    assert_eq!(shown.matches("Enter MFA code for").count(), 1, "{shown}");
    assert!(
        shown.contains(&format!("Enter MFA code for {serial}: ")),
        "{shown}"
    );
    assert!(
        !shown.contains(MFA_CODE),
        "the code is neither echoed nor logged: {shown}"
    );
    assert!(stdout.contains("assumed-role/KeyAuditorMfa/"), "{stdout}");
    assert_eq!(world.calls_of("AssumeRole"), 1);
}
