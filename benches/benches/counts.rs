//! Instruction counts per event, with callgrind, against the peers in the same run.
//!
//! ```text
//! cargo bench -p tracing-logbook-bench --bench counts
//! COUNTS_EVENTS=20000 COUNTS_RUNS=2 COUNTS_ONLY=ours-file cargo bench -p tracing-logbook-bench --bench counts
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
//! port) and `spdlog-sync` (spdlog-rs's synchronous daily file). The shapes, per
//! iteration: `plain` (an INFO event with a message and two fields), `in-span` (the same
//! event inside an entered `request` span with 10 fields, created before the warm-up),
//! `span-life` (a request span's life: created with 12 fields, entered, one field
//! recorded, the event, exited, closed).
//!
//! `COUNTS_RUNS` (default 1) repeats every measurement and prints the spread;
//! `COUNTS_ONLY` keeps the measurements whose subject name contains it. Without valgrind
//! the bench says so and exits successfully. Run as a test (`cargo test --benches`, no
//! `--bench` argument), it runs each measurement once natively with a few events and
//! checks that every line reached the file.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sentry::integrations::tracing::{BreadcrumbLayer, ErrorLayer, SpanLayer};
use tracing::field::Empty;
use tracing_logbook::notify::NotifyConfig;
use tracing_logbook::{Env, LogFile, Mode};
use tracing_logbook_bench::count_lines;
use tracing_subscriber::filter::{filter_fn, LevelFilter};
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Subject {
    OursFile,
    OursProduction,
    FmtAppender,
    FmtAppenderSentry,
    Spdlog,
}

impl Subject {
    const ALL: [Subject; 5] = [
        Subject::OursFile,
        Subject::OursProduction,
        Subject::FmtAppender,
        Subject::FmtAppenderSentry,
        Subject::Spdlog,
    ];

    fn name(self) -> &'static str {
        match self {
            Subject::OursFile => "ours-file",
            Subject::OursProduction => "ours-production",
            Subject::FmtAppender => "fmt+appender",
            Subject::FmtAppenderSentry => "fmt+appender+sentry",
            Subject::Spdlog => "spdlog-sync",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Plain,
    InSpan,
    SpanLife,
}

impl Shape {
    const ALL: [Shape; 3] = [Shape::Plain, Shape::InSpan, Shape::SpanLife];

    fn name(self) -> &'static str {
        match self {
            Shape::Plain => "plain",
            Shape::InSpan => "in-span",
            Shape::SpanLife => "span-life",
        }
    }
}

/// What is measured: every shape of every subject, except spdlog-rs's, which has no spans.
const MEASURED: [(Subject, Shape); 13] = [
    (Subject::OursFile, Shape::Plain),
    (Subject::OursFile, Shape::InSpan),
    (Subject::OursFile, Shape::SpanLife),
    (Subject::OursProduction, Shape::Plain),
    (Subject::OursProduction, Shape::InSpan),
    (Subject::OursProduction, Shape::SpanLife),
    (Subject::FmtAppender, Shape::Plain),
    (Subject::FmtAppender, Shape::InSpan),
    (Subject::FmtAppender, Shape::SpanLife),
    (Subject::FmtAppenderSentry, Shape::Plain),
    (Subject::FmtAppenderSentry, Shape::InSpan),
    (Subject::FmtAppenderSentry, Shape::SpanLife),
    (Subject::Spdlog, Shape::Plain),
];

/// One comparison of the table: what it is, ours, the peer, the issue's target if any.
struct Pair {
    what: &'static str,
    ours: (Subject, Shape),
    peer: (Subject, Shape),
    target: &'static str,
}

const PAIRS: [Pair; 8] = [
    Pair {
        what: "INFO event into the daily file",
        ours: (Subject::OursFile, Shape::Plain),
        peer: (Subject::Spdlog, Shape::Plain),
        target: "<= 0.6x",
    },
    Pair {
        what: "the same, vs fmt + appender",
        ours: (Subject::OursFile, Shape::Plain),
        peer: (Subject::FmtAppender, Shape::Plain),
        target: "",
    },
    Pair {
        what: "INFO event, production (Rollbar on)",
        ours: (Subject::OursProduction, Shape::Plain),
        peer: (Subject::FmtAppenderSentry, Shape::Plain),
        target: "<= 0.15x",
    },
    Pair {
        what: "event in a 10-field span, vs plain (ours)",
        ours: (Subject::OursFile, Shape::InSpan),
        peer: (Subject::OursFile, Shape::Plain),
        target: "<= 1.5x",
    },
    Pair {
        what: "event in a 10-field span, vs plain (peer)",
        ours: (Subject::FmtAppender, Shape::InSpan),
        peer: (Subject::FmtAppender, Shape::Plain),
        target: "",
    },
    Pair {
        what: "event in a 10-field span",
        ours: (Subject::OursFile, Shape::InSpan),
        peer: (Subject::FmtAppender, Shape::InSpan),
        target: "",
    },
    Pair {
        what: "request span's life, file",
        ours: (Subject::OursFile, Shape::SpanLife),
        peer: (Subject::FmtAppender, Shape::SpanLife),
        target: "",
    },
    Pair {
        what: "request span's life, production",
        ours: (Subject::OursProduction, Shape::SpanLife),
        peer: (Subject::FmtAppenderSentry, Shape::SpanLife),
        target: "",
    },
];

fn subject_named(name: &str) -> Option<Subject> {
    Subject::ALL.into_iter().find(|s| s.name() == name)
}

fn shape_named(name: &str) -> Option<Shape> {
    Shape::ALL.into_iter().find(|s| s.name() == name)
}

// === the measured process ===

/// A loopback port nothing listens on: bound, then released.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// What gets the lines into the file at the end of a run.
enum Finish {
    Ours(tracing_logbook::Guard),
    Appender(tracing_appender::non_blocking::WorkerGuard),
    Spdlog(std::sync::Arc<spdlog::Logger>),
}

/// Builds `subject` writing into `dir`: the dispatch (none for spdlog-rs) and what
/// finishes it. As `production.rs` builds them.
fn rig(subject: Subject, dir: &Path) -> (Option<tracing::Dispatch>, Finish) {
    match subject {
        Subject::OursFile | Subject::OursProduction => {
            let mut env = Env::new(Mode::Production).log_file(LogFile::Path(dir.join("app.log")));
            if subject == Subject::OursProduction {
                env = env.notify(
                    NotifyConfig::new("bench-token")
                        .endpoint(format!("http://127.0.0.1:{}/api/1/item/", closed_port())),
                );
            }
            let (dispatch, guard) = tracing_logbook::build(env).expect("tracing_logbook::build");
            (Some(dispatch), Finish::Ours(guard))
        }
        Subject::FmtAppender | Subject::FmtAppenderSentry => {
            let appender = tracing_appender::rolling::daily(dir, "app.log");
            let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
                .lossy(false)
                .finish(appender);
            let fmt = tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(writer);
            let registry = tracing_subscriber::registry().with(fmt);
            let dispatch = if subject == Subject::FmtAppenderSentry {
                tracing::Dispatch::new(
                    registry
                        .with(SpanLayer::new().with_filter(LevelFilter::INFO))
                        .with(BreadcrumbLayer::new().with_filter(filter_fn(|metadata| {
                            matches!(
                                *metadata.level(),
                                tracing::Level::WARN | tracing::Level::INFO
                            )
                        })))
                        .with(ErrorLayer::new().with_filter(LevelFilter::ERROR)),
                )
            } else {
                tracing::Dispatch::new(registry)
            };
            (Some(dispatch), Finish::Appender(guard))
        }
        Subject::Spdlog => {
            let sink = spdlog::sink::RotatingFileSink::builder()
                .base_path(dir.join("app.log"))
                .rotation_policy(spdlog::sink::RotationPolicy::Daily { hour: 0, minute: 0 })
                .build_arc()
                .expect("spdlog RotatingFileSink");
            let logger = spdlog::Logger::builder()
                .sink(sink)
                .build_arc()
                .expect("spdlog Logger");
            (None, Finish::Spdlog(logger))
        }
    }
}

const USER_AGENT: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";

/// A request id as a web server makes one: 32 hex digits.
struct RequestId(u64);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}{:016x}", 0x5bd1_e995_u64, self.0)
    }
}

#[inline(never)]
fn event(i: u64) {
    tracing::info!(target: "shop::orders", order_id = i, user = "alice", "order placed");
}

/// The 10-field request span of `in-span` (as in `production.rs`).
#[inline(never)]
fn request_span(i: u64) -> tracing::Span {
    tracing::info_span!(
        target: "shop::http",
        "request",
        method = "GET",
        route = "/api/orders/{id}",
        url = "/api/orders/48213?expand=items",
        status = 200u16,
        user_agent = USER_AGENT,
        request_id = %RequestId(i),
        user.id = 4217u64,
        client_ip = "203.0.113.42",
        version = "HTTP/1.1",
        host = "shop.example.com",
    )
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
        request_id = %RequestId(i),
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

#[inline(never)]
fn spdlog_event(logger: &spdlog::Logger, i: u64) {
    spdlog::info!(logger: logger, "order placed order_id={} user={}", i, "alice");
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
    let _sentry = (subject == Subject::FmtAppenderSentry).then(|| {
        sentry::init((
            format!("http://public@127.0.0.1:{}/1", closed_port()),
            sentry::ClientOptions::default(),
        ))
    });
    let (dispatch, finish) = rig(subject, dir);
    let allocations = match (&dispatch, &finish) {
        (Some(dispatch), _) => tracing::dispatcher::with_default(dispatch, || {
            let iteration: fn(u64) = match shape {
                Shape::Plain | Shape::InSpan => event,
                Shape::SpanLife => request_life,
            };
            let span = (shape == Shape::InSpan).then(|| request_span(0));
            let entered = span.as_ref().map(tracing::Span::enter);
            (0..WARM_UP).for_each(iteration);
            let before = ALLOCATIONS.load(Ordering::Relaxed);
            (WARM_UP..WARM_UP + events).for_each(iteration);
            drop(entered);
            drop(span);
            before
        }),
        (None, Finish::Spdlog(logger)) => {
            assert_eq!(shape, Shape::Plain, "spdlog-rs has no spans");
            (0..WARM_UP).for_each(|i| spdlog_event(logger, i));
            let before = ALLOCATIONS.load(Ordering::Relaxed);
            (WARM_UP..WARM_UP + events).for_each(|i| spdlog_event(logger, i));
            before
        }
        (None, _) => unreachable!("only spdlog-rs has no dispatch"),
    };
    match finish {
        Finish::Ours(guard) => {
            assert!(guard.flush(Duration::from_secs(600)), "flush timed out");
            let file = guard.file().expect("ours writes a file");
            assert_eq!(file.failed_lines() + file.dropped_lines(), 0, "lines lost");
            drop(guard);
        }
        // Dropping the guard hands the worker a shutdown message and waits for it.
        Finish::Appender(guard) => drop(guard),
        Finish::Spdlog(logger) => logger.flush(),
    }
    drop(dispatch);
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - allocations;
    println!("allocations {allocations}");
}

// === the parent ===

/// One measured process: its instructions (all threads) and its allocations after the
/// warm-up.
#[derive(Clone, Copy, Debug)]
struct Counts {
    instructions: u64,
    allocations: u64,
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
    assert_eq!(
        lines,
        WARM_UP + events,
        "{} {}: lines in the file",
        subject.name(),
        shape.name()
    );
    let instructions = if callgrind {
        let text = std::fs::read_to_string(&out).expect("callgrind's output file");
        text.lines()
            .find_map(|l| l.strip_prefix("summary:").or(l.strip_prefix("totals:")))
            .and_then(|n| n.split_whitespace().next()?.parse().ok())
            .expect("a summary line in callgrind's output")
    } else {
        0
    };
    Counts {
        instructions,
        allocations,
    }
}

/// Per event: (instructions, allocations) of N events less those of none, over N.
fn per_event(subject: Subject, shape: Shape, events: u64) -> (f64, f64) {
    let none = measure(subject, shape, 0, true);
    let some = measure(subject, shape, events, true);
    let n = events as f64;
    (
        (some.instructions as f64 - none.instructions as f64) / n,
        (some.allocations as f64 - none.allocations as f64) / n,
    )
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
    let only = std::env::var("COUNTS_ONLY").unwrap_or_default();
    let measured: Vec<(Subject, Shape)> = MEASURED
        .into_iter()
        .filter(|(s, _)| s.name().contains(&only))
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
        "callgrind, every thread: ({events} events - 0 events) / {events}, \
         after {WARM_UP} warm-up events; {runs} run(s)"
    );
    // results[k][run] = (instructions, allocations) per event
    let mut results = vec![Vec::new(); measured.len()];
    for _ in 0..runs {
        for (k, &(subject, shape)) in measured.iter().enumerate() {
            results[k].push(per_event(subject, shape, events));
        }
    }

    println!();
    println!(
        "{:<20} {:<10} {:>12} {:>8} {:>12}",
        "subject", "shape", "instr/event", "spread", "allocs/event"
    );
    let mut first = std::collections::HashMap::new();
    for (k, &(subject, shape)) in measured.iter().enumerate() {
        let r = &results[k];
        let (lo, hi) = r.iter().fold((f64::MAX, f64::MIN), |(lo, hi), x| {
            (lo.min(x.0), hi.max(x.0))
        });
        let spread = if runs > 1 {
            format!("{:.1}%", (hi - lo) / lo * 100.0)
        } else {
            "-".to_owned()
        };
        println!(
            "{:<20} {:<10} {:>12} {:>8} {:>12.2}",
            subject.name(),
            shape.name(),
            thousands(r[0].0),
            spread,
            r[0].1
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
        let (Some(ours), Some(peer)) = (get(pair.ours), get(pair.peer)) else {
            continue;
        };
        let label = |(s, sh): (Subject, Shape)| format!("{} {}", s.name(), sh.name());
        println!(
            "{:<42} {:<30} {:>8} {:>7.2} {:<30} {:>8} {:>7.2} {:>6.2}x {:>8}",
            pair.what,
            label(pair.ours),
            thousands(ours.0),
            ours.1,
            label(pair.peer),
            thousands(peer.0),
            peer.1,
            ours.0 / peer.0,
            pair.target
        );
    }
}
