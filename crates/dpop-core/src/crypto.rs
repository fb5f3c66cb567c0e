//! The crypto seam: what a backend supplies, as rustls's crypto providers do.
//!
//! A backend is one [`CryptoProvider`]: its verifiers ([`VerifyAlgorithm`] trait objects), the
//! public-key point check, key generation and loading (raw scalar, PKCS#8, private JWK), and its
//! in-memory signing key (a [`ProofSigner`]). The built-in backend is
//! `rustcrypto::RustCryptoProvider` (`p256`, `p384`, `p521`, one feature per algorithm);
//! `dpop-aws-lc-rs` is a peer implementation. An external signer (HSM, KMS) needs no provider at
//! all: it implements [`ProofSigner`], and dpop-core builds and signs proofs with it even with
//! every curve feature off.
//!
//! A [`PublicJwk`] is checked for structure only (members, exact lengths, canonical base64url);
//! whether its point is on the curve is the backend's question, answered once per verification
//! while the backend prepares the key (a backend's cached verifier answers it once per key), or
//! up front with [`CryptoProvider::validate_public_key`]. A key that fails it makes
//! [`VerifyAlgorithm::verify`] return [`SignatureCheckError::InvalidKey`], which a proof
//! verification reports as [`VerifyError::Jwk`](crate::VerifyError::Jwk).
//!
//! A verifier only ever accepts the algorithms it is given explicitly, never "whatever features
//! happen to be compiled in": a server names each accepted verifier, with its backend, as in
//! `Verifier::new(&[rustcrypto::ES256_VERIFIER])`.

use core::fmt::Debug;

use zeroize::Zeroize as _;

use crate::alg::Algorithm;
use crate::error::{JwkError, KeyError, SignError, SignatureCheckError};
use crate::jwk::PublicJwk;

#[cfg(any(feature = "es256", feature = "es384", feature = "es512"))]
pub mod rustcrypto;

/// Largest raw `r||s` signature (ES512: 2 x 66 bytes).
pub const MAX_SIGNATURE_LEN: usize = 132;

/// Signature verification for one algorithm: the seam a backend implements.
pub trait VerifyAlgorithm: Send + Sync + Debug {
    /// The algorithm this verifies.
    fn algorithm(&self) -> Algorithm;

    /// Verifies a raw `r||s` `signature` over the concatenation of `signing_input`.
    ///
    /// The key is structurally valid (a [`PublicJwk`] cannot be made otherwise) but its point
    /// has not been checked: the backend checks it (each coordinate below the field modulus,
    /// on the curve, not the identity) before it verifies, as part of preparing the key.
    ///
    /// # Errors
    ///
    /// [`SignatureCheckError::InvalidKey`]`(`[`JwkError::NotOnCurve`]`)` for a key that is not
    /// a valid point; [`SignatureCheckError::InvalidSignature`] when the key's curve is not the
    /// algorithm's, or the signature is not exactly [`Algorithm::signature_len`] bytes or does
    /// not verify.
    fn verify(
        &self,
        key: &PublicJwk,
        signing_input: &[&[u8]],
        signature: &[u8],
    ) -> Result<(), SignatureCheckError>;
}

/// Everything a crypto backend supplies, in one type (rustls's `CryptoProvider` is the model):
/// verifiers, the public-key point check, key generation and loading, and signing.
///
/// A provider is a `Copy` unit value (`rustcrypto::PROVIDER`, `dpop_aws_lc_rs::PROVIDER`) and
/// the trait is used with static dispatch: loading a key returns the backend's own
/// [`SigningKey`](Self::SigningKey) by value, which needs no allocator, so the seam works in
/// `no_std` without `alloc`.
///
/// Code written once works with any backend:
///
/// ```
/// # #[cfg(feature = "es256")] {
/// use dpop_core::crypto::{CryptoProvider, ProofSigner as _, rustcrypto};
/// use dpop_core::{Algorithm, KeyError, consts::MAX_PRIVATE_JWK_LEN};
///
/// /// Loads a stored private JWK with whichever backend the application uses.
/// fn load_key<P: CryptoProvider>(provider: P, jwk: &[u8]) -> Result<P::SigningKey, KeyError> {
///     provider.signing_key_from_jwk(jwk)
/// }
///
/// let key = rustcrypto::PROVIDER.signing_key_from_scalar(Algorithm::Es256, &[7u8; 32])?;
/// let mut buf = [0u8; MAX_PRIVATE_JWK_LEN];
/// let loaded = load_key(rustcrypto::PROVIDER, key.write_private_jwk(&mut buf)?.as_bytes())?;
/// assert_eq!(loaded.public_jwk(), key.public_jwk());
/// rustcrypto::PROVIDER.validate_public_key(loaded.public_jwk())?;
/// let es256 = rustcrypto::PROVIDER.verifier(Algorithm::Es256);
/// assert_eq!(es256.map(|v| v.algorithm()), Some(Algorithm::Es256));
/// # }
/// # Ok::<(), dpop_core::Error>(())
/// ```
pub trait CryptoProvider: Copy + Debug + Send + Sync + 'static {
    /// The backend's in-memory private key.
    type SigningKey: ProofSigner;

    /// This backend's verifier for `algorithm`, or `None` when it does not have it (for the
    /// RustCrypto backend: when the algorithm's feature is off). A server still lists the
    /// verifiers it accepts explicitly; this is for code that picks one algorithm at run time.
    fn verifier(&self, algorithm: Algorithm) -> Option<&'static dyn VerifyAlgorithm>;

    /// Checks that `key` is a valid point of its curve: each coordinate below the field
    /// modulus, on the curve, not the identity. Verification does this itself (once per
    /// verification, or once per key for a caching verifier); call this to check a key
    /// received outside a proof, for example before binding a token to it.
    ///
    /// # Errors
    ///
    /// [`JwkError::NotOnCurve`] for an invalid point, [`JwkError::UnsupportedCurve`] when the
    /// backend does not have the key's curve.
    fn validate_public_key(&self, key: &PublicJwk) -> Result<(), JwkError>;

    /// A signing key from a raw big-endian private scalar of exactly
    /// [`Curve::coordinate_len`](crate::Curve::coordinate_len) bytes (a JWK's `d`).
    ///
    /// # Errors
    ///
    /// [`KeyError::InvalidScalar`] for a wrong length, zero, or a value not below the group
    /// order; [`KeyError::UnsupportedAlgorithm`] when the backend does not have the algorithm.
    fn signing_key_from_scalar(
        &self,
        algorithm: Algorithm,
        scalar: &[u8],
    ) -> Result<Self::SigningKey, KeyError>;

    /// A signing key from an unencrypted PKCS#8 v1 (RFC 5208) `id-ecPublicKey` private key in
    /// DER, for `algorithm`'s curve.
    ///
    /// # Errors
    ///
    /// [`KeyError::InvalidScalar`] when the document is not such a key;
    /// [`KeyError::UnsupportedAlgorithm`] when the backend does not have the algorithm or, for
    /// the RustCrypto backend, its `pkcs8` feature is off.
    fn signing_key_from_pkcs8(
        &self,
        algorithm: Algorithm,
        der: &[u8],
    ) -> Result<Self::SigningKey, KeyError>;

    /// A signing key from a private EC JWK (`kty`, `crv`, `x`, `y`, `d`): the JWK is parsed by
    /// dpop-core, its public point checked with
    /// [`validate_public_key`](Self::validate_public_key), the scalar loaded with
    /// [`signing_key_from_scalar`](Self::signing_key_from_scalar), and `d` must belong to
    /// `(x, y)`. The decoded scalar is wiped on every path.
    ///
    /// # Errors
    ///
    /// [`KeyError::Jwk`] with [`JwkError::Missing`]`(D)` when `d` is absent,
    /// [`JwkError::InvalidPrivateKey`] for a bad scalar, [`JwkError::PrivateKeyMismatch`] when
    /// `d` does not match the public point, or any public-key error.
    fn signing_key_from_jwk(&self, json: &[u8]) -> Result<Self::SigningKey, KeyError> {
        let mut scalar = [0u8; crate::jwk::MAX_COORDINATE_LEN];
        let result = crate::jwk::parse_private(json, &mut scalar).and_then(|(public, n)| {
            self.validate_public_key(&public)?;
            let key = self
                .signing_key_from_scalar(public.algorithm(), scalar.get(..n).unwrap_or_default())
                .map_err(|e| match e {
                    KeyError::UnsupportedAlgorithm => e,
                    _ => KeyError::Jwk(JwkError::InvalidPrivateKey),
                })?;
            if key.public_jwk() == &public {
                Ok(key)
            } else {
                Err(KeyError::Jwk(JwkError::PrivateKeyMismatch))
            }
        });
        scalar.zeroize();
        result
    }

    /// Generates a fresh key for `algorithm` from the caller's CSPRNG: draws a scalar of the
    /// curve's size (for P-521, the top 7 bits cleared) and loads it with
    /// [`signing_key_from_scalar`](Self::signing_key_from_scalar), drawing again when it is
    /// zero or not below the group order (rejection sampling, FIPS 186-5 appendix A.2.2;
    /// a redraw happens with probability below 2^-32). The drawn bytes are wiped.
    ///
    /// # Errors
    ///
    /// [`KeyError::Rng`] when the generator fails (or 64 draws in a row are out of range,
    /// which a working generator never does); [`KeyError::UnsupportedAlgorithm`] when the
    /// backend does not have the algorithm.
    fn generate_signing_key<R: rand_core::TryCryptoRng + ?Sized>(
        &self,
        algorithm: Algorithm,
        rng: &mut R,
    ) -> Result<Self::SigningKey, KeyError> {
        let n = algorithm.curve().coordinate_len();
        let mut scalar = [0u8; crate::jwk::MAX_COORDINATE_LEN];
        let mut result = Err(KeyError::Rng);
        for _ in 0..64 {
            let Some(bytes) = scalar.get_mut(..n) else {
                break;
            };
            if rng.try_fill_bytes(bytes).is_err() {
                result = Err(KeyError::Rng);
                break;
            }
            if algorithm.curve() == crate::Curve::P521
                && let Some(top) = bytes.first_mut()
            {
                *top &= 0x01;
            }
            result = self.signing_key_from_scalar(algorithm, bytes);
            match result {
                Err(KeyError::InvalidScalar) => result = Err(KeyError::Rng),
                _ => break,
            }
        }
        scalar.zeroize();
        result
    }
}

/// A private key that signs proofs: in memory (`SigningKey`), or held
/// in an HSM or KMS.
pub trait ProofSigner {
    /// The algorithm of the signatures.
    fn algorithm(&self) -> Algorithm;

    /// The public key, written into each proof's header.
    fn public_jwk(&self) -> &PublicJwk;

    /// Signs the concatenation of `signing_input`, writing the raw `r||s` signature (exactly
    /// [`Algorithm::signature_len`] bytes) to the front of `out`; returns its length.
    ///
    /// # Errors
    ///
    /// [`SignError`] when signing fails or `out` is too small.
    fn try_sign(&self, signing_input: &[&[u8]], out: &mut [u8]) -> Result<usize, SignError>;
}

/// Forwards [`ProofSigner`] through a reference or smart pointer, so a key can be shared by
/// several clients or an HSM signer boxed.
macro_rules! forward_signer {
    ($ty:ty) => {
        impl<T: ProofSigner + ?Sized> ProofSigner for $ty {
            fn algorithm(&self) -> Algorithm {
                (**self).algorithm()
            }
            fn public_jwk(&self) -> &PublicJwk {
                (**self).public_jwk()
            }
            fn try_sign(
                &self,
                signing_input: &[&[u8]],
                out: &mut [u8],
            ) -> Result<usize, SignError> {
                (**self).try_sign(signing_input, out)
            }
        }
    };
}

forward_signer!(&T);
#[cfg(feature = "alloc")]
forward_signer!(alloc::boxed::Box<T>);
#[cfg(feature = "alloc")]
forward_signer!(alloc::sync::Arc<T>);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::{HttpMethod, ProofId};
    use crate::htu::TargetUri;
    use crate::proof::create::NewProof;
    use crate::time::UnixTime;

    /// An external signer (an HSM or KMS) as dpop-core sees it: a public key given by its
    /// coordinates, and a signing call that returns the bytes the device produced. Here the
    /// device is a recording: the P-256 signature (RFC 6979, the scalar `07 07 ... 07`) of the
    /// one signing input the test produces, computed once by the RustCrypto backend (the test
    /// below, with `es256`, checks that it verifies). Any other input is refused, as a KMS
    /// policy would.
    #[derive(Debug)]
    struct RecordedHsm {
        public: PublicJwk,
    }

    /// The public point of the scalar `07 07 ... 07` on P-256.
    const HSM_X: &str = "1e18532fd4754c02f3041d9c75ceb33b83ffd81ac7ce4fe882ccb1c98bc5896e";
    const HSM_Y: &str = "a46c311c4e2ff40dd96a3653e6e45445d32dfe486eced75c7a90c6a18881c0a3";
    /// The signature over [`SIGNING_INPUT`].
    const HSM_SIGNATURE: &str = concat!(
        "74ee81aa7f28470018bacceb7bb467c94d252999d859b9093552ceddc02bafeb",
        "f74bf0b76f68dcf275252efbab18cd7b4637ebe5e4a273bc722ef8f75d04a7e0"
    );
    /// What [`NewProof::encode`] hands the signer for the proof below.
    const SIGNING_INPUT: &str = concat!(
        "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7ImNydiI6IlAtMjU2Iiwia3R5Ijoi",
        "RUMiLCJ4IjoiSGhoVEw5UjFUQUx6QkIyY2RjNnpPNFBfMkJySHprX29nc3l4eVl2RmlXNCIsInkiOiJw",
        "R3d4SEU0djlBM1phalpUNXVSVVJkTXRfa2h1enRkY2VwREdvWWlCd0tNIn19.eyJqdGkiOiJoc20tMSI",
        "sImh0bSI6IlBPU1QiLCJodHUiOiJodHRwczovL2hzbS5leGFtcGxlL3Jlc291cmNlIiwiaWF0IjoxNzA",
        "wMDAwMDAwfQ",
    );

    fn hex(s: &str) -> std::vec::Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(s.get(i..i + 2).unwrap(), 16).unwrap())
            .collect()
    }

    impl ProofSigner for RecordedHsm {
        fn algorithm(&self) -> Algorithm {
            Algorithm::Es256
        }

        fn public_jwk(&self) -> &PublicJwk {
            &self.public
        }

        fn try_sign(&self, signing_input: &[&[u8]], out: &mut [u8]) -> Result<usize, SignError> {
            let input: std::vec::Vec<u8> = signing_input.concat();
            if input != SIGNING_INPUT.as_bytes() {
                return Err(SignError);
            }
            let signature = hex(HSM_SIGNATURE);
            out.get_mut(..signature.len())
                .ok_or(SignError)?
                .copy_from_slice(&signature);
            Ok(signature.len())
        }
    }

    fn hsm() -> RecordedHsm {
        RecordedHsm {
            public: PublicJwk::from_coordinates(crate::Curve::P256, &hex(HSM_X), &hex(HSM_Y))
                .unwrap(),
        }
    }

    fn encode<'b>(signer: &dyn ProofSigner, out: &'b mut [u8]) -> &'b str {
        let uri = TargetUri::parse("https://hsm.example/resource").unwrap();
        let id = ProofId::new("hsm-1").unwrap();
        NewProof::new(
            HttpMethod::POST,
            uri,
            id,
            UnixTime::from_secs(1_700_000_000),
        )
        .encode(signer, out)
        .unwrap()
    }

    /// Runs in every feature combination, including none at all: proof creation needs no curve
    /// arithmetic when the signature comes from elsewhere.
    #[test]
    fn an_external_signer_creates_proofs_without_any_curve_feature() {
        let mut buf = [0u8; 1024];
        let proof = encode(&hsm(), &mut buf);
        let (signing_input, signature) = proof.rsplit_once('.').unwrap();
        assert_eq!(signing_input, SIGNING_INPUT);
        let mut raw = [0u8; 64];
        assert_eq!(
            crate::base64url::decode(signature.as_bytes(), &mut raw).unwrap(),
            hex(HSM_SIGNATURE).as_slice()
        );
    }

    #[cfg(feature = "es256")]
    #[test]
    fn the_recorded_signer_matches_the_rustcrypto_key() {
        let key = crate::SigningKey::from_bytes(Algorithm::Es256, &[7u8; 32]).unwrap();
        let mut buf = [0u8; 1024];
        let proof = std::string::String::from(encode(&key, &mut buf));
        assert_eq!(key.public_jwk(), hsm().public_jwk());
        let mut buf = [0u8; 1024];
        assert_eq!(encode(&hsm(), &mut buf), proof);
        // and the recorded proof verifies
        let uri = TargetUri::parse("https://hsm.example/resource").unwrap();
        let verified = crate::Verifier::new(&[rustcrypto::ES256_VERIFIER]).verify(
            &proof,
            &crate::Expected::new(HttpMethod::POST, uri),
            UnixTime::from_secs(1_700_000_000),
        );
        assert_eq!(
            verified.map(|v| *v.thumbprint()),
            Ok(hsm().public_jwk().thumbprint())
        );
    }
}
