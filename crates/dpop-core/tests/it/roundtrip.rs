//! Create-then-verify round trips, and property tests over arbitrary input.

use dpop_core::{
    Algorithm, Expected, HttpMethod, NewProof, ProofId, TargetUri, UnixTime, Verifier,
    crypto::{ProofSigner, rustcrypto::ALL_VERIFIERS},
};
use proptest::prelude::*;

use crate::common::{NOW, key};

#[test]
fn every_curve_round_trips_with_all_claims() {
    for alg in Algorithm::ALL {
        let k = key(alg);
        let uri = TargetUri::parse("https://API.example.com:443/a/./b/../c?q=1#frag").unwrap();
        let proof = NewProof::new(
            HttpMethod::POST,
            uri,
            ProofId::new("id-\"1\"").unwrap(),
            UnixTime::from_secs(NOW),
        )
        .with_access_token("tok.en")
        .with_nonce("server-nonce");
        let mut buf = vec![0u8; proof.max_len()];
        let jws = proof.encode(&k, &mut buf).unwrap().to_string();
        assert_eq!(
            jws,
            proof.encode_to_string(&k).unwrap(),
            "signing is deterministic"
        );

        let expected_uri = TargetUri::parse("https://api.example.com/a/c").unwrap();
        let thumbprint = k.public_jwk().thumbprint();
        let e = Expected::new(HttpMethod::POST, expected_uri)
            .with_access_token("tok.en")
            .with_nonce("server-nonce")
            .with_bound_key(&thumbprint);
        let v = Verifier::new(ALL_VERIFIERS)
            .verify(&jws, &e, UnixTime::from_secs(NOW + 1))
            .unwrap();
        assert_eq!(v.algorithm(), alg);
        assert_eq!(v.id(), "id-\"1\"");
        assert_eq!(v.nonce(), Some("server-nonce"));
        assert_eq!(v.issued_at(), UnixTime::from_secs(NOW));

        // what was written: the exact header members, canonical htu, and no exp
        let parts: Vec<&str> = jws.split('.').collect();
        let header: serde_json::Value = serde_json::from_slice(
            &<base64ct::Base64UrlUnpadded as base64ct::Encoding>::decode_vec(parts[0]).unwrap(),
        )
        .unwrap();
        let claims: serde_json::Value = serde_json::from_slice(
            &<base64ct::Base64UrlUnpadded as base64ct::Encoding>::decode_vec(parts[1]).unwrap(),
        )
        .unwrap();
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], alg.name());
        let mut members: Vec<&String> = header["jwk"].as_object().unwrap().keys().collect();
        members.sort();
        assert_eq!(members, ["crv", "kty", "x", "y"]);
        assert_eq!(claims["htu"], "https://api.example.com/a/c");
        assert_eq!(claims["htm"], "POST");
        assert!(claims.get("exp").is_none());
        assert_eq!(claims.as_object().unwrap().len(), 6);
        assert_eq!(parts[2].len(), base64_len(alg.signature_len()));
    }
}

fn base64_len(n: usize) -> usize {
    (n * 4).div_ceil(3)
}

/// A minimal proof: `GET https://a.example/`, `jti` "x", issued at [`NOW`].
fn get_proof() -> NewProof<'static> {
    NewProof::new(
        HttpMethod::GET,
        TargetUri::parse("https://a.example/").unwrap(),
        ProofId::new("x").unwrap(),
        UnixTime::from_secs(NOW),
    )
}

#[test]
fn buffer_too_small_is_an_error() {
    let k = key(Algorithm::Es256);
    let proof = get_proof();
    let full = proof.encode_to_string(&k).unwrap();
    for len in [0, 10, full.len() - 1] {
        let mut buf = vec![0u8; len];
        assert_eq!(
            proof.encode(&k, &mut buf).unwrap_err(),
            dpop_core::CreateError::BufferTooSmall
        );
    }
    let mut exact = vec![0u8; full.len()];
    assert_eq!(proof.encode(&k, &mut exact).unwrap(), full);
}

#[test]
fn invalid_values_are_refused_at_creation() {
    let k = key(Algorithm::Es256);
    let base = get_proof();
    use dpop_core::CreateError;
    assert_eq!(
        base.with_nonce("a b").encode_to_string(&k).unwrap_err(),
        CreateError::InvalidNonce
    );
    assert_eq!(
        base.with_nonce("").encode_to_string(&k).unwrap_err(),
        CreateError::InvalidNonce
    );
    assert_eq!(
        base.with_access_token("a\nb")
            .encode_to_string(&k)
            .unwrap_err(),
        CreateError::InvalidAccessToken
    );
}

#[derive(Debug)]
struct FailingSigner(dpop_core::PublicJwk);
impl ProofSigner for FailingSigner {
    fn algorithm(&self) -> Algorithm {
        Algorithm::Es256
    }
    fn public_jwk(&self) -> &dpop_core::PublicJwk {
        &self.0
    }
    fn try_sign(&self, _: &[&[u8]], _: &mut [u8]) -> Result<usize, dpop_core::SignError> {
        Err(dpop_core::SignError)
    }
}

#[test]
fn signer_failure_is_reported() {
    let signer = FailingSigner(*key(Algorithm::Es256).public_jwk());
    let proof = get_proof();
    assert_eq!(
        proof.encode_to_string(&signer).unwrap_err(),
        dpop_core::CreateError::Signing
    );
}

fn method() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,16}"
}

fn url() -> impl Strategy<Value = String> {
    (
        prop_oneof!["http", "https", "HTTPS"],
        "[a-z0-9-]{1,12}(\\.[a-z]{2,5}){0,2}",
        prop_oneof![Just(String::new()), (1u16..).prop_map(|p| format!(":{p}"))],
        "(/[A-Za-z0-9._~!$&'()*+,;=:@-]{0,8}|/%[0-9A-Fa-f]{2}){0,5}",
        "(\\?[a-z=&]{0,10})?",
    )
        .prop_map(|(s, h, p, path, q)| format!("{s}://{h}{p}{path}{q}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_claims_round_trip(
        m in method(),
        u in url(),
        jti in "[^\\p{Cc}]{1,64}",
        nonce in proptest::option::of("[!#-\\[\\]-~]{1,64}"),
        token in proptest::option::of("[!-~]{1,200}"),
        iat in 0u64..4_000_000_000,
        alg in prop_oneof![Just(Algorithm::Es256), Just(Algorithm::Es384), Just(Algorithm::Es512)],
    ) {
        let k = key(alg);
        let method = HttpMethod::parse(&m).unwrap();
        let uri = TargetUri::parse(&u).unwrap();
        let mut proof = NewProof::new(method, uri, ProofId::new(&jti).unwrap(), UnixTime::from_secs(iat));
        let mut expected = Expected::new(method, uri);
        if let Some(n) = &nonce {
            proof = proof.with_nonce(n);
            expected = expected.with_nonce(n);
        }
        if let Some(t) = &token {
            proof = proof.with_access_token(t);
            expected = expected.with_access_token(t);
        }
        let jws = proof.encode_to_string(&k).unwrap();
        let v = Verifier::new(ALL_VERIFIERS).verify(&jws, &expected, UnixTime::from_secs(iat)).unwrap();
        prop_assert_eq!(v.id(), jti.as_str());
        prop_assert_eq!(v.nonce(), nonce.as_deref());
    }

    #[test]
    fn arbitrary_bytes_never_verify(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let text = String::from_utf8_lossy(&bytes);
        let uri = TargetUri::parse("https://a.example/").unwrap();
        let e = Expected::new(HttpMethod::GET, uri);
        prop_assert!(Verifier::new(ALL_VERIFIERS).verify(&text, &e, UnixTime::from_secs(NOW)).is_err());
    }

    #[test]
    fn mutations_of_a_valid_proof_never_verify(pos in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<bool>()) {
        let k = key(Algorithm::Es256);
        let uri = TargetUri::parse("https://a.example/x").unwrap();
        let jws = NewProof::new(HttpMethod::GET, uri, ProofId::new("j").unwrap(), UnixTime::from_secs(NOW))
            .encode_to_string(&k).unwrap();
        let mut bytes = jws.clone().into_bytes();
        let i = pos.index(bytes.len());
        if cut {
            bytes.truncate(i);
        } else {
            bytes[i] = byte;
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        prop_assume!(text != jws);
        let e = Expected::new(HttpMethod::GET, uri);
        prop_assert!(Verifier::new(ALL_VERIFIERS).verify(&text, &e, UnixTime::from_secs(NOW)).is_err());
    }
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<dpop_core::SigningKey>();
    check::<dpop_core::PublicJwk>();
    check::<dpop_core::Thumbprint>();
    check::<Verifier<'static>>();
    check::<Expected<'static>>();
    check::<dpop_core::VerifiedProof<'static>>();
    check::<NewProof<'static>>();
    check::<dpop_core::VerifyError>();
    check::<dpop_core::CreateError>();
    check::<dpop_core::JwkError>();
}

/// `verify_detailed` reports the same error as `verify_with_scratch`, and the key only once
/// the signature has verified it: never for a proof refused at or before the signature.
#[test]
fn a_failure_names_the_key_only_after_the_signature_verified() {
    use dpop_core::{Limits, VerifyError};

    let k = key(Algorithm::Es256);
    let jkt = k.public_jwk().thumbprint();
    let uri = TargetUri::parse("https://api.example.com/items").unwrap();
    let now = UnixTime::from_secs(NOW);
    let proof = NewProof::new(HttpMethod::GET, uri, ProofId::new("j-1").unwrap(), now)
        .encode_to_string(&k)
        .unwrap();
    let (signed, signature) = proof.rsplit_once('.').unwrap();
    // Another valid-length signature: the same proof's signature with its first character
    // changed, so it decodes but does not verify.
    let first = if signature.starts_with('A') { "B" } else { "A" };
    let forged = format!("{signed}.{first}{}", &signature[1..]);
    let verifier = Verifier::new(ALL_VERIFIERS);
    let mut scratch = vec![0u8; Limits::DEFAULT.scratch_len()];
    let cases: [(&str, Expected<'_>, Result<(), VerifyError>, bool); 5] = [
        (&proof, Expected::new(HttpMethod::GET, uri), Ok(()), true),
        (
            &forged,
            Expected::new(HttpMethod::GET, uri),
            Err(VerifyError::InvalidSignature),
            false,
        ),
        (
            "e30.e30",
            Expected::new(HttpMethod::GET, uri),
            Err(VerifyError::Malformed(dpop_core::Malformed::Segments)),
            false,
        ),
        (
            &proof,
            Expected::new(HttpMethod::POST, uri),
            Err(VerifyError::Mismatch(dpop_core::Claim::Htm)),
            true,
        ),
        (
            &proof,
            Expected::new(HttpMethod::GET, uri).with_nonce("n-1"),
            Err(VerifyError::NonceRequired),
            true,
        ),
    ];
    for (proof, expected, want, keyed) in cases {
        let plain = verifier.verify_with_scratch(proof, &expected, now, &mut scratch);
        let detailed = verifier.verify_detailed(proof, &expected, now, &mut scratch);
        match (plain, detailed, want) {
            (Ok(a), Ok(b), Ok(())) => assert_eq!(a.thumbprint(), b.thumbprint()),
            (Err(a), Err(failure), Err(want)) => {
                assert_eq!(a, want);
                assert_eq!(failure.error(), want);
                assert_eq!(VerifyError::from(failure), want);
                assert_eq!(failure.to_string(), want.to_string());
                let expected_key = if keyed { Some(&jkt) } else { None };
                assert_eq!(failure.thumbprint(), expected_key, "{want:?}");
            }
            other => panic!("{other:?}"),
        }
    }
}
