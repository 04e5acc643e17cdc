//! cloudkeys: list, create, enable/disable, delete, rotate and audit cloud access keys.

pub mod config;
pub mod error;
pub mod http;
pub mod model;
pub mod providers;
pub mod provider;
pub mod signing;
pub mod time;
