//! `~/.tccli/NAME.credential` of tccli: one object holding the key; the region is in
//! `NAME.configure` beside it.

use std::path::PathBuf;

use super::json::{read, str_field, JsonFormat};
use super::{warn_if_readable_by_others, Environment, Profile, Source};
use crate::error::Result;
use crate::model::ProviderKind;

pub(super) const FORMAT: JsonFormat = JsonFormat {
    provider: ProviderKind::Tencent,
    id: "secretId",
    secret: "secretKey",
    token: "token",
    // Not read from the credential file: see `load`.
    region: "region",
    project: None,
    modes: None,
    source: |path, _| Source::TccliCredential {
        path: path.to_path_buf(),
    },
};

pub(super) fn load(
    env: &Environment,
    profiles: &mut Vec<Profile>,
    warnings: &mut Vec<String>,
) -> Result<()> {
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
        let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let Some(profile) = read(&path)?.and_then(|doc| FORMAT.profile(&doc, name, &path)) else {
            continue;
        };
        let region = read(&dir.join(format!("{name}.configure")))
            .ok()
            .flatten()
            .and_then(|c| {
                str_field(&c, "region")
                    .or_else(|| c.get("_sys_param").and_then(|s| str_field(s, "region")))
                    .map(str::to_string)
            });
        warn_if_readable_by_others(&path, warnings);
        profiles.push(Profile { region, ..profile });
    }
    Ok(())
}
