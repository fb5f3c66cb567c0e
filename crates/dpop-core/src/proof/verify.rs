//! Proof verification: every check of RFC 9449 section 4.3, each with its own error; the checks
//! are listed on [`Verifier`].

// Attacker-controlled input flows through here: no indexing that could panic.
#![deny(clippy::indexing_slicing)]

use core::fmt;

use heapless::String as FixedString;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{MAX_PROOF_LEN, TYPE};
use crate::alg::Algorithm;
use crate::base64url;
use crate::claims::{AccessTokenHash, HttpMethod, MAX_JTI_LEN, MAX_NONCE_LEN};
use crate::crypto::{MAX_SIGNATURE_LEN, VerifyAlgorithm};
use crate::error::{Claim, Limit, Malformed, VerifyError};
use crate::htu::{MAX_URI_LEN, TargetUri};
use crate::json::{self, JsonError, JsonStr, Object, Value};
use crate::jwk::PublicJwk;
use crate::jws;
use crate::thumbprint::{Thumbprint, sha256_value};
use crate::time::UnixTime;

/// Default `max_age`: how old a proof may be, in seconds.
pub const DEFAULT_MAX_AGE: u64 = 300;
/// Default `leeway`: tolerated clock difference, in seconds, in both directions.
pub const DEFAULT_LEEWAY: u64 = 60;
/// How far, in seconds and in either direction, `iat` may be from `now` when a server nonce
/// vouches for the proof's freshness ([`NonceStatus::Fresh`]): one day. RFC 9449 section 4.3
/// check 11 lets the nonce's server-side time replace the `iat` window; this bound only keeps
/// out proofs from a client clock that is wrong by more than a day (a broken clock, or a proof
/// made long ago for later use), which a nonce cannot make sensible.
pub const NONCE_IAT_BOUND: u64 = 86_400;

/// Size limits, checked before the work they protect.
///
/// | limit | default | hard maximum |
/// |---|---|---|
/// | `proof` (whole compact JWS, bytes) | 8192 | [`MAX_PROOF_LEN`] |
/// | `jti` (bytes) | 256 | [`MAX_JTI_LEN`] |
/// | `nonce` (bytes) | 512 | [`MAX_NONCE_LEN`] |
///
/// `htu` is bounded by [`MAX_URI_LEN`]. Values above a hard maximum are clamped to it.
///
/// The proof limit also sizes the scratch memory verification needs ([`Limits::scratch_len`]):
/// [`Verifier::verify`] keeps scratch for the largest proof on its stack (12,225 bytes), while
/// [`Verifier::verify_with_scratch`] takes it from the caller, so that a device verifying
/// proofs of at most 1 KiB ([`Limits::DEVICE`]) needs only 2,811 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Longest proof.
    pub proof: usize,
    /// Longest `jti`.
    pub jti: usize,
    /// Longest `nonce`.
    pub nonce: usize,
}

impl Limits {
    /// The defaults (the hard maxima).
    pub const DEFAULT: Self = Self {
        proof: MAX_PROOF_LEN,
        jti: MAX_JTI_LEN,
        nonce: MAX_NONCE_LEN,
    };

    /// Limits for a device: proofs of at most 1 KiB, enough for ES512 with a 256-byte URI and
    /// no nonce, or ES256 with a 400-byte URI and a 100-byte nonce. Its
    /// [`scratch_len`](Self::scratch_len) is 2,811 bytes.
    pub const DEVICE: Self = Self::DEFAULT.with_proof(1024);

    /// The scratch memory, in bytes, that [`Verifier::verify_with_scratch`] needs for a proof
    /// of [`proof`](Self::proof) bytes: the decoded header and payload, and three buffers for
    /// the `htu` claim (its unescaped text and the two canonical forms compared).
    ///
    /// ```
    /// use dpop_core::Limits;
    /// assert_eq!(Limits::DEFAULT.scratch_len(), 12_225);
    /// assert_eq!(Limits::DEVICE.scratch_len(), 2_811);
    /// ```
    #[must_use]
    pub const fn scratch_len(&self) -> usize {
        let proof = if self.proof < MAX_PROOF_LEN {
            self.proof
        } else {
            MAX_PROOF_LEN
        };
        scratch_len_for(proof)
    }

    /// Sets the longest proof, clamped to [`MAX_PROOF_LEN`].
    #[must_use]
    pub const fn with_proof(mut self, bytes: usize) -> Self {
        self.proof = if bytes < MAX_PROOF_LEN {
            bytes
        } else {
            MAX_PROOF_LEN
        };
        self
    }

    /// Sets the longest `jti`, clamped to [`MAX_JTI_LEN`].
    #[must_use]
    pub const fn with_jti(mut self, bytes: usize) -> Self {
        self.jti = if bytes < MAX_JTI_LEN {
            bytes
        } else {
            MAX_JTI_LEN
        };
        self
    }

    /// Sets the longest `nonce`, clamped to [`MAX_NONCE_LEN`].
    #[must_use]
    pub const fn with_nonce(mut self, bytes: usize) -> Self {
        self.nonce = if bytes < MAX_NONCE_LEN {
            bytes
        } else {
            MAX_NONCE_LEN
        };
        self
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The verification policy: which algorithms, how old, how much clock skew, which limits.
///
/// ```
/// use dpop_core::Verifier;
/// use dpop_core::crypto::rustcrypto;
/// static VERIFIER: Verifier<'static> =
///     Verifier::new(&[rustcrypto::ES256_VERIFIER, rustcrypto::ES384_VERIFIER]).with_max_age(120);
/// assert_eq!(VERIFIER.max_age(), 120);
/// ```
///
/// # Checks
///
/// A [`Verifier`] holds the policy (accepted algorithms, `max_age`, `leeway`, [`Limits`]); an
/// [`Expected`] holds what one request expects (method, URI, nonce, access token, bound key);
/// `now` is passed in. The checks run in this order:
///
/// 1. size limits, before any decoding ([`Limits`]);
/// 2. exactly three segments of canonical unpadded base64url; JWS JSON serialization rejected;
/// 3. header and payload are strict UTF-8 JSON objects (duplicate members, trailing data, bad
///    escapes and unescaped control characters rejected);
/// 4. `typ` is `dpop+jwt` (case-insensitive, optionally `application/dpop+jwt`, RFC 7515 section
///    4.1.9); a `crit` header is rejected;
/// 5. `alg` is in the allow-list and matches the curve of `jwk`;
/// 6. `jwk` is a public EC key with coordinates of its curve's exact size;
/// 7. the signature (raw `r||s` of the exact length) verifies over `header.payload`: the
///    backend first checks that the `jwk` point is on its curve (rejected as
///    [`VerifyError::Jwk`]`(`[`JwkError::NotOnCurve`](crate::JwkError::NotOnCurve)`)`), once,
///    as it prepares the key for the signature check;
/// 8. `jti`, `htm`, `htu` and `iat` are present with the right types;
/// 9. `htm` equals the request method (case-sensitive);
/// 10. `htu` equals the request URI under [`canonicalize_uri`](crate::canonicalize_uri); an
///     `htu` with a query or fragment is invalid;
/// 11. the nonce, when one is expected ([`VerifyError::NonceRequired`] /
///     [`VerifyError::NonceInvalid`], answered with `use_dpop_nonce`);
/// 12. `now - max_age - leeway <= iat <= now + leeway`; when a nonce validator vouched for the
///     proof's freshness ([`NonceStatus::Fresh`]), `iat` within [`NONCE_IAT_BOUND`](crate::consts::NONCE_IAT_BOUND) of `now`
///     instead (RFC 9449 section 4.3 check 11: freshness from a server-managed timestamp). An
///     `exp`, if present, not in the past;
/// 13. with an access token, `ath` matches; with a bound key (`cnf.jkt`), the thumbprint matches.
///
/// Verification is pure: it does not remember the `jti`. Replay detection is a separate step
/// (dpop-std) keyed on [`VerifiedProof::replay_key`].
#[derive(Clone, Copy, Debug)]
pub struct Verifier<'a> {
    accepted: &'a [&'a dyn VerifyAlgorithm],
    settings: VerifierSettings,
}

/// A [`Verifier`]'s settings apart from its algorithms: how old a proof may be (`max_age`), the
/// tolerated clock difference (`leeway`) and the size [`Limits`].
///
/// A small `Copy` value: a server that keeps one (dpop-std's `Server` does) builds its
/// [`Verifier`] per request for the cost of a copy, and one value configures both.
///
/// ```
/// use dpop_core::crypto::rustcrypto;
/// use dpop_core::{Limits, Verifier, VerifierSettings};
///
/// const SETTINGS: VerifierSettings =
///     VerifierSettings::DEFAULT.with_max_age(120).with_limits(Limits::DEVICE);
/// let verifier = Verifier::new(&[rustcrypto::ES256_VERIFIER]).with_settings(SETTINGS);
/// assert_eq!(verifier.max_age(), 120);
/// assert_eq!(verifier.settings(), SETTINGS);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifierSettings {
    max_age: u64,
    leeway: u64,
    limits: Limits,
}

impl VerifierSettings {
    /// `max_age` 300 s ([`DEFAULT_MAX_AGE`]), `leeway` 60 s ([`DEFAULT_LEEWAY`]),
    /// [`Limits::DEFAULT`].
    pub const DEFAULT: Self = Self {
        max_age: DEFAULT_MAX_AGE,
        leeway: DEFAULT_LEEWAY,
        limits: Limits::DEFAULT,
    };

    /// Sets how many seconds old a proof may be.
    #[must_use]
    pub const fn with_max_age(mut self, secs: u64) -> Self {
        self.max_age = secs;
        self
    }

    /// Sets the tolerated clock difference in seconds (applied to `iat` both ways, and `exp`).
    #[must_use]
    pub const fn with_leeway(mut self, secs: u64) -> Self {
        self.leeway = secs;
        self
    }

    /// Sets the size limits.
    #[must_use]
    pub const fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The `max_age` in seconds.
    #[must_use]
    pub const fn max_age(&self) -> u64 {
        self.max_age
    }

    /// The `leeway` in seconds.
    #[must_use]
    pub const fn leeway(&self) -> u64 {
        self.leeway
    }

    /// The limits.
    #[must_use]
    pub const fn limits(&self) -> Limits {
        self.limits
    }

    /// How long, in seconds after `iat`, a proof can still pass the `iat` check:
    /// `max_age + leeway` ([`Verifier::acceptance_window`]).
    #[must_use]
    pub const fn acceptance_window(&self) -> u64 {
        self.max_age.saturating_add(self.leeway)
    }
}

impl Default for VerifierSettings {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl<'a> Verifier<'a> {
    /// A verifier accepting exactly the algorithms listed, with the default `max_age` (300 s),
    /// `leeway` (60 s) and [`Limits`] ([`VerifierSettings::DEFAULT`]).
    #[must_use]
    pub const fn new(accepted: &'a [&'a dyn VerifyAlgorithm]) -> Self {
        Self {
            accepted,
            settings: VerifierSettings::DEFAULT,
        }
    }

    /// Sets how many seconds old a proof may be ([`VerifierSettings::with_max_age`]).
    #[must_use]
    pub const fn with_max_age(mut self, secs: u64) -> Self {
        self.settings = self.settings.with_max_age(secs);
        self
    }

    /// Sets the tolerated clock difference in seconds (applied to `iat` both ways, and `exp`;
    /// [`VerifierSettings::with_leeway`]).
    #[must_use]
    pub const fn with_leeway(mut self, secs: u64) -> Self {
        self.settings = self.settings.with_leeway(secs);
        self
    }

    /// Sets the size limits ([`VerifierSettings::with_limits`]).
    #[must_use]
    pub const fn with_limits(mut self, limits: Limits) -> Self {
        self.settings = self.settings.with_limits(limits);
        self
    }

    /// Sets `max_age`, `leeway` and the limits at once.
    #[must_use]
    pub const fn with_settings(mut self, settings: VerifierSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The `max_age`, `leeway` and limits.
    #[must_use]
    pub const fn settings(&self) -> VerifierSettings {
        self.settings
    }

    /// The `max_age` in seconds.
    #[must_use]
    pub const fn max_age(&self) -> u64 {
        self.settings.max_age
    }

    /// The `leeway` in seconds.
    #[must_use]
    pub const fn leeway(&self) -> u64 {
        self.settings.leeway
    }

    /// The limits.
    #[must_use]
    pub const fn limits(&self) -> Limits {
        self.settings.limits
    }

    /// The accepted algorithms.
    #[must_use]
    pub const fn accepted(&self) -> &'a [&'a dyn VerifyAlgorithm] {
        self.accepted
    }

    /// How long, in seconds after `iat`, a proof can still pass the `iat` check:
    /// `max_age + leeway`. A replay cache must remember a `jti` at least until `iat` plus this,
    /// and since `iat` may be up to `leeway` in the future, until `now + max_age + 2 * leeway`
    /// at the latest.
    #[must_use]
    pub const fn acceptance_window(&self) -> u64 {
        self.settings.acceptance_window()
    }

    /// Verifies `proof` for the request described by `expected`, at time `now`.
    ///
    /// Uses [`Limits::DEFAULT`]`.`[`scratch_len()`](Limits::scratch_len) bytes of stack for
    /// scratch, whatever the limits; where stack is scarce, use
    /// [`verify_with_scratch`](Self::verify_with_scratch).
    ///
    /// # Errors
    ///
    /// The [`VerifyError`] of the first failed check, in the order of the module docs.
    pub fn verify<'e>(
        &self,
        proof: &str,
        expected: &Expected<'e>,
        now: UnixTime,
    ) -> Result<VerifiedProof<'e>, VerifyError> {
        let mut scratch = [0u8; Limits::DEFAULT.scratch_len()];
        self.verify_with_scratch(proof, expected, now, &mut scratch)
    }

    /// As [`verify`](Self::verify), with the scratch memory from the caller: at least
    /// [`Limits::scratch_len`] bytes for the longest proof to accept (its contents on entry
    /// do not matter; decoded proof data is left in it).
    ///
    /// ```
    /// # use dpop_core::crypto::rustcrypto;
    /// # use dpop_core::{Expected, HttpMethod, Limits, TargetUri, UnixTime, Verifier};
    /// const LIMITS: Limits = Limits::DEVICE;
    /// let verifier = Verifier::new(&[rustcrypto::ES256_VERIFIER]).with_limits(LIMITS);
    /// let mut scratch = [0u8; LIMITS.scratch_len()];
    /// # let uri = TargetUri::parse("https://api.example.com/")?;
    /// # let expected = Expected::new(HttpMethod::GET, uri);
    /// # let (proof, now) = ("e30.e30.AA", UnixTime::from_secs(0));
    /// let result = verifier.verify_with_scratch(proof, &expected, now, &mut scratch);
    /// # assert!(result.is_err());
    /// # Ok::<(), dpop_core::UriError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`verify`](Self::verify); a proof that needs more scratch than `scratch` has is
    /// rejected as [`VerifyError::TooLarge`]`(`[`Limit::Proof`]`)` before any decoding.
    pub fn verify_with_scratch<'e>(
        &self,
        proof: &str,
        expected: &Expected<'e>,
        now: UnixTime,
        scratch: &mut [u8],
    ) -> Result<VerifiedProof<'e>, VerifyError> {
        self.run(proof, expected, now, scratch, &mut None)
    }

    /// As [`verify_with_scratch`](Self::verify_with_scratch), and a failure also says which
    /// key made the proof once the signature has verified it (check 7): what a server binds the
    /// fresh nonce of a `use_dpop_nonce` answer to (RFC 9449 section 8), and the key it can log
    /// for any later failure. The proof is not parsed a second time for it.
    ///
    /// ```
    /// # use dpop_core::crypto::rustcrypto;
    /// # use dpop_core::{Algorithm, Expected, HttpMethod, Limits, NewProof, ProofId, SigningKey,
    /// #     TargetUri, UnixTime, Verifier, VerifyError};
    /// # let key = SigningKey::from_bytes(Algorithm::Es256, &[7; 32])?;
    /// # let uri = TargetUri::parse("https://api.example.com/items")?;
    /// # let now = UnixTime::from_secs(1_700_000_000);
    /// # let proof = NewProof::new(HttpMethod::GET, uri, ProofId::new("j-1")?, now)
    /// #     .encode_to_string(&key)?;
    /// let verifier = Verifier::new(&[rustcrypto::ES256_VERIFIER]);
    /// let expected = Expected::new(HttpMethod::GET, uri).with_nonce("n-42");
    /// let mut scratch = [0u8; Limits::DEFAULT.scratch_len()];
    /// let failure = verifier
    ///     .verify_detailed(&proof, &expected, now, &mut scratch)
    ///     .unwrap_err();
    /// assert_eq!(failure.error(), VerifyError::NonceRequired);
    /// assert_eq!(failure.thumbprint(), Some(&key.public_jwk().thumbprint()));
    /// # Ok::<(), dpop_core::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`verify_with_scratch`](Self::verify_with_scratch), in a [`VerifyFailure`].
    pub fn verify_detailed<'e>(
        &self,
        proof: &str,
        expected: &Expected<'e>,
        now: UnixTime,
        scratch: &mut [u8],
    ) -> Result<VerifiedProof<'e>, VerifyFailure> {
        let mut key = None;
        self.run(proof, expected, now, scratch, &mut key)
            .map_err(|error| VerifyFailure {
                error,
                thumbprint: key,
            })
    }

    /// The checks, in order; `key` receives the thumbprint as soon as the signature verified.
    fn run<'e>(
        &self,
        proof: &str,
        expected: &Expected<'e>,
        now: UnixTime,
        scratch: &mut [u8],
        key: &mut Option<Thumbprint>,
    ) -> Result<VerifiedProof<'e>, VerifyError> {
        // A configuration error, not a proof error: an empty expected nonce would otherwise
        // be compared with whatever the proof carries.
        if matches!(expected.nonce, NonceExpectation::Exact("")) {
            return Err(VerifyError::EmptyExpectedNonce);
        }
        // 1. Size first, so nothing below runs on oversized input.
        if proof.len() > self.settings.limits.proof.min(MAX_PROOF_LEN)
            || scratch.len() < scratch_len_for(proof.len())
        {
            return Err(VerifyError::TooLarge(Limit::Proof));
        }
        // 2. Segments.
        let compact = jws::split(proof).map_err(VerifyError::Malformed)?;
        // The decoded header and payload go to the front of the scratch, the `htu` buffers of
        // the claims check right after them.
        let payload_len = base64url::decoded_len_max(compact.payload.len());
        let (buf, uri_scratch) = scratch
            .split_at_mut_checked(base64url::decoded_len_max(compact.header.len()) + payload_len)
            .ok_or(VerifyError::TooLarge(Limit::Proof))?;
        // Two stages, each in a frame of its own, one after the other: the signature check
        // (with the crypto, the deepest part) does not carry the claims' locals on the stack,
        // and the claims check does not carry the header's.
        let signed = self.check_signature(compact, buf)?;
        self.check_claims(signed, uri_scratch, payload_len, expected, now, key)
    }

    /// Checks 2 to 7 on the segments: base64url, JSON, header, key, signature. The decoded
    /// header and payload are left in `buf`, and the payload is returned unread.
    #[inline(never)]
    fn check_signature<'s>(
        &self,
        compact: jws::Compact<'s>,
        buf: &'s mut [u8],
    ) -> Result<Signed<'s, 'a>, VerifyError> {
        // 2-6, in a frame that is gone before the signature check.
        let (algorithm, jwk, payload) = self.check_structure(&compact, buf)?;

        // 7. Signature over the exact bytes received.
        let sig_len = algorithm.algorithm().signature_len();
        if compact.signature.len() != base64url::encoded_len(sig_len) {
            return Err(VerifyError::InvalidSignature);
        }
        let mut signature = [0u8; MAX_SIGNATURE_LEN];
        let signature =
            base64url::decode(compact.signature, &mut signature).map_err(malformed_base64)?;
        algorithm
            .verify(&jwk, &[compact.signing_input], signature)
            .map_err(VerifyError::from)?;
        Ok(Signed {
            algorithm,
            jwk,
            payload,
        })
    }

    /// Checks 8 to 13, on the payload of a proof whose signature verified; `key` receives the
    /// thumbprint of its key first.
    #[inline(never)]
    fn check_claims<'e>(
        &self,
        signed: Signed<'_, 'a>,
        uri_scratch: &mut [u8],
        payload_len: usize,
        expected: &Expected<'e>,
        now: UnixTime,
        key: &mut Option<Thumbprint>,
    ) -> Result<VerifiedProof<'e>, VerifyError> {
        let Signed {
            algorithm,
            jwk,
            payload,
        } = signed;
        let thumbprint = jwk.thumbprint();
        *key = Some(thumbprint);

        // 8. Required claims, with their types.
        let [p_jti, p_htm, p_htu, p_iat, p_nonce, p_exp, p_ath] =
            payload.fields(["jti", "htm", "htu", "iat", "nonce", "exp", "ath"]);
        let jti = required(p_jti, Claim::Jti)?;
        let htm = required(p_htm, Claim::Htm)?;
        let htu = required(p_htu, Claim::Htu)?;
        let issued_at = match p_iat {
            None => return Err(VerifyError::Missing(Claim::Iat)),
            Some(value) => unix_time(value).ok_or(VerifyError::Invalid(Claim::Iat))?,
        };
        let jti = bounded(
            jti,
            self.settings.limits.jti.min(MAX_JTI_LEN),
            Claim::Jti,
            Limit::Jti,
        )?;
        // Empty or with control characters (which reach logs through the `jti`): rejected as at
        // creation ([`ProofId::new`](crate::claims::ProofId::new)).
        if jti.is_empty() || jti.chars().any(char::is_control) {
            return Err(VerifyError::Invalid(Claim::Jti));
        }

        // 9. Method, case-sensitively (RFC 9110 section 9.1).
        if !htm.eq_str(expected.method.as_str()) {
            return Err(VerifyError::Mismatch(Claim::Htm));
        }

        // 10. Target URI, under the one canonicalization.
        let [htu_buf, canonical, claimed_buf] = uri_buffers(uri_scratch, payload_len)?;
        let htu = bounded_in(htu, htu_buf, Claim::Htu, Limit::Htu)?;
        let claimed = TargetUri::parse_claim(htu).map_err(|_| VerifyError::Invalid(Claim::Htu))?;
        // An expected URI whose canonical form does not fit is longer than any `htu` this proof
        // can hold: a mismatch.
        let expected_htu = expected
            .uri
            .write_canonical(canonical)
            .map_err(|_| VerifyError::Mismatch(Claim::Htu))?;
        let claimed_htu = claimed
            .write_canonical(claimed_buf)
            .map_err(|_| VerifyError::Invalid(Claim::Htu))?;
        if claimed_htu != expected_htu {
            return Err(VerifyError::Mismatch(Claim::Htu));
        }

        // 11. Nonce.
        let nonce = match p_nonce {
            None => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => return Err(VerifyError::Invalid(Claim::Nonce)),
        };
        let nonce: Option<FixedString<MAX_NONCE_LEN>> = match nonce {
            None => None,
            Some(s) => Some(bounded(
                s,
                self.settings.limits.nonce.min(MAX_NONCE_LEN),
                Claim::Nonce,
                Limit::Nonce,
            )?),
        };
        let context = NonceContext {
            thumbprint: &thumbprint,
            htu: expected_htu,
            method: expected.method,
            now,
        };
        let nonce_fresh_until = check_nonce(&expected.nonce, nonce.as_deref(), &context)?;

        // 12. Freshness: from `iat`, or from the nonce's server-side time within a sanity bound.
        let (earliest, latest) = if nonce_fresh_until.is_some() {
            (
                now.saturating_sub(NONCE_IAT_BOUND),
                now.saturating_add(NONCE_IAT_BOUND),
            )
        } else {
            (
                now.saturating_sub(self.settings.max_age.saturating_add(self.settings.leeway)),
                now.saturating_add(self.settings.leeway),
            )
        };
        if issued_at > latest {
            return Err(VerifyError::IssuedInFuture {
                issued_at,
                now,
                latest,
            });
        }
        if issued_at < earliest {
            return Err(VerifyError::TooOld {
                issued_at,
                now,
                earliest,
            });
        }
        if let Some(value) = p_exp {
            let expires_at = unix_time(value).ok_or(VerifyError::Invalid(Claim::Exp))?;
            if expires_at.saturating_add(self.settings.leeway) < now {
                return Err(VerifyError::Expired { expires_at, now });
            }
        }

        // 13. Access token hash and key binding.
        let ath = match p_ath {
            None => None,
            Some(Value::String(s)) => Some(decode_ath(s)?),
            Some(_) => return Err(VerifyError::Invalid(Claim::Ath)),
        };
        if let Some(token) = expected.access_token {
            let presented = ath.ok_or(VerifyError::Missing(Claim::Ath))?;
            if !presented.ct_eq(&AccessTokenHash::of(token)) {
                return Err(VerifyError::Mismatch(Claim::Ath));
            }
        }
        if let Some(bound) = expected.bound_key
            && !bound.ct_eq(&thumbprint)
        {
            return Err(VerifyError::BoundKeyMismatch);
        }

        let replay_key = ReplayKey::derive(&thumbprint, expected_htu, &jti);
        Ok(VerifiedProof {
            algorithm: algorithm.algorithm(),
            jwk,
            thumbprint,
            jti,
            issued_at,
            method: expected.method,
            uri: expected.uri,
            nonce,
            nonce_fresh_until,
            ath,
            replay_key,
        })
    }

    /// Checks 2 to 6 on the segments: base64url, JSON and the header; returns the verifier and
    /// key the header names, and the payload, unread.
    #[inline(never)]
    fn check_structure<'s>(
        &self,
        compact: &jws::Compact<'s>,
        buf: &'s mut [u8],
    ) -> Result<Structure<'s, 'a>, VerifyError> {
        // 2. Base64url.
        let (header_buf, payload_buf) =
            buf.split_at_mut(base64url::decoded_len_max(compact.header.len()));
        let header = base64url::decode(compact.header, header_buf).map_err(malformed_base64)?;
        let payload = base64url::decode(compact.payload, payload_buf).map_err(malformed_base64)?;
        // 3. JSON.
        let header = json::parse_object(header).map_err(malformed_json)?;
        let payload = json::parse_object(payload).map_err(malformed_json)?;

        // 4-6. Header.
        let (algorithm, jwk) = self.check_header(&header)?;
        Ok((algorithm, jwk, payload))
    }

    /// Checks `typ`, `crit`, `alg` and `jwk`; returns the verifier and the key.
    fn check_header(
        &self,
        header: &Object<'_>,
    ) -> Result<(&'a dyn VerifyAlgorithm, PublicJwk), VerifyError> {
        // RFC 9449 section 4.3 check 4; explicit typing per RFC 8725 section 3.11.
        let [h_typ, h_crit, h_alg, h_jwk] = header.fields(["typ", "crit", "alg", "jwk"]);
        let typ = required(h_typ, Claim::Typ)?;
        if !is_dpop_type(typ) {
            return Err(VerifyError::Invalid(Claim::Typ));
        }
        // RFC 7515 section 4.1.11: no extension is understood, so any `crit` is fatal.
        if h_crit.is_some() {
            return Err(VerifyError::CriticalHeader);
        }
        let alg = required(h_alg, Claim::Alg)?;
        let verifier = self
            .accepted
            .iter()
            .copied()
            .find(|v| alg.eq_str(v.algorithm().name()))
            .ok_or(VerifyError::UnsupportedAlgorithm)?;
        let jwk = match h_jwk {
            None => return Err(VerifyError::Missing(Claim::Jwk)),
            Some(Value::Object(o)) => {
                PublicJwk::from_object(&o, false)
                    .map_err(VerifyError::Jwk)?
                    .0
            }
            Some(_) => return Err(VerifyError::Invalid(Claim::Jwk)),
        };
        if jwk.curve() != verifier.algorithm().curve() {
            return Err(VerifyError::AlgorithmMismatch);
        }
        Ok((verifier, jwk))
    }
}

/// The outcome of the structural checks (2 to 6): the verifier and key the header names, and
/// the payload, unread.
type Structure<'s, 'a> = (&'a dyn VerifyAlgorithm, PublicJwk, Object<'s>);
/// The outcome of the signature stage: the verifier and key that checked the signature, and
/// the payload, not yet read.
struct Signed<'s, 'a> {
    algorithm: &'a dyn VerifyAlgorithm,
    jwk: PublicJwk,
    payload: Object<'s>,
}

/// What one request expects of its proof.
///
/// ```
/// use dpop_core::{Expected, HttpMethod, TargetUri};
/// let uri = TargetUri::parse("https://resource.example.org/protectedresource")?;
/// let expected = Expected::new(HttpMethod::GET, uri).with_access_token("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU");
/// # let _ = expected;
/// # Ok::<(), dpop_core::UriError>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Expected<'a> {
    method: HttpMethod<'a>,
    uri: TargetUri<'a>,
    nonce: NonceExpectation<'a>,
    access_token: Option<&'a str>,
    bound_key: Option<&'a Thumbprint>,
}

#[derive(Clone, Copy, Debug)]
enum NonceExpectation<'a> {
    None,
    Exact(&'a str),
    Validator(&'a dyn NonceValidator),
}

impl<'a> Expected<'a> {
    /// The request's method and target URI (its query and fragment are ignored).
    #[must_use]
    pub const fn new(method: HttpMethod<'a>, uri: TargetUri<'a>) -> Self {
        Self {
            method,
            uri,
            nonce: NonceExpectation::None,
            access_token: None,
            bound_key: None,
        }
    }

    /// Requires `nonce` to equal this value (compared in constant time). An empty value is a
    /// configuration error: verification then fails with [`VerifyError::EmptyExpectedNonce`]
    /// whatever the proof.
    #[must_use]
    pub const fn with_nonce(mut self, nonce: &'a str) -> Self {
        self.nonce = NonceExpectation::Exact(nonce);
        self
    }

    /// Requires a nonce that `validator` accepts (for stateless server nonces).
    #[must_use]
    pub const fn with_nonce_validator(mut self, validator: &'a dyn NonceValidator) -> Self {
        self.nonce = NonceExpectation::Validator(validator);
        self
    }

    /// Requires `ath` to be the hash of this access token (RFC 9449 section 4.3 check 12).
    #[must_use]
    pub const fn with_access_token(mut self, access_token: &'a str) -> Self {
        self.access_token = Some(access_token);
        self
    }

    /// Requires the proof key's thumbprint to be the access token's `cnf.jkt`.
    #[must_use]
    pub const fn with_bound_key(mut self, jkt: &'a Thumbprint) -> Self {
        self.bound_key = Some(jkt);
        self
    }

    /// The expected method.
    #[must_use]
    pub const fn method(&self) -> HttpMethod<'a> {
        self.method
    }

    /// The expected target URI.
    #[must_use]
    pub const fn uri(&self) -> TargetUri<'a> {
        self.uri
    }
}

/// What a [`NonceValidator`] may look at besides the nonce.
#[derive(Clone, Copy, Debug)]
pub struct NonceContext<'a> {
    /// The proof key's thumbprint.
    pub thumbprint: &'a Thumbprint,
    /// The canonical target URI.
    pub htu: &'a str,
    /// The request method.
    pub method: HttpMethod<'a>,
    /// The verifier's clock.
    pub now: UnixTime,
}

/// What a [`NonceValidator`] says about a nonce.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NonceStatus {
    /// Acceptable; it carries its own server-side issue time, which vouches for the proof's
    /// freshness (RFC 9449 section 4.3 check 11, sections 8 and 9), and it is accepted until
    /// `accepted_until` (inclusive). The `iat` window is then replaced by [`NONCE_IAT_BOUND`].
    Fresh {
        /// The last second at which this nonce is accepted.
        accepted_until: UnixTime,
    },
    /// Not acceptable (missing from the server's view, stale, forged): `use_dpop_nonce`.
    Invalid,
    /// Acceptable; freshness still comes from `iat`.
    Valid,
}

/// Decides whether a server nonce is acceptable (RFC 9449 section 9: nonces are opaque to the
/// client; the server alone decides). A stateless implementation lives in dpop-std.
pub trait NonceValidator: Send + Sync + fmt::Debug {
    /// True when `nonce` is currently valid for this proof.
    fn is_valid(&self, nonce: &str, context: &NonceContext<'_>) -> bool;

    /// The full answer, which the verifier asks for: whether `nonce` is valid, and whether it
    /// vouches for freshness. The default is [`NonceStatus::Valid`] or [`NonceStatus::Invalid`]
    /// from [`is_valid`](Self::is_valid), which leaves the `iat` window in charge; a validator
    /// that knows when its nonces were issued returns [`NonceStatus::Fresh`].
    fn status(&self, nonce: &str, context: &NonceContext<'_>) -> NonceStatus {
        if self.is_valid(nonce, context) {
            NonceStatus::Valid
        } else {
            NonceStatus::Invalid
        }
    }
}

/// Checks the nonce; `Some(accepted_until)` when it vouches for freshness.
fn check_nonce(
    expectation: &NonceExpectation<'_>,
    nonce: Option<&str>,
    context: &NonceContext<'_>,
) -> Result<Option<UnixTime>, VerifyError> {
    match (expectation, nonce) {
        (NonceExpectation::None, _) => Ok(None),
        (_, None) => Err(VerifyError::NonceRequired),
        (NonceExpectation::Exact(want), Some(got)) => {
            if !want.is_empty() && bool::from(want.as_bytes().ct_eq(got.as_bytes())) {
                Ok(None)
            } else {
                Err(VerifyError::NonceInvalid)
            }
        }
        (NonceExpectation::Validator(v), Some(got)) => match v.status(got, context) {
            NonceStatus::Fresh { accepted_until } => Ok(Some(accepted_until)),
            NonceStatus::Valid => Ok(None),
            NonceStatus::Invalid => Err(VerifyError::NonceInvalid),
        },
    }
}

/// Why [`Verifier::verify_detailed`] refused a proof: the [`VerifyError`], and the thumbprint
/// of the proof's key when the signature had verified it before the failing check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifyFailure {
    error: VerifyError,
    thumbprint: Option<Thumbprint>,
}

impl VerifyFailure {
    /// The failed check.
    #[must_use]
    pub const fn error(&self) -> VerifyError {
        self.error
    }

    /// The thumbprint of the key that signed the proof, when its signature verified (the
    /// failure came at check 8 or later); `None` for a proof refused before, whose key is not
    /// known to be the signer's.
    #[must_use]
    pub const fn thumbprint(&self) -> Option<&Thumbprint> {
        self.thumbprint.as_ref()
    }
}

impl From<VerifyFailure> for VerifyError {
    fn from(failure: VerifyFailure) -> Self {
        failure.error
    }
}

impl fmt::Display for VerifyFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl core::error::Error for VerifyFailure {}

impl From<VerifyFailure> for crate::Error {
    fn from(failure: VerifyFailure) -> Self {
        failure.error.into()
    }
}

sha256_value!(
    /// A fixed-size key for replay detection: SHA-256 over the thumbprint, the canonical `htu`
    /// and the `jti`, each length-prefixed. It never depends on the signature bytes, which are
    /// malleable (ECDSA `(r, s)` and `(r, n - s)` both verify).
    ReplayKey,
    InvalidReplayKey
);

impl ReplayKey {
    fn derive(thumbprint: &Thumbprint, htu: &str, jti: &str) -> Self {
        let mut h = Sha256::new();
        h.update(b"dpop-replay-v1");
        h.update(thumbprint.as_bytes());
        for part in [htu.as_bytes(), jti.as_bytes()] {
            h.update(u64::try_from(part.len()).unwrap_or(u64::MAX).to_be_bytes());
            h.update(part);
        }
        Self::from_bytes(h.finalize().into())
    }
}

/// A proof that passed every check. Only [`Verifier::verify`] makes one.
#[must_use]
#[derive(Clone, Debug)]
pub struct VerifiedProof<'e> {
    algorithm: Algorithm,
    jwk: PublicJwk,
    thumbprint: Thumbprint,
    jti: FixedString<MAX_JTI_LEN>,
    issued_at: UnixTime,
    method: HttpMethod<'e>,
    uri: TargetUri<'e>,
    nonce: Option<FixedString<MAX_NONCE_LEN>>,
    nonce_fresh_until: Option<UnixTime>,
    ath: Option<AccessTokenHash>,
    replay_key: ReplayKey,
}

impl<'e> VerifiedProof<'e> {
    /// The signature algorithm.
    pub const fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The proof's public key.
    pub const fn public_jwk(&self) -> &PublicJwk {
        &self.jwk
    }

    /// The key's RFC 7638 thumbprint: the `jkt` to bind a token to.
    pub const fn thumbprint(&self) -> &Thumbprint {
        &self.thumbprint
    }

    /// The `jti`.
    pub fn id(&self) -> &str {
        &self.jti
    }

    /// The `iat`.
    pub const fn issued_at(&self) -> UnixTime {
        self.issued_at
    }

    /// The method (`htm`), equal to the expected one.
    pub const fn method(&self) -> HttpMethod<'e> {
        self.method
    }

    /// The target URI (`htu`), canonically equal to the expected one.
    pub const fn uri(&self) -> TargetUri<'e> {
        self.uri
    }

    /// The `nonce`, if the proof has one.
    pub fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }

    /// When the proof's freshness came from its nonce ([`NonceStatus::Fresh`]): the last second
    /// at which that nonce is accepted. A replay cache must then remember the proof until after
    /// this time too, since until then it passes every check whatever its `iat`.
    pub const fn nonce_fresh_until(&self) -> Option<UnixTime> {
        self.nonce_fresh_until
    }

    /// The `ath`, if the proof has one.
    pub const fn access_token_hash(&self) -> Option<&AccessTokenHash> {
        self.ath.as_ref()
    }

    /// The key under which a replay cache remembers this proof.
    pub const fn replay_key(&self) -> &ReplayKey {
        &self.replay_key
    }
}

/// `dpop+jwt`, case-insensitively, with or without the `application/` prefix: RFC 7515 section
/// 4.1.9 makes `typ` a media type, which is case-insensitive (RFC 2045 section 5.1) and may
/// omit `application/`. Nothing else is accepted (no parameters, no other type).
fn is_dpop_type(typ: JsonStr<'_>) -> bool {
    const PREFIX: &[u8] = b"application/";
    // Longest accepted value; anything longer is not `dpop+jwt`.
    let mut buf = [0u8; 20];
    let mut len = 0;
    for b in typ.bytes() {
        let Some(slot) = buf.get_mut(len) else {
            return false;
        };
        *slot = b;
        len += 1;
    }
    let text = buf.get(..len).unwrap_or_default();
    let name = match text.get(..PREFIX.len()) {
        Some(head) if head.eq_ignore_ascii_case(PREFIX) => {
            text.get(PREFIX.len()..).unwrap_or_default()
        }
        _ => text,
    };
    name.eq_ignore_ascii_case(TYPE.as_bytes())
}

fn required<'a>(value: Option<Value<'a>>, claim: Claim) -> Result<JsonStr<'a>, VerifyError> {
    match value {
        None => Err(VerifyError::Missing(claim)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(VerifyError::Invalid(claim)),
    }
}

/// The characters of the shortest signature segment of any algorithm (ES256's 64 bytes): a
/// proof reaches the claims check only with a signature segment of its algorithm's exact length.
const MIN_SIGNATURE_CHARS: usize = base64url::encoded_len(64);

/// The scratch [`Verifier::verify_with_scratch`] needs for a proof of `proof_len` bytes.
///
/// Decoding needs the decoded header and payload: at most `decoded_len_max(proof_len)`. The
/// claims check, reached only once a signature of at least [`MIN_SIGNATURE_CHARS`] has
/// verified, needs the decoded header and payload (`H + P` bytes) and then three `htu` buffers
/// of `1 + min(P, MAX_URI_LEN)` bytes each (no `htu` is longer than the decoded payload, and
/// its canonical form is at most one byte longer). Since decoding rounds down,
/// `H + P <= decoded_len_max(proof_len - MIN_SIGNATURE_CHARS - 2)`, which bounds both.
const fn scratch_len_for(proof_len: usize) -> usize {
    let decoding = base64url::decoded_len_max(proof_len);
    let signed = base64url::decoded_len_max(proof_len.saturating_sub(MIN_SIGNATURE_CHARS + 2));
    let claims = signed + 3 * uri_buffer_len(signed);
    if decoding > claims { decoding } else { claims }
}

/// The length of each `htu` buffer for a decoded payload of `payload_len` bytes.
const fn uri_buffer_len(payload_len: usize) -> usize {
    1 + if payload_len < MAX_URI_LEN {
        payload_len
    } else {
        MAX_URI_LEN
    }
}

/// Splits the `htu` part of the scratch into its three buffers. Too short a part is
/// `TooLarge(Proof)`, which [`scratch_len_for`] rules out for any proof whose signature
/// verified.
fn uri_buffers(scratch: &mut [u8], payload_len: usize) -> Result<[&mut [u8]; 3], VerifyError> {
    let len = uri_buffer_len(payload_len);
    let (first, rest) = scratch
        .split_at_mut_checked(len)
        .ok_or(VerifyError::TooLarge(Limit::Proof))?;
    let (second, rest) = rest
        .split_at_mut_checked(len)
        .ok_or(VerifyError::TooLarge(Limit::Proof))?;
    let third = rest
        .get_mut(..len)
        .ok_or(VerifyError::TooLarge(Limit::Proof))?;
    Ok([first, second, third])
}

/// Unescapes a string claim into `buf`, or borrows it when it has no escapes; enforces
/// `buf`'s length as the limit.
fn bounded_in<'b>(
    text: JsonStr<'b>,
    buf: &'b mut [u8],
    claim: Claim,
    too_large: Limit,
) -> Result<&'b str, VerifyError> {
    if text.decoded_len() > buf.len().min(MAX_URI_LEN) {
        return Err(VerifyError::TooLarge(too_large));
    }
    match text.as_borrowed() {
        Some(s) => Ok(s),
        None => text
            .decode_into(buf)
            .map_err(|_| VerifyError::Invalid(claim)),
    }
}

/// Unescapes a string claim into fixed storage, enforcing its limit.
fn bounded<const N: usize>(
    text: JsonStr<'_>,
    limit: usize,
    claim: Claim,
    too_large: Limit,
) -> Result<FixedString<N>, VerifyError> {
    if text.decoded_len() > limit.min(N) {
        return Err(VerifyError::TooLarge(too_large));
    }
    let mut out = FixedString::<N>::new();
    match text.as_borrowed() {
        Some(s) => out
            .push_str(s)
            .map_err(|_| VerifyError::TooLarge(too_large))?,
        // Unescaped straight into the result: no second buffer of N bytes on the stack.
        None => out = unescape(text).ok_or(VerifyError::Invalid(claim))?,
    }
    Ok(out)
}

/// The unescaped text of `text`, if it fits in `N` bytes and is UTF-8.
fn unescape<const N: usize>(text: JsonStr<'_>) -> Option<FixedString<N>> {
    let mut bytes = heapless::Vec::<u8, N>::new();
    for byte in text.bytes() {
        bytes.push(byte).ok()?;
    }
    FixedString::from_utf8(bytes).ok()
}

/// A non-negative `NumericDate` (RFC 7519 section 2), by its integer part: `1700000000.5` and
/// `1.7e9` are accepted as 1700000000. Negative values, non-numbers and integer parts above
/// `u64::MAX` are not.
fn unix_time(value: Value<'_>) -> Option<UnixTime> {
    match value {
        Value::Number(n) => n.as_numeric_date().map(UnixTime::from_secs),
        _ => None,
    }
}

fn decode_ath(text: JsonStr<'_>) -> Result<AccessTokenHash, VerifyError> {
    let mut buf = [0u8; 64];
    let encoded = match text.as_borrowed() {
        Some(s) => s,
        None => text
            .decode_into(&mut buf)
            .map_err(|_| VerifyError::Invalid(Claim::Ath))?,
    };
    AccessTokenHash::from_base64url(encoded).map_err(|_| VerifyError::Invalid(Claim::Ath))
}

fn malformed_base64(_: base64url::DecodeError) -> VerifyError {
    VerifyError::Malformed(Malformed::Base64)
}

fn malformed_json(e: JsonError) -> VerifyError {
    VerifyError::Malformed(match e {
        JsonError::InvalidUtf8 => Malformed::Utf8,
        JsonError::DuplicateMember => Malformed::DuplicateMember,
        JsonError::NotAnObject => Malformed::NotAnObject,
        JsonError::TooDeep | JsonError::TooManyMembers => Malformed::Nesting,
        _ => Malformed::Json,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifier_setters_and_settings_are_one_value() {
        let settings = VerifierSettings::DEFAULT
            .with_max_age(1)
            .with_leeway(2)
            .with_limits(Limits::DEVICE);
        let by_setters = Verifier::new(&[])
            .with_max_age(1)
            .with_leeway(2)
            .with_limits(Limits::DEVICE);
        assert_eq!(by_setters.settings(), settings);
        let at_once = Verifier::new(&[]).with_settings(settings);
        assert_eq!(
            (at_once.max_age(), at_once.leeway(), at_once.limits()),
            (1, 2, Limits::DEVICE)
        );
        assert_eq!(at_once.acceptance_window(), settings.acceptance_window());
        assert_eq!(Verifier::new(&[]).settings(), VerifierSettings::default());
        assert_eq!(
            (
                VerifierSettings::DEFAULT.max_age(),
                VerifierSettings::DEFAULT.leeway(),
                VerifierSettings::DEFAULT.limits()
            ),
            (DEFAULT_MAX_AGE, DEFAULT_LEEWAY, Limits::DEFAULT)
        );
    }
}
