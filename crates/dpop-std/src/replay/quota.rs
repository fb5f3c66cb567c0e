//! The per-key replay quota of [`MemoryReplayCache`](super::MemoryReplayCache): how many live
//! entries one key may hold.

use core::hash::BuildHasher;

use std::collections::HashMap;
use std::hash::RandomState;
use std::sync::Mutex;

use dpop_core::Thumbprint;

use super::ReplayError;
use super::memory::{CachePadded, lock};

/// Log2 of the quota histogram's bucket width: 64 seconds.
pub(super) const QUOTA_BUCKET_SHIFT: u32 = 6;
/// Buckets per histogram: expiries up to 7 to 8 minutes ahead get their own bucket.
pub(super) const QUOTA_BUCKETS: usize = 8;
/// A quota shard sweeps out keys without live entries when it grows past twice its size after
/// the previous sweep, and not below this size.
pub(super) const QUOTA_SWEEP_MIN: usize = 64;

/// Per-key live-entry counts, sharded by thumbprint. Independent of the entry tables: it counts
/// by expiry time, so it needs no notice when an entry is reclaimed.
#[derive(Debug)]
pub(super) struct Quota {
    pub(super) per_key: u32,
    pub(super) shards: Box<[CachePadded<Mutex<QuotaShard>>]>,
    pub(super) mask: u64,
}

#[derive(Debug, Default)]
pub(super) struct QuotaShard {
    pub(super) windows: HashMap<u64, Window>,
    pub(super) sweep_at: usize,
}

impl Quota {
    pub(super) fn new(per_key: u32, shards: usize) -> Self {
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
    pub(super) fn admit(
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

    pub(super) fn sweep(&self, now: u64) {
        for shard in &self.shards {
            if let Ok(mut shard) = shard.0.lock() {
                shard.sweep(now);
            }
        }
    }
}

impl QuotaShard {
    pub(super) fn sweep(&mut self, now: u64) {
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
pub(super) struct Window {
    pub(super) base: u64,
    /// The bucket of the latest `now` seen, to notice the clock going back.
    pub(super) seen: u64,
    pub(super) counts: [u32; QUOTA_BUCKETS],
}

impl Window {
    /// Forgets the buckets that ended at or before `now`: all their entries have expired.
    pub(super) fn expire(&mut self, now: u64) {
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

    pub(super) fn add(&mut self, expires: u64) {
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

    pub(super) fn live(&self) -> u64 {
        self.counts.iter().map(|&c| u64::from(c)).sum()
    }

    /// Moves the window `by` buckets forward; the buckets that fall off are dropped, or with
    /// `fold` added to the new first bucket.
    pub(super) fn advance(&mut self, by: u64, fold: bool) {
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
