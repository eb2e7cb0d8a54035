//! Python Logbook's clean lines, a new log file every day and error notifications to
//! Rollbar or a Sentry-compatible tracker, for programs that log with [`tracing`] (or
//! `log`), installed by one line in `main`: [`init`].
//!
//! # How an event travels
//!
//! ```text
//!  tracing::info!(..)  log::info!(..)  notice!(..)         your code, on its own thread
//!           │
//!           ▼
//!  LogbookFilter (RUST_LOG)                 is this level on for this callsite?
//!           │
//!           ▼
//!  FanOut, the spine init installs          one capture: a record, read once
//!           │
//!           ├── FingersCrossed              inside a request span, held until an error
//!           │
//!           ├─▶ layout: Logbook | JSON | ECS ──▶ stdout or DailyFile ──▶ tracing-logbook-file
//!           ├─▶ layout: RFC 5424 ──────────────▶ syslog queue ─────────▶ tracing-logbook-syslog
//!           ├─▶ NotifyLayer (Rollbar) ─────────▶ notification queue ───▶ tracing-logbook-notify
//!           └─▶ NotifyLayer (Sentry) ──────────▶ notification queue ───▶ tracing-logbook-notify
//!
//!  the process ends (exit, a panic, SIGTERM) ──▶ flush them all within SHUTDOWN_TIMEOUT
//! ```
//!
//! 1. **Your code** logs with `tracing`'s macros, with [`notice!`] and [`critical!`] for
//!    Logbook's two extra [`Level`]s, or with `log` (bridged: a record's real target is
//!    its channel and its key-values are fields). [`report!`] logs an error `main`
//!    returns.
//! 2. **The filter**: a [`LogbookFilter`], parsed from `RUST_LOG` with Logbook's level
//!    names, decides per callsite, so a disabled `trace!` costs what it costs under plain
//!    `tracing-subscriber`. Inside a [`ReloadableFilter`], [`Guard::set_filter`] changes
//!    it while the program runs.
//! 3. **One capture**: [`init`] (or [`build`], which does not install) reads an [`Env`]
//!    and installs one [`FanOut`], the *spine*. For each enabled event it captures one
//!    record (one clock reading, one level decision, the message rendered once, fields
//!    typed once; span fields typed once per span, and each layout's rendering of them
//!    cached on the span) and hands it to each [`Output`] in turn. For a stack composed
//!    by hand, each output is also a layer of its own that captures the same record:
//!    [`LogbookLayer`], [`JsonLayer`], [`EcsLayer`], [`syslog::SyslogLayer`],
//!    [`NotifyLayer`] and the layer behind [`testing::capture`]; a `FanOut` of
//!    several captures once for all of them.
//! 4. **Fingers crossed**, when on ([`FingersCrossed`]): inside a request span, records
//!    below the threshold are held on the span and written, in order, only if an error
//!    follows; the line outputs get them, the notifiers never.
//! 5. **Lines**: a *layout* (a Logbook line, a JSON or ECS object, an RFC 5424 message)
//!    renders the record into a reused buffer, and a writer takes the finished bytes:
//!    [`Stdout`], a [`DailyFile`] (a new file every day, written by its own thread),
//!    syslog's queue, or a [`LineWriter`] of your own (any `MakeWriter` through
//!    [`MakeWriterSink`]). A writer that falls behind makes the caller wait, within a
//!    bound, or drops and counts.
//! 6. **Notifications**: each [`NotifyLayer`] (built from a
//!    [`notify::NotifyConfig`], one per destination) reads the same record, keeps recent
//!    lines for telemetry and turns an error into an item that its own thread delivers;
//!    the caller never waits on the network. The [`panic`](mod@panic) hook logs a panic as
//!    `CRITICAL`, with its backtrace, and flushes; the [`web`] glue (feature `http`) puts
//!    every request in one span and logs its one response line.
//! 7. **The end**: dropping the [`Guard`] flushes and stops every thread within
//!    [`SHUTDOWN_TIMEOUT`], a deadline it shares with the panic hook, the at-exit hook
//!    and the signal flush ([every way a program ends](#every-way-a-program-ends)).
//!
//! No user code (`Display`, `Debug`) runs while one of the crate's locks is held.
//! Threads the crate starts: `tracing-logbook-file` (writes the daily file's batches),
//! `tracing-logbook-syslog` (sends syslog messages), `tracing-logbook-notify` (one per
//! notification destination, delivers items over HTTP), with the `otlp` feature and an
//! OTLP endpoint `tracing-logbook-otlp` (sends OTLP log batches, the `otlp` module), with
//! `LOG_FLUSH_ON_SIGNALS` `tracing-logbook-signals` (waits for SIGTERM/SIGINT), and with `LOG_COMPRESS=gzip`
//! `tracing-logbook-gzip` (compresses past days' files). The calling thread never waits
//! on the network; it waits on the file only for buffer space, and only within
//! [a bound](DailyFileBuilder::max_wait).
//!
//! What follows is the README: the commands to try it, how to add it, every environment
//! variable and one example per feature.
//!
#![doc = include_str!("../README.md")]
//!
//! # Every way a program ends
//!
//! The last lines before a program ends are the ones that explain why, so every way out
//! keeps them:
//!
//! * **`main` returns**: the [`Guard`] is dropped and flushes; the logger keeps running
//!   (a runtime's tasks may log while it shuts down) until the process ends, when the
//!   at-exit hook writes everything (within [`SHUTDOWN_TIMEOUT`], 5 s, notifications
//!   included, one deadline for the guard's flush and the hook's).
//! * **The guard dropped early** (`let _ = init(..)`): nothing is lost, for the same
//!   reason. [`Guard::shutdown`] stops the logger explicitly; lines logged after it are
//!   dropped, counted and said once on stderr.
//! * **`std::process::exit`**, anywhere, with the guard alive elsewhere: [`init`]
//!   registers an at-exit hook (`atexit`, through `libc`) that flushes the file and gives
//!   queued notifications their chance, within `SHUTDOWN_TIMEOUT`.
//! * **A panic**: the [`panic`](mod@panic) hook logs it as a `CRITICAL` line with its location (and
//!   the backtrace, as indented continuation lines, when `RUST_BACKTRACE` is set), sends
//!   it to the notifiers, and flushes before the process dies:
//!
//!   ```text
//!   [2026-11-23 19:30:01.000012] CRITICAL: panic: thread 'main' panicked at src/main.rs:14:5: index out of bounds: the len is 0 but the index is 3
//!   ```
//! * **One deadline for all of them**: the panic hook, the at-exit hook, the guard and
//!   the signal flush share one `SHUTDOWN_TIMEOUT`, counted from the first of them, so
//!   any combination (a panic hook of your own that calls `std::process::exit`, a panic
//!   unwinding `main`) ends within 5 s even against a tracker that never answers. (A
//!   panic that is caught lets its deadline lapse: a shutdown more than 5 s later gets
//!   its own.) Each of them says on stderr what it could not deliver:
//!   `[tracing-logbook] at exit: 2 error notifications not delivered within the shutdown
//!   deadline: lost`.
//! * **SIGTERM or SIGINT** (a supervisor stopping the service, Ctrl+C): a program that
//!   handles them itself (`tokio::signal::ctrl_c`, the `ctrlc` crate) makes `main`
//!   return and the guard flushes. A program without signal handling of its own opts in
//!   with `LOG_FLUSH_ON_SIGNALS=1` (or [`Env::flush_on_signals`]): the signal flushes
//!   the log, with a last line `NOTICE: tracing-logbook: received SIGTERM: flushing the
//!   log, then exiting`, and the process then ends as the signal would have (its parent
//!   sees it killed by SIGTERM). The NOTICE is the file's last line and the file ends in
//!   a whole record: lines other threads log after the signal are dropped (counted, and
//!   their number reported on stderr), and the process ends only once the writer has
//!   written its last whole batch. Do not combine the two: with both, the handlers race,
//!   and while the log is flushed either way, the process may end right after the flush,
//!   cutting the program's own shutdown short (the tests run both cases, with
//!   `tokio::signal` and with `ctrlc`).
//! * **`fork()` after `init`** (a program that daemonizes itself): the child has none of
//!   the parent's threads, so it has no writer, syslog or notifier thread. It never
//!   waits for them and never takes a lock another thread held at the fork (a
//!   `pthread_atfork` handler marks the child): it never hangs, and flush, the guard and
//!   the at-exit hook return at once. Its lines and error notifications are **dropped
//!   and counted**, and its first dropped line says so on stderr; the parent's log is
//!   untouched. With `LOG_FLUSH_ON_SIGNALS`, SIGTERM and SIGINT get their default action
//!   back in the child. A program that forks to daemonize should call `init` in the
//!   child, after the fork (or `exec`).
//! * **An error returned from `main`** is printed by the standard library, not logged:
//!   wrap the body's result in [`report!`] to log it as `CRITICAL` with its cause chain,
//!   so it reaches the file and the notifiers:
//!
//! ```no_run
//! fn run() -> Result<(), Box<dyn std::error::Error>> {
//!     std::fs::read_to_string("/etc/my-app.toml")?;
//!     Ok(())
//! }
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let _guard = tracing_logbook::init(tracing_logbook::Env::from_env()?)?;
//!     tracing_logbook::report!(run())
//! }
//! ```
//!
//! ```text
//! [2026-11-23 19:30:01.000012] CRITICAL: my_app: main returned an error: No such file or directory (os error 2) error="No such file or directory (os error 2)"
//! ```
//!
//! # Feature flags
//!
//! * `http-client` (default): error notifications (to Rollbar and to Sentry-compatible
//!   trackers) over HTTPS with `ureq`. Without it, a Rollbar token or Sentry DSN is an
//!   [`init`] error naming its variable, never silently ignored.
//! * `http`: the [`web`] module, request spans and response lines for web services built
//!   on the `http` crate (axum, tower-http's `TraceLayer`); adds the `http` crate only.
//! * `opentelemetry` (never a default): trace-linked lines. With tracing-opentelemetry's
//!   layer in the same registry (through [`Env::layer`] with `init`), every record
//!   inside a span carries the W3C ids (lower-case hex) of the innermost span, so a line
//!   can be joined with its trace. Adds `opentelemetry` and `tracing-opentelemetry`.
//!
//!   | output | where the ids go |
//!   |---|---|
//!   | Logbook lines | ` trace_id=… span_id=…` at the end |
//!   | JSON lines | top-level `"trace_id"`, `"span_id"` |
//!   | ECS lines | `"trace.id"`, `"span.id"` |
//!   | syslog | an `[opentelemetry trace_id="…" span_id="…"]` structured data element |
//!   | Sentry | the event's `contexts.trace` (`trace_id`, `span_id`) |
//!   | Rollbar | `custom.trace_id`, `custom.span_id` |
//!
//!   The ids are looked up once per span (then kept on the span) through
//!   `tracing_opentelemetry::get_otel_context`, which starts the OpenTelemetry span if it
//!   was not yet: set a remote parent (`set_parent`) before the span's first event. Lines
//!   outside spans, and every line without the feature, are unchanged.
//!   `examples/compose` runs it with the OpenTelemetry SDK; its test checks that the ids
//!   in the line, the JSON, the syslog message and both notifications are the ids
//!   OpenTelemetry exported for the active span.
//!
//! # Supported Rust versions
//!
//! The minimum supported Rust version is 1.89.
//!
#![cfg_attr(feature = "http", doc = "[`web`]: crate::web")]
#![cfg_attr(
    not(feature = "http"),
    doc = "[`web`]: https://docs.rs/tracing-logbook/latest/tracing_logbook/web/index.html"
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// Levels, filtering, time: what every event carries.
mod clock;
mod filter;
mod level;
mod macros;

// The spine: one record per event, rendered by layouts, written by sinks.
mod layer;
mod layout;
mod record;
mod sink;

// The outputs: the daily file, syslog, the notifiers.
mod file;
pub mod notify;
#[cfg(feature = "otlp")]
#[cfg_attr(docsrs, doc(cfg(feature = "otlp")))]
pub mod otlp;
pub mod syslog;

// Putting it together: configuration, installation, the lifecycle of the threads.
mod env;
mod error;
mod init;
mod lifecycle;
pub mod panic;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod web;

// Shared helpers: diagnostics, host name, colors, test utilities.
pub mod ansi;
mod diag;
mod host;
pub mod testing;

pub use clock::{Clock, SystemClock, Timezone};
pub use env::{
    default_log_file, Env, FilteredRegistry, Format, LogFile, Mode, APP_ENV, LOG_COLOR,
    LOG_COMPRESS, LOG_FILE, LOG_FINGERS_CROSSED, LOG_FLUSH_ON_SIGNALS, LOG_FORMAT, LOG_MAX_FILES,
    LOG_MAX_SIZE, LOG_MAX_SIZE_MIN, LOG_NOTIFY_PREVIEW, LOG_NOTIFY_SPOOL, LOG_NOTIFY_SPOOL_MAX,
    LOG_SPAN_FIELDS, LOG_TIMEZONE, RUST_LOG,
};
pub use error::Error;
pub use file::{Compression, DailyFile, DailyFileBuilder};
pub use filter::{FilterError, LogbookFilter, ReloadableFilter, DEFAULT_LEVEL};
pub use init::{build, init, FilterHandle, Guard};
pub use layer::crossed::{BufferStats, FingersCrossed};
pub use layer::ecs::{EcsLayer, EcsLayerBuilder};
pub use layer::json::{JsonLayer, JsonLayerBuilder};
pub use layer::logbook::{ColorChoice, LogbookLayer, LogbookLayerBuilder};
pub use layer::notify::NotifyLayer;
pub use layer::{Buffers, FanOut, FanOutBuilder, Output};
pub use layout::logbook::SpanFields;
pub use level::{Level, ParseLevelError, LEVEL_FIELD};
pub use lifecycle::{Counts, SHUTDOWN_TIMEOUT};
pub use record::FINGERS_CROSSED_FIELD;
pub use sink::{LineWriter, MakeWriterSink, Stdout};

#[doc(hidden)]
pub mod __private {
    pub use crate::macros::{ViaAsRef, ViaAsRefSend, ViaDisplay, ViaError, Wrap};
    pub use tracing;
}
