//! A DPoP token endpoint on 127.0.0.1 that issues RFC 9068 JWT access tokens bound to the proof
//! key (client credentials grant, `client_secret_basic`), with the RFC 8414 metadata and the
//! JWKS a resource needs to check them. Pair it with the `jwt_resource` example.
//!
//! ```text
//! cargo run -p dpop-axum --example token_endpoint [-- PORT]     (default 8080)
//! ```
//!
//! The signing key and the client secret are made at start and live in memory only: this is a
//! demonstration, not an authorization server to deploy.

#![allow(
    clippy::unwrap_used,
    reason = "an example: a broken setup should stop it"
)]

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64ct::{Base64, Base64UrlUnpadded, Encoding as _};
use dpop_axum::DpopLayer;
use dpop_axum::DpopToken;
use dpop_core::crypto::rustcrypto::ALL_VERIFIERS;
use dpop_std::replay::MemoryReplayCache;
use dpop_std::server::{Grant, Server, UriPolicy};
use dpop_std::wire::TokenResponse;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;

/// The client this endpoint knows.
const CLIENT_ID: &str = "demo-client";
/// The audience of tokens requested without `resource` (the `jwt_resource` example's URL).
const DEFAULT_RESOURCE: &str = "http://127.0.0.1:8081";
/// Access token lifetime, in seconds.
const LIFETIME: u64 = 300;

struct Issuer {
    url: String,
    key: EncodingKey,
    jwks: String,
    /// `Authorization` header value of the client.
    basic: String,
}

fn random_text(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).unwrap();
    Base64UrlUnpadded::encode_string(&buf)
}

fn oauth_error(status: StatusCode, code: &str) -> Response {
    let body = json!({ "error": code }).to_string();
    (status, [("content-type", "application/json")], body).into_response()
}

async fn token(
    State(issuer): State<Arc<Issuer>>,
    headers: HeaderMap,
    dpop: DpopToken,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    // 1. The client, before anything is consumed. (Compare secrets in constant time in a real
    //    server.)
    if headers
        .get("authorization")
        .is_none_or(|v| v != issuer.basic.as_str())
    {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    // 2. Consume the proof; the binding is the key to put into `cnf.jkt`.
    let binding = match dpop.check_grant(Grant::Other).await {
        Ok(binding) => binding,
        Err(rejection) => return rejection.into_response(),
    };
    let Some(jkt) = binding.thumbprint() else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    };
    // 3. An RFC 9068 access token.
    let now = jsonwebtoken::get_current_timestamp();
    let scope = form.get("scope").map_or("read", String::as_str);
    let audience = form
        .get("resource")
        .map_or(DEFAULT_RESOURCE, String::as_str);
    let claims = json!({
        "iss": issuer.url, "sub": CLIENT_ID, "client_id": CLIENT_ID, "aud": audience,
        "scope": scope, "iat": now, "exp": now + LIFETIME, "jti": random_text(16),
        "cnf": { "jkt": jkt.to_string() },
    });
    let mut header = Header::new(jsonwebtoken::Algorithm::ES256);
    header.typ = Some("at+jwt".into());
    header.kid = Some("k1".into());
    let access_token = jsonwebtoken::encode(&header, &claims, &issuer.key).unwrap();
    println!("issued a token for {audience}, bound to {jkt}");
    TokenResponse::new(access_token, binding.token_type(), LIFETIME, scope)
        .to_response()
        .unwrap()
        .map(Into::into)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match std::env::args().nth(1) {
        Some(port) => port.parse()?,
        None => 8080,
    };
    let url = format!("http://127.0.0.1:{port}");
    let signing = &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING;
    let pkcs8 = aws_lc_rs::signature::EcdsaKeyPair::generate(signing)?.to_pkcs8v1()?;
    let key = EncodingKey::from_ec_der(pkcs8.as_ref());
    let jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&key, jsonwebtoken::Algorithm::ES256)?;
    let mut jwk = serde_json::to_value(jwk)?;
    jwk["kid"] = "k1".into();
    jwk["use"] = "sig".into();
    let secret = random_text(24);
    let basic = format!(
        "Basic {}",
        Base64::encode_string(format!("{CLIENT_ID}:{secret}").as_bytes())
    );
    let issuer = Arc::new(Issuer {
        url: url.clone(),
        key,
        jwks: json!({ "keys": [jwk] }).to_string(),
        basic,
    });
    let metadata = json!({
        "issuer": url,
        "token_endpoint": format!("{url}/token"),
        "jwks_uri": format!("{url}/jwks"),
        "grant_types_supported": ["client_credentials"],
        "dpop_signing_alg_values_supported": ["ES256", "ES384", "ES512"],
    })
    .to_string();

    let server = Server::new(ALL_VERIFIERS, UriPolicy::public_base(&url).build()?);
    let cache = Arc::new(MemoryReplayCache::with_capacity(20_000));
    let jwks_issuer = Arc::clone(&issuer);
    let app = Router::new()
        .route("/token", post(token))
        .route_layer(DpopLayer::token_endpoint(server, cache))
        .route(
            "/.well-known/oauth-authorization-server",
            get(move || async move { metadata }),
        )
        .route(
            "/jwks",
            get(move || async move { jwks_issuer.jwks.clone() }),
        )
        .with_state(issuer);

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("token endpoint: {url}/token (issuer {url}, JWKS {url}/jwks)");
    println!("client id {CLIENT_ID}, secret {secret}\n");
    println!("get a DPoP-bound token (with the dpop command-line tool):");
    println!("  dpop keygen --out key.json");
    println!(
        "  curl -u {CLIENT_ID}:{secret} -d grant_type=client_credentials \\\n    \
         -H \"DPoP: $(dpop proof --key key.json --method POST --url {url}/token)\" {url}/token"
    );
    println!("\nthen call the jwt_resource example with it:");
    println!("  cargo run -p dpop-axum --example jwt_resource --features jwt -- {url}");
    axum::serve(listener, app).await?;
    Ok(())
}
