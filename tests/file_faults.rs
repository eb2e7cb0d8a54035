//! The daily file against file systems that misbehave and directories others write
//! to: a real full disk (a small tmpfs) must never leave torn records, a full inode
//! table must not stop a program whose file of the day exists, an `open` that does not
//! return (a file lease being broken) must never hold the logging threads hostage, and
//! links, FIFOs and devices planted at the log's names are never followed, written,
//! read, compressed or deleted.
//!
//! The tmpfs tests need to mount (root); without that they say so loudly on stderr and
//! pass without checking anything. The same whole-record property is checked without
//! root by the unit tests in `src/file/mod.rs`, through a fault-injection seam.

#![cfg(unix)]

use std::ffi::{OsStr, OsString};
use std::io::Write as _;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::{symlink, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use time::macros::datetime;
use time::OffsetDateTime;
use tracing_logbook::{Compression, DailyFile, LineWriter};
use tracing_logbook_test_support::child::ChildRun;

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
    /// Mounts a tmpfs with `options` (`size=64k`, `nr_inodes=8`) at `at`.
    fn mount(at: &Path, options: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
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
    let said = tracing_logbook::testing::capture_diagnostics();
    const PAD: usize = 100;
    let dir = tempfile::tempdir().unwrap();
    let Some(fs) = Tmpfs::mount(&dir.path().join("mnt"), "size=64k") else {
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
    said.assert_said("cannot write log lines to");
    said.assert_said("works again");
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

/// Whether this process is the child a test started with [`in_child`].
fn is_child() -> bool {
    std::env::var_os("FILE_FAULTS_CHILD").is_some()
}

/// Runs the test `name` of this binary again in a child process, with `vars` set (and
/// `FILE_FAULTS_CHILD`), to see its diagnostics or to change what is process-wide (the
/// umask, the environment, signal dispositions). Fails if the child fails or takes
/// longer than 60 s; returns its stderr.
fn in_child(name: &str, vars: &[(&str, &OsStr)]) -> String {
    let out = ChildRun::test(name)
        .env("FILE_FAULTS_CHILD", "1")
        .envs(vars.iter().copied())
        .run();
    assert!(out.status.success(), "{out}");
    out.stderr
}

/// The diagnostics among `stderr`'s lines.
fn diagnostics(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("[tracing-logbook]"))
        .collect()
}

/// The writer is stuck in `open`: another program holds a lease on the file (as a file
/// server does), and `open` waits for it to be broken. With a 1 s `max_wait`,
/// 3 threads × 100 records would take 100 s if every caller waited the bound; once one
/// caller found the writer stalled, the others drop at once. Shutdown stays bounded;
/// once the lease is given up, the writer finishes and nothing is left behind.
#[test]
fn a_stuck_open_never_holds_the_callers() {
    if is_child() {
        stuck_open_scenario();
        return;
    }
    // In a child process, to see its diagnostics (and to ignore SIGIO there).
    let stderr = in_child("a_stuck_open_never_holds_the_callers", &[]);
    if stderr.contains("*** SKIPPED") {
        return;
    }
    let ours = diagnostics(&stderr);
    let count = |what: &str| ours.iter().filter(|l| l.contains(what)).count();
    assert_eq!(count("made no progress for 1s"), 1, "{stderr}");
    assert_eq!(count("did not finish within 500ms"), 1, "{stderr}");
    assert_eq!(count("makes progress again"), 1, "{stderr}");
}

#[cfg(target_os = "linux")]
fn stuck_open_scenario() {
    use std::os::unix::io::AsRawFd as _;
    const PAD: usize = 20;
    let dir = tempfile::tempdir().unwrap();
    let dated = dir.path().join("app-2026-11-23.log");
    std::fs::write(&dated, "").unwrap();
    // A read lease: an `open` for writing waits until it is given up (or for
    // /proc/sys/fs/lease-break-time, 45 s by default). The holder is told by SIGIO,
    // which would end this process.
    let holder = std::fs::File::open(&dated).unwrap();
    // SAFETY: setting a signal's disposition to ignore; a lease on our own descriptor.
    let leased = unsafe {
        libc::signal(libc::SIGIO, libc::SIG_IGN);
        libc::fcntl(holder.as_raw_fd(), libc::F_SETLEASE, libc::F_RDLCK)
    };
    if leased != 0 {
        skip(
            "a_stuck_open_never_holds_the_callers",
            &format!("no file lease: {}", std::io::Error::last_os_error()),
        );
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
    drop(holder);
    assert!(file.shutdown(WAIT), "the writer never finished");
    let text = std::fs::read_to_string(&dated).unwrap();
    let (records, announced) = parse(&text, PAD);
    assert_eq!(records.len() as u64, file.written_lines());
    assert_eq!(file.written_lines() + dropped, 300);
    assert_eq!(announced, dropped, "the drops are announced in the log");
}

#[cfg(not(target_os = "linux"))]
fn stuck_open_scenario() {
    skip(
        "a_stuck_open_never_holds_the_callers",
        "file leases are Linux's",
    );
}

/// A FIFO at a dated name (planted, or a leftover) is neither written nor waited on:
/// before, the writer opened it and stalled until someone read it, or wrote the log
/// into whoever did. Its lines are counted as failed, and the FIFO stays.
#[test]
fn a_fifo_at_a_dated_name_is_never_written_nor_waited_on() {
    let said = tracing_logbook::testing::capture_diagnostics();
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("app-2026-11-23.log");
    if !mkfifo(&fifo) {
        skip(
            "a_fifo_at_a_dated_name_is_never_written_nor_waited_on",
            "mkfifo failed",
        );
        return;
    }
    let file = DailyFile::builder(dir.path().join("app.log"))
        .max_wait(Duration::from_secs(1))
        .build()
        .unwrap();
    for i in 0..10 {
        write(&file, 0, i, 10);
    }
    assert!(file.flush(Duration::from_secs(10)), "the writer is stuck");
    assert_eq!((file.written_lines(), file.failed_lines()), (0, 10));
    assert!(file.shutdown(WAIT));
    use std::os::unix::fs::FileTypeExt as _;
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
    said.assert_said("is not a regular file");
}

/// A file someone else owns, planted as a link's target: its content must survive.
fn victim(dir: &Path, mode: u32) -> PathBuf {
    let victim = dir.join("victim");
    std::fs::write(&victim, "root's secret\n").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(mode)).unwrap();
    victim
}

fn assert_untouched(victim: &Path, mode: u32) {
    assert_eq!(std::fs::read_to_string(victim).unwrap(), "root's secret\n");
    let meta = std::fs::metadata(victim).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, mode);
}

fn mode_of(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

/// Writes one line dated `date` 10:00 and waits for it.
fn line_on(file: &DailyFile, date: time::Date) {
    let t = date.with_hms(10, 0, 0).unwrap().assume_utc();
    file.write_line(
        t,
        format!("[{date} 10:00:00.000000] INFO: x: hi\n").as_bytes(),
    );
    assert!(file.flush(WAIT));
}

/// Waits (bounded) until `path` exists; false if it never does.
fn appears(path: &Path, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if path.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// Today's dated name planted as a link to another file: `build` refuses it, naming the
/// file; at a rollover the lines meant for it are counted as failed. The target is never
/// appended to (before, every line went into it).
#[test]
fn a_link_at_a_dated_name_is_never_appended_through() {
    let said = tracing_logbook::testing::capture_diagnostics();
    let dir = tempfile::tempdir().unwrap();
    let victim = victim(dir.path(), 0o600);
    let today = dir
        .path()
        .join(format!("app-{}.log", OffsetDateTime::now_utc().date()));
    symlink(&victim, &today).unwrap();
    let err = DailyFile::builder(dir.path().join("app.log"))
        .build()
        .unwrap_err();
    assert_eq!(err.path(), Some(today.as_path()), "{err}");
    assert!(err.to_string().contains("symbolic link"), "{err}");
    std::fs::remove_file(&today).unwrap();

    // Planted at a later day's name, reached at a rollover.
    let file = DailyFile::builder(dir.path().join("app.log"))
        .build()
        .unwrap();
    line_on(&file, time::macros::date!(2030 - 01 - 01));
    symlink(&victim, dir.path().join("app-2030-01-02.log")).unwrap();
    line_on(&file, time::macros::date!(2030 - 01 - 02));
    assert_eq!((file.written_lines(), file.failed_lines()), (1, 1));
    assert!(file.shutdown(WAIT));
    assert_untouched(&victim, 0o600);
    said.assert_said("is a symbolic link, and log files are never opened through one");
}

/// Past days with a link, a FIFO and a device planted at their names, and a link at a
/// `.gz.tmp`: the gzip pass finishes (it used to park on the FIFO and spin on
/// `/dev/zero`), never truncates or publishes the victim, compresses only the regular
/// days, and archives keep their file's mode. Retention never deletes them either. Each
/// is reported once.
#[test]
fn planted_links_fifos_and_devices_at_past_names_are_left_alone() {
    if !is_child() {
        let stderr = in_child(
            "planted_links_fifos_and_devices_at_past_names_are_left_alone",
            &[],
        );
        let ours = diagnostics(&stderr);
        // The writer reports the first planted name of its listing, once; the gzip
        // thread the `.gz.tmp` link, once.
        let about = |name: &str| ours.iter().filter(|l| l.contains(name)).count();
        assert_eq!(about("app-2020-01-01.log "), 1, "{stderr}");
        assert_eq!(about("app-2020-01-05.log is not compressed"), 1, "{stderr}");
        assert!(
            ours.iter().all(|l| !l.contains("victim")),
            "a link was followed: {stderr}"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let victim = victim(d, 0o600);
    symlink(&victim, d.join("app-2020-01-01.log")).unwrap();
    assert!(mkfifo(&d.join("app-2020-01-02.log")));
    symlink("/dev/zero", d.join("app-2020-01-03.log")).unwrap();
    // A private day, and one whose `.gz.tmp` is a link to the victim.
    std::fs::write(d.join("app-2020-01-04.log"), "private day\n").unwrap();
    std::fs::set_permissions(
        d.join("app-2020-01-04.log"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    std::fs::write(d.join("app-2020-01-05.log"), "tmp planted\n").unwrap();
    symlink(&victim, d.join("app-2020-01-05.log.gz.tmp")).unwrap();
    std::fs::write(d.join("app-2020-01-06.log"), "last\n").unwrap();
    std::fs::set_permissions(
        d.join("app-2020-01-06.log"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();

    // Three days kept: 01-05, whose `.gz.tmp` is planted, stays for the gzip thread to
    // meet (with two, retention could delete it first, and there was nothing to report).
    let file = DailyFile::builder(d.join("app.log"))
        .compression(Compression::Gzip)
        .max_files(3)
        .build()
        .unwrap();
    // Yesterday (the 7th, which has no file) stays uncompressed: the 6th is not.
    line_on(&file, time::macros::date!(2020 - 01 - 08));
    // The last day is compressed last: once its archive is there, the pass is done.
    assert!(
        appears(&d.join("app-2020-01-06.log.gz"), Duration::from_secs(20)),
        "the gzip pass never finished"
    );
    assert!(file.shutdown(WAIT));
    assert_untouched(&victim, 0o600);
    assert_eq!(mode_of(&d.join("app-2020-01-06.log.gz")), 0o640);
    // Retention (three days) removed the regular files of old days; the planted ones stay.
    let mut names: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "app-2020-01-01.log",
            "app-2020-01-02.log",
            "app-2020-01-03.log",
            "app-2020-01-05.log",
            "app-2020-01-05.log.gz.tmp",
            "app-2020-01-06.log.gz",
            "app-2020-01-08.log",
            "app.log",
            "victim",
        ]
    );
    assert!(d.join("app-2020-01-01.log").is_symlink());
    assert!(d.join("app-2020-01-05.log.gz.tmp").is_symlink());
}

/// A past day only root may read, behind a link at a dated name, is never published
/// as a `.gz` anyone can read; a private day's own archive stays private.
#[test]
fn archives_keep_their_days_mode_and_never_publish_a_link_target() {
    let said = tracing_logbook::testing::capture_diagnostics();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let victim = victim(d, 0o600);
    symlink(&victim, d.join("app-2020-01-01.log")).unwrap();
    std::fs::write(d.join("app-2020-01-02.log"), "private day\n").unwrap();
    std::fs::set_permissions(
        d.join("app-2020-01-02.log"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let file = DailyFile::builder(d.join("app.log"))
        .compression(Compression::Gzip)
        .max_files(0)
        .build()
        .unwrap();
    line_on(&file, time::macros::date!(2020 - 01 - 04));
    assert!(
        appears(&d.join("app-2020-01-02.log.gz"), Duration::from_secs(20)),
        "the gzip pass never finished"
    );
    assert!(file.shutdown(WAIT));
    assert_eq!(mode_of(&d.join("app-2020-01-02.log.gz")), 0o600);
    assert!(!d.join("app-2020-01-01.log.gz").exists());
    assert!(d.join("app-2020-01-01.log").is_symlink());
    assert_untouched(&victim, 0o600);
    said.assert_said("is not a regular file");
}

/// New log files get exactly the configured mode (0640 by default), under umask 000
/// (which used to give 0666 logs) and under umask 077 alike; through `Env` as well.
#[test]
fn new_files_get_exactly_their_mode_whatever_the_umask() {
    if !is_child() {
        in_child("new_files_get_exactly_their_mode_whatever_the_umask", &[]);
        return;
    }
    for umask in [0o000, 0o077, 0o022] {
        // SAFETY: umask(2) only sets the process's mask; this child runs one test.
        unsafe { libc::umask(umask) };
        let dir = tempfile::tempdir().unwrap();
        let file = DailyFile::builder(dir.path().join("app.log"))
            .build()
            .unwrap();
        line_on(&file, time::macros::date!(2026 - 11 - 23));
        assert_eq!(
            mode_of(&dir.path().join("app-2026-11-23.log")),
            0o640,
            "umask {umask:03o}"
        );
        let file = DailyFile::builder(dir.path().join("other.log"))
            .mode(0o604)
            .build()
            .unwrap();
        line_on(&file, time::macros::date!(2026 - 11 - 23));
        assert_eq!(
            mode_of(&dir.path().join("other-2026-11-23.log")),
            0o604,
            "umask {umask:03o}"
        );
        // An existing file keeps its mode.
        std::fs::set_permissions(
            dir.path().join("other-2026-11-23.log"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        line_on(&file, time::macros::date!(2026 - 11 - 23));
        assert_eq!(mode_of(&dir.path().join("other-2026-11-23.log")), 0o600);
    }
    let dir = tempfile::tempdir().unwrap();
    let env = tracing_logbook::Env::production()
        .log_file(tracing_logbook::LogFile::Path(dir.path().join("app.log")))
        .file_mode(0o600);
    let (dispatch, guard) = tracing_logbook::build(env).unwrap();
    tracing::dispatcher::with_default(&dispatch, || tracing::info!("hi"));
    drop(guard);
    let today = dir
        .path()
        .join(format!("app-{}.log", OffsetDateTime::now_utc().date()));
    assert_eq!(mode_of(&today), 0o600);
}

/// A `LOG_FILE` that is not UTF-8 keeps its bytes: in a directory's name, the file is
/// created there (before, under a name with U+FFFD); in the file's own name, which the
/// dated names are built from, it is an error naming the path as given.
#[test]
fn a_non_utf8_log_file_keeps_its_bytes() {
    let dir = std::env::var_os("FILE_FAULTS_DIR");
    if let (true, Some(dir)) = (is_child(), dir) {
        let raw = std::env::var_os("LOG_FILE").unwrap();
        let env = tracing_logbook::Env::from_env().unwrap();
        let built = tracing_logbook::build(env);
        assert_eq!(
            built.is_ok(),
            std::env::var_os("FILE_FAULTS_EXPECT").unwrap() == "ok"
        );
        match built {
            Ok((dispatch, guard)) => {
                assert_eq!(guard.file().unwrap().path(), Path::new(&raw));
                tracing::dispatcher::with_default(&dispatch, || tracing::info!("hi"));
                drop(guard);
                let logs = Path::new(&dir).join(OsStr::from_bytes(b"logs-\xff"));
                let today = format!("app-{}.log", OffsetDateTime::now_utc().date());
                let text = std::fs::read_to_string(logs.join(today)).unwrap();
                assert!(text.ends_with("hi\n"), "{text}");
            }
            Err(err) => {
                assert_eq!(err.path(), Some(Path::new(&raw)), "{err}");
                assert!(err.to_string().contains("not valid UTF-8"), "{err}");
            }
        }
        return;
    }
    if is_child() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut in_dir = OsString::from(dir.path());
    in_dir.push(OsStr::from_bytes(b"/logs-\xff/app.log"));
    let mut in_name = OsString::from(dir.path());
    in_name.push(OsStr::from_bytes(b"/app-\xff.log"));
    for (path, expect) in [(&in_dir, "ok"), (&in_name, "error")] {
        in_child(
            "a_non_utf8_log_file_keeps_its_bytes",
            &[
                ("APP_ENV", OsStr::new("production")),
                ("LOG_FILE", path),
                ("FILE_FAULTS_DIR", dir.path().as_os_str()),
                ("FILE_FAULTS_EXPECT", OsStr::new(expect)),
            ],
        );
    }
    // Nothing anywhere under a rewritten name.
    let names: Vec<OsString> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, [OsStr::from_bytes(b"logs-\xff")], "{names:?}");
}

/// A file system with no free inode is no `init` error while today's file exists and
/// can be appended to (before, the directory probe's ENOSPC was); with no file of the
/// day, it still is.
#[test]
fn a_full_inode_table_is_no_error_while_todays_file_can_be_appended_to() {
    let said = tracing_logbook::testing::capture_diagnostics();
    let dir = tempfile::tempdir().unwrap();
    let Some(fs) = Tmpfs::mount(&dir.path().join("mnt"), "size=1m,nr_inodes=16") else {
        skip(
            "a_full_inode_table_is_no_error_while_todays_file_can_be_appended_to",
            "cannot mount a tmpfs (not root?)",
        );
        return;
    };
    let mut fillers = Vec::new();
    for i in 0..64 {
        let path = fs.0.join(format!("filler-{i}"));
        match std::fs::File::create(&path) {
            Ok(_) => fillers.push(path),
            Err(err) if err.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(err) => panic!("{err}"),
        }
    }
    assert!(fillers.len() < 64, "the inode table never filled");
    let err = DailyFile::builder(fs.0.join("app.log"))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("No space left"), "{err}");

    // Today's file takes the last free inode.
    std::fs::remove_file(fillers.pop().unwrap()).unwrap();
    let today = OffsetDateTime::now_utc().date();
    let dated = fs.0.join(format!("app-{today}.log"));
    std::fs::write(&dated, "before\n").unwrap();
    let file = DailyFile::builder(fs.0.join("app.log")).build().unwrap();
    line_on(&file, today);
    assert!(file.shutdown(WAIT));
    assert_eq!(
        std::fs::read_to_string(&dated).unwrap(),
        format!("before\n[{today} 10:00:00.000000] INFO: x: hi\n")
    );
    said.assert_said("cannot point");
}
