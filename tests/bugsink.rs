//! The Sentry destination against a real, self-hosted Sentry-compatible tracker:
//! Bugsink 2.6.1 from PyPI (see `shared/spec/sentry/BUGSINK.md` for the commands this
//! follows).
//!
//! The test creates (or reuses) a virtualenv in `target/bugsink-venv`, configures
//! Bugsink in a temporary directory (SQLite, loopback only, no phone-home, its own
//! ingest directory), starts `bugsink-manage runserver` on a free 127.0.0.1 port,
//! creates a team and a project through the REST API, then runs a child program (this
//! test binary again, with `BUGSINK_CHILD` set) that calls `tracing_logbook::init` with
//! `APP_ENV=production` and `SENTRY_DSN`, logs an error and a critical and panics. It
//! then checks through the REST API that all three events arrived with their level,
//! message and (for the panic) stack trace. The server dies with the test, also when an
//! assertion fails.
//!
//! When Python 3.10+, `venv`/`pip` or the package index is unavailable, the test prints
//! `*** SKIPPED bugsink integration test: <reason> ***` on stderr and passes, unless
//! `LOGBOOK_REQUIRE_SERVERS` is set (as `.ci/run` does): then it fails.

#![allow(clippy::print_stderr, clippy::print_stdout)]

use std::time::Duration;

use tracing_logbook_test_support::external::loud;

const CHILD: &str = "BUGSINK_CHILD";

/// The child program: what an application does.
#[test]
fn child() {
    let Some(how) = std::env::var_os(CHILD) else {
        return; // not the child: nothing to do
    };
    if how != "1" {
        return outage_child(how.to_str().unwrap());
    }
    let guard = tracing_logbook::init(tracing_logbook::Env::from_env().unwrap()).unwrap();
    tracing::info!(target: "shop", "checkout started");
    tracing::error!(target: "shop", order = 42, customer = "ann", password = "hunter2", "payment failed");
    tracing_logbook::critical!(target: "shop::db", "database unreachable");
    let flushed = guard.flush(Duration::from_secs(20));
    let handle = guard
        .notifier(tracing_logbook::notify::Destination::Sentry)
        .expect("SENTRY_DSN enables the Sentry notifier");
    println!(
        "CHILD flushed={flushed} sent={} failed={} dropped={}",
        handle.sent(),
        handle.failed(),
        handle.dropped()
    );
    panic_in_the_handler();
}

/// The outage round trip's application: logs `OUTAGE_N` errors (the tracker down), or
/// waits until the spool is empty (the tracker up).
fn outage_child(how: &str) {
    let env = tracing_logbook::Env::from_env().unwrap();
    let config = tracing_logbook::notify::NotifyConfig::sentry_from_env("production")
        .unwrap()
        .unwrap()
        .dedup_window(Duration::ZERO)
        .retry_backoff(Duration::from_millis(50));
    let guard = tracing_logbook::init(env.notifier(config)).unwrap();
    if how == "outage" {
        for i in 0..OUTAGE_N {
            tracing::error!(target: "shop", i, "outage error {i}");
        }
    } else {
        let dir =
            std::path::PathBuf::from(std::env::var("LOG_NOTIFY_SPOOL").unwrap()).join("sentry");
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let waiting = || {
            std::fs::read_dir(&dir).map_or(0, |d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".item"))
                    .count()
            })
        };
        while waiting() > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    guard.flush(Duration::from_secs(10));
    println!(
        "OUTAGE {how} {:?}",
        guard
            .notifier(tracing_logbook::notify::Destination::Sentry)
            .unwrap()
            .stats()
    );
}

/// Errors logged while the tracker is down in the outage round trip.
const OUTAGE_N: u64 = 5;

#[inline(never)]
fn panic_in_the_handler() {
    panic!("boom in production");
}

#[cfg(not(feature = "http-client"))]
#[test]
fn events_reach_a_real_bugsink_server() {
    loud(format_args!(
        "*** SKIPPED bugsink integration test: built without the `http-client` feature (no HTTP client) ***"
    ));
}

#[cfg(feature = "http-client")]
#[test]
fn events_reach_a_real_bugsink_server() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    real::run();
}

#[cfg(feature = "http-client")]
use tracing_logbook_test_support::bugsink as bugsink_server;

#[cfg(feature = "http-client")]
mod real {
    use std::path::Path;
    use std::time::{Duration, Instant};

    use serde_json::Value;
    use tracing_logbook_test_support::child::ChildRun;

    /// A child's bound: it talks to a real server on loopback, on a loaded machine.
    const CHILD_DEADLINE: Duration = Duration::from_secs(120);

    use super::bugsink_server::{Bugsink, Skip};
    use super::{CHILD, OUTAGE_N};
    use tracing_logbook_test_support::external::skip_or_fail;

    /// The tracker down for a whole run (its DSN's port refuses connections), then up
    /// for the next run, which replays the spool: Bugsink (which deduplicates by event
    /// id) ends with as many events as errors were logged.
    fn outage_round_trip(bugsink: &Bugsink) {
        let dir = tempfile::tempdir().unwrap();
        let refused = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap()
        };
        let (userinfo, rest) = bugsink.dsn.split_once('@').unwrap();
        let (_, path) = rest.split_once('/').unwrap();
        let down = format!("{userinfo}@{refused}/{path}");
        let run = |how: &str, dsn: &str| {
            let out = ChildRun::test("child")
                .env(CHILD, how)
                .env("APP_ENV", "production")
                .env("SENTRY_DSN", dsn)
                .env("LOG_FILE", dir.path().join("logs").join("app.log"))
                .env("LOG_NOTIFY_SPOOL", dir.path().join("spool"))
                .env_removes(["ROLLBAR_ACCESS_TOKEN", "RUST_LOG"])
                .deadline(CHILD_DEADLINE)
                .run();
            let text = format!("{}\n{}", out.stdout, out.stderr);
            assert!(out.status.success(), "{text}");
            text
        };
        let first = run("outage", &down);
        assert!(first.contains(&format!("spooled: {OUTAGE_N}")), "{first}");
        let second = run("replay", &bugsink.dsn);
        assert!(
            second.contains(&format!("replayed: {OUTAGE_N}")),
            "{second}"
        );
        let issues = bugsink.issues();
        let outage: Vec<&Value> = issues
            .iter()
            .filter(|i| {
                i["calculated_value"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("outage error")
            })
            .collect();
        // One callsite, one issue; one event per error logged.
        assert_eq!(outage.len(), 1, "{issues:#?}");
        let events = bugsink.events(outage[0]);
        assert_eq!(events.len() as u64, OUTAGE_N, "{events:#?}\n{second}");
    }

    pub(super) fn run() {
        let started = Instant::now();
        let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .expect("CARGO_TARGET_TMPDIR is target/tmp");
        let bugsink = match Bugsink::start(target, "tracing-logbook") {
            Ok(bugsink) => bugsink,
            Err(Skip(reason)) => return skip_or_fail("bugsink integration test", reason),
        };
        let dir = tempfile::tempdir().unwrap();
        let dsn = bugsink.dsn.clone();
        let server = &bugsink.server;
        // The application.
        let log_file = dir.path().join("logs").join("app.log");
        let out = ChildRun::test("child")
            .env(CHILD, "1")
            .env("APP_ENV", "production")
            .env("SENTRY_DSN", &dsn)
            .env("SENTRY_RELEASE", "shop@1.0.0")
            .env("LOG_FILE", &log_file)
            .env_removes(["ROLLBAR_ACCESS_TOKEN", "SENTRY_ENVIRONMENT", "RUST_LOG"])
            .deadline(CHILD_DEADLINE)
            .run();
        let child_out = format!(
            "child stdout:\n{}\nchild stderr:\n{}\nserver log:\n{}",
            out.stdout,
            out.stderr,
            server.log()
        );
        assert!(!out.status.success(), "the child panics\n{child_out}");
        assert!(
            out.stdout.contains("CHILD flushed=true sent=2 failed=0"),
            "{child_out}"
        );

        // What Bugsink stored.
        let issues = bugsink.issues();
        let find = |value: &str| {
            issues
                .iter()
                .find(|i| i["calculated_value"] == value)
                .unwrap_or_else(|| panic!("no issue {value:?} in {issues:#?}\n{child_out}"))
        };
        let event_of = |issue: &Value| -> Value {
            let mut events = bugsink.events(issue);
            assert_eq!(events.len(), 1, "{events:#?}");
            events.remove(0)
        };

        let error = find("payment failed");
        assert_eq!(error["calculated_type"], "Log Message");
        let event = event_of(error);
        let data = &event["data"];
        assert_eq!(data["level"], "error");
        assert_eq!(data["logentry"]["formatted"], "payment failed");
        assert_eq!(data["logger"], "shop");
        assert_eq!(data["environment"], "production");
        assert_eq!(data["release"], "shop@1.0.0");
        assert_eq!(data["extra"]["order"], 42);
        assert_eq!(data["extra"]["customer"], "ann");
        assert_eq!(data["extra"]["password"], "***");
        assert_eq!(
            data["breadcrumbs"]["values"][0]["message"],
            "checkout started"
        );
        // Bugsink shows the hyphenated form of the 32-hex event id that was sent.
        assert_eq!(
            event["event_id"].as_str().unwrap().replace('-', ""),
            data["event_id"].as_str().unwrap()
        );

        let critical = find("database unreachable");
        let data = &event_of(critical)["data"];
        assert_eq!(data["level"], "fatal");
        assert_eq!(data["logger"], "shop::db");

        let panic = find("boom in production");
        assert_eq!(panic["calculated_type"], "panic");
        let event = event_of(panic);
        let data = &event["data"];
        assert_eq!(data["level"], "fatal");
        let frames = data["exception"]["values"][0]["stacktrace"]["frames"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let functions: Vec<&str> = frames
            .iter()
            .filter_map(|f| f["function"].as_str())
            .collect();
        let handler = functions
            .iter()
            .position(|f| f.contains("panic_in_the_handler"))
            .unwrap_or_else(|| panic!("no panic_in_the_handler frame in {functions:#?}"));
        let caller = functions
            .iter()
            .position(|f| f.ends_with("bugsink::child"))
            .unwrap_or_else(|| panic!("no child frame in {functions:#?}"));
        assert!(caller < handler, "oldest first: {functions:#?}");
        assert_eq!(frames[handler]["in_app"], true);
        let md = event["stacktrace_md"].as_str().unwrap_or_default();
        assert!(md.contains("panic_in_the_handler"), "{md}");
        assert_eq!(issues.len(), 3, "{issues:#?}");

        outage_round_trip(&bugsink);
        drop(bugsink);
        super::loud(format_args!(
            "bugsink integration test: passed in {:.1} s",
            started.elapsed().as_secs_f64()
        ));
    }
}
