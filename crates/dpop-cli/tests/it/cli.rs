//! End-to-end tests of the `dpop` binary: each checks one clause of the command-line contract
//! (output formats, exit statuses, files, error lines).

use core::sync::atomic::{AtomicUsize, Ordering};
use std::fs;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use base64ct::{Base64UrlUnpadded, Encoding as _};
use dpop_core::{SigningKey, consts::MAX_JWK_JSON_LEN};
use serde_json::Value;

/// The public key of the RFC 9449 examples.
const RFC_KEY: &str = r#"{"kty":"EC","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA","crv":"P-256"}"#;
/// Its RFC 7638 thumbprint.
const RFC_JKT: &str = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
/// The token-request proof of RFC 9449 section 4.1 (`iat` 1562262616).
const RFC_PROOF: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";
const RFC_URL: &str = "https://server.example.com/token";
const RFC_NOW: &str = "1562262621";
const RFC_VALID: &str = r#"{"valid":true,"alg":"ES256","jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I","jti":"-BwC3ESc6acc2lTc","iat":1562262616,"htm":"POST","htu":"https://server.example.com/token"}"#;

const ALGS: [(&str, &str); 3] = [("ES256", "P-256"), ("ES384", "P-384"), ("ES512", "P-521")];

fn dpop(args: &[&str]) -> Output {
    dpop_with_stdin(args, "")
}

/// `dpop proof --key KEY --method M --url URL [extra]`.
fn proof_cmd(key: &str, method: &str, url: &str, extra: &[&str]) -> Output {
    dpop(
        &[
            &["proof", "--key", key, "--method", method, "--url", url],
            extra,
        ]
        .concat(),
    )
}

/// `dpop verify --method M --url URL [extra]`; the proof goes last in `extra`.
fn verify_cmd(method: &str, url: &str, extra: &[&str]) -> Output {
    dpop(&[&["verify", "--method", method, "--url", url], extra].concat())
}

fn dpop_with_stdin(args: &[&str], input: &str) -> Output {
    dpop_full(args, input, None)
}

/// Runs `dpop` with `input` on stdin and, when given, `DPOP_ACCESS_TOKEN` set to `token`.
fn dpop_full(args: &[&str], input: &str, token: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dpop"));
    command.env_remove("DPOP_ACCESS_TOKEN");
    if let Some(token) = token {
        command.env("DPOP_ACCESS_TOKEN", token);
    }
    let mut child = command
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the dpop binary runs");
    let written = child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.as_bytes());
    // A usage error may end dpop before it reads stdin.
    if let Err(e) = written {
        assert_eq!(
            e.kind(),
            std::io::ErrorKind::BrokenPipe,
            "dpop reads its stdin: {e}"
        );
    }
    child.wait_with_output().expect("dpop exits")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("stderr is UTF-8")
}

/// Asserts a successful run and returns its stdout.
fn ok(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(out));
    assert!(out.stderr.is_empty(), "stderr: {}", stderr(out));
    stdout(out)
}

/// Asserts a failure with `code`, exactly one `dpop: error:` line on stderr, and no panic.
fn fails(out: &Output, code: i32) -> String {
    let err = stderr(out);
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {} stderr: {err}",
        stdout(out)
    );
    assert!(err.starts_with("dpop: error: "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.ends_with('\n'), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "stdout: {}", stdout(out));
    err
}

/// A fresh directory under Cargo's per-target temporary directory.
fn temp_dir() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "dpop-cli-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("temporary directory");
    dir
}

fn write_file(name: &str, contents: &str) -> String {
    let path = temp_dir().join(name);
    fs::write(&path, contents).expect("temporary file");
    path.to_str().expect("UTF-8 path").to_owned()
}

/// A new key file for `alg`; returns its path.
fn key_file(alg: &str) -> String {
    let path = temp_dir().join("key.jwk");
    let path = path.to_str().expect("UTF-8 path").to_owned();
    ok(&dpop(&["keygen", "--alg", alg, "--out", &path]));
    path
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The one JSON line a `verify` printed.
fn verify_report(out: &Output) -> Value {
    let text = stdout(out);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.ends_with('\n'));
    json(&text)
}

fn public_json(private: &str) -> String {
    let key = SigningKey::from_jwk(private.trim().as_bytes()).expect("a private JWK");
    let mut buf = [0u8; MAX_JWK_JSON_LEN];
    key.public_jwk()
        .write_json(&mut buf)
        .expect("MAX_JWK_JSON_LEN fits")
        .to_owned()
}

// ---------------------------------------------------------------------------------- keygen

#[test]
fn keygen_prints_a_private_jwk_for_each_algorithm() {
    for (alg, crv) in ALGS {
        let text = ok(&dpop(&["keygen", "--alg", alg]));
        assert_eq!(text.lines().count(), 1, "{text}");
        let jwk = json(&text);
        let members: Vec<&str> = jwk
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(members.len(), 5, "{text}");
        for m in ["kty", "crv", "x", "y", "d"] {
            assert!(members.contains(&m), "{m} in {text}");
        }
        assert_eq!(jwk["kty"], "EC");
        assert_eq!(jwk["crv"], crv);
        let key = SigningKey::from_jwk(text.trim().as_bytes()).unwrap();
        assert_eq!(key.algorithm().name(), alg);
    }
}

#[test]
fn keygen_defaults_to_es256_and_draws_fresh_keys() {
    let a = ok(&dpop(&["keygen"]));
    let b = ok(&dpop(&["keygen"]));
    assert_eq!(json(&a)["crv"], "P-256");
    assert_ne!(a, b);
}

#[test]
fn keygen_out_creates_a_0600_file_and_never_overwrites() {
    let dir = temp_dir();
    let path = dir.join("key.jwk");
    let path_str = path.to_str().unwrap();
    assert_eq!(
        ok(&dpop(&["keygen", "--alg", "ES384", "--out", path_str])),
        ""
    );
    let first = fs::read_to_string(&path).unwrap();
    assert_eq!(
        SigningKey::from_jwk(first.trim().as_bytes())
            .unwrap()
            .algorithm()
            .name(),
        "ES384"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    let err = fails(&dpop(&["keygen", "--out", path_str]), 1);
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(fs::read_to_string(&path).unwrap(), first);

    let err = fails(
        &dpop(&["keygen", "--out", dir.join("no/such/dir").to_str().unwrap()]),
        1,
    );
    assert!(err.contains("cannot create"), "{err}");
}

#[test]
fn keygen_rejects_an_unknown_algorithm_as_usage_error() {
    fails(&dpop(&["keygen", "--alg", "RS256"]), 2);
    fails(&dpop(&["keygen", "--alg", "none"]), 2);
}

// ------------------------------------------------------------------------------ thumbprint

#[test]
fn thumbprint_of_the_rfc_key_from_file_and_stdin() {
    let expected = format!("{RFC_JKT}\n");
    let path = write_file("rfc.jwk", RFC_KEY);
    assert_eq!(ok(&dpop(&["thumbprint", &path])), expected);
    assert_eq!(ok(&dpop_with_stdin(&["thumbprint"], RFC_KEY)), expected);
    assert_eq!(
        ok(&dpop_with_stdin(
            &["thumbprint", "-"],
            &format!("\n{RFC_KEY}\n")
        )),
        expected
    );
}

#[test]
fn thumbprint_of_a_private_jwk_is_that_of_its_public_part() {
    for (alg, _) in ALGS {
        let private = ok(&dpop(&["keygen", "--alg", alg]));
        let public = public_json(&private);
        let of_private = ok(&dpop_with_stdin(&["thumbprint"], &private));
        let of_public = ok(&dpop_with_stdin(&["thumbprint"], &public));
        assert_eq!(of_private, of_public);
        let key = SigningKey::from_jwk(private.trim().as_bytes()).unwrap();
        assert_eq!(of_private, format!("{}\n", key.public_jwk().thumbprint()));
    }
}

#[test]
fn thumbprint_rejects_bad_input_with_one_line() {
    let missing = temp_dir().join("missing.jwk");
    let err = fails(&dpop(&["thumbprint", missing.to_str().unwrap()]), 1);
    assert!(err.contains("cannot read"), "{err}");
    let err = fails(
        &dpop_with_stdin(&["thumbprint"], r#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#),
        1,
    );
    assert!(err.contains("kty"), "{err}");
    fails(&dpop_with_stdin(&["thumbprint"], "not json"), 1);
    fails(&dpop_with_stdin(&["thumbprint"], ""), 1);
    // Structurally valid, but (0, 0) is not a point of P-256.
    let zero = "A".repeat(43);
    let err = fails(
        &dpop_with_stdin(
            &["thumbprint"],
            &format!(r#"{{"kty":"EC","crv":"P-256","x":"{zero}","y":"{zero}"}}"#),
        ),
        1,
    );
    assert!(err.contains("point is not on the curve"), "{err}");
    // A JWK whose d does not belong to x and y: reported, and d is never echoed.
    let a = ok(&dpop(&["keygen"]));
    let b = ok(&dpop(&["keygen"]));
    let b_d = json(&b)["d"].as_str().unwrap().to_owned();
    let mixed = a.replace(json(&a)["d"].as_str().unwrap(), &b_d);
    let err = fails(&dpop_with_stdin(&["thumbprint"], &mixed), 1);
    assert!(!err.contains(&b_d), "{err}");
}

// ------------------------------------------------------------------------- proof + verify

#[test]
fn proof_then_verify_round_trips_for_every_algorithm() {
    for (alg, _) in ALGS {
        let key = key_file(alg);
        let jkt = ok(&dpop(&["thumbprint", &key])).trim().to_owned();
        let proof = ok(&proof_cmd(
            &key,
            "POST",
            "https://API.example.com:443/a/b?x=1&y=2#frag",
            &[
                "--access-token",
                "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU",
                "--nonce",
                "eyJ7S_zG.eyJH0-Z.HX4w-7v",
            ],
        ));
        assert_eq!(proof.lines().count(), 1, "{proof}");
        assert_eq!(proof.trim().split('.').count(), 3);

        let out = verify_cmd(
            "POST",
            "https://api.example.com/a/b",
            &[
                "--access-token",
                "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU",
                "--nonce",
                "eyJ7S_zG.eyJH0-Z.HX4w-7v",
                "--jkt",
                &jkt,
                proof.trim(),
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
        let report = verify_report(&out);
        assert_eq!(report["valid"], true);
        assert_eq!(report["alg"], alg);
        assert_eq!(report["jkt"], jkt.as_str());
        assert_eq!(report["htm"], "POST");
        assert_eq!(report["htu"], "https://api.example.com/a/b");
        assert_eq!(report["jti"].as_str().unwrap().len(), 22);
        assert!(report["iat"].is_u64());

        // htu has neither the query nor the fragment.
        let inspected = json(&ok(&dpop(&["inspect", proof.trim()])));
        assert_eq!(inspected["payload"]["htu"], "https://api.example.com/a/b");
        assert_eq!(inspected["payload"]["nonce"], "eyJ7S_zG.eyJH0-Z.HX4w-7v");
        assert_eq!(
            inspected["payload"]["ath"],
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
        assert_eq!(inspected["jkt"], jkt.as_str());
    }
}

#[test]
fn proof_takes_iat_and_jti_and_verify_reports_them_in_order() {
    let key = key_file("ES256");
    let url = "https://rs.example.org/r";
    // Values beginning with '-' are values, not flags.
    let proof = ok(&proof_cmd(
        &key,
        "GET",
        url,
        &[
            "--iat",
            "1700000000",
            "--jti",
            "-my-id-1",
            "--nonce",
            "-n",
            "--access-token",
            "-t",
        ],
    ));
    let jkt = ok(&dpop(&["thumbprint", &key])).trim().to_owned();
    let out = verify_cmd(
        "GET",
        url,
        &[
            "--now",
            "1700000010",
            "--nonce",
            "-n",
            "--access-token",
            "-t",
            proof.trim(),
        ],
    );
    assert_eq!(
        ok(&out),
        format!(
            "{{\"valid\":true,\"alg\":\"ES256\",\"jkt\":\"{jkt}\",\"jti\":\"-my-id-1\",\
             \"iat\":1700000000,\"htm\":\"GET\",\"htu\":\"{url}\"}}\n"
        )
    );
    let other = "-ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
    let out = verify_cmd(
        "GET",
        url,
        &["--now", "1700000010", "--jkt", other, proof.trim()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(verify_report(&out)["error"], "bound_key_mismatch");
}

#[test]
fn verify_rejects_a_proof_bound_to_another_key_or_token() {
    let key = key_file("ES384");
    let url = "https://rs.example.org/r";
    let proof = ok(&proof_cmd(&key, "GET", url, &["--access-token", "token-a"]));
    let out = verify_cmd("GET", url, &["--jkt", RFC_JKT, proof.trim()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(verify_report(&out)["error"], "bound_key_mismatch");
    let out = verify_cmd("GET", url, &["--access-token", "token-b", proof.trim()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(verify_report(&out)["error"], "ath_mismatch");
}

#[test]
fn verify_prints_exactly_the_contract_line_for_the_rfc_example() {
    let out = dpop(&[
        "verify", "--method", "POST", "--url", RFC_URL, "--now", RFC_NOW, RFC_PROOF,
    ]);
    assert_eq!(ok(&out), format!("{RFC_VALID}\n"));
}

#[test]
fn verify_reads_the_proof_from_stdin() {
    let args = [
        "verify", "--method", "POST", "--url", RFC_URL, "--now", RFC_NOW,
    ];
    let out = dpop_with_stdin(&args, &format!("{RFC_PROOF}\n"));
    assert_eq!(ok(&out), format!("{RFC_VALID}\n"));
    let mut with_dash = args.to_vec();
    with_dash.push("-");
    let out = dpop_with_stdin(&with_dash, &format!("  {RFC_PROOF}\r\n"));
    assert_eq!(ok(&out), format!("{RFC_VALID}\n"));
}

#[test]
fn verify_reports_a_wrong_method() {
    let out = dpop(&[
        "verify", "--method", "GET", "--url", RFC_URL, "--now", RFC_NOW, RFC_PROOF,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(
            r#"{"valid":false,"error":"htm_mismatch","code":"invalid_dpop_proof","description":""#
        ),
        "{text}"
    );
    let report = verify_report(&out);
    assert_eq!(report.as_object().unwrap().len(), 4);
    assert!(!report["description"].as_str().unwrap().is_empty());
}

#[test]
fn verify_asks_for_a_nonce() {
    let out = dpop(&[
        "verify", "--method", "POST", "--url", RFC_URL, "--now", RFC_NOW, "--nonce", "x", RFC_PROOF,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report = verify_report(&out);
    assert_eq!(report["valid"], false);
    assert_eq!(report["error"], "nonce_required");
    assert_eq!(report["code"], "use_dpop_nonce");
}

#[test]
fn verify_rejects_a_proof_that_is_too_old() {
    let out = verify_cmd("POST", RFC_URL, &["--now", "1562272616", RFC_PROOF]);
    assert_eq!(out.status.code(), Some(1));
    let report = verify_report(&out);
    assert_eq!(report["error"], "too_old");
    assert_eq!(report["code"], "invalid_dpop_proof");
    assert!(
        report["description"]
            .as_str()
            .unwrap()
            .contains("1562262616"),
        "{report}"
    );
    // The same proof passes once the window is widened.
    let out = verify_cmd(
        "POST",
        RFC_URL,
        &["--now", "1562272616", "--max-age", "20000", RFC_PROOF],
    );
    assert_eq!(out.status.code(), Some(0));
    // And fails as issued in the future with no leeway.
    let out = verify_cmd(
        "POST",
        RFC_URL,
        &["--now", "1562262610", "--leeway", "0", RFC_PROOF],
    );
    assert_eq!(verify_report(&out)["error"], "issued_in_future");
}

#[test]
fn verify_reports_a_malformed_proof_as_invalid() {
    let out = verify_cmd("POST", RFC_URL, &["not-a-proof"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(verify_report(&out)["code"], "invalid_dpop_proof");
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    let base = ["--url", RFC_URL, "--now", RFC_NOW, RFC_PROOF];
    let cases: Vec<Vec<&str>> = vec![
        [&["verify"][..], &base[..]].concat(),
        [&["verify", "--method", "POST", "--bogus"][..], &base[..]].concat(),
        vec![
            "verify", "--method", "POST", "--url", RFC_URL, "--now", "soon", RFC_PROOF,
        ],
        vec![
            "verify", "--method", "POST", "--url", RFC_URL, "--now", "-5", RFC_PROOF,
        ],
        vec![
            "verify",
            "--method",
            "POST",
            "--url",
            "not a url",
            RFC_PROOF,
        ],
        vec![
            "verify",
            "--method",
            "POST",
            "--url",
            "ftp://example.com/x",
            RFC_PROOF,
        ],
        vec![
            "verify", "--method", "POST", "--url", RFC_URL, "--jkt", "abc", RFC_PROOF,
        ],
        vec!["verify", "--method", "GET /", "--url", RFC_URL, RFC_PROOF],
        vec![
            "verify",
            "--method",
            "POST",
            "--url",
            RFC_URL,
            "--max-age",
            "x",
            RFC_PROOF,
        ],
        vec!["proof", "--method", "GET", "--url", RFC_URL],
        vec!["frobnicate"],
    ];
    for args in cases {
        let err = fails(&dpop(&args), 2);
        assert!(err.len() > "dpop: error: ".len() + 5, "{args:?}: {err}");
    }
    // No subcommand: help on stderr, status 2.
    let out = dpop(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("Usage"));
}

#[test]
fn proof_rejects_bad_keys_and_values() {
    let url = "https://rs.example.org/r";
    // Not a file.
    let missing = temp_dir().join("nope.jwk");
    let err = fails(&proof_cmd(missing.to_str().unwrap(), "GET", url, &[]), 1);
    assert!(err.contains("cannot read"), "{err}");
    // A public key cannot sign.
    let public = write_file("public.jwk", RFC_KEY);
    let err = fails(
        &dpop(&["proof", "--key", &public, "--method", "GET", "--url", url]),
        1,
    );
    assert!(err.contains("missing member d"), "{err}");
    // Not JSON at all.
    let junk = write_file("junk.jwk", "-----BEGIN EC PRIVATE KEY-----\n...\n");
    fails(
        &dpop(&["proof", "--key", &junk, "--method", "GET", "--url", url]),
        1,
    );
    // A private key whose d is corrupted: reported without echoing d.
    let key = key_file("ES256");
    let text = fs::read_to_string(&key).unwrap();
    let d = json(&text)["d"].as_str().unwrap().to_owned();
    // Another canonical last character, so that d changes but stays valid base64url.
    let last = if d.ends_with('A') { 'Q' } else { 'A' };
    let bad_d = format!("{}{last}", &d[..d.len() - 1]);
    let corrupted = write_file("corrupted.jwk", &text.replace(&d, &bad_d));
    let err = fails(
        &dpop(&[
            "proof", "--key", &corrupted, "--method", "GET", "--url", url,
        ]),
        1,
    );
    assert!(!err.contains(&d) && !err.contains(&bad_d), "{err}");
    // Values that cannot be sent are usage errors.
    fails(
        &dpop(&[
            "proof", "--key", &key, "--method", "GET", "--url", "nota url",
        ]),
        2,
    );
    fails(
        &dpop(&[
            "proof", "--key", &key, "--method", "GET", "--url", url, "--nonce", "a b",
        ]),
        2,
    );
    fails(&proof_cmd(&key, "GET", url, &["--access-token", "a b"]), 2);
    fails(
        &dpop(&[
            "proof", "--key", &key, "--method", "GET", "--url", url, "--jti", "",
        ]),
        2,
    );
    fails(
        &dpop(&[
            "proof", "--key", &key, "--method", "GET", "--url", url, "--iat", "x",
        ]),
        2,
    );
}

#[test]
fn proof_reads_the_key_from_stdin() {
    let key = ok(&dpop(&["keygen", "--alg", "ES512"]));
    let proof = ok(&dpop_with_stdin(
        &[
            "proof",
            "--key",
            "-",
            "--method",
            "DELETE",
            "--url",
            "https://rs.example.org/x",
        ],
        &key,
    ));
    let out = verify_cmd("DELETE", "https://rs.example.org/x", &[proof.trim()]);
    assert_eq!(verify_report(&out)["alg"], "ES512");
}

// --------------------------------------------------------------------------------- inspect

#[test]
fn inspect_shows_header_payload_and_jkt_marked_unverified() {
    for out in [
        dpop(&["inspect", RFC_PROOF]),
        dpop_with_stdin(&["inspect"], &format!("{RFC_PROOF}\n")),
    ] {
        let report = json(&ok(&out));
        assert_eq!(report["verified"], false);
        assert!(report["warning"].as_str().unwrap().contains("NOT verified"));
        assert_eq!(report["header"]["typ"], "dpop+jwt");
        assert_eq!(report["header"]["alg"], "ES256");
        assert_eq!(report["header"]["jwk"]["crv"], "P-256");
        assert_eq!(report["payload"]["jti"], "-BwC3ESc6acc2lTc");
        assert_eq!(report["payload"]["iat"], 1_562_262_616);
        assert_eq!(report["payload"]["htu"], RFC_URL);
        assert_eq!(report["jkt"], RFC_JKT);
        assert_eq!(report["signature_bytes"], 64);
        assert!(report.get("jkt_error").is_none());
    }
    // A header jwk that is not a point gets no jkt, and says why.
    let zero = "A".repeat(43);
    let header = format!(
        r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{{"kty":"EC","crv":"P-256","x":"{zero}","y":"{zero}"}}}}"#
    );
    let b64 = |t: &str| Base64UrlUnpadded::encode_string(t.as_bytes());
    let proof = format!("{}.{}.AAAA", b64(&header), b64(r#"{"jti":"j"}"#));
    let report = json(&ok(&dpop(&["inspect", &proof])));
    assert!(report["jkt"].is_null(), "{report}");
    assert!(
        report["jkt_error"]
            .as_str()
            .unwrap()
            .contains("point is not on the curve"),
        "{report}"
    );
}

#[test]
fn inspect_rejects_what_is_not_a_compact_jws() {
    for bad in ["", "abc", "a.b", "a.b.c.d", "e30.!!!.sig", "WzFd.e30.sig"] {
        let err = fails(&dpop_with_stdin(&["inspect"], bad), 1);
        assert!(err.len() > 20, "{err}");
    }
}

// ------------------------------------------------------------------------ demo, help, misc

#[test]
#[cfg(feature = "demo")]
fn demo_succeeds() {
    let text = ok(&dpop(&["demo"]));
    for needle in [
        "ES256",
        "ES384",
        "ES512",
        "invalid_signature",
        "behaved as expected",
    ] {
        assert!(text.contains(needle), "{needle} in {text}");
    }
    assert!(!text.contains("FAILED"), "{text}");
}

#[test]
fn help_and_version() {
    let text = ok(&dpop(&["--help"]));
    let commands = ["keygen", "thumbprint", "proof", "verify", "inspect"];
    let demo = cfg!(feature = "demo").then_some("demo");
    for cmd in commands.into_iter().chain(demo) {
        assert!(text.contains(cmd), "{cmd} in {text}");
        let sub = ok(&dpop(&[cmd, "--help"]));
        assert!(sub.contains("Usage: dpop"), "{sub}");
    }
    assert_eq!(
        ok(&dpop(&["--version"])),
        format!("dpop {}\n", env!("CARGO_PKG_VERSION"))
    );
}

// ------------------------------------------------------------------------- access token sources

/// The `ath` of `dpop proof` made with the token from `how`, checked by `dpop verify` given
/// `token` on its command line.
fn proof_with(key: &str, extra: &[&str], stdin: &str, env: Option<&str>) -> Output {
    let mut args = vec![
        "proof",
        "--key",
        key,
        "--method",
        "GET",
        "--url",
        "https://rs.example.org/r",
    ];
    args.extend_from_slice(extra);
    dpop_full(&args, stdin, env)
}

fn verify_with(proof: &str, extra: &[&str], stdin: &str, env: Option<&str>) -> Output {
    let mut args = vec![
        "verify",
        "--method",
        "GET",
        "--url",
        "https://rs.example.org/r",
    ];
    args.extend_from_slice(extra);
    args.push(proof);
    dpop_full(&args, stdin, env)
}

#[test]
fn access_token_from_a_file_stdin_or_the_environment() {
    let key = key_file("ES256");
    let token = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";
    let with_newline = write_file("at.txt", &format!("{token}\n"));
    let with_crlf = write_file("at-crlf.txt", &format!("{token}\r\n"));
    let sources: [(&[&str], &str, Option<&str>); 5] = [
        (&["--access-token-file", &with_newline], "", None),
        (&["--access-token-file", &with_crlf], "", None),
        (&["--access-token-file", "-"], &format!("{token}\n"), None),
        (&[], "", Some(token)),
        // the flag wins over the environment
        (&["--access-token", token], "", Some("other-token")),
    ];
    for (extra, stdin, env) in sources {
        let proof = ok(&proof_with(&key, extra, stdin, env));
        // verified against the token given on the command line
        let report = verify_report(&verify_with(
            proof.trim(),
            &["--access-token", token],
            "",
            None,
        ));
        assert_eq!(report["valid"], true, "{extra:?} {env:?}: {report}");
        // and verify reads the same sources
        let report = verify_report(&verify_with(proof.trim(), extra, stdin, env));
        assert_eq!(report["valid"], true, "{extra:?} {env:?}: {report}");
        // a different token does not match
        let out = verify_with(proof.trim(), &["--access-token", "other"], "", None);
        assert_eq!(verify_report(&out)["error"], "ath_mismatch");
    }
    // Only one newline goes: a second one is part of the token, which then cannot be sent.
    let two = write_file("at2.txt", &format!("{token}\n\n"));
    let err = fails(
        &proof_with(&key, &["--access-token-file", &two], "", None),
        2,
    );
    assert!(err.contains("--access-token-file"), "{err}");
    // An empty environment variable is no token: the proof has no ath.
    let proof = ok(&proof_with(&key, &[], "", Some("")));
    let report = verify_report(&verify_with(proof.trim(), &[], "", None));
    assert_eq!(report["valid"], true, "{report}");
}

#[test]
fn access_token_sources_are_usage_errors_when_ambiguous() {
    let key = key_file("ES256");
    let file = write_file("at.txt", "tok\n");
    // both flags
    let err = fails(
        &proof_with(
            &key,
            &["--access-token", "tok", "--access-token-file", &file],
            "",
            None,
        ),
        2,
    );
    assert!(err.contains("cannot be used with"), "{err}");
    // stdin for both the key and the token
    let jwk = fs::read_to_string(&key).unwrap();
    let out = dpop_full(
        &[
            "proof",
            "--key",
            "-",
            "--method",
            "GET",
            "--url",
            "https://rs.example.org/r",
            "--access-token-file",
            "-",
        ],
        &jwk,
        None,
    );
    let err = fails(&out, 2);
    assert!(err.contains("stdin"), "{err}");
    // stdin for both the proof and the token
    let out = dpop_full(
        &[
            "verify",
            "--method",
            "GET",
            "--url",
            "https://rs.example.org/r",
            "--access-token-file",
            "-",
        ],
        RFC_PROOF,
        None,
    );
    assert!(fails(&out, 2).contains("stdin"));
    // an empty file, a missing file
    let empty = write_file("empty.txt", "\n");
    assert!(
        fails(
            &proof_with(&key, &["--access-token-file", &empty], "", None),
            2
        )
        .contains("no access token")
    );
    let missing = temp_dir().join("missing.txt");
    let err = fails(
        &proof_with(
            &key,
            &["--access-token-file", missing.to_str().unwrap()],
            "",
            None,
        ),
        1,
    );
    assert!(err.contains("missing.txt"), "{err}");
}

/// No error message repeats a secret: an access token from any source, a URL's user
/// information, a key.
#[test]
fn error_messages_never_echo_secrets() {
    let key = key_file("ES256");
    let secret = "S3CR3T-tok\u{e9}n";
    let file = write_file("bad-at.txt", secret);
    for (extra, env) in [
        (vec!["--access-token", secret], None),
        (vec!["--access-token-file", file.as_str()], None),
        (vec![], Some(secret)),
    ] {
        // not printable ASCII: cannot be sent
        let err = fails(&proof_with(&key, &extra, "", env), 2);
        assert!(err.contains("access token"), "{err}");
        assert!(!err.contains("S3CR3T"), "{err}");
    }
    // --url with user information, for both commands and both parse paths
    let url = "https://alice:hunter2@rs.example.org/r";
    let outs = [
        dpop(&["verify", "--method", "GET", "--url", url, RFC_PROOF]),
        dpop(&["proof", "--key", &key, "--method", "GET", "--url", url]),
        proof_cmd(
            &key,
            "GET",
            "https://rs.example.org/",
            &["--acess-token", "hunter2"],
        ),
        proof_cmd(&key, "GET", "https://rs.example.org/", &["hunter2"]),
        proof_cmd(
            &key,
            "GET",
            "https://rs.example.org/",
            &["--acess-token=hunter2"],
        ),
        dpop(&["hunter2"]),
    ];
    for out in &outs {
        let err = fails(out, 2);
        assert!(!err.contains("hunter2"), "{err}");
    }
    assert!(stderr(&outs[0]).contains("--url"), "{}", stderr(&outs[0]));
    // a key that does not match its public part: no key material in the message
    let jwk = fs::read_to_string(&key).unwrap();
    let d = json(&jwk)["d"].as_str().unwrap().to_owned();
    let other = ok(&dpop(&["keygen"]));
    let mut mixed = json(&other);
    mixed["d"] = Value::String(d.clone());
    let mixed_file = write_file("mixed.jwk", &mixed.to_string());
    let err = fails(&proof_with(&mixed_file, &[], "", None), 1);
    assert!(!err.contains(&d), "{err}");
}

#[test]
fn help_recommends_the_file_and_the_environment_for_tokens() {
    for cmd in ["proof", "verify"] {
        let help = ok(&dpop(&[cmd, "--help"]));
        assert!(help.contains("--access-token-file"), "{help}");
        assert!(help.contains("DPOP_ACCESS_TOKEN"), "{help}");
        assert!(help.contains("process list"), "{help}");
    }
}
