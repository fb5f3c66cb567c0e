//! Independent checks of a proof that verified: the proof is re-read with `base64ct` and
//! `serde_json` (not dpop-core's own decoders), and every claim the verifier vouched for is
//! compared with what that second reader sees.

use base64ct::{Base64UrlUnpadded, Encoding as _};
use dpop_core::{
    AccessTokenHash, PublicJwk, Thumbprint, VerifiedProof, Verifier, canonicalize_uri,
    consts::{MAX_JTI_LEN, MAX_URI_LEN},
};
use serde_json::{Map, Value};

use crate::fixtures::Context;

/// Parses `bytes` with `serde_json`. `None` only when serde_json refuses a number it cannot
/// represent (`1e400`): dpop-core keeps numbers as text, so it rightly accepts those.
///
/// # Panics
///
/// On any other serde_json error: callers only pass documents dpop-core accepted.
#[must_use]
pub fn serde_reads(bytes: &[u8], what: &str) -> Option<Value> {
    if has_raw_value_token(bytes) {
        return None;
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => Some(value),
        Err(e) if is_number_out_of_range(&e) => None,
        Err(e) => panic!("dpop-core accepted {what} that serde_json rejects: {e}"),
    }
}

/// The member name serde_json's `raw_value` feature reserves.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// True when serde_json cannot be an oracle for `bytes`: with its `raw_value` feature (on in
/// this package, because dpop-reqwest needs it), serde_json reads an object whose first member
/// is named `$serde_json::private::RawValue` as the JSON text held in that member's string, and
/// refuses it when that member is not a string. dpop-core rightly sees an ordinary member.
/// Detected in dpop-core's reading (any depth, escaped names included), or by the bytes when
/// dpop-core refuses the document.
#[must_use]
pub fn has_raw_value_token(bytes: &[u8]) -> bool {
    use dpop_core::fuzzing::{Json, parse_json};
    fn walk(json: &Json) -> bool {
        match json {
            Json::Object(members) => {
                members
                    .first()
                    .is_some_and(|(name, _)| name == RAW_VALUE_TOKEN)
                    || members.iter().any(|(_, v)| walk(v))
            }
            Json::Array(items) => items.iter().any(walk),
            _ => false,
        }
    }
    match parse_json(bytes) {
        Some(json) => walk(&json),
        None => bytes.windows(8).any(|w| w == b"RawValue"),
    }
}

/// serde_json (without `arbitrary_precision`) rejects numbers that overflow `f64`.
#[must_use]
pub fn is_number_out_of_range(e: &serde_json::Error) -> bool {
    e.to_string().starts_with("number out of range")
}

/// Checks a proof that `verifier` accepted for `ctx` (with `bound_key`, if any).
pub fn check_verified(
    proof: &str,
    ctx: &Context,
    bound_key: Option<&Thumbprint>,
    verifier: &Verifier<'_>,
    verified: &VerifiedProof<'_>,
) {
    let segments: Vec<&str> = proof.split('.').collect();
    assert_eq!(segments.len(), 3, "a verified proof has three segments");
    let header = Base64UrlUnpadded::decode_vec(segments[0]).expect("header is base64url");
    let payload = Base64UrlUnpadded::decode_vec(segments[1]).expect("payload is base64url");
    let signature = Base64UrlUnpadded::decode_vec(segments[2]).expect("signature is base64url");
    assert_eq!(
        signature.len(),
        verified.algorithm().signature_len(),
        "signature length"
    );

    // Header (RFC 9449 section 4.3 checks 4-6).
    let Some(Value::Object(header)) = serde_reads(&header, "a proof header") else {
        // A header with an out-of-range number in an unknown member: nothing more to compare.
        return;
    };
    let typ = string(&header, "typ")
        .expect("typ is a string")
        .to_ascii_lowercase();
    assert!(
        typ == "dpop+jwt" || typ == "application/dpop+jwt",
        "typ {typ:?}"
    );
    assert_eq!(
        string(&header, "alg"),
        Some(verified.algorithm().name()),
        "alg"
    );
    assert!(!header.contains_key("crit"), "crit must be rejected");
    let jwk = header.get("jwk").expect("jwk");
    let jwk = PublicJwk::from_json(jwk.to_string().as_bytes()).expect("jwk re-parses");
    assert_eq!(&jwk, verified.public_jwk(), "jwk");
    assert_eq!(
        jwk.curve(),
        verified.algorithm().curve(),
        "alg matches the key's curve"
    );
    assert_eq!(&jwk.thumbprint(), verified.thumbprint(), "thumbprint");
    if let Some(bound) = bound_key {
        assert_eq!(bound, verified.thumbprint(), "bound key");
    }

    // Payload.
    let Some(Value::Object(payload)) = serde_reads(&payload, "a proof payload") else {
        return;
    };
    let jti = string(&payload, "jti").expect("jti is a string");
    assert!(!jti.is_empty(), "jti is non-empty");
    assert!(
        !jti.chars().any(char::is_control),
        "jti has no control characters"
    );
    assert!(jti.len() <= MAX_JTI_LEN, "jti within its limit");
    assert_eq!(jti, verified.id(), "jti");

    let htm = string(&payload, "htm").expect("htm is a string");
    assert_eq!(htm, ctx.method, "htm equals the request method");
    assert_eq!(verified.method().as_str(), ctx.method, "method");

    let htu = string(&payload, "htu").expect("htu is a string");
    assert!(
        !htu.contains(['?', '#']),
        "an htu with a query or fragment is invalid: {htu:?}"
    );
    let (mut a, mut b) = ([0u8; MAX_URI_LEN], [0u8; MAX_URI_LEN]);
    let claimed = canonicalize_uri(htu, &mut a).expect("htu canonicalizes");
    let requested = canonicalize_uri(ctx.uri, &mut b).expect("request URI canonicalizes");
    assert_eq!(claimed, requested, "htu matches the request URI");
    assert_eq!(verified.uri().as_str(), ctx.uri, "uri");

    let iat = numeric_date(payload.get("iat").expect("iat is present"));
    assert!(
        iat.abs_diff(verified.issued_at().as_secs()) <= 1,
        "iat {iat} is not the integer part"
    );
    let iat = verified.issued_at().as_secs();
    let earliest = ctx
        .now
        .saturating_sub(verifier.max_age().saturating_add(verifier.leeway()));
    let latest = ctx.now.saturating_add(verifier.leeway());
    assert!(
        (earliest..=latest).contains(&iat),
        "iat {iat} outside [{earliest}, {latest}]"
    );
    if let Some(exp) = payload.get("exp") {
        // The integer part; serde's f64 may round a long fraction up by one.
        let exp = numeric_date(exp).saturating_sub(1);
        assert!(
            exp.saturating_add(verifier.leeway()) >= ctx.now,
            "expired proof accepted"
        );
    }

    let nonce = payload
        .get("nonce")
        .map(|n| n.as_str().expect("nonce is a string"));
    assert_eq!(nonce, verified.nonce(), "nonce");
    if let Some(want) = ctx.nonce {
        assert_eq!(nonce, Some(want), "the required nonce");
    }

    let ath = payload
        .get("ath")
        .map(|a| a.as_str().expect("ath is a string"));
    if let Some(token) = ctx.access_token {
        let want = AccessTokenHash::of(token).to_string();
        assert_eq!(ath, Some(want.as_str()), "ath is the token's hash");
    }
    assert_eq!(
        ath.map(str::to_owned),
        verified.access_token_hash().map(ToString::to_string),
        "ath"
    );
}

fn string<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    object.get(name).and_then(Value::as_str)
}

/// A non-negative NumericDate (RFC 7519 section 2) by its integer part; serde reads non-integers
/// as `f64`, exact enough for the oracle's comparisons within one second.
fn numeric_date(value: &Value) -> u64 {
    if let Some(n) = value.as_u64() {
        return n;
    }
    let f = value.as_f64().expect("a NumericDate is a number");
    assert!(f >= 0.0, "a NumericDate is not negative");
    // Saturating float-to-int conversion: values above u64::MAX were rejected by the verifier.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let n = f as u64;
    n
}
