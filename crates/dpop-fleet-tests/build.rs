//! Decides which of this crate's Redis tests can run here, so that a test that cannot is
//! reported by `cargo test` as ignored, with its reason, not passed.
//!
//! - `cfg(dpop_skip_redis_server)`: `redis-server` is not on `PATH` (tests that start and
//!   stop servers of their own);
//! - `cfg(dpop_skip_redis)`: that, and `DPOP_TEST_REDIS_URL` is unset (tests on a shared
//!   Redis);
//! - `cfg(dpop_skip_redis_cluster)`: that, and `DPOP_TEST_REDIS_CLUSTER_URLS` is unset (tests
//!   on a shared cluster).
//!
//! Never with `CI=true`: CI runs every test, and a missing Redis fails them there.

use std::env;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    for var in [
        "CI",
        "PATH",
        "DPOP_TEST_REDIS_URL",
        "DPOP_TEST_REDIS_CLUSTER_URLS",
    ] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    if env::var("CI").as_deref() == Ok("true") || on_path("redis-server") {
        return;
    }
    let unset = |var: &str| env::var(var).map_or(true, |v| v.trim().is_empty());
    println!("cargo::rustc-cfg=dpop_skip_redis_server");
    if unset("DPOP_TEST_REDIS_URL") {
        println!("cargo::rustc-cfg=dpop_skip_redis");
    }
    if unset("DPOP_TEST_REDIS_CLUSTER_URLS") {
        println!("cargo::rustc-cfg=dpop_skip_redis_cluster");
    }
    println!(
        "cargo::warning=redis-server is not installed: the tests that need it are ignored \
         (sudo apt-get install -y redis-server)"
    );
}

/// True when an executable file `name` is in a directory of `PATH`.
fn on_path(name: &str) -> bool {
    env::var_os("PATH").is_some_and(|path| {
        env::split_paths(&path).any(|dir| {
            std::fs::metadata(dir.join(name)).is_ok_and(|m| m.is_file() && is_executable(&m))
        })
    })
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_: &std::fs::Metadata) -> bool {
    true
}
