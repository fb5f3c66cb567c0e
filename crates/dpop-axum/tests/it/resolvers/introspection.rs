//! `IntrospectionResolver` against a local introspection endpoint that checks the client's
//! authentication and counts the requests.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use dpop_axum::introspection::{ClientAuth, IntrospectionConfigError, IntrospectionResolver};
use dpop_axum::{TokenResolver as _, TokenStatus};
use serde_json::{Value, json};

use super::common::{JKT, now, serve};

const CLIENT_ID: &str = "rs:1";
const SECRET: &str = "s3cret/+ x";

/// The introspection endpoint's answers by token, and its request count.
#[derive(Clone, Default)]
struct Endpoint {
    answers: Arc<Mutex<HashMap<String, Value>>>,
    hits: Arc<AtomicUsize>,
    status: Arc<AtomicU16>,
}

impl Endpoint {
    fn answer(&self, token: &str, body: Value) {
        self.answers.lock().unwrap().insert(token.to_owned(), body);
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Serves it; the endpoint URL.
    async fn start(&self) -> String {
        let state = self.clone();
        let handler = move |headers: HeaderMap, form: axum::Form<HashMap<String, String>>| {
            let state = state.clone();
            async move { state.introspect(&headers, &form.0) }
        };
        let addr =
            serve(axum::Router::new().route("/introspect", axum::routing::post(handler))).await;
        format!("http://{addr}/introspect")
    }

    fn introspect(&self, headers: &HeaderMap, form: &HashMap<String, String>) -> Response {
        self.hits.fetch_add(1, Ordering::SeqCst);
        let status = self.status.load(Ordering::SeqCst);
        if status != 0 {
            return StatusCode::from_u16(status).unwrap().into_response();
        }
        // RFC 6749 section 2.3.1: form-encoded, then Base64: "rs%3A1:s3cret%2F%2B+x".
        let basic = headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned());
        let post = (form.get("client_id"), form.get("client_secret"));
        let authenticated = match (basic.as_deref(), post) {
            (Some("Basic cnMlM0ExOnMzY3JldCUyRiUyQit4"), (None, None)) => true,
            (None, (Some(id), Some(secret))) => id == CLIENT_ID && secret == SECRET,
            _ => false,
        };
        if !authenticated {
            return (StatusCode::UNAUTHORIZED, r#"{"error":"invalid_client"}"#).into_response();
        }
        assert_eq!(
            form.get("token_type_hint").map(String::as_str),
            Some("access_token")
        );
        let token = form.get("token").unwrap();
        let body = self
            .answers
            .lock()
            .unwrap()
            .get(token)
            .cloned()
            .unwrap_or_else(|| json!({"active": false}));
        axum::Json(body).into_response()
    }
}

fn active(extra: &Value) -> Value {
    let mut body = json!({
        "active": true,
        "client_id": "app",
        "scope": "read",
        "sub": "alice",
        "aud": "https://api.example.com",
        "exp": now() + 300,
        "token_type": "DPoP",
        "cnf": {"jkt": JKT},
    });
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            body.as_object_mut().unwrap().remove(k);
        } else {
            body[k] = v.clone();
        }
    }
    body
}

fn invalid<T>(status: &TokenStatus<T>) -> Option<&'static str> {
    match status {
        TokenStatus::Invalid(description) => Some(description),
        _ => None,
    }
}

async fn setup() -> (Endpoint, String) {
    let endpoint = Endpoint::default();
    let url = endpoint.start().await;
    (endpoint, url)
}

#[tokio::test]
async fn both_client_authentication_methods() {
    let (endpoint, url) = setup().await;
    endpoint.answer("t1", active(&json!({})));
    for auth in [ClientAuth::SecretBasic, ClientAuth::SecretPost] {
        let resolver = IntrospectionResolver::builder(&url, CLIENT_ID, SECRET)
            .with_client_auth(auth)
            .build()
            .unwrap();
        let TokenStatus::Bound { jkt, claims } = resolver.resolve("t1").await else {
            panic!("{auth:?}: bound")
        };
        assert_eq!(jkt.to_string(), JKT);
        assert_eq!(claims.subject.as_deref(), Some("alice"));
        assert!(claims.has_scope("read"));
        assert_eq!(claims.token_type.as_deref(), Some("DPoP"));
    }
    // A wrong secret: the server says 401, which is the resource's problem, not the token's.
    let wrong = IntrospectionResolver::builder(&url, CLIENT_ID, "nope")
        .build()
        .unwrap();
    assert!(matches!(
        wrong.resolve("t1").await,
        TokenStatus::Unavailable { retry_after: 5 }
    ));
}

#[tokio::test]
async fn inactive_expired_and_others_are_invalid_and_not_cached() {
    let (endpoint, url) = setup().await;
    let resolver = IntrospectionResolver::builder(&url, CLIENT_ID, SECRET)
        .with_audience("https://api.example.com")
        .build()
        .unwrap();
    let cases = [
        (json!({"active": false}), "inactive access token"),
        (json!({"active": "true"}), "inactive access token"),
        (json!({}), "inactive access token"),
        (active(&json!({"exp": now() - 1})), "access token expired"),
        (
            active(&json!({"nbf": now() + 60})),
            "access token not yet valid",
        ),
        (
            active(&json!({"aud": "https://other.example"})),
            "access token for another audience",
        ),
        (active(&json!({"cnf": null})), "DPoP token without cnf.jkt"),
        (
            active(&json!({"cnf": {"jkt": "short"}})),
            "malformed cnf.jkt",
        ),
    ];
    for (i, (body, description)) in cases.into_iter().enumerate() {
        endpoint.answer("t", body);
        for round in 1..=2 {
            let status = resolver.resolve("t").await;
            assert_eq!(invalid(&status), Some(description), "case {i}");
            assert_eq!(
                endpoint.hits(),
                2 * i + round,
                "case {i}: negative results are not cached"
            );
        }
    }
    // A Bearer token (no cnf, token_type Bearer) is Unbound: the BearerPolicy decides.
    endpoint.answer(
        "bearer",
        active(&json!({"cnf": null, "token_type": "Bearer"})),
    );
    assert!(matches!(
        resolver.resolve("bearer").await,
        TokenStatus::Unbound { .. }
    ));
}

#[tokio::test]
async fn active_results_are_cached_never_past_exp() {
    let (endpoint, url) = setup().await;
    let resolver = IntrospectionResolver::builder(&url, CLIENT_ID, SECRET)
        .build()
        .unwrap();
    endpoint.answer("long", active(&json!({})));
    for _ in 0..3 {
        assert!(matches!(
            resolver.resolve("long").await,
            TokenStatus::Bound { .. }
        ));
    }
    assert_eq!(endpoint.hits(), 1);

    // Expires in 2 s: cached for at most that long, then asked again; the endpoint still says
    // active, but `exp` has passed.
    endpoint.answer("short", active(&json!({"exp": now() + 2})));
    assert!(matches!(
        resolver.resolve("short").await,
        TokenStatus::Bound { .. }
    ));
    assert!(matches!(
        resolver.resolve("short").await,
        TokenStatus::Bound { .. }
    ));
    assert_eq!(endpoint.hits(), 2);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let status = resolver.resolve("short").await;
    assert_eq!(invalid(&status), Some("access token expired"));
    assert_eq!(endpoint.hits(), 3);
}

#[tokio::test]
async fn max_cache_ttl_and_capacity() {
    let (endpoint, url) = setup().await;
    endpoint.answer("a", active(&json!({})));
    endpoint.answer("b", active(&json!({})));
    let resolver = IntrospectionResolver::builder(&url, CLIENT_ID, SECRET)
        .with_max_cache_ttl(Duration::from_millis(300))
        .with_cache_capacity(1)
        .build()
        .unwrap();
    assert!(matches!(
        resolver.resolve("a").await,
        TokenStatus::Bound { .. }
    ));
    assert!(matches!(
        resolver.resolve("a").await,
        TokenStatus::Bound { .. }
    ));
    assert_eq!(endpoint.hits(), 1);
    // The cache is full: "b" is not cached.
    assert!(matches!(
        resolver.resolve("b").await,
        TokenStatus::Bound { .. }
    ));
    assert!(matches!(
        resolver.resolve("b").await,
        TokenStatus::Bound { .. }
    ));
    assert_eq!(endpoint.hits(), 3);
    // A revoked token is accepted until the maximum TTL, then not.
    endpoint.answer("a", json!({"active": false}));
    assert!(matches!(
        resolver.resolve("a").await,
        TokenStatus::Bound { .. }
    ));
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        invalid(&resolver.resolve("a").await),
        Some("inactive access token")
    );
    // The expired entry made room for "b".
    assert!(matches!(
        resolver.resolve("b").await,
        TokenStatus::Bound { .. }
    ));
    let hits = endpoint.hits();
    assert!(matches!(
        resolver.resolve("b").await,
        TokenStatus::Bound { .. }
    ));
    assert_eq!(endpoint.hits(), hits);

    let uncached = IntrospectionResolver::builder(&url, CLIENT_ID, SECRET)
        .with_cache_capacity(0)
        .build()
        .unwrap();
    let hits = endpoint.hits();
    for _ in 0..2 {
        assert!(matches!(
            uncached.resolve("b").await,
            TokenStatus::Bound { .. }
        ));
    }
    assert_eq!(endpoint.hits(), hits + 2);
}

#[tokio::test]
async fn endpoint_failures_are_unavailable() {
    let (endpoint, url) = setup().await;
    endpoint.answer("t", active(&json!({})));
    let resolver = IntrospectionResolver::builder(&url, CLIENT_ID, SECRET)
        .with_retry_after(7)
        .with_max_response_bytes(4096)
        .build()
        .unwrap();
    for status in [500, 503, 404] {
        endpoint.status.store(status, Ordering::SeqCst);
        assert!(matches!(
            resolver.resolve("t").await,
            TokenStatus::Unavailable { retry_after: 7 }
        ));
    }
    endpoint.status.store(0, Ordering::SeqCst);
    // Not JSON, or too large.
    endpoint.answer("t", json!([1, 2]));
    assert!(matches!(
        resolver.resolve("t").await,
        TokenStatus::Unavailable { .. }
    ));
    endpoint.answer("t", active(&json!({"padding": "x".repeat(5000)})));
    assert!(matches!(
        resolver.resolve("t").await,
        TokenStatus::Unavailable { .. }
    ));
    // Nothing listening.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let nobody = IntrospectionResolver::builder(format!("http://{closed}/i"), CLIENT_ID, SECRET)
        .build()
        .unwrap();
    assert!(matches!(
        nobody.resolve("t").await,
        TokenStatus::Unavailable { .. }
    ));
    // A server that never answers: the timeout.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}/i", silent.local_addr().unwrap());
    let slow = IntrospectionResolver::builder(silent_url, CLIENT_ID, SECRET)
        .with_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    assert!(matches!(
        slow.resolve("t").await,
        TokenStatus::Unavailable { .. }
    ));
    drop(silent);
}

#[test]
fn no_secrets_in_debug_and_https_only() {
    let builder = IntrospectionResolver::builder("https://as.example.com/i", CLIENT_ID, SECRET);
    assert!(!format!("{builder:?}").contains(SECRET));
    let resolver = builder.build().unwrap();
    let debug = format!("{resolver:?}");
    assert!(
        debug.contains(CLIENT_ID) && !debug.contains(SECRET),
        "{debug}"
    );
    assert_eq!(
        IntrospectionResolver::builder("http://as.example.com/i", CLIENT_ID, SECRET)
            .build()
            .map(|_| ()),
        Err(IntrospectionConfigError::Endpoint)
    );
}
