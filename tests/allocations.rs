//! The request path allocates nothing of ours in the steady state: a plain event, an
//! event inside a request span, and a request span's whole life (create with a dozen
//! fields, enter, record, an event, close), through `build(env)` in production, with the
//! daily file alone and with the Rollbar notifier on. The only allocation left in a span's
//! life is tracing-subscriber's: its registry boxes every span extension (ours is one).
//!
//! Counted by a global allocator that counts the calling thread's allocations (the
//! writer and notifier threads have their own), after a warm-up that fills the pools.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use tracing::field::Empty;
use tracing_logbook::{Env, LogFile, Mode};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every call is passed to the system allocator unchanged; the count is a
// const-initialized thread-local without a destructor, so counting never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

const RUNS: u64 = 2_000;

/// Allocations per run of `work` on this thread, after `RUNS` runs of warm-up.
fn per_run(work: impl Fn(u64)) -> f64 {
    for i in 0..RUNS {
        work(i);
    }
    let before = allocations();
    for i in 0..RUNS {
        work(i);
    }
    (allocations() - before) as f64 / RUNS as f64
}

fn request_life(i: u64) {
    let span = tracing::info_span!(
        "request",
        method = "GET",
        url = "/items/7",
        request_id = i,
        route = "/items/{id}",
        client.address = "127.0.0.1",
        user_agent = "curl/8.0",
        server.address = "localhost:3000",
        status = Empty,
        latency_ms = Empty,
        user.id = Empty,
    );
    let _entered = span.enter();
    span.record("user.id", "ann");
    tracing::info!(items = 3, "listed");
    span.record("status", 200u64);
}

fn check(notifier: bool) {
    let dir = tempfile::tempdir().unwrap();
    let mut env = Env::new(Mode::Production)
        .log_file(LogFile::Path(dir.path().join("app.log")))
        .notify_spool(None);
    if notifier {
        // Nothing here is an error: nothing is sent.
        env = env.notifier(
            tracing_logbook::notify::NotifyConfig::rollbar("0123456789abcdef0123456789abcdef")
                .endpoint("http://127.0.0.1:9/api/1/item/"),
        );
    }
    let (dispatch, guard) = tracing_logbook::build(env).unwrap();
    let (plain, inside, life) = tracing::dispatcher::with_default(&dispatch, || {
        let plain = per_run(|i| tracing::info!(user = "ann", i, "request handled"));
        let span = tracing::info_span!("request", request_id = 7u64, route = "/items/{id}");
        let inside = span.in_scope(|| per_run(|i| tracing::info!(i, "in a request")));
        drop(span);
        let life = per_run(request_life);
        (plain, inside, life)
    });
    assert!(guard.flush(Duration::from_secs(30)));
    // Rare growth of a reused buffer (a longer number) is allowed for; a per-event
    // allocation is not.
    assert!(plain < 0.01, "{plain} allocations per plain event");
    assert!(inside < 0.01, "{inside} allocations per event in a span");
    assert!(
        life < 1.01,
        "{life} allocations per request span's life (1 is the registry's box)"
    );
}

#[test]
fn the_file_path_allocates_nothing_of_ours() {
    check(false);
}

#[cfg(feature = "http-client")]
#[test]
fn with_the_notifier_on_a_span_life_allocates_nothing_of_ours() {
    check(true);
}
