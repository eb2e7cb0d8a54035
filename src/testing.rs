//! Capturing records in unit tests, as Logbook's `TestHandler` does.
//!
//! # Examples
//!
//! ```
//! use tracing_logbook::{testing, Level};
//!
//! fn reserve(seats: u32) {
//!     if seats > 10 {
//!         tracing::warn!(target: "booking", seats, "large reservation");
//!     }
//! }
//!
//! let logs = testing::capture(|| reserve(12));
//! assert!(logs.has(Level::Warning, "large reservation"));
//! let record = &logs.records()[0];
//! assert_eq!(record.channel, "booking");
//! assert_eq!(record.field("seats").unwrap().to_text(), "12");
//! assert_eq!(logs.formatted(), ["[WARNING] booking: large reservation seats=12"]);
//! ```

use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex, PoisonError};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

use crate::fields::{self, FieldValue, Fields, SpanFields};
use crate::level::Level;

/// One captured event.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Record {
    /// The Logbook level.
    pub level: Level,
    /// The channel (the event's target; the real target for `log` records).
    pub channel: String,
    /// The rendered message, unescaped.
    pub message: String,
    /// The event's own fields (without the message).
    pub fields: Fields,
    /// The enclosing spans, root first: name and fields.
    pub spans: Vec<(&'static str, Fields)>,
    /// The source file, when known.
    pub file: Option<String>,
    /// The source line, when known.
    pub line: Option<u32>,
}

impl Record {
    /// The last value of the event field `name`.
    pub fn field(&self, name: &str) -> Option<&FieldValue> {
        self.fields.get(name)
    }

    /// The record as Logbook's TestHandler formats it: `[LEVEL] channel: message`, plus
    /// fields and spans the way Logbook lines print them.
    pub fn formatted(&self) -> String {
        let mut s = format!("[{}] {}: {}", self.level, self.channel, self.message);
        if !self.fields.is_empty() {
            s.push(' ');
            self.fields.render(&mut s);
        }
        for (i, (name, fields)) in self.spans.iter().enumerate() {
            s.push_str(if i == 0 { " in " } else { ":" });
            s.push_str(name);
            if !fields.is_empty() {
                s.push('{');
                fields.render(&mut s);
                s.push('}');
            }
        }
        s
    }
}

/// The records captured by [`capture`] or a [`CaptureLayer`].
#[derive(Clone, Debug, Default)]
pub struct Captured {
    records: Arc<Mutex<Vec<Record>>>,
}

impl Captured {
    /// A copy of the records, oldest first.
    pub fn records(&self) -> Vec<Record> {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every record as [`Record::formatted`].
    pub fn formatted(&self) -> Vec<String> {
        self.records().iter().map(Record::formatted).collect()
    }

    /// Whether a record has exactly this level and message.
    pub fn has(&self, level: Level, message: &str) -> bool {
        self.find(|r| r.level == level && r.message == message)
            .is_some()
    }

    /// Whether any record has this level.
    pub fn has_level(&self, level: Level) -> bool {
        self.find(|r| r.level == level).is_some()
    }

    /// The first record matching `pred`.
    pub fn find(&self, pred: impl Fn(&Record) -> bool) -> Option<Record> {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|r| pred(r))
            .cloned()
    }

    /// Removes and returns all records.
    pub fn take(&self) -> Vec<Record> {
        std::mem::take(&mut *self.records.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// A [`Layer`] that stores every event it sees as a [`Record`].
#[derive(Debug)]
pub struct CaptureLayer {
    captured: Captured,
    id: usize,
}

impl CaptureLayer {
    /// A layer and the handle that reads what it captures.
    pub fn new() -> (CaptureLayer, Captured) {
        let captured = Captured::default();
        (
            CaptureLayer {
                captured: captured.clone(),
                id: fields::next_layer_id(),
            },
            captured,
        )
    }
}

/// Runs `f` with a subscriber that captures every event (all levels) on this thread, and
/// returns what was captured.
pub fn capture(f: impl FnOnce()) -> Captured {
    let (layer, captured) = CaptureLayer::new();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), f);
    captured
}

struct RecordVisitor<'a> {
    message: &'a mut String,
    fields: &'a mut Fields,
    from_log: bool,
}

impl Visit for RecordVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else if !fields::is_hidden(field.name(), self.from_log) {
            self.fields.record_str(field, value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else if !fields::is_hidden(field.name(), self.from_log) {
            self.fields.record_debug(field, value);
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.fields.record_error(field, value);
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.fields.record_i64(field, value);
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.fields.record_u64(field, value);
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.fields.record_bool(field, value);
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.fields.record_f64(field, value);
    }
}

impl<S> Layer<S> for CaptureLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    crate::fields::span_field_hooks!();

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        let mut message = String::new();
        let mut event_fields = Fields::default();
        event.record(&mut RecordVisitor {
            message: &mut message,
            fields: &mut event_fields,
            from_log: normalized.is_some(),
        });
        let spans = ctx
            .event_scope(event)
            .map(|scope| {
                scope
                    .from_root()
                    .map(|span| {
                        let fields = span
                            .extensions()
                            .get::<SpanFields>()
                            .map(|s| s.fields.clone())
                            .unwrap_or_default();
                        (span.name(), fields)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let record = Record {
            level: Level::of(meta),
            channel: meta.target().to_owned(),
            message,
            fields: event_fields,
            spans,
            file: meta.file().map(str::to_owned),
            line: meta.line(),
        };
        self.captured
            .records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(record);
    }
}
