//! End-to-end tests of request-level verification on real `http::Request`s: token endpoint,
//! resource, refresh, `dpop_jkt`, downgrade, duplicate headers, replay, nonces, proxies and the
//! exact response formats.

// Test code, as in dpop-core's tests: panicking on a broken fixture is the point, and std is
// available.
#![allow(
    clippy::unwrap_used,
    clippy::unwrap_in_result,
    clippy::indexing_slicing
)]

use std::future::Future;
use std::sync::Arc;

use dpop_core::{
    Algorithm,
    crypto::rustcrypto::{ALL_VERIFIERS, ES256_VERIFIER},
};
use dpop_core::{Limits, SigningKey, Thumbprint, UnixTime, VerifierSettings, VerifyError};
use dpop_std::clock::ManualClock;
use dpop_std::nonce::{NonceKey, NonceSource, StatelessNonces};
use dpop_std::replay::{MemoryReplayCache, ReplayCache, ReplayError, ReplayKey};
use dpop_std::server::{
    Accepted, BearerPolicy, ConfigError, Endpoint, ForwardedHeaders, Grant, Reason, Rejection,
    Scheme, Server, ServerBuilder, TargetError, TokenBinding, UriPolicy,
};
use dpop_std::wire::{ErrorBody, TokenResponse, TokenType};
use dpop_testkit::{NOW, TestProof as P, block_on, jkt, key, request};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderMap, Request, StatusCode};

use crate::common::raw_proof;

const AS_TOKEN: &str = "https://as.example.com/token";
const API: &str = "https://api.example.com/v1/items";
const ALGS: &str = "ES256 ES384 ES512";
const ACCESS_TOKEN: &str = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(UnixTime::from_secs(NOW)))
}

fn builder(uri: UriPolicy, clock: &Arc<ManualClock>) -> ServerBuilder {
    Server::builder(ALL_VERIFIERS, uri).with_clock(clock.clone())
}

fn server(uri: UriPolicy, clock: &Arc<ManualClock>) -> Server {
    builder(uri, clock).build().unwrap()
}

/// A server whose public base URL is `base`.
fn public_server(base: &str, clock: &Arc<ManualClock>) -> Server {
    server(UriPolicy::public_base(base).build().unwrap(), clock)
}

/// A proof of `key` for a `GET` of `url` bound to [`ACCESS_TOKEN`].
fn resource_proof(key: &SigningKey, url: &str, jti: &str) -> String {
    P::new(key, "GET", url, jti).token(ACCESS_TOKEN).build()
}

fn as_builder(clock: &Arc<ManualClock>) -> ServerBuilder {
    builder(
        UriPolicy::public_base("https://as.example.com")
            .build()
            .unwrap(),
        clock,
    )
}

fn as_server(clock: &Arc<ManualClock>) -> Server {
    as_builder(clock).build().unwrap()
}

fn rs_builder(clock: &Arc<ManualClock>) -> ServerBuilder {
    builder(
        UriPolicy::public_base("https://api.example.com")
            .build()
            .unwrap(),
        clock,
    )
}

fn rs_server(clock: &Arc<ManualClock>) -> Server {
    rs_builder(clock).build().unwrap()
}

fn www_authenticate(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// A token request: `POST` to the token endpoint with `proof` in `DPoP`.
fn token_post(proof: &str) -> Request<()> {
    request("POST", AS_TOKEN, &[("dpop", proof)])
}

/// A request with `authorization` (`DPoP <token>` or `Bearer <token>`) and one `DPoP` proof.
fn dpop_request(method: &str, uri: &str, authorization: &str, proof: &str) -> Request<()> {
    request(
        method,
        uri,
        &[("authorization", authorization), ("dpop", proof)],
    )
}

/// A `GET` as a proxy forwards it: origin-form `uri`, the backend's `host`, `authorization` and
/// one `DPoP` proof.
fn proxied_get(uri: &str, host: &str, authorization: &str, proof: &str) -> Request<()> {
    request(
        "GET",
        uri,
        &[
            ("host", host),
            ("authorization", authorization),
            ("dpop", proof),
        ],
    )
}

/// Verifies a resource request end to end (read credentials, then verify with `bound`).
fn resource(
    server: &Server,
    req: &Request<()>,
    bound: Option<&Thumbprint>,
) -> Result<Accepted, Rejection> {
    let credentials = server.resource_request(req)?;
    server.verify_resource(&credentials, bound)
}

/// Both token-endpoint steps, with a fresh token-endpoint cache: verify, then check the grant.
fn token(server: &Server, req: &Request<()>, grant: Grant<'_>) -> Result<TokenBinding, Rejection> {
    let request = server.verify_token_request(req)?;
    let cache = MemoryReplayCache::with_capacity(64);
    block_on(server.check_grant(&cache, request, grant))
}

fn assert_token_error(rejection: &Rejection, code: &str) -> ErrorBody {
    let (status, headers, body) = rejection.to_parts();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{rejection}");
    assert_eq!(headers[CONTENT_TYPE], "application/json");
    assert_eq!(headers[CACHE_CONTROL], "no-store");
    assert!(headers.get(WWW_AUTHENTICATE).is_none());
    let body = ErrorBody::from_json(body.as_bytes()).unwrap();
    assert_eq!(body.error, code);
    assert_eq!(rejection.error_code(), Some(code));
    body
}

fn assert_resource_error(rejection: &Rejection, status: StatusCode, code: &str) -> String {
    let (got_status, headers, body) = rejection.to_parts();
    assert_eq!(got_status, status, "{rejection}");
    assert_eq!(rejection.status(), status);
    assert_eq!(rejection.error_code(), Some(code));
    assert!(body.is_empty());
    let challenges = www_authenticate(&headers);
    assert_eq!(challenges.len(), 1, "{challenges:?}");
    let expected_prefix = format!("DPoP error=\"{code}\", error_description=\"");
    assert!(
        challenges[0].starts_with(&expected_prefix),
        "{}",
        challenges[0]
    );
    assert!(
        challenges[0].ends_with(&format!("\", algs=\"{ALGS}\"")),
        "{}",
        challenges[0]
    );
    challenges[0].clone()
}

// ---------------------------------------------------------------------------------------------
// Token endpoint

#[test]
fn token_request_returns_the_thumbprint_to_bind() {
    let clock = clock();
    let server = as_server(&clock);
    let k = key(7);
    let proof = P::new(&k, "POST", AS_TOKEN, "t-1").build();
    let req = request(
        "POST",
        "/token",
        &[("dpop", &proof), ("host", "10.0.0.1:8080")],
    );
    let verified = server.verify_token_request(&req).unwrap();
    assert!(verified.has_proof());
    assert_eq!(verified.htu(), Some(AS_TOKEN));
    assert!(verified.headers().is_empty());
    // Verification took nothing from the cache: only check_grant consumes.
    let cache = MemoryReplayCache::with_capacity(64);
    let binding = block_on(server.check_grant(&cache, verified, Grant::Other)).unwrap();
    assert_eq!(cache.len(), 1);

    let accepted = binding.accepted();
    assert_eq!(accepted.endpoint(), Endpoint::Token);
    assert_eq!(binding.thumbprint(), Some(&jkt(&k)));
    assert_eq!(binding.token_type(), TokenType::Dpop);
    let proof_info = binding.proof().unwrap();
    assert_eq!(proof_info.id(), "t-1");
    assert_eq!(proof_info.htu(), AS_TOKEN);
    assert_eq!(proof_info.algorithm(), Algorithm::Es256);
    assert_eq!(proof_info.issued_at(), UnixTime::from_secs(NOW));
    // the replay entry outlives the acceptance window: iat + max_age + leeway + 1
    assert_eq!(
        proof_info.replay_expires_at(),
        UnixTime::from_secs(NOW + 300 + 60 + 1)
    );
    assert_eq!(accepted.fresh_nonce(), None);
    assert!(binding.headers().is_empty());

    let cnf = serde_json::to_string(&binding.confirmation().unwrap()).unwrap();
    assert_eq!(cnf, format!(r#"{{"jkt":"{}"}}"#, jkt(&k)));

    let response = TokenResponse::new("at", binding.token_type(), 300, "read");
    let parsed = TokenResponse::from_json(response.to_json().unwrap().as_bytes()).unwrap();
    assert_eq!(parsed, response);
    assert_eq!(parsed.token_type, TokenType::Dpop);
}

#[test]
fn token_request_without_proof_follows_the_bearer_policy() {
    let clock = clock();
    let req = request("POST", "/token", &[]);
    let refused = as_server(&clock).verify_token_request(&req).unwrap_err();
    assert_eq!(refused.reason(), Reason::MissingProof);
    assert_eq!(
        assert_token_error(&refused, "invalid_dpop_proof")
            .error_description
            .unwrap(),
        "missing DPoP proof"
    );

    let allowing = as_builder(&clock)
        .with_bearer(BearerPolicy::Allow)
        .build()
        .unwrap();
    let verified = allowing.verify_token_request(&req).unwrap();
    assert!(!verified.has_proof());
    let cache = MemoryReplayCache::with_capacity(1);
    let binding = block_on(allowing.check_grant(&cache, verified, Grant::Other)).unwrap();
    assert_eq!(binding.token_type(), TokenType::Bearer);
    assert_eq!(binding.thumbprint(), None);
    assert!(cache.is_empty());
}

#[test]
fn refresh_with_the_bound_key_is_accepted_and_with_another_key_refused() {
    let clock = clock();
    let server = as_builder(&clock)
        .with_bearer(BearerPolicy::Allow)
        .build()
        .unwrap();
    let (a, b) = (key(7), key(8));
    let bound = jkt(&a);
    let grant = Grant::RefreshToken {
        bound_key: Some(&bound),
    };

    let same = P::new(&a, "POST", AS_TOKEN, "r-1").build();
    let accepted = token(&server, &token_post(&same), grant).unwrap();
    assert_eq!(accepted.thumbprint(), Some(&bound));

    let other = P::new(&b, "POST", AS_TOKEN, "r-2").build();
    // A refused grant consumes nothing.
    let cache = MemoryReplayCache::with_capacity(4);
    let verified = server.verify_token_request(&token_post(&other)).unwrap();
    assert!(block_on(server.check_grant(&cache, verified, grant)).is_err());
    assert!(cache.is_empty());
    let refused = token(&server, &token_post(&other), grant).unwrap_err();
    assert_eq!(refused.reason(), Reason::RefreshTokenKeyMismatch);
    assert_token_error(&refused, "invalid_grant");

    // a bound refresh token needs a proof even where Bearer is allowed
    let missing = token(&server, &request("POST", AS_TOKEN, &[]), grant).unwrap_err();
    assert_eq!(missing.reason(), Reason::MissingProof);

    // an unbound refresh token (confidential client) may move to a new key
    let unbound = Grant::RefreshToken { bound_key: None };
    let moved = token(&server, &token_post(&other), unbound).unwrap();
    assert_eq!(moved.thumbprint(), Some(&jkt(&b)));
}

#[test]
fn authorization_code_checks_dpop_jkt() {
    let clock = clock();
    let server = as_server(&clock);
    let (a, b) = (key(7), key(8));
    let dpop_jkt = jkt(&a);
    let grant = Grant::AuthorizationCode {
        dpop_jkt: Some(&dpop_jkt),
    };

    let matching = P::new(&a, "POST", AS_TOKEN, "c-1").build();
    let ok = token(&server, &token_post(&matching), grant).unwrap();
    assert_eq!(ok.thumbprint(), Some(&dpop_jkt));

    let other = P::new(&b, "POST", AS_TOKEN, "c-2").build();
    let refused = token(&server, &token_post(&other), grant).unwrap_err();
    assert_eq!(refused.reason(), Reason::AuthorizationCodeKeyMismatch);
    let body = assert_token_error(&refused, "invalid_grant");
    assert_eq!(
        body.error_description.unwrap(),
        "proof key does not match the dpop_jkt of the authorization request"
    );

    // without dpop_jkt any key is bound
    let free = Grant::AuthorizationCode { dpop_jkt: None };
    assert!(token(&server, &token_post(&other), free).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Resource

#[test]
fn the_server_verifies_with_the_settings_it_was_given() {
    let clock = clock();
    let k = key(7);
    let auth = format!("DPoP {ACCESS_TOKEN}");
    let proof_aged = |age: u64, id: &str| {
        let proof = P::new(&k, "GET", API, id)
            .token(ACCESS_TOKEN)
            .iat(NOW - age)
            .build();
        dpop_request("GET", "/v1/items", &auth, &proof)
    };
    // One settings value for a dpop-core verifier and the server: their verifiers agree.
    let settings = VerifierSettings::DEFAULT.with_max_age(10).with_leeway(0);
    let server = rs_builder(&clock)
        .with_verifier_settings(settings)
        .build()
        .unwrap();
    assert_eq!(server.verifier().settings(), settings);
    assert!(resource(&server, &proof_aged(10, "s-1"), Some(&jkt(&k))).is_ok());
    assert_eq!(
        resource(&server, &proof_aged(11, "s-2"), Some(&jkt(&k)))
            .unwrap_err()
            .reason(),
        Reason::Proof(VerifyError::TooOld {
            issued_at: UnixTime::from_secs(NOW - 11),
            now: UnixTime::from_secs(NOW),
            earliest: UnixTime::from_secs(NOW - 10),
        })
    );
    // The one-value setters of the builder set the same settings.
    let by_setters = rs_builder(&clock)
        .with_max_age(10)
        .with_leeway(0)
        .with_limits(Limits::DEVICE)
        .build()
        .unwrap();
    assert_eq!(
        by_setters.verifier().settings(),
        settings.with_limits(Limits::DEVICE)
    );
    assert_eq!(
        rs_server(&clock).verifier().settings(),
        VerifierSettings::DEFAULT
    );
}

#[test]
fn resource_request_with_bound_token_and_ath() {
    let clock = clock();
    let server = rs_server(&clock);
    let k = key(7);
    let bound = jkt(&k);
    let proof = P::new(&k, "GET", API, "g-1").token(ACCESS_TOKEN).build();
    let auth = format!("DPoP {ACCESS_TOKEN}");
    let req = dpop_request("GET", "/v1/items?page=2", &auth, &proof);

    let credentials = server.resource_request(&req).unwrap();
    assert_eq!(credentials.access_token(), ACCESS_TOKEN);
    assert_eq!(credentials.scheme(), TokenType::Dpop);
    assert!(credentials.has_proof());
    let accepted = server.verify_resource(&credentials, Some(&bound)).unwrap();
    assert_eq!(accepted.endpoint(), Endpoint::Resource);
    assert_eq!(accepted.thumbprint(), Some(&bound));
    let cache = MemoryReplayCache::with_capacity(64);
    block_on(server.consume(&cache, &accepted)).unwrap();

    // the scheme is case-insensitive
    let lower = format!("dpop {ACCESS_TOKEN}");
    let proof2 = P::new(&k, "GET", API, "g-2").token(ACCESS_TOKEN).build();
    let req = request(
        "GET",
        "/v1/items",
        &[("authorization", &lower), ("dpop", &proof2)],
    );
    assert!(resource(&server, &req, Some(&bound)).is_ok());
}

#[test]
fn resource_checks_ath_and_key_binding() {
    let clock = clock();
    let server = rs_server(&clock);
    let (a, b) = (key(7), key(8));
    let auth = format!("DPoP {ACCESS_TOKEN}");

    // proof for another token: ath mismatch
    let wrong_ath = P::new(&a, "GET", API, "x-1").token("another-token").build();
    let req = dpop_request("GET", "/v1/items", &auth, &wrong_ath);
    let rejection = resource(&server, &req, Some(&jkt(&a))).unwrap_err();
    assert_eq!(
        rejection.reason(),
        Reason::Proof(VerifyError::Mismatch(dpop_core::Claim::Ath))
    );
    let challenge =
        assert_resource_error(&rejection, StatusCode::UNAUTHORIZED, "invalid_dpop_proof");
    assert_eq!(
        challenge,
        format!(
            "DPoP error=\"invalid_dpop_proof\", error_description=\"ath does not match the request\", algs=\"{ALGS}\""
        )
    );

    // proof without ath
    let no_ath = P::new(&a, "GET", API, "x-2").build();
    let req = dpop_request("GET", "/v1/items", &auth, &no_ath);
    let rejection = resource(&server, &req, Some(&jkt(&a))).unwrap_err();
    assert_eq!(
        rejection.reason(),
        Reason::Proof(VerifyError::Missing(dpop_core::Claim::Ath))
    );

    // token bound to key a, proof signed by key b: invalid_token (RFC 9449 section 7.1)
    let other_key = P::new(&b, "GET", API, "x-3").token(ACCESS_TOKEN).build();
    let req = dpop_request("GET", "/v1/items", &auth, &other_key);
    let rejection = resource(&server, &req, Some(&jkt(&a))).unwrap_err();
    assert_eq!(
        rejection.reason(),
        Reason::Proof(VerifyError::BoundKeyMismatch)
    );
    assert_resource_error(&rejection, StatusCode::UNAUTHORIZED, "invalid_token");

    // wrong method
    let post = P::new(&a, "POST", API, "x-4").token(ACCESS_TOKEN).build();
    let req = dpop_request("GET", "/v1/items", &auth, &post);
    let rejection = resource(&server, &req, Some(&jkt(&a))).unwrap_err();
    assert_eq!(
        rejection.reason(),
        Reason::Proof(VerifyError::Mismatch(dpop_core::Claim::Htm))
    );
    assert_eq!(rejection.expected_htu(), Some(API));
}

#[test]
fn bound_token_sent_as_bearer_is_a_downgrade() {
    let clock = clock();
    let k = key(7);
    let proof = P::new(&k, "GET", API, "d-1").token(ACCESS_TOKEN).build();
    let auth = format!("Bearer {ACCESS_TOKEN}");
    let req = dpop_request("GET", "/v1/items", &auth, &proof);
    for policy in [BearerPolicy::Refuse, BearerPolicy::Allow] {
        let server = rs_builder(&clock).with_bearer(policy).build().unwrap();
        let rejection = resource(&server, &req, Some(&jkt(&k))).unwrap_err();
        assert_eq!(rejection.reason(), Reason::BoundTokenAsBearer);
        assert_eq!(rejection.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(rejection.error_code(), Some("invalid_token"));
    }
}

#[test]
fn dpop_scheme_without_proof_is_refused() {
    let clock = clock();
    let server = rs_server(&clock);
    let auth = format!("DPoP {ACCESS_TOKEN}");
    let req = request("GET", "/v1/items", &[("authorization", &auth)]);
    let rejection = resource(&server, &req, Some(&jkt(&key(7)))).unwrap_err();
    assert_eq!(rejection.reason(), Reason::MissingProof);
    let challenge =
        assert_resource_error(&rejection, StatusCode::UNAUTHORIZED, "invalid_dpop_proof");
    assert_eq!(
        challenge,
        format!(
            "DPoP error=\"invalid_dpop_proof\", error_description=\"missing DPoP proof\", algs=\"{ALGS}\""
        )
    );
}

#[test]
fn dpop_scheme_with_unbound_token_is_invalid_token() {
    let clock = clock();
    let server = rs_builder(&clock)
        .with_bearer(BearerPolicy::Allow)
        .build()
        .unwrap();
    let k = key(7);
    let proof = P::new(&k, "GET", API, "u-1").token(ACCESS_TOKEN).build();
    let auth = format!("DPoP {ACCESS_TOKEN}");
    let req = dpop_request("GET", "/v1/items", &auth, &proof);
    let rejection = resource(&server, &req, None).unwrap_err();
    assert_eq!(rejection.reason(), Reason::UnboundToken);
    assert_eq!(rejection.error_code(), Some("invalid_token"));
    assert_eq!(rejection.status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn plain_bearer_follows_the_policy() {
    let clock = clock();
    let auth = format!("Bearer {ACCESS_TOKEN}");
    let req = request("GET", "/v1/items", &[("authorization", &auth)]);

    let refused = resource(&rs_server(&clock), &req, None).unwrap_err();
    assert_eq!(refused.reason(), Reason::BearerRefused);
    let challenge = assert_resource_error(&refused, StatusCode::UNAUTHORIZED, "invalid_token");
    assert!(challenge.contains("Bearer tokens are not accepted, use DPoP"));

    let server = rs_builder(&clock)
        .with_bearer(BearerPolicy::Allow)
        .build()
        .unwrap();
    let accepted = resource(&server, &req, None).unwrap();
    assert_eq!(accepted.token_type(), TokenType::Bearer);
    assert!(accepted.proof().is_none());
    // a DPoP header next to an unbound Bearer token proves nothing and is ignored
    let proof = P::new(&key(7), "GET", API, "b-1").build();
    let with_proof = dpop_request("GET", "/v1/items", &auth, &proof);
    assert!(
        resource(&server, &with_proof, None)
            .unwrap()
            .proof()
            .is_none()
    );
}

#[test]
fn two_dpop_headers_are_invalid_request_at_both_endpoints() {
    let clock = clock();
    let k = key(7);
    let p1 = P::new(&k, "POST", AS_TOKEN, "m-1").build();
    let p2 = P::new(&k, "POST", AS_TOKEN, "m-2").build();
    let req = request("POST", "/token", &[("dpop", &p1), ("dpop", &p2)]);
    let rejection = as_server(&clock).verify_token_request(&req).unwrap_err();
    assert_eq!(rejection.reason(), Reason::MultipleProofs);
    let body = assert_token_error(&rejection, "invalid_request");
    assert_eq!(body.error_description.unwrap(), "more than one DPoP header");

    let auth = format!("DPoP {ACCESS_TOKEN}");
    let req = request(
        "GET",
        "/v1/items",
        &[("authorization", &auth), ("dpop", &p1), ("dpop", &p2)],
    );
    let rejection = rs_server(&clock).resource_request(&req).unwrap_err();
    assert_eq!(rejection.reason(), Reason::MultipleProofs);
    let challenge = assert_resource_error(&rejection, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(
        challenge,
        format!(
            "DPoP error=\"invalid_request\", error_description=\"more than one DPoP header\", algs=\"{ALGS}\""
        )
    );
}

#[test]
fn two_authorization_headers_are_invalid_request() {
    let clock = clock();
    let auth = format!("DPoP {ACCESS_TOKEN}");
    let req = request(
        "GET",
        "/v1/items",
        &[("authorization", &auth), ("authorization", &auth)],
    );
    let rejection = rs_server(&clock).resource_request(&req).unwrap_err();
    assert_eq!(rejection.reason(), Reason::MultipleAuthorizations);
    assert_resource_error(&rejection, StatusCode::BAD_REQUEST, "invalid_request");

    let proof = P::new(&key(7), "POST", AS_TOKEN, "a-1").build();
    let req = request(
        "POST",
        "/token",
        &[
            ("dpop", &proof),
            ("authorization", "Basic YTpi"),
            ("authorization", "Basic YzpK"),
        ],
    );
    let rejection = as_server(&clock).verify_token_request(&req).unwrap_err();
    assert_eq!(rejection.reason(), Reason::MultipleAuthorizations);
    assert_token_error(&rejection, "invalid_request");
}

/// A credential that is not token68 is a malformed request (RFC 6750 section 3.1
/// `invalid_request`, status 400), not an invalid token: it never reaches token decoding.
#[test]
fn bad_token68_is_invalid_request() {
    let clock = clock();
    let server = rs_server(&clock);
    for auth in [
        "DPoP a,b",
        "DPoP a=b",
        "DPoP",
        "DPoP =",
        "DPoP a\"b",
        "Bearer a b",
        "DPoP tok\\en",
    ] {
        let req = request("GET", "/v1/items", &[("authorization", auth)]);
        let rejection = server.resource_request(&req).unwrap_err();
        assert_eq!(rejection.reason(), Reason::MalformedAuthorization, "{auth}");
        assert_resource_error(&rejection, StatusCode::BAD_REQUEST, "invalid_request");
    }
}

#[test]
fn missing_credentials_get_a_bare_challenge() {
    let clock = clock();
    let req = request("GET", "/v1/items", &[]);
    let rejection = rs_server(&clock).resource_request(&req).unwrap_err();
    assert_eq!(rejection.reason(), Reason::MissingCredentials);
    assert_eq!(rejection.error_code(), None);
    let response = rejection.into_response();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        www_authenticate(response.headers()),
        [format!("DPoP algs=\"{ALGS}\"")]
    );
    assert!(response.body().is_empty());

    // with Bearer allowed, a Bearer challenge too
    let server = rs_builder(&clock)
        .with_bearer(BearerPolicy::Allow)
        .build()
        .unwrap();
    let rejection = server.resource_request(&req).unwrap_err();
    assert_eq!(
        www_authenticate(&rejection.headers()),
        [format!("DPoP algs=\"{ALGS}\""), String::from("Bearer")]
    );
    assert_eq!(server.challenge(), rejection);

    // another scheme is treated as no DPoP/Bearer credentials
    let basic = request(
        "GET",
        "/v1/items",
        &[("authorization", "Basic dXNlcjpwYXNz")],
    );
    let rejection = server.resource_request(&basic).unwrap_err();
    assert_eq!(rejection.reason(), Reason::UnsupportedScheme);
    assert_eq!(rejection.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(rejection.error_code(), None);
}

#[test]
fn www_authenticate_exact_formats() {
    let clock = clock();
    let k = key(7);
    let auth = format!("DPoP {ACCESS_TOKEN}");

    // only the verifier's algorithms are listed, in its order
    static ONLY_ES256: &[&dyn dpop_core::crypto::VerifyAlgorithm] = &[ES256_VERIFIER];
    let narrow = Server::builder(
        ONLY_ES256,
        UriPolicy::public_base("https://api.example.com")
            .build()
            .unwrap(),
    )
    .with_clock(clock.clone())
    .build()
    .unwrap();
    assert_eq!(narrow.algs(), "ES256");
    assert_eq!(
        www_authenticate(&narrow.challenge().headers()),
        ["DPoP algs=\"ES256\""]
    );

    // realm first, Bearer challenge repeating RFC 6750 codes only
    let server = rs_builder(&clock)
        .with_bearer(BearerPolicy::Allow)
        .with_realm("api")
        .build()
        .unwrap();
    let bearer = format!("Bearer {ACCESS_TOKEN}");
    let req = request("GET", "/v1/items", &[("authorization", &bearer)]);
    let rejection = resource(&server, &req, Some(&jkt(&k))).unwrap_err();
    assert_eq!(
        www_authenticate(&rejection.headers()),
        [
            format!(
                "DPoP realm=\"api\", error=\"invalid_token\", error_description=\"DPoP-bound access token presented with the Bearer scheme\", algs=\"{ALGS}\""
            ),
            String::from(
                "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"DPoP-bound access token presented with the Bearer scheme\""
            ),
        ]
    );
    let stale = P::new(&k, "GET", API, "w-1")
        .token(ACCESS_TOKEN)
        .iat(NOW - 1000)
        .build();
    let req = dpop_request("GET", "/v1/items", &auth, &stale);
    let rejection = resource(&server, &req, Some(&jkt(&k))).unwrap_err();
    // time errors carry iat and the server time
    assert_eq!(
        www_authenticate(&rejection.headers()),
        [
            format!(
                "DPoP realm=\"api\", error=\"invalid_dpop_proof\", error_description=\"proof is too old: iat {}, server time {NOW}, earliest accepted {}\", algs=\"{ALGS}\"",
                NOW - 1000,
                NOW - 360
            ),
            String::from("Bearer realm=\"api\""),
        ]
    );
    for bad in ["a\"b", "a\nb"] {
        assert_eq!(
            rs_builder(&clock).with_realm(bad).build().err(),
            Some(ConfigError::InvalidRealm)
        );
    }
}

#[test]
fn caller_token_rejections_use_the_server_challenge() {
    let clock = clock();
    let rejection = rs_server(&clock).reject_token("access token expired");
    assert_eq!(
        www_authenticate(&rejection.headers()),
        [format!(
            "DPoP error=\"invalid_token\", error_description=\"access token expired\", algs=\"{ALGS}\""
        )]
    );
    assert_eq!(rejection.status(), StatusCode::UNAUTHORIZED);
}

// ---------------------------------------------------------------------------------------------
// Replay

#[test]
fn replayed_proof_is_refused() {
    let clock = clock();
    let cache = MemoryReplayCache::with_capacity(1024);

    let server = rs_server(&clock);
    let k = key(7);
    let proof = P::new(&k, "GET", API, "once").token(ACCESS_TOKEN).build();
    let auth = format!("DPoP {ACCESS_TOKEN}");
    let req = dpop_request("GET", "/v1/items", &auth, &proof);
    let first = resource(&server, &req, Some(&jkt(&k))).unwrap();
    block_on(server.consume(&cache, &first)).unwrap();
    // verification is pure: the same proof verifies again; consuming it does not
    let second = resource(&server, &req, Some(&jkt(&k))).unwrap();
    let rejection = block_on(server.consume(&cache, &second)).unwrap_err();
    assert_eq!(rejection.reason(), Reason::Replay(ReplayError::Replayed));
    let challenge =
        assert_resource_error(&rejection, StatusCode::UNAUTHORIZED, "invalid_dpop_proof");
    assert!(challenge.contains("error_description=\"proof was already used\""));

    // the same at the token endpoint: 400 JSON
    let as_ = as_server(&clock);
    let proof = P::new(&k, "POST", AS_TOKEN, "once").build();
    let req = request("POST", "/token", &[("dpop", &proof)]);
    let first = as_.verify_token_request(&req).unwrap();
    let _ = block_on(as_.check_grant(&cache, first, Grant::Other)).unwrap();
    let second = as_.verify_token_request(&req).unwrap();
    let rejection = block_on(as_.check_grant(&cache, second, Grant::Other)).unwrap_err();
    let body = assert_token_error(&rejection, "invalid_dpop_proof");
    assert_eq!(body.error_description.unwrap(), "proof was already used");
}

/// A cache that is down.
struct Down;

impl ReplayCache for Down {
    fn remember(
        &self,
        _: &ReplayKey,
        _: &Thumbprint,
        _: UnixTime,
        _: UnixTime,
    ) -> impl Future<Output = Result<(), ReplayError>> + Send {
        std::future::ready(Err(ReplayError::Unavailable))
    }
}

#[test]
fn replay_cache_failures_fail_closed() {
    let clock = clock();
    let server = rs_server(&clock);
    let k = key(7);
    let auth = format!("DPoP {ACCESS_TOKEN}");
    let accepted = |jti: &str| {
        let proof = P::new(&k, "GET", API, jti).token(ACCESS_TOKEN).build();
        let req = dpop_request("GET", "/v1/items", &auth, &proof);
        resource(&server, &req, Some(&jkt(&k))).unwrap()
    };

    let check = |rejection: Rejection, status: StatusCode| {
        let (got, headers, body) = rejection.to_parts();
        assert_eq!(got, status);
        assert_eq!(rejection.error_code(), Some("temporarily_unavailable"));
        assert!(headers.get(WWW_AUTHENTICATE).is_none());
        assert_eq!(headers[CONTENT_TYPE], "application/json");
        assert_eq!(
            ErrorBody::from_json(body.as_bytes()).unwrap().error,
            "temporarily_unavailable"
        );
    };

    let down = block_on(server.consume(&Down, &accepted("f-1"))).unwrap_err();
    assert_eq!(down.reason(), Reason::Replay(ReplayError::Unavailable));
    check(down, StatusCode::SERVICE_UNAVAILABLE);

    let full = MemoryReplayCache::with_capacity(0);
    let rejection = block_on(server.consume(&full, &accepted("f-2"))).unwrap_err();
    assert_eq!(
        rejection.reason(),
        Reason::Replay(ReplayError::CapacityExceeded)
    );
    check(rejection, StatusCode::SERVICE_UNAVAILABLE);

    let quota = MemoryReplayCache::with_capacity(64).with_quota(1);
    block_on(server.consume(&quota, &accepted("f-3"))).unwrap();
    let rejection = block_on(server.consume(&quota, &accepted("f-4"))).unwrap_err();
    assert_eq!(
        rejection.reason(),
        Reason::Replay(ReplayError::QuotaExceeded)
    );
    check(rejection, StatusCode::TOO_MANY_REQUESTS);
}

// ---------------------------------------------------------------------------------------------
// Nonces

fn nonces() -> Arc<StatelessNonces> {
    Arc::new(
        StatelessNonces::new(NonceKey::new(1, [42; 32]))
            .with_thumbprint_binding(true)
            .with_uri_binding(true),
    )
}

#[test]
fn nonce_challenge_then_retry_succeeds_at_the_resource() {
    let clock = clock();
    let server = rs_builder(&clock).with_nonces(nonces()).build().unwrap();
    let k = key(7);
    let auth = format!("DPoP {ACCESS_TOKEN}");

    let first = P::new(&k, "GET", API, "n-1").token(ACCESS_TOKEN).build();
    let req = dpop_request("GET", "/v1/items", &auth, &first);
    let rejection = resource(&server, &req, Some(&jkt(&k))).unwrap_err();
    assert_eq!(
        rejection.reason(),
        Reason::Proof(VerifyError::NonceRequired)
    );
    let challenge = assert_resource_error(&rejection, StatusCode::UNAUTHORIZED, "use_dpop_nonce");
    assert_eq!(
        challenge,
        format!(
            "DPoP error=\"use_dpop_nonce\", error_description=\"a nonce is required\", algs=\"{ALGS}\""
        )
    );
    let headers = rejection.headers();
    let nonce = headers["dpop-nonce"].to_str().unwrap().to_owned();
    assert_eq!(rejection.nonce(), Some(nonce.as_str()));

    let retry = P::new(&k, "GET", API, "n-2")
        .token(ACCESS_TOKEN)
        .nonce(&nonce)
        .build();
    let req = dpop_request("GET", "/v1/items", &auth, &retry);
    let accepted = resource(&server, &req, Some(&jkt(&k))).unwrap();
    assert_eq!(accepted.proof().unwrap().nonce(), Some(nonce.as_str()));
    assert_eq!(accepted.fresh_nonce(), None);

    // a nonce bound to this key does not work for another key: use_dpop_nonce again
    let other = key(8);
    let stolen = P::new(&other, "GET", API, "n-3")
        .token(ACCESS_TOKEN)
        .nonce(&nonce)
        .build();
    let req = dpop_request("GET", "/v1/items", &auth, &stolen);
    let rejection = resource(&server, &req, Some(&jkt(&other))).unwrap_err();
    assert_eq!(rejection.reason(), Reason::Proof(VerifyError::NonceInvalid));
    assert!(rejection.nonce().is_some());

    // next time step: still valid, but a fresh nonce comes with the success
    clock.advance(60);
    let later = P::new(&k, "GET", API, "n-4")
        .token(ACCESS_TOKEN)
        .nonce(&nonce)
        .iat(NOW + 60)
        .build();
    let req = dpop_request("GET", "/v1/items", &auth, &later);
    let accepted = resource(&server, &req, Some(&jkt(&k))).unwrap();
    let fresh = accepted.fresh_nonce().unwrap().to_owned();
    assert_ne!(fresh, nonce);
    assert_eq!(accepted.headers()["dpop-nonce"], fresh.as_str());

    // stale after the window: use_dpop_nonce with a fresh nonce, which then works
    clock.advance(120);
    let stale = P::new(&k, "GET", API, "n-5")
        .token(ACCESS_TOKEN)
        .nonce(&nonce)
        .iat(NOW + 180)
        .build();
    let req = dpop_request("GET", "/v1/items", &auth, &stale);
    let rejection = resource(&server, &req, Some(&jkt(&k))).unwrap_err();
    assert_eq!(rejection.reason(), Reason::Proof(VerifyError::NonceInvalid));
    let fresh = rejection.nonce().unwrap();
    let retry = P::new(&k, "GET", API, "n-6")
        .token(ACCESS_TOKEN)
        .nonce(fresh)
        .iat(NOW + 180)
        .build();
    let req = dpop_request("GET", "/v1/items", &auth, &retry);
    assert!(resource(&server, &req, Some(&jkt(&k))).is_ok());
}

#[test]
fn nonce_challenge_then_retry_succeeds_at_the_token_endpoint() {
    let clock = clock();
    let source = nonces();
    let server = as_builder(&clock)
        .with_nonces(source.clone())
        .build()
        .unwrap();
    let k = key(7);

    let first = P::new(&k, "POST", AS_TOKEN, "tn-1").build();
    let rejection = server
        .verify_token_request(&request("POST", "/token", &[("dpop", &first)]))
        .unwrap_err();
    let body = assert_token_error(&rejection, "use_dpop_nonce");
    assert_eq!(body.error_description.unwrap(), "a nonce is required");
    let nonce = rejection.into_response().headers()["dpop-nonce"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(source.should_refresh(&nonce, UnixTime::from_secs(NOW + 60)));

    let retry = P::new(&k, "POST", AS_TOKEN, "tn-2").nonce(&nonce).build();
    let accepted = token(
        &server,
        &request("POST", "/token", &[("dpop", &retry)]),
        Grant::Other,
    )
    .unwrap();
    assert_eq!(accepted.thumbprint(), Some(&jkt(&k)));

    // forged nonce: use_dpop_nonce, never echoed
    let forged = P::new(&k, "POST", AS_TOKEN, "tn-3")
        .nonce("forged-nonce")
        .build();
    let rejection = server
        .verify_token_request(&request("POST", "/token", &[("dpop", &forged)]))
        .unwrap_err();
    assert_eq!(rejection.reason(), Reason::Proof(VerifyError::NonceInvalid));
    let (_, headers, body) = rejection.to_parts();
    assert_ne!(headers["dpop-nonce"], "forged-nonce");
    assert!(!body.contains("forged"));
}

#[test]
fn with_nonces_a_wrong_client_clock_succeeds_after_one_nonce_round() {
    let clock = clock();
    let source = nonces();
    let server = as_builder(&clock)
        .with_nonces(source.clone())
        .build()
        .unwrap();
    let cache = MemoryReplayCache::with_capacity(64);
    let k = key(7);
    for (jti, iat) in [("skew-fast", NOW + 90), ("skew-slow", NOW - 1000)] {
        // No nonce and iat outside the window: use_dpop_nonce with a fresh nonce.
        let first = P::new(&k, "POST", AS_TOKEN, jti).iat(iat).build();
        let rejection = server
            .verify_token_request(&request("POST", "/token", &[("dpop", &first)]))
            .unwrap_err();
        assert_token_error(&rejection, "use_dpop_nonce");
        let nonce = rejection.nonce().unwrap().to_owned();
        // With the nonce, the same wrong clock: fresh by the nonce's issue time.
        let retry = P::new(&k, "POST", AS_TOKEN, &format!("{jti}-2"))
            .iat(iat)
            .nonce(&nonce)
            .build();
        let verified = server
            .verify_token_request(&request("POST", "/token", &[("dpop", &retry)]))
            .unwrap();
        let binding = block_on(server.check_grant(&cache, verified, Grant::Other)).unwrap();
        // The replay entry lives as long as the nonce is accepted:
        // max(iat + max_age + leeway, nonce_accepted_until) + 1.
        let nonce_until = source.accepted_until(&nonce).unwrap().as_secs();
        assert_eq!(nonce_until, NOW - NOW % 60 + 119);
        let want = (iat + 360).max(nonce_until) + 1;
        assert_eq!(
            binding.proof().unwrap().replay_expires_at(),
            UnixTime::from_secs(want),
            "{jti}"
        );
        // ... and the proof is refused as a replay until then.
        let again = server
            .verify_token_request(&request("POST", "/token", &[("dpop", &retry)]))
            .unwrap();
        let replayed = block_on(server.check_grant(&cache, again, Grant::Other)).unwrap_err();
        assert_eq!(replayed.reason(), Reason::Replay(ReplayError::Replayed));
    }
    // The slow proof outlives its iat window only through the nonce: at nonce_until it is still
    // accepted by verification, and still remembered by the cache.
    let nonce = source.issue(
        &dpop_std::nonce::NonceRequest::new(UnixTime::from_secs(NOW))
            .with_thumbprint(&jkt(&k))
            .with_htu(AS_TOKEN),
    );
    let slow = P::new(&k, "POST", AS_TOKEN, "slow-late")
        .iat(NOW - 1000)
        .nonce(&nonce)
        .build();
    let until = source.accepted_until(&nonce).unwrap();
    clock.set(until);
    let verified = server
        .verify_token_request(&request("POST", "/token", &[("dpop", &slow)]))
        .unwrap();
    let binding = block_on(server.check_grant(&cache, verified, Grant::Other)).unwrap();
    assert!(binding.proof().unwrap().replay_expires_at() > until);
    clock.set(UnixTime::from_secs(until.as_secs() + 1));
    let stale = server
        .verify_token_request(&request("POST", "/token", &[("dpop", &slow)]))
        .unwrap_err();
    assert_token_error(&stale, "use_dpop_nonce");

    // Without a nonce source nothing changes: a wrong clock is a final invalid_dpop_proof.
    clock.set(UnixTime::from_secs(NOW));
    let plain = as_server(&clock);
    let fast = P::new(&k, "POST", AS_TOKEN, "plain-fast")
        .iat(NOW + 90)
        .build();
    let rejection = plain
        .verify_token_request(&request("POST", "/token", &[("dpop", &fast)]))
        .unwrap_err();
    assert!(matches!(
        rejection.reason(),
        Reason::Proof(VerifyError::IssuedInFuture { .. })
    ));
    assert_token_error(&rejection, "invalid_dpop_proof");
    assert_eq!(rejection.nonce(), None);
}

// ---------------------------------------------------------------------------------------------
// Raw paths

#[test]
fn dot_segments_in_the_raw_path_are_invalid_request_before_the_proof() {
    let clock = clock();
    let as_ = as_server(&clock);
    let rs = rs_server(&clock);
    let auth = format!("DPoP {ACCESS_TOKEN}");
    for path in [
        "/a/./token",
        "/a/../token",
        "/a/%2E/token",
        "/a/%2e/token",
        "/a/%2E%2E/token",
        "/a/%2e%2e/token",
        "/a/.%2E/token",
        "/a/%2e./token",
        "/a/..",
        "/.",
    ] {
        // The proof is not even valid: the path is refused first.
        let req = request("POST", path, &[("dpop", "not-a-proof")]);
        let rejection = as_.verify_token_request(&req).unwrap_err();
        assert_eq!(
            rejection.reason(),
            Reason::Target(TargetError::DotSegment),
            "{path}"
        );
        assert_token_error(&rejection, "invalid_request");

        let req = request(
            "GET",
            path,
            &[("authorization", &auth), ("dpop", "not-a-proof")],
        );
        let rejection = rs.resource_request(&req).unwrap_err();
        assert_eq!(
            rejection.reason(),
            Reason::Target(TargetError::DotSegment),
            "{path}"
        );
        assert_resource_error(&rejection, StatusCode::BAD_REQUEST, "invalid_request");
    }
    // The issue's example: a proof for /b does not verify for /a/%2E%2E/b.
    let k = key(7);
    let proof = resource_proof(&k, "https://api.example.com/b", "dot-1");
    let req = dpop_request("GET", "/a/%2E%2E/b", &auth, &proof);
    assert!(rs.resource_request(&req).is_err());
}

#[test]
fn paths_with_whatwg_characters_verify_in_either_encoding() {
    let clock = clock();
    let rs = rs_server(&clock);
    let k = key(7);
    let auth = format!("DPoP {ACCESS_TOKEN}");
    // A client (browser, Node.js, reqwest) that leaves `|` unencoded, and a server that sees
    // it encoded, or the other way round.
    for (signed, path, jti) in [
        (
            "https://api.example.com/users/auth0|123",
            "/users/auth0%7C123",
            "w-1",
        ),
        (
            "https://api.example.com/users/auth0%7c123",
            "/users/auth0|123",
            "w-2",
        ),
        (
            "https://api.example.com/q/{id}/[x]^`",
            "/q/%7Bid%7D/%5Bx%5D%5E%60",
            "w-3",
        ),
    ] {
        let proof = P::new(&k, "GET", signed, jti).token(ACCESS_TOKEN).build();
        let req = dpop_request("GET", path, &auth, &proof);
        assert!(resource(&rs, &req, Some(&jkt(&k))).is_ok(), "{signed}");
    }
    // dpop-std's own client makes such a proof too.
    let client = dpop_std::client::Client::new(key(7));
    let attempt = client
        .prepare(
            &http::Method::GET,
            "https://api.example.com/users/auth0|123",
            Some(ACCESS_TOKEN),
        )
        .unwrap();
    let mut headers: Vec<(&str, &str)> = Vec::new();
    for (name, value) in attempt.headers() {
        headers.push((name.as_str(), value.to_str().unwrap()));
    }
    let req = request("GET", "/users/auth0|123", &headers);
    // The client signs with the system clock.
    let live = Server::new(
        ALL_VERIFIERS,
        UriPolicy::public_base("https://api.example.com")
            .build()
            .unwrap(),
    );
    assert!(resource(&live, &req, Some(&jkt(&k))).is_ok());
}

#[test]
fn unavailable_token_store_is_503_with_retry_after() {
    let clock = clock();
    let rejection = rs_server(&clock).unavailable(30);
    assert_eq!(
        rejection.reason(),
        Reason::TokenUnavailable { retry_after: 30 }
    );
    let (status, headers, body) = rejection.to_parts();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["retry-after"], "30");
    assert_eq!(headers[CONTENT_TYPE], "application/json");
    assert_eq!(
        ErrorBody::from_json(body.as_bytes()).unwrap().error,
        "temporarily_unavailable"
    );
    assert_ne!(rejection.error_code(), Some("invalid_token"));
}

// ---------------------------------------------------------------------------------------------
// Proxies

#[test]
fn public_base_url_behind_a_proxy_mounted_at_root() {
    let clock = clock();
    let server = public_server("https://api.example.com", &clock);
    let k = key(7);
    let auth = format!("DPoP {ACCESS_TOKEN}");
    // the backend sees the internal URL (absolute-form here, Host header in the next case)
    let public = resource_proof(&k, "https://api.example.com/v1/x", "p-1");
    let req = dpop_request("GET", "http://10.0.0.5:8080/v1/x", &auth, &public);
    assert_eq!(
        server.target_uri(&req).unwrap(),
        "https://api.example.com/v1/x"
    );
    assert!(resource(&server, &req, Some(&jkt(&k))).is_ok());

    let req = proxied_get("/v1/x?q=1", "10.0.0.5:8080", &auth, &public);
    assert!(resource(&server, &req, Some(&jkt(&k))).is_ok());

    // a proof signed for the internal URL does not verify
    let internal = resource_proof(&k, "http://10.0.0.5:8080/v1/x", "p-2");
    let req = dpop_request("GET", "http://10.0.0.5:8080/v1/x", &auth, &internal);
    let rejection = resource(&server, &req, Some(&jkt(&k))).unwrap_err();
    assert_eq!(
        rejection.reason(),
        Reason::Proof(VerifyError::Mismatch(dpop_core::Claim::Htu))
    );
    assert_eq!(
        rejection.expected_htu(),
        Some("https://api.example.com/v1/x")
    );
}

#[test]
fn public_base_url_with_a_path_prefix() {
    let clock = clock();
    let server = public_server("https://example.com/api", &clock);
    let k = key(7);
    let auth = format!("DPoP {ACCESS_TOKEN}");
    let public = resource_proof(&k, "https://example.com/api/v1/x", "pp-1");
    // the proxy strips /api: the backend sees /v1/x
    let req = proxied_get("/v1/x", "backend:9000", &auth, &public);
    assert!(resource(&server, &req, Some(&jkt(&k))).is_ok());

    // a proxy that maps /svc2/* to a backend mounted at /my-api/*
    let rewritten = server_with(
        UriPolicy::public_base("https://example.com/svc2")
            .with_backend_prefix("/my-api")
            .build()
            .unwrap(),
        &clock,
    );
    let proof = resource_proof(&k, "https://example.com/svc2/v1/x", "pp-2");
    let req = dpop_request("GET", "/my-api/v1/x", &auth, &proof);
    assert!(resource(&rewritten, &req, Some(&jkt(&k))).is_ok());
    let outside = dpop_request("GET", "/elsewhere", &auth, &proof);
    let rejection = resource(&rewritten, &outside, Some(&jkt(&k))).unwrap_err();
    assert_eq!(
        rejection.reason(),
        Reason::Target(TargetError::OutsideBackendPrefix)
    );
    assert_resource_error(&rejection, StatusCode::BAD_REQUEST, "invalid_request");
}

fn server_with(uri: UriPolicy, clock: &Arc<ManualClock>) -> Server {
    server(uri, clock)
}

#[test]
fn forwarded_headers_are_ignored_unless_trusted() {
    let clock = clock();
    let k = key(7);
    let auth = format!("DPoP {ACCESS_TOKEN}");
    let proof = resource_proof(&k, "https://api.example.com/x", "f-1");
    let x_forwarded = [
        ("host", "internal:8080"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "api.example.com"),
        ("authorization", auth.as_str()),
        ("dpop", proof.as_str()),
    ];
    let forwarded = [
        ("host", "internal:8080"),
        (
            "forwarded",
            "for=192.0.2.60;proto=https;host=api.example.com",
        ),
        ("authorization", auth.as_str()),
        ("dpop", proof.as_str()),
    ];

    let untrusted = server(
        UriPolicy::from_request(Scheme::Http).build().unwrap(),
        &clock,
    );
    for headers in [&x_forwarded[..], &forwarded[..]] {
        let req = request("GET", "/x", headers);
        assert_eq!(
            untrusted.target_uri(&req).unwrap(),
            "http://internal:8080/x"
        );
        let rejection = resource(&untrusted, &req, Some(&jkt(&k))).unwrap_err();
        assert_eq!(
            rejection.reason(),
            Reason::Proof(VerifyError::Mismatch(dpop_core::Claim::Htu))
        );
    }

    let x_trusted = server(
        UriPolicy::from_trusted_proxy(Scheme::Http, ForwardedHeaders::XForwarded)
            .build()
            .unwrap(),
        &clock,
    );
    let f_trusted = server(
        UriPolicy::from_trusted_proxy(Scheme::Http, ForwardedHeaders::Forwarded)
            .build()
            .unwrap(),
        &clock,
    );
    for (trusted, headers) in [(&x_trusted, &x_forwarded[..]), (&f_trusted, &forwarded[..])] {
        let req = request("GET", "/x", headers);
        assert!(resource(trusted, &req, Some(&jkt(&k))).is_ok());
    }
    // Behind an X-Forwarded-* proxy, a client-sent Forwarded naming another host is not read:
    // a proof for the spoofed host does not verify, one for the real host does.
    let spoofed = resource_proof(&k, "https://evil.example/x", "f-3");
    for (proof, ok) in [(&spoofed, false), (&proof, true)] {
        let headers = [
            ("host", "internal:8080"),
            ("forwarded", "proto=https;host=evil.example"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "api.example.com"),
            ("authorization", auth.as_str()),
            ("dpop", proof.as_str()),
        ];
        let req = request("GET", "/x", &headers);
        assert_eq!(
            x_trusted.target_uri(&req).unwrap(),
            "https://api.example.com/x"
        );
        assert_eq!(resource(&x_trusted, &req, Some(&jkt(&k))).is_ok(), ok);
    }
    let trusted = x_trusted;

    // without forwarded headers the trusted mode falls back to Host and the default scheme
    let direct = resource_proof(&k, "http://internal:8080/x", "f-2");
    let req = proxied_get("/x", "internal:8080", &auth, &direct);
    assert!(resource(&trusted, &req, Some(&jkt(&k))).is_ok());
}

#[test]
fn missing_or_invalid_host_is_a_precise_error() {
    let clock = clock();
    let server = server(
        UriPolicy::from_request(Scheme::Https).build().unwrap(),
        &clock,
    );
    let k = key(7);
    let proof = P::new(&k, "POST", "https://as.example.com/token", "h-1").build();
    for (headers, want) in [
        (vec![("dpop", proof.as_str())], TargetError::MissingHost),
        (
            vec![("dpop", proof.as_str()), ("host", "a"), ("host", "b")],
            TargetError::DuplicateHost,
        ),
        (
            vec![("dpop", proof.as_str()), ("host", "evil.example/token?")],
            TargetError::InvalidHost,
        ),
        (
            vec![("dpop", proof.as_str()), ("host", "a\"b")],
            TargetError::InvalidHost,
        ),
    ] {
        let rejection = server
            .verify_token_request(&request("POST", "/token", &headers))
            .unwrap_err();
        assert_eq!(rejection.reason(), Reason::Target(want));
        let body = assert_token_error(&rejection, "invalid_request");
        assert!(
            body.error_description
                .unwrap()
                .starts_with("cannot determine the request URL: ")
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Header injection

/// Every header value is printable ASCII, has no `"` inside a description, and names no part
/// of the request.
fn assert_clean(headers: &HeaderMap, body: &str) {
    for (name, value) in headers {
        let bytes = value.as_bytes();
        assert!(
            bytes.iter().all(|b| (0x20..0x7f).contains(b)),
            "{name}: {value:?}"
        );
        let text = value.to_str().unwrap();
        assert!(!text.contains("EVIL"), "{name}: {text}");
        if let Some(start) = text.find("error_description=\"") {
            let rest = &text[start + "error_description=\"".len()..];
            let end = rest.find('"').unwrap();
            assert!(!rest[..end].contains(['\\', '\r', '\n']));
        }
    }
    assert!(!body.contains("EVIL"), "{body}");
}

#[test]
fn no_request_bytes_reach_response_headers() {
    let clock = clock();
    let k = key(7);
    let token = ACCESS_TOKEN;
    let ath = dpop_core::AccessTokenHash::of(token).to_string();
    let evil = r#"\"\r\nX-EVIL: 1\r\n\"\\"#; // JSON escapes: quote, CR, LF, backslash
    let payloads = [
        // jti full of quotes and line breaks: the proof verifies; nothing of it is echoed
        format!(r#"{{"jti":"j{evil}","htm":"GET","htu":"{API}","iat":{NOW},"ath":"{ath}"}}"#),
        // htm with line breaks: a mismatch
        format!(r#"{{"jti":"j","htm":"GET{evil}","htu":"{API}","iat":{NOW},"ath":"{ath}"}}"#),
        // htu with line breaks: invalid
        format!(r#"{{"jti":"j","htm":"GET","htu":"{API}{evil}","iat":{NOW},"ath":"{ath}"}}"#),
        // nonce with line breaks, where nonces are required
        format!(
            r#"{{"jti":"j","htm":"GET","htu":"{API}","iat":{NOW},"ath":"{ath}","nonce":"n{evil}"}}"#
        ),
        // ath with line breaks
        format!(r#"{{"jti":"j","htm":"GET","htu":"{API}","iat":{NOW},"ath":"{evil}"}}"#),
        // iat as a string
        format!(r#"{{"jti":"j","htm":"GET","htu":"{API}","iat":"EVIL{evil}"}}"#),
    ];
    let auth = format!("DPoP {token}");
    for with_nonces in [false, true] {
        let mut server = rs_builder(&clock).with_bearer(BearerPolicy::Allow);
        let mut as_ = as_builder(&clock);
        if with_nonces {
            server = server.with_nonces(nonces());
            as_ = as_.with_nonces(nonces());
        }
        let (server, as_) = (server.build().unwrap(), as_.build().unwrap());
        for payload in &payloads {
            let proof = raw_proof(&k, payload);
            let req = dpop_request("GET", "/v1/items", &auth, &proof);
            match resource(&server, &req, Some(&jkt(&k))) {
                Ok(accepted) => assert_clean(&accepted.headers(), ""),
                Err(rejection) => {
                    let (_, headers, body) = rejection.to_parts();
                    assert_clean(&headers, &body);
                }
            }
            let req = request("POST", "/token", &[("dpop", &proof)]);
            if let Err(rejection) = as_.verify_token_request(&req) {
                let (_, headers, body) = rejection.to_parts();
                assert_clean(&headers, &body);
            }
        }
    }
    // a proof header that is not text at all
    let req = Request::builder()
        .uri("/v1/items")
        .header("authorization", &auth)
        .header(
            "dpop",
            http::HeaderValue::from_bytes(b"EVIL\xff\"").unwrap(),
        )
        .body(())
        .unwrap();
    let rejection = resource(&rs_server(&clock), &req, Some(&jkt(&k))).unwrap_err();
    assert_eq!(rejection.reason(), Reason::InvalidProofHeader);
    let (_, headers, body) = rejection.to_parts();
    assert_clean(&headers, &body);
}

#[test]
fn public_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Server>();
    assert_send_sync::<Accepted>();
    assert_send_sync::<dpop_std::server::TokenRequest>();
    assert_send_sync::<TokenBinding>();
    assert_send_sync::<Rejection>();
    assert_send_sync::<UriPolicy>();

    fn assert_send<T: Send>(_: &T) {}
    let clock = clock();
    let server = rs_server(&clock);
    let accepted = resource(
        &rs_builder(&clock)
            .with_bearer(BearerPolicy::Allow)
            .build()
            .unwrap(),
        &request("GET", "/v1/items", &[("authorization", "Bearer x")]),
        None,
    )
    .unwrap();
    let cache = MemoryReplayCache::with_capacity(1);
    let future = server.consume(&cache, &accepted);
    assert_send(&future);
    block_on(future).unwrap();
}
