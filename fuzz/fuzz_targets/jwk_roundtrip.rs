//! The `jwk_roundtrip` target: see `dpop_fuzz::jwk_roundtrip` (fuzz/src/jwk_roundtrip.rs).
#![no_main]
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dpop_fuzz::jwk_roundtrip::run(data));
