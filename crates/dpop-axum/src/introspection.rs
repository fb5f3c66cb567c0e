//! Token introspection (RFC 7662): the authorization server says whether a token is active and
//! what it is bound to.

use core::fmt;
use core::future::Future;
use core::time::Duration;
use std::collections::HashMap;
use std::string::String;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Instant;
use std::vec::Vec;

use base64ct::{Base64, Encoding as _};
use dpop_core::AccessTokenHash;
use dpop_core::Thumbprint;
use serde_json::{Map, Value};

use crate::remote::{self, FetchError};
use crate::{TokenResolver, TokenStatus};

/// How the resource authenticates to the introspection endpoint (RFC 7662 section 2.1, with
/// the client authentication methods of RFC 6749 section 2.3.1).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// `client_secret_basic`: HTTP Basic with the form-encoded id and secret (the default).
    #[default]
    SecretBasic,
    /// `client_secret_post`: `client_id` and `client_secret` in the form body.
    SecretPost,
}

/// What the introspection endpoint said about an active token, for the handler
/// (`Extension<IntrospectedToken>`). `claims` holds the whole response.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub struct IntrospectedToken {
    /// `scope`, space-separated.
    pub scope: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `username`.
    pub username: Option<String>,
    /// `token_type` (`DPoP` or `Bearer`).
    pub token_type: Option<String>,
    /// `exp`, seconds since the Unix epoch.
    pub expires_at: Option<u64>,
    /// `iat`.
    pub issued_at: Option<u64>,
    /// `sub`.
    pub subject: Option<String>,
    /// `aud`.
    pub audience: Vec<String>,
    /// `iss`.
    pub issuer: Option<String>,
    /// The whole response.
    pub claims: Map<String, Value>,
}

impl IntrospectedToken {
    fn new(claims: Map<String, Value>) -> Self {
        Self {
            scope: remote::string(&claims, "scope"),
            client_id: remote::string(&claims, "client_id"),
            username: remote::string(&claims, "username"),
            token_type: remote::string(&claims, "token_type"),
            expires_at: remote::numeric_date(claims.get("exp")),
            issued_at: remote::numeric_date(claims.get("iat")),
            subject: remote::string(&claims, "sub"),
            audience: remote::audiences(&claims),
            issuer: remote::string(&claims, "iss"),
            claims,
        }
    }

    /// True when the space-separated `scope` holds `scope`.
    #[must_use]
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope
            .as_deref()
            .is_some_and(|scopes| scopes.split(' ').any(|s| s == scope))
    }
}

/// A [`TokenResolver`] that asks the authorization server's introspection endpoint (RFC 7662):
/// an `active` token with `cnf.jkt` is [`TokenStatus::Bound`], one without `cnf` is
/// [`TokenStatus::Unbound`] (a `token_type` of `DPoP` without `cnf.jkt` is refused); an
/// inactive, expired or not yet valid one, or one for another audience (when
/// [configured](IntrospectionResolverBuilder::with_audience)), is [`TokenStatus::Invalid`].
/// When the endpoint cannot be reached, times out, or answers anything but a 200 with a JSON
/// object, the answer is [`TokenStatus::Unavailable`] (503): the token may well be valid.
///
/// Active results are cached (bounded, keyed by the token's SHA-256) until the earlier of the
/// token's `exp` and the [maximum TTL](IntrospectionResolverBuilder::with_max_cache_ttl), so a
/// token revoked at the server is still accepted for at most that long. Inactive results are
/// not cached: each costs one introspection request, so rate-limit per token in front.
///
/// Neither the tokens nor the client secret appear in `Debug` output.
///
/// ```
/// use dpop_axum::introspection::{ClientAuth, IntrospectionResolver};
///
/// let resolver = IntrospectionResolver::builder(
///     "https://as.example.com/token/introspection",
///     "resource-server",
///     "its secret",
/// )
/// .with_client_auth(ClientAuth::SecretPost)
/// .build()?;
/// # let _ = resolver;
/// # Ok::<(), dpop_axum::introspection::IntrospectionConfigError>(())
/// ```
#[derive(Clone)]
pub struct IntrospectionResolver {
    inner: Arc<Inner>,
}

impl fmt::Debug for IntrospectionResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionResolver")
            .field("endpoint", &self.inner.endpoint)
            .field("client_id", &self.inner.client_id)
            .field("client_auth", &self.inner.auth)
            .finish_non_exhaustive()
    }
}

impl IntrospectionResolver {
    /// A builder for the introspection `endpoint`, authenticating as `client_id` with
    /// `client_secret`.
    pub fn builder(
        endpoint: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> IntrospectionResolverBuilder {
        IntrospectionResolverBuilder {
            endpoint: endpoint.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            auth: ClientAuth::SecretBasic,
            audience: None,
            timeout: Duration::from_secs(5),
            retry_after: 5,
            cache_capacity: 10_000,
            max_cache_ttl: Duration::from_secs(60),
            max_response_bytes: 64 * 1024,
        }
    }
}

/// Configures an [`IntrospectionResolver`]: infallible `with_*` setters, then
/// [`build`](Self::build).
#[must_use]
pub struct IntrospectionResolverBuilder {
    endpoint: String,
    client_id: String,
    client_secret: String,
    auth: ClientAuth,
    audience: Option<String>,
    timeout: Duration,
    retry_after: u32,
    cache_capacity: usize,
    max_cache_ttl: Duration,
    max_response_bytes: usize,
}

impl fmt::Debug for IntrospectionResolverBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionResolverBuilder")
            .field("endpoint", &self.endpoint)
            .field("client_id", &self.client_id)
            .field("client_auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl IntrospectionResolverBuilder {
    /// The client authentication method (default [`ClientAuth::SecretBasic`]).
    pub const fn with_client_auth(mut self, auth: ClientAuth) -> Self {
        self.auth = auth;
        self
    }

    /// Refuse active tokens whose `aud` does not hold `audience` (this resource's identifier).
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Timeout of each introspection request (default 5 s).
    pub const fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// `Retry-After` seconds of the 503 when the endpoint fails (default 5).
    pub const fn with_retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = seconds;
        self
    }

    /// The most cached active results (default 10 000); 0 turns the cache off.
    pub const fn with_cache_capacity(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// The longest an active result is cached (default 60 s), never past the token's `exp`:
    /// how long a revoked token may still be accepted.
    pub const fn with_max_cache_ttl(mut self, ttl: Duration) -> Self {
        self.max_cache_ttl = ttl;
        self
    }

    /// The largest introspection response, in bytes (default 64 KiB).
    pub const fn with_max_response_bytes(mut self, max: usize) -> Self {
        self.max_response_bytes = max;
        self
    }

    /// The resolver.
    ///
    /// # Errors
    ///
    /// [`IntrospectionConfigError`]: an endpoint that is not an `https` URL (`http` only on a
    /// loopback host), or no HTTP client.
    pub fn build(self) -> Result<IntrospectionResolver, IntrospectionConfigError> {
        if remote::secure_url(&self.endpoint).is_none() {
            return Err(IntrospectionConfigError::Endpoint);
        }
        let http =
            remote::http_client(self.timeout).map_err(|_| IntrospectionConfigError::HttpClient)?;
        let basic = {
            let id: String = form_urlencoded::byte_serialize(self.client_id.as_bytes()).collect();
            let secret: String =
                form_urlencoded::byte_serialize(self.client_secret.as_bytes()).collect();
            std::format!(
                "Basic {}",
                Base64::encode_string(std::format!("{id}:{secret}").as_bytes())
            )
        };
        Ok(IntrospectionResolver {
            inner: Arc::new(Inner {
                http,
                endpoint: self.endpoint,
                client_id: self.client_id,
                client_secret: self.client_secret,
                basic,
                auth: self.auth,
                audience: self.audience,
                retry_after: self.retry_after,
                cache_capacity: self.cache_capacity,
                max_cache_ttl: self.max_cache_ttl,
                max_response_bytes: self.max_response_bytes,
                cache: Mutex::new(HashMap::new()),
            }),
        })
    }
}

/// An [`IntrospectionResolverBuilder`] that cannot build.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntrospectionConfigError {
    /// The endpoint is not an `https` URL (or `http` on a loopback host).
    Endpoint,
    /// The HTTP client could not be made.
    HttpClient,
}

impl fmt::Display for IntrospectionConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Endpoint => "the introspection endpoint is not an https URL",
            Self::HttpClient => "the HTTP client could not be built",
        })
    }
}

impl core::error::Error for IntrospectionConfigError {}

impl TokenResolver for IntrospectionResolver {
    type Claims = IntrospectedToken;

    fn resolve(
        &self,
        access_token: &str,
    ) -> impl Future<Output = TokenStatus<IntrospectedToken>> + Send {
        let inner = Arc::clone(&self.inner);
        let token = String::from(access_token);
        async move { inner.resolve(token).await }
    }
}

struct Inner {
    http: reqwest::Client,
    endpoint: String,
    client_id: String,
    client_secret: String,
    /// The `Authorization` value for `client_secret_basic`.
    basic: String,
    auth: ClientAuth,
    audience: Option<String>,
    retry_after: u32,
    cache_capacity: usize,
    max_cache_ttl: Duration,
    max_response_bytes: usize,
    /// Active results by the token's SHA-256 (so the cache holds no tokens).
    cache: Mutex<HashMap<[u8; 32], Cached>>,
}

#[derive(Clone)]
struct Cached {
    jkt: Option<Thumbprint>,
    token: IntrospectedToken,
    until: Instant,
}

impl Inner {
    async fn resolve(&self, token: String) -> TokenStatus<IntrospectedToken> {
        let key = *AccessTokenHash::of(&token).as_bytes();
        let now = Instant::now();
        if let Some(hit) = remote::lock(&self.cache)
            .get(&key)
            .filter(|hit| now < hit.until)
        {
            return status(hit.jkt, hit.token.clone());
        }
        let Ok(claims) = self.introspect(token).await else {
            return TokenStatus::Unavailable {
                retry_after: self.retry_after,
            };
        };
        let (jkt, introspected) = match self.check(claims) {
            Ok(checked) => checked,
            Err(description) => return TokenStatus::Invalid(description),
        };
        self.remember(key, jkt, &introspected);
        status(jkt, introspected)
    }

    /// Posts the token; the response object (RFC 7662 section 2.2).
    async fn introspect(&self, token: String) -> Result<Map<String, Value>, FetchError> {
        let mut request = self
            .http
            .post(&self.endpoint)
            .header(http::header::ACCEPT, "application/json")
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            );
        // Built before the first await: the serializer is not `Send`.
        let body = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("token", &token);
            form.append_pair("token_type_hint", "access_token");
            match self.auth {
                ClientAuth::SecretBasic => {
                    request = request.header(http::header::AUTHORIZATION, &self.basic);
                }
                ClientAuth::SecretPost => {
                    form.append_pair("client_id", &self.client_id);
                    form.append_pair("client_secret", &self.client_secret);
                }
            }
            form.finish()
        };
        let response = request.body(body).send().await;
        let body = remote::read_body(response, self.max_response_bytes).await?;
        remote::json_object(&body)
    }

    /// The binding and claims of an active, current token for this resource.
    fn check(
        &self,
        claims: Map<String, Value>,
    ) -> Result<(Option<Thumbprint>, IntrospectedToken), &'static str> {
        if claims.get("active") != Some(&Value::Bool(true)) {
            return Err("inactive access token");
        }
        let token = IntrospectedToken::new(claims);
        let now = remote::unix_now();
        if token.expires_at.is_some_and(|exp| exp <= now) {
            return Err("access token expired");
        }
        if remote::numeric_date(token.claims.get("nbf")).is_some_and(|nbf| nbf > now) {
            return Err("access token not yet valid");
        }
        if let Some(audience) = &self.audience
            && !token.audience.iter().any(|aud| aud == audience)
        {
            return Err("access token for another audience");
        }
        let jkt = remote::bound_key(&token.claims)?;
        let dpop = token
            .token_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("DPoP"));
        if dpop && jkt.is_none() {
            return Err("DPoP token without cnf.jkt");
        }
        Ok((jkt, token))
    }

    /// Caches an active result until the earlier of its `exp` and the maximum TTL.
    fn remember(&self, key: [u8; 32], jkt: Option<Thumbprint>, token: &IntrospectedToken) {
        if self.cache_capacity == 0 {
            return;
        }
        let ttl = match token.expires_at {
            Some(exp) => {
                let left = Duration::from_secs(exp.saturating_sub(remote::unix_now()));
                left.min(self.max_cache_ttl)
            }
            None => self.max_cache_ttl,
        };
        let now = Instant::now();
        let mut cache = remote::lock(&self.cache);
        if cache.len() >= self.cache_capacity {
            cache.retain(|_, entry| now < entry.until);
        }
        if cache.len() < self.cache_capacity {
            cache.insert(
                key,
                Cached {
                    jkt,
                    token: token.clone(),
                    until: now + ttl,
                },
            );
        }
    }
}

/// `resolver`'s check of an introspection response object, for the fuzz targets.
#[cfg(feature = "__fuzzing-internals")]
pub(crate) fn check_response(
    resolver: &IntrospectionResolver,
    claims: Map<String, Value>,
) -> Result<(Option<Thumbprint>, IntrospectedToken), &'static str> {
    resolver.inner.check(claims)
}

fn status(jkt: Option<Thumbprint>, claims: IntrospectedToken) -> TokenStatus<IntrospectedToken> {
    match jkt {
        Some(jkt) => TokenStatus::Bound { jkt, claims },
        None => TokenStatus::Unbound { claims },
    }
}
