#![doc = include_str!("../README.md")]
//!
//! ## How an event travels
//!
//! [`init`] installs the registry, the [`LogbookFilter`] and one layer, the *spine*. For
//! each enabled event the spine captures one record (one clock reading,
//! one level decision, the message rendered once, fields typed once; span fields are
//! typed once per span and each layout's rendering of them is cached on the span) and
//! hands it to every output in turn: a *layout* (Logbook lines, JSON lines, RFC 5424)
//! renders it into a reused buffer, and a writer takes the finished bytes (stdout, the
//! daily file, syslog); each notifier reads the same record to decide whether it is a
//! notification and to keep its recent lines for telemetry. No user code (`Display`,
//! `Debug`) runs while one of our locks is held.
//!
//! Threads the crate starts: `tracing-logbook-file` (writes the daily file's batches),
//! `tracing-logbook-syslog` (sends syslog messages) and `tracing-logbook-notify` (one
//! per notification destination, delivers items over HTTP), and with
//! `LOG_FLUSH_ON_SIGNALS` `tracing-logbook-signals` (waits for SIGTERM/SIGINT), and with
//! `LOG_COMPRESS=gzip` `tracing-logbook-gzip` (compresses past days' files). The calling thread never
//! waits on the network; it waits on the file only for buffer space, and only within a
//! documented bound. Dropping the [`Guard`] flushes and stops them all within
//! [`SHUTDOWN_TIMEOUT`], a deadline it shares with the panic hook, the at-exit hook and
//! the signal flush (the first of them starts it).
//!
//! After `fork()`, the child has none of these threads: in a process forked after
//! [`init`], lines and error notifications are dropped and counted (the first one says
//! so on stderr), and flush, the guard and the at-exit hook return at once; no lock held
//! at the fork is ever taken in the child. Call `init` after the fork to log from the
//! child.
//!
//! ## Feature flags
//!
//! * `http-client` (default): error notifications (to Rollbar and to Sentry-compatible
//!   trackers) over HTTPS with `ureq`.
//! * `http`: the `web` module, request spans and response lines for web services built
//!   on the `http` crate (axum, tower-http's `TraceLayer`); adds the `http` crate only.
//! * `opentelemetry`: trace-linked lines. With tracing-opentelemetry's layer in the same
//!   registry, each line ends with `trace_id=… span_id=…` (the W3C ids of the span the
//!   event happened in), JSON lines carry top-level `trace_id`/`span_id`, ECS lines
//!   `trace.id`/`span.id`, syslog messages an `[opentelemetry trace_id=… span_id=…]`
//!   element, Sentry events a `trace` context and Rollbar items `custom.trace_id` and
//!   `custom.span_id`. Adds `opentelemetry` and `tracing-opentelemetry`.
//!
//! ## Supported Rust versions
//!
//! The minimum supported Rust version is 1.89.

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
    LOG_MAX_SIZE, LOG_MAX_SIZE_MIN, LOG_TIMEZONE, RUST_LOG,
};
pub use error::Error;
pub use file::{Compression, DailyFile, DailyFileBuilder};
pub use filter::{FilterError, LogbookFilter, ReloadableFilter, DEFAULT_LEVEL};
pub use init::{build, init, Guard};
pub use layer::crossed::{BufferStats, FingersCrossed};
pub use layer::ecs::{EcsLayer, EcsLayerBuilder};
pub use layer::json::{JsonLayer, JsonLayerBuilder};
pub use layer::logbook::{ColorChoice, LogbookLayer, LogbookLayerBuilder};
pub use layer::{Buffers, FanOut, FanOutBuilder, Output};
pub use level::{Level, ParseLevelError, LEVEL_FIELD};
pub use lifecycle::{Counts, SHUTDOWN_TIMEOUT};
pub use record::FINGERS_CROSSED_FIELD;
pub use sink::{LineWriter, LossNotice, MakeWriterSink, Stdout};

#[doc(hidden)]
pub mod __private {
    pub use crate::macros::{ViaAsRef, ViaAsRefSend, ViaDisplay, ViaError, Wrap};
    pub use tracing;
}
