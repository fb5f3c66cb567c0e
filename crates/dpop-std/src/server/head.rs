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
pub(super) fn parse_authorization(value: &HeaderValue) -> Result<(TokenType, &str), Reason> {
    let text = value.to_str().map_err(|_| Reason::MalformedAuthorization)?;
    let (scheme, credentials) = match text.split_once(' ') {
        Some((scheme, rest)) => (scheme, rest.trim_start_matches(' ')),
        None => (text, ""),
    };
    let scheme = match TokenType::parse(scheme) {
        Ok(scheme) => scheme,
        Err(_) if is_token(scheme) => return Err(Reason::UnsupportedScheme),
        Err(_) => return Err(Reason::MalformedAuthorization),
    };
    if !is_token68(credentials) {
        return Err(Reason::MalformedAuthorization);
    }
    Ok((scheme, credentials))
}

/// RFC 7235 section 2.1: `token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
pub(super) fn is_token68(text: &str) -> bool {
    let body = text.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// RFC 9110 section 5.6.2 `token`.
pub(super) fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
