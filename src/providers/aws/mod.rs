//! AWS IAM and STS behind [`AccessKeyProvider`].

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
    ProviderKind, Secret, UserRef, ROOT_USER,
};
use crate::provider::{AccessKeyProvider, ResolvedProfile};
use crate::providers::assumed::{self, Assume, Credentials, SigningKeys};
use crate::providers::report::{self, wait_until_generated, CredentialReport, ReportCell};
use crate::providers::{
    is, key_status, paginate, when, Client, CloudError, Dialect, Rpc, Rule, Unreadable, Unsigned,
};
use crate::signing::{percent_encode, RequestParts};
use crate::time::parse_rfc3339;

use api::{IAM_VERSION, STS_VERSION};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    Iam,
    Sts,
}

/// Where to send IAM and STS calls and which region signs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub iam: Url,
    pub iam_region: String,
    pub sts: Url,
    pub sts_region: String,
}

/// Endpoints by partition: `cn-*` → aws-cn, `us-gov-*` → aws-us-gov, anything else → aws.
pub fn endpoints(region: Option<&str>, endpoint: Option<&Url>) -> Endpoints {
    let region = region.filter(|r| !r.is_empty());
    let (iam, iam_region, sts_host) = match region {
        Some(r) if r.starts_with("cn-") => (
            "iam.cn-north-1.amazonaws.com.cn",
            "cn-north-1",
            "amazonaws.com.cn",
        ),
        Some(r) if r.starts_with("us-gov-") => {
            ("iam.us-gov.amazonaws.com", "us-gov-west-1", "amazonaws.com")
        }
        _ => ("iam.amazonaws.com", "us-east-1", "amazonaws.com"),
    };
    let sts = match region {
        Some(r) => format!("https://sts.{r}.{sts_host}/"),
        None => "https://sts.amazonaws.com/".to_string(),
    };
    let url = |raw: &str| Url::parse(raw).expect("built-in endpoint URLs are valid");
    Endpoints {
        iam: endpoint
            .cloned()
            .unwrap_or_else(|| url(&format!("https://{iam}/"))),
        iam_region: iam_region.into(),
        sts: endpoint.cloned().unwrap_or_else(|| url(&sts)),
        sts_region: region.unwrap_or("us-east-1").into(),
    }
}

/// Organizations' one global endpoint per partition and its signing region.
pub fn organizations_endpoint(region: Option<&str>, endpoint: Option<&Url>) -> (Url, &'static str) {
    let (host, signing) = match region {
        Some(r) if r.starts_with("cn-") => (
            "organizations.cn-northwest-1.amazonaws.com.cn",
            "cn-northwest-1",
        ),
        Some(r) if r.starts_with("us-gov-") => {
            ("organizations.us-gov-west-1.amazonaws.com", "us-gov-west-1")
        }
        _ => ("organizations.us-east-1.amazonaws.com", "us-east-1"),
    };
    let url = endpoint.cloned().unwrap_or_else(|| {
        Url::parse(&format!("https://{host}/")).expect("built-in endpoint URLs are valid")
    });
    (url, signing)
}

/// IAM's and STS's query protocol: XML answers, `<ErrorResponse>` errors.
pub struct Aws;

/// Organizations' JSON 1.1 protocol: the same error codes, in a JSON body.
pub struct Organizations;

impl Dialect for Organizations {
    const REQUEST_ID_HEADER: Option<&'static str> = Some("x-amzn-requestid");
    const CODES: &'static [Rule] = &[
        is("AccessDeniedException", ErrorKind::Permission),
        // Asked of an account that manages no organization: a member's, or a lone account's.
        is("AWSOrganizationsNotInUseException", ErrorKind::Permission),
        is(
            "UnrecognizedClientException InvalidSignatureException",
            ErrorKind::Auth,
        ),
        is("ExpiredTokenException", ErrorKind::Auth),
        is("InvalidInputException", ErrorKind::Usage),
        is(
            "TooManyRequestsException ThrottlingException",
            ErrorKind::Throttled,
        ),
        is("ServiceException", ErrorKind::Server),
    ];

    fn parse_error(body: &[u8]) -> Option<CloudError> {
        let body: api::JsonError = serde_json::from_slice(body).ok()?;
        // Real AWS may prefix the code with a namespace: `…#Code`.
        let code = body.kind.rsplit('#').next().unwrap_or_default().to_string();
        Some(CloudError {
            code,
            message: body.message,
            request_id: None,
            detail: None,
        })
    }
}

/// IAM and STS refuse a stale or future X-Amz-Date as SignatureDoesNotMatch; only the message
/// tells it from a wrong secret.
fn clock_message(message: &str) -> bool {
    message.starts_with("Signature expired:") || message.starts_with("Signature not yet current:")
}

impl Dialect for Aws {
    const REQUEST_ID_HEADER: Option<&'static str> = Some("x-amzn-requestid");
    const CODES: &'static [Rule] = &[
        when("SignatureDoesNotMatch", clock_message, ErrorKind::ClockSkew),
        is("NoSuchEntity", ErrorKind::NotFound),
        is("LimitExceeded", ErrorKind::Limit),
        is("InvalidClientTokenId", ErrorKind::Auth),
        is("SignatureDoesNotMatch IncompleteSignature", ErrorKind::Auth),
        is("MissingAuthenticationToken", ErrorKind::Auth),
        is("InvalidAccessKeyId ExpiredToken", ErrorKind::Auth),
        is("AuthFailure InvalidToken", ErrorKind::Auth),
        is("AccessDenied AccessDeniedException", ErrorKind::Permission),
        is("UnauthorizedOperation", ErrorKind::Permission),
        // A key call without UserName from temporary (role) credentials: the caller must name
        // a user, a usage error rather than a refusal.
        when(
            "ValidationError",
            |m| m.contains("non-User credentials"),
            ErrorKind::Usage,
        ),
        is("RequestExpired RequestTimeTooSkewed", ErrorKind::ClockSkew),
        is("SignatureExpired", ErrorKind::ClockSkew),
        is("Throttling ThrottlingException", ErrorKind::Throttled),
        is("RequestLimitExceeded", ErrorKind::Throttled),
        is("TooManyRequestsException", ErrorKind::Throttled),
        is("ServiceFailure InternalFailure", ErrorKind::Server),
        is("ServiceUnavailable InternalError", ErrorKind::Server),
    ];

    fn parse<T: DeserializeOwned>(body: &[u8]) -> std::result::Result<T, Unreadable> {
        api::parse(body).map_err(Unreadable::from)
    }

    fn parse_error(body: &[u8]) -> Option<CloudError> {
        let body = api::parse_error(body)?;
        Some(CloudError {
            code: body.code.unwrap_or_default(),
            message: body.message,
            request_id: body.request_id,
            detail: None,
        })
    }

    /// IAM's answer to a role session asking for "its own" keys: say what it means.
    fn reword(kind: ErrorKind, message: String) -> String {
        match kind {
            ErrorKind::Usage => format!("a role session has no access keys of its own: name the IAM user with --user ({message})"),
            _ => message,
        }
    }
}

pub struct AwsProvider {
    client: Client,
    endpoints: Endpoints,
    keys: Credentials<AwsProvider>,
    identity: OnceCell<Identity>,
    /// The account's credential report, once an `--all-users` scan asked for it (`None`:
    /// refused or unreadable, so every user and key is asked instead).
    report: ReportCell,
}

impl AwsProvider {
    pub fn new(profile: ResolvedProfile, http: Arc<HttpClient>) -> Self {
        let endpoints = endpoints(profile.region.as_deref(), profile.endpoint.as_ref());
        let keys = Credentials::Own(Arc::new(SigningKeys::own(&profile.profile)));
        AwsProvider {
            client: Client { profile, http },
            endpoints,
            keys,
            identity: OnceCell::new(),
            report: ReportCell::default(),
        }
    }

    /// MaxItems of list calls: IAM's most (1000) unless `--page-size` says otherwise.
    fn max_items(&self) -> String {
        self.client.profile.page_size.unwrap_or(1000).to_string()
    }

    /// GenerateCredentialReport until it is COMPLETE (IAM makes at most one every 4 hours and
    /// answers COMPLETE at once while one is fresh), then GetCredentialReport.
    async fn fetch_report(&self) -> Result<CredentialReport> {
        wait_until_generated(|| async {
            let answer: api::GenerateCredentialReportResponse =
                self.iam("GenerateCredentialReport", &[]).await?;
            Ok(answer.result.state.as_deref() == Some("COMPLETE"))
        })
        .await?;
        let answer: api::GetCredentialReportResponse = self.iam("GetCredentialReport", &[]).await?;
        let unreadable = |why: String| Error::bad_response(format!("GetCredentialReport: {why}"));
        let csv = report::decode_content(answer.result.content.as_deref()).map_err(unreadable)?;
        Ok(CredentialReport {
            generated_at: answer
                .result
                .generated_time
                .as_deref()
                .and_then(parse_rfc3339),
            users: api::parse_credential_report(&csv, ROOT_USER).map_err(unreadable)?,
            names_service: true,
        })
    }

    /// An idempotent IAM call.
    async fn iam<T: DeserializeOwned>(&self, action: &str, params: &[(&str, &str)]) -> Result<T> {
        self.call(Service::Iam, action, params, Idempotency::Idempotent)
            .await
    }

    /// Sends `request` signed with `keys` for (signing region, service).
    async fn send<D: Dialect, T: DeserializeOwned>(
        &self,
        keys: &SigningKeys,
        (region, service): (&str, &str),
        action: &str,
        idempotency: Idempotency,
        request: Unsigned,
    ) -> Result<T> {
        let sign = |parts: RequestParts<'_>, time| sign(keys, (region, service), parts, time);
        self.client
            .send_as::<D, T>(&keys.id, action, idempotency, request, sign)
            .await
    }

    /// STS AssumeRole signed with `with` (the source's credentials).
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
        let credentials = answer.result.credentials;
        assumed::temporary(
            credentials.access_key_id,
            credentials.secret_access_key,
            credentials.session_token,
            &credentials.expiration,
        )
        .map_err(|err| self.client.blame(err))
    }

    async fn identity(&self) -> Result<&Identity> {
        let read = |answer: api::GetCallerIdentityResponse, profile: &str, key: &str| {
            identity_from(answer.result, profile, key)
        };
        self.identity
            .get_or_try_init(|| self.caller_identity(Service::Sts, &[], read))
            .await
    }

    /// The user to name in `UserName`: `None` for the caller's own keys. The root user
    /// ([`UserRef::is_root`]) has no user name: IAM reaches its keys only through the root
    /// user's own credentials, with no `UserName`, so the display label never goes out.
    async fn named_user<'a>(&self, user: Option<&'a UserRef>) -> Result<Option<&'a UserRef>> {
        let is_root = async { Ok(self.identity().await?.identity_type == IdentityType::Root) };
        self.client
            .wire_user(user, is_root, || {
                format!("the root user's keys ({ROOT_USER}) can be managed only with the root user's own credentials")
            })
            .await
    }

    /// `params` with `UserName` when a user is named.
    async fn with_user<'a>(
        &self,
        mut params: Vec<(&'a str, &'a str)>,
        user: Option<&'a UserRef>,
    ) -> Result<Vec<(&'a str, &'a str)>> {
        if let Some(user) = self.named_user(user).await? {
            params.push(("UserName", &user.name));
        }
        Ok(params)
    }

    /// Names the owner of a record: the named user, else the caller (its user name, else the
    /// root label).
    fn own(record: &mut KeyRecord, user: Option<&UserRef>, identity: &Identity) {
        match user {
            Some(u) => {
                record.user.get_or_insert_with(|| u.name.clone());
                record.user_id = u.id.clone();
            }
            None => {
                record.user.get_or_insert_with(|| {
                    identity
                        .user
                        .clone()
                        .unwrap_or_else(|| ROOT_USER.to_string())
                });
                if identity.identity_type == IdentityType::User {
                    record.user_id = identity.user_id.clone();
                }
            }
        }
    }

    /// Organizations ListAccounts, every page, signed with the profile's credentials.
    async fn list_accounts(&self) -> Result<Vec<OrgAccount>> {
        let keys = self.keys().await?;
        let profile = &self.client.profile;
        let (url, region) =
            organizations_endpoint(profile.region.as_deref(), profile.endpoint.as_ref());
        let action = "ListAccounts";
        let mut accounts = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut body = serde_json::Map::new();
            let max = self.client.profile.page_size.unwrap_or(20).clamp(1, 20);
            body.insert("MaxResults".into(), max.into());
            if let Some(token) = &token {
                body.insert("NextToken".into(), token.clone().into());
            }
            let request = Unsigned {
                method: Method::POST,
                url: url.clone(),
                headers: vec![
                    (
                        "Content-Type".to_string(),
                        "application/x-amz-json-1.1".to_string(),
                    ),
                    (
                        "X-Amz-Target".to_string(),
                        format!("AWSOrganizationsV20161128.{action}"),
                    ),
                ],
                body: serde_json::Value::Object(body).to_string().into_bytes(),
            };
            let signing = (region, "organizations");
            let page: api::ListAccountsResponse = self
                .send::<Organizations, _>(&keys, signing, action, Idempotency::Idempotent, request)
                .await?;
            accounts.extend(page.accounts.into_iter().map(org_account_from));
            // AWS may answer an empty page before the last one: only a missing token ends it.
            match page.next_token.filter(|t| !t.is_empty()) {
                Some(next) => token = Some(next),
                None => return Ok(accounts),
            }
        }
    }

    /// The account of any key, from STS GetAccessKeyInfo.
    async fn key_account_from_sts(&self, access_key_id: &str) -> Result<Option<String>> {
        let answer: api::GetAccessKeyInfoResponse = self
            .call(
                Service::Sts,
                "GetAccessKeyInfo",
                &[("AccessKeyId", access_key_id)],
                Idempotency::Idempotent,
            )
            .await?;
        Ok(answer.result.account)
    }
}

/// An organization's account; `State` first (`Status` is being retired).
pub fn org_account_from(wire: api::OrgAccountWire) -> OrgAccount {
    let state = wire.state.or(wire.status).unwrap_or_default();
    // arn:aws:organizations::<management>:account/o-…/<id>
    let management = wire
        .arn
        .as_deref()
        .and_then(|arn| arn.split(':').nth(4))
        .filter(|id| !id.is_empty())
        .map(str::to_string);
    OrgAccount {
        id: wire.id,
        name: wire.name,
        active: state == "ACTIVE",
        management,
    }
}

provider_glue!(AwsProvider, assume_role);

impl Rpc<&[(&str, &str)]> for AwsProvider {
    type Service = Service;
    type Dialect = Aws;

    fn client(&self) -> &Client {
        &self.client
    }

    /// The query protocol: a form-encoded POST of `Action`, `Version` and the parameters.
    fn request(&self, service: Service, action: &str, params: &[(&str, &str)]) -> Result<Unsigned> {
        let (endpoint, version) = match service {
            Service::Iam => (&self.endpoints.iam, IAM_VERSION),
            Service::Sts => (&self.endpoints.sts, STS_VERSION),
        };
        let mut body = format!("Action={action}&Version={version}");
        for (name, value) in params {
            body.push_str(&format!("&{name}={}", percent_encode(value)));
        }
        Ok(Unsigned {
            method: Method::POST,
            url: endpoint.clone(),
            headers: vec![(
                "Content-Type".to_string(),
                "application/x-www-form-urlencoded; charset=utf-8".to_string(),
            )],
            body: body.into_bytes(),
        })
    }

    fn sign(
        &self,
        keys: &SigningKeys,
        service: Service,
        _action: &str,
        parts: RequestParts<'_>,
        time: DateTime<Utc>,
    ) -> Vec<(String, String)> {
        let scope = match service {
            Service::Iam => (self.endpoints.iam_region.as_str(), "iam"),
            Service::Sts => (self.endpoints.sts_region.as_str(), "sts"),
        };
        sign(keys, scope, parts, time)
    }
}

/// The headers SigV4 adds, signed with `keys` for (signing region, service).
fn sign(
    keys: &SigningKeys,
    (region, service): (&str, &str),
    parts: RequestParts<'_>,
    time: DateTime<Utc>,
) -> Vec<(String, String)> {
    let key = signer::SigningKey {
        access_key_id: &keys.id,
        secret_access_key: keys.secret.expose(),
        session_token: keys.token.as_ref().map(Secret::expose),
        region,
        service,
    };
    signer::sign(&key, &parts, time).0
}

pub fn record_from(
    key: api::AccessKeyMetadata,
    profile: &str,
    account_id: Option<&str>,
) -> Result<KeyRecord> {
    let status = key_status(&key.status)?;
    let mut record = KeyRecord::new(ProviderKind::Aws, profile, key.access_key_id, status);
    record.account_id = account_id.map(str::to_string);
    record.user = key.user_name;
    record.created_at = key.create_date.as_deref().and_then(parse_rfc3339);
    Ok(record)
}

/// A created key: the secret and the key's record.
pub fn created_from(
    answer: api::CreateAccessKeyResponse,
    profile: &str,
    account_id: Option<&str>,
) -> Result<NewKey> {
    let created = answer.result.access_key;
    let secret = Secret::new(created.secret_access_key);
    let key = api::AccessKeyMetadata {
        user_name: created.user_name,
        access_key_id: created.access_key_id,
        status: created.status,
        create_date: created.create_date,
    };
    Ok(NewKey {
        record: record_from(key, profile, account_id)?,
        secret,
    })
}

/// A page of users and the next page's marker.
pub fn users_page(page: api::ListUsersResponse) -> (Vec<UserRef>, Option<String>) {
    let result = page.result;
    let users = result.users.member.into_iter().map(|u| UserRef {
        name: u.user_name,
        id: u.user_id,
    });
    (
        users.collect(),
        result.marker.filter(|_| result.is_truncated),
    )
}

/// A GetAccessKeyLastUsed answer; "N/A" is how AWS says "never".
pub fn last_used_from(used: Option<api::AccessKeyLastUsed>) -> LastUsed {
    let Some(used) = used else {
        return LastUsed::default();
    };
    let known = |v: Option<String>| v.filter(|s| !s.is_empty() && s != "N/A");
    LastUsed {
        at: used.last_used_date.as_deref().and_then(parse_rfc3339),
        service: known(used.service_name),
        region: known(used.region),
        ..LastUsed::default()
    }
}

pub fn identity_from(
    result: api::GetCallerIdentityResult,
    profile: &str,
    access_key_id: &str,
) -> Identity {
    let arn = result.arn.unwrap_or_default();
    // arn:aws:iam::123456789012:user/path/name | :root | arn:aws:sts::…:assumed-role/role/session
    let resource = arn.splitn(6, ':').nth(5).unwrap_or_default();
    let (identity_type, user) = if resource == "root" {
        (IdentityType::Root, None)
    } else if let Some(path) = resource.strip_prefix("user/") {
        (
            IdentityType::User,
            path.rsplit('/').next().map(str::to_string),
        )
    } else {
        (IdentityType::Role, None)
    };
    Identity {
        provider: ProviderKind::Aws,
        profile: profile.to_string(),
        account_id: result.account,
        user,
        user_id: result.user_id,
        arn: (!arn.is_empty()).then_some(arn),
        identity_type,
        access_key_id: access_key_id.to_string(),
    }
}

#[async_trait]
impl AccessKeyProvider for AwsProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Aws
    }

    /// Decoded from the key id offline where possible (all but the oldest keys), else asked.
    async fn key_account(&self, access_key_id: &str) -> Result<Option<String>> {
        match account_from_key_id(access_key_id) {
            Some(account) => Ok(Some(account)),
            None => self.key_account_from_sts(access_key_id).await,
        }
    }

    fn profile(&self) -> &str {
        self.name()
    }

    async fn key_owner(&self, access_key_id: &str) -> Result<Option<String>> {
        self.key_account_from_sts(access_key_id).await
    }

    async fn organization_accounts(&self) -> Result<Vec<OrgAccount>> {
        self.list_accounts().await
    }

    fn member_role(&self, account: &str, role_name: Option<&str>) -> Result<String> {
        let partition = match self.client.profile.region.as_deref() {
            Some(r) if r.starts_with("cn-") => "aws-cn",
            Some(r) if r.starts_with("us-gov-") => "aws-us-gov",
            _ => "aws",
        };
        // The role AWS Organizations creates in every account it makes.
        let role = role_name.unwrap_or("OrganizationAccountAccessRole");
        Ok(format!("arn:{partition}:iam::{account}:role/{role}"))
    }

    async fn whoami(&self) -> Result<Identity> {
        self.identity().await.cloned()
    }

    async fn list_users(&self) -> Result<Vec<UserRef>> {
        let max_items = &self.max_items()[..];
        paginate("ListUsers", |marker| async move {
            let mut params = vec![("MaxItems", max_items)];
            params.extend(marker.as_deref().map(|m| ("Marker", m)));
            Ok(users_page(self.iam("ListUsers", &params).await?))
        })
        .await
    }

    async fn list_keys(&self, user: Option<&UserRef>) -> Result<Vec<KeyRecord>> {
        if user.is_some_and(|u| self.report.shows_no_keys(&u.name)) {
            return Ok(Vec::new());
        }
        let user = self.named_user(user).await?;
        let identity = self.identity().await?;
        let account_id = identity.account_id.as_deref();
        let max_items = &self.max_items()[..];
        paginate("ListAccessKeys", |marker| async move {
            let mut params = vec![("MaxItems", max_items)];
            params.extend(user.map(|u| ("UserName", u.name.as_str())));
            params.extend(marker.as_deref().map(|m| ("Marker", m)));
            let page: api::ListAccessKeysResponse = self.iam("ListAccessKeys", &params).await?;
            let mut records = Vec::new();
            for key in page.result.access_key_metadata.member {
                let mut record = record_from(key, self.name(), account_id)?;
                Self::own(&mut record, user, identity);
                records.push(record);
            }
            Ok((
                records,
                page.result.marker.filter(|_| page.result.is_truncated),
            ))
        })
        .await
    }

    async fn last_used(&self, key: &KeyRef) -> Result<LastUsed> {
        let params = [("AccessKeyId", key.access_key_id.as_str())];
        let answer: api::GetAccessKeyLastUsedResponse =
            self.iam("GetAccessKeyLastUsed", &params).await?;
        Ok(last_used_from(answer.result.access_key_last_used))
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
        let user = self.named_user(user).await?;
        let identity = self.identity().await?;
        let params: Vec<_> = user
            .map(|u| ("UserName", u.name.as_str()))
            .into_iter()
            .collect();
        let answer = self
            .call(
                Service::Iam,
                "CreateAccessKey",
                &params,
                Idempotency::NotIdempotent,
            )
            .await?;
        let mut created = created_from(answer, self.name(), identity.account_id.as_deref())?;
        Self::own(&mut created.record, user, identity);
        if user.is_none() {
            // Unlike a listing, a created key of the caller's own names no user id.
            created.record.user_id = None;
        }
        Ok(created)
    }

    async fn set_status(&self, key: &KeyRef, status: KeyStatus) -> Result<()> {
        let params = vec![
            ("AccessKeyId", key.access_key_id.as_str()),
            ("Status", status.as_wire()),
        ];
        let params = self.with_user(params, key.user.as_ref()).await?;
        let _: IgnoredAny = self.iam("UpdateAccessKey", &params).await?;
        Ok(())
    }

    async fn delete_key(&self, key: &KeyRef) -> Result<()> {
        let params = vec![("AccessKeyId", key.access_key_id.as_str())];
        let params = self.with_user(params, key.user.as_ref()).await?;
        let _: IgnoredAny = self.iam("DeleteAccessKey", &params).await?;
        Ok(())
    }
}

/// Decodes the 12-digit account id from a key id offline (AKIA…/ASIA… ids made since 2019;
/// the older `AKIAI`/`AKIAJ` ones do not encode it).
pub fn account_from_key_id(access_key_id: &str) -> Option<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let body = access_key_id
        .strip_prefix("AKIA")
        .or_else(|| access_key_id.strip_prefix("ASIA"))?;
    if access_key_id.starts_with("AKIAI") || access_key_id.starts_with("AKIAJ") {
        return None;
    }
    let encoded = body.get(..10)?;
    let mut value: u64 = 0;
    for ch in encoded.bytes() {
        let index = ALPHABET.iter().position(|&c| c == ch)? as u64;
        value = (value << 5) | index;
    }
    // 10 base32 chars = 50 bits; the account id is bits 1..=40 of the first 6 decoded bytes.
    let account = (value >> 2 >> 7) & 0xFF_FFFF_FFFF;
    // 40 bits reach past twelve digits: such an id is not one AWS made.
    (account < 1_000_000_000_000).then(|| format!("{account:012}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Retry;

    fn error_class(code: &str, message: &str, status: u16) -> (ErrorKind, Retry) {
        crate::providers::error_class::<Aws>(code, message, status)
    }

    #[test]
    fn partitions_pick_endpoints_and_signing_regions() {
        let e = endpoints(Some("cn-northwest-1"), None);
        assert_eq!(e.iam.as_str(), "https://iam.cn-north-1.amazonaws.com.cn/");
        assert_eq!(e.iam_region, "cn-north-1");
        assert_eq!(
            e.sts.as_str(),
            "https://sts.cn-northwest-1.amazonaws.com.cn/"
        );
        let e = endpoints(Some("us-gov-east-1"), None);
        assert_eq!(e.iam.as_str(), "https://iam.us-gov.amazonaws.com/");
        assert_eq!(e.iam_region, "us-gov-west-1");
        assert_eq!(e.sts_region, "us-gov-east-1");
        let e = endpoints(Some("eu-west-1"), None);
        assert_eq!(e.iam_region, "us-east-1");
        assert_eq!(e.sts.as_str(), "https://sts.eu-west-1.amazonaws.com/");
        let e = endpoints(None, None);
        assert_eq!(e.sts.as_str(), "https://sts.amazonaws.com/");
        let base = Url::parse("http://127.0.0.1:5000").unwrap();
        let e = endpoints(Some("cn-north-1"), Some(&base));
        assert_eq!(e.iam, base);
        assert_eq!(e.iam_region, "cn-north-1");
    }

    #[test]
    fn identity_from_arns() {
        let result = |arn: &str| api::GetCallerIdentityResult {
            user_id: Some("AIDA1".into()),
            account: Some("123456789012".into()),
            arn: Some(arn.into()),
        };
        let user = identity_from(
            result("arn:aws:iam::123456789012:user/ops/alice"),
            "p",
            "AKIA1",
        );
        assert_eq!(user.user.as_deref(), Some("alice"));
        assert_eq!(user.identity_type, IdentityType::User);
        let root = identity_from(result("arn:aws:iam::123456789012:root"), "p", "AKIA1");
        assert_eq!(root.identity_type, IdentityType::Root);
        let role = identity_from(
            result("arn:aws:sts::123456789012:assumed-role/r/s"),
            "p",
            "ASIA1",
        );
        assert_eq!(role.identity_type, IdentityType::Role);
    }

    #[test]
    fn error_codes_map_to_kinds() {
        assert_eq!(error_class("NoSuchEntity", "", 404).0.exit_code(), 3);
        assert_eq!(error_class("LimitExceeded", "", 409).0, ErrorKind::Limit);
        assert_eq!(error_class("Throttling", "", 400).1, Retry::Throttled);
        assert_eq!(error_class("RequestExpired", "", 400).1, Retry::ClockSkew);
        assert_eq!(error_class("Weird", "", 503).1, Retry::Server);
        assert_eq!(
            error_class("Weird", "", 400),
            (ErrorKind::Refused, Retry::Never)
        );
        // Clock skew as IAM says it, both ways; any other mismatch is a wrong secret.
        let expired = "Signature expired: 20220127T001427Z is now earlier than 20220127T014428Z (20220127T015928Z - 15 min.)";
        let early = "Signature not yet current: 20220127T031427Z is still later than 20220127T021428Z (20220127T015928Z + 15 min.)";
        for message in [expired, early] {
            assert_eq!(
                error_class("SignatureDoesNotMatch", message, 403),
                (ErrorKind::ClockSkew, Retry::ClockSkew)
            );
        }
        assert_eq!(
            error_class(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
                403
            ),
            (ErrorKind::Auth, Retry::Never)
        );
        assert_eq!(
            error_class(
                "ValidationError",
                "Must specify userName when calling with non-User credentials",
                400
            ),
            (ErrorKind::Usage, Retry::Never)
        );
        assert_eq!(
            error_class("ValidationError", "Invalid Marker.", 400),
            (ErrorKind::Refused, Retry::Never)
        );
    }

    /// moto's answer (AWS sends the same paths; moto adds microseconds to Expiration).
    #[test]
    fn reads_assume_role_answers_and_never_shows_their_secrets() {
        let body = br#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>ASIA5XQFHHAP</AccessKeyId><SecretAccessKey>Dqjt+secret/S</SecretAccessKey><SessionToken>FQoGZXIvtoken=</SessionToken><Expiration>2026-11-29T19:48:51.723209Z</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROA5XQFHHAPSI6O4LMUC:ck</AssumedRoleId><Arn>arn:aws:sts::943830022175:assumed-role/R/ck</Arn></AssumedRoleUser><PackedPolicySize>6</PackedPolicySize></AssumeRoleResult><ResponseMetadata><RequestId>18gw</RequestId></ResponseMetadata></AssumeRoleResponse>"#;
        let answer: api::AssumeRoleResponse =
            crate::providers::parse::<Aws, _>("AssumeRole", 200, body).unwrap();
        let credentials = &answer.result.credentials;
        assert_eq!(credentials.access_key_id, "ASIA5XQFHHAP");
        assert_eq!(credentials.secret_access_key.expose(), "Dqjt+secret/S");
        assert_eq!(credentials.session_token.expose(), "FQoGZXIvtoken=");
        assert!(parse_rfc3339(&credentials.expiration).is_some());
        let shown = format!("{answer:?}");
        assert!(
            !shown.contains("Dqjt") && !shown.contains("FQoG"),
            "{shown}"
        );
        // AccessDenied names the role and is a permission error (exit 3).
        let denied = br#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::111122223333:user/admin is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::222233334444:role/R</Message></Error><RequestId>1</RequestId></ErrorResponse>"#;
        let err =
            crate::providers::parse::<Aws, api::AssumeRoleResponse>("AssumeRole", 403, denied)
                .unwrap_err();
        assert_eq!((err.kind, err.exit_code()), (ErrorKind::Permission, 3));
        assert!(err.message.contains("role/R"), "{err}");
    }

    #[test]
    fn decodes_account_from_key_id() {
        // Published example: ASIAY34FZKBOKMUTVV7A belongs to account 609629065308.
        assert_eq!(
            account_from_key_id("ASIAY34FZKBOKMUTVV7A").as_deref(),
            Some("609629065308")
        );
        assert_eq!(account_from_key_id("AKIAIOSFODNN7EXAMPLE"), None);
        assert_eq!(account_from_key_id("AKIA"), None);
        assert_eq!(account_from_key_id("AKIA!!!!!!!!!!!!"), None);
        // Found by the key_id fuzz target: any text with base32 after its fourth byte was
        // decoded, into as many as 13 digits.
        assert_eq!(account_from_key_id("\u{fffd}I777777777ID\u{fffd}{{{"), None);
        assert_eq!(account_from_key_id("AKIA7777777777ABCDEF"), None);
        assert_eq!(account_from_key_id("LTAIY34FZKBOKMUTVV7A"), None);
    }

    #[test]
    fn organizations_answers_and_errors_are_read() {
        let page: api::ListAccountsResponse = serde_json::from_str(
            r#"{"Accounts":[{"Id":"222233334444","Arn":"arn:aws:organizations::111122223333:account/o-a1b2c3d4e5/222233334444","Name":"m","Status":"ACTIVE","State":"SUSPENDED","JoinedTimestamp":1795980831.647939},{"Id":"333344445555","Status":"ACTIVE"}],"NextToken":"abc"}"#,
        )
        .unwrap();
        assert_eq!(page.next_token.as_deref(), Some("abc"));
        let accounts: Vec<_> = page.accounts.into_iter().map(org_account_from).collect();
        // State wins over the retiring Status.
        assert!(!accounts[0].active);
        assert_eq!(accounts[0].management.as_deref(), Some("111122223333"));
        assert!(accounts[1].active);
        assert_eq!(accounts[1].management, None);

        let error = Organizations::parse_error(
            br#"{"__type":"com.amazonaws.organizations#AWSOrganizationsNotInUseException","Message":"Your account is not a member of an organization."}"#,
        )
        .unwrap();
        assert_eq!(error.code, "AWSOrganizationsNotInUseException");
        let kind = |code| crate::providers::error_class::<Organizations>(code, "", 400).0;
        assert_eq!(kind("AccessDeniedException"), ErrorKind::Permission);
        assert_eq!(kind("TooManyRequestsException"), ErrorKind::Throttled);
        assert_eq!(kind("UnrecognizedClientException"), ErrorKind::Auth);
        assert_eq!(
            organizations_endpoint(Some("cn-north-1"), None).0.as_str(),
            "https://organizations.cn-northwest-1.amazonaws.com.cn/"
        );
        assert_eq!(
            organizations_endpoint(Some("eu-west-1"), None).1,
            "us-east-1"
        );
    }
}
