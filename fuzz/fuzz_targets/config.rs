//! The config loaders: the first byte picks the file (our TOML, ~/.aws/credentials or config,
//! ~/.tccli, ~/.aliyun/config.json, ~/.hcloud/config.json), the rest is its content. The files
//! are written to one temporary home, reused for every input.
#![no_main]

use std::sync::OnceLock;

use cloudkeys::fuzzing::{target_config, ConfigHome};
use libfuzzer_sys::fuzz_target;

static HOME: OnceLock<ConfigHome> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let home = HOME.get_or_init(|| ConfigHome::new().expect("a temporary home folder"));
    target_config(home, data);
});
