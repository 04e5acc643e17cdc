//! `~/.aws/credentials` and `~/.aws/config`, INI files as the AWS CLI reads them.
//!
//! rust-ini reads them (for the loader and for the check after an edit). No INI crate writes a
//! file back byte-for-byte, so the editor finds the two values with [`IniLines`], a small line
//! reader, and only uses spans the loader's reading agrees with.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::{
    read_with, warn_if_readable_by_others, Edit, Entry, Environment, Fetch, Profile, Role, Source,
};
use crate::error::Result;
use crate::model::{ProviderKind, Secret};

const ID: &str = "aws_access_key_id";
const SECRET: &str = "aws_secret_access_key";
const TOKEN: &str = "aws_session_token";
const REGION: &str = "region";

/// Parses INI text as the AWS CLI does: no quotes or escapes.
fn parse(text: &str) -> std::result::Result<ini::Ini, ini::ParseError> {
    ini::Ini::load_from_str_opt(
        text,
        ini::ParseOption {
            enabled_quote: false,
            enabled_escape: false,
            ..Default::default()
        },
    )
}

fn read(path: &Path) -> Result<Option<ini::Ini>> {
    read_with(path, "", parse)
}

/// The last value of `key` in a section of ~/.aws/config (the first one counts in
/// ~/.aws/credentials, see `load`).
fn last<'a>(props: &'a ini::Properties, key: &str) -> Option<&'a str> {
    props.get_all(key).next_back()
}

/// The profile a section holds (its values by `get`), if it holds a key.
fn profile<'a>(
    name: &str,
    get: impl Fn(&str) -> Option<&'a str>,
    region: Option<String>,
    source: Source,
) -> Option<Profile> {
    let (id, secret) = (get(ID)?, get(SECRET)?);
    Some(Profile {
        session_token: get(TOKEN).filter(|t| !t.is_empty()).map(Secret::new),
        region: get(REGION).map(str::to_string).or(region),
        ..Profile::native(ProviderKind::Aws, name, id.trim(), secret.trim(), source)
    })
}

/// A profile whose key `credential_process` prints, if the section names one.
fn process_profile(name: &str, props: &ini::Properties, source: &Source) -> Option<Profile> {
    let command = last(props, "credential_process")?.trim();
    let fetch = Fetch::Process(command.to_string());
    let mut profile = Profile::fetching(format!("aws:{name}"), fetch, source.clone());
    profile.region = last(props, REGION).map(str::to_string);
    Some(profile)
}

/// A role profile of ~/.aws/config, read as botocore's AssumeRoleProvider does; `None` when the
/// section names no role. Its source is another profile, or `credential_source`'s
/// credentials (the environment's when loaded, or those of a metadata service).
fn role_profile(
    name: &str,
    props: &ini::Properties,
    source: Source,
    env: &Environment,
) -> Result<Option<Profile>> {
    let Some(role_arn) = last(props, "role_arn") else {
        return Ok(None);
    };
    let bad =
        |what: &str| crate::error::Error::config(format!("profile aws:{name} ({source}): {what}"));
    let named = |key| last(props, key).map(str::trim).filter(|s| !s.is_empty());
    let (source_profile, fetched) = match (named("source_profile"), named("credential_source")) {
        (Some(_), Some(_)) => {
            return Err(bad("set source_profile or credential_source, not both"));
        }
        (Some(profile), None) => (profile.to_string(), None),
        (None, Some(from)) => {
            let fetch = Fetch::source(from, env).ok_or_else(|| {
                bad(&format!("credential_source '{from}' is not valid (expected Environment, Ec2InstanceMetadata or EcsContainer)"))
            })?;
            let fetched = Profile::fetching(format!("aws:{name}"), fetch, source.clone());
            (format!("credential_source {from}"), Some(Box::new(fetched)))
        }
        (None, None) => return Err(bad(
            "role_arn needs source_profile (the profile whose credentials assume the role) or credential_source",
        )),
    };
    let role = Role {
        role_arn: role_arn.trim().to_string(),
        source_profile,
        external_id: last(props, "external_id").map(str::to_string),
        session_name: last(props, "role_session_name").map(str::to_string),
        // botocore ignores a value that is not a number.
        duration_seconds: last(props, "duration_seconds").and_then(|d| d.trim().parse().ok()),
        mfa_serial: named("mfa_serial").map(str::to_string),
        token_code: None,
        source: fetched,
    };
    let mut profile = Profile::assuming(ProviderKind::Aws, format!("aws:{name}"), role, source);
    profile.region = last(props, REGION).map(str::to_string);
    Ok(Some(profile))
}

pub(super) fn load(
    env: &Environment,
    profiles: &mut Vec<Profile>,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let file = |var, relative| {
        env.var(var)
            .map(PathBuf::from)
            .or_else(|| env.home_file(relative))
    };
    let credentials_path = file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
    let config_path = file("AWS_CONFIG_FILE", ".aws/config");
    // ~/.aws/config sections by profile name: regions, and possibly keys.
    let config = match &config_path {
        Some(path) => read(path)?,
        None => None,
    };
    let mut settings: BTreeMap<&str, (&str, &ini::Properties)> = BTreeMap::new();
    for (section, props) in config.iter().flat_map(ini::Ini::iter) {
        let Some(section) = section else { continue };
        let name = match section.strip_prefix("profile ") {
            Some(name) => name.trim(),
            None if section == "default" => "default",
            None => continue, // sso-session, services, ...
        };
        settings.insert(name, (section, props));
    }
    let mut seen = Vec::new();
    if let Some(path) = &credentials_path {
        let mut holds_secrets = false;
        for (section, props) in read(path)?.iter().flat_map(ini::Ini::iter) {
            let Some(section) = section else { continue };
            let region = settings
                .get(section)
                .and_then(|(_, s)| last(s, REGION).map(str::to_string));
            let source = Source::AwsCredentials {
                path: path.clone(),
                section: section.to_string(),
            };
            if let Some(profile) = profile(section, |k| props.get(k), region, source.clone()) {
                holds_secrets = true;
                profiles.push(profile);
                seen.push(section.to_string());
            } else if let Some(profile) = process_profile(section, props, &source) {
                // botocore reads credential_process from both files (its full_config).
                profiles.push(profile);
                seen.push(section.to_string());
            }
        }
        if holds_secrets {
            warn_if_readable_by_others(path, warnings);
        }
    }
    if let Some(path) = &config_path {
        // Keys may live in ~/.aws/config too (the AWS CLI reads them there).
        let holds_secrets = settings
            .values()
            .any(|(_, props)| props.contains_key(SECRET) || props.contains_key(TOKEN));
        if holds_secrets {
            warn_if_readable_by_others(path, warnings);
        }
        for (name, (section, props)) in &settings {
            let source = Source::AwsConfig {
                path: path.clone(),
                section: section.to_string(),
            };
            // As in the AWS CLI, a role wins over keys of the same profile.
            if let Some(role) = role_profile(name, props, source.clone(), env)? {
                profiles.retain(|p| p.name != role.name);
                profiles.push(role);
                continue;
            }
            if seen.iter().any(|s| s == name) {
                continue;
            }
            // botocore asks credential_process before the config file's keys.
            let found = process_profile(name, props, &source)
                .or_else(|| profile(name, |k| last(props, k), None, source));
            profiles.extend(found);
        }
    }
    Ok(())
}

/// Edits the section `section` (as written in the file, e.g. `profile prod`).
pub(super) struct Editor<'a> {
    pub section: &'a str,
}

impl Edit for Editor<'_> {
    fn locate(&self, text: &str) -> std::result::Result<Entry, String> {
        const TWICE: &str = "the section appears more than once; merge the copies by hand";
        let parsed = parse(text).map_err(|err| format!("the file no longer parses: {err}"))?;
        let sections: Vec<_> = parsed
            .iter()
            .filter(|(name, _)| *name == Some(self.section))
            .collect();
        let props = match sections.as_slice() {
            [] => return Err("the section is no longer in the file".into()),
            [(_, props)] => *props,
            _ => return Err(TWICE.into()),
        };
        let lines = IniLines::scan(text, self.section);
        if lines.headers != 1 {
            return Err(TWICE.into());
        }
        let field = |key: &str, found: &[IniValue]| {
            let value = match found {
                [] => return Err(format!("{key} is missing")),
                [one] => one,
                _ => {
                    return Err(format!(
                        "{key} is set more than once in the section; keep one by hand"
                    ))
                }
            };
            if value.continued {
                return Err(format!(
                    "{key} continues on an indented next line; put it on one line by hand"
                ));
            }
            // What the loader read must be what this editor sees, or the edit is a guess.
            let loaded: Vec<&str> = props
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
                .collect();
            if loaded != [&text[value.span.clone()]] {
                return Err(format!(
                    "the {key} line is not a plain `key = value` line; fix it by hand"
                ));
            }
            Ok((value.span.clone(), text[value.span.clone()].to_string()))
        };
        let (id_span, id) = field(ID, &lines.ids)?;
        let (secret_span, secret) = field(SECRET, &lines.secrets)?;
        Ok(Entry {
            id_span,
            id,
            secret_span,
            secret: Secret::new(secret),
            index: None,
        })
    }

    fn encode(&self, _old: &str, value: &str) -> String {
        value.to_string()
    }

    fn reads_back(&self, old: &str, new: &str, _: &Entry, id: &str, secret: &Secret) -> bool {
        let (Ok(old), Ok(new)) = (parse(old), parse(new)) else {
            return false;
        };
        let mut expected = shape(&old);
        for (name, props) in &mut expected {
            if name.as_deref() != Some(self.section) {
                continue;
            }
            for (key, value) in props {
                if key.eq_ignore_ascii_case(ID) {
                    *value = id.to_string();
                } else if key.eq_ignore_ascii_case(SECRET) {
                    *value = secret.expose().to_string();
                }
            }
        }
        expected == shape(&new)
    }

    fn cannot_hold(&self, value: &str) -> Option<&'static str> {
        if value.chars().any(char::is_control) {
            Some(
                "contains a line break or another control character, which an INI file cannot hold",
            )
        } else if value.ends_with('\\') {
            Some("ends with a backslash, which the INI reader takes as a line continuation")
        } else {
            None
        }
    }
}

type IniShape = Vec<(Option<String>, Vec<(String, String)>)>;

fn shape(ini: &ini::Ini) -> IniShape {
    ini.iter()
        .map(|(section, props)| {
            let props = props.iter();
            let props = props.map(|(k, v)| (k.to_string(), v.to_string()));
            (section.map(str::to_string), props.collect())
        })
        .collect()
}

/// One `key = value` line found for a wanted key.
struct IniValue {
    /// The value, without the spaces around it and the line ending.
    span: Range<usize>,
    /// The next line that is not blank or a comment is indented deeper: the AWS CLI (Python's
    /// configparser) would read it as part of this value.
    continued: bool,
}

/// The wanted keys of one section, found line by line as the AWS CLI reads them: `[name]`
/// headers (name trimmed), `#`/`;` comment lines, `key = value` or `key: value` with any
/// spaces, keys in any case, LF or CRLF endings.
struct IniLines {
    headers: usize,
    ids: Vec<IniValue>,
    secrets: Vec<IniValue>,
}

impl IniLines {
    fn scan(text: &str, section: &str) -> Self {
        let mut found = IniLines {
            headers: 0,
            ids: Vec::new(),
            secrets: Vec::new(),
        };
        let mut lines = Vec::new();
        let mut offset = 0;
        for raw in text.split_inclusive('\n') {
            let line = raw.strip_suffix('\n').unwrap_or(raw);
            let line = line.strip_suffix('\r').unwrap_or(line);
            lines.push((offset, line));
            offset += raw.len();
        }
        let content = |line: &&str| {
            let body = line.trim_start();
            !body.is_empty() && !body.starts_with(['#', ';'])
        };
        let mut in_section = false;
        for (i, &(start, line)) in lines.iter().enumerate() {
            if !content(&line) {
                continue;
            }
            let body = line.trim_start();
            if let Some(header) = body.strip_prefix('[') {
                let name = header.split(']').next().unwrap_or(header).trim();
                in_section = name == section;
                found.headers += usize::from(in_section);
                continue;
            }
            let Some(at) = line.find(['=', ':']).filter(|_| in_section) else {
                continue;
            };
            let key = line[..at].trim();
            let list = if key.eq_ignore_ascii_case(ID) {
                &mut found.ids
            } else if key.eq_ignore_ascii_case(SECRET) {
                &mut found.secrets
            } else {
                continue;
            };
            let rest = &line[at + 1..];
            let value_start = start + at + 1 + (rest.len() - rest.trim_start().len());
            let indent = line.len() - body.len();
            let continued = lines[i + 1..]
                .iter()
                .map(|(_, next)| *next)
                .find(content)
                .is_some_and(|next| next.len() - next.trim_start().len() > indent);
            list.push(IniValue {
                span: value_start..value_start + rest.trim().len(),
                continued,
            });
        }
        found
    }
}
