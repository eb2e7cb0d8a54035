//! The life of the crate's background parts: one [`Deadline`] type, one shutdown bound
//! ([`SHUTDOWN_TIMEOUT`]) and one crate-internal trait for everything the
//! [`Guard`](crate::Guard) flushes and stops (the daily file and its compression
//! thread, syslog, the notifiers, stdout).
//!
//! Every wait of the crate is measured against a [`Deadline`], which never panics: a
//! timeout too large to add to "now" (`Duration::MAX`) means "no deadline".
//!
//! The ways a process ends (the panic hook, the at-exit hook, the installed guard, the
//! signal thread) share one process-wide deadline ([`shutdown_deadline`]): the first of
//! them starts it, the others honour it, so any combination ends within
//! [`SHUTDOWN_TIMEOUT`]. Each reports what it could not deliver.
//!
//! `fork()` after `init`: a handler registered with `pthread_atfork` bumps a generation
//! counter in the child. Every part remembers the generation it was [`Born`] in; in a
//! forked child (which has none of the parent's threads) it never takes a lock the
//! parent's threads may have held at the fork: lines and notifications are dropped and
//! counted, flush and shutdown return at once.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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

/// What the crate means by "forever" where an instant is needed (a backoff, a pause, a
/// clamped network duration): a year, representable on every platform.
pub(crate) const FOREVER: Duration = Duration::from_secs(365 * 24 * 3600);

impl Deadline {
    /// The instant, or [`FOREVER`] from now when there is none: for waits that must end
    /// some time (a backoff, a pause), never for shutdown, whose bound is
    /// [`SHUTDOWN_TIMEOUT`].
    pub(crate) fn instant_or_forever(self) -> Instant {
        self.0.unwrap_or_else(|| Instant::now() + FOREVER)
    }

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

    /// The deadline `margin` sooner (none stays none; one too close to the start of time
    /// stays as it is).
    pub(crate) fn sooner_by(self, margin: Duration) -> Deadline {
        Deadline(self.0.map(|at| at.checked_sub(margin).unwrap_or(at)))
    }

    /// The earlier of the two deadlines ("no deadline" is the latest).
    pub(crate) fn earlier(self, other: Deadline) -> Deadline {
        match (self.0, other.0) {
            (Some(a), Some(b)) => Deadline(Some(a.min(b))),
            (a, b) => Deadline(a.or(b)),
        }
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

/// What a part still holds when a wait ends: lines (records of the file and syslog
/// writers) and error notifications.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Undelivered {
    /// Records queued and not written yet.
    pub(crate) lines: u64,
    /// Notifications queued or in flight.
    pub(crate) items: u64,
    /// Records of other threads dropped since [`Component::close_door`].
    pub(crate) refused: u64,
}

impl Undelivered {
    fn add(self, other: Undelivered) -> Undelivered {
        Undelivered {
            lines: self.lines + other.lines,
            items: self.items + other.items,
            refused: self.refused + other.refused,
        }
    }
}

/// What a background destination did with what it was given: the one shape of
/// [`DailyFile::counts`](crate::DailyFile::counts),
/// [`SyslogHandle::counts`](crate::syslog::SyslogHandle::counts) and
/// [`NotifyHandle::counts`](crate::notify::NotifyHandle::counts). Every record handed
/// over ends in exactly one of them once delivered or given up on (the crate's own
/// loss notices are counted in none).
///
/// ```
/// let counts = tracing_logbook::Counts::default();
/// assert_eq!((counts.written, counts.dropped, counts.failed), (0, 0, 0));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counts {
    /// Written (lines to a file, messages to a socket) or sent (items the tracker
    /// accepted).
    pub written: u64,
    /// Dropped before an attempt: a full queue in lossy mode, a stalled writer, a
    /// shutdown, a forked child.
    pub dropped: u64,
    /// Attempted and failed: a write error, an unreachable server, a rejected item.
    pub failed: u64,
}

impl Counts {
    pub(crate) fn new(written: u64, dropped: u64, failed: u64) -> Counts {
        Counts {
            written,
            dropped,
            failed,
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
    /// What is still queued or in flight.
    fn undelivered(&self) -> Undelivered {
        Undelivered::default()
    }
    /// From now on, only the calling thread's records get in; other threads' are
    /// dropped and counted (as [`Undelivered::refused`]). For the signal thread: its
    /// NOTICE is the last record.
    fn close_door(&self) {}
}

/// Joins the background thread kept in `slot`, once it has left its loop (so this only
/// waits for it to return); a later call finds the slot empty.
pub(crate) fn join_ended(slot: &Mutex<Option<std::thread::JoinHandle<()>>>) {
    let thread = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
    if let Some(thread) = thread {
        let _ = thread.join();
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

/// What the components still hold, in all.
fn undelivered(components: &[Arc<dyn Component>]) -> Undelivered {
    components
        .iter()
        .fold(Undelivered::default(), |all, c| all.add(c.undelivered()))
}

/// Reports on stderr what `path` (`at exit`, `panic`, `on SIGTERM`) leaves undelivered,
/// if anything: `at exit: 12 lines and 1 error notification not delivered within the
/// shutdown deadline`.
fn report_undelivered(path: &str, left: Undelivered, when: &str) {
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut parts = Vec::new();
    if left.lines > 0 {
        parts.push(plural(left.lines, "line", "lines"));
    }
    if left.items > 0 {
        parts.push(plural(
            left.items,
            "error notification",
            "error notifications",
        ));
    }
    if left.refused > 0 {
        crate::diag::report(format_args!(
            "{path}: {} logged by other threads after it were dropped",
            plural(left.refused, "line", "lines")
        ));
    }
    if !parts.is_empty() {
        crate::diag::report(format_args!(
            "{path}: {} not delivered {when}",
            parts.join(" and ")
        ));
    }
}

/// The fork generation: how many `fork()`s lie between the process that started this
/// program and this one (bumped in the child by the `pthread_atfork` handler).
static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);

/// Whether `LOG_FLUSH_ON_SIGNALS` installed its handlers: a forked child (which has no
/// signal thread) gets the default action of SIGTERM and SIGINT back.
static SIGNAL_FLUSH: AtomicBool = AtomicBool::new(false);

/// The generation of the process a part was created in: in a forked child, that part's
/// background threads do not exist and its locks may be held by threads that are gone.
/// `Default` stamps the current generation (and registers the fork handler).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Born(u64);

impl Default for Born {
    fn default() -> Self {
        install_fork_handler();
        Born(FORK_GENERATION.load(Ordering::Relaxed))
    }
}

impl Born {
    /// Whether this process is a forked child of the one the part was created in. One
    /// relaxed load: cheap enough for every record.
    #[inline]
    pub(crate) fn forked(self) -> bool {
        FORK_GENERATION.load(Ordering::Relaxed) != self.0
    }
}

/// Reports, once per forked process, that its records are dropped. Written with one
/// `write(2)`: the parent's threads may have held the lock of `std::io::stderr` at the
/// fork.
pub(crate) fn report_forked() {
    static REPORTED: AtomicU64 = AtomicU64::new(0);
    let generation = FORK_GENERATION.load(Ordering::Relaxed);
    if REPORTED.swap(generation, Ordering::Relaxed) == generation {
        return;
    }
    let message = format!(
        "{} this process was forked after tracing_logbook::init: it has no writer thread, \
         so its lines and error notifications are dropped and counted (call init in the \
         child, or exec)\n",
        crate::diag::PREFIX
    );
    #[cfg(unix)]
    // SAFETY: write(2) of a valid buffer to fd 2; the result is ignored on purpose.
    unsafe {
        let _ = libc::write(2, message.as_ptr().cast(), message.len());
    }
    #[cfg(not(unix))]
    crate::diag::report(format_args!("{}", message.trim_end()));
}

/// Registers, once per process, the `pthread_atfork` child handler that bumps the fork
/// generation (and, with `LOG_FLUSH_ON_SIGNALS`, restores the default action of SIGTERM
/// and SIGINT: the child has no thread to handle them). No prepare or parent handler:
/// the child never takes a lock of ours that was held at the fork, so there is nothing
/// to hold across it, and a fork in the parent never waits for a writer.
fn install_fork_handler() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        #[cfg(unix)]
        {
            extern "C" fn child() {
                // Async-signal-safe: an atomic add and signal(2).
                FORK_GENERATION.fetch_add(1, Ordering::Relaxed);
                if SIGNAL_FLUSH.load(Ordering::Relaxed) {
                    // SAFETY: resets two signals to their default action.
                    unsafe {
                        libc::signal(libc::SIGTERM, libc::SIG_DFL);
                        libc::signal(libc::SIGINT, libc::SIG_DFL);
                    }
                }
            }
            // SAFETY: `child` is an `extern "C" fn()` that never unwinds.
            let registered = unsafe { libc::pthread_atfork(None, None, Some(child)) };
            if registered != 0 {
                crate::diag::report(format_args!(
                    "could not register the fork handler: a process forked after init may \
                     hang on a lock"
                ));
            }
        }
    });
}

/// How a path that waits at shutdown relates to the process-wide deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Start {
    /// A panic: starts the deadline, which lapses if the process lives on past it (the
    /// panic was caught).
    Panic,
    /// The process ends (at exit, a signal, the installed guard): starts the deadline
    /// or joins the running one, which then never lapses.
    End,
    /// A guard of [`build`](crate::build): joins a running deadline, else has its own.
    Own,
    /// The installed guard dropped: its flush starts the deadline (or joins the running
    /// one) as the end of the process would, but the logger keeps running, and once
    /// the process has lived [`LAPSE`] past it (the guard was dropped early, `let _ =
    /// init(..)`), a later path gets a deadline of its own.
    Drop,
}

/// How long past a deadline a guard's drop started the process must live before that
/// deadline lapses: a `main` that returns right after its guard's flush timed out (a
/// hung tracker) exits within the one deadline, while a program that dropped its guard
/// early still has a whole deadline at its real end.
pub(crate) const LAPSE: Duration = Duration::from_secs(1);

/// The running shutdown: its deadline, whether the process is ending for sure, and
/// whether a guard's drop started it.
static SHUTDOWN: Mutex<Option<(Deadline, bool, bool)>> = Mutex::new(None);

/// The process-wide shutdown deadline, [`SHUTDOWN_TIMEOUT`] from the first path that
/// started it (see [`Start`]): a panic hook's flush, then `exit` in a panic hook, then the
/// at-exit flush share one bound instead of each having its own.
pub(crate) fn shutdown_deadline(start: Start) -> Deadline {
    join(
        &mut SHUTDOWN.lock().unwrap_or_else(PoisonError::into_inner),
        start,
    )
}

/// [`shutdown_deadline`] for the running shutdown `running`.
fn join(running: &mut Option<(Deadline, bool, bool)>, start: Start) -> Deadline {
    // A guard dropped early: the process lived on, and its real end gets its own time.
    if running.is_some_and(|(deadline, _, by_drop)| {
        by_drop
            && deadline
                .instant()
                .is_some_and(|at| Instant::now() >= at + LAPSE)
    }) {
        *running = None;
    }
    let live = running.filter(|(deadline, ending, _)| *ending || !deadline.passed());
    match (live, start) {
        (Some((deadline, _, by_drop)), Start::End) => {
            *running = Some((deadline, true, by_drop));
            deadline
        }
        // A guard dropped as a panic unwinds: the end is near, but may not come (the
        // panic may be caught): ending, lapsing as a drop's.
        (Some((deadline, _, _)), Start::Drop) => {
            *running = Some((deadline, true, true));
            deadline
        }
        (Some((deadline, _, _)), _) => deadline,
        (None, Start::Own) => Deadline::after(SHUTDOWN_TIMEOUT),
        (None, Start::Drop) => {
            let deadline = Deadline::after(SHUTDOWN_TIMEOUT);
            *running = Some((deadline, true, true));
            deadline
        }
        (None, start) => {
            let deadline = Deadline::after(SHUTDOWN_TIMEOUT);
            *running = Some((deadline, start == Start::End, false));
            deadline
        }
    }
}

/// The components of the logger [`init`](crate::init) installed, while its guard lives:
/// what the panic hook and the at-exit hook flush.
static INSTALLED: Mutex<Vec<Arc<dyn Component>>> = Mutex::new(Vec::new());

/// The generation [`INSTALLED`] was set in (`u64::MAX`: none): a forked child does not
/// touch its lock.
static INSTALLED_IN: AtomicU64 = AtomicU64::new(u64::MAX);

/// Whether this process is a forked child of the one that installed the logger (or
/// nothing is installed).
fn installed_elsewhere() -> bool {
    INSTALLED_IN.load(Ordering::Relaxed) != FORK_GENERATION.load(Ordering::Relaxed)
}

/// Makes `components` the installed logger's (what the panic hook, the at-exit hook and
/// the signal thread flush).
pub(crate) fn set_installed(components: Vec<Arc<dyn Component>>) {
    let born = Born::default();
    *INSTALLED.lock().unwrap_or_else(PoisonError::into_inner) = components;
    INSTALLED_IN.store(born.0, Ordering::Relaxed);
}

/// Forgets the installed components (their guard is being dropped), so that a later
/// panic or exit does not wait on stopped workers.
pub(crate) fn clear_installed() {
    if installed_elsewhere() {
        return;
    }
    INSTALLED_IN.store(u64::MAX, Ordering::Relaxed);
    INSTALLED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clear();
}

/// The installed components, none in a forked child. The lock is not held after.
fn installed() -> Vec<Arc<dyn Component>> {
    if installed_elsewhere() {
        return Vec::new();
    }
    INSTALLED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// The panic hook's flush: the installed components by the earlier of `bound` and the
/// shutdown deadline (which the panic starts). What is still undelivered is reported when
/// `ending` (the panic aborts the process); otherwise it is not lost yet: the background
/// threads go on delivering it, and the guard's drop or the at-exit flush reports what
/// the process's end loses.
pub(crate) fn flush_after_panic(bound: Duration, ending: bool) {
    let components = installed();
    if components.is_empty() {
        return;
    }
    let deadline = shutdown_deadline(Start::Panic).earlier(Deadline::after(bound));
    if !flush_all(&components, deadline) && ending {
        report_undelivered(
            "panic",
            undelivered(&components),
            "by the panic hook's flush",
        );
    }
}

/// The at-exit flush: the installed components by the shutdown deadline; reports what
/// is lost.
fn flush_at_exit() {
    let components = installed();
    if components.is_empty() {
        return;
    }
    let deadline = shutdown_deadline(Start::End);
    if !flush_all(&components, deadline) {
        report_undelivered(
            "at exit",
            undelivered(&components),
            "within the shutdown deadline: lost",
        );
    }
}

/// Registers, once per process, a C `atexit` handler that flushes the installed
/// components by the shutdown deadline ([`SHUTDOWN_TIMEOUT`], shared with a panic hook
/// that calls `exit`): `std::process::exit` runs no destructors, so without it a guard
/// far from the `exit` call never writes its last lines. After a normal end of `main`
/// the guard has been dropped and the handler finds nothing; in a forked child it finds
/// nothing either.
pub(crate) fn install_at_exit() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        #[cfg(any(unix, windows))]
        {
            extern "C" fn at_exit() {
                // Never unwind into C.
                let _ = std::panic::catch_unwind(flush_at_exit);
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
/// installed logger (by the shutdown deadline) and then end the process as the signal
/// would have: killed by that signal, as its parent sees it. For programs without signal
/// handling of their own (`LOG_FLUSH_ON_SIGNALS`).
///
/// On the signal, the outputs' doors close to every other thread (their lines are
/// dropped and counted, and reported on stderr), the NOTICE `tracing-logbook: received
/// SIGTERM: flushing the log, then exiting` goes in as the last record, and the outputs
/// are shut down: the process ends only once the writer threads have written their last
/// whole batch and ended, so the file ends in a whole record (unless the deadline passes
/// with a writer stuck in a hung `write`).
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
    install_fork_handler();
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
                flush_on_signal(name);
                // Back to the default action, and the signal again: the process ends
                // as it would have without us.
                let _ = signal_hook::low_level::emulate_default_handler(signal);
                std::process::abort();
            }
        })?;
    SIGNAL_FLUSH.store(true, Ordering::Relaxed);
    *started = true;
    Ok(())
}

/// The signal thread's work: the door closes to other threads, the NOTICE goes in
/// last, the outputs are shut down by the shutdown deadline.
#[cfg(unix)]
fn flush_on_signal(name: &str) {
    let deadline = shutdown_deadline(Start::End);
    let components = installed();
    for component in &components {
        component.close_door();
    }
    crate::notice!(
        target: "tracing-logbook",
        "received {name}: flushing the log, then exiting"
    );
    shutdown_all(&components, deadline);
    report_undelivered(
        &format!("on {name}"),
        undelivered(&components),
        "within the shutdown deadline: lost",
    );
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

    #[test]
    fn the_first_path_starts_the_shutdown_deadline_and_the_others_join_it() {
        let mut running = None;
        // A guard of `build` alone starts nothing.
        join(&mut running, Start::Own);
        assert_eq!(running, None);
        let panic = join(&mut running, Start::Panic);
        assert_eq!(join(&mut running, Start::Own), panic);
        assert_eq!(join(&mut running, Start::End), panic);
        assert_eq!(running, Some((panic, true, false)));
        // A panic that lapsed (it was caught, the process lived on) is forgotten...
        let lapsed = Deadline::after(Duration::ZERO);
        running = Some((lapsed, false, false));
        let fresh = join(&mut running, Start::End);
        assert_ne!(fresh, lapsed);
        assert!(!fresh.passed());
        // ...an ending one is not: what comes after it gets no more time.
        running = Some((lapsed, true, false));
        assert_eq!(join(&mut running, Start::Panic), lapsed);
        assert_eq!(join(&mut running, Start::Own), lapsed);
    }

    #[test]
    fn a_dropped_guard_s_deadline_lapses_once_the_process_lived_on() {
        let mut running = None;
        let dropped = join(&mut running, Start::Drop);
        assert_eq!(running, Some((dropped, true, true)));
        // The end right after the drop's flush: the same deadline.
        assert_eq!(join(&mut running, Start::End), dropped);
        // A drop whose deadline passed just now (its flush timed out, main returned):
        // the exit joins it and gets no more time.
        let just = Deadline::after(Duration::ZERO);
        running = Some((just, true, true));
        assert_eq!(join(&mut running, Start::End), just);
        // A drop long ago (`let _ = init(..)`, the program ran on): a fresh deadline.
        let long_ago = Deadline(Instant::now().checked_sub(LAPSE * 2));
        running = Some((long_ago, true, true));
        let fresh = join(&mut running, Start::End);
        assert!(!fresh.passed());
        assert_eq!(running, Some((fresh, true, false)));
    }

    #[test]
    fn earlier_deadlines() {
        let soon = Deadline::after(Duration::from_secs(1));
        let late = Deadline::after(Duration::from_secs(9));
        let never = Deadline::after(Duration::MAX);
        assert_eq!(soon.earlier(late), soon);
        assert_eq!(late.earlier(soon), soon);
        assert_eq!(never.earlier(late), late);
        assert_eq!(never.earlier(never), never);
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
