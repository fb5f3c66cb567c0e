#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod cache;
mod error;

pub use cache::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_EXPIRY_MARGIN, DEFAULT_KEY_PREFIX, DEFAULT_TIMEOUT,
    RedisReplayCache, RedisReplayCacheBuilder,
};
pub use error::{ConnectError, ConnectErrorKind};
/// The `redis` crate this one is built on, so callers can name the same version's connection
/// types (for example `redis::cluster_async::ClusterConnection`, after enabling its feature).
pub use redis;
