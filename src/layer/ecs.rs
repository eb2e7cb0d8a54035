//! [`EcsLayer`]: one Elastic Common Schema JSON object per line.

use std::sync::Arc;

use crate::clock::{Clock, Timezone};
use crate::layer::{self, Formatted, Spine};
use crate::layout::ecs::EcsLayout;
use crate::sink::Stdout;

/// A [`Layer`](tracing_subscriber::Layer) writing one JSON object per event and line with
/// [Elastic Common Schema](https://www.elastic.co/guide/en/ecs/current/) names, for
/// Elasticsearch, Filebeat, Vector or Fluent Bit pipelines that expect them
/// (`LOG_FORMAT=ecs` in [`init`](crate::init)).
///
/// # Examples
///
/// ```
/// use tracing_logbook::testing::{CaptureWriter, ManualClock};
/// use tracing_logbook::EcsLayer;
/// use tracing_subscriber::prelude::*;
///
/// let out = CaptureWriter::new();
/// let clock = ManualClock::new(time::macros::datetime!(2026-11-23 19:28:08.123456 UTC));
/// let layer = EcsLayer::builder().clock(clock).build(out.clone());
/// tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
///     tracing_logbook::notice!(target: "App", port = 8080, "listening");
/// });
/// let line: serde_json::Value = serde_json::from_str(&out.take_string()).unwrap();
/// assert_eq!(line["@timestamp"], "2026-11-23T19:28:08.123456Z");
/// assert_eq!(line["log.level"], "notice");
/// assert_eq!(line["log.logger"], "App");
/// assert_eq!(line["port"], 8080);
/// ```
///
/// # The object
///
/// ```text
/// {"@timestamp":"2026-11-23T19:28:08.123456Z","log.level":"notice","message":"listening","ecs.version":"8.11.0","log.logger":"App","log.origin.file.name":"src/main.rs","log.origin.file.line":12,"process.thread.name":"main","logbook.spans":["request"],"port":8080,"method":"GET"}
/// ```
///
/// | key | value |
/// |---|---|
/// | `@timestamp` | RFC 3339, UTC, microseconds |
/// | `log.level` | Logbook's level in lower case: `trace`, `debug`, `info`, `notice`, `warning`, `error`, `critical` |
/// | `message` | the rendered message |
/// | `ecs.version` | `8.11.0` |
/// | `log.logger` | the channel (the event's target; the real one for `log` records) |
/// | `log.origin.file.name`, `log.origin.file.line` | the source location, when known |
/// | `process.thread.name` | the thread's name, or its id |
/// | `trace.id`, `span.id` | the OpenTelemetry ids, with the `opentelemetry` feature inside a sampled span |
/// | `logbook.spans` | the enclosing spans' names, root first (absent outside spans) |
/// | any other | the event's fields, then the spans' fields (innermost first), flattened under their own names; integers, floats and booleans as JSON numbers and booleans |
///
/// Each name appears once per line: an event field wins over a span field of the same
/// name, an inner span's over an outer's. A field that would clash with a key above (the
/// same name, or one of them a dotted prefix of the other, such as a field `log` or
/// `message.id`) is written as `logbook.fields.<name>`. Strings are escaped as in the
/// [`JsonLayer`](crate::JsonLayer)'s lines.
pub struct EcsLayer<W = Stdout> {
    spine: Spine<Formatted<EcsLayout, W>>,
}

/// Builds an [`EcsLayer`].
///
/// # Default values
///
/// | setting | default |
/// |---|---|
/// | [`clock`](Self::clock) | [`SystemClock`](crate::SystemClock) |
/// | [`timezone`](Self::timezone) | [`Timezone::Utc`] |
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct EcsLayerBuilder {
    clock: Option<Arc<dyn Clock>>,
    timezone: Timezone,
}

layer::object_layer!(EcsLayer, EcsLayerBuilder, EcsLayout);

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::Value;
    use time::macros::datetime;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::clock::ManualClock;
    use crate::layer::{Emit, Formatted, Outputs, Spine};
    use crate::layout::ecs::{EcsLayout, ECS_VERSION};
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
            Outputs::new(outputs, clock.clone()),
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
}
