//! Clocks. dpop-core takes `now` as an argument; this is the only place that reads time.

use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;
use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use dpop_core::UnixTime;

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> UnixTime;

    /// Time elapsed on a monotonic clock since an arbitrary origin fixed for the process: it
    /// moves forward with real time and is never stepped, whatever happens to the wall clock.
    ///
    /// The replay cache keeps each entry for its lifetime on this clock as well as by the wall
    /// clock, so that a wall clock stepped forward and back cannot make it forget a proof (see
    /// [`replay`](crate::replay#clock-steps)). The default reads [`Instant`] (Linux:
    /// `CLOCK_MONOTONIC`, which stands still while the machine is suspended).
    fn monotonic(&self) -> Duration {
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        ORIGIN.get_or_init(Instant::now).elapsed()
    }
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
/// It has a wall reading ([`now`](Clock::now)) and a monotonic one
/// ([`monotonic`](Clock::monotonic), starting at zero): [`advance`](Self::advance) is time
/// passing and moves both; [`set`](Self::set) is a step of the wall clock (as an operator or a
/// bad NTP server would make) and moves only the wall reading.
///
/// ```
/// use core::time::Duration;
/// use dpop_std::clock::{Clock, ManualClock};
/// let clock = ManualClock::new(dpop_core::UnixTime::from_secs(100));
/// clock.advance(5);
/// assert_eq!(clock.now().as_secs(), 105);
/// assert_eq!(clock.monotonic(), Duration::from_secs(5));
/// clock.set(dpop_core::UnixTime::from_secs(4_000)); // a step: no time passed
/// assert_eq!(clock.monotonic(), Duration::from_secs(5));
/// ```
#[derive(Debug, Default)]
pub struct ManualClock {
    wall: AtomicU64,
    monotonic: AtomicU64,
}

impl ManualClock {
    /// A clock stopped at `start`, with the monotonic reading at zero.
    #[must_use]
    pub const fn new(start: UnixTime) -> Self {
        Self {
            wall: AtomicU64::new(start.as_secs()),
            monotonic: AtomicU64::new(0),
        }
    }

    /// Steps the wall clock to `time` (backwards too, to test clock jumps). The monotonic
    /// reading does not move: a step is not time passing. Use [`advance`](Self::advance) for
    /// that.
    pub fn set(&self, time: UnixTime) {
        self.wall.store(time.as_secs(), Ordering::SeqCst);
    }

    /// Lets `secs` seconds pass: both readings move forward by `secs`.
    pub fn advance(&self, secs: u64) {
        for counter in [&self.wall, &self.monotonic] {
            let _ = counter.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(secs))
            });
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_secs(self.wall.load(Ordering::SeqCst))
    }

    fn monotonic(&self) -> Duration {
        Duration::from_secs(self.monotonic.load(Ordering::SeqCst))
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> UnixTime {
        (**self).now()
    }

    fn monotonic(&self) -> Duration {
        (**self).monotonic()
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> UnixTime {
        (**self).now()
    }

    fn monotonic(&self) -> Duration {
        (**self).monotonic()
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

    #[test]
    fn manual_clock_steps_move_only_the_wall_reading() {
        let c = ManualClock::new(UnixTime::from_secs(10));
        assert_eq!(c.monotonic(), Duration::ZERO);
        c.advance(7);
        c.set(UnixTime::from_secs(1_000_000));
        c.set(UnixTime::from_secs(2));
        assert_eq!(c.monotonic(), Duration::from_secs(7));
        let by_ref: &dyn Clock = &&c;
        assert_eq!(by_ref.monotonic(), Duration::from_secs(7));
        let shared: Box<dyn Clock> = Box::new(c);
        assert_eq!(shared.monotonic(), Duration::from_secs(7));
    }

    #[test]
    fn system_monotonic_clock_never_goes_back() {
        let first = SystemClock.monotonic();
        std::thread::sleep(Duration::from_millis(2));
        assert!(SystemClock.monotonic() > first);
    }
}
