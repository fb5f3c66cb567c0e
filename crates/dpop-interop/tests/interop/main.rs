//! dpop-core against other implementations: panva's `jose` and `dpop` (Node.js, through
//! `npm/interop.mjs`) and the `jsonwebtoken` crate. One binary (house style B5).

#![allow(
    clippy::unwrap_used,
    clippy::unwrap_in_result,
    clippy::indexing_slicing,
    reason = "test code: a broken fixture or peer should panic"
)]

mod common;
mod jsonwebtoken_crate;
mod node;
mod oidc_provider;
mod panva;
mod readme;
