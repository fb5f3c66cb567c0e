//! What a token response gives a client: [`TokenSet`], and the checks of its binding.

use core::fmt;

use zeroize::Zeroizing;

use crate::wire::{ExtraNames, MemberError, TokenResponse, TokenType};

/// The tokens a client holds: from a token response, kept up to date by refreshes.
///
/// `Debug` never shows the tokens nor the values of extension members, and there is no
/// `PartialEq`: compare secrets in constant time, if at all.
#[derive(Clone)]
pub struct TokenSet {
    access_token: Zeroizing<String>,
    token_type: TokenType,
    expires_in: Option<u64>,
    scope: Option<String>,
    refresh_token: Option<Zeroizing<String>>,
    extra: serde_json::Map<String, serde_json::Value>,
}

impl TokenSet {
    /// The tokens of a response to a request made with a DPoP proof.
    ///
    /// # Errors
    ///
    /// [`TokenBindingError::NotBound`] when the server issued a `Bearer` token: the client
    /// asked for a token bound to its key and did not get one (RFC 9449 section 5).
    pub fn dpop(response: TokenResponse) -> Result<Self, TokenBindingError> {
        if response.token_type != TokenType::Dpop {
            return Err(TokenBindingError::NotBound);
        }
        Ok(Self::any(response))
    }

    /// The tokens of a response, whatever their type (for a client that asked for Bearer).
    #[must_use]
    pub fn any(response: TokenResponse) -> Self {
        let extra = response.extras().clone();
        Self {
            access_token: Zeroizing::new(response.access_token),
            token_type: response.token_type,
            expires_in: response.expires_in,
            scope: response.scope,
            refresh_token: response.refresh_token.map(Zeroizing::new),
            extra,
        }
    }

    /// Takes the response to a refresh request.
    ///
    /// - The access token, its type and `expires_in` are replaced (an absent `expires_in`
    ///   means the new token's lifetime is unknown, not the old one's).
    /// - The refresh token is kept when the response has none: a DPoP-bound refresh token need
    ///   not rotate (RFC 9449 section 5), and a server that does not rotate sends none.
    /// - The scope is kept when absent: it is then the scope requested (RFC 6749 sections 5.1
    ///   and 6).
    /// - Extension members of the response replace those of the same name; the others (such
    ///   as a platform's `session_id`) are kept.
    ///
    /// # Errors
    ///
    /// [`TokenBindingError::NotBound`] when this set holds a DPoP-bound token and the refresh
    /// returned a `Bearer` one; the set is then left unchanged.
    pub fn refresh(&mut self, response: TokenResponse) -> Result<(), TokenBindingError> {
        if self.token_type == TokenType::Dpop && response.token_type != TokenType::Dpop {
            return Err(TokenBindingError::NotBound);
        }
        for (name, value) in response.extras() {
            self.extra.insert(name.clone(), value.clone());
        }
        self.access_token = Zeroizing::new(response.access_token);
        self.token_type = response.token_type;
        self.expires_in = response.expires_in;
        if let Some(scope) = response.scope {
            self.scope = Some(scope);
        }
        if let Some(refresh_token) = response.refresh_token {
            self.refresh_token = Some(Zeroizing::new(refresh_token));
        }
        Ok(())
    }

    /// The access token.
    #[must_use]
    pub fn access_token(&self) -> &str {
        &self.access_token
    }

    /// `DPoP` or `Bearer`: the `Authorization` scheme to send the access token with.
    #[must_use]
    pub const fn token_type(&self) -> TokenType {
        self.token_type
    }

    /// Lifetime of the access token in seconds, as issued, if the server said (RFC 6749
    /// makes `expires_in` only RECOMMENDED).
    #[must_use]
    pub const fn expires_in(&self) -> Option<u64> {
        self.expires_in
    }

    /// The granted scope, if the server said (absent: the scope requested).
    #[must_use]
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// The refresh token, if one was issued.
    #[must_use]
    pub fn refresh_token(&self) -> Option<&str> {
        self.refresh_token.as_deref().map(String::as_str)
    }

    /// An extension member of the token response: `id_token`, `issued_token_type`, a
    /// platform's `session_id`, ...
    ///
    /// ```
    /// # use dpop_std::client::TokenSet;
    /// # use dpop_std::wire::TokenResponse;
    /// let body = br#"{"access_token":"at","token_type":"DPoP","session_id":"sess-1"}"#;
    /// let tokens = TokenSet::dpop(TokenResponse::from_json(body)?)?;
    /// assert_eq!(tokens.extra("session_id").and_then(|v| v.as_str()), Some("sess-1"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn extra(&self, name: &str) -> Option<&serde_json::Value> {
        self.extra.get(name)
    }

    /// All extension members, by name.
    #[must_use]
    pub const fn extras(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.extra
    }
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field("has_refresh_token", &self.refresh_token.is_some())
            .field("extra", &ExtraNames(&self.extra))
            .finish_non_exhaustive()
    }
}

/// A token response does not have the binding the client asked for.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenBindingError {
    /// A DPoP-bound token was requested and the server issued a `Bearer` token (RFC 9449
    /// section 5). The token is not bound to the client's key; the server may not support
    /// DPoP, or have it turned off for this client.
    NotBound,
}

impl fmt::Display for TokenBindingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotBound => {
                f.write_str("a DPoP-bound token was requested, the server issued a Bearer token")
            }
        }
    }
}

impl core::error::Error for TokenBindingError {}

/// A token response could not be used.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenError {
    /// The token was not bound as requested.
    Binding(TokenBindingError),
    /// A member of the token response is missing, of the wrong type or value, or duplicated
    /// (RFC 6749 section 5.1); the error names it and what was expected.
    InvalidMember(MemberError),
    /// The body is not a JSON object (RFC 6749 section 5.1).
    Malformed(crate::wire::WireErrorKind),
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Binding(e) => fmt::Display::fmt(e, f),
            Self::InvalidMember(e) => write!(f, "invalid token response: {e}"),
            Self::Malformed(kind) => write!(f, "malformed token response ({kind:?})"),
        }
    }
}

impl core::error::Error for TokenError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Binding(e) => Some(e),
            Self::InvalidMember(e) => Some(e),
            Self::Malformed(_) => None,
        }
    }
}

impl From<TokenBindingError> for TokenError {
    fn from(e: TokenBindingError) -> Self {
        Self::Binding(e)
    }
}
