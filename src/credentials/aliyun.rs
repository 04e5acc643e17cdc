//! `~/.aliyun/config.json` of the aliyun CLI: a `profiles` list; AK mode holds a long-term key,
//! StsToken mode a temporary one.

use super::json::{JsonFormat, Modes};
use super::Source;
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
