#![doc = include_str!("../README.md")]
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
