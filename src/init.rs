//! [`init`]: installs the layers an [`Env`] calls for as the global subscriber.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tracing_log::AsLog;
use tracing_subscriber::layer::SubscriberExt;

use crate::env::{Env, Format, LogFile, Mode};
use crate::error::Error;
use crate::layer::crossed::Crossing;
use crate::layer::logbook::{ColorChoice, LogbookLayer};
use crate::layer::Emit;
use crate::notify::Destination;
use crate::sink::{LineWriter, Stdout};
use tracing::level_filters::LevelFilter;

use crate::lifecycle::{Born, Component, Deadline, Start};

struct StdoutComponent(Arc<Stdout>);

impl Component for StdoutComponent {
    fn flush(&self, _deadline: Deadline) -> bool {
        self.0.flush();
        true
    }
}

/// The logger's handle: its counters, its filter, and [`shutdown`](Self::shutdown).
///
/// Dropping the guard of [`init`] writes every buffered line and delivers queued
/// notifications, and leaves the logger running until the process ends: lines logged
/// after it (by a runtime's tasks stopping after `main`'s body, or after `let _ =
/// init(..)`) are written by the at-exit hook. The guard's flush, the panic hook, the
/// at-exit hook and the signal flush share one deadline,
/// [`SHUTDOWN_TIMEOUT`](crate::SHUTDOWN_TIMEOUT) from the first of them (a guard
/// dropped early leaves the process's real end a deadline of its own). Dropping a guard
/// of [`build`] stops its logger (it installed nothing to flush at exit); so does
/// [`shutdown`](Self::shutdown), on any guard. In a process forked after `init`,
/// dropping the guard returns at once: the threads it would wait for are the parent's.
///
/// `std::process::exit` runs no destructors, so `init` also registers an at-exit hook
/// that flushes the logger it installed (by the same shutdown deadline): the lines
/// logged before `exit` are written even when the guard lives far from the call, and
/// what cannot be is reported on stderr.
///
/// ```no_run
/// fn main() -> Result<(), tracing_logbook::Error> {
///     let _guard = tracing_logbook::init(tracing_logbook::Env::from_env()?)?;
///     if std::env::args().count() > 3 {
///         tracing::error!("too many arguments");
///         std::process::exit(2); // the error line is in the file all the same
///     }
///     Ok(())
/// }
/// ```
#[must_use = "the guard reports what the logger did and stops it (shutdown); bind it to a named variable"]
pub struct Guard {
    components: Vec<Arc<dyn Component>>,
    filter: crate::ReloadableFilter,
    mode: Mode,
    zone: crate::clock::Zone,
    file: Option<crate::DailyFile>,
    /// One per destination, in [`Destination::ALL`](crate::notify::Destination::ALL) order.
    notifiers: Vec<crate::notify::NotifyHandle>,
    buffers: Option<Arc<crate::layer::crossed::Memory>>,
    /// The notification spool's directory, if any.
    spool: Option<std::path::PathBuf>,
    #[cfg(feature = "otlp")]
    otlp: Option<Arc<crate::otlp::OtlpHandle>>,
    #[cfg(feature = "otlp")]
    otlp_endpoint: Option<String>,
    /// Set by `init`: the guard of the installed logger.
    installed: bool,
    /// The process the background threads run in (a forked child has none).
    born: Born,
    /// [`Guard::shutdown`] ran: dropping does nothing more.
    stopped: bool,
}

impl Guard {
    /// Waits until every line and notification handed over so far has been written or
    /// delivered, at most `timeout` in all. Returns false if the timeout passed first for
    /// any part; every part is still flushed (one slow notifier does not leave the file
    /// unflushed). A timeout too large to measure (`Duration::MAX`) waits as long as it
    /// takes.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let env = tracing_logbook::Env::production()
    ///     .log_file(tracing_logbook::LogFile::Path(dir.path().join("app.log")));
    /// let (dispatch, guard) = tracing_logbook::build(env)?;
    /// tracing::dispatcher::with_default(&dispatch, || tracing::info!("flushed"));
    /// assert!(guard.flush(std::time::Duration::from_secs(5)));
    /// assert_eq!(guard.file().unwrap().written_lines(), 1);
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn flush(&self, timeout: Duration) -> bool {
        crate::lifecycle::flush_all(&self.components, Deadline::after(timeout))
    }

    /// Replaces the level filter while the program runs, with the same syntax and errors
    /// as `RUST_LOG` (an admin endpoint, a signal handler of the program's own). Every
    /// layer under the filter follows, those given to [`Env::layer`] included, and so
    /// does the `log` bridge's level.
    ///
    /// # Errors
    ///
    /// An [`Error`] naming `RUST_LOG` and the bad directive; the filter is unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// let env = tracing_logbook::Env::new(tracing_logbook::Mode::Test).filter("info")?;
    /// let (dispatch, guard) = tracing_logbook::build(env)?;
    /// tracing::dispatcher::with_default(&dispatch, || {
    ///     assert!(!tracing::enabled!(tracing::Level::DEBUG));
    ///     guard.set_filter("debug")?;
    ///     assert!(tracing::enabled!(tracing::Level::DEBUG));
    ///     assert!(guard.set_filter("eror").is_err());
    ///     Ok::<(), tracing_logbook::Error>(())
    /// })?;
    /// assert_eq!(guard.filter(), "debug");
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn set_filter(&self, spec: &str) -> Result<(), Error> {
        self.filter_handle().set_filter(spec)
    }

    /// A handle on the level filter, to clone into an admin endpoint or a signal handler:
    /// its [`set_filter`](FilterHandle::set_filter) and [`filter`](FilterHandle::filter)
    /// are the guard's, without sharing the guard.
    ///
    /// ```
    /// let env = tracing_logbook::Env::new(tracing_logbook::Mode::Test).filter("info")?;
    /// let (_dispatch, guard) = tracing_logbook::build(env)?;
    /// let handle = guard.filter_handle();
    /// std::thread::spawn(move || handle.set_filter("debug")).join().unwrap()?;
    /// assert_eq!(guard.filter(), "debug");
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn filter_handle(&self) -> FilterHandle {
        FilterHandle(self.filter.clone())
    }

    /// The level directives in force (as given to `RUST_LOG` or
    /// [`set_filter`](Self::set_filter)).
    ///
    /// ```
    /// let env = tracing_logbook::Env::new(tracing_logbook::Mode::Test).filter("notice")?;
    /// let (_dispatch, guard) = tracing_logbook::build(env)?;
    /// assert_eq!(guard.filter(), "notice");
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn filter(&self) -> String {
        self.filter.to_string()
    }

    /// The mode the logger was installed for.
    ///
    /// ```
    /// let (_dispatch, guard) = tracing_logbook::build(tracing_logbook::Env::development())?;
    /// assert_eq!(guard.mode(), tracing_logbook::Mode::Development);
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The daily file writer, when lines go to a file: its
    /// [`dropped_lines`](crate::DailyFile::dropped_lines) and
    /// [`failed_lines`](crate::DailyFile::failed_lines) counters.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let env = tracing_logbook::Env::production()
    ///     .log_file(tracing_logbook::LogFile::Path(dir.path().join("app.log")));
    /// let (dispatch, guard) = tracing_logbook::build(env)?;
    /// tracing::dispatcher::with_default(&dispatch, || tracing::info!("counted"));
    /// guard.flush(std::time::Duration::from_secs(5));
    /// let file = guard.file().unwrap();
    /// assert_eq!((file.written_lines(), file.dropped_lines(), file.failed_lines()), (1, 0, 0));
    /// // Development writes to stdout only.
    /// let (_d, dev) = tracing_logbook::build(tracing_logbook::Env::development())?;
    /// assert!(dev.file().is_none());
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn file(&self) -> Option<&crate::DailyFile> {
        self.file.as_ref()
    }

    /// The notifier of `destination`, when its variable (`ROLLBAR_ACCESS_TOKEN`,
    /// `SENTRY_DSN`) or [`Env::notifier`] turned it on: its counters (`sent`, `retried`,
    /// `dropped`, `failed`, ...).
    ///
    /// ```
    /// use tracing_logbook::notify::{Destination, NotifyConfig};
    /// use tracing_logbook::{Env, Mode};
    ///
    /// let config = NotifyConfig::rollbar("post-server-item-token").endpoint("http://127.0.0.1:9/");
    /// let (_dispatch, guard) = tracing_logbook::build(Env::new(Mode::Test).notifier(config))?;
    /// let rollbar = guard.notifier(Destination::Rollbar).unwrap();
    /// assert_eq!((rollbar.sent(), rollbar.dropped(), rollbar.failed()), (0, 0, 0));
    /// assert!(guard.notifier(Destination::Sentry).is_none());
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn notifier(
        &self,
        destination: crate::notify::Destination,
    ) -> Option<&crate::notify::NotifyHandle> {
        self.notifiers
            .iter()
            .find(|h| h.destination() == destination)
    }

    /// The fingers-crossed buffers' counters, when [`Env::fingers_crossed`] (or
    /// `LOG_FINGERS_CROSSED`) turned them on.
    ///
    /// ```
    /// use tracing_logbook::{Env, FingersCrossed, Level, LogFile, Mode};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let env = Env::new(Mode::Production)
    ///     .log_file(LogFile::Path(dir.path().join("app.log")))
    ///     .fingers_crossed(Some(FingersCrossed::new(Level::Debug)));
    /// let (dispatch, guard) = tracing_logbook::build(env)?;
    /// tracing::dispatcher::with_default(&dispatch, || {
    ///     let _request = tracing::error_span!("request").entered();
    ///     tracing::debug!("held until an error happens in the request");
    ///     assert_eq!(guard.buffered().unwrap().lines, 1);
    /// });
    /// assert_eq!(guard.buffered().unwrap().lines, 0); // the request closed
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn buffered(&self) -> Option<crate::BufferStats> {
        self.buffers.as_ref().map(|m| m.stats())
    }

    /// The OTLP exporter, when an endpoint turned it on (see [`otlp`](crate::otlp)):
    /// its counters.
    ///
    /// ```
    /// use tracing_logbook::{Env, Mode};
    ///
    /// let env = Env::new(Mode::Test).otlp_endpoint("http://127.0.0.1:9/v1/logs")?;
    /// let (_dispatch, guard) = tracing_logbook::build(env)?;
    /// assert_eq!(guard.otlp().unwrap().counts().written, 0);
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    #[cfg(feature = "otlp")]
    #[cfg_attr(docsrs, doc(cfg(feature = "otlp")))]
    pub fn otlp(&self) -> Option<&crate::otlp::OtlpHandle> {
        self.otlp.as_deref()
    }
}

impl Guard {
    /// What `init` prints on stderr in staging and production: where the lines go and
    /// which notifiers are on.
    fn summary(&self) -> String {
        let mut out = format!("{}: ", self.mode);
        match &self.file {
            Some(file) => {
                let today = self.zone.display(time::OffsetDateTime::now_utc()).date();
                out.push_str(&format!("lines go to {}", file.dated_path(today).display()));
                if cfg!(unix) {
                    out.push_str(&format!(
                        " (follow it with tail -F {})",
                        file.path().display()
                    ));
                }
            }
            None => out.push_str("lines go to stdout"),
        }
        let notifiers: Vec<&str> = self
            .notifiers
            .iter()
            .map(|h| h.destination().name())
            .collect();
        match notifiers.as_slice() {
            [] => out.push_str("; no error notifications"),
            names => out.push_str(&format!("; errors are notified to {}", names.join(" and "))),
        }
        let waiting: u64 = self.notifiers.iter().map(|h| h.spool_waiting()).sum();
        if let (Some(dir), true) = (&self.spool, waiting > 0) {
            out.push_str(&format!(
                "; {waiting} undelivered error notification{} wait in the spool {} (replayed when the tracker answers)",
                if waiting == 1 { "" } else { "s" },
                dir.display()
            ));
        }
        #[cfg(feature = "otlp")]
        if let Some(endpoint) = &self.otlp_endpoint {
            out.push_str(&format!("; records are exported over OTLP to {endpoint}"));
        }
        out.push_str("; the last lines are written when the process ends");
        out
    }
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("mode", &self.mode)
            .field("components", &self.components.len())
            .finish()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.born.forked() {
            // A forked child: the writer threads are the parent's, and the parent
            // flushes and stops them; nothing to wait for here.
            return;
        }
        if self.stopped {
            return;
        }
        // The installed guard flushes and leaves the logger running until the process
        // ends (the at-exit hook, a signal or a panic writes the last lines, within the
        // deadline this flush starts or joins): dropped early, it loses nothing. Where
        // no at-exit hook can be registered, it stops the logger as `shutdown` does.
        if self.installed && cfg!(any(unix, windows)) {
            let deadline = crate::lifecycle::shutdown_deadline(Start::Drop);
            crate::lifecycle::flush_all(&self.components, deadline);
            return;
        }
        self.stop();
    }
}

impl Guard {
    /// Stops the logger now: writes every buffered line, delivers queued
    /// notifications and stops the background threads, within
    /// [`SHUTDOWN_TIMEOUT`](crate::SHUTDOWN_TIMEOUT); true if everything was delivered.
    /// Lines logged afterwards are dropped and counted. Dropping the guard of [`init`]
    /// only flushes: the logger runs until the process ends, so that the lines logged
    /// after it (by tasks of a runtime shutting down, say) are not lost.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let env = tracing_logbook::Env::production()
    ///     .log_file(tracing_logbook::LogFile::Path(dir.path().join("app.log")));
    /// let (dispatch, guard) = tracing_logbook::build(env)?;
    /// tracing::dispatcher::with_default(&dispatch, || tracing::info!("last words"));
    /// assert!(guard.shutdown());
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn shutdown(mut self) -> bool {
        if self.born.forked() {
            self.stopped = true;
            return true;
        }
        let done = self.stop();
        self.stopped = true;
        done
    }

    /// Flushes and stops every component: the installed guard joins (or starts) the
    /// shutdown deadline the panic hook and the at-exit hook share; a guard of `build`
    /// honours a running one (a panic unwinding through it), else has its own.
    fn stop(&mut self) -> bool {
        let deadline = if self.installed {
            crate::lifecycle::clear_installed();
            crate::lifecycle::shutdown_deadline(Start::End)
        } else {
            crate::lifecycle::shutdown_deadline(Start::Own)
        };
        crate::lifecycle::shutdown_all(&self.components, deadline)
    }
}

/// A cloneable handle on the level filter of a [`Guard`] ([`Guard::filter_handle`]).
#[derive(Clone)]
pub struct FilterHandle(crate::ReloadableFilter);

impl FilterHandle {
    /// Replaces the level directives, as [`Guard::set_filter`] does.
    ///
    /// # Errors
    ///
    /// An [`Error`] naming `RUST_LOG` and the bad directive; the filter is unchanged.
    ///
    /// ```
    /// let (_dispatch, guard) = tracing_logbook::build(tracing_logbook::Env::new(tracing_logbook::Mode::Test))?;
    /// assert!(guard.filter_handle().set_filter("eror").is_err());
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn set_filter(&self, spec: &str) -> Result<(), Error> {
        self.0.set(crate::env::parse_filter(spec)?);
        Ok(())
    }

    /// The level directives in force.
    ///
    /// ```
    /// let env = tracing_logbook::Env::new(tracing_logbook::Mode::Test).filter("notice")?;
    /// let (_dispatch, guard) = tracing_logbook::build(env)?;
    /// assert_eq!(guard.filter_handle().filter(), "notice");
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn filter(&self) -> String {
        self.0.to_string()
    }
}

impl fmt::Debug for FilterHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("FilterHandle").field(&self.filter()).finish()
    }
}

/// One output of the subscriber `init` builds: every output reads the one record the
/// [`Spine`] captures per event.
type Output = Box<dyn Emit>;

/// Installs Logbook logging for `env` as the global default: the subscriber, the `log`
/// bridge (so `log::warn!` prints `WARNING`, with the record's real target as channel),
/// and the destinations the mode calls for:
///
/// | mode | lines go to | also |
/// |---|---|---|
/// | development | stdout, colored on a terminal | the daily file when `LOG_FILE` is set |
/// | test | stdout, never colored | the daily file when `LOG_FILE` is set |
/// | staging, production | the daily file (`LOG_FILE`, default `logs/<program>.log`; `-` for stdout) | panic hook; error notifications when `ROLLBAR_ACCESS_TOKEN` and/or `SENTRY_DSN` is set |
///
/// `LOG_FORMAT=json` writes JSON lines instead, and `LOG_SYSLOG` adds syslog, in every
/// mode. In staging and production the panic hook (see [`panic`](crate::panic)) logs a
/// panic as `CRITICAL` and flushes everything before the process dies.
///
/// # Errors
///
/// * `RUST_LOG` (or [`Env::filter`]) does not parse: the error names `RUST_LOG` and the
///   directive.
/// * The log file's directory cannot be created or written: the error names the path.
/// * Notifications are configured (`ROLLBAR_ACCESS_TOKEN`, `SENTRY_DSN`) in a build
///   without the `http-client` feature, which holds the HTTP client: the error names the
///   variable rather than silently sending nothing.
/// * The file writer or syslog thread cannot be started (a notifier whose thread cannot
///   start reports it on stderr and counts its items as dropped instead).
/// * A global subscriber or `log` logger is already installed, for example because
///   `init` was called before: [`Error::is_already_initialized`]. Never a panic.
///
/// # Examples
///
/// ```no_run
/// fn main() -> Result<(), tracing_logbook::Error> {
///     let _guard = tracing_logbook::init(tracing_logbook::Env::from_env()?)?;
///     tracing::info!("server started");
///     tracing_logbook::notice!(port = 8080, "listening");
///     Ok(())
/// }
/// ```
pub fn init(env: Env) -> Result<Guard, Error> {
    // Nothing is installed unless everything can be: the subscriber is checked first,
    // the `log` logger (which cannot be queried) is set before the subscriber, and the
    // hooks only after both.
    if global_subscriber_is_set() {
        return Err(Error::already_initialized("a global tracing subscriber"));
    }
    #[cfg(not(unix))]
    if env.flush_on_signals {
        return Err(Error::value(
            crate::env::LOG_FLUSH_ON_SIGNALS,
            "1",
            "flushing on signals needs a Unix system",
        ));
    }
    let flush_on_signals = env.flush_on_signals;
    for notice in env.idle_credentials() {
        crate::diag::report(format_args!("{notice}"));
    }
    let (dispatch, mut guard, max_level) = assemble(env)?;
    crate::record::from_log::install(max_level.as_log())
        .map_err(|_| Error::already_initialized("a `log` logger"))?;
    tracing::dispatcher::set_global_default(dispatch)
        .map_err(|_| Error::already_initialized("a global tracing subscriber"))?;

    crate::lifecycle::set_installed(guard.components.clone());
    guard.installed = true;
    crate::lifecycle::install_at_exit();
    #[cfg(unix)]
    if flush_on_signals {
        if let Err(err) = crate::lifecycle::install_signal_flush() {
            crate::diag::report(format_args!(
                "LOG_FLUSH_ON_SIGNALS: cannot handle SIGTERM and SIGINT ({err}); they end \
                 the process without flushing the log"
            ));
        }
    }
    // In every mode: a panic is a CRITICAL record with its request, in development too.
    crate::panic::install_hook();
    if guard.mode.is_production_like() {
        crate::diag::report(format_args!("{}", guard.summary()));
    }
    Ok(guard)
}

/// Whether a global tracing subscriber is installed. tracing has no query for it, and
/// the current dispatcher may be a scoped one (`with_default`), so the question is asked
/// on a new thread, which has no scoped dispatcher: there the current one is the global
/// one, or none.
fn global_subscriber_is_set() -> bool {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("tracing-logbook-init".into())
            .spawn_scoped(scope, || {
                tracing::dispatcher::get_default(|d| {
                    !d.is::<tracing_core::subscriber::NoSubscriber>()
                })
            })
            .ok()
            .and_then(|thread| thread.join().ok())
            // Without a thread to ask, setting the subscriber will tell.
            .unwrap_or(false)
    })
}

/// Builds exactly the subscriber [`init`] would install for `env`, without installing
/// anything: no global default, no `log` bridge, no panic hook. For benchmarks, for
/// tests that want production's layers under `tracing::dispatcher::with_default`, and
/// for programs that install the subscriber themselves.
///
/// The [`Guard`] owns the background threads as with [`init`].
///
/// # Errors
///
/// As [`init`], except that nothing can be already installed.
///
/// # Examples
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let env = tracing_logbook::Env::new(tracing_logbook::Mode::Production)
///     .log_file(tracing_logbook::LogFile::Path(dir.path().join("app.log")));
/// let (dispatch, guard) = tracing_logbook::build(env)?;
/// tracing::dispatcher::with_default(&dispatch, || tracing::info!("into the file"));
/// assert!(guard.flush(std::time::Duration::from_secs(5)));
/// assert_eq!(guard.file().unwrap().failed_lines(), 0);
/// # Ok::<(), tracing_logbook::Error>(())
/// ```
pub fn build(env: Env) -> Result<(tracing::Dispatch, Guard), Error> {
    assemble(env).map(|(dispatch, guard, _)| (dispatch, guard))
}

/// [`build`], also returning the filter's most verbose level (for the `log` bridge).
fn assemble(
    env: Env,
) -> Result<
    (
        tracing::Dispatch,
        Guard,
        tracing::level_filters::LevelFilter,
    ),
    Error,
> {
    let filter = env.build_filter()?;
    let max_level = filter.max_level();
    // Secrets are masked at capture, for every output, with the notifiers' names.
    let names: Vec<&str> = env
        .notifier_configs()
        .flat_map(|c| c.scrub_names())
        .collect();
    crate::record::scrub::Lines::configure(names, env.scrub_lines);
    warn_hidden_notifications(&env, &filter);
    let mut layers: Vec<Output> = Vec::new();
    let mut components: Vec<Arc<dyn Component>> = Vec::new();

    let production = env.mode.is_production_like();
    let file = match (&env.log_file, production) {
        (Some(LogFile::Path(path)), _) => Some(crate::env::resolve_log_file(path)),
        (None, true) => Some(crate::env::default_log_file()),
        (Some(LogFile::Stdout), _) | (None, false) => None,
    };
    let stdout = !production || file.is_none();
    // The notification spool: beside the log file in staging and production.
    let spool = match &env.notify_spool {
        Some(setting) => setting.clone(),
        None if production => file.as_ref().map(|path| {
            path.parent()
                .unwrap_or(std::path::Path::new(""))
                .join(".notify-spool")
        }),
        None => None,
    };
    let prepare = |config: crate::notify::NotifyConfig| {
        config
            .default_environment(env.mode.as_str())
            .spool(spool.clone())
            .spool_max_bytes(env.notify_spool_max)
            .spool_max_age(env.notify_spool_max_age)
            .preview(env.notify_preview.clone())
    };

    if stdout {
        // In test mode through `print!`, which libtest captures per test.
        let writer = Arc::new(match env.mode {
            Mode::Test => Stdout::test(),
            _ => Stdout::new(),
        });
        let color = match env.mode {
            Mode::Test => ColorChoice::Never,
            _ => env.color,
        };
        layers.push(formatted(&env, color, writer.clone()));
        components.push(Arc::new(StdoutComponent(writer)));
    }
    let mut daily_file = None;
    if let Some(path) = file {
        let daily = crate::DailyFile::builder(path)
            .max_files(env.max_files)
            .max_size(env.max_size)
            .lossy(env.lossy)
            .compression(env.compression);
        #[cfg(unix)]
        let daily = daily.mode(env.file_mode);
        let daily = env.file_builder.iter().fold(daily, |b, f| f(b));
        let daily = daily.build()?;
        let color = match env.color {
            ColorChoice::Always => ColorChoice::Always,
            _ => ColorChoice::Never,
        };
        layers.push(formatted(&env, color, daily.clone()));
        components.push(Arc::new(daily.clone()));
        daily_file = Some(daily);
    }
    if let Some(url) = &env.syslog {
        let builder = crate::syslog::SyslogLayer::builder(url)?;
        let builder = env.syslog_builder.iter().fold(builder, |b, f| f(b));
        let (layer, handle) = builder.build()?;
        layers.push(Box::new(layer.into_output()));
        components.push(Arc::new(handle));
    }
    #[cfg(feature = "otlp")]
    let (otlp, otlp_endpoint) = match (&env.otlp, env.otlp_exports()) {
        (Some(builder), true) => {
            let builder = env.otlp_builder.iter().fold(builder.clone(), |b, f| f(b));
            let endpoint = builder.endpoint().to_owned();
            let (layer, handle) = builder.build()?;
            let handle = Arc::new(handle);
            layers.push(Box::new(layer.into_output()));
            // Flushed and stopped first (with part of the deadline): the losses it finds
            // then are announced in the file, stdout and syslog, stopped after it.
            components.insert(0, handle.clone());
            (Some(handle), Some(endpoint))
        }
        _ => (None, None),
    };

    // One independent layer per destination: its own queue, worker, dedup and counters,
    // so one destination's outage or rate limit never delays or drops the other's items.
    let mut notifiers = Vec::new();
    for destination in Destination::ALL {
        if let Some(config) = env.notifies_to(destination) {
            let (layer, handle) = build_notifier(prepare(config.clone()))?;
            layers.push(Box::new(layer.into_output()));
            components.push(Arc::new(handle.clone()));
            notifiers.push(handle);
        }
    }
    // LOG_NOTIFY_PREVIEW: a destination configured but not in use in this mode, or
    // every destination when none is configured, writes its payloads without sending
    // anything.
    if env.notify_preview.is_some() {
        let none = env.notifier_configs().next().is_none();
        for destination in Destination::ALL {
            if env.notifies_to(destination).is_some() {
                continue;
            }
            let config = match (env.notifier_config(destination), destination) {
                (Some(config), _) => config.clone(),
                (None, _) if !none => continue,
                (None, Destination::Rollbar) => crate::notify::NotifyConfig::rollbar("preview"),
                (None, Destination::Sentry) => {
                    match crate::notify::Dsn::parse("http://preview@127.0.0.1/1") {
                        Ok(dsn) => crate::notify::NotifyConfig::sentry(dsn),
                        Err(_) => continue,
                    }
                }
            };
            let mut config = prepare(config);
            config.preview_only = true;
            let never = |_: &crate::notify::Request<'_>| {
                Err(crate::notify::TransportError::new("preview only"))
            };
            let (layer, handle) = config.build_with_transport(never);
            layers.push(Box::new(layer.into_output()));
            components.push(Arc::new(handle));
        }
    }

    let clock = env
        .clock
        .clone()
        .unwrap_or_else(|| Arc::new(crate::clock::SystemClock));
    let filter = crate::ReloadableFilter::new(filter);
    // Fingers crossed: the filter lets the buffered levels through inside buffering
    // spans (and the `log` bridge must pass them too); the spine holds them.
    let crossing = env.fingers_crossed.map(|config| {
        filter.set_fingers_crossed(config.level());
        Crossing::new(filter.clone(), config)
    });
    let max_level = match &crossing {
        Some(c) => max_level.max(LevelFilter::from_level(c.level().to_tracing())),
        None => max_level,
    };

    let user_layers = std::mem::take(
        &mut *env
            .layers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    let spine = crate::FanOut::from_parts(layers, clock, crossing);
    let buffers = spine.buffers_memory();
    let base = tracing_subscriber::registry().with(filter.clone());
    // Without layers of the program's own the subscriber has no level for them at all
    // (an empty `Vec` of layers would even disable every callsite: its interest is
    // "never" without a layer to ask).
    let dispatch = if user_layers.is_empty() {
        tracing::Dispatch::new(base.with(spine))
    } else if buffers.is_some() {
        // The program's layers see what the threshold shows, not what the
        // fingers-crossed gate lets through for the spine to hold.
        let shown = crate::filter::gate::Threshold::new(filter.clone());
        tracing::Dispatch::new(
            base.with(tracing_subscriber::Layer::with_filter(user_layers, shown))
                .with(spine),
        )
    } else {
        tracing::Dispatch::new(base.with(user_layers).with(spine))
    };
    let guard = Guard {
        components,
        filter,
        mode: env.mode,
        zone: crate::clock::Zone::new(env.timezone),
        file: daily_file,
        notifiers,
        buffers,
        spool,
        #[cfg(feature = "otlp")]
        otlp,
        #[cfg(feature = "otlp")]
        otlp_endpoint,
        installed: false,
        born: Born::default(),
        stopped: false,
    };
    Ok((dispatch, guard, max_level))
}

/// Says once, at start-up, when `RUST_LOG` hides what a notifier would send: with
/// `RUST_LOG=critical` and notifications of errors, an `ERROR` event never reaches the
/// notifier (the filter comes first), and nothing else would say so.
fn warn_hidden_notifications(env: &Env, filter: &crate::LogbookFilter) {
    for destination in Destination::ALL {
        let Some(config) = env.notifies_to(destination) else {
            continue;
        };
        let name = destination.name();
        let threshold = config.threshold_level();
        let shown = filter.default_level();
        if shown.is_none_or(|shown| shown > threshold) {
            let spec = env.filter.as_deref().unwrap_or("");
            crate::diag::report(format_args!(
                "RUST_LOG={spec} hides {threshold} events, which the {name} notifier sends: \
                 they are not notified (the level filter comes first; RUST_LOG={} sends them)",
                threshold.as_str().to_ascii_lowercase()
            ));
        }
    }
}

/// The notifier for `config`; a build without an HTTP client names the variable that
/// enables its destination in the error.
#[cfg(feature = "http-client")]
fn build_notifier(
    config: crate::notify::NotifyConfig,
) -> Result<(crate::NotifyLayer, crate::notify::NotifyHandle), Error> {
    Ok(config.build())
}

#[cfg(not(feature = "http-client"))]
fn build_notifier(
    config: crate::notify::NotifyConfig,
) -> Result<(crate::NotifyLayer, crate::notify::NotifyHandle), Error> {
    let var = match config.destination() {
        Destination::Rollbar => crate::notify::ROLLBAR_ACCESS_TOKEN,
        Destination::Sentry => crate::notify::SENTRY_DSN,
    };
    Err(Error::value(
        var,
        "<redacted>",
        "this build has no HTTP client: enable the `http-client` cargo feature of tracing-logbook",
    ))
}

/// The formatting layer `env.format` asks for, writing to `writer`.
fn formatted<W: LineWriter>(env: &Env, color: ColorChoice, writer: W) -> Output {
    match env.format {
        Format::Logbook => Box::new(
            logbook_builder(env)
                .color(color)
                .build(writer)
                .into_output(),
        ),
        Format::Ecs => {
            let mut builder = crate::EcsLayer::builder().timezone(env.timezone);
            if let Some(clock) = &env.clock {
                builder = builder.shared_clock(clock.clone());
            }
            Box::new(builder.build(writer).into_output())
        }
        Format::Json => {
            let mut builder = crate::JsonLayer::builder().timezone(env.timezone);
            if let Some(clock) = &env.clock {
                builder = builder.shared_clock(clock.clone());
            }
            Box::new(builder.build(writer).into_output())
        }
    }
}

/// The [`LogbookLayer`] builder configured from `env` (clock, time zone, channels, color).
pub(crate) fn logbook_builder(env: &Env) -> crate::layer::logbook::LogbookLayerBuilder {
    let mut builder = LogbookLayer::builder()
        .timezone(env.timezone)
        .color(env.color)
        .span_fields(env.span_fields);
    if let Some(clock) = &env.clock {
        builder = builder.shared_clock(clock.clone());
    }
    for (module, name) in &env.channels {
        builder = builder.channel(module.clone(), name.clone());
    }
    builder
}
