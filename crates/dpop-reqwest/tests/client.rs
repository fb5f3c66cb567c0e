//! `DpopClient` against a local axum server on 127.0.0.1 whose handlers check the proofs with
//! dpop-core and answer with the nonce challenges of RFC 9449 sections 8 and 9, including
//! servers that misbehave.

#![allow(
    clippy::unwrap_used,
    clippy::unwrap_in_result,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method as AxumMethod, StatusCode as AxumStatus, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use dpop_core::alg::{ALL_COMPILED_IN, Algorithm};
use dpop_core::claims::HttpMethod;
use dpop_core::error::VerifyError;
use dpop_core::htu::TargetUri;
use dpop_core::key::SigningKey;
use dpop_core::proof::{Expected, Verifier};
use dpop_reqwest::{DpopClient, Exchange};
use dpop_std::client::{Client, NoRetry};
use dpop_std::clock::{Clock as _, SystemClock};
use reqwest::StatusCode;

struct Server {
    base: String,
    hits: AtomicUsize,
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
        Verifier::new(ALL_COMPILED_IN)
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
    });
    let app = Router::new()
        .route("/resource", get(resource))
        .route("/token", post(token))
        .route("/restless", get(restless))
        .route("/stuck", get(stuck))
        .route("/bad", get(bad_request))
        .with_state(Arc::clone(&server));
    tokio::spawn(async move { axum::serve(listener, app).await });
    server
}

fn client() -> DpopClient {
    let key = SigningKey::from_bytes(Algorithm::Es256, &[5; 32]).unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    DpopClient::new(http, Client::new(key))
}

fn exchange(response: &reqwest::Response) -> Exchange {
    *response.extensions().get::<Exchange>().unwrap()
}

#[tokio::test]
async fn resource_nonce_retry_with_ath() {
    let server = start().await;
    let client = client();
    let url = format!("{}/resource?q=1", server.base);

    let response = client
        .send(client.http().get(&url), Some("token-1"))
        .await
        .unwrap();
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
    let response = client
        .send(
            client
                .http()
                .post(format!("{}/token", server.base))
                .body("grant=1"),
            None,
        )
        .await
        .unwrap();
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
    let response = client.send(client.http().get(&url), None).await.unwrap();
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
    let response = client.send(client.http().get(&url), None).await.unwrap();
    assert_eq!(
        exchange(&response).not_retried,
        Some(NoRetry::AlreadyRetried)
    );
    assert_eq!(server.hits.load(Ordering::SeqCst), 2);
    // second request: sends "stuck" at once, is asked for "stuck" again: no retry
    let response = client.send(client.http().get(&url), None).await.unwrap();
    let e = exchange(&response);
    assert!(!e.retried);
    assert_eq!(e.not_retried, Some(NoRetry::NonceAlreadyTried));
    assert_eq!(server.hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn other_errors_pass_through_with_their_body() {
    let server = start().await;
    let client = client();
    let response = client
        .send(client.http().get(format!("{}/bad", server.base)), None)
        .await
        .unwrap();
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
