//! Verification with aws-lc-rs: the [`VerifyAlgorithm`] unit types and the constants
//! [`ES256_VERIFIER`], [`ES384_VERIFIER`] and [`ES512_VERIFIER`].
//!
//! Each verification builds the SEC1 uncompressed point `04 || x || y` of the JWK on the stack,
//! parses it with `ParsedPublicKey::new` (about 1 µs for P-256, which is AWS-LC's point check:
//! coordinates below the modulus, on the curve, not the identity; the only point check, since
//! a `PublicJwk` is structural) and verifies the fixed-size `r || s` signature. A server that sees the same
//! client keys again and again can skip the parse with
//! [`CachedAwsLcVerifier`](crate::CachedAwsLcVerifier).

use aws_lc_rs::digest;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P384_SHA384_FIXED, ECDSA_P521_SHA512_FIXED,
    EcdsaVerificationAlgorithm, ParsedPublicKey,
};
use dpop_core::{Algorithm, JwkError, PublicJwk, SignatureCheckError, crypto::VerifyAlgorithm};

/// Longest SEC1 uncompressed point: `04 || x || y` for P-521.
pub(crate) const MAX_POINT_LEN: usize = 1 + 2 * 66;

/// The aws-lc-rs verification algorithm (fixed-size signatures) and digest for `algorithm`.
pub(crate) fn parameters(
    algorithm: Algorithm,
) -> Option<(
    &'static EcdsaVerificationAlgorithm,
    &'static digest::Algorithm,
)> {
    match algorithm {
        Algorithm::Es256 => Some((&ECDSA_P256_SHA256_FIXED, &digest::SHA256)),
        Algorithm::Es384 => Some((&ECDSA_P384_SHA384_FIXED, &digest::SHA384)),
        Algorithm::Es512 => Some((&ECDSA_P521_SHA512_FIXED, &digest::SHA512)),
        // `Algorithm` is non-exhaustive: a future algorithm is not an ECDSA one we know.
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// Parses the key of `jwk` for `algorithm`: AWS-LC checks the point as it parses it.
///
/// # Errors
///
/// [`JwkError::NotOnCurve`] when AWS-LC refuses the point, [`JwkError::UnsupportedCurve`] for
/// a key of another curve than the algorithm's.
pub(crate) fn parse_key(
    algorithm: Algorithm,
    jwk: &PublicJwk,
) -> Result<ParsedPublicKey, JwkError> {
    let (verification, _) = parameters(algorithm).ok_or(JwkError::UnsupportedCurve)?;
    if jwk.curve() != algorithm.curve() {
        return Err(JwkError::UnsupportedCurve);
    }
    let mut point = [0u8; MAX_POINT_LEN];
    let point = sec1_uncompressed(jwk, &mut point).ok_or(JwkError::NotOnCurve)?;
    ParsedPublicKey::new(verification, point).map_err(|_| JwkError::NotOnCurve)
}

/// Checks the key's curve against the algorithm's, as every backend does before any
/// arithmetic; a key of another curve is a signature failure (the proof's `alg` decides).
pub(crate) fn check_curve(
    algorithm: Algorithm,
    jwk: &PublicJwk,
) -> Result<(), SignatureCheckError> {
    if jwk.curve() == algorithm.curve() {
        Ok(())
    } else {
        Err(SignatureCheckError::InvalidSignature)
    }
}

/// Writes `04 || x || y` into `out` and returns it.
pub(crate) fn sec1_uncompressed<'b>(jwk: &PublicJwk, out: &'b mut [u8]) -> Option<&'b [u8]> {
    let (x, y) = (jwk.x(), jwk.y());
    let len = 1 + x.len() + y.len();
    let out = out.get_mut(..len)?;
    let (tag, coordinates) = out.split_first_mut()?;
    *tag = 0x04;
    let (out_x, out_y) = coordinates.split_at_mut(x.len());
    out_x.copy_from_slice(x);
    out_y.copy_from_slice(y);
    Some(out)
}

/// Verifies `signature` over the concatenation of `signing_input` with a parsed key.
///
/// aws-lc-rs verifies one contiguous message; several parts are hashed with its streaming
/// digest instead, and the digest is verified, so nothing is copied.
pub(crate) fn verify_parsed(
    algorithm: Algorithm,
    key: &ParsedPublicKey,
    signing_input: &[&[u8]],
    signature: &[u8],
) -> Result<(), SignatureCheckError> {
    // Exactly the raw `r || s` length, so DER never reaches AWS-LC.
    if signature.len() != algorithm.signature_len() {
        return Err(SignatureCheckError::InvalidSignature);
    }
    let result = match signing_input {
        [message] => key.verify_sig(message, signature),
        parts => {
            let (_, digest_algorithm) =
                parameters(algorithm).ok_or(SignatureCheckError::InvalidSignature)?;
            let mut context = digest::Context::new(digest_algorithm);
            for part in parts {
                context.update(part);
            }
            key.verify_digest_sig(&context.finish(), signature)
        }
    };
    result.map_err(|_| SignatureCheckError::InvalidSignature)
}

macro_rules! aws_lc_verifier {
    ($alg:ident, $unit:ident, $constant:ident, $curve:literal) => {
        #[doc = concat!(
                            "The aws-lc-rs verifier for ", stringify!($alg), " (", $curve,
                            "): parses the key on every call. See [`", stringify!($constant), "`]."
                        )]
        #[derive(Clone, Copy, Debug, Default)]
        #[non_exhaustive]
        pub struct $unit;

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
                // The curve, then the point (as AWS-LC parses it), then the signature.
                check_curve(Algorithm::$alg, key)?;
                let parsed = parse_key(Algorithm::$alg, key)?;
                verify_parsed(Algorithm::$alg, &parsed, signing_input, signature)
            }
        }

        #[doc = concat!(
                            "Verifies ", stringify!($alg), " (ECDSA on ", $curve,
                            ") signatures with aws-lc-rs; a drop-in for dpop-core's `",
                            stringify!($alg), "` in a `Verifier`'s allow-list."
                        )]
        pub const $constant: &dyn VerifyAlgorithm = &$unit;
    };
}

aws_lc_verifier!(Es256, AwsLcEs256, ES256_VERIFIER, "P-256 with SHA-256");
aws_lc_verifier!(Es384, AwsLcEs384, ES384_VERIFIER, "P-384 with SHA-384");
aws_lc_verifier!(Es512, AwsLcEs512, ES512_VERIFIER, "P-521 with SHA-512");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_has_parameters() {
        for alg in Algorithm::ALL {
            assert!(parameters(alg).is_some(), "{alg:?}");
        }
    }
}
