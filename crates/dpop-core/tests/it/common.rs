//! Keys, fixtures and a raw JWS signer for building proofs broken in exactly one way.

use base64ct::{Base64UrlUnpadded, Encoding as _};
use dpop_core::{Algorithm, SigningKey, consts::MAX_JWK_JSON_LEN, crypto::ProofSigner};

pub(crate) fn key(alg: Algorithm) -> SigningKey {
    let len = alg.curve().coordinate_len();
    let mut scalar = vec![0x5Au8; len];
    scalar[0] = 0x01;
    SigningKey::from_bytes(alg, &scalar).unwrap()
}

pub(crate) fn jwk_json(key: &SigningKey) -> String {
    let mut buf = [0u8; MAX_JWK_JSON_LEN];
    key.public_jwk().write_json(&mut buf).unwrap().to_string()
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// Signs arbitrary header and payload text, so a test can break one rule and keep a valid
/// signature.
pub(crate) fn sign_raw(key: &SigningKey, header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let mut sig = [0u8; 132];
    let n = key.try_sign(&[input.as_bytes()], &mut sig).unwrap();
    format!("{input}.{}", b64(&sig[..n]))
}

pub(crate) fn header_for(key: &SigningKey) -> String {
    format!(
        r#"{{"typ":"dpop+jwt","alg":"{}","jwk":{}}}"#,
        key.algorithm().name(),
        jwk_json(key)
    )
}

pub(crate) const NOW: u64 = 1_700_000_000;
pub(crate) const URL: &str = "https://api.example.com/v1/items";
pub(crate) const TOKEN: &str = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";
pub(crate) const ATH: &str = "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo";

pub(crate) fn payload() -> String {
    format!(r#"{{"jti":"j-1","htm":"GET","htu":"{URL}","iat":{NOW},"ath":"{ATH}"}}"#)
}

pub(crate) fn vectors() -> serde_json::Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/rfc9449-examples.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}
