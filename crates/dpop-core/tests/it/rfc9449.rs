//! RFC 9449's own examples as known-answer tests.

use dpop_core::{
    AccessTokenHash, HttpMethod, PublicJwk, TargetUri, Thumbprint, UnixTime, VerifyError,
};
use dpop_core::{
    Algorithm,
    crypto::rustcrypto::{ALL_VERIFIERS, ES256_VERIFIER},
};
use dpop_core::{Expected, Verifier};

use crate::common::vectors;

#[test]
fn every_example_proof_verifies_at_its_clock() {
    let v = vectors();
    let jkt = Thumbprint::from_base64url(v["jkt"].as_str().unwrap()).unwrap();
    for case in v["proofs"].as_array().unwrap() {
        let proof = case["proof"].as_str().unwrap();
        let request = &case["request"];
        let method = HttpMethod::parse(request["htm"].as_str().unwrap()).unwrap();
        let uri = TargetUri::parse(request["htu"].as_str().unwrap()).unwrap();
        let mut expected = Expected::new(method, uri).with_bound_key(&jkt);
        if let Some(token) = request["access_token"].as_str() {
            expected = expected.with_access_token(token);
        }
        let now = UnixTime::from_secs(case["now"].as_u64().unwrap());
        let verified = Verifier::new(ALL_VERIFIERS)
            .verify(proof, &expected, now)
            .unwrap_or_else(|e| panic!("{}: {e}", case["id"]));
        assert_eq!(verified.algorithm(), Algorithm::Es256);
        assert_eq!(verified.thumbprint(), &jkt);
        assert_eq!(verified.method().as_str(), request["htm"].as_str().unwrap());
        if request["access_token"].is_string() {
            assert_eq!(verified.access_token_hash().unwrap().to_string(), v["ath"]);
        }
    }
}

#[test]
fn example_key_thumbprint_and_ath() {
    let v = vectors();
    let jwk = PublicJwk::from_json(v["key"].to_string().as_bytes()).unwrap();
    assert_eq!(
        jwk.thumbprint().to_string(),
        "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
    );
    assert_eq!(v["jkt"], "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
    let ath = AccessTokenHash::of(v["access_token"].as_str().unwrap());
    assert_eq!(
        ath.to_string(),
        "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
    );
}

#[test]
fn examples_are_rejected_outside_their_context() {
    let v = vectors();
    let token_request = v["proofs"][0]["proof"].as_str().unwrap();
    let uri = TargetUri::parse("https://server.example.com/token").unwrap();
    let verifier = Verifier::new(&[ES256_VERIFIER]);
    let ok = UnixTime::from_secs(1_562_262_621);
    // wrong method
    let e = Expected::new(HttpMethod::GET, uri);
    assert_eq!(
        verifier.verify(token_request, &e, ok).unwrap_err().name(),
        "htm_mismatch"
    );
    // wrong URI
    let other = TargetUri::parse("https://server.example.com/token2").unwrap();
    let e = Expected::new(HttpMethod::POST, other);
    assert_eq!(
        verifier.verify(token_request, &e, ok).unwrap_err().name(),
        "htu_mismatch"
    );
    // an hour later the proof is too old
    let e = Expected::new(HttpMethod::POST, uri);
    let late = UnixTime::from_secs(1_562_262_616 + 3600);
    assert!(matches!(
        verifier.verify(token_request, &e, late),
        Err(VerifyError::TooOld { .. })
    ));
    // an access token the proof does not carry
    let e = Expected::new(HttpMethod::POST, uri).with_access_token("abc");
    assert_eq!(
        verifier.verify(token_request, &e, ok).unwrap_err(),
        VerifyError::Missing(dpop_core::Claim::Ath)
    );
    // the resource proof with another token
    let resource = v["proofs"][2]["proof"].as_str().unwrap();
    let ruri = TargetUri::parse("https://resource.example.org/protectedresource").unwrap();
    let e = Expected::new(HttpMethod::GET, ruri).with_access_token("another-token");
    let now = UnixTime::from_secs(1_562_262_623);
    assert_eq!(
        verifier.verify(resource, &e, now).unwrap_err().name(),
        "ath_mismatch"
    );
    // bound to another key
    let other_jkt = Thumbprint::from_bytes([1; 32]);
    let e = Expected::new(HttpMethod::GET, ruri).with_bound_key(&other_jkt);
    assert_eq!(
        verifier.verify(resource, &e, now).unwrap_err(),
        VerifyError::BoundKeyMismatch
    );
    // a nonce the proof does not carry
    let e = Expected::new(HttpMethod::GET, ruri).with_nonce("n-1");
    let err = verifier.verify(resource, &e, now).unwrap_err();
    assert_eq!(err, VerifyError::NonceRequired);
    assert_eq!(err.error_code(), "use_dpop_nonce");
}

#[test]
fn token_and_refresh_examples_share_a_replay_key() {
    // The RFC reuses one jti for both examples; a replay cache must see the second as a replay.
    let v = vectors();
    let uri = TargetUri::parse("https://server.example.com/token").unwrap();
    let e = Expected::new(HttpMethod::POST, uri);
    let verifier = Verifier::new(&[ES256_VERIFIER]);
    let a = verifier
        .verify(
            v["proofs"][0]["proof"].as_str().unwrap(),
            &e,
            UnixTime::from_secs(1_562_262_621),
        )
        .unwrap();
    let b = verifier
        .verify(
            v["proofs"][1]["proof"].as_str().unwrap(),
            &e,
            UnixTime::from_secs(1_562_265_301),
        )
        .unwrap();
    assert_eq!(a.replay_key(), b.replay_key());
    assert_eq!(a.id(), "-BwC3ESc6acc2lTc");
}
