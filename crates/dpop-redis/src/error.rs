//! The error of building a cache. Errors of the cache itself are dpop-std's
//! [`ReplayError`](dpop_std::replay::ReplayError).

use core::error::Error;
use core::fmt;

/// Why [`RedisReplayCacheBuilder::connect`](crate::RedisReplayCacheBuilder::connect) or
/// [`connect_lazy`](crate::RedisReplayCacheBuilder::connect_lazy) gave no cache.
///
/// Unlike the workspace's other errors this one is not `Copy`: it keeps the `redis` crate's error
/// as its [`source`](Error::source) (without naming that type in a signature), because at start-up
/// an operator needs to tell a refused connection from a failed `AUTH`. Match on
/// [`kind`](Self::kind).
#[derive(Debug)]
pub struct ConnectError {
    kind: ConnectErrorKind,
    source: Option<redis::RedisError>,
}

/// The category of a [`ConnectError`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectErrorKind {
    /// The URL could not be parsed, or asks for something this build cannot do (for example
    /// `rediss://` without one of the `redis` crate's TLS features).
    InvalidUrl,
    /// No answer to `PING` within the connect timeout.
    TimedOut,
    /// The server refused the connection, rejected the credentials, or answered with an error.
    Unavailable,
}

impl ConnectError {
    /// The category.
    #[must_use]
    pub const fn kind(&self) -> ConnectErrorKind {
        self.kind
    }

    pub(crate) const fn new(kind: ConnectErrorKind, source: Option<redis::RedisError>) -> Self {
        Self { kind, source }
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            ConnectErrorKind::InvalidUrl => "invalid redis connection url",
            ConnectErrorKind::TimedOut => "timed out connecting to redis",
            ConnectErrorKind::Unavailable => "could not connect to redis",
        })
    }
}

impl Error for ConnectError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source.as_ref().map(|e| e as &(dyn Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_lower_case_without_period_and_source_is_kept() {
        let refused =
            redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let error = ConnectError::new(ConnectErrorKind::Unavailable, Some(refused));
        assert_eq!(error.kind(), ConnectErrorKind::Unavailable);
        assert_eq!(error.to_string(), "could not connect to redis");
        assert!(error.source().is_some());

        let timed_out = ConnectError::new(ConnectErrorKind::TimedOut, None);
        assert_eq!(timed_out.to_string(), "timed out connecting to redis");
        assert!(timed_out.source().is_none());
    }
}
