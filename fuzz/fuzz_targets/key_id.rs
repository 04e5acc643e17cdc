//! Key-id checks (the cloud a prefix names, the id's syntax) and AWS's offline account decoding.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| cloudkeys::fuzzing::target_key_id(data));
