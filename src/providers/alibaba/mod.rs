//! Alibaba Cloud RAM (2015-05-01) and STS (2015-04-01) behind [`AccessKeyProvider`].
//!
//! Every call is RPC style as the official SDK sends it: `POST /` with the parameters in the
//! URL query, an empty body, and an ACS3-HMAC-SHA256 signature over the `x-acs-*` headers.

pub mod api;
pub mod signer;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::de::{DeserializeOwned, IgnoredAny};
use tokio::sync::OnceCell;
use url::Url;

use crate::config::Role;
use crate::error::{Error, ErrorKind, Result};
use crate::http::{HttpClient, Idempotency};
use crate::model::{
    Identity, IdentityType, KeyRecord, KeyRef, KeyStatus, LastUsed, NewKey, OrgAccount,
    ProviderKind, Secret, UserRef,
};
use crate::provider::{is_region_name, AccessKeyProvider, ResolvedProfile};
use crate::providers::assumed::{self, Assume, Credentials, SigningKeys};
use crate::providers::report::{self, wait_until_generated, CredentialReport, ReportCell};
use crate::providers::{
    family, key_status, paginate, Client, CloudError, Dialect, Rpc, Rule, Unsigned,
};
use crate::signing::{percent_encode, RequestParts};
use crate::time::parse_rfc3339;

use api::{IMS_VERSION, RAM_VERSION, RESOURCE_MANAGER_VERSION, STS_VERSION};

/// How the account (root) owner of keys is shown in records: it is no RAM user, and `<`/`>`
/// cannot appear in a RAM user name, so this never names a real user.
pub use crate::model::ROOT_USER;

/// `ListUsers` page size: the documented maximum of the older docs (newer ones allow 1000).
const PAGE_SIZE: &str = "100";

/// The ListAccounts statuses of a member that can be signed into; the others (`PromoteVerifying`,
/// `PromoteFailed`, `PromoteExpired`, `PromoteCancelled`) are listed but never assumed.
const USABLE_MEMBER: [&str; 3] = ["CreateSuccess", "InviteSuccess", "PromoteSuccess"];

/// `GetCredentialReport` rows a page: the documented maximum and default.
const REPORT_PAGE_SIZE: u32 = 3501;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    Ram,
    Sts,
    Ims,
    ResourceManager,
}

/// Where RAM and STS calls go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub ram: Url,
    pub sts: Url,
    /// IMS (the credential report): one global endpoint, like RAM.
    pub ims: Url,
    /// Resource Directory (`resourcemanager`): one central endpoint, like RAM.
    pub resource_manager: Url,
}

/// RAM has one global endpoint for every region; STS has a regional one (`sts.<region>.aliyuncs.com`)
/// besides the global `sts.aliyuncs.com`. A base URL (`--endpoint` or the profile's `endpoint`)
/// replaces both.
pub fn endpoints(region: Option<&str>, endpoint: Option<&Url>) -> Result<Endpoints> {
    if let Some(base) = endpoint {
        return Ok(Endpoints {
            ram: base.clone(),
            sts: base.clone(),
            ims: base.clone(),
            resource_manager: base.clone(),
        });
    }
    let parse = |raw: &str| {
        Url::parse(raw).map_err(|err| Error::usage(format!("bad endpoint {raw}: {err}")))
    };
    let sts = match region.map(str::trim).filter(|r| !r.is_empty()) {
        None => parse("https://sts.aliyuncs.com/")?,
        Some(region) if !is_region_name(region) => {
            return Err(Error::usage(format!(
                "'{region}' is not an Alibaba Cloud region id (e.g. cn-hangzhou, ap-southeast-1)"
            )))
        }
        Some(region) => parse(&format!("https://sts.{region}.aliyuncs.com/"))?,
    };
    Ok(Endpoints {
        ram: parse("https://ram.aliyuncs.com/")?,
        sts,
        ims: parse("https://ims.aliyuncs.com/")?,
        // The SDK's endpoint rule is `central` for every region.
        resource_manager: parse("https://resourcemanager.aliyuncs.com/")?,
    })
}

pub struct AlibabaProvider {
    client: Client,
    endpoints: Endpoints,
    keys: Credentials<AlibabaProvider>,
    identity: OnceCell<Identity>,
    /// The account's credential report, once an `--all-users` scan asked for it (`None`:
    /// refused or unreadable, so every user and key is asked instead).
    report: ReportCell,
}

impl AlibabaProvider {
    pub fn new(profile: ResolvedProfile, http: Arc<HttpClient>) -> Result<Self> {
        let endpoints = endpoints(profile.region.as_deref(), profile.endpoint.as_ref())?;
        let keys = Credentials::Own(Arc::new(SigningKeys::own(&profile.profile)));
        Ok(AlibabaProvider {
            client: Client { profile, http },
            endpoints,
            keys,
            identity: OnceCell::new(),
            report: ReportCell::default(),
        })
    }

    /// STS AssumeRole signed with `with` (the source's credentials). The cloud refuses it to
    /// an account's own (root) key: only RAM users and roles may assume roles.
    async fn assume_role(&self, role: &Role, with: &SigningKeys) -> Result<SigningKeys> {
        let params = assumed::params(role);
        let params: Vec<(&str, &str)> = params.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let answer: api::AssumeRoleResponse = self
            .call_with(
                with,
                Service::Sts,
                "AssumeRole",
                &params,
                Idempotency::Idempotent,
            )
            .await?;
        let credentials = answer.credentials;
        assumed::temporary(
            credentials.access_key_id,
            credentials.access_key_secret,
            credentials.security_token,
            &credentials.expiration,
        )
        .map_err(|err| self.client.blame(err))
    }

    /// An idempotent call.
    async fn ask<T: DeserializeOwned>(
        &self,
        service: Service,
        action: &str,
        params: &[(&str, &str)],
    ) -> Result<T> {
        self.call(service, action, params, Idempotency::Idempotent)
            .await
    }

    /// Resource Directory ListAccounts, every page: `PageNumber` counts up until `TotalCount`
    /// accounts are read. The listing does not say which account manages the directory; only
    /// its management account (or a delegated administrator) may call it, so the caller's own
    /// account is flagged as the management account.
    async fn list_accounts(&self) -> Result<Vec<OrgAccount>> {
        let management = self.identity().await?.account_id.clone();
        let size = self.client.profile.page_size.unwrap_or(100).clamp(1, 100);
        let size_text = &size.to_string()[..];
        let management = &management;
        let accounts = paginate("ListAccounts", |page| async move {
            let number: u64 = page.as_deref().map_or(Ok(1), str::parse).unwrap_or(1);
            let number_text = number.to_string();
            let params = [
                ("PageNumber", number_text.as_str()),
                ("PageSize", size_text),
            ];
            let answer: api::ListAccountsResponse = self
                .ask(Service::ResourceManager, "ListAccounts", &params)
                .await?;
            let unreadable = |why: String| {
                self.client
                    .blame(Error::bad_response(format!("ListAccounts: {why}")))
            };
            let listed = answer.accounts().map_err(unreadable)?;
            // The service may page smaller than asked: it answers its own PageSize.
            let size = answer.page_size.unwrap_or(u64::from(size)).max(1);
            let read = (number - 1) * size + listed.len() as u64;
            let next = match answer.total_count {
                Some(total) if read < total && listed.is_empty() => {
                    return Err(unreadable(format!(
                        "page {number} is empty but TotalCount is {total}"
                    )))
                }
                Some(total) => (read < total).then(|| (number + 1).to_string()),
                None => (listed.len() as u64 >= size).then(|| (number + 1).to_string()),
            };
            let page = listed.into_iter().map(|account| {
                let status = account.status.unwrap_or_default();
                OrgAccount {
                    id: account.account_id.unwrap_or_default(),
                    name: account.display_name,
                    active: USABLE_MEMBER.contains(&status.as_str()),
                    management: management.clone(),
                }
            });
            Ok((page.collect::<Vec<_>>(), next))
        })
        .await?;
        match accounts.iter().any(|a| a.id.is_empty()) {
            true => Err(self.client.blame(Error::bad_response(
                "ListAccounts: an account without AccountId",
            ))),
            false => Ok(accounts),
        }
    }

    /// GenerateCredentialReport until it is COMPLETED (made at most every 4 hours; a fresh one
    /// answers COMPLETED at once), then every page of GetCredentialReport.
    async fn fetch_report(&self) -> Result<CredentialReport> {
        wait_until_generated(|| async {
            let answer: api::GenerateCredentialReportResponse = self
                .ask(Service::Ims, "GenerateCredentialReport", &[])
                .await?;
            Ok(answer.state.as_deref() == Some("COMPLETED"))
        })
        .await?;
        let unreadable = |why: String| Error::bad_response(format!("GetCredentialReport: {why}"));
        let page_size = self.client.profile.page_size;
        let max_items = &page_size.unwrap_or(REPORT_PAGE_SIZE).to_string()[..];
        let pages = paginate("GetCredentialReport", |token| async move {
            let mut params = vec![("MaxItems", max_items)];
            params.extend(token.as_deref().map(|t| ("NextToken", t)));
            let page: api::GetCredentialReportResponse = self
                .ask(Service::Ims, "GetCredentialReport", &params)
                .await?;
            let content = report::decode_content(page.content.as_deref()).map_err(unreadable)?;
            let generated_at = page.generated_time.as_deref().and_then(parse_rfc3339);
            let next = match (page.is_truncated, page.next_token) {
                (true, Some(next)) if !next.is_empty() && Some(&next) != token.as_ref() => {
                    Some(next)
                }
                (true, _) => {
                    return Err(unreadable(
                        "the answer is truncated but gives no new NextToken".into(),
                    ))
                }
                (false, _) => None,
            };
            Ok((vec![(content, generated_at)], next))
        })
        .await?;
        let csv: Vec<Vec<u8>> = pages.iter().map(|(content, _)| content.clone()).collect();
        let csv = api::join_report_pages(&csv);
        Ok(CredentialReport {
            generated_at: pages.iter().find_map(|(_, at)| *at),
            users: api::parse_credential_report(&csv, ROOT_USER).map_err(unreadable)?,
            names_service: false,
        })
    }

    async fn identity(&self) -> Result<&Identity> {
        self.identity
            .get_or_try_init(|| self.caller_identity(Service::Sts, &[], identity_from))
            .await
    }

    /// The `UserName` to send for a user: none for the caller's own keys, and none for
    /// [`ROOT_USER`] when the caller is the account itself: RAM acts on the caller's own keys
    /// when `UserName` is left out, and the account cannot be named. `<root>` is a label that
    /// never goes on the wire: from a RAM user or role it is refused here, since no call of
    /// theirs reaches the account's own keys.
    async fn user_name(&self, user: Option<&UserRef>) -> Result<Option<String>> {
        let is_root = async { Ok(self.identity().await?.identity_type == IdentityType::Root) };
        let refusal = || {
            format!("{ROOT_USER} means the account's own AccessKeys, which only the account itself can manage; profile {} signs as a RAM identity", self.name())
        };
        let user = self.client.wire_user(user, is_root, refusal).await?;
        Ok(user.map(|u| u.name.clone()))
    }

    /// A record of a key of `user` (the caller when `None`).
    async fn record(
        &self,
        access_key_id: String,
        status: Option<&str>,
        create_date: Option<&str>,
        user: Option<&UserRef>,
    ) -> Result<KeyRecord> {
        self.own(
            key_record(self.name(), access_key_id, status, create_date)?,
            user,
        )
        .await
    }

    /// Names the account and owner of a record: `user`, else the caller.
    async fn own(&self, mut record: KeyRecord, user: Option<&UserRef>) -> Result<KeyRecord> {
        let identity = self.identity().await?;
        record.account_id = identity.account_id.clone();
        match user {
            Some(u) => {
                record.user = Some(u.name.clone());
                record.user_id = u.id.clone();
            }
            None => match identity.identity_type {
                IdentityType::User => {
                    record.user = identity.user.clone();
                    record.user_id = identity.user_id.clone();
                }
                IdentityType::Root => record.user = Some(ROOT_USER.to_string()),
                IdentityType::Role => {}
            },
        }
        Ok(record)
    }
}

/// `params` with `UserName` when a user is named (none for the caller's own keys).
fn with_user<'a>(
    mut params: Vec<(&'a str, &'a str)>,
    user_name: &'a Option<String>,
) -> Vec<(&'a str, &'a str)> {
    params.extend(user_name.as_deref().map(|name| ("UserName", name)));
    params
}

/// The part of a key record the answer itself tells: id, status and creation time.
pub fn key_record(
    profile: &str,
    access_key_id: String,
    status: Option<&str>,
    create_date: Option<&str>,
) -> Result<KeyRecord> {
    let status = match status {
        Some(s) => key_status(s)?,
        None => {
            return Err(Error::bad_response(format!(
                "key {access_key_id} comes without a Status"
            )))
        }
    };
    let mut record = KeyRecord::new(ProviderKind::Alibaba, profile, access_key_id, status);
    record.created_at = parse_time("CreateDate", create_date)?;
    Ok(record)
}

/// A GetAccessKeyLastUsed answer: RAM 2015-05-01 tells only the time.
pub fn last_used_from(answer: api::GetAccessKeyLastUsedResponse) -> Result<LastUsed> {
    let date = answer
        .access_key_last_used
        .and_then(|used| used.last_used_date);
    Ok(LastUsed {
        at: parse_time("LastUsedDate", date.as_deref())?,
        ..LastUsed::default()
    })
}

/// `POST <url>` with an empty body: `x-acs-action` and `x-acs-version` besides the headers the
/// signer adds. The parameters are already in `url`'s query.
fn unsigned(url: Url, action: &str, version: &str) -> Unsigned {
    Unsigned {
        method: Method::POST,
        url,
        headers: vec![
            ("x-acs-action".to_string(), action.to_string()),
            ("x-acs-version".to_string(), version.to_string()),
        ],
        body: Vec::new(),
    }
}

/// The headers the signer adds: date, nonce, content hash, `x-acs-security-token` for STS
/// credentials, `Authorization`.
fn sign(
    keys: &SigningKeys,
    parts: RequestParts<'_>,
    time: DateTime<Utc>,
    nonce: &str,
) -> Vec<(String, String)> {
    let key = signer::SigningKey {
        access_key_id: &keys.id,
        access_key_secret: keys.secret.expose(),
        security_token: keys.token.as_ref().map(Secret::expose),
    };
    signer::sign(&key, &parts, time, nonce).0
}

/// A created key: the secret, taken first so that it is kept even if the rest of the answer
/// is odd, and the key's record.
pub fn created_from(answer: api::CreateAccessKeyResponse, profile: &str) -> Result<NewKey> {
    let created = answer.access_key;
    let secret = Secret::new(created.access_key_secret);
    // A key is created active; the answer says so, but do not depend on it.
    let status = Some(created.status.as_deref().unwrap_or("Active"));
    let record = key_record(
        profile,
        created.access_key_id,
        status,
        created.create_date.as_deref(),
    )?;
    Ok(NewKey { record, secret })
}

/// ISO 8601 UTC (`2015-01-23T12:33:18Z`); absent or empty is `None`, anything else unreadable
/// is an error rather than a silent "never".
fn parse_time(field: &str, value: Option<&str>) -> Result<Option<DateTime<Utc>>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(raw) => parse_rfc3339(raw)
            .map(Some)
            .ok_or_else(|| Error::bad_response(format!("{field} '{raw}' is not a time"))),
    }
}

pub fn identity_from(
    answer: api::GetCallerIdentityResponse,
    profile: &str,
    access_key_id: &str,
) -> Identity {
    let arn = answer.arn.unwrap_or_default();
    // acs:ram::<AccountId>:user/<name> | :root | :assumed-role/<role>/<session>
    let resource = arn.splitn(5, ':').nth(4).unwrap_or_default().to_string();
    let identity_type = match answer.identity_type.as_deref() {
        Some("Account") => IdentityType::Root,
        Some("RAMUser") => IdentityType::User,
        Some("AssumedRoleUser") => IdentityType::Role,
        _ if resource == "root" => IdentityType::Root,
        _ if resource.starts_with("user/") => IdentityType::User,
        _ => IdentityType::Role,
    };
    let (user, user_id) = match identity_type {
        IdentityType::User => (
            resource
                .strip_prefix("user/")
                .and_then(|path| path.rsplit('/').next())
                .filter(|name| !name.is_empty())
                .map(str::to_string),
            answer.user_id.or(answer.principal_id),
        ),
        IdentityType::Root => (None, answer.user_id.or(answer.account_id.clone())),
        IdentityType::Role => (None, answer.role_id.or(answer.principal_id)),
    };
    Identity {
        provider: ProviderKind::Alibaba,
        profile: profile.to_string(),
        account_id: answer.account_id,
        user,
        user_id,
        arn: (!arn.is_empty()).then_some(arn),
        identity_type,
        access_key_id: access_key_id.to_string(),
    }
}

/// RAM's and STS's RPC style: JSON answers and error bodies.
pub struct Alibaba;

impl Dialect for Alibaba {
    const REQUEST_ID_HEADER: Option<&'static str> = Some("x-acs-request-id");
    const CODES: &'static [Rule] = &[
        family("EntityNotExist", ErrorKind::NotFound),
        family("LimitExceeded", ErrorKind::Limit),
        family("InvalidAccessKeyId InvalidSecurityToken", ErrorKind::Auth),
        family("SignatureDoesNotMatch IncompleteSignature", ErrorKind::Auth),
        family("SignatureNonceUsed MissingSecurityToken", ErrorKind::Auth),
        family("InvalidAccessKeySecret", ErrorKind::Auth),
        family("NoPermission Forbidden AccessDenied", ErrorKind::Permission),
        // ListAccounts of an account that manages no resource directory (`Exists`, unlike
        // RAM's `EntityNotExist.*`): a refusal of the caller, not a missing entity.
        family("EntityNotExists.ResourceDirectory", ErrorKind::Permission),
        // `InvalidTimeStamp.Expired` is the documented answer to a date more than 15 minutes
        // off; `IllegalTimestamp` ("The input parameter "Timestamp" … is not supplied.") is what
        // users with a wrong clock also report from the same gateway. Both: correct and retry.
        family("InvalidTimeStamp IllegalTimestamp", ErrorKind::ClockSkew),
        family("Throttling", ErrorKind::Throttled),
        family("ServiceUnavailable.Throttling", ErrorKind::Throttled),
        family("InternalError ServiceUnavailable", ErrorKind::Server),
        family("InternalFailure UnknownError", ErrorKind::Server),
        family("ServiceTimeout", ErrorKind::Server),
    ];

    fn parse_error(body: &[u8]) -> Option<CloudError> {
        let body = api::parse_error(body)?;
        let detail = [
            body.access_denied_detail.map(|d| d.to_string()),
            body.recommend,
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        Some(CloudError {
            code: body.code.unwrap_or_default(),
            message: body.message,
            request_id: body.request_id,
            detail: (!detail.is_empty()).then_some(detail),
        })
    }
}

provider_glue!(AlibabaProvider, assume_role, ?);

impl Rpc<&[(&str, &str)]> for AlibabaProvider {
    type Service = Service;
    type Dialect = Alibaba;

    fn client(&self) -> &Client {
        &self.client
    }

    fn request(&self, service: Service, action: &str, params: &[(&str, &str)]) -> Result<Unsigned> {
        let (endpoint, version) = match service {
            Service::Ram => (&self.endpoints.ram, RAM_VERSION),
            Service::Sts => (&self.endpoints.sts, STS_VERSION),
            Service::Ims => (&self.endpoints.ims, IMS_VERSION),
            Service::ResourceManager => {
                (&self.endpoints.resource_manager, RESOURCE_MANAGER_VERSION)
            }
        };
        let query = params
            .iter()
            .map(|(name, value)| format!("{}={}", percent_encode(name), percent_encode(value)))
            .collect::<Vec<_>>()
            .join("&");
        let mut url = endpoint.clone();
        url.set_query((!query.is_empty()).then_some(query.as_str()));
        Ok(unsigned(url, action, version))
    }

    fn sign(
        &self,
        keys: &SigningKeys,
        _service: Service,
        _action: &str,
        parts: RequestParts<'_>,
        time: DateTime<Utc>,
    ) -> Vec<(String, String)> {
        // A fresh nonce for every attempt: the service refuses one it has seen.
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        sign(keys, parts, time, &nonce)
    }
}

#[async_trait]
impl AccessKeyProvider for AlibabaProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Alibaba
    }

    fn profile(&self) -> &str {
        self.name()
    }

    async fn organization_accounts(&self) -> Result<Vec<OrgAccount>> {
        self.list_accounts().await
    }

    fn member_role(&self, account: &str, role_name: Option<&str>) -> Result<String> {
        // The role Resource Directory makes in every member it creates.
        let role = role_name.unwrap_or("ResourceDirectoryAccountAccessRole");
        Ok(format!("acs:ram::{account}:role/{role}"))
    }

    async fn whoami(&self) -> Result<Identity> {
        self.identity().await.cloned()
    }

    async fn list_users(&self) -> Result<Vec<UserRef>> {
        paginate("ListUsers", |marker| async move {
            let mut params = vec![("MaxItems", PAGE_SIZE)];
            params.extend(marker.as_deref().map(|m| ("Marker", m)));
            let page: api::ListUsersResponse = self.ask(Service::Ram, "ListUsers", &params).await?;
            let listed = page
                .users()
                .map_err(|err| Error::bad_response(format!("ListUsers: {err}")))?;
            let users = listed.into_iter().map(|u| UserRef {
                name: u.user_name,
                id: u.user_id,
            });
            let next = match (page.is_truncated, page.marker) {
                (true, Some(next)) if !next.is_empty() => Some(next),
                (true, _) => {
                    return Err(self.client.blame(Error::bad_response(
                        "ListUsers: the answer is truncated but gives no new Marker",
                    )))
                }
                (false, _) => None,
            };
            Ok((users.collect(), next))
        })
        .await
    }

    async fn list_keys(&self, user: Option<&UserRef>) -> Result<Vec<KeyRecord>> {
        if user.is_some_and(|u| self.report.shows_no_keys(&u.name)) {
            return Ok(Vec::new());
        }
        // The identity fills account and owner of every record.
        self.identity().await?;
        let user_name = self.user_name(user).await?;
        let params = with_user(Vec::new(), &user_name);
        let answer: api::ListAccessKeysResponse =
            self.ask(Service::Ram, "ListAccessKeys", &params).await?;
        let keys = answer
            .keys()
            .map_err(|err| Error::bad_response(format!("ListAccessKeys: {err}")))?;
        let mut records = Vec::with_capacity(keys.len());
        for key in keys {
            records.push(
                self.record(
                    key.access_key_id,
                    key.status.as_deref(),
                    key.create_date.as_deref(),
                    user,
                )
                .await?,
            );
        }
        Ok(records)
    }

    async fn last_used(&self, key: &KeyRef) -> Result<LastUsed> {
        let user_name = self.user_name(key.user.as_ref()).await?;
        let params = with_user(
            vec![("UserAccessKeyId", key.access_key_id.as_str())],
            &user_name,
        );
        last_used_from(
            self.ask(Service::Ram, "GetAccessKeyLastUsed", &params)
                .await?,
        )
    }

    async fn fill_last_used(&self, records: &mut [KeyRecord], concurrency: usize) -> Result<()> {
        self.report.fill_last_used(self, records, concurrency).await
    }

    async fn begin_account_scan(&self) {
        // Without credentials there is no report to ask for; the listing says why.
        if self.keys().await.is_err() {
            return;
        }
        self.report.fetch_once(self.fetch_report()).await;
    }

    async fn create_key(&self, user: Option<&UserRef>) -> Result<NewKey> {
        self.identity().await?;
        let user_name = self.user_name(user).await?;
        let params = with_user(Vec::new(), &user_name);
        let answer = self
            .call(
                Service::Ram,
                "CreateAccessKey",
                &params,
                Idempotency::NotIdempotent,
            )
            .await?;
        let NewKey { record, secret } = created_from(answer, self.name())?;
        let record = self.own(record, user).await?;
        Ok(NewKey { record, secret })
    }

    async fn set_status(&self, key: &KeyRef, status: KeyStatus) -> Result<()> {
        let user_name = self.user_name(key.user.as_ref()).await?;
        let params = vec![
            ("UserAccessKeyId", key.access_key_id.as_str()),
            ("Status", status.as_wire()),
        ];
        let params = with_user(params, &user_name);
        let _: IgnoredAny = self.ask(Service::Ram, "UpdateAccessKey", &params).await?;
        Ok(())
    }

    async fn delete_key(&self, key: &KeyRef) -> Result<()> {
        let user_name = self.user_name(key.user.as_ref()).await?;
        let params = with_user(
            vec![("UserAccessKeyId", key.access_key_id.as_str())],
            &user_name,
        );
        let _: IgnoredAny = self.ask(Service::Ram, "DeleteAccessKey", &params).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Request, Retry};

    fn error_class(code: &str, status: u16) -> (ErrorKind, Retry) {
        crate::providers::error_class::<Alibaba>(code, "", status)
    }

    fn signed_request(
        profile: &Profile,
        url: &Url,
        action: &str,
        version: &str,
        time: DateTime<Utc>,
        nonce: &str,
    ) -> Request {
        let keys = SigningKeys::own(profile);
        let sign = |parts: RequestParts<'_>, time| sign(&keys, parts, time, nonce);
        crate::providers::signed(&unsigned(url.clone(), action, version), &sign, time)
    }
    use crate::config::{Profile, Source};
    use crate::http::HttpSettings;
    use crate::sandbox::alibaba::{MEMBER_ACCOUNT, PROMOTING_MEMBER, SECOND_MEMBER, TEST_ACCOUNT};
    use crate::sandbox::{Effect, Fault, Sandbox, Seed};

    #[test]
    fn endpoints_by_region_and_base_url() {
        let e = endpoints(None, None).unwrap();
        assert_eq!(e.ram.as_str(), "https://ram.aliyuncs.com/");
        assert_eq!(e.sts.as_str(), "https://sts.aliyuncs.com/");
        let e = endpoints(Some("ap-southeast-1"), None).unwrap();
        assert_eq!(e.ram.as_str(), "https://ram.aliyuncs.com/");
        assert_eq!(e.sts.as_str(), "https://sts.ap-southeast-1.aliyuncs.com/");
        let base = Url::parse("http://127.0.0.1:8790").unwrap();
        let e = endpoints(Some("cn-hangzhou"), Some(&base)).unwrap();
        assert_eq!(e.ram, base);
        assert_eq!(e.sts, base);
        let err = endpoints(Some("cn-hangzhou/evil"), None).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(endpoints(Some("-cn"), None).is_err());
    }

    #[test]
    fn ims_is_global_or_the_base_url() {
        for region in [None, Some("ap-southeast-1")] {
            let e = endpoints(region, None).unwrap();
            assert_eq!(e.ims.as_str(), "https://ims.aliyuncs.com/");
            let central = e.resource_manager.as_str();
            assert_eq!(central, "https://resourcemanager.aliyuncs.com/");
        }
        let base = Url::parse("http://127.0.0.1:8790").unwrap();
        assert_eq!(endpoints(None, Some(&base)).unwrap().ims, base);
        assert_eq!(endpoints(None, Some(&base)).unwrap().resource_manager, base);
    }

    #[test]
    fn error_codes_map_to_kinds() {
        let kind = |code: &str, status: u16| error_class(code, status);
        assert_eq!(kind("EntityNotExist.User", 404).0, ErrorKind::NotFound);
        assert_eq!(
            kind("EntityNotExist.User.AccessKey", 404).0,
            ErrorKind::NotFound
        );
        assert_eq!(
            kind("LimitExceeded.User.AccessKey", 409),
            (ErrorKind::Limit, Retry::Never)
        );
        for code in [
            "InvalidAccessKeyId.NotFound",
            "InvalidAccessKeyId.Inactive",
            "SignatureDoesNotMatch",
            "IncompleteSignature",
            "SignatureNonceUsed",
            "MissingSecurityToken",
            "InvalidSecurityToken.Expired",
            "InvalidSecurityToken.MismatchWithAccessKey",
        ] {
            assert_eq!(kind(code, 400), (ErrorKind::Auth, Retry::Never), "{code}");
        }
        assert_eq!(kind("NoPermission", 403).0, ErrorKind::Permission);
        assert_eq!(kind("Forbidden.RAM", 403).0, ErrorKind::Permission);
        for code in ["Throttling", "Throttling.User", "Throttling.Api"] {
            assert_eq!(
                kind(code, 400),
                (ErrorKind::Throttled, Retry::Throttled),
                "{code}"
            );
        }
        assert_eq!(kind("Weird", 429).1, Retry::Throttled);
        assert_eq!(
            kind("InternalError", 500),
            (ErrorKind::Server, Retry::Server)
        );
        assert_eq!(
            kind("ServiceUnavailable", 503),
            (ErrorKind::Server, Retry::Server)
        );
        assert_eq!(kind("Weird", 502).1, Retry::Server);
        for code in ["InvalidTimeStamp.Expired", "IllegalTimestamp"] {
            assert_eq!(
                kind(code, 400),
                (ErrorKind::ClockSkew, Retry::ClockSkew),
                "{code}"
            );
        }
        assert_eq!(
            kind("InvalidParameter.UserName.InvalidChars", 400),
            (ErrorKind::Refused, Retry::Never)
        );
        // A code merely starting with a known family name is not in it.
        assert_eq!(kind("ThrottlingX", 400).0, ErrorKind::Refused);
        assert_eq!(kind("IllegalTimestampX", 400).0, ErrorKind::Refused);
    }

    fn answer(kind: &str, arn: &str) -> api::GetCallerIdentityResponse {
        api::GetCallerIdentityResponse {
            identity_type: (!kind.is_empty()).then(|| kind.to_string()),
            account_id: Some("1968132000123456".into()),
            principal_id: Some("288774244375210000".into()),
            user_id: (kind != "AssumedRoleUser").then(|| "216959339000111".to_string()),
            role_id: (kind == "AssumedRoleUser").then(|| "300800000000000000".to_string()),
            arn: Some(arn.into()),
        }
    }

    #[test]
    fn assume_role_answers_are_read_and_never_shown() {
        let body = r#"{"RequestId":"6894B13B-6D71-4EF5-88FA-F32781734A7F",
            "AssumedRoleUser":{"Arn":"acs:ram::123:role/keyauditor/run","AssumedRoleId":"344584339364951186:run"},
            "Credentials":{"SecurityToken":"CAESrAIIARKAAShQquMnLIlbvEcIxO6wCoqJufs8sWwieUxu45hS9AvKNEte8KRUWiJWJ6Y+YHAPgNwi7yfRecMFydL2uPOgBI7LDio0RkbYLmJfIxHM2nGBPdml7kYEOXmJp2aDhbvvwVYIyt/8iES/R6N208wQh0Pk2bu+/9dvalp6wOHF4gkFGhhTVFMuTkNEQ1ROaUs4c2ZwaEJ4VVhGZ0hDBvdCAA","AccessKeyId":"STS.NUgYrLnoC37mZZCNnAbez2XXX","AccessKeySecret":"GRXnqRCqbBBRPZHM9ZebMm2fRNx3MwAVxXAtHXXXX","Expiration":"2015-04-09T11:52:19Z"}}"#;
        let answer: api::AssumeRoleResponse = serde_json::from_str(body).unwrap();
        let credentials = &answer.credentials;
        assert_eq!(credentials.access_key_id, "STS.NUgYrLnoC37mZZCNnAbez2XXX");
        assert!(parse_rfc3339(&credentials.expiration).is_some());
        let shown = format!("{answer:?}");
        assert!(
            !shown.contains("GRXnqRCq") && !shown.contains("CAESrAII"),
            "{shown}"
        );
    }

    #[test]
    fn identities_from_caller_answers() {
        let user = identity_from(
            answer("RAMUser", "acs:ram::1968132000123456:user/admin"),
            "p",
            "LTAI1",
        );
        assert_eq!(user.identity_type, IdentityType::User);
        assert_eq!(user.user.as_deref(), Some("admin"));
        assert_eq!(user.user_id.as_deref(), Some("216959339000111"));
        assert_eq!(user.account_id.as_deref(), Some("1968132000123456"));
        let root = identity_from(
            answer("Account", "acs:ram::1968132000123456:root"),
            "p",
            "LTAI1",
        );
        assert_eq!(root.identity_type, IdentityType::Root);
        assert_eq!(root.user, None);
        let role = identity_from(
            answer(
                "AssumedRoleUser",
                "acs:ram::1968132000123456:assumed-role/ops/session-1",
            ),
            "p",
            "STS.abc",
        );
        assert_eq!(role.identity_type, IdentityType::Role);
        assert_eq!(role.user_id.as_deref(), Some("300800000000000000"));
        // No IdentityType: the Arn decides.
        let bare = identity_from(answer("", "acs:ram::1:user/ci.bot"), "p", "LTAI1");
        assert_eq!(bare.identity_type, IdentityType::User);
        assert_eq!(bare.user.as_deref(), Some("ci.bot"));
    }

    fn profile(name: &str, id: &str, secret: &str, token: Option<&str>) -> Profile {
        Profile {
            name: name.into(),
            provider: ProviderKind::Alibaba,
            access_key_id: id.into(),
            secret_access_key: Secret::new(secret),
            session_token: token.map(Secret::new),
            region: Some("cn-hangzhou".into()),
            endpoint: None,
            project_id: None,
            source: Source::Environment,
            secret_env: None,
            role: None,
            fetch: None,
        }
    }

    #[test]
    fn requests_are_rpc_posts_signed_with_the_token() {
        let p = profile("p", "STS.NUabc", "secret", Some("CAIS+token/with=chars"));
        let mut url = Url::parse("https://ram.aliyuncs.com/").unwrap();
        url.set_query(Some("UserName=zh%20ang&MaxItems=100"));
        let time = Utc::now();
        let request = signed_request(&p, &url, "ListUsers", RAM_VERSION, time, "abc123");
        assert_eq!(request.method, Method::POST);
        assert!(request.body.is_empty());
        let get = |name: &str| {
            request
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get("x-acs-action").as_deref(), Some("ListUsers"));
        assert_eq!(get("x-acs-version").as_deref(), Some("2015-05-01"));
        assert_eq!(get("x-acs-signature-nonce").as_deref(), Some("abc123"));
        assert_eq!(
            get("x-acs-security-token").as_deref(),
            Some("CAIS+token/with=chars")
        );
        let auth = signer::parse_authorization(&get("authorization").unwrap()).unwrap();
        assert_eq!(auth.access_key_id, "STS.NUabc");
        assert_eq!(
            auth.signed_headers,
            [
                "host",
                "x-acs-action",
                "x-acs-content-sha256",
                "x-acs-date",
                "x-acs-security-token",
                "x-acs-signature-nonce",
                "x-acs-version"
            ]
        );
        // The sandbox's way of checking gives the same signature.
        let signed: Vec<(String, String)> = auth
            .signed_headers
            .iter()
            .map(|n| {
                let value = if n == "host" {
                    "ram.aliyuncs.com".to_string()
                } else {
                    get(n).unwrap()
                };
                (n.clone(), value)
            })
            .collect();
        let check = signer::compute(
            &signer::SigningKey {
                access_key_id: "STS.NUabc",
                access_key_secret: "secret",
                security_token: None,
            },
            &RequestParts {
                method: "POST",
                host: "ram.aliyuncs.com",
                path: "/",
                query: url.query().unwrap(),
                headers: &signed,
                body: b"",
            },
        );
        assert_eq!(check.signature, auth.signature);
        let plain = signed_request(
            &profile("p", "LTAI1", "s", None),
            &url,
            "ListUsers",
            RAM_VERSION,
            time,
            "n",
        );
        assert!(!plain
            .headers
            .iter()
            .any(|(n, _)| n == "x-acs-security-token"));
    }

    fn fast_http() -> Arc<HttpClient> {
        Arc::new(
            HttpClient::new(HttpSettings {
                retries: 3,
                base_backoff: std::time::Duration::from_millis(1),
                max_backoff: std::time::Duration::from_millis(5),
                ..HttpSettings::default()
            })
            .unwrap(),
        )
    }

    async fn sandboxed(profile_name: &str) -> (Sandbox, AlibabaProvider) {
        sandboxed_in(Seed::Test, profile_name).await
    }

    async fn sandboxed_in(seed: Seed, profile_name: &str) -> (Sandbox, AlibabaProvider) {
        let sandbox = Sandbox::start(0, seed).await.unwrap();
        let seeded = sandbox
            .profiles()
            .into_iter()
            .find(|p| p.name == profile_name)
            .unwrap();
        let endpoint = Url::parse(&sandbox.endpoint()).unwrap();
        let provider = AlibabaProvider::new(
            ResolvedProfile {
                profile: profile(
                    profile_name,
                    &seeded.access_key_id,
                    &seeded.secret_access_key,
                    None,
                ),
                endpoint: Some(endpoint),
                region: Some(seeded.region.clone()),
                page_size: None,
            },
            fast_http(),
        )
        .unwrap();
        (sandbox, provider)
    }

    fn calls(sandbox: &Sandbox, action: &str) -> usize {
        let state = sandbox.state();
        let guard = state.lock().unwrap();
        guard.alibaba.calls.iter().filter(|c| *c == action).count()
    }

    fn inject(sandbox: &Sandbox, effect: Effect, times: usize) {
        let fault = Fault::always(effect).provider(ProviderKind::Alibaba);
        let state = sandbox.state();
        state
            .lock()
            .unwrap()
            .settings
            .faults
            .push(fault.times(times));
    }

    #[tokio::test]
    async fn reads_every_page_and_every_key() {
        let (sandbox, provider) = sandboxed("alibaba-admin").await;
        let me = provider.whoami().await.unwrap();
        assert_eq!(me.user.as_deref(), Some("admin"));
        assert_eq!(me.account_id.as_deref(), Some("1968132000123456"));
        let users = provider.list_users().await.unwrap();
        let names: Vec<&str> = users.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["admin", "alice", "bob", "carol"]);
        assert!(users
            .iter()
            .all(|u| u.id.as_ref().is_some_and(|id| id.len() == 16)));
        // Pages of 3 in the test seed: two calls.
        assert_eq!(calls(&sandbox, "ListUsers"), 2);
        let alice = provider.list_keys(Some(&users[1])).await.unwrap();
        assert_eq!(alice.len(), 2);
        assert!(alice.iter().all(|k| k.user.as_deref() == Some("alice")
            && k.user_id == users[1].id
            && k.account_id.as_deref() == Some("1968132000123456")));
        let used = provider.last_used(&alice[0].key_ref()).await.unwrap();
        let age = Utc::now() - used.at.unwrap();
        assert_eq!(age.num_days(), 100);
        let never = provider.last_used(&alice[1].key_ref()).await.unwrap();
        assert_eq!(never, LastUsed::default());
        let own = provider.list_keys(None).await.unwrap();
        assert_eq!(own.len(), 1);
        assert_eq!(own[0].access_key_id, me.access_key_id);
        assert_eq!(own[0].user.as_deref(), Some("admin"));
        assert_eq!(own[0].user_id, me.user_id);
        let err = provider
            .list_keys(Some(&UserRef::from_arg("nobody")))
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::NotFound);
        assert_eq!(err.code.as_deref(), Some("EntityNotExist.User"));
        assert!(err.request_id.is_some());
        assert_eq!(err.provider, Some(ProviderKind::Alibaba));
        sandbox.shutdown().await;
    }

    #[tokio::test]
    async fn lists_every_page_of_the_resource_directory() {
        let (sandbox, provider) = sandboxed("alibaba-admin").await;
        let accounts = provider.organization_accounts().await.unwrap();
        let ids: Vec<(&str, bool)> = accounts.iter().map(|a| (a.id.as_str(), a.active)).collect();
        assert_eq!(
            ids,
            [
                (TEST_ACCOUNT, true),
                (MEMBER_ACCOUNT, true),
                (PROMOTING_MEMBER, false),
                (SECOND_MEMBER, true)
            ]
        );
        // Not said by the listing: the caller's own account manages the directory.
        assert!(accounts
            .iter()
            .all(|a| a.management.as_deref() == Some(TEST_ACCOUNT)));
        // Three a page in the test seed, whatever PageSize asks.
        assert_eq!(calls(&sandbox, "ListAccounts"), 2);
        assert_eq!(
            provider.member_role(SECOND_MEMBER, None).unwrap(),
            format!("acs:ram::{SECOND_MEMBER}:role/ResourceDirectoryAccountAccessRole")
        );
        // An account managing no directory: the cloud's refusal, a permission error.
        let (demo, root) = sandboxed_in(Seed::Demo, "alibaba-root").await;
        let err = root.organization_accounts().await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Permission);
        assert_eq!(
            err.code.as_deref(),
            Some("EntityNotExists.ResourceDirectory")
        );
        demo.shutdown().await;
        sandbox.shutdown().await;
    }

    #[tokio::test]
    async fn changes_keys_and_hits_the_limit() {
        let (sandbox, provider) = sandboxed("alibaba-admin").await;
        let carol = UserRef::from_arg("carol");
        let first = provider.create_key(Some(&carol)).await.unwrap();
        assert_eq!(first.record.user.as_deref(), Some("carol"));
        assert_eq!(first.record.status, KeyStatus::Active);
        assert_eq!(first.secret.expose().len(), 30);
        provider.create_key(Some(&carol)).await.unwrap();
        let third = provider.create_key(Some(&carol)).await.unwrap_err();
        assert_eq!(third.kind, ErrorKind::Limit);
        assert_eq!(third.code.as_deref(), Some("LimitExceeded.User.AccessKey"));
        let key = first.record.key_ref();
        provider
            .set_status(&key, KeyStatus::Inactive)
            .await
            .unwrap();
        let listed = provider.list_keys(Some(&carol)).await.unwrap();
        let status = |id: &str| {
            listed
                .iter()
                .find(|k| k.access_key_id == id)
                .map(|k| k.status)
        };
        assert_eq!(status(&key.access_key_id), Some(KeyStatus::Inactive));
        provider.delete_key(&key).await.unwrap();
        let listed = provider.list_keys(Some(&carol)).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert!(listed.iter().all(|k| k.access_key_id != key.access_key_id));
        let gone = provider.delete_key(&key).await.unwrap_err();
        assert_eq!(gone.code.as_deref(), Some("EntityNotExist.User.AccessKey"));
        sandbox.shutdown().await;
    }

    #[tokio::test]
    async fn throttling_is_retried_but_a_failed_create_is_not() {
        let (sandbox, provider) = sandboxed("alibaba-admin").await;
        inject(&sandbox, Effect::Throttle, 2);
        assert_eq!(provider.list_users().await.unwrap().len(), 4);
        assert_eq!(calls(&sandbox, "ListUsers"), 4);
        inject(&sandbox, Effect::ServerError, 1);
        provider.whoami().await.unwrap();
        assert_eq!(calls(&sandbox, "GetCallerIdentity"), 2);
        // A server fault on create may have created the key: never sent again.
        let carol = UserRef::from_arg("carol");
        inject(&sandbox, Effect::ServerError, 1);
        let err = provider.create_key(Some(&carol)).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Server);
        assert_eq!(err.code.as_deref(), Some("ServiceUnavailable"));
        assert_eq!(calls(&sandbox, "CreateAccessKey"), 1);
        // Throttling means nothing was done: a create is retried then.
        inject(&sandbox, Effect::Throttle, 1);
        provider.create_key(Some(&carol)).await.unwrap();
        assert_eq!(calls(&sandbox, "CreateAccessKey"), 3);
        // Retries run out: the last throttling error is reported.
        inject(&sandbox, Effect::Throttle, 4);
        let err = provider.list_users().await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Throttled);
        assert_eq!(err.exit_code(), 4);
        sandbox.shutdown().await;
    }

    #[tokio::test]
    async fn a_wrong_secret_is_an_auth_error() {
        let sandbox = Sandbox::start(0, Seed::Test).await.unwrap();
        let seeded = sandbox
            .profiles()
            .into_iter()
            .find(|p| p.name == "alibaba-admin")
            .unwrap();
        let provider = AlibabaProvider::new(
            ResolvedProfile {
                profile: profile(
                    "bad",
                    &seeded.access_key_id,
                    "wrong-secret-wrong-secret-0000",
                    None,
                ),
                endpoint: Some(Url::parse(&sandbox.endpoint()).unwrap()),
                region: None,
                page_size: None,
            },
            fast_http(),
        )
        .unwrap();
        let err = provider.whoami().await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Auth);
        assert_eq!(err.code.as_deref(), Some("SignatureDoesNotMatch"));
        assert_eq!(err.profile.as_deref(), Some("bad"));
        assert!(!err.to_string().contains("wrong-secret"));
        // Refused once, not retried.
        assert_eq!(calls(&sandbox, "GetCallerIdentity"), 1);
        sandbox.shutdown().await;
    }

    #[tokio::test]
    async fn the_account_itself_acts_on_its_own_keys_without_a_user_name() {
        let (sandbox, provider) = sandboxed_in(Seed::Demo, "alibaba-root").await;
        let me = provider.whoami().await.unwrap();
        assert_eq!(me.identity_type, IdentityType::Root);
        assert_eq!(me.user, None);
        assert_eq!(me.arn.as_deref(), Some("acs:ram::5123987600554321:root"));
        let own = provider.list_keys(None).await.unwrap();
        assert_eq!(own.len(), 1);
        assert_eq!(own[0].user.as_deref(), Some(ROOT_USER));
        assert_eq!(own[0].access_key_id, me.access_key_id);
        // The record's key ref names `<root>`, which must not be sent as a UserName.
        let used = provider.last_used(&own[0].key_ref()).await.unwrap();
        assert!(used.at.is_some());
        let key = provider
            .create_key(Some(&UserRef::from_arg(ROOT_USER)))
            .await
            .unwrap();
        assert_eq!(key.record.user.as_deref(), Some(ROOT_USER));
        provider
            .set_status(&key.record.key_ref(), KeyStatus::Inactive)
            .await
            .unwrap();
        provider.delete_key(&key.record.key_ref()).await.unwrap();
        assert_eq!(provider.list_keys(None).await.unwrap().len(), 1);
        // A RAM user cannot reach the account's keys: refused before `<root>` is ever sent.
        let (sandbox_user, user_provider) = sandboxed("alibaba-admin").await;
        let err = user_provider
            .list_keys(Some(&UserRef::root()))
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Usage);
        assert_eq!(err.code, None);
        assert_eq!(calls(&sandbox_user, "ListAccessKeys"), 0);
        sandbox_user.shutdown().await;
        sandbox.shutdown().await;
    }
}
