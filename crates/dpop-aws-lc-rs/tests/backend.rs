//! The backend test matrix: everything checked against dpop-core's RustCrypto backend is checked
//! against the aws-lc-rs one, and the two must agree (same vectors, same acceptances, same
//! rejections with the same `VerifyError`).
//!
//! - the RFC 9449 example proofs (`tests/vectors/rfc9449-examples.json`, a copy of dpop-core's);
//! - create -> verify round trips for every signer x verifier pair and all three curves;
//! - signature-level rejections: lengths (short, long, DER), flipped bits, r or s zero or not
//!   below n, another key's signature, another message; high-S (`n - s`) accepted by both;
//! - proof-level rejections: the same broken proof gives the same `VerifyError`;
//! - the Wycheproof ECDSA P1363 vectors for P-256/SHA-256, P-384/SHA-384 and P-521/SHA-512
//!   through all the `VerifyAlgorithm`s.

// Test code: panicking on a broken fixture is the point, and std is available.
#![allow(
    clippy::unwrap_used,
    clippy::unwrap_in_result,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::indexing_slicing
)]

use base64ct::{Base64UrlUnpadded, Encoding as _};
use dpop_aws_lc_rs::{AwsLcSigningKey, CachedAwsLcVerifier};
use dpop_core::{
    Algorithm, Curve,
    crypto::rustcrypto,
    crypto::{ProofSigner, VerifyAlgorithm},
};
use dpop_core::{
    Claim, Expected, HttpMethod, JwkError, NewProof, ProofId, PublicJwk, SignatureCheckError,
    Verifier, VerifyError, consts::MAX_JWK_JSON_LEN,
};
use dpop_core::{SigningKey, TargetUri, Thumbprint, UnixTime};

static CACHED_ES256: CachedAwsLcVerifier = CachedAwsLcVerifier::new(Algorithm::Es256);
static CACHED_ES384: CachedAwsLcVerifier = CachedAwsLcVerifier::new(Algorithm::Es384);
static CACHED_ES512: CachedAwsLcVerifier = CachedAwsLcVerifier::new(Algorithm::Es512);

const RUST_CRYPTO: &[&dyn VerifyAlgorithm] = rustcrypto::ALL_VERIFIERS;
const AWS_LC: &[&dyn VerifyAlgorithm] = dpop_aws_lc_rs::ALL_VERIFIERS;
const CACHED: &[&dyn VerifyAlgorithm] = &[&CACHED_ES256, &CACHED_ES384, &CACHED_ES512];

/// Every backend under test, by name.
const BACKENDS: [(&str, &[&dyn VerifyAlgorithm]); 3] = [
    ("rustcrypto", RUST_CRYPTO),
    ("aws-lc-rs", AWS_LC),
    ("aws-lc-rs cached", CACHED),
];

/// The verifiers of each backend for one algorithm.
fn verifiers(alg: Algorithm) -> [(&'static str, &'static dyn VerifyAlgorithm); 3] {
    BACKENDS.map(|(name, list)| {
        let v = list
            .iter()
            .copied()
            .find(|v| v.algorithm() == alg)
            .expect("every backend has every algorithm");
        (name, v)
    })
}

const NOW: u64 = 1_700_000_000;
const URL: &str = "https://api.example.com/v1/items";
const TOKEN: &str = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";

fn scalar(alg: Algorithm, fill: u8) -> Vec<u8> {
    let mut s = vec![fill; alg.curve().coordinate_len()];
    s[0] = 0x01;
    s
}

fn rust_key(alg: Algorithm, fill: u8) -> SigningKey {
    SigningKey::from_bytes(alg, &scalar(alg, fill)).unwrap()
}

fn aws_key(alg: Algorithm, fill: u8) -> AwsLcSigningKey {
    AwsLcSigningKey::from_bytes(alg, &scalar(alg, fill)).unwrap()
}

fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

fn sign(signer: &dyn ProofSigner, parts: &[&[u8]]) -> Vec<u8> {
    let mut sig = [0u8; 132];
    let n = signer.try_sign(parts, &mut sig).unwrap();
    assert_eq!(n, signer.algorithm().signature_len());
    sig[..n].to_vec()
}

/// Signs arbitrary header and payload text, to build proofs broken in exactly one way.
fn sign_raw(signer: &dyn ProofSigner, header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let sig = sign(signer, &[input.as_bytes()]);
    format!("{input}.{}", b64(&sig))
}

fn jwk_json(jwk: &PublicJwk) -> String {
    let mut buf = [0u8; MAX_JWK_JSON_LEN];
    jwk.write_json(&mut buf).unwrap().to_string()
}

/// Verifies `proof` with one backend's verifiers, for a GET of `URL` with `TOKEN` at `NOW`;
/// returns the thumbprint so results can be compared.
fn verify_with(
    backend: &[&dyn VerifyAlgorithm],
    proof: &str,
    bound: Option<&Thumbprint>,
) -> Result<Thumbprint, VerifyError> {
    let uri = TargetUri::parse(URL).unwrap();
    let mut expected = Expected::new(HttpMethod::GET, uri).with_access_token(TOKEN);
    if let Some(jkt) = bound {
        expected = expected.with_bound_key(jkt);
    }
    Verifier::new(backend)
        .verify(proof, &expected, UnixTime::from_secs(NOW))
        .map(|v| *v.thumbprint())
}

/// Asserts that every backend gives `want` for `proof`.
fn assert_all_backends(proof: &str, want: Result<(), VerifyError>, what: &str) {
    for (name, backend) in BACKENDS {
        assert_eq!(
            verify_with(backend, proof, None).map(|_| ()),
            want,
            "{what}: backend {name}"
        );
    }
}

/// The group order n of each curve, big-endian, full coordinate length.
fn order(curve: Curve) -> Vec<u8> {
    let hex = match curve {
        Curve::P256 => "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
        Curve::P384 => concat!(
            "ffffffffffffffffffffffffffffffffffffffffffffffff",
            "c7634d81f4372ddf581a0db248b0a77aecec196accc52973"
        ),
        Curve::P521 => concat!(
            "01ff",
            "ffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            "fffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409"
        ),
        _ => unreachable!(),
    };
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    assert_eq!(bytes.len(), curve.coordinate_len());
    bytes
}

/// `a - b` for equal-length big-endian numbers with `a >= b`.
fn sub(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; a.len()];
    let mut borrow = 0i16;
    for i in (0..a.len()).rev() {
        let mut d = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        out[i] = u8::try_from(d).unwrap();
    }
    assert_eq!(borrow, 0);
    out
}

/// DER `SEQUENCE { INTEGER r, INTEGER s }` of a raw signature (short-form lengths suffice up to
/// P-384; P-521 needs the long form).
fn der(raw: &[u8]) -> Vec<u8> {
    fn integer(bytes: &[u8]) -> Vec<u8> {
        let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|&b| b == 0).collect();
        let mut value = trimmed;
        if value.first().is_none_or(|&b| b & 0x80 != 0) {
            value.insert(0, 0);
        }
        let mut out = vec![0x02, u8::try_from(value.len()).unwrap()];
        out.extend(value);
        out
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let body: Vec<u8> = [integer(r), integer(s)].concat();
    let mut out = vec![0x30];
    if body.len() < 128 {
        out.push(u8::try_from(body.len()).unwrap());
    } else {
        out.extend([0x81, u8::try_from(body.len()).unwrap()]);
    }
    out.extend(body);
    out
}

#[test]
fn rfc9449_examples_verify_with_every_backend() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/rfc9449-examples.json"
    ))
    .unwrap();
    let vectors: serde_json::Value = serde_json::from_str(&text).unwrap();
    let jkt = Thumbprint::from_base64url(vectors["jkt"].as_str().unwrap()).unwrap();
    let proofs = vectors["proofs"].as_array().unwrap();
    assert_eq!(proofs.len(), 3);
    for case in proofs {
        let proof = case["proof"].as_str().unwrap();
        let request = &case["request"];
        let method = HttpMethod::parse(request["htm"].as_str().unwrap()).unwrap();
        let uri = TargetUri::parse(request["htu"].as_str().unwrap()).unwrap();
        let now = UnixTime::from_secs(case["now"].as_u64().unwrap());
        let mut expected = Expected::new(method, uri).with_bound_key(&jkt);
        if let Some(token) = request["access_token"].as_str() {
            expected = expected.with_access_token(token);
        }
        for (name, backend) in BACKENDS {
            let verified = Verifier::new(backend)
                .verify(proof, &expected, now)
                .unwrap_or_else(|e| panic!("{} with {name}: {e:?}", case["id"]));
            assert_eq!(verified.thumbprint(), &jkt);
            assert_eq!(verified.algorithm(), Algorithm::Es256);
            // One flipped signature character fails everywhere, with the same error.
            let mut bad = proof.to_string();
            let last = bad.pop().unwrap();
            bad.push(if last == 'A' { 'Q' } else { 'A' });
            assert_eq!(
                Verifier::new(backend)
                    .verify(&bad, &expected, now)
                    .map(|_| ()),
                Err(VerifyError::InvalidSignature),
                "{name}"
            );
        }
    }
}

#[test]
fn round_trips_for_every_signer_verifier_pair_and_curve() {
    let uri = TargetUri::parse("https://api.example.com/v1/items?page=2").unwrap();
    let now = UnixTime::from_secs(NOW);
    for alg in Algorithm::ALL {
        let rust = rust_key(alg, 0x5A);
        let aws = aws_key(alg, 0x5A);
        // Same scalar, same public key, whichever library loaded it.
        assert_eq!(rust.public_jwk(), aws.public_jwk());
        let generated = AwsLcSigningKey::generate(alg).unwrap();
        let signers: [(&str, &dyn ProofSigner); 3] = [
            ("rustcrypto", &rust),
            ("aws-lc-rs", &aws),
            ("aws-lc-rs generated", &generated),
        ];
        for (signer_name, signer) in signers {
            let mut buf = [0u8; 2048];
            let jws = NewProof::new(HttpMethod::POST, uri, ProofId::new("id-1").unwrap(), now)
                .with_access_token(TOKEN)
                .with_nonce("server-nonce")
                .encode(signer, &mut buf)
                .unwrap();
            let jkt = signer.public_jwk().thumbprint();
            let expected = Expected::new(HttpMethod::POST, uri)
                .with_access_token(TOKEN)
                .with_nonce("server-nonce")
                .with_bound_key(&jkt);
            for (name, backend) in BACKENDS {
                let verified = Verifier::new(backend)
                    .verify(jws, &expected, now)
                    .unwrap_or_else(|e| panic!("{alg:?} {signer_name} -> {name}: {e:?}"));
                assert_eq!(verified.algorithm(), alg);
                assert_eq!(verified.thumbprint(), &jkt);
            }
            // Signature level too, with the input in one part and in several.
            let message = b"header.payload";
            for parts in [
                &[&message[..]][..],
                &[&message[..6], &message[6..7], &message[7..]],
            ] {
                let sig = sign(signer, parts);
                for (name, verifier) in verifiers(alg) {
                    for check in [&[&message[..]][..], &[&message[..3], &message[3..]]] {
                        assert_eq!(
                            verifier.verify(signer.public_jwk(), check, &sig),
                            Ok(()),
                            "{alg:?} {signer_name} -> {name}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn signature_rejections_agree_and_high_s_is_accepted_by_both() {
    let message: &[u8] = b"eyJ0eXAiOiJkcG9wK2p3dCJ9.eyJqdGkiOiIxIn0";
    for alg in Algorithm::ALL {
        let key = rust_key(alg, 0x33);
        let other = aws_key(alg, 0x44);
        let jwk = key.public_jwk();
        let n = alg.curve().coordinate_len();
        let good = sign(&key, &[message]);
        let (r, s) = good.split_at(n);
        let high_s = [r, &sub(&order(alg.curve()), s)].concat();
        assert_ne!(high_s, good);
        let zero = vec![0u8; n];
        let curve_order = order(alg.curve());

        let mut cases: Vec<(String, Vec<u8>, Result<(), SignatureCheckError>)> = vec![
            ("valid".into(), good.clone(), Ok(())),
            ("high-S (n - s)".into(), high_s, Ok(())),
            (
                "one byte short".into(),
                good[..2 * n - 1].to_vec(),
                Err(SignatureCheckError::InvalidSignature),
            ),
            (
                "one byte long".into(),
                [&good[..], &[0]].concat(),
                Err(SignatureCheckError::InvalidSignature),
            ),
            (
                "DER".into(),
                der(&good),
                Err(SignatureCheckError::InvalidSignature),
            ),
            (
                "empty".into(),
                Vec::new(),
                Err(SignatureCheckError::InvalidSignature),
            ),
            (
                "r = 0".into(),
                [&zero[..], s].concat(),
                Err(SignatureCheckError::InvalidSignature),
            ),
            (
                "s = 0".into(),
                [r, &zero[..]].concat(),
                Err(SignatureCheckError::InvalidSignature),
            ),
            (
                "r = s = 0".into(),
                vec![0u8; 2 * n],
                Err(SignatureCheckError::InvalidSignature),
            ),
            (
                "r = n".into(),
                [&curve_order[..], s].concat(),
                Err(SignatureCheckError::InvalidSignature),
            ),
            (
                "s = n".into(),
                [r, &curve_order[..]].concat(),
                Err(SignatureCheckError::InvalidSignature),
            ),
            (
                "another key's signature".into(),
                sign(&other, &[message]),
                Err(SignatureCheckError::InvalidSignature),
            ),
            (
                "r and s swapped".into(),
                [s, r].concat(),
                Err(SignatureCheckError::InvalidSignature),
            ),
        ];
        for bit in [0, 7, 8 * n - 1, 8 * n, 8 * n + 9, 16 * n - 1] {
            let mut flipped = good.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            cases.push((
                format!("bit {bit} flipped"),
                flipped,
                Err(SignatureCheckError::InvalidSignature),
            ));
        }
        for (what, sig, want) in &cases {
            for (name, verifier) in verifiers(alg) {
                assert_eq!(
                    verifier.verify(jwk, &[message], sig),
                    *want,
                    "{alg:?} {what} with {name}"
                );
            }
        }
        for (name, verifier) in verifiers(alg) {
            // Another message, and the right signature under the wrong curve's key.
            assert_eq!(
                verifier.verify(jwk, &[b"another message"], &good),
                Err(SignatureCheckError::InvalidSignature),
                "{name}"
            );
            let wrong_alg = Algorithm::ALL.into_iter().find(|a| *a != alg).unwrap();
            let wrong_key = rust_key(wrong_alg, 0x33);
            assert_eq!(
                verifier.verify(wrong_key.public_jwk(), &[message], &good),
                Err(SignatureCheckError::InvalidSignature),
                "{name}: key of another curve"
            );
        }
    }
}

#[test]
fn the_same_broken_proof_gets_the_same_error_from_every_backend() {
    let ath = "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo";
    for alg in Algorithm::ALL {
        let rust = rust_key(alg, 0x21);
        let aws = aws_key(alg, 0x22);
        let n = alg.curve().coordinate_len();
        for signer in [&rust as &dyn ProofSigner, &aws] {
            let jwk = jwk_json(signer.public_jwk());
            let header = format!(r#"{{"typ":"dpop+jwt","alg":"{}","jwk":{jwk}}}"#, alg.name());
            let payload = |extra: &str| {
                format!(
                    r#"{{"jti":"j-1","htm":"GET","htu":"{URL}","iat":{NOW},"ath":"{ath}"{extra}}}"#
                )
            };
            let good = sign_raw(signer, &header, &payload(""));
            let (input, sig) = good.rsplit_once('.').unwrap();
            let raw = Base64UrlUnpadded::decode_vec(sig).unwrap();
            let (r, s) = raw.split_at(n);
            let with_sig = |sig: &[u8]| format!("{input}.{}", b64(sig));

            // A point not on the curve: y + 1.
            let mut y = signer.public_jwk().y().to_vec();
            *y.last_mut().unwrap() ^= 1;
            let off_curve = format!(
                r#"{{"kty":"EC","crv":"{}","x":"{}","y":"{}"}}"#,
                alg.curve().name(),
                b64(signer.public_jwk().x()),
                b64(&y)
            );
            let other_alg = Algorithm::ALL.into_iter().find(|a| *a != alg).unwrap();
            let cases: Vec<(&str, String, Result<(), VerifyError>)> = vec![
                ("valid", good.clone(), Ok(())),
                (
                    "high-S",
                    with_sig(&[r, &sub(&order(alg.curve()), s)].concat()),
                    Ok(()),
                ),
                (
                    "signature one byte short",
                    with_sig(&raw[..2 * n - 1]),
                    Err(VerifyError::InvalidSignature),
                ),
                (
                    "signature one byte long",
                    with_sig(&[&raw[..], &[1]].concat()),
                    Err(VerifyError::InvalidSignature),
                ),
                (
                    "DER signature",
                    with_sig(&der(&raw)),
                    Err(VerifyError::InvalidSignature),
                ),
                (
                    "s = 0",
                    with_sig(&[r, &vec![0; n]].concat()),
                    Err(VerifyError::InvalidSignature),
                ),
                (
                    "flipped bit",
                    with_sig(&{
                        let mut f = raw.clone();
                        f[n / 2] ^= 0x10;
                        f
                    }),
                    Err(VerifyError::InvalidSignature),
                ),
                (
                    "another key's signature",
                    sign_raw(&rust_key(alg, 0x77), &header, &payload("")),
                    Err(VerifyError::InvalidSignature),
                ),
                (
                    "key not on the curve",
                    sign_raw(
                        signer,
                        &format!(
                            r#"{{"typ":"dpop+jwt","alg":"{}","jwk":{off_curve}}}"#,
                            alg.name()
                        ),
                        &payload(""),
                    ),
                    Err(VerifyError::Jwk(JwkError::NotOnCurve)),
                ),
                (
                    "alg of another curve",
                    sign_raw(
                        signer,
                        &format!(
                            r#"{{"typ":"dpop+jwt","alg":"{}","jwk":{jwk}}}"#,
                            other_alg.name()
                        ),
                        &payload(""),
                    ),
                    Err(VerifyError::AlgorithmMismatch),
                ),
                (
                    "wrong htm",
                    sign_raw(signer, &header, &payload("").replace("\"GET\"", "\"POST\"")),
                    Err(VerifyError::Mismatch(Claim::Htm)),
                ),
                (
                    "ath of another token",
                    sign_raw(signer, &header, &payload("").replace(ath, &"A".repeat(43))),
                    Err(VerifyError::Mismatch(Claim::Ath)),
                ),
            ];
            for (what, proof, want) in &cases {
                assert_all_backends(proof, *want, &format!("{alg:?} {what}"));
            }
            // Bound to another key: same error everywhere.
            let other = Thumbprint::from_bytes([9; 32]);
            for (name, backend) in BACKENDS {
                assert_eq!(
                    verify_with(backend, &good, Some(&other)).map(|_| ()),
                    Err(VerifyError::BoundKeyMismatch),
                    "{name}"
                );
            }
        }
    }
}

/// The point check is each backend's (a `PublicJwk` is structural only). Every key below is
/// a structurally valid `PublicJwk` but not a valid point, and every backend refuses it with
/// `NotOnCurve`: through its provider's `validate_public_key`, its verifiers, and a whole proof
/// verification. Each case would be accepted as a key if a backend dropped its point check.
#[test]
fn every_backend_checks_the_point_itself() {
    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
    use dpop_core::crypto::CryptoProvider as _;
    // (0, y) is a P-256 point; p is the field modulus, so (p, y) is that point unreduced.
    let zero_x_y = hex("66485c780e2f83d72433bd5d84a06bb6541c2af31dae871728bf856a174f93f4");
    let modulus = hex("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff");
    let p256 = |x: &[u8], y: &[u8]| PublicJwk::from_coordinates(Curve::P256, x, y).unwrap();
    let valid_zero_x = p256(&[0; 32], &zero_x_y);
    let unreduced = p256(&modulus, &zero_x_y);
    assert_eq!(
        rustcrypto::PROVIDER.validate_public_key(&valid_zero_x),
        Ok(())
    );
    assert_eq!(
        dpop_aws_lc_rs::PROVIDER.validate_public_key(&valid_zero_x),
        Ok(())
    );
    let mut invalid = vec![
        ("P-256 x not below the modulus", unreduced),
        ("P-256 (0, 0)", p256(&[0; 32], &[0; 32])),
    ];
    for alg in Algorithm::ALL {
        let good = *rust_key(alg, 0x35).public_jwk();
        let mut y = good.y().to_vec();
        *y.last_mut().unwrap() ^= 1;
        invalid.push((
            alg.name(),
            PublicJwk::from_coordinates(alg.curve(), good.x(), &y).unwrap(),
        ));
    }
    for (what, key) in invalid {
        let alg = key.algorithm();
        assert_eq!(
            rustcrypto::PROVIDER.validate_public_key(&key),
            Err(JwkError::NotOnCurve),
            "rustcrypto: {what}"
        );
        assert_eq!(
            dpop_aws_lc_rs::PROVIDER.validate_public_key(&key),
            Err(JwkError::NotOnCurve),
            "aws-lc-rs: {what}"
        );
        let signature = vec![1u8; alg.signature_len()];
        for (name, verifier) in verifiers(alg) {
            assert_eq!(
                verifier.verify(&key, &[b"input"], &signature),
                Err(SignatureCheckError::InvalidKey(JwkError::NotOnCurve)),
                "{name}: {what}"
            );
        }
        // In a proof: signed by some key, with this key in the header.
        let signer = rust_key(alg, 0x36);
        let header = format!(
            r#"{{"typ":"dpop+jwt","alg":"{}","jwk":{}}}"#,
            alg.name(),
            jwk_json(&key)
        );
        let payload = format!(
            r#"{{"jti":"j-1","htm":"GET","htu":"{URL}","iat":{NOW},"ath":"fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"}}"#
        );
        assert_all_backends(
            &sign_raw(&signer, &header, &payload),
            Err(VerifyError::Jwk(JwkError::NotOnCurve)),
            what,
        );
    }
    // A key that fails the check is never cached.
    assert!(CACHED_ES256.verify(&unreduced, &[b"x"], &[1; 64]).is_err());
    let fresh = CachedAwsLcVerifier::new(Algorithm::Es256);
    assert!(fresh.verify(&unreduced, &[b"x"], &[1; 64]).is_err());
    assert!(fresh.is_empty());
}

#[test]
fn signing_keys_load_from_pkcs8_and_keep_secrets_out_of_debug() {
    // PKCS#8 for P-256 with the scalar 01 5A 5A ... (RFC 5208 PrivateKeyInfo wrapping an RFC 5915
    // ECPrivateKey without the optional public key: AWS-LC derives it).
    let alg = Algorithm::Es256;
    let d = scalar(alg, 0x5A);
    let mut ec_private_key = vec![0x30, 0x25, 0x02, 0x01, 0x01, 0x04, 0x20];
    ec_private_key.extend(&d);
    let mut pkcs8 = vec![
        0x30, 0x41, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02,
        0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x27,
    ];
    pkcs8.extend(&ec_private_key);
    let key = AwsLcSigningKey::from_pkcs8(alg, &pkcs8).unwrap();
    assert_eq!(key.public_jwk(), rust_key(alg, 0x5A).public_jwk());
    // The wrong curve for the document is refused.
    assert!(AwsLcSigningKey::from_pkcs8(Algorithm::Es384, &pkcs8).is_err());
    assert!(AwsLcSigningKey::from_pkcs8(alg, &pkcs8[..pkcs8.len() - 1]).is_err());

    let debug = format!("{key:?}");
    assert!(debug.contains("Es256"), "{debug}");
    assert!(!debug.to_lowercase().contains("5a5a"), "{debug}");

    // Scalars: wrong length, zero, not below n.
    for alg in Algorithm::ALL {
        let n = alg.curve().coordinate_len();
        assert!(AwsLcSigningKey::from_bytes(alg, &vec![1; n - 1]).is_err());
        assert!(AwsLcSigningKey::from_bytes(alg, &vec![0; n]).is_err());
        assert!(AwsLcSigningKey::from_bytes(alg, &order(alg.curve())).is_err());
        assert!(AwsLcSigningKey::from_bytes(alg, &vec![0xFF; n]).is_err());
    }
}

#[test]
fn aws_lc_verification_allocates_nothing_on_the_rust_heap_with_a_warm_cache() {
    // AWS-LC's own C allocations are not visible here; this checks the Rust side: with the
    // cache warm, a verification clones an `Arc` and allocates nothing. (The uncached verifier
    // allocates the `ParsedPublicKey`'s byte copy on every call.)
    let alg = Algorithm::Es256;
    let key = rust_key(alg, 0x61);
    let message: &[u8] = b"a.b";
    let sig = sign(&key, &[message]);
    let cached = CachedAwsLcVerifier::new(alg);
    cached.verify(key.public_jwk(), &[message], &sig).unwrap();
    let info = allocation_counter::measure(|| {
        cached.verify(key.public_jwk(), &[message], &sig).unwrap();
    });
    assert_eq!(info.count_total, 0);
}

mod wycheproof_p1363 {
    use wycheproof::TestResult;
    use wycheproof::ecdsa::{TestName, TestSet};

    use super::*;

    fn run(name: TestName, alg: Algorithm) {
        let set = TestSet::load(name).unwrap();
        let n = alg.curve().coordinate_len();
        let (mut valid, mut invalid, mut acceptable) = (0, 0, 0);
        for group in &set.test_groups {
            let point: &[u8] = &group.key.key;
            assert_eq!(point.len(), 1 + 2 * n);
            assert_eq!(point[0], 0x04);
            let jwk = PublicJwk::from_coordinates(alg.curve(), &point[1..=n], &point[1 + n..])
                .expect("Wycheproof verification keys are on the curve");
            for test in &group.tests {
                let msg: &[u8] = &test.msg;
                let sig: &[u8] = &test.sig;
                let results = verifiers(alg).map(|(name, v)| (name, v.verify(&jwk, &[msg], sig)));
                let split = msg.len() / 2;
                let multipart =
                    AWS_LC_ALL[alg_index(alg)].verify(&jwk, &[&msg[..split], &msg[split..]], sig);
                let (_, first) = results[0];
                for (backend, result) in results {
                    assert_eq!(
                        result, first,
                        "tc {} ({}) {backend} disagrees with rustcrypto",
                        test.tc_id, test.comment
                    );
                }
                assert_eq!(multipart, first, "tc {} multipart", test.tc_id);
                match test.result {
                    TestResult::Valid => {
                        valid += 1;
                        assert_eq!(first, Ok(()), "tc {} ({})", test.tc_id, test.comment);
                    }
                    TestResult::Invalid => {
                        invalid += 1;
                        assert!(first.is_err(), "tc {} ({})", test.tc_id, test.comment);
                    }
                    TestResult::Acceptable => acceptable += 1,
                }
            }
        }
        assert!(valid > 0 && invalid > 0, "{valid} valid, {invalid} invalid");
        assert_eq!(valid + invalid + acceptable, set.number_of_tests);
    }

    const AWS_LC_ALL: [&dyn VerifyAlgorithm; 3] = [
        dpop_aws_lc_rs::ES256_VERIFIER,
        dpop_aws_lc_rs::ES384_VERIFIER,
        dpop_aws_lc_rs::ES512_VERIFIER,
    ];

    fn alg_index(alg: Algorithm) -> usize {
        Algorithm::ALL.iter().position(|a| *a == alg).unwrap()
    }

    #[test]
    fn p256_sha256() {
        run(TestName::EcdsaSecp256r1Sha256P1363, Algorithm::Es256);
    }

    #[test]
    fn p384_sha384() {
        run(TestName::EcdsaSecp384r1Sha384P1363, Algorithm::Es384);
    }

    #[test]
    fn p521_sha512() {
        run(TestName::EcdsaSecp521r1Sha512P1363, Algorithm::Es512);
    }
}
