//! dpop-reqwest's integration tests, in one binary (house style B5): the client against local
//! servers on 127.0.0.1, one signature per request sent, and the token manager and grants
//! (feature `es256`).

mod client;
mod signatures;
#[cfg(feature = "es256")]
mod tokens;
