//! One file per subcommand. Commands speak only to [`AccessKeyProvider`] and the model.

pub mod audit;
pub mod completions;
pub mod create;
pub mod delete;
pub mod demo;
pub mod huawei;
pub mod last_used;
pub mod list;
pub mod profiles;
pub mod revoke;
pub mod rotate;
pub mod sandbox;
pub mod update;
pub mod whoami;

use std::future::Future;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, Stream, StreamExt};

use crate::cli::{Cli, Command, GlobalArgs, OutputFormat};
use crate::config::{self, Config, Environment, Profile, Selection};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{HttpClient, HttpSettings};
use crate::model::{KeyRecord, ProviderKind, UserRef};
use crate::output::Printer;
use crate::provider::{self, AccessKeyProvider, ProviderOptions};

/// What every command gets: typed settings, the loaded config and a printer.
pub struct Context {
    pub global: GlobalArgs,
    pub env: Environment,
    pub printer: Printer,
    pub config: Config,
    http: std::sync::OnceLock<Arc<HttpClient>>,
}

impl Context {
    pub fn new(global: GlobalArgs, env: Environment) -> Result<Self> {
        let format = match global.output {
            Some(format) => format,
            None => match env.var("CLOUDKEYS_OUTPUT") {
                Some(value) => parse_format(value)?,
                None => OutputFormat::Table,
            },
        };
        let color =
            !global.no_color && env.var("NO_COLOR").is_none() && std::io::stdout().is_terminal();
        let printer = Printer {
            format,
            color,
            quiet: global.quiet,
        };
        let config = config::load(global.config.as_deref(), &env)?;
        for warning in &config.warnings {
            printer.note(&format!("warning: {warning}"));
        }
        Ok(Context {
            global,
            env,
            printer,
            config,
            http: std::sync::OnceLock::new(),
        })
    }

    /// One client for the whole run: `--concurrency` bounds its calls in flight, and each
    /// credential gets its provider's rate limit (`[rate_limits]` over the built-in defaults).
    fn http(&self) -> Result<Arc<HttpClient>> {
        let mut settings = HttpSettings {
            timeout: Duration::from_secs(self.global.timeout),
            retries: self.global.retries,
            max_in_flight: self.concurrency(),
            proxies: crate::http::Proxies::from_env(&self.env),
            ..HttpSettings::default()
        };
        for (name, rate) in &self.config.rate_limits {
            let kind = ProviderKind::parse(name).ok_or_else(|| {
                Error::config(format!("[rate_limits]: unknown provider '{name}'"))
            })?;
            if !rate.is_finite() || *rate < 0.0 {
                return Err(Error::config(format!(
                    "[rate_limits]: {name} = {rate}: expected requests per second, 0 for no limit"
                )));
            }
            settings.rate_limits.insert(kind, *rate);
        }
        Ok(Arc::new(HttpClient::new(settings)?))
    }

    /// The selected profiles; `hint` is the cloud a key id points at.
    pub fn profiles(&self, hint: Option<ProviderKind>) -> Result<Vec<Profile>> {
        let selected_provider = self.global.provider.map(ProviderKind::from);
        if let (Some(hint), Some(chosen)) = (hint, selected_provider) {
            if hint != chosen {
                return Err(Error::usage(format!(
                    "that key id belongs to {hint}, but --provider {chosen} was given"
                )));
            }
        }
        let selection = Selection {
            names: self.global.profiles.clone(),
            all: self.global.all_profiles,
            provider: selected_provider.or(if self.global.profiles.is_empty() {
                hint
            } else {
                None
            }),
        };
        let profiles = self.config.select(&selection, &self.env)?;
        if self.global.endpoint.is_some() {
            let first = profiles[0].provider;
            if profiles.iter().any(|p| p.provider != first) {
                return Err(Error::usage(
                    "--endpoint applies to one provider, but profiles of several were selected",
                ));
            }
        }
        if let Some(hint) = hint {
            if let Some(other) = profiles.iter().find(|p| p.provider != hint) {
                return Err(Error::usage(format!(
                    "that key id belongs to {hint}, but profile {} is a {} profile",
                    other.name, other.provider
                )));
            }
        }
        Ok(profiles)
    }

    /// The provider for one profile, sharing the one HTTP client.
    pub fn build(&self, profile: &Profile) -> Result<Arc<dyn AccessKeyProvider>> {
        let http = match self.http.get() {
            Some(http) => http.clone(),
            None => {
                let http = self.http()?;
                self.http.get_or_init(|| http).clone()
            }
        };
        let options = ProviderOptions {
            http,
            endpoint: self.global.endpoint.clone(),
            region: self.global.region.clone(),
            allow_insecure_http: self.global.allow_insecure_http,
            page_size: self.global.page_size,
        };
        provider::build(profile, &options).map_err(|e| e.with_profile(&profile.name))
    }

    /// Providers for the selected profiles; `hint` is the cloud a key id points at.
    pub fn providers(&self, hint: Option<ProviderKind>) -> Result<Vec<Arc<dyn AccessKeyProvider>>> {
        self.profiles(hint)?.iter().map(|p| self.build(p)).collect()
    }

    /// Exactly one provider: for commands that change one key.
    pub fn single_provider(
        &self,
        hint: Option<ProviderKind>,
    ) -> Result<Arc<dyn AccessKeyProvider>> {
        let mut providers = self.providers(hint)?;
        if providers.len() != 1 {
            return Err(Error::usage(format!(
                "this command acts on one profile, but {} were selected; choose one with -p NAME",
                providers.len()
            )));
        }
        Ok(providers.remove(0))
    }

    pub fn concurrency(&self) -> usize {
        self.global.concurrency as usize
    }

    /// Runs `task` for every provider, at most `--concurrency` at once, and yields the results
    /// in profile order, each as soon as it and those before it are done.
    pub fn each<'a, T, F, Fut>(
        &'a self,
        providers: &'a [Arc<dyn AccessKeyProvider>],
        task: F,
    ) -> impl Stream<Item = Result<T>> + 'a
    where
        F: Fn(Arc<dyn AccessKeyProvider>) -> Fut + 'a,
        Fut: Future<Output = Result<T>> + 'a,
        T: 'a,
    {
        stream::iter(providers.iter().cloned())
            .map(move |p| {
                let kind = p.kind();
                let name = p.profile().to_string();
                let fut = task(p);
                async move {
                    fut.await
                        .map_err(|e| e.with_provider(kind).with_profile(&name))
                }
            })
            .buffered(self.concurrency())
    }

    /// Runs `task` for every provider, at most `--concurrency` at once, results in profile order.
    pub async fn for_each<T, F, Fut>(
        &self,
        providers: &[Arc<dyn AccessKeyProvider>],
        task: F,
    ) -> (Vec<T>, Vec<Error>)
    where
        F: Fn(Arc<dyn AccessKeyProvider>) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let results: Vec<Result<T>> = self.each(providers, task).collect().await;
        let mut values = Vec::new();
        let mut errors = Vec::new();
        for result in results {
            match result {
                Ok(value) => values.push(value),
                Err(err) => errors.push(err),
            }
        }
        (values, errors)
    }

    /// Prints the errors of a multi-target run and picks the exit code:
    /// 0 all well, 5 some failed, else the (first) failure's own code.
    pub fn finish(&self, errors: &[Error], any_succeeded: bool) -> i32 {
        for err in errors {
            self.printer.error(err);
        }
        match errors.first() {
            None => 0,
            Some(_) if any_succeeded => ErrorKind::Partial.exit_code(),
            Some(first) => first.exit_code(),
        }
    }

    pub fn user_arg(user: &Option<String>) -> Option<UserRef> {
        user.as_deref().map(UserRef::from_arg)
    }
}

fn parse_format(value: &str) -> Result<OutputFormat> {
    use clap::ValueEnum;
    OutputFormat::from_str(value, true).map_err(|_| {
        Error::usage(format!(
            "CLOUDKEYS_OUTPUT='{value}' is not one of table, json, ndjson, csv, markdown"
        ))
    })
}

/// Checks a key id's shape without echoing it (a pasted secret must not reach the terminal log).
/// Returns the cloud its prefix names, if any.
pub fn check_key_id(key_id: &str) -> Result<Option<ProviderKind>> {
    let valid = (3..=128).contains(&key_id.len())
        && key_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.');
    if !valid {
        return Err(Error::usage(
            "invalid access key id: expected 3-128 letters and digits (e.g. AKIA…, AKID…, LTAI…)",
        ));
    }
    Ok(ProviderKind::from_key_id(key_id))
}

/// Sorts records the same way every run: provider, profile, user, creation, id.
pub fn sort_records(records: &mut [KeyRecord]) {
    records.sort_by(|a, b| {
        (
            a.provider,
            &a.profile,
            &a.user,
            a.created_at,
            &a.access_key_id,
        )
            .cmp(&(
                b.provider,
                &b.profile,
                &b.user,
                b.created_at,
                &b.access_key_id,
            ))
    });
}

/// Finds a key among a user's keys (the re-check before any destructive step).
pub async fn find_key(
    provider: &dyn AccessKeyProvider,
    key_id: &str,
    user: Option<&UserRef>,
) -> Result<KeyRecord> {
    let keys = provider.list_keys(user).await?;
    keys.into_iter()
        .find(|k| k.access_key_id == key_id)
        .ok_or_else(|| {
            let whose = match user {
                Some(u) => format!("user {}", u.name),
                None => "the profile's own user (name the owner with --user)".to_string(),
            };
            Error::new(
                ErrorKind::NotFound,
                format!("no access key {key_id} belongs to {whose}"),
            )
            .with_provider(provider.kind())
            .with_profile(provider.profile())
        })
}

/// Runs a command; returns its exit code.
pub async fn run(cli: Cli, env: Environment) -> Result<i32> {
    match cli.command {
        Command::Sandbox(args) => return sandbox::run(&args, &cli.global).await,
        Command::Demo => return demo::run(cli.global).await,
        Command::Completions(args) => return completions::run(&args),
        _ => {}
    }
    let ctx = Context::new(cli.global, env)?;
    match cli.command {
        Command::List(args) => list::run(&ctx, &args).await,
        Command::LastUsed(args) => last_used::run(&ctx, &args).await,
        Command::Create(args) => create::run(&ctx, &args).await,
        Command::Enable(args) => update::run(&ctx, &args, crate::model::KeyStatus::Active).await,
        Command::Disable(args) => update::run(&ctx, &args, crate::model::KeyStatus::Inactive).await,
        Command::Delete(args) => delete::run(&ctx, &args).await,
        Command::Audit(args) => audit::run(&ctx, &args).await,
        Command::Whoami => whoami::run(&ctx).await,
        Command::Rotate(args) => rotate::run(&ctx, &args).await,
        Command::Revoke(args) => revoke::run(&ctx, &args).await,
        Command::Profiles => profiles::run(&ctx),
        Command::Huawei(command) => huawei::run(&ctx, &command).await,
        Command::Sandbox(_) | Command::Demo | Command::Completions(_) => Ok(0),
    }
}

/// Maps an output failure (other than a closed pipe, handled in output) to an error.
pub fn output_error(err: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("cannot write output: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_are_checked_without_echo() {
        assert_eq!(
            check_key_id("AKIAIOSFODNN7EXAMPLE").unwrap(),
            Some(ProviderKind::Aws)
        );
        assert_eq!(check_key_id("HPUAXXXXXXXXXXXXXXXX").unwrap(), None);
        let err = check_key_id("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(!err.to_string().contains("wJalr"));
        assert!(check_key_id("").is_err());
    }
}
