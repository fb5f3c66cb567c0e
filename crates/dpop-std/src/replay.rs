//! Replay detection (RFC 9449 section 11.1): remember each accepted proof until it could no
//! longer pass the `iat` check, and refuse it if it comes again.
//!
//! Verification (dpop-core) is pure; consuming the proof is this separate, explicit step, so a
//! gateway can verify without burning the proof for the resource server behind it.
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

extern crate alloc;

use alloc::sync::Arc;
use core::fmt;
use core::future::Future;
use core::hash::BuildHasher;

use std::collections::HashMap;
use std::hash::RandomState;
use std::sync::{Mutex, MutexGuard};

use dpop_core::{Thumbprint, UnixTime, VerifiedProof, Verifier};

use crate::clock::{Clock, SystemClock};

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

/// How many bytes of the 32-byte [`ReplayKey`] an entry keeps.
///
/// Replay keys are SHA-256 outputs, so their first 128 bits are uniformly distributed: two
/// different proofs share a stored key with probability 2^-128, and among `n` live entries some
/// pair does with probability below `n² / 2^129` (2^-65 for four billion entries). A shared
/// stored key can only make a fresh proof look replayed (fail closed), never let a replay through,
/// and producing one on purpose is a 2^128-work second preimage.
const STORED_KEY_LEN: usize = 16;
/// The table of each shard is at most `LOAD_NUM / LOAD_DEN` full, which keeps linear probes short
/// (about 8.5 slots for a miss at the limit).
const LOAD_NUM: usize = 3;
const LOAD_DEN: usize = 4;
/// Slots examined for expired entries on every insert, so the table stays lean and [`len`]
/// close to the number of live entries without a background thread.
///
/// [`len`]: MemoryReplayCache::len
const SWEEP_STEP: usize = 8;
/// The default shard count is reduced until every shard holds at least this many entries.
const MIN_SHARD_CAPACITY: usize = 64;
const MAX_SHARDS: usize = 1 << 16;
/// Keeps a shard's slot count well inside `u32`, so probe arithmetic never overflows.
const MAX_SHARD_CAPACITY: usize = 1 << 30;

/// A bounded, sharded, in-memory [`ReplayCache`] for a single server process.
///
/// - **Atomic**: finding a key and inserting it happen under one shard lock; two requests with
///   the same proof can never both be accepted.
/// - **Bounded**: the table is sized at construction ([`with_capacity`](Self::with_capacity))
///   and never grows. When a shard is full of live entries, new proofs are refused with
///   [`ReplayError::CapacityExceeded`]; a live entry is never evicted (fail closed).
/// - **Clock steps**: an entry is reclaimed only once it has expired by the wall clock *and*
///   its lifetime has passed on the monotonic clock ([`with_clock`](Self::with_clock); see
///   [Clock steps](crate::replay#clock-steps)), so a wall clock stepped forward and back cannot
///   make it forget a proof.
/// - **No background thread**: every insert sweeps a few slots for expired entries, an insert
///   passing over an expired entry reuses its slot, and a full shard reclaims all its expired
///   entries before refusing (at most once per second per shard, since nothing can have expired
///   in between). [`purge_expired`](Self::purge_expired) is there for callers that want to run a
///   timer anyway.
/// - **Sharded**: by default the smallest power of two at least twice the number of cores
///   (fewer for small capacities, so a shard holds at least 64 entries), each a `Mutex` around a
///   flat linear-probing table with backward-shift deletion (no tombstones). Shards and slots are
///   chosen by std's randomly keyed hasher (`RandomState`, SipHash-1-3 today) over the stored
///   key, so clients cannot aim their `jti`s at one shard or one probe sequence.
/// - **Small**: a slot is 16 bytes of the replay key and two 4-byte expiries, wall and
///   monotonic (24 bytes); at the 3/4 maximum load that is
///   [`bytes_per_entry`](Self::bytes_per_entry) = 32 bytes per entry of capacity, allocated up
///   front.
/// - **Optional per-key quota** ([`with_quota`](Self::with_quota)): at most `n` live entries per
///   client key (thumbprint), so one client cannot fill the cache for everyone.
///
/// Capacity is enforced per shard (`capacity / shards` each), so with random keys the first
/// refusal comes slightly before the whole cache is full: a few percent early for large caches.
/// The lock is a `std` mutex; if a thread panics while holding it, that shard answers
/// [`ReplayError::Unavailable`] from then on, because its table can no longer be trusted.
///
/// ```
/// use std::sync::Arc;
/// use dpop_core::{Thumbprint, UnixTime};
/// use dpop_std::clock::{Clock, ManualClock};
/// use dpop_std::replay::{MemoryReplayCache, ReplayError, ReplayKey};
///
/// // A server passes its clock's `now`; here a manual clock stands for it.
/// let clock = Arc::new(ManualClock::new(UnixTime::from_secs(1_700_000_000)));
/// let cache = MemoryReplayCache::with_capacity(100_000)
///     .with_quota(1_000)
///     .with_clock(clock.clone()); // the default is the system's monotonic clock
/// let key = ReplayKey::from_bytes([1; 32]); // in practice `VerifiedProof::replay_key()`
/// let client = Thumbprint::from_bytes([2; 32]); // `VerifiedProof::thumbprint()`
/// let now = clock.now();
/// let until = now.saturating_add(361); // `expiry_for(&verifier, &proof, now)`
///
/// assert_eq!(cache.remember_now(&key, &client, until, now), Ok(()));
/// assert_eq!(cache.remember_now(&key, &client, until, now), Err(ReplayError::Replayed));
/// // A wall clock stepped past `until` does not expire the entry: no time has passed.
/// clock.set(until);
/// assert_eq!(cache.remember_now(&key, &client, until, clock.now()), Err(ReplayError::Replayed));
/// // Once 361 seconds have really passed, it has expired (and the proof is too old to verify
/// // anyway).
/// clock.advance(361);
/// assert_eq!(cache.remember_now(&key, &client, until.saturating_add(900), clock.now()), Ok(()));
/// assert!(MemoryReplayCache::bytes_per_entry() <= 64);
/// ```
pub struct MemoryReplayCache {
    shards: Box<[CachePadded<Mutex<Table>>]>,
    /// `shards.len() - 1`; the shard count is a power of two.
    shard_mask: u64,
    /// The capacity asked for, kept so [`with_shards`](Self::with_shards) can rebuild.
    requested: usize,
    hasher: RandomState,
    quota: Option<Quota>,
    /// Read only for [`Clock::monotonic`]; the wall time comes from the caller.
    clock: Arc<dyn Clock>,
}

impl MemoryReplayCache {
    /// A cache for at least `capacity` live entries, with the default shard count (see the type
    /// docs) and no per-key quota. The whole table is allocated here, about
    /// [`bytes_per_entry`](Self::bytes_per_entry) bytes per entry.
    ///
    /// Size it for the peak accepted-proof rate times the entry lifetime (`max_age + leeway`,
    /// 360 s by default), with headroom: 1 000 proofs per second need 360 000 entries, 11.5 MB.
    /// A capacity of 0 refuses every proof; a shard holds at most 2^30 entries.
    #[must_use]
    pub fn with_capacity(capacity: usize) -> Self {
        Self::build(capacity, default_shards(capacity), None)
    }

    /// Sets the number of shards, rounded up to a power of two between 1 and 65 536 and to at
    /// most the capacity (rounded up to a power of two). Rebuilds the (still empty) table.
    ///
    /// More shards mean less lock contention; fewer mean capacity is shared more evenly (with
    /// one shard, exactly `capacity` entries fit).
    #[must_use]
    pub fn with_shards(self, shards: usize) -> Self {
        let limit = self
            .requested
            .max(1)
            .checked_next_power_of_two()
            .unwrap_or(MAX_SHARDS);
        let shards = shards.clamp(1, MAX_SHARDS).next_power_of_two().min(limit);
        let per_key = self.quota.map(|q| q.per_key);
        Self {
            clock: self.clock,
            ..Self::build(self.requested, shards, per_key)
        }
    }

    /// The clock whose [`monotonic`](Clock::monotonic) reading the cache keeps entries by,
    /// beside the wall times it is given (see [Clock steps](crate::replay#clock-steps)). The
    /// default is [`SystemClock`]. Tests that move a [`ManualClock`](crate::clock::ManualClock)
    /// pass the same clock here, so that [`advance`](crate::clock::ManualClock::advance) lets
    /// entries expire and [`set`](crate::clock::ManualClock::set) is a step.
    ///
    /// Only the monotonic reading is used; the wall time is always the `now` argument.
    #[must_use]
    pub fn with_clock(self, clock: impl Clock + 'static) -> Self {
        Self {
            clock: Arc::new(clock),
            ..self
        }
    }

    /// Limits every client key (thumbprint, the `scope` of [`remember_now`](Self::remember_now))
    /// to `per_key` live entries; the proof that would exceed it is refused with
    /// [`ReplayError::QuotaExceeded`]. A quota of 0 is treated as 1.
    ///
    /// # Cost
    ///
    /// A separate sharded map from a thumbprint prefix (8 bytes) to a small expiry histogram
    /// (eight 64-second buckets of 4-byte counters and two 8-byte bucket numbers). That is 56
    /// bytes plus a control byte per client key, 65 to 130 bytes with the hash map's load
    /// factor, for at most twice as many keys as have live entries (keys without live entries are
    /// swept out when the map has doubled since the last sweep). An insert takes one more lock.
    ///
    /// An entry counts against the quota until the end of its 64-second bucket, up to 63 seconds
    /// past its expiry; expiries more than 7 minutes ahead are counted in a later bucket. Both
    /// err on the side of refusing. When the clock goes back, the quota takes the expiries it
    /// counted as computed by a clock that was ahead, and moves them back by as much: a clock
    /// that was a day ahead does not lock clients out for a day. (The table still keeps those
    /// entries until their recorded expiry; that only refuses replays of them.)
    #[must_use]
    pub fn with_quota(self, per_key: u32) -> Self {
        let shards = self.shards.len();
        let quota = Quota::new(per_key.max(1), shards);
        Self {
            quota: Some(quota),
            ..self
        }
    }

    /// The memory per entry of capacity: the slot size (24 bytes) over the maximum load factor
    /// (3/4), i.e. 32 bytes. [`table_bytes`](Self::table_bytes) gives the exact total of a
    /// cache; the optional quota map comes on top (see [`with_quota`](Self::with_quota)).
    #[must_use]
    pub const fn bytes_per_entry() -> usize {
        size_of::<Slot>() * LOAD_DEN / LOAD_NUM
    }

    /// The bytes this cache allocated for its tables and shard locks, excluding the quota map.
    #[must_use]
    pub fn table_bytes(&self) -> usize {
        let slots: usize = self.shards.iter().map(|s| read(&s.0).slots.len()).sum();
        slots * size_of::<Slot>() + self.shards.len() * size_of::<CachePadded<Mutex<Table>>>()
    }

    /// How many entries fit: the requested capacity rounded up to a multiple of the shard count.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.shards.iter().map(|s| read(&s.0).capacity).sum()
    }

    /// The number of shards.
    #[must_use]
    pub fn shards(&self) -> usize {
        self.shards.len()
    }

    /// The number of entries held. This includes expired entries not yet reclaimed, so it is an
    /// upper bound on the live entries; [`purge_expired`](Self::purge_expired) makes it exact.
    #[must_use]
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| read(&s.0).len).sum()
    }

    /// True when no entry is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Atomically remembers `key` until `expires_at` (at least `now + 1`), unless a live entry
    /// for it exists. `scope` is the client key's thumbprint, used only for the quota.
    ///
    /// An entry is live while `now < expires_at`, and in any case until `expires_at - now`
    /// seconds have passed on the cache's monotonic clock
    /// ([`with_clock`](Self::with_clock)). So neither a wall clock that goes back nor one that
    /// jumps forward and back makes the cache forget a proof (see
    /// [Clock steps](crate::replay#clock-steps)).
    ///
    /// # Errors
    ///
    /// - [`ReplayError::Replayed`] when a live entry for `key` exists;
    /// - [`ReplayError::CapacityExceeded`] when the key's shard is full of live entries;
    /// - [`ReplayError::QuotaExceeded`] when `scope` already has its quota of live entries;
    /// - [`ReplayError::Unavailable`] when a lock was poisoned by a panic.
    pub fn remember_now(
        &self,
        key: &ReplayKey,
        scope: &Thumbprint,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<(), ReplayError> {
        let now = self.now(now);
        let expires = expires_at.as_secs().max(now.wall.saturating_add(1));
        let slot = Slot::new(stored_key(key), expires, now);
        let stored = slot.key;
        let hash = self.hasher.hash_one(stored);
        let mut table = lock(&self.shard(hash).0)?;
        table.sweep_step(now, &self.hasher);
        let (at, fills_empty) = match table.probe(&stored, hash, now) {
            Probe::Live => return Err(ReplayError::Replayed),
            Probe::Expired(at)
            | Probe::Vacant {
                reuse: Some(at), ..
            } => (at, false),
            Probe::Vacant { empty, reuse: None } if table.len < table.capacity => (empty, true),
            Probe::Vacant { .. } | Probe::Full => {
                if table.reclaim(now, &self.hasher) == 0 {
                    return Err(ReplayError::CapacityExceeded);
                }
                // Reclaiming moved entries; the key is still absent, so find its slot again.
                match table.probe(&stored, hash, now) {
                    Probe::Vacant { empty, .. } if table.len < table.capacity => (empty, true),
                    _ => return Err(ReplayError::CapacityExceeded),
                }
            }
        };
        if let Some(quota) = &self.quota {
            quota.admit(scope, expires, now.wall, &self.hasher)?;
        }
        table.put(at, slot, fills_empty);
        Ok(())
    }

    /// Remembers a verified `proof` until [`expiry_for`]`(verifier, proof, now)`: the synchronous
    /// form of [`consume`].
    ///
    /// # Errors
    ///
    /// As [`remember_now`](Self::remember_now).
    pub fn consume_now(
        &self,
        verifier: &Verifier<'_>,
        proof: &VerifiedProof<'_>,
        now: UnixTime,
    ) -> Result<(), ReplayError> {
        let expires_at = expiry_for(verifier, proof, now);
        self.remember_now(proof.replay_key(), proof.thumbprint(), expires_at, now)
    }

    /// Reclaims every entry that has expired at `now` and returns how many. Never needed for
    /// correctness or boundedness; it only makes [`len`](Self::len) exact and frees quota
    /// bookkeeping, for callers that have a timer anyway. Takes each shard lock in turn.
    ///
    /// Like every reclaim, it removes only entries that have also lived their lifetime on the
    /// monotonic clock.
    pub fn purge_expired(&self, now: UnixTime) -> usize {
        let now = self.now(now);
        let mut removed = 0;
        for shard in &self.shards {
            if let Ok(mut table) = shard.0.lock() {
                removed += table.reclaim(now, &self.hasher);
            }
        }
        if let Some(quota) = &self.quota {
            quota.sweep(now.wall);
        }
        removed
    }

    /// The caller's wall time and the monotonic clock's reading, in whole seconds.
    fn now(&self, wall: UnixTime) -> Now {
        Now {
            wall: wall.as_secs(),
            mono: self.clock.monotonic().as_secs(),
        }
    }

    fn build(requested: usize, shards: usize, per_key: Option<u32>) -> Self {
        let per_shard = requested.div_ceil(shards).min(MAX_SHARD_CAPACITY);
        let tables = (0..shards).map(|_| CachePadded(Mutex::new(Table::new(per_shard))));
        Self {
            shards: tables.collect(),
            shard_mask: u64::try_from(shards - 1).unwrap_or(0),
            requested,
            hasher: RandomState::new(),
            quota: per_key.map(|n| Quota::new(n, shards)),
            clock: Arc::new(SystemClock),
        }
    }

    fn shard(&self, hash: u64) -> &CachePadded<Mutex<Table>> {
        // The low bits pick the shard; the slot is picked by the high bits (`reduce`).
        let index = usize::try_from(hash & self.shard_mask).unwrap_or(0);
        &self.shards[index]
    }
}

impl ReplayCache for MemoryReplayCache {
    fn remember(
        &self,
        key: &ReplayKey,
        scope: &Thumbprint,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> impl Future<Output = Result<(), ReplayError>> + Send {
        core::future::ready(self.remember_now(key, scope, expires_at, now))
    }
}

impl fmt::Debug for MemoryReplayCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryReplayCache")
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .field("shards", &self.shards.len())
            .field("quota_per_key", &self.quota.as_ref().map(|q| q.per_key))
            .finish()
    }
}

/// Keeps each shard on its own cache lines, so neighbouring locks do not contend.
#[derive(Debug)]
#[repr(align(128))]
struct CachePadded<T>(T);

/// The time of an insert or a reclaim: the caller's wall clock and the cache's monotonic clock,
/// in whole seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Now {
    wall: u64,
    mono: u64,
}

impl Now {
    const NEVER: Self = Self {
        wall: u64::MAX,
        mono: u64::MAX,
    };
}

/// One table entry. `wall == 0` marks an empty slot: stored wall expiries are at least
/// `now + 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Slot {
    /// The first [`STORED_KEY_LEN`] bytes of the replay key.
    key: [u8; STORED_KEY_LEN],
    /// Wall-clock expiry in Unix seconds, saturating at `u32::MAX` (in 2106).
    wall: u32,
    /// Monotonic expiry in seconds of the cache's monotonic clock, saturating at `u32::MAX`.
    mono: u32,
}

impl Slot {
    const EMPTY: Self = Self {
        key: [0; STORED_KEY_LEN],
        wall: 0,
        mono: 0,
    };

    /// An entry inserted at `now` that expires at wall time `expires` (above `now.wall`), and
    /// on the monotonic clock once `expires - now.wall` seconds have passed.
    fn new(key: [u8; STORED_KEY_LEN], expires: u64, now: Now) -> Self {
        let lifetime = expires.saturating_sub(now.wall);
        let mono = now.mono.saturating_add(lifetime);
        Self {
            key,
            wall: u32::try_from(expires).unwrap_or(u32::MAX).max(1),
            mono: u32::try_from(mono).unwrap_or(u32::MAX),
        }
    }

    const fn is_empty(&self) -> bool {
        self.wall == 0
    }

    /// True for an occupied slot that has expired at `now` on both clocks.
    fn is_expired(&self, now: Now) -> bool {
        !self.is_empty() && u64::from(self.wall) <= now.wall && u64::from(self.mono) <= now.mono
    }
}

/// Where a key is, or where it would go.
#[derive(Debug)]
enum Probe {
    /// A live entry for the key.
    Live,
    /// An expired entry for the key, at this slot.
    Expired(usize),
    /// No entry: the first empty slot of the probe sequence, and the first expired entry (of
    /// another key) before it, which the key may take over.
    Vacant { empty: usize, reuse: Option<usize> },
    /// No empty slot at all; cannot happen while `len < slots.len()`.
    Full,
}

/// One shard: a linear-probing table with backward-shift deletion.
///
/// Invariants: `len` slots are occupied, `len <= capacity < slots.len()` (so every probe meets
/// an empty slot), every entry sits in the probe sequence of its home slot with no empty slot in
/// between, and no entry expires before `earliest` (on either clock).
#[derive(Debug)]
struct Table {
    slots: Box<[Slot]>,
    len: usize,
    capacity: usize,
    /// Lower bounds of the stored wall and monotonic expiries.
    earliest: Now,
    /// Where the incremental sweep continues.
    cursor: usize,
}

impl Table {
    fn new(capacity: usize) -> Self {
        // At most 3/4 full, and always at least one empty slot.
        let slots = (capacity + capacity.div_ceil(LOAD_NUM)).max(capacity + 1);
        Self {
            slots: vec![Slot::EMPTY; slots].into_boxed_slice(),
            len: 0,
            capacity,
            earliest: Now::NEVER,
            cursor: 0,
        }
    }

    fn next(&self, i: usize) -> usize {
        if i + 1 == self.slots.len() { 0 } else { i + 1 }
    }

    fn home(&self, hash: u64) -> usize {
        reduce(hash, self.slots.len())
    }

    fn probe(&self, key: &[u8; STORED_KEY_LEN], hash: u64, now: Now) -> Probe {
        let mut i = self.home(hash);
        let mut reuse = None;
        for _ in 0..self.slots.len() {
            let slot = self.slots[i];
            if slot.is_empty() {
                return Probe::Vacant { empty: i, reuse };
            }
            let expired = slot.is_expired(now);
            if slot.key == *key {
                return if expired {
                    Probe::Expired(i)
                } else {
                    Probe::Live
                };
            }
            if expired && reuse.is_none() {
                reuse = Some(i);
            }
            i = self.next(i);
        }
        Probe::Full
    }

    fn put(&mut self, at: usize, slot: Slot, fills_empty: bool) {
        self.slots[at] = slot;
        if fills_empty {
            self.len += 1;
        }
        self.earliest.wall = self.earliest.wall.min(u64::from(slot.wall));
        self.earliest.mono = self.earliest.mono.min(u64::from(slot.mono));
    }

    /// Empties slot `hole` and shifts later entries of its cluster back, so no probe sequence
    /// is broken and no tombstone is needed.
    fn remove_at(&mut self, mut hole: usize, hasher: &RandomState) {
        let mut j = hole;
        for _ in 0..self.slots.len() {
            j = self.next(j);
            let slot = self.slots[j];
            if slot.is_empty() {
                break;
            }
            // The entry at `j` may fill the hole unless its home lies cyclically in (hole, j].
            let home = self.home(hasher.hash_one(slot.key));
            if !cyclically_within(hole, home, j) {
                self.slots[hole] = slot;
                hole = j;
            }
        }
        self.slots[hole] = Slot::EMPTY;
        self.len = self.len.saturating_sub(1);
    }

    /// Examines up to [`SWEEP_STEP`] slots from the cursor and removes expired entries.
    fn sweep_step(&mut self, now: Now, hasher: &RandomState) {
        for _ in 0..SWEEP_STEP {
            if self.len == 0 {
                return;
            }
            let i = self.cursor;
            if self.slots[i].is_expired(now) {
                // The shift may have moved another entry into `i`: look at it again.
                self.remove_at(i, hasher);
            } else {
                self.cursor = self.next(i);
            }
        }
    }

    /// Removes every expired entry and returns how many. Skipped, returning 0, while nothing
    /// can have expired yet (`now` before `earliest` on either clock), so a shard full of live
    /// entries costs one scan per second at most.
    fn reclaim(&mut self, now: Now, hasher: &RandomState) -> usize {
        if now.wall < self.earliest.wall || now.mono < self.earliest.mono {
            return 0;
        }
        let before = self.len;
        let mut earliest = Now::NEVER;
        let mut i = 0;
        // Each round either advances or removes an entry. Shifts move entries only into the
        // slot being examined or into slots not yet reached (or among already-kept entries when
        // a cluster wraps around), so every entry is examined.
        while i < self.slots.len() {
            let slot = self.slots[i];
            if slot.is_expired(now) {
                self.remove_at(i, hasher);
            } else {
                if !slot.is_empty() {
                    earliest.wall = earliest.wall.min(u64::from(slot.wall));
                    earliest.mono = earliest.mono.min(u64::from(slot.mono));
                }
                i += 1;
            }
        }
        self.earliest = earliest;
        before - self.len
    }
}

/// True when `x` lies in the cyclic interval `(lo, hi]`.
const fn cyclically_within(lo: usize, x: usize, hi: usize) -> bool {
    if lo <= hi {
        lo < x && x <= hi
    } else {
        lo < x || x <= hi
    }
}

/// Maps `hash` uniformly onto `0..n` by multiply-shift (no division); uses the high bits.
fn reduce(hash: u64, n: usize) -> usize {
    // The product shifted right by 64 is below `n`, so it always fits.
    usize::try_from((u128::from(hash) * n as u128) >> 64).unwrap_or(0)
}

fn stored_key(key: &ReplayKey) -> [u8; STORED_KEY_LEN] {
    let mut stored = [0; STORED_KEY_LEN];
    stored.copy_from_slice(&key.as_bytes()[..STORED_KEY_LEN]);
    stored
}

fn default_shards(capacity: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, core::num::NonZero::get);
    let mut shards = cores.saturating_mul(2).min(MAX_SHARDS).next_power_of_two();
    while shards > 1 && capacity / shards < MIN_SHARD_CAPACITY {
        shards /= 2;
    }
    shards
}

fn lock<T>(mutex: &Mutex<T>) -> Result<MutexGuard<'_, T>, ReplayError> {
    mutex.lock().map_err(|_| ReplayError::Unavailable)
}

/// For read-only statistics, a poisoned lock's data is still good enough.
fn read<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Log2 of the quota histogram's bucket width: 64 seconds.
const QUOTA_BUCKET_SHIFT: u32 = 6;
/// Buckets per histogram: expiries up to 7 to 8 minutes ahead get their own bucket.
const QUOTA_BUCKETS: usize = 8;
/// A quota shard sweeps out keys without live entries when it grows past twice its size after
/// the previous sweep, and not below this size.
const QUOTA_SWEEP_MIN: usize = 64;

/// Per-key live-entry counts, sharded by thumbprint. Independent of the entry tables: it counts
/// by expiry time, so it needs no notice when an entry is reclaimed.
#[derive(Debug)]
struct Quota {
    per_key: u32,
    shards: Box<[CachePadded<Mutex<QuotaShard>>]>,
    mask: u64,
}

#[derive(Debug, Default)]
struct QuotaShard {
    windows: HashMap<u64, Window>,
    sweep_at: usize,
}

impl Quota {
    fn new(per_key: u32, shards: usize) -> Self {
        let shards: Box<[_]> = (0..shards)
            .map(|_| {
                CachePadded(Mutex::new(QuotaShard {
                    windows: HashMap::new(),
                    sweep_at: QUOTA_SWEEP_MIN,
                }))
            })
            .collect();
        let mask = u64::try_from(shards.len() - 1).unwrap_or(0);
        Self {
            per_key,
            shards,
            mask,
        }
    }

    /// Counts one more entry (expiring at `expires`) for `scope`, unless it has its quota.
    fn admit(
        &self,
        scope: &Thumbprint,
        expires: u64,
        now: u64,
        hasher: &RandomState,
    ) -> Result<(), ReplayError> {
        let mut id = [0; 8];
        id.copy_from_slice(&scope.as_bytes()[..8]);
        let id = u64::from_le_bytes(id);
        let index = usize::try_from(hasher.hash_one(id) & self.mask).unwrap_or(0);
        let mut shard = lock(&self.shards[index].0)?;
        let window = shard.windows.entry(id).or_default();
        window.expire(now);
        if window.live() >= u64::from(self.per_key) {
            return Err(ReplayError::QuotaExceeded);
        }
        window.add(expires);
        if shard.windows.len() > shard.sweep_at {
            shard.sweep(now);
        }
        Ok(())
    }

    fn sweep(&self, now: u64) {
        for shard in &self.shards {
            if let Ok(mut shard) = shard.0.lock() {
                shard.sweep(now);
            }
        }
    }
}

impl QuotaShard {
    fn sweep(&mut self, now: u64) {
        self.windows.retain(|_, window| {
            window.expire(now);
            window.live() > 0
        });
        self.sweep_at = (self.windows.len() * 2).max(QUOTA_SWEEP_MIN);
    }
}

/// How many entries of one key expire in each of [`QUOTA_BUCKETS`] consecutive 64-second
/// buckets, the first being bucket `base` (expiry `>> QUOTA_BUCKET_SHIFT`).
#[derive(Clone, Copy, Debug, Default)]
struct Window {
    base: u64,
    /// The bucket of the latest `now` seen, to notice the clock going back.
    seen: u64,
    counts: [u32; QUOTA_BUCKETS],
}

impl Window {
    /// Forgets the buckets that ended at or before `now`: all their entries have expired.
    fn expire(&mut self, now: u64) {
        let bucket = now >> QUOTA_BUCKET_SHIFT;
        if bucket < self.seen {
            // The clock went back, so it was ahead when these expiries were computed: move them
            // back by as much. Otherwise a clock that was a day ahead would hold this key's quota
            // for a day (the table itself keeps such entries, which is safe: it only refuses
            // replays of them).
            self.base = self.base.saturating_sub(self.seen - bucket);
        }
        self.seen = bucket;
        if bucket > self.base {
            self.advance(bucket - self.base, false);
        }
    }

    fn add(&mut self, expires: u64) {
        let bucket = expires >> QUOTA_BUCKET_SHIFT;
        let last = self.base.saturating_add(QUOTA_BUCKETS as u64 - 1);
        if bucket > last {
            // Further ahead than the window reaches: move it forward, folding the buckets that
            // fall off (still live) into its new first bucket. They then count a little longer
            // than needed, which errs on the side of refusing.
            self.advance(bucket - last, true);
        }
        // A bucket before `base` (possible after a fold) counts in the first one: later.
        let index = usize::try_from(bucket.saturating_sub(self.base)).unwrap_or(0);
        if let Some(count) = self.counts.get_mut(index) {
            *count = count.saturating_add(1);
        }
    }

    fn live(&self) -> u64 {
        self.counts.iter().map(|&c| u64::from(c)).sum()
    }

    /// Moves the window `by` buckets forward; the buckets that fall off are dropped, or with
    /// `fold` added to the new first bucket.
    fn advance(&mut self, by: u64, fold: bool) {
        let shift = usize::try_from(by).map_or(QUOTA_BUCKETS, |by| by.min(QUOTA_BUCKETS));
        let fallen: u32 = self.counts[..shift]
            .iter()
            .fold(0, |sum, &c| sum.saturating_add(c));
        self.counts.rotate_left(shift);
        self.counts[QUOTA_BUCKETS - shift..].fill(0);
        if fold {
            self.counts[0] = self.counts[0].saturating_add(fallen);
        }
        self.base = self.base.saturating_add(by);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u64) -> ReplayKey {
        let mut bytes = [0; 32];
        bytes[..8].copy_from_slice(&n.to_le_bytes());
        ReplayKey::from_bytes(bytes)
    }

    /// A tiny deterministic generator, so the churn test needs no dependency.
    fn lcg(state: &mut u64) -> u64 {
        *state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        *state >> 33
    }

    /// Checks the table invariants: every entry is reachable from its home, `len` is right,
    /// `earliest` is a lower bound, at least one slot is empty.
    fn check(table: &Table, hasher: &RandomState) {
        let mut occupied = 0;
        for (i, slot) in table.slots.iter().enumerate() {
            if slot.is_empty() {
                continue;
            }
            occupied += 1;
            assert!(u64::from(slot.wall) >= table.earliest.wall);
            assert!(u64::from(slot.mono) >= table.earliest.mono);
            let hash = hasher.hash_one(slot.key);
            match table.probe(&slot.key, hash, Now::NEVER) {
                Probe::Expired(at) => assert_eq!(at, i),
                other => panic!("entry at {i} not reachable: {other:?}"),
            }
        }
        assert_eq!(occupied, table.len);
        assert!(table.len <= table.capacity && table.len < table.slots.len());
    }

    #[test]
    fn layout_is_24_bytes_a_slot_and_32_an_entry() {
        // The monotonic expiry fits beside the wall expiry in the 8 bytes one u64 took.
        assert_eq!(size_of::<Slot>(), 24);
        assert_eq!(
            size_of::<(u64, Window)>(),
            56,
            "quota map entry, as documented"
        );
        assert_eq!(MemoryReplayCache::bytes_per_entry(), 32);
        let cache = MemoryReplayCache::with_capacity(300_000).with_shards(1);
        let per_entry = cache.table_bytes() / cache.capacity();
        assert_eq!(per_entry, 32);
    }

    #[test]
    fn table_stays_consistent_under_churn() {
        let hasher = RandomState::new();
        let mut table = Table::new(48);
        let mut rng = 0x5eed;
        let mut now = Now {
            wall: 1_000,
            mono: 0,
        };
        let (mut reused, mut reclaimed, mut refused) = (0, 0, 0);
        for round in 0..20_000 {
            // About four inserts a second against 48 slots and 1-40 s lifetimes: the table
            // keeps filling up, so reuse, sweeps, full reclaims and refusals all happen. Now
            // and then the wall clock steps forward or back by up to a minute.
            let tick = u64::from(lcg(&mut rng).is_multiple_of(4));
            now.wall += tick;
            now.mono += tick;
            match lcg(&mut rng) % 500 {
                0 => now.wall += lcg(&mut rng) % 60,
                1 => now.wall = now.wall.saturating_sub(lcg(&mut rng) % 60),
                _ => {}
            }
            let stored = stored_key(&key(lcg(&mut rng) % 200));
            let hash = hasher.hash_one(stored);
            table.sweep_step(now, &hasher);
            let expires = now.wall + 1 + lcg(&mut rng) % 40;
            let target = match table.probe(&stored, hash, now) {
                Probe::Live => None,
                Probe::Expired(at)
                | Probe::Vacant {
                    reuse: Some(at), ..
                } => {
                    reused += 1;
                    Some((at, false))
                }
                Probe::Vacant { empty, reuse: None } if table.len < table.capacity => {
                    Some((empty, true))
                }
                Probe::Vacant { .. } | Probe::Full => {
                    reclaimed += table.reclaim(now, &hasher);
                    match table.probe(&stored, hash, now) {
                        Probe::Vacant { empty, .. } if table.len < table.capacity => {
                            Some((empty, true))
                        }
                        _ => {
                            refused += 1;
                            None
                        }
                    }
                }
            };
            if let Some((at, fills)) = target {
                table.put(at, Slot::new(stored, expires, now), fills);
            }
            if round % 97 == 0 {
                check(&table, &hasher);
            }
        }
        check(&table, &hasher);
        assert!(
            reused > 100 && reclaimed > 100 && refused > 100,
            "{reused} {reclaimed} {refused}"
        );
        table.reclaim(Now::NEVER, &hasher);
        check(&table, &hasher);
        assert_eq!(table.len, 0);
    }

    #[test]
    fn reclaim_keeps_live_entries_and_is_skipped_before_earliest() {
        let hasher = RandomState::new();
        let mut table = Table::new(16);
        let at = |wall, mono| Now { wall, mono };
        for n in 0..16 {
            let stored = stored_key(&key(n));
            let hash = hasher.hash_one(stored);
            let Probe::Vacant { empty, .. } = table.probe(&stored, hash, at(0, 0)) else {
                panic!()
            };
            // Inserted at wall 50, monotonic 10: lifetimes 50 + n, monotonic expiry 60 + n.
            table.put(empty, Slot::new(stored, 100 + n, at(50, 10)), true);
        }
        assert_eq!(table.earliest, at(100, 60));
        assert_eq!(table.reclaim(at(99, 1_000), &hasher), 0);
        // The wall clock stepped far ahead, but no time has passed: nothing goes.
        assert_eq!(table.reclaim(at(1_000_000, 59), &hasher), 0);
        assert_eq!(table.reclaim(at(1_000_000, 64), &hasher), 5);
        assert_eq!(table.earliest, at(105, 65));
        // Time has passed, but the wall clock was stepped back: the wall expiry still holds.
        assert_eq!(table.reclaim(at(104, 1_000), &hasher), 0);
        assert_eq!(table.reclaim(at(106, 1_000), &hasher), 2);
        assert_eq!(table.len, 9);
        assert_eq!(table.earliest, at(107, 67));
        check(&table, &hasher);
    }

    #[test]
    fn expiries_saturate_towards_keeping_the_entry() {
        let key = [1; STORED_KEY_LEN];
        let now = Now {
            wall: 1_000,
            mono: 5,
        };
        let slot = Slot::new(key, 1_361, now);
        assert_eq!((slot.wall, slot.mono), (1_361, 366));
        assert!(!slot.is_expired(Now {
            wall: 1_361,
            mono: 365
        }));
        assert!(!slot.is_expired(Now {
            wall: 1_360,
            mono: 366
        }));
        assert!(slot.is_expired(Now {
            wall: 1_361,
            mono: 366
        }));
        // Past 2106 the wall expiry saturates; the monotonic one keeps the full lifetime.
        let far = Slot::new(key, u64::from(u32::MAX) + 100, now);
        assert_eq!(far.wall, u32::MAX);
        assert_eq!(u64::from(far.mono), 5 + u64::from(u32::MAX) + 100 - 1_000);
        let late = Now {
            wall: u64::from(u32::MAX) + 10,
            mono: 7,
        };
        let slot = Slot::new(key, late.wall + 361, late);
        assert!(!slot.is_expired(late) && !slot.is_empty());
        assert_eq!(slot.mono, 368);
        let forever = Slot::new(key, u64::MAX, now);
        assert_eq!((forever.wall, forever.mono), (u32::MAX, u32::MAX));
        assert!(!forever.is_expired(Now {
            wall: u64::from(u32::MAX) - 1,
            mono: u64::from(u32::MAX) - 1
        }));
    }

    #[test]
    fn cyclic_interval() {
        assert!(cyclically_within(2, 3, 5) && cyclically_within(2, 5, 5));
        assert!(!cyclically_within(2, 2, 5) && !cyclically_within(2, 6, 5));
        assert!(cyclically_within(6, 7, 1) && cyclically_within(6, 0, 1));
        assert!(cyclically_within(6, 1, 1) && !cyclically_within(6, 3, 1));
    }

    #[test]
    fn reduce_stays_in_range() {
        for n in [1, 2, 3, 1000, usize::MAX] {
            for hash in [0, 1, u64::MAX / 2, u64::MAX] {
                assert!(reduce(hash, n) < n);
            }
        }
    }

    #[test]
    fn quota_window_counts_until_the_bucket_ends() {
        let mut w = Window::default();
        w.expire(1_000);
        w.add(1_030);
        w.add(1_100);
        assert_eq!(w.live(), 2);
        // Bucket 16 covers 1024..1088: its entry counts until 1088.
        w.expire(1_087);
        assert_eq!(w.live(), 2);
        w.expire(1_088);
        assert_eq!(w.live(), 1);
        // Clock going back forgets nothing.
        w.expire(10);
        assert_eq!(w.live(), 1);
        w.expire(10_000);
        assert_eq!(w.live(), 0);
    }

    #[test]
    fn quota_window_folds_far_expiries_conservatively() {
        let mut w = Window::default();
        w.expire(0);
        w.add(10);
        w.add(64 * 20); // beyond the 8 buckets: the window moves, the first entry is folded in
        assert_eq!(w.live(), 2);
        w.expire(64 * 13); // the folded entry now counts until the new first bucket ends
        assert_eq!(w.live(), 2);
        w.expire(64 * 14);
        assert_eq!(w.live(), 1);
        // An expiry before the window counts in its first bucket.
        w.add(64 * 13);
        assert_eq!(w.live(), 2);
        w.expire(64 * 15);
        assert_eq!(w.live(), 1);
    }

    #[test]
    fn quota_window_follows_the_clock_back() {
        let mut w = Window::default();
        // Counted while the clock was a day ahead ...
        let ahead = 1_000_000 + 86_400;
        w.expire(ahead);
        w.add(ahead + 361);
        w.add(ahead + 300);
        assert_eq!(w.live(), 2);
        // ... the entries expire a day earlier once it is set right.
        w.expire(1_000_000);
        assert_eq!(w.live(), 2);
        w.expire(1_000_000 + 361 + 64);
        assert_eq!(w.live(), 0);
        // Forward again: nothing is revived, new entries count normally.
        w.add(1_000_500 + 361);
        w.expire(1_000_500);
        assert_eq!(w.live(), 1);
    }

    #[test]
    fn default_shards_are_a_power_of_two_and_not_tiny() {
        for capacity in [0, 1, 63, 64, 1_000, 1_000_000] {
            let cache = MemoryReplayCache::with_capacity(capacity);
            assert!(cache.shards().is_power_of_two());
            assert!(cache.shards() == 1 || capacity / cache.shards() >= MIN_SHARD_CAPACITY);
            assert!(cache.capacity() >= capacity);
        }
        assert_eq!(
            MemoryReplayCache::with_capacity(1_000)
                .with_shards(5)
                .shards(),
            8
        );
        assert_eq!(
            MemoryReplayCache::with_capacity(3).with_shards(64).shards(),
            4
        );
        assert_eq!(
            MemoryReplayCache::with_capacity(0).with_shards(0).shards(),
            1
        );
    }
}
