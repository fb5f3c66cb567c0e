//! The request head and its credentials: [`RequestHead`], the `Authorization` and `DPoP`
//! header rules.

use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::request::Parts;
use http::{Method, Request, Uri};

use super::Reason;
use crate::wire::TokenType;

/// The parts of a request that verification reads: method, URI and headers.
///
/// Made from `&http::request::Parts`, `&http::Request<B>` or `(&Method, &Uri, &HeaderMap)`.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct RequestHead<'r> {
    /// The request method.
    pub method: &'r Method,
    /// The request target as received (origin-form or absolute-form).
    pub uri: &'r Uri,
    /// The request headers.
    pub headers: &'r HeaderMap,
}

impl<'r> RequestHead<'r> {
    /// A request head from its three parts.
    #[must_use]
    pub const fn new(method: &'r Method, uri: &'r Uri, headers: &'r HeaderMap) -> Self {
        Self {
            method,
            uri,
            headers,
        }
    }
}

impl<'r> From<&'r Parts> for RequestHead<'r> {
    fn from(parts: &'r Parts) -> Self {
        Self::new(&parts.method, &parts.uri, &parts.headers)
    }
}

impl<'r, B> From<&'r Request<B>> for RequestHead<'r> {
    fn from(request: &'r Request<B>) -> Self {
        Self::new(request.method(), request.uri(), request.headers())
    }
}

impl<'r> From<(&'r Method, &'r Uri, &'r HeaderMap)> for RequestHead<'r> {
    fn from((method, uri, headers): (&'r Method, &'r Uri, &'r HeaderMap)) -> Self {
        Self::new(method, uri, headers)
    }
}

/// The `DPoP` request header's name, parsed once.
pub(super) const DPOP_HEADER: HeaderName = HeaderName::from_static(super::DPOP);

/// The one header value named `name`, if any. A [`HeaderName`], not a `&str`: the map
/// would parse and hash a text name on every lookup.
pub(super) fn at_most_one<'h>(
    headers: &'h HeaderMap,
    name: &HeaderName,
) -> Result<Option<&'h HeaderValue>, ()> {
    let mut values = headers.get_all(name).iter();
    let first = values.next();
    if values.next().is_some() {
        Err(())
    } else {
        Ok(first)
    }
}

/// `scheme 1*SP token68` (RFC 7235 section 2.1), scheme case-insensitive.
///
/// One pass over the bytes: a token68 credential is visible ASCII, so the `to_str` check of
/// the whole value is only needed to tell [`Reason::UnsupportedScheme`] (another scheme, the
/// value visible ASCII) from [`Reason::MalformedAuthorization`].
pub(super) fn parse_authorization(value: &HeaderValue) -> Result<(TokenType, &str), Reason> {
    let bytes = value.as_bytes();
    let (scheme, credentials) = match bytes.iter().position(|&b| b == b' ') {
        Some(at) => {
            let (scheme, rest) = bytes.split_at(at);
            let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
            (scheme, rest.get(start..).unwrap_or_default())
        }
        None => (bytes, &[][..]),
    };
    let parsed = core::str::from_utf8(scheme)
        .ok()
        .and_then(|s| TokenType::parse(s).ok());
    let Some(scheme) = parsed else {
        return Err(if is_token(scheme) && value.to_str().is_ok() {
            Reason::UnsupportedScheme
        } else {
            Reason::MalformedAuthorization
        });
    };
    if !is_token68(credentials) {
        return Err(Reason::MalformedAuthorization);
    }
    // token68 is ASCII: this cannot fail, and takes the word-at-a-time ASCII path.
    let credentials =
        core::str::from_utf8(credentials).map_err(|_| Reason::MalformedAuthorization)?;
    Ok((scheme, credentials))
}

/// A byte class as a 256-entry table: ASCII letters and digits plus `extra`.
const fn byte_table(extra: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        #[allow(clippy::cast_possible_truncation, reason = "b < 256")]
        let byte = b as u8;
        table[b] = byte.is_ascii_alphanumeric();
        b += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        table[extra[i] as usize] = true;
        i += 1;
    }
    table
}

/// The token68 characters before the padding (RFC 7235 section 2.1).
static TOKEN68: [bool; 256] = byte_table(b"-._~+/");
/// The `tchar` characters of a token (RFC 9110 section 5.6.2).
static TCHAR: [bool; 256] = byte_table(b"!#$%&'*+-.^_`|~");

/// RFC 7235 section 2.1: `token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
pub(super) fn is_token68(text: impl AsRef<[u8]>) -> bool {
    let text = text.as_ref();
    let body_len = text.len() - text.iter().rev().take_while(|&&b| b == b'=').count();
    let body = text.get(..body_len).unwrap_or_default();
    // No early exit: a branch-free fold that the compiler unrolls (tokens are long, and
    // almost always valid).
    !body.is_empty()
        && body
            .iter()
            .fold(true, |ok, &b| ok & TOKEN68[usize::from(b)])
}

/// RFC 9110 section 5.6.2 `token`.
pub(super) fn is_token(text: impl AsRef<[u8]>) -> bool {
    let text = text.as_ref();
    !text.is_empty() && text.iter().all(|&b| TCHAR[usize::from(b)])
}
