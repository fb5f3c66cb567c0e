//! `resolver_claims` (dpop-axum): what the JWT and introspection resolvers read from the
//! authorization server's JSON, on any body.
//!
//! - `json_object` accepts exactly the bodies serde_json reads as an object, with the same
//!   members.
//! - `numeric_date` of every member (and of `exp`, `iat`, `nbf`): `Some(n)` exactly for a
//!   non-negative integer `n` that fits `u64`, or a finite non-negative number below 2^53
//!   whose integer part is `n`; negative, fractional below zero, huge or non-numbers are
//!   `None` (a model over the number's text).
//! - `audiences`: the `aud` string, or the string members of an `aud` array, in order.
//! - `bound_key`: `Ok(None)` exactly without `cnf`; `Ok(Some(t))` exactly when `cnf` is an
//!   object whose `jkt` is a string that decodes to 32 bytes, and then `t` encodes back to that
//!   string; a `cnf` without `jkt` is refused (a binding this resource cannot check is never
//!   dropped).
//! - `secure_url` of every string member: `https`, or `http` on `localhost` or a loopback IP
//!   (checked through `Url::host`, not the host text).
//! - An introspection response, through two resolvers (with and without an audience):
//!   accepted exactly when `active` is `true`, `exp` is absent or in the future, `nbf` absent
//!   or past, the audience listed (when configured), `cnf` valid, and a `DPoP` `token_type`
//!   has `cnf.jkt`; the token's fields are the helpers' readings; `Bound` exactly with `jkt`.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use dpop_axum::__fuzzing as axum_internals;
use dpop_axum::introspection::IntrospectionResolver;
use dpop_core::Thumbprint;
use dpop_reqwest::reqwest::Url;
use serde_json::{Map, Number, Value};
use url::Host;

const AUDIENCE: &str = "https://rs.example";

fn resolvers() -> &'static [(Option<&'static str>, IntrospectionResolver); 2] {
    static RESOLVERS: OnceLock<[(Option<&'static str>, IntrospectionResolver); 2]> =
        OnceLock::new();
    RESOLVERS.get_or_init(|| {
        let build = |audience: Option<&str>| {
            let builder =
                IntrospectionResolver::builder("https://as.example/introspect", "rs", "secret");
            match audience {
                Some(aud) => builder.with_audience(aud),
                None => builder,
            }
            .build()
            .unwrap()
        };
        [(None, build(None)), (Some(AUDIENCE), build(Some(AUDIENCE)))]
    })
}

/// The model of `numeric_date`, from the number's text.
fn numeric_date_model(n: &Number) -> Option<u64> {
    let text = n.to_string();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(secs);
    }
    let x: f64 = text.parse().ok()?;
    if x.is_finite() && (0.0..9_007_199_254_740_992.0).contains(&x) {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Some(x.trunc() as u64)
    } else {
        None
    }
}

fn date(claims: &Map<String, Value>, name: &str) -> Option<u64> {
    let got = axum_internals::numeric_date(claims.get(name));
    let expected = match claims.get(name) {
        Some(Value::Number(n)) => numeric_date_model(n),
        _ => None,
    };
    assert_eq!(
        got,
        expected,
        "numeric_date of {name}: {:?}",
        claims.get(name)
    );
    got
}

fn audiences_model(claims: &Map<String, Value>) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn check_bound_key(claims: &Map<String, Value>) -> Result<Option<Thumbprint>, &'static str> {
    let got = axum_internals::bound_key(claims);
    match (claims.get("cnf"), &got) {
        (None, Ok(None)) => {}
        (None, _) => panic!("no cnf but {got:?}"),
        (Some(Value::Object(cnf)), Ok(Some(t))) => {
            let jkt = cnf.get("jkt").and_then(Value::as_str).expect("jkt string");
            assert_eq!(t.to_string(), jkt, "jkt round trip");
        }
        (Some(Value::Object(cnf)), Err(_)) => {
            if let Some(Value::String(jkt)) = cnf.get("jkt") {
                assert!(
                    Thumbprint::from_base64url(jkt).is_err(),
                    "valid jkt {jkt:?} refused"
                );
            }
        }
        (Some(cnf), got) => assert!(got.is_err(), "cnf {cnf:?} gave {got:?}"),
    }
    got
}

fn check_secure_url(text: &str) {
    let got = axum_internals::secure_url(text);
    let expected = Url::parse(text).ok().filter(|url| match url.scheme() {
        "https" => url.host().is_some(),
        "http" => match url.host() {
            Some(Host::Domain(d)) => d == "localhost",
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        },
        _ => false,
    });
    assert_eq!(got, expected, "secure_url({text:?})");
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn check_introspection(body: &[u8], claims: &Map<String, Value>) {
    let before = now();
    for (audience, resolver) in resolvers() {
        let got =
            axum_internals::introspection_response(resolver, body).expect("an object body is read");
        let after = now();
        // Too close to the clock to judge.
        let near = |t: Option<u64>| {
            t.is_some_and(|t| t.saturating_add(2) >= before && t <= after.saturating_add(2))
        };
        let exp = axum_internals::numeric_date(claims.get("exp"));
        let nbf = axum_internals::numeric_date(claims.get("nbf"));
        if near(exp) || near(nbf) {
            continue;
        }
        let audiences = audiences_model(claims);
        let jkt = axum_internals::bound_key(claims);
        let dpop = claims
            .get("token_type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("dpop"));
        let accept = claims.get("active") == Some(&Value::Bool(true))
            && exp.is_none_or(|e| e > after)
            && nbf.is_none_or(|n| n <= before)
            && audience.is_none_or(|a| audiences.iter().any(|x| x == a))
            && jkt.as_ref().is_ok_and(|k| k.is_some() || !dpop);
        match got {
            Ok((bound, token)) => {
                assert!(accept, "accepted {claims:?}");
                assert_eq!(Ok(bound), jkt);
                assert_eq!(token.expires_at, exp);
                assert_eq!(
                    token.issued_at,
                    axum_internals::numeric_date(claims.get("iat"))
                );
                assert_eq!(token.audience, audiences);
                let s = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
                assert_eq!(token.scope, s("scope"));
                assert_eq!(token.client_id, s("client_id"));
                assert_eq!(token.username, s("username"));
                assert_eq!(token.token_type, s("token_type"));
                assert_eq!(token.subject, s("sub"));
                assert_eq!(token.issuer, s("iss"));
                assert_eq!(&token.claims, claims);
            }
            Err(why) => assert!(!accept, "refused ({why}) {claims:?}"),
        }
    }
}

/// The target.
pub fn run(data: &[u8]) {
    let got = axum_internals::json_object(data);
    let expected = match serde_json::from_slice::<Value>(data) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    };
    assert_eq!(got, expected, "json_object");
    let Some(claims) = got else {
        for (_, resolver) in resolvers() {
            assert!(axum_internals::introspection_response(resolver, data).is_none());
        }
        return;
    };
    for name in claims.keys() {
        date(&claims, name);
    }
    for name in ["exp", "iat", "nbf"] {
        date(&claims, name);
    }
    assert_eq!(axum_internals::audiences(&claims), audiences_model(&claims));
    let _ = check_bound_key(&claims);
    for value in claims.values() {
        if let Value::String(text) = value {
            check_secure_url(text);
        }
    }
    check_introspection(data, &claims);
}
