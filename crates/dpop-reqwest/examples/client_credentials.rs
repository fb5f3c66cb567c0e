//! Client credentials and a resource call with the token manager, end to end and offline:
//! the example starts its own authorization server and resource (dpop-axum) on 127.0.0.1.
//!
//! ```text
//! cargo run -p dpop-reqwest --example client_credentials
//! ```

#![allow(clippy::print_stdout, reason = "an example program")]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use dpop_axum::{Dpop, DpopLayer, DpopToken, TokenStatus};
use dpop_core::Thumbprint;
use dpop_core::crypto::rustcrypto::ALL_VERIFIERS;
use dpop_reqwest::TokenManager;
use dpop_reqwest::grants::{ClientAuth, ClientCredentials};
use dpop_std::replay::MemoryReplayCache;
use dpop_std::server::{Grant, Server, UriPolicy};
use dpop_std::wire::{TokenResponse, TokenType};

/// Issued access tokens and the key each is bound to.
type Issued = Arc<Mutex<HashMap<String, Thumbprint>>>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = start_server().await?;

    // --- the client: this is all the user code ---
    let grant = ClientCredentials::new(
        format!("{base}/token"),
        ClientAuth::secret_basic("example-client", "example-secret"),
    )
    .with_scope("read");
    let tokens = TokenManager::builder(grant)
        .with_http(reqwest::Client::builder().no_proxy())
        .build()?;
    for _ in 0..2 {
        // The first call gets a token; the second reuses it.
        let response = tokens
            .send(tokens.http().get(format!("{base}/api/items")))
            .await?;
        println!(
            "GET /api/items: {} {}",
            response.status(),
            response.text().await?
        );
    }
    println!("client key: {}", tokens.client().dpop().thumbprint());
    Ok(())
}

/// A tiny authorization server (client credentials, DPoP-bound tokens) and resource.
async fn start_server() -> Result<String, Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let policy = UriPolicy::public_base(&base).build()?;
    let issued: Issued = Arc::default();
    let token_endpoint = Router::new()
        .route("/token", post(token))
        .route_layer(DpopLayer::token_endpoint(
            Server::new(ALL_VERIFIERS, policy.clone()),
            Arc::new(MemoryReplayCache::with_capacity(10_000)),
        ))
        .with_state(Arc::clone(&issued));
    let resolve = move |token: &str| -> TokenStatus<()> {
        let jkt = issued
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(token)
            .copied();
        jkt.map_or(TokenStatus::Invalid("unknown token"), |jkt| {
            TokenStatus::Bound { jkt, claims: () }
        })
    };
    let resource = Router::new()
        .route("/api/items", get(items))
        .route_layer(DpopLayer::resource(
            Server::new(ALL_VERIFIERS, policy),
            Arc::new(MemoryReplayCache::with_capacity(10_000)),
            resolve,
        ));
    let app = token_endpoint.merge(resource);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(base)
}

/// `POST /token`: checks the client (a real server compares hashes in constant time) and
/// binds the token to the proof's key.
async fn token(State(issued): State<Issued>, dpop: DpopToken, headers: HeaderMap) -> Response {
    // "example-client:example-secret", form-encoded then base64 (RFC 6749 section 2.3.1).
    let expected = "Basic ZXhhbXBsZS1jbGllbnQ6ZXhhbXBsZS1zZWNyZXQ=";
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected) {
        return (StatusCode::UNAUTHORIZED, "invalid_client").into_response();
    }
    let binding = match dpop.check_grant(Grant::Other).await {
        Ok(binding) => binding,
        Err(rejection) => return rejection.into_response(),
    };
    let Some(jkt) = binding.thumbprint().copied() else {
        return (StatusCode::BAD_REQUEST, "DPoP required").into_response();
    };
    let mut random = [0u8; 16];
    if getrandom::fill(&mut random).is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let token: String = random.iter().map(|b| format!("{b:02x}")).collect();
    issued
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(token.clone(), jkt);
    let response = TokenResponse::new(token, TokenType::Dpop, 300, "read");
    match response.to_response() {
        Ok(response) => response.map(axum::body::Body::from),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// `GET /api/items`, behind the DPoP layer.
async fn items(dpop: Dpop) -> String {
    let jkt = dpop
        .thumbprint()
        .map(ToString::to_string)
        .unwrap_or_default();
    format!("{{\"items\":[],\"bound_to\":\"{jkt}\"}}")
}
