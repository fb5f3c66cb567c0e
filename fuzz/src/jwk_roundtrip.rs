//! `jwk_roundtrip`: `PublicJwk::from_json` on arbitrary bytes.
//!
//! When a key parses: `write_json` then `from_json` gives an equal key with an identical
//! serialization and thumbprint; the thumbprint is SHA-256 of that serialization (RFC 7638: it
//! is the canonical form, members sorted, no whitespace); too-small buffers give an error, not a
//! panic; and serde_json reads the same `kty`, `crv`, `x` and `y` from the input.

use base64ct::{Base64UrlUnpadded, Encoding as _};
use dpop_core::{PublicJwk, consts::MAX_JWK_JSON_LEN};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::oracle::serde_reads;

/// The target.
pub fn run(data: &[u8]) {
    let Ok(jwk) = PublicJwk::from_json(data) else {
        return;
    };
    let mut buf = [0u8; MAX_JWK_JSON_LEN];
    let json = jwk
        .write_json(&mut buf)
        .expect("MAX_JWK_JSON_LEN fits any key")
        .to_owned();
    let again = PublicJwk::from_json(json.as_bytes()).expect("own output parses");
    assert_eq!(again, jwk, "round trip changes the key");
    let mut buf2 = [0u8; MAX_JWK_JSON_LEN];
    assert_eq!(again.write_json(&mut buf2).unwrap(), json, "serialization");
    assert_eq!(again.thumbprint(), jwk.thumbprint(), "thumbprint");
    let digest: [u8; 32] = Sha256::digest(json.as_bytes()).into();
    assert_eq!(jwk.thumbprint().as_bytes(), &digest, "RFC 7638 thumbprint");
    assert_eq!(
        jwk.thumbprint().to_string(),
        Base64UrlUnpadded::encode_string(&digest),
        "thumbprint text"
    );
    for short in [0, 1, json.len() / 2, json.len() - 1] {
        assert!(jwk.write_json(&mut buf[..short]).is_err(), "short buffer");
    }
    let _ = format!("{jwk:?}");

    // A second reader agrees on what the key is.
    let Some(value) = serde_reads(data, "a JWK") else {
        return;
    };
    assert_eq!(value["kty"], "EC", "kty");
    assert_eq!(value["crv"], jwk.curve().name(), "crv");
    for (member, bytes) in [("x", jwk.x()), ("y", jwk.y())] {
        let text = value[member].as_str().expect("coordinate is a string");
        let decoded = Base64UrlUnpadded::decode_vec(text).expect("coordinate is base64url");
        assert_eq!(decoded, bytes, "{member}");
        assert_eq!(bytes.len(), jwk.curve().coordinate_len(), "{member} length");
    }
    for private in ["d", "p", "q", "dp", "dq", "qi", "k", "oth"] {
        assert!(
            value.get(private).is_none(),
            "private member {private} accepted"
        );
    }
    assert!(matches!(value, Value::Object(_)));
}
