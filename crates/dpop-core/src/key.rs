//! In-memory signing keys for proof creation (RustCrypto backend).
//!
//! A [`SigningKey`] is made from a caller's CSPRNG, from raw scalar bytes, from PKCS#8 DER
//! (feature `pkcs8`) or from a private EC JWK. The secret scalar is zeroized when the key is dropped (the RustCrypto key type is
//! `ZeroizeOnDrop`), and `Debug` shows only the algorithm and the public thumbprint. Signatures
//! are deterministic (RFC 6979), so signing needs no RNG.

use core::fmt;

use zeroize::Zeroize;

use crate::alg::Algorithm;
use crate::crypto::{CryptoProvider as _, ProofSigner, rustcrypto};
use crate::curve::Curve;
use crate::error::{BufferTooSmall, KeyError, SignError};
use crate::jwk::PublicJwk;
use crate::writer::Writer;

#[cfg(feature = "es256")]
use crate::crypto::rustcrypto::es256;
#[cfg(feature = "es384")]
use crate::crypto::rustcrypto::es384;
#[cfg(feature = "es512")]
use crate::crypto::rustcrypto::es512;

/// Longest private JWK text [`SigningKey::write_private_jwk`] writes (P-521).
pub const MAX_PRIVATE_JWK_LEN: usize = 320;

/// A private EC key that signs DPoP proofs: the signing key of the RustCrypto backend
/// ([`rustcrypto::PROVIDER`](crate::crypto::rustcrypto::PROVIDER)).
///
/// ```
/// use dpop_core::{Algorithm, SigningKey, crypto::ProofSigner};
/// let key = SigningKey::from_bytes(Algorithm::Es256, &[1u8; 32])?;
/// assert_eq!(key.algorithm(), Algorithm::Es256);
/// assert!(!format!("{key:?}").contains("0101"));
/// # Ok::<(), dpop_core::KeyError>(())
/// ```
pub struct SigningKey {
    inner: Inner,
    public: PublicJwk,
}

enum Inner {
    #[cfg(feature = "es256")]
    P256(p256::ecdsa::SigningKey),
    #[cfg(feature = "es384")]
    P384(p384::ecdsa::SigningKey),
    #[cfg(feature = "es512")]
    P521(p521::ecdsa::SigningKey),
}

impl SigningKey {
    /// Generates a fresh key for `algorithm` from the caller's CSPRNG.
    ///
    /// # Errors
    ///
    /// [`KeyError::Rng`] when the generator fails, [`KeyError::UnsupportedAlgorithm`] when the
    /// algorithm's feature is off.
    pub fn generate<R: rand_core::TryCryptoRng + ?Sized>(
        algorithm: Algorithm,
        rng: &mut R,
    ) -> Result<Self, KeyError> {
        let inner = match algorithm {
            #[cfg(feature = "es256")]
            Algorithm::Es256 => Inner::P256(es256::generate(rng).map_err(|_| KeyError::Rng)?),
            #[cfg(feature = "es384")]
            Algorithm::Es384 => Inner::P384(es384::generate(rng).map_err(|_| KeyError::Rng)?),
            #[cfg(feature = "es512")]
            Algorithm::Es512 => Inner::P521(es512::generate(rng).map_err(|_| KeyError::Rng)?),
            #[allow(unreachable_patterns)]
            _ => return Err(KeyError::UnsupportedAlgorithm),
        };
        Self::from_inner(inner)
    }

    /// Uses a raw big-endian private scalar of exactly [`Curve::coordinate_len`] bytes.
    ///
    /// # Errors
    ///
    /// [`KeyError::InvalidScalar`] for a wrong length, zero, or a value not below the group
    /// order; [`KeyError::UnsupportedAlgorithm`] when the algorithm's feature is off.
    pub fn from_bytes(algorithm: Algorithm, scalar: &[u8]) -> Result<Self, KeyError> {
        // The curve crates accept shorter slices and left-pad them; JWK `d` and raw keys are
        // always the full size (RFC 7518 section 6.2.2.1).
        if scalar.len() != algorithm.curve().coordinate_len() {
            return Err(KeyError::InvalidScalar);
        }
        let inner = match algorithm {
            #[cfg(feature = "es256")]
            Algorithm::Es256 => {
                Inner::P256(es256::signing_key(scalar).ok_or(KeyError::InvalidScalar)?)
            }
            #[cfg(feature = "es384")]
            Algorithm::Es384 => {
                Inner::P384(es384::signing_key(scalar).ok_or(KeyError::InvalidScalar)?)
            }
            #[cfg(feature = "es512")]
            Algorithm::Es512 => {
                Inner::P521(es512::signing_key(scalar).ok_or(KeyError::InvalidScalar)?)
            }
            #[allow(unreachable_patterns)]
            _ => return Err(KeyError::UnsupportedAlgorithm),
        };
        Self::from_inner(inner)
    }

    /// Parses a private EC JWK (`kty`, `crv`, `x`, `y`, `d`); `d` must belong to `(x, y)`, and
    /// `(x, y)` must be a valid point.
    ///
    /// # Errors
    ///
    /// [`KeyError::Jwk`] with [`JwkError::Missing`](crate::JwkError::Missing)`(D)` when `d` is
    /// absent, [`JwkError::InvalidPrivateKey`](crate::JwkError::InvalidPrivateKey) for a bad
    /// scalar, [`JwkError::PrivateKeyMismatch`](crate::JwkError::PrivateKeyMismatch) when `d`
    /// does not match the public point, [`JwkError::NotOnCurve`](crate::JwkError::NotOnCurve)
    /// for an invalid point, or any public-key error.
    pub fn from_jwk(json: &[u8]) -> Result<Self, KeyError> {
        rustcrypto::PROVIDER.signing_key_from_jwk(json)
    }

    /// Parses an unencrypted PKCS#8 v1 (RFC 5208) `id-ecPublicKey` private key in DER for
    /// `algorithm`'s curve, as `openssl genpkey -algorithm EC -pkeyopt
    /// ec_paramgen_curve:P-256 -outform DER` writes it (feature `pkcs8`).
    ///
    /// # Errors
    ///
    /// [`KeyError::InvalidScalar`] when the document is not such a key for the curve;
    /// [`KeyError::UnsupportedAlgorithm`] when the algorithm's feature is off;
    /// [`KeyError::UnsupportedFormat`] when the `pkcs8` feature is off.
    pub fn from_pkcs8_der(algorithm: Algorithm, der: &[u8]) -> Result<Self, KeyError> {
        #[cfg(feature = "pkcs8")]
        {
            let inner = match algorithm {
                #[cfg(feature = "es256")]
                Algorithm::Es256 => Inner::P256(
                    <p256::ecdsa::SigningKey as p256::pkcs8::DecodePrivateKey>::from_pkcs8_der(der)
                        .map_err(|_| KeyError::InvalidScalar)?,
                ),
                #[cfg(feature = "es384")]
                Algorithm::Es384 => Inner::P384(
                    <p384::ecdsa::SigningKey as p384::pkcs8::DecodePrivateKey>::from_pkcs8_der(der)
                        .map_err(|_| KeyError::InvalidScalar)?,
                ),
                #[cfg(feature = "es512")]
                Algorithm::Es512 => Inner::P521(
                    <p521::ecdsa::SigningKey as p521::pkcs8::DecodePrivateKey>::from_pkcs8_der(der)
                        .map_err(|_| KeyError::InvalidScalar)?,
                ),
                #[allow(unreachable_patterns)]
                _ => return Err(KeyError::UnsupportedAlgorithm),
            };
            Self::from_inner(inner)
        }
        #[cfg(not(feature = "pkcs8"))]
        {
            let _ = (algorithm, der);
            Err(KeyError::UnsupportedFormat)
        }
    }

    /// Completes a key with its public half.
    fn from_inner(inner: Inner) -> Result<Self, KeyError> {
        let curve = match &inner {
            #[cfg(feature = "es256")]
            Inner::P256(_) => Curve::P256,
            #[cfg(feature = "es384")]
            Inner::P384(_) => Curve::P384,
            #[cfg(feature = "es512")]
            Inner::P521(_) => Curve::P521,
        };
        let mut x = [0u8; 66];
        let mut y = [0u8; 66];
        let n = curve.coordinate_len();
        let (xs, ys) = (
            x.get_mut(..n).unwrap_or_default(),
            y.get_mut(..n).unwrap_or_default(),
        );
        match &inner {
            #[cfg(feature = "es256")]
            Inner::P256(k) => es256::public_coordinates(k, xs, ys),
            #[cfg(feature = "es384")]
            Inner::P384(k) => es384::public_coordinates(k, xs, ys),
            #[cfg(feature = "es512")]
            Inner::P521(k) => es512::public_coordinates(k, xs, ys),
        }
        let public = PublicJwk::from_coordinates(curve, xs, ys)?;
        Ok(Self { inner, public })
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

    /// Writes the private JWK `{"kty":"EC","crv":..,"x":..,"y":..,"d":..}` into `out`.
    ///
    /// The text holds the secret key: zeroize `out` when done with it.
    ///
    /// # Errors
    ///
    /// [`BufferTooSmall`] when `out` holds fewer than [`MAX_PRIVATE_JWK_LEN`] bytes (or the
    /// exact length).
    pub fn write_private_jwk<'b>(&self, out: &'b mut [u8]) -> Result<&'b str, BufferTooSmall> {
        let mut scalar = [0u8; 66];
        let n = match &self.inner {
            #[cfg(feature = "es256")]
            Inner::P256(k) => copy_scalar(&mut es256::scalar_bytes(k), &mut scalar),
            #[cfg(feature = "es384")]
            Inner::P384(k) => copy_scalar(&mut es384::scalar_bytes(k), &mut scalar),
            #[cfg(feature = "es512")]
            Inner::P521(k) => copy_scalar(&mut es512::scalar_bytes(k), &mut scalar),
        };
        let result = write_private(&self.public, scalar.get(..n).unwrap_or_default(), out);
        scalar.zeroize();
        result
    }
}

/// Copies scalar bytes into `out` and zeroizes the temporary they came in.
#[allow(dead_code)]
fn copy_scalar<T: AsRef<[u8]> + AsMut<[u8]>>(mut bytes: T, out: &mut [u8; 66]) -> usize {
    let src = bytes.as_ref();
    let n = src.len().min(out.len());
    if let (Some(dst), Some(src)) = (out.get_mut(..n), src.get(..n)) {
        dst.copy_from_slice(src);
    }
    bytes.as_mut().zeroize();
    n
}

fn write_private<'b>(
    public: &PublicJwk,
    scalar: &[u8],
    out: &'b mut [u8],
) -> Result<&'b str, BufferTooSmall> {
    let mut w = Writer::new(out);
    w.push(b"{\"kty\":\"EC\",\"crv\":\"")?;
    w.push(public.curve().name().as_bytes())?;
    w.push(b"\",\"x\":\"")?;
    w.base64url(public.x())?;
    w.push(b"\",\"y\":\"")?;
    w.base64url(public.y())?;
    w.push(b"\",\"d\":\"")?;
    w.base64url(scalar)?;
    w.push(b"\"}")?;
    w.finish()
}

impl ProofSigner for SigningKey {
    fn algorithm(&self) -> Algorithm {
        self.public.algorithm()
    }

    fn public_jwk(&self) -> &PublicJwk {
        &self.public
    }

    fn try_sign(&self, signing_input: &[&[u8]], out: &mut [u8]) -> Result<usize, SignError> {
        match &self.inner {
            #[cfg(feature = "es256")]
            Inner::P256(k) => es256::sign(k, signing_input, out),
            #[cfg(feature = "es384")]
            Inner::P384(k) => es384::sign(k, signing_input, out),
            #[cfg(feature = "es512")]
            Inner::P521(k) => es512::sign(k, signing_input, out),
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm())
            .field("thumbprint", &self.public.thumbprint())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[cfg(all(feature = "es256", feature = "es384", feature = "es512"))]
mod tests {
    use std::string::ToString;

    use super::*;
    use crate::error::{JwkError, JwkMember};

    /// The scalar bytes a curve crate hands out are wiped once copied.
    #[test]
    fn copy_scalar_wipes_its_source() {
        let mut source = [7u8; 48];
        let mut out = [0u8; 66];
        assert_eq!(copy_scalar(&mut source, &mut out), 48);
        assert_eq!(source, [0u8; 48]);
        assert_eq!(out.get(..48), Some(&[7u8; 48][..]));
    }

    /// The RFC 6979 A.2.5 P-256 private key.
    const RFC6979_P256_X: &str = "C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721";

    fn hex(s: &str) -> std::vec::Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn rfc6979_p256_sample_signature() {
        // RFC 6979 A.2.5, SHA-256, message "sample".
        let key = SigningKey::from_bytes(Algorithm::Es256, &hex(RFC6979_P256_X)).unwrap();
        let mut sig = [0u8; 64];
        assert_eq!(key.try_sign(&[b"sam", b"ple"], &mut sig), Ok(64));
        assert_eq!(
            sig.to_vec(),
            hex(concat!(
                "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716",
                "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8"
            ))
        );
    }

    #[test]
    fn private_jwk_round_trip_for_every_curve() {
        for (alg, len) in [
            (Algorithm::Es256, 32),
            (Algorithm::Es384, 48),
            (Algorithm::Es512, 66),
        ] {
            let mut scalar = std::vec![0x11u8; len];
            scalar[0] = 0x01;
            let key = SigningKey::from_bytes(alg, &scalar).unwrap();
            let mut buf = [0u8; MAX_PRIVATE_JWK_LEN];
            let json = key.write_private_jwk(&mut buf).unwrap().to_string();
            assert!(json.starts_with(r#"{"kty":"EC","crv":""#), "{json}");
            let again = SigningKey::from_jwk(json.as_bytes()).unwrap();
            assert_eq!(again.public_jwk(), key.public_jwk());
            // the public part alone is not a signing key
            let mut pbuf = [0u8; crate::jwk::MAX_JWK_JSON_LEN];
            let public = key.public_jwk().write_json(&mut pbuf).unwrap();
            assert_eq!(
                SigningKey::from_jwk(public.as_bytes()).unwrap_err(),
                KeyError::Jwk(JwkError::Missing(JwkMember::D))
            );
        }
    }

    #[test]
    fn private_jwk_errors() {
        let a = SigningKey::from_bytes(Algorithm::Es256, &[1u8; 32]).unwrap();
        let b = SigningKey::from_bytes(Algorithm::Es256, &[2u8; 32]).unwrap();
        let mut buf = [0u8; MAX_PRIVATE_JWK_LEN];
        let a_json = a.write_private_jwk(&mut buf).unwrap().to_string();
        let b_json = b.write_private_jwk(&mut buf).unwrap().to_string();
        let b_d = &b_json[b_json.find("\"d\"").unwrap()..];
        let mixed = std::format!("{},{}", &a_json[..a_json.find(",\"d\"").unwrap()], b_d);
        assert_eq!(
            SigningKey::from_jwk(mixed.as_bytes()).unwrap_err(),
            KeyError::Jwk(JwkError::PrivateKeyMismatch)
        );
        let zero_d = a_json.replace(
            &a_json[a_json.find("\"d\"").unwrap()..],
            "\"d\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
        );
        assert_eq!(
            SigningKey::from_jwk(zero_d.as_bytes()).unwrap_err(),
            KeyError::Jwk(JwkError::InvalidPrivateKey)
        );
        assert_eq!(
            SigningKey::from_bytes(Algorithm::Es256, &[0u8; 32]).unwrap_err(),
            KeyError::InvalidScalar
        );
        assert_eq!(
            SigningKey::from_bytes(Algorithm::Es256, &[1u8; 31]).unwrap_err(),
            KeyError::InvalidScalar
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let key = SigningKey::from_bytes(Algorithm::Es256, &hex(RFC6979_P256_X)).unwrap();
        let debug = std::format!("{key:?}");
        assert!(!debug.to_lowercase().contains("c9afa9d8"), "{debug}");
        assert!(
            !debug.contains("ya-p2EW6dRZrXCFXZ7HWk05Qw9s26JsSe4piKxIPZyE"),
            "{debug}"
        );
        assert!(debug.contains("Es256"));
    }
}
