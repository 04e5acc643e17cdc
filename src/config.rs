//! Profiles and settings: our TOML file, then each cloud's environment variables and native CLI
//! files (read in `crate::credentials`). Loaders take an [`Environment`] (variables and home
//! folder) so tests never read the real ones.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::credentials::{self, toml::ProfileToml};
pub use crate::credentials::{warn_if_readable_by_others, Environment, Profile, Role, Source};
use crate::error::{Error, Result};
use crate::model::ProviderKind;

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

/// `[organizations.NAME]`: every account of an organization, read through one role name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    pub provider: String,
    /// Lists the organization's accounts and reads the management account itself.
    pub source_profile: String,
    pub role_name: Option<String>,
    /// Only these account ids (all when empty).
    #[serde(default)]
    pub accounts: Vec<String>,
    /// Never these account ids.
    #[serde(default)]
    pub exclude: Vec<String>,
}

impl Organization {
    /// Whether the filters keep account `id`.
    pub fn keeps(&self, id: &str) -> bool {
        (self.accounts.is_empty() || self.accounts.iter().any(|a| a == id))
            && !self.exclude.iter().any(|a| a == id)
    }
}

/// Everything loaded: profiles in a stable order (our file first, then environment, then native files).
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub path: Option<PathBuf>,
    pub default_profile: Option<String>,
    pub profiles: Vec<Profile>,
    pub audit: AuditConfig,
    pub rate_limits: BTreeMap<String, f64>,
    pub organizations: BTreeMap<String, Organization>,
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
    #[serde(default)]
    organizations: BTreeMap<String, Organization>,
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
    credentials::load_native(env, &mut config.profiles, &mut config.warnings)?;
    credentials::resolve_roles(&mut config.profiles)?;
    Ok(config)
}

fn parse_file(path: &Path, text: &str, env: &Environment, config: &mut Config) -> Result<()> {
    let file: FileToml = toml::from_str(text).map_err(|err| {
        // toml's message already names the line and column; keep it on one line.
        let message = err.message().to_string();
        let at = err
            .span()
            .map(|span| format!(" at line {}", credentials::toml::line_of(text, span.start)))
            .unwrap_or_default();
        Error::config(format!("{}{at}: {message}", path.display()))
    })?;
    config.default_profile = file.default_profile;
    config.audit = file.audit;
    config.rate_limits = file.rate_limits;
    config.organizations = file.organizations;
    if file.profiles.values().any(|p| p.get_ref().holds_secret()) {
        warn_if_readable_by_others(path, &mut config.warnings);
    }
    let profiles = credentials::toml::profiles(path, text, file.profiles, env)?;
    config.profiles.extend(profiles);
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
        match self.profiles.as_slice() {
            [] => "none found".to_string(),
            all => names(all.iter()),
        }
    }

    /// The default native profile of a cloud, as its own CLI would pick it.
    fn native_default(&self, provider: ProviderKind, env: &Environment) -> Option<&Profile> {
        let preferred = match provider {
            ProviderKind::Aws => env.var("AWS_PROFILE").map(str::to_string),
            ProviderKind::Tencent => None,
            _ => credentials::current_native(&self.profiles, provider),
        };
        let preferred = preferred.as_deref().unwrap_or("default");
        self.find(&format!("{provider}:env"))
            .or_else(|| self.find(&format!("{provider}:{preferred}")))
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
                // Role profiles hold no key: each is its own target.
                if !profile.holds_key()
                    || !chosen.iter().any(|p| {
                        p.provider == profile.provider && p.access_key_id == profile.access_key_id
                    })
                {
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
                    names(mine.iter().copied())
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

/// `a, b, c`: the names of `profiles`.
fn names<'a>(profiles: impl Iterator<Item = &'a Profile>) -> String {
    profiles
        .map(|p| p.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
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

    /// Writes `text` to `c.toml` in a fresh folder, which is also the home, and loads it.
    fn load_toml(text: &str) -> Result<Config> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        write(&path, text);
        load(Some(&path), &env_with(dir.path(), &[]))
    }

    #[test]
    fn bad_toml_names_file_and_line() {
        let err = load_toml("[profiles.a]\nprovider = \"aws\"\naccess_key_id = \"AK\"\nsecret_access_key = \"s\"\n\n[profiles.b]\nprovider = \"gcp\"\naccess_key_id = \"x\"\nsecret_access_key = \"y\"\n").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let text = err.to_string();
        assert!(text.contains("c.toml line 6"), "{text}");
        assert!(text.contains("unknown provider 'gcp'"), "{text}");

        let err = load_toml("[profiles.a]\nprovider = \"aws\"\nacess_key_id = \"AK\"\n");
        let text = err.unwrap_err().to_string();
        assert!(text.contains("line 3"), "{text}");
        assert!(text.contains("acess_key_id"), "{text}");

        let text = load_toml("[profiles.a\n").unwrap_err().to_string();
        assert!(text.contains("c.toml at line 1"), "{text}");
    }

    #[test]
    fn missing_secret_is_a_config_error() {
        let err =
            load_toml("[profiles.a]\nprovider = \"aws\"\naccess_key_id = \"AK\"\n").unwrap_err();
        assert!(err.to_string().contains("secret_access_key"), "{err}");
        let err = load_toml("[profiles.a]\nprovider = \"aws\"\naccess_key_id = \"AK\"\nsecret_access_key_env = \"NOPE\"\n").unwrap_err();
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
    fn aws_config_role_profiles_are_read_as_the_aws_cli_does() {
        let dir = tempfile::tempdir().unwrap();
        write(
            &dir.path().join(".aws/credentials"),
            "[mgmt]\naws_access_key_id = AKIAMGMT\naws_secret_access_key = sm\n[both]\naws_access_key_id = AKIABOTH\naws_secret_access_key = sb\n",
        );
        write(
            &dir.path().join(".aws/config"),
            "[profile mgmt]\nregion = eu-west-1\n\
             [profile audit]\nrole_arn = arn:aws:iam::222233334444:role/KeyAuditor\nsource_profile = mgmt\nexternal_id = ext-1\nrole_session_name = me\nduration_seconds = 900\n\
             [profile deeper]\nrole_arn = arn:aws:iam::222233334444:role/KeyAdmin\nsource_profile = audit\nduration_seconds = soon\n\
             [profile both]\nrole_arn = arn:aws:iam::1:role/R\nsource_profile = mgmt\n\
             [profile ec2]\nrole_arn = arn:aws:iam::1:role/R\ncredential_source = Ec2InstanceMetadata\n\
             [profile mfa]\nrole_arn = arn:aws:iam::1:role/R\nsource_profile = mgmt\nmfa_serial = arn:aws:iam::1:mfa/me\n",
        );
        let config = load(None, &env_with(dir.path(), &[])).unwrap();
        let audit = config.find("aws:audit").unwrap();
        let role = audit.role.as_ref().unwrap();
        assert_eq!(role.role_arn, "arn:aws:iam::222233334444:role/KeyAuditor");
        assert_eq!(role.external_id.as_deref(), Some("ext-1"));
        assert_eq!(role.session_name.as_deref(), Some("me"));
        assert_eq!(role.duration_seconds, Some(900));
        assert_eq!(role.source.as_ref().unwrap().access_key_id, "AKIAMGMT");
        assert!(audit.access_key_id.is_empty() && audit.secret_access_key.is_empty());
        // The source's region, unless the role profile sets its own.
        assert_eq!(audit.region.as_deref(), Some("eu-west-1"));
        let deeper = config.find("aws:deeper").unwrap().role.as_ref().unwrap();
        assert_eq!(
            deeper.duration_seconds, None,
            "not a number: ignored, as botocore does"
        );
        assert_eq!(
            deeper.describe(),
            "role KeyAdmin via audit (role KeyAuditor via mgmt)"
        );
        // A role wins over keys of the same profile, as in the AWS CLI.
        assert!(config.find("aws:both").unwrap().role.is_some());
        let mfa = config.find("aws:mfa").unwrap().role.as_ref().unwrap();
        assert_eq!(mfa.mfa_serial.as_deref(), Some("arn:aws:iam::1:mfa/me"));
        // credential_source: the role's source is fetched at run time, no profile of its own.
        let ec2 = config.find("aws:ec2").unwrap().role.as_ref().unwrap();
        assert_eq!(
            ec2.describe(),
            "role R via credential_source Ec2InstanceMetadata"
        );
        let source = ec2.source.as_ref().unwrap();
        assert!(
            matches!(source.fetch, Some(credentials::Fetch::Ec2InstanceMetadata(ref u)) if u == "http://169.254.169.254")
        );
        assert!(source.refuse_role().is_err() && !source.holds_key());
        // Two role profiles are two targets of --all-profiles, though neither holds a key.
        let all = config
            .select(
                &Selection {
                    all: true,
                    ..Default::default()
                },
                &env_with(dir.path(), &[]),
            )
            .unwrap();
        assert_eq!(all.iter().filter(|p| p.role.is_some()).count(), 5);

        write(
            &dir.path().join(".aws/config"),
            "[profile a]\nrole_arn = arn:aws:iam::1:role/R\nsource_profile = b\n[profile b]\nrole_arn = arn:aws:iam::1:role/R\nsource_profile = a\n",
        );
        let err = load(None, &env_with(dir.path(), &[])).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.to_string().contains("loop (aws:a -> aws:b -> aws:a)"),
            "{err}"
        );
        write(
            &dir.path().join(".aws/config"),
            "[profile a]\nrole_arn = arn:aws:iam::1:role/R\n",
        );
        let err = load(None, &env_with(dir.path(), &[])).unwrap_err();
        assert!(
            err.to_string().contains("role_arn needs source_profile"),
            "{err}"
        );
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
        let config = load_toml("[profiles.a]\nprovider = \"aws\"\naccess_key_id = \"AKIA1\"\nsecret_access_key = \"wJalrXUtnFEMIsecret\"\nsession_token = \"FwoGZXIvYXdzEtoken\"\n").unwrap();
        for shown in [format!("{config:?}"), format!("{:?}", config.profiles[0])] {
            assert!(shown.contains("AKIA1"), "{shown}");
            assert!(!shown.contains("wJalr"), "{shown}");
            assert!(!shown.contains("FwoGZ"), "{shown}");
        }
    }
}
