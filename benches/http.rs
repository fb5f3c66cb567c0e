//! DPoP over real HTTP, against the floor (not criterion: a server, a load generator, counts).
//!
//! The bench binary starts itself a second time as the resource server (a child process, so
//! that its CPU time is its own): axum with dpop-axum on 127.0.0.1, a multi-threaded tokio
//! runtime. The parent is a closed-loop load generator: `DPOP_HTTP_CONNECTIONS` (default 8)
//! HTTP/1.1 keep-alive connections (hyper's client connection, one task each, on one thread),
//! each sending its next request when the previous response is in, for a fixed number of
//! requests per batch. Three routes answer `200 ok`:
//!
//! - `floor`: only the signatures a DPoP resource must check, in the handler: the access
//!   token (an ES256 JWT) verified with jsonwebtoken (aws-lc-rs backend, prebuilt key,
//!   issuer, audience and expiry checked), and one raw ECDSA verification (aws-lc-rs,
//!   `ParsedPublicKey` of the client key, known in advance) of the proof's signature over its
//!   signing input. No DPoP check at all: no JSON, no `jwk`, no `ath`, no binding, no nonce, no
//!   replay cache.
//! - `dpop`: the same request through `DpopLayer::resource`: dpop-std's `Server` (verifier
//!   `CachedAwsLcVerifier`, `StatelessNonces`, public base URL), the token resolved by the
//!   same jsonwebtoken verification (binding from `cnf.jkt`), `ath`, the bound key, the nonce,
//!   and the proof consumed in a `MemoryReplayCache`.
//! - `bearer`: an unbound JWT sent as `Authorization: Bearer` through a `DpopLayer` whose
//!   server allows Bearer: one signature (the token's).
//!
//! Proofs are made before the timed part (one distinct `jti` each, so the replay cache accepts
//! every one; signed with aws-lc-rs by the fixed client key, `iat` and the server's manual clock
//! at the fixture time, with a nonce the server issued at start-up). The `floor` route gets the
//! same proof headers (it does not look at `jti`), so both requests have the same size.
//!
//! Each round runs one batch per route (the order reversed every other round); a batch's
//! throughput is its requests divided by the server process's CPU time over the batch
//! (`CLOCK_PROCESS_CPUTIME_ID`, read by the child when the parent asks): requests per second
//! per core, whatever else runs on the machine. `http/dpop/floor` is the ratio of the median
//! throughputs of the two routes; `http/dpop/floor/paired` the median of the per-round ratios
//! (the interleaved ratio, as `common::Paired` for the criterion benchmarks). Latencies are
//! the client's wall-clock times from sending a request to the end of its response body
//! (p50/p90/p99 over every timed request of the route).
//!
//! `cargo bench -p dpop-benches --bench http`; the report runs it too. Figures go to stderr
//! and to `$DPOP_BENCH_FIGURES/http.json`. `DPOP_BENCH_QUICK=1`: fewer, shorter rounds; without
//! `--bench` (`cargo test --benches`), a few requests per route that only check the setup.
//! `DPOP_HTTP_SERVER_THREADS` sets the server's worker threads (default: the available CPUs).

#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "benchmark code: a broken fixture should stop the run; figures are floating point"
)]

#[path = "common.rs"]
mod common;

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _,
    ParsedPublicKey,
};
use axum::Router;
use axum::routing::get;
use axum::serve::ListenerExt as _;
use base64ct::{Base64UrlUnpadded, Encoding as _};
use bytes::Bytes;
use dpop_aws_lc_rs::CachedAwsLcVerifier;
use dpop_axum::{DpopLayer, TokenStatus};
use dpop_core::crypto::VerifyAlgorithm;
use dpop_core::{Algorithm, HttpMethod, NewProof, ProofId, TargetUri, Thumbprint, UnixTime};
use dpop_std::ManualClock;
use dpop_std::nonce::{NonceKey, NonceRequest, NonceSource as _, StatelessNonces};
use dpop_std::replay::MemoryReplayCache;
use dpop_std::server::{BearerPolicy, Server, UriPolicy};
use http::header::{AUTHORIZATION, HOST, HeaderMap, HeaderValue};
use http_body_util::{BodyExt as _, Empty};
use hyper_util::rt::TokioIo;
use rustix::time::ClockId;
use serde_json::json;

use common::{BASE, NOW, fixture, scalar};

/// Set in the child's environment: serve instead of measuring.
const SERVE: &str = "DPOP_BENCH_HTTP_SERVE";
/// The replay cache's capacity, passed to the child.
const CAPACITY: &str = "DPOP_BENCH_HTTP_CAPACITY";
/// Issuer and audience of the access tokens.
const ISSUER: &str = "https://as.example.org";
const AUDIENCE: &str = "https://resource.example.org";

/// The three routes, in the order of the figures.
const ROUTES: [&str; 3] = ["floor", "dpop", "bearer"];

fn main() {
    if std::env::var_os(SERVE).is_some() {
        serve();
        return;
    }
    // `cargo bench -- <filter>`: run only when the filter names this benchmark (options and
    // the numbers criterion's options take are not filters).
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-') && a.parse::<f64>().is_err())
        .collect();
    if !filters.is_empty()
        && !filters
            .iter()
            .any(|f| "http/dpop/floor".contains(f.as_str()))
    {
        return;
    }
    measure();
}

// ---------------------------------------------------------------------------------------------
// The server (child process)
// ---------------------------------------------------------------------------------------------

/// The access token's claims (RFC 9068 subset); `cnf` only in bound tokens.
#[derive(serde::Serialize, serde::Deserialize, Clone)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cnf: Option<Cnf>,
}

#[derive(serde::Serialize, serde::Deserialize, Clone)]
struct Cnf {
    jkt: String,
}

/// What the handler gets from the resolver.
#[derive(Clone)]
struct Subject(#[allow(dead_code, reason = "handed to the handler, not read")] String);

/// The authorization server's key (made at start-up) and how resources check its tokens.
struct Issuer {
    encoding: jsonwebtoken::EncodingKey,
    decoding: jsonwebtoken::DecodingKey,
    validation: jsonwebtoken::Validation,
}

impl Issuer {
    fn new() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let point = pair.public_key().as_ref();
        let x = Base64UrlUnpadded::encode_string(&point[1..33]);
        let y = Base64UrlUnpadded::encode_string(&point[33..65]);
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        Self {
            encoding: jsonwebtoken::EncodingKey::from_ec_der(pkcs8.as_ref()),
            decoding: jsonwebtoken::DecodingKey::from_ec_components(&x, &y).unwrap(),
            validation,
        }
    }

    /// An access token, bound to `jkt` when given; valid for a day of real time.
    fn token(&self, jkt: Option<&Thumbprint>) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: "user-4711".into(),
            exp: now + 86_400,
            cnf: jkt.map(|j| Cnf { jkt: j.to_string() }),
        };
        let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        jsonwebtoken::encode(&header, &claims, &self.encoding).unwrap()
    }

    /// The one signature check on the access token, shared by every route.
    fn verify(&self, token: &str) -> Option<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|t| t.claims)
    }
}

static CACHED: CachedAwsLcVerifier = CachedAwsLcVerifier::new(Algorithm::Es256);
static ACCEPTED: [&dyn VerifyAlgorithm; 1] = [&CACHED];

/// The floor route's handler: the two signature checks, nothing else.
fn floor(issuer: &Issuer, client_key: &ParsedPublicKey, headers: &HeaderMap) -> bool {
    let Some(token) = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("DPoP "))
    else {
        return false;
    };
    let Some((signing_input, signature)) = headers
        .get("dpop")
        .and_then(|v| v.to_str().ok())
        .and_then(|p| p.rsplit_once('.'))
    else {
        return false;
    };
    let mut raw = [0u8; 64];
    let signature_ok = Base64UrlUnpadded::decode(signature, &mut raw)
        .is_ok_and(|s| client_key.verify_sig(signing_input.as_bytes(), s).is_ok());
    signature_ok && issuer.verify(token).is_some()
}

fn serve() {
    let threads = std::env::var("DPOP_HTTP_SERVER_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from));
    let capacity = std::env::var(CAPACITY)
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let f = fixture(Algorithm::Es256);
        let issuer = Arc::new(Issuer::new());
        let now = UnixTime::from_secs(NOW);
        let nonces = Arc::new(StatelessNonces::new(NonceKey::new(1, [0x42; 32])));
        let dpop_url = format!("{BASE}/dpop");
        let nonce = nonces.issue(
            &NonceRequest::new(now)
                .with_thumbprint(&f.jkt)
                .with_htu(&dpop_url),
        );
        let clock = Arc::new(ManualClock::new(now));
        let settings = Server::builder(&ACCEPTED, UriPolicy::public_base(BASE).build().unwrap())
            .with_nonces(nonces)
            .with_clock(clock);
        let bearer_server = settings
            .clone()
            .with_bearer(BearerPolicy::Allow)
            .build()
            .unwrap();
        let server = settings.build().unwrap();
        let resolver = {
            let issuer = Arc::clone(&issuer);
            move |token: &str| match issuer.verify(token) {
                Some(Claims {
                    sub,
                    cnf: Some(cnf),
                    ..
                }) => match Thumbprint::from_base64url(&cnf.jkt) {
                    Ok(jkt) => TokenStatus::Bound {
                        jkt,
                        claims: Subject(sub),
                    },
                    Err(_) => TokenStatus::Invalid("bad cnf.jkt"),
                },
                Some(Claims { sub, cnf: None, .. }) => TokenStatus::Unbound {
                    claims: Subject(sub),
                },
                None => TokenStatus::Invalid("invalid access token"),
            }
        };
        let dpop_layer = DpopLayer::resource(
            server,
            Arc::new(MemoryReplayCache::with_capacity(capacity)),
            resolver.clone(),
        );
        let bearer_layer = DpopLayer::resource(
            bearer_server,
            Arc::new(MemoryReplayCache::with_capacity(1024)),
            resolver,
        );
        let point = [
            &[0x04][..],
            f.rust_key.public_jwk().x(),
            f.rust_key.public_jwk().y(),
        ]
        .concat();
        let client_key = Arc::new(ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point).unwrap());
        let floor_issuer = Arc::clone(&issuer);
        let app = Router::new()
            .route(
                "/floor",
                get(move |headers: HeaderMap| {
                    let ok = floor(&floor_issuer, &client_key, &headers);
                    async move {
                        if ok {
                            http::StatusCode::OK
                        } else {
                            http::StatusCode::UNAUTHORIZED
                        }
                    }
                }),
            )
            .merge(Router::new().route("/dpop", get(ok)).layer(dpop_layer))
            .merge(Router::new().route("/bearer", get(ok)).layer(bearer_layer));

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        // First line: what the load generator needs.
        let hello = json!({
            "port": port,
            "nonce": nonce,
            "bound_token": issuer.token(Some(&f.jkt)),
            "bearer_token": issuer.token(None),
            "server_threads": threads,
        });
        println!("{hello}");
        std::io::stdout().flush().unwrap();
        // Control: each line on stdin is answered with this process's CPU time (ns); the end
        // of stdin ends the server.
        std::thread::spawn(|| {
            let stdin = std::io::stdin();
            for line in stdin.lock().lines() {
                if line.is_err() {
                    break;
                }
                println!("{}", common::clock_ns(ClockId::ProcessCPUTime));
                let _ = std::io::stdout().flush();
            }
            std::process::exit(0);
        });
        axum::serve(listener, app).await.unwrap();
    });
}

async fn ok() -> &'static str {
    "ok"
}

// ---------------------------------------------------------------------------------------------
// The load generator (parent process)
// ---------------------------------------------------------------------------------------------

/// The running server and its control channel.
struct ServerProcess {
    child: Child,
    /// `None` once closed (which ends the child).
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    addr: SocketAddr,
    hello: serde_json::Value,
}

impl ServerProcess {
    fn start(capacity: usize) -> Self {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env(SERVE, "1")
            .env(CAPACITY, capacity.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let hello: serde_json::Value = serde_json::from_str(&line).unwrap();
        let port = u16::try_from(hello["port"].as_u64().unwrap()).unwrap();
        Self {
            child,
            stdin: Some(stdin),
            stdout,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            hello,
        }
    }

    fn text(&self, key: &str) -> &str {
        self.hello[key].as_str().unwrap()
    }

    /// The server process's CPU time so far, in nanoseconds.
    fn cpu_ns(&mut self) -> u64 {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "cpu").unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        line.trim().parse().unwrap()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // Closing stdin ends the child; wait for it so that no process is left behind.
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// One route's requests: the path and the headers of each request (cycled through when
/// `unique` is false; never reused when true).
struct Route {
    name: &'static str,
    path: &'static str,
    headers: Vec<HeaderMap>,
    unique: bool,
    next: usize,
}

impl Route {
    /// The headers of the next `n` requests.
    fn take(&mut self, n: usize) -> Vec<HeaderMap> {
        let out: Vec<HeaderMap> = (0..n)
            .map(|i| self.headers[(self.next + i) % self.headers.len()].clone())
            .collect();
        if self.unique {
            assert!(self.next + n <= self.headers.len(), "proof pool too small");
        }
        self.next += n;
        out
    }
}

/// What one batch measured.
struct Batch {
    requests: usize,
    server_cpu_ns: u64,
    client_cpu_ns: u64,
    wall_ns: u64,
    latencies_ns: Vec<u64>,
}

/// Sends `requests` over `connections` keep-alive connections, closed loop.
async fn drive(
    addr: SocketAddr,
    path: &'static str,
    requests: Vec<HeaderMap>,
    connections: usize,
) -> Vec<u64> {
    let requests = Arc::new(requests);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let requests = Arc::clone(&requests);
        let next = Arc::clone(&next);
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .unwrap();
            tokio::spawn(connection);
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(headers) = requests.get(i) else {
                    break;
                };
                let mut request = http::Request::get(path)
                    .header(HOST, "127.0.0.1")
                    .body(Empty::<Bytes>::new())
                    .unwrap();
                request.headers_mut().extend(headers.clone());
                sender.ready().await.unwrap();
                let start = Instant::now();
                let response = sender.send_request(request).await.unwrap();
                let status = response.status();
                let body = response.into_body().collect().await.unwrap().to_bytes();
                latencies.push(u64::try_from(start.elapsed().as_nanos()).unwrap());
                assert_eq!(status, http::StatusCode::OK, "{path}: {body:?}");
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all
}

fn run_batch(
    runtime: &tokio::runtime::Runtime,
    server: &mut ServerProcess,
    route: &mut Route,
    n: usize,
    connections: usize,
) -> Batch {
    let requests = route.take(n);
    let server0 = server.cpu_ns();
    let client0 = common::clock_ns(ClockId::ProcessCPUTime);
    let wall0 = Instant::now();
    let latencies_ns = runtime.block_on(drive(server.addr, route.path, requests, connections));
    let wall_ns = u64::try_from(wall0.elapsed().as_nanos()).unwrap();
    let client_cpu_ns = common::clock_ns(ClockId::ProcessCPUTime) - client0;
    let server_cpu_ns = server.cpu_ns() - server0;
    Batch {
        requests: n,
        server_cpu_ns,
        client_cpu_ns,
        wall_ns,
        latencies_ns,
    }
}

fn median(values: &mut [f64]) -> f64 {
    quantiles(values, &[0.5])[0]
}

/// Nearest-rank quantiles of `values` (sorted in place).
fn quantiles(values: &mut [f64], ps: &[f64]) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    ps.iter()
        .map(|p| {
            let i = ((values.len() - 1) as f64 * p).round() as usize;
            values[i]
        })
        .collect()
}

fn measure() {
    let quick = common::quick();
    let connections: usize = std::env::var("DPOP_HTTP_CONNECTIONS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(8);
    // Without `--bench` (`cargo test --benches`), as criterion does: a short functional run
    // that measures nothing.
    let test_mode = !std::env::args().any(|a| a == "--bench");
    let (warm_up, rounds, per_batch) = if test_mode {
        (16, 2, 32)
    } else if quick {
        (300, 6, 600)
    } else {
        (1000, 12, 2000)
    };
    let proofs = warm_up + rounds * per_batch;
    let mut server = ServerProcess::start(2 * proofs);
    let key =
        dpop_aws_lc_rs::AwsLcSigningKey::from_bytes(Algorithm::Es256, &scalar(Algorithm::Es256))
            .unwrap();
    let bound = server.text("bound_token").to_owned();
    let bearer = server.text("bearer_token").to_owned();
    let nonce = server.text("nonce").to_owned();

    // The proofs, before anything is timed.
    let made = Instant::now();
    let url = format!("{BASE}/dpop");
    let uri = TargetUri::parse(&url).unwrap();
    let authorization = HeaderValue::from_str(&format!("DPoP {bound}")).unwrap();
    let dpop_headers: Vec<HeaderMap> = (0..proofs)
        .map(|i| {
            let jti = format!("http-{i:010}");
            let proof = NewProof::new(
                HttpMethod::GET,
                uri,
                ProofId::new(&jti).unwrap(),
                UnixTime::from_secs(NOW),
            )
            .with_access_token(&bound)
            .with_nonce(&nonce)
            .encode_to_string(&key)
            .unwrap();
            let mut headers = HeaderMap::new();
            headers.insert(AUTHORIZATION, authorization.clone());
            headers.insert("dpop", HeaderValue::from_str(&proof).unwrap());
            headers
        })
        .collect();
    let mut bearer_headers = HeaderMap::new();
    bearer_headers.insert(
        AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {bearer}")).unwrap(),
    );
    eprintln!(
        "http: {proofs} proofs made in {:.2} s; access token {} characters; proof {} characters",
        made.elapsed().as_secs_f64(),
        bound.len(),
        dpop_headers[0]["dpop"].len()
    );
    let mut routes = [
        Route {
            name: "floor",
            path: "/floor",
            headers: dpop_headers.clone(),
            unique: false,
            next: 0,
        },
        Route {
            name: "dpop",
            path: "/dpop",
            headers: dpop_headers,
            unique: true,
            next: 0,
        },
        Route {
            name: "bearer",
            path: "/bearer",
            headers: vec![bearer_headers],
            unique: false,
            next: 0,
        },
    ];
    assert_eq!(routes.each_ref().map(|r| r.name), ROUTES);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for route in &mut routes {
        run_batch(&runtime, &mut server, route, warm_up, connections);
    }
    let mut batches: [Vec<Batch>; 3] = Default::default();
    for round in 0..rounds {
        let order: [usize; 3] = if round % 2 == 0 { [0, 1, 2] } else { [2, 1, 0] };
        for i in order {
            let batch = run_batch(
                &runtime,
                &mut server,
                &mut routes[i],
                per_batch,
                connections,
            );
            batches[i].push(batch);
        }
    }
    let server_threads = server.hello["server_threads"].clone();
    drop(server);

    let per_core = |b: &Batch| b.requests as f64 * 1e9 / b.server_cpu_ns.max(1) as f64;
    let mut figures = serde_json::Map::new();
    let mut medians = [0.0; 3];
    for (i, name) in ROUTES.iter().enumerate() {
        let runs = &batches[i];
        let mut throughput: Vec<f64> = runs.iter().map(per_core).collect();
        let mut wall: Vec<f64> = runs
            .iter()
            .map(|b| b.requests as f64 * 1e9 / b.wall_ns.max(1) as f64)
            .collect();
        let mut server_us: Vec<f64> = runs
            .iter()
            .map(|b| b.server_cpu_ns as f64 / b.requests as f64 / 1e3)
            .collect();
        let mut client_us: Vec<f64> = runs
            .iter()
            .map(|b| b.client_cpu_ns as f64 / b.requests as f64 / 1e3)
            .collect();
        let mut latencies: Vec<f64> = runs
            .iter()
            .flat_map(|b| b.latencies_ns.iter().map(|&ns| ns as f64 / 1e3))
            .collect();
        let q = quantiles(&mut latencies, &[0.5, 0.9, 0.99]);
        medians[i] = median(&mut throughput);
        let route = json!({
            "requests_per_cpu_second": medians[i],
            "requests_per_second_wall": median(&mut wall),
            "server_cpu_us_per_request": median(&mut server_us),
            "client_cpu_us_per_request": median(&mut client_us),
            "latency_us": {"p50": q[0], "p90": q[1], "p99": q[2]},
        });
        eprintln!(
            "http {name:6}: {:8.0} requests per server CPU-second (median of {rounds} batches), \
             {:8.0} per second wall; server {:.1} µs CPU per request; latency p50 {:.0} µs, \
             p90 {:.0} µs, p99 {:.0} µs",
            medians[i],
            route["requests_per_second_wall"]
                .as_f64()
                .unwrap_or_default(),
            route["server_cpu_us_per_request"]
                .as_f64()
                .unwrap_or_default(),
            q[0],
            q[1],
            q[2],
        );
        figures.insert(format!("http_{name}"), route);
    }
    for (i, name) in [(1, "dpop"), (2, "bearer")] {
        let ratio = format!("http/{name}/floor");
        let mut per_round: Vec<f64> = batches[i]
            .iter()
            .zip(&batches[0])
            .map(|(b, floor)| per_core(b) / per_core(floor))
            .collect();
        let q = quantiles(&mut per_round, &[0.5, 0.25, 0.75]);
        let of_medians = medians[i] / medians[0];
        eprintln!(
            "http {ratio}: ratio of medians {of_medians:.4}, interleaved {:.4} \
             (interquartile {:.4} – {:.4})",
            q[0], q[1], q[2]
        );
        figures.insert(ratio.clone(), json!({"ratio_of_medians": of_medians}));
        figures.insert(
            format!("{ratio}/paired"),
            json!({"median": q[0], "q1": q[1], "q3": q[2]}),
        );
    }
    figures.insert(
        "http_setup".into(),
        json!({
            "connections": connections,
            "server_threads": server_threads,
            "rounds": rounds,
            "requests_per_batch": per_batch,
            "access_token_chars": bound.len(),
            "clock": "server process CPU time (CLOCK_PROCESS_CPUTIME_ID)",
        }),
    );
    if let Some(dir) = std::env::var_os("DPOP_BENCH_FIGURES").filter(|_| !test_mode) {
        let path = std::path::Path::new(&dir).join("http.json");
        std::fs::write(path, serde_json::Value::Object(figures).to_string() + "\n").unwrap();
    }
}
