//! Logbook's line: `[2026-11-23 19:28:08.123456] NOTICE: App: listening port=8080 in request{method=GET}`.

use time::OffsetDateTime;

use super::Layout;
use crate::ansi::{level_color, RESET};
use crate::clock::{Timezone, Zone};
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
}

impl LogbookLayout {
    pub(crate) fn new(timezone: Timezone, color: bool, channels: Vec<(String, String)>) -> Self {
        LogbookLayout {
            zone: Zone::new(timezone),
            color,
            channels,
            span_fields: SpanFields::All,
        }
    }

    /// Shows request spans as `span_fields` says.
    pub(crate) fn with_span_fields(mut self, span_fields: SpanFields) -> Self {
        self.span_fields = span_fields;
        self
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
        buf.push('[');
        text::push_timestamp(
            buf,
            self.shown_time(record.time),
            self.zone.timezone().shows_offset(),
        );
        buf.push_str("] ");
        buf.push_str(level.as_str());
        buf.push_str(": ");
        text::push_escaped(buf, self.channel(record.target), Mode::Inline);
        buf.push_str(": ");

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
