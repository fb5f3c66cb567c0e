//! The in-memory replay cache: atomicity under contention, capacity, expiry, clock jumps,
//! quotas, memory per entry, and create → verify → consume → replay rejected end to end.

use core::pin::pin;
use core::task::{Context, Poll, Waker};
use std::collections::HashMap;
use std::sync::{Arc, Barrier};
use std::thread;

use dpop_core::{
    Algorithm, Expected, HttpMethod, NewProof, ProofId, SigningKey, TargetUri, Thumbprint,
    UnixTime, Verifier, VerifyError,
    crypto::{VerifyAlgorithm, rustcrypto::ES256_VERIFIER},
};
use dpop_std::clock::ManualClock;
use dpop_std::replay::{
    MemoryReplayCache, ReplayCache, ReplayError, ReplayKey, consume, expiry_for,
};
use proptest::prelude::*;

const T0: u64 = 1_700_000_000;

fn at(secs: u64) -> UnixTime {
    UnixTime::from_secs(secs)
}

/// A replay key as spread out as a SHA-256 output (the cache only hashes 16 of its bytes).
fn key(n: u64) -> ReplayKey {
    let mut bytes = [0x5a; 32];
    bytes[..8].copy_from_slice(&n.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_le_bytes());
    bytes[8..16].copy_from_slice(&n.to_be_bytes());
    ReplayKey::from_bytes(bytes)
}

/// A cache whose monotonic clock is a manual one, starting with the wall clock at `start`.
fn cache_at(start: u64, cache: MemoryReplayCache) -> (MemoryReplayCache, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(at(start)));
    (cache.with_clock(Arc::clone(&clock)), clock)
}

/// Moves `clock` to wall time `secs`: forward is time passing (both readings move), backward is
/// a step (the monotonic reading stays). Returns the new wall time.
fn pass(clock: &ManualClock, secs: u64) -> UnixTime {
    use dpop_std::clock::Clock;
    let current = clock.now().as_secs();
    if secs >= current {
        clock.advance(secs - current);
    } else {
        clock.set(at(secs));
    }
    at(secs)
}

fn client(n: u8) -> Thumbprint {
    Thumbprint::from_bytes([n; 32])
}

/// Polls a future that is ready at once (the memory cache's futures are).
fn now_or_never<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the memory cache never waits"),
    }
}

#[test]
fn same_proof_from_many_threads_is_accepted_exactly_once() {
    const THREADS: usize = 8;
    const ROUNDS: u64 = 500;
    let cache = Arc::new(MemoryReplayCache::with_capacity(10_000));
    let barrier = Arc::new(Barrier::new(THREADS));
    let workers: Vec<_> = (0..THREADS)
        .map(|_| {
            let (cache, barrier) = (Arc::clone(&cache), Arc::clone(&barrier));
            thread::spawn(move || {
                (0..ROUNDS)
                    .map(|round| {
                        barrier.wait();
                        cache.remember_now(&key(round), &client(1), at(T0 + 360), at(T0))
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let results: Vec<Vec<_>> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    for round in 0..ROUNDS {
        let round = usize::try_from(round).unwrap();
        let accepted = results.iter().filter(|r| r[round].is_ok()).count();
        assert_eq!(accepted, 1, "round {round}");
        assert!(
            results
                .iter()
                .all(|r| r[round].is_ok() || r[round] == Err(ReplayError::Replayed))
        );
    }
    assert_eq!(cache.len(), 500);
}

#[test]
fn distinct_proofs_from_many_threads_are_all_kept() {
    const THREADS: u64 = 8;
    const PER_THREAD: u64 = 5_000;
    let cache = Arc::new(MemoryReplayCache::with_capacity(100_000));
    let barrier = Arc::new(Barrier::new(8));
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (cache, barrier) = (Arc::clone(&cache), Arc::clone(&barrier));
            thread::spawn(move || {
                barrier.wait();
                for i in 0..PER_THREAD {
                    let k = key(t * PER_THREAD + i);
                    assert_eq!(
                        cache.remember_now(&k, &client(1), at(T0 + 360), at(T0)),
                        Ok(())
                    );
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    assert_eq!(cache.len(), 40_000);
    for n in 0..THREADS * PER_THREAD {
        let replay = cache.remember_now(&key(n), &client(1), at(T0 + 360), at(T0 + 1));
        assert_eq!(replay, Err(ReplayError::Replayed), "key {n} was lost");
    }
}

#[test]
fn full_cache_refuses_and_never_evicts_a_live_entry() {
    let (cache, clock) = cache_at(T0, MemoryReplayCache::with_capacity(100).with_shards(1));
    assert_eq!(cache.capacity(), 100);
    let until = at(T0 + 360);
    for n in 0..100 {
        assert_eq!(
            cache.remember_now(&key(n), &client(1), until, at(T0)),
            Ok(())
        );
    }
    for now in [T0, T0 + 100, T0 + 359] {
        let now = pass(&clock, now).as_secs();
        let refused = cache.remember_now(&key(100), &client(1), at(now + 360), at(now));
        assert_eq!(refused, Err(ReplayError::CapacityExceeded));
        for n in 0..100 {
            let replay = cache.remember_now(&key(n), &client(1), at(now + 360), at(now));
            assert_eq!(replay, Err(ReplayError::Replayed), "entry {n} was evicted");
        }
    }
    assert_eq!(cache.len(), 100);
    // Once the entries have expired, inserts reclaim them: no background thread involved.
    pass(&clock, T0 + 360);
    assert_eq!(
        cache.remember_now(&key(100), &client(1), at(T0 + 720), until),
        Ok(())
    );
    for n in 101..200 {
        assert_eq!(
            cache.remember_now(&key(n), &client(1), at(T0 + 720), until),
            Ok(())
        );
    }
    assert_eq!(cache.len(), 100);
    let refused = cache.remember_now(&key(200), &client(1), at(T0 + 720), until);
    assert_eq!(refused, Err(ReplayError::CapacityExceeded));
}

#[test]
fn zero_capacity_refuses_everything() {
    let cache = MemoryReplayCache::with_capacity(0);
    assert_eq!(cache.capacity(), 0);
    let refused = cache.remember_now(&key(1), &client(1), at(T0 + 360), at(T0));
    assert_eq!(refused, Err(ReplayError::CapacityExceeded));
}

#[test]
fn full_sharded_cache_refuses_and_never_evicts() {
    let (cache, clock) = cache_at(T0, MemoryReplayCache::with_capacity(4_096).with_shards(16));
    let capacity = cache.capacity();
    let mut accepted = Vec::new();
    let mut refused = 0;
    let mut n = 0;
    while cache.len() < capacity {
        assert!(n < 100 * capacity as u64, "could not fill the cache");
        match cache.remember_now(&key(n), &client(1), at(T0 + 360), at(T0)) {
            Ok(()) => accepted.push(n),
            Err(e) => {
                assert_eq!(e, ReplayError::CapacityExceeded);
                refused += 1;
            }
        }
        n += 1;
    }
    assert!(refused > 0, "some shard must have filled up first");
    assert_eq!(accepted.len(), capacity);
    pass(&clock, T0 + 359);
    for &n in &accepted {
        let replay = cache.remember_now(&key(n), &client(1), at(T0 + 360), at(T0 + 359));
        assert_eq!(replay, Err(ReplayError::Replayed));
    }
    let fresh = cache.remember_now(&key(n), &client(1), at(T0 + 720), at(T0 + 359));
    assert_eq!(fresh, Err(ReplayError::CapacityExceeded));
    pass(&clock, T0 + 360);
    assert_eq!(
        cache.remember_now(&key(n), &client(1), at(T0 + 720), at(T0 + 360)),
        Ok(())
    );
    // That insert's sweep already reclaimed a few entries of its shard; purging takes the rest.
    let purged = cache.purge_expired(at(T0 + 360));
    assert!(purged > capacity - 20 && purged < capacity, "{purged}");
    assert_eq!(cache.len(), 1);
}

#[test]
fn entry_expires_at_the_documented_instant() {
    let (cache, clock) = cache_at(T0, MemoryReplayCache::with_capacity(10));
    let expires = at(T0 + 361);
    assert_eq!(
        cache.remember_now(&key(1), &client(1), expires, at(T0)),
        Ok(())
    );
    let replay = cache.remember_now(&key(1), &client(1), at(T0 + 900), pass(&clock, T0 + 360));
    assert_eq!(replay, Err(ReplayError::Replayed), "live at expires_at - 1");
    assert_eq!(
        cache.remember_now(&key(1), &client(1), at(T0 + 900), pass(&clock, T0 + 361)),
        Ok(())
    );
    // Remembered again until T0 + 900.
    let replay = cache.remember_now(&key(1), &client(1), at(T0 + 900), pass(&clock, T0 + 899));
    assert_eq!(replay, Err(ReplayError::Replayed));
}

#[test]
fn expiry_in_the_past_still_remembers_for_one_second() {
    let (cache, clock) = cache_at(T0, MemoryReplayCache::with_capacity(10));
    assert_eq!(
        cache.remember_now(&key(1), &client(1), at(5), at(T0)),
        Ok(())
    );
    let replay = cache.remember_now(&key(1), &client(1), at(5), at(T0));
    assert_eq!(replay, Err(ReplayError::Replayed));
    assert_eq!(
        cache.remember_now(&key(1), &client(1), at(5), pass(&clock, T0 + 1)),
        Ok(())
    );
}

#[test]
fn clock_jumps_never_accept_a_replay() {
    let (cache, clock) = cache_at(
        1_000,
        MemoryReplayCache::with_capacity(1_000).with_shards(1),
    );
    assert_eq!(
        cache.remember_now(&key(1), &client(1), at(1_360), at(1_000)),
        Ok(())
    );
    // Backwards: the entry is still live.
    for now in [500, 0, 999, 1_359] {
        clock.set(at(now));
        let replay = cache.remember_now(&key(1), &client(1), at(now + 360), at(now));
        assert_eq!(replay, Err(ReplayError::Replayed), "now = {now}");
    }
    // Backwards after other inserts have run sweeps and reclaims: still live.
    clock.set(at(500));
    for n in 2..500 {
        assert_eq!(
            cache.remember_now(&key(n), &client(1), at(860), at(500)),
            Ok(())
        );
    }
    let replay = cache.remember_now(&key(1), &client(1), at(860), at(500));
    assert_eq!(replay, Err(ReplayError::Replayed));
    // Forwards, far, as a step: by the wall clock everything has expired, but no time has
    // passed, so every entry is still there, even after a purge.
    let later = 1_000_000;
    clock.set(at(later));
    assert_eq!(cache.purge_expired(at(later)), 0);
    for n in 1..500 {
        let result = cache.remember_now(&key(n), &client(1), at(later + 360), at(later));
        assert_eq!(result, Err(ReplayError::Replayed), "key {n}");
    }
    // Once their lifetime has passed in real time too, they are reclaimed on demand.
    clock.advance(360);
    let now = later + 360;
    for n in 1..=1_000 {
        let result = cache.remember_now(&key(n), &client(1), at(now + 360), at(now));
        assert_eq!(result, Ok(()), "key {n}");
    }
    assert_eq!(cache.len(), 1_000);
    let full = cache.remember_now(&key(1_001), &client(1), at(now + 360), at(now));
    assert_eq!(full, Err(ReplayError::CapacityExceeded));
}

#[test]
fn per_key_quota_at_and_past_the_limit() {
    let (cache, clock) = cache_at(T0, MemoryReplayCache::with_capacity(1_000).with_quota(3));
    let until = at(T0 + 361);
    for n in 0..3 {
        assert_eq!(
            cache.remember_now(&key(n), &client(1), until, at(T0)),
            Ok(())
        );
    }
    let over = cache.remember_now(&key(3), &client(1), until, at(T0));
    assert_eq!(over, Err(ReplayError::QuotaExceeded));
    // A replay is reported as a replay, not as a quota problem.
    assert_eq!(
        cache.remember_now(&key(0), &client(1), until, at(T0)),
        Err(ReplayError::Replayed)
    );
    // Other keys are unaffected.
    for n in 10..13 {
        assert_eq!(
            cache.remember_now(&key(n), &client(2), until, at(T0)),
            Ok(())
        );
    }
    assert_eq!(cache.len(), 6);
    // The refused proof was not remembered. Quota frees up once the 64-second bucket holding
    // the expiries has ended, at most 63 seconds after the entries themselves expired.
    let bucket_end = ((T0 + 361) / 64 + 1) * 64;
    pass(&clock, bucket_end - 1);
    let still = cache.remember_now(
        &key(3),
        &client(1),
        at(bucket_end + 400),
        at(bucket_end - 1),
    );
    assert_eq!(still, Err(ReplayError::QuotaExceeded));
    pass(&clock, bucket_end);
    assert_eq!(
        cache.remember_now(&key(3), &client(1), at(bucket_end + 400), at(bucket_end)),
        Ok(())
    );
}

#[test]
fn quota_counts_live_entries_of_a_steady_client() {
    // A client sending one proof a second, each living 360 s, stays near 360 live entries; a
    // quota of 500 must never refuse it however long it runs.
    let (cache, clock) = cache_at(T0, MemoryReplayCache::with_capacity(10_000).with_quota(500));
    for i in 0..5_000 {
        let now = pass(&clock, T0 + i).as_secs();
        assert_eq!(
            cache.remember_now(&key(i), &client(1), at(now + 360), at(now)),
            Ok(()),
            "{i}"
        );
    }
}

#[test]
fn memory_per_entry_is_at_most_64_bytes() {
    let per_entry = MemoryReplayCache::bytes_per_entry();
    let cache = MemoryReplayCache::with_capacity(1_000_000);
    let measured = cache.table_bytes() as f64 / cache.capacity() as f64;
    println!(
        "bytes per entry: {per_entry} (layout), {measured:.2} measured over {} shards",
        cache.shards()
    );
    assert!(per_entry <= 64);
    assert!(measured <= 64.0);
}

fn proof(jti: &str, issued_at: UnixTime) -> String {
    let key = SigningKey::from_bytes(Algorithm::Es256, &[7; 32]).expect("valid P-256 scalar");
    let uri = TargetUri::parse("https://api.example.com/items").expect("valid URI");
    let id = ProofId::new(jti).expect("valid jti");
    NewProof::new(HttpMethod::GET, uri, id, issued_at)
        .encode_to_string(&key)
        .expect("signs")
}

#[test]
fn create_verify_consume_then_replay_is_rejected() {
    static ALGS: [&dyn VerifyAlgorithm; 1] = [ES256_VERIFIER];
    let verifier = Verifier::new(&ALGS);
    let uri = TargetUri::parse("https://api.example.com/items?page=2").unwrap();
    let expected = Expected::new(HttpMethod::GET, uri);
    let cache = MemoryReplayCache::with_capacity(1_000);
    let iat = at(T0);
    let jws = proof("proof-1", iat);

    let verified = verifier.verify(&jws, &expected, iat).unwrap();
    assert_eq!(
        now_or_never(consume(&cache, &verifier, &verified, iat)),
        Ok(())
    );

    // The proof passes verification up to and including iat + max_age + leeway ...
    let last = iat.saturating_add(verifier.acceptance_window());
    let again = verifier.verify(&jws, &expected, last).unwrap();
    assert_eq!(again.replay_key(), verified.replay_key());
    assert_eq!(expiry_for(&verifier, &again, last), last.saturating_add(1));
    // ... and is caught by the cache all that time, through consume and the cache's own seam.
    assert_eq!(
        now_or_never(consume(&cache, &verifier, &again, last)),
        Err(ReplayError::Replayed)
    );
    let remembered = cache.remember(again.replay_key(), again.thumbprint(), last, last);
    assert_eq!(now_or_never(remembered), Err(ReplayError::Replayed));
    // One second later it is too old to verify, so the entry may go.
    let after = last.saturating_add(1);
    assert!(matches!(
        verifier.verify(&jws, &expected, after),
        Err(VerifyError::TooOld { .. })
    ));

    // A different jti from the same key is a different proof.
    let other = verifier
        .verify(&proof("proof-2", iat), &expected, iat)
        .unwrap();
    assert_eq!(
        now_or_never(consume(&cache, &verifier, &other, iat)),
        Ok(())
    );
}

#[test]
fn types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<MemoryReplayCache>();
    assert_send_sync::<ReplayError>();
}

/// One step of the model test: let `advance` seconds pass, then step the wall clock by `jump`
/// seconds (usually 0), then present key `key`, to be remembered for `lifetime` seconds.
#[derive(Clone, Debug)]
struct Step {
    key: u64,
    advance: u64,
    jump: i64,
    lifetime: u64,
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        (
            0..12_u64,
            prop_oneof![3 => Just(0_u64), 2 => 1..4_u64, 1 => 4..40_u64],
            prop_oneof![12 => Just(0_i64), 1 => -60..60_i64],
            1..30_u64,
        )
            .prop_map(|(key, advance, jump, lifetime)| Step {
                key,
                advance,
                jump,
                lifetime,
            }),
        1..300,
    )
}

proptest! {
    /// The cache against a model of the documented rule: an entry is kept until it has expired
    /// by the wall clock and its lifetime has passed on the monotonic clock, both at once. Once
    /// that has happened it may be reclaimed at any time, so if a backward step makes it live
    /// again by the wall clock, either answer is right for it (the documented limit).
    #[test]
    fn cache_agrees_with_a_hash_map_model(steps in steps(), shards in 0..3_u32) {
        let (cache, clock) = cache_at(
            T0,
            MemoryReplayCache::with_capacity(64).with_shards(1 << shards),
        );
        // key -> (wall expiry, monotonic expiry, has expired on both clocks at some point)
        let mut model: HashMap<u64, (u64, u64, bool)> = HashMap::new();
        let (mut now, mut mono) = (T0, 0);
        for step in steps {
            clock.advance(step.advance);
            now += step.advance;
            mono += step.advance;
            now = now.checked_add_signed(step.jump).unwrap();
            clock.set(at(now));
            for (wall, until, dead) in model.values_mut() {
                *dead |= now >= *wall && mono >= *until;
            }
            let expires = now + step.lifetime;
            let result = cache.remember_now(&key(step.key), &client(1), at(expires), at(now));
            let entry = model.get(&step.key).copied();
            let kept = entry.is_some_and(|(_, _, dead)| !dead);
            let live_again = entry.is_some_and(|(wall, until, dead)| dead && (now < wall || mono < until));
            if kept {
                prop_assert_eq!(result, Err(ReplayError::Replayed));
            } else if live_again {
                prop_assert!(result == Ok(()) || result == Err(ReplayError::Replayed));
            } else {
                prop_assert_eq!(result, Ok(()));
            }
            if result.is_ok() {
                model.insert(step.key, (expires, mono + step.lifetime, false));
            }
            prop_assert!(cache.len() >= model.values().filter(|e| !e.2).count());
        }
    }
}

/// Resident memory of this process in bytes (`VmRSS` of `/proc/self/status`; Linux only).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Soak: tens of millions of inserts into one cache with a moving clock (10 000 new proofs per
/// simulated second from 251 clients, each entry living 361 s, a per-key quota), and
/// resident memory must stay flat once the first entries have expired and been reclaimed.
/// Also times inserts with the default (system) monotonic clock against the manual one.
///
/// ```text
/// cargo test --release -p dpop-std --test it -- --ignored --nocapture soak
/// DPOP_SOAK_INSERTS=100000000 cargo test --release -p dpop-std --test it -- --ignored --nocapture soak
/// ```
#[test]
#[ignore = "soak: 30 million inserts by default, about a minute in release; run on demand (see the doc comment)"]
fn soak_resident_memory_stays_flat_with_a_moving_clock() {
    const PER_SECOND: u64 = 10_000;
    const LIFETIME: u64 = 361;
    let inserts: u64 = std::env::var("DPOP_SOAK_INSERTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(30_000_000);
    let window = PER_SECOND * LIFETIME;
    assert!(inserts >= 4 * window, "run at least four windows");
    let Some(start_rss) = resident_bytes() else {
        eprintln!("note: no /proc/self/status; the soak needs Linux");
        return;
    };
    // Room for the live entries (3.61 million) with 25 % headroom for expired ones.
    let (cache, clock) = cache_at(
        T0,
        MemoryReplayCache::with_capacity(usize::try_from(window * 5 / 4).unwrap())
            .with_quota(100_000),
    );
    let started = std::time::Instant::now();
    let mut after_first_window = 0;
    let mut highest = 0;
    let mut window_started = std::time::Instant::now();
    for i in 0..inserts {
        if i > 0 && i % PER_SECOND == 0 {
            clock.advance(1);
        }
        let now = T0 + i / PER_SECOND;
        let result = cache.remember_now(
            &key(i),
            &client(u8::try_from(i % 251).unwrap()),
            at(now + LIFETIME),
            at(now),
        );
        assert_eq!(result, Ok(()), "insert {i}");
        if (i + 1) % window == 0 {
            let rss = resident_bytes().unwrap();
            let n = (i + 1) / window;
            eprintln!(
                "window {n}: {} inserts, {} held, resident {:.1} MiB, {:.0} ns per insert",
                i + 1,
                cache.len(),
                rss as f64 / 1_048_576.0,
                window_started.elapsed().as_nanos() as f64 / window as f64
            );
            window_started = std::time::Instant::now();
            if n == 2 {
                after_first_window = rss;
            } else if n > 2 {
                highest = highest.max(rss);
            }
        }
    }
    let table = cache.table_bytes();
    eprintln!(
        "soak: {inserts} inserts in {:.1?}; table {:.1} MiB ({} bytes per entry of capacity); \
         resident {:.1} MiB at start, {:.1} MiB after the second window, at most {:.1} MiB \
         after it",
        started.elapsed(),
        table as f64 / 1_048_576.0,
        MemoryReplayCache::bytes_per_entry(),
        start_rss as f64 / 1_048_576.0,
        after_first_window as f64 / 1_048_576.0,
        highest as f64 / 1_048_576.0
    );
    // Flat: no growth beyond 1 MiB (page-granularity noise) once the table is warm.
    assert!(
        highest <= after_first_window + 1_048_576,
        "resident memory grew from {after_first_window} to {highest}"
    );

    // The price of reading the system's monotonic clock on every insert: a warm table (3
    // million entries that expire a second later, so every page is touched), then 2 million
    // timed inserts of new keys that reuse and reclaim the expired slots, with a manual clock
    // and with the default one.
    let timed = |cache: MemoryReplayCache, pass_time: &dyn Fn()| {
        for i in 0..3_000_000 {
            cache
                .remember_now(&key(i), &client(1), at(T0 + 1), at(T0))
                .unwrap();
        }
        pass_time();
        let started = std::time::Instant::now();
        for i in 3_000_000..5_000_000 {
            cache
                .remember_now(&key(i), &client(1), at(T0 + 362), at(T0 + 2))
                .unwrap();
        }
        started.elapsed().as_nanos() as f64 / 2e6
    };
    drop(cache);
    let clock = Arc::new(ManualClock::new(at(T0)));
    let manual = timed(
        MemoryReplayCache::with_capacity(4_000_000).with_clock(Arc::clone(&clock)),
        &|| clock.advance(2),
    );
    let system = timed(MemoryReplayCache::with_capacity(4_000_000), &|| {
        thread::sleep(core::time::Duration::from_millis(2_100));
    });
    eprintln!(
        "insert into a warm cache: {manual:.0} ns with a manual clock, {system:.0} ns with \
         the system monotonic clock"
    );
}
