//! The spine of the crate: one [`Record`] per event, captured once and read by every
//! output (Logbook lines, JSON, syslog, the notifiers, test capture).
//!
//! Capturing an event reads the clock once, decides the Logbook level once, renders the
//! message once and types the fields once, into per-thread buffers that are reused (no
//! allocation per event in the steady state). Span fields are typed once per span when
//! it is created, and copied-on-write when `span.record(..)` adds to them; each layout
//! renders a span's fields once and caches the text on the span.
//!
//! No user code (`Display`, `Debug`) ever runs while a lock of ours or of the registry
//! is held: values are recorded into a private list first and only then stored. So a
//! `Display` that logs, or that panics (with the panic hook logging the panic), cannot
//! deadlock the process.

pub(crate) mod from_log;
pub(crate) mod otel;
pub(crate) mod scrub;
pub(crate) mod text;

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use time::OffsetDateTime;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::level::Level;

// === public field values ===

/// A recorded field value, as kept for [`testing`](crate::testing).
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue {
    /// A string recorded with `record_str` (a plain `&str` value).
    Str(String),
    /// The rendered `Debug` (`?value`) or `Display` (`%value`) form of a value, or an
    /// error with its causes (`err: cause: cause's cause`).
    Debug(String),
    /// A signed integer.
    I64(i64),
    /// An unsigned integer.
    U64(u64),
    /// A float.
    F64(f64),
    /// A boolean.
    Bool(bool),
}

impl FieldValue {
    /// The value as text, without quotes or escapes (`"a b"` is `a b`).
    ///
    /// ```
    /// use tracing_logbook::testing::FieldValue;
    /// assert_eq!(FieldValue::Str("a b".into()).to_text(), "a b");
    /// assert_eq!(FieldValue::F64(f64::NAN).to_text(), "NaN");
    /// ```
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        self.as_value().push_text(&mut s);
        s
    }

    /// Appends the value as a Logbook line prints it.
    pub(crate) fn render(&self, buf: &mut String) {
        self.as_value().push_logbook(buf);
    }

    pub(crate) fn as_value(&self) -> Value<'_> {
        match self {
            FieldValue::Str(s) => Value::Str(s),
            FieldValue::Debug(s) => Value::Debug(s),
            FieldValue::I64(v) => Value::I64(*v),
            FieldValue::U64(v) => Value::U64(*v),
            FieldValue::F64(v) => Value::F64(*v),
            FieldValue::Bool(v) => Value::Bool(*v),
        }
    }
}

impl fmt::Display for FieldValue {
    /// The value as a Logbook line prints it (quoted and escaped when needed).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.as_value().push_logbook(&mut s);
        f.write_str(&s)
    }
}

/// An ordered list of recorded fields.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fields(pub(crate) Vec<(&'static str, FieldValue)>);

impl Fields {
    /// The fields in recording order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &FieldValue)> + '_ {
        self.0.iter().map(|(k, v)| (*k, v))
    }

    /// The last value recorded for `name`.
    pub fn get(&self, name: &str) -> Option<&FieldValue> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }

    /// Whether no field was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Fields {
    /// `k=v k2=v2`, as on a Logbook line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        push_logbook_fields(&mut s, self.iter().map(|(k, v)| (k, v.as_value())));
        f.write_str(&s)
    }
}

// === borrowed values and the reusable field list ===

/// A field value borrowed from a [`FieldList`] or a [`FieldValue`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Value<'a> {
    Str(&'a str),
    Debug(&'a str),
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
}

impl Value<'_> {
    pub(crate) fn to_owned_value(self) -> FieldValue {
        match self {
            Value::Str(s) => FieldValue::Str(s.to_owned()),
            Value::Debug(s) => FieldValue::Debug(s.to_owned()),
            Value::I64(v) => FieldValue::I64(v),
            Value::U64(v) => FieldValue::U64(v),
            Value::F64(v) => FieldValue::F64(v),
            Value::Bool(v) => FieldValue::Bool(v),
        }
    }

    /// The raw text, unescaped.
    pub(crate) fn push_text(self, buf: &mut String) {
        match self {
            Value::Str(s) | Value::Debug(s) => buf.push_str(s),
            Value::I64(v) => text::push_i64(buf, v),
            Value::U64(v) => text::push_u64(buf, v),
            Value::F64(v) => text::push_f64(buf, v),
            Value::Bool(v) => buf.push_str(if v { "true" } else { "false" }),
        }
    }

    /// As on a Logbook line: strings, `?`/`%` values and errors bare when they are
    /// plain words and quoted with escapes otherwise (`error="timeout after 3s"`), so
    /// a value never reads as more than one field.
    pub(crate) fn push_logbook(self, buf: &mut String) {
        match self {
            Value::Str(s) | Value::Debug(s) => text::push_str_value(buf, s),
            other => other.push_text(buf),
        }
    }

    /// As a JSON value: numbers and booleans as such, everything else (NaN and the
    /// infinities included) as a string.
    pub(crate) fn push_json(self, buf: &mut String) {
        match self {
            Value::Str(s) | Value::Debug(s) => text::push_json_str(buf, s),
            Value::F64(v) => text::push_json_f64(buf, v),
            other => other.push_text(buf),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Str(usize, usize),
    Debug(usize, usize),
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
}

/// Typed fields whose text lives in one reused buffer: clearing and refilling it (or
/// `clone_from` into it) allocates nothing once it has grown to size.
#[derive(Debug, Default)]
pub(crate) struct FieldList {
    text: String,
    items: Vec<(&'static str, Kind)>,
    /// The links of `&dyn Error` values' `source()` chains, in chain order.
    links: Vec<Link>,
}

/// One error of a `source()` chain, recorded with the field that carried it: its type
/// as the Sentry SDK derives it from `Debug`, and its `Display` text (both in `text`).
#[derive(Clone, Copy, Debug)]
struct Link {
    /// The index in `items` of the error's field.
    item: usize,
    class: (usize, usize),
    message: (usize, usize),
}

/// One error of an error field's chain, borrowed from a [`FieldList`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ErrorLink<'a> {
    /// The type name, as Sentry's `parse_type_from_debug` reads it off `Debug` output
    /// (`Error` when `Debug` only quotes the message, as `anyhow!("...")` does).
    pub(crate) class: &'a str,
    /// The `Display` text of this link alone.
    pub(crate) message: &'a str,
}

impl Clone for FieldList {
    fn clone(&self) -> Self {
        FieldList {
            text: self.text.clone(),
            items: self.items.clone(),
            links: self.links.clone(),
        }
    }

    fn clone_from(&mut self, source: &Self) {
        self.text.clone_from(&source.text);
        self.items.clone_from(&source.items);
        self.links.clone_from(&source.links);
    }
}

impl FieldList {
    pub(crate) fn clear(&mut self) {
        self.text.clear();
        self.items.clear();
        self.links.clear();
    }

    /// The first error field (`error = &e as &dyn Error`): its name and its chain,
    /// outermost error first, root cause last.
    pub(crate) fn error_chain(&self) -> Option<(&'static str, Vec<ErrorLink<'_>>)> {
        let first = self.links.first()?.item;
        let chain = self
            .links
            .iter()
            .take_while(|l| l.item == first)
            .map(|l| ErrorLink {
                class: &self.text[l.class.0..l.class.1],
                message: &self.text[l.message.0..l.message.1],
            })
            .collect();
        Some((self.items[first].0, chain))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Masks URL passwords in the text written since `from` (the last value pushed).
    #[inline]
    pub(super) fn mask_urls_from(&mut self, from: usize) {
        let before = self.text.len();
        scrub::Lines::get().mask_urls(&mut self.text, from);
        if self.text.len() != before {
            // The last item's range ends where the text now ends.
            if let Some((_, Kind::Str(_, b) | Kind::Debug(_, b))) = self.items.last_mut() {
                *b = self.text.len();
            }
        }
    }

    /// The heap bytes this list keeps alive.
    pub(crate) fn retained_size(&self) -> usize {
        self.text.capacity()
            + self.items.capacity() * std::mem::size_of::<(&str, Kind)>()
            + self.links.capacity() * std::mem::size_of::<Link>()
    }

    fn value(&self, kind: Kind) -> Value<'_> {
        match kind {
            Kind::Str(a, b) => Value::Str(&self.text[a..b]),
            Kind::Debug(a, b) => Value::Debug(&self.text[a..b]),
            Kind::I64(v) => Value::I64(v),
            Kind::U64(v) => Value::U64(v),
            Kind::F64(v) => Value::F64(v),
            Kind::Bool(v) => Value::Bool(v),
        }
    }

    /// The fields in recording order.
    /// About how many bytes the fields take rendered: their text and 24 per name.
    #[cfg(feature = "otlp")]
    #[inline]
    pub(crate) fn size_hint(&self) -> usize {
        self.text.len() + 24 * self.items.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&'static str, Value<'_>)> + '_ {
        self.items
            .iter()
            .map(|&(name, kind)| (name, self.value(kind)))
    }

    /// An owned copy, for the public [`Fields`].
    pub(crate) fn to_fields(&self) -> Fields {
        Fields(self.iter().map(|(k, v)| (k, v.to_owned_value())).collect())
    }

    /// Appends every field of `other`.
    pub(crate) fn extend(&mut self, other: &FieldList) {
        let base = self.text.len();
        let base_item = self.items.len();
        self.text.push_str(&other.text);
        self.links.extend(other.links.iter().map(|l| Link {
            item: l.item + base_item,
            class: (l.class.0 + base, l.class.1 + base),
            message: (l.message.0 + base, l.message.1 + base),
        }));
        self.items
            .extend(other.items.iter().map(|&(name, kind)| match kind {
                Kind::Str(a, b) => (name, Kind::Str(a + base, b + base)),
                Kind::Debug(a, b) => (name, Kind::Debug(a + base, b + base)),
                other => (name, other),
            }));
    }

    fn push_str(&mut self, name: &'static str, value: &str) {
        let a = self.text.len();
        self.text.push_str(value);
        self.items.push((name, Kind::Str(a, self.text.len())));
    }

    fn push_debug(&mut self, name: &'static str, value: &dyn fmt::Debug) {
        let a = self.text.len();
        let _ = write!(self.text, "{value:?}");
        self.items.push((name, Kind::Debug(a, self.text.len())));
    }

    fn push_error(&mut self, name: &'static str, value: &(dyn std::error::Error + 'static)) {
        let a = self.text.len();
        text::push_error_chain(&mut self.text, value);
        let item = self.items.len();
        self.items.push((name, Kind::Debug(a, self.text.len())));
        let buf = &mut self.text;
        let links = &mut self.links;
        text::walk_error_chain(value, |err| {
            let m0 = buf.len();
            let _ = write!(buf, "{err}");
            scrub::Lines::get().mask_urls(buf, m0);
            let message = (m0, buf.len());
            let c0 = buf.len();
            let _ = write!(buf, "{err:?}");
            let debug = &buf[c0..];
            let class = class_from_debug(debug, &buf[m0..c0]);
            let len = class.len();
            // Where the class starts in the `Debug` text (it is a piece of it when not empty).
            let offset = if len == 0 {
                0
            } else {
                class.as_ptr() as usize - debug.as_ptr() as usize
            };
            if len == 0 {
                buf.truncate(c0);
                buf.push_str("Error");
            } else {
                // The class is a piece of the `Debug` text: keep only that.
                buf.truncate(c0 + offset + len);
                buf.replace_range(c0..c0 + offset, "");
            }
            links.push(Link {
                item,
                class: (c0, buf.len()),
                message,
            });
        });
    }

    fn push(&mut self, name: &'static str, kind: Kind) {
        self.items.push((name, kind));
    }
}

#[cfg(all(test, feature = "otlp"))]
impl FieldList {
    /// Appends `value` as `name` (for tests of the layouts).
    pub(crate) fn push_value(&mut self, name: &'static str, value: Value<'_>) {
        match value {
            Value::Str(s) => self.push_str(name, s),
            Value::Debug(s) => self.push_debug(name, &format_args!("{s}")),
            Value::I64(v) => self.push(name, Kind::I64(v)),
            Value::U64(v) => self.push(name, Kind::U64(v)),
            Value::F64(v) => self.push(name, Kind::F64(v)),
            Value::Bool(v) => self.push(name, Kind::Bool(v)),
        }
    }
}

/// The type name at the start of an error's `Debug` text, as the Sentry SDK reads it
/// (`parse_type_from_debug`: up to the first space, `(`, `{` or line break); empty when
/// `Debug` shows nothing but the quoted `Display` text (`anyhow!("...")`), which names
/// no type.
fn class_from_debug<'d>(debug: &'d str, display: &str) -> &'d str {
    if debug.starts_with('"') && debug == format!("{display:?}") {
        return "";
    }
    debug
        .trim_start()
        .split([' ', '(', '{', '\r', '\n'])
        .next()
        .unwrap_or("")
        .trim()
}

/// Appends `k=v k2=v2` (names and values escaped as on Logbook lines).
pub(crate) fn push_logbook_fields<'a>(
    buf: &mut String,
    fields: impl Iterator<Item = (&'static str, Value<'a>)>,
) {
    for (i, (name, value)) in fields.enumerate() {
        if i > 0 {
            buf.push(' ');
        }
        text::push_name(buf, name);
        buf.push('=');
        value.push_logbook(buf);
    }
}

/// Appends `"k":v,"k2":v2` (the inside of a JSON object).
pub(crate) fn push_json_fields<'a>(
    buf: &mut String,
    fields: impl Iterator<Item = (&'static str, Value<'a>)>,
) {
    for (i, (name, value)) in fields.enumerate() {
        if i > 0 {
            buf.push(',');
        }
        text::push_json_str(buf, name);
        buf.push(':');
        value.push_json(buf);
    }
}

/// Whether a field is internal to the crate or to the `log` bridge and never shown.
#[inline]
pub(crate) fn is_hidden(name: &str, from_log: bool) -> bool {
    name == crate::level::LEVEL_FIELD
        || name == FINGERS_CROSSED_FIELD
        || (from_log && name.starts_with("log."))
}

/// The one visitor of the crate: the message (for events) and typed fields.
struct Collect<'a> {
    message: Option<&'a mut String>,
    fields: &'a mut FieldList,
    from_log: bool,
    /// A span's `logbook.fingers_crossed` value, when recording a new span.
    crossed: Option<&'a mut Option<bool>>,
    /// The callsite's masked fields ([`scrub::Lines::callsite_mask`]); `None` decides
    /// each field by its name.
    secrets: Option<u64>,
}

impl Collect<'_> {
    #[inline]
    fn keep(&self, field: &Field) -> bool {
        !is_hidden(field.name(), self.from_log)
    }
}

impl Collect<'_> {
    /// A secret field's value is never kept, whatever its type (see [`scrub::Lines`]).
    #[inline(always)]
    fn masked(&mut self, field: &Field) -> bool {
        if self.secrets == Some(0) {
            return false;
        }
        self.masked_slow(field)
    }

    #[inline(never)]
    fn masked_slow(&mut self, field: &Field) -> bool {
        let secret = match self.secrets {
            Some(0) => false,
            Some(mask) if mask != u64::MAX => mask >> field.index() & 1 == 1,
            _ => scrub::Lines::get().masks(field.name()),
        };
        if secret {
            self.fields.push_str(field.name(), scrub::SCRUBBED);
            return true;
        }
        false
    }
}

impl Visit for Collect<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            if let Some(message) = self.message.as_deref_mut() {
                let from = message.len();
                message.push_str(value);
                scrub::Lines::get().mask_urls(message, from);
                return;
            }
        }
        if self.keep(field) && !self.masked(field) {
            let from = self.fields.text.len();
            self.fields.push_str(field.name(), value);
            self.fields.mask_urls_from(from);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            if let Some(message) = self.message.as_deref_mut() {
                let from = message.len();
                let _ = write!(message, "{value:?}");
                scrub::Lines::get().mask_urls(message, from);
                return;
            }
        }
        if self.keep(field) && !self.masked(field) {
            let from = self.fields.text.len();
            self.fields.push_debug(field.name(), value);
            self.fields.mask_urls_from(from);
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if self.keep(field) && !self.masked(field) {
            self.fields.push_error(field.name(), value);
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.keep(field) && !self.masked(field) {
            self.fields.push(field.name(), Kind::I64(value));
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.keep(field) && !self.masked(field) {
            self.fields.push(field.name(), Kind::U64(value));
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if self.keep(field) && !self.masked(field) {
            self.fields.push(field.name(), Kind::F64(value));
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if field.name() == FINGERS_CROSSED_FIELD {
            if let Some(crossed) = self.crossed.as_deref_mut() {
                *crossed = Some(value);
            }
            return;
        }
        if self.keep(field) {
            self.fields.push(field.name(), Kind::Bool(value));
        }
    }
}

// === spans ===

/// Which layout's rendering of a span's fields is cached.
#[derive(Clone, Copy, Debug)]
pub(crate) enum SpanText {
    Logbook = 0,
    Json = 1,
    Syslog = 2,
    /// A request span's identity fields only, on Logbook lines.
    LogbookIdentity = 3,
    /// The span's fields as OTLP JSON `KeyValue` objects (feature `otlp`).
    #[cfg(feature = "otlp")]
    OtlpJson = 4,
}

/// A span's fields as of one moment: replaced, never changed, by `span.record(..)`.
#[derive(Debug, Default)]
pub(crate) struct SpanData {
    pub(crate) fields: FieldList,
    texts: [OnceLock<String>; 5],
    /// The fields as OTLP protobuf `KeyValue` entries (feature `otlp`).
    #[cfg(feature = "otlp")]
    otlp: OnceLock<Vec<u8>>,
    /// Emptied texts of this span's earlier values (or of an earlier span, see [`Slot`]),
    /// reused by the next rendering instead of a new allocation.
    spare: Mutex<Vec<String>>,
}

impl SpanData {
    /// The bytes this snapshot keeps alive: its fields and its rendered texts (one
    /// rendering counted before any is made, as a line output will make one).
    pub(crate) fn retained_size(&self) -> usize {
        let fields = self.fields.retained_size();
        let rendered: usize = self
            .texts
            .iter()
            .filter_map(|t| t.get().map(String::capacity))
            .sum();
        #[cfg(feature = "otlp")]
        let rendered = rendered + self.otlp.get().map_or(0, Vec::capacity);
        let spare: usize = self
            .spare
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(String::capacity)
            .sum();
        let rendered = rendered + spare;
        let estimate = self.fields.text.len() + 24 * self.fields.items.len();
        std::mem::size_of::<SpanData>() + fields + rendered.max(estimate)
    }

    /// The fields as `kind` renders them, rendered on first use and then cached.
    pub(crate) fn text(
        &self,
        kind: SpanText,
        render: impl FnOnce(&FieldList, &mut String),
    ) -> &str {
        self.texts[kind as usize].get_or_init(|| {
            let mut s = self
                .spare
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop()
                .unwrap_or_default();
            // Room for the values, their names and the separators: no regrowth.
            s.reserve(self.fields.text.len() + 24 * self.fields.items.len());
            render(&self.fields, &mut s);
            s
        })
    }

    /// The fields as OTLP protobuf renders them, rendered on first use and then cached
    /// (as [`text`](Self::text) does for the line layouts).
    #[cfg(feature = "otlp")]
    pub(crate) fn otlp_bytes(&self, render: impl FnOnce(&FieldList, &mut Vec<u8>)) -> &[u8] {
        self.otlp.get_or_init(|| {
            let mut b = Vec::with_capacity(self.fields.text.len() + 24 * self.fields.items.len());
            render(&self.fields, &mut b);
            b
        })
    }

    pub(crate) fn new(fields: FieldList) -> SpanData {
        SpanData {
            fields,
            texts: Default::default(),
            #[cfg(feature = "otlp")]
            otlp: OnceLock::new(),
            spare: Mutex::new(Vec::new()),
        }
    }

    /// Forgets the rendered texts (the fields changed), keeping their buffers as spares.
    fn forget_texts(&mut self) {
        let spare = self.spare.get_mut().unwrap_or_else(PoisonError::into_inner);
        for text in &mut self.texts {
            if let Some(mut s) = text.take() {
                s.clear();
                spare.push(s);
            }
        }
        #[cfg(feature = "otlp")]
        self.otlp.take();
    }
}

// === spans that buffer (fingers crossed) ===

/// The span field that turns fingers-crossed buffering on (`true`) or off (`false`) for
/// one span: `tracing::info_span!("job", logbook.fingers_crossed = true)`.
pub const FINGERS_CROSSED_FIELD: &str = "logbook.fingers_crossed";

/// The name of the spans that buffer unless they say `logbook.fingers_crossed = false`
/// (the web glue's request span).
pub(crate) const REQUEST_SPAN: &str = "request";

/// The name of the web glue's response lines (`web::on_response`): the line that shows
/// the request span's fields in full, and a 5xx of which is notified only when no
/// error of its request was.
pub(crate) const RESPONSE_EVENT: &str = "http.response";

/// The fields of a request span that identify it, shown on every line inside it with
/// [`SpanFields::Identity`](crate::SpanFields::Identity).
pub(crate) const REQUEST_IDENTITY: [&str; 4] = ["request_id", "id", "route", "user.id"];

/// Whether a new span named `name` whose `logbook.fingers_crossed` field was `field`
/// buffers its lines.
pub(crate) fn wants_buffer(name: &str, field: Option<bool>) -> bool {
    field.unwrap_or(name == REQUEST_SPAN)
}

/// Whether a span of this callsite may buffer (its name or its fields say so): a cheap,
/// static pre-check before its entry is looked at.
#[inline]
pub(crate) fn may_buffer(meta: &tracing::Metadata<'_>) -> bool {
    meta.name() == REQUEST_SPAN || meta.fields().field(FINGERS_CROSSED_FIELD).is_some()
}

/// What we keep on each span, in its registry extensions: its current fields and the
/// notifiers' per-span line rings.
#[derive(Debug)]
pub(crate) struct SpanEntry {
    /// The layer instance that stores later `record` calls, so two of our layers in one
    /// subscriber do not record everything twice.
    owner: usize,
    /// Whether this span buffers its lines below the threshold (fingers crossed: a span
    /// named `request`, or one with `logbook.fingers_crossed = true`).
    pub(crate) crossed: bool,
    data: Mutex<Arc<SpanData>>,
    /// The OpenTelemetry ids of this span, once looked up (see [`otel`]).
    #[cfg(feature = "opentelemetry")]
    pub(crate) trace: OnceLock<Option<otel::TraceIds>>,
    /// Per-layer side data (a notifier's recent lines of this request), by layer id.
    pub(crate) side: Mutex<Vec<(usize, Box<dyn Stored>)>>,
}

impl SpanEntry {
    fn snapshot(&self) -> Arc<SpanData> {
        self.data
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn append(&self, added: &FieldList) {
        let mut data = self.data.lock().unwrap_or_else(PoisonError::into_inner);
        // No event holds this snapshot: change it in place (web requests record a dozen
        // fields one by one after creating their span) and forget the cached texts.
        if let Some(only) = Arc::get_mut(&mut data) {
            only.fields.extend(added);
            only.forget_texts();
            return;
        }
        let mut fields = data.fields.clone();
        fields.extend(added);
        *data = Arc::new(SpanData::new(fields));
    }

    /// Runs `f` on this span's side data of layer `id`, made by `make` on first use.
    pub(crate) fn with_side<T: Side, R>(
        &self,
        id: usize,
        make: impl Fn() -> T,
        f: impl FnOnce(&mut T) -> R,
    ) -> R {
        let mut side = self.side.lock().unwrap_or_else(PoisonError::into_inner);
        let pos = match side.iter().position(|(owner, _)| *owner == id) {
            Some(pos) => pos,
            None => {
                side.push((id, Box::new(make())));
                side.len() - 1
            }
        };
        match side[pos].1.any_mut().downcast_mut::<T>() {
            Some(value) => f(value),
            None => {
                let mut fresh = make();
                let r = f(&mut fresh);
                side[pos].1 = Box::new(fresh);
                r
            }
        }
    }

    /// Reads this span's side data of layer `id`, if any.
    pub(crate) fn read_side<T: Side, R>(&self, id: usize, f: impl FnOnce(&T) -> R) -> Option<R> {
        let side = self.side.lock().unwrap_or_else(PoisonError::into_inner);
        side.iter()
            .find(|(owner, _)| *owner == id)
            .and_then(|(_, value)| value.any().downcast_ref::<T>())
            .map(f)
    }
}

/// What a span's registry extensions hold: its [`SpanEntry`], which goes back to this
/// thread's pool when the span closes (the registry drops the slot) and no record holds
/// it any more; the next new span on the thread reuses it and its buffers. So in the
/// steady state a span's life allocates nothing of ours but the registry's box around
/// this slot (tracing-subscriber boxes every extension).
#[derive(Debug)]
pub(crate) struct Slot(Option<Arc<SpanEntry>>);

impl Slot {
    /// The span's entry.
    pub(crate) fn entry(&self) -> Option<&Arc<SpanEntry>> {
        self.0.as_ref()
    }
}

/// At most this many closed spans' entries wait for reuse on each thread.
const POOLED: usize = 64;
/// A pooled entry keeps the side data of at most this many layers.
const POOLED_SIDES: usize = 4;
/// An entry whose buffers hold more than this is not kept (one huge span must not pin
/// its memory for the life of the thread).
const POOLED_BYTES: usize = 16 * 1024;

thread_local! {
    static POOL: RefCell<Vec<Arc<SpanEntry>>> = const { RefCell::new(Vec::new()) };
}

impl Drop for Slot {
    fn drop(&mut self) {
        let Some(mut entry) = self.0.take() else {
            return;
        };
        // Held by a record (a line kept by fingers crossed): it goes when that does.
        let Some(e) = Arc::get_mut(&mut entry) else {
            return;
        };
        // Kept, emptied, for the layer that made it: its buffers serve the next span. A
        // program that makes many subscribers (tests) would pile up other layers' side
        // data on a pooled entry: past a few, it all goes.
        let side = e.side.get_mut().unwrap_or_else(PoisonError::into_inner);
        if side.len() > POOLED_SIDES {
            side.clear();
        }
        for (_, side) in side {
            side.reset();
        }
        #[cfg(feature = "opentelemetry")]
        e.trace.take();
        let Some(data) = Arc::get_mut(e.data.get_mut().unwrap_or_else(PoisonError::into_inner))
        else {
            return;
        };
        data.fields.clear();
        data.forget_texts();
        if data.retained_size() > POOLED_BYTES {
            return;
        }
        let _ = POOL.try_with(|pool| {
            if let Ok(mut pool) = pool.try_borrow_mut() {
                if pool.len() < POOLED {
                    pool.push(entry);
                }
            }
        });
    }
}

/// A span entry for `owner` whose fields `fill` records (it returns whether the span
/// buffers): a closed span's entry from this thread's pool, emptied, or a new one.
fn fresh_entry(
    owner: usize,
    field_count: usize,
    fill: impl FnOnce(&mut FieldList) -> bool,
) -> Arc<SpanEntry> {
    let pooled = POOL
        .try_with(|pool| pool.try_borrow_mut().ok().and_then(|mut p| p.pop()))
        .ok()
        .flatten();
    // Pooled entries are held by nobody else (see `Slot`'s drop).
    if let Some(mut entry) = pooled {
        if let Some(e) = Arc::get_mut(&mut entry) {
            let data = e.data.get_mut().unwrap_or_else(PoisonError::into_inner);
            if let Some(data) = Arc::get_mut(data) {
                let crossed = fill(&mut data.fields);
                e.owner = owner;
                e.crossed = crossed;
                return entry;
            }
        }
    }
    let mut fields = FieldList {
        text: String::with_capacity(128),
        items: Vec::with_capacity(field_count),
        links: Vec::new(),
    };
    let crossed = fill(&mut fields);
    Arc::new(SpanEntry {
        owner,
        crossed,
        data: Mutex::new(Arc::new(SpanData::new(fields))),
        #[cfg(feature = "opentelemetry")]
        trace: OnceLock::new(),
        side: Mutex::new(Vec::new()),
    })
}

/// A layer's data on a span (see [`SpanEntry::with_side`]): a notifier's recent lines of
/// the request, a fingers-crossed buffer. Emptied, not dropped, when the span closes and
/// its entry is reused (see [`Slot`]), so its buffers serve the next span.
pub(crate) trait Side: Send + 'static {
    /// Empties it for another span of the same layer, keeping its buffers (within
    /// reason: a buffer grown huge by one span is let go).
    fn reset(&mut self);
}

/// [`Side`] data as stored: reset, or looked at as its own type.
pub(crate) trait Stored: Send {
    fn reset(&mut self);
    fn any(&self) -> &dyn std::any::Any;
    fn any_mut(&mut self) -> &mut dyn std::any::Any;
}

impl<T: Side> Stored for T {
    fn reset(&mut self) {
        Side::reset(self);
    }
    fn any(&self) -> &dyn std::any::Any {
        self
    }
    fn any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

impl std::fmt::Debug for dyn Stored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Side")
    }
}

/// A process-unique id for a layer instance (see [`SpanEntry`]).
pub(crate) fn next_layer_id() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Stores the new span's fields unless another of our layers already did. The values
/// are recorded before any lock is taken.
pub(crate) fn on_new_span<S>(
    attrs: &tracing::span::Attributes<'_>,
    id: &tracing::span::Id,
    ctx: &Context<'_, S>,
    owner: usize,
) where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let Some(span) = ctx.span(id) else { return };
    if span.extensions().get::<Slot>().is_some() {
        return;
    }
    let entry = fresh_entry(owner, attrs.metadata().fields().len(), |fields| {
        let mut crossed = None;
        attrs.record(&mut Collect {
            message: None,
            fields,
            from_log: false,
            crossed: Some(&mut crossed),
            secrets: Some(scrub::Lines::get().callsite_mask(attrs.metadata())),
        });
        wants_buffer(attrs.metadata().name(), crossed)
    });
    let mut ext = span.extensions_mut();
    if ext.get_mut::<Slot>().is_none() {
        ext.insert(Slot(Some(entry)));
    }
}

/// Appends fields recorded later on a span (`span.record(..)`). The values are
/// recorded (user code runs) before any lock is taken.
pub(crate) fn on_record<S>(
    id: &tracing::span::Id,
    values: &tracing::span::Record<'_>,
    ctx: &Context<'_, S>,
    owner: usize,
) where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let Some(span) = ctx.span(id) else { return };
    let entry = {
        let ext = span.extensions();
        ext.get::<Slot>().and_then(Slot::entry).cloned()
    };
    let Some(entry) = entry.filter(|e| e.owner == owner) else {
        return;
    };
    thread_local! {
        static ADDED: RefCell<FieldList> = RefCell::new(FieldList::default());
    }
    let record = |added: &mut FieldList| {
        added.clear();
        values.record(&mut Collect {
            message: None,
            fields: added,
            from_log: false,
            crossed: None,
            secrets: None,
        });
        if !added.is_empty() {
            entry.append(added);
        }
    };
    // A reused list; a fresh one when a value's `Display` records on a span itself.
    let mut record = Some(record);
    let _ = ADDED.try_with(|cell| {
        if let (Ok(mut added), Some(record)) = (cell.try_borrow_mut(), record.take()) {
            record(&mut added);
        }
    });
    if let Some(record) = record {
        record(&mut FieldList::default());
    }
}

/// The `on_new_span` and `on_record` methods every layer of ours has (see
/// [`on_new_span`] and [`on_record`]). Used inside `impl<S> Layer<S> for ...` of a
/// type with an `id: usize` field.
macro_rules! span_hooks {
    () => {
        fn on_new_span(
            &self,
            attrs: &tracing::span::Attributes<'_>,
            id: &tracing::span::Id,
            ctx: tracing_subscriber::layer::Context<'_, S>,
        ) {
            $crate::record::on_new_span(attrs, id, &ctx, self.id);
        }

        fn on_record(
            &self,
            id: &tracing::span::Id,
            values: &tracing::span::Record<'_>,
            ctx: tracing_subscriber::layer::Context<'_, S>,
        ) {
            $crate::record::on_record(id, values, &ctx, self.id);
        }
    };
}
pub(crate) use span_hooks;

// === the record ===

/// One span around a record: its name, our entry, and its fields as of the event.
#[derive(Debug)]
pub(crate) struct SpanRef {
    pub(crate) name: &'static str,
    pub(crate) entry: Option<Arc<SpanEntry>>,
    pub(crate) data: Arc<SpanData>,
}

/// Everything every output needs of one event, captured once (see the module docs).
#[derive(Debug)]
pub(crate) struct Record<'a> {
    /// The one clock reading of this event, in UTC.
    pub(crate) time: OffsetDateTime,
    pub(crate) level: Level,
    /// The callsite's name (`event src/x.rs:10` unless the macro said `name: ...`).
    pub(crate) name: &'static str,
    /// The target (the real one for `log` records).
    pub(crate) target: &'a str,
    pub(crate) file: Option<&'a str>,
    pub(crate) line: Option<u32>,
    pub(crate) module: Option<&'a str>,
    /// The rendered message, raw: every layout escapes it its own way.
    pub(crate) message: &'a str,
    pub(crate) fields: &'a FieldList,
    /// The enclosing spans, root first.
    pub(crate) spans: &'a [SpanRef],
    /// The OpenTelemetry ids of the innermost span (feature `opentelemetry`).
    pub(crate) trace: Option<otel::TraceIds>,
}

impl<'a> Record<'a> {
    /// One of the crate's own records (a loss notice): target `tracing-logbook`, no
    /// fields, no spans.
    pub(crate) fn notice(
        time: OffsetDateTime,
        level: Level,
        message: &'a str,
        fields: &'a FieldList,
    ) -> Record<'a> {
        Record {
            time,
            level,
            name: NOTICE_TARGET,
            target: NOTICE_TARGET,
            file: None,
            line: None,
            module: None,
            message,
            fields,
            spans: &[],
            trace: None,
        }
    }
}

impl Record<'_> {
    /// A copy of this record borrowing what it borrows (a record is a few references).
    pub(crate) fn reborrow(&self) -> Record<'_> {
        Record {
            name: self.name,
            time: self.time,
            level: self.level,
            target: self.target,
            file: self.file,
            line: self.line,
            module: self.module,
            message: self.message,
            fields: self.fields,
            spans: self.spans,
            trace: self.trace,
        }
    }
}

/// The target of the crate's own records.
pub(crate) const NOTICE_TARGET: &str = "tracing-logbook";

#[derive(Default)]
struct Scratch {
    message: String,
    fields: FieldList,
    spans: Vec<SpanRef>,
}

/// Captures `event` as a [`Record`] stamped `time` and runs `f` on it.
///
/// The buffers are per thread and reused; an event logged while one is being captured
/// or output (from a `Display` impl, say) gets fresh ones.
pub(crate) fn capture<S, R>(
    event: &Event<'_>,
    ctx: &Context<'_, S>,
    time: OffsetDateTime,
    f: impl FnOnce(&Record<'_>) -> R,
) -> R
where
    S: Subscriber + for<'l> LookupSpan<'l>,
{
    thread_local! {
        static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
    }
    let normalized = from_log::normalized(event);
    let from_log = normalized.is_some();
    let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
    let run = |scratch: &mut Scratch| {
        let Scratch {
            message,
            fields,
            spans,
        } = scratch;
        message.clear();
        fields.clear();
        // Left over only if an output panicked last time.
        if !spans.is_empty() {
            spans.clear();
        }
        event.record(&mut Collect {
            message: Some(message),
            fields,
            from_log,
            crossed: None,
            secrets: Some(scrub::Lines::get().callsite_mask(event.metadata())),
        });
        if from_log {
            from_log::append_pending(fields);
        }
        if let Some(scope) = ctx.event_scope(event) {
            // Innermost first, then reversed in place: `Scope::from_root` would first
            // buffer the registry's span references in a `SmallVec`, a copy of every
            // one of them per event.
            for span in scope {
                let entry = span
                    .extensions()
                    .get::<Slot>()
                    .and_then(Slot::entry)
                    .cloned();
                let data = entry.as_ref().map(|e| e.snapshot()).unwrap_or_default();
                spans.push(SpanRef {
                    name: span.name(),
                    entry,
                    data,
                });
            }
            spans.reverse();
        }
        #[cfg(feature = "opentelemetry")]
        let trace = spans
            .last()
            .and_then(|s| s.entry.as_ref())
            .and_then(|e| e.trace.get().copied().flatten());
        #[cfg(not(feature = "opentelemetry"))]
        let trace = None;
        let record = Record {
            time,
            level: Level::of(meta),
            name: meta.name(),
            target: meta.target(),
            file: meta.file(),
            line: meta.line(),
            module: meta.module_path(),
            message,
            fields,
            spans,
            trace,
        };
        let r = f(&record);
        // Spans are not kept alive by the buffer between events.
        if !spans.is_empty() {
            spans.clear();
        }
        // Do not keep one huge record's allocation forever.
        if message.capacity() > 64 * 1024 {
            *message = String::new();
        }
        if fields.text.capacity() > 64 * 1024 {
            *fields = FieldList::default();
        }
        r
    };
    let mut run = Some(run);
    let result = SCRATCH.try_with(|cell| {
        let mut scratch = cell.try_borrow_mut().ok()?;
        Some((run.take()?)(&mut scratch))
    });
    match (result, run) {
        (Ok(Some(r)), _) => r,
        (_, Some(run)) => run(&mut Scratch::default()),
        (_, None) => unreachable_result(),
    }
}

/// A per-thread output buffer: cleared for each use, and let go when one use made it
/// large, so that one huge record does not keep its allocation forever.
pub(crate) trait Reused: Default {
    fn clear(&mut self);
    fn capacity(&self) -> usize;
}

impl Reused for String {
    fn clear(&mut self) {
        String::clear(self)
    }
    fn capacity(&self) -> usize {
        String::capacity(self)
    }
}

impl Reused for Vec<u8> {
    fn clear(&mut self) {
        Vec::clear(self)
    }
    fn capacity(&self) -> usize {
        Vec::capacity(self)
    }
}

/// Runs `f` with the cleared per-thread buffer `key` (a fresh one if re-entered).
pub(crate) fn with_reused<B: Reused, R>(
    key: &'static std::thread::LocalKey<RefCell<B>>,
    f: impl FnOnce(&mut B) -> R,
) -> R {
    let mut f = Some(f);
    let result = key.try_with(|cell| {
        let mut buf = cell.try_borrow_mut().ok()?;
        buf.clear();
        let r = (f.take()?)(&mut buf);
        if buf.capacity() > 64 * 1024 {
            *buf = B::default();
        }
        Some(r)
    });
    match (result, f) {
        (Ok(Some(r)), _) => r,
        (_, Some(f)) => f(&mut B::default()),
        (_, None) => unreachable_result(),
    }
}

/// Runs `f` with a cleared, reused per-thread output buffer (a fresh one if re-entered).
pub(crate) fn with_line<R>(f: impl FnOnce(&mut String) -> R) -> R {
    thread_local! {
        static LINE: RefCell<String> = const { RefCell::new(String::new()) };
    }
    with_reused(&LINE, f)
}

#[cold]
fn unreachable_result<R>() -> R {
    unreachable!("the closure ran without producing a result")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-thread pool of closed spans' entries is bounded in count, keeps no entry
    /// that one huge span grew, and a reused entry carries nothing of its last span.
    #[test]
    fn the_span_pool_is_bounded_and_forgets_its_spans() {
        use tracing_subscriber::layer::SubscriberExt;
        let (layer, captured) = crate::testing::CaptureLayer::new();
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            let big = "x".repeat(1 << 20);
            tracing::info_span!("request", body = big.as_str(), secret_id = 7).in_scope(|| {});
            let many: Vec<tracing::Span> = (0..3 * POOLED)
                .map(|i| tracing::info_span!("s", i))
                .collect();
            drop(many);
            POOL.with(|pool| {
                let pool = pool.borrow();
                assert_eq!(pool.len(), POOLED);
                for entry in pool.iter() {
                    let data = entry.snapshot();
                    assert!(data.fields.is_empty());
                    assert!(
                        data.retained_size() <= POOLED_BYTES,
                        "{}",
                        data.retained_size()
                    );
                }
            });
            // A reused entry: only its new span's fields.
            tracing::info_span!("next", fresh = true).in_scope(|| tracing::info!("inside"));
        });
        let line = captured.formatted().pop().unwrap();
        assert!(line.ends_with("inside in next{fresh=true}"), "{line}");
    }

    #[test]
    fn field_lists_reuse_and_extend() {
        let mut a = FieldList::default();
        a.push_str("a", "x y");
        a.push("n", Kind::I64(-3));
        let mut b = FieldList::default();
        b.push_str("b", "z");
        a.extend(&b);
        let got: Vec<_> = a.iter().map(|(k, v)| (k, v.to_owned_value())).collect();
        assert_eq!(
            got,
            [
                ("a", FieldValue::Str("x y".into())),
                ("n", FieldValue::I64(-3)),
                ("b", FieldValue::Str("z".into())),
            ]
        );
        let mut c = FieldList::default();
        c.clone_from(&a);
        let mut s = String::new();
        push_logbook_fields(&mut s, c.iter());
        assert_eq!(s, "a=\"x y\" n=-3 b=z");
        s.clear();
        push_json_fields(&mut s, c.iter());
        assert_eq!(s, r#""a":"x y","n":-3,"b":"z""#);
    }

    #[derive(Debug)]
    enum DbError {
        // Shown by `Debug` only, as a real error's details are.
        #[allow(dead_code)]
        Constraint { code: u32 },
    }

    impl fmt::Display for DbError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("UNIQUE constraint failed: users.id")
        }
    }

    impl std::error::Error for DbError {}

    #[derive(Debug)]
    struct InsertFailed(DbError);

    impl fmt::Display for InsertFailed {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("cannot insert user")
        }
    }

    impl std::error::Error for InsertFailed {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    /// Quoted-message errors (as `anyhow!("...")` and `Box<dyn Error>` from a string
    /// make) name no type.
    #[derive(Debug)]
    struct Quoted(&'static str);

    impl fmt::Display for Quoted {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    #[test]
    fn error_fields_keep_their_chain_with_classes_from_debug() {
        let err = InsertFailed(DbError::Constraint { code: 1555 });
        let mut list = FieldList::default();
        list.push_str("user", "17");
        list.push_error("error", &err);
        let boxed: Box<dyn std::error::Error> = "plain \"words\"".into();
        list.push_error("other", &*boxed);
        let (name, chain) = list.error_chain().unwrap();
        assert_eq!(name, "error");
        assert_eq!(
            chain,
            [
                ErrorLink {
                    class: "InsertFailed",
                    message: "cannot insert user"
                },
                ErrorLink {
                    class: "Constraint",
                    message: "UNIQUE constraint failed: users.id"
                },
            ]
        );
        // The field itself still reads as the whole chain.
        assert_eq!(
            list.iter().nth(1).unwrap().1,
            Value::Debug("cannot insert user: UNIQUE constraint failed: users.id")
        );
        // Copies and extensions keep the chain.
        let mut copy = FieldList::default();
        copy.push_str("first", "x");
        copy.extend(&list);
        assert_eq!(copy.error_chain().unwrap().1, chain);
        let mut reused = FieldList::default();
        reused.clone_from(&list);
        assert_eq!(reused.error_chain().unwrap().1, chain);
        reused.clear();
        assert!(reused.error_chain().is_none());

        assert_eq!(class_from_debug("\"x y\"", "x y"), "");
        assert_eq!(
            class_from_debug(&format!("{:?}", Quoted("a")), "a"),
            "Quoted"
        );
        assert_eq!(
            class_from_debug("ParseIntError { kind: InvalidDigit }", ""),
            "ParseIntError"
        );
        let mut single = FieldList::default();
        single.push_error("error", &*boxed);
        assert_eq!(single.error_chain().unwrap().1[0].class, "Error");
    }

    /// An error whose `source()` is itself: a chain that never ends.
    #[derive(Debug)]
    struct SelfLoop;

    impl fmt::Display for SelfLoop {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("loops")
        }
    }

    impl std::error::Error for SelfLoop {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(self)
        }
    }

    /// Two errors that are each other's source, and a chain of 40 distinct errors.
    #[derive(Debug)]
    struct Ping(usize);
    static PINGS: [Ping; 40] = {
        let mut all = [const { Ping(0) }; 40];
        let mut i = 0;
        while i < 40 {
            all[i] = Ping(i);
            i += 1;
        }
        all
    };

    impl fmt::Display for Ping {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "p{}", self.0)
        }
    }

    impl std::error::Error for Ping {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            match self.0 {
                // 0 -> 1 -> 0 -> ...: a cycle of two.
                0 => Some(&PINGS[1]),
                1 => Some(&PINGS[0]),
                // 2 -> 3 -> ... -> 39: long, not cyclic.
                n if n + 1 < 40 => Some(&PINGS[n + 1]),
                _ => None,
            }
        }
    }

    #[test]
    fn cyclic_and_endless_chains_are_cut_and_marked() {
        let mut list = FieldList::default();
        list.push_error("error", &SelfLoop);
        assert_eq!(
            list.iter().next().unwrap().1,
            Value::Debug("loops: [cycle: source() returns an earlier error]")
        );
        assert_eq!(list.error_chain().unwrap().1.len(), 1);

        let mut list = FieldList::default();
        list.push_error("error", &PINGS[0]);
        assert_eq!(
            list.iter().next().unwrap().1,
            Value::Debug("p0: p1: [cycle: source() returns an earlier error]")
        );
        assert_eq!(list.error_chain().unwrap().1.len(), 2);

        // Text and links share one bound.
        let mut list = FieldList::default();
        list.push_error("error", &PINGS[2]);
        let Value::Debug(text) = list.iter().next().unwrap().1 else {
            panic!("an error field reads as Debug");
        };
        assert!(text.starts_with("p2: p3: "), "{text}");
        assert!(text.ends_with("p17: [chain cut after 16 errors]"), "{text}");
        assert_eq!(list.error_chain().unwrap().1.len(), text::MAX_CHAIN);

        // Exactly MAX_CHAIN errors is a whole chain, with no mark.
        let mut list = FieldList::default();
        list.push_error("error", &PINGS[40 - text::MAX_CHAIN]);
        let Value::Debug(text) = list.iter().next().unwrap().1 else {
            panic!("an error field reads as Debug");
        };
        assert!(text.ends_with("p39"), "{text}");
    }

    #[test]
    fn reentrant_buffers_do_not_panic() {
        let out = with_line(|a| {
            a.push_str("outer");
            with_line(|b| {
                b.push_str("inner");
                b.clone()
            })
        });
        assert_eq!(out, "inner");
    }
}
