//! Where timestamps come from: a [`Clock`] for "now" and a [`Timezone`] for display.
//!
//! Every record reads the clock exactly once. The same reading is printed on the line
//! and decides which daily file the line goes to, so a line stamped `23:59:59.999999`
//! can never land in the next day's file.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use time::{OffsetDateTime, UtcOffset};

/// A source of the current time, injectable so tests can cross midnight at will.
///
/// # Examples
///
/// ```
/// use tracing_logbook::{testing::ManualClock, Clock};
///
/// let clock = ManualClock::new(time::macros::datetime!(2026-11-23 23:59:59.999999 UTC));
/// clock.advance(time::Duration::microseconds(1));
/// assert_eq!(clock.now_utc().date(), time::macros::date!(2026-11-24));
/// ```
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time, in UTC.
    fn now_utc(&self) -> OffsetDateTime;
}

/// The system's real-time clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    /// Reads the system clock. The calendar date of the current second is cached per
    /// thread, so most readings only replace the sub-second part.
    #[inline]
    fn now_utc(&self) -> OffsetDateTime {
        use std::cell::Cell;
        use std::time::{SystemTime, UNIX_EPOCH};
        thread_local! {
            static SECOND: Cell<(u64, OffsetDateTime)> = const { Cell::new((u64::MAX, OffsetDateTime::UNIX_EPOCH)) };
        }
        let Some((secs, nanos)) = realtime().or_else(|| {
            let since = SystemTime::now().duration_since(UNIX_EPOCH).ok()?;
            Some((since.as_secs(), since.subsec_nanos()))
        }) else {
            return OffsetDateTime::now_utc();
        };
        if let Ok((cached_secs, start)) = SECOND.try_with(Cell::get) {
            if cached_secs == secs {
                if let Ok(t) = start.replace_nanosecond(nanos) {
                    return t;
                }
            }
        }
        let start = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(secs as i64);
        let _ = SECOND.try_with(|c| c.set((secs, start)));
        start.replace_nanosecond(nanos).unwrap_or(start)
    }
}

/// The real-time clock as seconds and nanoseconds since the epoch, read straight from
/// `clock_gettime` (what `SystemTime::now` reads, without its subtraction from the
/// epoch): `None` before 1970 or if the call fails.
#[cfg(unix)]
#[inline]
fn realtime() -> Option<(u64, u32)> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given and nothing else.
    if unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) } != 0 {
        return None;
    }
    let secs = u64::try_from(ts.tv_sec).ok()?;
    let nanos = u32::try_from(ts.tv_nsec)
        .ok()
        .filter(|n| *n < 1_000_000_000)?;
    Some((secs, nanos))
}

#[cfg(not(unix))]
#[inline]
fn realtime() -> Option<(u64, u32)> {
    None
}

/// A clock that stands still until told to move: for tests.
///
/// Clones share the same time.
#[derive(Clone, Debug)]
pub struct ManualClock {
    now: Arc<Mutex<OffsetDateTime>>,
}

impl ManualClock {
    /// A clock showing `start` (converted to UTC).
    ///
    /// ```
    /// use tracing_logbook::{testing::ManualClock, Clock};
    /// let clock = ManualClock::new(time::macros::datetime!(2026-11-23 20:28 +01:00));
    /// assert_eq!(clock.now_utc(), time::macros::datetime!(2026-11-23 19:28 UTC));
    /// ```
    pub fn new(start: OffsetDateTime) -> Self {
        ManualClock {
            now: Arc::new(Mutex::new(start.to_offset(UtcOffset::UTC))),
        }
    }

    /// Sets the time.
    ///
    /// ```
    /// use tracing_logbook::{testing::ManualClock, Clock};
    /// let clock = ManualClock::new(time::OffsetDateTime::UNIX_EPOCH);
    /// clock.set(time::macros::datetime!(2026-11-23 23:59:59 UTC));
    /// assert_eq!(clock.now_utc().hour(), 23);
    /// ```
    pub fn set(&self, now: OffsetDateTime) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = now.to_offset(UtcOffset::UTC);
    }

    /// Moves the time forward (or backward, with a negative duration).
    ///
    /// ```
    /// use tracing_logbook::{testing::ManualClock, Clock};
    /// let clock = ManualClock::new(time::macros::datetime!(2026-11-23 23:59:59 UTC));
    /// clock.advance(time::Duration::seconds(1));
    /// assert_eq!(clock.now_utc(), time::macros::datetime!(2026-11-24 00:00:00 UTC));
    /// ```
    pub fn advance(&self, by: time::Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now_utc(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    #[inline]
    fn now_utc(&self) -> OffsetDateTime {
        (**self).now_utc()
    }
}

/// How timestamps are displayed, and where the day boundary of daily files lies.
///
/// Logbook prints UTC with no offset, and so does the default, [`Timezone::Utc`]. The
/// other choices print the offset in Logbook's aware-datetime form (`+0530`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Timezone {
    /// UTC, printed without an offset (`[2026-11-23 19:28:08.123456]`), as Logbook does.
    #[default]
    Utc,
    /// The machine's local time, with its offset (`[2026-11-23 20:28:08.123456+0100]`).
    ///
    /// The offset is looked up when the layer is built and refreshed at most once a
    /// minute afterwards, so daylight-saving changes are followed. The lookup uses
    /// `time` 0.3.37 or later, which is sound in multi-threaded programs; where the
    /// system cannot tell, UTC is used and a diagnostic is printed once.
    Local,
    /// A fixed offset, printed as such (`[2026-11-23 19:28:08.123456-0800]`).
    Fixed(UtcOffset),
}

impl Timezone {
    /// Parses `utc`, `local`, or a fixed offset such as `+05:30`, `-0800` or `+01`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tracing_logbook::Timezone;
    ///
    /// assert_eq!(Timezone::parse("utc"), Some(Timezone::Utc));
    /// assert_eq!(
    ///     Timezone::parse("+05:30"),
    ///     Some(Timezone::Fixed(time::UtcOffset::from_hms(5, 30, 0).unwrap()))
    /// );
    /// assert_eq!(Timezone::parse("Mars/Olympus"), None);
    /// ```
    pub fn parse(s: &str) -> Option<Timezone> {
        match s.to_ascii_lowercase().as_str() {
            "utc" | "z" => return Some(Timezone::Utc),
            "local" => return Some(Timezone::Local),
            _ => {}
        }
        let (sign, rest) = match s.as_bytes().first()? {
            b'+' => (1i8, &s[1..]),
            b'-' => (-1i8, &s[1..]),
            _ => return None,
        };
        let digits: String = rest.chars().filter(|c| *c != ':').collect();
        if !digits.bytes().all(|b| b.is_ascii_digit()) || !(digits.len() == 2 || digits.len() == 4)
        {
            return None;
        }
        let hours: i8 = digits[..2].parse().ok()?;
        let minutes: i8 = if digits.len() == 4 {
            digits[2..].parse().ok()?
        } else {
            0
        };
        if minutes >= 60 || hours > 23 {
            return None;
        }
        UtcOffset::from_hms(sign * hours, sign * minutes, 0)
            .ok()
            .map(Timezone::Fixed)
    }

    /// Whether timestamps in this zone print an offset.
    ///
    /// ```
    /// use tracing_logbook::Timezone;
    /// assert!(!Timezone::Utc.shows_offset());
    /// assert!(Timezone::parse("+05:30").unwrap().shows_offset());
    /// ```
    pub fn shows_offset(self) -> bool {
        !matches!(self, Timezone::Utc)
    }
}

/// Converts UTC clock readings into display time for one [`Timezone`].
#[derive(Debug)]
pub(crate) struct Zone {
    tz: Timezone,
    /// Local offset in seconds, and the unix minute until which it is trusted.
    local_offset: AtomicI64,
    local_valid_until: AtomicI64,
}

impl Zone {
    pub(crate) fn new(tz: Timezone) -> Zone {
        let zone = Zone {
            tz,
            local_offset: AtomicI64::new(0),
            local_valid_until: AtomicI64::new(i64::MIN),
        };
        if tz == Timezone::Local {
            zone.refresh_local(OffsetDateTime::now_utc());
        }
        zone
    }

    pub(crate) fn timezone(&self) -> Timezone {
        self.tz
    }

    /// `utc` in this zone's offset.
    #[inline]
    pub(crate) fn display(&self, utc: OffsetDateTime) -> OffsetDateTime {
        match self.tz {
            Timezone::Utc => utc,
            Timezone::Fixed(offset) => utc.to_offset(offset),
            Timezone::Local => {
                let minute = utc.unix_timestamp().div_euclid(60);
                if minute >= self.local_valid_until.load(Ordering::Relaxed) {
                    self.refresh_local(utc);
                }
                let secs = self.local_offset.load(Ordering::Relaxed) as i32;
                let offset = UtcOffset::from_whole_seconds(secs).unwrap_or(UtcOffset::UTC);
                utc.to_offset(offset)
            }
        }
    }

    fn refresh_local(&self, utc: OffsetDateTime) {
        static UNKNOWN: crate::diag::Once = crate::diag::Once::new();
        let offset = match UtcOffset::local_offset_at(utc) {
            Ok(offset) => offset,
            Err(_) => {
                UNKNOWN.report(format_args!(
                    "the local UTC offset cannot be determined on this system; printing UTC"
                ));
                UtcOffset::UTC
            }
        };
        self.local_offset
            .store(i64::from(offset.whole_seconds()), Ordering::Relaxed);
        let minute = utc.unix_timestamp().div_euclid(60);
        self.local_valid_until.store(minute + 1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn parse_offsets() {
        let off = |h, m| Some(Timezone::Fixed(UtcOffset::from_hms(h, m, 0).unwrap()));
        assert_eq!(Timezone::parse("+0530"), off(5, 30));
        assert_eq!(Timezone::parse("-08:00"), off(-8, 0));
        assert_eq!(Timezone::parse("+01"), off(1, 0));
        assert_eq!(Timezone::parse("LOCAL"), Some(Timezone::Local));
        for bad in ["", "+", "+5", "+05:60", "0530", "+05:3x", "+25:00"] {
            assert_eq!(Timezone::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn system_clock_agrees_with_time() {
        for _ in 0..3 {
            let before = OffsetDateTime::now_utc();
            let ours = SystemClock.now_utc();
            let after = OffsetDateTime::now_utc();
            assert!(before <= ours && ours <= after, "{before} {ours} {after}");
        }
    }

    #[test]
    fn fixed_zone_converts() {
        let zone = Zone::new(Timezone::parse("-08:00").unwrap());
        let t = zone.display(datetime!(2024-03-01 12:34:56.789012 UTC));
        assert_eq!(t.hour(), 4);
        assert_eq!(t.offset().whole_hours(), -8);
    }

    #[test]
    fn local_zone_works_from_many_threads() {
        let zone = Arc::new(Zone::new(Timezone::Local));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let zone = zone.clone();
                std::thread::spawn(move || zone.display(OffsetDateTime::now_utc()).offset())
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    }
}
