//! [`MemoryReplayCache`]: the bounded, sharded, open-addressing table (see the module docs of
//! `replay` for its layout and clock rules).

use core::fmt;
use core::hash::BuildHasher;
use std::sync::Arc;

use std::hash::RandomState;
use std::sync::{Mutex, MutexGuard};

use dpop_core::{Thumbprint, UnixTime};

use super::quota::Quota;
use super::{ReplayCache, ReplayError, ReplayKey};
use crate::clock::{Clock, SystemClock};

/// How many bytes of the 32-byte [`ReplayKey`] an entry keeps.
///
/// Replay keys are SHA-256 outputs, so their first 128 bits are uniformly distributed: two
/// different proofs share a stored key with probability 2^-128, and among `n` live entries some
/// pair does with probability below `n² / 2^129` (2^-65 for four billion entries). A shared
/// stored key can only make a fresh proof look replayed (fail closed), never let a replay through,
/// and producing one on purpose is a 2^128-work second preimage.
pub(super) const STORED_KEY_LEN: usize = 16;
/// The table of each shard is at most `LOAD_NUM / LOAD_DEN` full, which keeps linear probes short
/// (about 8.5 slots for a miss at the limit).
pub(super) const LOAD_NUM: usize = 3;
pub(super) const LOAD_DEN: usize = 4;
/// Slots examined for expired entries on every insert, so the table stays lean and [`len`]
/// close to the number of live entries without a background thread.
///
/// [`len`]: MemoryReplayCache::len
pub(super) const SWEEP_STEP: usize = 8;
/// The default shard count is reduced until every shard holds at least this many entries.
pub(super) const MIN_SHARD_CAPACITY: usize = 64;
pub(super) const MAX_SHARDS: usize = 1 << 16;
/// Keeps a shard's slot count well inside `u32`, so probe arithmetic never overflows.
pub(super) const MAX_SHARD_CAPACITY: usize = 1 << 30;

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
/// use dpop_core::{Thumbprint, UnixTime, VerifiedProof, Verifier};
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
pub(super) struct CachePadded<T>(pub(super) T);

/// The time of an insert or a reclaim: the caller's wall clock and the cache's monotonic clock,
/// in whole seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Now {
    pub(super) wall: u64,
    pub(super) mono: u64,
}

impl Now {
    pub(super) const NEVER: Self = Self {
        wall: u64::MAX,
        mono: u64::MAX,
    };
}

/// One table entry. `wall == 0` marks an empty slot: stored wall expiries are at least
/// `now + 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Slot {
    /// The first [`STORED_KEY_LEN`] bytes of the replay key.
    pub(super) key: [u8; STORED_KEY_LEN],
    /// Wall-clock expiry in Unix seconds, saturating at `u32::MAX` (in 2106).
    pub(super) wall: u32,
    /// Monotonic expiry in seconds of the cache's monotonic clock, saturating at `u32::MAX`.
    pub(super) mono: u32,
}

impl Slot {
    pub(super) const EMPTY: Self = Self {
        key: [0; STORED_KEY_LEN],
        wall: 0,
        mono: 0,
    };

    /// An entry inserted at `now` that expires at wall time `expires` (above `now.wall`), and
    /// on the monotonic clock once `expires - now.wall` seconds have passed.
    pub(super) fn new(key: [u8; STORED_KEY_LEN], expires: u64, now: Now) -> Self {
        let lifetime = expires.saturating_sub(now.wall);
        let mono = now.mono.saturating_add(lifetime);
        Self {
            key,
            wall: u32::try_from(expires).unwrap_or(u32::MAX).max(1),
            mono: u32::try_from(mono).unwrap_or(u32::MAX),
        }
    }

    pub(super) const fn is_empty(&self) -> bool {
        self.wall == 0
    }

    /// True for an occupied slot that has expired at `now` on both clocks.
    pub(super) fn is_expired(&self, now: Now) -> bool {
        !self.is_empty() && u64::from(self.wall) <= now.wall && u64::from(self.mono) <= now.mono
    }
}

/// Where a key is, or where it would go.
#[derive(Debug)]
pub(super) enum Probe {
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
pub(super) struct Table {
    pub(super) slots: Box<[Slot]>,
    pub(super) len: usize,
    pub(super) capacity: usize,
    /// Lower bounds of the stored wall and monotonic expiries.
    pub(super) earliest: Now,
    /// Where the incremental sweep continues.
    pub(super) cursor: usize,
}

impl Table {
    pub(super) fn new(capacity: usize) -> Self {
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

    pub(super) fn next(&self, i: usize) -> usize {
        if i + 1 == self.slots.len() { 0 } else { i + 1 }
    }

    pub(super) fn home(&self, hash: u64) -> usize {
        reduce(hash, self.slots.len())
    }

    pub(super) fn probe(&self, key: &[u8; STORED_KEY_LEN], hash: u64, now: Now) -> Probe {
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

    pub(super) fn put(&mut self, at: usize, slot: Slot, fills_empty: bool) {
        self.slots[at] = slot;
        if fills_empty {
            self.len += 1;
        }
        self.earliest.wall = self.earliest.wall.min(u64::from(slot.wall));
        self.earliest.mono = self.earliest.mono.min(u64::from(slot.mono));
    }

    /// Empties slot `hole` and shifts later entries of its cluster back, so no probe sequence
    /// is broken and no tombstone is needed.
    pub(super) fn remove_at(&mut self, mut hole: usize, hasher: &RandomState) {
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
    pub(super) fn sweep_step(&mut self, now: Now, hasher: &RandomState) {
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
    pub(super) fn reclaim(&mut self, now: Now, hasher: &RandomState) -> usize {
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
pub(super) const fn cyclically_within(lo: usize, x: usize, hi: usize) -> bool {
    if lo <= hi {
        lo < x && x <= hi
    } else {
        lo < x || x <= hi
    }
}

/// Maps `hash` uniformly onto `0..n` by multiply-shift (no division); uses the high bits.
pub(super) fn reduce(hash: u64, n: usize) -> usize {
    // The product shifted right by 64 is below `n`, so it always fits.
    usize::try_from((u128::from(hash) * n as u128) >> 64).unwrap_or(0)
}

pub(super) fn stored_key(key: &ReplayKey) -> [u8; STORED_KEY_LEN] {
    let mut stored = [0; STORED_KEY_LEN];
    stored.copy_from_slice(&key.as_bytes()[..STORED_KEY_LEN]);
    stored
}

pub(super) fn default_shards(capacity: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, core::num::NonZero::get);
    let mut shards = cores.saturating_mul(2).min(MAX_SHARDS).next_power_of_two();
    while shards > 1 && capacity / shards < MIN_SHARD_CAPACITY {
        shards /= 2;
    }
    shards
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> Result<MutexGuard<'_, T>, ReplayError> {
    mutex.lock().map_err(|_| ReplayError::Unavailable)
}

/// For read-only statistics, a poisoned lock's data is still good enough.
pub(super) fn read<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
