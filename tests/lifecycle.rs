//! Flush and shutdown of every background part are bounded and never panic, whatever
//! the timeout (`Duration::MAX` included), and `Guard::flush` flushes every part even
//! when one of them is too slow.
//!
//! The process lifecycle (a signal under load, `fork()` after `init`, a panic hook that
//! calls `exit`) runs in child processes: this test binary re-executed with a scenario.

#![allow(clippy::print_stdout)] // the child scenarios report to the parent through stdout

use std::time::Duration;

use tracing_logbook::syslog::SyslogLayer;
use tracing_logbook::{DailyFile, LineWriter};

#[test]
fn huge_timeouts_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let file = DailyFile::builder(dir.path().join("app.log"))
        .build()
        .unwrap();
    file.write_line(
        time::macros::datetime!(2026-11-23 10:00 UTC),
        b"[2026-11-23 10:00:00.000000] INFO: app: hello\n",
    );
    assert!(file.flush(Duration::MAX));
    assert!(file.shutdown(Duration::MAX));

    let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let url = format!("udp://{}", server.local_addr().unwrap());
    let (_layer, handle) = SyslogLayer::builder(&url).unwrap().build().unwrap();
    assert!(handle.flush(Duration::MAX));
    assert!(handle.shutdown(Duration::MAX));
    assert_eq!(handle.counts().written, 0);

    let (_layer, notifier) = tracing_logbook::notify::NotifyConfig::rollbar("token")
        .build_with_transport(|_: &tracing_logbook::notify::Request<'_>| {
            Ok(tracing_logbook::notify::Response::status(200))
        });
    assert!(notifier.flush(Duration::MAX));
    assert!(notifier.shutdown(Duration::MAX));
}

/// A Rollbar endpoint that accepts connections and never answers.
#[cfg(feature = "http-client")]
fn hanging_endpoint() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api/1/item/", listener.local_addr().unwrap());
    (listener, url)
}

#[cfg(feature = "http-client")]
use tracing_logbook_test_support as support;

/// With Rollbar's endpoint hanging, `Guard::flush` returns false by its timeout, the
/// Sentry notifier beside it has delivered, the file has every line, and dropping the
/// guard stays within SHUTDOWN_TIMEOUT. (That every part is flushed even after one
/// timed out is proved in `lifecycle.rs`'s unit tests, where the parts can be slow on
/// purpose.)
#[cfg(feature = "http-client")]
#[test]
fn a_hanging_tracker_bounds_the_guard_and_spares_the_others() {
    let said = tracing_logbook::testing::capture_diagnostics();
    use std::time::Instant;
    use tracing_logbook::notify::{Dsn, NotifyConfig};
    use tracing_logbook::{Env, LogFile, Mode};
    let dir = tempfile::tempdir().unwrap();
    let (_listener, url) = hanging_endpoint();
    let rollbar = NotifyConfig::rollbar("token")
        .endpoint(url)
        .request_timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(30));
    let sentry_server = support::server::Server::start(Vec::new());
    let dsn = Dsn::parse(&format!("http://0123abcd@{}/7", sentry_server.addr())).unwrap();
    let env = Env::new(Mode::Production)
        .log_file(LogFile::Path(dir.path().join("app.log")))
        .notifier(rollbar)
        .notifier(NotifyConfig::sentry(dsn));
    let (dispatch, guard) = tracing_logbook::build(env).unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::error!("the database is down");
        for i in 0..100 {
            tracing::info!(i, "after the error");
        }
    });
    let started = Instant::now();
    assert!(
        !guard.flush(Duration::from_secs(2)),
        "Rollbar cannot deliver"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        guard
            .notifier(tracing_logbook::notify::Destination::Rollbar)
            .unwrap()
            .stats()
            .pending
            > 0
    );
    // Sentry's item was delivered within the same flush.
    assert_eq!(
        guard
            .notifier(tracing_logbook::notify::Destination::Sentry)
            .unwrap()
            .stats()
            .sent,
        1
    );
    assert_eq!(sentry_server.requests().len(), 1);
    assert_eq!(guard.file().unwrap().failed_lines(), 0);
    // Dropping the guard is bounded too (SHUTDOWN_TIMEOUT), against the hanging server.
    let started = Instant::now();
    drop(guard);
    assert!(started.elapsed() < tracing_logbook::SHUTDOWN_TIMEOUT + Duration::from_secs(2));
    said.assert_said("not delivered within the shutdown deadline");
}

#[cfg(feature = "http-client")]
const PANIC_CHILD: &str = "TRACING_LOGBOOK_LIFECYCLE_PANIC_ENDPOINT";

/// Runs in the child process only: `init` with a hanging Rollbar, then a panic that
/// unwinds through the guard.
#[cfg(feature = "http-client")]
#[test]
fn panic_child_with_a_hanging_tracker() {
    let Ok(endpoint) = std::env::var(PANIC_CHILD) else {
        return;
    };
    use tracing_logbook::notify::NotifyConfig;
    use tracing_logbook::{Env, LogFile, Mode};
    let dir = tempfile::tempdir().unwrap();
    let env = Env::new(Mode::Production)
        .log_file(LogFile::Path(dir.path().join("app.log")))
        .notifier(
            // The request would hang longer than any deadline.
            NotifyConfig::rollbar("token")
                .endpoint(endpoint)
                .request_timeout(Duration::from_secs(60)),
        );
    let _guard = tracing_logbook::init(env).unwrap();
    panic!("the tracker hangs");
}

/// A panic with a hung tracker: the hook's flush and the guard's shutdown share one
/// SHUTDOWN_TIMEOUT (the shutdown gets what the flush left), instead of 3 s + 5 s.
#[cfg(feature = "http-client")]
#[test]
fn a_panic_with_a_hung_tracker_exits_within_the_shutdown_timeout() {
    use std::time::Instant;
    let (_listener, url) = hanging_endpoint();
    let started = Instant::now();
    let out = ChildRun::test("panic_child_with_a_hanging_tracker")
        .env(PANIC_CHILD, url)
        .env("RUST_BACKTRACE", "0")
        .run();
    let elapsed = started.elapsed();
    let stderr = out.stderr.as_str();
    assert!(!out.status.success(), "{stderr}");
    // The panic hook's flush, the guard's flush as the panic unwinds through it and the
    // at-exit flush share one SHUTDOWN_TIMEOUT. The panic unwinds, so the hook's flush
    // loses nothing yet and says nothing; the process's end says what it lost.
    assert!(!stderr.contains("by the panic hook's flush"), "{stderr}");
    assert!(
        stderr.contains("at exit: 1 error notification not delivered within the shutdown deadline"),
        "{stderr}"
    );
    // Process start and the test harness included.
    assert!(
        elapsed < tracing_logbook::SHUTDOWN_TIMEOUT + Duration::from_secs(2),
        "{elapsed:?}"
    );
}

use tracing_logbook_test_support::child::ChildRun;
use tracing_logbook_test_support::working;

/// The scenario a child process runs (`LIFECYCLE_CHILD=<scenario>`).
const CHILD: &str = "TRACING_LOGBOOK_LIFECYCLE_CHILD";

/// Runs in child processes only: the scenarios of the process-lifecycle tests below.
#[test]
fn child() {
    let Ok(scenario) = std::env::var(CHILD) else {
        return; // not a child
    };
    match scenario.as_str() {
        #[cfg(unix)]
        "loaded" => loaded_child(),
        #[cfg(unix)]
        "fork" => fork_child(),
        #[cfg(feature = "http-client")]
        "panic_exit" => panic_exit_child(),
        other => panic!("unknown scenario {other}"),
    }
}

/// The child that runs `scenario`, in production with its daily file in `dir`.
fn scenario_child(scenario: &str, dir: &std::path::Path) -> ChildRun {
    ChildRun::test("child")
        .env(CHILD, scenario)
        .env("APP_ENV", "production")
        .env("LOG_FILE", dir.join("app.log"))
        .env("RUST_BACKTRACE", "0")
        .env_removes([
            "RUST_LOG",
            "LOG_FLUSH_ON_SIGNALS",
            "LOG_SYSLOG",
            "ROLLBAR_ACCESS_TOKEN",
            "SENTRY_DSN",
        ])
}

/// Four threads log `working t=T i=N` as fast as they can until the signal ends the
/// process; `READY` is printed once each has logged.
#[cfg(unix)]
fn loaded_child() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let _guard = tracing_logbook::init(tracing_logbook::Env::from_env().unwrap()).unwrap();
    let started = std::sync::Arc::new(AtomicUsize::new(0));
    for t in 0..4u32 {
        let started = started.clone();
        std::thread::spawn(move || {
            for i in 0..20_000_000u64 {
                tracing::info!(target: "App", t, i, "working");
                if i == 100 {
                    started.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
    }
    while started.load(Ordering::SeqCst) < 4 {
        std::thread::sleep(Duration::from_millis(1));
    }
    println!("{}", working::READY);
    // Until the signal ends the process (bounded all the same).
    std::thread::sleep(Duration::from_secs(60));
}

/// With `LOG_FLUSH_ON_SIGNALS`, SIGTERM to a process whose threads keep logging: the
/// NOTICE is the file's last line, the file ends in a whole record, every line is
/// whole, and each thread's lines are 0, 1, 2, ... up to where the door closed (the
/// later ones dropped, none half-written). Several runs: the race is timing-dependent.
#[cfg(unix)]
#[test]
fn sigterm_under_load_ends_the_file_with_the_notice_and_whole_records() {
    use std::os::unix::process::ExitStatusExt;
    const NOTICE: &str =
        "NOTICE: tracing-logbook: received SIGTERM: flushing the log, then exiting";
    for run in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let child = scenario_child("loaded", dir.path()).env("LOG_FLUSH_ON_SIGNALS", "1");
        let status = working::signal_when(&child, working::READY, libc::SIGTERM);
        assert_eq!(
            status.signal(),
            Some(libc::SIGTERM),
            "run {run}: {status:?}"
        );
        let text = working::log_text(dir.path());
        let tail = &text[text.len().saturating_sub(400)..];
        assert!(text.ends_with('\n'), "run {run}: torn end: {tail:?}");
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines.last().is_some_and(|l| l.ends_with(NOTICE)),
            "run {run}: the NOTICE is not last: {tail}"
        );
        let mut next = [0u64; 4];
        for line in &lines {
            let Some((stamp, rest)) = line.split_once("] ") else {
                panic!("run {run}: not a whole record: {line:?}");
            };
            assert!(
                stamp.len() == 27 && stamp.starts_with('['),
                "run {run}: not a whole record: {line:?}"
            );
            if rest == NOTICE {
                continue;
            }
            let fields = rest
                .strip_prefix("INFO: App: working t=")
                .and_then(|f| f.split_once(" i="))
                .and_then(|(t, i)| Some((t.parse::<usize>().ok()?, i.parse::<u64>().ok()?)));
            let Some((t, i)) = fields else {
                panic!("run {run}: not a whole record: {line:?}");
            };
            assert_eq!(i, next[t], "run {run}: thread {t} skipped a line: {line:?}");
            next[t] += 1;
        }
        assert!(next.iter().all(|&n| n > 100), "run {run}: {next:?}");
    }
}

/// How many children the fork scenario forks, and how long each may take to exit.
#[cfg(unix)]
const FORKS: usize = 20;
#[cfg(unix)]
const CHILD_EXIT_LIMIT: Duration = Duration::from_secs(2);

/// `init` (file and syslog), four threads logging, then `FORKS` forks whose children log
/// a few lines (an error among them) and `exit`. Each child is waited for at most
/// `CHILD_EXIT_LIMIT` (killed after); prints `FORKED hung=H slowest_ms=M`.
#[cfg(unix)]
fn fork_child() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Instant;
    let syslog = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let env = tracing_logbook::Env::from_env()
        .unwrap()
        .syslog(format!("udp://{}", syslog.local_addr().unwrap()))
        .unwrap();
    let guard = tracing_logbook::init(env).unwrap();
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..4u32)
        .map(|t| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) && i < 50_000_000 {
                    tracing::info!(target: "App", t, i, "working");
                    i += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(50));
    let mut hung = 0;
    let mut slowest = Duration::ZERO;
    for n in 0..FORKS {
        // SAFETY: fork(2); the child only logs and exits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            for i in 0..10 {
                tracing::info!(target: "App", n, i, "from the child");
            }
            tracing::error!(target: "App", n, "an error in the child");
            std::process::exit(0);
        }
        let started = Instant::now();
        let mut status = 0;
        loop {
            // SAFETY: waitpid(2) on our own child.
            let done = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            if done == pid {
                slowest = slowest.max(started.elapsed());
                break;
            }
            if started.elapsed() > CHILD_EXIT_LIMIT {
                hung += 1;
                // SAFETY: kill(2) and waitpid(2) on our own child.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                    libc::waitpid(pid, &mut status, 0);
                }
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        thread.join().unwrap();
    }
    println!("FORKED hung={hung} slowest_ms={}", slowest.as_millis());
    drop(guard);
}

/// `fork()` after `init` while other threads log: no child deadlocks on a lock
/// inherited locked, and none waits for a writer thread it does not have: each exits
/// at once. Their lines are dropped (none in the parent's file), which the first one
/// says on stderr; the parent's own file is whole.
#[cfg(unix)]
#[test]
fn forked_children_never_hang_and_exit_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let limit = CHILD_EXIT_LIMIT * FORKS as u32 + Duration::from_secs(30);
    let out = scenario_child("fork", dir.path()).deadline(limit).run();
    let (stdout, stderr) = (out.stdout.as_str(), out.stderr.as_str());
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let report = stdout
        .lines()
        .find_map(|l| l.split_once("FORKED ").map(|(_, r)| r.to_owned()))
        .unwrap_or_else(|| panic!("no report: {stdout}\n{stderr}"));
    assert!(report.starts_with("hung=0 "), "{report}\n{stderr}");
    let slowest: u64 = report.split("slowest_ms=").nth(1).unwrap().parse().unwrap();
    assert!(slowest < 1000, "a child took {slowest} ms to exit");
    assert!(
        stderr.contains("this process was forked after tracing_logbook::init"),
        "{stderr}"
    );
    let text = working::log_text(dir.path());
    assert!(text.ends_with('\n'));
    assert!(text.contains("INFO: App: working t=0 i=0"));
    assert!(!text.contains("from the child"));
    assert!(!text.contains("an error in the child"));
}

/// `init` with a Rollbar that never answers, a panic hook of the program's own that
/// calls `std::process::exit` after ours, and a panic.
#[cfg(feature = "http-client")]
fn panic_exit_child() {
    use tracing_logbook::notify::NotifyConfig;
    let endpoint = std::env::var(PANIC_CHILD).unwrap();
    let env = tracing_logbook::Env::from_env().unwrap().notifier(
        NotifyConfig::rollbar("token")
            .endpoint(endpoint)
            .request_timeout(Duration::from_secs(60)),
    );
    let _guard = tracing_logbook::init(env).unwrap();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        previous(info);
        std::process::exit(3);
    }));
    tracing::error!(target: "App", "the database is down");
    panic!("the tracker hangs");
}

/// The panic hook's flush and the at-exit flush (a panic hook that calls `exit`) share
/// one deadline: the process ends within SHUTDOWN_TIMEOUT in all against a hung tracker
/// (not 3 s + 5 s), and the at-exit path says what it could not deliver.
#[cfg(feature = "http-client")]
#[test]
fn a_panic_hook_that_exits_shares_the_shutdown_deadline_with_the_at_exit_flush() {
    use std::time::Instant;
    let dir = tempfile::tempdir().unwrap();
    let (_listener, url) = hanging_endpoint();
    let started = Instant::now();
    let out = scenario_child("panic_exit", dir.path())
        .env(PANIC_CHILD, url)
        .run();
    let elapsed = started.elapsed();
    let stderr = out.stderr.as_str();
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    // Process start and the test harness included.
    assert!(
        elapsed < tracing_logbook::SHUTDOWN_TIMEOUT + Duration::from_millis(1500),
        "{elapsed:?}: {stderr}"
    );
    // The at-exit flush says what is lost: the error and the panic (the panic's own
    // flush, which lost nothing yet, says nothing).
    assert!(!stderr.contains("by the panic hook's flush"), "{stderr}");
    assert!(
        stderr.contains(
            "at exit: 2 error notifications not delivered within the shutdown deadline: lost"
        ),
        "{stderr}"
    );
    let text = working::log_text(dir.path());
    assert!(text.contains("CRITICAL: panic: thread"), "{text}");
}

#[cfg(feature = "http-client")]
const WORKER_PANIC_CHILD: &str = "TRACING_LOGBOOK_LIFECYCLE_WORKER_PANIC_ENDPOINT";

/// Runs in the child process only: a web worker's caught panic with a hanging tracker.
#[cfg(feature = "http-client")]
#[test]
fn worker_panic_child_with_a_hanging_tracker() {
    let Ok(endpoint) = std::env::var(WORKER_PANIC_CHILD) else {
        return;
    };
    use std::time::Instant;
    use tracing_logbook::notify::NotifyConfig;
    use tracing_logbook::{Env, LogFile, Mode};
    let dir = tempfile::tempdir().unwrap();
    let env = Env::new(Mode::Production)
        .log_file(LogFile::Path(dir.path().join("app.log")))
        .notify_spool(None)
        .notifier(
            NotifyConfig::rollbar("token")
                .endpoint(endpoint)
                .request_timeout(Duration::from_secs(60)),
        );
    let _guard = tracing_logbook::init(env).unwrap();
    let started = Instant::now();
    // A framework's worker catches the panic and serves the next request.
    let worker = std::thread::Builder::new()
        .name("tokio-runtime-worker".into())
        .spawn(|| std::panic::catch_unwind(|| panic!("handler bug")).is_err())
        .unwrap();
    assert!(worker.join().unwrap());
    println!("WORKER_HELD_MS {}", started.elapsed().as_millis());
}

/// A panic caught on a worker thread (a handler's, answered 500) holds the worker for
/// PANIC_FLUSH_OFF_MAIN at most, even with a tracker that hangs (it was 3 s).
#[cfg(feature = "http-client")]
#[test]
fn a_caught_panic_on_a_worker_thread_holds_it_briefly() {
    let (_listener, url) = hanging_endpoint();
    let out = ChildRun::test("worker_panic_child_with_a_hanging_tracker")
        .env(WORKER_PANIC_CHILD, url)
        .env("RUST_BACKTRACE", "0")
        .run();
    let stdout = out.stdout.as_str();
    let held: u64 = stdout
        .split("WORKER_HELD_MS ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|ms| ms.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    let bound = tracing_logbook::panic::PANIC_FLUSH_OFF_MAIN.as_millis() as u64;
    // The bound, plus the panic's own work (a backtrace capture) on a loaded machine.
    assert!(held < bound + 1500, "held the worker {held} ms");
    // The caught panic lost nothing (the notifier goes on trying): no alarm about it.
    assert!(
        !out.stderr.contains("by the panic hook's flush"),
        "{}",
        out.stderr
    );
}
