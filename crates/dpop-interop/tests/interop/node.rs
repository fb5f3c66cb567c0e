//! Runs `npm/interop.mjs` with `node`: a JSON array of requests on stdin, a JSON array of
//! results on stdout.
//!
//! When `node` is on the `PATH` but `npm/node_modules` is missing or holds other versions than
//! the pinned ones, the first test to need it runs `npm ci` there (once per test run). When
//! `node` or `npm` is not installed, the crate's build script has these tests ignored, with that
//! reason (`cargo test` counts them). When `npm ci` fails (no registry), [`Node::find`] prints a
//! note to stderr and returns `None`, so the test returns early and passes. With `CI=true`
//! either is a failure. (The same convention as the dpop-redis tests.)

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long one `node` run may take before it is killed and the test fails.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The versions `npm/package.json` pins; `npm/node_modules` must hold exactly these.
const PINNED: [(&str, &str); 3] = [
    ("jose", "6.2.18"),
    ("dpop", "2.1.2"),
    ("oidc-provider", "9.13.3"),
];

/// A working Node.js side.
#[derive(Debug)]
pub(crate) struct Node {
    dir: PathBuf,
}

impl Node {
    /// The Node.js side, or `None` (after a note on stderr) when it is not installed outside
    /// CI. `test` names the caller in the note.
    ///
    /// Panics in CI when `node` or `npm/node_modules` is missing, and anywhere when the installed
    /// packages are not the pinned versions (stale `node_modules`: run `npm ci`).
    pub(crate) fn find(test: &str) -> Option<Self> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("npm");
        let node = Command::new("node")
            .arg("--version")
            .stdin(Stdio::null())
            .output();
        let problem = match node {
            Err(e) => Some(format!("`node` could not be run ({e})")),
            Ok(out) if !out.status.success() => Some(format!("`node --version` failed: {out:?}")),
            Ok(_) => install_pinned(&dir).err(),
        };
        if let Some(problem) = problem {
            assert!(
                !in_ci(),
                "CI is set, and the Node.js side of the interop tests is not available: \
                 {problem}. CI needs Node.js 20 or newer and npm, with access to the npm registry."
            );
            // Straight to the stderr handle: libtest captures `eprintln!` of passing tests, and
            // a skip should be seen.
            let note = format!("note: skipping {test}: {problem}\n");
            let _ = std::io::stderr().write_all(note.as_bytes());
            return None;
        }
        for (package, version) in PINNED {
            let manifest = dir.join("node_modules").join(package).join("package.json");
            let text = std::fs::read_to_string(&manifest).unwrap_or_default();
            let installed: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            assert_eq!(
                installed["version"].as_str(),
                Some(version),
                "{} does not hold {package} {version}: run `npm ci` in {}",
                manifest.display(),
                dir.display()
            );
        }
        Some(Self { dir })
    }

    /// The `npm` directory, where the scripts are.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs `node interop.mjs <command>` on `requests`; returns one result per request.
    ///
    /// Panics when node fails, times out or prints something that is not a JSON array of the
    /// right length.
    pub(crate) fn run(&self, command: &str, requests: &[Value]) -> Vec<Value> {
        let input = serde_json::to_vec(requests).unwrap();
        let mut child = Command::new("node")
            .arg("interop.mjs")
            .arg(command)
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        // Write and read on their own threads, so neither pipe can fill up and block node.
        let writer = thread::spawn(move || stdin.write_all(&input));
        let out = thread::spawn(move || {
            let mut buf = Vec::new();
            stdout.read_to_end(&mut buf).map(|_| buf)
        });
        let err = thread::spawn(move || {
            let mut buf = String::new();
            stderr.read_to_string(&mut buf).map(|_| buf)
        });
        let deadline = Instant::now() + TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("node interop.mjs {command} did not finish in {TIMEOUT:?}");
            }
            thread::sleep(Duration::from_millis(5));
        };
        let written = writer.join().unwrap();
        let stdout = out.join().unwrap().unwrap();
        let stderr = err.join().unwrap().unwrap();
        assert!(
            status.success(),
            "node interop.mjs {command} failed ({status}): {stderr}"
        );
        written.unwrap();
        let results: Vec<Value> = serde_json::from_slice(&stdout).unwrap_or_else(|e| {
            panic!(
                "node interop.mjs {command} printed no JSON array ({e}): {}",
                String::from_utf8_lossy(&stdout)
            )
        });
        if command != "versions" {
            assert_eq!(results.len(), requests.len(), "one result per request");
        }
        results
    }
}

/// True when `npm/node_modules` holds exactly the pinned versions.
fn pinned_installed(dir: &Path) -> bool {
    PINNED.iter().all(|(package, version)| {
        let manifest = dir.join("node_modules").join(package).join("package.json");
        let text = std::fs::read_to_string(manifest).unwrap_or_default();
        let installed: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        installed["version"].as_str() == Some(*version)
    })
}

/// Runs `npm ci` in `dir` unless the pinned packages are already there; once per test run (the
/// tests run on parallel threads, and the others wait for the first). The error says why the
/// packages could not be had.
fn install_pinned(dir: &Path) -> Result<(), String> {
    static OUTCOME: OnceLock<Result<(), String>> = OnceLock::new();
    OUTCOME
        .get_or_init(|| {
            if pinned_installed(dir) {
                return Ok(());
            }
            let note = format!("note: running `npm ci` in {}\n", dir.display());
            let _ = std::io::stderr().write_all(note.as_bytes());
            let out = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(dir)
                .stdin(Stdio::null())
                .output();
            match out {
                Err(e) => Err(format!("`npm` could not be run ({e})")),
                Ok(out) if !out.status.success() => Err(format!(
                    "`npm ci` failed in {} ({}): {}",
                    dir.display(),
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                )),
                Ok(_) => Ok(()),
            }
        })
        .clone()
}

/// True under `CI=true`, as CI services (and `.ci/run`) set it.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|ci| ci == "true")
}
