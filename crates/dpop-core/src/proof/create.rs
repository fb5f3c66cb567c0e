//! Proof creation (RFC 9449 section 4.2) into a caller buffer, or a `String` with `alloc`.

// Attacker-controlled input flows through here: no indexing that could panic.
#![deny(clippy::indexing_slicing)]

use crate::alg::{MAX_SIGNATURE_LEN, ProofSigner};
use crate::base64url;
use crate::claims::{self, AccessTokenHash, HttpMethod, MAX_JTI_LEN, MAX_NONCE_LEN, ProofId};
use crate::error::{BufferTooSmall, CreateError, Limit};
use crate::htu::{MAX_URI_LEN, TargetUri};
use crate::jwk::{MAX_JSON_LEN, Writer};
use crate::time::UnixTime;

/// Largest header JSON: `{"typ":"dpop+jwt","alg":"ES512","jwk":<MAX_JSON_LEN>}`.
const MAX_HEADER_JSON: usize = 40 + MAX_JSON_LEN;
/// Largest payload JSON: every claim at its maximum, `jti` fully escaped.
const MAX_PAYLOAD_JSON: usize =
    80 + 2 * MAX_JTI_LEN + claims::MAX_METHOD_LEN + MAX_URI_LEN + 1 + 20 + 43 + MAX_NONCE_LEN;

/// The claims of a proof to create. `exp` is never written (RFC 9449 section 4.2 relies on
/// `iat`), and `htu` is always the canonical target URI without query and fragment.
///
/// ```
/// use dpop_core::alg::Algorithm;
/// use dpop_core::claims::{HttpMethod, ProofId};
/// use dpop_core::htu::TargetUri;
/// use dpop_core::key::SigningKey;
/// use dpop_core::proof::NewProof;
/// use dpop_core::time::UnixTime;
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

        let mut json = [0u8; MAX_PAYLOAD_JSON];
        let header = write_header(signer, &mut json).map_err(|_| CreateError::BufferTooSmall)?;
        let mut w = Writer::new(out);
        w.base64url(header.as_bytes()).map_err(too_small)?;
        w.push(b".").map_err(too_small)?;
        let payload = self.write_payload(&mut json)?;
        w.base64url(payload.as_bytes()).map_err(too_small)?;

        let signing_input_len = w.len();
        let (signing_input, rest) = w.split();
        let mut signature = [0u8; MAX_SIGNATURE_LEN];
        let n = signer
            .try_sign(&[signing_input], &mut signature)
            .map_err(|_| CreateError::Signing)?;
        let signature = signature.get(..n).ok_or(CreateError::Signing)?;
        if n != signer.algorithm().signature_len() {
            return Err(CreateError::Signing);
        }
        let (dot, rest) = rest.split_first_mut().ok_or(CreateError::BufferTooSmall)?;
        *dot = b'.';
        let sig_len = base64url::encode(signature, rest)
            .map_err(|_| CreateError::BufferTooSmall)?
            .len();

        let total = signing_input_len + 1 + sig_len;
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

    fn write_payload<'b>(&self, out: &'b mut [u8]) -> Result<&'b str, CreateError> {
        let mut w = Writer::new(out);
        w.push(b"{\"jti\":\"").map_err(too_small)?;
        w.json_text(self.id.as_str()).map_err(too_small)?;
        w.push(b"\",\"htm\":\"").map_err(too_small)?;
        w.push(self.method.as_str().as_bytes()).map_err(too_small)?;
        w.push(b"\",\"htu\":\"").map_err(too_small)?;
        // The canonical form has only URI characters, none of which JSON escapes.
        let mut uri = [0u8; MAX_URI_LEN + 1];
        let htu = self.uri.write_canonical(&mut uri)?;
        w.push(htu.as_bytes()).map_err(too_small)?;
        w.push(b"\",\"iat\":").map_err(too_small)?;
        w.decimal(self.issued_at.as_secs()).map_err(too_small)?;
        if let Some(token) = self.access_token {
            w.push(b",\"ath\":\"").map_err(too_small)?;
            let mut ath = [0u8; 43];
            let ath = AccessTokenHash::of(token)
                .write_base64url(&mut ath)
                .map_err(too_small)?;
            w.push(ath.as_bytes()).map_err(too_small)?;
            w.push(b"\"").map_err(too_small)?;
        }
        if let Some(nonce) = self.nonce {
            // NQCHAR excludes '"' and '\', so the nonce needs no escaping.
            w.push(b",\"nonce\":\"").map_err(too_small)?;
            w.push(nonce.as_bytes()).map_err(too_small)?;
            w.push(b"\"").map_err(too_small)?;
        }
        w.push(b"}").map_err(too_small)?;
        w.finish().map_err(too_small)
    }
}

fn write_header<'b>(
    signer: &dyn ProofSigner,
    out: &'b mut [u8],
) -> Result<&'b str, BufferTooSmall> {
    let mut w = Writer::new(out);
    w.push(b"{\"typ\":\"dpop+jwt\",\"alg\":\"")?;
    w.push(signer.algorithm().name().as_bytes())?;
    w.push(b"\",\"jwk\":")?;
    let mut jwk = [0u8; MAX_JSON_LEN];
    w.push(signer.public_jwk().write_json(&mut jwk)?.as_bytes())?;
    w.push(b"}")?;
    w.finish()
}

fn too_small(_: BufferTooSmall) -> CreateError {
    CreateError::BufferTooSmall
}
