//! Errors: one small, `Copy`, allocation-free type per operation.
//!
//! Every variant has a stable snake_case [`name`](VerifyError::name) for logs and tooling, and
//! [`VerifyError::error_code`] maps a verification failure to the RFC 9449 error code a server
//! sends (`invalid_dpop_proof` or `use_dpop_nonce`, RFC 9449 sections 7.1 and 8). `Display` never
//! includes proof contents, so error text is safe to log and to send back.

use core::fmt;

use crate::claims::{InvalidAccessTokenHash, InvalidClaimValue};
use crate::htu::UriError;
use crate::proof::verify::InvalidReplayKey;
use crate::thumbprint::InvalidThumbprint;
use crate::time::UnixTime;

/// The RFC 9449 error code for a rejected proof.
pub const INVALID_DPOP_PROOF: &str = "invalid_dpop_proof";
/// The RFC 9449 error code asking the client to retry with the server's nonce (section 8).
pub const USE_DPOP_NONCE: &str = "use_dpop_nonce";

/// Any dpop-core error: the one type to `?` into when a caller does not need to tell the
/// operations apart (as `http::Error` is for the `http` crate).
///
/// Each operation keeps its own precise error ([`VerifyError`], [`CreateError`], ...), and
/// every one of them converts into this with `From`. [`name`](Self::name) and `Display` forward
/// to the inner error, so the stable names stay what they were.
///
/// Every error is small, `Copy` and allocation-free. Every variant has a stable snake_case
/// [`name`](VerifyError::name) for logs and tooling, and [`VerifyError::error_code`] maps a
/// verification failure to the RFC 9449 error code a server sends (`invalid_dpop_proof` or
/// `use_dpop_nonce`, RFC 9449 sections 7.1 and 8). `Display` never includes proof contents, so
/// error text is safe to log and to send back.
///
/// ```
/// use dpop_core::{Error, HttpMethod, ProofId, TargetUri};
///
/// fn parse() -> Result<(), Error> {
///     let _uri = TargetUri::parse("https://api.example.com/r")?; // UriError
///     let _method = HttpMethod::parse("GET")?;                   // InvalidClaimValue
///     let _id = ProofId::new("")?;                               // InvalidClaimValue
///     Ok(())
/// }
/// let err = parse().unwrap_err();
/// assert_eq!(err, Error::ClaimValue(dpop_core::InvalidClaimValue));
/// assert_eq!(err.name(), "invalid_claim_value");
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// A proof was rejected.
    Verify(VerifyError),
    /// A proof could not be created.
    Create(CreateError),
    /// A public JWK was rejected.
    Jwk(JwkError),
    /// A private key was rejected.
    Key(KeyError),
    /// A target URI was rejected.
    Uri(UriError),
    /// A claim value (method, proof id) does not have the required syntax.
    ClaimValue(InvalidClaimValue),
    /// A thumbprint text is not a base64url SHA-256 value.
    Thumbprint(InvalidThumbprint),
    /// An access-token hash text is not a base64url SHA-256 value.
    AccessTokenHash(InvalidAccessTokenHash),
    /// A replay key text is not a base64url SHA-256 value.
    ReplayKey(InvalidReplayKey),
    /// A signature did not verify.
    Signature(InvalidSignature),
    /// A backend's signature check failed: an invalid key or an invalid signature.
    SignatureCheck(SignatureCheckError),
    /// A signer failed.
    Sign(SignError),
    /// An output buffer is too small.
    BufferTooSmall(BufferTooSmall),
}

impl Error {
    /// The stable snake_case name of the inner error (for the enums, their variant's name).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Verify(e) => e.name(),
            Self::Create(e) => e.name(),
            Self::Jwk(e) => e.name(),
            Self::Key(e) => e.name(),
            Self::Uri(e) => e.name(),
            Self::ClaimValue(_) => "invalid_claim_value",
            Self::Thumbprint(_) => "invalid_thumbprint",
            Self::AccessTokenHash(_) => "invalid_access_token_hash",
            Self::ReplayKey(_) => "invalid_replay_key",
            Self::Signature(_) => "invalid_signature",
            Self::SignatureCheck(e) => e.name(),
            Self::Sign(_) => "sign_error",
            Self::BufferTooSmall(_) => "buffer_too_small",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Verify(e) => e.fmt(f),
            Self::Create(e) => e.fmt(f),
            Self::Jwk(e) => e.fmt(f),
            Self::Key(e) => e.fmt(f),
            Self::Uri(e) => e.fmt(f),
            Self::ClaimValue(e) => e.fmt(f),
            Self::Thumbprint(e) => e.fmt(f),
            Self::AccessTokenHash(e) => e.fmt(f),
            Self::ReplayKey(e) => e.fmt(f),
            Self::Signature(e) => e.fmt(f),
            Self::SignatureCheck(e) => e.fmt(f),
            Self::Sign(e) => e.fmt(f),
            Self::BufferTooSmall(e) => e.fmt(f),
        }
    }
}

/// The inner error is this error's own text (Display forwards), so `source()` is `None`: a
/// report that walks the chain prints each message once.
impl core::error::Error for Error {}

macro_rules! into_umbrella {
    ($($ty:ty => $variant:ident),* $(,)?) => {$(
        impl From<$ty> for Error {
            fn from(e: $ty) -> Self {
                Self::$variant(e)
            }
        }
    )*};
}

into_umbrella!(
    VerifyError => Verify,
    CreateError => Create,
    JwkError => Jwk,
    KeyError => Key,
    UriError => Uri,
    InvalidClaimValue => ClaimValue,
    InvalidThumbprint => Thumbprint,
    InvalidAccessTokenHash => AccessTokenHash,
    InvalidReplayKey => ReplayKey,
    InvalidSignature => Signature,
    SignatureCheckError => SignatureCheck,
    SignError => Sign,
    BufferTooSmall => BufferTooSmall,
);

/// A JWS header parameter or JWT claim of a DPoP proof (RFC 9449 section 4.2).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Claim {
    /// Header `alg`.
    Alg,
    /// Claim `ath`, the access-token hash.
    Ath,
    /// Claim `exp`.
    Exp,
    /// Claim `htm`, the HTTP method.
    Htm,
    /// Claim `htu`, the HTTP target URI.
    Htu,
    /// Claim `iat`, the issue time.
    Iat,
    /// Claim `jti`, the proof identifier.
    Jti,
    /// Header `jwk`, the public key.
    Jwk,
    /// Claim `nonce`.
    Nonce,
    /// Header `typ`.
    Typ,
}

impl Claim {
    /// The member name on the wire (`"htu"`, `"typ"`, ...).
    #[must_use]
    pub const fn wire_name(self) -> &'static str {
        match self {
            Self::Alg => "alg",
            Self::Ath => "ath",
            Self::Exp => "exp",
            Self::Htm => "htm",
            Self::Htu => "htu",
            Self::Iat => "iat",
            Self::Jti => "jti",
            Self::Jwk => "jwk",
            Self::Nonce => "nonce",
            Self::Typ => "typ",
        }
    }
}

/// A structural defect of the compact JWS or its JSON (RFC 7515 section 7.1, RFC 8259).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Malformed {
    /// A segment is not canonical unpadded base64url (padding, foreign characters, non-zero
    /// trailing bits, impossible length).
    Base64,
    /// An object has two members with the same name (RFC 7515 section 4: reject or use the
    /// last; we reject).
    DuplicateMember,
    /// Invalid JSON: grammar, escapes, unescaped control characters or trailing data.
    Json,
    /// The JWS JSON serialization (RFC 7515 section 7.2) was sent; DPoP uses the compact form.
    JwsJsonSerialization,
    /// JSON nested too deeply or an object with too many members.
    Nesting,
    /// The header or payload is JSON but not an object.
    NotAnObject,
    /// Not exactly three dot-separated segments, or an empty segment.
    Segments,
    /// The header or payload is not UTF-8.
    Utf8,
}

/// A size limit of [`Limits`](crate::proof::verify::Limits) that was exceeded.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Limit {
    /// Claim `htu` longer than [`MAX_URI_LEN`](crate::htu::MAX_URI_LEN).
    Htu,
    /// Claim `jti`.
    Jti,
    /// Claim `nonce`.
    Nonce,
    /// The whole compact proof.
    Proof,
}

/// Why a proof was rejected (RFC 9449 section 4.3). Variants are listed alphabetically.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyError {
    /// `alg` does not belong to the curve of the `jwk` (RFC 7518 section 3.4).
    AlgorithmMismatch,
    /// The proof key's thumbprint differs from the access token's `cnf.jkt` (RFC 9449 section
    /// 6.1).
    BoundKeyMismatch,
    /// The header has a `crit` parameter; no extension is understood (RFC 7515 section 4.1.11).
    CriticalHeader,
    /// The server's configuration is wrong, not the proof: the expected nonce
    /// ([`Expected::with_nonce`](crate::Expected::with_nonce)) is empty, which no proof
    /// may match. A server answers it as an internal error, not to the client
    /// ([`is_configuration_error`](Self::is_configuration_error)).
    EmptyExpectedNonce,
    /// An `exp` claim is in the past.
    Expired {
        /// The `exp` claim.
        expires_at: UnixTime,
        /// The verifier's clock.
        now: UnixTime,
    },
    /// A member is present but of the wrong JSON type or has an invalid value.
    Invalid(Claim),
    /// The signature does not verify, or is not exactly the raw `r||s` length.
    InvalidSignature,
    /// `iat` is later than `now + leeway`.
    IssuedInFuture {
        /// The `iat` claim.
        issued_at: UnixTime,
        /// The verifier's clock.
        now: UnixTime,
        /// The latest acceptable `iat` (`now + leeway`).
        latest: UnixTime,
    },
    /// The `jwk` header is not an acceptable public EC key.
    Jwk(JwkError),
    /// The compact JWS or its JSON is malformed.
    Malformed(Malformed),
    /// A claim does not match the request: `htm`, `htu` or `ath` (RFC 9449 section 4.3).
    Mismatch(Claim),
    /// A required member is absent.
    Missing(Claim),
    /// The `nonce` claim is not the one the server expects (or is stale or forged).
    NonceInvalid,
    /// The server requires a nonce and the proof has none.
    NonceRequired,
    /// A size limit was exceeded; checked before any decoding.
    TooLarge(Limit),
    /// `iat` is earlier than `now - max_age - leeway`.
    TooOld {
        /// The `iat` claim.
        issued_at: UnixTime,
        /// The verifier's clock.
        now: UnixTime,
        /// The earliest acceptable `iat`.
        earliest: UnixTime,
    },
    /// `alg` is not in the verifier's allow-list (which never holds `none`, HMAC or RSA).
    UnsupportedAlgorithm,
}

impl VerifyError {
    /// The RFC 9449 error code: [`USE_DPOP_NONCE`] for nonce errors, else
    /// [`INVALID_DPOP_PROOF`].
    ///
    /// ```
    /// use dpop_core::VerifyError;
    /// assert_eq!(VerifyError::NonceRequired.error_code(), "use_dpop_nonce");
    /// assert_eq!(VerifyError::InvalidSignature.error_code(), "invalid_dpop_proof");
    /// ```
    #[must_use]
    pub const fn error_code(self) -> &'static str {
        match self {
            Self::NonceInvalid | Self::NonceRequired => USE_DPOP_NONCE,
            _ => INVALID_DPOP_PROOF,
        }
    }

    /// True for errors in the verifier's configuration rather than in the proof
    /// ([`EmptyExpectedNonce`](Self::EmptyExpectedNonce)).
    #[must_use]
    pub const fn is_configuration_error(self) -> bool {
        matches!(self, Self::EmptyExpectedNonce)
    }

    /// True for the two nonce errors a server answers with a fresh `DPoP-Nonce`.
    #[must_use]
    pub const fn is_nonce_error(self) -> bool {
        matches!(self, Self::NonceInvalid | Self::NonceRequired)
    }

    /// A stable snake_case name, unique per variant and category (`"missing_jti"`,
    /// `"htu_mismatch"`, `"malformed_base64"`, `"too_old"`, ...).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::AlgorithmMismatch => "algorithm_mismatch",
            Self::BoundKeyMismatch => "bound_key_mismatch",
            Self::CriticalHeader => "critical_header",
            Self::EmptyExpectedNonce => "empty_expected_nonce",
            Self::Expired { .. } => "expired",
            Self::Invalid(c) => match c {
                Claim::Alg => "invalid_alg",
                Claim::Ath => "invalid_ath",
                Claim::Exp => "invalid_exp",
                Claim::Htm => "invalid_htm",
                Claim::Htu => "invalid_htu",
                Claim::Iat => "invalid_iat",
                Claim::Jti => "invalid_jti",
                Claim::Jwk => "invalid_jwk",
                Claim::Nonce => "invalid_nonce",
                Claim::Typ => "invalid_typ",
            },
            Self::InvalidSignature => "invalid_signature",
            Self::IssuedInFuture { .. } => "issued_in_future",
            Self::Jwk(e) => e.name(),
            Self::Malformed(m) => match m {
                Malformed::Base64 => "malformed_base64",
                Malformed::DuplicateMember => "malformed_duplicate_member",
                Malformed::Json => "malformed_json",
                Malformed::JwsJsonSerialization => "malformed_jws_json_serialization",
                Malformed::Nesting => "malformed_nesting",
                Malformed::NotAnObject => "malformed_not_an_object",
                Malformed::Segments => "malformed_segments",
                Malformed::Utf8 => "malformed_utf8",
            },
            Self::Mismatch(c) => match c {
                Claim::Ath => "ath_mismatch",
                Claim::Htm => "htm_mismatch",
                Claim::Htu => "htu_mismatch",
                Claim::Nonce => "nonce_mismatch",
                _ => "claim_mismatch",
            },
            Self::Missing(c) => match c {
                Claim::Alg => "missing_alg",
                Claim::Ath => "missing_ath",
                Claim::Exp => "missing_exp",
                Claim::Htm => "missing_htm",
                Claim::Htu => "missing_htu",
                Claim::Iat => "missing_iat",
                Claim::Jti => "missing_jti",
                Claim::Jwk => "missing_jwk",
                Claim::Nonce => "missing_nonce",
                Claim::Typ => "missing_typ",
            },
            Self::NonceInvalid => "nonce_invalid",
            Self::NonceRequired => "nonce_required",
            Self::TooLarge(l) => match l {
                Limit::Htu => "htu_too_large",
                Limit::Jti => "jti_too_large",
                Limit::Nonce => "nonce_too_large",
                Limit::Proof => "proof_too_large",
            },
            Self::TooOld { .. } => "too_old",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
        }
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::AlgorithmMismatch => f.write_str("alg does not match the curve of the jwk"),
            Self::BoundKeyMismatch => {
                f.write_str("proof key is not the key the access token is bound to")
            }
            Self::CriticalHeader => f.write_str("crit header parameter is not supported"),
            Self::EmptyExpectedNonce => {
                f.write_str("server configuration error: the expected nonce is empty")
            }
            Self::Expired { expires_at, now } => {
                write!(f, "proof expired: exp {expires_at}, server time {now}")
            }
            Self::Invalid(c) => write!(f, "invalid {} in proof", c.wire_name()),
            Self::InvalidSignature => f.write_str("invalid proof signature"),
            Self::IssuedInFuture {
                issued_at,
                now,
                latest,
            } => write!(
                f,
                "proof issued in the future: iat {issued_at}, server time {now}, latest accepted \
                 {latest}"
            ),
            Self::Jwk(e) => write!(f, "invalid jwk: {e}"),
            Self::Malformed(m) => f.write_str(match m {
                Malformed::Base64 => "malformed proof: invalid base64url",
                Malformed::DuplicateMember => "malformed proof: duplicate JSON member",
                Malformed::Json => "malformed proof: invalid JSON",
                Malformed::JwsJsonSerialization => {
                    "malformed proof: JWS JSON serialization is not accepted"
                }
                Malformed::Nesting => "malformed proof: JSON nested too deeply or too many members",
                Malformed::NotAnObject => "malformed proof: header or payload is not a JSON object",
                Malformed::Segments => "malformed proof: not a compact JWS of three segments",
                Malformed::Utf8 => "malformed proof: not UTF-8",
            }),
            Self::Mismatch(c) => write!(f, "{} does not match the request", c.wire_name()),
            Self::Missing(c) => write!(f, "missing {} in proof", c.wire_name()),
            Self::NonceInvalid => f.write_str("nonce is invalid or stale"),
            Self::NonceRequired => f.write_str("a nonce is required"),
            Self::TooLarge(l) => f.write_str(match l {
                Limit::Htu => "htu is too long",
                Limit::Jti => "jti is too long",
                Limit::Nonce => "nonce is too long",
                Limit::Proof => "proof is too long",
            }),
            Self::TooOld {
                issued_at,
                now,
                earliest,
            } => write!(
                f,
                "proof is too old: iat {issued_at}, server time {now}, earliest accepted \
                 {earliest}"
            ),
            Self::UnsupportedAlgorithm => f.write_str("unsupported or disallowed alg"),
        }
    }
}

impl core::error::Error for VerifyError {}

/// A member of an EC JWK (RFC 7518 section 6.2).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JwkMember {
    /// `crv`.
    Crv,
    /// `d`, the private scalar.
    D,
    /// `kty`.
    Kty,
    /// `x`.
    X,
    /// `y`.
    Y,
}

impl JwkMember {
    /// The member name on the wire.
    #[must_use]
    pub const fn wire_name(self) -> &'static str {
        match self {
            Self::Crv => "crv",
            Self::D => "d",
            Self::Kty => "kty",
            Self::X => "x",
            Self::Y => "y",
        }
    }
}

/// Why a JWK was rejected (RFC 7517, RFC 7518 section 6.2). Variants are listed alphabetically.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwkError {
    /// `x`, `y` or `d` is valid base64url but not exactly 32, 48 or 66 bytes for the curve.
    CoordinateLength(JwkMember),
    /// A member is present but not a string, or not canonical unpadded base64url.
    Invalid(JwkMember),
    /// `d` is not a valid private scalar for the curve.
    InvalidPrivateKey,
    /// The JSON text is malformed.
    Json,
    /// A required member is absent.
    Missing(JwkMember),
    /// The point `(x, y)` is not on the curve (or is the identity).
    NotOnCurve,
    /// A public key was expected and the JWK has a private member (`d`, `p`, `q`, `dp`, `dq`,
    /// `qi`, `k` or `oth`; RFC 9449 section 4.3 check 7).
    PrivateMember,
    /// `d` does not belong to the public point `(x, y)`.
    PrivateKeyMismatch,
    /// `crv` is not P-256, P-384 or P-521, or its algorithm feature is not compiled in.
    UnsupportedCurve,
    /// `kty` is not `EC` (RSA, OKP and oct keys are not supported).
    UnsupportedKeyType,
}

impl JwkError {
    /// A stable snake_case name (`"jwk_private_member"`, ...).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::CoordinateLength(_) => "jwk_coordinate_length",
            Self::Invalid(_) => "jwk_invalid_member",
            Self::InvalidPrivateKey => "jwk_invalid_private_key",
            Self::Json => "jwk_malformed_json",
            Self::Missing(_) => "jwk_missing_member",
            Self::NotOnCurve => "jwk_not_on_curve",
            Self::PrivateMember => "jwk_private_member",
            Self::PrivateKeyMismatch => "jwk_private_key_mismatch",
            Self::UnsupportedCurve => "jwk_unsupported_curve",
            Self::UnsupportedKeyType => "jwk_unsupported_key_type",
        }
    }
}

impl fmt::Display for JwkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::CoordinateLength(m) => {
                write!(
                    f,
                    "member {} has the wrong length for the curve",
                    m.wire_name()
                )
            }
            Self::Invalid(m) => write!(f, "member {} is not valid base64url text", m.wire_name()),
            Self::InvalidPrivateKey => f.write_str("d is not a valid private key"),
            Self::Json => f.write_str("not a valid JSON object"),
            Self::Missing(m) => write!(f, "missing member {}", m.wire_name()),
            Self::NotOnCurve => f.write_str("point is not on the curve"),
            Self::PrivateMember => f.write_str("a public key was expected, found private members"),
            Self::PrivateKeyMismatch => f.write_str("d does not match x and y"),
            Self::UnsupportedCurve => f.write_str("unsupported crv"),
            Self::UnsupportedKeyType => f.write_str("unsupported kty, expected EC"),
        }
    }
}

impl core::error::Error for JwkError {}

/// Why a proof could not be created. Variants are listed alphabetically.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreateError {
    /// The output buffer is too small; [`NewProof::max_len`](crate::NewProof::max_len)
    /// gives a size that always fits.
    BufferTooSmall,
    /// The access token is empty or not printable ASCII (RFC 6750 `b64token`).
    InvalidAccessToken,
    /// The nonce is empty or not `1*NQCHAR` (RFC 9449 section 8).
    InvalidNonce,
    /// The random number generator failed while drawing a `jti`.
    Rng,
    /// The signer failed (an HSM or KMS error, or a signature of the wrong length).
    Signing,
    /// A value is longer than the limits a verifier applies by default.
    TooLarge(Limit),
    /// The target URI could not be canonicalized.
    Uri(UriError),
}

impl CreateError {
    /// A stable snake_case name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::BufferTooSmall => "buffer_too_small",
            Self::InvalidAccessToken => "invalid_access_token",
            Self::InvalidNonce => "invalid_nonce",
            Self::Rng => "rng_failure",
            Self::Signing => "signing_failed",
            Self::TooLarge(_) => "too_large",
            Self::Uri(e) => e.name(),
        }
    }
}

impl fmt::Display for CreateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::BufferTooSmall => f.write_str("output buffer too small for the proof"),
            Self::InvalidAccessToken => f.write_str("access token is not printable ASCII"),
            Self::InvalidNonce => f.write_str("nonce is empty or has characters outside NQCHAR"),
            Self::Rng => f.write_str("random number generator failure"),
            Self::Signing => f.write_str("signing failed"),
            Self::TooLarge(l) => write!(f, "{}", VerifyError::TooLarge(l)),
            Self::Uri(e) => write!(f, "invalid target URI: {e}"),
        }
    }
}

impl core::error::Error for CreateError {}

impl From<UriError> for CreateError {
    fn from(e: UriError) -> Self {
        Self::Uri(e)
    }
}

/// Why a signing key could not be made.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyError {
    /// The bytes are not a valid private scalar for the curve (zero, too large, wrong length).
    InvalidScalar,
    /// The private JWK is invalid.
    Jwk(JwkError),
    /// The random number generator failed.
    Rng,
    /// The algorithm's feature is not compiled in.
    UnsupportedAlgorithm,
    /// The key format is not compiled in (for the RustCrypto backend, PKCS#8 needs the
    /// `pkcs8` feature).
    UnsupportedFormat,
}

impl KeyError {
    /// A stable snake_case name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::InvalidScalar => "invalid_private_key",
            Self::Jwk(e) => e.name(),
            Self::Rng => "rng_failure",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::UnsupportedFormat => "unsupported_key_format",
        }
    }
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::InvalidScalar => f.write_str("not a valid private key for the curve"),
            Self::Jwk(e) => write!(f, "invalid private jwk: {e}"),
            Self::Rng => f.write_str("random number generator failure"),
            Self::UnsupportedAlgorithm => f.write_str("algorithm not compiled in"),
            Self::UnsupportedFormat => f.write_str("key format not compiled in"),
        }
    }
}

impl core::error::Error for KeyError {}

impl From<JwkError> for KeyError {
    fn from(e: JwkError) -> Self {
        Self::Jwk(e)
    }
}

/// A signature did not verify. Carries no detail on purpose (RFC 9449 section 4.3 check 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidSignature;

impl fmt::Display for InvalidSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid signature")
    }
}

impl core::error::Error for InvalidSignature {}

/// Why a backend's signature check ([`VerifyAlgorithm::verify`](crate::crypto::VerifyAlgorithm::verify))
/// failed: the public key is not a valid point, or the signature does not verify.
///
/// The point check belongs to the backend (a [`PublicJwk`](crate::PublicJwk) is checked for
/// structure only), and it happens while the backend prepares the key for verification, so
/// the key is parsed once per verification. This error lets the backend report an invalid key
/// precisely: a proof whose key is not on its curve is rejected as
/// [`VerifyError::Jwk`]`(`[`JwkError::NotOnCurve`]`)`, not as a bad signature.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureCheckError {
    /// The public key is not usable: [`JwkError::NotOnCurve`] for a point that is not on the
    /// curve, is the identity, or has a coordinate not below the field modulus;
    /// [`JwkError::UnsupportedCurve`] when the backend does not have the key's curve.
    InvalidKey(JwkError),
    /// The signature does not verify (wrong length, `r` or `s` out of range, or wrong).
    InvalidSignature,
}

impl SignatureCheckError {
    /// A stable snake_case name: the key error's name, or `invalid_signature`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::InvalidKey(e) => e.name(),
            Self::InvalidSignature => "invalid_signature",
        }
    }
}

impl fmt::Display for SignatureCheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::InvalidKey(e) => write!(f, "invalid public key: {e}"),
            Self::InvalidSignature => InvalidSignature.fmt(f),
        }
    }
}

impl core::error::Error for SignatureCheckError {}

impl From<InvalidSignature> for SignatureCheckError {
    fn from(InvalidSignature: InvalidSignature) -> Self {
        Self::InvalidSignature
    }
}

impl From<JwkError> for SignatureCheckError {
    fn from(e: JwkError) -> Self {
        Self::InvalidKey(e)
    }
}

impl From<SignatureCheckError> for VerifyError {
    /// An invalid key keeps its precise [`JwkError`]; anything else is
    /// [`VerifyError::InvalidSignature`].
    fn from(e: SignatureCheckError) -> Self {
        match e {
            SignatureCheckError::InvalidKey(e) => Self::Jwk(e),
            SignatureCheckError::InvalidSignature => Self::InvalidSignature,
        }
    }
}

/// A signer could not produce a signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignError;

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("signing failed")
    }
}

impl core::error::Error for SignError {}

/// An output buffer is too small.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferTooSmall;

impl fmt::Display for BufferTooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("output buffer too small")
    }
}

impl core::error::Error for BufferTooSmall {}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::string::ToString;

    use super::*;

    fn all_verify_errors() -> std::vec::Vec<VerifyError> {
        let t = UnixTime::from_secs(1);
        let claims = [
            Claim::Alg,
            Claim::Ath,
            Claim::Exp,
            Claim::Htm,
            Claim::Htu,
            Claim::Iat,
            Claim::Jti,
            Claim::Jwk,
            Claim::Nonce,
            Claim::Typ,
        ];
        let mut v = std::vec![
            VerifyError::AlgorithmMismatch,
            VerifyError::BoundKeyMismatch,
            VerifyError::CriticalHeader,
            VerifyError::EmptyExpectedNonce,
            VerifyError::Expired {
                expires_at: t,
                now: t
            },
            VerifyError::InvalidSignature,
            VerifyError::IssuedInFuture {
                issued_at: t,
                now: t,
                latest: t
            },
            VerifyError::NonceInvalid,
            VerifyError::NonceRequired,
            VerifyError::TooOld {
                issued_at: t,
                now: t,
                earliest: t
            },
            VerifyError::UnsupportedAlgorithm,
            VerifyError::Mismatch(Claim::Ath),
            VerifyError::Mismatch(Claim::Htm),
            VerifyError::Mismatch(Claim::Htu),
            VerifyError::Mismatch(Claim::Nonce),
        ];
        for c in claims {
            v.push(VerifyError::Invalid(c));
            v.push(VerifyError::Missing(c));
        }
        for m in [
            Malformed::Base64,
            Malformed::DuplicateMember,
            Malformed::Json,
            Malformed::JwsJsonSerialization,
            Malformed::Nesting,
            Malformed::NotAnObject,
            Malformed::Segments,
            Malformed::Utf8,
        ] {
            v.push(VerifyError::Malformed(m));
        }
        for l in [Limit::Htu, Limit::Jti, Limit::Nonce, Limit::Proof] {
            v.push(VerifyError::TooLarge(l));
        }
        for e in [
            JwkError::Json,
            JwkError::NotOnCurve,
            JwkError::PrivateMember,
            JwkError::UnsupportedCurve,
            JwkError::UnsupportedKeyType,
            JwkError::Missing(JwkMember::X),
            JwkError::Invalid(JwkMember::X),
            JwkError::CoordinateLength(JwkMember::X),
        ] {
            v.push(VerifyError::Jwk(e));
        }
        v
    }

    #[test]
    fn names_are_unique_snake_case() {
        let mut seen = HashSet::new();
        for e in all_verify_errors() {
            let name = e.name();
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit())
            );
            // Jwk sub-variants that differ only by member share a name on purpose.
            if let VerifyError::Jwk(JwkError::Missing(_) | JwkError::Invalid(_)) = e {
                continue;
            }
            assert!(seen.insert(name), "duplicate name {name}");
        }
    }

    #[test]
    fn only_nonce_errors_map_to_use_dpop_nonce() {
        for e in all_verify_errors() {
            let expected = matches!(e, VerifyError::NonceInvalid | VerifyError::NonceRequired);
            assert_eq!(e.error_code() == USE_DPOP_NONCE, expected, "{e:?}");
            assert_eq!(e.is_nonce_error(), expected);
        }
    }

    #[test]
    fn display_is_lower_case_without_trailing_period() {
        for e in all_verify_errors() {
            let s = e.to_string();
            assert!(!s.ends_with('.'), "{s}");
            assert!(!s.starts_with(|c: char| c.is_ascii_uppercase()), "{s}");
        }
    }

    #[test]
    fn time_errors_carry_the_window() {
        let e = VerifyError::TooOld {
            issued_at: UnixTime::from_secs(100),
            now: UnixTime::from_secs(500),
            earliest: UnixTime::from_secs(140),
        };
        let s = e.to_string();
        assert!(
            s.contains("100") && s.contains("500") && s.contains("140"),
            "{s}"
        );
    }

    /// Every per-operation error converts into the umbrella, which keeps it (so a caller can
    /// still match the precise error) and forwards `name` and `Display` to it.
    #[test]
    fn every_error_converts_into_the_umbrella_and_keeps_its_name_and_text() {
        use crate::claims::{InvalidAccessTokenHash, InvalidClaimValue};
        use crate::proof::verify::InvalidReplayKey;
        use crate::thumbprint::InvalidThumbprint;

        let cases: [(Error, &str); 11] = [
            (
                VerifyError::BoundKeyMismatch.into(),
                VerifyError::BoundKeyMismatch.name(),
            ),
            (CreateError::Signing.into(), CreateError::Signing.name()),
            (JwkError::NotOnCurve.into(), JwkError::NotOnCurve.name()),
            (
                KeyError::InvalidScalar.into(),
                KeyError::InvalidScalar.name(),
            ),
            (UriError::NotAbsolute.into(), UriError::NotAbsolute.name()),
            (InvalidClaimValue.into(), "invalid_claim_value"),
            (InvalidThumbprint.into(), "invalid_thumbprint"),
            (InvalidAccessTokenHash.into(), "invalid_access_token_hash"),
            (InvalidReplayKey.into(), "invalid_replay_key"),
            (InvalidSignature.into(), "invalid_signature"),
            (SignError.into(), "sign_error"),
        ];
        let mut names = HashSet::new();
        for (err, name) in cases {
            assert_eq!(err.name(), name);
            assert!(names.insert(name), "duplicate name {name}");
        }
        assert_eq!(Error::from(BufferTooSmall).name(), "buffer_too_small");
        assert_eq!(
            Error::from(VerifyError::BoundKeyMismatch).to_string(),
            VerifyError::BoundKeyMismatch.to_string()
        );
        assert_eq!(
            Error::from(UriError::NotAbsolute).to_string(),
            UriError::NotAbsolute.to_string()
        );
        assert_eq!(
            Error::from(VerifyError::BoundKeyMismatch),
            Error::Verify(VerifyError::BoundKeyMismatch)
        );
        assert!(core::error::Error::source(&Error::from(SignError)).is_none());
        // A backend's check keeps the key error's name, and maps into the proof error.
        let key = SignatureCheckError::InvalidKey(JwkError::NotOnCurve);
        assert_eq!(Error::from(key).name(), "jwk_not_on_curve");
        assert_eq!(
            VerifyError::from(key),
            VerifyError::Jwk(JwkError::NotOnCurve)
        );
        assert_eq!(
            VerifyError::from(SignatureCheckError::from(InvalidSignature)),
            VerifyError::InvalidSignature
        );
        assert_eq!(
            Error::from(SignatureCheckError::InvalidSignature).to_string(),
            InvalidSignature.to_string()
        );
    }
}
