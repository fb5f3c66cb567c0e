//! The `json_vs_serde` target: see `dpop_fuzz::json_vs_serde` (fuzz/src/json_vs_serde.rs).
#![no_main]
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dpop_fuzz::json_vs_serde::run(data));
