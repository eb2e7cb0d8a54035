//! Caller cost of `tracing::error!` with the Rollbar notifier on while the endpoint
//! hangs, against the same event with the notifier off.
//!
//! A plain `main` (no criterion harness) timing every call, to report p50 and p99:
//! `cargo bench -p tracing-logbook-bench --bench notify`.

#![allow(clippy::print_stdout)]

use std::hint::black_box;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use tracing_logbook::notify::NotifyConfig;
use tracing_subscriber::prelude::*;

const CALLS: usize = 20_000;

/// A 127.0.0.1 endpoint that accepts connections and never answers.
fn hanging_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    format!("http://{addr}/api/1/item/")
}

fn measure(name: &str, dispatch: &tracing::Dispatch) {
    let mut samples = Vec::with_capacity(CALLS);
    tracing::dispatcher::with_default(dispatch, || {
        for i in 0..1_000u64 {
            tracing::error!(order = i, user = "bob", "payment failed");
        }
        for i in 0..CALLS as u64 {
            let start = Instant::now();
            tracing::error!(order = black_box(i), user = "bob", "payment failed");
            samples.push(start.elapsed());
        }
    });
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    println!(
        "{name:<48} p50 {:>8.2?}  p99 {:>8.2?}  max {:>8.2?}",
        pct(0.50),
        pct(0.99),
        samples[samples.len() - 1]
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for the list of benchmarks
    }
    let off = tracing::Dispatch::new(tracing_subscriber::registry());
    measure("notifier off", &off);

    let endpoint = hanging_endpoint();
    let (layer, handle) = NotifyConfig::rollbar("bench-token")
        .endpoint(endpoint.clone())
        .dedup_window(Duration::ZERO)
        .build();
    let on = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    measure("notifier on, hanging, no dedup (queue full)", &on);
    println!("  counters: {:?}", handle.stats());
    handle.shutdown(Duration::from_millis(100));

    let (layer, handle) = NotifyConfig::rollbar("bench-token")
        .endpoint(endpoint)
        .build();
    let on = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    measure("notifier on, hanging, default dedup (60 s)", &on);
    println!("  counters: {:?}", handle.stats());
    handle.shutdown(Duration::from_millis(100));
}
