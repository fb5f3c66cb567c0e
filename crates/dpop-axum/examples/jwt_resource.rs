//! A resource server on 127.0.0.1 that accepts DPoP-bound JWT access tokens (RFC 9068) from an
//! authorization server: keys from the issuer's metadata and JWKS, binding from `cnf.jkt`.
//!
//! ```text
//! cargo run -p dpop-axum --example jwt_resource --features jwt -- ISSUER [AUDIENCE] [PORT]
//! ```
//!
//! `ISSUER` is the authorization server's issuer URL (the `token_endpoint` example's is
//! `http://127.0.0.1:8080`); `AUDIENCE` is this resource's identifier in the tokens (default
//! its own URL, `http://127.0.0.1:PORT`); `PORT` defaults to 8081.

use std::sync::Arc;

use axum::Router;
use axum::extract::Extension;
use axum::routing::get;
use dpop_axum::jwt::{AccessTokenClaims, JwtResolver};
use dpop_axum::{Dpop, DpopLayer};
use dpop_core::crypto::rustcrypto::ALL_VERIFIERS;
use dpop_std::replay::MemoryReplayCache;
use dpop_std::server::{Server, UriPolicy};

async fn me(Extension(token): Extension<AccessTokenClaims>, dpop: Dpop) -> String {
    let key = dpop
        .thumbprint()
        .map_or_else(|| "none".to_owned(), ToString::to_string);
    format!(
        "hello {}: scope {:?}, token bound to key {key}, expires at {}\n",
        token.subject.as_deref().unwrap_or("(no sub)"),
        token.scope.as_deref().unwrap_or(""),
        token.expires_at,
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let Some(issuer) = args.next() else {
        eprintln!("usage: jwt_resource ISSUER [AUDIENCE] [PORT]");
        eprintln!("  e.g. jwt_resource http://127.0.0.1:8080 (the token_endpoint example)");
        std::process::exit(2);
    };
    let audience = args.next();
    let port: u16 = match args.next() {
        Some(port) => port.parse()?,
        None => 8081,
    };
    let base = format!("http://127.0.0.1:{port}");
    let audience = audience.unwrap_or_else(|| base.clone());

    let tokens = JwtResolver::builder(&issuer)
        .with_audience(&audience)
        .build()?;
    // Behind a proxy, this is the public URL clients sign (`htu`).
    let server = Server::new(ALL_VERIFIERS, UriPolicy::public_base(&base).build()?);
    let cache = Arc::new(MemoryReplayCache::with_capacity(100_000));
    let app = Router::new()
        .route("/me", get(me))
        .route_layer(DpopLayer::resource(server, cache, tokens));

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("resource: GET {base}/me, tokens from {issuer} for audience {audience}");
    println!("call it with a token (AT) bound to key.json:");
    println!(
        "  curl -H \"Authorization: DPoP $AT\" \\\n    \
         -H \"DPoP: $(DPOP_ACCESS_TOKEN=$AT dpop proof --key key.json --method GET --url {base}/me)\" \
         {base}/me"
    );
    axum::serve(listener, app).await?;
    Ok(())
}
