//! The web example's service, end to end: `init` in production (daily file, Rollbar
//! notifications to a loopback server), requests over loopback, then the file's lines and
//! the items received.
//!
//! `init` is global, so this file holds one end-to-end test; the notifier's per-request
//! behaviour (own telemetry, summaries that keep the last request) is tested on local
//! subscribers.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::Value;
use tracing_logbook::notify::NotifyConfig;
use tracing_logbook::Env;

use tracing_logbook_test_support as support;

#[path = "../src/app.rs"]
#[allow(dead_code)]
mod app;
mod common;

use common::get;

use support::schema::Schema;
use support::server::Server;

/// How many concurrent requests the load phase sends.
const CONCURRENT: usize = 200;
const CLIENT_THREADS: usize = 16;

/// What the concurrent phase's request `i` asks for: (target, expected status).
fn mixed(i: usize) -> (String, u16) {
    match i % 4 {
        0 => (format!("/items/{i}?id={i}"), 200),
        1 => (format!("/nope/{i}?id={i}"), 404),
        2 => (format!("/fail?id={i}&password=pw-{i}"), 500),
        _ => (format!("/panic?id={i}"), 500),
    }
}

/// The Logbook records of every file in `dir` (a record's continuation lines, such as a
/// panic's backtrace, joined to it), without timestamps.
fn file_lines(dir: &std::path::Path) -> Vec<String> {
    let mut records: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_symlink() || !path.is_file() {
            // The stable name of the current file (read as its dated file), and the
            // notification spool's directory.
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        for line in text.lines() {
            match line.split_once("] ") {
                Some((_, rest)) if line.starts_with('[') => records.push(rest.to_owned()),
                _ => {
                    let last = records.last_mut().expect("a continuation line first");
                    last.push('\n');
                    last.push_str(line);
                }
            }
        }
    }
    records
}

/// The value of `name=` in a line (up to the next space or `}`).
fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let start = [' ', '{']
        .iter()
        .find_map(|c| line.find(&format!("{c}{name}=")))?
        + name.len()
        + 2;
    let rest = &line[start..];
    let rest = rest
        .strip_prefix('"')
        .map_or(rest, |r| &r[..r.find('"').unwrap()]);
    Some(&rest[..rest.find([' ', '}']).unwrap_or(rest.len())])
}

#[test]
fn web_service_end_to_end() {
    let said = tracing_logbook::testing::capture_diagnostics();
    let rollbar = Server::start(Vec::new());
    let dir = tempfile::tempdir().unwrap();
    let log_file = dir.path().join("web.log");
    let vars: BTreeMap<&str, String> = [
        ("APP_ENV", "production".to_owned()),
        ("LOG_FILE", log_file.display().to_string()),
        ("ROLLBAR_ACCESS_TOKEN", "test".to_owned()),
        ("ROLLBAR_ENDPOINT", rollbar.endpoint()),
    ]
    .into();
    let lookup = |name: &str| vars.get(name).cloned();
    let env = Env::from_lookup(lookup).unwrap();
    // The same notifier the variables configure, except that deduplication is off (every
    // failed request must show its own item here; see `repeated_failures_keep_their_requests`)
    // and the queue holds the whole burst.
    let notify = NotifyConfig::rollbar_from_lookup(lookup, "production")
        .unwrap()
        .expect("ROLLBAR_ACCESS_TOKEN is set")
        .dedup_window(Duration::ZERO)
        .queue_size(4 * CONCURRENT);
    let guard = tracing_logbook::init(env.notifier(notify)).unwrap();

    // Beside the log directory: `file_lines` reads every file in it.
    let db_dir = tempfile::tempdir().unwrap();
    let service = app::TestService::start(app::open_db(&db_dir.path().join("users.db")).unwrap());
    let addr = service.addr;

    // --- one request of each kind, in order
    assert_eq!(get(addr, "/", &[("x-request-id", "seq-200")]), 200);
    assert_eq!(get(addr, "/nope", &[("x-request-id", "seq-404")]), 404);
    let headers = [
        ("x-request-id", "seq-500"),
        ("authorization", "Bearer bearer-secret"),
        ("cookie", "session=cookie-secret"),
        ("user-agent", "web-test/1.0"),
    ];
    assert_eq!(get(addr, "/fail?user=ann&password=hunter2", &headers), 500);
    assert_eq!(get(addr, "/panic", &[("x-request-id", "seq-panic")]), 500);
    assert_eq!(
        get(
            addr,
            "/login?user=ann&password=hunter2",
            &[("x-request-id", "seq-login")]
        ),
        200
    );

    // --- CONCURRENT mixed requests with distinct ids, from CLIENT_THREADS threads
    common::concurrently(addr, CONCURRENT, CLIENT_THREADS, "c-", mixed);

    // Graceful stop, then the guard delivers what is queued and closes the file.
    service.stop();
    // Every item delivered before the guard goes (bounded): on a loaded machine 100
    // deliveries may take longer than the drop's SHUTDOWN_TIMEOUT, and what is pending
    // then goes to the spool, not to the tracker this test reads.
    assert!(
        guard.flush(Duration::from_secs(60)),
        "not delivered in 60 s"
    );
    let stats = guard
        .notifier(tracing_logbook::notify::Destination::Rollbar)
        .unwrap()
        .stats();
    drop(guard);

    // --- the file: one request line per request, in its request span
    let lines = file_lines(dir.path());
    let text = lines.join("\n");
    for secret in ["hunter2", "bearer-secret", "cookie-secret", "pw-1"] {
        assert!(!text.contains(secret), "{secret} in the log file:\n{text}");
    }
    let request_lines: Vec<&String> = lines.iter().filter(|l| l.contains(": http: ")).collect();
    let mut expected: BTreeMap<String, (String, u16)> = [
        ("seq-200", "/", 200),
        ("seq-404", "/nope", 404),
        ("seq-500", "/fail?user=ann&password=***", 500),
        ("seq-panic", "/panic", 500),
        ("seq-login", "/login?user=ann&password=***", 200),
    ]
    .into_iter()
    .map(|(id, url, status)| (id.to_owned(), (url.to_owned(), status)))
    .collect();
    for i in 0..CONCURRENT {
        let (target, status) = mixed(i);
        let url = target.replace(&format!("password=pw-{i}"), "password=***");
        expected.insert(format!("c-{i}"), (url, status));
    }
    let mut seen = BTreeSet::new();
    for line in &request_lines {
        let id = field(line, "request_id").unwrap_or_else(|| panic!("no request_id: {line}"));
        let (url, status) = &expected[id];
        assert!(seen.insert(id.to_owned()), "two lines for {id}: {line}");
        assert_eq!(field(line, "method"), Some("GET"), "{line}");
        assert_eq!(field(line, "url"), Some(url.as_str()), "{line}");
        assert_eq!(
            field(line, "status"),
            Some(status.to_string().as_str()),
            "{line}"
        );
        assert!(field(line, "latency_ms").is_some(), "{line}");
        let level = match (*status, url.starts_with("/panic")) {
            (500, true) => "WARNING",
            (500, false) => "ERROR",
            _ => "INFO",
        };
        assert!(
            line.starts_with(&format!("{level}: http: {status} ")),
            "{line}"
        );
    }
    assert_eq!(seen.len(), expected.len(), "one line per request");
    // Each panic is logged as CRITICAL inside its own request span.
    let panics: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("CRITICAL: panic: "))
        .collect();
    assert_eq!(panics.len(), 1 + CONCURRENT / 4, "{panics:#?}");
    for line in &panics {
        let id = field(line, "request_id").unwrap_or_else(|| panic!("not in a request: {line}"));
        assert!(expected[id].0.starts_with("/panic"), "{line}");
        assert_eq!(field(line, "route"), Some("/panic"), "{line}");
    }

    // --- the items: one per failed request, each with its own request
    let failed: BTreeSet<String> = expected
        .iter()
        .filter(|(_, (_, status))| *status >= 500)
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(
        stats.dropped + stats.failed + stats.suppressed,
        0,
        "{stats:?}"
    );
    let received = rollbar.requests();
    assert_eq!(received.len(), failed.len(), "one item per failed request");
    let schema = Schema::load();
    let mut notified = BTreeSet::new();
    for recorded in &received {
        assert_eq!(recorded.header("X-Rollbar-Access-Token"), Some("test"));
        let item = recorded.json();
        schema.assert_strict(&item);
        let body = item.to_string();
        for secret in ["hunter2", "bearer-secret", "cookie-secret", "pw-"] {
            assert!(!body.contains(secret), "{secret} in {item:#}");
        }
        let data = &item["data"];
        let request = &data["request"];
        let id = request["request_id"]
            .as_str()
            .unwrap_or_else(|| panic!("{item:#}"));
        assert!(notified.insert(id.to_owned()), "two items for {id}");
        let (url, _) = &expected[id];
        // Absolute: the Host header names the server.
        assert_eq!(request["url"], format!("http://{addr}{url}"), "{item:#}");
        assert_eq!(request["method"], "GET");
        assert_eq!(request["user_ip"], "127.0.0.1");
        assert_eq!(data["environment"], "production");
        if url.starts_with("/panic") {
            assert_eq!(data["level"], "critical", "{item:#}");
            assert_eq!(request["route"], "/panic");
            let exception = &data["body"]["trace"]["exception"];
            assert_eq!(exception["class"], "panic");
            assert!(
                exception["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("index out of bounds"),
                "{item:#}"
            );
            // The panic is reported before the response exists: no status yet.
            assert_eq!(request.get("status_code"), None);
            // Where the handler panicked, not where the crate's hook reported it.
            let custom = &data["custom"];
            assert!(
                custom["file"].as_str().unwrap().ends_with("src/app.rs"),
                "{custom:#}"
            );
            assert!(
                custom["module"].as_str().unwrap().ends_with("app"),
                "{custom:#}"
            );
        } else {
            assert_eq!(data["level"], "error", "{item:#}");
            assert_eq!(request["route"], "/fail");
            assert_eq!(request["status_code"], 500);
            // Titled with the method and route: the handler logged no error of its own.
            assert_eq!(
                data["body"]["message"]["body"],
                "GET /fail 500 Internal Server Error"
            );
            assert_eq!(data["context"], "/fail");
        }
        // The item's spans are its own request's, never a neighbour's.
        let spans = data["custom"]["spans"].as_array().unwrap();
        assert_eq!(spans.len(), 1, "{item:#}");
        assert_eq!(spans[0]["fields"]["request_id"], id);
    }
    assert_eq!(notified, failed, "items for exactly the failed requests");

    // The first 500's selected headers: scrubbed credentials, the rest as sent.
    let first = received
        .iter()
        .map(|r| r.json())
        .find(|item| item["data"]["request"]["request_id"] == "seq-500")
        .unwrap();
    let headers = &first["data"]["request"]["headers"];
    assert_eq!(headers["Authorization"], "***", "{first:#}");
    assert_eq!(headers["Cookie"], "***", "{first:#}");
    assert_eq!(headers["User-Agent"], "web-test/1.0", "{first:#}");
    said.assert_said("production: lines go to");
}

/// A notifier and the web hooks on a local subscriber; returns the items received.
fn local_items(config: impl FnOnce(NotifyConfig) -> NotifyConfig, f: impl FnOnce()) -> Vec<Value> {
    use tracing_subscriber::prelude::*;
    let rollbar = Server::start(Vec::new());
    let (layer, handle) =
        config(NotifyConfig::rollbar("test").endpoint(rollbar.endpoint())).build();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), f);
    handle.shutdown(Duration::from_secs(10));
    rollbar.requests().iter().map(|r| r.json()).collect()
}

/// Serves one request through the web hooks, with `status`.
fn request(id: &str, status: u16) {
    let req = http::Request::get(format!("/orders?id={id}"))
        .header("x-request-id", id)
        .body(())
        .unwrap();
    let span = tracing_logbook::web::request_span(&req, Some("/orders"), None);
    span.in_scope(|| tracing::info!(id, "handling"));
    let res = http::Response::builder().status(status).body(()).unwrap();
    tracing_logbook::web::on_response(&res, Duration::from_millis(1), &span);
}

/// A failed request's item carries its own lines as telemetry, not those of the requests
/// before it (or, under load, of its neighbours).
#[test]
fn telemetry_is_the_failed_requests_own() {
    let items = local_items(
        |c| c,
        || {
            request("other", 200);
            request("failed", 500);
        },
    );
    assert_eq!(items.len(), 1);
    let telemetry = items[0]["data"]["body"]["telemetry"].as_array().unwrap();
    for line in telemetry {
        let text = line["body"]["message"].as_str().unwrap();
        assert!(!text.contains("other"), "another request's line: {text}");
    }
}

/// With the default 60 s window the second failed request of a route is folded into a
/// summary; the summary carries the latest repeat's request, so which request failed last
/// is not lost.
#[test]
fn repeated_failures_keep_their_requests() {
    let items = local_items(
        |c| c,
        || {
            request("first", 500);
            request("second", 500);
        },
    );
    let ids: Vec<&Value> = items
        .iter()
        .map(|item| &item["data"]["request"]["request_id"])
        .collect();
    assert!(ids.contains(&&Value::from("second")), "{items:#?}");
}
