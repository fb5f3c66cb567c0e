//! `json_vs_serde`: dpop-core's strict JSON reader against serde_json.
//!
//! - Whatever dpop-core accepts, serde_json accepts too, and both see the same value. Numbers
//!   are compared by parsing dpop-core's number text with serde_json; objects are compared as
//!   maps (dpop-core rejects duplicate names, so it must never report one). The one exception is
//!   a number serde_json cannot represent (`1e400`): dpop-core keeps numbers as text.
//! - Conversely, a document serde_json accepts must be accepted by dpop-core unless one of its
//!   documented restrictions applies: the top level is not an object, a duplicate member name,
//!   nesting deeper than 16, or more than 64 members in one object.

use std::collections::HashSet;
use std::fmt;

use dpop_core::fuzzing::{Json, parse_json};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::oracle::is_number_out_of_range;

/// Deepest nesting dpop-core accepts (the top-level object is depth 1).
const MAX_DEPTH: usize = 16;
/// Most members dpop-core accepts in one object.
const MAX_MEMBERS: usize = 64;

/// The target.
pub fn run(data: &[u8]) {
    // serde_json's `raw_value` reading of `$serde_json::private::RawValue` (see the oracle).
    if crate::oracle::has_raw_value_token(data) {
        return;
    }
    let ours = parse_json(data);
    let theirs = serde_json::from_slice::<Value>(data);
    match (&ours, &theirs) {
        (Some(ours), Ok(theirs)) => {
            assert!(matches!(ours, Json::Object(_)), "top level is an object");
            same(ours, theirs);
        }
        (Some(ours), Err(e)) => {
            assert!(
                is_number_out_of_range(e) && has_huge_number(ours),
                "dpop-core accepts what serde_json rejects ({e}): {ours:?}"
            );
        }
        (None, Ok(_)) => {
            let shape = serde_json::from_slice::<Shape>(data).expect("serde_json accepted it");
            let explained = !shape.is_object
                || shape.duplicate
                || shape.depth > MAX_DEPTH
                || shape.members > MAX_MEMBERS;
            assert!(
                explained,
                "dpop-core rejects valid JSON within its limits: {:?}",
                String::from_utf8_lossy(data)
            );
        }
        (None, Err(_)) => {}
    }
}

/// Asserts that both readers see the same value.
fn same(ours: &Json, theirs: &Value) {
    match (ours, theirs) {
        (Json::Null, Value::Null) => {}
        (Json::Bool(a), Value::Bool(b)) => assert_eq!(a, b),
        (Json::Number(text), Value::Number(n)) => {
            let parsed: Value = serde_json::from_str(text)
                .unwrap_or_else(|e| panic!("number text {text:?} does not parse: {e}"));
            assert_eq!(&parsed, theirs, "number {text:?}");
            assert!(
                matches!(parsed, Value::Number(_)),
                "number text {text:?} is a {parsed:?}"
            );
            let _ = n;
        }
        (Json::String(a), Value::String(b)) => assert_eq!(a, b, "string"),
        (Json::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "array length");
            for (x, y) in a.iter().zip(b) {
                same(x, y);
            }
        }
        (Json::Object(a), Value::Object(b)) => {
            let names: HashSet<&str> = a.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(
                names.len(),
                a.len(),
                "dpop-core reported a duplicate name: {a:?}"
            );
            assert_eq!(a.len(), b.len(), "member count");
            for (name, value) in a {
                let other = b
                    .get(name)
                    .unwrap_or_else(|| panic!("member {name:?} missing"));
                same(value, other);
            }
        }
        _ => panic!("different values: {ours:?} vs {theirs:?}"),
    }
}

/// True when the value holds a number serde_json cannot represent.
fn has_huge_number(value: &Json) -> bool {
    match value {
        Json::Number(text) => serde_json::from_str::<Value>(text).is_err(),
        Json::Array(a) => a.iter().any(has_huge_number),
        Json::Object(o) => o.iter().any(|(_, v)| has_huge_number(v)),
        _ => false,
    }
}

/// What dpop-core's limits look at, measured by serde_json.
#[derive(Debug, Default)]
struct Shape {
    is_object: bool,
    duplicate: bool,
    depth: usize,
    members: usize,
}

impl Shape {
    fn merge(&mut self, child: &Self) {
        self.duplicate |= child.duplicate;
        self.depth = self.depth.max(child.depth + 1);
        self.members = self.members.max(child.members);
    }
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ShapeVisitor)
    }
}

struct ShapeVisitor;

impl<'de> Visitor<'de> for ShapeVisitor {
    type Value = Shape;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_i64<E>(self, _: i64) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_u64<E>(self, _: u64) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_str<E>(self, _: &str) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_unit<E>(self) -> Result<Shape, E> {
        Ok(Shape::default())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        let mut shape = Shape {
            depth: 1,
            ..Shape::default()
        };
        while let Some(child) = seq.next_element::<Shape>()? {
            shape.merge(&child);
        }
        Ok(shape)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let mut shape = Shape {
            is_object: true,
            depth: 1,
            ..Shape::default()
        };
        let mut names = HashSet::new();
        let mut count = 0;
        while let Some(name) = map.next_key::<String>()? {
            let child = map.next_value::<Shape>()?;
            shape.duplicate |= !names.insert(name);
            shape.merge(&child);
            count += 1;
        }
        shape.members = shape.members.max(count);
        Ok(shape)
    }
}
