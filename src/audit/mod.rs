//! The audit's domain: its rules, its findings and the policy that finds them. Pure: the
//! command (`commands::audit`) reads the fleet and builds the policy from flags and config.

mod finding;
mod policy;

pub use self::finding::{Finding, Rule};
pub use self::policy::{sort_findings, Allow, Limits, Policy};
