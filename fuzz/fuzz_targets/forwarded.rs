//! Fuzz target: `watchword::fuzzing::forwarded` (see docs/fuzzing.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| watchword::fuzzing::forwarded(data));
