//! Wire types with serde: the token response (RFC 6749 section 5.1, RFC 9449 section 5), the
//! `cnf` confirmation claim (RFC 7800 section 3.1, RFC 9449 section 6.1) and the OAuth error
//! body (RFC 6749 section 5.2).
//!
//! A token response needs only `access_token` and `token_type`; members this crate does not
//! know are kept, not interpreted (RFC 6749 section 5.1: "The client MUST ignore unrecognized
//! value names"), and reachable with [`TokenResponse::extra`]. Reading errors are
//! [`WireError`]s, whose [`kind`](WireError::kind) tells a syntax error from a wrong value and
//! whose [`member`](WireError::member) names the token response member at fault.
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
//! let lenient = br#"{"access_token":"a","token_type":"dpop"}"#;
//! assert_eq!(TokenResponse::from_json(lenient)?.token_type, TokenType::Dpop);
//! # Ok::<(), dpop_std::wire::WireError>(())
//! ```

use core::fmt;
use core::str::FromStr;

use dpop_core::Thumbprint;
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
/// Only `access_token` and `token_type` are required (RFC 6749 section 5.1): `expires_in` is
/// RECOMMENDED and `scope` OPTIONAL, so both are `Option`s, as is `refresh_token`. Every other
/// member (`id_token`, `issued_token_type`, a platform's `session_id`, ...) is kept as an
/// [extension member](Self::extra) and written back out.
///
/// Reading is strict where it matters and lenient where servers differ:
///
/// - a member of the wrong type is an error naming the member and what was expected
///   ([`MemberError`]), and so is a member that appears twice (RFC 8259 section 4 leaves
///   duplicates to the reader; a token response with two `access_token`s is ambiguous);
/// - `token_type` is read in any case and written canonically;
/// - `access_token` must be a non-empty string (RFC 6749 appendix A.12: `1*VSCHAR`);
/// - `expires_in` is a non-negative integer, or a string of 1 to 19 ASCII digits: RFC 6749
///   says number, but widely deployed servers (Azure AD's v1 endpoint among them) send
///   `"3599"`. It is written as a number;
/// - `null` for an optional member means "absent", as some servers write it.
///
/// `Debug` never shows the tokens nor the values of extension members (an `id_token` is a
/// credential too), so a response can be logged.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// `Bearer` or `DPoP`.
    pub token_type: TokenType,
    /// Lifetime of the access token in seconds, if the server said.
    pub expires_in: Option<u64>,
    /// The granted scope (space-separated), if the server said; absent means "as requested"
    /// (RFC 6749 section 5.1).
    pub scope: Option<String>,
    /// A refresh token, if one was issued.
    pub refresh_token: Option<String>,
    /// Every other member, by name.
    extra: serde_json::Map<String, serde_json::Value>,
}

/// The members of RFC 6749 section 5.1 this type has fields for, in writing order.
const TOKEN_MEMBERS: [&str; 5] = [
    "access_token",
    "token_type",
    "expires_in",
    "scope",
    "refresh_token",
];

impl TokenResponse {
    /// A response with the members an authorization server should send: `expires_in` and
    /// `scope` as well as the two required ones. See [`minimal`](Self::minimal) for a response
    /// without them.
    #[must_use]
    pub fn new(
        access_token: impl Into<String>,
        token_type: TokenType,
        expires_in: u64,
        scope: impl Into<String>,
    ) -> Self {
        let mut response = Self::minimal(access_token, token_type);
        response.expires_in = Some(expires_in);
        response.scope = Some(scope.into());
        response
    }

    /// A response with only the required members, `access_token` and `token_type`.
    ///
    /// ```
    /// use dpop_std::wire::{TokenResponse, TokenType};
    ///
    /// let json = TokenResponse::minimal("at", TokenType::Dpop).to_json()?;
    /// assert_eq!(json, r#"{"access_token":"at","token_type":"DPoP"}"#);
    /// # Ok::<(), dpop_std::wire::WireError>(())
    /// ```
    #[must_use]
    pub fn minimal(access_token: impl Into<String>, token_type: TokenType) -> Self {
        Self {
            access_token: access_token.into(),
            token_type,
            expires_in: None,
            scope: None,
            refresh_token: None,
            extra: serde_json::Map::new(),
        }
    }

    /// Adds a refresh token.
    #[must_use]
    pub fn with_refresh_token(mut self, refresh_token: impl Into<String>) -> Self {
        self.refresh_token = Some(refresh_token.into());
        self
    }

    /// Adds (or replaces) an extension member, such as `id_token` or a platform's
    /// `session_id`. The names of the members this type has fields for (`access_token`,
    /// `token_type`, `expires_in`, `scope`, `refresh_token`) are not extension members: such
    /// a call changes nothing; set the field instead.
    ///
    /// ```
    /// use dpop_std::wire::{TokenResponse, TokenType};
    ///
    /// let response = TokenResponse::new("at", TokenType::Dpop, 300, "read")
    ///     .with_extra("session_id", "sess-1");
    /// let back = TokenResponse::from_json(response.to_json()?.as_bytes())?;
    /// assert_eq!(back.extra("session_id").and_then(|v| v.as_str()), Some("sess-1"));
    /// # Ok::<(), dpop_std::wire::WireError>(())
    /// ```
    #[must_use]
    pub fn with_extra(
        mut self,
        name: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        let name = name.into();
        if !TOKEN_MEMBERS.contains(&name.as_str()) {
            self.extra.insert(name, value.into());
        }
        self
    }

    /// The extension member `name`, if the response has it: any member other than
    /// `access_token`, `token_type`, `expires_in`, `scope` and `refresh_token`.
    #[must_use]
    pub fn extra(&self, name: &str) -> Option<&serde_json::Value> {
        self.extra.get(name)
    }

    /// All extension members, by name.
    #[must_use]
    pub const fn extras(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.extra
    }

    /// Reads a response body.
    ///
    /// ```
    /// use dpop_std::wire::{Member, MemberProblem, TokenResponse, TokenType};
    ///
    /// // What a real server sent: no scope.
    /// let json = br#"{"access_token":"at","expires_in":600,"token_type":"DPoP"}"#;
    /// let response = TokenResponse::from_json(json)?;
    /// assert_eq!((response.expires_in, response.scope), (Some(600), None));
    ///
    /// let error = TokenResponse::from_json(br#"{"access_token":"at","token_type":"DPoP","scope":7}"#)
    ///     .unwrap_err();
    /// let member = error.member().expect("a member error");
    /// assert_eq!(member.member(), Member::Scope);
    /// assert_eq!(member.problem(), MemberProblem::Invalid { expected: "a string" });
    /// # Ok::<(), dpop_std::wire::WireError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`WireError`] for invalid JSON or a body that is not an object (its
    /// [`kind`](WireError::kind)), and for a required member that is missing, a member of the
    /// wrong type or value, or a member that appears twice (its [`member`](WireError::member)
    /// says which, and what was expected).
    pub fn from_json(json: &[u8]) -> Result<Self, WireError> {
        let members: Members = serde_json::from_slice(json).map_err(WireError::json)?;
        Self::from_members(members.0).map_err(WireError::member_error)
    }

    /// Writes the response body: the members above in that order (absent ones left out), then
    /// the extension members.
    ///
    /// # Errors
    ///
    /// [`WireError`] if serialization fails (it does not for this type; the `Result` keeps
    /// the signature honest).
    pub fn to_json(&self) -> Result<String, WireError> {
        serde_json::to_string(self).map_err(WireError::json)
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

    /// The response of an object's members, in the order they came.
    fn from_members(members: Vec<(String, serde_json::Value)>) -> Result<Self, MemberError> {
        use serde_json::Value;

        let mut access_token = None;
        let mut token_type = None;
        let mut expires_in = None;
        let mut scope = None;
        let mut refresh_token = None;
        let mut extra = serde_json::Map::new();
        for (name, value) in members {
            let member = match name.as_str() {
                "access_token" => Member::AccessToken,
                "token_type" => Member::TokenType,
                "expires_in" => Member::ExpiresIn,
                "scope" => Member::Scope,
                "refresh_token" => Member::RefreshToken,
                _ => {
                    if extra.insert(name, value).is_some() {
                        return Err(MemberError::new(
                            Member::Extension,
                            MemberProblem::Duplicate,
                        ));
                    }
                    continue;
                }
            };
            let invalid = |expected| MemberError::new(member, MemberProblem::Invalid { expected });
            // `Some(None)`: the member was there, as `null` (optional members only).
            let seen = match member {
                Member::AccessToken => set_once(
                    &mut access_token,
                    match value {
                        Value::String(text) if !text.is_empty() => text,
                        _ => return Err(invalid("a non-empty string")),
                    },
                ),
                Member::TokenType => set_once(
                    &mut token_type,
                    match &value {
                        Value::String(text) => {
                            TokenType::parse(text).map_err(|_| invalid(TOKEN_TYPE_EXPECTED))?
                        }
                        _ => return Err(invalid(TOKEN_TYPE_EXPECTED)),
                    },
                ),
                Member::ExpiresIn => set_once(&mut expires_in, read_expires_in(&value, invalid)?),
                Member::Scope => set_once(&mut scope, optional_string(value, invalid)?),
                Member::RefreshToken => {
                    set_once(&mut refresh_token, optional_string(value, invalid)?)
                }
                Member::Extension => true,
            };
            if !seen {
                return Err(MemberError::new(member, MemberProblem::Duplicate));
            }
        }
        let missing = |member| MemberError::new(member, MemberProblem::Missing);
        Ok(Self {
            access_token: access_token.ok_or_else(|| missing(Member::AccessToken))?,
            token_type: token_type.ok_or_else(|| missing(Member::TokenType))?,
            expires_in: expires_in.flatten(),
            scope: scope.flatten(),
            refresh_token: refresh_token.flatten(),
            extra,
        })
    }
}

const TOKEN_TYPE_EXPECTED: &str = "\"Bearer\" or \"DPoP\" (in any case)";
const EXPIRES_IN_EXPECTED: &str = "a non-negative integer, or a string of at most 19 digits";

/// Stores `value` unless the slot is taken; false for a duplicate.
fn set_once<T>(slot: &mut Option<T>, value: T) -> bool {
    if slot.is_some() {
        return false;
    }
    *slot = Some(value);
    true
}

/// An optional string member: `None` for `null`.
fn optional_string(
    value: serde_json::Value,
    invalid: impl Fn(&'static str) -> MemberError,
) -> Result<Option<String>, MemberError> {
    match value {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::String(text) => Ok(Some(text)),
        _ => Err(invalid("a string")),
    }
}

/// `expires_in`: a JSON integer >= 0, a string of 1 to 19 ASCII digits, or `null`.
fn read_expires_in(
    value: &serde_json::Value,
    invalid: impl Fn(&'static str) -> MemberError,
) -> Result<Option<u64>, MemberError> {
    match value {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::Number(n) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| invalid(EXPIRES_IN_EXPECTED)),
        serde_json::Value::String(text)
            if (1..=19).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()) =>
        {
            text.parse()
                .map(Some)
                .map_err(|_| invalid(EXPIRES_IN_EXPECTED))
        }
        _ => Err(invalid(EXPIRES_IN_EXPECTED)),
    }
}

impl Serialize for TokenResponse {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;

        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("access_token", &self.access_token)?;
        map.serialize_entry("token_type", &self.token_type)?;
        if let Some(expires_in) = self.expires_in {
            map.serialize_entry("expires_in", &expires_in)?;
        }
        if let Some(scope) = &self.scope {
            map.serialize_entry("scope", scope)?;
        }
        if let Some(refresh_token) = &self.refresh_token {
            map.serialize_entry("refresh_token", refresh_token)?;
        }
        for (name, value) in &self.extra {
            // `with_extra` and reading keep these names out; a duplicate is never written.
            if !TOKEN_MEMBERS.contains(&name.as_str()) {
                map.serialize_entry(name, value)?;
            }
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for TokenResponse {
    /// As [`TokenResponse::from_json`]; a member error becomes the deserializer's custom error
    /// with the same text.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let members = Members::deserialize(deserializer)?;
        Self::from_members(members.0).map_err(serde::de::Error::custom)
    }
}

/// The members of a JSON object, in order, duplicates included.
struct Members(Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(MembersVisitor)
    }
}

struct MembersVisitor;

impl<'de> serde::de::Visitor<'de> for MembersVisitor {
    type Value = Members;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
        let mut members = Vec::new();
        while let Some(entry) = map.next_entry::<String, serde_json::Value>()? {
            members.push(entry);
        }
        Ok(Members(members))
    }

    // A body that is a bare string is reported without echoing it: it may be a token.
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Members, E> {
        Err(E::custom("expected a JSON object, found a string"))
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
            .field("extra", &ExtraNames(&self.extra))
            .finish()
    }
}

/// Shows the names of extension members, not their values.
pub(crate) struct ExtraNames<'a>(pub(crate) &'a serde_json::Map<String, serde_json::Value>);

impl fmt::Debug for ExtraNames<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

/// A member of a token response (RFC 6749 section 5.1), as named in a [`MemberError`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Member {
    /// `access_token`.
    AccessToken,
    /// `expires_in`.
    ExpiresIn,
    /// Any member without a field of its own (its name is not repeated: it comes from the
    /// server).
    Extension,
    /// `refresh_token`.
    RefreshToken,
    /// `scope`.
    Scope,
    /// `token_type`.
    TokenType,
}

impl Member {
    /// The member's JSON name; `None` for an extension member.
    #[must_use]
    pub const fn name(self) -> Option<&'static str> {
        match self {
            Self::AccessToken => Some("access_token"),
            Self::ExpiresIn => Some("expires_in"),
            Self::Extension => None,
            Self::RefreshToken => Some("refresh_token"),
            Self::Scope => Some("scope"),
            Self::TokenType => Some("token_type"),
        }
    }
}

/// What is wrong with a [`Member`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemberProblem {
    /// The member appears more than once.
    Duplicate,
    /// The member has the wrong JSON type or value; `expected` says what it must be.
    Invalid {
        /// What the member must be, in words.
        expected: &'static str,
    },
    /// A required member is absent.
    Missing,
}

/// A token response member that is missing, of the wrong type or value, or duplicated. The
/// message names the member and what was expected, never the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemberError {
    member: Member,
    problem: MemberProblem,
}

impl MemberError {
    const fn new(member: Member, problem: MemberProblem) -> Self {
        Self { member, problem }
    }

    /// Which member.
    #[must_use]
    pub const fn member(&self) -> Member {
        self.member
    }

    /// What is wrong with it.
    #[must_use]
    pub const fn problem(&self) -> MemberProblem {
        self.problem
    }
}

impl fmt::Display for MemberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.member.name() {
            Some(name) => write!(f, "member `{name}`")?,
            None => f.write_str("an extension member")?,
        }
        match self.problem {
            MemberProblem::Duplicate => f.write_str(" appears more than once"),
            MemberProblem::Invalid { expected } => write!(f, ": expected {expected}"),
            MemberProblem::Missing => f.write_str(" is missing"),
        }
    }
}

impl core::error::Error for MemberError {}

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
/// use dpop_core::Thumbprint;
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
    use dpop_core::Thumbprint;
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
        serde_json::from_slice(json).map_err(WireError::json)
    }

    /// Writes the error body.
    ///
    /// # Errors
    ///
    /// [`WireError`] if serialization fails (it does not for this type).
    pub fn to_json(&self) -> Result<String, WireError> {
        serde_json::to_string(self).map_err(WireError::json)
    }
}

/// A wire type could not be read or written.
#[derive(Debug)]
pub struct WireError(Repr);

#[derive(Debug)]
enum Repr {
    Json(serde_json::Error),
    Member(MemberError),
}

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
    const fn json(error: serde_json::Error) -> Self {
        Self(Repr::Json(error))
    }

    const fn member_error(error: MemberError) -> Self {
        Self(Repr::Member(error))
    }

    /// What kind of error this is; a [`member`](Self::member) error is
    /// [`Data`](WireErrorKind::Data).
    #[must_use]
    pub fn kind(&self) -> WireErrorKind {
        match &self.0 {
            Repr::Json(e) => match e.classify() {
                serde_json::error::Category::Data => WireErrorKind::Data,
                serde_json::error::Category::Eof => WireErrorKind::Eof,
                serde_json::error::Category::Syntax => WireErrorKind::Syntax,
                serde_json::error::Category::Io => WireErrorKind::Io,
            },
            Repr::Member(_) => WireErrorKind::Data,
        }
    }

    /// The member of a token response that is missing, wrong or duplicated, when that is the
    /// error.
    #[must_use]
    pub const fn member(&self) -> Option<MemberError> {
        match &self.0 {
            Repr::Member(e) => Some(*e),
            Repr::Json(_) => None,
        }
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Json(e) => write!(f, "invalid wire JSON: {e}"),
            Repr::Member(e) => write!(f, "invalid token response: {e}"),
        }
    }
}

impl core::error::Error for WireError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match &self.0 {
            Repr::Json(e) => Some(e),
            Repr::Member(e) => Some(e),
        }
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
            .with_extra("session_id", "sid");
        let json = full.to_json().unwrap();
        assert_eq!(
            json,
            r#"{"access_token":"at","token_type":"DPoP","expires_in":1,"scope":"s","refresh_token":"rt","session_id":"sid"}"#
        );
        assert_eq!(TokenResponse::from_json(json.as_bytes()).unwrap(), full);
    }

    /// What a widely used authorization server sent for a client-credentials grant.
    #[test]
    fn minimal_response_is_read() {
        let r = TokenResponse::from_json(br#"{"access_token":"a","token_type":"DPoP"}"#).unwrap();
        assert_eq!(r, TokenResponse::minimal("a", TokenType::Dpop));
        assert_eq!(
            (r.expires_in, &r.scope, &r.refresh_token),
            (None, &None, &None)
        );
        assert!(r.extras().is_empty());
        let r = TokenResponse::from_json(
            br#"{"access_token":"...","expires_in":600,"token_type":"DPoP"}"#,
        )
        .unwrap();
        assert_eq!((r.expires_in, r.scope), (Some(600), None));
    }

    #[test]
    fn each_optional_member_may_be_absent_or_null() {
        let all = [
            r#""expires_in":60"#,
            r#""scope":"read""#,
            r#""refresh_token":"rt""#,
        ];
        for skip in 0..all.len() {
            for null in [false, true] {
                let mut members = vec![r#""access_token":"at""#, r#""token_type":"DPoP""#];
                let name = all[skip].split(':').next().unwrap();
                let null_member = format!("{name}:null");
                for (i, m) in all.iter().enumerate() {
                    if i != skip {
                        members.push(m);
                    } else if null {
                        members.push(&null_member);
                    }
                }
                let json = format!("{{{}}}", members.join(","));
                let r = TokenResponse::from_json(json.as_bytes()).unwrap();
                assert_eq!(r.expires_in.is_none(), skip == 0, "{json}");
                assert_eq!(r.scope.is_none(), skip == 1, "{json}");
                assert_eq!(r.refresh_token.is_none(), skip == 2, "{json}");
                // absent members are not written, null ones neither
                assert!(!r.to_json().unwrap().contains(name), "{json}");
            }
        }
    }

    #[test]
    fn unknown_members_are_kept_and_written_back() {
        let json = br#"{"access_token":"a","token_type":"Bearer","id_token":"x.y.z","issued_token_type":"urn:ietf:params:oauth:token-type:access_token","session_id":"s-1","n":{"b":[1,2.5,null]}}"#;
        let r = TokenResponse::from_json(json).unwrap();
        assert_eq!(r.extra("id_token").and_then(|v| v.as_str()), Some("x.y.z"));
        assert_eq!(
            r.extra("issued_token_type").and_then(|v| v.as_str()),
            Some("urn:ietf:params:oauth:token-type:access_token")
        );
        assert_eq!(r.extra("session_id").and_then(|v| v.as_str()), Some("s-1"));
        assert_eq!(r.extra("n").unwrap()["b"][1], 2.5);
        assert_eq!(r.extra("access_token"), None);
        assert_eq!(r.extras().len(), 4);
        let again = TokenResponse::from_json(r.to_json().unwrap().as_bytes()).unwrap();
        assert_eq!(again, r);
        // with_extra cannot shadow a member with a field
        let r = TokenResponse::minimal("at", TokenType::Dpop).with_extra("access_token", "evil");
        assert_eq!(
            r.to_json().unwrap(),
            r#"{"access_token":"at","token_type":"DPoP"}"#
        );
    }

    #[test]
    fn token_type_is_case_insensitive_and_canonical() {
        for (text, want) in [
            ("DPoP", TokenType::Dpop),
            ("dpop", TokenType::Dpop),
            ("DPOP", TokenType::Dpop),
            ("dPoP", TokenType::Dpop),
            ("Bearer", TokenType::Bearer),
            ("bearer", TokenType::Bearer),
            ("bEaReR", TokenType::Bearer),
        ] {
            let json = format!(r#"{{"access_token":"a","token_type":"{text}"}}"#);
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
    fn expires_in_as_a_string_of_digits() {
        let read = |v: &str| {
            TokenResponse::from_json(
                format!(r#"{{"access_token":"a","token_type":"DPoP","expires_in":{v}}}"#)
                    .as_bytes(),
            )
        };
        assert_eq!(read(r#""3599""#).unwrap().expires_in, Some(3599));
        assert_eq!(read(r#""0""#).unwrap().expires_in, Some(0));
        assert_eq!(
            read(r#""9999999999999999999""#).unwrap().expires_in,
            Some(9_999_999_999_999_999_999)
        );
        // written as a number
        assert!(
            read(r#""60""#)
                .unwrap()
                .to_json()
                .unwrap()
                .contains(r#""expires_in":60"#)
        );
        for bad in [
            r#""""#,
            r#"" 60""#,
            r#""+60""#,
            r#""-1""#,
            r#""6e1""#,
            r#""60s""#,
            r#""99999999999999999999""#,
            "-1",
            "1.5",
            "1e3",
            "18446744073709551616",
            "true",
            "[60]",
        ] {
            let error = read(bad).unwrap_err();
            assert_eq!(
                error.member().map(|m| m.member()),
                Some(Member::ExpiresIn),
                "{bad}"
            );
        }
    }

    #[test]
    fn member_errors_name_the_member_and_what_was_expected() {
        let missing = |m| MemberError::new(m, MemberProblem::Missing);
        let invalid = |m, expected| MemberError::new(m, MemberProblem::Invalid { expected });
        let duplicate = |m| MemberError::new(m, MemberProblem::Duplicate);
        let cases: [(&str, MemberError); 13] = [
            (r#"{"token_type":"DPoP"}"#, missing(Member::AccessToken)),
            (r#"{"access_token":"a"}"#, missing(Member::TokenType)),
            (
                r#"{"access_token":1,"token_type":"DPoP"}"#,
                invalid(Member::AccessToken, "a non-empty string"),
            ),
            (
                r#"{"access_token":"","token_type":"DPoP"}"#,
                invalid(Member::AccessToken, "a non-empty string"),
            ),
            (
                r#"{"access_token":null,"token_type":"DPoP"}"#,
                invalid(Member::AccessToken, "a non-empty string"),
            ),
            (
                r#"{"access_token":"a","token_type":"MAC"}"#,
                invalid(Member::TokenType, TOKEN_TYPE_EXPECTED),
            ),
            (
                r#"{"access_token":"a","token_type":["DPoP"]}"#,
                invalid(Member::TokenType, TOKEN_TYPE_EXPECTED),
            ),
            (
                r#"{"access_token":"a","token_type":"DPoP","scope":["a"]}"#,
                invalid(Member::Scope, "a string"),
            ),
            (
                r#"{"access_token":"a","token_type":"DPoP","refresh_token":7}"#,
                invalid(Member::RefreshToken, "a string"),
            ),
            (
                r#"{"access_token":"a","token_type":"DPoP","expires_in":"x"}"#,
                invalid(Member::ExpiresIn, EXPIRES_IN_EXPECTED),
            ),
            (
                r#"{"access_token":"a","access_token":"b","token_type":"DPoP"}"#,
                duplicate(Member::AccessToken),
            ),
            (
                r#"{"access_token":"a","token_type":"DPoP","scope":null,"scope":"s"}"#,
                duplicate(Member::Scope),
            ),
            (
                r#"{"access_token":"a","token_type":"DPoP","x":1,"x":2}"#,
                duplicate(Member::Extension),
            ),
        ];
        for (input, want) in cases {
            let error = TokenResponse::from_json(input.as_bytes()).unwrap_err();
            assert_eq!(error.member(), Some(want), "{input}");
            assert_eq!(error.kind(), WireErrorKind::Data, "{input}");
            let text = error.to_string();
            if let Some(name) = want.member().name() {
                assert!(text.contains(name), "{text}");
            }
            // serde's Deserialize gives the same verdict
            assert!(
                serde_json::from_str::<TokenResponse>(input).is_err(),
                "{input}"
            );
        }
        assert_eq!(
            TokenResponse::from_json(br#"{"access_token":"a","token_type":"DPoP","scope":7}"#)
                .unwrap_err()
                .to_string(),
            "invalid token response: member `scope`: expected a string"
        );
    }

    #[test]
    fn reading_errors_are_typed_and_do_not_echo() {
        let cases: [(&[u8], WireErrorKind); 4] = [
            (b"{", WireErrorKind::Eof),
            (b"nope", WireErrorKind::Syntax),
            (b"[1]", WireErrorKind::Data),
            (br#""a-secret-token""#, WireErrorKind::Data),
        ];
        for (input, kind) in cases {
            let err = TokenResponse::from_json(input).unwrap_err();
            assert_eq!(err.kind(), kind, "{}", String::from_utf8_lossy(input));
            assert_eq!(err.member(), None);
            assert!(!err.to_string().contains("secret"), "{err}");
        }
        for input in [
            br#"{"access_token":"a","token_type":"evil\r\nX: y"}"#.as_slice(),
            br#"{"access_token":"a","token_type":"DPoP","refresh_token":["evil"]}"#,
            br#"{"access_token":"a","token_type":"DPoP","expires_in":"evil"}"#,
        ] {
            let err = TokenResponse::from_json(input).unwrap_err();
            assert!(!err.to_string().contains("evil"), "{err}");
        }
    }

    #[test]
    fn debug_redacts_tokens_and_extension_values() {
        let r = TokenResponse::new("secret-access", TokenType::Dpop, 1, "s")
            .with_refresh_token("secret-refresh")
            .with_extra("id_token", "secret-id-token");
        let debug = format!("{r:?}");
        assert!(!debug.contains("secret"), "{debug}");
        assert!(debug.contains("<redacted, 13 bytes>"));
        assert!(debug.contains("id_token"), "{debug}");
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
