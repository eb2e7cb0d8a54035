//! At `RUST_LOG=trace`, the HTTP client's own output (ureq-proto logs every byte of a
//! request, credentials included, as hex and text rows) never reaches an output: the
//! Rollbar token and the Sentry key appear nowhere in the log file. Its own process:
//! the client logs from the notifier's thread through the global `log` bridge.

#![cfg(feature = "http-client")]

use tracing_logbook_test_support as support;

use std::time::Duration;

use support::server::Server;
use tracing_logbook::notify::{Dsn, NotifyConfig};
use tracing_logbook::{Env, LogFile, Mode};

const TOKEN: &str = "Tok3nNeverLogged";
const KEY: &str = "0123abcdkeyneverlogged";

/// The text column of ureq-proto's byte rows, joined: where a header would be spelled
/// out, 16 bytes per line.
fn client_rows(log: &str) -> String {
    log.lines()
        .filter(|line| line.contains("ureq_proto"))
        .map(|line| &line[line.len().saturating_sub(16)..])
        .collect()
}

#[test]
fn the_http_clients_trace_output_never_carries_the_credentials() {
    let said = tracing_logbook::testing::capture_diagnostics();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let rollbar = Server::start(vec![]);
    let sentry = Server::start(vec![]);
    let dsn = Dsn::parse(&format!("http://{KEY}@{}/7", sentry.addr())).unwrap();
    let env = Env::new(Mode::Production)
        .filter("trace")
        .unwrap()
        .log_file(LogFile::Path(path.clone()))
        .notifier(NotifyConfig::rollbar(TOKEN).endpoint(rollbar.endpoint()))
        .notifier(NotifyConfig::sentry(dsn));
    let guard = tracing_logbook::init(env).unwrap();
    tracing::error!("the database is down");
    log::debug!(target: "my_app::db", "a debug line of the application's own");
    assert!(guard.flush(Duration::from_secs(20)));
    assert_eq!(rollbar.requests().len(), 1);
    assert_eq!(sentry.requests().len(), 1);
    drop(guard);
    // Every file of the directory (daily files carry the date in their names; the
    // notification spool, `.notify-spool/`, is a directory beside them).
    let mut log = String::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            log.push_str(&std::fs::read_to_string(path).unwrap());
        }
    }
    assert!(log.contains("the database is down"), "{log}");
    // `log` records still come through at trace: only the client's are held back.
    assert!(
        log.contains("a debug line of the application's own"),
        "{log}"
    );
    let rows = client_rows(&log);
    for secret in [TOKEN, KEY] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
        assert!(
            !rows.contains(secret),
            "{secret} in the client's rows:\n{log}"
        );
    }
    said.assert_said("production: lines go to");
}
