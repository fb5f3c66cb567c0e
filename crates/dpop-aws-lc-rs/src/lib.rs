#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
// Unit tests run with std; the hygiene lints are for the library itself.
#![cfg_attr(test, allow(clippy::std_instead_of_alloc, clippy::std_instead_of_core))]

// This crate links std (AWS-LC needs it); naming `alloc` keeps the workspace's
// `std_instead_of_alloc` lint satisfied for `Arc`.
extern crate alloc;

mod cache;
mod provider;
mod sign;
mod verify;

use dpop_core::crypto::VerifyAlgorithm;

pub use cache::{CAPACITY, CachedAwsLcVerifier, SHARDS, WAYS};
pub use provider::{AwsLcProvider, PROVIDER};
pub use sign::AwsLcSigningKey;
pub use verify::{
    AwsLcEs256, AwsLcEs384, AwsLcEs512, ES256_VERIFIER, ES384_VERIFIER, ES512_VERIFIER,
};

/// The aws-lc-rs verifiers for every algorithm, for
/// [`Verifier::new`](dpop_core::Verifier::new). A server that wants fewer lists them
/// itself.
pub const ALL_VERIFIERS: &[&dyn VerifyAlgorithm] =
    &[ES256_VERIFIER, ES384_VERIFIER, ES512_VERIFIER];
