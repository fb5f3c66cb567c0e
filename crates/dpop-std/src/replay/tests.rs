use core::hash::BuildHasher;

use std::hash::RandomState;

use super::memory::{
    MIN_SHARD_CAPACITY, Now, Probe, STORED_KEY_LEN, Slot, Table, cyclically_within, reduce,
    stored_key,
};
use super::quota::Window;
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
