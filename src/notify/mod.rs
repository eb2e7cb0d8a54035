//! Error notifications to Rollbar or to a Sentry-compatible tracker (Sentry, GlitchTip,
//! Bugsink): [`NotifyLayer`], built from a [`NotifyConfig`] ([`NotifyConfig::new`] for
//! Rollbar, [`NotifyConfig::sentry`] for a [`Dsn`]). Everything below applies to both
//! destinations; what differs is the payload: a Rollbar item as described here, or a
//! Sentry event in an envelope (level `fatal` for critical, fields as `extra`, spans as
//! `contexts`, telemetry as breadcrumbs, a panic as an `exception`), and Sentry's
//! `X-Sentry-Rate-Limits` header. For both at once, add one layer per destination.
//!
//! Every event at or above the threshold (default: `ERROR` and `CRITICAL`) becomes a
//! Rollbar item, sent from a background thread so the logging call never waits for the
//! network.
//!
//! # What is sent
//!
//! * `body.message.body` (and `title`): the rendered message; for a panic event (see
//!   [below](#panics)) a `trace` with class `panic`, its message and the backtrace's
//!   frames, oldest call first; for an event with an error field
//!   (`error = &e as &dyn Error`), a `trace_chain`: one trace per link of its `source()`
//!   chain, outermost first, each with the error's class (its type as the Sentry SDK
//!   reads it off `Debug`) and `Display` message; the message stays the title.
//! * `fingerprint`: the error's classes and its callsite (for the web glue's 5xx line,
//!   its method, route and status), so the tracker groups one error as one issue
//!   whatever ids its message holds.
//! * `person`: from fields named `user.id`, `user.name` (or `user.username`) and, with
//!   [`capture_email`](NotifyConfig::capture_email), `user.email`, of the event or its
//!   spans (innermost first). Without `capture_email`, `user.email` is scrubbed.
//! * `body.telemetry`: the last [`telemetry`](NotifyConfig::telemetry) log lines (of any
//!   level this layer sees) before the error, as Rollbar `log` telemetry events. Inside
//!   a span that looks like an HTTP request (one with a `method` field), only that
//!   request's own lines: under concurrent requests an item never carries a
//!   neighbour's. Outside requests, the last lines logged outside requests.
//! * `custom`: the event's fields (`custom.fields`), the fields of its spans, root first
//!   (`custom.spans`), and `channel`, `file`, `line`, `module`, `thread`.
//! * `request`: the fields of the innermost span that looks like an HTTP request (it has
//!   a `method` and a `url`, `uri` or `path`): `method`, `url`, `status_code`, `route`,
//!   `user_ip`, `headers` (fields named `headers.*` or `http.request.header.*`, with
//!   their wire names: `User-Agent`); a relative URL is made absolute with the span's
//!   `server.address` (or `Host` header) and `url.scheme`.
//! * `environment`, `level`, `timestamp`, a fresh `uuid` per occurrence (kept on retries,
//!   so the API discards duplicates), `notifier`, `language: "rust"`, `platform`,
//!   `server.host`, `server.pid`, `code_version` when known, `context` (the request's
//!   route, else the channel).
//!
//! # What is scrubbed
//!
//! The whole payload, for both destinations, once, just before it is serialized: every
//! string of every part (title, message, panic message and frames, telemetry and
//! breadcrumbs, fields, spans, request, dedup summaries) passes the same rules.
//!
//! * The *scrub names* are pyrollbar's default list ([`PYROLLBAR_SCRUB_FIELDS`]),
//!   [`EXTRA_SCRUB_FIELDS`] (cookies, tokens, API keys) and the names given with
//!   [`scrub`](NotifyConfig::scrub), compared ignoring ASCII case and `-`/`_`; a dotted
//!   name also matches by its last segment (`http.request.header.cookie`).
//! * A key with a scrub name has its value replaced by `***` at any depth (the
//!   payload's own keys, such as `body` or `level`, are only scrubbed inside, so a
//!   scrub name cannot break the format).
//! * In every string: the password of a URL's userinfo (up to the last `@` before the
//!   host, whatever it contains), and the value of a scrub name in `name=value` pairs
//!   (query parameters included), in quoted `"name": "value"` pairs (JSON, `Debug`
//!   output), in `Name: value` header lines and in `name: Bearer ...`. Prose such as
//!   `auth: connection refused` is left alone, and so is a secret that no name or URL
//!   announces.
//!
//! # Delivery
//!
//! The caller hands the item to the thread `tracing-logbook-notify` through a bounded
//! queue ([`queue_size`](NotifyConfig::queue_size)) and returns at once; when the queue
//! is full the item is dropped and counted. Network errors and 5xx answers are retried
//! with exponential backoff; a 429 pauses sending for as long as the rate-limit headers
//! say, 60 s when they do not (at most
//! [`max_rate_limit_pause`](NotifyConfig::max_rate_limit_pause)); a 413 is
//! answered by truncating the payload and sending it once more; other 4xx answers are
//! reported once on stderr and not retried. Items over 512 KiB are truncated before
//! they are sent (telemetry, then frames, then long strings).
//!
//! The same error is sent once per [`dedup_window`](NotifyConfig::dedup_window); the
//! repeats are counted and sent as one summary item,
//! `"<message>" repeated N more times in 60 s` (with the error's classes,
//! `"<message>" (Outer<Inner) repeated ...`, for an error or a panic), when the window
//! ends (or at shutdown). "The same error" is what the item's fingerprint says: the same
//! classes (every panic is of class `panic`; each error class is its own error) at the
//! same place (a panic's location, an event's file and line, whatever its message or a
//! `log` record's runtime target), and inside an HTTP request span the same route.
//! The summary carries the spans and fields of the latest repeat, so it still tells
//! which request failed last.
//!
//! # Panics
//!
//! A `CRITICAL` event with target `"panic"` and the fields `panic.message`,
//! `panic.location` (`file:line:col`), `panic.thread` and `panic.backtrace` (the
//! `Display` text of [`std::backtrace::Backtrace`]) becomes a `trace` item. The panic
//! hook should then call [`NotifyHandle::flush`].
//!
//! # Examples
//!
//! ```no_run
//! use tracing_logbook::notify::NotifyConfig;
//! use tracing_subscriber::prelude::*;
//!
//! # fn main() -> Result<(), tracing_logbook::Error> {
//! if let Some(config) = NotifyConfig::from_env("production")? {
//!     let (layer, handle) = config.code_version("1.4.2").build();
//!     let _default = tracing_subscriber::registry().with(layer).set_default();
//!     tracing::error!(order = 7, "payment failed");
//!     handle.shutdown(std::time::Duration::from_secs(5));
//! }
//! # Ok(())
//! # }
//! ```
//!
// Setup through `init`, Sentry's protocol, and whole example payloads: long, so in a file
// of their own, shown after the reference above.
#![doc = include_str!("guide.md")]

mod backtrace;
mod dedup;
mod destination;
mod occurrence;
mod rollbar;
pub(crate) mod scrub;
mod sentry;
mod transport;
mod worker;

use std::collections::VecDeque;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tracing::Subscriber;
use tracing_subscriber::layer::Layer;
use tracing_subscriber::registry::LookupSpan;

use crate::diag;
use crate::error::Error;
use crate::layer::{Emit, Spine};
use crate::level::Level;
use crate::record::{self, FieldList, FieldValue, Fields, Record, SpanRef};

use self::dedup::Dedup;
use self::destination::Destination;
use self::occurrence::{ErrorLink, Occurrence, PanicInfo, PayloadSettings, TelemetryLine};
use self::scrub::Scrubber;
use self::worker::{Msg, Policy, Shared, Worker};
use crate::filter::client::in_worker;

pub use self::rollbar::{NOTIFIER_NAME, PANIC_CLASS};
pub use self::scrub::{EXTRA_SCRUB_FIELDS, PYROLLBAR_SCRUB_FIELDS, SCRUBBED};
pub use self::sentry::{Dsn, SENTRY_DSN, SENTRY_ENVIRONMENT, SENTRY_RELEASE};
#[cfg(feature = "http-client")]
pub use self::transport::UreqTransport;
pub use self::transport::{AccessToken, Request, Response, Transport, TransportError};
pub use self::worker::THREAD_NAME;

/// Enables notifications: the project access token (scope `post_server_item`).
pub const ROLLBAR_ACCESS_TOKEN: &str = "ROLLBAR_ACCESS_TOKEN";
/// Overrides the item endpoint (an `http://` or `https://` URL).
pub const ROLLBAR_ENDPOINT: &str = "ROLLBAR_ENDPOINT";
/// The deployed code's version (at most 40 characters: semver, build number, git SHA).
pub const ROLLBAR_CODE_VERSION: &str = "ROLLBAR_CODE_VERSION";
/// Rollbar's item endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://api.rollbar.com/api/1/item/";

/// Settings of the notifier, and its builder.
///
/// # Default values
///
/// | setting | default |
/// |---|---|
/// | [`endpoint`](Self::endpoint) | [`DEFAULT_ENDPOINT`] |
/// | [`environment`](Self::environment) | the mode with [`init`](crate::init) (`development`, `test`, `staging`, `production`), else `production` |
/// | [`code_version`](Self::code_version) | none |
/// | [`host`](Self::host) | the machine's host name |
/// | [`threshold`](Self::threshold) | [`Level::Error`] (error and critical are sent) |
/// | [`telemetry`](Self::telemetry) | 20 lines |
/// | [`dedup_window`](Self::dedup_window) | 60 s |
/// | [`dedup_max_keys`](Self::dedup_max_keys) | 256 distinct errors |
/// | [`scrub`](Self::scrub) | none beyond the defaults (see the [module docs](self)) |
/// | [`capture_email`](Self::capture_email) | off |
/// | [`trust_proxy`](Self::trust_proxy) | none: the client address is the socket's |
/// | [`connect_timeout`](Self::connect_timeout) | 3 s |
/// | [`request_timeout`](Self::request_timeout) | 5 s |
/// | [`queue_size`](Self::queue_size) | 64 items |
/// | [`max_attempts`](Self::max_attempts) | 4 (1 + 3 retries) |
/// | [`retry_backoff`](Self::retry_backoff) | 500 ms, doubling, at most 30 s |
/// | [`max_rate_limit_pause`](Self::max_rate_limit_pause) | 60 s |
/// | [`max_payload_bytes`](Self::max_payload_bytes) | 512 KiB |
///
/// The access token never appears in `Debug` output, diagnostics or errors.
#[derive(Clone)]
#[must_use]
pub struct NotifyConfig {
    token: AccessToken,
    endpoint: String,
    /// Set for the Sentry destination (then `token` is its key, `endpoint` its
    /// envelope URL).
    sentry: Option<Dsn>,
    /// `None` until set: [`init`](crate::init) then uses the mode, a bare `build`
    /// `production`.
    environment: Option<String>,
    code_version: Option<String>,
    host: Option<String>,
    threshold: Level,
    /// Per-class and per-target levels (`None`: never sent), first match wins.
    levels: Vec<(LevelRule, Option<Level>)>,
    capture_email: bool,
    trusted_proxies: Vec<(std::net::IpAddr, u8)>,
    telemetry: usize,
    dedup_window: Duration,
    dedup_max_keys: usize,
    scrub: Vec<String>,
    connect_timeout: Duration,
    request_timeout: Duration,
    queue_size: usize,
    max_attempts: u32,
    retry_backoff: Duration,
    max_pause: Duration,
    max_payload_bytes: usize,
}

impl fmt::Debug for NotifyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotifyConfig")
            .field("destination", &self.destination_name())
            .field("token", &self.token)
            .field("endpoint", &self.endpoint)
            .field("environment", &self.environment)
            .field("code_version", &self.code_version)
            .field("threshold", &self.threshold)
            .field("telemetry", &self.telemetry)
            .field("dedup_window", &self.dedup_window)
            .field("queue_size", &self.queue_size)
            .finish_non_exhaustive()
    }
}

fn valid_token(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic())
}

/// Why `url` is not a usable endpoint: an `http://` or `https://` URL with a valid host
/// and port (see [`destination::check_host_port`]) and no spaces or control characters.
fn check_endpoint(url: &str) -> Result<(), &'static str> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("it contains spaces or control characters");
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("the scheme is not http:// or https://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err("it has userinfo (user:password@) before the host");
    }
    destination::check_host_port(authority)
}

impl NotifyConfig {
    /// Settings with the [default values](#default-values) and `token`.
    ///
    /// ```
    /// use tracing_logbook::notify::NotifyConfig;
    /// let config = NotifyConfig::new("post-server-item-token");
    /// assert_eq!(config.endpoint_url(), "https://api.rollbar.com/api/1/item/");
    /// assert!(!config.is_sentry());
    /// ```
    pub fn new(token: impl Into<String>) -> NotifyConfig {
        NotifyConfig {
            token: AccessToken::new(token),
            endpoint: DEFAULT_ENDPOINT.to_owned(),
            sentry: None,
            environment: None,
            code_version: None,
            host: None,
            threshold: Level::Error,
            levels: Vec::new(),
            capture_email: false,
            trusted_proxies: Vec::new(),
            telemetry: 20,
            dedup_window: Duration::from_secs(60),
            dedup_max_keys: 256,
            scrub: Vec::new(),
            connect_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(5),
            queue_size: 64,
            max_attempts: 4,
            retry_backoff: Duration::from_millis(500),
            max_pause: Duration::from_secs(60),
            max_payload_bytes: 512 * 1024,
        }
    }

    /// Reads [`ROLLBAR_ACCESS_TOKEN`], [`ROLLBAR_ENDPOINT`] and [`ROLLBAR_CODE_VERSION`]
    /// through `lookup`; `environment` is the Rollbar environment (usually
    /// [`Mode::as_str`](crate::Mode::as_str) of `APP_ENV`).
    ///
    /// Returns `Ok(None)` when the token is not set: notifications are off.
    ///
    /// # Errors
    ///
    /// An [`Error`] naming the variable when the token is empty or contains spaces or
    /// control characters (its value is not repeated), the endpoint is not an `http://`
    /// or `https://` URL with a valid host and a port from 1 to 65535 (the error says
    /// which part is wrong), or the code version is empty, only whitespace or longer
    /// than 40 characters.
    ///
    /// # Examples
    ///
    /// ```
    /// use tracing_logbook::notify::NotifyConfig;
    ///
    /// let none = NotifyConfig::from_lookup(|_| None, "production").unwrap();
    /// assert!(none.is_none());
    ///
    /// let err = NotifyConfig::from_lookup(
    ///     |name| match name {
    ///         "ROLLBAR_ACCESS_TOKEN" => Some("secret-token".to_owned()),
    ///         "ROLLBAR_ENDPOINT" => Some("api.rollbar.com".to_owned()),
    ///         _ => None,
    ///     },
    ///     "production",
    /// )
    /// .unwrap_err();
    /// assert_eq!(err.var(), Some("ROLLBAR_ENDPOINT"));
    /// assert!(!err.to_string().contains("secret-token"));
    /// ```
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        environment: &str,
    ) -> Result<Option<NotifyConfig>, Error> {
        let Some(token) = lookup(ROLLBAR_ACCESS_TOKEN) else {
            return Ok(None);
        };
        if !valid_token(&token) {
            let shown = if token.is_empty() { "" } else { "<redacted>" };
            return Err(Error::value(
                ROLLBAR_ACCESS_TOKEN,
                shown,
                "expected a Rollbar project access token (scope post_server_item): \
                 printable ASCII without spaces",
            ));
        }
        let mut config = NotifyConfig::new(token).environment(environment);
        if let Some(endpoint) = lookup(ROLLBAR_ENDPOINT) {
            if let Err(why) = check_endpoint(&endpoint) {
                return Err(Error::value(
                    ROLLBAR_ENDPOINT,
                    endpoint,
                    format!(
                        "expected an http:// or https:// URL such as \
                         https://api.rollbar.com/api/1/item/ ({why})"
                    ),
                ));
            }
            config.endpoint = endpoint;
        }
        if let Some(version) = lookup(ROLLBAR_CODE_VERSION) {
            let len = version.chars().count();
            if version.trim().is_empty() || len > 40 || version.chars().any(char::is_control) {
                return Err(Error::value(
                    ROLLBAR_CODE_VERSION,
                    version,
                    "expected 1 to 40 characters: a version, build number or git SHA",
                ));
            }
            config.code_version = Some(version);
        }
        Ok(Some(config))
    }

    /// [`from_lookup`](Self::from_lookup) on the process environment.
    ///
    /// # Errors
    ///
    /// As [`from_lookup`](Self::from_lookup).
    pub fn from_env(environment: &str) -> Result<Option<NotifyConfig>, Error> {
        NotifyConfig::from_lookup(
            |name| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned()),
            environment,
        )
    }

    /// Settings with the [default values](#default-values) that send to a Sentry-compatible
    /// tracker (Sentry, GlitchTip, Bugsink) instead of Rollbar: events in envelopes to
    /// [`Dsn::envelope_url`], authenticated with the DSN's key. Every other setting means
    /// the same; [`code_version`](Self::code_version) is the Sentry `release` and
    /// [`host`](Self::host) its `server_name`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tracing_logbook::notify::{Dsn, NotifyConfig};
    ///
    /// let dsn = Dsn::parse("https://0123abcd@sentry.example.com/7")?;
    /// let config = NotifyConfig::sentry(dsn).environment("staging");
    /// assert_eq!(config.endpoint_url(), "https://sentry.example.com/api/7/envelope/");
    /// assert!(config.is_sentry());
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn sentry(dsn: Dsn) -> NotifyConfig {
        let mut config = NotifyConfig::new(dsn.public_key().expose());
        config.endpoint = dsn.envelope_url();
        config.sentry = Some(dsn);
        config
    }

    /// Reads [`SENTRY_DSN`], [`SENTRY_RELEASE`] and [`SENTRY_ENVIRONMENT`] through
    /// `lookup`; `environment` is the Sentry environment unless `SENTRY_ENVIRONMENT`
    /// says otherwise (usually [`Mode::as_str`](crate::Mode::as_str) of `APP_ENV`).
    ///
    /// Returns `Ok(None)` when the DSN is not set: the Sentry destination is off.
    ///
    /// # Errors
    ///
    /// An [`Error`] naming the variable when the DSN does not parse (its key is not
    /// repeated; see [`Dsn::parse`]), or the release or environment is empty or only
    /// whitespace, too long
    /// (200 and 64 characters) or contains control characters or slashes.
    ///
    /// # Examples
    ///
    /// ```
    /// use tracing_logbook::notify::NotifyConfig;
    ///
    /// assert!(NotifyConfig::sentry_from_lookup(|_| None, "production").unwrap().is_none());
    ///
    /// let err = NotifyConfig::sentry_from_lookup(
    ///     |name| (name == "SENTRY_DSN").then(|| "https://0123abcd@sentry.example.com".to_owned()),
    ///     "production",
    /// )
    /// .unwrap_err();
    /// assert_eq!(err.var(), Some("SENTRY_DSN"));
    /// assert!(!err.to_string().contains("0123abcd"));
    /// ```
    pub fn sentry_from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        environment: &str,
    ) -> Result<Option<NotifyConfig>, Error> {
        let Some(dsn) = lookup(SENTRY_DSN) else {
            return Ok(None);
        };
        let mut config = NotifyConfig::sentry(Dsn::parse(dsn.trim())?).environment(environment);
        let check = |var: &'static str, value: String, max: usize, what: &str| {
            let len = value.chars().count();
            if value.trim().is_empty()
                || len > max
                || value
                    .chars()
                    .any(|c| c.is_control() || c == '/' || c == '\\')
                || value == "."
                || value == ".."
            {
                Err(Error::value(
                    var,
                    value,
                    format!("expected 1 to {max} characters without slashes or control characters: {what}"),
                ))
            } else {
                Ok(value)
            }
        };
        if let Some(release) = lookup(SENTRY_RELEASE) {
            config.code_version = Some(check(
                SENTRY_RELEASE,
                release,
                200,
                "a version, build number or git SHA",
            )?);
        }
        if let Some(env) = lookup(SENTRY_ENVIRONMENT) {
            config.environment = Some(check(SENTRY_ENVIRONMENT, env, 64, "an environment name")?);
        }
        Ok(Some(config))
    }

    /// [`sentry_from_lookup`](Self::sentry_from_lookup) on the process environment.
    ///
    /// # Errors
    ///
    /// As [`sentry_from_lookup`](Self::sentry_from_lookup).
    pub fn sentry_from_env(environment: &str) -> Result<Option<NotifyConfig>, Error> {
        NotifyConfig::sentry_from_lookup(
            |name| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned()),
            environment,
        )
    }

    /// Whether these settings send to a Sentry-compatible tracker (built by
    /// [`sentry`](Self::sentry)) rather than Rollbar.
    ///
    /// ```
    /// use tracing_logbook::notify::{Dsn, NotifyConfig};
    /// let dsn = Dsn::parse("https://0123abcd@sentry.example.com/7")?;
    /// assert!(NotifyConfig::sentry(dsn).is_sentry());
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn is_sentry(&self) -> bool {
        self.sentry.is_some()
    }

    fn destination_name(&self) -> &'static str {
        if self.is_sentry() {
            "Sentry"
        } else {
            "Rollbar"
        }
    }

    fn destination(&self) -> Box<dyn Destination> {
        if self.sentry.is_some() {
            Box::new(sentry::Sentry {
                endpoint: self.endpoint.clone(),
                key: self.token.clone(),
            })
        } else {
            Box::new(rollbar::Rollbar {
                endpoint: self.endpoint.clone(),
                token: self.token.clone(),
            })
        }
    }

    /// The item endpoint. An invalid URL makes every request fail (reported once).
    ///
    /// ```
    /// use tracing_logbook::notify::NotifyConfig;
    /// let config = NotifyConfig::new("token").endpoint("http://127.0.0.1:8080/api/1/item/");
    /// assert_eq!(config.endpoint_url(), "http://127.0.0.1:8080/api/1/item/");
    /// ```
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = url.into();
        self
    }

    /// The Rollbar environment (1 to 255 characters; longer names are cut, an empty
    /// one means `production`).
    ///
    /// ```
    /// let config = tracing_logbook::notify::NotifyConfig::new("token").environment("staging-eu");
    /// ```
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        let environment = environment.into();
        self.environment = Some(if environment.is_empty() {
            "production".to_owned()
        } else {
            environment.chars().take(255).collect()
        });
        self
    }

    /// The environment unless one was set: what [`init`](crate::init) does with the mode.
    pub(crate) fn default_environment(mut self, environment: &str) -> Self {
        if self.environment.is_none() {
            self = self.environment(environment);
        }
        self
    }

    /// Sends errors of class `class` (the type of any error of an event's `source()`
    /// chain, as the items show it: `ParseIntError`, `SqliteFailure`) at `level`
    /// instead of the event's own, as pyrollbar's `exception_level_filters` do. Below the
    /// [`threshold`](Self::threshold) they are not sent; rules are tried in the order
    /// given, class and target rules alike, and the first that matches wins.
    ///
    /// ```
    /// use tracing_logbook::notify::NotifyConfig;
    /// use tracing_logbook::Level;
    ///
    /// let config = NotifyConfig::new("token")
    ///     .level_for_class("ConnectionRefused", Level::Critical)
    ///     .level_for_target("hyper", Level::Warning)
    ///     .ignore_class("NotFound");
    /// # let _ = config;
    /// ```
    pub fn level_for_class(mut self, class: impl Into<String>, level: Level) -> Self {
        self.levels
            .push((LevelRule::Class(class.into()), Some(level)));
        self
    }

    /// Sends the events of `target` (and its submodules, `target::*`) at `level`
    /// instead of their own; see [`level_for_class`](Self::level_for_class).
    ///
    /// ```
    /// use tracing_logbook::{notify::NotifyConfig, Level};
    /// // The payment provider's client errors are only warnings here.
    /// let config = NotifyConfig::new("token").level_for_target("shop::payments", Level::Warning);
    /// ```
    pub fn level_for_target(mut self, target: impl Into<String>, level: Level) -> Self {
        self.levels
            .push((LevelRule::Target(target.into()), Some(level)));
        self
    }

    /// Never sends errors of class `class` (pyrollbar's `'ignored'`); see
    /// [`level_for_class`](Self::level_for_class).
    ///
    /// ```
    /// // Client disconnects are not the service's errors.
    /// let config = tracing_logbook::notify::NotifyConfig::new("token").ignore_class("ConnectionReset");
    /// ```
    pub fn ignore_class(mut self, class: impl Into<String>) -> Self {
        self.levels.push((LevelRule::Class(class.into()), None));
        self
    }

    /// The deployed code's version (cut to 40 characters for Rollbar, 200 for Sentry,
    /// where it is the `release`; empty means none).
    ///
    /// ```
    /// let config = tracing_logbook::notify::NotifyConfig::new("token").code_version(env!("CARGO_PKG_VERSION"));
    /// ```
    pub fn code_version(mut self, version: impl Into<String>) -> Self {
        let max = if self.is_sentry() { 200 } else { 40 };
        let version: String = version.into().chars().take(max).collect();
        self.code_version = (!version.is_empty()).then_some(version);
        self
    }

    /// `server.host` (default: the machine's host name).
    ///
    /// ```
    /// let config = tracing_logbook::notify::NotifyConfig::new("token").host("web-3");
    /// ```
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    /// The least severe level that is sent (default [`Level::Error`]).
    ///
    /// ```
    /// use tracing_logbook::{notify::NotifyConfig, Level};
    /// // Warnings too, not only errors.
    /// let config = NotifyConfig::new("token").threshold(Level::Warning);
    /// ```
    pub fn threshold(mut self, level: Level) -> Self {
        self.threshold = level;
        self
    }

    /// How many log lines before an error go with it as telemetry (0: none).
    ///
    /// ```
    /// let config = tracing_logbook::notify::NotifyConfig::new("token").telemetry(50);
    /// ```
    pub fn telemetry(mut self, lines: usize) -> Self {
        self.telemetry = lines;
        self
    }

    /// The window within which the same error is sent once (zero: no deduplication).
    ///
    /// ```
    /// use std::time::Duration;
    /// // Every occurrence, no summaries.
    /// let config = tracing_logbook::notify::NotifyConfig::new("token").dedup_window(Duration::ZERO);
    /// ```
    pub fn dedup_window(mut self, window: Duration) -> Self {
        self.dedup_window = window;
        self
    }

    /// How many distinct errors are tracked for deduplication at once; beyond it, new
    /// errors are sent without being tracked.
    ///
    /// ```
    /// let config = tracing_logbook::notify::NotifyConfig::new("token").dedup_max_keys(10_000);
    /// ```
    pub fn dedup_max_keys(mut self, keys: usize) -> Self {
        self.dedup_max_keys = keys;
        self
    }

    /// Sends the user's email (a `user.email` field) in `person` / `user`, as
    /// pyrollbar's `capture_email` does; off by default, when `user.email` is scrubbed
    /// wherever it appears. `user.id` and `user.name` are always sent.
    ///
    /// ```
    /// let config = tracing_logbook::notify::NotifyConfig::new("token").capture_email(true);
    /// ```
    pub fn capture_email(mut self, capture: bool) -> Self {
        self.capture_email = capture;
        self
    }

    /// Trusts the proxies of the network `address/prefix_len` (`10.0.0.0`, 8; a single
    /// proxy: its address with 32, or 128 for IPv6): when a request's socket peer is
    /// one, its client address is the right-most address of `X-Forwarded-For` that is
    /// not a trusted proxy. Without any, the client address is always the socket's (a
    /// client can write any `X-Forwarded-For`).
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    /// let config = tracing_logbook::notify::NotifyConfig::new("token")
    ///     .trust_proxy(Ipv4Addr::new(10, 0, 0, 0).into(), 8);
    /// # let _ = config;
    /// ```
    pub fn trust_proxy(mut self, address: std::net::IpAddr, prefix_len: u8) -> Self {
        self.trusted_proxies.push((address, prefix_len));
        self
    }

    /// Scrubs fields called `name` too (in addition to the defaults).
    ///
    /// ```
    /// // Values under these names become *** in every part of every notification.
    /// let config = tracing_logbook::notify::NotifyConfig::new("token").scrub("iban").scrub("ssn");
    /// ```
    pub fn scrub(mut self, name: impl Into<String>) -> Self {
        self.scrub.push(name.into());
        self
    }

    /// How long connecting to the endpoint may take.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = tracing_logbook::notify::NotifyConfig::new("token").connect_timeout(Duration::from_secs(2));
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long one whole request may take, connection included.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = tracing_logbook::notify::NotifyConfig::new("token").request_timeout(Duration::from_secs(5));
    /// ```
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How many items may wait for the background thread (at least 1).
    ///
    /// ```
    /// let config = tracing_logbook::notify::NotifyConfig::new("token").queue_size(256);
    /// ```
    pub fn queue_size(mut self, items: usize) -> Self {
        self.queue_size = items.max(1);
        self
    }

    /// How many times an item is sent at most, retries included (at least 1).
    ///
    /// ```
    /// let config = tracing_logbook::notify::NotifyConfig::new("token").max_attempts(3);
    /// ```
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The wait before the first retry; it doubles for each further retry, up to 30 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = tracing_logbook::notify::NotifyConfig::new("token").retry_backoff(Duration::from_millis(500));
    /// ```
    pub fn retry_backoff(mut self, backoff: Duration) -> Self {
        self.retry_backoff = backoff;
        self
    }

    /// The longest a rate limit can pause sending.
    ///
    /// The pause is what the server asks for: Rollbar's `X-Rate-Limit-Remaining-Seconds`
    /// or `X-Rate-Limit-Reset`, Sentry's `X-Sentry-Rate-Limits` (also on a 200), else
    /// `Retry-After` in seconds or as an HTTP-date. A 429 that gives none, or none that
    /// parses, pauses for a default of **60 s** (as Sentry and Bugsink expect). Every
    /// number is clamped before use (negative is 0 s, `1e20` is a year), so no header
    /// can break delivery; then this maximum applies.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = tracing_logbook::notify::NotifyConfig::new("token").max_rate_limit_pause(Duration::from_secs(300));
    /// ```
    pub fn max_rate_limit_pause(mut self, pause: Duration) -> Self {
        self.max_pause = pause;
        self
    }

    /// The largest serialized item; bigger ones are truncated before they are sent.
    ///
    /// ```
    /// let config = tracing_logbook::notify::NotifyConfig::new("token").max_payload_bytes(256 * 1024);
    /// ```
    pub fn max_payload_bytes(mut self, bytes: usize) -> Self {
        self.max_payload_bytes = bytes.max(1024);
        self
    }

    /// The configured endpoint.
    ///
    /// ```
    /// let config = tracing_logbook::notify::NotifyConfig::new("token");
    /// assert!(config.endpoint_url().starts_with("https://api.rollbar.com/"));
    /// ```
    pub fn endpoint_url(&self) -> &str {
        &self.endpoint
    }

    /// Builds the layer and its handle, sending over HTTPS with `ureq`.
    ///
    /// ```
    /// use tracing_logbook::notify::NotifyConfig;
    /// use tracing_subscriber::prelude::*;
    ///
    /// let (layer, handle) = NotifyConfig::new("token").endpoint("http://127.0.0.1:9/").build();
    /// let subscriber = tracing_subscriber::registry().with(layer);
    /// tracing::subscriber::with_default(subscriber, || tracing::info!("not an error: kept as telemetry"));
    /// assert_eq!(handle.sent(), 0);
    /// ```
    #[cfg(feature = "http-client")]
    #[cfg_attr(docsrs, doc(cfg(feature = "http-client")))]
    pub fn build(self) -> (NotifyLayer, NotifyHandle) {
        let transport = UreqTransport::new(self.connect_timeout, self.request_timeout);
        self.build_with_transport(transport)
    }

    /// Builds the layer and its handle, sending with `transport` (for tests, or another
    /// HTTP client). The timeouts are then the transport's business.
    ///
    /// # Examples
    ///
    /// ```
    /// use tracing_logbook::notify::{NotifyConfig, Request, Response, TransportError};
    /// use tracing_subscriber::prelude::*;
    ///
    /// let transport = |_: &Request<'_>| -> Result<Response, TransportError> {
    ///     Ok(Response::status(200))
    /// };
    /// let (layer, handle) = NotifyConfig::new("token").build_with_transport(transport);
    /// tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
    ///     tracing::error!("disk full");
    /// });
    /// assert!(handle.flush(std::time::Duration::from_secs(5)));
    /// assert_eq!(handle.sent(), 1);
    /// ```
    pub fn build_with_transport<T: Transport>(self, transport: T) -> (NotifyLayer, NotifyHandle) {
        let shared = Arc::new(Shared::default());
        let dedup = Arc::new(Mutex::new(Dedup::new(
            self.dedup_window,
            self.dedup_max_keys,
        )));
        let (tx, rx) = sync_channel(self.queue_size);
        let worker = Worker {
            rx,
            shared: shared.clone(),
            transport,
            settings: PayloadSettings {
                capture_email: self.capture_email,
                trusted_proxies: self.trusted_proxies.clone(),
                environment: self
                    .environment
                    .clone()
                    .unwrap_or_else(|| "production".to_owned()),
                code_version: self.code_version.clone(),
                host: self.host.clone().unwrap_or_else(hostname),
                // Without capture_email, the user's email is a secret like any other.
                scrubber: Scrubber::new(
                    self.scrub
                        .iter()
                        .map(String::as_str)
                        .chain((!self.capture_email).then_some("user.email")),
                ),
            },
            destination: self.destination(),
            policy: Policy {
                max_attempts: self.max_attempts,
                retry_backoff: self.retry_backoff,
                max_backoff: Duration::from_secs(30),
                max_pause: self.max_pause,
                max_payload_bytes: self.max_payload_bytes,
            },
            dedup: dedup.clone(),
            paused_until: None,
            down_at_shutdown: None,
            abandoned_down: 0,
        };
        let spawned = std::thread::Builder::new()
            .name(THREAD_NAME.to_owned())
            .spawn(move || worker.run());
        let tx = match spawned {
            Ok(_) => Some(tx),
            Err(e) => {
                diag::report(format_args!(
                    "cannot start the notifier thread ({e}); error notifications are off"
                ));
                shared.lock().done = true;
                None
            }
        };
        let handle = NotifyHandle {
            shared: shared.clone(),
            tx: tx.clone(),
        };
        let notifier = Notifier {
            tx,
            shared: shared.clone(),
            threshold: self.threshold,
            levels: self.levels,
            telemetry_size: self.telemetry,
            telemetry: SharedLines::new(),
            dedup,
            queue_size: self.queue_size,
            id: record::next_layer_id(),
        };
        let layer = NotifyLayer {
            // Notifications carry the system's time (an injected clock is for lines).
            spine: Spine::new(notifier, Arc::new(crate::clock::SystemClock), None),
        };
        (layer, handle)
    }
}

/// What a [`NotifyConfig::level_for_class`] (or `_target`) rule matches.
#[derive(Clone, Debug)]
enum LevelRule {
    Class(String),
    Target(String),
}

impl LevelRule {
    fn matches(&self, record: &Record<'_>) -> bool {
        match self {
            LevelRule::Target(target) => record
                .target
                .strip_prefix(target.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with("::")),
            LevelRule::Class(class) => record
                .fields
                .error_chain()
                .is_some_and(|(_, chain)| chain.iter().any(|link| link.class == class)),
        }
    }
}

/// The host name: `/proc/sys/kernel/hostname`, `HOSTNAME`, `COMPUTERNAME`, or
/// `localhost`.
fn hostname() -> String {
    crate::host::hostname().unwrap_or_else(|| "localhost".to_owned())
}

/// A [`Layer`] that sends error events and panics to Rollbar (or a Sentry-compatible
/// tracker); see the [module docs](self). Built by `NotifyConfig::build` (with the
/// `http-client` feature) or [`NotifyConfig::build_with_transport`]. A spine of one
/// output, the notifier (which can also be an output of a [`FanOut`](crate::FanOut)).
pub struct NotifyLayer {
    spine: Spine<Notifier>,
}

impl fmt::Debug for NotifyLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotifyLayer")
            .field("threshold", &self.spine.output.threshold)
            .field("telemetry", &self.spine.output.telemetry_size)
            .finish_non_exhaustive()
    }
}

impl NotifyLayer {
    /// Settings with the default values and `token`: [`NotifyConfig::new`].
    pub fn builder(token: impl Into<String>) -> NotifyConfig {
        NotifyConfig::new(token)
    }

    /// The layer's output, for a fan-out.
    pub(crate) fn into_output(self) -> Notifier {
        self.spine.into_output()
    }
}

impl crate::layer::sealed::Sealed for NotifyLayer {
    fn into_boxed(self) -> crate::layer::sealed::Boxed {
        crate::layer::sealed::Boxed(Box::new(self.into_output()))
    }
}

impl crate::layer::Output for NotifyLayer {}

impl<S> Layer<S> for NotifyLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    crate::layer::delegate_layer!(spine);
}

/// The notifier's side of a record: decides whether it is a notification, keeps the
/// recent lines for telemetry, and hands items to the delivery thread.
pub(crate) struct Notifier {
    tx: Option<SyncSender<Msg>>,
    shared: Arc<Shared>,
    threshold: Level,
    levels: Vec<(LevelRule, Option<Level>)>,
    telemetry_size: usize,
    telemetry: SharedLines,
    dedup: Arc<Mutex<Dedup>>,
    queue_size: usize,
    /// This notifier's side data on spans (a request's recent lines).
    id: usize,
}

impl Notifier {
    fn enqueue(&self, occ: Occurrence) {
        if self.shared.forked() {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let Some(tx) = &self.tx else {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        {
            let mut state = self.shared.lock();
            if state.deadline.is_some() || state.done {
                drop(state);
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
            state.pending += 1;
        }
        if let Err(e) = tx.try_send(Msg::Item(Box::new(occ))) {
            let mut state = self.shared.lock();
            state.pending = state.pending.saturating_sub(1);
            drop(state);
            self.shared.cond.notify_all();
            if matches!(e, TrySendError::Full(_)) {
                self.drop_full();
            } else {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// A forked child's record: an error is dropped and counted (the child has no
    /// worker to deliver it).
    #[cold]
    fn drop_forked(&self, record: &Record<'_>) {
        if record.level >= self.threshold && self.tx.is_some() {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            crate::lifecycle::report_forked();
        }
    }

    fn drop_full(&self) {
        self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        self.shared.queue_full.report(format_args!(
            "notification queue full: error notifications are being dropped"
        ));
    }
}

/// A telemetry line as the hot path keeps it: overwritten in place, so the ring costs no
/// allocation per line once it is full. Turned into a [`TelemetryLine`] only when an
/// error takes it along.
#[derive(Debug, Default)]
struct LineSlot {
    level: Option<Level>,
    timestamp_ms: u64,
    /// The record's time to the nanosecond, to merge shards in order.
    nanos: i128,
    channel: String,
    message: String,
    fields: FieldList,
}

impl LineSlot {
    fn fill(&mut self, record: &Record<'_>, timestamp_ms: u64) {
        self.level = Some(record.level);
        self.timestamp_ms = timestamp_ms;
        self.nanos = record.time.unix_timestamp_nanos();
        self.channel.clear();
        self.channel.push_str(record.target);
        self.message.clear();
        self.message.push_str(record.message);
        self.fields.clone_from(record.fields);
    }

    fn to_line(&self) -> TelemetryLine {
        TelemetryLine {
            level: self.level.unwrap_or(Level::Info),
            timestamp_ms: self.timestamp_ms,
            channel: self.channel.clone(),
            message: self.message.clone(),
            fields: self
                .fields
                .iter()
                .map(|(k, v)| (k, v.to_owned_value()))
                .collect(),
        }
    }
}

/// The last lines, newest last, bounded; slots are reused. On a request span, also
/// whether an error of the request was notified (or folded into a summary).
#[derive(Debug, Default)]
struct LineRing {
    lines: VecDeque<LineSlot>,
    notified: bool,
}

impl LineRing {
    fn push(&mut self, record: &Record<'_>, timestamp_ms: u64, max: usize) {
        let mut slot = if self.lines.len() >= max {
            self.lines.pop_front().unwrap_or_default()
        } else {
            LineSlot::default()
        };
        slot.fill(record, timestamp_ms);
        self.lines.push_back(slot);
    }

    fn lines(&self) -> Vec<TelemetryLine> {
        self.lines.iter().map(LineSlot::to_line).collect()
    }
}

/// How many rings the lines logged outside requests are spread over: each thread
/// writes to one ring of its own (mostly), so threads logging at once do not contend on
/// one lock. An error merges them.
const SHARDS: usize = 8;

/// A ring on a cache line of its own.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Shard(Mutex<LineRing>);

/// The lines logged outside requests, over [`SHARDS`] rings.
#[derive(Debug)]
struct SharedLines {
    shards: Box<[Shard]>,
}

impl SharedLines {
    fn new() -> SharedLines {
        SharedLines {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
        }
    }

    /// This thread's ring.
    fn mine(&self) -> &Mutex<LineRing> {
        use std::cell::Cell;
        use std::sync::atomic::AtomicUsize;
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        thread_local! {
            static SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
        }
        let i = SHARD
            .try_with(|shard| {
                if shard.get() == usize::MAX {
                    shard.set(NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS);
                }
                shard.get()
            })
            .unwrap_or(0);
        &self.shards[i].0
    }

    fn push(&self, record: &Record<'_>, timestamp_ms: u64, max: usize) {
        self.mine()
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(record, timestamp_ms, max);
    }

    /// The last `max` lines of all threads, oldest first.
    fn lines(&self, max: usize) -> Vec<TelemetryLine> {
        let mut all: Vec<(i128, TelemetryLine)> = Vec::new();
        for shard in self.shards.iter() {
            let ring = shard.0.lock().unwrap_or_else(PoisonError::into_inner);
            all.extend(ring.lines.iter().map(|slot| (slot.nanos, slot.to_line())));
        }
        // Stable: lines of one thread with the same time keep their order.
        all.sort_by_key(|(nanos, _)| *nanos);
        let skip = all.len().saturating_sub(max);
        all.into_iter().skip(skip).map(|(_, line)| line).collect()
    }
}

impl Emit for Notifier {
    fn emit(&self, record: &Record<'_>) {
        if in_worker() {
            return;
        }
        if self.shared.forked() {
            // A forked child: no worker, and locks the parent's threads may have held.
            return self.drop_forked(record);
        }
        // The level it is sent at: its own, or the first matching rule's.
        let level = match self.levels.iter().find(|(rule, _)| rule.matches(record)) {
            Some((_, level)) => *level,
            None => Some(record.level),
        };
        let notify = level.is_some_and(|l| l >= self.threshold) && self.tx.is_some();
        if !notify && self.telemetry_size == 0 {
            return;
        }
        let timestamp_ms = unix_ms(record.time);
        let request = request_span(record);
        if let (true, Some(level)) = (notify, level) {
            self.notify(record, level, request, timestamp_ms);
        }
        if self.telemetry_size > 0 {
            // A request's lines are kept on its span, so its error carries them rather
            // than its neighbours' (see `request_span`); other lines go to the ring, which
            // serves errors outside requests. Concurrent requests so share no lock.
            if let Some(entry) = request.and_then(|span| span.entry.as_ref()) {
                entry.with_side(self.id, LineRing::default, |ring: &mut LineRing| {
                    ring.push(record, timestamp_ms, self.telemetry_size)
                });
                return;
            }
            self.telemetry
                .push(record, timestamp_ms, self.telemetry_size);
        }
    }
}

/// Milliseconds since the Unix epoch.
fn unix_ms(t: time::OffsetDateTime) -> u64 {
    u64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

/// The innermost span around the record that looks like an HTTP request (it has a
/// method field), if any: the unit whose own lines and route identify an error.
fn request_span<'r>(record: &'r Record<'_>) -> Option<&'r SpanRef> {
    record.spans.iter().rev().find(|span| {
        span.data
            .fields
            .iter()
            .any(|(name, _)| matches!(name, "method" | "http.method" | "http.request.method"))
    })
}

/// The name of the web glue's response event (`web::on_response`): a 5xx response is
/// notified only when no error of its request was.
pub(crate) const RESPONSE_EVENT: &str = "http.response";

/// The first value of the span field called one of `names`, as text.
fn span_text(span: &SpanRef, names: &[&str]) -> Option<String> {
    span.data
        .fields
        .iter()
        .find(|(name, _)| names.contains(name))
        .map(|(_, value)| value.to_owned_value().to_text())
}

/// The title of a 5xx response's notification: `GET /users/{id} 500 Internal Server
/// Error` (the route, else the path without its query).
fn response_title(request: &SpanRef, message: &str) -> String {
    let method = span_text(request, &["method", "http.method", "http.request.method"]);
    let route = span_text(request, &["route", "http.route"]).or_else(|| {
        span_text(request, &["url", "uri", "path", "url.path"])
            .map(|url| url.split(['?', '#']).next().unwrap_or("").to_owned())
    });
    let mut title = String::new();
    for part in [method, route].into_iter().flatten() {
        title.push_str(&part);
        title.push(' ');
    }
    title.push_str(message);
    title
}

impl Notifier {
    fn notify(
        &self,
        record: &Record<'_>,
        level: Level,
        request: Option<&SpanRef>,
        timestamp_ms: u64,
    ) {
        // One failed request, one notification: an error the handler logged is the
        // request's notification, and its 5xx response line is then not sent.
        let entry = request.and_then(|span| span.entry.as_ref());
        let is_response = record.name == RESPONSE_EVENT;
        if let Some(entry) = entry {
            if is_response {
                if entry
                    .read_side(self.id, |side: &LineRing| side.notified)
                    .unwrap_or(false)
                {
                    return;
                }
            } else {
                entry.with_side(self.id, LineRing::default, |side: &mut LineRing| {
                    side.notified = true
                });
            }
        }
        let message = match request {
            Some(span) if is_response => response_title(span, record.message),
            _ => record.message.to_owned(),
        };
        let owned_fields = || -> Vec<(&'static str, FieldValue)> {
            record
                .fields
                .iter()
                .map(|(k, v)| (k, v.to_owned_value()))
                .collect()
        };
        let panic = if record.target == "panic"
            && record
                .fields
                .iter()
                .any(|(k, _)| k == crate::panic::FIELD_MESSAGE)
        {
            let mut fields = owned_fields();
            let mut info = PanicInfo::default();
            fields.retain(|(name, value)| {
                let slot = match *name {
                    crate::panic::FIELD_MESSAGE => {
                        info.message = value.to_text();
                        return false;
                    }
                    crate::panic::FIELD_LOCATION => &mut info.location,
                    crate::panic::FIELD_THREAD => &mut info.thread,
                    crate::panic::FIELD_BACKTRACE => &mut info.backtrace,
                    _ => return true,
                };
                *slot = Some(value.to_text());
                false
            });
            Some((info, fields))
        } else {
            None
        };
        // The event's fields as sent: a panic's without the hook's structured fields.
        let fields = || match &panic {
            Some((_, fields)) => fields.clone(),
            None => owned_fields(),
        };
        let panic_info = panic.as_ref().map(|(info, _)| info);
        let error: Vec<ErrorLink> = record
            .fields
            .error_chain()
            .map(|(_, chain)| {
                chain
                    .iter()
                    .map(|link| ErrorLink {
                        class: link.class.to_owned(),
                        message: link.message.to_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default();

        let spans_of = || -> Vec<(&'static str, Fields)> {
            record
                .spans
                .iter()
                .map(|span| (span.name, span.data.fields.to_fields()))
                .collect()
        };

        // Where it happened: the callsite, or for a panic the panic's own location and
        // the module of its innermost application frame (not the hook's).
        let (file, line, module) = match panic_info {
            Some(p) => {
                let (frames, _) =
                    backtrace::panic_trace(p.backtrace.as_deref(), p.location.as_deref());
                let (file, line, _) =
                    backtrace::parse_location(p.location.as_deref().unwrap_or(""));
                (
                    (!file.is_empty()).then(|| file.to_owned()),
                    line,
                    backtrace::panic_module(&frames),
                )
            }
            None => (
                record.file.map(str::to_owned),
                record.line,
                record.module.map(str::to_owned),
            ),
        };
        // The error's identity, the same as its fingerprint (see `Occurrence::fingerprint`):
        // its classes (`panic` for a panic, whatever the message; each error class on its
        // own) and where it happened (its group, else its callsite: a panic's location,
        // an event's file and line, never a `log` record's runtime target), plus inside
        // an HTTP request the route. A storm of any shape so folds into one item per
        // window, and its summary names what its fingerprint names.
        let group = is_response.then(|| message.clone());
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        occurrence::fingerprint_classes(panic_info.is_some(), &error).hash(&mut hasher);
        match &group {
            Some(group) => group.hash(&mut hasher),
            None => occurrence::callsite(file.as_deref(), line, module.as_deref(), record.target)
                .hash(&mut hasher),
        }
        if let Some(route) = request.and_then(|span| {
            span.data
                .fields
                .iter()
                .find(|(name, _)| matches!(*name, "route" | "http.route"))
                .map(|(_, value)| value.to_owned_value().to_text())
        }) {
            route.hash(&mut hasher);
        }
        let key = hasher.finish();
        let make = |telemetry: Vec<TelemetryLine>, spans: Vec<(&'static str, Fields)>| Occurrence {
            level,
            timestamp_ms,
            message: message.clone(),
            channel: record.target.to_owned(),
            file: file.clone(),
            line,
            module: module.clone(),
            thread: std::thread::current().name().map(str::to_owned),
            fields: fields(),
            spans,
            telemetry,
            panic: panic_info.cloned(),
            error: error.clone(),
            group: group.clone(),
            repeated: None,
            latest: None,
            trace: record.trace,
        };
        let admitted = self.dedup.lock().unwrap_or_else(|e| e.into_inner()).admit(
            key,
            Instant::now(),
            || make(Vec::new(), Vec::new()),
            |summary| {
                // The summary tells the latest repeat's fields and request: the fields
                // are refilled into one reused list, span snapshots are shared.
                if panic_info.is_some() {
                    summary.spans = spans_of();
                    summary.fields = fields();
                    return;
                }
                let latest = summary.latest.get_or_insert_with(Default::default);
                latest.fields.clone_from(record.fields);
                latest.spans.clear();
                latest.spans.extend(
                    record
                        .spans
                        .iter()
                        .map(|span| (span.name, span.data.clone())),
                );
            },
        );
        if !admitted {
            self.shared.suppressed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        // More pending than the queue holds plus the item in flight: the queue is
        // certainly full, so drop before copying telemetry and spans.
        if self.shared.lock().pending > self.queue_size {
            self.drop_full();
            return;
        }
        let telemetry: Vec<TelemetryLine> = if self.telemetry_size == 0 {
            Vec::new()
        } else if let Some(span) = request {
            // Inside a request: that request's own lines, never its neighbours'.
            span.entry
                .as_ref()
                .and_then(|entry| entry.read_side(self.id, LineRing::lines))
                .unwrap_or_default()
        } else {
            self.telemetry.lines(self.telemetry_size)
        };
        self.enqueue(make(telemetry, spans_of()));
    }
}

/// Controls the notifier's background thread; cheap to clone.
///
/// Counters only grow: [`sent`](Self::sent) + [`failed`](Self::failed) +
/// [`abandoned`](Self::abandoned) items were finished, [`dropped`](Self::dropped) never
/// reached the queue, [`suppressed`](Self::suppressed) repeats were folded into a
/// summary.
#[derive(Clone)]
pub struct NotifyHandle {
    shared: Arc<Shared>,
    tx: Option<SyncSender<Msg>>,
}

impl fmt::Debug for NotifyHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotifyHandle")
            .field("stats", &self.stats())
            .finish()
    }
}

/// A snapshot of a [`NotifyHandle`]'s counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NotifyStats {
    /// Items the server accepted.
    pub sent: u64,
    /// Re-sends (after a network error, 5xx, 429 or 413).
    pub retried: u64,
    /// Items dropped because the queue was full or the notifier was shut down.
    pub dropped: u64,
    /// Items given up on: rejected (4xx) or still failing after the last attempt.
    pub failed: u64,
    /// Repeats of an error within its dedup window (sent as one summary).
    pub suppressed: u64,
    /// Items queued or in flight when shutdown's deadline passed.
    pub abandoned: u64,
    /// Items queued or being sent now.
    pub pending: u64,
}

impl NotifyHandle {
    /// Waits until every item handed over so far has been delivered or given up on, at
    /// most `timeout`. Returns false if the timeout passed first.
    ///
    /// ```
    /// use tracing_logbook::notify::NotifyConfig;
    /// let (_layer, handle) = NotifyConfig::new("token").endpoint("http://127.0.0.1:9/").build();
    /// // Nothing queued: done at once.
    /// assert!(handle.flush(std::time::Duration::from_secs(1)));
    /// ```
    pub fn flush(&self, timeout: Duration) -> bool {
        if self.shared.forked() {
            return true;
        }
        let state = self.shared.lock();
        // On the notifier's own thread (a panic hook run by a panic caught there), no
        // item can finish while it waits: it would wait out the whole timeout.
        if in_worker() {
            return state.pending == 0;
        }
        let (state, _) =
            crate::lifecycle::Deadline::after(timeout)
                .wait_until(&self.shared.cond, state, |s| s.pending == 0 || s.done);
        state.pending == 0
    }

    /// Delivers what is queued (and the summaries of open dedup windows) and stops the
    /// background thread, taking at most `timeout` even against a hanging server.
    /// Items not delivered by then are counted as [`abandoned`](Self::abandoned) and
    /// reported on stderr. Events logged afterwards are dropped. Calling it again
    /// does nothing more.
    ///
    /// ```
    /// use tracing_logbook::notify::NotifyConfig;
    /// let (_layer, handle) = NotifyConfig::new("token").endpoint("http://127.0.0.1:9/").build();
    /// assert!(handle.shutdown(std::time::Duration::from_secs(1)));
    /// assert_eq!(handle.abandoned(), 0);
    /// ```
    pub fn shutdown(&self, timeout: Duration) -> bool {
        if self.shared.forked() {
            return true;
        }
        let deadline = crate::lifecycle::Deadline::after(timeout);
        let mut state = self.shared.lock();
        if state.deadline.is_some() {
            drop(state);
            return self.abandoned() == 0;
        }
        // Without a representable deadline, the worker still gets a bounded one: the
        // network must never hold the process hostage.
        state.deadline = Some(
            deadline
                .instant()
                .unwrap_or_else(|| Instant::now() + crate::lifecycle::SHUTDOWN_TIMEOUT),
        );
        drop(state);
        self.shared.cond.notify_all();
        // Wake a worker blocked on an empty queue. A full queue needs no wake-up: the
        // worker is busy and looks at the deadline before its next item.
        if let Some(tx) = &self.tx {
            let _ = tx.try_send(Msg::Wake);
        }
        let state = self.shared.lock();
        let (mut state, _) = deadline.wait_until(&self.shared.cond, state, |s| s.done);
        let pending = state.pending;
        if pending > 0 && !state.done {
            // What is still queued or in flight now is what the deadline abandons; the
            // worker, finishing in the background, counts no more (see `State::gave_up`).
            state.gave_up = true;
            self.shared
                .abandoned
                .fetch_add(pending as u64, Ordering::Relaxed);
        }
        drop(state);
        if pending > 0 {
            diag::report(format_args!(
                "{pending} error notification{} not delivered within the shutdown deadline of {:.1} s",
                if pending == 1 { "" } else { "s" },
                timeout.as_secs_f64()
            ));
        }
        pending == 0
    }

    /// Items sent (`written`), dropped and failed, in the shape every background
    /// destination of the crate reports (see [`NotifyHandle::stats`] for the rest).
    ///
    /// ```
    /// use tracing_logbook::notify::NotifyConfig;
    /// let (_layer, handle) = NotifyConfig::new("token").endpoint("http://127.0.0.1:9/").build();
    /// assert_eq!(handle.counts().written, 0);
    /// ```
    pub fn counts(&self) -> crate::Counts {
        crate::Counts::new(self.sent(), self.dropped(), self.failed())
    }

    /// Items the server accepted.
    ///
    /// ```
    /// use tracing_logbook::notify::NotifyConfig;
    /// let (_layer, handle) = NotifyConfig::new("token").endpoint("http://127.0.0.1:9/").build();
    /// assert_eq!(handle.sent(), 0);
    /// ```
    pub fn sent(&self) -> u64 {
        self.shared.sent.load(Ordering::Relaxed)
    }

    /// Re-sends after a network error, 5xx, 429 or 413.
    ///
    /// ```
    /// use tracing_logbook::notify::NotifyConfig;
    /// let (_layer, handle) = NotifyConfig::new("token").endpoint("http://127.0.0.1:9/").build();
    /// assert_eq!(handle.retried(), 0);
    /// ```
    pub fn retried(&self) -> u64 {
        self.shared.retried.load(Ordering::Relaxed)
    }

    /// Items dropped because the queue was full or the notifier was shut down.
    ///
    /// ```
    /// use tracing_logbook::notify::NotifyConfig;
    /// let (_layer, handle) = NotifyConfig::new("token").endpoint("http://127.0.0.1:9/").build();
    /// assert_eq!(handle.dropped(), 0);
    /// ```
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Items given up on: rejected by the server (4xx) or failing after the last attempt.
    ///
    /// ```
    /// use tracing_logbook::notify::NotifyConfig;
    /// let (_layer, handle) = NotifyConfig::new("token").endpoint("http://127.0.0.1:9/").build();
    /// assert_eq!(handle.failed(), 0);
    /// ```
    pub fn failed(&self) -> u64 {
        self.shared.failed.load(Ordering::Relaxed)
    }

    /// Repeats of an error folded into a summary by deduplication.
    ///
    /// ```
    /// use tracing_logbook::notify::NotifyConfig;
    /// let (_layer, handle) = NotifyConfig::new("token").endpoint("http://127.0.0.1:9/").build();
    /// assert_eq!(handle.suppressed(), 0);
    /// ```
    pub fn suppressed(&self) -> u64 {
        self.shared.suppressed.load(Ordering::Relaxed)
    }

    /// Items still queued or in flight when [`shutdown`](Self::shutdown)'s deadline
    /// passed.
    ///
    /// ```
    /// use tracing_logbook::notify::NotifyConfig;
    /// let (_layer, handle) = NotifyConfig::new("token").endpoint("http://127.0.0.1:9/").build();
    /// assert_eq!(handle.abandoned(), 0);
    /// ```
    pub fn abandoned(&self) -> u64 {
        self.shared.abandoned.load(Ordering::Relaxed)
    }

    /// All counters at once.
    ///
    /// ```
    /// use tracing_logbook::notify::NotifyConfig;
    /// let (_layer, handle) = NotifyConfig::new("token").endpoint("http://127.0.0.1:9/").build();
    /// let stats = handle.stats();
    /// assert_eq!((stats.sent, stats.dropped, stats.abandoned), (0, 0, 0));
    /// ```
    pub fn stats(&self) -> NotifyStats {
        NotifyStats {
            sent: self.sent(),
            retried: self.retried(),
            dropped: self.dropped(),
            failed: self.failed(),
            suppressed: self.suppressed(),
            abandoned: self.abandoned(),
            pending: match self.shared.forked() {
                true => 0,
                false => self.shared.lock().pending as u64,
            },
        }
    }
}

impl crate::lifecycle::Component for NotifyHandle {
    fn flush(&self, deadline: crate::lifecycle::Deadline) -> bool {
        NotifyHandle::flush(self, deadline.timeout())
    }
    fn shutdown(&self, deadline: crate::lifecycle::Deadline) -> bool {
        NotifyHandle::shutdown(self, deadline.timeout())
    }
    fn undelivered(&self) -> crate::lifecycle::Undelivered {
        crate::lifecycle::Undelivered {
            items: self.stats().pending,
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines from many threads land in different rings; an error gets the newest of all
    /// of them, oldest first.
    #[test]
    fn shared_lines_merge_the_newest_of_every_thread_in_order() {
        let lines = Arc::new(SharedLines::new());
        let start = time::macros::datetime!(2026-11-23 10:00 UTC);
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let lines = lines.clone();
                std::thread::spawn(move || {
                    let fields = FieldList::default();
                    for i in 0..30 {
                        // Thread t logs at t, t + 4, t + 8, ... microseconds.
                        let at = start + time::Duration::microseconds(i * 4 + t);
                        let message = format!("t{t} #{i}");
                        let record = Record::notice(at, Level::Info, &message, &fields);
                        lines.push(&record, unix_ms(at), 20);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let got: Vec<String> = lines.lines(20).into_iter().map(|l| l.message).collect();
        // The 20 newest of 120 lines: global positions 100..120.
        let want: Vec<String> = (100..120)
            .map(|n: i64| format!("t{} #{}", n % 4, n / 4))
            .collect();
        assert_eq!(got, want);
    }
}
