//! Forwarded headers from a trusted proxy: `Forwarded` (RFC 7239) and `X-Forwarded-*`.

use http::header::HeaderMap;

use super::head::is_token;
use super::target::is_authority;
use super::{Scheme, TargetError};

/// Which forwarding headers a trusted proxy sets ([`UriPolicy::from_trusted_proxy`](super::UriPolicy::from_trusted_proxy)). Only that
/// family is read: a proxy that adds `X-Forwarded-*` usually passes a client-sent `Forwarded`
/// through untouched, and the other way round.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ForwardedHeaders {
    /// `Forwarded` (RFC 7239): `proto` and `host` of its last element.
    Forwarded,
    /// `X-Forwarded-Proto` and `X-Forwarded-Host`, last values (cloud load balancers, nginx).
    XForwarded,
}

/// Scheme and host from trusted forwarding headers.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Forwarded {
    pub(super) scheme: Option<Scheme>,
    pub(super) host: Option<String>,
}

/// Reads the one header family the proxy sets: `Forwarded` (RFC 7239), or `X-Forwarded-Proto`
/// / `X-Forwarded-Host`; always the last value, the one added by the proxy in front of this
/// server. The other family is never read.
pub(super) fn read_forwarded(
    headers: &HeaderMap,
    family: ForwardedHeaders,
) -> Result<Forwarded, TargetError> {
    if family == ForwardedHeaders::Forwarded {
        return match last_list_item(headers, "forwarded")? {
            Some(element) => parse_forwarded_element(&element),
            None => Ok(Forwarded::default()),
        };
    }
    let scheme = last_list_item(headers, "x-forwarded-proto")?
        .map(|p| Scheme::parse(&p).ok_or(TargetError::InvalidForwarded))
        .transpose()?;
    let host = last_list_item(headers, "x-forwarded-host")?
        .map(|h| {
            if is_authority(&h) {
                Ok(h)
            } else {
                Err(TargetError::InvalidForwarded)
            }
        })
        .transpose()?;
    Ok(Forwarded { scheme, host })
}

/// The last non-empty element of a comma-separated list spread over every `name` header,
/// splitting only outside quoted strings. `None` when the header is absent.
pub(super) fn last_list_item(
    headers: &HeaderMap,
    name: &str,
) -> Result<Option<String>, TargetError> {
    let mut last = None;
    let mut present = false;
    for value in headers.get_all(name) {
        present = true;
        let text = value.to_str().map_err(|_| TargetError::InvalidForwarded)?;
        for item in split_outside_quotes(text, ',')? {
            let item = item.trim_matches([' ', '\t']);
            if !item.is_empty() {
                last = Some(item.to_owned());
            }
        }
    }
    match last {
        None if present => Err(TargetError::InvalidForwarded),
        other => Ok(other),
    }
}

/// Splits on `separator` outside quoted strings; an unterminated quote is an error.
pub(super) fn split_outside_quotes(text: &str, separator: char) -> Result<Vec<&str>, TargetError> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == separator && !quoted {
            parts.push(text.get(start..i).unwrap_or_default());
            start = i + c.len_utf8();
        }
    }
    if quoted || escaped {
        return Err(TargetError::InvalidForwarded);
    }
    parts.push(text.get(start..).unwrap_or_default());
    Ok(parts)
}

/// `forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] )`, `forwarded-pair =
/// token "=" value` (RFC 7239 section 4); `proto` and `host` are read, each at most once.
pub(super) fn parse_forwarded_element(element: &str) -> Result<Forwarded, TargetError> {
    let mut result = Forwarded::default();
    let mut seen_proto = false;
    for pair in split_outside_quotes(element, ';')? {
        let pair = pair.trim_matches([' ', '\t']);
        if pair.is_empty() {
            continue;
        }
        let (name, value) = pair.split_once('=').ok_or(TargetError::InvalidForwarded)?;
        if !is_token(name) {
            return Err(TargetError::InvalidForwarded);
        }
        let value = forwarded_value(value)?;
        if name.eq_ignore_ascii_case("proto") {
            if seen_proto {
                return Err(TargetError::InvalidForwarded);
            }
            seen_proto = true;
            result.scheme = Some(Scheme::parse(&value).ok_or(TargetError::InvalidForwarded)?);
        } else if name.eq_ignore_ascii_case("host") {
            if result.host.is_some() || !is_authority(&value) {
                return Err(TargetError::InvalidForwarded);
            }
            result.host = Some(value);
        }
    }
    Ok(result)
}

/// A `token` or `quoted-string` value (RFC 9110 section 5.6.4), unescaped.
pub(super) fn forwarded_value(value: &str) -> Result<String, TargetError> {
    let Some(inner) = value.strip_prefix('"') else {
        // Unquoted: `host=example.com:8080` is common though `:` is not a tchar.
        return if value.is_empty() || value.contains(['"', '\\']) {
            Err(TargetError::InvalidForwarded)
        } else {
            Ok(value.to_owned())
        };
    };
    let inner = inner
        .strip_suffix('"')
        .ok_or(TargetError::InvalidForwarded)?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next().ok_or(TargetError::InvalidForwarded)?),
            '"' => return Err(TargetError::InvalidForwarded),
            c => out.push(c),
        }
    }
    Ok(out)
}
