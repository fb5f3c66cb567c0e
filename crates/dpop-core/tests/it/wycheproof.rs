//! Wycheproof ECDSA vectors in the IEEE P1363 (raw `r||s`) encoding that JWS uses (RFC 7518
//! section 3.4), through the RustCrypto `VerifyAlgorithm`s: P-256/SHA-256 ([`ES256`]),
//! P-384/SHA-384 ([`ES384`]) and P-521/SHA-512 ([`ES512`]), one generic function instantiated
//! per algorithm.
//!
//! Source: the `wycheproof` crate 0.7.0 (C2SP/wycheproof vectors, Apache-2.0), test sets
//! `ecdsa_secp256r1_sha256_p1363`, `ecdsa_secp384r1_sha384_p1363` and
//! `ecdsa_secp521r1_sha512_p1363`. Every "valid" vector must verify and every "invalid" one must
//! fail; "acceptable" vectors may do either and are counted. A key that
//! [`PublicJwk::from_coordinates`] refuses must belong to a group of only "invalid" vectors; it
//! is counted as skipped.

use ::wycheproof::TestResult;
use ::wycheproof::ecdsa::{TestName, TestSet};
use dpop_core::PublicJwk;
use dpop_core::{
    Algorithm,
    crypto::VerifyAlgorithm,
    crypto::rustcrypto::{ES256_VERIFIER, ES384_VERIFIER, ES512_VERIFIER},
};

/// What one test set did.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    valid: usize,
    invalid: usize,
    acceptable_verified: usize,
    acceptable_refused: usize,
    skipped_keys: usize,
    skipped_vectors: usize,
}

fn run(name: TestName, verifier: &dyn VerifyAlgorithm) -> Tally {
    let set = TestSet::load(name).unwrap();
    let alg = verifier.algorithm();
    let n = alg.curve().coordinate_len();
    let mut tally = Tally::default();
    for group in &set.test_groups {
        // The uncompressed SEC1 point: 04 || x || y.
        let point: &[u8] = &group.key.key;
        assert_eq!(point.len(), 1 + 2 * n, "{name:?}: key size");
        assert_eq!(point[0], 0x04, "{name:?}: uncompressed point");
        let jwk = match PublicJwk::from_coordinates(alg.curve(), &point[1..=n], &point[1 + n..]) {
            Ok(jwk) => jwk,
            Err(e) => {
                assert!(
                    group.tests.iter().all(|t| t.result == TestResult::Invalid),
                    "{name:?}: key refused ({e}) in a group with vectors that are not invalid"
                );
                tally.skipped_keys += 1;
                tally.skipped_vectors += group.tests.len();
                continue;
            }
        };
        for test in &group.tests {
            let msg: &[u8] = &test.msg;
            let sig: &[u8] = &test.sig;
            let result = verifier.verify(&jwk, &[msg], sig);
            // A multipart signing input gives the same answer (every fourth vector, to keep
            // the debug-build run short).
            if test.tc_id % 4 == 0 {
                let (a, b) = msg.split_at(msg.len() / 2);
                assert_eq!(
                    verifier.verify(&jwk, &[a, b], sig),
                    result,
                    "{name:?} tc {}: multipart",
                    test.tc_id
                );
            }
            let context = format!(
                "{name:?} tc {} ({}, flags {:?})",
                test.tc_id, test.comment, test.flags
            );
            match test.result {
                TestResult::Valid => {
                    assert_eq!(result, Ok(()), "{context}");
                    tally.valid += 1;
                }
                TestResult::Invalid => {
                    assert!(result.is_err(), "{context}");
                    tally.invalid += 1;
                }
                TestResult::Acceptable if result.is_ok() => tally.acceptable_verified += 1,
                TestResult::Acceptable => tally.acceptable_refused += 1,
            }
        }
    }
    let total = tally.valid
        + tally.invalid
        + tally.acceptable_verified
        + tally.acceptable_refused
        + tally.skipped_vectors;
    assert_eq!(total, set.number_of_tests, "{name:?}: every vector counted");
    assert!(tally.valid > 0 && tally.invalid > 0, "{name:?}: {tally:?}");
    eprintln!("wycheproof {name:?} with {alg:?}: {tally:?}");
    tally
}

#[test]
fn p256_sha256_p1363() {
    let tally = run(TestName::EcdsaSecp256r1Sha256P1363, ES256_VERIFIER);
    assert_eq!(ES256_VERIFIER.algorithm(), Algorithm::Es256);
    assert_eq!(tally.skipped_keys, 0);
}

#[test]
fn p384_sha384_p1363() {
    let tally = run(TestName::EcdsaSecp384r1Sha384P1363, ES384_VERIFIER);
    assert_eq!(tally.skipped_keys, 0);
}

#[test]
fn p521_sha512_p1363() {
    let tally = run(TestName::EcdsaSecp521r1Sha512P1363, ES512_VERIFIER);
    assert_eq!(tally.skipped_keys, 0);
}

#[test]
fn a_verifier_refuses_keys_of_another_curve() {
    // Wycheproof's P-256 key with the P-384 verifier: refused, whatever the signature says.
    let set = TestSet::load(TestName::EcdsaSecp256r1Sha256P1363).unwrap();
    let group = &set.test_groups[0];
    let point: &[u8] = &group.key.key;
    let jwk =
        PublicJwk::from_coordinates(Algorithm::Es256.curve(), &point[1..33], &point[33..]).unwrap();
    let test = group
        .tests
        .iter()
        .find(|t| t.result == TestResult::Valid)
        .unwrap();
    let msg: &[u8] = &test.msg;
    let sig: &[u8] = &test.sig;
    assert_eq!(ES256_VERIFIER.verify(&jwk, &[msg], sig), Ok(()));
    assert!(ES384_VERIFIER.verify(&jwk, &[msg], sig).is_err());
    assert!(ES512_VERIFIER.verify(&jwk, &[msg], sig).is_err());
}
