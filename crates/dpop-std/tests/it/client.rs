//! The sans-IO client: nonce challenges, retries, the nonce cache, clock offset, keys and
//! token responses.

// Test code: panicking on a broken fixture is the point, and std is available.
#![allow(
    clippy::unwrap_used,
    clippy::unwrap_in_result,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use dpop_core::{
    Algorithm, Claim, Expected, HttpMethod, SigningKey, TargetUri, UnixTime, Verifier, VerifyError,
    crypto::rustcrypto::ALL_VERIFIERS,
};
use dpop_std::client::{
    Attempt, Client, ClientError, DEFAULT_NONCE_CAPACITY, NoRetry, Outcome, TokenBindingError,
    TokenError, TokenSet,
};
use dpop_std::clock::ManualClock;
use dpop_std::keys::{self, KeyFileError};
use dpop_std::wire::{Member, MemberProblem, TokenResponse, TokenType};
use http::{HeaderMap, HeaderValue, Method, StatusCode};

const NOW: u64 = 1_700_000_000;
const RS: &str = "https://api.example.com/v1/items";
const AS: &str = "https://as.example.com/token";
const NONCE_1: &str = "nonce-one";
const NONCE_2: &str = "nonce-two";

fn key() -> SigningKey {
    dpop_testkit::key(7)
}

fn client_at(clock: &Arc<ManualClock>) -> Client {
    Client::new(key()).with_clock(clock.clone())
}

fn client() -> Client {
    client_at(&Arc::new(ManualClock::new(UnixTime::from_secs(NOW))))
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            http::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

fn rs_challenge(nonce: Option<&str>) -> HeaderMap {
    let mut pairs = vec![(
        "www-authenticate",
        r#"DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof", algs="ES256""#,
    )];
    if let Some(nonce) = nonce {
        pairs.push(("dpop-nonce", nonce));
    }
    headers(&pairs)
}

const AS_BODY: &[u8] =
    br#"{"error":"use_dpop_nonce","error_description":"Authorization server requires nonce in DPoP proof"}"#;

/// Verifies the attempt's proof as a server would, at `now`.
fn verify(
    attempt: &Attempt,
    method: HttpMethod<'_>,
    url: &str,
    access_token: Option<&str>,
    nonce: Option<&str>,
    now: u64,
) -> Result<(), VerifyError> {
    let mut expected = Expected::new(method, TargetUri::parse(url).unwrap());
    if let Some(token) = access_token {
        expected = expected.with_access_token(token);
    }
    if let Some(nonce) = nonce {
        expected = expected.with_nonce(nonce);
    }
    Verifier::new(ALL_VERIFIERS)
        .with_leeway(0)
        .verify(attempt.proof(), &expected, UnixTime::from_secs(now))
        .map(|_| ())
}

// ---------------------------------------------------------------------------- proofs, headers

#[test]
fn authorization_header_only_with_a_token_and_then_with_ath() {
    let client = client();
    let with = client
        .prepare(&Method::GET, &format!("{RS}?page=2#top"), Some("at-123"))
        .unwrap();
    assert_eq!(with.headers()["authorization"], "DPoP at-123");
    assert_eq!(with.headers().len(), 2);
    verify(&with, HttpMethod::GET, RS, Some("at-123"), None, NOW).unwrap();
    assert_eq!(
        verify(&with, HttpMethod::GET, RS, Some("at-other"), None, NOW),
        Err(VerifyError::Mismatch(Claim::Ath))
    );

    let without = client.prepare(&Method::POST, AS, None).unwrap();
    assert!(without.headers().get("authorization").is_none());
    assert_eq!(without.headers().len(), 1);
    verify(&without, HttpMethod::POST, AS, None, None, NOW).unwrap();
    assert_eq!(
        verify(&without, HttpMethod::POST, AS, Some("at-123"), None, NOW),
        Err(VerifyError::Missing(Claim::Ath))
    );
    // each proof has its own jti
    assert_ne!(
        client.prepare(&Method::POST, AS, None).unwrap().proof(),
        without.proof()
    );
}

#[test]
fn invalid_requests_are_typed_errors() {
    let client = client();
    assert!(matches!(
        client.prepare(&Method::GET, "/relative", None),
        Err(ClientError::InvalidUrl(_))
    ));
    assert!(matches!(
        client.prepare(&Method::GET, "ftp://x.example/", None),
        Err(ClientError::InvalidUrl(_))
    ));
    assert!(matches!(
        client.prepare(&Method::GET, RS, Some("has space")),
        Err(ClientError::Proof(_))
    ));
    assert!(matches!(
        client.prepare(&Method::GET, RS, Some("")),
        Err(ClientError::Proof(_))
    ));
}

// ---------------------------------------------------------------------------- nonce challenges

#[test]
fn authorization_server_challenge_is_recognized_and_retried_once() {
    let client = client();
    let mut attempt = client.prepare(&Method::POST, AS, None).unwrap();
    assert!(Client::needs_body(StatusCode::BAD_REQUEST));
    let outcome = client.on_response(
        &mut attempt,
        StatusCode::BAD_REQUEST,
        &headers(&[
            ("dpop-nonce", NONCE_1),
            ("content-type", "application/json"),
        ]),
        AS_BODY,
    );
    assert_eq!(outcome, Outcome::Retry);
    let retry = client.retry(&attempt).unwrap();
    assert!(retry.is_retry());
    assert_eq!(retry.nonce(), Some(NONCE_1));
    verify(&retry, HttpMethod::POST, AS, None, Some(NONCE_1), NOW).unwrap();
}

#[test]
fn resource_server_challenge_is_recognized_and_retried_once() {
    let client = client();
    let mut attempt = client.prepare(&Method::GET, RS, Some("at")).unwrap();
    let outcome = client.on_response(
        &mut attempt,
        StatusCode::UNAUTHORIZED,
        &rs_challenge(Some(NONCE_1)),
        b"",
    );
    assert_eq!(outcome, Outcome::Retry);
    let mut retry = client.retry(&attempt).unwrap();
    verify(&retry, HttpMethod::GET, RS, Some("at"), Some(NONCE_1), NOW).unwrap();
    assert_eq!(retry.headers()["authorization"], "DPoP at");

    // The retry is challenged again, with yet another nonce: no second retry.
    let outcome = client.on_response(
        &mut retry,
        StatusCode::UNAUTHORIZED,
        &rs_challenge(Some(NONCE_2)),
        b"",
    );
    assert_eq!(outcome, Outcome::NotRetried(NoRetry::AlreadyRetried));
    assert_eq!(
        client.retry(&retry).unwrap_err(),
        ClientError::RetryNotAllowed
    );
    // ... but the new nonce is kept for the next request.
    assert_eq!(client.nonce(RS).as_deref(), Some(NONCE_2));
}

#[test]
fn challenge_shapes_and_lookalikes() {
    let client = client();
    let challenge = |status: StatusCode, headers: &HeaderMap, body: &[u8]| {
        let mut attempt = client.prepare(&Method::GET, RS, None).unwrap();
        client.on_response(&mut attempt, status, headers, body)
    };
    let nonce = headers(&[("dpop-nonce", NONCE_1)]);
    // a DPoP challenge among others, unquoted error value
    let mixed = headers(&[
        ("www-authenticate", r#"Bearer realm="api""#),
        (
            "www-authenticate",
            "Basic realm=x, DPoP algs=\"ES256\", error=use_dpop_nonce",
        ),
        ("dpop-nonce", NONCE_1),
    ]);
    assert_eq!(
        challenge(StatusCode::UNAUTHORIZED, &mixed, b""),
        Outcome::Retry
    );
    // not a nonce challenge: other errors, other statuses, a Bearer challenge
    for (status, headers, body) in [
        (StatusCode::OK, nonce.clone(), AS_BODY),
        (StatusCode::FORBIDDEN, nonce.clone(), AS_BODY),
        (
            StatusCode::BAD_REQUEST,
            nonce.clone(),
            &br#"{"error":"invalid_dpop_proof"}"#[..],
        ),
        (StatusCode::BAD_REQUEST, nonce.clone(), b"not json"),
        (StatusCode::BAD_REQUEST, nonce.clone(), b""),
        (
            StatusCode::UNAUTHORIZED,
            headers(&[
                ("www-authenticate", r#"Bearer error="use_dpop_nonce""#),
                ("dpop-nonce", NONCE_1),
            ]),
            b"",
        ),
        (
            StatusCode::UNAUTHORIZED,
            headers(&[
                ("www-authenticate", r#"DPoP error="invalid_token""#),
                ("dpop-nonce", NONCE_1),
            ]),
            b"",
        ),
    ] {
        assert_eq!(challenge(status, &headers, body), Outcome::Done, "{status}");
    }
    // An oversized body is not parsed.
    let mut big = AS_BODY.to_vec();
    big.extend(std::iter::repeat_n(b' ', dpop_std::client::MAX_ERROR_BODY));
    assert_eq!(
        challenge(StatusCode::BAD_REQUEST, &nonce, &big),
        Outcome::Done
    );
}

/// Answers `attempt` with a 401 carrying `challenge`: the client does not retry, for `why`.
fn assert_not_retried(client: &Client, attempt: &mut Attempt, challenge: &HeaderMap, why: NoRetry) {
    let outcome = client.on_response(attempt, StatusCode::UNAUTHORIZED, challenge, b"");
    assert_eq!(outcome, Outcome::NotRetried(why));
}

#[test]
fn no_retry_without_a_nonce_or_for_a_nonce_already_tried() {
    let client = client();
    let mut attempt = client.prepare(&Method::GET, RS, None).unwrap();
    assert_not_retried(&client, &mut attempt, &rs_challenge(None), NoRetry::NoNonce);
    assert_eq!(
        client.retry(&attempt).unwrap_err(),
        ClientError::RetryNotAllowed
    );
    // an invalid nonce (outside NQCHAR) is never stored or sent
    let invalid = rs_challenge(Some("two words"));
    assert_not_retried(&client, &mut attempt, &invalid, NoRetry::NoNonce);

    // The server stores NONCE_1, the next request sends it, and the server asks for it again.
    client.on_response(
        &mut attempt,
        StatusCode::OK,
        &headers(&[("dpop-nonce", NONCE_1)]),
        b"",
    );
    let mut attempt = client.prepare(&Method::GET, RS, None).unwrap();
    assert_eq!(attempt.nonce(), Some(NONCE_1));
    let again = rs_challenge(Some(NONCE_1));
    assert_not_retried(&client, &mut attempt, &again, NoRetry::NonceAlreadyTried);
    assert_eq!(
        client.retry(&attempt).unwrap_err(),
        ClientError::RetryNotAllowed
    );
    // two DPoP-Nonce headers are ambiguous: neither is used
    let ambiguous = headers(&[
        ("www-authenticate", r#"DPoP error="use_dpop_nonce""#),
        ("dpop-nonce", NONCE_2),
        ("dpop-nonce", "nonce-three"),
    ]);
    assert_not_retried(
        &client,
        &mut attempt,
        &ambiguous,
        NoRetry::NonceAlreadyTried,
    );
}

// -------------------------------------------------------------------------------- nonce cache

#[test]
fn nonce_from_a_successful_response_is_used_for_the_same_origin_only() {
    let client = client();
    let mut attempt = client.prepare(&Method::GET, RS, None).unwrap();
    assert_eq!(
        client.on_response(
            &mut attempt,
            StatusCode::OK,
            &headers(&[("dpop-nonce", NONCE_1)]),
            b""
        ),
        Outcome::Done
    );
    // same origin, another path, another spelling of the origin
    for url in [
        "https://api.example.com/v1/other",
        "HTTPS://API.EXAMPLE.COM:443/x",
    ] {
        let next = client.prepare(&Method::GET, url, None).unwrap();
        assert_eq!(next.nonce(), Some(NONCE_1), "{url}");
        let canonical = url.to_ascii_lowercase().replace(":443", "");
        verify(&next, HttpMethod::GET, &canonical, None, Some(NONCE_1), NOW).unwrap();
    }
    // another origin (the authorization server, another port) has no nonce
    for url in [AS, "https://api.example.com:8443/v1/items"] {
        assert_eq!(
            client.prepare(&Method::GET, url, None).unwrap().nonce(),
            None
        );
    }
}

#[test]
fn nonce_cache_is_an_lru_bounded_at_100_origins() {
    let client = client();
    assert_eq!(DEFAULT_NONCE_CAPACITY, 100);
    let url = |i: usize| format!("https://host{i}.example/x");
    for i in 0..150 {
        let mut attempt = client.prepare(&Method::GET, &url(i), None).unwrap();
        client.on_response(
            &mut attempt,
            StatusCode::OK,
            &headers(&[("dpop-nonce", &format!("n{i}"))]),
            b"",
        );
        if i >= 50 {
            // keep origin 0 in use: it is never the least recently used
            let _ = client.prepare(&Method::GET, &url(0), None).unwrap();
        }
    }
    assert_eq!(client.cached_origins(), 100);
    assert_eq!(client.nonce(&url(0)).as_deref(), Some("n0"));
    assert_eq!(client.nonce(&url(1)), None);
    assert_eq!(client.nonce(&url(50)), None);
    assert_eq!(client.nonce(&url(51)).as_deref(), Some("n51"));
    assert_eq!(client.nonce(&url(149)).as_deref(), Some("n149"));

    let small = Client::new(key()).with_nonce_capacity(0);
    for i in 0..3 {
        let mut attempt = small.prepare(&Method::GET, &url(i), None).unwrap();
        small.on_response(
            &mut attempt,
            StatusCode::OK,
            &headers(&[("dpop-nonce", "n")]),
            b"",
        );
    }
    assert_eq!(small.cached_origins(), 1);
}

// ------------------------------------------------------------------------------- clock offset

fn date(secs: u64) -> String {
    // IMF-fixdate from Unix seconds, for the tests (1970-01-01 was a Thursday).
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (mut year, mut day) = (1970, days);
    loop {
        let len = if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 {
            366
        } else {
            365
        };
        if day < len {
            break;
        }
        day -= len;
        year += 1;
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let lens = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let mut month = 0;
    while day >= lens[month] {
        day -= lens[month];
        month += 1;
    }
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[usize::try_from(days % 7).unwrap()],
        day + 1,
        MONTHS[month],
        year,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Sends a request to `url` and answers it with `Date: date_secs` plus `extra` headers.
fn respond_with_date(client: &Client, url: &str, date_secs: u64, extra: &[(&str, &str)]) {
    let mut attempt = client.prepare(&Method::GET, url, None).unwrap();
    let date = date(date_secs);
    let mut pairs = vec![("date", date.as_str())];
    pairs.extend_from_slice(extra);
    client.on_response(&mut attempt, StatusCode::OK, &headers(&pairs), b"");
}

#[test]
fn clock_offset_is_learned_from_date_and_bounded() {
    assert_eq!(date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
    let clock = Arc::new(ManualClock::new(UnixTime::from_secs(NOW)));
    let client = client_at(&clock);
    let respond = |url: &str, date_secs: u64| respond_with_date(&client, url, date_secs, &[]);

    // one second is the resolution of Date: ignored
    respond(RS, NOW + 1);
    assert_eq!(client.clock_offset(RS), 0);
    // the server is two minutes ahead
    respond(RS, NOW + 120);
    assert_eq!(client.clock_offset(RS), 120);
    let attempt = client.prepare(&Method::GET, RS, None).unwrap();
    assert_eq!(attempt.issued_at(), UnixTime::from_secs(NOW + 120));
    // the server verifies against its own clock, with no leeway
    verify(&attempt, HttpMethod::GET, RS, None, None, NOW + 120).unwrap();

    // more than five minutes off: ignored, either way
    assert_eq!(dpop_std::client::DEFAULT_MAX_CLOCK_OFFSET, 300);
    respond(RS, NOW + 301);
    respond(RS, NOW - 301);
    respond(RS, NOW + 86_400);
    assert_eq!(client.clock_offset(RS), 120);
    // exactly five minutes: learned
    respond(RS, NOW - 300);
    assert_eq!(client.clock_offset(RS), -300);

    // The authorization server keeps its own offset.
    respond(AS, NOW - 30);
    assert_eq!(client.clock_offset(AS), -30);
    assert_eq!(client.clock_offset(RS), -300);

    // A larger bound can be chosen.
    let lenient = client_at(&clock).with_max_clock_offset(86_400);
    respond_with_date(&lenient, RS, NOW + 86_400, &[]);
    assert_eq!(lenient.clock_offset(RS), 86_400);

    // Turned off.
    let off = client_at(&clock).with_max_clock_offset(0);
    respond_with_date(&off, RS, NOW + 60, &[]);
    assert_eq!(off.clock_offset(RS), 0);

    // An unreadable Date changes nothing.
    let mut attempt = client.prepare(&Method::GET, AS, None).unwrap();
    client.on_response(
        &mut attempt,
        StatusCode::OK,
        &headers(&[("date", "Sun, 06 Nov 1994 08:49:37 UTC")]),
        b"",
    );
    assert_eq!(client.clock_offset(AS), -30);
}

/// One origin's clock never shifts the proofs for another (no cross-origin fallback).
#[test]
fn one_origins_date_never_changes_proofs_for_another() {
    const EVIL: &str = "https://evil.example.net/x";
    let clock = Arc::new(ManualClock::new(UnixTime::from_secs(NOW)));
    let client = client_at(&clock);
    // Before: the honest origin A is not heard from.
    respond_with_date(&client, EVIL, NOW + 250, &[]);
    assert_eq!(client.clock_offset(EVIL), 250);
    assert_eq!(client.clock_offset(RS), 0);
    let proof = client.prepare(&Method::GET, RS, None).unwrap();
    assert_eq!(proof.issued_at(), UnixTime::from_secs(NOW));
    // After A was heard from (with a 10 s offset), B's Date changes nothing for A either.
    respond_with_date(&client, RS, NOW + 10, &[]);
    respond_with_date(&client, EVIL, NOW - 200, &[]);
    assert_eq!(client.clock_offset(RS), 10);
    let proof = client.prepare(&Method::GET, RS, None).unwrap();
    assert_eq!(proof.issued_at(), UnixTime::from_secs(NOW + 10));
    // Nor does B's time error.
    let mut attempt = client.prepare(&Method::POST, EVIL, None).unwrap();
    let body = format!(
        r#"{{"error":"invalid_dpop_proof","error_description":"server time {}"}}"#,
        NOW + 299
    );
    client.on_response(
        &mut attempt,
        StatusCode::BAD_REQUEST,
        &HeaderMap::new(),
        body.as_bytes(),
    );
    assert_eq!(client.clock_offset(EVIL), 299);
    assert_eq!(client.clock_offset(RS), 10);
    assert_eq!(client.clock_offset(AS), 0);
}

/// A response from a cache has the `Date` of when it was generated: it teaches nothing.
#[test]
fn cached_responses_teach_no_offset() {
    let clock = Arc::new(ManualClock::new(UnixTime::from_secs(NOW)));
    let client = client_at(&clock);
    for cache in [
        [("age", "120")],
        [("age", "0")],
        [("cache-status", "ExampleCDN; hit; ttl=60")],
        [("x-cache", "HIT")],
    ] {
        respond_with_date(&client, RS, NOW - 120, &cache);
        assert_eq!(client.clock_offset(RS), 0, "{cache:?}");
        // nor a time error served from a cache
        let mut attempt = client.prepare(&Method::POST, AS, None).unwrap();
        let body = format!(
            r#"{{"error":"invalid_dpop_proof","error_description":"server time {}"}}"#,
            NOW - 100
        );
        client.on_response(
            &mut attempt,
            StatusCode::BAD_REQUEST,
            &headers(&cache),
            body.as_bytes(),
        );
        assert_eq!(client.clock_offset(AS), 0, "{cache:?}");
    }
    // the same response, not from a cache, teaches
    respond_with_date(
        &client,
        RS,
        NOW - 120,
        &[("cache-status", "ExampleCDN; fwd=miss")],
    );
    assert_eq!(client.clock_offset(RS), -120);
}

#[test]
fn clock_offset_from_a_rejected_iat() {
    let clock = Arc::new(ManualClock::new(UnixTime::from_secs(NOW)));
    let client = client_at(&clock);
    // A dpop-std authorization server says its time in the description, more precisely than
    // Date (which here is even missing).
    let mut attempt = client.prepare(&Method::POST, AS, None).unwrap();
    let body = format!(
        r#"{{"error":"invalid_dpop_proof","error_description":"proof is too old: iat {NOW}, server time {}, earliest accepted {}"}}"#,
        NOW + 240,
        NOW + 40
    );
    let outcome = client.on_response(
        &mut attempt,
        StatusCode::BAD_REQUEST,
        &HeaderMap::new(),
        body.as_bytes(),
    );
    assert_eq!(outcome, Outcome::Done, "an iat error is not retried");
    assert_eq!(client.clock_offset(AS), 240);
    let next = client.prepare(&Method::POST, AS, None).unwrap();
    verify(&next, HttpMethod::POST, AS, None, None, NOW + 240).unwrap();

    // A resource server's challenge, with a Date header that disagrees: the description wins.
    let mut attempt = client.prepare(&Method::GET, RS, Some("at")).unwrap();
    let challenge = format!(
        r#"DPoP error="invalid_dpop_proof", error_description="proof issued in the future: iat {}, server time {}, latest accepted {}", algs="ES256""#,
        NOW + 400,
        NOW - 50,
        NOW + 10
    );
    client.on_response(
        &mut attempt,
        StatusCode::UNAUTHORIZED,
        &headers(&[("www-authenticate", &challenge), ("date", &date(NOW))]),
        b"",
    );
    assert_eq!(client.clock_offset(RS), -50);
}

// ------------------------------------------------------------------------------------ tokens

fn token_json(token_type: &str, refresh: Option<&str>) -> String {
    let refresh = refresh
        .map(|r| format!(r#","refresh_token":"{r}""#))
        .unwrap_or_default();
    format!(
        r#"{{"access_token":"at-1","token_type":"{token_type}","expires_in":300,"scope":"read"{refresh},"session_id":"s-1"}}"#
    )
}

#[test]
fn bearer_instead_of_dpop_is_reported() {
    let client = client();
    let tokens = client
        .read_token_response(token_json("DPoP", Some("rt-1")).as_bytes())
        .unwrap();
    assert_eq!(tokens.token_type(), TokenType::Dpop);
    assert_eq!(tokens.access_token(), "at-1");
    assert_eq!(tokens.refresh_token(), Some("rt-1"));
    assert_eq!(session_id(&tokens), Some("s-1"));
    assert_eq!(tokens.expires_in(), Some(300));
    assert_eq!(tokens.scope(), Some("read"));

    let error = client
        .read_token_response(token_json("Bearer", None).as_bytes())
        .unwrap_err();
    assert_eq!(error, TokenError::Binding(TokenBindingError::NotBound));
    assert!(error.to_string().contains("Bearer"));
    assert!(matches!(
        client.read_token_response(b"[]"),
        Err(TokenError::Malformed(_))
    ));
    assert!(matches!(
        client.read_token_response(b"{}"),
        Err(TokenError::InvalidMember(m)) if m.member() == Member::AccessToken
    ));
    // a client that asked for Bearer takes it
    let bearer = TokenResponse::from_json(token_json("Bearer", None).as_bytes()).unwrap();
    assert_eq!(TokenSet::any(bearer).token_type(), TokenType::Bearer);
}

fn session_id(tokens: &TokenSet) -> Option<&str> {
    tokens.extra("session_id").and_then(|v| v.as_str())
}

/// The response a widely used authorization server sent for a client-credentials grant: no
/// `scope`, no `refresh_token`.
#[test]
fn a_minimal_token_response_is_read() {
    let client = client();
    let tokens = client
        .read_token_response(br#"{"access_token":"at-1","expires_in":600,"token_type":"DPoP"}"#)
        .unwrap();
    assert_eq!(tokens.access_token(), "at-1");
    assert_eq!(tokens.expires_in(), Some(600));
    assert_eq!(tokens.scope(), None);
    assert_eq!(tokens.refresh_token(), None);
    let tokens = client
        .read_token_response(br#"{"token_type":"dpop","access_token":"at-1","id_token":"x.y.z"}"#)
        .unwrap();
    assert_eq!(tokens.expires_in(), None);
    assert_eq!(
        tokens.extra("id_token").and_then(|v| v.as_str()),
        Some("x.y.z")
    );
    // a wrong type is named
    let error = client
        .read_token_response(br#"{"access_token":"at","token_type":"DPoP","expires_in":true}"#)
        .unwrap_err();
    assert!(matches!(
        error,
        TokenError::InvalidMember(m) if m.member() == Member::ExpiresIn
            && matches!(m.problem(), MemberProblem::Invalid { .. })
    ));
    assert!(error.to_string().contains("expires_in"), "{error}");
}

#[test]
fn refresh_keeps_the_refresh_token_when_none_is_returned() {
    let first = TokenResponse::new("at-1", TokenType::Dpop, 300, "read")
        .with_refresh_token("rt-1")
        .with_extra("session_id", "s-1")
        .with_extra("id_token", "id-1");
    let mut tokens = TokenSet::dpop(first).unwrap();

    tokens
        .refresh(
            TokenResponse::new("at-2", TokenType::Dpop, 600, "read").with_extra("id_token", "id-2"),
        )
        .unwrap();
    assert_eq!(tokens.access_token(), "at-2");
    assert_eq!(tokens.expires_in(), Some(600));
    assert_eq!(tokens.refresh_token(), Some("rt-1"));
    assert_eq!(session_id(&tokens), Some("s-1"));
    assert_eq!(
        tokens.extra("id_token").and_then(|v| v.as_str()),
        Some("id-2")
    );

    // without expires_in the lifetime is unknown; without scope the scope stays
    tokens
        .refresh(TokenResponse::minimal("at-2b", TokenType::Dpop))
        .unwrap();
    assert_eq!(tokens.expires_in(), None);
    assert_eq!(tokens.scope(), Some("read"));

    // a rotated one replaces it
    tokens
        .refresh(
            TokenResponse::new("at-3", TokenType::Dpop, 600, "read").with_refresh_token("rt-2"),
        )
        .unwrap();
    assert_eq!(tokens.refresh_token(), Some("rt-2"));

    // a Bearer token from the refresh is refused, and nothing changes
    let error = tokens
        .refresh(TokenResponse::new("at-4", TokenType::Bearer, 600, "read"))
        .unwrap_err();
    assert_eq!(error, TokenBindingError::NotBound);
    assert_eq!(tokens.access_token(), "at-3");
}

#[test]
fn refresh_proof_is_signed_by_the_same_key() {
    let client = client();
    let token = client.prepare(&Method::POST, AS, None).unwrap();
    let refresh = client.prepare(&Method::POST, AS, None).unwrap();
    let jkt = |attempt: &Attempt| {
        let expected = Expected::new(HttpMethod::POST, TargetUri::parse(AS).unwrap());
        *Verifier::new(ALL_VERIFIERS)
            .verify(attempt.proof(), &expected, UnixTime::from_secs(NOW))
            .unwrap()
            .thumbprint()
    };
    assert_eq!(jkt(&token), jkt(&refresh));
    assert_eq!(&jkt(&token), client.thumbprint());
}

// -------------------------------------------------------------------------------------- keys

struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("dpop-std-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn jwk_files_are_private_and_never_overwritten() {
    let dir = TempDir::new("jwk");
    for algorithm in Algorithm::ALL {
        let key = keys::generate(algorithm).unwrap();
        let path = dir.0.join(format!("{}.json", algorithm.name()));
        keys::write_jwk_file(&key, &path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{algorithm:?}");
        }
        let loaded = keys::read_jwk_file(&path).unwrap();
        assert_eq!(loaded.public_jwk(), key.public_jwk());
        assert_eq!(loaded.algorithm(), algorithm);

        let other = keys::generate(algorithm).unwrap();
        assert_eq!(
            keys::write_jwk_file(&other, &path).unwrap_err(),
            KeyFileError::AlreadyExists
        );
        assert_eq!(
            keys::read_jwk_file(&path).unwrap().public_jwk(),
            key.public_jwk(),
            "the first key is still there"
        );
    }
    assert!(matches!(
        keys::read_jwk_file(dir.0.join("missing.json")),
        Err(KeyFileError::Io(std::io::ErrorKind::NotFound))
    ));
    let public = dir.0.join("public.json");
    let mut buf = [0u8; dpop_core::consts::MAX_JWK_JSON_LEN];
    std::fs::write(&public, key().public_jwk().write_json(&mut buf).unwrap()).unwrap();
    assert!(matches!(
        keys::read_jwk_file(&public),
        Err(KeyFileError::Key(_))
    ));
    let big = dir.0.join("big.json");
    std::fs::write(&big, vec![b' '; keys::MAX_KEY_FILE_LEN + 1]).unwrap();
    assert_eq!(
        keys::read_jwk_file(&big).unwrap_err(),
        KeyFileError::TooLarge
    );
}

#[cfg(unix)]
#[test]
fn key_files_do_not_follow_symlinks() {
    let dir = TempDir::new("link");
    let target = dir.0.join("target");
    let link = dir.0.join("link.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert_eq!(
        keys::write_jwk_file(&key(), &link).unwrap_err(),
        KeyFileError::AlreadyExists
    );
    assert!(!target.exists());
}

#[test]
fn pem_round_trip_for_each_curve() {
    let dir = TempDir::new("pem");
    for algorithm in Algorithm::ALL {
        let key = keys::generate(algorithm).unwrap();
        let pem = keys::to_pkcs8_pem(&key).unwrap();
        assert!(
            pem.starts_with("-----BEGIN PRIVATE KEY-----\n"),
            "{algorithm:?}"
        );
        assert!(pem.trim_end().ends_with("-----END PRIVATE KEY-----"));
        let parsed = keys::from_pkcs8_pem(&pem).unwrap();
        assert_eq!(parsed.public_jwk(), key.public_jwk());
        assert_eq!(parsed.algorithm(), algorithm);

        let path = dir.0.join(format!("{}.pem", algorithm.name()));
        keys::write_pem_file(&key, &path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(
            keys::read_pem_file(&path).unwrap().public_jwk(),
            key.public_jwk()
        );
        assert_eq!(
            keys::write_pem_file(&key, &path).unwrap_err(),
            KeyFileError::AlreadyExists
        );
    }
    for bad in [
        "",
        "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n",
        "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n",
        "not pem",
    ] {
        assert_eq!(keys::from_pkcs8_pem(bad).unwrap_err(), KeyFileError::Pem);
    }
}

/// Byte-for-byte the PKCS#8 PEM OpenSSL 3 writes for the same key (`openssl pkcs8 -topk8
/// -nocrypt` of the SEC1 key), read back to the same public key.
#[test]
fn pem_interoperates_with_known_pkcs8() {
    // The RFC 6979 A.2.5 private key.
    let key = SigningKey::from_bytes(
        Algorithm::Es256,
        &[
            0xC9, 0xAF, 0xA9, 0xD8, 0x45, 0xBA, 0x75, 0x16, 0x6B, 0x5C, 0x21, 0x57, 0x67, 0xB1,
            0xD6, 0x93, 0x4E, 0x50, 0xC3, 0xDB, 0x36, 0xE8, 0x9B, 0x12, 0x7B, 0x8A, 0x62, 0x2B,
            0x12, 0x0F, 0x67, 0x21,
        ],
    )
    .unwrap();
    let pem = keys::to_pkcs8_pem(&key).unwrap();
    assert_eq!(pem.as_str(), RFC6979_P256_PKCS8);
    assert_eq!(
        keys::from_pkcs8_pem(RFC6979_P256_PKCS8)
            .unwrap()
            .public_jwk(),
        key.public_jwk()
    );
}

const RFC6979_P256_PKCS8: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgya+p2EW6dRZrXCFX
Z7HWk05Qw9s26JsSe4piKxIPZyGhRANCAARg/tS6JVqdMclh63TGNW1owEm4kjth
+mzmaWIuYPKftnkD/hAIuLyZpBrp6VYovGTy8bIMLX6fUXejwpTURiKZ
-----END PRIVATE KEY-----
";

// ----------------------------------------------------------------------------------- hygiene

#[test]
fn debug_output_has_no_secrets() {
    let client = client();
    let attempt = client
        .prepare(&Method::GET, RS, Some("secret-access-token"))
        .unwrap();
    for text in [
        format!("{client:?}"),
        format!("{attempt:?}"),
        format!("{:?}", attempt.headers()),
    ] {
        assert!(!text.contains("secret-access-token"), "{text}");
        assert!(!text.contains(attempt.proof()), "{text}");
    }
    let tokens = TokenSet::dpop(
        TokenResponse::new("secret-access-token", TokenType::Dpop, 1, "s")
            .with_refresh_token("secret-refresh"),
    )
    .unwrap();
    let text = format!("{tokens:?}");
    assert!(!text.contains("secret"), "{text}");
}

#[test]
fn public_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Client>();
    assert_send_sync::<Attempt>();
    assert_send_sync::<TokenSet>();
    assert_send_sync::<ClientError>();
    assert_send_sync::<KeyFileError>();
}

/// The `ath` and `Authorization` value are kept for the last token: a new token replaces
/// them, an old one comes back correct, and an invalid one is still refused.
#[test]
fn access_token_headers_follow_the_token_sent() {
    let client = client();
    for token in ["token-a", "token-a", "token-b", "token-a", "token-b"] {
        let attempt = client.prepare(&Method::GET, RS, Some(token)).unwrap();
        assert_eq!(
            attempt.headers()["authorization"],
            format!("DPoP {token}").as_str()
        );
        assert!(attempt.headers()["authorization"].is_sensitive());
        assert_eq!(
            verify(&attempt, HttpMethod::GET, RS, Some(token), None, NOW),
            Ok(())
        );
        let other = if token == "token-a" {
            "token-b"
        } else {
            "token-a"
        };
        assert_eq!(
            verify(&attempt, HttpMethod::GET, RS, Some(other), None, NOW),
            Err(VerifyError::Mismatch(Claim::Ath))
        );
    }
    for bad in ["", "tok en", "tok\u{e9}n"] {
        assert!(matches!(
            client.prepare(&Method::GET, RS, Some(bad)),
            Err(ClientError::Proof(
                dpop_core::CreateError::InvalidAccessToken
            ))
        ));
    }
    // A request without a token after one with: no `ath`, no `Authorization`.
    let attempt = client.prepare(&Method::GET, RS, None).unwrap();
    assert!(attempt.headers().get("authorization").is_none());
    assert_eq!(
        verify(&attempt, HttpMethod::GET, RS, None, None, NOW),
        Ok(())
    );
}
