//! The `redirect` target: see `dpop_fuzz::redirect` (fuzz/src/redirect.rs).
#![no_main]
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dpop_fuzz::redirect::run(data));
