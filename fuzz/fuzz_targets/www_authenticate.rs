//! The `www_authenticate` target: see `dpop_fuzz::www_authenticate` (fuzz/src/www_authenticate.rs).
#![no_main]
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dpop_fuzz::www_authenticate::run(data));
