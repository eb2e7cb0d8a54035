//! The crate's one error type.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// An error from [`init`](crate::init), [`Env::from_env`](crate::Env::from_env) or a builder.
///
/// Its `Display` names the variable, value or file at fault and what would have been
/// right. Its `Debug` reads the same way, so `fn main() -> Result<(), Error>` prints a
/// sentence rather than a struct dump. It converts into [`std::io::Error`], so `?` works
/// in a `main` that returns `std::io::Result<()>`, and it implements
/// [`std::error::Error`], so `?` works with `anyhow` and `Box<dyn Error>` too.
///
/// # Examples
///
/// ```
/// let err = tracing_logbook::Env::from_lookup(|name| {
///     (name == "APP_ENV").then(|| "prod".to_owned())
/// })
/// .unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     r#"invalid APP_ENV value "prod": expected one of development, test, staging, production"#
/// );
/// assert_eq!(err.var(), Some("APP_ENV"));
/// ```
pub struct Error {
    kind: ErrorKind,
}

enum ErrorKind {
    /// An environment variable (or the builder setting of the same name) has a bad value.
    Value {
        var: &'static str,
        value: String,
        expected: String,
    },
    /// A file or directory could not be used.
    Io {
        path: PathBuf,
        action: &'static str,
        source: io::Error,
    },
    /// A global logger or subscriber is already installed.
    AlreadyInitialized { what: &'static str },
}

impl Error {
    pub(crate) fn value(
        var: &'static str,
        value: impl Into<String>,
        expected: impl Into<String>,
    ) -> Error {
        Error {
            kind: ErrorKind::Value {
                var,
                value: value.into(),
                expected: expected.into(),
            },
        }
    }

    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error {
            kind: ErrorKind::Io {
                path: path.into(),
                action,
                source,
            },
        }
    }

    pub(crate) fn already_initialized(what: &'static str) -> Error {
        Error {
            kind: ErrorKind::AlreadyInitialized { what },
        }
    }

    /// The environment variable at fault, if the error is about one.
    ///
    /// ```
    /// let err = tracing_logbook::Env::development().filter("info,db=loud").unwrap_err();
    /// assert_eq!(err.var(), Some("RUST_LOG"));
    /// assert_eq!(err.value_str(), Some("info,db=loud"));
    /// ```
    pub fn var(&self) -> Option<&'static str> {
        match &self.kind {
            ErrorKind::Value { var, .. } => Some(var),
            _ => None,
        }
    }

    /// The offending value of [`var`](Error::var), if the error is about one.
    ///
    /// ```
    /// let err = tracing_logbook::Env::from_lookup(|name| {
    ///     (name == "LOG_MAX_SIZE").then(|| "100".to_owned())
    /// })
    /// .unwrap_err();
    /// assert_eq!(err.value_str(), Some("100"));
    /// ```
    pub fn value_str(&self) -> Option<&str> {
        match &self.kind {
            ErrorKind::Value { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The file or directory at fault, if the error is about one.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let err = tracing_logbook::DailyFile::builder(dir.path()).build().unwrap_err();
    /// assert_eq!(err.path(), Some(dir.path()));
    /// assert!(err.var().is_none());
    /// ```
    pub fn path(&self) -> Option<&Path> {
        match &self.kind {
            ErrorKind::Io { path, .. } => Some(path),
            _ => None,
        }
    }

    /// Whether this error says that a global subscriber or logger was already installed
    /// (for example because [`init`](crate::init) was called twice).
    ///
    /// ```no_run
    /// let _guard = tracing_logbook::init(tracing_logbook::Env::development())?;
    /// let second = tracing_logbook::init(tracing_logbook::Env::development()).unwrap_err();
    /// assert!(second.is_already_initialized());
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn is_already_initialized(&self) -> bool {
        matches!(self.kind, ErrorKind::AlreadyInitialized { .. })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Value {
                var,
                value,
                expected,
            } => write!(f, "invalid {var} value {value:?}: {expected}"),
            // The cause is part of the sentence, so `source()` returns None (no duplicates
            // when a reporter walks the chain).
            ErrorKind::Io {
                path,
                action,
                source,
            } => write!(f, "cannot {action} {}: {source}", path.display()),
            ErrorKind::AlreadyInitialized { what } => write!(
                f,
                "{what} is already installed: tracing_logbook::init must be called once, \
                 before any other logger is set"
            ),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl StdError for Error {}

impl From<Error> for io::Error {
    fn from(err: Error) -> io::Error {
        let kind = match &err.kind {
            ErrorKind::Io { source, .. } => source.kind(),
            ErrorKind::Value { .. } => io::ErrorKind::InvalidInput,
            ErrorKind::AlreadyInitialized { .. } => io::ErrorKind::AlreadyExists,
        };
        io::Error::new(kind, err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_reads_like_display() {
        let err = Error::value("RUST_LOG", "info,=bogus", "bad directive");
        assert_eq!(format!("{err:?}"), err.to_string());
        assert_eq!(
            err.to_string(),
            r#"invalid RUST_LOG value "info,=bogus": bad directive"#
        );
    }

    #[test]
    fn io_error_keeps_kind_and_message() {
        let err = Error::io(
            "create log directory",
            "/nope/logs",
            io::Error::from(io::ErrorKind::PermissionDenied),
        );
        assert_eq!(err.path(), Some(Path::new("/nope/logs")));
        let text = err.to_string();
        assert!(
            text.starts_with("cannot create log directory /nope/logs: "),
            "{text}"
        );
        let io_err: io::Error = err.into();
        assert_eq!(io_err.kind(), io::ErrorKind::PermissionDenied);
        assert!(io_err.to_string().contains("/nope/logs"));
    }
}
