//! `www_authenticate`: dpop-std's client reading a response (`Client::on_response`): the
//! `WWW-Authenticate` challenges (RFC 9110 section 11.6.1), `DPoP-Nonce`, `Date` and the JSON
//! error body, from arbitrary response text (see [`crate::http_text`]; the first line is the
//! status code, 401 when it is not one).
//!
//! - Nothing panics.
//! - Only a 400 or 401 can ask for a retry; a stored nonce is valid NQCHAR text that came in a
//!   `DPoP-Nonce` header; the learned clock offset stays within the client's bound.
//! - On `Retry`, the retry carries that new nonce, its proof verifies at a server that requires
//!   it, and the same challenge to the retry is not retried again (at most one retry).

use std::sync::Arc;

use dpop_core::{
    Algorithm, Expected, HttpMethod, TargetUri, UnixTime, Verifier,
    crypto::rustcrypto::ALL_VERIFIERS, is_valid_nonce,
};
use dpop_std::ManualClock;
use dpop_std::client::{Client, DEFAULT_MAX_CLOCK_OFFSET, DPOP_NONCE, Outcome};
use http::{Method, StatusCode};

use crate::fixtures::{NOW, RFC_TOKEN, key};
use crate::http_text;

/// The URL of the request the response answers.
pub const URL: &str = "https://api.example.com/v1/items?page=2";

/// The target.
pub fn run(data: &[u8]) {
    let head = http_text::parse(data);
    let status = std::str::from_utf8(head.first_line)
        .ok()
        .and_then(|s| s.trim().parse::<u16>().ok())
        .and_then(|n| StatusCode::from_u16(n).ok())
        .unwrap_or(StatusCode::UNAUTHORIZED);

    let clock = Arc::new(ManualClock::new(UnixTime::from_secs(NOW)));
    let client = Client::new(key(Algorithm::Es256)).with_clock(clock);
    let mut attempt = client
        .prepare(&Method::GET, URL, Some(RFC_TOKEN))
        .expect("prepare");
    let outcome = client.on_response(&mut attempt, status, &head.headers, head.body);

    let sent: Vec<&str> = head
        .headers
        .get_all(DPOP_NONCE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if let Some(stored) = client.nonce(URL) {
        assert!(
            is_valid_nonce(&stored),
            "stored nonce {stored:?} is not NQCHAR"
        );
        assert!(
            sent.contains(&stored.as_str()),
            "stored nonce {stored:?} was not sent"
        );
    }
    assert!(
        client.clock_offset(URL).unsigned_abs() <= DEFAULT_MAX_CLOCK_OFFSET,
        "clock offset beyond the bound"
    );
    if status != StatusCode::BAD_REQUEST && status != StatusCode::UNAUTHORIZED {
        assert_eq!(outcome, Outcome::Done, "status {status} is not a challenge");
    }

    if outcome != Outcome::Retry {
        assert!(
            client.retry(&attempt).is_err(),
            "retry without Outcome::Retry"
        );
        return;
    }
    let mut retry = client.retry(&attempt).expect("retry after Outcome::Retry");
    assert!(retry.is_retry());
    let nonce = retry.nonce().expect("the retry carries a nonce").to_owned();
    assert!(is_valid_nonce(&nonce));
    assert!(
        sent.contains(&nonce.as_str()),
        "retry nonce {nonce:?} was not sent"
    );
    assert_ne!(
        attempt.nonce(),
        Some(nonce.as_str()),
        "retried with the same nonce"
    );

    let uri = TargetUri::parse(URL).unwrap();
    let expected = Expected::new(HttpMethod::GET, uri)
        .with_nonce(&nonce)
        .with_access_token(RFC_TOKEN);
    if let Err(e) = Verifier::new(ALL_VERIFIERS).verify(retry.proof(), &expected, retry.issued_at())
    {
        panic!("the retry's proof does not verify: {e:?}");
    }

    let again = client.on_response(&mut retry, status, &head.headers, head.body);
    assert_ne!(again, Outcome::Retry, "a request is retried at most once");
    assert!(client.retry(&retry).is_err(), "second retry allowed");
}
