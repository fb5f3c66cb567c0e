#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use dpop_std::client::{Attempt, Client, ClientError, MAX_ERROR_BODY, NoRetry, Outcome};
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use http::{HeaderMap, Method};
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt as _;
use reqwest::redirect::Policy;
use reqwest::{Request, RequestBuilder, Response, ResponseBuilderExt as _, Url};

pub use dpop_std;
pub use reqwest;

#[cfg(any(feature = "es256", feature = "es384", feature = "es512"))]
pub mod grants;
#[cfg(all(
    feature = "middleware",
    any(feature = "es256", feature = "es384", feature = "es512")
))]
pub mod middleware;
mod redirect;
pub mod store;
#[cfg(any(feature = "es256", feature = "es384", feature = "es512"))]
pub mod tokens;

#[cfg(any(feature = "es256", feature = "es384", feature = "es512"))]
pub use tokens::TokenManager;

use redirect::{Step, redirect_step};

/// The most redirects [`DpopClient::execute`] follows for one request; the response to the
/// next one is returned with [`RedirectStop::TooMany`].
pub const MAX_REDIRECTS: u8 = 5;

/// A reqwest client that adds a DPoP proof to every request, performs the single nonce retry
/// (RFC 9449 sections 8 and 9), and follows same-origin redirects with a new proof.
///
/// Its reqwest client never follows redirects on its own: reqwest would send the `DPoP` header
/// (and its `ath`) to the redirect target, even to another origin or over plain HTTP, and the
/// proof would name the wrong URL. See [`execute`](Self::execute) for what is followed.
///
/// Cloning is cheap: the clones share the connection pool, the key and the nonce cache.
#[derive(Clone, Debug)]
pub struct DpopClient {
    http: reqwest::Client,
    dpop: Arc<Client>,
}

impl DpopClient {
    /// Builds the reqwest client from `http`, with automatic redirects turned off whatever the
    /// builder said (`redirect::Policy::none()`), and pairs it with the DPoP client `dpop` (its
    /// key, nonce cache and clock offsets).
    ///
    /// It takes a builder rather than a built `reqwest::Client` because a built client's
    /// redirect policy cannot be inspected, and the default one would send proofs to redirect
    /// targets.
    ///
    /// # Errors
    ///
    /// [`Error::Http`] when reqwest cannot build the client (its TLS backend failing to load,
    /// for example).
    pub fn new(http: reqwest::ClientBuilder, dpop: Client) -> Result<Self, Error> {
        Self::from_shared(http, Arc::new(dpop))
    }

    /// As [`new`](Self::new), sharing a DPoP client with other code.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn from_shared(http: reqwest::ClientBuilder, dpop: Arc<Client>) -> Result<Self, Error> {
        let http = http.redirect(Policy::none()).build().map_err(Error::Http)?;
        Ok(Self { http, dpop })
    }

    /// The underlying reqwest client (it follows no redirects), to build requests:
    /// `client.http().get(url)`.
    #[must_use]
    pub const fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The DPoP client: thumbprint, nonces, token responses.
    #[must_use]
    pub fn dpop(&self) -> &Client {
        &self.dpop
    }

    /// Builds and sends `request` with a proof; see [`execute`](Self::execute).
    ///
    /// # Errors
    ///
    /// As [`execute`](Self::execute), and [`Error::Http`] when the request cannot be built.
    pub async fn send(
        &self,
        request: RequestBuilder,
        access_token: Option<&str>,
    ) -> Result<Response, Error> {
        self.execute(request.build().map_err(Error::Http)?, access_token)
            .await
    }

    /// Sends `request` with a `DPoP` proof for its method and URL. With `access_token`, the
    /// proof carries `ath` and the request `Authorization: DPoP <token>` (replacing any
    /// `Authorization` header it had).
    ///
    /// **Nonces.** When the server answers with a nonce challenge, the request is sent once
    /// more with the new nonce, if its body can be cloned (a streaming body cannot; the
    /// challenge is then returned). It is never retried twice, nor with a nonce it already
    /// sent. A 400 body is read to recognize the authorization server's JSON challenge
    /// whatever its framing (`Content-Length` or chunked), up to [`MAX_ERROR_BODY`] bytes; the
    /// returned response still has the whole body.
    ///
    /// **Redirects.** A proof is only ever sent to the URL it was signed for. A redirect (301,
    /// 302, 303, 307, 308 with a `Location`) is followed only to the same origin (scheme, host
    /// and port), with a new proof for the new method and URL, at most [`MAX_REDIRECTS`]
    /// times. The method changes as browsers do (the Fetch standard): 303 turns any method but
    /// `GET` and `HEAD` into `GET`, 301 and 302 turn `POST` into `GET`, both without the body;
    /// otherwise the method and body are kept, which needs a body that can be cloned. Anything
    /// else is returned to the caller as it came, unfollowed, with the reason in
    /// [`Exchange::redirect_stopped`]: another origin ([`RedirectStop::CrossOrigin`], which
    /// never sees the proof nor the access token), a downgrade from `https` to `http`
    /// ([`RedirectStop::Downgrade`]), one hop too many, a body that cannot be sent again, or a
    /// `Location` that is not an `http`/`https` URL.
    ///
    /// What happened is in the response's extensions ([`Exchange`]); nonces and clock offsets
    /// are stored under the origin of the response they came with.
    ///
    /// # Errors
    ///
    /// [`Error::Proof`] when no proof can be made for the request (a URL or access token
    /// dpop-core does not accept, or a failing signer), [`Error::Http`] for reqwest's errors.
    pub async fn execute(
        &self,
        request: Request,
        access_token: Option<&str>,
    ) -> Result<Response, Error> {
        let mut exchange = Exchange {
            retried: false,
            not_retried: None,
            redirects: 0,
            redirect_stopped: None,
        };
        let mut request = request;
        let mut response = loop {
            let template = Template::of(&request);
            let method = request.method().clone();
            let response = self
                .hop(request, &template, access_token, &mut exchange)
                .await?;
            let step = redirect_step(
                &method,
                response.status(),
                response.url(),
                response.headers(),
                exchange.redirects,
                template.has_body,
            );
            match step {
                Step::Done => break response,
                Step::Stop(reason) => {
                    exchange.redirect_stopped = Some(reason);
                    break response;
                }
                Step::Follow {
                    url,
                    method,
                    keep_body,
                } => {
                    exchange.redirects += 1;
                    request = template.into_request(method, url, keep_body);
                }
            }
        };
        response.extensions_mut().insert(exchange);
        Ok(response)
    }

    /// One URL: the attempt, and the nonce retry when the server asks for it. `template` is
    /// the copy of `request` kept for redirects; the retry is cloned from it, only when one is
    /// made (one clone per request, not two).
    async fn hop(
        &self,
        request: Request,
        template: &Template,
        access_token: Option<&str>,
        exchange: &mut Exchange,
    ) -> Result<Response, Error> {
        let mut attempt = self
            .dpop
            .prepare(request.method(), request.url().as_str(), access_token)
            .map_err(Error::Proof)?;
        let (mut response, outcome) = self.round(request, &mut attempt).await?;
        exchange.retried = false;
        exchange.not_retried = None;
        match outcome {
            Outcome::Retry => match template.replay() {
                Some(second) => {
                    let mut retry = self.dpop.retry(&attempt).map_err(Error::Proof)?;
                    let (second_response, outcome) = self.round(second, &mut retry).await?;
                    response = second_response;
                    exchange.retried = true;
                    if let Outcome::NotRetried(reason) = outcome {
                        exchange.not_retried = Some(reason);
                    }
                }
                None => exchange.not_retried = Some(NoRetry::NotReplayable),
            },
            Outcome::NotRetried(reason) => exchange.not_retried = Some(reason),
            _ => {}
        }
        Ok(response)
    }

    /// Sends one attempt and reads its response.
    async fn round(
        &self,
        mut request: Request,
        attempt: &mut Attempt,
    ) -> Result<(Response, Outcome), Error> {
        for (name, value) in attempt.headers() {
            request.headers_mut().insert(name, value.clone());
        }
        let response = self.http.execute(request).await.map_err(Error::Http)?;
        let status = response.status();
        // A declared length above the limit cannot be a nonce challenge: not read.
        let too_long = response
            .content_length()
            .is_some_and(|n| usize::try_from(n).is_ok_and(|n| n > MAX_ERROR_BODY));
        if !Client::needs_body(status) || too_long {
            let outcome = self
                .dpop
                .on_response(attempt, status, response.headers(), b"");
            return Ok((response, outcome));
        }
        let (response, prefix) = read_prefix(response, MAX_ERROR_BODY).await?;
        let outcome = self
            .dpop
            .on_response(attempt, status, response.headers(), &prefix);
        Ok((response, outcome))
    }
}

/// Reads up to `limit` bytes (and at most one frame more) of `response`'s body, whatever its
/// framing, and gives back an equivalent response whose body starts with them and goes on with
/// the rest of the original, plus the bytes read.
async fn read_prefix(response: Response, limit: usize) -> Result<(Response, Bytes), Error> {
    let url = response.url().clone();
    let (parts, mut body) = http::Response::<reqwest::Body>::from(response).into_parts();
    let mut prefix = BytesMut::new();
    let mut trailers = None;
    let mut ended = false;
    while prefix.len() <= limit {
        match body.frame().await {
            None => {
                ended = true;
                break;
            }
            Some(Err(e)) => return Err(Error::Http(e)),
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => prefix.extend_from_slice(&data),
                Err(frame) => {
                    // Trailers come last: the body is complete.
                    trailers = frame.into_trailers().ok();
                    ended = true;
                    break;
                }
            },
        }
    }
    let prefix = prefix.freeze();
    let rest = Replayed {
        prefix: Some(prefix.clone()).filter(|p| !p.is_empty()),
        rest: (!ended).then_some(body),
        trailers,
    };
    let body = reqwest::Body::wrap(rest);
    // Adding the URL extension cannot fail; without it only `Response::url` would differ.
    let mut rebuilt = match http::Response::builder().url(url).body(()) {
        Ok(head) => head.map(|()| body),
        Err(_) => http::Response::new(body),
    };
    *rebuilt.status_mut() = parts.status;
    *rebuilt.version_mut() = parts.version;
    *rebuilt.headers_mut() = parts.headers;
    rebuilt.extensions_mut().extend(parts.extensions);
    Ok((Response::from(rebuilt), prefix))
}

/// A body whose first bytes were already read: those bytes, then the rest of the original.
struct Replayed {
    prefix: Option<Bytes>,
    rest: Option<reqwest::Body>,
    trailers: Option<HeaderMap>,
}

impl http_body::Body for Replayed {
    type Data = Bytes;
    type Error = reqwest::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, reqwest::Error>>> {
        if let Some(prefix) = self.prefix.take() {
            return Poll::Ready(Some(Ok(Frame::data(prefix))));
        }
        if let Some(rest) = self.rest.as_mut() {
            match Pin::new(rest).poll_frame(cx) {
                Poll::Ready(None) => self.rest = None,
                other => return other,
            }
        }
        Poll::Ready(self.trailers.take().map(|t| Ok(Frame::trailers(t))))
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.is_none()
            && self.trailers.is_none()
            && self.rest.as_ref().is_none_or(reqwest::Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        let prefix = self.prefix.as_ref().map_or(0, |p| p.len() as u64);
        let mut hint = self
            .rest
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), reqwest::Body::size_hint);
        hint.set_lower(hint.lower().saturating_add(prefix));
        if let Some(upper) = hint.upper() {
            hint.set_upper(upper.saturating_add(prefix));
        }
        hint
    }
}

/// What a request needs to be sent again after a redirect: a clone, or (for a streaming body)
/// its head alone.
struct Template {
    request: Request,
    /// The request has a body that the clone carries (none is also "carried").
    has_body: bool,
}

impl Template {
    fn of(request: &Request) -> Self {
        match request.try_clone() {
            Some(request) => Self {
                request,
                has_body: true,
            },
            None => {
                let mut head = Request::new(request.method().clone(), request.url().clone());
                *head.headers_mut() = request.headers().clone();
                *head.timeout_mut() = request.timeout().copied();
                *head.version_mut() = request.version();
                Self {
                    request: head,
                    has_body: false,
                }
            }
        }
    }

    /// The request again, for a nonce retry: `None` when its body could not be cloned (a
    /// stream), as `Request::try_clone` answers for the request itself.
    fn replay(&self) -> Option<Request> {
        if self.has_body {
            self.request.try_clone()
        } else {
            None
        }
    }

    /// The request for the redirect target. Without the body, the headers that described it
    /// go too (as in the Fetch standard's "request-body-header names").
    fn into_request(self, method: Method, url: Url, keep_body: bool) -> Request {
        let mut request = self.request;
        *request.method_mut() = method;
        *request.url_mut() = url;
        if !keep_body {
            *request.body_mut() = None;
            for name in [
                CONTENT_TYPE,
                CONTENT_LENGTH,
                CONTENT_ENCODING,
                TRANSFER_ENCODING,
            ] {
                request.headers_mut().remove(name);
            }
        }
        request
    }
}

/// What [`DpopClient::execute`] did about nonce challenges and redirects; in every response's
/// extensions.
///
/// ```no_run
/// # async fn f(client: dpop_reqwest::DpopClient) -> Result<(), dpop_reqwest::Error> {
/// let response = client.send(client.http().get("http://127.0.0.1:8080/x"), None).await?;
/// let exchange = response.extensions().get::<dpop_reqwest::Exchange>().copied();
/// assert!(exchange.is_some_and(|e| !e.retried || e.not_retried.is_none()));
/// # Ok(()) }
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exchange {
    /// The request for the response's URL was sent a second time, with the server's nonce.
    pub retried: bool,
    /// The response is a nonce challenge that was not retried, and why.
    pub not_retried: Option<NoRetry>,
    /// How many same-origin redirects were followed (each with a new proof).
    pub redirects: u8,
    /// The response is a redirect that was not followed, and why; it is returned as it came.
    pub redirect_stopped: Option<RedirectStop>,
}

/// Why a redirect was not followed.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedirectStop {
    /// The target is another origin: it never gets the proof nor the access token. Follow it
    /// yourself if you trust it (a new proof for it is made by sending a new request).
    CrossOrigin,
    /// The target is `http` and the request was `https`.
    Downgrade,
    /// The `Location` is not one `http` or `https` URL a proof can be made for (relative ones
    /// are resolved).
    InvalidLocation,
    /// A 307 or 308 (or a 301/302 of a method other than `POST`) keeps the body, and the body
    /// was a stream that cannot be sent again.
    NotReplayable,
    /// [`MAX_REDIRECTS`] redirects were already followed.
    TooMany,
}

impl RedirectStop {
    /// A stable snake_case name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::CrossOrigin => "cross_origin",
            Self::Downgrade => "downgrade",
            Self::InvalidLocation => "invalid_location",
            Self::NotReplayable => "not_replayable",
            Self::TooMany => "too_many",
        }
    }
}

impl fmt::Display for RedirectStop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::CrossOrigin => "redirect to another origin not followed",
            Self::Downgrade => "redirect from https to http not followed",
            Self::InvalidLocation => "redirect without a usable http(s) Location",
            Self::NotReplayable => "redirect needs the body again, and it was a stream",
            Self::TooMany => "too many redirects",
        })
    }
}

/// A request could not be sent or answered.
#[non_exhaustive]
#[derive(Debug)]
pub enum Error {
    /// reqwest failed: connection, timeout, body, or a request that cannot be built.
    Http(reqwest::Error),
    /// No proof could be made for the request.
    Proof(ClientError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Http(_) => f.write_str("http request failed"),
            Self::Proof(e) => fmt::Display::fmt(e, f),
        }
    }
}

/// Each message of the chain is printed once: `Http` names the failed step and its source is
/// the reqwest error; `Proof` is transparent (its text is the client error's, and its source
/// that error's source).
impl core::error::Error for Error {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Http(e) => Some(e),
            Self::Proof(e) => e.source(),
        }
    }
}

impl From<ClientError> for Error {
    fn from(e: ClientError) -> Self {
        Self::Proof(e)
    }
}

impl From<reqwest::Error> for Error {
    fn from(e: reqwest::Error) -> Self {
        Self::Http(e)
    }
}

/// Internals exposed to the fuzz targets only (feature `__fuzzing-internals`); not a public API,
/// no semver guarantees.
#[cfg(feature = "__fuzzing-internals")]
#[doc(hidden)]
pub mod __fuzzing {
    #[cfg(any(feature = "es256", feature = "es384", feature = "es512"))]
    use http::HeaderMap;

    pub use crate::RedirectStop;

    pub use crate::redirect::{Step, redirect_step};

    /// The token manager's `WWW-Authenticate` challenge parser: schemes and parameters.
    #[cfg(any(feature = "es256", feature = "es384", feature = "es512"))]
    #[must_use]
    pub fn challenges(value: &str) -> Vec<(String, Vec<(String, String)>)> {
        crate::tokens::challenges(value)
    }

    /// Whether the token manager sees an `invalid_token` challenge in these headers.
    #[cfg(any(feature = "es256", feature = "es384", feature = "es512"))]
    #[must_use]
    pub fn invalid_token(headers: &HeaderMap) -> bool {
        crate::tokens::invalid_token(headers)
    }

    /// How a token or device endpoint's non-success response is read.
    #[cfg(any(feature = "es256", feature = "es384", feature = "es512"))]
    #[must_use]
    pub fn error_response(status: u16, body: &[u8]) -> crate::grants::AuthError {
        crate::grants::error_response(status, body)
    }

    /// A device authorization response (RFC 8628 section 3.2) as the device grant reads it:
    /// `(device_code, user_code, verification_uri, verification_uri_complete, expires_in,
    /// interval)`.
    #[cfg(any(feature = "es256", feature = "es384", feature = "es512"))]
    #[allow(clippy::type_complexity)]
    #[must_use]
    pub fn device_response(
        body: &[u8],
    ) -> Option<(String, String, String, Option<String>, u64, Option<u64>)> {
        crate::grants::device_response(body)
    }
}

#[cfg(test)]
mod tests {
    use http::StatusCode;
    use http::header::LOCATION;

    use super::*;

    /// `execute` holds the request's redirect template across its awaits: its future must
    /// stay `Send` for multi-threaded runtimes (a compile-time check).
    #[test]
    fn execute_future_is_send() {
        fn is_send<T: Send>(_: &T) {}
        fn check(client: &DpopClient, request: Request) {
            let future = client.execute(request, None);
            is_send(&future);
        }
        let _ = check as fn(&DpopClient, Request);
    }

    fn step(method: Method, status: u16, from: &str, location: &str, done: u8) -> Step {
        let mut headers = HeaderMap::new();
        headers.insert(LOCATION, location.parse().unwrap());
        redirect_step(
            &method,
            StatusCode::from_u16(status).unwrap(),
            &Url::parse(from).unwrap(),
            &headers,
            done,
            true,
        )
    }

    fn follow(url: &str, method: Method, keep_body: bool) -> Step {
        Step::Follow {
            url: Url::parse(url).unwrap(),
            method,
            keep_body,
        }
    }

    #[test]
    fn https_to_http_is_never_followed() {
        for status in [301, 302, 303, 307, 308] {
            for location in [
                "http://api.example.com/b",
                "http://api.example.com:443/b",
                "http://evil.example.net/",
            ] {
                assert_eq!(
                    step(
                        Method::GET,
                        status,
                        "https://api.example.com/a",
                        location,
                        0
                    ),
                    Step::Stop(RedirectStop::Downgrade),
                    "{status} {location}"
                );
            }
        }
        // the other way is another origin as well
        assert_eq!(
            step(
                Method::GET,
                302,
                "http://api.example.com/a",
                "https://api.example.com/b",
                0
            ),
            Step::Stop(RedirectStop::CrossOrigin)
        );
    }

    #[test]
    fn only_the_same_origin_is_followed() {
        let from = "https://api.example.com/v1/a?q=1";
        for location in [
            "https://other.example.com/v1/b",
            "https://api.example.com:8443/v1/b",
            "//evil.example.net/x",
            "https://api.example.com.evil.example.net/",
            "https://user@evil.example.net/",
        ] {
            assert_eq!(
                step(Method::GET, 302, from, location, 0),
                Step::Stop(RedirectStop::CrossOrigin),
                "{location}"
            );
        }
        for location in ["/v1/b", "b", "https://API.example.com:443/v1/b", "?p=2"] {
            assert!(
                matches!(
                    step(Method::GET, 302, from, location, 0),
                    Step::Follow { .. }
                ),
                "{location}"
            );
        }
        for location in [
            "ftp://api.example.com/",
            "javascript:alert(1)",
            "http://[::1",
        ] {
            assert_eq!(
                step(Method::GET, 302, from, location, 0),
                Step::Stop(RedirectStop::InvalidLocation),
                "{location}"
            );
        }
    }

    #[test]
    fn methods_change_as_browsers_do() {
        let from = "https://as.example.com/a";
        let to = "https://as.example.com/b";
        assert_eq!(
            step(Method::POST, 301, from, to, 0),
            follow(to, Method::GET, false)
        );
        assert_eq!(
            step(Method::POST, 302, from, to, 0),
            follow(to, Method::GET, false)
        );
        assert_eq!(
            step(Method::PUT, 302, from, to, 0),
            follow(to, Method::PUT, true)
        );
        assert_eq!(
            step(Method::POST, 303, from, to, 0),
            follow(to, Method::GET, false)
        );
        assert_eq!(
            step(Method::DELETE, 303, from, to, 0),
            follow(to, Method::GET, false)
        );
        assert_eq!(
            step(Method::HEAD, 303, from, to, 0),
            follow(to, Method::HEAD, true)
        );
        assert_eq!(
            step(Method::POST, 307, from, to, 0),
            follow(to, Method::POST, true)
        );
        assert_eq!(
            step(Method::PATCH, 308, from, to, 0),
            follow(to, Method::PATCH, true)
        );
        // not redirects
        for status in [200, 300, 304, 305, 400] {
            assert_eq!(
                step(Method::GET, status, from, to, 0),
                Step::Done,
                "{status}"
            );
        }
        // without Location: the caller's
        let none = redirect_step(
            &Method::GET,
            StatusCode::FOUND,
            &Url::parse(from).unwrap(),
            &HeaderMap::new(),
            0,
            true,
        );
        assert_eq!(none, Step::Done);
    }

    /// Only an http(s) URL is resolved against: the fuzz target's `file:` base with `../`
    /// reached a debug assertion inside `Url::join`.
    #[test]
    fn a_redirect_from_a_non_http_url_is_not_resolved() {
        for from in [
            "file:/.=:/o:?/GEhEPtte.xa.",
            "file:///etc/x",
            "data:text/plain,x",
        ] {
            for location in ["../", "https://as.example.com/", "/a"] {
                assert_eq!(
                    step(Method::GET, 307, from, location, 0),
                    Step::Stop(RedirectStop::InvalidLocation),
                    "{from} {location}"
                );
            }
        }
    }

    #[test]
    fn bounded_and_needs_a_replayable_body() {
        let from = "https://as.example.com/a";
        assert!(matches!(
            step(Method::GET, 307, from, "/a", MAX_REDIRECTS - 1),
            Step::Follow { .. }
        ));
        assert_eq!(
            step(Method::GET, 307, from, "/a", MAX_REDIRECTS),
            Step::Stop(RedirectStop::TooMany)
        );
        let mut headers = HeaderMap::new();
        headers.insert(LOCATION, "/b".parse().unwrap());
        let from = Url::parse(from).unwrap();
        let stream =
            |method: Method, status| redirect_step(&method, status, &from, &headers, 0, false);
        assert_eq!(
            stream(Method::POST, StatusCode::TEMPORARY_REDIRECT),
            Step::Stop(RedirectStop::NotReplayable)
        );
        // dropping the body needs no replay
        assert!(matches!(
            stream(Method::POST, StatusCode::SEE_OTHER),
            Step::Follow { .. }
        ));
        // two Location headers are ambiguous
        headers.append(LOCATION, "/c".parse().unwrap());
        assert_eq!(
            redirect_step(&Method::GET, StatusCode::FOUND, &from, &headers, 0, true),
            Step::Stop(RedirectStop::InvalidLocation)
        );
    }
}
