//! Huawei Cloud IAM v5 (plus the CCE AK/SK status check) behind [`AccessKeyProvider`].
//!
//! IAM and Organizations are global (`iam.myhuaweicloud.com`, `organizations.myhuaweicloud.com`),
//! STS5 and CCE regional (`sts.<region>.myhuaweicloud.com`, `cce.<region>.myhuaweicloud.com`;
//! `eu-west-101` is under `myhuaweicloud.eu`); a profile or `--endpoint` base URL replaces all. The caller is
//! known from STS5 GetCallerIdentity (no permission needed); other users are addressed by
//! `user_id`, so names are resolved through ListUsersV5. Requests are signed with
//! SDK-HMAC-SHA256.

pub mod api;
pub mod cce;
pub mod signer;

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Method;
use serde::de::{DeserializeOwned, IgnoredAny};
use tokio::sync::OnceCell;
use url::Url;

use crate::config::Role;
use crate::error::{Error, ErrorKind, Result};
use crate::http::{HttpClient, Idempotency};
use crate::model::{
    ExpiringCredential, Identity, IdentityType, KeyRecord, KeyRef, KeyStatus, LastUsed, NewKey,
    OrgAccount, ProviderKind, Secret, UserRef,
};
use crate::provider::{is_region_name, AccessKeyProvider, ResolvedProfile};
use crate::providers::assumed::{self, Assume, Credentials, SigningKeys};
use crate::providers::{
    is, key_status, paginate, when, Client, CloudError, Dialect, Rule, Unreadable, Unsigned,
};
use crate::signing::{percent_encode, RequestParts};
use crate::time::parse_rfc3339;

pub use cce::CceAkskStatus;

/// The global IAM endpoint.
pub const IAM_ENDPOINT: &str = "https://iam.myhuaweicloud.com/";
/// Organizations: one endpoint for every region (the SDK's only one, under cn-north-4).
pub const ORGANIZATIONS_ENDPOINT: &str = "https://organizations.myhuaweicloud.com/";
/// The agency Organizations makes in the accounts it creates: the name every public
/// landing-zone config uses; UNCONFIRMED as the service's official default.
pub const MEMBER_AGENCY: &str = "OrganizationAccountAccessAgency";
/// The SDK's default STS5 region when none is configured.
const DEFAULT_STS_REGION: &str = "cn-north-4";
/// Every request carries this `Content-Type`, GET and DELETE included, and signs it: the SDK's
/// generated clients set it on every call (`select_header_content_type(['application/json'])`).
const CONTENT_TYPE: &str = "application/json";
/// Largest page the v5 lists accept.
const PAGE_LIMIT: &str = "200";

/// Where IAM, STS5, Organizations and CCE calls go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub iam: Url,
    pub sts: Url,
    pub organizations: Url,
    /// `None` when no region is known (CCE is regional).
    pub cce: Option<Url>,
}

/// IAM and Organizations are global; STS5 is regional (the SDK's default region when none is
/// known); CCE needs a region. A base URL (`--endpoint`, profile `endpoint`) serves them all.
pub fn endpoints(region: Option<&str>, endpoint: Option<&Url>) -> Endpoints {
    if let Some(base) = endpoint {
        return Endpoints {
            iam: base.clone(),
            sts: base.clone(),
            organizations: base.clone(),
            cce: Some(base.clone()),
        };
    }
    let region = region
        .map(str::trim)
        .filter(|r| !r.is_empty() && is_region_name(r))
        .map(str::to_ascii_lowercase);
    let regional = |service: &str, region: &str| {
        Url::parse(&format!(
            "https://{service}.{region}.{}/",
            domain_of(region)
        ))
        .ok()
    };
    Endpoints {
        iam: Url::parse(IAM_ENDPOINT).expect("built-in endpoint URL is valid"),
        sts: regional("sts", region.as_deref().unwrap_or(DEFAULT_STS_REGION))
            .expect("a checked region makes a valid URL"),
        organizations: Url::parse(ORGANIZATIONS_ENDPOINT).expect("built-in endpoint URL is valid"),
        cce: region.and_then(|r| regional("cce", &r)),
    }
}

/// The domain a region's endpoints live under: Huawei Cloud Europe (`eu-west-101`) has its own.
fn domain_of(region: &str) -> &'static str {
    if region == "eu-west-101" {
        "myhuaweicloud.eu"
    } else {
        "myhuaweicloud.com"
    }
}

/// Project and user ids as they may appear in a path: letters, digits, `-` and `_`.
fn is_path_id(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A Huawei user id: 32 hexadecimal characters.
fn looks_like_user_id(value: &str) -> bool {
    value.len() == 32 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Iam,
    Sts,
    Organizations,
    Cce,
}

/// One API call before signing.
struct Call<'a> {
    /// The API's name, for messages.
    action: &'static str,
    service: Service,
    method: Method,
    /// Path below the service's base URL, already percent-encoded.
    path: String,
    query: Vec<(&'a str, &'a str)>,
    body: Option<String>,
    /// `X-Project-Id`, for project-scoped services (CCE).
    project_id: Option<&'a str>,
    idempotency: Idempotency,
}

impl<'a> Call<'a> {
    fn new(action: &'static str, service: Service, method: Method, path: String) -> Self {
        Call {
            action,
            service,
            method,
            path,
            query: Vec::new(),
            body: None,
            project_id: None,
            idempotency: Idempotency::Idempotent,
        }
    }

    /// An IAM call.
    fn iam(action: &'static str, method: Method, path: String) -> Self {
        Call::new(action, Service::Iam, method, path)
    }
}

/// A user the provider acts on: both its name (for records) and its id (for paths).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub id: String,
}

pub struct HuaweiProvider {
    client: Client,
    endpoints: Endpoints,
    keys: Credentials<HuaweiProvider>,
    identity: OnceCell<Identity>,
    /// Every user of the account, all pages; fetched at most once.
    users: OnceCell<Vec<api::User>>,
}

impl HuaweiProvider {
    pub fn new(profile: ResolvedProfile, http: Arc<HttpClient>) -> Self {
        let endpoints = endpoints(profile.region.as_deref(), profile.endpoint.as_ref());
        let keys = Credentials::Own(Arc::new(SigningKeys::own(&profile.profile)));
        HuaweiProvider {
            client: Client { profile, http },
            endpoints,
            keys,
            identity: OnceCell::new(),
            users: OnceCell::new(),
        }
    }

    /// STS5 AssumeAgency (`POST /v5/agencies/assume`) signed with `with`, the source's
    /// credentials (an IAM user's key, or an agency session's with its security token).
    async fn assume_agency(&self, role: &Role, with: &SigningKeys) -> Result<SigningKeys> {
        let session = assumed::session_name(role);
        let body = api::AssumeAgencyRequest {
            agency_urn: &role.role_arn,
            agency_session_name: &session,
            duration_seconds: role.duration_seconds,
            external_id: role.external_id.as_deref(),
        };
        let mut call = Call::new(
            "AssumeAgency",
            Service::Sts,
            Method::POST,
            "/v5/agencies/assume".into(),
        );
        call.body = Some(
            serde_json::to_string(&body)
                .map_err(|err| Error::bad_response(format!("cannot encode the request: {err}")))?,
        );
        let answer: api::AssumeAgencyResponse = self.call_with(with, call).await?;
        let credentials = answer.credentials;
        let expires = parse_rfc3339(&credentials.expiration).ok_or_else(|| {
            self.client.blame(Error::bad_response(
                "AssumeAgency: unreadable answer: expiration is not a time",
            ))
        })?;
        Ok(SigningKeys::temporary(
            credentials.access_key_id,
            credentials.secret_access_key,
            credentials.security_token,
            expires,
        ))
    }

    /// The profile's `project_id` (for the CCE check).
    pub fn project_id(&self) -> Option<&str> {
        self.client.profile.profile.project_id.as_deref()
    }

    async fn call<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T> {
        let keys = self.keys().await?;
        self.call_with(&keys, call).await
    }

    /// A call signed with `keys` (`X-Security-Token`, signed, with temporary ones), spending
    /// their own rate budget.
    async fn call_with<T: DeserializeOwned>(
        &self,
        keys: &SigningKeys,
        call: Call<'_>,
    ) -> Result<T> {
        let base = match call.service {
            Service::Iam => &self.endpoints.iam,
            Service::Sts => &self.endpoints.sts,
            Service::Organizations => &self.endpoints.organizations,
            Service::Cce => self.endpoints.cce.as_ref().ok_or_else(|| {
                Error::usage(format!(
                    "profile {}: CCE is a regional service: pass --region (e.g. cn-north-4) or set region in the profile",
                    self.name()
                ))
            })?,
        };
        let mut url = base.clone();
        url.set_path(&format!(
            "{}{}",
            base.path().trim_end_matches('/'),
            call.path
        ));
        let query: Vec<(String, String)> = call
            .query
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        let query = signer::canonical_query_for_url(&query);
        url.set_query((!query.is_empty()).then_some(query.as_str()));
        let request = Unsigned {
            method: call.method,
            url,
            headers: request_headers(call.project_id),
            body: call.body.unwrap_or_default().into_bytes(),
        };
        let sign = |parts: RequestParts<'_>, time| {
            let key = signer::SigningKey {
                access_key: &keys.id,
                secret_key: keys.secret.expose(),
                security_token: keys.token.as_ref().map(Secret::expose),
            };
            signer::sign(&key, &parts, time).0
        };
        self.client
            .send_as::<Huawei, T>(&keys.id, call.action, call.idempotency, request, sign)
            .await
    }

    /// A page of a v5 (or Organizations) list: `limit` and the marker of the page.
    fn page<'a>(
        action: &'static str,
        service: Service,
        path: String,
        marker: Option<&'a str>,
    ) -> Call<'a> {
        let mut call = Call::new(action, service, Method::GET, path);
        call.query.push(("limit", PAGE_LIMIT));
        call.query.extend(marker.map(|m| ("marker", m)));
        call
    }

    /// Every user of the account (ListUsersV5, followed to the last page).
    async fn all_users(&self) -> Result<&Vec<api::User>> {
        self.users
            .get_or_try_init(|| {
                paginate("ListUsersV5", |marker| async move {
                    let path = "/v5/users".into();
                    let call = Self::page("ListUsersV5", Service::Iam, path, marker.as_deref());
                    let page: api::ListUsersResponse = self.call(call).await?;
                    Ok((page.users, next_marker(page.page_info)))
                })
            })
            .await
    }

    async fn identity(&self) -> Result<&Identity> {
        self.identity.get_or_try_init(|| self.find_identity()).await
    }

    /// Who signs: STS5 GetCallerIdentity, which every caller may call (ListUsersV5 and the
    /// IAM v3 lookups need permissions many users and most temporary credentials lack). It
    /// does not tell the account's root user from an IAM user: ShowUserV5 does, and a caller
    /// not allowed to read its own user is no root (root may do anything).
    async fn find_identity(&self) -> Result<Identity> {
        // An agency profile's identity is the agency session's, with its temporary key id.
        let keys = self.keys().await?;
        let answer: api::CallerIdentityResponse = self
            .call_with(
                &keys,
                Call::new(
                    "GetCallerIdentity",
                    Service::Sts,
                    Method::GET,
                    "/v5/caller-identity".into(),
                ),
            )
            .await?;
        let mut identity = identity_from_caller(answer, self.name(), &keys.id);
        let Some(user_id) = identity.user_id.clone() else {
            return Ok(identity);
        };
        if identity.identity_type != IdentityType::User || !is_path_id(&user_id) {
            return Ok(identity);
        }
        let path = format!("/v5/users/{}", percent_encode(&user_id));
        let shown = self.call::<api::ShowUserResponse>(Call::iam("ShowUserV5", Method::GET, path));
        match shown.await {
            Ok(shown) if shown.user.is_root_user => identity.identity_type = IdentityType::Root,
            Ok(_) => {}
            Err(err) if err.kind == ErrorKind::Permission => {
                tracing::debug!("ShowUserV5 of the caller denied: not the root user");
            }
            Err(err) => return Err(err),
        }
        Ok(identity)
    }

    /// The user a key action is about: the named one (by name, else by id) or the caller.
    async fn target(&self, user: Option<&UserRef>) -> Result<Target> {
        let Some(user) = user else {
            let identity = self.identity().await?;
            let id = identity.user_id.clone().ok_or_else(|| {
                Error::usage(format!(
                    "profile {} signs with temporary credentials, which belong to no IAM user: name one with --user",
                    self.name()
                ))
            })?;
            return Ok(Target {
                name: identity.user.clone().unwrap_or_else(|| id.clone()),
                id,
            });
        };
        if let Some(id) = &user.id {
            return Ok(Target {
                name: user.name.clone(),
                id: id.clone(),
            });
        }
        // `<root>` is a label, never a name to send: the account's root user is an IAM v5 user
        // (`is_root_user`) whose keys live under its own user id.
        if user.is_root() {
            let identity = self.identity().await?;
            if identity.identity_type == IdentityType::Root {
                if let Some(id) = identity.user_id.clone() {
                    let name = identity.user.clone().unwrap_or_else(|| id.clone());
                    return Ok(Target { name, id });
                }
            }
            return self
                .all_users()
                .await?
                .iter()
                .find(|u| u.is_root_user)
                .map(|u| Target {
                    name: u.user_name.clone(),
                    id: u.user_id.clone(),
                })
                .ok_or_else(|| {
                    self.client.blame(Error::new(
                        ErrorKind::NotFound,
                        "the account lists no root user",
                    ))
                });
        }
        match self.all_users().await {
            Ok(users) => users
                .iter()
                .find(|u| u.user_name == user.name)
                .or_else(|| users.iter().find(|u| u.user_id == user.name))
                .map(|u| Target {
                    name: u.user_name.clone(),
                    id: u.user_id.clone(),
                })
                .ok_or_else(|| {
                    let message = format!("no IAM user is named or has the id '{}'", user.name);
                    self.client.blame(Error::new(ErrorKind::NotFound, message))
                }),
            // Without the right to list users, a user id still works as it is.
            Err(err) if err.kind == ErrorKind::Permission && looks_like_user_id(&user.name) => {
                Ok(Target {
                    name: user.name.clone(),
                    id: user.name.clone(),
                })
            }
            Err(err) => Err(err),
        }
    }

    fn keys_path(user_id: &str) -> String {
        format!("/v5/users/{}/access-keys", percent_encode(user_id))
    }

    fn key_path(user_id: &str, access_key_id: &str) -> String {
        format!(
            "{}/{}",
            Self::keys_path(user_id),
            percent_encode(access_key_id)
        )
    }

    /// CCE CheckAKSK: the long-term AK/SK status of a project (an API Huawei marks "to be
    /// discarded").
    pub async fn cce_aksk_status(&self, project_id: &str) -> Result<CceAkskStatus> {
        if !is_path_id(project_id) {
            return Err(Error::usage(
                "invalid project id: expected letters, digits, '-' or '_' (a Huawei project id is 32 hex characters)",
            ));
        }
        let mut call = Call::new(
            "CheckAKSK",
            Service::Cce,
            Method::GET,
            format!("/api/v2/projects/{project_id}/longaksk"),
        );
        call.project_id = Some(project_id);
        let answer: api::CheckAkskResponse = self.call(call).await?;
        CceAkskStatus::from_wire(self.name(), project_id, answer)
            .map_err(|err| self.client.blame(err))
    }
}

pub fn record_from(
    profile: &str,
    target: &Target,
    account_id: Option<&str>,
    access_key_id: String,
    status: &str,
    created_at: Option<&str>,
) -> Result<KeyRecord> {
    let mut record = KeyRecord::new(
        ProviderKind::Huawei,
        profile,
        access_key_id,
        key_status(status)?,
    );
    record.account_id = account_id.map(str::to_string);
    record.user = Some(target.name.clone());
    record.user_id = Some(target.id.clone());
    record.created_at = created_at.and_then(parse_rfc3339);
    Ok(record)
}

/// A created key: its record and the secret.
pub fn created_from(
    answer: api::CreateAccessKeyResponse,
    profile: &str,
    target: &Target,
    account_id: Option<&str>,
) -> Result<NewKey> {
    let key = answer.access_key;
    let created = key.created_at.as_deref();
    let record = record_from(
        profile,
        target,
        account_id,
        key.access_key_id,
        &key.status,
        created,
    )?;
    Ok(NewKey {
        record,
        secret: key.secret_access_key,
    })
}

/// ShowAccessKeyLastUsedV5: no `last_used_at` (or a null or empty one) is how Huawei says
/// "never used"; anything else must be a time.
pub fn last_used_from(answer: api::LastUsedResponse) -> Result<LastUsed> {
    let at = answer
        .access_key_last_used
        .and_then(|used| used.last_used_at)
        .filter(|t| !t.trim().is_empty());
    let at = match at {
        None => None,
        Some(text) => Some(parse_rfc3339(&text).ok_or_else(|| {
            Error::bad_response(format!(
                "ShowAccessKeyLastUsedV5: last_used_at '{text}' is not a time"
            ))
        })?),
    };
    Ok(LastUsed {
        at,
        ..LastUsed::default()
    })
}

/// The URN STS5 AssumeAgency takes for agency `name` (default: [`MEMBER_AGENCY`]) of
/// `account`: `iam::<account id>:agency:<name>`.
fn member_agency(account: &str, name: Option<&str>) -> String {
    format!("iam::{account}:agency:{}", name.unwrap_or(MEMBER_AGENCY))
}

/// The next page's marker, or `None` at the end. A repeated marker is returned: `paginate`
/// turns it into an error rather than a silently short listing.
fn next_marker(page_info: Option<api::PageInfo>) -> Option<String> {
    page_info
        .and_then(|p| p.next_marker)
        .filter(|m| !m.is_empty())
}

/// The headers every request carries besides those the signer adds: `Content-Type` (always,
/// as the SDK sends it) and `X-Project-Id` for project-scoped services (CCE).
fn request_headers(project_id: Option<&str>) -> Vec<(String, String)> {
    let mut headers = vec![("Content-Type".to_string(), CONTENT_TYPE.to_string())];
    if let Some(project_id) = project_id {
        headers.push(("X-Project-Id".into(), project_id.to_string()));
    }
    headers
}

/// STS5's answer as an identity: a `…:user:<name>` URN is an IAM user whose id is
/// `principal_id`; anything else (an agency session) belongs to no IAM user.
pub fn identity_from_caller(
    answer: api::CallerIdentityResponse,
    profile: &str,
    access_key_id: &str,
) -> Identity {
    let urn = answer.principal_urn.filter(|u| !u.is_empty());
    let user = urn.as_deref().and_then(|urn| {
        let mut parts = urn.splitn(5, ':');
        let (service, _region, _account, kind, name) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        (service == "iam" && kind == "user" && !name.is_empty()).then(|| name.to_string())
    });
    let account_id = answer
        .account_id
        .filter(|a| !a.is_empty())
        .or_else(|| urn.as_deref().and_then(account_from_urn));
    let principal_id = answer.principal_id.filter(|p| !p.is_empty());
    let (identity_type, user_id) = match &user {
        Some(_) => (IdentityType::User, principal_id),
        None => (IdentityType::Role, None),
    };
    Identity {
        provider: ProviderKind::Huawei,
        profile: profile.to_string(),
        account_id,
        user,
        user_id,
        arn: urn,
        identity_type,
        access_key_id: access_key_id.to_string(),
    }
}

/// `iam::<account id>:user:<name>` → the account id.
fn account_from_urn(urn: &str) -> Option<String> {
    let mut parts = urn.splitn(4, ':');
    let (service, _region, account) = (parts.next()?, parts.next()?, parts.next()?);
    (service == "iam" && !account.is_empty()).then(|| account.to_string())
}

/// IAM v5, STS5 and CCE: JSON answers, several error envelopes (see [`api::ErrorBody`]).
pub struct Huawei;

impl Dialect for Huawei {
    const REQUEST_ID_HEADER: Option<&'static str> = Some("x-request-id");
    const CODES: &'static [Rule] = &[
        // API Gateway rate limiting.
        is("APIGW.0308", ErrorKind::Throttled),
        // API Gateway authentication: wrong signature, unknown or disabled AK, or a date more
        // than 15 minutes off, which the gateway words "calc aksk signature fail:signature
        // expired, signature time:…,server time:…" (either direction).
        when(
            "APIGW.0301",
            |m| m.to_ascii_lowercase().contains("signature expired"),
            ErrorKind::ClockSkew,
        ),
        is("APIGW.0301 APIGW.0303", ErrorKind::Auth),
        // IAM v5 and v3 "access denied"; Organizations' "only the management account (or a
        // delegated administrator) may call this", which Huawei answers with 401.
        is(
            "PAP5.0001 IAM.0002 Organizations.1001 Organizations.1002",
            ErrorKind::Permission,
        ),
    ];

    fn parse<T: DeserializeOwned>(body: &[u8]) -> std::result::Result<T, Unreadable> {
        api::parse(body).map_err(|err| Unreadable::from(err.to_string()))
    }

    fn parse_error(body: &[u8]) -> Option<CloudError> {
        serde_json::from_slice::<api::ErrorBody>(body)
            .ok()
            .and_then(api::ErrorBody::normalize)
    }

    /// The other codes are many and per service: the HTTP status tells their kind.
    fn fallback(message: &str, status: u16) -> ErrorKind {
        let message = message.to_ascii_lowercase();
        match status {
            429 => ErrorKind::Throttled,
            401 => ErrorKind::Auth,
            403 => ErrorKind::Permission,
            404 => ErrorKind::NotFound,
            _ if message.contains("limit exceeded")
                || (status == 409 && message.contains("limit")) =>
            {
                ErrorKind::Limit
            }
            s if s >= 500 => ErrorKind::Server,
            _ => ErrorKind::Refused,
        }
    }

    fn note(action: &str, error: &CloudError) {
        if let Some(encoded) = &error.detail {
            // Not a secret: it explains the denial once decoded with STS5
            // DecodeAuthorizationMessage. Shown with -v.
            tracing::info!(
                "{action} denied; encoded authorization message (decode with STS5 DecodeAuthorizationMessage): {encoded}"
            );
        }
    }
}

provider_glue!(HuaweiProvider, assume_agency);

#[async_trait]
impl AccessKeyProvider for HuaweiProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Huawei
    }

    /// The CCE long-term AK/SK of the profile's project, when it names one and one is uploaded.
    async fn expiring_credentials(&self) -> Result<Vec<ExpiringCredential>> {
        let Some(project_id) = self.project_id() else {
            return Ok(Vec::new());
        };
        let status = self.cce_aksk_status(project_id).await?;
        Ok(status
            .expiring_credential(chrono::Utc::now())
            .into_iter()
            .collect())
    }

    fn profile(&self) -> &str {
        self.name()
    }

    /// Organizations ListAccounts, every page. The listing flags no account as the
    /// management one: the caller's own account (whoami) is, as only it may list them.
    async fn organization_accounts(&self) -> Result<Vec<OrgAccount>> {
        let accounts = paginate("ListAccounts", |marker| async move {
            let path = "/v1/organizations/accounts".into();
            let call = Self::page(
                "ListAccounts",
                Service::Organizations,
                path,
                marker.as_deref(),
            );
            let page: api::ListAccountsResponse = self.call(call).await?;
            Ok((page.accounts, next_marker(page.page_info)))
        })
        .await?;
        let management = self.identity().await?.account_id.clone();
        Ok(accounts
            .into_iter()
            .map(|account| OrgAccount {
                // Only `active` accounts can be entered (not `suspended`, `pending_closure`).
                active: account.status == "active",
                id: account.id,
                name: account.name,
                management: management.clone(),
            })
            .collect())
    }

    fn member_role(&self, account: &str, role_name: Option<&str>) -> Result<String> {
        Ok(member_agency(account, role_name))
    }

    async fn whoami(&self) -> Result<Identity> {
        self.identity().await.cloned()
    }

    async fn list_users(&self) -> Result<Vec<UserRef>> {
        let users = self.all_users().await?;
        // Huawei lists the account's root user among its users. When the caller is that root
        // user, `list --all-users` adds the caller's own keys itself: leave it out here.
        let identity = self.identity().await?;
        let skip_root = identity.identity_type == IdentityType::Root;
        Ok(users
            .iter()
            .filter(|u| !(skip_root && u.is_root_user))
            .map(|u| UserRef {
                name: u.user_name.clone(),
                id: Some(u.user_id.clone()),
            })
            .collect())
    }

    async fn list_keys(&self, user: Option<&UserRef>) -> Result<Vec<KeyRecord>> {
        let target = &self.target(user).await?;
        let account_id = self.identity().await?.account_id.as_deref();
        let name = self.name();
        paginate("ListAccessKeysV5", |marker| async move {
            let call = Self::page(
                "ListAccessKeysV5",
                Service::Iam,
                Self::keys_path(&target.id),
                marker.as_deref(),
            );
            let page: api::ListAccessKeysResponse = self.call(call).await?;
            let records = page.access_keys.into_iter().map(|key| {
                record_from(
                    name,
                    target,
                    account_id,
                    key.access_key_id,
                    &key.status,
                    key.created_at.as_deref(),
                )
            });
            Ok((records.collect::<Result<_>>()?, next_marker(page.page_info)))
        })
        .await
    }

    async fn last_used(&self, key: &KeyRef) -> Result<LastUsed> {
        let target = self.target(key.user.as_ref()).await?;
        let path = Self::key_path(&target.id, &key.access_key_id) + "/last-used";
        let call = Call::iam("ShowAccessKeyLastUsedV5", Method::GET, path);
        last_used_from(self.call(call).await?).map_err(|err| self.client.blame(err))
    }

    async fn create_key(&self, user: Option<&UserRef>) -> Result<NewKey> {
        let target = self.target(user).await?;
        let account_id = self.identity().await?.account_id.clone();
        let path = Self::keys_path(&target.id);
        let mut call = Call::iam("CreateAccessKeyV5", Method::POST, path);
        call.body = Some("{}".into());
        call.idempotency = Idempotency::NotIdempotent;
        let answer = self.call(call).await?;
        created_from(answer, self.name(), &target, account_id.as_deref())
    }

    async fn set_status(&self, key: &KeyRef, status: KeyStatus) -> Result<()> {
        let target = self.target(key.user.as_ref()).await?;
        let body = serde_json::to_string(&api::UpdateAccessKeyRequest {
            status: status.as_str(),
        })
        .map_err(|err| Error::bad_response(format!("cannot encode the request: {err}")))?;
        let path = Self::key_path(&target.id, &key.access_key_id);
        let mut call = Call::iam("UpdateAccessKeyV5", Method::PUT, path);
        call.body = Some(body);
        let _: api::UpdateAccessKeyResponse = self.call(call).await?;
        Ok(())
    }

    async fn delete_key(&self, key: &KeyRef) -> Result<()> {
        let target = self.target(key.user.as_ref()).await?;
        let path = Self::key_path(&target.id, &key.access_key_id);
        let _: IgnoredAny = self
            .call(Call::iam("DeleteAccessKeyV5", Method::DELETE, path))
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Failure, Response, Retry};
    use crate::providers::key_status as parse_status;

    fn error_class(code: &str, message: &str, status: u16) -> (ErrorKind, Retry) {
        crate::providers::error_class::<Huawei>(code, message, status)
    }

    fn classify<T: DeserializeOwned>(
        action: &str,
        response: Response,
    ) -> std::result::Result<T, Failure> {
        crate::providers::decode::<Huawei, T>(action, response)
    }
    use chrono::Utc;

    /// The answer the AssumeAgency page shows; `Debug` hides the secret and the token.
    #[test]
    fn assume_agency_answers_are_read_and_never_shown() {
        let body = r#"{"source_identity":"x","assumed_agency":{"urn":"sts::123:assumed-agency:a/s","id":"1:s"},
            "credentials":{"access_key_id":"HSTANOXZU2UXBS55JLJ3","secret_access_key":"EoWCQrrSCcw4Whkt2aXKWAr",
            "security_token":"hQpjbi1XXXXXXbhBbA0TQ==","expiration":"2022-09-07T03:27:51.158Z"}}"#;
        let answer: api::AssumeAgencyResponse = serde_json::from_str(body).unwrap();
        let credentials = &answer.credentials;
        assert_eq!(credentials.access_key_id, "HSTANOXZU2UXBS55JLJ3");
        assert!(parse_rfc3339(&credentials.expiration).is_some());
        let shown = format!("{answer:?}");
        assert!(
            !shown.contains("EoWCQrr") && !shown.contains("hQpjbi1"),
            "{shown}"
        );
        // The request: top-level fields, unset ones left out.
        let request = api::AssumeAgencyRequest {
            agency_urn: "iam::123:agency:a",
            agency_session_name: "s1",
            duration_seconds: None,
            external_id: Some("e"),
        };
        assert_eq!(
            serde_json::to_string(&request).unwrap(),
            r#"{"agency_urn":"iam::123:agency:a","agency_session_name":"s1","external_id":"e"}"#
        );
    }

    /// An agency session is no IAM user: its identity is a role of the agency's account.
    #[test]
    fn an_agency_sessions_identity_is_a_role() {
        let answer: api::CallerIdentityResponse = serde_json::from_str(
            r#"{"account_id":"123","principal_urn":"sts::123:assumed-agency:KeyAuditor/run","principal_id":"abc:run"}"#,
        )
        .unwrap();
        let identity = identity_from_caller(answer, "member", "HSTA");
        assert_eq!(identity.identity_type, IdentityType::Role);
        assert_eq!((identity.user, identity.user_id), (None, None));
        assert_eq!(identity.account_id.as_deref(), Some("123"));
    }

    #[test]
    fn iam_is_global_cce_regional_and_a_base_url_serves_both() {
        let e = endpoints(Some("cn-north-4"), None);
        assert_eq!(e.iam.as_str(), "https://iam.myhuaweicloud.com/");
        assert_eq!(
            e.cce.as_ref().map(Url::as_str),
            Some("https://cce.cn-north-4.myhuaweicloud.com/")
        );
        assert_eq!(e.sts.as_str(), "https://sts.cn-north-4.myhuaweicloud.com/");
        let e = endpoints(None, None);
        assert_eq!(e.cce, None);
        // STS5 falls back to the SDK's default region.
        assert_eq!(e.sts.as_str(), "https://sts.cn-north-4.myhuaweicloud.com/");
        assert_eq!(endpoints(Some("cn north/4"), None).cce, None);
        // Huawei Cloud Europe lives under its own domain.
        let e = endpoints(Some("eu-west-101"), None);
        assert_eq!(
            e.cce.as_ref().map(Url::as_str),
            Some("https://cce.eu-west-101.myhuaweicloud.eu/")
        );
        assert_eq!(e.sts.as_str(), "https://sts.eu-west-101.myhuaweicloud.eu/");
        assert_eq!(
            endpoints(Some("ap-southeast-1"), None)
                .cce
                .as_ref()
                .map(Url::as_str),
            Some("https://cce.ap-southeast-1.myhuaweicloud.com/")
        );
        // Organizations is global, whatever the region.
        assert_eq!(
            e.organizations.as_str(),
            "https://organizations.myhuaweicloud.com/"
        );
        let base = Url::parse("http://127.0.0.1:8790").unwrap();
        let e = endpoints(Some("cn-north-4"), Some(&base));
        assert_eq!((e.iam.clone(), e.cce), (base.clone(), Some(base.clone())));
        assert_eq!((e.sts, e.organizations), (base.clone(), base));
    }

    /// The API page's example answer; the member agency's URN as AssumeAgency takes it.
    #[test]
    fn organization_accounts_and_member_agencies() {
        let page: api::ListAccountsResponse = api::parse(
            br#"{"accounts":[{"id":"05261f923e80d3890f33c0056e9b3f80",
            "urn":"organizations::0a6d25d23900d45c0faac010e0fb4de0:account:o-fhkmi6mek7wlqdp6nideqhb47qwtjdsv/05261f923e80d3890f33c0056e9b3f80",
            "join_method":"invited","joined_at":"2022-08-24T06:41:15Z","name":"paas_iam_573331",
            "status":"active","mobile_phone":"null,","intl_number_prefix":"null,","email":null}],
            "page_info":{"next_marker":"ou-taowxgy4xbme6m4x3c2iijbxw7yj8fcw","current_count":100}}"#,
        )
        .unwrap();
        assert_eq!(page.accounts[0].id, "05261f923e80d3890f33c0056e9b3f80");
        assert_eq!(page.accounts[0].status, "active");
        assert_eq!(
            next_marker(page.page_info).as_deref(),
            Some("ou-taowxgy4xbme6m4x3c2iijbxw7yj8fcw")
        );
        let last: api::ListAccountsResponse =
            api::parse(br#"{"accounts":[],"page_info":{"next_marker":null,"current_count":0}}"#)
                .unwrap();
        assert_eq!(next_marker(last.page_info), None);

        assert_eq!(
            member_agency("123", None),
            "iam::123:agency:OrganizationAccountAccessAgency"
        );
        assert_eq!(
            member_agency("123", Some("Auditor")),
            "iam::123:agency:Auditor"
        );
        // Organizations' refusals of a caller that is not the management account are 401s.
        for code in ["Organizations.1001", "Organizations.1002"] {
            assert_eq!(error_class(code, "", 401).0, ErrorKind::Permission);
        }
    }

    /// As the SDK: `Content-Type: application/json` (no charset) on every request, GET and
    /// DELETE included, and signed.
    #[test]
    fn every_request_sends_and_signs_a_json_content_type() {
        for (method, body, project) in [
            ("GET", "", None),
            ("DELETE", "", None),
            ("PUT", r#"{"status":"inactive"}"#, None),
            ("GET", "", Some("p1")),
        ] {
            let headers = request_headers(project);
            assert_eq!(
                crate::signing::header_value(&headers, "content-type"),
                Some("application/json"),
                "{method}"
            );
            assert_eq!(
                crate::signing::header_value(&headers, "x-project-id"),
                project
            );
            let key = signer::SigningKey {
                access_key: "AK",
                secret_key: "SK",
                security_token: None,
            };
            let parts = RequestParts {
                method,
                host: "iam.myhuaweicloud.com",
                path: "/v5/users",
                query: "",
                headers: &headers,
                body: body.as_bytes(),
            };
            let (added, signature) = signer::sign(&key, &parts, Utc::now());
            assert!(
                signature
                    .canonical_request
                    .contains("\ncontent-type:application/json\n"),
                "{method}"
            );
            let authorization = crate::signing::header_value(&added, "authorization").unwrap();
            assert!(
                authorization.contains("SignedHeaders=content-type;host;"),
                "{authorization}"
            );
            // JSON bodies are hashed, never sent as UNSIGNED-PAYLOAD.
            assert_eq!(
                crate::signing::header_value(&added, "x-sdk-content-sha256"),
                None
            );
        }
    }

    #[test]
    fn caller_identity_names_user_account_and_id() {
        let answer = |urn: &str, id: &str| api::CallerIdentityResponse {
            account_id: Some("27680d67da6b47eb82d00a1a118be145".into()),
            principal_urn: Some(urn.into()),
            principal_id: Some(id.into()),
        };
        let me = identity_from_caller(
            answer(
                "iam::27680d67da6b47eb82d00a1a118be145:user:user-name",
                "0123456789abcdef0123456789abcdef",
            ),
            "p",
            "AK",
        );
        assert_eq!(me.identity_type, IdentityType::User);
        assert_eq!(me.user.as_deref(), Some("user-name"));
        assert_eq!(
            me.user_id.as_deref(),
            Some("0123456789abcdef0123456789abcdef")
        );
        assert_eq!(
            me.account_id.as_deref(),
            Some("27680d67da6b47eb82d00a1a118be145")
        );
        assert_eq!(
            me.arn.as_deref(),
            Some("iam::27680d67da6b47eb82d00a1a118be145:user:user-name")
        );
        // An agency session belongs to no IAM user.
        let session = identity_from_caller(
            answer(
                "iam::27680d67da6b47eb82d00a1a118be145:assumed-agency:ops/session",
                "agency-id:session",
            ),
            "p",
            "AK",
        );
        assert_eq!(session.identity_type, IdentityType::Role);
        assert_eq!((session.user, session.user_id), (None, None));
        assert_eq!(
            session.account_id.as_deref(),
            Some("27680d67da6b47eb82d00a1a118be145")
        );
    }

    #[test]
    fn error_codes_map_to_kinds() {
        let class = |code, message, status| error_class(code, message, status);
        assert_eq!(
            class(
                "APIGW.0301",
                "Incorrect IAM authentication information: verify aksk signature fail",
                401
            ),
            (ErrorKind::Auth, Retry::Never)
        );
        assert_eq!(
            class(
                "APIGW.0301",
                "Incorrect IAM authentication information: calc aksk signature fail:signature expired, signature time:20211217T064303Z,server time:20211217T065804Z",
                401
            ),
            (ErrorKind::ClockSkew, Retry::ClockSkew)
        );
        // Other authentication failures are not a clock problem.
        assert_eq!(
            class(
                "APIGW.0301",
                "Incorrect IAM authentication information: Get secretKey failed,ak:AK,err:ak not exist",
                401
            ),
            (ErrorKind::Auth, Retry::Never)
        );
        assert_eq!(
            class(
                "APIGW.0308",
                "The throttling threshold has been reached",
                429
            ),
            (ErrorKind::Throttled, Retry::Throttled)
        );
        assert_eq!(
            class("PAP5.0001", "access denied", 403).0,
            ErrorKind::Permission
        );
        assert_eq!(
            class("PAP5.9999", "user not found", 404).0,
            ErrorKind::NotFound
        );
        assert_eq!(
            class("PAP5.9999", "access keys per user limit exceeded", 409).0,
            ErrorKind::Limit
        );
        assert_eq!(class("X", "", 429).1, Retry::Throttled);
        assert_eq!(class("X", "", 503), (ErrorKind::Server, Retry::Server));
        assert_eq!(
            class("X", "conflict", 409),
            (ErrorKind::Refused, Retry::Never)
        );
        assert_eq!(class("CCE.01400001", "bad", 400).0.exit_code(), 3);
    }

    fn response(status: u16, body: &str) -> Response {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-request-id", "hdr-id".parse().unwrap());
        Response {
            status,
            headers,
            body: bytes::Bytes::from(body.to_string()),
        }
    }

    #[test]
    fn classify_keeps_code_message_request_id_and_detail() {
        let failure = classify::<serde::de::IgnoredAny>(
            "ListUsersV5",
            response(
                403,
                r#"{"error_msg":"access denied: iam:users:listUsersV5","error_code":"PAP5.0001","request_id":"body-id","encoded_authorization_message":"opaque"}"#,
            ),
        )
        .unwrap_err();
        assert_eq!(failure.retry, Retry::Never);
        let err = failure.error;
        assert_eq!(err.kind, ErrorKind::Permission);
        assert_eq!(err.code.as_deref(), Some("PAP5.0001"));
        assert_eq!(err.request_id.as_deref(), Some("body-id"));
        assert_eq!(err.detail.as_deref(), Some("opaque"));
        assert!(!err.to_string().contains("opaque"));
        let failure = classify::<serde::de::IgnoredAny>(
            "CheckAKSK",
            response(
                404,
                r#"{"errorCode":"CCE.01404001","errorMessage":"no such project"}"#,
            ),
        )
        .unwrap_err();
        assert_eq!(failure.error.kind, ErrorKind::NotFound);
        assert_eq!(failure.error.request_id.as_deref(), Some("hdr-id"));
        let failure =
            classify::<serde::de::IgnoredAny>("X", response(502, "<html>bad gateway</html>"))
                .unwrap_err();
        assert_eq!(
            (failure.error.kind, failure.retry),
            (ErrorKind::Server, Retry::Server)
        );
        let failure =
            classify::<serde::de::IgnoredAny>("X", response(400, "not json")).unwrap_err();
        assert_eq!(failure.error.kind, ErrorKind::BadResponse);
        let ok: serde::de::IgnoredAny = classify("DeleteAccessKeyV5", response(204, "")).unwrap();
        let _ = ok;
    }

    #[test]
    fn urns_statuses_and_markers() {
        assert_eq!(
            account_from_urn("iam::0a1b2c3d:user:alice").as_deref(),
            Some("0a1b2c3d")
        );
        assert_eq!(account_from_urn("ecs:cn-north-4:123:instance:x"), None);
        assert_eq!(account_from_urn("iam::"), None);
        assert_eq!(parse_status("active").unwrap(), KeyStatus::Active);
        assert_eq!(parse_status("Inactive").unwrap(), KeyStatus::Inactive);
        assert!(parse_status("gone").is_err());
        let info = |m: Option<&str>| {
            Some(api::PageInfo {
                next_marker: m.map(str::to_string),
                current_count: None,
            })
        };
        assert_eq!(next_marker(info(Some("abcd"))).as_deref(), Some("abcd"));
        // A repeat is handed on: the loop's PageGuard makes it an error, not a short list.
        assert_eq!(next_marker(info(Some("abcd"))).as_deref(), Some("abcd"));
        assert_eq!(next_marker(info(Some(""))), None);
        assert_eq!(next_marker(info(None)), None);
        assert_eq!(next_marker(None), None);
        assert!(looks_like_user_id("0123456789abcdef0123456789ABCDEF"));
        assert!(!looks_like_user_id("alice"));
        assert!(is_path_id("05a3c2e1b8f34f0d9b6e7c5a4d3b2a10"));
        assert!(!is_path_id("../x"));
        assert!(!is_path_id(""));
    }
}
