//! The `proof_claims` target: see `dpop_fuzz::proof_claims` (fuzz/src/proof_claims.rs).
#![no_main]
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dpop_fuzz::proof_claims::run(data));
