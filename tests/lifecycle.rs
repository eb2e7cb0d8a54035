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
        .notify(
            // The request would hang longer than any deadline.
            NotifyConfig::new("token")
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
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "panic_child_with_a_hanging_tracker",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(PANIC_CHILD, url)
        .env("RUST_BACKTRACE", "0")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the child ended")
        .unwrap();
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    // The shutdown had only what the flush (PANIC_FLUSH_TIMEOUT) left of SHUTDOWN_TIMEOUT.
    let left = tracing_logbook::SHUTDOWN_TIMEOUT - tracing_logbook::panic::PANIC_FLUSH_TIMEOUT;
    let said = stderr
        .split("not delivered within the shutdown deadline of ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|secs| secs.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no shutdown report: {stderr}"));
    assert!(said <= left.as_secs_f64() + 0.05, "{said} s: {stderr}");
    // Process start and the test harness included.
    assert!(
        elapsed < tracing_logbook::SHUTDOWN_TIMEOUT + Duration::from_secs(2),
        "{elapsed:?}"
    );
}
