//! The RustCrypto backend: `p256`, `p384` and `p521` with deterministic RFC 6979 signing, one
//! crate feature per algorithm (`es256`, `es384`, `es512`).
//!
//! [`PROVIDER`] is the whole backend as one [`CryptoProvider`]: its verifiers, the public-key
//! point check, key generation and loading, and [`SigningKey`] as its
//! signing key.
//!
//! Its verifiers are named after backend and algorithm, so that a server's setup reads as what
//! it accepts: `Verifier::new(&[rustcrypto::ES256_VERIFIER])`, beside
//! `dpop_aws_lc_rs::ES256_VERIFIER` for the aws-lc-rs backend.
//!
//! One macro instantiation per curve keeps the three backends identical in shape. High-S
//! signatures verify (RustCrypto does not normalize S for the NIST curves), as with every other
//! major implementation; replay detection therefore never keys on signature bytes.

use super::{CryptoProvider, VerifyAlgorithm};
use crate::alg::Algorithm;
use crate::curve::Curve;
use crate::error::{JwkError, KeyError, SignatureCheckError};
use crate::jwk::PublicJwk;
use crate::key::SigningKey;

/// The RustCrypto backend as one [`CryptoProvider`]; use the value [`PROVIDER`].
///
/// Each algorithm is there when its feature is on: [`verifier`](CryptoProvider::verifier)
/// returns `None`, key loading [`KeyError::UnsupportedAlgorithm`] and the point check
/// [`JwkError::UnsupportedCurve`] for the others.
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct RustCryptoProvider;

/// The RustCrypto backend: `rustcrypto::PROVIDER.signing_key_from_scalar(...)`, beside
/// `dpop_aws_lc_rs::PROVIDER` for the aws-lc-rs backend.
pub const PROVIDER: RustCryptoProvider = RustCryptoProvider;

impl CryptoProvider for RustCryptoProvider {
    type SigningKey = SigningKey;

    fn verifier(&self, algorithm: Algorithm) -> Option<&'static dyn VerifyAlgorithm> {
        match algorithm {
            #[cfg(feature = "es256")]
            Algorithm::Es256 => Some(ES256_VERIFIER),
            #[cfg(feature = "es384")]
            Algorithm::Es384 => Some(ES384_VERIFIER),
            #[cfg(feature = "es512")]
            Algorithm::Es512 => Some(ES512_VERIFIER),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    fn validate_public_key(&self, key: &PublicJwk) -> Result<(), JwkError> {
        check_point(key.curve(), key.x(), key.y())
    }

    fn signing_key_from_scalar(
        &self,
        algorithm: Algorithm,
        scalar: &[u8],
    ) -> Result<SigningKey, KeyError> {
        SigningKey::from_bytes(algorithm, scalar)
    }

    fn signing_key_from_pkcs8(
        &self,
        algorithm: Algorithm,
        der: &[u8],
    ) -> Result<SigningKey, KeyError> {
        SigningKey::from_pkcs8_der(algorithm, der)
    }

    fn generate_signing_key<R: rand_core::TryCryptoRng + ?Sized>(
        &self,
        algorithm: Algorithm,
        rng: &mut R,
    ) -> Result<SigningKey, KeyError> {
        SigningKey::generate(algorithm, rng)
    }
}

/// Checks that `(x, y)` is a point of `curve` other than the identity, each coordinate below
/// the field modulus.
fn check_point(curve: Curve, x: &[u8], y: &[u8]) -> Result<(), JwkError> {
    let on_curve = match curve {
        #[cfg(feature = "es256")]
        Curve::P256 => es256::verifying_key(x, y).is_some(),
        #[cfg(feature = "es384")]
        Curve::P384 => es384::verifying_key(x, y).is_some(),
        #[cfg(feature = "es512")]
        Curve::P521 => es512::verifying_key(x, y).is_some(),
        #[allow(unreachable_patterns)]
        _ => return Err(JwkError::UnsupportedCurve),
    };
    if on_curve {
        Ok(())
    } else {
        Err(JwkError::NotOnCurve)
    }
}

macro_rules! curve_backend {
    ($feature:literal, $module:ident, $krate:ident, $curve:ty, $digest:ty, $alg:ident, $unit:ident, $static:ident) => {
        #[cfg(feature = $feature)]
        pub(crate) mod $module {
            use ecdsa::EcdsaCurve;
            use $krate::elliptic_curve::Curve;
            use $krate::elliptic_curve::ff::PrimeField as _;
            use $krate::elliptic_curve::group::Group as _;
            use $krate::NonZeroScalar;
            use zeroize::Zeroize as _;
            use $krate::elliptic_curve::ops::{Invert, Reduce};
            use wnaf::array::typenum::U5;
            use wnaf::{WnafBase, WnafScalar};
            use sha2::Digest as _;
            use sha2::digest::Output;
            use $krate::ecdsa::{Signature, SigningKey, VerifyingKey};
            use $krate::elliptic_curve::point::AffineCoordinates;
            use $krate::{AffinePoint, FieldBytes, ProjectivePoint, Scalar};

            use crate::error::{JwkError, SignError, SignatureCheckError};

            /// The verifying key for affine coordinates, if they are a valid point: each
            /// coordinate below the field modulus, on the curve, not the identity. Built from
            /// the coordinates directly, not through a SEC1 encoding, so that point
            /// decompression (never needed: JWKs carry both coordinates) is not linked in.
            #[inline(never)]
            pub(crate) fn verifying_key(x: &[u8], y: &[u8]) -> Option<VerifyingKey> {
                let x: &FieldBytes = x.try_into().ok()?;
                let y: &FieldBytes = y.try_into().ok()?;
                let point = Option::<AffinePoint>::from(AffinePoint::from_coordinates(x, y))?;
                VerifyingKey::from_affine(point).ok()
            }

            /// Verifies a raw `r||s` signature over the concatenated parts. The point check
            /// is done here, once, as the verifying key is built.
            ///
            /// This is the ECDSA verification of SEC 1 v2 section 4.1.4 as the `ecdsa` crate
            /// computes it (`hazmat::verify_prehashed`: the same scalar steps, the same
            /// interleaved window-5 wNAF multiplication), split into stages that each have a
            /// frame of their own and run one after the other: the key, the digest, the scalars
            /// `u1` and `u2`, the point `u1 G + u2 Q`, its `x`. On a 32-bit target the deepest
            /// stage (the window tables) takes about 2.5 KiB of stack; the `ecdsa` crate's
            /// single frame took 4.4 KiB, with the other stages' locals beside the tables.
            pub(crate) fn verify(
                x: &[u8],
                y: &[u8],
                input: &[&[u8]],
                signature: &[u8],
            ) -> Result<(), SignatureCheckError> {
                let key = verifying_key(x, y)
                    .ok_or(SignatureCheckError::InvalidKey(JwkError::NotOnCurve))?;
                // `from_slice` rejects any length but the raw size, so DER never parses, and
                // rejects r or s that are zero or not below the group order.
                let signature = Signature::from_slice(signature)
                    .map_err(|_| SignatureCheckError::InvalidSignature)?;
                let digest = digest(input);
                let (u1, u2) =
                    scalars(&digest, &signature).ok_or(SignatureCheckError::InvalidSignature)?;
                let point = lincomb(&u1, &u2, key.as_affine());
                // `x mod n` in a frame of its own too: the field inversion below it does not
                // add to the window tables' frame.
                if *signature.r() == x_mod_n(&point) {
                    Ok(())
                } else {
                    Err(SignatureCheckError::InvalidSignature)
                }
            }

            /// The curve's ECDSA digest (RFC 7518 section 3.4) of the concatenated parts.
            #[inline(never)]
            fn digest(input: &[&[u8]]) -> Output<$digest> {
                let mut hash = <$digest>::new();
                for part in input {
                    hash.update(part);
                }
                hash.finalize()
            }

            /// `u1 = z / s` and `u2 = r / s` mod n, where `z` is the digest as a scalar
            /// ([`digest_scalar`]); `None` for a digest longer than the field.
            #[inline(never)]
            fn scalars(digest: &[u8], signature: &Signature) -> Option<(Scalar, Scalar)> {
                let (r, s) = signature.split_scalars();
                let z = digest_scalar(digest)?;
                let s_inv = *Invert::invert_vartime(&s);
                Some((z * s_inv, *r * s_inv))
            }

            /// The digest as a scalar (SEC 1 v2 section 4.1.3 step 5): its leftmost bits up to
            /// the order's size, reduced mod n. The digests of ES256/384/512 are never longer
            /// than the field (32, 48 and 64 bytes against 32, 48 and 66), so this is a left
            /// zero-padding; `None` for a longer one.
            fn digest_scalar(digest: &[u8]) -> Option<Scalar> {
                let mut z = FieldBytes::default();
                let start = z.len().checked_sub(digest.len())?;
                z.get_mut(start..)?.copy_from_slice(digest);
                Some(<Scalar as Reduce<FieldBytes>>::reduce(&z))
            }

            /// `u1 G + u2 Q` in variable time (the scalars are public), by Straus's method with
            /// window-5 wNAF tables, the generator's first, as `primeorder` computes it. The
            /// tables are built in place.
            #[inline(never)]
            fn lincomb(u1: &Scalar, u2: &Scalar, q: &AffinePoint) -> ProjectivePoint {
                let mut g_table = WnafBase::<ProjectivePoint, U5>::default();
                g_table.init_from_base(&ProjectivePoint::GENERATOR);
                let mut q_table = WnafBase::<ProjectivePoint, U5>::default();
                q_table.init_from_base(&ProjectivePoint::from(*q));
                let u1 = WnafScalar::<Scalar, U5>::new(u1);
                let u2 = WnafScalar::<Scalar, U5>::new(u2);
                WnafBase::multiscalar_mul([(&g_table, &u1), (&q_table, &u2)].into_iter())
            }

            /// The affine `x` of `point`, reduced mod n (the identity's `x` is zero, which no
            /// valid `r` equals).
            #[inline(never)]
            fn x_mod_n(point: &ProjectivePoint) -> Scalar {
                <Scalar as Reduce<FieldBytes>>::reduce(&point.to_affine().x())
            }

            /// The staged signing and verification agree with the `ecdsa` crate's: the same
            /// signature bytes (deterministic RFC 6979), and the same verdict on valid
            /// signatures, on signatures with a flipped bit, and on other messages. They would
            /// not if a stage (digest, `k`, `r`, `s`, `u1`/`u2`, the window tables, `x mod n`)
            /// were wrong.
            #[cfg(test)]
            #[test]
            fn staged_signing_and_verification_agree_with_the_ecdsa_crate() {
                use $krate::ecdsa::signature::{MultipartSigner as _, MultipartVerifier as _};

                let reference = |key: &VerifyingKey, input: &[&[u8]], sig: &[u8]| {
                    Signature::from_slice(sig)
                        .is_ok_and(|sig| key.multipart_verify(input, &sig).is_ok())
                };
                let len = FieldBytes::default().len();
                for seed in 1..4u8 {
                    let mut scalar = std::vec![seed; len];
                    scalar[0] = 1;
                    let signer = signing_key(&scalar).unwrap();
                    let public = signer.verifying_key().to_sec1_point(false);
                    let (x, y) = (public.x().unwrap(), public.y().unwrap());
                    let key = verifying_key(x, y).unwrap();
                    let input: [&[u8]; 2] = [b"header.", &[seed; 40]];
                    let mut sig = [0u8; 132];
                    let n = sign(&signer, &input, &mut sig).unwrap();
                    let sig = &mut sig[..n];
                    // The staged RFC 6979 signing gives the ecdsa crate's signature, byte for
                    // byte.
                    let expected: Signature = signer.try_multipart_sign(&input).unwrap();
                    assert_eq!(&*sig, &expected.to_bytes()[..]);
                    assert_eq!(verify(x, y, &input, sig), Ok(()));
                    assert!(reference(&key, &input, sig));
                    // Another message: both refuse.
                    let other: [&[u8]; 2] = [b"header.", &[seed ^ 1; 40]];
                    assert!(verify(x, y, &other, sig).is_err());
                    assert!(!reference(&key, &other, sig));
                    for bit in (0..n * 8).step_by(11) {
                        sig[bit / 8] ^= 1 << (bit % 8);
                        assert_eq!(
                            verify(x, y, &input, sig).is_ok(),
                            reference(&key, &input, sig),
                            "bit {bit}"
                        );
                        assert!(verify(x, y, &input, sig).is_err(), "bit {bit}");
                        sig[bit / 8] ^= 1 << (bit % 8);
                    }
                }
            }

            /// A signing key from the raw big-endian scalar.
            pub(crate) fn signing_key(scalar: &[u8]) -> Option<SigningKey> {
                SigningKey::from_slice(scalar).ok()
            }

            /// Signs deterministically (RFC 6979) into the front of `out`.
            pub(crate) fn sign(
                key: &SigningKey,
                input: &[&[u8]],
                out: &mut [u8],
            ) -> Result<usize, SignError> {
                let digest = digest(input);
                let signature = sign_prehash(key.as_nonzero_scalar(), &digest)?;
                let bytes = signature.to_bytes();
                let dst = out.get_mut(..bytes.len()).ok_or(SignError)?;
                dst.copy_from_slice(&bytes);
                Ok(bytes.len())
            }

            /// Deterministic ECDSA (RFC 6979 section 3.2; SEC 1 v2 section 4.1.3) of a prehashed
            /// message, as the `ecdsa` crate computes it (`hazmat::sign_prehashed_rfc6979` with no
            /// added data: the same candidates for `k`, the same equations), in stages with
            /// frames of their own, one after the other: the candidate `k` (the HMAC-DRBG state),
            /// `r` (the scalar multiplication), then `s`. Candidate `i` (almost always the
            /// first) is made again from the start when needed, so the sequence of candidates
            /// is the same.
            #[inline(never)]
            fn sign_prehash(d: &NonZeroScalar, z: &[u8]) -> Result<Signature, SignError> {
                // A candidate fails with probability about 2^-128 (k not below n, or r or s
                // zero); four in a row mean something else is wrong.
                for attempt in 0..4 {
                    if let Some(k) = nth_k(d, z, attempt) {
                        let r = x_mod_n(&ProjectivePoint::mul_by_generator(&k));
                        if let Some(signature) = signature(d, &k, r, z) {
                            return Ok(signature);
                        }
                    }
                }
                Err(SignError)
            }

            /// The `attempt`-th RFC 6979 candidate for `k` (counting from 0), if it is a
            /// non-zero scalar.
            #[inline(never)]
            fn nth_k(d: &NonZeroScalar, z: &[u8], attempt: usize) -> Option<NonZeroScalar> {
                let order = <$curve as Curve>::ORDER;
                let mut x = d.to_repr();
                let mut kgen = rfc6979::KGenerator::<$digest, <$curve as Curve>::Uint>::new(
                    &x,
                    z,
                    &[],
                    &order,
                );
                x.zeroize();
                let mut k = FieldBytes::default();
                for _ in 0..=attempt {
                    kgen.fill_next_k(&mut k);
                }
                let scalar = NonZeroScalar::from_repr(k).into_option();
                k.zeroize();
                scalar
            }

            /// `s = (z + r d) / k` mod n, and the signature `(r, s)`; `None` if `r` or `s` is
            /// zero.
            #[inline(never)]
            fn signature(
                d: &NonZeroScalar,
                k: &NonZeroScalar,
                r: Scalar,
                z: &[u8],
            ) -> Option<Signature> {
                let z = digest_scalar(z)?;
                let k_inv = *Invert::invert(k);
                let s = k_inv * (z + r * d.as_ref());
                let signature = Signature::from_scalars(r, s).ok()?;
                Some(if <$curve as EcdsaCurve>::NORMALIZE_S {
                    signature.normalize_s()
                } else {
                    signature
                })
            }

            /// Writes the public affine coordinates of `key`.
            pub(crate) fn public_coordinates(key: &SigningKey, x: &mut [u8], y: &mut [u8]) {
                let point = key.verifying_key().to_sec1_point(false);
                if let (Some(px), Some(py)) = (point.x(), point.y()) {
                    x.copy_from_slice(px);
                    y.copy_from_slice(py);
                }
            }

            /// Draws a fresh key from the caller's CSPRNG.
            pub(crate) fn generate<R: rand_core::TryCryptoRng + ?Sized>(
                rng: &mut R,
            ) -> Result<SigningKey, R::Error> {
                use $krate::elliptic_curve::Generate;
                SigningKey::try_generate_from_rng(rng)
            }

            /// The raw big-endian scalar (the caller zeroizes it).
            pub(crate) fn scalar_bytes(key: &SigningKey) -> FieldBytes {
                key.to_bytes()
            }
        }

        #[doc = concat!("The RustCrypto verifier for ", stringify!($alg), ".")]
        #[cfg(feature = $feature)]
        #[derive(Clone, Copy, Debug, Default)]
        #[non_exhaustive]
        pub struct $unit;

        #[cfg(feature = $feature)]
        impl VerifyAlgorithm for $unit {
            fn algorithm(&self) -> Algorithm {
                Algorithm::$alg
            }

            fn verify(
                &self,
                key: &PublicJwk,
                signing_input: &[&[u8]],
                signature: &[u8],
            ) -> Result<(), SignatureCheckError> {
                // The curve, then the point (as the key is built), then the signature (whose
                // exact length `Signature::from_slice` checks).
                if key.curve() != Algorithm::$alg.curve() {
                    return Err(SignatureCheckError::InvalidSignature);
                }
                $module::verify(key.x(), key.y(), signing_input, signature)
            }
        }

        #[doc = concat!(
                            "Verifies ", stringify!($alg), " signatures with the RustCrypto `",
                            stringify!($krate), "` crate."
                        )]
        #[cfg(feature = $feature)]
        pub const $static: &dyn VerifyAlgorithm = &$unit;
    };
}

curve_backend!(
    "es256",
    es256,
    p256,
    p256::NistP256,
    sha2::Sha256,
    Es256,
    RustCryptoEs256,
    ES256_VERIFIER
);
curve_backend!(
    "es384",
    es384,
    p384,
    p384::NistP384,
    sha2::Sha384,
    Es384,
    RustCryptoEs384,
    ES384_VERIFIER
);
curve_backend!(
    "es512",
    es512,
    p521,
    p521::NistP521,
    sha2::Sha512,
    Es512,
    RustCryptoEs512,
    ES512_VERIFIER
);

/// The three RustCrypto verifiers, for a server that accepts every DPoP algorithm. It exists
/// only when all three algorithm features are on, so it never means fewer algorithms than it
/// says; a server that wants fewer lists them itself.
#[cfg(all(feature = "es256", feature = "es384", feature = "es512"))]
pub const ALL_VERIFIERS: &[&dyn VerifyAlgorithm] =
    &[ES256_VERIFIER, ES384_VERIFIER, ES512_VERIFIER];

/// The verifiers of whichever algorithms this build compiles in: for the crate's own tests,
/// which run once per feature combination. Never offered to users (a feature enabled elsewhere
/// must not widen what a server accepts).
#[cfg(test)]
pub(crate) const COMPILED_IN: &[&dyn VerifyAlgorithm] = &[
    #[cfg(feature = "es256")]
    ES256_VERIFIER,
    #[cfg(feature = "es384")]
    ES384_VERIFIER,
    #[cfg(feature = "es512")]
    ES512_VERIFIER,
];

#[cfg(test)]
#[cfg(feature = "es256")]
mod tests {
    use super::*;
    use crate::crypto::ProofSigner as _;

    fn hex(s: &str) -> std::vec::Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// `(0, y)` is a point of P-256; `p` is the field modulus, so `(p, y)` is the same point
    /// with an unreduced `x`.
    const ZERO_X_Y: &str = "66485c780e2f83d72433bd5d84a06bb6541c2af31dae871728bf856a174f93f4";
    const P256_MODULUS: &str = "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff";

    fn p256(x: &[u8], y: &[u8]) -> PublicJwk {
        PublicJwk::from_coordinates(Curve::P256, x, y).unwrap()
    }

    /// Each key below is structurally valid (a `PublicJwk`) but not a valid point; the
    /// provider's check and the verifier both reject it with `NotOnCurve`. Without the point
    /// check in the backend, every one of them would be accepted as a key.
    #[test]
    fn the_point_check_rejects_off_curve_identity_and_unreduced_keys() {
        let good = *SigningKey::from_bytes(Algorithm::Es256, &[7u8; 32])
            .unwrap()
            .public_jwk();
        let mut flipped_y = std::vec::Vec::from(good.y());
        flipped_y[31] ^= 1;
        let zero = [0u8; 32];
        let valid_zero_x = p256(&zero, &hex(ZERO_X_Y));
        assert_eq!(PROVIDER.validate_public_key(&good), Ok(()));
        assert_eq!(PROVIDER.validate_public_key(&valid_zero_x), Ok(()));
        let invalid = [
            ("off the curve", p256(good.x(), &flipped_y)),
            ("(0, 0), the identity's encoding", p256(&zero, &zero)),
            (
                "x not below the modulus",
                p256(&hex(P256_MODULUS), &hex(ZERO_X_Y)),
            ),
        ];
        for (name, key) in invalid {
            assert_eq!(
                PROVIDER.validate_public_key(&key),
                Err(JwkError::NotOnCurve),
                "{name}"
            );
            assert_eq!(
                ES256_VERIFIER.verify(&key, &[b"input"], &[1u8; 64]),
                Err(SignatureCheckError::InvalidKey(JwkError::NotOnCurve)),
                "{name}"
            );
        }
        // A valid key with a bad signature is a signature error, not a key error.
        assert_eq!(
            ES256_VERIFIER.verify(&good, &[b"input"], &[1u8; 64]),
            Err(SignatureCheckError::InvalidSignature)
        );
        // A key of another curve is never handed to the curve arithmetic.
        let p384 = PublicJwk::from_coordinates(Curve::P384, &[1; 48], &[2; 48]).unwrap();
        assert_eq!(
            ES256_VERIFIER.verify(&p384, &[b"input"], &[1u8; 64]),
            Err(SignatureCheckError::InvalidSignature)
        );
    }

    #[test]
    fn the_provider_bundles_verifiers_keys_and_signing() {
        for alg in Algorithm::ALL {
            let verifier = PROVIDER.verifier(alg);
            assert_eq!(
                verifier.map(|v| v.algorithm()),
                COMPILED_IN
                    .iter()
                    .map(|v| v.algorithm())
                    .find(|a| *a == alg),
                "{alg:?}"
            );
        }
        let key = PROVIDER
            .signing_key_from_scalar(Algorithm::Es256, &[7u8; 32])
            .unwrap();
        let mut sig = [0u8; 64];
        assert_eq!(key.try_sign(&[b"msg"], &mut sig), Ok(64));
        let verifier = PROVIDER.verifier(Algorithm::Es256).unwrap();
        assert_eq!(verifier.verify(key.public_jwk(), &[b"msg"], &sig), Ok(()));
        assert_eq!(
            PROVIDER
                .signing_key_from_scalar(Algorithm::Es256, &[0u8; 32])
                .unwrap_err(),
            KeyError::InvalidScalar
        );
        // The private JWK path checks the public point first: an off-curve (x, y) is reported
        // as such, not as a mismatch with `d`.
        let mut buf = [0u8; crate::consts::MAX_PRIVATE_JWK_LEN];
        let json = key.write_private_jwk(&mut buf).unwrap();
        let again = PROVIDER.signing_key_from_jwk(json.as_bytes()).unwrap();
        assert_eq!(again.public_jwk(), key.public_jwk());
        let y = json
            .split("\"y\":\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let mut bad_y = std::string::String::from(y);
        let last = if bad_y.ends_with('A') { "Q" } else { "A" };
        bad_y.replace_range(bad_y.len() - 1.., last);
        let off_curve = json.replace(y, &bad_y);
        assert_eq!(
            PROVIDER
                .signing_key_from_jwk(off_curve.as_bytes())
                .unwrap_err(),
            KeyError::Jwk(JwkError::NotOnCurve)
        );
    }

    /// PKCS#8 for P-256 with the scalar `01 5A 5A ...`: an RFC 5208 `PrivateKeyInfo` wrapping
    /// an RFC 5915 `ECPrivateKey` without the optional public key.
    fn pkcs8_p256() -> (std::vec::Vec<u8>, [u8; 32]) {
        let mut d = [0x5A; 32];
        d[0] = 1;
        let mut der = std::vec![
            0x30, 0x41, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d,
            0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x27,
            0x30, 0x25, 0x02, 0x01, 0x01, 0x04, 0x20,
        ];
        der.extend(d);
        (der, d)
    }

    #[test]
    #[cfg(feature = "pkcs8")]
    fn pkcs8_loads_the_key_of_its_scalar() {
        let (der, d) = pkcs8_p256();
        let key = PROVIDER
            .signing_key_from_pkcs8(Algorithm::Es256, &der)
            .unwrap();
        let raw = SigningKey::from_bytes(Algorithm::Es256, &d).unwrap();
        assert_eq!(key.public_jwk(), raw.public_jwk());
        assert_eq!(
            PROVIDER
                .signing_key_from_pkcs8(Algorithm::Es256, &der[..der.len() - 1])
                .unwrap_err(),
            KeyError::InvalidScalar
        );
        #[cfg(feature = "es384")]
        assert_eq!(
            PROVIDER
                .signing_key_from_pkcs8(Algorithm::Es384, &der)
                .unwrap_err(),
            KeyError::InvalidScalar
        );
    }

    #[test]
    #[cfg(not(feature = "pkcs8"))]
    fn pkcs8_needs_its_feature() {
        let (der, _) = pkcs8_p256();
        assert_eq!(
            PROVIDER
                .signing_key_from_pkcs8(Algorithm::Es256, &der)
                .unwrap_err(),
            KeyError::UnsupportedFormat
        );
    }
}
