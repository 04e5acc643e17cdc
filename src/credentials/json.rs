//! What the JSON files of tccli, aliyun and hcloud share: an entry object holding the key, found
//! by the loader with serde_json and located for editing, at the same place, with jsonc-parser
//! (which reports where each value stands).

use std::path::{Path, PathBuf};

use jsonc_parser::ast;
use serde_json::Value;

use super::{read_with, warn_if_readable_by_others, Edit, Entry, Profile, Source};
use crate::error::Result;
use crate::model::{ProviderKind, Secret};

/// The field names of one CLI's file.
pub(super) struct JsonFormat {
    pub provider: ProviderKind,
    pub id: &'static str,
    pub secret: &'static str,
    pub token: &'static str,
    pub region: &'static str,
    pub project: Option<&'static str>,
    /// For a file with a `profiles` list of named entries; `None`: the whole file is the entry.
    pub modes: Option<Modes>,
    pub source: fn(&Path, &str) -> Source,
}

/// The `mode` of the profiles of a `profiles` list.
pub(super) struct Modes {
    /// The mode of a long-term key, also the mode of a profile without one.
    pub long_term: &'static str,
    /// Other modes loaded (they hold a temporary key, which is never written back).
    pub also_loaded: &'static [&'static str],
    pub any_case: bool,
}

impl Modes {
    fn is(&self, mode: &str, wanted: &str) -> bool {
        if self.any_case {
            mode.eq_ignore_ascii_case(wanted)
        } else {
            mode == wanted
        }
    }

    /// The profile's mode, the long-term one when it names none.
    fn of<'v>(&self, entry: &'v Value) -> &'v str {
        str_field(entry, "mode").unwrap_or(self.long_term)
    }
}

/// The file's JSON, `None` if it does not exist.
pub(super) fn read(path: &Path) -> Result<Option<Value>> {
    read_with(path, "not valid JSON: ", |text| serde_json::from_str(text))
}

/// A string field, trimmed; empty counts as missing.
pub(super) fn str_field<'a>(value: &'a Value, name: &str) -> Option<&'a str> {
    value
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The `current` profile of a file with a `profiles` list.
pub(super) fn current(path: &Path) -> Option<String> {
    str_field(&read(path).ok()??, "current").map(str::to_string)
}

impl JsonFormat {
    /// The profile an entry holds, if it holds a key.
    pub fn profile(&self, entry: &Value, name: &str, path: &Path) -> Option<Profile> {
        let field = |key| str_field(entry, key).map(str::to_string);
        Some(Profile {
            session_token: field(self.token).map(Secret::new),
            region: field(self.region),
            project_id: self.project.and_then(field),
            ..Profile::native(
                self.provider,
                name,
                str_field(entry, self.id)?,
                str_field(entry, self.secret)?,
                (self.source)(path, name),
            )
        })
    }

    /// The named elements of the `profiles` list: (index, name, element).
    pub(super) fn named<'v>(
        &self,
        doc: &'v Value,
    ) -> impl Iterator<Item = (usize, &'v str, &'v Value)> {
        let list = doc.get("profiles").and_then(Value::as_array);
        list.into_iter()
            .flatten()
            .enumerate()
            .filter_map(|(index, entry)| Some((index, str_field(entry, "name")?, entry)))
    }

    /// Loads the profiles of a file with a `profiles` list (aliyun, hcloud).
    pub fn load(
        &self,
        path: Option<PathBuf>,
        profiles: &mut Vec<Profile>,
        warnings: &mut Vec<String>,
    ) -> Result<()> {
        let (Some(path), Some(modes)) = (path, &self.modes) else {
            return Ok(());
        };
        let Some(doc) = read(&path)? else {
            return Ok(());
        };
        let mut holds_secrets = false;
        for (_, name, entry) in self.named(&doc) {
            // Other modes (RamRoleArn, EcsRamRole, ...) need flows cloudkeys does not run.
            let mode = modes.of(entry);
            if !std::iter::once(&modes.long_term)
                .chain(modes.also_loaded)
                .any(|wanted| modes.is(mode, wanted))
            {
                continue;
            }
            if let Some(profile) = self.profile(entry, name, &path) {
                holds_secrets = true;
                profiles.push(profile);
            }
        }
        if holds_secrets {
            warn_if_readable_by_others(&path, warnings);
        }
        Ok(())
    }

    pub fn editor<'a>(&'static self, name: Option<&'a str>) -> Editor<'a> {
        Editor { format: self, name }
    }
}

/// Edits the entry of one profile (`name`, for a file with a `profiles` list).
pub(super) struct Editor<'a> {
    format: &'static JsonFormat,
    name: Option<&'a str>,
}

impl Editor<'_> {
    /// The element of `profiles` holding the profile, which must hold a long-term key.
    fn element<'t, 'b>(
        &self,
        doc: &Value,
        root: &'b ast::Object<'t>,
        name: &str,
        modes: &Modes,
    ) -> std::result::Result<(usize, &'b ast::Object<'t>), String> {
        let Some(ast::Value::Array(list)) = unique(root, "profiles")?.map(|p| &p.value) else {
            return Err("the file has no profiles list any more".into());
        };
        let found: Vec<_> = self.format.named(doc).filter(|e| e.1 == name).collect();
        let (index, entry) = match found.as_slice() {
            [] => return Err("the profile is no longer in the file".into()),
            [(index, _, entry)] => (*index, *entry),
            _ => return Err("several profiles have this name; rename one by hand".into()),
        };
        let Some(ast::Value::Object(object)) = list.elements.get(index) else {
            return Err("the profile is no longer in the file".into());
        };
        unique(object, "name")?;
        unique(object, "mode")?;
        let mode = modes.of(entry);
        if !modes.is(mode, modes.long_term) {
            return Err(format!(
                "the profile is in mode {mode}; only {} profiles hold a long-term key to write back",
                modes.long_term
            ));
        }
        Ok((index, object))
    }
}

impl Edit for Editor<'_> {
    fn locate(&self, text: &str) -> std::result::Result<Entry, String> {
        // serde_json (the loaders' parser) decides whether the file is valid and which element
        // is the profile; its errors show positions, never content. The text being strict JSON
        // then, jsonc-parser's lenient defaults read it exactly as serde_json did.
        let doc: Value = serde_json::from_str(text)
            .map_err(|err| format!("the file is no longer valid JSON: {err}"))?;
        let ast = jsonc_parser::parse_to_ast(text, &Default::default(), &Default::default())
            .ok()
            .and_then(|parsed| parsed.value)
            .ok_or("the file could not be read as strict JSON")?;
        let ast::Value::Object(root) = &ast else {
            return Err("the file is not a JSON object".into());
        };
        let (index, object) = match (self.name, &self.format.modes) {
            (Some(name), Some(modes)) => {
                let (index, object) = self.element(&doc, root, name, modes)?;
                (Some(index), object)
            }
            _ => (None, root),
        };
        let field = |key: &str| match unique(object, key)?.map(|p| &p.value) {
            Some(ast::Value::StringLit(lit)) => {
                Ok((lit.range.start..lit.range.end, lit.value.trim().to_string()))
            }
            Some(_) => Err(format!("{key} is not a string")),
            None => Err(format!("{key} is missing")),
        };
        let (id_span, id) = field(self.format.id)?;
        let (secret_span, secret) = field(self.format.secret)?;
        Ok(Entry {
            id_span,
            id,
            secret_span,
            secret: Secret::new(secret),
            index,
        })
    }

    fn encode(&self, _old: &str, value: &str) -> String {
        Value::from(value).to_string()
    }

    fn reads_back(&self, old: &str, new: &str, entry: &Entry, id: &str, secret: &Secret) -> bool {
        let (Ok(mut expected), Ok(found)) = (
            serde_json::from_str::<Value>(old),
            serde_json::from_str::<Value>(new),
        ) else {
            return false;
        };
        let object = match entry.index {
            Some(index) => expected.get_mut("profiles").and_then(|p| p.get_mut(index)),
            None => Some(&mut expected),
        };
        let Some(Value::Object(object)) = object else {
            return false;
        };
        object.insert(self.format.id.into(), id.into());
        object.insert(self.format.secret.into(), secret.expose().into());
        expected == found
    }
}

/// The property `key` of `object`; a key given twice is refused (readers disagree on which one
/// counts).
fn unique<'t, 'b>(
    object: &'b ast::Object<'t>,
    key: &str,
) -> std::result::Result<Option<&'b ast::ObjectProp<'t>>, String> {
    let mut props = object.properties.iter().filter(|p| p.name.as_str() == key);
    let first = props.next();
    if props.next().is_some() {
        return Err(format!(
            "\"{key}\" is given more than once in one object; keep one by hand"
        ));
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::super::{aliyun, hcloud};
    use super::*;

    /// The editor reads names and modes as the loader does (trimmed, empty mode = long-term),
    /// so it finds exactly the entry the loader turned into a profile.
    #[test]
    fn the_editor_finds_the_entry_the_loader_read() {
        let dir = tempfile::tempdir().unwrap();
        for (format, text) in [
            (
                &aliyun::FORMAT,
                r#"{"profiles":[{"name":"x","mode":"StsToken","access_key_id":"LTAIX","access_key_secret":"t"},
                   {"name":" prod ","mode":"","access_key_id":" LTAIPROD ","access_key_secret":"s"}]}"#,
            ),
            (
                &hcloud::FORMAT,
                r#"{"profiles":[{"name":"x","mode":"SSO"},
                   {"name":"prod","mode":" aksk ","accessKeyId":"HWPROD","secretAccessKey":"s"}]}"#,
            ),
        ] {
            let path = dir.path().join("config.json");
            std::fs::write(&path, text).unwrap();
            let (mut profiles, mut warnings) = (Vec::new(), Vec::new());
            format
                .load(Some(path.clone()), &mut profiles, &mut warnings)
                .unwrap();
            let loaded = profiles.iter().find(|p| p.name.ends_with(":prod")).unwrap();
            let entry = format.editor(Some("prod")).locate(text).unwrap();
            assert_eq!(entry.id, loaded.access_key_id);
            assert_eq!(entry.index, Some(1));
            assert_eq!(&text[entry.secret_span], "\"s\"");
            // A profile in another mode is found, and refused for its mode.
            let why = format.editor(Some("x")).locate(text).err().unwrap();
            assert!(why.contains("is in mode"), "{why}");
        }
    }
}
