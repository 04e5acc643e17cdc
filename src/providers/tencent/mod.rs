//! Tencent Cloud CAM, STS and Organization behind [`AccessKeyProvider`].
//!
//! API 3.0: every call is `POST /` with a JSON body, TC3-HMAC-SHA256 signed, the action in
//! `X-TC-Action`; every answer is HTTP 200 with `{"Response": {...}}`, errors included.
//! Users are addressed by uin (`TargetUin`); names are resolved with `GetUser`/`ListUsers`.
//! Times are Beijing time (UTC+8) without a zone; last use comes as an exact stamp and as a
//! (delayed) Beijing day.

pub mod api;
pub mod signer;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use reqwest::Method;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::{json, Value};
use tokio::sync::OnceCell;
use url::Url;

use crate::config::Role;
use crate::error::{Error, ErrorKind, Result};
use crate::http::{HttpClient, Idempotency};
use crate::model::{
    Identity, IdentityType, KeyRecord, KeyRef, KeyStatus, LastUsed, NewKey, OrgAccount,
    ProviderKind, Secret, UserRef, ROOT_USER,
};
use crate::provider::{AccessKeyProvider, ResolvedProfile};
use crate::providers::assumed::{self, Credentials, SigningKeys};
use crate::providers::{
    family, is, key_status, paginate, prefix, Client, CloudError, Dialect, Rpc, Rule, Unreadable,
    Unsigned,
};
use crate::signing::RequestParts;
use crate::time::{parse_beijing, parse_beijing_date, parse_rfc3339};

use api::{Answer, CAM_VERSION, LAST_USED_BATCH, ORG_PAGE_LIMIT, ORG_VERSION, STS_VERSION};

/// The role Tencent Cloud Organization presets in member accounts for the management account.
pub const ORG_ROLE: &str = "OrganizationAccessControlRole";

/// STS needs a region; this one when the profile names none (tccli's own default).
pub const DEFAULT_REGION: &str = "ap-guangzhou";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    Cam,
    Sts,
    Organization,
}

impl Service {
    /// The service name signed into the credential scope: always the API's own name, also when
    /// `--endpoint` sends the call elsewhere (the SDK does the same: the endpoint changes the
    /// host, never the service).
    fn name(self) -> &'static str {
        match self {
            Service::Cam => "cam",
            Service::Sts => "sts",
            Service::Organization => "organization",
        }
    }

    fn version(self) -> &'static str {
        match self {
            Service::Cam => CAM_VERSION,
            Service::Sts => STS_VERSION,
            Service::Organization => ORG_VERSION,
        }
    }
}

/// Where CAM, STS and Organization calls go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub cam: Url,
    pub sts: Url,
    pub org: Url,
    /// Sent as `X-TC-Region` to STS (required there) and to CAM when the profile names one.
    pub region: String,
    pub region_given: bool,
}

/// The public hosts, or the one base URL of `--endpoint`/the profile for every service.
pub fn endpoints(region: Option<&str>, endpoint: Option<&Url>) -> Endpoints {
    let region = region.map(str::trim).filter(|r| !r.is_empty());
    let url = |service: &str| match endpoint {
        Some(base) => base.clone(),
        None => Url::parse(&format!("https://{service}.tencentcloudapi.com/"))
            .expect("built-in endpoint URLs are valid"),
    };
    Endpoints {
        cam: url("cam"),
        sts: url("sts"),
        org: url("organization"),
        region: region.unwrap_or(DEFAULT_REGION).to_string(),
        region_given: region.is_some(),
    }
}

/// The caller as STS describes it, plus its name when the account's user list tells it.
#[derive(Debug, Clone)]
struct Caller {
    identity: Identity,
    /// The uin that owns the signing key (`PrincipalId`).
    uin: Option<u64>,
    /// What the caller's own key records carry as `user`.
    label: String,
}

pub struct TencentProvider {
    client: Client,
    endpoints: Endpoints,
    keys: Credentials<TencentProvider>,
    caller: OnceCell<Caller>,
    /// `ListUsers`, read once per run (a refusal is not remembered).
    users: OnceCell<Vec<api::SubAccountInfo>>,
}

impl TencentProvider {
    pub fn new(profile: ResolvedProfile, http: Arc<HttpClient>) -> Self {
        let endpoints = endpoints(profile.region.as_deref(), profile.endpoint.as_ref());
        let keys = Credentials::Own(Arc::new(SigningKeys::own(&profile.profile)));
        TencentProvider {
            client: Client { profile, http },
            endpoints,
            keys,
            caller: OnceCell::new(),
            users: OnceCell::new(),
        }
    }

    /// An idempotent CAM call.
    async fn cam<T: DeserializeOwned>(&self, action: &str, params: Value) -> Result<T> {
        self.call(Service::Cam, action, params, Idempotency::Idempotent)
            .await
    }

    async fn caller(&self) -> Result<&Caller> {
        self.caller
            .get_or_try_init(|| async {
                let mut identity = self
                    .caller_identity(Service::Sts, json!({}), identity_from)
                    .await?;
                let uin = match identity.identity_type {
                    // A role holds no uin (PrincipalId is the uin that assumed it).
                    IdentityType::Role => None,
                    _ => identity.user_id.as_deref().and_then(|id| id.parse().ok()),
                };
                let label = match identity.identity_type {
                    IdentityType::Root => ROOT_USER.to_string(),
                    IdentityType::Role => identity.user_id.clone().unwrap_or_else(|| "-".into()),
                    _ => {
                        // STS tells the uin only; the name comes from the user list, which a
                        // caller without cam:ListUsers cannot read: then the uin stands in.
                        let name = match uin {
                            Some(uin) => self.user_name_of(uin).await,
                            None => None,
                        };
                        if let Some(name) = &name {
                            identity.user = Some(name.clone());
                        }
                        name.or_else(|| identity.user_id.clone())
                            .unwrap_or_else(|| "-".to_string())
                    }
                };
                Ok(Caller {
                    identity,
                    uin,
                    label,
                })
            })
            .await
    }

    /// A sub-user's name from `ListUsers`, or `None` when the list cannot be read.
    async fn user_name_of(&self, uin: u64) -> Option<String> {
        match self.sub_users().await {
            Ok(users) => users.into_iter().find(|u| u.uin == uin).map(|u| u.name),
            Err(err) => {
                tracing::debug!("cannot read the user list to name uin {uin}: {err}");
                None
            }
        }
    }

    async fn sub_users(&self) -> Result<Vec<api::SubAccountInfo>> {
        self.users
            .get_or_try_init(|| async {
                let answer: api::ListUsersResponse = self.cam("ListUsers", json!({})).await?;
                Ok(answer.data)
            })
            .await
            .cloned()
    }

    /// The (label, uin) of a user named on the command line (name or uin) or from a record.
    async fn resolve(&self, user: &UserRef) -> Result<(String, u64)> {
        // The main account is no sub-user: `<root>` is a label, never a name to look up.
        // Its uin is the account's (owner) uin.
        if user.is_root() {
            let caller = self.caller().await?;
            let owner = caller
                .identity
                .account_id
                .as_deref()
                .and_then(|id| id.parse::<u64>().ok())
                .ok_or_else(|| {
                    self.client.blame(Error::bad_response(
                        "GetCallerIdentity: no account uin to name the main account by",
                    ))
                })?;
            return Ok((ROOT_USER.to_string(), owner));
        }
        if let Some(id) = &user.id {
            let uin = id.parse::<u64>().map_err(|_| {
                self.client
                    .blame(Error::usage(format!("user id '{id}' is not a Tencent uin")))
            })?;
            return Ok((user.name.clone(), uin));
        }
        let name = user.name.trim();
        if let Ok(uin) = name.parse::<u64>() {
            // All digits: a uin, unless a sub-user happens to have that name.
            let caller = self.caller().await?;
            if caller.uin == Some(uin) {
                return Ok((caller.label.clone(), uin));
            }
            if caller.identity.account_id.as_deref() == Some(name) {
                return Ok((ROOT_USER.to_string(), uin));
            }
            if let Ok(users) = self.sub_users().await {
                if let Some(found) = users.iter().find(|u| u.uin == uin) {
                    return Ok((found.name.clone(), uin));
                }
                if let Some(found) = users.iter().find(|u| u.name == name) {
                    return Ok((found.name.clone(), found.uin));
                }
            }
            // Let CAM say whether the uin exists (InvalidParameter.UserNotExist).
            return Ok((name.to_string(), uin));
        }
        let answer: api::GetUserResponse = self.cam("GetUser", json!({ "Name": name })).await?;
        Ok((answer.name, answer.uin))
    }

    /// `TargetUin` for a key action, and the user's label and uin for its records.
    async fn target(&self, user: Option<&UserRef>) -> Result<(Value, String, Option<u64>)> {
        match user {
            Some(user) => {
                let (label, uin) = self.resolve(user).await?;
                // The caller's own keys (the main account's, for a root caller) go without
                // TargetUin: CAM's documented default is the current user.
                if self.caller().await?.uin == Some(uin) {
                    return Ok((json!({}), label, Some(uin)));
                }
                Ok((json!({ "TargetUin": uin }), label, Some(uin)))
            }
            None => {
                let caller = self.caller().await?;
                // A role holds no keys; what CAM answers a role asking for "its own" is
                // unknown, so say what is meant before any call.
                if caller.identity.identity_type == IdentityType::Role {
                    return Err(self.client.blame(Error::usage(
                        "a role session has no access keys of its own: name the CAM user with --user",
                    )));
                }
                Ok((json!({}), caller.label.clone(), caller.uin))
            }
        }
    }

    /// Organization DescribeOrganizationMembers, every page: `Offset` moves past what each page
    /// held (`Limit` items on all but the last) until it reaches `Total`. A page that holds
    /// nothing short of `Total` repeats its offset, which `paginate` stops.
    async fn org_members(&self) -> Result<Vec<api::OrgMember>> {
        let limit = self.client.profile.page_size.unwrap_or(ORG_PAGE_LIMIT);
        let limit = limit.clamp(1, ORG_PAGE_LIMIT);
        let action = "DescribeOrganizationMembers";
        paginate(action, |marker| async move {
            let offset: u64 = marker.and_then(|m| m.parse().ok()).unwrap_or(0);
            let params = json!({ "Offset": offset, "Limit": limit });
            let page: api::DescribeOrganizationMembersResponse = self
                .call(
                    Service::Organization,
                    action,
                    params,
                    Idempotency::Idempotent,
                )
                .await?;
            let next = offset + page.items.len() as u64;
            Ok((page.items, (next < page.total).then(|| next.to_string())))
        })
        .await
    }

    /// STS AssumeRole signed with `with` (the source's credentials), at the role profile's
    /// STS endpoint and region.
    async fn assume_role(&self, role: &Role, with: &SigningKeys) -> Result<SigningKeys> {
        let mut params = json!({
            "RoleArn": role.role_arn,
            "RoleSessionName": assumed::session_name(role),
        });
        if let Some(duration) = role.duration_seconds {
            params["DurationSeconds"] = json!(duration);
        }
        if let Some(external_id) = &role.external_id {
            params["ExternalId"] = json!(external_id);
        }
        let answer: api::AssumeRoleResponse = self
            .call_with(
                with,
                Service::Sts,
                "AssumeRole",
                params,
                Idempotency::Idempotent,
            )
            .await?;
        let expires = DateTime::from_timestamp(answer.expired_time, 0).ok_or_else(|| {
            self.client.blame(Error::bad_response(
                "AssumeRole: unreadable answer: ExpiredTime is not a time",
            ))
        })?;
        let credentials = answer.credentials;
        Ok(SigningKeys::temporary(
            credentials.tmp_secret_id,
            credentials.tmp_secret_key,
            credentials.token,
            expires,
        ))
    }

    async fn last_used_batch(&self, ids: Vec<String>) -> Result<HashMap<String, LastUsed>> {
        let answer: api::GetSecurityLastUsedResponse = self
            .cam("GetSecurityLastUsed", json!({ "SecretIdList": ids }))
            .await?;
        Ok(answer
            .secret_id_last_used_rows
            .into_iter()
            .map(|row| {
                let used = last_used_from(&row);
                (row.secret_id, used)
            })
            .collect())
    }
}

/// A key record from the wire, times converted from Beijing time.
pub fn record_from(
    key: api::AccessKey,
    profile: &str,
    account_id: Option<&str>,
    user: &str,
    uin: Option<u64>,
) -> Result<KeyRecord> {
    let mut record = KeyRecord::new(
        ProviderKind::Tencent,
        profile,
        key.access_key_id,
        key_status(&key.status)?,
    );
    record.account_id = account_id.map(str::to_string);
    record.user = Some(user.to_string());
    record.user_id = uin.map(|u| u.to_string());
    record.created_at = key.create_time.as_deref().and_then(parse_time);
    Ok(record)
}

/// `2019-12-25 14:53:03` in Beijing time (an RFC 3339 time with a zone is taken as is).
fn parse_time(value: &str) -> Option<DateTime<Utc>> {
    parse_beijing(value).or_else(|| parse_rfc3339(value))
}

/// A last-use row. `LastSecretUsedDate` is the exact moment (Unix milliseconds; seconds for
/// small values) and wins when non-zero; `LastUsedDate` is only a Beijing day, recorded about
/// a day late, so it is the fallback and the record then says `date` precision (`at` is the
/// start of that day).
pub fn last_used_from(row: &api::SecretIdLastUsed) -> LastUsed {
    let exact = row
        .last_secret_used_date
        .filter(|&s| s > 0)
        .and_then(|stamp| {
            let stamp = i64::try_from(stamp).ok()?;
            if stamp >= 100_000_000_000 {
                DateTime::from_timestamp_millis(stamp)
            } else {
                DateTime::from_timestamp(stamp, 0)
            }
        });
    if let Some(at) = exact {
        return LastUsed {
            at: Some(at),
            ..LastUsed::default()
        };
    }
    let day = row
        .last_used_date
        .as_deref()
        .map(str::trim)
        .filter(|d| d.len() >= 10)
        .and_then(|d| d.get(..10))
        .and_then(parse_beijing_date);
    LastUsed {
        at: day,
        date_only: day.is_some(),
        ..LastUsed::default()
    }
}

/// A created key: the secret and the key's record.
pub fn created_from(
    answer: api::CreateAccessKeyResponse,
    profile: &str,
    account_id: Option<&str>,
    user: &str,
    uin: Option<u64>,
) -> Result<NewKey> {
    let created = answer
        .access_key
        .ok_or_else(|| Error::bad_response("CreateAccessKey: the answer holds no AccessKey"))?;
    let secret = Secret::new(created.secret_access_key);
    let key = api::AccessKey {
        access_key_id: created.access_key_id,
        status: created.status,
        create_time: created.create_time,
    };
    let record = record_from(key, profile, account_id, user, uin)?;
    Ok(NewKey { record, secret })
}

/// `Type` is `CAMUser` for sub-users (and federated users), `CAMRole` for roles; the root
/// account is the one whose key belongs to the owner uin itself.
pub fn identity_from(
    answer: api::GetCallerIdentityResponse,
    profile: &str,
    access_key_id: &str,
) -> Identity {
    let arn = answer.arn.unwrap_or_default();
    let kind = answer.identity_type.unwrap_or_default();
    let principal = answer.principal_id.filter(|p| !p.is_empty());
    let account = answer.account_id.filter(|a| !a.is_empty());
    let identity_type = if kind.contains("Role") || arn.contains(":assumed-role/") {
        IdentityType::Role
    } else if principal.is_some() && principal == account {
        IdentityType::Root
    } else {
        IdentityType::User
    };
    Identity {
        provider: ProviderKind::Tencent,
        profile: profile.to_string(),
        account_id: account,
        user: match identity_type {
            IdentityType::User => principal.clone(),
            _ => None,
        },
        // A role's PrincipalId is the uin that assumed it; its own id is `roleId:session`.
        user_id: match identity_type {
            IdentityType::Role => answer.user_id,
            _ => principal.or(answer.user_id),
        },
        arn: (!arn.is_empty()).then_some(arn),
        identity_type,
        access_key_id: access_key_id.to_string(),
    }
}

provider_glue!(TencentProvider, assume_role);

impl Rpc<Value> for TencentProvider {
    type Service = Service;
    type Dialect = Tencent;

    fn client(&self) -> &Client {
        &self.client
    }

    fn request(&self, service: Service, action: &str, params: Value) -> Result<Unsigned> {
        let endpoint = match service {
            Service::Cam => &self.endpoints.cam,
            Service::Sts => &self.endpoints.sts,
            Service::Organization => &self.endpoints.org,
        };
        let body = serde_json::to_vec(&params)
            .map_err(|err| Error::bad_response(format!("{action}: cannot encode: {err}")))?;
        Ok(Unsigned {
            method: Method::POST,
            url: endpoint.clone(),
            headers: vec![("Content-Type".to_string(), "application/json".to_string())],
            body,
        })
    }

    fn sign(
        &self,
        keys: &SigningKeys,
        service: Service,
        action: &str,
        parts: RequestParts<'_>,
        time: DateTime<Utc>,
    ) -> Vec<(String, String)> {
        let key = signer::SigningKey {
            secret_id: &keys.id,
            secret_key: keys.secret.expose(),
            // Sent as X-TC-Token, not signed (the signer's business).
            token: keys.token.as_ref().map(Secret::expose),
            service: service.name(),
        };
        // Signed as `POST /` whatever path a base URL has, as the SDK does.
        let parts = RequestParts {
            path: "/",
            query: "",
            ..parts
        };
        let (added, _) = signer::sign(&key, &parts, time.timestamp());
        let region = (service == Service::Sts || self.endpoints.region_given)
            .then_some(self.endpoints.region.as_str());
        let mut all = vec![
            ("X-TC-Action".to_string(), action.to_string()),
            ("X-TC-Version".to_string(), service.version().to_string()),
        ];
        all.extend(region.map(|r| ("X-TC-Region".to_string(), r.to_string())));
        all.extend(added);
        all
    }
}

/// API 3.0: `{"Response": {...}}` answers, errors in `Response.Error` with HTTP 200.
pub struct Tencent;

impl Dialect for Tencent {
    const REQUEST_ID_HEADER: Option<&'static str> = None;
    /// The CAM codes first, then the common codes by family.
    const CODES: &'static [Rule] = &[
        is("AuthFailure.SignatureExpire", ErrorKind::ClockSkew),
        is("AuthFailure.UnauthorizedOperation", ErrorKind::Permission),
        is("OperationDenied.SubUin", ErrorKind::Permission),
        is("InvalidParameter.UserNotExist", ErrorKind::NotFound),
        is("OperationDenied.UinNotMatch", ErrorKind::NotFound),
        is("OperationDenied.AccessKeyOverLimit", ErrorKind::Limit),
        family("UnauthorizedOperation", ErrorKind::Permission),
        family("AuthFailure", ErrorKind::Auth),
        family("ResourceNotFound", ErrorKind::NotFound),
        prefix("RequestLimitExceeded", ErrorKind::Throttled),
        // Common code "LimitExceeded": a quota, not a request rate.
        family("LimitExceeded", ErrorKind::Limit),
        family("InternalError ServiceUnavailable", ErrorKind::Server),
    ];

    fn parse<T: DeserializeOwned>(body: &[u8]) -> std::result::Result<T, Unreadable> {
        match api::parse::<T>(body) {
            Ok(Answer::Ok(value)) => Ok(value),
            Ok(Answer::Err(envelope)) => Err(Unreadable::Envelope(cloud_error(envelope))),
            Err(why) => Err(Unreadable::Text(why, api::request_id(body))),
        }
    }

    fn parse_error(body: &[u8]) -> Option<CloudError> {
        api::parse_error(body).map(cloud_error)
    }
}

fn cloud_error(envelope: api::ErrorBody) -> CloudError {
    CloudError {
        code: envelope.code,
        message: Some(envelope.message),
        request_id: envelope.request_id,
        detail: None,
    }
}

#[async_trait]
impl AccessKeyProvider for TencentProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Tencent
    }

    fn profile(&self) -> &str {
        self.name()
    }

    async fn whoami(&self) -> Result<Identity> {
        Ok(self.caller().await?.identity.clone())
    }

    /// Every listed member is usable (the listing has no state). The listing does not say
    /// which account manages the organization: the caller's own account does, listed or not
    /// (whether the listing includes it is UNCONFIRMED).
    async fn organization_accounts(&self) -> Result<Vec<OrgAccount>> {
        let members = self.org_members().await?;
        let management = self.caller().await?.identity.account_id.clone();
        let account = |id: String, name| OrgAccount {
            id,
            name,
            active: true,
            management: management.clone(),
        };
        let mut accounts: Vec<OrgAccount> = members
            .into_iter()
            .map(|m| account(m.member_uin.to_string(), m.name))
            .collect();
        if let Some(id) = &management {
            if !accounts.iter().any(|a| &a.id == id) {
                accounts.push(account(id.clone(), None));
            }
        }
        Ok(accounts)
    }

    fn member_role(&self, account: &str, role_name: Option<&str>) -> Result<String> {
        let role = role_name.unwrap_or(ORG_ROLE);
        Ok(format!("qcs::cam::uin/{account}:roleName/{role}"))
    }

    async fn list_users(&self) -> Result<Vec<UserRef>> {
        // ListUsers returns every sub-user in one answer: CAM does not page it.
        Ok(self
            .sub_users()
            .await?
            .into_iter()
            .map(|u| UserRef {
                name: u.name,
                id: Some(u.uin.to_string()),
            })
            .collect())
    }

    async fn list_keys(&self, user: Option<&UserRef>) -> Result<Vec<KeyRecord>> {
        let account_id = self.caller().await?.identity.account_id.clone();
        let (params, label, uin) = self.target(user).await?;
        // ListAccessKeys has no paging: at most two keys per user.
        let answer: api::ListAccessKeysResponse = self.cam("ListAccessKeys", params).await?;
        answer
            .access_keys
            .into_iter()
            .map(|key| record_from(key, self.name(), account_id.as_deref(), &label, uin))
            .collect()
    }

    async fn last_used(&self, key: &KeyRef) -> Result<LastUsed> {
        let mut found = self
            .last_used_batch(vec![key.access_key_id.clone()])
            .await?;
        Ok(found.remove(&key.access_key_id).unwrap_or_default())
    }

    /// `GetSecurityLastUsed` answers for up to ten ids at once.
    async fn fill_last_used(&self, records: &mut [KeyRecord], concurrency: usize) -> Result<()> {
        let batches: Vec<Vec<String>> = records
            .chunks(LAST_USED_BATCH)
            .map(|chunk| chunk.iter().map(|r| r.access_key_id.clone()).collect())
            .collect();
        let results: Vec<Result<HashMap<String, LastUsed>>> = stream::iter(batches)
            .map(|ids| self.last_used_batch(ids))
            .buffered(concurrency.max(1))
            .collect()
            .await;
        let mut found = HashMap::new();
        for result in results {
            found.extend(result?);
        }
        for record in records.iter_mut() {
            record.apply_last_used(found.remove(&record.access_key_id).unwrap_or_default());
        }
        Ok(())
    }

    async fn create_key(&self, user: Option<&UserRef>) -> Result<NewKey> {
        let account_id = self.caller().await?.identity.account_id.clone();
        let (params, label, uin) = self.target(user).await?;
        let answer: api::CreateAccessKeyResponse = self
            .call(
                Service::Cam,
                "CreateAccessKey",
                params,
                Idempotency::NotIdempotent,
            )
            .await?;
        created_from(answer, self.name(), account_id.as_deref(), &label, uin)
            .map_err(|err| self.client.blame(err))
    }

    async fn set_status(&self, key: &KeyRef, status: KeyStatus) -> Result<()> {
        let (mut params, _, _) = self.target(key.user.as_ref()).await?;
        params["AccessKeyId"] = json!(key.access_key_id);
        params["Status"] = json!(status.as_wire());
        let _: IgnoredAny = self.cam("UpdateAccessKey", params).await?;
        Ok(())
    }

    async fn delete_key(&self, key: &KeyRef) -> Result<()> {
        let (mut params, _, _) = self.target(key.user.as_ref()).await?;
        params["AccessKeyId"] = json!(key.access_key_id);
        let _: IgnoredAny = self.cam("DeleteAccessKey", params).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Failure, Response, Retry};

    fn error_class(code: &str) -> (ErrorKind, Retry) {
        crate::providers::error_class::<Tencent>(code, "", 200)
    }

    fn classify<T: DeserializeOwned>(
        action: &str,
        response: Response,
    ) -> std::result::Result<T, Failure> {
        crate::providers::decode::<Tencent, T>(action, response)
    }
    use crate::model::format_time;
    use chrono::TimeZone;

    fn key(id: &str, status: &str, created: &str) -> api::AccessKey {
        api::AccessKey {
            access_key_id: id.to_string(),
            status: status.to_string(),
            create_time: Some(created.to_string()),
        }
    }

    #[test]
    fn a_key_made_at_23_30_beijing_time_has_the_right_creation_and_age() {
        let record = record_from(
            key("AKID1", "Active", "2024-03-01 23:30:00"),
            "p",
            Some("100000000001"),
            "alice",
            Some(100000000102),
        );
        let mut record = record.unwrap();
        // 23:30 in Beijing is 15:30 UTC the same day, not 23:30 UTC.
        assert_eq!(
            record.created_at.as_ref().map(format_time).as_deref(),
            Some("2024-03-01T15:30:00Z")
        );
        // Midnight in Beijing two days later: 24.5 hours have passed, so one whole day.
        // (Read as UTC the key would be only 16.5 hours old: age 0.)
        let now = Utc.with_ymd_and_hms(2024, 3, 2, 16, 0, 0).unwrap();
        record.compute_ages(now);
        assert_eq!(record.age_days, Some(1));
        assert_eq!(record.idle_days, Some(1));
        // 05:00 Beijing is the previous day in UTC.
        let early = record_from(
            key("AKID2", "Inactive", "2024-03-02 05:00:00"),
            "p",
            None,
            "alice",
            None,
        )
        .unwrap();
        assert_eq!(
            early.created_at.as_ref().map(format_time).as_deref(),
            Some("2024-03-01T21:00:00Z")
        );
        assert_eq!(early.status, KeyStatus::Inactive);
        assert_eq!(record.user.as_deref(), Some("alice"));
        assert_eq!(record.user_id.as_deref(), Some("100000000102"));
        assert_eq!(record.account_id.as_deref(), Some("100000000001"));
        assert!(record_from(key("AKID3", "Disabled", "x"), "p", None, "a", None).is_err());
    }

    #[test]
    fn last_use_is_the_exact_stamp_else_a_beijing_day_with_date_precision() {
        let row = |date: Option<&str>, stamp: Option<u64>| api::SecretIdLastUsed {
            secret_id: "AKID1".into(),
            last_used_date: date.map(str::to_string),
            last_secret_used_date: stamp,
        };
        // Tencent's own example: the stamp (milliseconds) is later than the delayed day.
        let used = last_used_from(&row(Some("2022-12-19"), Some(1671681023555)));
        assert!(!used.date_only);
        assert_eq!(
            used.at.as_ref().map(format_time).as_deref(),
            Some("2022-12-22T03:50:23Z")
        );
        assert_eq!(used.service, None);
        // Seconds are taken as seconds.
        let used = last_used_from(&row(None, Some(1671681023)));
        assert_eq!(
            used.at.as_ref().map(format_time).as_deref(),
            Some("2022-12-22T03:50:23Z")
        );
        // No stamp (null or 0): the day, which starts at 00:00 Beijing = 16:00 UTC the day
        // before, with date precision.
        for stamp in [None, Some(0)] {
            let used = last_used_from(&row(Some("2022-12-19"), stamp));
            assert!(used.date_only);
            assert_eq!(
                used.at.as_ref().map(format_time).as_deref(),
                Some("2022-12-18T16:00:00Z")
            );
        }
        let used = last_used_from(&row(Some(""), Some(0)));
        assert_eq!(used, LastUsed::default());
        let mut record = KeyRecord::new(
            ProviderKind::Tencent,
            "p",
            "AKID1".into(),
            KeyStatus::Active,
        );
        record.apply_last_used(last_used_from(&row(Some("2022-12-19"), None)));
        assert_eq!(record.last_used_precision, Some("date"));
        record.apply_last_used(last_used_from(&row(
            Some("2022-12-19"),
            Some(1671681023555),
        )));
        assert_eq!(record.last_used_precision, None);
        record.apply_last_used(last_used_from(&row(None, None)));
        assert_eq!(record.last_used_precision, None);
    }

    #[test]
    fn error_codes_map_to_kinds() {
        use ErrorKind::*;
        let kind = |code| error_class(code).0;
        assert_eq!(kind("AuthFailure.SignatureFailure"), Auth);
        assert_eq!(kind("AuthFailure.SecretIdNotFound"), Auth);
        assert_eq!(kind("AuthFailure.TokenFailure"), Auth);
        assert_eq!(kind("AuthFailure.UnauthorizedOperation"), Permission);
        assert_eq!(kind("UnauthorizedOperation"), Permission);
        assert_eq!(kind("UnauthorizedOperation.Foo"), Permission);
        assert_eq!(kind("OperationDenied.SubUin"), Permission);
        assert_eq!(kind("ResourceNotFound.UserNotExist"), NotFound);
        assert_eq!(kind("ResourceNotFound.SecretNotExist"), NotFound);
        assert_eq!(kind("InvalidParameter.UserNotExist"), NotFound);
        assert_eq!(kind("OperationDenied.UinNotMatch"), NotFound);
        assert_eq!(kind("OperationDenied.AccessKeyOverLimit"), Limit);
        assert_eq!(kind("InvalidParameter.ParamError"), Refused);
        assert_eq!(kind("FailedOperation.Accesskey"), Refused);
        assert_eq!(
            error_class("RequestLimitExceeded"),
            (Throttled, Retry::Throttled)
        );
        assert_eq!(
            error_class("RequestLimitExceeded.UinLimitExceeded"),
            (Throttled, Retry::Throttled)
        );
        assert_eq!(
            error_class("AuthFailure.SignatureExpire"),
            (ClockSkew, Retry::ClockSkew)
        );
        assert_eq!(error_class("InternalError"), (Server, Retry::Server));
        assert_eq!(
            error_class("InternalError.SystemError"),
            (Server, Retry::Server)
        );
        // A prefix must end at a dot: "AuthFailureX" is no AuthFailure.
        assert_eq!(kind("AuthFailureX"), Refused);
        for code in [
            "AuthFailure.SignatureFailure",
            "OperationDenied.AccessKeyOverLimit",
            "ResourceNotFound.UserNotExist",
        ] {
            assert_eq!(kind(code).exit_code(), 3, "{code}");
        }
    }

    fn response(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: Default::default(),
            body: bytes::Bytes::from(body.to_string()),
        }
    }

    #[test]
    fn classify_reads_the_envelope_of_an_http_200() {
        let failure = classify::<api::ListUsersResponse>(
            "ListUsers",
            response(
                200,
                r#"{"Response": {"Error": {"Code": "RequestLimitExceeded", "Message": "too fast"}, "RequestId": "r-1"}}"#,
            ),
        )
        .err()
        .unwrap();
        assert_eq!(failure.retry, Retry::Throttled);
        assert_eq!(failure.error.code.as_deref(), Some("RequestLimitExceeded"));
        assert_eq!(failure.error.request_id.as_deref(), Some("r-1"));
        let users = classify::<api::ListUsersResponse>(
            "ListUsers",
            response(
                200,
                r#"{"Response": {"Data": [{"Uin": 1, "Name": "a"}], "RequestId": "r"}}"#,
            ),
        )
        .unwrap();
        assert_eq!(users.data[0].name, "a");
        let failure = classify::<api::ListUsersResponse>("ListUsers", response(502, "<html>"))
            .err()
            .unwrap();
        assert_eq!(failure.retry, Retry::Server);
        let failure =
            classify::<api::ListUsersResponse>("ListUsers", response(200, "{\"Response\": 1}"))
                .err()
                .unwrap();
        assert_eq!(failure.error.kind, ErrorKind::BadResponse);
    }

    #[test]
    fn identity_kinds() {
        let answer = |kind: &str, account: &str, principal: &str, arn: &str| {
            api::GetCallerIdentityResponse {
                arn: Some(arn.into()),
                account_id: Some(account.into()),
                user_id: Some(principal.into()),
                principal_id: Some(principal.into()),
                identity_type: Some(kind.into()),
            }
        };
        let user = identity_from(
            answer(
                "CAMUser",
                "1000262001",
                "1000261001",
                "qcs::cam:1000262001:uin/1000261001",
            ),
            "p",
            "AKID1",
        );
        assert_eq!(user.identity_type, IdentityType::User);
        assert_eq!(user.user_id.as_deref(), Some("1000261001"));
        assert_eq!(user.account_id.as_deref(), Some("1000262001"));
        let root = identity_from(
            answer(
                "CAMUser",
                "1000262001",
                "1000262001",
                "qcs::cam::uin/1000262001:uin/1000262001",
            ),
            "p",
            "AKID1",
        );
        assert_eq!(root.identity_type, IdentityType::Root);
        assert_eq!(root.user, None);
        let role = identity_from(
            answer(
                "CAMRole",
                "1000262001",
                "1000261001",
                "qcs::sts:1000262001:assumed-role/4611686018427",
            ),
            "p",
            "AKID1",
        );
        assert_eq!(role.identity_type, IdentityType::Role);
    }

    /// The STS page's example answer; the refusals AssumeRole may give are exit 3.
    #[test]
    fn reads_assume_role_answers_and_never_shows_their_secrets() {
        let body = br#"{"Response":{"Credentials":{"Token":"da1e9secrettoken","TmpSecretId":"AKIDtmp","TmpSecretKey":"q95Ksecret"},"ExpiredTime":1543914376,"Expiration":"2018-12-04T09:06:16Z","RequestId":"4daec797"}}"#;
        let answer: api::AssumeRoleResponse =
            crate::providers::parse::<Tencent, _>("AssumeRole", 200, body).unwrap();
        assert_eq!(answer.credentials.tmp_secret_id, "AKIDtmp");
        assert_eq!(answer.credentials.tmp_secret_key.expose(), "q95Ksecret");
        assert_eq!(answer.credentials.token.expose(), "da1e9secrettoken");
        assert_eq!(answer.expired_time, 1543914376);
        let shown = format!("{answer:?}");
        assert!(
            !shown.contains("q95K") && !shown.contains("da1e9"),
            "{shown}"
        );
        for code in [
            "UnauthorizedOperation",
            "ResourceNotFound.RoleNotFound",
            "InvalidParameter.OverTimeError",
        ] {
            assert_eq!(error_class(code).0.exit_code(), 3, "{code}");
        }
    }

    #[test]
    fn endpoints_share_one_base_url_when_given() {
        let e = endpoints(None, None);
        assert_eq!(e.cam.as_str(), "https://cam.tencentcloudapi.com/");
        assert_eq!(e.sts.as_str(), "https://sts.tencentcloudapi.com/");
        assert_eq!(e.org.as_str(), "https://organization.tencentcloudapi.com/");
        assert_eq!(e.region, DEFAULT_REGION);
        assert!(!e.region_given);
        let base = Url::parse("http://127.0.0.1:5000").unwrap();
        let e = endpoints(Some("ap-shanghai"), Some(&base));
        assert_eq!(e.cam, base);
        assert_eq!(e.sts, base);
        assert_eq!(e.org, base);
        assert_eq!(e.region, "ap-shanghai");
        assert!(e.region_given);
        // The signed service never follows the host.
        assert_eq!(Service::Cam.name(), "cam");
        assert_eq!(Service::Sts.name(), "sts");
    }

    /// A scripted stand-in for the API: answers by `X-TC-Action` and records what it got.
    mod wire {
        use super::*;
        use crate::config::{Profile, Source};
        use crate::http::HttpSettings;
        use axum::http::{HeaderMap, HeaderValue};
        use std::sync::Mutex;

        #[derive(Debug, Clone)]
        pub struct Seen {
            pub action: String,
            pub headers: HeaderMap,
            pub body: Value,
        }

        type Script = dyn Fn(&str, &Value, usize) -> (Option<String>, Value) + Send + Sync;

        pub struct Fake {
            pub seen: Arc<Mutex<Vec<Seen>>>,
            pub endpoint: String,
            _task: tokio::task::JoinHandle<()>,
        }

        impl Fake {
            pub async fn start(script: Arc<Script>) -> Fake {
                let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
                let log = seen.clone();
                let app = axum::Router::new().fallback(
                    move |headers: HeaderMap, body: axum::body::Bytes| {
                        let log = log.clone();
                        let script = script.clone();
                        async move {
                            let action = headers
                                .get("x-tc-action")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_string();
                            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                            let n = {
                                let mut log = log.lock().unwrap();
                                log.push(Seen {
                                    action: action.clone(),
                                    headers: headers.clone(),
                                    body: body.clone(),
                                });
                                log.iter().filter(|s| s.action == action).count()
                            };
                            let (date, mut inner) = script(&action, &body, n);
                            inner["RequestId"] = json!(format!("req-{action}-{n}"));
                            let mut response = axum::response::IntoResponse::into_response(
                                json!({ "Response": inner }).to_string(),
                            );
                            if let Some(date) = date {
                                response
                                    .headers_mut()
                                    .insert("date", HeaderValue::from_str(&date).unwrap());
                            }
                            response
                        }
                    },
                );
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let endpoint = format!("http://{}", listener.local_addr().unwrap());
                let task = tokio::spawn(async move {
                    let _ = axum::serve(listener, app).await;
                });
                Fake {
                    seen,
                    endpoint,
                    _task: task,
                }
            }

            pub fn provider(&self, token: Option<&str>) -> TencentProvider {
                let profile = Profile {
                    name: "fake".into(),
                    provider: ProviderKind::Tencent,
                    access_key_id: "AKIDfake0000000000000000000000000000".into(),
                    secret_access_key: Secret::new("fakesecretfakesecretfakesecret12"),
                    session_token: token.map(Secret::new),
                    region: None,
                    endpoint: None,
                    project_id: None,
                    source: Source::Environment,
                    secret_env: None,
                    role: None,
                    fetch: None,
                };
                let resolved = ResolvedProfile {
                    profile,
                    endpoint: Some(Url::parse(&self.endpoint).unwrap()),
                    region: None,
                    page_size: None,
                };
                let http = HttpClient::new(HttpSettings {
                    retries: 3,
                    base_backoff: std::time::Duration::from_millis(1),
                    max_backoff: std::time::Duration::from_millis(5),
                    ..HttpSettings::default()
                })
                .unwrap();
                TencentProvider::new(resolved, Arc::new(http))
            }

            pub fn seen(&self) -> Vec<Seen> {
                self.seen.lock().unwrap().clone()
            }
        }

        pub fn identity() -> Value {
            json!({"Type": "CAMUser", "AccountId": "100000000001", "UserId": "100000000101",
                   "PrincipalId": "100000000101", "Arn": "qcs::cam:100000000001:uin/100000000101"})
        }

        pub fn error(code: &str) -> Value {
            json!({"Error": {"Code": code, "Message": format!("{code} happened")}})
        }
    }

    #[tokio::test]
    async fn throttling_is_retried_and_the_answer_used() {
        let fake = wire::Fake::start(Arc::new(|action: &str, _: &Value, n: usize| {
            match (action, n) {
                ("ListUsers", 1 | 2) => (None, wire::error("RequestLimitExceeded")),
                ("ListUsers", _) => (None, json!({"Data": [{"Uin": 7, "Name": "seven"}]})),
                _ => (None, wire::error("InvalidAction")),
            }
        }))
        .await;
        let users = fake.provider(None).list_users().await.unwrap();
        assert_eq!(
            users,
            [UserRef {
                name: "seven".into(),
                id: Some("7".into())
            }]
        );
        assert_eq!(fake.seen().len(), 3);
    }

    #[tokio::test]
    async fn a_refused_timestamp_is_corrected_from_the_servers_date() {
        let ahead = Utc::now() + chrono::Duration::hours(1);
        let fake = wire::Fake::start(Arc::new(move |_: &str, _: &Value, n: usize| {
            if n == 1 {
                (
                    Some(ahead.to_rfc2822()),
                    wire::error("AuthFailure.SignatureExpire"),
                )
            } else {
                (None, wire::identity())
            }
        }))
        .await;
        let provider = fake.provider(None);
        let me = provider.whoami().await.unwrap();
        assert_eq!(me.account_id.as_deref(), Some("100000000001"));
        let stamps: Vec<i64> = fake
            .seen()
            .iter()
            .filter(|s| s.action == "GetCallerIdentity")
            .map(|s| {
                s.headers["x-tc-timestamp"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect();
        assert_eq!(stamps.len(), 2);
        assert!((stamps[1] - stamps[0] - 3600).abs() <= 5, "{stamps:?}");
    }

    #[tokio::test]
    async fn creation_is_not_retried_after_a_server_error() {
        let fake = wire::Fake::start(Arc::new(|action: &str, _: &Value, _: usize| match action {
            "GetCallerIdentity" => (None, wire::identity()),
            "ListUsers" => (
                None,
                json!({"Data": [{"Uin": 100000000101u64, "Name": "admin"}]}),
            ),
            _ => (None, wire::error("InternalError.SystemError")),
        }))
        .await;
        let err = fake.provider(None).create_key(None).await.err().unwrap();
        assert_eq!(err.kind, ErrorKind::Server);
        assert_eq!(err.code.as_deref(), Some("InternalError.SystemError"));
        assert_eq!(err.request_id.as_deref(), Some("req-CreateAccessKey-1"));
        let creates = fake
            .seen()
            .iter()
            .filter(|s| s.action == "CreateAccessKey")
            .count();
        assert_eq!(creates, 1);
        // The same code on an idempotent call is retried.
        let err = fake.provider(None).list_keys(None).await.err().unwrap();
        assert!(err.message.contains("after 4 attempts"), "{}", err.message);
    }

    #[tokio::test]
    async fn requests_carry_tencents_headers_and_json_params() {
        let fake = wire::Fake::start(Arc::new(|action: &str, _: &Value, _: usize| match action {
            "GetCallerIdentity" => (None, wire::identity()),
            "ListUsers" => (None, json!({"Data": [{"Uin": 100000000102u64, "Name": "alice"}]})),
            "GetUser" => (None, json!({"Uin": 100000000102u64, "Name": "alice", "Uid": 5})),
            "ListAccessKeys" => (None, json!({"AccessKeys": [
                {"AccessKeyId": "AKID1", "Status": "Active", "CreateTime": "2024-03-01 23:30:00"}]})),
            _ => (None, json!({})),
        }))
        .await;
        let provider = fake.provider(Some("session-token-value"));
        let keys = provider
            .list_keys(Some(&UserRef::from_arg("alice")))
            .await
            .unwrap();
        assert_eq!(keys[0].user.as_deref(), Some("alice"));
        assert_eq!(keys[0].user_id.as_deref(), Some("100000000102"));
        assert_eq!(
            keys[0].created_at.as_ref().map(format_time).as_deref(),
            Some("2024-03-01T15:30:00Z")
        );
        provider
            .set_status(&keys[0].key_ref(), KeyStatus::Inactive)
            .await
            .unwrap();
        let seen = fake.seen();
        let by = |action: &str| seen.iter().find(|s| s.action == action).unwrap().clone();
        let sts = by("GetCallerIdentity");
        assert_eq!(sts.headers["x-tc-version"], STS_VERSION);
        assert_eq!(sts.headers["x-tc-region"], DEFAULT_REGION);
        assert_eq!(sts.headers["x-tc-token"], "session-token-value");
        assert_eq!(sts.headers["content-type"], "application/json");
        let auth = sts.headers["authorization"].to_str().unwrap();
        assert!(auth.contains("/sts/tc3_request"), "{auth}");
        assert!(auth.contains("SignedHeaders=content-type;host"), "{auth}");
        let get_user = by("GetUser");
        assert_eq!(get_user.body, json!({"Name": "alice"}));
        assert!(get_user.headers["authorization"]
            .to_str()
            .unwrap()
            .contains("/cam/tc3_request"));
        assert_eq!(get_user.headers["x-tc-version"], CAM_VERSION);
        assert!(get_user.headers.get("x-tc-region").is_none());
        assert_eq!(
            by("ListAccessKeys").body,
            json!({"TargetUin": 100000000102u64})
        );
        assert_eq!(
            by("UpdateAccessKey").body,
            json!({"TargetUin": 100000000102u64, "AccessKeyId": "AKID1", "Status": "Inactive"})
        );
    }

    #[tokio::test]
    async fn last_use_is_asked_ten_ids_at_a_time() {
        let fake = wire::Fake::start(Arc::new(|action: &str, body: &Value, _: usize| {
            assert_eq!(action, "GetSecurityLastUsed");
            let rows: Vec<Value> = body["SecretIdList"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|id| id.as_str().unwrap() != "AKID7")
                .map(|id| json!({"SecretId": id, "LastUsedDate": "2024-06-01", "LastSecretUsedDate": 0}))
                .collect();
            (None, json!({ "SecretIdLastUsedRows": rows }))
        }))
        .await;
        let mut records: Vec<KeyRecord> = (0..23)
            .map(|i| {
                KeyRecord::new(
                    ProviderKind::Tencent,
                    "fake",
                    format!("AKID{i}"),
                    KeyStatus::Active,
                )
            })
            .collect();
        fake.provider(None)
            .fill_last_used(&mut records, 4)
            .await
            .unwrap();
        let mut sizes: Vec<usize> = fake
            .seen()
            .iter()
            .map(|s| s.body["SecretIdList"].as_array().unwrap().len())
            .collect();
        sizes.sort();
        assert_eq!(sizes, [3, 10, 10]);
        for record in &records {
            if record.access_key_id == "AKID7" {
                assert_eq!(record.last_used_at, None);
                assert_eq!(record.last_used_precision, None);
            } else {
                assert_eq!(
                    record.last_used_at.as_ref().map(format_time).as_deref(),
                    Some("2024-05-31T16:00:00Z")
                );
                assert_eq!(record.last_used_precision, Some("date"));
            }
        }
    }

    /// Offset moves by what each page held until Total; the caller's own account, unlisted
    /// here, is added as the management account; a page short of Total that holds nothing
    /// stops the listing instead of looping.
    #[tokio::test]
    async fn members_are_paged_and_the_caller_is_the_management_account() {
        let fake = wire::Fake::start(Arc::new(
            |action: &str, body: &Value, _: usize| match action {
                "GetCallerIdentity" => (None, wire::identity()),
                "DescribeOrganizationMembers" => {
                    let page = match body["Offset"].as_u64() {
                        Some(0) => json!([{"MemberUin": 300000000001u64, "Name": "a"},
                                          {"MemberUin": 300000000002u64, "Name": "b"}]),
                        Some(2) => json!([{"MemberUin": "300000000003", "Name": null}]),
                        _ => json!([]),
                    };
                    (None, json!({"Items": page, "Total": 3}))
                }
                _ => (None, wire::error("InvalidAction")),
            },
        ))
        .await;
        let provider = fake.provider(None);
        let accounts = provider.organization_accounts().await.unwrap();
        let ids: Vec<&str> = accounts.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "300000000001",
                "300000000002",
                "300000000003",
                "100000000001"
            ]
        );
        assert!(accounts.iter().all(|a| a.active));
        assert!(accounts
            .iter()
            .all(|a| a.management.as_deref() == Some("100000000001")));
        let pages: Vec<(Value, String)> = fake
            .seen()
            .into_iter()
            .filter(|s| s.action == "DescribeOrganizationMembers")
            .map(|s| {
                let auth = s.headers["authorization"].to_str().unwrap().to_string();
                assert_eq!(s.headers["x-tc-version"], ORG_VERSION);
                (s.body, auth)
            })
            .collect();
        assert_eq!(pages.len(), 2);
        assert_eq!(pages[0].0, json!({"Offset": 0, "Limit": ORG_PAGE_LIMIT}));
        assert_eq!(pages[1].0, json!({"Offset": 2, "Limit": ORG_PAGE_LIMIT}));
        assert!(
            pages[0].1.contains("/organization/tc3_request"),
            "{}",
            pages[0].1
        );
        assert_eq!(
            provider.member_role("300000000002", None).unwrap(),
            "qcs::cam::uin/300000000002:roleName/OrganizationAccessControlRole"
        );
        assert_eq!(
            provider
                .member_role("300000000002", Some("Auditor"))
                .unwrap(),
            "qcs::cam::uin/300000000002:roleName/Auditor"
        );

        let short = wire::Fake::start(Arc::new(|action: &str, _: &Value, _: usize| match action {
            "GetCallerIdentity" => (None, wire::identity()),
            _ => (None, json!({"Items": [], "Total": 5})),
        }))
        .await;
        let err = short
            .provider(None)
            .organization_accounts()
            .await
            .unwrap_err();
        assert_eq!(err.exit_code(), 4);
        assert!(
            err.message.contains("repeats a page marker"),
            "{}",
            err.message
        );
    }
}
