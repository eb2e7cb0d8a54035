//! Formatting one typical event (message + 2 fields) into a sink: our `LogbookLayer`
//! against tracing-subscriber's fmt layer (Full format, ANSI off), same sink, same run.
//!
//! `cargo bench -p tracing-logbook-bench --bench format` prints both times and their ratio.

#![allow(clippy::print_stdout)]
#![allow(missing_docs)] // criterion_group! generates undocumented public functions

use std::io;
use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use tracing_logbook::{ColorChoice, LogbookLayer, MakeWriterSink};
use tracing_subscriber::prelude::*;

fn event() {
    tracing::info!(target: "App", port = 8080u16, user = "alice", "listening for connections");
}

fn ours() -> impl tracing::Subscriber + Send + Sync {
    tracing_subscriber::registry().with(
        LogbookLayer::builder()
            .color(ColorChoice::Never)
            .build(MakeWriterSink::new(io::sink)),
    )
}

fn fmt() -> impl tracing::Subscriber + Send + Sync {
    tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(io::sink),
    )
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("format_event");
    group.bench_function("tracing_logbook", |b| {
        tracing::subscriber::with_default(ours(), || b.iter(event))
    });
    group.bench_function("tracing_subscriber_fmt", |b| {
        tracing::subscriber::with_default(fmt(), || b.iter(event))
    });
    group.finish();

    // A disabled `trace!` under our filter and under tracing-subscriber's EnvFilter: both
    // should be the cached `Interest::never` check and nothing else.
    let mut group = c.benchmark_group("disabled_trace");
    group.bench_function("tracing_logbook_filter", |b| {
        let subscriber = tracing_subscriber::registry()
            .with(tracing_logbook::LogbookFilter::parse("notice").unwrap())
            .with(
                LogbookLayer::builder()
                    .color(ColorChoice::Never)
                    .build(MakeWriterSink::new(io::sink)),
            );
        tracing::subscriber::with_default(subscriber, || {
            b.iter(|| tracing::trace!(target: "App", port = 8080u16, "disabled"))
        })
    });
    group.bench_function("env_filter", |b| {
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::EnvFilter::new("info"))
            .with(tracing_subscriber::fmt::layer().with_writer(io::sink));
        tracing::subscriber::with_default(subscriber, || {
            b.iter(|| tracing::trace!(target: "App", port = 8080u16, "disabled"))
        })
    });
    group.finish();

    // The ratio, measured in the same run on the same machine.
    let per_event = |subscriber: &tracing::Dispatch| {
        tracing::dispatcher::with_default(subscriber, || {
            let n = 200_000;
            let mut best = Duration::MAX;
            for _ in 0..5 {
                let start = Instant::now();
                for _ in 0..n {
                    event();
                }
                best = best.min(start.elapsed());
            }
            black_box(best.as_nanos() as f64 / n as f64)
        })
    };
    let ours_ns = per_event(&tracing::Dispatch::new(ours()));
    let fmt_ns = per_event(&tracing::Dispatch::new(fmt()));
    println!(
        "format_event: tracing-logbook {ours_ns:.0} ns/event, tracing-subscriber fmt {fmt_ns:.0} ns/event, ratio {:.2}x",
        fmt_ns / ours_ns
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
