//! A [`reqwest-middleware`](reqwest_middleware) middleware (feature `middleware`): a DPoP
//! proof on every request, the single nonce retry, and, with a
//! [`TokenManager`], the access token and the one retry with a
//! new token on `invalid_token`.
//!
//! ```no_run
//! use dpop_reqwest::middleware::DpopMiddleware;
//! use dpop_reqwest::grants::{ClientAuth, ClientCredentials};
//! use dpop_reqwest::TokenManager;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let grant = ClientCredentials::new(
//!     "https://as.example.com/token",
//!     ClientAuth::secret_post("my-client", "my-secret"),
//! );
//! let tokens = TokenManager::builder(grant).build()?;
//! // Redirects off: the middleware cannot stop reqwest from sending the proof to a redirect
//! // target, so reqwest must not follow any.
//! let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
//! let client = reqwest_middleware::ClientBuilder::new(http)
//!     .with(DpopMiddleware::with_tokens(tokens))
//!     .build();
//! let response = client.get("https://api.example.com/v1/items").send().await?;
//! # let _ = response;
//! # Ok(()) }
//! ```
//!
//! **Redirects.** Unlike [`DpopClient`](crate::DpopClient), a middleware cannot follow
//! redirects itself: build the inner reqwest client with `redirect::Policy::none()`, else
//! reqwest sends the proof (and the token) to the redirect target.

use core::fmt;

use std::sync::Arc;

use dpop_std::client::{Client, MAX_ERROR_BODY, Outcome};
use http::{Extensions, StatusCode};
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};

use crate::tokens::{TokenManager, invalid_token};

/// Adds proofs (and tokens, with a manager) to the requests of a `reqwest-middleware`
/// client. See the [module docs](self).
#[derive(Clone)]
pub struct DpopMiddleware {
    dpop: Arc<Client>,
    tokens: Option<TokenManager>,
}

impl DpopMiddleware {
    /// Proofs only, signed by `dpop` (send your own `Authorization` header, or none).
    #[must_use]
    pub const fn new(dpop: Arc<Client>) -> Self {
        Self { dpop, tokens: None }
    }

    /// Proofs by the manager's key and its access tokens.
    #[must_use]
    pub fn with_tokens(tokens: TokenManager) -> Self {
        Self {
            dpop: Arc::clone(&tokens.client().dpop),
            tokens: Some(tokens),
        }
    }

    /// One request with its nonce retry.
    async fn round(
        &self,
        request: Request,
        token: Option<&str>,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let mut attempt = self
            .dpop
            .prepare(request.method(), request.url().as_str(), token)
            .map_err(reqwest_middleware::Error::middleware)?;
        let spare = request.try_clone();
        let (response, outcome) = self
            .attempt(request, &mut attempt, extensions, next.clone())
            .await?;
        match (outcome, spare) {
            (Outcome::Retry, Some(second)) => {
                let mut retry = self
                    .dpop
                    .retry(&attempt)
                    .map_err(reqwest_middleware::Error::middleware)?;
                Ok(self.attempt(second, &mut retry, extensions, next).await?.0)
            }
            _ => Ok(response),
        }
    }

    async fn attempt(
        &self,
        mut request: Request,
        attempt: &mut dpop_std::client::Attempt,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<(Response, Outcome)> {
        for (name, value) in attempt.headers() {
            request.headers_mut().insert(name, value.clone());
        }
        let response = next.run(request, extensions).await?;
        let status = response.status();
        let too_long = response
            .content_length()
            .is_some_and(|n| usize::try_from(n).is_ok_and(|n| n > MAX_ERROR_BODY));
        if !Client::needs_body(status) || too_long {
            let outcome = self
                .dpop
                .on_response(attempt, status, response.headers(), b"");
            return Ok((response, outcome));
        }
        let (response, prefix) = crate::read_prefix(response, MAX_ERROR_BODY)
            .await
            .map_err(reqwest_middleware::Error::middleware)?;
        let outcome = self
            .dpop
            .on_response(attempt, status, response.headers(), &prefix);
        Ok((response, outcome))
    }
}

impl fmt::Debug for DpopMiddleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopMiddleware")
            .field("dpop", &self.dpop)
            .field("tokens", &self.tokens.is_some())
            .finish()
    }
}

#[async_trait::async_trait]
impl Middleware for DpopMiddleware {
    async fn handle(
        &self,
        request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let Some(tokens) = &self.tokens else {
            return self.round(request, None, extensions, next).await;
        };
        let (token, generation) = tokens
            .token_for(None)
            .await
            .map_err(reqwest_middleware::Error::middleware)?;
        let spare = request.try_clone();
        let response = self
            .round(request, Some(token.secret()), extensions, next.clone())
            .await?;
        if response.status() != StatusCode::UNAUTHORIZED || !invalid_token(response.headers()) {
            return Ok(response);
        }
        let Some(spare) = spare else {
            return Ok(response);
        };
        let (token, _) = tokens
            .token_for(Some(generation))
            .await
            .map_err(reqwest_middleware::Error::middleware)?;
        self.round(spare, Some(token.secret()), extensions, next)
            .await
    }
}
