//! The JWS algorithms of DPoP proofs (RFC 7518 section 3.4): names and sizes only. The crypto
//! that implements them is behind the seam in [`crypto`](crate::crypto).

use crate::curve::Curve;
use crate::error::InvalidSignature;
use crate::jwk::PublicJwk;

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
    /// use dpop_core::Algorithm;
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

    /// Two checks a [`VerifyAlgorithm`](crate::crypto::VerifyAlgorithm) backend makes before
    /// any arithmetic: the key is of this algorithm's curve and the signature is exactly the
    /// raw `r||s` length (so DER never reaches a backend). The point check is separate and
    /// comes between the two in the built-in backends, so that an invalid key is reported as
    /// such.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::MAX_SIGNATURE_LEN;

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
