//! The `token_response` target: see `dpop_fuzz::token_response` (fuzz/src/token_response.rs).
#![no_main]
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dpop_fuzz::token_response::run(data));
