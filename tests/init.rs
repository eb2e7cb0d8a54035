//! `init` installs global state, so each scenario runs in a child process: the test
//! re-executes this test binary with `LOGBOOK_CHILD=<scenario>` and checks its output.

#![allow(clippy::print_stdout)] // the child scenarios report to the parent through stdout

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tracing::subscriber::Interest;
use tracing::{Metadata, Subscriber};
use tracing_logbook::{Env, LogbookFilter};
use tracing_logbook_test_support::child::{ChildRun, Outcome};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

#[cfg(feature = "http-client")]
use tracing_logbook_test_support as support;
use tracing_logbook_test_support::working;

const CHILD: &str = "LOGBOOK_CHILD";

/// Runs `scenario` in a child process with `vars`; returns (success, stdout, stderr).
fn run_child(scenario: &str, vars: &[(&str, &str)]) -> (bool, String, String) {
    let out = scenario_child(scenario, vars).run();
    (out.status.success(), out.stdout, out.stderr)
}

/// The child that runs `scenario` (with `--nocapture`), with `vars` set after the
/// variables that choose a mode or colours are removed.
fn scenario_child(scenario: &str, vars: &[(&str, &str)]) -> ChildRun {
    ChildRun::test("child")
        .env(CHILD, scenario)
        .env_removes(["RUST_LOG", "APP_ENV", "NO_COLOR", "LOG_COLOR"])
        .envs(vars.iter().copied())
}

/// Log lines of the child's stdout, without timestamps (the test harness's own lines
/// are dropped).
fn log_lines(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        // The harness prints "test child ... " without a newline before the body runs.
        .map(|l| l.strip_prefix("test child ... ").unwrap_or(l))
        .filter(|l| l.starts_with('['))
        .map(|l| l.split_once("] ").unwrap().1.to_owned())
        .collect()
}

/// The entry point of every child scenario.
#[test]
fn child() {
    let Ok(scenario) = std::env::var(CHILD) else {
        return; // not a child: nothing to do
    };
    match scenario.as_str() {
        "scrub" => {
            // The notifier's own scrub names mask lines too; SCRUB_LINES=off keeps them raw.
            let on = std::env::var("SCRUB_LINES").as_deref() != Ok("off");
            let config = tracing_logbook::notify::NotifyConfig::rollbar("token")
                .endpoint("http://127.0.0.1:9/")
                .scrub("iban");
            let env = Env::development().notifier(config).scrub_lines(on);
            let _guard = tracing_logbook::init(env).unwrap();
            tracing::info!(target: "App", iban = "DE02 1203", password = "hunter2", "paid");
        }
        "hidden" => {
            let config = tracing_logbook::notify::NotifyConfig::rollbar("token")
                .endpoint("http://127.0.0.1:9/");
            let env = Env::from_env().unwrap().notifier(config);
            let _guard = tracing_logbook::init(env).unwrap();
        }
        "dev_panic" => {
            let _guard = tracing_logbook::init(Env::from_env().unwrap()).unwrap();
            let request = tracing::error_span!("request", method = "GET", request_id = "r7");
            let _in = request.enter();
            let _ = std::panic::catch_unwind(|| {
                let orders: Vec<u32> = Vec::new();
                orders[3]
            });
        }
        "development" => development(),
        "interest" => interest(),
        "production" => production(),
        "notify" => {
            let guard = tracing_logbook::init(Env::from_env().unwrap()).unwrap();
            let span =
                tracing::info_span!("request", method = "POST", path = "/login?password=hunter2");
            let _e = span.enter();
            tracing::info!(target: "App", "before the error");
            tracing::error!(target: "App", user = "ann", password = "hunter2", "login failed");
            assert!(guard.flush(std::time::Duration::from_secs(10)));
            let n = guard
                .notifier(tracing_logbook::notify::Destination::Rollbar)
                .unwrap();
            println!(
                "COUNTERS sent={} failed={} dropped={}",
                n.sent(),
                n.failed(),
                n.dropped()
            );
            drop(_e);
            panic!("boom in production");
        }
        "panic" => {
            let _guard = tracing_logbook::init(Env::from_env().unwrap()).unwrap();
            tracing::info!(target: "App", "about to fail");
            let v: Vec<u8> = Vec::new();
            let _ = v[usize::MAX >> 1]; // index out of bounds: panics
        }
        "json" => {
            let _guard = tracing_logbook::init(Env::from_env().unwrap()).unwrap();
            let span = tracing::info_span!("request", method = "GET");
            let _e = span.enter();
            tracing_logbook::notice!(target: "App", port = 8080, "listening\n\u{1b}[31m");
        }
        "fingers_crossed" => fingers_crossed(),
        "exit" => {
            // The guard lives here, but the program ends far away, by process::exit.
            let _guard = tracing_logbook::init(Env::from_env().unwrap()).unwrap();
            for i in 0..1000 {
                tracing::info!(target: "App", i, "line");
            }
            tracing::error!(target: "App", password = "hunter2", "fatal: cannot continue");
            std::process::exit(3);
        }
        "let_underscore" => {
            let _ = tracing_logbook::init(Env::from_env().unwrap()).unwrap();
            for i in 0..3 {
                tracing::info!(target: "App", i, "kept");
            }
        }
        "late_lines" => {
            // A runtime's tasks that log while it shuts down, after `main`'s guard was
            // dropped (as with `#[tokio::main]`).
            let guard = tracing_logbook::init(Env::from_env().unwrap()).unwrap();
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            let task = std::thread::spawn(move || {
                let _ = rx.recv_timeout(std::time::Duration::from_secs(10));
                for i in 0..100 {
                    tracing::info!(target: "App", i, "task stopping");
                }
            });
            drop(guard);
            let _ = tx.send(());
            task.join().unwrap();
        }
        "shutdown" => {
            let guard = tracing_logbook::init(Env::from_env().unwrap()).unwrap();
            tracing::info!(target: "App", "before the shutdown");
            println!("SHUTDOWN {}", guard.shutdown());
            tracing::info!(target: "App", "after the shutdown");
        }
        "logger_first" => {
            struct Other;
            impl log::Log for Other {
                fn enabled(&self, _: &log::Metadata<'_>) -> bool {
                    true
                }
                fn log(&self, _: &log::Record<'_>) {}
                fn flush(&self) {}
            }
            log::set_boxed_logger(Box::new(Other)).unwrap();
            let err = tracing_logbook::init(Env::from_env().unwrap()).unwrap_err();
            println!("INIT_ERR {err}");
            println!("SUBSCRIBER_SET {}", tracing::dispatcher::has_been_set());
            // Our panic hook was not installed: the default hook prints this.
            let _ = std::panic::catch_unwind(|| panic!("after the failed init"));
            // A later, correct subscriber can still be installed.
            let ok = tracing::subscriber::set_global_default(tracing_subscriber::registry());
            println!("SECOND_SET {}", ok.is_ok());
        }
        "broken_pipe" => {
            let guard = tracing_logbook::init(Env::from_env().unwrap()).unwrap();
            // The parent closes our stdout, then says go on stdin.
            let mut go = String::new();
            std::io::stdin().read_line(&mut go).unwrap();
            for i in 0..2000 {
                tracing::info!(target: "App", i, "into a closed pipe");
            }
            guard.flush(std::time::Duration::from_secs(5));
            // Skips the harness's summary, which would fail on the closed pipe itself.
            std::process::exit(0);
        }
        "test_mode" => {
            let _guard = tracing_logbook::init(Env::from_env().unwrap()).unwrap();
            tracing::warn!(target: "App", "held by the test harness");
            assert!(
                std::env::var_os("FAIL_CHILD").is_none(),
                "failing on purpose"
            );
        }
        "set_filter" => {
            let guard = tracing_logbook::init(Env::from_env().unwrap()).unwrap();
            log::debug!(target: "Legacy", "hidden debug");
            tracing::debug!(target: "App", "hidden debug");
            guard.set_filter("debug").unwrap();
            log::debug!(target: "Legacy", "log debug after set_filter");
            tracing::debug!(target: "App", "debug after set_filter");
            let err = guard.set_filter("warnig").unwrap_err();
            println!("SET_FILTER_ERR {err}");
            tracing::debug!(target: "App", "still debug");
            guard.flush(std::time::Duration::from_secs(5));
        }
        "signals" => {
            let _guard = tracing_logbook::init(Env::from_env().unwrap()).unwrap();
            working::log_until(|| false); // until the signal ends the process
        }
        "main_err" => {
            if let Err(e) = main_returning_err() {
                println!("MAIN_ERR {e}");
            }
        }
        "io_result" => {
            if let Err(e) = io_result_main() {
                println!("MAIN_ERR {e:?}");
            }
        }
        other => panic!("unknown scenario {other}"),
    }
}

fn fingers_crossed() {
    let guard = tracing_logbook::init(Env::from_env().unwrap()).unwrap();
    for (id, fails) in [(1, false), (2, true)] {
        let _request = tracing::error_span!("request", id).entered();
        log::debug!(target: "Legacy", "from the log crate");
        tracing::debug!(target: "App", "from tracing");
        tracing::trace!(target: "App", "below the buffered level");
        if fails {
            tracing::error!(target: "App", "failed");
        }
    }
    log::debug!(target: "Legacy", "outside any request");
    tracing::debug!(target: "App", "outside any request");
    match guard.buffered() {
        Some(b) => println!("BUFFERED lines={} flushed={}", b.lines, b.flushed),
        None => println!("BUFFERED off"),
    }
}

fn development() {
    let guard = tracing_logbook::init(Env::from_env().unwrap()).unwrap();
    tracing::info!(target: "App", "hidden under notice");
    tracing_logbook::notice!(target: "App", port = 8080, "listening");
    log::warn!(target: "Legacy", "from the log crate");
    log::warn!(target: "Legacy", user_id = 7, name = "ann o'hara", ok = true; "with key-values");
    log::info!(target: "Legacy", "log info hidden");
    // A record handed to the logger directly, skipping log's own max-level check, with a
    // runtime target, as web frameworks do.
    let target = String::from("hyper::proto::h1");
    for level in [log::Level::Info, log::Level::Error] {
        log::logger().log(
            &log::Record::builder()
                .target(&target)
                .level(level)
                .args(format_args!("direct {level}"))
                .build(),
        );
    }
    let second = tracing_logbook::init(Env::development()).unwrap_err();
    assert!(second.is_already_initialized());
    tracing_logbook::critical!(target: "App", "second init: {second}");
    assert!(guard.flush(std::time::Duration::from_secs(1)));
}

#[test]
fn fingers_crossed_holds_tracing_and_log_lines_of_requests_until_an_error() {
    let (ok, stdout, stderr) = run_child("fingers_crossed", &[("LOG_FINGERS_CROSSED", "debug")]);
    assert!(ok, "{stdout}\n{stderr}");
    assert_eq!(
        log_lines(&stdout),
        [
            "DEBUG: Legacy: from the log crate in request{id=2}",
            "DEBUG: App: from tracing in request{id=2}",
            "ERROR: App: failed in request{id=2}",
        ]
    );
    assert!(stdout.contains("BUFFERED lines=0 flushed=1"), "{stdout}");
    // Without the variable, nothing of that is written.
    let (ok, stdout, stderr) = run_child("fingers_crossed", &[]);
    assert!(ok, "{stdout}\n{stderr}");
    assert_eq!(log_lines(&stdout), ["ERROR: App: failed in request{id=2}"]);
    assert!(stdout.contains("BUFFERED off"), "{stdout}");
}

#[test]
fn development_init_prints_logbook_lines() {
    let (ok, stdout, stderr) = run_child("development", &[("RUST_LOG", "notice")]);
    assert!(ok, "{stdout}\n{stderr}");
    assert_eq!(
        log_lines(&stdout),
        [
            "NOTICE: App: listening port=8080",
            "WARNING: Legacy: from the log crate",
            "WARNING: Legacy: with key-values user_id=7 name=\"ann o'hara\" ok=true",
            "ERROR: hyper::proto::h1: direct ERROR",
            "CRITICAL: App: second init: a global tracing subscriber is already installed: \
             tracing_logbook::init must be called once, before any other logger is set",
        ]
    );
    // Piped stdout: no colors.
    assert!(!stdout.contains('\x1b'));
}

#[test]
fn colors_can_be_forced_and_no_color_wins_over_auto() {
    let (ok, stdout, _) = run_child(
        "development",
        &[("RUST_LOG", "notice"), ("LOG_COLOR", "always")],
    );
    assert!(ok);
    assert!(stdout.contains("\x1b[33;01m["), "{stdout:?}");
    assert!(stdout.contains("\x1b[39;49;00m\n"));
    let (ok, stdout, _) = run_child("development", &[("RUST_LOG", "notice"), ("NO_COLOR", "1")]);
    assert!(ok);
    assert!(!stdout.contains('\x1b'));
}

#[test]
fn a_typo_in_app_env_fails_loudly() {
    let (ok, stdout, stderr) = run_child("development", &[("APP_ENV", "prod")]);
    assert!(!ok);
    assert!(log_lines(&stdout).is_empty());
    assert!(
        stderr.contains(r#"invalid APP_ENV value "prod": expected one of development, test, staging, production"#),
        "{stderr}"
    );
}

/// `main` returning `std::io::Result` can use `?` on everything; its error prints well.
fn io_result_main() -> std::io::Result<()> {
    let env = Env::from_env()?;
    let _guard = tracing_logbook::init(env)?;
    Ok(())
}

#[test]
fn question_mark_works_in_io_result_main() {
    let (ok, stdout, _) = run_child("io_result", &[("RUST_LOG", "info,db=loud")]);
    assert!(ok);
    assert!(
        stdout.contains(r#"MAIN_ERR Custom { kind: InvalidInput, error: invalid RUST_LOG value "info,db=loud": bad directive "db=loud": unknown level "loud""#),
        "{stdout}"
    );
}

/// Counts how often the subscriber asks whether a callsite is enabled, and the events.
#[derive(Clone, Default)]
struct Asked(Arc<AtomicUsize>, Arc<AtomicUsize>);

impl<S: Subscriber> Layer<S> for Asked {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::always()
    }
    fn enabled(&self, _: &Metadata<'_>, _: Context<'_, S>) -> bool {
        self.0.fetch_add(1, Ordering::Relaxed);
        true
    }
    fn on_event(&self, _: &tracing::Event<'_>, _: Context<'_, S>) {
        self.1.fetch_add(1, Ordering::Relaxed);
    }
}

fn interest() {
    let asked = Asked::default();
    let subscriber = tracing_subscriber::registry()
        .with(LogbookFilter::parse("notice").unwrap())
        .with(asked.clone());
    tracing::subscriber::set_global_default(subscriber).unwrap();
    for i in 0..1000 {
        tracing::trace!(i, "disabled trace");
        tracing::info!(i, "disabled info under notice");
    }
    tracing_logbook::notice!("enabled");
    println!(
        "ASKED {} EVENTS {}",
        asked.0.load(Ordering::Relaxed),
        asked.1.load(Ordering::Relaxed)
    );
}

#[test]
fn disabled_callsites_keep_the_interest_cache() {
    let (ok, stdout, stderr) = run_child("interest", &[]);
    assert!(ok, "{stderr}");
    // The 2000 disabled events are rejected by the cached `Interest::never` without
    // calling any layer's `enabled` (the counting layer is asked first when it is asked
    // at all), and the notice gets through.
    assert!(stdout.contains("ASKED 0 EVENTS 1\n"), "{stdout}");
}

fn production() {
    let guard = tracing_logbook::init(Env::from_env().unwrap()).unwrap();
    for i in 0..1000 {
        tracing::info!(target: "App", i, "line");
    }
    tracing_logbook::critical!(target: "App", "done");
    drop(guard); // flushes the file writer
                 // The logger runs on until the process ends: this line is written too.
    tracing::info!(target: "App", "after the guard");
}

/// The only regular file in `dir`, with its contents. On Unix `dir` also holds the
/// stable name `app.log`, a link to that file.
fn only_file(dir: &std::path::Path) -> (String, String) {
    let (links, mut files): (Vec<_>, Vec<_>) = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .partition(|p| p.is_symlink());
    assert_eq!(files.len(), 1, "{files:?}");
    let path = files.pop().unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    if cfg!(unix) {
        assert_eq!(links, [dir.join("app.log")]);
        assert_eq!(
            std::fs::read_link(&links[0]).unwrap(),
            std::path::Path::new(&name)
        );
    }
    (name, std::fs::read_to_string(path).unwrap())
}

#[test]
fn production_writes_the_daily_file_and_nothing_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("logs").join("app.log");
    let (ok, stdout, stderr) = run_child(
        "production",
        &[
            ("APP_ENV", "production"),
            ("LOG_FILE", log.to_str().unwrap()),
        ],
    );
    assert!(ok, "{stdout}\n{stderr}");
    assert!(log_lines(&stdout).is_empty(), "{stdout}");
    let (name, text) = only_file(&dir.path().join("logs"));
    let today = time::OffsetDateTime::now_utc().date();
    assert!(
        name == format!("app-{today}.log") || name.starts_with("app-"),
        "{name}"
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1002);
    assert!(
        lines[999].ends_with("] INFO: App: line i=999"),
        "{}",
        lines[999]
    );
    assert!(
        lines[1001].ends_with("] INFO: App: after the guard"),
        "{}",
        lines[1001]
    );
    assert!(lines[1000].ends_with("] CRITICAL: App: done"));
    assert!(!text.contains('\x1b'));
}

#[test]
fn production_to_stdout_with_log_file_dash() {
    let (ok, stdout, stderr) = run_child(
        "production",
        &[("APP_ENV", "production"), ("LOG_FILE", "-")],
    );
    assert!(ok, "{stderr}");
    // Stdout needs no background thread, so it keeps working after the guard is dropped.
    let lines = log_lines(&stdout);
    assert_eq!(lines.len(), 1002);
    assert_eq!(lines[1001], "INFO: App: after the guard");
}

#[test]
fn an_unwritable_log_file_is_an_error_naming_the_path() {
    let (ok, _, stderr) = run_child(
        "production",
        &[
            ("APP_ENV", "production"),
            ("LOG_FILE", "/proc/no-such-dir/app.log"),
        ],
    );
    assert!(!ok);
    assert!(stderr.contains("/proc/no-such-dir"), "{stderr}");
    assert!(
        !stderr.contains("panicked at src/"),
        "a panic in the library: {stderr}"
    );
}

#[test]
fn a_panic_is_a_critical_line_in_the_file_before_the_process_dies() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let (ok, _, stderr) = run_child(
        "panic",
        &[
            ("APP_ENV", "production"),
            ("LOG_FILE", log.to_str().unwrap()),
            ("RUST_BACKTRACE", "0"),
        ],
    );
    assert!(!ok);
    // The previous (default) hook still ran.
    assert!(stderr.contains("index out of bounds"), "{stderr}");
    let (_, text) = only_file(dir.path());
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].ends_with("] INFO: App: about to fail"), "{text}");
    assert!(
        lines[1].contains("] CRITICAL: panic: thread 'child' panicked at tests/init.rs:"),
        "{text}"
    );
    assert!(
        lines[1].contains("index out of bounds: the len is 0"),
        "{text}"
    );
    assert_eq!(
        lines.len(),
        2,
        "no backtrace unless RUST_BACKTRACE asks: {text}"
    );
}

#[test]
fn a_panic_with_rust_backtrace_shows_it_as_continuation_lines() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let (ok, _, _) = run_child(
        "panic",
        &[
            ("APP_ENV", "production"),
            ("LOG_FILE", log.to_str().unwrap()),
            ("RUST_BACKTRACE", "1"),
        ],
    );
    assert!(!ok);
    let (_, text) = only_file(dir.path());
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() > 3, "{text}");
    assert_eq!(lines[2], "  stack backtrace:");
    assert!(lines[2..].iter().all(|l| l.starts_with("  ")), "{text}");
}

#[test]
fn json_lines_on_stdout() {
    let (ok, stdout, stderr) = run_child("json", &[("LOG_FORMAT", "json")]);
    assert!(ok, "{stderr}");
    let line = stdout
        .lines()
        .map(|l| l.strip_prefix("test child ... ").unwrap_or(l))
        .find(|l| l.starts_with('{'))
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["level"], "NOTICE");
    assert_eq!(v["channel"], "App");
    assert_eq!(v["message"], "listening\n\u{1b}[31m");
    assert_eq!(v["fields"]["port"], 8080);
    assert_eq!(v["spans"][0]["name"], "request");
    assert_eq!(v["spans"][0]["fields"]["method"], "GET");
    assert_eq!(v["thread"], "child");
    assert!(!line.contains('\x1b'));
}

#[test]
fn an_unknown_log_format_is_an_error() {
    let (ok, _, stderr) = run_child("json", &[("LOG_FORMAT", "xml")]);
    assert!(!ok);
    assert!(
        stderr.contains(r#"invalid LOG_FORMAT value "xml": expected logbook, json or ecs"#),
        "{stderr}"
    );
}

#[cfg(feature = "http-client")]
#[test]
fn production_notifies_errors_and_panics_through_init() {
    use std::time::Duration;
    let server = support::server::Server::start(vec![]);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let (ok, stdout, stderr) = run_child(
        "notify",
        &[
            ("APP_ENV", "production"),
            ("LOG_FILE", log.to_str().unwrap()),
            ("ROLLBAR_ACCESS_TOKEN", "test-token-123"),
            ("ROLLBAR_ENDPOINT", &server.endpoint()),
            ("ROLLBAR_CODE_VERSION", "1.2.3"),
        ],
    );
    assert!(!ok, "the child panics");
    assert!(
        stdout.contains("COUNTERS sent=1 failed=0 dropped=0"),
        "{stdout}\n{stderr}"
    );
    assert!(server.wait_for(2, Duration::from_secs(10)), "{stderr}");
    assert!(
        stderr.contains("errors are notified to Rollbar;"),
        "{stderr}"
    );
    assert!(!stderr.contains("test-token-123"), "{stderr}");
    let requests = server.requests();
    let schema = support::schema::Schema::load();
    let error = requests[0].json();
    schema.assert_strict(&error);
    assert_eq!(error["data"]["level"], "error");
    assert_eq!(error["data"]["environment"], "production");
    assert_eq!(error["data"]["code_version"], "1.2.3");
    let text = error.to_string();
    assert!(
        !text.contains("hunter2"),
        "a secret left the process: {text}"
    );
    assert!(!text.contains("test-token-123"));
    let panic = requests[1].json();
    schema.assert_strict(&panic);
    assert_eq!(panic["data"]["level"], "critical");
    assert!(panic["data"]["body"]["trace"]["exception"]["message"]
        .as_str()
        .unwrap()
        .contains("boom in production"));
    // The file has the lines too, panic included.
    // (The notification spool, .notify-spool/, is a directory beside them, empty.)
    let text = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect::<String>();
    assert!(text.contains("ERROR: App: login failed"), "{text}");
    assert!(
        text.contains("CRITICAL: panic: thread 'child' panicked at"),
        "{text}"
    );
}

/// Runs `scenario` in production, its daily file `app.log` in a new directory, with
/// `extra` variables; returns the directory and what the child did.
fn in_production(scenario: &str, extra: &[(&str, &str)]) -> (tempfile::TempDir, Outcome) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let mut vars = vec![
        ("APP_ENV", "production"),
        ("LOG_FILE", log.to_str().unwrap()),
    ];
    vars.extend_from_slice(extra);
    let out = scenario_child(scenario, &vars).run();
    (dir, out)
}

#[test]
fn process_exit_keeps_the_last_lines() {
    let (dir, out) = in_production("exit", &[]);
    assert_eq!(out.status.code(), Some(3), "{out}");
    let text = working::log_text(dir.path());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1001, "{text}");
    assert!(lines[999].ends_with("] INFO: App: line i=999"));
    assert!(lines[1000].contains("] ERROR: App: fatal: cannot continue"));
}

#[cfg(feature = "http-client")]
#[test]
fn process_exit_sends_the_queued_notification() {
    use std::time::Duration;
    let server = support::server::Server::start(vec![]);
    let endpoint = server.endpoint();
    let (_dir, out) = in_production(
        "exit",
        &[
            ("ROLLBAR_ACCESS_TOKEN", "test-token-123"),
            ("ROLLBAR_ENDPOINT", &endpoint),
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{out}");
    assert!(server.wait_for(1, Duration::from_secs(10)));
    let item = server.requests()[0].json();
    assert_eq!(
        item["data"]["body"]["message"]["body"],
        "fatal: cannot continue"
    );
    assert!(!item.to_string().contains("hunter2"));
}

/// `let _ = init(..)` drops the guard at once: the logger runs on until the process
/// ends, and the at-exit hook writes the last lines (they used to be dropped).
#[test]
fn a_guard_dropped_at_once_loses_nothing() {
    let (dir, out) = in_production("let_underscore", &[]);
    let stderr = out.stderr.as_str();
    assert!(out.status.success(), "{stderr}");
    let text = working::log_text(dir.path());
    assert_eq!(
        text.matches("INFO: App: kept").count(),
        3,
        "{text}\n{stderr}"
    );
    assert!(!stderr.contains("dropped and counted"), "{stderr}");
}

/// Lines logged after the guard was dropped (a runtime's tasks stopping after `main`'s
/// body) are written: the at-exit hook flushes them.
#[test]
fn lines_logged_after_the_guard_was_dropped_are_written_at_exit() {
    let (dir, out) = in_production("late_lines", &[]);
    let stderr = out.stderr.as_str();
    assert!(out.status.success(), "{stderr}");
    let text = working::log_text(dir.path());
    assert_eq!(
        text.matches("INFO: App: task stopping").count(),
        100,
        "{text}\n{stderr}"
    );
    assert!(text.trim_end().ends_with("task stopping i=99"), "{text}");
}

/// `Guard::shutdown` stops the logger explicitly: what came before is written, what
/// comes after is dropped, counted and said once.
#[test]
fn guard_shutdown_stops_the_logger() {
    let (dir, out) = in_production("shutdown", &[]);
    let stderr = out.stderr.as_str();
    let stdout = out.stdout.as_str();
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("SHUTDOWN true"), "{stdout}");
    let text = working::log_text(dir.path());
    assert!(text.contains("before the shutdown"), "{text}");
    assert!(!text.contains("after the shutdown"), "{text}");
    assert_eq!(
        stderr.matches("was shut down (Guard::shutdown").count(),
        1,
        "{stderr}"
    );
}

#[test]
fn a_failed_init_installs_nothing() {
    let (ok, stdout, stderr) = run_child("logger_first", &[("APP_ENV", "production")]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("INIT_ERR "), "{stdout}");
    assert!(stdout.contains("a `log` logger"), "{stdout}");
    assert!(stdout.contains("SUBSCRIBER_SET false"), "{stdout}");
    assert!(stdout.contains("SECOND_SET true"), "{stdout}");
    // The default hook printed the panic; ours would have logged a CRITICAL line.
    assert!(stderr.contains("after the failed init"), "{stderr}");
    assert!(!stdout.contains("CRITICAL"), "{stdout}");
}

#[test]
fn a_closed_stdout_ends_the_output_quietly() {
    // What the harness prints before the scenario runs is read, then the pipe is closed
    // as `| head` would close it, and the scenario goes on.
    let mut child = scenario_child("broken_pipe", &[])
        .stdin_piped()
        .close_stdout_after("test child ... ")
        .spawn();
    assert!(
        child.wait_for_stdout("test child ... "),
        "{}",
        child.stdout()
    );
    child.write_stdin(b"go\n");
    let out = child.wait();
    let stderr = out.stderr.as_str();
    assert!(out.success(), "{out}");
    assert!(!stderr.contains("[tracing-logbook]"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
}

#[test]
fn test_mode_lines_go_through_the_harness_capture() {
    let vars = [("APP_ENV", "test")];
    let passed = scenario_child("test_mode", &vars).nocapture(false).run();
    let stdout = passed.stdout.as_str();
    assert!(passed.status.success(), "{stdout}");
    assert!(!stdout.contains("held by the test harness"), "{stdout}");
    let failed = scenario_child("test_mode", &vars)
        .nocapture(false)
        .env("FAIL_CHILD", "1")
        .run();
    let stdout = failed.stdout.as_str();
    assert!(!failed.status.success());
    let shown = stdout
        .split("---- child stdout ----")
        .nth(1)
        .unwrap_or_default();
    assert!(
        shown.contains("WARNING: App: held by the test harness"),
        "{stdout}"
    );
}

#[test]
fn production_init_names_the_current_file_on_stderr() {
    let (dir, out) = in_production("production", &[]);
    let stderr = out.stderr.as_str();
    let log = dir.path().join("app.log");
    assert!(out.status.success(), "{stderr}");
    let (name, _) = only_file(dir.path());
    let line = stderr
        .lines()
        .find(|l| l.starts_with("[tracing-logbook] production: "))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        line.contains(&format!("lines go to {}", dir.path().join(&name).display())),
        "{line}"
    );
    assert!(
        line.contains(&format!("tail -F {}", log.display())),
        "{line}"
    );
    assert!(line.contains("no error notifications"), "{line}");
    assert!(
        line.contains("the last lines are written when the process ends"),
        "{line}"
    );
    // Development prints no such line.
    let (_, _, stderr) = run_child("development", &[]);
    assert!(!stderr.contains("lines go to"), "{stderr}");
}

#[test]
fn log_file_naming_a_directory_means_the_default_name_inside_it() {
    let program = std::env::current_exe()
        .unwrap()
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("existing")).unwrap();
    for (value, inside) in [
        ("existing", "existing"),
        ("new/", "new"),
        ("existing/.", "existing"),
        (".", "."),
    ] {
        let out = scenario_child(
            "production",
            &[("APP_ENV", "production"), ("LOG_FILE", value)],
        )
        .current_dir(root.path())
        .run();
        assert!(out.status.success(), "{value}: {out}");
        let dir = root.path().join(inside);
        let dated: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&format!("{program}-")) && n.ends_with(".log"))
            .collect();
        assert_eq!(dated.len(), 1, "LOG_FILE={value}: {dated:?}");
        for name in &dated {
            std::fs::remove_file(dir.join(name)).unwrap();
        }
    }
    // Nothing was ever written beside the directories named.
    let mut left: Vec<String> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(&format!("{program}.log")))
        .collect();
    left.sort();
    assert_eq!(left, ["existing", "new"]);
}

#[test]
fn a_log_max_size_below_the_minimum_is_an_error() {
    let (ok, _, stderr) = run_child(
        "production",
        &[("APP_ENV", "production"), ("LOG_MAX_SIZE", "100")],
    );
    assert!(!ok);
    assert!(
        stderr.contains(r#"invalid LOG_MAX_SIZE value "100": below the minimum of 64K"#),
        "{stderr}"
    );
}

#[test]
fn the_guard_changes_the_level_at_runtime_for_tracing_and_log() {
    let (ok, stdout, stderr) = run_child("set_filter", &[]);
    assert!(ok, "{stderr}");
    assert_eq!(
        log_lines(&stdout),
        [
            "DEBUG: Legacy: log debug after set_filter",
            "DEBUG: App: debug after set_filter",
            "DEBUG: App: still debug",
        ]
    );
    assert!(
        stdout.contains(r#"SET_FILTER_ERR invalid RUST_LOG value "warnig""#),
        "{stdout}"
    );
    assert!(stdout.contains("did you mean `warning`?"), "{stdout}");
}

/// Runs the `signals` scenario, sends `signal` once it is logging, and returns how it
/// ended with the file's lines.
#[cfg(unix)]
fn killed_while_logging(vars: &[(&str, &str)], signal: i32) -> (std::process::ExitStatus, String) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let mut all = vec![
        ("APP_ENV", "production"),
        ("LOG_FILE", log.to_str().unwrap()),
    ];
    all.extend_from_slice(vars);
    let status = working::signal_when(&scenario_child("signals", &all), working::READY, signal);
    (status, working::log_text(dir.path()))
}

#[cfg(unix)]
#[test]
fn with_flush_on_signals_sigterm_keeps_every_line_and_ends_as_sigterm() {
    use std::os::unix::process::ExitStatusExt;
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let (status, text) = killed_while_logging(&[("LOG_FLUSH_ON_SIGNALS", "1")], signal);
        assert_eq!(status.signal(), Some(signal), "{status:?}");
        let name = if signal == libc::SIGTERM {
            "SIGTERM"
        } else {
            "SIGINT"
        };
        let notice =
            format!("NOTICE: tracing-logbook: received {name}: flushing the log, then exiting");
        assert!(
            text.contains(&notice),
            "{}",
            &text[text.len().saturating_sub(500)..]
        );
        // Every line handed over before the flush is there, in order, none missing.
        let numbers = working::numbers(&text);
        assert!(numbers.len() > 100, "{}", numbers.len());
        assert!(working::contiguous(&numbers));
    }
}

#[cfg(unix)]
#[test]
fn without_the_opt_in_a_signal_keeps_its_default_action() {
    use std::os::unix::process::ExitStatusExt;
    let (status, text) = killed_while_logging(&[], libc::SIGTERM);
    assert_eq!(status.signal(), Some(libc::SIGTERM));
    assert!(!text.contains("received SIGTERM"));
}

#[test]
fn a_bad_log_flush_on_signals_is_an_error() {
    let (ok, _, stderr) = run_child("production", &[("LOG_FLUSH_ON_SIGNALS", "sometimes")]);
    assert!(!ok);
    assert!(
        stderr.contains(r#"invalid LOG_FLUSH_ON_SIGNALS value "sometimes""#),
        "{stderr}"
    );
}

/// An error with a cause, as `main` would return it.
#[derive(Debug)]
struct ConfigError(std::io::Error);
impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("cannot read the configuration")
    }
}
impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    tracing::info!(target: "App", "starting");
    Err(ConfigError(std::io::Error::other("permission denied")).into())
}

fn main_returning_err() -> Result<(), Box<dyn std::error::Error>> {
    let _guard = tracing_logbook::init(Env::from_env()?)?;
    tracing_logbook::report!(run())
}

#[test]
fn an_error_returned_from_main_reaches_the_file_with_its_causes() {
    let (dir, out) = in_production("main_err", &[]);
    let stdout = out.stdout.as_str();
    assert!(out.status.success(), "{out}");
    assert!(
        stdout.contains("MAIN_ERR cannot read the configuration"),
        "{stdout}"
    );
    let (_, text) = only_file(dir.path());
    let last = text.lines().last().unwrap();
    assert!(
        last.ends_with(
            "] CRITICAL: init: main returned an error: cannot read the configuration \
             error=\"cannot read the configuration: permission denied\""
        ),
        "{text}"
    );
}

#[test]
fn report_finds_the_cause_chain_of_every_error_type_main_returns() {
    let inner = || std::io::Error::other("permission denied");
    let captured = tracing_logbook::testing::capture(|| {
        let _ = tracing_logbook::report!(Err::<(), _>(ConfigError(inner())));
        let _ = tracing_logbook::report!(Err::<(), Box<dyn std::error::Error>>(
            ConfigError(inner()).into()
        ));
        let _ = tracing_logbook::report!(Err::<(), Box<dyn std::error::Error + Send + Sync>>(
            "plain text".into()
        ));
        let _ = tracing_logbook::report!(Err::<(), _>(String::from("only Display")));
        let ok: Result<u8, std::io::Error> = tracing_logbook::report!(Ok(7));
        assert_eq!(ok.unwrap(), 7);
    });
    let errors: Vec<Option<String>> = captured
        .records()
        .iter()
        .map(|r| {
            assert_eq!(r.level, tracing_logbook::Level::Critical);
            r.fields.get("error").map(|v| v.to_text())
        })
        .collect();
    assert_eq!(
        errors,
        [
            Some("cannot read the configuration: permission denied".to_owned()),
            Some("cannot read the configuration: permission denied".to_owned()),
            Some("plain text".to_owned()),
            None,
        ]
    );
}

#[cfg(feature = "http-client")]
#[test]
fn secrets_are_masked_in_lines_with_the_notifier_s_names_unless_turned_off() {
    let (ok, stdout, stderr) = run_child("scrub", &[]);
    assert!(ok, "{stdout}\n{stderr}");
    assert_eq!(
        log_lines(&stdout),
        ["INFO: App: paid iban=*** password=***"]
    );
    let (ok, stdout, stderr) = run_child("scrub", &[("SCRUB_LINES", "off")]);
    assert!(ok, "{stdout}\n{stderr}");
    assert_eq!(
        log_lines(&stdout),
        ["INFO: App: paid iban=\"DE02 1203\" password=hunter2"]
    );
}

#[cfg(feature = "http-client")]
#[test]
fn a_rust_log_that_hides_the_notifier_s_threshold_is_said_at_start_up() {
    let (ok, stdout, stderr) = run_child("hidden", &[("RUST_LOG", "critical")]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(
        stderr.contains(
            "RUST_LOG=critical hides ERROR events, which the Rollbar notifier sends: they are \
             not notified"
        ),
        "{stderr}"
    );
    for spec in ["error", "info,noisy=critical"] {
        let (ok, stdout, stderr) = run_child("hidden", &[("RUST_LOG", spec)]);
        assert!(ok, "{stdout}\n{stderr}");
        assert!(!stderr.contains("hides"), "{spec}: {stderr}");
    }
}

/// In development too, a panic is a CRITICAL line with its request; with RUST_BACKTRACE
/// the application's frames follow it (the hook's, std's and the runtime's are left out),
/// after the request, not before.
#[test]
fn a_panic_in_development_is_a_critical_line_with_its_request() {
    let (ok, stdout, stderr) = run_child("dev_panic", &[("RUST_BACKTRACE", "0")]);
    assert!(ok, "{stdout}\n{stderr}");
    let lines = log_lines(&stdout);
    assert_eq!(lines.len(), 1, "{stdout}");
    assert!(
        lines[0].starts_with("CRITICAL: panic: thread '")
            && lines[0].contains("index out of bounds: the len is 0 but the index is 3")
            && lines[0].ends_with(" in request{request_id=r7}"),
        "{}",
        lines[0]
    );
    let (ok, stdout, stderr) = run_child("dev_panic", &[("RUST_BACKTRACE", "1")]);
    assert!(ok, "{stdout}\n{stderr}");
    let start = stdout.find("CRITICAL: panic:").unwrap();
    // The record: its first line and its indented continuation lines.
    let mut lines = stdout[start..].lines();
    let record: Vec<&str> = lines
        .next()
        .into_iter()
        .chain(lines.take_while(|l| l.starts_with("  ")))
        .collect();
    assert!(
        record[0].ends_with(" in request{request_id=r7}"),
        "{record:#?}"
    );
    assert_eq!(record[1].trim(), "stack backtrace:", "{record:#?}");
    assert!(
        record[2].trim_start().starts_with("at init::"),
        "{record:#?}"
    );
    assert!(
        record
            .iter()
            .all(|l| !l.contains("tracing_logbook::panic") && !l.contains("std::panicking")),
        "{record:#?}"
    );
    assert!(record
        .last()
        .unwrap()
        .contains("frames of std, the runtime and dependencies left out"));
    assert!(record.len() < 20, "{} lines: {record:#?}", record.len());
}
