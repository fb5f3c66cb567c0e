//! Request-level DPoP verification on the `http` crate's types (RFC 9449 sections 4.3, 5, 7, 8
//! and 10), and rejections turned into HTTP responses.
//!
//! A [`Server`] holds the policy: the proof [`Verifier`], how to find the public URL of a
//! request ([`UriPolicy`]), whether plain Bearer tokens are accepted ([`BearerPolicy`]), an
//! optional [`NonceSource`] and a [`Clock`]. It is sans-IO: it reads the method, URI and
//! headers of a request and returns either an [`Accepted`] or a [`Rejection`], which renders
//! itself as a response.
//!
//! - **Token endpoint** ([`Server::verify_token_request`], then [`Server::check_grant`] once the
//!   handler has authenticated the client and looked up the grant): the first step verifies the
//!   proof and takes nothing from the replay cache, so unauthenticated requests cannot fill it;
//!   the second checks the key of a bound refresh token or the `dpop_jkt` of an authorization
//!   code ([`Grant`]), consumes the proof, and returns the only value that knows the thumbprint
//!   to bind the new tokens to ([`TokenBinding`], the `cnf.jkt`). A handler cannot issue a
//!   DPoP-bound token without stating the grant's binding.
//! - **Resource** ([`Server::resource_request`], then [`Server::verify_resource`] once the
//!   caller has decoded its token): `Authorization: DPoP <token>` with a proof whose `ath` and
//!   key match; downgrade to `Bearer` refused.
//! - **Replay** ([`Server::consume`]): verification is pure; consuming the proof in a
//!   [`ReplayCache`] is a second, explicit step, so a gateway can verify without burning the
//!   proof for the service behind it.
//!
//! # Responses
//!
//! | where | error | status | shape |
//! |---|---|---|---|
//! | token endpoint | any | 400 | JSON `{"error","error_description"}`, `Cache-Control: no-store` |
//! | resource | `invalid_request` | 400 | `WWW-Authenticate: DPoP error=..., error_description=..., algs=...` |
//! | resource | `invalid_dpop_proof`, `use_dpop_nonce`, `invalid_token` | 401 | same challenge |
//! | resource | no credentials | 401 | `WWW-Authenticate: DPoP algs="..."` (no error, RFC 6750 section 3.1) |
//! | both | dot segment in the raw path, host not allowed | 400 | `invalid_request` (JSON at the token endpoint) |
//! | both | replay cache full or unreachable | 503 | JSON `temporarily_unavailable` |
//! | resource | token store unavailable ([`Server::unavailable`]) | 503 | JSON `temporarily_unavailable`, `Retry-After` |
//! | both | per-key replay quota exceeded | 429 | JSON `temporarily_unavailable` |
//!
//! `use_dpop_nonce` also carries a fresh `DPoP-Nonce` header. With a nonce source, a proof whose
//! `iat` is outside the window but which carries a valid nonce is fresh by the nonce's own issue
//! time (RFC 9449 section 4.3 check 11); without a nonce it gets `use_dpop_nonce`, so a client
//! with a wrong clock succeeds after one nonce round.
//!
//! # Flooding and rate limits
//!
//! Nothing before [`Server::check_grant`] (token endpoint) or [`Server::consume`] (resource)
//! stores anything, so an unauthenticated client cannot take replay-cache capacity at the token
//! endpoint. Give the token endpoint and the resources separate replay caches (as the README
//! examples do), so a flood on one cannot make the other fail closed. A deployment still needs
//! rate limiting in front of both: per client IP and per client id at the token endpoint, per
//! access token at resources, because every request costs a signature verification (about
//! 50 µs for ES256) and, at a resource, a token lookup. Server nonces do not help against
//! flooding: anyone can obtain a fresh nonce with one request, and a nonce only proves that the
//! proof is recent, not that its sender is allowed to make it. Where Bearer is allowed, the
//! resource also sends a `Bearer` challenge. Descriptions come only from this crate's own error
//! text, restricted to printable ASCII without `"` and `\`: no request byte ever reaches a
//! response header.

// dpop-std links std; naming `alloc` here keeps the workspace's no_std hygiene lints
// (`std_instead_of_alloc`) satisfied without a crate-wide `extern crate`.
extern crate alloc;

use alloc::sync::Arc;
use core::fmt;

use base64ct::{Base64UrlUnpadded, Encoding};
use dpop_core::{
    Algorithm, Expected, HttpMethod, NonceValidator, PublicJwk, TargetUri, Thumbprint, UnixTime,
    UriError, VerifiedProof, Verifier, VerifyError,
    consts::{INVALID_DPOP_PROOF, MAX_URI_LEN},
    is_valid_nonce,
};
use http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, HOST, HeaderMap, HeaderName, HeaderValue,
    RETRY_AFTER, WWW_AUTHENTICATE,
};
use http::request::Parts;
use http::{Method, Request, Response, StatusCode, Uri};

use crate::clock::{Clock, SystemClock};
use crate::nonce::{NonceRequest, NonceSource};
use crate::replay::{ReplayCache, ReplayError, ReplayKey, expiry_for};
use crate::telemetry::{Facts, Telemetry};
use crate::wire::{Confirmation, ErrorBody, TokenType};

/// The request header carrying the proof (RFC 9449 section 4.1), lower-case.
pub const DPOP: &str = "dpop";
/// The response header carrying a server nonce (RFC 9449 section 8.1), lower-case.
pub const DPOP_NONCE: &str = "dpop-nonce";

/// `invalid_request` (RFC 6749 section 5.2, RFC 6750 section 3.1).
pub const INVALID_REQUEST: &str = "invalid_request";
/// `invalid_token` (RFC 6750 section 3.1).
pub const INVALID_TOKEN: &str = "invalid_token";
/// `invalid_grant` (RFC 6749 section 5.2).
pub const INVALID_GRANT: &str = "invalid_grant";
/// `temporarily_unavailable` (RFC 6749 section 4.1.2.1), sent when the replay cache cannot
/// take the proof.
pub const TEMPORARILY_UNAVAILABLE: &str = "temporarily_unavailable";

/// Longest `error_description` sent; our own texts are far shorter.
const MAX_DESCRIPTION: usize = 256;

/// The parts of a request that verification reads: method, URI and headers.
///
/// Made from `&http::request::Parts`, `&http::Request<B>` or `(&Method, &Uri, &HeaderMap)`.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct RequestHead<'r> {
    /// The request method.
    pub method: &'r Method,
    /// The request target as received (origin-form or absolute-form).
    pub uri: &'r Uri,
    /// The request headers.
    pub headers: &'r HeaderMap,
}

impl<'r> RequestHead<'r> {
    /// A request head from its three parts.
    #[must_use]
    pub const fn new(method: &'r Method, uri: &'r Uri, headers: &'r HeaderMap) -> Self {
        Self {
            method,
            uri,
            headers,
        }
    }
}

impl<'r> From<&'r Parts> for RequestHead<'r> {
    fn from(parts: &'r Parts) -> Self {
        Self::new(&parts.method, &parts.uri, &parts.headers)
    }
}

impl<'r, B> From<&'r Request<B>> for RequestHead<'r> {
    fn from(request: &'r Request<B>) -> Self {
        Self::new(request.method(), request.uri(), request.headers())
    }
}

impl<'r> From<(&'r Method, &'r Uri, &'r HeaderMap)> for RequestHead<'r> {
    fn from((method, uri, headers): (&'r Method, &'r Uri, &'r HeaderMap)) -> Self {
        Self::new(method, uri, headers)
    }
}

/// An HTTP scheme for the expected `htu`.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `http`.
    Http,
    /// `https`.
    Https,
}

impl Scheme {
    /// `"http"` or `"https"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        if text.eq_ignore_ascii_case("https") {
            Some(Self::Https)
        } else if text.eq_ignore_ascii_case("http") {
            Some(Self::Http)
        } else {
            None
        }
    }
}

/// How the server finds the URL a client signed (`htu`, RFC 9449 section 4.3 check 9).
///
/// Behind a reverse proxy the server sees another URL than the client: `http://10.0.0.5:8080/v1/x`
/// for `https://api.example.com/v1/x`. This is the most common DPoP deployment failure in other
/// libraries, so the choice is explicit:
///
/// - [`UriPolicy::public_base`]: a configured public base URL plus the request path. Works
///   behind any proxy, needs no forwarded headers. `https://example.com/api` with a backend
///   that sees `/v1/x` (the proxy strips `/api`) expects `https://example.com/api/v1/x`.
/// - [`UriPolicy::from_request`]: the request's own authority (absolute-form URI, else the
///   `Host` header) with a configured scheme. For servers reached directly. The client chooses
///   the `Host`, so restrict it with [`with_allowed_hosts`](UriPolicy::with_allowed_hosts):
///   prefer `public_base`, or an allow-list.
/// - [`UriPolicy::from_trusted_proxy`]: as `from_request`, but the forwarding headers of the one
///   family the proxy sets ([`ForwardedHeaders`]: `Forwarded`, RFC 7239, or
///   `X-Forwarded-Proto`/`X-Forwarded-Host`) override scheme and host; the other family is never
///   read, since the proxy passes a client's copy of it through. Only for servers that are
///   reachable *only* through that proxy; anyone else can forge them. The last value is used:
///   the one added by the proxy in front of this server.
///
/// In every mode a raw request path with a dot segment (`.`, `..`, or a percent-encoded form
/// such as `%2E%2E`) is refused ([`TargetError::DotSegment`]): routers route on the raw path,
/// so normalizing it would verify a proof for `/b` on a request that reaches `/a/{x}/b`.
/// [`with_backend_prefix`](UriPolicy::with_backend_prefix) strips a prefix the proxy adds.
///
/// ```
/// use dpop_std::server::{Scheme, UriPolicy};
/// let behind_proxy = UriPolicy::public_base("https://example.com/api")?;
/// let direct = UriPolicy::from_request(Scheme::Https).with_allowed_hosts(&["api.example.com"])?;
/// // the proxy maps https://gw.example/svc2/* to http://backend/my-api/*
/// let rewritten = UriPolicy::public_base("https://gw.example/svc2")?.with_backend_prefix("/my-api")?;
/// # let _ = (behind_proxy, direct, rewritten);
/// # Ok::<(), dpop_std::server::ConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UriPolicy {
    source: Source,
    /// Normalized, starting with `/`, no trailing `/`.
    backend_prefix: Option<String>,
    /// Canonical `scheme://authority` of every allowed host, under both schemes.
    allowed_hosts: Option<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Source {
    /// Canonical base URL without trailing `/`.
    PublicBase(String),
    Request {
        scheme: Scheme,
        forwarded: Option<ForwardedHeaders>,
    },
}

/// Which forwarding headers a trusted proxy sets ([`UriPolicy::from_trusted_proxy`]). Only that
/// family is read: a proxy that adds `X-Forwarded-*` usually passes a client-sent `Forwarded`
/// through untouched, and the other way round.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ForwardedHeaders {
    /// `Forwarded` (RFC 7239): `proto` and `host` of its last element.
    Forwarded,
    /// `X-Forwarded-Proto` and `X-Forwarded-Host`, last values (cloud load balancers, nginx).
    XForwarded,
}

impl UriPolicy {
    /// The public base URL clients use, such as `https://api.example.com` or
    /// `https://example.com/api`; the expected `htu` is this plus the request path (a trailing
    /// `/` of the base is ignored). Forwarded headers are never read.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidPublicBase`] unless `url` is an absolute `http`/`https` URL
    /// without userinfo, query or fragment.
    pub fn public_base(url: &str) -> Result<Self, ConfigError> {
        TargetUri::parse_claim(url).map_err(ConfigError::InvalidPublicBase)?;
        let canonical = canonical_string(url).map_err(ConfigError::InvalidPublicBase)?;
        let base = canonical.trim_end_matches('/').to_owned();
        Ok(Self {
            source: Source::PublicBase(base),
            backend_prefix: None,
            allowed_hosts: None,
        })
    }

    /// The request's own authority (absolute-form URI, else the single `Host` header) with
    /// `scheme`. Forwarded headers are ignored.
    ///
    /// The client chooses the `Host`: add [`with_allowed_hosts`](Self::with_allowed_hosts), or
    /// use [`public_base`](Self::public_base), unless any host reaching this server is fine.
    #[must_use]
    pub const fn from_request(scheme: Scheme) -> Self {
        Self {
            source: Source::Request {
                scheme,
                forwarded: None,
            },
            backend_prefix: None,
            allowed_hosts: None,
        }
    }

    /// As [`from_request`](Self::from_request), but the forwarding headers of `headers` (and
    /// only those) override the scheme and the authority: the last `Forwarded` element's
    /// `proto` and `host` (RFC 7239), or the last `X-Forwarded-Proto` and `X-Forwarded-Host`
    /// values.
    ///
    /// Use it only when every request comes through a proxy that sets or overwrites the named
    /// headers: a client reaching the server directly can forge them. `X-Forwarded-Port` is not
    /// read; a non-default public port belongs in the forwarded host (`host:port`).
    #[must_use]
    pub const fn from_trusted_proxy(default_scheme: Scheme, headers: ForwardedHeaders) -> Self {
        Self {
            source: Source::Request {
                scheme: default_scheme,
                forwarded: Some(headers),
            },
            backend_prefix: None,
            allowed_hosts: None,
        }
    }

    /// Accepts only requests for these hosts (`host` or `host:port`, compared after
    /// canonicalization: case-insensitive, default port ignored); a request for any other host
    /// is `invalid_request` ([`TargetError::HostNotAllowed`]). Applies to the authority taken
    /// from the request or from trusted forwarding headers; a [`public_base`](Self::public_base)
    /// never reads the host, so there it changes nothing.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidAllowedHost`] for an entry that is not a valid `host[:port]`, and
    /// for an empty list.
    pub fn with_allowed_hosts(mut self, hosts: &[&str]) -> Result<Self, ConfigError> {
        if hosts.is_empty() {
            return Err(ConfigError::InvalidAllowedHost);
        }
        let mut allowed = Vec::with_capacity(hosts.len() * 2);
        for host in hosts {
            if !is_authority(host) {
                return Err(ConfigError::InvalidAllowedHost);
            }
            for scheme in [Scheme::Http, Scheme::Https] {
                let url = canonical_string(&format!("{}://{host}/", scheme.as_str()))
                    .map_err(|_| ConfigError::InvalidAllowedHost)?;
                allowed.push(url.trim_end_matches('/').to_owned());
            }
        }
        self.allowed_hosts = Some(allowed);
        Ok(self)
    }

    /// Strips `prefix` from the request path before it is appended: for a proxy that maps
    /// public `/svc2/x` to backend `/my-api/x`, use the base `https://gw/svc2` and the prefix
    /// `/my-api`. A request outside the prefix is rejected
    /// ([`TargetError::OutsideBackendPrefix`]).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidBackendPrefix`] unless `prefix` is an absolute path (`/...`)
    /// without query or fragment.
    pub fn with_backend_prefix(mut self, prefix: &str) -> Result<Self, ConfigError> {
        if !prefix.starts_with('/') || prefix.contains(['?', '#']) {
            return Err(ConfigError::InvalidBackendPrefix);
        }
        let normalized = normalize_path(prefix).map_err(|_| ConfigError::InvalidBackendPrefix)?;
        let trimmed = normalized.trim_end_matches('/');
        self.backend_prefix = (!trimmed.is_empty()).then(|| trimmed.to_owned());
        Ok(self)
    }

    /// The canonical `htu` this policy expects for `request`.
    ///
    /// # Errors
    ///
    /// A [`TargetError`] when no valid URL can be built.
    pub fn target_uri<'r>(
        &self,
        request: impl Into<RequestHead<'r>>,
    ) -> Result<String, TargetError> {
        self.target(&request.into())
    }

    fn target(&self, head: &RequestHead<'_>) -> Result<String, TargetError> {
        check_raw_path(head.uri)?;
        let raw_path = match head.uri.path() {
            "" if head.uri.authority().is_some() && head.uri.scheme().is_some() => "/",
            p if p.starts_with('/') => p,
            _ => return Err(TargetError::UnsupportedTarget),
        };
        let normalized = normalize_path(raw_path).map_err(TargetError::Uri)?;
        let path = match &self.backend_prefix {
            None => normalized.as_str(),
            Some(prefix) => match normalized.strip_prefix(prefix.as_str()) {
                Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
                _ => return Err(TargetError::OutsideBackendPrefix),
            },
        };
        let full = match &self.source {
            Source::PublicBase(base) => format!("{base}{path}"),
            Source::Request { scheme, forwarded } => {
                let forwarded = match forwarded {
                    Some(family) => read_forwarded(head.headers, *family)?,
                    None => Forwarded::default(),
                };
                let scheme = forwarded.scheme.unwrap_or(*scheme);
                let authority = match forwarded.host {
                    Some(host) => host,
                    None => request_authority(head)?,
                };
                format!("{}://{authority}{path}", scheme.as_str())
            }
        };
        let canonical = canonical_string(&full).map_err(|e| match e {
            UriError::EmptyHost
            | UriError::InvalidHost
            | UriError::InvalidPort
            | UriError::UserInfo => TargetError::InvalidHost,
            other => TargetError::Uri(other),
        })?;
        if let (Source::Request { .. }, Some(allowed)) = (&self.source, &self.allowed_hosts) {
            // `scheme://authority` of the canonical form: up to the path's first `/`.
            let origin_end = canonical
                .find("://")
                .and_then(|at| canonical[at + 3..].find('/').map(|end| at + 3 + end))
                .unwrap_or(canonical.len());
            let origin = canonical.get(..origin_end).unwrap_or_default();
            if !allowed.iter().any(|a| a == origin) {
                return Err(TargetError::HostNotAllowed);
            }
        }
        Ok(canonical)
    }
}

/// Whether plain `Bearer` tokens (not DPoP-bound) are accepted (RFC 9449 section 7.2).
///
/// At a resource, `Allow` accepts `Authorization: Bearer` for tokens without `cnf.jkt` (a bound
/// token sent as Bearer is refused either way) and adds a `Bearer` challenge to 401 responses.
/// At the token endpoint, `Allow` lets a request without a `DPoP` header through, to be issued
/// a Bearer token, unless its grant is bound to a key.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum BearerPolicy {
    /// Accept unbound Bearer tokens next to DPoP.
    Allow,
    /// Require DPoP everywhere (the default).
    #[default]
    Refuse,
}

/// What the token request redeems, and the key it is already bound to, if any: the handler
/// states it in [`Server::check_grant`], the only way to the key to bind new tokens to.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grant<'a> {
    /// `authorization_code`. `dpop_jkt` is the `dpop_jkt` parameter of the authorization
    /// request the code was issued for (RFC 9449 section 10): the proof must be signed by that
    /// key, else `invalid_grant`.
    AuthorizationCode {
        /// The `dpop_jkt` the code was issued for.
        dpop_jkt: Option<&'a Thumbprint>,
    },
    /// Any other grant (client credentials, device code, token exchange, ...): no prior key.
    /// Never for `refresh_token` or `authorization_code`, whose binding must be checked.
    Other,
    /// `refresh_token`. `bound_key` is the key a public client's refresh token is bound to
    /// (RFC 9449 section 5): the proof must be signed by it, else `invalid_grant`. `None` for
    /// a refresh token that is not bound (confidential clients, whose refresh tokens are
    /// sender-constrained by client authentication), which may move to a new key.
    ///
    /// Bound refresh tokens need no rotation: rotation exists to limit the replay of a
    /// *bearer* refresh token, but every refresh with a bound token needs a fresh proof signed
    /// by the bound private key, so a stolen refresh token alone is useless.
    RefreshToken {
        /// The key the refresh token is bound to.
        bound_key: Option<&'a Thumbprint>,
    },
}

/// Which endpoint a result belongs to; it decides the response shape.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// A protected resource: 401 with `WWW-Authenticate`.
    Resource,
    /// The token endpoint: 400 with a JSON body.
    Token,
}

/// The request-level DPoP policy of a token endpoint or resource server.
///
/// See the [module docs](self) and the crate README for a complete example.
#[derive(Clone)]
pub struct Server<'a> {
    verifier: Verifier<'a>,
    uri: UriPolicy,
    bearer: BearerPolicy,
    nonces: Option<Arc<dyn NonceSource>>,
    clock: Arc<dyn Clock>,
    challenge: Arc<ChallengeParams>,
    pub(crate) telemetry: Telemetry,
}

/// What every challenge of one server carries.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ChallengeParams {
    /// The accepted algorithms, space-separated.
    algs: String,
    realm: Option<String>,
    bearer: bool,
}

impl fmt::Debug for Server<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("verifier", &self.verifier)
            .field("uri", &self.uri)
            .field("bearer", &self.bearer)
            .field("nonces", &self.nonces)
            .field("realm", &self.challenge.realm)
            .finish_non_exhaustive()
    }
}

impl<'a> Server<'a> {
    /// A server verifying proofs with `verifier` against the URLs of `uri`; Bearer refused,
    /// no nonces, the system clock.
    pub fn new(verifier: Verifier<'a>, uri: UriPolicy) -> Self {
        let algs = verifier
            .accepted()
            .iter()
            .map(|a| a.algorithm().name())
            .collect::<Vec<_>>()
            .join(" ");
        Self {
            verifier,
            uri,
            bearer: BearerPolicy::default(),
            nonces: None,
            clock: Arc::new(SystemClock),
            challenge: Arc::new(ChallengeParams {
                algs,
                realm: None,
                bearer: false,
            }),
            telemetry: Telemetry::default(),
        }
    }

    /// Sets the [`BearerPolicy`].
    #[must_use]
    pub fn with_bearer(mut self, policy: BearerPolicy) -> Self {
        self.bearer = policy;
        Arc::make_mut(&mut self.challenge).bearer = policy == BearerPolicy::Allow;
        self
    }

    /// Requires a server nonce in every proof (RFC 9449 section 8 at the token endpoint,
    /// section 9 at a resource). Missing, stale or forged nonces are answered with
    /// `use_dpop_nonce` and a fresh nonce from `nonces`.
    #[must_use]
    pub fn with_nonces(mut self, nonces: Arc<dyn NonceSource>) -> Self {
        self.nonces = Some(nonces);
        self
    }

    /// Reads time from `clock` instead of the system clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Adds `realm="..."` to every challenge (RFC 7235 section 2.2).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidRealm`] unless `realm` is printable ASCII without `"` and `\`.
    pub fn with_realm(mut self, realm: &str) -> Result<Self, ConfigError> {
        if !realm
            .bytes()
            .all(|b| matches!(b, b' '..=b'~') && b != b'"' && b != b'\\')
        {
            return Err(ConfigError::InvalidRealm);
        }
        Arc::make_mut(&mut self.challenge).realm = Some(realm.to_owned());
        Ok(self)
    }

    /// The proof verifier.
    #[must_use]
    pub const fn verifier(&self) -> &Verifier<'a> {
        &self.verifier
    }

    /// The accepted algorithms as sent in `algs`, such as `"ES256 ES384 ES512"`.
    #[must_use]
    pub fn algs(&self) -> &str {
        &self.challenge.algs
    }

    /// The canonical `htu` expected for `request`: log it when clients report `htu`
    /// mismatches behind a proxy.
    ///
    /// # Errors
    ///
    /// A [`TargetError`] when no valid URL can be built.
    pub fn target_uri<'r>(
        &self,
        request: impl Into<RequestHead<'r>>,
    ) -> Result<String, TargetError> {
        self.uri.target(&request.into())
    }

    /// Verifies a token request (RFC 9449 section 5), the first of two steps. Nothing is
    /// remembered and nothing is bound yet: authenticate the client and look up the grant, then
    /// call [`check_grant`](Self::check_grant), which consumes the proof and returns the key to
    /// bind the new tokens to. A request the handler turns away (wrong client secret, unknown
    /// code) thus never takes replay-cache capacity.
    ///
    /// Without a `DPoP` header, the request passes only under [`BearerPolicy::Allow`]; whether
    /// its grant allows that is decided by `check_grant`. A raw path with a dot segment is
    /// refused before the proof is looked at.
    ///
    /// # Errors
    ///
    /// A [`Rejection`] shaped for the token endpoint (status 400, JSON body).
    pub fn verify_token_request<'r>(
        &self,
        request: impl Into<RequestHead<'r>>,
    ) -> Result<TokenRequest, Rejection> {
        let head = request.into();
        let endpoint = Endpoint::Token;
        check_raw_path(head.uri).map_err(|e| self.reject(endpoint, Reason::Target(e)))?;
        let proof = at_most_one(head.headers, DPOP)
            .map_err(|()| self.reject(endpoint, Reason::MultipleProofs))?;
        at_most_one(head.headers, AUTHORIZATION.as_str())
            .map_err(|()| self.reject(endpoint, Reason::MultipleAuthorizations))?;
        let Some(proof) = proof else {
            if self.bearer == BearerPolicy::Refuse {
                return Err(self.reject(endpoint, Reason::MissingProof));
            }
            return Ok(TokenRequest {
                accepted: Accepted::bearer(endpoint, self.clock.now()),
            });
        };
        let accepted = self.verify_proof(endpoint, &head, proof, None, None)?;
        Ok(TokenRequest { accepted })
    }

    /// The second step at the token endpoint, once the client is authenticated and the grant
    /// found: checks that the proof key is the one `grant` is bound to (a refresh token's key,
    /// RFC 9449 section 5; an authorization code's `dpop_jkt`, section 10), consumes the proof
    /// in `cache` (RFC 9449 section 11.1), and returns the binding for the new tokens.
    ///
    /// Use a replay cache of its own for the token endpoint, not the resources' one, so that a
    /// flood of token requests cannot make resource requests fail closed.
    ///
    /// # Errors
    ///
    /// A [`Rejection`] for the token endpoint: `invalid_grant` when the proof key is not the
    /// grant's, `invalid_dpop_proof` when a bound grant comes without a proof or the proof was
    /// already used, `temporarily_unavailable` (503 or 429) when the cache cannot take it.
    pub async fn check_grant<C: ReplayCache + ?Sized>(
        &self,
        cache: &C,
        request: TokenRequest,
        grant: Grant<'_>,
    ) -> Result<TokenBinding, Rejection> {
        let accepted = request.accepted;
        let binding = match grant {
            Grant::AuthorizationCode { dpop_jkt } => {
                dpop_jkt.map(|key| (key, Reason::AuthorizationCodeKeyMismatch))
            }
            Grant::Other => None,
            Grant::RefreshToken { bound_key } => {
                bound_key.map(|key| (key, Reason::RefreshTokenKeyMismatch))
            }
        };
        match (binding, accepted.proof()) {
            (Some(_), None) => return Err(self.reject(Endpoint::Token, Reason::MissingProof)),
            (Some((required, mismatch)), Some(proof)) if !required.ct_eq(&proof.thumbprint) => {
                let facts = Facts {
                    verified: Some(proof),
                    ..Facts::default()
                };
                let htu = Some(proof.htu.clone());
                return Err(self.reject_with(Endpoint::Token, mismatch, facts, htu));
            }
            _ => {}
        }
        self.consume(cache, &accepted).await?;
        Ok(TokenBinding { accepted })
    }

    /// Reads the credentials of a resource request: exactly one `Authorization` header with
    /// the `DPoP` or `Bearer` scheme (case-insensitive) and a token68 credential (RFC 7235
    /// section 2.1), and at most one `DPoP` header. A raw path with a dot segment is refused
    /// first. Decode the returned
    /// [`access_token`](ResourceRequest::access_token), then call
    /// [`verify_resource`](Self::verify_resource).
    ///
    /// # Errors
    ///
    /// A [`Rejection`]: [`Reason::MissingCredentials`] (401, bare challenge) without
    /// `Authorization`; [`Reason::UnsupportedScheme`] (401, bare challenge) for another scheme;
    /// `invalid_request` (400) for a dot segment, repeated headers or a credential that is not
    /// token68.
    pub fn resource_request<'r>(
        &self,
        request: impl Into<RequestHead<'r>>,
    ) -> Result<ResourceRequest<'r>, Rejection> {
        let head = request.into();
        let endpoint = Endpoint::Resource;
        check_raw_path(head.uri).map_err(|e| self.reject(endpoint, Reason::Target(e)))?;
        let proof = at_most_one(head.headers, DPOP)
            .map_err(|()| self.reject(endpoint, Reason::MultipleProofs))?;
        let authorization = at_most_one(head.headers, AUTHORIZATION.as_str())
            .map_err(|()| self.reject(endpoint, Reason::MultipleAuthorizations))?
            .ok_or_else(|| self.reject(endpoint, Reason::MissingCredentials))?;
        let (scheme, token) =
            parse_authorization(authorization).map_err(|reason| self.reject(endpoint, reason))?;
        Ok(ResourceRequest {
            head,
            scheme,
            token,
            proof,
        })
    }

    /// Verifies a resource request (RFC 9449 section 7) once the caller has decoded its access
    /// token: `bound_key` is the token's `cnf.jkt`, `None` for an unbound token.
    ///
    /// | scheme | token | result |
    /// |---|---|---|
    /// | `DPoP` | bound | proof required, with matching `ath` and key |
    /// | `DPoP` | unbound | `invalid_token` |
    /// | `Bearer` | bound | `invalid_token` (downgrade, RFC 9449 section 7.2) |
    /// | `Bearer` | unbound | accepted under [`BearerPolicy::Allow`] (a `DPoP` header is then ignored: the token is not bound, so it proves nothing), else `invalid_token` |
    ///
    /// Nothing is remembered: call [`consume`](Self::consume) next.
    ///
    /// # Errors
    ///
    /// A [`Rejection`] shaped for a resource (401 with `WWW-Authenticate`).
    pub fn verify_resource(
        &self,
        request: &ResourceRequest<'_>,
        bound_key: Option<&Thumbprint>,
    ) -> Result<Accepted, Rejection> {
        let endpoint = Endpoint::Resource;
        match (request.scheme, bound_key) {
            (TokenType::Dpop, Some(key)) => {
                let proof = request
                    .proof
                    .ok_or_else(|| self.reject(endpoint, Reason::MissingProof))?;
                self.verify_proof(
                    endpoint,
                    &request.head,
                    proof,
                    Some(request.token),
                    Some(key),
                )
            }
            (TokenType::Dpop, None) => Err(self.reject(endpoint, Reason::UnboundToken)),
            (TokenType::Bearer, Some(_)) => Err(self.reject(endpoint, Reason::BoundTokenAsBearer)),
            (TokenType::Bearer, None) => {
                if self.bearer == BearerPolicy::Allow {
                    Ok(Accepted::bearer(endpoint, self.clock.now()))
                } else {
                    Err(self.reject(endpoint, Reason::BearerRefused))
                }
            }
        }
    }

    /// Consumes the proof of `accepted` in `cache` (RFC 9449 section 11.1), so the same proof
    /// is refused next time. A Bearer result has no proof and passes.
    ///
    /// The entry lives until `iat + max_age + leeway + 1`, or with a nonce that vouched for
    /// freshness until `max(iat + max_age + leeway, nonce_accepted_until) + 1` ([`expiry_for`]).
    ///
    /// # Errors
    ///
    /// A [`Rejection`] for the endpoint of `accepted`: a replay is `invalid_dpop_proof`
    /// ("proof was already used"); a full or unreachable cache fails closed with 503, a per-key
    /// quota with 429 (`temporarily_unavailable`): the request is never accepted.
    pub async fn consume<C: ReplayCache + ?Sized>(
        &self,
        cache: &C,
        accepted: &Accepted,
    ) -> Result<(), Rejection> {
        let Some(proof) = &accepted.proof else {
            self.telemetry.accepted();
            return Ok(());
        };
        cache
            .remember(
                &proof.replay_key,
                &proof.thumbprint,
                proof.replay_expires_at,
                accepted.verified_at,
            )
            .await
            .map_err(|e| {
                let facts = Facts {
                    verified: Some(proof),
                    ..Facts::default()
                };
                let htu = Some(proof.htu.clone());
                self.reject_with(accepted.endpoint, Reason::Replay(e), facts, htu)
            })?;
        self.telemetry.accepted();
        Ok(())
    }

    /// The bare challenge of a resource (401, `WWW-Authenticate: DPoP algs="..."`, no error),
    /// for requests the caller turns away before any token is read.
    pub fn challenge(&self) -> Rejection {
        self.reject(Endpoint::Resource, Reason::MissingCredentials)
    }

    /// An `invalid_token` rejection at a resource, with this server's challenge, for the
    /// caller's own token checks (unknown, expired, revoked). The description is a `'static`
    /// string so that it cannot come from the request.
    pub fn reject_token(&self, description: &'static str) -> Rejection {
        self.reject(Endpoint::Resource, Reason::InvalidToken { description })
    }

    /// A `503 temporarily_unavailable` rejection at a resource with `Retry-After:
    /// retry_after_secs`, for when the caller cannot decide about the token right now
    /// (introspection endpoint down, database timeout). Unlike `invalid_token`, it does not tell
    /// the client to throw its token away.
    pub fn unavailable(&self, retry_after_secs: u32) -> Rejection {
        self.reject(
            Endpoint::Resource,
            Reason::TokenUnavailable {
                retry_after: retry_after_secs,
            },
        )
    }

    fn reject(&self, endpoint: Endpoint, reason: Reason) -> Rejection {
        self.reject_with(endpoint, reason, Facts::default(), None)
    }

    /// Every rejection is made here: counted, and logged with the `tracing` feature.
    fn reject_with(
        &self,
        endpoint: Endpoint,
        reason: Reason,
        facts: Facts<'_>,
        expected_htu: Option<String>,
    ) -> Rejection {
        let rejection = Rejection {
            reason,
            endpoint,
            nonce: None,
            expected_htu,
            challenge: Arc::clone(&self.challenge),
        };
        self.telemetry.rejected(&rejection, facts, self.clock.now());
        rejection
    }

    fn verify_proof(
        &self,
        endpoint: Endpoint,
        head: &RequestHead<'_>,
        proof: &HeaderValue,
        access_token: Option<&str>,
        bound_key: Option<&Thumbprint>,
    ) -> Result<Accepted, Rejection> {
        let now = self.clock.now();
        // The URL first: a request for the wrong host or path is refused before its proof is
        // looked at.
        let htu = self
            .uri
            .target(head)
            .map_err(|e| self.reject(endpoint, Reason::Target(e)))?;
        let proof = proof
            .to_str()
            .map_err(|_| self.reject(endpoint, Reason::InvalidProofHeader))?;
        let method = HttpMethod::parse(head.method.as_str())
            .map_err(|_| self.reject(endpoint, Reason::Target(TargetError::InvalidMethod)))?;
        let uri = TargetUri::parse(&htu)
            .map_err(|e| self.reject(endpoint, Reason::Target(TargetError::Uri(e))))?;
        let mut expected = Expected::new(method, uri);
        if let Some(nonces) = &self.nonces {
            let validator: &dyn NonceValidator = nonces.as_ref();
            expected = expected.with_nonce_validator(validator);
        }
        if let Some(token) = access_token {
            expected = expected.with_access_token(token);
        }
        if let Some(key) = bound_key {
            expected = expected.with_bound_key(key);
        }
        match self.verifier.verify(proof, &expected, now) {
            Ok(verified) => Ok(self.accept(endpoint, &verified, &htu, now)),
            Err(error) => {
                let facts = Facts {
                    unverified: Some(proof),
                    ..Facts::default()
                };
                let mut rejection =
                    self.reject_with(endpoint, Reason::Proof(error), facts, Some(htu.clone()));
                if error.is_nonce_error()
                    && let Some(nonces) = &self.nonces
                {
                    // dpop-core checks the nonce after the signature (its check 11 after
                    // check 7), so the header key here is authentic.
                    let thumbprint = header_thumbprint(proof);
                    rejection.nonce = issue_nonce(nonces.as_ref(), thumbprint.as_ref(), &htu, now);
                }
                Err(rejection)
            }
        }
    }

    fn accept(
        &self,
        endpoint: Endpoint,
        verified: &VerifiedProof<'_>,
        htu: &str,
        now: UnixTime,
    ) -> Accepted {
        let fresh_nonce = match (&self.nonces, verified.nonce()) {
            (Some(nonces), Some(presented)) if nonces.should_refresh(presented, now) => {
                issue_nonce(nonces.as_ref(), Some(verified.thumbprint()), htu, now)
            }
            _ => None,
        };
        Accepted {
            endpoint,
            proof: Some(AcceptedProof {
                thumbprint: *verified.thumbprint(),
                algorithm: verified.algorithm(),
                id: verified.id().to_owned(),
                issued_at: verified.issued_at(),
                nonce: verified.nonce().map(str::to_owned),
                htu: htu.to_owned(),
                replay_key: *verified.replay_key(),
                replay_expires_at: expiry_for(&self.verifier, verified, now),
            }),
            fresh_nonce,
            verified_at: now,
        }
    }
}

/// A verified token request whose proof is not consumed yet, from
/// [`Server::verify_token_request`]. It does not reveal the proof key: the thumbprint to bind
/// new tokens to comes only from [`Server::check_grant`], which checks the grant's binding.
#[must_use]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRequest {
    accepted: Accepted,
}

impl TokenRequest {
    /// True when the request carries a verified proof; false for a Bearer request (allowed by
    /// [`BearerPolicy::Allow`]).
    #[must_use]
    pub const fn has_proof(&self) -> bool {
        self.accepted.proof.is_some()
    }

    /// The canonical `htu` the proof was verified against, for logs.
    #[must_use]
    pub fn htu(&self) -> Option<&str> {
        self.accepted.proof().map(AcceptedProof::htu)
    }

    /// The server time of verification.
    #[must_use]
    pub const fn verified_at(&self) -> UnixTime {
        self.accepted.verified_at
    }

    /// Headers for any response to this request, a rejection by the handler included:
    /// `DPoP-Nonce` when a fresh nonce is due.
    #[must_use]
    pub fn headers(&self) -> HeaderMap {
        self.accepted.headers()
    }
}

/// What new tokens are bound to, from [`Server::check_grant`]: the grant's binding was checked
/// and the proof consumed.
#[must_use]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenBinding {
    accepted: Accepted,
}

impl TokenBinding {
    /// The proof key's thumbprint: the `cnf.jkt` to bind the new tokens to; `None` for Bearer.
    #[must_use]
    pub fn thumbprint(&self) -> Option<&Thumbprint> {
        self.accepted.thumbprint()
    }

    /// The `cnf` claim for tokens bound to the proof key.
    #[must_use]
    pub fn confirmation(&self) -> Option<Confirmation> {
        self.accepted.confirmation()
    }

    /// `DPoP` with a proof, else `Bearer`: the `token_type` to issue.
    #[must_use]
    pub const fn token_type(&self) -> TokenType {
        self.accepted.token_type()
    }

    /// The verified and consumed proof; `None` for Bearer.
    #[must_use]
    pub const fn proof(&self) -> Option<&AcceptedProof> {
        self.accepted.proof()
    }

    /// Everything verification returned.
    pub const fn accepted(&self) -> &Accepted {
        &self.accepted
    }

    /// Headers to add to the token response: `DPoP-Nonce` when a fresh nonce is due.
    #[must_use]
    pub fn headers(&self) -> HeaderMap {
        self.accepted.headers()
    }

    /// Adds [`headers`](Self::headers) to `headers`.
    pub fn insert_headers(&self, headers: &mut HeaderMap) {
        self.accepted.insert_headers(headers);
    }
}

/// The credentials of a resource request, read by [`Server::resource_request`].
#[derive(Clone, Copy, Debug)]
pub struct ResourceRequest<'r> {
    head: RequestHead<'r>,
    scheme: TokenType,
    token: &'r str,
    proof: Option<&'r HeaderValue>,
}

impl<'r> ResourceRequest<'r> {
    /// The access token (token68 syntax checked), for the caller to decode or introspect.
    #[must_use]
    pub const fn access_token(&self) -> &'r str {
        self.token
    }

    /// The `Authorization` scheme: `DPoP` or `Bearer`.
    #[must_use]
    pub const fn scheme(&self) -> TokenType {
        self.scheme
    }

    /// True when a `DPoP` header is present.
    #[must_use]
    pub const fn has_proof(&self) -> bool {
        self.proof.is_some()
    }

    /// The request.
    #[must_use]
    pub const fn head(&self) -> &RequestHead<'r> {
        &self.head
    }
}

/// A request that passed verification: with a DPoP proof, or as Bearer where allowed.
///
/// Consume it with [`Server::consume`], then add [`headers`](Self::headers) (a fresh
/// `DPoP-Nonce`, when due) to the response.
#[must_use]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    endpoint: Endpoint,
    proof: Option<AcceptedProof>,
    fresh_nonce: Option<String>,
    verified_at: UnixTime,
}

impl Accepted {
    const fn bearer(endpoint: Endpoint, now: UnixTime) -> Self {
        Self {
            endpoint,
            proof: None,
            fresh_nonce: None,
            verified_at: now,
        }
    }

    /// The endpoint this was verified for.
    pub const fn endpoint(&self) -> Endpoint {
        self.endpoint
    }

    /// The verified proof; `None` for a Bearer request.
    pub const fn proof(&self) -> Option<&AcceptedProof> {
        self.proof.as_ref()
    }

    /// The proof key's thumbprint: the `cnf.jkt` to bind new tokens to at the token endpoint.
    pub fn thumbprint(&self) -> Option<&Thumbprint> {
        self.proof.as_ref().map(|p| &p.thumbprint)
    }

    /// `DPoP` with a proof, else `Bearer`: the `token_type` to issue.
    pub const fn token_type(&self) -> TokenType {
        if self.proof.is_some() {
            TokenType::Dpop
        } else {
            TokenType::Bearer
        }
    }

    /// The `cnf` claim for a token bound to the proof key.
    pub fn confirmation(&self) -> Option<Confirmation> {
        self.thumbprint().copied().map(Confirmation::new)
    }

    /// A fresh nonce to send, because the presented one is about to expire
    /// ([`NonceSource::should_refresh`]).
    pub fn fresh_nonce(&self) -> Option<&str> {
        self.fresh_nonce.as_deref()
    }

    /// The server time of verification.
    pub const fn verified_at(&self) -> UnixTime {
        self.verified_at
    }

    /// Headers to add to the successful response: `DPoP-Nonce` when a fresh nonce is due.
    pub fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        self.insert_headers(&mut headers);
        headers
    }

    /// Adds [`headers`](Self::headers) to `headers`.
    pub fn insert_headers(&self, headers: &mut HeaderMap) {
        if let Some(value) = self
            .fresh_nonce
            .as_deref()
            .and_then(|n| HeaderValue::from_str(n).ok())
        {
            headers.insert(HeaderName::from_static(DPOP_NONCE), value);
        }
    }
}

/// What was verified in a proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptedProof {
    thumbprint: Thumbprint,
    algorithm: Algorithm,
    id: String,
    issued_at: UnixTime,
    nonce: Option<String>,
    htu: String,
    replay_key: ReplayKey,
    replay_expires_at: UnixTime,
}

impl AcceptedProof {
    /// The key's RFC 7638 thumbprint.
    #[must_use]
    pub const fn thumbprint(&self) -> &Thumbprint {
        &self.thumbprint
    }

    /// The signature algorithm.
    #[must_use]
    pub const fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The `jti`.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The `iat`.
    #[must_use]
    pub const fn issued_at(&self) -> UnixTime {
        self.issued_at
    }

    /// The `nonce`, when the proof had one.
    #[must_use]
    pub fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }

    /// The canonical target URI the proof was verified against.
    #[must_use]
    pub fn htu(&self) -> &str {
        &self.htu
    }

    /// The replay-cache key.
    #[must_use]
    pub const fn replay_key(&self) -> &ReplayKey {
        &self.replay_key
    }

    /// When the replay entry may be forgotten: `iat + max_age + leeway + 1`, or with a nonce
    /// that vouched for freshness `max(iat + max_age + leeway, nonce_accepted_until) + 1`
    /// ([`expiry_for`]; entries are live while `now < expires_at`).
    #[must_use]
    pub const fn replay_expires_at(&self) -> UnixTime {
        self.replay_expires_at
    }
}

/// Why a request was rejected. Variants are listed alphabetically.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The proof key is not the `dpop_jkt` the authorization code was issued for (RFC 9449
    /// section 10): `invalid_grant`.
    AuthorizationCodeKeyMismatch,
    /// A Bearer token where [`BearerPolicy::Refuse`] applies: `invalid_token`.
    BearerRefused,
    /// A DPoP-bound token presented with the `Bearer` scheme (RFC 9449 section 7.2):
    /// `invalid_token`.
    BoundTokenAsBearer,
    /// The `DPoP` header is not visible ASCII: `invalid_dpop_proof`.
    InvalidProofHeader,
    /// The caller rejected the token ([`Server::reject_token`]): `invalid_token`.
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
    /// The caller cannot decide about the token right now ([`Server::unavailable`]): 503
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

/// Why the expected `htu` cannot be built from a request.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetError {
    /// The raw request path has a dot segment (`.`, `..`, or a percent-encoded form of them).
    DotSegment,
    /// More than one `Host` header (RFC 9112 section 3.2).
    DuplicateHost,
    /// The host is not in the [allow-list](UriPolicy::with_allowed_hosts).
    HostNotAllowed,
    /// A trusted `Forwarded` / `X-Forwarded-*` header is malformed, or its protocol is not
    /// `http` or `https`.
    InvalidForwarded,
    /// The `Host` header or request authority is not a valid `host[:port]`.
    InvalidHost,
    /// The request method is not a token of at most 32 characters.
    InvalidMethod,
    /// No authority in the request URI and no `Host` header.
    MissingHost,
    /// The request path is outside the configured backend prefix.
    OutsideBackendPrefix,
    /// The request target is not a path (asterisk-form or authority-form).
    UnsupportedTarget,
    /// The resulting URL is not acceptable (too long, invalid characters, ...).
    Uri(UriError),
}

impl TargetError {
    /// A stable snake_case name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::DotSegment => "dot_segment",
            Self::DuplicateHost => "duplicate_host",
            Self::HostNotAllowed => "host_not_allowed",
            Self::InvalidForwarded => "invalid_forwarded",
            Self::InvalidHost => "invalid_host",
            Self::InvalidMethod => "invalid_method",
            Self::MissingHost => "missing_host",
            Self::OutsideBackendPrefix => "outside_backend_prefix",
            Self::UnsupportedTarget => "unsupported_target",
            Self::Uri(_) => "invalid_uri",
        }
    }
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DotSegment => f.write_str("request path contains a dot segment"),
            Self::DuplicateHost => f.write_str("more than one Host header"),
            Self::HostNotAllowed => f.write_str("request host is not served here"),
            Self::InvalidForwarded => f.write_str("invalid Forwarded or X-Forwarded-* header"),
            Self::InvalidHost => f.write_str("invalid Host header or request authority"),
            Self::InvalidMethod => f.write_str("invalid request method"),
            Self::MissingHost => f.write_str("missing Host header"),
            Self::OutsideBackendPrefix => f.write_str("request path is outside the backend prefix"),
            Self::UnsupportedTarget => f.write_str("request target is not a path"),
            Self::Uri(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl core::error::Error for TargetError {}

/// A [`Server`] or [`UriPolicy`] setting is invalid.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// An allowed host is not a valid `host[:port]`, or the list is empty.
    InvalidAllowedHost,
    /// The backend prefix is not an absolute path without query or fragment.
    InvalidBackendPrefix,
    /// The public base URL is not an absolute `http`/`https` URL without userinfo, query or
    /// fragment.
    InvalidPublicBase(UriError),
    /// The realm is not printable ASCII without `"` and `\`.
    InvalidRealm,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidAllowedHost => f.write_str("allowed host is not a valid host[:port]"),
            Self::InvalidBackendPrefix => f.write_str("backend prefix is not an absolute path"),
            Self::InvalidPublicBase(e) => write!(f, "invalid public base URL: {e}"),
            Self::InvalidRealm => f.write_str("realm must be printable ASCII without quotes"),
        }
    }
}

impl core::error::Error for ConfigError {}

/// A rejected request, ready to become a response: [`to_parts`](Self::to_parts) or
/// [`into_response`](Self::into_response).
///
/// The response never contains request bytes: descriptions are this crate's own error text
/// (which includes `iat` and server time for time errors), restricted to printable ASCII
/// without `"` and `\`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    reason: Reason,
    endpoint: Endpoint,
    nonce: Option<String>,
    expected_htu: Option<String>,
    challenge: Arc<ChallengeParams>,
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

/// `DPoP [realm="..", ][error="..", error_description="..", ]algs=".."` (RFC 9449 section 7.1).
fn dpop_challenge(params: &ChallengeParams, error: Option<(&str, &str)>) -> String {
    let mut out = String::from("DPoP ");
    if let Some(realm) = &params.realm {
        out.push_str(&format!("realm=\"{realm}\", "));
    }
    if let Some((code, description)) = error {
        out.push_str(&format!(
            "error=\"{code}\", error_description=\"{description}\", "
        ));
    }
    out.push_str(&format!("algs=\"{}\"", params.algs));
    out
}

/// `Bearer [realm=".."][, error="..", error_description=".."]` (RFC 6750 section 3); only the
/// RFC 6750 error codes are repeated here.
fn bearer_challenge(params: &ChallengeParams, error: Option<(&str, &str)>) -> String {
    let mut attributes = Vec::new();
    if let Some(realm) = &params.realm {
        attributes.push(format!("realm=\"{realm}\""));
    }
    if let Some((code, description)) = error
        && (code == INVALID_REQUEST || code == INVALID_TOKEN)
    {
        attributes.push(format!("error=\"{code}\""));
        attributes.push(format!("error_description=\"{description}\""));
    }
    if attributes.is_empty() {
        String::from("Bearer")
    } else {
        format!("Bearer {}", attributes.join(", "))
    }
}

/// Keeps printable ASCII except `"` and `\`, so the text fits a quoted-string (RFC 9110 section
/// 5.6.4) without escaping and can never end a header line or a parameter.
fn quoted_string_safe(text: &str) -> String {
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

/// The one header value named `name`, if any.
fn at_most_one<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h HeaderValue>, ()> {
    let mut values = headers.get_all(name).iter();
    let first = values.next();
    if values.next().is_some() {
        Err(())
    } else {
        Ok(first)
    }
}

/// `scheme 1*SP token68` (RFC 7235 section 2.1), scheme case-insensitive.
fn parse_authorization(value: &HeaderValue) -> Result<(TokenType, &str), Reason> {
    let text = value.to_str().map_err(|_| Reason::MalformedAuthorization)?;
    let (scheme, credentials) = match text.split_once(' ') {
        Some((scheme, rest)) => (scheme, rest.trim_start_matches(' ')),
        None => (text, ""),
    };
    let scheme = match TokenType::parse(scheme) {
        Ok(scheme) => scheme,
        Err(_) if is_token(scheme) => return Err(Reason::UnsupportedScheme),
        Err(_) => return Err(Reason::MalformedAuthorization),
    };
    if !is_token68(credentials) {
        return Err(Reason::MalformedAuthorization);
    }
    Ok((scheme, credentials))
}

/// RFC 7235 section 2.1: `token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_token68(text: &str) -> bool {
    let body = text.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// RFC 9110 section 5.6.2 `token`.
fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// `host [":" port]` characters only (RFC 3986 section 3.2.2 reg-name, IP literal, port): no
/// `/`, `?`, `#` or `@`, so the text cannot change the path or add userinfo once it is put
/// between `scheme://` and the path.
fn is_authority(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=%:[]".contains(&b))
}

/// The authority of an absolute-form target, else of the single `Host` header.
fn request_authority(head: &RequestHead<'_>) -> Result<String, TargetError> {
    if let Some(authority) = head.uri.authority() {
        let text = authority.as_str();
        return if is_authority(text) {
            Ok(text.to_owned())
        } else {
            Err(TargetError::InvalidHost)
        };
    }
    let host = at_most_one(head.headers, HOST.as_str())
        .map_err(|()| TargetError::DuplicateHost)?
        .ok_or(TargetError::MissingHost)?;
    match host.to_str() {
        Ok(text) if is_authority(text) => Ok(text.to_owned()),
        _ => Err(TargetError::InvalidHost),
    }
}

/// Scheme and host from trusted forwarding headers.
#[derive(Debug, Default, PartialEq, Eq)]
struct Forwarded {
    scheme: Option<Scheme>,
    host: Option<String>,
}

/// Reads the one header family the proxy sets: `Forwarded` (RFC 7239), or `X-Forwarded-Proto`
/// / `X-Forwarded-Host`; always the last value, the one added by the proxy in front of this
/// server. The other family is never read.
fn read_forwarded(headers: &HeaderMap, family: ForwardedHeaders) -> Result<Forwarded, TargetError> {
    if family == ForwardedHeaders::Forwarded {
        return match last_list_item(headers, "forwarded")? {
            Some(element) => parse_forwarded_element(&element),
            None => Ok(Forwarded::default()),
        };
    }
    let scheme = last_list_item(headers, "x-forwarded-proto")?
        .map(|p| Scheme::parse(&p).ok_or(TargetError::InvalidForwarded))
        .transpose()?;
    let host = last_list_item(headers, "x-forwarded-host")?
        .map(|h| {
            if is_authority(&h) {
                Ok(h)
            } else {
                Err(TargetError::InvalidForwarded)
            }
        })
        .transpose()?;
    Ok(Forwarded { scheme, host })
}

/// The last non-empty element of a comma-separated list spread over every `name` header,
/// splitting only outside quoted strings. `None` when the header is absent.
fn last_list_item(headers: &HeaderMap, name: &str) -> Result<Option<String>, TargetError> {
    let mut last = None;
    let mut present = false;
    for value in headers.get_all(name) {
        present = true;
        let text = value.to_str().map_err(|_| TargetError::InvalidForwarded)?;
        for item in split_outside_quotes(text, ',')? {
            let item = item.trim_matches([' ', '\t']);
            if !item.is_empty() {
                last = Some(item.to_owned());
            }
        }
    }
    match last {
        None if present => Err(TargetError::InvalidForwarded),
        other => Ok(other),
    }
}

/// Splits on `separator` outside quoted strings; an unterminated quote is an error.
fn split_outside_quotes(text: &str, separator: char) -> Result<Vec<&str>, TargetError> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == separator && !quoted {
            parts.push(text.get(start..i).unwrap_or_default());
            start = i + c.len_utf8();
        }
    }
    if quoted || escaped {
        return Err(TargetError::InvalidForwarded);
    }
    parts.push(text.get(start..).unwrap_or_default());
    Ok(parts)
}

/// `forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] )`, `forwarded-pair =
/// token "=" value` (RFC 7239 section 4); `proto` and `host` are read, each at most once.
fn parse_forwarded_element(element: &str) -> Result<Forwarded, TargetError> {
    let mut result = Forwarded::default();
    let mut seen_proto = false;
    for pair in split_outside_quotes(element, ';')? {
        let pair = pair.trim_matches([' ', '\t']);
        if pair.is_empty() {
            continue;
        }
        let (name, value) = pair.split_once('=').ok_or(TargetError::InvalidForwarded)?;
        if !is_token(name) {
            return Err(TargetError::InvalidForwarded);
        }
        let value = forwarded_value(value)?;
        if name.eq_ignore_ascii_case("proto") {
            if seen_proto {
                return Err(TargetError::InvalidForwarded);
            }
            seen_proto = true;
            result.scheme = Some(Scheme::parse(&value).ok_or(TargetError::InvalidForwarded)?);
        } else if name.eq_ignore_ascii_case("host") {
            if result.host.is_some() || !is_authority(&value) {
                return Err(TargetError::InvalidForwarded);
            }
            result.host = Some(value);
        }
    }
    Ok(result)
}

/// A `token` or `quoted-string` value (RFC 9110 section 5.6.4), unescaped.
fn forwarded_value(value: &str) -> Result<String, TargetError> {
    let Some(inner) = value.strip_prefix('"') else {
        // Unquoted: `host=example.com:8080` is common though `:` is not a tchar.
        return if value.is_empty() || value.contains(['"', '\\']) {
            Err(TargetError::InvalidForwarded)
        } else {
            Ok(value.to_owned())
        };
    };
    let inner = inner
        .strip_suffix('"')
        .ok_or(TargetError::InvalidForwarded)?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next().ok_or(TargetError::InvalidForwarded)?),
            '"' => return Err(TargetError::InvalidForwarded),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Refuses a raw path with a dot segment: `.` or `..`, with any of its dots written `%2E` or
/// `%2e` (RFC 3986 section 3.3). Routers route on the raw path while dpop-core's canonical form
/// removes dot segments (section 5.2.4), so the two would name different resources; strict HTTP
/// firewalls refuse such requests too.
fn check_raw_path(uri: &Uri) -> Result<(), TargetError> {
    let is_dot = |segment: &str| {
        let mut dots = 0usize;
        let mut rest = segment;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('.') {
                rest = after;
            } else if let Some(after) = rest
                .get(..3)
                .filter(|e| e.eq_ignore_ascii_case("%2e"))
                .and_then(|_| rest.get(3..))
            {
                rest = after;
            } else {
                return false;
            }
            dots += 1;
        }
        dots == 1 || dots == 2
    };
    if uri.path().split('/').any(is_dot) {
        Err(TargetError::DotSegment)
    } else {
        Ok(())
    }
}

/// The canonical form of `uri` (dpop-core's one canonicalization) as a `String`.
fn canonical_string(uri: &str) -> Result<String, UriError> {
    let mut buf = [0u8; MAX_URI_LEN];
    dpop_core::canonicalize_uri(uri, &mut buf).map(str::to_owned)
}

/// The canonical form of an absolute path: dot segments removed, unreserved escapes decoded.
fn normalize_path(path: &str) -> Result<String, UriError> {
    const ORIGIN: &str = "http://h";
    let canonical = canonical_string(&format!("{ORIGIN}{path}"))?;
    canonical
        .strip_prefix(ORIGIN)
        .map(str::to_owned)
        .ok_or(UriError::NotAbsolute)
}

/// The thumbprint of the `jwk` in a proof's header, for binding a fresh nonce.
pub(crate) fn header_thumbprint(proof: &str) -> Option<Thumbprint> {
    let header = proof.split('.').next()?;
    let mut buf = vec![0u8; header.len()];
    let json = Base64UrlUnpadded::decode(header, &mut buf).ok()?;
    let header: serde_json::Value = serde_json::from_slice(json).ok()?;
    let jwk = serde_json::to_vec(header.get("jwk")?).ok()?;
    PublicJwk::from_json(&jwk).ok().map(|key| key.thumbprint())
}

/// A fresh nonce bound to what is known; `None` if the source returns text that is not a valid
/// nonce (RFC 9449 section 8: `1*NQCHAR`), which is never sent.
fn issue_nonce(
    nonces: &dyn NonceSource,
    thumbprint: Option<&Thumbprint>,
    htu: &str,
    now: UnixTime,
) -> Option<String> {
    let mut request = NonceRequest::new(now).with_htu(htu);
    if let Some(thumbprint) = thumbprint {
        request = request.with_thumbprint(thumbprint);
    }
    let nonce = nonces.issue(&request);
    is_valid_nonce(&nonce).then_some(nonce)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head_parts(uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut builder = Request::builder().method("GET").uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    fn target(
        policy: &UriPolicy,
        uri: &str,
        headers: &[(&str, &str)],
    ) -> Result<String, TargetError> {
        policy.target_uri(&head_parts(uri, headers))
    }

    #[test]
    fn token68_syntax() {
        for ok in ["abc", "a.b-c_d~e+f/g", "abc=", "abc==", "A1", "eyJ.eyJ.sig"] {
            assert!(is_token68(ok), "{ok}");
        }
        for bad in [
            "", "=", "==", "a=b", "a b", "a,b", "a\"b", "a\\b", "ä", "a\tb", "a;",
        ] {
            assert!(!is_token68(bad), "{bad}");
        }
    }

    #[test]
    fn authorization_parsing() {
        fn parse(text: &str) -> Result<(TokenType, String), Reason> {
            let value = HeaderValue::from_str(text).map_err(|_| Reason::MalformedAuthorization)?;
            parse_authorization(&value).map(|(scheme, token)| (scheme, token.to_owned()))
        }
        assert_eq!(parse("DPoP abc"), Ok((TokenType::Dpop, "abc".into())));
        assert_eq!(parse("dpop  abc="), Ok((TokenType::Dpop, "abc=".into())));
        assert_eq!(parse("BEARER x.y"), Ok((TokenType::Bearer, "x.y".into())));
        assert_eq!(parse("Basic dXNlcjpwYXNz"), Err(Reason::UnsupportedScheme));
        assert_eq!(parse("Basic"), Err(Reason::UnsupportedScheme));
        for bad in [
            "DPoP", "DPoP ", "DPoP a b", "DPoP a\"", " DPoP a", "DPoP\ta", "DP(oP a",
        ] {
            assert_eq!(parse(bad), Err(Reason::MalformedAuthorization), "{bad}");
        }
        let obs = HeaderValue::from_bytes(b"DPoP \xff").unwrap();
        assert_eq!(
            parse_authorization(&obs),
            Err(Reason::MalformedAuthorization)
        );
    }

    #[test]
    fn quoted_string_safe_strips_specials() {
        assert_eq!(quoted_string_safe("a\"b\\c\r\nd\u{e9}"), "a'b/c??d?");
        assert_eq!(quoted_string_safe(&"x".repeat(1000)).len(), MAX_DESCRIPTION);
    }

    #[test]
    fn public_base_with_and_without_prefix() {
        let root = UriPolicy::public_base("https://api.example.com").unwrap();
        assert_eq!(
            target(&root, "http://10.0.0.5:8080/v1/x?q=1", &[]).unwrap(),
            "https://api.example.com/v1/x"
        );
        assert_eq!(
            target(&root, "/v1/x", &[("host", "10.0.0.5")]).unwrap(),
            "https://api.example.com/v1/x"
        );
        let prefixed = UriPolicy::public_base("https://Example.com/api/").unwrap();
        assert_eq!(
            target(&prefixed, "/v1/x", &[]).unwrap(),
            "https://example.com/api/v1/x"
        );
        assert_eq!(
            target(&prefixed, "/", &[]).unwrap(),
            "https://example.com/api/"
        );
        // dot segments in the raw path are refused, so they cannot climb out of the base path
        assert_eq!(
            target(&prefixed, "/../x", &[]),
            Err(TargetError::DotSegment)
        );
        assert_eq!(
            target(&prefixed, "/a/%2E%2E/%2e%2E/x", &[]),
            Err(TargetError::DotSegment)
        );
        // forwarded headers are never read with a public base
        let spoofed = [
            ("x-forwarded-host", "evil.example"),
            ("forwarded", "host=evil.example"),
        ];
        assert_eq!(
            target(&root, "/v1/x", &spoofed).unwrap(),
            "https://api.example.com/v1/x"
        );
    }

    #[test]
    fn backend_prefix() {
        let policy = UriPolicy::public_base("https://gw.example/svc2")
            .unwrap()
            .with_backend_prefix("/my-api/")
            .unwrap();
        assert_eq!(
            target(&policy, "/my-api/x", &[]).unwrap(),
            "https://gw.example/svc2/x"
        );
        assert_eq!(
            target(&policy, "/my-api", &[]).unwrap(),
            "https://gw.example/svc2"
        );
        assert_eq!(
            target(&policy, "/my-apix", &[]),
            Err(TargetError::OutsideBackendPrefix)
        );
        assert_eq!(
            target(&policy, "/other", &[]),
            Err(TargetError::OutsideBackendPrefix)
        );
        assert_eq!(
            target(&policy, "/my-api/../other", &[]),
            Err(TargetError::DotSegment)
        );
        assert!(
            UriPolicy::from_request(Scheme::Https)
                .with_backend_prefix("nope")
                .is_err()
        );
        assert!(
            UriPolicy::from_request(Scheme::Https)
                .with_backend_prefix("/a?b")
                .is_err()
        );
        assert_eq!(
            UriPolicy::from_request(Scheme::Https)
                .with_backend_prefix("/")
                .unwrap(),
            UriPolicy::from_request(Scheme::Https)
        );
    }

    #[test]
    fn invalid_public_bases() {
        for bad in [
            "/relative",
            "ftp://x/",
            "https://u@x/",
            "https://x/?q",
            "https://x/#f",
            "",
        ] {
            assert!(
                matches!(
                    UriPolicy::public_base(bad),
                    Err(ConfigError::InvalidPublicBase(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn from_request_uses_host_or_absolute_authority() {
        let policy = UriPolicy::from_request(Scheme::Https);
        assert_eq!(
            target(&policy, "/a", &[("host", "API.example.com:443")]).unwrap(),
            "https://api.example.com/a"
        );
        assert_eq!(
            target(&policy, "https://abs.example:8443/a", &[("host", "other")]).unwrap(),
            "https://abs.example:8443/a"
        );
        assert_eq!(target(&policy, "/a", &[]), Err(TargetError::MissingHost));
        assert_eq!(
            target(
                &policy,
                "/a",
                &[("host", "a.example"), ("host", "b.example")]
            ),
            Err(TargetError::DuplicateHost)
        );
        for bad in [
            "a.example/x",
            "a.example?x",
            "a.example#x",
            "user@a.example",
            "",
            "a b",
            ":443",
            "a:99999",
            "[::1",
        ] {
            assert_eq!(
                target(&policy, "/a", &[("host", bad)]),
                Err(TargetError::InvalidHost),
                "{bad:?}"
            );
        }
        // forwarded headers are ignored unless trusted
        let headers = [
            ("host", "internal:8080"),
            ("x-forwarded-host", "evil.example"),
            ("x-forwarded-proto", "http"),
        ];
        assert_eq!(
            target(&policy, "/a", &headers).unwrap(),
            "https://internal:8080/a"
        );
        assert_eq!(
            target(&policy, "*", &[("host", "a")]),
            Err(TargetError::UnsupportedTarget)
        );
    }

    #[test]
    fn trusted_proxy_headers() {
        let x = UriPolicy::from_trusted_proxy(Scheme::Http, ForwardedHeaders::XForwarded);
        let f = UriPolicy::from_trusted_proxy(Scheme::Http, ForwardedHeaders::Forwarded);
        let tx = |headers: &[(&str, &str)]| target(&x, "/a", headers);
        let tf = |headers: &[(&str, &str)]| target(&f, "/a", headers);
        assert_eq!(tx(&[("host", "internal")]).unwrap(), "http://internal/a");
        assert_eq!(tf(&[("host", "internal")]).unwrap(), "http://internal/a");
        assert_eq!(
            tx(&[
                ("host", "internal"),
                ("x-forwarded-proto", "https"),
                ("x-forwarded-host", "api.example")
            ])
            .unwrap(),
            "https://api.example/a"
        );
        // the last value is the one our proxy added
        assert_eq!(
            tx(&[
                ("host", "i"),
                ("x-forwarded-host", "forged.example, api.example"),
                ("x-forwarded-proto", "http, HTTPS")
            ])
            .unwrap(),
            "https://api.example/a"
        );
        assert_eq!(
            tf(&[
                ("host", "i"),
                ("forwarded", "for=1.2.3.4;host=forged;proto=http"),
                (
                    "forwarded",
                    "for=\"[::1]:80\";proto=https;host=\"api.example:8443\""
                )
            ])
            .unwrap(),
            "https://api.example:8443/a"
        );
        assert_eq!(
            tf(&[
                ("host", "i"),
                ("forwarded", "for=a, proto=https;host=api.example")
            ])
            .unwrap(),
            "https://api.example/a"
        );
        // A client-sent Forwarded passed through by an X-Forwarded-* proxy is never read, and
        // the other way round.
        let spoofed = [
            ("host", "i"),
            ("forwarded", "proto=https;host=evil.example"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "api.example"),
        ];
        assert_eq!(tx(&spoofed).unwrap(), "https://api.example/a");
        let spoofed = [
            ("host", "i"),
            ("forwarded", "proto=https;host=api.example"),
            ("x-forwarded-host", "evil.example"),
        ];
        assert_eq!(tf(&spoofed).unwrap(), "https://api.example/a");
        // ... and a malformed header of the other family is not an error either
        assert_eq!(
            tx(&[("host", "i"), ("forwarded", "novalue")]).unwrap(),
            "http://i/a"
        );
        for bad in [
            ("forwarded", "proto=ftp"),
            ("forwarded", "host=a.example/x"),
            ("forwarded", "host=\"a.example"),
            ("forwarded", "proto=https;proto=http"),
            ("forwarded", "host=a;host=b"),
            ("forwarded", "novalue"),
            ("forwarded", ""),
        ] {
            assert_eq!(
                tf(&[("host", "i"), bad]),
                Err(TargetError::InvalidForwarded),
                "{bad:?}"
            );
        }
        for bad in [
            ("x-forwarded-proto", "gopher"),
            ("x-forwarded-host", "a@b"),
            ("x-forwarded-host", " , "),
        ] {
            assert_eq!(
                tx(&[("host", "i"), bad]),
                Err(TargetError::InvalidForwarded),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn raw_dot_segments_are_refused_in_every_form() {
        let policy = UriPolicy::public_base("https://api.example").unwrap();
        for path in [
            "/.",
            "/..",
            "/a/./b",
            "/a/../b",
            "/a/%2E/b",
            "/a/%2e/b",
            "/a/%2E%2E/b",
            "/a/%2e%2e/b",
            "/a/.%2E/b",
            "/a/%2E./b",
            "/a/.%2e/b",
            "/a/%2e./b",
            "/a/%2E%2e",
            "/a/..",
            "/a/.",
            "/./a",
            "/a/%2E%2E/b?q=1",
        ] {
            assert_eq!(
                target(&policy, path, &[]),
                Err(TargetError::DotSegment),
                "{path}"
            );
        }
        for path in [
            "/a/.../b",
            "/a/.b",
            "/a/b.",
            "/a/%2E%2E%2E",
            "/a/%252E",
            "/.well-known/x",
        ] {
            assert!(target(&policy, path, &[]).is_ok(), "{path}");
        }
    }

    #[test]
    fn allowed_hosts_restrict_the_request_authority() {
        let policy = UriPolicy::from_request(Scheme::Https)
            .with_allowed_hosts(&["API.example.com", "api.example.com:8443"])
            .unwrap();
        assert_eq!(
            target(&policy, "/a", &[("host", "api.example.com")]).unwrap(),
            "https://api.example.com/a"
        );
        assert_eq!(
            target(&policy, "/a", &[("host", "api.EXAMPLE.com:443")]).unwrap(),
            "https://api.example.com/a"
        );
        assert_eq!(
            target(&policy, "/a", &[("host", "api.example.com:8443")]).unwrap(),
            "https://api.example.com:8443/a"
        );
        for host in [
            "evil.example",
            "api.example.com:8080",
            "api.example.com.evil",
        ] {
            assert_eq!(
                target(&policy, "/a", &[("host", host)]),
                Err(TargetError::HostNotAllowed),
                "{host}"
            );
        }
        assert_eq!(
            target(
                &policy,
                "https://evil.example/a",
                &[("host", "api.example.com")]
            ),
            Err(TargetError::HostNotAllowed)
        );
        // forwarded hosts too
        let proxied = UriPolicy::from_trusted_proxy(Scheme::Http, ForwardedHeaders::XForwarded)
            .with_allowed_hosts(&["api.example.com"])
            .unwrap();
        assert_eq!(
            target(
                &proxied,
                "/a",
                &[("host", "i"), ("x-forwarded-host", "evil.example")]
            ),
            Err(TargetError::HostNotAllowed)
        );
        assert_eq!(
            target(
                &proxied,
                "/a",
                &[("host", "i"), ("x-forwarded-host", "api.example.com")]
            )
            .unwrap(),
            "http://api.example.com/a"
        );
        for bad in [&[][..], &["a/b"], &["user@h"], &[""]] {
            assert_eq!(
                UriPolicy::from_request(Scheme::Https).with_allowed_hosts(bad),
                Err(ConfigError::InvalidAllowedHost),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn quoted_values_are_unescaped() {
        assert_eq!(forwarded_value("\"a\\\"b\"").unwrap(), "a\"b");
        assert_eq!(
            forwarded_value("\"a\\").unwrap_err(),
            TargetError::InvalidForwarded
        );
        assert_eq!(
            split_outside_quotes("a,\"b,c\",d", ',').unwrap(),
            ["a", "\"b,c\"", "d"]
        );
        assert!(split_outside_quotes("\"a", ',').is_err());
    }

    #[test]
    fn header_thumbprint_reads_the_jwk() {
        use dpop_core::{Algorithm, NewProof, ProofId, SigningKey};

        let key = SigningKey::from_bytes(Algorithm::Es256, &[7u8; 32]).unwrap();
        let uri = TargetUri::parse("https://a.example/").unwrap();
        let proof = NewProof::new(
            HttpMethod::GET,
            uri,
            ProofId::new("x").unwrap(),
            UnixTime::EPOCH,
        )
        .encode_to_string(&key)
        .unwrap();
        assert_eq!(
            header_thumbprint(&proof),
            Some(key.public_jwk().thumbprint())
        );
        assert_eq!(header_thumbprint(""), None);
        assert_eq!(header_thumbprint("!!!.x.y"), None);
        assert_eq!(header_thumbprint("e30.x.y"), None); // {}
    }
}
