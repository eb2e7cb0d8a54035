//! Fingers crossed: what a buffered line costs, what a request's buffer holds, and what
//! the debug callsites outside requests pay once `LOG_FINGERS_CROSSED` is on.
//!
//! ```text
//! cargo bench -p tracing-logbook-bench --bench crossed
//! cargo bench -p tracing-logbook-bench --bench crossed -- --measurement-time 3 --warm-up-time 1
//! ```
//!
//! Every subject is `tracing_logbook::build` in production (daily file in a temporary
//! directory, `RUST_LOG` unset: `info`), with `LOG_FINGERS_CROSSED=debug` (`on`) or
//! without (`off`). The cases:
//!
//! * `request-10-debug`: a `request` span with 4 fields created, entered, 10 DEBUG events
//!   (a message and two fields), closed without an error: the buffered requests' price
//!   per request (`on`: 10 held and dropped lines; `off`: 10 disabled callsites).
//! * `debug-outside`: one DEBUG event outside any span (`on`: the callsite has lost its
//!   "never" interest and asks the subscriber; `off`: tracing's cached "never").
//!
//! After criterion, a plain pass prints the bytes a request of 10 held lines keeps
//! (`Guard::buffered`), the quantity `FingersCrossed::max_bytes` bounds.

#![allow(clippy::print_stdout)]

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use tracing_logbook::{Env, FingersCrossed, Guard, Level, LogFile, Mode};

fn subject(on: bool, dir: &std::path::Path) -> (tracing::Dispatch, Guard) {
    let env = Env::new(Mode::Production)
        .log_file(LogFile::Path(dir.join("bench.log")))
        .fingers_crossed(on.then(|| FingersCrossed::new(Level::Debug)));
    tracing_logbook::build(env).expect("build")
}

fn request() {
    let span = tracing::error_span!(
        target: "http",
        "request",
        method = "GET",
        url = "/items/42",
        request_id = "5f0e6a",
        status = tracing::field::Empty
    );
    let _in = span.enter();
    for i in 0..10u64 {
        tracing::debug!(target: "app", i, user = "ann", "looking the item up");
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let dir = tempfile::tempdir().unwrap();
    for on in [false, true] {
        let name = if on { "on" } else { "off" };
        let (dispatch, guard) = subject(on, dir.path());
        let mut group = c.benchmark_group(format!("fingers-crossed-{name}"));
        tracing::dispatcher::with_default(&dispatch, || {
            group.throughput(Throughput::Elements(10));
            group.bench_function("request-10-debug", |b| b.iter(request));
            group.throughput(Throughput::Elements(1));
            group.bench_function("debug-outside", |b| {
                b.iter(|| tracing::debug!(target: "app", i = black_box(1u64), "outside"))
            });
        });
        group.finish();
        drop(guard);
    }
    c.final_summary();

    let (dispatch, guard) = subject(true, dir.path());
    tracing::dispatcher::with_default(&dispatch, || {
        let span =
            tracing::error_span!(target: "http", "request", method = "GET", url = "/items/42");
        let _in = span.enter();
        for i in 0..10u64 {
            tracing::debug!(target: "app", i, user = "ann", "looking the item up");
        }
        let held = guard.buffered().unwrap();
        println!(
            "memory per request: {} bytes for {} held lines ({} bytes per line)",
            held.bytes,
            held.lines,
            held.bytes / held.lines.max(1)
        );
    });
}
