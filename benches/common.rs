//! Shared by every bench binary (`#[path = "common.rs"] mod common;`): the thread CPU-time
//! measurement, criterion settings, fixed keys and the proof fixtures.
//!
//! # Clock
//!
//! The development machine is shared and noisy (other builds run beside the benchmarks), so the
//! figure of record is the calling thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`): time spent
//! descheduled is not counted, which cut the run-to-run spread of medians from several percent
//! to under one on the development machine. `DPOP_BENCH_CLOCK=wall` switches to
//! `CLOCK_MONOTONIC` to compare.
//!
//! # Settings
//!
//! Warm-up 1 s, measurement 3 s, 30 samples (the anchors' settings); `DPOP_BENCH_QUICK=1` (set by
//! `report --quick`) uses 0.2 s, 0.6 s and 10 samples.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use base64ct::{Base64UrlUnpadded, Encoding as _};
use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{Criterion, Throughput};
use dpop_aws_lc_rs::AwsLcSigningKey;
use dpop_core::{
    Algorithm, HttpMethod, NewProof, ProofId, SigningKey, TargetUri, Thumbprint, UnixTime,
    crypto::ProofSigner,
};
use rustix::time::{ClockId, clock_gettime};

/// The verifier's `now` and every fixture proof's `iat`.
pub const NOW: u64 = 1_700_000_000;
/// Public base URL of the resource server.
pub const BASE: &str = "https://resource.example.org";
/// The request path, so the target URI is `BASE` + `PATH`.
pub const PATH: &str = "/protectedresource";
/// Length of the access token: the anchors' 1000-byte token.
pub const TOKEN_LEN: usize = 1000;
/// Length of the short opaque access token (`…/short-token` benchmarks): 32 random bytes in
/// base64url, what most authorization servers hand out as an opaque token.
pub const SHORT_TOKEN_LEN: usize = 43;

/// The target URI of every fixture proof: `BASE` + `PATH`.
pub const URL: &str = "https://resource.example.org/protectedresource";

/// True when the report asked for a quick run.
pub fn quick() -> bool {
    std::env::var_os("DPOP_BENCH_QUICK").is_some_and(|v| !v.is_empty() && v != "0")
}

/// True when `DPOP_BENCH_CLOCK=wall` asks for the wall clock instead of thread CPU time.
pub fn wall_clock() -> bool {
    std::env::var("DPOP_BENCH_CLOCK").is_ok_and(|v| v == "wall")
}

/// The clock every measurement reads.
pub fn bench_clock() -> ClockId {
    if wall_clock() {
        ClockId::Monotonic
    } else {
        ClockId::ThreadCPUTime
    }
}

/// Nanoseconds on the measurement clock, for `iter_custom` loops.
pub fn now_ns() -> u64 {
    clock_ns(bench_clock())
}

/// The criterion configuration of every bench binary.
pub fn criterion() -> Criterion<CpuTime> {
    let clock = bench_clock();
    let (warm_up, measurement, samples) = if quick() {
        (Duration::from_millis(200), Duration::from_millis(600), 10)
    } else {
        (Duration::from_secs(1), Duration::from_secs(3), 30)
    };
    Criterion::default()
        .with_measurement(CpuTime { clock })
        .warm_up_time(warm_up)
        .measurement_time(measurement)
        .sample_size(samples)
        .configure_from_args()
}

/// Nanoseconds on `clock` (thread CPU time by default).
pub fn clock_ns(clock: ClockId) -> u64 {
    let t = clock_gettime(clock);
    let secs = u64::try_from(t.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(t.tv_nsec).unwrap_or(0);
    secs * 1_000_000_000 + nanos
}

/// This thread's CPU time in nanoseconds.
pub fn thread_cpu_ns() -> u64 {
    clock_ns(ClockId::ThreadCPUTime)
}

/// A criterion [`Measurement`] reading one POSIX clock: the thread CPU-time clock unless
/// `DPOP_BENCH_CLOCK=wall`.
pub struct CpuTime {
    clock: ClockId,
}

impl Measurement for CpuTime {
    type Intermediate = u64;
    type Value = Duration;

    fn start(&self) -> u64 {
        clock_ns(self.clock)
    }

    fn end(&self, start: u64) -> Duration {
        Duration::from_nanos(clock_ns(self.clock).saturating_sub(start))
    }

    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_secs_f64() * 1e9
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        &NanosFormatter
    }
}

/// Formats nanoseconds as criterion's wall-clock formatter does (ps to s).
struct NanosFormatter;

impl ValueFormatter for NanosFormatter {
    fn scale_values(&self, ns: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = if ns < 1.0 {
            (1e3, "ps")
        } else if ns < 1e3 {
            (1.0, "ns")
        } else if ns < 1e6 {
            (1e-3, "µs")
        } else if ns < 1e9 {
            (1e-6, "ms")
        } else {
            (1e-9, "s")
        };
        for v in values {
            *v *= factor;
        }
        unit
    }

    fn scale_throughputs(
        &self,
        ns: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        #[allow(clippy::cast_precision_loss)]
        let per_iteration = match *throughput {
            Throughput::Bits(n)
            | Throughput::Bytes(n)
            | Throughput::BytesDecimal(n)
            | Throughput::Elements(n)
            | Throughput::ElementsAndBytes { elements: n, .. } => n as f64,
        };
        let _ = ns;
        for v in values {
            *v = per_iteration * 1e9 / *v;
        }
        "elem/s"
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

/// Runs a future that never waits (dpop-std's in-memory cache, a no-op peer store) to
/// completion, without an async runtime.
pub fn ready<F: Future>(future: F) -> F::Output {
    let mut future = core::pin::pin!(future);
    let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
    loop {
        if let core::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// A fixed private scalar for `alg` (the same for both backends, so both sign with one key).
pub fn scalar(alg: Algorithm) -> Vec<u8> {
    let n = alg.curve().coordinate_len();
    (0..n)
        .map(|i| {
            let i = u8::try_from(i % 251).unwrap_or(0);
            if i == 0 {
                0x01
            } else {
                i.wrapping_mul(37) ^ 0x5C
            }
        })
        .collect()
}

/// A 1000-character token68 access token (RFC 6750), as the anchors used.
pub fn access_token() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
    (0..TOKEN_LEN)
        .map(|i| char::from(ALPHABET[(i * 7 + i / 13) % ALPHABET.len()]))
        .collect()
}

/// A 43-character opaque access token (the base64url alphabet only, as 32 random bytes
/// encode).
pub fn short_access_token() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..SHORT_TOKEN_LEN)
        .map(|i| char::from(ALPHABET[(i * 29 + 11) % ALPHABET.len()]))
        .collect()
}

/// The keys of one algorithm in both backends, and a proof signed with them.
pub struct Fixture {
    pub alg: Algorithm,
    pub rust_key: SigningKey,
    pub aws_key: AwsLcSigningKey,
    pub token: String,
    /// `header.payload.signature`, with `ath` and no nonce.
    pub proof: String,
    /// `header.payload`: what was signed.
    pub signing_input: Vec<u8>,
    /// The raw `r||s` signature.
    pub signature: Vec<u8>,
    pub jkt: Thumbprint,
}

/// The fixture of `alg`: a GET of [`URL`] at [`NOW`] with `ath` of the 1000-byte
/// [`access_token`], signed (deterministically) with the RustCrypto key.
pub fn fixture(alg: Algorithm) -> Fixture {
    fixture_with_token(alg, access_token())
}

/// As [`fixture`], with `ath` of `token` (the proof has the same length whatever the token:
/// `ath` is always 43 characters).
pub fn fixture_with_token(alg: Algorithm, token: String) -> Fixture {
    let rust_key = SigningKey::from_bytes(alg, &scalar(alg)).expect("fixed scalar is valid");
    let aws_key = AwsLcSigningKey::from_bytes(alg, &scalar(alg)).expect("fixed scalar is valid");
    assert_eq!(rust_key.public_jwk(), aws_key.public_jwk());
    let proof = new_proof("e1j3V_bKic8-LAEB", UnixTime::from_secs(NOW), &token, None)
        .encode_to_string(&rust_key)
        .expect("proof encodes");
    let (input, signature) = proof.rsplit_once('.').expect("three segments");
    let signature = Base64UrlUnpadded::decode_vec(signature).expect("base64url");
    assert_eq!(signature.len(), alg.signature_len());
    let jkt = rust_key.public_jwk().thumbprint();
    Fixture {
        alg,
        signing_input: input.as_bytes().to_vec(),
        signature,
        rust_key,
        aws_key,
        token,
        proof,
        jkt,
    }
}

/// The claims of every fixture proof, with `jti` and `iat` as given.
pub fn new_proof<'a>(
    jti: &'a str,
    issued_at: UnixTime,
    token: &'a str,
    nonce: Option<&'a str>,
) -> NewProof<'a> {
    let uri = TargetUri::parse(URL).expect("valid URL");
    let proof = NewProof::new(
        HttpMethod::GET,
        uri,
        ProofId::new(jti).expect("valid jti"),
        issued_at,
    )
    .with_access_token(token);
    match nonce {
        Some(n) => proof.with_nonce(n),
        None => proof,
    }
}

/// `'static` text for fixtures that live as long as the bench binary.
pub fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// Signs with any [`ProofSigner`] (used to build proof pools with the faster backend).
pub fn encode(proof: &NewProof<'_>, signer: &dyn ProofSigner) -> String {
    proof.encode_to_string(signer).expect("proof encodes")
}

/// Interleaved ratio measurements, written for the report next to criterion's medians.
///
/// Criterion measures one benchmark after the other, so on a shared machine a ratio of two
/// medians also carries whatever changed between the two measurements. Here the two operations
/// alternate in short batches (a few milliseconds, the order flipped every round), each batch
/// timed on the measurement clock, and the ratio is the median of the per-round ratios
/// `time(b) / time(a)`: slow drifts of the machine cancel out.
pub struct Paired {
    file: &'static str,
    results: Vec<(String, f64, f64, f64)>,
}

impl Paired {
    /// Results go to `$DPOP_BENCH_FIGURES/<file>` when the report runs the benchmarks; without
    /// that variable (a plain `cargo bench`, a profiler) nothing is measured.
    pub fn new(file: &'static str) -> Self {
        Self {
            file,
            results: Vec::new(),
        }
    }

    /// True when paired measurements are wanted.
    pub fn enabled() -> bool {
        std::env::var_os("DPOP_BENCH_FIGURES").is_some()
    }

    /// Measures `b` against `a`; `name` is the ratio's name (`.../paired` is appended).
    pub fn measure(&mut self, name: &str, mut a: impl FnMut(), mut b: impl FnMut()) {
        if !Self::enabled() {
            return;
        }
        let (rounds, batch_ns) = if quick() {
            (15, 3_000_000)
        } else {
            (60, 8_000_000)
        };
        // Batch size: enough iterations of the slower one for `batch_ns`.
        let t0 = now_ns();
        a();
        b();
        let one = (now_ns() - t0).max(1);
        let batch = (batch_ns / one).clamp(1, 100_000);
        let time = |f: &mut dyn FnMut()| {
            let t0 = now_ns();
            for _ in 0..batch {
                f();
            }
            now_ns() - t0
        };
        let mut ratios = Vec::with_capacity(rounds);
        for round in 0..rounds {
            let (ta, tb) = if round % 2 == 0 {
                let ta = time(&mut a);
                (ta, time(&mut b))
            } else {
                let tb = time(&mut b);
                (time(&mut a), tb)
            };
            #[allow(clippy::cast_precision_loss)]
            ratios.push(tb as f64 / ta.max(1) as f64);
        }
        self.record(name, ratios);
    }

    /// Records per-round ratios measured elsewhere (median and quartiles), for a pair that
    /// [`measure`](Self::measure) cannot alternate (the thread benchmark).
    pub fn record(&mut self, name: &str, mut ratios: Vec<f64>) {
        if !Self::enabled() || ratios.is_empty() {
            return;
        }
        ratios.sort_by(f64::total_cmp);
        let q = |p: f64| {
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss
            )]
            let i = ((ratios.len() - 1) as f64 * p).round() as usize;
            ratios[i]
        };
        let (median, low, high) = (q(0.5), q(0.25), q(0.75));
        eprintln!("paired {name}: {median:.4} (interquartile {low:.4} – {high:.4})");
        self.results.push((name.to_owned(), median, low, high));
    }

    /// Writes the results as `{"<name>/paired": {"median":..,"q1":..,"q3":..}}`.
    pub fn write(&self) {
        let Some(dir) = std::env::var_os("DPOP_BENCH_FIGURES") else {
            return;
        };
        let body: Vec<String> = self
            .results
            .iter()
            .map(|(name, median, low, high)| {
                format!("\"{name}/paired\":{{\"median\":{median},\"q1\":{low},\"q3\":{high}}}")
            })
            .collect();
        let path = std::path::Path::new(&dir).join(self.file);
        std::fs::write(path, format!("{{{}}}\n", body.join(","))).expect("figures written");
    }
}
