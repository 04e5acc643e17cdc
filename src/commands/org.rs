//! `--org NAME`: an organization's accounts as profiles. The management account's source
//! profile lists them (the cloud's organization service) and reads its own account; every
//! other active account is a role profile `NAME/ACCOUNT_ID` assuming `role_name` (or the
//! cloud's default member role) there.

use super::Context;
use crate::config::{Profile, Role};
use crate::error::{Error, Result};
use crate::model::ProviderKind;

/// One organization chosen with `--org`, as its accounts were listed.
#[derive(Debug, Clone)]
pub struct OrgScope {
    pub name: String,
    /// The source profile: lists the accounts, reads the management account.
    pub source: String,
    pub management: Option<String>,
    /// (account id, profile name) of every account kept, the management account included.
    pub accounts: Vec<(String, String)>,
}

impl OrgScope {
    /// The profile that reads account `id`, if the organization holds it.
    pub fn profile_of(&self, id: &str) -> Option<&str> {
        self.accounts
            .iter()
            .find(|(account, _)| account == id)
            .map(|(_, profile)| profile.as_str())
    }
}

/// Lists the accounts of every `--org` and adds their profiles to the config.
pub async fn expand(ctx: &mut Context) -> Result<()> {
    for name in ctx.global.orgs.clone() {
        let name = name.trim();
        if !name.is_empty() && !ctx.orgs.iter().any(|o| o.name == name) {
            let scope = list(ctx, name).await?;
            ctx.orgs.push(scope);
        }
    }
    Ok(())
}

async fn list(ctx: &mut Context, name: &str) -> Result<OrgScope> {
    let config = &ctx.config;
    let org = config.organizations.get(name).cloned().ok_or_else(|| {
        let known: Vec<&str> = config.organizations.keys().map(String::as_str).collect();
        Error::config(format!(
            "unknown organization '{name}' (known: {})",
            if known.is_empty() {
                "none configured".to_string()
            } else {
                known.join(", ")
            }
        ))
    })?;
    let table = format!("[organizations.{name}]");
    let kind = ProviderKind::parse(&org.provider)
        .ok_or_else(|| Error::config(format!("{table}: unknown provider '{}'", org.provider)))?;
    let wanted = &org.source_profile;
    let native = format!("{kind}:{wanted}");
    let source = config
        .profiles
        .iter()
        .find(|p| &p.name == wanted || p.name == native)
        .cloned()
        .ok_or_else(|| {
            Error::config(format!(
                "{table}: source_profile '{wanted}' is not a known profile"
            ))
        })?;
    if source.provider != kind {
        return Err(Error::config(format!(
            "{table}: source_profile '{wanted}' is a profile of {}, not {kind}",
            source.provider
        )));
    }
    let manager = ctx.build(&source)?;
    let listed = manager.organization_accounts().await.map_err(|err| {
        super::prefixed(
            err.with_profile(&source.name),
            format!("organization {name}"),
        )
    })?;
    let management = listed.iter().find_map(|a| a.management.clone());
    let mut scope = OrgScope {
        name: name.to_string(),
        source: source.name.clone(),
        management: management.clone(),
        accounts: Vec::new(),
    };
    // The management account has no member role: its own source profile reads it.
    if management.as_deref().is_none_or(|id| org.keeps(id)) {
        let id = management.clone().unwrap_or_default();
        scope.accounts.push((id, source.name.clone()));
    }
    for account in listed.iter().filter(|a| a.active && org.keeps(&a.id)) {
        if management.as_ref() == Some(&account.id) {
            continue;
        }
        let role = Role {
            role_arn: manager.member_role(&account.id, org.role_name.as_deref())?,
            source_profile: source.name.clone(),
            external_id: None,
            session_name: None,
            duration_seconds: None,
            mfa_serial: None,
            token_code: None,
            source: Some(Box::new(source.clone())),
        };
        let profile_name = format!("{name}/{}", account.id);
        let profile = Profile {
            endpoint: source.endpoint.clone(),
            region: source.region.clone(),
            ..Profile::assuming(kind, profile_name.clone(), role, source.source.clone())
        };
        if !ctx.config.profiles.iter().any(|p| p.name == profile_name) {
            ctx.config.profiles.push(profile);
        }
        scope.accounts.push((account.id.clone(), profile_name));
    }
    Ok(scope)
}
