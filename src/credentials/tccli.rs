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
/// The same for the profile of the environment (tccli reads them when no profile is named).
pub(super) const ENV_ROLE_ARN: &str = "TENCENTCLOUD_ROLE_ARN";
pub(super) const ENV_ROLE_SESSION: &str = "TENCENTCLOUD_ROLE_SESSION_NAME";

/// The role profile of a credential file (or the environment) naming a role: no key of its
/// own, its source the file's key.
pub(super) fn assuming(own: Profile, role_arn: &str, session: &str) -> Profile {
    let role = Role {
        role_arn: role_arn.to_string(),
        source_profile: own.name.clone(),
        external_id: None,
        session_name: Some(session.to_string()),
        duration_seconds: None,
        mfa_serial: None,
        token_code: None,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// As tccli's `configure.py`: both role fields make the file's key assume the role; a
    /// `role-arn` alone is ignored, with a warning.
    #[test]
    fn role_fields_make_a_role_profile_sourced_by_the_files_own_key() {
        let dir = tempfile::tempdir().unwrap();
        let tccli = dir.path().join(".tccli");
        std::fs::create_dir_all(&tccli).unwrap();
        let arn = "qcs::cam::uin/100000000001:roleName/Reader";
        std::fs::write(
            tccli.join("dev.credential"),
            format!(r#"{{"secretId": "AKIDDEV", "secretKey": "s", "role-arn": "{arn}", "role-session-name": "ck"}}"#),
        )
        .unwrap();
        std::fs::write(
            tccli.join("dev.configure"),
            r#"{"_sys_param": {"region": "ap-shanghai"}}"#,
        )
        .unwrap();
        std::fs::write(
            tccli.join("half.credential"),
            format!(r#"{{"secretId": "AKIDHALF", "secretKey": "s", "role-arn": "{arn}"}}"#),
        )
        .unwrap();
        let env = Environment {
            home: Some(dir.path().to_path_buf()),
            ..Environment::default()
        };
        let (mut profiles, mut warnings) = (Vec::new(), Vec::new());
        load(&env, &mut profiles, &mut warnings).unwrap();
        let dev = profiles.iter().find(|p| p.name == "tencent:dev").unwrap();
        assert!(dev.access_key_id.is_empty() && dev.secret_access_key.is_empty());
        assert_eq!(dev.region.as_deref(), Some("ap-shanghai"));
        let role = dev.role.as_ref().unwrap();
        assert_eq!(role.role_arn, arn);
        assert_eq!(role.session_name.as_deref(), Some("ck"));
        let source = role.source.as_deref().unwrap();
        assert_eq!(source.access_key_id, "AKIDDEV");
        assert!(source.role.is_none());
        assert_eq!(source.region.as_deref(), Some("ap-shanghai"));
        assert_eq!(role.describe(), "role Reader via tencent:dev");
        assert!(dev.refuse_role().is_err(), "never written back");
        let half = profiles.iter().find(|p| p.name == "tencent:half").unwrap();
        assert!(half.role.is_none() && half.access_key_id == "AKIDHALF");
        assert!(warnings
            .iter()
            .any(|w| w.contains("role-arn without role-session-name")));
        // Resolving roles leaves the file's own source in place.
        super::super::resolve_roles(&mut profiles).unwrap();
        let dev = profiles.iter().find(|p| p.name == "tencent:dev").unwrap();
        let source = dev.role.as_ref().unwrap().source.as_deref().unwrap();
        assert_eq!(source.access_key_id, "AKIDDEV");
    }

    #[test]
    fn the_environments_role_variables_make_tencent_env_a_role_profile() {
        let vars = [
            ("TENCENTCLOUD_SECRET_ID", "AKIDENV"),
            ("TENCENTCLOUD_SECRET_KEY", "s"),
            (ENV_ROLE_ARN, "qcs::cam::uin/100000000001:roleName/Reader"),
            (ENV_ROLE_SESSION, "ck"),
        ];
        let env = Environment {
            vars: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            home: None,
        };
        let mut profiles = Vec::new();
        super::super::load_env(&env, &mut profiles);
        let role = profiles[0].role.as_ref().unwrap();
        assert_eq!(profiles[0].name, "tencent:env");
        assert_eq!(role.source.as_deref().unwrap().access_key_id, "AKIDENV");
        assert_eq!(role.session_name.as_deref(), Some("ck"));
        // Without the session name, the plain key.
        let env = Environment {
            vars: vars[..3]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            home: None,
        };
        profiles.clear();
        super::super::load_env(&env, &mut profiles);
        assert!(profiles[0].role.is_none());
    }
}
