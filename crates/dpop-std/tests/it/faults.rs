//! Under load and faults, through the full request path (`Server::verify_token_request`, then
//! `Server::check_grant` into one `MemoryReplayCache`): many threads verifying distinct proofs and
//! replaying the same ones, a cache at capacity, and a clock that jumps backwards and forwards.
//!
//! Every outcome must be a typed rejection or a correct decision: a proof is accepted at most
//! once, a proof that was never accepted is never reported as replayed, nothing panics, and
//! nothing deadlocks (each scenario runs on its own thread under a watchdog). The Redis-backed
//! cache's faults (server killed and restarted) are tested in `crates/dpop-redis/tests`.

#![allow(
    clippy::unwrap_used,
    clippy::unwrap_in_result,
    clippy::indexing_slicing,
    reason = "test code: a broken fixture should panic"
)]

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use dpop_core::{SigningKey, UnixTime, VerifyError, crypto::rustcrypto::ES256_VERIFIER};
use dpop_std::clock::{Clock, ManualClock};
use dpop_std::replay::{MemoryReplayCache, ReplayError};
use dpop_std::server::{Grant, Reason, Server, UriPolicy};
use dpop_testkit::{TestProof, block_on, key};
use http::{Request, StatusCode};

const T0: u64 = 1_700_000_000;
const TOKEN_URL: &str = "https://as.example.com/token";
/// `max_age + leeway` of the default verifier: a proof verifies while `now - 360 <= iat`.
const WINDOW: u64 = 360;
/// The default leeway: a proof verifies while `iat <= now + 60`.
const LEEWAY: u64 = 60;

/// How long a scenario may run before the watchdog declares a deadlock. Generous: debug builds
/// on a busy 2-core machine verify a few hundred P-256 proofs per second.
const WATCHDOG: Duration = Duration::from_secs(120);

/// A token-endpoint proof from `key` with identifier `jti`, issued at `iat`.
fn proof(key: &SigningKey, jti: &str, iat: u64) -> String {
    TestProof::new(key, "POST", TOKEN_URL, jti).iat(iat).build()
}

fn server(clock: &Arc<ManualClock>) -> Server {
    Server::builder(
        &[ES256_VERIFIER],
        UriPolicy::public_base("https://as.example.com")
            .build()
            .unwrap(),
    )
    .with_clock(clock.clone())
    .build()
    .unwrap()
}

/// What the server decided about one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Accepted,
    Rejected(Reason),
}

/// Verify, then consume: the request path of a token endpoint. A panic anywhere is reported as
/// a test failure with the proof, never swallowed.
fn attempt(server: &Server, cache: &MemoryReplayCache, proof: &str) -> Outcome {
    let run = || {
        let request = Request::builder()
            .method("POST")
            .uri("/token")
            .header("dpop", proof)
            .body(())
            .unwrap();
        match server.verify_token_request(&request) {
            Err(rejection) => Outcome::Rejected(rejection.reason()),
            Ok(verified) => match block_on(server.check_grant(cache, verified, Grant::Other)) {
                Ok(_) => Outcome::Accepted,
                Err(rejection) => {
                    // Fail-closed answers have their own statuses.
                    let status = rejection.status();
                    match rejection.reason() {
                        Reason::Replay(ReplayError::CapacityExceeded) => {
                            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
                        }
                        Reason::Replay(ReplayError::QuotaExceeded) => {
                            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
                        }
                        _ => assert_eq!(status, StatusCode::BAD_REQUEST),
                    }
                    Outcome::Rejected(rejection.reason())
                }
            },
        }
    };
    catch_unwind(AssertUnwindSafe(run)).unwrap_or_else(|_| panic!("panicked on {proof}"))
}

/// Presents every proof of `proofs` on each of `threads` threads at once, each with its own
/// [`server`] on the shared `clock` and `cache`, started together behind a barrier. Each thread
/// starts at another offset, so the same proof arrives on several threads at once. Returns every
/// `(index, outcome)` of every thread.
fn present_on_threads<T: Send + Sync + 'static>(
    threads: usize,
    clock: &Arc<ManualClock>,
    cache: &Arc<MemoryReplayCache>,
    proofs: &Arc<Vec<T>>,
    proof_of: fn(&T) -> &str,
) -> Vec<(usize, Outcome)> {
    let barrier = Arc::new(Barrier::new(threads));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (proofs, clock, cache, barrier) = (
                Arc::clone(proofs),
                Arc::clone(clock),
                Arc::clone(cache),
                Arc::clone(&barrier),
            );
            thread::spawn(move || {
                let server = server(&clock);
                barrier.wait();
                let count = proofs.len();
                (0..count)
                    .map(|i| {
                        let n = (i + t * count / threads) % count;
                        (n, attempt(&server, &cache, proof_of(&proofs[n])))
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    workers
        .into_iter()
        .flat_map(|worker| worker.join().unwrap())
        .collect()
}

/// A clock at [`T0`], a one-shard cache of 64 entries that shares it (every `set` is a step,
/// during which no time passes), and a [`server`] on the same clock.
fn stepped() -> (Arc<ManualClock>, MemoryReplayCache, Server) {
    let clock = Arc::new(ManualClock::new(UnixTime::from_secs(T0)));
    let cache = MemoryReplayCache::with_capacity(64)
        .with_shards(1)
        .with_clock(Arc::clone(&clock));
    let server = server(&clock);
    (clock, cache, server)
}

/// Runs `scenario` on its own thread; fails the test if it has not finished within
/// [`WATCHDOG`] (a deadlock or livelock), and passes its panics on.
fn with_watchdog<T: Send + 'static>(
    name: &str,
    scenario: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (done, result) = mpsc::channel();
    let worker = thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let _ = done.send(scenario());
        })
        .unwrap();
    let started = Instant::now();
    match result.recv_timeout(WATCHDOG) {
        Ok(value) => {
            worker.join().unwrap();
            eprintln!("{name}: {:.2?}", started.elapsed());
            value
        }
        Err(RecvTimeoutError::Timeout) => {
            panic!("{name} did not finish within {WATCHDOG:?}: deadlock or livelock")
        }
        Err(RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the scenario sends its result before it returns"),
        },
    }
}

#[test]
fn many_threads_verifying_and_replaying_accept_each_proof_exactly_once() {
    const THREADS: usize = 8;
    const KEYS: u8 = 8;
    const PER_KEY: usize = 10;
    const PROOFS: usize = KEYS as usize * PER_KEY;
    with_watchdog("concurrent verify and consume", || {
        let proofs: Arc<Vec<String>> = Arc::new(
            (1..=KEYS)
                .flat_map(|seed| {
                    let k = key(seed);
                    (0..PER_KEY)
                        .map(|i| proof(&k, &format!("k{seed}-{i}"), T0))
                        .collect::<Vec<_>>()
                })
                .collect(),
        );
        let clock = Arc::new(ManualClock::new(UnixTime::from_secs(T0)));
        // Sharded (the default for this capacity) with a per-key quota: two locks per insert.
        let cache = Arc::new(
            MemoryReplayCache::with_capacity(4 * PROOFS)
                .with_quota(u32::try_from(PER_KEY).unwrap()),
        );
        let mut accepted = vec![0usize; PROOFS];
        let mut replayed = vec![0usize; PROOFS];
        for (n, outcome) in present_on_threads(THREADS, &clock, &cache, &proofs, String::as_str) {
            match outcome {
                Outcome::Accepted => accepted[n] += 1,
                Outcome::Rejected(Reason::Replay(ReplayError::Replayed)) => replayed[n] += 1,
                other => panic!("proof {n}: unexpected {other:?}"),
            }
        }
        // No double acceptance, and no proof refused by everyone.
        assert_eq!(accepted, vec![1; PROOFS]);
        assert_eq!(replayed, vec![THREADS - 1; PROOFS]);
        // No lost insert: every proof is still remembered.
        let server = server(&clock);
        for (n, p) in proofs.iter().enumerate() {
            assert_eq!(
                attempt(&server, &cache, p),
                Outcome::Rejected(Reason::Replay(ReplayError::Replayed)),
                "proof {n} was forgotten"
            );
        }
        assert_eq!(cache.len(), PROOFS);
    });
}

#[test]
fn a_full_cache_refuses_new_proofs_and_keeps_every_live_one() {
    const CAPACITY: usize = 32;
    const THREADS: usize = 4;
    const PER_THREAD: usize = 16;
    with_watchdog("replay cache at capacity", || {
        let clock = Arc::new(ManualClock::new(UnixTime::from_secs(T0)));
        // One shard: exactly CAPACITY entries fit, so the counts below are exact.
        let cache = Arc::new(
            MemoryReplayCache::with_capacity(CAPACITY)
                .with_shards(1)
                .with_clock(Arc::clone(&clock)),
        );
        assert_eq!(cache.capacity(), CAPACITY);
        let barrier = Arc::new(Barrier::new(THREADS));
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (clock, cache, barrier) =
                    (Arc::clone(&clock), Arc::clone(&cache), Arc::clone(&barrier));
                thread::spawn(move || {
                    let k = key(u8::try_from(t + 1).unwrap());
                    let proofs: Vec<String> = (0..PER_THREAD)
                        .map(|i| proof(&k, &format!("t{t}-{i}"), T0))
                        .collect();
                    let server = server(&clock);
                    barrier.wait();
                    let outcomes: Vec<Outcome> =
                        proofs.iter().map(|p| attempt(&server, &cache, p)).collect();
                    proofs.into_iter().zip(outcomes).collect::<Vec<_>>()
                })
            })
            .collect();
        let results: Vec<(String, Outcome)> = workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect();
        let accepted: Vec<&String> = results
            .iter()
            .filter(|(_, o)| *o == Outcome::Accepted)
            .map(|(p, _)| p)
            .collect();
        let refused: Vec<&String> = results
            .iter()
            .filter(|(_, o)| *o == Outcome::Rejected(Reason::Replay(ReplayError::CapacityExceeded)))
            .map(|(p, _)| p)
            .collect();
        assert_eq!(accepted.len(), CAPACITY, "{results:?}");
        assert_eq!(refused.len(), THREADS * PER_THREAD - CAPACITY);
        assert_eq!(cache.len(), CAPACITY);

        let server = server(&clock);
        // Live entries are never evicted: every accepted proof is still a replay, right up to
        // the last second it could verify.
        for wait in [0, WINDOW] {
            clock.advance(wait);
            for p in &accepted {
                assert_eq!(
                    attempt(&server, &cache, p),
                    Outcome::Rejected(Reason::Replay(ReplayError::Replayed))
                );
            }
            // A refused proof was not remembered: presented again, it is refused for room,
            // not as a replay, and never accepted.
            for p in &refused {
                assert_eq!(
                    attempt(&server, &cache, p),
                    Outcome::Rejected(Reason::Replay(ReplayError::CapacityExceeded))
                );
            }
        }
        // Once the entries have expired, the old proofs are too old to verify and new ones fit
        // again: reclaimed on demand, without a background thread.
        clock.advance(1);
        for p in accepted.iter().chain(&refused) {
            assert!(matches!(
                attempt(&server, &cache, p),
                Outcome::Rejected(Reason::Proof(VerifyError::TooOld { .. }))
            ));
        }
        let k = key(99);
        for i in 0..CAPACITY {
            let fresh = proof(&k, &format!("later-{i}"), T0 + WINDOW + 1);
            assert_eq!(attempt(&server, &cache, &fresh), Outcome::Accepted, "{i}");
        }
        let one_more = proof(&k, "one-more", T0 + WINDOW + 1);
        assert_eq!(
            attempt(&server, &cache, &one_more),
            Outcome::Rejected(Reason::Replay(ReplayError::CapacityExceeded))
        );
    });
}

/// The decision the model expects, as a short name: the verifier's freshness rule (RFC 9449
/// section 4.3 with the defaults `max_age = 300`, `leeway = 60`), then the replay cache.
fn expected(iat: u64, now: u64, accepted_before: bool) -> &'static str {
    if iat > now + LEEWAY {
        "issued_in_future"
    } else if iat + WINDOW < now {
        "too_old"
    } else if accepted_before {
        "replayed"
    } else {
        "accepted"
    }
}

fn name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Accepted => "accepted",
        Outcome::Rejected(Reason::Replay(ReplayError::Replayed)) => "replayed",
        Outcome::Rejected(Reason::Proof(VerifyError::TooOld { .. })) => "too_old",
        Outcome::Rejected(Reason::Proof(VerifyError::IssuedInFuture { .. })) => "issued_in_future",
        Outcome::Rejected(other) => panic!("unexpected rejection {other:?}"),
    }
}

/// Presents `proof` (issued at `iat`) with the clock at `now` and checks the decision against
/// the model; `accepted` holds the proofs accepted so far.
fn present(
    server: &Server,
    cache: &MemoryReplayCache,
    (proof, iat): (&str, u64),
    now: u64,
    accepted: &mut HashSet<String>,
    step: &str,
) {
    let want = expected(iat, now, accepted.contains(proof));
    let got = name(attempt(server, cache, proof));
    assert_eq!(got, want, "{step}: proof issued at {iat}, clock at {now}");
    if got == "accepted" {
        accepted.insert(proof.to_owned());
    }
}

/// Jumps back a little and a lot, forward within the window and past every entry's expiry, and
/// back within the life of the live entries. At each step one new proof is made with the
/// clock's time and every proof seen so far is presented again: each decision is exactly the
/// one the freshness rule and the replay cache call for.
///
/// The timeline never steps back into the window of a proof whose entry has expired by the
/// clock's furthest reading: that case is the next test.
#[test]
fn clock_jumps_back_and_forth_give_the_right_decision_every_time() {
    with_watchdog("clock jumps", || {
        let (clock, cache, server) = stepped();
        let k = key(7);
        let mut accepted = HashSet::new();
        let mut seen: Vec<(String, u64)> = Vec::new();
        let timeline: [i64; 12] = [
            0, -30, -3_600, 200, 59, -59, 3_800, 300, -200, 86_400, -30, 30,
        ];
        let mut now = T0;
        for (i, jump) in timeline.into_iter().enumerate() {
            now = now.checked_add_signed(jump).unwrap();
            clock.set(UnixTime::from_secs(now));
            seen.push((proof(&k, &format!("step-{i}"), now), now));
            for (p, iat) in &seen {
                let step = format!("step {i} (jump {jump:+})");
                present(&server, &cache, (p, *iat), now, &mut accepted, &step);
            }
        }
        // Each proof was accepted once, when it was made.
        assert_eq!(accepted.len(), timeline.len());
    });
}

/// Workers verify and consume a shared pool of proofs while another thread moves the clock
/// back and forth at random within 200 seconds. The pool's proofs are issued within the same
/// band, so no entry can expire during the run: every decision must be accepted, replayed or
/// issued-in-the-future, and each proof accepted at most once.
#[test]
fn concurrent_clock_jumps_never_accept_a_replay() {
    const THREADS: usize = 4;
    const POOL: usize = 48;
    with_watchdog("concurrent clock jumps", || {
        let clock = Arc::new(ManualClock::new(UnixTime::from_secs(T0)));
        let cache =
            Arc::new(MemoryReplayCache::with_capacity(1_024).with_clock(Arc::clone(&clock)));
        let k = key(9);
        // iat from T0 - 100 to T0 + 100.
        let pool: Arc<Vec<(String, u64)>> = Arc::new(
            (0..POOL)
                .map(|i| {
                    let iat =
                        T0 - 100 + 200 * u64::try_from(i).unwrap() / u64::try_from(POOL).unwrap();
                    (proof(&k, &format!("pool-{i}"), iat), iat)
                })
                .collect(),
        );
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let jumper = {
            let (clock, stop) = (Arc::clone(&clock), Arc::clone(&stop));
            thread::spawn(move || {
                let mut state = 0x9E37_79B9_7F4A_7C15_u64;
                let mut jumps = 0;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    clock.set(UnixTime::from_secs(T0 - 100 + state % 201));
                    jumps += 1;
                    thread::sleep(Duration::from_micros(200));
                }
                jumps
            })
        };
        let mut accepted = vec![0usize; POOL];
        for (n, outcome) in
            present_on_threads(THREADS, &clock, &cache, &pool, |(proof, _)| proof.as_str())
        {
            match name(outcome) {
                "accepted" => accepted[n] += 1,
                "replayed" | "issued_in_future" => {}
                other => panic!("proof {n}: {other} cannot happen within the band"),
            }
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let jumps = jumper.join().unwrap();
        assert!(jumps > 1, "the clock moved {jumps} times");
        assert!(
            accepted.iter().all(|&a| a <= 1),
            "double acceptance: {accepted:?}"
        );
        // With the clock at the top of the band every pool proof is fresh: the ones accepted
        // are replays, the others are accepted now. Nothing was lost, nothing accepted twice.
        clock.set(UnixTime::from_secs(T0 + 100));
        let server = server(&clock);
        for (n, (p, _)) in pool.iter().enumerate() {
            let want = if accepted[n] == 1 {
                "replayed"
            } else {
                "accepted"
            };
            assert_eq!(name(attempt(&server, &cache, p)), want, "proof {n}");
        }
        eprintln!(
            "{} of {POOL} pool proofs accepted while the clock jumped {jumps} times",
            accepted.iter().sum::<usize>()
        );
    });
}

/// The forward-then-back case: the clock runs ahead past the entries' expiry long enough for
/// them to be reclaimed by the wall clock, then is corrected. A proof from before the jump is
/// fresh again by the corrected clock; its entry must still be there, because it has not lived
/// its lifetime in real (monotonic) time. Once that has passed, the proof is too old anyway.
#[test]
fn clock_forward_past_expiry_then_back_never_accepts_a_replay() {
    with_watchdog("clock forward then back", || {
        let (clock, cache, server) = stepped();
        let k = key(7);
        let mut accepted = HashSet::new();
        let before = proof(&k, "before-the-jump", T0);
        present(&server, &cache, (&before, T0), T0, &mut accepted, "t0");
        clock.advance(5);

        // An hour ahead (a bad NTP step): the old proof is too old, traffic goes on and fills
        // the table, so every insert sweeps and may reclaim.
        let ahead = T0 + 5 + 3_600;
        clock.set(UnixTime::from_secs(ahead));
        present(
            &server,
            &cache,
            (&before, T0),
            ahead,
            &mut accepted,
            "ahead",
        );
        for i in 0..40 {
            let p = proof(&k, &format!("ahead-{i}"), ahead);
            present(&server, &cache, (&p, ahead), ahead, &mut accepted, "ahead");
        }
        // Callers with a timer purge too; by the wall clock the entry of `before` has expired.
        cache.purge_expired(UnixTime::from_secs(ahead));
        assert_eq!(cache.len(), 41, "an entry was reclaimed after a step");

        // Corrected back to the true time: `before` verifies again by its iat, and must be
        // refused as a replay.
        clock.set(UnixTime::from_secs(T0 + 5));
        present(
            &server,
            &cache,
            (&before, T0),
            T0 + 5,
            &mut accepted,
            "back",
        );
        assert_eq!(
            attempt(&server, &cache, &before),
            Outcome::Rejected(Reason::Replay(ReplayError::Replayed))
        );

        // Real time passes to the end of its window: still refused at the last second it
        // verifies; a second later it is too old, and its entry may go.
        clock.advance(WINDOW - 5);
        let end = T0 + WINDOW;
        present(&server, &cache, (&before, T0), end, &mut accepted, "end");
        assert_eq!(cache.purge_expired(clock.now()), 0);
        clock.advance(1);
        present(
            &server,
            &cache,
            (&before, T0),
            end + 1,
            &mut accepted,
            "after",
        );
        assert_eq!(cache.purge_expired(clock.now()), 1);
        // The proofs made while the clock was ahead stay until the wall clock passes their
        // expiry again: a step back never frees an entry early.
        assert_eq!(cache.len(), 40);
    });
}
