//! [`JsonLayer`]: one JSON object per line.

use std::fmt;
use std::sync::Arc;

use tracing::Subscriber;
use tracing_subscriber::layer::Layer;
use tracing_subscriber::registry::LookupSpan;

use crate::clock::{Clock, SystemClock, Timezone};
use crate::layer::{self, Formatted, Spine};
use crate::layout::json::JsonLayout;
use crate::sink::{LineWriter, Stdout};

/// A [`Layer`] writing one JSON object per event and line, for log shippers (Vector,
/// Fluent Bit, Filebeat) that should not need a parser of their own.
///
/// # Examples
///
/// ```
/// use tracing_logbook::testing::{CaptureWriter, ManualClock};
/// use tracing_logbook::JsonLayer;
/// use tracing_subscriber::prelude::*;
///
/// let out = CaptureWriter::new();
/// let clock = ManualClock::new(time::macros::datetime!(2026-11-23 19:28:08.123456 UTC));
/// let layer = JsonLayer::builder().clock(clock).build(out.clone());
/// tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
///     tracing_logbook::notice!(target: "App", port = 8080, "listening");
/// });
/// let line: serde_json::Value = serde_json::from_str(&out.take_string()).unwrap();
/// assert_eq!(line["timestamp"], "2026-11-23T19:28:08.123456Z");
/// assert_eq!(line["level"], "NOTICE");
/// assert_eq!(line["fields"]["port"], 8080);
/// ```
///
/// # The object
///
/// ```text
/// {"timestamp":"2026-11-23T19:28:08.123456Z","level":"NOTICE","channel":"App","message":"listening","fields":{"port":8080},"spans":[{"name":"request","fields":{"method":"GET"}}],"file":"src/main.rs","line":12,"thread":"main"}
/// ```
///
/// | key | value | always present |
/// |---|---|---|
/// | `timestamp` | RFC 3339, UTC, microseconds, `Z` | yes |
/// | `level` | Logbook's name: `TRACE` … `CRITICAL` | yes |
/// | `channel` | the event's target (the real one for `log` records) | yes |
/// | `message` | the rendered message, unescaped text | yes (may be `""`) |
/// | `fields` | the event's fields: integers, floats and booleans as JSON numbers and booleans, everything else as strings | yes (may be `{}`) |
/// | `spans` | the enclosing spans, root first: `{"name", "fields"}` | yes (may be `[]`) |
/// | `file`, `line` | the source location | when known |
/// | `thread` | the thread's name, or its id (`ThreadId(3)`) | yes |
/// | `trace_id`, `span_id` | the W3C ids (lower-case hex) of the OpenTelemetry span the event happened in | with the `opentelemetry` feature, inside a span tracing-opentelemetry knows |
///
/// These names are stable. Strings (names included) are escaped per RFC 8259;
/// additionally DEL, C1 controls, U+2028/U+2029 and bidirectional overrides are written
/// as `\u` escapes, so a line is always one line of plain text whatever the event
/// contains. Float values that JSON cannot represent are written as the strings `"NaN"`,
/// `"inf"` and `"-inf"`, as Logbook lines print them. The crate's own notices (`N lines
/// dropped` after losses) are JSON lines of this shape too, with channel
/// `tracing-logbook`.
///
/// # Shipping the daily files
///
/// `LOG_FORMAT=json` writes these lines to stdout or the daily files. A
/// [Vector](https://vector.dev) configuration that ships the daily files to Loki:
///
/// ```toml
/// [sources.app]
/// type = "file"
/// include = ["/srv/app/logs/app-*.log"]
///
/// [transforms.parsed]
/// type = "remap"
/// inputs = ["app"]
/// source = """
/// . = parse_json!(.message)
/// .timestamp = parse_timestamp!(.timestamp, format: "%+")
/// """
///
/// [sinks.loki]
/// type = "loki"
/// inputs = ["parsed"]
/// endpoint = "http://loki.internal:3100"
/// labels = { channel = "{{ channel }}", level = "{{ level }}" }
/// encoding.codec = "json"
/// ```
pub struct JsonLayer<W = Stdout> {
    spine: Spine<Formatted<JsonLayout, W>>,
}

/// Builds a [`JsonLayer`].
///
/// # Default values
///
/// | setting | default |
/// |---|---|
/// | [`clock`](Self::clock) | [`SystemClock`] |
/// | [`timezone`](Self::timezone) | [`Timezone::Utc`] |
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct JsonLayerBuilder {
    clock: Option<Arc<dyn Clock>>,
    timezone: Timezone,
}

impl JsonLayerBuilder {
    layer::object_time_setters!("JsonLayer");

    /// Builds the layer writing to `writer`.
    ///
    /// ```
    /// use tracing_subscriber::prelude::*;
    /// let out = tracing_logbook::testing::CaptureWriter::new();
    /// let layer = tracing_logbook::JsonLayer::builder().build(out.clone());
    /// tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
    ///     tracing_logbook::notice!(port = 8080, "listening");
    /// });
    /// let v: serde_json::Value = serde_json::from_str(out.take_string().trim()).unwrap();
    /// assert_eq!(v["level"], "NOTICE");
    /// assert_eq!(v["fields"]["port"], 8080);
    /// ```
    pub fn build<W: LineWriter>(self, writer: W) -> JsonLayer<W> {
        JsonLayer {
            spine: Spine::new(
                Formatted::new(JsonLayout::new(self.timezone), writer),
                self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                None,
            ),
        }
    }

    /// Builds the layer writing to standard output.
    ///
    /// ```
    /// use tracing_subscriber::prelude::*;
    /// let layer = tracing_logbook::JsonLayer::builder().build_stdout();
    /// tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
    ///     tracing::info!("one JSON object on stdout");
    /// });
    /// ```
    pub fn build_stdout(self) -> JsonLayer<Stdout> {
        self.build(Stdout::new())
    }
}

impl JsonLayer<Stdout> {
    /// A builder with the [default values](JsonLayerBuilder#default-values).
    ///
    /// ```
    /// let layer = tracing_logbook::JsonLayer::builder().build_stdout();
    /// ```
    pub fn builder() -> JsonLayerBuilder {
        JsonLayerBuilder::default()
    }
}

impl<W: LineWriter> JsonLayer<W> {
    /// The destination.
    ///
    /// ```
    /// let out = tracing_logbook::testing::CaptureWriter::new();
    /// let layer = tracing_logbook::JsonLayer::builder().build(out);
    /// assert!(layer.writer().contents().is_empty());
    /// ```
    pub fn writer(&self) -> &W {
        &self.spine.output.writer
    }
}

impl<W: LineWriter> JsonLayer<W> {
    /// The layer's output, for the fan-out `init` installs.
    pub(crate) fn into_output(self) -> Formatted<JsonLayout, W> {
        self.spine.into_output()
    }
}

impl<W> fmt::Debug for JsonLayer<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonLayer").finish_non_exhaustive()
    }
}

impl<S, W> Layer<S> for JsonLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: LineWriter,
{
    layer::delegate_layer!(spine);
}
