//! The layer and the extractor on a router, called without a socket (`oneshot`).

#![allow(
    clippy::unwrap_used,
    clippy::unwrap_in_result,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::Extension;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use dpop_axum::{
    Dpop, DpopLayer, DpopRejection, DpopToken, TokenReply, TokenStatus, resolve_async,
};
use dpop_core::{Algorithm, SigningKey, Thumbprint, crypto::rustcrypto::ALL_VERIFIERS};
use dpop_std::client::{Attempt, Client, Outcome};
use dpop_std::nonce::{NonceKey, StatelessNonces};
use dpop_std::replay::MemoryReplayCache;
use dpop_std::server::{BearerPolicy, Grant, Server, ServerBuilder, UriPolicy};
use dpop_std::wire::{TokenResponse, TokenType};
use http::{HeaderMap, Method, Request, StatusCode};
use tower::ServiceExt as _;

const BASE: &str = "http://api.test";

fn key(byte: u8) -> SigningKey {
    SigningKey::from_bytes(Algorithm::Es256, &[byte; 32]).unwrap()
}

fn server() -> Server {
    builder().build().unwrap()
}

fn builder() -> ServerBuilder {
    Server::builder(ALL_VERIFIERS, UriPolicy::public_base(BASE).build().unwrap())
}

#[derive(Clone, Debug, PartialEq)]
struct User(&'static str);

/// "bound" is bound to key 1, "plain" is a Bearer token, anything else is unknown.
fn resolver(jkt: Thumbprint) -> impl Fn(&str) -> TokenStatus<User> + Clone + Send + Sync {
    move |token: &str| match token {
        "bound" => TokenStatus::Bound {
            jkt,
            claims: User("alice"),
        },
        "plain" => TokenStatus::Unbound {
            claims: User("bob"),
        },
        _ => TokenStatus::Invalid("unknown access token"),
    }
}

async fn whoami(Extension(user): Extension<User>, dpop: Dpop) -> String {
    let proof = dpop.proof().unwrap();
    format!("{} {} {}", user.0, proof.thumbprint(), proof.htu())
}

/// A refresh grant whose refresh token is bound to key 1: the only DPoP call is the documented
/// `check_grant`.
async fn token(dpop: DpopToken) -> Response {
    let bound = key(1).public_jwk().thumbprint();
    let binding = match dpop
        .check_grant(Grant::RefreshToken {
            bound_key: Some(&bound),
        })
        .await
    {
        Ok(binding) => binding,
        Err(rejection) => return rejection.into_response(),
    };
    format!(
        "{} {:?}",
        binding.token_type(),
        binding.thumbprint().map(ToString::to_string)
    )
    .into_response()
}

/// A client-credentials token endpoint that authenticates the client before checking the grant.
async fn client_credentials(headers: HeaderMap, dpop: DpopToken) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(CLIENT_AUTH) {
        return (StatusCode::UNAUTHORIZED, r#"{"error":"invalid_client"}"#).into_response();
    }
    match dpop.check_grant(Grant::Other).await {
        Ok(binding) => {
            format!("{:?}", binding.thumbprint().map(ToString::to_string)).into_response()
        }
        Err(rejection) => rejection.into_response(),
    }
}

/// `Basic client:secret`.
const CLIENT_AUTH: &str = "Basic Y2xpZW50OnNlY3JldA==";

fn app(resource_server: Server) -> Router {
    app_with(
        resource_server,
        Arc::new(MemoryReplayCache::with_capacity(1000)),
        Arc::new(MemoryReplayCache::with_capacity(1000)),
    )
}

fn app_with(
    resource_server: Server,
    resource_cache: Arc<MemoryReplayCache>,
    token_cache: Arc<MemoryReplayCache>,
) -> Router {
    let jkt = key(1).public_jwk().thumbprint();
    Router::new()
        .route("/me", get(whoami))
        .layer(DpopLayer::resource(
            resource_server,
            resource_cache,
            resolver(jkt),
        ))
        .merge(
            Router::new()
                .route("/token", post(token))
                .route("/cc", post(client_credentials))
                .layer(DpopLayer::token_endpoint(
                    builder().with_bearer(BearerPolicy::Allow).build().unwrap(),
                    token_cache,
                )),
        )
}

fn request(method: Method, path: &str, headers: &HeaderMap) -> Request<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .body(Body::empty())
        .unwrap();
    *request.headers_mut() = headers.clone();
    request
}

/// Status, headers (without the `content-length` axum adds) and body.
async fn call(app: &Router, request: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let (mut parts, body) = response.into_parts();
    parts.headers.remove("content-length");
    let body = to_bytes(body, 1 << 20).await.unwrap();
    (
        parts.status,
        parts.headers,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

fn prepare(client: &Client, method: &Method, path: &str, token: Option<&str>) -> Attempt {
    client
        .prepare(method, &format!("{BASE}{path}"), token)
        .unwrap()
}

#[tokio::test]
async fn resource_accepts_a_bound_token_and_hands_over_proof_and_claims() {
    let app = app(server());
    let client = Client::new(key(1));
    let attempt = prepare(&client, &Method::GET, "/me", Some("bound"));
    let (status, _, body) = call(&app, request(Method::GET, "/me", attempt.headers())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, format!("alice {} {BASE}/me", client.thumbprint()));

    // The same proof again is a replay: dpop-std's exact response, the handler never runs.
    let (status, headers, body) = call(&app, request(Method::GET, "/me", attempt.headers())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let challenge = headers["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with("DPoP error=\"invalid_dpop_proof\""),
        "{challenge}"
    );
    assert!(challenge.contains("proof was already used"), "{challenge}");
    assert_eq!(body, "");
}

#[tokio::test]
async fn rejections_are_dpop_std_responses_unchanged() {
    let app = app(server());
    let client = Client::new(key(1));
    let other = Client::new(key(2));

    // No credentials: the bare challenge, exactly as Server::challenge renders it.
    let (status, headers, body) = call(&app, request(Method::GET, "/me", &HeaderMap::new())).await;
    let expected = server().challenge().into_response();
    assert_eq!(status, expected.status());
    assert_eq!(&headers, expected.headers());
    assert_eq!(body, *expected.body());

    // An unknown token: the resolver's description.
    let attempt = prepare(&client, &Method::GET, "/me", Some("nope"));
    let (status, headers, _) = call(&app, request(Method::GET, "/me", attempt.headers())).await;
    let expected = server()
        .reject_token("unknown access token")
        .into_response();
    assert_eq!(status, expected.status());
    assert_eq!(&headers, expected.headers());

    for (name, headers, code) in [
        (
            "another key",
            prepare(&other, &Method::GET, "/me", Some("bound"))
                .headers()
                .clone(),
            "invalid_token",
        ),
        (
            "bound token as Bearer",
            {
                let mut h = HeaderMap::new();
                h.insert("authorization", "Bearer bound".parse().unwrap());
                h
            },
            "invalid_token",
        ),
        (
            "unbound token with the DPoP scheme",
            prepare(&client, &Method::GET, "/me", Some("plain"))
                .headers()
                .clone(),
            "invalid_token",
        ),
        (
            "proof for another method",
            prepare(&client, &Method::POST, "/me", Some("bound"))
                .headers()
                .clone(),
            "invalid_dpop_proof",
        ),
    ] {
        let (status, headers, _) = call(&app, request(Method::GET, "/me", &headers)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}");
        let challenge = headers["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.starts_with(&format!("DPoP error=\"{code}\"")),
            "{name}: {challenge}"
        );
    }
}

#[tokio::test]
async fn token_endpoint_binds_and_checks_the_refresh_key() {
    let app = app(server());
    // With a proof by the refresh token's key: DPoP, bound to that key.
    let client = Client::new(key(1));
    let attempt = prepare(&client, &Method::POST, "/token", None);
    let (status, _, body) = call(&app, request(Method::POST, "/token", attempt.headers())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, format!("DPoP Some(\"{}\")", client.thumbprint()));

    // Another key: 400 invalid_grant, JSON, from dpop-std.
    let other = Client::new(key(2));
    let attempt = prepare(&other, &Method::POST, "/token", None);
    let (status, headers, body) =
        call(&app, request(Method::POST, "/token", attempt.headers())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(headers["content-type"], "application/json");
    assert!(body.contains(r#""error":"invalid_grant""#), "{body}");

    // No proof at all: the grant is bound, so the proof is missing.
    let (status, _, body) = call(&app, request(Method::POST, "/token", &HeaderMap::new())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains(r#""error":"invalid_dpop_proof""#), "{body}");
}

#[tokio::test]
async fn a_token_endpoint_flood_takes_no_capacity_and_resources_keep_working() {
    // The token endpoint's cache holds 16 proofs; the flood sends far more, each from a fresh
    // key (no per-key quota applies), validly signed, with a wrong client secret.
    let token_cache = Arc::new(MemoryReplayCache::with_capacity(16));
    let resource_cache = Arc::new(MemoryReplayCache::with_capacity(1000));
    let app = app_with(
        server(),
        Arc::clone(&resource_cache),
        Arc::clone(&token_cache),
    );
    let capacity = token_cache.capacity();
    let mut resource_calls = 0;
    for i in 0..(u32::try_from(capacity).unwrap() * 3) {
        let mut seed = [9u8; 32];
        seed[..4].copy_from_slice(&i.to_be_bytes());
        let attacker = Client::new(SigningKey::from_bytes(Algorithm::Es256, &seed).unwrap());
        let mut headers = prepare(&attacker, &Method::POST, "/cc", None)
            .headers()
            .clone();
        headers.insert("authorization", "Basic d3Jvbmc6d3Jvbmc=".parse().unwrap());
        let (status, _, _) = call(&app, request(Method::POST, "/cc", &headers)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        // Meanwhile, resource requests with valid proofs keep succeeding.
        if i % 8 == 0 {
            let client = Client::new(key(1));
            let attempt = prepare(&client, &Method::GET, "/me", Some("bound"));
            let (status, _, body) =
                call(&app, request(Method::GET, "/me", attempt.headers())).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            resource_calls += 1;
        }
    }
    // Unauthenticated requests took no token-cache capacity at all ...
    assert_eq!(token_cache.len(), 0);
    // ... so a valid token request succeeds as soon as the flood stops.
    let client = Client::new(key(3));
    let mut headers = prepare(&client, &Method::POST, "/cc", None)
        .headers()
        .clone();
    headers.insert("authorization", CLIENT_AUTH.parse().unwrap());
    let (status, _, body) = call(&app, request(Method::POST, "/cc", &headers)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, format!("Some(\"{}\")", client.thumbprint()));
    assert_eq!(token_cache.len(), 1);
    // The resources' cache holds only the resource proofs.
    assert_eq!(resource_cache.len(), resource_calls);
    let (status, _, _) = call(&app, request(Method::POST, "/cc", &headers)).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the same proof again is a replay"
    );
}

#[tokio::test]
async fn the_token_handler_cannot_use_the_resource_extractor() {
    // The token-endpoint layer gives no `Dpop`: the proof key is reachable only through
    // `DpopToken::check_grant`.
    let app = Router::new()
        .route(
            "/token",
            post(|dpop: Dpop| async move { format!("{:?}", dpop.thumbprint()) }),
        )
        .layer(DpopLayer::token_endpoint(
            server(),
            Arc::new(MemoryReplayCache::with_capacity(8)),
        ));
    let client = Client::new(key(1));
    let attempt = prepare(&client, &Method::POST, "/token", None);
    let (status, _, _) = call(&app, request(Method::POST, "/token", attempt.headers())).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn async_resolvers_and_an_unavailable_token_store() {
    let jkt = key(1).public_jwk().thumbprint();
    async fn store_down(_: String) -> TokenStatus<User> {
        TokenStatus::Unavailable { retry_after: 7 }
    }
    let cache = || Arc::new(MemoryReplayCache::with_capacity(16));
    let down = Router::new()
        .route("/me", get(whoami))
        .layer(DpopLayer::resource(
            server(),
            cache(),
            resolve_async(store_down),
        ));
    let up = Router::new()
        .route("/me", get(whoami))
        .layer(DpopLayer::resource(
            server(),
            cache(),
            resolve_async(move |token: String| async move {
                match token.as_str() {
                    "bound" => TokenStatus::Bound {
                        jkt,
                        claims: User("alice"),
                    },
                    _ => TokenStatus::Invalid("unknown access token"),
                }
            }),
        ));
    let client = Client::new(key(1));
    let attempt = prepare(&client, &Method::GET, "/me", Some("bound"));
    let (status, headers, body) = call(&down, request(Method::GET, "/me", attempt.headers())).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["retry-after"], "7");
    assert!(body.contains("temporarily_unavailable"), "{body}");
    assert!(headers.get("www-authenticate").is_none());
    let (status, _, body) = call(&up, request(Method::GET, "/me", attempt.headers())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.starts_with("alice "), "{body}");
}

#[tokio::test]
async fn nonce_challenge_then_retry_and_fresh_nonces() {
    let nonces = StatelessNonces::new(NonceKey::new(1, [9; 32]));
    let app = app(builder().with_nonces(Arc::new(nonces)).build().unwrap());
    let client = Client::new(key(1));
    let mut attempt = prepare(&client, &Method::GET, "/me", Some("bound"));
    let (status, headers, body) = call(&app, request(Method::GET, "/me", attempt.headers())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.contains_key("dpop-nonce"));
    assert_eq!(
        client.on_response(&mut attempt, status, &headers, body.as_bytes()),
        Outcome::Retry
    );
    let retry = client.retry(&attempt).unwrap();
    let (status, _, body) = call(&app, request(Method::GET, "/me", retry.headers())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn extractor_without_the_layer_is_a_server_error() {
    let app = Router::new().route("/x", get(|_: Dpop| async { "unreachable" }));
    let (status, _, _) = call(&app, request(Method::GET, "/x", &HeaderMap::new())).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn unknown_paths_stay_404_behind_route_layer() {
    let jkt = key(1).public_jwk().thumbprint();
    let app = Router::new()
        .route("/me", get(whoami))
        .route_layer(DpopLayer::resource(
            server(),
            Arc::new(MemoryReplayCache::with_capacity(10)),
            resolver(jkt),
        ));
    let (status, headers, _) = call(&app, request(Method::GET, "/nope", &HeaderMap::new())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(headers.get("www-authenticate").is_none());
    // The layer still guards the route it was added to.
    let (status, headers, _) = call(&app, request(Method::GET, "/me", &HeaderMap::new())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        headers["www-authenticate"],
        r#"DPoP algs="ES256 ES384 ES512""#
    );
}

/// A token endpoint written with `?`: `check_grant`'s error and a dpop-std rejection made in the
/// handler both become their responses, and `TokenReply` is the successful one.
async fn token_with_question_marks(
    headers: HeaderMap,
    dpop: DpopToken,
) -> Result<TokenReply, DpopRejection> {
    if headers.contains_key("x-revoked") {
        return Err(server().reject_token("revoked").into());
    }
    let binding = dpop.check_grant(Grant::Other).await?;
    let body = TokenResponse::new("at-1", binding.token_type(), 300, "read");
    Ok(TokenReply::new(&binding, body))
}

#[tokio::test]
async fn handlers_return_rejections_and_token_replies_as_responses() {
    let app = Router::new()
        .route("/token", post(token_with_question_marks))
        .route_layer(DpopLayer::token_endpoint(
            server(),
            Arc::new(MemoryReplayCache::with_capacity(10)),
        ));
    let client = Client::new(key(1));
    let attempt = prepare(&client, &Method::POST, "/token", None);
    let (status, headers, body) =
        call(&app, request(Method::POST, "/token", attempt.headers())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["cache-control"], "no-store");
    let reply = TokenResponse::from_json(body.as_bytes()).unwrap();
    assert_eq!(reply.access_token, "at-1");
    assert_eq!(reply.token_type, TokenType::Dpop);

    // The same proof again: check_grant's rejection, through `?`.
    let (status, _, body) = call(&app, request(Method::POST, "/token", attempt.headers())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("invalid_dpop_proof"), "{body}");

    // A rejection the handler makes, through `From<Rejection>`.
    let attempt = prepare(&client, &Method::POST, "/token", None);
    let mut headers = attempt.headers().clone();
    headers.insert("x-revoked", "1".parse().unwrap());
    let (status, headers, _) = call(&app, request(Method::POST, "/token", &headers)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains(r#"error="invalid_token", error_description="revoked""#)
    );
}
