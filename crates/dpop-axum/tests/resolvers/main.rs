//! The JWT and introspection resolvers against local JWKS, metadata and introspection servers
//! on 127.0.0.1. One binary (house style B5).

#![allow(
    clippy::unwrap_used,
    clippy::unwrap_in_result,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::indexing_slicing,
    clippy::missing_panics_doc,
    reason = "test code: a broken fixture should panic, and std is available"
)]

mod common;
mod introspection;
mod jwt;
