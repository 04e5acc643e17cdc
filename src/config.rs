//! Profiles: our TOML file, each cloud's environment variables and native CLI files.
//! Loaders take an [`Environment`] (variables and home folder) so tests never read the real ones.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::model::{ProviderKind, Secret};

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

    fn home_file(&self, relative: &str) -> Option<PathBuf> {
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
}

/// Audit thresholds and allow-list from the `[audit]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    pub max_age_days: Option<i64>,
    pub max_idle_days: Option<i64>,
    pub never_used_days: Option<i64>,
    /// Inactive keys unused this long are findings (`inactive-unused`).
    pub inactive_days: Option<i64>,
    pub cce_warn_days: Option<i64>,
    /// Rules not to check (`audit --skip` adds to these).
    #[serde(default)]
    pub skip: Vec<String>,
    #[serde(default)]
    pub allow: Vec<AllowEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowEntry {
    pub access_key_id: String,
    pub reason: String,
    pub until: Option<AllowUntil>,
}

/// An allow-list end date: a TOML date (`until = 2027-01-31`) or a string
/// (`until = "2027-01-31"`); `audit` checks it.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum AllowUntil {
    Date(toml::value::Datetime),
    Text(String),
}

/// Everything loaded: profiles in a stable order (our file first, then environment, then native files).
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub path: Option<PathBuf>,
    pub default_profile: Option<String>,
    pub profiles: Vec<Profile>,
    pub audit: AuditConfig,
    pub rate_limits: BTreeMap<String, f64>,
    /// Problems worth telling the user about that do not stop the run.
    pub warnings: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    default_profile: Option<String>,
    #[serde(default)]
    profiles: BTreeMap<String, toml::Spanned<ProfileToml>>,
    #[serde(default)]
    audit: AuditConfig,
    #[serde(default)]
    rate_limits: BTreeMap<String, f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileToml {
    provider: String,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    secret_access_key_env: Option<String>,
    session_token: Option<String>,
    session_token_env: Option<String>,
    region: Option<String>,
    endpoint: Option<String>,
    project_id: Option<String>,
}

/// The config file to read: `--config`, `$CLOUDKEYS_CONFIG`, or the XDG default.
/// Returns the path and whether it was named explicitly (then it must exist).
pub fn config_path(explicit: Option<&Path>, env: &Environment) -> Option<(PathBuf, bool)> {
    if let Some(path) = explicit {
        return Some((path.to_path_buf(), true));
    }
    if let Some(path) = env.var("CLOUDKEYS_CONFIG") {
        return Some((PathBuf::from(path), true));
    }
    let base = env
        .var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| env.home_file(".config"))?;
    Some((base.join("cloudkeys").join("config.toml"), false))
}

/// Loads every profile that can be found.
pub fn load(explicit: Option<&Path>, env: &Environment) -> Result<Config> {
    let mut config = Config::default();
    if let Some((path, required)) = config_path(explicit, env) {
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                parse_file(&path, &text, env, &mut config)?;
                config.path = Some(path.clone());
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound && !required => {}
            Err(err) => {
                return Err(Error::config(format!(
                    "cannot read config file {}: {err}",
                    path.display()
                )))
            }
        }
    }
    load_env_profiles(env, &mut config.profiles);
    load_aws_files(env, &mut config)?;
    load_tccli(env, &mut config)?;
    load_aliyun(env, &mut config)?;
    load_hcloud(env, &mut config)?;
    Ok(config)
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn parse_file(path: &Path, text: &str, env: &Environment, config: &mut Config) -> Result<()> {
    let file: FileToml = toml::from_str(text).map_err(|err| {
        // toml's message already names the line and column; keep it on one line.
        let message = err.message().to_string();
        let at = err
            .span()
            .map(|span| format!(" at line {}", line_of(text, span.start)))
            .unwrap_or_default();
        Error::config(format!("{}{at}: {message}", path.display()))
    })?;
    config.default_profile = file.default_profile;
    config.audit = file.audit;
    config.rate_limits = file.rate_limits;
    // Secrets named by environment variable are not in the file.
    let holds_secrets = file.profiles.values().any(|p| {
        let p = p.get_ref();
        p.secret_access_key.is_some() || p.session_token.is_some()
    });
    if holds_secrets {
        warn_if_readable_by_others(path, &mut config.warnings);
    }
    for (name, spanned) in file.profiles {
        let line = line_of(text, spanned.span().start);
        let at = |what: String| {
            Error::config(format!(
                "{} line {line}: profile {name}: {what}",
                path.display()
            ))
        };
        let raw = spanned.into_inner();
        let provider = ProviderKind::parse(&raw.provider).ok_or_else(|| {
            at(format!(
                "unknown provider '{}' (expected aws, tencent, alibaba or huawei)",
                raw.provider
            ))
        })?;
        let access_key_id = raw
            .access_key_id
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| at("access_key_id is missing".into()))?;
        let (secret, secret_env) = match (raw.secret_access_key, raw.secret_access_key_env) {
            (Some(_), Some(_)) => {
                return Err(at(
                    "set secret_access_key or secret_access_key_env, not both".into(),
                ))
            }
            (Some(secret), None) => (Secret::new(secret), None),
            (None, Some(var)) => {
                let value = env.var(&var).ok_or_else(|| {
                    at(format!(
                        "environment variable {var} (secret_access_key_env) is not set"
                    ))
                })?;
                (Secret::new(value), Some(var))
            }
            (None, None) => {
                return Err(at(
                    "secret_access_key (or secret_access_key_env) is missing".into(),
                ))
            }
        };
        let session_token = match (raw.session_token, raw.session_token_env) {
            (Some(token), _) => Some(Secret::new(token)),
            (None, Some(var)) => Some(Secret::new(env.var(&var).ok_or_else(|| {
                at(format!(
                    "environment variable {var} (session_token_env) is not set"
                ))
            })?)),
            (None, None) => None,
        };
        if let Some(endpoint) = &raw.endpoint {
            url::Url::parse(endpoint)
                .map_err(|err| at(format!("endpoint '{endpoint}' is not a URL: {err}")))?;
        }
        config.profiles.push(Profile {
            name: name.clone(),
            provider,
            access_key_id: access_key_id.trim().to_string(),
            secret_access_key: secret,
            session_token,
            region: raw.region,
            endpoint: raw.endpoint,
            project_id: raw.project_id,
            source: Source::ConfigFile {
                path: path.to_path_buf(),
                table: name,
            },
            secret_env,
        });
    }
    Ok(())
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

fn load_env_profiles(env: &Environment, profiles: &mut Vec<Profile>) {
    for names in &ENV_NAMES {
        let (Some(id), Some(secret)) = (env.var(names.id), env.var(names.secret)) else {
            continue;
        };
        let project_id = if names.provider == ProviderKind::Huawei {
            env.var("HUAWEICLOUD_SDK_PROJECT_ID").map(str::to_string)
        } else {
            None
        };
        profiles.push(Profile {
            name: format!("{}:env", names.provider),
            provider: names.provider,
            access_key_id: id.to_string(),
            secret_access_key: Secret::new(secret),
            session_token: names
                .tokens
                .iter()
                .find_map(|t| env.var(t))
                .map(Secret::new),
            region: names
                .regions
                .iter()
                .find_map(|r| env.var(r))
                .map(str::to_string),
            endpoint: None,
            project_id,
            source: Source::Environment,
            secret_env: Some(names.secret.to_string()),
        });
    }
}

fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(Error::config(format!(
            "cannot read {}: {err}",
            path.display()
        ))),
    }
}

fn parse_ini(path: &Path, text: &str) -> Result<ini::Ini> {
    ini::Ini::load_from_str_opt(
        text,
        ini::ParseOption {
            enabled_quote: false,
            enabled_escape: false,
            ..Default::default()
        },
    )
    .map_err(|err| Error::config(format!("{}: {err}", path.display())))
}

fn load_aws_files(env: &Environment, config: &mut Config) -> Result<()> {
    let credentials_path = env
        .var("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| env.home_file(".aws/credentials"));
    let config_path = env
        .var("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| env.home_file(".aws/config"));
    // Region (and possibly keys) per profile name from ~/.aws/config.
    let mut settings: BTreeMap<String, (String, BTreeMap<String, String>)> = BTreeMap::new();
    if let Some(path) = &config_path {
        if let Some(text) = read_optional(path)? {
            for (section, props) in parse_ini(path, &text)?.iter() {
                let Some(section) = section else { continue };
                let name = match section.strip_prefix("profile ") {
                    Some(name) => name.trim(),
                    None if section == "default" => "default",
                    None => continue, // sso-session, services, ...
                };
                let values = props
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                settings.insert(name.to_string(), (section.to_string(), values));
            }
        }
    }
    let mut seen = Vec::new();
    if let Some(path) = &credentials_path {
        if let Some(text) = read_optional(path)? {
            let mut holds_secrets = false;
            for (section, props) in parse_ini(path, &text)?.iter() {
                let Some(section) = section else { continue };
                let (Some(id), Some(secret)) = (
                    props.get("aws_access_key_id"),
                    props.get("aws_secret_access_key"),
                ) else {
                    continue;
                };
                holds_secrets = true;
                let region = props.get("region").map(str::to_string).or_else(|| {
                    settings
                        .get(section)
                        .and_then(|(_, s)| s.get("region").cloned())
                });
                config.profiles.push(aws_profile(
                    section,
                    id,
                    secret,
                    props.get("aws_session_token"),
                    region,
                    Source::AwsCredentials {
                        path: path.clone(),
                        section: section.to_string(),
                    },
                ));
                seen.push(section.to_string());
            }
            if holds_secrets {
                warn_if_readable_by_others(path, &mut config.warnings);
            }
        }
    }
    if let Some(path) = &config_path {
        // Keys may live in ~/.aws/config too (the AWS CLI reads them there).
        let holds_secrets = settings.values().any(|(_, values)| {
            values.contains_key("aws_secret_access_key") || values.contains_key("aws_session_token")
        });
        if holds_secrets {
            warn_if_readable_by_others(path, &mut config.warnings);
        }
        for (name, (section, values)) in &settings {
            if seen.contains(name) {
                continue;
            }
            let (Some(id), Some(secret)) = (
                values.get("aws_access_key_id"),
                values.get("aws_secret_access_key"),
            ) else {
                continue;
            };
            config.profiles.push(aws_profile(
                name,
                id,
                secret,
                values.get("aws_session_token").map(String::as_str),
                values.get("region").cloned(),
                Source::AwsConfig {
                    path: path.clone(),
                    section: section.clone(),
                },
            ));
        }
    }
    Ok(())
}

fn aws_profile(
    name: &str,
    id: &str,
    secret: &str,
    token: Option<&str>,
    region: Option<String>,
    source: Source,
) -> Profile {
    Profile {
        name: format!("aws:{name}"),
        provider: ProviderKind::Aws,
        access_key_id: id.trim().to_string(),
        secret_access_key: Secret::new(secret.trim()),
        session_token: token.filter(|t| !t.is_empty()).map(Secret::new),
        region,
        endpoint: None,
        project_id: None,
        source,
        secret_env: None,
    }
}

fn json_file(path: &Path) -> Result<Option<serde_json::Value>> {
    let Some(text) = read_optional(path)? else {
        return Ok(None);
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|err| Error::config(format!("{}: not valid JSON: {err}", path.display())))
}

fn str_field<'a>(value: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    value
        .get(name)
        .and_then(|v| v.as_str())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn load_tccli(env: &Environment, config: &mut Config) -> Result<()> {
    let Some(dir) = env.home_file(".tccli") else {
        return Ok(());
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(());
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|ext| ext == "credential"))
        .collect();
    files.sort();
    for path in files {
        let Some(name) = path
            .file_stem()
            .and_then(|s| s.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        let Some(doc) = json_file(&path)? else {
            continue;
        };
        let (Some(id), Some(secret)) = (str_field(&doc, "secretId"), str_field(&doc, "secretKey"))
        else {
            continue;
        };
        // Region lives beside it in <name>.configure.
        let region = json_file(&dir.join(format!("{name}.configure")))
            .ok()
            .flatten()
            .and_then(|c| {
                str_field(&c, "region")
                    .or_else(|| c.get("_sys_param").and_then(|s| str_field(s, "region")))
                    .map(str::to_string)
            });
        warn_if_readable_by_others(&path, &mut config.warnings);
        config.profiles.push(Profile {
            name: format!("tencent:{name}"),
            provider: ProviderKind::Tencent,
            access_key_id: id.to_string(),
            secret_access_key: Secret::new(secret),
            session_token: str_field(&doc, "token").map(Secret::new),
            region,
            endpoint: None,
            project_id: None,
            source: Source::TccliCredential { path: path.clone() },
            secret_env: None,
        });
    }
    Ok(())
}

fn load_aliyun(env: &Environment, config: &mut Config) -> Result<()> {
    let Some(path) = env.home_file(".aliyun/config.json") else {
        return Ok(());
    };
    let Some(doc) = json_file(&path)? else {
        return Ok(());
    };
    let mut holds_secrets = false;
    for entry in doc
        .get("profiles")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
    {
        let Some(name) = str_field(entry, "name") else {
            continue;
        };
        // AK mode holds a long-term key; StsToken mode a temporary one. Other modes (RamRoleArn,
        // EcsRamRole, ...) need flows cloudkeys does not run.
        let mode = str_field(entry, "mode").unwrap_or("AK");
        if mode != "AK" && mode != "StsToken" {
            continue;
        }
        let (Some(id), Some(secret)) = (
            str_field(entry, "access_key_id"),
            str_field(entry, "access_key_secret"),
        ) else {
            continue;
        };
        holds_secrets = true;
        config.profiles.push(Profile {
            name: format!("alibaba:{name}"),
            provider: ProviderKind::Alibaba,
            access_key_id: id.to_string(),
            secret_access_key: Secret::new(secret),
            session_token: str_field(entry, "sts_token").map(Secret::new),
            region: str_field(entry, "region_id").map(str::to_string),
            endpoint: None,
            project_id: None,
            source: Source::AliyunConfig {
                path: path.clone(),
                name: name.to_string(),
            },
            secret_env: None,
        });
    }
    if holds_secrets {
        warn_if_readable_by_others(&path, &mut config.warnings);
    }
    Ok(())
}

fn load_hcloud(env: &Environment, config: &mut Config) -> Result<()> {
    let Some(path) = env.home_file(".hcloud/config.json") else {
        return Ok(());
    };
    let Some(doc) = json_file(&path)? else {
        return Ok(());
    };
    let mut holds_secrets = false;
    for entry in doc
        .get("profiles")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
    {
        let Some(name) = str_field(entry, "name") else {
            continue;
        };
        let mode = str_field(entry, "mode").unwrap_or("AKSK");
        if !mode.eq_ignore_ascii_case("AKSK") {
            continue;
        }
        let (Some(id), Some(secret)) = (
            str_field(entry, "accessKeyId"),
            str_field(entry, "secretAccessKey"),
        ) else {
            continue;
        };
        holds_secrets = true;
        config.profiles.push(Profile {
            name: format!("huawei:{name}"),
            provider: ProviderKind::Huawei,
            access_key_id: id.to_string(),
            secret_access_key: Secret::new(secret),
            session_token: str_field(entry, "securityToken").map(Secret::new),
            region: str_field(entry, "region").map(str::to_string),
            endpoint: None,
            project_id: str_field(entry, "projectId").map(str::to_string),
            source: Source::HcloudConfig {
                path: path.clone(),
                name: name.to_string(),
            },
            secret_env: None,
        });
    }
    if holds_secrets {
        warn_if_readable_by_others(&path, &mut config.warnings);
    }
    Ok(())
}

/// How the operator chose profiles on the command line.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub names: Vec<String>,
    pub all: bool,
    pub provider: Option<ProviderKind>,
}

impl Config {
    fn find(&self, name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name == name)
    }

    fn known_names(&self) -> String {
        if self.profiles.is_empty() {
            return "none found".to_string();
        }
        self.profiles
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The default native profile of a cloud, as its own CLI would pick it.
    fn native_default(&self, provider: ProviderKind, env: &Environment) -> Option<&Profile> {
        let env_profile = self.find(&format!("{provider}:env"));
        if env_profile.is_some() {
            return env_profile;
        }
        let preferred = match provider {
            ProviderKind::Aws => env.var("AWS_PROFILE").unwrap_or("default").to_string(),
            ProviderKind::Tencent => "default".to_string(),
            ProviderKind::Alibaba => self.current_native(provider).unwrap_or("default".into()),
            ProviderKind::Huawei => self.current_native(provider).unwrap_or("default".into()),
        };
        self.find(&format!("{provider}:{preferred}"))
    }

    fn current_native(&self, provider: ProviderKind) -> Option<String> {
        let path = self.profiles.iter().find_map(|p| match &p.source {
            Source::AliyunConfig { path, .. } if provider == ProviderKind::Alibaba => Some(path),
            Source::HcloudConfig { path, .. } if provider == ProviderKind::Huawei => Some(path),
            _ => None,
        })?;
        let doc = json_file(path).ok().flatten()?;
        str_field(&doc, "current").map(str::to_string)
    }

    /// The profiles a command acts on.
    pub fn select(&self, selection: &Selection, env: &Environment) -> Result<Vec<Profile>> {
        let by_provider = |p: &&Profile| selection.provider.is_none_or(|k| p.provider == k);
        if !selection.names.is_empty() {
            let mut chosen = Vec::new();
            for name in &selection.names {
                let found = self.find(name).or_else(|| {
                    selection
                        .provider
                        .and_then(|k| self.find(&format!("{k}:{name}")))
                });
                let profile = found.ok_or_else(|| {
                    Error::config(format!(
                        "unknown profile '{name}' (known: {})",
                        self.known_names()
                    ))
                })?;
                if !by_provider(&profile) {
                    return Err(Error::config(format!(
                        "profile '{name}' is a {} profile, not {}",
                        profile.provider,
                        selection.provider.map(|k| k.as_str()).unwrap_or_default()
                    )));
                }
                if !chosen.iter().any(|p: &Profile| p.name == profile.name) {
                    chosen.push(profile.clone());
                }
            }
            return Ok(chosen);
        }
        if selection.all {
            // The same key found in two places is one target.
            let mut chosen: Vec<Profile> = Vec::new();
            for profile in self.profiles.iter().filter(by_provider) {
                if !chosen.iter().any(|p| {
                    p.provider == profile.provider && p.access_key_id == profile.access_key_id
                }) {
                    chosen.push(profile.clone());
                }
            }
            if chosen.is_empty() {
                return Err(self.no_credentials(selection.provider));
            }
            return Ok(chosen);
        }
        if let Some(provider) = selection.provider {
            if let Some(profile) = self.native_default(provider, env) {
                return Ok(vec![profile.clone()]);
            }
            let mine: Vec<&Profile> = self.profiles.iter().filter(by_provider).collect();
            return match mine.as_slice() {
                [only] => Ok(vec![(*only).clone()]),
                [] => Err(self.no_credentials(Some(provider))),
                _ => Err(Error::config(format!(
                    "several {provider} profiles found ({}); choose one with -p NAME or use --all-profiles",
                    mine.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
                ))),
            };
        }
        let wanted = env
            .var("CLOUDKEYS_PROFILE")
            .map(str::to_string)
            .or_else(|| self.default_profile.clone());
        if let Some(name) = wanted {
            return self.find(&name).map(|p| vec![p.clone()]).ok_or_else(|| {
                Error::config(format!(
                    "default profile '{name}' not found (known: {})",
                    self.known_names()
                ))
            });
        }
        match self.profiles.as_slice() {
            [only] => Ok(vec![only.clone()]),
            [] => Err(self.no_credentials(None)),
            _ => Err(Error::config(format!(
                "several profiles found ({}); choose with -p NAME, --provider P or --all-profiles, \
                 or set default_profile in the config file",
                self.known_names()
            ))),
        }
    }

    fn no_credentials(&self, provider: Option<ProviderKind>) -> Error {
        let which = provider.map(|p| format!("{p} ")).unwrap_or_default();
        Error::config(format!(
            "no {which}credentials found: add a profile to the config file, set the cloud's \
             environment variables, or configure its CLI (see cloudkeys profiles --help)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with(home: &Path, vars: &[(&str, &str)]) -> Environment {
        Environment {
            vars: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            home: Some(home.to_path_buf()),
        }
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn reads_our_toml_with_all_providers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        write(
            &path,
            r#"
default_profile = "prod"
[profiles.prod]
provider = "aws"
access_key_id = "AKIAEXAMPLE"
secret_access_key = "s1"
region = "cn-north-1"

[profiles.hw]
provider = "huawei"
access_key_id = "HWAK"
secret_access_key_env = "HW_SECRET"
project_id = "p1"

[audit]
max_age_days = 30
[[audit.allow]]
access_key_id = "AKIA1"
reason = "vendor"
until = 2027-01-31
"#,
        );
        let env = env_with(dir.path(), &[("HW_SECRET", "s2")]);
        let config = load(Some(&path), &env).unwrap();
        assert_eq!(config.profiles.len(), 2);
        let hw = config.find("hw").unwrap();
        assert_eq!(hw.provider, ProviderKind::Huawei);
        assert_eq!(hw.secret_access_key.expose(), "s2");
        assert_eq!(hw.secret_env.as_deref(), Some("HW_SECRET"));
        assert_eq!(config.audit.max_age_days, Some(30));
        assert_eq!(config.audit.allow.len(), 1);
        let chosen = config.select(&Selection::default(), &env).unwrap();
        assert_eq!(chosen[0].name, "prod");
    }

    #[test]
    fn bad_toml_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        write(&path, "[profiles.a]\nprovider = \"aws\"\naccess_key_id = \"AK\"\nsecret_access_key = \"s\"\n\n[profiles.b]\nprovider = \"gcp\"\naccess_key_id = \"x\"\nsecret_access_key = \"y\"\n");
        let err = load(Some(&path), &env_with(dir.path(), &[])).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let text = err.to_string();
        assert!(text.contains("c.toml line 6"), "{text}");
        assert!(text.contains("unknown provider 'gcp'"), "{text}");

        write(
            &path,
            "[profiles.a]\nprovider = \"aws\"\nacess_key_id = \"AK\"\n",
        );
        let text = load(Some(&path), &env_with(dir.path(), &[]))
            .unwrap_err()
            .to_string();
        assert!(text.contains("line 3"), "{text}");
        assert!(text.contains("acess_key_id"), "{text}");

        write(&path, "[profiles.a\n");
        let text = load(Some(&path), &env_with(dir.path(), &[]))
            .unwrap_err()
            .to_string();
        assert!(text.contains("c.toml at line 1"), "{text}");
    }

    #[test]
    fn missing_secret_is_a_config_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        write(
            &path,
            "[profiles.a]\nprovider = \"aws\"\naccess_key_id = \"AK\"\n",
        );
        let err = load(Some(&path), &env_with(dir.path(), &[])).unwrap_err();
        assert!(err.to_string().contains("secret_access_key"), "{err}");
        write(&path, "[profiles.a]\nprovider = \"aws\"\naccess_key_id = \"AK\"\nsecret_access_key_env = \"NOPE\"\n");
        let err = load(Some(&path), &env_with(dir.path(), &[])).unwrap_err();
        assert!(err.to_string().contains("NOPE"), "{err}");
    }

    #[test]
    fn named_config_file_must_exist_default_one_need_not() {
        let dir = tempfile::tempdir().unwrap();
        let env = env_with(dir.path(), &[]);
        assert!(load(Some(&dir.path().join("nope.toml")), &env).is_err());
        assert!(load(None, &env).unwrap().profiles.is_empty());
    }

    #[test]
    fn aws_env_and_files() {
        let dir = tempfile::tempdir().unwrap();
        write(
            &dir.path().join(".aws/credentials"),
            "# comment\n[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = sd\n\n; other\n[prod]\naws_access_key_id=AKIAPROD\naws_secret_access_key=sp\naws_session_token=tok\n",
        );
        write(
            &dir.path().join(".aws/config"),
            "[default]\nregion = eu-west-1\n[profile prod]\nregion = cn-north-1\n[profile cfgonly]\naws_access_key_id = AKIACFG\naws_secret_access_key = sc\n[sso-session x]\nsso_region = us-east-1\n",
        );
        let env = env_with(dir.path(), &[("AWS_PROFILE", "prod")]);
        let config = load(None, &env).unwrap();
        let names: Vec<&str> = config.profiles.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, vec!["aws:default", "aws:prod", "aws:cfgonly"]);
        assert_eq!(
            config.find("aws:default").unwrap().region.as_deref(),
            Some("eu-west-1")
        );
        let prod = config.find("aws:prod").unwrap();
        assert_eq!(prod.region.as_deref(), Some("cn-north-1"));
        assert_eq!(prod.session_token.as_ref().unwrap().expose(), "tok");
        let selection = Selection {
            provider: Some(ProviderKind::Aws),
            ..Default::default()
        };
        assert_eq!(config.select(&selection, &env).unwrap()[0].name, "aws:prod");

        // Environment credentials win for --provider aws.
        let env = env_with(
            dir.path(),
            &[
                ("AWS_ACCESS_KEY_ID", "AKIAENV"),
                ("AWS_SECRET_ACCESS_KEY", "se"),
                ("AWS_REGION", "us-west-2"),
            ],
        );
        let config = load(None, &env).unwrap();
        let chosen = config.select(&selection, &env).unwrap();
        assert_eq!(chosen[0].name, "aws:env");
        assert_eq!(chosen[0].region.as_deref(), Some("us-west-2"));

        // AWS_SHARED_CREDENTIALS_FILE points elsewhere.
        let other = dir.path().join("creds");
        write(
            &other,
            "[x]\naws_access_key_id = AKIAX\naws_secret_access_key = sx\n",
        );
        let env = env_with(
            dir.path(),
            &[("AWS_SHARED_CREDENTIALS_FILE", other.to_str().unwrap())],
        );
        let config = load(None, &env).unwrap();
        assert!(config.find("aws:x").is_some());
        assert!(config.find("aws:prod").is_none());
    }

    #[test]
    fn other_clouds_native_files() {
        let dir = tempfile::tempdir().unwrap();
        write(
            &dir.path().join(".tccli/default.credential"),
            r#"{"secretId":"AKIDx","secretKey":"k"}"#,
        );
        write(
            &dir.path().join(".tccli/default.configure"),
            r#"{"region":"ap-guangzhou"}"#,
        );
        write(
            &dir.path().join(".aliyun/config.json"),
            r#"{"current":"b","profiles":[{"name":"a","mode":"AK","access_key_id":"LTAIa","access_key_secret":"s"},{"name":"b","mode":"AK","access_key_id":"LTAIb","access_key_secret":"s","region_id":"cn-hangzhou"},{"name":"r","mode":"RamRoleArn"}]}"#,
        );
        write(
            &dir.path().join(".hcloud/config.json"),
            r#"{"current":"hw","profiles":[{"name":"hw","mode":"AKSK","accessKeyId":"HWAK","secretAccessKey":"s","region":"cn-north-4","projectId":"p"}]}"#,
        );
        let env = env_with(dir.path(), &[]);
        let config = load(None, &env).unwrap();
        assert_eq!(
            config.find("tencent:default").unwrap().region.as_deref(),
            Some("ap-guangzhou")
        );
        assert!(config.find("alibaba:r").is_none());
        let pick = |k| {
            config
                .select(
                    &Selection {
                        provider: Some(k),
                        ..Default::default()
                    },
                    &env,
                )
                .unwrap()[0]
                .name
                .clone()
        };
        assert_eq!(pick(ProviderKind::Alibaba), "alibaba:b");
        assert_eq!(pick(ProviderKind::Huawei), "huawei:hw");
        assert_eq!(
            config.find("huawei:hw").unwrap().project_id.as_deref(),
            Some("p")
        );
    }

    #[test]
    fn selection_errors_are_clear() {
        let dir = tempfile::tempdir().unwrap();
        let env = env_with(dir.path(), &[]);
        let config = load(None, &env).unwrap();
        let err = config.select(&Selection::default(), &env).unwrap_err();
        assert!(err.to_string().starts_with("no credentials found"), "{err}");
        let err = config
            .select(
                &Selection {
                    names: vec!["x".into()],
                    ..Default::default()
                },
                &env,
            )
            .unwrap_err();
        assert!(err.to_string().contains("unknown profile 'x'"), "{err}");
        assert_eq!(err.exit_code(), 2);
    }

    #[cfg(unix)]
    #[test]
    fn warns_about_world_readable_secrets() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        write(
            &path,
            "[profiles.a]\nprovider = \"aws\"\naccess_key_id = \"AK\"\nsecret_access_key = \"s\"\n",
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let config = load(Some(&path), &env_with(dir.path(), &[])).unwrap();
        assert_eq!(config.warnings.len(), 1);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let config = load(Some(&path), &env_with(dir.path(), &[])).unwrap();
        assert!(config.warnings.is_empty());
        // A file that only names environment variables holds no secret: no warning.
        write(
            &path,
            "[profiles.a]\nprovider = \"aws\"\naccess_key_id = \"AK\"\nsecret_access_key_env = \"S\"\n",
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let config = load(Some(&path), &env_with(dir.path(), &[("S", "s")])).unwrap();
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    }

    #[test]
    fn warns_about_every_native_file_holding_secrets_that_others_can_read() {
        use std::os::unix::fs::PermissionsExt;
        let files = [
            (
                ".aws/credentials",
                "[default]\naws_access_key_id = AKIA1\naws_secret_access_key = s\n",
            ),
            (
                ".aws/config",
                "[profile cfg]\naws_access_key_id = AKIA2\naws_secret_access_key = s\n",
            ),
            (
                ".tccli/default.credential",
                r#"{"secretId":"AKIDx","secretKey":"k"}"#,
            ),
            (
                ".aliyun/config.json",
                r#"{"profiles":[{"name":"a","mode":"AK","access_key_id":"LTAIa","access_key_secret":"s"}]}"#,
            ),
            (
                ".hcloud/config.json",
                r#"{"profiles":[{"name":"h","mode":"AKSK","accessKeyId":"HWAK","secretAccessKey":"s"}]}"#,
            ),
        ];
        for (relative, text) in files {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(relative);
            write(&path, text);
            for (mode, warned) in [
                (0o644, true),
                (0o640, true),
                (0o604, true),
                (0o600, false),
                (0o400, false),
            ] {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
                let config = load(None, &env_with(dir.path(), &[])).unwrap();
                assert_eq!(config.profiles.len(), 1, "{relative}");
                if warned {
                    assert_eq!(config.warnings.len(), 1, "{relative} {mode:o}");
                    let warning = &config.warnings[0];
                    assert!(warning.contains(&path.display().to_string()), "{warning}");
                    assert!(warning.contains(&format!("mode {mode:o}")), "{warning}");
                    assert!(warning.contains("chmod 600"), "{warning}");
                } else {
                    assert!(
                        config.warnings.is_empty(),
                        "{relative} {mode:o}: {:?}",
                        config.warnings
                    );
                }
            }
        }
        // A ~/.aws/config with regions only holds no secret.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".aws/config");
        write(&path, "[default]\nregion = eu-west-1\n");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let config = load(None, &env_with(dir.path(), &[])).unwrap();
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    }

    #[test]
    fn profiles_never_show_their_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        write(
            &path,
            "[profiles.a]\nprovider = \"aws\"\naccess_key_id = \"AKIA1\"\nsecret_access_key = \"wJalrXUtnFEMIsecret\"\nsession_token = \"FwoGZXIvYXdzEtoken\"\n",
        );
        let config = load(Some(&path), &env_with(dir.path(), &[])).unwrap();
        for shown in [format!("{config:?}"), format!("{:?}", config.profiles[0])] {
            assert!(shown.contains("AKIA1"), "{shown}");
            assert!(!shown.contains("wJalr"), "{shown}");
            assert!(!shown.contains("FwoGZ"), "{shown}");
        }
    }
}
