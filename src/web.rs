//! Web services: one request span per request, one line per response, one notification
//! per failed request (feature `http`).
//!
//! Plain functions over the [`http`] crate's types, meant for tower-http's `TraceLayer`
//! (any framework built on `http` works: axum, tonic, hyper services):
//!
//! * [`request_span`] makes the span every line of the request is logged in, with the
//!   field names the notifier maps onto Rollbar's `request`: `method`, `url` (secret
//!   query parameters already scrubbed; absolute in notifications, with
//!   `server.address`, the Host, and `url.scheme` when the URI or `X-Forwarded-Proto`
//!   says it), `route`, `client.address`, `request_id`,
//!   `http.request.header.*` for the [`HEADERS`] (Authorization and Cookie only as
//!   `***`), and `status` once the response is known. Secrets are scrubbed before they
//!   are recorded, so they reach neither the log file nor a notification.
//! * [`on_response`] writes the request's one line, at `INFO` below 500 and at `ERROR`
//!   for a 5xx. A request has one notification: the error its handler logged inside the
//!   request span (with its class, causes, request and user) when there is one, and the
//!   5xx line, titled `GET /users/{id} 500 Internal Server Error`, only otherwise.
//! * [`panic_response`] answers a panicking handler (for tower-http's
//!   `CatchPanicLayer::custom`) and marks the response [`Panicked`]: the panic hook has
//!   already sent the panic (with its backtrace) as `CRITICAL` inside the request span,
//!   so the request's line is a `WARNING`, not a second notification.
//! * [`on_failure`] reports a failure that is not a status code (an I/O error while
//!   streaming the body) at `ERROR`.
//!
//! The span is made at `ERROR` level so that it exists whenever errors are logged (a
//! `RUST_LOG=warn` must not strip the request from a notification). Events and the span
//! use the target [`TARGET`] (`http`): `RUST_LOG=info,http=warn` hides the lines of
//! successful requests.
//!
//! # With axum and tower-http
//!
//! (Not compiled here, where axum is not a dependency: the same code is the web example's
//! `examples/web/src/app.rs`, built and tested with it.)
//!
//! ```ignore
//! use std::net::SocketAddr;
//! use std::time::Duration;
//!
//! use axum::extract::{ConnectInfo, MatchedPath, Request};
//! use axum::{routing::get, Router};
//! use tower_http::catch_panic::CatchPanicLayer;
//! use tower_http::classify::ServerErrorsFailureClass;
//! use tower_http::trace::TraceLayer;
//! use tracing::Span;
//! use tracing_logbook::web;
//!
//! let app: Router = Router::new()
//!     .route("/", get(|| async { "hello" }))
//!     // Inside the TraceLayer: a panic is caught in the request span.
//!     .layer(CatchPanicLayer::custom(web::panic_response))
//!     .layer(
//!         TraceLayer::new_for_http()
//!             .make_span_with(|req: &Request| {
//!                 let route = req.extensions().get::<MatchedPath>().map(MatchedPath::as_str);
//!                 let client = req
//!                     .extensions()
//!                     .get::<ConnectInfo<SocketAddr>>()
//!                     .map(|ConnectInfo(addr)| addr.ip());
//!                 web::request_span(req, route, client)
//!             })
//!             .on_request(())
//!             .on_response(web::on_response)
//!             .on_failure(|class, latency: Duration, span: &Span| {
//!                 // A 5xx status was reported by on_response already.
//!                 if let ServerErrorsFailureClass::Error(error) = class {
//!                     web::on_failure(error, latency, span);
//!                 }
//!             }),
//!     );
//! ```
//!
//! Serve it with `into_make_service_with_connect_info::<SocketAddr>()` for the client
//! address. `examples/web` is a complete service (`cargo run -p
//! tracing-logbook-example-web`, then `curl -i localhost:3000/fail`); the README's copy
//! of this code is compiled against axum by `scripts/check-readme.sh`.
//!
//! # What you get
//!
//! One line per request with its status and latency, inside the request span (`method`,
//! `url`, `route`, `client.address`, `request_id` from `x-request-id` or a fresh UUID,
//! the User-Agent, Referer, Content-Type and X-Forwarded-For headers, `status`); every
//! line a handler logs carries the same span:
//!
//! ```text
//! [2026-11-23 19:28:08.123456] INFO: http: 200 OK latency_ms=0.412 in request{method=GET url=/orders/7 request_id=5f0e3c… route=/orders/{id} client.address=127.0.0.1 http.request.header.user_agent=curl/8.5.0 status=200}
//! [2026-11-23 19:28:08.130001] INFO: http: 404 Not Found latency_ms=0.051 in request{method=GET url=/nope request_id=8c41d2… client.address=127.0.0.1 status=404}
//! [2026-11-23 19:28:08.140377] INFO: http: 200 OK latency_ms=0.233 in request{method=GET url="/login?user=ann&password=***" request_id=1b7a55… route=/login client.address=127.0.0.1 status=200}
//! [2026-11-23 19:28:08.151208] ERROR: http: 500 Internal Server Error latency_ms=1.03 in request{method=GET url=/fail request_id=e2d9f0… route=/fail client.address=127.0.0.1 status=500}
//! [2026-11-23 19:28:08.160544] CRITICAL: panic: thread 'tokio-runtime-worker' panicked at src/orders.rs:40:23: index out of bounds: the len is 0 but the index is 0 in request{method=GET url=/panic request_id=0c6e2b… route=/panic client.address=127.0.0.1}
//! [2026-11-23 19:28:08.160790] WARNING: http: 500 Internal Server Error (the handler panicked) latency_ms=2.61 in request{method=GET url=/panic request_id=0c6e2b… route=/panic client.address=127.0.0.1 status=500}
//! ```
//!
//! In production (`APP_ENV=production`, `ROLLBAR_ACCESS_TOKEN`) a 5xx response is one
//! `error` item and a panicking handler one `critical` item with its backtrace, each with
//! the request under Rollbar's `request` (method, url, route, status, headers, `user_ip`,
//! `request_id`) and the span's fields under `custom.spans`; a 4xx is not an error and
//! notifies nothing. Under concurrent requests each item carries its own request (tested
//! with 200 concurrent mixed requests). tower-http's defaults would send a caught panic
//! twice (its `DefaultOnFailure` logs the 500 at `ERROR` besides the panic's
//! `CRITICAL`), which is why [`on_response`] logs a [`Panicked`] 500 as a `WARNING`.
//! Whole example items are in the [`notify`](crate::notify) module.
//!
//! **Secrets** never reach the file or the tracker: secret query parameters (`password`,
//! `token`, `api_key`, ... the notifier's scrub names) are recorded as `***`, and the
//! Authorization and Cookie headers only as `***`.
//!
//! # Good to know
//!
//! * The request span is made at `ERROR` level, so a `RUST_LOG=warn` keeps it for
//!   notifications (`RUST_LOG=info,http=warn` hides the lines of successful requests).
//! * The notifier's usual deduplication applies, per route: the same failure on the
//!   same route is sent once per 60 s, then as a `repeated N more times` summary that
//!   carries the latest failed request
//!   ([`dedup_window`](crate::notify::NotifyConfig::dedup_window)`(Duration::ZERO)`
//!   sends every one).
//! * Telemetry is the request's own last lines, never a neighbour's.
//! * The panic hook waits (at most
//!   [`PANIC_FLUSH_TIMEOUT`](crate::panic::PANIC_FLUSH_TIMEOUT), 3 s) until the panic's
//!   notification is delivered, also when `CatchPanicLayer` then catches the panic: with
//!   a slow tracker endpoint a panicking handler holds its worker thread that long.
//! * With `LOG_FINGERS_CROSSED=debug`, the request span holds its `DEBUG` lines and
//!   writes them only if the request fails ([`FingersCrossed`](crate::FingersCrossed)).

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::Duration;

use tracing::field::Empty;
use tracing::Span;

use crate::notify::scrub::Scrubber;
use crate::notify::SCRUBBED;

/// The target (Logbook channel) of request spans and response lines.
pub const TARGET: &str = "http";

/// The name of request spans.
pub const SPAN_NAME: &str = crate::record::REQUEST_SPAN;

/// The request header that carries a request id in and out of the service.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The request headers [`request_span`] records, as `http.request.header.<name>` with
/// `-` written `_`. Authorization and Cookie are recorded as `***` (their presence
/// helps; their value must never be stored).
pub const HEADERS: [&str; 6] = [
    "user-agent",
    "referer",
    "content-type",
    "x-forwarded-for",
    "authorization",
    "cookie",
];

/// The span a request is logged in: see the [module docs](self) for its fields.
///
/// `route` is the matched route (axum's `MatchedPath`), `client` the peer's address.
/// The request id is the `x-request-id` header when it holds a sensible value (at most
/// 128 visible ASCII characters), otherwise a fresh UUID.
///
/// ```
/// let req = http::Request::get("/login?user=ann&password=hunter2")
///     .header("authorization", "Bearer abc")
///     .body(())
///     .unwrap();
/// let span = tracing_logbook::web::request_span(&req, Some("/login"), None);
/// let _in_request = span.enter();
/// tracing::info!("checking the password");
/// ```
///
/// The span declares `user.id`, `user.name` and `user.email` empty: record them when the
/// user is known, and every notification of the request names the user (`person` /
/// `user`), also for an error logged after the handler returned, by a central error
/// type's `IntoResponse`:
///
/// ```
/// # let req = http::Request::get("/orders").body(()).unwrap();
/// let span = tracing_logbook::web::request_span(&req, Some("/orders"), None);
/// let _in_request = span.enter();
/// // In an authentication middleware or the handler:
/// tracing::Span::current().record("user.id", 42).record("user.name", "ann");
/// ```
pub fn request_span<B>(
    request: &http::Request<B>,
    route: Option<&str>,
    client: Option<IpAddr>,
) -> Span {
    let headers = request.headers();
    // Every line of a header, joined as RFC 9110 says a list is (a proxy may append its
    // own `X-Forwarded-For` line rather than extend the client's).
    // Borrowed when the header is one line of text (no allocation), joined otherwise.
    let header = |name: &str| -> Option<Cow<'_, str>> {
        let mut lines = headers.get_all(name).iter();
        let first = lines.next()?;
        if matches!(name, "authorization" | "cookie") {
            return Some(Cow::Borrowed(SCRUBBED));
        }
        let mut value = String::from_utf8_lossy(first.as_bytes());
        for line in lines {
            let joined = value.to_mut();
            joined.push_str(", ");
            joined.push_str(&String::from_utf8_lossy(line.as_bytes()));
        }
        Some(value)
    };
    let mut fresh = [0u8; uuid::fmt::Simple::LENGTH];
    // The target as the client sent it: borrowed for the usual origin form (`/a?b`).
    let uri = request.uri();
    let target: Cow<'_, str> = match (uri.scheme(), uri.authority(), uri.path_and_query()) {
        (None, None, Some(path)) => Cow::Borrowed(path.as_str()),
        _ => Cow::Owned(uri.to_string()),
    };
    // Every value is given at creation (one `new_span` rather than a dozen `record`
    // calls), and computed only when the span is enabled: the macro evaluates them
    // behind its enabled check. A `None` is recorded as no value.
    // What makes the URL absolute in a notification: the Host (HTTP/1.1) or the URI's
    // authority (HTTP/2), and the scheme when the URI or a proxy says it.
    let host = headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()))
        .filter(|h| h.len() <= 255 && !h.contains('@'));
    let scheme = request.uri().scheme_str().or_else(|| {
        headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .filter(|s| matches!(*s, "http" | "https"))
    });
    tracing::span!(
        target: TARGET,
        tracing::Level::ERROR,
        SPAN_NAME,
        method = %request.method(),
        url = scrub_target(&target).as_ref(),
        server.address = host,
        url.scheme = scheme,
        request_id = request_id(headers, &mut fresh),
        route = route,
        client.address = client.map(tracing::field::display),
        http.request.header.user_agent = header("user-agent").as_deref(),
        http.request.header.referer = header("referer").as_deref(),
        http.request.header.content_type = header("content-type").as_deref(),
        http.request.header.x_forwarded_for = header("x-forwarded-for").as_deref(),
        http.request.header.authorization = header("authorization").as_deref(),
        http.request.header.cookie = header("cookie").as_deref(),
        status = Empty,
        // Declared empty, for the application to record once it knows the user (an
        // authentication middleware or the handler: `Span::current().record("user.id",
        // id)`); an error logged later inside the request, by a central `IntoResponse`
        // for example, carries them.
        user.id = Empty,
        user.name = Empty,
        user.email = Empty,
    )
}

/// Logs the request's one line when its response is ready, inside `span`: `INFO` below
/// 500, `ERROR` for a 5xx (so it is notified, with the request), `WARNING` for the 500 of
/// a [`Panicked`] response (the panic itself was already notified). Records `status` on
/// the span.
///
/// ```
/// # use std::time::Duration;
/// let req = http::Request::get("/missing").body(()).unwrap();
/// let span = tracing_logbook::web::request_span(&req, None, None);
/// let res = http::Response::builder().status(404).body(()).unwrap();
/// tracing_logbook::web::on_response(&res, Duration::from_micros(420), &span);
/// // INFO: http: 404 Not Found latency_ms=0.42 in request{method=GET url=/missing … status=404}
/// ```
pub fn on_response<B>(response: &http::Response<B>, latency: Duration, span: &Span) {
    let status = response.status();
    span.record("status", status.as_u16());
    let latency_ms = round_ms(latency);
    let reason = status.canonical_reason().unwrap_or("");
    let code = status.as_u16();
    if response.extensions().get::<Panicked>().is_some() {
        tracing::warn!(
            name: crate::record::RESPONSE_EVENT,
            target: TARGET,
            parent: span,
            latency_ms,
            "{code} {reason} (the handler panicked)"
        );
    } else if status.is_server_error() {
        // Named, so that the notifier knows it: sent only when no error of the request
        // was, and titled with the method and route.
        tracing::error!(
            name: crate::notify::RESPONSE_EVENT,
            target: TARGET,
            parent: span,
            latency_ms,
            "{code} {reason}"
        );
    } else {
        tracing::info!(
            name: crate::record::RESPONSE_EVENT,
            target: TARGET,
            parent: span,
            latency_ms,
            "{code} {reason}"
        );
    }
}

/// Reports a request that failed without a response status (the service returned an
/// error, or the response body failed while streaming) at `ERROR`, inside `span`.
///
/// Give it tower-http's `ServerErrorsFailureClass::Error` only: a 5xx status was
/// already reported by [`on_response`].
///
/// ```
/// # use std::time::Duration;
/// let span = tracing::Span::none();
/// tracing_logbook::web::on_failure("connection reset", Duration::from_millis(3), &span);
/// ```
pub fn on_failure(error: impl fmt::Display, latency: Duration, span: &Span) {
    let latency_ms = round_ms(latency);
    tracing::error!(target: TARGET, parent: span, latency_ms, "request failed: {error}");
}

/// Marks a response made for a panicking handler (see [`panic_response`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Panicked;

/// The answer to a panicking handler, for tower-http's `CatchPanicLayer::custom`: a
/// plain `500 Internal Server Error` marked [`Panicked`], so that [`on_response`] does
/// not notify the request a second time. The panic message stays out of the response.
///
/// ```
/// let res = tracing_logbook::web::panic_response(Box::new("boom"));
/// assert_eq!(res.status(), 500);
/// assert!(res.extensions().get::<tracing_logbook::web::Panicked>().is_some());
/// ```
pub fn panic_response(_payload: Box<dyn Any + Send + 'static>) -> http::Response<String> {
    let mut response = http::Response::new("Internal Server Error".to_owned());
    *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response.extensions_mut().insert(Panicked);
    response
}

/// A fresh random request id (32 hex digits, a UUID v4's form).
///
/// Drawn from a per-thread generator seeded once from the OS, not from a system call per
/// request: request ids must be unique, not secret.
/// The request's `X-Request-Id` when it is a sane one, else a fresh id written in `fresh`.
fn request_id<'a>(
    headers: &'a http::HeaderMap,
    fresh: &'a mut [u8; uuid::fmt::Simple::LENGTH],
) -> &'a str {
    match headers
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
    {
        Some(id) => id,
        None => fresh_request_id(fresh),
    }
}

fn fresh_request_id(buf: &mut [u8; uuid::fmt::Simple::LENGTH]) -> &str {
    use std::cell::Cell;
    use std::hash::{BuildHasher, Hasher};
    thread_local! {
        static STATE: Cell<u64> = Cell::new({
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(std::process::id().into());
            h.finish() | 1
        });
    }
    // SplitMix64: two outputs make the 128 bits.
    let next = || {
        STATE.with(|s| {
            let x = s.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
            s.set(x);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        })
    };
    let bytes = (u128::from(next()) << 64 | u128::from(next())).to_be_bytes();
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .simple()
        .encode_lower(buf)
}

/// Milliseconds with three decimals.
fn round_ms(latency: Duration) -> f64 {
    (latency.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// The request target (or URL) with the userinfo password and the values of secret query
/// parameters replaced by `***`: the notifier's own scrubbing rule (its default scrub
/// names, ignoring ASCII case and `-`/`_`, also as the last dotted segment).
fn scrub_target(target: &str) -> Cow<'_, str> {
    static SCRUBBER: OnceLock<Scrubber> = OnceLock::new();
    let scrubber = SCRUBBER.get_or_init(|| Scrubber::new([]));
    match scrubber.scrub_text(target) {
        Some(clean) => Cow::Owned(clean),
        None => Cow::Borrowed(target),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_query_values_are_scrubbed() {
        assert_eq!(
            scrub_target("/login?user=ann&password=hunter2&Api-Key=k&x=1"),
            "/login?user=ann&password=***&Api-Key=***&x=1"
        );
        assert_eq!(scrub_target("/a?pass%77ord=x"), "/a?pass%77ord=***");
        assert_eq!(
            scrub_target("/a?user.token=x#frag"),
            "/a?user.token=***#frag"
        );
        assert_eq!(scrub_target("/plain?q=rust"), "/plain?q=rust");
        assert!(matches!(scrub_target("/plain?q=rust"), Cow::Borrowed(_)));
        assert_eq!(
            scrub_target("http://u:pw@h/p?secret=s"),
            "http://u:***@h/p?secret=***"
        );
        assert_eq!(scrub_target("/a?password"), "/a?password");
        assert_eq!(scrub_target("/a?%zz=1&%7"), "/a?%zz=1&%7");
    }

    #[test]
    fn latency_has_microsecond_resolution() {
        assert_eq!(round_ms(Duration::from_micros(1234)), 1.234);
        assert_eq!(round_ms(Duration::from_nanos(400)), 0.0);
    }

    #[test]
    fn one_line_per_response_at_the_right_level() {
        let logs = crate::testing::capture(|| {
            let req = http::Request::get("/x?token=t")
                .header("authorization", "Bearer abc")
                .header("cookie", "sid=1")
                .header("user-agent", "curl/8")
                .header(REQUEST_ID_HEADER, "r-1")
                .body(())
                .unwrap();
            for (status, panicked) in [(200, false), (404, false), (500, false), (500, true)] {
                let span = request_span(&req, Some("/x"), Some([127, 0, 0, 1].into()));
                let mut res = http::Response::builder().status(status).body(()).unwrap();
                if panicked {
                    res.extensions_mut().insert(Panicked);
                }
                on_response(&res, Duration::from_micros(1500), &span);
            }
        });
        let lines = logs.formatted();
        assert_eq!(lines.len(), 4, "{lines:#?}");
        let expected = [
            ("INFO", "200 OK"),
            ("INFO", "404 Not Found"),
            ("ERROR", "500 Internal Server Error"),
            (
                "WARNING",
                "500 Internal Server Error (the handler panicked)",
            ),
        ];
        for (line, (level, message)) in lines.iter().zip(expected) {
            assert!(
                line.contains(&format!("[{level}] http: {message} latency_ms=1.5 in request{{method=GET url=\"/x?token=***\" request_id=r-1 ")),
                "{line}"
            );
            for part in [
                "route=/x",
                "client.address=127.0.0.1",
                "http.request.header.user_agent=curl/8",
                "http.request.header.authorization=***",
                "http.request.header.cookie=***",
            ] {
                assert!(line.contains(part), "{part} not in {line}");
            }
            assert!(!line.contains("abc") && !line.contains("sid=1"), "{line}");
        }
    }

    #[test]
    fn request_ids_are_taken_or_made() {
        let logs = crate::testing::capture(|| {
            let bad = http::Request::get("/")
                .header(REQUEST_ID_HEADER, "has space")
                .body(())
                .unwrap();
            let span = request_span(&bad, None, None);
            on_response(&http::Response::new(()), Duration::ZERO, &span);
        });
        let line = logs.formatted()[0].clone();
        let id = line
            .split("request_id=")
            .nth(1)
            .unwrap()
            .split([' ', '}'])
            .next()
            .unwrap();
        assert_eq!(id.len(), 32, "{line}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{line}");
    }

    #[test]
    fn fresh_request_ids_are_v4_and_distinct_across_threads() {
        let ids: Vec<String> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    (0..1000)
                        .map(|_| fresh_request_id(&mut [0; 32]).to_owned())
                        .collect::<Vec<_>>()
                })
            })
            .flat_map(|t| t.join().unwrap())
            .collect();
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        for id in &ids {
            let uuid = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(uuid.get_version_num(), 4, "{id}");
        }
    }
}
