//! Fixtures more than one area of these tests needs and dpop-testkit does not hold.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a broken fixture is the failure report"
)]

use base64ct::{Base64UrlUnpadded, Encoding};
use dpop_core::SigningKey;
use dpop_core::crypto::ProofSigner;

/// Signs an arbitrary payload under an ES256 `dpop+jwt` header carrying `key`'s JWK: proofs
/// dpop-core's creation API refuses to make.
pub(crate) fn raw_proof(key: &SigningKey, payload: &str) -> String {
    let b64 = |bytes: &[u8]| Base64UrlUnpadded::encode_string(bytes);
    let mut jwk = [0u8; 512];
    let jwk = key.public_jwk().write_json(&mut jwk).unwrap();
    let header = format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk}}}"#);
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let mut signature = [0u8; 132];
    let n = key.try_sign(&[input.as_bytes()], &mut signature).unwrap();
    format!("{input}.{}", b64(&signature[..n]))
}
