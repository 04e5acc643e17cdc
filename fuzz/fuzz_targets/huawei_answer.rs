//! Huawei Cloud IAM v5/v3 and CCE JSON answers: the first byte picks the HTTP status, the rest is the body.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| cloudkeys::fuzzing::target_huawei_answer(data));
