//! The platform the demo talks to: a sign-in endpoint that issues tokens, a refresh endpoint and
//! two protected resources, built with dpop-axum on dpop-std's verification.
//!
//! This is an example of the library, not a product. Access tokens are `v1.<claims>.<mac>`:
//! base64url JSON claims (`sub`, `org`, `sid`, `exp`, `scope`, and `cnf.jkt` when bound) with
//! an HMAC-SHA256 over them, under a key drawn at start-up. Refresh tokens are random and live
//! in a map. One user exists: [`USER_ID`] in [`ORGANIZATION`], with API key [`API_KEY`].

use core::net::SocketAddr;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::{Mutex, PoisonError};

use axum::Router;
use axum::body::Body;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64ct::{Base64UrlUnpadded, Encoding as _};
use dpop_axum::{Dpop, DpopLayer, DpopToken, TokenStatus};
use dpop_core::{Thumbprint, crypto::rustcrypto::ALL_VERIFIERS};
use dpop_std::nonce::{NonceKey, StatelessNonces};
use dpop_std::replay::MemoryReplayCache;
use dpop_std::server::{BearerPolicy, Grant, Server, TokenBinding, UriPolicy};
use dpop_std::wire::{ErrorBody, TokenResponse};
use dpop_std::{Clock as _, SystemClock};
use hmac::digest::Key;
use hmac::{Hmac, KeyInit as _, Mac as _};
use serde_json::{Value, json};
use sha2::Sha256;

/// The demo organization.
pub(crate) const ORGANIZATION: &str = "acme";
/// The demo user.
pub(crate) const USER_ID: &str = "user-42";
/// The id of the demo user's API key.
pub(crate) const API_KEY_ID: &str = "key-1";
/// The demo user's API key.
pub(crate) const API_KEY: &str = "sk-demo-7f3a9c";
/// Lifetime of access tokens, in seconds.
const ACCESS_TOKEN_LIFETIME: u64 = 300;
/// The scope every token gets.
const SCOPE: &str = "profile:read sessions:read";

/// The server's secrets and refresh tokens.
struct Platform {
    /// Signs access tokens: a full 64-byte HMAC-SHA256 key block.
    token_key: Key<Hmac<Sha256>>,
    /// refresh token -> what it refreshes.
    refresh_tokens: Mutex<HashMap<String, RefreshGrant>>,
}

/// What a refresh token stands for.
#[derive(Clone, Debug)]
struct RefreshGrant {
    user_id: String,
    organization: String,
    session_id: String,
    /// The key the refresh token is bound to (RFC 9449 section 5); `None` for Bearer.
    jkt: Option<Thumbprint>,
}

/// Who is calling, from a valid access token: the claims handlers see.
#[derive(Clone, Debug)]
struct Caller {
    user_id: String,
    organization: String,
    session_id: String,
}

/// The platform's routes on `addr` (the address clients use: it is the public base of `htu`).
///
/// # Errors
///
/// Text when the OS RNG fails or the address is not a valid base URL.
pub(crate) fn router(addr: SocketAddr) -> Result<Router, String> {
    let mut token_key = Key::<Hmac<Sha256>>::default();
    getrandom::fill(token_key.as_mut_slice()).map_err(rng_failed)?;
    let platform = Arc::new(Platform {
        token_key,
        refresh_tokens: Mutex::new(HashMap::new()),
    });
    let base = UriPolicy::public_base(format!("http://{addr}"))
        .build()
        .map_err(|e| e.to_string())?;
    // One replay cache for the token endpoints, another for the resources: a flood of token
    // requests cannot make resource requests fail closed.
    let token_cache = Arc::new(MemoryReplayCache::with_capacity(10_000));
    let cache = Arc::new(MemoryReplayCache::with_capacity(10_000));

    // Token endpoints: a request without a DPoP header gets a Bearer token.
    let token_server = Server::builder(ALL_VERIFIERS, base.clone())
        .with_bearer(BearerPolicy::Allow)
        .build()
        .map_err(|e| e.to_string())?;
    let tokens = Router::new()
        .route(
            "/v1/{organization}/user/signin_with_api_key",
            post(signin_with_api_key),
        )
        .route("/v1/{organization}/user/refresh", post(refresh))
        .route_layer(DpopLayer::token_endpoint(token_server, token_cache));

    // Resources: DPoP-bound tokens only. `/sessions` also requires a server nonce.
    let resolve = {
        let platform = Arc::clone(&platform);
        move |token: &str| platform.resolve(token)
    };
    let profile = Router::new()
        .route("/v1/{organization}/user/profile", get(profile))
        .route_layer(DpopLayer::resource(
            Server::new(ALL_VERIFIERS, base.clone()),
            Arc::clone(&cache),
            resolve.clone(),
        ));
    let mut nonce_secret = [0u8; 32];
    getrandom::fill(&mut nonce_secret).map_err(rng_failed)?;
    let nonces = StatelessNonces::new(NonceKey::new(1, nonce_secret)).with_thumbprint_binding(true);
    let sessions = Router::new()
        .route("/v1/{organization}/user/sessions", get(sessions))
        .route_layer(DpopLayer::resource(
            Server::builder(ALL_VERIFIERS, base)
                .with_nonces(Arc::new(nonces))
                .build()
                .map_err(|e| e.to_string())?,
            cache,
            resolve,
        ));

    Ok(tokens.merge(profile).merge(sessions).with_state(platform))
}

/// `POST /v1/{organization}/user/signin_with_api_key`: `x-api-key`, `x-api-key-id` and
/// `x-user-id` identify the user; the token is bound to the proof's key, if there is a proof.
/// The proof is consumed only once the API key is known to be right.
async fn signin_with_api_key(
    State(platform): State<Arc<Platform>>,
    Path(organization): Path<String>,
    dpop: DpopToken,
    headers: HeaderMap,
) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    // A real platform looks the key up and compares hashes in constant time.
    let known = organization == ORGANIZATION
        && header("x-api-key-id") == Some(API_KEY_ID)
        && header("x-user-id") == Some(USER_ID)
        && header("x-api-key") == Some(API_KEY);
    if !known {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown API key",
        );
    }
    // A new sign-in: no prior key to check.
    let binding = match dpop.check_grant(Grant::Other).await {
        Ok(binding) => binding,
        Err(rejection) => return rejection.into_response(),
    };
    let (Ok(session), Ok(secret)) = (random_text::<9>(), random_text::<24>()) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let grant = RefreshGrant {
        user_id: USER_ID.to_owned(),
        organization,
        session_id: format!("sess-{session}"),
        jkt: binding.thumbprint().copied(),
    };
    let refresh_token = format!("rt-{secret}");
    platform
        .refresh_tokens
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(refresh_token.clone(), grant.clone());
    let response = platform
        .issue(&grant, &binding)
        .with_refresh_token(refresh_token)
        .with_extra("session_id", grant.session_id);
    token_response(&response)
}

/// `POST /v1/{organization}/user/refresh` with `{"refresh_token":"..."}`. The proof must be
/// signed by the key the refresh token is bound to; the refresh token is not rotated.
async fn refresh(
    State(platform): State<Arc<Platform>>,
    Path(organization): Path<String>,
    dpop: DpopToken,
    body: String,
) -> Response {
    let presented = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v.get("refresh_token")?.as_str().map(str::to_owned));
    let grant = presented.and_then(|token| {
        platform
            .refresh_tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&token)
            .cloned()
    });
    let Some(grant) = grant.filter(|g| g.organization == organization) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "unknown refresh token",
        );
    };
    // dpop-std's check and response: 400 invalid_grant for a proof by another key.
    let binding = match dpop
        .check_grant(Grant::RefreshToken {
            bound_key: grant.jkt.as_ref(),
        })
        .await
    {
        Ok(binding) => binding,
        Err(rejection) => return rejection.into_response(),
    };
    // No refresh_token and no session_id in the response: both stay as they are.
    token_response(&platform.issue(&grant, &binding))
}

/// `GET /v1/{organization}/user/profile`.
async fn profile(Extension(caller): Extension<Caller>, dpop: Dpop) -> Response {
    let jkt = dpop.thumbprint().map(ToString::to_string);
    json_response(&json!({
        "user_id": caller.user_id,
        "organization": caller.organization,
        "session_id": caller.session_id,
        "jkt": jkt,
    }))
}

/// `GET /v1/{organization}/user/sessions` (behind a nonce-requiring server).
async fn sessions(Extension(caller): Extension<Caller>) -> Response {
    json_response(&json!({ "sessions": [caller.session_id] }))
}

impl Platform {
    /// A token response for `grant`: `DPoP` and bound when the request had a proof.
    fn issue(&self, grant: &RefreshGrant, binding: &TokenBinding) -> TokenResponse {
        let expires_at = SystemClock::default().now().as_secs() + ACCESS_TOKEN_LIFETIME;
        // A bound grant keeps its key; an unbound one is bound by the proof, if any.
        let jkt = grant.jkt.or_else(|| binding.thumbprint().copied());
        let mut claims = json!({
            "sub": grant.user_id,
            "org": grant.organization,
            "sid": grant.session_id,
            "exp": expires_at,
            "scope": SCOPE,
        });
        if let Some(jkt) = jkt {
            claims["cnf"] = json!({ "jkt": jkt.to_string() });
        }
        let payload = Base64UrlUnpadded::encode_string(claims.to_string().as_bytes());
        let signed = format!("v1.{payload}");
        let mac = Base64UrlUnpadded::encode_string(&self.mac(signed.as_bytes()));
        let token_type = if jkt.is_some() {
            dpop_std::wire::TokenType::Dpop
        } else {
            dpop_std::wire::TokenType::Bearer
        };
        TokenResponse::new(
            format!("{signed}.{mac}"),
            token_type,
            ACCESS_TOKEN_LIFETIME,
            SCOPE,
        )
    }

    /// Checks an access token's MAC and expiry; returns its binding and caller.
    fn resolve(&self, token: &str) -> TokenStatus<Caller> {
        let Some((signed, mac)) = token.rsplit_once('.') else {
            return TokenStatus::Invalid("malformed access token");
        };
        let verified = Base64UrlUnpadded::decode_vec(mac).ok().is_some_and(|mac| {
            let mut check = self.hmac();
            check.update(signed.as_bytes());
            check.verify_slice(&mac).is_ok()
        });
        let claims = signed
            .strip_prefix("v1.")
            .filter(|_| verified)
            .and_then(|payload| Base64UrlUnpadded::decode_vec(payload).ok())
            .and_then(|json| serde_json::from_slice::<Value>(&json).ok());
        let Some(claims) = claims else {
            return TokenStatus::Invalid("invalid access token");
        };
        let text = |name: &str| claims[name].as_str().unwrap_or_default().to_owned();
        if claims["exp"].as_u64().unwrap_or(0) <= SystemClock::default().now().as_secs() {
            return TokenStatus::Invalid("access token expired");
        }
        let caller = Caller {
            user_id: text("sub"),
            organization: text("org"),
            session_id: text("sid"),
        };
        match claims["cnf"]["jkt"]
            .as_str()
            .map(Thumbprint::from_base64url)
        {
            None => TokenStatus::Unbound { claims: caller },
            Some(Ok(jkt)) => TokenStatus::Bound {
                jkt,
                claims: caller,
            },
            Some(Err(_)) => TokenStatus::Invalid("invalid cnf.jkt"),
        }
    }

    fn hmac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new(&self.token_key)
    }

    fn mac(&self, data: &[u8]) -> Vec<u8> {
        let mut mac = self.hmac();
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }
}

fn token_response(response: &TokenResponse) -> Response {
    match response.to_response() {
        Ok(response) => response.map(Body::from),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn json_response(value: &Value) -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = ErrorBody::new(error, Some(description.to_owned()))
        .to_json()
        .unwrap_or_default();
    (
        status,
        [
            (axum::http::header::CONTENT_TYPE, "application/json"),
            (axum::http::header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

fn rng_failed(e: getrandom::Error) -> String {
    format!("the OS random number generator failed: {e}")
}

/// `N` random bytes from the OS CSPRNG, as base64url text.
fn random_text<const N: usize>() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)?;
    Ok(Base64UrlUnpadded::encode_string(&bytes))
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};
    use std::net::TcpStream;

    use super::*;

    /// `GET path` over a new connection: the status and the `WWW-Authenticate` value.
    fn get(addr: SocketAddr, path: &str) -> (u16, Option<String>) {
        let mut stream = TcpStream::connect(addr).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, _) = response.split_once("\r\n\r\n").unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        let challenge = head.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("www-authenticate")
                .then(|| value.trim().to_owned())
        });
        (status, challenge)
    }

    /// The DPoP layers sit on their routes (`route_layer`): an unknown path is 404, and a
    /// protected route without credentials is still 401 with the DPoP challenge.
    #[test]
    fn unknown_paths_are_404_and_protected_routes_401_with_the_challenge() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let app = router(addr).unwrap();
        std::thread::spawn(move || runtime.block_on(axum::serve(listener, app).into_future()));

        for path in [
            "/",
            "/v1/acme/user/unknown",
            "/v1/acme/user/profile/x",
            "/v2/x",
        ] {
            assert_eq!(get(addr, path), (404, None), "{path}");
        }
        for path in ["/v1/acme/user/profile", "/v1/acme/user/sessions"] {
            let (status, challenge) = get(addr, path);
            assert_eq!(status, 401, "{path}");
            let challenge = challenge.unwrap();
            assert!(challenge.starts_with("DPoP "), "{path}: {challenge}");
            assert!(challenge.contains("algs="), "{path}: {challenge}");
        }
    }
}
