//! Fuzz target logic for the dpop workspace.
//!
//! Each module holds one target's `run(&[u8])`; the binaries in `fuzz_targets/` are one-line
//! `fuzz_target!` wrappers around them. Keeping the logic here lets `cargo test` (stable, no
//! libFuzzer) replay every seed and every saved crash input (`tests/replay.rs`), and keeps this
//! crate under `#![forbid(unsafe_code)]`, which the binaries cannot be (see `fuzz/README.md`).
//!
//! A target panics only when it finds a bug: a panic in the library, or a broken invariant that
//! the target states with `assert!`. Inputs the library rightly rejects return quietly.

#![forbid(unsafe_code)]
// Fuzz harness: a failed assertion is how a finding is reported.
#![allow(clippy::missing_panics_doc, clippy::unwrap_used)]

pub mod fixtures;
pub mod http_text;
pub mod oracle;
pub mod seeds;

pub mod create_verify;
pub mod htu;
pub mod json_vs_serde;
pub mod jwk_roundtrip;
pub mod proof_claims;
pub mod proof_verify;

// dpop-std
pub mod authorization_header;
pub mod nonce_validate;
pub mod telemetry_claimed;
pub mod token_response;
pub mod www_authenticate;

// dpop-reqwest (and dpop-std's challenge parser)
pub mod challenges;
pub mod grant_responses;
pub mod redirect;

// dpop-axum
#[cfg(feature = "jwt")]
pub mod jwt_claims;
pub mod resolver_claims;

/// A target's entry point.
pub type Target = fn(&[u8]);

/// Every target: its name (the binary and the corpus directory) and its entry point.
pub const TARGETS: &[(&str, Target)] = &[
    ("proof_verify", proof_verify::run),
    ("proof_claims", proof_claims::run),
    ("jwk_roundtrip", jwk_roundtrip::run),
    ("htu", htu::run),
    ("json_vs_serde", json_vs_serde::run),
    ("create_verify", create_verify::run),
    ("nonce_validate", nonce_validate::run),
    ("authorization_header", authorization_header::run),
    ("www_authenticate", www_authenticate::run),
    ("token_response", token_response::run),
    ("redirect", redirect::run),
    ("challenges", challenges::run),
    ("grant_responses", grant_responses::run),
    ("resolver_claims", resolver_claims::run),
    ("telemetry_claimed", telemetry_claimed::run),
    #[cfg(feature = "jwt")]
    ("jwt_claims", jwt_claims::run),
];

/// Targets built only with a feature of this package (`jwt`), so left out of [`TARGETS`]
/// without it, and out of the CI smoke.
pub const FEATURE_TARGETS: &[&str] = &["jwt_claims"];
