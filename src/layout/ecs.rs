//! Elastic Common Schema JSON lines (`LOG_FORMAT=ecs`), for Elasticsearch, Vector, Fluent
//! Bit and Filebeat pipelines that expect ECS names.
//!
//! ```text
//! {"@timestamp":"2026-11-23T19:28:08.123456Z","log.level":"notice","message":"listening","ecs.version":"8.11.0","log.logger":"App","log.origin.file.name":"src/main.rs","log.origin.file.line":12,"process.thread.name":"main","logbook.spans":["request"],"port":8080,"method":"GET"}
//! ```
//!
//! | key | value | present |
//! |---|---|---|
//! | `@timestamp` | RFC 3339, UTC, microseconds, `Z` | always |
//! | `log.level` | Logbook's level, lower case: `trace` … `notice` … `critical` | always |
//! | `message` | the rendered message | always (may be `""`) |
//! | `ecs.version` | [`ECS_VERSION`] | always |
//! | `log.logger` | the event's target (the real one for `log` records) | always |
//! | `log.origin.file.name`, `log.origin.file.line` | the source location | when known |
//! | `process.thread.name` | the thread's name, or its id (`ThreadId(3)`) | always |
//! | `trace.id`, `span.id` | the OpenTelemetry ids (feature `opentelemetry`) | inside a sampled OpenTelemetry span |
//! | `logbook.spans` | the enclosing spans' names, root first | inside spans |
//! | *field name* | every event field, then every span field (innermost span first), flattened under its own name: numbers and booleans as such, the rest as strings | per field |
//!
//! Flattening keeps each name once: an event's field wins over a span's, an inner span's
//! over an outer's. A field whose name is one of the keys above, or would make one of
//! them an object or a value (a field `log`, or `message.id`), is written as
//! `logbook.fields.<name>` instead, so a line never has a duplicate key and never
//! conflicts with the ECS mapping. Strings are escaped as in the JSON lines.

use time::OffsetDateTime;

use super::Layout;
use crate::clock::{Timezone, Zone};
use crate::record::text;
use crate::record::Record;

/// The ECS version the lines follow.
pub(crate) const ECS_VERSION: &str = "8.11.0";

/// The keys the layout writes itself.
const OWN_KEYS: [&str; 12] = [
    "@timestamp",
    "log.level",
    "message",
    "ecs.version",
    "log.logger",
    "log.origin.file.name",
    "log.origin.file.line",
    "process.thread.name",
    "trace.id",
    "span.id",
    "logbook.spans",
    "logbook.fields",
];

/// Whether a field named `name` would clash with one of [`OWN_KEYS`] (the same key, or
/// one a dotted prefix of the other).
fn clashes(name: &str) -> bool {
    OWN_KEYS.iter().any(|key| {
        key == &name
            || (key.len() > name.len()
                && key.starts_with(name)
                && key.as_bytes()[name.len()] == b'.')
            || (name.len() > key.len()
                && name.starts_with(key)
                && name.as_bytes()[key.len()] == b'.')
    })
}

/// The ECS JSON line layout. Timestamps are UTC; the zone only decides the daily file.
#[derive(Debug)]
pub(crate) struct EcsLayout {
    zone: Zone,
}

impl EcsLayout {
    pub(crate) fn new(timezone: Timezone) -> Self {
        EcsLayout {
            zone: Zone::new(timezone),
        }
    }
}

impl Layout for EcsLayout {
    #[inline]
    fn shown_time(&self, utc: OffsetDateTime) -> OffsetDateTime {
        self.zone.display(utc)
    }

    fn render(&self, record: &Record<'_>, buf: &mut String) {
        buf.push_str("{\"@timestamp\":\"");
        text::push_rfc3339(buf, record.time);
        buf.push_str("\",\"log.level\":\"");
        buf.push_str(record.level.as_lower_str());
        buf.push_str("\",\"message\":");
        text::push_json_str(buf, record.message);
        buf.push_str(",\"ecs.version\":\"");
        buf.push_str(ECS_VERSION);
        buf.push_str("\",\"log.logger\":");
        text::push_json_str(buf, record.target);
        if let Some(file) = record.file {
            buf.push_str(",\"log.origin.file.name\":");
            text::push_json_str(buf, file);
        }
        if let Some(line) = record.line {
            buf.push_str(",\"log.origin.file.line\":");
            text::push_u64(buf, u64::from(line));
        }
        buf.push_str(",\"process.thread.name\":");
        super::json::push_thread(buf);
        if let Some(ids) = record.trace {
            buf.push_str(",\"trace.id\":\"");
            ids.push_trace_id(buf);
            buf.push_str("\",\"span.id\":\"");
            ids.push_span_id(buf);
            buf.push('"');
        }
        if !record.spans.is_empty() {
            buf.push_str(",\"logbook.spans\":[");
            for (i, span) in record.spans.iter().enumerate() {
                if i > 0 {
                    buf.push(',');
                }
                text::push_json_str(buf, span.name);
            }
            buf.push(']');
        }
        let mut seen: Vec<&str> = Vec::new();
        let fields = record.fields.iter().chain(
            record
                .spans
                .iter()
                .rev()
                .flat_map(|span| span.data.fields.iter()),
        );
        for (name, value) in fields {
            if seen.contains(&name) {
                continue;
            }
            seen.push(name);
            buf.push(',');
            if clashes(name) {
                let mut key = String::with_capacity(15 + name.len());
                key.push_str("logbook.fields.");
                key.push_str(name);
                text::push_json_str(buf, &key);
            } else {
                text::push_json_str(buf, name);
            }
            buf.push(':');
            value.push_json(buf);
        }
        buf.push_str("}\n");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::Value;
    use time::macros::datetime;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::clock::ManualClock;
    use crate::layer::{Emit, Formatted, Spine};
    use crate::sink::CaptureWriter;

    fn ecs_lines(f: impl FnOnce()) -> Vec<Value> {
        let out = CaptureWriter::new();
        let clock = ManualClock::new(datetime!(2026-11-23 19:28:08.123456 UTC));
        let outputs: Vec<Box<dyn Emit>> = vec![Box::new(Formatted::new(
            EcsLayout::new(Timezone::Utc),
            out.clone(),
        ))];
        let clock: Arc<dyn crate::clock::Clock> = Arc::new(clock);
        let subscriber = tracing_subscriber::registry().with(Spine::new(
            crate::layer::Outputs::new(outputs, clock.clone()),
            clock,
            None,
        ));
        tracing::subscriber::with_default(subscriber, f);
        out.take_string()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    }

    #[test]
    fn every_key_in_its_place() {
        let lines = ecs_lines(|| {
            let span = tracing::info_span!("request", method = "GET", id = 7u64, log = "x");
            let _in = span.enter();
            let job = tracing::info_span!("job", id = 8u64);
            let _job = job.enter();
            crate::notice!(
                target: "App",
                port = 8080,
                ratio = 0.5,
                ok = true,
                message.id = "m1",
                ecs.version = "mine",
                "listening \"here\"\n\u{1b}"
            );
        });
        assert_eq!(lines.len(), 1);
        let line = lines[0].as_object().unwrap();
        let want = serde_json::json!({
            "@timestamp": "2026-11-23T19:28:08.123456Z",
            "log.level": "notice",
            "message": "listening \"here\"\n\u{1b}",
            "ecs.version": ECS_VERSION,
            "log.logger": "App",
            "log.origin.file.name": file!(),
            "log.origin.file.line": line["log.origin.file.line"],
            "process.thread.name": line["process.thread.name"],
            "logbook.spans": ["request", "job"],
            "port": 8080,
            "ratio": 0.5,
            "ok": true,
            "logbook.fields.message.id": "m1",
            "logbook.fields.ecs.version": "mine",
            // The inner span's `id` wins; the outer's other fields stay.
            "id": 8,
            "method": "GET",
            "logbook.fields.log": "x",
        });
        assert_eq!(Value::Object(line.clone()), want);
        assert!(line["log.origin.file.line"].as_u64().unwrap() > 0);
        assert!(line["process.thread.name"].is_string());
    }

    #[test]
    fn levels_are_lower_case_and_lines_are_one_line() {
        let lines = ecs_lines(|| {
            tracing::trace!("t");
            tracing::warn!(n = -3, f = f64::NAN, "w\u{2028}");
            crate::critical!(error = %"disk\nfull", "c");
        });
        let levels: Vec<&str> = lines
            .iter()
            .map(|l| l["log.level"].as_str().unwrap())
            .collect();
        assert_eq!(levels, ["trace", "warning", "critical"]);
        assert_eq!(lines[1]["n"], -3);
        assert_eq!(lines[1]["f"], "NaN");
        assert_eq!(lines[1]["message"], "w\u{2028}");
        assert_eq!(lines[2]["error"], "disk\nfull");
        assert!(lines.iter().all(|l| l.get("logbook.spans").is_none()));
    }

    #[test]
    fn clashing_names() {
        for name in [
            "log",
            "log.level",
            "log.level.x",
            "ecs",
            "message",
            "@timestamp",
            "span.id",
        ] {
            assert!(clashes(name), "{name}");
        }
        for name in [
            "logger",
            "http.request.method",
            "spanner",
            "process.pid",
            "level",
        ] {
            assert!(!clashes(name), "{name}");
        }
    }
}
