//! The one place the suite touches the sandbox's internals (its `State`, accounts, keys and
//! seeding): every test seeds and inspects the emulated clouds through these functions, so a
//! change of the emulator's API is met here alone.

use std::path::{Path, PathBuf};
use std::time::Duration as StdDuration;

use assert_cmd::Command;
use chrono::{DateTime, Duration, Utc};
use cloudkeys::model::{KeyStatus, ProviderKind};
use cloudkeys::sandbox::{alibaba, aws, huawei, tencent, Account, Sandbox, SandboxProfile, State};

pub use cloudkeys::sandbox::huawei::TEST_PROJECT;

use super::cli::{bare_cmd, private};
pub use cloudkeys::sandbox::{Effect, Fault, Seed};

/// The test seed's accounts (Tencent: the owner uin; Huawei: the domain id).
pub const AWS_ACCOUNT: &str = aws::TEST_ACCOUNT;
pub const TENCENT_ACCOUNT: &str = "100000000001";
/// The Tencent member account's owner uin (`tencent::MEMBER_OWNER_UIN`).
pub const TENCENT_MEMBER: &str = "300000000001";
pub const ALIBABA_ACCOUNT: &str = alibaba::TEST_ACCOUNT;
pub const HUAWEI_ACCOUNT: &str = huawei::TEST_DOMAIN;

/// One sandbox, one temporary HOME holding a config that points at it.
pub struct World {
    // Field order matters: the sandbox stops before its runtime goes away.
    sandbox: Sandbox,
    runtime: tokio::runtime::Runtime,
    home: tempfile::TempDir,
    config: PathBuf,
}

impl World {
    /// A sandbox seeded with the small fixed test world.
    pub fn new() -> World {
        World::with_seed(Seed::Test)
    }

    /// The test world plus the demo accounts (a root profile on each cloud, more users).
    pub fn demo() -> World {
        World::with_seed(Seed::Demo)
    }

    fn with_seed(seed: Seed) -> World {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let sandbox = runtime
            .block_on(Sandbox::start(0, seed))
            .expect("sandbox starts");
        let home = tempfile::tempdir().expect("temp home");
        let config = home.path().join("config.toml");
        std::fs::write(&config, sandbox.config_toml()).expect("config written");
        private(&config);
        World {
            sandbox,
            runtime,
            home,
            config,
        }
    }

    /// `cloudkeys --config <sandbox config> ARGS…` with no inherited environment.
    pub fn cmd<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = self.bare_cmd();
        cmd.arg("--config").arg(&self.config).args(args);
        cmd
    }

    /// `cloudkeys -p PROFILE ARGS…` against the sandbox config.
    pub fn as_profile(&self, profile: &str, args: &[&str]) -> Command {
        let mut cmd = self.cmd(["-p", profile]);
        cmd.args(args);
        cmd
    }

    /// The binary with a clean environment (HOME = the temp dir) and no `--config`.
    pub fn bare_cmd(&self) -> Command {
        bare_cmd(self.home.path())
    }

    /// Like `cmd`, as a `std::process::Command`: for tests that close or redirect the
    /// standard streams themselves or send signals.
    pub fn std_cmd<I, S>(&self, args: I) -> std::process::Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("cloudkeys"));
        cmd.env_clear()
            .env("HOME", self.home.path())
            .env("NO_COLOR", "1")
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .arg("--config")
            .arg(&self.config)
            .args(args);
        cmd
    }

    /// `cloudkeys --provider aws --endpoint <sandbox> ARGS…` with the key in AWS's variables.
    pub fn aws_env_cmd(&self, id: &str, secret: &str, args: &[&str]) -> Command {
        let mut cmd = self.bare_cmd();
        cmd.args(["--provider", "aws", "--endpoint", &self.endpoint()])
            .args(args)
            .env("AWS_ACCESS_KEY_ID", id)
            .env("AWS_SECRET_ACCESS_KEY", secret);
        cmd
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    pub fn config_path(&self) -> &Path {
        &self.config
    }

    pub fn endpoint(&self) -> String {
        self.sandbox.endpoint()
    }

    pub fn profile(&self, name: &str) -> SandboxProfile {
        self.sandbox
            .profiles()
            .into_iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no sandbox profile {name}"))
    }

    pub fn profiles(&self) -> Vec<SandboxProfile> {
        self.sandbox.profiles()
    }

    pub fn runtime(&self) -> &tokio::runtime::Runtime {
        &self.runtime
    }

    /// Runs `f` on the sandbox state under its lock (private: tests use the functions below).
    fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let state = self.sandbox.state();
        let mut guard = state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    // --- the cloud's behaviour --------------------------------------------------------------

    /// Adds a fault to the sandbox's list (see `fault`).
    pub fn inject(&self, fault: Fault) {
        self.with_state(|s| s.settings.faults.push(fault));
    }

    pub fn clear_faults(&self) {
        self.with_state(|s| s.settings.faults.clear());
    }

    /// The cloud refuses these actions with its access-denied answer (empty: none).
    pub fn deny(&self, actions: &[&str]) {
        self.with_state(|s| {
            s.settings.denied_actions = actions.iter().map(|a| a.to_string()).collect()
        });
    }

    /// How far the cloud's clock is ahead of ours.
    pub fn set_clock_skew(&self, skew: Duration) {
        self.with_state(|s| s.settings.clock_skew = skew);
    }

    /// How long a new key takes before the cloud accepts it.
    pub fn set_new_key_delay(&self, delay: StdDuration) {
        self.with_state(|s| s.settings.new_key_delay = delay);
    }

    /// Calls a second per key and action beyond which the cloud throttles.
    pub fn set_rate_limit(&self, per_second: f64) {
        self.with_state(|s| s.settings.rate_limit = Some(per_second));
    }

    /// AWS AssumeRole sessions expire after `lifetime`, whatever they ask for.
    pub fn set_session_lifetime(&self, lifetime: Duration) {
        self.with_state(|s| s.settings.session_lifetime = Some(lifetime));
    }

    /// (requests, throttled) the sandbox has answered since the last reset.
    pub fn requests(&self) -> (u64, u64) {
        self.with_state(|s| (s.stats.requests, s.stats.throttled))
    }

    /// How often the sandbox was asked `action`.
    pub fn calls_of(&self, action: &str) -> u64 {
        self.with_state(|s| s.stats.by_action.get(action).copied().unwrap_or(0))
    }

    pub fn reset_stats(&self) {
        self.with_state(|s| s.stats = Default::default());
    }

    // --- keys and users of the test accounts ------------------------------------------------

    /// `user`'s keys in `kind`'s test account (`<root>`: the account's own), in creation order.
    pub fn keys(&self, kind: ProviderKind, user: &str) -> Vec<Key> {
        self.with_state(|s| user_of(s, kind, user).map(|u| u.1).unwrap_or_default())
    }

    /// The id the cloud gives `user` of the test account (Tencent: the uin).
    pub fn user_id(&self, kind: ProviderKind, user: &str) -> String {
        self.with_state(|s| user_of(s, kind, user))
            .unwrap_or_else(|| panic!("no {kind} user {user}"))
            .0
    }

    /// The key with this id, on any cloud.
    pub fn find_key(&self, id: &str) -> Option<Key> {
        self.with_state(|s| {
            [&s.aws, &s.tencent, &s.alibaba, &s.huawei]
                .into_iter()
                .find_map(|cloud| cloud.find_key(id).map(|(_, k)| key(k)))
        })
    }

    /// Every secret and session token the sandbox holds, on every cloud.
    pub fn secrets(&self) -> Vec<String> {
        self.with_state(|s| {
            let mut secrets = Vec::new();
            for cloud in [&s.aws, &s.tencent, &s.alibaba, &s.huawei] {
                for a in &cloud.accounts {
                    let users = a.users.iter().flat_map(|u| &u.keys);
                    secrets.extend(a.root_keys.iter().chain(users).map(|k| k.secret.clone()));
                }
                let temps = cloud.temporary.iter();
                secrets.extend(temps.flat_map(|t| [t.secret.clone(), t.token.clone()]));
            }
            secrets
        })
    }

    /// Adds users `name` to `kind`'s test account, made now.
    pub fn add_users(&self, kind: ProviderKind, names: &[String]) {
        let now = Utc::now();
        self.with_state(|s| {
            for (i, name) in names.iter().enumerate() {
                match kind {
                    ProviderKind::Aws => {
                        s.aws_account_mut(aws::TEST_ACCOUNT)
                            .expect("test account")
                            .add_user(name, false, now);
                    }
                    ProviderKind::Tencent => {
                        let uin = tencent::TEST_OWNER_UIN + 9_000 + i as u64;
                        s.tencent
                            .account_mut(tencent::TEST_OWNER_UIN)
                            .expect("test account")
                            .add_user(name, false, now)
                            .uin = uin;
                    }
                    ProviderKind::Alibaba => {
                        s.alibaba
                            .account_mut(alibaba::TEST_ACCOUNT)
                            .expect("test account")
                            .add_user(name, false, now)
                            .display_name = name.clone();
                    }
                    ProviderKind::Huawei => {
                        huawei_test(s).add_user(name, false, now);
                    }
                }
            }
        });
    }

    /// A new active, never used key of `user` (`<root>`: the account's own) in `kind`'s test
    /// account, made `created` ago: (id, secret).
    pub fn add_key(&self, kind: ProviderKind, user: &str, created: Duration) -> (String, String) {
        let at = Utc::now() - created;
        let zero = StdDuration::ZERO;
        let user = (user != "<root>").then_some(user);
        self.with_state(|s| match kind {
            ProviderKind::Aws => s.add_aws_key(aws::TEST_ACCOUNT, user, at),
            ProviderKind::Tencent => {
                let owner = tencent::TEST_OWNER_UIN;
                let uin = match user {
                    None => owner,
                    Some(name) => {
                        s.tencent
                            .account(owner)
                            .and_then(|a| a.user(name))
                            .expect("user")
                            .uin
                    }
                };
                tencent::add_key(s, owner, uin, at)
            }
            ProviderKind::Alibaba => s.alibaba.add_key(alibaba::TEST_ACCOUNT, user, at, zero),
            ProviderKind::Huawei => {
                // Huawei's account itself is an IAM user marked root: made on first use.
                let account = huawei_test(s);
                let name = match user {
                    Some(name) => name.to_string(),
                    None => match account.users.iter().find(|u| u.root) {
                        Some(root) => root.name.clone(),
                        None => {
                            account.add_user("root", true, at);
                            account.users.last_mut().expect("added").root = true;
                            "root".to_string()
                        }
                    },
                };
                s.huawei
                    .add_key(huawei::TEST_DOMAIN, name.as_str(), at, zero)
            }
        })
    }

    /// Sets a key's status and last use (AWS: by s3 in us-east-1), on any cloud.
    pub fn set_key(&self, id: &str, status: KeyStatus, last_used: Option<DateTime<Utc>>) {
        self.with_state(|s| {
            if let Some(k) = s.find_key_mut(id) {
                k.last_used_in = last_used.map(|_| ("s3".into(), "us-east-1".into()));
            }
            let k = [&mut s.aws, &mut s.tencent, &mut s.alibaba, &mut s.huawei]
                .into_iter()
                .find_map(|cloud| cloud.find_key_mut(id))
                .expect("a sandbox key");
            k.status = status;
            k.last_used = last_used;
        });
    }

    /// An AWS key's last use, with the service and region IAM reports.
    pub fn set_aws_last_used(&self, id: &str, at: DateTime<Utc>, service: &str, region: &str) {
        self.with_state(|s| {
            let key = s.find_key_mut(id).expect("an AWS key");
            key.last_used = Some(at);
            key.last_used_in = Some((service.into(), region.into()));
        });
    }

    /// Drops `user`'s keys behind the cloud's back (test account).
    pub fn clear_keys(&self, kind: ProviderKind, user: &str) {
        self.with_state(|s| match kind {
            ProviderKind::Aws => {
                let account = s.aws_account_mut(aws::TEST_ACCOUNT).expect("account");
                account.user_mut(user).expect("user").keys.clear();
            }
            ProviderKind::Tencent => {
                let owner = tencent::TEST_OWNER_UIN;
                let account = s.tencent.account_mut(owner).expect("account");
                let uin = account.user(user).expect("user").uin;
                account.keys_mut(uin).expect("keys").clear();
            }
            ProviderKind::Alibaba => {
                let account = s
                    .alibaba
                    .account_mut(alibaba::TEST_ACCOUNT)
                    .expect("account");
                account.keys_mut(Some(user)).expect("keys").clear();
            }
            ProviderKind::Huawei => {
                let account = huawei_test(s);
                let user = account.users.iter_mut().find(|u| u.name == user);
                user.expect("user").keys.clear();
            }
        });
    }

    // --- AWS ----------------------------------------------------------------------------------

    /// A role session in the AWS test account: (id, secret, token).
    pub fn aws_role_session(&self, role: &str, session: &str) -> (String, String, String) {
        self.with_state(|s| s.add_aws_role_session(aws::TEST_ACCOUNT, role, session))
    }

    /// The keys of `user` in the AWS member account (reached through its roles only).
    pub fn member_keys(&self, user: &str) -> Vec<Key> {
        self.account_keys(aws::MEMBER_ACCOUNT, user)
    }

    /// The keys of `user` in AWS account `account`.
    pub fn account_keys(&self, account: &str, user: &str) -> Vec<Key> {
        self.keys_in(ProviderKind::Aws, account, user)
    }

    /// The keys of `user` in the member account of `kind`.
    pub fn member_keys_of(&self, kind: ProviderKind, user: &str) -> Vec<Key> {
        let account = match kind {
            ProviderKind::Tencent => return self.tencent_member_keys(user),
            ProviderKind::Alibaba => alibaba::MEMBER_ACCOUNT,
            ProviderKind::Huawei => huawei::MEMBER_DOMAIN,
            _ => aws::MEMBER_ACCOUNT,
        };
        self.keys_in(kind, account, user)
    }

    /// The keys of `user` in account `account` of `kind`.
    pub fn keys_in(&self, kind: ProviderKind, account: &str, user: &str) -> Vec<Key> {
        self.with_state(|s| {
            let a = s.cloud_mut(kind).account(account).expect("account");
            a.keys(Some(user))
                .map(|k| k.iter().map(key).collect())
                .unwrap_or_default()
        })
    }

    /// A new key of `user` in AWS account `account`: (id, secret).
    pub fn add_aws_key_in(&self, account: &str, user: &str) -> (String, String) {
        let at = Utc::now() - Duration::days(1);
        self.with_state(|s| s.add_aws_key(account, Some(user), at))
    }

    /// Deletes role `role` of AWS account `account` (AssumeRole is then refused).
    pub fn remove_aws_role(&self, account: &str, role: &str) {
        self.with_state(|s| {
            let a = s.aws_account_mut(account).expect("AWS account");
            a.roles.retain(|r| r.name != role);
        })
    }

    /// Removes role (Huawei: agency) `role` of `kind`'s account `account`.
    pub fn remove_role(&self, kind: ProviderKind, account: &str, role: &str) {
        self.with_state(|s| {
            let a = s.cloud_mut(kind).account_mut(account).expect("account");
            a.roles.retain(|r| r.name != role);
        })
    }

    /// Temporary credentials of the Alibaba test user `user`, valid an hour: (id, secret, token).
    pub fn alibaba_session(&self, user: &str) -> (String, String, String) {
        let hour = Duration::hours(1);
        self.with_state(|s| {
            s.alibaba
                .issue_temporary(alibaba::TEST_ACCOUNT, user, Utc::now(), hour)
        })
    }

    /// Every temporary credential the sandbox issued on `kind`: (id, secret, token).
    pub fn temporaries(&self, kind: ProviderKind) -> Vec<(String, String, String)> {
        self.with_state(|s| {
            let temps = s.cloud_mut(kind).temporary.iter();
            temps
                .map(|t| (t.access_key_id.clone(), t.secret.clone(), t.token.clone()))
                .collect()
        })
    }

    // --- Tencent ------------------------------------------------------------------------------

    /// Temporary credentials of the Tencent test user `user`, valid an hour: (id, secret, token).
    pub fn tencent_session(&self, user: &str) -> (String, String, String) {
        let uin = self
            .user_id(ProviderKind::Tencent, user)
            .parse()
            .expect("uin");
        let expires = Utc::now() + Duration::hours(1);
        self.with_state(|s| {
            tencent::add_temp_credential(s, tencent::TEST_OWNER_UIN, uin, "ci-run", expires)
        })
    }

    /// The keys of `user` in the Tencent member account (reached through its roles only).
    pub fn tencent_member_keys(&self, user: &str) -> Vec<Key> {
        self.with_state(|s| {
            let a = s
                .tencent
                .account(tencent::MEMBER_OWNER_UIN)
                .expect("member");
            a.keys(user)
                .map(|k| k.iter().map(key).collect())
                .unwrap_or_default()
        })
    }

    /// Deletes role `role` of Tencent account `owner_uin` (AssumeRole is then refused).
    pub fn tencent_remove_role(&self, owner_uin: u64, role: &str) {
        self.with_state(|s| {
            let a = s.tencent.account_mut(owner_uin).expect("Tencent account");
            a.roles.retain(|r| r.name != role);
        })
    }

    /// Tencent answers only the day of this key's last use (LastSecretUsedDate null).
    pub fn tencent_day_only(&self, id: &str) {
        self.with_state(|s| s.tencent.find_key_mut(id).expect("key").last_used_day_only = true);
    }

    /// Every used key of a Tencent user gives only the day of its last use.
    pub fn tencent_days_only(&self) {
        self.with_state(|s| {
            let users = s
                .tencent
                .accounts
                .iter_mut()
                .flat_map(|a| a.users.iter_mut());
            for key in users.flat_map(|u| u.keys.iter_mut()) {
                key.last_used_day_only = key.last_used.is_some();
            }
        });
    }

    /// Renames the Tencent test user `user`; returns its first key's id.
    pub fn tencent_rename(&self, user: &str, to: &str) -> String {
        self.with_state(|s| {
            let user = s.tencent.accounts[0]
                .users
                .iter_mut()
                .find(|u| u.name == user)
                .expect("user");
            user.name = to.to_string();
            user.keys[0].access_key_id.clone()
        })
    }

    // --- Alibaba ------------------------------------------------------------------------------

    // --- Huawei -------------------------------------------------------------------------------

    /// Items a page of Huawei's listings.
    pub fn huawei_page_cap(&self) -> usize {
        self.with_state(|s| s.huawei.page_cap)
    }

    /// Throttle the next `n` Huawei calls; reads how many are left.
    pub fn huawei_throttle_next(&self, n: Option<usize>) -> usize {
        self.with_state(|s| {
            if let Some(n) = n {
                let fault = Fault::always(Effect::Throttle).provider(ProviderKind::Huawei);
                s.settings.faults = vec![fault.times(n)];
            }
            s.settings.faults.first().map_or(0, |f| f.times)
        })
    }

    /// IAM refuses the Huawei test user `user` every user read (403 PAP5.0001).
    pub fn huawei_no_list_permission(&self, user: &str) {
        self.with_state(|s| {
            let account = huawei_test(s);
            let user = account
                .users
                .iter_mut()
                .find(|u| u.name == user)
                .expect("user");
            user.no_list_permission = true;
        });
    }

    /// Temporary credentials of a Huawei test user, valid an hour: (ak, sk, token).
    pub fn huawei_session(&self, user: &str) -> (String, String, String) {
        self.with_state(|s| {
            s.huawei
                .issue_temporary(huawei::TEST_DOMAIN, user, Utc::now(), Duration::hours(1))
        })
    }

    /// The CCE long-term AK/SK of the test project: (expires, created, updated).
    pub fn huawei_cce_aksk(&self) -> (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>) {
        self.with_state(|s| {
            let a = s.huawei.accounts[0].projects[0]
                .long_aksk
                .clone()
                .expect("seeded");
            (a.expires_at, a.created_at, a.updated_at)
        })
    }

    /// The CCE long-term AK/SK of the test project expires in `days` (`None`: none uploaded).
    pub fn huawei_set_cce_expiry(&self, days: Option<i64>) {
        let now = Utc::now();
        self.with_state(|s| {
            let account = huawei_test(s);
            account.projects[0].long_aksk = days.map(|d| huawei::LongAksk {
                expires_at: now + Duration::days(d),
                created_at: now - Duration::days(300),
                updated_at: now - Duration::days(300),
            });
        });
    }

    /// CCE answers this text as the AK/SK's update time.
    pub fn huawei_cce_update_time(&self, text: &str) {
        self.with_state(|s| s.huawei.cce_update_time_text = Some(text.to_string()));
    }
}

/// The suite's view of a sandbox key.
fn key(k: &cloudkeys::sandbox::Key) -> Key {
    Key {
        id: k.access_key_id.clone(),
        secret: k.secret.clone(),
        status: k.status,
        created_at: k.created_at,
        last_used: k.last_used,
    }
}

/// A key as the sandbox holds it, on any cloud.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub id: String,
    pub secret: String,
    pub status: KeyStatus,
    pub created_at: DateTime<Utc>,
    pub last_used: Option<DateTime<Utc>>,
}

/// (user id, keys) of `user` (`<root>`: the account itself) in `kind`'s test account.
fn user_of(s: &State, kind: ProviderKind, user: &str) -> Option<(String, Vec<Key>)> {
    let root = user == "<root>";
    let name = (!root).then_some(user);
    match kind {
        ProviderKind::Aws => {
            let a = s.aws_account(aws::TEST_ACCOUNT)?;
            let id = name.map_or(Some(String::new()), |n| Some(a.user(n)?.user_id.clone()))?;
            Some((id, a.keys(name)?.iter().map(key).collect()))
        }
        ProviderKind::Tencent => {
            let owner = tencent::TEST_OWNER_UIN;
            let a = s.tencent.account(owner)?;
            let uin = if root { owner } else { a.user(user)?.uin };
            let keys = a.keys(uin).map(|keys| keys.iter().map(key).collect());
            Some((uin.to_string(), keys.unwrap_or_default()))
        }
        ProviderKind::Alibaba => {
            let a = s.alibaba.account(alibaba::TEST_ACCOUNT)?;
            let id = name.map_or(Some(String::new()), |n| Some(a.user(n)?.user_id.clone()))?;
            Some((id, a.keys(name)?.iter().map(key).collect()))
        }
        ProviderKind::Huawei => {
            let a = s.huawei.account(huawei::TEST_DOMAIN)?;
            let u = if root {
                a.users.iter().find(|u| u.root)
            } else {
                a.user(user)
            }?;
            Some((u.user_id.clone(), u.keys.iter().map(key).collect()))
        }
    }
}

/// The Huawei test account, to change.
fn huawei_test(s: &mut State) -> &mut Account {
    s.huawei
        .account_mut(huawei::TEST_DOMAIN)
        .expect("Huawei test account")
}
