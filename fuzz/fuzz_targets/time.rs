//! The clouds' time formats: RFC 3339, Beijing time, Beijing days, Go's default format.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| cloudkeys::fuzzing::target_time(data));
