//! `dpop demo` end to end: the platform flow over HTTP on 127.0.0.1 (dpop-axum server,
//! dpop-reqwest client). Every step must print its expected outcome, and the command must exit 0.

use std::process::{Command, Stdio};

/// Runs `dpop demo`, asserts exit 0 with nothing on stderr, and returns stdout.
fn demo() -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_dpop"))
        .arg("demo")
        .env_remove("RUST_BACKTRACE")
        // The demo talks to 127.0.0.1 only and must not go through a proxy.
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .env("http_proxy", "http://127.0.0.1:9")
        .stdin(Stdio::null())
        .output()
        .expect("the dpop binary runs");
    let stdout = String::from_utf8(out.stdout).expect("stdout is UTF-8");
    let stderr = String::from_utf8(out.stderr).expect("stderr is UTF-8");
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stderr.is_empty(), "stderr: {stderr}");
    stdout
}

/// The text of step `title` (from its heading to the next blank line).
fn step<'a>(output: &'a str, title: &str) -> &'a str {
    let start = output
        .find(title)
        .unwrap_or_else(|| panic!("no step {title:?} in:\n{output}"));
    let rest = &output[start..];
    &rest[..rest.find("\n\n").unwrap_or(rest.len())]
}

/// Asserts that step `title` has exactly the `ok:` outcomes containing `needles`, in order,
/// and no failure.
fn assert_step(output: &str, title: &str, needles: &[&str]) {
    let text = step(output, title);
    assert!(!text.contains("FAILED"), "{text}");
    let outcomes: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("ok:"))
        .collect();
    assert_eq!(outcomes.len(), needles.len(), "{text}");
    for (line, needle) in outcomes.iter().zip(needles) {
        assert!(line.contains(needle), "{needle:?} in {line:?}");
    }
}

#[test]
fn platform_flow_outcomes() {
    let output = demo();
    assert!(!output.contains("FAILED"), "{output}");
    assert!(
        output.contains("server listening on http://127.0.0.1:"),
        "{output}"
    );

    // Part 1 is still there.
    assert_step(
        &output,
        "Tampered proof",
        &["rejected as expected: invalid_signature"],
    );

    assert_step(
        &output,
        "Sign in without a DPoP header",
        &[
            "200, token_type Bearer",
            "a DPoP-bound token was requested, the server issued a Bearer token",
        ],
    );
    assert_step(
        &output,
        "Sign in with a proof and a wrong API key",
        &["refused: 401 invalid_client"],
    );
    assert_step(
        &output,
        "Sign in with a DPoP proof",
        &[
            "200, token_type DPoP, expires_in 300, scope",
            "access token carries cnf.jkt = the client key's jkt",
            "refresh token issued: true, session_id sess-",
        ],
    );
    assert_step(
        &output,
        "Protected resource with the bound token",
        &["200 GET /profile"],
    );
    assert_step(
        &output,
        "The same request replayed",
        &[
            "first: accepted, 200",
            "replay: refused, 401 invalid_dpop_proof (proof was already used)",
        ],
    );
    assert_step(
        &output,
        "The bound token sent as Bearer",
        &["refused: 401 invalid_token"],
    );
    assert_step(
        &output,
        "The bound token with a proof from another key",
        &["refused: 401 invalid_token (proof key is not the key the access token is bound to)"],
    );
    assert_step(
        &output,
        "Nonce round",
        &[
            "without a nonce: 401 use_dpop_nonce",
            "retried once with the nonce: 200",
            "the stored nonce is sent, 200 at once",
        ],
    );
    assert_step(
        &output,
        "Refresh with the same key",
        &[
            "200, token_type DPoP, new access token; refresh token kept (not rotated)",
            "the new access token works at /profile: 200",
        ],
    );
    assert_step(
        &output,
        "Refresh with another key",
        &["refused: 400 invalid_grant"],
    );
    assert!(output.contains("steps behaved as expected"), "{output}");
}
