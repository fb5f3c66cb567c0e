//! Clocks. dpop-core takes `now` as an argument; this is the only place that reads time.

use core::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use dpop_core::time::UnixTime;

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> UnixTime;
}

/// The system's wall clock. A clock before 1970 reads as the epoch.
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        UnixTime::from_secs(secs)
    }
}

/// A clock that moves only when told to: for tests.
///
/// ```
/// use dpop_std::clock::{Clock, ManualClock};
/// let clock = ManualClock::new(dpop_core::time::UnixTime::from_secs(100));
/// clock.advance(5);
/// assert_eq!(clock.now().as_secs(), 105);
/// ```
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock stopped at `start`.
    #[must_use]
    pub const fn new(start: UnixTime) -> Self {
        Self(AtomicU64::new(start.as_secs()))
    }

    /// Moves the clock to `time` (backwards too, to test clock jumps).
    pub fn set(&self, time: UnixTime) {
        self.0.store(time.as_secs(), Ordering::SeqCst);
    }

    /// Moves the clock forward by `secs`.
    pub fn advance(&self, secs: u64) {
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(secs))
            });
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_secs(self.0.load(Ordering::SeqCst))
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> UnixTime {
        (**self).now()
    }
}

#[allow(
    clippy::std_instead_of_alloc,
    reason = "a std crate; `alloc::sync::Arc` would need `extern crate alloc` for nothing"
)]
impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> UnixTime {
        (**self).now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now().as_secs() > 1_577_836_800);
    }

    #[test]
    fn manual_clock_moves_both_ways() {
        let c = ManualClock::new(UnixTime::from_secs(10));
        c.advance(5);
        assert_eq!(c.now(), UnixTime::from_secs(15));
        c.set(UnixTime::from_secs(3));
        assert_eq!(c.now(), UnixTime::from_secs(3));
        c.advance(u64::MAX);
        assert_eq!(c.now(), UnixTime::from_secs(u64::MAX));
    }
}
