//! The `create_verify` target: see `dpop_fuzz::create_verify` (fuzz/src/create_verify.rs).
#![no_main]
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dpop_fuzz::create_verify::run(data));
