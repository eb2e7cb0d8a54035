//! One JSON object per line (see [`JsonLayer`](crate::JsonLayer) for the keys).

use std::cell::RefCell;

use time::OffsetDateTime;

use super::Layout;
use crate::clock::{Timezone, Zone};
use crate::record::text;
use crate::record::{push_json_fields, Record, SpanText};

/// The JSON line layout. Timestamps are UTC; the zone only decides the daily file.
#[derive(Debug)]
pub(crate) struct JsonLayout {
    pub(crate) zone: Zone,
}

impl JsonLayout {
    pub(crate) fn new(timezone: Timezone) -> Self {
        JsonLayout {
            zone: Zone::new(timezone),
        }
    }
}

impl Layout for JsonLayout {
    #[inline]
    fn shown_time(&self, utc: OffsetDateTime) -> OffsetDateTime {
        self.zone.display(utc)
    }

    fn render(&self, record: &Record<'_>, buf: &mut String) {
        buf.push_str("{\"timestamp\":\"");
        text::push_rfc3339(buf, record.time);
        buf.push_str("\",\"level\":\"");
        buf.push_str(record.level.as_str());
        buf.push_str("\",\"channel\":");
        text::push_json_str(buf, record.target);
        buf.push_str(",\"message\":");
        text::push_json_str(buf, record.message);
        buf.push_str(",\"fields\":{");
        push_json_fields(buf, record.fields.iter());
        buf.push_str("},\"spans\":[");
        for (i, span) in record.spans.iter().enumerate() {
            if i > 0 {
                buf.push(',');
            }
            buf.push_str("{\"name\":");
            text::push_json_str(buf, span.name);
            buf.push_str(",\"fields\":{");
            buf.push_str(span.data.text(SpanText::Json, |fields, out| {
                push_json_fields(out, fields.iter())
            }));
            buf.push_str("}}");
        }
        buf.push(']');
        if let Some(file) = record.file {
            buf.push_str(",\"file\":");
            text::push_json_str(buf, file);
        }
        if let Some(line) = record.line {
            buf.push_str(",\"line\":");
            text::push_u64(buf, u64::from(line));
        }
        buf.push_str(",\"thread\":");
        push_thread(buf);
        if let Some(ids) = record.trace {
            buf.push_str(",\"trace_id\":\"");
            ids.push_trace_id(buf);
            buf.push_str("\",\"span_id\":\"");
            ids.push_span_id(buf);
            buf.push('"');
        }
        buf.push_str("}\n");
    }
}

/// The current thread's name (or id) as a JSON string, cached per thread.
pub(crate) fn push_thread(buf: &mut String) {
    thread_local! {
        static NAME: RefCell<Option<String>> = const { RefCell::new(None) };
    }
    let pushed = NAME.try_with(|name| {
        let Ok(mut name) = name.try_borrow_mut() else {
            return false;
        };
        let name = name.get_or_insert_with(|| {
            let t = std::thread::current();
            let mut s = String::new();
            match t.name() {
                Some(n) => text::push_json_str(&mut s, n),
                None => text::push_json_str(&mut s, &format!("{:?}", t.id())),
            }
            s
        });
        buf.push_str(name);
        true
    });
    if pushed != Ok(true) {
        buf.push_str("\"<exiting>\"");
    }
}
