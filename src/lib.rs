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
//! has five; [`notice!`] and [`critical!`] add the other two (see [`level`] for how), and
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
//! # Testing your own code
//!
//! [`testing::capture`] records what your code logs, as Logbook's `TestHandler` does.
//!
//! # Feature flags
//!
//! * `rollbar` (default): error notifications (to Rollbar and to Sentry-compatible
//!   trackers) over HTTPS with `ureq`.
//! * `http`: the `web` module, request spans and response lines for web services built
//!   on the `http` crate (axum, tower-http's `TraceLayer`); adds the `http` crate only.
//!
//! # Supported Rust versions
//!
//! The minimum supported Rust version is 1.89.

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod clock;
mod diag;
mod env;
mod error;
pub mod fields;
mod file;
mod filter;
mod format;
mod init;
pub mod json;
pub mod level;
pub mod lifecycle;
mod macros;
pub mod notify;
pub mod panic;
mod sink;
pub mod syslog;
pub mod testing;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod web;

pub use clock::{Clock, ManualClock, SystemClock, Timezone};
pub use env::{
    default_log_file, Env, Format, LogFile, Mode, APP_ENV, LOG_COLOR, LOG_FILE, LOG_FORMAT,
    LOG_MAX_FILES, LOG_MAX_SIZE, LOG_TIMEZONE, RUST_LOG,
};
pub use error::Error;
pub use fields::{FieldValue, Fields};
pub use file::{DailyFile, DailyFileBuilder};
pub use filter::{FilterError, LogbookFilter, DEFAULT_LEVEL};
pub use format::{
    level_color, ColorChoice, LogbookLayer, LogbookLayerBuilder, LIGHTGRAY, RED, RESET, YELLOW,
};
pub use init::{build, init, Guard};
pub use json::{JsonLayer, JsonLayerBuilder};
pub use level::{Level, ParseLevelError, LEVEL_FIELD};
pub use lifecycle::SHUTDOWN_TIMEOUT;
pub use notify::{NotifyConfig, NotifyHandle, NotifyLayer, NotifyStats};
pub use sink::{CaptureWriter, LineWriter, MakeWriterSink, Stdout};

#[doc(hidden)]
pub mod __private {
    pub use tracing;
}

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
