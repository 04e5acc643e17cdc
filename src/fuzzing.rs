//! Entry points for the fuzz targets in `fuzz/` and the property tests in
//! `tests/fuzz_parsers.rs`: every parser of outside input, reachable without a network or the
//! real home folder. Not a stable API; hidden from the docs, and built only for tests, benches
//! and `cargo fuzz` (the `fuzzing` feature or cfg): the providers never depend on it.
//!
//! The `target_*` functions are the fuzz targets' bodies (each `fuzz/fuzz_targets/NAME.rs` is
//! one call), so the property tests run exactly what libFuzzer runs.

use std::path::{Path, PathBuf};

use serde::de::IgnoredAny;

use crate::config::{self, Config, Environment, Selection};
use crate::error::{Error, Result};
use crate::model::{Identity, KeyRecord, LastUsed, NewKey, ProviderKind, UserRef};
use crate::providers::huawei::cce::CceAkskStatus;
use crate::providers::parse;

pub use crate::commands::check_key_id;
pub use crate::providers::aws::account_from_key_id;
pub use crate::time::{parse_beijing, parse_beijing_date, parse_go_time, parse_rfc3339};

/// What one cloud's answer parsers make of one HTTP answer, read as each kind of answer.
#[derive(Debug)]
pub struct Parsed {
    /// As a key listing (ListAccessKeys).
    pub keys: Result<Vec<KeyRecord>>,
    /// As a user listing (ListUsers).
    pub users: Result<Vec<UserRef>>,
    /// As the caller's identity (GetCallerIdentity, or Huawei's filtered user list).
    pub identity: Result<Identity>,
    /// As a last-use answer (Tencent: one per row).
    pub last_used: Result<Vec<LastUsed>>,
    /// As a newly created key.
    pub created: Result<NewKey>,
    /// As CCE CheckAKSK (Huawei only).
    pub cce: Option<Result<CceAkskStatus>>,
}

/// One cloud's answer parsers on `body` answered with HTTP `status`.
pub fn answer(kind: ProviderKind, status: u16, body: &[u8]) -> Parsed {
    match kind {
        ProviderKind::Aws => aws_answer(status, body),
        ProviderKind::Tencent => tencent_answer(status, body),
        ProviderKind::Alibaba => alibaba_answer(status, body),
        ProviderKind::Huawei => huawei_answer(status, body),
    }
}

fn aws_answer(status: u16, body: &[u8]) -> Parsed {
    use crate::providers::aws::{self, api, Aws};
    let identity = parse::<Aws, api::GetCallerIdentityResponse>("GetCallerIdentity", status, body)
        .map(|a| aws::identity_from(a.result, "fuzz", "AKIAFUZZ"));
    let account = identity.as_ref().ok().and_then(|i| i.account_id.clone());
    let account = account.as_deref();
    let _ = parse::<Aws, api::GetAccessKeyInfoResponse>("GetAccessKeyInfo", status, body);
    let _ = parse::<Aws, IgnoredAny>("UpdateAccessKey", status, body);
    Parsed {
        keys: parse::<Aws, api::ListAccessKeysResponse>("ListAccessKeys", status, body).and_then(
            |page| {
                let keys = page.result.access_key_metadata.member.into_iter();
                keys.map(|key| aws::record_from(key, "fuzz", account))
                    .collect()
            },
        ),
        users: parse::<Aws, api::ListUsersResponse>("ListUsers", status, body)
            .map(|page| aws::users_page(page).0),
        last_used: parse::<Aws, api::GetAccessKeyLastUsedResponse>(
            "GetAccessKeyLastUsed",
            status,
            body,
        )
        .map(|a| vec![aws::last_used_from(a.result.access_key_last_used)]),
        created: parse::<Aws, api::CreateAccessKeyResponse>("CreateAccessKey", status, body)
            .and_then(|a| aws::created_from(a, "fuzz", account)),
        identity,
        cce: None,
    }
}

fn tencent_answer(status: u16, body: &[u8]) -> Parsed {
    use crate::providers::tencent::{self, api, Tencent};
    let identity =
        parse::<Tencent, api::GetCallerIdentityResponse>("GetCallerIdentity", status, body)
            .map(|a| tencent::identity_from(a, "fuzz", "AKIDFUZZ"));
    let account = identity.as_ref().ok().and_then(|i| i.account_id.clone());
    let account = account.as_deref();
    let uin = identity
        .as_ref()
        .ok()
        .and_then(|i| i.user_id.as_deref()?.parse::<u64>().ok());
    let _ = parse::<Tencent, api::GetUserResponse>("GetUser", status, body);
    let _ = parse::<Tencent, IgnoredAny>("UpdateAccessKey", status, body);
    Parsed {
        keys: parse::<Tencent, api::ListAccessKeysResponse>("ListAccessKeys", status, body)
            .and_then(|a| {
                let keys = a.access_keys.into_iter();
                keys.map(|key| tencent::record_from(key, "fuzz", account, "user", uin))
                    .collect()
            }),
        users: parse::<Tencent, api::ListUsersResponse>("ListUsers", status, body).map(|a| {
            let users = a.data.into_iter();
            users
                .map(|u| UserRef {
                    name: u.name,
                    id: Some(u.uin.to_string()),
                })
                .collect()
        }),
        last_used: parse::<Tencent, api::GetSecurityLastUsedResponse>(
            "GetSecurityLastUsed",
            status,
            body,
        )
        .map(|a| {
            a.secret_id_last_used_rows
                .iter()
                .map(tencent::last_used_from)
                .collect()
        }),
        created: parse::<Tencent, api::CreateAccessKeyResponse>("CreateAccessKey", status, body)
            .and_then(|a| tencent::created_from(a, "fuzz", account, "user", uin)),
        identity,
        cce: None,
    }
}

fn alibaba_answer(status: u16, body: &[u8]) -> Parsed {
    use crate::providers::alibaba::{self, api, Alibaba};
    let unreadable =
        |action: &'static str| move |err| Error::bad_response(format!("{action}: {err}"));
    let _ = parse::<Alibaba, IgnoredAny>("UpdateAccessKey", status, body);
    Parsed {
        identity: parse::<Alibaba, api::GetCallerIdentityResponse>(
            "GetCallerIdentity",
            status,
            body,
        )
        .map(|a| alibaba::identity_from(a, "fuzz", "LTAIFUZZ")),
        keys: parse::<Alibaba, api::ListAccessKeysResponse>("ListAccessKeys", status, body)
            .and_then(|a| {
                let keys = a.keys().map_err(unreadable("ListAccessKeys"))?.into_iter();
                keys.map(|key| {
                    let (status, created) = (key.status.as_deref(), key.create_date.as_deref());
                    alibaba::key_record("fuzz", key.access_key_id, status, created)
                })
                .collect()
            }),
        users: parse::<Alibaba, api::ListUsersResponse>("ListUsers", status, body).and_then(
            |page| {
                let users = page.users().map_err(unreadable("ListUsers"))?.into_iter();
                Ok(users
                    .map(|u| UserRef {
                        name: u.user_name,
                        id: u.user_id,
                    })
                    .collect())
            },
        ),
        last_used: parse::<Alibaba, api::GetAccessKeyLastUsedResponse>(
            "GetAccessKeyLastUsed",
            status,
            body,
        )
        .and_then(alibaba::last_used_from)
        .map(|used| vec![used]),
        created: parse::<Alibaba, api::CreateAccessKeyResponse>("CreateAccessKey", status, body)
            .and_then(|a| alibaba::created_from(a, "fuzz")),
        cce: None,
    }
}

fn huawei_answer(status: u16, body: &[u8]) -> Parsed {
    use crate::providers::huawei::{self, api, Huawei, Target};
    let identity = parse::<Huawei, api::CallerIdentityResponse>("GetCallerIdentity", status, body)
        .map(|a| huawei::identity_from_caller(a, "fuzz", "HWFUZZ"));
    let account = identity.as_ref().ok().and_then(|i| i.account_id.clone());
    let account = account.as_deref();
    let target = &Target {
        name: "user".into(),
        id: "0123456789abcdef0123456789abcdef".into(),
    };
    let _ = parse::<Huawei, api::ShowUserResponse>("ShowUserV5", status, body);
    let _ = parse::<Huawei, api::UpdateAccessKeyResponse>("UpdateAccessKeyV5", status, body);
    Parsed {
        users: parse::<Huawei, api::ListUsersResponse>("ListUsersV5", status, body).map(|page| {
            let users = page.users.into_iter();
            users
                .map(|u| UserRef {
                    name: u.user_name,
                    id: Some(u.user_id),
                })
                .collect()
        }),
        keys: parse::<Huawei, api::ListAccessKeysResponse>("ListAccessKeysV5", status, body)
            .and_then(|page| {
                let keys = page.access_keys.into_iter();
                keys.map(|key| {
                    let created = key.created_at.as_deref();
                    huawei::record_from(
                        "fuzz",
                        target,
                        account,
                        key.access_key_id,
                        &key.status,
                        created,
                    )
                })
                .collect()
            }),
        last_used: parse::<Huawei, api::LastUsedResponse>("ShowAccessKeyLastUsedV5", status, body)
            .and_then(huawei::last_used_from)
            .map(|used| vec![used]),
        created: parse::<Huawei, api::CreateAccessKeyResponse>("CreateAccessKeyV5", status, body)
            .and_then(|a| huawei::created_from(a, "fuzz", target, account)),
        cce: Some(
            parse::<Huawei, api::CheckAkskResponse>("CheckAKSK", status, body)
                .and_then(|wire| CceAkskStatus::from_wire("fuzz", "project", wire)),
        ),
        identity,
    }
}

/// The statuses the fuzz targets pick from with their first byte.
pub const STATUSES: [u16; 10] = [200, 204, 400, 401, 403, 404, 409, 429, 500, 503];

/// Fuzz target body: the first byte picks the HTTP status, the rest is the answer.
fn target_answer(kind: ProviderKind, data: &[u8]) {
    let Some((first, body)) = data.split_first() else {
        return;
    };
    let parsed = answer(kind, STATUSES[usize::from(*first) % STATUSES.len()], body);
    check_errors_are_one_line(&parsed);
}

/// Every error a parser reports must print as one line (no newline, no control character),
/// whatever the answer held.
fn check_errors_are_one_line(parsed: &Parsed) {
    let errors = [
        parsed.keys.as_ref().err(),
        parsed.users.as_ref().err(),
        parsed.identity.as_ref().err(),
        parsed.last_used.as_ref().err(),
        parsed.created.as_ref().err(),
        parsed.cce.as_ref().and_then(|c| c.as_ref().err()),
    ];
    for error in errors.into_iter().flatten() {
        let line = error.to_string();
        assert!(
            !line.chars().any(char::is_control),
            "error is not one clean line: {line:?}"
        );
    }
}

pub fn target_aws_answer(data: &[u8]) {
    target_answer(ProviderKind::Aws, data);
}

pub fn target_tencent_answer(data: &[u8]) {
    target_answer(ProviderKind::Tencent, data);
}

pub fn target_alibaba_answer(data: &[u8]) {
    target_answer(ProviderKind::Alibaba, data);
}

pub fn target_huawei_answer(data: &[u8]) {
    target_answer(ProviderKind::Huawei, data);
}

/// Fuzz target body: the time parsers on any text.
pub fn target_time(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for parsed in [
        parse_rfc3339(&text),
        parse_beijing(&text),
        parse_beijing_date(&text),
        parse_go_time(&text),
    ]
    .into_iter()
    .flatten()
    {
        // Whatever was read must print as the record's time format.
        let _ = crate::model::format_time(&parsed);
    }
}

/// Fuzz target body: key-id checks and the offline AWS account decoding on any text.
pub fn target_key_id(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let kind = ProviderKind::from_key_id(&text);
    match check_key_id(&text) {
        Ok(checked) => assert_eq!(checked, kind),
        // The message never echoes what was typed (it may be a secret pasted by mistake).
        Err(err) => assert!(
            text.len() < 8 || !err.to_string().contains(text.as_ref()),
            "{err}"
        ),
    }
    if let Some(account) = account_from_key_id(&text) {
        assert_eq!(account.len(), 12, "{account}");
        assert!(account.bytes().all(|b| b.is_ascii_digit()));
    }
}

/// The files the config loaders read; [`ConfigFile::relative_path`] tells where each lives
/// under the home folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigFile {
    CloudkeysToml,
    AwsCredentials,
    AwsConfig,
    TccliCredential,
    TccliConfigure,
    Aliyun,
    Hcloud,
}

impl ConfigFile {
    pub const ALL: [ConfigFile; 7] = [
        ConfigFile::CloudkeysToml,
        ConfigFile::AwsCredentials,
        ConfigFile::AwsConfig,
        ConfigFile::TccliCredential,
        ConfigFile::TccliConfigure,
        ConfigFile::Aliyun,
        ConfigFile::Hcloud,
    ];

    /// In the order of [`ConfigFile::ALL`].
    const PATHS: [&'static str; 7] = [
        ".config/cloudkeys/config.toml",
        ".aws/credentials",
        ".aws/config",
        ".tccli/default.credential",
        ".tccli/default.configure",
        ".aliyun/config.json",
        ".hcloud/config.json",
    ];

    pub fn relative_path(self) -> &'static str {
        Self::PATHS[self as usize]
    }
}

/// A temporary home folder the config loaders read instead of the real one; reused across
/// runs so a fuzzer does not make a folder per input.
pub struct ConfigHome {
    dir: tempfile::TempDir,
}

impl ConfigHome {
    pub fn new() -> std::io::Result<Self> {
        Ok(ConfigHome {
            dir: tempfile::tempdir()?,
        })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    fn file(&self, which: ConfigFile) -> PathBuf {
        self.dir.path().join(which.relative_path())
    }

    /// Writes exactly `files` (mode 0600; every other config file removed), then loads every
    /// profile as `cloudkeys` would with only `vars` set.
    pub fn load(&self, files: &[(ConfigFile, &[u8])], vars: &[(&str, &str)]) -> Result<Config> {
        for which in ConfigFile::ALL {
            let _ = std::fs::remove_file(self.file(which));
        }
        for (which, bytes) in files {
            let path = self.file(*which);
            let written = path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::write(&path, bytes))
                .and_then(|()| private(&path));
            if let Err(err) = written {
                return Err(crate::error::Error::io(path.display(), &err));
            }
        }
        let env = Environment {
            vars: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            home: Some(self.dir.path().to_path_buf()),
        };
        let config = config::load(None, &env)?;
        // Choosing profiles reads some files again (the native CLIs' "current" profile).
        let _ = config.select(
            &Selection {
                all: true,
                ..Selection::default()
            },
            &env,
        );
        for provider in ProviderKind::ALL {
            let _ = config.select(
                &Selection {
                    provider: Some(provider),
                    ..Selection::default()
                },
                &env,
            );
        }
        let _ = config.select(&Selection::default(), &env);
        // Building a provider reads the profile's region and endpoint.
        let options = crate::provider::ProviderOptions {
            http: http_client(),
            endpoint: None,
            region: None,
            allow_insecure_http: false,
            page_size: None,
        };
        for profile in &config.profiles {
            let _ = crate::providers::build(profile, &options);
        }
        Ok(config)
    }
}

/// One HTTP client for every input (making one loads the TLS roots); it sends nothing here.
fn http_client() -> std::sync::Arc<crate::http::HttpClient> {
    static CLIENT: std::sync::OnceLock<std::sync::Arc<crate::http::HttpClient>> =
        std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            std::sync::Arc::new(
                crate::http::HttpClient::new(crate::http::HttpSettings::default())
                    .expect("an HTTP client with default settings"),
            )
        })
        .clone()
}

fn private(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Fuzz target body: the first byte picks the config file, the rest is its content. No
/// secret may reach an error message or a profile's printed form.
pub fn target_config(home: &ConfigHome, data: &[u8]) {
    let Some((first, content)) = data.split_first() else {
        return;
    };
    let which = ConfigFile::ALL[usize::from(*first) % ConfigFile::ALL.len()];
    let files: Vec<(ConfigFile, &[u8])> = match which {
        // The credentials of a tccli profile need a name beside them; give the configure file
        // the same bytes so both parsers see them.
        ConfigFile::TccliConfigure => vec![
            (ConfigFile::TccliCredential, content),
            (ConfigFile::TccliConfigure, content),
        ],
        other => vec![(other, content)],
    };
    match home.load(&files, &[]) {
        Ok(config) => {
            for profile in &config.profiles {
                // Debug must not depend on the secret or the token at all.
                let mut other = profile.clone();
                other.secret_access_key = crate::model::Secret::new("other");
                other.session_token = other
                    .session_token
                    .as_ref()
                    .map(|_| crate::model::Secret::new("other"));
                assert_eq!(
                    format!("{profile:?}"),
                    format!("{other:?}"),
                    "a profile's Debug shows its secret"
                );
            }
        }
        Err(err) => {
            let line = err.to_string();
            assert!(!line.contains('\n'), "error is not one line: {line:?}");
        }
    }
}
