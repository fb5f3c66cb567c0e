//! Decides whether the tests against the Node.js packages can run here, so that a test that
//! cannot is reported by `cargo test` as ignored, with its reason, not passed:
//! `cfg(dpop_skip_node)` when `node` or `npm` is not on `PATH`. Never with `CI=true`: CI runs
//! them, and a missing Node.js fails them there.

use std::env;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-env-changed=PATH");
    if env::var("CI").as_deref() == Ok("true") {
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
