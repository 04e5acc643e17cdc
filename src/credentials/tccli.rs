//! `~/.tccli/NAME.credential` of tccli: one object holding the key; the region is in
//! `NAME.configure` beside it.

use std::path::PathBuf;

use super::json::{read, str_field, JsonFormat};
use super::{warn_if_readable_by_others, Environment, Profile, Role, Source};
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

/// tccli's role fields (`configure.py`): both set, the profile assumes the role.
const ROLE_ARN: &str = "role-arn";
const ROLE_SESSION: &str = "role-session-name";

/// The role profile of a credential file naming a role: no key of its own, its source the
/// file's key.
fn assuming(own: Profile, role_arn: &str, session: &str) -> Profile {
    let role = Role {
        role_arn: role_arn.to_string(),
        source_profile: own.name.clone(),
        external_id: None,
        session_name: Some(session.to_string()),
        duration_seconds: None,
        source: None,
    };
    let mut profile = Profile::assuming(own.provider, own.name.clone(), role, own.source.clone());
    profile.region = own.region.clone();
    if let Some(role) = profile.role.as_mut() {
        role.source = Some(Box::new(own));
    }
    profile
}

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
        let Some(doc) = read(&path)? else {
            continue;
        };
        let Some(profile) = FORMAT.profile(&doc, name, &path) else {
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
        let profile = Profile { region, ..profile };
        // As tccli: with both, the file's own key assumes the role (no source_profile).
        profiles.push(
            match (str_field(&doc, ROLE_ARN), str_field(&doc, ROLE_SESSION)) {
                (Some(arn), Some(session)) => assuming(profile, arn, session),
                (Some(_), None) => {
                    warnings.push(format!(
                        "{}: {ROLE_ARN} without {ROLE_SESSION}: tccli ignores it, and so does cloudkeys",
                        path.display()
                    ));
                    profile
                }
                _ => profile,
            },
        );
    }
    Ok(())
}
