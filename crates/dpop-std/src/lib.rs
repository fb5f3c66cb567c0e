#![doc = include_str!("../README.md")]

pub mod clock;
pub mod nonce;
pub mod replay;
pub mod server;
pub mod wire;

pub use clock::{Clock, ManualClock, SystemClock};
pub use dpop_core;
