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
}

impl SigningKeys {
    /// The profile's own key.
    pub fn own(profile: &Profile) -> Self {
        SigningKeys {
            id: profile.access_key_id.clone(),
            secret: profile.secret_access_key.clone(),
            token: profile.session_token.clone(),
            renew_at: None,
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
        let renew_at = got.expires.map(|expires| {
            let left = (expires - Utc::now()).to_std().unwrap_or_default();
            Instant::now() + left - RENEW_MARGIN.min(left / 2)
        });
        SigningKeys {
            id: got.id,
            secret: got.secret,
            token: got.token,
            renew_at,
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
        Ok(Credentials::Assumed {
            role: role.clone(),
            source: Box::new(build(resolve(source, options)?, options)?),
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
        match current.as_ref() {
            Some(Err(err)) => return Err(err.clone()),
            Some(Ok(keys)) if keys.fresh() => return Ok(keys.clone()),
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
    params
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
