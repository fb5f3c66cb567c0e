//! How a [`TokenManager`](crate::tokens::TokenManager) gets tokens: OAuth 2.0 grants sent
//! with a DPoP proof, so that the tokens are bound to the client's key.
//!
//! - [`ClientCredentials`]: RFC 6749 section 4.4, with `client_secret_post` or
//!   `client_secret_basic` ([`ClientAuth`]).
//! - [`DeviceAuthorization`]: RFC 8628, how command-line tools sign users in: a user code and
//!   a verification URI shown to the user, then polling that honours `interval`,
//!   `authorization_pending` and `slow_down`.
//! - Both refresh with `grant_type=refresh_token`, with the same key (RFC 9449 section 5).
//! - Anything else (a platform's own sign-in endpoint) implements [`Grant`], using
//!   [`token_request`] to send and read the request.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::time::Duration;

use std::sync::Arc;

use base64ct::{Base64, Encoding as _};
use dpop_std::client::TokenError;
use dpop_std::clock::{Clock, SystemClock};
use dpop_std::keys::KeyFileError;
use dpop_std::wire::{ErrorBody, TokenResponse};
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{RequestBuilder, Response};
use zeroize::Zeroizing;

use crate::DpopClient;
use crate::store::StoreError;

/// A boxed, sendable future: what [`Grant`]'s methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Largest token or device authorization response read.
pub const MAX_RESPONSE_LEN: usize = 64 * 1024;

/// RFC 8628 section 3.5: `slow_down` adds 5 seconds to the polling interval.
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// RFC 8628 section 3.2: the polling interval when the server gives none.
pub const DEFAULT_DEVICE_INTERVAL: Duration = Duration::from_secs(5);

/// The device code grant type (RFC 8628 section 3.4).
pub const DEVICE_CODE_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A way to obtain tokens: a sign-in, and optionally a refresh.
///
/// Both get the manager's [`DpopClient`]: send the request with it (see [`token_request`]),
/// so that it carries a proof and the tokens are bound to the client's key.
pub trait Grant: Send + Sync {
    /// Obtains new tokens (client credentials, a device sign-in, an API-key sign-in ...).
    ///
    /// # Errors
    ///
    /// [`AuthError`] when no token could be obtained.
    fn sign_in<'a>(
        &'a self,
        client: &'a DpopClient,
    ) -> BoxFuture<'a, Result<TokenResponse, AuthError>>;

    /// Exchanges `refresh_token` for new tokens, or `None` when this grant cannot refresh
    /// (the manager then signs in again). The default is `None`.
    ///
    /// An [`AuthError::OAuth`] answer (`invalid_grant`: the refresh token expired or was
    /// revoked) makes the manager sign in again; other errors reach the caller.
    fn refresh<'a>(
        &'a self,
        client: &'a DpopClient,
        refresh_token: &'a str,
    ) -> Option<BoxFuture<'a, Result<TokenResponse, AuthError>>> {
        let _ = (client, refresh_token);
        None
    }
}

/// How the client authenticates to the token endpoint (RFC 6749 section 2.3).
///
/// `Debug` never shows the secret.
#[derive(Clone)]
pub struct ClientAuth {
    client_id: String,
    method: AuthMethod,
}

#[derive(Clone)]
enum AuthMethod {
    None,
    Post(Zeroizing<String>),
    Basic(Zeroizing<String>),
}

impl ClientAuth {
    /// A public client: `client_id` in the form, no secret (RFC 6749 section 2.3; the device
    /// grant's usual client).
    #[must_use]
    pub fn none(client_id: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            method: AuthMethod::None,
        }
    }

    /// `client_secret_post`: `client_id` and `client_secret` in the form body.
    #[must_use]
    pub fn secret_post(client_id: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            method: AuthMethod::Post(Zeroizing::new(secret.into())),
        }
    }

    /// `client_secret_basic`: `Authorization: Basic` with the id and the secret, each
    /// form-urlencoded first as RFC 6749 section 2.3.1 requires (so a `:` in the id cannot
    /// split it wrongly).
    #[must_use]
    pub fn secret_basic(client_id: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            method: AuthMethod::Basic(Zeroizing::new(secret.into())),
        }
    }

    /// The client id.
    #[must_use]
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Adds the authentication to `form` and `request`.
    fn apply(
        &self,
        form: &mut form_urlencoded::Serializer<'_, String>,
        request: RequestBuilder,
    ) -> RequestBuilder {
        match &self.method {
            AuthMethod::None => {
                form.append_pair("client_id", &self.client_id);
                request
            }
            AuthMethod::Post(secret) => {
                form.append_pair("client_id", &self.client_id);
                form.append_pair("client_secret", secret);
                request
            }
            AuthMethod::Basic(secret) => {
                let credentials = Zeroizing::new(format!(
                    "{}:{}",
                    form_encode(&self.client_id),
                    Zeroizing::new(form_encode(secret)).as_str()
                ));
                let value = Zeroizing::new(format!(
                    "Basic {}",
                    Zeroizing::new(Base64::encode_string(credentials.as_bytes())).as_str()
                ));
                // Base64 text is always a valid header value.
                let Ok(mut value) = http::HeaderValue::from_str(&value) else {
                    return request;
                };
                value.set_sensitive(true);
                request.header(AUTHORIZATION, value)
            }
        }
    }
}

/// `application/x-www-form-urlencoded` encoding of `text` (RFC 6749 appendix B).
fn form_encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let method = match self.method {
            AuthMethod::None => "none",
            AuthMethod::Post(_) => "client_secret_post",
            AuthMethod::Basic(_) => "client_secret_basic",
        };
        f.debug_struct("ClientAuth")
            .field("client_id", &self.client_id)
            .field("method", &method)
            .finish_non_exhaustive()
    }
}

/// A form POST to `url` with the client's authentication and `pairs`.
fn form_request(
    client: &DpopClient,
    url: &str,
    auth: &ClientAuth,
    pairs: &[(&str, &str)],
) -> RequestBuilder {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        form.append_pair(name, value);
    }
    let request = client.http().post(url);
    let request = auth.apply(&mut form, request);
    request
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ACCEPT, "application/json")
        .body(form.finish())
}

/// The refresh token grant (RFC 6749 section 6) at `token_endpoint`, with the proof of the
/// manager's key (RFC 9449 section 5).
fn refresh_request<'a>(
    client: &'a DpopClient,
    token_endpoint: &'a str,
    auth: &'a ClientAuth,
    refresh_token: &'a str,
) -> BoxFuture<'a, Result<TokenResponse, AuthError>> {
    Box::pin(async move {
        let request = form_request(
            client,
            token_endpoint,
            auth,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        );
        token_request(client, request).await
    })
}

/// Sends a token request with a proof (and the nonce retry) and reads the answer: a token
/// response on 200, an [`AuthError::OAuth`] for an OAuth error response (RFC 6749 section
/// 5.2), [`AuthError::UnexpectedResponse`] otherwise. For custom [`Grant`]s.
///
/// # Errors
///
/// As above, and [`AuthError::Request`] when the request fails, [`AuthError::Token`] when the
/// 200 body is not a token response.
pub async fn token_request(
    client: &DpopClient,
    request: RequestBuilder,
) -> Result<TokenResponse, AuthError> {
    let response = client
        .send(request, None)
        .await
        .map_err(AuthError::Request)?;
    let status = response.status();
    let body = read_bounded(response).await?;
    if status.is_success() {
        return TokenResponse::from_json(&body).map_err(|e| {
            AuthError::Token(match e.member() {
                Some(member) => TokenError::InvalidMember(member),
                None => TokenError::Malformed(e.kind()),
            })
        });
    }
    Err(error_response(status.as_u16(), &body))
}

pub(crate) fn error_response(status: u16, body: &[u8]) -> AuthError {
    match ErrorBody::from_json(body) {
        Ok(error) => AuthError::OAuth(OAuthError {
            status,
            error: error.error,
            description: error.error_description,
        }),
        Err(_) => AuthError::UnexpectedResponse { status },
    }
}

/// The body of `response`, at most [`MAX_RESPONSE_LEN`] bytes, in a buffer wiped on drop.
async fn read_bounded(mut response: Response) -> Result<Zeroizing<Vec<u8>>, AuthError> {
    let mut body = Zeroizing::new(Vec::new());
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| AuthError::Request(crate::Error::Http(e)))?
    {
        if body.len() + chunk.len() > MAX_RESPONSE_LEN {
            return Err(AuthError::ResponseTooLarge);
        }
        // Reserve the whole bound once, so the buffer never moves (and leaves no copies).
        if body.capacity() == 0 {
            body.reserve_exact(MAX_RESPONSE_LEN);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The client credentials grant (RFC 6749 section 4.4) with a DPoP proof.
///
/// ```
/// use dpop_reqwest::grants::{ClientAuth, ClientCredentials};
///
/// let grant = ClientCredentials::new(
///     "https://as.example.com/token",
///     ClientAuth::secret_basic("my-client", "my-secret"),
/// )
/// .with_scope("read write");
/// assert!(!format!("{grant:?}").contains("my-secret"));
/// ```
#[derive(Clone, Debug)]
pub struct ClientCredentials {
    token_endpoint: String,
    auth: ClientAuth,
    scope: Option<String>,
}

impl ClientCredentials {
    /// The grant at `token_endpoint`, authenticating with `auth`.
    #[must_use]
    pub fn new(token_endpoint: impl Into<String>, auth: ClientAuth) -> Self {
        Self {
            token_endpoint: token_endpoint.into(),
            auth,
            scope: None,
        }
    }

    /// Requests `scope` (space-separated).
    #[must_use]
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }
}

impl Grant for ClientCredentials {
    fn sign_in<'a>(
        &'a self,
        client: &'a DpopClient,
    ) -> BoxFuture<'a, Result<TokenResponse, AuthError>> {
        Box::pin(async move {
            let mut pairs = vec![("grant_type", "client_credentials")];
            if let Some(scope) = &self.scope {
                pairs.push(("scope", scope));
            }
            let request = form_request(client, &self.token_endpoint, &self.auth, &pairs);
            token_request(client, request).await
        })
    }

    fn refresh<'a>(
        &'a self,
        client: &'a DpopClient,
        refresh_token: &'a str,
    ) -> Option<BoxFuture<'a, Result<TokenResponse, AuthError>>> {
        Some(refresh_request(
            client,
            &self.token_endpoint,
            &self.auth,
            refresh_token,
        ))
    }
}

/// What the user is shown to sign in on another device (RFC 8628 section 3.3).
///
/// `Debug` shows the user code and the URIs (the user sees them), not the device code.
#[derive(Clone, Debug)]
pub struct DevicePrompt {
    user_code: String,
    verification_uri: String,
    verification_uri_complete: Option<String>,
    expires_in: u64,
}

impl DevicePrompt {
    /// The code the user types at the verification URI.
    #[must_use]
    pub fn user_code(&self) -> &str {
        &self.user_code
    }

    /// Where the user goes.
    #[must_use]
    pub fn verification_uri(&self) -> &str {
        &self.verification_uri
    }

    /// The URI with the user code in it (for a QR code, say), if the server gave one.
    #[must_use]
    pub fn verification_uri_complete(&self) -> Option<&str> {
        self.verification_uri_complete.as_deref()
    }

    /// How long the user has, in seconds.
    #[must_use]
    pub const fn expires_in(&self) -> u64 {
        self.expires_in
    }
}

/// The device authorization response (RFC 8628 section 3.2).
#[derive(serde::Deserialize)]
struct DeviceResponse {
    device_code: String,
    user_code: String,
    verification_uri: String,
    verification_uri_complete: Option<String>,
    expires_in: u64,
    interval: Option<u64>,
}

/// The device authorization response as [`DeviceAuthorization`] reads it, for the fuzz targets.
#[cfg(feature = "__fuzzing-internals")]
#[allow(clippy::type_complexity)]
pub(crate) fn device_response(
    body: &[u8],
) -> Option<(String, String, String, Option<String>, u64, Option<u64>)> {
    let device: DeviceResponse = serde_json::from_slice(body).ok()?;
    Some((
        device.device_code,
        device.user_code,
        device.verification_uri,
        device.verification_uri_complete,
        device.expires_in,
        device.interval,
    ))
}

type Prompt = Arc<dyn Fn(&DevicePrompt) + Send + Sync>;
type Sleep = Arc<dyn Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync>;

/// The device authorization grant (RFC 8628), with a DPoP proof on every token request.
///
/// Signing in asks `device_endpoint` for a device code, hands the [`DevicePrompt`] to the
/// prompt callback (print it), then polls `token_endpoint`: every `interval` seconds (5 when
/// the server gives none), 5 seconds more after each `slow_down`, on through
/// `authorization_pending`, until the user approves (tokens), denies
/// ([`AuthError::AccessDenied`]) or the device code expires ([`AuthError::DeviceCodeExpired`]:
/// the server's `expired_token`, or its `expires_in` passed on the client's clock).
///
/// ```
/// use dpop_reqwest::grants::{ClientAuth, DeviceAuthorization};
///
/// let grant = DeviceAuthorization::new(
///     "https://as.example.com/device",
///     "https://as.example.com/token",
///     ClientAuth::none("my-cli"),
/// )
/// .with_scope("openid offline_access")
/// .on_prompt(|prompt| {
///     eprintln!("Open {} and enter {}", prompt.verification_uri(), prompt.user_code());
/// });
/// # let _ = grant;
/// ```
#[derive(Clone)]
pub struct DeviceAuthorization {
    device_endpoint: String,
    token_endpoint: String,
    auth: ClientAuth,
    scope: Option<String>,
    prompt: Prompt,
    sleep: Sleep,
    clock: Arc<dyn Clock>,
}

impl DeviceAuthorization {
    /// The grant: device codes from `device_endpoint`, tokens from `token_endpoint`. The
    /// default prompt writes the URI and the code to stderr.
    #[must_use]
    pub fn new(
        device_endpoint: impl Into<String>,
        token_endpoint: impl Into<String>,
        auth: ClientAuth,
    ) -> Self {
        Self {
            device_endpoint: device_endpoint.into(),
            token_endpoint: token_endpoint.into(),
            auth,
            scope: None,
            prompt: Arc::new(|prompt: &DevicePrompt| {
                #[allow(clippy::print_stderr, reason = "the default prompt is for a terminal")]
                match prompt.verification_uri_complete() {
                    Some(uri) => eprintln!("To sign in, open {uri}"),
                    None => eprintln!(
                        "To sign in, open {} and enter the code {}",
                        prompt.verification_uri(),
                        prompt.user_code()
                    ),
                }
            }),
            sleep: Arc::new(|duration| Box::pin(tokio::time::sleep(duration))),
            clock: Arc::new(SystemClock::default()),
        }
    }

    /// Requests `scope` (space-separated).
    #[must_use]
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Shows the user code and verification URI with `prompt` instead of on stderr.
    #[must_use]
    pub fn on_prompt(mut self, prompt: impl Fn(&DevicePrompt) + Send + Sync + 'static) -> Self {
        self.prompt = Arc::new(prompt);
        self
    }

    /// Waits between polls with `sleep` instead of `tokio::time::sleep`, and reads the time
    /// from `clock` (for tests: a sleep that advances a manual clock).
    #[must_use]
    pub fn with_timing(
        mut self,
        clock: Arc<dyn Clock>,
        sleep: impl Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync + 'static,
    ) -> Self {
        self.clock = clock;
        self.sleep = Arc::new(sleep);
        self
    }

    async fn run(&self, client: &DpopClient) -> Result<TokenResponse, AuthError> {
        let mut pairs = Vec::new();
        if let Some(scope) = &self.scope {
            pairs.push(("scope", scope.as_str()));
        }
        // The device authorization request carries no proof: RFC 9449 defines none for it.
        let request = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for (name, value) in &pairs {
                form.append_pair(name, value);
            }
            let request = self
                .auth
                .apply(&mut form, client.http().post(&self.device_endpoint));
            request
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(ACCEPT, "application/json")
                .body(form.finish())
        };
        let response = request
            .send()
            .await
            .map_err(|e| AuthError::Request(crate::Error::Http(e)))?;
        let status = response.status();
        let body = read_bounded(response).await?;
        if !status.is_success() {
            return Err(error_response(status.as_u16(), &body));
        }
        let device: DeviceResponse =
            serde_json::from_slice(&body).map_err(|_| AuthError::InvalidDeviceResponse)?;
        let device_code = Zeroizing::new(device.device_code);
        let started = self.clock.now().as_secs();
        let deadline = started.saturating_add(device.expires_in);
        let mut interval = device
            .interval
            .map_or(DEFAULT_DEVICE_INTERVAL, Duration::from_secs);
        (self.prompt)(&DevicePrompt {
            user_code: device.user_code,
            verification_uri: device.verification_uri,
            verification_uri_complete: device.verification_uri_complete,
            expires_in: device.expires_in,
        });
        loop {
            if self
                .clock
                .now()
                .as_secs()
                .saturating_add(interval.as_secs())
                >= deadline
            {
                return Err(AuthError::DeviceCodeExpired);
            }
            (self.sleep)(interval).await;
            let request = form_request(
                client,
                &self.token_endpoint,
                &self.auth,
                &[
                    ("grant_type", DEVICE_CODE_GRANT_TYPE),
                    ("device_code", device_code.as_str()),
                ],
            );
            match token_request(client, request).await {
                Ok(tokens) => return Ok(tokens),
                Err(AuthError::OAuth(e)) => match e.error() {
                    "authorization_pending" => {}
                    "slow_down" => interval = interval.saturating_add(SLOW_DOWN_STEP),
                    "access_denied" => return Err(AuthError::AccessDenied),
                    "expired_token" => return Err(AuthError::DeviceCodeExpired),
                    _ => return Err(AuthError::OAuth(e)),
                },
                Err(e) => return Err(e),
            }
        }
    }
}

impl fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("device_endpoint", &self.device_endpoint)
            .field("token_endpoint", &self.token_endpoint)
            .field("auth", &self.auth)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Grant for DeviceAuthorization {
    fn sign_in<'a>(
        &'a self,
        client: &'a DpopClient,
    ) -> BoxFuture<'a, Result<TokenResponse, AuthError>> {
        Box::pin(self.run(client))
    }

    fn refresh<'a>(
        &'a self,
        client: &'a DpopClient,
        refresh_token: &'a str,
    ) -> Option<BoxFuture<'a, Result<TokenResponse, AuthError>>> {
        Some(refresh_request(
            client,
            &self.token_endpoint,
            &self.auth,
            refresh_token,
        ))
    }
}

/// An OAuth error response (RFC 6749 section 5.2) from a token or device endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthError {
    status: u16,
    error: String,
    description: Option<String>,
}

impl OAuthError {
    /// The HTTP status.
    #[must_use]
    pub const fn status(&self) -> u16 {
        self.status
    }

    /// The error code: `invalid_grant`, `invalid_client` ...
    #[must_use]
    pub fn error(&self) -> &str {
        &self.error
    }

    /// The server's description, if any.
    #[must_use]
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.error)?;
        if let Some(description) = &self.description {
            write!(f, " ({description})")?;
        }
        Ok(())
    }
}

/// Tokens could not be obtained, refreshed, stored or used.
#[non_exhaustive]
#[derive(Debug)]
pub enum AuthError {
    /// The user denied the device authorization request (RFC 8628 `access_denied`).
    AccessDenied,
    /// The device code expired before the user approved (RFC 8628 `expired_token`, or its
    /// `expires_in` passed).
    DeviceCodeExpired,
    /// The device authorization response is not one (RFC 8628 section 3.2).
    InvalidDeviceResponse,
    /// The session's key could not be made, read or written.
    Key(KeyFileError),
    /// A store was given together with a ready-made client whose key cannot be saved beside
    /// the tokens.
    KeyNotStorable,
    /// The endpoint answered with an OAuth error.
    OAuth(OAuthError),
    /// The request could not be sent (or no proof made for it).
    Request(crate::Error),
    /// A response was larger than [`MAX_RESPONSE_LEN`].
    ResponseTooLarge,
    /// The session could not be loaded or saved.
    Store(StoreError),
    /// The token response cannot be used: malformed, or a `Bearer` token where a DPoP-bound
    /// one was asked for.
    Token(TokenError),
    /// A response that is neither a success nor an OAuth error.
    UnexpectedResponse {
        /// Its status.
        status: u16,
    },
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AccessDenied => f.write_str("the user denied the sign-in"),
            Self::DeviceCodeExpired => f.write_str("the device code expired before sign-in"),
            Self::InvalidDeviceResponse => f.write_str("invalid device authorization response"),
            Self::Key(e) => write!(f, "session key: {e}"),
            Self::KeyNotStorable => {
                f.write_str("a token store needs the key: give the key, not a built client")
            }
            Self::OAuth(e) => write!(f, "token endpoint error: {e}"),
            Self::Request(e) => fmt::Display::fmt(e, f),
            Self::ResponseTooLarge => {
                write!(f, "response larger than {MAX_RESPONSE_LEN} bytes")
            }
            Self::Store(e) => fmt::Display::fmt(e, f),
            Self::Token(e) => fmt::Display::fmt(e, f),
            Self::UnexpectedResponse { status } => {
                write!(f, "unexpected response from the token endpoint: {status}")
            }
        }
    }
}

impl core::error::Error for AuthError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Key(e) => Some(e),
            Self::Request(e) => Some(e),
            Self::Store(e) => Some(e),
            Self::Token(e) => Some(e),
            _ => None,
        }
    }
}

impl From<crate::Error> for AuthError {
    fn from(e: crate::Error) -> Self {
        Self::Request(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_encoded_first() {
        let client = DpopClient::new(
            reqwest::Client::builder(),
            dpop_std::client::Client::new(
                dpop_std::keys::generate(dpop_core::Algorithm::Es256).unwrap(),
            ),
        )
        .unwrap();
        let auth = ClientAuth::secret_basic("id:with space", "s3cr+t/é");
        let request = form_request(&client, "http://127.0.0.1:1/token", &auth, &[])
            .build()
            .unwrap();
        let value = request.headers()[AUTHORIZATION].to_str().unwrap();
        let decoded = Base64::decode_vec(value.strip_prefix("Basic ").unwrap()).unwrap();
        assert_eq!(
            String::from_utf8(decoded).unwrap(),
            "id%3Awith+space:s3cr%2Bt%2F%C3%A9"
        );
        assert!(request.headers()[AUTHORIZATION].is_sensitive());
        // nothing in the body
        let body = request.body().and_then(|b| b.as_bytes()).unwrap();
        assert!(body.is_empty());

        let auth = ClientAuth::secret_post("id:1", "a&b=c");
        let request = form_request(
            &client,
            "http://127.0.0.1:1/token",
            &auth,
            &[("grant_type", "client_credentials")],
        )
        .build()
        .unwrap();
        assert!(!request.headers().contains_key(AUTHORIZATION));
        let body = request.body().and_then(|b| b.as_bytes()).unwrap();
        assert_eq!(
            core::str::from_utf8(body).unwrap(),
            "grant_type=client_credentials&client_id=id%3A1&client_secret=a%26b%3Dc"
        );
        assert!(!format!("{auth:?}").contains("a&b=c"));
    }
}
