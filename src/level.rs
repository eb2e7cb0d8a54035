//! Logbook's seven levels and their mapping onto tracing's five.
//!
//! tracing has no `NOTICE` or `CRITICAL`. The [`notice!`](crate::notice) and
//! [`critical!`](crate::critical) macros emit ordinary `INFO` and `ERROR` events that carry
//! one extra field, [`LEVEL_FIELD`]. A field *name* is part of a callsite's static
//! metadata, so every layer (and every filter) can tell a notice from an info without
//! looking at values, and tracing's per-callsite interest cache keeps working. Layers
//! that know nothing of Logbook (JSON, OpenTelemetry) simply see `INFO` and `ERROR`.

use std::fmt;
use std::str::FromStr;

use tracing::Metadata;

/// The name of the marker field that [`notice!`](crate::notice) and
/// [`critical!`](crate::critical) add to their events.
///
/// Its value is `"notice"` or `"critical"`, so other layers print something readable.
/// The crate's own layers never print it.
pub const LEVEL_FIELD: &str = "logbook.level";

/// One of Logbook's seven levels, from least to most severe.
///
/// Levels are ordered: `Level::Notice > Level::Info`.
///
/// # Seven levels on tracing's five
///
/// tracing has no `NOTICE` or `CRITICAL`. The [`notice!`](crate::notice) and
/// [`critical!`](crate::critical) macros emit ordinary `INFO` and `ERROR` events that carry
/// one extra field, [`LEVEL_FIELD`](crate::LEVEL_FIELD). A field *name* is part of a
/// callsite's static metadata, so every layer (and every filter) can tell a notice from an
/// info without looking at values, and tracing's per-callsite interest cache keeps
/// working. Layers that know nothing of Logbook (JSON, OpenTelemetry) simply see `INFO`
/// and `ERROR`.
///
/// # Examples
///
/// ```
/// use tracing_logbook::Level;
///
/// let level: Level = "warning".parse().unwrap();
/// assert_eq!(level, Level::Warning);
/// assert_eq!(level.as_str(), "WARNING");
/// assert!(Level::Critical > Level::Error);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// `TRACE` (Logbook value 9): tracing's `TRACE`.
    Trace,
    /// `DEBUG` (10): tracing's `DEBUG`.
    Debug,
    /// `INFO` (11): tracing's `INFO`.
    Info,
    /// `NOTICE` (12): an `INFO` event from [`notice!`](crate::notice).
    Notice,
    /// `WARNING` (13): tracing's `WARN`.
    Warning,
    /// `ERROR` (14): tracing's `ERROR`.
    Error,
    /// `CRITICAL` (15): an `ERROR` event from [`critical!`](crate::critical), or a panic.
    Critical,
}

impl Level {
    /// All seven levels, least severe first.
    pub const ALL: [Level; 7] = [
        Level::Trace,
        Level::Debug,
        Level::Info,
        Level::Notice,
        Level::Warning,
        Level::Error,
        Level::Critical,
    ];

    /// The name Logbook prints: `TRACE`, `DEBUG`, `INFO`, `NOTICE`, `WARNING`, `ERROR`,
    /// `CRITICAL`.
    ///
    /// ```
    /// assert_eq!(tracing_logbook::Level::Warning.as_str(), "WARNING");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Notice => "NOTICE",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
            Level::Critical => "CRITICAL",
        }
    }

    /// The lower-case name, as accepted in `RUST_LOG` and used by Rollbar (`warning`).
    ///
    /// ```
    /// assert_eq!(tracing_logbook::Level::Critical.as_lower_str(), "critical");
    /// ```
    pub const fn as_lower_str(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Notice => "notice",
            Level::Warning => "warning",
            Level::Error => "error",
            Level::Critical => "critical",
        }
    }

    /// Logbook's numeric value (`TRACE` = 9 … `CRITICAL` = 15).
    ///
    /// ```
    /// use tracing_logbook::Level;
    /// assert_eq!(Level::Trace.logbook_value(), 9);
    /// assert_eq!(Level::Critical.logbook_value(), 15);
    /// ```
    pub const fn logbook_value(self) -> u8 {
        self as u8 + 9
    }

    /// The tracing level an event of this level is emitted at.
    ///
    /// ```
    /// use tracing_logbook::Level;
    /// assert_eq!(Level::Notice.to_tracing(), tracing::Level::INFO);
    /// assert_eq!(Level::Critical.to_tracing(), tracing::Level::ERROR);
    /// ```
    pub const fn to_tracing(self) -> tracing::Level {
        match self {
            Level::Trace => tracing::Level::TRACE,
            Level::Debug => tracing::Level::DEBUG,
            Level::Info | Level::Notice => tracing::Level::INFO,
            Level::Warning => tracing::Level::WARN,
            Level::Error | Level::Critical => tracing::Level::ERROR,
        }
    }

    /// The Logbook level of an event or span, from its static metadata.
    ///
    /// `INFO` and `ERROR` callsites that carry [`LEVEL_FIELD`] are `NOTICE` and `CRITICAL`.
    #[inline]
    pub fn of(metadata: &Metadata<'_>) -> Level {
        let level = *metadata.level();
        if level == tracing::Level::INFO {
            if metadata.fields().field(LEVEL_FIELD).is_some() {
                Level::Notice
            } else {
                Level::Info
            }
        } else if level == tracing::Level::ERROR {
            if metadata.fields().field(LEVEL_FIELD).is_some() {
                Level::Critical
            } else {
                Level::Error
            }
        } else if level == tracing::Level::WARN {
            Level::Warning
        } else if level == tracing::Level::DEBUG {
            Level::Debug
        } else {
            Level::Trace
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// The error returned when a string names none of the seven levels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseLevelError {
    input: String,
}

impl fmt::Display for ParseLevelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown level {:?}: expected one of trace, debug, info, notice, warning (or warn), error, critical",
            self.input
        )
    }
}

impl std::error::Error for ParseLevelError {}

impl FromStr for Level {
    type Err = ParseLevelError;

    /// Parses a level name, ignoring ASCII case. `warn` is accepted beside `warning`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let level = match s.to_ascii_lowercase().as_str() {
            "trace" => Level::Trace,
            "debug" => Level::Debug,
            "info" => Level::Info,
            "notice" => Level::Notice,
            "warning" | "warn" => Level::Warning,
            "error" => Level::Error,
            "critical" => Level::Critical,
            _ => {
                return Err(ParseLevelError {
                    input: s.to_owned(),
                })
            }
        };
        Ok(level)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_values_and_order() {
        let names: Vec<_> = Level::ALL.iter().map(|l| l.as_str()).collect();
        assert_eq!(
            names,
            ["TRACE", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL"]
        );
        let values: Vec<_> = Level::ALL.iter().map(|l| l.logbook_value()).collect();
        assert_eq!(values, [9, 10, 11, 12, 13, 14, 15]);
        assert!(Level::ALL.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn parsing_accepts_logbook_and_tracing_names() {
        for level in Level::ALL {
            assert_eq!(level.as_lower_str().parse::<Level>().unwrap(), level);
            assert_eq!(level.as_str().parse::<Level>().unwrap(), level);
        }
        assert_eq!("WARN".parse::<Level>().unwrap(), Level::Warning);
        let err = "fatal".parse::<Level>().unwrap_err();
        assert!(err.to_string().contains("\"fatal\""), "{err}");
    }

    #[test]
    fn tracing_mapping() {
        assert_eq!(Level::Notice.to_tracing(), tracing::Level::INFO);
        assert_eq!(Level::Critical.to_tracing(), tracing::Level::ERROR);
        assert_eq!(Level::Warning.to_tracing(), tracing::Level::WARN);
    }
}
