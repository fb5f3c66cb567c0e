//! dpop-axum's resolvers against a real authorization server: panva's `oidc-provider`
//! (`npm/oidc-provider.mjs`) on 127.0.0.1 issues DPoP-bound JWT and opaque access tokens with
//! the client credentials grant to a dpop-std `Client`; resources on 127.0.0.1 protected by
//! `JwtResolver` and `IntrospectionResolver` accept them with the bound key only.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::Extension;
use axum::routing::get;
use dpop_axum::introspection::{ClientAuth, IntrospectedToken, IntrospectionResolver};
use dpop_axum::jwt::{AccessTokenClaims, JwtResolver};
use dpop_axum::{Dpop, DpopLayer, TokenResolver};
use dpop_core::Algorithm;
use dpop_core::crypto::rustcrypto::ALL_VERIFIERS;
use dpop_std::client::Client;
use dpop_std::replay::MemoryReplayCache;
use dpop_std::server::{Server, UriPolicy};
use http::Method;
use serde_json::Value;

use crate::node::Node;

const JWT_RS256: &str = "https://jwt.api.example";
const JWT_ES256: &str = "https://es.api.example";
const OPAQUE: &str = "https://opaque.api.example";

/// `node oidc-provider.mjs <port>`, killed on drop.
struct AuthorizationServer {
    child: Child,
    issuer: String,
}

impl AuthorizationServer {
    fn start(node: &Node) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("node")
            .arg("oidc-provider.mjs")
            .arg(port.to_string())
            .current_dir(node.dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        // The first line says it listens; wait for it on a thread, with a deadline.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) else {
            let _ = child.kill();
            panic!("oidc-provider did not start within 60 s");
        };
        let ready: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("oidc-provider printed {line:?}: {e}"));
        let issuer = ready["issuer"].as_str().unwrap().to_owned();
        Self { child, issuer }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for AuthorizationServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A DPoP-bound access token for `resource`, with the client credentials grant and a proof
/// from `client`.
async fn token(http: &reqwest::Client, issuer: &str, client: &Client, resource: &str) -> String {
    let url = format!("{issuer}/token");
    let attempt = client.prepare(&Method::POST, &url, None).unwrap();
    let response = http
        .post(&url)
        .headers(attempt.headers().clone())
        .basic_auth("app", Some("app-secret"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&scope=read&resource={resource}"
        ))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = response.bytes().await.unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    // Refuses a response whose token_type is not DPoP.
    let tokens = client.read_token_response(&body).unwrap();
    tokens.access_token().to_owned()
}

/// A resource at `/data` on 127.0.0.1 behind `resolver`; its base URL.
async fn resource<R>(resolver: R) -> String
where
    R: TokenResolver,
    R::Claims: Subject,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = Server::new(
        ALL_VERIFIERS,
        UriPolicy::public_base(&base).build().unwrap(),
    );
    let cache = Arc::new(MemoryReplayCache::with_capacity(1000));
    let handler = |Extension(claims): Extension<R::Claims>, dpop: Dpop| async move {
        format!("{} {}", claims.subject(), dpop.thumbprint().unwrap())
    };
    let app = Router::new()
        .route("/data", get(handler))
        .layer(DpopLayer::resource(server, cache, resolver));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// What the handler echoes.
trait Subject: Clone + Send + Sync + 'static {
    fn subject(&self) -> String;
}

impl Subject for AccessTokenClaims {
    fn subject(&self) -> String {
        self.client_id.clone().unwrap_or_default()
    }
}

impl Subject for IntrospectedToken {
    fn subject(&self) -> String {
        self.client_id.clone().unwrap_or_default()
    }
}

/// GET `/data` with `token` and a proof from `client` (or as Bearer without one); the status
/// and body.
async fn call(
    http: &reqwest::Client,
    base: &str,
    client: Option<&Client>,
    token: &str,
) -> (u16, String) {
    let url = format!("{base}/data");
    let mut request = http.get(&url);
    match client {
        Some(client) => {
            let attempt = client.prepare(&Method::GET, &url, Some(token)).unwrap();
            request = request.headers(attempt.headers().clone());
        }
        None => request = request.bearer_auth(token),
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// Accepted with the bound key, refused with another key's proof and as Bearer.
async fn bound_only(
    http: &reqwest::Client,
    base: &str,
    alice: &Client,
    mallory: &Client,
    token: &str,
) {
    let jkt = alice.signer().public_jwk().thumbprint();
    let (status, body) = call(http, base, Some(alice), token).await;
    assert_eq!((status, body), (200, format!("app {jkt}")));
    let (status, _) = call(http, base, Some(mallory), token).await;
    assert_eq!(status, 401, "another key's proof");
    let (status, _) = call(http, base, None, token).await;
    assert_eq!(status, 401, "Bearer downgrade");
}

/// A JWKS proxy in front of the authorization server's, counting the fetches; its URL.
async fn counting_jwks(issuer: &str, hits: Arc<AtomicUsize>) -> String {
    let upstream = format!("{issuer}/jwks");
    let handler = move || {
        let upstream = upstream.clone();
        let hits = Arc::clone(&hits);
        async move {
            hits.fetch_add(1, Ordering::SeqCst);
            reqwest::get(&upstream).await.unwrap().text().await.unwrap()
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks", listener.local_addr().unwrap());
    let app = Router::new().route("/jwks", get(handler));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// `token` re-signed with a key the authorization server does not have (`kid` `stranger`).
fn with_unknown_kid(token: &str) -> String {
    use jsonwebtoken::{EncodingKey, Header};
    let claims: Value = jsonwebtoken::dangerous::insecure_decode(token)
        .unwrap()
        .claims;
    let pair = aws_lc_rs::signature::EcdsaKeyPair::generate(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
    )
    .unwrap();
    let key = EncodingKey::from_ec_der(pair.to_pkcs8v1().unwrap().as_ref());
    let mut header = Header::new(jsonwebtoken::Algorithm::ES256);
    header.typ = Some("at+jwt".into());
    header.kid = Some("stranger".into());
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    dpop_skip_node,
    ignore = "Node.js is not installed: sudo apt-get install -y nodejs npm"
)]
async fn resolvers_against_oidc_provider() {
    let Some(node) = Node::find("resolvers_against_oidc_provider") else {
        return;
    };
    let mut authorization_server = AuthorizationServer::start(&node);
    let issuer = authorization_server.issuer.clone();
    let http = reqwest::Client::new();
    let alice = Client::new(dpop_std::keys::generate(Algorithm::Es256).unwrap());
    let mallory = Client::new(dpop_std::keys::generate(Algorithm::Es256).unwrap());

    // RS256 JWT access tokens, keys found through the issuer's metadata.
    let rs256 = JwtResolver::builder(&issuer)
        .with_audience(JWT_RS256)
        .build()
        .unwrap();
    let base = resource(rs256).await;
    let jwt = token(&http, &issuer, &alice, JWT_RS256).await;
    bound_only(&http, &base, &alice, &mallory, &jwt).await;
    // The token of another resource (aud) is refused.
    let es_token = token(&http, &issuer, &alice, JWT_ES256).await;
    let (status, body) = call(&http, &base, Some(&alice), &es_token).await;
    assert_eq!(status, 401, "{body}");

    // ES256 JWT access tokens, the JWKS through a counting proxy: one fetch for known keys,
    // one more for an unknown kid, none for further unknown kids within the interval.
    let hits = Arc::new(AtomicUsize::new(0));
    let jwks_uri = counting_jwks(&issuer, Arc::clone(&hits)).await;
    let es256 = JwtResolver::builder(&issuer)
        .with_audience(JWT_ES256)
        .with_jwks_uri(jwks_uri)
        .with_refresh_interval(Duration::from_secs(60))
        .build()
        .unwrap();
    let base = resource(es256).await;
    bound_only(&http, &base, &alice, &mallory, &es_token).await;
    let again = token(&http, &issuer, &alice, JWT_ES256).await;
    assert_eq!(call(&http, &base, Some(&alice), &again).await.0, 200);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    for _ in 0..3 {
        let forged = with_unknown_kid(&es_token);
        let (status, body) = call(&http, &base, Some(&alice), &forged).await;
        assert_eq!(status, 401, "{body}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 2, "exactly one refetch");

    // Opaque access tokens through introspection, with both client authentication methods.
    for (id, secret, auth) in [
        ("resource-server", "rs-secret", ClientAuth::SecretPost),
        (
            "resource-server-basic",
            "rs-basic-secret",
            ClientAuth::SecretBasic,
        ),
    ] {
        let introspection =
            IntrospectionResolver::builder(format!("{issuer}/token/introspection"), id, secret)
                .with_client_auth(auth)
                .with_audience(OPAQUE)
                .build()
                .unwrap();
        let base = resource(introspection).await;
        let opaque = token(&http, &issuer, &alice, OPAQUE).await;
        bound_only(&http, &base, &alice, &mallory, &opaque).await;
        // Unknown to the server: inactive.
        let (status, _) = call(&http, &base, Some(&alice), "not-a-token").await;
        assert_eq!(status, 401);
    }

    // The introspection endpoint down: 503, not 401.
    let introspection = IntrospectionResolver::builder(
        format!("{issuer}/token/introspection"),
        "resource-server",
        "rs-secret",
    )
    .with_client_auth(ClientAuth::SecretPost)
    .with_timeout(Duration::from_secs(2))
    .build()
    .unwrap();
    let base = resource(introspection).await;
    let opaque = token(&http, &issuer, &alice, OPAQUE).await;
    authorization_server.stop();
    let (status, body) = call(&http, &base, Some(&alice), &opaque).await;
    assert_eq!(status, 503, "{body}");
}
