//! dpop-core against the `jsonwebtoken` crate 11 (its aws-lc-rs backend): ES256 and ES384
//! proofs both ways, and RFC 7638 thumbprints for all three curves. jsonwebtoken has no ES512
//! signatures, so P-521 is covered by thumbprints only.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
    EcdsaSigningAlgorithm,
};
use dpop_core::{Algorithm, Claim, PublicJwk, VerifyError, consts::MAX_JWK_JSON_LEN};
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{
    Algorithm as JwtAlgorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header,
    encode,
};
use serde_json::{Value, json};

use crate::common::{
    LEADING_ZERO_KEYS, NONCE, NOW, Peer, Request, TOKEN, URL, ath, cases, key, key_with_counter,
    other_s, ours, verify_ours,
};

/// The two algorithms both implement.
const SHARED: [(Algorithm, JwtAlgorithm); 2] = [
    (Algorithm::Es256, JwtAlgorithm::ES256),
    (Algorithm::Es384, JwtAlgorithm::ES384),
];

/// jsonwebtoken's verification of a DPoP proof: the key from the header's `jwk`, the algorithm
/// fixed by the caller, no registered claim required.
fn jwt_verify(proof: &str, alg: JwtAlgorithm) -> Result<(Header, Value), String> {
    let header = decode_header(proof).map_err(|e| format!("decode_header: {e}"))?;
    let jwk = header.jwk.as_ref().ok_or("no jwk")?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("from_jwk: {e}"))?;
    let mut validation = Validation::new(alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    let data = decode::<Value>(proof, &key, &validation).map_err(|e| format!("decode: {e}"))?;
    Ok((data.header, data.claims))
}

fn jwt_thumbprint(json: &str) -> String {
    let jwk: Jwk = serde_json::from_str(json).unwrap();
    jwk.thumbprint(ThumbprintHash::SHA256).unwrap()
}

#[test]
fn proofs_made_by_ours_verify_with_jsonwebtoken() {
    for (alg, jwt_alg) in SHARED {
        for (seed, nonce, token) in [(0x11, None, None), (0x22, Some(NONCE), Some(TOKEN))] {
            let k = key(alg, seed);
            let proof = ours(&k, "jti-1", nonce, token);
            let (header, claims) = jwt_verify(&proof, jwt_alg).unwrap();
            assert_eq!(header.typ.as_deref(), Some("dpop+jwt"));
            assert_eq!(header.alg, jwt_alg);
            let jwk = header.jwk.unwrap();
            assert_eq!(
                jwk.thumbprint(ThumbprintHash::SHA256).unwrap(),
                k.public_jwk().thumbprint().to_string()
            );
            assert_eq!(claims["jti"], "jti-1");
            assert_eq!(claims["htm"], "GET");
            assert_eq!(claims["htu"], URL);
            assert_eq!(claims["iat"], NOW);
            assert_eq!(claims["nonce"].as_str(), nonce);
            assert_eq!(claims["ath"].as_str(), token.map(ath).as_deref());
            // aws-lc-rs, like RustCrypto, accepts both S of one signature.
            assert!(jwt_verify(&other_s(&proof, alg), jwt_alg).is_ok());
            // The algorithm is the caller's choice, not the header's.
            let other = if jwt_alg == JwtAlgorithm::ES256 {
                JwtAlgorithm::ES384
            } else {
                JwtAlgorithm::ES256
            };
            assert!(jwt_verify(&proof, other).is_err());
        }
    }
}

#[test]
fn es512_proofs_are_outside_jsonwebtoken() {
    // jsonwebtoken 11 has no ES512 `Algorithm`, so it cannot even read the header.
    let proof = ours(&key(Algorithm::Es512, 0x11), "jti-1", None, None);
    let err = decode_header(&proof).unwrap_err();
    // serde: "unknown variant `ES512`" for the header's `alg`.
    assert!(
        matches!(err.kind(), jsonwebtoken::errors::ErrorKind::Json(_))
            && err.to_string().contains("ES512"),
        "{err}"
    );
}

/// A fresh key pair from jsonwebtoken's backend, as jsonwebtoken takes it (PKCS#8 DER).
fn aws_lc_key(alg: &'static EcdsaSigningAlgorithm) -> EncodingKey {
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &SystemRandom::new()).unwrap();
    EncodingKey::from_ec_der(pkcs8.as_ref())
}

#[test]
fn proofs_made_by_jsonwebtoken_verify_with_ours() {
    for (alg, jwt_alg) in SHARED {
        let backend = match alg {
            Algorithm::Es256 => &ECDSA_P256_SHA256_FIXED_SIGNING,
            _ => &ECDSA_P384_SHA384_FIXED_SIGNING,
        };
        for round in 0..8 {
            let encoding_key = aws_lc_key(backend);
            // jsonwebtoken derives the public JWK from its own key (and adds `"alg"`).
            let jwk = Jwk::from_encoding_key(&encoding_key, jwt_alg).unwrap();
            let mut header = Header::new(jwt_alg);
            header.typ = Some("dpop+jwt".to_owned());
            header.jwk = Some(jwk.clone());
            let (nonce, token) = if round % 2 == 0 {
                (None, None)
            } else {
                (Some(NONCE), Some(TOKEN))
            };
            let mut claims =
                json!({"jti": format!("jwt-{round}"), "htm": "POST", "htu": URL, "iat": NOW});
            if let Some(nonce) = nonce {
                claims["nonce"] = nonce.into();
            }
            if let Some(token) = token {
                claims["ath"] = ath(token).into();
            }
            let proof = encode(&header, &claims, &encoding_key).unwrap();
            let request = Request {
                method: "POST",
                nonce,
                token,
                ..Request::DEFAULT
            };
            let verified =
                verify_ours(&proof, &request).unwrap_or_else(|e| panic!("{e:?}: {proof}"));
            assert_eq!(verified.algorithm(), alg);
            assert_eq!(
                verified.thumbprint().to_string(),
                jwk.thumbprint(ThumbprintHash::SHA256).unwrap()
            );
            assert_eq!(verified.id(), format!("jwt-{round}"));
            // Wrong request: rejected.
            let get = Request {
                method: "GET",
                ..request
            };
            assert_eq!(
                verify_ours(&proof, &get).unwrap_err(),
                VerifyError::Mismatch(Claim::Htm)
            );
            // A plain JWT header (`typ: JWT`, as `Header::new` makes) is not a DPoP proof.
            header.typ = Some("JWT".to_owned());
            let plain = encode(&header, &claims, &encoding_key).unwrap();
            assert_eq!(
                verify_ours(&plain, &request).unwrap_err(),
                VerifyError::Invalid(Claim::Typ)
            );
        }
    }
}

#[test]
fn thumbprints_agree_with_jsonwebtoken() {
    let mut keys: Vec<_> = LEADING_ZERO_KEYS
        .iter()
        .map(|&(alg, counter)| key_with_counter(alg, counter))
        .collect();
    for alg in Algorithm::ALL {
        keys.extend((1..=16).map(|seed| key(alg, seed)));
    }
    for k in &keys {
        let mut buf = [0u8; MAX_JWK_JSON_LEN];
        let json = k.public_jwk().write_json(&mut buf).unwrap();
        assert_eq!(
            jwt_thumbprint(json),
            k.public_jwk().thumbprint().to_string(),
            "{json}"
        );
    }
    // The RFC 9449 section 4.1 example key, members in its order.
    let rfc = concat!(
        r#"{"kty":"EC","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","#,
        r#""y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA","crv":"P-256"}"#
    );
    assert_eq!(
        jwt_thumbprint(rfc),
        "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
    );
    assert_eq!(
        PublicJwk::from_json(rfc.as_bytes())
            .unwrap()
            .thumbprint()
            .to_string(),
        jwt_thumbprint(rfc)
    );
}

#[test]
fn proofs_broken_in_one_way_are_rejected_by_both() {
    let mut compared = 0;
    let mut differ = Vec::new();
    for (alg, jwt_alg) in SHARED {
        for case in cases(&key(alg, 0x5A)) {
            let name = format!("{} {}", alg.name(), case.name);
            let ours = verify_ours(&case.proof, &Request::DEFAULT).map(|_| ());
            assert_eq!(ours, case.ours, "ours, {name}");
            let Some(expected) = case.jsonwebtoken else {
                continue;
            };
            let theirs = jwt_verify(&case.proof, jwt_alg);
            let peer = if theirs.is_ok() {
                Peer::Accepts
            } else {
                Peer::Rejects
            };
            assert_eq!(peer, expected, "jsonwebtoken, {name}: {theirs:?}");
            compared += 1;
            if ours.is_ok() != theirs.is_ok() {
                let theirs = theirs.map(|_| "accepts");
                differ.push(format!("{name}: ours {ours:?}, jsonwebtoken {theirs:?}"));
            }
        }
    }
    assert!(compared > 40, "{compared}");
    // Informational: jsonwebtoken is a JWT library, so every DPoP claim check is ours alone;
    // the other differences are reported as findings.
    eprintln!(
        "{compared} cases compared with jsonwebtoken; outcomes differ on {}:\n  {}",
        differ.len(),
        differ.join("\n  ")
    );
}
