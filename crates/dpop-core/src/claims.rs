//! Typed claim values of a DPoP proof (RFC 9449 section 4.2): the HTTP method, the proof
//! identifier, the access-token hash and the server nonce.
//!
//! The target URI (`htu`) is [`TargetUri`](crate::htu::TargetUri). Each type here is made only
//! by a parser that enforces its syntax, so a value in hand is always valid.

// Attacker-controlled input flows through here: no indexing that could panic.
#![deny(clippy::indexing_slicing)]

use core::fmt;

use sha2::{Digest, Sha256};

use crate::thumbprint::sha256_value;

/// Length of a random `jti`: 128 bits in base64url.
const RANDOM_ID_LEN: usize = 22;

/// Longest `htm` accepted: far above any registered method.
pub const MAX_METHOD_LEN: usize = 32;
/// Longest `jti` this crate creates or accepts by default.
pub const MAX_JTI_LEN: usize = 256;
/// Longest `nonce` this crate creates or accepts by default.
pub const MAX_NONCE_LEN: usize = 512;

/// An HTTP method (`htm`): an RFC 9110 section 9.1 `token`, compared case-sensitively.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HttpMethod<'a>(&'a str);

impl<'a> HttpMethod<'a> {
    /// `GET`.
    pub const GET: HttpMethod<'static> = HttpMethod("GET");
    /// `POST`.
    pub const POST: HttpMethod<'static> = HttpMethod("POST");

    /// Parses a method: 1 to [`MAX_METHOD_LEN`] `tchar`s (RFC 9110 section 5.6.2). Case is kept:
    /// `get` is a different method from `GET` (RFC 9110 section 9.1).
    ///
    /// ```
    /// use dpop_core::HttpMethod;
    /// assert_eq!(HttpMethod::parse("PATCH")?.as_str(), "PATCH");
    /// assert!(HttpMethod::parse("GET /").is_err());
    /// # Ok::<(), dpop_core::InvalidClaimValue>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`InvalidClaimValue`] for an empty, too long or non-token method.
    pub fn parse(method: &'a str) -> Result<Self, InvalidClaimValue> {
        let ok =
            !method.is_empty() && method.len() <= MAX_METHOD_LEN && method.bytes().all(is_tchar);
        if ok {
            Ok(Self(method))
        } else {
            Err(InvalidClaimValue)
        }
    }

    /// The method text.
    #[must_use]
    pub const fn as_str(&self) -> &'a str {
        self.0
    }
}

impl fmt::Display for HttpMethod<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// A proof identifier (`jti`): 1 to [`MAX_JTI_LEN`] bytes of UTF-8 without control characters.
///
/// Create them with enough entropy: [`ProofId::random`] draws 128 bits from a CSPRNG and
/// writes them as 22 base64url characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProofId<'a>(&'a str);

impl<'a> ProofId<'a> {
    /// Uses a caller-chosen identifier.
    ///
    /// # Errors
    ///
    /// [`InvalidClaimValue`] for an empty or too long value or one with control characters.
    pub fn new(id: &'a str) -> Result<Self, InvalidClaimValue> {
        let ok = !id.is_empty() && id.len() <= MAX_JTI_LEN && !id.chars().any(char::is_control);
        if ok {
            Ok(Self(id))
        } else {
            Err(InvalidClaimValue)
        }
    }

    /// Draws 128 random bits from `rng` and writes them as base64url into `buf`.
    ///
    /// ```
    /// use dpop_core::ProofId;
    /// # struct Fixed; impl rand_core::TryRng for Fixed { type Error = core::convert::Infallible;
    /// # fn try_next_u32(&mut self) -> Result<u32, Self::Error> { Ok(7) }
    /// # fn try_next_u64(&mut self) -> Result<u64, Self::Error> { Ok(7) }
    /// # fn try_fill_bytes(&mut self, d: &mut [u8]) -> Result<(), Self::Error> { d.fill(7); Ok(()) } }
    /// # impl rand_core::TryCryptoRng for Fixed {}
    /// let mut buf = [0u8; ProofId::RANDOM_LEN];
    /// let jti = ProofId::random(&mut Fixed, &mut buf)?;
    /// assert_eq!(jti.as_str().len(), 22);
    /// # Ok::<(), dpop_core::CreateError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`CreateError::Rng`](crate::error::CreateError::Rng) when the generator fails.
    pub fn random<R: rand_core::TryCryptoRng + ?Sized>(
        rng: &mut R,
        buf: &'a mut [u8; RANDOM_ID_LEN],
    ) -> Result<Self, crate::error::CreateError> {
        let mut bits = [0u8; 16];
        rng.try_fill_bytes(&mut bits)
            .map_err(|_| crate::error::CreateError::Rng)?;
        let text = crate::base64url::encode(&bits, buf)
            .map_err(|_| crate::error::CreateError::BufferTooSmall)?;
        Ok(Self(text))
    }

    /// Length of the text [`ProofId::random`] writes.
    pub const RANDOM_LEN: usize = RANDOM_ID_LEN;

    /// The identifier text.
    #[must_use]
    pub const fn as_str(&self) -> &'a str {
        self.0
    }
}

/// True for a nonce of RFC 9449 section 8: `1*NQCHAR`, NQCHAR = %x21 / %x23-5B / %x5D-7E.
#[must_use]
pub fn is_valid_nonce(nonce: &str) -> bool {
    !nonce.is_empty()
        && nonce.len() <= MAX_NONCE_LEN
        && nonce
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

sha256_value!(
    /// The `ath` claim: SHA-256 of the ASCII access token (RFC 9449 section 4.2).
    ///
    /// ```
    /// use dpop_core::AccessTokenHash;
    /// let ath = AccessTokenHash::of("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU");
    /// assert_eq!(ath.to_string(), "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo");
    /// ```
    AccessTokenHash,
    InvalidAccessTokenHash
);

impl AccessTokenHash {
    /// Hashes an access token.
    #[must_use]
    pub fn of(access_token: &str) -> Self {
        Self::from_bytes(Sha256::digest(access_token.as_bytes()).into())
    }
}

/// True when `token` can be an access token: non-empty printable ASCII (RFC 6750 section 2.1
/// `b64token` is a subset).
pub(crate) fn is_valid_access_token(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic())
}

/// RFC 9110 section 5.6.2 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A claim value does not have the required syntax.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidClaimValue;

impl fmt::Display for InvalidClaimValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid claim value")
    }
}

impl core::error::Error for InvalidClaimValue {}

#[cfg(test)]
mod tests {
    use std::string::ToString;

    use super::*;

    #[test]
    fn methods_are_tokens_and_case_sensitive() {
        for ok in ["GET", "POST", "get", "M-SEARCH", "X~1"] {
            assert_eq!(HttpMethod::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "GET ",
            "G\tT",
            "GÉT",
            "(GET)",
            &"A".repeat(MAX_METHOD_LEN + 1),
        ] {
            assert_eq!(HttpMethod::parse(bad), Err(InvalidClaimValue), "{bad}");
        }
        assert_ne!(HttpMethod::parse("get").unwrap(), HttpMethod::GET);
    }

    #[test]
    fn proof_ids() {
        assert!(ProofId::new("-BwC3ESc6acc2lTc").is_ok());
        assert!(ProofId::new("ünïcode \"quoted\"").is_ok());
        assert!(ProofId::new(&"a".repeat(MAX_JTI_LEN)).is_ok());
        for bad in ["", "a\nb", "\u{7f}", &"a".repeat(MAX_JTI_LEN + 1)] {
            assert_eq!(ProofId::new(bad), Err(InvalidClaimValue));
        }
    }

    #[test]
    fn nonce_syntax_is_nqchar() {
        assert!(is_valid_nonce("eyJ7S_zG.eyJH0-Z.HX4w-7v"));
        assert!(is_valid_nonce("!#[]~"));
        for bad in [
            "",
            "a b",
            "a\"b",
            "a\\b",
            "é",
            &"n".repeat(MAX_NONCE_LEN + 1),
        ] {
            assert!(!is_valid_nonce(bad), "{bad}");
        }
    }

    #[test]
    fn rfc9449_ath_vector() {
        let ath = AccessTokenHash::of("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU");
        assert_eq!(
            ath.to_string(),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
        assert_eq!(
            AccessTokenHash::from_base64url("fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"),
            Ok(ath)
        );
        assert!(is_valid_access_token(
            "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
        ));
        assert!(!is_valid_access_token("a b"));
        assert!(!is_valid_access_token(""));
    }
}
