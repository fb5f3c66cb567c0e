//! Integration tests against real Redis servers.
//!
//! - Tests that need a shared Redis use `DPOP_TEST_REDIS_URL`, or, when it is unset, one
//!   `redis-server` this test binary starts on a free port of 127.0.0.1 (and stops).
//! - Tests that stop and restart a server start their own `redis-server` child process.
//! - Tests of unreachable and unresponsive servers need neither.
//!
//! Only when `redis-server` is not installed (and no URL is given) is a test ignored, with that
//! reason, by the crate's build script (`cargo test` counts it as ignored); under `CI=true` it
//! runs and fails instead: CI must never skip them. Each test writes under its own random key
//! prefix, so runs against one Redis do not collide.

// Test code: panicking on a broken setup is the point, and std is available.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::net::TcpListener;
use std::time::{Duration, Instant};

use dpop_core::{Thumbprint, UnixTime};
use dpop_redis::{ConnectErrorKind, RedisReplayCache};
use dpop_std::replay::{ReplayCache, ReplayError};
use redis::aio::MultiplexedConnection;

use crate::common::{SCOPE, now, race, random_key};
use crate::servers::{RedisProcess, random_u64, shared_redis_url};

/// Generous for tests that are not about timing: two cores may be busy compiling.
const PATIENT: Duration = Duration::from_secs(2);

// ---------------------------------------------------------------------------------------------
// Against the shared Redis (DPOP_TEST_REDIS_URL)

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    dpop_skip_redis,
    ignore = "redis-server is not installed: sudo apt-get install -y redis-server"
)]
async fn first_use_is_accepted_and_the_second_is_replayed() {
    let Some(url) = shared_redis_url() else {
        return;
    };
    let prefix = unique_prefix("first-use");
    let cache = patient(&prefix).connect(&url).await.unwrap();
    let (key, now) = (random_key(), now());
    let expires_at = now.saturating_add(60);

    assert_eq!(cache.remember(&key, &SCOPE, expires_at, now).await, Ok(()));
    assert_eq!(
        cache.remember(&key, &SCOPE, expires_at, now).await,
        Err(ReplayError::Replayed)
    );
    // Another scope does not make it new: the replay key already covers the thumbprint.
    let other_scope = Thumbprint::from_bytes([8; 32]);
    assert_eq!(
        cache.remember(&key, &other_scope, expires_at, now).await,
        Err(ReplayError::Replayed)
    );
    // A different key is independent.
    assert_eq!(
        cache.remember(&random_key(), &SCOPE, expires_at, now).await,
        Ok(())
    );
    // A different prefix is a different namespace (another deployment).
    let elsewhere = patient(&unique_prefix("first-use-other"))
        .connect(&url)
        .await
        .unwrap();
    assert_eq!(
        elsewhere.remember(&key, &SCOPE, expires_at, now).await,
        Ok(())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    dpop_skip_redis,
    ignore = "redis-server is not installed: sudo apt-get install -y redis-server"
)]
async fn entry_expires_at_the_absolute_time_given() {
    let Some(url) = shared_redis_url() else {
        return;
    };
    let prefix = unique_prefix("expiry");
    let (cache, mut raw) = exact_cache(&url, &prefix).await;
    let now = now();

    // The normal case: EXPIRETIME is exactly expires_at, and TTL is what is left of it.
    let key = random_key();
    let expires_at = now.saturating_add(300);
    cache.remember(&key, &SCOPE, expires_at, now).await.unwrap();
    let redis_key = cache.redis_key(&key);
    assert_eq!(
        expire_time(&mut raw, &redis_key).await,
        expires_at.as_secs()
    );
    let ttl: i64 = redis::cmd("TTL")
        .arg(&redis_key)
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!((290..=300).contains(&ttl), "TTL {ttl}");
    let value: String = redis::cmd("GET")
        .arg(&redis_key)
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(value, "1");

    // expires_at at or before now: kept until now + 1, never stored without expiry, never
    // skipped.
    for expires_at in [now, now.saturating_sub(100), UnixTime::EPOCH] {
        let key = random_key();
        cache.remember(&key, &SCOPE, expires_at, now).await.unwrap();
        let at = expire_time(&mut raw, &cache.redis_key(&key)).await;
        // The key may already be gone if this machine is slow; then it was stored and expired.
        assert!(
            at == now.as_secs() + 1 || at == u64::MAX,
            "EXPIRETIME {at} for {expires_at}"
        );
    }

    // The margin is added on top.
    let with_margin = patient(&prefix)
        .with_expiry_margin(7)
        .connect(&url)
        .await
        .unwrap();
    let key = random_key();
    with_margin
        .remember(&key, &SCOPE, expires_at, now)
        .await
        .unwrap();
    assert_eq!(
        expire_time(&mut raw, &with_margin.redis_key(&key)).await,
        expires_at.as_secs() + 7
    );
}

/// The verifier's wall clock steps an hour ahead and back. Entries carry an absolute expiry
/// (`EXAT`) computed from the proof's `iat`, and Redis keeps time by its own clock, so the step
/// neither shortens an entry nor changes an existing one: replays stay refused throughout. (A
/// relative TTL computed from the stepped clock, `expires_at - now`, would have cut the second
/// entry's life by the 100 s the clock was ahead.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    dpop_skip_redis,
    ignore = "redis-server is not installed: sudo apt-get install -y redis-server"
)]
async fn a_stepped_verifier_clock_neither_shortens_nor_drops_entries() {
    let Some(url) = shared_redis_url() else {
        return;
    };
    let prefix = unique_prefix("verifier-step");
    let (cache, mut raw) = exact_cache(&url, &prefix).await;
    let real = now();

    // Accepted with the right clock: kept until iat + window + 1.
    let before = random_key();
    let before_until = real.saturating_add(361);
    assert_eq!(
        cache.remember(&before, &SCOPE, before_until, real).await,
        Ok(())
    );

    // An hour ahead: the entry is found and left alone.
    let ahead = real.saturating_add(3_600);
    assert_eq!(
        cache.remember(&before, &SCOPE, before_until, ahead).await,
        Err(ReplayError::Replayed)
    );
    assert_eq!(
        expire_time(&mut raw, &cache.redis_key(&before)).await,
        before_until.as_secs()
    );

    // 100 s ahead (within the window) a proof issued at the real time is accepted; its entry
    // lives until its own iat + window + 1 on Redis's clock, not 100 s less.
    let during = random_key();
    let during_until = real.saturating_add(361);
    let slightly_ahead = real.saturating_add(100);
    assert_eq!(
        cache
            .remember(&during, &SCOPE, during_until, slightly_ahead)
            .await,
        Ok(())
    );
    assert_eq!(
        expire_time(&mut raw, &cache.redis_key(&during)).await,
        during_until.as_secs()
    );

    // Back to the right time: both still refused.
    for key in [&before, &during] {
        assert_eq!(
            cache.remember(key, &SCOPE, before_until, real).await,
            Err(ReplayError::Replayed)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    dpop_skip_redis,
    ignore = "redis-server is not installed: sudo apt-get install -y redis-server"
)]
async fn key_is_the_prefix_and_hex_digest_and_never_contains_the_jti() {
    use dpop_core::{
        Algorithm, Expected, HttpMethod, NewProof, ProofId, SigningKey, TargetUri, Verifier,
        crypto::rustcrypto::ES256_VERIFIER,
    };

    let Some(url) = shared_redis_url() else {
        return;
    };
    let prefix = unique_prefix("key-format");
    let cache = patient(&prefix).connect(&url).await.unwrap();
    let mut raw = raw_connection(&url).await;

    // A real proof, end to end: create, verify, consume, replay.
    let jti = "jti-MARKER-5f0c2a";
    let now = now();
    let signer = SigningKey::from_bytes(Algorithm::Es256, &[7u8; 32]).unwrap();
    let uri = TargetUri::parse("https://api.example.com/items").unwrap();
    let mut buf = [0u8; 2048];
    let jws = NewProof::new(HttpMethod::GET, uri, ProofId::new(jti).unwrap(), now)
        .encode(&signer, &mut buf)
        .unwrap();
    let verifier = Verifier::new(&[ES256_VERIFIER]);
    let proof = verifier
        .verify(jws, &Expected::new(HttpMethod::GET, uri), now)
        .unwrap();
    let expires_at = dpop_std::replay::expiry_for(&verifier, &proof, now);
    let consume = || cache.remember(proof.replay_key(), proof.thumbprint(), expires_at, now);
    assert_eq!(consume().await, Ok(()));
    assert_eq!(consume().await, Err(ReplayError::Replayed));

    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let key = &keys[0];
    assert_eq!(key, &cache.redis_key(proof.replay_key()));
    let digest = key.strip_prefix(&prefix).unwrap();
    assert_eq!(digest.len(), 64);
    assert!(
        digest
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{key}"
    );
    assert!(!key.contains(jti) && !key.contains("MARKER"), "{key}");
    let value: String = redis::cmd("GET")
        .arg(key)
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!(!value.contains("MARKER"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    dpop_skip_redis,
    ignore = "redis-server is not installed: sudo apt-get install -y redis-server"
)]
async fn concurrent_presentations_through_two_instances_are_accepted_exactly_once() {
    const ROUNDS: usize = 200;
    const TASKS: usize = 8;
    let Some(url) = shared_redis_url() else {
        return;
    };
    let prefix = unique_prefix("race");
    // Two caches with two connections, as two servers behind a load balancer would have.
    let first = patient(&prefix).connect(&url).await.unwrap();
    let second = patient(&prefix).connect(&url).await.unwrap();
    let now = now();
    let expires_at = now.saturating_add(60);
    let started = Instant::now();

    for round in 0..ROUNDS {
        let accepted = race(&first, &second, random_key(), TASKS / 2, expires_at, now)
            .await
            .unwrap_or_else(|other| panic!("round {round}: unexpected {other:?}"));
        assert_eq!(accepted, 1, "round {round}: {accepted} acceptances");
    }
    eprintln!(
        "race: {ROUNDS} rounds x {TASKS} tasks on two connections in {:?}",
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------------------------
// Without any Redis

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_redis_is_unavailable_quickly() {
    let url = "redis://127.0.0.1:1/"; // nothing listens on port 1

    let started = Instant::now();
    let error = RedisReplayCache::connect(url).await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(error.kind(), ConnectErrorKind::Unavailable, "{error:?}");
    assert!(took < Duration::from_secs(2), "connect took {took:?}");
    eprintln!("unreachable: connect refused after {took:?}");

    // Started lazily, the cache fails closed on every call, each within the timeout.
    let cache = RedisReplayCache::builder().connect_lazy(url).unwrap();
    for _ in 0..3 {
        let started = Instant::now();
        let outcome = cache
            .remember(&random_key(), &SCOPE, now().saturating_add(60), now())
            .await;
        let took = started.elapsed();
        assert_eq!(outcome, Err(ReplayError::Unavailable));
        assert!(took < Duration::from_secs(2), "remember took {took:?}");
        eprintln!("unreachable: Unavailable after {took:?}");
    }

    let bad = RedisReplayCache::connect("not a url").await.unwrap_err();
    assert_eq!(bad.kind(), ConnectErrorKind::InvalidUrl);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_server_times_out_as_unavailable() {
    // Accepts TCP connections and never answers, like a hung Redis.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}/", listener.local_addr().unwrap());
    let _silent = std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let timeout = Duration::from_millis(200);
    let builder = RedisReplayCache::builder()
        .with_timeout(timeout)
        .with_connect_timeout(timeout);

    let started = Instant::now();
    let error = builder.clone().connect(&url).await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(error.kind(), ConnectErrorKind::TimedOut, "{error:?}");
    assert!(took < Duration::from_secs(1), "connect took {took:?}");

    let cache = builder.connect_lazy(&url).unwrap();
    let started = Instant::now();
    let outcome = cache
        .remember(&random_key(), &SCOPE, now().saturating_add(60), now())
        .await;
    let took = started.elapsed();
    assert_eq!(outcome, Err(ReplayError::Unavailable));
    assert!(
        took >= timeout && took < Duration::from_secs(1),
        "remember took {took:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Against a redis-server child of this test

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    dpop_skip_redis_server,
    ignore = "redis-server is not installed: sudo apt-get install -y redis-server"
)]
async fn redis_stopped_mid_test_is_unavailable_then_recovers() {
    let Some(mut server) = RedisProcess::start(&[]) else {
        return;
    };
    // Default settings: 250 ms per call, 1 s per connection attempt.
    let cache = RedisReplayCache::builder()
        .with_key_prefix(unique_prefix("restart"))
        .connect(&server.url())
        .await
        .unwrap();
    let expires_at = now().saturating_add(60);
    let before = random_key();
    assert_eq!(
        cache.remember(&before, &SCOPE, expires_at, now()).await,
        Ok(())
    );
    assert_eq!(
        cache.remember(&before, &SCOPE, expires_at, now()).await,
        Err(ReplayError::Replayed)
    );

    server.stop();
    for _ in 0..5 {
        let started = Instant::now();
        let outcome = cache
            .remember(&random_key(), &SCOPE, expires_at, now())
            .await;
        let took = started.elapsed();
        assert_eq!(
            outcome,
            Err(ReplayError::Unavailable),
            "accepted while Redis was down"
        );
        assert!(took < Duration::from_secs(2), "remember took {took:?}");
        eprintln!("restart: Unavailable after {took:?} while stopped");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    server.restart();
    let restarted = Instant::now();
    let after = random_key();
    let mut outcome = Err(ReplayError::Unavailable);
    for _ in 0..100 {
        outcome = cache.remember(&after, &SCOPE, expires_at, now()).await;
        if outcome != Err(ReplayError::Unavailable) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(outcome, Ok(()), "no recovery within 10 s of the restart");
    eprintln!(
        "restart: accepting again {:?} after the restart",
        restarted.elapsed()
    );
    assert_eq!(
        cache.remember(&after, &SCOPE, expires_at, now()).await,
        Err(ReplayError::Replayed)
    );
    // Without persistence the restart forgot the earlier entry (the README says so).
    assert_eq!(
        cache.remember(&before, &SCOPE, expires_at, now()).await,
        Ok(())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    dpop_skip_redis_server,
    ignore = "redis-server is not installed: sudo apt-get install -y redis-server"
)]
async fn hung_server_is_unavailable_within_the_timeout_then_recovers() {
    let Some(server) = RedisProcess::start(&[]) else {
        return;
    };
    let timeout = Duration::from_millis(250);
    let cache = RedisReplayCache::builder()
        .with_key_prefix(unique_prefix("hung"))
        .with_timeout(timeout)
        .connect(&server.url())
        .await
        .unwrap();
    let expires_at = now().saturating_add(60);
    assert_eq!(
        cache
            .remember(&random_key(), &SCOPE, expires_at, now())
            .await,
        Ok(())
    );

    server.signal("STOP");
    let started = Instant::now();
    let outcome = cache
        .remember(&random_key(), &SCOPE, expires_at, now())
        .await;
    let took = started.elapsed();
    server.signal("CONT");
    assert_eq!(outcome, Err(ReplayError::Unavailable));
    assert!(
        took >= timeout && took < Duration::from_secs(1),
        "remember took {took:?}"
    );
    eprintln!("hung: Unavailable after {took:?}");

    let key = random_key();
    let mut outcome = Err(ReplayError::Unavailable);
    for _ in 0..50 {
        outcome = cache.remember(&key, &SCOPE, expires_at, now()).await;
        if outcome != Err(ReplayError::Unavailable) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(outcome, Ok(()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    dpop_skip_redis_server,
    ignore = "redis-server is not installed: sudo apt-get install -y redis-server"
)]
async fn full_redis_is_capacity_exceeded() {
    let Some(server) = RedisProcess::start(&[]) else {
        return;
    };
    let cache = patient(&unique_prefix("full"))
        .connect(&server.url())
        .await
        .unwrap();
    let mut raw = raw_connection(&server.url()).await;
    let expires_at = now().saturating_add(60);

    // Any write exceeds 1 byte, and the default policy, noeviction, refuses it with OOM.
    config_set(&mut raw, "maxmemory", "1").await;
    let key = random_key();
    let outcome = cache.remember(&key, &SCOPE, expires_at, now()).await;
    config_set(&mut raw, "maxmemory", "0").await;
    assert_eq!(outcome, Err(ReplayError::CapacityExceeded));

    // Nothing was stored: once there is room, the same proof is accepted.
    assert_eq!(
        cache.remember(&key, &SCOPE, expires_at, now()).await,
        Ok(())
    );
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// The builder for tests that are not about timing.
fn patient(prefix: &str) -> dpop_redis::RedisReplayCacheBuilder {
    RedisReplayCache::builder()
        .with_key_prefix(prefix)
        .with_timeout(PATIENT)
        .with_connect_timeout(PATIENT)
}

fn unique_prefix(test: &str) -> String {
    format!("dpop-redis-test:{:016x}:{test}:", random_u64(0))
}

/// A cache with exact expiry times (no expiry margin) under `prefix`, and a raw connection to
/// the same Redis to read what it wrote.
async fn exact_cache(url: &str, prefix: &str) -> (RedisReplayCache, MultiplexedConnection) {
    let cache = patient(prefix)
        .with_expiry_margin(0)
        .connect(url)
        .await
        .unwrap();
    (cache, raw_connection(url).await)
}

async fn raw_connection(url: &str) -> MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// `EXPIRETIME` (Redis 7.0): the absolute expiry in seconds; `u64::MAX` if the key is gone.
async fn expire_time(raw: &mut MultiplexedConnection, key: &str) -> u64 {
    let at: i64 = redis::cmd("EXPIRETIME")
        .arg(key)
        .query_async(raw)
        .await
        .unwrap();
    assert_ne!(at, -1, "{key} has no expiry");
    u64::try_from(at).unwrap_or(u64::MAX)
}

async fn config_set(raw: &mut MultiplexedConnection, name: &str, value: &str) {
    let () = redis::cmd("CONFIG")
        .arg("SET")
        .arg(name)
        .arg(value)
        .query_async(raw)
        .await
        .unwrap();
}
