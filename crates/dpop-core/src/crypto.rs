//! The crypto seam: what a backend supplies, as rustls's crypto providers do.
//!
//! Verification goes through [`VerifyAlgorithm`] trait objects and signing through
//! [`ProofSigner`]: another backend (aws-lc-rs, an assembly implementation, an HSM, a KMS) plugs
//! in without changing the API, and curves that are not used are not linked. The built-in
//! backend is [`rustcrypto`] (`p256`, `p384`, `p521`), one feature per algorithm.
//!
//! A verifier only ever accepts the algorithms it is given explicitly, never "whatever features
//! happen to be compiled in": a server names each accepted verifier, with its backend, as in
//! `Verifier::new(&[rustcrypto::ES256_VERIFIER])`.

use core::fmt::Debug;

use crate::alg::Algorithm;
use crate::error::{InvalidSignature, SignError};
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
