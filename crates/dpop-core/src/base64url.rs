//! Unpadded base64url (RFC 4648 section 5) into caller buffers, as JWS requires (RFC 7515
//! section 2: "Base64url Encoding ... with all trailing '=' characters omitted").
//!
//! Decoding is strict: padding, characters outside the URL-safe alphabet, an impossible length
//! (a remainder of one character) and non-zero trailing bits are all rejected, so every byte
//! string has exactly one accepted encoding.

// Attacker-controlled input flows through here: no indexing that could panic.
#![deny(clippy::indexing_slicing)]

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

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const INVALID: u8 = 0x80;
/// Character -> 6-bit value, `INVALID` (high bit set) for anything outside the alphabet.
#[allow(clippy::indexing_slicing, clippy::cast_possible_truncation)]
const DECODE: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Decodes `input` into the front of `out`, returning the decoded bytes.
///
/// Table-driven and not constant-time: every DPoP segment is public data.
#[allow(clippy::indexing_slicing, clippy::cast_possible_truncation)]
pub(crate) fn decode<'b>(input: &[u8], out: &'b mut [u8]) -> Result<&'b [u8], DecodeError> {
    if input.len() % 4 == 1 {
        return Err(DecodeError);
    }
    let need = decoded_len_max(input.len());
    let out = out.get_mut(..need).ok_or(DecodeError)?;
    let mut bad = 0u8;
    let chunks = input.chunks_exact(4);
    let rest = chunks.remainder();
    let mut outs = out.chunks_exact_mut(3);
    for (c, o) in chunks.zip(&mut outs) {
        let (a, b, x, d) = (
            DECODE[c[0] as usize],
            DECODE[c[1] as usize],
            DECODE[c[2] as usize],
            DECODE[c[3] as usize],
        );
        bad |= a | b | x | d;
        let n = (u32::from(a) << 18) | (u32::from(b) << 12) | (u32::from(x) << 6) | u32::from(d);
        o[0] = (n >> 16) as u8;
        o[1] = (n >> 8) as u8;
        o[2] = n as u8;
    }
    let tail = outs.into_remainder();
    match *rest {
        [] => {}
        [c0, c1] => {
            let (a, b) = (DECODE[c0 as usize], DECODE[c1 as usize]);
            bad |= a | b;
            // The 4 low bits of the second character must be zero (canonical form).
            if b & 0x0F != 0 {
                return Err(DecodeError);
            }
            tail[0] = (a << 2) | (b >> 4);
        }
        [c0, c1, c2] => {
            let (a, b, x) = (
                DECODE[c0 as usize],
                DECODE[c1 as usize],
                DECODE[c2 as usize],
            );
            bad |= a | b | x;
            if x & 0x03 != 0 {
                return Err(DecodeError);
            }
            tail[0] = (a << 2) | (b >> 4);
            tail[1] = (b << 4) | (x >> 2);
        }
        _ => return Err(DecodeError),
    }
    if bad & INVALID != 0 {
        return Err(DecodeError);
    }
    Ok(out)
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
#[allow(clippy::indexing_slicing)]
pub(crate) fn encode<'b>(input: &[u8], out: &'b mut [u8]) -> Result<&'b str, DecodeError> {
    let len = encoded_len(input.len());
    let out = out.get_mut(..len).ok_or(DecodeError)?;
    let chunks = input.chunks_exact(3);
    let rest = chunks.remainder();
    let mut outs = out.chunks_exact_mut(4);
    for (c, o) in chunks.zip(&mut outs) {
        let n = (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2]);
        o[0] = ALPHABET[(n >> 18) as usize & 63];
        o[1] = ALPHABET[(n >> 12) as usize & 63];
        o[2] = ALPHABET[(n >> 6) as usize & 63];
        o[3] = ALPHABET[n as usize & 63];
    }
    let tail = outs.into_remainder();
    match *rest {
        [] => {}
        [a] => {
            tail[0] = ALPHABET[usize::from(a >> 2)];
            tail[1] = ALPHABET[usize::from((a & 3) << 4)];
        }
        [a, b] => {
            tail[0] = ALPHABET[usize::from(a >> 2)];
            tail[1] = ALPHABET[usize::from(((a & 3) << 4) | (b >> 4))];
            tail[2] = ALPHABET[usize::from((b & 15) << 2)];
        }
        _ => return Err(DecodeError),
    }
    core::str::from_utf8(out).map_err(|_| DecodeError)
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

    proptest::proptest! {
        /// The table-driven decoder accepts exactly what base64ct's strict unpadded decoder
        /// accepts, with the same output, and round-trips every byte string.
        #[test]
        fn agrees_with_base64ct(text in "[A-Za-z0-9_=+/ -]{0,40}", bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40)) {
            use base64ct::{Base64UrlUnpadded, Encoding};
            let mut ours = [0u8; 64];
            let mut theirs = [0u8; 64];
            let a = decode(text.as_bytes(), &mut ours).ok().map(<[u8]>::to_vec);
            let b = Base64UrlUnpadded::decode(text.as_bytes(), &mut theirs).ok().map(<[u8]>::to_vec);
            proptest::prop_assert_eq!(a, b, "{}", text);
            let mut enc = [0u8; 64];
            let encoded = encode(&bytes, &mut enc).unwrap();
            let mut dec = [0u8; 64];
            proptest::prop_assert_eq!(decode(encoded.as_bytes(), &mut dec).unwrap(), &bytes[..]);
        }
    }
}
