//! The Sentry destination over loopback HTTP: the envelope and its auth header, rate
//! limits (429 with `Retry-After` or `X-Sentry-Rate-Limits`, and the header on a 200),
//! 5xx retries with the same event id, a hanging server, scrubbing, panics, and both
//! destinations at once.

#[cfg(feature = "http-client")]
use tracing_logbook_test_support as support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tracing_logbook::notify::{Dsn, NotifyConfig, Request, Response, TransportError};
use tracing_logbook::NotifyLayer;
use tracing_subscriber::prelude::*;

const WAIT: Duration = Duration::from_secs(20);
const KEY: &str = "0123456789abcdef0123456789abcdef";

fn run_with(layer: NotifyLayer, f: impl FnOnce()) {
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), f);
}

fn config(dsn: &str) -> NotifyConfig {
    NotifyConfig::sentry(Dsn::parse(dsn).unwrap())
        .environment("test")
        .code_version("shop@1.2.3")
        .host("test-host")
        .retry_backoff(Duration::from_millis(1))
}

/// The three lines of an envelope: header, item header, event.
fn envelope(body: &[u8]) -> (Value, Value, Value) {
    let text = std::str::from_utf8(body).expect("UTF-8 envelope");
    let lines: Vec<&str> = text.trim_end_matches('\n').split('\n').collect();
    assert_eq!(lines.len(), 3, "{text}");
    let item: Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(item["length"], lines[2].len(), "item length");
    (
        serde_json::from_str(lines[0]).unwrap(),
        item,
        serde_json::from_str(lines[2]).unwrap(),
    )
}

/// Sends through an in-memory transport; returns every envelope's event.
fn in_memory(config: NotifyConfig, f: impl FnOnce()) -> Vec<Value> {
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let sink = bodies.clone();
    let transport = move |req: &Request<'_>| -> Result<Response, TransportError> {
        sink.lock().unwrap().push(req.body.to_vec());
        Ok(Response::status(200))
    };
    let (layer, handle) = config.build_with_transport(transport);
    run_with(layer, f);
    assert!(handle.flush(WAIT), "{:?}", handle.stats());
    let bodies = bodies.lock().unwrap().clone();
    bodies.iter().map(|b| envelope(b).2).collect()
}

#[test]
fn panic_event_becomes_an_exception_with_frames_oldest_first() {
    #[inline(never)]
    fn failing_function() -> std::backtrace::Backtrace {
        std::backtrace::Backtrace::force_capture()
    }
    let backtrace = failing_function();
    let events = in_memory(config(&format!("http://{KEY}@127.0.0.1:9/1")), || {
        tracing_logbook::critical!(
            target: "panic",
            panic.message = "index out of bounds",
            panic.location = "src/lib.rs:10:5",
            panic.thread = "worker-1",
            panic.backtrace = %backtrace,
            "thread 'worker-1' panicked"
        );
    });
    let event = &events[0];
    assert_eq!(event["level"], "fatal");
    let exception = &event["exception"]["values"][0];
    assert_eq!(exception["type"], "panic");
    assert_eq!(exception["value"], "index out of bounds");
    let frames = exception["stacktrace"]["frames"].as_array().unwrap();
    let functions: Vec<&str> = frames
        .iter()
        .map(|f| f["function"].as_str().unwrap())
        .collect();
    let here = functions
        .iter()
        .position(|m| m.contains("failing_function"))
        .unwrap_or_else(|| panic!("no failing_function in {functions:#?}"));
    let caller = functions
        .iter()
        .position(|m| m.contains("panic_event_becomes_an_exception"))
        .expect("the test function is a frame");
    assert!(caller < here, "oldest first: {functions:#?}");
    assert!(!functions.iter().any(|m| m.contains("std::backtrace")));
    assert_eq!(frames[here]["in_app"], true);
    assert!(frames[here]["lineno"].as_u64().is_some());
    assert!(frames[here]["filename"]
        .as_str()
        .unwrap()
        .ends_with("sentry.rs"));
    assert!(event["extra"].get("panic.message").is_none());
}

#[test]
fn secrets_are_scrubbed_everywhere() {
    let events = in_memory(
        config(&format!("http://{KEY}@127.0.0.1:9/1")).scrub("session_id"),
        || {
            tracing::info!(api_key = "k-telemetry", "calling the bank");
            let _r = tracing::info_span!(
                "request",
                method = "POST",
                uri = "https://shop.example/pay?token=t-query&x=1",
                headers.cookie = "c-header",
                session_id = "s-span",
            )
            .entered();
            tracing::error!(
                password = "p-field",
                dsn = "postgres://app:p-url@db/app",
                "payment failed"
            );
        },
    );
    let text = events[0].to_string();
    for secret in [
        "k-telemetry",
        "t-query",
        "c-header",
        "s-span",
        "p-field",
        "p-url",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert_eq!(events[0]["request"]["query_string"], "token=***&x=1");
    assert_eq!(events[0]["extra"]["password"], "***");
}

/// `outer: middle: inner`, as a `&dyn Error` field.
#[derive(Debug)]
struct Chain(&'static str, Option<Box<Chain>>);

impl std::fmt::Display for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Chain {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.1.as_deref().map(|c| c as _)
    }
}

#[test]
fn host_and_cause_chains_are_the_same_in_both_destinations() {
    let chain = Chain(
        "outer",
        Some(Box::new(Chain(
            "middle",
            Some(Box::new(Chain("inner", None))),
        ))),
    );
    for host in [Some("web-7"), None] {
        let record = || {
            let bodies = Arc::new(Mutex::new(Vec::new()));
            let sink = bodies.clone();
            let transport = move |req: &Request<'_>| -> Result<Response, TransportError> {
                sink.lock().unwrap().push(req.body.to_vec());
                Ok(Response::status(200))
            };
            (bodies, transport)
        };
        let with_host = |config: NotifyConfig| {
            // A scrub name that is also a key of the Rollbar item (`server.host`).
            let config = config.scrub("host");
            match host {
                Some(host) => config.host(host),
                None => config,
            }
        };
        let (rollbar_bodies, rollbar_transport) = record();
        let (sentry_bodies, sentry_transport) = record();
        let (rollbar, rollbar_handle) =
            with_host(NotifyConfig::rollbar("t")).build_with_transport(rollbar_transport);
        let dsn = Dsn::parse(&format!("http://{KEY}@127.0.0.1:9/1")).unwrap();
        let (sentry, sentry_handle) =
            with_host(NotifyConfig::sentry(dsn)).build_with_transport(sentry_transport);
        let subscriber = tracing_subscriber::registry().with(rollbar).with(sentry);
        tracing::subscriber::with_default(subscriber, || {
            let cause = &chain as &(dyn std::error::Error + 'static);
            let _job = tracing::info_span!("job", cause).entered();
            tracing::error!(error = cause, "job failed");
        });
        assert!(rollbar_handle.flush(WAIT) && sentry_handle.flush(WAIT));
        let item: Value = serde_json::from_slice(&rollbar_bodies.lock().unwrap()[0]).unwrap();
        let event = envelope(&sentry_bodies.lock().unwrap()[0]).2;
        let data = &item["data"];
        let rollbar_host = data["server"]["host"].as_str().unwrap();
        assert_eq!(
            Some(rollbar_host),
            event["server_name"].as_str(),
            "{host:?}"
        );
        assert!(!rollbar_host.is_empty() && rollbar_host != "***");
        if let Some(host) = host {
            assert_eq!(rollbar_host, host);
        }
        assert_eq!(data["custom"]["fields"]["error"], "outer: middle: inner");
        assert_eq!(event["extra"]["error"], "outer: middle: inner");
        assert_eq!(
            data["custom"]["spans"][0]["fields"]["cause"],
            "outer: middle: inner"
        );
        assert_eq!(
            event["contexts"]["span job"]["cause"],
            "outer: middle: inner"
        );
    }
}

#[test]
fn scrub_names_that_are_keys_of_the_format_do_not_break_it() {
    // `scrub` names that are also keys of a Sentry event: only user fields go.
    let events = in_memory(
        config(&format!("http://{KEY}@127.0.0.1:9/1"))
            .scrub("level")
            .scrub("exception")
            .scrub("value")
            .scrub("logentry")
            .scrub("extra")
            .scrub("request")
            .scrub("headers"),
        || {
            let _r = tracing::info_span!(
                "request",
                method = "GET",
                url = "/x",
                headers.accept = "*/*"
            )
            .entered();
            tracing::error!(value = 3, "failed");
        },
    );
    let event = &events[0];
    assert_eq!(event["level"], "error");
    assert_eq!(event["logentry"]["formatted"], "failed");
    assert_eq!(event["extra"]["value"], "***");
    assert_eq!(event["request"]["headers"]["Accept"], "*/*");
}

#[cfg(not(feature = "http-client"))]
#[test]
fn without_an_http_client_a_dsn_is_an_init_error_naming_it() {
    let dsn = Dsn::parse(&format!("http://{KEY}@127.0.0.1:9/1")).unwrap();
    let err = tracing_logbook::init(
        tracing_logbook::Env::new(tracing_logbook::Mode::Test).notifier(NotifyConfig::sentry(dsn)),
    )
    .unwrap_err();
    assert_eq!(err.var(), Some("SENTRY_DSN"));
    assert!(!err.to_string().contains(KEY));
}

#[cfg(feature = "http-client")]
mod http {
    use super::*;
    use support::server::{Recorded, Reply, Server};

    fn dsn(server: &Server) -> String {
        format!("http://{KEY}@{}/1", server.addr())
    }

    fn event_id(r: &Recorded) -> String {
        let (header, _, event) = envelope(&r.body);
        assert_eq!(header["event_id"], event["event_id"]);
        event["event_id"].as_str().unwrap().to_owned()
    }

    #[test]
    fn posts_envelopes_with_the_auth_header() {
        let server = Server::start(vec![]);
        let (layer, handle) = config(&dsn(&server)).telemetry(5).build();
        run_with(layer, || {
            let _r = tracing::info_span!(
                "request",
                method = "GET",
                url = "http://shop.example/cart?page=2",
                headers.accept = "text/html",
                client_ip = "10.1.2.3",
            )
            .entered();
            // Breadcrumbs are the request's own lines.
            tracing_logbook::notice!(target: "shop", user = "ann", "logged in");
            tracing::error!(target: "shop::cart", order = 7, "cart lost");
        });
        assert!(handle.flush(WAIT));
        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        let r = &requests[0];
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/api/1/envelope/");
        assert_eq!(
            r.header("X-Sentry-Auth"),
            Some(
                format!(
                    "Sentry sentry_version=7, sentry_key={KEY}, sentry_client=tracing-logbook/{}",
                    env!("CARGO_PKG_VERSION")
                )
                .as_str()
            )
        );
        assert_eq!(
            r.header("Content-Type"),
            Some("application/x-sentry-envelope")
        );
        let (header, item, event) = envelope(&r.body);
        assert_eq!(item["type"], "event");
        let id = event["event_id"].as_str().unwrap();
        assert!(
            id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "{id}"
        );
        assert_eq!(header["event_id"], id);
        assert_eq!(event["level"], "error");
        assert_eq!(event["logger"], "shop::cart");
        assert_eq!(event["logentry"]["formatted"], "cart lost");
        assert_eq!(event["platform"], "native");
        assert_eq!(event["server_name"], "test-host");
        assert_eq!(event["release"], "shop@1.2.3");
        assert_eq!(event["environment"], "test");
        assert!(event["timestamp"].as_f64().unwrap() > 1.7e9);
        assert_eq!(event["extra"]["order"], 7);
        assert_eq!(event["tags"]["channel"], "shop::cart");
        assert_eq!(event["contexts"]["span request"]["method"], "GET");
        let request = &event["request"];
        assert_eq!(request["method"], "GET");
        assert_eq!(request["url"], "http://shop.example/cart");
        assert_eq!(request["query_string"], "page=2");
        assert_eq!(request["headers"]["Accept"], "text/html");
        assert_eq!(request["env"]["REMOTE_ADDR"], "10.1.2.3");
        let crumb = &event["breadcrumbs"]["values"][0];
        assert_eq!(crumb["message"], "logged in");
        assert_eq!(crumb["level"], "info");
        assert_eq!(crumb["category"], "shop");
        assert_eq!(crumb["data"]["user"], "ann");
        assert_eq!(handle.sent(), 1);
    }

    #[test]
    fn server_errors_are_retried_with_the_same_event_id() {
        let server = Server::start(vec![
            Reply::Status(500, vec![]),
            Reply::Close,
            Reply::Status(503, vec![]),
        ]);
        let (layer, handle) = config(&dsn(&server)).build();
        run_with(layer, || tracing::error!("flaky"));
        assert!(handle.flush(WAIT));
        let requests = server.requests();
        assert_eq!(requests.len(), 4);
        let ids: Vec<String> = requests.iter().map(event_id).collect();
        assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
        assert_eq!((handle.sent(), handle.retried()), (1, 3));
    }

    #[test]
    fn a_429_with_retry_after_pauses_then_resends() {
        let said = tracing_logbook::testing::capture_diagnostics();
        let server = Server::start(vec![Reply::Status(
            429,
            vec![("Retry-After", "1".to_owned())],
        )]);
        let (layer, handle) = config(&dsn(&server)).build();
        run_with(layer, || tracing::error!("limited"));
        assert!(handle.flush(WAIT));
        let requests = server.requests();
        assert_eq!(requests.len(), 2);
        assert_eq!(event_id(&requests[0]), event_id(&requests[1]));
        assert_eq!((handle.sent(), handle.retried()), (1, 1));
        said.assert_said("Sentry rate limit reached: sending paused");
    }

    #[test]
    fn a_429_with_sentry_rate_limits_pauses_as_long_as_it_says() {
        let said = tracing_logbook::testing::capture_diagnostics();
        // Only the error category counts: the 600 s transaction limit does not apply,
        // the 1 s one for errors does (with a 10 minute pause the flush would time out).
        let server = Server::start(vec![Reply::Status(
            429,
            vec![(
                "X-Sentry-Rate-Limits",
                "600:transaction:key, 1:error;default:project".to_owned(),
            )],
        )]);
        let (layer, handle) = config(&dsn(&server)).build();
        run_with(layer, || tracing::error!("limited"));
        assert!(handle.flush(WAIT), "{:?}", handle.stats());
        assert_eq!(server.requests().len(), 2);
        assert_eq!((handle.sent(), handle.retried()), (1, 1));
        said.assert_said("Sentry rate limit reached: sending paused");
    }

    #[test]
    fn rate_limits_on_a_200_pause_the_next_items() {
        let said = tracing_logbook::testing::capture_diagnostics();
        let server = Server::start(vec![Reply::Status(
            200,
            vec![("X-Sentry-Rate-Limits", "600::organization".to_owned())],
        )]);
        let (layer, handle) = config(&dsn(&server))
            .max_rate_limit_pause(Duration::from_secs(600))
            .build();
        run_with(layer, || {
            tracing::error!("first");
            tracing::error!("second");
        });
        assert!(server.wait_for(1, WAIT));
        // The second item waits out the 10-minute pause: shutdown gives up on it at its
        // deadline instead of sending it.
        handle.shutdown(Duration::from_millis(300));
        assert_eq!(server.requests().len(), 1);
        let stats = handle.stats();
        assert_eq!((stats.sent, stats.abandoned), (1, 1), "{stats:?}");
        said.assert_said("Sentry rate limit reached: sending paused");
    }

    /// `X-Sentry-Rate-Limits: 1e20::organization` on a 200 once panicked the delivery
    /// thread, and every later event was lost: now it is a pause, capped by
    /// `max_rate_limit_pause`, and the next event is delivered. A 429 whose
    /// `Retry-After` is garbage pauses the default 60 s (capped too), not 0 s.
    #[test]
    fn hostile_rate_limit_headers_are_capped_pauses_not_panics() {
        let said = tracing_logbook::testing::capture_diagnostics();
        let server = Server::start(vec![
            Reply::Status(
                200,
                vec![("X-Sentry-Rate-Limits", "1e20::organization".to_owned())],
            ),
            Reply::Status(429, vec![("Retry-After", "soon".to_owned())]),
            Reply::Status(
                429,
                vec![("X-Sentry-Rate-Limits", "1e20:error:project".to_owned())],
            ),
        ]);
        const CAP: Duration = Duration::from_millis(150);
        let (layer, handle) = config(&dsn(&server))
            .max_rate_limit_pause(CAP)
            .dedup_window(Duration::ZERO)
            .build();
        let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
        let bounded = Duration::from_secs(10);
        tracing::dispatcher::with_default(&dispatch, || tracing::error!("first"));
        assert!(handle.flush(bounded), "{:?}", handle.stats());
        let started = std::time::Instant::now();
        tracing::dispatcher::with_default(&dispatch, || tracing::error!("second"));
        assert!(handle.flush(bounded), "{:?}", handle.stats());
        // The 200's pause, the garbage 429's and the 1e20 429's, each the cap.
        let took = started.elapsed();
        assert!(took >= CAP * 2, "{took:?}");
        let messages: Vec<Value> = server
            .requests()
            .iter()
            .map(|r| envelope(&r.body).2["logentry"]["formatted"].clone())
            .collect();
        assert_eq!(messages, ["first", "second", "second", "second"]);
        let stats = handle.stats();
        assert_eq!(
            (stats.sent, stats.retried, stats.failed),
            (2, 2, 0),
            "{stats:?}"
        );
        said.assert_said("Sentry rate limit reached: sending paused");
    }

    #[test]
    fn shutdown_is_bounded_against_a_hanging_server() {
        let said = tracing_logbook::testing::capture_diagnostics();
        let server = Server::start(vec![Reply::Hang(Duration::from_secs(600))]);
        let (layer, handle) = config(&dsn(&server))
            .request_timeout(Duration::from_secs(600))
            .dedup_window(Duration::ZERO)
            .build();
        run_with(layer, || {
            tracing::error!("stuck");
            tracing::error!("stuck");
        });
        assert!(server.wait_for(1, WAIT));
        handle.shutdown(Duration::from_millis(300));
        let stats = handle.stats();
        assert_eq!(stats.sent, 0);
        assert_eq!(stats.pending, 2, "{stats:?}");
        server.release();
        // The hung request ends with the server's release; the worker then says what it
        // could not deliver.
        assert!(
            said.wait_for("Sentry unreachable at shutdown", WAIT),
            "{:?}",
            said.lines()
        );
        said.assert_said("error notifications not delivered within the shutdown deadline");
    }

    #[test]
    fn client_errors_are_not_retried() {
        let said = tracing_logbook::testing::capture_diagnostics();
        let server = Server::start(vec![Reply::Status(403, vec![])]);
        let (layer, handle) = config(&dsn(&server)).build();
        run_with(layer, || tracing::error!("wrong key"));
        assert!(handle.flush(WAIT));
        assert_eq!(server.requests().len(), 1);
        assert_eq!((handle.sent(), handle.failed()), (0, 1));
        said.assert_said("Sentry rejected an item (HTTP 403)");
    }

    #[test]
    fn one_secret_planted_everywhere_never_reaches_the_server() {
        use support::plant;
        let server = Server::start(vec![]);
        let (layer, handle) = config(&dsn(&server))
            .telemetry(20)
            .dedup_window(plant::DEDUP_WINDOW)
            .build();
        run_with(layer, plant::log_the_secret_everywhere);
        let requests = plant::delivered_without_the_secret(
            &server,
            WAIT,
            |wait| handle.flush(wait),
            || format!("{:?}", handle.stats()),
            |wait| {
                handle.shutdown(wait);
            },
        );
        let events: Vec<Value> = requests.iter().map(|r| envelope(&r.body).2).collect();
        let error = events
            .iter()
            .find(|e| e["extra"]["password"].is_string() && e["extra"].get("repeated").is_none())
            .expect("the error event");
        let request = &error["request"];
        assert_eq!(request["url"], "https://app:***@api.example.com/login");
        assert_eq!(request["query_string"], "token=***&page=2");
        assert_eq!(request["headers"]["Authorization"], "***");
        assert_eq!(error["contexts"]["span db"]["token"], "***");
        assert_eq!(error["contexts"]["span db"]["table"], "orders");
        assert_eq!(
            error["logentry"]["formatted"],
            "connecting to postgres://app:***@db.internal:5432/x failed; token=***"
        );
        let crumb = &error["breadcrumbs"]["values"][0];
        assert_eq!(crumb["message"], "retrying with Authorization: Bearer ***");
        assert_eq!(crumb["data"]["password"], "***");
        assert_eq!(
            error["user"],
            serde_json::json!({ "id": "ann-1", "username": "ann" })
        );
        // The error's chain as exceptions, root cause first: scrubbed like the rest.
        let values = &error["exception"]["values"];
        assert_eq!(values[0]["type"], "Inner");
        assert_eq!(
            values[0]["value"],
            "cannot reach postgres://app:***@db.internal:5432/x"
        );
        assert_eq!(values[1]["type"], "Outer");
        assert_eq!(values[1]["value"], "pool exhausted");
    }

    #[test]
    fn both_destinations_get_every_error() {
        let server = Server::start(vec![]);
        let (rollbar, rollbar_handle) = NotifyConfig::rollbar("test-token")
            .endpoint(server.endpoint())
            .build();
        let (sentry, sentry_handle) = config(&dsn(&server)).build();
        let subscriber = tracing_subscriber::registry().with(rollbar).with(sentry);
        tracing::subscriber::with_default(subscriber, || tracing::error!("everywhere"));
        assert!(rollbar_handle.flush(WAIT) && sentry_handle.flush(WAIT));
        let mut paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
        paths.sort();
        assert_eq!(paths, ["/api/1/envelope/", "/api/1/item/"]);
        assert_eq!((rollbar_handle.sent(), sentry_handle.sent()), (1, 1));
    }
}
