//! Fingers crossed under load: `init` in production with `LOG_FINGERS_CROSSED=debug` and
//! the default threshold (`info`), 100 concurrent requests of which half fail. A failed
//! request's DEBUG lines are in the file before its error, in order and with their own
//! times; a successful request's DEBUG lines are nowhere.
//!
//! `init` is global: this file holds this one test (its own process).

use std::collections::{BTreeMap, BTreeSet};

use tracing_logbook::Env;

#[path = "../src/app.rs"]
#[allow(dead_code)]
mod app;
mod common;

const CONCURRENT: usize = 100;
const CLIENT_THREADS: usize = 16;

/// The value of `request_id=` in a line.
fn request_id(line: &str) -> &str {
    let rest = &line[line.find("request_id=").unwrap_or_else(|| panic!("{line}")) + 11..];
    &rest[..rest.find([' ', '}']).unwrap()]
}

#[test]
fn failed_requests_write_their_debug_lines_before_their_error() {
    let said = tracing_logbook::testing::capture_diagnostics();
    let dir = tempfile::tempdir().unwrap();
    let log_file = dir.path().join("web.log");
    let vars: BTreeMap<&str, String> = [
        ("APP_ENV", "production".to_owned()),
        ("LOG_FILE", log_file.display().to_string()),
        ("LOG_FINGERS_CROSSED", "debug".to_owned()),
    ]
    .into();
    let env = Env::from_lookup(|name| vars.get(name).cloned()).unwrap();
    let guard = tracing_logbook::init(env).unwrap();

    // The database beside the log directory, whose every file the test reads.
    let db_dir = tempfile::tempdir().unwrap();
    let service = app::TestService::start(app::open_db(&db_dir.path().join("users.db")).unwrap());
    let addr = service.addr;

    // Even requests succeed (one DEBUG line each), odd ones fail (two DEBUG lines).
    common::concurrently(addr, CONCURRENT, CLIENT_THREADS, "r-", |i| {
        if i.is_multiple_of(2) {
            (format!("/items/{i}"), 200)
        } else {
            ("/fail".to_owned(), 500)
        }
    });
    service.stop();
    let buffered = guard.buffered().unwrap();
    let file = guard.file().unwrap().clone();
    drop(guard);

    let mut text = String::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let entry = entry.unwrap();
        // The dated files only, not the link to the current one.
        if entry.file_type().unwrap().is_file() {
            text.push_str(&std::fs::read_to_string(entry.path()).unwrap());
        }
    }
    // Per request, its lines in file order: (timestamp, level and message).
    let mut requests: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut order: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let (stamp, rest) = line.split_once("] ").unwrap();
        let id = request_id(rest).to_owned();
        let what = rest[..rest.find(" in request{").unwrap()].to_owned();
        order.push((id.clone(), what.clone()));
        requests
            .entry(id)
            .or_default()
            .push((stamp.to_owned(), what));
    }
    assert_eq!(requests.len(), CONCURRENT, "every request has lines");
    // A flushed buffer is written in one piece and counted line by line.
    assert_eq!(file.written_lines(), text.lines().count() as u64);
    assert_eq!(file.dropped_lines() + file.failed_lines(), 0);
    let mut failed = BTreeSet::new();
    for (id, lines) in &requests {
        let i: usize = id[2..].parse().unwrap();
        let what: Vec<&str> = lines.iter().map(|(_, w)| w.as_str()).collect();
        if i.is_multiple_of(2) {
            assert_eq!(what.len(), 1, "{id}: {what:#?}");
            assert!(
                what[0].starts_with("INFO: http: 200 OK "),
                "{id}: {what:#?}"
            );
            continue;
        }
        failed.insert(i);
        // The INFO line was written at once; the two DEBUG lines when the error came,
        // just before it, with the times they were logged at; after the error, the
        // request's later DEBUG lines (tower-http's end of stream) at once.
        let (head, tail) = what.split_at(4.min(what.len()));
        assert!(
            head.len() == 4
                && head[0].starts_with("INFO: ")
                && head[0].ends_with("app: calling the payment backend")
                && head[1].starts_with("DEBUG: ")
                && head[1].ends_with("app: connecting backend=payments")
                && head[2].starts_with("DEBUG: ")
                && head[2].ends_with("app: connection refused attempt=1")
                && head[3].starts_with("ERROR: http: 500 Internal Server Error"),
            "{id}: {what:#?}"
        );
        assert!(
            tail.iter().all(|w| w.starts_with("DEBUG: tower_http::")),
            "{id}: {what:#?}"
        );
        let stamps: Vec<&str> = lines.iter().map(|(s, _)| s.as_str()).collect();
        assert!(
            stamps[1] <= stamps[0] && stamps[0] <= stamps[2] && stamps[2] <= stamps[3],
            "{id}: {stamps:?}"
        );
    }
    assert_eq!(failed.len(), CONCURRENT / 2);
    // Just before its error in the file: the two held lines and the error are one piece,
    // with no line of another request between them.
    for (at, (id, what)) in order.iter().enumerate() {
        if what.starts_with("ERROR: ") {
            assert!(at >= 2, "{id}");
            assert_eq!(
                [order[at - 2].0.as_str(), order[at - 1].0.as_str()],
                [id.as_str(), id.as_str()],
                "{id}: {:#?}",
                &order[at - 2..=at]
            );
            assert!(
                order[at - 2].1.starts_with("DEBUG: ") && order[at - 1].1.starts_with("DEBUG: ")
            );
        }
    }
    // No DEBUG line of a successful request ("looking the item up") anywhere.
    assert!(!text.contains("looking the item up"), "{text}");
    assert_eq!(
        (buffered.lines, buffered.bytes, buffered.dropped),
        (0, 0, 0)
    );
    assert_eq!(buffered.flushed, (CONCURRENT / 2) as u64);
    said.assert_said("production: lines go to");
}
