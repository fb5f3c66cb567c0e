//! The client side: what dpop-reqwest costs per request beside the one proof creation.
//!
//! Every signer here is the fixture's aws-lc-rs key behind a counter, and each request
//! benchmark first checks that one request makes exactly one signature. The token is the
//! 1000-byte fixture token; URLs are `http://127.0.0.1:PORT/protectedresource`.
//!
//! - `client/core_create/ES256/aws-lc-rs`: dpop-core's `NewProof::encode_to_string` with `ath`
//!   (the signing a request cannot avoid); `…/no-ath` without an access token.
//! - `client/prepare/ES256/aws-lc-rs`: dpop-std's sans-IO `Client::prepare` with the token: the
//!   proof above plus a random `jti`, the origin, the nonce lookup and the header values.
//! - `client/middleware/ES256/aws-lc-rs` and `client/middleware/baseline`: a
//!   `reqwest-middleware` client with `DpopMiddleware` (proofs only, no token) in front of a
//!   terminal middleware that answers `200` without any I/O, and the same client without
//!   `DpopMiddleware`. The difference minus `core_create/…/no-ath` is the middleware's own cost.
//! - `client/dpop-reqwest/ES256/aws-lc-rs` and `client/reqwest/baseline`: `DpopClient::send`
//!   with the token, and plain reqwest sending the same `Authorization` header without a
//!   proof, each a GET to a no-op axum server on 127.0.0.1 (HTTP/1.1 keep-alive) whose answer
//!   is read to the end. The server runs on another thread, the client on a current-thread
//!   runtime on the measuring thread, so the thread CPU-time clock counts the client alone.
//!   The difference minus `core_create/ES256/aws-lc-rs` is dpop-reqwest's own cost.
//! - `client/reqwest/baseline-padded`: the baseline with a dummy header as long as the proof,
//!   the cost of the bigger request alone.
//! - `client/reqwest/prepared/ES256/aws-lc-rs`: plain reqwest with the headers of
//!   `Client::prepare` added by hand (one proof, no nonce retry, no redirect handling): the
//!   least a DPoP client does; `dpop-reqwest` minus this is what `DpopClient::execute` adds
//!   around it (request clones for the retry and redirects, reading the response).
//!
//! The report subtracts these into `client_overhead_ns/{dpop-reqwest,middleware,prepare}`.

#![allow(
    clippy::unwrap_used,
    reason = "benchmark code: a broken fixture should stop the run"
)]

#[path = "common.rs"]
mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::BenchmarkId;
use dpop_aws_lc_rs::AwsLcSigningKey;
use dpop_core::{Algorithm, HttpMethod, NewProof, ProofId, TargetUri, UnixTime};
use dpop_reqwest::DpopClient;
use dpop_reqwest::middleware::DpopMiddleware;
use dpop_std::client::Client;
use dpop_testkit::CountingSigner;
use http::Method;
use http::header::AUTHORIZATION;

use common::{PATH, fixture, scalar};

/// The fixture key, counting its signatures.
fn counting(count: &Arc<AtomicUsize>) -> CountingSigner<AwsLcSigningKey> {
    let key = AwsLcSigningKey::from_bytes(Algorithm::Es256, &scalar(Algorithm::Es256)).unwrap();
    CountingSigner::new(key, count)
}

/// The last middleware: answers `200` without I/O.
struct Terminal;

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for Terminal {
    async fn handle(
        &self,
        request: reqwest::Request,
        _extensions: &mut http::Extensions,
        _next: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        black_box(&request);
        Ok(reqwest::Response::from(http::Response::new(
            reqwest::Body::from("ok"),
        )))
    }
}

/// A no-op HTTP server on 127.0.0.1, on a thread of its own; its address.
fn noop_server() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let app = axum::Router::new().route(PATH, axum::routing::get(|| async { "ok" }));
            axum::serve(listener, app).await.unwrap();
        });
    });
    addr
}

fn main() {
    let mut c = common::criterion();
    let f = fixture(Algorithm::Es256);
    let token = f.token.clone();
    let addr = noop_server();
    let url = format!("http://{addr}{PATH}");
    let count = Arc::new(AtomicUsize::new(0));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Exactly one signature per call of `f`.
    let signs_once = |what: &str, f: &mut dyn FnMut()| {
        let before = count.load(Ordering::Relaxed);
        f();
        assert_eq!(count.load(Ordering::Relaxed) - before, 1, "{what}");
    };

    let mut group = c.benchmark_group("client");

    let signer = counting(&count);
    let uri = TargetUri::parse(&url).unwrap();
    for (suffix, token) in [("", Some(token.as_str())), ("/no-ath", None)] {
        let proof = NewProof::new(
            HttpMethod::GET,
            uri,
            ProofId::new("e1j3V_bKic8-LAEB").unwrap(),
            UnixTime::from_secs(common::NOW),
        );
        let proof = match token {
            Some(t) => proof.with_access_token(t),
            None => proof,
        };
        signs_once("core_create", &mut || {
            proof.encode_to_string(&signer).unwrap();
        });
        group.bench_function(
            BenchmarkId::new("core_create/ES256", format!("aws-lc-rs{suffix}")),
            |b| b.iter(|| proof.encode_to_string(black_box(&signer)).unwrap()),
        );
    }

    let dpop = Arc::new(Client::new(counting(&count)));
    signs_once("prepare", &mut || {
        dpop.prepare(&Method::GET, &url, Some(&token)).unwrap();
    });
    group.bench_function(BenchmarkId::new("prepare/ES256", "aws-lc-rs"), |b| {
        b.iter(|| {
            dpop.prepare(&Method::GET, black_box(&url), Some(&token))
                .unwrap()
        });
    });

    // reqwest-middleware, no I/O.
    let http = reqwest::Client::builder().build().unwrap();
    let with_dpop = reqwest_middleware::ClientBuilder::new(http.clone())
        .with(DpopMiddleware::new(Arc::clone(&dpop)))
        .with(Terminal)
        .build();
    let without = reqwest_middleware::ClientBuilder::new(http.clone())
        .with(Terminal)
        .build();
    for (id, client, signatures) in [
        (
            BenchmarkId::new("middleware/ES256", "aws-lc-rs"),
            &with_dpop,
            1,
        ),
        (BenchmarkId::new("middleware", "baseline"), &without, 0),
    ] {
        let send = || {
            runtime.block_on(async {
                let response = client.get(&url).send().await.unwrap();
                assert!(response.status().is_success());
            });
        };
        let before = count.load(Ordering::Relaxed);
        send();
        assert_eq!(count.load(Ordering::Relaxed) - before, signatures);
        group.bench_function(id, |b| b.iter(send));
    }

    // Real requests to the local no-op server.
    let client = DpopClient::from_shared(reqwest::Client::builder(), Arc::clone(&dpop)).unwrap();
    let authorization = format!("DPoP {token}");
    let dpop_send = || {
        runtime.block_on(async {
            let response = client
                .send(client.http().get(&url), Some(&token))
                .await
                .unwrap();
            assert!(response.status().is_success());
            black_box(response.bytes().await.unwrap());
        });
    };
    let plain_send = || {
        runtime.block_on(async {
            let response = http
                .get(&url)
                .header(AUTHORIZATION, &authorization)
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success());
            black_box(response.bytes().await.unwrap());
        });
    };
    // The least any DPoP client does: dpop-std's headers on a plain reqwest request (one
    // proof, no nonce retry, no redirect handling).
    let prepared_send = || {
        runtime.block_on(async {
            let attempt = dpop.prepare(&Method::GET, &url, Some(&token)).unwrap();
            let mut request = http.get(&url).build().unwrap();
            request.headers_mut().extend(attempt.headers().clone());
            let response = http.execute(request).await.unwrap();
            assert!(response.status().is_success());
            black_box(response.bytes().await.unwrap());
        });
    };
    // Plain reqwest with a dummy header of the proof's length: what the bigger request costs
    // the client (the kernel's loopback path included), whatever the header says.
    let proof_len = dpop
        .prepare(&Method::GET, &url, Some(&token))
        .unwrap()
        .proof()
        .len();
    let padding = http::HeaderValue::from_str(&"p".repeat(proof_len)).unwrap();
    let padded_send = || {
        runtime.block_on(async {
            let response = http
                .get(&url)
                .header(AUTHORIZATION, &authorization)
                .header("x-padding", padding.clone())
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success());
            black_box(response.bytes().await.unwrap());
        });
    };
    signs_once("DpopClient::send", &mut || dpop_send());
    signs_once("reqwest with prepared headers", &mut || prepared_send());
    let before = count.load(Ordering::Relaxed);
    plain_send();
    assert_eq!(count.load(Ordering::Relaxed), before);
    group.bench_function(BenchmarkId::new("dpop-reqwest/ES256", "aws-lc-rs"), |b| {
        b.iter(dpop_send);
    });
    group.bench_function(BenchmarkId::new("reqwest", "baseline"), |b| {
        b.iter(plain_send);
    });
    group.bench_function(BenchmarkId::new("reqwest", "baseline-padded"), |b| {
        b.iter(padded_send);
    });
    group.bench_function(
        BenchmarkId::new("reqwest/prepared/ES256", "aws-lc-rs"),
        |b| {
            b.iter(prepared_send);
        },
    );
    group.finish();
    c.final_summary();
}
