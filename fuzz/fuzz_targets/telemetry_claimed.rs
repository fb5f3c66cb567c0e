//! The `telemetry_claimed` target: see `dpop_fuzz::telemetry_claimed` (fuzz/src/telemetry_claimed.rs).
#![no_main]
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dpop_fuzz::telemetry_claimed::run(data));
