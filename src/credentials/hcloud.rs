//! `~/.hcloud/config.json` of Huawei Cloud's KooCLI: a `profiles` list; AKSK mode (in any case)
//! holds a long-term key.

use super::json::{JsonFormat, Modes};
use super::Source;
use crate::model::ProviderKind;

pub(super) const FILE: &str = ".hcloud/config.json";

pub(super) const FORMAT: JsonFormat = JsonFormat {
    provider: ProviderKind::Huawei,
    id: "accessKeyId",
    secret: "secretAccessKey",
    token: "securityToken",
    region: "region",
    project: Some("projectId"),
    modes: Some(Modes {
        long_term: "AKSK",
        also_loaded: &[],
        any_case: true,
    }),
    source: |path, name| Source::HcloudConfig {
        path: path.to_path_buf(),
        name: name.to_string(),
    },
};
