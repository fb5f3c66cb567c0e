//! Test keys, tokens, and a local server whose answers the tests change as they go.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
};
use base64ct::{Base64, Encoding as _};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// A 2048-bit RSA key in PKCS#1 DER, made for these tests with
/// `openssl genrsa -traditional 2048 | openssl rsa -traditional -outform DER | base64`.
const RSA_PKCS1: &str = "MIIEogIBAAKCAQEAnsngZ2909VS/MZHqrlI8Ark0P4rELKJFDumdlpW10FpOMbfpBr0/dhHvEABtNUsw4xvGy2J3AnKOkF0FWqBUpTuBFB/f9/4HZo2flyNzCyZLxZoh0fKsWJ3+StJ3wTSRhWvPVdry0I+nzNLlQt2jxlvJnqw8bLfaRTbAko2aTpTKnUd7Yep3REu9DZcETDLnY4zUeRunnjGKUcjU+8TLof2uyxhU0/kSoMykS+rVgFH7pBsli0OwxYWKmzZi91RAEj4t5qScP7B+Ajke9MccB+lOXPoLMt/EzFY9xlPxPFR6nbzeGtNV7w3rYr+pChHa3UMkjyE7l4xm7hU75jEqvQIDAQABAoIBAARR29cXuwsewMubIeyXhyA2pDtWtDFX25Ox+xwI7moz8rmhvICqIfGKP/WW+8f94V9KtttHzl+hXzIbnbtfIXGUHCLAhT0y/d+Mp2FOURRmEjY9FBt1w+0hpM5DSiFWI6yJOzNyO+kJmqTuiqPv8XZb5X3Gelq/NUk5wDGcd/l+qF+haylaDIdsI3zXL2VcXy1mF+4Vmhli6uFKtLRllsUpCX6DrnSEVQ4fcTJQBaUoz9bxysoStInqHMarF+0dFyYVtHp/0EnIlVjnb49bsLrhEf7H83to9JkyX9wWXKKJUKWbh8nqIVuaw96IRuj8fb90HU5SJVu0A3RvDoDzaPECgYEA052/fMMGIWoImnkdZ8/9KIZXg072ilwkSpsJ3tzEd8mKBanWHqrOZpRBQdvfxO/rrzp/m7RLBhvRiqoPl0RAWxrOHQmSQRjoBJXQvZUro29rsCnkKD1TBcHEHBwcv+1Y3pcxoqenpXSDfaprOrlWcE2x9fZUmS/cCuU3TxhW9yUCgYEAwBerUWcFYJjR/NWJs7mnuAiar1E9KtfLpiz6FztRQes7Wkd/ySZ7wl5nRREAM4es/HShZFNcZmYud0PVOaDPpzpetijUNrWvK4Pt+mxHXCQoM8Bs2QOlAtl/Now+/HRk7rMF4lkfEnT7DA2SAkz4TmlV4v5dZq4xnzY9D1Xl/bkCgYBP+LqH7K/has/riL/bHpf+e56Q6gNz0FSKuUKmrWm2Fz0I3OElX8l2rKpouC49n6nC4+mbryv3GAY9T/1qXgmwJFYmVRqnbUEpknB7ZOdD8XSR85Lcvigk8dAqC1m2En1WSW8hmBhcB8c1c3TokWggMsyBNmFMLvEKUQtw4bLj3QKBgBuCCDWDBEEeAUwspCiJmJwBF22tu42sE2y7miDDjNJcxkYaYRFEIormC/HXCmlWr44Dga0lRuEfFt5bZ2h2P+ZZtIBvflxLTkd0ABtRcDKgtuUaVDwLipDK5q3ADbEHVgDcwCX2zz1MZTsHonYT4acQ7IyyElwG6/I5ySquCV55AoGAXc5LKZbg2zOmEzchiSqrAVhPiKCWuimEood3xvCxLfByaMGyVfe6O2dUSi4n3FRPYvGBWIz1ySXI1qkGwRWRUXkxBRCZ9EBN9VhF2gei8z+sNCkeM2dzx7CfRNaL403zBUQcCnIQdeGV1G05KieUz80fFqeMFUJrFWwzh6dI8/E=";

/// The RFC 7638 section 3.1 example thumbprint, as a `cnf.jkt`.
pub(crate) const JKT: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

pub(crate) const AUDIENCE: &str = "https://api.example.com";

/// A signing key and its public JWK (with `kid`).
pub(crate) struct TestKey {
    pub(crate) alg: Algorithm,
    pub(crate) kid: String,
    pub(crate) encoding: EncodingKey,
    pub(crate) jwk: Value,
}

impl TestKey {
    pub(crate) fn rsa(alg: Algorithm, kid: &str) -> Self {
        let der = Base64::decode_vec(RSA_PKCS1).unwrap();
        Self::new(alg, kid, EncodingKey::from_rsa_der(&der))
    }

    pub(crate) fn ec(alg: Algorithm, kid: &str) -> Self {
        let signing = match alg {
            Algorithm::ES256 => &ECDSA_P256_SHA256_FIXED_SIGNING,
            Algorithm::ES384 => &ECDSA_P384_SHA384_FIXED_SIGNING,
            _ => unreachable!("an EC algorithm"),
        };
        let pair = EcdsaKeyPair::generate(signing).unwrap();
        let pkcs8 = pair.to_pkcs8v1().unwrap();
        Self::new(alg, kid, EncodingKey::from_ec_der(pkcs8.as_ref()))
    }

    fn new(alg: Algorithm, kid: &str, encoding: EncodingKey) -> Self {
        let mut jwk =
            serde_json::to_value(Jwk::from_encoding_key(&encoding, alg).unwrap()).unwrap();
        jwk["kid"] = kid.into();
        jwk["use"] = "sig".into();
        Self {
            alg,
            kid: kid.to_owned(),
            encoding,
            jwk,
        }
    }

    /// A token with `typ` and these claims.
    pub(crate) fn sign_typ(&self, typ: Option<&str>, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.typ = typ.map(String::from);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }

    /// An `at+jwt` token with these claims.
    pub(crate) fn sign(&self, claims: &Value) -> String {
        self.sign_typ(Some("at+jwt"), claims)
    }
}

pub(crate) fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// Valid RFC 9068 claims from `issuer`, bound to [`JKT`].
pub(crate) fn claims(issuer: &str) -> Value {
    json!({
        "iss": issuer,
        "sub": "alice",
        "aud": AUDIENCE,
        "exp": now() + 300,
        "iat": now(),
        "jti": "t-1",
        "client_id": "app",
        "scope": "read write",
        "cnf": {"jkt": JKT},
    })
}

pub(crate) fn jwks(keys: &[&TestKey]) -> Value {
    json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()})
}

/// What the local server answers, and how often it was asked.
#[derive(Clone, Default)]
pub(crate) struct Answers {
    /// The body of `GET /jwks`.
    pub(crate) jwks: Arc<Mutex<Value>>,
    /// The status of every answer, when not 0.
    pub(crate) status: Arc<AtomicU16>,
    pub(crate) jwks_hits: Arc<AtomicUsize>,
    /// Metadata documents by path.
    pub(crate) metadata: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Answers {
    pub(crate) fn hits(&self) -> usize {
        self.jwks_hits.load(Ordering::SeqCst)
    }

    pub(crate) fn set_status(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }
}

/// Serves `router` on 127.0.0.1; its address.
pub(crate) async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// A JWKS and metadata server; its base URL (the issuer).
pub(crate) async fn jwks_server(answers: &Answers) -> String {
    use axum::http::{StatusCode, Uri};
    use axum::response::{IntoResponse, Response};
    let state = answers.clone();
    let handler = move |uri: Uri| {
        let state = state.clone();
        async move {
            let status = state.status.load(Ordering::SeqCst);
            if uri.path() == "/jwks" {
                state.jwks_hits.fetch_add(1, Ordering::SeqCst);
            }
            if status != 0 {
                return StatusCode::from_u16(status).unwrap().into_response();
            }
            let body = if uri.path() == "/jwks" {
                Some(state.jwks.lock().unwrap().clone())
            } else {
                let metadata = state.metadata.lock().unwrap();
                metadata
                    .iter()
                    .find(|(path, _)| path == uri.path())
                    .map(|(_, v)| v.clone())
            };
            match body {
                Some(body) => Response::builder()
                    .header("content-type", "application/json")
                    .body(axum::body::Body::from(body.to_string()))
                    .unwrap(),
                None => StatusCode::NOT_FOUND.into_response(),
            }
        }
    };
    let addr = serve(axum::Router::new().fallback(handler)).await;
    format!("http://{addr}")
}
