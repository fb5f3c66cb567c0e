//! [`AwsLcSigningKey`]: a private key that signs proofs with aws-lc-rs.

use core::fmt;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING,
    ECDSA_P521_SHA512_FIXED_SIGNING, EcdsaKeyPair, EcdsaSigningAlgorithm, KeyPair,
};
use aws_lc_rs::{agreement, digest};
use dpop_core::{Algorithm, Curve, KeyError, PublicJwk, SignError, crypto::ProofSigner};

use crate::verify::parameters;

/// A private EC key that signs DPoP proofs with aws-lc-rs (fixed-size `r || s` signatures).
///
/// Signatures use AWS-LC's random nonces, so signing the same input twice gives two different
/// (both valid) signatures, unlike dpop-core's deterministic RFC 6979 `SigningKey`. The secret lives in AWS-LC's `EVP_PKEY`, which
/// clears it when the key is dropped. `Debug` shows only the algorithm and the public thumbprint.
///
/// ```
/// use dpop_aws_lc_rs::{ES256_VERIFIER, AwsLcSigningKey};
/// use dpop_core::{
///     Algorithm, Expected, HttpMethod, NewProof, ProofId, TargetUri, UnixTime, Verifier,
///     crypto::ProofSigner,
/// };
///
/// let key = AwsLcSigningKey::from_bytes(Algorithm::Es256, &[7u8; 32])?;
/// let uri = TargetUri::parse("https://api.example.com/items")?;
/// let now = UnixTime::from_secs(1_700_000_000);
/// let mut buf = [0u8; 1024];
/// let jws = NewProof::new(HttpMethod::GET, uri, ProofId::new("id-1")?, now).encode(&key, &mut buf)?;
/// let verified = Verifier::new(&[ES256_VERIFIER]).verify(jws, &Expected::new(HttpMethod::GET, uri), now)?;
/// assert_eq!(verified.thumbprint(), &key.public_jwk().thumbprint());
/// assert!(!format!("{key:?}").contains("0707"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AwsLcSigningKey {
    pair: EcdsaKeyPair,
    public: PublicJwk,
    rng: SystemRandom,
}

impl AwsLcSigningKey {
    /// Generates a fresh key for `algorithm` from AWS-LC's CSPRNG.
    ///
    /// # Errors
    ///
    /// [`KeyError::Rng`] when AWS-LC fails to generate a key.
    pub fn generate(algorithm: Algorithm) -> Result<Self, KeyError> {
        let pair = EcdsaKeyPair::generate(signing(algorithm)?).map_err(|_| KeyError::Rng)?;
        Self::from_pair(algorithm, pair)
    }

    /// Uses a raw big-endian private scalar of exactly [`Curve::coordinate_len`] bytes (as in
    /// a JWK's `d`), like dpop-core's `SigningKey::from_bytes`.
    ///
    /// # Errors
    ///
    /// [`KeyError::InvalidScalar`] for a wrong length, zero, or a value not below the group
    /// order.
    pub fn from_bytes(algorithm: Algorithm, scalar: &[u8]) -> Result<Self, KeyError> {
        // The full size only (AWS-LC would accept a shorter big-endian number).
        if scalar.len() != algorithm.curve().coordinate_len() {
            return Err(KeyError::InvalidScalar);
        }
        // AWS-LC checks the scalar (in [1, n-1]) and derives the public point (through its
        // ECDH key type, which takes a raw scalar), then checks that the two belong together.
        let private =
            agreement::PrivateKey::from_private_key(agreement_algorithm(algorithm)?, scalar)
                .map_err(|_| KeyError::InvalidScalar)?;
        let point = private
            .compute_public_key()
            .map_err(|_| KeyError::InvalidScalar)?;
        let pair = EcdsaKeyPair::from_private_key_and_public_key(
            signing(algorithm)?,
            scalar,
            point.as_ref(),
        )
        .map_err(|_| KeyError::InvalidScalar)?;
        Self::from_pair(algorithm, pair)
    }

    /// Parses an unencrypted PKCS#8 v1 (RFC 5208) `id-ecPublicKey` private key in DER, as
    /// `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -outform DER` writes it.
    ///
    /// # Errors
    ///
    /// [`KeyError::InvalidScalar`] when the document is not such a key for `algorithm`'s curve.
    pub fn from_pkcs8(algorithm: Algorithm, der: &[u8]) -> Result<Self, KeyError> {
        let pair = EcdsaKeyPair::from_pkcs8(signing(algorithm)?, der)
            .map_err(|_| KeyError::InvalidScalar)?;
        Self::from_pair(algorithm, pair)
    }

    fn from_pair(algorithm: Algorithm, pair: EcdsaKeyPair) -> Result<Self, KeyError> {
        let curve = algorithm.curve();
        let n = curve.coordinate_len();
        // aws-lc-rs gives the public key as the SEC1 uncompressed point 04 || x || y.
        let point = pair.public_key().as_ref();
        let (x, y) = match point.split_first() {
            Some((0x04, xy)) if xy.len() == 2 * n => xy.split_at(n),
            _ => return Err(KeyError::InvalidScalar),
        };
        let public = PublicJwk::from_coordinates(curve, x, y).map_err(KeyError::Jwk)?;
        Ok(Self {
            pair,
            public,
            rng: SystemRandom::new(),
        })
    }

    /// The algorithm this key signs with.
    #[must_use]
    pub const fn algorithm(&self) -> Algorithm {
        self.public.algorithm()
    }

    /// The public key.
    #[must_use]
    pub const fn public_jwk(&self) -> &PublicJwk {
        &self.public
    }

    /// The curve of the key.
    #[must_use]
    pub const fn curve(&self) -> Curve {
        self.public.curve()
    }
}

impl ProofSigner for AwsLcSigningKey {
    fn algorithm(&self) -> Algorithm {
        self.public.algorithm()
    }

    fn public_jwk(&self) -> &PublicJwk {
        &self.public
    }

    fn try_sign(&self, signing_input: &[&[u8]], out: &mut [u8]) -> Result<usize, SignError> {
        let signature = match signing_input {
            [message] => self.pair.sign(&self.rng, message),
            parts => {
                // aws-lc-rs signs one contiguous message; hash the parts with its streaming
                // digest and sign the digest instead of copying them together.
                let (_, digest_algorithm) = parameters(self.algorithm()).ok_or(SignError)?;
                let mut context = digest::Context::new(digest_algorithm);
                for part in parts {
                    context.update(part);
                }
                self.pair.sign_digest(&context.finish())
            }
        }
        .map_err(|_| SignError)?;
        let bytes = signature.as_ref();
        if bytes.len() != self.algorithm().signature_len() {
            return Err(SignError);
        }
        out.get_mut(..bytes.len())
            .ok_or(SignError)?
            .copy_from_slice(bytes);
        Ok(bytes.len())
    }
}

impl fmt::Debug for AwsLcSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsLcSigningKey")
            .field("algorithm", &self.algorithm())
            .field("thumbprint", &self.public.thumbprint())
            .finish_non_exhaustive()
    }
}

fn agreement_algorithm(algorithm: Algorithm) -> Result<&'static agreement::Algorithm, KeyError> {
    match algorithm {
        Algorithm::Es256 => Ok(&agreement::ECDH_P256),
        Algorithm::Es384 => Ok(&agreement::ECDH_P384),
        Algorithm::Es512 => Ok(&agreement::ECDH_P521),
        #[allow(unreachable_patterns)]
        _ => Err(KeyError::UnsupportedAlgorithm),
    }
}

fn signing(algorithm: Algorithm) -> Result<&'static EcdsaSigningAlgorithm, KeyError> {
    match algorithm {
        Algorithm::Es256 => Ok(&ECDSA_P256_SHA256_FIXED_SIGNING),
        Algorithm::Es384 => Ok(&ECDSA_P384_SHA384_FIXED_SIGNING),
        Algorithm::Es512 => Ok(&ECDSA_P521_SHA512_FIXED_SIGNING),
        #[allow(unreachable_patterns)]
        _ => Err(KeyError::UnsupportedAlgorithm),
    }
}
