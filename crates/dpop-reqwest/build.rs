//! Decides whether this build's keyring tests can run (feature `keyring`), so that a test that
//! cannot is reported by `cargo test` as ignored, with its reason, not passed.
//!
//! Sets `cfg(dpop_skip_keyring_daemon)` when `dbus-run-session` or `gnome-keyring-daemon` is
//! not installed (the locked-keyring test starts its own session bus), and
//! `cfg(dpop_skip_keyring)` when the keyring tests would need a Secret Service (Linux and
//! the other non-Apple Unixes) and the session D-Bus has none: `DBUS_SESSION_BUS_ADDRESS` is
//! unset, or `dbus-send` (when installed) finds no `org.freedesktop.secrets`, running or
//! activatable. Never with `CI=true`: CI runs them (under `dbus-run-session` with an unlocked
//! `gnome-keyring-daemon`), and a missing keyring fails them there.
//!
//! Only for this crate's own tests: the build script is not in the published package.

use std::process::Command;

include!("../dpop-testkit/build-support/probe.rs");

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=../dpop-testkit/build-support/probe.rs");
    if std::env::var_os("CARGO_FEATURE_KEYRING").is_none() || in_ci() {
        return;
    }
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let unix = std::env::var_os("CARGO_CFG_UNIX").is_some();
    if !unix || matches!(os.as_str(), "macos" | "ios" | "android") {
        // Keychain (macOS) and Credential Manager (Windows) are always there.
        return;
    }
    println!("cargo::rerun-if-env-changed=DBUS_SESSION_BUS_ADDRESS");
    // The locked-keyring test starts a session bus of its own with GNOME Keyring in it.
    if let Some(tool) = ["dbus-run-session", "gnome-keyring-daemon"]
        .into_iter()
        .find(|tool| !on_path(tool))
    {
        println!("cargo::rustc-cfg=dpop_skip_keyring_daemon");
        println!("cargo::warning=the locked-keyring test is ignored: {tool} is not installed");
    }
    if let Some(missing) = secret_service_missing() {
        println!("cargo::rustc-cfg=dpop_skip_keyring");
        println!(
            "cargo::warning=the keyring tests are ignored: {missing} (in CI, with CI=true, \
             they run and fail instead)"
        );
    }
}

/// Why the session bus has no Secret Service, or `None` when it has one (or cannot be asked).
fn secret_service_missing() -> Option<String> {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none_or(|a| a.is_empty()) {
        return Some("no session D-Bus (DBUS_SESSION_BUS_ADDRESS is unset)".into());
    }
    let names = |method: &str| {
        Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                &format!("org.freedesktop.DBus.{method}"),
            ])
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
    };
    // Without `dbus-send` the tests run, and tell for themselves.
    let running = names("ListNames")?;
    let activatable = names("ListActivatableNames").unwrap_or_default();
    let service = "\"org.freedesktop.secrets\"";
    if running.contains(service) || activatable.contains(service) {
        None
    } else {
        Some("no Secret Service (org.freedesktop.secrets) on the session D-Bus".into())
    }
}
