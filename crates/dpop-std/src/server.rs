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

use core::cell::RefCell;
use core::fmt;
use std::sync::Arc;

use dpop_core::{
    Expected, HttpMethod, NonceValidator, TargetUri, Thumbprint, UnixTime, UriError, VerifiedProof,
    Verifier, VerifierSettings, crypto::VerifyAlgorithm, is_valid_nonce,
};
use http::header::HeaderValue;

use crate::clock::Clock;
use crate::nonce::{NonceRequest, NonceSource};
use crate::replay::{ReplayCache, expiry_for};
use crate::telemetry::{Facts, Telemetry};

mod accepted;
mod builder;
mod challenge;
mod forwarded;
mod head;
mod rejection;
mod resource;
mod target;
mod token;

#[cfg(test)]
mod tests;

use challenge::ChallengeParams;

pub use accepted::{Accepted, AcceptedProof};
pub use builder::ServerBuilder;
pub use forwarded::ForwardedHeaders;
pub use head::RequestHead;
pub use rejection::{Reason, Rejection};
pub use resource::{BearerPolicy, ResourceRequest};
pub use target::{Scheme, TargetError, UriPolicy, UriPolicyBuilder};
pub use token::{Grant, TokenBinding, TokenRequest};

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
pub struct Server {
    /// The accepted algorithms, owned: a server needs no `'static` verifier of its caller's.
    accepted: Arc<[&'static dyn VerifyAlgorithm]>,
    /// `max_age`, `leeway` and limits: with `accepted`, the verifier built per request.
    settings: VerifierSettings,
    uri: UriPolicy,
    bearer: BearerPolicy,
    nonces: Option<Arc<dyn NonceSource>>,
    clock: Arc<dyn Clock>,
    challenge: Arc<ChallengeParams>,
    pub(crate) telemetry: Telemetry,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("verifier", &self.verifier())
            .field("uri", &self.uri)
            .field("bearer", &self.bearer)
            .field("nonces", &self.nonces)
            .field("realm", &self.challenge.realm)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A server accepting proofs signed with exactly the algorithms in `accepted`, for the
    /// URLs of `uri`, with every other setting at its default (see [`Server::builder`] to
    /// change them). The list is copied: the server owns it.
    ///
    /// ```
    /// use dpop_core::crypto::rustcrypto;
    /// use dpop_std::server::{Server, UriPolicy};
    ///
    /// let server = Server::new(
    ///     &[rustcrypto::ES256_VERIFIER],
    ///     UriPolicy::public_base("https://api.example.com").build()?,
    /// );
    /// assert_eq!(server.algs(), "ES256");
    /// # Ok::<(), dpop_std::server::ConfigError>(())
    /// ```
    pub fn new(accepted: &[&'static dyn VerifyAlgorithm], uri: UriPolicy) -> Self {
        // No realm, the only setting `build` checks.
        Self::builder(accepted, uri).assemble()
    }

    /// The proof verifier: the accepted algorithms, `max_age`, `leeway` and limits.
    #[must_use]
    pub fn verifier(&self) -> Verifier<'_> {
        Verifier::new(&self.accepted).with_settings(self.settings)
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

    /// Verifies `proof` for `head`, whose raw path the caller has already checked
    /// ([`check_raw_path`](target::check_raw_path)).
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
            .target_of_checked_path(head)
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
        let verifier = self.verifier();
        let result = with_scratch(self.settings.limits().scratch_len(), |scratch| {
            verifier.verify_detailed(proof, &expected, now, scratch)
        });
        match result {
            Ok(verified) => Ok(self.accept(endpoint, &verified, &htu, now)),
            Err(failure) => {
                let error = failure.error();
                // The key, once the signature has verified it: dpop-core checks the nonce (its
                // check 11) after the signature (check 7), so a nonce error always has it.
                let key = failure.thumbprint();
                let facts = Facts {
                    unverified: Some(proof),
                    key,
                    ..Facts::default()
                };
                let mut rejection =
                    self.reject_with(endpoint, Reason::Proof(error), facts, Some(htu.clone()));
                if error.is_nonce_error()
                    && let Some(nonces) = &self.nonces
                {
                    rejection.nonce = issue_nonce(nonces.as_ref(), key, &htu, now);
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
                replay_expires_at: expiry_for(&self.verifier(), verified, now),
            }),
            fresh_nonce,
            verified_at: now,
        }
    }
}

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

thread_local! {
    /// This thread's verification scratch, reused by every proof it verifies: dpop-core's
    /// `Verifier::verify` would zero a 12 KiB stack buffer per call instead.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with `len` bytes of scratch memory (contents unspecified): this thread's reusable
/// buffer, or a fresh one when that is already in use (a verification started from inside
/// another, such as a nonce source that verifies) or no longer available (thread exit). `f` is
/// synchronous, so the buffer is never held across an `.await`. The buffer keeps the decoded
/// header and payload of the thread's last proof (public data) and its largest size so far.
pub(crate) fn with_scratch<R>(len: usize, mut f: impl FnMut(&mut [u8]) -> R) -> R {
    let reused = SCRATCH.try_with(|cell| {
        let mut buf = cell.try_borrow_mut().ok()?;
        if buf.len() < len {
            buf.resize(len, 0);
        }
        buf.get_mut(..len).map(&mut f)
    });
    match reused {
        Ok(Some(out)) => out,
        _ => f(&mut vec![0u8; len]),
    }
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
