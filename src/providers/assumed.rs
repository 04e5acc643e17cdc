//! What every cloud's role profiles share: the key calls are signed with (the profile's own, or
//! a role's temporary one, in memory only), assumed on first use and again before it expires.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::future::BoxFuture;
use tokio::sync::Mutex;

use crate::config::{Profile, Role};
use crate::error::{Error, Result};
use crate::model::Secret;
use crate::provider::{resolve, ProviderOptions, ResolvedProfile};
use crate::time::parse_rfc3339;

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
    /// The profile's own key (and token, for temporary credentials given as they are).
    pub fn own(profile: &Profile) -> Self {
        SigningKeys {
            id: profile.access_key_id.clone(),
            secret: profile.secret_access_key.clone(),
            token: profile.session_token.clone(),
            renew_at: None,
        }
    }

    /// Temporary credentials that expire at `expiration` (RFC 3339, as both STS answer it).
    pub fn temporary(id: String, secret: Secret, token: Secret, expiration: &str) -> Result<Self> {
        let expires = parse_rfc3339(expiration).ok_or_else(|| {
            Error::bad_response("AssumeRole: unreadable answer: Expiration is not a time")
        })?;
        let left = (expires - Utc::now()).to_std().unwrap_or_default();
        Ok(SigningKeys {
            id,
            secret,
            token: Some(token),
            renew_at: Some(Instant::now() + left - RENEW_MARGIN.min(left / 2)),
        })
    }
}

/// A provider whose calls may be signed with a role assumed through another provider of its
/// cloud (the role profile's source, itself possibly a role).
pub trait Assumes: Send + Sync + Sized {
    fn keys_of(&self) -> &Keys<Self>;
    /// The cloud's AssumeRole, signed with `with` (the source's credentials).
    fn assume<'a>(
        &'a self,
        role: &'a Role,
        with: &'a SigningKeys,
    ) -> BoxFuture<'a, Result<SigningKeys>>;
}

/// The profile's own key, or a role assumed with its source's credentials.
pub enum Keys<P> {
    Own(Arc<SigningKeys>),
    Assumed {
        role: Role,
        source: Box<P>,
        /// The latest temporary credentials, in memory only; or why they could not be had
        /// (the HTTP client retried what could be retried: the run does not ask again).
        current: Mutex<Option<Result<Arc<SigningKeys>>>>,
    },
}

impl<P: Assumes> Keys<P> {
    /// The keys of `profile`: a role profile's source provider is built with `build`, down
    /// the chain.
    pub fn of(
        profile: &ResolvedProfile,
        options: &ProviderOptions,
        build: fn(ResolvedProfile, &ProviderOptions) -> Result<P>,
    ) -> Result<Self> {
        let own = &profile.profile;
        let Some(role) = own.role.clone() else {
            return Ok(Keys::Own(Arc::new(SigningKeys::own(own))));
        };
        let source = role.source.as_deref().ok_or_else(|| {
            Error::config(format!(
                "source_profile '{}' was not resolved",
                role.source_profile
            ))
            .with_profile(&own.name)
        })?;
        let source = build(resolve(source, options)?, options)?;
        Ok(Keys::Assumed {
            role,
            source: Box::new(source),
            current: Mutex::new(None),
        })
    }
}

/// The credentials `provider` signs with now: a role's are assumed on first use and again
/// shortly before they expire (one caller assumes while the others wait for its answer).
pub fn current<P: Assumes>(provider: &P) -> BoxFuture<'_, Result<Arc<SigningKeys>>> {
    Box::pin(async move {
        let (role, source, current) = match provider.keys_of() {
            Keys::Own(keys) => return Ok(keys.clone()),
            Keys::Assumed {
                role,
                source,
                current,
            } => (role, source, current),
        };
        let mut current = current.lock().await;
        match current.as_ref() {
            Some(Err(err)) => return Err(err.clone()),
            Some(Ok(keys)) if keys.renew_at.is_none_or(|at| Instant::now() < at) => {
                return Ok(keys.clone())
            }
            _ => {}
        }
        let assumed = match self::current(source.as_ref()).await {
            Ok(with) => provider.assume(role, &with).await.map(Arc::new),
            Err(err) => Err(err),
        };
        *current = Some(assumed.clone());
        assumed
    })
}

/// AssumeRole's parameters, named alike by AWS's and Alibaba Cloud's STS; the session name is
/// the profile's, else `cloudkeys-<unix seconds>`.
pub fn params(role: &Role) -> Vec<(&'static str, String)> {
    let session = role
        .session_name
        .clone()
        .unwrap_or_else(|| format!("cloudkeys-{}", Utc::now().timestamp()));
    let mut params = vec![
        ("RoleArn", role.role_arn.clone()),
        ("RoleSessionName", session),
    ];
    params.extend(
        role.duration_seconds
            .map(|d| ("DurationSeconds", d.to_string())),
    );
    params.extend(role.external_id.clone().map(|e| ("ExternalId", e)));
    params
}
