//! Decides whether the tests against the Node.js packages can run here, so that a test that
//! cannot is reported by `cargo test` as ignored, with its reason, not passed:
//! `cfg(dpop_skip_node)` when `node` or `npm` is not on `PATH`. Never with `CI=true`: CI runs
//! them, and a missing Node.js fails them there.

include!("../dpop-testkit/build-support/probe.rs");

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=../dpop-testkit/build-support/probe.rs");
    if in_ci() {
        return;
    }
    if let Some(tool) = ["node", "npm"].into_iter().find(|tool| !on_path(tool)) {
        println!("cargo::rustc-cfg=dpop_skip_node");
        println!(
            "cargo::warning={tool} is not installed: the interop tests against the Node.js \
             packages are ignored (sudo apt-get install -y nodejs npm)"
        );
    }
}
