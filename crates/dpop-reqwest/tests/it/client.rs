//! `DpopClient` against a local axum server on 127.0.0.1 whose handlers check the proofs with
//! dpop-core and answer with the nonce challenges of RFC 9449 sections 8 and 9, including
//! servers that misbehave.

#![allow(
    clippy::unwrap_used,
    clippy::unwrap_in_result,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method as AxumMethod, StatusCode as AxumStatus, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use dpop_core::{
    Algorithm, Expected, HttpMethod, SigningKey, TargetUri, Verifier, VerifyError,
    crypto::rustcrypto::ALL_VERIFIERS,
};
use dpop_reqwest::{DpopClient, Exchange, MAX_REDIRECTS, RedirectStop};
use dpop_std::client::{Client, NoRetry};
use dpop_std::clock::{Clock as _, SystemClock};
use reqwest::StatusCode;

struct Server {
    base: String,
    hits: AtomicUsize,
    /// Where `/away` redirects to.
    elsewhere: std::sync::Mutex<String>,
    /// The `DPoP` and `Authorization` headers of every request it saw.
    seen: std::sync::Mutex<Vec<(Option<String>, Option<String>)>>,
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn redirect(status: AxumStatus, location: &str) -> Response {
    (
        status,
        [("location", location), ("dpop-nonce", "redirect-nonce")],
    )
        .into_response()
}

/// A 307 to `/new`, same origin.
async fn to_new(State(server): State<Arc<Server>>) -> Response {
    server.hits.fetch_add(1, Ordering::SeqCst);
    redirect(AxumStatus::TEMPORARY_REDIRECT, "/new")
}

/// Checks the proof for its own method and URL and the access token, then echoes the body.
async fn token_or_new(
    State(server): State<Arc<Server>>,
    method: AxumMethod,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    server.hits.fetch_add(1, Ordering::SeqCst);
    let token = header_text(&headers, "authorization")
        .and_then(|v| v.strip_prefix("DPoP ").map(str::to_owned));
    // the nonce the redirect response gave is sent at once
    match server.verify(
        &method,
        &uri,
        &headers,
        token.as_deref(),
        Some("redirect-nonce"),
    ) {
        Ok(()) => format!("{method} {} with {body:?}", uri.path()).into_response(),
        Err(e) => (AxumStatus::UNAUTHORIZED, e.name()).into_response(),
    }
}

/// A 303 to `/new`: the client comes back with GET.
async fn see_other(State(server): State<Arc<Server>>) -> Response {
    server.hits.fetch_add(1, Ordering::SeqCst);
    redirect(AxumStatus::SEE_OTHER, "/new")
}

/// Redirects to itself, forever.
async fn redirect_loop(State(server): State<Arc<Server>>) -> Response {
    server.hits.fetch_add(1, Ordering::SeqCst);
    redirect(AxumStatus::FOUND, "/loop")
}

/// A 302 to another origin.
async fn away(State(server): State<Arc<Server>>) -> Response {
    server.hits.fetch_add(1, Ordering::SeqCst);
    let target = server.elsewhere.lock().unwrap().clone();
    redirect(AxumStatus::FOUND, &target)
}

/// Records what it was sent.
async fn landing(State(server): State<Arc<Server>>, headers: HeaderMap) -> Response {
    server.hits.fetch_add(1, Ordering::SeqCst);
    server.seen.lock().unwrap().push((
        header_text(&headers, "dpop"),
        header_text(&headers, "authorization"),
    ));
    "landed".into_response()
}

impl Server {
    /// Verifies the request's proof for `access_token` and, when given, `nonce`.
    fn verify(
        &self,
        method: &AxumMethod,
        uri: &Uri,
        headers: &HeaderMap,
        access_token: Option<&str>,
        nonce: Option<&str>,
    ) -> Result<(), VerifyError> {
        let url = format!("{}{}", self.base, uri.path());
        let proof = headers
            .get("dpop")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mut expected = Expected::new(
            HttpMethod::parse(method.as_str()).unwrap(),
            TargetUri::parse(&url).unwrap(),
        );
        if let Some(token) = access_token {
            expected = expected.with_access_token(token);
        }
        if let Some(nonce) = nonce {
            expected = expected.with_nonce(nonce);
        }
        Verifier::new(ALL_VERIFIERS)
            .verify(proof, &expected, SystemClock::default().now())
            .map(|_| ())
    }
}

fn rs_challenge(nonce: &str) -> Response {
    (
        AxumStatus::UNAUTHORIZED,
        [
            (
                "www-authenticate",
                r#"DPoP error="use_dpop_nonce", algs="ES256""#,
            ),
            ("dpop-nonce", nonce),
        ],
    )
        .into_response()
}

/// A resource that checks `ath` and wants the nonce "rs-1".
async fn resource(
    State(server): State<Arc<Server>>,
    method: AxumMethod,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    server.hits.fetch_add(1, Ordering::SeqCst);
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("DPoP "))
        .map(str::to_owned);
    match server.verify(&method, &uri, &headers, token.as_deref(), Some("rs-1")) {
        Ok(()) => (
            [("dpop-nonce", "rs-2")],
            format!("hello {}", token.unwrap_or_default()),
        )
            .into_response(),
        Err(e) if e.is_nonce_error() => rs_challenge("rs-1"),
        Err(e) => (AxumStatus::UNAUTHORIZED, e.name()).into_response(),
    }
}

/// A token endpoint that wants the nonce "as-1" (JSON challenge) and echoes the body.
async fn token(
    State(server): State<Arc<Server>>,
    method: AxumMethod,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    server.hits.fetch_add(1, Ordering::SeqCst);
    match server.verify(&method, &uri, &headers, None, Some("as-1")) {
        Ok(()) => format!("issued for {body}").into_response(),
        Err(e) if e.is_nonce_error() => (
            AxumStatus::BAD_REQUEST,
            [("content-type", "application/json"), ("dpop-nonce", "as-1")],
            r#"{"error":"use_dpop_nonce","error_description":"nonce required"}"#,
        )
            .into_response(),
        Err(e) => (AxumStatus::BAD_REQUEST, e.name()).into_response(),
    }
}

/// Always a challenge, each time with a new nonce.
async fn restless(State(server): State<Arc<Server>>) -> Response {
    let n = server.hits.fetch_add(1, Ordering::SeqCst);
    rs_challenge(&format!("new-{n}"))
}

/// Always a challenge, always for the same nonce.
async fn stuck(State(server): State<Arc<Server>>) -> Response {
    server.hits.fetch_add(1, Ordering::SeqCst);
    rs_challenge("stuck")
}

/// A 400 that is not a nonce challenge; its body must reach the caller intact.
async fn bad_request(State(server): State<Arc<Server>>) -> Response {
    server.hits.fetch_add(1, Ordering::SeqCst);
    (
        AxumStatus::BAD_REQUEST,
        [("content-type", "application/json")],
        r#"{"error":"invalid_request"}"#,
    )
        .into_response()
}

/// Starts the server on a free port of 127.0.0.1.
async fn start() -> Arc<Server> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = Arc::new(Server {
        base: format!("http://{}", listener.local_addr().unwrap()),
        hits: AtomicUsize::new(0),
        elsewhere: std::sync::Mutex::new(String::new()),
        seen: std::sync::Mutex::new(Vec::new()),
    });
    let app = Router::new()
        .route("/resource", get(resource))
        .route("/token", post(token))
        .route("/restless", get(restless))
        .route("/stuck", get(stuck))
        .route("/bad", get(bad_request))
        .route("/old", post(to_new))
        .route("/new", post(token_or_new).get(token_or_new))
        .route("/see-other", post(see_other))
        .route("/loop", get(redirect_loop))
        .route("/away", get(away))
        .route("/landing", get(landing))
        .with_state(Arc::clone(&server));
    tokio::spawn(async move { axum::serve(listener, app).await });
    server
}

fn client() -> DpopClient {
    let key = SigningKey::from_bytes(Algorithm::Es256, &[5; 32]).unwrap();
    // Whatever redirect policy the builder has, DpopClient turns reqwest's off.
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::limited(10));
    DpopClient::new(http, Client::new(key)).unwrap()
}

/// Sends a `GET` of `url` through `client`, with `access_token` if any.
async fn send_get(
    client: &DpopClient,
    url: impl reqwest::IntoUrl,
    access_token: Option<&str>,
) -> reqwest::Response {
    client
        .send(client.http().get(url), access_token)
        .await
        .unwrap()
}

/// Sends a `POST` of `body` to `url` through `client`, with `access_token` if any.
async fn send_post(
    client: &DpopClient,
    url: impl reqwest::IntoUrl,
    body: &'static str,
    access_token: Option<&str>,
) -> reqwest::Response {
    client
        .send(client.http().post(url).body(body), access_token)
        .await
        .unwrap()
}

fn exchange(response: &reqwest::Response) -> Exchange {
    *response.extensions().get::<Exchange>().unwrap()
}

#[tokio::test]
async fn resource_nonce_retry_with_ath() {
    let server = start().await;
    let client = client();
    let url = format!("{}/resource?q=1", server.base);

    let response = send_get(&client, &url, Some("token-1")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let e = exchange(&response);
    assert!(e.retried);
    assert_eq!(e.not_retried, None);
    assert_eq!(response.text().await.unwrap(), "hello token-1");
    assert_eq!(server.hits.load(Ordering::SeqCst), 2);
    // the nonce of the successful response is kept
    assert_eq!(client.dpop().nonce(&url).as_deref(), Some("rs-2"));
}

#[tokio::test]
async fn authorization_server_nonce_retry_resends_the_body() {
    let server = start().await;
    let client = client();
    let response = send_post(&client, format!("{}/token", server.base), "grant=1", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(exchange(&response).retried);
    assert_eq!(response.text().await.unwrap(), "issued for grant=1");
    assert_eq!(server.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn at_most_one_retry_against_a_server_that_keeps_asking() {
    let server = start().await;
    let client = client();
    let url = format!("{}/restless", server.base);
    let response = send_get(&client, &url, None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let e = exchange(&response);
    assert!(e.retried);
    assert_eq!(e.not_retried, Some(NoRetry::AlreadyRetried));
    assert_eq!(server.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn no_retry_for_a_nonce_already_sent() {
    let server = start().await;
    let client = client();
    let url = format!("{}/stuck", server.base);
    // first request: no nonce, challenged for "stuck", retried with it, challenged again
    let response = send_get(&client, &url, None).await;
    assert_eq!(
        exchange(&response).not_retried,
        Some(NoRetry::AlreadyRetried)
    );
    assert_eq!(server.hits.load(Ordering::SeqCst), 2);
    // second request: sends "stuck" at once, is asked for "stuck" again: no retry
    let response = send_get(&client, &url, None).await;
    let e = exchange(&response);
    assert!(!e.retried);
    assert_eq!(e.not_retried, Some(NoRetry::NonceAlreadyTried));
    assert_eq!(server.hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn other_errors_pass_through_with_their_body() {
    let server = start().await;
    let client = client();
    let response = send_get(&client, format!("{}/bad", server.base), None).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let e = exchange(&response);
    assert!(!e.retried);
    assert_eq!(e.not_retried, None);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(response.url().as_str().ends_with("/bad"));
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"error":"invalid_request"}"#
    );
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn requests_without_a_proof_are_typed_errors() {
    let client = client();
    let error = client
        .send(
            client.http().get("http://127.0.0.1:9/x"),
            Some("not a token"),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, dpop_reqwest::Error::Proof(_)), "{error}");
}

/// Each message of an error chain is printed once: no error's text repeats its source's.
fn assert_chain_prints_each_message_once(error: &dyn std::error::Error) {
    let mut current = Some(error);
    while let Some(e) = current {
        let text = e.to_string();
        if let Some(source) = e.source() {
            let inner = source.to_string();
            assert!(
                !text.contains(&inner),
                "{text:?} repeats its source {inner:?}"
            );
        }
        current = e.source();
    }
}

#[tokio::test]
async fn errors_do_not_print_their_source_twice() {
    let client = client();
    let http = client
        .send(client.http().get("http://127.0.0.1:9/x"), Some("token"))
        .await
        .unwrap_err();
    assert!(matches!(http, dpop_reqwest::Error::Http(_)), "{http}");
    assert!(std::error::Error::source(&http).is_some());
    assert_chain_prints_each_message_once(&http);
    let proof = client
        .send(
            client.http().get("http://127.0.0.1:9/x"),
            Some("not a token"),
        )
        .await
        .unwrap_err();
    assert_chain_prints_each_message_once(&proof);
}

// ---------------------------------------------------------------------------------- redirects

#[tokio::test]
async fn cross_origin_redirect_is_returned_and_the_target_never_sees_the_proof() {
    let (a, b) = (start().await, start().await);
    *a.elsewhere.lock().unwrap() = format!("{}/landing", b.base);
    let client = client();
    let url = format!("{}/away", a.base);
    let response = send_get(&client, &url, Some("secret-token")).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(
        response.headers()["location"],
        format!("{}/landing", b.base).as_str()
    );
    let e = exchange(&response);
    assert_eq!(e.redirect_stopped, Some(RedirectStop::CrossOrigin));
    assert_eq!(e.redirects, 0);
    assert_eq!(a.hits.load(Ordering::SeqCst), 1);
    // the other origin got nothing at all, so neither DPoP nor Authorization
    assert_eq!(b.hits.load(Ordering::SeqCst), 0);
    assert!(b.seen.lock().unwrap().is_empty());
    // the nonce of A's redirect response is stored under A, not B
    assert_eq!(client.dpop().nonce(&url).as_deref(), Some("redirect-nonce"));
    assert_eq!(client.dpop().nonce(&format!("{}/landing", b.base)), None);

    // The same, to "localhost" on A's port: another host, another origin.
    let port = a.base.rsplit(':').next().unwrap();
    *a.elsewhere.lock().unwrap() = format!("http://localhost:{port}/landing");
    let response = send_get(&client, &url, Some("secret-token")).await;
    assert_eq!(
        exchange(&response).redirect_stopped,
        Some(RedirectStop::CrossOrigin)
    );
    assert!(a.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn same_origin_307_resends_the_body_with_a_new_proof() {
    let server = start().await;
    let client = client();
    let response = client
        .send(
            client
                .http()
                .post(format!("{}/old?x=1", server.base))
                .header("content-type", "text/plain")
                .body("grant=1"),
            Some("at-1"),
        )
        .await
        .unwrap();
    // /new verified htm POST, htu .../new, ath of at-1 and the nonce of the redirect response
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.url().as_str().ends_with("/new"));
    let e = exchange(&response);
    assert_eq!(e.redirects, 1);
    assert_eq!(e.redirect_stopped, None);
    assert_eq!(
        response.text().await.unwrap(),
        r#"POST /new with "grant=1""#
    );
    assert_eq!(server.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn same_origin_303_comes_back_with_get_and_no_body() {
    let server = start().await;
    let client = client();
    let response = send_post(
        &client,
        format!("{}/see-other", server.base),
        "grant=1",
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(exchange(&response).redirects, 1);
    assert_eq!(response.text().await.unwrap(), r#"GET /new with """#);
}

#[tokio::test]
async fn redirect_loops_are_bounded() {
    let server = start().await;
    let client = client();
    let response = send_get(&client, format!("{}/loop", server.base), None).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let e = exchange(&response);
    assert_eq!(e.redirects, MAX_REDIRECTS);
    assert_eq!(e.redirect_stopped, Some(RedirectStop::TooMany));
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        usize::from(MAX_REDIRECTS) + 1
    );
}

// ------------------------------------------------------------------ 400 bodies of any framing

/// A raw HTTP/1.1 server: answers the n-th connection with `responses[n]` (the last one again
/// after that) and counts connections. Each connection carries one request.
async fn raw_server(responses: Vec<Vec<u8>>) -> (String, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&count);
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let response = responses[n.min(responses.len() - 1)].clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => request.extend_from_slice(&buf[..k]),
                    }
                }
                let _ = socket.write_all(&response).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (base, count)
}

/// `body` in chunks of `size` bytes (Transfer-Encoding: chunked).
fn chunked(status: &str, extra_headers: &str, body: &[u8], size: usize) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{extra_headers}transfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    )
    .into_bytes();
    for chunk in body.chunks(size) {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

#[tokio::test]
async fn chunked_400_nonce_challenge_is_retried() {
    let challenge = chunked(
        "400 Bad Request",
        "dpop-nonce: as-chunked\r\n",
        br#"{"error":"use_dpop_nonce","error_description":"Authorization server requires nonce in DPoP proof"}"#,
        7,
    );
    let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok".to_vec();
    let (base, count) = raw_server(vec![challenge, ok]).await;
    let client = client();
    let response = send_post(&client, format!("{base}/token"), "g=1", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(exchange(&response).retried);
    assert_eq!(count.load(Ordering::SeqCst), 2);
    assert_eq!(response.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn chunked_and_unframed_400_bodies_reach_the_caller_intact() {
    let client = client();
    // Not a challenge, larger than the 16 KiB looked at, chunked: the whole body arrives.
    let big: Vec<u8> = (0..40_000u32)
        .map(|i| b'a' + u8::try_from(i % 26).unwrap())
        .collect();
    let (base, count) = raw_server(vec![chunked("400 Bad Request", "", &big, 3000)]).await;
    let response = send_get(&client, format!("{base}/x"), None).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.url().as_str().ends_with("/x"));
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.bytes().await.unwrap().as_ref(), big.as_slice());
    assert_eq!(count.load(Ordering::SeqCst), 1);

    // A small error body without any length (ends with the connection): intact, not retried.
    let body = br#"{"error":"invalid_request"}"#;
    let mut raw = b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n".to_vec();
    raw.extend_from_slice(body);
    let (base, count) = raw_server(vec![raw]).await;
    let response = send_get(&client, format!("{base}/x"), None).await;
    assert_eq!(exchange(&response).not_retried, None);
    assert_eq!(response.bytes().await.unwrap().as_ref(), body);
    assert_eq!(count.load(Ordering::SeqCst), 1);

    // A challenge without Content-Length, in one piece, ending with the connection.
    let mut raw =
        b"HTTP/1.1 400 Bad Request\r\ndpop-nonce: n-1\r\nconnection: close\r\n\r\n".to_vec();
    raw.extend_from_slice(br#"{"error":"use_dpop_nonce"}"#);
    let (base, count) = raw_server(vec![raw]).await;
    let response = send_get(&client, format!("{base}/x"), None).await;
    // challenged twice (the second time for the nonce it sent): retried once, body intact
    let e = exchange(&response);
    assert!(e.retried);
    assert_eq!(e.not_retried, Some(NoRetry::AlreadyRetried));
    assert_eq!(count.load(Ordering::SeqCst), 2);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"error":"use_dpop_nonce"}"#
    );
}
