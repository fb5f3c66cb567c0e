//! Decides which of this crate's Redis tests can run here, so that a test that cannot is
//! reported by `cargo test` as ignored, with its reason, not passed (`probe_redis` in
//! dpop-testkit's `build-support/probe.rs` says which cfgs).

include!("../dpop-testkit/build-support/probe.rs");

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=../dpop-testkit/build-support/probe.rs");
    probe_redis();
}
