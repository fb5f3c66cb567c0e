//! Time as seen by proofs: whole seconds since the Unix epoch.
//!
//! dpop-core never reads a clock. Callers pass `now` to verification and `issued_at` to creation,
//! which keeps the crate `no_std`, deterministic and testable.

use core::fmt;

/// Seconds since 1970-01-01T00:00:00Z, the JWT `NumericDate` of RFC 7519 section 2, restricted
/// to whole, non-negative seconds (`iat` values written by this crate are integers).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime(u64);

impl UnixTime {
    /// The epoch itself.
    pub const EPOCH: Self = Self(0);

    /// A time `secs` seconds after the epoch.
    ///
    /// ```
    /// use dpop_core::UnixTime;
    /// assert_eq!(UnixTime::from_secs(1_562_262_616).as_secs(), 1_562_262_616);
    /// ```
    #[must_use]
    pub const fn from_secs(secs: u64) -> Self {
        Self(secs)
    }

    /// Seconds since the epoch.
    #[must_use]
    pub const fn as_secs(self) -> u64 {
        self.0
    }

    /// `self + secs`, saturating at the largest representable time.
    #[must_use]
    pub const fn saturating_add(self, secs: u64) -> Self {
        Self(self.0.saturating_add(secs))
    }

    /// `self - secs`, saturating at the epoch.
    #[must_use]
    pub const fn saturating_sub(self, secs: u64) -> Self {
        Self(self.0.saturating_sub(secs))
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saturating_arithmetic_never_wraps() {
        assert_eq!(UnixTime::from_secs(5).saturating_sub(10), UnixTime::EPOCH);
        assert_eq!(
            UnixTime::from_secs(u64::MAX).saturating_add(1),
            UnixTime::from_secs(u64::MAX)
        );
        assert_eq!(UnixTime::from_secs(5).saturating_add(10).as_secs(), 15);
    }
}
