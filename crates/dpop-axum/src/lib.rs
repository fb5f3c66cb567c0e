#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

use core::convert::Infallible;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use std::boxed::Box;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use dpop_core::Thumbprint;
use dpop_std::replay::ReplayCache;
use dpop_std::server::{
    Accepted, AcceptedProof, Grant, Rejection, Server, TokenBinding, TokenRequest,
};
use dpop_std::wire::{Confirmation, TokenResponse, TokenType};
use http::request::Parts;
use http::{HeaderMap, Request, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

pub use dpop_std;

#[cfg(feature = "introspection")]
#[cfg_attr(docsrs, doc(cfg(feature = "introspection")))]
pub mod introspection;
#[cfg(feature = "jwt")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwt")))]
pub mod jwt;
#[cfg(any(feature = "jwt", feature = "introspection"))]
mod remote;

/// Internals exposed to the fuzz targets only (feature `__fuzzing-internals`, which turns on
/// `introspection`); not a public API, no semver guarantees.
#[cfg(feature = "__fuzzing-internals")]
#[doc(hidden)]
pub mod __fuzzing {
    use dpop_core::Thumbprint;
    use serde_json::{Map, Value};

    use crate::introspection::{IntrospectedToken, IntrospectionResolver};

    /// A JSON object body; `None` when it is not one (the resolvers' `Malformed`).
    #[must_use]
    pub fn json_object(body: &[u8]) -> Option<Map<String, Value>> {
        crate::remote::json_object(body).ok()
    }

    /// The key a token is bound to, from its `cnf` claim.
    ///
    /// # Errors
    ///
    /// The resolvers' description of a malformed or non-DPoP `cnf`.
    pub fn bound_key(claims: &Map<String, Value>) -> Result<Option<Thumbprint>, &'static str> {
        crate::remote::bound_key(claims)
    }

    /// A `NumericDate` as whole seconds.
    #[must_use]
    pub fn numeric_date(value: Option<&Value>) -> Option<u64> {
        crate::remote::numeric_date(value)
    }

    /// `aud` as a list.
    #[must_use]
    pub fn audiences(claims: &Map<String, Value>) -> Vec<String> {
        crate::remote::audiences(claims)
    }

    /// `url` if it is `https`, or `http` on a loopback host.
    #[must_use]
    pub fn secure_url(url: &str) -> Option<reqwest::Url> {
        crate::remote::secure_url(url)
    }

    /// An introspection response body as `resolver` reads it: `None` when the body is not a
    /// JSON object (503), else the token's binding and claims or the reason it is invalid.
    #[must_use]
    #[allow(clippy::type_complexity)]
    pub fn introspection_response(
        resolver: &IntrospectionResolver,
        body: &[u8],
    ) -> Option<Result<(Option<Thumbprint>, IntrospectedToken), &'static str>> {
        let claims = crate::remote::json_object(body).ok()?;
        Some(crate::introspection::check_response(resolver, claims))
    }

    /// A JWKS entry as the JWT resolver reads it: `None` when it is skipped, else its `kid`,
    /// its `alg` (jsonwebtoken's name) and its family (`"RSA"` or `"EC"`).
    #[cfg(feature = "jwt")]
    #[must_use]
    #[allow(clippy::type_complexity)]
    pub fn jwks_key(entry: &Value) -> Option<(Option<String>, Option<String>, &'static str)> {
        crate::jwt::key_summary(entry)
    }
}

/// A tower [`Layer`] that verifies the DPoP proof of every request with dpop-std's
/// [`Server`] and hands the result to the handler through the request extensions. Rejected
/// requests never reach the handler: they get dpop-std's response
/// ([`Rejection::into_response`]) unchanged.
///
/// - [`DpopLayer::resource`]: a protected resource. `Authorization: DPoP <token>` with a proof
///   whose `ath` and key match the token ([`TokenResolver`] says which key); a bound token sent
///   as `Bearer` is refused. The proof is consumed in the replay cache before the handler runs;
///   the handler gets a [`Dpop`] and the token's claims.
/// - [`DpopLayer::token_endpoint`]: a token endpoint. The layer verifies the proof but consumes
///   nothing; the handler gets a [`DpopToken`], authenticates the client, looks up the grant, and
///   calls [`DpopToken::check_grant`], which checks the grant's binding, consumes the proof and
///   returns the [`TokenBinding`]: the only way to the key to bind new tokens to. Requests the
///   handler turns away (a wrong client secret) take no replay-cache capacity.
///
/// Give the two layers separate replay caches, so that a flood of token requests cannot make
/// resource requests fail closed. Rate limiting (per IP and client id at the token endpoint,
/// per token at resources) still belongs in front of both: every request costs a signature
/// check. Server nonces do not help there, since anyone gets a fresh nonce with one request.
///
/// A fresh `DPoP-Nonce`, when the server's nonce source says one is due, is added to the
/// handler's response.
///
/// Install it with [`Router::route_layer`](axum::Router::route_layer), not `layer`: then it
/// runs only for the routes it protects, and a request for an unknown path stays `404 Not
/// Found` instead of being asked for credentials.
///
/// In a handler, [`DpopRejection`] is the error type: dpop-std's [`Rejection`] converts into
/// it (`?`), and it is an axum response. [`TokenReply`] is the successful token response.
pub struct DpopLayer<C, R = NoTokens> {
    shared: Arc<Shared<C, R>>,
}

struct Shared<C, R> {
    server: Server,
    cache: Arc<C>,
    resolver: Option<R>,
}

impl<C: ReplayCache + 'static> DpopLayer<C, NoTokens> {
    /// A layer for a token endpoint: verifies the proof with [`Server::verify_token_request`]
    /// and gives the handler a [`DpopToken`]; [`DpopToken::check_grant`] consumes the proof in
    /// `cache` (use one for the token endpoint alone). Without a `DPoP` header the request
    /// passes as Bearer only under
    /// [`BearerPolicy::Allow`](dpop_std::server::BearerPolicy::Allow).
    pub fn token_endpoint(server: Server, cache: Arc<C>) -> Self {
        Self {
            shared: Arc::new(Shared {
                server,
                cache,
                resolver: None,
            }),
        }
    }
}

impl<C: ReplayCache + 'static, R: TokenResolver> DpopLayer<C, R> {
    /// A layer for protected resources: reads the credentials
    /// ([`Server::resource_request`]), asks `resolver` what the access token is bound to,
    /// verifies ([`Server::verify_resource`]) and consumes the proof in `cache`.
    pub fn resource(server: Server, cache: Arc<C>, resolver: R) -> Self {
        Self {
            shared: Arc::new(Shared {
                server,
                cache,
                resolver: Some(resolver),
            }),
        }
    }
}

impl<C, R> Clone for DpopLayer<C, R> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<C, R> fmt::Debug for DpopLayer<C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopLayer")
            .field("server", &self.shared.server)
            .field("resource", &self.shared.resolver.is_some())
            .finish_non_exhaustive()
    }
}

impl<S, C, R> Layer<S> for DpopLayer<C, R> {
    type Service = DpopService<S, C, R>;

    fn layer(&self, inner: S) -> Self::Service {
        DpopService {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// What an access token is bound to, and what the handler should know about it.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenStatus<T> {
    /// A DPoP-bound token: `cnf.jkt` (RFC 9449 section 6) and the token's claims.
    Bound {
        /// The thumbprint of the key the token is bound to.
        jkt: Thumbprint,
        /// Put into the request extensions for the handler (`Extension<T>`).
        claims: T,
    },
    /// A valid token that is not bound to a key (a Bearer token).
    Unbound {
        /// Put into the request extensions for the handler (`Extension<T>`).
        claims: T,
    },
    /// Unknown, expired or revoked: `401 invalid_token` with this description (a `'static`
    /// string, so that no request byte ends up in the response).
    Invalid(&'static str),
    /// The token cannot be checked right now (introspection endpoint down, database timeout):
    /// `503 temporarily_unavailable` with `Retry-After: retry_after` seconds
    /// ([`Server::unavailable`]). Unlike [`Invalid`](Self::Invalid), it does not tell the client
    /// to throw a valid token away.
    Unavailable {
        /// Seconds for `Retry-After`.
        retry_after: u32,
    },
}

/// Looks up an access token: its binding and claims. Implemented for closures
/// `Fn(&str) -> TokenStatus<T>`; for asynchronous lookups (introspection, a database), wrap an
/// async function or a closure returning a future in [`resolve_async`].
pub trait TokenResolver: Send + Sync + 'static {
    /// What the handler gets in the request extensions.
    type Claims: Clone + Send + Sync + 'static;

    /// The status of `access_token` (token68 syntax already checked).
    fn resolve(&self, access_token: &str)
    -> impl Future<Output = TokenStatus<Self::Claims>> + Send;
}

impl<F, T> TokenResolver for F
where
    F: Fn(&str) -> TokenStatus<T> + Send + Sync + 'static,
    T: Clone + Send + Sync + 'static,
{
    type Claims = T;

    fn resolve(&self, access_token: &str) -> impl Future<Output = TokenStatus<T>> + Send {
        core::future::ready(self(access_token))
    }
}

/// An asynchronous [`TokenResolver`] from a function of the (owned) access token returning a
/// future: an `async fn lookup(token: String) -> TokenStatus<T>`, or a closure
/// `move |token: String| async move { ... }`.
///
/// ```
/// use dpop_axum::{TokenStatus, resolve_async};
///
/// #[derive(Clone)]
/// struct User(String);
///
/// async fn introspect(token: String) -> TokenStatus<User> {
///     // (ask the authorization server; on a timeout, answer Unavailable)
///     match token.as_str() {
///         "" => TokenStatus::Unavailable { retry_after: 5 },
///         _ => TokenStatus::Invalid("unknown access token"),
///     }
/// }
/// let resolver = resolve_async(introspect);
/// # let _ = resolver;
/// let prefix = std::sync::Arc::new(String::from("user-"));
/// let closure = resolve_async(move |token: String| {
///     let prefix = prefix.clone();
///     async move { TokenStatus::Unbound { claims: User(format!("{prefix}{token}")) } }
/// });
/// # let _ = closure;
/// ```
pub const fn resolve_async<F, Fut, T>(lookup: F) -> AsyncResolver<F>
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = TokenStatus<T>> + Send,
    T: Clone + Send + Sync + 'static,
{
    AsyncResolver(lookup)
}

/// The [`TokenResolver`] made by [`resolve_async`].
#[derive(Clone, Copy)]
pub struct AsyncResolver<F>(F);

impl<F> fmt::Debug for AsyncResolver<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AsyncResolver")
    }
}

impl<F, Fut, T> TokenResolver for AsyncResolver<F>
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = TokenStatus<T>> + Send,
    T: Clone + Send + Sync + 'static,
{
    type Claims = T;

    fn resolve(&self, access_token: &str) -> impl Future<Output = TokenStatus<T>> + Send {
        (self.0)(access_token.to_owned())
    }
}

/// The resolver of a token endpoint layer, which reads no access tokens.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default)]
pub struct NoTokens;

impl TokenResolver for NoTokens {
    type Claims = ();

    fn resolve(&self, _: &str) -> impl Future<Output = TokenStatus<()>> + Send {
        core::future::ready(TokenStatus::Invalid("no access tokens here"))
    }
}

/// The service of a [`DpopLayer`].
pub struct DpopService<S, C, R> {
    inner: S,
    shared: Arc<Shared<C, R>>,
}

impl<S: Clone, C, R> Clone for DpopService<S, C, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S: fmt::Debug, C, R> fmt::Debug for DpopService<S, C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// The boxed future of [`DpopService`].
pub type ResponseFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl<S, C, R> Service<Request<Body>> for DpopService<S, C, R>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    C: ReplayCache + 'static,
    R: TokenResolver,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // The clone is the one that was driven to readiness (tower's usual dance).
        let ready = self.inner.clone();
        let mut inner = core::mem::replace(&mut self.inner, ready);
        let shared = Arc::clone(&self.shared);
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let headers = match shared.resolver.as_ref() {
                Some(resolver) => shared.resource(&mut parts, resolver).await,
                None => shared.token_endpoint(&mut parts),
            };
            let headers = match headers {
                Ok(headers) => headers,
                Err(rejection) => return Ok(respond(rejection)),
            };
            let mut response = inner.call(Request::from_parts(parts, body)).await?;
            // A fresh DPoP-Nonce, when due, on whatever the handler answered.
            response.headers_mut().extend(headers);
            Ok(response)
        })
    }
}

impl<C: ReplayCache + 'static, R: TokenResolver> Shared<C, R> {
    /// Verifies and consumes a resource request; the headers to add to the response.
    async fn resource(&self, parts: &mut Parts, resolver: &R) -> Result<HeaderMap, Rejection> {
        let (accepted, claims) = {
            let request = self.server.resource_request(&*parts)?;
            let (bound, claims) = match resolver.resolve(request.access_token()).await {
                TokenStatus::Bound { jkt, claims } => (Some(jkt), claims),
                TokenStatus::Unbound { claims } => (None, claims),
                TokenStatus::Invalid(description) => {
                    return Err(self.server.reject_token(description));
                }
                TokenStatus::Unavailable { retry_after } => {
                    return Err(self.server.unavailable(retry_after));
                }
            };
            (
                self.server.verify_resource(&request, bound.as_ref())?,
                claims,
            )
        };
        self.server.consume(&*self.cache, &accepted).await?;
        let headers = accepted.headers();
        parts.extensions.insert(claims);
        parts.extensions.insert(Dpop { accepted });
        Ok(headers)
    }

    /// Verifies a token request without consuming it; the handler gets a [`DpopToken`].
    fn token_endpoint(&self, parts: &mut Parts) -> Result<HeaderMap, Rejection> {
        let request = self.server.verify_token_request(&*parts)?;
        let headers = request.headers();
        parts.extensions.insert(DpopToken {
            request,
            grants: Arc::new(GrantCheck {
                server: self.server.clone(),
                cache: Arc::clone(&self.cache),
            }),
        });
        Ok(headers)
    }
}

/// The token endpoint's server and replay cache, behind a trait object so that [`DpopToken`]
/// needs no type parameter.
struct GrantCheck<C> {
    server: Server,
    cache: Arc<C>,
}

/// The boxed future of [`CheckGrant::check`].
type CheckFuture<'a> = Pin<Box<dyn Future<Output = Result<TokenBinding, Rejection>> + Send + 'a>>;

trait CheckGrant: Send + Sync {
    fn check<'a>(&'a self, request: TokenRequest, grant: Grant<'a>) -> CheckFuture<'a>;
}

impl<C: ReplayCache + 'static> CheckGrant for GrantCheck<C> {
    fn check<'a>(&'a self, request: TokenRequest, grant: Grant<'a>) -> CheckFuture<'a> {
        Box::pin(self.server.check_grant(&*self.cache, request, grant))
    }
}

/// The verified, not yet consumed token request, from the request extensions: the extractor
/// for handlers behind [`DpopLayer::token_endpoint`].
///
/// It does not give the proof key: authenticate the client, look up the grant, then call
/// [`check_grant`](Self::check_grant), whose [`TokenBinding`] has the thumbprint to bind the
/// new tokens to.
///
/// ```
/// use axum::response::{IntoResponse, Response};
/// use dpop_axum::DpopToken;
/// use dpop_std::server::Grant;
///
/// async fn refresh(dpop: DpopToken) -> Response {
///     // (authenticate the client; look up the refresh token and the key it is bound to)
///     let bound_key = None;
///     let binding = match dpop.check_grant(Grant::RefreshToken { bound_key }).await {
///         Ok(binding) => binding,
///         Err(rejection) => return rejection.into_response(), // e.g. 400 invalid_grant
///     };
///     format!("{:?}", binding.thumbprint()).into_response()
/// }
/// # let _ = refresh;
/// ```
#[derive(Clone)]
pub struct DpopToken {
    request: TokenRequest,
    grants: Arc<dyn CheckGrant>,
}

impl fmt::Debug for DpopToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopToken")
            .field("request", &self.request)
            .finish_non_exhaustive()
    }
}

impl DpopToken {
    /// The verified request: whether it has a proof, its `htu`.
    pub const fn request(&self) -> &TokenRequest {
        &self.request
    }

    /// Checks that the proof key is the one `grant` is bound to (a refresh token's key, RFC
    /// 9449 section 5; an authorization code's `dpop_jkt`, section 10), consumes the proof in
    /// the layer's replay cache, and returns the binding for the new tokens
    /// ([`Server::check_grant`]). Call it after authenticating the client.
    ///
    /// # Errors
    ///
    /// A [`DpopRejection::Rejected`] with dpop-std's response: `400 invalid_grant` for another
    /// key, `invalid_dpop_proof` for a missing or replayed proof, 503/429 when the cache cannot
    /// take it.
    pub async fn check_grant(self, grant: Grant<'_>) -> Result<TokenBinding, DpopRejection> {
        self.grants
            .check(self.request, grant)
            .await
            .map_err(DpopRejection::from)
    }
}

/// A successful token response as an axum response: dpop-std's
/// [`TokenResponse::to_response`] (200, JSON, `Cache-Control: no-store`) plus the headers of
/// the [`TokenBinding`] (a fresh `DPoP-Nonce` when one is due). A body that cannot be written
/// answers 500 instead of panicking.
///
/// ```
/// use axum::response::{IntoResponse, Response};
/// use dpop_axum::{DpopRejection, DpopToken, TokenReply};
/// use dpop_std::server::Grant;
/// use dpop_std::wire::TokenResponse;
///
/// async fn token(dpop: DpopToken) -> Result<TokenReply, DpopRejection> {
///     // (authenticate the client, find the grant)
///     let binding = dpop.check_grant(Grant::Other).await?;
///     let body = TokenResponse::new("at-1", binding.token_type(), 300, "read");
///     Ok(TokenReply::new(&binding, body))
/// }
/// # let _ = token;
/// ```
#[derive(Debug)]
pub struct TokenReply {
    body: TokenResponse,
    headers: HeaderMap,
}

impl TokenReply {
    /// The reply to a token request whose grant `binding` was checked.
    #[must_use]
    pub fn new(binding: &TokenBinding, body: TokenResponse) -> Self {
        Self {
            body,
            headers: binding.headers(),
        }
    }
}

impl IntoResponse for TokenReply {
    fn into_response(self) -> Response {
        match self.body.to_response() {
            Ok(response) => {
                let mut response = response.map(Body::from);
                response.headers_mut().extend(self.headers);
                response
            }
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for DpopToken {
    type Rejection = DpopRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .remove::<Self>()
            .ok_or(DpopRejection::MissingLayer)
    }
}

/// dpop-std's response, as an axum response. The [`Rejection`] rides along in the response
/// extensions, so that an access-log middleware outside the layer can log its reason
/// (`response.extensions().get::<Rejection>()`).
fn respond(rejection: Rejection) -> Response {
    let mut response = rejection.clone().into_response().map(Body::from);
    response.extensions_mut().insert(rejection);
    response
}

/// The verified and consumed DPoP request, from the request extensions: the extractor for
/// handlers behind [`DpopLayer::resource`]. (At a token endpoint, use [`DpopToken`].)
///
/// ```
/// use dpop_axum::Dpop;
///
/// async fn handler(dpop: Dpop) -> String {
///     match dpop.thumbprint() {
///         Some(jkt) => format!("bound to {jkt}"),
///         None => "Bearer".to_owned(),
///     }
/// }
/// # let _ = handler;
/// ```
#[derive(Clone, Debug)]
pub struct Dpop {
    accepted: Accepted,
}

impl Dpop {
    /// The verified proof: thumbprint, `jti`, `iat`, algorithm, `htu`, nonce. `None` for a
    /// Bearer request.
    #[must_use]
    pub const fn proof(&self) -> Option<&AcceptedProof> {
        self.accepted.proof()
    }

    /// The proof key's thumbprint, equal to the access token's `cnf.jkt`.
    #[must_use]
    pub fn thumbprint(&self) -> Option<&Thumbprint> {
        self.accepted.thumbprint()
    }

    /// `DPoP` with a proof, else `Bearer`.
    #[must_use]
    pub const fn token_type(&self) -> TokenType {
        self.accepted.token_type()
    }

    /// The `cnf` claim of the proof key.
    #[must_use]
    pub fn confirmation(&self) -> Option<Confirmation> {
        self.accepted.confirmation()
    }

    /// Everything dpop-std returned.
    pub const fn accepted(&self) -> &Accepted {
        &self.accepted
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Dpop {
    type Rejection = DpopRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Self>()
            .cloned()
            .ok_or(DpopRejection::MissingLayer)
    }
}

/// A request the handler must turn away.
#[non_exhaustive]
#[derive(Debug)]
pub enum DpopRejection {
    /// No [`DpopLayer`] of the right kind ran for this route (a server bug): 500.
    MissingLayer,
    /// dpop-std's rejection, answered with its exact response.
    Rejected(Box<Rejection>),
}

impl fmt::Display for DpopRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingLayer => f.write_str("no DPoP layer on this route"),
            Self::Rejected(rejection) => fmt::Display::fmt(rejection, f),
        }
    }
}

impl core::error::Error for DpopRejection {}

/// A dpop-std [`Rejection`] made in a handler ([`Server::reject_token`],
/// [`Server::unavailable`], ...) becomes a `DpopRejection`, so `?` turns it into its response.
impl From<Rejection> for DpopRejection {
    fn from(rejection: Rejection) -> Self {
        Self::Rejected(Box::new(rejection))
    }
}

impl IntoResponse for DpopRejection {
    fn into_response(self) -> Response {
        match self {
            Self::MissingLayer => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "DPoP layer missing on this route",
            )
                .into_response(),
            Self::Rejected(rejection) => respond(*rejection),
        }
    }
}
