//! Proof creation (RFC 9449 section 4.2) into a caller buffer, or a `String` with `alloc`.

// Attacker-controlled input flows through here: no indexing that could panic.
#![deny(clippy::indexing_slicing)]

use crate::base64url;
use crate::claims::{self, AccessTokenHash, HttpMethod, MAX_JTI_LEN, MAX_NONCE_LEN, ProofId};
use crate::crypto::{MAX_SIGNATURE_LEN, ProofSigner};
use crate::error::{BufferTooSmall, CreateError, Limit};
use crate::htu::{MAX_URI_LEN, TargetUri, UriError};
use crate::jwk::MAX_JWK_JSON_LEN;
use crate::time::UnixTime;

/// Largest header JSON: `{"typ":"dpop+jwt","alg":"ES512","jwk":<MAX_JWK_JSON_LEN>}`.
const MAX_HEADER_JSON: usize = 40 + MAX_JWK_JSON_LEN;
/// Largest payload JSON: every claim at its maximum, `jti` fully escaped.
const MAX_PAYLOAD_JSON: usize =
    80 + 2 * MAX_JTI_LEN + claims::MAX_METHOD_LEN + MAX_URI_LEN + 1 + 20 + 43 + MAX_NONCE_LEN;

/// The claims of a proof to create. `exp` is never written (RFC 9449 section 4.2 relies on
/// `iat`), and `htu` is always the canonical target URI without query and fragment.
///
/// ```
/// use dpop_core::{Algorithm, HttpMethod, NewProof, ProofId, SigningKey, TargetUri, UnixTime};
///
/// let key = SigningKey::from_bytes(Algorithm::Es256, &[7u8; 32])?;
/// let uri = TargetUri::parse("https://api.example.com/v1/items?page=2")?;
/// let proof = NewProof::new(HttpMethod::GET, uri, ProofId::new("id-1")?, UnixTime::from_secs(1_700_000_000))
///     .with_access_token("token-123");
/// let mut buf = [0u8; 1024];
/// let jws = proof.encode(&key, &mut buf)?;
/// assert_eq!(jws.split('.').count(), 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct NewProof<'a> {
    method: HttpMethod<'a>,
    uri: TargetUri<'a>,
    id: ProofId<'a>,
    issued_at: UnixTime,
    nonce: Option<&'a str>,
    access_token: Option<&'a str>,
    access_token_hash: Option<AccessTokenHash>,
}

impl<'a> NewProof<'a> {
    /// A proof for one request: method, target URI, identifier (`jti`) and issue time.
    #[must_use]
    pub const fn new(
        method: HttpMethod<'a>,
        uri: TargetUri<'a>,
        id: ProofId<'a>,
        issued_at: UnixTime,
    ) -> Self {
        Self {
            method,
            uri,
            id,
            issued_at,
            nonce: None,
            access_token: None,
            access_token_hash: None,
        }
    }

    /// Adds the server's `nonce` (RFC 9449 section 8).
    #[must_use]
    pub const fn with_nonce(mut self, nonce: &'a str) -> Self {
        self.nonce = Some(nonce);
        self
    }

    /// Adds `ath`, the hash of the access token sent with this request (RFC 9449 section 7).
    #[must_use]
    pub const fn with_access_token(mut self, access_token: &'a str) -> Self {
        self.access_token = Some(access_token);
        self.access_token_hash = None;
        self
    }

    /// Adds `ath` already computed with [`AccessTokenHash::of`]: the same claim as
    /// [`with_access_token`](Self::with_access_token), for a client that sends one token with
    /// many requests and hashes it once. The token itself is not seen, so its syntax is the
    /// caller's to check. Replaces an earlier `with_access_token`, and the other way round.
    ///
    /// ```
    /// # use dpop_core::{AccessTokenHash, HttpMethod, NewProof, ProofId, SigningKey, TargetUri, UnixTime};
    /// # use dpop_core::Algorithm;
    /// let key = SigningKey::from_bytes(Algorithm::Es256, &[7u8; 32])?;
    /// let ath = AccessTokenHash::of("token-123"); // once per token
    /// let uri = TargetUri::parse("https://api.example.com/v1/items")?;
    /// let proof = NewProof::new(HttpMethod::GET, uri, ProofId::new("id-1")?, UnixTime::from_secs(1_700_000_000))
    ///     .with_access_token_hash(ath);
    /// let mut buf = [0u8; 1024];
    /// assert_eq!(proof.encode(&key, &mut buf)?.split('.').count(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub const fn with_access_token_hash(mut self, ath: AccessTokenHash) -> Self {
        self.access_token_hash = Some(ath);
        self.access_token = None;
        self
    }

    /// An output length that always fits this proof.
    #[must_use]
    pub fn max_len(&self) -> usize {
        base64url::encoded_len(MAX_HEADER_JSON)
            + 1
            + base64url::encoded_len(MAX_PAYLOAD_JSON)
            + 1
            + base64url::encoded_len(MAX_SIGNATURE_LEN)
    }

    /// Writes the compact proof into `out` and returns it. Allocates nothing.
    ///
    /// The header and payload are base64url-encoded as they are written, straight into `out`
    /// (the canonical `htu` is staged in the unused end of `out`), so the stack this needs does
    /// not grow with the limits: about 0.5 KiB here plus the signer's.
    ///
    /// # Errors
    ///
    /// [`CreateError::BufferTooSmall`] when `out` is too small (see [`max_len`](Self::max_len)),
    /// [`CreateError::InvalidNonce`] or [`CreateError::InvalidAccessToken`] for values that
    /// cannot be sent, [`CreateError::Signing`] when the signer fails.
    pub fn encode<'b>(
        &self,
        signer: &dyn ProofSigner,
        out: &'b mut [u8],
    ) -> Result<&'b str, CreateError> {
        if let Some(nonce) = self.nonce {
            if nonce.len() > MAX_NONCE_LEN {
                return Err(CreateError::TooLarge(Limit::Nonce));
            }
            if !claims::is_valid_nonce(nonce) {
                return Err(CreateError::InvalidNonce);
            }
        }
        if self
            .access_token
            .is_some_and(|t| !claims::is_valid_access_token(t))
        {
            return Err(CreateError::InvalidAccessToken);
        }

        let mut w = ProofWriter::new(out);
        write_header(signer, &mut w)?;
        w.finish_segment()?;
        w.raw(b".")?;
        self.write_payload(&mut w)?;
        w.finish_segment()?;

        let signing_input_len = w.len;
        let mut signature = [0u8; MAX_SIGNATURE_LEN];
        let signing_input = w.out.get(..signing_input_len).ok_or(CreateError::Signing)?;
        let n = signer
            .try_sign(&[signing_input], &mut signature)
            .map_err(|_| CreateError::Signing)?;
        let signature = signature.get(..n).ok_or(CreateError::Signing)?;
        if n != signer.algorithm().signature_len() {
            return Err(CreateError::Signing);
        }
        w.raw(b".")?;
        w.base64url(signature)?;
        w.finish_segment()?;

        let total = w.len;
        let written = out.get(..total).ok_or(CreateError::BufferTooSmall)?;
        core::str::from_utf8(written).map_err(|_| CreateError::BufferTooSmall)
    }

    /// Writes the compact proof into a new `String`.
    ///
    /// # Errors
    ///
    /// As [`encode`](Self::encode), except that the buffer is always large enough.
    #[cfg(feature = "alloc")]
    pub fn encode_to_string(
        &self,
        signer: &dyn ProofSigner,
    ) -> Result<alloc::string::String, CreateError> {
        let mut buf = alloc::vec![0u8; self.max_len()];
        let len = self.encode(signer, &mut buf)?.len();
        buf.truncate(len);
        alloc::string::String::from_utf8(buf).map_err(|_| CreateError::BufferTooSmall)
    }

    fn write_payload(&self, w: &mut ProofWriter<'_>) -> Result<(), CreateError> {
        w.base64url(b"{\"jti\":\"")?;
        w.json_text(self.id.as_str())?;
        w.base64url(b"\",\"htm\":\"")?;
        w.base64url(self.method.as_str().as_bytes())?;
        w.base64url(b"\",\"htu\":\"")?;
        // The canonical form has only URI characters, none of which JSON escapes.
        w.canonical_uri(&self.uri)?;
        w.base64url(b"\",\"iat\":")?;
        w.decimal(self.issued_at.as_secs())?;
        let ath = match (self.access_token, self.access_token_hash) {
            (Some(token), _) => Some(AccessTokenHash::of(token)),
            (None, ath) => ath,
        };
        if let Some(ath) = ath {
            w.base64url(b",\"ath\":\"")?;
            let mut buf = [0u8; 43];
            let ath = ath.write_base64url(&mut buf).map_err(too_small)?;
            w.base64url(ath.as_bytes())?;
            w.base64url(b"\"")?;
        }
        if let Some(nonce) = self.nonce {
            // NQCHAR excludes '"' and '\', so the nonce needs no escaping.
            w.base64url(b",\"nonce\":\"")?;
            w.base64url(nonce.as_bytes())?;
            w.base64url(b"\"")?;
        }
        w.base64url(b"}")
    }
}

fn write_header(signer: &dyn ProofSigner, w: &mut ProofWriter<'_>) -> Result<(), CreateError> {
    w.base64url(b"{\"typ\":\"dpop+jwt\",\"alg\":\"")?;
    w.base64url(signer.algorithm().name().as_bytes())?;
    w.base64url(b"\",\"jwk\":")?;
    let mut jwk = [0u8; MAX_JWK_JSON_LEN];
    let jwk = signer
        .public_jwk()
        .write_json(&mut jwk)
        .map_err(too_small)?;
    w.base64url(jwk.as_bytes())?;
    w.base64url(b"}")
}

/// Bytes of a segment gathered before they are encoded: a multiple of 3, so each full chunk
/// encodes to whole base64 quanta (64 characters) and the chunks concatenate.
const CHUNK: usize = 48;

/// Writes the compact JWS into the caller's buffer, base64url-encoding each segment as its
/// bytes arrive, so that no segment is ever held whole in another buffer.
struct ProofWriter<'b> {
    out: &'b mut [u8],
    /// Bytes of `out` written.
    len: usize,
    /// Segment bytes not yet encoded.
    pending: [u8; CHUNK],
    pending_len: usize,
}

impl<'b> ProofWriter<'b> {
    fn new(out: &'b mut [u8]) -> Self {
        Self {
            out,
            len: 0,
            pending: [0; CHUNK],
            pending_len: 0,
        }
    }

    /// Appends bytes as they are (between segments only).
    fn raw(&mut self, bytes: &[u8]) -> Result<(), CreateError> {
        let end = self
            .len
            .checked_add(bytes.len())
            .ok_or(CreateError::BufferTooSmall)?;
        self.out
            .get_mut(self.len..end)
            .ok_or(CreateError::BufferTooSmall)?
            .copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    /// Appends segment bytes, to be base64url-encoded.
    fn base64url(&mut self, mut bytes: &[u8]) -> Result<(), CreateError> {
        while !bytes.is_empty() {
            let free = self
                .pending
                .get_mut(self.pending_len..)
                .ok_or(CreateError::BufferTooSmall)?;
            let n = free.len().min(bytes.len());
            let (now, later) = bytes.split_at(n);
            free.get_mut(..n)
                .ok_or(CreateError::BufferTooSmall)?
                .copy_from_slice(now);
            self.pending_len += n;
            bytes = later;
            if self.pending_len == CHUNK {
                self.encode_pending()?;
            }
        }
        Ok(())
    }

    /// Encodes the pending bytes (unpadded): the end of a segment, or a full chunk.
    fn encode_pending(&mut self) -> Result<(), CreateError> {
        let pending = self
            .pending
            .get(..self.pending_len)
            .ok_or(CreateError::BufferTooSmall)?;
        let rest = self
            .out
            .get_mut(self.len..)
            .ok_or(CreateError::BufferTooSmall)?;
        self.len += base64url::encode(pending, rest)
            .map_err(|_| CreateError::BufferTooSmall)?
            .len();
        self.pending_len = 0;
        Ok(())
    }

    /// Ends the current segment.
    fn finish_segment(&mut self) -> Result<(), CreateError> {
        self.encode_pending()
    }

    /// Appends a JSON string body (without quotes), escaping `"` and `\`; other characters
    /// were validated by the caller to need no escape.
    fn json_text(&mut self, text: &str) -> Result<(), CreateError> {
        for chunk in text.split_inclusive(['"', '\\']) {
            match chunk.as_bytes().split_last() {
                Some((last @ (b'"' | b'\\'), head)) => {
                    self.base64url(head)?;
                    self.base64url(&[b'\\', *last])?;
                }
                _ => self.base64url(chunk.as_bytes())?,
            }
        }
        Ok(())
    }

    /// Appends a decimal integer, by subtracting powers of ten: no 64-bit division, which
    /// 32-bit targets would link a software routine for.
    fn decimal(&mut self, mut n: u64) -> Result<(), CreateError> {
        let mut started = false;
        for power in POWERS_OF_TEN {
            let mut digit = 0u8;
            while n >= power {
                n -= power;
                digit += 1;
            }
            if digit > 0 || started || power == 1 {
                started = true;
                self.base64url(&[b'0' + digit])?;
            }
        }
        Ok(())
    }

    /// Appends the canonical form of `uri`. It is first written to the end of the unused part
    /// of `out` (once to learn its length, then at the very end), and then encoded from there:
    /// the encoded text grows towards it but, whenever the whole proof fits in `out`, never
    /// reaches bytes not yet read (checked anyway, as `BufferTooSmall`).
    fn canonical_uri(&mut self, uri: &TargetUri<'_>) -> Result<(), CreateError> {
        let spare = self
            .out
            .get_mut(self.len..)
            .ok_or(CreateError::BufferTooSmall)?;
        let uri_len = uri.write_canonical(spare).map_err(uri_error)?.len();
        let mut from = self
            .out
            .len()
            .checked_sub(uri_len)
            .ok_or(CreateError::BufferTooSmall)?;
        let end = self.out.len();
        let staged = self
            .out
            .get_mut(from..)
            .ok_or(CreateError::BufferTooSmall)?;
        uri.write_canonical(staged).map_err(uri_error)?;
        while from < end {
            let free = CHUNK - self.pending_len;
            let n = free.min(end - from);
            let dst = self
                .pending
                .get_mut(self.pending_len..self.pending_len + n)
                .ok_or(CreateError::BufferTooSmall)?;
            dst.copy_from_slice(
                self.out
                    .get(from..from + n)
                    .ok_or(CreateError::BufferTooSmall)?,
            );
            self.pending_len += n;
            from += n;
            if self.pending_len == CHUNK {
                // A full chunk becomes 64 characters; they must end before the unread bytes.
                if self.len + base64url::encoded_len(CHUNK) > from {
                    return Err(CreateError::BufferTooSmall);
                }
                self.encode_pending()?;
            }
        }
        Ok(())
    }
}

/// 10^19 down to 10^0: every power of ten a `u64` holds.
const POWERS_OF_TEN: [u64; 20] = [
    10_000_000_000_000_000_000,
    1_000_000_000_000_000_000,
    100_000_000_000_000_000,
    10_000_000_000_000_000,
    1_000_000_000_000_000,
    100_000_000_000_000,
    10_000_000_000_000,
    1_000_000_000_000,
    100_000_000_000,
    10_000_000_000,
    1_000_000_000,
    100_000_000,
    10_000_000,
    1_000_000,
    100_000,
    10_000,
    1_000,
    100,
    10,
    1,
];

fn uri_error(e: UriError) -> CreateError {
    match e {
        UriError::BufferTooSmall => CreateError::BufferTooSmall,
        other => CreateError::from(other),
    }
}

fn too_small(_: BufferTooSmall) -> CreateError {
    CreateError::BufferTooSmall
}

#[cfg(test)]
mod tests {
    use std::string::String;

    use super::*;

    fn decoded(out: &[u8]) -> String {
        use base64ct::{Base64UrlUnpadded, Encoding};
        let text = core::str::from_utf8(out).unwrap();
        String::from_utf8(Base64UrlUnpadded::decode_vec(text).unwrap()).unwrap()
    }

    #[test]
    fn writer_escapes_formats_and_encodes_across_chunks() {
        let mut buf = [0u8; 256];
        let mut w = ProofWriter::new(&mut buf);
        w.json_text(r#"a"b\c"#).unwrap();
        for n in [0, 1, 9, 10, 1_562_262_616, u64::MAX] {
            w.decimal(n).unwrap();
        }
        // More than one chunk of pending bytes, so chunked and final encodings join.
        w.base64url(&[b'x'; 100]).unwrap();
        w.finish_segment().unwrap();
        let len = w.len;
        let expected =
            String::from(r#"a\"b\\c01910156226261618446744073709551615"#) + &"x".repeat(100);
        assert_eq!(decoded(&buf[..len]), expected);
    }

    #[test]
    fn powers_of_ten_are_exact() {
        assert_eq!(POWERS_OF_TEN[0], 10_000_000_000_000_000_000);
        assert_eq!(POWERS_OF_TEN[19], 1);
        assert!(POWERS_OF_TEN.windows(2).all(|w| w[0] == w[1] * 10));
    }

    #[test]
    fn writer_fails_instead_of_truncating() {
        let mut buf = [0u8; 10];
        let mut w = ProofWriter::new(&mut buf);
        w.base64url(&[1u8; 48]).unwrap_err();
        let mut w = ProofWriter::new(&mut buf);
        w.raw(b"0123456789").unwrap();
        assert_eq!(w.raw(b"x"), Err(CreateError::BufferTooSmall));
    }
}
