//! Decides which of this crate's `dpop serve` tests can run here, so that a test that cannot is
//! reported by `cargo test` as ignored, with its reason, not passed: `cfg(dpop_skip_curl)` when
//! `curl` is not on `PATH`, `cfg(dpop_skip_jq)` when `jq` is not. Never with `CI=true`: CI runs
//! them, and a missing tool fails them there.
//!
//! Only for this crate's own tests: the build script is not in the published package.

use std::env;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-env-changed=PATH");
    if env::var("CI").as_deref() == Ok("true") {
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
