//! Flush and shutdown of every background part are bounded and never panic, whatever
//! the timeout (`Duration::MAX` included), and `Guard::flush` flushes every part even
//! when one of them is too slow.

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
    handle.shutdown(Duration::MAX);

    let (_layer, notifier) = tracing_logbook::notify::NotifyConfig::new("token")
        .build_with_transport(|_: &tracing_logbook::notify::Request<'_>| {
            Ok(tracing_logbook::notify::Response::status(200))
        });
    assert!(notifier.flush(Duration::MAX));
    notifier.shutdown(Duration::MAX);
}

/// A Rollbar endpoint that accepts connections and never answers.
#[cfg(feature = "http-client")]
fn hanging_endpoint() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api/1/item/", listener.local_addr().unwrap());
    (listener, url)
}

#[cfg(feature = "http-client")]
mod support;

/// With Rollbar's endpoint hanging, `Guard::flush` returns false by its timeout, the
/// Sentry notifier beside it has delivered, the file has every line, and dropping the
/// guard stays within SHUTDOWN_TIMEOUT. (That every part is flushed even after one
/// timed out is proved in `lifecycle.rs`'s unit tests, where the parts can be slow on
/// purpose.)
#[cfg(feature = "http-client")]
#[test]
fn a_hanging_tracker_bounds_the_guard_and_spares_the_others() {
    use std::time::Instant;
    use tracing_logbook::notify::{Dsn, NotifyConfig};
    use tracing_logbook::{Env, LogFile, Mode};
    let dir = tempfile::tempdir().unwrap();
    let (_listener, url) = hanging_endpoint();
    let rollbar = NotifyConfig::new("token")
        .endpoint(url)
        .request_timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(30));
    let sentry_server = support::server::Server::start(Vec::new());
    let dsn = Dsn::parse(&format!("http://0123abcd@{}/7", sentry_server.addr())).unwrap();
    let env = Env::new(Mode::Production)
        .log_file(LogFile::Path(dir.path().join("app.log")))
        .notify(rollbar)
        .sentry(NotifyConfig::sentry(dsn));
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
    assert!(guard.notifier().unwrap().stats().pending > 0);
    // Sentry's item was delivered within the same flush.
    assert_eq!(guard.sentry().unwrap().stats().sent, 1);
    assert_eq!(sentry_server.requests().len(), 1);
    assert_eq!(guard.file().unwrap().failed_lines(), 0);
    // Dropping the guard is bounded too (SHUTDOWN_TIMEOUT), against the hanging server.
    let started = Instant::now();
    drop(guard);
    assert!(started.elapsed() < tracing_logbook::SHUTDOWN_TIMEOUT + Duration::from_secs(2));
}
