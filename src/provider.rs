//! The boundary every command talks to, and a profile's settings after the command line's
//! overrides (`providers::build` makes the provider).

use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::{self, StreamExt};
use url::Url;

use crate::config::Profile;
use crate::error::{Error, Result};
use crate::http::{check_endpoint, HttpClient};
use crate::model::{
    ExpiringCredential, Identity, KeyRecord, KeyRef, KeyStatus, LastUsed, NewKey, OrgAccount,
    ProviderKind, UserRef,
};

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
    /// The account that owns a key, as the cloud itself answers it (AWS STS
    /// GetAccessKeyInfo); `None` means "search for it".
    async fn key_owner(&self, access_key_id: &str) -> Result<Option<String>> {
        self.key_account(access_key_id).await
    }
    /// The accounts of the organization these credentials manage (AWS Organizations,
    /// Alibaba Resource Directory, Tencent Organization, Huawei Organizations), the management
    /// account flagged.
    async fn organization_accounts(&self) -> Result<Vec<OrgAccount>> {
        Err(Error::usage(format!(
            "organizations of {} are not supported yet",
            self.kind()
        )))
    }
    /// What a member account's role profile assumes: the role (Huawei: agency) `role_name`
    /// of `account`, or the organization service's default role when `None`, in the form the
    /// cloud's AssumeRole takes (an ARN; Huawei an agency URN).
    fn member_role(&self, _account: &str, _role_name: Option<&str>) -> Result<String> {
        Err(Error::usage(format!(
            "organizations of {} are not supported yet",
            self.kind()
        )))
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

/// Every cloud's region ids are short runs of letters, digits and dashes, as a host name's
/// label is (no dash at either end).
pub fn is_region_name(region: &str) -> bool {
    region.len() <= 64
        && !region.starts_with('-')
        && !region.ends_with('-')
        && region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}
