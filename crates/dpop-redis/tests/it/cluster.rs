//! The replay cache through a real Redis Cluster (three primaries on 127.0.0.1, no
//! persistence), with the `cluster` feature's `connect_cluster`.
//!
//! - Non-destructive tests use `DPOP_TEST_REDIS_CLUSTER_URLS` (comma-separated node URLs) or,
//!   when it is unset, a cluster this test binary starts and stops.
//! - Tests that kill a primary or move slots start a cluster of their own.
//!
//! Only when `redis-server` is not installed (and no URLs are given) is a test ignored, with
//! that reason, by the crate's build script; under `CI=true` it runs and fails instead.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test code: a broken fixture should panic"
)]

use std::collections::HashSet;
use std::time::{Duration, Instant};

use dpop_redis::{ConnectErrorKind, RedisReplayCache};
use dpop_std::replay::{ReplayCache, ReplayError, ReplayKey};
use redis::cluster_async::ClusterConnection;

use crate::common::{self, SCOPE, now, random_key};
use crate::servers::{Cluster, random_u64, shared_cluster_urls};

/// Generous for tests that are not about timing: two cores may be busy compiling.
const PATIENT: Duration = Duration::from_secs(3);

type Cache = RedisReplayCache<ClusterConnection>;

async fn connect(urls: &[String], prefix: &str, timeout: Duration) -> Cache {
    RedisReplayCache::builder()
        .with_key_prefix(prefix)
        .with_timeout(timeout)
        .with_connect_timeout(PATIENT)
        .connect_cluster(urls.iter().map(String::as_str))
        .await
        .unwrap()
}

fn unique_prefix(test: &str) -> String {
    format!("dpop-cluster-test:{:016x}:{test}:", random_u64(0))
}

/// Presents `key` through both caches at the same moment, `per_cache` times each; returns
/// how many were accepted. Every other answer must be `Replayed`.
async fn race(first: &Cache, second: &Cache, key: ReplayKey, per_cache: usize) -> usize {
    let now = now();
    common::race(first, second, key, per_cache, now.saturating_add(120), now)
        .await
        .unwrap_or_else(|other| panic!("unexpected {other:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    dpop_skip_redis_cluster,
    ignore = "redis-server is not installed: sudo apt-get install -y redis-server"
)]
async fn keys_spread_over_every_primary_and_each_proof_is_accepted_once_across_two_instances() {
    const ROUNDS: usize = 300;
    let Some(urls) = shared_cluster_urls() else {
        return;
    };
    let prefix = unique_prefix("spread");
    // Two caches with two cluster connections, as two servers would have.
    let first = connect(&urls, &prefix, PATIENT).await;
    let second = connect(&urls, &prefix, PATIENT).await;
    let started = Instant::now();
    let mut keys = Vec::new();
    for round in 0..ROUNDS {
        let key = random_key();
        assert_eq!(race(&first, &second, key, 3).await, 1, "round {round}");
        keys.push(key);
    }
    eprintln!(
        "cluster race: {ROUNDS} rounds x 6 tasks on two connections in {:?}",
        started.elapsed()
    );

    // Every primary holds some of the keys, and together exactly all of them.
    let mut per_node = Vec::new();
    let mut slots = HashSet::new();
    for url in &urls {
        let mut node = redis::Client::open(url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let mut held = 0;
        for key in &keys {
            let name = first.redis_key(key);
            let exists: redis::RedisResult<i64> =
                redis::cmd("EXISTS").arg(&name).query_async(&mut node).await;
            // A node answers MOVED for keys of slots it does not own.
            held += exists.unwrap_or(0);
            let slot: i64 = redis::cmd("CLUSTER")
                .arg("KEYSLOT")
                .arg(&name)
                .query_async(&mut node)
                .await
                .unwrap();
            slots.insert(slot);
        }
        per_node.push(held);
    }
    eprintln!(
        "keys per primary: {per_node:?}, distinct slots: {}",
        slots.len()
    );
    assert_eq!(per_node.iter().sum::<i64>(), ROUNDS as i64);
    assert!(per_node.iter().all(|&n| n > 0), "{per_node:?}");
    assert!(slots.len() > ROUNDS / 2, "{} slots", slots.len());

    // Replays through either instance are refused.
    for key in &keys {
        let replay = second.remember(key, &SCOPE, now().saturating_add(120), now());
        assert_eq!(replay.await, Err(ReplayError::Replayed));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_to_nothing_fails_with_a_kind() {
    let error = RedisReplayCache::builder()
        .with_connect_timeout(Duration::from_millis(500))
        .connect_cluster(["redis://127.0.0.1:1/"])
        .await
        .unwrap_err();
    assert!(
        matches!(
            error.kind(),
            ConnectErrorKind::Unavailable | ConnectErrorKind::TimedOut
        ),
        "{error:?}"
    );
    let empty: [&str; 0] = [];
    let error = RedisReplayCache::builder()
        .connect_cluster(empty)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ConnectErrorKind::InvalidUrl, "{error:?}");
}

/// Which node holds each key (by asking each node directly: the others answer `MOVED`).
async fn holders(cluster: &Cluster, cache: &Cache, keys: &[ReplayKey]) -> Vec<Option<usize>> {
    let mut holders = vec![None; keys.len()];
    for (index, node) in cluster.nodes.iter().enumerate() {
        let Ok(client) = redis::Client::open(node.url()) else {
            continue;
        };
        let Ok(mut connection) = client.get_multiplexed_async_connection().await else {
            continue;
        };
        for (i, key) in keys.iter().enumerate() {
            let exists: redis::RedisResult<i64> = redis::cmd("EXISTS")
                .arg(cache.redis_key(key))
                .query_async(&mut connection)
                .await;
            if exists == Ok(1) {
                holders[i] = Some(index);
            }
        }
    }
    holders
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    dpop_skip_redis_server,
    ignore = "redis-server is not installed: sudo apt-get install -y redis-server"
)]
async fn a_primary_killed_mid_test_fails_closed_and_the_cluster_recovers_when_it_returns() {
    let Some(mut cluster) = Cluster::start(3) else {
        return;
    };
    let urls = cluster.urls();
    let prefix = unique_prefix("kill");
    // The default call timeout: 250 ms.
    let cache = connect(&urls, &prefix, dpop_redis::DEFAULT_TIMEOUT).await;
    let expires_at = now().saturating_add(300);
    let keys: Vec<ReplayKey> = (0..60).map(|_| random_key()).collect();
    for key in &keys {
        assert_eq!(cache.remember(key, &SCOPE, expires_at, now()).await, Ok(()));
    }
    let holders = holders(&cluster, &cache, &keys).await;
    assert!(holders.iter().all(Option::is_some), "{holders:?}");
    let victim = 0;
    let on_victim = holders.iter().filter(|h| **h == Some(victim)).count();
    assert!(on_victim > 0);

    cluster.nodes[victim].stop();
    let killed = Instant::now();
    // For a while after the kill (through the other primaries noticing the failure and the
    // cluster going down, since it has no replicas): no replay is ever accepted, and every
    // call answers within a bound.
    let (mut unavailable, mut replayed, mut fresh_accepted, mut calls) = (0, 0, 0, 0);
    let mut slowest = Duration::ZERO;
    let mut i = 0;
    while killed.elapsed() < Duration::from_secs(4) || calls < keys.len() {
        let key = &keys[i % keys.len()];
        let started = Instant::now();
        let outcome = cache.remember(key, &SCOPE, expires_at, now()).await;
        slowest = slowest.max(started.elapsed());
        calls += 1;
        match outcome {
            Err(ReplayError::Unavailable) => unavailable += 1,
            Err(ReplayError::Replayed) => {
                assert_ne!(
                    holders[i % keys.len()],
                    Some(victim),
                    "answered for a dead primary"
                );
                replayed += 1;
            }
            other => panic!("key {i}: {other:?} while a primary is down"),
        }
        if i % 10 == 0 {
            let started = Instant::now();
            let fresh = cache
                .remember(&random_key(), &SCOPE, expires_at, now())
                .await;
            slowest = slowest.max(started.elapsed());
            match fresh {
                Ok(()) => fresh_accepted += 1,
                Err(ReplayError::Unavailable) => unavailable += 1,
                other => panic!("fresh key: {other:?}"),
            }
        }
        i += 1;
    }
    eprintln!(
        "primary down: {calls} replays presented, {replayed} refused as replays, {unavailable} \
         unavailable, {fresh_accepted} fresh keys accepted on live primaries; slowest call {slowest:?}"
    );
    assert!(unavailable > 0);
    assert!(slowest < Duration::from_secs(2), "slowest call {slowest:?}");

    cluster.nodes[victim].restart();
    let restarted = Instant::now();
    cluster.wait_until_ok(Duration::from_secs(30));
    // The cache recovers on its own: a fresh key is accepted once, then refused.
    let key = random_key();
    let mut outcome = Err(ReplayError::Unavailable);
    while restarted.elapsed() < Duration::from_secs(20) {
        outcome = cache.remember(&key, &SCOPE, expires_at, now()).await;
        if outcome != Err(ReplayError::Unavailable) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(outcome, Ok(()), "no recovery within 20 s of the restart");
    eprintln!(
        "primary back: accepting again {:?} after the restart",
        restarted.elapsed()
    );
    assert_eq!(
        cache.remember(&key, &SCOPE, expires_at, now()).await,
        Err(ReplayError::Replayed)
    );
    // Keys on the primaries that stayed up are still there; the restarted one, without
    // persistence, forgot its keys (the crate docs say so).
    let mut forgotten = 0;
    for (i, key) in keys.iter().enumerate() {
        let outcome = cache.remember(key, &SCOPE, expires_at, now()).await;
        if holders[i] == Some(victim) {
            assert_eq!(outcome, Ok(()));
            forgotten += 1;
        } else {
            assert_eq!(outcome, Err(ReplayError::Replayed), "key {i}");
        }
    }
    assert_eq!(forgotten, on_victim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    dpop_skip_redis_server,
    ignore = "redis-server is not installed: sudo apt-get install -y redis-server"
)]
async fn ask_and_moved_while_a_slot_migrates_never_accept_a_replay() {
    let Some(cluster) = Cluster::start(3) else {
        return;
    };
    let urls = cluster.urls();
    // A hash tag puts every key of this test in one slot (never do that in production).
    let prefix = format!("{{dpop-reshard-{:016x}}}:", random_u64(9));
    let first = connect(&urls, &prefix, PATIENT).await;
    let second = connect(&urls, &prefix, PATIENT).await;
    let probe_name = first.redis_key(&random_key());
    let slot: u16 = cluster.nodes[0]
        .cli(&["cluster", "keyslot", &probe_name])
        .parse()
        .unwrap();
    let source = cluster.owner_of(slot);
    let target = (source + 1) % cluster.nodes.len();
    let (src, dst) = (&cluster.nodes[source], &cluster.nodes[target]);
    let src_id = src.cli(&["cluster", "myid"]);
    let dst_id = dst.cli(&["cluster", "myid"]);

    let before: Vec<ReplayKey> = (0..40).map(|_| random_key()).collect();
    for key in &before {
        assert_eq!(race(&first, &second, *key, 2).await, 1);
    }
    let count = |node: &crate::servers::RedisProcess| -> usize {
        node.cli(&["cluster", "countkeysinslot", &slot.to_string()])
            .parse()
            .unwrap()
    };
    assert_eq!(count(src), 40);

    // Start migrating the slot and move half of its keys: from now on the source answers for
    // the keys it still has and redirects the others with ASK.
    assert_eq!(
        dst.cli(&[
            "cluster",
            "setslot",
            &slot.to_string(),
            "importing",
            &src_id
        ]),
        "OK"
    );
    assert_eq!(
        src.cli(&[
            "cluster",
            "setslot",
            &slot.to_string(),
            "migrating",
            &dst_id
        ]),
        "OK"
    );
    let port = dst.port().to_string();
    let mut migrate = vec!["migrate", "127.0.0.1", &port, "", "0", "5000", "KEYS"];
    let names: Vec<String> = before[..20].iter().map(|k| first.redis_key(k)).collect();
    migrate.extend(names.iter().map(String::as_str));
    assert_eq!(src.cli(&migrate), "OK");
    assert_eq!((count(src), count(dst)), (20, 20));

    // Replays, through both instances at once, of keys on either side: all refused.
    for (i, key) in before.iter().enumerate() {
        assert_eq!(
            race(&first, &second, *key, 2).await,
            0,
            "replay {i} during migration"
        );
    }
    // New proofs during the migration: each accepted exactly once (they go to the target).
    let during: Vec<ReplayKey> = (0..40).map(|_| random_key()).collect();
    for key in &during {
        assert_eq!(race(&first, &second, *key, 2).await, 1);
    }
    assert_eq!((count(src), count(dst)), (20, 60));

    // Finish: move the rest, hand the slot over; clients now get MOVED.
    let rest = src.cli(&["cluster", "getkeysinslot", &slot.to_string(), "100"]);
    let rest: Vec<&str> = rest.lines().collect();
    assert_eq!(rest.len(), 20);
    let mut migrate = vec!["migrate", "127.0.0.1", &port, "", "0", "5000", "KEYS"];
    migrate.extend(rest);
    assert_eq!(src.cli(&migrate), "OK");
    for node in &cluster.nodes {
        assert_eq!(
            node.cli(&["cluster", "setslot", &slot.to_string(), "node", &dst_id]),
            "OK"
        );
    }
    assert_eq!((count(src), count(dst)), (0, 80));
    for (i, key) in before.iter().chain(&during).enumerate() {
        assert_eq!(
            race(&first, &second, *key, 2).await,
            0,
            "replay {i} after migration"
        );
    }
    let after = random_key();
    assert_eq!(race(&first, &second, after, 2).await, 1);
    assert_eq!(count(dst), 81);
}
