//! The routes of `dpop serve`: a token endpoint and a resource on dpop-axum, opaque random
//! tokens in memory, and a one-line access log on stderr.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::Arc;
use std::sync::{Mutex, PoisonError};

use axum::Router;
use axum::body::Body;
use axum::extract::{Extension, Request, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64ct::{Base64, Base64UrlUnpadded, Encoding as _};
use dpop_axum::{Dpop, DpopLayer, DpopToken, TokenStatus};
use dpop_core::Thumbprint;
use dpop_core::crypto::rustcrypto::ALL_VERIFIERS;
use dpop_std::nonce::{NonceKey, StatelessNonces};
use dpop_std::replay::MemoryReplayCache;
use dpop_std::server::{BearerPolicy, ConfigError, Grant, Rejection, Server, UriPolicy};
use dpop_std::telemetry::Counters;
use dpop_std::wire::{ErrorBody, TokenResponse, TokenType};
use dpop_std::{Clock as _, SystemClock};
use serde::Serialize;
use serde_json::json;

/// Lifetime of access tokens, in seconds.
const ACCESS_TOKEN_LIFETIME: u64 = 600;
/// The scope every token gets.
const SCOPE: &str = "resource";
/// Longest request path put in a log line.
const MAX_LOGGED_PATH: usize = 200;

/// What `dpop serve` was asked for.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// The public base URL (`htu` base), without a trailing `/`.
    pub(crate) base: String,
    /// Require server nonces.
    pub(crate) nonce: bool,
    /// Allow Bearer.
    pub(crate) bearer: bool,
}

/// Tokens and the client secret.
struct Issuer {
    secret: String,
    access: Mutex<HashMap<String, AccessGrant>>,
    refresh: Mutex<HashMap<String, RefreshGrant>>,
}

/// What an access token stands for; the handler of the resource sees it.
#[derive(Clone, Debug)]
struct AccessGrant {
    client_id: String,
    jkt: Option<Thumbprint>,
    expires_at: u64,
}

/// What a refresh token stands for.
#[derive(Clone, Debug)]
struct RefreshGrant {
    client_id: String,
    /// The key it is bound to; `None` for a Bearer grant.
    jkt: Option<Thumbprint>,
}

/// The decision counters of both endpoints and their replay caches, for `GET /counters`.
struct Stats {
    token: Arc<Counters>,
    resource: Arc<Counters>,
    token_cache: Arc<MemoryReplayCache>,
    resource_cache: Arc<MemoryReplayCache>,
}

/// `GET /counters`: `{"token": snapshot, "resource": snapshot}` (dpop-std's `Snapshot`).
async fn counters(State(stats): State<Arc<Stats>>) -> Response {
    let body = json!({
        "token": stats.token.snapshot_with_cache(&stats.token_cache),
        "resource": stats.resource.snapshot_with_cache(&stats.resource_cache),
    });
    (
        [
            (CONTENT_TYPE, "application/json"),
            (CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// Why a request failed outside DPoP (client authentication, grant), for the access log.
#[derive(Clone, Copy, Debug)]
struct Outcome(&'static str);

/// The routes and the printed client secret.
///
/// # Errors
///
/// Text when the public URL is not a valid base URL or the OS RNG fails.
pub(crate) fn router(config: &Config) -> Result<(Router, String), String> {
    let base = UriPolicy::public_base(&config.base)
        .build()
        .map_err(|e| format!("invalid --public-url '{}': {e}", config.base))?;
    let secret = random_text::<18>()?;
    let issuer = Arc::new(Issuer {
        secret: secret.clone(),
        access: Mutex::new(HashMap::new()),
        refresh: Mutex::new(HashMap::new()),
    });
    let bearer = if config.bearer {
        BearerPolicy::Allow
    } else {
        BearerPolicy::Refuse
    };
    let stats = Arc::new(Stats {
        token: Arc::new(Counters::new()),
        resource: Arc::new(Counters::new()),
        token_cache: Arc::new(MemoryReplayCache::with_capacity(100_000)),
        resource_cache: Arc::new(MemoryReplayCache::with_capacity(100_000)),
    });
    let mut token_server = Server::builder(ALL_VERIFIERS, base.clone())
        .with_bearer(bearer)
        .with_counters(Arc::clone(&stats.token));
    let mut resource_server = Server::builder(ALL_VERIFIERS, base)
        .with_bearer(bearer)
        .with_counters(Arc::clone(&stats.resource));
    if config.nonce {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| format!("the OS RNG failed: {e}"))?;
        let nonces =
            Arc::new(StatelessNonces::new(NonceKey::new(1, key)).with_thumbprint_binding(true));
        token_server = token_server.with_nonces(nonces.clone());
        resource_server = resource_server.with_nonces(nonces);
    }
    let invalid = |e: ConfigError| format!("invalid server settings: {e}");
    let (token_server, resource_server) = (
        token_server.build().map_err(invalid)?,
        resource_server.build().map_err(invalid)?,
    );
    // Separate replay caches: a flood of token requests cannot fail the resource closed.
    let tokens = Router::new()
        .route("/token", post(token))
        .route_layer(DpopLayer::token_endpoint(
            token_server,
            Arc::clone(&stats.token_cache),
        ));
    let resolve = {
        let issuer = Arc::clone(&issuer);
        move |token: &str| issuer.resolve(token)
    };
    let resource = Router::new()
        .route("/resource", get(resource).post(resource))
        .route_layer(DpopLayer::resource(
            resource_server,
            Arc::clone(&stats.resource_cache),
            resolve,
        ));
    let counters = Router::new()
        .route("/counters", get(counters))
        .with_state(stats);
    let router = tokens
        .merge(resource)
        .with_state(issuer)
        .merge(counters)
        .layer(middleware::from_fn(access_log));
    Ok((router, secret))
}

/// One line per request on stderr: `METHOD PATH STATUS accepted|rejected reason=NAME ...`.
async fn access_log(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path: String = request.uri().path().chars().take(MAX_LOGGED_PATH).collect();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let line = if let Some(rejection) = response.extensions().get::<Rejection>() {
        let mut line = format!(
            "{method} {path} {status} rejected reason={}",
            rejection.reason().name()
        );
        if let Some(code) = rejection.error_code() {
            line.push_str(&format!(" error={code}"));
        }
        if let Some(htu) = rejection.expected_htu() {
            line.push_str(&format!(" expected_htu={htu}"));
        }
        line.push_str(&format!(" description=\"{}\"", rejection.description()));
        line
    } else if let Some(Outcome(reason)) = response.extensions().get::<Outcome>() {
        format!("{method} {path} {status} rejected reason={reason}")
    } else if response.status().is_success() {
        format!("{method} {path} {status} accepted")
    } else {
        format!("{method} {path} {status} rejected reason=not_found")
    };
    // Nothing sensible is left to do if stderr itself is gone.
    let _ = writeln!(std::io::stderr().lock(), "dpop serve: {line}");
    response
}

/// `POST /token`: client authentication first, then the grant, then DPoP's `check_grant`
/// (which consumes the proof), then the tokens.
async fn token(
    State(issuer): State<Arc<Issuer>>,
    headers: HeaderMap,
    dpop: DpopToken,
    body: String,
) -> Response {
    let form = Form(parse_form(&body));
    let param = |name: &str| form.one(name);
    let Ok(client) = authenticate(&issuer, &headers, &form) else {
        let basic = headers.contains_key(AUTHORIZATION);
        return client_error(basic);
    };
    let Ok(Some(grant_type)) = param("grant_type") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "exactly one grant_type is required",
        );
    };
    let (grant, refresh) = match grant_type {
        "client_credentials" => (None, None),
        "refresh_token" => {
            let presented = param("refresh_token").ok().flatten().unwrap_or_default();
            let found = issuer
                .refresh
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(presented)
                .cloned();
            match found.filter(|g| g.client_id == client) {
                Some(grant) => (Some(grant), Some(presented.to_owned())),
                None => {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "unknown refresh token",
                    );
                }
            }
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only client_credentials and refresh_token",
            );
        }
    };
    let check = match &grant {
        None => Grant::Other,
        Some(grant) => Grant::RefreshToken {
            bound_key: grant.jkt.as_ref(),
        },
    };
    let binding = match dpop.check_grant(check).await {
        Ok(binding) => binding,
        Err(rejection) => return rejection.into_response(),
    };
    // A bound grant keeps its key; a new one is bound to the proof's key, if any.
    let jkt = grant
        .as_ref()
        .map_or_else(|| binding.thumbprint().copied(), |g| g.jkt);
    let Ok(access_token) = random_text::<32>() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    issuer
        .access
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(
            access_token.clone(),
            AccessGrant {
                client_id: client.clone(),
                jkt,
                expires_at: now() + ACCESS_TOKEN_LIFETIME,
            },
        );
    let token_type = if jkt.is_some() {
        TokenType::Dpop
    } else {
        TokenType::Bearer
    };
    let mut response = TokenResponse::new(access_token, token_type, ACCESS_TOKEN_LIFETIME, SCOPE);
    // Refresh tokens are bound to the same key and not rotated (RFC 9449 section 5).
    let refresh_token = match refresh {
        Some(token) => token,
        None => {
            let Ok(token) = random_text::<32>() else {
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            };
            issuer
                .refresh
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(
                    token.clone(),
                    RefreshGrant {
                        client_id: client,
                        jkt,
                    },
                );
            token
        }
    };
    response = response.with_refresh_token(refresh_token);
    let mut out = match response.to_response() {
        Ok(out) => out.map(Body::from),
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    binding.insert_headers(out.headers_mut());
    out
}

/// The body of `GET /resource`, members in this order.
#[derive(Debug, Serialize)]
struct Verified {
    verified: bool,
    client_id: String,
    token_type: String,
    /// The access token's `cnf.jkt`.
    token_bound_to: Option<String>,
    proof: Option<VerifiedProof>,
}

/// What the proof said, verified.
#[derive(Debug, Serialize)]
struct VerifiedProof {
    jkt: String,
    alg: &'static str,
    jti: String,
    iat: u64,
    htm: String,
    htu: String,
    nonce_used: bool,
}

/// `GET /resource`: what was verified, as JSON.
async fn resource(
    method: Method,
    Extension(grant): Extension<AccessGrant>,
    dpop: Dpop,
) -> Response {
    let proof = dpop.proof().map(|proof| VerifiedProof {
        jkt: proof.thumbprint().to_string(),
        alg: proof.algorithm().name(),
        jti: proof.id().to_owned(),
        iat: proof.issued_at().as_secs(),
        htm: method.as_str().to_owned(),
        htu: proof.htu().to_owned(),
        nonce_used: proof.nonce().is_some(),
    });
    let body = Verified {
        verified: true,
        client_id: grant.client_id,
        token_type: dpop.token_type().to_string(),
        token_bound_to: grant.jkt.map(|jkt| jkt.to_string()),
        proof,
    };
    let Ok(body) = serde_json::to_string(&body) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    (
        [
            (CONTENT_TYPE, "application/json"),
            (CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

impl Issuer {
    fn resolve(&self, token: &str) -> TokenStatus<AccessGrant> {
        let grant = self
            .access
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(token)
            .cloned();
        match grant {
            None => TokenStatus::Invalid("unknown access token"),
            Some(grant) if grant.expires_at <= now() => {
                TokenStatus::Invalid("access token expired")
            }
            Some(grant) => match grant.jkt {
                Some(jkt) => TokenStatus::Bound { jkt, claims: grant },
                None => TokenStatus::Unbound { claims: grant },
            },
        }
    }
}

/// The client id, authenticated with exactly one method: `client_secret_basic` (RFC 6749
/// section 2.3.1, form-encoded id and secret in `Authorization: Basic`) or
/// `client_secret_post` (`client_id` and `client_secret` in the body).
fn authenticate(issuer: &Issuer, headers: &HeaderMap, form: &Form) -> Result<String, ()> {
    let param = |name: &str| form.one(name);
    let posted_secret = param("client_secret")?;
    let (client_id, secret) = match headers.get(AUTHORIZATION) {
        Some(value) => {
            if posted_secret.is_some() || headers.get_all(AUTHORIZATION).iter().count() > 1 {
                return Err(());
            }
            let encoded = value
                .to_str()
                .ok()
                .and_then(|v| {
                    v.strip_prefix("Basic ")
                        .or_else(|| v.strip_prefix("basic "))
                })
                .ok_or(())?;
            let decoded = Base64::decode_vec(encoded.trim()).map_err(|_| ())?;
            let decoded = String::from_utf8(decoded).map_err(|_| ())?;
            let (id, secret) = decoded.split_once(':').ok_or(())?;
            let id = percent_decode(id).ok_or(())?;
            if param("client_id")?.is_some_and(|posted| posted != id) {
                return Err(());
            }
            (id, percent_decode(secret).ok_or(())?)
        }
        None => (
            param("client_id")?.ok_or(())?.to_owned(),
            posted_secret.ok_or(())?.to_owned(),
        ),
    };
    if client_id.is_empty() || !constant_time_eq(secret.as_bytes(), issuer.secret.as_bytes()) {
        return Err(());
    }
    Ok(client_id)
}

/// `401 invalid_client` (RFC 6749 section 5.2), with a Basic challenge when Basic was tried.
fn client_error(basic: bool) -> Response {
    let mut response = oauth_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "client authentication failed",
    );
    if basic {
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Basic realm=\"dpop serve\""),
        );
    }
    response
}

fn oauth_error(status: StatusCode, error: &'static str, description: &str) -> Response {
    let body = ErrorBody::new(error, Some(description.to_owned()))
        .to_json()
        .unwrap_or_default();
    let mut response = (
        status,
        [
            (CONTENT_TYPE, "application/json"),
            (CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response();
    response.extensions_mut().insert(Outcome(error));
    response
}

/// The parameters of a token request.
struct Form(Vec<(String, String)>);

impl Form {
    /// The value of `name`; an error when it is repeated (RFC 6749 section 3.2: parameters
    /// must not be included more than once).
    fn one(&self, name: &str) -> Result<Option<&str>, ()> {
        let mut values = self
            .0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        match (values.next(), values.next()) {
            (value, None) => Ok(value),
            (Some(_), Some(_)) | (None, Some(_)) => Err(()),
        }
    }
}

/// `application/x-www-form-urlencoded` pairs; undecodable pairs are dropped.
fn parse_form(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .filter(|pair| !pair.is_empty())
        .filter_map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Some((percent_decode(name)?, percent_decode(value)?))
        })
        .collect()
}

/// Decodes `+` and `%XX`; `None` for a bad escape or bytes that are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = [bytes.next()?, bytes.next()?];
                let hex = core::str::from_utf8(&hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
            }
            _ => out.push(b),
        }
    }
    String::from_utf8(out).ok()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn now() -> u64 {
    SystemClock::default().now().as_secs()
}

/// `N` random bytes from the OS CSPRNG, as base64url text.
fn random_text<const N: usize>() -> Result<String, String> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| format!("the OS RNG failed: {e}"))?;
    Ok(Base64UrlUnpadded::encode_string(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_and_percent_escapes() {
        assert_eq!(
            parse_form("grant_type=client_credentials&client_id=a%20b+c&x"),
            [
                ("grant_type".to_owned(), "client_credentials".to_owned()),
                ("client_id".to_owned(), "a b c".to_owned()),
                ("x".to_owned(), String::new()),
            ]
        );
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%4"), None);
        assert_eq!(percent_decode("%C3%A9"), Some("é".to_owned()));
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
