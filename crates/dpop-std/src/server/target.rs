//! The target URI policy: how the expected `htu` is built from a request ([`UriPolicy`]), and
//! the raw-path and host rules.

use core::fmt;

use dpop_core::{TargetUri, UriError, consts::MAX_URI_LEN};
use http::Uri;
use http::header::HOST;

use super::forwarded::{Forwarded, read_forwarded};
use super::head::at_most_one;
use super::{ConfigError, ForwardedHeaders, RequestHead};

/// An HTTP scheme for the expected `htu`.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `http`.
    Http,
    /// `https`.
    Https,
}

impl Scheme {
    /// `"http"` or `"https"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }

    pub(super) fn parse(text: &str) -> Option<Self> {
        if text.eq_ignore_ascii_case("https") {
            Some(Self::Https)
        } else if text.eq_ignore_ascii_case("http") {
            Some(Self::Http)
        } else {
            None
        }
    }
}

/// How the server finds the URL a client signed (`htu`, RFC 9449 section 4.3 check 9).
///
/// Behind a reverse proxy the server sees another URL than the client: `http://10.0.0.5:8080/v1/x`
/// for `https://api.example.com/v1/x`. This is the most common DPoP deployment failure in other
/// libraries, so the choice is explicit:
///
/// - [`UriPolicy::public_base`]: a configured public base URL plus the request path. Works
///   behind any proxy, needs no forwarded headers. `https://example.com/api` with a backend
///   that sees `/v1/x` (the proxy strips `/api`) expects `https://example.com/api/v1/x`.
/// - [`UriPolicy::from_request`]: the request's own authority (absolute-form URI, else the
///   `Host` header) with a configured scheme. For servers reached directly. The client chooses
///   the `Host`, so restrict it with
///   [`with_allowed_hosts`](UriPolicyBuilder::with_allowed_hosts):
///   prefer `public_base`, or an allow-list.
/// - [`UriPolicy::from_trusted_proxy`]: as `from_request`, but the forwarding headers of the one
///   family the proxy sets ([`ForwardedHeaders`]: `Forwarded`, RFC 7239, or
///   `X-Forwarded-Proto`/`X-Forwarded-Host`) override scheme and host; the other family is never
///   read, since the proxy passes a client's copy of it through. Only for servers that are
///   reachable *only* through that proxy; anyone else can forge them. The last value is used:
///   the one added by the proxy in front of this server.
///
/// In every mode a raw request path with a dot segment (`.`, `..`, or a percent-encoded form
/// such as `%2E%2E`) is refused ([`TargetError::DotSegment`]): routers route on the raw path,
/// so normalizing it would verify a proof for `/b` on a request that reaches `/a/{x}/b`.
/// [`with_backend_prefix`](UriPolicyBuilder::with_backend_prefix) strips a prefix the proxy
/// adds. Each constructor returns a [`UriPolicyBuilder`], checked once by its `build()`.
///
/// ```
/// use dpop_std::server::{Scheme, UriPolicy};
/// let behind_proxy = UriPolicy::public_base("https://example.com/api").build()?;
/// let direct = UriPolicy::from_request(Scheme::Https)
///     .with_allowed_hosts(&["api.example.com"])
///     .build()?;
/// // the proxy maps https://gw.example/svc2/* to http://backend/my-api/*
/// let rewritten = UriPolicy::public_base("https://gw.example/svc2")
///     .with_backend_prefix("/my-api")
///     .build()?;
/// # let _ = (behind_proxy, direct, rewritten);
/// # Ok::<(), dpop_std::server::ConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UriPolicy {
    source: Source,
    /// Normalized, starting with `/`, no trailing `/`.
    backend_prefix: Option<String>,
    /// Canonical `scheme://authority` of every allowed host, under both schemes.
    allowed_hosts: Option<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Source {
    /// Canonical base URL without trailing `/`.
    PublicBase(String),
    Request {
        scheme: Scheme,
        forwarded: Option<ForwardedHeaders>,
    },
}

impl UriPolicy {
    /// The public base URL clients use, such as `https://api.example.com` or
    /// `https://example.com/api`; the expected `htu` is this plus the request path (a trailing
    /// `/` of the base is ignored). Forwarded headers are never read.
    ///
    /// The URL is checked by [`UriPolicyBuilder::build`]: an absolute `http`/`https` URL
    /// without userinfo, query or fragment.
    pub fn public_base(url: impl Into<String>) -> UriPolicyBuilder {
        UriPolicyBuilder::new(Source::PublicBase(url.into()))
    }

    /// The request's own authority (absolute-form URI, else the single `Host` header) with
    /// `scheme`. Forwarded headers are ignored.
    ///
    /// The client chooses the `Host`: add
    /// [`with_allowed_hosts`](UriPolicyBuilder::with_allowed_hosts), or use
    /// [`public_base`](Self::public_base), unless any host reaching this server is fine.
    pub const fn from_request(scheme: Scheme) -> UriPolicyBuilder {
        UriPolicyBuilder::new(Source::Request {
            scheme,
            forwarded: None,
        })
    }

    /// As [`from_request`](Self::from_request), but the forwarding headers of `headers` (and
    /// only those) override the scheme and the authority: the last `Forwarded` element's
    /// `proto` and `host` (RFC 7239), or the last `X-Forwarded-Proto` and `X-Forwarded-Host`
    /// values.
    ///
    /// Use it only when every request comes through a proxy that sets or overwrites the named
    /// headers: a client reaching the server directly can forge them. `X-Forwarded-Port` is not
    /// read; a non-default public port belongs in the forwarded host (`host:port`).
    pub const fn from_trusted_proxy(
        default_scheme: Scheme,
        headers: ForwardedHeaders,
    ) -> UriPolicyBuilder {
        UriPolicyBuilder::new(Source::Request {
            scheme: default_scheme,
            forwarded: Some(headers),
        })
    }

    /// The canonical `htu` this policy expects for `request`.
    ///
    /// # Errors
    ///
    /// A [`TargetError`] when no valid URL can be built.
    pub fn target_uri<'r>(
        &self,
        request: impl Into<RequestHead<'r>>,
    ) -> Result<String, TargetError> {
        self.target(&request.into())
    }

    pub(super) fn target(&self, head: &RequestHead<'_>) -> Result<String, TargetError> {
        check_raw_path(head.uri)?;
        self.target_of_checked_path(head)
    }

    /// [`target`](Self::target) for a request whose raw path already passed
    /// [`check_raw_path`] (every request the server verifies a proof for).
    pub(super) fn target_of_checked_path(
        &self,
        head: &RequestHead<'_>,
    ) -> Result<String, TargetError> {
        let raw_path = match head.uri.path() {
            "" if head.uri.authority().is_some() && head.uri.scheme().is_some() => "/",
            p if p.starts_with('/') => p,
            _ => return Err(TargetError::UnsupportedTarget),
        };
        if let (Source::PublicBase(base), None) = (&self.source, &self.backend_prefix)
            && base.len() + raw_path.len() <= MAX_URI_LEN
        {
            // One pass: the base is canonical and the raw path has no dot segment, so the
            // canonical form of `base + raw path` is that of `base + normalized path`, and
            // within MAX_URI_LEN both report the same path errors.
            let mut joined = String::with_capacity(base.len() + raw_path.len());
            joined.push_str(base);
            joined.push_str(raw_path);
            return canonicalize_owned(joined).map_err(TargetError::Uri);
        }
        let normalized = normalize_path(raw_path).map_err(TargetError::Uri)?;
        let path = match &self.backend_prefix {
            None => normalized.as_str(),
            Some(prefix) => match normalized.strip_prefix(prefix.as_str()) {
                Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
                _ => return Err(TargetError::OutsideBackendPrefix),
            },
        };
        let full = match &self.source {
            Source::PublicBase(base) => format!("{base}{path}"),
            Source::Request { scheme, forwarded } => {
                let forwarded = match forwarded {
                    Some(family) => read_forwarded(head.headers, *family)?,
                    None => Forwarded::default(),
                };
                let scheme = forwarded.scheme.unwrap_or(*scheme);
                let authority = match forwarded.host {
                    Some(host) => host,
                    None => request_authority(head)?,
                };
                format!("{}://{authority}{path}", scheme.as_str())
            }
        };
        let canonical = canonical_string(&full).map_err(|e| match e {
            UriError::EmptyHost
            | UriError::InvalidHost
            | UriError::InvalidPort
            | UriError::UserInfo => TargetError::InvalidHost,
            other => TargetError::Uri(other),
        })?;
        if let (Source::Request { .. }, Some(allowed)) = (&self.source, &self.allowed_hosts) {
            // `scheme://authority` of the canonical form: up to the path's first `/`.
            let origin_end = canonical
                .find("://")
                .and_then(|at| canonical[at + 3..].find('/').map(|end| at + 3 + end))
                .unwrap_or(canonical.len());
            let origin = canonical.get(..origin_end).unwrap_or_default();
            if !allowed.iter().any(|a| a == origin) {
                return Err(TargetError::HostNotAllowed);
            }
        }
        Ok(canonical)
    }
}

/// Configures a [`UriPolicy`]: made by [`UriPolicy::public_base`],
/// [`UriPolicy::from_request`] or [`UriPolicy::from_trusted_proxy`], infallible `with_*`
/// setters, then [`build`](Self::build), which checks every setting at once.
///
/// The setters store what they are given; a setter called twice keeps the last value, and only
/// that one is checked.
#[must_use]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UriPolicyBuilder {
    /// As in [`UriPolicy`], except that a public base is the caller's text, not yet checked.
    source: Source,
    backend_prefix: Option<String>,
    allowed_hosts: Option<Vec<String>>,
}

impl UriPolicyBuilder {
    const fn new(source: Source) -> Self {
        Self {
            source,
            backend_prefix: None,
            allowed_hosts: None,
        }
    }

    /// Accepts only requests for these hosts (`host` or `host:port`, compared after
    /// canonicalization: case-insensitive, default port ignored); a request for any other host
    /// is `invalid_request` ([`TargetError::HostNotAllowed`]). Applies to the authority taken
    /// from the request or from trusted forwarding headers; a
    /// [`public_base`](UriPolicy::public_base) never reads the host, so there it changes
    /// nothing.
    ///
    /// [`build`](Self::build) refuses an entry that is not a valid `host[:port]`, and an empty
    /// list ([`ConfigError::InvalidAllowedHost`]).
    pub fn with_allowed_hosts(mut self, hosts: &[&str]) -> Self {
        self.allowed_hosts = Some(hosts.iter().map(|host| (*host).to_owned()).collect());
        self
    }

    /// Strips `prefix` from the request path before it is appended: for a proxy that maps
    /// public `/svc2/x` to backend `/my-api/x`, use the base `https://gw/svc2` and the prefix
    /// `/my-api`. A request outside the prefix is rejected
    /// ([`TargetError::OutsideBackendPrefix`]).
    ///
    /// [`build`](Self::build) refuses a prefix that is not an absolute path (`/...`) without
    /// query or fragment ([`ConfigError::InvalidBackendPrefix`]).
    pub fn with_backend_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.backend_prefix = Some(prefix.into());
        self
    }

    /// Checks every setting and returns the policy.
    ///
    /// # Errors
    ///
    /// The first invalid setting, in this order:
    /// - [`ConfigError::InvalidPublicBase`] unless the public base is an absolute
    ///   `http`/`https` URL without userinfo, query or fragment;
    /// - [`ConfigError::InvalidAllowedHost`] for an allowed host that is not a valid
    ///   `host[:port]`, and for an empty list;
    /// - [`ConfigError::InvalidBackendPrefix`] unless the backend prefix is an absolute path
    ///   (`/...`) without query or fragment.
    pub fn build(self) -> Result<UriPolicy, ConfigError> {
        let source = match self.source {
            Source::PublicBase(url) => Source::PublicBase(canonical_base(&url)?),
            request @ Source::Request { .. } => request,
        };
        let allowed_hosts = self
            .allowed_hosts
            .as_deref()
            .map(allowed_origins)
            .transpose()?;
        let backend_prefix = match self.backend_prefix {
            Some(prefix) => canonical_prefix(&prefix)?,
            None => None,
        };
        Ok(UriPolicy {
            source,
            backend_prefix,
            allowed_hosts,
        })
    }
}

/// The canonical form of a public base URL, without trailing `/`.
fn canonical_base(url: &str) -> Result<String, ConfigError> {
    TargetUri::parse_claim(url).map_err(ConfigError::InvalidPublicBase)?;
    let canonical = canonical_string(url).map_err(ConfigError::InvalidPublicBase)?;
    Ok(canonical.trim_end_matches('/').to_owned())
}

/// The canonical `scheme://authority` of every allowed host, under both schemes.
fn allowed_origins(hosts: &[String]) -> Result<Vec<String>, ConfigError> {
    if hosts.is_empty() {
        return Err(ConfigError::InvalidAllowedHost);
    }
    let mut allowed = Vec::with_capacity(hosts.len() * 2);
    for host in hosts {
        if !is_authority(host) {
            return Err(ConfigError::InvalidAllowedHost);
        }
        for scheme in [Scheme::Http, Scheme::Https] {
            let url = canonical_string(&format!("{}://{host}/", scheme.as_str()))
                .map_err(|_| ConfigError::InvalidAllowedHost)?;
            allowed.push(url.trim_end_matches('/').to_owned());
        }
    }
    Ok(allowed)
}

/// The normalized backend prefix, without trailing `/`; `None` for `/`, which strips nothing.
fn canonical_prefix(prefix: &str) -> Result<Option<String>, ConfigError> {
    if !prefix.starts_with('/') || prefix.contains(['?', '#']) {
        return Err(ConfigError::InvalidBackendPrefix);
    }
    let normalized = normalize_path(prefix).map_err(|_| ConfigError::InvalidBackendPrefix)?;
    let trimmed = normalized.trim_end_matches('/');
    Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()))
}

/// Why the expected `htu` cannot be built from a request.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetError {
    /// The raw request path has a dot segment (`.`, `..`, or a percent-encoded form of them).
    DotSegment,
    /// More than one `Host` header (RFC 9112 section 3.2).
    DuplicateHost,
    /// The host is not in the [allow-list](UriPolicyBuilder::with_allowed_hosts).
    HostNotAllowed,
    /// A trusted `Forwarded` / `X-Forwarded-*` header is malformed, or its protocol is not
    /// `http` or `https`.
    InvalidForwarded,
    /// The `Host` header or request authority is not a valid `host[:port]`.
    InvalidHost,
    /// The request method is not a token of at most 32 characters.
    InvalidMethod,
    /// No authority in the request URI and no `Host` header.
    MissingHost,
    /// The request path is outside the configured backend prefix.
    OutsideBackendPrefix,
    /// The request target is not a path (asterisk-form or authority-form).
    UnsupportedTarget,
    /// The resulting URL is not acceptable (too long, invalid characters, ...).
    Uri(UriError),
}

impl TargetError {
    /// A stable snake_case name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::DotSegment => "dot_segment",
            Self::DuplicateHost => "duplicate_host",
            Self::HostNotAllowed => "host_not_allowed",
            Self::InvalidForwarded => "invalid_forwarded",
            Self::InvalidHost => "invalid_host",
            Self::InvalidMethod => "invalid_method",
            Self::MissingHost => "missing_host",
            Self::OutsideBackendPrefix => "outside_backend_prefix",
            Self::UnsupportedTarget => "unsupported_target",
            Self::Uri(_) => "invalid_uri",
        }
    }
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DotSegment => f.write_str("request path contains a dot segment"),
            Self::DuplicateHost => f.write_str("more than one Host header"),
            Self::HostNotAllowed => f.write_str("request host is not served here"),
            Self::InvalidForwarded => f.write_str("invalid Forwarded or X-Forwarded-* header"),
            Self::InvalidHost => f.write_str("invalid Host header or request authority"),
            Self::InvalidMethod => f.write_str("invalid request method"),
            Self::MissingHost => f.write_str("missing Host header"),
            Self::OutsideBackendPrefix => f.write_str("request path is outside the backend prefix"),
            Self::UnsupportedTarget => f.write_str("request target is not a path"),
            Self::Uri(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl core::error::Error for TargetError {}

/// `host [":" port]` characters only (RFC 3986 section 3.2.2 reg-name, IP literal, port): no
/// `/`, `?`, `#` or `@`, so the text cannot change the path or add userinfo once it is put
/// between `scheme://` and the path.
pub(super) fn is_authority(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=%:[]".contains(&b))
}

/// The authority of an absolute-form target, else of the single `Host` header.
pub(super) fn request_authority(head: &RequestHead<'_>) -> Result<String, TargetError> {
    if let Some(authority) = head.uri.authority() {
        let text = authority.as_str();
        return if is_authority(text) {
            Ok(text.to_owned())
        } else {
            Err(TargetError::InvalidHost)
        };
    }
    let host = at_most_one(head.headers, &HOST)
        .map_err(|()| TargetError::DuplicateHost)?
        .ok_or(TargetError::MissingHost)?;
    match host.to_str() {
        Ok(text) if is_authority(text) => Ok(text.to_owned()),
        _ => Err(TargetError::InvalidHost),
    }
}

/// Refuses a raw path with a dot segment: `.` or `..`, with any of its dots written `%2E` or
/// `%2e` (RFC 3986 section 3.3). Routers route on the raw path while dpop-core's canonical form
/// removes dot segments (section 5.2.4), so the two would name different resources; strict HTTP
/// firewalls refuse such requests too.
pub(super) fn check_raw_path(uri: &Uri) -> Result<(), TargetError> {
    let is_dot = |segment: &str| {
        let mut dots = 0usize;
        let mut rest = segment;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('.') {
                rest = after;
            } else if let Some(after) = rest
                .get(..3)
                .filter(|e| e.eq_ignore_ascii_case("%2e"))
                .and_then(|_| rest.get(3..))
            {
                rest = after;
            } else {
                return false;
            }
            dots += 1;
        }
        dots == 1 || dots == 2
    };
    if uri.path().split('/').any(is_dot) {
        Err(TargetError::DotSegment)
    } else {
        Ok(())
    }
}

/// The canonical form of `uri` (dpop-core's one canonicalization) as a `String`.
pub(super) fn canonical_string(uri: &str) -> Result<String, UriError> {
    // Most URLs are short: a small buffer first spares zeroing `MAX_URI_LEN` bytes per call.
    // `canonicalize_uri` reports input errors before `BufferTooSmall`, so the retry changes
    // nothing but the buffer.
    let mut short = [0u8; SHORT_URI_LEN];
    match dpop_core::canonicalize_uri(uri, &mut short) {
        Err(UriError::BufferTooSmall) => {
            let mut buf = [0u8; MAX_URI_LEN];
            dpop_core::canonicalize_uri(uri, &mut buf).map(str::to_owned)
        }
        result => result.map(str::to_owned),
    }
}

/// The canonical form of `uri`, reusing `uri` itself when it is already canonical.
pub(super) fn canonicalize_owned(uri: String) -> Result<String, UriError> {
    let mut short = [0u8; SHORT_URI_LEN];
    match dpop_core::canonicalize_uri(&uri, &mut short) {
        Ok(canonical) if canonical == uri => Ok(uri),
        Ok(canonical) => Ok(canonical.to_owned()),
        Err(UriError::BufferTooSmall) => canonical_string(&uri),
        Err(e) => Err(e),
    }
}

/// The first buffer [`canonical_string`] tries.
const SHORT_URI_LEN: usize = 256;

/// The canonical form of an absolute path: dot segments removed, unreserved escapes decoded.
pub(super) fn normalize_path(path: &str) -> Result<String, UriError> {
    const ORIGIN: &str = "http://h";
    let canonical = canonical_string(&format!("{ORIGIN}{path}"))?;
    canonical
        .strip_prefix(ORIGIN)
        .map(str::to_owned)
        .ok_or(UriError::NotAbsolute)
}
