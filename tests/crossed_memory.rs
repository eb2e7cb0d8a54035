//! Fingers crossed's memory bound, measured with a counting allocator: what held lines
//! keep alive (their span snapshots included) stays within `max_bytes` plus a small
//! constant. Its own test binary: the allocator counts the whole process.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use tracing_logbook::{Env, FingersCrossed, Level, LogFile, Mode};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const MIB: usize = 1 << 20;

#[test]
fn held_lines_and_their_span_snapshots_stay_within_max_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let cap = 4 * MIB;
    let env = Env::new(Mode::Production)
        .log_file(LogFile::Path(dir.path().join("app.log")))
        .fingers_crossed(Some(FingersCrossed::new(Level::Debug).max_bytes(cap)));
    let (dispatch, guard) = tracing_logbook::build(env).unwrap();
    let kilobyte = "x".repeat(1024);
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    tracing::dispatcher::with_default(&dispatch, || {
        let span = tracing::error_span!("request", data = tracing::field::Empty);
        let _in = span.enter();
        // The probe's request: 1,000 times a 1 KB `record`, then a DEBUG line. The
        // span's own fields reach 1 MB; each record copies them once (2 MB at most).
        // Before snapshots were counted, the held lines kept 500 MB alive.
        for i in 0..1000 {
            span.record("data", kilobyte.as_str());
            tracing::debug!(i, "after a record");
        }
    });
    let peak = PEAK.load(Ordering::Relaxed) - before;
    let buffered = guard.buffered().unwrap();
    drop(guard);
    assert!(buffered.dropped > 0, "{buffered:?}");
    assert!(
        peak <= cap + 4 * MIB,
        "peak {} KiB for a cap of {} KiB ({buffered:?})",
        peak / 1024,
        cap / 1024
    );
}
