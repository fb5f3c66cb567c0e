//! Replay detection (RFC 9449 section 11.1): remember each accepted proof until it could no
//! longer pass the `iat` check, and refuse it if it comes again.
//!
//! Verification (dpop-core) is pure; consuming the proof is this separate, explicit step, so a
//! gateway can verify without burning the proof for the resource server behind it.
//!
//! # Consuming a proof: one way
//!
//! - With a [`Server`](crate::server::Server), call
//!   [`Server::consume`](crate::server::Server::consume) (or, at a token endpoint,
//!   [`Server::check_grant`](crate::server::Server::check_grant), which calls it): it turns a
//!   refusal into the right response. This is the documented path.
//! - With dpop-core's [`Verifier`] alone (no request-level server), [`consume`] does the same
//!   for a [`VerifiedProof`].
//!
//! [`ReplayCache::remember`] is the seam a cache implements, not an entry point for callers;
//! [`MemoryReplayCache::remember_now`] is its synchronous form for tests and benchmarks.
//!
//! # Entry lifetime
//!
//! A proof with issue time `iat` passes the freshness check while
//! `iat <= now + leeway` and `now - max_age - leeway <= iat`, i.e. up to and including the
//! second `now = iat + max_age + leeway`. An entry is live while `now < expires_at`, so it must
//! live until
//!
//! ```text
//! expires_at = iat + max_age + leeway + 1
//! ```
//!
//! ([`expiry_for`]), and never less than one second past `now`. From that instant on the proof is
//! rejected as too old, so forgetting it is safe.
//!
//! When a server nonce vouched for the proof's freshness (the `Server` has a nonce source, RFC
//! 9449 section 4.3 check 11), the proof passes for as long as its nonce is accepted, whatever
//! its `iat`, so the entry lives until
//!
//! ```text
//! expires_at = max(iat + max_age + leeway, nonce_accepted_until) + 1
//! ```
//!
//! where `nonce_accepted_until` is the last second the nonce is accepted
//! ([`VerifiedProof::nonce_fresh_until`]; for stateless nonces the end of step
//! `issued + window - 1`).
//!
//! # The in-memory cache
//!
//! [`MemoryReplayCache`] is a bounded, sharded, open-addressing table. It stores 16 of the 32
//! bytes of each [`ReplayKey`] and two expiries, one on the wall clock and one on a monotonic
//! clock: 24 bytes a slot, 32 bytes per entry of capacity at its 3/4 maximum load
//! ([`MemoryReplayCache::bytes_per_entry`]). When full of live entries it refuses new proofs
//! with [`ReplayError::CapacityExceeded`] and never evicts a live entry. Expired entries are
//! reclaimed during inserts, so no background thread is needed.
//!
//! # Clock steps
//!
//! The verifier judges freshness by the wall clock, which an operator or a bad time server can
//! step. So the in-memory cache keeps every entry until it has expired on **both** clocks:
//!
//! - by the wall clock: `now >= expires_at`, the `now` and `expires_at` the caller passes;
//! - by the monotonic clock ([`Clock::monotonic`], which is never stepped): the entry's lifetime
//!   at insertion, `expires_at - now` seconds, has passed.
//!
//! A wall clock stepped *backwards* keeps entries longer (until the wall clock reaches their
//! expiry again), which only refuses replays. A wall clock stepped *forwards* past the entries'
//! expiry no longer lets them be reclaimed early: they stay until their lifetime has passed in
//! real time, so stepping the clock back afterwards finds them still there, and a replay is
//! refused.
//!
//! Precisely: let `offset = wall - monotonic` when a proof is first accepted and when it is
//! presented again. A replay is refused whenever the offset has not decreased in between, i.e.
//! when every backward step of the wall clock since the acceptance was balanced by forward
//! steps (the forward-then-back case of a bad NTP step and its correction). What remains is a
//! wall clock that ends up *behind* where real time would have taken it: a clock that was ahead
//! when the proof was accepted and is then corrected backwards by `d` seconds can revive the
//! proofs accepted in the `d` seconds before the correction whose entries had already lived
//! their full lifetime. No cache can tell those from fresh proofs; run servers with a clock
//! that slews (chrony and ntpd slew by default, `makestep` only at boot), and keep `d` small.
//!
//! Wall expiries are stored as 32-bit Unix seconds (until the year 2106; later ones saturate and
//! the monotonic expiry alone then holds the entry) and monotonic ones as 32-bit seconds since
//! the clock's origin (136 years), so the monotonic expiry costs no memory. The default
//! monotonic clock is [`SystemClock`]'s; tests that move a [`ManualClock`] give the cache the
//! same clock with [`MemoryReplayCache::with_clock`]. Redis (`dpop-redis`) expires keys by the
//! Redis host's own clock; that crate's docs say what it guarantees.
//!
//! [`Clock::monotonic`]: crate::clock::Clock::monotonic
//! [`SystemClock`]: crate::clock::SystemClock
//! [`ManualClock`]: crate::clock::ManualClock

use core::fmt;
use core::future::Future;

use dpop_core::{Thumbprint, UnixTime, VerifiedProof, Verifier};

pub use dpop_core::ReplayKey;

/// When a replay entry for `proof` may be forgotten: `iat + max_age + leeway + 1` (see the module
/// docs), and at least `now + 1`. When a server nonce vouched for the proof's freshness
/// ([`VerifiedProof::nonce_fresh_until`], RFC 9449 section 4.3 check 11), the proof passes every
/// check for as long as that nonce is accepted, whatever its `iat`, so the entry lives until
/// `max(iat + max_age + leeway, nonce_accepted_until) + 1`.
///
/// The `+ 1` is needed because the proof still passes the `iat` check at exactly
/// `now = iat + max_age + leeway` (and the nonce check at exactly `nonce_accepted_until`), while
/// an entry is live only while `now < expires_at`.
#[must_use]
pub fn expiry_for(verifier: &Verifier<'_>, proof: &VerifiedProof<'_>, now: UnixTime) -> UnixTime {
    let by_iat = proof
        .issued_at()
        .saturating_add(verifier.acceptance_window());
    let last_accepted = proof
        .nonce_fresh_until()
        .map_or(by_iat, |until| until.max(by_iat));
    last_accepted.saturating_add(1).max(now.saturating_add(1))
}

/// Why a replay cache did not accept a proof. Every variant means "reject the request".
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayError {
    /// The cache is full of live entries; it fails closed rather than evict one.
    CapacityExceeded,
    /// This key (thumbprint) has too many live entries (per-key quota).
    QuotaExceeded,
    /// The proof was seen before and its entry is still live.
    Replayed,
    /// The backing store could not be reached or timed out; fail closed.
    Unavailable,
}

impl ReplayError {
    /// A stable snake_case name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::CapacityExceeded => "replay_cache_full",
            Self::QuotaExceeded => "replay_quota_exceeded",
            Self::Replayed => "replayed",
            Self::Unavailable => "replay_cache_unavailable",
        }
    }
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::CapacityExceeded => "replay cache is full",
            Self::QuotaExceeded => "too many live proofs for this key",
            Self::Replayed => "proof was already used",
            Self::Unavailable => "replay cache unavailable",
        })
    }
}

impl core::error::Error for ReplayError {}

/// One atomic operation: remember `key` until `expires_at`, or report that it is already
/// remembered. Implementations never check and insert as two steps.
pub trait ReplayCache: Send + Sync {
    /// Atomically inserts `key` (owned by the key with thumbprint `scope`, for per-key quotas)
    /// with expiry `expires_at`, unless a live entry for `key` exists.
    ///
    /// # Errors
    ///
    /// [`ReplayError::Replayed`] for a live duplicate; the other variants when the cache cannot
    /// take the entry.
    fn remember(
        &self,
        key: &ReplayKey,
        scope: &Thumbprint,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> impl Future<Output = Result<(), ReplayError>> + Send;
}

/// Remembers a verified `proof` in `cache` until [`expiry_for`] says it may be forgotten: the
/// step after [`Verifier::verify`] that makes the proof single-use.
///
/// # Errors
///
/// As [`ReplayCache::remember`]: [`ReplayError::Replayed`] when the proof was already used, the
/// other variants when the cache cannot take it. Reject the request in every case.
pub async fn consume<C: ReplayCache + ?Sized>(
    cache: &C,
    verifier: &Verifier<'_>,
    proof: &VerifiedProof<'_>,
    now: UnixTime,
) -> Result<(), ReplayError> {
    let expires_at = expiry_for(verifier, proof, now);
    cache
        .remember(proof.replay_key(), proof.thumbprint(), expires_at, now)
        .await
}

mod memory;
mod quota;

#[cfg(test)]
mod tests;

pub use memory::MemoryReplayCache;
