//! Wire types with serde: the token response (RFC 6749 section 5.1, RFC 9449 section 5), the
//! `cnf` confirmation claim (RFC 7800 section 3.1, RFC 9449 section 6.1) and the OAuth error
//! body (RFC 6749 section 5.2).
//!
//! Unknown members are ignored when reading (RFC 6749 section 5.1: "The client MUST ignore
//! unrecognized value names"). Reading errors are [`WireError`]s, whose
//! [`kind`](WireError::kind) tells a syntax error from a wrong value.
//!
//! ```
//! use dpop_std::wire::{TokenResponse, TokenType};
//!
//! let response = TokenResponse::new("2YotnFZFEjr1zCsicMWpAA", TokenType::Dpop, 3600, "read")
//!     .with_refresh_token("tGzv3JOkF0XG5Qx2TlKWIA");
//! let json = response.to_json()?;
//! assert!(json.contains(r#""token_type":"DPoP""#));
//! assert_eq!(TokenResponse::from_json(json.as_bytes())?, response);
//!
//! // token_type is read case-insensitively and written canonically (RFC 6749 section 5.1)
//! let lenient = br#"{"access_token":"a","token_type":"dpop","expires_in":60,"scope":"s"}"#;
//! assert_eq!(TokenResponse::from_json(lenient)?.token_type, TokenType::Dpop);
//! # Ok::<(), dpop_std::wire::WireError>(())
//! ```

use core::fmt;
use core::str::FromStr;

use dpop_core::thumbprint::Thumbprint;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, PRAGMA};
use http::{Response, StatusCode};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The `token_type` of a token response, and the matching `Authorization` scheme.
///
/// Parsed case-insensitively (RFC 6749 section 5.1: "The value is case insensitive"), written
/// canonically: `Bearer` (RFC 6750) or `DPoP` (RFC 9449 section 5).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenType {
    /// A bearer token (RFC 6750).
    Bearer,
    /// A DPoP-bound token (RFC 9449).
    Dpop,
}

impl TokenType {
    /// The canonical spelling: `"Bearer"` or `"DPoP"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Bearer => "Bearer",
            Self::Dpop => "DPoP",
        }
    }

    /// Parses a token type or `Authorization` scheme, ignoring ASCII case.
    ///
    /// ```
    /// use dpop_std::wire::TokenType;
    /// assert_eq!(TokenType::parse("dPoP"), Ok(TokenType::Dpop));
    /// assert_eq!(TokenType::parse("BEARER"), Ok(TokenType::Bearer));
    /// assert!(TokenType::parse("MAC").is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`UnknownTokenType`] for anything but `Bearer` and `DPoP`.
    pub fn parse(text: &str) -> Result<Self, UnknownTokenType> {
        if text.eq_ignore_ascii_case("DPoP") {
            Ok(Self::Dpop)
        } else if text.eq_ignore_ascii_case("Bearer") {
            Ok(Self::Bearer)
        } else {
            Err(UnknownTokenType)
        }
    }
}

impl fmt::Display for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TokenType {
    type Err = UnknownTokenType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for TokenType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TokenType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        // The message names no part of the input.
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A `token_type` other than `Bearer` or `DPoP`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnknownTokenType;

impl fmt::Display for UnknownTokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown token_type: expected Bearer or DPoP")
    }
}

impl core::error::Error for UnknownTokenType {}

/// A successful token response (RFC 6749 section 5.1; `token_type` `DPoP` per RFC 9449
/// section 5).
///
/// `Debug` never shows the tokens, so a response can be logged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// `Bearer` or `DPoP`.
    pub token_type: TokenType,
    /// Lifetime of the access token in seconds.
    pub expires_in: u64,
    /// The granted scope (space-separated).
    pub scope: String,
    /// A refresh token, if one was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The session identifier, if the platform issues one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

impl TokenResponse {
    /// A response without refresh token or session.
    #[must_use]
    pub fn new(
        access_token: impl Into<String>,
        token_type: TokenType,
        expires_in: u64,
        scope: impl Into<String>,
    ) -> Self {
        Self {
            access_token: access_token.into(),
            token_type,
            expires_in,
            scope: scope.into(),
            refresh_token: None,
            session_id: None,
        }
    }

    /// Adds a refresh token.
    #[must_use]
    pub fn with_refresh_token(mut self, refresh_token: impl Into<String>) -> Self {
        self.refresh_token = Some(refresh_token.into());
        self
    }

    /// Adds a session identifier.
    #[must_use]
    pub fn with_session_id(mut self, session_id: impl Into<String>) -> Self {
        self.session_id = Some(session_id.into());
        self
    }

    /// Reads a response body.
    ///
    /// # Errors
    ///
    /// [`WireError`] for invalid JSON, a missing member, a wrong type or an unknown
    /// `token_type`.
    pub fn from_json(json: &[u8]) -> Result<Self, WireError> {
        serde_json::from_slice(json).map_err(WireError)
    }

    /// Writes the response body.
    ///
    /// # Errors
    ///
    /// [`WireError`] if serialization fails (it does not for this type; the `Result` keeps
    /// the signature honest).
    pub fn to_json(&self) -> Result<String, WireError> {
        serde_json::to_string(self).map_err(WireError)
    }

    /// The complete HTTP response: status 200, `Content-Type: application/json`,
    /// `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 section 5.1). Add the
    /// headers of [`Accepted`](crate::server::Accepted) (a fresh `DPoP-Nonce`) to it.
    ///
    /// # Errors
    ///
    /// As [`to_json`](Self::to_json).
    pub fn to_response(&self) -> Result<Response<String>, WireError> {
        let mut response = Response::new(self.to_json()?);
        *response.status_mut() = StatusCode::OK;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
        Ok(response)
    }
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &Redacted(self.access_token.len()))
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|t| Redacted(t.len())),
            )
            .field("session_id", &self.session_id)
            .finish()
    }
}

/// Shows a secret's length only.
struct Redacted(usize);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<redacted, {} bytes>", self.0)
    }
}

/// The `cnf` (confirmation) claim of a DPoP-bound token: `{"jkt":"<thumbprint>"}` (RFC 9449
/// section 6.1). Put it in a JWT access token, or return it from introspection (section 6.2).
///
/// ```
/// use dpop_core::thumbprint::Thumbprint;
/// use dpop_std::wire::Confirmation;
///
/// let jkt: Thumbprint = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I".parse()?;
/// let json = serde_json::to_string(&Confirmation::new(jkt))?;
/// assert_eq!(json, r#"{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}"#);
/// let back: Confirmation = serde_json::from_str(&json)?;
/// assert_eq!(back.jkt, jkt);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Confirmation {
    /// The JWK SHA-256 thumbprint (RFC 7638) of the key the token is bound to.
    #[serde(with = "jkt")]
    pub jkt: Thumbprint,
}

impl Confirmation {
    /// A confirmation for the key with thumbprint `jkt`.
    #[must_use]
    pub const fn new(jkt: Thumbprint) -> Self {
        Self { jkt }
    }
}

/// Serde support for a [`Thumbprint`] as its 43-character base64url text, for your own claim
/// types: `#[serde(with = "dpop_std::wire::jkt")]`.
pub mod jkt {
    use dpop_core::thumbprint::Thumbprint;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the base64url text.
    ///
    /// # Errors
    ///
    /// Only the serializer's own errors.
    pub fn serialize<S: Serializer>(jkt: &Thumbprint, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(jkt)
    }

    /// Reads the base64url text.
    ///
    /// # Errors
    ///
    /// A custom error unless the text is exactly 43 characters of canonical base64url.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Thumbprint, D::Error> {
        let text = String::deserialize(deserializer)?;
        Thumbprint::from_base64url(&text).map_err(serde::de::Error::custom)
    }
}

/// An OAuth error body: `{"error":"...","error_description":"..."}` (RFC 6749 section 5.2,
/// RFC 9449 sections 5 and 8).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorBody {
    /// The error code, such as `invalid_dpop_proof` or `use_dpop_nonce`.
    pub error: String,
    /// Human-readable text for the developer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

impl ErrorBody {
    /// An error body.
    #[must_use]
    pub fn new(error: impl Into<String>, error_description: Option<String>) -> Self {
        Self {
            error: error.into(),
            error_description,
        }
    }

    /// Reads an error body.
    ///
    /// # Errors
    ///
    /// [`WireError`] for invalid JSON or a missing `error`.
    pub fn from_json(json: &[u8]) -> Result<Self, WireError> {
        serde_json::from_slice(json).map_err(WireError)
    }

    /// Writes the error body.
    ///
    /// # Errors
    ///
    /// [`WireError`] if serialization fails (it does not for this type).
    pub fn to_json(&self) -> Result<String, WireError> {
        serde_json::to_string(self).map_err(WireError)
    }
}

/// A wire type could not be read or written.
#[derive(Debug)]
pub struct WireError(serde_json::Error);

/// What kind of [`WireError`] happened.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireErrorKind {
    /// Valid JSON with a missing member, a wrong type or a bad value.
    Data,
    /// The input ended early.
    Eof,
    /// Writing failed.
    Io,
    /// Not JSON.
    Syntax,
}

impl WireError {
    /// What kind of error this is.
    #[must_use]
    pub fn kind(&self) -> WireErrorKind {
        match self.0.classify() {
            serde_json::error::Category::Data => WireErrorKind::Data,
            serde_json::error::Category::Eof => WireErrorKind::Eof,
            serde_json::error::Category::Syntax => WireErrorKind::Syntax,
            serde_json::error::Category::Io => WireErrorKind::Io,
        }
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid wire JSON: {}", self.0)
    }
}

impl core::error::Error for WireError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_response_round_trips_with_and_without_optionals() {
        let minimal = TokenResponse::new("at", TokenType::Bearer, 60, "a b");
        let json = minimal.to_json().unwrap();
        assert_eq!(
            json,
            r#"{"access_token":"at","token_type":"Bearer","expires_in":60,"scope":"a b"}"#
        );
        assert_eq!(TokenResponse::from_json(json.as_bytes()).unwrap(), minimal);

        let full = TokenResponse::new("at", TokenType::Dpop, 1, "s")
            .with_refresh_token("rt")
            .with_session_id("sid");
        let json = full.to_json().unwrap();
        assert_eq!(
            json,
            r#"{"access_token":"at","token_type":"DPoP","expires_in":1,"scope":"s","refresh_token":"rt","session_id":"sid"}"#
        );
        assert_eq!(TokenResponse::from_json(json.as_bytes()).unwrap(), full);
    }

    #[test]
    fn token_type_is_case_insensitive_and_canonical() {
        for (text, want) in [
            ("DPoP", TokenType::Dpop),
            ("dpop", TokenType::Dpop),
            ("DPOP", TokenType::Dpop),
            ("Bearer", TokenType::Bearer),
            ("bEaReR", TokenType::Bearer),
        ] {
            let json = format!(
                r#"{{"access_token":"a","token_type":"{text}","expires_in":1,"scope":"s"}}"#
            );
            let parsed = TokenResponse::from_json(json.as_bytes()).unwrap();
            assert_eq!(parsed.token_type, want);
            assert!(
                parsed
                    .to_json()
                    .unwrap()
                    .contains(&format!("\"{}\"", want.as_str()))
            );
        }
    }

    #[test]
    fn reading_errors_are_typed() {
        let cases: [(&[u8], WireErrorKind); 6] = [
            (b"{", WireErrorKind::Eof),
            (b"nope", WireErrorKind::Syntax),
            (
                br#"{"access_token":"a","token_type":"MAC","expires_in":1,"scope":"s"}"#,
                WireErrorKind::Data,
            ),
            (
                br#"{"access_token":"a","token_type":"DPoP","scope":"s"}"#,
                WireErrorKind::Data,
            ),
            (
                br#"{"access_token":"a","token_type":"DPoP","expires_in":-1,"scope":"s"}"#,
                WireErrorKind::Data,
            ),
            (
                br#"{"access_token":1,"token_type":"DPoP","expires_in":1,"scope":"s"}"#,
                WireErrorKind::Data,
            ),
        ];
        for (input, kind) in cases {
            let err = TokenResponse::from_json(input).unwrap_err();
            assert_eq!(err.kind(), kind, "{}", String::from_utf8_lossy(input));
        }
        // the unknown-token-type message does not echo the input
        let err = TokenResponse::from_json(
            br#"{"access_token":"a","token_type":"evil\r\nX: y","expires_in":1,"scope":"s"}"#,
        )
        .unwrap_err();
        assert!(!err.to_string().contains("evil"));
    }

    #[test]
    fn unknown_members_are_ignored() {
        let json = br#"{"access_token":"a","token_type":"Bearer","expires_in":1,"scope":"s","id_token":"x"}"#;
        assert!(TokenResponse::from_json(json).is_ok());
    }

    #[test]
    fn debug_redacts_tokens() {
        let r = TokenResponse::new("secret-access", TokenType::Dpop, 1, "s")
            .with_refresh_token("secret-refresh");
        let debug = format!("{r:?}");
        assert!(!debug.contains("secret"), "{debug}");
        assert!(debug.contains("<redacted, 13 bytes>"));
    }

    #[test]
    fn confirmation_and_error_body() {
        let jkt = Thumbprint::from_bytes([7; 32]);
        let json = serde_json::to_string(&Confirmation::new(jkt)).unwrap();
        assert_eq!(
            serde_json::from_str::<Confirmation>(&json).unwrap().jkt,
            jkt
        );
        assert!(serde_json::from_str::<Confirmation>(r#"{"jkt":"short"}"#).is_err());
        assert!(serde_json::from_str::<Confirmation>(r#"{}"#).is_err());

        let body = ErrorBody::new("use_dpop_nonce", Some("a nonce is required".into()));
        let json = body.to_json().unwrap();
        assert_eq!(
            json,
            r#"{"error":"use_dpop_nonce","error_description":"a nonce is required"}"#
        );
        assert_eq!(ErrorBody::from_json(json.as_bytes()).unwrap(), body);
        assert_eq!(
            ErrorBody::from_json(br#"{"error":"x"}"#)
                .unwrap()
                .error_description,
            None
        );
        assert_eq!(
            ErrorBody::from_json(br#"{}"#).unwrap_err().kind(),
            WireErrorKind::Data
        );
    }

    #[test]
    fn token_response_http_headers() {
        let r = TokenResponse::new("at", TokenType::Dpop, 1, "s")
            .to_response()
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
        assert_eq!(r.headers()[PRAGMA], "no-cache");
    }
}
