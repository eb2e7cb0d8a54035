//! Logbook's terminal colors, as its `ColorizedStderrHandler` writes them: a level's
//! color before the record, [`RESET`] after it and before the newline.

use crate::level::Level;

/// Logbook's color for `ERROR` and `CRITICAL` (ColorizedStderrHandler's `red`).
pub const RED: &str = "\x1b[31;01m";
/// Logbook's color for `NOTICE` and `WARNING` (`yellow`).
pub const YELLOW: &str = "\x1b[33;01m";
/// Logbook's color for `TRACE`, `DEBUG` and `INFO` (`lightgray`).
pub const LIGHTGRAY: &str = "\x1b[37m";
/// Logbook's reset sequence, written after the whole record and before its newline.
pub const RESET: &str = "\x1b[39;49;00m";

/// The color Logbook's ColorizedStderrHandler gives a level.
///
/// ```
/// use tracing_logbook::ansi::{level_color, RED};
/// use tracing_logbook::Level;
/// assert_eq!(level_color(Level::Critical), RED);
/// ```
pub const fn level_color(level: Level) -> &'static str {
    match level {
        Level::Error | Level::Critical => RED,
        Level::Notice | Level::Warning => YELLOW,
        Level::Trace | Level::Debug | Level::Info => LIGHTGRAY,
    }
}
