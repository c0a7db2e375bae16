//! Fuzz target: `watchword::fuzzing::form` (see docs/fuzzing.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| watchword::fuzzing::form(data));
