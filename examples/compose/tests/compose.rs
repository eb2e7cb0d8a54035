//! Our layers and OpenTelemetry's in one registry: levels, fields and spans reach both.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use time::macros::datetime;
use tracing_logbook::testing::{CaptureWriter, ManualClock};
use tracing_logbook::{LogbookFilter, LogbookLayer};
use tracing_subscriber::prelude::*;

#[test]
fn levels_fields_and_spans_reach_both_layers() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let out = CaptureWriter::new();
    let subscriber = tracing_subscriber::registry()
        .with(LogbookFilter::parse("notice").unwrap())
        .with(
            LogbookLayer::builder()
                .clock(ManualClock::new(datetime!(2026-11-23 19:28:08.123456 UTC)))
                .build(out.clone()),
        )
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    tracing::subscriber::with_default(subscriber, || {
        let request = tracing::info_span!("request", method = "GET", request_id = "r1");
        let _entered = request.enter();
        tracing::info!(target: "App", "filtered out for both");
        tracing_logbook::notice!(target: "App", order = 7, "order found");
        tracing_logbook::critical!(target: "App", reason = "disk full", "cannot write");
    });
    provider.force_flush().unwrap();

    let spans = exporter.get_finished_spans().unwrap();
    assert_eq!(spans.len(), 1);
    let span = &spans[0];
    // The lines end with the span's W3C ids (the `opentelemetry` feature).
    let ids = format!(
        "trace_id={} span_id={}",
        span.span_context.trace_id(),
        span.span_context.span_id()
    );
    assert_eq!(
        out.take_string(),
        format!(
            "[2026-11-23 19:28:08.123456] NOTICE: App: order found order=7 in request{{request_id=r1}} {ids}\n\
             [2026-11-23 19:28:08.123456] CRITICAL: App: cannot write reason=\"disk full\" in request{{request_id=r1}} {ids}\n"
        )
    );
    assert_eq!(span.name, "request");
    let attr = |kvs: &[opentelemetry::KeyValue], key: &str| {
        kvs.iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.to_string())
    };
    assert_eq!(attr(&span.attributes, "method").as_deref(), Some("GET"));
    let events: Vec<_> = span.events.iter().collect();
    assert_eq!(events.len(), 2, "{events:#?}");
    assert_eq!(events[0].name, "order found");
    // OpenTelemetry sees tracing's levels (INFO / ERROR) and our marker field.
    assert_eq!(
        attr(&events[0].attributes, "level").as_deref(),
        Some("INFO")
    );
    assert_eq!(attr(&events[0].attributes, "order").as_deref(), Some("7"));
    assert_eq!(
        attr(&events[0].attributes, "logbook.level").as_deref(),
        Some("notice")
    );
    assert_eq!(events[1].name, "cannot write");
    assert_eq!(
        attr(&events[1].attributes, "level").as_deref(),
        Some("ERROR")
    );
    assert_eq!(
        attr(&events[1].attributes, "logbook.level").as_deref(),
        Some("critical")
    );
    assert_eq!(
        attr(&events[1].attributes, "reason").as_deref(),
        Some("disk full")
    );
}

/// The same OpenTelemetry layer handed to `Env::layer`: under the crate's filter, beside
/// its outputs, and following `Guard::set_filter`.
#[test]
fn an_opentelemetry_layer_through_env_layer_follows_the_filter() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let env = tracing_logbook::Env::new(tracing_logbook::Mode::Test)
        .filter("notice")
        .unwrap()
        .layer(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    let (dispatch, guard) = tracing_logbook::build(env).unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        let request = tracing::info_span!("request", method = "GET", request_id = "r1");
        let _entered = request.enter();
        tracing::info!(target: "App", "filtered out for both");
        tracing_logbook::notice!(target: "App", "order found");
        guard.set_filter("debug").unwrap();
        tracing::debug!(target: "App", "debug after set_filter");
    });
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    assert_eq!(spans.len(), 1);
    let names: Vec<String> = spans[0].events.iter().map(|e| e.name.to_string()).collect();
    assert_eq!(names, ["order found", "debug after set_filter"]);
}
