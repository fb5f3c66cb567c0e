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
