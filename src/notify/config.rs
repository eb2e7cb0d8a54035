//! [`NotifyConfig`]: the notifier's settings, read from the environment or set in code,
//! and the build of its layer, handle and delivery thread.

use super::*;

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
/// | [`scrub`](Self::scrub) | none beyond the defaults (see the [module docs](crate::notify)) |
/// | [`capture_email`](Self::capture_email) | off |
/// | [`trust_proxy`](Self::trust_proxy) | none: the client address is the socket's |
/// | [`connect_timeout`](Self::connect_timeout) | 3 s |
/// | [`request_timeout`](Self::request_timeout) | 5 s |
/// | [`queue_size`](Self::queue_size) | 64 items |
/// | [`max_attempts`](Self::max_attempts) | 4 (1 + 3 retries) |
/// | [`retry_backoff`](Self::retry_backoff) | 500 ms, doubling, at most 30 s |
/// | [`max_rate_limit_pause`](Self::max_rate_limit_pause) | 60 s |
/// | [`max_payload_bytes`](Self::max_payload_bytes) | 512 KiB |
/// | [`spool`](Self::spool) | none (with [`init`](crate::init): `<log dir>/.notify-spool` in staging and production) |
/// | [`spool_max_bytes`](Self::spool_max_bytes) | 16 MiB ([`DEFAULT_SPOOL_MAX`]) |
/// | [`spool_max_age`](Self::spool_max_age) | 7 days ([`DEFAULT_SPOOL_MAX_AGE`]) |
/// | [`preview`](Self::preview) | none |
///
/// The access token never appears in `Debug` output, diagnostics or errors.
#[derive(Clone)]
#[must_use]
pub struct NotifyConfig {
    token: AccessToken,
    endpoint: String,
    /// Chosen by the constructor: for Sentry, `token` is the DSN's key and `endpoint`
    /// its envelope URL.
    destination: Destination,
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
    spool: Option<std::path::PathBuf>,
    spool_max_bytes: u64,
    spool_max_age: Duration,
    preview: Option<std::path::PathBuf>,
    /// Preview only: nothing is sent (no credential in use).
    pub(crate) preview_only: bool,
}

impl fmt::Debug for NotifyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotifyConfig")
            .field("destination", &self.destination)
            .field("token", &self.token)
            .field("endpoint", &self.endpoint)
            .field("environment", &self.environment)
            .field("code_version", &self.code_version)
            .field("threshold", &self.threshold)
            .field("telemetry", &self.telemetry)
            .field("dedup_window", &self.dedup_window)
            .field("queue_size", &self.queue_size)
            .field("spool", &self.spool)
            .field("preview", &self.preview)
            .finish_non_exhaustive()
    }
}

pub(super) fn valid_token(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic())
}

/// Why `url` is not a usable endpoint: an `http://` or `https://` URL with a valid host
/// and port (see [`destination::check_host_port`]) and no spaces or control characters.
pub(super) fn check_endpoint(url: &str) -> Result<(), &'static str> {
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
    /// Settings with the [default values](#default-values) that send to Rollbar with the
    /// project access token `token` ([`Destination::Rollbar`]).
    ///
    /// ```
    /// use tracing_logbook::notify::{Destination, NotifyConfig};
    /// let config = NotifyConfig::rollbar("post-server-item-token");
    /// assert_eq!(config.endpoint_url(), "https://api.rollbar.com/api/1/item/");
    /// assert_eq!(config.destination(), Destination::Rollbar);
    /// ```
    pub fn rollbar(token: impl Into<String>) -> NotifyConfig {
        NotifyConfig {
            token: AccessToken::new(token),
            endpoint: DEFAULT_ENDPOINT.to_owned(),
            destination: Destination::Rollbar,
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
            spool: None,
            spool_max_bytes: DEFAULT_SPOOL_MAX,
            spool_max_age: DEFAULT_SPOOL_MAX_AGE,
            preview: None,
            preview_only: false,
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
    /// let none = NotifyConfig::rollbar_from_lookup(|_| None, "production").unwrap();
    /// assert!(none.is_none());
    ///
    /// let err = NotifyConfig::rollbar_from_lookup(
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
    pub fn rollbar_from_lookup(
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
        let mut config = NotifyConfig::rollbar(token).environment(environment);
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

    /// [`rollbar_from_lookup`](Self::rollbar_from_lookup) on the process environment.
    ///
    /// # Errors
    ///
    /// As [`rollbar_from_lookup`](Self::rollbar_from_lookup).
    pub fn rollbar_from_env(environment: &str) -> Result<Option<NotifyConfig>, Error> {
        NotifyConfig::rollbar_from_lookup(
            |name| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned()),
            environment,
        )
    }

    /// Settings with the [default values](#default-values) that send to a Sentry-compatible
    /// tracker (Sentry, GlitchTip, Bugsink), [`Destination::Sentry`]: events in envelopes to
    /// [`Dsn::envelope_url`], authenticated with the DSN's key. Every other setting means
    /// the same; [`code_version`](Self::code_version) is the Sentry `release` and
    /// [`host`](Self::host) its `server_name`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tracing_logbook::notify::{Destination, Dsn, NotifyConfig};
    ///
    /// let dsn = Dsn::parse("https://0123abcd@sentry.example.com/7")?;
    /// let config = NotifyConfig::sentry(dsn).environment("staging");
    /// assert_eq!(config.endpoint_url(), "https://sentry.example.com/api/7/envelope/");
    /// assert_eq!(config.destination(), Destination::Sentry);
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn sentry(dsn: Dsn) -> NotifyConfig {
        let mut config = NotifyConfig::rollbar(dsn.public_key().expose());
        config.endpoint = dsn.envelope_url();
        config.destination = Destination::Sentry;
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

    /// Where these settings send: chosen by the constructor,
    /// [`rollbar`](Self::rollbar) or [`sentry`](Self::sentry).
    ///
    /// ```
    /// use tracing_logbook::notify::{Destination, Dsn, NotifyConfig};
    /// let dsn = Dsn::parse("https://0123abcd@sentry.example.com/7")?;
    /// assert_eq!(NotifyConfig::sentry(dsn).destination(), Destination::Sentry);
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn destination(&self) -> Destination {
        self.destination
    }

    fn protocol(&self) -> Box<dyn Protocol> {
        match self.destination {
            Destination::Sentry => Box::new(sentry::Sentry {
                endpoint: self.endpoint.clone(),
                key: self.token.clone(),
            }),
            Destination::Rollbar => Box::new(rollbar::Rollbar {
                endpoint: self.endpoint.clone(),
                token: self.token.clone(),
            }),
        }
    }

    /// The item endpoint. An invalid URL makes every request fail (reported once).
    ///
    /// ```
    /// use tracing_logbook::notify::NotifyConfig;
    /// let config = NotifyConfig::rollbar("token").endpoint("http://127.0.0.1:8080/api/1/item/");
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
    /// let config = tracing_logbook::notify::NotifyConfig::rollbar("token").environment("staging-eu");
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
    /// let config = NotifyConfig::rollbar("token")
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
    /// let config = NotifyConfig::rollbar("token").level_for_target("shop::payments", Level::Warning);
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
    /// let config = tracing_logbook::notify::NotifyConfig::rollbar("token").ignore_class("ConnectionReset");
    /// ```
    pub fn ignore_class(mut self, class: impl Into<String>) -> Self {
        self.levels.push((LevelRule::Class(class.into()), None));
        self
    }

    /// The deployed code's version (cut to 40 characters for Rollbar, 200 for Sentry,
    /// where it is the `release`; empty means none).
    ///
    /// ```
    /// let config = tracing_logbook::notify::NotifyConfig::rollbar("token").code_version(env!("CARGO_PKG_VERSION"));
    /// ```
    pub fn code_version(mut self, version: impl Into<String>) -> Self {
        let max = match self.destination {
            Destination::Rollbar => 40,
            Destination::Sentry => 200,
        };
        let version: String = version.into().chars().take(max).collect();
        self.code_version = (!version.is_empty()).then_some(version);
        self
    }

    /// `server.host` (default: the machine's host name).
    ///
    /// ```
    /// let config = tracing_logbook::notify::NotifyConfig::rollbar("token").host("web-3");
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
    /// let config = NotifyConfig::rollbar("token").threshold(Level::Warning);
    /// ```
    pub fn threshold(mut self, level: Level) -> Self {
        self.threshold = level;
        self
    }

    /// How many log lines before an error go with it as telemetry (0: none).
    ///
    /// ```
    /// let config = tracing_logbook::notify::NotifyConfig::rollbar("token").telemetry(50);
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
    /// let config = tracing_logbook::notify::NotifyConfig::rollbar("token").dedup_window(Duration::ZERO);
    /// ```
    pub fn dedup_window(mut self, window: Duration) -> Self {
        self.dedup_window = window;
        self
    }

    /// How many distinct errors are tracked for deduplication at once; beyond it, new
    /// errors are sent without being tracked.
    ///
    /// ```
    /// let config = tracing_logbook::notify::NotifyConfig::rollbar("token").dedup_max_keys(10_000);
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
    /// let config = tracing_logbook::notify::NotifyConfig::rollbar("token").capture_email(true);
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
    /// let config = tracing_logbook::notify::NotifyConfig::rollbar("token")
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
    /// let config = tracing_logbook::notify::NotifyConfig::rollbar("token").scrub("iban").scrub("ssn");
    /// ```
    pub fn scrub(mut self, name: impl Into<String>) -> Self {
        self.scrub.push(name.into());
        self
    }

    /// The least severe level sent (see [`threshold`](Self::threshold)).
    pub(crate) fn threshold_level(&self) -> Level {
        self.threshold
    }

    /// The names given to [`scrub`](Self::scrub), for the masking of every output.
    pub(crate) fn scrub_names(&self) -> impl Iterator<Item = &str> {
        self.scrub.iter().map(String::as_str)
    }

    /// How long connecting to the endpoint may take.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = tracing_logbook::notify::NotifyConfig::rollbar("token").connect_timeout(Duration::from_secs(2));
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long one whole request may take, connection included.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = tracing_logbook::notify::NotifyConfig::rollbar("token").request_timeout(Duration::from_secs(5));
    /// ```
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How many items may wait for the background thread (at least 1).
    ///
    /// ```
    /// let config = tracing_logbook::notify::NotifyConfig::rollbar("token").queue_size(256);
    /// ```
    pub fn queue_size(mut self, items: usize) -> Self {
        self.queue_size = items.max(1);
        self
    }

    /// How many times an item is sent at most, retries included (at least 1).
    ///
    /// ```
    /// let config = tracing_logbook::notify::NotifyConfig::rollbar("token").max_attempts(3);
    /// ```
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The wait before the first retry; it doubles for each further retry, up to 30 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = tracing_logbook::notify::NotifyConfig::rollbar("token").retry_backoff(Duration::from_millis(500));
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
    /// let config = tracing_logbook::notify::NotifyConfig::rollbar("token").max_rate_limit_pause(Duration::from_secs(300));
    /// ```
    pub fn max_rate_limit_pause(mut self, pause: Duration) -> Self {
        self.max_pause = pause;
        self
    }

    /// The largest serialized item; bigger ones are truncated before they are sent.
    ///
    /// ```
    /// let config = tracing_logbook::notify::NotifyConfig::rollbar("token").max_payload_bytes(256 * 1024);
    /// ```
    pub fn max_payload_bytes(mut self, bytes: usize) -> Self {
        self.max_payload_bytes = bytes.max(1024);
        self
    }

    /// Keeps the items the tracker does not accept in time in the directory `dir` (one
    /// subdirectory per destination, `rollbar/` or `sentry/`), and replays them when it
    /// answers again and at the next start; `None` turns the spool off. With
    /// [`init`](crate::init) it is `LOG_NOTIFY_SPOOL`, on by default in staging and
    /// production. See [the spool](crate::notify#the-spool).
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let config = tracing_logbook::notify::NotifyConfig::rollbar("token")
    ///     .spool(Some(dir.path().join("spool")));
    /// # let _ = config;
    /// ```
    pub fn spool(mut self, dir: Option<std::path::PathBuf>) -> Self {
        self.spool = dir;
        self
    }

    /// The most bytes the spool holds (default 16 MiB); when a new item does not fit,
    /// the oldest are deleted and counted ([`NotifyStats::spool_dropped`]).
    ///
    /// ```
    /// let config = tracing_logbook::notify::NotifyConfig::rollbar("token").spool_max_bytes(64 << 20);
    /// ```
    pub fn spool_max_bytes(mut self, bytes: u64) -> Self {
        self.spool_max_bytes = bytes;
        self
    }

    /// How old a spooled item may grow before it is deleted unsent and counted
    /// ([`NotifyStats::expired`]); default 7 days.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = tracing_logbook::notify::NotifyConfig::rollbar("token")
    ///     .spool_max_age(Duration::from_secs(24 * 3600));
    /// ```
    pub fn spool_max_age(mut self, age: Duration) -> Self {
        self.spool_max_age = age;
        self
    }

    /// Also writes every item, as the tracker would receive it (scrubbed), to the
    /// directory `dir`: one JSON file per Rollbar item or Sentry event (`LOG_NOTIFY_PREVIEW`
    /// with [`init`](crate::init), which previews without a token or DSN too). See
    /// [the preview](crate::notify#the-preview).
    ///
    /// ```
    /// use tracing_logbook::notify::{NotifyConfig, Request, Response, TransportError};
    /// use tracing_subscriber::prelude::*;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let accept = |_: &Request<'_>| -> Result<Response, TransportError> { Ok(Response::status(200)) };
    /// let (layer, handle) = NotifyConfig::rollbar("token")
    ///     .preview(Some(dir.path().to_path_buf()))
    ///     .build_with_transport(accept);
    /// tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
    ///     tracing::error!(password = "hunter2", "payment failed");
    /// });
    /// assert!(handle.flush(std::time::Duration::from_secs(5)));
    /// let file = std::fs::read_dir(dir.path()).unwrap().next().unwrap().unwrap().path();
    /// let item = std::fs::read_to_string(file).unwrap();
    /// assert!(item.contains("payment failed") && !item.contains("hunter2"));
    /// ```
    pub fn preview(mut self, dir: Option<std::path::PathBuf>) -> Self {
        self.preview = dir;
        self
    }

    /// The configured endpoint.
    ///
    /// ```
    /// let config = tracing_logbook::notify::NotifyConfig::rollbar("token");
    /// assert!(config.endpoint_url().starts_with("https://api.rollbar.com/"));
    /// ```
    pub fn endpoint_url(&self) -> &str {
        &self.endpoint
    }

    /// The HTTP client `build` sends with: `ureq`, with these settings' timeouts.
    #[cfg(feature = "http-client")]
    pub(crate) fn default_transport(&self) -> UreqTransport {
        UreqTransport::new(self.connect_timeout, self.request_timeout)
    }

    /// The notifier (the layer's output) and its handle, sending with `transport`; its
    /// delivery thread is started. The layer is built around it in `layer/notify.rs`.
    pub(crate) fn into_parts<T: Transport>(self, transport: T) -> (Notifier, NotifyHandle) {
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
                )
                .with_emails(!self.capture_email),
            },
            destination: self.protocol(),
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
            spool: self.open_spool(&shared),
            preview: self
                .preview
                .clone()
                .map(|dir| super::spool::Preview::new(dir, self.preview_only)),
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
            destination: self.destination,
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
        (notifier, handle)
    }
}

impl NotifyConfig {
    /// The spool, opened (a failure is reported and leaves it off), unless preview only.
    fn open_spool(&self, shared: &Shared) -> Option<worker::SpoolState> {
        let root = self.spool.as_ref().filter(|_| !self.preview_only)?;
        let dir = root.join(self.destination.name().to_ascii_lowercase());
        match super::spool::Spool::open(&dir, self.spool_max_bytes, self.spool_max_age) {
            Ok(spool) => {
                let waiting = spool.list().len() as u64;
                shared.waiting_at_start.store(waiting, Ordering::Relaxed);
                shared.spooling.store(true, Ordering::Relaxed);
                Some(worker::SpoolState::new(spool))
            }
            Err(err) => {
                diag::report(format_args!(
                    "cannot use the notification spool {}: {err}; undelivered notifications are not kept",
                    dir.display()
                ));
                None
            }
        }
    }
}

/// What a [`NotifyConfig::level_for_class`] (or `_target`) rule matches.
#[derive(Clone, Debug)]
pub(super) enum LevelRule {
    Class(String),
    Target(String),
}

impl LevelRule {
    pub(super) fn matches(&self, record: &Record<'_>) -> bool {
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
pub(super) fn hostname() -> String {
    crate::host::hostname().unwrap_or_else(|| "localhost".to_owned())
}
