//! The boundary every command talks to, and the factory that builds a provider from a profile.

use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::{self, StreamExt};
use url::Url;

use crate::config::Profile;
use crate::error::{Error, Result};
use crate::http::{check_endpoint, Failure, HttpClient, Idempotency, Request, Response};
use crate::model::{
    ExpiringCredential, Identity, KeyRecord, KeyRef, KeyStatus, LastUsed, NewKey, ProviderKind,
    UserRef,
};
use crate::providers;

/// One cloud account seen through one profile's credentials.
#[async_trait]
pub trait AccessKeyProvider: Send + Sync {
    fn kind(&self) -> ProviderKind;
    /// The profile these credentials came from.
    fn profile(&self) -> &str;
    /// The account a key belongs to, when the cloud can tell from the id alone (AWS);
    /// `None` means "search for it".
    async fn key_account(&self, _access_key_id: &str) -> Result<Option<String>> {
        Ok(None)
    }
    /// The identity behind the credentials: account, user, key in use.
    async fn whoami(&self) -> Result<Identity>;
    /// Every user of the account, all pages.
    async fn list_users(&self) -> Result<Vec<UserRef>>;
    /// Keys of `user`, or of the caller when `None`, all pages.
    async fn list_keys(&self, user: Option<&UserRef>) -> Result<Vec<KeyRecord>>;
    /// When a key was last used (`at` is `None` when never used).
    async fn last_used(&self, key: &KeyRef) -> Result<LastUsed>;
    /// Fills last use into many records; providers with a batch API override this.
    async fn fill_last_used(&self, records: &mut [KeyRecord], concurrency: usize) -> Result<()> {
        fill_last_used_each(self, records.iter_mut().collect(), concurrency).await
    }
    /// Says that every user's keys are about to be read (`--all-users`), so that a provider
    /// with an account-wide source (a credential report) can fetch it once and then skip
    /// calls in [`list_keys`](Self::list_keys) and [`fill_last_used`](Self::fill_last_used).
    /// Never fails: without the source, the scan takes the per-user, per-key path.
    async fn begin_account_scan(&self) {}
    /// Credentials besides users' access keys that expire by themselves and should be audited
    /// (Huawei: the CCE long-term AK/SK of the profile's `project_id`). Most clouds have none.
    /// A hook rather than a downcast, so that `audit` stays free of provider-specific code.
    async fn expiring_credentials(&self) -> Result<Vec<ExpiringCredential>> {
        Ok(Vec::new())
    }
    /// Creates a key. Never retried once the request may have reached the cloud.
    async fn create_key(&self, user: Option<&UserRef>) -> Result<NewKey>;
    async fn set_status(&self, key: &KeyRef, status: KeyStatus) -> Result<()>;
    async fn delete_key(&self, key: &KeyRef) -> Result<()>;
}

/// Asks each key of `records` for its last use, `concurrency` at a time.
pub async fn fill_last_used_each<P: AccessKeyProvider + ?Sized>(
    provider: &P,
    records: Vec<&mut KeyRecord>,
    concurrency: usize,
) -> Result<()> {
    let refs: Vec<KeyRef> = records.iter().map(|r| r.key_ref()).collect();
    let results: Vec<Result<LastUsed>> = stream::iter(refs)
        .map(|key| async move { provider.last_used(&key).await })
        .buffered(concurrency.max(1))
        .collect()
        .await;
    for (record, result) in records.into_iter().zip(results) {
        record.apply_last_used(result?);
    }
    Ok(())
}

/// What every provider is built with besides its profile.
#[derive(Clone)]
pub struct ProviderOptions {
    pub http: Arc<HttpClient>,
    /// `--endpoint`: one base URL for all of the provider's services.
    pub endpoint: Option<String>,
    /// `--region`, overriding the profile's.
    pub region: Option<String>,
    pub allow_insecure_http: bool,
    /// `--page-size`: items a page for list calls that take one (default: the cloud's most).
    pub page_size: Option<u32>,
}

/// A profile's effective settings after the command-line overrides.
pub struct ResolvedProfile {
    pub profile: Profile,
    pub endpoint: Option<Url>,
    pub region: Option<String>,
    pub page_size: Option<u32>,
}

impl ResolvedProfile {
    /// Sends one call of this profile through the shared client: the profile's credential
    /// spends its own rate budget for `action` (the clouds limit each API on its own), and
    /// errors name the provider and the profile.
    pub async fn execute<T>(
        &self,
        http: &HttpClient,
        action: &str,
        idempotency: Idempotency,
        build: impl FnMut(chrono::DateTime<chrono::Utc>) -> Result<Request>,
        classify: impl Fn(Response) -> std::result::Result<T, Failure>,
    ) -> Result<T> {
        let profile = &self.profile;
        http.execute(
            (profile.provider, profile.access_key_id.as_str(), action),
            idempotency,
            build,
            classify,
        )
        .await
        .map_err(|err| {
            err.with_provider(profile.provider)
                .with_profile(&profile.name)
        })
    }
}

/// A profile with the command-line overrides applied (endpoint checked, region chosen).
pub fn resolve(profile: &Profile, options: &ProviderOptions) -> Result<ResolvedProfile> {
    let endpoint = options
        .endpoint
        .as_deref()
        .or(profile.endpoint.as_deref())
        .map(|raw| {
            let url = Url::parse(raw)
                .map_err(|err| Error::usage(format!("endpoint '{raw}' is not a URL: {err}")))?;
            check_endpoint(&url, options.allow_insecure_http)?;
            Ok::<Url, Error>(url)
        })
        .transpose()?;
    let region = options
        .region
        .as_deref()
        .or(profile.region.as_deref())
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if let Some(region) = region {
        // Some clouds put the region into a host name: `sts.<region>.amazonaws.com`.
        if !is_region_name(region) {
            return Err(Error::usage(format!(
                "region '{region}' is not a region name: expected letters, digits and dashes (e.g. us-east-1, cn-north-4)"
            )));
        }
    }
    Ok(ResolvedProfile {
        profile: profile.clone(),
        endpoint,
        region: region.map(str::to_string),
        page_size: options.page_size,
    })
}

/// Every cloud's region ids are short runs of letters, digits and dashes.
fn is_region_name(region: &str) -> bool {
    region.len() <= 64
        && region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Builds the provider for a profile.
pub fn build(profile: &Profile, options: &ProviderOptions) -> Result<Arc<dyn AccessKeyProvider>> {
    let resolved = resolve(profile, options)?;
    let http = options.http.clone();
    Ok(match profile.provider {
        ProviderKind::Aws => Arc::new(providers::aws::AwsProvider::new(resolved, http)),
        ProviderKind::Alibaba => {
            Arc::new(providers::alibaba::AlibabaProvider::new(resolved, http)?)
        }
        ProviderKind::Tencent => Arc::new(providers::tencent::TencentProvider::new(resolved, http)),
        ProviderKind::Huawei => Arc::new(providers::huawei::HuaweiProvider::new(resolved, http)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Source;
    use crate::http::HttpSettings;
    use crate::model::{ProviderKind, Secret};

    fn profile(provider: ProviderKind, region: Option<&str>) -> Profile {
        Profile {
            name: "p".into(),
            provider,
            access_key_id: "AKIA1".into(),
            secret_access_key: Secret::new("s"),
            session_token: None,
            region: region.map(str::to_string),
            endpoint: None,
            project_id: None,
            source: Source::Environment,
            secret_env: None,
        }
    }

    #[test]
    fn regions_must_be_region_names_before_they_reach_a_host_name() {
        // Found by the toml_profiles_round_trip property: a region of "\u{10d69}a" made
        // `sts.<region>.amazonaws.com` unparsable and the AWS provider panicked; one like
        // "evil.example/x#" would have sent signed requests to another host.
        let options = ProviderOptions {
            http: Arc::new(HttpClient::new(HttpSettings::default()).unwrap()),
            endpoint: None,
            region: None,
            allow_insecure_http: false,
            page_size: None,
        };
        for kind in ProviderKind::ALL {
            for bad in [
                "\u{10d69}a",
                "bad region",
                "evil.example/x#",
                "a\nb",
                "us-east-1.",
            ] {
                let err = build(&profile(kind, Some(bad)), &options).err().expect(bad);
                assert_eq!(err.exit_code(), 2, "{kind} {bad:?}");
                assert!(!err.to_string().contains('\n'));
            }
            for good in [
                "us-east-1",
                " cn-north-4 ",
                "ap-southeast-1",
                "us-gov-west-1",
            ] {
                assert!(
                    build(&profile(kind, Some(good)), &options).is_ok(),
                    "{kind} {good}"
                );
            }
            let resolved = resolve(&profile(kind, Some(" ")), &options).unwrap();
            assert_eq!(resolved.region, None);
        }
        // --region is checked the same way, and wins over the profile's.
        let options = ProviderOptions {
            region: Some("x y".into()),
            ..options
        };
        let err = build(&profile(ProviderKind::Aws, Some("us-east-1")), &options).err();
        assert_eq!(err.map(|e| e.exit_code()), Some(2));
    }
}
