#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

use core::convert::Infallible;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
// A std crate; naming `alloc` keeps the workspace's no_std hygiene lints happy.
extern crate alloc;

use alloc::boxed::Box;
use alloc::sync::Arc;

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use dpop_core::thumbprint::Thumbprint;
use dpop_std::replay::ReplayCache;
use dpop_std::server::{Accepted, AcceptedProof, Grant, Rejection, RequestHead, Server};
use dpop_std::wire::{Confirmation, TokenType};
use http::request::Parts;
use http::{HeaderMap, Method, Request, StatusCode, Uri};
use tower_layer::Layer;
use tower_service::Service;

pub use dpop_std;

/// A tower [`Layer`] that verifies the DPoP proof of every request with dpop-std's
/// [`Server`], consumes it in a [`ReplayCache`], and puts a [`Dpop`] (and, at a resource, the
/// token's claims) into the request extensions. Rejected requests never reach the handler:
/// they get dpop-std's response ([`Rejection::into_response`]) unchanged.
///
/// - [`DpopLayer::resource`]: a protected resource. `Authorization: DPoP <token>` with a proof
///   whose `ath` and key match the token ([`TokenResolver`] says which key); a bound token sent
///   as `Bearer` is refused.
/// - [`DpopLayer::token_endpoint`]: a token endpoint. The handler binds the new token to
///   [`Dpop::thumbprint`], and checks a refresh token's key with [`Dpop::check_grant`].
///
/// A fresh `DPoP-Nonce`, when the server's nonce source says one is due, is added to the
/// handler's response.
pub struct DpopLayer<C, R = NoTokens> {
    shared: Arc<Shared<C, R>>,
}

struct Shared<C, R> {
    server: Server<'static>,
    cache: Arc<C>,
    resolver: Option<R>,
}

impl<C: ReplayCache + 'static> DpopLayer<C, NoTokens> {
    /// A layer for a token endpoint: verifies the proof with
    /// [`Server::verify_token_request`] (grant [`Grant::Other`]; see [`Dpop::check_grant`] for
    /// bound grants) and consumes it in `cache`. Without a `DPoP` header the request passes as
    /// Bearer only under [`BearerPolicy::Allow`](dpop_std::server::BearerPolicy::Allow).
    pub fn token_endpoint(server: Server<'static>, cache: Arc<C>) -> Self {
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
    pub fn resource(server: Server<'static>, cache: Arc<C>, resolver: R) -> Self {
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
}

/// Looks up an access token: its binding and claims. Implemented for closures
/// `Fn(&str) -> TokenStatus<T>`; implement it yourself for asynchronous lookups
/// (introspection, a database).
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
            let accepted = match shared.resolver.as_ref() {
                Some(resolver) => shared.resource(&mut parts, resolver).await,
                None => shared.token_endpoint(&mut parts).await,
            };
            let accepted = match accepted {
                Ok(accepted) => accepted,
                Err(rejection) => return Ok(respond(rejection)),
            };
            let mut response = inner.call(Request::from_parts(parts, body)).await?;
            accepted.insert_headers(response.headers_mut());
            Ok(response)
        })
    }
}

impl<C: ReplayCache + 'static, R: TokenResolver> Shared<C, R> {
    async fn resource(&self, parts: &mut Parts, resolver: &R) -> Result<Accepted, Rejection> {
        let (accepted, claims) = {
            let request = self.server.resource_request(&*parts)?;
            let (bound, claims) = match resolver.resolve(request.access_token()).await {
                TokenStatus::Bound { jkt, claims } => (Some(jkt), claims),
                TokenStatus::Unbound { claims } => (None, claims),
                TokenStatus::Invalid(description) => {
                    return Err(self.server.reject_token(description));
                }
            };
            (
                self.server.verify_resource(&request, bound.as_ref())?,
                claims,
            )
        };
        self.server.consume(&*self.cache, &accepted).await?;
        parts.extensions.insert(claims);
        parts.extensions.insert(Dpop {
            accepted: accepted.clone(),
            token_endpoint: None,
        });
        Ok(accepted)
    }

    async fn token_endpoint(&self, parts: &mut Parts) -> Result<Accepted, Rejection> {
        let accepted = self.server.verify_token_request(&*parts, Grant::Other)?;
        self.server.consume(&*self.cache, &accepted).await?;
        parts.extensions.insert(Dpop {
            accepted: accepted.clone(),
            token_endpoint: Some(Arc::new(TokenEndpoint {
                server: self.server.clone(),
                method: parts.method.clone(),
                uri: parts.uri.clone(),
                headers: parts.headers.clone(),
            })),
        });
        Ok(accepted)
    }
}

/// dpop-std's response, as an axum response.
fn respond(rejection: Rejection) -> Response {
    rejection.into_response().map(Body::from)
}

/// The verified DPoP request, from the request extensions: an extractor for handlers behind a
/// [`DpopLayer`].
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
    token_endpoint: Option<Arc<TokenEndpoint>>,
}

/// What [`Dpop::check_grant`] needs to verify the request again.
struct TokenEndpoint {
    server: Server<'static>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
}

impl fmt::Debug for TokenEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenEndpoint")
            .field("method", &self.method)
            .field("uri", &self.uri)
            .finish_non_exhaustive()
    }
}

impl Dpop {
    /// The verified proof: thumbprint, `jti`, `iat`, algorithm, `htu`, nonce. `None` for a
    /// Bearer request.
    #[must_use]
    pub const fn proof(&self) -> Option<&AcceptedProof> {
        self.accepted.proof()
    }

    /// The proof key's thumbprint: at the token endpoint, the `cnf.jkt` to bind new tokens to.
    #[must_use]
    pub fn thumbprint(&self) -> Option<&Thumbprint> {
        self.accepted.thumbprint()
    }

    /// `DPoP` with a proof, else `Bearer`: the `token_type` to issue.
    #[must_use]
    pub const fn token_type(&self) -> TokenType {
        self.accepted.token_type()
    }

    /// The `cnf` claim for a token bound to the proof key.
    #[must_use]
    pub fn confirmation(&self) -> Option<Confirmation> {
        self.accepted.confirmation()
    }

    /// Everything dpop-std returned.
    pub const fn accepted(&self) -> &Accepted {
        &self.accepted
    }

    /// At a token endpoint, checks the request against a grant bound to a key: a refresh token
    /// bound to its key (RFC 9449 section 5), or an authorization code's `dpop_jkt` (section
    /// 10). The layer verified the proof with [`Grant::Other`] because the grant is in the body
    /// it does not read; this verifies the request again for `grant`.
    ///
    /// # Errors
    ///
    /// A [`DpopRejection`] to return as the response: `400 invalid_grant` from dpop-std when the
    /// proof key is not the grant's (or there is no proof), or a 500 when the request did not
    /// come through a token-endpoint [`DpopLayer`].
    pub fn check_grant(&self, grant: Grant<'_>) -> Result<(), DpopRejection> {
        let endpoint = self
            .token_endpoint
            .as_ref()
            .ok_or(DpopRejection::MissingLayer)?;
        let head = RequestHead::new(&endpoint.method, &endpoint.uri, &endpoint.headers);
        endpoint
            .server
            .verify_token_request(head, grant)
            .map(|_| ())
            .map_err(|rejection| DpopRejection::Rejected(Box::new(rejection)))
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
    /// No [`DpopLayer`] ran for this route (a server bug): 500.
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
