//! Counters through the layer: the layer's decisions (resource and token endpoint) are the
//! server's, so a `Server` with counters counts each request once, and a token request the
//! handler turns away before `check_grant` counts nothing.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use dpop_axum::{Dpop, DpopLayer, DpopToken, TokenStatus};
use dpop_core::Algorithm;
use dpop_core::SigningKey;
use dpop_core::crypto::rustcrypto::ALL_VERIFIERS;
use dpop_std::client::Client;
use dpop_std::replay::MemoryReplayCache;
use dpop_std::server::{Grant, Rejection, Server, UriPolicy};
use dpop_std::telemetry::Counters;
use http::{HeaderMap, Method, Request, StatusCode};
use tower::ServiceExt as _;

const BASE: &str = "http://api.test";

fn key(byte: u8) -> SigningKey {
    SigningKey::from_bytes(Algorithm::Es256, &[byte; 32]).unwrap()
}

fn server(counters: &Arc<Counters>) -> Server {
    Server::builder(ALL_VERIFIERS, UriPolicy::public_base(BASE).build().unwrap())
        .with_counters(counters.clone())
        .build()
        .unwrap()
}

async fn me(dpop: Dpop) -> String {
    dpop.proof().unwrap().id().to_owned()
}

async fn token(headers: HeaderMap, dpop: DpopToken) -> Response {
    if headers.get("x-client-secret").is_none() {
        return (StatusCode::UNAUTHORIZED, r#"{"error":"invalid_client"}"#).into_response();
    }
    match dpop.check_grant(Grant::Other).await {
        Ok(_) => "ok".into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

fn app(resource: &Arc<Counters>, token_endpoint: &Arc<Counters>) -> Router {
    let jkt = key(1).public_jwk().thumbprint();
    let resolver = move |token: &str| match token {
        "bound" => TokenStatus::Bound { jkt, claims: () },
        _ => TokenStatus::Invalid("unknown access token"),
    };
    Router::new()
        .route("/me", get(me))
        .layer(DpopLayer::resource(
            server(resource),
            Arc::new(MemoryReplayCache::with_capacity(100)),
            resolver,
        ))
        .merge(
            Router::new()
                .route("/token", post(token))
                .layer(DpopLayer::token_endpoint(
                    server(token_endpoint),
                    Arc::new(MemoryReplayCache::with_capacity(100)),
                )),
        )
}

/// Status, and the reason of the `Rejection` the layer put in the response extensions.
async fn send(
    app: &Router,
    method: Method,
    path: &str,
    headers: &HeaderMap,
) -> (u16, Option<&'static str>) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .body(Body::empty())
        .unwrap();
    *request.headers_mut() = headers.clone();
    let response = app.clone().oneshot(request).await.unwrap();
    let reason = response
        .extensions()
        .get::<Rejection>()
        .map(|r| r.reason().name());
    (response.status().as_u16(), reason)
}

#[tokio::test]
async fn each_request_through_the_layer_counts_once() {
    let resource = Arc::new(Counters::new());
    let token_endpoint = Arc::new(Counters::new());
    let app = app(&resource, &token_endpoint);
    let client = Client::new(key(1));

    let attempt = client
        .prepare(&Method::GET, &format!("{BASE}/me"), Some("bound"))
        .unwrap();
    assert_eq!(
        send(&app, Method::GET, "/me", attempt.headers()).await,
        (200, None)
    );
    assert_eq!(
        send(&app, Method::GET, "/me", attempt.headers()).await,
        (401, Some("replayed"))
    );
    let unknown = client
        .prepare(&Method::GET, &format!("{BASE}/me"), Some("nope"))
        .unwrap();
    assert_eq!(
        send(&app, Method::GET, "/me", unknown.headers()).await,
        (401, Some("invalid_token"))
    );
    assert_eq!(
        send(&app, Method::GET, "/me", &HeaderMap::new()).await,
        (401, Some("missing_credentials"))
    );

    let s = resource.snapshot();
    assert_eq!((s.accepted, s.rejected, s.replays), (1, 3, 1));
    assert_eq!(s.rejected_for("replayed"), 1);
    assert_eq!(s.rejected_for("invalid_token"), 1);
    assert_eq!(s.rejected_for("missing_credentials"), 1);
    assert_eq!(token_endpoint.snapshot().rejected, 0);

    // Token endpoint: an unauthenticated client is the handler's decision, not counted here;
    // an authenticated one is accepted once its proof is consumed.
    let anonymous = client
        .prepare(&Method::POST, &format!("{BASE}/token"), None)
        .unwrap();
    assert_eq!(
        send(&app, Method::POST, "/token", anonymous.headers()).await,
        (401, None)
    );
    let t = token_endpoint.snapshot();
    assert_eq!((t.accepted, t.rejected), (0, 0));
    let authenticated = client
        .prepare(&Method::POST, &format!("{BASE}/token"), None)
        .unwrap();
    let mut headers = authenticated.headers().clone();
    headers.insert("x-client-secret", "s".parse().unwrap());
    assert_eq!(
        send(&app, Method::POST, "/token", &headers).await,
        (200, None)
    );
    assert_eq!(
        send(&app, Method::POST, "/token", &headers).await,
        (400, Some("replayed"))
    );
    let t = token_endpoint.snapshot();
    assert_eq!((t.accepted, t.rejected, t.replays), (1, 1, 1));
    assert_eq!(resource.snapshot().accepted, 1);
}
