//! Unpadded base64url (RFC 4648 section 5) into caller buffers, as JWS requires (RFC 7515
//! section 2: "Base64url Encoding ... with all trailing '=' characters omitted").
//!
//! Decoding is strict: padding, characters outside the URL-safe alphabet, an impossible length
//! (a remainder of one character) and non-zero trailing bits are all rejected, so every byte
//! string has exactly one accepted encoding.

// Attacker-controlled input flows through here: no indexing that could panic.
#![deny(clippy::indexing_slicing)]

use base64ct::{Base64UrlUnpadded, Encoding};

/// The input is not canonical unpadded base64url, or does not fit the output buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DecodeError;

/// Length of the unpadded encoding of `n` bytes.
pub(crate) const fn encoded_len(n: usize) -> usize {
    (n / 3) * 4
        + match n % 3 {
            0 => 0,
            1 => 2,
            _ => 3,
        }
}

/// Upper bound of the decoded length of `n` encoded characters.
pub(crate) const fn decoded_len_max(n: usize) -> usize {
    (n / 4) * 3 + (n % 4) * 3 / 4
}

/// Decodes `input` into the front of `out`, returning the decoded bytes.
pub(crate) fn decode<'b>(input: &[u8], out: &'b mut [u8]) -> Result<&'b [u8], DecodeError> {
    // base64ct rejects padding, bad characters and non-canonical trailing bits for the
    // unpadded variant; the length checks below make the contract explicit.
    if input.len() % 4 == 1 {
        return Err(DecodeError);
    }
    let need = decoded_len_max(input.len());
    let dst = out.get_mut(..need).ok_or(DecodeError)?;
    let decoded = Base64UrlUnpadded::decode(input, dst).map_err(|_| DecodeError)?;
    Ok(decoded)
}

/// Decodes `input` into exactly `N` bytes; any other decoded length is an error.
pub(crate) fn decode_exact<const N: usize>(input: &[u8]) -> Result<[u8; N], DecodeError> {
    if input.len() != encoded_len(N) {
        return Err(DecodeError);
    }
    let mut out = [0u8; N];
    let len = decode(input, &mut out)?.len();
    if len == N { Ok(out) } else { Err(DecodeError) }
}

/// Encodes `input` into the front of `out`, returning the text.
pub(crate) fn encode<'b>(input: &[u8], out: &'b mut [u8]) -> Result<&'b str, DecodeError> {
    Base64UrlUnpadded::encode(input, out).map_err(|_| DecodeError)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_match_rfc4648() {
        for (n, e) in [
            (0, 0),
            (1, 2),
            (2, 3),
            (3, 4),
            (32, 43),
            (48, 64),
            (64, 86),
            (66, 88),
        ] {
            assert_eq!(encoded_len(n), e, "{n}");
            assert!(decoded_len_max(e) >= n);
        }
        assert_eq!(encoded_len(96), 128);
        assert_eq!(encoded_len(132), 176);
    }

    #[test]
    fn round_trip() {
        let mut enc = [0u8; 8];
        let mut dec = [0u8; 8];
        let text = encode(b"\xfb\xff\x00", &mut enc).unwrap();
        assert_eq!(text, "-_8A");
        assert_eq!(decode(text.as_bytes(), &mut dec).unwrap(), b"\xfb\xff\x00");
    }

    #[test]
    fn rejects_non_canonical_forms() {
        let mut out = [0u8; 16];
        // padding
        assert_eq!(decode(b"QQ==", &mut out), Err(DecodeError));
        // standard alphabet characters
        assert_eq!(decode(b"+/8A", &mut out), Err(DecodeError));
        // impossible length
        assert_eq!(decode(b"QUJDR", &mut out), Err(DecodeError));
        // non-zero trailing bits: "QR" decodes to 'A' only if the low 4 bits of 'R' are zero
        assert_eq!(decode(b"QR", &mut out), Err(DecodeError));
        assert_eq!(decode(b"QQ", &mut out).unwrap(), b"A");
        // whitespace
        assert_eq!(decode(b"QU JD", &mut out), Err(DecodeError));
    }

    #[test]
    fn exact_length_is_enforced() {
        assert!(decode_exact::<3>(b"QUJD").is_ok());
        assert_eq!(decode_exact::<3>(b"QUI"), Err(DecodeError));
        assert_eq!(decode_exact::<2>(b"QUJD"), Err(DecodeError));
    }

    #[test]
    fn small_buffers_are_errors_not_panics() {
        let mut out = [0u8; 2];
        assert_eq!(decode(b"QUJD", &mut out), Err(DecodeError));
        assert_eq!(encode(b"ABC", &mut out), Err(DecodeError));
    }
}
