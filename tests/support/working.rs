//! The numbered lines of the signal tests (`tests/init.rs` and the web example's
//! `tests/signals.rs`): a child logs `INFO: App: working i=N` until it is stopped, and
//! the parent checks that the log holds 0, 1, 2, ... with none missing.

/// What the child prints on stdout once 100 lines are handed over: the parent sends its
/// signal after reading it.
pub(crate) const READY: &str = "READY";

/// Logs `working i=N` for N = 0, 1, ... until `stop()` holds (at most 5,000,000 lines,
/// so the loop is bounded even if nothing stops it), printing [`READY`] after line 100
/// and pausing 1 ms every 50 lines.
pub(crate) fn log_until(stop: impl Fn() -> bool) {
    let mut i = 0u64;
    while !stop() && i <= 5_000_000 {
        tracing::info!(target: "App", i, "working");
        if i == 100 {
            println!("{READY}");
        }
        if i.is_multiple_of(50) {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        i += 1;
    }
}

/// The numbers of the `working` lines in `text`, in the order of the file.
pub(crate) fn numbers(text: &str) -> Vec<u64> {
    text.lines()
        .filter_map(|l| {
            l.split_once("INFO: App: working i=")
                .map(|(_, n)| n.parse().unwrap())
        })
        .collect()
}

/// Whether `numbers` is 0, 1, 2, ... with none missing, repeated or out of order.
pub(crate) fn contiguous(numbers: &[u64]) -> bool {
    numbers.iter().enumerate().all(|(i, &n)| n == i as u64)
}
