//! DPoP with the aws-lc-rs backend alone: dpop-core is built without `es256`, `es384` and
//! `es512` (run as `cargo test -p aws-lc-only-check`, on its own, so that no other workspace
//! member's features are unified in). Keys come from every loader of the aws-lc-rs provider,
//! proofs are created and verified for every algorithm, and the point check (which a
//! `PublicJwk` no longer makes) is done by the backend.

// Test code: panicking on a broken fixture is the point, and std is available.
#![allow(
    clippy::unwrap_used,
    clippy::unwrap_in_result,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::indexing_slicing
)]

use base64ct::{Base64UrlUnpadded, Encoding as _};
use dpop_aws_lc_rs::{AwsLcSigningKey, CachedAwsLcVerifier, PROVIDER};
use dpop_core::crypto::{CryptoProvider, ProofSigner, VerifyAlgorithm};
use dpop_core::{
    Algorithm, Expected, HttpMethod, JwkError, KeyError, NewProof, ProofId, PublicJwk, TargetUri,
    UnixTime, Verifier, VerifyError,
};

const NOW: u64 = 1_700_000_000;
const URL: &str = "https://api.example.com/orders";

static CACHED: [CachedAwsLcVerifier; 3] = [
    CachedAwsLcVerifier::new(Algorithm::Es256),
    CachedAwsLcVerifier::new(Algorithm::Es384),
    CachedAwsLcVerifier::new(Algorithm::Es512),
];

fn scalar(alg: Algorithm, fill: u8) -> Vec<u8> {
    let mut s = vec![fill; alg.curve().coordinate_len()];
    s[0] = 0x01;
    s
}

fn create(signer: &dyn ProofSigner) -> String {
    let uri = TargetUri::parse(URL).unwrap();
    let mut buf = [0u8; 2048];
    NewProof::new(
        HttpMethod::POST,
        uri,
        ProofId::new("aws-lc-only").unwrap(),
        UnixTime::from_secs(NOW),
    )
    .with_access_token("token-1")
    .encode(signer, &mut buf)
    .unwrap()
    .to_owned()
}

fn verify(accepted: &[&dyn VerifyAlgorithm], proof: &str) -> Result<(), VerifyError> {
    let uri = TargetUri::parse(URL).unwrap();
    let expected = Expected::new(HttpMethod::POST, uri).with_access_token("token-1");
    Verifier::new(accepted)
        .verify(proof, &expected, UnixTime::from_secs(NOW))
        .map(|_| ())
}

/// Both aws-lc-rs verifiers (plain and cached) of `alg`.
fn verifiers(alg: Algorithm) -> [&'static dyn VerifyAlgorithm; 2] {
    let index = Algorithm::ALL.iter().position(|a| *a == alg).unwrap();
    [PROVIDER.verifier(alg).unwrap(), &CACHED[index]]
}

fn private_jwk(key: &PublicJwk, d: &[u8]) -> String {
    format!(
        r#"{{"kty":"EC","crv":"{}","x":"{}","y":"{}","d":"{}"}}"#,
        key.curve().name(),
        Base64UrlUnpadded::encode_string(key.x()),
        Base64UrlUnpadded::encode_string(key.y()),
        Base64UrlUnpadded::encode_string(d),
    )
}

/// A deterministic "CSPRNG" for the tests: hands out the queued blocks in order, then fails.
struct Queue(Vec<Vec<u8>>);

#[derive(Debug)]
struct Exhausted;

impl core::fmt::Display for Exhausted {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("exhausted")
    }
}

impl core::error::Error for Exhausted {}

impl rand_core::TryRng for Queue {
    type Error = Exhausted;

    fn try_next_u32(&mut self) -> Result<u32, Exhausted> {
        Err(Exhausted)
    }

    fn try_next_u64(&mut self) -> Result<u64, Exhausted> {
        Err(Exhausted)
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Exhausted> {
        if self.0.is_empty() {
            return Err(Exhausted);
        }
        let block = self.0.remove(0);
        dst.copy_from_slice(&block[..dst.len()]);
        Ok(())
    }
}

impl rand_core::TryCryptoRng for Queue {}

#[test]
fn proofs_are_created_and_verified_for_every_algorithm_and_every_key_loader() {
    for alg in Algorithm::ALL {
        let d = scalar(alg, 0x42);
        let from_scalar = PROVIDER.signing_key_from_scalar(alg, &d).unwrap();
        let public = *from_scalar.public_jwk();
        let from_jwk = PROVIDER
            .signing_key_from_jwk(private_jwk(&public, &d).as_bytes())
            .unwrap();
        assert_eq!(from_jwk.public_jwk(), &public);
        let generated = AwsLcSigningKey::generate(alg).unwrap();
        let mut rng = Queue(vec![scalar(alg, 0x43)]);
        let from_rng = PROVIDER.generate_signing_key(alg, &mut rng).unwrap();
        assert_eq!(
            from_rng.public_jwk(),
            PROVIDER
                .signing_key_from_scalar(alg, &scalar(alg, 0x43))
                .unwrap()
                .public_jwk()
        );
        for key in [&from_scalar, &from_jwk, &generated, &from_rng] {
            assert_eq!(PROVIDER.validate_public_key(key.public_jwk()), Ok(()));
            let proof = create(key);
            for verifier in verifiers(alg) {
                assert_eq!(verify(&[verifier], &proof), Ok(()), "{alg:?}");
            }
            // Only the listed algorithms are accepted.
            let other = Algorithm::ALL.into_iter().find(|a| *a != alg).unwrap();
            assert_eq!(
                verify(&[PROVIDER.verifier(other).unwrap()], &proof),
                Err(VerifyError::UnsupportedAlgorithm)
            );
        }
    }
}

#[test]
fn pkcs8_keys_load() {
    // P-256 with the scalar 01 5A 5A ...: an RFC 5208 PrivateKeyInfo wrapping an RFC 5915
    // ECPrivateKey without the optional public key.
    let d = scalar(Algorithm::Es256, 0x5A);
    let mut der = vec![
        0x30, 0x41, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02,
        0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x27, 0x30, 0x25,
        0x02, 0x01, 0x01, 0x04, 0x20,
    ];
    der.extend(&d);
    let key = PROVIDER
        .signing_key_from_pkcs8(Algorithm::Es256, &der)
        .unwrap();
    let raw = PROVIDER
        .signing_key_from_scalar(Algorithm::Es256, &d)
        .unwrap();
    assert_eq!(key.public_jwk(), raw.public_jwk());
    assert_eq!(verify(&verifiers(Algorithm::Es256), &create(&key)), Ok(()));
}

/// The point check is the backend's: a proof whose key is not on its curve is rejected with the
/// precise error, and the provider's own check refuses the key.
#[test]
fn a_key_off_the_curve_is_refused_by_the_backend() {
    for alg in Algorithm::ALL {
        let signer = PROVIDER
            .signing_key_from_scalar(alg, &scalar(alg, 0x44))
            .unwrap();
        let good = signer.public_jwk();
        let mut y = good.y().to_vec();
        *y.last_mut().unwrap() ^= 1;
        let off_curve = PublicJwk::from_coordinates(alg.curve(), good.x(), &y).unwrap();
        assert_eq!(
            PROVIDER.validate_public_key(&off_curve),
            Err(JwkError::NotOnCurve)
        );
        // A proof carrying that key (signed by the real one, so only the key is wrong).
        let b64 = |b: &[u8]| Base64UrlUnpadded::encode_string(b);
        let header = format!(
            r#"{{"typ":"dpop+jwt","alg":"{}","jwk":{{"kty":"EC","crv":"{}","x":"{}","y":"{}"}}}}"#,
            alg.name(),
            alg.curve().name(),
            b64(off_curve.x()),
            b64(off_curve.y())
        );
        let proof = create(&signer);
        let (_, rest) = proof.split_once('.').unwrap();
        let (payload, _) = rest.split_once('.').unwrap();
        let input = format!("{}.{payload}", b64(header.as_bytes()));
        let mut sig = [0u8; 132];
        let n = signer.try_sign(&[input.as_bytes()], &mut sig).unwrap();
        let proof = format!("{input}.{}", b64(&sig[..n]));
        for verifier in verifiers(alg) {
            assert_eq!(
                verify(&[verifier], &proof),
                Err(VerifyError::Jwk(JwkError::NotOnCurve)),
                "{alg:?}"
            );
        }
        // A private JWK whose public half is off the curve says so.
        assert_eq!(
            PROVIDER
                .signing_key_from_jwk(private_jwk(&off_curve, &scalar(alg, 0x44)).as_bytes())
                .unwrap_err(),
            KeyError::Jwk(JwkError::NotOnCurve)
        );
    }
}

/// Generation from the caller's generator: out-of-range draws are drawn again (rejection
/// sampling), P-521 draws keep only 521 bits, and a failing generator is an error.
#[test]
fn generation_draws_again_until_the_scalar_is_in_range() {
    for alg in Algorithm::ALL {
        let n = alg.curve().coordinate_len();
        let good = scalar(alg, 0x45);
        // 0xFF..FF is not below the group order (for P-521 after masking: 0x01FF..FF).
        let mut rng = Queue(vec![vec![0xFF; n], vec![0; n], good.clone()]);
        let key = PROVIDER.generate_signing_key(alg, &mut rng).unwrap();
        let want = PROVIDER.signing_key_from_scalar(alg, &good).unwrap();
        assert_eq!(key.public_jwk(), want.public_jwk(), "{alg:?}");
        assert!(rng.0.is_empty());
        let mut empty = Queue(Vec::new());
        assert_eq!(
            PROVIDER.generate_signing_key(alg, &mut empty).unwrap_err(),
            KeyError::Rng
        );
    }
    // P-521: the top 7 bits of the first byte are cleared, so 0xFF 0x11.. gives 0x01 0x11...
    let mut top = scalar(Algorithm::Es512, 0x11);
    top[0] = 0xFF;
    let mut rng = Queue(vec![top]);
    let key = PROVIDER
        .generate_signing_key(Algorithm::Es512, &mut rng)
        .unwrap();
    let want = PROVIDER
        .signing_key_from_scalar(Algorithm::Es512, &scalar(Algorithm::Es512, 0x11))
        .unwrap();
    assert_eq!(key.public_jwk(), want.public_jwk());
}
