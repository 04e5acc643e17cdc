//! The command tree. Definitions and help text only; behaviour lives in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::model::ProviderKind;

#[derive(Debug, Parser)]
#[command(
    name = "cloudkeys",
    version,
    about = "List, create, enable/disable, delete and audit cloud access keys on AWS, Tencent Cloud, Alibaba Cloud and Huawei Cloud",
    long_about = "cloudkeys shows the long-term access keys of cloud identities as one normalized record \
(a table for people, JSON for scripts) and changes them safely.\n\n\
Credentials come from profiles: cloudkeys' own config file (~/.config/cloudkeys/config.toml), \
each cloud's environment variables, and each cloud's CLI files (~/.aws/credentials, \
~/.tccli/*.credential, ~/.aliyun/config.json, ~/.hcloud/config.json). Run `cloudkeys profiles` \
to see what was found, or `cloudkeys demo` to try it with no cloud account.\n\n\
Exit codes: 0 success, 1 audit findings, 2 usage or configuration error, 3 the cloud refused, \
4 network/timeout/throttling, 5 partial failure, 130 interrupted."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A table for people; on a terminal fitted to its width
    Table,
    /// A table with every column, not fitted to the terminal
    Wide,
    Json,
    Ndjson,
    Csv,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProviderArg {
    Aws,
    Tencent,
    Alibaba,
    Huawei,
}

impl From<ProviderArg> for ProviderKind {
    fn from(value: ProviderArg) -> Self {
        match value {
            ProviderArg::Aws => ProviderKind::Aws,
            ProviderArg::Tencent => ProviderKind::Tencent,
            ProviderArg::Alibaba => ProviderKind::Alibaba,
            ProviderArg::Huawei => ProviderKind::Huawei,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Profile(s) to use; repeat or separate with commas (see `cloudkeys profiles`)
    #[arg(
        short = 'p',
        long = "profile",
        global = true,
        value_delimiter = ',',
        value_name = "NAME"
    )]
    pub profiles: Vec<String>,

    /// Every active account of organization(s) NAME (`[organizations.NAME]` in the config),
    /// as profiles NAME/ACCOUNT_ID; repeat or separate with commas
    #[arg(
        long = "org",
        global = true,
        value_delimiter = ',',
        value_name = "NAME"
    )]
    pub orgs: Vec<String>,

    /// Use every profile found
    #[arg(long, global = true)]
    pub all_profiles: bool,

    /// Only this cloud; with no profile named, use its environment variables or CLI files
    #[arg(long, global = true, value_enum)]
    pub provider: Option<ProviderArg>,

    /// Output format [env: CLOUDKEYS_OUTPUT]
    #[arg(short = 'o', long, global = true, value_enum)]
    pub output: Option<OutputFormat>,

    /// Config file [env: CLOUDKEYS_CONFIG; default: ~/.config/cloudkeys/config.toml]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// API base URL for the selected provider (http allowed only to loopback)
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint: Option<String>,

    /// Region (AWS: also picks the partition: cn-* → aws-cn, us-gov-* → aws-us-gov)
    #[arg(long, global = true)]
    pub region: Option<String>,

    /// Most calls in flight at once
    #[arg(long, global = true, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,

    /// Seconds before one HTTP call is abandoned
    #[arg(long, global = true, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,

    /// Retries for throttled, failed or unreachable calls (creation is never retried blindly)
    #[arg(long, global = true, default_value_t = 4, value_parser = clap::value_parser!(u32).range(0..=20))]
    pub retries: u32,

    /// More log lines on stderr (-v, -vv, -vvv); secrets are never logged
    #[arg(short = 'v', long = "verbose", global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Print only results and errors
    #[arg(short = 'q', long, global = true)]
    pub quiet: bool,

    /// Show table and Markdown times in the system's time zone (honours TZ), not UTC
    #[arg(long, global = true)]
    pub local: bool,

    /// No colours (also when NO_COLOR is set or output is not a terminal)
    #[arg(long, global = true)]
    pub no_color: bool,

    /// Answer yes to confirmations (needed to delete without a terminal)
    #[arg(short = 'y', long, global = true)]
    pub yes: bool,

    /// Allow plain http:// endpoints that are not on loopback
    #[arg(long, global = true)]
    pub allow_insecure_http: bool,

    /// Items per page asked of list calls that take a page size (AWS MaxItems, Alibaba
    /// MaxItems); for testing paging, hidden
    #[arg(long, global = true, hide = true, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub page_size: Option<u32>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List access keys with status, age and last use
    List(ListArgs),
    /// Show when and where one key was last used
    LastUsed(KeyArgs),
    /// Create an access key; the secret is shown once (or saved with --save)
    Create(CreateArgs),
    /// Set a key active
    Enable(KeyArgs),
    /// Set a key inactive (it stops working; it can be enabled again)
    Disable(KeyArgs),
    /// Delete a key for good (asks first on a terminal; otherwise needs --yes)
    Delete(KeyArgs),
    /// Check keys against a policy (age, idle time, unused, half-done rotations); exit 1 on findings
    Audit(AuditArgs),
    /// Show the identity behind each selected profile
    Whoami,
    /// List the profiles found and where each came from (secrets hidden)
    Profiles,
    /// Replace a key safely: create, save, prove, then deactivate the old one
    #[command(long_about = "Replace an access key without ever losing a secret.\n\n\
Steps: find the key to replace (default: the one the profile signs with); check the user has \
room for a second key; create the new key (never retried blindly); save its secret — back into \
the profile's own file (cloudkeys config, ~/.aws/credentials, ~/.tccli, ~/.aliyun, ~/.hcloud; \
atomic replace, everything else untouched) or to --save FILE; prove the new key works with a \
signed read call; then deactivate (default), delete or keep the old key.\n\n\
An interrupted rotation can be run again with the same arguments: it finishes the job.")]
    Rotate(RotateArgs),
    /// Incident response: find which configured account owns a key and disable it
    Revoke(RevokeArgs),
    /// Huawei Cloud checks beyond IAM access keys
    #[command(subcommand)]
    Huawei(HuaweiCommand),
    /// Serve local emulators of the clouds' key APIs and print a config pointing at them
    #[cfg(feature = "sandbox")]
    Sandbox(SandboxArgs),
    /// Try cloudkeys with no cloud account: runs `list --all-users` and `audit` against a built-in sandbox
    #[cfg(feature = "sandbox")]
    Demo,
    /// Print a shell completion script
    Completions(CompletionsArgs),
    /// Print the man page (roff) on stdout, for packagers: `cloudkeys man > cloudkeys.1`
    #[command(hide = true)]
    Man,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Keys of this user (name; Tencent and Huawei also accept the uin / user id)
    #[arg(short, long, conflicts_with = "all_users")]
    pub user: Option<String>,
    /// Keys of every user in the account
    #[arg(short = 'a', long)]
    pub all_users: bool,
    /// Skip the last-used lookups (faster)
    #[arg(long)]
    pub no_last_used: bool,
    /// With --all-users: ask every user for its keys and every key for its last use, instead
    /// of reading the account's credential report (AWS, Alibaba), which may be hours old
    #[arg(long, requires = "all_users")]
    pub exact: bool,
}

#[derive(Debug, Default, Args)]
#[command(
    after_help = "Rules: max-age, max-idle, never-used, inactive-unused (active/inactive keys past \
a number of days), two-active (a user with two active keys), cce-expired and cce-expiring (Huawei \
profiles with a project_id). Thresholds come from these flags, else the config's [audit] table, else \
the defaults. Findings waived by --allow or [[audit.allow]] are shown as allowed and do not fail \
the run.\n\nExit codes: 0 no findings, 1 findings, 5 some profiles or users could not be read \
(the rest were audited)."
)]
pub struct AuditArgs {
    /// Audit the keys of this user (default: the profile's own user)
    #[arg(short, long, conflicts_with = "all_users")]
    pub user: Option<String>,
    /// Audit the keys of every user in each account
    #[arg(short = 'a', long)]
    pub all_users: bool,
    /// With --all-users: per-user and per-key calls instead of the account's credential
    /// report (AWS, Alibaba), which may be hours old
    #[arg(long, requires = "all_users")]
    pub exact: bool,
    /// Active keys older than DAYS are findings [config: max_age_days; default: 90]
    #[arg(long, value_name = "DAYS", value_parser = days())]
    pub max_age: Option<i64>,
    /// Active keys unused for more than DAYS (never used: since creation) [config: max_idle_days; default: 90]
    #[arg(long, value_name = "DAYS", value_parser = days())]
    pub max_idle: Option<i64>,
    /// Active keys never used more than DAYS after creation [config: never_used_days; default: 7]
    #[arg(long, value_name = "DAYS", value_parser = days())]
    pub never_used_days: Option<i64>,
    /// Inactive keys unused for more than DAYS [config: inactive_days; default: 30]
    #[arg(long, value_name = "DAYS", value_parser = days())]
    pub inactive_days: Option<i64>,
    /// Warn when a CCE long-term AK/SK expires within DAYS [config: cce_warn_days; default: 30]
    #[arg(long, value_name = "DAYS", value_parser = days())]
    pub cce_warn_days: Option<i64>,
    /// Waive findings about this key id (repeat or comma-separate; no end date; the config's
    /// [[audit.allow]] entries carry a reason and an end date)
    #[arg(long, value_delimiter = ',', value_name = "KEY_ID")]
    pub allow: Vec<String>,
    /// Do not check these rules (repeat or comma-separate)
    #[arg(long, value_delimiter = ',', value_name = "RULE",
          value_parser = clap::builder::PossibleValuesParser::new(crate::audit::Rule::NAMES))]
    pub skip: Vec<String>,
}

fn days() -> clap::builder::RangedI64ValueParser<i64> {
    clap::value_parser!(i64).range(0..=36500)
}

#[derive(Debug, Args)]
pub struct KeyArgs {
    /// Access key id; its prefix picks the cloud where it can (AKIA/ASIA, LTAI, AKID/IKID)
    #[arg(value_name = "KEY_ID")]
    pub key_id: String,
    /// The user owning the key (default: the profile's own user)
    #[arg(short, long)]
    pub user: Option<String>,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Create the key for this user (default: the profile's own user)
    #[arg(short, long)]
    pub user: Option<String>,
    /// Write the new key to FILE (mode 0600, never overwriting) instead of printing the secret
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum HuaweiCommand {
    /// CCE long-term AK/SK status of a project (regional: needs --region or the profile region)
    CceAkskStatus(CceAkskStatusArgs),
}

#[derive(Debug, Args)]
pub struct CceAkskStatusArgs {
    /// Project id (default: the profile's project_id)
    #[arg(long, value_name = "ID")]
    pub project_id: Option<String>,
}

/// What to do with the old key once the new one works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OldKeyAction {
    /// Set it inactive (it can be enabled again if something still needed it)
    Deactivate,
    /// Delete it for good
    Delete,
    /// Leave it active
    Keep,
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    /// Rotate a key of this user (needs --save; default: the profile's own user)
    #[arg(short, long)]
    pub user: Option<String>,
    /// The key to replace (default: the one the profile signs with, or the user's only key)
    #[arg(long, value_name = "KEY_ID")]
    pub key: Option<String>,
    /// Save the new key to FILE (mode 0600, never overwriting) instead of the profile's source
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// What to do with the old key once the new one works
    #[arg(long, value_enum, default_value_t = OldKeyAction::Deactivate)]
    pub old: OldKeyAction,
    /// Show the plan and make read calls only
    #[arg(long)]
    pub dry_run: bool,
    /// Seconds to wait for the new key to work (clouds take a while to accept new keys)
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub verify_timeout: u64,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The leaked access key id
    #[arg(value_name = "KEY_ID")]
    pub key_id: String,
    /// Delete the key instead of disabling it (asks on a terminal; otherwise needs --yes)
    #[arg(long)]
    pub delete: bool,
}

#[cfg(feature = "sandbox")]
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Port on 127.0.0.1 (0 picks a free one)
    #[arg(long, default_value_t = 8790)]
    pub port: u16,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}
