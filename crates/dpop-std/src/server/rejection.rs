//! Rejections: [`Reason`], and [`Rejection`] rendered as a response (status, challenge headers,
//! JSON body).

use core::fmt;
use std::sync::Arc;

use dpop_core::{VerifyError, consts::INVALID_DPOP_PROOF};
use http::header::{
    CACHE_CONTROL, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE,
};
use http::{Response, StatusCode};

use super::challenge::{ChallengeParams, bearer_challenge, dpop_challenge};
use super::{
    DPOP_NONCE, Endpoint, INVALID_GRANT, INVALID_REQUEST, INVALID_TOKEN, TEMPORARILY_UNAVAILABLE,
    TargetError,
};
use crate::replay::ReplayError;
use crate::wire::ErrorBody;

/// Longest `error_description` sent; our own texts are far shorter.
pub(super) const MAX_DESCRIPTION: usize = 256;

/// Why a request was rejected. Variants are listed alphabetically.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The proof key is not the `dpop_jkt` the authorization code was issued for (RFC 9449
    /// section 10): `invalid_grant`.
    AuthorizationCodeKeyMismatch,
    /// A Bearer token where [`BearerPolicy::Refuse`](super::BearerPolicy::Refuse) applies: `invalid_token`.
    BearerRefused,
    /// A DPoP-bound token presented with the `Bearer` scheme (RFC 9449 section 7.2):
    /// `invalid_token`.
    BoundTokenAsBearer,
    /// The `DPoP` header is not visible ASCII: `invalid_dpop_proof`.
    InvalidProofHeader,
    /// The caller rejected the token ([`Server::reject_token`](super::Server::reject_token)): `invalid_token`.
    InvalidToken {
        /// The caller's description.
        description: &'static str,
    },
    /// `Authorization` is not `scheme 1*SP token68` (RFC 7235 section 2.1): `invalid_request`,
    /// as RFC 6750 section 3.1 files a malformed request there.
    MalformedAuthorization,
    /// No `Authorization` header at a resource: a bare challenge (RFC 6750 section 3.1).
    MissingCredentials,
    /// No `DPoP` header where a proof is required: `invalid_dpop_proof`.
    MissingProof,
    /// More than one `Authorization` header: `invalid_request`.
    MultipleAuthorizations,
    /// More than one `DPoP` header (RFC 9449 section 4.3 check 1): `invalid_request`.
    MultipleProofs,
    /// The proof failed verification: `invalid_dpop_proof`, `use_dpop_nonce`, or at a
    /// resource `invalid_token` for a key that is not the token's `cnf.jkt`.
    Proof(VerifyError),
    /// The proof key is not the key the refresh token is bound to (RFC 9449 section 5):
    /// `invalid_grant`.
    RefreshTokenKeyMismatch,
    /// The replay cache refused the proof: `invalid_dpop_proof` for a replay,
    /// `temporarily_unavailable` (503 or 429) when it cannot take the entry.
    Replay(ReplayError),
    /// The expected `htu` cannot be built from the request: `invalid_request`.
    Target(TargetError),
    /// The caller cannot decide about the token right now ([`Server::unavailable`](super::Server::unavailable)): 503
    /// `temporarily_unavailable` with `Retry-After`.
    TokenUnavailable {
        /// Seconds for `Retry-After`.
        retry_after: u32,
    },
    /// The `DPoP` scheme with a token that is not bound to a key: `invalid_token`.
    UnboundToken,
    /// An `Authorization` scheme other than `DPoP` or `Bearer`: a bare challenge.
    UnsupportedScheme,
}

impl Reason {
    /// A stable snake_case name for logs and metrics.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::AuthorizationCodeKeyMismatch => "authorization_code_key_mismatch",
            Self::BearerRefused => "bearer_refused",
            Self::BoundTokenAsBearer => "bound_token_as_bearer",
            Self::InvalidProofHeader => "invalid_proof_header",
            Self::InvalidToken { .. } => "invalid_token",
            Self::MalformedAuthorization => "malformed_authorization",
            Self::MissingCredentials => "missing_credentials",
            Self::MissingProof => "missing_proof",
            Self::MultipleAuthorizations => "multiple_authorizations",
            Self::MultipleProofs => "multiple_proofs",
            Self::Proof(e) => e.name(),
            Self::RefreshTokenKeyMismatch => "refresh_token_key_mismatch",
            Self::Replay(e) => e.name(),
            Self::Target(e) => e.name(),
            Self::TokenUnavailable { .. } => "token_unavailable",
            Self::UnboundToken => "unbound_token",
            Self::UnsupportedScheme => "unsupported_scheme",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AuthorizationCodeKeyMismatch => {
                f.write_str("proof key does not match the dpop_jkt of the authorization request")
            }
            Self::BearerRefused => f.write_str("Bearer tokens are not accepted, use DPoP"),
            Self::BoundTokenAsBearer => {
                f.write_str("DPoP-bound access token presented with the Bearer scheme")
            }
            Self::InvalidProofHeader => f.write_str("DPoP header is not visible ASCII"),
            Self::InvalidToken { description } => f.write_str(description),
            Self::MalformedAuthorization => f.write_str(
                "malformed Authorization header: expected a scheme and a token68 credential",
            ),
            Self::MissingCredentials => f.write_str("no DPoP or Bearer credentials"),
            Self::MissingProof => f.write_str("missing DPoP proof"),
            Self::MultipleAuthorizations => f.write_str("more than one Authorization header"),
            Self::MultipleProofs => f.write_str("more than one DPoP header"),
            Self::Proof(e) => fmt::Display::fmt(e, f),
            Self::RefreshTokenKeyMismatch => {
                f.write_str("proof key is not the key the refresh token is bound to")
            }
            Self::Replay(e) => fmt::Display::fmt(e, f),
            Self::Target(e) => write!(f, "cannot determine the request URL: {e}"),
            Self::TokenUnavailable { .. } => {
                f.write_str("the access token cannot be checked right now, retry later")
            }
            Self::UnboundToken => {
                f.write_str("access token is not DPoP-bound but was presented with the DPoP scheme")
            }
            Self::UnsupportedScheme => f.write_str("unsupported authorization scheme"),
        }
    }
}

/// A rejected request, ready to become a response: [`to_parts`](Self::to_parts) or
/// [`into_response`](Self::into_response).
///
/// The response never contains request bytes: descriptions are this crate's own error text
/// (which includes `iat` and server time for time errors), restricted to printable ASCII
/// without `"` and `\`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub(super) reason: Reason,
    pub(super) endpoint: Endpoint,
    pub(super) nonce: Option<String>,
    pub(super) expected_htu: Option<String>,
    pub(super) challenge: Arc<ChallengeParams>,
}

impl Rejection {
    /// Why.
    #[must_use]
    pub const fn reason(&self) -> Reason {
        self.reason
    }

    /// The endpoint, which decides the response shape.
    #[must_use]
    pub const fn endpoint(&self) -> Endpoint {
        self.endpoint
    }

    /// The OAuth error code: `invalid_request`, `invalid_dpop_proof`, `use_dpop_nonce`,
    /// `invalid_token`, `invalid_grant` or `temporarily_unavailable`; `None` for a bare
    /// challenge (no credentials, RFC 6750 section 3.1).
    #[must_use]
    pub const fn error_code(&self) -> Option<&'static str> {
        Some(match self.reason {
            Reason::MissingCredentials | Reason::UnsupportedScheme => return None,
            Reason::MalformedAuthorization
            | Reason::MultipleAuthorizations
            | Reason::MultipleProofs
            | Reason::Target(_) => INVALID_REQUEST,
            Reason::InvalidProofHeader | Reason::MissingProof => INVALID_DPOP_PROOF,
            // RFC 9449 section 7.1: a key that does not match the token's binding is an
            // invalid token.
            Reason::Proof(VerifyError::BoundKeyMismatch) => INVALID_TOKEN,
            Reason::Proof(e) => e.error_code(),
            Reason::Replay(ReplayError::Replayed) => INVALID_DPOP_PROOF,
            Reason::Replay(_) | Reason::TokenUnavailable { .. } => TEMPORARILY_UNAVAILABLE,
            Reason::BearerRefused
            | Reason::BoundTokenAsBearer
            | Reason::InvalidToken { .. }
            | Reason::UnboundToken => INVALID_TOKEN,
            Reason::AuthorizationCodeKeyMismatch | Reason::RefreshTokenKeyMismatch => INVALID_GRANT,
        })
    }

    /// The response status: 400 at the token endpoint and for `invalid_request`, 401 for the
    /// other resource errors, 503 (cache full or unreachable) or 429 (per-key quota) when the
    /// replay cache cannot take the proof.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self.reason {
            Reason::Replay(ReplayError::Replayed) => {}
            Reason::Replay(ReplayError::QuotaExceeded) => return StatusCode::TOO_MANY_REQUESTS,
            Reason::Replay(_) | Reason::TokenUnavailable { .. } => {
                return StatusCode::SERVICE_UNAVAILABLE;
            }
            _ => {}
        }
        if self.endpoint == Endpoint::Token || self.error_code() == Some(INVALID_REQUEST) {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::UNAUTHORIZED
        }
    }

    /// True for `use_dpop_nonce`: the expected first answer to a client that has no current
    /// nonce, which logs and audit trails may want to count apart from real failures.
    #[must_use]
    pub const fn is_nonce_challenge(&self) -> bool {
        matches!(self.reason, Reason::Proof(e) if e.is_nonce_error())
    }

    /// The fresh nonce sent in `DPoP-Nonce` with `use_dpop_nonce`.
    #[must_use]
    pub fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }

    /// The canonical `htu` the server expected, when it got that far. For logs only: it is
    /// never sent to the client.
    #[must_use]
    pub fn expected_htu(&self) -> Option<&str> {
        self.expected_htu.as_deref()
    }

    /// The `error_description` sent: the [`Display`](fmt::Display) text, restricted to
    /// printable ASCII without `"` and `\`, at most 256 characters.
    #[must_use]
    pub fn description(&self) -> String {
        quoted_string_safe(&self.reason.to_string())
    }

    /// The response headers.
    #[must_use]
    pub fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.has_json_body() {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        } else {
            let code = self.error_code();
            let description = self.description();
            let error = code.map(|c| (c, description.as_str()));
            for challenge in [
                Some(dpop_challenge(&self.challenge, error)),
                self.challenge
                    .bearer
                    .then(|| bearer_challenge(&self.challenge, error)),
            ]
            .into_iter()
            .flatten()
            {
                if let Ok(value) = HeaderValue::from_str(&challenge) {
                    headers.append(WWW_AUTHENTICATE, value);
                }
            }
        }
        if let Some(value) = self
            .nonce
            .as_deref()
            .and_then(|n| HeaderValue::from_str(n).ok())
        {
            headers.insert(HeaderName::from_static(DPOP_NONCE), value);
        }
        if let Reason::TokenUnavailable { retry_after } = self.reason {
            headers.insert(RETRY_AFTER, HeaderValue::from(retry_after));
        }
        headers
    }

    /// The response body: the JSON error at the token endpoint and for
    /// `temporarily_unavailable`, else empty.
    #[must_use]
    pub fn body(&self) -> String {
        if !self.has_json_body() {
            return String::new();
        }
        let body = ErrorBody::new(
            self.error_code().unwrap_or(INVALID_REQUEST),
            Some(self.description()),
        );
        body.to_json()
            .unwrap_or_else(|_| String::from(r#"{"error":"server_error"}"#))
    }

    /// Status, headers and body.
    #[must_use]
    pub fn to_parts(&self) -> (StatusCode, HeaderMap, String) {
        (self.status(), self.headers(), self.body())
    }

    /// The complete response.
    #[must_use]
    pub fn into_response(self) -> Response<String> {
        let (status, headers, body) = self.to_parts();
        let mut response = Response::new(body);
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        response
    }

    fn has_json_body(&self) -> bool {
        self.endpoint == Endpoint::Token
            || matches!(self.error_code(), Some(TEMPORARILY_UNAVAILABLE))
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.reason, f)
    }
}

impl core::error::Error for Rejection {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match &self.reason {
            Reason::Proof(e) => Some(e),
            Reason::Replay(e) => Some(e),
            Reason::Target(e) => Some(e),
            _ => None,
        }
    }
}

impl From<Rejection> for Response<String> {
    fn from(rejection: Rejection) -> Self {
        rejection.into_response()
    }
}

/// Keeps printable ASCII except `"` and `\`, so the text fits a quoted-string (RFC 9110 section
/// 5.6.4) without escaping and can never end a header line or a parameter.
pub(super) fn quoted_string_safe(text: &str) -> String {
    text.chars()
        .take(MAX_DESCRIPTION)
        .map(|c| match c {
            '"' => '\'',
            '\\' => '/',
            ' '..='~' => c,
            _ => '?',
        })
        .collect()
}
