//! JWT access tokens (RFC 9068), validated with the `jsonwebtoken` crate against the issuer's
//! JWKS.

use core::fmt;
use core::future::Future;
use core::marker::PhantomData;
use core::time::Duration;
use std::string::String;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Instant;
use std::vec::Vec;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{DecodingKey, Validation};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::remote::{self, FetchError};
use crate::{TokenResolver, TokenStatus};

/// A signature algorithm a [`JwtResolver`] may accept (RFC 7518 section 3.1).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JwtAlgorithm {
    /// ECDSA with P-256 and SHA-256.
    Es256,
    /// ECDSA with P-384 and SHA-384.
    Es384,
    /// RSASSA-PSS with SHA-256.
    Ps256,
    /// RSASSA-PSS with SHA-384.
    Ps384,
    /// RSASSA-PSS with SHA-512.
    Ps512,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 9068 section 4: every resource server supports it).
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    Rs512,
}

impl JwtAlgorithm {
    /// What [`JwtResolverBuilder`] accepts unless told otherwise: RS256, PS256, ES256, ES384.
    pub const DEFAULT: &'static [Self] = &[Self::Rs256, Self::Ps256, Self::Es256, Self::Es384];

    /// The JOSE name (`RS256`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::Ps256 => "PS256",
            Self::Ps384 => "PS384",
            Self::Ps512 => "PS512",
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
        }
    }

    const fn to_jsonwebtoken(self) -> jsonwebtoken::Algorithm {
        use jsonwebtoken::Algorithm as A;
        match self {
            Self::Es256 => A::ES256,
            Self::Es384 => A::ES384,
            Self::Ps256 => A::PS256,
            Self::Ps384 => A::PS384,
            Self::Ps512 => A::PS512,
            Self::Rs256 => A::RS256,
            Self::Rs384 => A::RS384,
            Self::Rs512 => A::RS512,
        }
    }
}

/// The claims of a validated RFC 9068 access token, for the handler (`Extension<AccessTokenClaims>`).
/// `claims` holds every claim, the standard ones included.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub struct AccessTokenClaims {
    /// `iss`.
    pub issuer: String,
    /// `sub`.
    pub subject: Option<String>,
    /// `aud`, one or more.
    pub audience: Vec<String>,
    /// `exp`, seconds since the Unix epoch.
    pub expires_at: u64,
    /// `iat`.
    pub issued_at: Option<u64>,
    /// `jti`.
    pub jwt_id: Option<String>,
    /// `client_id` (RFC 9068 section 2.2).
    pub client_id: Option<String>,
    /// `scope`, space-separated.
    pub scope: Option<String>,
    /// All claims.
    pub claims: Map<String, Value>,
}

impl AccessTokenClaims {
    /// True when the space-separated `scope` holds `scope`.
    #[must_use]
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope
            .as_deref()
            .is_some_and(|scopes| scopes.split(' ').any(|s| s == scope))
    }
}

impl<'de> Deserialize<'de> for AccessTokenClaims {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let claims = Map::<String, Value>::deserialize(deserializer)?;
        Ok(Self {
            issuer: remote::string(&claims, "iss").ok_or_else(|| D::Error::missing_field("iss"))?,
            subject: remote::string(&claims, "sub"),
            audience: remote::audiences(&claims),
            expires_at: remote::numeric_date(claims.get("exp"))
                .ok_or_else(|| D::Error::missing_field("exp"))?,
            issued_at: remote::numeric_date(claims.get("iat")),
            jwt_id: remote::string(&claims, "jti"),
            client_id: remote::string(&claims, "client_id"),
            scope: remote::string(&claims, "scope"),
            claims,
        })
    }
}

/// A [`TokenResolver`] for JWT access tokens (RFC 9068): signature with a key from the
/// issuer's JWKS, `iss`, `aud`, `exp` and `nbf` (with leeway), an explicit algorithm allow-list,
/// and `typ` `at+jwt` are checked with the `jsonwebtoken` crate; `cnf.jkt` (RFC 9449 section
/// 6.1) gives the binding ([`TokenStatus::Bound`]), and a token without `cnf` is
/// [`TokenStatus::Unbound`] (the `Server`'s `BearerPolicy` decides). The handler gets the claims
/// as `Extension<T>` ([`AccessTokenClaims`] unless [`JwtResolverBuilder::with_claims`] says
/// otherwise).
///
/// Keys come from `jwks_uri`, or from the issuer's metadata (RFC 8414
/// `/.well-known/oauth-authorization-server`, then `/.well-known/openid-configuration`). They
/// are cached; a token with an unknown `kid` makes the resolver fetch the JWKS again at most
/// once per [refresh interval](JwtResolverBuilder::with_refresh_interval), never on every
/// request. When the JWKS cannot be fetched and no keys are cached, the answer is
/// [`TokenStatus::Unavailable`] (503).
///
/// ```
/// use dpop_axum::jwt::JwtResolver;
///
/// let resolver = JwtResolver::builder("https://as.example.com")
///     .with_audience("https://api.example.com")
///     .build()?;
/// # let _ = resolver;
/// # Ok::<(), dpop_axum::jwt::JwtConfigError>(())
/// ```
pub struct JwtResolver<T = AccessTokenClaims> {
    inner: Arc<Inner>,
    claims: PhantomData<fn() -> T>,
}

impl<T> Clone for JwtResolver<T> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            claims: PhantomData,
        }
    }
}

impl<T> fmt::Debug for JwtResolver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtResolver")
            .field("issuer", &self.inner.issuer)
            .field("audiences", &self.inner.audiences)
            .field(
                "algorithms",
                &self
                    .inner
                    .validations
                    .iter()
                    .map(|(alg, _)| alg)
                    .collect::<Vec<_>>(),
            )
            .field("require_typ", &self.inner.require_typ)
            .finish_non_exhaustive()
    }
}

impl JwtResolver {
    /// A builder for tokens issued by `issuer` (the exact `iss` value, as in the issuer's
    /// metadata).
    pub fn builder(issuer: impl Into<String>) -> JwtResolverBuilder {
        JwtResolverBuilder {
            issuer: issuer.into(),
            audiences: Vec::new(),
            jwks_uri: None,
            algorithms: JwtAlgorithm::DEFAULT.to_vec(),
            leeway: Duration::from_secs(30),
            require_typ: true,
            refresh_interval: Duration::from_secs(60),
            retry_interval: Duration::from_secs(5),
            max_age: Duration::from_secs(3600),
            timeout: Duration::from_secs(5),
            max_keys: 32,
            max_jwks_bytes: 64 * 1024,
            claims: PhantomData,
        }
    }
}

/// Configures a [`JwtResolver`]: infallible `with_*` setters, then [`build`](Self::build).
#[must_use]
pub struct JwtResolverBuilder<T = AccessTokenClaims> {
    issuer: String,
    audiences: Vec<String>,
    jwks_uri: Option<String>,
    algorithms: Vec<JwtAlgorithm>,
    leeway: Duration,
    require_typ: bool,
    refresh_interval: Duration,
    retry_interval: Duration,
    max_age: Duration,
    timeout: Duration,
    max_keys: usize,
    max_jwks_bytes: usize,
    claims: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for JwtResolverBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtResolverBuilder")
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("jwks_uri", &self.jwks_uri)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

impl<T> JwtResolverBuilder<T> {
    /// An accepted `aud` value (this resource's identifier, RFC 8707); call once per value. At
    /// least one is required (RFC 9068 section 4).
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// The JWKS address, instead of discovering it from the issuer's metadata.
    pub fn with_jwks_uri(mut self, jwks_uri: impl Into<String>) -> Self {
        self.jwks_uri = Some(jwks_uri.into());
        self
    }

    /// The accepted algorithms (default [`JwtAlgorithm::DEFAULT`]). Never `none` or HMAC.
    pub fn with_algorithms(mut self, algorithms: &[JwtAlgorithm]) -> Self {
        self.algorithms = algorithms.to_vec();
        self
    }

    /// Clock tolerance for `exp` and `nbf` (default 30 s).
    pub const fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Whether the header's `typ` must be `at+jwt` (RFC 9068 section 4; case-insensitive,
    /// `application/` prefix allowed). Default `true`; turn it off only for an authorization
    /// server that does not set it, and only if it issues no other JWTs with the same key.
    pub const fn with_typ_required(mut self, required: bool) -> Self {
        self.require_typ = required;
        self
    }

    /// The shortest time between two JWKS fetches caused by unknown `kid`s (default 60 s):
    /// the first token with an unknown `kid` makes the resolver fetch the JWKS (a key
    /// rotation), later ones within the interval are refused without a fetch.
    pub const fn with_refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh_interval = interval;
        self
    }

    /// The shortest time between two JWKS fetches after a failed one (default 5 s); also the
    /// `Retry-After` of the 503.
    pub const fn with_retry_interval(mut self, interval: Duration) -> Self {
        self.retry_interval = interval;
        self
    }

    /// How long a fetched JWKS is used before it is fetched again (default 1 h). If that
    /// fetch fails, the old keys stay in use.
    pub const fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Timeout of each request to the authorization server (default 5 s).
    pub const fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The most keys a JWKS may hold (default 32); a larger one is refused.
    pub const fn with_max_keys(mut self, max_keys: usize) -> Self {
        self.max_keys = max_keys;
        self
    }

    /// The largest JWKS (and metadata) document, in bytes (default 64 KiB).
    pub const fn with_max_jwks_bytes(mut self, max_bytes: usize) -> Self {
        self.max_jwks_bytes = max_bytes;
        self
    }

    /// Hands the handler the claims as `U` (any `DeserializeOwned` type) instead.
    pub fn with_claims<U>(self) -> JwtResolverBuilder<U> {
        JwtResolverBuilder {
            issuer: self.issuer,
            audiences: self.audiences,
            jwks_uri: self.jwks_uri,
            algorithms: self.algorithms,
            leeway: self.leeway,
            require_typ: self.require_typ,
            refresh_interval: self.refresh_interval,
            retry_interval: self.retry_interval,
            max_age: self.max_age,
            timeout: self.timeout,
            max_keys: self.max_keys,
            max_jwks_bytes: self.max_jwks_bytes,
            claims: PhantomData,
        }
    }

    /// The resolver.
    ///
    /// # Errors
    ///
    /// [`JwtConfigError`]: no audience, no algorithm, an issuer or JWKS address that is not an
    /// `https` URL (`http` only for a loopback host), or no HTTP client.
    pub fn build(self) -> Result<JwtResolver<T>, JwtConfigError> {
        if self.audiences.is_empty() {
            return Err(JwtConfigError::NoAudience);
        }
        if self.algorithms.is_empty() {
            return Err(JwtConfigError::NoAlgorithm);
        }
        let issuer = remote::secure_url(&self.issuer).ok_or(JwtConfigError::Issuer)?;
        let jwks_uri = match &self.jwks_uri {
            Some(uri) => Some(remote::secure_url(uri).ok_or(JwtConfigError::JwksUri)?),
            None => None,
        };
        let http = remote::http_client(self.timeout).map_err(|_| JwtConfigError::HttpClient)?;
        let algorithms: Vec<_> = self
            .algorithms
            .iter()
            .map(|alg| alg.to_jsonwebtoken())
            .collect();
        let mut validation = Validation::new(algorithms[0]);
        validation.leeway = self.leeway.as_secs();
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&self.audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        // One validation per algorithm: jsonwebtoken wants a single key family in each.
        let validations = algorithms
            .into_iter()
            .map(|alg| {
                let mut validation = validation.clone();
                validation.algorithms = std::vec![alg];
                (alg, validation)
            })
            .collect();
        let metadata = if jwks_uri.is_some() {
            Vec::new()
        } else {
            metadata_urls(&issuer)
        };
        Ok(JwtResolver {
            inner: Arc::new(Inner {
                issuer: self.issuer.clone(),
                audiences: self.audiences,
                validations,
                require_typ: self.require_typ,
                jwks: Jwks {
                    http,
                    jwks_uri: Mutex::new(jwks_uri.map(String::from)),
                    metadata,
                    issuer: self.issuer,
                    refresh_interval: self.refresh_interval,
                    retry_interval: self.retry_interval,
                    max_age: self.max_age,
                    max_keys: self.max_keys,
                    max_bytes: self.max_jwks_bytes,
                    state: Mutex::new(State::default()),
                    fetching: tokio::sync::Mutex::new(()),
                },
            }),
            claims: PhantomData,
        })
    }
}

/// A [`JwtResolverBuilder`] that cannot build.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwtConfigError {
    /// The HTTP client could not be made (no TLS backend).
    HttpClient,
    /// The issuer is not an `https` URL (or `http` on a loopback host).
    Issuer,
    /// The JWKS address is not an `https` URL (or `http` on a loopback host).
    JwksUri,
    /// No algorithm is accepted.
    NoAlgorithm,
    /// No audience is configured.
    NoAudience,
}

impl fmt::Display for JwtConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::HttpClient => "the HTTP client could not be built",
            Self::Issuer => "the issuer is not an https URL",
            Self::JwksUri => "the JWKS address is not an https URL",
            Self::NoAlgorithm => "no algorithm accepted",
            Self::NoAudience => "no audience configured",
        })
    }
}

impl core::error::Error for JwtConfigError {}

impl<T> TokenResolver for JwtResolver<T>
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Claims = T;

    fn resolve(&self, access_token: &str) -> impl Future<Output = TokenStatus<T>> + Send {
        let inner = Arc::clone(&self.inner);
        let token = String::from(access_token);
        async move {
            let claims = match inner.validate(&token).await {
                Ok(claims) => claims,
                Err(status) => return status,
            };
            let jkt = match remote::bound_key(&claims) {
                Ok(jkt) => jkt,
                Err(description) => return TokenStatus::Invalid(description),
            };
            let Ok(claims) = T::deserialize(Value::Object(claims)) else {
                return TokenStatus::Invalid("access token claims of the wrong shape");
            };
            match jkt {
                Some(jkt) => TokenStatus::Bound { jkt, claims },
                None => TokenStatus::Unbound { claims },
            }
        }
    }
}

struct Inner {
    issuer: String,
    audiences: Vec<String>,
    /// The accepted algorithms, each with its validation.
    validations: Vec<(jsonwebtoken::Algorithm, Validation)>,
    require_typ: bool,
    jwks: Jwks,
}

impl Inner {
    /// The validated claims, or what to answer.
    async fn validate<T>(&self, token: &str) -> Result<Map<String, Value>, TokenStatus<T>> {
        let Ok(header) = jsonwebtoken::decode_header(token) else {
            return Err(TokenStatus::Invalid("malformed access token"));
        };
        let Some((_, validation)) = self.validations.iter().find(|(alg, _)| *alg == header.alg)
        else {
            return Err(TokenStatus::Invalid("access token algorithm not accepted"));
        };
        if self.require_typ && !header.typ.as_deref().is_some_and(is_at_jwt) {
            return Err(TokenStatus::Invalid("access token typ is not at+jwt"));
        }
        let kid = header.kid.as_deref();
        let keys = self.jwks.current().await.map_err(unavailable)?;
        let mut candidates = keys.matching(kid, header.alg);
        let keys_after;
        if candidates.is_empty() {
            // An unknown kid: maybe the keys were rotated. At most one fetch per interval.
            let (keys, failed) = self.jwks.refresh(Why::UnknownKid).await;
            keys_after = keys.ok_or_else(|| unavailable(failed.unwrap_or(1)))?;
            candidates = keys_after.matching(kid, header.alg);
            if candidates.is_empty() {
                return Err(match failed {
                    Some(retry_after) => unavailable(retry_after),
                    None => TokenStatus::Invalid("unknown signing key"),
                });
            }
        }
        let mut outcome = Err(TokenStatus::Invalid("invalid access token signature"));
        for key in candidates {
            match jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, validation) {
                Ok(data) => return Ok(data.claims),
                Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature) => {}
                Err(e) => outcome = Err(TokenStatus::Invalid(describe(e.kind()))),
            }
        }
        outcome
    }
}

fn unavailable<T>(retry_after: u32) -> TokenStatus<T> {
    TokenStatus::Unavailable { retry_after }
}

/// A static description of why `jsonwebtoken` refused a token.
const fn describe(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ExpiredSignature => "access token expired",
        ErrorKind::ImmatureSignature => "access token not yet valid",
        ErrorKind::InvalidIssuer => "access token from another issuer",
        ErrorKind::InvalidAudience => "access token for another audience",
        ErrorKind::MissingRequiredClaim(_) => "access token lacks a required claim",
        ErrorKind::InvalidClaimFormat(_) => "malformed access token claim",
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
            "access token algorithm not accepted"
        }
        ErrorKind::InvalidSignature => "invalid access token signature",
        _ => "invalid access token",
    }
}

/// `at+jwt`, in any case, with or without `application/` (RFC 9068 section 2.1, RFC 7515
/// section 4.1.9).
fn is_at_jwt(typ: &str) -> bool {
    let typ = match typ.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &typ[12..],
        _ => typ,
    };
    typ.eq_ignore_ascii_case("at+jwt")
}

/// Where the issuer's metadata may be: RFC 8414 section 3.1 (the well-known path before the
/// issuer's path), then `OpenID` Connect Discovery 1.0 section 4 (after it).
fn metadata_urls(issuer: &reqwest::Url) -> Vec<String> {
    let origin = issuer.origin().ascii_serialization();
    let path = issuer.path().trim_end_matches('/');
    std::vec![
        std::format!("{origin}/.well-known/oauth-authorization-server{path}"),
        std::format!("{origin}{path}/.well-known/openid-configuration"),
    ]
}

/// The issuer's signing keys, fetched when needed.
struct Jwks {
    http: reqwest::Client,
    /// Configured, or discovered (then kept).
    jwks_uri: Mutex<Option<String>>,
    /// The metadata addresses to try when there is no `jwks_uri`.
    metadata: Vec<String>,
    /// The issuer the metadata must name.
    issuer: String,
    refresh_interval: Duration,
    retry_interval: Duration,
    max_age: Duration,
    max_keys: usize,
    max_bytes: usize,
    state: Mutex<State>,
    /// Held during a fetch, so that concurrent requests cause one.
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    keys: Option<Arc<KeySet>>,
    /// The last successful fetch.
    fetched_at: Option<Instant>,
    /// The last fetch, if it failed.
    failed_at: Option<Instant>,
    /// The last fetch caused by an unknown `kid`.
    kid_refetch_at: Option<Instant>,
}

/// Why the JWKS is fetched.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Why {
    /// No keys yet, or keys older than the maximum age.
    Load,
    /// A token names a `kid` the cached keys do not have.
    UnknownKid,
}

struct KeySet {
    keys: Vec<Key>,
}

struct Key {
    kid: Option<String>,
    /// The JWK's `alg`, when it names one.
    alg: Option<jsonwebtoken::Algorithm>,
    family: jsonwebtoken::AlgorithmFamily,
    key: DecodingKey,
}

impl KeySet {
    /// The keys that may have signed a token with this `kid` and `alg`: same `kid` (every key
    /// when the token has none), same key type, and the JWK's own `alg` when it has one.
    fn matching(&self, kid: Option<&str>, alg: jsonwebtoken::Algorithm) -> Vec<&Key> {
        self.keys
            .iter()
            .filter(|key| kid.is_none() || key.kid.as_deref() == kid)
            .filter(|key| key.family == alg.family())
            .filter(|key| key.alg.is_none_or(|own| own == alg))
            .collect()
    }
}

impl Jwks {
    /// The cached keys, fetched first when there are none or they are older than `max_age`
    /// (then, if the fetch fails, the old ones). `Err(retry_after)` when there are none.
    async fn current(&self) -> Result<Arc<KeySet>, u32> {
        {
            let state = remote::lock(&self.state);
            if let (Some(keys), Some(at)) = (&state.keys, state.fetched_at)
                && at.elapsed() < self.max_age
            {
                return Ok(Arc::clone(keys));
            }
        }
        let (keys, failed) = self.refresh(Why::Load).await;
        keys.ok_or_else(|| failed.unwrap_or(1))
    }

    /// Fetches the JWKS once for all concurrent callers, unless it need not or may not be:
    /// never within the retry interval after a failed attempt; for [`Why::UnknownKid`], at most
    /// once per refresh interval; for [`Why::Load`], only when the keys are missing or older
    /// than the maximum age. Returns the keys then cached, and `Some(retry_after)` when the
    /// last attempt failed.
    async fn refresh(&self, why: Why) -> (Option<Arc<KeySet>>, Option<u32>) {
        let _fetching = self.fetching.lock().await;
        {
            let state = remote::lock(&self.state);
            if let Some(at) = state.failed_at {
                let elapsed = at.elapsed();
                if elapsed < self.retry_interval {
                    let retry = retry_after(self.retry_interval - elapsed);
                    return (state.keys.clone(), Some(retry));
                }
            }
            let not_due = match why {
                Why::Load => {
                    state.keys.is_some()
                        && state
                            .fetched_at
                            .is_some_and(|at| at.elapsed() < self.max_age)
                }
                Why::UnknownKid => state
                    .kid_refetch_at
                    .is_some_and(|at| at.elapsed() < self.refresh_interval),
            };
            if not_due && state.failed_at.is_none() {
                return (state.keys.clone(), None);
            }
        }
        let fetched = self.fetch().await;
        let mut state = remote::lock(&self.state);
        let now = Instant::now();
        if why == Why::UnknownKid {
            state.kid_refetch_at = Some(now);
        }
        match fetched {
            Ok(keys) => {
                state.keys = Some(Arc::new(keys));
                state.fetched_at = Some(now);
                state.failed_at = None;
                (state.keys.clone(), None)
            }
            Err(_) => {
                state.failed_at = Some(now);
                (state.keys.clone(), Some(retry_after(self.retry_interval)))
            }
        }
    }

    async fn fetch(&self) -> Result<KeySet, FetchError> {
        let configured = remote::lock(&self.jwks_uri).clone();
        let uri = match configured {
            Some(uri) => uri,
            None => {
                let uri = self.discover().await?;
                *remote::lock(&self.jwks_uri) = Some(uri.clone());
                uri
            }
        };
        let body = remote::read_body(self.http.get(&uri).send().await, self.max_bytes).await?;
        let jwks = remote::json_object(&body)?;
        let Some(Value::Array(entries)) = jwks.get("keys") else {
            return Err(FetchError::Malformed);
        };
        if entries.len() > self.max_keys {
            return Err(FetchError::TooLarge);
        }
        let keys = entries.iter().filter_map(key).collect();
        Ok(KeySet { keys })
    }

    /// `jwks_uri` from the first metadata document that has one and names our issuer (RFC
    /// 8414 section 3.3).
    async fn discover(&self) -> Result<String, FetchError> {
        let mut error = FetchError::Unreachable;
        for url in &self.metadata {
            let body =
                match remote::read_body(self.http.get(url).send().await, self.max_bytes).await {
                    Ok(body) => body,
                    Err(e) => {
                        error = e;
                        continue;
                    }
                };
            let metadata = remote::json_object(&body)?;
            let issuer_matches = metadata
                .get("issuer")
                .and_then(Value::as_str)
                .is_some_and(|issuer| issuer == self.issuer);
            let jwks_uri = metadata.get("jwks_uri").and_then(Value::as_str);
            match jwks_uri.and_then(remote::secure_url) {
                Some(uri) if issuer_matches => return Ok(String::from(uri)),
                _ => error = FetchError::Malformed,
            }
        }
        Err(error)
    }
}

/// A usable signing key from a JWKS entry: not an encryption key, not a symmetric key.
fn key(entry: &Value) -> Option<Key> {
    if entry.get("use").is_some_and(|usage| usage != "sig") {
        return None;
    }
    let jwk: Jwk = serde_json::from_value(entry.clone()).ok()?;
    let family = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => jsonwebtoken::AlgorithmFamily::Rsa,
        AlgorithmParameters::EllipticCurve(_) => jsonwebtoken::AlgorithmFamily::Ec,
        _ => return None,
    };
    let alg = match entry.get("alg") {
        None => None,
        Some(alg) => Some(alg.as_str()?.parse().ok()?),
    };
    Some(Key {
        kid: jwk.common.key_id.clone(),
        alg,
        family,
        key: DecodingKey::from_jwk(&jwk).ok()?,
    })
}

/// What [`key`] keeps of a JWKS entry (`kid`, `alg`, family), for the fuzz targets.
#[cfg(feature = "__fuzzing-internals")]
pub(crate) fn key_summary(entry: &Value) -> Option<(Option<String>, Option<String>, &'static str)> {
    let key = key(entry)?;
    let family = match key.family {
        jsonwebtoken::AlgorithmFamily::Rsa => "RSA",
        jsonwebtoken::AlgorithmFamily::Ec => "EC",
        _ => "other",
    };
    Some((key.kid, key.alg.map(|alg| format!("{alg:?}")), family))
}

fn retry_after(wait: Duration) -> u32 {
    u32::try_from(wait.as_secs().max(1)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typ() {
        for ok in [
            "at+jwt",
            "AT+JWT",
            "application/at+jwt",
            "Application/At+Jwt",
        ] {
            assert!(is_at_jwt(ok), "{ok}");
        }
        for bad in [
            "JWT",
            "at+jwt ",
            "application/jwt",
            "dpop+jwt",
            "",
            "application/",
        ] {
            assert!(!is_at_jwt(bad), "{bad}");
        }
    }

    #[test]
    fn metadata_addresses() {
        let issuer = reqwest::Url::parse("https://as.example.com/tenant/").unwrap();
        assert_eq!(
            metadata_urls(&issuer),
            [
                "https://as.example.com/.well-known/oauth-authorization-server/tenant",
                "https://as.example.com/tenant/.well-known/openid-configuration"
            ]
        );
        let issuer = reqwest::Url::parse("https://as.example.com").unwrap();
        assert_eq!(
            metadata_urls(&issuer),
            [
                "https://as.example.com/.well-known/oauth-authorization-server",
                "https://as.example.com/.well-known/openid-configuration"
            ]
        );
    }
}
