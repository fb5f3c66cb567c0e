#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

use core::fmt;
// A std crate; naming `alloc` keeps the workspace's no_std hygiene lints happy.
extern crate alloc;

use alloc::sync::Arc;

use dpop_std::client::{Attempt, Client, ClientError, MAX_ERROR_BODY, NoRetry, Outcome};
use reqwest::{Request, RequestBuilder, Response, ResponseBuilderExt as _};

pub use dpop_std;
pub use reqwest;

/// A reqwest client that adds a DPoP proof to every request and performs the single nonce
/// retry (RFC 9449 sections 8 and 9).
///
/// Cloning is cheap: the clones share the connection pool, the key and the nonce cache.
#[derive(Clone, Debug)]
pub struct DpopClient {
    http: reqwest::Client,
    dpop: Arc<Client>,
}

impl DpopClient {
    /// Wraps `http` with the DPoP client `dpop` (its key, nonce cache and clock offset).
    #[must_use]
    pub fn new(http: reqwest::Client, dpop: Client) -> Self {
        Self::from_shared(http, Arc::new(dpop))
    }

    /// As [`new`](Self::new), sharing a DPoP client with other code.
    #[must_use]
    pub const fn from_shared(http: reqwest::Client, dpop: Arc<Client>) -> Self {
        Self { http, dpop }
    }

    /// The underlying reqwest client, to build requests: `client.http().get(url)`.
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
    /// When the server answers with a nonce challenge, the request is sent once more with the
    /// new nonce, if its body can be cloned (a streaming body cannot; the challenge is then
    /// returned). It is never retried twice, nor with a nonce it already sent. A
    /// [`Exchange`] in the response's extensions tells what happened.
    ///
    /// A 400 body is read to recognize the authorization server's JSON challenge when its
    /// `Content-Length` is at most [`MAX_ERROR_BODY`]; the returned response still holds it.
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
        let mut attempt = self
            .dpop
            .prepare(request.method(), request.url().as_str(), access_token)
            .map_err(Error::Proof)?;
        let spare = request.try_clone();
        let (mut response, outcome) = self.round(request, &mut attempt).await?;
        let mut exchange = Exchange {
            retried: false,
            not_retried: None,
        };
        match (outcome, spare) {
            (Outcome::Retry, Some(second)) => {
                let mut retry = self.dpop.retry(&attempt).map_err(Error::Proof)?;
                let (second_response, outcome) = self.round(second, &mut retry).await?;
                response = second_response;
                exchange.retried = true;
                if let Outcome::NotRetried(reason) = outcome {
                    exchange.not_retried = Some(reason);
                }
            }
            (Outcome::Retry, None) => exchange.not_retried = Some(NoRetry::NotReplayable),
            (Outcome::NotRetried(reason), _) => exchange.not_retried = Some(reason),
            _ => {}
        }
        response.extensions_mut().insert(exchange);
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
        let small = response
            .content_length()
            .is_some_and(|n| usize::try_from(n).is_ok_and(|n| n <= MAX_ERROR_BODY));
        if !(Client::needs_body(status) && small) {
            let outcome = self
                .dpop
                .on_response(attempt, status, response.headers(), b"");
            return Ok((response, outcome));
        }
        // Read the (small) error body, then give the caller an equivalent response.
        let version = response.version();
        let url = response.url().clone();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(Error::Http)?;
        let outcome = self.dpop.on_response(attempt, status, &headers, &body);
        // Adding the URL extension cannot fail; without it only `Response::url` would differ.
        let mut rebuilt = http::Response::builder()
            .url(url)
            .body(body.clone())
            .unwrap_or_else(|_| http::Response::new(body));
        *rebuilt.status_mut() = status;
        *rebuilt.version_mut() = version;
        *rebuilt.headers_mut() = headers;
        Ok((Response::from(rebuilt), outcome))
    }
}

/// What [`DpopClient::execute`] did about nonce challenges; in every response's extensions.
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
    /// The request was sent a second time, with the server's nonce.
    pub retried: bool,
    /// The response is a nonce challenge that was not retried, and why.
    pub not_retried: Option<NoRetry>,
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
            Self::Http(e) => write!(f, "http request failed: {e}"),
            Self::Proof(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl core::error::Error for Error {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Http(e) => Some(e),
            Self::Proof(e) => Some(e),
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
