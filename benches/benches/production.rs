//! The production path end to end, against its peers in the same run.
//!
//! Run it from the repository root:
//!
//! ```text
//! cargo bench -p tracing-logbook-bench
//! cargo bench -p tracing-logbook-bench -- --measurement-time 3 --warm-up-time 1   # shorter
//! ```
//!
//! Every event is an INFO event with a message and two fields, written to a real file
//! in a temporary directory. Each measured batch builds its subject afresh (untimed),
//! logs the batch's events from 1 or 2 threads, and stops the clock only once the lines
//! are in the file: after `Guard::flush` (ours), after dropping tracing-appender's
//! `WorkerGuard` (which waits for its worker) or after `Logger::flush` (spdlog-rs). This
//! is how `benches/file.rs` measures file writing, here inside criterion's
//! `iter_custom`. The subjects:
//!
//! * `ours-production`: exactly what `init` installs, from `tracing_logbook::build` with
//!   `Env::new(Mode::Production)`, the daily file and the Rollbar notifier (telemetry on,
//!   the default) pointed at a closed loopback port. INFO events are never sent; the
//!   notifier keeps them as telemetry.
//! * `ours-file`: the same without the notifier.
//! * `ours-otlp`: `ours-file` plus the OTLP exporter (`http/protobuf`, a queue of 65,536
//!   records) sending to a loopback collector that answers 200 to every request; the
//!   clock stops once the lines are in the file and the records were accepted.
//! * `otel-sdk`: what a Rust user composes today for the same file and the same
//!   export: `fmt+appender` (below) for the file, plus opentelemetry-appender-tracing's
//!   `OpenTelemetryTracingBridge` into the OpenTelemetry SDK's `BatchLogProcessor` (its
//!   own thread, a queue of 65,536 records like ours) and opentelemetry-otlp's HTTP
//!   exporter (protobuf, reqwest's blocking client) sending to the same collector; the
//!   clock stops once the lines are in the file and `force_flush` has returned.
//! * `fmt+appender+sentry`: tracing-subscriber's fmt layer (ANSI off) over
//!   tracing-appender's daily `RollingFileAppender` behind `non_blocking` with
//!   `lossy(false)`, plus sentry-tracing's layers as its documentation configures them for
//!   errors with breadcrumbs (`SpanLayer` INFO, `BreadcrumbLayer` WARN+INFO, `ErrorLayer`
//!   ERROR), with a Sentry client whose DSN is the same closed port.
//! * `fmt+appender`: the same without Sentry.
//! * `spdlog-sync`: spdlog-rs's synchronous `RotatingFileSink` (daily), the fields
//!   formatted into the message.
//!
//! The shapes: `plain` (the event alone); `in-span` (the event inside a `request` span
//! with 10 fields, created and entered once per thread before the clock starts, so only
//! the event is measured); `span-per-event` (a request span created, entered, the event,
//! exited and closed each iteration: what a web server pays per request). With 2 threads
//! each thread logs half the batch at once and the figure is wall time / all events, so
//! "2 threads no slower" means a figure no larger than the 1-thread one.
//!
//! After criterion's groups a plain `Instant` pass logs `BENCH_SUMMARY_EVENTS` events
//! (default 200,000) per configuration, `BENCH_SUMMARY_RUNS` times (default 5; the
//! configurations take turns, so a busy moment of the machine hits all of them), checks
//! that every line reached the files, and prints the medians and the fastest runs in
//! ns/event, and the ratios of the medians against the crate's targets.
//! `BENCH_SUMMARY_EVENTS=0` skips it; `BENCH_SUMMARY_SUBJECTS=ours-file,ours-otlp,otel-sdk`
//! runs only those subjects (in the criterion groups too).

#![allow(clippy::print_stdout)]

use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use tracing_logbook::notify::NotifyConfig;
use tracing_logbook::{Env, LogFile, Mode};
use tracing_subscriber::prelude::*;

mod peers;
mod workload;

use workload::{event, request_span, spdlog_event, spdlog_event_in_request};

/// Longer than any flush of a batch can take; a flush that needs it is a failure.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Subject {
    OursProduction,
    OursFile,
    OursOtlp,
    OtelSdk,
    FmtAppenderSentry,
    FmtAppender,
    Spdlog,
}

impl Subject {
    const ALL: [Subject; 7] = [
        Subject::OursProduction,
        Subject::OursFile,
        Subject::OursOtlp,
        Subject::OtelSdk,
        Subject::FmtAppenderSentry,
        Subject::FmtAppender,
        Subject::Spdlog,
    ];

    fn name(self) -> &'static str {
        match self {
            Subject::OursProduction => "ours-production",
            Subject::OursFile => "ours-file",
            Subject::OursOtlp => "ours-otlp",
            Subject::OtelSdk => "otel-sdk",
            Subject::FmtAppenderSentry => "fmt+appender+sentry",
            Subject::FmtAppender => "fmt+appender",
            Subject::Spdlog => "spdlog-sync",
        }
    }

    /// spdlog-rs has no spans: it logs the request's fields in the message instead, and
    /// has nothing to create per request. `BENCH_SUMMARY_SUBJECTS` (names separated by
    /// commas) runs only those subjects.
    fn runs(self, shape: Shape) -> bool {
        let chosen = std::env::var("BENCH_SUMMARY_SUBJECTS").map_or(true, |names| {
            names.split(',').any(|n| n.trim() == self.name())
        });
        chosen && !(self == Subject::Spdlog && shape == Shape::SpanPerEvent)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Shape {
    Plain,
    InSpan,
    SpanPerEvent,
}

impl Shape {
    const ALL: [Shape; 3] = [Shape::Plain, Shape::InSpan, Shape::SpanPerEvent];

    fn name(self) -> &'static str {
        match self {
            Shape::Plain => "plain",
            Shape::InSpan => "in-span",
            Shape::SpanPerEvent => "span-per-event",
        }
    }
}

const THREADS: [usize; 2] = [1, 2];

/// Who takes the events.
enum Emitter {
    Tracing(tracing::Dispatch),
    Spdlog(Arc<spdlog::Logger>),
}

/// What gets the lines into the file at the end of a batch.
enum Finish {
    Ours(tracing_logbook::Guard),
    Appender(tracing_appender::non_blocking::WorkerGuard),
    /// The file's worker, and the SDK's provider (flushed, then shut down untimed).
    OtelSdk(
        tracing_appender::non_blocking::WorkerGuard,
        opentelemetry_sdk::logs::SdkLoggerProvider,
    ),
    Spdlog,
}

/// One subject, built afresh for one batch.
struct Rig {
    emitter: Emitter,
    finish: Finish,
}

fn rig(subject: Subject, dir: &Path, port: u16) -> Rig {
    match subject {
        Subject::OursProduction | Subject::OursFile | Subject::OursOtlp => {
            let mut env = Env::new(Mode::Production).log_file(LogFile::Path(dir.join("app.log")));
            if subject == Subject::OursOtlp {
                env = env
                    .otlp_endpoint(collector())
                    .expect("the collector's URL")
                    .otlp(|b| b.queue(1 << 16));
            }
            if subject == Subject::OursProduction {
                env = env.notifier(
                    NotifyConfig::rollbar("bench-token")
                        .endpoint(format!("http://127.0.0.1:{port}/api/1/item/")),
                );
            }
            let (dispatch, guard) = tracing_logbook::build(env).expect("tracing_logbook::build");
            Rig {
                emitter: Emitter::Tracing(dispatch),
                finish: Finish::Ours(guard),
            }
        }
        Subject::OtelSdk => {
            let (fmt, guard) = peers::fmt_appender(dir);
            let provider = peers::otel_sdk_provider(&collector());
            let bridge =
                opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge::new(&provider);
            Rig {
                emitter: Emitter::Tracing(tracing::Dispatch::new(
                    tracing_subscriber::registry().with(fmt).with(bridge),
                )),
                finish: Finish::OtelSdk(guard, provider),
            }
        }
        Subject::FmtAppenderSentry | Subject::FmtAppender => {
            let (fmt, guard) = peers::fmt_appender(dir);
            let registry = tracing_subscriber::registry().with(fmt);
            let dispatch = if subject == Subject::FmtAppenderSentry {
                tracing::Dispatch::new(registry.with(peers::sentry_layers()))
            } else {
                tracing::Dispatch::new(registry)
            };
            Rig {
                emitter: Emitter::Tracing(dispatch),
                finish: Finish::Appender(guard),
            }
        }
        Subject::Spdlog => Rig {
            emitter: Emitter::Spdlog(peers::spdlog_daily(dir)),
            finish: Finish::Spdlog,
        },
    }
}

/// One thread's share of a batch: everything before `start.wait()` is untimed.
fn work(emitter: &Emitter, shape: Shape, thread: usize, n: u64, start: &Barrier) {
    match emitter {
        Emitter::Tracing(dispatch) => tracing::dispatcher::with_default(dispatch, || match shape {
            Shape::Plain => {
                start.wait();
                for i in 0..n {
                    event(i);
                }
            }
            Shape::InSpan => {
                let span = request_span(thread, 0);
                let entered = span.enter();
                start.wait();
                for i in 0..n {
                    event(i);
                }
                drop(entered);
            }
            Shape::SpanPerEvent => {
                start.wait();
                for i in 0..n {
                    let span = request_span(thread, i);
                    let _entered = span.enter();
                    event(i);
                }
            }
        }),
        Emitter::Spdlog(logger) => {
            start.wait();
            match shape {
                Shape::Plain => (0..n).for_each(|i| spdlog_event(logger, i)),
                Shape::InSpan => (0..n).for_each(|i| spdlog_event_in_request(logger, thread, i)),
                Shape::SpanPerEvent => unreachable!("spdlog-rs has no spans"),
            }
        }
    }
}

/// Logs `events` events from `threads` threads into a fresh `subject` writing to `dir`;
/// the time from the start until the lines are in the file.
fn run(
    subject: Subject,
    shape: Shape,
    threads: usize,
    events: u64,
    dir: &Path,
    port: u16,
) -> Duration {
    let Rig { emitter, finish } = rig(subject, dir, port);
    let mut sdk = None;
    let barrier = Barrier::new(threads + 1);
    let start = std::thread::scope(|s| {
        for thread in 0..threads {
            let share =
                events / threads as u64 + u64::from((thread as u64) < events % threads as u64);
            let (emitter, barrier) = (&emitter, &barrier);
            s.spawn(move || work(emitter, shape, thread, share, barrier));
        }
        barrier.wait();
        Instant::now()
    });
    let teardown = match finish {
        Finish::Ours(guard) => {
            assert!(
                guard.flush(FLUSH_TIMEOUT),
                "{} flush timed out",
                subject.name()
            );
            Some(guard)
        }
        // Dropping the guard hands the worker a shutdown message and waits for it.
        Finish::Appender(worker) => {
            drop(worker);
            None
        }
        Finish::OtelSdk(worker, provider) => {
            drop(worker);
            provider.force_flush().expect("the SDK's force_flush");
            sdk = Some(provider);
            None
        }
        Finish::Spdlog => {
            if let Emitter::Spdlog(logger) = &emitter {
                logger.flush();
            }
            None
        }
    };
    let elapsed = start.elapsed();
    if let Some(provider) = sdk {
        let _ = provider.shutdown();
    }
    if let Some(guard) = &teardown {
        let file = guard.file().expect("ours writes a file");
        assert_eq!(
            file.failed_lines() + file.dropped_lines(),
            0,
            "ours lost lines"
        );
        if let Some(otlp) = guard.otlp() {
            let counts = otlp.counts();
            assert_eq!(counts.failed, 0, "the collector refused records");
            if counts.dropped > 0 {
                println!(
                    "ours-otlp: {} of {events} records dropped (queue full)",
                    counts.dropped
                );
            }
        }
    }
    drop(teardown);
    drop(emitter);
    elapsed
}

fn group_name(shape: Shape, threads: usize) -> String {
    format!("{}-{threads}thread", shape.name())
}

fn criterion_groups(c: &mut Criterion, root: &Path, port: u16) {
    for shape in Shape::ALL {
        for threads in THREADS {
            let mut group = c.benchmark_group(group_name(shape, threads));
            group.throughput(Throughput::Elements(1));
            for subject in Subject::ALL.into_iter().filter(|s| s.runs(shape)) {
                // One directory per benchmark, removed when it is done: the files of a
                // few seconds of logging are large.
                let dir = tempfile::tempdir_in(root).expect("tempdir");
                group.bench_function(subject.name(), |b| {
                    b.iter_custom(|iters| run(subject, shape, threads, iters, dir.path(), port))
                });
            }
            group.finish();
        }
    }
}

use tracing_logbook_bench::{closed_port, collector, count_lines};

/// The `N OTLP records dropped` lines in the files of `dir` (the exporter's losses,
/// announced in the file as well).
fn otlp_notices(dir: &Path) -> u64 {
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        if entry.file_type().is_ok_and(|t| t.is_symlink()) {
            continue;
        }
        if let Ok(text) = std::fs::read_to_string(entry.path()) {
            n += text.matches(" OTLP records dropped").count() as u64;
        }
    }
    n
}

/// The first line of the first file in `dir`, to show what a subject writes.
fn first_line(dir: &Path) -> String {
    use std::io::BufRead;
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    paths.sort();
    let mut line = String::new();
    if let Some(Ok(file)) = paths.first().map(std::fs::File::open) {
        let _ = std::io::BufReader::new(file).read_line(&mut line);
    }
    line.trim_end().to_owned()
}

fn env_num(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

type Key = (Subject, Shape, usize);

/// The `Instant` pass: medians in ns/event, and the ratios the crate's targets are about.
fn summary(root: &Path, port: u16, events: u64, runs: u64) {
    let mut medians = std::collections::HashMap::<Key, f64>::new();
    let mut fastest = std::collections::HashMap::<Key, f64>::new();
    let mut lost = Vec::new();
    let mut examples = Vec::new();
    for shape in Shape::ALL {
        for threads in THREADS {
            let subjects: Vec<Subject> =
                Subject::ALL.into_iter().filter(|s| s.runs(shape)).collect();
            let mut samples = vec![Vec::new(); subjects.len()];
            for _ in 0..runs {
                for (k, &subject) in subjects.iter().enumerate() {
                    let dir = tempfile::tempdir_in(root).expect("tempdir");
                    let elapsed = run(subject, shape, threads, events, dir.path(), port);
                    // The exporter's loss notices are lines of their own.
                    let lines = count_lines(dir.path()) - otlp_notices(dir.path());
                    if threads == 1 && samples[k].is_empty() {
                        examples.push(format!(
                            "{} {}:\n  {}",
                            subject.name(),
                            shape.name(),
                            first_line(dir.path())
                        ));
                    }
                    if lines != events {
                        lost.push(format!(
                            "{} {}: {lines} lines of {events}",
                            subject.name(),
                            group_name(shape, threads)
                        ));
                    }
                    samples[k].push(elapsed.as_nanos() as f64 / events as f64);
                }
            }
            for (k, subject) in subjects.into_iter().enumerate() {
                let s = &mut samples[k];
                s.sort_by(f64::total_cmp);
                medians.insert((subject, shape, threads), s[s.len() / 2]);
                fastest.insert((subject, shape, threads), s[0]);
            }
        }
    }
    let get = |subject, shape, threads| medians.get(&(subject, shape, threads)).copied();
    let columns: Vec<(Shape, usize)> = Shape::ALL
        .into_iter()
        .flat_map(|shape| THREADS.into_iter().map(move |t| (shape, t)))
        .collect();

    for (title, table) in [
        (format!("median of {runs} runs"), &medians),
        (format!("fastest of {runs} runs"), &fastest),
    ] {
        println!();
        println!(
            "== summary: {events} events per run, {title}, ns/event \
             (wall time / events, final flush included)"
        );
        print!("{:<24}", "subject");
        for (shape, threads) in &columns {
            print!(" {:>18}", group_name(*shape, *threads));
        }
        println!();
        for subject in Subject::ALL {
            print!("{:<24}", subject.name());
            for &(shape, threads) in &columns {
                match table.get(&(subject, shape, threads)) {
                    Some(ns) => print!(" {ns:>18.1}"),
                    None => print!(" {:>18}", "-"),
                }
            }
            println!();
        }
    }

    let cell = |r: Option<f64>, ok: &dyn Fn(f64) -> bool| match r {
        Some(r) => format!("{r:.2}x{}", if ok(r) { " " } else { "!" }),
        None => "-".to_owned(),
    };
    println!();
    println!("== ratios of the medians (time per event; '!' marks a missed target)");
    print!("{:<44} {:>8}", "ratio", "target");
    for (shape, threads) in &columns {
        print!(" {:>18}", group_name(*shape, *threads));
    }
    println!();
    // (ratio, target, numerator, denominator, whether the ratio meets the target)
    type Pair = (
        &'static str,
        &'static str,
        Subject,
        Subject,
        fn(f64) -> bool,
    );
    let pairs: [Pair; 6] = [
        (
            "ours-production / ours-file",
            "<= 1.25",
            Subject::OursProduction,
            Subject::OursFile,
            |r| r <= 1.25,
        ),
        (
            "ours-otlp / ours-file",
            "<= 1.3",
            Subject::OursOtlp,
            Subject::OursFile,
            |r| r <= 1.3,
        ),
        (
            "otel-sdk / ours-otlp",
            ">= 3",
            Subject::OtelSdk,
            Subject::OursOtlp,
            |r| r >= 3.0,
        ),
        (
            "fmt+appender+sentry / ours-production",
            ">= 5",
            Subject::FmtAppenderSentry,
            Subject::OursProduction,
            |r| r >= 5.0,
        ),
        (
            "fmt+appender / ours-file",
            ">= 6",
            Subject::FmtAppender,
            Subject::OursFile,
            |r| r >= 6.0,
        ),
        (
            "spdlog-sync / ours-file",
            ">= 2",
            Subject::Spdlog,
            Subject::OursFile,
            |r| r >= 2.0,
        ),
    ];
    for (name, target, a, b, ok) in pairs {
        print!("{name:<44} {target:>8}");
        for &(shape, threads) in &columns {
            let r = get(a, shape, threads)
                .zip(get(b, shape, threads))
                .map(|(a, b)| a / b);
            print!(" {:>18}", cell(r, &ok));
        }
        println!();
    }

    println!();
    let per_subject = [
        (
            "2 threads / 1 thread, plain",
            "<= 1.00",
            Shape::Plain,
            2,
            Shape::Plain,
            1,
        ),
        (
            "2 threads / 1 thread, in-span",
            "<= 1.00",
            Shape::InSpan,
            2,
            Shape::InSpan,
            1,
        ),
        (
            "2 threads / 1 thread, span-per-event",
            "<= 1.00",
            Shape::SpanPerEvent,
            2,
            Shape::SpanPerEvent,
            1,
        ),
        (
            "in-span / plain, 1 thread",
            "<= 1.50",
            Shape::InSpan,
            1,
            Shape::Plain,
            1,
        ),
        (
            "in-span / plain, 2 threads",
            "<= 1.50",
            Shape::InSpan,
            2,
            Shape::Plain,
            2,
        ),
        (
            "span-per-event / plain, 1 thread",
            "",
            Shape::SpanPerEvent,
            1,
            Shape::Plain,
            1,
        ),
        (
            "span-per-event / plain, 2 threads",
            "",
            Shape::SpanPerEvent,
            2,
            Shape::Plain,
            2,
        ),
    ];
    print!("{:<38} {:>8}", "ratio", "target");
    for subject in Subject::ALL {
        print!(" {:>20}", subject.name());
    }
    println!();
    for (name, target, shape_a, threads_a, shape_b, threads_b) in per_subject {
        print!("{name:<38} {target:>8}");
        let limit: Option<f64> = target.strip_prefix("<= ").and_then(|l| l.parse().ok());
        for subject in Subject::ALL {
            let r = get(subject, shape_a, threads_a)
                .zip(get(subject, shape_b, threads_b))
                .map(|(a, b)| a / b);
            print!(
                " {:>20}",
                cell(r, &|r| limit.is_none_or(|limit| r <= limit))
            );
        }
        println!();
    }
    println!("\n== what each subject writes (first line of a run)");
    for example in examples {
        println!("{example}");
    }
    if lost.is_empty() {
        println!("\nevery run's lines were all in its files");
    } else {
        println!("\nLINES MISSING (those figures are not comparable):");
        for l in lost {
            println!("  {l}");
        }
    }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` does not, and then criterion
    // runs each benchmark once as a test and the summary is skipped.
    let benchmarking = std::env::args().any(|a| a == "--bench");
    let port = closed_port();
    // The Sentry client for `fmt+appender+sentry`: process-wide, as in an application.
    // INFO events only become breadcrumbs, so nothing is ever sent to the closed port.
    let _sentry = sentry::init((
        format!("http://public@127.0.0.1:{port}/1"),
        sentry::ClientOptions::default(),
    ));
    let root = tempfile::tempdir().expect("tempdir");

    let mut c = Criterion::default().configure_from_args();
    criterion_groups(&mut c, root.path(), port);
    c.final_summary();

    let events = env_num("BENCH_SUMMARY_EVENTS", 200_000);
    let runs = env_num("BENCH_SUMMARY_RUNS", 5).max(1);
    if benchmarking && events > 0 {
        summary(root.path(), port, events, runs);
    }
}
