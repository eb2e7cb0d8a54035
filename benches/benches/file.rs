//! Daily-file throughput: `LogbookLayer` + `DailyFile` against tracing-subscriber's fmt
//! layer (ANSI off) over tracing-appender's daily `RollingFileAppender` behind
//! `non_blocking` with `lossy(false)`.
//!
//! Each run logs 1,000,000 events (a message and two fields) from 1 or 2 threads and is
//! timed until the final flush has returned (`DailyFile::flush`, or dropping
//! tracing-appender's `WorkerGuard`). Every run happens in a fresh child process, so the
//! reported peak memory (`VmHWM`) belongs to that run alone; the lines in the files are
//! counted afterwards. Run with `cargo bench -p tracing-logbook-bench --bench file` (`BENCH_FILE_RUNS` sets the
//! runs per variant, default 3; `BENCH_FILE_EVENTS` the events per run).

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use tracing_subscriber::prelude::*;

mod peers;

const VARIANT_VAR: &str = "BENCH_FILE_VARIANT";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Ours,
    Appender,
    /// `LogbookLayer` into a writer that discards: the formatting cost alone.
    FormatOnly,
}

fn main() {
    if let Ok(variant) = std::env::var(VARIANT_VAR) {
        child(&variant);
        return;
    }
    let runs: usize = env_num("BENCH_FILE_RUNS", 3);
    let events: usize = env_num("BENCH_FILE_EVENTS", 1_000_000);
    println!("{events} events per run, {runs} runs per variant, median shown");
    println!(
        "{:<34} {:>10} {:>12} {:>12} {:>10}",
        "variant", "threads", "ns/event", "lines", "VmHWM MiB"
    );
    for threads in [1usize, 2] {
        let mut medians = Vec::new();
        for kind in [Kind::Ours, Kind::Appender] {
            let mut results: Vec<(f64, usize, u64)> = (0..runs)
                .map(|_| run_child(kind, threads, events))
                .collect();
            results.sort_by(|a, b| a.0.total_cmp(&b.0));
            let (ns, lines, hwm) = results[results.len() / 2];
            let max_hwm = results.iter().map(|r| r.2).max().unwrap_or(hwm);
            let all_lines = results.iter().all(|r| r.1 == events);
            println!(
                "{:<34} {:>10} {:>12.1} {:>12} {:>10.1}{}",
                match kind {
                    Kind::Ours => "tracing-logbook DailyFile",
                    Kind::Appender => "fmt + tracing-appender non_blocking",
                    Kind::FormatOnly => "LogbookLayer to a null writer",
                },
                threads,
                ns,
                lines,
                max_hwm as f64 / 1024.0,
                if all_lines { "" } else { "  LINES LOST" }
            );
            medians.push(ns);
        }
        println!(
            "{:<34} {:>10} {:>12.2}x less time per event",
            "ratio (appender / ours)",
            threads,
            medians[1] / medians[0]
        );
        let mut reference: Vec<f64> = (0..runs)
            .map(|_| run_child(Kind::FormatOnly, threads, events).0)
            .collect();
        reference.sort_by(f64::total_cmp);
        println!(
            "{:<34} {:>10} {:>12.1}   (reference: formatting only, no file)",
            "LogbookLayer to a null writer",
            threads,
            reference[reference.len() / 2]
        );
    }
}

fn env_num(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs one variant in a fresh process; returns (ns/event, lines counted, VmHWM KiB).
fn run_child(kind: Kind, threads: usize, events: usize) -> (f64, usize, u64) {
    let out = Command::new(std::env::current_exe().expect("current exe"))
        .env(VARIANT_VAR, format!("{kind:?}:{threads}:{events}"))
        .output()
        .expect("run child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| {
            panic!(
                "child failed: {}\n{}",
                stdout,
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let mut parts = line.split_whitespace();
    let mut next = || parts.next().expect("field");
    (
        next().parse().expect("ns"),
        next().parse().expect("lines"),
        next().parse().expect("hwm"),
    )
}

fn child(variant: &str) {
    let mut parts = variant.split(':');
    let kind = match parts.next() {
        Some("Ours") => Kind::Ours,
        Some("FormatOnly") => Kind::FormatOnly,
        _ => Kind::Appender,
    };
    let threads: usize = parts.next().and_then(|t| t.parse().ok()).unwrap_or(1);
    let events: usize = parts
        .next()
        .and_then(|t| t.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let elapsed = match kind {
        Kind::Ours => run_ours(dir.path(), threads, events),
        Kind::Appender => run_appender(dir.path(), threads, events),
        Kind::FormatOnly => run_format_only(threads, events),
    };
    // Peak memory of the logging run, before counting reads the files.
    let hwm = vm_hwm_kib();
    let lines = count_lines(dir.path());
    println!(
        "RESULT {:.2} {} {}",
        elapsed.as_nanos() as f64 / events as f64,
        lines,
        hwm
    );
}

/// Logs `events` events split over `threads` threads through the global subscriber.
fn hammer(threads: usize, events: usize) {
    let per_thread = events / threads;
    std::thread::scope(|s| {
        for t in 0..threads {
            s.spawn(move || {
                for i in 0..per_thread {
                    tracing::info!(target: "bench", thread = t, i, "request handled");
                }
            });
        }
    });
}

fn run_ours(dir: &Path, threads: usize, events: usize) -> Duration {
    let file = tracing_logbook::DailyFile::builder(dir.join("app.log"))
        .build()
        .expect("build DailyFile");
    let layer = tracing_logbook::LogbookLayer::builder()
        .color(tracing_logbook::ColorChoice::Never)
        .build(file.clone());
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
        .expect("global default");
    let start = Instant::now();
    hammer(threads, events);
    assert!(file.flush(Duration::from_secs(600)), "flush timed out");
    let elapsed = start.elapsed();
    assert!(file.shutdown(Duration::from_secs(60)));
    elapsed
}

/// Discards every record.
struct Null;

impl tracing_logbook::LineWriter for Null {
    fn write_line(&self, _time: time::OffsetDateTime, line: &[u8]) {
        std::hint::black_box(line);
    }
}

fn run_format_only(threads: usize, events: usize) -> Duration {
    let layer = tracing_logbook::LogbookLayer::builder()
        .color(tracing_logbook::ColorChoice::Never)
        .build(Null);
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
        .expect("global default");
    let start = Instant::now();
    hammer(threads, events);
    start.elapsed()
}

fn run_appender(dir: &Path, threads: usize, events: usize) -> Duration {
    let (layer, guard) = peers::fmt_appender(dir);
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
        .expect("global default");
    let start = Instant::now();
    hammer(threads, events);
    // Dropping the guard flushes the worker and waits for it.
    drop(guard);
    start.elapsed()
}

/// The lines in the log files of `dir`, as a `usize`.
fn count_lines(dir: &Path) -> usize {
    tracing_logbook_bench::count_lines(dir) as usize
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
