//! The `jwt_claims` target: see `dpop_fuzz::jwt_claims` (fuzz/src/jwt_claims.rs).
#![no_main]
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dpop_fuzz::jwt_claims::run(data));
