//! The `htu` target: see `dpop_fuzz::htu` (fuzz/src/htu.rs).
#![no_main]
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dpop_fuzz::htu::run(data));
