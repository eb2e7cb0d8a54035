//! `LOG_FLUSH_ON_SIGNALS` beside programs that handle signals themselves: the web
//! example (tokio::signal) and a program with a `ctrlc` handler. Each program runs in a
//! child process that gets a real SIGTERM.

#![cfg(unix)]
#![allow(clippy::print_stdout)] // the child reports to the parent through stdout

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use tracing_logbook_test_support::child::ChildRun;
use tracing_logbook_test_support::working;

const CHILD: &str = "SIGNALS_CHILD";

/// Sends SIGTERM to `cmd` once it printed `ready`, and returns how it ended and the
/// text of the log files in `dir`.
fn terminate_when(child: ChildRun, ready: &str, dir: &std::path::Path) -> (ExitStatus, String) {
    let status = working::signal_when(&child, ready, libc::SIGTERM);
    (status, working::log_text(dir))
}

fn web(dir: &std::path::Path, flush_on_signals: bool) -> ChildRun {
    let web = ChildRun::program(env!("CARGO_BIN_EXE_web"))
        .env("APP_ENV", "production")
        .env("LOG_FILE", dir.join("web.log"))
        .env("PORT", "0")
        .env_removes(["RUST_LOG", "ROLLBAR_ACCESS_TOKEN", "SENTRY_DSN"]);
    if flush_on_signals {
        web.env("LOG_FLUSH_ON_SIGNALS", "1")
    } else {
        web
    }
}

#[test]
fn tokio_signal_handling_alone_shuts_down_gracefully_and_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let (status, text) = terminate_when(web(dir.path(), false), "listening", dir.path());
    assert!(status.success(), "{status:?}\n{text}");
    assert!(text.contains("NOTICE: web: listening"), "{text}");
    // main returned: the guard was dropped after the last line.
    assert!(text.trim_end().ends_with("INFO: web: stopped"), "{text}");
    assert!(!text.contains("received SIGTERM"), "{text}");
}

#[test]
fn with_tokio_signal_handling_the_opt_in_flushes_whichever_handler_ends_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let (status, text) = terminate_when(web(dir.path(), true), "listening", dir.path());
    // Both handlers ran and raced: either ours ended the process as SIGTERM would,
    // after its flush, or the program's graceful shutdown finished first. The log is
    // whole either way.
    assert!(
        status.signal() == Some(libc::SIGTERM) || status.success(),
        "{status:?}\n{text}"
    );
    // Ours says so in the log; if the program's own shutdown won the race, main returned
    // and its last line is the log's last.
    let ours =
        text.contains("NOTICE: tracing-logbook: received SIGTERM: flushing the log, then exiting");
    let theirs = status.success() && text.trim_end().ends_with("INFO: web: stopped");
    assert!(ours || theirs, "{status:?}\n{text}");
    assert!(text.contains("NOTICE: web: listening"), "{text}");
}

/// A program with its own `ctrlc` handler (SIGINT and SIGTERM with the `termination`
/// feature): it stops its loop, returns from "main" and drops the guard.
#[test]
fn child() {
    let Ok(_) = std::env::var(CHILD) else {
        return; // not the child
    };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::SeqCst)).unwrap();
    let guard = tracing_logbook::init(tracing_logbook::Env::from_env().unwrap()).unwrap();
    working::log_until(|| stop.load(std::sync::atomic::Ordering::SeqCst));
    tracing::info!(target: "App", "stopped by the program's own handler");
    drop(guard);
}

fn ctrlc_program(dir: &std::path::Path, flush_on_signals: bool) -> ChildRun {
    let program = ChildRun::test("child")
        .env(CHILD, "1")
        .env("APP_ENV", "production")
        .env("LOG_FILE", dir.join("app.log"))
        .env_remove("RUST_LOG");
    if flush_on_signals {
        program.env("LOG_FLUSH_ON_SIGNALS", "1")
    } else {
        program
    }
}

#[test]
fn a_ctrlc_handler_alone_ends_the_program_its_own_way_with_every_line() {
    let dir = tempfile::tempdir().unwrap();
    let (status, text) =
        terminate_when(ctrlc_program(dir.path(), false), working::READY, dir.path());
    assert!(status.success(), "{status:?}");
    assert!(
        text.trim_end()
            .ends_with("INFO: App: stopped by the program's own handler"),
        "{}",
        &text[text.len().saturating_sub(300)..]
    );
}

#[test]
fn with_a_ctrlc_handler_the_opt_in_still_flushes_whichever_handler_ends_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let (status, text) =
        terminate_when(ctrlc_program(dir.path(), true), working::READY, dir.path());
    // The two handlers race, as beside tokio: either way every line is there.
    assert!(
        status.signal() == Some(libc::SIGTERM) || status.success(),
        "{status:?}"
    );
    // Ours says so in the log; if the program's handler won the race, main returned and
    // its last line is the log's last.
    let ours = text.contains("received SIGTERM: flushing the log, then exiting");
    let theirs = status.success()
        && text
            .trim_end()
            .ends_with("INFO: App: stopped by the program's own handler");
    assert!(ours || theirs, "{status:?}\n{text}");
    assert!(working::contiguous(&working::numbers(&text)));
}
