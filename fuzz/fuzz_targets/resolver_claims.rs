//! The `resolver_claims` target: see `dpop_fuzz::resolver_claims` (fuzz/src/resolver_claims.rs).
#![no_main]
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dpop_fuzz::resolver_claims::run(data));
