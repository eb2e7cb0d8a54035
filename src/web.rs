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
    let shown = ShownHeaders::of(headers);
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
    let host = shown
        .host
        .or_else(|| request.uri().authority().map(|a| a.as_str()))
        .filter(|h| h.len() <= 255 && !h.contains('@'));
    let scheme = request.uri().scheme_str().or_else(|| {
        shown
            .forwarded_proto
            .filter(|s| matches!(*s, "http" | "https"))
    });
    let mut client_text = [0u8; 45];
    tracing::span!(
        target: TARGET,
        tracing::Level::ERROR,
        SPAN_NAME,
        method = request.method().as_str(),
        url = scrub_target(&target).as_ref(),
        server.address = host,
        url.scheme = scheme,
        request_id = request_id(shown.request_id, &mut fresh),
        route = route,
        client.address = client.map(|ip| ip_text(ip, &mut client_text)),
        http.request.header.user_agent = shown.user_agent.as_deref(),
        http.request.header.referer = shown.referer.as_deref(),
        http.request.header.content_type = shown.content_type.as_deref(),
        http.request.header.x_forwarded_for = shown.forwarded_for.as_deref(),
        http.request.header.authorization = shown.authorization.then_some(SCRUBBED),
        http.request.header.cookie = shown.cookie.then_some(SCRUBBED),
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
/// The headers a request span shows, found in one pass over the request's headers (a
/// request has a handful: cheaper than a hashed lookup of each name). A header of several
/// lines is joined as RFC 9110 says a list is (a proxy may append its own
/// `X-Forwarded-For` line rather than extend the client's); one line of text is borrowed.
#[derive(Default)]
struct ShownHeaders<'a> {
    user_agent: Option<Cow<'a, str>>,
    referer: Option<Cow<'a, str>>,
    content_type: Option<Cow<'a, str>>,
    forwarded_for: Option<Cow<'a, str>>,
    /// Present (shown scrubbed, whatever they say).
    authorization: bool,
    cookie: bool,
    /// The first line of each, if it is text.
    host: Option<&'a str>,
    request_id: Option<&'a str>,
    forwarded_proto: Option<&'a str>,
}

impl<'a> ShownHeaders<'a> {
    fn of(headers: &'a http::HeaderMap) -> ShownHeaders<'a> {
        use http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HOST, REFERER, USER_AGENT};
        let mut shown = ShownHeaders::default();
        let first = |slot: &mut Option<&'a str>, value: &'a http::HeaderValue| {
            if slot.is_none() {
                *slot = Some(value.to_str().unwrap_or_default());
            }
        };
        for (name, value) in headers {
            let list = if *name == USER_AGENT {
                &mut shown.user_agent
            } else if *name == REFERER {
                &mut shown.referer
            } else if *name == CONTENT_TYPE {
                &mut shown.content_type
            } else if *name == "x-forwarded-for" {
                &mut shown.forwarded_for
            } else {
                if *name == AUTHORIZATION {
                    shown.authorization = true;
                } else if *name == COOKIE {
                    shown.cookie = true;
                } else if *name == HOST {
                    first(&mut shown.host, value);
                } else if *name == REQUEST_ID_HEADER {
                    first(&mut shown.request_id, value);
                } else if *name == "x-forwarded-proto" {
                    first(&mut shown.forwarded_proto, value);
                }
                continue;
            };
            let line = String::from_utf8_lossy(value.as_bytes());
            match list {
                None => *list = Some(line),
                Some(joined) => {
                    let joined = joined.to_mut();
                    joined.push_str(", ");
                    joined.push_str(&line);
                }
            }
        }
        // A first line that is not text counts as absent, as `HeaderValue::to_str` says.
        for slot in [
            &mut shown.host,
            &mut shown.request_id,
            &mut shown.forwarded_proto,
        ] {
            if *slot == Some("") {
                *slot = None;
            }
        }
        shown
    }
}

/// `ip` as text, written in `buf`: IPv4 without `fmt`, IPv6 through it.
fn ip_text(ip: IpAddr, buf: &mut [u8; 45]) -> &str {
    use std::io::Write as _;
    let mut len = 0;
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    buf[len] = b'.';
                    len += 1;
                }
                let mut digits = itoa::Buffer::new();
                let digits = digits.format(octet).as_bytes();
                buf[len..len + digits.len()].copy_from_slice(digits);
                len += digits.len();
            }
        }
        IpAddr::V6(v6) => {
            let mut cursor = std::io::Cursor::new(&mut buf[..]);
            let _ = write!(cursor, "{v6}");
            len = cursor.position() as usize;
        }
    }
    std::str::from_utf8(&buf[..len]).unwrap_or_default()
}

/// The request's `X-Request-Id` when it is a sane one, else a fresh id written in `fresh`.
fn request_id<'a>(
    given: Option<&'a str>,
    fresh: &'a mut [u8; uuid::fmt::Simple::LENGTH],
) -> &'a str {
    match given
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

    /// The one pass over the headers finds what a hashed lookup of each name found: every
    /// line of a list joined in order, the first line of the others, the credentials only
    /// as present, bytes that are not UTF-8 replaced.
    #[test]
    fn shown_headers_are_what_a_lookup_of_each_finds() {
        let mut headers = http::HeaderMap::new();
        for (name, value) in [
            ("x-forwarded-for", &b"203.0.113.9"[..]),
            ("User-Agent", b"curl/8.0"),
            ("X-Forwarded-For", b"10.0.0.1"),
            ("authorization", b"Bearer s3cr3t"),
            ("cookie", b"session=s3cr3t"),
            ("referer", b"https://a.example/\xff"),
            ("host", b"shop.example.com"),
            ("host", b"other.example.com"),
            ("x-request-id", b"r-1"),
            ("x-forwarded-proto", b"https"),
        ] {
            headers.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                http::HeaderValue::from_bytes(value).unwrap(),
            );
        }
        let shown = ShownHeaders::of(&headers);
        assert_eq!(
            shown.forwarded_for.as_deref(),
            Some("203.0.113.9, 10.0.0.1")
        );
        assert_eq!(shown.user_agent.as_deref(), Some("curl/8.0"));
        assert_eq!(shown.referer.as_deref(), Some("https://a.example/\u{fffd}"));
        assert_eq!(shown.content_type, None);
        assert!(shown.authorization && shown.cookie);
        assert_eq!(shown.host, Some("shop.example.com"));
        assert_eq!(shown.request_id, Some("r-1"));
        assert_eq!(shown.forwarded_proto, Some("https"));
        let empty = http::HeaderMap::new();
        let none = ShownHeaders::of(&empty);
        assert!(none.user_agent.is_none() && !none.authorization && none.host.is_none());
    }

    #[test]
    fn ip_text_is_displays() {
        for ip in [
            "0.0.0.0",
            "203.0.113.42",
            "255.255.255.255",
            "::1",
            "2001:db8::8a2e:370:7334",
        ]
        .map(|s| s.parse::<IpAddr>().unwrap())
        .into_iter()
        .chain([IpAddr::V6(std::net::Ipv6Addr::new(
            0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff,
        ))]) {
            assert_eq!(ip_text(ip, &mut [0; 45]), ip.to_string());
        }
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
