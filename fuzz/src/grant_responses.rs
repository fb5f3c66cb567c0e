//! `grant_responses` (dpop-reqwest): the token and device endpoints' responses as the grants
//! read them.
//!
//! Input: one byte for the HTTP status (`300 + byte`), then the body.
//!
//! - An error response (`error_response`) is `AuthError::OAuth` exactly when dpop-std's
//!   `ErrorBody::from_json` reads the body, with the same status, `error` and
//!   `error_description`, and its `Display` names the status and the error; anything else is
//!   `UnexpectedResponse` with the status.
//! - A device authorization response (RFC 8628 section 3.2) is accepted exactly when a model
//!   written over serde_json's raw members says so: an object with each member at most once,
//!   `device_code`, `user_code`, `verification_uri` strings, `expires_in` a non-negative integer,
//!   `verification_uri_complete` a string or null or absent, `interval` a non-negative integer
//!   or null or absent, other members ignored (or the six values as an array, in order, which
//!   serde's derive accepts too); and the values read are the model's.

use core::fmt;

use dpop_reqwest::__fuzzing::{device_response, error_response};
use dpop_reqwest::grants::AuthError;
use dpop_std::wire::ErrorBody;
use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A JSON object's members in order, duplicates kept; or an array's elements.
enum Raw {
    Object(Vec<(String, Scalar)>),
    Array(Vec<Scalar>),
}

/// A member's value as far as the model needs it. Not `serde_json::Value`: with serde_json's
/// `raw_value` feature, a `Value` reads `{"$serde_json::private::RawValue":"\"x\""}` as the
/// string `x`, where a `String` field refuses the object.
#[derive(Debug)]
enum Scalar {
    Str(String),
    U64(u64),
    Null,
    Other,
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl<'de> Visitor<'de> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Str(v.to_owned()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::U64(v))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Scalar, E> {
                Ok(Scalar::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Scalar, E> {
                Ok(Scalar::Other)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Scalar, E> {
                Ok(Scalar::Other)
            }
            fn visit_unit<E>(self) -> Result<Scalar, E> {
                Ok(Scalar::Null)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RawVisitor;
        impl<'de> Visitor<'de> for RawVisitor {
            type Value = Raw;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object or an array")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
                let mut members = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    // Like serde's derive, skip unknown members without building a value
                    // (serde_json's `Value` refuses numbers such as `1e400` that skipping
                    // accepts).
                    if FIELDS.contains(&name.as_str()) {
                        members.push((name, map.next_value::<Scalar>()?));
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(Raw::Object(members))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Scalar>()? {
                    items.push(item);
                }
                Ok(Raw::Array(items))
            }
        }
        deserializer.deserialize_any(RawVisitor)
    }
}

const FIELDS: [&str; 6] = [
    "device_code",
    "user_code",
    "verification_uri",
    "verification_uri_complete",
    "expires_in",
    "interval",
];

type Device = (String, String, String, Option<String>, u64, Option<u64>);

fn string(v: &Scalar) -> Option<String> {
    match v {
        Scalar::Str(s) => Some(s.clone()),
        _ => None,
    }
}

fn number(v: &Scalar) -> Option<u64> {
    match v {
        Scalar::U64(n) => Some(*n),
        _ => None,
    }
}

fn optional<T>(v: Option<&Scalar>, read: impl Fn(&Scalar) -> Option<T>) -> Option<Option<T>> {
    match v {
        None | Some(Scalar::Null) => Some(None),
        Some(v) => read(v).map(Some),
    }
}

fn model(body: &[u8]) -> Option<Device> {
    let raw: Raw = serde_json::from_slice(body).ok()?;
    let fields = FIELDS;
    let values: Vec<Option<&Scalar>> = match &raw {
        Raw::Object(members) => {
            let mut values = Vec::new();
            for field in fields {
                let mut found = members.iter().filter(|(n, _)| n == field);
                let first = found.next().map(|(_, v)| v);
                if found.next().is_some() {
                    return None; // a duplicate field
                }
                values.push(first);
            }
            values
        }
        Raw::Array(items) if items.len() == fields.len() => items.iter().map(Some).collect(),
        Raw::Array(_) => return None,
    };
    Some((
        string(values[0]?)?,
        string(values[1]?)?,
        string(values[2]?)?,
        optional(values[3], string)?,
        number(values[4]?)?,
        optional(values[5], number)?,
    ))
}

/// The target.
pub fn run(data: &[u8]) {
    let Some((&status, body)) = data.split_first() else {
        return;
    };
    let status = 300 + u16::from(status);
    match (error_response(status, body), ErrorBody::from_json(body)) {
        (AuthError::OAuth(e), Ok(expected)) => {
            assert_eq!(e.status(), status);
            assert_eq!(e.error(), expected.error);
            assert_eq!(e.description(), expected.error_description.as_deref());
            let shown = e.to_string();
            assert!(shown.starts_with(&format!("{status} {}", expected.error)));
        }
        (AuthError::UnexpectedResponse { status: s }, Err(_)) => assert_eq!(s, status),
        (other, parsed) => panic!("error_response {other:?} for ErrorBody {parsed:?}"),
    }
    let expected = model(body);
    let got = device_response(body);
    assert_eq!(got, expected, "device response");
}
