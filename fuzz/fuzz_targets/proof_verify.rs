//! The `proof_verify` target: see `dpop_fuzz::proof_verify` (fuzz/src/proof_verify.rs).
#![no_main]
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dpop_fuzz::proof_verify::run(data));
