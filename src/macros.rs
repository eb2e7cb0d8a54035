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
