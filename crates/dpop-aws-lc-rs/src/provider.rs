//! [`AwsLcProvider`]: the aws-lc-rs backend as one dpop-core `CryptoProvider`.

use dpop_core::crypto::{CryptoProvider, VerifyAlgorithm};
use dpop_core::{Algorithm, JwkError, KeyError, PublicJwk};

use crate::sign::AwsLcSigningKey;
use crate::verify::parse_key;
use crate::{ES256_VERIFIER, ES384_VERIFIER, ES512_VERIFIER};

/// The aws-lc-rs backend as one [`CryptoProvider`], a peer of dpop-core's
/// `crypto::rustcrypto::RustCryptoProvider`; use the value [`PROVIDER`].
///
/// It has every algorithm. Keys generated through
/// [`generate_signing_key`](CryptoProvider::generate_signing_key) draw their scalar from the
/// caller's generator; [`AwsLcSigningKey::generate`] uses AWS-LC's own.
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct AwsLcProvider;

/// The aws-lc-rs backend: `dpop_aws_lc_rs::PROVIDER.signing_key_from_pkcs8(...)`, beside
/// `dpop_core::crypto::rustcrypto::PROVIDER` for the RustCrypto backend.
///
/// ```
/// use dpop_aws_lc_rs::PROVIDER;
/// use dpop_core::crypto::{CryptoProvider as _, ProofSigner as _};
/// use dpop_core::{Algorithm, JwkError, PublicJwk};
///
/// let key = PROVIDER.signing_key_from_scalar(Algorithm::Es256, &[7u8; 32])?;
/// PROVIDER.validate_public_key(key.public_jwk())?;
/// // A structurally valid key that is not a point: refused by the provider's check.
/// let not_a_point = PublicJwk::from_coordinates(dpop_core::Curve::P256, &[0; 32], &[0; 32])?;
/// assert_eq!(PROVIDER.validate_public_key(&not_a_point), Err(JwkError::NotOnCurve));
/// # Ok::<(), dpop_core::Error>(())
/// ```
pub const PROVIDER: AwsLcProvider = AwsLcProvider;

impl CryptoProvider for AwsLcProvider {
    type SigningKey = AwsLcSigningKey;

    fn verifier(&self, algorithm: Algorithm) -> Option<&'static dyn VerifyAlgorithm> {
        match algorithm {
            Algorithm::Es256 => Some(ES256_VERIFIER),
            Algorithm::Es384 => Some(ES384_VERIFIER),
            Algorithm::Es512 => Some(ES512_VERIFIER),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    fn validate_public_key(&self, key: &PublicJwk) -> Result<(), JwkError> {
        parse_key(key.algorithm(), key).map(|_| ())
    }

    fn signing_key_from_scalar(
        &self,
        algorithm: Algorithm,
        scalar: &[u8],
    ) -> Result<AwsLcSigningKey, KeyError> {
        AwsLcSigningKey::from_bytes(algorithm, scalar)
    }

    fn signing_key_from_pkcs8(
        &self,
        algorithm: Algorithm,
        der: &[u8],
    ) -> Result<AwsLcSigningKey, KeyError> {
        AwsLcSigningKey::from_pkcs8(algorithm, der)
    }
}
