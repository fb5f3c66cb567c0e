//! Reading a server's responses: nonces, the server's time (`Date`, time-error
//! descriptions), caches, and error bodies.

use dpop_core::{UnixTime, is_valid_nonce};
use http::StatusCode;
use http::header::{AGE, DATE, HeaderMap, HeaderName, WWW_AUTHENTICATE};

use super::challenge::parse_challenges;
use super::{DPOP_NONCE, MAX_CHALLENGE_LEN, MAX_ERROR_BODY};
use crate::wire::ErrorBody;

/// `server - local`, saturating.
pub(super) fn offset(server: UnixTime, local: UnixTime) -> i64 {
    let (s, l) = (server.as_secs(), local.as_secs());
    if s >= l {
        i64::try_from(s - l).unwrap_or(i64::MAX)
    } else {
        i64::try_from(l - s).map_or(i64::MIN, |d| -d)
    }
}

/// The one valid `DPoP-Nonce` of a response; several are ambiguous and ignored.
pub(super) fn single_nonce(headers: &HeaderMap) -> Option<String> {
    let mut values = headers.get_all(DPOP_NONCE).iter();
    let first = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let text = first.to_str().ok()?;
    is_valid_nonce(text).then(|| text.to_owned())
}

/// The time of the one `Date` header: IMF-fixdate, or the obsolete RFC 850 and asctime forms,
/// which a recipient must accept (RFC 9110 section 5.6.7).
pub(super) fn date_header(headers: &HeaderMap) -> Option<UnixTime> {
    let mut values = headers.get_all(DATE).iter();
    let first = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let time = httpdate::parse_http_date(first.to_str().ok()?).ok()?;
    let secs = time.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    Some(UnixTime::from_secs(secs))
}

/// True for a response served from a cache, whose `Date` is when it was generated, not now:
/// it has an `Age` (RFC 9111 section 5.1: sent by caches), a `Cache-Status` entry with the
/// `hit` parameter (RFC 9211 section 2.1), or an `X-Cache` saying "hit" (a common, unregistered
/// convention of CDNs).
pub(super) fn from_cache(headers: &HeaderMap) -> bool {
    if headers.contains_key(AGE) {
        return true;
    }
    let cache_status_hit = headers
        .get_all(HeaderName::from_static("cache-status"))
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .flat_map(|entry| entry.split(';').skip(1))
        .any(|param| {
            let name = param.split('=').next().unwrap_or_default().trim();
            name.eq_ignore_ascii_case("hit")
        });
    let x_cache_hit = headers
        .get_all(HeaderName::from_static("x-cache"))
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("hit"));
    cache_status_hit || x_cache_hit
}

/// The `N` of `server time N` in an error description (dpop-std servers' time errors).
pub(super) fn server_time_in(description: &str) -> Option<UnixTime> {
    const MARK: &str = "server time ";
    let start = description.find(MARK)? + MARK.len();
    let digits = description.get(start..)?;
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits
        .get(..end)
        .filter(|d| !d.is_empty() && d.len() <= 19)
        .and_then(|d| d.parse().ok())
        .map(UnixTime::from_secs)
}

/// The OAuth error a response carries: from a JSON body (400 or 401) or a `DPoP` challenge in
/// `WWW-Authenticate` (401 or 400).
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct ResponseError {
    pub(super) code: Option<String>,
    pub(super) description: Option<String>,
}

impl ResponseError {
    pub(super) fn read(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Option<Self> {
        if status != StatusCode::BAD_REQUEST && status != StatusCode::UNAUTHORIZED {
            return None;
        }
        for value in headers.get_all(WWW_AUTHENTICATE) {
            let Ok(text) = value.to_str() else { continue };
            if text.len() > MAX_CHALLENGE_LEN {
                continue;
            }
            for challenge in parse_challenges(text) {
                if challenge.scheme.eq_ignore_ascii_case("DPoP") {
                    let error = challenge.param("error");
                    if error.is_some() {
                        return Some(Self {
                            code: error,
                            description: challenge.param("error_description"),
                        });
                    }
                }
            }
        }
        if body.len() > MAX_ERROR_BODY || body.is_empty() {
            return None;
        }
        let parsed = ErrorBody::from_json(body).ok()?;
        Some(Self {
            code: Some(parsed.error),
            description: parsed.error_description,
        })
    }
}
