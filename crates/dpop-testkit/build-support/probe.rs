// What the build scripts of the crates whose tests need an outside component (Redis, Node.js,
// curl, jq, a keyring) share, `include!`d by each: finding a program on `PATH`, and the Redis
// probe of dpop-redis and dpop-fleet-tests. A test that cannot run here is then reported by
// `cargo test` as ignored, with its reason, not passed; never with `CI=true`, where CI runs
// every test and a missing component fails them.

/// True under `CI=true`: every test runs, none is ignored for a missing component.
fn in_ci() -> bool {
    println!("cargo::rerun-if-env-changed=CI");
    std::env::var("CI").as_deref() == Ok("true")
}

/// True when an executable file `name` is in a directory of `PATH`.
fn on_path(name: &str) -> bool {
    println!("cargo::rerun-if-env-changed=PATH");
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
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

/// The Redis tests' cfgs, when `redis-server` is not on `PATH` (outside CI):
/// - `dpop_skip_redis_server`: tests that start and stop servers of their own;
/// - `dpop_skip_redis`: that, and `DPOP_TEST_REDIS_URL` is unset (tests on a shared Redis);
/// - `dpop_skip_redis_cluster`: that, and `DPOP_TEST_REDIS_CLUSTER_URLS` is unset (tests on a
///   shared cluster).
#[allow(dead_code, reason = "only the Redis crates' build scripts probe for Redis")]
fn probe_redis() {
    for var in ["DPOP_TEST_REDIS_URL", "DPOP_TEST_REDIS_CLUSTER_URLS"] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    if in_ci() || on_path("redis-server") {
        return;
    }
    let unset = |var: &str| std::env::var(var).map_or(true, |v| v.trim().is_empty());
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
