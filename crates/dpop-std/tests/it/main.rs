//! dpop-std integration tests: one binary, one module per area.

mod client;
mod common;
mod faults;
mod nonce;
mod replay;
mod server;
mod telemetry;
