//! The JWT and introspection resolvers against local JWKS, metadata and introspection servers
//! on 127.0.0.1.

#![allow(
    clippy::unwrap_used,
    clippy::unwrap_in_result,
    clippy::indexing_slicing,
    clippy::missing_panics_doc,
    reason = "test code: a broken fixture should panic"
)]

mod common;
mod introspection;
mod jwt;
