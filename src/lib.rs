//! Python Logbook's clean lines, a new log file every day and error notifications, for
//! any program that already logs with `tracing` (or `log`), installed by one line in
//! `main`.
//!
//! ```no_run
//! fn main() -> Result<(), tracing_logbook::Error> {
//!     let _guard = tracing_logbook::init(tracing_logbook::Env::from_env()?)?; // APP_ENV
//!     tracing::info!("server started");
//!     tracing_logbook::notice!(port = 8080, "listening");
//!     Ok(())
//! }
//! ```
//!
//! ```text
//! [2026-11-23 19:28:08.123456] INFO: app: server started
//! [2026-11-23 19:28:08.123519] NOTICE: app: listening port=8080
//! ```
//!
//! # Levels
//!
//! Logbook's seven [`Level`]s: `TRACE DEBUG INFO NOTICE WARNING ERROR CRITICAL`. tracing
//! has five; [`notice!`] and [`critical!`] add the other two (see [`Level`] for how), and
//! `RUST_LOG` understands all seven names ([`LogbookFilter`]).
//!
//! # Composing the layers yourself
//!
//! Every piece is a public [`tracing_subscriber::Layer`], so you can skip [`init`] and
//! put them beside your own layers:
//!
//! ```
//! use tracing_logbook::{LogbookFilter, LogbookLayer};
//! use tracing_subscriber::prelude::*;
//!
//! let subscriber = tracing_subscriber::registry()
//!     .with(LogbookFilter::parse("info").unwrap())
//!     .with(LogbookLayer::builder().build_stdout());
//! // .with(your_json_or_opentelemetry_layer)
//! tracing::subscriber::with_default(subscriber, || tracing::info!("composed"));
//! ```
//!
//! # How an event travels
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
//! per notification destination, delivers items over HTTP). The calling thread never
//! waits on the network; it waits on the file only for buffer space, and only within a
//! documented bound. Dropping the [`Guard`] flushes and stops them all within
//! [`SHUTDOWN_TIMEOUT`].
//!
//! # Testing your own code
//!
//! [`testing::capture`] records what your code logs, as Logbook's `TestHandler` does.
//!
//! # Feature flags
//!
//! * `http-client` (default): error notifications (to Rollbar and to Sentry-compatible
//!   trackers) over HTTPS with `ureq`.
//! * `http`: the `web` module, request spans and response lines for web services built
//!   on the `http` crate (axum, tower-http's `TraceLayer`); adds the `http` crate only.
//!
//! # Supported Rust versions
//!
//! The minimum supported Rust version is 1.89.

#![cfg_attr(docsrs, feature(doc_cfg))]

// Levels, filtering, time: what every event carries.
mod clock;
mod filter;
mod level;
mod macros;

// The spine: one record per event, rendered by layouts, written by sinks.
mod layout;
mod record;
mod sink;

// The outputs: the formatting layers, the daily file, syslog, the notifiers.
mod file;
mod format;
mod json;
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
    default_log_file, Env, FilteredRegistry, Format, LogFile, Mode, APP_ENV, LOG_COLOR, LOG_FILE,
    LOG_FLUSH_ON_SIGNALS, LOG_FORMAT, LOG_MAX_FILES, LOG_MAX_SIZE, LOG_MAX_SIZE_MIN, LOG_TIMEZONE,
    RUST_LOG,
};
pub use error::Error;
pub use file::{DailyFile, DailyFileBuilder};
pub use filter::{FilterError, LogbookFilter, ReloadableFilter, DEFAULT_LEVEL};
pub use format::{ColorChoice, LogbookLayer, LogbookLayerBuilder};
pub use init::{build, init, Guard};
pub use json::{JsonLayer, JsonLayerBuilder};
pub use level::{Level, ParseLevelError, LEVEL_FIELD};
pub use lifecycle::SHUTDOWN_TIMEOUT;
pub use sink::{LineWriter, LossNotice, MakeWriterSink, Stdout};

#[doc(hidden)]
pub mod __private {
    pub use crate::macros::{ViaAsRef, ViaAsRefSend, ViaDisplay, ViaError, Wrap};
    pub use tracing;
}

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
