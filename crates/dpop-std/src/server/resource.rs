//! Protected resources: reading `Authorization` and `DPoP`, the Bearer policy and the
//! resource-side rejections a caller makes.

use dpop_core::Thumbprint;
use http::header::{AUTHORIZATION, HeaderValue};

use super::head::{DPOP_HEADER, at_most_one, parse_authorization};
use super::target::check_raw_path;
use super::{Accepted, Endpoint, Reason, Rejection, RequestHead, Server};
use crate::wire::TokenType;

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

impl Server {
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
        let proof = at_most_one(head.headers, &DPOP_HEADER)
            .map_err(|()| self.reject(endpoint, Reason::MultipleProofs))?;
        let authorization = at_most_one(head.headers, &AUTHORIZATION)
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
