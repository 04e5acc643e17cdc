//! The sandbox's in-memory world, one model for every emulated cloud: accounts with users and
//! access keys, temporary credentials, and the knobs and counters of the server.
//!
//! Plain data with public fields, so tests can inspect and change it through
//! [`super::Sandbox::state`]. Keys are found by id through an index that is checked on every
//! use and rebuilt when something (a test) changed the vectors behind it.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::Rng;

use crate::model::{KeyStatus, ProviderKind};

/// Knobs that change how the emulated clouds behave.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Eventual consistency: a new key is refused (InvalidClientTokenId) until
    /// `created_at + new_key_delay`. Zero by default.
    pub new_key_delay: Duration,
    /// How far the sandbox's clock is ahead of the real one (negative: behind).
    pub clock_skew: chrono::Duration,
    /// Injected faults, checked in order on every request.
    pub faults: Vec<super::faults::Fault>,
    /// Actions no policy allows, even to admins: refused with the cloud's real permission error
    /// (AWS 403 AccessDenied, Alibaba 403 NoPermission, Tencent's AssumeRole
    /// UnauthorizedOperation, Huawei's AssumeAgency 403 PAP5.0001; not yet Tencent's CAM and
    /// Huawei's IAM), to test a
    /// definite refusal as opposed to a lost answer.
    pub denied_actions: Vec<String>,
    /// Requests a second each access key may send to one action, as the clouds count it;
    /// beyond it the cloud's own throttling answer. `None`: no limit.
    pub rate_limit: Option<f64>,
    /// AssumeRole (AWS, Tencent, Alibaba) and Huawei's AssumeAgency: sessions expire after this
    /// instead of the duration asked for
    /// (tests of renewal during a run). `None`: as asked.
    pub session_lifetime: Option<chrono::Duration>,
}

/// What the sandbox served, for tests and benchmarks.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Every request that reached a cloud's handler or a fault.
    pub requests: u64,
    /// Requests answered with the cloud's throttling error because of `rate_limit`.
    pub throttled: u64,
    /// Requests by the cloud's name of their action.
    pub by_action: BTreeMap<String, u64>,
}

/// Everything the sandbox knows: one [`Cloud`] a provider.
#[derive(Debug)]
pub struct State {
    pub settings: Settings,
    pub stats: Stats,
    /// Token buckets of `settings.rate_limit`: (access key id, action) → (tokens, refilled at).
    pub rate_buckets: HashMap<(String, String), (f64, Instant)>,
    pub aws: Cloud,
    pub alibaba: Cloud,
    pub tencent: Cloud,
    pub huawei: Cloud,
}

impl Default for State {
    fn default() -> Self {
        State {
            settings: Settings::default(),
            stats: Stats::default(),
            rate_buckets: HashMap::new(),
            aws: Cloud::new(ProviderKind::Aws),
            alibaba: Cloud::new(ProviderKind::Alibaba),
            tencent: Cloud::new(ProviderKind::Tencent),
            huawei: Cloud::new(ProviderKind::Huawei),
        }
    }
}

/// Where a key sits: (account, user or `None` for the account's own keys, key).
type Loc = (usize, Option<usize>, usize);

/// One emulated cloud: its accounts, temporary credentials and per-cloud knobs.
#[derive(Debug)]
pub struct Cloud {
    pub kind: ProviderKind,
    pub accounts: Vec<Account>,
    /// Temporary credentials: AWS role sessions, Tencent STS and Huawei security-token keys.
    pub temporary: Vec<TempKey>,
    /// Most items a list page holds, whatever the request asks (0: no cap). Small in the test
    /// seed, so that clients must follow the markers.
    pub page_cap: usize,
    /// Huawei: CheckAKSK prints this text as `update_time` instead of the date (CCE's docs allow
    /// values that are no time, e.g. empty strings).
    pub cce_update_time_text: Option<String>,
    /// The latest actions asked for, in order, including refused ones (at most [`CALL_LOG`]).
    pub calls: Vec<String>,
    /// Signature nonces already spent (Alibaba): a repeat is refused.
    pub nonces: Nonces,
    index: RefCell<HashMap<String, Loc>>,
}

/// Every cloud's quota: two access keys a user.
pub const MAX_KEYS: usize = 2;

/// How many calls [`Cloud::calls`] keeps.
pub const CALL_LOG: usize = 4096;

/// One account of any cloud.
#[derive(Debug, Clone)]
pub struct Account {
    pub kind: ProviderKind,
    /// AWS 12 digits, Alibaba 16 digits, Tencent the owner uin, Huawei the 32-hex domain id.
    pub account_id: String,
    /// Huawei: the account (domain) name, also its root user's.
    pub name: String,
    pub users: Vec<User>,
    /// The account's own (root) keys. Huawei keeps its root user among `users` instead.
    pub root_keys: Vec<Key>,
    /// The last credential report: when it was made and its CSV, a snapshot as the cloud keeps
    /// it (AWS, Alibaba).
    pub credential_report: Option<(DateTime<Utc>, String)>,
    /// Huawei: projects (one per region) and the long-term AK/SK their CCE clusters hold.
    pub projects: Vec<HuaweiProject>,
    /// AWS, Tencent and Alibaba: the roles STS AssumeRole may assume; Huawei: the agencies STS5
    /// AssumeAgency may assume.
    pub roles: Vec<AwsRole>,
    /// AWS, Tencent, Huawei: the organization this (management) account manages.
    pub organization: Option<Organization>,
}

/// An organization, as its management account's listing shows it (AWS and Huawei
/// ListAccounts, Tencent DescribeOrganizationMembers).
#[derive(Debug, Clone)]
pub struct Organization {
    /// `o-` and 10 (Huawei: 32) lower-case letters and digits.
    pub id: String,
    /// Every account, the management account included, in the order they joined.
    pub accounts: Vec<OrgMember>,
}

impl Organization {
    /// Organization `id` of `accounts`: (account id, name, state, days since it joined at
    /// `now`), in the order they joined.
    pub fn new(id: &str, now: DateTime<Utc>, accounts: &[(&str, &str, &str, i64)]) -> Self {
        let member = |&(account_id, name, state, days): &(&str, &str, &str, i64)| OrgMember {
            account_id: account_id.to_string(),
            name: name.to_string(),
            state: state.to_string(),
            joined_at: now - chrono::Duration::days(days),
        };
        Organization {
            id: id.to_string(),
            accounts: accounts.iter().map(member).collect(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct OrgMember {
    pub account_id: String,
    pub name: String,
    /// AWS `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`, …; Huawei `active`, `suspended`, …;
    /// Tencent lists no state (empty).
    pub state: String,
    pub joined_at: DateTime<Utc>,
}

/// An AWS (Tencent, Alibaba) role or a Huawei agency: who its trust policy lets assume it, and
/// for how long.
#[derive(Debug, Clone)]
pub struct AwsRole {
    pub name: String,
    /// `AROA…`
    pub role_id: String,
    /// The principals trusted: account ids (any principal of that account) and user or role
    /// ARNs.
    pub trusted: Vec<String>,
    /// The `sts:ExternalId` the trust policy requires, if any.
    pub external_id: Option<String>,
    /// MaxSessionDuration, seconds.
    pub max_session: i64,
    /// AWS: the trust policy's condition `aws:MultiFactorAuthPresent` (AssumeRole must send
    /// SerialNumber and TokenCode).
    pub mfa: bool,
}

impl AwsRole {
    /// A role trusting `trusted`, sessions of up to an hour (AWS's default).
    pub fn new(name: &str, trusted: &[&str]) -> Self {
        AwsRole {
            name: name.to_string(),
            role_id: format!("AROA{}", random_string(UPPER_ALNUM, 17)),
            trusted: trusted.iter().map(|t| t.to_string()).collect(),
            external_id: None,
            max_session: 3600,
            mfa: false,
        }
    }
}

/// A user of any cloud, with the few fields only one cloud has.
#[derive(Debug, Clone, Default)]
pub struct User {
    pub name: String,
    /// AWS `AIDA…`, Alibaba 16 digits, Huawei 32 hex, Tencent the uin.
    pub user_id: String,
    /// May do anything in its account; others only manage their own keys.
    pub admin: bool,
    pub created_at: DateTime<Utc>,
    pub keys: Vec<Key>,
    /// Alibaba: the display name.
    pub display_name: String,
    /// Tencent: the sub-user's uin and uid, and its remark.
    pub uin: u64,
    pub uid: u64,
    pub remark: String,
    /// Huawei: the account's root user (listed among the users).
    pub root: bool,
    /// Huawei: an identity policy denies this user IAM's user reads (ListUsersV5, ShowUserV5),
    /// admin or not, as it does to most temporary credentials.
    pub no_list_permission: bool,
}

/// A long-term access key of any cloud. `Debug` never shows the secret.
#[derive(Clone)]
pub struct Key {
    pub access_key_id: String,
    pub secret: String,
    pub status: KeyStatus,
    pub created_at: DateTime<Utc>,
    /// When it last signed a request.
    pub last_used: Option<DateTime<Utc>>,
    /// AWS: the (service, region) of that request.
    pub last_used_in: Option<(String, String)>,
    /// Tencent: the cloud knows only the day of last use (`LastSecretUsedDate` null), as its
    /// API allows; a new use is recorded exactly again.
    pub last_used_day_only: bool,
    /// Unknown to the cloud before this time (eventual consistency).
    pub usable_after: Option<DateTime<Utc>>,
}

debug_hiding!(Key {
    access_key_id, status, created_at, last_used, last_used_in, last_used_day_only, usable_after
} hiding { secret });

impl Key {
    /// Known to the cloud at `now` (past its eventual-consistency delay).
    pub fn known(&self, now: DateTime<Utc>) -> bool {
        self.usable_after.is_none_or(|t| now >= t)
    }

    /// Whether the key may sign a request at `now`.
    pub fn usable(&self, now: DateTime<Utc>) -> bool {
        self.status == KeyStatus::Active && self.known(now)
    }
}

/// Temporary credentials: a key id that signs only with its session token. `Debug` hides the
/// secret and the token.
#[derive(Clone, Default)]
pub struct TempKey {
    pub access_key_id: String,
    pub secret: String,
    pub token: String,
    pub account_id: String,
    /// The user it signs as; `None`: the account itself, or (AWS) a role.
    pub user: Option<String>,
    pub session_name: String,
    /// AWS, Tencent: the assumed role's name and id; the role may do anything in its account.
    pub role: Option<(String, String)>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Tencent: the uin that assumed the role (GetCallerIdentity's `PrincipalId`).
    pub assumed_by: Option<String>,
}

debug_hiding!(TempKey {
    access_key_id, account_id, user, session_name, role, expires_at, assumed_by
} hiding { secret, token });

impl TempKey {
    /// A session named `session` of `role`, a role (or Huawei agency) of account `account_id`.
    pub fn session(account_id: &str, role: &AwsRole, session: &str) -> Self {
        TempKey {
            account_id: account_id.to_string(),
            session_name: session.to_string(),
            role: Some((role.name.clone(), role.role_id.clone())),
            ..TempKey::default()
        }
    }
}

/// A Huawei project (one per region) and the long-term AK/SK its CCE clusters hold, if any.
#[derive(Debug, Clone)]
pub struct HuaweiProject {
    /// 32 hex characters.
    pub project_id: String,
    pub region: String,
    pub long_aksk: Option<LongAksk>,
}

/// The dates CCE's CheckAKSK reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongAksk {
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Who owns a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyOwner {
    pub account_id: String,
    /// `None` for the account itself (root).
    pub user: Option<String>,
}

/// Spent signature nonces, pruned at most once a minute rather than on every request.
#[derive(Debug, Default)]
pub struct Nonces {
    seen: HashMap<String, DateTime<Utc>>,
    pruned_at: Option<DateTime<Utc>>,
}

impl Nonces {
    /// Spends `nonce` at `now`; false when it was spent within `horizon` already.
    pub fn spend(&mut self, nonce: &str, now: DateTime<Utc>, horizon: chrono::Duration) -> bool {
        if self
            .pruned_at
            .is_none_or(|t| now - t > chrono::Duration::minutes(1))
        {
            self.seen.retain(|_, at| *at > now - horizon);
            self.pruned_at = Some(now);
        }
        if self.seen.get(nonce).is_some_and(|at| *at > now - horizon) {
            return false;
        }
        self.seen.insert(nonce.to_string(), now);
        true
    }
}

/// An account id as callers name it: a string, or a Tencent owner uin.
pub trait AccountId {
    fn is(&self, id: &str) -> bool;
}

impl AccountId for &str {
    fn is(&self, id: &str) -> bool {
        *self == id
    }
}

impl AccountId for &String {
    fn is(&self, id: &str) -> bool {
        self.as_str() == id
    }
}

impl AccountId for u64 {
    fn is(&self, id: &str) -> bool {
        id.parse() == Ok(*self)
    }
}

/// A key holder of an account: a user by name (`None`: the account itself) or a Tencent uin
/// (the owner uin: the account itself).
pub trait Holder: Copy {
    fn user_index(&self, account: &Account) -> Option<Option<usize>>;
}

impl Holder for Option<&str> {
    fn user_index(&self, account: &Account) -> Option<Option<usize>> {
        match self {
            None => Some(None),
            Some(name) => account.users.iter().position(|u| u.name == *name).map(Some),
        }
    }
}

impl Holder for Option<&String> {
    fn user_index(&self, account: &Account) -> Option<Option<usize>> {
        self.map(String::as_str).user_index(account)
    }
}

impl Holder for &str {
    fn user_index(&self, account: &Account) -> Option<Option<usize>> {
        Some(*self).user_index(account)
    }
}

impl Holder for u64 {
    fn user_index(&self, account: &Account) -> Option<Option<usize>> {
        if self.is(&account.account_id) {
            return Some(None);
        }
        account.users.iter().position(|u| u.uin == *self).map(Some)
    }
}

impl Account {
    pub fn new(kind: ProviderKind, account_id: &str) -> Self {
        Account {
            kind,
            account_id: account_id.to_string(),
            name: String::new(),
            users: Vec::new(),
            root_keys: Vec::new(),
            credential_report: None,
            projects: Vec::new(),
            roles: Vec::new(),
            organization: None,
        }
    }

    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    pub fn user_mut(&mut self, name: &str) -> Option<&mut User> {
        self.users.iter_mut().find(|u| u.name == name)
    }

    pub fn user_by_id(&self, user_id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.user_id == user_id)
    }

    pub fn user_by_uin(&self, uin: u64) -> Option<&User> {
        self.users.iter().find(|u| u.uin == uin)
    }

    /// Keys of a user (by name or uin), or of the account itself.
    pub fn keys(&self, holder: impl Holder) -> Option<&Vec<Key>> {
        Some(match holder.user_index(self)? {
            Some(u) => &self.users[u].keys,
            None => &self.root_keys,
        })
    }

    pub fn keys_mut(&mut self, holder: impl Holder) -> Option<&mut Vec<Key>> {
        Some(match holder.user_index(self)? {
            Some(u) => &mut self.users[u].keys,
            None => &mut self.root_keys,
        })
    }

    /// The owner (user, `None` for the account itself) of a key of this account.
    pub fn key_owner(&self, access_key_id: &str) -> Option<Option<&User>> {
        if self
            .root_keys
            .iter()
            .any(|k| k.access_key_id == access_key_id)
        {
            return Some(None);
        }
        self.users
            .iter()
            .find(|u| u.keys.iter().any(|k| k.access_key_id == access_key_id))
            .map(Some)
    }

    /// Makes a new credential report with `make` unless the last is under 4 hours old, as
    /// IAM and IMS do; true when one was made.
    pub fn refresh_report(&mut self, now: DateTime<Utc>, make: fn(&Account) -> String) -> bool {
        let fresh = self
            .credential_report
            .as_ref()
            .is_some_and(|(at, _)| now - *at < chrono::Duration::hours(4));
        if !fresh {
            self.credential_report = Some((now, make(self)));
        }
        !fresh
    }

    /// A Huawei account (domain): its root user, named like the account, comes first.
    pub fn huawei(domain_id: &str, name: &str, created_at: DateTime<Utc>) -> Self {
        let mut account = Account::new(ProviderKind::Huawei, domain_id);
        account.name = name.to_string();
        let root = account.add_user(name, true, created_at);
        root.root = true;
        account
    }

    /// Adds a user with a fresh id in the cloud's shape (a Tencent user gets a random uid; its
    /// uin is the caller's to set) and returns it, for the few fields only one cloud has.
    pub fn add_user(&mut self, name: &str, admin: bool, created_at: DateTime<Utc>) -> &mut User {
        let mut user = User {
            name: name.to_string(),
            admin,
            created_at,
            ..User::default()
        };
        match self.kind {
            ProviderKind::Tencent => {
                user.uid = rand::thread_rng().gen_range(1_000_000..100_000_000)
            }
            kind => user.user_id = new_user_id(kind),
        }
        self.users.push(user);
        self.users.last_mut().expect("just pushed")
    }
}

impl Cloud {
    pub fn new(kind: ProviderKind) -> Self {
        Cloud {
            kind,
            accounts: Vec::new(),
            temporary: Vec::new(),
            page_cap: 0,
            cce_update_time_text: None,
            calls: Vec::new(),
            nonces: Nonces::default(),
            index: RefCell::new(HashMap::new()),
        }
    }

    pub fn account(&self, id: impl AccountId) -> Option<&Account> {
        self.accounts.iter().find(|a| id.is(&a.account_id))
    }

    pub fn account_mut(&mut self, id: impl AccountId) -> Option<&mut Account> {
        self.accounts.iter_mut().find(|a| id.is(&a.account_id))
    }

    /// The role (Huawei: agency) of an account here that `pick` chooses, copied.
    pub fn role(
        &self,
        account: impl AccountId,
        pick: impl Fn(&AwsRole) -> bool,
    ) -> Option<AwsRole> {
        self.account(account)?
            .roles
            .iter()
            .find(|r| pick(r))
            .cloned()
    }

    /// Remembers an action asked for, forgetting the oldest half once the log is full.
    pub fn log_call(&mut self, action: &str) {
        if self.calls.len() >= CALL_LOG {
            self.calls.drain(..CALL_LOG / 2);
        }
        self.calls.push(action.to_string());
    }

    fn keys_at(&self, a: usize, u: Option<usize>) -> Option<&Vec<Key>> {
        let account = self.accounts.get(a)?;
        match u {
            Some(u) => account.users.get(u).map(|u| &u.keys),
            None => Some(&account.root_keys),
        }
    }

    fn key_at(&self, (a, u, k): Loc) -> Option<&Key> {
        self.keys_at(a, u)?.get(k)
    }

    /// Where a key is, through the index: a key moved within its holder's keys (one before it
    /// deleted) is found there; anything else stale or missing rebuilds the index.
    fn locate(&self, id: &str) -> Option<Loc> {
        let cached = self.index.borrow().get(id).copied();
        if let Some((a, u, was)) = cached {
            let keys = self.keys_at(a, u).map(Vec::as_slice).unwrap_or_default();
            if keys.get(was).is_some_and(|k| k.access_key_id == id) {
                return Some((a, u, was));
            }
            if let Some(k) = keys.iter().position(|k| k.access_key_id == id) {
                self.index.borrow_mut().insert(id.to_string(), (a, u, k));
                return Some((a, u, k));
            }
        }
        let mut index = self.index.borrow_mut();
        index.clear();
        for (a, account) in self.accounts.iter().enumerate() {
            for (k, key) in account.root_keys.iter().enumerate() {
                index.insert(key.access_key_id.clone(), (a, None, k));
            }
            for (u, user) in account.users.iter().enumerate() {
                for (k, key) in user.keys.iter().enumerate() {
                    index.insert(key.access_key_id.clone(), (a, Some(u), k));
                }
            }
        }
        index.get(id).copied()
    }

    /// A long-term key anywhere in this cloud, with its account and user (`None`: the account).
    pub fn key_entry(&self, id: &str) -> Option<(&Account, Option<&User>, &Key)> {
        let loc = self.locate(id)?;
        let account = &self.accounts[loc.0];
        let user = loc.1.map(|u| &account.users[u]);
        Some((account, user, self.key_at(loc)?))
    }

    /// A long-term key anywhere in this cloud, and who owns it.
    pub fn find_key(&self, id: &str) -> Option<(KeyOwner, &Key)> {
        let (account, user, key) = self.key_entry(id)?;
        let owner = KeyOwner {
            account_id: account.account_id.clone(),
            user: user.map(|u| u.name.clone()),
        };
        Some((owner, key))
    }

    pub fn find_key_mut(&mut self, id: &str) -> Option<&mut Key> {
        let (a, u, k) = self.locate(id)?;
        let account = &mut self.accounts[a];
        match u {
            Some(u) => account.users[u].keys.get_mut(k),
            None => account.root_keys.get_mut(k),
        }
    }

    pub fn temporary_key(&self, id: &str) -> Option<&TempKey> {
        self.temporary.iter().find(|t| t.access_key_id == id)
    }

    /// A new id no key holds: the index alone is asked (a miss rebuilds nothing), for ids are
    /// random enough that a key added behind its back cannot collide.
    fn fresh_key_id(&self, account_id: &str) -> String {
        loop {
            let id = new_key_id(self.kind, account_id);
            if !self.index.borrow().contains_key(&id) && self.temporary_key(&id).is_none() {
                return id;
            }
        }
    }

    /// Creates an active key for a user (by name or uin; the account itself for `None` or the
    /// owner uin) of an existing account and returns its (id, secret). It is usable from
    /// `created_at + delay`.
    ///
    /// # Panics
    /// When the account or the user does not exist (callers check first).
    pub fn add_key(
        &mut self,
        account: impl AccountId,
        holder: impl Holder,
        created_at: DateTime<Utc>,
        delay: Duration,
    ) -> (String, String) {
        let kind = self.kind;
        let a = self
            .accounts
            .iter()
            .position(|a| account.is(&a.account_id))
            .unwrap_or_else(|| panic!("sandbox: no {kind} account"));
        let id = self.fresh_key_id(&self.accounts[a].account_id);
        let secret = new_secret(kind);
        let usable_after = (!delay.is_zero()).then(|| {
            created_at + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX)
        });
        let u = holder
            .user_index(&self.accounts[a])
            .unwrap_or_else(|| panic!("sandbox: no such {kind} user"));
        let account = &mut self.accounts[a];
        let keys = match u {
            Some(u) => &mut account.users[u].keys,
            None => &mut account.root_keys,
        };
        // Indexed at once: a new key is found without a rebuild.
        let loc = (a, u, keys.len());
        self.index.get_mut().insert(id.clone(), loc);
        keys.push(Key {
            access_key_id: id.clone(),
            secret: secret.clone(),
            status: KeyStatus::Active,
            created_at,
            last_used: None,
            last_used_in: None,
            last_used_day_only: false,
            usable_after,
        });
        (id, secret)
    }

    /// Issues temporary credentials signing as `user` (`None`: the account itself, or the
    /// role of `role`) of an account; returns (id, secret, token).
    pub fn add_temporary(
        &mut self,
        mut temp: TempKey,
        token_len: usize,
    ) -> (String, String, String) {
        temp.access_key_id = self.fresh_key_id(&temp.account_id);
        if self.kind == ProviderKind::Aws {
            temp.access_key_id = temp.access_key_id.replacen("AKIA", "ASIA", 1);
        }
        // Alibaba's STS key ids: `STS.` and letters and digits.
        if self.kind == ProviderKind::Alibaba {
            temp.access_key_id = temp.access_key_id.replacen("LTAI5t", "STS.NU", 1);
        }
        temp.secret = new_secret(self.kind);
        temp.token = match self.kind {
            ProviderKind::Aws => {
                format!("IQoJb3JpZ2luX2Vj{}", random_string(SECRET_CHARS, token_len))
            }
            _ => random_string(ALNUM, token_len),
        };
        let out = (
            temp.access_key_id.clone(),
            temp.secret.clone(),
            temp.token.clone(),
        );
        self.temporary.push(temp);
        out
    }

    /// Issues a temporary (id, secret, security token) to a user of an existing account, valid
    /// for `ttl` from `now`; it signs as that user, with that user's permissions.
    pub fn issue_temporary(
        &mut self,
        account_id: &str,
        user: &str,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
    ) -> (String, String, String) {
        let temp = TempKey {
            account_id: account_id.to_string(),
            user: Some(user.to_string()),
            expires_at: Some(now + ttl),
            ..TempKey::default()
        };
        self.add_temporary(temp, 96)
    }

    /// Records a key's use by a correctly signed request.
    pub fn touch(&mut self, id: &str, now: DateTime<Utc>, place: Option<(String, String)>) {
        if let Some(key) = self.find_key_mut(id) {
            key.last_used = Some(now);
            key.last_used_in = place;
            key.last_used_day_only = false;
        }
    }
}

impl State {
    pub fn cloud_mut(&mut self, kind: ProviderKind) -> &mut Cloud {
        match kind {
            ProviderKind::Aws => &mut self.aws,
            ProviderKind::Alibaba => &mut self.alibaba,
            ProviderKind::Tencent => &mut self.tencent,
            ProviderKind::Huawei => &mut self.huawei,
        }
    }

    /// Creates a key for a holder of an account at `now`, usable after
    /// `settings.new_key_delay`; `None` when the holder has [`MAX_KEYS`] already.
    pub fn create_key(
        &mut self,
        kind: ProviderKind,
        account_id: &str,
        holder: impl Holder,
        now: DateTime<Utc>,
    ) -> Option<(String, String)> {
        let delay = self.settings.new_key_delay;
        let cloud = self.cloud_mut(kind);
        let held = cloud.account(account_id).and_then(|a| a.keys(holder));
        (held.map_or(0, Vec::len) < MAX_KEYS).then(|| cloud.add_key(account_id, holder, now, delay))
    }

    /// Issues a role session `temp` on `kind`, expiring after `duration` seconds (or the
    /// `session_lifetime` a test set); returns its (id, secret, token) and expiry.
    pub fn issue_session(
        &mut self,
        kind: ProviderKind,
        mut temp: TempKey,
        duration: i64,
        now: DateTime<Utc>,
    ) -> ((String, String, String), DateTime<Utc>) {
        let lifetime = self
            .settings
            .session_lifetime
            .unwrap_or_else(|| chrono::Duration::seconds(duration));
        let expires = now + lifetime;
        temp.expires_at = Some(expires);
        // Tencent's tokens are shorter than Alibaba's and Huawei's.
        let token_len = if kind == ProviderKind::Tencent {
            256
        } else {
            300
        };
        (self.cloud_mut(kind).add_temporary(temp, token_len), expires)
    }

    pub fn aws_account(&self, account_id: &str) -> Option<&Account> {
        self.aws.account(account_id)
    }

    pub fn aws_account_mut(&mut self, account_id: &str) -> Option<&mut Account> {
        self.aws.account_mut(account_id)
    }

    /// Finds an AWS key in any account.
    pub fn find_key(&self, access_key_id: &str) -> Option<(KeyOwner, &Key)> {
        self.aws.find_key(access_key_id)
    }

    pub fn find_key_mut(&mut self, access_key_id: &str) -> Option<&mut Key> {
        self.aws.find_key_mut(access_key_id)
    }

    /// Creates an active AWS key for a user (the root user for `None`) of an existing account,
    /// usable from `created_at + settings.new_key_delay`; returns its (id, secret).
    pub fn add_aws_key(
        &mut self,
        account: &str,
        user: Option<&str>,
        created_at: DateTime<Utc>,
    ) -> (String, String) {
        let delay = self.settings.new_key_delay;
        self.aws.add_key(account, user, created_at, delay)
    }

    /// Starts an assumed-role session of `role_name` in an existing account and returns its
    /// (key id, secret, session token).
    pub fn add_aws_role_session(
        &mut self,
        account: &str,
        role_name: &str,
        session_name: &str,
    ) -> (String, String, String) {
        let role_id = format!("AROA{}", random_string(UPPER_ALNUM, 17));
        self.start_aws_session(account, role_name, &role_id, session_name, None)
    }

    /// Starts a session of role (`role_name`, `role_id`) of an account, expiring at
    /// `expires_at` (`None`: never); returns its (key id, secret, session token).
    pub fn start_aws_session(
        &mut self,
        account: &str,
        role_name: &str,
        role_id: &str,
        session_name: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> (String, String, String) {
        let temp = TempKey {
            account_id: account.to_string(),
            session_name: session_name.to_string(),
            role: Some((role_name.to_string(), role_id.to_string())),
            expires_at,
            ..TempKey::default()
        };
        self.aws.add_temporary(temp, 120)
    }
}

/// Sets `status` on the key `id` of `keys`, or removes the key when `status` is `None`; false
/// when there is no such key.
pub fn change_key(keys: &mut Vec<Key>, id: &str, status: Option<KeyStatus>) -> bool {
    let Some(index) = keys.iter().position(|k| k.access_key_id == id) else {
        return false;
    };
    match status {
        Some(status) => keys[index].status = status,
        None => drop(keys.remove(index)),
    }
    true
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const SECRET_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+";

pub fn random_string(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
        .collect()
}

fn random_digits(len: usize) -> String {
    let mut rng = rand::thread_rng();
    let first = char::from(b'1' + rng.gen_range(0..9u8));
    std::iter::once(first)
        .chain((1..len).map(|_| char::from(b'0' + rng.gen_range(0..10u8))))
        .collect()
}

/// A new access key id in the cloud's shape: AWS `AKIA…` (encoding the account), Alibaba
/// `LTAI5t…` (24), Tencent `AKID…` (36), Huawei 20 upper-case letters and digits never starting
/// like another cloud's.
pub fn new_key_id(kind: ProviderKind, account_id: &str) -> String {
    match kind {
        ProviderKind::Aws => new_aws_key_id(account_id),
        ProviderKind::Alibaba => format!("LTAI5t{}", random_string(ALNUM, 18)),
        ProviderKind::Tencent => format!("AKID{}", random_string(ALNUM, 32)),
        ProviderKind::Huawei => loop {
            let id = random_string(UPPER_ALNUM, 20);
            if ProviderKind::from_key_id(&id).is_none() {
                return id;
            }
        },
    }
}

/// A new secret in the cloud's shape: AWS 40 of `[A-Za-z0-9/+]`, Alibaba 30, Tencent 32 and
/// Huawei 40 letters and digits.
pub fn new_secret(kind: ProviderKind) -> String {
    match kind {
        ProviderKind::Aws => random_string(SECRET_CHARS, 40),
        ProviderKind::Alibaba => random_string(ALNUM, 30),
        ProviderKind::Tencent => random_string(ALNUM, 32),
        ProviderKind::Huawei => random_string(ALNUM, 40),
    }
}

/// A new user id: AWS `AIDA` + 17, Alibaba 16 digits, Huawei 32 hex.
pub fn new_user_id(kind: ProviderKind) -> String {
    match kind {
        ProviderKind::Aws => format!("AIDA{}", random_string(UPPER_ALNUM, 17)),
        ProviderKind::Alibaba => random_digits(16),
        _ => new_hex_id(),
    }
}

/// 32 lower-case hex characters: the shape of Huawei user, domain, project and request ids.
pub fn new_hex_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// `AKIA` + 10 base32 chars encoding `(account << 9) | 9 random bits` + 6 random base32 chars,
/// so the account can be decoded offline (see `providers::aws::account_from_key_id`).
pub fn new_aws_key_id(account_id: &str) -> String {
    let account: u64 = account_id.parse::<u64>().unwrap_or(0) & 0xFF_FFFF_FFFF;
    let value = (account << 9) | rand::thread_rng().gen_range(0..512u64);
    let mut id = String::with_capacity(20);
    id.push_str("AKIA");
    for shift in (0..10).rev() {
        id.push(BASE32[((value >> (5 * shift)) & 31) as usize] as char);
    }
    id.push_str(&random_string(BASE32, 6));
    id
}

/// A list marker we hand out: the hex of `cloudkeys-sandbox:OFFSET` (upper-case as AWS and
/// Alibaba print theirs, lower-case as Huawei does).
pub fn encode_marker(offset: usize, upper: bool) -> String {
    let hex = hex::encode(format!("cloudkeys-sandbox:{offset}"));
    if upper {
        hex.to_ascii_uppercase()
    } else {
        hex
    }
}

pub fn decode_marker(marker: &str) -> Option<usize> {
    let raw = String::from_utf8(hex::decode(marker).ok()?).ok()?;
    raw.strip_prefix("cloudkeys-sandbox:")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::aws::account_from_key_id;

    #[test]
    fn key_ids_decode_to_their_account() {
        for account in [
            "111122223333",
            "444455556666",
            "000000000001",
            "999999999999",
        ] {
            for _ in 0..50 {
                let id = new_aws_key_id(account);
                assert_eq!(id.len(), 20);
                assert!(id.starts_with("AKIA"));
                assert!(id[4..].bytes().all(|b| BASE32.contains(&b)));
                assert_eq!(account_from_key_id(&id).as_deref(), Some(account), "{id}");
            }
        }
    }

    #[test]
    fn ids_and_secrets_have_their_clouds_shapes() {
        let secret = new_secret(ProviderKind::Aws);
        assert_eq!(secret.len(), 40);
        assert!(secret.bytes().all(|b| SECRET_CHARS.contains(&b)));
        let id = new_user_id(ProviderKind::Aws);
        assert_eq!(id.len(), 21);
        assert!(id.starts_with("AIDA"));
        for kind in ProviderKind::ALL {
            let id = new_key_id(kind, "111122223333");
            let known = (kind != ProviderKind::Huawei).then_some(kind);
            assert_eq!(ProviderKind::from_key_id(&id), known, "{id}");
        }
        assert_eq!(new_user_id(ProviderKind::Alibaba).len(), 16);
        assert_eq!(decode_marker(&encode_marker(42, true)), Some(42));
        assert_eq!(decode_marker(&encode_marker(7, false)), Some(7));
        assert_eq!(decode_marker("zz"), None);
    }

    #[test]
    fn add_and_find_keys() {
        let mut state = State::default();
        let mut account = Account::new(ProviderKind::Aws, "111122223333");
        account.add_user("alice", false, Utc::now());
        state.aws.accounts.push(account);
        let (id, _) = state.add_aws_key("111122223333", Some("alice"), Utc::now());
        let (owner, key) = state.find_key(&id).unwrap();
        assert_eq!(owner.user.as_deref(), Some("alice"));
        assert!(key.usable(Utc::now()));
        assert!(!format!("{key:?}").contains(&key.secret));
        state.settings.new_key_delay = Duration::from_secs(60);
        let (late, _) = state.add_aws_key("111122223333", None, Utc::now());
        assert!(!state.find_key(&late).unwrap().1.usable(Utc::now()));
        assert_eq!(state.find_key(&late).unwrap().0.user, None);
        state.find_key_mut(&id).unwrap().status = KeyStatus::Inactive;
        assert!(!state.find_key(&id).unwrap().1.usable(Utc::now()));
        // The index follows keys moved or removed behind its back.
        let (second, _) = state.add_aws_key("111122223333", Some("alice"), Utc::now());
        assert!(change_key(
            &mut state.aws.accounts[0].users[0].keys,
            &id,
            None
        ));
        assert_eq!(state.find_key(&second).unwrap().1.access_key_id, second);
        assert!(state.find_key(&id).is_none());
        state.aws.accounts[0].users[0].keys.clear();
        assert!(state.find_key(&second).is_none());
        assert_eq!(state.find_key(&late).unwrap().0.user, None);
    }

    #[test]
    fn nonces_are_spent_once_within_the_horizon() {
        let mut nonces = Nonces::default();
        let now = Utc::now();
        let horizon = chrono::Duration::minutes(30);
        assert!(nonces.spend("a", now, horizon));
        assert!(!nonces.spend("a", now + chrono::Duration::minutes(5), horizon));
        assert!(nonces.spend("a", now + chrono::Duration::minutes(31), horizon));
    }
}
