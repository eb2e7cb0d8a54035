//! RFC 5424 messages (see [`SyslogLayer`](crate::syslog::SyslogLayer) for the parts).

use std::fmt::Write as _;

use time::OffsetDateTime;

use super::Layout;
use crate::level::Level;
use crate::record::text::{self, Mode};
use crate::record::{FieldList, Record, SpanText};

/// The syslog severity of a Logbook level.
///
/// ```
/// use tracing_logbook::{syslog::severity, Level};
/// assert_eq!(severity(Level::Critical), 2);
/// assert_eq!(severity(Level::Notice), 5);
/// ```
pub const fn severity(level: Level) -> u8 {
    match level {
        Level::Critical => 2,
        Level::Error => 3,
        Level::Warning => 4,
        Level::Notice => 5,
        Level::Info => 6,
        Level::Debug | Level::Trace => 7,
    }
}

/// The RFC 5424 layout: header, the `logbook@32473` and `fields@32473` structured data
/// elements, and `channel: message` on one line.
#[derive(Debug)]
pub(crate) struct SyslogLayout {
    pub(crate) facility: u8,
    /// ` HOSTNAME APP-NAME PROCID - `, sanitized once.
    pub(crate) prefix: String,
}

impl Layout for SyslogLayout {
    #[inline]
    fn shown_time(&self, utc: OffsetDateTime) -> OffsetDateTime {
        utc
    }

    fn render(&self, record: &Record<'_>, msg: &mut String) {
        let _ = write!(msg, "<{}>1 ", self.facility * 8 + severity(record.level));
        text::push_rfc3339(msg, record.time);
        msg.push_str(&self.prefix);
        msg.push_str("[logbook@32473");
        text::push_sd_param(msg, "channel", record.target);
        text::push_sd_param(msg, "level", record.level.as_str());
        msg.push(']');
        let params_start = msg.len();
        msg.push_str("[fields@32473");
        let empty = msg.len();
        push_params(msg, record.fields);
        for span in record.spans {
            msg.push_str(
                span.data
                    .text(SpanText::Syslog, |f, out| push_params(out, f)),
            );
        }
        if msg.len() == empty {
            msg.truncate(params_start);
        } else {
            msg.push(']');
        }
        if let Some(ids) = record.trace {
            let mut hex = String::with_capacity(32);
            msg.push_str("[opentelemetry");
            ids.push_trace_id(&mut hex);
            text::push_sd_param(msg, "trace_id", &hex);
            hex.clear();
            ids.push_span_id(&mut hex);
            text::push_sd_param(msg, "span_id", &hex);
            msg.push(']');
        }
        msg.push(' ');
        text::push_escaped(msg, record.target, Mode::Inline);
        msg.push_str(": ");
        text::push_escaped(msg, record.message, Mode::Inline);
    }
}

/// Appends ` name="value"` for every field (values as their plain text).
fn push_params(out: &mut String, fields: &FieldList) {
    let mut value = String::new();
    for (name, v) in fields.iter() {
        value.clear();
        v.push_text(&mut value);
        text::push_sd_param(out, name, &value);
    }
}
