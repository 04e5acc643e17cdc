//! The sandbox's in-memory world: accounts, users and keys of every emulated cloud.
//!
//! Plain data with public fields, so tests can inspect and change it through
//! [`super::Sandbox::state`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;

use crate::model::KeyStatus;

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
    /// (AWS 403 AccessDenied, Alibaba 403 NoPermission; not yet Tencent and Huawei), to test a
    /// definite refusal as opposed to a lost answer.
    pub denied_actions: Vec<String>,
}

/// Everything the sandbox knows.
#[derive(Debug, Default)]
pub struct State {
    pub settings: Settings,
    pub aws_accounts: Vec<AwsAccount>,
    pub alibaba: super::alibaba::AlibabaWorld,
    /// Tencent Cloud accounts, users, keys and temporary credentials.
    pub tencent: super::tencent::TencentWorld,
    pub huawei: super::huawei::HuaweiWorld,
}

/// One AWS account.
#[derive(Debug, Clone)]
pub struct AwsAccount {
    /// 12 digits.
    pub account_id: String,
    pub users: Vec<AwsUser>,
    pub root_keys: Vec<AwsKey>,
    /// The last credential report: when it was made and its CSV, a snapshot as IAM keeps it.
    pub credential_report: Option<(DateTime<Utc>, String)>,
    /// Temporary credentials of assumed-role sessions in this account.
    pub role_sessions: Vec<AwsRoleSession>,
}

/// An assumed-role session's temporary credentials: an `ASIA…` key id signing with a session
/// token. The role may do anything in its account; it owns no access keys. `Debug` hides the
/// secret and the token.
#[derive(Clone)]
pub struct AwsRoleSession {
    pub access_key_id: String,
    pub secret: String,
    pub token: String,
    pub role_name: String,
    /// `AROA` + 17 upper-case letters and digits.
    pub role_id: String,
    pub session_name: String,
}

impl std::fmt::Debug for AwsRoleSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsRoleSession")
            .field("access_key_id", &self.access_key_id)
            .field("secret", &"***")
            .field("token", &"***")
            .field("role_name", &self.role_name)
            .field("role_id", &self.role_id)
            .field("session_name", &self.session_name)
            .finish()
    }
}

/// An IAM user.
#[derive(Debug, Clone)]
pub struct AwsUser {
    pub name: String,
    /// `AIDA` + 17 upper-case letters and digits.
    pub user_id: String,
    /// An admin may do anything in its account; others only manage their own keys.
    pub admin: bool,
    /// Actions an explicit policy denies this user, admin or not (e.g. an auditor without
    /// `iam:GenerateCredentialReport`).
    pub denied: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub keys: Vec<AwsKey>,
}

/// An AWS access key. `Debug` never shows the secret.
#[derive(Clone)]
pub struct AwsKey {
    pub access_key_id: String,
    pub secret: String,
    pub status: KeyStatus,
    pub created_at: DateTime<Utc>,
    /// (when, service, region) of the last signed request.
    pub last_used: Option<(DateTime<Utc>, String, String)>,
    /// Refused as InvalidClientTokenId before this time (eventual consistency).
    pub usable_after: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for AwsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsKey")
            .field("access_key_id", &self.access_key_id)
            .field("secret", &"***")
            .field("status", &self.status)
            .field("created_at", &self.created_at)
            .field("last_used", &self.last_used)
            .field("usable_after", &self.usable_after)
            .finish()
    }
}

impl AwsKey {
    /// Whether the key may sign a request at `now`.
    pub fn usable(&self, now: DateTime<Utc>) -> bool {
        self.status == KeyStatus::Active && self.usable_after.is_none_or(|t| now >= t)
    }
}

/// Who owns a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyOwner {
    pub account_id: String,
    /// `None` for the account's root user.
    pub user: Option<String>,
}

impl AwsAccount {
    pub fn new(account_id: &str) -> Self {
        AwsAccount {
            account_id: account_id.to_string(),
            users: Vec::new(),
            root_keys: Vec::new(),
            credential_report: None,
            role_sessions: Vec::new(),
        }
    }

    pub fn user(&self, name: &str) -> Option<&AwsUser> {
        self.users.iter().find(|u| u.name == name)
    }

    pub fn user_mut(&mut self, name: &str) -> Option<&mut AwsUser> {
        self.users.iter_mut().find(|u| u.name == name)
    }

    /// Keys of a user, or of the root user when `user` is `None`.
    pub fn keys(&self, user: Option<&str>) -> Option<&Vec<AwsKey>> {
        match user {
            Some(name) => self.user(name).map(|u| &u.keys),
            None => Some(&self.root_keys),
        }
    }

    pub fn keys_mut(&mut self, user: Option<&str>) -> Option<&mut Vec<AwsKey>> {
        match user {
            Some(name) => self.user_mut(name).map(|u| &mut u.keys),
            None => Some(&mut self.root_keys),
        }
    }

    /// The owner (user name, `None` for root) of a key of this account.
    pub fn key_owner(&self, access_key_id: &str) -> Option<Option<&str>> {
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
            .map(|u| Some(u.name.as_str()))
    }

    /// Adds a user with a fresh user id.
    pub fn add_user(&mut self, name: &str, admin: bool, created_at: DateTime<Utc>) -> &mut AwsUser {
        self.users.push(AwsUser {
            name: name.to_string(),
            user_id: new_user_id(),
            admin,
            denied: Vec::new(),
            created_at,
            keys: Vec::new(),
        });
        self.users.last_mut().expect("just pushed")
    }
}

impl State {
    pub fn aws_account(&self, account_id: &str) -> Option<&AwsAccount> {
        self.aws_accounts
            .iter()
            .find(|a| a.account_id == account_id)
    }

    pub fn aws_account_mut(&mut self, account_id: &str) -> Option<&mut AwsAccount> {
        self.aws_accounts
            .iter_mut()
            .find(|a| a.account_id == account_id)
    }

    /// Finds an AWS key in any account.
    pub fn find_key(&self, access_key_id: &str) -> Option<(KeyOwner, &AwsKey)> {
        for account in &self.aws_accounts {
            let owner = |user: Option<&str>| KeyOwner {
                account_id: account.account_id.clone(),
                user: user.map(str::to_string),
            };
            if let Some(key) = account
                .root_keys
                .iter()
                .find(|k| k.access_key_id == access_key_id)
            {
                return Some((owner(None), key));
            }
            for user in &account.users {
                if let Some(key) = user.keys.iter().find(|k| k.access_key_id == access_key_id) {
                    return Some((owner(Some(&user.name)), key));
                }
            }
        }
        None
    }

    /// Finds an assumed-role session by its key id; returns it with its account id.
    pub fn find_role_session(&self, access_key_id: &str) -> Option<(&str, &AwsRoleSession)> {
        self.aws_accounts.iter().find_map(|account| {
            account
                .role_sessions
                .iter()
                .find(|s| s.access_key_id == access_key_id)
                .map(|s| (account.account_id.as_str(), s))
        })
    }

    /// Starts an assumed-role session of `role_name` in an existing account and returns its
    /// (key id, secret, session token).
    ///
    /// # Panics
    /// When the account does not exist (callers check first).
    pub fn add_aws_role_session(
        &mut self,
        account: &str,
        role_name: &str,
        session_name: &str,
    ) -> (String, String, String) {
        let mut id = new_aws_key_id(account).replacen("AKIA", "ASIA", 1);
        while self.find_key(&id).is_some() || self.find_role_session(&id).is_some() {
            id = new_aws_key_id(account).replacen("AKIA", "ASIA", 1);
        }
        let secret = new_secret();
        let token = format!("IQoJb3JpZ2luX2Vj{}", random_string(SECRET_CHARS, 120));
        self.aws_account_mut(account)
            .unwrap_or_else(|| panic!("sandbox: no AWS account {account}"))
            .role_sessions
            .push(AwsRoleSession {
                access_key_id: id.clone(),
                secret: secret.clone(),
                token: token.clone(),
                role_name: role_name.to_string(),
                role_id: format!("AROA{}", random_string(UPPER_ALNUM, 17)),
                session_name: session_name.to_string(),
            });
        (id, secret, token)
    }

    pub fn find_key_mut(&mut self, access_key_id: &str) -> Option<&mut AwsKey> {
        self.aws_accounts.iter_mut().find_map(|account| {
            account
                .root_keys
                .iter_mut()
                .chain(account.users.iter_mut().flat_map(|u| u.keys.iter_mut()))
                .find(|k| k.access_key_id == access_key_id)
        })
    }

    /// Creates an active key for a user (or the root user when `user` is `None`) of an
    /// existing account, and returns its (id, secret). The key is usable from
    /// `created_at + settings.new_key_delay`.
    ///
    /// # Panics
    /// When the account or the user does not exist (callers check first).
    pub fn add_aws_key(
        &mut self,
        account: &str,
        user: Option<&str>,
        created_at: DateTime<Utc>,
    ) -> (String, String) {
        let mut id = new_aws_key_id(account);
        while self.find_key(&id).is_some() {
            id = new_aws_key_id(account);
        }
        let secret = new_secret();
        let usable_after = (!self.settings.new_key_delay.is_zero()).then(|| {
            created_at
                + chrono::Duration::from_std(self.settings.new_key_delay)
                    .unwrap_or(chrono::Duration::MAX)
        });
        let keys = self
            .aws_account_mut(account)
            .unwrap_or_else(|| panic!("sandbox: no AWS account {account}"))
            .keys_mut(user)
            .unwrap_or_else(|| panic!("sandbox: no user {user:?} in AWS account {account}"));
        keys.push(AwsKey {
            access_key_id: id.clone(),
            secret: secret.clone(),
            status: KeyStatus::Active,
            created_at,
            last_used: None,
            usable_after,
        });
        (id, secret)
    }
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const SECRET_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+";

fn random_string(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
        .collect()
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

/// 40 characters of `[A-Za-z0-9/+]`.
pub fn new_secret() -> String {
    random_string(SECRET_CHARS, 40)
}

/// `AIDA` + 17 upper-case letters and digits.
pub fn new_user_id() -> String {
    format!("AIDA{}", random_string(UPPER_ALNUM, 17))
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
    fn secrets_and_user_ids_have_their_shapes() {
        let secret = new_secret();
        assert_eq!(secret.len(), 40);
        assert!(secret.bytes().all(|b| SECRET_CHARS.contains(&b)));
        let id = new_user_id();
        assert_eq!(id.len(), 21);
        assert!(id.starts_with("AIDA"));
    }

    #[test]
    fn add_and_find_keys() {
        let mut state = State::default();
        let mut account = AwsAccount::new("111122223333");
        account.add_user("alice", false, Utc::now());
        state.aws_accounts.push(account);
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
    }
}
