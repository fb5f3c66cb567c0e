//! The token endpoint: verifying a token request, checking the grant's binding (refresh token,
//! authorization code) and the binding for new tokens.

use dpop_core::{Thumbprint, UnixTime};
use http::header::{AUTHORIZATION, HeaderMap};

use super::head::{DPOP_HEADER, at_most_one};
use super::target::check_raw_path;
use super::{
    Accepted, AcceptedProof, BearerPolicy, Endpoint, Reason, Rejection, RequestHead, Server,
};
use crate::replay::ReplayCache;
use crate::telemetry::Facts;
use crate::wire::{Confirmation, TokenType};

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

impl Server {
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
        let proof = at_most_one(head.headers, &DPOP_HEADER)
            .map_err(|()| self.reject(endpoint, Reason::MultipleProofs))?;
        at_most_one(head.headers, &AUTHORIZATION)
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
