//! Tencent Cloud API 3.0 JSON answers: the first byte picks the HTTP status, the rest is the body.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| cloudkeys::fuzzing::target_tencent_answer(data));
