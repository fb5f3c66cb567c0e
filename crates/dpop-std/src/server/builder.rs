//! [`ServerBuilder`]: a [`Server`]'s settings, checked once by [`build`](ServerBuilder::build).

use core::fmt;
use std::sync::Arc;

use dpop_core::crypto::VerifyAlgorithm;
use dpop_core::{Limits, Verifier, VerifierSettings};

use super::challenge::ChallengeParams;
use super::{BearerPolicy, ConfigError, Server, UriPolicy};
use crate::clock::{Clock, SystemClock};
use crate::nonce::NonceSource;
use crate::telemetry::{Counters, Telemetry};

/// Configures a [`Server`]: made by [`Server::builder`], infallible `with_*` setters, then
/// [`build`](Self::build), which checks every setting at once.
///
/// The setters store what they are given; a setter called twice keeps the last value, and only
/// that one is checked.
///
/// ```
/// use dpop_core::crypto::rustcrypto;
/// use dpop_std::server::{BearerPolicy, ConfigError, Server, UriPolicy};
///
/// let uri = UriPolicy::public_base("https://api.example.com").build()?;
/// let server = Server::builder(&[rustcrypto::ES256_VERIFIER], uri.clone())
///     .with_bearer(BearerPolicy::Allow)
///     .with_realm("api")
///     .build()?;
/// let challenges = server.challenge().headers();
/// let first = challenges.get_all("www-authenticate").iter().next();
/// assert!(first.is_some_and(|c| c.as_bytes().starts_with(b"DPoP realm=\"api\"")));
///
/// let quoted = Server::builder(&[rustcrypto::ES256_VERIFIER], uri).with_realm("a\"b");
/// assert_eq!(quoted.build().err(), Some(ConfigError::InvalidRealm));
/// # Ok::<(), ConfigError>(())
/// ```
#[must_use]
#[derive(Clone)]
pub struct ServerBuilder {
    accepted: Arc<[&'static dyn VerifyAlgorithm]>,
    settings: VerifierSettings,
    uri: UriPolicy,
    bearer: BearerPolicy,
    nonces: Option<Arc<dyn NonceSource>>,
    clock: Arc<dyn Clock>,
    /// As given: checked by `build`.
    realm: Option<String>,
    counters: Option<Arc<Counters>>,
}

impl fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("verifier", &self.verifier())
            .field("uri", &self.uri)
            .field("bearer", &self.bearer)
            .field("nonces", &self.nonces)
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A builder for a server accepting proofs signed with exactly the algorithms in
    /// `accepted`, for the URLs of `uri`; until a setter says otherwise: the default `max_age`
    /// (300 s) and `leeway` (60 s), Bearer refused, no nonces, no realm, the system clock. The
    /// list is copied: the server owns it.
    pub fn builder(accepted: &[&'static dyn VerifyAlgorithm], uri: UriPolicy) -> ServerBuilder {
        ServerBuilder {
            accepted: Arc::from(accepted),
            settings: VerifierSettings::DEFAULT,
            uri,
            bearer: BearerPolicy::default(),
            nonces: None,
            clock: Arc::new(SystemClock),
            realm: None,
            counters: None,
        }
    }
}

impl ServerBuilder {
    /// Sets how many seconds old a proof may be ([`VerifierSettings::with_max_age`]).
    pub const fn with_max_age(mut self, secs: u64) -> Self {
        self.settings = self.settings.with_max_age(secs);
        self
    }

    /// Sets the tolerated clock difference in seconds ([`VerifierSettings::with_leeway`]).
    pub const fn with_leeway(mut self, secs: u64) -> Self {
        self.settings = self.settings.with_leeway(secs);
        self
    }

    /// Sets the size limits of a proof ([`VerifierSettings::with_limits`]).
    pub const fn with_limits(mut self, limits: Limits) -> Self {
        self.settings = self.settings.with_limits(limits);
        self
    }

    /// Sets `max_age`, `leeway` and the limits at once: the same value can configure a
    /// dpop-core [`Verifier`] ([`Verifier::with_settings`]).
    pub const fn with_verifier_settings(mut self, settings: VerifierSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Sets the [`BearerPolicy`].
    pub const fn with_bearer(mut self, policy: BearerPolicy) -> Self {
        self.bearer = policy;
        self
    }

    /// Requires a server nonce in every proof (RFC 9449 section 8 at the token endpoint,
    /// section 9 at a resource). Missing, stale or forged nonces are answered with
    /// `use_dpop_nonce` and a fresh nonce from `nonces`.
    pub fn with_nonces(mut self, nonces: Arc<dyn NonceSource>) -> Self {
        self.nonces = Some(nonces);
        self
    }

    /// Reads time from `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Adds `realm="..."` to every challenge (RFC 7235 section 2.2).
    ///
    /// [`build`](Self::build) refuses a realm that is not printable ASCII without `"` and `\`
    /// ([`ConfigError::InvalidRealm`]).
    pub fn with_realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// Counts every decision of the server in `counters` (see [`telemetry`](crate::telemetry)).
    pub fn with_counters(mut self, counters: Arc<Counters>) -> Self {
        self.counters = Some(counters);
        self
    }

    /// Checks every setting and returns the server.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidRealm`] unless the realm is printable ASCII without `"` and `\`.
    pub fn build(self) -> Result<Server, ConfigError> {
        if let Some(realm) = &self.realm
            && !realm
                .bytes()
                .all(|b| matches!(b, b' '..=b'~') && b != b'"' && b != b'\\')
        {
            return Err(ConfigError::InvalidRealm);
        }
        Ok(self.assemble())
    }

    /// The server of these settings, once checked.
    pub(super) fn assemble(self) -> Server {
        let algs = self
            .accepted
            .iter()
            .map(|a| a.algorithm().name())
            .collect::<Vec<_>>()
            .join(" ");
        Server {
            accepted: self.accepted,
            settings: self.settings,
            uri: self.uri,
            bearer: self.bearer,
            nonces: self.nonces,
            clock: self.clock,
            challenge: Arc::new(ChallengeParams {
                algs,
                realm: self.realm,
                bearer: self.bearer == BearerPolicy::Allow,
            }),
            telemetry: Telemetry {
                counters: self.counters,
            },
        }
    }

    fn verifier(&self) -> Verifier<'_> {
        Verifier::new(&self.accepted).with_settings(self.settings)
    }
}
