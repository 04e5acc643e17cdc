//! `~/.aliyun/config.json` of the aliyun CLI: a `profiles` list; AK mode holds a long-term key,
//! StsToken mode a temporary one, RamRoleArn mode a key that assumes a role.

use std::path::PathBuf;

use serde_json::Value;

use super::json::{self, str_field, JsonFormat, Modes};
use super::{warn_if_readable_by_others, Profile, Role, Source};
use crate::error::Result;
use crate::model::ProviderKind;

pub(super) const FILE: &str = ".aliyun/config.json";

pub(super) const FORMAT: JsonFormat = JsonFormat {
    provider: ProviderKind::Alibaba,
    id: "access_key_id",
    secret: "access_key_secret",
    token: "sts_token",
    region: "region_id",
    project: None,
    modes: Some(Modes {
        long_term: "AK",
        also_loaded: &["StsToken"],
        any_case: false,
    }),
    source: |path, name| Source::AliyunConfig {
        path: path.to_path_buf(),
        name: name.to_string(),
    },
};

/// Loads the file's AK and StsToken profiles, then its RamRoleArn ones (as aliyun-cli, a
/// profile with no mode but a `ram_role_arn` is one): the profile's own key assumes
/// `ram_role_arn` as `ram_session_name` for `expired_seconds`; and its ChainableRamRoleArn
/// ones, which assume it with `source_profile`'s credentials (itself possibly a role's).
pub(super) fn load(
    path: Option<PathBuf>,
    profiles: &mut Vec<Profile>,
    warnings: &mut Vec<String>,
) -> Result<()> {
    FORMAT.load(path.clone(), profiles, warnings)?;
    let Some(path) = path else {
        return Ok(());
    };
    let Some(doc) = json::read(&path)? else {
        return Ok(());
    };
    let mut holds_secrets = false;
    for (_, name, entry) in FORMAT.named(&doc) {
        let field = |key| str_field(entry, key).map(str::to_string);
        let Some(role_arn) = str_field(entry, "ram_role_arn") else {
            continue;
        };
        let mode = str_field(entry, "mode");
        // The source: the profile's own key, or (chainable) another profile's credentials.
        let own = match mode {
            Some(mode) if mode.eq_ignore_ascii_case("ChainableRamRoleArn") => None,
            Some(mode) if !mode.eq_ignore_ascii_case("RamRoleArn") => continue,
            _ => match FORMAT.profile(entry, name, &path) {
                Some(own) => Some(own),
                None => continue,
            },
        };
        let source_profile = match &own {
            Some(own) => format!("{}'s own key", own.name),
            None => match field("source_profile") {
                Some(source) => source,
                None => {
                    warnings.push(format!("{} ({name}): ChainableRamRoleArn needs source_profile; the profile is skipped", path.display()));
                    continue;
                }
            },
        };
        holds_secrets |= own.is_some();
        // aliyun-cli writes a number; a string of digits is read too.
        let duration = match entry.get("expired_seconds") {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        };
        let region = field("region_id");
        let role = Role {
            role_arn: role_arn.to_string(),
            source_profile,
            external_id: field("external_id"),
            session_name: field("ram_session_name"),
            duration_seconds: duration
                .and_then(|d| u32::try_from(d).ok())
                .filter(|d| *d > 0),
            mfa_serial: None,
            token_code: None,
            // A chained role's source is found once every profile is loaded.
            source: own.map(Box::new),
        };
        let mut profile = Profile::assuming(
            ProviderKind::Alibaba,
            format!("{}:{name}", ProviderKind::Alibaba),
            role,
            (FORMAT.source)(&path, name),
        );
        // aliyun-cli sends AssumeRole to `sts.<sts_region>.aliyuncs.com` when it is set.
        profile.region = field("sts_region").or(region);
        // An entry without a mode was read as an AK one above: the role replaces it.
        profiles.retain(|p| p.name != profile.name);
        profiles.push(profile);
    }
    if holds_secrets {
        warn_if_readable_by_others(&path, warnings);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ram_role_arn_profiles_assume_with_their_own_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let arn = "acs:ram::1577000022223333:role/KeyAuditor";
        let text = format!(
            r#"{{"profiles":[
              {{"name":"a","mode":"RamRoleArn","access_key_id":"LTAIA","access_key_secret":"s",
                "ram_role_arn":"{arn}","ram_session_name":"run","expired_seconds":900,"external_id":"e",
                "region_id":"cn-hangzhou","sts_region":"ap-southeast-1"}},
              {{"name":"b","access_key_id":"LTAIB","access_key_secret":"s","ram_role_arn":"{arn}"}},
              {{"name":"c","mode":"ramrolearn","ram_role_arn":"{arn}"}},
              {{"name":"d","mode":"ChainableRamRoleArn","source_profile":"a","ram_role_arn":"{arn}"}}]}}"#
        );
        std::fs::write(&path, text).unwrap();
        let (mut profiles, mut warnings) = (Vec::new(), Vec::new());
        load(Some(path), &mut profiles, &mut warnings).unwrap();
        let names: Vec<&str> = profiles.iter().map(|p| p.name.as_str()).collect();
        // c holds no key to assume with; d assumes with a's credentials (found later).
        assert_eq!(names, ["alibaba:a", "alibaba:b", "alibaba:d"]);
        let chained = profiles[2].role.as_ref().unwrap();
        assert_eq!(chained.source_profile, "a");
        assert!(chained.source.is_none());
        let role = profiles[0].role.as_ref().unwrap();
        assert_eq!(role.role_arn, arn);
        assert_eq!(role.session_name.as_deref(), Some("run"));
        assert_eq!(role.external_id.as_deref(), Some("e"));
        assert_eq!(role.duration_seconds, Some(900));
        assert_eq!(role.source.as_ref().unwrap().access_key_id, "LTAIA");
        assert!(profiles[0].access_key_id.is_empty(), "no key of its own");
        assert_eq!(profiles[0].region.as_deref(), Some("ap-southeast-1"));
        // No mode but a role: RamRoleArn, as aliyun-cli reads it.
        let role = profiles[1].role.as_ref().unwrap();
        assert_eq!(role.source.as_ref().unwrap().access_key_id, "LTAIB");
        assert_eq!(role.session_name, None);
    }
}
