use http::request::Parts;
use http::{Request, header::HeaderValue};

use super::forwarded::{forwarded_value, split_outside_quotes};
use super::head::{is_token68, parse_authorization};
use super::rejection::{MAX_DESCRIPTION, quoted_string_safe};
use super::target::{canonical_string, check_raw_path, normalize_path};
use super::*;
use crate::wire::TokenType;

fn head_parts(uri: &str, headers: &[(&str, &str)]) -> Parts {
    let mut builder = Request::builder().method("GET").uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap().into_parts().0
}

fn target(policy: &UriPolicy, uri: &str, headers: &[(&str, &str)]) -> Result<String, TargetError> {
    policy.target_uri(&head_parts(uri, headers))
}

#[test]
fn token68_syntax() {
    for ok in ["abc", "a.b-c_d~e+f/g", "abc=", "abc==", "A1", "eyJ.eyJ.sig"] {
        assert!(is_token68(ok), "{ok}");
    }
    for bad in [
        "", "=", "==", "a=b", "a b", "a,b", "a\"b", "a\\b", "ä", "a\tb", "a;",
    ] {
        assert!(!is_token68(bad), "{bad}");
    }
}

#[test]
fn authorization_parsing() {
    fn parse(text: &str) -> Result<(TokenType, String), Reason> {
        let value = HeaderValue::from_str(text).map_err(|_| Reason::MalformedAuthorization)?;
        parse_authorization(&value).map(|(scheme, token)| (scheme, token.to_owned()))
    }
    assert_eq!(parse("DPoP abc"), Ok((TokenType::Dpop, "abc".into())));
    assert_eq!(parse("dpop  abc="), Ok((TokenType::Dpop, "abc=".into())));
    assert_eq!(parse("BEARER x.y"), Ok((TokenType::Bearer, "x.y".into())));
    assert_eq!(parse("Basic dXNlcjpwYXNz"), Err(Reason::UnsupportedScheme));
    assert_eq!(parse("Basic"), Err(Reason::UnsupportedScheme));
    for bad in [
        "DPoP", "DPoP ", "DPoP a b", "DPoP a\"", " DPoP a", "DPoP\ta", "DP(oP a",
    ] {
        assert_eq!(parse(bad), Err(Reason::MalformedAuthorization), "{bad}");
    }
    let obs = HeaderValue::from_bytes(b"DPoP \xff").unwrap();
    assert_eq!(
        parse_authorization(&obs),
        Err(Reason::MalformedAuthorization)
    );
}

#[test]
fn quoted_string_safe_strips_specials() {
    assert_eq!(quoted_string_safe("a\"b\\c\r\nd\u{e9}"), "a'b/c??d?");
    assert_eq!(quoted_string_safe(&"x".repeat(1000)).len(), MAX_DESCRIPTION);
}

#[test]
fn public_base_with_and_without_prefix() {
    let root = UriPolicy::public_base("https://api.example.com")
        .build()
        .unwrap();
    assert_eq!(
        target(&root, "http://10.0.0.5:8080/v1/x?q=1", &[]).unwrap(),
        "https://api.example.com/v1/x"
    );
    assert_eq!(
        target(&root, "/v1/x", &[("host", "10.0.0.5")]).unwrap(),
        "https://api.example.com/v1/x"
    );
    let prefixed = UriPolicy::public_base("https://Example.com/api/")
        .build()
        .unwrap();
    assert_eq!(
        target(&prefixed, "/v1/x", &[]).unwrap(),
        "https://example.com/api/v1/x"
    );
    assert_eq!(
        target(&prefixed, "/", &[]).unwrap(),
        "https://example.com/api/"
    );
    // dot segments in the raw path are refused, so they cannot climb out of the base path
    assert_eq!(
        target(&prefixed, "/../x", &[]),
        Err(TargetError::DotSegment)
    );
    assert_eq!(
        target(&prefixed, "/a/%2E%2E/%2e%2E/x", &[]),
        Err(TargetError::DotSegment)
    );
    // forwarded headers are never read with a public base
    let spoofed = [
        ("x-forwarded-host", "evil.example"),
        ("forwarded", "host=evil.example"),
    ];
    assert_eq!(
        target(&root, "/v1/x", &spoofed).unwrap(),
        "https://api.example.com/v1/x"
    );
}

#[test]
fn backend_prefix() {
    let policy = UriPolicy::public_base("https://gw.example/svc2")
        .with_backend_prefix("/my-api/")
        .build()
        .unwrap();
    assert_eq!(
        target(&policy, "/my-api/x", &[]).unwrap(),
        "https://gw.example/svc2/x"
    );
    assert_eq!(
        target(&policy, "/my-api", &[]).unwrap(),
        "https://gw.example/svc2"
    );
    assert_eq!(
        target(&policy, "/my-apix", &[]),
        Err(TargetError::OutsideBackendPrefix)
    );
    assert_eq!(
        target(&policy, "/other", &[]),
        Err(TargetError::OutsideBackendPrefix)
    );
    assert_eq!(
        target(&policy, "/my-api/../other", &[]),
        Err(TargetError::DotSegment)
    );
    for bad in ["nope", "/a?b", "/a#b", ""] {
        assert_eq!(
            UriPolicy::from_request(Scheme::Https)
                .with_backend_prefix(bad)
                .build(),
            Err(ConfigError::InvalidBackendPrefix),
            "{bad}"
        );
    }
    assert_eq!(
        UriPolicy::from_request(Scheme::Https)
            .with_backend_prefix("/")
            .build()
            .unwrap(),
        UriPolicy::from_request(Scheme::Https).build().unwrap()
    );
}

#[test]
fn invalid_public_bases() {
    for bad in [
        "/relative",
        "ftp://x/",
        "https://u@x/",
        "https://x/?q",
        "https://x/#f",
        "",
    ] {
        assert!(
            matches!(
                UriPolicy::public_base(bad).build(),
                Err(ConfigError::InvalidPublicBase(_))
            ),
            "{bad}"
        );
    }
}

#[test]
fn uri_policy_build_reports_the_first_invalid_setting() {
    let bad_base = UriPolicy::public_base("ftp://x/")
        .with_allowed_hosts(&["a/b"])
        .with_backend_prefix("nope");
    assert!(matches!(
        bad_base.build(),
        Err(ConfigError::InvalidPublicBase(UriError::UnsupportedScheme))
    ));
    let bad_hosts = UriPolicy::from_request(Scheme::Https)
        .with_allowed_hosts(&["a/b"])
        .with_backend_prefix("nope");
    assert_eq!(bad_hosts.build(), Err(ConfigError::InvalidAllowedHost));
    let bad_prefix = UriPolicy::from_trusted_proxy(Scheme::Https, ForwardedHeaders::Forwarded)
        .with_allowed_hosts(&["api.example.com"])
        .with_backend_prefix("nope");
    assert_eq!(bad_prefix.build(), Err(ConfigError::InvalidBackendPrefix));
}

#[test]
fn uri_policy_setters_keep_the_last_value() {
    let policy = UriPolicy::public_base("https://gw.example")
        .with_backend_prefix("nope")
        .with_backend_prefix("/my-api")
        .with_allowed_hosts(&[])
        .with_allowed_hosts(&["gw.example"])
        .build()
        .unwrap();
    assert_eq!(
        target(&policy, "/my-api/x", &[]).unwrap(),
        "https://gw.example/x"
    );
}

#[test]
fn server_build_checks_the_realm() {
    let uri = UriPolicy::public_base("https://api.example.com")
        .build()
        .unwrap();
    // No algorithm is needed to check the realm.
    let accepted = [];
    for bad in ["a\"b", "a\\b", "a\nb", "caf\u{e9}", "\u{7f}"] {
        assert_eq!(
            Server::builder(&accepted, uri.clone())
                .with_realm(bad)
                .build()
                .err(),
            Some(ConfigError::InvalidRealm),
            "{bad:?}"
        );
    }
    for good in ["api", "", "a b ~!#$%&'()*+,-./:;<=>?@[]^_`{|}"] {
        let server = Server::builder(&accepted, uri.clone())
            .with_realm(good)
            .build()
            .unwrap();
        assert_eq!(server.challenge.realm.as_deref(), Some(good));
    }
    // Only the last realm set is checked.
    let server = Server::builder(&accepted, uri)
        .with_realm("a\"b")
        .with_realm("api")
        .build()
        .unwrap();
    assert_eq!(server.challenge.realm.as_deref(), Some("api"));
}

#[test]
fn from_request_uses_host_or_absolute_authority() {
    let policy = UriPolicy::from_request(Scheme::Https).build().unwrap();
    assert_eq!(
        target(&policy, "/a", &[("host", "API.example.com:443")]).unwrap(),
        "https://api.example.com/a"
    );
    assert_eq!(
        target(&policy, "https://abs.example:8443/a", &[("host", "other")]).unwrap(),
        "https://abs.example:8443/a"
    );
    assert_eq!(target(&policy, "/a", &[]), Err(TargetError::MissingHost));
    assert_eq!(
        target(
            &policy,
            "/a",
            &[("host", "a.example"), ("host", "b.example")]
        ),
        Err(TargetError::DuplicateHost)
    );
    for bad in [
        "a.example/x",
        "a.example?x",
        "a.example#x",
        "user@a.example",
        "",
        "a b",
        ":443",
        "a:99999",
        "[::1",
    ] {
        assert_eq!(
            target(&policy, "/a", &[("host", bad)]),
            Err(TargetError::InvalidHost),
            "{bad:?}"
        );
    }
    // forwarded headers are ignored unless trusted
    let headers = [
        ("host", "internal:8080"),
        ("x-forwarded-host", "evil.example"),
        ("x-forwarded-proto", "http"),
    ];
    assert_eq!(
        target(&policy, "/a", &headers).unwrap(),
        "https://internal:8080/a"
    );
    assert_eq!(
        target(&policy, "*", &[("host", "a")]),
        Err(TargetError::UnsupportedTarget)
    );
}

#[test]
fn trusted_proxy_headers() {
    let x = UriPolicy::from_trusted_proxy(Scheme::Http, ForwardedHeaders::XForwarded)
        .build()
        .unwrap();
    let f = UriPolicy::from_trusted_proxy(Scheme::Http, ForwardedHeaders::Forwarded)
        .build()
        .unwrap();
    let tx = |headers: &[(&str, &str)]| target(&x, "/a", headers);
    let tf = |headers: &[(&str, &str)]| target(&f, "/a", headers);
    assert_eq!(tx(&[("host", "internal")]).unwrap(), "http://internal/a");
    assert_eq!(tf(&[("host", "internal")]).unwrap(), "http://internal/a");
    assert_eq!(
        tx(&[
            ("host", "internal"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "api.example")
        ])
        .unwrap(),
        "https://api.example/a"
    );
    // the last value is the one our proxy added
    assert_eq!(
        tx(&[
            ("host", "i"),
            ("x-forwarded-host", "forged.example, api.example"),
            ("x-forwarded-proto", "http, HTTPS")
        ])
        .unwrap(),
        "https://api.example/a"
    );
    assert_eq!(
        tf(&[
            ("host", "i"),
            ("forwarded", "for=1.2.3.4;host=forged;proto=http"),
            (
                "forwarded",
                "for=\"[::1]:80\";proto=https;host=\"api.example:8443\""
            )
        ])
        .unwrap(),
        "https://api.example:8443/a"
    );
    assert_eq!(
        tf(&[
            ("host", "i"),
            ("forwarded", "for=a, proto=https;host=api.example")
        ])
        .unwrap(),
        "https://api.example/a"
    );
    // A client-sent Forwarded passed through by an X-Forwarded-* proxy is never read, and
    // the other way round.
    let spoofed = [
        ("host", "i"),
        ("forwarded", "proto=https;host=evil.example"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "api.example"),
    ];
    assert_eq!(tx(&spoofed).unwrap(), "https://api.example/a");
    let spoofed = [
        ("host", "i"),
        ("forwarded", "proto=https;host=api.example"),
        ("x-forwarded-host", "evil.example"),
    ];
    assert_eq!(tf(&spoofed).unwrap(), "https://api.example/a");
    // ... and a malformed header of the other family is not an error either
    assert_eq!(
        tx(&[("host", "i"), ("forwarded", "novalue")]).unwrap(),
        "http://i/a"
    );
    for bad in [
        ("forwarded", "proto=ftp"),
        ("forwarded", "host=a.example/x"),
        ("forwarded", "host=\"a.example"),
        ("forwarded", "proto=https;proto=http"),
        ("forwarded", "host=a;host=b"),
        ("forwarded", "novalue"),
        ("forwarded", ""),
    ] {
        assert_eq!(
            tf(&[("host", "i"), bad]),
            Err(TargetError::InvalidForwarded),
            "{bad:?}"
        );
    }
    for bad in [
        ("x-forwarded-proto", "gopher"),
        ("x-forwarded-host", "a@b"),
        ("x-forwarded-host", " , "),
    ] {
        assert_eq!(
            tx(&[("host", "i"), bad]),
            Err(TargetError::InvalidForwarded),
            "{bad:?}"
        );
    }
}

#[test]
fn raw_dot_segments_are_refused_in_every_form() {
    let policy = UriPolicy::public_base("https://api.example")
        .build()
        .unwrap();
    for path in [
        "/.",
        "/..",
        "/a/./b",
        "/a/../b",
        "/a/%2E/b",
        "/a/%2e/b",
        "/a/%2E%2E/b",
        "/a/%2e%2e/b",
        "/a/.%2E/b",
        "/a/%2E./b",
        "/a/.%2e/b",
        "/a/%2e./b",
        "/a/%2E%2e",
        "/a/..",
        "/a/.",
        "/./a",
        "/a/%2E%2E/b?q=1",
    ] {
        assert_eq!(
            target(&policy, path, &[]),
            Err(TargetError::DotSegment),
            "{path}"
        );
    }
    for path in [
        "/a/.../b",
        "/a/.b",
        "/a/b.",
        "/a/%2E%2E%2E",
        "/a/%252E",
        "/.well-known/x",
    ] {
        assert!(target(&policy, path, &[]).is_ok(), "{path}");
    }
}

#[test]
fn allowed_hosts_restrict_the_request_authority() {
    let policy = UriPolicy::from_request(Scheme::Https)
        .with_allowed_hosts(&["API.example.com", "api.example.com:8443"])
        .build()
        .unwrap();
    assert_eq!(
        target(&policy, "/a", &[("host", "api.example.com")]).unwrap(),
        "https://api.example.com/a"
    );
    assert_eq!(
        target(&policy, "/a", &[("host", "api.EXAMPLE.com:443")]).unwrap(),
        "https://api.example.com/a"
    );
    assert_eq!(
        target(&policy, "/a", &[("host", "api.example.com:8443")]).unwrap(),
        "https://api.example.com:8443/a"
    );
    for host in [
        "evil.example",
        "api.example.com:8080",
        "api.example.com.evil",
    ] {
        assert_eq!(
            target(&policy, "/a", &[("host", host)]),
            Err(TargetError::HostNotAllowed),
            "{host}"
        );
    }
    assert_eq!(
        target(
            &policy,
            "https://evil.example/a",
            &[("host", "api.example.com")]
        ),
        Err(TargetError::HostNotAllowed)
    );
    // forwarded hosts too
    let proxied = UriPolicy::from_trusted_proxy(Scheme::Http, ForwardedHeaders::XForwarded)
        .with_allowed_hosts(&["api.example.com"])
        .build()
        .unwrap();
    assert_eq!(
        target(
            &proxied,
            "/a",
            &[("host", "i"), ("x-forwarded-host", "evil.example")]
        ),
        Err(TargetError::HostNotAllowed)
    );
    assert_eq!(
        target(
            &proxied,
            "/a",
            &[("host", "i"), ("x-forwarded-host", "api.example.com")]
        )
        .unwrap(),
        "http://api.example.com/a"
    );
    for bad in [&[][..], &["a/b"], &["user@h"], &[""]] {
        assert_eq!(
            UriPolicy::from_request(Scheme::Https)
                .with_allowed_hosts(bad)
                .build(),
            Err(ConfigError::InvalidAllowedHost),
            "{bad:?}"
        );
    }
}

#[test]
fn quoted_values_are_unescaped() {
    assert_eq!(forwarded_value("\"a\\\"b\"").unwrap(), "a\"b");
    assert_eq!(
        forwarded_value("\"a\\").unwrap_err(),
        TargetError::InvalidForwarded
    );
    assert_eq!(
        split_outside_quotes("a,\"b,c\",d", ',').unwrap(),
        ["a", "\"b,c\"", "d"]
    );
    assert!(split_outside_quotes("\"a", ',').is_err());
}
#[test]
fn scratch_is_reused_per_thread_and_fresh_when_reentered() {
    let len = dpop_core::Limits::DEFAULT.scratch_len();
    let first = with_scratch(len, |outer| {
        assert_eq!(outer.len(), len);
        outer.fill(0xAA);
        // A verification started while this thread's buffer is in use gets its own buffer.
        let inner_ptr = with_scratch(len / 2, |inner| {
            assert_eq!(inner.len(), len / 2);
            inner.fill(0x55);
            inner.as_ptr()
        });
        assert_ne!(inner_ptr, outer.as_ptr());
        assert!(
            outer.iter().all(|&b| b == 0xAA),
            "the inner call wrote elsewhere"
        );
        outer.as_ptr()
    });
    // Not in use any more: the same buffer again, whatever length is asked up to its size.
    let again = with_scratch(len / 3, |buf| buf.as_ptr());
    assert_eq!(again, first);
    // Another thread has its own.
    let other = std::thread::spawn(move || with_scratch(len, |buf| buf.as_ptr() as usize))
        .join()
        .unwrap();
    assert_ne!(other, first as usize);
}

#[test]
fn long_targets_past_the_short_canonicalization_buffer() {
    let policy = UriPolicy::public_base("https://api.example.com")
        .build()
        .unwrap();
    // Longer than the first buffer `canonical_string` tries, shorter than the limit.
    let segment = "a".repeat(300);
    assert_eq!(
        target(&policy, &format!("/x/%7E{segment}"), &[]),
        Ok(format!("https://api.example.com/x/~{segment}"))
    );
    assert_eq!(
        canonical_string(&format!("https://api.example.com/{segment}")),
        Ok(format!("https://api.example.com/{segment}"))
    );
    // Past the limit: still the input error, not a buffer error.
    let too_long = "a".repeat(dpop_core::consts::MAX_URI_LEN);
    assert_eq!(
        target(&policy, &format!("/{too_long}"), &[]),
        Err(TargetError::Uri(UriError::TooLong))
    );
}

/// The target built the way it was before the one-pass public-base form: the path normalized
/// on its own, appended to the base, and the whole canonicalized again.
fn two_pass_target(base: &str, uri: &str) -> Option<Result<String, TargetError>> {
    let parts = head_parts_checked(uri)?;
    if check_raw_path(&parts.uri).is_err() {
        return None;
    }
    let path = parts.uri.path();
    let path = if path.is_empty() { "/" } else { path };
    let normalized = match normalize_path(path) {
        Ok(normalized) => normalized,
        Err(e) => return Some(Err(TargetError::Uri(e))),
    };
    Some(canonical_string(&format!("{base}{normalized}")).map_err(TargetError::Uri))
}

fn head_parts_checked(uri: &str) -> Option<Parts> {
    let uri: http::Uri = uri.parse().ok()?;
    uri.path().starts_with('/').then_some(())?;
    Some(Request::builder().uri(uri).body(()).ok()?.into_parts().0)
}

#[test]
fn public_base_target_in_one_pass_matches_two_passes() {
    for base in [
        "https://api.example.com",
        "https://example.com/api",
        "http://a",
    ] {
        let policy = UriPolicy::public_base(base).build().unwrap();
        for uri in [
            "/",
            "/v1/x",
            "/a//b/",
            "/%7e%41%2f%2F/x",
            "/a/%zz",
            "/a%",
            "/caf%C3%A9/%e2%82%ac",
            "/a/b?q=1",
            "//evil.example/x",
            "/.well-known/x",
            "/a/...",
            "/a/%2e%2e%2e/b",
        ] {
            let expected = two_pass_target(base, uri).unwrap();
            assert_eq!(
                policy.target_uri(&head_parts(uri, &[])),
                expected,
                "{base} {uri}"
            );
        }
    }
}

proptest::proptest! {
    #[test]
    fn public_base_target_in_one_pass_matches_two_passes_for_any_path(
        path in "(/[a-zA-Z0-9._~%!$&'()*+,;=:@\"{}|^`-]{0,12}){1,4}",
    ) {
        let base = "https://example.com/api";
        let policy = UriPolicy::public_base(base).build().unwrap();
        if let (Some(expected), Some(parts)) = (two_pass_target(base, &path), head_parts_checked(&path)) {
            proptest::prop_assert_eq!(policy.target_uri(&parts), expected);
        }
    }
}

#[test]
fn token68_and_tchar_tables_match_the_grammar_for_every_byte() {
    for b in 0..=255u8 {
        // RFC 7235 section 2.1: ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/".
        let token68_char = matches!(b, b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9')
            || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        assert_eq!(is_token68([b]), token68_char, "{b:#04x}");
        assert_eq!(is_token68([b, b'=']), token68_char, "{b:#04x}=");
        assert_eq!(
            is_token68([b'a', b]),
            token68_char || b == b'=',
            "a{b:#04x}"
        );
        // RFC 9110 section 5.6.2 tchar.
        let tchar =
            matches!(b, b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9') || b"!#$%&'*+-.^_`|~".contains(&b);
        assert_eq!(head::is_token([b]), tchar, "{b:#04x}");
    }
}

/// The `Authorization` parser as it was before the one-pass table: `to_str`, then a per-byte
/// scan of the credentials.
fn two_pass_authorization(value: &HeaderValue) -> Result<(TokenType, &str), Reason> {
    let text = value.to_str().map_err(|_| Reason::MalformedAuthorization)?;
    let (scheme, credentials) = match text.split_once(' ') {
        Some((scheme, rest)) => (scheme, rest.trim_start_matches(' ')),
        None => (text, ""),
    };
    let scheme = match TokenType::parse(scheme) {
        Ok(scheme) => scheme,
        Err(_)
            if !scheme.is_empty()
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)) =>
        {
            return Err(Reason::UnsupportedScheme);
        }
        Err(_) => return Err(Reason::MalformedAuthorization),
    };
    let body = credentials.trim_end_matches('=');
    if body.is_empty()
        || !body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
    {
        return Err(Reason::MalformedAuthorization);
    }
    Ok((scheme, credentials))
}

proptest::proptest! {
    #[test]
    fn authorization_parser_matches_the_two_pass_parser(
        scheme in proptest::sample::select(vec!["DPoP", "dpop", "Bearer", "Basic", "B(a", "", "DP\u{e9}"]),
        spaces in 0usize..3,
        body in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::sample::select(b"aZ9-._~+/=\t \",;\x7f\x80\xff\x01".to_vec()),
                proptest::num::u8::ANY,
            ],
            0..12,
        ),
    ) {
        let mut bytes = scheme.as_bytes().to_vec();
        bytes.extend(std::iter::repeat_n(b' ', spaces));
        bytes.extend(body);
        if let Ok(value) = HeaderValue::from_bytes(&bytes) {
            proptest::prop_assert_eq!(parse_authorization(&value), two_pass_authorization(&value));
        }
    }
}
