//! Our layers beside a third-party one (OpenTelemetry) in one registry, instead of `init`.
//!
//! `cargo run -p tracing-logbook-example-compose` prints Logbook lines on stdout and, at the end, the
//! spans OpenTelemetry exported, with the events and fields it received.

#![allow(clippy::print_stdout)]

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use tracing_logbook::{LogbookFilter, LogbookLayer};
use tracing_subscriber::prelude::*;

fn main() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(LogbookFilter::parse("info").expect("a valid filter"))
        .with(LogbookLayer::builder().build_stdout())
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("compose")));
    tracing::subscriber::with_default(subscriber, || {
        let request = tracing::info_span!("request", method = "GET", path = "/orders/7");
        let _entered = request.enter();
        tracing_logbook::notice!(order = 7, "order found");
        tracing_logbook::critical!(reason = "disk full", "cannot write the ledger");
    });
    let _ = provider.force_flush();
    for span in exporter.get_finished_spans().unwrap_or_default() {
        println!("OpenTelemetry span {:?}", span.name);
        for kv in &span.attributes {
            println!("  attribute {} = {}", kv.key, kv.value);
        }
        for event in span.events.iter() {
            println!("  event {:?}", event.name);
            for kv in &event.attributes {
                println!("    {} = {}", kv.key, kv.value);
            }
        }
    }
}
