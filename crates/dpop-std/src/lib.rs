#![doc = include_str!("../README.md")]
//!
//! # Where things live
//!
//! A map of the source tree (`src/`), by concern:
//!
//! ```text
//! server.rs            Server: configuration, proof verification, replay consumption
//!   server/head.rs       the request head; Authorization and DPoP header rules
//!   server/target.rs     UriPolicy: the expected htu, raw-path (dot segment) and host rules
//!   server/forwarded.rs  Forwarded / X-Forwarded-* from a trusted proxy
//!   server/token.rs      token endpoint: verify_token_request, check_grant, Grant
//!                        (refresh-token and authorization-code binding), TokenBinding
//!   server/resource.rs   resources: resource_request, verify_resource, BearerPolicy
//!   server/accepted.rs   Accepted, AcceptedProof
//!   server/rejection.rs  Reason, Rejection: status, headers and JSON body of a refusal
//!   server/challenge.rs  the 401 WWW-Authenticate challenges (DPoP, Bearer)
//! client.rs            Client, Attempt, Outcome: proofs and nonce retries, sans-IO
//!   client/tokens.rs     TokenSet: token responses and their binding
//!   client/response.rs   what a response teaches: nonce, server time, error body
//!   client/challenge.rs  the WWW-Authenticate parser
//!   client/state.rs      per-origin nonce and clock offset
//! replay.rs            ReplayCache, ReplayError, consume, expiry_for
//!   replay/memory.rs     MemoryReplayCache: the bounded in-memory table
//!   replay/quota.rs      its per-key quota
//! nonce.rs             stateless server nonces
//! clock.rs  keys.rs  telemetry.rs  wire.rs
//! ```
//!
//! Unit tests sit next to the code in `*/tests.rs`; integration tests in `tests/`.
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
