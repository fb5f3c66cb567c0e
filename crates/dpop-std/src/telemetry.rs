//! What a [`Server`] decided, for operators: counters ([`Counters`], read as a [`Snapshot`]) and,
//! with the `tracing` feature, one structured event per rejection.
//!
//! # Counters
//!
//! [`ServerBuilder::with_counters`] makes a server count into shared atomics: requests
//! accepted, requests rejected (in total and by the reason's stable name, [`Reason::name`]),
//! replays, replay-cache refusals (full, per-key quota, unreachable) and nonce challenges. A
//! [`Snapshot`] is a plain `Copy` value an exporter turns into whatever metrics system it uses;
//! no metrics backend is a dependency. Give the token endpoint and the resources counters of
//! their own (as they have replay caches of their own) or share one [`Counters`].
//!
//! A request counts as *accepted* when its proof is consumed ([`Server::consume`], which
//! [`Server::check_grant`] calls), or when a Bearer request passes that step: a gateway that
//! only verifies counts nothing as accepted. Every [`Rejection`] the server makes counts once as
//! rejected, including those made for the caller ([`Server::reject_token`],
//! [`Server::unavailable`], [`Server::challenge`]).
//!
//! # Events (feature `tracing`)
//!
//! Each rejection emits exactly one event with target `dpop`, at level `INFO` for the two
//! answers that are ordinary steps of the protocol (a nonce challenge, `use_dpop_nonce`; a
//! request without credentials answered with a bare challenge) and `WARN` for all others. Its
//! fields:
//!
//! | field | value |
//! |---|---|
//! | `reason` | the stable name ([`Reason::name`]): `htu_mismatch`, `too_old`, `replayed`, ... |
//! | `error` | the OAuth error code sent (`invalid_dpop_proof`, ...), absent for a bare challenge |
//! | `status` | the HTTP status sent |
//! | `endpoint` | `token` or `resource` |
//! | `jkt` | the proof key's RFC 7638 thumbprint, when the proof's header is readable (for a bad signature it is the key the proof *claims*) |
//! | `expected_htu` | the canonical URL the server expected, when it got that far |
//! | `claimed_htu`, `claimed_htm`, `iat` | from the proof's payload, unverified, when it is readable; `claimed_htu` at most 256 characters, non-printable characters replaced by `?` |
//! | `now`, `iat_offset` | server time, and `iat - now` in seconds |
//!
//! The event never holds an access token, a proof, a nonce, `ath`, `jti` or key material.
//!
//! [`Reason::name`]: crate::server::Reason::name
//! [`ServerBuilder::with_counters`]: crate::server::ServerBuilder::with_counters
//! [`Rejection`]: crate::server::Rejection

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::sync::OnceLock;

use dpop_core::{Thumbprint, UnixTime};

use crate::replay::{MemoryReplayCache, ReplayError};
use crate::server::{AcceptedProof, Endpoint, Reason, Rejection, Server};

/// Slots for distinct reason names; every name this crate and dpop-core define fits.
const REASON_SLOTS: usize = 128;

/// Longest `claimed_htu` put in an event.
#[cfg(feature = "tracing")]
const MAX_CLAIMED_HTU: usize = 256;

/// Longest proof whose payload is decoded for an event; longer ones are over any sane limit.
#[cfg(feature = "tracing")]
const MAX_PROOF_DECODED: usize = 16 * 1024;

/// Decision counters shared by the servers that were given them
/// ([`ServerBuilder::with_counters`]).
///
/// [`ServerBuilder::with_counters`]: crate::server::ServerBuilder::with_counters
/// Lock-free: each decision is one or two relaxed atomic increments.
pub struct Counters {
    accepted: AtomicU64,
    rejected: AtomicU64,
    nonce_challenges: AtomicU64,
    replays: AtomicU64,
    cache_full: AtomicU64,
    cache_quota: AtomicU64,
    cache_unavailable: AtomicU64,
    /// Rejections whose name found no slot (never with this crate's names).
    other: AtomicU64,
    slots: [ReasonSlot; REASON_SLOTS],
}

/// One reason name and its count; the name is set once, by the first rejection with it.
struct ReasonSlot {
    name: OnceLock<&'static str>,
    count: AtomicU64,
}

impl Default for Counters {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Counters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Counters").field(&self.snapshot()).finish()
    }
}

impl Counters {
    /// All counters at zero.
    #[must_use]
    pub fn new() -> Self {
        Self {
            accepted: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            nonce_challenges: AtomicU64::new(0),
            replays: AtomicU64::new(0),
            cache_full: AtomicU64::new(0),
            cache_quota: AtomicU64::new(0),
            cache_unavailable: AtomicU64::new(0),
            other: AtomicU64::new(0),
            slots: core::array::from_fn(|_| ReasonSlot {
                name: OnceLock::new(),
                count: AtomicU64::new(0),
            }),
        }
    }

    /// The counts now. Each counter is read on its own, so a snapshot taken while requests are
    /// decided may be a few decisions apart between counters.
    #[must_use]
    pub fn snapshot(&self) -> Snapshot {
        let mut reasons = [ReasonCount::EMPTY; REASON_SLOTS];
        let mut used = 0;
        for slot in &self.slots {
            if let Some(name) = slot.name.get()
                && let Some(out) = reasons.get_mut(used)
            {
                *out = ReasonCount {
                    name,
                    count: slot.count.load(Ordering::Relaxed),
                };
                used += 1;
            }
        }
        let (sorted, _) = reasons.split_at_mut(used);
        sorted.sort_unstable_by_key(|r| r.name);
        Snapshot {
            accepted: self.accepted.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            nonce_challenges: self.nonce_challenges.load(Ordering::Relaxed),
            replays: self.replays.load(Ordering::Relaxed),
            replay_cache_full: self.cache_full.load(Ordering::Relaxed),
            replay_quota_exceeded: self.cache_quota.load(Ordering::Relaxed),
            replay_cache_unavailable: self.cache_unavailable.load(Ordering::Relaxed),
            replay_cache_len: None,
            replay_cache_capacity: None,
            other_reasons: self.other.load(Ordering::Relaxed),
            reasons,
            reasons_len: used,
        }
    }

    /// [`snapshot`](Self::snapshot) with the fill of `cache`: its live entries and capacity.
    #[must_use]
    pub fn snapshot_with_cache(&self, cache: &MemoryReplayCache) -> Snapshot {
        let mut snapshot = self.snapshot();
        snapshot.replay_cache_len = Some(cache.len());
        snapshot.replay_cache_capacity = Some(cache.capacity());
        snapshot
    }

    fn count_accepted(&self) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
    }

    fn count_rejected(&self, reason: Reason) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
        let specific = match reason {
            Reason::Proof(e) if e.is_nonce_error() => Some(&self.nonce_challenges),
            Reason::Replay(ReplayError::Replayed) => Some(&self.replays),
            Reason::Replay(ReplayError::CapacityExceeded) => Some(&self.cache_full),
            Reason::Replay(ReplayError::QuotaExceeded) => Some(&self.cache_quota),
            Reason::Replay(ReplayError::Unavailable) => Some(&self.cache_unavailable),
            _ => None,
        };
        if let Some(counter) = specific {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        match self.slot(reason.name()) {
            Some(slot) => slot.count.fetch_add(1, Ordering::Relaxed),
            None => self.other.fetch_add(1, Ordering::Relaxed),
        };
    }

    /// The slot of `name`: open addressing over a fixed table, a slot's name set once.
    fn slot(&self, name: &'static str) -> Option<&ReasonSlot> {
        let start = fnv1a(name.as_bytes()) % REASON_SLOTS;
        (0..REASON_SLOTS).find_map(|i| {
            let slot = self.slots.get((start + i) % REASON_SLOTS)?;
            (*slot.name.get_or_init(|| name) == name).then_some(slot)
        })
    }
}

/// FNV-1a, folded to `usize`: spreads the reason names over the slots.
fn fnv1a(bytes: &[u8]) -> usize {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    usize::try_from(hash % (1 << 31)).unwrap_or_default()
}

/// How often one reason was the cause of a rejection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ReasonCount {
    /// The stable name ([`Reason::name`](crate::server::Reason::name)).
    pub name: &'static str,
    /// Rejections with that reason.
    pub count: u64,
}

impl ReasonCount {
    const EMPTY: Self = Self { name: "", count: 0 };
}

/// The counters at one moment, from [`Counters::snapshot`]: a plain `Copy` value.
/// With serde it serializes as an object whose `rejected_by_reason` maps names to counts.
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Snapshot {
    /// Requests accepted (proof consumed, or Bearer allowed).
    pub accepted: u64,
    /// Rejections of any reason.
    pub rejected: u64,
    /// Of those, `use_dpop_nonce` challenges (`nonce_required`, `nonce_invalid`).
    pub nonce_challenges: u64,
    /// Of those, replays (`replayed`).
    pub replays: u64,
    /// Of those, refusals because the replay cache was full (`replay_cache_full`, 503).
    pub replay_cache_full: u64,
    /// Of those, refusals by the per-key quota (`replay_quota_exceeded`, 429).
    pub replay_quota_exceeded: u64,
    /// Of those, refusals because the replay cache was unreachable (`replay_cache_unavailable`).
    pub replay_cache_unavailable: u64,
    /// Live entries of the replay cache ([`Counters::snapshot_with_cache`]).
    pub replay_cache_len: Option<usize>,
    /// Capacity of the replay cache ([`Counters::snapshot_with_cache`]).
    pub replay_cache_capacity: Option<usize>,
    /// Rejections whose reason name found no counter slot; zero with this crate's reasons.
    pub other_reasons: u64,
    reasons: [ReasonCount; REASON_SLOTS],
    reasons_len: usize,
}

impl Snapshot {
    /// Rejections by reason name, sorted by name; reasons never seen are absent.
    #[must_use]
    pub fn rejected_by_reason(&self) -> &[ReasonCount] {
        self.reasons.get(..self.reasons_len).unwrap_or_default()
    }

    /// Rejections with the reason named `name` ([`Reason::name`](crate::server::Reason::name)).
    #[must_use]
    pub fn rejected_for(&self, name: &str) -> u64 {
        self.rejected_by_reason()
            .iter()
            .find(|r| r.name == name)
            .map_or(0, |r| r.count)
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("accepted", &self.accepted)
            .field("rejected", &self.rejected)
            .field("nonce_challenges", &self.nonce_challenges)
            .field("replays", &self.replays)
            .field("replay_cache_full", &self.replay_cache_full)
            .field("replay_quota_exceeded", &self.replay_quota_exceeded)
            .field("replay_cache_unavailable", &self.replay_cache_unavailable)
            .field("replay_cache_len", &self.replay_cache_len)
            .field("replay_cache_capacity", &self.replay_cache_capacity)
            .field("other_reasons", &self.other_reasons)
            .field("rejected_by_reason", &self.rejected_by_reason())
            .finish()
    }
}

impl serde::Serialize for Snapshot {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeStruct};

        struct ByReason<'s>(&'s [ReasonCount]);
        impl serde::Serialize for ByReason<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(Some(self.0.len()))?;
                for reason in self.0 {
                    map.serialize_entry(reason.name, &reason.count)?;
                }
                map.end()
            }
        }

        let mut s = serializer.serialize_struct("Snapshot", 11)?;
        s.serialize_field("accepted", &self.accepted)?;
        s.serialize_field("rejected", &self.rejected)?;
        s.serialize_field("nonce_challenges", &self.nonce_challenges)?;
        s.serialize_field("replays", &self.replays)?;
        s.serialize_field("replay_cache_full", &self.replay_cache_full)?;
        s.serialize_field("replay_quota_exceeded", &self.replay_quota_exceeded)?;
        s.serialize_field("replay_cache_unavailable", &self.replay_cache_unavailable)?;
        s.serialize_field("replay_cache_len", &self.replay_cache_len)?;
        s.serialize_field("replay_cache_capacity", &self.replay_cache_capacity)?;
        s.serialize_field("other_reasons", &self.other_reasons)?;
        s.serialize_field("rejected_by_reason", &ByReason(self.rejected_by_reason()))?;
        s.end()
    }
}

/// What a [`Server`] reports to: its counters, if any. Events need no state.
#[derive(Clone, Default)]
pub(crate) struct Telemetry {
    pub(crate) counters: Option<Arc<Counters>>,
}

impl fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.counters.is_some() {
            "Telemetry(counters)"
        } else {
            "Telemetry"
        })
    }
}

/// What is known about the proof of a rejected request.
#[derive(Clone, Copy, Debug, Default)]
#[cfg_attr(
    not(feature = "tracing"),
    allow(dead_code, reason = "read by the events only")
)]
pub(crate) struct Facts<'a> {
    /// The proof text, unverified (signature failure, bad claims...).
    pub(crate) unverified: Option<&'a str>,
    /// The verified proof (replay, key mismatch at the token endpoint).
    pub(crate) verified: Option<&'a AcceptedProof>,
    /// The key of a refused proof whose signature verified (dpop-core's `VerifyFailure`).
    pub(crate) key: Option<&'a Thumbprint>,
}

impl Telemetry {
    /// Counts an accepted request.
    pub(crate) fn accepted(&self) {
        if let Some(counters) = &self.counters {
            counters.count_accepted();
        }
    }

    /// Counts `rejection` and, with `tracing`, emits its event.
    pub(crate) fn rejected(&self, rejection: &Rejection, facts: Facts<'_>, now: UnixTime) {
        if let Some(counters) = &self.counters {
            counters.count_rejected(rejection.reason());
        }
        #[cfg(feature = "tracing")]
        event::emit(rejection, facts, now);
        #[cfg(not(feature = "tracing"))]
        let _ = (facts, now);
    }
}

impl Server {
    /// The counters given to [`ServerBuilder::with_counters`].
    ///
    /// [`ServerBuilder::with_counters`]: crate::server::ServerBuilder::with_counters
    #[must_use]
    pub fn counters(&self) -> Option<&Arc<Counters>> {
        self.telemetry.counters.as_ref()
    }
}

/// `token` or `resource`, as logged.
#[must_use]
pub const fn endpoint_name(endpoint: Endpoint) -> &'static str {
    match endpoint {
        Endpoint::Resource => "resource",
        Endpoint::Token => "token",
    }
}

/// The unverified claims an event reports of a proof, for the fuzz targets.
#[cfg(feature = "__fuzzing-internals")]
pub(crate) fn fuzz_claimed(proof: &str) -> (Option<String>, Option<String>, Option<i64>) {
    let claimed = event::claimed(proof);
    (claimed.htu, claimed.htm, claimed.iat)
}

/// [`MAX_CLAIMED_HTU`] and [`MAX_PROOF_DECODED`], for the fuzz targets.
#[cfg(feature = "__fuzzing-internals")]
pub(crate) const FUZZ_LIMITS: (usize, usize) = (MAX_CLAIMED_HTU, MAX_PROOF_DECODED);

#[cfg(feature = "tracing")]
mod event {
    use base64ct::{Base64UrlUnpadded, Encoding};
    use dpop_core::UnixTime;
    use tracing::Level;

    use super::{Facts, MAX_CLAIMED_HTU, MAX_PROOF_DECODED, endpoint_name};
    use crate::server::{Reason, Rejection};

    /// The readable claims of an unverified proof: nothing secret is kept.
    #[derive(Default)]
    pub(super) struct Claimed {
        pub(super) htu: Option<String>,
        pub(super) htm: Option<String>,
        pub(super) iat: Option<i64>,
    }

    pub(super) fn claimed(proof: &str) -> Claimed {
        let read = || -> Option<Claimed> {
            if proof.len() > MAX_PROOF_DECODED {
                return None;
            }
            let payload = proof.split('.').nth(1)?;
            let mut buf = vec![0u8; payload.len()];
            let json = Base64UrlUnpadded::decode(payload, &mut buf).ok()?;
            let value: serde_json::Value = serde_json::from_slice(json).ok()?;
            let text = |name: &str| value.get(name)?.as_str().map(bounded);
            Some(Claimed {
                htu: text("htu"),
                htm: text("htm").map(|m| m.chars().take(32).collect()),
                iat: value.get("iat").and_then(serde_json::Value::as_i64),
            })
        };
        read().unwrap_or_default()
    }

    /// At most [`MAX_CLAIMED_HTU`] characters, printable ASCII kept, all else `?`.
    fn bounded(text: &str) -> String {
        text.chars()
            .take(MAX_CLAIMED_HTU)
            .map(|c| if matches!(c, ' '..='~') { c } else { '?' })
            .collect()
    }

    pub(super) fn emit(rejection: &Rejection, facts: Facts<'_>, now: UnixTime) {
        let reason = rejection.reason();
        let mut claimed = facts.unverified.map(claimed).unwrap_or_default();
        // Only a key the signature vouched for: the `jwk` of a proof refused before its
        // signature verified is anyone's claim, and would point a log reader at the wrong client.
        let jkt = match (facts.verified, facts.key) {
            (Some(proof), _) => Some(*proof.thumbprint()),
            (None, key) => key.copied(),
        }
        .map(|t| t.to_string());
        if let Some(proof) = facts.verified {
            claimed.htu = Some(bounded(proof.htu()));
            claimed.iat = i64::try_from(proof.issued_at().as_secs()).ok();
        }
        let now_secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        let iat_offset = claimed.iat.map(|iat| iat.saturating_sub(now_secs));
        let quiet = rejection.is_nonce_challenge() || matches!(reason, Reason::MissingCredentials);
        macro_rules! rejected {
            ($level:expr) => {
                tracing::event!(
                    target: "dpop",
                    $level,
                    reason = reason.name(),
                    error = rejection.error_code(),
                    status = rejection.status().as_u16(),
                    endpoint = endpoint_name(rejection.endpoint()),
                    jkt = jkt.as_deref(),
                    expected_htu = rejection.expected_htu(),
                    claimed_htu = claimed.htu.as_deref(),
                    claimed_htm = claimed.htm.as_deref(),
                    iat = claimed.iat,
                    now = now_secs,
                    iat_offset = iat_offset,
                    "DPoP request rejected"
                )
            };
        }
        if quiet {
            rejected!(Level::INFO);
        } else {
            rejected!(Level::WARN);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(i: usize) -> &'static str {
        Box::leak(format!("reason_{i}").into_boxed_str())
    }

    #[test]
    fn every_slot_takes_one_name_and_the_rest_is_other() {
        let counters = Counters::new();
        let names: Vec<_> = (0..=REASON_SLOTS).map(name).collect();
        for (i, n) in names.iter().enumerate() {
            for _ in 0..=i {
                match counters.slot(n) {
                    Some(slot) => slot.count.fetch_add(1, Ordering::Relaxed),
                    None => counters.other.fetch_add(1, Ordering::Relaxed),
                };
            }
        }
        let snapshot = counters.snapshot();
        assert_eq!(snapshot.rejected_by_reason().len(), REASON_SLOTS);
        for (i, n) in names.iter().take(REASON_SLOTS).enumerate() {
            assert_eq!(snapshot.rejected_for(n), i as u64 + 1, "{n}");
        }
        // The table is full: the last name has no slot and is counted apart.
        assert_eq!(snapshot.rejected_for(names[REASON_SLOTS]), 0);
        assert_eq!(snapshot.other_reasons, REASON_SLOTS as u64 + 1);
        let sorted = snapshot
            .rejected_by_reason()
            .windows(2)
            .all(|w| w[0].name < w[1].name);
        assert!(sorted);
    }
}
