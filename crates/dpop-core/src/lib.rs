#![no_std]
#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
// no_std hygiene: what `core` has comes from `core`, what `alloc` has from `alloc`. Set here,
// not for the workspace: the std crates have no reason to name `alloc`.
#![warn(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::alloc_instead_of_core
)]
// Unit tests run with std; the no_std hygiene lints are for the library itself.
#![cfg_attr(test, allow(clippy::std_instead_of_alloc, clippy::std_instead_of_core))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(test)]
extern crate std;

mod alg;
mod base64url;
mod claims;
pub mod crypto;
mod curve;
mod error;
mod htu;
mod json;
mod jwk;
mod jws;
#[cfg(any(feature = "es256", feature = "es384", feature = "es512"))]
mod key;
mod proof;
mod thumbprint;
mod time;
mod writer;

// The paved path: every type a caller names, at the crate root and nowhere else.
pub use alg::Algorithm;
pub use claims::{AccessTokenHash, HttpMethod, InvalidAccessTokenHash, InvalidClaimValue, ProofId};
pub use curve::Curve;
pub use error::{
    BufferTooSmall, Claim, CreateError, Error, InvalidSignature, JwkError, JwkMember, KeyError,
    Limit, Malformed, SignError, SignatureCheckError, VerifyError,
};
pub use htu::{TargetUri, UriError};
pub use jwk::PublicJwk;
#[cfg(any(feature = "es256", feature = "es384", feature = "es512"))]
pub use key::SigningKey;
pub use proof::create::NewProof;
pub use proof::verify::{
    Expected, InvalidReplayKey, Limits, NonceContext, NonceStatus, NonceValidator, ReplayKey,
    VerifiedProof, Verifier, VerifierSettings, VerifyFailure,
};
pub use thumbprint::{InvalidThumbprint, Thumbprint};
pub use time::UnixTime;

/// Sizes, defaults and wire strings: the bounds a caller sizes buffers with.
pub mod consts {
    pub use crate::claims::{MAX_JTI_LEN, MAX_METHOD_LEN, MAX_NONCE_LEN};
    pub use crate::crypto::MAX_SIGNATURE_LEN;
    pub use crate::error::{INVALID_DPOP_PROOF, USE_DPOP_NONCE};
    pub use crate::htu::MAX_URI_LEN;
    pub use crate::jwk::MAX_JWK_JSON_LEN;
    #[cfg(any(feature = "es256", feature = "es384", feature = "es512"))]
    pub use crate::key::MAX_PRIVATE_JWK_LEN;
    pub use crate::proof::verify::{DEFAULT_LEEWAY, DEFAULT_MAX_AGE, NONCE_IAT_BOUND};
    pub use crate::proof::{MAX_PROOF_LEN, TYPE};
}

pub use claims::is_valid_nonce;
pub use htu::canonicalize_uri;

/// Internals exposed to the fuzz targets only (feature `__fuzzing-internals`); not a public API.
#[cfg(feature = "__fuzzing-internals")]
#[doc(hidden)]
pub mod fuzzing {
    use alloc::string::String;
    use alloc::vec::Vec;

    /// A JSON value as the crate's strict reader sees it.
    #[derive(Debug, Clone, PartialEq)]
    #[allow(missing_docs, clippy::exhaustive_enums, clippy::use_self)]
    pub enum Json {
        Null,
        Bool(bool),
        /// The number's text, as written.
        Number(String),
        String(String),
        Array(Vec<Json>),
        Object(Vec<(String, Json)>),
    }

    /// Parses `input` with the strict reader; `None` when it rejects the document.
    #[must_use]
    pub fn parse_json(input: &[u8]) -> Option<Json> {
        let object = crate::json::parse_object(input).ok()?;
        Some(convert(crate::json::Value::Object(object)))
    }

    fn text(s: crate::json::JsonStr<'_>) -> String {
        String::from_utf8(s.bytes().collect()).unwrap_or_default()
    }

    fn convert(value: crate::json::Value<'_>) -> Json {
        use crate::json::Value;
        match value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(b),
            Value::Number(n) => Json::Number(String::from(n.as_str())),
            Value::String(s) => Json::String(text(s)),
            Value::Array(a) => Json::Array(a.elements().map(convert).collect()),
            Value::Object(o) => {
                Json::Object(o.members().map(|(k, v)| (text(k), convert(v))).collect())
            }
        }
    }
}
