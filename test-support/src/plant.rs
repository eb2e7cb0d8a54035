//! One secret planted in every part of a notification at once, for the end-to-end
//! scrubbing tests of both destinations.

use std::fmt;

/// The secret: a unique string that must never reach the server.
pub const SECRET: &str = "Zq7hunter2Xv";

/// How many notifications [`log_the_secret_everywhere`] makes: a `log` record at
/// `ERROR`, an error inside a request (twice: the second is folded into a summary),
/// the summary, and a panic.
pub const NOTIFICATIONS: usize = 4;

/// The dedup window to configure, short enough for the summary to come soon.
pub const DEDUP_WINDOW: std::time::Duration = std::time::Duration::from_millis(300);

/// An error whose cause holds the secret in a URL: `a: b` chains are sent as text.
#[derive(Debug)]
struct Outer(Inner);
#[derive(Debug)]
struct Inner(String);

impl fmt::Display for Outer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("pool exhausted")
    }
}
impl std::error::Error for Outer {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}
impl fmt::Display for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot reach {}", self.0)
    }
}
impl std::error::Error for Inner {}

fn log_record(level: log::Level, message: &str) {
    // What the `log` bridge does with a record, without installing a global logger.
    tracing_log::format_trace(
        &log::Record::builder()
            .target("legacy::db")
            .level(level)
            .file(Some("src/legacy/db.rs"))
            .line(Some(42))
            .args(format_args!("{message}"))
            .build(),
    )
    .unwrap();
}

/// Logs [`SECRET`] in every part a notification carries: the message, event fields, an
/// error's cause chain, span fields, a request span's URL (userinfo password with
/// `#`, `/` and `@` in it, and a query parameter), headers and body, telemetry lines
/// (fields and message), a `log` record, a panic's message and backtrace, and the dedup
/// summary of a repeated error. Next to it are neighbours that must survive:
/// `page=2`, the hosts `api.example.com` and `db.internal:5432`, the user `ann`.
pub fn log_the_secret_everywhere() {
    let s = SECRET;
    // Telemetry outside requests: a field and the message.
    tracing::info!(api_key = s, "calling the bank with password={s}");
    // A `log` record: a telemetry line, and a notification of its own.
    log_record(log::Level::Info, &format!("legacy login token={s}"));
    log_record(
        log::Level::Error,
        &format!("legacy db postgres://app:{s}@db.internal:5432/x unreachable"),
    );

    let request = tracing::info_span!(
        "request",
        method = "POST",
        url = format!("https://app:{s}#/@x@api.example.com/login?token={s}&page=2"),
        route = "/login",
        headers.authorization = format!("Bearer {s}"),
        headers.cookie = format!("sid={s}"),
        body = format!(r#"{{"user": "ann", "api_key": "{s}"}}"#),
        // The user: `person` / `user` from these; the email (not opted in) is scrubbed.
        user.id = "ann-1",
        user.name = "ann",
        user.email = format!("ann.{s}@example.com"),
    );
    let _request = request.entered();
    let _db = tracing::info_span!("db", token = s, table = "orders").entered();
    // Telemetry of the request: a field whose value has spaces, a header in the message.
    tracing::warn!(
        password = %format_args!("{s} and more"),
        "retrying with Authorization: Bearer {s}"
    );
    let cause = Outer(Inner(format!("postgres://app:{s}@db.internal:5432/x")));
    for _ in 0..2 {
        tracing::error!(
            password = s,
            error = &cause as &(dyn std::error::Error + 'static),
            "connecting to postgres://app:{s}@db.internal:5432/x failed; token={s}"
        );
    }
    let message = format!("boom: secret={s}");
    // What `tracing_logbook::critical!(target: "panic", ...)` expands to (this crate does
    // not depend on the library: see its Cargo.toml).
    tracing::event!(
        target: "panic",
        tracing::Level::ERROR,
        logbook.level = "critical",
        panic.message = message.as_str(),
        panic.location = "src/pay.rs:10:5",
        panic.thread = "worker-1",
        panic.backtrace = format!(
            "   0: pay::charge::{{{{closure}}}} secret={s}\n             at ./src/pay.rs:10:5\n   1: pay::main\n             at ./src/main.rs:3:1\n"
        ),
        "thread 'worker-1' panicked at src/pay.rs:10:5: {message}"
    );
}

/// Asserts that no body holds the secret, and that every part it was planted in was
/// sent (`texts`: the bodies as text, one per notification).
pub fn assert_no_secret(texts: &[String]) {
    assert_eq!(texts.len(), NOTIFICATIONS, "{texts:#?}");
    for text in texts {
        assert!(!text.contains(SECRET), "the secret leaked: {text}");
    }
    let all = texts.concat();
    for neighbour in [
        "page=2",
        "api.example.com",
        "db.internal:5432",
        "\\\"user\\\": \\\"ann\\\"",
        "calling the bank with password=***",
        "legacy login token=***",
        "Authorization: Bearer ***",
        "pool exhausted: cannot reach postgres://app:***@db.internal:5432/x",
        "boom: secret=***",
        "pay::charge::{{closure}} secret=***",
        "repeated 1 more time",
    ] {
        assert!(all.contains(neighbour), "{neighbour} is missing: {all}");
    }
}

/// After [`log_the_secret_everywhere`]: waits for every notification (the summary comes
/// when the dedup window ends), stops the notifier, checks that no request body holds
/// the secret, and returns the requests for the destination's own checks.
///
/// The notifier is the test's (`tracing_logbook::notify::NotifyHandle`), by what this
/// needs of it: `flush(wait)`, its stats for a failure's message, `shutdown(wait)`.
pub fn delivered_without_the_secret(
    server: &crate::server::Server,
    wait: std::time::Duration,
    flush: impl FnOnce(std::time::Duration) -> bool,
    stats: impl FnOnce() -> String,
    shutdown: impl FnOnce(std::time::Duration),
) -> Vec<crate::server::Recorded> {
    assert!(flush(wait));
    assert!(server.wait_for(NOTIFICATIONS, wait), "{}", stats());
    shutdown(wait);
    let requests = server.requests();
    let texts: Vec<String> = requests
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert_no_secret(&texts);
    requests
}
