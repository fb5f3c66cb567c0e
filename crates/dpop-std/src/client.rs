//! The client side of DPoP, sans-IO: proofs for outgoing requests, server nonces, clock offset,
//! and the token responses of a DPoP client (RFC 9449 sections 4, 5, 7 and 8).
//!
//! A [`Client`] holds one signing key (any [`ProofSigner`]: an in-memory
//! [`SigningKey`](dpop_core::SigningKey), or a key in an HSM or KMS), the OS CSPRNG for
//! `jti`, and per-origin state: the last `DPoP-Nonce` each server sent and the clock offset
//! learned from it. It never does I/O, so it works with any HTTP client:
//!
//! 1. [`Client::prepare`] signs a proof for a request and returns an [`Attempt`] whose
//!    [`headers`](Attempt::headers) (`DPoP`, and `Authorization: DPoP <token>` when a token is
//!    given) go on the request.
//! 2. [`Client::on_response`] reads the response: it stores any `DPoP-Nonce` (successful
//!    responses included), learns that server's clock offset (see [below](#clock-offset)), and
//!    recognizes the two nonce challenges, the authorization server's 400
//!    `{"error":"use_dpop_nonce"}` (section 8) and the resource server's 401
//!    `WWW-Authenticate: DPoP error="use_dpop_nonce"` (section 9).
//! 3. When it answers [`Outcome::Retry`], [`Client::retry`] makes the second and last attempt
//!    with the new nonce. A request is retried at most once, and never with a nonce it already
//!    sent, so a server that keeps rejecting cannot drive the client into a loop.
//!
//! ```
//! use dpop_core::Algorithm;
//! use dpop_std::client::{Client, Outcome};
//! use dpop_std::keys;
//! use http::{HeaderMap, HeaderValue, Method, StatusCode};
//!
//! let client = Client::new(keys::generate(Algorithm::Es256)?);
//! let url = "https://api.example.com/v1/items?page=2";
//! let mut attempt = client.prepare(&Method::GET, url, Some("the-access-token"))?;
//! assert!(attempt.headers().contains_key("dpop"));
//! assert_eq!(attempt.headers()["authorization"], "DPoP the-access-token");
//!
//! // The resource server wants a nonce (RFC 9449 section 9) ...
//! let mut headers = HeaderMap::new();
//! headers.insert("www-authenticate", HeaderValue::from_static(r#"DPoP error="use_dpop_nonce""#));
//! headers.insert("dpop-nonce", HeaderValue::from_static("eyJ7S_zG.eyJH0-Z.HX4w-7v"));
//! let outcome = client.on_response(&mut attempt, StatusCode::UNAUTHORIZED, &headers, b"");
//! assert_eq!(outcome, Outcome::Retry);
//!
//! // ... so the request is sent once more, with it.
//! let mut retry = client.retry(&attempt)?;
//! assert_eq!(retry.nonce(), Some("eyJ7S_zG.eyJH0-Z.HX4w-7v"));
//! // A second challenge is not retried.
//! let outcome = client.on_response(&mut retry, StatusCode::UNAUTHORIZED, &headers, b"");
//! assert!(matches!(outcome, Outcome::NotRetried(_)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Clock offset
//!
//! Servers check `iat` against their own clock, often within a few seconds (RFC 9449 section
//! 11.1), and a client whose clock is off fails every request. The client therefore reads the
//! server's time from its responses: the `Date` header (RFC 9110 section 6.6.1, in any of the
//! three formats section 5.6.7 requires a recipient to accept) and, more precisely, the
//! `server time N` that dpop-std servers put in the description of a time error. The offset to
//! the local clock is kept per origin and added to `iat` of later proofs to that origin only:
//!
//! - **No cross-origin fallback.** An origin the client has not heard from gets the local
//!   clock. Otherwise one server (malicious or misconfigured) could make the proofs for another
//!   carry an `iat` in the future: that server rejects them as issued in the future, never
//!   records them as used, and they become valid later, pre-generated proofs that anyone who
//!   captured them can replay (RFC 9449 section 11.2).
//! - **No time from caches.** A response with an `Age` header, or one a cache says it served
//!   (`Cache-Status` with `hit`, RFC 9211; `X-Cache: HIT`), teaches nothing: its `Date` is the
//!   time it was generated, not now.
//! - **Bounded.** Offsets beyond [`DEFAULT_MAX_CLOCK_OFFSET`] (five minutes either way, see
//!   [`Client::with_max_clock_offset`]) are ignored: a server that far off is more likely wrong
//!   than the local clock, and the bound is what a lying server can shift `iat` by.
//! - Offsets within 1 s of the current one are ignored (`Date` has a resolution of one second).
//!
//! A rejected `iat` is not retried: the offset serves the next request.

use core::fmt;
// dpop-std links std; naming `alloc` here keeps the workspace's no_std hygiene lints happy.
extern crate alloc;

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use std::sync::{Mutex, MutexGuard, PoisonError};

use dpop_core::{
    CreateError, HttpMethod, NewProof, ProofId, TargetUri, Thumbprint, UnixTime, UriError,
    consts::{MAX_URI_LEN, USE_DPOP_NONCE},
    crypto::ProofSigner,
    is_valid_nonce,
};
use http::header::{
    AGE, AUTHORIZATION, DATE, HeaderMap, HeaderName, HeaderValue, WWW_AUTHENTICATE,
};
use http::{Method, StatusCode};
use zeroize::Zeroizing;

use crate::clock::{Clock, SystemClock};
use crate::wire::{ErrorBody, ExtraNames, MemberError, TokenResponse, TokenType};

/// The request header carrying the proof (RFC 9449 section 4.1), lower-case.
pub const DPOP: &str = "dpop";
/// The response header carrying a server nonce (RFC 9449 section 8.1), lower-case.
pub const DPOP_NONCE: &str = "dpop-nonce";
/// How many origins' nonces and clock offsets a client keeps by default (least recently used
/// first out), as openid-client does.
pub const DEFAULT_NONCE_CAPACITY: usize = 100;
/// The largest clock offset learned by default, in seconds: five minutes, either way. It is
/// also the most a server can shift the `iat` of the proofs sent to it.
pub const DEFAULT_MAX_CLOCK_OFFSET: u64 = 300;
/// Largest response body [`Client::on_response`] looks into for a nonce challenge; an OAuth
/// error body is far smaller.
pub const MAX_ERROR_BODY: usize = 16 * 1024;
/// Largest `WWW-Authenticate` value parsed.
const MAX_CHALLENGE_LEN: usize = 8 * 1024;
/// Offsets that differ from the current one by this much or less are noise (`Date` has a
/// resolution of one second).
const OFFSET_RESOLUTION: i64 = 1;

/// A DPoP client: one signing key, the OS CSPRNG for `jti`, and per-origin nonces and clock
/// offsets. Sans-IO; see the [module docs](self).
///
/// `Client` is `Send + Sync`: share one (in an `Arc`) between concurrent requests. `Debug`
/// shows the key's algorithm and thumbprint, never the key.
pub struct Client {
    signer: Box<dyn ProofSigner + Send + Sync>,
    thumbprint: Thumbprint,
    clock: Arc<dyn Clock>,
    max_clock_offset: u64,
    state: Mutex<State>,
}

impl Client {
    /// A client signing with `signer`: the system clock, a nonce cache of
    /// [`DEFAULT_NONCE_CAPACITY`] origins, clock offsets up to [`DEFAULT_MAX_CLOCK_OFFSET`].
    pub fn new(signer: impl ProofSigner + Send + Sync + 'static) -> Self {
        Self::from_boxed(Box::new(signer))
    }

    /// As [`new`](Self::new), for a signer that is already boxed.
    #[must_use]
    pub fn from_boxed(signer: Box<dyn ProofSigner + Send + Sync>) -> Self {
        let thumbprint = signer.public_jwk().thumbprint();
        Self {
            signer,
            thumbprint,
            clock: Arc::new(SystemClock),
            max_clock_offset: DEFAULT_MAX_CLOCK_OFFSET,
            state: Mutex::new(State::new(DEFAULT_NONCE_CAPACITY)),
        }
    }

    /// Reads time from `clock` instead of the system clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Keeps nonces and clock offsets for at most `origins` origins (at least one), dropping
    /// the least recently used.
    #[must_use]
    pub fn with_nonce_capacity(mut self, origins: usize) -> Self {
        self.state = Mutex::new(State::new(origins.max(1)));
        self
    }

    /// Learns clock offsets of at most `secs` seconds either way (default
    /// [`DEFAULT_MAX_CLOCK_OFFSET`]); larger ones are ignored. `0` turns clock-offset learning
    /// off. A larger bound lets a device with a badly set clock recover, and lets each server
    /// shift the `iat` of its own proofs that much.
    #[must_use]
    pub const fn with_max_clock_offset(mut self, secs: u64) -> Self {
        self.max_clock_offset = secs;
        self
    }

    /// The thumbprint of the client's key: the `cnf.jkt` servers bind tokens to, and the
    /// `dpop_jkt` of an authorization request (RFC 9449 section 10).
    #[must_use]
    pub const fn thumbprint(&self) -> &Thumbprint {
        &self.thumbprint
    }

    /// The signer.
    #[must_use]
    pub fn signer(&self) -> &(dyn ProofSigner + Send + Sync) {
        &*self.signer
    }

    /// Signs a proof for `method` and `url`, with the nonce last received from the URL's
    /// origin, and returns the headers to send. With `access_token`, the proof carries `ath`
    /// (RFC 9449 section 7) and the headers include `Authorization: DPoP <token>`.
    ///
    /// `htu` is the URL without query and fragment, in dpop-core's canonical form.
    ///
    /// # Errors
    ///
    /// [`ClientError::InvalidMethod`], [`ClientError::InvalidUrl`] for a URL that is not
    /// absolute `http`/`https`, and [`ClientError::Proof`] when the proof cannot be made (an
    /// access token that is not printable ASCII, the RNG or the signer failing).
    pub fn prepare(
        &self,
        method: &Method,
        url: &str,
        access_token: Option<&str>,
    ) -> Result<Attempt, ClientError> {
        let origin = origin_of(url)?;
        let nonce = self.lock().entry_mut(&origin).and_then(|e| e.nonce.clone());
        self.attempt(method, url, origin, access_token, nonce, false)
    }

    /// Reads a response to `attempt`, and says whether to retry it.
    ///
    /// The response must be the one to `attempt`'s URL: what it teaches is stored under that
    /// URL's origin. (A client that follows redirects makes a new attempt for each hop.)
    ///
    /// Always: stores a valid `DPoP-Nonce` header for the origin, and learns the clock offset
    /// (see the [module docs](self#clock-offset)). Then recognizes a nonce challenge, status 400
    /// or 401 with either the JSON body `{"error":"use_dpop_nonce"}` (RFC 9449 section 8) or
    /// `WWW-Authenticate: DPoP error="use_dpop_nonce"` (section 9).
    ///
    /// Pass the body of 400 responses (at most [`MAX_ERROR_BODY`] bytes are looked at; see
    /// [`needs_body`](Self::needs_body)); for other responses an empty slice will do.
    pub fn on_response(
        &self,
        attempt: &mut Attempt,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Outcome {
        attempt.retry_nonce = None;
        let error = ResponseError::read(status, headers, body);
        let received = self.clock.now();
        let server_time = if from_cache(headers) {
            None
        } else {
            error
                .as_ref()
                .and_then(|e| e.description.as_deref())
                .and_then(server_time_in)
                .or_else(|| date_header(headers))
        };
        let nonce = single_nonce(headers);

        let mut state = self.lock();
        if let Some(server_time) = server_time {
            state.learn_offset(
                &attempt.origin,
                offset(server_time, received),
                self.max_clock_offset,
            );
        }
        if let Some(nonce) = &nonce {
            state.store_nonce(&attempt.origin, nonce);
        }
        if error.is_none_or(|e| e.code.as_deref() != Some(USE_DPOP_NONCE)) {
            return Outcome::Done;
        }
        if attempt.retried {
            return Outcome::NotRetried(NoRetry::AlreadyRetried);
        }
        // A challenge without a nonce may still be answered with one another response just
        // brought for the same origin.
        let candidate = nonce.or_else(|| state.entry_mut(&attempt.origin)?.nonce.clone());
        match candidate {
            None => Outcome::NotRetried(NoRetry::NoNonce),
            Some(n) if attempt.nonce.as_deref() == Some(n.as_str()) => {
                Outcome::NotRetried(NoRetry::NonceAlreadyTried)
            }
            Some(n) => {
                attempt.retry_nonce = Some(n);
                Outcome::Retry
            }
        }
    }

    /// The second and last attempt of a request, with the nonce of the challenge, after
    /// [`on_response`](Self::on_response) answered [`Outcome::Retry`].
    ///
    /// # Errors
    ///
    /// [`ClientError::RetryNotAllowed`] unless the last outcome for `previous` was
    /// [`Outcome::Retry`]; otherwise as [`prepare`](Self::prepare).
    pub fn retry(&self, previous: &Attempt) -> Result<Attempt, ClientError> {
        let nonce = match (&previous.retry_nonce, previous.retried) {
            (Some(nonce), false) => nonce.clone(),
            _ => return Err(ClientError::RetryNotAllowed),
        };
        let method = Method::from_bytes(previous.method.as_bytes())
            .map_err(|_| ClientError::InvalidMethod)?;
        self.attempt(
            &method,
            &previous.url,
            previous.origin.clone(),
            previous.access_token.as_deref().map(String::as_str),
            Some(nonce),
            true,
        )
    }

    /// True when [`on_response`](Self::on_response) needs the body of a response with this
    /// status to recognize a nonce challenge (400, the authorization server's JSON error).
    #[must_use]
    pub fn needs_body(status: StatusCode) -> bool {
        status == StatusCode::BAD_REQUEST
    }

    /// The nonce stored for the origin of `url`, if any.
    #[must_use]
    pub fn nonce(&self, url: &str) -> Option<String> {
        let origin = origin_of(url).ok()?;
        self.lock().peek(&origin).and_then(|e| e.nonce.clone())
    }

    /// The clock offset, in seconds, added to `iat` of proofs for the origin of `url`: learned
    /// from that origin only, `0` for an origin not heard from.
    #[must_use]
    pub fn clock_offset(&self, url: &str) -> i64 {
        let state = self.lock();
        origin_of(url)
            .ok()
            .and_then(|origin| state.peek(&origin).and_then(|e| e.offset))
            .unwrap_or(0)
    }

    /// How many origins have a stored nonce or clock offset.
    #[must_use]
    pub fn cached_origins(&self) -> usize {
        self.lock().entries.len()
    }

    /// Reads a token response for which a DPoP-bound token was requested (RFC 9449 section 5).
    ///
    /// # Errors
    ///
    /// [`TokenError::Malformed`] when the body is not a JSON object,
    /// [`TokenError::InvalidMember`] when a member is missing or wrong (see
    /// [`TokenResponse::from_json`]), and
    /// [`TokenError::Binding`]`(`[`TokenBindingError::NotBound`]`)` when the server issued a
    /// `Bearer` token instead: it is not bound to this client's key, and anyone who obtains
    /// it can use it.
    pub fn read_token_response(&self, body: &[u8]) -> Result<TokenSet, TokenError> {
        let response = TokenResponse::from_json(body).map_err(|e| match e.member() {
            Some(member) => TokenError::InvalidMember(member),
            None => TokenError::Malformed(e.kind()),
        })?;
        TokenSet::dpop(response).map_err(TokenError::Binding)
    }

    fn attempt(
        &self,
        method: &Method,
        url: &str,
        origin: String,
        access_token: Option<&str>,
        nonce: Option<String>,
        retried: bool,
    ) -> Result<Attempt, ClientError> {
        let htm = HttpMethod::parse(method.as_str()).map_err(|_| ClientError::InvalidMethod)?;
        let htu = TargetUri::parse(url).map_err(ClientError::InvalidUrl)?;
        let offset = self
            .lock()
            .entry_mut(&origin)
            .and_then(|e| e.offset)
            .unwrap_or(0);
        let now = self.clock.now().as_secs();
        let issued_at = UnixTime::from_secs(now.checked_add_signed(offset).unwrap_or(now));
        let mut id = [0u8; ProofId::RANDOM_LEN];
        let id = ProofId::random(&mut getrandom::SysRng, &mut id).map_err(ClientError::Proof)?;
        let mut proof = NewProof::new(htm, htu, id, issued_at);
        if let Some(nonce) = nonce.as_deref() {
            proof = proof.with_nonce(nonce);
        }
        if let Some(token) = access_token {
            proof = proof.with_access_token(token);
        }
        let signer: &dyn ProofSigner = &*self.signer;
        let jws = proof.encode_to_string(signer).map_err(ClientError::Proof)?;

        let mut headers = HeaderMap::new();
        let mut value = HeaderValue::from_str(&jws)
            .map_err(|_| ClientError::Proof(CreateError::BufferTooSmall))?;
        value.set_sensitive(true);
        headers.insert(HeaderName::from_static(DPOP), value);
        if let Some(token) = access_token {
            let text = Zeroizing::new(format!("DPoP {token}"));
            let mut value = HeaderValue::from_str(&text)
                .map_err(|_| ClientError::Proof(CreateError::InvalidAccessToken))?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        Ok(Attempt {
            method: method.as_str().to_owned(),
            url: url.to_owned(),
            origin,
            access_token: access_token.map(|t| Zeroizing::new(t.to_owned())),
            nonce,
            issued_at,
            retried,
            retry_nonce: None,
            headers,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is a cache: whatever a panicking thread left is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("algorithm", &self.signer.algorithm())
            .field("thumbprint", &self.thumbprint)
            .field("max_clock_offset", &self.max_clock_offset)
            .finish_non_exhaustive()
    }
}

/// One attempt of a request: the headers to send, and what the retry needs.
///
/// `Debug` shows neither the proof nor the access token.
pub struct Attempt {
    method: String,
    url: String,
    origin: String,
    access_token: Option<Zeroizing<String>>,
    nonce: Option<String>,
    issued_at: UnixTime,
    retried: bool,
    retry_nonce: Option<String>,
    headers: HeaderMap,
}

impl Attempt {
    /// The headers to add to the request: `DPoP`, and `Authorization: DPoP <token>` when an
    /// access token was given. Both values are marked sensitive.
    #[must_use]
    pub const fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The compact proof sent in the `DPoP` header.
    #[must_use]
    pub fn proof(&self) -> &str {
        self.headers
            .get(DPOP)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The server nonce in the proof, if any.
    #[must_use]
    pub fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }

    /// The proof's `iat`: the local clock plus the learned offset.
    #[must_use]
    pub const fn issued_at(&self) -> UnixTime {
        self.issued_at
    }

    /// True for the retry made by [`Client::retry`].
    #[must_use]
    pub const fn is_retry(&self) -> bool {
        self.retried
    }

    /// The origin (`scheme://host[:port]`, canonical) the nonce and clock offset belong to.
    #[must_use]
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The request URL.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl fmt::Debug for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attempt")
            .field("method", &self.method)
            .field("origin", &self.origin)
            .field("has_access_token", &self.access_token.is_some())
            .field("nonce", &self.nonce)
            .field("issued_at", &self.issued_at)
            .field("retried", &self.retried)
            .finish_non_exhaustive()
    }
}

/// What to do with a response, from [`Client::on_response`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Not a nonce challenge: the response is the application's.
    Done,
    /// A nonce challenge that is not retried; the response is the application's.
    NotRetried(NoRetry),
    /// A nonce challenge with a nonce this request has not sent: send [`Client::retry`] once.
    Retry,
}

/// Why a nonce challenge is not retried.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoRetry {
    /// This was already the retry: a request is retried at most once.
    AlreadyRetried,
    /// The server sent no (valid) `DPoP-Nonce`, and none is stored for its origin.
    NoNonce,
    /// The server asks for the nonce this attempt already sent.
    NonceAlreadyTried,
    /// The caller cannot send the request again (for example, its body was a stream).
    NotReplayable,
}

impl NoRetry {
    /// A stable snake_case name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::AlreadyRetried => "already_retried",
            Self::NoNonce => "no_nonce",
            Self::NonceAlreadyTried => "nonce_already_tried",
            Self::NotReplayable => "not_replayable",
        }
    }
}

impl fmt::Display for NoRetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::AlreadyRetried => "nonce challenge after the retry; not retried again",
            Self::NoNonce => "nonce challenge without a DPoP-Nonce",
            Self::NonceAlreadyTried => "nonce challenge for the nonce already sent",
            Self::NotReplayable => "nonce challenge for a request that cannot be sent again",
        })
    }
}

/// Why a client could not make a request's proof. Variants are listed alphabetically.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientError {
    /// The method is not an HTTP token of at most 32 characters.
    InvalidMethod,
    /// The URL is not an absolute `http` or `https` URL dpop-core accepts.
    InvalidUrl(UriError),
    /// The proof could not be created (the access token is not printable ASCII, the RNG or
    /// the signer failed).
    Proof(CreateError),
    /// [`Client::retry`] without an [`Outcome::Retry`], or for an attempt that was already a
    /// retry.
    RetryNotAllowed,
}

impl ClientError {
    /// A stable snake_case name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::InvalidMethod => "invalid_method",
            Self::InvalidUrl(e) => e.name(),
            Self::Proof(e) => e.name(),
            Self::RetryNotAllowed => "retry_not_allowed",
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidMethod => f.write_str("invalid HTTP method"),
            Self::InvalidUrl(_) => f.write_str("invalid request URL"),
            Self::Proof(_) => f.write_str("cannot create the DPoP proof"),
            Self::RetryNotAllowed => f.write_str("this request may not be retried"),
        }
    }
}

impl core::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::InvalidUrl(e) => Some(e),
            Self::Proof(e) => Some(e),
            _ => None,
        }
    }
}

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

/// The canonical origin of `url`: `scheme://host[:port]` as dpop-core canonicalizes it (lower
/// case, default port dropped).
fn origin_of(url: &str) -> Result<String, ClientError> {
    let mut buf = [0u8; MAX_URI_LEN];
    let canonical = dpop_core::canonicalize_uri(url, &mut buf).map_err(ClientError::InvalidUrl)?;
    let after_scheme = canonical.find("://").map_or(0, |i| i + 3);
    let end = canonical
        .get(after_scheme..)
        .and_then(|rest| rest.find('/'))
        .map_or(canonical.len(), |i| after_scheme + i);
    Ok(canonical.get(..end).unwrap_or(canonical).to_owned())
}

/// `server - local`, saturating.
fn offset(server: UnixTime, local: UnixTime) -> i64 {
    let (s, l) = (server.as_secs(), local.as_secs());
    if s >= l {
        i64::try_from(s - l).unwrap_or(i64::MAX)
    } else {
        i64::try_from(l - s).map_or(i64::MIN, |d| -d)
    }
}

/// The one valid `DPoP-Nonce` of a response; several are ambiguous and ignored.
fn single_nonce(headers: &HeaderMap) -> Option<String> {
    let mut values = headers.get_all(DPOP_NONCE).iter();
    let first = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let text = first.to_str().ok()?;
    is_valid_nonce(text).then(|| text.to_owned())
}

/// The time of the one `Date` header: IMF-fixdate, or the obsolete RFC 850 and asctime forms,
/// which a recipient must accept (RFC 9110 section 5.6.7).
fn date_header(headers: &HeaderMap) -> Option<UnixTime> {
    let mut values = headers.get_all(DATE).iter();
    let first = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let time = httpdate::parse_http_date(first.to_str().ok()?).ok()?;
    let secs = time.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    Some(UnixTime::from_secs(secs))
}

/// True for a response served from a cache, whose `Date` is when it was generated, not now:
/// it has an `Age` (RFC 9111 section 5.1: sent by caches), a `Cache-Status` entry with the
/// `hit` parameter (RFC 9211 section 2.1), or an `X-Cache` saying "hit" (a common, unregistered
/// convention of CDNs).
fn from_cache(headers: &HeaderMap) -> bool {
    if headers.contains_key(AGE) {
        return true;
    }
    let cache_status_hit = headers
        .get_all(HeaderName::from_static("cache-status"))
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .flat_map(|entry| entry.split(';').skip(1))
        .any(|param| {
            let name = param.split('=').next().unwrap_or_default().trim();
            name.eq_ignore_ascii_case("hit")
        });
    let x_cache_hit = headers
        .get_all(HeaderName::from_static("x-cache"))
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("hit"));
    cache_status_hit || x_cache_hit
}

/// The `N` of `server time N` in an error description (dpop-std servers' time errors).
fn server_time_in(description: &str) -> Option<UnixTime> {
    const MARK: &str = "server time ";
    let start = description.find(MARK)? + MARK.len();
    let digits = description.get(start..)?;
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits
        .get(..end)
        .filter(|d| !d.is_empty() && d.len() <= 19)
        .and_then(|d| d.parse().ok())
        .map(UnixTime::from_secs)
}

/// The OAuth error a response carries: from a JSON body (400 or 401) or a `DPoP` challenge in
/// `WWW-Authenticate` (401 or 400).
#[derive(Debug, Default, PartialEq, Eq)]
struct ResponseError {
    code: Option<String>,
    description: Option<String>,
}

impl ResponseError {
    fn read(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Option<Self> {
        if status != StatusCode::BAD_REQUEST && status != StatusCode::UNAUTHORIZED {
            return None;
        }
        for value in headers.get_all(WWW_AUTHENTICATE) {
            let Ok(text) = value.to_str() else { continue };
            if text.len() > MAX_CHALLENGE_LEN {
                continue;
            }
            for challenge in parse_challenges(text) {
                if challenge.scheme.eq_ignore_ascii_case("DPoP") {
                    let error = challenge.param("error");
                    if error.is_some() {
                        return Some(Self {
                            code: error,
                            description: challenge.param("error_description"),
                        });
                    }
                }
            }
        }
        if body.len() > MAX_ERROR_BODY || body.is_empty() {
            return None;
        }
        let parsed = ErrorBody::from_json(body).ok()?;
        Some(Self {
            code: Some(parsed.error),
            description: parsed.error_description,
        })
    }
}

/// An authentication challenge (RFC 9110 section 11.6.1): a scheme and its parameters.
#[derive(Debug, Default, PartialEq, Eq)]
struct Challenge {
    scheme: String,
    params: Vec<(String, String)>,
}

impl Challenge {
    fn param(&self, name: &str) -> Option<String> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }
}

/// Parses `#challenge` (RFC 9110 section 11.6.1): `scheme [ 1*SP ( token68 / #auth-param ) ]`,
/// several challenges per header separated by commas. Tolerant: what cannot be parsed ends the
/// list, and whatever was parsed so far is returned.
fn parse_challenges(text: &str) -> Vec<Challenge> {
    let mut out: Vec<Challenge> = Vec::new();
    let mut lexer = Lexer::new(text);
    loop {
        lexer.skip_separators();
        let Some(name) = lexer.token() else { break };
        lexer.skip_ws();
        if lexer.peek() == Some(b'=') {
            // `name = value`: a parameter of the current challenge, unless it is a token68
            // (`=` padding followed by a comma or the end).
            let checkpoint = lexer.pos;
            lexer.advance();
            lexer.skip_ws();
            if let Some(value) = lexer.value() {
                match out.last_mut() {
                    Some(challenge) => challenge.params.push((name, value)),
                    None => break,
                }
                continue;
            }
            lexer.pos = checkpoint;
            // token68 of the current challenge: skip it.
            while lexer.peek() == Some(b'=') {
                lexer.advance();
            }
            continue;
        }
        out.push(Challenge {
            scheme: name,
            params: Vec::new(),
        });
    }
    out
}

/// [`parse_challenges`] as plain tuples, for the fuzz targets.
#[cfg(feature = "__fuzzing-internals")]
pub(crate) fn fuzz_challenges(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    parse_challenges(text)
        .into_iter()
        .map(|c| (c.scheme, c.params))
        .collect()
}

/// A byte cursor over a header value.
struct Lexer<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Lexer<'a> {
    const fn new(text: &'a str) -> Self {
        Self {
            bytes: text.as_bytes(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    const fn advance(&mut self) {
        self.pos += 1;
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.advance();
        }
    }

    fn skip_separators(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.advance();
        }
    }

    /// A `token`, or a token68 (token characters plus `/`, then `=` padding is left).
    fn token(&mut self) -> Option<String> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~/".contains(&b))
        {
            self.advance();
        }
        let text = self.bytes.get(start..self.pos)?;
        if text.is_empty() {
            return None;
        }
        core::str::from_utf8(text).ok().map(str::to_owned)
    }

    /// A parameter value: `token` or `quoted-string` (RFC 9110 section 5.6.4), unescaped.
    fn value(&mut self) -> Option<String> {
        if self.peek() != Some(b'"') {
            let value = self.token()?;
            self.skip_ws();
            return matches!(self.peek(), None | Some(b',')).then_some(value);
        }
        self.advance();
        let mut out = Vec::new();
        loop {
            match self.peek()? {
                b'"' => {
                    self.advance();
                    break;
                }
                b'\\' => {
                    self.advance();
                    out.push(self.peek()?);
                    self.advance();
                }
                b => {
                    out.push(b);
                    self.advance();
                }
            }
        }
        String::from_utf8(out).ok()
    }
}

/// Per-origin nonces and clock offsets, least recently used last.
#[derive(Debug)]
struct State {
    entries: VecDeque<OriginEntry>,
    capacity: usize,
}

#[derive(Debug)]
struct OriginEntry {
    origin: String,
    nonce: Option<String>,
    offset: Option<i64>,
}

impl State {
    fn new(capacity: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            capacity,
        }
    }

    fn peek(&self, origin: &str) -> Option<&OriginEntry> {
        self.entries.iter().find(|e| e.origin == origin)
    }

    /// The entry of `origin`, moved to the front (most recently used).
    fn entry_mut(&mut self, origin: &str) -> Option<&mut OriginEntry> {
        let index = self.entries.iter().position(|e| e.origin == origin)?;
        if index != 0 {
            let entry = self.entries.remove(index)?;
            self.entries.push_front(entry);
        }
        self.entries.front_mut()
    }

    /// The entry of `origin`, created (evicting the least recently used) when missing.
    fn upsert(&mut self, origin: &str) -> Option<&mut OriginEntry> {
        if self.entry_mut(origin).is_none() {
            self.entries.push_front(OriginEntry {
                origin: origin.to_owned(),
                nonce: None,
                offset: None,
            });
            self.entries.truncate(self.capacity);
        }
        self.entries.front_mut()
    }

    fn store_nonce(&mut self, origin: &str, nonce: &str) {
        if let Some(entry) = self.upsert(origin) {
            entry.nonce = Some(nonce.to_owned());
        }
    }

    fn learn_offset(&mut self, origin: &str, measured: i64, max: u64) {
        if measured.unsigned_abs() > max {
            return;
        }
        let Some(entry) = self.upsert(origin) else {
            return;
        };
        let current = entry.offset.unwrap_or(0);
        if measured.abs_diff(current) > OFFSET_RESOLUTION.unsigned_abs() {
            entry.offset = Some(measured);
        } else if entry.offset.is_none() {
            entry.offset = Some(current);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_in_all_three_formats() {
        // RFC 9110 section 5.6.7: the same instant in IMF-fixdate, RFC 850 and asctime form
        for text in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(DATE, HeaderValue::from_static(text));
            assert_eq!(
                date_header(&headers),
                Some(UnixTime::from_secs(784_111_777)),
                "{text}"
            );
        }
        for bad in [
            "",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 31 Apr 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:49:37 GMT",
            "yesterday",
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(DATE, HeaderValue::from_static(bad));
            assert_eq!(date_header(&headers), None, "{bad}");
        }
        // two Date headers are ambiguous
        let mut headers = HeaderMap::new();
        headers.append(
            DATE,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
        );
        headers.append(
            DATE,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:38 GMT"),
        );
        assert_eq!(date_header(&headers), None);
    }

    #[test]
    fn cached_responses_are_recognized() {
        let cached = |pairs: &[(&'static str, &'static str)]| {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                headers.append(
                    HeaderName::from_static(name),
                    HeaderValue::from_static(value),
                );
            }
            from_cache(&headers)
        };
        assert!(!cached(&[]));
        assert!(cached(&[("age", "0")]));
        assert!(cached(&[("age", "not a number")]));
        assert!(cached(&[("cache-status", "ExampleCache; hit")]));
        assert!(cached(&[(
            "cache-status",
            "OriginCache; fwd=uri-miss, CDN; hit; ttl=30"
        )]));
        assert!(cached(&[("cache-status", "CDN; HIT")]));
        assert!(!cached(&[(
            "cache-status",
            "ExampleCache; fwd=uri-miss; stored"
        )]));
        assert!(!cached(&[("cache-status", "hit-cache; fwd=miss")]));
        assert!(cached(&[("x-cache", "Hit from cloudfront")]));
        assert!(cached(&[("x-cache", "MISS, HIT")]));
        assert!(!cached(&[("x-cache", "MISS")]));
    }

    #[test]
    fn challenges() {
        let parsed = parse_challenges(
            r#"Bearer realm="x", DPoP error="use_dpop_nonce", error_description="a \"nonce\", please", algs="ES256 ES384""#,
        );
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].scheme, "Bearer");
        assert_eq!(parsed[0].param("realm").as_deref(), Some("x"));
        assert_eq!(parsed[1].scheme, "DPoP");
        assert_eq!(parsed[1].param("ERROR").as_deref(), Some("use_dpop_nonce"));
        assert_eq!(
            parsed[1].param("error_description").as_deref(),
            Some("a \"nonce\", please")
        );
        assert_eq!(parsed[1].param("algs").as_deref(), Some("ES256 ES384"));

        let parsed = parse_challenges("Negotiate abc==, DPoP error=use_dpop_nonce");
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[1].param("error").as_deref(), Some("use_dpop_nonce"));

        // never panics, whatever the input
        for junk in [
            "",
            ",",
            "=",
            "==,",
            "a=",
            "a=\"",
            "a=\"\\",
            "DPoP error=\"x",
            "\"",
            "DPoP ,,, =",
            "DPoP a=b c",
            "é",
            "DPoP error=\"é\"",
        ] {
            let _ = parse_challenges(junk);
        }
    }

    #[test]
    fn server_time_in_descriptions() {
        assert_eq!(
            server_time_in("proof is too old: iat 1, server time 1700000000, earliest accepted 2"),
            Some(UnixTime::from_secs(1_700_000_000))
        );
        assert_eq!(server_time_in("server time "), None);
        assert_eq!(server_time_in("server time 99999999999999999999"), None);
        assert_eq!(server_time_in("nothing here"), None);
    }

    #[test]
    fn origins() {
        assert_eq!(
            origin_of("HTTPS://API.Example.com:443/a/b?q#f").unwrap(),
            "https://api.example.com"
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert!(origin_of("/relative").is_err());
    }

    proptest::proptest! {
        /// The parsers of server-controlled text never panic, whatever they are given.
        #[test]
        fn parsers_never_panic(text in "\\PC{0,200}", bytes in proptest::collection::vec(0u8..=255, 0..200)) {
            let _ = parse_challenges(&text);
            let _ = server_time_in(&text);
            let _ = origin_of(&text);
            let lossy = String::from_utf8_lossy(&bytes);
            let _ = parse_challenges(&lossy);
            let mut headers = HeaderMap::new();
            if let Ok(value) = HeaderValue::from_bytes(&bytes) {
                headers.insert(WWW_AUTHENTICATE, value.clone());
                headers.insert(DATE, value.clone());
                headers.insert(HeaderName::from_static(DPOP_NONCE), value);
            }
            for status in [StatusCode::OK, StatusCode::BAD_REQUEST, StatusCode::UNAUTHORIZED] {
                let _ = ResponseError::read(status, &headers, &bytes);
                let _ = single_nonce(&headers);
                let _ = date_header(&headers);
            }
        }
    }

    #[test]
    fn offsets_saturate() {
        let (a, b) = (UnixTime::from_secs(10), UnixTime::from_secs(u64::MAX));
        assert_eq!(offset(a, a), 0);
        assert_eq!(offset(b, a), i64::MAX);
        assert_eq!(offset(a, b), i64::MIN);
        assert_eq!(offset(a, UnixTime::from_secs(15)), -5);
    }
}
