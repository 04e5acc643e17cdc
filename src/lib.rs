//! cloudkeys: list, create, enable/disable, delete, rotate and audit cloud access keys.

pub mod atomic;
pub mod audit;
pub mod cli;
pub mod commands;
pub mod config;
mod credentials;
pub mod critical;
pub mod error;
#[cfg(any(test, fuzzing, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod model;
pub mod output;
pub mod provider;
pub mod providers;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod signing;
pub mod time;
pub mod writeback;
