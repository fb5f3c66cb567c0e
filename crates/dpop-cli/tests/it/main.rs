//! dpop-cli's integration tests, in one binary (house style B5): the command-line contract, the
//! `dpop demo` flow (feature `demo`) and `dpop serve` (feature `serve`), each run as the built
//! `dpop` binary.

mod cli;
#[cfg(feature = "demo")]
mod demo_flow;
#[cfg(feature = "serve")]
mod serve;
