use http::header::{DATE, WWW_AUTHENTICATE};

use super::challenge::parse_challenges;
use super::*;

#[test]
fn date_in_all_three_formats() {
    // RFC 9110 section 5.6.7: the same instant in IMF-fixdate, RFC 850 and asctime form
    for text in [
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
    ] {
        let mut headers = HeaderMap::new();
        headers.insert(DATE, HeaderValue::from_static(text));
        assert_eq!(
            date_header(&headers),
            Some(UnixTime::from_secs(784_111_777)),
            "{text}"
        );
    }
    for bad in [
        "",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 31 Apr 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:49:37 GMT",
        "yesterday",
    ] {
        let mut headers = HeaderMap::new();
        headers.insert(DATE, HeaderValue::from_static(bad));
        assert_eq!(date_header(&headers), None, "{bad}");
    }
    // two Date headers are ambiguous
    let mut headers = HeaderMap::new();
    headers.append(
        DATE,
        HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
    );
    headers.append(
        DATE,
        HeaderValue::from_static("Sun, 06 Nov 1994 08:49:38 GMT"),
    );
    assert_eq!(date_header(&headers), None);
}

#[test]
fn cached_responses_are_recognized() {
    let cached = |pairs: &[(&'static str, &'static str)]| {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        from_cache(&headers)
    };
    assert!(!cached(&[]));
    assert!(cached(&[("age", "0")]));
    assert!(cached(&[("age", "not a number")]));
    assert!(cached(&[("cache-status", "ExampleCache; hit")]));
    assert!(cached(&[(
        "cache-status",
        "OriginCache; fwd=uri-miss, CDN; hit; ttl=30"
    )]));
    assert!(cached(&[("cache-status", "CDN; HIT")]));
    assert!(!cached(&[(
        "cache-status",
        "ExampleCache; fwd=uri-miss; stored"
    )]));
    assert!(!cached(&[("cache-status", "hit-cache; fwd=miss")]));
    assert!(cached(&[("x-cache", "Hit from cloudfront")]));
    assert!(cached(&[("x-cache", "MISS, HIT")]));
    assert!(!cached(&[("x-cache", "MISS")]));
}

#[test]
fn challenges() {
    let parsed = parse_challenges(
        r#"Bearer realm="x", DPoP error="use_dpop_nonce", error_description="a \"nonce\", please", algs="ES256 ES384""#,
    );
    assert_eq!(parsed.len(), 2);
    assert_eq!(parsed[0].scheme, "Bearer");
    assert_eq!(parsed[0].param("realm").as_deref(), Some("x"));
    assert_eq!(parsed[1].scheme, "DPoP");
    assert_eq!(parsed[1].param("ERROR").as_deref(), Some("use_dpop_nonce"));
    assert_eq!(
        parsed[1].param("error_description").as_deref(),
        Some("a \"nonce\", please")
    );
    assert_eq!(parsed[1].param("algs").as_deref(), Some("ES256 ES384"));

    let parsed = parse_challenges("Negotiate abc==, DPoP error=use_dpop_nonce");
    assert_eq!(parsed.len(), 2);
    assert_eq!(parsed[1].param("error").as_deref(), Some("use_dpop_nonce"));

    // never panics, whatever the input
    for junk in [
        "",
        ",",
        "=",
        "==,",
        "a=",
        "a=\"",
        "a=\"\\",
        "DPoP error=\"x",
        "\"",
        "DPoP ,,, =",
        "DPoP a=b c",
        "é",
        "DPoP error=\"é\"",
    ] {
        let _ = parse_challenges(junk);
    }
}

#[test]
fn server_time_in_descriptions() {
    assert_eq!(
        server_time_in("proof is too old: iat 1, server time 1700000000, earliest accepted 2"),
        Some(UnixTime::from_secs(1_700_000_000))
    );
    assert_eq!(server_time_in("server time "), None);
    assert_eq!(server_time_in("server time 99999999999999999999"), None);
    assert_eq!(server_time_in("nothing here"), None);
}

#[test]
fn origins() {
    assert_eq!(
        origin_of("HTTPS://API.Example.com:443/a/b?q#f").unwrap(),
        "https://api.example.com"
    );
    assert_eq!(
        origin_of("http://127.0.0.1:8080").unwrap(),
        "http://127.0.0.1:8080"
    );
    assert!(origin_of("/relative").is_err());
}

proptest::proptest! {
    /// The parsers of server-controlled text never panic, whatever they are given.
    #[test]
    fn parsers_never_panic(text in "\\PC{0,200}", bytes in proptest::collection::vec(0u8..=255, 0..200)) {
        let _ = parse_challenges(&text);
        let _ = server_time_in(&text);
        let _ = origin_of(&text);
        let lossy = String::from_utf8_lossy(&bytes);
        let _ = parse_challenges(&lossy);
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_bytes(&bytes) {
            headers.insert(WWW_AUTHENTICATE, value.clone());
            headers.insert(DATE, value.clone());
            headers.insert(HeaderName::from_static(DPOP_NONCE), value);
        }
        for status in [StatusCode::OK, StatusCode::BAD_REQUEST, StatusCode::UNAUTHORIZED] {
            let _ = ResponseError::read(status, &headers, &bytes);
            let _ = single_nonce(&headers);
            let _ = date_header(&headers);
        }
    }
}

#[test]
fn offsets_saturate() {
    let (a, b) = (UnixTime::from_secs(10), UnixTime::from_secs(u64::MAX));
    assert_eq!(offset(a, a), 0);
    assert_eq!(offset(b, a), i64::MAX);
    assert_eq!(offset(a, b), i64::MIN);
    assert_eq!(offset(a, UnixTime::from_secs(15)), -5);
}
