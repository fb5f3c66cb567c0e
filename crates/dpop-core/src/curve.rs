//! The NIST curves of EC JWKs (RFC 7518 section 6.2.1.1).

use crate::alg::Algorithm;

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
