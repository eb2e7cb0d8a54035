//! The daily file against file systems that misbehave: a real full disk (a small
//! tmpfs) must never leave torn records, and a file system that stops answering (a FIFO
//! nobody opens, or nobody reads) must never hold the logging threads hostage.
//!
//! The tmpfs test needs to mount (root); without that it says so loudly on stderr and
//! passes without checking anything. The same whole-record property is checked without
//! root by the unit tests in `src/file/mod.rs`, through a fault-injection seam.

#![cfg(unix)]

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use time::macros::datetime;
use tracing_logbook::{DailyFile, LineWriter};

/// A bound for things that must not hang; no test comes near it unless it hangs.
const WAIT: Duration = Duration::from_secs(30);

/// Says loudly, on the process's stderr (the harness captures `eprintln!` of a passing
/// test), that a test checked nothing.
fn skip(test: &str, why: &str) {
    let _ = writeln!(
        std::io::stderr().lock(),
        "\n*** SKIPPED {test}: {why} ***\n"
    );
}

/// `[2026-11-23 10:00:00.000000] INFO: x: t=<t> i=<i> pad=<pad>`.
fn record(t: usize, i: usize, pad: usize) -> String {
    format!(
        "[2026-11-23 10:00:00.000000] INFO: x: t={t} i={i} pad={}\n",
        "p".repeat(pad)
    )
}

fn write(file: &DailyFile, t: usize, i: usize, pad: usize) {
    file.write_line(
        datetime!(2026-11-23 10:00 UTC),
        record(t, i, pad).as_bytes(),
    );
}

/// Checks that every line of `text` is a whole record or a drop notice; returns the
/// records' (t, i) and the total the notices announce.
fn parse(text: &str, pad: usize) -> (Vec<(usize, usize)>, u64) {
    assert!(text.is_empty() || text.ends_with('\n'), "ends torn");
    let mut records = Vec::new();
    let mut announced = 0;
    for line in text.lines() {
        if let Some(n) = line
            .strip_prefix("[2026-11-23 10:00:00.000000] WARNING: tracing-logbook: ")
            .and_then(|rest| rest.strip_suffix(" lines dropped"))
        {
            announced += n.parse::<u64>().unwrap();
            continue;
        }
        let parsed = line
            .strip_prefix("[2026-11-23 10:00:00.000000] INFO: x: t=")
            .and_then(|rest| rest.split_once(" i="))
            .and_then(|(t, rest)| Some((t, rest.split_once(" pad=")?)))
            .filter(|(_, (_, p))| p.len() == pad && p.bytes().all(|b| b == b'p'))
            .and_then(|(t, (i, _))| Some((t.parse().ok()?, i.parse().ok()?)));
        match parsed {
            Some(r) => records.push(r),
            None => panic!("torn record: {:?}", &line[..line.len().min(120)]),
        }
    }
    (records, announced)
}

/// A tmpfs mounted for the test, unmounted when it ends.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .ok()?;
        out.status.success().then(|| Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).output();
    }
}

#[test]
fn a_full_disk_never_leaves_a_torn_record() {
    const PAD: usize = 100;
    let dir = tempfile::tempdir().unwrap();
    let Some(fs) = Tmpfs::mount(&dir.path().join("mnt"), "64k") else {
        skip(
            "a_full_disk_never_leaves_a_torn_record",
            "cannot mount a tmpfs (not root?)",
        );
        return;
    };
    let filler = fs.0.join("filler");
    std::fs::write(&filler, vec![b'f'; 16 * 1024]).unwrap();
    let file = DailyFile::builder(fs.0.join("app.log"))
        .max_files(0)
        .build()
        .unwrap();
    // Batches of ten records until well after the disk is full: some batch is cut by
    // the end of the space in the middle of a record.
    let mut handed = 0;
    let mut after_full = 0;
    while after_full < 50 {
        assert!(handed < 5_000, "the disk never filled");
        for _ in 0..10 {
            write(&file, 0, handed, PAD);
            handed += 1;
        }
        assert!(file.flush(WAIT));
        if file.failed_lines() > 0 {
            after_full += 1;
        }
    }
    std::fs::remove_file(&filler).unwrap();
    for _ in 0..20 {
        write(&file, 0, handed, PAD);
        handed += 1;
    }
    assert!(file.flush(WAIT));
    assert!(file.shutdown(WAIT));
    let text = std::fs::read_to_string(fs.0.join("app-2026-11-23.log")).unwrap();
    let (records, announced) = parse(&text, PAD);
    assert_eq!(announced, 0);
    assert_eq!(records.len() as u64, file.written_lines());
    assert_eq!(
        file.written_lines() + file.failed_lines(),
        handed as u64,
        "every record is written or counted as failed"
    );
    assert!(file.failed_lines() > 0);
    // In order, none twice, and the ones after the space came back are all there.
    assert!(records.windows(2).all(|w| w[0].1 < w[1].1));
    let tail: Vec<usize> = records[records.len() - 20..].iter().map(|r| r.1).collect();
    assert_eq!(tail, (handed - 20..handed).collect::<Vec<_>>());
}

#[test]
fn a_reopened_file_without_a_final_newline_gets_one_before_the_next_record() {
    let dir = tempfile::tempdir().unwrap();
    let dated = dir.path().join("app-2026-11-23.log");
    // A crash in the middle of a write left half a record.
    let half = &record(0, 0, 10)[..30];
    std::fs::write(&dated, half).unwrap();
    let file = DailyFile::builder(dir.path().join("app.log"))
        .build()
        .unwrap();
    write(&file, 0, 1, 10);
    write(&file, 0, 2, 10);
    assert!(file.shutdown(WAIT));
    assert_eq!(
        std::fs::read_to_string(&dated).unwrap(),
        format!("{half}\n{}{}", record(0, 1, 10), record(0, 2, 10))
    );
}

fn mkfifo(path: &Path) -> bool {
    Command::new("mkfifo")
        .arg(path)
        .status()
        .is_ok_and(|s| s.success())
}

/// Logs `lines` records from each of `threads` threads; returns how long that took.
fn hammer(file: &DailyFile, threads: usize, lines: usize, pad: usize) -> Duration {
    let started = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            s.spawn(move || {
                for i in 0..lines {
                    write(file, t, i, pad);
                }
            });
        }
    });
    started.elapsed()
}

/// Reads the FIFO to its end on a thread, once `go` says so; the content comes back on
/// the returned channel. Opening blocks until the writer opens its end.
fn reader(fifo: PathBuf, go: mpsc::Receiver<()>) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let Ok(mut f) = std::fs::File::open(&fifo) else {
            return;
        };
        if go.recv_timeout(Duration::from_secs(120)).is_err() {
            return;
        }
        let mut text = String::new();
        let _ = f.read_to_string(&mut text);
        let _ = tx.send(text);
    });
    rx
}

/// The writer is stuck in `open` (a FIFO nobody reads: a hung file system). With a
/// 1 s `max_wait`, 3 threads × 100 records would take 100 s if every caller waited
/// the bound; once one caller found the writer stalled, the others drop at once.
/// Shutdown stays bounded; once the FIFO is read, the writer finishes and nothing is
/// left behind.
#[test]
fn a_stuck_open_never_holds_the_callers() {
    if std::env::var_os("FILE_FAULTS_CHILD").is_some() {
        stuck_open_scenario();
        return;
    }
    // In a child process, to see its diagnostics.
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_stuck_open_never_holds_the_callers",
            "--test-threads=1",
            "--nocapture",
        ])
        .env("FILE_FAULTS_CHILD", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{}\n{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    if stderr.contains("*** SKIPPED") {
        return;
    }
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("[tracing-logbook]"))
        .collect();
    let count = |what: &str| ours.iter().filter(|l| l.contains(what)).count();
    assert_eq!(count("made no progress for 1s"), 1, "{stderr}");
    assert_eq!(count("did not finish within 500ms"), 1, "{stderr}");
    assert_eq!(count("makes progress again"), 1, "{stderr}");
}

fn stuck_open_scenario() {
    const PAD: usize = 20;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("app-2026-11-23.log");
    if !mkfifo(&fifo) {
        skip("a_stuck_open_never_holds_the_callers", "mkfifo failed");
        return;
    }
    let file = DailyFile::builder(dir.path().join("app.log"))
        .buffer_lines(8)
        .max_wait(Duration::from_secs(1))
        .build()
        .unwrap();
    let took = hammer(&file, 3, 100, PAD);
    assert!(took < WAIT, "the callers were held for {took:?}");
    let dropped = file.dropped_lines();
    assert!(dropped > 0);
    let started = Instant::now();
    assert!(!file.shutdown(Duration::from_millis(500)));
    assert!(started.elapsed() < WAIT);

    // Unblock the writer: it writes what it holds and ends.
    let (go, wait_go) = mpsc::channel();
    let text = reader(fifo, wait_go);
    go.send(()).unwrap();
    let text = text.recv_timeout(WAIT).expect("the writer never finished");
    assert!(file.shutdown(WAIT), "the writer thread is gone");
    let (records, announced) = parse(&text, PAD);
    assert_eq!(records.len() as u64, file.written_lines());
    assert_eq!(file.written_lines() + dropped, 300);
    assert_eq!(announced, dropped, "the drops are announced in the log");
}

/// The writer is stuck in `write` (a reader that stopped reading). Same bound.
#[test]
fn a_stuck_write_never_holds_the_callers() {
    const PAD: usize = 1000;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("app-2026-11-23.log");
    if !mkfifo(&fifo) {
        skip("a_stuck_write_never_holds_the_callers", "mkfifo failed");
        return;
    }
    let (go, wait_go) = mpsc::channel();
    let text = reader(fifo, wait_go);
    let file = DailyFile::builder(dir.path().join("app.log"))
        .buffer_lines(8)
        .max_wait(Duration::from_secs(1))
        .build()
        .unwrap();
    // 600 KB: far more than the pipe (64 KiB) and the buffer hold.
    let took = hammer(&file, 3, 200, PAD);
    assert!(took < WAIT, "the callers were held for {took:?}");
    let dropped = file.dropped_lines();
    assert!(dropped > 0);
    let started = Instant::now();
    assert!(!file.shutdown(Duration::from_millis(500)));
    assert!(started.elapsed() < WAIT);

    go.send(()).unwrap();
    let text = text.recv_timeout(WAIT).expect("the writer never finished");
    assert!(file.shutdown(WAIT), "the writer thread is gone");
    let (records, announced) = parse(&text, PAD);
    assert_eq!(records.len() as u64, file.written_lines());
    assert_eq!(file.written_lines() + dropped, 600);
    assert_eq!(announced, dropped);
}
