//! Fuzz target: `watchword::fuzzing::basic_credentials` (see docs/fuzzing.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| watchword::fuzzing::basic_credentials(data));
