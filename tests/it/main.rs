//! The end-to-end suite: the built binary against the in-process sandbox (and moto), in one
//! test binary. `conformance` runs the scenarios every cloud shares once per cloud; the cloud
//! modules hold what only that cloud has; the rest cut across clouds by concern.

mod common;

mod alibaba;
mod audit;
mod aws;
mod conformance;
mod credential_sources;
mod delivery;
mod hardening;
mod huawei;
mod moto;
mod ndjson;
mod proxy;
mod rotate;
mod secrets;
mod tencent;
mod terminal;
