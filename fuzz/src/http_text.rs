//! A tiny HTTP/1-style text format for the dpop-std targets, so that their seeds are readable
//! requests and responses and libFuzzer mutates header lines directly:
//!
//! ```text
//! <first line>\n
//! <name>: <value>\n      (repeated; a name may repeat; lines that are not a valid header are skipped)
//! \n
//! <body>
//! ```
//!
//! `\r\n` works as well as `\n`.

use http::header::{HeaderMap, HeaderName, HeaderValue};

/// A parsed message head.
#[derive(Debug)]
pub struct Head<'a> {
    /// The first line, without its line end.
    pub first_line: &'a [u8],
    /// The valid header lines.
    pub headers: HeaderMap,
    /// Everything after the empty line.
    pub body: &'a [u8],
}

/// Splits `data` into first line, headers and body.
#[must_use]
pub fn parse(data: &[u8]) -> Head<'_> {
    let mut lines = Lines { rest: data };
    let first_line = lines.next().unwrap_or_default();
    let mut headers = HeaderMap::new();
    for line in lines.by_ref() {
        if line.is_empty() {
            break;
        }
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        let value = value.strip_prefix(b" ").unwrap_or(value);
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            headers.append(name, value);
        }
    }
    Head {
        first_line,
        headers,
        body: lines.rest,
    }
}

/// Writes a message in this format (for seeds).
#[must_use]
pub fn write(first_line: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut out = format!("{first_line}\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\n"));
    }
    out.push('\n');
    out.push_str(body);
    out.into_bytes()
}

struct Lines<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let (line, rest) = match self.rest.iter().position(|b| *b == b'\n') {
            Some(i) => (&self.rest[..i], &self.rest[i + 1..]),
            None => (self.rest, &[][..]),
        };
        self.rest = rest;
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    }
}
