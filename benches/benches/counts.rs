//! Instruction counts per event, with callgrind, against the peers in the same run.
//!
//! ```text
//! cargo bench -p tracing-logbook-bench --bench counts
//! COUNTS_EVENTS=20000 COUNTS_RUNS=2 COUNTS_ONLY=ours-file cargo bench -p tracing-logbook-bench --bench counts
//! COUNTS_EVENTS=20000 COUNTS_ONLY=ours-file,ours-otlp,otel-sdk cargo bench -p tracing-logbook-bench --bench counts
//! ```
//!
//! Wall-clock figures move by 2x with the load of a shared machine; the number of
//! instructions a process executes does not. Each measurement is a pair of runs of this
//! same binary under `valgrind --tool=callgrind` (every instruction of every thread, the
//! background writers and notifiers included): one that logs `COUNTS_EVENTS` events
//! (default 10,000) and one that logs none, both after the same warm-up of
//! [`WARM_UP`] events and both ending once every line is in the file (our guard's flush,
//! tracing-appender's guard dropped, spdlog-rs's flush) and the subject is dropped. The
//! process's start, the subject's build, the warm-up (callsite registration, per-thread
//! buffers) and the teardown are the same in both runs, so
//! `(count(N events) - count(0 events)) / N` is what one event costs in the steady state.
//! The lines are counted by this parent process afterwards, outside the measured ones.
//!
//! Callgrind writes one file per thread (`--separate-threads=yes`): `instr/event` is the
//! sum of them all, `caller/event` the main thread's alone, the thread that logs (the
//! same difference over N). The rows marked `(caller)` compare the logging thread's
//! figures (issue 21's targets are the caller's cost), each followed by a row of the
//! same over every thread, so that nothing moved to a background thread goes unseen.
//!
//! Allocations: a counting `#[global_allocator]` in the measured process counts the calls
//! to `alloc`, `alloc_zeroed` and `realloc` (every thread) from the end of the warm-up to
//! the end of the run; the same difference of the two runs, divided by N, is printed
//! beside the counts. (Counting costs a few instructions per allocation, in every subject.)
//!
//! The subjects are the compositions of `production.rs`: `ours-file`
//! (`tracing_logbook::build` in production with a daily file), `ours-production` (the same
//! with the Rollbar notifier, telemetry on, pointed at a closed loopback port: INFO events
//! are never sent), `fmt+appender` (fmt over tracing-appender's daily file behind
//! `non_blocking`, `lossy(false)`), `fmt+appender+sentry` (the same with sentry-tracing's
//! span, breadcrumb and error layers and a Sentry client whose DSN is a closed loopback
//! port), `spdlog-sync` (spdlog-rs's synchronous daily file), `ours-otlp` (`ours-file`
//! plus the OTLP exporter, `http/protobuf`, a queue of 65,536 records) and `otel-sdk`
//! (`fmt+appender` plus opentelemetry-appender-tracing into the OpenTelemetry SDK's
//! batch processor and OTLP/HTTP exporter, protobuf: `peers::otel_sdk_provider`). The
//! two OTLP subjects send to a loopback collector that runs in this parent process
//! (`tracing_logbook_bench::collector`, passed in `COUNTS_COLLECTOR`), so its work is in
//! no figure. They are paced: every [`PACE`] events, and after the warm-up, the logging
//! thread waits until the exporter has sent what it took (`OtlpHandle::flush`,
//! `force_flush`), because valgrind runs one thread at a time and a queue would fill
//! (ours would drop records, and count fewer); the waits are in the logging thread's
//! figure, a few instructions per event. Ours must have delivered every record, none
//! dropped or failed. `tracing-floor` is no logger: a registry and one layer that visits
//! each event's fields once (the message formatted into a reused buffer) and writes
//! nothing, what any layer that writes the event pays first. The shapes, per
//! iteration: `plain` (an INFO event with a message and two fields), `in-span` (the same
//! event inside an entered `request` span with 10 fields, created before the warm-up),
//! `span-life` (a request span's life: created with 12 fields, entered, one field
//! recorded, the event, exited, closed).
//!
//! The web example's request: `web-ours` sends `GET /items/7` through the example's own
//! router (`examples/web/src/app.rs`, included as a module: its `TraceLayer` with the
//! crate's request span and response line) with tower's `oneshot` on a current-thread
//! tokio runtime, the response's body read to its end, under `ours-production`;
//! `web-peer` sends it through the same route behind tower-http's `TraceLayer` set to
//! INFO, under `fmt+appender+sentry` with an INFO filter. Shape `request` logs,
//! `request-off` runs the same router with no subscriber; `request - request-off` is
//! what logging adds to one request.
//!
//! `COUNTS_RUNS` (default 1) repeats every measurement and prints the spread;
//! `COUNTS_ONLY` keeps the measurements whose subject name contains it (or one of its
//! names separated by commas). A ratio is ours / the peer's, but in the rows against
//! `otel-sdk`: the SDK's / ours, how many times fewer instructions ours executes. Without valgrind
//! the bench says so and exits successfully. Run as a test (`cargo test --benches`, no
//! `--bench` argument), it runs each measurement once natively with a few events and
//! checks that every line reached the file.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tracing::field::Empty;
use tracing_logbook::notify::NotifyConfig;
use tracing_logbook::{Env, LogFile, Mode};
use tracing_logbook_bench::{closed_port, collector, count_lines};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;

// === the counting allocator ===

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

/// The system allocator, counting allocations (`alloc`, `alloc_zeroed`, `realloc`).
struct Counting;

// SAFETY: every call is forwarded unchanged to `System`, which upholds the contract.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's guarantees are passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

// === subjects and shapes ===

/// Events logged by both runs of a measurement before anything is counted.
const WARM_UP: u64 = 200;

/// The variable that makes this binary the measured process: `subject shape events dir`.
const CHILD_VAR: &str = "COUNTS_CHILD";

/// Events between two waits for the OTLP exporters (see `child`).
const PACE: u64 = 1_000;

/// The URL of the parent's loopback OTLP collector, for the measured process.
const COLLECTOR_VAR: &str = "COUNTS_COLLECTOR";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Subject {
    OursFile,
    OursProduction,
    /// `ours-file` plus the OTLP exporter, to the parent's loopback collector.
    OursOtlp,
    /// fmt + tracing-appender plus the OpenTelemetry SDK's composition, to the same.
    OtelSdk,
    FmtAppender,
    FmtAppenderSentry,
    Spdlog,
    /// What any layer that writes the event must pay before it writes anything:
    /// tracing's dispatch to one layer over the registry and one visit of the event's
    /// fields, the message formatted into a reused buffer ([`FloorLayer`]).
    Floor,
    /// The web example's router (`examples/web/src/app.rs`) under `ours-production`.
    WebOurs,
    /// The same route behind tower-http's `TraceLayer` with INFO spans and response
    /// lines, under `fmt+appender+sentry` with an INFO filter.
    WebPeer,
}

impl Subject {
    const ALL: [Subject; 10] = [
        Subject::OursFile,
        Subject::OursProduction,
        Subject::OursOtlp,
        Subject::OtelSdk,
        Subject::FmtAppender,
        Subject::FmtAppenderSentry,
        Subject::Spdlog,
        Subject::Floor,
        Subject::WebOurs,
        Subject::WebPeer,
    ];

    fn name(self) -> &'static str {
        match self {
            Subject::OursFile => "ours-file",
            Subject::OursProduction => "ours-production",
            Subject::OursOtlp => "ours-otlp",
            Subject::OtelSdk => "otel-sdk",
            Subject::FmtAppender => "fmt+appender",
            Subject::FmtAppenderSentry => "fmt+appender+sentry",
            Subject::Spdlog => "spdlog-sync",
            Subject::Floor => "tracing-floor",
            Subject::WebOurs => "web-ours",
            Subject::WebPeer => "web-peer",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Plain,
    InSpan,
    SpanLife,
    /// One `GET /items/7` through the router, logging on.
    Request,
    /// The same with no subscriber: what the request costs without logging.
    RequestOff,
}

impl Shape {
    const ALL: [Shape; 5] = [
        Shape::Plain,
        Shape::InSpan,
        Shape::SpanLife,
        Shape::Request,
        Shape::RequestOff,
    ];

    fn name(self) -> &'static str {
        match self {
            Shape::Plain => "plain",
            Shape::InSpan => "in-span",
            Shape::SpanLife => "span-life",
            Shape::Request => "request",
            Shape::RequestOff => "request-off",
        }
    }
}

/// What is measured: every shape of every subject, except spdlog-rs's, which has no
/// spans, and the OTLP exporters' (plain and in a span); the floor; the web example's
/// request with logging on and off.
const MEASURED: [(Subject, Shape); 22] = [
    (Subject::OursFile, Shape::Plain),
    (Subject::OursFile, Shape::InSpan),
    (Subject::OursFile, Shape::SpanLife),
    (Subject::OursProduction, Shape::Plain),
    (Subject::OursProduction, Shape::InSpan),
    (Subject::OursProduction, Shape::SpanLife),
    (Subject::OursOtlp, Shape::Plain),
    (Subject::OursOtlp, Shape::InSpan),
    (Subject::OtelSdk, Shape::Plain),
    (Subject::OtelSdk, Shape::InSpan),
    (Subject::FmtAppender, Shape::Plain),
    (Subject::FmtAppender, Shape::InSpan),
    (Subject::FmtAppender, Shape::SpanLife),
    (Subject::FmtAppenderSentry, Shape::Plain),
    (Subject::FmtAppenderSentry, Shape::InSpan),
    (Subject::FmtAppenderSentry, Shape::SpanLife),
    (Subject::Spdlog, Shape::Plain),
    (Subject::Floor, Shape::Plain),
    (Subject::WebOurs, Shape::Request),
    (Subject::WebOurs, Shape::RequestOff),
    (Subject::WebPeer, Shape::Request),
    (Subject::WebPeer, Shape::RequestOff),
];

/// One comparison of the table: what it is, ours, the peer, the issue's target if any.
struct Pair {
    what: &'static str,
    ours: (Subject, Shape),
    peer: (Subject, Shape),
    /// Subtracted from both sides: the same subject in this shape (logging off).
    less: Option<Shape>,
    /// Compares the logging thread's instructions (a second row gives all threads').
    caller: bool,
    /// The ratio is peer / ours (how many times fewer ours executes), not ours / peer.
    peer_over_ours: bool,
    target: &'static str,
}

const PAIRS: [Pair; 14] = [
    Pair {
        what: "INFO event into the daily file",
        ours: (Subject::OursFile, Shape::Plain),
        peer: (Subject::Spdlog, Shape::Plain),
        less: None,
        caller: false,
        peer_over_ours: false,
        target: "<= 0.6x",
    },
    Pair {
        what: "the same, vs tracing's floor",
        ours: (Subject::OursFile, Shape::Plain),
        peer: (Subject::Floor, Shape::Plain),
        less: None,
        caller: false,
        peer_over_ours: false,
        target: "",
    },
    Pair {
        what: "the same, vs fmt + appender",
        ours: (Subject::OursFile, Shape::Plain),
        peer: (Subject::FmtAppender, Shape::Plain),
        less: None,
        caller: false,
        peer_over_ours: false,
        target: "",
    },
    Pair {
        what: "INFO event, production (Rollbar on)",
        ours: (Subject::OursProduction, Shape::Plain),
        peer: (Subject::FmtAppenderSentry, Shape::Plain),
        less: None,
        caller: false,
        peer_over_ours: false,
        target: "<= 0.15x",
    },
    Pair {
        what: "event in a 10-field span, vs plain (ours)",
        ours: (Subject::OursFile, Shape::InSpan),
        peer: (Subject::OursFile, Shape::Plain),
        less: None,
        caller: false,
        peer_over_ours: false,
        target: "<= 1.5x",
    },
    Pair {
        what: "event in a 10-field span, vs plain (peer)",
        ours: (Subject::FmtAppender, Shape::InSpan),
        peer: (Subject::FmtAppender, Shape::Plain),
        less: None,
        caller: false,
        peer_over_ours: false,
        target: "",
    },
    Pair {
        what: "event in a 10-field span",
        ours: (Subject::OursFile, Shape::InSpan),
        peer: (Subject::FmtAppender, Shape::InSpan),
        less: None,
        caller: false,
        peer_over_ours: false,
        target: "",
    },
    Pair {
        what: "request span's life, file",
        ours: (Subject::OursFile, Shape::SpanLife),
        peer: (Subject::FmtAppender, Shape::SpanLife),
        less: None,
        caller: false,
        peer_over_ours: false,
        target: "",
    },
    Pair {
        what: "request span's life, production",
        ours: (Subject::OursProduction, Shape::SpanLife),
        peer: (Subject::FmtAppenderSentry, Shape::SpanLife),
        less: None,
        caller: false,
        peer_over_ours: false,
        target: "",
    },
    Pair {
        what: "logging of one web request (on - off)",
        ours: (Subject::WebOurs, Shape::Request),
        peer: (Subject::WebPeer, Shape::Request),
        less: Some(Shape::RequestOff),
        caller: false,
        peer_over_ours: false,
        target: "<= 0.2x",
    },
    Pair {
        what: "OTLP on, vs the file alone (caller)",
        ours: (Subject::OursOtlp, Shape::Plain),
        peer: (Subject::OursFile, Shape::Plain),
        less: None,
        caller: true,
        peer_over_ours: false,
        target: "<= 1.3x",
    },
    Pair {
        what: "the same in a 10-field span (caller)",
        ours: (Subject::OursOtlp, Shape::InSpan),
        peer: (Subject::OursFile, Shape::InSpan),
        less: None,
        caller: true,
        peer_over_ours: false,
        target: "<= 1.3x",
    },
    Pair {
        what: "OTLP, the SDK's / ours (caller)",
        ours: (Subject::OursOtlp, Shape::Plain),
        peer: (Subject::OtelSdk, Shape::Plain),
        less: None,
        caller: true,
        peer_over_ours: true,
        target: ">= 3x",
    },
    Pair {
        what: "the same in a 10-field span (caller)",
        ours: (Subject::OursOtlp, Shape::InSpan),
        peer: (Subject::OtelSdk, Shape::InSpan),
        less: None,
        caller: true,
        peer_over_ours: true,
        target: ">= 3x",
    },
];

fn subject_named(name: &str) -> Option<Subject> {
    Subject::ALL.into_iter().find(|s| s.name() == name)
}

fn shape_named(name: &str) -> Option<Shape> {
    Shape::ALL.into_iter().find(|s| s.name() == name)
}

// === the measured process ===

/// What gets the lines into the file at the end of a run.
enum Finish {
    Ours(tracing_logbook::Guard),
    Appender(tracing_appender::non_blocking::WorkerGuard),
    /// The file's worker, and the SDK's provider (flushed, then shut down).
    OtelSdk(
        tracing_appender::non_blocking::WorkerGuard,
        opentelemetry_sdk::logs::SdkLoggerProvider,
    ),
    Spdlog(std::sync::Arc<spdlog::Logger>),
    /// Nothing was written.
    Nothing,
}

/// The `tracing-floor` subject's layer: each event's fields visited once, the message
/// formatted into a reused per-thread buffer, strings copied into it, numbers kept;
/// nothing written. Any layer that writes the event pays at least this.
struct FloorLayer;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for FloorLayer {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        struct Visit<'a>(&'a mut String, u64);
        impl tracing::field::Visit for Visit<'_> {
            fn record_debug(&mut self, _: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                use std::fmt::Write as _;
                let _ = write!(self.0, "{value:?}");
            }
            fn record_str(&mut self, _: &tracing::field::Field, value: &str) {
                self.0.push_str(value);
            }
            fn record_u64(&mut self, _: &tracing::field::Field, value: u64) {
                self.1 ^= value;
            }
        }
        thread_local! {
            static BUF: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
        }
        BUF.with_borrow_mut(|buf| {
            buf.clear();
            let mut visit = Visit(buf, 0);
            event.record(&mut visit);
            std::hint::black_box((visit.0.len(), visit.1));
        });
    }
}

/// Builds `subject` writing into `dir`: the dispatch (none for spdlog-rs) and what
/// finishes it. As `production.rs` builds them.
fn rig(subject: Subject, dir: &Path) -> (Option<tracing::Dispatch>, Finish) {
    let collector = || std::env::var(COLLECTOR_VAR).expect("the collector's URL");
    match subject {
        Subject::OursFile | Subject::OursProduction | Subject::OursOtlp | Subject::WebOurs => {
            let mut env = Env::new(Mode::Production).log_file(LogFile::Path(dir.join("app.log")));
            if subject == Subject::OursOtlp {
                env = env
                    .otlp_endpoint(collector())
                    .expect("the collector's URL")
                    .otlp(|b| b.queue(1 << 16));
            } else if subject != Subject::OursFile {
                env = env.notifier(
                    NotifyConfig::rollbar("bench-token")
                        .endpoint(format!("http://127.0.0.1:{}/api/1/item/", closed_port())),
                );
            }
            let (dispatch, guard) = tracing_logbook::build(env).expect("tracing_logbook::build");
            (Some(dispatch), Finish::Ours(guard))
        }
        Subject::OtelSdk => {
            let (fmt, guard) = peers::fmt_appender(dir);
            let provider = peers::otel_sdk_provider(&collector());
            let bridge =
                opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge::new(&provider);
            let dispatch =
                tracing::Dispatch::new(tracing_subscriber::registry().with(fmt).with(bridge));
            (Some(dispatch), Finish::OtelSdk(guard, provider))
        }
        Subject::FmtAppender | Subject::FmtAppenderSentry | Subject::WebPeer => {
            let (fmt, guard) = peers::fmt_appender(dir);
            // The web service's handlers log at DEBUG: its peer filters at INFO, as ours
            // does in production (the others log INFO events only, and have no filter,
            // as in `production.rs`).
            let level = (subject == Subject::WebPeer).then_some(LevelFilter::INFO);
            let registry = tracing_subscriber::registry().with(level).with(fmt);
            let dispatch = if subject != Subject::FmtAppender {
                tracing::Dispatch::new(registry.with(peers::sentry_layers()))
            } else {
                tracing::Dispatch::new(registry)
            };
            (Some(dispatch), Finish::Appender(guard))
        }
        Subject::Spdlog => (None, Finish::Spdlog(peers::spdlog_daily(dir))),
        Subject::Floor => (
            Some(tracing::Dispatch::new(
                tracing_subscriber::registry().with(FloorLayer),
            )),
            Finish::Nothing,
        ),
    }
}

/// A request span's life: created with 12 fields (two of them empty), entered, the
/// status recorded, one event, exited, closed.
#[inline(never)]
fn request_life(i: u64) {
    let span = tracing::info_span!(
        target: "shop::http",
        "request",
        method = "GET",
        route = "/api/orders/{id}",
        url = "/api/orders/48213?expand=items",
        status = Empty,
        user_agent = USER_AGENT,
        request_id = %RequestId(0, i),
        user.id = 4217u64,
        client_ip = "203.0.113.42",
        version = "HTTP/1.1",
        host = "shop.example.com",
        scheme = "https",
        latency_ms = Empty,
    );
    let entered = span.enter();
    span.record("status", 200u16);
    event(i);
    drop(entered);
    drop(span);
}

/// The measured process: builds the subject, warms it up, logs `events` iterations,
/// waits for the lines to be in the file, and prints the allocations made since the
/// warm-up.
fn child(spec: &str) {
    let parts: Vec<&str> = spec.split(' ').collect();
    let [subject, shape, events, dir] = parts[..] else {
        panic!("{CHILD_VAR}={spec}: expected `subject shape events dir`");
    };
    let subject = subject_named(subject).expect("a subject's name");
    let shape = shape_named(shape).expect("a shape's name");
    let events: u64 = events.parse().expect("a number of events");
    let dir = Path::new(dir);

    // Process-wide, as in an application; INFO events only become breadcrumbs, so
    // nothing is sent to the closed port.
    let _sentry = matches!(subject, Subject::FmtAppenderSentry | Subject::WebPeer).then(|| {
        sentry::init((
            format!("http://public@127.0.0.1:{}/1", closed_port()),
            sentry::ClientOptions::default(),
        ))
    });
    // Logging off: no subject at all.
    let (dispatch, finish) = match shape {
        Shape::RequestOff => (Some(tracing::Dispatch::none()), None),
        _ => {
            let (dispatch, finish) = rig(subject, dir);
            (dispatch, Some(finish))
        }
    };
    // The OTLP exporters are paced: every `PACE` events (and after the warm-up) the
    // logging thread waits until the exporter has sent what it took, so that no queue
    // fills while valgrind runs one thread at a time (ours would drop records, and
    // the counts would be of fewer records).
    let pace = || match &finish {
        Some(Finish::Ours(guard)) => {
            if let Some(otlp) = guard.otlp() {
                assert!(otlp.flush(Duration::from_secs(600)), "OTLP flush timed out");
            }
        }
        Some(Finish::OtelSdk(_, provider)) => provider.force_flush().expect("force_flush"),
        _ => {}
    };
    let allocations = match (&dispatch, &finish) {
        (Some(dispatch), _) => tracing::dispatcher::with_default(dispatch, || match shape {
            Shape::Request | Shape::RequestOff => web_requests(subject, events),
            Shape::Plain | Shape::InSpan | Shape::SpanLife => {
                let iteration: fn(u64) = match shape {
                    Shape::SpanLife => request_life,
                    _ => event,
                };
                let span = (shape == Shape::InSpan).then(|| request_span(0, 0));
                let entered = span.as_ref().map(tracing::Span::enter);
                (0..WARM_UP).for_each(iteration);
                pace();
                let before = ALLOCATIONS.load(Ordering::Relaxed);
                for i in WARM_UP..WARM_UP + events {
                    iteration(i);
                    if (i - WARM_UP) % PACE == PACE - 1 {
                        pace();
                    }
                }
                drop(entered);
                drop(span);
                before
            }
        }),
        (None, Some(Finish::Spdlog(logger))) => {
            assert_eq!(shape, Shape::Plain, "spdlog-rs has no spans");
            (0..WARM_UP).for_each(|i| spdlog_event(logger, i));
            let before = ALLOCATIONS.load(Ordering::Relaxed);
            (WARM_UP..WARM_UP + events).for_each(|i| spdlog_event(logger, i));
            before
        }
        (None, _) => unreachable!("only spdlog-rs has no dispatch"),
    };
    match finish {
        Some(Finish::Ours(guard)) => {
            assert!(guard.flush(Duration::from_secs(600)), "flush timed out");
            let file = guard.file().expect("ours writes a file");
            assert_eq!(file.failed_lines() + file.dropped_lines(), 0, "lines lost");
            if let Some(otlp) = guard.otlp() {
                let counts = otlp.counts();
                assert_eq!(
                    (counts.written, counts.dropped, counts.failed),
                    (WARM_UP + events, 0, 0),
                    "OTLP records written, dropped, failed"
                );
            }
            drop(guard);
        }
        // Dropping the guard hands the worker a shutdown message and waits for it.
        Some(Finish::Appender(guard)) => drop(guard),
        Some(Finish::OtelSdk(guard, provider)) => {
            drop(guard);
            provider.force_flush().expect("the SDK's force_flush");
            provider.shutdown().expect("the SDK's shutdown");
        }
        Some(Finish::Spdlog(logger)) => logger.flush(),
        Some(Finish::Nothing) => {}
        None => {}
    }
    drop(dispatch);
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - allocations;
    println!("allocations {allocations}");
}

// === the web example's request ===

/// The web example's routes and tracing glue, exactly as `cargo run -p
/// tracing-logbook-example-web` serves them.
#[path = "../../examples/web/src/app.rs"]
#[allow(dead_code)] // the bench drives the router, not the server
mod app;
mod peers;
mod workload;

use workload::{event, request_span, spdlog_event, RequestId, USER_AGENT};

/// The peer: the example's `/items/{id}` route behind tower-http's `TraceLayer` as its
/// documentation sets it up for INFO (a span per request with the method, URI and
/// version; one "finished processing request" line with the latency and status).
fn peer_router() -> axum::Router {
    use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
    axum::Router::new()
        .route("/items/{id}", axum::routing::get(peer_item))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(tracing::Level::INFO))
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
}

/// The example's `/items/{id}` handler.
async fn peer_item(axum::extract::Path(id): axum::extract::Path<u64>) -> String {
    tracing::debug!(id, "looking the item up");
    format!("item {id}\n")
}

/// `GET /items/7` as a server hands it to the router: with the peer's address.
fn get_item() -> axum::http::Request<axum::body::Body> {
    let mut request = axum::http::Request::get("/items/7")
        .header("host", "127.0.0.1:3999")
        .body(axum::body::Body::empty())
        .expect("a request");
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            50_000,
        ))));
    request
}

/// Sends `WARM_UP` requests then `requests` more through the router of `subject` (with
/// tower's `oneshot`, the response's body read to its end); the allocations counter
/// after the warm-up.
fn web_requests(subject: Subject, requests: u64) -> u64 {
    use tower::ServiceExt;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    let router = match subject {
        Subject::WebOurs => {
            app::router(app::open_db(Path::new(":memory:")).expect("an in-memory database"))
        }
        _ => peer_router(),
    };
    let request = || {
        runtime.block_on(async {
            let response = router
                .clone()
                .oneshot(get_item())
                .await
                .expect("a response");
            assert_eq!(response.status(), 200);
            let body = axum::body::to_bytes(response.into_body(), 1 << 16).await;
            assert_eq!(&body.expect("the body")[..], b"item 7\n");
        })
    };
    (0..WARM_UP).for_each(|_| request());
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    (0..requests).for_each(|_| request());
    before
}

// === the parent ===

/// One measured process: its instructions (all threads, and the main thread's: the
/// one that logs) and its allocations after the warm-up.
#[derive(Clone, Copy, Debug)]
struct Counts {
    instructions: u64,
    caller: u64,
    allocations: u64,
}

/// Per event: instructions (all threads), the logging thread's instructions and
/// allocations.
#[derive(Clone, Copy, Debug)]
struct PerEvent {
    instructions: f64,
    caller: f64,
    allocations: f64,
}

/// The `summary:` (or `totals:`) of one callgrind output file.
fn callgrind_total(path: &Path) -> u64 {
    let text = std::fs::read_to_string(path).expect("callgrind's output file");
    text.lines()
        .find_map(|l| l.strip_prefix("summary:").or(l.strip_prefix("totals:")))
        .and_then(|n| n.split_whitespace().next()?.parse().ok())
        .expect("a summary line in callgrind's output")
}

/// Runs one measured process (under callgrind if `callgrind` is set) and checks that
/// every line reached the file.
fn measure(subject: Subject, shape: Shape, events: u64, callgrind: bool) -> Counts {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).expect("create the log directory");
    let out = dir.path().join("callgrind.out");
    let exe = std::env::current_exe().expect("the bench's own path");
    let mut command = if callgrind {
        let mut c = Command::new("valgrind");
        c.arg("--tool=callgrind")
            .arg("-q")
            // One file per thread, `callgrind.out-01` the main thread's.
            .arg("--separate-threads=yes")
            .arg(format!("--callgrind-out-file={}", out.display()))
            .arg(&exe);
        c
    } else {
        Command::new(&exe)
    };
    let spec = format!(
        "{} {} {events} {}",
        subject.name(),
        shape.name(),
        logs.display()
    );
    let output = command
        .env(CHILD_VAR, spec)
        .env(COLLECTOR_VAR, collector())
        .env_remove("RUST_LOG")
        .output()
        .expect("run the measured process");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{} {}: the measured process failed ({}):\n{stdout}\n{}",
        subject.name(),
        shape.name(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let allocations = stdout
        .lines()
        .find_map(|l| l.strip_prefix("allocations "))
        .and_then(|n| n.trim().parse().ok())
        .expect("the measured process prints its allocations");
    let lines = count_lines(&logs);
    // One line per iteration, none with logging off.
    // The floor writes nothing.
    let expected = match (subject, shape) {
        (_, Shape::RequestOff) | (Subject::Floor, _) => 0,
        _ => WARM_UP + events,
    };
    assert_eq!(
        lines,
        expected,
        "{} {}: lines in the file",
        subject.name(),
        shape.name()
    );
    let (mut instructions, mut caller) = (0, 0);
    if callgrind {
        let prefix = "callgrind.out-";
        for entry in std::fs::read_dir(dir.path())
            .expect("read the directory")
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(thread) = name.strip_prefix(prefix) {
                let total = callgrind_total(&entry.path());
                instructions += total;
                if thread == "01" {
                    caller = total;
                }
            }
        }
        assert!(caller > 0, "no callgrind output of the main thread");
    }
    Counts {
        instructions,
        caller,
        allocations,
    }
}

/// Per event: what N events cost less what none cost, over N.
fn per_event(subject: Subject, shape: Shape, events: u64) -> PerEvent {
    let none = measure(subject, shape, 0, true);
    let some = measure(subject, shape, events, true);
    let per = |some: u64, none: u64| (some as f64 - none as f64) / events as f64;
    PerEvent {
        instructions: per(some.instructions, none.instructions),
        caller: per(some.caller, none.caller),
        allocations: per(some.allocations, none.allocations),
    }
}

fn env_num(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `12345.6` as `12,346`.
fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if x < -0.5 {
        out.insert(0, '-');
    }
    out
}

fn main() {
    if let Ok(spec) = std::env::var(CHILD_VAR) {
        child(&spec);
        return;
    }
    // Names separated by commas: a measurement is kept if its subject's contains one.
    let only = std::env::var("COUNTS_ONLY").unwrap_or_default();
    let measured: Vec<(Subject, Shape)> = MEASURED
        .into_iter()
        .filter(|(s, _)| only.split(',').any(|o| s.name().contains(o.trim())))
        .collect();

    // `cargo test --benches` passes no --bench: run each subject natively, briefly.
    if !std::env::args().any(|a| a == "--bench") {
        for &(subject, shape) in &measured {
            measure(subject, shape, 100, false);
            println!("{} {}: ok", subject.name(), shape.name());
        }
        return;
    }
    if !Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        println!("counts: valgrind not found, nothing measured (apt-get install -y valgrind)");
        return;
    }

    let events = env_num("COUNTS_EVENTS", 10_000).max(1);
    let runs = env_num("COUNTS_RUNS", 1).max(1) as usize;
    println!(
        "callgrind: ({events} events - 0 events) / {events}, after {WARM_UP} warm-up events; \
         {runs} run(s); instr: every thread, caller: the logging thread's"
    );
    // results[k][run]: per event
    let mut results = vec![Vec::new(); measured.len()];
    for _ in 0..runs {
        for (k, &(subject, shape)) in measured.iter().enumerate() {
            results[k].push(per_event(subject, shape, events));
        }
    }

    println!();
    println!(
        "{:<20} {:<10} {:>12} {:>8} {:>12} {:>12}",
        "subject", "shape", "instr/event", "spread", "caller/event", "allocs/event"
    );
    let mut first = std::collections::HashMap::new();
    for (k, &(subject, shape)) in measured.iter().enumerate() {
        let r = &results[k];
        let (lo, hi) = r.iter().fold((f64::MAX, f64::MIN), |(lo, hi), x| {
            (lo.min(x.instructions), hi.max(x.instructions))
        });
        let spread = if runs > 1 {
            format!("{:.1}%", (hi - lo) / lo * 100.0)
        } else {
            "-".to_owned()
        };
        println!(
            "{:<20} {:<10} {:>12} {:>8} {:>12} {:>12.2}",
            subject.name(),
            shape.name(),
            thousands(r[0].instructions),
            spread,
            thousands(r[0].caller),
            r[0].allocations
        );
        first.insert((subject.name(), shape.name()), r[0]);
    }

    println!();
    println!(
        "{:<42} {:<30} {:>8} {:>7} {:<30} {:>8} {:>7} {:>7} {:>8}",
        "what", "ours", "instr", "allocs", "peer", "instr", "allocs", "ratio", "target"
    );
    for pair in PAIRS {
        let get = |(s, sh): (Subject, Shape)| first.get(&(s.name(), sh.name())).copied();
        // (instructions, allocations), with logging off subtracted if the pair says so.
        let figure = |(s, sh): (Subject, Shape), caller: bool| {
            let pick = |p: PerEvent| {
                let instructions = if caller { p.caller } else { p.instructions };
                (instructions, p.allocations)
            };
            match pair.less {
                None => get((s, sh)).map(pick),
                Some(off) => get((s, sh))
                    .zip(get((s, off)))
                    .map(|(on, off)| (pick(on).0 - pick(off).0, on.allocations - off.allocations)),
            }
        };
        let label = |(s, sh): (Subject, Shape)| match pair.less {
            None => format!("{} {}", s.name(), sh.name()),
            Some(off) => format!("{} {} - {}", s.name(), sh.name(), off.name()),
        };
        // A caller's row is followed by the same over every thread.
        let rows: &[(bool, &str, &str)] = if pair.caller {
            &[
                (true, pair.what, pair.target),
                (false, "  the same, every thread", ""),
            ]
        } else {
            &[(false, pair.what, pair.target)]
        };
        for &(caller, what, target) in rows {
            let (Some(ours), Some(peer)) = (figure(pair.ours, caller), figure(pair.peer, caller))
            else {
                continue;
            };
            let ratio = if pair.peer_over_ours {
                peer.0 / ours.0
            } else {
                ours.0 / peer.0
            };
            println!(
                "{:<42} {:<30} {:>8} {:>7.2} {:<30} {:>8} {:>7.2} {:>6.2}x {:>8}",
                what,
                label(pair.ours),
                thousands(ours.0),
                ours.1,
                label(pair.peer),
                thousands(peer.0),
                peer.1,
                ratio,
                target
            );
        }
    }
}
