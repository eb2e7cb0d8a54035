//! What the signal tests (`tests/init.rs` and the web example's `tests/signals.rs`)
//! share: a child logs `INFO: App: working i=N` until it is stopped; the parent sends
//! it a signal once it is [`READY`], waits for it, and checks that the log holds
//! 0, 1, 2, ... with none missing.

/// What the child prints on stdout once 100 lines are handed over: the parent sends its
/// signal after reading it.
pub const READY: &str = "READY";

/// Logs `working i=N` for N = 0, 1, ... until `stop()` holds (at most 5,000,000 lines,
/// so the loop is bounded even if nothing stops it), printing [`READY`] after line 100
/// and pausing 1 ms every 50 lines.
pub fn log_until(stop: impl Fn() -> bool) {
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
pub fn numbers(text: &str) -> Vec<u64> {
    text.lines()
        .filter_map(|l| {
            l.split_once("INFO: App: working i=")
                .map(|(_, n)| n.parse().unwrap())
        })
        .collect()
}

/// Whether `numbers` is 0, 1, 2, ... with none missing, repeated or out of order.
pub fn contiguous(numbers: &[u64]) -> bool {
    numbers.iter().enumerate().all(|(i, &n)| n == i as u64)
}

/// The text of the log files in `dir`, in name order; the stable link to the current
/// file is not read a second time, the notification spool's directory not at all.
pub fn log_text(dir: &std::path::Path) -> String {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.is_symlink() && p.is_file())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

/// Starts `child`, waits for a stdout line that contains `ready`, sends it `signal`,
/// and returns how it ended; all within the child's deadline (it is killed then).
#[cfg(unix)]
pub fn signal_when(
    child: &crate::child::ChildRun,
    ready: &str,
    signal: i32,
) -> std::process::ExitStatus {
    let running = child.spawn();
    if !running.wait_for_stdout(ready) {
        let out = running.wait_or_kill();
        panic!("the child ended or ran out of time before it said {ready:?}: {out}");
    }
    running.signal(signal);
    running.wait().status
}
