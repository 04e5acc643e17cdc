//! Shared harness of the end-to-end suite: the built binary run with a clean environment,
//! the clouds' descriptors, JSON and report helpers. The sandbox itself is reached through
//! `world` only.

mod cli;
mod world;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use cloudkeys::model::ProviderKind;
use cloudkeys::sandbox::{alibaba, aws, huawei};
use serde_json::Value;

pub use cli::*;
pub use world::*;

/// What the suite knows of one emulated cloud's test account and its admin profile.
pub struct Cloud {
    pub kind: ProviderKind,
    /// The admin profile of the test seed.
    pub admin: &'static str,
    pub account: &'static str,
    /// The admin's ARN as whoami shows it.
    pub admin_arn: &'static str,
    /// The create, update and delete actions' names.
    pub create: &'static str,
    pub update: &'static str,
    pub delete: &'static str,
    /// A new key id's prefix and length, a new secret's length.
    pub key_id: (&'static str, usize),
    pub secret_len: usize,
    /// `--user` also takes the user's id (Tencent's uin, Huawei's user id), and the records
    /// of a user named so carry it (elsewhere only `--all-users` records do).
    pub user_by_id: bool,
    /// How records label the account's own keys, and how another identity naming `<root>` is
    /// refused: (exit code, what the one line says); `None`: Huawei's root is an IAM user an
    /// administrator may manage.
    pub root_user: &'static str,
    pub root_refused: Option<(i32, &'static str)>,
    /// Service and region of alice's old key's last use (AWS alone tells them).
    pub last_used_where: Option<(&'static str, &'static str)>,
    /// The cloud's codes: no such user, a wrong signature, an inactive key signing.
    pub no_such_user: &'static str,
    pub bad_signature: &'static str,
    pub inactive_key: &'static str,
    /// A piece of the cloud's message for a wrong signature.
    pub bad_signature_text: &'static str,
    /// The organization the test account manages, once `--org` supports the cloud.
    pub org: Option<Org>,
    /// The member account the test account reaches through roles (Huawei: agencies).
    pub roles: Roles,
}

/// The sandbox's member account of a cloud, reached only through its roles: `KeyAuditor`
/// trusts the test account, `KeyAdmin` only `KeyAuditor` (so reaching it takes a chain).
pub struct Roles {
    /// The member account's id as records show it.
    pub member: &'static str,
    /// The ARN (Huawei: URN) of the member account's `{role}` (see [`Cloud::role_arn`]).
    pub arn: &'static str,
    /// The action that assumes a role.
    pub assume: &'static str,
    /// The ARN a session of `{role}` named `{session}` shows; where `names_role` is false
    /// (Tencent names the role by its id, random in the sandbox) only the ARN's beginning.
    pub session_arn: &'static str,
    pub names_role: bool,
    /// A temporary key id's prefix.
    pub key_prefix: &'static str,
    /// What `list` without `--user` says as a role session (exit 2), after how many key
    /// listings (AWS: IAM itself refuses the call); `None`: Alibaba lists none (UNCONFIRMED
    /// whether RAM answers a role session so).
    pub own_keys: Option<(&'static str, u64)>,
    /// How an untrusted caller is refused (exit 3): pieces of the line, and whether it names
    /// the role's ARN.
    pub untrusted: &'static [&'static str],
    pub untrusted_names_role: bool,
    /// The reads of a scan of every user's keys (the first lists the users).
    pub reads: &'static [&'static str],
}

/// The sandbox's organization of a cloud's test account (its admin profile is the source).
pub struct Org {
    /// The active member accounts, each read through the default member role.
    pub members: &'static [&'static str],
    /// Accounts the listing shows that cannot be used (AWS: suspended): never assumed.
    pub skipped: &'static [&'static str],
    /// (member account, user): a user with an old key in a member account no profile reaches.
    pub user: (&'static str, &'static str),
    /// The actions that list the accounts and assume a member role.
    pub list_accounts: &'static str,
    pub assume: &'static str,
    /// How many listing calls the seed's organization takes (its page size is small).
    pub list_calls: u64,
}

pub const AWS: Cloud = Cloud {
    kind: ProviderKind::Aws,
    admin: "aws-admin",
    account: AWS_ACCOUNT,
    admin_arn: "arn:aws:iam::111122223333:user/admin",
    create: "CreateAccessKey",
    update: "UpdateAccessKey",
    delete: "DeleteAccessKey",
    key_id: ("AKIA", 20),
    secret_len: 40,
    user_by_id: false,
    root_user: "<root>",
    root_refused: Some((2, "root")),
    last_used_where: Some(("s3", "us-east-1")),
    no_such_user: "NoSuchEntity",
    bad_signature: "SignatureDoesNotMatch",
    inactive_key: "InvalidClientTokenId",
    bad_signature_text: "signature we calculated does not match",
    org: Some(Org {
        members: &[aws::MEMBER_ACCOUNT, aws::SECOND_MEMBER],
        skipped: &[aws::SUSPENDED_MEMBER],
        user: (aws::SECOND_MEMBER, "erin"),
        list_accounts: "ListAccounts",
        assume: "AssumeRole",
        list_calls: 2,
    }),
    roles: Roles {
        member: aws::MEMBER_ACCOUNT,
        arn: "arn:aws:iam::{member}:role/{role}",
        assume: "AssumeRole",
        session_arn: "arn:aws:sts::{member}:assumed-role/{role}/{session}",
        names_role: true,
        key_prefix: "ASIA",
        own_keys: Some((
            "a role session has no access keys of its own: name the IAM user with --user",
            1,
        )),
        untrusted: &[
            "is not authorized to perform: sts:AssumeRole on resource",
            "AccessDenied",
        ],
        untrusted_names_role: true,
        reads: &["ListUsers", "ListAccessKeys", "GetAccessKeyLastUsed"],
    },
};

pub const TENCENT: Cloud = Cloud {
    kind: ProviderKind::Tencent,
    admin: "tencent-admin",
    account: TENCENT_ACCOUNT,
    admin_arn: "qcs::cam:100000000001:uin/100000000101",
    key_id: ("AKID", 36),
    secret_len: 32,
    user_by_id: true,
    root_refused: Some((3, "OperationDenied.SubUin")),
    last_used_where: None,
    no_such_user: "ResourceNotFound.UserNotExist",
    bad_signature: "AuthFailure.SignatureFailure",
    inactive_key: "AuthFailure.SecretIdNotFound",
    bad_signature_text: "request id",
    // Owner uins: tencent::MEMBER_OWNER_UIN and SECOND_MEMBER_UIN; nothing unusable is listed.
    org: Some(Org {
        members: &["300000000001", "400000000001"],
        skipped: &[],
        user: ("400000000001", "erin"),
        list_accounts: "DescribeOrganizationMembers",
        assume: "AssumeRole",
        list_calls: 2,
    }),
    roles: Roles {
        member: TENCENT_MEMBER,
        arn: "qcs::cam::uin/{member}:roleName/{role}",
        assume: "AssumeRole",
        session_arn: "qcs::sts:{member}:assumed-role/",
        names_role: false,
        key_prefix: "AKID",
        own_keys: Some((
            "a role session has no access keys of its own: name the CAM user with --user",
            0,
        )),
        untrusted: &["UnauthorizedOperation"],
        untrusted_names_role: true,
        reads: &[
            "ListUsers",
            "ListAccessKeys",
            "GetSecurityLastUsed",
            "GetCallerIdentity",
        ],
    },
    // The same action names and root label as AWS.
    ..AWS
};

pub const ALIBABA: Cloud = Cloud {
    kind: ProviderKind::Alibaba,
    admin: "alibaba-admin",
    account: ALIBABA_ACCOUNT,
    admin_arn: "acs:ram::1968132000123456:user/admin",
    key_id: ("LTAI", 24),
    secret_len: 30,
    user_by_id: false,
    root_refused: Some((2, "only the account itself")),
    last_used_where: None,
    no_such_user: "EntityNotExist.User",
    bad_signature: "SignatureDoesNotMatch",
    inactive_key: "InvalidAccessKeyId.Inactive",
    bad_signature_text: "does not match our calculation",
    org: Some(Org {
        members: &[alibaba::MEMBER_ACCOUNT, alibaba::SECOND_MEMBER],
        skipped: &[alibaba::PROMOTING_MEMBER],
        user: (alibaba::SECOND_MEMBER, "erin"),
        list_accounts: "ListAccounts",
        assume: "AssumeRole",
        // Four accounts (the management account listed too) at three a page.
        list_calls: 2,
    }),
    roles: Roles {
        member: alibaba::MEMBER_ACCOUNT,
        arn: "acs:ram::{member}:role/{role}",
        assume: "AssumeRole",
        session_arn: "acs:ram::{member}:assumed-role/{role}/{session}",
        names_role: true,
        key_prefix: "STS.",
        own_keys: None,
        untrusted: &["the specified role does not trust you", "NoPermission"],
        untrusted_names_role: false,
        reads: &["ListUsers", "ListAccessKeys", "GetAccessKeyLastUsed"],
    },
    // The same action names and root label as AWS.
    ..AWS
};

pub const HUAWEI: Cloud = Cloud {
    kind: ProviderKind::Huawei,
    admin: "huawei-admin",
    account: HUAWEI_ACCOUNT,
    admin_arn: "iam::0c5a8e1f3b7d4e29a6f1c8b3d5e7a902:user:admin",
    create: "CreateAccessKeyV5",
    update: "UpdateAccessKeyV5",
    delete: "DeleteAccessKeyV5",
    key_id: ("", 20),
    secret_len: 40,
    user_by_id: true,
    root_user: "hw-test-account",
    root_refused: None,
    last_used_where: None,
    no_such_user: "'nobody'",
    bad_signature: "APIGW.0301",
    inactive_key: "APIGW.0301",
    bad_signature_text: "verify aksk signature fail",
    org: Some(Org {
        members: &[huawei::MEMBER_DOMAIN, huawei::SECOND_MEMBER],
        skipped: &[huawei::SUSPENDED_MEMBER],
        user: (huawei::SECOND_MEMBER, "erin"),
        list_accounts: "ListAccounts",
        assume: "AssumeAgency",
        // Four accounts, one a page.
        list_calls: 4,
    }),
    roles: Roles {
        member: huawei::MEMBER_DOMAIN,
        arn: "iam::{member}:agency:{role}",
        assume: "AssumeAgency",
        session_arn: "sts::{member}:assumed-agency:{role}/{session}",
        names_role: true,
        key_prefix: "",
        own_keys: Some((
            "signs with temporary credentials, which belong to no IAM user: name one with --user",
            0,
        )),
        untrusted: &["sts:agencies:assume", "PAP5.0001"],
        untrusted_names_role: false,
        reads: &["ListUsersV5", "ListAccessKeysV5", "ShowAccessKeyLastUsedV5"],
    },
};

/// The four emulated clouds, for the tests that run on each.
pub const CLOUDS: [&Cloud; 4] = [&AWS, &TENCENT, &ALIBABA, &HUAWEI];

impl Cloud {
    /// The provider's name as records show it.
    pub fn name(&self) -> String {
        self.kind.to_string()
    }

    /// `cloudkeys -p <admin> ARGS…`
    pub fn cmd(&self, world: &World, args: &[&str]) -> Command {
        world.as_profile(self.admin, args)
    }

    /// The ARN of the member account's role `role`.
    pub fn role_arn(&self, role: &str) -> String {
        self.fill(self.roles.arn, role, "")
    }

    /// The ARN a session of `role` named `session` shows (or its beginning, see [`Roles`]).
    pub fn session_arn(&self, role: &str, session: &str) -> String {
        self.fill(self.roles.session_arn, role, session)
    }

    fn fill(&self, template: &str, role: &str, session: &str) -> String {
        let template = template.replace("{member}", self.roles.member);
        template
            .replace("{role}", role)
            .replace("{session}", session)
    }

    /// Adds role profile `name` assuming the member account's `role` with `source`'s
    /// credentials; `extra`: more `key = value` lines.
    pub fn add_role_profile(
        &self,
        world: &World,
        name: &str,
        role: &str,
        source: &str,
        extra: &str,
    ) {
        let arn = self.role_arn(role);
        append_role_profile(world, self.kind, name, &arn, source, extra);
    }

    /// The sandbox's keys of `user` in this cloud's test account.
    pub fn keys(&self, world: &World, user: &str) -> Vec<Key> {
        world.keys(self.kind, user)
    }
}

/// A fault on every answer to `kind`'s `action`.
pub fn fault(kind: ProviderKind, effect: Effect, action: &str) -> Fault {
    Fault::always(effect).provider(kind).on(action)
}

/// A config file's profile section.
pub fn profile_toml(
    name: &str,
    provider: ProviderKind,
    id: &str,
    secret: &str,
    rest: &str,
) -> String {
    format!(
        "\n[profiles.{name}]\nprovider = \"{provider}\"\naccess_key_id = \"{id}\"\nsecret_access_key = \"{secret}\"\n{rest}"
    )
}

/// Appends `text` to the world's config file.
/// Appends `[profiles.NAME]` of `provider` assuming `role_arn` with `source`'s credentials.
pub fn append_role_profile(
    world: &World,
    provider: ProviderKind,
    name: &str,
    role_arn: &str,
    source: &str,
    extra: &str,
) {
    append_config(
        world,
        &format!("\n[profiles.{name}]\nprovider = \"{provider}\"\nrole_arn = \"{role_arn}\"\nsource_profile = \"{source}\"\n{extra}"),
    );
}

pub fn append_config(world: &World, text: &str) {
    let mut config = std::fs::read_to_string(world.config_path()).expect("config");
    config.push_str(text);
    std::fs::write(world.config_path(), config).expect("config written");
}

/// Appends a profile signing with (id, secret) at the sandbox; `extra`: more `key = value` lines.
pub fn add_profile(
    world: &World,
    name: &str,
    kind: ProviderKind,
    id: &str,
    secret: &str,
    extra: &str,
) {
    let rest = format!("{extra}endpoint = \"{}\"\n", world.endpoint());
    append_config(world, &profile_toml(name, kind, id, secret, &rest));
}

/// A private config file `file` in the world's home, holding one profile `name` that signs
/// with (id, secret) at the sandbox; `extra`: more `key = value` lines.
pub fn own_config(
    world: &World,
    file: &str,
    (name, kind): (&str, ProviderKind),
    id: &str,
    secret: &str,
    extra: &str,
) -> PathBuf {
    let path = world.home().join(file);
    let rest = format!("{extra}endpoint = \"{}\"\n", world.endpoint());
    std::fs::write(&path, profile_toml(name, kind, id, secret, &rest)).expect("config written");
    private(&path);
    path
}

/// `whoami -o json` as `profile`, which must succeed: the identity and stderr.
pub fn whoami(world: &World, profile: &str) -> (Value, String) {
    let (stdout, stderr) = run(&mut world.as_profile(profile, &["whoami", "-o", "json"]), 0);
    (json_array(&stdout).remove(0), stderr)
}

/// The record of key `id`.
pub fn by_id<'a>(records: &'a [Value], id: &str) -> &'a Value {
    records
        .iter()
        .find(|r| r["access_key_id"] == id)
        .unwrap_or_else(|| panic!("no record for {id} in {records:?}"))
}

/// (id, status) of `user`'s keys as `profile` lists them.
pub fn listed_keys(world: &World, profile: &str, user: &str) -> Vec<(String, String)> {
    let (stdout, _) = run(
        &mut world.as_profile(
            profile,
            &["list", "--user", user, "--no-last-used", "-o", "json"],
        ),
        0,
    );
    json_array(&stdout)
        .iter()
        .map(|r| {
            let field = |name: &str| r[name].as_str().unwrap_or_default().to_string();
            (field("access_key_id"), field("status"))
        })
        .collect()
}

/// The ids of `user`'s keys as `profile` lists them.
pub fn listed_ids(world: &World, profile: &str, user: &str) -> Vec<String> {
    listed_keys(world, profile, user)
        .into_iter()
        .map(|(id, _)| id)
        .collect()
}

/// No secret or session token of the sandbox in `output`, nor in any file under HOME but the
/// config (which holds the test accounts' own keys and must read `config_before`) and those
/// ending in `skip`; `kind`'s temporary credentials were issued and reach no file at all.
pub fn assert_nothing_leaked(
    world: &World,
    kind: ProviderKind,
    output: &str,
    config_before: &str,
    skip: &[&str],
) {
    assert_no_secret(world, output);
    let temporaries = world.temporaries(kind);
    assert!(!temporaries.is_empty(), "a role was assumed");
    let config = std::fs::read_to_string(world.config_path()).unwrap();
    assert_eq!(config, config_before, "the config is untouched");
    for path in walk(world.home()) {
        if skip.iter().any(|s| path.ends_with(s)) {
            continue;
        }
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_default()).into_owned();
        if path != world.config_path() {
            assert_no_secret(world, &text);
        }
        for (_, secret, token) in &temporaries {
            let leaked = text.contains(secret.as_str()) || text.contains(token.as_str());
            assert!(!leaked, "{}", path.display());
        }
    }
}

/// No secret the sandbox holds may appear in `text`.
pub fn assert_no_secret(world: &World, text: &str) {
    for secret in world.secrets() {
        assert!(!text.contains(&secret), "a secret leaked:\n{text}");
    }
}

/// The Python that runs moto: a virtual environment under target/ with the pinned
/// `moto[server]` of tests/requirements.txt, made on first use (so `cargo test` needs only
/// `python3` with its `venv` module, also where the system Python is externally managed,
/// PEP 668). `Err(reason)`: python3 or its venv module is missing, so the moto tests skip.
/// A failed install (no network) panics with pip's error: a silent skip would hide it.
/// `CLOUDKEYS_PYTHON` names another interpreter than `python3` to make the venv with.
pub fn moto_python() -> Result<PathBuf, String> {
    static PYTHON: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    PYTHON.get_or_init(make_moto_venv).clone()
}

fn make_moto_venv() -> Result<PathBuf, String> {
    use std::process::Command as Process;
    let python3 = std::env::var_os("CLOUDKEYS_PYTHON").unwrap_or_else(|| "python3".into());
    match Process::new(&python3)
        .args(["-c", "import venv, ensurepip"])
        .output()
    {
        Err(err) => return Err(format!("python3 cannot run ({err})")),
        Ok(out) if !out.status.success() => {
            return Err(
                "python3's venv module is missing (Debian/Ubuntu: apt-get install python3-venv)"
                    .to_string(),
            )
        }
        Ok(_) => {}
    }
    let requirements_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/requirements.txt");
    let requirements = std::fs::read_to_string(&requirements_path).expect("tests/requirements.txt");
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("..");
    let venv = root.join("moto-venv");
    let python = if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    };
    let marker = venv.join("cloudkeys-requirements.txt");
    std::fs::create_dir_all(&root).expect("target dir");
    // Several test binaries start at once: one makes the venv, the others wait for it.
    let lock = std::fs::File::create(root.join("moto-venv.lock")).expect("lock file");
    let _guard = FileLock::exclusive(&lock);
    if std::fs::read_to_string(&marker).is_ok_and(|done| done == requirements) {
        return Ok(python);
    }
    let _ = std::fs::remove_dir_all(&venv);
    let made = Process::new(&python3)
        .arg("-m")
        .arg("venv")
        .arg(&venv)
        .output()
        .expect("python3 -m venv runs");
    assert!(
        made.status.success(),
        "python3 -m venv {} failed: {}",
        venv.display(),
        String::from_utf8_lossy(&made.stderr)
    );
    eprintln!(
        "installing the pinned moto[server] into {} (once)",
        venv.display()
    );
    let pip = Process::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(&requirements_path)
        .env("PIP_NO_INPUT", "1")
        .output()
        .expect("the venv's pip runs");
    assert!(
        pip.status.success(),
        "pip install -r tests/requirements.txt into {} failed (set CLOUDKEYS_SKIP_MOTO=1 to skip the moto tests):\n{}",
        venv.display(),
        String::from_utf8_lossy(&pip.stderr)
    );
    std::fs::write(&marker, &requirements).expect("venv marker");
    Ok(python)
}

/// An exclusive `flock` held until dropped (closing the file would release it too).
struct FileLock<'a>(&'a std::fs::File);

impl<'a> FileLock<'a> {
    fn exclusive(file: &'a std::fs::File) -> Self {
        #[cfg(unix)]
        {
            use std::os::unix::io::AsRawFd;
            // SAFETY: a valid open descriptor; flock blocks until the lock is ours.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            assert_eq!(rc, 0, "flock: {}", std::io::Error::last_os_error());
        }
        FileLock(file)
    }
}

impl Drop for FileLock<'_> {
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            use std::os::unix::io::AsRawFd;
            // SAFETY: as above.
            unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
        }
    }
}

/// Records of `list --all-users` through `profile` and the HTTP calls it took (from `-vv`).
pub fn scan_all_users(world: &World, profile: &str, extra: &[&str]) -> (Vec<Value>, usize, String) {
    scan(world.as_profile(profile, &[]), extra)
}

/// Records of `list --all-users` by `cmd` (a profile chosen) and the HTTP calls it took.
pub fn scan(mut cmd: Command, extra: &[&str]) -> (Vec<Value>, usize, String) {
    cmd.args([
        "-vv",
        "--page-size",
        "10",
        "list",
        "--all-users",
        "-o",
        "json",
    ]);
    let (stdout, stderr) = run(cmd.args(extra), 0);
    let calls = stderr.lines().filter(|l| l.contains(" answered")).count();
    (json_array(&stdout), calls, stderr)
}

/// Records as a credential-report scan and an `--exact` one must agree on them: without the
/// report's time, and without the scanning key's own last use, which every call moves on.
pub fn comparable(records: &[serde_json::Value], scanning_key: &str) -> Vec<serde_json::Value> {
    let mut out: Vec<serde_json::Value> = records
        .iter()
        .map(|r| {
            let mut r = r.clone();
            let map = r.as_object_mut().unwrap();
            map.remove("last_used_as_of");
            if map["access_key_id"] == scanning_key {
                for field in [
                    "last_used_at",
                    "last_used_service",
                    "last_used_region",
                    "idle_days",
                ] {
                    map.remove(field);
                }
            }
            r
        })
        .collect();
    out.sort_by_key(|r| r["access_key_id"].as_str().unwrap_or_default().to_string());
    out
}

/// A report scan and an `--exact` one agree on the records, and every record of the report
/// scan carries the report's one time (none of the exact's does); returns that time.
pub fn assert_report_scan(fast: &[Value], exact: &[Value], scanning_key: &str) -> String {
    assert_eq!(
        comparable(fast, scanning_key),
        comparable(exact, scanning_key)
    );
    let as_of = fast[0]["last_used_as_of"]
        .as_str()
        .expect("the report's time")
        .to_string();
    assert!(fast.iter().all(|r| r["last_used_as_of"] == as_of.as_str()));
    assert!(exact.iter().all(|r| r.get("last_used_as_of").is_none()));
    as_of
}

/// Every file under `dir`.
pub fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// `rotate` and `create --save` refuse role profile `profile` (exit 2) before any call, and
/// write nothing.
pub fn assert_role_profile_never_rotated(world: &World, profile: &str) {
    assert_never_rotated(world, profile, "assumes a role");
}

/// `rotate`, `rotate --save` and `create --save` refuse `profile`, which `how` gets its
/// credentials, before any call.
pub fn assert_never_rotated(world: &World, profile: &str, how: &str) {
    world.reset_stats();
    for args in [
        vec!["rotate"],
        vec!["rotate", "--user", "carol", "--save", "new.json"],
        vec!["create", "--user", "carol", "--save", "new.json"],
    ] {
        let mut all = vec!["-p", profile];
        all.extend(args.iter().copied());
        let needle = format!("{profile} {how}: it has no access key of its own to rotate");
        refused(world.cmd(all).current_dir(world.home()), 2, &needle);
    }
    assert_eq!(world.requests().0, 0, "refused before any call");
    assert!(!world.home().join("new.json").exists());
}
