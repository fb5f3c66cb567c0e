//! Strict, zero-allocation JSON (RFC 8259) reader for JOSE headers and JWT claims sets.
//!
//! [`parse_object`] validates a whole document in one pass: grammar, UTF-8, string escapes
//! (including UTF-16 surrogate pairing), nesting depth, member counts and duplicate member
//! names. JWS (RFC 7515 section 5.2) and JWT (RFC 7519 section 4) require a recipient to
//! reject duplicate names or use the last one; rejecting is the only choice that keeps two
//! readers of the same proof from disagreeing about its meaning.
//!
//! The returned views ([`Object`], [`Array`], [`Value`], [`JsonStr`], [`Number`]) borrow the
//! validated text and walk it lazily. They never panic: if they are ever handed bytes that were
//! not validated, iteration simply stops early.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented,
    clippy::cast_possible_truncation
)]

/// Deepest nesting of objects and arrays accepted; the top-level object is depth 1.
pub(crate) const MAX_DEPTH: usize = 16;

/// Most members accepted in one object.
pub(crate) const MAX_MEMBERS: usize = 64;

/// Why a document was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JsonError {
    /// The text does not follow the RFC 8259 grammar.
    Syntax,
    /// The document is valid JSON but its top-level value is not an object.
    NotAnObject,
    /// Something other than whitespace follows the top-level value.
    TrailingData,
    /// The bytes are not UTF-8 (checked on the whole input before anything else).
    InvalidUtf8,
    /// A string holds an unescaped character below U+0020.
    ControlCharacter,
    /// A string holds an unknown escape, bad `\u` hex digits or an unpaired UTF-16 surrogate.
    InvalidEscape,
    /// One object has two members whose unescaped names are equal.
    DuplicateMember,
    /// Objects and arrays are nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// An object has more than [`MAX_MEMBERS`] members.
    TooManyMembers,
}

/// The output buffer of [`JsonStr::decode_into`] is too small for the unescaped text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DecodeBufferTooSmall;

/// Validates `input` as one JSON document whose top-level value is an object.
///
/// Whitespace (space, tab, line feed, carriage return) may surround the object. A byte order
/// mark is rejected, as RFC 8259 section 8.1 forbids senders to add one.
///
/// # Errors
///
/// The first problem found, as a [`JsonError`]; invalid UTF-8 anywhere wins over every other
/// error because the whole input is checked first.
pub(crate) fn parse_object(input: &[u8]) -> Result<Object<'_>, JsonError> {
    // Checking UTF-8 once up front (with core's fast ASCII path) lets the grammar pass treat
    // every byte >= 0x80 as an opaque string byte.
    let text = core::str::from_utf8(input).map_err(|_| JsonError::InvalidUtf8)?;
    let mut parser = Parser {
        text,
        bytes: input,
        pos: 0,
    };
    parser.skip_ws();
    let start = parser.pos;
    let is_object = parser.peek() == Some(b'{');
    parser.value(0)?;
    let end = parser.pos;
    parser.skip_ws();
    if parser.pos != input.len() {
        return Err(JsonError::TrailingData);
    }
    if !is_object {
        return Err(JsonError::NotAnObject);
    }
    let text = text.get(start..end).ok_or(JsonError::Syntax)?;
    Ok(Object { text })
}

/// Cursor of the validating pass.
struct Parser<'a> {
    /// The whole input, known to be UTF-8.
    text: &'a str,
    /// `text` as bytes.
    bytes: &'a [u8],
    /// Index of the next unread byte.
    pos: usize,
}

impl<'a> Parser<'a> {
    /// The next unread byte.
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Moves past RFC 8259 whitespace.
    #[inline]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// Validates one value; `depth` is the nesting of the container holding it.
    fn value(&mut self, depth: usize) -> Result<(), JsonError> {
        match self.peek() {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().map(|_| ()),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            _ => Err(JsonError::Syntax),
        }
    }

    /// Validates the literal `word` at the cursor.
    #[inline]
    fn literal(&mut self, word: &[u8]) -> Result<(), JsonError> {
        let end = self.pos + word.len();
        if self.bytes.get(self.pos..end) == Some(word) {
            self.pos = end;
            Ok(())
        } else {
            Err(JsonError::Syntax)
        }
    }

    /// Moves past ASCII digits, returning how many there were.
    #[inline]
    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    /// Validates `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?` at the cursor.
    fn number(&mut self) -> Result<(), JsonError> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            // A leading zero stands alone; a digit after it is caught by the caller.
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(JsonError::Syntax),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(JsonError::Syntax);
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(JsonError::Syntax);
            }
        }
        Ok(())
    }

    /// Validates the string whose opening quote is at the cursor and returns its raw content
    /// and whether that content holds any escape.
    fn string(&mut self) -> Result<(&'a str, bool), JsonError> {
        self.pos += 1;
        let start = self.pos;
        let mut escaped = false;
        loop {
            self.pos = skip_words(self.bytes, self.pos, |word| {
                has_byte(word, b'"') || has_byte(word, b'\\') || has_byte_below(word, 0x20)
            });
            let rest = self.bytes.get(self.pos..).unwrap_or_default();
            let Some(offset) = rest
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
            else {
                return Err(JsonError::Syntax);
            };
            self.pos += offset;
            match rest.get(offset) {
                Some(b'"') => {
                    let raw = self.text.get(start..self.pos).ok_or(JsonError::Syntax)?;
                    self.pos += 1;
                    return Ok((raw, escaped));
                }
                Some(b'\\') => {
                    escaped = true;
                    let rest = self.bytes.get(self.pos..).unwrap_or_default();
                    if rest.len() < 2 {
                        return Err(JsonError::Syntax);
                    }
                    // The decoder used later is the validator, so the two cannot disagree.
                    let (_, used) = decode_escape(rest).ok_or(JsonError::InvalidEscape)?;
                    self.pos += used;
                }
                _ => return Err(JsonError::ControlCharacter),
            }
        }
    }

    /// Validates the object whose `{` is at the cursor; `depth` is its own nesting level.
    fn object(&mut self, depth: usize) -> Result<(), JsonError> {
        if depth > MAX_DEPTH {
            return Err(JsonError::TooDeep);
        }
        let open = self.pos;
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        let mut seen = SeenNames {
            prints: [0; MAX_MEMBERS],
            starts: [0; MAX_MEMBERS],
            count: 0,
        };
        loop {
            if self.peek() != Some(b'"') {
                return Err(JsonError::Syntax);
            }
            let start = self.pos + 1;
            let (raw, escaped) = self.string()?;
            self.add_name(&mut seen, open, start, JsonStr { raw }, escaped)?;

            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(JsonError::Syntax);
            }
            self.pos += 1;
            self.skip_ws();
            self.value(depth)?;
            if self.end_of_element(b'}')? {
                return Ok(());
            }
        }
    }

    /// Records the name starting at `start` of the object opened at `open`, unless the object
    /// already has as many members as allowed or a member of that name.
    fn add_name(
        &self,
        seen: &mut SeenNames,
        open: usize,
        start: usize,
        name: JsonStr<'a>,
        escaped: bool,
    ) -> Result<(), JsonError> {
        let count = seen.count;
        if count >= MAX_MEMBERS {
            return Err(JsonError::TooManyMembers);
        }
        let print = if escaped {
            fingerprint(name.bytes())
        } else {
            fingerprint(name.raw.bytes())
        };
        let earlier = seen.prints.get(..count).unwrap_or_default();
        if earlier.contains(&print) && self.is_duplicate(seen, open, name, print) {
            return Err(JsonError::DuplicateMember);
        }
        if let (Some(slot_print), Some(slot_start)) =
            (seen.prints.get_mut(count), seen.starts.get_mut(count))
        {
            *slot_print = print;
            *slot_start = start
                .checked_sub(open)
                .and_then(|offset| u16::try_from(offset).ok())
                .unwrap_or(FAR);
        }
        seen.count += 1;
        Ok(())
    }

    /// Whether `name`, whose fingerprint is `print`, equals a name in `seen`.
    #[cold]
    fn is_duplicate(&self, seen: &SeenNames, open: usize, name: JsonStr<'_>, print: u32) -> bool {
        seen.prints
            .iter()
            .zip(&seen.starts)
            .take(seen.count)
            .enumerate()
            .filter(|(_, (earlier, _))| **earlier == print)
            .any(|(index, (_, &start))| {
                let earlier = if start == FAR {
                    self.name_by_rescan(open, index)
                } else {
                    self.name_at(open + usize::from(start))
                };
                // Names were validated, so `None` cannot happen; if it did, refusing is safe.
                earlier.is_none_or(|earlier| earlier.eq_json(name))
            })
    }

    /// The validated name whose raw text starts at `start`.
    fn name_at(&self, start: usize) -> Option<JsonStr<'a>> {
        let end = string_end(self.bytes, start)?;
        let raw = self.text.get(start..end)?;
        Some(JsonStr { raw })
    }

    /// The name of member `index` of the object opened at `open`, found by walking the
    /// object's (validated) members: only for names too far from `{` to record.
    fn name_by_rescan(&self, open: usize, index: usize) -> Option<JsonStr<'a>> {
        let text = self.text.get(open..)?;
        let (name, _) = Members { text, pos: 1 }.nth(index)?;
        Some(name)
    }

    /// Validates the array whose `[` is at the cursor; `depth` is its own nesting level.
    fn array(&mut self, depth: usize) -> Result<(), JsonError> {
        if depth > MAX_DEPTH {
            return Err(JsonError::TooDeep);
        }
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.value(depth)?;
            if self.end_of_element(b']')? {
                return Ok(());
            }
        }
    }

    /// After a member or element: consumes `,` (more follow, returns false) or `close` (the
    /// container ends, returns true); anything else is a syntax error.
    fn end_of_element(&mut self, close: u8) -> Result<bool, JsonError> {
        self.skip_ws();
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                self.skip_ws();
                Ok(false)
            }
            Some(c) if c == close => {
                self.pos += 1;
                Ok(true)
            }
            _ => Err(JsonError::Syntax),
        }
    }
}

/// Marks a name that starts too far from its object's `{` for [`SeenNames::starts`].
const FAR: u16 = u16::MAX;

/// The names of the members read so far in one object, for the duplicate check.
///
/// 392 bytes per open object keeps even a parse at [`MAX_DEPTH`] within about 6 KiB of stack.
/// Fingerprints settle almost every comparison with one integer compare; the recorded starts
/// make the exact comparison after a fingerprint match cost only the two names, so forged
/// fingerprint collisions cannot force rescans of the document.
#[derive(Debug)]
struct SeenNames {
    /// Fingerprint of each unescaped name.
    prints: [u32; MAX_MEMBERS],
    /// Start of each raw name relative to the object's `{`, or [`FAR`] past 64 KiB (only
    /// objects far larger than any JOSE header pay a rescan for those).
    starts: [u16; MAX_MEMBERS],
    /// Number of names recorded.
    count: usize,
}

/// FNV-1a of an unescaped name: cheap on the short names of JOSE headers and claims sets.
#[inline]
fn fingerprint(bytes: impl Iterator<Item = u8>) -> u32 {
    bytes.fold(0x811c_9dc5, |hash, b| {
        (hash ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// Value of the four hex digits at `bytes[at..at + 4]`.
#[inline]
fn hex4(bytes: &[u8], at: usize) -> Option<u32> {
    let digits = bytes.get(at..at + 4)?;
    digits
        .iter()
        .try_fold(0u32, |acc, &b| Some(acc << 4 | char::from(b).to_digit(16)?))
}

/// Decodes the escape sequence at the start of `bytes` (which begins with a backslash) into a
/// character and the number of bytes it spans; `None` if it is not a valid RFC 8259 escape or
/// surrogate pair.
fn decode_escape(bytes: &[u8]) -> Option<(char, usize)> {
    let c = match *bytes.get(1)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let unit = hex4(bytes, 2)?;
            if !(0xD800..0xDC00).contains(&unit) {
                // A lone low surrogate is not a char, so `from_u32` rejects it.
                return Some((char::from_u32(unit)?, 6));
            }
            if bytes.get(6..8)? != b"\\u" {
                return None;
            }
            let low = hex4(bytes, 8)?;
            if !(0xDC00..0xE000).contains(&low) {
                return None;
            }
            let scalar = 0x1_0000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
            return Some((char::from_u32(scalar)?, 12));
        }
        _ => return None,
    };
    Some((c, 2))
}

/// `b` in every byte of a word.
#[inline]
const fn splat(b: u8) -> u64 {
    u64::from_le_bytes([b; 8])
}

/// Whether some byte of `word` is below `n` (at most 0x80); exact, from "Bit Twiddling Hacks".
#[inline]
const fn has_byte_below(word: u64, n: u8) -> bool {
    word.wrapping_sub(splat(n)) & !word & splat(0x80) != 0
}

/// Whether some byte of `word` is `b`.
#[inline]
const fn has_byte(word: u64, b: u8) -> bool {
    has_byte_below(word ^ splat(b), 1)
}

/// Moves from `pos` past whole 8-byte words in which `interesting` finds nothing, so that scans
/// for rare bytes (quotes, backslashes, brackets) cost a few operations per word, not per byte.
#[inline]
fn skip_words(bytes: &[u8], mut pos: usize, interesting: impl Fn(u64) -> bool) -> usize {
    while let Some(word) = bytes.get(pos..).and_then(<[u8]>::first_chunk::<8>) {
        if interesting(u64::from_le_bytes(*word)) {
            break;
        }
        pos += 8;
    }
    pos
}

/// Moves past RFC 8259 whitespace starting at `pos`.
#[inline]
fn skip_ws(bytes: &[u8], mut pos: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(pos) {
        pos += 1;
    }
    pos
}

/// Index of the quote closing a string whose content starts at `start`.
#[inline]
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut pos = start;
    loop {
        pos = skip_words(bytes, pos, |word| {
            has_byte(word, b'"') || has_byte(word, b'\\')
        });
        pos += bytes
            .get(pos..)?
            .iter()
            .position(|&b| b == b'"' || b == b'\\')?;
        if *bytes.get(pos)? == b'"' {
            return Some(pos);
        }
        // Only the escaped character matters: `\u` hex digits hold no quote or backslash.
        pos += 2;
    }
}

/// Index just past the `}` or `]` closing the container opened at `open`.
fn container_end(bytes: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut pos = open;
    loop {
        pos = skip_words(bytes, pos, |word| {
            // `b | 0x20` maps `[` to `{` and `]` to `}` and nothing else onto either.
            let folded = word | splat(0x20);
            has_byte(folded, b'{') || has_byte(folded, b'}') || has_byte(word, b'"')
        });
        pos += bytes
            .get(pos..)?
            .iter()
            .position(|&b| matches!(b, b'{' | b'[' | b'}' | b']' | b'"'))?;
        match *bytes.get(pos)? {
            b'"' => pos = string_end(bytes, pos + 1)?,
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(pos + 1);
                }
            }
            _ => depth += 1,
        }
        pos += 1;
    }
}

/// Reads the value starting at `pos` of validated `text`; returns it and the index just past it.
fn scan_value(text: &str, pos: usize) -> Option<(Value<'_>, usize)> {
    let bytes = text.as_bytes();
    let literal = |word: &[u8], value: Value<'static>| {
        let end = pos + word.len();
        (bytes.get(pos..end)? == word).then_some((value, end))
    };
    match *bytes.get(pos)? {
        b'{' => {
            let end = container_end(bytes, pos)?;
            let text = text.get(pos..end)?;
            Some((Value::Object(Object { text }), end))
        }
        b'[' => {
            let end = container_end(bytes, pos)?;
            let text = text.get(pos..end)?;
            Some((Value::Array(Array { text }), end))
        }
        b'"' => {
            let end = string_end(bytes, pos + 1)?;
            let raw = text.get(pos + 1..end)?;
            Some((Value::String(JsonStr { raw }), end + 1))
        }
        b'-' | b'0'..=b'9' => {
            let rest = bytes.get(pos..)?;
            let len = rest
                .iter()
                .position(|b| !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                .unwrap_or(rest.len());
            let end = pos + len;
            let text = text.get(pos..end)?;
            Some((Value::Number(Number { text }), end))
        }
        b't' => literal(b"true", Value::Bool(true)),
        b'f' => literal(b"false", Value::Bool(false)),
        b'n' => literal(b"null", Value::Null),
        _ => None,
    }
}

/// A JSON value borrowed from a validated document.
#[derive(Clone, Copy, Debug)]
#[allow(
    dead_code,
    reason = "part of a complete JSON view; the verifier does not read every kind of value"
)]
pub(crate) enum Value<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, kept as its text.
    Number(Number<'a>),
    /// A string, kept escaped.
    String(JsonStr<'a>),
    /// An object.
    Object(Object<'a>),
    /// An array.
    Array(Array<'a>),
}

/// A validated object: its text from `{` to `}`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Object<'a> {
    /// The object's text, braces included.
    text: &'a str,
}

impl<'a> Object<'a> {
    /// Members in document order.
    pub(crate) fn members(&self) -> Members<'a> {
        Members {
            text: self.text,
            pos: 1,
        }
    }

    /// The value of the member whose unescaped name is `name` (names are unique).
    ///
    /// Each call walks the members from the start, skipping the values before the match (or
    /// all of them when there is none); to read many members, one pass over [`Self::members`]
    /// costs less.
    /// The values of the members named in `names`, in one pass over the object (each `get`
    /// walks the members from the start again, skipping whole nested values).
    pub(crate) fn fields<const N: usize>(&self, names: [&str; N]) -> [Option<Value<'a>>; N] {
        let mut out = [None; N];
        for (member, value) in self.members() {
            if let Some(slot) = names
                .iter()
                .position(|n| member.eq_str(n))
                .and_then(|i| out.get_mut(i))
            {
                *slot = Some(value);
            }
        }
        out
    }

    /// The value of the member named `name` (names are unique), walking from the start.
    #[cfg_attr(
        not(any(feature = "es256", feature = "es384", feature = "es512")),
        allow(dead_code, reason = "used by private-key parsing, which needs a curve")
    )]
    pub(crate) fn get(&self, name: &str) -> Option<Value<'a>> {
        self.members()
            .find_map(|(member, value)| member.eq_str(name).then_some(value))
    }
}

/// Iterator over the members of an [`Object`].
#[derive(Clone, Debug)]
pub(crate) struct Members<'a> {
    /// The object's text, braces included.
    text: &'a str,
    /// Index of the next member, or of the `,` or `}` before it.
    pos: usize,
}

impl<'a> Iterator for Members<'a> {
    type Item = (JsonStr<'a>, Value<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        // Any surprise leaves `pos` unchanged, so every later call returns `None` too.
        let bytes = self.text.as_bytes();
        let mut pos = skip_ws(bytes, self.pos);
        if bytes.get(pos) == Some(&b',') {
            pos = skip_ws(bytes, pos + 1);
        }
        if bytes.get(pos) != Some(&b'"') {
            return None;
        }
        let end = string_end(bytes, pos + 1)?;
        let name = JsonStr {
            raw: self.text.get(pos + 1..end)?,
        };
        pos = skip_ws(bytes, end + 1);
        if bytes.get(pos) != Some(&b':') {
            return None;
        }
        let (value, next) = scan_value(self.text, skip_ws(bytes, pos + 1))?;
        self.pos = next;
        Some((name, value))
    }
}

/// A validated array: its text from `[` to `]`.
#[derive(Clone, Copy, Debug)]
#[allow(
    dead_code,
    reason = "part of a complete JSON view; the verifier does not read every kind of value"
)]
pub(crate) struct Array<'a> {
    /// The array's text, brackets included.
    text: &'a str,
}

#[allow(
    dead_code,
    reason = "part of a complete JSON view; the verifier does not read every kind of value"
)]
impl<'a> Array<'a> {
    /// Elements in document order.
    pub(crate) fn elements(&self) -> Elements<'a> {
        Elements {
            text: self.text,
            pos: 1,
        }
    }
}

/// Iterator over the elements of an [`Array`].
#[derive(Clone, Debug)]
#[allow(
    dead_code,
    reason = "part of a complete JSON view; the verifier does not read every kind of value"
)]
pub(crate) struct Elements<'a> {
    /// The array's text, brackets included.
    text: &'a str,
    /// Index of the next element, or of the `,` or `]` before it.
    pos: usize,
}

impl<'a> Iterator for Elements<'a> {
    type Item = Value<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.text.as_bytes();
        let mut pos = skip_ws(bytes, self.pos);
        if bytes.get(pos) == Some(&b',') {
            pos = skip_ws(bytes, pos + 1);
        }
        if bytes.get(pos) == Some(&b']') {
            return None;
        }
        let (value, next) = scan_value(self.text, pos)?;
        self.pos = next;
        Some(value)
    }
}

/// A validated number, kept as its text.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Number<'a> {
    /// The number exactly as written.
    text: &'a str,
}

impl Number<'_> {
    /// The number exactly as written.
    #[allow(
        dead_code,
        reason = "a complete JSON view; the crate need not read every kind"
    )]
    pub(crate) fn as_str(&self) -> &str {
        self.text
    }

    /// The value of an integer written without fraction or exponent that fits in `i64`
    /// (`-0` is 0); `None` otherwise, even for `1.0` or `1e3`.
    #[allow(
        dead_code,
        reason = "claims are non-negative (as_u64); kept for signed members and tests"
    )]
    pub(crate) fn as_i64(&self) -> Option<i64> {
        let (negative, digits) = match self.text.strip_prefix('-') {
            Some(digits) => (true, digits),
            None => (false, self.text),
        };
        if digits.is_empty() {
            return None;
        }
        // Accumulating on the sign's side reaches i64::MIN without overflowing.
        digits.bytes().try_fold(0i64, |acc, b| {
            let digit = i64::from(b.checked_sub(b'0').filter(|d| *d <= 9)?);
            let acc = acc.checked_mul(10)?;
            if negative {
                acc.checked_sub(digit)
            } else {
                acc.checked_add(digit)
            }
        })
    }

    /// The integer part of a non-negative number whose integer part fits in `u64`: a JWT
    /// `NumericDate` (RFC 7519 section 2: "a JSON numeric value", which "can contain
    /// non-integer values"). `1700000000.5` is 1700000000, `1.7e9` is 1700000000, `17e-1` is 1;
    /// a minus sign (even `-0`) and an integer part above `u64::MAX` give `None`. Allocation-free
    /// and linear in the length of the text, whatever the exponent.
    pub(crate) fn as_numeric_date(&self) -> Option<u64> {
        if self.text.starts_with('-') {
            return None;
        }
        let (mantissa, exponent) = match self.text.find(['e', 'E']) {
            Some(at) => (
                self.text.get(..at)?,
                parse_exponent(self.text.get(at + 1..)?)?,
            ),
            None => (self.text, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        // The value is 0.DIGITS times 10^point, DIGITS being the integer then fraction digits.
        let point = i64::try_from(int.len()).ok()?.saturating_add(exponent);
        let digits = int.bytes().chain(frac.bytes());
        let mut value = 0u64;
        let mut taken = 0i64;
        for b in digits {
            if taken >= point {
                break;
            }
            let digit = u64::from(b.checked_sub(b'0').filter(|d| *d <= 9)?);
            value = value.checked_mul(10)?.checked_add(digit)?;
            taken += 1;
        }
        // Zeros implied by a large exponent: at most 20 multiplications before overflow.
        while taken < point && value != 0 {
            value = value.checked_mul(10)?;
            taken += 1;
        }
        Some(value)
    }

    /// The value of a plain non-negative integer (no sign, fraction or exponent) that fits in
    /// `u64`, up to `u64::MAX`.
    #[allow(
        dead_code,
        reason = "NumericDates are read with as_numeric_date; kept for integer members and tests"
    )]
    pub(crate) fn as_u64(&self) -> Option<u64> {
        if self.text.is_empty() {
            return None;
        }
        self.text.bytes().try_fold(0u64, |acc, b| {
            let digit = u64::from(b.checked_sub(b'0').filter(|d| *d <= 9)?);
            acc.checked_mul(10)?.checked_add(digit)
        })
    }
}

/// An exponent `[+-]digits`, saturated to the `i64` range (the caller only needs to know that
/// a huge exponent is huge).
fn parse_exponent(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, text.get(1..)?),
        b'+' => (false, text.get(1..)?),
        _ => (false, text),
    };
    if digits.is_empty() {
        return None;
    }
    let magnitude = digits.bytes().try_fold(0i64, |acc, b| {
        let digit = i64::from(b.checked_sub(b'0').filter(|d| *d <= 9)?);
        Some(acc.saturating_mul(10).saturating_add(digit))
    })?;
    Some(if negative { -magnitude } else { magnitude })
}

/// A validated string, kept as the raw text between its quotes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct JsonStr<'a> {
    /// The escaped text between the quotes.
    raw: &'a str,
}

impl<'a> JsonStr<'a> {
    /// The text itself when it holds no escape, which is the common case and costs nothing.
    pub(crate) fn as_borrowed(&self) -> Option<&'a str> {
        (!self.raw.as_bytes().contains(&b'\\')).then_some(self.raw)
    }

    /// Length in bytes of the unescaped UTF-8 text.
    pub(crate) fn decoded_len(&self) -> usize {
        self.pieces().map(Piece::len).sum()
    }

    /// Writes the unescaped text to the front of `out` and returns it.
    ///
    /// # Errors
    ///
    /// [`DecodeBufferTooSmall`] if `out` is shorter than [`Self::decoded_len`].
    pub(crate) fn decode_into<'b>(
        &self,
        out: &'b mut [u8],
    ) -> Result<&'b str, DecodeBufferTooSmall> {
        let mut len = 0;
        for piece in self.pieces() {
            let mut buf = [0u8; 4];
            let bytes = piece.as_bytes(&mut buf);
            let end = len + bytes.len();
            out.get_mut(len..end)
                .ok_or(DecodeBufferTooSmall)?
                .copy_from_slice(bytes);
            len = end;
        }
        let out: &'b [u8] = out;
        let filled = out.get(..len).ok_or(DecodeBufferTooSmall)?;
        // Pieces are whole characters, so this cannot fail; safe code has to check anyway.
        core::str::from_utf8(filled).map_err(|_| DecodeBufferTooSmall)
    }

    /// Whether the unescaped text equals `s`, compared piece by piece without a buffer.
    pub(crate) fn eq_str(&self, s: &str) -> bool {
        let mut rest = s.as_bytes();
        for piece in self.pieces() {
            let mut buf = [0u8; 4];
            match rest.strip_prefix(piece.as_bytes(&mut buf)) {
                Some(after) => rest = after,
                None => return false,
            }
        }
        rest.is_empty()
    }

    /// Whether the unescaped texts of `self` and `other` are equal.
    fn eq_json(&self, other: JsonStr<'_>) -> bool {
        match (self.as_borrowed(), other.as_borrowed()) {
            (Some(a), Some(b)) => a == b,
            _ => self.bytes().eq(other.bytes()),
        }
    }

    /// The unescaped UTF-8 bytes, decoded as they are read.
    pub(crate) fn bytes(&self) -> StrBytes<'a> {
        StrBytes {
            pieces: self.pieces(),
            run: &[],
            buf: [0; 4],
            buf_pos: 0,
            buf_len: 0,
        }
    }

    /// The text split at escapes.
    fn pieces(&self) -> Pieces<'a> {
        Pieces { rest: self.raw }
    }
}

/// Part of a string's unescaped text.
#[derive(Clone, Copy, Debug)]
enum Piece<'a> {
    /// Text without escapes, as written.
    Raw(&'a str),
    /// The character of one escape (or surrogate-pair escape).
    Char(char),
}

impl<'a> Piece<'a> {
    /// Length in bytes of the UTF-8 text.
    fn len(self) -> usize {
        match self {
            Piece::Raw(run) => run.len(),
            Piece::Char(c) => c.len_utf8(),
        }
    }

    /// The UTF-8 text, encoded into `buf` for an escape.
    fn as_bytes<'p>(self, buf: &'p mut [u8; 4]) -> &'p [u8]
    where
        'a: 'p,
    {
        match self {
            Piece::Raw(run) => run.as_bytes(),
            Piece::Char(c) => c.encode_utf8(buf).as_bytes(),
        }
    }
}

/// Iterator splitting a raw string into unescaped runs and escaped characters.
#[derive(Clone, Debug)]
struct Pieces<'a> {
    /// The raw text not yet split.
    rest: &'a str,
}

impl<'a> Iterator for Pieces<'a> {
    type Item = Piece<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.rest.as_bytes();
        if bytes.is_empty() {
            return None;
        }
        let piece = match bytes.iter().position(|&b| b == b'\\') {
            None => {
                let run = self.rest;
                self.rest = "";
                Piece::Raw(run)
            }
            Some(0) => match decode_escape(bytes) {
                Some((c, used)) => {
                    self.rest = self.rest.get(used..).unwrap_or_default();
                    Piece::Char(c)
                }
                None => {
                    self.rest = "";
                    return None;
                }
            },
            Some(at) => {
                let (run, rest) = self.rest.split_at_checked(at).unwrap_or_default();
                self.rest = rest;
                Piece::Raw(run)
            }
        };
        Some(piece)
    }
}

/// Iterator over the unescaped UTF-8 bytes of a [`JsonStr`].
#[derive(Clone, Debug)]
pub(crate) struct StrBytes<'a> {
    /// Pieces not yet started.
    pieces: Pieces<'a>,
    /// Rest of the current unescaped run.
    run: &'a [u8],
    /// UTF-8 of the current escaped character.
    buf: [u8; 4],
    /// Next byte of `buf` to yield.
    buf_pos: usize,
    /// Number of bytes used in `buf`.
    buf_len: usize,
}

impl Iterator for StrBytes<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        loop {
            if let Some((&b, rest)) = self.run.split_first() {
                self.run = rest;
                return Some(b);
            }
            if self.buf_pos < self.buf_len {
                let b = self.buf.get(self.buf_pos).copied();
                self.buf_pos += 1;
                return b;
            }
            match self.pieces.next()? {
                Piece::Raw(run) => self.run = run.as_bytes(),
                Piece::Char(c) => {
                    self.buf_len = c.encode_utf8(&mut self.buf).len();
                    self.buf_pos = 0;
                }
            }
        }
    }
}

#[cfg(test)]
// Tests use std directly: the crate's `alloc` may be disabled by features, std never is in tests.
#[allow(clippy::panic, clippy::std_instead_of_alloc)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value as J;
    use std::format;
    use std::string::{String, ToString};
    use std::vec;
    use std::vec::Vec;

    const RFC9449_HEADER: &str = r#"{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA","crv":"P-256"}}"#;
    const RFC9449_PAYLOAD: &str = r#"{"jti":"-BwC3ESc6acc2lTc","htm":"POST","htu":"https://server.example.com/token","iat":1562262616}"#;

    fn parse(s: &str) -> Result<Object<'_>, JsonError> {
        parse_object(s.as_bytes())
    }

    fn err(input: &[u8]) -> JsonError {
        match parse_object(input) {
            Ok(_) => panic!("accepted {:?}", String::from_utf8_lossy(input)),
            Err(e) => e,
        }
    }

    fn assert_all(expected: JsonError, inputs: &[&str]) {
        for input in inputs {
            assert_eq!(err(input.as_bytes()), expected, "{input:?}");
        }
    }

    fn decode(s: JsonStr<'_>) -> String {
        let bytes: Vec<u8> = s.bytes().collect();
        assert_eq!(s.decoded_len(), bytes.len(), "{s:?}");
        let mut buf = vec![0u8; bytes.len()];
        assert_eq!(s.decode_into(&mut buf).unwrap().as_bytes(), &bytes[..]);
        if let Some(short) = bytes.len().checked_sub(1) {
            assert_eq!(s.decode_into(&mut buf[..short]), Err(DecodeBufferTooSmall));
        }
        let text = String::from_utf8(bytes).unwrap();
        assert!(s.eq_str(&text));
        let longer = format!("{text}x");
        assert!(!s.eq_str(&longer));
        if let Some(borrowed) = s.as_borrowed() {
            assert_eq!(borrowed, text);
        }
        text
    }

    /// Our view as a `serde_json` value, or `None` for a number `serde_json` cannot represent.
    fn to_serde(v: Value<'_>) -> Option<J> {
        Some(match v {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(b),
            Value::Number(n) => {
                let j: J = serde_json::from_str(n.as_str()).ok()?;
                if n.as_str() == "-0" {
                    // serde_json reads `-0` as the float -0.0; we read it as the integer 0.
                    assert_eq!(n.as_i64(), Some(0));
                    assert_eq!(j.as_f64(), Some(0.0));
                } else if let Some(i) = n.as_i64() {
                    assert_eq!(j.as_i64(), Some(i), "{n:?}");
                } else if !n.as_str().contains(['.', 'e', 'E']) {
                    assert_eq!(j.as_i64(), None, "{n:?}");
                }
                j
            }
            Value::String(s) => J::String(decode(s)),
            Value::Array(a) => J::Array(a.elements().map(to_serde).collect::<Option<_>>()?),
            Value::Object(o) => J::Object(to_map(o)?),
        })
    }

    fn to_map(o: Object<'_>) -> Option<serde_json::Map<String, J>> {
        let mut map = serde_json::Map::new();
        for (name, value) in o.members() {
            let name = decode(name);
            let value = to_serde(value)?;
            let got = o.get(&name).and_then(to_serde);
            assert_eq!(got.as_ref(), Some(&value), "get({name:?})");
            assert!(map.insert(name, value).is_none(), "duplicate yielded");
        }
        Some(map)
    }

    fn string_member(o: Object<'_>, name: &str) -> String {
        match o.get(name) {
            Some(Value::String(s)) => decode(s),
            other => panic!("{name}: {other:?}"),
        }
    }

    #[test]
    fn accepts_rfc9449_header() {
        let header = parse(RFC9449_HEADER).unwrap();
        let names: Vec<_> = header.members().map(|(n, _)| decode(n)).collect();
        assert_eq!(names, ["typ", "alg", "jwk"]);
        assert_eq!(string_member(header, "typ"), "dpop+jwt");
        assert_eq!(string_member(header, "alg"), "ES256");
        let Some(Value::Object(jwk)) = header.get("jwk") else {
            panic!("jwk")
        };
        assert_eq!(jwk.members().count(), 4);
        assert_eq!(string_member(jwk, "kty"), "EC");
        assert_eq!(string_member(jwk, "crv"), "P-256");
        assert_eq!(
            string_member(jwk, "x"),
            "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs"
        );
        assert!(
            header.get("kty").is_none(),
            "get must not look into nested objects"
        );
        assert!(header.get("x").is_none());
        let expected: J = serde_json::from_str(RFC9449_HEADER).unwrap();
        assert_eq!(to_serde(Value::Object(header)), Some(expected));
    }

    #[test]
    fn accepts_rfc9449_payload() {
        let payload = parse(RFC9449_PAYLOAD).unwrap();
        let Some(Value::Number(iat)) = payload.get("iat") else {
            panic!("iat")
        };
        assert_eq!(iat.as_i64(), Some(1_562_262_616));
        assert_eq!(iat.as_str(), "1562262616");
        assert_eq!(string_member(payload, "htm"), "POST");
        assert_eq!(
            string_member(payload, "htu"),
            "https://server.example.com/token"
        );
        assert_eq!(string_member(payload, "jti"), "-BwC3ESc6acc2lTc");
        assert!(payload.get("ath").is_none());
    }

    #[test]
    fn accepts_whitespace_and_nesting() {
        let doc = " \t\r\n{ \"a\" : [ [ ] , { } , [ { \"b\" : [ null , true , false , -1.5e+3 ] } ] ] ,\n\"c\":{\"d\":{}}, \"e\" : \"\" } \n\t\r ";
        let obj = parse(doc).unwrap();
        let expected: J = serde_json::from_str(doc).unwrap();
        assert_eq!(to_serde(Value::Object(obj)), Some(expected));
        let Some(Value::Array(a)) = obj.get("a") else {
            panic!("a")
        };
        let kinds: Vec<_> = a
            .elements()
            .map(|v| match v {
                Value::Array(inner) => inner.elements().count() + 100,
                Value::Object(inner) => inner.members().count() + 200,
                _ => 0,
            })
            .collect();
        assert_eq!(kinds, [100, 200, 101]);
        assert_eq!(parse("{}").unwrap().members().count(), 0);
        assert_eq!(parse("{\"\":0}").unwrap().members().count(), 1);
    }

    #[test]
    fn accepts_all_scalars() {
        for (value, expected) in [
            ("null", J::Null),
            ("true", J::Bool(true)),
            ("false", J::Bool(false)),
            ("0", J::from(0)),
            ("-0", J::from(-0.0)),
            ("12", J::from(12)),
            ("-12", J::from(-12)),
            ("1.5", J::from(1.5)),
            ("-0.25", J::from(-0.25)),
            ("0e0", J::from(0.0)),
            ("1E+2", J::from(100.0)),
            ("1e-2", J::from(0.01)),
            ("2.5E-1", J::from(0.25)),
        ] {
            let doc = format!("{{\"v\":{value}}}");
            let obj = parse(&doc).unwrap();
            assert_eq!(obj.get("v").and_then(to_serde), Some(expected), "{doc}");
        }
    }

    #[test]
    fn decodes_every_escape() {
        let doc = r#"{"s":"\"\\\/\b\f\n\r\t\u0041\u00e9\u20AC\ud83d\ude00\uD83D\uDE00\u0000x"}"#;
        let obj = parse(doc).unwrap();
        let Some(Value::String(s)) = obj.get("s") else {
            panic!("s")
        };
        let expected = "\"\\/\u{8}\u{c}\n\r\tA\u{e9}\u{20ac}😀😀\u{0}x";
        assert_eq!(decode(s), expected);
        assert!(s.as_borrowed().is_none());
        assert_eq!(s.decoded_len(), expected.len());
        assert!(s.eq_str(expected));
        assert!(!s.eq_str(&expected[..expected.len() - 1]));
        assert!(!s.eq_str(""));
        let mut exact = [0u8; 32];
        let exact = &mut exact[..expected.len()];
        assert_eq!(s.decode_into(exact), Ok(expected));
        let mut short = [0u8; 8];
        assert_eq!(s.decode_into(&mut short), Err(DecodeBufferTooSmall));
        assert_eq!(serde_json::from_str::<J>(doc).unwrap()["s"], expected);
    }

    #[test]
    fn decodes_surrogate_pair_and_solidus() {
        let obj = parse(r#"{"e":"\ud83d\ude00","s":"a\/b","u":"é😀"}"#).unwrap();
        let Some(Value::String(e)) = obj.get("e") else {
            panic!()
        };
        assert_eq!(decode(e), "😀");
        assert_eq!(e.decoded_len(), 4);
        assert_eq!(e.bytes().collect::<Vec<_>>(), "😀".as_bytes());
        let Some(Value::String(s)) = obj.get("s") else {
            panic!()
        };
        assert_eq!(decode(s), "a/b");
        assert!(s.as_borrowed().is_none());
        let Some(Value::String(u)) = obj.get("u") else {
            panic!()
        };
        assert_eq!(u.as_borrowed(), Some("é😀"));
    }

    #[test]
    fn names_are_compared_unescaped() {
        let obj = parse(r#"{"\u0061lg":"x","t\/p":1,"\ud83d\ude00":2}"#).unwrap();
        assert!(obj.get("alg").is_some());
        assert!(obj.get("\\u0061lg").is_none());
        assert!(obj.get("t/p").is_some());
        assert!(obj.get("t\\/p").is_none());
        assert!(obj.get("😀").is_some());
        assert!(obj.get("al").is_none());
        assert!(obj.get("algx").is_none());
        let (name, _) = obj.members().next().unwrap();
        assert!(name.eq_str("alg"));
        assert!(!name.eq_str("Alg"));
        assert!(!name.eq_str("al"));
        assert_eq!(name.decoded_len(), 3);
        assert_eq!(name.as_borrowed(), None);
    }

    #[test]
    fn decode_into_reports_small_buffers() {
        let obj = parse(r#"{"a":"abc","b":"\u00e9"}"#).unwrap();
        let Some(Value::String(a)) = obj.get("a") else {
            panic!()
        };
        let mut buf = [0u8; 3];
        assert_eq!(a.decode_into(&mut buf), Ok("abc"));
        assert_eq!(a.decode_into(&mut buf[..2]), Err(DecodeBufferTooSmall));
        assert_eq!(a.decode_into(&mut []), Err(DecodeBufferTooSmall));
        let Some(Value::String(b)) = obj.get("b") else {
            panic!()
        };
        assert_eq!(b.decoded_len(), 2);
        // A multi-byte character must not be split across the end of the buffer.
        assert_eq!(b.decode_into(&mut buf[..1]), Err(DecodeBufferTooSmall));
        assert_eq!(b.decode_into(&mut buf), Ok("é"));
        let mut big = [0xffu8; 8];
        assert_eq!(a.decode_into(&mut big), Ok("abc"));
        assert_eq!(big[3], 0xff);
    }

    #[test]
    fn as_u64_edge_cases() {
        let cases: &[(&str, Option<u64>)] = &[
            ("0", Some(0)),
            ("1562262616", Some(1_562_262_616)),
            ("9223372036854775808", Some(1 << 63)),
            ("18446744073709551615", Some(u64::MAX)),
            ("18446744073709551616", None),
            ("-0", None),
            ("-1", None),
            ("1.0", None),
            ("1e3", None),
        ];
        for (text, want) in cases {
            let doc = std::format!("{{\"n\":{text}}}");
            let object = parse_object(doc.as_bytes()).unwrap();
            let Some(Value::Number(n)) = object.get("n") else {
                panic!("{text}")
            };
            assert_eq!(n.as_u64(), *want, "{text}");
        }
    }

    #[test]
    fn numeric_date_edge_cases() {
        let cases: &[(&str, Option<u64>)] = &[
            ("0", Some(0)),
            ("1700000000", Some(1_700_000_000)),
            ("1700000000.5", Some(1_700_000_000)),
            ("1700000000.999999999999", Some(1_700_000_000)),
            ("1.7e9", Some(1_700_000_000)),
            ("1.7E+9", Some(1_700_000_000)),
            ("17e8", Some(1_700_000_000)),
            ("17000000000e-1", Some(1_700_000_000)),
            ("1.75e1", Some(17)),
            ("17e-1", Some(1)),
            ("0.5", Some(0)),
            ("5e-1", Some(0)),
            ("0.0017e3", Some(1)),
            ("0e999999999999999999999", Some(0)),
            ("1e-999999999999999999999", Some(0)),
            ("18446744073709551615", Some(u64::MAX)),
            ("18446744073709551615.9", Some(u64::MAX)),
            ("1.8446744073709551615e19", Some(u64::MAX)),
            ("18446744073709551616", None),
            ("1.8446744073709551616e19", None),
            ("1e20", None),
            ("1e999999999999999999999", None),
            ("-0", None),
            ("-1", None),
            ("-0.5", None),
            ("-1.7e9", None),
        ];
        for (text, want) in cases {
            let doc = std::format!("{{\"n\":{text}}}");
            let object = parse_object(doc.as_bytes()).unwrap();
            let Some(Value::Number(n)) = object.get("n") else {
                panic!("{text}")
            };
            assert_eq!(n.as_numeric_date(), *want, "{text}");
        }
    }

    #[test]
    fn as_i64_edge_cases() {
        let cases: &[(&str, Option<i64>)] = &[
            ("0", Some(0)),
            ("-0", Some(0)),
            ("7", Some(7)),
            ("-12", Some(-12)),
            ("1562262616", Some(1_562_262_616)),
            ("9223372036854775807", Some(i64::MAX)),
            ("9223372036854775808", None),
            ("-9223372036854775808", Some(i64::MIN)),
            ("-9223372036854775809", None),
            ("99999999999999999999999", None),
            ("1.0", None),
            ("1.5", None),
            ("1e3", None),
            ("1E3", None),
            ("-1e0", None),
            ("0.0", None),
        ];
        for (text, expected) in cases {
            let doc = format!("{{\"n\":{text}}}");
            let obj = parse(&doc).unwrap();
            let Some(Value::Number(n)) = obj.get("n") else {
                panic!("{doc}")
            };
            assert_eq!(n.as_str(), *text);
            assert_eq!(n.as_i64(), *expected, "{text}");
        }
        // Not reachable through the parser, but must not panic or lie.
        for text in ["", "-", "--1", "1-", "a"] {
            assert_eq!(Number { text }.as_i64(), None, "{text:?}");
        }
    }

    #[test]
    fn syntax_errors() {
        assert_all(
            JsonError::Syntax,
            &[
                "",
                " ",
                "\n\t",
                "{",
                "}",
                "{\"a\"}",
                "{\"a\" 1}",
                "{\"a\"::1}",
                "{\"a\":}",
                "{\"a\":1,}",
                "{,}",
                "{,\"a\":1}",
                "{\"a\":1,,\"b\":2}",
                "{\"a\":1 \"b\":2}",
                "{\"a\":1 : 2}",
                "{'a':1}",
                "{\"a\":'x'}",
                "{a:1}",
                "{\"a\":01}",
                "{\"a\":00}",
                "{\"a\":-01}",
                "{\"a\":1.}",
                "{\"a\":1.e3}",
                "{\"a\":.5}",
                "{\"a\":+1}",
                "{\"a\":-}",
                "{\"a\":- 1}",
                "{\"a\":1e}",
                "{\"a\":1e+}",
                "{\"a\":1E-}",
                "{\"a\":0x10}",
                "{\"a\":1_000}",
                "{\"a\":tru}",
                "{\"a\":nul}",
                "{\"a\":fals}",
                "{\"a\":True}",
                "{\"a\":NULL}",
                "{\"a\":truex}",
                "{\"a\":NaN}",
                "{\"a\":Infinity}",
                "{\"a\":-Infinity}",
                "{/*c*/\"a\":1}",
                "{\"a\":1 // c\n}",
                "{\"a\":[1,]}",
                "{\"a\":[,1]}",
                "{\"a\":[1 2]}",
                "{\"a\":[}",
                "{\"a\":]}",
                "{\"a\":{]}",
                "{\"a\":[1}",
                "{\"a\":1",
                "{\"a\":\"x",
                "{\"a\":\"x\\",
                "{\"a",
                "{\u{c}}",
                "{\u{b}}",
                "{\u{a0}}",
                "\u{feff}{}",
            ],
        );
        // Form feed, vertical tab and no-break space are not JSON whitespace; a trailing NUL is
        // data after the object.
        assert_eq!(err(b"{\"a\":1}\0"), JsonError::TrailingData);
    }

    #[test]
    fn not_an_object() {
        assert_all(
            JsonError::NotAnObject,
            &[
                "[]",
                "[{}]",
                " [1, {\"a\": 2}] ",
                "\"x\"",
                "\"{}\"",
                "1",
                "-0.5e3",
                "null",
                "true",
                "false",
            ],
        );
        // A top-level value that is not even valid reports its own error.
        assert_eq!(err(b"[1,]"), JsonError::Syntax);
        assert_eq!(err(b"\"\\x\""), JsonError::InvalidEscape);
    }

    #[test]
    fn trailing_data() {
        assert_all(
            JsonError::TrailingData,
            &[
                "{}x",
                "{} {}",
                "{}{}",
                "{}]",
                "{}}",
                "{\"a\":1},",
                "{} // comment",
                "{}/**/",
                "{}\u{0}",
                "{}\u{c}",
                "{} \u{a0}",
                "[] x",
            ],
        );
    }

    #[test]
    fn invalid_utf8() {
        let cases: &[&[u8]] = &[
            b"{\"a\":\"\xff\"}",
            b"{\"a\":\"\xfe\"}",
            // overlong '/'
            b"{\"a\":\"\xc0\xaf\"}",
            // overlong NUL
            b"{\"a\":\"\xc0\x80\"}",
            // overlong 3-byte form
            b"{\"a\":\"\xe0\x80\xaf\"}",
            // U+D800 encoded directly in UTF-8
            b"{\"a\":\"\xed\xa0\x80\"}",
            // U+DFFF encoded directly
            b"{\"a\":\"\xed\xbf\xbf\"}",
            // beyond U+10FFFF
            b"{\"a\":\"\xf4\x90\x80\x80\"}",
            // truncated sequences
            b"{\"a\":\"\xe2\x82\"}",
            b"{\"a\":\"\xf0\x9f\x98\"}",
            b"{\"a\":\"\xc3\"}",
            // lone continuation byte
            b"{\"a\":\"\x80\"}",
            // in a name
            b"{\"\xff\":1}",
            // outside strings
            b"{\xff}",
            b"{}\xff",
            b"\xef\xbb{}",
        ];
        for input in cases {
            assert_eq!(err(input), JsonError::InvalidUtf8, "{input:?}");
        }
    }

    #[test]
    fn control_characters() {
        for c in (0u8..0x20).map(char::from) {
            // At every offset, so that both the word-at-a-time and the byte scan must see it.
            for at in 0..20 {
                let (before, after) = "abcdefghijklmnopqrst".split_at(at);
                let in_value = format!("{{\"a\":\"{before}{c}{after}\"}}");
                assert_eq!(
                    err(in_value.as_bytes()),
                    JsonError::ControlCharacter,
                    "{c:?} at {at}"
                );
            }
            let in_name = format!("{{\"{c}\":1}}");
            assert_eq!(
                err(in_name.as_bytes()),
                JsonError::ControlCharacter,
                "{c:?}"
            );
        }
        // DEL and C1 controls are allowed raw by RFC 8259.
        let obj = parse("{\"a\":\"\u{7f}\u{85}\"}").unwrap();
        assert_eq!(string_member(obj, "a"), "\u{7f}\u{85}");
        // Escaped controls are fine.
        let obj = parse(r#"{"a":"\u0000\u001f\t"}"#).unwrap();
        assert_eq!(string_member(obj, "a"), "\u{0}\u{1f}\t");
    }

    #[test]
    fn invalid_escapes() {
        assert_all(
            JsonError::InvalidEscape,
            &[
                r#"{"a":"\x41"}"#,
                r#"{"a":"\a"}"#,
                r#"{"a":"\'"}"#,
                r#"{"a":"\0"}"#,
                r#"{"a":"\U0041"}"#,
                r#"{"a":"\u12G4"}"#,
                r#"{"a":"\u123"}"#,
                r#"{"a":"\u+123"}"#,
                r#"{"a":"\u 123"}"#,
                r#"{"a":"\uD800"}"#,
                r#"{"a":"\ud800x"}"#,
                r#"{"a":"\udc00"}"#,
                r#"{"a":"\uDFFF"}"#,
                r#"{"a":"\ud800\u0041"}"#,
                r#"{"a":"\ud800\ud800"}"#,
                r#"{"a":"\udbff\ue000"}"#,
                r#"{"a":"\ud83d\n"}"#,
                r#"{"a":"\ud83d\\ude00"}"#,
                r#"{"a":"\udc00\ud800"}"#,
                r#"{"a":"\ud83d\u"}"#,
                r#"{"\uD800":1}"#,
                "{\"a\":\"\\\u{e9}\"}",
                "{\"a\":\"\\u00",
                "{\"a\":\"\\\t\"}",
            ],
        );
        // Both ends of the valid ranges.
        let obj = parse(r#"{"a":"\ud800\udc00\udbff\udfff\uffff\ud7ff\ue000"}"#).unwrap();
        assert_eq!(
            string_member(obj, "a"),
            "\u{10000}\u{10ffff}\u{ffff}\u{d7ff}\u{e000}"
        );
    }

    #[test]
    fn duplicate_members() {
        assert_all(
            JsonError::DuplicateMember,
            &[
                r#"{"a":1,"a":1}"#,
                r#"{"a":1,"a":"x"}"#,
                r#"{"typ":"dpop+jwt","alg":"ES256","typ":"dpop+jwt"}"#,
                r#"{"a":1,"b":2,"c":3,"b":{}}"#,
                r#"{"x":{"a":1,"a":2}}"#,
                r#"{"x":[{"a":1},{"b":1,"b":2}]}"#,
                r#"{"x":{"y":{"z":{"a":null,"a":null}}}}"#,
                r#"{"a":1,"\u0061":2}"#,
                r#"{"\u0061":1,"a":2}"#,
                r#"{"\u0061":1,"\u0061":2}"#,
                r#"{"\/":1,"/":2}"#,
                r#"{"é":1,"\u00e9":2}"#,
                r#"{"\u00E9":1,"\u00e9":2}"#,
                r#"{"😀":1,"\ud83d\ude00":2}"#,
                r#"{"":1,"":2}"#,
                r#"{"\n":1,"\u000a":2}"#,
                r#"{"a":{"b":[1,{"c":"}"}]},"a":2}"#,
            ],
        );
        // Equal names in different objects, or names that only look alike, are fine.
        for doc in [
            r#"{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]}"#,
            r#"{"a":1,"A":2,"a ":3," a":4,"\\u0061":5}"#,
            r#"{"é":1,"e\u0301":2}"#,
            r#"{"":1,"\u0000":2}"#,
        ] {
            assert!(parse(doc).is_ok(), "{doc}");
        }
    }

    #[test]
    fn duplicates_found_anywhere_among_64_members() {
        let names: Vec<String> = (0..MAX_MEMBERS).map(|i| format!("m{i}")).collect();
        let body = |extra: &str| {
            let mut doc = String::from("{");
            for name in &names {
                doc.push_str(&format!("\"{name}\":{{\"v\":[1]}},"));
            }
            doc.push_str(extra);
            doc
        };
        let ok = format!("{}}}", body("").trim_end_matches(','));
        assert_eq!(parse(&ok).unwrap().members().count(), MAX_MEMBERS);
        for i in [0, 1, 31, 62, 63] {
            let mut names = names.clone();
            names[MAX_MEMBERS - 1] = names[i].clone();
            if i == MAX_MEMBERS - 1 {
                names[0] = names[i].clone();
            }
            let doc = format!(
                "{{{}}}",
                names
                    .iter()
                    .map(|n| format!("\"{n}\":0"))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            assert_eq!(err(doc.as_bytes()), JsonError::DuplicateMember, "{i}");
        }
    }

    #[test]
    fn fingerprint_collisions_are_resolved_exactly() {
        // Known FNV-1a 32-bit collisions: the exact comparison must decide.
        for (a, b) in [("costarring", "liquid"), ("declinate", "macallums")] {
            assert_eq!(fingerprint(a.bytes()), fingerprint(b.bytes()), "{a} {b}");
            let doc = format!(r#"{{"{a}":{{"x":[1,"}}]"]}},"m":1,"{b}":2}}"#);
            let obj = parse(&doc).unwrap();
            assert!(obj.get(a).is_some() && obj.get(b).is_some());
            let doc = format!(r#"{{"{a}":1,"{b}":2,"{a}":3}}"#);
            assert_eq!(err(doc.as_bytes()), JsonError::DuplicateMember);
            let escaped: String = b
                .chars()
                .map(|c| format!("\\u{:04x}", u32::from(c)))
                .collect();
            let doc = format!(r#"{{"{a}":[],"{b}":{{}},"{escaped}":3}}"#);
            assert_eq!(err(doc.as_bytes()), JsonError::DuplicateMember);
        }
        // Escaped and unescaped forms fingerprint alike, or duplicates would slip through.
        let obj = parse(r#"{"\u0061b\/":1}"#).unwrap();
        let (name, _) = obj.members().next().unwrap();
        assert_eq!(fingerprint(name.bytes()), fingerprint("ab/".bytes()));
    }

    #[test]
    fn word_scans_match_byte_scans() {
        for filler in [0x00u8, 0x1f, 0x20, 0x21, 0x5b, 0x7f, 0x80, 0xff] {
            for b in 0..=255u8 {
                for at in 0..8 {
                    let mut bytes = [filler; 8];
                    bytes[at] = b;
                    let word = u64::from_le_bytes(bytes);
                    for n in [1u8, 0x20, 0x80] {
                        assert_eq!(has_byte_below(word, n), bytes.iter().any(|&x| x < n));
                    }
                    for needle in [b'"', b'\\', b'{', 0, 0xff] {
                        assert_eq!(has_byte(word, needle), bytes.contains(&needle));
                    }
                }
            }
        }
    }

    #[test]
    fn special_bytes_found_at_every_offset() {
        // Word-at-a-time scanning must not skip a byte wherever it falls in a word.
        for at in 0..24 {
            let (before, after) = "abcdefghijklmnopqrstuvwx".split_at(at);
            let doc = format!("{{\"s\":\"{}\t{}\"}}", before, after);
            assert_eq!(err(doc.as_bytes()), JsonError::ControlCharacter, "{doc:?}");
            let doc = format!("{{\"s\":\"{}\\u00e9{}\"}}", before, after);
            let obj = parse(&doc).unwrap();
            assert_eq!(string_member(obj, "s"), format!("{}é{}", before, after));
            let doc = format!(
                "{{\"s\":\"{}\\\"{}\",\"t\":[\"{}]\"]}}",
                before, after, before
            );
            let obj = parse(&doc).unwrap();
            assert_eq!(string_member(obj, "s"), format!("{}\"{}", before, after));
            assert!(matches!(obj.get("t"), Some(Value::Array(_))), "{doc:?}");
            let doc = format!("{{\"s\":\"{}\"}}", before);
            assert_eq!(string_member(parse(&doc).unwrap(), "s"), before);
        }
    }

    #[test]
    fn iteration_skips_tricky_values() {
        let doc = r#"{"a":{"s":"}]\"{[","t":["]",{"u":"\\"}]},"b":[[],{},"[{"],"c":"\\","d":-1.5e-3,"e":true}"#;
        let obj = parse(doc).unwrap();
        let names: Vec<_> = obj.members().map(|(n, _)| decode(n)).collect();
        assert_eq!(names, ["a", "b", "c", "d", "e"]);
        assert_eq!(string_member(obj, "c"), "\\");
        let Some(Value::Number(d)) = obj.get("d") else {
            panic!()
        };
        assert_eq!(d.as_str(), "-1.5e-3");
        assert!(matches!(obj.get("e"), Some(Value::Bool(true))));
        let Some(Value::Object(a)) = obj.get("a") else {
            panic!()
        };
        assert_eq!(string_member(a, "s"), "}]\"{[");
        let expected: J = serde_json::from_str(doc).unwrap();
        assert_eq!(to_serde(Value::Object(obj)), Some(expected));
    }

    #[test]
    fn names_far_from_their_brace_are_still_compared_exactly() {
        // Names past 64 KiB from `{` are not recorded and are found again by walking members.
        let pad = "p".repeat(70_000);
        let cases = [
            (
                format!(r#"{{"pad":"{pad}","costarring":1,"liquid":2}}"#),
                Ok(()),
            ),
            (
                format!(r#"{{"pad":"{pad}","a":1,"a":2}}"#),
                Err(JsonError::DuplicateMember),
            ),
            (
                format!(r#"{{"pad":"{pad}","a":1,"\u0061":2}}"#),
                Err(JsonError::DuplicateMember),
            ),
            (
                format!(r#"{{"a":1,"pad":"{pad}","a":2}}"#),
                Err(JsonError::DuplicateMember),
            ),
            (
                format!(r#"{{"x":{{"pad":"{pad}"}},"a":[],"y":1,"liquid":0,"costarring":{{}}}}"#),
                Ok(()),
            ),
            (
                format!(r#"{{"pad":"{pad}","liquid":0,"costarring":{{}},"liquid":1}}"#),
                Err(JsonError::DuplicateMember),
            ),
        ];
        for (doc, expected) in cases {
            assert_eq!(
                parse(&doc).map(|_| ()),
                expected,
                "{}",
                &doc[doc.len() - 40..]
            );
        }
    }

    #[test]
    fn duplicate_check_stack_use_is_modest() {
        // 392 bytes per open object: about 6 KiB at MAX_DEPTH, on top of small call frames.
        assert!(size_of::<SeenNames>() <= 400);
        // The deepest accepted document, with full objects at every level, parses on a small
        // stack even in an unoptimized build.
        let mut doc = String::new();
        for level in 0..MAX_DEPTH {
            doc.push('{');
            for i in 0..MAX_MEMBERS - 1 {
                doc.push_str(&format!("\"{level}_{i}\":{i},"));
            }
            doc.push_str("\"next\":");
        }
        doc.push('1');
        doc.push_str(&"}".repeat(MAX_DEPTH));
        let parsed = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || parse_object(doc.as_bytes()).map(|o| o.members().count()))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(parsed, Ok(MAX_MEMBERS));
    }

    fn nested(depth: usize, open: &str, close: &str) -> String {
        // `depth` containers in total, the outermost one an object.
        let mut doc = String::from("{\"a\":");
        for _ in 1..depth - 1 {
            doc.push_str(open);
        }
        doc.push_str(if open == "[" { "[]" } else { "{}" });
        for _ in 1..depth - 1 {
            doc.push_str(close);
        }
        doc.push('}');
        doc
    }

    #[test]
    fn depth_limit() {
        for (open, close) in [("{\"a\":", "}"), ("[", "]")] {
            let ok = nested(MAX_DEPTH, open, close);
            assert!(parse(&ok).is_ok(), "{ok}");
            let deep = nested(MAX_DEPTH + 1, open, close);
            assert_eq!(err(deep.as_bytes()), JsonError::TooDeep, "{deep}");
        }
        let mut mixed = String::new();
        for i in 0..MAX_DEPTH {
            mixed.push_str(if i.is_multiple_of(2) { "{\"k\":" } else { "[" });
        }
        mixed.push('1');
        for i in (0..MAX_DEPTH).rev() {
            mixed.push(if i.is_multiple_of(2) { '}' } else { ']' });
        }
        assert!(parse(&mixed).is_ok());
        // Far too deep input is rejected at depth 17, with no stack growth beyond it.
        let bomb = "[".repeat(1_000_000);
        assert_eq!(err(bomb.as_bytes()), JsonError::TooDeep);
        let bomb = format!("{}{}", "{\"a\":".repeat(100_000), "1");
        assert_eq!(err(bomb.as_bytes()), JsonError::TooDeep);
    }

    fn with_members(n: usize) -> String {
        let body: Vec<String> = (0..n).map(|i| format!("\"k{i}\":{i}")).collect();
        format!("{{{}}}", body.join(","))
    }

    #[test]
    fn member_limit() {
        let ok = with_members(MAX_MEMBERS);
        assert_eq!(parse(&ok).unwrap().members().count(), MAX_MEMBERS);
        assert_eq!(
            err(with_members(MAX_MEMBERS + 1).as_bytes()),
            JsonError::TooManyMembers
        );
        assert_eq!(
            err(with_members(1000).as_bytes()),
            JsonError::TooManyMembers
        );
        let nested = format!("{{\"a\":{}}}", with_members(MAX_MEMBERS + 1));
        assert_eq!(err(nested.as_bytes()), JsonError::TooManyMembers);
        // Arrays are not limited: their elements need no duplicate check.
        let long = format!("{{\"a\":[{}]}}", vec!["0"; 1000].join(","));
        assert!(parse(&long).is_ok());
    }

    #[test]
    fn views_of_malformed_text_end_quietly() {
        for text in [
            "",
            "{",
            "}",
            "{\"",
            "{\"a",
            "{\"a\"",
            "{\"a\":",
            "{\"a\":1",
            "{\"a\":[",
            "{\"a\":{",
            "{\"a\":\"",
            "{\"a\":\"\\",
            "{\"a\":x}",
            "{\"a\":tru}",
            "{\"a\" 1}",
            "{1:2}",
            "{\"a\":1,,}",
            "{\"a\":}}}",
            "{\"a\":]]]",
            "{\"a\":\"\\u12\"}",
        ] {
            let obj = Object { text };
            let _ = obj.members().count();
            let _ = obj.get("a");
            let _ = to_map(obj);
            let arr = Array { text };
            let _ = arr.elements().count();
        }
        for raw in [
            "\\",
            "\\u",
            "\\u12",
            "\\ud800",
            "\\ud800\\u0041",
            "\\q",
            "a\\",
            "a\\udc00b",
        ] {
            let s = JsonStr { raw };
            assert_eq!(s.bytes().count(), s.decoded_len(), "{raw}");
            let _ = decode(s);
        }
    }

    // Test-only serializer with random escaping and whitespace, to reach forms serde_json
    // never writes (`\/`, `\uXXXX` for any character, upper-case hex, whitespace everywhere).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn one_in(&mut self, n: u64) -> bool {
            self.next().is_multiple_of(n)
        }
    }

    fn write_ws(out: &mut String, rng: &mut Rng) {
        while rng.one_in(4) {
            out.push([' ', '\t', '\n', '\r'][usize::try_from(rng.next() % 4).unwrap()]);
        }
    }

    fn write_unit(out: &mut String, unit: u16, rng: &mut Rng) {
        if rng.one_in(2) {
            out.push_str(&format!("\\u{unit:04x}"));
        } else {
            out.push_str(&format!("\\u{unit:04X}"));
        }
    }

    fn write_str(out: &mut String, s: &str, rng: &mut Rng) {
        out.push('"');
        for c in s.chars() {
            let short = match c {
                '"' => Some("\\\""),
                '\\' => Some("\\\\"),
                '/' => Some("\\/"),
                '\u{8}' => Some("\\b"),
                '\u{c}' => Some("\\f"),
                '\n' => Some("\\n"),
                '\r' => Some("\\r"),
                '\t' => Some("\\t"),
                _ => None,
            };
            let must = matches!(c, '"' | '\\' | '\u{0}'..='\u{1f}');
            if !must && rng.one_in(2) {
                out.push(c);
            } else if let (Some(short), false) = (short, rng.one_in(3)) {
                out.push_str(short);
            } else {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write_unit(out, *unit, rng);
                }
            }
        }
        out.push('"');
    }

    fn write_json(out: &mut String, v: &J, rng: &mut Rng) {
        write_ws(out, rng);
        match v {
            J::Null | J::Bool(_) | J::Number(_) => out.push_str(&v.to_string()),
            J::String(s) => write_str(out, s, rng),
            J::Array(items) => {
                out.push('[');
                write_ws(out, rng);
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_json(out, item, rng);
                }
                out.push(']');
            }
            J::Object(map) => {
                out.push('{');
                write_ws(out, rng);
                for (i, (name, item)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                        write_ws(out, rng);
                    }
                    write_str(out, name, rng);
                    write_ws(out, rng);
                    out.push(':');
                    write_json(out, item, rng);
                }
                out.push('}');
            }
        }
        write_ws(out, rng);
    }

    fn arb_text() -> impl Strategy<Value = String> {
        let special = prop::sample::select(vec![
            '"',
            '\\',
            '/',
            '\u{0}',
            '\u{8}',
            '\u{1f}',
            '\n',
            '\t',
            '\u{7f}',
            'é',
            '\u{2028}',
            '\u{ffff}',
            '😀',
            '\u{10ffff}',
            'a',
            'b',
        ]);
        prop_oneof![
            "[ab]{0,2}",
            prop::collection::vec(any::<char>(), 0..8).prop_map(String::from_iter),
            prop::collection::vec(special, 0..6).prop_map(String::from_iter),
        ]
    }

    fn arb_value() -> impl Strategy<Value = J> {
        let leaf = prop_oneof![
            Just(J::Null),
            any::<bool>().prop_map(J::Bool),
            any::<i64>().prop_map(J::from),
            any::<u64>().prop_map(J::from),
            // serde_json (without `float_roundtrip`) may read a float back one ulp off; keep
            // the floats it reads back exactly, so the comparison below can be exact.
            any::<f64>().prop_filter_map("finite, round-trips", |f| {
                let number = serde_json::Number::from_f64(f)?;
                let back: f64 = serde_json::from_str(&number.to_string()).ok()?;
                (back.to_bits() == f.to_bits()).then_some(J::Number(number))
            }),
            arb_text().prop_map(J::String),
        ];
        leaf.prop_recursive(5, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(J::Array),
                prop::collection::btree_map(arb_text(), inner, 0..6)
                    .prop_map(|m| J::Object(m.into_iter().collect())),
            ]
        })
    }

    fn arb_object() -> impl Strategy<Value = J> {
        prop::collection::btree_map(arb_text(), arb_value(), 0..8)
            .prop_map(|m| J::Object(m.into_iter().collect()))
    }

    /// Checks the agreement rule on one document: whatever we accept, `serde_json` accepts with
    /// the same meaning; whatever `serde_json` accepts and we reject breaks one of our limits.
    fn check_agreement(doc: &[u8]) -> Result<(), TestCaseError> {
        let theirs = serde_json::from_slice::<J>(doc);
        match parse_object(doc) {
            Ok(obj) => match to_serde(Value::Object(obj)) {
                Some(ours) => prop_assert_eq!(theirs.ok(), Some(ours)),
                // Only numbers beyond f64 make the conversion fail; serde_json refuses those.
                None => prop_assert!(theirs.is_err()),
            },
            Err(e) => {
                if let Ok(theirs) = theirs {
                    prop_assert!(
                        matches!(
                            e,
                            JsonError::DuplicateMember
                                | JsonError::TooDeep
                                | JsonError::TooManyMembers
                        ) || (e == JsonError::NotAnObject && !theirs.is_object()),
                        "serde_json accepted what we rejected with {:?}",
                        e
                    );
                }
            }
        }
        Ok(())
    }

    const ALPHABET: &[u8] =
        b" \t\n\r{}[]\",:\\/0123456789-+.eEtrufalsnuAdDb\x00\x1f\x7f\xc3\xa9\xed\xa0\x80\xff";

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(obj) = parse_object(&bytes) {
                let _ = to_serde(Value::Object(obj));
            }
        }

        #[test]
        fn json_like_bytes_never_panic_and_agree(
            bytes in prop::collection::vec(prop::sample::select(ALPHABET), 0..64)
        ) {
            let mut doc = b"{\"".to_vec();
            doc.extend_from_slice(&bytes);
            check_agreement(&bytes)?;
            check_agreement(&doc)?;
        }

        #[test]
        fn views_of_arbitrary_text_never_panic(text in ".{0,40}") {
            let text = format!("{{{text}");
            let obj = Object { text: &text };
            let _ = to_map(obj);
            let _ = obj.get("a");
            let s = JsonStr { raw: &text[1..] };
            prop_assert_eq!(s.bytes().count(), s.decoded_len());
            let _ = decode(s);
        }

        #[test]
        fn round_trips_serde_json_documents(value in arb_object(), seed in any::<u64>()) {
            let compact = serde_json::to_string(&value).unwrap();
            let pretty = serde_json::to_string_pretty(&value).unwrap();
            let mut styled = String::new();
            write_json(&mut styled, &value, &mut Rng(seed | 1));
            for doc in [compact, pretty, styled] {
                let obj = parse(&doc);
                prop_assert!(obj.is_ok(), "{:?} rejected: {:?}", doc, obj);
                let ours = obj.ok().and_then(|o| to_serde(Value::Object(o)));
                prop_assert_eq!(ours, Some(value.clone()), "{:?}", doc);
            }
        }

    }

    proptest! {
        // About one mutated document in six stays valid; more cases give the agreement check
        // enough accepted documents to bite.
        #![proptest_config(ProptestConfig::with_cases(1024))]
        #[test]
        fn mutated_documents_agree_with_serde_json(
            value in arb_object(),
            seed in any::<u64>(),
            edits in prop::collection::vec((any::<usize>(), 0u8..3, prop::sample::select(ALPHABET)), 1..4),
        ) {
            let mut doc = String::new();
            write_json(&mut doc, &value, &mut Rng(seed | 1));
            let mut doc = doc.into_bytes();
            for (at, op, byte) in edits {
                let at = at % (doc.len() + 1);
                match op {
                    0 => doc.insert(at, byte),
                    1 if at < doc.len() => doc[at] = byte,
                    _ if at < doc.len() => { doc.remove(at); }
                    _ => doc.push(byte),
                }
            }
            check_agreement(&doc)?;
        }
    }
}
