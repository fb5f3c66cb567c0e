//! The token manager against a local authorization server and resource on 127.0.0.1 built
//! with dpop-axum: client credentials (post and basic), single flight, refresh ahead with a
//! manual clock, refresh with the same key, one retry on `invalid_token`, the device grant,
//! and second runs from the file store (in this process, and in separate processes).

#![allow(
    clippy::unwrap_used,
    clippy::unwrap_in_result,
    clippy::indexing_slicing,
    clippy::missing_panics_doc
)]

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64ct::{Base64, Encoding as _};
use dpop_axum::{Dpop, DpopLayer, DpopToken, TokenStatus};
use dpop_core::Algorithm;
use dpop_core::Thumbprint;
use dpop_core::UnixTime;
use dpop_core::crypto::rustcrypto::ALL_VERIFIERS;
use dpop_reqwest::DpopClient;
use dpop_reqwest::grants::{
    AuthError, BoxFuture, ClientAuth, ClientCredentials, DeviceAuthorization, Grant, token_request,
};
use dpop_reqwest::store::{FileStore, MemoryStore, TokenStore as _};
use dpop_reqwest::tokens::{TokenManager, TokenManagerBuilder};
use dpop_std::client::Client;
use dpop_std::clock::{Clock as _, ManualClock, SystemClock};
use dpop_std::keys;
use dpop_std::nonce::{NonceKey, StatelessNonces};
use dpop_std::replay::MemoryReplayCache;
use dpop_std::server::{Grant as ServerGrant, Server, UriPolicy};
use dpop_std::wire::{ErrorBody, TokenResponse, TokenType};

const CLIENT_ID: &str = "client:1";
const SECRET: &str = "s3cr+t&=x";

#[derive(Default)]
struct As {
    /// Grant types of the token requests, in order.
    grants: Mutex<Vec<String>>,
    /// access token -> (bound key, revoked)
    access: Mutex<HashMap<String, (Thumbprint, bool)>>,
    /// refresh token -> bound key
    refresh: Mutex<HashMap<String, Thumbprint>>,
    counter: AtomicUsize,
    expires_in: u64,
    /// Revoke the next access token issued, once.
    revoke_next: AtomicBool,
    /// Revoke every token (a server that keeps refusing).
    revoke_all: AtomicBool,
    /// What the device polls get, in order ("approve" issues tokens).
    device_script: Mutex<VecDeque<&'static str>>,
    device_expires_in: u64,
    resource_hits: AtomicUsize,
    /// Also hand out a refresh token in refresh responses (rotation).
    rotate: bool,
    /// Refresh requests get a 503 without an OAuth body.
    refresh_down: AtomicBool,
}

impl As {
    fn sign_ins(&self) -> usize {
        self.grants
            .lock()
            .unwrap()
            .iter()
            .filter(|g| *g != "refresh_token")
            .count()
    }

    fn refreshes(&self) -> usize {
        self.grants
            .lock()
            .unwrap()
            .iter()
            .filter(|g| *g == "refresh_token")
            .count()
    }

    fn issue(&self, jkt: Thumbprint, refresh: bool) -> TokenResponse {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let token = format!("at-{n}-secret");
        let revoked = self.revoke_next.swap(false, Ordering::SeqCst);
        self.access
            .lock()
            .unwrap()
            .insert(token.clone(), (jkt, revoked));
        let mut response = TokenResponse::new(token, TokenType::Dpop, self.expires_in, "read");
        if refresh {
            let rt = format!("rt-{n}-secret");
            self.refresh.lock().unwrap().insert(rt.clone(), jkt);
            response = response.with_refresh_token(rt);
        }
        response
    }
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (
        status,
        [("content-type", "application/json")],
        ErrorBody::new(error, None).to_json().unwrap(),
    )
        .into_response()
}

fn form(body: &str) -> HashMap<String, String> {
    form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

/// Client authentication: `client_secret_basic` (form-decoded after base64) or
/// `client_secret_post`, or the public device client.
fn client_ok(headers: &HeaderMap, form: &HashMap<String, String>) -> bool {
    if let Some(basic) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    {
        let decoded = String::from_utf8(Base64::decode_vec(basic).unwrap()).unwrap();
        let (id, secret) = decoded.split_once(':').unwrap();
        let decode = |s: &str| -> String {
            form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .unwrap()
                .1
                .into_owned()
        };
        return decode(id) == CLIENT_ID
            && decode(secret) == SECRET
            && !form.contains_key("client_secret");
    }
    match (form.get("client_id"), form.get("client_secret")) {
        (Some(id), Some(secret)) => id == CLIENT_ID && secret == SECRET,
        (Some(id), None) => id == "cli",
        _ => false,
    }
}

async fn token(
    State(server): State<Arc<As>>,
    dpop: DpopToken,
    headers: HeaderMap,
    body: String,
) -> Response {
    // Slow enough for concurrent callers to pile up behind the first one.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let form = form(&body);
    if !client_ok(&headers, &form) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let grant_type = form.get("grant_type").cloned().unwrap_or_default();
    server.grants.lock().unwrap().push(grant_type.clone());
    match grant_type.as_str() {
        "client_credentials" => {
            let binding = match dpop.check_grant(ServerGrant::Other).await {
                Ok(b) => b,
                Err(e) => return e.into_response(),
            };
            let jkt = *binding.thumbprint().unwrap();
            let issued = server.issue(jkt, true);
            (
                [("content-type", "application/json")],
                issued.to_json().unwrap(),
            )
                .into_response()
        }
        "refresh_token" => {
            if server.refresh_down.load(Ordering::SeqCst) {
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
            let presented = form.get("refresh_token").cloned().unwrap_or_default();
            let bound = server.refresh.lock().unwrap().get(&presented).copied();
            let Some(bound) = bound else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            };
            // The proof must come from the key the refresh token is bound to.
            let binding = match dpop
                .check_grant(ServerGrant::RefreshToken {
                    bound_key: Some(&bound),
                })
                .await
            {
                Ok(b) => b,
                Err(e) => return e.into_response(),
            };
            assert_eq!(binding.thumbprint(), Some(&bound));
            let issued = server.issue(bound, server.rotate);
            (
                [("content-type", "application/json")],
                issued.to_json().unwrap(),
            )
                .into_response()
        }
        "urn:ietf:params:oauth:grant-type:device_code" => {
            assert_eq!(
                form.get("device_code").map(String::as_str),
                Some("dc-secret")
            );
            let next = server.device_script.lock().unwrap().pop_front();
            match next {
                Some("approve") => {
                    let binding = dpop.check_grant(ServerGrant::Other).await.unwrap();
                    let issued = server.issue(*binding.thumbprint().unwrap(), true);
                    (
                        [("content-type", "application/json")],
                        issued.to_json().unwrap(),
                    )
                        .into_response()
                }
                Some(error) => oauth_error(StatusCode::BAD_REQUEST, error),
                None => oauth_error(StatusCode::BAD_REQUEST, "expired_token"),
            }
        }
        _ => oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    }
}

async fn device(State(server): State<Arc<As>>, body: String) -> Response {
    let form = form(&body);
    assert_eq!(form.get("client_id").map(String::as_str), Some("cli"));
    (
        [("content-type", "application/json")],
        serde_json::json!({
            "device_code": "dc-secret",
            "user_code": "WDJB-MJHT",
            "verification_uri": "https://example.com/device",
            "verification_uri_complete": "https://example.com/device?user_code=WDJB-MJHT",
            "expires_in": server.device_expires_in,
            "interval": 5
        })
        .to_string(),
    )
        .into_response()
}

async fn api(State(server): State<Arc<As>>, dpop: Dpop) -> Response {
    server.resource_hits.fetch_add(1, Ordering::SeqCst);
    format!("ok {}", dpop.thumbprint().unwrap()).into_response()
}

async fn start(server: As) -> (Arc<As>, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = Arc::new(server);
    let policy = UriPolicy::public_base(&base).build().unwrap();
    let tokens = Router::new()
        .route("/token", post(token))
        .layer(DpopLayer::token_endpoint(
            Server::new(ALL_VERIFIERS, policy.clone()),
            Arc::new(MemoryReplayCache::with_capacity(10_000)),
        ))
        .route("/device", post(device));
    let resolve = {
        let server = Arc::clone(&server);
        move |token: &str| -> TokenStatus<()> {
            let entry = server.access.lock().unwrap().get(token).copied();
            match entry {
                Some((_, true)) => TokenStatus::Invalid("revoked"),
                Some(_) if server.revoke_all.load(Ordering::SeqCst) => {
                    TokenStatus::Invalid("revoked")
                }
                Some((jkt, false)) => TokenStatus::Bound { jkt, claims: () },
                None => TokenStatus::Invalid("unknown token"),
            }
        }
    };
    let cache = Arc::new(MemoryReplayCache::with_capacity(10_000));
    let resource = Router::new()
        .route("/api", get(api))
        .layer(DpopLayer::resource(
            Server::new(ALL_VERIFIERS, policy.clone()),
            Arc::clone(&cache),
            resolve.clone(),
        ));
    // The same resource behind a server that requires nonces.
    let nonces = StatelessNonces::new(NonceKey::new(1, [7; 32])).with_thumbprint_binding(true);
    let with_nonce = Router::new()
        .route("/nonce-api", get(api))
        .layer(DpopLayer::resource(
            Server::builder(ALL_VERIFIERS, policy)
                .with_nonces(Arc::new(nonces))
                .build()
                .unwrap(),
            cache,
            resolve,
        ));
    let app = tokens
        .merge(resource)
        .merge(with_nonce)
        .with_state(Arc::clone(&server));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (server, base)
}

fn as_with(expires_in: u64) -> As {
    As {
        expires_in,
        device_expires_in: 600,
        ..As::default()
    }
}

fn credentials(base: &str, basic: bool) -> ClientCredentials {
    let auth = if basic {
        ClientAuth::secret_basic(CLIENT_ID, SECRET)
    } else {
        ClientAuth::secret_post(CLIENT_ID, SECRET)
    };
    ClientCredentials::new(format!("{base}/token"), auth).with_scope("read")
}

fn http() -> reqwest::ClientBuilder {
    reqwest::Client::builder().no_proxy()
}

/// A manual clock at an arbitrary fixed start, for tests that move time themselves.
fn manual_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(UnixTime::from_secs(1_000_000)))
}

/// A token manager builder for `grant` on [`http`] and `clock`.
fn builder_at(grant: impl Grant + 'static, clock: &Arc<ManualClock>) -> TokenManagerBuilder {
    TokenManager::builder(grant)
        .with_http(http())
        .with_clock(clock.clone())
}

/// A token manager for `grant` on [`http`] and the system clock.
fn manager_for(grant: impl Grant + 'static) -> TokenManager {
    TokenManager::builder(grant)
        .with_http(http())
        .build()
        .unwrap()
}

/// [`builder_at`], built.
fn manager_at(grant: impl Grant + 'static, clock: &Arc<ManualClock>) -> TokenManager {
    builder_at(grant, clock).build().unwrap()
}

async fn get_api(manager: &TokenManager, base: &str) -> StatusCode {
    manager
        .send(manager.http().get(format!("{base}/api")))
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_calls_make_one_token_request() {
    let (server, base) = start(as_with(300)).await;
    let manager = manager_for(credentials(&base, true));
    let calls = (0..50).map(|_| {
        let manager = manager.clone();
        let base = base.clone();
        tokio::spawn(async move { get_api(&manager, &base).await })
    });
    for call in calls.collect::<Vec<_>>() {
        assert_eq!(call.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(*server.grants.lock().unwrap(), ["client_credentials"]);
    assert_eq!(server.resource_hits.load(Ordering::SeqCst), 50);
}

#[tokio::test]
async fn client_secret_post_and_wrong_secret() {
    let (server, base) = start(as_with(300)).await;
    let manager = manager_for(credentials(&base, false));
    assert_eq!(get_api(&manager, &base).await, StatusCode::OK);
    assert_eq!(server.sign_ins(), 1);

    let wrong = ClientCredentials::new(
        format!("{base}/token"),
        ClientAuth::secret_basic(CLIENT_ID, "nope"),
    );
    let manager = manager_for(wrong);
    match manager.access_token().await {
        Err(AuthError::OAuth(e)) => {
            assert_eq!((e.status(), e.error()), (401, "invalid_client"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn expiry_and_refresh_ahead_with_a_manual_clock() {
    let (server, base) = start(as_with(300)).await;
    let clock = manual_clock();
    let manager = builder_at(credentials(&base, true), &clock)
        .with_refresh_ahead(Duration::from_secs(60))
        .build()
        .unwrap();
    let first = manager.access_token().await.unwrap();
    assert_eq!(first.secret(), "at-0-secret");
    // 239 s in: 61 s left, more than refresh_ahead: the same token, no request
    clock.advance(239);
    assert_eq!(
        manager.access_token().await.unwrap().secret(),
        "at-0-secret"
    );
    assert_eq!(server.grants.lock().unwrap().len(), 1);
    // 240 s in: 60 s left: refreshed with the refresh token
    clock.advance(1);
    assert_eq!(get_api(&manager, &base).await, StatusCode::OK);
    assert_eq!(
        manager.access_token().await.unwrap().secret(),
        "at-1-secret"
    );
    assert_eq!(
        *server.grants.lock().unwrap(),
        ["client_credentials", "refresh_token"]
    );
    // The response had no refresh token: the first one is kept and still works.
    let info = manager.token_info().await.unwrap();
    assert_eq!(info.refresh_token(), Some("rt-0-secret"));
    // Far past expiry: refreshed again with the kept refresh token, not a new sign-in.
    clock.advance(10_000);
    assert_eq!(
        manager.access_token().await.unwrap().secret(),
        "at-2-secret"
    );
    assert_eq!(server.sign_ins(), 1);
    assert_eq!(server.refreshes(), 2);
}

#[tokio::test]
async fn refresh_uses_the_same_key_and_another_key_is_refused() {
    let (server, base) = start(as_with(300)).await;
    let clock = manual_clock();
    let manager = manager_at(credentials(&base, true), &clock);
    manager.access_token().await.unwrap();
    clock.advance(300);
    // The server's refresh handler checks the proof's key against the refresh token's
    // binding (400 invalid_grant otherwise, which would show here as a second sign-in).
    manager.access_token().await.unwrap();
    assert_eq!(server.refreshes(), 1);
    assert_eq!(server.sign_ins(), 1);
    let jkt = manager.client().dpop().thumbprint();
    assert!(
        server
            .access
            .lock()
            .unwrap()
            .values()
            .all(|(k, _)| k == jkt)
    );

    // The same refresh token with a proof by another key: refused.
    let intruder = DpopClient::new(
        http(),
        Client::new(keys::generate(Algorithm::Es256).unwrap()),
    )
    .unwrap();
    let request = intruder
        .http()
        .post(format!("{base}/token"))
        .basic_auth("client%3A1", Some("s3cr%2Bt%26%3Dx"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=refresh_token&refresh_token=rt-0-secret");
    match token_request(&intruder, request).await {
        Err(AuthError::OAuth(e)) => assert_eq!(e.error(), "invalid_grant"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_revoked_token_is_replaced_and_the_request_sent_once_more() {
    let (server, base) = start(as_with(300)).await;
    server.revoke_next.store(true, Ordering::SeqCst);
    let manager = manager_for(credentials(&base, true));
    assert_eq!(get_api(&manager, &base).await, StatusCode::OK);
    // the first try was refused (the layer answers before the handler), the second went in
    assert_eq!(server.resource_hits.load(Ordering::SeqCst), 1);
    assert_eq!(
        *server.grants.lock().unwrap(),
        ["client_credentials", "refresh_token"]
    );
    assert_eq!(
        manager.access_token().await.unwrap().secret(),
        "at-1-secret"
    );

    // A server that refuses every token: one retry, then its 401 is returned (no loop).
    server.revoke_all.store(true, Ordering::SeqCst);
    let before = server.grants.lock().unwrap().len();
    let response = manager
        .send(manager.http().get(format!("{base}/api")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(server.grants.lock().unwrap().len(), before + 1);
}

type Log<T> = Arc<Mutex<Vec<T>>>;

/// A device grant whose sleeps advance `clock` at once, recording the intervals.
fn device_grant(
    base: &str,
    clock: &Arc<ManualClock>,
) -> (DeviceAuthorization, Log<u64>, Log<String>) {
    let slept = Arc::new(Mutex::new(Vec::new()));
    let prompts = Arc::new(Mutex::new(Vec::new()));
    let grant = DeviceAuthorization::new(
        format!("{base}/device"),
        format!("{base}/token"),
        ClientAuth::none("cli"),
    )
    .on_prompt({
        let prompts = Arc::clone(&prompts);
        move |p| {
            prompts.lock().unwrap().push(format!(
                "{} {} {:?} {}",
                p.user_code(),
                p.verification_uri(),
                p.verification_uri_complete(),
                p.expires_in()
            ));
        }
    })
    .with_timing(clock.clone(), {
        let slept = Arc::clone(&slept);
        let clock = Arc::clone(clock);
        move |d: Duration| -> BoxFuture<'static, ()> {
            slept.lock().unwrap().push(d.as_secs());
            clock.advance(d.as_secs());
            Box::pin(async {})
        }
    });
    (grant, slept, prompts)
}

#[tokio::test]
async fn device_grant_pending_slow_down_approved() {
    let (server, base) = start(as_with(300)).await;
    server.device_script.lock().unwrap().extend([
        "authorization_pending",
        "slow_down",
        "authorization_pending",
        "approve",
    ]);
    let clock = manual_clock();
    let (grant, slept, prompts) = device_grant(&base, &clock);
    let manager = manager_at(grant, &clock);
    assert_eq!(get_api(&manager, &base).await, StatusCode::OK);
    // interval 5, +5 after slow_down
    assert_eq!(*slept.lock().unwrap(), [5, 5, 10, 10]);
    assert_eq!(
        *prompts.lock().unwrap(),
        [
            "WDJB-MJHT https://example.com/device Some(\"https://example.com/device?user_code=WDJB-MJHT\") 600"
        ]
    );
    // the device's tokens refresh with grant_type=refresh_token, no new prompt
    clock.advance(1000);
    assert_eq!(get_api(&manager, &base).await, StatusCode::OK);
    assert_eq!(prompts.lock().unwrap().len(), 1);
    assert_eq!(server.refreshes(), 1);
}

#[tokio::test]
async fn device_grant_denied_and_expired() {
    let clock = manual_clock();
    for (script, expected) in [
        (
            vec!["authorization_pending", "access_denied"],
            "AccessDenied",
        ),
        (vec!["expired_token"], "DeviceCodeExpired"),
        (vec!["invalid_client"], "OAuth"),
    ] {
        let (server, base) = start(as_with(300)).await;
        server.device_script.lock().unwrap().extend(script);
        let (grant, _, _) = device_grant(&base, &clock);
        let manager = manager_for(grant);
        let error = manager.access_token().await.unwrap_err();
        assert!(format!("{error:?}").starts_with(expected), "{error:?}");
    }

    // The device code's own expires_in, on the client's clock: polling stops before it.
    let (server, base) = start(As {
        device_expires_in: 23,
        ..as_with(300)
    })
    .await;
    server
        .device_script
        .lock()
        .unwrap()
        .extend(["authorization_pending"; 10]);
    let (grant, slept, _) = device_grant(&base, &clock);
    let manager = manager_for(grant);
    assert!(matches!(
        manager.access_token().await,
        Err(AuthError::DeviceCodeExpired)
    ));
    // polls at 5, 10, 15, 20 s; the next one (25 s) would be past the 23 s: stop
    assert_eq!(*slept.lock().unwrap(), [5, 5, 5, 5]);
    assert_eq!(server.grants.lock().unwrap().len(), 4);
}

/// Where the child half of [`separate_processes_share_one_stored_session`] finds the server
/// and the session file.
const CHILD_BASE: &str = "DPOP_TEST_CHILD_BASE";
const CHILD_STORE: &str = "DPOP_TEST_CHILD_STORE";

/// Two real runs of a command-line tool: each a separate process (this test binary started
/// again on the child test below) with a `TokenManager` over the same `FileStore`. The first
/// signs in; the second reuses the stored key and tokens: one sign-in at the server, one key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn separate_processes_share_one_stored_session() {
    let (server, base) = start(as_with(300)).await;
    let dir = std::env::temp_dir().join(format!("dpop-processes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    let path = dir.join("session.json");
    let mut keys = Vec::new();
    for run in 0..2 {
        let (base, path) = (base.clone(), path.clone());
        let output = tokio::task::spawn_blocking(move || {
            std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", &child_test_name(), "--ignored", "--nocapture"])
                .env(CHILD_BASE, base)
                .env(CHILD_STORE, path)
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "run {run}: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let key = stdout
            .lines()
            .find_map(|line| line.strip_prefix("child key: "))
            .unwrap_or_else(|| panic!("run {run} printed its key: {stdout}"));
        keys.push(key.to_owned());
        // Each run signs in at most once: the first run's sign-in is the only one.
        assert_eq!(*server.grants.lock().unwrap(), ["client_credentials"]);
    }
    assert_eq!(
        keys[0], keys[1],
        "the second process signs with the stored key"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The name the test harness gives [`child_process_run`]: its path in this test binary
/// (`tokens::child_process_run`), without the crate name `module_path!` starts with.
fn child_test_name() -> String {
    let module = module_path!()
        .split_once("::")
        .map_or("", |(_crate, module)| module);
    if module.is_empty() {
        String::from("child_process_run")
    } else {
        format!("{module}::child_process_run")
    }
}

/// The child half of [`separate_processes_share_one_stored_session`], which starts this test
/// in a process of its own with the server's address; ignored in a plain run (it needs that
/// server).
#[tokio::test]
#[ignore = "run by separate_processes_share_one_stored_session in a child process"]
async fn child_process_run() {
    let base = std::env::var(CHILD_BASE).expect("started by the parent test");
    let path = std::env::var(CHILD_STORE).expect("started by the parent test");
    let manager = TokenManager::builder(credentials(&base, true))
        .with_http(http())
        .with_store(FileStore::new(&path))
        .build()
        .unwrap();
    assert_eq!(get_api(&manager, &base).await, StatusCode::OK);
    println!("child key: {}", manager.client().dpop().thumbprint());
}

#[tokio::test]
async fn a_second_run_reuses_the_stored_session() {
    let (server, base) = start(as_with(300)).await;
    let dir = std::env::temp_dir().join(format!("dpop-tokens-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    let path = dir.join("session.json");
    let clock = Arc::new(ManualClock::new(SystemClock::default().now()));

    let first = TokenManager::builder(credentials(&base, true))
        .with_http(http())
        .with_store(FileStore::new(&path))
        .with_clock(clock.clone())
        .build()
        .unwrap();
    assert_eq!(get_api(&first, &base).await, StatusCode::OK);
    let jkt = *first.client().dpop().thumbprint();
    drop(first);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The key is in the file beside the tokens.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"d\":"), "private key stored");
    assert!(text.contains("rt-0-secret"));

    // "Second run": a new manager from the same file, no new sign-in, the same key.
    let second = TokenManager::builder(credentials(&base, true))
        .with_http(http())
        .with_store(FileStore::new(&path))
        .with_clock(clock.clone())
        .build()
        .unwrap();
    assert_eq!(*second.client().dpop().thumbprint(), jkt);
    assert_eq!(get_api(&second, &base).await, StatusCode::OK);
    assert_eq!(server.grants.lock().unwrap().len(), 1);

    // A third run after expiry refreshes silently with the stored key and refresh token.
    clock.advance(3600);
    let third = TokenManager::builder(credentials(&base, true))
        .with_http(http())
        .with_store(FileStore::new(&path))
        .with_clock(clock.clone())
        .build()
        .unwrap();
    assert_eq!(get_api(&third, &base).await, StatusCode::OK);
    assert_eq!(
        *server.grants.lock().unwrap(),
        ["client_credentials", "refresh_token"]
    );
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("at-1-secret")
    );

    // Signing out removes the session: the next run signs in again.
    third.sign_out().await.unwrap();
    assert!(!path.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The same with the session in the OS keyring: a second manager (another run) reuses the
/// stored key and tokens without a new sign-in.
#[cfg(feature = "keyring")]
#[tokio::test]
#[cfg_attr(
    dpop_skip_keyring,
    ignore = "no Secret Service on the session D-Bus: see the README, Run it"
)]
async fn a_second_run_reuses_the_session_in_the_keyring() {
    use dpop_reqwest::store::KeyringStore;
    let (server, base) = start(as_with(300)).await;
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).unwrap();
    let service = format!("dpop-reqwest-test-{}", u64::from_le_bytes(random));
    let store = || KeyringStore::new(&service, "alice");

    let first = TokenManager::builder(credentials(&base, true))
        .with_http(http())
        .with_store(store())
        .build()
        .unwrap();
    assert_eq!(get_api(&first, &base).await, StatusCode::OK);
    let jkt = *first.client().dpop().thumbprint();
    drop(first);
    // The key is in the entry beside the tokens.
    let text = store().load().unwrap().unwrap();
    assert!(text.contains("\"d\":"), "private key stored");
    assert!(text.contains("rt-0-secret"));

    let second = TokenManager::builder(credentials(&base, true))
        .with_http(http())
        .with_store(store())
        .build()
        .unwrap();
    assert_eq!(*second.client().dpop().thumbprint(), jkt);
    assert_eq!(get_api(&second, &base).await, StatusCode::OK);
    assert_eq!(*server.grants.lock().unwrap(), ["client_credentials"]);

    // Signing out removes the entry.
    second.sign_out().await.unwrap();
    assert_eq!(store().load().unwrap(), None);
}

#[tokio::test]
async fn tokens_never_in_debug() {
    let (_server, base) = start(as_with(300)).await;
    let store = Arc::new(MemoryStore::new());
    let manager = manager_for(credentials(&base, true));
    let token = manager.access_token().await.unwrap();
    let info = manager.token_info().await.unwrap();
    for text in [
        format!("{manager:?}"),
        format!("{token:?}"),
        format!("{info:?}"),
        format!("{:?}", credentials(&base, true)),
        format!("{store:?}"),
    ] {
        assert!(!text.contains("-secret"), "{text}");
        assert!(!text.contains(SECRET), "{text}");
    }
    // a store that is not a session is refused, not half-read
    store.save("{\"version\":1}").unwrap();
    let result = TokenManager::builder(credentials(&base, true))
        .with_store(StoreRef(store))
        .build();
    assert!(matches!(result, Err(AuthError::Store(_))));
}

/// A store shared through an `Arc` (the trait is implemented for the store itself).
struct StoreRef(Arc<MemoryStore>);

impl dpop_reqwest::store::TokenStore for StoreRef {
    fn load(&self) -> Result<Option<zeroize::Zeroizing<String>>, dpop_reqwest::store::StoreError> {
        self.0.load()
    }
    fn save(&self, document: &str) -> Result<(), dpop_reqwest::store::StoreError> {
        self.0.save(document)
    }
    fn clear(&self) -> Result<(), dpop_reqwest::store::StoreError> {
        self.0.clear()
    }
}

/// A custom grant: a platform's own sign-in endpoint (here the client credentials request
/// built by hand), sent with the manager's client so that the token is bound.
struct CustomSignIn {
    base: String,
}

impl Grant for CustomSignIn {
    fn sign_in<'a>(
        &'a self,
        client: &'a DpopClient,
    ) -> BoxFuture<'a, Result<TokenResponse, AuthError>> {
        Box::pin(async move {
            let request = client
                .http()
                .post(format!("{}/token", self.base))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials&client_id=client%3A1&client_secret=s3cr%2Bt%26%3Dx");
            token_request(client, request).await
        })
    }
}

#[tokio::test]
async fn a_custom_grant_without_refresh_signs_in_again() {
    let (server, base) = start(as_with(300)).await;
    let clock = manual_clock();
    let manager = manager_at(CustomSignIn { base: base.clone() }, &clock);
    assert_eq!(get_api(&manager, &base).await, StatusCode::OK);
    clock.advance(300);
    assert_eq!(get_api(&manager, &base).await, StatusCode::OK);
    assert_eq!(server.sign_ins(), 2);
    assert_eq!(server.refreshes(), 0);
}

#[tokio::test]
async fn the_manager_answers_nonce_challenges() {
    let (server, base) = start(as_with(300)).await;
    let manager = manager_for(credentials(&base, true));
    let response = manager
        .send(manager.http().get(format!("{base}/nonce-api")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let exchange = response
        .extensions()
        .get::<dpop_reqwest::Exchange>()
        .copied();
    assert!(exchange.unwrap().retried);
    assert_eq!(server.resource_hits.load(Ordering::SeqCst), 1);
}

#[cfg(feature = "middleware")]
#[tokio::test]
async fn middleware_adds_tokens_proofs_nonces_and_retries_once() {
    use dpop_reqwest::middleware::DpopMiddleware;

    let (server, base) = start(as_with(300)).await;
    server.revoke_next.store(true, Ordering::SeqCst);
    let manager = manager_for(credentials(&base, true));
    let inner = http()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let client = reqwest_middleware::ClientBuilder::new(inner)
        .with(DpopMiddleware::with_tokens(manager.clone()))
        .build();
    // The first token is revoked: one retry with a refreshed one.
    let response = client.get(format!("{base}/api")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        *server.grants.lock().unwrap(),
        ["client_credentials", "refresh_token"]
    );
    // A nonce challenge: answered once, with the nonce.
    let response = client
        .get(format!("{base}/nonce-api"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(server.resource_hits.load(Ordering::SeqCst), 2);
    // 50 concurrent requests through the middleware: no further token request.
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let client = client.clone();
            let url = format!("{base}/api");
            tokio::spawn(async move { client.get(url).send().await.unwrap().status() })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(server.grants.lock().unwrap().len(), 2);

    // Proofs only, no manager: the resource refuses the missing token, but the proof is there.
    let client = reqwest_middleware::ClientBuilder::new(http().build().unwrap())
        .with(DpopMiddleware::new(Arc::new(Client::new(
            keys::generate(Algorithm::Es256).unwrap(),
        ))))
        .build();
    let response = client.get(format!("{base}/api")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn failed_refreshes_fall_back_as_documented() {
    let (server, base) = start(as_with(300)).await;
    let clock = manual_clock();
    let manager = manager_at(credentials(&base, true), &clock);
    assert_eq!(
        manager.access_token().await.unwrap().secret(),
        "at-0-secret"
    );

    // An early refresh that fails (503) while the token is still valid: the old token serves.
    server.refresh_down.store(true, Ordering::SeqCst);
    clock.advance(250);
    assert_eq!(
        manager.access_token().await.unwrap().secret(),
        "at-0-secret"
    );
    assert_eq!(server.refreshes(), 1);
    // Once expired, the failure is the caller's.
    clock.advance(50);
    assert!(matches!(
        manager.access_token().await,
        Err(AuthError::UnexpectedResponse { status: 503 })
    ));
    assert_eq!(server.sign_ins(), 1);

    // A refresh token the server no longer knows (400 invalid_grant): a new sign-in.
    server.refresh_down.store(false, Ordering::SeqCst);
    server.refresh.lock().unwrap().clear();
    assert_eq!(
        manager.access_token().await.unwrap().secret(),
        "at-1-secret"
    );
    assert_eq!(server.sign_ins(), 2);
    assert_eq!(server.refreshes(), 3);
}
