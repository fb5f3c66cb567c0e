//! dpop-core integration tests: one binary (see the house style on test layout).

// Test code: panicking on a broken fixture is the point, and std is available.
#![allow(
    clippy::unwrap_used,
    clippy::unwrap_in_result,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::indexing_slicing
)]

mod alloc_free;
mod common;
mod device;
mod fuzz_regressions;
mod limits;
mod malformed;
mod rfc7638;
mod rfc9449;
mod roundtrip;
mod wycheproof;
