//! `cargo run --release -p dpop-benches --bin report [-- --quick] [-- --no-bench]`
//!
//! Runs every benchmark of `dpop-benches` in one `cargo bench` invocation, then reads criterion's
//! medians (`target/criterion/**/new/estimates.json`), prints a table of medians and of the
//! ratios the performance targets are stated in, and writes the same figures to
//! `target/dpop-bench-report.json`:
//!
//! ```json
//! {"medians_ns": {"raw_verify/ES256/aws-lc-rs": 49100.0, ...},
//!  "ratios": {"core_verify/raw_verify/ES256/aws-lc-rs": 1.04, ...},
//!  "figures": {...}, "targets": [...]}
//! ```
//!
//! Options: `--quick` (short warm-up and measurement, under 3 minutes once built),
//! `--no-bench` (only collect the results of the last run), and anything after `--` goes to
//! criterion (a filter, for example). Times are thread CPU time unless `DPOP_BENCH_CLOCK=wall`.
//! Built with `--features rustcrypto-tables`, it runs the benchmarks with that feature too.

#![allow(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "a std command-line tool"
)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use serde_json::{Value, json};

type Result<T> = std::result::Result<T, String>;

const ALGS: [&str; 3] = ["ES256", "ES384", "ES512"];
const BACKENDS: [&str; 2] = ["rustcrypto", "aws-lc-rs"];
const BENCHES: [&str; 6] = [
    "verify",
    "create",
    "thumbprint",
    "replay_nonce",
    "client",
    "http",
];
/// The fixture of the `…/short-token` figures; every other verification figure uses the
/// 1000-byte token.
const SHORT_TOKEN: &str = "/short-token";

fn main() {
    if let Err(e) = run() {
        eprintln!("report: {e}");
        std::process::exit(1);
    }
}

struct Options {
    quick: bool,
    bench: bool,
    criterion_args: Vec<String>,
}

fn options() -> Result<Options> {
    let mut options = Options {
        quick: false,
        bench: true,
        criterion_args: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--no-bench" => options.bench = false,
            "--" => options.criterion_args.extend(args.by_ref()),
            "-h" | "--help" => {
                println!(
                    "usage: report [--quick] [--no-bench] [-- <criterion args>]\n\
                     Runs the dpop-benches benchmarks and writes target/dpop-bench-report.json"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        }
    }
    Ok(options)
}

fn run() -> Result<()> {
    let options = options()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("no workspace directory")?
        .to_path_buf();
    let target = target_directory(&cargo, &workspace)?;
    let figures_dir = target.join("dpop-bench-figures");
    let started = SystemTime::now();
    let load_before = load_average();

    if options.bench {
        let _ = std::fs::remove_dir_all(&figures_dir);
        std::fs::create_dir_all(&figures_dir)
            .map_err(|e| format!("{}: {e}", figures_dir.display()))?;
        let mut command = Command::new(&cargo);
        command
            .current_dir(&workspace)
            .args(["bench", "-p", "dpop-benches"]);
        if cfg!(feature = "rustcrypto-tables") {
            command.args(["--features", "rustcrypto-tables"]);
        }
        for bench in BENCHES {
            command.args(["--bench", bench]);
        }
        if !options.criterion_args.is_empty() {
            command.arg("--").args(&options.criterion_args);
        }
        command.env("DPOP_BENCH_FIGURES", &figures_dir);
        if options.quick {
            command.env("DPOP_BENCH_QUICK", "1");
        }
        eprintln!("report: running {command:?}");
        let status = command
            .status()
            .map_err(|e| format!("cannot run cargo bench: {e}"))?;
        if !status.success() {
            return Err(format!("cargo bench failed: {status}"));
        }
    }

    let since = options.bench.then_some(started);
    let estimates = collect(&target.join("criterion"), since)?;
    let written = written_figures(&figures_dir);
    // A filter may select only the HTTP benchmark, which writes figures but no criterion
    // results.
    if estimates.is_empty() && written.is_empty() {
        return Err("no benchmark results found; run without --no-bench".into());
    }
    let medians: BTreeMap<String, f64> = estimates
        .iter()
        .map(|(name, e)| (name.clone(), e.median))
        .collect();
    let mut ratios = ratios(&medians);
    for (name, value) in &written {
        if let Some(median) = value.get("median").and_then(Value::as_f64)
            && name.ends_with("/paired")
        {
            ratios.insert(name.clone(), median);
        }
        // Ratios a bench binary computed itself (the HTTP benchmark's throughputs).
        if let Some(ratio) = value.get("ratio_of_medians").and_then(Value::as_f64) {
            ratios.insert(name.clone(), ratio);
        }
    }
    let mut figures = figures(&medians, written);
    figures.insert("quick".into(), json!(options.quick));
    figures.insert(
        "rustcrypto_precomputed_tables".into(),
        json!(cfg!(feature = "rustcrypto-tables")),
    );
    figures.insert(
        "clock".into(),
        json!(
            if std::env::var("DPOP_BENCH_CLOCK").is_ok_and(|v| v == "wall") {
                "wall (CLOCK_MONOTONIC)"
            } else {
                "thread CPU time (CLOCK_THREAD_CPUTIME_ID)"
            }
        ),
    );
    figures.insert("machine".into(), json!(machine()));
    figures.insert("load_average_before".into(), json!(load_before));
    figures.insert("load_average_after".into(), json!(load_average()));
    let targets = targets(&ratios, &medians);

    print!("{}", table(&estimates, &ratios, &figures, &targets));

    let report = json!({
        "medians_ns": medians,
        "ratios": ratios,
        "figures": figures,
        "targets": targets,
    });
    let path = target.join("dpop-bench-report.json");
    let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    std::fs::write(&path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    println!("\nwrote {}", path.display());
    Ok(())
}

/// Cargo's target directory, as criterion finds it: `CARGO_TARGET_DIR`, else `cargo metadata`.
fn target_directory(cargo: &str, workspace: &Path) -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        let dir = PathBuf::from(dir);
        return Ok(if dir.is_absolute() {
            dir
        } else {
            workspace.join(dir)
        });
    }
    let output = Command::new(cargo)
        .current_dir(workspace)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    let metadata: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("cargo metadata output: {e}"))?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| "cargo metadata has no target_directory".into())
}

struct Estimate {
    median: f64,
    low: f64,
    high: f64,
}

/// Every `new/estimates.json` under `dir` (written after `since`, when given), by criterion's
/// full benchmark id.
fn collect(dir: &Path, since: Option<SystemTime>) -> Result<BTreeMap<String, Estimate>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_dir() {
                continue;
            }
            if path.file_name().is_some_and(|n| n == "new") {
                if let Some((name, estimate)) = read_estimate(&path, since)? {
                    out.insert(name, estimate);
                }
            } else if path
                .file_name()
                .is_none_or(|n| n != "base" && n != "report")
            {
                stack.push(path);
            }
        }
    }
    Ok(out)
}

fn read_estimate(dir: &Path, since: Option<SystemTime>) -> Result<Option<(String, Estimate)>> {
    let estimates_path = dir.join("estimates.json");
    let Ok(meta) = std::fs::metadata(&estimates_path) else {
        return Ok(None);
    };
    if let (Some(since), Ok(modified)) = (since, meta.modified())
        && modified < since
    {
        return Ok(None);
    }
    let read = |p: &Path| -> Result<Value> {
        let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))
    };
    let benchmark = read(&dir.join("benchmark.json"))?;
    let estimates = read(&estimates_path)?;
    let name = benchmark["full_id"]
        .as_str()
        .ok_or("benchmark.json without full_id")?
        .to_owned();
    let median = &estimates["median"];
    let number = |v: &Value| v.as_f64().ok_or_else(|| format!("{name}: bad estimate"));
    Ok(Some((
        name.clone(),
        Estimate {
            median: number(&median["point_estimate"])?,
            low: number(&median["confidence_interval"]["lower_bound"])?,
            high: number(&median["confidence_interval"]["upper_bound"])?,
        },
    )))
}

/// Every ratio that can be formed from the medians present.
fn ratios(m: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    let mut r = BTreeMap::new();
    let mut ratio = |name: String, numerator: &str, denominator: &str| {
        if let (Some(a), Some(b)) = (m.get(numerator), m.get(denominator))
            && *b > 0.0
        {
            r.insert(name, a / b);
        }
    };
    for alg in ALGS {
        for backend in BACKENDS {
            ratio(
                format!("core_verify/raw_verify/{alg}/{backend}"),
                &format!("core_verify/{alg}/{backend}"),
                &format!("raw_verify/{alg}/{backend}"),
            );
            ratio(
                format!("core_create/raw_sign/{alg}/{backend}"),
                &format!("core_create/{alg}/{backend}"),
                &format!("raw_sign/{alg}/{backend}"),
            );
        }
        ratio(
            format!("core_verify/raw_verify/{alg}/aws-lc-rs-cached"),
            &format!("core_verify/{alg}/aws-lc-rs-cached"),
            &format!("raw_verify/{alg}/aws-lc-rs"),
        );
        ratio(
            format!("raw_verify/rustcrypto/aws-lc-rs/{alg}"),
            &format!("raw_verify/{alg}/rustcrypto"),
            &format!("raw_verify/{alg}/aws-lc-rs"),
        );
    }
    for backend in ["rustcrypto", "aws-lc-rs", "aws-lc-rs-cached"] {
        let raw = if backend == "rustcrypto" {
            "raw_verify/ES256/rustcrypto"
        } else {
            "raw_verify/ES256/aws-lc-rs"
        };
        // The server path verifies a new signature each time: its floor is the raw
        // verification of the same distinct signatures. The raw verification is the same for
        // both fixtures: the proofs have the same length.
        let raw_distinct = format!("{raw}/distinct-signatures");
        for token in ["", SHORT_TOKEN] {
            ratio(
                format!("server_verify/raw_verify/ES256/{backend}{token}"),
                &format!("server_verify/ES256/{backend}{token}"),
                &raw_distinct,
            );
            ratio(
                format!("server_verify/core_verify/ES256/{backend}{token}"),
                &format!("server_verify/ES256/{backend}{token}"),
                &format!("core_verify/ES256/{backend}{token}"),
            );
        }
        ratio(
            format!("core_verify/raw_verify/ES256/{backend}{SHORT_TOKEN}"),
            &format!("core_verify/ES256/{backend}{SHORT_TOKEN}"),
            raw,
        );
    }
    for backend in ["aws-lc-rs", "aws-lc-rs-cached"] {
        for alg in ["ES256", "ES384"] {
            ratio(
                format!("ours/jsonwebtoken/{alg}/{backend}"),
                &format!("core_verify/{alg}/{backend}"),
                &format!("peer_verify/jsonwebtoken/{alg}/aws-lc-rs"),
            );
        }
        ratio(
            format!("ours/dpop-verifier/ES256/{backend}"),
            &format!("core_verify/ES256/{backend}"),
            "peer_verify/dpop-verifier/ES256/rustcrypto-p256-0.13",
        );
    }
    ratio(
        "ours/dpop-verifier/ES256/rustcrypto".into(),
        "core_verify/ES256/rustcrypto",
        "peer_verify/dpop-verifier/ES256/rustcrypto-p256-0.13",
    );
    // Throughput: K requests per iteration on K threads, so throughput(K) = K / time(K).
    for (suffix, group) in [("", "threads_cpu"), ("/wall", "threads_wall")] {
        if let (Some(t1), Some(t2)) = (
            m.get(&format!("{group}/1/ES256/aws-lc-rs-cached")),
            m.get(&format!("{group}/2/ES256/aws-lc-rs-cached")),
        ) && *t2 > 0.0
        {
            r.insert(
                format!("threads2/threads1/ES256/aws-lc-rs{suffix}"),
                2.0 * t1 / t2,
            );
        }
    }
    r
}

/// Everything the bench binaries wrote into `dir` (`*.json` objects, merged).
fn written_figures(dir: &Path) -> serde_json::Map<String, Value> {
    let mut all = serde_json::Map::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return all;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if path.extension().is_some_and(|e| e == "json")
            && let Ok(text) = std::fs::read_to_string(&path)
            && let Ok(Value::Object(written)) = serde_json::from_str::<Value>(&text)
        {
            all.extend(written);
        }
    }
    all
}

/// Figures that are neither medians nor ratios: replay-cache memory, throughputs, and the
/// interquartile ranges of the interleaved ratios.
fn figures(
    m: &BTreeMap<String, f64>,
    written: serde_json::Map<String, Value>,
) -> serde_json::Map<String, Value> {
    let mut f = written;
    let live = f.get("replay_live_entries").and_then(Value::as_f64);
    if let Some(live) = live.filter(|l| *l > 0.0) {
        for (from, to) in [
            ("replay_table_bytes", "replay_table_bytes_per_live_entry"),
            (
                "replay_resident_bytes_added",
                "replay_resident_bytes_per_live_entry",
            ),
        ] {
            if let Some(bytes) = f.get(from).and_then(Value::as_f64) {
                f.insert(to.into(), json!(bytes / live));
            }
        }
    }
    if let Some(ns) = m.get("replay_insert/1M-live") {
        f.insert("replay_insert_ns".into(), json!(ns));
    }
    // dpop-reqwest's cost per request beside the one proof creation (see benches/client.rs).
    for (figure, with, without, signing) in [
        (
            "client_overhead_ns/dpop-reqwest",
            "client/dpop-reqwest/ES256/aws-lc-rs",
            "client/reqwest/baseline",
            "client/core_create/ES256/aws-lc-rs",
        ),
        (
            "client_overhead_ns/middleware",
            "client/middleware/ES256/aws-lc-rs",
            "client/middleware/baseline",
            "client/core_create/ES256/aws-lc-rs/no-ath",
        ),
    ] {
        if let (Some(a), Some(b), Some(s)) = (m.get(with), m.get(without), m.get(signing)) {
            f.insert(figure.into(), json!(a - b - s));
        }
    }
    // What sending a header of the proof's length costs the client by itself.
    if let (Some(a), Some(b)) = (
        m.get("client/reqwest/baseline-padded"),
        m.get("client/reqwest/baseline"),
    ) {
        f.insert("client_overhead_ns/header-bytes".into(), json!(a - b));
    }
    // What `DpopClient::execute` adds around plain reqwest with `Client::prepare`'s headers.
    if let (Some(a), Some(b)) = (
        m.get("client/dpop-reqwest/ES256/aws-lc-rs"),
        m.get("client/reqwest/prepared/ES256/aws-lc-rs"),
    ) {
        f.insert("client_overhead_ns/execute".into(), json!(a - b));
    }
    // dpop-std's sans-IO client alone: `Client::prepare` beside the proof creation.
    if let (Some(a), Some(s)) = (
        m.get("client/prepare/ES256/aws-lc-rs"),
        m.get("client/core_create/ES256/aws-lc-rs"),
    ) {
        f.insert("client_overhead_ns/prepare".into(), json!(a - s));
    }
    for threads in [1u32, 2] {
        for group in ["threads_cpu", "threads_wall"] {
            if let Some(ns) = m.get(&format!("{group}/{threads}/ES256/aws-lc-rs-cached")) {
                f.insert(
                    format!("{group}_{threads}_requests_per_second"),
                    json!(f64::from(threads) * 1e9 / ns),
                );
            }
        }
    }
    f
}

/// The targets of the performance issue, each with its measured ratio.
fn targets(r: &BTreeMap<String, f64>, m: &BTreeMap<String, f64>) -> Vec<Value> {
    let mut out = Vec::new();
    let mut target = |ratio: String, limit: f64, at_most: bool, what: &str| {
        let fixture = if ratio.starts_with("http/") {
            "HTTP: ES256 JWT access token, proofs with ath and nonce"
        } else if ratio.ends_with(SHORT_TOKEN) {
            "access token 43 characters"
        } else if ratio.starts_with("core_create")
            || ratio.starts_with("core_verify")
            || ratio.starts_with("server_verify")
            || ratio.starts_with("ours/")
            || ratio.starts_with("threads")
        {
            "access token 1000 bytes"
        } else {
            "-"
        };
        let measured = r.get(&ratio).or_else(|| m.get(&ratio)).copied();
        let paired = r.get(&format!("{ratio}/paired")).copied();
        let check = |v: f64| if at_most { v <= limit } else { v >= limit };
        out.push(json!({
            "ratio": ratio,
            "limit": limit,
            "kind": if at_most { "at most" } else { "at least" },
            "measured": measured,
            "met": measured.map(check),
            "paired": paired,
            "paired_met": paired.map(check),
            "what": what,
            "fixture": fixture,
        }));
    };
    // The limits of the performance issue: RustCrypto, then aws-lc-rs (the tighter limit for
    // RustCrypto, whose signature takes five times longer).
    for alg in ALGS {
        let tokens: &[&str] = if alg == "ES256" {
            &["", SHORT_TOKEN]
        } else {
            &[""]
        };
        for token in tokens {
            target(
                format!("core_verify/raw_verify/{alg}/rustcrypto{token}"),
                1.02,
                true,
                "core verification / raw verification, RustCrypto",
            );
            for backend in ["aws-lc-rs", "aws-lc-rs-cached"] {
                target(
                    format!("core_verify/raw_verify/{alg}/{backend}{token}"),
                    1.03,
                    true,
                    "core verification / raw verification, aws-lc-rs",
                );
            }
        }
    }
    for alg in ALGS {
        target(
            format!("core_create/raw_sign/{alg}/rustcrypto"),
            1.02,
            true,
            "core creation / raw signing, RustCrypto",
        );
        target(
            format!("core_create/raw_sign/{alg}/aws-lc-rs"),
            1.03,
            true,
            "core creation / raw signing, aws-lc-rs",
        );
    }
    for token in ["", SHORT_TOKEN] {
        target(
            format!("server_verify/raw_verify/ES256/rustcrypto{token}"),
            1.03,
            true,
            "server request verification incl. replay insert / raw verification, RustCrypto",
        );
        for backend in ["aws-lc-rs", "aws-lc-rs-cached"] {
            target(
                format!("server_verify/raw_verify/ES256/{backend}{token}"),
                1.05,
                true,
                "server request verification incl. replay insert / raw verification, aws-lc-rs",
            );
        }
    }
    for backend in ["aws-lc-rs", "aws-lc-rs-cached"] {
        target(
            format!("ours/jsonwebtoken/ES256/{backend}"),
            0.95,
            true,
            "our ES256 verification (all DPoP checks) / jsonwebtoken's ES256 decode",
        );
        target(
            format!("ours/dpop-verifier/ES256/{backend}"),
            0.25,
            true,
            "our ES256 verification / dpop-verifier's (at least 4x faster)",
        );
    }
    target(
        "threads2/threads1/ES256/aws-lc-rs".into(),
        1.9,
        false,
        "throughput, 2 threads / 1 thread, shared replay cache (per-thread CPU time)",
    );
    target(
        "threads2/threads1/ES256/aws-lc-rs/wall".into(),
        1.9,
        false,
        "throughput, 2 threads / 1 thread, shared replay cache (wall clock, shared machine)",
    );
    target(
        "http/dpop/floor".into(),
        0.90,
        false,
        "HTTP throughput per server CPU-second, full DPoP route / floor route",
    );
    out
}

fn table(
    estimates: &BTreeMap<String, Estimate>,
    ratios: &BTreeMap<String, f64>,
    figures: &serde_json::Map<String, Value>,
    targets: &[Value],
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "\n## Medians ({} benchmarks)\n", estimates.len());
    let _ = writeln!(s, "| benchmark | median | 95 % CI of the median |");
    let _ = writeln!(s, "|---|---:|---|");
    for (name, e) in estimates {
        let _ = writeln!(
            s,
            "| {name} | {} | {} – {} |",
            duration(e.median),
            duration(e.low),
            duration(e.high)
        );
    }
    let _ = writeln!(s, "\n## Ratios\n");
    let _ = writeln!(s, "| ratio | value |");
    let _ = writeln!(s, "|---|---:|");
    for (name, value) in ratios {
        let _ = writeln!(s, "| {name} | {value:.4} |");
    }
    let _ = writeln!(s, "\n## Targets\n");
    let _ = writeln!(
        s,
        "| target | fixture | limit | ratio of medians | result | interleaved | result |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---|---:|---|");
    let number = |v: &Value| {
        v.as_f64()
            .map_or_else(|| "n/a".to_owned(), |v| format!("{v:.4}"))
    };
    let verdict = |v: &Value| match v.as_bool() {
        Some(true) => "met",
        Some(false) => "MISSED",
        None => "-",
    };
    for t in targets {
        let _ = writeln!(
            s,
            "| {} ({}) | {} | {} {} | {} | {} | {} | {} |",
            t["ratio"].as_str().unwrap_or_default(),
            t["what"].as_str().unwrap_or_default(),
            t["fixture"].as_str().unwrap_or_default(),
            t["kind"].as_str().unwrap_or_default(),
            t["limit"],
            number(&t["measured"]),
            verdict(&t["met"]),
            number(&t["paired"]),
            verdict(&t["paired_met"]),
        );
    }
    let _ = writeln!(s, "\n## Figures\n");
    for (name, value) in figures {
        let _ = writeln!(s, "- {name}: {value}");
    }
    s
}

fn duration(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.1} ns")
    } else if ns < 1e6 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{:.3} ms", ns / 1e6)
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |key: &str| {
        cpuinfo
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    format!(
        "{} (family {} model {}), {} MHz, {cores} logical CPUs available",
        field("model name"),
        field("cpu family"),
        field("model\t"),
        field("cpu MHz"),
    )
}
