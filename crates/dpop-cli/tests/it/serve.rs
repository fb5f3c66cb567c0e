//! `dpop serve` end to end, driven as the README shows it: the real `dpop` binary for the
//! server, keys and proofs, and the real `curl` for HTTP. Without curl (or jq, for the
//! walk-through script) the crate's build script has the tests ignored, with that reason, unless
//! `CI` is `true`, where a missing curl fails them.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};

const DPOP: &str = env!("CARGO_BIN_EXE_dpop");

/// True when `tool` runs; panics when it does not and `CI=true`.
fn have(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok || std::env::var("CI").as_deref() != Ok("true"),
        "{tool} is required in CI"
    );
    if !ok {
        eprintln!("{tool} not found: skipped");
    }
    ok
}

/// A running `dpop serve`, stopped with SIGINT (or killed) when dropped.
struct Served {
    child: Child,
    stderr: Option<ChildStderr>,
    url: String,
    secret: String,
    banner: String,
    dir: PathBuf,
}

impl Served {
    fn start(name: &str, args: &[&str]) -> Self {
        let dir = std::env::temp_dir().join(format!("dpop-serve-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = Command::new(DPOP)
            .args(["serve", "--port", "0"])
            .args(args)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut banner = String::new();
        loop {
            let mut line = String::new();
            assert_ne!(stdout.read_line(&mut line).unwrap(), 0, "{banner}");
            banner.push_str(&line);
            if line.starts_with("Press Ctrl-C") {
                break;
            }
        }
        // Keep reading stdout in the background so the server never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let first = banner.lines().next().unwrap();
        let url = first.strip_prefix("listening on ").unwrap().to_owned();
        let port: u16 = url
            .strip_prefix("http://127.0.0.1:")
            .unwrap()
            .parse()
            .unwrap();
        assert_ne!(port, 0);
        let secret = banner
            .lines()
            .find_map(|l| l.strip_prefix("client secret: "))
            .unwrap()
            .to_owned();
        let stderr = child.stderr.take();
        Self {
            child,
            stderr,
            url,
            secret,
            banner,
            dir,
        }
    }

    fn path(&self, file: &str) -> String {
        self.dir.join(file).to_str().unwrap().to_owned()
    }

    /// `dpop ARGS` in the server's directory: stdout, trimmed.
    fn dpop(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let out = Command::new(DPOP)
            .args(args)
            .env_remove("DPOP_ACCESS_TOKEN")
            .envs(env.iter().copied())
            .current_dir(&self.dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim_end().to_owned()
    }

    /// `dpop proof --key key.jwk --method M --url URL [extra]`.
    fn proof(&self, method: &str, url: &str, extra: &[&str]) -> String {
        self.proof_by("key.jwk", method, url, extra, &[])
    }

    /// `dpop proof --key KEY --method M --url URL [extra]` with `env` set.
    fn proof_by(
        &self,
        key: &str,
        method: &str,
        url: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> String {
        let mut args = vec!["proof", "--key", key, "--method", method, "--url", url];
        args.extend_from_slice(extra);
        self.dpop(&args, env)
    }

    /// Stops with SIGINT, as Ctrl-C does: exit status and the stderr access log.
    fn stop(mut self) -> (Option<i32>, String) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-INT", &pid])
                .status()
                .unwrap()
                .success()
        );
        let status = self.child.wait().unwrap();
        let mut log = String::new();
        self.stderr
            .take()
            .unwrap()
            .read_to_string(&mut log)
            .unwrap();
        (status.code(), log)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A curl response: status, lower-cased header lines, body.
struct Reply {
    status: u16,
    headers: String,
    body: String,
}

impl Reply {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// `curl -s -i ARGS`.
fn curl(dir: &Path, args: &[&str]) -> Reply {
    let out = Command::new("curl")
        .args(["-s", "-i", "--noproxy", "*"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "curl {args:?} failed");
    let text = String::from_utf8(out.stdout).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    Reply {
        status,
        headers: head.to_owned(),
        body: body.to_owned(),
    }
}

#[test]
#[cfg_attr(
    dpop_skip_curl,
    ignore = "curl is not installed: sudo apt-get install -y curl"
)]
fn the_readme_walk_through_token_resource_refresh() {
    if !have("curl") {
        return;
    }
    let s = Served::start("walk", &[]);
    assert!(
        s.banner
            .contains(&format!("token endpoint: {}/token", s.url)),
        "{}",
        s.banner
    );
    let token_url = format!("{}/token", s.url);
    let resource_url = format!("{}/resource", s.url);
    let basic = format!("my-app:{}", s.secret);

    // dpop keygen --out key.jwk
    s.dpop(&["keygen", "--out", "key.jwk"], &[]);
    let jkt = s.dpop(&["thumbprint", "key.jwk"], &[]);

    // Token request, client_secret_basic, DPoP-bound.
    let proof = s.proof("POST", &token_url, &[]);
    let dpop_header = format!("DPoP: {proof}");
    let r = curl(
        &s.dir,
        &[
            &token_url,
            "-u",
            &basic,
            "-d",
            "grant_type=client_credentials",
            "-H",
            &dpop_header,
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let token = r.json();
    assert_eq!(token["token_type"], "DPoP");
    assert_eq!(token["expires_in"], 600);
    let access_token = token["access_token"].as_str().unwrap().to_owned();
    let refresh_token = token["refresh_token"].as_str().unwrap().to_owned();
    std::fs::write(s.path("access_token"), format!("{access_token}\n")).unwrap();

    // The same proof again: a replay, refused at the token endpoint.
    let r = curl(
        &s.dir,
        &[
            &token_url,
            "-u",
            &basic,
            "-d",
            "grant_type=client_credentials",
            "-H",
            &dpop_header,
        ],
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "invalid_dpop_proof");

    // Resource call, access token from a file.
    let proof = s.proof(
        "GET",
        &resource_url,
        &["--access-token-file", "access_token"],
    );
    let auth = format!("Authorization: DPoP {access_token}");
    let r = curl(
        &s.dir,
        &[&resource_url, "-H", &auth, "-H", &format!("DPoP: {proof}")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let seen = r.json();
    assert_eq!(seen["client_id"], "my-app");
    assert_eq!(seen["token_type"], "DPoP");
    assert_eq!(seen["token_bound_to"], jkt.as_str());
    assert_eq!(seen["proof"]["jkt"], jkt.as_str());
    assert_eq!(seen["proof"]["htm"], "GET");
    assert_eq!(seen["proof"]["htu"], resource_url.as_str());
    assert_eq!(seen["proof"]["alg"], "ES256");
    assert_eq!(seen["proof"]["nonce_used"], false);
    assert!(seen["proof"]["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert!(seen["proof"]["iat"].as_u64().is_some());

    // Resource call, access token from DPOP_ACCESS_TOKEN; a proof without ath is refused.
    let proof = s.proof_by(
        "key.jwk",
        "GET",
        &resource_url,
        &[],
        &[("DPOP_ACCESS_TOKEN", &access_token)],
    );
    let r = curl(
        &s.dir,
        &[&resource_url, "-H", &auth, "-H", &format!("DPoP: {proof}")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let no_ath = s.proof("GET", &resource_url, &[]);
    let r = curl(
        &s.dir,
        &[&resource_url, "-H", &auth, "-H", &format!("DPoP: {no_ath}")],
    );
    assert_eq!(r.status, 401);
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .contains("invalid_dpop_proof")
    );

    // Refresh with the same key, client_secret_post.
    let proof = s.proof("POST", &token_url, &[]);
    let form = [
        "-d",
        "grant_type=refresh_token",
        "-d",
        &format!("refresh_token={refresh_token}"),
        "-d",
        "client_id=my-app",
        "-d",
        &format!("client_secret={}", s.secret),
    ];
    let dpop_header = format!("DPoP: {proof}");
    let mut args = vec![token_url.as_str()];
    args.extend_from_slice(&form);
    args.extend_from_slice(&["-H", &dpop_header]);
    let r = curl(&s.dir, &args);
    assert_eq!(r.status, 200, "{}", r.body);
    let refreshed = r.json();
    assert_eq!(refreshed["token_type"], "DPoP");
    assert_ne!(refreshed["access_token"], access_token.as_str());

    // Refresh with another key: invalid_grant.
    s.dpop(&["keygen", "--out", "other.jwk"], &[]);
    let other = s.proof_by("other.jwk", "POST", &token_url, &[], &[]);
    let dpop_header = format!("DPoP: {other}");
    let mut args = vec![token_url.as_str()];
    args.extend_from_slice(&form);
    args.extend_from_slice(&["-H", &dpop_header]);
    let r = curl(&s.dir, &args);
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "invalid_grant");

    // A wrong secret: invalid_client, with a Basic challenge.
    let proof = s.proof("POST", &token_url, &[]);
    let r = curl(
        &s.dir,
        &[
            &token_url,
            "-u",
            "my-app:wrong",
            "-d",
            "grant_type=client_credentials",
            "-H",
            &format!("DPoP: {proof}"),
        ],
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "invalid_client");
    assert!(r.header("www-authenticate").unwrap().starts_with("Basic"));

    // The decision counters: the handler's invalid_client is not a DPoP decision.
    let r = curl(&s.dir, &[&format!("{}/counters", s.url)]);
    assert_eq!(r.status, 200);
    let counters = r.json();
    let token = &counters["token"];
    assert_eq!(
        (token["accepted"].as_u64(), token["rejected"].as_u64()),
        (Some(2), Some(2)),
        "{counters}"
    );
    assert_eq!(token["replays"], 1);
    assert_eq!(token["rejected_by_reason"]["refresh_token_key_mismatch"], 1);
    assert_eq!(token["replay_cache_len"], 2);
    let resource = &counters["resource"];
    assert_eq!(
        (resource["accepted"].as_u64(), resource["rejected"].as_u64()),
        (Some(2), Some(1)),
        "{counters}"
    );
    assert_eq!(resource["rejected_by_reason"]["missing_ath"], 1);
    assert_eq!(resource["replay_cache_len"], 2);

    let secret = s.secret.clone();
    let (code, log) = s.stop();
    assert_eq!(code, Some(0), "{log}");
    let lines: Vec<&str> = log.lines().collect();
    let expected = [
        "POST /token 200 accepted",
        "POST /token 400 rejected reason=replayed",
        "GET /resource 200 accepted",
        "GET /resource 200 accepted",
        "GET /resource 401 rejected reason=missing_ath",
        "POST /token 200 accepted",
        "POST /token 400 rejected reason=refresh_token_key_mismatch",
        "POST /token 401 rejected reason=invalid_client",
        "GET /counters 200 accepted",
    ];
    assert_eq!(lines.len(), expected.len(), "{log}");
    for (line, want) in lines.iter().zip(expected) {
        assert!(
            line.starts_with(&format!("dpop serve: {want}")),
            "{line} vs {want}"
        );
    }
    assert!(
        !log.contains(&access_token) && !log.contains(&refresh_token) && !log.contains(&secret),
        "{log}"
    );
}

#[test]
#[cfg_attr(
    dpop_skip_curl,
    ignore = "curl is not installed: sudo apt-get install -y curl"
)]
fn nonce_mode_answers_use_dpop_nonce_then_accepts_the_nonce() {
    if !have("curl") {
        return;
    }
    let s = Served::start("nonce", &["--nonce"]);
    assert!(s.banner.contains("nonces required"), "{}", s.banner);
    s.dpop(&["keygen", "--out", "key.jwk"], &[]);
    let token_url = format!("{}/token", s.url);
    let basic = format!("c:{}", s.secret);
    let proof = s.proof("POST", &token_url, &[]);
    let r = curl(
        &s.dir,
        &[
            &token_url,
            "-u",
            &basic,
            "-d",
            "grant_type=client_credentials",
            "-H",
            &format!("DPoP: {proof}"),
        ],
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "use_dpop_nonce");
    let nonce = r.header("dpop-nonce").unwrap().to_owned();
    let proof = s.proof("POST", &token_url, &["--nonce", &nonce]);
    let r = curl(
        &s.dir,
        &[
            &token_url,
            "-u",
            &basic,
            "-d",
            "grant_type=client_credentials",
            "-H",
            &format!("DPoP: {proof}"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let access_token = r.json()["access_token"].as_str().unwrap().to_owned();

    // The resource needs a nonce too; the one from the token endpoint is bound to its URL.
    let resource_url = format!("{}/resource", s.url);
    let auth = format!("Authorization: DPoP {access_token}");
    let env = [("DPOP_ACCESS_TOKEN", access_token.as_str())];
    let proof = s.proof_by("key.jwk", "GET", &resource_url, &[], &env);
    let r = curl(
        &s.dir,
        &[&resource_url, "-H", &auth, "-H", &format!("DPoP: {proof}")],
    );
    assert_eq!(r.status, 401);
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .contains("use_dpop_nonce")
    );
    let nonce = r.header("dpop-nonce").unwrap().to_owned();
    let proof = s.proof_by("key.jwk", "GET", &resource_url, &["--nonce", &nonce], &env);
    let r = curl(
        &s.dir,
        &[&resource_url, "-H", &auth, "-H", &format!("DPoP: {proof}")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["proof"]["nonce_used"], true);
    let (code, log) = s.stop();
    assert_eq!(code, Some(0));
    assert_eq!(
        log.matches("rejected reason=nonce_required").count(),
        2,
        "{log}"
    );
    assert!(!log.contains(&nonce), "{log}");
}

#[test]
#[cfg_attr(
    dpop_skip_curl,
    ignore = "curl is not installed: sudo apt-get install -y curl"
)]
fn bearer_only_with_the_flag() {
    if !have("curl") {
        return;
    }
    let strict = Served::start("strict", &[]);
    let token_url = format!("{}/token", strict.url);
    let basic = format!("c:{}", strict.secret);
    let r = curl(
        &strict.dir,
        &[
            &token_url,
            "-u",
            &basic,
            "-d",
            "grant_type=client_credentials",
        ],
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "invalid_dpop_proof");
    let (_, log) = strict.stop();
    assert!(log.contains("400 rejected reason=missing_proof"), "{log}");

    let s = Served::start("bearer", &["--bearer"]);
    let token_url = format!("{}/token", s.url);
    let basic = format!("c:{}", s.secret);
    let r = curl(
        &s.dir,
        &[
            &token_url,
            "-u",
            &basic,
            "-d",
            "grant_type=client_credentials",
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["token_type"], "Bearer");
    let access_token = r.json()["access_token"].as_str().unwrap().to_owned();
    let resource_url = format!("{}/resource", s.url);
    let r = curl(
        &s.dir,
        &[
            &resource_url,
            "-H",
            &format!("Authorization: Bearer {access_token}"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let seen = r.json();
    assert_eq!(seen["token_type"], "Bearer");
    assert!(
        seen["proof"].is_null() && seen["token_bound_to"].is_null(),
        "{seen}"
    );
}

#[test]
#[cfg_attr(
    dpop_skip_curl,
    ignore = "curl is not installed: sudo apt-get install -y curl"
)]
fn public_url_is_the_htu_base() {
    if !have("curl") {
        return;
    }
    let s = Served::start("public", &["--public-url", "https://dpop.example.test/"]);
    assert!(
        s.banner
            .contains("token endpoint: https://dpop.example.test/token"),
        "{}",
        s.banner
    );
    s.dpop(&["keygen", "--out", "key.jwk"], &[]);
    let local = format!("{}/token", s.url);
    let basic = format!("c:{}", s.secret);
    let wrong = s.proof("POST", &local, &[]);
    let r = curl(
        &s.dir,
        &[
            &local,
            "-u",
            &basic,
            "-d",
            "grant_type=client_credentials",
            "-H",
            &format!("DPoP: {wrong}"),
        ],
    );
    assert_eq!(r.status, 400);
    let right = s.proof("POST", "https://dpop.example.test/token", &[]);
    let r = curl(
        &s.dir,
        &[
            &local,
            "-u",
            &basic,
            "-d",
            "grant_type=client_credentials",
            "-H",
            &format!("DPoP: {right}"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let (_, log) = s.stop();
    assert!(
        log.contains("reason=htu_mismatch error=invalid_dpop_proof expected_htu=https://dpop.example.test/token"),
        "{log}"
    );
}

#[test]
fn a_bad_public_url_is_a_usage_error() {
    let out = Command::new(DPOP)
        .args(["serve", "--port", "0", "--public-url", "not a url"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("dpop: error: invalid --public-url"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

/// The README's walk-through block, run as written by `sh -e` with the binary under test first
/// on `PATH`.
#[test]
#[cfg_attr(
    any(dpop_skip_curl, dpop_skip_jq),
    ignore = "curl or jq is not installed: sudo apt-get install -y curl jq"
)]
fn the_readme_walk_through_runs_as_written() {
    if !have("curl") || !have("jq") {
        return;
    }
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let marker = "<!-- serve walk-through: run by crates/dpop-cli/tests/it/serve.rs -->\n```sh\n";
    let start = readme.find(marker).unwrap() + marker.len();
    let script = &readme[start..start + readme[start..].find("```").unwrap()];
    assert!(script.contains("dpop keygen") && script.contains("refresh_token"));

    let s = Served::start("readme", &[]);
    let bin_dir = Path::new(DPOP).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("sh")
        .args(["-ec", script])
        .env("PATH", path)
        .env("URL", &s.url)
        .env("SECRET", &s.secret)
        .env("NO_PROXY", "*")
        .env_remove("DPOP_ACCESS_TOKEN")
        .current_dir(&s.dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let values: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&stdout)
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(values.len(), 3, "{stdout}");
    let jkt = s.dpop(&["thumbprint", "key.jwk"], &[]);
    for seen in &values[..2] {
        assert_eq!(seen["verified"], true);
        assert_eq!(seen["client_id"], "my-app");
        assert_eq!(seen["token_bound_to"], jkt.as_str());
        assert_eq!(seen["proof"]["htu"], format!("{}/resource", s.url));
    }
    // Members in the order the README shows.
    assert!(
        stdout.starts_with(
            r#"{"verified":true,"client_id":"my-app","token_type":"DPoP","token_bound_to":""#
        ),
        "{stdout}"
    );
    assert_eq!(values[2]["token_type"], "DPoP");
    assert!(values[2]["access_token"].as_str().is_some());
    let (code, log) = s.stop();
    assert_eq!(code, Some(0));
    assert_eq!(
        log.lines().filter(|l| l.ends_with(" 200 accepted")).count(),
        4,
        "{log}"
    );
    assert_eq!(log.lines().count(), 4, "{log}");
}

/// The DPoP layers sit on the routes they protect (`route_layer`): a path that is not a route
/// answers 404, while a protected route without credentials still gets 401 with the DPoP
/// challenge.
#[test]
#[cfg_attr(
    dpop_skip_curl,
    ignore = "curl is not installed: sudo apt-get install -y curl"
)]
fn unknown_paths_are_404_and_protected_ones_401_with_the_challenge() {
    if !have("curl") {
        return;
    }
    let s = Served::start("not-found", &[]);
    for path in ["/", "/nothing-here", "/resource/extra", "/token/x"] {
        let r = curl(&s.dir, &[&format!("{}{path}", s.url)]);
        assert_eq!(r.status, 404, "{path}: {}", r.headers);
        assert_eq!(r.header("www-authenticate"), None, "{path}");
    }
    let r = curl(&s.dir, &[&format!("{}/resource", s.url)]);
    assert_eq!(r.status, 401, "{}", r.headers);
    let challenge = r.header("www-authenticate").unwrap();
    assert!(challenge.starts_with("DPoP "), "{challenge}");
    assert!(
        challenge.contains("algs=\"ES256 ES384 ES512\""),
        "{challenge}"
    );
    // A token request without a proof is refused by the token endpoint's layer (400).
    let r = curl(
        &s.dir,
        &[
            &format!("{}/token", s.url),
            "-d",
            "grant_type=client_credentials",
        ],
    );
    assert_eq!(r.status, 400, "{}", r.body);
    let (code, log) = s.stop();
    assert_eq!(code, Some(0));
    assert!(log.contains("GET /nothing-here 404"), "{log}");
}
