//! [`JsonLayer`]: one JSON object per line.

use std::sync::Arc;

use crate::clock::{Clock, Timezone};
use crate::layer::{self, Formatted, Spine};
use crate::layout::json::JsonLayout;
use crate::sink::Stdout;

/// A [`Layer`](tracing_subscriber::Layer) writing one JSON object per event and line, for log shippers (Vector,
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
/// | [`clock`](Self::clock) | [`SystemClock`](crate::SystemClock) |
/// | [`timezone`](Self::timezone) | [`Timezone::Utc`] |
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct JsonLayerBuilder {
    clock: Option<Arc<dyn Clock>>,
    timezone: Timezone,
}

layer::object_layer!(JsonLayer, JsonLayerBuilder, JsonLayout);
