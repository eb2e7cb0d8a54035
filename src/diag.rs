//! Internal diagnostics: the only place that writes to stderr.
//!
//! The logging path must never log through `tracing` (it would recurse) and must never
//! panic, so problems are counted by their owners and reported here, once per kind,
//! with the crate's prefix.

#![allow(clippy::print_stderr)]

use std::sync::atomic::{AtomicBool, Ordering};

/// The prefix of every diagnostic line.
pub(crate) const PREFIX: &str = "[tracing-logbook]";

/// Prints one diagnostic line to stderr.
pub(crate) fn report(message: std::fmt::Arguments<'_>) {
    use std::io::Write;
    // A failing stderr leaves us nowhere to report; the loss is already counted.
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{PREFIX} {message}");
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
