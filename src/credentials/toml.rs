//! The `[profiles.NAME]` tables of our own TOML file: read with serde (`toml`), located for
//! editing with `toml_edit`, which reports where each value stands.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::{Edit, Entry, Environment, Fetch, Profile, Role, Source};
use crate::error::{Error, Result};
use crate::model::{ProviderKind, Secret};

/// The two keys write-back edits: the names of [`ProfileToml`]'s fields.
const ID: &str = "access_key_id";
const SECRET: &str = "secret_access_key";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProfileToml {
    provider: String,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    secret_access_key_env: Option<String>,
    session_token: Option<String>,
    session_token_env: Option<String>,
    region: Option<String>,
    endpoint: Option<String>,
    project_id: Option<String>,
    role_arn: Option<String>,
    source_profile: Option<String>,
    external_id: Option<String>,
    role_session_name: Option<String>,
    duration_seconds: Option<u32>,
    mfa_serial: Option<String>,
    credential_process: Option<String>,
}

impl ProfileToml {
    /// Secrets named by environment variable are not in the file.
    pub(crate) fn holds_secret(&self) -> bool {
        self.secret_access_key.is_some() || self.session_token.is_some()
    }
}

/// The 1-based line of byte `offset`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The profiles of the file at `path` (text `text`), errors naming the table's line.
pub(crate) fn profiles(
    path: &Path,
    text: &str,
    tables: BTreeMap<String, toml::Spanned<ProfileToml>>,
    env: &Environment,
) -> Result<Vec<Profile>> {
    let mut profiles = Vec::new();
    for (name, spanned) in tables {
        let line = line_of(text, spanned.span().start);
        let at = |what: String| {
            Error::config(format!(
                "{} line {line}: profile {name}: {what}",
                path.display()
            ))
        };
        let from_env = |var: &str, field: &str| {
            env.var(var)
                .map(Secret::new)
                .ok_or_else(|| at(format!("environment variable {var} ({field}) is not set")))
        };
        let raw = spanned.into_inner();
        let provider = ProviderKind::parse(&raw.provider).ok_or_else(|| {
            at(format!(
                "unknown provider '{}' (expected aws, tencent, alibaba or huawei)",
                raw.provider
            ))
        })?;
        let source = Source::ConfigFile {
            path: path.to_path_buf(),
            table: name.clone(),
        };
        if raw.role_arn.is_some() || raw.source_profile.is_some() {
            let role = role(provider, &raw).map_err(at)?;
            let mut profile = Profile::assuming(provider, name.clone(), role, source);
            profile.region = raw.region;
            profile.endpoint = raw.endpoint;
            profiles.push(profile);
            continue;
        }
        if let Some(command) = raw.credential_process {
            // As in ~/.aws/config: the command prints the key, the table holds none.
            if provider != ProviderKind::Aws {
                return Err(at("credential_process is for aws profiles only".into()));
            }
            if raw.access_key_id.is_some() || raw.secret_access_key.is_some() {
                return Err(at(format!(
                    "credential_process prints the key: remove {ID}/{SECRET}"
                )));
            }
            if let Some(endpoint) = &raw.endpoint {
                url::Url::parse(endpoint)
                    .map_err(|err| at(format!("endpoint '{endpoint}' is not a URL: {err}")))?;
            }
            let mut profile = Profile::fetching(name.clone(), Fetch::Process(command), source);
            profile.region = raw.region;
            profile.endpoint = raw.endpoint;
            profiles.push(profile);
            continue;
        }
        let access_key_id = raw
            .access_key_id
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| at(format!("{ID} is missing")))?;
        let (secret, secret_env) = match (raw.secret_access_key, raw.secret_access_key_env) {
            (Some(_), Some(_)) => {
                return Err(at(format!("set {SECRET} or {SECRET}_env, not both")))
            }
            (Some(secret), None) => (Secret::new(secret), None),
            (None, Some(var)) => (from_env(&var, "secret_access_key_env")?, Some(var)),
            (None, None) => return Err(at(format!("{SECRET} (or {SECRET}_env) is missing"))),
        };
        let session_token = match (raw.session_token, raw.session_token_env) {
            (Some(token), _) => Some(Secret::new(token)),
            (None, Some(var)) => Some(from_env(&var, "session_token_env")?),
            (None, None) => None,
        };
        if let Some(endpoint) = &raw.endpoint {
            url::Url::parse(endpoint)
                .map_err(|err| at(format!("endpoint '{endpoint}' is not a URL: {err}")))?;
        }
        profiles.push(Profile {
            name: name.clone(),
            provider,
            access_key_id: access_key_id.trim().to_string(),
            secret_access_key: secret,
            session_token,
            region: raw.region,
            endpoint: raw.endpoint,
            project_id: raw.project_id,
            source,
            secret_env,
            role: None,
            fetch: None,
        });
    }
    Ok(profiles)
}

/// The role a table assumes; it holds no key of its own.
fn role(provider: ProviderKind, raw: &ProfileToml) -> std::result::Result<Role, String> {
    let (Some(role_arn), Some(source_profile)) = (&raw.role_arn, &raw.source_profile) else {
        return Err("a role profile needs both role_arn and source_profile".into());
    };
    // STS5 takes only an agency URN; anything else would be refused after a signed call.
    if provider == ProviderKind::Huawei && !is_agency_urn(role_arn.trim()) {
        return Err(format!(
            "role_arn '{role_arn}' is no Huawei agency URN: expected iam::<account id>:agency:<agency name>"
        ));
    }
    if raw.access_key_id.is_some() || raw.secret_access_key.is_some() || raw.session_token.is_some()
    {
        return Err(format!(
            "a role profile holds no key of its own: remove {ID}/{SECRET}, the role is assumed with source_profile's"
        ));
    }
    if raw.mfa_serial.is_some() && provider != ProviderKind::Aws {
        return Err("mfa_serial is an AWS setting".into());
    }
    if let Some(endpoint) = &raw.endpoint {
        url::Url::parse(endpoint)
            .map_err(|err| format!("endpoint '{endpoint}' is not a URL: {err}"))?;
    }
    Ok(Role {
        role_arn: role_arn.trim().to_string(),
        source_profile: source_profile.trim().to_string(),
        external_id: raw.external_id.clone(),
        session_name: raw.role_session_name.clone(),
        duration_seconds: raw.duration_seconds,
        mfa_serial: raw.mfa_serial.as_deref().map(str::trim).map(str::to_string),
        token_code: None,
        source: None,
    })
}

/// `iam::<account id>:agency:<agency name>`, the form STS5 AssumeAgency's `agency_urn` takes.
fn is_agency_urn(urn: &str) -> bool {
    let parts: Vec<&str> = urn.split(':').collect();
    matches!(parts.as_slice(), ["iam", "", account, "agency", name]
        if !account.is_empty() && account.bytes().all(|b| b.is_ascii_alphanumeric()) && !name.is_empty())
}

/// Edits `[profiles.TABLE]`.
pub(super) struct Editor<'a> {
    pub table: &'a str,
}

impl Edit for Editor<'_> {
    fn locate(&self, text: &str) -> std::result::Result<Entry, String> {
        let doc = toml_edit::ImDocument::parse(text).map_err(|err| {
            let at = err
                .span()
                .map(|span| format!(" at line {}", line_of(text, span.start)))
                .unwrap_or_default();
            format!("the file no longer parses{at}: {}", err.message().trim())
        })?;
        let entry = doc
            .as_table()
            .get("profiles")
            .and_then(toml_edit::Item::as_table_like)
            .and_then(|profiles| profiles.get(self.table))
            .and_then(toml_edit::Item::as_table_like)
            .ok_or("the profile is no longer in the file")?;
        let field = |key: &str| {
            let value = entry
                .get(key)
                .and_then(toml_edit::Item::as_value)
                .ok_or_else(|| format!("{key} is missing"))?;
            match (value.as_str(), value.span()) {
                (Some(text), Some(span)) => Ok((span, text.to_string())),
                _ => Err(format!("{key} is not a string")),
            }
        };
        let (id_span, id) = field(ID)?;
        let (secret_span, secret) = field(SECRET)?;
        Ok(Entry {
            id_span,
            id: id.trim().to_string(),
            secret_span,
            secret: Secret::new(secret),
            index: None,
        })
    }

    fn encode(&self, old: &str, value: &str) -> String {
        string(old, value)
    }

    fn reads_back(&self, old: &str, new: &str, _: &Entry, id: &str, secret: &Secret) -> bool {
        let (Ok(mut expected), Ok(found)) = (
            toml::from_str::<toml::Table>(old),
            toml::from_str::<toml::Table>(new),
        ) else {
            return false;
        };
        let Some(entry) = expected
            .get_mut("profiles")
            .and_then(|p| p.get_mut(self.table))
            .and_then(toml::Value::as_table_mut)
        else {
            return false;
        };
        entry.insert(ID.into(), id.into());
        entry.insert(SECRET.into(), secret.expose().into());
        same(&toml::Value::Table(expected), &toml::Value::Table(found))
    }
}

/// A TOML string holding `value`, in the style of the string it replaces where possible: a
/// literal string (`'...'`) stays literal unless the value needs escapes.
pub(super) fn string(old: &str, value: &str) -> String {
    let literal_fits = !value.chars().any(|c| c == '\'' || c.is_control());
    if old.starts_with('\'') && literal_fits {
        return format!("'{value}'");
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Equality of TOML values where a NaN equals a NaN.
fn same(a: &toml::Value, b: &toml::Value) -> bool {
    use toml::Value::*;
    match (a, b) {
        (Float(x), Float(y)) => x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
        (Array(x), Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y)),
        (Table(x), Table(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only STS5's `iam::<account id>:agency:<name>` names a Huawei agency.
    #[test]
    fn huawei_agency_urns() {
        assert!(is_agency_urn(
            "iam::0c5a8e1f3b7d4e29a6f1c8b3d5e7a902:agency:KeyAuditor"
        ));
        for bad in [
            "iam::*:agency:KeyAuditor",
            "iam:cn-north-4:123:agency:a",
            "iam::123:user:alice",
            "iam::123:agency:",
            "arn:aws:iam::123:role/a",
            "acs:ram::123:role/a",
        ] {
            assert!(!is_agency_urn(bad), "{bad}");
        }
    }

    /// The editor's key names are the loader's field names: a table written with them loads.
    #[test]
    fn the_edited_keys_are_the_fields_the_loader_reads() {
        let table = format!("provider = \"aws\"\n{ID} = \"AK\"\n{SECRET} = \"s\"\n");
        let raw: ProfileToml = ::toml::from_str(&table).unwrap();
        assert_eq!(raw.access_key_id.as_deref(), Some("AK"));
        assert_eq!(raw.secret_access_key.as_deref(), Some("s"));
    }

    #[test]
    fn a_literal_string_that_cannot_hold_the_value_becomes_a_basic_one() {
        assert_eq!(super::string("'x'", "it's"), r#""it's""#);
        assert_eq!(super::string("'x'", "a\\b"), "'a\\b'");
        assert_eq!(
            super::string("\"x\"", "q\"\\\n\u{7f}"),
            r#""q\"\\\n\u007F""#
        );
    }
}
