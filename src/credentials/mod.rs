//! Where credentials live: the clouds' environment variables and each credential file format.
//!
//! Every file format has one module holding both how it is read (`load`) and how `rotate`'s
//! write-back edits it ([`Edit`]), so that its field names and the way to a profile's entry
//! exist once and the editor always finds what the loader read. [`crate::config`] gathers the
//! profiles; [`crate::writeback`] drives the edits through [`crate::atomic`].

mod aliyun;
mod aws;
mod fetch;
mod hcloud;
mod json;
mod tccli;
pub(crate) mod toml;

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::model::{ProviderKind, Secret};
pub use fetch::{Fetch, Fetched};

/// Environment variables and the home folder, as the loaders see them.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    pub vars: HashMap<String, String>,
    pub home: Option<PathBuf>,
}

impl Environment {
    pub fn from_process() -> Self {
        let vars: HashMap<String, String> = std::env::vars().collect();
        let home = vars
            .get("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from);
        Environment { vars, home }
    }

    /// A variable's value, treating an empty one as unset (as the clouds' SDKs do).
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub(crate) fn home_file(&self, relative: &str) -> Option<PathBuf> {
        self.home.as_ref().map(|home| home.join(relative))
    }
}

/// Where a profile's credentials came from: also where `rotate` writes a new secret back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `[profiles.NAME]` in our TOML file.
    ConfigFile { path: PathBuf, table: String },
    /// The cloud's environment variables.
    Environment,
    /// `~/.aws/credentials` section.
    AwsCredentials { path: PathBuf, section: String },
    /// `~/.aws/config` section (`[default]` or `[profile NAME]`).
    AwsConfig { path: PathBuf, section: String },
    /// `~/.tccli/<name>.credential`.
    TccliCredential { path: PathBuf },
    /// A profile in `~/.aliyun/config.json`.
    AliyunConfig { path: PathBuf, name: String },
    /// A profile in `~/.hcloud/config.json`.
    HcloudConfig { path: PathBuf, name: String },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::ConfigFile { path, table } => {
                write!(f, "{} [profiles.{table}]", path.display())
            }
            Source::Environment => f.write_str("environment"),
            Source::AwsCredentials { path, section } | Source::AwsConfig { path, section } => {
                write!(f, "{} [{section}]", path.display())
            }
            Source::TccliCredential { path } => write!(f, "{}", path.display()),
            Source::AliyunConfig { path, name } | Source::HcloudConfig { path, name } => {
                write!(f, "{} ({name})", path.display())
            }
        }
    }
}

/// One set of credentials and where to use them.
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    pub provider: ProviderKind,
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Option<Secret>,
    pub region: Option<String>,
    pub endpoint: Option<String>,
    pub project_id: Option<String>,
    pub source: Source,
    /// Set when the secret is read from this environment variable (it can't be written back).
    pub secret_env: Option<String>,
    /// Set for a role profile: it holds no key of its own (the id and secret are empty) and
    /// signs with temporary credentials obtained with its source's.
    pub role: Option<Role>,
    /// Set when the credentials are fetched at run time (AWS `credential_process`, or the
    /// source of a role's `credential_source`): no key of its own either.
    pub fetch: Option<Fetch>,
}

/// What a role profile assumes and with whose credentials (AWS and Tencent so far).
#[derive(Debug, Clone)]
pub struct Role {
    pub role_arn: String,
    /// The source profile as named in the file.
    pub source_profile: String,
    pub external_id: Option<String>,
    pub session_name: Option<String>,
    pub duration_seconds: Option<u32>,
    /// AWS: the MFA device whose code AssumeRole sends (`mfa_serial`).
    pub mfa_serial: Option<String>,
    /// The code typed at this run's prompt (never read from a file): set on the provider's
    /// own copy of the role only, used once.
    pub token_code: Option<crate::model::Secret>,
    /// The source profile once every profile is loaded (itself possibly a role profile).
    pub source: Option<Box<Profile>>,
}

impl Role {
    /// `role KeyAuditor via mgmt`, down the whole chain: what `profiles` shows.
    pub fn describe(&self) -> String {
        // The name ends the ARN after `/`, or (a Huawei agency URN) after `:`.
        let name = self
            .role_arn
            .rsplit(['/', ':'])
            .next()
            .unwrap_or(&self.role_arn);
        let via = match self.source.as_deref() {
            Some(Profile {
                role: Some(inner), ..
            }) => format!("{} ({})", self.source_profile, inner.describe()),
            _ => self.source_profile.clone(),
        };
        format!("role {name} via {via}")
    }
}

impl Profile {
    /// A profile from a cloud's own variables or files, named `PROVIDER:NAME`; the rest unset.
    pub(crate) fn native(
        provider: ProviderKind,
        name: &str,
        id: &str,
        secret: &str,
        source: Source,
    ) -> Self {
        Profile {
            name: format!("{provider}:{name}"),
            provider,
            access_key_id: id.to_string(),
            secret_access_key: Secret::new(secret),
            session_token: None,
            region: None,
            endpoint: None,
            project_id: None,
            source,
            secret_env: None,
            role: None,
            fetch: None,
        }
    }

    /// Refuses to write a key for a role profile or one whose credentials are fetched: it has
    /// none of its own, and its temporary credentials are never written anywhere.
    pub fn refuse_role(&self) -> Result<()> {
        let how = match (&self.role, &self.fetch) {
            (Some(_), _) => "assumes a role".to_string(),
            (None, Some(fetch)) => format!("gets its credentials from {}", fetch.describe()),
            (None, None) => return Ok(()),
        };
        Err(Error::usage(format!(
            "{} {how}: it has no access key of its own to rotate",
            self.name
        )))
    }

    /// Whether the profile holds a key of its own (not a role's, not a fetched one).
    pub fn holds_key(&self) -> bool {
        self.role.is_none() && self.fetch.is_none()
    }

    /// A profile whose credentials are fetched at run time.
    pub(crate) fn fetching(name: String, fetch: Fetch, source: Source) -> Self {
        Profile {
            name,
            fetch: Some(fetch),
            ..Profile::native(ProviderKind::Aws, "", "", "", source)
        }
    }

    /// A role profile: no key of its own.
    pub(crate) fn assuming(
        provider: ProviderKind,
        name: String,
        role: Role,
        source: Source,
    ) -> Self {
        Profile {
            name,
            role: Some(role),
            ..Profile::native(provider, "", "", "", source)
        }
    }
}

/// Finds every role profile's source, down its chain; a role profile without its own endpoint
/// or region uses its source's. Errors are one line naming the profile (exit 2).
pub(crate) fn resolve_roles(profiles: &mut [Profile]) -> Result<()> {
    let all = profiles.to_vec();
    // A role assumed with the profile's own key (tccli's role-arn, aliyun's RamRoleArn) has
    // its source already.
    let unresolved = |p: &&mut Profile| p.role.as_ref().is_some_and(|r| r.source.is_none());
    for profile in profiles.iter_mut().filter(unresolved) {
        let source = source_of(&all, profile, &mut vec![profile.name.clone()])?;
        if profile.endpoint.is_none() {
            profile.endpoint = source.endpoint.clone();
        }
        if profile.region.is_none() {
            profile.region = source.region.clone();
        }
        if let Some(role) = profile.role.as_mut() {
            role.source = Some(source);
        }
    }
    Ok(())
}

/// The resolved source of role profile `profile`; `chain`: the profiles on the way to it.
fn source_of(all: &[Profile], profile: &Profile, chain: &mut Vec<String>) -> Result<Box<Profile>> {
    let Some(role) = &profile.role else {
        unreachable!("only role profiles have a source")
    };
    let wanted = &role.source_profile;
    // Profiles of the AWS and aliyun files name each other as their CLIs do (`mgmt`, our
    // `aws:mgmt`).
    let native = format!("{}:{wanted}", profile.provider);
    let found = match &profile.source {
        Source::AwsConfig { .. } | Source::AwsCredentials { .. } | Source::AliyunConfig { .. } => {
            all.iter().find(|p| p.name == native)
        }
        _ => all.iter().find(|p| &p.name == wanted),
    };
    let name = &profile.name;
    let found = found.ok_or_else(|| {
        Error::config(format!(
            "profile {name}: source_profile '{wanted}' is not a known profile"
        ))
    })?;
    if found.provider != profile.provider {
        return Err(Error::config(format!(
            "profile {name}: source_profile '{wanted}' is a {} profile, not {}",
            found.provider, profile.provider
        )));
    }
    if chain.contains(&found.name) {
        chain.push(found.name.clone());
        return Err(Error::config(format!(
            "profile {}: its source profiles loop ({})",
            chain[0],
            chain.join(" -> ")
        )));
    }
    let mut source = found.clone();
    if source.role.as_ref().is_some_and(|r| r.source.is_none()) {
        chain.push(found.name.clone());
        let inner = source_of(all, &source, chain)?;
        source.endpoint = source.endpoint.or_else(|| inner.endpoint.clone());
        source.region = source.region.or_else(|| inner.region.clone());
        if let Some(role) = source.role.as_mut() {
            role.source = Some(inner);
        }
    }
    Ok(Box::new(source))
}

/// Loads the profiles of the clouds' environment variables, then of their CLIs' files.
pub(crate) fn load_native(
    env: &Environment,
    profiles: &mut Vec<Profile>,
    warnings: &mut Vec<String>,
) -> Result<()> {
    load_env(env, profiles);
    aws::load(env, profiles, warnings)?;
    tccli::load(env, profiles, warnings)?;
    aliyun::load(env.home_file(aliyun::FILE), profiles, warnings)?;
    hcloud::FORMAT.load(env.home_file(hcloud::FILE), profiles, warnings)
}

/// The `current` profile named in the aliyun or hcloud file that `profiles` came from.
pub(crate) fn current_native(profiles: &[Profile], provider: ProviderKind) -> Option<String> {
    let path = profiles.iter().find_map(|p| match &p.source {
        Source::AliyunConfig { path, .. } if provider == ProviderKind::Alibaba => Some(path),
        Source::HcloudConfig { path, .. } if provider == ProviderKind::Huawei => Some(path),
        _ => None,
    })?;
    json::current(path)
}

struct EnvNames {
    provider: ProviderKind,
    id: &'static str,
    secret: &'static str,
    tokens: &'static [&'static str],
    regions: &'static [&'static str],
}

const ENV_NAMES: [EnvNames; 4] = [
    EnvNames {
        provider: ProviderKind::Aws,
        id: "AWS_ACCESS_KEY_ID",
        secret: "AWS_SECRET_ACCESS_KEY",
        tokens: &["AWS_SESSION_TOKEN"],
        regions: &["AWS_REGION", "AWS_DEFAULT_REGION"],
    },
    EnvNames {
        provider: ProviderKind::Tencent,
        id: "TENCENTCLOUD_SECRET_ID",
        secret: "TENCENTCLOUD_SECRET_KEY",
        tokens: &["TENCENTCLOUD_TOKEN", "TENCENTCLOUD_SESSION_TOKEN"],
        regions: &["TENCENTCLOUD_REGION"],
    },
    EnvNames {
        provider: ProviderKind::Alibaba,
        id: "ALIBABA_CLOUD_ACCESS_KEY_ID",
        secret: "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        tokens: &["ALIBABA_CLOUD_SECURITY_TOKEN"],
        regions: &["ALIBABA_CLOUD_REGION_ID"],
    },
    EnvNames {
        provider: ProviderKind::Huawei,
        id: "HUAWEICLOUD_SDK_AK",
        secret: "HUAWEICLOUD_SDK_SK",
        tokens: &["HUAWEICLOUD_SDK_SECURITY_TOKEN"],
        regions: &["HUAWEICLOUD_SDK_REGION"],
    },
];

fn load_env(env: &Environment, profiles: &mut Vec<Profile>) {
    for names in &ENV_NAMES {
        let (Some(id), Some(secret)) = (env.var(names.id), env.var(names.secret)) else {
            continue;
        };
        let first = |list: &[&str]| list.iter().find_map(|v| env.var(v));
        let project_id = match names.provider {
            ProviderKind::Huawei => env.var("HUAWEICLOUD_SDK_PROJECT_ID").map(str::to_string),
            _ => None,
        };
        let profile = Profile {
            session_token: first(names.tokens).map(Secret::new),
            region: first(names.regions).map(str::to_string),
            project_id,
            secret_env: Some(names.secret.to_string()),
            ..Profile::native(names.provider, "env", id, secret, Source::Environment)
        };
        // tccli's role variables: the environment's key assumes the role, as in its files.
        let role = (
            env.var(tccli::ENV_ROLE_ARN),
            env.var(tccli::ENV_ROLE_SESSION),
        );
        profiles.push(match (names.provider, role) {
            (ProviderKind::Tencent, (Some(arn), Some(session))) => {
                tccli::assuming(profile, arn, session)
            }
            _ => profile,
        });
    }
}

/// A file as `parse` reads it, `None` if it does not exist; errors name the file, a parse
/// error after `what`.
fn read_with<T, E: fmt::Display>(
    path: &Path,
    what: &str,
    parse: impl FnOnce(&str) -> std::result::Result<T, E>,
) -> Result<Option<T>> {
    let failed = |err: &dyn fmt::Display| Error::config(format!("{}: {err}", path.display()));
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text)
            .map(Some)
            .map_err(|err| failed(&format_args!("{what}{err}"))),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(Error::config(format!(
            "cannot read {}: {err}",
            path.display()
        ))),
    }
}

/// Warns, as ssh does, when a file holding secrets can be read by group or others.
pub fn warn_if_readable_by_others(path: &Path, warnings: &mut Vec<String>) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode();
            if mode & 0o077 != 0 {
                warnings.push(format!(
                    "{} holds secrets but is readable by others (mode {:o}); run chmod 600 on it",
                    path.display(),
                    mode & 0o777
                ));
            }
        }
    }
}

/// Where a profile's entry stands in its file's text, as write-back finds it.
pub(crate) struct Entry {
    pub id_span: Range<usize>,
    /// As the loaders read it (trimmed).
    pub id: String,
    pub secret_span: Range<usize>,
    pub secret: Secret,
    /// The element of a JSON `profiles` array.
    pub index: Option<usize>,
}

/// How write-back edits one format. Errors are the reason (never holding a secret) that the
/// caller turns into a refusal naming the file and the profile.
pub(crate) trait Edit {
    /// The entry's id and secret and where their values stand in `text`, found with the
    /// loader's field names and navigation.
    fn locate(&self, text: &str) -> std::result::Result<Entry, String>;
    /// The text that replaces a value whose old text is `old`.
    fn encode(&self, old: &str, value: &str) -> String;
    /// Whether `new`, parsed by the loader's parser, is `old` with only the entry's id and
    /// secret replaced by `id` and `secret`.
    fn reads_back(&self, old: &str, new: &str, entry: &Entry, id: &str, secret: &Secret) -> bool;
    /// Why the format cannot hold `value` (beyond being empty or padded), if it cannot.
    fn cannot_hold(&self, _value: &str) -> Option<&'static str> {
        None
    }
}

/// The file of `source` and how to edit it; `None` for the environment.
pub(crate) fn editor(source: &Source) -> Option<(&PathBuf, Box<dyn Edit + '_>)> {
    Some(match source {
        Source::Environment => return None,
        Source::ConfigFile { path, table } => (path, Box::new(toml::Editor { table })),
        Source::AwsCredentials { path, section } | Source::AwsConfig { path, section } => {
            (path, Box::new(aws::Editor { section }))
        }
        Source::TccliCredential { path } => (path, Box::new(tccli::FORMAT.editor(None))),
        Source::AliyunConfig { path, name } => (path, Box::new(aliyun::FORMAT.editor(Some(name)))),
        Source::HcloudConfig { path, name } => (path, Box::new(hcloud::FORMAT.editor(Some(name)))),
    })
}
