//! The seed's scenario, end to end, with a real database: `init` in production with
//! Rollbar (a loopback server, strict schema) and Sentry (a real Bugsink, see
//! `tracing_logbook_test_support::bugsink`), the web example serving `POST /users/{id}` over SQLite.
//!
//! * The handler returns the central `AppError`, whose `IntoResponse` logs it after the
//!   handler returned; the user is recorded on the request span.
//! * A duplicate id is a primary-key violation: exactly one notification per failed
//!   request, whose class is rusqlite's error type (`SqliteFailure`), whose causes are
//!   its `source()` chain, with the request and the user. Two duplicates with different
//!   ids are one Bugsink issue with two events.
//! * A locked database: a notification saying so (its cause is "database is locked"),
//!   and not a second one for the 503.
//!
//! Its own test binary: `init` is global. Without Python or the package index the
//! Bugsink half reports itself skipped, loudly, and the Rollbar half still runs.

#![allow(clippy::print_stderr)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;
use tracing_logbook::notify::NotifyConfig;
use tracing_logbook::Env;

use tracing_logbook_test_support as support;
use tracing_logbook_test_support::bugsink;

#[path = "../src/app.rs"]
#[allow(dead_code)]
mod app;

use support::schema::Schema;
use support::server::Server;

const IO_TIMEOUT: Duration = Duration::from_secs(30);
const WAIT: Duration = Duration::from_secs(30);

/// One HTTP/1.1 `POST` with `Connection: close`; returns the status code.
fn post(addr: SocketAddr, target: &str, user: &str) -> u16 {
    let mut stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect");
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    let request = format!(
        "POST {target} HTTP/1.1\r\nHost: {addr}\r\nX-User: {user}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).expect("write request");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read response");
    let response = String::from_utf8_lossy(&response);
    response
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"))
        .parse()
        .unwrap()
}

fn loud(message: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr(), "\n{message}\n");
}

#[test]
fn a_database_failure_is_one_notification_with_everything_needed() {
    let said = tracing_logbook::testing::capture_diagnostics();
    let target = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is target/tmp");
    let bugsink = match bugsink::Bugsink::start(target, "web") {
        Ok(bugsink) => Some(bugsink),
        Err(bugsink::Skip(reason)) => {
            loud(format_args!(
                "*** SKIPPED the Bugsink half of the database test: {reason} ***"
            ));
            None
        }
    };
    let rollbar = Server::start(Vec::new());
    let dir = tempfile::tempdir().unwrap();
    let mut vars: BTreeMap<&str, String> = [
        ("APP_ENV", "production".to_owned()),
        ("LOG_FILE", dir.path().join("web.log").display().to_string()),
        ("ROLLBAR_ACCESS_TOKEN", "test".to_owned()),
        ("ROLLBAR_ENDPOINT", rollbar.endpoint()),
    ]
    .into();
    if let Some(bugsink) = &bugsink {
        vars.insert("SENTRY_DSN", bugsink.dsn.clone());
    }
    let lookup = |name: &str| vars.get(name).cloned();
    let mut env = Env::from_lookup(lookup).unwrap();
    // As the variables configure them, with deduplication off: each failed request shows
    // its own notification here (a repeat would otherwise be folded into a summary).
    env = env.notifier(
        NotifyConfig::rollbar_from_lookup(lookup, "production")
            .unwrap()
            .unwrap()
            .dedup_window(Duration::ZERO),
    );
    if let Some(sentry) = NotifyConfig::sentry_from_lookup(lookup, "production").unwrap() {
        env = env.notifier(sentry.dedup_window(Duration::ZERO));
    }
    let guard = tracing_logbook::init(env).unwrap();

    let db_path = dir.path().join("users.db");
    let service = app::TestService::start(app::open_db(&db_path).unwrap());
    let addr = service.addr;

    // Two ids created, each once more: two primary-key violations.
    for id in [17, 18] {
        assert_eq!(post(addr, &format!("/users/{id}"), "ann"), 201);
        assert_eq!(post(addr, &format!("/users/{id}"), "ann"), 409);
    }
    // The database locked by another process's transaction while serving.
    let other = rusqlite::Connection::open(&db_path).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    assert_eq!(post(addr, "/users/19", "bob"), 503);
    other.execute_batch("COMMIT").unwrap();
    drop(other);

    assert!(
        guard.flush(WAIT),
        "{:?}",
        guard
            .notifier(tracing_logbook::notify::Destination::Rollbar)
            .unwrap()
            .stats()
    );
    service.stop();

    // --- Rollbar: exactly one item per failed request, strict.
    let items: Vec<Value> = rollbar.requests().iter().map(|r| r.json()).collect();
    assert_eq!(items.len(), 3, "{items:#?}");
    let schema = Schema::load();
    items.iter().for_each(|item| schema.assert_strict(item));
    let [first, second, locked] = [&items[0]["data"], &items[1]["data"], &items[2]["data"]];
    assert_eq!(first["title"], "cannot insert user 17");
    assert_eq!(second["title"], "cannot insert user 18");
    let chain = first["body"]["trace_chain"].as_array().unwrap();
    assert_eq!(
        support::schema::chain_links(first),
        [
            ("SqliteFailure", "UNIQUE constraint failed: users.id"),
            ("Error", "Error code 1555: A PRIMARY KEY constraint failed"),
        ],
        "{first:#}"
    );
    assert!(chain[0]["frames"][0]["filename"]
        .as_str()
        .unwrap()
        .ends_with("src/app.rs"));
    assert_eq!(first["fingerprint"], second["fingerprint"], "one issue");
    let request = &first["request"];
    assert_eq!(request["method"], "POST");
    assert_eq!(request["url"], format!("http://{addr}/users/17"));
    assert_eq!(request["route"], "/users/{id}");
    assert_eq!(first["context"], "/users/{id}");
    assert_eq!(first["person"]["id"], "ann");
    assert_eq!(first["environment"], "production");

    assert_eq!(
        locked["title"],
        "the database is unavailable: cannot insert user 19"
    );
    let cause = &locked["body"]["trace_chain"][0]["exception"];
    assert_eq!(cause["class"], "SqliteFailure");
    assert_eq!(cause["message"], "database is locked");
    assert_eq!(locked["person"]["id"], "bob");
    assert_ne!(locked["fingerprint"], first["fingerprint"]);

    // --- Bugsink: the two duplicates are one issue with two events, typed.
    if let Some(bugsink) = &bugsink {
        let sentry = guard
            .notifier(tracing_logbook::notify::Destination::Sentry)
            .unwrap()
            .stats();
        assert_eq!((sentry.sent, sentry.failed), (3, 0), "{sentry:?}");
        let issues = bugsink.issues();
        assert_eq!(issues.len(), 2, "{issues:#?}\n{}", bugsink.server.log());
        let duplicate = issues
            .iter()
            .find(|i| i["calculated_value"] == "UNIQUE constraint failed: users.id")
            .unwrap_or_else(|| panic!("{issues:#?}"));
        assert_eq!(
            duplicate["calculated_type"], "SqliteFailure",
            "{duplicate:#}"
        );
        let events = bugsink.events(duplicate);
        assert_eq!(events.len(), 2, "{events:#?}");
        let mut titles: Vec<&str> = events
            .iter()
            .map(|e| e["data"]["logentry"]["formatted"].as_str().unwrap())
            .collect();
        titles.sort();
        assert_eq!(titles, ["cannot insert user 17", "cannot insert user 18"]);
        for event in &events {
            let data = &event["data"];
            let values = data["exception"]["values"].as_array().unwrap();
            assert_eq!(values.last().unwrap()["type"], "SqliteFailure");
            assert_eq!(
                values[0]["value"],
                "Error code 1555: A PRIMARY KEY constraint failed"
            );
            assert_eq!(data["user"]["id"], "ann");
            assert_eq!(data["transaction"], "/users/{id}");
            assert_eq!(data["request"]["method"], "POST");
        }
        let locked = issues
            .iter()
            .find(|i| i["calculated_value"] == "database is locked")
            .unwrap_or_else(|| panic!("{issues:#?}"));
        assert_eq!(locked["calculated_type"], "SqliteFailure");
    }
    drop(guard);
    said.assert_said("production: lines go to");
}
