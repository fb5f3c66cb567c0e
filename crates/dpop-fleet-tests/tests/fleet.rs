//! Exactly once across a fleet: two `fleet-server` processes share one Redis (and, in the
//! second test, a three-primary Redis Cluster); a load generator sends every valid proof to
//! both at the same moment. Bounded in count (`DPOP_FLEET_PROOFS` proofs per phase, 5 000 by
//! default) and in time, on 127.0.0.1 only.
//!
//! Only when `redis-server` is not installed is a test ignored, with that reason, by the crate's
//! build script; under `CI=true` it runs and fails instead.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test code: a broken fixture should panic"
)]

#[path = "../../dpop-redis/tests/support/servers.rs"]
mod servers;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use dpop_aws_lc_rs::AwsLcSigningKey;
use dpop_core::{Algorithm, HttpMethod, NewProof, ProofId, TargetUri, UnixTime};
use tokio::sync::Mutex;

use servers::{RedisProcess, random_u64, shared_cluster_urls};

const SEED: u8 = 7;
const TOKEN: &str = "fleet-access-token";
const URL: &str = "https://fleet.example/item";
/// Proofs in flight at once (each sent to every server).
const CONCURRENCY: usize = 16;

fn proofs_per_phase() -> usize {
    std::env::var("DPOP_FLEET_PROOFS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(5_000)
}

/// One `fleet-server` child; killed on drop (and it exits by itself when its stdin closes).
struct FleetServer {
    child: Child,
    address: String,
}

impl FleetServer {
    fn start(prefix: &str, redis: (&str, &str)) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fleet-server"))
            .env("FLEET_KEY_SEED", SEED.to_string())
            .env("FLEET_TOKEN", TOKEN)
            .env("FLEET_PREFIX", prefix)
            // Long enough that a busy machine does not turn slow replies into 503s in the
            // exactly-once phases; the pause below is much longer still.
            .env("FLEET_TIMEOUT_MS", "1000")
            .env(redis.0, redis.1)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let address = line
            .trim()
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("fleet-server said {line:?}"))
            .to_owned();
        Self { child, address }
    }
}

impl Drop for FleetServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Accepted,
    Replayed,
    Unavailable,
}

/// Counts of one phase.
#[derive(Debug, Default)]
struct Tally {
    proofs: usize,
    requests: usize,
    accepted: usize,
    replayed: usize,
    unavailable: usize,
    /// Proofs accepted by no server / by more than one.
    never_accepted: usize,
    accepted_twice: usize,
    took: Duration,
}

impl Tally {
    fn print(&self, phase: &str) {
        eprintln!(
            "{phase}: {} proofs, {} requests in {:.2?}: {} accepted, refused {} as replayed and \
             {} as unavailable (503); {} proofs accepted by no server, {} by more than one",
            self.proofs,
            self.requests,
            self.took,
            self.accepted,
            self.replayed,
            self.unavailable,
            self.never_accepted,
            self.accepted_twice
        );
    }
}

/// The load generator: a key, a connection pool, and the servers' addresses.
struct Load {
    key: AwsLcSigningKey,
    client: reqwest::Client,
    servers: Vec<String>,
}

impl Load {
    fn new(servers: &[FleetServer]) -> Arc<Self> {
        Arc::new(Self {
            key: AwsLcSigningKey::from_bytes(Algorithm::Es256, &[SEED; 32]).unwrap(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            servers: servers.iter().map(|s| s.address.clone()).collect(),
        })
    }

    fn proof(&self, jti: &str) -> String {
        let now = UnixTime::from_secs(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        );
        NewProof::new(
            HttpMethod::GET,
            TargetUri::parse(URL).unwrap(),
            ProofId::new(jti).unwrap(),
            now,
        )
        .with_access_token(TOKEN)
        .encode_to_string(&self.key)
        .unwrap()
    }

    async fn send(&self, server: &str, proof: &str) -> Outcome {
        let response = self
            .client
            .get(format!("http://{server}/item"))
            .header("authorization", format!("DPoP {TOKEN}"))
            .header("dpop", proof)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = response.text().await.unwrap_or_default();
        match status {
            200 => Outcome::Accepted,
            401 if challenge.contains("proof was already used") => Outcome::Replayed,
            503 => Outcome::Unavailable,
            _ => panic!("unexpected answer {status} {challenge:?} {body:?}"),
        }
    }

    /// Sends one new proof to every server at the same moment.
    async fn present(self: &Arc<Self>, jti: &str) -> Vec<Outcome> {
        let proof = Arc::new(self.proof(jti));
        let sends: Vec<_> = (0..self.servers.len())
            .map(|i| {
                let (load, proof) = (Arc::clone(self), Arc::clone(&proof));
                tokio::spawn(async move { load.send(&load.servers[i], &proof).await })
            })
            .collect();
        let mut outcomes = Vec::new();
        for send in sends {
            outcomes.push(send.await.unwrap());
        }
        outcomes
    }

    /// Presents new proofs, `CONCURRENCY` at a time, until `count` have been presented or
    /// `until` has passed (whichever first), and tallies the answers.
    async fn run(self: &Arc<Self>, phase: &str, count: usize, until: Duration) -> Tally {
        let started = Instant::now();
        let next = Arc::new(AtomicUsize::new(0));
        let tally = Arc::new(Mutex::new(Tally::default()));
        let tag = format!("{phase}-{:016x}", random_u64(7));
        let workers: Vec<_> = (0..CONCURRENCY)
            .map(|_| {
                let (load, next, tally, tag) = (
                    Arc::clone(self),
                    Arc::clone(&next),
                    Arc::clone(&tally),
                    tag.clone(),
                );
                tokio::spawn(async move {
                    loop {
                        let n = next.fetch_add(1, Ordering::SeqCst);
                        if n >= count || started.elapsed() >= until {
                            return;
                        }
                        let outcomes = load.present(&format!("{tag}-{n}")).await;
                        let accepted = outcomes.iter().filter(|o| **o == Outcome::Accepted);
                        let accepted = accepted.count();
                        let mut tally = tally.lock().await;
                        tally.proofs += 1;
                        tally.requests += outcomes.len();
                        tally.accepted += accepted;
                        tally.never_accepted += usize::from(accepted == 0);
                        tally.accepted_twice += usize::from(accepted > 1);
                        for outcome in outcomes {
                            match outcome {
                                Outcome::Accepted => {}
                                Outcome::Replayed => tally.replayed += 1,
                                Outcome::Unavailable => tally.unavailable += 1,
                            }
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.await.unwrap();
        }
        let mut tally = Arc::try_unwrap(tally).unwrap().into_inner();
        tally.took = started.elapsed();
        tally.print(phase);
        tally
    }
}

/// Every proof accepted by exactly one server, refused as a replay by the others.
fn assert_exactly_once(tally: &Tally, servers: usize) {
    assert!(tally.proofs > 0);
    assert_eq!(tally.accepted_twice, 0, "{tally:?}");
    assert_eq!(tally.never_accepted, 0, "{tally:?}");
    assert_eq!(tally.accepted, tally.proofs, "{tally:?}");
    assert_eq!(tally.replayed, tally.proofs * (servers - 1), "{tally:?}");
    assert_eq!(tally.unavailable, 0, "{tally:?}");
}

/// Every request refused with 503: nothing accepted, nothing called a replay.
fn assert_all_unavailable(tally: &Tally) {
    assert!(tally.proofs > 0);
    assert_eq!(tally.accepted, 0, "{tally:?}");
    assert_eq!(tally.unavailable, tally.requests, "{tally:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    dpop_skip_redis_server,
    ignore = "redis-server is not installed: sudo apt-get install -y redis-server"
)]
async fn two_servers_on_one_redis_accept_each_proof_once_and_fail_closed_while_it_is_paused_or_down()
 {
    let Some(mut redis) = RedisProcess::start(&[]) else {
        return;
    };
    let prefix = format!("fleet:{:016x}:", random_u64(1));
    let fleet: Vec<FleetServer> = (0..2)
        .map(|_| FleetServer::start(&prefix, ("FLEET_REDIS_URL", &redis.url())))
        .collect();
    let load = Load::new(&fleet);
    let count = proofs_per_phase();
    let started = Instant::now();

    let steady = load.run("steady", count, Duration::from_secs(120)).await;
    assert_exactly_once(&steady, fleet.len());

    // Redis paused for writes much longer than the 1 s call timeout: every request made in
    // the pause is refused with 503 (requests start during 1.2 s of the 5 s pause and each
    // ends within about 1 s; the margin covers a busy machine).
    const PAUSE: Duration = Duration::from_secs(5);
    assert_eq!(redis.cli(&["client", "pause", "5000", "write"]), "OK");
    let pause = Instant::now();
    let paused = load
        .run("paused", usize::MAX, Duration::from_millis(1_200))
        .await;
    assert!(pause.elapsed() < PAUSE, "the pause ended mid-phase");
    assert_all_unavailable(&paused);
    tokio::time::sleep(PAUSE.saturating_sub(pause.elapsed())).await;

    // Back to normal without any restart.
    let after_pause = recover(&load, "after pause").await;
    let resumed = load
        .run("resumed", count / 4, Duration::from_secs(60))
        .await;
    assert_exactly_once(&resumed, fleet.len());

    // Redis killed mid-run: requests before the kill are decided, none twice; after it,
    // every request is refused with 503.
    let (mid_run, ()) = tokio::join!(
        load.run("killed mid-run", usize::MAX, Duration::from_millis(1_000)),
        async {
            tokio::time::sleep(Duration::from_millis(400)).await;
            redis.stop();
        }
    );
    assert_eq!(mid_run.accepted_twice, 0, "{mid_run:?}");
    assert!(
        mid_run.accepted > 0 && mid_run.unavailable > 0,
        "{mid_run:?}"
    );
    let down = load
        .run("redis down", usize::MAX, Duration::from_millis(1_500))
        .await;
    assert_all_unavailable(&down);

    // Restarted: the fleet recovers on its own (without persistence Redis has forgotten the
    // entries; the fleet only presents new proofs from here on).
    redis.restart();
    let after_restart = recover(&load, "after restart").await;
    let recovered = load
        .run("recovered", count / 4, Duration::from_secs(60))
        .await;
    assert_exactly_once(&recovered, fleet.len());
    eprintln!(
        "one redis: recovered {after_pause:.2?} after the pause and {after_restart:.2?} after \
         the restart; whole test {:.2?}",
        started.elapsed()
    );
}

/// Presents new proofs until one round of `CONCURRENCY` proofs is decided exactly once each
/// (no 503 left); returns how long that took. Never tolerates a double acceptance.
async fn recover(load: &Arc<Load>, phase: &str) -> Duration {
    let started = Instant::now();
    loop {
        let round = load.run(phase, CONCURRENCY, Duration::from_secs(10)).await;
        assert_eq!(round.accepted_twice, 0, "{round:?}");
        if round.unavailable == 0 {
            assert_exactly_once(&round, load.servers.len());
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the fleet did not recover within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    dpop_skip_redis_cluster,
    ignore = "redis-server is not installed: sudo apt-get install -y redis-server"
)]
async fn two_servers_on_a_redis_cluster_accept_each_proof_once() {
    let Some(urls) = shared_cluster_urls() else {
        return;
    };
    let prefix = format!("fleet:{:016x}:", random_u64(2));
    let urls = urls.join(",");
    let fleet: Vec<FleetServer> = (0..2)
        .map(|_| FleetServer::start(&prefix, ("FLEET_REDIS_CLUSTER_URLS", &urls)))
        .collect();
    let load = Load::new(&fleet);
    let tally = load
        .run("cluster", proofs_per_phase(), Duration::from_secs(120))
        .await;
    assert_exactly_once(&tally, fleet.len());
}
