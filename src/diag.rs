//! Internal diagnostics: the only place that writes to stderr.
//!
//! The logging path must never log through `tracing` (it would recurse) and must never
//! panic, so problems are counted by their owners and reported here, once per kind,
//! with the crate's prefix.

#![allow(clippy::print_stderr)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// The prefix of every diagnostic line.
pub(crate) const PREFIX: &str = "[tracing-logbook]";

/// Prints one diagnostic line to stderr, or keeps it for the
/// [`testing::Diagnostics`](crate::testing::Diagnostics) handles that live.
pub(crate) fn report(message: std::fmt::Arguments<'_>) {
    use std::io::Write;
    if HOLDERS.load(Ordering::Acquire) > 0 {
        // Never an unbounded wait (a panic hook, an at-exit handler, a forked child whose
        // copy of the lock may be held by a thread that does not exist there): the lock
        // is held for a push or a copy, so a few tries get it unless something is wrong.
        for _ in 0..10_000 {
            match KEPT.try_lock() {
                Ok(mut kept) => {
                    if HOLDERS.load(Ordering::Acquire) > 0 {
                        kept.push(format!("{PREFIX} {message}"));
                        return;
                    }
                    break;
                }
                Err(std::sync::TryLockError::Poisoned(p)) => {
                    p.into_inner().push(format!("{PREFIX} {message}"));
                    return;
                }
                Err(std::sync::TryLockError::WouldBlock) => std::thread::yield_now(),
            }
        }
    }
    // A failing stderr leaves us nowhere to report; the loss is already counted.
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{PREFIX} {message}");
}

/// How many [`testing::Diagnostics`](crate::testing::Diagnostics) handles live.
static HOLDERS: AtomicUsize = AtomicUsize::new(0);

/// The diagnostics kept while a handle lives: the most recent [`KEEP`], and how many
/// older ones were let go.
static KEPT: Mutex<Kept> = Mutex::new(Kept {
    lines: std::collections::VecDeque::new(),
    first: 0,
});

/// At most this many diagnostics are kept.
const KEEP: usize = 4096;

pub(crate) struct Kept {
    lines: std::collections::VecDeque<String>,
    /// The sequence number of `lines[0]`.
    first: u64,
}

impl Kept {
    fn push(&mut self, line: String) {
        if self.lines.len() == KEEP {
            self.lines.pop_front();
            self.first += 1;
        }
        self.lines.push_back(line);
    }

    fn end(&self) -> u64 {
        self.first + self.lines.len() as u64
    }
}

/// Starts keeping diagnostics instead of printing them; returns the sequence number of
/// the next one.
pub(crate) fn hold() -> u64 {
    let kept = KEPT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    HOLDERS.fetch_add(1, Ordering::AcqRel);
    kept.end()
}

/// A handle let go: when it was the last, diagnostics go to stderr again.
pub(crate) fn release() {
    let mut kept = KEPT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if HOLDERS.fetch_sub(1, Ordering::AcqRel) == 1 {
        let end = kept.end();
        kept.lines.clear();
        kept.first = end;
    }
}

/// The diagnostics kept since sequence number `from`.
pub(crate) fn kept_since(from: u64) -> Vec<String> {
    let kept = KEPT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let skip = from.saturating_sub(kept.first) as usize;
    kept.lines.iter().skip(skip).cloned().collect()
}

/// A flag that lets a condition be reported once until it clears.
#[derive(Debug, Default)]
pub(crate) struct Once {
    reported: AtomicBool,
}

impl Once {
    pub(crate) const fn new() -> Self {
        Once {
            reported: AtomicBool::new(false),
        }
    }

    /// Reports `message` unless it was reported since the last [`reset`](Once::reset).
    pub(crate) fn report(&self, message: std::fmt::Arguments<'_>) {
        if !self.reported.swap(true, Ordering::Relaxed) {
            report(message);
        }
    }

    /// Marks the condition as cleared; returns whether it had been reported.
    pub(crate) fn reset(&self) -> bool {
        self.reported.swap(false, Ordering::Relaxed)
    }
}
