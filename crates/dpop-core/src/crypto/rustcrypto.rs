//! The RustCrypto backend: `p256`, `p384` and `p521` with deterministic RFC 6979 signing, one
//! crate feature per algorithm (`es256`, `es384`, `es512`).
//!
//! Its verifiers are named after backend and algorithm, so that a server's setup reads as what
//! it accepts: `Verifier::new(&[rustcrypto::ES256_VERIFIER])`, beside
//! `dpop_aws_lc_rs::ES256_VERIFIER` for the aws-lc-rs backend.
//!
//! One macro instantiation per curve keeps the three backends identical in shape. High-S
//! signatures verify (RustCrypto does not normalize S for the NIST curves), as with every other
//! major implementation; replay detection therefore never keys on signature bytes.

use super::VerifyAlgorithm;
use crate::alg::Algorithm;
use crate::curve::Curve;
use crate::error::{InvalidSignature, JwkError};
use crate::jwk::PublicJwk;

/// Checks that `(x, y)` is a point of `curve` other than the identity.
pub(crate) fn check_point(curve: Curve, x: &[u8], y: &[u8]) -> Result<(), JwkError> {
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
    ($feature:literal, $module:ident, $krate:ident, $alg:ident, $unit:ident, $static:ident) => {
        #[cfg(feature = $feature)]
        pub(crate) mod $module {
            use $krate::ecdsa::signature::{MultipartSigner, MultipartVerifier};
            use $krate::ecdsa::{Signature, SigningKey, VerifyingKey};
            use $krate::elliptic_curve::point::AffineCoordinates;
            use $krate::{AffinePoint, FieldBytes};

            use crate::error::{InvalidSignature, SignError};

            /// The verifying key for affine coordinates, if they are a valid point: each
            /// coordinate below the field modulus, on the curve, not the identity. Built from
            /// the coordinates directly, not through a SEC1 encoding, so that point
            /// decompression (never needed: JWKs carry both coordinates) is not linked in.
            pub(crate) fn verifying_key(x: &[u8], y: &[u8]) -> Option<VerifyingKey> {
                let x: &FieldBytes = x.try_into().ok()?;
                let y: &FieldBytes = y.try_into().ok()?;
                let point = Option::<AffinePoint>::from(AffinePoint::from_coordinates(x, y))?;
                VerifyingKey::from_affine(point).ok()
            }

            /// Verifies a raw `r||s` signature over the concatenated parts.
            pub(crate) fn verify(
                x: &[u8],
                y: &[u8],
                input: &[&[u8]],
                signature: &[u8],
            ) -> Result<(), InvalidSignature> {
                let key = verifying_key(x, y).ok_or(InvalidSignature)?;
                // `from_slice` rejects any length but the raw size, so DER never parses, and
                // rejects r or s that are zero or not below the group order.
                let signature = Signature::from_slice(signature).map_err(|_| InvalidSignature)?;
                key.multipart_verify(input, &signature)
                    .map_err(|_| InvalidSignature)
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
                let signature: Signature = key.try_multipart_sign(input).map_err(|_| SignError)?;
                let bytes = signature.to_bytes();
                let dst = out.get_mut(..bytes.len()).ok_or(SignError)?;
                dst.copy_from_slice(&bytes);
                Ok(bytes.len())
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
            ) -> Result<(), InvalidSignature> {
                Algorithm::$alg.check_key_and_signature(key, signature)?;
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

curve_backend!("es256", es256, p256, Es256, RustCryptoEs256, ES256_VERIFIER);
curve_backend!("es384", es384, p384, Es384, RustCryptoEs384, ES384_VERIFIER);
curve_backend!("es512", es512, p521, Es512, RustCryptoEs512, ES512_VERIFIER);

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
