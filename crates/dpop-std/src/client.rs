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

use std::sync::Arc;
use std::sync::{Mutex, MutexGuard, PoisonError};

use dpop_core::{
    AccessTokenHash, CreateError, HttpMethod, NewProof, ProofId, TargetUri, Thumbprint, UnixTime,
    UriError, consts::USE_DPOP_NONCE, crypto::ProofSigner,
};
use http::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use zeroize::Zeroizing;

use crate::clock::{Clock, SystemClock};
use crate::wire::TokenResponse;

/// The request header carrying the proof (RFC 9449 section 4.1), lower-case.
pub const DPOP: &str = "dpop";
/// The response header carrying a server nonce (RFC 9449 section 8.1), lower-case.
pub const DPOP_NONCE: &str = "dpop-nonce";

/// [`DPOP`] as a header name, parsed once.
const DPOP_HEADER: HeaderName = HeaderName::from_static(DPOP);
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
    /// The last access token sent, with its `ath` and `Authorization` value: computed once
    /// per token, not once per request.
    last_token: Mutex<Option<Arc<BoundToken>>>,
}

/// An access token with what every request that sends it needs.
struct BoundToken {
    token: Zeroizing<String>,
    ath: AccessTokenHash,
    authorization: HeaderValue,
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
            last_token: Mutex::new(None),
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
        let bound = access_token.and_then(|token| self.bound_token(token));
        let mut proof = NewProof::new(htm, htu, id, issued_at);
        if let Some(nonce) = nonce.as_deref() {
            proof = proof.with_nonce(nonce);
        }
        match (&bound, access_token) {
            (Some(bound), _) => proof = proof.with_access_token_hash(bound.ath),
            (None, Some(token)) => proof = proof.with_access_token(token),
            (None, None) => {}
        }
        let signer: &dyn ProofSigner = &*self.signer;
        let jws = proof.encode_to_string(signer).map_err(ClientError::Proof)?;

        let mut headers = HeaderMap::new();
        // From the String itself: its buffer becomes the value's, without a copy.
        let mut value = HeaderValue::try_from(jws)
            .map_err(|_| ClientError::Proof(CreateError::BufferTooSmall))?;
        value.set_sensitive(true);
        headers.insert(DPOP_HEADER, value);
        if let Some(token) = access_token {
            let value = match &bound {
                Some(bound) => bound.authorization.clone(),
                None => authorization_value(token)
                    .ok_or(ClientError::Proof(CreateError::InvalidAccessToken))?,
            };
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

    /// `token` with its `ath` and `Authorization` value, from the last request when it sent
    /// the same token; `None` for a token that is not printable ASCII, which proof creation
    /// then reports as before.
    fn bound_token(&self, token: &str) -> Option<Arc<BoundToken>> {
        let mut last = self
            .last_token
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(bound) = last.as_ref().filter(|b| b.token.as_str() == token) {
            return Some(Arc::clone(bound));
        }
        // dpop-core's access-token syntax (NewProof::with_access_token checks the same).
        if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return None;
        }
        let bound = Arc::new(BoundToken {
            token: Zeroizing::new(token.to_owned()),
            ath: AccessTokenHash::of(token),
            authorization: authorization_value(token)?,
        });
        *last = Some(Arc::clone(&bound));
        Some(bound)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is a cache: whatever a panicking thread left is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `DPoP <token>`, marked sensitive.
fn authorization_value(token: &str) -> Option<HeaderValue> {
    let text = Zeroizing::new(format!("DPoP {token}"));
    let mut value = HeaderValue::from_str(&text).ok()?;
    value.set_sensitive(true);
    Some(value)
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
            .get(&DPOP_HEADER)
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

mod challenge;
mod response;
mod state;
mod tokens;

use response::{ResponseError, date_header, from_cache, offset, server_time_in, single_nonce};
use state::{State, origin_of};

/// [`challenge::parse_challenges`] as plain tuples, for the fuzz targets.
#[cfg(feature = "__fuzzing-internals")]
pub(crate) fn fuzz_challenges(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    challenge::parse_challenges(text)
        .into_iter()
        .map(|c| (c.scheme, c.params))
        .collect()
}

#[cfg(test)]
mod tests;

pub use tokens::{TokenBindingError, TokenError, TokenSet};
