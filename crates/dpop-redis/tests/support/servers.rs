//! `redis-server` processes for tests: single servers and three-primary clusters on free ports
//! of 127.0.0.1, without persistence, each in its own scratch directory.
//!
//! Every server runs under a small `sh` guard that reads the test process's pipe and kills the
//! server when the pipe closes, so no server outlives the test binary, even when it aborts.
//! Servers are also killed (and their directories removed) on drop.
//!
//! Included with `#[path]` by the dpop-redis tests and the fleet tests.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test binary uses a different part of these helpers"
)]

use std::hash::{BuildHasher, RandomState};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Notes a missing prerequisite: a panic under `CI=true` (CI must never skip these tests),
/// otherwise a note on stderr, and the caller skips the test.
pub fn missing(what: &str) {
    let hint = "install redis-server (Debian: apt-get install redis-server), or set \
                DPOP_TEST_REDIS_URL to a Redis the tests may write to";
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("{what}, and CI=true: the Redis tests must not be skipped in CI; {hint}");
    }
    // Straight to the stderr handle: libtest captures `eprintln!` of passing tests, and a skip
    // should be seen.
    let note = format!("note: skipping a Redis test: {what}; {hint}\n");
    let _ = std::io::stderr().write_all(note.as_bytes());
}

/// True when `redis-server` can be run; otherwise notes it (see [`missing`]).
pub fn redis_installed() -> bool {
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        missing("redis-server is not on PATH");
    }
    found
}

/// `DPOP_TEST_REDIS_URL` when set; otherwise one `redis-server` started for this test binary
/// (stopped when the binary exits); `None` after a note when neither is possible.
pub fn shared_redis_url() -> Option<String> {
    if let Ok(url) = std::env::var("DPOP_TEST_REDIS_URL")
        && !url.trim().is_empty()
    {
        return Some(url);
    }
    static SHARED: OnceLock<Option<RedisProcess>> = OnceLock::new();
    SHARED
        .get_or_init(|| RedisProcess::start(&[]))
        .as_ref()
        .map(RedisProcess::url)
}

/// `DPOP_TEST_REDIS_CLUSTER_URLS` (comma-separated) when set; otherwise a three-primary
/// cluster started for this test binary; `None` after a note when neither is possible.
pub fn shared_cluster_urls() -> Option<Vec<String>> {
    if let Ok(urls) = std::env::var("DPOP_TEST_REDIS_CLUSTER_URLS")
        && !urls.trim().is_empty()
    {
        return Some(urls.split(',').map(|u| u.trim().to_owned()).collect());
    }
    static SHARED: OnceLock<Option<Cluster>> = OnceLock::new();
    SHARED
        .get_or_init(|| Cluster::start(3))
        .as_ref()
        .map(Cluster::urls)
}

pub fn random_u64(salt: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    RandomState::new().hash_one((nanos, std::process::id(), salt))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A free port whose cluster bus port (`port + 10000`) is free too.
fn free_cluster_port() -> u16 {
    for _ in 0..200 {
        let port = free_port();
        if port <= 55_535 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
    panic!("no free port pair for a cluster node");
}

fn kill(signal: &str, pid: u32) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// One `redis-server` child (under its guard), on a fixed port and directory.
#[derive(Debug)]
pub struct RedisProcess {
    /// The guard shell; its stdin is the pipe whose closing kills the server.
    guard: Option<Child>,
    pid: u32,
    port: u16,
    dir: PathBuf,
    extra: Vec<String>,
}

impl RedisProcess {
    /// Starts a server with `extra` arguments; `None` after a note if redis-server is missing.
    pub fn start(extra: &[&str]) -> Option<Self> {
        if !redis_installed() {
            return None;
        }
        let port = if extra.contains(&"--cluster-enabled") {
            free_cluster_port()
        } else {
            free_port()
        };
        let dir = std::env::temp_dir().join(format!(
            "dpop-redis-test-{:016x}",
            random_u64(u64::from(port))
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut server = Self {
            guard: None,
            pid: 0,
            port,
            dir,
            extra: extra.iter().map(|&a| a.to_owned()).collect(),
        };
        server.restart();
        Some(server)
    }

    pub const fn port(&self) -> u16 {
        self.port
    }

    pub const fn pid(&self) -> u32 {
        self.pid
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on the same port and directory, and waits until it answers
    /// `PING`. A cluster node keeps its identity (`nodes.conf` in the directory); data is not
    /// persisted.
    pub fn restart(&mut self) {
        assert!(self.guard.is_none(), "already running");
        let mut guard = Command::new("sh")
            .arg("-c")
            .arg(r#"redis-server "$@" </dev/null >/dev/null 2>&1 & pid=$!; echo "$pid"; cat >/dev/null; kill -CONT "$pid" 2>/dev/null; kill -9 "$pid" 2>/dev/null; wait "$pid""#)
            .arg("sh")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .args(&self.extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(guard.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        self.pid = line.trim().parse().unwrap();
        self.guard = Some(guard);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.answers_ping() {
            assert!(
                Instant::now() < deadline,
                "redis-server on port {} did not start",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server (SIGKILL: no chance to say goodbye to clients or cluster peers).
    pub fn stop(&mut self) {
        if let Some(mut guard) = self.guard.take() {
            kill("CONT", self.pid);
            kill("KILL", self.pid);
            drop(guard.stdin.take());
            let _ = guard.wait();
            // The server may take a moment to release its port.
            let deadline = Instant::now() + Duration::from_secs(5);
            while self.answers_ping() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Sends a signal (`STOP`, `CONT`) to the server.
    pub fn signal(&self, name: &str) {
        kill(name, self.pid);
    }

    pub fn answers_ping(&self) -> bool {
        let address = SocketAddr::from(([127, 0, 0, 1], self.port));
        let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(200))
        else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        let mut reply = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }

    /// Runs `redis-cli` against this server and returns its output (panics on failure).
    pub fn cli(&self, args: &[&str]) -> String {
        let output = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli runs");
        assert!(output.status.success(), "redis-cli {args:?}: {output:?}");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Redis Cluster of `n` primaries without replicas, each owning a third of the slots.
#[derive(Debug)]
pub struct Cluster {
    pub nodes: Vec<RedisProcess>,
}

impl Cluster {
    /// Starts `n` (at least 3) cluster-enabled servers and joins them with
    /// `redis-cli --cluster create`; waits until every node reports `cluster_state:ok`.
    /// `None` after a note when redis-server is missing.
    pub fn start(n: usize) -> Option<Self> {
        let args = [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            // Quick failure detection, so tests of a lost primary take seconds.
            "--cluster-node-timeout",
            "1000",
        ];
        let mut nodes = Vec::new();
        for _ in 0..n {
            nodes.push(RedisProcess::start(&args)?);
        }
        let addresses: Vec<String> = nodes.iter().map(RedisProcess::address).collect();
        let output = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli runs");
        assert!(output.status.success(), "cluster create: {output:?}");
        let cluster = Self { nodes };
        cluster.wait_until_ok(Duration::from_secs(20));
        Some(cluster)
    }

    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisProcess::url).collect()
    }

    /// Waits until every running node says `cluster_state:ok`.
    pub fn wait_until_ok(&self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let ok = self
                .nodes
                .iter()
                .filter(|n| n.guard.is_some())
                .all(|n| n.cli(&["cluster", "info"]).contains("cluster_state:ok"));
            if ok {
                return;
            }
            assert!(Instant::now() < deadline, "the cluster did not become ok");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The index of the node that owns `slot`, by asking the first running node.
    pub fn owner_of(&self, slot: u16) -> usize {
        let id = self.node_id_for_slot(slot);
        self.nodes
            .iter()
            .position(|n| n.guard.is_some() && n.cli(&["cluster", "myid"]) == id)
            .expect("the slot's owner is one of the nodes")
    }

    fn node_id_for_slot(&self, slot: u16) -> String {
        let asker = self.nodes.iter().find(|n| n.guard.is_some()).unwrap();
        for line in asker.cli(&["cluster", "nodes"]).lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            for range in fields.iter().skip(8) {
                let (lo, hi) = range.split_once('-').unwrap_or((range, range));
                if let (Ok(lo), Ok(hi)) = (lo.parse::<u16>(), hi.parse::<u16>())
                    && (lo..=hi).contains(&slot)
                {
                    return fields[0].to_owned();
                }
            }
        }
        panic!("no owner for slot {slot}");
    }
}
