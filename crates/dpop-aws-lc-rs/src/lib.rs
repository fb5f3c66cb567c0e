#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
// Unit tests run with std; the hygiene lints are for the library itself.
#![cfg_attr(test, allow(clippy::std_instead_of_alloc, clippy::std_instead_of_core))]

// This crate links std (AWS-LC needs it); naming `alloc` keeps the workspace's
// `std_instead_of_alloc` lint satisfied for `Arc`.
extern crate alloc;

mod cache;
mod sign;
mod verify;

use dpop_core::alg::VerifyAlgorithm;

pub use cache::{CAPACITY, CachedAwsLcVerifier, SHARDS, WAYS};
pub use sign::AwsLcSigningKey;
pub use verify::{AWS_LC_ES256, AWS_LC_ES384, AWS_LC_ES512, AwsLcEs256, AwsLcEs384, AwsLcEs512};

/// The aws-lc-rs verifiers for every algorithm, for
/// [`Verifier::new`](dpop_core::proof::Verifier::new). A server that wants fewer lists them
/// itself.
pub const ALL: &[&dyn VerifyAlgorithm] = &[AWS_LC_ES256, AWS_LC_ES384, AWS_LC_ES512];
