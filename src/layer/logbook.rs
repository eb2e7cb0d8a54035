//! [`LogbookLayer`]: renders each event as one Logbook line.
//!
//! ```text
//! [2026-11-23 19:28:08.123456] NOTICE: App: listening port=8080 in request{method=GET}
//! ```
//!
//! For an event with only a message the line is byte-identical to Logbook's default
//! format, `[%Y-%m-%d %H:%M:%S.%f%z] LEVEL: channel: message`.
//!
//! # How fields and spans are printed
//!
//! After the message, each event field is printed as ` key=value`, and then, when the
//! event happened inside spans, ` in outer{key=value}:inner{key=value}` (root span first;
//! a span without fields prints just its name). String values, field names and span
//! names are printed bare when they contain only printable, non-space characters other
//! than `"`, `=` and `\`, and quoted with Rust escapes otherwise (`path="/a b"`,
//! `empty=""`). `?value` prints the `Debug` form and `%value` the `Display` form, with
//! control characters escaped. No content of an event can forge a second record or put
//! a raw control byte on the output: a newline in the message starts an indented
//! continuation line, and every other control character is escaped (`\u{1b}`).
//!
//! With the `opentelemetry` feature and tracing-opentelemetry's layer in the registry, a
//! line inside a span ends with ` trace_id=… span_id=…`, the W3C ids (lower-case hex) of
//! the innermost span.

use std::fmt;
use std::sync::Arc;

use tracing::Subscriber;
use tracing_subscriber::layer::Layer;
use tracing_subscriber::registry::LookupSpan;

use crate::clock::{Clock, SystemClock, Timezone};
use crate::layer::{self, Formatted, Spine};
use crate::layout::logbook::{LogbookLayout, SpanFields};
use crate::sink::{LineWriter, Stdout};

/// When lines are colored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ColorChoice {
    /// Colors when the destination is a terminal and `NO_COLOR` is unset or empty.
    #[default]
    Auto,
    /// Always colors (Logbook's `force_color()`).
    Always,
    /// Never colors (Logbook's `forbid_color()`).
    Never,
}

/// A [`Layer`] that writes each event as one Logbook line to a [`LineWriter`].
///
/// Build it with [`LogbookLayer::builder`]; [`init`](crate::init) builds one for you.
///
/// # The line
///
/// ```text
/// [2026-11-23 19:28:08.123456] NOTICE: App: listening port=8080 in request{method=GET}
/// ```
///
/// For an event with only a message the line is byte-identical to Logbook's default
/// format, `[%Y-%m-%d %H:%M:%S.%f] LEVEL: channel: message`, in UTC with 6-digit
/// microseconds; the tests compare it with output produced by Logbook 1.10.1 itself. The
/// channel is the event's target (`target: "App"` prints `App`; `log` records keep their
/// real, runtime target, and their key-values, `log::info!(user_id = 7; "...")`, are
/// fields like tracing's). To give a whole program one channel, as `Logger("App")` does:
/// [`Env::channel`](crate::Env::channel) or [`channel`](LogbookLayerBuilder::channel).
///
/// **Fields and spans**, which Logbook lacks, follow the message: ` key=value` for each
/// field, then ` in outer{key=value}:inner` for the spans the event happened in, root
/// first. Values (strings, `%display`, `?debug` and errors alike), field names and span
/// names are bare when they are plain words and quoted with Rust escapes otherwise
/// (`path="/a b"`, `error="timeout after 3s"`), so no value or name can read as a second
/// field or record.
///
/// **Log forging and terminal injection are impossible**, a deliberate difference from
/// Logbook, which writes messages raw: a newline in a message starts a continuation line
/// indented by two spaces (so only real records start with `[`), trailing newlines are
/// dropped, and ESC, every other control character, DEL, C1 controls, Unicode line
/// separators and bidirectional overrides are written as `\u{1b}`-style escapes. Field
/// values, span fields and channels never contain a raw newline.
///
/// **Colors** are Logbook's ColorizedStderrHandler's, wrapping the whole record: red for
/// error and critical, yellow for notice and warning, light gray below. With
/// [`ColorChoice::Auto`] they are on when stdout is a terminal, off when piped or when
/// `NO_COLOR` is set; `LOG_COLOR=always` forces them.
///
/// **Local time** is opt-in (`LOG_TIMEZONE=local` or [`Timezone::Local`]) and printed
/// with its offset, in Logbook's aware-datetime form: `[2026-11-23 20:28:08.123456+0100]`.
/// It uses `time` 0.3.37 or later, whose offset lookup is sound in multi-threaded
/// programs.
///
/// With the `opentelemetry` feature and tracing-opentelemetry's layer in the registry, a
/// line inside a span ends with ` trace_id=… span_id=…`.
///
/// # Examples
///
/// Composing it with your own layers:
///
/// ```
/// use tracing_logbook::{LogbookFilter, LogbookLayer};
/// use tracing_subscriber::prelude::*;
///
/// let subscriber = tracing_subscriber::registry()
///     .with(LogbookFilter::parse("info,my_app::db=trace").unwrap())
///     .with(LogbookLayer::builder().build_stdout());
/// tracing::subscriber::with_default(subscriber, || {
///     tracing_logbook::notice!(target: "App", port = 8080, "listening");
/// });
/// ```
pub struct LogbookLayer<W = Stdout> {
    spine: Spine<Formatted<LogbookLayout, W>>,
}

/// Builds a [`LogbookLayer`].
///
/// # Default values
///
/// | setting | default |
/// |---|---|
/// | [`clock`](Self::clock) | [`SystemClock`] |
/// | [`timezone`](Self::timezone) | [`Timezone::Utc`] (no offset printed, as Logbook) |
/// | [`color`](Self::color) | [`ColorChoice::Auto`] |
/// | [`channel`](Self::channel) | none: the channel is the event's target |
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct LogbookLayerBuilder {
    clock: Option<Arc<dyn Clock>>,
    timezone: Timezone,
    color: ColorChoice,
    channels: Vec<(String, String)>,
    span_fields: SpanFields,
}

impl LogbookLayerBuilder {
    /// Uses `clock` instead of the system clock (for tests).
    ///
    /// ```
    /// use tracing_logbook::testing::{CaptureWriter, ManualClock};
    /// use tracing_subscriber::prelude::*;
    ///
    /// let out = CaptureWriter::new();
    /// let clock = ManualClock::new(time::macros::datetime!(2026-11-23 19:28:08.123456 UTC));
    /// let layer = tracing_logbook::LogbookLayer::builder().clock(clock).build(out.clone());
    /// tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
    ///     tracing::info!(target: "App", "at a fixed time");
    /// });
    /// assert_eq!(out.take_string(), "[2026-11-23 19:28:08.123456] INFO: App: at a fixed time\n");
    /// ```
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Uses a shared clock.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tracing_logbook::testing::ManualClock;
    ///
    /// let clock: Arc<dyn tracing_logbook::Clock> =
    ///     Arc::new(ManualClock::new(time::OffsetDateTime::UNIX_EPOCH));
    /// let a = tracing_logbook::LogbookLayer::builder().shared_clock(clock.clone()).build_stdout();
    /// let b = tracing_logbook::JsonLayer::builder().shared_clock(clock).build_stdout();
    /// ```
    pub fn shared_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Sets how timestamps are displayed.
    ///
    /// ```
    /// use tracing_logbook::testing::{CaptureWriter, ManualClock};
    /// use tracing_logbook::{LogbookLayer, Timezone};
    /// use tracing_subscriber::prelude::*;
    ///
    /// let out = CaptureWriter::new();
    /// let clock = ManualClock::new(time::macros::datetime!(2026-11-23 19:28:08 UTC));
    /// let layer = LogbookLayer::builder()
    ///     .clock(clock)
    ///     .timezone(Timezone::parse("+01:00").unwrap())
    ///     .build(out.clone());
    /// tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
    ///     tracing::info!(target: "App", "local");
    /// });
    /// assert!(out.take_string().starts_with("[2026-11-23 20:28:08.000000+0100]"));
    /// ```
    pub fn timezone(mut self, timezone: Timezone) -> Self {
        self.timezone = timezone;
        self
    }

    /// Sets when lines are colored.
    ///
    /// ```
    /// use tracing_logbook::{ColorChoice, LogbookLayer};
    /// let layer = LogbookLayer::builder().color(ColorChoice::Always).build_stdout();
    /// assert!(layer.is_colored());
    /// ```
    pub fn color(mut self, color: ColorChoice) -> Self {
        self.color = color;
        self
    }

    /// How much of a request span each line inside it shows (default
    /// [`SpanFields::Identity`]).
    ///
    /// ```
    /// use tracing_logbook::testing::CaptureWriter;
    /// use tracing_logbook::{LogbookLayer, SpanFields};
    /// use tracing_subscriber::prelude::*;
    ///
    /// let out = CaptureWriter::new();
    /// let layer = LogbookLayer::builder().span_fields(SpanFields::None).build(out.clone());
    /// tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
    ///     let _in = tracing::info_span!("request", request_id = "7f3a").entered();
    ///     tracing::info!(target: "app", "inside");
    /// });
    /// assert!(out.take_string().ends_with("INFO: app: inside in request\n"));
    /// ```
    pub fn span_fields(mut self, span_fields: SpanFields) -> Self {
        self.span_fields = span_fields;
        self
    }

    /// Prints `name` as the channel of every event whose target is `module` or lies
    /// under it (`module::...`): one channel for a whole program, as Logbook's
    /// `Logger("App")`.
    ///
    /// ```
    /// # use tracing_logbook::LogbookLayer;
    /// let layer = LogbookLayer::builder()
    ///     .channel(env!("CARGO_CRATE_NAME"), "App")
    ///     .build_stdout();
    /// ```
    pub fn channel(mut self, module: impl Into<String>, name: impl Into<String>) -> Self {
        self.channels.push((module.into(), name.into()));
        self
    }

    /// Builds the layer writing to `writer`.
    ///
    /// ```
    /// let out = tracing_logbook::testing::CaptureWriter::new();
    /// let layer = tracing_logbook::LogbookLayer::builder().build(out.clone());
    /// assert!(!layer.is_colored()); // a CaptureWriter is not a terminal
    /// ```
    pub fn build<W: LineWriter>(self, writer: W) -> LogbookLayer<W> {
        let color = match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                writer.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        LogbookLayer {
            spine: Spine::new(
                Formatted::new(
                    LogbookLayout::new(self.timezone, color, self.channels)
                        .with_span_fields(self.span_fields),
                    writer,
                ),
                self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                None,
            ),
        }
    }

    /// Builds the layer writing to standard output.
    ///
    /// ```
    /// use tracing_subscriber::prelude::*;
    /// let layer = tracing_logbook::LogbookLayer::builder().build_stdout();
    /// tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
    ///     tracing::info!("on stdout");
    /// });
    /// ```
    pub fn build_stdout(self) -> LogbookLayer<Stdout> {
        self.build(Stdout::new())
    }
}

impl LogbookLayer<Stdout> {
    /// A builder with the [default values](LogbookLayerBuilder#default-values).
    ///
    /// ```
    /// let layer = tracing_logbook::LogbookLayer::builder()
    ///     .color(tracing_logbook::ColorChoice::Never)
    ///     .build_stdout();
    /// ```
    pub fn builder() -> LogbookLayerBuilder {
        LogbookLayerBuilder::default()
    }
}

impl<W: LineWriter> LogbookLayer<W> {
    /// The destination.
    ///
    /// ```
    /// let layer = tracing_logbook::LogbookLayer::builder().build_stdout();
    /// assert_eq!(layer.writer().failed_lines(), 0);
    /// ```
    pub fn writer(&self) -> &W {
        &self.spine.output.writer
    }

    /// Whether this layer colors its lines.
    ///
    /// ```
    /// use tracing_logbook::{ColorChoice, LogbookLayer};
    /// assert!(!LogbookLayer::builder().color(ColorChoice::Never).build_stdout().is_colored());
    /// ```
    pub fn is_colored(&self) -> bool {
        self.spine.output.layout.color
    }
}

impl<W: LineWriter> LogbookLayer<W> {
    /// The layer's output, for the fan-out `init` installs.
    pub(crate) fn into_output(self) -> Formatted<LogbookLayout, W> {
        self.spine.into_output()
    }
}

impl<W> fmt::Debug for LogbookLayer<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogbookLayer")
            .field("timezone", &self.spine.output.layout.zone.timezone())
            .field("color", &self.spine.output.layout.color)
            .field("channels", &self.spine.output.layout.channels)
            .finish_non_exhaustive()
    }
}

impl<S, W> Layer<S> for LogbookLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: LineWriter,
{
    layer::delegate_layer!(spine);
}
