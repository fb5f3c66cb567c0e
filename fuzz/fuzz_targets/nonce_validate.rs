//! The `nonce_validate` target: see `dpop_fuzz::nonce_validate` (fuzz/src/nonce_validate.rs).
#![no_main]
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dpop_fuzz::nonce_validate::run(data));
