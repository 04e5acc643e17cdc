//! One file per subcommand. Commands speak only to [`AccessKeyProvider`] and the model.

pub mod audit;
pub mod completions;
pub mod create;
pub mod delete;
#[cfg(feature = "sandbox")]
pub mod demo;
pub mod huawei;
pub mod last_used;
pub mod list;
pub mod org;
pub mod profiles;
pub mod revoke;
pub mod rotate;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod update;
pub mod whoami;

use std::future::Future;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, Stream, StreamExt};

use crate::cli::{Cli, Command, GlobalArgs, KeyArgs, OutputFormat};
use crate::config::{self, Config, Environment, Profile, Selection};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{HttpClient, HttpSettings};
use crate::model::{KeyRecord, ProviderKind, UserRef};
use crate::output::Printer;
use crate::provider::{AccessKeyProvider, ProviderOptions};

/// What every command gets: typed settings, the loaded config and a printer.
pub struct Context {
    pub global: GlobalArgs,
    pub env: Environment,
    pub printer: Printer,
    pub config: Config,
    /// The organizations `--org` chose, once listed.
    pub orgs: Vec<org::OrgScope>,
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
        // Tables are fitted to a terminal; pipes and `-o wide` get every column.
        let width = (format == OutputFormat::Table && std::io::stdout().is_terminal())
            .then(|| terminal_size::terminal_size().map(|(w, _)| usize::from(w.0)))
            .flatten();
        let zone = match global.local {
            true => crate::output::Zone::Local,
            false => crate::output::Zone::Utc,
        };
        let printer = Printer {
            format,
            color,
            width,
            zone,
            ..plain_printer(global.quiet)
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
            orgs: Vec::new(),
            http: std::sync::OnceLock::new(),
        })
    }

    /// One client for the whole run: `--concurrency` bounds its calls in flight, and each
    /// credential adapts its rate per API under its provider's ceiling (`[rate_limits]` over the
    /// built-in defaults).
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
        let mut names = self.global.profiles.clone();
        names.extend(self.org_profiles());
        let selection = Selection {
            names,
            all: self.global.all_profiles,
            // The key id's cloud narrows only a default selection.
            provider: selected_provider
                .or(hint.filter(|_| self.global.profiles.is_empty() && self.orgs.is_empty())),
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

    /// The profiles of the `--org` organizations, in listing order.
    pub fn org_profiles(&self) -> Vec<String> {
        let all = self.orgs.iter().flat_map(|o| &o.accounts);
        all.map(|(_, profile)| profile.clone()).collect()
    }

    /// The global flags' provider options, sharing the one HTTP client.
    pub fn options(&self) -> Result<ProviderOptions> {
        let http = match self.http.get() {
            Some(http) => http.clone(),
            None => {
                let http = self.http()?;
                self.http.get_or_init(|| http).clone()
            }
        };
        Ok(ProviderOptions {
            http,
            endpoint: self.global.endpoint.clone(),
            region: self.global.region.clone(),
            allow_insecure_http: self.global.allow_insecure_http,
            page_size: self.global.page_size,
        })
    }

    /// The provider for one profile.
    pub fn build(&self, profile: &Profile) -> Result<Arc<dyn AccessKeyProvider>> {
        crate::providers::build(profile, &self.options()?)
            .map_err(|e| e.with_profile(&profile.name))
    }

    /// Providers for the selected profiles; `hint` is the cloud a key id points at.
    pub fn providers(&self, hint: Option<ProviderKind>) -> Result<Vec<Arc<dyn AccessKeyProvider>>> {
        self.profiles(hint)?.iter().map(|p| self.build(p)).collect()
    }

    /// Exactly one selected profile; `what` names the command in the refusal.
    pub fn single_profile(&self, hint: Option<ProviderKind>, what: &str) -> Result<Profile> {
        let mut profiles = self.profiles(hint)?;
        if profiles.len() != 1 {
            return Err(Error::usage(format!(
                "{what} acts on one profile, but {} were selected; choose one with -p NAME",
                profiles.len()
            )));
        }
        Ok(profiles.remove(0))
    }

    /// Exactly one provider: for commands that change one key.
    pub fn single_provider(
        &self,
        hint: Option<ProviderKind>,
    ) -> Result<Arc<dyn AccessKeyProvider>> {
        self.build(&self.single_profile(hint, "this command")?)
    }

    /// `KEY_ID [--user U]`: the one provider and the key's record, re-read (it must be this
    /// user's before anything touches it).
    pub async fn key(&self, args: &KeyArgs) -> Result<(Arc<dyn AccessKeyProvider>, KeyRecord)> {
        let provider = self.single_provider(check_key_id(&args.key_id)?)?;
        let user = Context::user_arg(&args.user);
        let record = find_key(provider.as_ref(), &args.key_id, user.as_ref()).await?;
        Ok((provider, record))
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
        split(self.each(providers, task).collect().await)
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

/// Values and errors apart, each in order.
pub fn split<T>(results: Vec<Result<T>>) -> (Vec<T>, Vec<Error>) {
    let (mut values, mut errors) = (Vec::new(), Vec::new());
    for result in results {
        match result {
            Ok(value) => values.push(value),
            Err(err) => errors.push(err),
        }
    }
    (values, errors)
}

/// A plain table printer in UTC, for commands that run before the config is read.
pub fn plain_printer(quiet: bool) -> Printer {
    Printer {
        format: OutputFormat::Table,
        color: false,
        quiet,
        width: None,
        zone: crate::output::Zone::Utc,
    }
}

/// `err` with its message led by `what: `.
pub fn prefixed(mut err: Error, what: impl std::fmt::Display) -> Error {
    err.message = format!("{what}: {}", err.message);
    err
}

/// The keys' ids, comma-separated.
pub fn key_ids(keys: &[KeyRecord]) -> String {
    let ids: Vec<&str> = keys.iter().map(|k| k.access_key_id.as_str()).collect();
    ids.join(", ")
}

/// ` --user NAME` for a suggested command line, or nothing.
pub fn user_flag(user: Option<&str>) -> String {
    user.map_or(String::new(), |u| format!(" --user {u}"))
}

/// Refuses a deletion nobody could confirm: no `--yes` and no terminal to ask on.
pub fn require_confirmation(ctx: &Context) -> Result<()> {
    if !ctx.global.yes && !std::io::stdin().is_terminal() {
        return Err(Error::usage(
            "refusing to delete without confirmation: no terminal to ask on; pass --yes",
        ));
    }
    Ok(())
}

fn parse_format(value: &str) -> Result<OutputFormat> {
    use clap::ValueEnum;
    OutputFormat::from_str(value, true).map_err(|_| {
        Error::usage(format!(
            "CLOUDKEYS_OUTPUT='{value}' is not one of table, wide, json, ndjson, csv, markdown"
        ))
    })
}

/// Checks a key id's shape without echoing it (a pasted secret must not reach the terminal log).
/// Returns the cloud its prefix names, if any (`None`: a Huawei AK, which has no prefix).
///
/// Only the shapes the clouds hand out pass, so a Tencent, Alibaba or Huawei *secret* (32 or
/// 30 letters and digits, 40 for Huawei) is refused rather than sent in a request:
/// AWS `AKIA`/`ASIA` + 16 upper-case letters and digits (base32 on AWS; moto uses every
/// digit), Tencent `AKID`/`IKID` + 16–124 letters and digits (36 in all today), Alibaba
/// `LTAI` + 12–28 letters and digits (16 or 24 in all) or `STS.` + 16–124, Huawei 20
/// upper-case letters and digits.
pub fn check_key_id(key_id: &str) -> Result<Option<ProviderKind>> {
    let all = |text: &str, allowed: fn(&u8) -> bool| text.bytes().all(|b| allowed(&b));
    let upper_alnum = |b: &u8| b.is_ascii_uppercase() || b.is_ascii_digit();
    let alnum = |b: &u8| b.is_ascii_alphanumeric();
    let rest_is = |prefix_len: usize, lengths: std::ops::RangeInclusive<usize>, allowed| {
        let rest = &key_id[prefix_len..];
        lengths.contains(&rest.len()) && all(rest, allowed)
    };
    let kind = ProviderKind::from_key_id(key_id);
    let (valid, why) = match kind {
        Some(ProviderKind::Aws) => (
            rest_is(4, 16..=16, upper_alnum),
            "an AWS key id is AKIA or ASIA and 16 upper-case letters and digits",
        ),
        Some(ProviderKind::Tencent) => (
            rest_is(4, 16..=124, alnum),
            "a Tencent key id is AKID and 16-124 letters and digits",
        ),
        Some(ProviderKind::Alibaba) if key_id.starts_with("STS.") => (
            rest_is(4, 16..=124, alnum),
            "an Alibaba STS key id is STS. and 16-124 letters and digits",
        ),
        Some(ProviderKind::Alibaba) => (
            rest_is(4, 12..=28, alnum),
            "an Alibaba key id is LTAI and 12-28 letters and digits",
        ),
        _ => (
            key_id.len() == 20 && all(key_id, upper_alnum),
            "expected AKIA…/ASIA… (AWS), AKID… (Tencent), LTAI…/STS.… (Alibaba) or 20 upper-case \
             letters and digits (Huawei)",
        ),
    };
    if !valid {
        // Its length and the rule, never the text: it may be a secret pasted by mistake.
        return Err(Error::usage(format!(
            "invalid access key id ({} characters): {why}",
            key_id.chars().count()
        )));
    }
    Ok(kind)
}

/// Sorts records the same way every run: provider, profile, user, creation, id.
pub fn sort_records(records: &mut [KeyRecord]) {
    fn key(r: &KeyRecord) -> impl Ord + '_ {
        let when = r.created_at;
        (r.provider, &r.profile, &r.user, when, &r.access_key_id)
    }
    records.sort_by(|a, b| key(a).cmp(&key(b)));
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
        #[cfg(feature = "sandbox")]
        Command::Sandbox(args) => return sandbox::run(&args, &cli.global).await,
        #[cfg(feature = "sandbox")]
        Command::Demo => return demo::run(cli.global).await,
        Command::Completions(args) => return completions::run(&args),
        Command::Man => return completions::man(),
        _ => {}
    }
    let mut ctx = Context::new(cli.global, env)?;
    org::expand(&mut ctx).await?;
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
        #[cfg(feature = "sandbox")]
        Command::Sandbox(_) | Command::Demo => Ok(0),
        Command::Completions(_) | Command::Man => Ok(0),
    }
}

/// Gives a new key's secret to the user: saved to `save` (then the record without secret is
/// printed), or printed. A secret that cannot be delivered (the file can't be written, stdout
/// is closed, full or a closed pipe) must not leave a key nobody can use behind: the key is
/// deleted again (error, exit 2, "nothing changed"); if a save failed and the delete fails too,
/// the secret is printed as a last resort; if the key is still left, the error names its id
/// (never the secret) with the delete's own exit code (3 or 4).
pub async fn deliver_new_key(
    ctx: &Context,
    provider: &dyn AccessKeyProvider,
    key: &crate::model::NewKey,
    save: Option<&std::path::Path>,
) -> Result<()> {
    let failure = match save {
        Some(path) => match create::save_key(path, key) {
            Ok(()) => {
                // Saved first; the progress lines after it cannot lose anything.
                ctx.printer.note(&format!(
                    "created {}; secret saved to {}",
                    key.record.access_key_id,
                    path.display()
                ));
                return ctx.printer.new_key(key, false).map_err(output_error);
            }
            Err(err) => err,
        },
        None => match ctx.printer.new_key(key, true) {
            Ok(()) => return Ok(()),
            Err(err) => Error::new(
                ErrorKind::Io,
                format!("cannot write the new secret to stdout: {err}"),
            ),
        },
    };
    let id = &key.record.access_key_id;
    let user_flag = user_flag(key.record.user.as_deref());
    let mut failure = failure
        .with_provider(provider.kind())
        .with_profile(provider.profile());
    let delete_err = match provider.delete_key(&key.record.key_ref()).await {
        Ok(()) => {
            failure.message = format!(
                "{}; the new key {id} was deleted again, nothing changed",
                failure.message
            );
            return Err(failure);
        }
        Err(err) => err,
    };
    if save.is_some() && ctx.printer.new_key(key, true).is_ok() {
        failure.message = format!(
            "{}; deleting the new key {id} failed too ({}): its secret is printed on stdout, store it now",
            failure.message, delete_err.message
        );
        return Err(failure);
    }
    failure.kind = delete_err.kind;
    failure.message = format!(
        "{}; deleting the new key {id} failed too ({}): its secret is lost, delete it \
         (cloudkeys delete {id}{user_flag} --yes)",
        failure.message, delete_err.message
    );
    Err(failure)
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
        assert_eq!(
            check_key_id("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE").unwrap(),
            Some(ProviderKind::Tencent)
        );
        for alibaba in [
            "LTAI5tAbCdEfGhIjKlMnOpQr",
            "LTAIabcdEFGH1234",
            "STS.NUgYrLnoC4Ho2K1n3k",
        ] {
            assert_eq!(check_key_id(alibaba).unwrap(), Some(ProviderKind::Alibaba));
        }
        // Secrets of every cloud have shapes a loose check (3-128 letters and digits) let
        // through: Tencent 32, Alibaba 30, Huawei 40 letters and digits, AWS 40 base64.
        for secret in [
            "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
            "8mT3qKx0DQu2F1bVh7cPzR9yWn4sLa",
            "Qm9vZkFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFla",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "AKIAIOSFODNN7EXAMPLEX",
            "akiaiosfodnn7example",
            "LTAI",
        ] {
            let err = check_key_id(secret).unwrap_err();
            assert_eq!(err.exit_code(), 2);
            let text = err.to_string();
            if secret.len() >= 8 {
                assert!(!text.contains(&secret[..8]), "{text}");
            }
            assert!(
                text.contains(&format!("({} characters)", secret.len())),
                "{text}"
            );
        }
        assert!(check_key_id("").is_err());
    }
}
