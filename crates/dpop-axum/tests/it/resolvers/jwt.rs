//! `JwtResolver`: every rule with a token that breaks it, keys fetched and refetched from a
//! local JWKS server.

use std::time::Duration;

use dpop_axum::jwt::{JwtAlgorithm, JwtConfigError, JwtResolver};
use dpop_axum::{TokenResolver as _, TokenStatus};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use super::common::{AUDIENCE, Answers, JKT, TestKey, claims, jwks, jwks_server, now};

/// A JWKS server holding `keys`, and a resolver for it with `jwks_uri` configured.
async fn setup(keys: &[&TestKey]) -> (Answers, String, JwtResolver) {
    let answers = Answers::default();
    *answers.jwks.lock().unwrap() = jwks(keys);
    let issuer = jwks_server(&answers).await;
    let resolver = JwtResolver::builder(&issuer)
        .with_audience(AUDIENCE)
        .with_jwks_uri(format!("{issuer}/jwks"))
        .build()
        .unwrap();
    (answers, issuer, resolver)
}

fn invalid<T>(status: &TokenStatus<T>) -> Option<&'static str> {
    match status {
        TokenStatus::Invalid(description) => Some(description),
        _ => None,
    }
}

fn is_bound<T>(status: &TokenStatus<T>) -> bool {
    matches!(status, TokenStatus::Bound { jkt, .. } if jkt.to_string() == JKT)
}

fn is_unavailable<T>(status: &TokenStatus<T>) -> bool {
    matches!(status, TokenStatus::Unavailable { .. })
}

#[tokio::test]
async fn bound_and_unbound_tokens_with_their_claims() {
    let rsa = TestKey::rsa(Algorithm::RS256, "rsa");
    let ec = TestKey::ec(Algorithm::ES256, "ec");
    let (answers, issuer, resolver) = setup(&[&rsa, &ec]).await;

    let status = resolver.resolve(&rsa.sign(&claims(&issuer))).await;
    let TokenStatus::Bound { jkt, claims: got } = status else {
        panic!("a bound token")
    };
    assert_eq!(jkt.to_string(), JKT);
    assert_eq!(got.issuer, issuer);
    assert_eq!(got.subject.as_deref(), Some("alice"));
    assert_eq!(got.audience, [AUDIENCE]);
    assert_eq!(got.client_id.as_deref(), Some("app"));
    assert!(got.has_scope("write") && !got.has_scope("admin"));
    assert_eq!(got.claims["jti"], "t-1");

    let mut unbound = claims(&issuer);
    unbound.as_object_mut().unwrap().remove("cnf");
    let status = resolver.resolve(&ec.sign(&unbound)).await;
    assert!(matches!(status, TokenStatus::Unbound { .. }));
    assert_eq!(answers.hits(), 1, "one fetch for both keys");
}

#[tokio::test]
async fn issuer_audience_and_times() {
    let rsa = TestKey::rsa(Algorithm::RS256, "rsa");
    let (_, issuer, resolver) = setup(&[&rsa]).await;
    let with = |name: &str, value: Value| {
        let mut c = claims(&issuer);
        c[name] = value;
        rsa.sign(&c)
    };
    let cases = [
        (
            with("iss", "https://other.example".into()),
            Some("access token from another issuer"),
        ),
        (
            with("aud", "https://other.example".into()),
            Some("access token for another audience"),
        ),
        (
            with("aud", json!(["https://other.example", AUDIENCE])),
            None,
        ),
        (
            with("exp", (now() - 120).into()),
            Some("access token expired"),
        ),
        // Within the default 30 s leeway.
        (with("exp", (now() - 10).into()), None),
        (with("nbf", (now() + 10).into()), None),
        (
            with("nbf", (now() + 120).into()),
            Some("access token not yet valid"),
        ),
        (
            with("exp", "soon".into()),
            Some("access token lacks a required claim"),
        ),
    ];
    for (i, (token, expected)) in cases.into_iter().enumerate() {
        let status = resolver.resolve(&token).await;
        match expected {
            None => assert!(is_bound(&status), "case {i}"),
            Some(description) => assert_eq!(invalid(&status), Some(description), "case {i}"),
        }
    }
    let mut no_exp = claims(&issuer);
    no_exp.as_object_mut().unwrap().remove("exp");
    let status = resolver.resolve(&rsa.sign(&no_exp)).await;
    assert_eq!(
        invalid(&status),
        Some("access token lacks a required claim")
    );
}

#[tokio::test]
async fn leeway_is_configurable() {
    let rsa = TestKey::rsa(Algorithm::RS256, "rsa");
    let (_, issuer, _) = setup(&[&rsa]).await;
    let resolver = JwtResolver::builder(&issuer)
        .with_audience(AUDIENCE)
        .with_jwks_uri(format!("{issuer}/jwks"))
        .with_leeway(Duration::ZERO)
        .build()
        .unwrap();
    let mut c = claims(&issuer);
    c["exp"] = (now() - 10).into();
    let status = resolver.resolve(&rsa.sign(&c)).await;
    assert_eq!(invalid(&status), Some("access token expired"));
    c["exp"] = (now() + 300).into();
    c["nbf"] = (now() + 10).into();
    let status = resolver.resolve(&rsa.sign(&c)).await;
    assert_eq!(invalid(&status), Some("access token not yet valid"));
}

#[tokio::test]
async fn only_allowed_algorithms() {
    let rsa = TestKey::rsa(Algorithm::RS256, "rsa");
    let ps = TestKey::rsa(Algorithm::PS256, "ps");
    let es256 = TestKey::ec(Algorithm::ES256, "es256");
    let es384 = TestKey::ec(Algorithm::ES384, "es384");
    let (_, issuer, resolver) = setup(&[&rsa, &ps, &es256, &es384]).await;
    let c = claims(&issuer);
    for key in [&rsa, &ps, &es256, &es384] {
        assert!(
            is_bound(&resolver.resolve(&key.sign(&c)).await),
            "{:?}",
            key.alg
        );
    }

    // `none`, with an empty signature or another token's.
    let b64 = |v: &Value| {
        use base64ct::{Base64UrlUnpadded, Encoding as _};
        Base64UrlUnpadded::encode_string(v.to_string().as_bytes())
    };
    let none_header = json!({"alg": "none", "typ": "at+jwt", "kid": "rsa"});
    let signed = rsa.sign(&c);
    let signature = signed.rsplit('.').next().unwrap();
    for token in [
        format!("{}.{}.", b64(&none_header), b64(&c)),
        format!("{}.{}.{signature}", b64(&none_header), b64(&c)),
    ] {
        assert!(invalid(&resolver.resolve(&token).await).is_some());
    }

    // HS256 keyed with the public key: refused before any key is looked at.
    for secret in [
        rsa.jwk.to_string(),
        rsa.jwk["n"].as_str().unwrap().to_owned(),
    ] {
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some("at+jwt".into());
        header.kid = Some("rsa".into());
        let key = EncodingKey::from_secret(secret.as_bytes());
        let token = jsonwebtoken::encode(&header, &c, &key).unwrap();
        let status = resolver.resolve(&token).await;
        assert_eq!(
            invalid(&status),
            Some("access token algorithm not accepted")
        );
    }

    // An allow-list of RS256 alone refuses the others, keys at hand.
    let narrow = JwtResolver::builder(&issuer)
        .with_audience(AUDIENCE)
        .with_jwks_uri(format!("{issuer}/jwks"))
        .with_algorithms(&[JwtAlgorithm::Rs256])
        .build()
        .unwrap();
    assert!(is_bound(&narrow.resolve(&rsa.sign(&c)).await));
    for key in [&ps, &es256, &es384] {
        let status = narrow.resolve(&key.sign(&c)).await;
        assert_eq!(
            invalid(&status),
            Some("access token algorithm not accepted")
        );
    }
}

#[tokio::test]
async fn a_key_published_for_another_algorithm_is_not_used() {
    // The JWK says RS256; a PS256 token signed with the same RSA key is refused.
    let rsa = TestKey::rsa(Algorithm::RS256, "rsa");
    let mut published = TestKey::rsa(Algorithm::RS256, "rsa");
    published.jwk["alg"] = "RS256".into();
    let (_, issuer, resolver) = setup(&[&published]).await;
    let ps = TestKey::rsa(Algorithm::PS256, "rsa");
    assert!(is_bound(
        &resolver.resolve(&rsa.sign(&claims(&issuer))).await
    ));
    let status = resolver.resolve(&ps.sign(&claims(&issuer))).await;
    assert_eq!(invalid(&status), Some("unknown signing key"));
}

#[tokio::test]
async fn typ_at_jwt() {
    let rsa = TestKey::rsa(Algorithm::RS256, "rsa");
    let (_, issuer, resolver) = setup(&[&rsa]).await;
    let c = claims(&issuer);
    for typ in ["at+jwt", "AT+JWT", "application/at+jwt"] {
        let status = resolver.resolve(&rsa.sign_typ(Some(typ), &c)).await;
        assert!(is_bound(&status), "{typ}");
    }
    for typ in [Some("JWT"), Some("dpop+jwt"), None] {
        let status = resolver.resolve(&rsa.sign_typ(typ, &c)).await;
        assert_eq!(
            invalid(&status),
            Some("access token typ is not at+jwt"),
            "{typ:?}"
        );
    }
    let lenient = JwtResolver::builder(&issuer)
        .with_audience(AUDIENCE)
        .with_jwks_uri(format!("{issuer}/jwks"))
        .with_typ_required(false)
        .build()
        .unwrap();
    assert!(is_bound(
        &lenient.resolve(&rsa.sign_typ(Some("JWT"), &c)).await
    ));
}

#[tokio::test]
async fn unknown_kid_refetches_at_most_once_per_interval() {
    let rsa = TestKey::rsa(Algorithm::RS256, "rsa");
    let (answers, issuer, _) = setup(&[&rsa]).await;
    let interval = Duration::from_millis(400);
    let resolver = JwtResolver::builder(&issuer)
        .with_audience(AUDIENCE)
        .with_jwks_uri(format!("{issuer}/jwks"))
        .with_refresh_interval(interval)
        .build()
        .unwrap();
    let c = claims(&issuer);
    assert!(is_bound(&resolver.resolve(&rsa.sign(&c)).await));
    assert_eq!(answers.hits(), 1);

    // A rotated key, right after the first fetch: the first token with its kid causes one
    // fetch, and is accepted.
    let rotated = TestKey::ec(Algorithm::ES256, "rotated");
    *answers.jwks.lock().unwrap() = jwks(&[&rsa, &rotated]);
    assert!(is_bound(&resolver.resolve(&rotated.sign(&c)).await));
    assert_eq!(answers.hits(), 2);

    // Unknown kids within the interval: no fetch, Invalid.
    let stranger = TestKey::ec(Algorithm::ES256, "stranger");
    for _ in 0..5 {
        let status = resolver.resolve(&stranger.sign(&c)).await;
        assert_eq!(invalid(&status), Some("unknown signing key"));
    }
    assert_eq!(answers.hits(), 2);
    // Known keys never cause a fetch.
    assert!(is_bound(&resolver.resolve(&rsa.sign(&c)).await));
    assert_eq!(answers.hits(), 2);

    // After the interval: exactly one more.
    tokio::time::sleep(interval).await;
    for _ in 0..3 {
        let status = resolver.resolve(&stranger.sign(&c)).await;
        assert_eq!(invalid(&status), Some("unknown signing key"));
    }
    assert_eq!(answers.hits(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_requests_fetch_once() {
    let rsa = TestKey::rsa(Algorithm::RS256, "rsa");
    let (answers, issuer, resolver) = setup(&[&rsa]).await;
    let token = rsa.sign(&claims(&issuer));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let resolver = resolver.clone();
            let token = token.clone();
            tokio::spawn(async move { resolver.resolve(&token).await })
        })
        .collect();
    for task in tasks {
        assert!(is_bound(&task.await.unwrap()));
    }
    assert_eq!(answers.hits(), 1);
}

#[tokio::test]
async fn jwks_too_large_or_too_many_keys() {
    let keys: Vec<_> = (0..3)
        .map(|i| TestKey::ec(Algorithm::ES256, &format!("k{i}")))
        .collect();
    let (_, issuer, _) = setup(&keys.iter().collect::<Vec<_>>()).await;
    let token = keys[0].sign(&claims(&issuer));
    let base = || {
        JwtResolver::builder(&issuer)
            .with_audience(AUDIENCE)
            .with_jwks_uri(format!("{issuer}/jwks"))
    };
    let small = base().with_max_jwks_bytes(200).build().unwrap();
    assert!(matches!(
        small.resolve(&token).await,
        TokenStatus::Unavailable { retry_after: 5 }
    ));
    let few = base().with_max_keys(2).build().unwrap();
    assert!(is_unavailable(&few.resolve(&token).await));
    let enough = base().with_max_keys(3).build().unwrap();
    assert!(is_bound(&enough.resolve(&token).await));
}

#[tokio::test]
async fn jwks_endpoint_down() {
    let rsa = TestKey::rsa(Algorithm::RS256, "rsa");
    let (answers, issuer, _) = setup(&[&rsa]).await;
    let resolver = JwtResolver::builder(&issuer)
        .with_audience(AUDIENCE)
        .with_jwks_uri(format!("{issuer}/jwks"))
        .with_retry_interval(Duration::from_millis(300))
        .with_refresh_interval(Duration::ZERO)
        .build()
        .unwrap();
    let token = rsa.sign(&claims(&issuer));
    answers.set_status(500);
    assert!(matches!(
        resolver.resolve(&token).await,
        TokenStatus::Unavailable { retry_after: 1 }
    ));
    // Within the retry interval: no new fetch.
    assert!(is_unavailable(&resolver.resolve(&token).await));
    assert_eq!(answers.hits(), 1);
    answers.set_status(0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(is_bound(&resolver.resolve(&token).await));
    assert_eq!(answers.hits(), 2);

    // Down again: the cached keys still serve known kids; an unknown kid is Unavailable (the
    // key may exist), not Invalid.
    answers.set_status(500);
    assert!(is_bound(&resolver.resolve(&token).await));
    let stranger = TestKey::ec(Algorithm::ES256, "stranger");
    let status = resolver.resolve(&stranger.sign(&claims(&issuer))).await;
    assert!(is_unavailable(&status));

    // Nothing listening at all.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let nobody = JwtResolver::builder(format!("http://{closed}"))
        .with_audience(AUDIENCE)
        .build()
        .unwrap();
    assert!(is_unavailable(&nobody.resolve(&token).await));
}

#[tokio::test]
async fn malformed_cnf() {
    let rsa = TestKey::rsa(Algorithm::RS256, "rsa");
    let (_, issuer, resolver) = setup(&[&rsa]).await;
    for (cnf, description) in [
        (json!({"jkt": "not-a-thumbprint"}), "malformed cnf.jkt"),
        (json!({"jkt": 42}), "malformed cnf.jkt"),
        (json!("x"), "malformed cnf claim"),
        (
            json!({"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}),
            "access token bound by a method other than DPoP",
        ),
    ] {
        let mut c = claims(&issuer);
        c["cnf"] = cnf;
        let status = resolver.resolve(&rsa.sign(&c)).await;
        assert_eq!(invalid(&status), Some(description));
    }
}

#[tokio::test]
async fn discovery_from_metadata() {
    let rsa = TestKey::rsa(Algorithm::RS256, "rsa");
    let answers = Answers::default();
    *answers.jwks.lock().unwrap() = jwks(&[&rsa]);
    let issuer = jwks_server(&answers).await;
    let token = rsa.sign(&claims(&issuer));
    let resolver = || {
        JwtResolver::builder(&issuer)
            .with_audience(AUDIENCE)
            .with_retry_interval(Duration::ZERO)
            .build()
            .unwrap()
    };
    // No metadata at all.
    assert!(is_unavailable(&resolver().resolve(&token).await));
    // OpenID Connect discovery when the RFC 8414 document is missing (404).
    answers.metadata.lock().unwrap().push((
        "/.well-known/openid-configuration".to_owned(),
        json!({"issuer": issuer, "jwks_uri": format!("{issuer}/jwks")}),
    ));
    assert!(is_bound(&resolver().resolve(&token).await));
    // Metadata naming another issuer is refused (RFC 8414 section 3.3).
    answers.metadata.lock().unwrap()[0].1["issuer"] = "https://evil.example".into();
    assert!(is_unavailable(&resolver().resolve(&token).await));
    // The RFC 8414 document comes first.
    answers.metadata.lock().unwrap().push((
        "/.well-known/oauth-authorization-server".to_owned(),
        json!({"issuer": issuer, "jwks_uri": format!("{issuer}/jwks")}),
    ));
    assert!(is_bound(&resolver().resolve(&token).await));
}

#[tokio::test]
async fn claims_of_your_own_type() {
    #[derive(Clone, serde::Deserialize)]
    struct Mine {
        sub: String,
        tenant: u32,
    }
    let rsa = TestKey::rsa(Algorithm::RS256, "rsa");
    let (_, issuer, _) = setup(&[&rsa]).await;
    let resolver = JwtResolver::builder(&issuer)
        .with_audience(AUDIENCE)
        .with_jwks_uri(format!("{issuer}/jwks"))
        .with_claims::<Mine>()
        .build()
        .unwrap();
    let mut c = claims(&issuer);
    c["tenant"] = 7.into();
    let TokenStatus::Bound { claims: mine, .. } = resolver.resolve(&rsa.sign(&c)).await else {
        panic!("bound")
    };
    assert_eq!((mine.sub.as_str(), mine.tenant), ("alice", 7));
    c["tenant"] = "seven".into();
    let status = resolver.resolve(&rsa.sign(&c)).await;
    assert_eq!(
        invalid(&status),
        Some("access token claims of the wrong shape")
    );
}

#[test]
fn configuration_errors() {
    let build = |issuer: &str| {
        JwtResolver::builder(issuer)
            .with_audience(AUDIENCE)
            .build()
            .map(|_| ())
    };
    assert_eq!(build("https://as.example.com"), Ok(()));
    assert_eq!(build("http://127.0.0.1:1"), Ok(()));
    assert_eq!(build("http://as.example.com"), Err(JwtConfigError::Issuer));
    assert_eq!(
        JwtResolver::builder("https://as.example.com")
            .build()
            .map(|_| ()),
        Err(JwtConfigError::NoAudience)
    );
    assert_eq!(
        JwtResolver::builder("https://as.example.com")
            .with_audience(AUDIENCE)
            .with_algorithms(&[])
            .build()
            .map(|_| ()),
        Err(JwtConfigError::NoAlgorithm)
    );
    assert_eq!(
        JwtResolver::builder("https://as.example.com")
            .with_audience(AUDIENCE)
            .with_jwks_uri("http://as.example.com/jwks")
            .build()
            .map(|_| ()),
        Err(JwtConfigError::JwksUri)
    );
}
