//! [`Env`]: which mode the program runs in, and the settings read from the environment.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::clock::{Clock, Timezone};
use crate::error::Error;
use crate::file::Compression;
use crate::filter::LogbookFilter;
use crate::layer::crossed::FingersCrossed;
use crate::layer::logbook::ColorChoice;
use crate::layout::logbook::SpanFields;

/// The variable that selects the [`Mode`].
pub const APP_ENV: &str = "APP_ENV";
/// The variable holding level directives (see [`LogbookFilter`]).
pub const RUST_LOG: &str = "RUST_LOG";
/// The variable that chooses colors: `auto` (default), `always` or `never`.
pub const LOG_COLOR: &str = "LOG_COLOR";
/// The variable that chooses the displayed time zone: `utc` (default), `local`, or a
/// fixed offset such as `+05:30`.
pub const LOG_TIMEZONE: &str = "LOG_TIMEZONE";
/// The variable naming the production log file (`-` for stdout).
pub const LOG_FILE: &str = "LOG_FILE";
/// The variable setting how many days of log files are kept (`0`: all); the size pieces
/// of a kept day are kept with it.
pub const LOG_MAX_FILES: &str = "LOG_MAX_FILES";
/// The variable setting a maximum size per log file (`100M`, `1G`, `65536`); unset: none.
pub const LOG_MAX_SIZE: &str = "LOG_MAX_SIZE";
/// The smallest [`LOG_MAX_SIZE`] accepted, 64 KiB: a smaller value is almost always a
/// size meant in other units (`LOG_MAX_SIZE=100` for 100 MB), which would start a new
/// file every few lines.
pub const LOG_MAX_SIZE_MIN: u64 = 64 * 1024;
/// The variable that makes SIGTERM and SIGINT flush the log before the process ends
/// (`1`/`true`/`yes` or `0`/`false`/`no`; default off): for programs without signal
/// handling of their own. See [`Env::flush_on_signals`].
pub const LOG_FLUSH_ON_SIGNALS: &str = "LOG_FLUSH_ON_SIGNALS";
/// The variable choosing the line format: `logbook` (default), `json` or `ecs`.
pub const LOG_FORMAT: &str = "LOG_FORMAT";
/// The variable choosing how much of a request span a Logbook line shows: `identity`
/// (default), `all` or `none` (see [`SpanFields`]).
pub const LOG_SPAN_FIELDS: &str = "LOG_SPAN_FIELDS";
/// The variable choosing how past days' files are kept: `none` (default) or `gzip`
/// (`app-2026-11-23.log.gz`, see [`Compression`]).
pub const LOG_COMPRESS: &str = "LOG_COMPRESS";
/// The variable turning on fingers-crossed buffering of request spans down to a level
/// (`debug`; `off` or unset: none), see [`FingersCrossed`].
pub const LOG_FINGERS_CROSSED: &str = "LOG_FINGERS_CROSSED";
/// The variable choosing the notification spool's directory (`off`: none), see
/// [`Env::notify_spool`]; default `<log dir>/.notify-spool` in staging and production.
pub const LOG_NOTIFY_SPOOL: &str = "LOG_NOTIFY_SPOOL";
/// The variable bounding the notification spool in bytes (`16M` by default), see
/// [`Env::notify_spool_max`].
pub const LOG_NOTIFY_SPOOL_MAX: &str = "LOG_NOTIFY_SPOOL_MAX";
/// The variable naming a directory where every notification is written as the tracker
/// would receive it, in every mode, with or without a token or DSN; see
/// [`Env::notify_preview`].
pub const LOG_NOTIFY_PREVIEW: &str = "LOG_NOTIFY_PREVIEW";

/// The format of each record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// Logbook's line: `[2026-11-23 19:28:08.123456] INFO: app: message k=v`.
    #[default]
    Logbook,
    /// One JSON object per line (see [`JsonLayer`](crate::JsonLayer)).
    Json,
    /// One JSON object per line with Elastic Common Schema names (`@timestamp`,
    /// `log.level`, `message`, `log.logger`, `ecs.version`, ...); every key is on
    /// [`EcsLayer`](crate::EcsLayer).
    Ecs,
}

/// Where production lines go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogFile {
    /// A daily rotated file, named after this path (`logs/app.log` → `logs/app-2026-11-23.log`).
    Path(PathBuf),
    /// Standard output (`LOG_FILE=-`), for containers.
    Stdout,
}

/// The default log file: `logs/<program name>.log`.
///
/// ```
/// let path = tracing_logbook::default_log_file();
/// assert!(path.starts_with("logs"));
/// assert_eq!(path.extension().unwrap(), "log");
/// ```
pub fn default_log_file() -> PathBuf {
    let name = crate::host::program_name().unwrap_or_else(|| "app".to_owned());
    PathBuf::from("logs").join(format!("{name}.log"))
}

/// Parses level directives as `RUST_LOG` (from the environment, [`Env::filter`] or
/// [`Guard::set_filter`](crate::Guard::set_filter)); the error names the variable.
pub(crate) fn parse_filter(spec: &str) -> Result<LogbookFilter, Error> {
    LogbookFilter::parse(spec).map_err(|e| Error::value(RUST_LOG, spec, e.to_string()))
}

/// Where the daily file of the configured `path` goes: a path that names a directory
/// (an existing one, one ending in `/`, or `.`/`..`) means the default file name inside
/// it (`logs/` → `logs/<program name>.log`), never a file beside it.
pub(crate) fn resolve_log_file(path: &std::path::Path) -> PathBuf {
    let text = path.as_os_str().to_string_lossy();
    let names_a_dir = text.ends_with('/')
        || text.ends_with(std::path::MAIN_SEPARATOR)
        || path.file_name().is_none()
        || path.is_dir();
    match (names_a_dir, default_log_file().file_name()) {
        (true, Some(name)) => path.join(name),
        _ => path.to_path_buf(),
    }
}

/// Parses a byte size: a number with an optional `K`, `M` or `G` suffix (powers of 1024,
/// `KB`/`KiB` spellings accepted).
fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let upper = s.to_ascii_uppercase();
    let digits_end = upper
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(upper.len());
    let (num, unit) = upper.split_at(digits_end);
    let n: u64 = num.parse().ok()?;
    let mult: u64 = match unit.trim() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult).filter(|&n| n > 0)
}

/// How the program runs, from `APP_ENV`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// `development` (the default when `APP_ENV` is unset): Logbook lines on stdout,
    /// colored on a terminal.
    Development,
    /// `test`: Logbook lines on stdout, never colored.
    Test,
    /// `staging`: behaves as production; notifications carry `environment: "staging"`.
    Staging,
    /// `production`: Logbook lines into a daily file, notifications on errors.
    Production,
}

impl Mode {
    /// The `APP_ENV` value for this mode.
    ///
    /// ```
    /// assert_eq!(tracing_logbook::Mode::Production.as_str(), "production");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Mode::Development => "development",
            Mode::Test => "test",
            Mode::Staging => "staging",
            Mode::Production => "production",
        }
    }

    /// Whether this mode behaves as production (`staging` or `production`).
    ///
    /// ```
    /// use tracing_logbook::Mode;
    /// assert!(Mode::Staging.is_production_like());
    /// assert!(!Mode::Test.is_production_like());
    /// ```
    pub const fn is_production_like(self) -> bool {
        matches!(self, Mode::Staging | Mode::Production)
    }

    fn parse(value: &str) -> Option<Mode> {
        Some(match value {
            "development" => Mode::Development,
            "test" => Mode::Test,
            "staging" => Mode::Staging,
            "production" => Mode::Production,
            _ => return None,
        })
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything [`init`](crate::init) needs: the [`Mode`] and its settings.
///
/// Read it from the environment with [`Env::from_env`], or build it in code with
/// [`Env::new`] and the setters; setters override what the environment said.
///
/// # Environment variables
///
/// | variable | values | default |
/// |---|---|---|
/// | `APP_ENV` | `development`, `test`, `staging`, `production` | `development` |
/// | `RUST_LOG` | level directives, see [`LogbookFilter`] | `info` |
/// | `LOG_COLOR` | `auto`, `always`, `never` (`NO_COLOR` also disables `auto`) | `auto` |
/// | `LOG_TIMEZONE` | `utc`, `local`, `+HH:MM` | `utc` |
/// | `LOG_FORMAT` | `logbook`, `json`, `ecs` (Elastic Common Schema JSON) | `logbook` |
/// | `LOG_SPAN_FIELDS` | `identity`, `all`, `none`: a request span's fields on each Logbook line inside it (see [`SpanFields`]) | `identity` |
/// | `LOG_FILE` | a path, or `-` for stdout (used in staging and production, and in development when set); a directory (`logs/`) means the default name inside it | `logs/<program name>.log` |
/// | `LOG_MAX_FILES` | days of files kept (a day's size pieces count as one), `0` for all | `30` |
/// | `LOG_MAX_SIZE` | bytes per file (`100M`, `1G`; at least [`LOG_MAX_SIZE_MIN`], 64K) before `app-<date>.1.log` starts | unlimited |
/// | `LOG_COMPRESS` | `none`, `gzip`: the files of days before yesterday become `app-<date>.log.gz` (see [`Compression`]) | `none` |
/// | `LOG_FINGERS_CROSSED` | a level: request spans keep their lines below `RUST_LOG` down to it, written only if an error follows (see [`FingersCrossed`]); `off` | off |
/// | `LOG_SYSLOG` | `udp://host:port`, `tcp://host:port`, `unix:///dev/log` | off |
/// | `OTEL_EXPORTER_OTLP_(LOGS_)ENDPOINT` and the other `OTEL_*` | with the `otlp` feature: every record as an OTLP log record, in every mode but `test` (the variables: the `otlp` module) | off |
/// | `ROLLBAR_ACCESS_TOKEN` | a `post_server_item` token: error notifications in staging and production | off |
/// | `ROLLBAR_ENDPOINT` | the item API URL | `https://api.rollbar.com/api/1/item/` |
/// | `ROLLBAR_CODE_VERSION` | a version or git SHA sent with every item | none |
/// | `SENTRY_DSN` | a Sentry, GlitchTip or Bugsink DSN: error notifications in staging and production (besides Rollbar's, if both are set) | off |
/// | `SENTRY_RELEASE` | the release sent with every event | none |
/// | `SENTRY_ENVIRONMENT` | the Sentry environment | the mode |
/// | `LOG_NOTIFY_SPOOL` | a directory for the notifications the tracker did not accept yet (see [the spool](crate::notify#the-spool)); `off` | `<log dir>/.notify-spool` in staging and production |
/// | `LOG_NOTIFY_SPOOL_MAX` | the spool's bound in bytes (`16M`) | `16M` |
/// | `LOG_NOTIFY_PREVIEW` | a directory: each notification written there as the tracker would receive it, in every mode, with or without a token or DSN (see [the preview](crate::notify#the-preview)) | off |
///
/// # Examples
///
/// ```
/// use tracing_logbook::{Env, Mode};
///
/// let env = Env::from_lookup(|name| match name {
///     "APP_ENV" => Some("production".to_owned()),
///     "RUST_LOG" => Some("notice,my_app=debug".to_owned()),
///     _ => None,
/// })
/// .unwrap();
/// assert_eq!(env.mode(), Mode::Production);
/// ```
#[derive(Clone)]
#[must_use]
pub struct Env {
    pub(crate) mode: Mode,
    pub(crate) filter: Option<String>,
    pub(crate) color: ColorChoice,
    pub(crate) timezone: Timezone,
    pub(crate) channels: Vec<(String, String)>,
    pub(crate) clock: Option<Arc<dyn Clock>>,
    pub(crate) format: Format,
    pub(crate) log_file: Option<LogFile>,
    pub(crate) max_files: usize,
    pub(crate) max_size: Option<u64>,
    pub(crate) lossy: bool,
    pub(crate) syslog: Option<String>,
    /// The notifiers' settings, at most one per destination, each with whether it was
    /// given in code (then it works in every mode; from the environment, only in staging
    /// and production).
    notifiers: Vec<(crate::notify::NotifyConfig, bool)>,
    pub(crate) fingers_crossed: Option<FingersCrossed>,
    pub(crate) compression: Compression,
    /// The mode new log files are created with (Unix).
    pub(crate) file_mode: u32,
    /// Whether SIGTERM/SIGINT flush the log, then end the process.
    pub(crate) flush_on_signals: bool,
    /// Layers of the program's own (OpenTelemetry, metrics), shared by clones; the first
    /// `init` or `build` takes them.
    pub(crate) layers: Arc<std::sync::Mutex<Vec<UserLayer>>>,
    /// The program's own adjustments of the daily file's builder ([`Env::file`]),
    /// applied in order after the settings above.
    pub(crate) file_builder: Vec<BuilderFn<crate::DailyFileBuilder>>,
    /// The program's own adjustments of the syslog builder ([`Env::syslog_builder`]).
    pub(crate) syslog_builder: Vec<BuilderFn<crate::syslog::SyslogLayerBuilder>>,
    /// Whether secret fields and URL passwords are masked in every output.
    pub(crate) scrub_lines: bool,
    /// How much of a request span a Logbook line shows.
    pub(crate) span_fields: SpanFields,
    /// The spool's directory: `None` the default (beside the log file in staging and
    /// production), `Some(None)` off.
    pub(crate) notify_spool: Option<Option<PathBuf>>,
    pub(crate) notify_spool_max: u64,
    pub(crate) notify_spool_max_age: std::time::Duration,
    pub(crate) notify_preview: Option<PathBuf>,
    /// The OTLP exporter's settings, when an endpoint is set.
    #[cfg(feature = "otlp")]
    pub(crate) otlp: Option<crate::otlp::OtlpLayerBuilder>,
    /// Whether the OTLP endpoint was set in code (then it exports in every mode).
    #[cfg(feature = "otlp")]
    pub(crate) otlp_explicit: bool,
    /// The program's own adjustments of the OTLP builder ([`Env::otlp`]).
    #[cfg(feature = "otlp")]
    pub(crate) otlp_builder: Vec<BuilderFn<crate::otlp::OtlpLayerBuilder>>,
    /// Without the `otlp` feature: the endpoint variable that is set, said by `init`.
    #[cfg(not(feature = "otlp"))]
    pub(crate) otlp_unbuilt: Option<&'static str>,
}

/// A change to a component's builder, kept by [`Env`] until `init` builds it.
pub(crate) type BuilderFn<B> = Arc<dyn Fn(B) -> B + Send + Sync>;

/// The subscriber under the layers given to [`Env::layer`]: tracing-subscriber's
/// registry with the crate's (reloadable) level filter. A layer written for any
/// subscriber (`impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S>`), as
/// OpenTelemetry's and most others are, fits.
pub type FilteredRegistry =
    tracing_subscriber::layer::Layered<crate::ReloadableFilter, tracing_subscriber::Registry>;

/// A layer given to [`Env::layer`].
pub(crate) type UserLayer =
    Box<dyn tracing_subscriber::Layer<FilteredRegistry> + Send + Sync + 'static>;

impl Env {
    /// Settings for `mode` with every default (nothing read from the environment).
    ///
    /// ```
    /// use tracing_logbook::{Env, Mode, Timezone};
    ///
    /// let env = Env::new(Mode::Production).filter("notice")?.timezone(Timezone::Local);
    /// assert_eq!(env.mode(), Mode::Production);
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn new(mode: Mode) -> Env {
        Env {
            mode,
            filter: None,
            color: ColorChoice::Auto,
            timezone: Timezone::Utc,
            channels: Vec::new(),
            clock: None,
            format: Format::Logbook,
            log_file: None,
            max_files: crate::DailyFile::DEFAULT_MAX_FILES,
            max_size: None,
            lossy: false,
            syslog: None,
            notifiers: Vec::new(),
            fingers_crossed: None,
            compression: Compression::None,
            file_mode: crate::DailyFile::DEFAULT_MODE,
            flush_on_signals: false,
            layers: Arc::default(),
            file_builder: Vec::new(),
            syslog_builder: Vec::new(),
            scrub_lines: true,
            span_fields: SpanFields::Identity,
            notify_spool: None,
            notify_spool_max: crate::notify::DEFAULT_SPOOL_MAX,
            notify_spool_max_age: crate::notify::DEFAULT_SPOOL_MAX_AGE,
            notify_preview: None,
            #[cfg(feature = "otlp")]
            otlp: None,
            #[cfg(feature = "otlp")]
            otlp_explicit: false,
            #[cfg(feature = "otlp")]
            otlp_builder: Vec::new(),
            #[cfg(not(feature = "otlp"))]
            otlp_unbuilt: None,
        }
    }

    /// [`Env::new`]`(`[`Mode::Development`]`)`.
    ///
    /// ```
    /// assert_eq!(tracing_logbook::Env::development().mode(), tracing_logbook::Mode::Development);
    /// ```
    pub fn development() -> Env {
        Env::new(Mode::Development)
    }

    /// [`Env::new`]`(`[`Mode::Production`]`)`.
    ///
    /// ```
    /// assert!(tracing_logbook::Env::production().mode().is_production_like());
    /// ```
    pub fn production() -> Env {
        Env::new(Mode::Production)
    }

    /// Reads the settings from the process environment (see the table above).
    ///
    /// # Errors
    ///
    /// An [`Error`] naming the variable, its value and the accepted values when a
    /// variable is set to something not understood; a typo never silently selects a
    /// mode.
    ///
    /// ```no_run
    /// fn main() -> Result<(), tracing_logbook::Error> {
    ///     let env = tracing_logbook::Env::from_env()?; // APP_ENV, RUST_LOG, LOG_FILE, ...
    ///     let _guard = tracing_logbook::init(env)?;
    ///     Ok(())
    /// }
    /// ```
    pub fn from_env() -> Result<Env, Error> {
        Env::from_os_lookup(|name| std::env::var_os(name))
    }

    /// Reads the settings through `lookup` instead of the process environment (for
    /// tests, or for configuration kept elsewhere).
    ///
    /// # Errors
    ///
    /// As [`Env::from_env`].
    ///
    /// ```
    /// let err = tracing_logbook::Env::from_lookup(|name| {
    ///     (name == "APP_ENV").then(|| "prod".to_owned())
    /// })
    /// .unwrap_err();
    /// assert_eq!(err.var(), Some("APP_ENV"));
    /// assert_eq!(
    ///     err.to_string(),
    ///     r#"invalid APP_ENV value "prod": expected one of development, test, staging, production"#
    /// );
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Env, Error> {
        Env::from_os_lookup(|name| lookup(name).map(std::ffi::OsString::from))
    }

    /// As [`from_lookup`](Self::from_lookup), with the values as the OS holds them:
    /// `LOG_FILE` is a path and keeps its bytes (no U+FFFD in a non-UTF-8 name); the
    /// other variables are text, and a non-UTF-8 value is passed on lossily so that
    /// validation names it.
    fn from_os_lookup(raw: impl Fn(&str) -> Option<std::ffi::OsString>) -> Result<Env, Error> {
        let lookup = |name: &str| {
            raw(name).map(|v| match v.into_string() {
                Ok(s) => s,
                Err(v) => v.to_string_lossy().into_owned(),
            })
        };
        let mode = match lookup(APP_ENV) {
            None => Mode::Development,
            Some(value) => Mode::parse(&value).ok_or_else(|| {
                Error::value(
                    APP_ENV,
                    value,
                    "expected one of development, test, staging, production",
                )
            })?,
        };
        let mut env = Env::new(mode);
        if let Some(spec) = lookup(RUST_LOG) {
            env = env.filter(spec)?;
        }
        if let Some(value) = lookup(LOG_COLOR) {
            env.color = match value.to_ascii_lowercase().as_str() {
                "auto" | "" => ColorChoice::Auto,
                "always" => ColorChoice::Always,
                "never" => ColorChoice::Never,
                _ => {
                    return Err(Error::value(
                        LOG_COLOR,
                        value,
                        "expected one of auto, always, never",
                    ))
                }
            };
        }
        if let Some(value) = lookup(LOG_TIMEZONE) {
            env.timezone = Timezone::parse(&value).ok_or_else(|| {
                Error::value(
                    LOG_TIMEZONE,
                    value,
                    "expected utc, local, or an offset such as +05:30",
                )
            })?;
        }
        if let Some(value) = lookup(LOG_SPAN_FIELDS) {
            env.span_fields = match value.as_str() {
                "identity" => SpanFields::Identity,
                "all" => SpanFields::All,
                "none" => SpanFields::None,
                _ => {
                    return Err(Error::value(
                        LOG_SPAN_FIELDS,
                        value,
                        "expected identity, all or none",
                    ))
                }
            };
        }
        if let Some(value) = lookup(LOG_FORMAT) {
            env.format = match value.as_str() {
                "logbook" => Format::Logbook,
                "json" => Format::Json,
                "ecs" => Format::Ecs,
                _ => {
                    return Err(Error::value(
                        LOG_FORMAT,
                        value,
                        "expected logbook, json or ecs",
                    ))
                }
            };
        }
        if let Some(value) = raw(LOG_FILE) {
            env.log_file = Some(if value == "-" {
                LogFile::Stdout
            } else if value.is_empty() {
                return Err(Error::value(
                    LOG_FILE,
                    "",
                    "expected a file path, or - for stdout",
                ));
            } else {
                LogFile::Path(value.into())
            });
        }
        if let Some(value) = lookup(LOG_MAX_FILES) {
            env.max_files = value.trim().parse().map_err(|_| {
                Error::value(
                    LOG_MAX_FILES,
                    &value,
                    "expected a number of files (0 keeps all)",
                )
            })?;
        }
        if let Some(value) = lookup(LOG_MAX_SIZE) {
            let size = parse_size(&value).ok_or_else(|| {
                Error::value(
                    LOG_MAX_SIZE,
                    &value,
                    "expected a size in bytes such as 65536, 100M or 1G",
                )
            })?;
            if size < LOG_MAX_SIZE_MIN {
                return Err(Error::value(
                    LOG_MAX_SIZE,
                    &value,
                    "below the minimum of 64K: the value is in bytes (write 100M for 100 MiB)",
                ));
            }
            env.max_size = Some(size);
        }
        if let Some(value) = lookup(LOG_FLUSH_ON_SIGNALS) {
            env.flush_on_signals = match value.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" | "" => false,
                _ => {
                    return Err(Error::value(
                        LOG_FLUSH_ON_SIGNALS,
                        value,
                        "expected 1, true, yes or 0, false, no",
                    ))
                }
            };
        }
        if let Some(value) = lookup(LOG_COMPRESS) {
            env.compression = match value.trim() {
                "" | "none" => Compression::None,
                "gzip" => Compression::Gzip,
                _ => return Err(Error::value(LOG_COMPRESS, &value, "expected none or gzip")),
            };
        }
        if let Some(value) = lookup(LOG_FINGERS_CROSSED) {
            env.fingers_crossed = match value.trim() {
                "" | "off" => None,
                level => Some(FingersCrossed::new(level.parse().map_err(|_| {
                    Error::value(
                        LOG_FINGERS_CROSSED,
                        &value,
                        "expected a level (trace, debug, info, notice, warning, error, critical) or off",
                    )
                })?)),
            };
        }
        if let Some(value) = lookup(crate::syslog::LOG_SYSLOG) {
            env = env.syslog(value)?;
        }
        if let Some(value) = raw(LOG_NOTIFY_SPOOL) {
            env.notify_spool = Some(match value.to_str() {
                Some("off") => None,
                Some("") => {
                    return Err(Error::value(
                        LOG_NOTIFY_SPOOL,
                        "",
                        "expected a directory, or off",
                    ))
                }
                _ => Some(value.into()),
            });
        }
        if let Some(value) = lookup(LOG_NOTIFY_SPOOL_MAX) {
            env.notify_spool_max = parse_size(&value).ok_or_else(|| {
                Error::value(
                    LOG_NOTIFY_SPOOL_MAX,
                    &value,
                    "expected a size in bytes such as 16M or 1G",
                )
            })?;
        }
        if let Some(value) = raw(LOG_NOTIFY_PREVIEW) {
            if value.is_empty() {
                return Err(Error::value(LOG_NOTIFY_PREVIEW, "", "expected a directory"));
            }
            env.notify_preview = Some(value.into());
        }
        #[cfg(feature = "otlp")]
        {
            env.otlp = crate::otlp::OtlpLayerBuilder::from_lookup(lookup)?;
        }
        #[cfg(not(feature = "otlp"))]
        {
            env.otlp_unbuilt = [
                "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
                "OTEL_EXPORTER_OTLP_ENDPOINT",
            ]
            .into_iter()
            .find(|var| lookup(var).is_some_and(|v| !v.trim().is_empty()));
        }
        let rollbar = crate::notify::NotifyConfig::rollbar_from_lookup(lookup, mode.as_str())?;
        let sentry = crate::notify::NotifyConfig::sentry_from_lookup(lookup, mode.as_str())?;
        for config in [rollbar, sentry].into_iter().flatten() {
            env.set_notifier(config, false);
        }
        Ok(env)
    }

    /// The mode.
    ///
    /// ```
    /// let env = tracing_logbook::Env::new(tracing_logbook::Mode::Staging);
    /// assert_eq!(env.mode().as_str(), "staging");
    /// ```
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Sets the level directives, as `RUST_LOG` would.
    ///
    /// # Errors
    ///
    /// An [`Error`] naming `RUST_LOG` and the bad directive.
    ///
    /// ```
    /// let env = tracing_logbook::Env::development().filter("info,my_app::db=trace")?;
    /// let err = tracing_logbook::Env::development().filter("eror").unwrap_err();
    /// assert_eq!(err.var(), Some("RUST_LOG"));
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn filter(mut self, spec: impl Into<String>) -> Result<Env, Error> {
        let spec = spec.into();
        parse_filter(&spec)?;
        self.filter = Some(spec);
        Ok(self)
    }

    /// Makes SIGTERM and SIGINT flush the log (within
    /// [`SHUTDOWN_TIMEOUT`](crate::SHUTDOWN_TIMEOUT)) and then end the process as the
    /// signal would have, so a service stopped by its supervisor keeps its last lines
    /// (`LOG_FLUSH_ON_SIGNALS`; Unix; off by default). [`init`](crate::init) sets it up.
    /// Its NOTICE is the log's last line: lines other threads log after the signal are
    /// dropped and counted, and the process ends only after the last whole batch is
    /// written.
    ///
    /// For programs without signal handling of their own. A program that handles
    /// signals (`tokio::signal::ctrl_c`, the `ctrlc` crate, signal-hook) to shut down
    /// gracefully should leave this off: its handler makes `main` return, and dropping
    /// the [`Guard`](crate::Guard) flushes. With both, the two race: the log is flushed
    /// either way, but the process may end right after this flush, cutting the
    /// program's own shutdown short.
    ///
    /// ```
    /// let env = tracing_logbook::Env::production().flush_on_signals(true);
    /// ```
    pub fn flush_on_signals(mut self, on: bool) -> Env {
        self.flush_on_signals = on;
        self
    }

    /// Adds a layer of the program's own (an OpenTelemetry layer, a metrics layer) to the
    /// subscriber [`init`](crate::init) installs, under the same level filter
    /// (`RUST_LOG`, and [`Guard::set_filter`](crate::Guard::set_filter) later). Call it
    /// once per layer; they see events in the order they were added, before the crate's
    /// own outputs. Clones of this `Env` share the layers: the first `init` or
    /// [`build`](crate::build) takes them.
    ///
    /// # Examples
    ///
    /// ```
    /// use tracing_subscriber::layer::{Context, Layer};
    ///
    /// /// Counts the events that pass the filter.
    /// struct Count(std::sync::Arc<std::sync::atomic::AtomicUsize>);
    /// impl<S: tracing::Subscriber> Layer<S> for Count {
    ///     fn on_event(&self, _: &tracing::Event<'_>, _: Context<'_, S>) {
    ///         self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    ///     }
    /// }
    ///
    /// let seen = std::sync::Arc::default();
    /// let env = tracing_logbook::Env::new(tracing_logbook::Mode::Test)
    ///     .filter("warning")?
    ///     .layer(Count(std::sync::Arc::clone(&seen)));
    /// let (dispatch, _guard) = tracing_logbook::build(env)?;
    /// tracing::dispatcher::with_default(&dispatch, || {
    ///     tracing::info!("filtered out for every layer");
    ///     tracing::warn!("seen by all");
    /// });
    /// assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), 1);
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn layer<L>(self, layer: L) -> Env
    where
        L: tracing_subscriber::Layer<FilteredRegistry> + Send + Sync + 'static,
    {
        self.layers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Box::new(layer));
        self
    }

    /// Sets when lines are colored.
    ///
    /// ```
    /// let env = tracing_logbook::Env::development().color(tracing_logbook::ColorChoice::Never);
    /// ```
    pub fn color(mut self, color: ColorChoice) -> Env {
        self.color = color;
        self
    }

    /// Sets how timestamps are displayed (and, in production, where the day of a daily
    /// file begins).
    ///
    /// ```
    /// use tracing_logbook::{Env, Timezone};
    /// let env = Env::production().timezone(Timezone::parse("+05:30").unwrap());
    /// ```
    pub fn timezone(mut self, timezone: Timezone) -> Env {
        self.timezone = timezone;
        self
    }

    /// Prints `name` as the channel of every event from `module` and its submodules
    /// (see [`LogbookLayerBuilder::channel`](crate::LogbookLayerBuilder::channel)).
    ///
    /// ```
    /// let env = tracing_logbook::Env::development().channel(env!("CARGO_CRATE_NAME"), "App");
    /// ```
    pub fn channel(mut self, module: impl Into<String>, name: impl Into<String>) -> Env {
        self.channels.push((module.into(), name.into()));
        self
    }

    /// Sets the record format (`LOG_FORMAT`).
    ///
    /// ```
    /// let env = tracing_logbook::Env::production().format(tracing_logbook::Format::Json);
    /// ```
    pub fn format(mut self, format: Format) -> Env {
        self.format = format;
        self
    }

    /// Sets the daily log file (`LOG_FILE`); setting it in development writes the file
    /// besides stdout.
    ///
    /// ```
    /// use tracing_logbook::{Env, LogFile};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let env = Env::production().log_file(LogFile::Path(dir.path().join("app.log")));
    /// let (_dispatch, guard) = tracing_logbook::build(env)?;
    /// assert_eq!(guard.file().unwrap().path(), dir.path().join("app.log"));
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn log_file(mut self, file: LogFile) -> Env {
        self.log_file = Some(file);
        self
    }

    /// The permission bits new log files are created with (Unix; default `0o640`), see
    /// [`DailyFileBuilder::mode`](crate::DailyFileBuilder::mode).
    ///
    /// ```
    /// # #[cfg(unix)]
    /// let env = tracing_logbook::Env::production().file_mode(0o600); // owner only
    /// ```
    #[cfg(unix)]
    pub fn file_mode(mut self, mode: u32) -> Env {
        self.file_mode = mode & 0o7777;
        self
    }

    /// Keeps the newest `n` days of files; `0` keeps all (`LOG_MAX_FILES`).
    ///
    /// ```
    /// let env = tracing_logbook::Env::production().max_files(7); // a week of days
    /// ```
    pub fn max_files(mut self, n: usize) -> Env {
        self.max_files = n;
        self
    }

    /// Starts a new file within the day when a file would grow past `bytes`
    /// (`LOG_MAX_SIZE`). Unlike the variable, no minimum is enforced here.
    ///
    /// ```
    /// let env = tracing_logbook::Env::production().max_size(Some(100 << 20)); // 100 MiB
    /// ```
    pub fn max_size(mut self, bytes: Option<u64>) -> Env {
        self.max_size = bytes;
        self
    }

    /// Drops (and counts) lines instead of making callers wait when the file writer falls
    /// behind. Off by default: no line is lost.
    ///
    /// ```
    /// let env = tracing_logbook::Env::production().lossy(true);
    /// ```
    pub fn lossy(mut self, lossy: bool) -> Env {
        self.lossy = lossy;
        self
    }

    /// Whether the value of a secret field (`password`, `token`, `secret`, `api_key`, the
    /// other names the notifiers scrub, and those given to [`NotifyConfig::scrub`]) and
    /// the password of a URL (`postgres://app:pw@db`) are masked as `***` in every output:
    /// lines, JSON, syslog, not only notifications. On by default; `false` keeps lines raw
    /// (notifications stay scrubbed whatever this says).
    ///
    /// [`NotifyConfig::scrub`]: crate::notify::NotifyConfig::scrub
    ///
    /// ```
    /// let env = tracing_logbook::Env::production().scrub_lines(false);
    /// ```
    pub fn scrub_lines(mut self, on: bool) -> Env {
        self.scrub_lines = on;
        self
    }

    /// How much of a request span each Logbook line inside it shows (`LOG_SPAN_FIELDS`,
    /// see [`SpanFields`]).
    ///
    /// ```
    /// let env = tracing_logbook::Env::production().span_fields(tracing_logbook::SpanFields::All);
    /// ```
    pub fn span_fields(mut self, span_fields: SpanFields) -> Env {
        self.span_fields = span_fields;
        self
    }

    /// Adjusts the daily file's builder with `f`: every setting of
    /// [`DailyFileBuilder`](crate::DailyFileBuilder) is reachable through `init`, those
    /// without an `Env` setter or a variable of their own included
    /// ([`buffer_lines`](crate::DailyFileBuilder::buffer_lines),
    /// [`max_wait`](crate::DailyFileBuilder::max_wait)). Applied after the settings
    /// above (it wins over them), in the order given; used only when there is a file.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let env = tracing_logbook::Env::production()
    ///     .log_file(tracing_logbook::LogFile::Path(dir.path().join("app.log")))
    ///     .file(|b| b.buffer_lines(4096).max_wait(Duration::from_millis(200)));
    /// let (_dispatch, guard) = tracing_logbook::build(env)?;
    /// assert!(guard.file().is_some());
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn file(
        mut self,
        f: impl Fn(crate::DailyFileBuilder) -> crate::DailyFileBuilder + Send + Sync + 'static,
    ) -> Env {
        self.file_builder.push(Arc::new(f));
        self
    }

    /// Adjusts the syslog destination's builder with `f` (facility, APP-NAME, queue; see
    /// [`SyslogLayerBuilder`](crate::syslog::SyslogLayerBuilder)); used only when syslog
    /// is on ([`syslog`](Self::syslog), `LOG_SYSLOG`).
    ///
    /// ```
    /// use tracing_logbook::syslog::Facility;
    ///
    /// let env = tracing_logbook::Env::production()
    ///     .syslog("udp://127.0.0.1:514")?
    ///     .syslog_builder(|b| b.facility(Facility::Local3).app_name("shop"));
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn syslog_builder(
        mut self,
        f: impl Fn(crate::syslog::SyslogLayerBuilder) -> crate::syslog::SyslogLayerBuilder
            + Send
            + Sync
            + 'static,
    ) -> Env {
        self.syslog_builder.push(Arc::new(f));
        self
    }

    /// Also sends every record to syslog (`LOG_SYSLOG`), see
    /// [`SyslogLayer`](crate::syslog::SyslogLayer).
    ///
    /// # Errors
    ///
    /// An [`Error`] naming `LOG_SYSLOG` if `url` is not understood.
    ///
    /// ```
    /// let env = tracing_logbook::Env::production().syslog("udp://127.0.0.1:514")?;
    /// assert!(tracing_logbook::Env::production().syslog("ftp://x").is_err());
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn syslog(mut self, url: impl Into<String>) -> Result<Env, Error> {
        let url = url.into();
        crate::syslog::SyslogAddr::parse(&url)?;
        self.syslog = Some(url);
        Ok(self)
    }

    /// Also exports every record over OTLP/HTTP to the logs endpoint `url` (the full
    /// URL, as `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`), in every mode (from the environment,
    /// an endpoint enables it in every mode but `test`). Settings read from the
    /// environment (headers, protocol...) are kept. See [`otlp`](crate::otlp).
    ///
    /// # Errors
    ///
    /// An [`Error`] naming `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT` if `url` is not an `http://`
    /// or `https://` URL.
    ///
    /// ```
    /// let env = tracing_logbook::Env::production().otlp_endpoint("http://127.0.0.1:4318/v1/logs")?;
    /// assert!(tracing_logbook::Env::production().otlp_endpoint("collector:4318").is_err());
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    #[cfg(feature = "otlp")]
    #[cfg_attr(docsrs, doc(cfg(feature = "otlp")))]
    pub fn otlp_endpoint(mut self, url: impl AsRef<str>) -> Result<Env, Error> {
        let fresh = crate::otlp::OtlpLayer::builder(url.as_ref())?;
        self.otlp = Some(match self.otlp.take() {
            Some(from_env) => from_env.with_endpoint_of(fresh),
            None => fresh,
        });
        self.otlp_explicit = true;
        Ok(self)
    }

    /// Adjusts the OTLP exporter's builder with `f` (every setting of
    /// [`OtlpLayerBuilder`](crate::otlp::OtlpLayerBuilder), the queue and batch size
    /// included); applied after the variables, in order; used only when an endpoint is
    /// set.
    ///
    /// ```
    /// let env = tracing_logbook::Env::production()
    ///     .otlp_endpoint("http://127.0.0.1:4318/v1/logs")?
    ///     .otlp(|b| b.queue(65536).max_batch(1024));
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    #[cfg(feature = "otlp")]
    #[cfg_attr(docsrs, doc(cfg(feature = "otlp")))]
    pub fn otlp(
        mut self,
        f: impl Fn(crate::otlp::OtlpLayerBuilder) -> crate::otlp::OtlpLayerBuilder
            + Send
            + Sync
            + 'static,
    ) -> Env {
        self.otlp_builder.push(Arc::new(f));
        self
    }

    /// Adds OTLP request headers, as `OTEL_EXPORTER_OTLP_HEADERS` (`name=value,...`,
    /// values percent-encoded).
    ///
    /// # Errors
    ///
    /// An [`Error`] naming `OTEL_EXPORTER_OTLP_HEADERS`, whose value it never shows.
    ///
    /// ```
    /// let env = tracing_logbook::Env::production().otlp_headers("x-api-key=s3cr3t")?;
    /// let err = tracing_logbook::Env::production().otlp_headers("s3cr3t").unwrap_err();
    /// assert!(!err.to_string().contains("s3cr3t"));
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    #[cfg(feature = "otlp")]
    #[cfg_attr(docsrs, doc(cfg(feature = "otlp")))]
    pub fn otlp_headers(self, headers: &str) -> Result<Env, Error> {
        let headers = crate::otlp::parse_headers(crate::otlp::OTEL_EXPORTER_OTLP_HEADERS, headers)?;
        Ok(self.otlp(move |b| {
            headers
                .iter()
                .fold(b, |b, (k, v)| b.header(k.clone(), v.clone()))
        }))
    }

    /// Sets the OTLP encoding, as `OTEL_EXPORTER_OTLP_PROTOCOL`.
    ///
    /// ```
    /// let env = tracing_logbook::Env::production().otlp_protocol(tracing_logbook::otlp::Protocol::HttpJson);
    /// ```
    #[cfg(feature = "otlp")]
    #[cfg_attr(docsrs, doc(cfg(feature = "otlp")))]
    pub fn otlp_protocol(self, protocol: crate::otlp::Protocol) -> Env {
        self.otlp(move |b| b.protocol(protocol))
    }

    /// Compresses OTLP requests, as `OTEL_EXPORTER_OTLP_COMPRESSION`.
    ///
    /// ```
    /// let env = tracing_logbook::Env::production().otlp_compression(tracing_logbook::Compression::Gzip);
    /// ```
    #[cfg(feature = "otlp")]
    #[cfg_attr(docsrs, doc(cfg(feature = "otlp")))]
    pub fn otlp_compression(self, compression: Compression) -> Env {
        self.otlp(move |b| b.compression(compression))
    }

    /// Sets the OTLP request timeout, as `OTEL_EXPORTER_OTLP_TIMEOUT`.
    ///
    /// ```
    /// let env = tracing_logbook::Env::production().otlp_timeout(std::time::Duration::from_secs(3));
    /// ```
    #[cfg(feature = "otlp")]
    #[cfg_attr(docsrs, doc(cfg(feature = "otlp")))]
    pub fn otlp_timeout(self, timeout: std::time::Duration) -> Env {
        self.otlp(move |b| b.timeout(timeout))
    }

    /// Sets the OTLP resource's `service.name`, as `OTEL_SERVICE_NAME`.
    ///
    /// ```
    /// let env = tracing_logbook::Env::production().service_name("shop");
    /// ```
    #[cfg(feature = "otlp")]
    #[cfg_attr(docsrs, doc(cfg(feature = "otlp")))]
    pub fn service_name(self, name: impl Into<String>) -> Env {
        let name = name.into();
        self.otlp(move |b| b.service_name(name.clone()))
    }

    /// Adds OTLP resource attributes, as `OTEL_RESOURCE_ATTRIBUTES` (`key=value,...`).
    ///
    /// # Errors
    ///
    /// An [`Error`] naming `OTEL_RESOURCE_ATTRIBUTES`.
    ///
    /// ```
    /// let env = tracing_logbook::Env::production()
    ///     .resource_attributes("deployment.environment=prod,team=core")?;
    /// assert!(tracing_logbook::Env::production().resource_attributes("novalue").is_err());
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    #[cfg(feature = "otlp")]
    #[cfg_attr(docsrs, doc(cfg(feature = "otlp")))]
    pub fn resource_attributes(self, attributes: &str) -> Result<Env, Error> {
        let pairs = crate::otlp::parse_resource(attributes)?;
        Ok(self.otlp(move |b| {
            pairs
                .iter()
                .fold(b, |b, (k, v)| b.resource_attribute(k.clone(), v.clone()))
        }))
    }

    /// Whether `init` will export logs over OTLP.
    #[cfg(feature = "otlp")]
    pub(crate) fn otlp_exports(&self) -> bool {
        self.otlp.is_some() && (self.otlp_explicit || self.mode != Mode::Test)
    }

    /// Sends error notifications as `config` says, to the destination its constructor
    /// chose ([`NotifyConfig::rollbar`], [`NotifyConfig::sentry`]), in every mode (from
    /// the environment, `ROLLBAR_ACCESS_TOKEN` and `SENTRY_DSN` enable them only in
    /// staging and production). One notifier per destination: a second config for the
    /// same destination replaces the first (and the one the environment gave). Each
    /// destination has its own queue, thread and counters
    /// ([`Guard::notifier`](crate::Guard::notifier)).
    ///
    /// ```
    /// use tracing_logbook::notify::{Dsn, NotifyConfig};
    /// use tracing_logbook::Env;
    ///
    /// let dsn = Dsn::parse("https://0123abcd@sentry.example.com/7")?;
    /// let env = Env::development()
    ///     .notifier(NotifyConfig::rollbar("post-server-item-token"))
    ///     .notifier(NotifyConfig::sentry(dsn));
    /// assert!(env.notifies());
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    ///
    /// [`NotifyConfig::rollbar`]: crate::notify::NotifyConfig::rollbar
    /// [`NotifyConfig::sentry`]: crate::notify::NotifyConfig::sentry
    pub fn notifier(mut self, config: crate::notify::NotifyConfig) -> Env {
        self.set_notifier(config, true);
        self
    }

    fn set_notifier(&mut self, config: crate::notify::NotifyConfig, explicit: bool) {
        self.notifiers
            .retain(|(c, _)| c.destination() != config.destination());
        self.notifiers.push((config, explicit));
    }

    /// The settings for `destination`, whether or not they are used in this mode.
    pub(crate) fn notifier_config(
        &self,
        destination: crate::notify::Destination,
    ) -> Option<&crate::notify::NotifyConfig> {
        self.notifiers
            .iter()
            .map(|(c, _)| c)
            .find(|c| c.destination() == destination)
    }

    /// The settings for `destination` when `init` uses them in this mode.
    pub(crate) fn notifies_to(
        &self,
        destination: crate::notify::Destination,
    ) -> Option<&crate::notify::NotifyConfig> {
        self.notifiers
            .iter()
            .find(|(c, explicit)| {
                c.destination() == destination && (*explicit || self.mode.is_production_like())
            })
            .map(|(c, _)| c)
    }

    /// The settings of every notifier, used in this mode or not.
    pub(crate) fn notifier_configs(&self) -> impl Iterator<Item = &crate::notify::NotifyConfig> {
        self.notifiers.iter().map(|(c, _)| c)
    }

    /// Whether `init` will send error notifications (to Rollbar, a Sentry-compatible
    /// tracker, or both).
    ///
    /// ```
    /// use tracing_logbook::{notify::NotifyConfig, Env};
    /// assert!(!Env::development().notifies());
    /// assert!(Env::development().notifier(NotifyConfig::rollbar("token")).notifies());
    /// ```
    pub fn notifies(&self) -> bool {
        crate::notify::Destination::ALL
            .into_iter()
            .any(|d| self.notifies_to(d).is_some())
    }

    /// Compresses the daily files of past days as `compression` says (`LOG_COMPRESS`);
    /// see [`DailyFileBuilder::compression`](crate::DailyFileBuilder::compression).
    ///
    /// ```
    /// use tracing_logbook::{Compression, Env};
    ///
    /// let env = Env::production().compression(Compression::Gzip);
    /// ```
    pub fn compression(mut self, compression: Compression) -> Env {
        self.compression = compression;
        self
    }

    /// Buffers the lines of request spans below the threshold as `config` says, or
    /// turns that off with `None` (`LOG_FINGERS_CROSSED`); see [`FingersCrossed`].
    ///
    /// ```
    /// use tracing_logbook::{Env, FingersCrossed, Level};
    ///
    /// let env = Env::production().fingers_crossed(Some(FingersCrossed::new(Level::Debug)));
    /// ```
    pub fn fingers_crossed(mut self, config: Option<FingersCrossed>) -> Env {
        self.fingers_crossed = config;
        self
    }

    /// Keeps the notifications the tracker did not accept yet in `dir` and replays them
    /// when it answers again and at the next start (`LOG_NOTIFY_SPOOL`); `None` turns
    /// the spool off. Without this setting, staging and production keep them in
    /// `.notify-spool` beside the log file (none when lines go to stdout). See
    /// [the spool](crate::notify#the-spool).
    ///
    /// ```
    /// let env = tracing_logbook::Env::production().notify_spool(Some("/var/spool/shop".into()));
    /// let off = tracing_logbook::Env::production().notify_spool(None);
    /// ```
    pub fn notify_spool(mut self, dir: Option<PathBuf>) -> Env {
        self.notify_spool = Some(dir);
        self
    }

    /// The spool's bound in bytes (`LOG_NOTIFY_SPOOL_MAX`, default 16 MiB): the oldest
    /// items go first when it is full.
    ///
    /// ```
    /// let env = tracing_logbook::Env::production().notify_spool_max(64 << 20);
    /// ```
    pub fn notify_spool_max(mut self, bytes: u64) -> Env {
        self.notify_spool_max = bytes;
        self
    }

    /// How old a spooled notification may grow before it is deleted unsent (default 7
    /// days).
    ///
    /// ```
    /// let env = tracing_logbook::Env::production()
    ///     .notify_spool_max_age(std::time::Duration::from_secs(24 * 3600));
    /// ```
    pub fn notify_spool_max_age(mut self, age: std::time::Duration) -> Env {
        self.notify_spool_max_age = age;
        self
    }

    /// Writes every notification to `dir` as the tracker would receive it, scrubbed (one
    /// JSON file per Rollbar item or Sentry event), in every mode (`LOG_NOTIFY_PREVIEW`).
    /// With a token or DSN in use the items are sent too; without one, nothing is sent
    /// and both formats are written. See [the preview](crate::notify#the-preview).
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let env = tracing_logbook::Env::new(tracing_logbook::Mode::Test)
    ///     .notify_preview(Some(dir.path().to_path_buf()));
    /// let (dispatch, guard) = tracing_logbook::build(env)?;
    /// tracing::dispatcher::with_default(&dispatch, || tracing::error!("payment failed"));
    /// drop(guard); // flushes
    /// let files = std::fs::read_dir(dir.path()).unwrap().count();
    /// assert_eq!(files, 2); // a Rollbar item and a Sentry event
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn notify_preview(mut self, dir: Option<PathBuf>) -> Env {
        self.notify_preview = dir;
        self
    }

    /// What `init` says on stderr, one line each, about a token or DSN that is set but
    /// not used in this mode (so that nothing is silently not sent).
    pub(crate) fn idle_credentials(&self) -> Vec<String> {
        let mut notices = Vec::new();
        for (destination, var) in [
            (
                crate::notify::Destination::Rollbar,
                crate::notify::ROLLBAR_ACCESS_TOKEN,
            ),
            (
                crate::notify::Destination::Sentry,
                crate::notify::SENTRY_DSN,
            ),
        ] {
            let set = self.notifier_config(destination).is_some();
            if set && self.notifies_to(destination).is_none() {
                notices.push(format!(
                    "{var} is set, but notifications are off in {} mode: set {APP_ENV}=staging or \
                     {APP_ENV}=production to send them",
                    self.mode.as_str()
                ));
            }
        }
        #[cfg(not(feature = "otlp"))]
        if let Some(var) = self.otlp_unbuilt {
            notices.push(format!(
                "{var} is set, but this build has no OTLP exporter: enable the `otlp` cargo \
                 feature of tracing-logbook to send logs there"
            ));
        }
        #[cfg(feature = "otlp")]
        if self.otlp.is_some() && !self.otlp_exports() {
            notices.push(format!(
                "the OTLP endpoint is set, but logs are not exported in {} mode",
                self.mode.as_str()
            ));
        }
        notices
    }

    /// Uses `clock` instead of the system clock (for tests).
    ///
    /// ```
    /// use tracing_logbook::testing::ManualClock;
    /// let clock = ManualClock::new(time::macros::datetime!(2026-11-23 23:59:59 UTC));
    /// let env = tracing_logbook::Env::production().clock(clock.clone());
    /// ```
    pub fn clock(mut self, clock: impl Clock) -> Env {
        self.clock = Some(Arc::new(clock));
        self
    }

    pub(crate) fn build_filter(&self) -> Result<LogbookFilter, Error> {
        parse_filter(self.filter.as_deref().unwrap_or(""))
    }
}

impl Env {
    /// The OTLP endpoint for `Debug` (the builder's `Debug` shows no header value).
    fn otlp_debug(&self) -> Option<&dyn fmt::Debug> {
        #[cfg(feature = "otlp")]
        return self.otlp.as_ref().map(|b| b as &dyn fmt::Debug);
        #[cfg(not(feature = "otlp"))]
        return None;
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Env")
            .field("mode", &self.mode)
            .field("filter", &self.filter)
            .field("color", &self.color)
            .field("timezone", &self.timezone)
            .field("channels", &self.channels)
            .field("format", &self.format)
            .field("log_file", &self.log_file)
            .field("max_files", &self.max_files)
            .field("max_size", &self.max_size)
            .field("lossy", &self.lossy)
            .field("syslog", &self.syslog)
            .field("notifiers", &self.notifiers)
            .field("fingers_crossed", &self.fingers_crossed)
            .field("compression", &self.compression)
            .field("file_mode", &format_args!("{:#o}", self.file_mode))
            .field("file_builder", &self.file_builder.len())
            .field("syslog_builder", &self.syslog_builder.len())
            .field("scrub_lines", &self.scrub_lines)
            .field("span_fields", &self.span_fields)
            .field("notify_spool", &self.notify_spool)
            .field("notify_preview", &self.notify_preview)
            .field("otlp", &self.otlp_debug())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::Level;

    fn env(vars: &[(&str, &str)]) -> Result<Env, Error> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Env::from_lookup(move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn span_fields_from_the_environment() {
        assert_eq!(env(&[]).unwrap().span_fields, SpanFields::Identity);
        assert_eq!(
            env(&[("LOG_SPAN_FIELDS", "all")]).unwrap().span_fields,
            SpanFields::All
        );
        assert_eq!(
            env(&[("LOG_SPAN_FIELDS", "none")]).unwrap().span_fields,
            SpanFields::None
        );
        let err = env(&[("LOG_SPAN_FIELDS", "some")]).unwrap_err().to_string();
        assert!(
            err.contains("LOG_SPAN_FIELDS") && err.contains("some"),
            "{err}"
        );
    }

    #[test]
    fn spool_and_preview_variables() {
        let e = env(&[]).unwrap();
        assert_eq!(
            (e.notify_spool.clone(), e.notify_spool_max),
            (None, 16 << 20)
        );
        let e = env(&[
            ("LOG_NOTIFY_SPOOL", "off"),
            ("LOG_NOTIFY_SPOOL_MAX", "1M"),
            ("LOG_NOTIFY_PREVIEW", "/tmp/preview"),
        ])
        .unwrap();
        assert_eq!(e.notify_spool, Some(None));
        assert_eq!(e.notify_spool_max, 1 << 20);
        assert_eq!(e.notify_preview, Some(PathBuf::from("/tmp/preview")));
        let e = env(&[("LOG_NOTIFY_SPOOL", "/var/spool/app")]).unwrap();
        assert_eq!(e.notify_spool, Some(Some(PathBuf::from("/var/spool/app"))));
        for (var, bad) in [
            ("LOG_NOTIFY_SPOOL", ""),
            ("LOG_NOTIFY_SPOOL_MAX", "lots"),
            ("LOG_NOTIFY_PREVIEW", ""),
        ] {
            assert_eq!(
                env(&[(var, bad)]).unwrap_err().var(),
                Some(var),
                "{var}={bad}"
            );
        }
    }

    #[test]
    fn app_env_values() {
        assert_eq!(env(&[]).unwrap().mode(), Mode::Development);
        for mode in [
            Mode::Development,
            Mode::Test,
            Mode::Staging,
            Mode::Production,
        ] {
            assert_eq!(env(&[("APP_ENV", mode.as_str())]).unwrap().mode(), mode);
        }
        for typo in ["prod", "Production", "", "dev"] {
            let err = env(&[("APP_ENV", typo)]).unwrap_err();
            assert_eq!(err.var(), Some("APP_ENV"));
            assert!(err
                .to_string()
                .contains("development, test, staging, production"));
        }
    }

    #[test]
    fn bad_rust_log_names_variable_and_directive() {
        let err = env(&[("RUST_LOG", "info,my_app=loud")]).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("invalid RUST_LOG value \"info,my_app=loud\""),
            "{text}"
        );
        assert!(text.contains("\"my_app=loud\""), "{text}");
    }

    #[test]
    fn production_settings() {
        let e = env(&[
            ("LOG_FILE", "/var/log/app/app.log"),
            ("LOG_MAX_FILES", "7"),
            ("LOG_MAX_SIZE", "100M"),
            ("LOG_FORMAT", "json"),
            ("LOG_SYSLOG", "tcp://127.0.0.1:601"),
        ])
        .unwrap();
        assert_eq!(
            e.log_file,
            Some(LogFile::Path("/var/log/app/app.log".into()))
        );
        assert_eq!((e.max_files, e.max_size), (7, Some(100 << 20)));
        assert_eq!(e.format, Format::Json);
        assert_eq!(env(&[("LOG_FORMAT", "ecs")]).unwrap().format, Format::Ecs);
        assert_eq!(
            env(&[("LOG_FILE", "-")]).unwrap().log_file,
            Some(LogFile::Stdout)
        );
        for (var, bad) in [
            ("LOG_FILE", ""),
            ("LOG_MAX_FILES", "many"),
            ("LOG_MAX_SIZE", "10X"),
            ("LOG_MAX_SIZE", "0"),
            ("LOG_FORMAT", "xml"),
            ("LOG_SYSLOG", "syslog.internal"),
        ] {
            assert_eq!(
                env(&[(var, bad)]).unwrap_err().var(),
                Some(var),
                "{var}={bad}"
            );
        }
        assert_eq!(parse_size("64KiB"), Some(65536));
        assert_eq!(parse_size("1g"), Some(1 << 30));
        assert!(default_log_file().starts_with("logs"));
    }

    #[test]
    fn rollbar_only_in_production_unless_asked() {
        let token = ("ROLLBAR_ACCESS_TOKEN", "tok3n");
        assert!(!env(&[token]).unwrap().notifies());
        assert!(env(&[token, ("APP_ENV", "staging")]).unwrap().notifies());
        assert!(!env(&[("APP_ENV", "production")]).unwrap().notifies());
        let err = env(&[token, ("ROLLBAR_ENDPOINT", "ftp://x")]).unwrap_err();
        assert_eq!(err.var(), Some("ROLLBAR_ENDPOINT"));
        assert!(!format!("{:?}", env(&[token]).unwrap()).contains("tok3n"));
        assert!(Env::development()
            .notifier(crate::notify::NotifyConfig::rollbar("t"))
            .notifies());
    }

    #[test]
    fn sentry_only_in_production_unless_asked() {
        use crate::notify::Destination::{Rollbar, Sentry};
        let dsn = ("SENTRY_DSN", "http://0123abcd@127.0.0.1:9000/3");
        assert!(!env(&[dsn]).unwrap().notifies());
        let e = env(&[dsn, ("APP_ENV", "production")]).unwrap();
        assert!(
            e.notifies() && e.notifies_to(Sentry).is_some() && e.notifies_to(Rollbar).is_none()
        );
        assert!(!format!("{e:?}").contains("0123abcd"));
        let both = env(&[
            dsn,
            ("ROLLBAR_ACCESS_TOKEN", "tok3n"),
            ("APP_ENV", "staging"),
            ("SENTRY_RELEASE", "app@1.2"),
            ("SENTRY_ENVIRONMENT", "eu-staging"),
        ])
        .unwrap();
        assert!(both.notifies_to(Sentry).is_some() && both.notifies_to(Rollbar).is_some());
        let err = env(&[("SENTRY_DSN", "https://0123abcd@sentry.example.com")]).unwrap_err();
        assert_eq!(err.var(), Some("SENTRY_DSN"));
        assert!(!err.to_string().contains("0123abcd"), "{err}");
        for (var, bad) in [("SENTRY_RELEASE", ""), ("SENTRY_ENVIRONMENT", "a/b")] {
            assert_eq!(env(&[dsn, (var, bad)]).unwrap_err().var(), Some(var));
        }
        let dsn = crate::notify::Dsn::parse(dsn.1).unwrap();
        assert!(Env::development()
            .notifier(crate::notify::NotifyConfig::sentry(dsn))
            .notifies());
    }

    /// One notifier per destination: the constructor's destination picks the slot, a
    /// second config for it replaces the first, whether from the environment or code.
    #[test]
    fn notifiers_are_keyed_by_their_destination() {
        use crate::notify::{Destination, Dsn, NotifyConfig};
        let dsn = Dsn::parse("http://0123abcd@127.0.0.1:9000/3").unwrap();
        let e = env(&[("ROLLBAR_ACCESS_TOKEN", "from-env")])
            .unwrap()
            .notifier(NotifyConfig::sentry(dsn))
            .notifier(NotifyConfig::rollbar("first").threshold(crate::Level::Warning))
            .notifier(NotifyConfig::rollbar("second"));
        assert_eq!(e.notifier_configs().count(), 2);
        let rollbar = e.notifies_to(Destination::Rollbar).unwrap();
        assert_eq!(rollbar.threshold_level(), crate::Level::Error);
        assert!(format!("{rollbar:?}").contains("Rollbar"));
        assert_eq!(
            e.notifies_to(Destination::Sentry)
                .map(NotifyConfig::destination),
            Some(Destination::Sentry)
        );
    }

    #[test]
    fn compression_values() {
        assert_eq!(env(&[]).unwrap().compression, Compression::None);
        let e = env(&[("LOG_COMPRESS", "gzip")]).unwrap();
        assert_eq!(e.compression, Compression::Gzip);
        let err = env(&[("LOG_COMPRESS", "zip")]).unwrap_err();
        assert_eq!(err.var(), Some("LOG_COMPRESS"));
        assert!(err.to_string().contains("\"zip\""), "{err}");
    }

    #[test]
    fn fingers_crossed_levels() {
        assert_eq!(env(&[]).unwrap().fingers_crossed, None);
        let e = env(&[("LOG_FINGERS_CROSSED", "debug")]).unwrap();
        assert_eq!(e.fingers_crossed, Some(FingersCrossed::new(Level::Debug)));
        assert_eq!(
            env(&[("LOG_FINGERS_CROSSED", "TRACE")])
                .unwrap()
                .fingers_crossed,
            Some(FingersCrossed::new(Level::Trace))
        );
        assert_eq!(
            env(&[("LOG_FINGERS_CROSSED", "off")])
                .unwrap()
                .fingers_crossed,
            None
        );
        let err = env(&[("LOG_FINGERS_CROSSED", "loud")]).unwrap_err();
        assert_eq!(err.var(), Some("LOG_FINGERS_CROSSED"));
        assert!(err.to_string().contains("\"loud\""), "{err}");
    }

    #[test]
    fn color_and_timezone() {
        let e = env(&[("LOG_COLOR", "always"), ("LOG_TIMEZONE", "local")]).unwrap();
        assert_eq!(e.color, ColorChoice::Always);
        assert_eq!(e.timezone, Timezone::Local);
        assert_eq!(
            env(&[("LOG_COLOR", "rainbow")]).unwrap_err().var(),
            Some("LOG_COLOR")
        );
        assert_eq!(
            env(&[("LOG_TIMEZONE", "CET")]).unwrap_err().var(),
            Some("LOG_TIMEZONE")
        );
    }

    #[test]
    fn a_credential_set_but_unused_in_this_mode_is_said_once_each() {
        let token = ("ROLLBAR_ACCESS_TOKEN", "secret-token-1");
        let dsn = ("SENTRY_DSN", "https://0123abcd@sentry.example.com/7");
        let dev = env(&[token, dsn]).unwrap();
        let notices = dev.idle_credentials();
        assert_eq!(notices.len(), 2, "{notices:#?}");
        assert_eq!(
            notices[0],
            "ROLLBAR_ACCESS_TOKEN is set, but notifications are off in development mode: \
             set APP_ENV=staging or APP_ENV=production to send them"
        );
        assert!(
            notices[1].starts_with("SENTRY_DSN is set"),
            "{}",
            notices[1]
        );
        for notice in &notices {
            assert!(!notice.contains("secret-token-1") && !notice.contains("0123abcd"));
        }
        assert!(env(&[token, dsn, ("APP_ENV", "staging")])
            .unwrap()
            .idle_credentials()
            .is_empty());
        assert!(env(&[]).unwrap().idle_credentials().is_empty());
        // Given in code, a notifier is used in every mode: nothing to say.
        assert!(Env::development()
            .notifier(crate::notify::NotifyConfig::rollbar("t"))
            .idle_credentials()
            .is_empty());
    }

    #[test]
    fn endpoints_dsns_and_versions_are_checked_at_start_up() {
        let token = ("ROLLBAR_ACCESS_TOKEN", "secret-token-1");
        for (endpoint, why) in [
            ("https://api.rollbar.com:99999/api/1/item/", "port"),
            ("https://api.rollbar.com:0/api/1/item/", "port"),
            ("https://bad..host/api/1/item/", "host"),
            ("https:///api/1/item/", "no host"),
            ("ftp://api.rollbar.com/", "scheme"),
            ("https://user:pw@api.rollbar.com/", "userinfo"),
        ] {
            let err = env(&[token, ("ROLLBAR_ENDPOINT", endpoint)]).unwrap_err();
            assert_eq!(err.var(), Some("ROLLBAR_ENDPOINT"), "{endpoint}");
            let text = err.to_string();
            assert!(text.contains(why), "{endpoint}: {text}");
            assert!(!text.contains("secret-token-1"), "{text}");
        }
        for dsn in [
            "https://0123abcd@sentry.example.com:70000/7",
            "https://0123abcd@sentry..example.com/7",
            "https://0123abcd@:9000/7",
        ] {
            let err = env(&[("SENTRY_DSN", dsn)]).unwrap_err();
            assert_eq!(err.var(), Some("SENTRY_DSN"), "{dsn}");
            assert!(!err.to_string().contains("0123abcd"), "{err}");
        }
        let dsn = ("SENTRY_DSN", "https://0123abcd@sentry.example.com/7");
        for (var, pair) in [
            (
                "ROLLBAR_CODE_VERSION",
                vec![token, ("ROLLBAR_CODE_VERSION", "   ")],
            ),
            ("SENTRY_RELEASE", vec![dsn, ("SENTRY_RELEASE", " \t")]),
            (
                "SENTRY_ENVIRONMENT",
                vec![dsn, ("SENTRY_ENVIRONMENT", "  ")],
            ),
        ] {
            assert_eq!(env(&pair).unwrap_err().var(), Some(var));
        }
        assert!(env(&[token, ("ROLLBAR_ENDPOINT", "http://[::1]:8080/api/1/item/")]).is_ok());
    }
}
