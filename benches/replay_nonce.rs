//! dpop-std's server-side state:
//!
//! - `replay_insert/1M-live`: one `MemoryReplayCache::remember_now` of a new key into a cache
//!   holding one million live entries (capacity 1.5 million, default shards). The cache is at
//!   steady state: the million prefilled entries never expire, each benchmark entry expires a
//!   second or so after it was inserted (as a real server's entries do, `max_age + leeway`
//!   later), so inserts also pay for reclaiming expired slots. Keys are `SplitMix64` output, as
//!   uniform as the SHA-256 replay keys they stand for. The table's size and the resident
//!   memory it added are written to `$DPOP_BENCH_FIGURES/replay.json` for the report.
//! - `clock/system_monotonic`: one `SystemClock::monotonic()`, which a `MemoryReplayCache` with
//!   the default clock reads on every insert (the insert benchmark above drives a manual clock
//!   instead, to simulate time passing).
//! - `nonce/issue` and `nonce/validate`: `StatelessNonces` bound to the client key and `htu`.

#![allow(
    clippy::unwrap_used,
    reason = "benchmark code: a broken fixture should stop the run"
)]

#[path = "common.rs"]
mod common;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion};
use dpop_core::{Algorithm, Thumbprint, UnixTime};
use dpop_std::clock::{Clock, ManualClock, SystemClock};
use dpop_std::nonce::{NonceKey, NonceRequest, NonceSource, StatelessNonces};
use dpop_std::replay::{MemoryReplayCache, ReplayKey};

use common::{CpuTime, NOW, URL};

/// Live entries while inserting.
const LIVE: u64 = 1_000_000;
/// The cache's capacity: room for the live entries and for expired ones awaiting reclaim.
const CAPACITY: usize = 1_500_000;

fn main() {
    let mut c = common::criterion();
    replay_insert(&mut c);
    c.bench_function("clock/system_monotonic", |b| {
        let clock = SystemClock::default();
        b.iter(|| black_box(clock.monotonic()));
    });
    nonces(&mut c);
    c.final_summary();
}

/// `SplitMix64`: distinct 32-byte keys from a counter.
fn key(counter: u64) -> ReplayKey {
    let mut state = counter;
    let mut bytes = [0u8; 32];
    for chunk in bytes.chunks_exact_mut(8) {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    ReplayKey::from_bytes(bytes)
}

/// Resident set size of this process, in bytes (Linux `/proc/self/statm`).
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * rustix::param::page_size() as u64
}

fn replay_insert(c: &mut Criterion<CpuTime>) {
    let scope = Thumbprint::from_bytes([7; 32]);
    let start = NOW;
    let before = resident_bytes();
    // The cache's monotonic clock follows the simulated server time (one second per 1024
    // inserts), so entries expire on both of its clocks as they would on a real server.
    let clock = std::sync::Arc::new(ManualClock::new(UnixTime::from_secs(start)));
    let cache = MemoryReplayCache::with_capacity(CAPACITY).with_clock(clock.clone());
    let forever = UnixTime::from_secs(start + 1_000_000_000);
    for i in 0..LIVE {
        cache
            .remember_now(&key(i), &scope, forever, UnixTime::from_secs(start))
            .unwrap();
    }
    let after = resident_bytes();
    if let Some(dir) = std::env::var_os("DPOP_BENCH_FIGURES") {
        let path = std::path::Path::new(&dir).join("replay.json");
        let figures = format!(
            concat!(
                "{{\"replay_live_entries\":{},\"replay_capacity\":{},\"replay_shards\":{},",
                "\"replay_table_bytes\":{},\"replay_bytes_per_capacity_entry\":{},",
                "\"replay_resident_bytes_added\":{}}}\n"
            ),
            LIVE,
            cache.capacity(),
            cache.shards(),
            cache.table_bytes(),
            MemoryReplayCache::bytes_per_entry(),
            after.saturating_sub(before),
        );
        std::fs::write(path, figures).unwrap();
    }

    let mut counter = LIVE;
    c.benchmark_group("replay_insert").bench_function(
        BenchmarkId::from_parameter("1M-live"),
        |b| {
            b.iter_custom(|iters| {
                let mut refused = 0u64;
                let t0 = common::now_ns();
                for _ in 0..iters {
                    counter += 1;
                    // 1024 inserts per second of server time; each expires a second later.
                    let now = start + counter / 1024;
                    if counter.is_multiple_of(1024) {
                        clock.advance(1);
                    }
                    let result = cache.remember_now(
                        &key(counter),
                        &scope,
                        UnixTime::from_secs(now + 1),
                        UnixTime::from_secs(now),
                    );
                    refused += u64::from(result.is_err());
                }
                let elapsed = Duration::from_nanos(common::now_ns() - t0);
                assert_eq!(refused, 0, "every new key is accepted");
                elapsed
            });
        },
    );
    assert!(cache.len() as u64 >= LIVE);
}

fn nonces(c: &mut Criterion<CpuTime>) {
    let f = common::fixture(Algorithm::Es256);
    let now = UnixTime::from_secs(NOW);
    let nonces = StatelessNonces::new(NonceKey::new(1, [0x42; 32]));
    let request = NonceRequest::new(now).with_thumbprint(&f.jkt).with_htu(URL);
    let nonce = nonces.issue(&request);
    assert!(nonces.check(&nonce, &f.jkt, URL, now).is_ok());
    let mut group = c.benchmark_group("nonce");
    group.bench_function("issue", |b| b.iter(|| nonces.issue(black_box(&request))));
    group.bench_function("validate", |b| {
        b.iter(|| nonces.check(black_box(&nonce), &f.jkt, URL, now).is_ok());
    });
    group.finish();
}
