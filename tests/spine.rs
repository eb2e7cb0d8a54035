//! The one capture every output shares, under hostile input: a `Display` that logs or
//! panics inside `span.record(..)` never hangs the process (in every mode, production
//! with its panic hook included), and names (field names, span names, targets) are
//! escaped in every layout exactly like values, so no name can forge a record.
//!
//! The `init` scenarios run in child processes (`init` is global), each with a deadline:
//! a hang is a failure, not a stuck test run.

#![allow(clippy::print_stdout)]

use std::time::Duration;

use tracing_logbook_test_support::child::ChildRun;
use tracing_subscriber::prelude::*;

const CHILD: &str = "SPINE_CHILD";

/// Runs `scenario` in a child with `vars`; kills it after `limit`. Returns
/// (finished in time, exit success, stdout, stderr).
fn run_child(
    scenario: &str,
    vars: &[(&str, &str)],
    limit: Duration,
) -> (bool, bool, String, String) {
    let out = ChildRun::test("child")
        .env(CHILD, scenario)
        .env_removes(["RUST_LOG", "APP_ENV", "RUST_BACKTRACE"])
        .envs(vars.iter().copied())
        .deadline(limit)
        .spawn()
        .wait_or_kill();
    (out.in_time, out.success(), out.stdout, out.stderr)
}

struct Logs;
impl std::fmt::Display for Logs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        tracing::warn!(target: "App", "logged from Display");
        f.write_str("shown")
    }
}

struct Panics;
impl std::fmt::Display for Panics {
    fn fmt(&self, _f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        panic!("Display panicked")
    }
}

#[test]
fn child() {
    let Ok(scenario) = std::env::var(CHILD) else {
        return;
    };
    let guard = tracing_logbook::init(tracing_logbook::Env::from_env().unwrap()).unwrap();
    let span = tracing::info_span!("request", method = "GET", user = tracing::field::Empty);
    let _entered = span.enter();
    match scenario.as_str() {
        "record_logs" => {
            span.record("user", tracing::field::display(Logs));
            tracing::info!(target: "App", "after the record");
            assert!(guard.flush(Duration::from_secs(5)));
            println!("SURVIVED");
        }
        "record_panics" => {
            let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                span.record("user", tracing::field::display(Panics));
            }));
            assert!(caught.is_err());
            tracing::info!(target: "App", "after the panic");
            assert!(guard.flush(Duration::from_secs(5)));
            println!("SURVIVED");
        }
        other => panic!("unknown scenario {other}"),
    }
}

fn check_scenario(scenario: &str, mode: &str) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let log_file = log.to_string_lossy().into_owned();
    let (finished, ok, stdout, stderr) = run_child(
        scenario,
        &[
            ("APP_ENV", mode),
            ("LOG_FILE", &log_file),
            ("RUST_LOG", "info"),
            // The request span's every field on the lines (`user=shown` is checked).
            ("LOG_SPAN_FIELDS", "all"),
        ],
        Duration::from_secs(30),
    );
    assert!(finished, "{scenario} in {mode} hung\n{stdout}\n{stderr}");
    assert!(ok, "{scenario} in {mode}\n{stdout}\n{stderr}");
    assert!(stdout.contains("SURVIVED"), "{stdout}\n{stderr}");
    // Everything logged went through: into the file (both modes write it, LOG_FILE set).
    let text: String = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let after = if scenario == "record_logs" {
        "after the record"
    } else {
        "after the panic"
    };
    assert!(text.contains(after), "{text}");
    if scenario == "record_logs" {
        assert!(text.contains("WARNING: App: logged from Display"), "{text}");
        assert!(text.contains("user=shown"), "{text}");
    } else if mode == "production" || mode == "staging" {
        // The panic hook logged the panic, inside the span, without deadlocking.
        assert!(text.contains("CRITICAL: panic: "), "{text}");
        assert!(text.contains("Display panicked"), "{text}");
    }
}

#[test]
fn a_display_that_logs_inside_span_record_never_hangs() {
    for mode in ["development", "test", "staging", "production"] {
        check_scenario("record_logs", mode);
    }
}

#[test]
fn a_display_that_panics_inside_span_record_never_hangs() {
    for mode in ["development", "test", "staging", "production"] {
        check_scenario("record_panics", mode);
    }
}

// === names escaped like values, in every layout ===

const FORGED: &str = "x\n[2026-11-23 00:00:00.000000] CRITICAL: App: forged";

#[test]
fn names_cannot_forge_a_logbook_line() {
    let out = tracing_logbook::testing::CaptureWriter::new();
    let layer = tracing_logbook::LogbookLayer::builder()
        .color(tracing_logbook::ColorChoice::Never)
        .build(out.clone());
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        let span = tracing::info_span!(
            "req\n[2026-11-23 00:00:00.000000] CRITICAL: App: forged span",
            "span key\nCRITICAL" = 1
        );
        let _e = span.enter();
        tracing::event!(target: "App\n[2026-11-23 00:00:00.000000] CRITICAL: t", tracing::Level::INFO, { "x\n[2026-11-23 00:00:00.000000] CRITICAL: App: forged" = 2 }, "hello");
    });
    let text = out.take_string();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(!text.contains("\n["), "{text}");
    // Names that are not plain words are quoted, as string values are.
    assert!(
        text.contains(r#""x\n[2026-11-23 00:00:00.000000] CRITICAL: App: forged"=2"#),
        "{text}"
    );
    assert!(text.contains(r#"{"span key\nCRITICAL"=1}"#), "{text}");
    assert!(
        text.contains(r#" in "req\n[2026-11-23 00:00:00.000000] CRITICAL: App: forged span""#),
        "{text}"
    );
}

#[test]
fn names_stay_inside_their_json_strings() {
    let out = tracing_logbook::testing::CaptureWriter::new();
    let layer = tracing_logbook::JsonLayer::builder().build(out.clone());
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        let span = tracing::info_span!("sp\"an\n", "k\"\n" = 1);
        let _e = span.enter();
        tracing::event!(target: "t\"\n", tracing::Level::INFO, { "x\n[2026-11-23 00:00:00.000000] CRITICAL: App: forged" = f64::NAN }, "m");
    });
    let text = out.take_string();
    assert_eq!(text.lines().count(), 1, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["channel"], "t\"\n");
    assert_eq!(v["fields"][FORGED], "NaN");
    assert_eq!(v["spans"][0]["name"], "sp\"an\n");
    assert_eq!(v["spans"][0]["fields"]["k\"\n"], 1);
}

#[test]
fn names_stay_inside_their_syslog_parameters() {
    let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    server
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let url = format!("udp://{}", server.local_addr().unwrap());
    let (layer, handle) = tracing_logbook::syslog::SyslogLayer::builder(&url)
        .unwrap()
        .build()
        .unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        let span = tracing::info_span!("sp", "a]\"b c" = "v]\"");
        let _e = span.enter();
        tracing::event!(target: "t\n<13>1 forged", tracing::Level::INFO, { "x\n[2026-11-23 00:00:00.000000] CRITICAL: App: forged" = f64::INFINITY }, "m\nn");
    });
    assert!(handle.flush(Duration::from_secs(10)));
    let mut buf = [0u8; 4096];
    let n = server.recv(&mut buf).unwrap();
    let msg = std::str::from_utf8(&buf[..n]).unwrap();
    assert!(!msg.contains('\n'), "{msg}");
    // Names reduced to RFC 5424's characters, values escaped.
    assert!(msg.contains(r#" a__b_c="v\]\"""#), "{msg}");
    assert!(
        msg.contains(r#" x_[2026-11-23_00:00:00.000000__C="inf""#),
        "{msg}"
    );
    assert!(msg.contains(r#"channel="t\\n<13>1 forged""#), "{msg}");
    assert!(msg.ends_with(r"t\n<13>1 forged: m\nn"), "{msg}");
}

/// A span's cached field text follows `span.record(..)`, whether or not an event holds
/// the previous snapshot, in every layout.
#[test]
fn span_text_follows_record() {
    let out = tracing_logbook::testing::CaptureWriter::new();
    let json = tracing_logbook::testing::CaptureWriter::new();
    let layer = tracing_logbook::LogbookLayer::builder()
        .color(tracing_logbook::ColorChoice::Never)
        .span_fields(tracing_logbook::SpanFields::All)
        .build(out.clone());
    let json_layer = tracing_logbook::JsonLayer::builder().build(json.clone());
    tracing::subscriber::with_default(
        tracing_subscriber::registry().with(layer).with(json_layer),
        || {
            let span = tracing::info_span!(
                "request",
                method = "GET",
                status = tracing::field::Empty,
                user = tracing::field::Empty
            );
            let _e = span.enter();
            tracing::info!("first");
            span.record("status", 200u16);
            tracing::info!("second");
            span.record("user", "ann");
            span.record("user", "bob");
            tracing::info!("third");
        },
    );
    let text = out.take_string();
    let lines: Vec<&str> = text
        .lines()
        .map(|l| l.split_once("] ").unwrap().1)
        .collect();
    assert_eq!(
        lines,
        [
            "INFO: spine: first in request{method=GET}",
            "INFO: spine: second in request{method=GET status=200}",
            "INFO: spine: third in request{method=GET status=200 user=ann user=bob}",
        ]
    );
    let json = json.take_string();
    let last: serde_json::Value = serde_json::from_str(json.lines().last().unwrap()).unwrap();
    assert_eq!(last["spans"][0]["fields"]["status"], 200);
    assert_eq!(last["spans"][0]["fields"]["user"], "bob");
}

// === composing by hand: a fan-out captures once, as init does ===

/// A value that counts how often it is formatted.
struct Counted<'a>(&'a std::sync::atomic::AtomicUsize);

impl std::fmt::Display for Counted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        f.write_str("v")
    }
}

#[test]
fn a_fan_out_captures_each_event_once_for_all_its_outputs() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tracing_logbook::testing::{CaptureLayer, CaptureWriter, ManualClock};
    use tracing_logbook::{EcsLayer, FanOut, JsonLayer, LogbookLayer};

    let (lines, json, ecs) = (
        CaptureWriter::new(),
        CaptureWriter::new(),
        CaptureWriter::new(),
    );
    let (capture, captured) = CaptureLayer::new();
    let clock = ManualClock::new(time::macros::datetime!(2026-11-23 19:28:08.123456 UTC));
    let fan_out = FanOut::builder()
        .clock(clock)
        .output(LogbookLayer::builder().build(lines.clone()))
        .output(JsonLayer::builder().build(json.clone()))
        .output(EcsLayer::builder().build(ecs.clone()))
        .output(capture)
        .build();
    let formatted = AtomicUsize::new(0);
    tracing::subscriber::with_default(tracing_subscriber::registry().with(fan_out), || {
        tracing::info!(target: "App", value = %Counted(&formatted), "once");
    });
    // One visit of the fields for four outputs.
    assert_eq!(formatted.load(Ordering::SeqCst), 1);
    // The fan-out's one clock reading, in every output.
    assert_eq!(
        lines.take_string(),
        "[2026-11-23 19:28:08.123456] INFO: App: once value=v\n"
    );
    let json: serde_json::Value = serde_json::from_str(&json.take_string()).unwrap();
    assert_eq!(json["timestamp"], "2026-11-23T19:28:08.123456Z");
    let ecs: serde_json::Value = serde_json::from_str(&ecs.take_string()).unwrap();
    assert_eq!(ecs["@timestamp"], "2026-11-23T19:28:08.123456Z");
    assert_eq!(ecs["value"], "v");
    assert_eq!(captured.records()[0].message, "once");

    // The same layers stacked by hand: one capture per layer.
    let formatted = AtomicUsize::new(0);
    let subscriber = tracing_subscriber::registry()
        .with(LogbookLayer::builder().build(CaptureWriter::new()))
        .with(JsonLayer::builder().build(CaptureWriter::new()));
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(value = %Counted(&formatted), "twice");
    });
    assert_eq!(formatted.load(Ordering::SeqCst), 2);
}

#[test]
fn a_fan_out_holds_a_request_s_lines_for_every_line_output() {
    use tracing_logbook::testing::CaptureWriter;
    use tracing_logbook::{
        FanOut, FingersCrossed, JsonLayer, Level, LogbookFilter, LogbookLayer, ReloadableFilter,
    };

    let (lines, json) = (CaptureWriter::new(), CaptureWriter::new());
    let filter = ReloadableFilter::new(LogbookFilter::parse("info").unwrap());
    let fan_out = FanOut::builder()
        .output(LogbookLayer::builder().build(lines.clone()))
        .output(JsonLayer::builder().build(json.clone()))
        .fingers_crossed(FingersCrossed::new(Level::Debug), &filter)
        .build();
    let buffers = fan_out.buffers().unwrap();
    let subscriber = tracing_subscriber::registry().with(filter).with(fan_out);
    tracing::subscriber::with_default(subscriber, || {
        for (id, fails) in [(1, false), (2, true)] {
            let _request = tracing::error_span!("request", id).entered();
            tracing::debug!(target: "App", "step of {id}");
            assert_eq!(buffers.stats().lines, 1);
            if fails {
                tracing::error!(target: "App", "failed");
            }
        }
        tracing::debug!(target: "App", "outside: below the threshold");
    });
    let lines: Vec<String> = lines
        .take_string()
        .lines()
        .map(|l| l.split_once("] ").unwrap().1.to_owned())
        .collect();
    assert_eq!(
        lines,
        [
            "DEBUG: App: step of 2 in request{id=2}",
            "ERROR: App: failed in request{id=2}"
        ]
    );
    let json = json.take_string();
    assert_eq!(json.lines().count(), 2, "{json}");
    assert!(json
        .lines()
        .next()
        .unwrap()
        .contains("\"message\":\"step of 2\""));
    let stats = buffers.stats();
    assert_eq!((stats.lines, stats.flushed), (0, 1));
}

// === every component setting reachable through init ===

#[cfg(unix)]
#[test]
fn env_reaches_every_setting_of_the_file_and_syslog_builders() {
    use std::os::unix::fs::PermissionsExt as _;
    use tracing_logbook::syslog::Facility;
    use tracing_logbook::{Env, LogFile, Mode};

    let dir = tempfile::tempdir().unwrap();
    let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    receiver
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let url = format!("udp://{}", receiver.local_addr().unwrap());
    let env = Env::new(Mode::Production)
        .log_file(LogFile::Path(dir.path().join("app.log")))
        .file_mode(0o640)
        // Applied after Env's own setters: it wins.
        .file(|b| b.mode(0o600))
        .syslog(url)
        .unwrap()
        .syslog_builder(|b| b.facility(Facility::Local3).app_name("shop"));
    let (dispatch, guard) = tracing_logbook::build(env).unwrap();
    tracing::dispatcher::with_default(&dispatch, || tracing::info!("reached"));
    assert!(guard.flush(Duration::from_secs(10)));
    let path = guard.file().unwrap().path().to_owned();
    drop(guard);
    let dated = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p != &path && p.file_name().unwrap().to_string_lossy().starts_with("app-"))
        .unwrap();
    let mode = std::fs::metadata(&dated).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{}", dated.display());
    let mut buf = [0u8; 2048];
    let n = receiver.recv(&mut buf).unwrap();
    let msg = String::from_utf8_lossy(&buf[..n]);
    // Local3 (19) * 8 + info (6) = 158, and the APP-NAME given.
    assert!(msg.starts_with("<158>1 "), "{msg}");
    assert!(msg.contains(" shop "), "{msg}");
}
