//! Logbook's line: `[2026-11-23 19:28:08.123456] NOTICE: App: listening port=8080 in request{method=GET}`.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use time::OffsetDateTime;

use super::Layout;
use crate::ansi::{level_color, RESET};
use crate::clock::{Timezone, Zone};
use crate::level::Level;
use crate::record::text::{self, Mode};
use crate::record::{
    push_logbook_fields, Record, SpanText, REQUEST_IDENTITY, REQUEST_SPAN, RESPONSE_EVENT,
};

/// How much of a request span (the spans named `request`, such as the
/// [`web`](https://docs.rs/tracing-logbook/latest/tracing_logbook/web/index.html) glue's)
/// a Logbook line inside it shows. The span's whole fields are on its response line and in
/// notifications whatever this says, and other spans always show their fields.
///
/// ```text
/// identity: INFO: app: 3 items in cart in request{request_id=7f3a route=/cart}
/// all:      INFO: app: 3 items in cart in request{method=GET url=/cart server.address=shop.example.com request_id=7f3a route=/cart client.address=203.0.113.7 user_agent=…}
/// none:     INFO: app: 3 items in cart in request
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SpanFields {
    /// The fields that identify the request: `request_id`, `id`, `route`, `user.id`.
    #[default]
    Identity,
    /// Every field.
    All,
    /// The span's name alone.
    None,
}

/// The Logbook line layout.
#[derive(Debug)]
pub(crate) struct LogbookLayout {
    pub(crate) zone: Zone,
    pub(crate) color: bool,
    pub(crate) channels: Vec<(String, String)>,
    pub(crate) span_fields: SpanFields,
    /// Tells this layout's entry in the per-thread [`Head`] cache from another's.
    id: u64,
}

/// The start of the last line this thread rendered, up to the message, with the place of
/// its microseconds: `[2026-11-23 19:28:08.123456] INFO: App: `. The next line of the
/// same second, level and channel copies it and writes its own six digits over the old
/// ones, instead of formatting the date and time and escaping the channel again.
struct Head {
    layout: u64,
    /// The shown time's date, hour, minute and second, and its offset in seconds.
    second: Option<(time::Date, u8, u8, u8, i32)>,
    level: Option<Level>,
    target: String,
    /// `[`, the date and time, the offset if shown, `] LEVEL: channel: `.
    text: String,
    /// Where the six digits of the microseconds are in `text`.
    micros: usize,
    /// Where `LEVEL: channel: ` starts in `text`.
    rest: usize,
}

thread_local! {
    static HEAD: RefCell<Head> = const {
        RefCell::new(Head {
            layout: 0,
            second: None,
            level: None,
            target: String::new(),
            text: String::new(),
            micros: 0,
            rest: 0,
        })
    };
}

/// A process-unique id for a [`LogbookLayout`] (0: none).
fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl LogbookLayout {
    pub(crate) fn new(timezone: Timezone, color: bool, channels: Vec<(String, String)>) -> Self {
        LogbookLayout {
            zone: Zone::new(timezone),
            color,
            channels,
            span_fields: SpanFields::All,
            id: next_id(),
        }
    }

    /// Shows request spans as `span_fields` says.
    pub(crate) fn with_span_fields(mut self, span_fields: SpanFields) -> Self {
        self.span_fields = span_fields;
        self
    }

    /// Appends `[<date> <time>] LEVEL: channel: `, from this thread's cache when the
    /// last line it rendered with this layout had the same second, level and target.
    fn push_head(&self, buf: &mut String, t: OffsetDateTime, level: Level, target: &str) {
        let second = (
            t.date(),
            t.hour(),
            t.minute(),
            t.second(),
            t.offset().whole_seconds(),
        );
        let cached = HEAD.try_with(|head| {
            let Ok(mut head) = head.try_borrow_mut() else {
                return false;
            };
            let head = &mut *head;
            if head.layout != self.id || head.second != Some(second) {
                head.text.clear();
                head.text.push('[');
                text::push_timestamp(&mut head.text, t, self.zone.timezone().shows_offset());
                head.micros = head.text.rfind('.').map_or(0, |dot| dot + 1);
                head.text.push_str("] ");
                head.rest = head.text.len();
                head.second = Some(second);
                head.level = None;
            }
            if head.layout != self.id || head.level != Some(level) || head.target != target {
                head.text.truncate(head.rest);
                self.push_level_channel(&mut head.text, level, target);
                head.level = Some(level);
                head.target.clear();
                head.target.push_str(target);
                head.layout = self.id;
            }
            let start = buf.len();
            buf.push_str(&head.text);
            text::put_micros(buf, start + head.micros, t.microsecond());
            true
        });
        if cached != Ok(true) {
            buf.push('[');
            text::push_timestamp(buf, t, self.zone.timezone().shows_offset());
            buf.push_str("] ");
            self.push_level_channel(buf, level, target);
        }
    }

    /// Appends `LEVEL: channel: `.
    fn push_level_channel(&self, out: &mut String, level: Level, target: &str) {
        out.push_str(level.as_str());
        out.push_str(": ");
        text::push_escaped(out, self.channel(target), Mode::Inline);
        out.push_str(": ");
    }

    fn channel<'a>(&'a self, target: &'a str) -> &'a str {
        for (module, name) in &self.channels {
            if let Some(rest) = target.strip_prefix(module.as_str()) {
                if rest.is_empty() || rest.starts_with("::") {
                    return name;
                }
            }
        }
        target
    }
}

impl Layout for LogbookLayout {
    #[inline]
    fn shown_time(&self, utc: OffsetDateTime) -> OffsetDateTime {
        self.zone.display(utc)
    }

    fn render(&self, record: &Record<'_>, buf: &mut String) {
        let level = record.level;
        if self.color {
            buf.push_str(level_color(level));
        }
        self.push_head(buf, self.shown_time(record.time), level, record.target);

        let message_start = buf.len();
        text::push_escaped(buf, record.message, Mode::Message);
        let mut first = buf.len() == message_start;
        for (name, value) in record.fields.iter() {
            // The panic hook's structured fields repeat what its message says.
            if name.starts_with("panic.") {
                continue;
            }
            if !first {
                buf.push(' ');
            }
            first = false;
            text::push_name(buf, name);
            buf.push('=');
            value.push_logbook(buf);
        }

        // The response line shows its request whole; other lines as configured.
        let request_fields = if record.name == RESPONSE_EVENT {
            SpanFields::All
        } else {
            self.span_fields
        };
        for (i, span) in record.spans.iter().enumerate() {
            buf.push_str(if i == 0 { " in " } else { ":" });
            text::push_name(buf, span.name);
            let shown = if span.name == REQUEST_SPAN {
                request_fields
            } else {
                SpanFields::All
            };
            let fields = match shown {
                SpanFields::All => span.data.text(SpanText::Logbook, |fields, out| {
                    push_logbook_fields(out, fields.iter())
                }),
                SpanFields::Identity => span.data.text(SpanText::LogbookIdentity, |fields, out| {
                    push_logbook_fields(
                        out,
                        fields
                            .iter()
                            .filter(|(name, _)| REQUEST_IDENTITY.contains(name)),
                    )
                }),
                SpanFields::None => "",
            };
            if !fields.is_empty() {
                buf.push('{');
                buf.push_str(fields);
                buf.push('}');
            }
        }

        if let Some(ids) = record.trace {
            buf.push_str(" trace_id=");
            ids.push_trace_id(buf);
            buf.push_str(" span_id=");
            ids.push_span_id(buf);
        }

        // A panic's backtrace, when asked for: after the request, as continuation lines.
        if let Some((_, crate::record::Value::Str(frames))) = (record.target
            == crate::panic::PANIC_TARGET)
            .then(|| {
                record
                    .fields
                    .iter()
                    .find(|(name, _)| *name == crate::panic::FIELD_SHOWN)
            })
            .flatten()
        {
            text::push_escaped(buf, "\nstack backtrace:", Mode::Message);
            text::push_escaped(buf, frames, Mode::Message);
        }

        if self.color {
            buf.push_str(RESET);
        }
        buf.push('\n');
    }
}

/// The notice of a writer that was given none: a Logbook line in UTC, without colors
/// (here, beside the layout that renders it: sinks never import layouts).
impl Default for crate::sink::LossNotice {
    fn default() -> Self {
        crate::sink::LossNotice(super::loss_notice(
            std::sync::Arc::new(LogbookLayout::new(
                crate::clock::Timezone::Utc,
                false,
                Vec::new(),
            )),
            "lines",
        ))
    }
}

#[cfg(test)]
mod tests {
    use time::macros::{datetime, offset};

    use super::*;
    use crate::record::FieldList;

    fn line(layout: &LogbookLayout, t: OffsetDateTime, level: Level, target: &str) -> String {
        let fields = FieldList::default();
        let mut record = Record::notice(t, level, "m", &fields);
        record.target = target;
        let mut buf = String::new();
        layout.render(&record, &mut buf);
        buf.trim_end_matches('\n').to_owned()
    }

    /// The per-thread head cache never lends one line's date, level, channel or offset
    /// to another: layouts, seconds, levels and targets interleaved on one thread, and a
    /// target whose text changes in the same buffer (a `log` record's runtime target).
    #[test]
    fn the_cached_head_is_never_another_lines() {
        let utc = LogbookLayout::new(Timezone::Utc, false, vec![("app".into(), "App".into())]);
        let india = LogbookLayout::new(Timezone::Fixed(offset!(+5:30)), false, Vec::new());
        let t = datetime!(2026-11-23 19:28:08.123456 UTC);
        let later = datetime!(2026-11-23 19:28:09.000001 UTC);
        let mut target = String::from("app::db");
        let cases = [
            (
                &utc,
                t,
                Level::Info,
                "app",
                "[2026-11-23 19:28:08.123456] INFO: App: m",
            ),
            (
                &india,
                t,
                Level::Info,
                "app",
                "[2026-11-24 00:58:08.123456+0530] INFO: app: m",
            ),
            (
                &utc,
                t,
                Level::Info,
                "app",
                "[2026-11-23 19:28:08.123456] INFO: App: m",
            ),
            (
                &utc,
                t,
                Level::Notice,
                "app",
                "[2026-11-23 19:28:08.123456] NOTICE: App: m",
            ),
            (
                &utc,
                datetime!(2026-11-23 19:28:08.000042 UTC),
                Level::Notice,
                "app",
                "[2026-11-23 19:28:08.000042] NOTICE: App: m",
            ),
            (
                &utc,
                later,
                Level::Notice,
                "app",
                "[2026-11-23 19:28:09.000001] NOTICE: App: m",
            ),
            (
                &utc,
                later,
                Level::Notice,
                "other",
                "[2026-11-23 19:28:09.000001] NOTICE: other: m",
            ),
            (
                &india,
                later,
                Level::Notice,
                "other",
                "[2026-11-24 00:58:09.000001+0530] NOTICE: other: m",
            ),
        ];
        for (layout, t, level, target, want) in cases {
            let shown = layout.shown_time(t);
            assert_eq!(line(layout, shown, level, target), want);
        }
        // The same buffer, another text: never the cached channel.
        assert_eq!(
            line(&utc, t, Level::Info, &target),
            "[2026-11-23 19:28:08.123456] INFO: App: m"
        );
        target.clear();
        target.push_str("bad\ntarget");
        assert_eq!(
            line(&utc, t, Level::Info, &target),
            "[2026-11-23 19:28:08.123456] INFO: bad\\ntarget: m"
        );
    }
}
