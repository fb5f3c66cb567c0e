//! `challenges` (dpop-reqwest, dpop-std): the two `WWW-Authenticate` parsers, the token
//! manager's (`invalid_token` detection) and the client's (nonce challenges), against each
//! other and against a renderer.
//!
//! Input: a first byte `#` makes the rest an `arbitrary` description of a challenge list
//! (schemes and parameter names of token characters, any parameter values), which is rendered
//! with varied separators and whitespace, tokens where the value is one and quoted-strings
//! with escapes elsewhere: both parsers must return exactly that list, and `invalid_token` must
//! say whether a `DPoP` or `Bearer` challenge in it has `error="invalid_token"`. Any other
//! input is a header value (lossy UTF-8; `\n` separates several `WWW-Authenticate` headers):
//! neither parser panics; what each returns renders to a canonical value that both parsers
//! read back as exactly that (where the names are token characters); `invalid_token` agrees
//! with the token manager's parse of each header.

use arbitrary::{Arbitrary, Unstructured};
use dpop_reqwest::__fuzzing as reqwest_internals;
use dpop_std::__fuzzing as std_internals;
use http::header::WWW_AUTHENTICATE;
use http::{HeaderMap, HeaderValue};

type Challenges = Vec<(String, Vec<(String, String)>)>;

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_tchar)
}

fn quoted(value: &str) -> String {
    let mut out = String::from('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The canonical rendering: `Scheme a="x", b="y", Other`.
fn render(list: &Challenges) -> String {
    let mut parts = Vec::new();
    for (scheme, params) in list {
        let params: Vec<String> = params
            .iter()
            .map(|(n, v)| format!("{n}={}", quoted(v)))
            .collect();
        if params.is_empty() {
            parts.push(scheme.clone());
        } else {
            parts.push(format!("{scheme} {}", params.join(", ")));
        }
    }
    parts.join(", ")
}

fn model_invalid_token(list: &Challenges) -> bool {
    list.iter().any(|(scheme, params)| {
        (scheme.eq_ignore_ascii_case("dpop") || scheme.eq_ignore_ascii_case("bearer"))
            && params
                .iter()
                .any(|(n, v)| n.eq_ignore_ascii_case("error") && v == "invalid_token")
    })
}

fn headers(values: &[String]) -> Option<HeaderMap> {
    let mut map = HeaderMap::new();
    for v in values {
        map.append(WWW_AUTHENTICATE, HeaderValue::from_str(v).ok()?);
    }
    Some(map)
}

const SCHEMES: &[&str] = &[
    "DPoP",
    "Bearer",
    "dpop",
    "BEARER",
    "Basic",
    "Negotiate",
    "x",
];
const NAMES: &[&str] = &[
    "error",
    "ERROR",
    "realm",
    "algs",
    "error_description",
    "scope",
    "e",
];
const VALUES: &[&str] = &[
    "invalid_token",
    "use_dpop_nonce",
    "Invalid_Token",
    "ES256 PS256",
    "",
];

fn token(u: &mut Unstructured<'_>, known: &[&str]) -> arbitrary::Result<String> {
    if bool::arbitrary(u)? {
        return Ok((*u.choose(known)?).to_owned());
    }
    let raw = String::arbitrary(u)?;
    let t: String = raw.chars().filter(|&c| is_tchar(c)).take(12).collect();
    Ok(if t.is_empty() { String::from("t") } else { t })
}

/// A generated list and its rendering with varied separators and value forms.
fn generate(u: &mut Unstructured<'_>) -> arbitrary::Result<(Challenges, String)> {
    let mut list: Challenges = Vec::new();
    let mut text = String::new();
    for _ in 0..u.int_in_range(0..=4)? {
        if !list.is_empty() {
            text.push_str(u.choose(&[", ", ",", " , ", "\t,\t", ",, "])?);
        } else if bool::arbitrary(u)? {
            text.push_str(u.choose(&[" ", ", ", "\t"])?);
        }
        let scheme = token(u, SCHEMES)?;
        text.push_str(&scheme);
        let mut params = Vec::new();
        for i in 0..u.int_in_range(0..=3)? {
            text.push_str(if i == 0 {
                u.choose(&[" ", "  ", "\t"])?
            } else {
                u.choose(&[", ", ",", " ,", ",\t"])?
            });
            let name = token(u, NAMES)?;
            let value = if bool::arbitrary(u)? {
                (*u.choose(VALUES)?).to_owned()
            } else {
                String::arbitrary(u)?
            };
            text.push_str(&name);
            if bool::arbitrary(u)? {
                text.push_str(u.choose(&[" =", "= ", " = "])?);
            } else {
                text.push('=');
            }
            if is_token(&value) && bool::arbitrary(u)? {
                text.push_str(&value);
            } else {
                text.push_str(&quoted(&value));
            }
            params.push((name, value));
        }
        list.push((scheme, params));
    }
    Ok((list, text))
}

fn structured(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok((list, text)) = generate(&mut u) else {
        return;
    };
    assert_eq!(
        reqwest_internals::challenges(&text),
        list,
        "token manager on {text:?}"
    );
    assert_eq!(std_internals::challenges(&text), list, "client on {text:?}");
    // `invalid_token` reads only visible-ASCII values (`HeaderValue::to_str`): a value with
    // other bytes is skipped whole (regressions/challenges/non-ascii-value-skipped).
    if let Some(map) = headers(core::slice::from_ref(&text)) {
        let expected = text.is_ascii() && model_invalid_token(&list);
        assert_eq!(reqwest_internals::invalid_token(&map), expected, "{text:?}");
    }
}

fn raw(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let values: Vec<String> = text.split('\n').map(str::to_owned).collect();
    let mut any_invalid = false;
    let mut all_valid_headers = true;
    for value in &values {
        let ours = reqwest_internals::challenges(value);
        let theirs = std_internals::challenges(value);
        for parsed in [&ours, &theirs] {
            if parsed
                .iter()
                .all(|(s, ps)| is_token(s) && ps.iter().all(|(n, _)| is_token(n)))
            {
                let canonical = render(parsed);
                assert_eq!(
                    &reqwest_internals::challenges(&canonical),
                    parsed,
                    "token manager re-reading {canonical:?} (from {value:?})"
                );
                assert_eq!(
                    &std_internals::challenges(&canonical),
                    parsed,
                    "client re-reading {canonical:?} (from {value:?})"
                );
            }
        }
        if HeaderValue::from_str(value).is_ok() {
            // `invalid_token` reads only the values that are visible ASCII (`to_str`).
            if value.is_ascii() {
                any_invalid |= model_invalid_token(&ours);
            }
        } else {
            all_valid_headers = false;
        }
    }
    if all_valid_headers && let Some(map) = headers(&values) {
        assert_eq!(reqwest_internals::invalid_token(&map), any_invalid);
    }
}

/// The target.
pub fn run(data: &[u8]) {
    match data.split_first() {
        Some((b'#', rest)) => structured(rest),
        _ => raw(data),
    }
}
