//! The `grant_responses` target: see `dpop_fuzz::grant_responses` (fuzz/src/grant_responses.rs).
#![no_main]
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dpop_fuzz::grant_responses::run(data));
