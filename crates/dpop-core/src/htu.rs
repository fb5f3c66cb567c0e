//! `htu` canonicalization (RFC 3986 section 6.2); the rules are documented on
//! [`canonicalize_uri`], its one public entry point.

use core::fmt;

/// Maximum length in bytes of a URI accepted by this module, for the input and for its canonical
/// form alike.
///
/// Bounding both means the canonical form of any accepted URI fits in a `[u8; MAX_URI_LEN]`, and
/// is itself accepted. 2048 bytes is far beyond the target URIs of real APIs and keeps the stack
/// buffers of [`TargetUri::canonical_eq`] small.
pub const MAX_URI_LEN: usize = 2048;

/// Why a URI was rejected, or could not be written.
///
/// The messages and [`UriError::name`] never contain any part of the rejected input, so they can
/// be logged or returned to a client without echoing attacker-controlled text.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UriError {
    /// The output buffer is shorter than the canonical form.
    BufferTooSmall,
    /// The authority has no host (`https:///x`, `https://:443/`); RFC 9110 §4.2.1 and §4.2.2.
    EmptyHost,
    /// A byte outside printable ASCII anywhere in the URI, or a character that RFC 3986 does not
    /// allow in the host (§3.2.2) or path (§3.3).
    InvalidCharacter,
    /// A malformed IP literal: unterminated, not an IPv6 address, `IPvFuture`, a zone identifier,
    /// or followed by something other than a port (RFC 3986 §3.2.2).
    InvalidHost,
    /// A `%` not followed by two hex digits (RFC 3986 §2.1).
    InvalidPercentEncoding,
    /// A port that is not all decimal digits or is above 65535 (RFC 3986 §3.2.3).
    InvalidPort,
    /// Not an absolute URI with an authority: a relative reference (RFC 3986 §4.2) or a missing
    /// `//` after the scheme (§3.2).
    NotAbsolute,
    /// An `htu` claim contains a query or fragment, even an empty one (RFC 9449 §4.2).
    QueryOrFragment,
    /// The input, or its canonical form, is longer than [`MAX_URI_LEN`].
    TooLong,
    /// The scheme is valid but is neither `http` nor `https`.
    UnsupportedScheme,
    /// The authority contains userinfo (`user@`), which RFC 9110 §4.2.4 tells recipients to treat
    /// as an error.
    UserInfo,
}

impl UriError {
    /// A stable `snake_case` identifier for this error, such as `"invalid_port"`.
    ///
    /// Suitable for logs, metrics and error responses; it never changes for a given variant.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::BufferTooSmall => "buffer_too_small",
            Self::EmptyHost => "empty_host",
            Self::InvalidCharacter => "invalid_character",
            Self::InvalidHost => "invalid_host",
            Self::InvalidPercentEncoding => "invalid_percent_encoding",
            Self::InvalidPort => "invalid_port",
            Self::NotAbsolute => "not_absolute",
            Self::QueryOrFragment => "query_or_fragment",
            Self::TooLong => "too_long",
            Self::UnsupportedScheme => "unsupported_scheme",
            Self::UserInfo => "user_info",
        }
    }
}

impl fmt::Display for UriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BufferTooSmall => "output buffer too small for the canonical uri",
            Self::EmptyHost => "uri has an empty host",
            Self::InvalidCharacter => "uri contains an invalid character",
            Self::InvalidHost => "uri has an invalid ip literal host",
            Self::InvalidPercentEncoding => "uri contains a malformed percent-encoding",
            Self::InvalidPort => "uri has an invalid port",
            Self::NotAbsolute => "uri is not absolute with an authority",
            Self::QueryOrFragment => "htu claim contains a query or fragment",
            Self::TooLong => "uri is too long",
            Self::UnsupportedScheme => "uri scheme is not http or https",
            Self::UserInfo => "uri contains userinfo",
        })
    }
}

impl core::error::Error for UriError {}

/// Writes the canonical `htu` of `uri` into `out` and returns it.
///
/// This is the one canonicalization of this crate, used for creating proofs and for verifying
/// them (see the rules and the full table of cases below). The
/// result is `scheme://host[:port]/path` without query or fragment; the query and fragment of
/// `uri`, if any, are dropped. The result is at most [`MAX_URI_LEN`] bytes long, so a buffer of
/// that size is always enough; [`TargetUri::canonical_len`] gives the exact length.
///
/// Applying it to its own output returns the same text.
///
/// The HTTP target URI of a proof: the `htu` claim (RFC 9449 §4.2, §4.3).
///
/// Section numbers (§) refer to RFC 3986 unless another RFC is named.
///
/// `htu` is the HTTP target URI of the request "without query and fragment parts" (RFC 9449
/// §4.2), and the verifier checks that it matches the URI of the request it received, "ignoring
/// any query and fragment parts" (§4.3, check 9). §4.3 also asks servers to apply syntax-based
/// (RFC 3986 §6.2.2) and scheme-based (RFC 3986 §6.2.3) normalization before comparing, to avoid
/// false negatives.
///
/// [`canonicalize_uri`] is the **one** canonicalization used on both sides: proof creation puts its
/// output in the claim, and verification compares the canonical forms of the claim and of the
/// request URI ([`TargetUri::canonical_eq`], which calls [`canonicalize_uri`] too). Having a single
/// function means a URI that one side accepts, and its normal form, cannot differ between the two
/// sides. The canonical form is `scheme "://" host [ ":" port ] path`, at most [`MAX_URI_LEN`]
/// bytes long, and is itself accepted unchanged by [`canonicalize_uri`] and
/// [`TargetUri::parse_claim`].
///
/// # Accepted input
///
/// Only absolute `http` and `https` URIs with an authority (RFC 3986 §3, §4.3; RFC 9110 §4.2.1,
/// §4.2.2): `scheme "://" host [ ":" port ] path [ "?" query ] [ "#" fragment ]`, where
///
/// - the scheme is `http` or `https`, in any case (RFC 3986 §3.1: schemes are case-insensitive);
/// - the host is a reg-name (`unreserved / pct-encoded / sub-delims`, §3.2.2) or an IPv6
///   literal `[...]` that parses as an IPv6 address (§3.2.2). `IPvFuture` (`[v1.x]`) and zone
///   identifiers (RFC 6874, `[fe80::1%25eth0]`) are rejected: neither names a host that a proof
///   can meaningfully be bound to. An IPv4 address is accepted as the reg-name it also is;
/// - the port is decimal digits (§3.2.3) with a value of at most 65535;
/// - the path is `*( pchar / "/" )` (§3.3) and is empty or starts with `/`; it may also hold
///   `|`, `^`, `[`, `]`, `{`, `}` and the backtick, which are not pchar but which WHATWG URL
///   parsing (browsers, Node.js `fetch`, the `url` crate) leaves unencoded in a path. They are
///   written percent-encoded in the canonical form (step 3 below), so `/auth0|1` and
///   `/auth0%7C1` are the same path, on the creating and the verifying side alike;
/// - every percent-escape is `%` followed by two hex digits (§2.1);
/// - the query and fragment, when [`TargetUri::parse`] or [`canonicalize_uri`] allow them, are only
///   checked for the characters forbidden everywhere (below). They never reach the canonical form,
///   and request targets seen by servers often carry characters such as `{`, `}` or `|` in the
///   query; rejecting those would refuse requests without making any comparison stricter.
///
/// Rejected everywhere, query and fragment included: any byte outside printable ASCII
/// `0x21..=0x7E` (non-ASCII, whitespace, control characters, DEL), since RFC 3986 §2 has no such
/// characters and lenient parsers handle them in incompatible ways. Internationalized host names
/// must therefore be sent in their A-label (`xn--`) form. Also rejected: userinfo (RFC 9110
/// §4.2.4 deprecates it and asks recipients to treat it as an error), an empty host (RFC 9110
/// §4.2.1 and §4.2.2 require recipients to reject it), and input longer than [`MAX_URI_LEN`].
///
/// # Normalization
///
/// Applied in this order, each rule from RFC 3986:
///
/// 1. The query and fragment are dropped (RFC 9449 §4.2); a claim that has one is rejected by
///    [`TargetUri::parse_claim`] instead.
/// 2. Scheme and host are lower-cased (§6.2.2.1; §3.1 and §3.2.2 make them case-insensitive),
///    an IPv6 literal included. Its text is otherwise kept as written: `[::1]` and `[0::1]` stay
///    different, because RFC 3986 defines no normalization of IPv6 text.
/// 3. Percent-escapes of unreserved characters (`ALPHA DIGIT - . _ ~`) are decoded in host and
///    path (§2.3, §6.2.2.2); letters decoded in the host are then lower-cased. Every other escape
///    stays encoded, with upper-case hex digits (§2.1, §6.2.2.1): `%2f` becomes `%2F`. The
///    unencoded WHATWG characters of the path are encoded: `|` becomes `%7C`.
/// 4. The port is read as a decimal number. The scheme's default port (80 for `http`, 443 for
///    `https`) and an empty port are dropped (§3.2.3, §6.2.3; RFC 9110 §4.2.3). Any other port
///    is written back as that number in decimal, which removes leading zeros only
///    (`:08443` becomes `:8443`, `:0443` on `https` is dropped, `:000` becomes `:0`).
/// 5. An empty path becomes `/` (§6.2.3; RFC 9110 §4.2.3).
/// 6. Dot segments are removed as in §5.2.4 (§6.2.2.3), after step 3: a segment that decodes to
///    `.` or `..` is a dot segment (`/a/%2E%2E/b` becomes `/b`). `..` at the root is dropped, and a
///    path ending in a dot segment keeps a trailing slash (`/a/b/..` becomes `/a/`).
///
/// Deliberately **not** normalized, so these stay different: a trailing slash (`/a` and `/a/`),
/// the case of the path (`/A` and `/a`), an encoded slash (`%2F` and `/`), empty segments (`/a//b`
/// and `/a/b`), a trailing dot in the host, a different port (`:8443` and no port), `http` and
/// `https`. These can name different resources on real servers (RFC 3986 §6.2.2.1 and §6.2.3
/// leave them alone), and being strict here only ever causes a false negative, never a proof
/// accepted for another resource.
///
/// # Table
///
/// The exact behaviour on typical and edge-case input. The unit tests run this table, and fail if
/// it and the test table differ.
///
/// | Input | Canonical form | Rule |
/// |---|---|---|
/// | `https://example.com/a` | `https://example.com/a` | already canonical |
/// | `HTTPS://Example.COM/a` | `https://example.com/a` | scheme, host lower-cased (§6.2.2.1) |
/// | `HtTp://EXAMPLE.com` | `http://example.com/` | scheme, host lower-cased; empty path |
/// | `https://example.com:443/a` | `https://example.com/a` | default port dropped (§6.2.3) |
/// | `http://example.com:80/a` | `http://example.com/a` | default port dropped (§6.2.3) |
/// | `https://example.com:80/a` | `https://example.com:80/a` | 80 is not the https default |
/// | `http://example.com:443/a` | `http://example.com:443/a` | 443 is not the http default |
/// | `https://h:80/` | `https://h:80/` | 80 is not the https default |
/// | `https://example.com:8443/a` | `https://example.com:8443/a` | other port kept (§3.2.3) |
/// | `https://example.com:08443/a` | `https://example.com:8443/a` | port is a decimal number |
/// | `https://example.com:0443/a` | `https://example.com/a` | port is a decimal number |
/// | `https://example.com:65535/` | `https://example.com:65535/` | largest port |
/// | `http://h:/x` | `http://h/x` | empty port dropped (§3.2.3, §6.2.3) |
/// | `https://example.com` | `https://example.com/` | empty path becomes `/` (§6.2.3) |
/// | `https://example.com?q=1` | `https://example.com/` | query dropped; empty path |
/// | `https://example.com/a?q=1#f` | `https://example.com/a` | query, fragment dropped |
/// | `https://example.com/a#f?g` | `https://example.com/a` | fragment dropped |
/// | `https://example.com/a?` | `https://example.com/a` | empty query dropped |
/// | `https://example.com/a?x={y}` | `https://example.com/a` | query not validated |
/// | `https://example.com/%7euser` | `https://example.com/~user` | unreserved decoded (§6.2.2.2) |
/// | `https://example.com/%41%2d%5F` | `https://example.com/A-_` | unreserved decoded (§6.2.2.2) |
/// | `https://ex%41mple.com/` | `https://example.com/` | decoded in host, lower-cased |
/// | `https://example.com/a%2fb` | `https://example.com/a%2Fb` | hex upper-cased (§6.2.2.1) |
/// | `https://example.com/caf%c3%a9` | `https://example.com/caf%C3%A9` | hex upper-cased |
/// | `https://xn--caf-dma.example/` | `https://xn--caf-dma.example/` | IDN as A-label |
/// | `https://example.com/a/./b/../c` | `https://example.com/a/c` | dot segments (§5.2.4) |
/// | `https://example.com/a/%2E%2E/b` | `https://example.com/b` | decoded, then dot segments |
/// | `https://example.com/a/.%2e/b` | `https://example.com/b` | decoded, then dot segments |
/// | `https://example.com/a/b/..` | `https://example.com/a/` | final dot segment (§5.2.4) |
/// | `https://example.com/a/.` | `https://example.com/a/` | final dot segment (§5.2.4) |
/// | `https://example.com/../a` | `https://example.com/a` | `..` at the root (§5.2.4) |
/// | `https://example.com/a/...` | `https://example.com/a/...` | not a dot segment |
/// | `https://example.com/a/` | `https://example.com/a/` | trailing slash kept |
/// | `https://example.com/A` | `https://example.com/A` | path case kept |
/// | `https://example.com/a//b` | `https://example.com/a//b` | empty segment kept |
/// | `https://example.com/a;p=1/@b:c/$!*` | `https://example.com/a;p=1/@b:c/$!*` | pchar (§3.3) |
/// | `https://example.com/users/auth0\|123` | `https://example.com/users/auth0%7C123` | left unencoded by WHATWG URL; encoded |
/// | `https://example.com/users/auth0%7c123` | `https://example.com/users/auth0%7C123` | the same path, hex upper-cased |
/// | `https://example.com/a^b` | `https://example.com/a%5Eb` | left unencoded by WHATWG URL; encoded |
/// | `https://example.com/[x]` | `https://example.com/%5Bx%5D` | left unencoded by WHATWG URL; encoded |
/// | `https://example.com/{id}` | `https://example.com/%7Bid%7D` | left unencoded by WHATWG URL; encoded |
/// | `` https://example.com/a`b `` | `https://example.com/a%60b` | left unencoded by WHATWG URL; encoded |
/// | `http://[::1]:8080/x` | `http://[::1]:8080/x` | IPv6 literal (§3.2.2) |
/// | `http://[::FFFF:1.2.3.4]/` | `http://[::ffff:1.2.3.4]/` | IPv6 lower-cased (§6.2.2.1) |
/// | `https://[2001:DB8::1]:443` | `https://[2001:db8::1]/` | IPv6; default port; empty path |
/// | `http://127.0.0.1:8080/` | `http://127.0.0.1:8080/` | IPv4 as reg-name (§3.2.2) |
/// | `ftp://example.com/` | rejected: `unsupported_scheme` | only http, https |
/// | `wss://example.com/` | rejected: `unsupported_scheme` | only http, https |
/// | `urn:example:a` | rejected: `unsupported_scheme` | only http, https |
/// | `/path` | rejected: `not_absolute` | relative reference (§4.2) |
/// | `//example.com/x` | rejected: `not_absolute` | network-path reference (§4.2) |
/// | `example.com/x` | rejected: `not_absolute` | relative reference (§4.2) |
/// | `https:/example.com/x` | rejected: `not_absolute` | no `//` authority (§3.2) |
/// | `https:example.com` | rejected: `not_absolute` | no `//` authority (§3.2) |
/// | `https://user@example.com/` | rejected: `user_info` | RFC 9110 §4.2.4 |
/// | `https://u:p@example.com/` | rejected: `user_info` | RFC 9110 §4.2.4 |
/// | `https:///x` | rejected: `empty_host` | RFC 9110 §4.2.2 |
/// | `https://:443/x` | rejected: `empty_host` | RFC 9110 §4.2.2 |
/// | `https://example.com/%` | rejected: `invalid_percent_encoding` | `%` HEXDIG HEXDIG (§2.1) |
/// | `https://example.com/%G1` | rejected: `invalid_percent_encoding` | `%` HEXDIG HEXDIG (§2.1) |
/// | `https://example.com/%2` | rejected: `invalid_percent_encoding` | `%` HEXDIG HEXDIG (§2.1) |
/// | `https://ex%zample.com/` | rejected: `invalid_percent_encoding` | `%` HEXDIG HEXDIG (§2.1) |
/// | `https://example.com/a b` | rejected: `invalid_character` | no whitespace (§2) |
/// | `https://example.com/a?b c` | rejected: `invalid_character` | no whitespace, even in query |
/// | `https://exämple.com/` | rejected: `invalid_character` | ASCII only (§2) |
/// | `https://example.com/ä` | rejected: `invalid_character` | ASCII only (§2) |
/// | `https://example.com/a\b` | rejected: `invalid_character` | not a pchar (§3.3) |
/// | `https://example.com/a"b` | rejected: `invalid_character` | not a pchar (§3.3) |
/// | `https://exa<mple.com/` | rejected: `invalid_character` | not in reg-name (§3.2.2) |
/// | `https://exa]mple.com/` | rejected: `invalid_character` | not in reg-name (§3.2.2) |
/// | `https://ex\|ample.com/` | rejected: `invalid_character` | not in reg-name (§3.2.2) |
/// | `https://example.com:65536/` | rejected: `invalid_port` | port > 65535 |
/// | `https://example.com:8a/` | rejected: `invalid_port` | port is digits (§3.2.3) |
/// | `https://example.com:-1/` | rejected: `invalid_port` | port is digits (§3.2.3) |
/// | `https://example.com:1:2/` | rejected: `invalid_port` | port is digits (§3.2.3) |
/// | `https://[::1]:8a/` | rejected: `invalid_port` | port is digits (§3.2.3) |
/// | `https://[::1/` | rejected: `invalid_host` | unterminated IP literal |
/// | `https://[::1]x/` | rejected: `invalid_host` | junk after IP literal |
/// | `https://[]/` | rejected: `invalid_host` | not an IPv6 address |
/// | `https://[1.2.3.4]/` | rejected: `invalid_host` | not an IPv6 address |
/// | `https://[1::2::3]/` | rejected: `invalid_host` | not an IPv6 address |
/// | `https://[v1.x]/` | rejected: `invalid_host` | no `IPvFuture` (§3.2.2) |
/// | `https://[fe80::1%25eth0]/` | rejected: `invalid_host` | zone identifier (RFC 6874) |
///
/// When an input breaks several rules, the error reported is the first of: `too_long`;
/// `invalid_character` for a byte outside printable ASCII; `not_absolute` or
/// `unsupported_scheme`; the authority's errors, `user_info` first; the path's errors;
/// `query_or_fragment`. Input errors always take precedence over `buffer_too_small`.
///
/// Further rejections not in the table: control characters and tabs (`invalid_character`), input
/// longer than [`MAX_URI_LEN`] or whose canonical form would be (`too_long`), a claim with a query
/// or fragment (`query_or_fragment`), and an output buffer shorter than the canonical form
/// (`buffer_too_small`).
///
/// # Errors
///
/// Any [`UriError`] other than [`UriError::QueryOrFragment`] when `uri` is not an acceptable
/// HTTP(S) URI, and [`UriError::BufferTooSmall`] when it is but `out` is shorter than its
/// canonical form. Input errors take precedence over `BufferTooSmall`.
///
/// # Examples
///
/// ```
/// use dpop_core::{TargetUri, canonicalize_uri};
///
/// let mut buf = [0u8; dpop_core::consts::MAX_URI_LEN];
/// let htu = canonicalize_uri("HTTPS://Example.COM:443/a/./b/../%7ec?q=1#frag", &mut buf)?;
/// assert_eq!(htu, "https://example.com/a/~c");
///
/// // The same function sits behind `TargetUri`.
/// let uri = TargetUri::parse("https://example.com/a/~c")?;
/// assert_eq!(uri.canonical_len(), htu.len());
/// # Ok::<(), dpop_core::UriError>(())
/// ```
pub fn canonicalize_uri<'b>(uri: &str, out: &'b mut [u8]) -> Result<&'b str, UriError> {
    let parts = analyze(uri, false)?;
    // Only escaped characters make the canonical form longer than the input (three bytes for
    // one); measure it exactly when this bound cannot rule out passing MAX_URI_LEN.
    if parts.front_len + parts.path.len().saturating_mul(3) > MAX_URI_LEN {
        parts.canonical_len()?;
    }
    write_canonical_parts(&parts, out)
}

/// An HTTP(S) target URI that has been validated, borrowing the input text.
///
/// It is only constructed by [`TargetUri::parse`] (a request URL) and [`TargetUri::parse_claim`]
/// (the `htu` claim of a proof), so every value is known to have a canonical form, of
/// [`TargetUri::canonical_len`] bytes.
///
/// `==` compares the text as given. Use [`TargetUri::canonical_eq`] to compare two URIs the way
/// proof verification does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TargetUri<'a> {
    raw: &'a str,
    /// Cached so that lengths can be compared, and buffers sized, without rewriting the URI.
    canonical_len: usize,
}

impl<'a> TargetUri<'a> {
    /// Validates a request URL; its query and fragment are allowed and ignored.
    ///
    /// Use this for the URI of the HTTP request being served (or about to be sent). The
    /// validation is exactly that of [`canonicalize_uri`].
    ///
    /// # Errors
    ///
    /// Any [`UriError`] except [`UriError::QueryOrFragment`] and [`UriError::BufferTooSmall`],
    /// when `uri` is not an acceptable HTTP(S) URI (see [`canonicalize_uri`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use dpop_core::{TargetUri, canonicalize_uri};
    ///
    /// let request = TargetUri::parse("https://API.example.com:443/v1/items?page=2")?;
    /// let claim = TargetUri::parse_claim("https://api.example.com/v1/items")?;
    /// assert!(request.canonical_eq(&claim));
    /// assert_ne!(request, claim); // `==` compares the text as given
    ///
    /// let other = TargetUri::parse_claim("https://api.example.com/v1/items/")?;
    /// assert!(!request.canonical_eq(&other)); // a trailing slash is significant
    ///
    /// let mut buf = [0u8; 64];
    /// assert_eq!(request.write_canonical(&mut buf)?, "https://api.example.com/v1/items");
    /// # Ok::<(), dpop_core::UriError>(())
    /// ```
    pub fn parse(uri: &'a str) -> Result<Self, UriError> {
        Self::new(uri, false)
    }

    /// Validates the `htu` claim of a proof, which must not contain a query or fragment.
    ///
    /// RFC 9449 §4.2 defines `htu` without them, so a claim that has one, even an empty `?` or
    /// `#`, was not produced by a conforming client and is rejected rather than truncated.
    /// Otherwise the validation is exactly that of [`canonicalize_uri`].
    ///
    /// # Errors
    ///
    /// [`UriError::QueryOrFragment`] when `uri` contains `?` or `#` (and is otherwise valid up to
    /// that point), or any other [`UriError`] except [`UriError::BufferTooSmall`] when `uri` is
    /// not an acceptable HTTP(S) URI.
    pub fn parse_claim(uri: &'a str) -> Result<Self, UriError> {
        Self::new(uri, true)
    }

    fn new(uri: &'a str, claim: bool) -> Result<Self, UriError> {
        let parts = match analyze(uri, claim) {
            // A canonical form over MAX_URI_LEN (escapes in the path before the `?` or `#`) is
            // an input error, and those come before QueryOrFragment.
            Err(UriError::QueryOrFragment) => {
                analyze(uri, false)?.canonical_len()?;
                return Err(UriError::QueryOrFragment);
            }
            parts => parts?,
        };
        Ok(Self {
            raw: uri,
            canonical_len: parts.canonical_len()?,
        })
    }

    /// The text as given, including any query and fragment.
    #[must_use]
    pub const fn as_str(&self) -> &'a str {
        self.raw
    }

    /// Writes the canonical form into `out` and returns it, using [`canonicalize_uri`].
    ///
    /// # Errors
    ///
    /// [`UriError::BufferTooSmall`] when `out` is shorter than
    /// [`canonical_len`](Self::canonical_len); a buffer of [`MAX_URI_LEN`] bytes is always
    /// enough. No other error is possible, since the URI was validated when parsed.
    pub fn write_canonical<'b>(&self, out: &'b mut [u8]) -> Result<&'b str, UriError> {
        canonicalize_uri(self.raw, out)
    }

    /// The length in bytes of the canonical form; never more than [`MAX_URI_LEN`].
    #[must_use]
    pub const fn canonical_len(&self) -> usize {
        self.canonical_len
    }

    /// Whether both URIs have the same canonical form, which is how proof verification matches
    /// the `htu` claim against the request URI.
    ///
    /// Does not allocate; when the lengths of the canonical forms are equal and the texts differ,
    /// writes both into stack buffers (of at most [`MAX_URI_LEN`] bytes each). The comparison is
    /// not constant-time: target URIs are not secret.
    #[must_use]
    pub fn canonical_eq(&self, other: &TargetUri<'_>) -> bool {
        if self.canonical_len != other.canonical_len {
            return false;
        }
        if self.raw == other.raw {
            return true;
        }
        // Typical URIs are short: avoid initializing two large buffers for them.
        if self.canonical_len <= SHORT_URI_LEN {
            self.canonical_eq_in::<SHORT_URI_LEN>(other)
        } else {
            self.canonical_eq_in::<MAX_URI_LEN>(other)
        }
    }

    fn canonical_eq_in<const N: usize>(&self, other: &TargetUri<'_>) -> bool {
        let mut mine = [0u8; N];
        let mut theirs = [0u8; N];
        match (
            self.write_canonical(&mut mine),
            other.write_canonical(&mut theirs),
        ) {
            (Ok(a), Ok(b)) => a == b,
            // Unreachable for parsed values; failing closed is the safe answer regardless.
            _ => false,
        }
    }
}

/// Buffer size for comparing canonical forms that are short, as nearly all are.
const SHORT_URI_LEN: usize = 256;

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/// The validated components of a URI, with what is needed to write its canonical form.
#[derive(Clone, Copy, Debug)]
struct Parts<'a> {
    https: bool,
    /// Host as written: a reg-name, or an IPv6 literal including its brackets.
    host: &'a [u8],
    /// The host has no percent-escape, so its canonical form is just lower-cased.
    host_plain: bool,
    /// Canonical port digits (no leading zeros), or empty when the port is dropped.
    port: &'a [u8],
    /// Path as written: empty or starting with `/`, every escape valid.
    path: &'a [u8],
    /// The path has no percent-escape and no segment starting with ".", so neither decoding nor
    /// dot-segment removal can change it. This is the common case, copied as a whole.
    path_plain: bool,
    /// Length of the canonical `scheme "://" host [ ":" port ]`.
    front_len: usize,
}

impl<'a> Parts<'a> {
    /// The canonical path, when it needs no per-segment work.
    fn plain_path(&self) -> Option<&'a [u8]> {
        match (self.path_plain, self.path.is_empty()) {
            (false, _) => None,
            // RFC 3986 §6.2.3 and RFC 9110 §4.2.3: an empty path is equivalent to "/".
            (true, true) => Some(b"/"),
            (true, false) => Some(self.path),
        }
    }

    /// The length of the canonical form, computed by the code that writes it.
    fn canonical_len(&self) -> Result<usize, UriError> {
        let path_len = match self.plain_path() {
            Some(path) => path.len(),
            None => {
                let mut counter = Counter(0);
                emit_path_reversed(self.path, &mut counter)?;
                counter.0
            }
        };
        let len = self.front_len + path_len;
        // `| ^ [ ] { }` and the backtick are written as three bytes each, so a path of them can
        // outgrow the input and MAX_URI_LEN.
        if len > MAX_URI_LEN {
            return Err(UriError::TooLong);
        }
        Ok(len)
    }
}

/// Validates `uri` completely (so that writing can fail only for lack of space) and splits it.
fn analyze(uri: &str, claim: bool) -> Result<Parts<'_>, UriError> {
    let bytes = uri.as_bytes();
    if bytes.len() > MAX_URI_LEN {
        return Err(UriError::TooLong);
    }
    // RFC 3986 §2: a URI consists of printable US-ASCII only. Checking up front rejects
    // whitespace, controls and non-ASCII in every component, including the dropped ones. A fold
    // without early exit, so that it compiles to a vectorized loop.
    if !bytes
        .iter()
        .fold(true, |ok, &b| ok & matches!(b, 0x21..=0x7E))
    {
        return Err(UriError::InvalidCharacter);
    }

    let (https, rest) = split_scheme(bytes)?;
    // RFC 3986 §3.2 and RFC 9110 §4.2.1: http(s) URIs have an authority, introduced by "//".
    let rest = rest.strip_prefix(b"//").ok_or(UriError::NotAbsolute)?;

    let (host, rest) = if rest.first() == Some(&b'[') {
        split_ip_literal_authority(rest, https)?
    } else {
        split_reg_name_authority(rest, https)?
    };

    let (path_len, path_plain) = scan_path(rest)?;
    let (path, query_and_fragment) = rest
        .split_at_checked(path_len)
        .ok_or(UriError::InvalidCharacter)?;
    if claim && !query_and_fragment.is_empty() {
        return Err(UriError::QueryOrFragment);
    }

    let scheme_len = if https { 5 } else { 4 };
    let port_len = if host.port.is_empty() {
        0
    } else {
        1 + host.port.len()
    };
    let front_len = scheme_len + 3 + host.canonical_len + port_len;
    // Every normalization step shortens or keeps the length, except that an empty path becomes
    // "/". So only then can the canonical form outgrow the input, and MAX_URI_LEN must also bound
    // it, or the canonical form would not be accepted by `parse_claim`.
    if path.is_empty() && front_len + 1 > MAX_URI_LEN {
        return Err(UriError::TooLong);
    }
    Ok(Parts {
        https,
        host: host.host,
        host_plain: host.plain,
        port: host.port,
        path,
        path_plain,
        front_len,
    })
}

/// Splits `scheme ":"` off the front; returns whether it is `https`.
fn split_scheme(bytes: &[u8]) -> Result<(bool, &[u8]), UriError> {
    // RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). Per §4.2, when what
    // precedes the first ":" is not a scheme (or there is no ":"), the text is a relative
    // reference.
    let colon = bytes
        .iter()
        .position(|&b| b == b':')
        .ok_or(UriError::NotAbsolute)?;
    let (scheme, rest) = bytes.split_at_checked(colon).ok_or(UriError::NotAbsolute)?;
    let rest = rest.get(1..).ok_or(UriError::NotAbsolute)?;
    let is_scheme = match scheme.split_first() {
        Some((first, tail)) => {
            first.is_ascii_alphabetic()
                && tail
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        }
        None => false,
    };
    if !is_scheme {
        return Err(UriError::NotAbsolute);
    }
    // RFC 3986 §3.1: schemes are case-insensitive.
    if scheme.eq_ignore_ascii_case(b"https") {
        Ok((true, rest))
    } else if scheme.eq_ignore_ascii_case(b"http") {
        Ok((false, rest))
    } else {
        Err(UriError::UnsupportedScheme)
    }
}

/// A validated `host [ ":" port ]`.
#[derive(Clone, Copy, Debug)]
struct Host<'a> {
    host: &'a [u8],
    canonical_len: usize,
    plain: bool,
    port: &'a [u8],
}

/// Splits a validated `reg-name [ ":" port ]` authority off the front of `rest`.
fn split_reg_name_authority(rest: &[u8], https: bool) -> Result<(Host<'_>, &[u8]), UriError> {
    // One pass to the end of the authority, which is the first "/", "?" or "#" (RFC 3986 §3.2).
    // It validates the host, counts the escapes that decoding shortens, and finds the port: ":"
    // is not allowed in a reg-name (§3.2.2), so the first one starts the port, whose characters
    // `canonical_port` checks. "@" can only end a userinfo (§3.2.1), since neither a reg-name
    // nor a port allows it. RFC 9110 §4.2.4 says to treat userinfo as an error: it is used to
    // disguise the real host (`https://trusted.example@evil.example/`). It is reported in
    // preference to any other error in the authority, as the more precise diagnosis.
    let mut colon = None;
    let mut decoded = 0;
    let mut plain = true;
    let mut userinfo = false;
    let mut error = None;
    let mut end = 0;
    while let Some(&b) = rest.get(end) {
        let at = end;
        end += 1;
        if is(REG_NAME, b) {
            continue;
        }
        match b {
            b'/' | b'?' | b'#' => {
                end = at;
                break;
            }
            b'@' => userinfo = true,
            // Everything after the first ":" is the port, checked by `canonical_port`.
            _ if colon.is_some() => {}
            b':' => colon = Some(at),
            b'%' => match Escape::at(rest, at) {
                Ok(escape) => {
                    plain = false;
                    // RFC 3986 §6.2.2.2: unreserved characters are decoded.
                    decoded += usize::from(is(UNRESERVED, escape.value));
                    end = at + 3;
                }
                Err(e) => {
                    error.get_or_insert(e);
                }
            },
            _ => {
                error.get_or_insert(UriError::InvalidCharacter);
            }
        }
    }
    if userinfo {
        return Err(UriError::UserInfo);
    }
    if let Some(error) = error {
        return Err(error);
    }
    let (authority, rest) = rest.split_at_checked(end).ok_or(UriError::EmptyHost)?;
    let (host, port) = match colon {
        Some(colon) => (
            authority.get(..colon).ok_or(UriError::InvalidPort)?,
            authority.get(colon + 1..).ok_or(UriError::InvalidPort)?,
        ),
        None => (authority, &[][..]),
    };
    // RFC 9110 §4.2.1, §4.2.2: recipients reject an http(s) URI with an empty host.
    if host.is_empty() {
        return Err(UriError::EmptyHost);
    }
    let host = Host {
        host,
        canonical_len: host.len() - 2 * decoded,
        plain,
        port: canonical_port(port, https)?,
    };
    Ok((host, rest))
}

/// Splits a validated `IP-literal [ ":" port ]` authority off the front of `rest`.
fn split_ip_literal_authority(rest: &[u8], https: bool) -> Result<(Host<'_>, &[u8]), UriError> {
    // RFC 3986 §3.2: the authority ends at the first "/", "?" or "#".
    let end = rest
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let (authority, rest) = rest.split_at_checked(end).ok_or(UriError::InvalidHost)?;
    // As for a reg-name: any "@" means userinfo (RFC 3986 §3.2.1, RFC 9110 §4.2.4).
    if authority.contains(&b'@') {
        return Err(UriError::UserInfo);
    }
    // RFC 3986 §3.2.2: IP-literal = "[" ( IPv6address / IPvFuture ) "]".
    let close = authority
        .iter()
        .position(|&b| b == b']')
        .ok_or(UriError::InvalidHost)?;
    let (literal, after) = authority
        .split_at_checked(close + 1)
        .ok_or(UriError::InvalidHost)?;
    validate_ipv6_literal(literal)?;
    let port = match after.split_first() {
        None => &[][..],
        Some((b':', port)) => port,
        Some(_) => return Err(UriError::InvalidHost),
    };
    let host = Host {
        host: literal,
        canonical_len: literal.len(),
        plain: true,
        port: canonical_port(port, https)?,
    };
    Ok((host, rest))
}

/// Checks an IP literal, brackets included, and rejects what cannot be bound to a host.
fn validate_ipv6_literal(literal: &[u8]) -> Result<(), UriError> {
    let inner = literal
        .strip_prefix(b"[")
        .and_then(|l| l.strip_suffix(b"]"))
        .ok_or(UriError::InvalidHost)?;
    // Only hex digits, ":" and "." appear in an IPv6address (RFC 3986 §3.2.2). This excludes
    // IPvFuture ("v1.x"), whose meaning is undefined, and RFC 6874 zone identifiers ("%25eth0"),
    // which are local to the sender and must not travel in a URI sent to a server.
    if !inner
        .iter()
        .all(|&b| b.is_ascii_hexdigit() || matches!(b, b':' | b'.'))
    {
        return Err(UriError::InvalidHost);
    }
    if is_ipv6_address(inner) {
        Ok(())
    } else {
        Err(UriError::InvalidHost)
    }
}

/// The `IPv6address` rule of RFC 3986 §3.2.2 (the text forms of RFC 4291 §2.2): pieces of one
/// to four hex digits separated by `:`, at most one `::` standing for one or more zero pieces,
/// and optionally an `IPv4address` as the last two pieces; eight pieces in all without `::`,
/// at most seven written with it. Written out rather than through `core::net::Ipv6Addr`, whose
/// parser brings about 2 KiB of code to a firmware for an answer this small.
fn is_ipv6_address(text: &[u8]) -> bool {
    let mut pieces = 0usize;
    let mut elided = false;
    let mut rest = text;
    if let Some(after) = rest.strip_prefix(b"::") {
        elided = true;
        rest = after;
    }
    while !rest.is_empty() {
        let digits = rest.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        if rest.get(digits) == Some(&b'.') {
            // The dotted quad ends the address.
            if !is_ipv4_address(rest) {
                return false;
            }
            pieces += 2;
            break;
        }
        let Some(after) = rest.get(digits..) else {
            return false;
        };
        if !(1..=4).contains(&digits) || pieces == 8 {
            return false;
        }
        pieces += 1;
        rest = after;
        if let Some(after) = rest.strip_prefix(b"::") {
            if elided {
                return false;
            }
            elided = true;
            rest = after;
        } else if let Some(after) = rest.strip_prefix(b":") {
            // A piece must follow.
            if after.is_empty() {
                return false;
            }
            rest = after;
        } else if !rest.is_empty() {
            return false;
        }
    }
    if elided { pieces <= 7 } else { pieces == 8 }
}

/// The `IPv4address` rule of RFC 3986 §3.2.2: four `dec-octet`s (0 to 255, no leading zero)
/// separated by `.`.
fn is_ipv4_address(text: &[u8]) -> bool {
    let mut octets = 0;
    for octet in text.split(|&b| b == b'.') {
        octets += 1;
        let valid = match *octet {
            [d] => d.is_ascii_digit(),
            [b'1'..=b'9', d] | [b'1', b'0'..=b'9', d] | [b'2', b'0'..=b'4', d] => {
                d.is_ascii_digit()
            }
            [b'2', b'5', b'0'..=b'5'] => true,
            _ => false,
        };
        if !valid || octets > 4 {
            return false;
        }
    }
    octets == 4
}

/// Validates a port and returns its canonical digits, empty when the port is dropped.
fn canonical_port(digits: &[u8], https: bool) -> Result<&[u8], UriError> {
    // RFC 3986 §3.2.3: port = *DIGIT. The value is checked against the 16-bit TCP port range;
    // the accumulator stays below 65536 * 10, so it cannot overflow.
    let mut value: u32 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return Err(UriError::InvalidPort);
        }
        value = value * 10 + u32::from(d - b'0');
        if value > u32::from(u16::MAX) {
            return Err(UriError::InvalidPort);
        }
    }
    let default = if https { 443 } else { 80 };
    // RFC 3986 §6.2.3 and RFC 9110 §4.2.3: an empty port and the scheme's default port are
    // equivalent to no port.
    if digits.is_empty() || value == default {
        return Ok(&[]);
    }
    // Leading zeros do not change the number, so they are dropped; "0" itself stays.
    let start = digits
        .iter()
        .position(|&d| d != b'0')
        .unwrap_or(digits.len().saturating_sub(1));
    digits.get(start..).ok_or(UriError::InvalidPort)
}

/// Validates the path, which ends at "?", "#" or the end (RFC 3986 §3.3: path-abempty, that is
/// `*( "/" segment )` with segments of pchar). Returns its length, and whether it is plain: no
/// percent-escape and no segment starting with ".".
fn scan_path(bytes: &[u8]) -> Result<(usize, bool), UriError> {
    let mut plain = true;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if is(PATH, b) {
            // A "." is rare: only then look back for a segment start.
            if b == b'.' && i.checked_sub(1).and_then(|p| bytes.get(p)) == Some(&b'/') {
                plain = false;
            }
            i += 1;
        } else if b == b'%' {
            Escape::at(bytes, i)?;
            plain = false;
            i += 3;
        } else if is(ENCODE, b) {
            plain = false;
            i += 1;
        } else if matches!(b, b'?' | b'#') {
            break;
        } else {
            return Err(UriError::InvalidCharacter);
        }
    }
    Ok((i, plain))
}

/// A `%XX` percent-escape (RFC 3986 §2.1).
#[derive(Clone, Copy, Debug)]
struct Escape {
    value: u8,
    /// The hex digits, upper-cased (§6.2.2.1).
    hi: u8,
    lo: u8,
}

impl Escape {
    /// Reads the escape whose `%` is at `bytes[i]`.
    fn at(bytes: &[u8], i: usize) -> Result<Self, UriError> {
        let digit = |offset: usize| {
            bytes
                .get(i + offset)
                .copied()
                .filter(u8::is_ascii_hexdigit)
                .ok_or(UriError::InvalidPercentEncoding)
        };
        let (hi, lo) = (digit(1)?, digit(2)?);
        Ok(Self {
            value: (hex_value(hi) << 4) | hex_value(lo),
            hi: hi.to_ascii_uppercase(),
            lo: lo.to_ascii_uppercase(),
        })
    }

    /// Emits the canonical form: the character when unreserved (RFC 3986 §6.2.2.2), else the
    /// escape with upper-case hex digits (§6.2.2.1).
    fn emit(self, sink: &mut impl Sink, lower_case: bool) -> Result<(), UriError> {
        if is(UNRESERVED, self.value) {
            let value = if lower_case {
                self.value.to_ascii_lowercase()
            } else {
                self.value
            };
            sink.put(&[value])
        } else {
            sink.put(&[b'%', self.hi, self.lo])
        }
    }
}

/// The value of an ASCII hex digit (0 for anything else, which callers have excluded).
const fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

/// A set of ASCII bytes: bit `b` is set when byte `b` is in the set.
type ByteSet = u128;

/// The set of the given bytes, all ASCII (a larger byte fails to compile, as the shift overflows).
const fn byte_set(bytes: &[u8]) -> ByteSet {
    let mut set = 0;
    let mut rest = bytes;
    while let [first, tail @ ..] = rest {
        set |= 1 << *first;
        rest = tail;
    }
    set
}

/// RFC 3986 §2.3: unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~".
const UNRESERVED_SET: ByteSet =
    byte_set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~");
/// RFC 3986 §2.2: sub-delims = "!" / "$" / "&" / "'" / "(" / ")" / "*" / "+" / "," / ";" / "=".
const SUB_DELIMS_SET: ByteSet = byte_set(b"!$&'()*+,;=");
/// The characters that pchar adds to unreserved and sub-delims (RFC 3986 §3.3).
const COLON_AT_SET: ByteSet = byte_set(b":@");
/// The segment separator of a path (RFC 3986 §3.3).
const SLASH_SET: ByteSet = byte_set(b"/");
/// Characters that are not pchar but that WHATWG URL parsing (browsers, Node.js `fetch`, the
/// `url` crate) leaves unencoded in a path: accepted there and written percent-encoded, so that
/// `|` and `%7C` are the same path (RFC 3986 §2.1 allows encoding any character; only the
/// encoded form is a valid URI).
const ENCODE_SET: ByteSet = byte_set(b"|^[]{}`");

/// Class flag: unreserved (RFC 3986 §2.3).
const UNRESERVED: u8 = 1;
/// Class flag: sub-delims (RFC 3986 §2.2).
const SUB_DELIM: u8 = 2;
/// Class flag: ":" or "@".
const COLON_AT: u8 = 4;
/// Class flag: "/".
const SLASH: u8 = 8;
/// Class flag: accepted in a path, written percent-encoded ([`ENCODE_SET`]).
const ENCODE: u8 = 16;
/// The characters of a reg-name other than percent-escapes (RFC 3986 §3.2.2).
const REG_NAME: u8 = UNRESERVED | SUB_DELIM;
/// The characters of a path other than percent-escapes: pchar and "/" (RFC 3986 §3.3).
const PATH: u8 = UNRESERVED | SUB_DELIM | COLON_AT | SLASH;

/// The class flags of every byte value: one load per byte in the scanning loops.
static CLASSES: [u8; 256] = class_table();

const fn class_table() -> [u8; 256] {
    const fn flag(set: ByteSet, byte: u32, flag: u8) -> u8 {
        if byte < 128 && (set >> byte) & 1 == 1 {
            flag
        } else {
            0
        }
    }
    let mut table = [0; 256];
    let mut rest: &mut [u8] = &mut table;
    let mut byte = 0;
    while let [slot, tail @ ..] = rest {
        *slot = flag(UNRESERVED_SET, byte, UNRESERVED)
            | flag(SUB_DELIMS_SET, byte, SUB_DELIM)
            | flag(COLON_AT_SET, byte, COLON_AT)
            | flag(SLASH_SET, byte, SLASH)
            | flag(ENCODE_SET, byte, ENCODE);
        byte += 1;
        rest = tail;
    }
    table
}

/// Whether `b` has any of the class flags in `flags`.
fn is(flags: u8, b: u8) -> bool {
    CLASSES
        .get(usize::from(b))
        .is_some_and(|&class| class & flags != 0)
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/// Receives the canonical form, in units of one or more bytes.
trait Sink {
    /// Emits `bytes`, in reading order, as a unit.
    fn put(&mut self, bytes: &[u8]) -> Result<(), UriError>;
}

/// Counts the bytes instead of storing them.
#[derive(Debug)]
struct Counter(usize);

impl Sink for Counter {
    fn put(&mut self, bytes: &[u8]) -> Result<(), UriError> {
        self.0 += bytes.len();
        Ok(())
    }
}

/// Appends units from the start of the buffer.
#[derive(Debug)]
struct Forward<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl Forward<'_> {
    /// Appends `bytes` lower-cased (ASCII).
    fn put_lowercase(&mut self, bytes: &[u8]) -> Result<(), UriError> {
        let end = self.len + bytes.len();
        let dest = self
            .buf
            .get_mut(self.len..end)
            .ok_or(UriError::BufferTooSmall)?;
        for (d, s) in dest.iter_mut().zip(bytes) {
            *d = s.to_ascii_lowercase();
        }
        self.len = end;
        Ok(())
    }
}

impl Sink for Forward<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), UriError> {
        let end = self.len + bytes.len();
        let dest = self
            .buf
            .get_mut(self.len..end)
            .ok_or(UriError::BufferTooSmall)?;
        for (d, s) in dest.iter_mut().zip(bytes) {
            *d = *s;
        }
        self.len = end;
        Ok(())
    }
}

/// Prepends units before those already written, growing down from the end of the buffer and
/// never below `floor`.
#[derive(Debug)]
struct Backward<'b> {
    buf: &'b mut [u8],
    floor: usize,
    start: usize,
}

impl Sink for Backward<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), UriError> {
        let start = self
            .start
            .checked_sub(bytes.len())
            .filter(|&start| start >= self.floor)
            .ok_or(UriError::BufferTooSmall)?;
        let dest = self
            .buf
            .get_mut(start..self.start)
            .ok_or(UriError::BufferTooSmall)?;
        for (d, s) in dest.iter_mut().zip(bytes) {
            *d = *s;
        }
        self.start = start;
        Ok(())
    }
}

/// Writes the canonical form of validated `parts` into `out`.
fn write_canonical_parts<'b>(parts: &Parts<'_>, out: &'b mut [u8]) -> Result<&'b str, UriError> {
    let mut front = Forward { buf: out, len: 0 };
    front.put(if parts.https { b"https://" } else { b"http://" })?;
    // RFC 3986 §6.2.2.1: the host is case-insensitive.
    if parts.host_plain {
        front.put_lowercase(parts.host)?;
    } else {
        emit_host(parts.host, &mut front)?;
    }
    if !parts.port.is_empty() {
        front.put(b":")?;
        front.put(parts.port)?;
    }
    if let Some(path) = parts.plain_path() {
        front.put(path)?;
        let total = front.len;
        return ascii_str(out.get(..total));
    }
    let front_len = front.len;

    // The path is written from its end, right-aligned in `out`, then moved next to the front.
    // Walking backwards lets dot-segment removal skip the segments that a later ".." cancels
    // instead of writing and then erasing them, so `out` needs room for the final form only:
    // `BufferTooSmall` happens exactly when `out.len()` is below the canonical length.
    let capacity = out.len();
    let mut back = Backward {
        buf: out,
        floor: front_len,
        start: capacity,
    };
    emit_path_reversed(parts.path, &mut back)?;
    let path_start = back.start;
    // Holds by construction of `Backward`; checked so the moves below provably stay in `out`.
    if path_start < front_len || path_start > capacity {
        return Err(UriError::BufferTooSmall);
    }
    // Moved down by swapping, front to back (each source byte is read before anything is
    // written over it, as the destination is below the source): unlike `copy_within`, this
    // does not link `memmove`, 1.5 KiB of flash on a device that has no other use for it.
    // What is left past the canonical form is unspecified.
    let path_len = capacity - path_start;
    for i in 0..path_len {
        out.swap(front_len + i, path_start + i);
    }
    ascii_str(out.get(..front_len + path_len))
}

/// The written canonical form as text.
fn ascii_str(written: Option<&[u8]>) -> Result<&str, UriError> {
    let written = written.ok_or(UriError::BufferTooSmall)?;
    // Only ASCII is ever written, so this cannot fail; no panic path is kept for it either.
    core::str::from_utf8(written).map_err(|_| UriError::InvalidCharacter)
}

/// Writes a validated reg-name that has percent-escapes: lower-cased (RFC 3986 §6.2.2.1),
/// unreserved escapes decoded (§6.2.2.2), other escapes with upper-case hex.
fn emit_host(host: &[u8], sink: &mut Forward<'_>) -> Result<(), UriError> {
    let mut i = 0;
    while let Some(&b) = host.get(i) {
        if b == b'%' {
            Escape::at(host, i)?.emit(sink, true)?;
            i += 3;
        } else {
            sink.put(&[b.to_ascii_lowercase()])?;
            i += 1;
        }
    }
    Ok(())
}

/// Kinds of path segment, after decoding unreserved escapes (RFC 3986 §5.2.4, §6.2.2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Segment {
    /// `.`
    Current,
    /// `..`
    Parent,
    /// Anything else, including the empty segment.
    Normal,
}

impl Segment {
    /// Classifies a raw segment; only `.`, `%2E` and `%2e` decode to a dot.
    fn of(raw: &[u8]) -> Self {
        let mut rest = raw;
        let mut dots = 0;
        while !rest.is_empty() {
            if dots == 2 {
                return Self::Normal;
            }
            rest = match rest.strip_prefix(b".") {
                Some(tail) => tail,
                None => match rest
                    .strip_prefix(b"%2E")
                    .or_else(|| rest.strip_prefix(b"%2e"))
                {
                    Some(tail) => tail,
                    None => return Self::Normal,
                },
            };
            dots += 1;
        }
        match dots {
            1 => Self::Current,
            2 => Self::Parent,
            _ => Self::Normal,
        }
    }
}

/// Emits the canonical form of a validated path, last unit first (each unit in reading order).
///
/// Equivalent to decoding unreserved escapes and then running `remove_dot_segments` of RFC 3986
/// §5.2.4: each ".." cancels the nearest preceding segment that is not already cancelled, "."
/// disappears, ".." with nothing left to cancel (above the root) disappears, and a path that ends
/// in a dot segment keeps a trailing "/". Walking backwards, a count of pending ".." decides on
/// the spot whether a segment survives, so nothing is written that is later removed.
fn emit_path_reversed(path: &[u8], sink: &mut impl Sink) -> Result<(), UriError> {
    // RFC 3986 §6.2.3 and RFC 9110 §4.2.3: an empty path is equivalent to "/".
    if path.is_empty() {
        return sink.put(b"/");
    }
    // After the authority, a non-empty path starts with "/" (RFC 3986 §3.3, path-abempty).
    let segments = path.strip_prefix(b"/").ok_or(UriError::InvalidCharacter)?;
    let mut pending_parents = 0usize;
    let mut last = true;
    for raw in segments.rsplit(|&b| b == b'/') {
        let kind = Segment::of(raw);
        if last {
            last = false;
            if kind != Segment::Normal {
                // "/a/b/.." is "/a/" and "/a/." is "/a/": the output ends with a slash.
                sink.put(b"/")?;
            }
        }
        match kind {
            Segment::Current => {}
            Segment::Parent => pending_parents += 1,
            Segment::Normal if pending_parents > 0 => pending_parents -= 1,
            Segment::Normal => {
                emit_segment_reversed(raw, sink)?;
                sink.put(b"/")?;
            }
        }
    }
    Ok(())
}

/// Emits one validated segment, last unit first: unreserved escapes decoded (RFC 3986 §6.2.2.2),
/// other escapes with upper-case hex (§6.2.2.1), runs of other characters as they are (the path
/// is case-sensitive, §6.2.2.1).
fn emit_segment_reversed(raw: &[u8], sink: &mut impl Sink) -> Result<(), UriError> {
    // In a validated segment every "%" starts a complete 3-byte escape, and hex digits are never
    // "%" or a character to encode. So, with `end` at a unit boundary, the last special byte
    // before it either starts a unit (an escape, or one character to encode) that ends exactly
    // at `end`, or is followed by a run of plain characters up to `end`.
    let mut end = raw.len();
    while end > 0 {
        let head = raw.get(..end).ok_or(UriError::InvalidCharacter)?;
        let special = head.iter().rposition(|&b| b == b'%' || is(ENCODE, b));
        match special.and_then(|at| Some((at, *head.get(at)?))) {
            Some((at, b'%')) if at + 3 == end => {
                Escape::at(raw, at)?.emit(sink, false)?;
                end = at;
            }
            Some((at, b'%')) => {
                sink.put(head.get(at + 3..).ok_or(UriError::InvalidCharacter)?)?;
                end = at + 3;
            }
            Some((at, byte)) if at + 1 == end => {
                sink.put(&[
                    b'%',
                    HEX_UPPER[usize::from(byte >> 4)],
                    HEX_UPPER[usize::from(byte & 15)],
                ])?;
                end = at;
            }
            Some((at, _)) => {
                sink.put(head.get(at + 1..).ok_or(UriError::InvalidCharacter)?)?;
                end = at + 1;
            }
            None => {
                sink.put(head)?;
                end = 0;
            }
        }
    }
    Ok(())
}

/// Upper-case hex digits (RFC 3986 §2.1, §6.2.2.1).
const HEX_UPPER: [u8; 16] = *b"0123456789ABCDEF";

#[cfg(test)]
#[allow(
    clippy::std_instead_of_alloc,
    reason = "`alloc` is an optional feature of this crate; tests always have `std`"
)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::{
        format,
        string::{String, ToString},
        vec::Vec,
    };

    /// The table of the module documentation; `doc_table_matches_cases` keeps them identical.
    const CASES: &[(&str, Result<&str, UriError>)] = &[
        ("https://example.com/a", Ok("https://example.com/a")),
        ("HTTPS://Example.COM/a", Ok("https://example.com/a")),
        ("HtTp://EXAMPLE.com", Ok("http://example.com/")),
        ("https://example.com:443/a", Ok("https://example.com/a")),
        ("http://example.com:80/a", Ok("http://example.com/a")),
        ("https://example.com:80/a", Ok("https://example.com:80/a")),
        ("http://example.com:443/a", Ok("http://example.com:443/a")),
        ("https://h:80/", Ok("https://h:80/")),
        (
            "https://example.com:8443/a",
            Ok("https://example.com:8443/a"),
        ),
        (
            "https://example.com:08443/a",
            Ok("https://example.com:8443/a"),
        ),
        ("https://example.com:0443/a", Ok("https://example.com/a")),
        (
            "https://example.com:65535/",
            Ok("https://example.com:65535/"),
        ),
        ("http://h:/x", Ok("http://h/x")),
        ("https://example.com", Ok("https://example.com/")),
        ("https://example.com?q=1", Ok("https://example.com/")),
        ("https://example.com/a?q=1#f", Ok("https://example.com/a")),
        ("https://example.com/a#f?g", Ok("https://example.com/a")),
        ("https://example.com/a?", Ok("https://example.com/a")),
        ("https://example.com/a?x={y}", Ok("https://example.com/a")),
        (
            "https://example.com/%7euser",
            Ok("https://example.com/~user"),
        ),
        (
            "https://example.com/%41%2d%5F",
            Ok("https://example.com/A-_"),
        ),
        ("https://ex%41mple.com/", Ok("https://example.com/")),
        ("https://example.com/a%2fb", Ok("https://example.com/a%2Fb")),
        (
            "https://example.com/caf%c3%a9",
            Ok("https://example.com/caf%C3%A9"),
        ),
        (
            "https://xn--caf-dma.example/",
            Ok("https://xn--caf-dma.example/"),
        ),
        (
            "https://example.com/a/./b/../c",
            Ok("https://example.com/a/c"),
        ),
        (
            "https://example.com/a/%2E%2E/b",
            Ok("https://example.com/b"),
        ),
        ("https://example.com/a/.%2e/b", Ok("https://example.com/b")),
        ("https://example.com/a/b/..", Ok("https://example.com/a/")),
        ("https://example.com/a/.", Ok("https://example.com/a/")),
        ("https://example.com/../a", Ok("https://example.com/a")),
        ("https://example.com/a/...", Ok("https://example.com/a/...")),
        ("https://example.com/a/", Ok("https://example.com/a/")),
        ("https://example.com/A", Ok("https://example.com/A")),
        ("https://example.com/a//b", Ok("https://example.com/a//b")),
        (
            "https://example.com/a;p=1/@b:c/$!*",
            Ok("https://example.com/a;p=1/@b:c/$!*"),
        ),
        (
            "https://example.com/users/auth0|123",
            Ok("https://example.com/users/auth0%7C123"),
        ),
        (
            "https://example.com/users/auth0%7c123",
            Ok("https://example.com/users/auth0%7C123"),
        ),
        ("https://example.com/a^b", Ok("https://example.com/a%5Eb")),
        ("https://example.com/[x]", Ok("https://example.com/%5Bx%5D")),
        (
            "https://example.com/{id}",
            Ok("https://example.com/%7Bid%7D"),
        ),
        ("https://example.com/a`b", Ok("https://example.com/a%60b")),
        ("http://[::1]:8080/x", Ok("http://[::1]:8080/x")),
        ("http://[::FFFF:1.2.3.4]/", Ok("http://[::ffff:1.2.3.4]/")),
        ("https://[2001:DB8::1]:443", Ok("https://[2001:db8::1]/")),
        ("http://127.0.0.1:8080/", Ok("http://127.0.0.1:8080/")),
        ("ftp://example.com/", Err(UriError::UnsupportedScheme)),
        ("wss://example.com/", Err(UriError::UnsupportedScheme)),
        ("urn:example:a", Err(UriError::UnsupportedScheme)),
        ("/path", Err(UriError::NotAbsolute)),
        ("//example.com/x", Err(UriError::NotAbsolute)),
        ("example.com/x", Err(UriError::NotAbsolute)),
        ("https:/example.com/x", Err(UriError::NotAbsolute)),
        ("https:example.com", Err(UriError::NotAbsolute)),
        ("https://user@example.com/", Err(UriError::UserInfo)),
        ("https://u:p@example.com/", Err(UriError::UserInfo)),
        ("https:///x", Err(UriError::EmptyHost)),
        ("https://:443/x", Err(UriError::EmptyHost)),
        (
            "https://example.com/%",
            Err(UriError::InvalidPercentEncoding),
        ),
        (
            "https://example.com/%G1",
            Err(UriError::InvalidPercentEncoding),
        ),
        (
            "https://example.com/%2",
            Err(UriError::InvalidPercentEncoding),
        ),
        (
            "https://ex%zample.com/",
            Err(UriError::InvalidPercentEncoding),
        ),
        ("https://example.com/a b", Err(UriError::InvalidCharacter)),
        ("https://example.com/a?b c", Err(UriError::InvalidCharacter)),
        ("https://exämple.com/", Err(UriError::InvalidCharacter)),
        ("https://example.com/ä", Err(UriError::InvalidCharacter)),
        ("https://example.com/a\\b", Err(UriError::InvalidCharacter)),
        ("https://example.com/a\"b", Err(UriError::InvalidCharacter)),
        ("https://exa<mple.com/", Err(UriError::InvalidCharacter)),
        ("https://exa]mple.com/", Err(UriError::InvalidCharacter)),
        ("https://ex|ample.com/", Err(UriError::InvalidCharacter)),
        ("https://example.com:65536/", Err(UriError::InvalidPort)),
        ("https://example.com:8a/", Err(UriError::InvalidPort)),
        ("https://example.com:-1/", Err(UriError::InvalidPort)),
        ("https://example.com:1:2/", Err(UriError::InvalidPort)),
        ("https://[::1]:8a/", Err(UriError::InvalidPort)),
        ("https://[::1/", Err(UriError::InvalidHost)),
        ("https://[::1]x/", Err(UriError::InvalidHost)),
        ("https://[]/", Err(UriError::InvalidHost)),
        ("https://[1.2.3.4]/", Err(UriError::InvalidHost)),
        ("https://[1::2::3]/", Err(UriError::InvalidHost)),
        ("https://[v1.x]/", Err(UriError::InvalidHost)),
        ("https://[fe80::1%25eth0]/", Err(UriError::InvalidHost)),
    ];

    const ALL_ERRORS: [UriError; 11] = [
        UriError::BufferTooSmall,
        UriError::EmptyHost,
        UriError::InvalidCharacter,
        UriError::InvalidHost,
        UriError::InvalidPercentEncoding,
        UriError::InvalidPort,
        UriError::NotAbsolute,
        UriError::QueryOrFragment,
        UriError::TooLong,
        UriError::UnsupportedScheme,
        UriError::UserInfo,
    ];

    fn canon(uri: &str) -> Result<String, UriError> {
        let mut buf = [0u8; MAX_URI_LEN];
        canonicalize_uri(uri, &mut buf).map(ToString::to_string)
    }

    fn eq(a: &str, b: &str) -> bool {
        TargetUri::parse(a)
            .unwrap()
            .canonical_eq(&TargetUri::parse(b).unwrap())
    }

    /// Checks everything that must hold for one input, whatever it is.
    fn check_invariants(uri: &str) {
        let result = canon(uri);
        let parsed = TargetUri::parse(uri);
        assert_eq!(
            parsed.map(|_| ()),
            result.as_ref().map(|_| ()).map_err(|e| *e)
        );
        let claim = TargetUri::parse_claim(uri);
        match &claim {
            Ok(_) => assert!(result.is_ok()),
            Err(UriError::QueryOrFragment) => assert!(uri.contains(['?', '#'])),
            Err(e) => assert_eq!(Err(*e), result),
        }
        let Ok(canonical) = result else { return };
        let parsed = parsed.unwrap();
        assert_eq!(parsed.as_str(), uri);
        assert_eq!(parsed.canonical_len(), canonical.len());
        assert!(canonical.len() <= MAX_URI_LEN);
        assert!(parsed.canonical_eq(&parsed));
        // Idempotent, accepted as a claim, and equal to its source.
        assert_eq!(canon(&canonical).as_deref(), Ok(canonical.as_str()));
        let reparsed = TargetUri::parse_claim(&canonical).unwrap();
        assert_eq!(reparsed.canonical_len(), canonical.len());
        assert!(reparsed.canonical_eq(&parsed));
        assert!(parsed.canonical_eq(&reparsed));
        // A buffer of exactly the canonical length is enough, one byte less is not.
        let mut exact = std::vec![0u8; canonical.len()];
        assert_eq!(canonicalize_uri(uri, &mut exact), Ok(canonical.as_str()));
        let mut short = std::vec![0u8; canonical.len() - 1];
        assert_eq!(
            canonicalize_uri(uri, &mut short),
            Err(UriError::BufferTooSmall)
        );
        assert_eq!(
            parsed.write_canonical(&mut short),
            Err(UriError::BufferTooSmall)
        );
    }

    #[test]
    fn table() {
        for &(input, expected) in CASES {
            assert_eq!(canon(input).as_deref().map_err(|e| *e), expected, "{input}");
            check_invariants(input);
        }
    }

    /// The text of a Markdown table cell holding one code span (`` `x` `` or ``` `` x `` ```,
    /// the latter for text with a backtick); `\|` is a `|` escaped for the table.
    fn code(cell: &str) -> String {
        let cell = cell.trim();
        cell.strip_prefix("`` ")
            .and_then(|c| c.strip_suffix(" ``"))
            .or_else(|| cell.strip_prefix('`').and_then(|c| c.strip_suffix('`')))
            .expect("cell is not a code span")
            .replace("\\|", "|")
    }

    #[test]
    fn doc_table_matches_cases() {
        let rows: Vec<(String, Result<String, UriError>)> = include_str!("htu.rs")
            .lines()
            .filter_map(|line| line.strip_prefix("/// |")) // the table in `canonicalize_uri`'s docs
            .skip(2) // header and separator
            .map(|row| {
                let cells: Vec<&str> = row.trim_end().trim_end_matches('|').split(" | ").collect();
                assert_eq!(cells.len(), 3, "row {row:?}");
                let input = code(cells[0]);
                let expected = match cells[1].trim().strip_prefix("rejected: ") {
                    Some(name) => {
                        let name = code(name);
                        Err(*ALL_ERRORS.iter().find(|e| e.name() == name).unwrap())
                    }
                    None => Ok(code(cells[1])),
                };
                (input, expected)
            })
            .collect();
        let cases: Vec<(String, Result<String, UriError>)> = CASES
            .iter()
            .map(|&(i, e)| (i.to_string(), e.map(ToString::to_string)))
            .collect();
        assert_eq!(rows, cases);
    }

    /// Found by fuzzing: 700 `|` fit in the input limit, but their canonical form (`%7C` each)
    /// does not; that is `TooLong`, not `BufferTooSmall` or a canonical form over the limit.
    #[test]
    fn escaped_characters_cannot_push_the_canonical_form_past_the_limit() {
        let long = format!("https://a/{}", "|".repeat(700));
        assert!(long.len() <= MAX_URI_LEN);
        assert_eq!(TargetUri::parse(&long), Err(UriError::TooLong));
        let mut out = [0u8; 4 * MAX_URI_LEN];
        assert_eq!(canonicalize_uri(&long, &mut out), Err(UriError::TooLong));
        // Just at the limit: the canonical form is exactly MAX_URI_LEN bytes.
        let fits = format!("https://a/{}", "|".repeat((MAX_URI_LEN - 10) / 3));
        let fits = format!(
            "{fits}{}",
            "b".repeat(MAX_URI_LEN - 10 - 3 * ((MAX_URI_LEN - 10) / 3))
        );
        let canonical = canonicalize_uri(&fits, &mut out).map(str::len);
        assert_eq!(canonical, Ok(MAX_URI_LEN));
        assert_eq!(
            TargetUri::parse(&fits).map(|u| u.canonical_len()),
            Ok(MAX_URI_LEN)
        );
    }

    #[test]
    fn equal_pairs() {
        for (a, b) in [
            ("HTTPS://EXAMPLE.COM/a", "https://example.com/a"),
            ("https://example.com", "https://example.com/"),
            ("https://example.com:443/a", "https://example.com/a"),
            ("http://example.com:80/a", "http://example.com:/a"),
            ("https://example.com/a?x=1#y", "https://example.com/a"),
            ("https://example.com/%7E", "https://example.com/~"),
            ("https://example.com/%2f", "https://example.com/%2F"),
            ("https://example.com/a/../b/./c", "https://example.com/b/c"),
            ("https://example.com/a/%2e%2E/b", "https://example.com/b"),
            ("https://%65xample.com/", "https://example.com/"),
            ("https://[::ABCD]/", "https://[::abcd]/"),
            ("https://example.com:00080/", "https://example.com:80/"),
        ] {
            assert!(eq(a, b), "{a} == {b}");
            assert!(eq(b, a), "{b} == {a}");
        }
    }

    #[test]
    fn unequal_pairs() {
        for (a, b) in [
            ("https://example.com/a", "https://example.com/a/"),
            ("https://example.com/A", "https://example.com/a"),
            ("https://example.com/a%2Fb", "https://example.com/a/b"),
            ("https://example.com:8443/a", "https://example.com/a"),
            ("https://example.com:444/a", "https://example.com:443/a"),
            ("http://example.com/a", "https://example.com/a"),
            ("http://example.com:443/a", "https://example.com/a"),
            ("https://example.com:80/a", "http://example.com/a"),
            ("https://example.com/a//b", "https://example.com/a/b"),
            ("https://example.com./a", "https://example.com/a"),
            ("https://[::1]/", "https://[0::1]/"),
            ("https://example.com/%C3%A9", "https://example.com/%E9"),
            ("https://example.com/ab", "https://example.com/ba"),
        ] {
            assert!(!eq(a, b), "{a} != {b}");
            assert!(!eq(b, a), "{b} != {a}");
        }
    }

    #[test]
    fn claims_reject_query_and_fragment() {
        for claim in [
            "https://h/x?",
            "https://h/x#",
            "https://h/x?a=1",
            "https://h/x#f",
            "https://h?a",
            "https://h#",
            "https://h:443?",
        ] {
            assert_eq!(
                TargetUri::parse_claim(claim),
                Err(UriError::QueryOrFragment),
                "{claim}"
            );
            assert!(TargetUri::parse(claim).is_ok(), "{claim}");
        }
        // An invalid part before the query is reported as such.
        assert_eq!(
            TargetUri::parse_claim("https://h/%zz?x"),
            Err(UriError::InvalidPercentEncoding)
        );
        assert!(TargetUri::parse_claim("https://h/x").is_ok());
    }

    #[test]
    fn control_characters_and_whitespace() {
        for c in [
            '\0', '\t', '\n', '\r', ' ', '\x7f', '\u{85}', '\u{a0}', '\u{2028}',
        ] {
            for uri in [
                std::format!("{c}https://h/"),
                std::format!("https://h/{c}"),
                std::format!("https://h{c}/"),
                std::format!("https://h/?{c}"),
                std::format!("https://h/#{c}"),
                std::format!("ht{c}tps://h/"),
            ] {
                assert_eq!(canon(&uri), Err(UriError::InvalidCharacter), "{uri:?}");
            }
        }
    }

    #[test]
    fn length_limits() {
        let prefix = "https://h/";
        let at_limit = std::format!("{prefix}{}", "a".repeat(MAX_URI_LEN - prefix.len()));
        assert_eq!(canon(&at_limit).as_deref(), Ok(at_limit.as_str()));
        let over = std::format!("{at_limit}a");
        assert_eq!(canon(&over), Err(UriError::TooLong));
        assert_eq!(TargetUri::parse(&over), Err(UriError::TooLong));
        // Dropping a long query does not make an overlong input acceptable.
        let long_query = std::format!("https://h/?{}", "q".repeat(MAX_URI_LEN));
        assert_eq!(canon(&long_query), Err(UriError::TooLong));

        // An empty path grows by one byte: a host that fills the limit has no canonical form
        // within it.
        let host = "h".repeat(MAX_URI_LEN - "https://".len());
        let no_path = std::format!("https://{host}");
        assert_eq!(no_path.len(), MAX_URI_LEN);
        assert_eq!(canon(&no_path), Err(UriError::TooLong));
        let shorter = &no_path[..MAX_URI_LEN - 1];
        assert_eq!(canon(shorter).map(|c| c.len()), Ok(MAX_URI_LEN));
        check_invariants(shorter);
        // ...but a default port that is dropped makes room again.
        let with_port = std::format!("https://{}:443", &host[..host.len() - 4]);
        assert_eq!(with_port.len(), MAX_URI_LEN);
        assert_eq!(canon(&with_port).map(|c| c.len()), Ok(MAX_URI_LEN - 3));
    }

    #[test]
    fn edge_cases() {
        assert_eq!(canon(""), Err(UriError::NotAbsolute));
        assert_eq!(canon(":"), Err(UriError::NotAbsolute));
        assert_eq!(canon("https"), Err(UriError::NotAbsolute));
        assert_eq!(canon("https:"), Err(UriError::NotAbsolute));
        assert_eq!(canon("https:/"), Err(UriError::NotAbsolute));
        assert_eq!(canon("https://"), Err(UriError::EmptyHost));
        assert_eq!(canon("https://?"), Err(UriError::EmptyHost));
        assert_eq!(canon("https://#"), Err(UriError::EmptyHost));
        assert_eq!(canon("1https://h/"), Err(UriError::NotAbsolute));
        assert_eq!(canon("h+t.t-p://h/"), Err(UriError::UnsupportedScheme));
        assert_eq!(canon("httpss://h/"), Err(UriError::UnsupportedScheme));
        assert_eq!(canon("https://h/@evil"), Ok("https://h/@evil".into()));
        assert_eq!(canon("https://h@"), Err(UriError::UserInfo));
        assert_eq!(canon("https://@h/"), Err(UriError::UserInfo));
        assert_eq!(canon("https://h:0/"), Ok("https://h:0/".into()));
        assert_eq!(canon("https://h:000/"), Ok("https://h:0/".into()));
        assert_eq!(
            canon("https://h:0000000000000080/"),
            Ok("https://h:80/".into())
        );
        assert_eq!(
            canon("https://h:99999999999999999999/"),
            Err(UriError::InvalidPort)
        );
        assert_eq!(canon("https://h:/"), Ok("https://h/".into()));
        assert_eq!(canon("https://[::1]:/"), Ok("https://[::1]/".into()));
        assert_eq!(canon("https://[::1]"), Ok("https://[::1]/".into()));
        assert_eq!(canon("https://[::1]?q"), Ok("https://[::1]/".into()));
        assert_eq!(canon("https://[::]/"), Ok("https://[::]/".into()));
        assert_eq!(canon("https://[::1]]/"), Err(UriError::InvalidHost));
        assert_eq!(canon("https://[[::1]/"), Err(UriError::InvalidHost));
        assert_eq!(canon("https://[V1.x]/"), Err(UriError::InvalidHost));
        assert_eq!(canon("https://[::1%eth0]/"), Err(UriError::InvalidHost));
        assert_eq!(canon("https://[::01.2.3.4]/"), Err(UriError::InvalidHost));
        assert_eq!(canon("https://h[::1]/"), Err(UriError::InvalidCharacter));
        assert_eq!(canon("https://h%2F/"), Ok("https://h%2F/".into()));
        assert_eq!(canon("https://h%2e/"), Ok("https://h./".into()));
        assert_eq!(
            canon("https://a!$&'()*+,;=/"),
            Ok("https://a!$&'()*+,;=/".into())
        );
        assert_eq!(canon("https://h/%"), Err(UriError::InvalidPercentEncoding));
        assert_eq!(
            canon("https://h/%%41"),
            Err(UriError::InvalidPercentEncoding)
        );
        assert_eq!(
            canon("https://h/%2%41"),
            Err(UriError::InvalidPercentEncoding)
        );
        assert_eq!(canon("https://h/%25"), Ok("https://h/%25".into()));
        assert_eq!(canon("https://h/%2541"), Ok("https://h/%2541".into()));
        assert_eq!(canon("https://h/%00"), Ok("https://h/%00".into()));
        assert_eq!(canon("https://h/?%"), Ok("https://h/".into()));
        assert_eq!(canon("https://h/."), Ok("https://h/".into()));
        assert_eq!(canon("https://h/.."), Ok("https://h/".into()));
        assert_eq!(canon("https://h/./"), Ok("https://h/".into()));
        assert_eq!(canon("https://h/../../.."), Ok("https://h/".into()));
        assert_eq!(
            canon("https://h/a/b/../../../c/"),
            Ok("https://h/c/".into())
        );
        assert_eq!(canon("https://h/a//.."), Ok("https://h/a/".into()));
        assert_eq!(canon("https://h/a/.//b"), Ok("https://h/a//b".into()));
        assert_eq!(
            canon("https://h/.a/a./..a/a../"),
            Ok("https://h/.a/a./..a/a../".into())
        );
        assert_eq!(canon("https://h/%2E%2E%2E"), Ok("https://h/...".into()));
        assert_eq!(canon("https://h/%2E%2E%2F"), Ok("https://h/..%2F".into()));
    }

    #[test]
    fn errors_are_named_and_displayed() {
        let mut names: Vec<&str> = ALL_ERRORS.iter().map(|e| e.name()).collect();
        let sorted = {
            let mut s = names.clone();
            s.sort_unstable();
            s
        };
        assert_eq!(names, sorted, "variants in alphabetical order");
        names.dedup();
        assert_eq!(names.len(), ALL_ERRORS.len());
        for error in ALL_ERRORS {
            let name = error.name();
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{name}"
            );
            let message = error.to_string();
            assert!(!message.is_empty() && !message.ends_with('.'), "{message}");
            assert_eq!(message, message.to_lowercase());
            let _: &dyn core::error::Error = &error;
        }
    }

    /// Percent-decodes unreserved characters and upper-cases other escapes, like RFC 3986
    /// §6.2.2.1 and §6.2.2.2 describe, and encodes the WHATWG characters, on a valid path.
    fn reference_decode(path: &str) -> String {
        let bytes = path.as_bytes();
        let mut out = String::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = &path[i + 1..i + 3];
                let value = u8::from_str_radix(hex, 16).unwrap();
                if is(UNRESERVED, value) {
                    out.push(char::from(value));
                } else {
                    out.push('%');
                    out.push_str(&hex.to_ascii_uppercase());
                }
                i += 3;
            } else if b"|^[]{}`".contains(&bytes[i]) {
                out.push_str(&std::format!("%{:02X}", bytes[i]));
                i += 1;
            } else {
                out.push(char::from(bytes[i]));
                i += 1;
            }
        }
        out
    }

    /// `remove_dot_segments`, transcribed literally from RFC 3986 §5.2.4.
    fn reference_remove_dot_segments(path: &str) -> String {
        fn pop_segment(output: &mut String) {
            let cut = output.rfind('/').unwrap_or(0);
            output.truncate(cut);
        }
        let mut input = path.to_string();
        let mut output = String::new();
        while !input.is_empty() {
            if input.starts_with("../") {
                input.drain(..3);
            } else if input.starts_with("./") {
                input.drain(..2);
            } else if input.starts_with("/./") {
                input.replace_range(..3, "/");
            } else if input == "/." {
                input = "/".to_string();
            } else if input.starts_with("/../") {
                input.replace_range(..4, "/");
                pop_segment(&mut output);
            } else if input == "/.." {
                input = "/".to_string();
                pop_segment(&mut output);
            } else if input == "." || input == ".." {
                input.clear();
            } else {
                let from = usize::from(input.starts_with('/'));
                let end = input[from..].find('/').map_or(input.len(), |i| i + from);
                output.push_str(&input[..end]);
                input.drain(..end);
            }
        }
        output
    }

    /// Mostly valid URIs built from the interesting pieces, with some invalid ones mixed in.
    fn uri_like() -> impl Strategy<Value = String> {
        let scheme = prop_oneof![
            8 => "(https?|HTTPS?|HtTp)://",
            1 => "(ftp|http|)(://|:/|:|//|)",
        ];
        let host = prop_oneof![
            6 => "([a-zA-Z0-9._~!$&'()*+,;=-]|%4[1a]|%2[eEfF]|%c3){1,6}",
            2 => "\\[(::1|::FFFF:1\\.2\\.3\\.4|2001:DB8::1|::|1:2:3:4:5:6:7:8)\\]",
            1 => "([a-z]|%|%G|@|\\[|\\]|\\[(v1\\.x|fe80::1%25eth0|1:2|)\\]){0,3}",
        ];
        let port = prop_oneof![
            6 => "(:(0|00|80|443|0443|8080|65535|))?",
            1 => ":(65536|8a|1:2|-1)",
        ];
        let segment = prop_oneof![
            8 => "\\.|\\.\\.|%2[eE]|\\.%2[eE]|%2[eE]%2[eE]|%4[01]|%2[fF]|%7[eE]|%c3%a9|a|B|x~y\
                  |;p=1|@:|",
            1 => "%|%G1|\\\\|\\[|\"",
        ];
        let path = proptest::collection::vec(segment, 0..8).prop_map(|segments| {
            segments
                .iter()
                .map(|s| std::format!("/{s}"))
                .collect::<String>()
        });
        (
            scheme,
            host,
            port,
            path,
            "(\\?[a-z=%]{0,3})?(#[a-z?]{0,3})?",
        )
            .prop_map(|(scheme, host, port, path, tail)| {
                std::format!("{scheme}{host}{port}{path}{tail}")
            })
    }

    /// Whether `text` is an IPv6 address by the standard library's parser, the reference for
    /// [`is_ipv6_address`] (RFC 4291 §2.2 is RFC 3986's `IPv6address`).
    fn std_ipv6(text: &str) -> bool {
        text.parse::<std::net::Ipv6Addr>().is_ok()
    }

    #[test]
    fn ipv6_addresses_follow_rfc_3986() {
        let valid = [
            "::",
            "::1",
            "1::",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1::8",
            "2001:DB8::ff00:42:8329",
            "0000:0000:0000:0000:0000:0000:0000:0001",
            "::ffff:1.2.3.4",
            "::1.2.3.4",
            "1:2:3:4:5:6:255.255.255.255",
            "1:2:3:4:5::0.0.0.0",
            "fe80::1:2:3:4:5:6",
        ];
        let invalid = [
            "",
            ":",
            ":::",
            "1:2:3:4:5:6:7",
            "1:2:3:4:5:6:7:8:9",
            "1:2:3:4::5:6:7:8",
            "1::2::3",
            "::1:",
            ":1::",
            "1:",
            "12345::",
            "::g",
            "::1.2.3",
            "::1.2.3.4.5",
            "::256.1.1.1",
            "::01.2.3.4",
            "::1.2.3.04",
            "1.2.3.4",
            "::1.2.3.4:1",
            "1:2:3:4:5:6:7:1.2.3.4",
            "::1.2.3.",
            "::.1.2.3",
        ];
        for text in valid {
            assert!(is_ipv6_address(text.as_bytes()), "{text}");
            assert!(std_ipv6(text), "{text}");
        }
        for text in invalid {
            assert!(!is_ipv6_address(text.as_bytes()), "{text}");
            assert!(!std_ipv6(text), "{text}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        /// Near-addresses made of pieces, separators and dotted quads (valid and not) are
        /// judged exactly as the standard library's parser judges them.
        #[test]
        fn ipv6_validation_agrees_with_the_standard_library(
            parts in proptest::collection::vec(
                proptest::sample::select(&[
                    "0", "1", "ab", "FfFf", "0000", "10000", ":", ":", "::", ".", "1.2.3.4",
                    "255.255.255.255", "256.0.0.1", "01.2.3.4", "1.2.3", "9", "25", "249",
                ][..]),
                0..20,
            )
        ) {
            let text = parts.concat();
            prop_assert_eq!(is_ipv6_address(text.as_bytes()), std_ipv6(&text), "{}", text);
        }

        #[test]
        fn ipv6_validation_agrees_on_any_text_of_its_alphabet(text in "[0-9a-fA-F:.]{0,46}") {
            prop_assert_eq!(is_ipv6_address(text.as_bytes()), std_ipv6(&text), "{}", text);
        }

        #[test]
        fn arbitrary_strings_never_panic(uri in any::<String>()) {
            check_invariants(&uri);
        }

        #[test]
        fn printable_ascii_never_panics(uri in "[!-~]{0,40}") {
            check_invariants(&uri);
        }

        #[test]
        fn uri_like_strings(uri in uri_like()) {
            check_invariants(&uri);
        }

        #[test]
        fn path_matches_rfc_3986_reference(uri in uri_like()) {
            if let Ok(canonical) = canon(&uri) {
                let after_scheme = &uri[uri.find("://").unwrap() + 3..];
                let path_start = after_scheme.find(['/', '?', '#']).unwrap_or(after_scheme.len());
                let path = &after_scheme[path_start..];
                let path = &path[..path.find(['?', '#']).unwrap_or(path.len())];
                let mut expected = reference_remove_dot_segments(&reference_decode(path));
                if expected.is_empty() {
                    expected.push('/');
                }
                let after = &canonical[canonical.find("://").unwrap() + 3..];
                prop_assert_eq!(&after[after.find('/').unwrap()..], expected.as_str());
            }
        }

        #[test]
        fn canonical_eq_is_symmetric(a in uri_like(), b in uri_like()) {
            if let (Ok(x), Ok(y)) = (TargetUri::parse(&a), TargetUri::parse(&b)) {
                prop_assert_eq!(x.canonical_eq(&y), y.canonical_eq(&x));
                prop_assert_eq!(x.canonical_eq(&y), canon(&a) == canon(&b));
            }
        }
    }
}
