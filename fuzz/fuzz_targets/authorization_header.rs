//! The `authorization_header` target: see `dpop_fuzz::authorization_header` (fuzz/src/authorization_header.rs).
#![no_main]
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dpop_fuzz::authorization_header::run(data));
