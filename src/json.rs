//! [`JsonLayer`]: one JSON object per line, for log shippers (Vector, Fluent Bit,
//! Filebeat) that should not need a parser of their own.
//!
//! # The object
//!
//! ```text
//! {"timestamp":"2026-11-23T19:28:08.123456Z","level":"NOTICE","channel":"App","message":"listening","fields":{"port":8080},"spans":[{"name":"request","fields":{"method":"GET"}}],"file":"src/main.rs","line":12,"thread":"main"}
//! ```
//!
//! | key | value | always present |
//! |---|---|---|
//! | `timestamp` | RFC 3339, UTC, microseconds, `Z` | yes |
//! | `level` | Logbook's name: `TRACE` … `CRITICAL` | yes |
//! | `channel` | the event's target (the real one for `log` records) | yes |
//! | `message` | the rendered message, unescaped text | yes (may be `""`) |
//! | `fields` | the event's fields: integers, floats and booleans as JSON numbers and booleans, everything else as strings | yes (may be `{}`) |
//! | `spans` | the enclosing spans, root first: `{"name", "fields"}` | yes (may be `[]`) |
//! | `file`, `line` | the source location | when known |
//! | `thread` | the thread's name, or its id (`ThreadId(3)`) | yes |
//!
//! These names are stable. Strings are escaped per RFC 8259; additionally DEL, C1 controls,
//! U+2028/U+2029 and bidirectional overrides are written as `\u` escapes, so a line is
//! always one line of plain text whatever the event contains. Float values that JSON cannot
//! represent (NaN, infinities) are written as strings.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::sync::Arc;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::clock::{Clock, SystemClock, Timezone, Zone};
use crate::fields::{self, FieldValue, SpanFields};
use crate::level::Level;
use crate::sink::{LineWriter, Stdout};

/// A [`Layer`] writing one JSON object per event and line (see the [module docs](self)).
///
/// # Examples
///
/// ```
/// use tracing_logbook::{CaptureWriter, JsonLayer, ManualClock};
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
pub struct JsonLayer<W = Stdout> {
    writer: W,
    clock: Arc<dyn Clock>,
    zone: Zone,
    id: usize,
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
    /// Uses `clock` instead of the system clock (for tests).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Uses a shared clock.
    pub fn shared_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Sets where the day of a daily file begins. Timestamps in the JSON are always UTC;
    /// the zone only decides which daily file a record goes to.
    pub fn timezone(mut self, timezone: Timezone) -> Self {
        self.timezone = timezone;
        self
    }

    /// Builds the layer writing to `writer`.
    pub fn build<W: LineWriter>(self, writer: W) -> JsonLayer<W> {
        JsonLayer {
            writer,
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            zone: Zone::new(self.timezone),
            id: fields::next_layer_id(),
        }
    }

    /// Builds the layer writing to standard output.
    pub fn build_stdout(self) -> JsonLayer<Stdout> {
        self.build(Stdout::new())
    }
}

impl JsonLayer<Stdout> {
    /// A builder with the [default values](JsonLayerBuilder#default-values).
    pub fn builder() -> JsonLayerBuilder {
        JsonLayerBuilder::default()
    }
}

impl<W: LineWriter> JsonLayer<W> {
    /// The destination.
    pub fn writer(&self) -> &W {
        &self.writer
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
    crate::fields::span_field_hooks!();

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let time = self.clock.now_utc();
        crate::format::with_buffers(|buf, fields_buf| {
            let normalized = event.normalized_metadata();
            let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
            buf.push_str("{\"timestamp\":\"");
            crate::format::push_rfc3339(buf, time);
            buf.push_str("\",\"level\":\"");
            buf.push_str(Level::of(meta).as_str());
            buf.push_str("\",\"channel\":");
            push_json_str(buf, meta.target());
            let mut visitor = JsonVisitor {
                message: None,
                fields: fields_buf,
                from_log: normalized.is_some(),
            };
            event.record(&mut visitor);
            buf.push_str(",\"message\":");
            push_json_str(buf, visitor.message.as_deref().unwrap_or(""));
            buf.push_str(",\"fields\":{");
            buf.push_str(fields_buf);
            buf.push_str("},\"spans\":[");
            if let Some(scope) = ctx.event_scope(event) {
                for (i, span) in scope.from_root().enumerate() {
                    if i > 0 {
                        buf.push(',');
                    }
                    buf.push_str("{\"name\":");
                    push_json_str(buf, span.name());
                    buf.push_str(",\"fields\":{");
                    if let Some(stored) = span.extensions().get::<SpanFields>() {
                        for (j, (name, value)) in stored.fields.iter().enumerate() {
                            if j > 0 {
                                buf.push(',');
                            }
                            push_json_str(buf, name);
                            buf.push(':');
                            push_json_value(buf, value);
                        }
                    }
                    buf.push_str("}}");
                }
            }
            buf.push(']');
            if let Some(file) = meta.file() {
                buf.push_str(",\"file\":");
                push_json_str(buf, file);
            }
            if let Some(line) = meta.line() {
                buf.push_str(",\"line\":");
                crate::format::push_u64(buf, u64::from(line));
            }
            buf.push_str(",\"thread\":");
            push_thread(buf);
            buf.push_str("}\n");
            self.writer
                .write_line(self.zone.display(time), buf.as_bytes());
        });
    }
}

fn push_thread(buf: &mut String) {
    thread_local! {
        static NAME: RefCell<Option<String>> = const { RefCell::new(None) };
    }
    let pushed = NAME.try_with(|name| {
        let mut name = name.borrow_mut();
        let name = name.get_or_insert_with(|| {
            let t = std::thread::current();
            let mut s = String::new();
            match t.name() {
                Some(n) => push_json_str(&mut s, n),
                None => push_json_str(&mut s, &format!("{:?}", t.id())),
            }
            s
        });
        buf.push_str(name);
    });
    if pushed.is_err() {
        buf.push_str("\"<exiting>\"");
    }
}

/// Appends a JSON value for a recorded field.
pub(crate) fn push_json_value(buf: &mut String, value: &FieldValue) {
    match value {
        FieldValue::Str(s) | FieldValue::Debug(s) => push_json_str(buf, s),
        FieldValue::I64(v) => crate::format::push_i64(buf, *v),
        FieldValue::U64(v) => crate::format::push_u64(buf, *v),
        FieldValue::F64(v) => push_f64(buf, *v),
        FieldValue::Bool(v) => buf.push_str(if *v { "true" } else { "false" }),
    }
}

fn push_f64(buf: &mut String, v: f64) {
    if v.is_finite() {
        // Debug keeps floats floats (`1.0`) and uses exponents for extremes (`1e300`).
        let _ = write!(buf, "{v:?}");
    } else {
        let _ = write!(buf, "\"{v}\"");
    }
}

/// Appends `s` as a JSON string literal (see the module docs for the extra escapes).
pub fn push_json_str(buf: &mut String, s: &str) {
    buf.push('"');
    let mut rest = s;
    while let Some(i) = rest.find(|c: char| needs_json_escape(c)) {
        buf.push_str(&rest[..i]);
        let c = rest[i..].chars().next().unwrap_or('\0');
        match c {
            '"' => buf.push_str("\\\""),
            '\\' => buf.push_str("\\\\"),
            '\n' => buf.push_str("\\n"),
            '\r' => buf.push_str("\\r"),
            '\t' => buf.push_str("\\t"),
            c => {
                let _ = write!(buf, "\\u{:04x}", c as u32);
            }
        }
        rest = &rest[i + c.len_utf8()..];
    }
    buf.push_str(rest);
    buf.push('"');
}

#[inline]
fn needs_json_escape(c: char) -> bool {
    matches!(c,
        '"' | '\\' | '\0'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

struct JsonVisitor<'a> {
    message: Option<String>,
    fields: &'a mut String,
    from_log: bool,
}

impl JsonVisitor<'_> {
    fn key(&mut self, field: &Field) -> bool {
        if fields::is_hidden(field.name(), self.from_log) {
            return false;
        }
        if !self.fields.is_empty() {
            self.fields.push(',');
        }
        push_json_str(self.fields, field.name());
        self.fields.push(':');
        true
    }
}

impl Visit for JsonVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_owned());
        } else if self.key(field) {
            push_json_str(self.fields, value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = Some(text);
        } else if self.key(field) {
            push_json_str(self.fields, &text);
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if self.key(field) {
            push_json_str(self.fields, &fields::error_chain(value));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.key(field) {
            crate::format::push_i64(self.fields, value);
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.key(field) {
            crate::format::push_u64(self.fields, value);
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.key(field) {
            self.fields.push_str(if value { "true" } else { "false" });
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if self.key(field) {
            push_f64(self.fields, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random string generator (xorshift), biased towards the
    /// characters that need escaping.
    fn hostile_strings(n: usize) -> Vec<String> {
        let alphabet: Vec<char> = "\"\\\n\r\t\0\u{1}\u{1b}\u{7f}\u{85}\u{9f}\u{2028}\u{2029}\u{202e}\u{2066}a Zé日🎉{}[]:,/"
            .chars()
            .collect();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        (0..n)
            .map(|_| {
                let len = (next() % 40) as usize;
                (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect()
            })
            .collect()
    }

    #[test]
    fn strings_round_trip_through_a_json_parser() {
        for s in hostile_strings(5000) {
            let mut b = String::new();
            push_json_str(&mut b, &s);
            assert!(!b.chars().any(|c| c.is_control()), "{b:?}");
            let back: String = serde_json::from_str(&b).unwrap_or_else(|e| panic!("{b:?}: {e}"));
            assert_eq!(back, s);
        }
    }

    #[test]
    fn floats_stay_valid_json() {
        for (v, want) in [
            (1.0, "1.0"),
            (1.5, "1.5"),
            (1e300, "1e300"),
            (f64::NAN, "\"NaN\""),
            (f64::INFINITY, "\"inf\""),
        ] {
            let mut b = String::new();
            push_f64(&mut b, v);
            assert_eq!(b, want);
            serde_json::from_str::<serde_json::Value>(&b).unwrap();
        }
    }
}
