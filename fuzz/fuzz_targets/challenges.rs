//! The `challenges` target: see `dpop_fuzz::challenges` (fuzz/src/challenges.rs).
#![no_main]
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dpop_fuzz::challenges::run(data));
