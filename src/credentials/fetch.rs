//! Credentials got at run time from outside the files, as botocore gets them: an AWS profile's
//! `credential_process`, or a role profile's `credential_source` (the environment, the EC2
//! instance metadata service, the ECS container endpoint). Kept in memory only; the caller
//! runs the fetch again shortly before they expire.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::Environment;
use crate::error::{Error, ErrorKind, Result};
use crate::model::Secret;

/// botocore's defaults: IMDS at this address; the ECS agent at this one for a relative URI.
const IMDS: &str = "http://169.254.169.254";
const ECS: &str = "http://169.254.170.2";
/// Hosts a `AWS_CONTAINER_CREDENTIALS_FULL_URI` over plain HTTP may name (botocore's
/// `ContainerMetadataFetcher._ALLOWED_HOSTS`, plus any loopback address).
const ECS_HOSTS: [&str; 4] = [
    "169.254.170.2",
    "localhost",
    "169.254.170.23",
    "fd00:ec2::23",
];
/// The metadata services answer at once or not at all (botocore waits 1 s for IMDS, 2 s ECS).
const METADATA_TIMEOUT: Duration = Duration::from_secs(2);

/// Where a profile's credentials are fetched from.
#[derive(Debug, Clone)]
pub enum Fetch {
    /// `credential_process`: the command line, split as a POSIX shell would, run without one.
    Process(String),
    /// `credential_source = Environment`: AWS's variables when the profiles were loaded.
    Environment(Option<(String, Secret, Option<Secret>)>),
    /// `credential_source = Ec2InstanceMetadata`: the IMDS base URL.
    Ec2InstanceMetadata(String),
    /// `credential_source = EcsContainer`: the URL, and the Authorization token or the file
    /// holding it (read at each fetch, as botocore does: the agent rotates it).
    EcsContainer {
        url: Option<String>,
        token: Option<Secret>,
        token_file: Option<PathBuf>,
    },
}

/// What a fetch got: `expires` unset for credentials that do not expire.
pub struct Fetched {
    pub id: String,
    pub secret: Secret,
    pub token: Option<Secret>,
    pub expires: Option<DateTime<Utc>>,
}

impl Fetch {
    /// A role's `credential_source`, as botocore's CanonicalNameCredentialSourcer names them;
    /// `None` for a name it does not know.
    pub fn source(name: &str, env: &Environment) -> Option<Fetch> {
        let var = |name| env.var(name).map(str::to_string);
        Some(match name {
            "Environment" => Fetch::Environment(
                var("AWS_ACCESS_KEY_ID")
                    .zip(var("AWS_SECRET_ACCESS_KEY"))
                    .map(|(id, s)| {
                        let token = var("AWS_SESSION_TOKEN").or_else(|| var("AWS_SECURITY_TOKEN"));
                        (id, Secret::new(s), token.map(Secret::new))
                    }),
            ),
            "Ec2InstanceMetadata" => Fetch::Ec2InstanceMetadata(
                var("AWS_EC2_METADATA_SERVICE_ENDPOINT").unwrap_or_else(|| IMDS.into()),
            ),
            "EcsContainer" => Fetch::EcsContainer {
                url: var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
                    .map(|relative| format!("{ECS}{relative}"))
                    .or_else(|| var("AWS_CONTAINER_CREDENTIALS_FULL_URI")),
                token: var("AWS_CONTAINER_AUTHORIZATION_TOKEN").map(Secret::new),
                token_file: var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE").map(PathBuf::from),
            },
            _ => return None,
        })
    }

    /// How errors name it.
    pub fn describe(&self) -> &'static str {
        match self {
            Fetch::Process(_) => "credential_process",
            Fetch::Environment(_) => "credential_source Environment",
            Fetch::Ec2InstanceMetadata(_) => "credential_source Ec2InstanceMetadata",
            Fetch::EcsContainer { .. } => "credential_source EcsContainer",
        }
    }

    /// The credentials for `profile` (named in errors, which never hold what was fetched).
    pub async fn run(&self, profile: &str) -> Result<Fetched> {
        let failed = |kind, what: String| {
            Error::new(kind, format!("{profile}: {}: {what}", self.describe()))
        };
        let fetched = match self {
            Fetch::Process(command) => {
                let command = command.clone();
                tokio::task::spawn_blocking(move || process(&command))
                    .await
                    .map_err(|err| failed(ErrorKind::Io, err.to_string()))?
                    .and_then(|json| from_json(&json, PROCESS_KEYS))
            }
            Fetch::Environment(Some((id, secret, token))) => Ok(Fetched {
                id: id.clone(),
                secret: secret.clone(),
                token: token.clone(),
                expires: None,
            }),
            Fetch::Environment(None) => Err((
                ErrorKind::Config,
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set".into(),
            )),
            Fetch::Ec2InstanceMetadata(base) => imds(base).await,
            Fetch::EcsContainer {
                url,
                token,
                token_file,
            } => ecs(url.as_deref(), token.as_ref(), token_file.as_ref()).await,
        }
        .map_err(|(kind, what)| failed(kind, what))?;
        if fetched.expires.is_some_and(|at| at <= Utc::now()) {
            return Err(failed(
                ErrorKind::Auth,
                "the credentials it gave have already expired".into(),
            ));
        }
        Ok(fetched)
    }
}

type Failure = (ErrorKind, String);

/// The names of the fields of a credential_process answer and of a metadata service's.
struct Keys {
    token: &'static str,
    /// The answer must carry `Version: 1` (credential_process only).
    versioned: bool,
}

const PROCESS_KEYS: Keys = Keys {
    token: "SessionToken",
    versioned: true,
};
const METADATA_KEYS: Keys = Keys {
    token: "Token",
    versioned: false,
};

/// Runs `command` (no shell), its stdin and stderr the user's: its stdout, parsed as JSON.
fn process(command: &str) -> std::result::Result<Value, Failure> {
    let config = |what: &str| (ErrorKind::Config, what.to_string());
    let argv = shlex::split(command).ok_or_else(|| config("unbalanced quotes in the command"))?;
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| config("the command is empty"))?;
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::inherit())
        .stderr(Stdio::inherit())
        .stdout(Stdio::piped())
        .output()
        .map_err(|err| config(&format!("cannot run {program}: {err}")))?;
    if !child.status.success() {
        // Its stdout may hold part of a secret: never shown. Its stderr went to the user's.
        return Err((
            ErrorKind::Auth,
            format!("{program} failed ({})", child.status),
        ));
    }
    serde_json::from_slice(&child.stdout).map_err(|_| {
        config("its output is not JSON (the output is not shown: it may hold a secret)")
    })
}

/// The credentials of a JSON answer; errors name a field, never a value (but Version's).
fn from_json(json: &Value, keys: Keys) -> std::result::Result<Fetched, Failure> {
    let bad = |what: String| (ErrorKind::Config, what);
    if keys.versioned {
        match json.get("Version") {
            Some(v) if v.as_u64() == Some(1) => {}
            Some(Value::Number(n)) => {
                return Err(bad(format!(
                    "unsupported Version {n} in its output, supported versions: 1"
                )))
            }
            _ => return Err(bad("its output has no Version 1".into())),
        }
    }
    let field = |key: &str| {
        json.get(key)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let required = |key: &str| field(key).ok_or_else(|| bad(format!("missing required key {key}")));
    let expires = match field("Expiration") {
        Some(at) => Some(
            crate::time::parse_rfc3339(at)
                .ok_or_else(|| bad("Expiration is not an ISO 8601 time".into()))?,
        ),
        None => None,
    };
    Ok(Fetched {
        id: required("AccessKeyId")?.trim().to_string(),
        secret: Secret::new(required("SecretAccessKey")?),
        token: field(keys.token).map(Secret::new),
        expires,
    })
}

/// A client for the link-local metadata services: never through a proxy, short waits.
fn metadata_client() -> std::result::Result<reqwest::Client, Failure> {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(METADATA_TIMEOUT)
        .build()
        .map_err(|err| (ErrorKind::Network, err.to_string()))
}

/// Sends `request`: the answer's text if it is a 2xx, else the status (as botocore, the body
/// is not shown: a credentials answer holds a secret).
async fn send(
    url: &str,
    request: reqwest::RequestBuilder,
) -> std::result::Result<(u16, String), Failure> {
    let answer = request.send().await.map_err(|err| {
        let kind = if err.is_timeout() {
            ErrorKind::Timeout
        } else {
            ErrorKind::Network
        };
        // reqwest's error names the URL; its source says why (refused, timed out, ...).
        let why = std::error::Error::source(&err).map_or(err.to_string(), |s| s.to_string());
        (kind, format!("no answer from {url}: {why}"))
    })?;
    let status = answer.status().as_u16();
    let text = answer.text().await.unwrap_or_default();
    Ok((status, text))
}

fn refused(url: &str, status: u16) -> Failure {
    let kind = match status {
        401 | 403 => ErrorKind::Auth,
        404 => ErrorKind::NotFound,
        _ => ErrorKind::Server,
    };
    (kind, format!("{url} answered HTTP {status}"))
}

/// IMDSv2 as botocore's InstanceMetadataFetcher: a session token (PUT), the role's name, its
/// credentials. A service refusing tokens (403, 404, 405: IMDSv1 only) is asked without one.
async fn imds(base: &str) -> std::result::Result<Fetched, Failure> {
    let client = metadata_client()?;
    let base = base.trim_end_matches('/');
    let token_url = format!("{base}/latest/api/token");
    let put = client
        .put(&token_url)
        .header("x-aws-ec2-metadata-token-ttl-seconds", "21600");
    let token = match send(&token_url, put).await? {
        (200, token) => Some(token),
        (403..=405, _) => None,
        (status, _) => return Err(refused(&token_url, status)),
    };
    let get = |url: &str| {
        let request = client.get(url);
        match &token {
            Some(token) => request.header("x-aws-ec2-metadata-token", token.as_str()),
            None => request,
        }
    };
    let list_url = format!("{base}/latest/meta-data/iam/security-credentials/");
    let role = match send(&list_url, get(&list_url)).await? {
        (200, text) => text.lines().next().unwrap_or_default().trim().to_string(),
        (status, _) => return Err(refused(&list_url, status)),
    };
    if role.is_empty() {
        return Err((ErrorKind::NotFound, "the instance has no IAM role".into()));
    }
    let url = format!("{list_url}{role}");
    match send(&url, get(&url)).await? {
        (200, text) => metadata_answer(&url, &text),
        (status, _) => Err(refused(&url, status)),
    }
}

/// The ECS container endpoint, as botocore's ContainerProvider.
async fn ecs(
    url: Option<&str>,
    token: Option<&Secret>,
    token_file: Option<&PathBuf>,
) -> std::result::Result<Fetched, Failure> {
    let config = |what: String| (ErrorKind::Config, what);
    let url = url.ok_or_else(|| {
        config(
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or AWS_CONTAINER_CREDENTIALS_FULL_URI is not set"
                .into(),
        )
    })?;
    let parsed =
        url::Url::parse(url).map_err(|err| config(format!("'{url}' is not a URL: {err}")))?;
    let allowed = parsed.scheme() == "https"
        || match parsed.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback() || ECS_HOSTS.contains(&&*ip.to_string()),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback() || ECS_HOSTS.contains(&&*ip.to_string()),
            Some(url::Host::Domain(host)) => ECS_HOSTS.contains(&host),
            None => false,
        };
    if !allowed {
        return Err(config(format!(
            "{url} is neither HTTPS nor a loopback or container-agent address"
        )));
    }
    let token = match token_file {
        Some(path) => Some(Secret::new(
            std::fs::read_to_string(path)
                .map_err(|err| config(format!("cannot read {}: {err}", path.display())))?
                .trim(),
        )),
        None => token.cloned(),
    };
    if token
        .as_ref()
        .is_some_and(|t| t.expose().contains(['\r', '\n']))
    {
        return Err(config("the authorization token holds a line break".into()));
    }
    let mut request = metadata_client()?.get(url);
    if let Some(token) = &token {
        request = request.header("Authorization", token.expose());
    }
    match send(url, request).await? {
        (200, text) => metadata_answer(url, &text),
        (status, _) => Err(refused(url, status)),
    }
}

fn metadata_answer(url: &str, text: &str) -> std::result::Result<Fetched, Failure> {
    let json: Value = serde_json::from_str(text).map_err(|_| {
        (
            ErrorKind::BadResponse,
            format!("{url} answered something that is not JSON"),
        )
    })?;
    from_json(&json, METADATA_KEYS).map_err(|(_, what)| (ErrorKind::BadResponse, what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_as_botocore_reads_them() {
        let json = serde_json::json!({"Version": 1, "AccessKeyId": " AKIA1 ",
            "SecretAccessKey": "s", "SessionToken": "t", "Expiration": "2030-01-01T00:00:00Z"});
        let got = from_json(&json, PROCESS_KEYS).ok().unwrap();
        assert_eq!(got.id, "AKIA1");
        assert_eq!(got.token.unwrap().expose(), "t");
        assert_eq!(
            got.expires.unwrap().to_rfc3339(),
            "2030-01-01T00:00:00+00:00"
        );
        // The metadata services call the token `Token` and carry no Version.
        let json = serde_json::json!({"AccessKeyId": "A", "SecretAccessKey": "s", "Token": "t"});
        assert!(from_json(&json, METADATA_KEYS)
            .ok()
            .unwrap()
            .token
            .is_some());
        let err = |json| from_json(&json, PROCESS_KEYS).err().unwrap().1;
        assert_eq!(
            err(serde_json::json!({"AccessKeyId": "A"})),
            "its output has no Version 1"
        );
        let no_secret = serde_json::json!({"Version": 1, "AccessKeyId": "A"});
        assert_eq!(err(no_secret), "missing required key SecretAccessKey");
    }

    #[test]
    fn sources_read_their_variables() {
        let env = Environment {
            vars: [
                ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/c"),
                ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1/x"),
                (
                    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                    "http://[fd00:ec2::254]",
                ),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into(),
            home: None,
        };
        let Some(Fetch::EcsContainer { url, .. }) = Fetch::source("EcsContainer", &env) else {
            panic!("EcsContainer")
        };
        // The relative URI wins, on the agent's address.
        assert_eq!(url.as_deref(), Some("http://169.254.170.2/v2/c"));
        let imds = Fetch::source("Ec2InstanceMetadata", &env);
        assert!(
            matches!(imds, Some(Fetch::Ec2InstanceMetadata(u)) if u == "http://[fd00:ec2::254]")
        );
        assert!(matches!(
            Fetch::source("Environment", &env),
            Some(Fetch::Environment(None))
        ));
        assert!(
            Fetch::source("environment", &env).is_none(),
            "names are exact"
        );
    }
}
