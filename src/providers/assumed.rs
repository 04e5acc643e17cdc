//! What every cloud's role profiles share: the key calls are signed with — the profile's own,
//! fetched ones (AWS `credential_process`, `credential_source`), or a role's temporary
//! credentials assumed with its source profile's (down a chain), kept in memory only and
//! assumed (fetched) again shortly before they expire. Each cloud brings its AssumeRole.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use tokio::sync::Mutex;

use crate::config::{Profile, Role};
use crate::credentials::{Fetch, Fetched};
use crate::error::{Error, Result};
use crate::model::Secret;
use crate::provider::{resolve, ProviderOptions, ResolvedProfile};

/// A role's temporary credentials are assumed again this long before they expire (at most
/// half their lifetime, so that short sessions are used too).
const RENEW_MARGIN: Duration = Duration::from_secs(300);

/// The key calls are signed with. Never written anywhere; `Debug` is not derived.
pub struct SigningKeys {
    pub id: String,
    pub secret: Secret,
    pub token: Option<Secret>,
    /// When to assume the role again (`None`: the profile's own key, never).
    renew_at: Option<Instant>,
    /// When they expire, if they do.
    expires_at: Option<Instant>,
}

impl SigningKeys {
    /// The profile's own key.
    pub fn own(profile: &Profile) -> Self {
        SigningKeys {
            id: profile.access_key_id.clone(),
            secret: profile.secret_access_key.clone(),
            token: profile.session_token.clone(),
            renew_at: None,
            expires_at: None,
        }
    }

    /// Temporary credentials the cloud says expire at `expires`.
    pub fn temporary(id: String, secret: Secret, token: Secret, expires: DateTime<Utc>) -> Self {
        SigningKeys::fetched(Fetched {
            id,
            secret,
            token: Some(token),
            expires: Some(expires),
        })
    }

    /// Fetched credentials: renewed before they expire, if they do.
    fn fetched(got: Fetched) -> Self {
        let left = got
            .expires
            .map(|expires| (expires - Utc::now()).to_std().unwrap_or_default());
        SigningKeys {
            id: got.id,
            secret: got.secret,
            token: got.token,
            renew_at: left.map(|left| Instant::now() + left - RENEW_MARGIN.min(left / 2)),
            expires_at: left.map(|left| Instant::now() + left),
        }
    }

    fn fresh(&self) -> bool {
        self.renew_at.is_none_or(|at| Instant::now() < at)
    }
}

/// The latest temporary credentials, in memory only; or why they could not be had (the HTTP
/// client retried what could be retried: the run does not ask again).
type Current = Mutex<Option<Result<Arc<SigningKeys>>>>;

/// The profile's own key, fetched credentials, or a role assumed with its source's.
pub enum Credentials<P> {
    Own(Arc<SigningKeys>),
    /// Fetched for profile `profile` (named in errors).
    Fetched {
        profile: String,
        fetch: Fetch,
        current: Current,
    },
    Assumed {
        role: Role,
        /// The source profile's provider (itself possibly a role's).
        source: Box<P>,
        current: Current,
    },
}

/// A cloud's provider that can assume a role of that cloud.
pub trait Assume: Send + Sync + Sized {
    fn credentials(&self) -> &Credentials<Self>;
    /// The cloud's AssumeRole for `role`, signed with `with` (the source's credentials).
    fn assume<'a>(
        &'a self,
        role: &'a Role,
        with: &'a SigningKeys,
    ) -> BoxFuture<'a, Result<SigningKeys>>;
    /// The keys to sign the next call with (see [`keys`]).
    fn keys(&self) -> BoxFuture<'_, Result<Arc<SigningKeys>>> {
        self::keys(self)
    }
}

impl<P: Assume> Credentials<P> {
    /// The credentials of `profile`: for a role profile, its source's provider is built with
    /// `build` (down the chain).
    pub fn of(
        profile: &ResolvedProfile,
        options: &ProviderOptions,
        build: fn(ResolvedProfile, &ProviderOptions) -> Result<P>,
    ) -> Result<Self> {
        let own = &profile.profile;
        if let (None, Some(fetch)) = (&own.role, &own.fetch) {
            return Ok(Credentials::Fetched {
                profile: own.name.clone(),
                fetch: fetch.clone(),
                current: Mutex::new(None),
            });
        }
        let Some(role) = &own.role else {
            return Ok(Credentials::Own(Arc::new(SigningKeys::own(own))));
        };
        let source = role.source.as_deref().ok_or_else(|| {
            Error::config(format!(
                "profile {}: source_profile '{}' was not resolved",
                own.name, role.source_profile
            ))
        })?;
        let source = Box::new(build(resolve(source, options)?, options)?);
        let mut role = role.clone();
        if let Some(serial) = &role.mfa_serial {
            // Asked before any request, once per run: the session is never renewed.
            role.token_code = Some(mfa_code(serial)?);
        }
        Ok(Credentials::Assumed {
            role,
            source,
            current: Mutex::new(None),
        })
    }
}

/// The credentials `provider` signs with now: a role's are assumed (fetched ones fetched) on
/// first use and again shortly before they expire (one caller asks while the others wait for
/// its answer).
pub fn keys<P: Assume>(provider: &P) -> BoxFuture<'_, Result<Arc<SigningKeys>>> {
    Box::pin(async move {
        let current = match provider.credentials() {
            Credentials::Own(keys) => return Ok(keys.clone()),
            Credentials::Fetched { current, .. } | Credentials::Assumed { current, .. } => current,
        };
        let mut current = current.lock().await;
        match (current.as_ref(), provider.credentials()) {
            (Some(Err(err)), _) => return Err(err.clone()),
            (Some(Ok(keys)), _) if keys.fresh() => return Ok(keys.clone()),
            // An MFA session: its code was used up, so it is kept until it expires, as
            // botocore does (its refresher refuses a second MFA assume).
            (Some(Ok(keys)), Credentials::Assumed { role, .. }) if role.token_code.is_some() => {
                if keys.expires_at.is_some_and(|at| Instant::now() >= at) {
                    return Err(Error::new(crate::error::ErrorKind::Auth, format!(
                        "the MFA session of role {} expired and is not renewed: run again for a new code",
                        role.role_arn
                    )));
                }
                return Ok(keys.clone());
            }
            _ => {}
        }
        let got = match provider.credentials() {
            Credentials::Fetched { profile, fetch, .. } => fetch
                .run(profile)
                .await
                .map(|got| Arc::new(SigningKeys::fetched(got))),
            Credentials::Assumed { role, source, .. } => match keys(source.as_ref()).await {
                Ok(with) => provider.assume(role, &with).await.map(Arc::new),
                Err(err) => Err(err),
            },
            Credentials::Own(_) => unreachable!("own keys returned above"),
        };
        *current = Some(got.clone());
        got
    })
}

/// The session name of an AssumeRole: the profile's, else one naming cloudkeys and the time.
pub fn session_name(role: &Role) -> String {
    role.session_name
        .clone()
        .unwrap_or_else(|| format!("cloudkeys-{}", Utc::now().timestamp()))
}

/// AssumeRole's parameters, named alike by AWS's and Alibaba Cloud's STS.
pub fn params(role: &Role) -> Vec<(&'static str, String)> {
    let mut params = vec![
        ("RoleArn", role.role_arn.clone()),
        ("RoleSessionName", session_name(role)),
    ];
    params.extend(
        role.duration_seconds
            .map(|d| ("DurationSeconds", d.to_string())),
    );
    params.extend(role.external_id.clone().map(|e| ("ExternalId", e)));
    if let (Some(serial), Some(code)) = (&role.mfa_serial, &role.token_code) {
        params.push(("SerialNumber", serial.clone()));
        params.push(("TokenCode", code.expose().to_string()));
    }
    params
}

/// The MFA code of device `serial`, asked on the terminal as the AWS CLI asks it
/// (stderr, no echo); without a terminal, a usage error before any request.
fn mfa_code(serial: &str) -> Result<Secret> {
    use std::io::IsTerminal;
    let no_terminal = || {
        // The caller's error names the profile.
        Error::usage("mfa_serial needs a terminal to type the MFA code on")
    };
    if !std::io::stderr().is_terminal() {
        return Err(no_terminal());
    }
    let code = read_tty(&format!("Enter MFA code for {serial}: ")).ok_or_else(no_terminal)?;
    let code = Secret::new(code.trim());
    // STS's TokenCode is six digits: anything else would only be refused after a signed call.
    if code.expose().len() != 6 || !code.expose().bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::usage("the MFA code must be 6 digits"));
    }
    Ok(code)
}

/// A line read from the controlling terminal (not stdin) with echo off, after `prompt` on
/// stderr; `None` without one.
#[cfg(unix)]
fn read_tty(prompt: &str) -> Option<String> {
    use std::io::{BufRead, Write};
    use std::os::fd::AsRawFd;
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .ok()?;
    let fd = tty.as_raw_fd();
    // SAFETY: termios is plain data, filled by tcgetattr on an open descriptor.
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    let echo_off = unsafe { libc::tcgetattr(fd, &mut saved) } == 0;
    if echo_off {
        let mut quiet = saved;
        quiet.c_lflag &= !libc::ECHO;
        quiet.c_lflag |= libc::ECHONL;
        // SAFETY: a valid descriptor and termios.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) };
    }
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    let read = std::io::BufReader::new(&tty).read_line(&mut line);
    if echo_off {
        // SAFETY: restores what tcgetattr read.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
    }
    read.ok().filter(|n| *n > 0).map(|_| line)
}

#[cfg(not(unix))]
fn read_tty(_prompt: &str) -> Option<String> {
    None
}

/// Temporary credentials from an STS answer whose `expiration` is RFC 3339 (AWS, Alibaba).
pub fn temporary(
    id: String,
    secret: Secret,
    token: Secret,
    expiration: &str,
) -> Result<SigningKeys> {
    Ok(SigningKeys::temporary(
        id,
        secret,
        token,
        expires_at(expiration)?,
    ))
}

/// The expiry of temporary credentials as AWS's and Alibaba Cloud's STS answer it (RFC 3339).
pub fn expires_at(expiration: &str) -> Result<DateTime<Utc>> {
    crate::time::parse_rfc3339(expiration).ok_or_else(|| {
        Error::bad_response("AssumeRole: unreadable answer: Expiration is not a time")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A provider that only fetches.
    struct Fetching(Credentials<Fetching>);

    impl Assume for Fetching {
        fn credentials(&self) -> &Credentials<Self> {
            &self.0
        }
        fn assume<'a>(
            &'a self,
            _: &'a Role,
            _: &'a SigningKeys,
        ) -> BoxFuture<'a, Result<SigningKeys>> {
            unreachable!("no role here")
        }
    }

    #[test]
    fn an_mfa_role_sends_its_device_and_code_and_never_shows_the_code() {
        let mut role = Role {
            role_arn: "arn:aws:iam::111122223333:role/R".into(),
            source_profile: "mgmt".into(),
            external_id: None,
            session_name: Some("me".into()),
            duration_seconds: None,
            mfa_serial: Some("arn:aws:iam::1:mfa/me".into()),
            token_code: None,
            source: None,
        };
        let names = |role: &Role| params(role).into_iter().map(|(n, _)| n).collect::<Vec<_>>();
        assert_eq!(
            names(&role),
            ["RoleArn", "RoleSessionName"],
            "no code: no MFA"
        );
        role.token_code = Some(Secret::new("123456"));
        let sent = params(&role);
        assert_eq!(
            sent[2],
            ("SerialNumber", "arn:aws:iam::1:mfa/me".to_string())
        );
        assert_eq!(sent[3], ("TokenCode", "123456".to_string()));
        assert!(
            !format!("{role:?}").contains("123456"),
            "Debug hides the code"
        );
    }

    /// A provider whose AssumeRole counts its calls and answers 2-second sessions.
    struct Counting(Credentials<Counting>, std::sync::atomic::AtomicUsize);

    impl Assume for Counting {
        fn credentials(&self) -> &Credentials<Self> {
            &self.0
        }
        fn assume<'a>(
            &'a self,
            _: &'a Role,
            _: &'a SigningKeys,
        ) -> BoxFuture<'a, Result<SigningKeys>> {
            self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let expires = Utc::now() + chrono::Duration::seconds(2);
            let (secret, token) = (Secret::new("s"), Secret::new("t"));
            Box::pin(async move {
                Ok(SigningKeys::temporary(
                    "ASIA".into(),
                    secret,
                    token,
                    expires,
                ))
            })
        }
    }

    #[tokio::test]
    async fn an_mfa_session_is_never_renewed_and_its_expiry_is_an_error() {
        let own = || {
            Credentials::Own(Arc::new(SigningKeys {
                id: "AKIA".into(),
                secret: Secret::new("s"),
                token: None,
                renew_at: None,
                expires_at: None,
            }))
        };
        let role = Role {
            role_arn: "arn:aws:iam::1:role/R".into(),
            source_profile: "mgmt".into(),
            external_id: None,
            session_name: None,
            duration_seconds: None,
            mfa_serial: Some("arn:aws:iam::1:mfa/me".into()),
            token_code: Some(Secret::new("123456")),
            source: None,
        };
        let provider = Counting(
            Credentials::Assumed {
                role,
                source: Box::new(Counting(own(), Default::default())),
                current: Mutex::new(None),
            },
            Default::default(),
        );
        assert_eq!(provider.keys().await.unwrap().id, "ASIA");
        // Past the renewal point (half the lifetime), before expiry: kept, not assumed again.
        tokio::time::sleep(Duration::from_millis(1300)).await;
        assert_eq!(provider.keys().await.unwrap().id, "ASIA");
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let err = provider.keys().await.err().expect("expired");
        assert!(err.to_string().contains("MFA session"), "{err}");
        assert_eq!(provider.1.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn fetched_credentials_are_fetched_again_shortly_before_they_expire() {
        let dir = tempfile::tempdir().unwrap();
        let (json, runs) = (dir.path().join("answer"), dir.path().join("runs"));
        let script = format!("echo run >> '{}'; cat '{}'", runs.display(), json.display());
        let answer = |id: &str, seconds: i64| {
            let at = Utc::now() + chrono::Duration::seconds(seconds);
            let text = format!(
                r#"{{"Version": 1, "AccessKeyId": "{id}", "SecretAccessKey": "s", "Expiration": "{}"}}"#,
                at.to_rfc3339()
            );
            std::fs::write(&json, text).unwrap();
        };
        let count = || std::fs::read_to_string(&runs).unwrap().lines().count();
        let provider = Fetching(Credentials::Fetched {
            profile: "aws:p".into(),
            fetch: Fetch::Process(format!("sh -c \"{script}\"")),
            current: Mutex::new(None),
        });
        // Valid for 4 s: renewed after about half of that, not before.
        answer("AKIAFIRST", 4);
        assert_eq!(provider.keys().await.unwrap().id, "AKIAFIRST");
        answer("AKIASECOND", 3600);
        assert_eq!(provider.keys().await.unwrap().id, "AKIAFIRST");
        assert_eq!(count(), 1);
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert_eq!(provider.keys().await.unwrap().id, "AKIASECOND");
        assert_eq!(provider.keys().await.unwrap().id, "AKIASECOND");
        assert_eq!(count(), 2, "an hour's credentials are kept");
    }
}
