#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod client;
pub mod clock;
#[cfg(any(feature = "es256", feature = "es384", feature = "es512"))]
pub mod keys;
pub mod nonce;
pub mod replay;
pub mod server;
pub mod telemetry;
pub mod wire;

pub use clock::{Clock, ManualClock, SystemClock};
pub use dpop_core;

/// Internals exposed to the fuzz targets only (feature `__fuzzing-internals`, which turns on
/// `tracing`); not a public API, no semver guarantees.
#[cfg(feature = "__fuzzing-internals")]
#[doc(hidden)]
pub mod __fuzzing {
    extern crate alloc;

    use alloc::string::String;
    use alloc::vec::Vec;

    /// The client's `WWW-Authenticate` challenge parser: schemes and parameters.
    #[must_use]
    pub fn challenges(text: &str) -> Vec<(String, Vec<(String, String)>)> {
        crate::client::fuzz_challenges(text)
    }

    /// What a telemetry event reports of an unverified proof: `(claimed_htu, claimed_htm,
    /// iat)`.
    #[must_use]
    pub fn claimed(proof: &str) -> (Option<String>, Option<String>, Option<i64>) {
        crate::telemetry::fuzz_claimed(proof)
    }

    /// The longest `claimed_htu` in an event, and the longest proof whose payload is read.
    pub const CLAIMED_LIMITS: (usize, usize) = crate::telemetry::FUZZ_LIMITS;
}
