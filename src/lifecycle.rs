//! The life of the crate's background parts: one [`Deadline`] type, one shutdown bound
//! ([`SHUTDOWN_TIMEOUT`]) and one crate-internal trait for everything the
//! [`Guard`](crate::Guard) flushes and stops (the daily file, syslog, the notifiers,
//! stdout).
//!
//! Every wait of the crate is measured against a [`Deadline`], which never panics: a
//! timeout too large to add to "now" (`Duration::MAX`) means "no deadline".

use std::sync::{Arc, Condvar, Mutex, MutexGuard, Once, PoisonError};
use std::time::{Duration, Instant};

/// How long dropping the [`Guard`](crate::Guard) waits, at most, for buffered lines and
/// notifications, in all.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// A point in time after which a wait gives up, or none (wait as long as it takes).
///
/// Built from a timeout; a timeout that does not fit in an [`Instant`] (such as
/// [`Duration::MAX`]) is no deadline rather than a panic.
///
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Deadline(Option<Instant>);

impl Deadline {
    /// The deadline `timeout` from now; none if that cannot be represented.
    pub(crate) fn after(timeout: Duration) -> Deadline {
        Deadline(Instant::now().checked_add(timeout))
    }

    /// The instant, if there is one.
    pub(crate) fn instant(self) -> Option<Instant> {
        self.0
    }

    /// Whether the deadline has passed.
    pub(crate) fn passed(self) -> bool {
        self.0.is_some_and(|at| Instant::now() >= at)
    }

    /// Time left until the deadline (zero once passed), or `None` without a deadline.
    pub(crate) fn remaining(self) -> Option<Duration> {
        self.0
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// Time left, with "no deadline" as [`Duration::MAX`]: what to hand on to a part
    /// that takes a timeout.
    pub(crate) fn timeout(self) -> Duration {
        self.remaining().unwrap_or(Duration::MAX)
    }

    /// Waits on `cv` until `ready` holds or the deadline passes; returns the guard and
    /// whether `ready` holds. Lock poisoning is ignored.
    pub(crate) fn wait_until<'a, T>(
        self,
        cv: &Condvar,
        mut guard: MutexGuard<'a, T>,
        mut ready: impl FnMut(&mut T) -> bool,
    ) -> (MutexGuard<'a, T>, bool) {
        loop {
            if ready(&mut guard) {
                return (guard, true);
            }
            guard = match self.remaining() {
                None => cv.wait(guard).unwrap_or_else(PoisonError::into_inner),
                Some(left) if left.is_zero() => return (guard, false),
                Some(left) => {
                    cv.wait_timeout(guard, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }
}

/// A background part of the logger that can be flushed and stopped.
pub(crate) trait Component: Send + Sync + 'static {
    /// Waits until everything handed over so far is written; false if the deadline
    /// passed first.
    fn flush(&self, deadline: Deadline) -> bool;
    /// Flushes and stops, by the deadline; false if something was left undone.
    fn shutdown(&self, deadline: Deadline) -> bool {
        self.flush(deadline)
    }
}

/// Flushes every component, each by the same deadline, even when an earlier one did not
/// make it; true if all did.
pub(crate) fn flush_all(components: &[std::sync::Arc<dyn Component>], deadline: Deadline) -> bool {
    components
        .iter()
        .fold(true, |all, c| c.flush(deadline) & all)
}

/// Stops every component by the same deadline; true if all finished cleanly.
pub(crate) fn shutdown_all(
    components: &[std::sync::Arc<dyn Component>],
    deadline: Deadline,
) -> bool {
    components
        .iter()
        .fold(true, |all, c| c.shutdown(deadline) & all)
}

/// The components of the logger [`init`](crate::init) installed, while its guard lives:
/// what the panic hook and the at-exit hook flush.
static INSTALLED: Mutex<Vec<Arc<dyn Component>>> = Mutex::new(Vec::new());

/// Makes `components` the installed logger's (see [`flush_installed`]).
pub(crate) fn set_installed(components: Vec<Arc<dyn Component>>) {
    *INSTALLED.lock().unwrap_or_else(PoisonError::into_inner) = components;
}

/// Forgets the installed components (their guard is being dropped), so that a later
/// panic or exit does not wait on stopped workers.
pub(crate) fn clear_installed() {
    INSTALLED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clear();
}

/// Flushes the installed components by `deadline`; true if all made it (or there are
/// none). The lock is not held while flushing.
pub(crate) fn flush_installed(deadline: Deadline) -> bool {
    let components = INSTALLED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    flush_all(&components, deadline)
}

/// Registers, once per process, a C `atexit` handler that flushes the installed
/// components within [`SHUTDOWN_TIMEOUT`]: `std::process::exit` runs no destructors,
/// so without it a guard far from the `exit` call never writes its last lines. After
/// a normal end of `main` the guard has been dropped and the handler finds nothing.
pub(crate) fn install_at_exit() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        #[cfg(any(unix, windows))]
        {
            extern "C" fn at_exit() {
                // Never unwind into C.
                let _ = std::panic::catch_unwind(|| {
                    flush_installed(Deadline::after(SHUTDOWN_TIMEOUT));
                });
            }
            // SAFETY: `at_exit` is a plain `extern "C" fn()` that never unwinds; atexit
            // only stores the pointer.
            let registered = unsafe { libc::atexit(at_exit) };
            if registered != 0 {
                crate::diag::report(format_args!(
                    "could not register the at-exit flush: lines logged just before \
                     std::process::exit may be lost"
                ));
            }
        }
    });
}

/// Starts, once per process, the thread that makes SIGTERM and SIGINT flush the
/// installed logger (within [`SHUTDOWN_TIMEOUT`]) and then end the process as the signal
/// would have: killed by that signal, as its parent sees it. For programs without signal
/// handling of their own (`LOG_FLUSH_ON_SIGNALS`); the first signal's line, `NOTICE:
/// tracing-logbook: received SIGTERM: flushing the log, then exiting`, is the last line.
///
/// # Errors
///
/// The handlers or the thread cannot be set up.
#[cfg(unix)]
pub(crate) fn install_signal_flush() -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    static STARTED: Mutex<bool> = Mutex::new(false);
    let mut started = STARTED.lock().unwrap_or_else(PoisonError::into_inner);
    if *started {
        return Ok(());
    }
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT])?;
    std::thread::Builder::new()
        .name("tracing-logbook-signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                let name = if signal == SIGTERM {
                    "SIGTERM"
                } else {
                    "SIGINT"
                };
                crate::notice!(
                    target: "tracing-logbook",
                    "received {name}: flushing the log, then exiting"
                );
                flush_installed(Deadline::after(SHUTDOWN_TIMEOUT));
                // Back to the default action, and the signal again: the process ends
                // as it would have without us.
                let _ = signal_hook::low_level::emulate_default_handler(signal);
                std::process::abort();
            }
        })?;
    *started = true;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn huge_timeouts_are_no_deadline() {
        for t in [Duration::MAX, Duration::from_secs(u64::MAX / 2)] {
            let d = Deadline::after(t);
            assert_eq!(d.remaining(), None);
            assert!(!d.passed());
            assert_eq!(d.timeout(), Duration::MAX);
        }
        assert!(Deadline::after(Duration::ZERO).passed());
    }

    struct Slow {
        ok: bool,
        flushed: AtomicUsize,
    }
    impl Component for Slow {
        fn flush(&self, _deadline: Deadline) -> bool {
            self.flushed.fetch_add(1, Ordering::Relaxed);
            self.ok
        }
    }

    #[test]
    fn every_component_is_flushed_even_after_one_times_out() {
        let parts: Vec<Arc<Slow>> = [false, true, false, true]
            .into_iter()
            .map(|ok| {
                Arc::new(Slow {
                    ok,
                    flushed: AtomicUsize::new(0),
                })
            })
            .collect();
        let dyns: Vec<Arc<dyn Component>> = parts
            .iter()
            .map(|p| p.clone() as Arc<dyn Component>)
            .collect();
        assert!(!flush_all(&dyns, Deadline::after(Duration::from_secs(1))));
        assert!(!shutdown_all(
            &dyns,
            Deadline::after(Duration::from_secs(1))
        ));
        for p in &parts {
            assert_eq!(p.flushed.load(Ordering::Relaxed), 2);
        }
    }
}
