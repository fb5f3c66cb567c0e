//! The cache: one `SET <prefix><hex key> 1 NX EXAT <expiry>` per proof (RFC 9449 section 11.1).

use core::fmt;
use core::future::Future;
use core::time::Duration;
use std::sync::Arc;

use dpop_core::{Thumbprint, UnixTime};
use dpop_std::replay::{ReplayCache, ReplayError, ReplayKey};
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncConnectionConfig, Client, RedisError, Value};

use crate::error::{ConnectError, ConnectErrorKind};

/// The default key prefix: keys look like `dpop:jti:<64 hex digits>`.
pub const DEFAULT_KEY_PREFIX: &str = "dpop:jti:";

/// The default bound on one [`remember`](ReplayCache::remember) call, including any wait for a
/// reconnection: 250 ms. A Redis on the same network answers in well under a millisecond.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(250);

/// The default bound on [`RedisReplayCacheBuilder::connect`] and on each (re)connection
/// attempt: 1 s, which leaves room for a TLS handshake.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The default expiry margin: the verifier's default `leeway` (60 s). `EXAT` is read on the
/// Redis server's clock; the verifiers already tolerate clocks that far apart, so entries are
/// kept at least that long past their expiry, and a Redis whose clock runs up to a leeway ahead
/// cannot drop an entry while its proof can still pass verification.
pub const DEFAULT_EXPIRY_MARGIN: u64 = dpop_core::consts::DEFAULT_LEEWAY;

/// The longest pause between two reconnection attempts, so that requests succeed again about a
/// second after Redis comes back (the `redis` crate's backoff otherwise grows to 6.4 s).
const RECONNECT_MAX_DELAY: Duration = Duration::from_secs(1);
/// [`RECONNECT_MAX_DELAY`] in milliseconds, as the cluster client takes it.
#[cfg(feature = "cluster")]
const RECONNECT_MAX_DELAY_MS: u64 = 1_000;

/// A [`ReplayCache`] shared by every server instance through one Redis.
///
/// Each [`remember`](ReplayCache::remember) is a single `SET key 1 NX EXAT expiry`: Redis
/// checks and inserts atomically, so of any number of concurrent requests carrying the same
/// proof, on any number of instances, exactly one is accepted.
///
/// `C` is the connection: by default a [`ConnectionManager`], which reconnects by itself after
/// Redis restarts. Any other `redis` async connection that is `Clone + Send + Sync` works too,
/// such as a cluster connection; see [`RedisReplayCacheBuilder::build`] and the crate docs.
///
/// Cloning is cheap and the clones share the connection.
pub struct RedisReplayCache<C = ConnectionManager> {
    connection: C,
    key_prefix: Arc<str>,
    timeout: Duration,
    expiry_margin: u64,
}

impl RedisReplayCache {
    /// Connects to the Redis at `url` (`redis://[user:password@]host[:port][/db]`) with the
    /// default settings, and checks with a `PING` that it answers.
    ///
    /// Shorthand for `RedisReplayCache::builder().connect(url)`.
    ///
    /// # Errors
    ///
    /// See [`RedisReplayCacheBuilder::connect`].
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime.
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        RedisReplayCacheBuilder::new().connect(url).await
    }

    /// A builder, to change the key prefix, timeouts or expiry margin.
    pub fn builder() -> RedisReplayCacheBuilder {
        RedisReplayCacheBuilder::new()
    }
}

impl<C> RedisReplayCache<C>
where
    C: ConnectionLike + Clone + Send + Sync,
{
    /// A cache over an existing connection, with the default settings.
    ///
    /// Shorthand for `RedisReplayCache::builder().build(connection)`.
    pub fn from_connection(connection: C) -> Self {
        RedisReplayCacheBuilder::new().build(connection)
    }
}

impl<C> RedisReplayCache<C> {
    /// The Redis key under which `key` is stored: the prefix followed by the 64 lower-case hex
    /// digits of the replay key. The key is a SHA-256 digest, so the `jti` itself never reaches
    /// Redis.
    ///
    /// ```
    /// use dpop_redis::{RedisReplayCache, redis::aio::MultiplexedConnection};
    /// use dpop_std::replay::ReplayKey;
    ///
    /// # fn key_of(cache: &RedisReplayCache<MultiplexedConnection>) {
    /// let key = ReplayKey::from_bytes([0xab; 32]);
    /// assert_eq!(cache.redis_key(&key), format!("dpop:jti:{}", "ab".repeat(32)));
    /// # }
    /// ```
    #[must_use]
    pub fn redis_key(&self, key: &ReplayKey) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(self.key_prefix.len() + 64);
        out.push_str(&self.key_prefix);
        for byte in key.as_bytes() {
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        out
    }

    /// The key prefix.
    #[must_use]
    pub fn key_prefix(&self) -> &str {
        &self.key_prefix
    }

    /// The bound on one [`remember`](ReplayCache::remember) call.
    #[must_use]
    pub const fn timeout(&self) -> Duration {
        self.timeout
    }

    /// When Redis drops the entry for a proof remembered at `now` with `expires_at`:
    /// `max(expires_at, now + 1)` plus the expiry margin. This is the `EXAT` argument.
    #[must_use]
    pub fn expire_at(&self, expires_at: UnixTime, now: UnixTime) -> UnixTime {
        expires_at
            .max(now.saturating_add(1))
            .saturating_add(self.expiry_margin)
    }
}

impl<C> ReplayCache for RedisReplayCache<C>
where
    C: ConnectionLike + Clone + Send + Sync,
{
    /// Runs `SET <prefix><hex key> 1 NX EXAT <expiry>`, bounded by the timeout. `scope` is not
    /// used: this cache has no per-key quota (see the crate docs).
    ///
    /// # Errors
    ///
    /// - [`ReplayError::Replayed`] when the key is already in Redis.
    /// - [`ReplayError::CapacityExceeded`] when Redis refuses the write for lack of memory
    ///   (`OOM`, under `maxmemory-policy noeviction`).
    /// - [`ReplayError::Unavailable`] for everything else: no connection, a timeout, an
    ///   unexpected reply. The cache fails closed; it never accepts because Redis is down.
    fn remember(
        &self,
        key: &ReplayKey,
        _scope: &Thumbprint,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> impl Future<Output = Result<(), ReplayError>> + Send {
        let mut command = redis::cmd("SET");
        command
            .arg(self.redis_key(key))
            .arg(1)
            .arg("NX")
            .arg("EXAT")
            .arg(self.expire_at(expires_at, now).as_secs());
        let mut connection = self.connection.clone();
        let timeout = self.timeout;
        async move {
            match tokio::time::timeout(timeout, command.query_async::<Value>(&mut connection)).await
            {
                Ok(Ok(reply)) => interpret(&reply),
                Ok(Err(error)) => Err(classify(&error)),
                Err(_elapsed) => Err(ReplayError::Unavailable),
            }
        }
    }
}

impl<C: Clone> Clone for RedisReplayCache<C> {
    fn clone(&self) -> Self {
        Self {
            connection: self.connection.clone(),
            key_prefix: Arc::clone(&self.key_prefix),
            timeout: self.timeout,
            expiry_margin: self.expiry_margin,
        }
    }
}

impl<C> fmt::Debug for RedisReplayCache<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisReplayCache")
            .field("key_prefix", &self.key_prefix)
            .field("timeout", &self.timeout)
            .field("expiry_margin", &self.expiry_margin)
            .finish_non_exhaustive()
    }
}

/// Settings for a [`RedisReplayCache`], then [`connect`](Self::connect),
/// [`connect_lazy`](Self::connect_lazy) or [`build`](Self::build).
///
/// ```
/// use std::time::Duration;
/// use dpop_redis::RedisReplayCache;
///
/// let builder = RedisReplayCache::builder()
///     .with_key_prefix("auth:dpop:")
///     .with_timeout(Duration::from_millis(100))
///     .with_connect_timeout(Duration::from_millis(500))
///     .with_expiry_margin(5);
/// # drop(builder);
/// ```
#[must_use]
#[derive(Clone, Debug)]
pub struct RedisReplayCacheBuilder {
    key_prefix: String,
    timeout: Duration,
    connect_timeout: Duration,
    expiry_margin: u64,
}

impl Default for RedisReplayCacheBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl RedisReplayCacheBuilder {
    /// The defaults: [`DEFAULT_KEY_PREFIX`], [`DEFAULT_TIMEOUT`], [`DEFAULT_CONNECT_TIMEOUT`],
    /// [`DEFAULT_EXPIRY_MARGIN`] (the verifier's default leeway).
    pub fn new() -> Self {
        Self {
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            expiry_margin: DEFAULT_EXPIRY_MARGIN,
        }
    }

    /// The prefix of every key. Give each deployment (or each authorization server sharing a
    /// Redis) its own. On Redis Cluster, a hash tag in the prefix (`{dpop}:`) would put every
    /// key in one slot; leave braces out.
    pub fn with_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// The bound on one [`remember`](ReplayCache::remember) call, including any wait for a
    /// reconnection; past it the call fails with [`ReplayError::Unavailable`]. For connections
    /// made by [`connect`](Self::connect) and [`connect_lazy`](Self::connect_lazy) it is also
    /// the connection's own response timeout.
    pub const fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The bound on [`connect`](Self::connect) as a whole and on each later reconnection
    /// attempt.
    pub const fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Keeps every entry `secs` seconds past its `expires_at` (default
    /// [`DEFAULT_EXPIRY_MARGIN`], 60 s).
    ///
    /// `EXAT` is read on the Redis server's clock. If that clock runs ahead of the verifying
    /// servers' clocks, entries vanish early and a proof could be replayed in that last stretch
    /// of its lifetime; a margin as large as the worst expected skew closes the gap. The only
    /// cost is memory. With a verifier whose leeway is not the default, use
    /// [`with_expiry_margin_for`](Self::with_expiry_margin_for).
    pub const fn with_expiry_margin(mut self, secs: u64) -> Self {
        self.expiry_margin = secs;
        self
    }

    /// Sets the expiry margin to `verifier`'s leeway: the clock difference the deployment
    /// already tolerates.
    pub const fn with_expiry_margin_for(self, verifier: &dpop_core::Verifier<'_>) -> Self {
        self.with_expiry_margin(verifier.leeway())
    }

    /// Connects to the Redis at `url` through a [`ConnectionManager`], which reconnects on its
    /// own after a failure, and checks with a `PING` that the server answers.
    ///
    /// Use it at start-up, when a missing Redis should stop the service. To start without
    /// Redis and fail requests closed until it is reachable, use
    /// [`connect_lazy`](Self::connect_lazy).
    ///
    /// # Errors
    ///
    /// [`ConnectErrorKind::InvalidUrl`] for a bad URL; [`ConnectErrorKind::TimedOut`] when no
    /// answer came within the connect timeout; [`ConnectErrorKind::Unavailable`] when the
    /// connection was refused or the server answered with an error (such as a failed `AUTH`).
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime.
    pub async fn connect(self, url: &str) -> Result<RedisReplayCache, ConnectError> {
        let client = open(url)?;
        // One plain attempt first: the manager would retry a refused connection with backoff
        // until the deadline and report a timeout; an operator wants "refused" (or "AUTH
        // failed") at once.
        let probe_config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(self.connect_timeout));
        let attempt = async {
            let mut probe = client
                .get_multiplexed_async_connection_with_config(&probe_config)
                .await?;
            redis::cmd("PING").query_async::<Value>(&mut probe).await?;
            ConnectionManager::new_with_config(client.clone(), self.manager_config()).await
        };
        match tokio::time::timeout(self.connect_timeout, attempt).await {
            Ok(Ok(connection)) => Ok(self.build(connection)),
            Ok(Err(error)) if error.is_timeout() => {
                Err(ConnectError::new(ConnectErrorKind::TimedOut, Some(error)))
            }
            Ok(Err(error)) => Err(ConnectError::new(
                ConnectErrorKind::Unavailable,
                Some(error),
            )),
            Err(_elapsed) => Err(ConnectError::new(ConnectErrorKind::TimedOut, None)),
        }
    }

    /// Like [`connect`](Self::connect), but connects on first use. Until Redis answers, every
    /// [`remember`](ReplayCache::remember) fails with [`ReplayError::Unavailable`].
    ///
    /// # Errors
    ///
    /// [`ConnectErrorKind::InvalidUrl`] when the URL cannot be parsed.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime.
    pub fn connect_lazy(self, url: &str) -> Result<RedisReplayCache, ConnectError> {
        let client = open(url)?;
        let connection = ConnectionManager::new_lazy_with_config(client, self.manager_config())
            .map_err(|error| ConnectError::new(ConnectErrorKind::InvalidUrl, Some(error)))?;
        Ok(self.build(connection))
    }

    /// Connects to a Redis Cluster through any of its `nodes` (`redis://host:port/` URLs; the
    /// client learns the others from `CLUSTER SLOTS`), with this builder's settings, and checks
    /// with a `PING` routed to a primary that it answers.
    ///
    /// Each [`remember`](ReplayCache::remember) is one `SET ... NX EXAT` sent to the primary
    /// that owns the key's hash slot, so it stays atomic. The client follows `MOVED` and `ASK`
    /// redirections while slots migrate (the slot's source and target answer for the key
    /// between them, so a key present on either is found) and reconnects to primaries that come
    /// back or are replaced by failover; the call timeout bounds all of that, after which the
    /// call fails closed with [`ReplayError::Unavailable`]. While the cluster is down
    /// (`CLUSTERDOWN`) or a slot's primary is unreachable, calls for it fail closed too.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect): [`ConnectErrorKind::InvalidUrl`] for a bad URL or an
    /// empty list, [`ConnectErrorKind::TimedOut`], [`ConnectErrorKind::Unavailable`].
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime.
    #[cfg(feature = "cluster")]
    pub async fn connect_cluster<T: redis::IntoConnectionInfo>(
        self,
        nodes: impl IntoIterator<Item = T>,
    ) -> Result<RedisReplayCache<redis::cluster_async::ClusterConnection>, ConnectError> {
        let client = redis::cluster::ClusterClientBuilder::new(nodes)
            .connection_timeout(self.connect_timeout)
            .response_timeout(self.timeout)
            .max_retry_wait(RECONNECT_MAX_DELAY_MS)
            .build()
            .map_err(|error| ConnectError::new(ConnectErrorKind::InvalidUrl, Some(error)))?;
        let attempt = async {
            let mut connection = client.get_async_connection().await?;
            redis::cmd("PING")
                .query_async::<Value>(&mut connection)
                .await?;
            Ok::<_, RedisError>(connection)
        };
        match tokio::time::timeout(self.connect_timeout, attempt).await {
            Ok(Ok(connection)) => Ok(self.build(connection)),
            Ok(Err(error)) if error.is_timeout() => {
                Err(ConnectError::new(ConnectErrorKind::TimedOut, Some(error)))
            }
            Ok(Err(error)) => Err(ConnectError::new(
                ConnectErrorKind::Unavailable,
                Some(error),
            )),
            Err(_elapsed) => Err(ConnectError::new(ConnectErrorKind::TimedOut, None)),
        }
    }

    /// A cache over a connection made elsewhere: a [`ConnectionManager`] with settings of your
    /// own, a cluster connection, or a connection to the master a Sentinel names (see the crate
    /// docs). The cache clones `connection` for each call, so it should be a handle to a shared,
    /// multiplexed connection, as all of those are.
    ///
    /// Only the cache's own timeout applies here; set the connection's response timeout
    /// yourself if you want one.
    pub fn build<C>(self, connection: C) -> RedisReplayCache<C>
    where
        C: ConnectionLike + Clone + Send + Sync,
    {
        RedisReplayCache {
            connection,
            key_prefix: Arc::from(self.key_prefix),
            timeout: self.timeout,
            expiry_margin: self.expiry_margin,
        }
    }
}

impl RedisReplayCacheBuilder {
    /// Reconnection for the long run: each attempt bounded by the connect timeout, each reply
    /// by the call timeout, and at most [`RECONNECT_MAX_DELAY`] between attempts.
    fn manager_config(&self) -> ConnectionManagerConfig {
        ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(self.timeout))
            .set_max_delay(RECONNECT_MAX_DELAY)
    }
}

fn open(url: &str) -> Result<Client, ConnectError> {
    Client::open(url).map_err(|error| ConnectError::new(ConnectErrorKind::InvalidUrl, Some(error)))
}

/// `OK`: stored. Nil: `NX` found a live key. Anything else is not a reply to `SET`; fail closed.
fn interpret(reply: &Value) -> Result<(), ReplayError> {
    match reply {
        Value::Okay => Ok(()),
        Value::SimpleString(text) if text == "OK" => Ok(()),
        Value::Nil => Err(ReplayError::Replayed),
        _ => Err(ReplayError::Unavailable),
    }
}

/// Under `maxmemory-policy noeviction` a full Redis refuses writes with `OOM`: the cache is full
/// of live entries, which is [`ReplayError::CapacityExceeded`]. (Evicting policies would drop
/// live entries and let replays through; the crate docs say so.)
fn classify(error: &RedisError) -> ReplayError {
    if error.code() == Some("OOM") {
        ReplayError::CapacityExceeded
    } else {
        ReplayError::Unavailable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> RedisReplayCache<()> {
        RedisReplayCache {
            connection: (),
            key_prefix: Arc::from("p:"),
            timeout: DEFAULT_TIMEOUT,
            expiry_margin: 0,
        }
    }

    #[test]
    fn key_is_prefix_then_lower_hex_of_the_digest() {
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::try_from(i * 8 + 1).unwrap();
        }
        let key = cache().redis_key(&ReplayKey::from_bytes(bytes));
        assert_eq!(
            key,
            "p:0109111921293139414951596169717981899199a1a9b1b9c1c9d1d9e1e9f1f9"
        );
        assert_eq!(
            cache().redis_key(&ReplayKey::from_bytes([0xff; 32])).len(),
            2 + 64
        );
    }

    #[test]
    fn expiry_is_never_before_one_second_after_now() {
        let c = cache();
        let now = UnixTime::from_secs(1_000);
        let at = |cache: &RedisReplayCache<()>, secs| {
            cache.expire_at(UnixTime::from_secs(secs), now).as_secs()
        };
        assert_eq!(at(&c, 1_300), 1_300);
        assert_eq!(at(&c, 1_001), 1_001);
        assert_eq!(at(&c, 1_000), 1_001);
        assert_eq!(at(&c, 5), 1_001);
        let with_margin = RedisReplayCache {
            expiry_margin: 5,
            ..c
        };
        assert_eq!(at(&with_margin, 1_300), 1_305);
        assert_eq!(at(&with_margin, u64::MAX), u64::MAX);
    }

    /// Whether Redis still holds an entry at the last second its proof passes verification,
    /// when Redis's clock runs `skew` seconds ahead of the verifier's.
    fn kept_until_the_end(margin: u64, skew: u64) -> bool {
        let c = RedisReplayCache {
            expiry_margin: margin,
            ..cache()
        };
        let now = UnixTime::from_secs(1_700_000_000);
        // iat = now, default window: the proof passes up to now + 360, entry due at now + 361.
        let expires_at = now.saturating_add(361);
        let last_accepted = expires_at.as_secs() - 1;
        let exat = c.expire_at(expires_at, now).as_secs();
        // Redis deletes the key once its own clock reaches EXAT.
        last_accepted + skew < exat
    }

    #[test]
    fn the_default_margin_survives_a_redis_clock_a_leeway_ahead() {
        let default = RedisReplayCacheBuilder::new().expiry_margin;
        assert_eq!(default, 60);
        for skew in [0, 1, 30, 60] {
            assert!(kept_until_the_end(default, skew), "skew {skew}");
            // With no margin, any skew opens a replay window.
            assert_eq!(kept_until_the_end(0, skew), skew == 0, "skew {skew}");
        }
        assert!(!kept_until_the_end(default, 61));
        let verifier = dpop_core::Verifier::new(&[]).with_leeway(90);
        assert_eq!(
            RedisReplayCacheBuilder::new()
                .with_expiry_margin_for(&verifier)
                .expiry_margin,
            90
        );
    }

    #[test]
    fn replies_map_to_outcomes_and_unknown_replies_fail_closed() {
        assert_eq!(interpret(&Value::Okay), Ok(()));
        assert_eq!(interpret(&Value::SimpleString("OK".into())), Ok(()));
        assert_eq!(interpret(&Value::Nil), Err(ReplayError::Replayed));
        assert_eq!(interpret(&Value::Int(1)), Err(ReplayError::Unavailable));
        assert_eq!(
            interpret(&Value::SimpleString("QUEUED".into())),
            Err(ReplayError::Unavailable)
        );
    }

    #[test]
    fn errors_fail_closed() {
        let io = RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut));
        assert_eq!(classify(&io), ReplayError::Unavailable);
    }

    #[test]
    fn debug_does_not_need_a_debug_connection() {
        let text = format!("{:?}", cache());
        assert!(text.contains("key_prefix: \"p:\""), "{text}");
    }
}
