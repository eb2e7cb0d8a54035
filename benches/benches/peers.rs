//! The peers' compositions, as their users write them, for every bench that measures
//! against them (`production.rs`, `counts.rs`, `file.rs`: each a crate of its own, of
//! which this file is a module), so that every bench measures the same peers.

// Each bench uses the parts it measures against.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use sentry::integrations::tracing::{BreadcrumbLayer, ErrorLayer, SpanLayer};
use tracing::Subscriber;
use tracing_appender::non_blocking::{NonBlocking, WorkerGuard};
use tracing_subscriber::filter::{filter_fn, LevelFilter};
use tracing_subscriber::fmt::format::{DefaultFields, Format};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// tracing-subscriber's fmt layer without colors, writing through tracing-appender's
/// lossless non-blocking writer into a daily file `app.log` in `dir`.
pub type AppenderFmt<S> = tracing_subscriber::fmt::Layer<S, DefaultFields, Format, NonBlocking>;

/// [`AppenderFmt`], and the guard that flushes its writer when dropped.
pub fn fmt_appender<S>(dir: &Path) -> (AppenderFmt<S>, WorkerGuard)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let appender = tracing_appender::rolling::daily(dir, "app.log");
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(appender);
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(writer);
    (fmt, guard)
}

/// sentry-tracing's documented replacement for its legacy combined layer, without
/// structured logs (which would ship every INFO line): spans at INFO, INFO and WARN
/// events as breadcrumbs, errors as events. Needs `sentry::init` beside it.
pub fn sentry_layers<S>() -> impl Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    SpanLayer::new()
        .with_filter(LevelFilter::INFO)
        .and_then(BreadcrumbLayer::new().with_filter(filter_fn(|metadata| {
            matches!(
                *metadata.level(),
                tracing::Level::WARN | tracing::Level::INFO
            )
        })))
        .and_then(ErrorLayer::new().with_filter(LevelFilter::ERROR))
}

/// spdlog-rs's synchronous logger into a daily file `app.log` in `dir`.
pub fn spdlog_daily(dir: &Path) -> Arc<spdlog::Logger> {
    let sink = spdlog::sink::RotatingFileSink::builder()
        .base_path(dir.join("app.log"))
        .rotation_policy(spdlog::sink::RotationPolicy::Daily { hour: 0, minute: 0 })
        .build_arc()
        .expect("spdlog RotatingFileSink");
    spdlog::Logger::builder()
        .sink(sink)
        .build_arc()
        .expect("spdlog Logger")
}

/// The OpenTelemetry SDK's logger provider exporting to `endpoint` (a full
/// `/v1/logs` URL) as its documentation shows: the batch processor (its own thread, a
/// queue of 65,536 records), OTLP over HTTP with protobuf (reqwest's blocking client).
/// opentelemetry-appender-tracing's `OpenTelemetryTracingBridge` over it is the layer.
pub fn otel_sdk_provider(endpoint: &str) -> opentelemetry_sdk::logs::SdkLoggerProvider {
    use opentelemetry_otlp::WithExportConfig;
    let exporter = opentelemetry_otlp::LogExporter::builder()
        .with_http()
        .with_endpoint(endpoint)
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .build()
        .expect("the OTLP log exporter");
    let processor = opentelemetry_sdk::logs::BatchLogProcessor::builder(exporter)
        .with_batch_config(
            opentelemetry_sdk::logs::BatchConfigBuilder::default()
                .with_max_queue_size(1 << 16)
                .build(),
        )
        .build();
    opentelemetry_sdk::logs::SdkLoggerProvider::builder()
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name("bench")
                .build(),
        )
        .with_log_processor(processor)
        .build()
}
