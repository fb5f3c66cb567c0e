//! The JWS compact serialization (RFC 7515 section 7.1): three base64url segments joined by
//! dots. DPoP proofs use only this form; the JSON serialization (section 7.2) is rejected.

// Attacker-controlled input flows through here: no indexing that could panic.
#![deny(clippy::indexing_slicing)]

use crate::error::Malformed;

/// The three segments of a compact JWS, still encoded.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Compact<'a> {
    /// `BASE64URL(UTF8(JWS Protected Header))`.
    pub(crate) header: &'a [u8],
    /// `BASE64URL(JWS Payload)`.
    pub(crate) payload: &'a [u8],
    /// `BASE64URL(JWS Signature)`.
    pub(crate) signature: &'a [u8],
    /// `header '.' payload`, the exact ASCII bytes that were signed (RFC 7515 section 5.2).
    pub(crate) signing_input: &'a [u8],
}

/// Splits a compact JWS into its segments.
pub(crate) fn split(jws: &str) -> Result<Compact<'_>, Malformed> {
    let bytes = jws.as_bytes();
    if bytes.first() == Some(&b'{') {
        return Err(Malformed::JwsJsonSerialization);
    }
    let mut parts = bytes.splitn(4, |&b| b == b'.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Malformed::Segments);
    };
    if header.is_empty() || payload.is_empty() || signature.is_empty() {
        return Err(Malformed::Segments);
    }
    let signing_input = bytes
        .get(..header.len() + 1 + payload.len())
        .ok_or(Malformed::Segments)?;
    Ok(Compact {
        header,
        payload,
        signature,
        signing_input,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_three_segments() {
        let c = split("aGk.eW8.c2ln").unwrap();
        assert_eq!(c.header, b"aGk");
        assert_eq!(c.payload, b"eW8");
        assert_eq!(c.signature, b"c2ln");
        assert_eq!(c.signing_input, b"aGk.eW8");
    }

    #[test]
    fn rejects_other_shapes() {
        for bad in [
            "", "a", "a.b", "a.b.c.d", "a.b.c.", ".b.c", "a..c", "a.b.", "....",
        ] {
            assert_eq!(split(bad).unwrap_err(), Malformed::Segments, "{bad}");
        }
        assert_eq!(
            split(r#"{"payload":"x","signatures":[]}"#).unwrap_err(),
            Malformed::JwsJsonSerialization
        );
    }
}
