//! `notice!` and `critical!`: Logbook's two extra levels as tracing events.

/// Emits a `NOTICE` event: an `INFO` event that Logbook layers print as `NOTICE`.
///
/// Accepts everything [`tracing::info!`] accepts: `name:`, `target:`, `parent:`, fields
/// with `%`/`?` sigils, and format arguments. Layers that know nothing of Logbook see an
/// `INFO` event with one extra field, [`LEVEL_FIELD`](crate::LEVEL_FIELD)` = "notice"`.
///
/// # Examples
///
/// ```
/// let port = 8080;
/// tracing_logbook::notice!("listening");
/// tracing_logbook::notice!(target: "App", port, "listening");
/// tracing_logbook::notice!(target: "App", %port, addr = ?("127.0.0.1", port), "listening on {}", port);
/// let span = tracing::info_span!("server");
/// tracing_logbook::notice!(parent: &span, "inside");
/// ```
#[macro_export]
macro_rules! notice {
    ($($arg:tt)+) => {
        $crate::__logbook_event!(INFO, "notice", $($arg)+)
    };
}

/// Emits a `CRITICAL` event: an `ERROR` event that Logbook layers print as `CRITICAL`.
///
/// Accepts everything [`tracing::error!`] accepts. Layers that know nothing of Logbook
/// see an `ERROR` event with one extra field, [`LEVEL_FIELD`](crate::LEVEL_FIELD)` =
/// "critical"`.
///
/// # Examples
///
/// ```
/// let err = std::io::Error::other("disk on fire");
/// tracing_logbook::critical!(error = %err, "cannot continue");
/// tracing_logbook::critical!(target: "App", "shutting down: {}", err);
/// ```
#[macro_export]
macro_rules! critical {
    ($($arg:tt)+) => {
        $crate::__logbook_event!(ERROR, "critical", $($arg)+)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __logbook_event {
    ($lvl:ident, $name:literal, name: $n:expr, target: $t:expr, parent: $p:expr, $($arg:tt)+) => {
        $crate::__private::tracing::event!(name: $n, target: $t, parent: $p, $crate::__private::tracing::Level::$lvl, logbook.level = $name, $($arg)+)
    };
    ($lvl:ident, $name:literal, name: $n:expr, target: $t:expr, $($arg:tt)+) => {
        $crate::__private::tracing::event!(name: $n, target: $t, $crate::__private::tracing::Level::$lvl, logbook.level = $name, $($arg)+)
    };
    ($lvl:ident, $name:literal, name: $n:expr, parent: $p:expr, $($arg:tt)+) => {
        $crate::__private::tracing::event!(name: $n, parent: $p, $crate::__private::tracing::Level::$lvl, logbook.level = $name, $($arg)+)
    };
    ($lvl:ident, $name:literal, name: $n:expr, $($arg:tt)+) => {
        $crate::__private::tracing::event!(name: $n, $crate::__private::tracing::Level::$lvl, logbook.level = $name, $($arg)+)
    };
    ($lvl:ident, $name:literal, target: $t:expr, parent: $p:expr, $($arg:tt)+) => {
        $crate::__private::tracing::event!(target: $t, parent: $p, $crate::__private::tracing::Level::$lvl, logbook.level = $name, $($arg)+)
    };
    ($lvl:ident, $name:literal, target: $t:expr, $($arg:tt)+) => {
        $crate::__private::tracing::event!(target: $t, $crate::__private::tracing::Level::$lvl, logbook.level = $name, $($arg)+)
    };
    ($lvl:ident, $name:literal, parent: $p:expr, $($arg:tt)+) => {
        $crate::__private::tracing::event!(parent: $p, $crate::__private::tracing::Level::$lvl, logbook.level = $name, $($arg)+)
    };
    ($lvl:ident, $name:literal, $($arg:tt)+) => {
        $crate::__private::tracing::event!($crate::__private::tracing::Level::$lvl, logbook.level = $name, $($arg)+)
    };
}

/// Logs the error of a `Result` as `CRITICAL`, with its cause chain, and returns the
/// `Result` unchanged: the one call that sends an error returned from `main` to the log
/// file and the notifiers before the process exits.
///
/// `main`'s own error is printed by the standard library on stderr, not logged, so in
/// production it would never reach the file or the tracker. Wrap the body's result:
///
/// ```no_run
/// fn run() -> Result<(), Box<dyn std::error::Error>> {
///     let config = std::fs::read_to_string("/etc/my-app.toml")?;
///     Ok(())
/// }
///
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let _guard = tracing_logbook::init(tracing_logbook::Env::from_env()?)?;
///     tracing_logbook::report!(run())
///     // `_guard` is dropped here, after the CRITICAL line: the line is written and the
///     // notification sent before std prints the error and exits with status 1.
/// }
/// ```
///
/// The line reads `CRITICAL: my_app: main returned an error: <Display of the error>`,
/// with the error (and each `source()`) in the field `error`. It works with every error
/// type `main` returns: `std::io::Error` and other `std::error::Error` types,
/// `Box<dyn Error>` (with or without `Send + Sync`) and `anyhow::Error` (through its
/// `AsRef<dyn Error>`); a type that is only `Display` is logged without a chain.
///
/// ```
/// let captured = tracing_logbook::testing::capture(|| {
///     let result: Result<(), std::io::Error> = Err(std::io::Error::other("disk full"));
///     let _ = tracing_logbook::report!(result);
/// });
/// let record = &captured.records()[0];
/// assert_eq!(record.level, tracing_logbook::Level::Critical);
/// assert_eq!(record.message, "main returned an error: disk full");
/// ```
#[macro_export]
macro_rules! report {
    ($result:expr) => {
        match $result {
            ::core::result::Result::Ok(value) => ::core::result::Result::Ok(value),
            ::core::result::Result::Err(error) => {
                #[allow(unused_imports)]
                use $crate::__private::{ViaAsRef, ViaAsRefSend, ViaDisplay, ViaError};
                match (&&&&$crate::__private::Wrap(&error)).__logbook_error() {
                    ::core::option::Option::Some(chain) => {
                        $crate::critical!(error = chain, "main returned an error: {}", error)
                    }
                    ::core::option::Option::None => {
                        $crate::critical!("main returned an error: {}", error)
                    }
                }
                ::core::result::Result::Err(error)
            }
        }
    };
}

/// The error of [`report!`] as a `&dyn Error` when its type has one, found by autoref
/// specialization: the most specific impl is the one reached with the fewest derefs.
#[doc(hidden)]
#[derive(Debug)]
pub struct Wrap<'a, T: ?Sized>(pub &'a T);

type DynError = dyn std::error::Error + 'static;

#[doc(hidden)]
pub trait ViaError {
    fn __logbook_error(&self) -> Option<&DynError>;
}
impl<T: std::error::Error + 'static> ViaError for &&&Wrap<'_, T> {
    fn __logbook_error(&self) -> Option<&DynError> {
        Some(self.0)
    }
}

#[doc(hidden)]
pub trait ViaAsRef {
    fn __logbook_error(&self) -> Option<&DynError>;
}
impl<T: AsRef<DynError> + ?Sized> ViaAsRef for &&Wrap<'_, T> {
    fn __logbook_error(&self) -> Option<&DynError> {
        Some(self.0.as_ref())
    }
}

#[doc(hidden)]
pub trait ViaAsRefSend {
    fn __logbook_error(&self) -> Option<&DynError>;
}
impl<T: AsRef<dyn std::error::Error + Send + Sync + 'static> + ?Sized> ViaAsRefSend
    for &Wrap<'_, T>
{
    fn __logbook_error(&self) -> Option<&DynError> {
        Some(self.0.as_ref())
    }
}

#[doc(hidden)]
pub trait ViaDisplay {
    fn __logbook_error(&self) -> Option<&DynError>;
}
impl<T: std::fmt::Display + ?Sized> ViaDisplay for Wrap<'_, T> {
    fn __logbook_error(&self) -> Option<&DynError> {
        None
    }
}
