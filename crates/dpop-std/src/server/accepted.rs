//! What verification returns: [`Accepted`] and the verified [`AcceptedProof`].

use dpop_core::{Algorithm, Thumbprint, UnixTime};
use http::header::{HeaderMap, HeaderName, HeaderValue};

use super::{DPOP_NONCE, Endpoint};
use crate::replay::ReplayKey;
use crate::wire::{Confirmation, TokenType};

/// A request that passed verification: with a DPoP proof, or as Bearer where allowed.
///
/// Consume it with [`Server::consume`](super::Server::consume), then add [`headers`](Self::headers) (a fresh
/// `DPoP-Nonce`, when due) to the response.
#[must_use]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    pub(super) endpoint: Endpoint,
    pub(super) proof: Option<AcceptedProof>,
    pub(super) fresh_nonce: Option<String>,
    pub(super) verified_at: UnixTime,
}

impl Accepted {
    pub(super) const fn bearer(endpoint: Endpoint, now: UnixTime) -> Self {
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
    /// ([`NonceSource::should_refresh`](crate::nonce::NonceSource::should_refresh)).
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
    pub(super) thumbprint: Thumbprint,
    pub(super) algorithm: Algorithm,
    pub(super) id: String,
    pub(super) issued_at: UnixTime,
    pub(super) nonce: Option<String>,
    pub(super) htu: String,
    pub(super) replay_key: ReplayKey,
    pub(super) replay_expires_at: UnixTime,
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
    /// ([`expiry_for`](crate::replay::expiry_for); entries are live while `now < expires_at`).
    #[must_use]
    pub const fn replay_expires_at(&self) -> UnixTime {
        self.replay_expires_at
    }
}
