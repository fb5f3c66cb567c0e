//! `jwt_claims` (dpop-axum with `jwt`, fuzz feature `jwt`; not in the CI smoke): JWKS entries
//! and the claims of a validated JWT access token.
//!
//! Input: JSON. If it is an object:
//!
//! - `AccessTokenClaims` deserializes exactly when `iss` is a string and `exp` a NumericDate
//!   (as `numeric_date` reads it), and then: `issuer`, `subject`, `jwt_id`, `client_id`,
//!   `scope` are the string members, `audience` the `aud` string or the string members of an
//!   `aud` array, `expires_at` and `issued_at` the NumericDates, `claims` the whole object;
//!   `has_scope` agrees with splitting `scope` on spaces.
//! - The object as a JWKS entry: a key is kept only if `use` is absent or `"sig"`, `kty` is
//!   `RSA` or `EC` (never `oct` or `OKP`), `alg` absent or a string jsonwebtoken names; the
//!   kept `kid` is the string `kid`; an `EC` key has the family `EC`, an `RSA` key `RSA`.
//!
//! If it is an object with a `keys` array, each member is also taken as a JWKS entry.

use dpop_axum::__fuzzing as axum_internals;
use dpop_axum::jwt::AccessTokenClaims;
use serde_json::{Map, Value};

fn check_key(entry: &Value) {
    let Some((kid, alg, family)) = axum_internals::jwks_key(entry) else {
        return;
    };
    let member = |name: &str| entry.get(name);
    assert!(
        member("use").is_none_or(|u| u == "sig"),
        "kept an entry with use {:?}",
        member("use")
    );
    let kty = member("kty").and_then(Value::as_str);
    assert!(
        matches!((kty, family), (Some("RSA"), "RSA") | (Some("EC"), "EC")),
        "kty {kty:?} kept as {family}"
    );
    assert_eq!(
        kid.as_deref(),
        member("kid").and_then(Value::as_str),
        "kid of the kept key"
    );
    match member("alg") {
        None => assert!(alg.is_none()),
        Some(v) => assert_eq!(alg.as_deref(), v.as_str(), "alg of the kept key"),
    }
}

fn check_claims(object: &Map<String, Value>, text: &[u8]) {
    let parsed = serde_json::from_slice::<AccessTokenClaims>(text);
    let s = |name: &str| object.get(name).and_then(Value::as_str).map(str::to_owned);
    let exp = axum_internals::numeric_date(object.get("exp"));
    match parsed {
        Ok(claims) => {
            assert_eq!(Some(&claims.issuer), s("iss").as_ref());
            assert_eq!(Some(claims.expires_at), exp);
            assert_eq!(
                claims.issued_at,
                axum_internals::numeric_date(object.get("iat"))
            );
            assert_eq!(claims.subject, s("sub"));
            assert_eq!(claims.jwt_id, s("jti"));
            assert_eq!(claims.client_id, s("client_id"));
            assert_eq!(claims.scope, s("scope"));
            assert_eq!(claims.audience, axum_internals::audiences(object));
            assert_eq!(&claims.claims, object);
            if let Some(scope) = &claims.scope {
                for word in scope.split(' ') {
                    assert!(claims.has_scope(word));
                }
            }
            assert!(!claims.has_scope("\u{0}not a scope"));
        }
        Err(_) => assert!(
            s("iss").is_none() || exp.is_none(),
            "AccessTokenClaims refused {object:?}"
        ),
    }
}

/// The target.
pub fn run(data: &[u8]) {
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    check_claims(&object, data);
    let entry = Value::Object(object);
    check_key(&entry);
    if let Some(Value::Array(keys)) = entry.get("keys") {
        keys.iter().take(16).for_each(check_key);
    }
}
