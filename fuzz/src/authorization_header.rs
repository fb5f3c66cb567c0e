//! `authorization_header`: dpop-std's server reading a request (`server.rs`): the
//! `Authorization` header (`scheme 1*SP token68`), the `DPoP` header, and the `Host`,
//! `Forwarded` and `X-Forwarded-*` headers that give the expected `htu`, from arbitrary request
//! text (see [`crate::http_text`]; the first line is `METHOD request-target`).
//!
//! Two servers read each request: one with a public base URL, DPoP required and no nonces;
//! one behind a trusted `X-Forwarded-*` proxy, Bearer allowed, with stateless nonces and a realm.
//! At the token endpoint, each request is verified, then its grant checked (plain and bound
//! refresh) against a fresh replay cache.
//!
//! - Nothing panics.
//! - An expected `htu` is canonical and a valid claim.
//! - An accepted resource request has a `DPoP` or `Bearer` scheme and a token68 credential;
//!   an accepted proof is for the expected `htu`, and for the bound key when one is required.
//! - Every rejection renders: status 400, 401, 429 or 503; every header value is visible ASCII;
//!   a resource's 401 carries a `DPoP` challenge; a JSON body is an OAuth error body; the
//!   description is at most 256 printable ASCII characters without `"` or `\`.

use std::sync::{Arc, OnceLock};

use dpop_core::{
    Algorithm, TargetUri, Thumbprint, UnixTime, canonicalize_uri, consts::MAX_URI_LEN,
    crypto::rustcrypto::ALL_VERIFIERS,
};
use dpop_std::ManualClock;
use dpop_std::nonce::{NonceKey, StatelessNonces};
use dpop_std::replay::MemoryReplayCache;
use dpop_std::server::{
    Accepted, BearerPolicy, Endpoint, ForwardedHeaders, Grant, Rejection, RequestHead, Scheme,
    Server, UriPolicy,
};
use dpop_std::wire::{ErrorBody, TokenType};
use http::header::WWW_AUTHENTICATE;
use http::{Method, StatusCode, Uri};

use crate::fixtures::{NOW, key};
use crate::http_text;

/// The public base URL of the first server.
pub const PUBLIC_BASE: &str = "https://api.example.com";

fn servers() -> &'static [Server; 2] {
    static SERVERS: OnceLock<[Server; 2]> = OnceLock::new();
    SERVERS.get_or_init(|| {
        let clock = Arc::new(ManualClock::new(UnixTime::from_secs(NOW)));
        let direct = Server::builder(
            ALL_VERIFIERS,
            UriPolicy::public_base(PUBLIC_BASE).build().unwrap(),
        )
        .with_clock(clock.clone())
        .build()
        .unwrap();
        let nonces = StatelessNonces::new(NonceKey::new(1, [7; 32])).with_thumbprint_binding(true);
        let proxied = Server::builder(
            ALL_VERIFIERS,
            UriPolicy::from_trusted_proxy(Scheme::Http, ForwardedHeaders::XForwarded)
                .with_backend_prefix("/backend")
                .build()
                .unwrap(),
        )
        .with_bearer(BearerPolicy::Allow)
        .with_nonces(Arc::new(nonces))
        .with_clock(clock)
        .with_realm("api")
        .build()
        .unwrap();
        [direct, proxied]
    })
}

/// The key tokens are bound to: the fixed ES256 key.
fn bound_key() -> &'static Thumbprint {
    static JKT: OnceLock<Thumbprint> = OnceLock::new();
    JKT.get_or_init(|| key(Algorithm::Es256).public_jwk().thumbprint())
}

/// The target.
pub fn run(data: &[u8]) {
    let _ = accepted(data);
}

/// Runs the target; how many checks accepted the request with a proof.
pub fn accepted(data: &[u8]) -> usize {
    let head = http_text::parse(data);
    let (method, target) = match head.first_line.iter().position(|b| *b == b' ') {
        Some(i) => (&head.first_line[..i], &head.first_line[i + 1..]),
        None => (&b"GET"[..], head.first_line),
    };
    let Ok(method) = Method::from_bytes(method) else {
        return 0;
    };
    let Ok(uri) = Uri::try_from(target) else {
        return 0;
    };
    let request = RequestHead::new(&method, &uri, &head.headers);
    servers().iter().map(|server| check(server, request)).sum()
}

/// Checks one server; returns how many of its checks accepted a proof.
fn check(server: &Server, request: RequestHead<'_>) -> usize {
    let mut proofs = 0;
    let htu = server.target_uri(request);
    if let Ok(htu) = &htu {
        let mut buf = [0u8; MAX_URI_LEN];
        assert_eq!(
            canonicalize_uri(htu, &mut buf),
            Ok(htu.as_str()),
            "htu is canonical"
        );
        assert!(TargetUri::parse_claim(htu).is_ok(), "htu is a valid claim");
    }

    let jkt = bound_key();
    for grant in [
        Grant::Other,
        Grant::RefreshToken {
            bound_key: Some(jkt),
        },
    ] {
        let verified = match server.verify_token_request(request) {
            Ok(verified) => verified,
            Err(rejection) => {
                check_rejection(&rejection);
                continue;
            }
        };
        // A fresh cache per check: replays are not what this target looks for.
        let cache = MemoryReplayCache::with_capacity(4);
        match block_on(server.check_grant(&cache, verified, grant)) {
            Ok(binding) => {
                let accepted = binding.accepted();
                check_accepted(accepted, htu.as_deref().ok(), Endpoint::Token);
                proofs += usize::from(accepted.proof().is_some());
                if let (Grant::RefreshToken { .. }, Some(proof)) = (grant, accepted.proof()) {
                    assert_eq!(proof.thumbprint(), jkt, "bound refresh token, other key");
                }
            }
            Err(rejection) => check_rejection(&rejection),
        }
    }

    let resource = match server.resource_request(request) {
        Ok(resource) => resource,
        Err(rejection) => {
            check_rejection(&rejection);
            return proofs;
        }
    };
    let token = resource.access_token();
    let body = token.trim_end_matches('=');
    assert!(
        !body.is_empty()
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)),
        "credential {token:?} is not token68"
    );
    let authorization = request
        .headers
        .get(http::header::AUTHORIZATION)
        .expect("an accepted resource request has Authorization")
        .to_str()
        .unwrap();
    let scheme = authorization.split(' ').next().unwrap();
    assert_eq!(TokenType::parse(scheme), Ok(resource.scheme()), "scheme");
    assert!(
        authorization.ends_with(token),
        "the credential is the header's"
    );
    for bound in [Some(jkt), None] {
        match server.verify_resource(&resource, bound) {
            Ok(accepted) => {
                check_accepted(&accepted, htu.as_deref().ok(), Endpoint::Resource);
                proofs += usize::from(accepted.proof().is_some());
                match (bound, accepted.proof()) {
                    (Some(jkt), Some(proof)) => {
                        assert_eq!(resource.scheme(), TokenType::Dpop);
                        assert_eq!(proof.thumbprint(), jkt, "bound token, other key");
                    }
                    (None, None) => assert_eq!(resource.scheme(), TokenType::Bearer),
                    (b, p) => panic!("bound {b:?} accepted with proof {p:?}"),
                }
            }
            Err(rejection) => check_rejection(&rejection),
        }
    }
    proofs
}

fn check_accepted(accepted: &Accepted, htu: Option<&str>, endpoint: Endpoint) {
    assert_eq!(accepted.endpoint(), endpoint);
    let headers = accepted.headers();
    for value in headers.values() {
        assert!(
            value.to_str().is_ok(),
            "header value {value:?} is not visible ASCII"
        );
    }
    if let Some(proof) = accepted.proof() {
        assert_eq!(Some(proof.htu()), htu, "proof accepted for another htu");
        assert!(!proof.id().is_empty());
        assert_eq!(accepted.token_type(), TokenType::Dpop);
        assert_eq!(accepted.thumbprint(), Some(proof.thumbprint()));
    } else {
        assert_eq!(accepted.token_type(), TokenType::Bearer);
    }
}

fn check_rejection(rejection: &Rejection) {
    let _ = rejection.reason().name();
    assert!(!rejection.to_string().is_empty());
    let description = rejection.description();
    assert!(description.len() <= 256, "description too long");
    assert!(
        description
            .bytes()
            .all(|b| (0x20..=0x7E).contains(&b) && b != b'"' && b != b'\\'),
        "description {description:?} is not quoted-string safe"
    );
    let (status, headers, body) = rejection.to_parts();
    assert!(
        [
            StatusCode::BAD_REQUEST,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::SERVICE_UNAVAILABLE
        ]
        .contains(&status),
        "status {status}"
    );
    for value in headers.values() {
        assert!(
            value.to_str().is_ok(),
            "header value {value:?} is not visible ASCII"
        );
    }
    if rejection.endpoint() == Endpoint::Resource && status == StatusCode::UNAUTHORIZED {
        assert!(
            headers
                .get_all(WWW_AUTHENTICATE)
                .iter()
                .any(|v| v.to_str().is_ok_and(|s| s.starts_with("DPoP "))),
            "a resource's 401 without a DPoP challenge: {headers:?}"
        );
    }
    if !body.is_empty() {
        let error = ErrorBody::from_json(body.as_bytes()).expect("the body is an OAuth error");
        assert_eq!(
            Some(error.error.as_str()),
            rejection.error_code().or(Some("invalid_request"))
        );
    }
    if let Some(nonce) = rejection.nonce() {
        assert!(
            rejection.is_nonce_challenge(),
            "a nonce without use_dpop_nonce"
        );
        assert!(dpop_core::is_valid_nonce(nonce));
    }
}

/// Polls a future to completion; the in-memory cache is ready at once.
fn block_on<F: core::future::Future>(future: F) -> F::Output {
    let mut future = core::pin::pin!(future);
    let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
    loop {
        if let core::task::Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}
