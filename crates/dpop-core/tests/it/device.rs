//! The device path: verification with caller scratch sized by [`Limits`], and proof creation
//! that stages everything in the output buffer (no large stack buffers): both must give exactly
//! the results of the default path, and fail with a typed error, never a panic, when the memory
//! they are given is one byte short.

use base64ct::{Base64UrlUnpadded, Encoding as _};
use dpop_core::{
    Algorithm, CreateError, Expected, HttpMethod, Limit, Limits, NewProof, ProofId, TargetUri,
    UnixTime, Verifier, VerifyError, crypto::rustcrypto::ALL_VERIFIERS,
};

use crate::common::key;

const ALGS: [Algorithm; 3] = [Algorithm::Es256, Algorithm::Es384, Algorithm::Es512];
const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

fn long_uri() -> String {
    format!(
        "https://API.example.com:443/{}/./x/../items?q=1",
        "seg%7e".repeat(60)
    )
}

fn make(alg: Algorithm, uri: &str, nonce: Option<&str>) -> String {
    let uri = TargetUri::parse(uri).unwrap();
    let mut proof = NewProof::new(
        HttpMethod::POST,
        uri,
        ProofId::new("d\"ev\\ice").unwrap(),
        NOW,
    )
    .with_access_token("token-1");
    if let Some(nonce) = nonce {
        proof = proof.with_nonce(nonce);
    }
    proof.encode_to_string(&key(alg)).unwrap()
}

#[test]
fn encode_fits_exactly_or_reports_buffer_too_small() {
    let uri = long_uri();
    for alg in ALGS {
        for nonce in [None, Some("n-1")] {
            let reference = make(alg, &uri, nonce);
            let target = TargetUri::parse(&uri).unwrap();
            let id = ProofId::new("d\"ev\\ice").unwrap();
            let mut proof =
                NewProof::new(HttpMethod::POST, target, id, NOW).with_access_token("token-1");
            if let Some(nonce) = nonce {
                proof = proof.with_nonce(nonce);
            }
            let signer = key(alg);
            for size in 0..=reference.len() + 2 {
                let mut buf = vec![0xAAu8; size];
                let result = proof.encode(&signer, &mut buf);
                if size >= reference.len() {
                    assert_eq!(result.unwrap(), reference, "{alg:?} size {size}");
                } else {
                    assert_eq!(
                        result,
                        Err(CreateError::BufferTooSmall),
                        "{alg:?} size {size}"
                    );
                }
            }
        }
    }
}

#[test]
fn created_htu_is_the_canonical_uri() {
    let proof = make(Algorithm::Es256, &long_uri(), None);
    let payload = proof.split('.').nth(1).unwrap();
    let payload = Base64UrlUnpadded::decode_vec(payload).unwrap();
    let payload: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    let expected = format!("https://api.example.com/{}/items", "seg~".repeat(60));
    assert_eq!(payload["htu"], expected.as_str());
    assert_eq!(payload["jti"], "d\"ev\\ice");
    assert_eq!(payload["iat"], 1_700_000_000u64);
}

#[test]
fn device_limits_verify_like_the_default_path() {
    assert_eq!(Limits::DEVICE.proof, 1024);
    let uri = "https://api.example.com/v1/items";
    let target = TargetUri::parse(uri).unwrap();
    for alg in ALGS {
        let proof = make(alg, uri, Some("n-1"));
        assert!(proof.len() <= 1024, "{alg:?}: {}", proof.len());
        let verifier = Verifier::new(ALL_VERIFIERS).with_limits(Limits::DEVICE);
        let expected = Expected::new(HttpMethod::POST, target)
            .with_access_token("token-1")
            .with_nonce("n-1");
        let mut scratch = vec![0u8; Limits::DEVICE.scratch_len()];
        let small = verifier
            .verify_with_scratch(&proof, &expected, NOW, &mut scratch)
            .unwrap();
        let default = Verifier::new(ALL_VERIFIERS)
            .verify(&proof, &expected, NOW)
            .unwrap();
        assert_eq!(small.replay_key(), default.replay_key());
        assert_eq!(small.id(), "d\"ev\\ice");
        assert_eq!(small.nonce(), Some("n-1"));
        // A mismatch is still a mismatch with small scratch.
        let wrong = Expected::new(HttpMethod::GET, target);
        assert!(matches!(
            verifier.verify_with_scratch(&proof, &wrong, NOW, &mut scratch),
            Err(VerifyError::Mismatch(_))
        ));
    }
}

#[test]
fn scratch_one_byte_short_is_too_large_before_any_work() {
    let uri = long_uri();
    let target = TargetUri::parse(&uri).unwrap();
    for alg in ALGS {
        let proof = make(alg, &uri, None);
        let needed = Limits::DEFAULT.with_proof(proof.len()).scratch_len();
        let verifier = Verifier::new(ALL_VERIFIERS);
        let expected = Expected::new(HttpMethod::POST, target).with_access_token("token-1");
        let mut scratch = vec![0u8; needed];
        let verified = verifier
            .verify_with_scratch(&proof, &expected, NOW, &mut scratch)
            .unwrap();
        assert_eq!(verified.algorithm(), alg);
        assert_eq!(
            verifier
                .verify_with_scratch(&proof, &expected, NOW, &mut scratch[..needed - 1])
                .unwrap_err(),
            VerifyError::TooLarge(Limit::Proof)
        );
        // Any garbage, even a proof that is not a JWS, gets the same answer first.
        assert_eq!(
            verifier
                .verify_with_scratch("x".repeat(100).as_str(), &expected, NOW, &mut [])
                .unwrap_err(),
            VerifyError::TooLarge(Limit::Proof)
        );
    }
}

#[test]
fn device_limits_reject_a_larger_proof() {
    let uri = format!("https://api.example.com/{}", "a".repeat(900));
    let proof = make(Algorithm::Es256, &uri, None);
    assert!(proof.len() > 1024);
    let target = TargetUri::parse(&uri).unwrap();
    let expected = Expected::new(HttpMethod::POST, target).with_access_token("token-1");
    let mut scratch = vec![0u8; Limits::DEVICE.scratch_len()];
    for verifier in [
        Verifier::new(ALL_VERIFIERS).with_limits(Limits::DEVICE),
        Verifier::new(ALL_VERIFIERS),
    ] {
        assert_eq!(
            verifier
                .verify_with_scratch(&proof, &expected, NOW, &mut scratch)
                .unwrap_err(),
            VerifyError::TooLarge(Limit::Proof)
        );
    }
    let verified = Verifier::new(ALL_VERIFIERS)
        .verify(&proof, &expected, NOW)
        .unwrap();
    assert_eq!(verified.algorithm(), Algorithm::Es256);
}

/// The scratch sized by [`Limits::scratch_len`] for a proof's exact length holds the claims
/// check's three `htu` buffers in the worst case: a proof of at most 1 KiB whose payload is
/// nearly all `htu`, JSON-escaped (so it is unescaped into a buffer of its own), with a
/// non-canonical expected URI (so both canonical forms are written). One byte less is
/// `TooLarge(Proof)` before any work.
#[test]
fn the_exact_scratch_holds_the_longest_escaped_htu() {
    for alg in ALGS {
        let signer = key(alg);
        let header = crate::common::header_for(&signer);
        let build = |segments: usize| {
            let htu = format!("https:\\/\\/api.example.com{}", "\\/a".repeat(segments));
            let payload = format!(
                r#"{{"jti":"j","htm":"GET","htu":"{htu}","iat":{}}}"#,
                NOW.as_secs()
            );
            crate::common::sign_raw(&signer, &header, &payload)
        };
        let mut segments = 1;
        while build(segments + 1).len() <= 1024 {
            segments += 1;
        }
        let proof = build(segments);
        assert!(
            proof.len() <= 1024 && proof.len() > 1000,
            "{alg:?} {}",
            proof.len()
        );
        let uri = format!("HTTPS://API.example.com:443{}", "/a".repeat(segments));
        let target = TargetUri::parse(&uri).unwrap();
        let expected = Expected::new(HttpMethod::GET, target);
        let verifier = Verifier::new(ALL_VERIFIERS).with_limits(Limits::DEVICE);
        let needed = Limits::DEFAULT.with_proof(proof.len()).scratch_len();
        assert!(needed <= Limits::DEVICE.scratch_len());
        let mut scratch = vec![0u8; needed];
        let verified = verifier
            .verify_with_scratch(&proof, &expected, NOW, &mut scratch)
            .unwrap();
        assert_eq!(verified.id(), "j");
        assert_eq!(
            verifier
                .verify_with_scratch(&proof, &expected, NOW, &mut scratch[..needed - 1])
                .unwrap_err(),
            VerifyError::TooLarge(Limit::Proof)
        );
    }
}
