//! JWK thumbprints (RFC 7638) as used for DPoP key binding (`jkt`, RFC 9449 section 6.1).
//!
//! The thumbprint of an EC key is SHA-256 over the UTF-8 text
//! `{"crv":"<crv>","kty":"EC","x":"<x>","y":"<y>"}`: the required members only, in
//! lexicographic order, without whitespace (RFC 7638 section 3.2). dpop-core computes it with
//! [`PublicJwk::thumbprint`](crate::jwk::PublicJwk::thumbprint).

/// A 32-byte SHA-256 value shown as unpadded base64url; compared in constant time.
macro_rules! sha256_value {
    ($(#[$doc:meta])* $name:ident, $err:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Eq)]
        pub struct $name([u8; 32]);

        impl $name {
            /// Wraps raw digest bytes.
            #[must_use]
            pub const fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }

            /// The raw digest bytes.
            #[must_use]
            pub const fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// Parses the 43-character unpadded base64url form.
            ///
            /// # Errors
            ///
            #[doc = concat!("[`", stringify!($err), "`] unless the text is exactly 43 characters")]
            /// of canonical base64url.
            pub fn from_base64url(text: &str) -> Result<Self, $err> {
                $crate::base64url::decode_exact::<32>(text.as_bytes()).map(Self).map_err(|_| $err)
            }

            /// Writes the 43-character base64url form into `out`.
            ///
            /// # Errors
            ///
            /// [`BufferTooSmall`](crate::error::BufferTooSmall) when `out` holds fewer than
            /// 43 bytes.
            pub fn write_base64url<'b>(
                &self,
                out: &'b mut [u8],
            ) -> Result<&'b str, $crate::error::BufferTooSmall> {
                $crate::base64url::encode(&self.0, out).map_err(|_| $crate::error::BufferTooSmall)
            }

            /// True when equal, in constant time.
            #[must_use]
            pub fn ct_eq(&self, other: &Self) -> bool {
                bool::from(::subtle::ConstantTimeEq::ct_eq(&self.0[..], &other.0[..]))
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.ct_eq(other)
            }
        }

        // Equality is exact byte equality (computed in constant time), so hashing the bytes
        // agrees with it.
        impl ::core::hash::Hash for $name {
            fn hash<H: ::core::hash::Hasher>(&self, state: &mut H) {
                self.0.hash(state);
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                let mut buf = [0u8; 43];
                match self.write_base64url(&mut buf) {
                    Ok(text) => f.write_str(text),
                    Err(_) => Err(::core::fmt::Error),
                }
            }
        }

        impl ::core::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }

        impl core::str::FromStr for $name {
            type Err = $err;
            fn from_str(s: &str) -> Result<Self, $err> {
                Self::from_base64url(s)
            }
        }

        #[doc = concat!("The text is not a base64url ", stringify!($name), ".")]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $err;

        impl ::core::fmt::Display for $err {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str("not 43 characters of base64url encoding 32 bytes")
            }
        }

        impl core::error::Error for $err {}
    };
}

pub(crate) use sha256_value;

sha256_value!(
    /// An RFC 7638 JWK SHA-256 thumbprint: the `jkt` of RFC 9449 (`cnf.jkt`, `dpop_jkt`).
    ///
    /// ```
    /// use dpop_core::Thumbprint;
    /// let jkt: Thumbprint = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I".parse()?;
    /// assert_eq!(jkt.to_string(), "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
    /// # Ok::<(), dpop_core::InvalidThumbprint>(())
    /// ```
    Thumbprint,
    InvalidThumbprint
);

#[cfg(test)]
mod tests {
    use std::string::ToString;

    use super::*;

    #[test]
    fn parse_rejects_wrong_lengths_and_padding() {
        assert!(Thumbprint::from_base64url("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I").is_ok());
        for bad in [
            "",
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4",
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I=",
            "0ZcOCORZNYy+DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
            // non-zero trailing bits in the last character
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4J",
        ] {
            assert_eq!(
                Thumbprint::from_base64url(bad),
                Err(InvalidThumbprint),
                "{bad}"
            );
        }
    }

    #[test]
    fn equality_and_display() {
        let a = Thumbprint::from_bytes([7; 32]);
        let b = Thumbprint::from_bytes([7; 32]);
        let mut c = [7; 32];
        c[31] = 8;
        assert_eq!(a, b);
        assert_ne!(a, Thumbprint::from_bytes(c));
        let text = a.to_string();
        assert_eq!(text.len(), 43);
        assert_eq!(Thumbprint::from_base64url(&text), Ok(a));
        assert!(std::format!("{a:?}").starts_with("Thumbprint("));
    }
}
