//! Decides which of this crate's `dpop serve` tests can run here, so that a test that cannot is
//! reported by `cargo test` as ignored, with its reason, not passed: `cfg(dpop_skip_curl)` when
//! `curl` is not on `PATH`, `cfg(dpop_skip_jq)` when `jq` is not. Never with `CI=true`: CI runs
//! them, and a missing tool fails them there.
//!
//! Only for this crate's own tests: the build script is not in the published package.

include!("../dpop-testkit/build-support/probe.rs");

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=../dpop-testkit/build-support/probe.rs");
    if in_ci() {
        return;
    }
    for (tool, cfg) in [("curl", "dpop_skip_curl"), ("jq", "dpop_skip_jq")] {
        if !on_path(tool) {
            println!("cargo::rustc-cfg={cfg}");
            println!(
                "cargo::warning={tool} is not installed: the `dpop serve` tests that need it are \
                 ignored (sudo apt-get install -y {tool})"
            );
        }
    }
}
