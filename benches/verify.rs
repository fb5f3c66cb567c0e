//! Verification benchmarks, all in one binary so that their ratios carry no cross-binary code
//! layout effect:
//!
//! - `raw_verify/ALG/BACKEND`: the floor, the backend's bare ECDSA verify of the fixture's
//!   signing input with the key already parsed (`aws-lc-rs-with-key-parse` adds the ~1 µs key
//!   parse, for reference); `raw_verify/ES256/BACKEND/distinct-signatures` verifies the
//!   server pool's 512 distinct signatures in turn: the floor of `server_verify`, which also
//!   sees a new signature each time (ECDSA verification branches on the signature, so one
//!   signature verified again and again runs faster than a server's traffic ever does);
//! - `core_verify/ALG/BACKEND`: dpop-core's `Verifier::verify` on the same proof, every check
//!   (`ath` over a 1000-byte token and the bound key included); `aws-lc-rs-cached` is
//!   `CachedAwsLcVerifier`; `core_verify/ES256/BACKEND/short-token`: the same with `ath` over a
//!   43-character opaque token (the proof has the same length; only hashing the token differs);
//! - `server_verify/ES256/BACKEND`: dpop-std's request-level path on an `http::Request`:
//!   `Authorization: DPoP` and `DPoP` headers read, target URI built, proof verified with a
//!   server nonce (`StatelessNonces`), and the proof consumed in a `MemoryReplayCache`; each
//!   iteration uses a fresh proof (a pool of distinct `jti`s), as a replay would be refused;
//!   `…/short-token` sends the 43-character token instead of the 1000-byte one;
//! - `peer_verify/…`: jsonwebtoken 11 (aws-lc-rs provider) decoding the same ES256/ES384 proofs
//!   with their embedded JWK (`decode_header`, key from the `jwk`, decode, thumbprint), and
//!   dpop-verifier 4 verifying an ES256 proof of the same shape;
//! - `threads_cpu/K/…` and `threads_wall/K/…`: the server path on K = 1 and 2 threads sharing
//!   one replay cache and one `CachedAwsLcVerifier`; one iteration is one request on each
//!   thread. `threads_cpu` reports the largest per-thread CPU time (what each thread would take
//!   on a core of its own: lock spinning and cache-line traffic count, waiting descheduled does
//!   not), `threads_wall` the wall time (which includes whatever else runs on the machine).

#![allow(
    clippy::unwrap_used,
    reason = "benchmark code: a broken fixture should stop the run"
)]

#[path = "common.rs"]
mod common;

use std::hint::black_box;
use std::sync::{Arc, Barrier, LazyLock, OnceLock};
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P384_SHA384_FIXED, ECDSA_P521_SHA512_FIXED,
    EcdsaVerificationAlgorithm, ParsedPublicKey, UnparsedPublicKey,
};
use base64ct::{Base64UrlUnpadded, Encoding as _};
use criterion::{BenchmarkId, Criterion};
use dpop_aws_lc_rs::CachedAwsLcVerifier;
use dpop_core::{
    Algorithm, Expected, HttpMethod, TargetUri, Thumbprint, UnixTime, Verifier,
    crypto::{VerifyAlgorithm, rustcrypto},
};
use dpop_std::ManualClock;
use dpop_std::nonce::{NonceKey, NonceRequest, NonceSource, StatelessNonces};
use dpop_std::replay::MemoryReplayCache;
use dpop_std::server::{Server, UriPolicy};
use http::header::{AUTHORIZATION, HeaderValue};
use http::{Method, Request};

use common::{
    BASE, CpuTime, Fixture, NOW, PATH, Paired, URL, encode, fixture, fixture_with_token, new_proof,
    ready, short_access_token,
};

static CACHED: [CachedAwsLcVerifier; 3] = [
    CachedAwsLcVerifier::new(Algorithm::Es256),
    CachedAwsLcVerifier::new(Algorithm::Es384),
    CachedAwsLcVerifier::new(Algorithm::Es512),
];

fn main() {
    let mut c = common::criterion();
    let fixtures = Algorithm::ALL.map(fixture);
    // ES256 with `ath` over the short opaque token.
    let short = fixture_with_token(Algorithm::Es256, short_access_token());
    raw_verify(&mut c, &fixtures);
    core_verify(&mut c, &fixtures, &short);
    // Built on first use only, so that a filtered run (`-- core_verify`, a profiler) skips it.
    let pool: Pool<'_> = LazyLock::new(Box::new(|| ServerPool::new(&fixtures[0])));
    let short_pool: Pool<'_> = LazyLock::new(Box::new(|| ServerPool::new(&short)));
    server_verify(&mut c, &[("", &pool), ("/short-token", &short_pool)]);
    peers(&mut c, &fixtures);
    threads(&mut c, &pool);
    c.final_summary();
    paired(&fixtures, &short, &pool, &short_pool);
}

fn index(alg: Algorithm) -> usize {
    Algorithm::ALL.iter().position(|a| *a == alg).unwrap()
}

/// The three verifiers of `alg`: RustCrypto, aws-lc-rs, aws-lc-rs with the key cache.
fn backends(alg: Algorithm) -> [(&'static str, &'static dyn VerifyAlgorithm); 3] {
    let i = index(alg);
    [
        ("rustcrypto", rustcrypto::ALL_VERIFIERS[i]),
        ("aws-lc-rs", dpop_aws_lc_rs::ALL_VERIFIERS[i]),
        ("aws-lc-rs-cached", &CACHED[i]),
    ]
}

fn aws_algorithm(alg: Algorithm) -> &'static EcdsaVerificationAlgorithm {
    [
        &ECDSA_P256_SHA256_FIXED,
        &ECDSA_P384_SHA384_FIXED,
        &ECDSA_P521_SHA512_FIXED,
    ][index(alg)]
}

fn sec1(f: &Fixture) -> Vec<u8> {
    let jwk = f.rust_key.public_jwk();
    [&[0x04][..], jwk.x(), jwk.y()].concat()
}

/// A bare ECDSA verification `(message, signature) -> ok` with the key already parsed.
type RawVerify = Box<dyn Fn(&[u8], &[u8]) -> bool>;

macro_rules! rustcrypto_raw {
    ($f:expr, $krate:ident) => {{
        use $krate::ecdsa::signature::Verifier as _;
        let jwk = $f.rust_key.public_jwk();
        let point = $krate::Sec1Point::from_affine_coordinates(
            jwk.x().try_into().unwrap(),
            jwk.y().try_into().unwrap(),
            false,
        );
        let key = $krate::ecdsa::VerifyingKey::from_sec1_point(&point).unwrap();
        Box::new(move |message: &[u8], signature: &[u8]| {
            $krate::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|s| key.verify(message, &s).is_ok())
        })
    }};
}

/// The raw verifiers of `f`'s algorithm: RustCrypto, aws-lc-rs (`ParsedPublicKey`), and
/// aws-lc-rs parsing the key on each call (`UnparsedPublicKey`), each checked on the fixture.
fn raw_verifiers(f: &Fixture) -> [(&'static str, RawVerify); 3] {
    let rustcrypto: RawVerify = match f.alg {
        Algorithm::Es256 => rustcrypto_raw!(f, p256),
        Algorithm::Es384 => rustcrypto_raw!(f, p384),
        _ => rustcrypto_raw!(f, p521),
    };
    let point = sec1(f);
    let parsed = ParsedPublicKey::new(aws_algorithm(f.alg), &point).unwrap();
    let unparsed = UnparsedPublicKey::new(aws_algorithm(f.alg), point);
    let verifiers: [(&'static str, RawVerify); 3] = [
        ("rustcrypto", rustcrypto),
        (
            "aws-lc-rs",
            Box::new(move |m, s| parsed.verify_sig(m, s).is_ok()),
        ),
        (
            "aws-lc-rs-with-key-parse",
            Box::new(move |m, s| unparsed.verify(m, s).is_ok()),
        ),
    ];
    for (name, verify) in &verifiers {
        assert!(verify(&f.signing_input, &f.signature), "{name}");
    }
    verifiers
}

fn raw_verify(c: &mut Criterion<CpuTime>, fixtures: &[Fixture]) {
    let mut group = c.benchmark_group("raw_verify");
    for f in fixtures {
        for (name, verify) in raw_verifiers(f) {
            group.bench_function(BenchmarkId::new(f.alg.name(), name), |b| {
                b.iter(|| verify(black_box(&f.signing_input), black_box(&f.signature)));
            });
        }
    }
    group.finish();
}

/// The `core_verify` cases: each fixture, then the short-token one (name suffix
/// `/short-token`), each with the request its proof is checked against (`ath` and bound key).
fn core_cases<'f>(
    fixtures: &'f [Fixture],
    short: &'f Fixture,
) -> impl Iterator<Item = (&'f Fixture, &'static str, Expected<'f>)> {
    let uri = TargetUri::parse(URL).unwrap();
    fixtures
        .iter()
        .map(|f| (f, ""))
        .chain([(short, "/short-token")])
        .map(move |(f, suffix)| {
            let expected = Expected::new(HttpMethod::GET, uri)
                .with_access_token(&f.token)
                .with_bound_key(&f.jkt);
            (f, suffix, expected)
        })
}

fn core_verify(c: &mut Criterion<CpuTime>, fixtures: &[Fixture], short: &Fixture) {
    let mut group = c.benchmark_group("core_verify");
    let now = UnixTime::from_secs(NOW);
    for (f, suffix, expected) in core_cases(fixtures, short) {
        for (name, algorithm) in backends(f.alg) {
            let accepted = [algorithm];
            let verifier = Verifier::new(&accepted);
            let verified = verifier.verify(&f.proof, &expected, now).unwrap();
            assert_eq!(verified.thumbprint(), &f.jkt);
            group.bench_function(
                BenchmarkId::new(f.alg.name(), format!("{name}{suffix}")),
                |b| {
                    b.iter(|| {
                        verifier
                            .verify(black_box(&f.proof), black_box(&expected), now)
                            .is_ok()
                    });
                },
            );
        }
    }
    group.finish();
}

/// Distinct ES256 proofs (one `jti` each) with a server nonce, as `http` requests, for the
/// request-level and thread benchmarks: a proof verifies once, then the replay cache refuses it.
/// The replay cache's own cost at a realistic size is `replay_insert/1M-live`.
struct ServerPool {
    requests: Vec<Request<()>>,
    /// The signing input and raw signature of each request's proof, for the raw floor over the
    /// same distinct signatures (ECDSA verification time depends on the signature: a floor that
    /// verifies one signature again and again runs with warm branch predictors that no server
    /// has).
    signatures: Vec<(Vec<u8>, Vec<u8>)>,
    jkt: Thumbprint,
    nonces: Arc<StatelessNonces>,
}

impl ServerPool {
    fn new(f: &Fixture) -> Self {
        // Small enough to stay in the L2 cache, as a request a server just received is: a pool
        // of tens of megabytes would add main-memory misses that no server sees. Rounds longer
        // than the pool start over with a fresh replay cache (outside the timed part).
        let size = 512;
        let now = UnixTime::from_secs(NOW);
        let nonces = Arc::new(StatelessNonces::new(NonceKey::new(1, [0x42; 32])));
        let nonce = nonces.issue(&NonceRequest::new(now).with_thumbprint(&f.jkt).with_htu(URL));
        let authorization = HeaderValue::from_str(&format!("DPoP {}", f.token)).unwrap();
        let requests = (0..size)
            .map(|i: u32| {
                let jti = format!("jti-{i:08}-{:08x}", i.wrapping_mul(0x9E37_79B9_u32));
                // Signed with aws-lc-rs (the same key as the RustCrypto one): 5x faster to build.
                let proof = encode(&new_proof(&jti, now, &f.token, Some(&nonce)), &f.aws_key);
                let (input, signature) = proof.rsplit_once('.').unwrap();
                let signature = Base64UrlUnpadded::decode_vec(signature).unwrap();
                let request = Request::builder()
                    .method(Method::GET)
                    .uri(PATH)
                    .header(AUTHORIZATION, authorization.clone())
                    .header("dpop", HeaderValue::from_str(&proof).unwrap())
                    .body(())
                    .unwrap();
                (request, (input.as_bytes().to_vec(), signature))
            })
            .collect::<Vec<_>>();
        let (requests, signatures) = requests.into_iter().unzip();
        let pool = Self {
            requests,
            signatures,
            jkt: f.jkt,
            nonces,
        };
        // Accepted once, refused as a replay the second time, by every backend.
        for (_, algorithm) in backends(Algorithm::Es256) {
            let server = pool.server(algorithm);
            let cache = pool.cache();
            assert!(handle(&server, &pool.requests[0], &pool.jkt, &cache));
            assert!(!handle(&server, &pool.requests[0], &pool.jkt, &cache));
        }
        pool
    }

    fn server(&self, algorithm: &'static dyn VerifyAlgorithm) -> Server {
        Server::builder(&[algorithm], UriPolicy::public_base(BASE).build().unwrap())
            .with_nonces(self.nonces.clone())
            .with_clock(Arc::new(ManualClock::new(UnixTime::from_secs(NOW))))
            .build()
            .unwrap()
    }

    /// A replay cache with room for every proof of the pool.
    fn cache(&self) -> MemoryReplayCache {
        MemoryReplayCache::with_capacity(2 * self.requests.len())
    }
}

/// One request through the whole server path: headers, proof, nonce, replay cache.
fn handle(
    server: &Server,
    request: &Request<()>,
    jkt: &Thumbprint,
    cache: &MemoryReplayCache,
) -> bool {
    let Ok(resource) = server.resource_request(request) else {
        return false;
    };
    let Ok(accepted) = server.verify_resource(&resource, Some(jkt)) else {
        return false;
    };
    ready(server.consume(cache, &accepted)).is_ok()
}

type Pool<'f> = LazyLock<ServerPool, Box<dyn FnOnce() -> ServerPool + 'f>>;

fn server_verify<'f>(c: &mut Criterion<CpuTime>, pools: &[(&str, &Pool<'f>)]) {
    // The floor of the server path: the raw verification of the pool's distinct signatures.
    let mut group = c.benchmark_group("raw_verify");
    if let Some((_, pool)) = pools.first() {
        let f = fixture(Algorithm::Es256);
        for (name, verify) in raw_verifiers(&f) {
            group.bench_function(
                BenchmarkId::new("ES256", format!("{name}/distinct-signatures")),
                |b| {
                    let pool = LazyLock::force(pool);
                    let mut next = 0;
                    b.iter(|| {
                        let (input, signature) = &pool.signatures[next];
                        next = (next + 1) % pool.signatures.len();
                        verify(black_box(input), black_box(signature))
                    });
                },
            );
        }
    }
    group.finish();
    let mut group = c.benchmark_group("server_verify");
    for (suffix, pool) in pools {
        for (name, algorithm) in backends(Algorithm::Es256) {
            let server = OnceLock::new();
            group.bench_function(BenchmarkId::new("ES256", format!("{name}{suffix}")), |b| {
                let pool = LazyLock::force(pool);
                let server = server.get_or_init(|| pool.server(algorithm));
                b.iter_custom(|iters| run_requests(server, pool, 1, iters, false));
            });
        }
    }
    group.finish();
}

/// Runs `iters` requests on each of `threads` threads, all sharing one replay cache; returns
/// the largest per-thread CPU time (or, with `wall`, the wall time). Each thread takes its own
/// slice of the pool; when `iters` is larger than a slice, the run goes on in rounds, each with
/// a fresh cache (made outside the timed part).
fn run_requests(
    server: &Server,
    pool: &ServerPool,
    threads: usize,
    iters: u64,
    wall: bool,
) -> Duration {
    let slice_len = pool.requests.len() / threads.max(2);
    let mut total = Duration::ZERO;
    let mut left = usize::try_from(iters).unwrap();
    while left > 0 {
        let n = left.min(slice_len);
        let cache = pool.cache();
        let barrier = Barrier::new(threads);
        let work = |t: usize| {
            let requests = &pool.requests[t * slice_len..t * slice_len + n];
            barrier.wait();
            let (wall0, cpu0) = (Instant::now(), common::thread_cpu_ns());
            let mut ok = 0usize;
            for request in requests {
                ok += usize::from(handle(server, black_box(request), &pool.jkt, &cache));
            }
            let cpu = Duration::from_nanos(common::thread_cpu_ns() - cpu0);
            assert_eq!(ok, n, "every request is accepted once");
            (cpu, wall0.elapsed())
        };
        let times: Vec<(Duration, Duration)> = if threads == 1 {
            vec![work(0)]
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads).map(|t| s.spawn(move || work(t))).collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            })
        };
        let (cpu, elapsed) = times
            .into_iter()
            .fold((Duration::ZERO, Duration::ZERO), |(c, w), (tc, tw)| {
                (c.max(tc), w.max(tw))
            });
        total += if wall || common::wall_clock() {
            elapsed
        } else {
            cpu
        };
        left -= n;
    }
    total
}

fn threads(c: &mut Criterion<CpuTime>, pool: &Pool<'_>) {
    let server = OnceLock::new();
    for (group_name, wall) in [("threads_cpu", false), ("threads_wall", true)] {
        let mut group = c.benchmark_group(group_name);
        for threads in [1usize, 2] {
            group.bench_function(
                BenchmarkId::new(threads.to_string(), "ES256/aws-lc-rs-cached"),
                |b| {
                    let pool = LazyLock::force(pool);
                    let server = server.get_or_init(|| pool.server(&CACHED[0]));
                    b.iter_custom(|iters| run_requests(server, pool, threads, iters, wall));
                },
            );
        }
        group.finish();
    }
}

/// The DPoP claims as jsonwebtoken deserializes them.
#[derive(serde::Deserialize)]
#[allow(dead_code, reason = "deserialized to be checked, not read")]
struct Claims {
    jti: String,
    htm: String,
    htu: String,
    iat: u64,
    ath: Option<String>,
}

/// dpop-verifier's replay hook, accepting everything: its verification is measured without
/// any store cost.
struct NoStore;

#[async_trait::async_trait]
impl dpop_verifier::ReplayStore for NoStore {
    async fn insert_once(
        &mut self,
        _jti_hash: [u8; 32],
        _ctx: dpop_verifier::ReplayContext<'_>,
    ) -> Result<bool, dpop_verifier::DpopError> {
        Ok(true)
    }
}

/// What a DPoP server does with jsonwebtoken: decode the header, take the key from its `jwk`,
/// decode and verify, compute the thumbprint. Returns the thumbprint.
fn jsonwebtoken_flow(alg: Algorithm) -> impl Fn(&str) -> Option<String> {
    use jsonwebtoken::jwk::ThumbprintHash;
    use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};

    let jwt_alg = match alg {
        Algorithm::Es256 => jsonwebtoken::Algorithm::ES256,
        _ => jsonwebtoken::Algorithm::ES384,
    };
    let mut validation = Validation::new(jwt_alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    move |token: &str| {
        let header = decode_header(token).ok()?;
        let jwk = header.jwk?;
        let key = DecodingKey::from_jwk(&jwk).ok()?;
        let claims = decode::<Claims>(token, &key, &validation).ok()?;
        (claims.claims.iat == NOW).then_some(())?;
        jwk.thumbprint(ThumbprintHash::SHA256).ok()
    }
}

/// dpop-verifier reads the system clock: a proof of the fixture's shape issued now, and its
/// verification (with a store that accepts everything).
fn dpop_verifier_flow(f: &Fixture) -> (String, impl Fn(&str) -> bool) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let proof = encode(
        &new_proof("e1j3V_bKic8-LAEB", UnixTime::from_secs(now), &f.token, None),
        &f.rust_key,
    );
    assert_eq!(proof.len(), f.proof.len());
    let verifier = dpop_verifier::DpopVerifier::new();
    let token = f.token.clone();
    let jkt = f.jkt.to_string();
    let verify = move |proof: &str| {
        let mut store = NoStore;
        ready(verifier.verify(&mut store, proof, URL, "GET", Some(&token)))
            .is_ok_and(|v| v.jkt == jkt)
    };
    assert!(verify(&proof));
    (proof, verify)
}

fn peers(c: &mut Criterion<CpuTime>, fixtures: &[Fixture]) {
    let mut group = c.benchmark_group("peer_verify");
    for f in &fixtures[..2] {
        let flow = jsonwebtoken_flow(f.alg);
        assert_eq!(flow(&f.proof), Some(f.jkt.to_string()));
        group.bench_function(
            BenchmarkId::new(format!("jsonwebtoken/{}", f.alg.name()), "aws-lc-rs"),
            |b| b.iter(|| flow(black_box(&f.proof)).is_some()),
        );
    }
    let (proof, verify) = dpop_verifier_flow(&fixtures[0]);
    group.bench_function(
        BenchmarkId::new("dpop-verifier/ES256", "rustcrypto-p256-0.13"),
        |b| b.iter(|| verify(black_box(&proof))),
    );
    group.finish();
}

/// The report's ratios again, measured interleaved (see `common::Paired`).
fn paired<'f>(fixtures: &[Fixture], short: &Fixture, pool: &Pool<'f>, short_pool: &Pool<'f>) {
    if !Paired::enabled() {
        return;
    }
    let mut paired = Paired::new("paired-verify.json");
    let now = UnixTime::from_secs(NOW);
    for (f, suffix, expected) in core_cases(fixtures, short) {
        let raws = raw_verifiers(f);
        for (name, algorithm) in backends(f.alg) {
            let raw = &raws[usize::from(name != "rustcrypto")].1;
            let accepted = [algorithm];
            let verifier = Verifier::new(&accepted);
            paired.measure(
                &format!("core_verify/raw_verify/{}/{name}{suffix}", f.alg.name()),
                || {
                    black_box(raw(black_box(&f.signing_input), black_box(&f.signature)));
                },
                || {
                    black_box(verifier.verify(black_box(&f.proof), &expected, now).is_ok());
                },
            );
            if !suffix.is_empty() {
                continue;
            }
            if name != "rustcrypto" && f.alg != Algorithm::Es512 {
                let flow = jsonwebtoken_flow(f.alg);
                paired.measure(
                    &format!("ours/jsonwebtoken/{}/{name}", f.alg.name()),
                    || {
                        black_box(flow(black_box(&f.proof)));
                    },
                    || {
                        black_box(verifier.verify(black_box(&f.proof), &expected, now).is_ok());
                    },
                );
            }
            if name != "rustcrypto" && f.alg == Algorithm::Es256 {
                let (proof, verify) = dpop_verifier_flow(f);
                paired.measure(
                    &format!("ours/dpop-verifier/ES256/{name}"),
                    || {
                        black_box(verify(black_box(&proof)));
                    },
                    || {
                        black_box(verifier.verify(black_box(&f.proof), &expected, now).is_ok());
                    },
                );
            }
        }
    }

    for (f, pool, suffix) in [
        (&fixtures[0], pool, ""),
        (short, short_pool, "/short-token"),
    ] {
        let pool = LazyLock::force(pool);
        let raws = raw_verifiers(f);
        for (name, algorithm) in backends(Algorithm::Es256) {
            let raw = &raws[usize::from(name != "rustcrypto")].1;
            paired_server(&mut paired, pool, raw, name, algorithm, suffix);
        }
    }
    paired_threads(&mut paired, LazyLock::force(pool));
    paired.write();
}

/// `threads2/threads1/ES256/aws-lc-rs`, interleaved: rounds of the same number of requests on
/// one thread and on two (the order flipped every round), throughput ratio
/// `2 * time(1) / time(2)` per round, on the largest per-thread CPU time as `threads_cpu`.
fn paired_threads(paired: &mut Paired, pool: &ServerPool) {
    let server = pool.server(&CACHED[0]);
    let rounds = if common::quick() { 15 } else { 60 };
    // Half a pool slice per thread and round: a few milliseconds.
    let n = (pool.requests.len() / 2) as u64;
    let ratios = (0..rounds)
        .map(|round| {
            let (one, two) = if round % 2 == 0 {
                let one = run_requests(&server, pool, 1, n, false);
                (one, run_requests(&server, pool, 2, n, false))
            } else {
                let two = run_requests(&server, pool, 2, n, false);
                (run_requests(&server, pool, 1, n, false), two)
            };
            2.0 * one.as_secs_f64() / two.as_secs_f64().max(1e-9)
        })
        .collect();
    paired.record("threads2/threads1/ES256/aws-lc-rs", ratios);
}

/// `server_verify/raw_verify/ES256/BACKEND[SUFFIX]`, interleaved.
fn paired_server(
    paired: &mut Paired,
    pool: &ServerPool,
    raw: &RawVerify,
    name: &str,
    algorithm: &'static dyn VerifyAlgorithm,
    suffix: &str,
) {
    {
        let server = pool.server(algorithm);
        let mut cache = pool.cache();
        let mut next = 0;
        let mut next_raw = 0;
        paired.measure(
            &format!("server_verify/raw_verify/ES256/{name}{suffix}"),
            || {
                let (input, signature) = &pool.signatures[next_raw];
                next_raw = (next_raw + 1) % pool.signatures.len();
                black_box(raw(black_box(input), black_box(signature)));
            },
            || {
                if next == pool.requests.len() {
                    next = 0;
                    cache = pool.cache();
                }
                assert!(handle(&server, &pool.requests[next], &pool.jkt, &cache));
                next += 1;
            },
        );
    }
}
