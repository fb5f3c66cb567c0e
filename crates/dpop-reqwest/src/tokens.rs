//! A token manager: DPoP-bound tokens obtained, cached, refreshed and stored without user code
//! around each call.
//!
//! ```no_run
//! use dpop_reqwest::grants::{ClientAuth, ClientCredentials};
//! use dpop_reqwest::tokens::TokenManager;
//!
//! # async fn run() -> Result<(), dpop_reqwest::grants::AuthError> {
//! let grant = ClientCredentials::new(
//!     "https://as.example.com/token",
//!     ClientAuth::secret_basic("my-client", "my-secret"),
//! );
//! let tokens = TokenManager::builder(grant).build()?;
//! // Token request, proof with `ath`, `Authorization: DPoP ...`, refresh: all inside.
//! let response = tokens.send(tokens.http().get("https://api.example.com/v1/items")).await?;
//! # let _ = response;
//! # Ok(()) }
//! ```
//!
//! - **Single flight.** Concurrent callers that find no usable token wait for one token
//!   request, made by the first of them; 50 concurrent calls cause one token request.
//! - **Refresh ahead.** A token is replaced when less than `min(refresh_ahead, lifetime / 2)`
//!   of its lifetime is left (`refresh_ahead` is 60 s by default), with the refresh token if
//!   there is one (same key, RFC 9449 section 5; the refresh token is kept when the response
//!   has none), else by signing in again. A refresh the server refuses with an OAuth error
//!   (`invalid_grant`) leads to a new sign-in. While the old token is still valid, a failed
//!   early refresh is not an error: the old token is used and the refresh tried again on the
//!   next call.
//! - **One retry on `invalid_token`.** A `401` whose `WWW-Authenticate` (`DPoP` or `Bearer`)
//!   says `error="invalid_token"` (a revoked token, a server restarted with new keys) makes
//!   the manager get a new token and send the request once more, if its body can be cloned.
//! - **Nonces** are handled by the [`DpopClient`] as for any request.
//! - **Stores.** With a [`TokenStore`], the session (the key and the tokens bound to it) is
//!   loaded when the manager is built and saved whenever it changes: the next run of a
//!   command-line tool reuses it without signing in.
//! - **No tokens in `Debug` or logs**: [`AccessToken`] and the manager show none.

use core::fmt;
use core::time::Duration;

use std::sync::Arc;

use dpop_core::Algorithm;
use dpop_core::SigningKey;
use dpop_std::client::{Client, TokenSet};
use dpop_std::clock::{Clock, SystemClock};
use dpop_std::keys;
use dpop_std::wire::TokenResponse;
use http::StatusCode;
use http::header::{HeaderMap, WWW_AUTHENTICATE};
use reqwest::{Request, RequestBuilder, Response};
use serde_json::value::RawValue;
use zeroize::Zeroizing;

use crate::DpopClient;
use crate::grants::{AuthError, Grant};
use crate::store::{StoreError, TokenStore};

/// How long before expiry a token is replaced, at most (see [`TokenManagerBuilder::with_refresh_ahead`]).
pub const DEFAULT_REFRESH_AHEAD: Duration = Duration::from_secs(60);

/// The version of the session document this crate writes.
const SESSION_VERSION: u64 = 1;

/// An access token. `Debug` does not show it.
#[derive(Clone)]
pub struct AccessToken(Arc<Zeroizing<String>>);

impl AccessToken {
    /// The token itself, to send (`Authorization: DPoP <token>` with a proof carrying `ath`).
    #[must_use]
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(..)")
    }
}

/// Builds a [`TokenManager`].
pub struct TokenManagerBuilder {
    grant: Box<dyn Grant>,
    http: Option<reqwest::ClientBuilder>,
    client: Option<DpopClient>,
    key: Option<SigningKey>,
    algorithm: Algorithm,
    store: Option<Box<dyn TokenStore>>,
    clock: Arc<dyn Clock>,
    refresh_ahead: Duration,
}

impl fmt::Debug for TokenManagerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenManagerBuilder")
            .field("algorithm", &self.algorithm)
            .field("has_store", &self.store.is_some())
            .field("refresh_ahead", &self.refresh_ahead)
            .finish_non_exhaustive()
    }
}

impl TokenManagerBuilder {
    /// Builds the reqwest client from `http` (default: `reqwest::Client::builder()`); see
    /// [`DpopClient::new`].
    #[must_use]
    pub fn with_http(mut self, http: reqwest::ClientBuilder) -> Self {
        self.http = Some(http);
        self
    }

    /// Uses a ready-made client (any signer: an HSM, a KMS). Its key cannot be stored, so it
    /// does not go with [`with_store`](Self::with_store).
    #[must_use]
    pub fn with_client(mut self, client: DpopClient) -> Self {
        self.client = Some(client);
        self
    }

    /// Signs with `key` when the store holds no session (default: a new key).
    #[must_use]
    pub fn with_key(mut self, key: SigningKey) -> Self {
        self.key = Some(key);
        self
    }

    /// The algorithm of a new key (default ES256).
    #[must_use]
    pub const fn with_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Loads the session from `store` when built, and saves it there whenever it changes.
    /// A stored session brings its own key: the tokens are bound to it.
    #[must_use]
    pub fn with_store(mut self, store: impl TokenStore + 'static) -> Self {
        self.store = Some(Box::new(store));
        self
    }

    /// Reads the time from `clock` (default: the system clock) to tell when tokens are due
    /// (proofs keep the system clock and the offsets the client learns).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces a token when less than `min(ahead, lifetime / 2)` of it is left (default
    /// [`DEFAULT_REFRESH_AHEAD`]).
    #[must_use]
    pub const fn with_refresh_ahead(mut self, ahead: Duration) -> Self {
        self.refresh_ahead = ahead;
        self
    }

    /// The manager, with the stored session if there is one.
    ///
    /// # Errors
    ///
    /// [`AuthError::Store`] when the store cannot be read or holds a malformed session,
    /// [`AuthError::Key`] when no key can be made, [`AuthError::KeyNotStorable`] for a store
    /// with a ready-made client, [`AuthError::Request`] when reqwest cannot build the client.
    pub fn build(self) -> Result<TokenManager, AuthError> {
        let stored = match &self.store {
            Some(store) => store
                .load()
                .map_err(AuthError::Store)?
                .map(|document| Session::from_json(&document))
                .transpose()?,
            None => None,
        };
        let (client, key_jwk, current) = match (self.client, stored) {
            (Some(_), _) if self.store.is_some() => return Err(AuthError::KeyNotStorable),
            (Some(client), _) => (client, None, None),
            (None, stored) => {
                let (key, current) = match stored {
                    Some(session) => (session.key, Some(session.current)),
                    None => match self.key {
                        Some(key) => (key, None),
                        None => (
                            keys::generate(self.algorithm)
                                .map_err(|e| AuthError::Key(keys::KeyFileError::Key(e)))?,
                            None,
                        ),
                    },
                };
                let key_jwk = keys::to_jwk(&key).map_err(AuthError::Key)?;
                let dpop = Client::new(key);
                let http = self.http.unwrap_or_else(reqwest::Client::builder);
                (DpopClient::new(http, dpop)?, Some(key_jwk), current)
            }
        };
        Ok(TokenManager {
            inner: Arc::new(Inner {
                client,
                grant: self.grant,
                store: self.store.zip(key_jwk),
                clock: self.clock,
                refresh_ahead: self.refresh_ahead.as_secs(),
                state: tokio::sync::Mutex::new(State {
                    current,
                    generation: 0,
                }),
            }),
        })
    }
}

/// Obtains, caches, refreshes and stores DPoP-bound tokens, and sends requests with them. See
/// the [module docs](self).
///
/// Cloning is cheap: the clones share the tokens, the key and the connection pool.
#[derive(Clone)]
pub struct TokenManager {
    inner: Arc<Inner>,
}

struct Inner {
    client: DpopClient,
    grant: Box<dyn Grant>,
    /// The store and the key's private JWK, saved beside the tokens.
    store: Option<(Box<dyn TokenStore>, Zeroizing<String>)>,
    clock: Arc<dyn Clock>,
    refresh_ahead: u64,
    state: tokio::sync::Mutex<State>,
}

struct State {
    current: Option<Current>,
    /// Bumped whenever the tokens change, so that a caller reporting a rejected token does
    /// not replace a newer one.
    generation: u64,
}

#[derive(Clone)]
struct Current {
    tokens: TokenSet,
    /// When the tokens were obtained, in seconds since the epoch.
    obtained_at: u64,
    token: AccessToken,
}

impl Current {
    fn new(tokens: TokenSet, obtained_at: u64) -> Self {
        let token = AccessToken(Arc::new(Zeroizing::new(tokens.access_token().to_owned())));
        Self {
            tokens,
            obtained_at,
            token,
        }
    }

    fn expires_at(&self) -> Option<u64> {
        self.tokens
            .expires_in()
            .map(|life| self.obtained_at.saturating_add(life))
    }

    fn expired(&self, now: u64) -> bool {
        self.expires_at().is_some_and(|at| now >= at)
    }

    fn due(&self, now: u64, refresh_ahead: u64) -> bool {
        match self.tokens.expires_in() {
            Some(life) => {
                let ahead = refresh_ahead.min(life / 2);
                now.saturating_add(ahead) >= self.obtained_at.saturating_add(life)
            }
            None => false,
        }
    }
}

impl fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenManager")
            .field("client", &self.inner.client)
            .field("has_store", &self.inner.store.is_some())
            .field("refresh_ahead", &self.inner.refresh_ahead)
            .finish_non_exhaustive()
    }
}

impl TokenManager {
    /// A builder for a manager getting its tokens with `grant`.
    #[must_use]
    pub fn builder(grant: impl Grant + 'static) -> TokenManagerBuilder {
        TokenManagerBuilder {
            grant: Box::new(grant),
            http: None,
            client: None,
            key: None,
            algorithm: Algorithm::Es256,
            store: None,
            clock: Arc::new(SystemClock::default()),
            refresh_ahead: DEFAULT_REFRESH_AHEAD,
        }
    }

    /// The DPoP client the tokens are bound to (its key's thumbprint: `client().dpop()`).
    #[must_use]
    pub fn client(&self) -> &DpopClient {
        &self.inner.client
    }

    /// The reqwest client, to build requests: `manager.http().get(url)`.
    #[must_use]
    pub fn http(&self) -> &reqwest::Client {
        self.inner.client.http()
    }

    /// A usable access token: the cached one, or a new one (refreshed or signed in) when it
    /// is missing, expired or due for refresh.
    ///
    /// # Errors
    ///
    /// [`AuthError`] when no token can be obtained.
    pub async fn access_token(&self) -> Result<AccessToken, AuthError> {
        Ok(self.current(None).await?.0)
    }

    /// The scope and lifetime of the current tokens, if any (never the tokens themselves).
    pub async fn token_info(&self) -> Option<TokenSet> {
        self.inner
            .state
            .lock()
            .await
            .current
            .as_ref()
            .map(|c| c.tokens.clone())
    }

    /// Forgets the tokens and removes the stored session (signing out locally).
    ///
    /// # Errors
    ///
    /// [`AuthError::Store`] when the stored session cannot be removed.
    pub async fn sign_out(&self) -> Result<(), AuthError> {
        let mut state = self.inner.state.lock().await;
        state.current = None;
        state.generation += 1;
        if let Some((store, _)) = &self.inner.store {
            store.clear().map_err(AuthError::Store)?;
        }
        Ok(())
    }

    /// Builds and sends `request` with a token; see [`execute`](Self::execute).
    ///
    /// # Errors
    ///
    /// As [`execute`](Self::execute).
    pub async fn send(&self, request: RequestBuilder) -> Result<Response, AuthError> {
        let request = request
            .build()
            .map_err(|e| AuthError::Request(crate::Error::Http(e)))?;
        self.execute(request).await
    }

    /// Sends `request` with the access token (`Authorization: DPoP`, proof with `ath`, nonce
    /// retry and redirects as [`DpopClient::execute`]), and once more with a new token when
    /// the server answers `401` with `error="invalid_token"` and the body can be cloned.
    ///
    /// # Errors
    ///
    /// [`AuthError`] when no token can be obtained, [`AuthError::Request`] when the request
    /// fails.
    pub async fn execute(&self, request: Request) -> Result<Response, AuthError> {
        let spare = request.try_clone();
        let (token, generation) = self.current(None).await?;
        let response = self
            .inner
            .client
            .execute(request, Some(token.secret()))
            .await?;
        if response.status() != StatusCode::UNAUTHORIZED || !invalid_token(response.headers()) {
            return Ok(response);
        }
        let Some(spare) = spare else {
            return Ok(response);
        };
        let (token, _) = self.current(Some(generation)).await?;
        Ok(self
            .inner
            .client
            .execute(spare, Some(token.secret()))
            .await?)
    }

    /// For the middleware: the token and its generation, and a new token when the server
    /// refused the one of `rejected` generation.
    #[cfg(feature = "middleware")]
    pub(crate) async fn token_for(
        &self,
        rejected: Option<u64>,
    ) -> Result<(AccessToken, u64), AuthError> {
        self.current(rejected).await
    }

    /// The current token and its generation; a new one when there is none, it is due, or
    /// `rejected` is the generation in use (the server refused it).
    async fn current(&self, rejected: Option<u64>) -> Result<(AccessToken, u64), AuthError> {
        let inner = &self.inner;
        let mut state = inner.state.lock().await;
        let now = inner.clock.now().as_secs();
        let is_rejected = rejected.is_some_and(|g| g == state.generation);
        if let Some(current) = &state.current
            && !is_rejected
            && !current.due(now, inner.refresh_ahead)
        {
            return Ok((current.token.clone(), state.generation));
        }
        let previous = state.current.clone();
        let obtained = self.obtain(previous.as_ref().map(|c| &c.tokens)).await;
        let tokens = match (obtained, previous) {
            (Ok(tokens), _) => tokens,
            // An early refresh that failed: the old token still serves.
            (Err(_), Some(previous)) if !is_rejected && !previous.expired(now) => {
                return Ok((previous.token, state.generation));
            }
            (Err(e), _) => return Err(e),
        };
        let current = Current::new(tokens, inner.clock.now().as_secs());
        if let Some((store, key)) = &inner.store {
            let document = Session::to_json(key, &current)?;
            store.save(&document).map_err(AuthError::Store)?;
        }
        let token = current.token.clone();
        state.current = Some(current);
        state.generation += 1;
        Ok((token, state.generation))
    }

    /// New tokens: a refresh of `previous` if it has a refresh token and the grant can, else
    /// a sign-in.
    async fn obtain(&self, previous: Option<&TokenSet>) -> Result<TokenSet, AuthError> {
        let inner = &self.inner;
        if let Some(previous) = previous
            && let Some(refresh_token) = previous.refresh_token()
            && let Some(refresh) = inner.grant.refresh(&inner.client, refresh_token)
        {
            match refresh.await {
                Ok(response) => {
                    let mut tokens = previous.clone();
                    tokens
                        .refresh(response)
                        .map_err(|e| AuthError::Token(e.into()))?;
                    return Ok(tokens);
                }
                // The refresh token is no good (expired, revoked): sign in again.
                Err(AuthError::OAuth(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let response = inner.grant.sign_in(&inner.client).await?;
        TokenSet::dpop(response).map_err(|e| AuthError::Token(e.into()))
    }
}

/// Whether a `WWW-Authenticate` header has a `DPoP` or `Bearer` challenge with
/// `error="invalid_token"` (RFC 6750 section 3.1, RFC 9449 section 7.1).
pub(crate) fn invalid_token(headers: &HeaderMap) -> bool {
    headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|value| {
            challenges(value).iter().any(|(scheme, params)| {
                (scheme.eq_ignore_ascii_case("dpop") || scheme.eq_ignore_ascii_case("bearer"))
                    && params
                        .iter()
                        .any(|(n, v)| n.eq_ignore_ascii_case("error") && v == "invalid_token")
            })
        })
}

type Challenge = (String, Vec<(String, String)>);

/// The challenges of a `WWW-Authenticate` value (RFC 9110 section 11.6.1): schemes and their
/// `name=value` parameters (token or quoted-string). Malformed parts end the parse.
pub(crate) fn challenges(value: &str) -> Vec<Challenge> {
    fn is_tchar(c: char) -> bool {
        c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
    }
    let mut out: Vec<Challenge> = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches([',', ' ', '\t']);
        if rest.is_empty() {
            return out;
        }
        let end = rest.find(|c| !is_tchar(c)).unwrap_or(rest.len());
        if end == 0 {
            return out;
        }
        let (token, after) = rest.split_at(end);
        let after_ws = after.trim_start_matches([' ', '\t']);
        if let Some(value_part) = after_ws.strip_prefix('=') {
            // A parameter of the current challenge.
            let value_part = value_part.trim_start_matches([' ', '\t']);
            let (param, remaining) = if let Some(quoted) = value_part.strip_prefix('"') {
                let mut text = String::new();
                let mut chars = quoted.char_indices();
                let mut close = None;
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => match chars.next() {
                            Some((_, escaped)) => text.push(escaped),
                            None => return out,
                        },
                        '"' => {
                            close = Some(i);
                            break;
                        }
                        c => text.push(c),
                    }
                }
                let Some(close) = close else { return out };
                (text, quoted.get(close + 1..).unwrap_or(""))
            } else {
                let end = value_part
                    .find(|c| !is_tchar(c))
                    .unwrap_or(value_part.len());
                let (v, remaining) = value_part.split_at(end);
                // token68 padding (`abc==`) is not a parameter; stop there.
                (v.to_owned(), remaining)
            };
            match out.last_mut() {
                Some((_, params)) => params.push((token.to_owned(), param)),
                None => return out,
            }
            rest = remaining;
        } else {
            out.push((token.to_owned(), Vec::new()));
            rest = after;
        }
    }
}

/// A stored session: the key and the tokens bound to it.
struct Session {
    key: SigningKey,
    current: Current,
}

#[derive(serde::Deserialize)]
struct SessionDocument<'a> {
    version: u64,
    obtained_at: u64,
    #[serde(borrow)]
    key: &'a RawValue,
    #[serde(borrow)]
    tokens: &'a RawValue,
}

impl Session {
    /// `{"version":1,"obtained_at":N,"key":<private JWK>,"tokens":<token response>}`.
    fn to_json(key_jwk: &str, current: &Current) -> Result<Zeroizing<String>, AuthError> {
        let tokens = &current.tokens;
        let mut response = TokenResponse::minimal(tokens.access_token(), tokens.token_type());
        response.expires_in = tokens.expires_in();
        response.scope = tokens.scope().map(str::to_owned);
        response.refresh_token = tokens.refresh_token().map(str::to_owned);
        for (name, value) in tokens.extras() {
            response = response.with_extra(name.clone(), value.clone());
        }
        let json = Zeroizing::new(
            response
                .to_json()
                .map_err(|_| AuthError::Store(StoreError::Malformed))?,
        );
        drop(response);
        Ok(Zeroizing::new(format!(
            "{{\"version\":{SESSION_VERSION},\"obtained_at\":{},\"key\":{},\"tokens\":{}}}",
            current.obtained_at,
            key_jwk.trim(),
            json.as_str()
        )))
    }

    fn from_json(text: &str) -> Result<Self, AuthError> {
        let malformed = || AuthError::Store(StoreError::Malformed);
        let document: SessionDocument<'_> = serde_json::from_str(text).map_err(|_| malformed())?;
        if document.version != SESSION_VERSION {
            return Err(malformed());
        }
        let key = keys::from_jwk(document.key.get()).map_err(|_| malformed())?;
        let response =
            TokenResponse::from_json(document.tokens.get().as_bytes()).map_err(|_| malformed())?;
        let tokens = TokenSet::dpop(response).map_err(|_| malformed())?;
        Ok(Self {
            key,
            current: Current::new(tokens, document.obtained_at),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(WWW_AUTHENTICATE, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn invalid_token_challenges() {
        for yes in [
            r#"DPoP error="invalid_token", algs="ES256""#,
            r#"DPoP algs="ES256 PS256", error="invalid_token", error_description="revoked""#,
            "Bearer realm=\"api\", error=invalid_token",
            r#"Basic realm="a", dpop error="invalid_token""#,
            r#"Bearer error = "invalid_token""#,
            r#"Bearer error="invalid\_token""#,
        ] {
            assert!(invalid_token(&headers(&[yes])), "{yes}");
        }
        for no in [
            r#"DPoP error="invalid_request", error_description="invalid_token""#,
            r#"Basic error="invalid_token""#,
            r#"DPoP error="use_dpop_nonce""#,
            r#"DPoP error="invalid_token"#,
            r#"error="invalid_token""#,
            "",
        ] {
            assert!(!invalid_token(&headers(&[no])), "{no}");
        }
        assert!(invalid_token(&headers(&[
            r#"Basic realm="x""#,
            r#"DPoP error="invalid_token""#
        ])));
    }

    #[test]
    fn refresh_ahead_is_bounded_by_half_the_lifetime() {
        let tokens = TokenSet::dpop(TokenResponse::new(
            "at",
            dpop_std::wire::TokenType::Dpop,
            300,
            "s",
        ))
        .unwrap();
        let current = Current::new(tokens, 1000);
        assert!(!current.due(1000 + 239, 60));
        assert!(current.due(1000 + 240, 60));
        assert!(!current.expired(1299));
        assert!(current.expired(1300));
        // a 30 s token with 60 s ahead is replaced at half its life, not at once
        let short = Current::new(
            TokenSet::dpop(TokenResponse::new(
                "at",
                dpop_std::wire::TokenType::Dpop,
                30,
                "s",
            ))
            .unwrap(),
            1000,
        );
        assert!(!short.due(1014, 60));
        assert!(short.due(1015, 60));
        // no lifetime: never due
        let forever = Current::new(
            TokenSet::dpop(TokenResponse::minimal(
                "at",
                dpop_std::wire::TokenType::Dpop,
            ))
            .unwrap(),
            0,
        );
        assert!(!forever.due(u64::MAX, 60));
    }

    #[test]
    fn no_token_in_debug() {
        let token = AccessToken(Arc::new(Zeroizing::new("secret-at-123".into())));
        assert_eq!(format!("{token:?}"), "AccessToken(..)");
    }
}
