#![no_std]
#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
// Unit tests run with std; the no_std hygiene lints are for the library itself.
#![cfg_attr(test, allow(clippy::std_instead_of_alloc, clippy::std_instead_of_core))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod alg;
mod base64url;
pub mod claims;
pub mod error;
pub mod htu;
mod json;
pub mod jwk;
mod jws;
#[cfg(any(feature = "es256", feature = "es384", feature = "es512"))]
pub mod key;
pub mod proof;
pub mod thumbprint;
pub mod time;
