//! Field values, their one-line rendering, and span field storage shared by all layers.
//!
//! # How fields and spans are printed
//!
//! After the message, each event field is printed as ` key=value`, and then, when the
//! event happened inside spans, ` in outer{key=value}:inner{key=value}` (root span first;
//! a span without fields prints just its name). String values are printed bare when they
//! contain only printable, non-space characters other than `"`, `=` and `\`, and quoted
//! with Rust escapes otherwise (`path="/a b"`, `empty=""`). `?value` prints the `Debug`
//! form and `%value` the `Display` form, with control characters escaped.
//!
//! # Log forging and terminal injection
//!
//! No content of an event can produce a line that reads as a separate record, or put a
//! raw control byte on the output. This is a deliberate difference from Logbook, which
//! writes messages raw:
//!
//! * a newline inside the message starts a continuation line indented by two spaces, so
//!   every record starts with `[` at the beginning of a line and nothing else does;
//!   trailing newlines of a message are dropped;
//! * a lone `\r`, ESC and every other C0/C1 control character, DEL, the Unicode line and
//!   paragraph separators and the bidirectional overrides are written as Rust escapes
//!   (`\u{1b}`); tabs stay tabs in messages;
//! * field values, span fields and channels never contain a newline: it is escaped as `\n`.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};

/// A recorded field value, as kept for spans and for [`testing`](crate::testing).
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue {
    /// A string recorded with `record_str` (a plain `&str` value).
    Str(String),
    /// The rendered `Debug` (`?value`) or `Display` (`%value`) form of a value.
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
    pub fn to_text(&self) -> String {
        match self {
            FieldValue::Str(s) | FieldValue::Debug(s) => s.clone(),
            FieldValue::I64(v) => v.to_string(),
            FieldValue::U64(v) => v.to_string(),
            FieldValue::F64(v) => v.to_string(),
            FieldValue::Bool(v) => v.to_string(),
        }
    }

    /// Appends the one-line rendering used on Logbook lines.
    pub(crate) fn render(&self, buf: &mut String) {
        match self {
            FieldValue::Str(s) => push_str_value(buf, s),
            FieldValue::Debug(s) => push_escaped(buf, s, Mode::Inline),
            FieldValue::I64(v) => {
                let _ = write!(buf, "{v}");
            }
            FieldValue::U64(v) => {
                let _ = write!(buf, "{v}");
            }
            FieldValue::F64(v) => {
                let _ = write!(buf, "{v}");
            }
            FieldValue::Bool(v) => buf.push_str(if *v { "true" } else { "false" }),
        }
    }
}

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.render(&mut s);
        f.write_str(&s)
    }
}

/// Whether a field is internal to the crate or to the `log` bridge and never printed.
#[inline]
pub(crate) fn is_hidden(name: &str, from_log: bool) -> bool {
    name == crate::level::LEVEL_FIELD || (from_log && name.starts_with("log."))
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

    fn push(&mut self, field: &Field, value: FieldValue) {
        if !is_hidden(field.name(), false) {
            self.0.push((field.name(), value));
        }
    }

    /// Appends ` k=v k2=v2`, each with a leading space.
    pub(crate) fn render(&self, buf: &mut String) {
        for (i, (name, value)) in self.0.iter().enumerate() {
            if i > 0 {
                buf.push(' ');
            }
            buf.push_str(name);
            buf.push('=');
            value.render(buf);
        }
    }
}

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, FieldValue::F64(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, FieldValue::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, FieldValue::U64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, FieldValue::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, FieldValue::Str(value.to_owned()));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.push(field, FieldValue::Debug(error_chain(value)));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, FieldValue::Debug(format!("{value:?}")));
    }
}

/// `err: source: source's source`, the way an error and its causes read best on one line.
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut s = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let _ = write!(s, ": {cause}");
        source = cause.source();
    }
    s
}

/// The fields of a span, stored in its extensions by the first of our layers to see it.
#[derive(Debug)]
pub(crate) struct SpanFields {
    /// The layer instance that appends later `record` calls, so two of our layers in one
    /// subscriber do not record everything twice.
    owner: usize,
    pub(crate) fields: Fields,
}

/// A process-unique id for a layer instance (see [`SpanFields`]).
pub(crate) fn next_layer_id() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Stores the new span's fields unless another of our layers already did.
pub(crate) fn on_new_span<S>(
    attrs: &tracing::span::Attributes<'_>,
    id: &tracing::span::Id,
    ctx: &tracing_subscriber::layer::Context<'_, S>,
    owner: usize,
) where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let Some(span) = ctx.span(id) else { return };
    let mut ext = span.extensions_mut();
    if ext.get_mut::<SpanFields>().is_none() {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        ext.insert(SpanFields { owner, fields });
    }
}

/// Appends fields recorded later on a span (`span.record(..)`).
pub(crate) fn on_record<S>(
    id: &tracing::span::Id,
    values: &tracing::span::Record<'_>,
    ctx: &tracing_subscriber::layer::Context<'_, S>,
    owner: usize,
) where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let Some(span) = ctx.span(id) else { return };
    let mut ext = span.extensions_mut();
    if let Some(stored) = ext.get_mut::<SpanFields>() {
        if stored.owner == owner {
            values.record(&mut stored.fields);
        }
    }
}

/// The `on_new_span` and `on_record` methods every layer of ours has: store a span's
/// fields (see [`on_new_span`]) and append the ones recorded later (see [`on_record`]).
/// Used inside `impl<S> Layer<S> for ...` of a type with an `id: usize` field.
macro_rules! span_field_hooks {
    () => {
        fn on_new_span(
            &self,
            attrs: &tracing::span::Attributes<'_>,
            id: &tracing::span::Id,
            ctx: tracing_subscriber::layer::Context<'_, S>,
        ) {
            $crate::fields::on_new_span(attrs, id, &ctx, self.id);
        }

        fn on_record(
            &self,
            id: &tracing::span::Id,
            values: &tracing::span::Record<'_>,
            ctx: tracing_subscriber::layer::Context<'_, S>,
        ) {
            $crate::fields::on_record(id, values, &ctx, self.id);
        }
    };
}
pub(crate) use span_field_hooks;

// === escaping ===

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Message text: `\n` starts an indented continuation line, tabs stay.
    Message,
    /// One-line text (channels, unquoted values): newlines and tabs are escaped too.
    Inline,
    /// Inside double quotes: also `"` and `\` are escaped.
    Quoted,
}

/// The indentation of a message's continuation lines.
pub(crate) const CONTINUATION: &str = "\n  ";

/// Whether a character must never reach the output raw.
#[inline]
fn is_dangerous(c: char) -> bool {
    matches!(c,
        '\0'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{2028}' | '\u{2029}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// ASCII bytes that may appear in a bare (unquoted) string value.
static BARE_ASCII: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0x21; // after space
    while b < 0x7f {
        t[b] = !(b == b'"' as usize || b == b'=' as usize || b == b'\\' as usize);
        b += 1;
    }
    t
};

/// A cheap byte scan: false means the text certainly needs no escaping in message mode
/// except for `\n`/`\r` handling (bytes 0xC2 and 0xE2 start the dangerous non-ASCII
/// characters).
///
/// Written without early exits inside 16-byte chunks so that it compiles to SIMD
/// comparisons: this scan runs over every message.
#[inline]
pub(crate) fn may_need_escape(s: &str) -> bool {
    #[inline(always)]
    fn bad(b: u8) -> bool {
        ((b < 0x20) & (b != b'\t')) | (b == 0x7f) | (b == 0xc2) | (b == 0xe2)
    }
    let mut chunks = s.as_bytes().chunks_exact(16);
    for chunk in &mut chunks {
        if chunk.iter().fold(false, |acc, &b| acc | bad(b)) {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| bad(b))
}

/// Appends `s` escaped for `mode`.
pub(crate) fn push_escaped(buf: &mut String, s: &str, mode: Mode) {
    let fast = match mode {
        Mode::Message => !may_need_escape(s),
        Mode::Inline => !may_need_escape(s) && !s.contains('\t'),
        Mode::Quoted => !may_need_escape(s) && !s.contains(['\t', '"', '\\']),
    };
    if fast {
        buf.push_str(s);
        return;
    }
    let s = if mode == Mode::Message {
        s.trim_end_matches(['\n', '\r'])
    } else {
        s
    };
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if mode == Mode::Message && chars.peek() == Some(&'\n') => {}
            '\n' if mode == Mode::Message => buf.push_str(CONTINUATION),
            '\t' if mode == Mode::Message => buf.push('\t'),
            '\n' => buf.push_str("\\n"),
            '\r' => buf.push_str("\\r"),
            '\t' => buf.push_str("\\t"),
            '"' if mode == Mode::Quoted => buf.push_str("\\\""),
            '\\' if mode == Mode::Quoted => buf.push_str("\\\\"),
            c if is_dangerous(c) => {
                let _ = write!(buf, "\\u{{{:x}}}", c as u32);
            }
            c => buf.push(c),
        }
    }
}

/// Appends a string field value: bare when safe and unambiguous, quoted otherwise.
pub(crate) fn push_str_value(buf: &mut String, s: &str) {
    let ascii_bare = !s.is_empty() && s.bytes().all(|b| BARE_ASCII[b as usize]);
    let bare = ascii_bare
        || !s.is_empty()
            && !s
                .chars()
                .any(|c| c.is_whitespace() || matches!(c, '"' | '=' | '\\') || is_dangerous(c));
    if bare {
        buf.push_str(s);
    } else {
        buf.push('"');
        push_escaped(buf, s, Mode::Quoted);
        buf.push('"');
    }
}

/// Re-escapes, in place, the text appended to `buf` since `start`, if it needs it.
///
/// Used after writing `Debug`/`Display` output straight into the buffer: the common case
/// (nothing to escape) costs one scan and no copy.
#[inline]
pub(crate) fn escape_tail(buf: &mut String, start: usize, mode: Mode) {
    let tail = &buf[start..];
    let needs = match mode {
        Mode::Message => may_need_escape(tail),
        Mode::Inline => may_need_escape(tail) || tail.contains('\t'),
        Mode::Quoted => may_need_escape(tail) || tail.contains(['\t', '"', '\\']),
    };
    if needs {
        let raw = buf.split_off(start);
        push_escaped(buf, &raw, mode);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(s: &str, mode: Mode) -> String {
        let mut b = String::new();
        push_escaped(&mut b, s, mode);
        b
    }

    #[test]
    fn message_newlines_become_indented_continuations() {
        assert_eq!(
            esc("one\ntwo\r\nthree\n", Mode::Message),
            "one\n  two\n  three"
        );
        assert_eq!(esc("a\tb", Mode::Message), "a\tb");
        assert_eq!(esc("cr\ronly", Mode::Message), "cr\\ronly");
    }

    #[test]
    fn control_characters_never_pass() {
        let hostile = "nul\0 bell\x07 esc\x1b[31m del\x7f c1\u{9b} ls\u{2028} rlo\u{202e}";
        for mode in [Mode::Message, Mode::Inline, Mode::Quoted] {
            let out = esc(hostile, mode);
            assert!(
                !out.chars().any(is_dangerous),
                "{mode:?}: {out:?}",
                mode = mode as u8
            );
            assert!(out.contains("\\u{1b}[31m"), "{out}");
        }
    }

    #[test]
    fn string_values_quote_only_when_needed() {
        let v = |s| {
            let mut b = String::new();
            push_str_value(&mut b, s);
            b
        };
        assert_eq!(v("GET"), "GET");
        assert_eq!(v("/a/b?c"), "/a/b?c");
        assert_eq!(v("a b"), "\"a b\"");
        assert_eq!(v(""), "\"\"");
        assert_eq!(v("x=1"), "\"x=1\"");
        assert_eq!(v("say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
        assert_eq!(v("ünï"), "ünï");
    }

    #[test]
    fn escape_tail_only_touches_the_tail() {
        let mut b = String::from("keep\x1b ");
        let start = b.len();
        b.push_str("tail\x1b");
        escape_tail(&mut b, start, Mode::Inline);
        assert_eq!(b, "keep\x1b tail\\u{1b}");
    }
}
