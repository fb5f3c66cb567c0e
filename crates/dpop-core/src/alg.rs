//! Algorithms, curves and the crypto seam (RFC 7518 section 3.4).
//!
//! Verification goes through [`VerifyAlgorithm`] trait objects and signing through
//! [`ProofSigner`], as rustls does with its crypto providers: another backend (an assembly
//! implementation, an HSM, a KMS) plugs in without changing the API, and curves that are not
//! used are not linked. The built-in backend is RustCrypto (`p256`, `p384`, `p521`), one feature
//! per algorithm: [`ES256`], [`ES384`], [`ES512`].
//!
//! A verifier only ever accepts the algorithms it is given explicitly, never "whatever features
//! happen to be compiled in".

use core::fmt::Debug;

use crate::error::{InvalidSignature, SignError};
use crate::jwk::PublicJwk;

#[cfg(any(feature = "es256", feature = "es384", feature = "es512"))]
mod rustcrypto;
#[cfg(any(feature = "es256", feature = "es384", feature = "es512"))]
pub(crate) use rustcrypto::check_point;
#[cfg(any(feature = "es256", feature = "es384", feature = "es512"))]
pub use rustcrypto::*;

/// Largest raw `r||s` signature (ES512: 2 x 66 bytes).
pub const MAX_SIGNATURE_LEN: usize = 132;

/// A JWS algorithm usable for DPoP proofs. `none`, HMAC, RSA, EdDSA and ES256K are not
/// representable, so they can never be accepted by mistake.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// ECDSA using P-256 and SHA-256.
    Es256,
    /// ECDSA using P-384 and SHA-384.
    Es384,
    /// ECDSA using P-521 and SHA-512.
    Es512,
}

impl Algorithm {
    /// All algorithms, strongest last.
    pub const ALL: [Self; 3] = [Self::Es256, Self::Es384, Self::Es512];

    /// The JWS `alg` name (`"ES256"`, ...).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::Es512 => "ES512",
        }
    }

    /// Parses a JWS `alg` name, case-sensitively (RFC 7515 section 4.1.1).
    ///
    /// ```
    /// use dpop_core::alg::Algorithm;
    /// assert_eq!(Algorithm::from_name("ES384"), Some(Algorithm::Es384));
    /// assert_eq!(Algorithm::from_name("es384"), None);
    /// assert_eq!(Algorithm::from_name("none"), None);
    /// ```
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The curve this algorithm signs with.
    #[must_use]
    pub const fn curve(self) -> Curve {
        match self {
            Self::Es256 => Curve::P256,
            Self::Es384 => Curve::P384,
            Self::Es512 => Curve::P521,
        }
    }

    /// Length of the raw `r||s` signature: 64, 96 or 132 bytes (RFC 7518 section 3.4).
    #[must_use]
    pub const fn signature_len(self) -> usize {
        self.curve().coordinate_len() * 2
    }

    /// The checks every [`VerifyAlgorithm`] backend makes before any arithmetic: the key is on
    /// this algorithm's curve and the signature is exactly the raw `r||s` length (so DER never
    /// reaches a backend).
    ///
    /// # Errors
    ///
    /// [`InvalidSignature`] when either does not hold.
    pub fn check_key_and_signature(
        self,
        key: &PublicJwk,
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        if key.curve() == self.curve() && signature.len() == self.signature_len() {
            Ok(())
        } else {
            Err(InvalidSignature)
        }
    }
}

/// A NIST curve of RFC 7518 section 6.2.1.1.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Curve {
    /// P-256 (secp256r1).
    P256,
    /// P-384 (secp384r1).
    P384,
    /// P-521 (secp521r1).
    P521,
}

impl Curve {
    /// The JWK `crv` name (`"P-256"`, ...).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::P256 => "P-256",
            Self::P384 => "P-384",
            Self::P521 => "P-521",
        }
    }

    /// Parses a JWK `crv` name, case-sensitively.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::P256, Self::P384, Self::P521]
            .into_iter()
            .find(|c| c.name() == name)
    }

    /// Length of a coordinate or private scalar: 32, 48 or 66 bytes (RFC 7518 section
    /// 6.2.1.2: the full size of the field, leading zeros included).
    #[must_use]
    pub const fn coordinate_len(self) -> usize {
        match self {
            Self::P256 => 32,
            Self::P384 => 48,
            Self::P521 => 66,
        }
    }

    /// The one algorithm that signs with this curve.
    #[must_use]
    pub const fn algorithm(self) -> Algorithm {
        match self {
            Self::P256 => Algorithm::Es256,
            Self::P384 => Algorithm::Es384,
            Self::P521 => Algorithm::Es512,
        }
    }
}

/// Signature verification for one algorithm: the seam a backend implements.
pub trait VerifyAlgorithm: Send + Sync + Debug {
    /// The algorithm this verifies.
    fn algorithm(&self) -> Algorithm;

    /// Verifies a raw `r||s` `signature` over the concatenation of `signing_input`.
    ///
    /// The key's curve is the algorithm's (the caller checks), and the key is on the curve
    /// (a [`PublicJwk`] cannot be made otherwise).
    ///
    /// # Errors
    ///
    /// [`InvalidSignature`] when the signature is not exactly
    /// [`Algorithm::signature_len`] bytes or does not verify.
    fn verify(
        &self,
        key: &PublicJwk,
        signing_input: &[&[u8]],
        signature: &[u8],
    ) -> Result<(), InvalidSignature>;
}

/// A private key that signs proofs: in memory ([`SigningKey`](crate::key::SigningKey)), or held
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

/// The built-in verifiers for every algorithm compiled in, for
/// [`Verifier::new`](crate::proof::verify::Verifier::new). A server that wants fewer lists them
/// itself.
pub const ALL_COMPILED_IN: &[&dyn VerifyAlgorithm] = &[
    #[cfg(feature = "es256")]
    ES256,
    #[cfg(feature = "es384")]
    ES384,
    #[cfg(feature = "es512")]
    ES512,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(a.name()), Some(a));
            assert_eq!(Curve::from_name(a.curve().name()), Some(a.curve()));
            assert_eq!(a.curve().algorithm(), a);
        }
        for bad in [
            "none", "HS256", "RS256", "EdDSA", "ES256K", "PS256", "es256", "",
        ] {
            assert_eq!(Algorithm::from_name(bad), None, "{bad}");
        }
        assert_eq!(Curve::from_name("secp256k1"), None);
        assert_eq!(Curve::from_name("p-256"), None);
    }

    #[test]
    fn sizes_match_rfc7518() {
        assert_eq!(Algorithm::Es256.signature_len(), 64);
        assert_eq!(Algorithm::Es384.signature_len(), 96);
        assert_eq!(Algorithm::Es512.signature_len(), 132);
        assert_eq!(MAX_SIGNATURE_LEN, 132);
    }
}
