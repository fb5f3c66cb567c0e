//! The `WWW-Authenticate` challenges a client reads (RFC 9110 section 11.6.1).

/// An authentication challenge (RFC 9110 section 11.6.1): a scheme and its parameters.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Challenge {
    pub(super) scheme: String,
    pub(super) params: Vec<(String, String)>,
}

impl Challenge {
    pub(super) fn param(&self, name: &str) -> Option<String> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }
}

/// Parses `#challenge` (RFC 9110 section 11.6.1): `scheme [ 1*SP ( token68 / #auth-param ) ]`,
/// several challenges per header separated by commas. Tolerant: what cannot be parsed ends the
/// list, and whatever was parsed so far is returned.
pub(super) fn parse_challenges(text: &str) -> Vec<Challenge> {
    let mut out: Vec<Challenge> = Vec::new();
    let mut lexer = Lexer::new(text);
    loop {
        lexer.skip_separators();
        let Some(name) = lexer.token() else { break };
        lexer.skip_ws();
        if lexer.peek() == Some(b'=') {
            // `name = value`: a parameter of the current challenge, unless it is a token68
            // (`=` padding followed by a comma or the end).
            let checkpoint = lexer.pos;
            lexer.advance();
            lexer.skip_ws();
            if let Some(value) = lexer.value() {
                match out.last_mut() {
                    Some(challenge) => challenge.params.push((name, value)),
                    None => break,
                }
                continue;
            }
            lexer.pos = checkpoint;
            // token68 of the current challenge: skip it.
            while lexer.peek() == Some(b'=') {
                lexer.advance();
            }
            continue;
        }
        out.push(Challenge {
            scheme: name,
            params: Vec::new(),
        });
    }
    out
}

/// A byte cursor over a header value.
pub(super) struct Lexer<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) pos: usize,
}

impl<'a> Lexer<'a> {
    pub(super) const fn new(text: &'a str) -> Self {
        Self {
            bytes: text.as_bytes(),
            pos: 0,
        }
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    pub(super) const fn advance(&mut self) {
        self.pos += 1;
    }

    pub(super) fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.advance();
        }
    }

    pub(super) fn skip_separators(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.advance();
        }
    }

    /// A `token`, or a token68 (token characters plus `/`, then `=` padding is left).
    pub(super) fn token(&mut self) -> Option<String> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~/".contains(&b))
        {
            self.advance();
        }
        let text = self.bytes.get(start..self.pos)?;
        if text.is_empty() {
            return None;
        }
        core::str::from_utf8(text).ok().map(str::to_owned)
    }

    /// A parameter value: `token` or `quoted-string` (RFC 9110 section 5.6.4), unescaped.
    pub(super) fn value(&mut self) -> Option<String> {
        if self.peek() != Some(b'"') {
            let value = self.token()?;
            self.skip_ws();
            return matches!(self.peek(), None | Some(b',')).then_some(value);
        }
        self.advance();
        let mut out = Vec::new();
        loop {
            match self.peek()? {
                b'"' => {
                    self.advance();
                    break;
                }
                b'\\' => {
                    self.advance();
                    out.push(self.peek()?);
                    self.advance();
                }
                b => {
                    out.push(b);
                    self.advance();
                }
            }
        }
        String::from_utf8(out).ok()
    }
}
