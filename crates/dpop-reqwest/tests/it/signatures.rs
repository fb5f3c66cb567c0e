//! One proof creation per request sent, no hidden re-signing: `DpopClient` and
//! `DpopMiddleware` with a signer that counts its signatures, against a local axum server that
//! records every proof it receives (plain requests, the nonce retry, a client that already holds
//! the nonce, a server that keeps asking, a same-origin redirect).

#![allow(
    clippy::unwrap_used,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc
)]

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64ct::{Base64UrlUnpadded, Encoding as _};
use dpop_reqwest::{DpopClient, Exchange};
use dpop_std::client::Client;
use dpop_testkit::CountingSigner;

/// Every `DPoP` header the server received, in order.
#[derive(Default)]
struct Seen {
    proofs: Mutex<Vec<String>>,
    challenges: AtomicUsize,
}

impl Seen {
    /// Records the proof; its `nonce` claim, if any.
    fn record(&self, headers: &HeaderMap) -> Option<String> {
        let proof = headers.get("dpop")?.to_str().ok()?.to_owned();
        let payload = proof.split('.').nth(1)?;
        let json: serde_json::Value =
            serde_json::from_slice(&Base64UrlUnpadded::decode_vec(payload).ok()?).ok()?;
        self.proofs.lock().unwrap().push(proof);
        json.get("nonce")?.as_str().map(str::to_owned)
    }

    fn count(&self) -> usize {
        self.proofs.lock().unwrap().len()
    }
}

fn challenge(nonce: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [
            ("www-authenticate", r#"DPoP error="use_dpop_nonce""#),
            ("dpop-nonce", nonce),
        ],
    )
        .into_response()
}

async fn ok(State(seen): State<Arc<Seen>>, headers: HeaderMap) -> Response {
    seen.record(&headers);
    "ok".into_response()
}

/// Wants the nonce "n-1".
async fn nonce(State(seen): State<Arc<Seen>>, headers: HeaderMap) -> Response {
    if seen.record(&headers).as_deref() == Some("n-1") {
        "ok".into_response()
    } else {
        challenge("n-1")
    }
}

/// Asks for a new nonce every time.
async fn restless(State(seen): State<Arc<Seen>>, headers: HeaderMap) -> Response {
    seen.record(&headers);
    let n = seen.challenges.fetch_add(1, Ordering::SeqCst);
    challenge(&format!("new-{n}"))
}

async fn moved(State(seen): State<Arc<Seen>>, headers: HeaderMap) -> Response {
    seen.record(&headers);
    (StatusCode::TEMPORARY_REDIRECT, [("location", "/ok")]).into_response()
}

async fn start() -> (String, Arc<Seen>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Seen::default());
    let app = Router::new()
        .route("/ok", get(ok))
        .route("/nonce", get(nonce))
        .route("/restless", get(restless))
        .route("/moved", get(moved))
        .with_state(Arc::clone(&seen));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, seen)
}

fn dpop_client() -> (Arc<Client>, Arc<AtomicUsize>) {
    let signatures = Arc::new(AtomicUsize::new(0));
    let signer = CountingSigner::new(dpop_testkit::key(7), &signatures);
    (Arc::new(Client::new(signer)), signatures)
}

/// Runs `send` and checks that it sent `requests` requests with one new, distinct proof each.
async fn check<F: Future<Output = StatusCode>>(
    what: &str,
    seen: &Seen,
    signatures: &AtomicUsize,
    requests: usize,
    send: F,
) {
    let (sent, signed) = (seen.count(), signatures.load(Ordering::SeqCst));
    let status = send.await;
    let sent = seen.count() - sent;
    let signed = signatures.load(Ordering::SeqCst) - signed;
    assert_eq!(sent, requests, "{what}: requests sent ({status})");
    assert_eq!(signed, sent, "{what}: signatures per request sent");
    let proofs = seen.proofs.lock().unwrap();
    let distinct: HashSet<&String> = proofs.iter().collect();
    assert_eq!(
        distinct.len(),
        proofs.len(),
        "{what}: a proof was sent twice"
    );
}

#[tokio::test]
async fn dpop_client_signs_once_per_request_sent() {
    let (base, seen) = start().await;
    let (dpop, signatures) = dpop_client();
    let client = DpopClient::from_shared(reqwest::Client::builder().no_proxy(), dpop).unwrap();
    let get = |path: &str, token: Option<&'static str>| {
        let request = client.http().get(format!("{base}{path}"));
        let client = &client;
        async move {
            let response = client.send(request, token).await.unwrap();
            (
                response.status(),
                *response.extensions().get::<Exchange>().unwrap(),
            )
        }
    };

    check("plain", &seen, &signatures, 1, async {
        get("/ok", Some("at-1")).await.0
    })
    .await;
    check("nonce retry", &seen, &signatures, 2, async {
        let (status, exchange) = get("/nonce", Some("at-1")).await;
        assert!(exchange.retried);
        assert_eq!(status, StatusCode::OK);
        status
    })
    .await;
    check("nonce already held", &seen, &signatures, 1, async {
        let (status, exchange) = get("/nonce", None).await;
        assert!(!exchange.retried);
        assert_eq!(status, StatusCode::OK);
        status
    })
    .await;
    check("server that keeps asking", &seen, &signatures, 2, async {
        get("/restless", Some("at-1")).await.0
    })
    .await;
    check("same-origin redirect", &seen, &signatures, 2, async {
        let (status, exchange) = get("/moved", Some("at-1")).await;
        assert_eq!(exchange.redirects, 1);
        status
    })
    .await;
}

#[cfg(feature = "middleware")]
#[tokio::test]
async fn middleware_signs_once_per_request_sent() {
    use dpop_reqwest::middleware::DpopMiddleware;

    let (base, seen) = start().await;
    let (dpop, signatures) = dpop_client();
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let client = reqwest_middleware::ClientBuilder::new(http)
        .with(DpopMiddleware::new(dpop))
        .build();
    let get = |path: &str| {
        let request = client.get(format!("{base}{path}"));
        async move { request.send().await.unwrap().status() }
    };
    check("plain", &seen, &signatures, 1, get("/ok")).await;
    check("nonce retry", &seen, &signatures, 2, async {
        let status = get("/nonce").await;
        assert_eq!(status, StatusCode::OK);
        status
    })
    .await;
    check("nonce already held", &seen, &signatures, 1, get("/nonce")).await;
    check(
        "server that keeps asking",
        &seen,
        &signatures,
        2,
        get("/restless"),
    )
    .await;
}
