//! dpop-redis's integration tests, in one binary (house style B5): the replay cache through a
//! standalone Redis and, with the `cluster` feature, through a three-primary Redis Cluster.

#![allow(
    clippy::unwrap_used,
    reason = "test code, with the server helpers shared with the fleet tests: a broken fixture should panic"
)]

#[path = "../support/servers.rs"]
mod servers;

#[cfg(feature = "cluster")]
mod cluster;
mod common;
mod standalone;
