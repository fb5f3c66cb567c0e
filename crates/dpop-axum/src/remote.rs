//! What the JWT and introspection resolvers share: bounded HTTP reads and the `cnf` claim.

use core::time::Duration;
use std::string::String;
use std::vec::Vec;

use dpop_core::Thumbprint;
use serde_json::{Map, Value};

/// Why a request to the authorization server gave nothing usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FetchError {
    /// No connection, a timeout, or a status other than 200.
    Unreachable,
    /// The body was longer than allowed.
    TooLarge,
    /// The body was not what the specification says.
    Malformed,
}

/// An HTTP client with the timeouts of a resolver: `timeout` for the whole exchange, and for
/// the connection alone.
pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
}

/// Reads a 200 response's body, at most `max` bytes (the `Content-Length` is checked first,
/// then each chunk as it arrives, so an endless body stops at the limit).
pub(crate) async fn read_body(
    response: Result<reqwest::Response, reqwest::Error>,
    max: usize,
) -> Result<Vec<u8>, FetchError> {
    let mut response = response.map_err(|_| FetchError::Unreachable)?;
    if response.status() != http::StatusCode::OK {
        return Err(FetchError::Unreachable);
    }
    if response
        .content_length()
        .is_some_and(|len| usize::try_from(len).map_or(true, |len| len > max))
    {
        return Err(FetchError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|_| FetchError::Unreachable)?
    {
        if body.len() + chunk.len() > max {
            return Err(FetchError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Parses a JSON object.
pub(crate) fn json_object(body: &[u8]) -> Result<Map<String, Value>, FetchError> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(FetchError::Malformed),
    }
}

/// The key a token is bound to, from its `cnf` claim (RFC 9449 section 6.1, RFC 7800): `None`
/// without `cnf`. A `cnf` without `jkt` (a certificate binding, RFC 8705) is refused: this
/// resource cannot check it, and accepting the token unbound would drop the binding.
pub(crate) fn bound_key(claims: &Map<String, Value>) -> Result<Option<Thumbprint>, &'static str> {
    let Some(cnf) = claims.get("cnf") else {
        return Ok(None);
    };
    let Some(cnf) = cnf.as_object() else {
        return Err("malformed cnf claim");
    };
    match cnf.get("jkt") {
        Some(Value::String(jkt)) => Thumbprint::from_base64url(jkt)
            .map(Some)
            .map_err(|_| "malformed cnf.jkt"),
        Some(_) => Err("malformed cnf.jkt"),
        None => Err("access token bound by a method other than DPoP"),
    }
}

/// A `NumericDate` (RFC 7519 section 2) as whole seconds: an integer, or the integer part of a
/// non-negative number; `None` for anything else.
pub(crate) fn numeric_date(value: Option<&Value>) -> Option<u64> {
    let number = value?.as_number()?;
    if let Some(secs) = number.as_u64() {
        return Some(secs);
    }
    let secs = number.as_f64()?;
    // In range and not negative, so the conversion is exact after `trunc`.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "checked to be finite, non-negative and below 2^53"
    )]
    (secs.is_finite() && (0.0..9_007_199_254_740_992.0).contains(&secs))
        .then(|| secs.trunc() as u64)
}

/// A string claim.
pub(crate) fn string(claims: &Map<String, Value>, name: &str) -> Option<String> {
    claims.get(name)?.as_str().map(String::from)
}

/// `aud`: one string or an array of strings (RFC 7519 section 4.1.3); other members ignored.
pub(crate) fn audiences(claims: &Map<String, Value>) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(aud)) => std::vec![aud.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| item.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

/// `url` if it is `https`, or `http` on a loopback host.
pub(crate) fn secure_url(url: &str) -> Option<reqwest::Url> {
    let parsed = reqwest::Url::parse(url).ok()?;
    let host = parsed.host_str()?;
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<core::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => Some(parsed),
        "http" if loopback => Some(parsed),
        _ => None,
    }
}

/// A poisoned lock still holds consistent data here: every critical section only assigns,
/// inserts, reads or prunes.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Seconds since the Unix epoch.
#[cfg(feature = "introspection")]
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(json: &str) -> Map<String, Value> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn cnf() {
        let jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
        assert_eq!(bound_key(&claims("{}")), Ok(None));
        assert!(
            bound_key(&claims(&format!(r#"{{"cnf":{{"jkt":"{jkt}"}}}}"#)))
                .unwrap()
                .is_some()
        );
        assert_eq!(
            bound_key(&claims(r#"{"cnf":{"jkt":"short"}}"#)),
            Err("malformed cnf.jkt")
        );
        assert_eq!(
            bound_key(&claims(r#"{"cnf":{"jkt":7}}"#)),
            Err("malformed cnf.jkt")
        );
        assert_eq!(
            bound_key(&claims(r#"{"cnf":"x"}"#)),
            Err("malformed cnf claim")
        );
        assert_eq!(
            bound_key(&claims(r#"{"cnf":{"x5t#S256":"abc"}}"#)),
            Err("access token bound by a method other than DPoP")
        );
    }

    #[test]
    fn dates() {
        assert_eq!(numeric_date(Some(&serde_json::json!(5))), Some(5));
        assert_eq!(numeric_date(Some(&serde_json::json!(5.9))), Some(5));
        assert_eq!(numeric_date(Some(&serde_json::json!(-1))), None);
        assert_eq!(numeric_date(Some(&serde_json::json!("5"))), None);
        assert_eq!(numeric_date(None), None);
    }

    #[test]
    fn issuer_urls() {
        for ok in [
            "https://as.example.com",
            "http://127.0.0.1:8080",
            "http://localhost/x",
        ] {
            assert!(secure_url(ok).is_some(), "{ok}");
        }
        for bad in [
            "http://as.example.com",
            "ftp://as.example.com",
            "as.example.com",
            "",
        ] {
            assert!(secure_url(bad).is_none(), "{bad}");
        }
    }
}
