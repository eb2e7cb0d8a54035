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

/// Starts `cmd` with stdout piped and stderr dropped, waits for a stdout line that
/// contains `ready` (at most 60 s), sends it `signal`, and returns how it ended (within
/// 30 s). The child is killed if either wait runs out.
#[cfg(unix)]
pub fn signal_when(
    mut cmd: std::process::Command,
    ready: &str,
    signal: i32,
) -> std::process::ExitStatus {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::Duration;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let wanted = ready.to_owned();
    std::thread::spawn(move || {
        let mut seen = false;
        for line in out.lines() {
            let Ok(line) = line else { break };
            if !seen && line.contains(&wanted) {
                seen = true;
                let _ = ready_tx.send(true);
            }
            // Read on to the end: the child must never block on a full pipe.
        }
        let _ = ready_tx.send(false); // the child ended (or closed stdout) before it
    });
    let id = child.id() as i32;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait()).unwrap());
    let kill = || {
        // SAFETY: kill(2) on our own child's pid, which it keeps until it is waited for.
        unsafe { libc::kill(id, libc::SIGKILL) };
    };
    match ready_rx.recv_timeout(Duration::from_secs(60)) {
        Ok(true) => {}
        Ok(false) => panic!("the child ended early"),
        Err(_) => {
            kill();
            panic!("the child did not say {ready:?} within 60 s");
        }
    }
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(id, signal) }, 0);
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(status) => status.unwrap(),
        Err(_) => {
            kill();
            panic!("the child did not end within 30 s");
        }
    }
}
