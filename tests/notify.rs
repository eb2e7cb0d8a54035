//! The Rollbar notifier: payloads against the strict schema, scrubbing, dedup, delivery
//! (retries, 429, 413, 4xx, shutdown deadline) and panics in a child process.

use tracing_logbook_test_support as support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use support::schema::Schema;
use tracing_logbook::notify::{
    NotifyConfig, NotifyHandle, Request, Response, Transport, TransportError,
};
use tracing_logbook::{Level, NotifyLayer};
use tracing_subscriber::prelude::*;

const WAIT: Duration = Duration::from_secs(20);

type Items = Arc<Mutex<Vec<Value>>>;

/// A transport that records bodies in memory and answers 200.
struct Memory(Items);

impl Transport for Memory {
    fn send(&mut self, req: &Request<'_>) -> Result<Response, TransportError> {
        assert_eq!(req.token.expose(), "test-token");
        self.0
            .lock()
            .unwrap()
            .push(serde_json::from_slice(req.body).unwrap());
        Ok(Response::status(200))
    }
}

fn memory() -> (Memory, Items) {
    let items = Items::default();
    (Memory(items.clone()), items)
}

fn run_with(layer: NotifyLayer, f: impl FnOnce()) {
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, f);
}

fn in_memory(config: NotifyConfig, f: impl FnOnce()) -> (NotifyHandle, Vec<Value>) {
    let (transport, items) = memory();
    let (layer, handle) = config.build_with_transport(transport);
    run_with(layer, f);
    assert!(handle.flush(WAIT), "flush timed out: {:?}", handle.stats());
    let items = items.lock().unwrap().clone();
    (handle, items)
}

fn config() -> NotifyConfig {
    NotifyConfig::rollbar("test-token")
        .environment("test")
        .code_version("1.2.3")
        .host("test-host")
}

// === schema validator ===

#[test]
fn schema_validator_accepts_pyrollbar_and_rejects_known_bad_payloads() {
    let schema = Schema::load();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/pyrollbar_06_exc_single_trace.json"
    ))
    .unwrap();
    let captured: Value = serde_json::from_str(&text).unwrap();
    let good = captured["body"].clone();
    schema.assert_strict(&good);

    let mutate = |f: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        f(&mut v);
        schema.strict_errors(&v)
    };
    type Mutation<'a> = (&'a str, &'a dyn Fn(&mut Value));
    let bad: [Mutation<'_>; 6] = [
        ("missing uuid", &|v| {
            v["data"].as_object_mut().unwrap().remove("uuid");
        }),
        ("unknown level", &|v| v["data"]["level"] = "fatal".into()),
        ("string timestamp", &|v| v["data"]["timestamp"] = "1".into()),
        ("message and trace", &|v| {
            v["data"]["body"]["message"] = serde_json::json!({"body": "x"})
        }),
        ("frame without filename", &|v| {
            v["data"]["body"]["trace"]["frames"][0]
                .as_object_mut()
                .unwrap()
                .remove("filename");
        }),
        ("telemetry log without message", &|v| {
            v["data"]["body"]["telemetry"] = serde_json::json!([{
                "level": "info", "type": "log", "source": "server",
                "timestamp_ms": 1, "body": {}
            }])
        }),
    ];
    for (what, f) in bad {
        assert!(!mutate(f).is_empty(), "{what} was accepted");
    }
}

// === payloads (no sockets) ===

#[test]
fn error_event_becomes_a_strict_item_with_fields_spans_and_request() {
    let (handle, items) = in_memory(config().telemetry(5), || {
        tracing::info!(user = "bob", "logged in");
        let request = tracing::info_span!(
            "request",
            method = "POST",
            uri = "/pay?x=1",
            status = tracing::field::Empty
        );
        let _r = request.enter();
        request.record("status", 500u64);
        let _db = tracing::info_span!("db", table = "orders").entered();
        tracing::warn!("slow query");
        tracing::error!(
            order = 7,
            retry = false,
            "payment failed: {}",
            "card declined"
        );
    });
    assert_eq!(items.len(), 1, "{items:#?}");
    let item = &items[0];
    Schema::load().assert_strict(item);
    let data = &item["data"];
    assert_eq!(data["environment"], "test");
    assert_eq!(data["level"], "error");
    assert_eq!(data["code_version"], "1.2.3");
    assert_eq!(data["language"], "rust");
    assert_eq!(data["server"]["host"], "test-host");
    assert_eq!(data["notifier"]["name"], "tracing-logbook");
    assert_eq!(data["notifier"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(data["uuid"].as_str().unwrap().len(), 36);
    assert_eq!(
        data["body"]["message"]["body"],
        "payment failed: card declined"
    );
    assert_eq!(data["title"], "payment failed: card declined");
    assert_eq!(data["custom"]["fields"]["order"], 7);
    assert_eq!(data["custom"]["fields"]["retry"], false);
    assert_eq!(data["custom"]["spans"][0]["name"], "request");
    assert_eq!(data["custom"]["spans"][1]["fields"]["table"], "orders");
    assert_eq!(data["custom"]["channel"], "notify");
    assert!(data["custom"]["file"]
        .as_str()
        .unwrap()
        .ends_with("notify.rs"));
    assert!(data["custom"]["line"].is_u64());
    assert_eq!(data["request"]["method"], "POST");
    assert_eq!(data["request"]["url"], "/pay?x=1");
    assert_eq!(data["request"]["status_code"], 500);
    let telemetry = data["body"]["telemetry"].as_array().unwrap();
    let lines: Vec<_> = telemetry
        .iter()
        .map(|t| t["body"]["message"].as_str().unwrap())
        .collect();
    // Inside a request, telemetry is that request's own lines: "logged in" came before
    // the request span and is not part of it.
    assert_eq!(lines, ["slow query"]);
    assert_eq!(telemetry[0]["level"], "warning");
    assert_eq!(handle.sent(), 1);
}

#[test]
fn threshold_levels_and_critical() {
    let (_, items) = in_memory(config().threshold(Level::Warning).telemetry(0), || {
        tracing::info!("not sent");
        tracing::warn!("a warning");
        tracing_logbook::critical!("on fire");
        tracing_logbook::notice!("not sent either");
    });
    let levels: Vec<_> = items.iter().map(|i| i["data"]["level"].clone()).collect();
    assert_eq!(levels, ["warning", "critical"]);
    let (_, items) = in_memory(config(), || tracing::warn!("below the default threshold"));
    assert!(items.is_empty());
}

#[test]
fn log_records_are_notified_with_their_own_location() {
    let (_, items) = in_memory(config(), || {
        // What the `log` bridge does with a record, without installing a global logger.
        tracing_log::format_trace(
            &log::Record::builder()
                .target("legacy::db")
                .level(log::Level::Error)
                .file(Some("src/legacy/db.rs"))
                .line(Some(42))
                .args(format_args!("connection lost"))
                .build(),
        )
        .unwrap();
    });
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["data"]["custom"]["channel"], "legacy::db");
    assert_eq!(items[0]["data"]["custom"]["file"], "src/legacy/db.rs");
    assert_eq!(items[0]["data"]["custom"]["line"], 42);
    assert_eq!(
        items[0]["data"]["body"]["message"]["body"],
        "connection lost"
    );
}

#[test]
fn outside_a_request_telemetry_is_the_last_lines_outside_requests() {
    let (_, items) = in_memory(config().telemetry(2), || {
        tracing::info!("one");
        tracing::info_span!("request", method = "GET", path = "/x")
            .in_scope(|| tracing::info!("a request's line"));
        let _job = tracing::info_span!("job", id = 3).entered();
        tracing::info!("two");
        tracing::warn!("three");
        tracing::error!("failed");
    });
    let lines: Vec<_> = items[0]["data"]["body"]["telemetry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["body"]["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        lines,
        ["two", "three"],
        "the newest 2, spans without a method are not requests"
    );
}

/// A lookup that failed because of a parse error: a two-link `source()` chain.
#[derive(Debug)]
struct LookupFailed {
    key: String,
    source: std::num::ParseIntError,
}

impl std::fmt::Display for LookupFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "user {} not found", self.key)
    }
}

impl std::error::Error for LookupFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

fn lookup(key: &str) -> Result<u32, LookupFailed> {
    key.parse().map_err(|source| LookupFailed {
        key: key.to_owned(),
        source,
    })
}

#[test]
fn error_fields_become_a_trace_chain_grouped_by_class_and_callsite() {
    let (_, items) = in_memory(config().dedup_window(Duration::ZERO), || {
        for key in ["17x", "18x"] {
            if let Err(e) = lookup(key) {
                tracing::error!(
                    error = &e as &dyn std::error::Error,
                    "lookup of {key} failed"
                );
            }
        }
        let e = lookup("19x").unwrap_err();
        tracing::error!(error = &e as &dyn std::error::Error, "elsewhere");
    });
    assert_eq!(items.len(), 3, "{items:#?}");
    let schema = Schema::load();
    items.iter().for_each(|item| schema.assert_strict(item));
    let data = &items[0]["data"];
    assert_eq!(data["title"], "lookup of 17x failed");
    let chain = data["body"]["trace_chain"].as_array().unwrap();
    assert_eq!(
        support::schema::chain_links(data),
        [
            ("LookupFailed", "user 17x not found"),
            ("ParseIntError", "invalid digit found in string")
        ]
    );
    assert!(chain[0]["frames"][0]["filename"]
        .as_str()
        .unwrap()
        .ends_with("notify.rs"));
    let fingerprint = data["fingerprint"].as_str().unwrap();
    assert!(
        fingerprint.starts_with("LookupFailed<ParseIntError: invalid digit found in string at ")
            && fingerprint.contains("notify.rs:"),
        "{fingerprint}"
    );
    // Two ids, one callsite: one fingerprint. Another callsite: another.
    assert_eq!(items[1]["data"]["fingerprint"], fingerprint);
    assert_ne!(items[2]["data"]["fingerprint"], fingerprint);
}

/// A summary of a multi-line message outside any span: a whole title (the first line,
/// quoted, with the count), the full message in the body, the latest repeat's fields.
#[test]
fn a_summary_has_a_whole_title_and_the_latest_fields_without_spans() {
    let (transport, items) = memory();
    let (layer, handle) = config()
        .dedup_window(Duration::from_secs(3600))
        .build_with_transport(transport);
    run_with(layer, || {
        for attempt in 1..=3u64 {
            tracing::error!(attempt, "sync failed\nstep 2 of 5\ndetails follow");
        }
    });
    handle.shutdown(WAIT);
    let items = items.lock().unwrap().clone();
    assert_eq!(items.len(), 2, "{items:#?}");
    let schema = Schema::load();
    items.iter().for_each(|item| schema.assert_strict(item));
    let summary = &items[1]["data"];
    assert_eq!(
        summary["title"],
        "\"sync failed...\" repeated 2 more times in 3600 s"
    );
    assert_eq!(
        summary["body"]["message"]["body"],
        "\"sync failed...\" repeated 2 more times in 3600 s\n\nsync failed\nstep 2 of 5\ndetails follow"
    );
    assert_eq!(summary["custom"]["fields"]["attempt"], 3);
    assert_eq!(summary["fingerprint"], items[0]["data"]["fingerprint"]);
}

/// A tracker that gives no answer at all (refused, unresolvable) holds up the exit by
/// one more attempt, not by backoffs and one attempt per queued item: the retry that
/// shutdown wakes fails, and the rest is abandoned at once.
#[test]
fn an_unreachable_tracker_costs_shutdown_one_attempt() {
    let said = tracing_logbook::testing::capture_diagnostics();
    let attempts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (first_tx, first_rx) = std::sync::mpsc::channel();
    let counted = attempts.clone();
    let transport = move |_: &Request<'_>| -> Result<Response, TransportError> {
        if counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            let _ = first_tx.send(());
        }
        Err(TransportError::new("connection refused"))
    };
    let (layer, handle) = config()
        .dedup_window(Duration::ZERO)
        .retry_backoff(Duration::from_secs(3600))
        .build_with_transport(transport);
    run_with(layer, || {
        for n in 0..5 {
            tracing::error!(n, "tracker down");
        }
    });
    first_rx.recv_timeout(WAIT).expect("the first attempt");
    handle.shutdown(WAIT);
    let stats = handle.stats();
    // The first attempt, and at most the one retry that shutdown wakes (none when the
    // shutdown came before the worker started its backoff): never one per queued item.
    let made = attempts.load(std::sync::atomic::Ordering::SeqCst);
    assert!((1..=2).contains(&made), "{made} attempts: {stats:?}");
    assert_eq!(
        (stats.abandoned, stats.sent, stats.failed),
        (5, 0, 0),
        "{stats:?}"
    );
    said.assert_said("Rollbar unreachable at shutdown");
}

/// pyrollbar's `exception_level_filters`: per class and per target, a level or
/// "ignored"; the first matching rule wins, and below the threshold nothing is sent.
#[test]
fn level_rules_by_class_and_target() {
    let (_, items) = in_memory(
        config()
            .dedup_window(Duration::ZERO)
            .ignore_class("ParseIntError")
            .level_for_class("LookupFailed", Level::Critical)
            .level_for_target("noisy", Level::Warning)
            .level_for_target("watched", Level::Error),
        || {
            let e = lookup("x").unwrap_err();
            // Both classes are in the chain: the first rule (ignore) wins.
            tracing::error!(error = &e as &dyn std::error::Error, "ignored");
            tracing::error!(target: "noisy::db", "below the threshold now");
            tracing::warn!(target: "watched", "raised to error");
            tracing::error!(target: "noisyneighbour", "a different target");
        },
    );
    let titles: Vec<(&str, &str)> = items
        .iter()
        .map(|i| {
            (
                i["data"]["title"].as_str().unwrap(),
                i["data"]["level"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        titles,
        [
            ("raised to error", "error"),
            ("a different target", "error")
        ]
    );
    let (_, items) = in_memory(
        config().level_for_class("LookupFailed", Level::Critical),
        || {
            let e = lookup("x").unwrap_err();
            tracing::error!(error = &e as &dyn std::error::Error, "lookup failed");
        },
    );
    assert_eq!(items[0]["data"]["level"], "critical");
}

#[test]
fn secrets_are_scrubbed_in_custom_request_and_telemetry() {
    let (_, items) = in_memory(config().scrub("session_id"), || {
        let _s = tracing::info_span!(
            "request",
            method = "GET",
            url = "https://bob:url-secret@example.com/cb?token=q-secret&x=1",
            headers.authorization = "Bearer hdr-secret",
            headers.cookie = "sid=cookie-secret",
            user_agent = "curl"
        )
        .entered();
        tracing::info!(password = "tele-secret", "before");
        tracing::error!(
            Authorization = "auth-secret",
            session_id = "custom-secret",
            my_password = "kept",
            "failed"
        );
    });
    let item = &items[0];
    Schema::load().assert_strict(item);
    let text = item.to_string();
    for secret in [
        "tele-secret",
        "url-secret",
        "q-secret",
        "hdr-secret",
        "cookie-secret",
        "auth-secret",
        "custom-secret",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    let data = &item["data"];
    assert_eq!(data["custom"]["fields"]["Authorization"], "***");
    assert_eq!(data["custom"]["fields"]["my_password"], "kept");
    assert_eq!(
        data["request"]["url"],
        "https://bob:***@example.com/cb?token=***&x=1"
    );
    assert_eq!(data["request"]["headers"]["Authorization"], "***");
    assert_eq!(data["request"]["headers"]["User-Agent"], "curl");
    assert_eq!(
        data["body"]["telemetry"][0]["body"]["message"],
        "before password=***"
    );
}

/// A URL password with a space in it (`postgres://app:two words@db/app`, as written in
/// configuration strings) is scrubbed whole in the message, the title, fields, span
/// fields and telemetry.
#[test]
fn a_url_password_with_a_space_is_scrubbed_everywhere() {
    const URL: &str = "postgres://app:two words@db/app";
    let (_, items) = in_memory(config().telemetry(5), || {
        tracing::info!("connecting with {URL}");
        let _job = tracing::info_span!("job", source = URL).entered();
        tracing::error!(database_url = URL, "cannot connect to {URL}: timeout");
    });
    assert_eq!(items.len(), 1);
    Schema::load().assert_strict(&items[0]);
    let data = &items[0]["data"];
    let scrubbed = "postgres://app:***@db/app";
    assert_eq!(
        data["body"]["message"]["body"],
        format!("cannot connect to {scrubbed}: timeout")
    );
    assert_eq!(
        data["title"],
        format!("cannot connect to {scrubbed}: timeout")
    );
    assert_eq!(data["custom"]["fields"]["database_url"], scrubbed);
    assert_eq!(data["custom"]["spans"][0]["fields"]["source"], scrubbed);
    assert_eq!(
        data["body"]["telemetry"][0]["body"]["message"],
        format!("connecting with {scrubbed}")
    );
    let text = items[0].to_string();
    assert!(!text.contains("words"), "{text}");
}

#[test]
fn scrub_names_that_are_keys_of_the_format_do_not_break_it() {
    // `scrub` names that are also keys of a Rollbar item: the item stays valid and only
    // the user's fields of those names are scrubbed.
    let config = [
        "body",
        "message",
        "level",
        "data",
        "trace",
        "telemetry",
        "custom",
        "file",
    ]
    .into_iter()
    .fold(config().telemetry(5), NotifyConfig::scrub);
    let (_, items) = in_memory(config, || {
        tracing::info!(level = 1, "before");
        tracing::error!(body = "request body", message2 = "kept", "failed");
        tracing_logbook::critical!(
            target: "panic",
            panic.message = "boom",
            panic.location = "src/lib.rs:1:1",
            "panicked"
        );
    });
    let schema = Schema::load();
    items.iter().for_each(|item| schema.assert_strict(item));
    let data = &items[0]["data"];
    assert_eq!(data["level"], "error");
    assert_eq!(data["body"]["message"]["body"], "failed");
    assert_eq!(data["custom"]["fields"]["body"], "***");
    assert_eq!(data["custom"]["fields"]["message2"], "kept");
    assert!(data["custom"]["file"]
        .as_str()
        .unwrap()
        .ends_with("notify.rs"));
    // The telemetry line's own field `level` is a user field: scrubbed.
    assert_eq!(
        data["body"]["telemetry"][0]["body"]["message"],
        "before level=***"
    );
    assert_eq!(data["body"]["telemetry"][0]["level"], "info");
    assert_eq!(
        items[1]["data"]["body"]["trace"]["exception"]["message"],
        "boom"
    );
}

#[test]
fn the_token_never_shows() {
    let config = NotifyConfig::rollbar("tok-SECRET-123");
    assert!(!format!("{config:?}").contains("SECRET"));
    let (layer, handle) = config.build_with_transport(|_: &Request<'_>| Ok(Response::status(200)));
    assert!(!format!("{layer:?}{handle:?}").contains("SECRET"));
    let lookup = |token: &'static str| {
        move |name: &str| (name == "ROLLBAR_ACCESS_TOKEN").then(|| token.to_owned())
    };
    let err = NotifyConfig::rollbar_from_lookup(lookup("tok SECRET"), "production").unwrap_err();
    assert_eq!(err.var(), Some("ROLLBAR_ACCESS_TOKEN"));
    assert!(!err.to_string().contains("SECRET"), "{err}");
    let ok = NotifyConfig::rollbar_from_lookup(lookup("tok-SECRET-123"), "staging")
        .unwrap()
        .unwrap();
    assert!(!format!("{ok:?}").contains("SECRET"));
    assert!(format!("{ok:?}").contains("staging"));
}

#[test]
fn from_lookup_validates_each_variable() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    };
    assert!(NotifyConfig::rollbar_from_lookup(env(&[]), "production")
        .unwrap()
        .is_none());
    let config = NotifyConfig::rollbar_from_lookup(
        env(&[
            ("ROLLBAR_ACCESS_TOKEN", "abc"),
            ("ROLLBAR_ENDPOINT", "http://127.0.0.1:9/api/1/item/"),
            (
                "ROLLBAR_CODE_VERSION",
                "0123456789abcdef0123456789abcdef01234567",
            ),
        ]),
        "production",
    )
    .unwrap()
    .unwrap();
    assert_eq!(config.endpoint_url(), "http://127.0.0.1:9/api/1/item/");
    for (pairs, var) in [
        (
            &[
                ("ROLLBAR_ACCESS_TOKEN", "abc"),
                ("ROLLBAR_ENDPOINT", "ftp://x/"),
            ][..],
            "ROLLBAR_ENDPOINT",
        ),
        (
            &[
                ("ROLLBAR_ACCESS_TOKEN", "abc"),
                ("ROLLBAR_ENDPOINT", "https://"),
            ][..],
            "ROLLBAR_ENDPOINT",
        ),
        (
            &[
                ("ROLLBAR_ACCESS_TOKEN", "abc"),
                (
                    "ROLLBAR_CODE_VERSION",
                    "0123456789abcdef0123456789abcdef012345678",
                ),
            ][..],
            "ROLLBAR_CODE_VERSION",
        ),
        (&[("ROLLBAR_ACCESS_TOKEN", "")][..], "ROLLBAR_ACCESS_TOKEN"),
    ] {
        let pairs: &'static [(&'static str, &'static str)] =
            Box::leak(pairs.to_vec().into_boxed_slice());
        let err = NotifyConfig::rollbar_from_lookup(env(pairs), "production").unwrap_err();
        assert_eq!(err.var(), Some(var), "{err}");
    }
}

#[test]
fn a_storm_is_sent_once_then_summarised() {
    let (transport, items) = memory();
    let (layer, handle) = config()
        .dedup_window(Duration::from_secs(3600))
        .build_with_transport(transport);
    run_with(layer, || {
        for i in 0..50 {
            tracing::error!(attempt = i, "database unreachable");
        }
        tracing::error!("another error");
    });
    assert!(handle.flush(WAIT));
    assert_eq!(items.lock().unwrap().len(), 2);
    assert_eq!(handle.suppressed(), 49);
    // The window is still open: its summary goes out at shutdown.
    handle.shutdown(WAIT);
    let items = items.lock().unwrap().clone();
    assert_eq!(items.len(), 3, "{items:#?}");
    let summary = &items[2];
    Schema::load().assert_strict(summary);
    assert_eq!(
        summary["data"]["body"]["message"]["body"],
        "\"database unreachable\" repeated 49 more times in 3600 s"
    );
    assert_eq!(summary["data"]["custom"]["repeated"], 49);
    assert_ne!(summary["data"]["uuid"], items[0]["data"]["uuid"]);
    assert_eq!(handle.sent(), 3);
}

/// The items and the summaries a storm leaves, once the notifier is shut down.
fn storm(f: impl FnOnce()) -> (NotifyHandle, Vec<Value>) {
    let (transport, items) = memory();
    let (layer, handle) = config()
        .dedup_window(Duration::from_secs(3600))
        .build_with_transport(transport);
    run_with(layer, f);
    handle.shutdown(WAIT);
    let items = items.lock().unwrap().clone();
    (handle, items)
}

/// 200 panics at one line with varying messages (as `index out of bounds` has) are one
/// error: one item, then one summary with the count, under one fingerprint.
#[test]
fn a_panic_storm_at_one_line_is_one_item_and_a_summary() {
    let (handle, items) = storm(|| {
        for i in 0..200 {
            tracing_logbook::critical!(
                target: "panic",
                panic.message = format!("index out of bounds: the len is 3 but the index is {i}").as_str(),
                panic.location = "src/lib.rs:10:5",
                panic.thread = "worker-1",
                "thread 'worker-1' panicked"
            );
        }
    });
    assert_eq!(
        items.len(),
        2,
        "one item and one summary, not {}",
        items.len()
    );
    assert_eq!(handle.suppressed(), 199);
    let (first, summary) = (&items[0]["data"], &items[1]["data"]);
    assert_eq!(first["body"]["trace"]["exception"]["class"], "panic");
    assert_eq!(summary["custom"]["repeated"], 199);
    assert_eq!(
        summary["body"]["message"]["body"],
        "\"index out of bounds: the len is 3 but the index is 0\" (panic) repeated 199 more times in 3600 s"
    );
    assert_eq!(first["fingerprint"], "panic at src/lib.rs:10");
    assert_eq!(summary["fingerprint"], first["fingerprint"]);
}

/// Two error classes logged at one callsite, with varying messages, are two errors: an
/// item and a summary each, and each summary names its own class and count.
#[test]
fn different_error_classes_at_one_callsite_are_separate_items_and_summaries() {
    let (handle, items) = storm(|| {
        for i in 0..30 {
            let e: Box<dyn std::error::Error> = if i % 3 == 0 {
                Box::new(lookup(&format!("{i}x")).unwrap_err())
            } else {
                Box::new("x".parse::<u8>().unwrap_err())
            };
            tracing::error!(error = &*e as &dyn std::error::Error, "step {i} failed");
        }
    });
    assert_eq!(items.len(), 4, "{items:#?}");
    assert_eq!(handle.suppressed(), 28);
    let chain = |item: &Value| item["data"]["fingerprint"].as_str().unwrap().to_owned();
    let (lookup_item, parse_item) = (&items[0], &items[1]);
    assert!(chain(lookup_item)
        .starts_with("LookupFailed<ParseIntError: invalid digit found in string at "));
    assert!(chain(parse_item).starts_with("ParseIntError: invalid digit found in string at "));
    let mut summaries: Vec<(String, String, u64)> = items[2..]
        .iter()
        .map(|s| {
            (
                chain(s),
                s["data"]["body"]["message"]["body"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                s["data"]["custom"]["repeated"].as_u64().unwrap(),
            )
        })
        .collect();
    summaries.sort();
    assert_eq!(
        summaries,
        [
            (
                chain(lookup_item),
                "\"step 0 failed\" (LookupFailed<ParseIntError: invalid digit found in string) repeated 9 more times in 3600 s"
                    .to_owned(),
                9
            ),
            (
                chain(parse_item),
                "\"step 1 failed\" (ParseIntError: invalid digit found in string) repeated 19 more times in 3600 s".to_owned(),
                19
            ),
        ]
    );
}

/// A `log` call whose target is made per request (`target: &format!("req-{id}")`) is one
/// callsite: one item and a summary, not one item per target.
#[test]
fn per_request_log_targets_are_one_item() {
    let (handle, items) = storm(|| {
        for id in 0..50 {
            let target = format!("req-{id}");
            tracing_log::format_trace(
                &log::Record::builder()
                    .target(&target)
                    .level(log::Level::Error)
                    .file(Some("src/legacy/handler.rs"))
                    .line(Some(88))
                    .module_path(Some("legacy::handler"))
                    .args(format_args!("request {id} failed"))
                    .build(),
            )
            .unwrap();
        }
    });
    assert_eq!(items.len(), 2, "{items:#?}");
    assert_eq!(handle.suppressed(), 49);
    assert_eq!(items[0]["data"]["custom"]["channel"], "req-0");
    assert_eq!(
        items[0]["data"]["fingerprint"],
        "message at src/legacy/handler.rs:88"
    );
    assert_eq!(items[1]["data"]["custom"]["repeated"], 49);
    assert_eq!(
        items[1]["data"]["fingerprint"],
        items[0]["data"]["fingerprint"]
    );
}

#[test]
fn a_full_queue_drops_and_counts_instead_of_blocking() {
    let said = tracing_logbook::testing::capture_diagnostics();
    // The transport blocks until released, so the worker holds one item and the queue
    // (size 2) fills: every further event must be dropped at once.
    let (entered_tx, entered_rx) = std::sync::mpsc::channel::<()>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    let transport = move |_: &Request<'_>| {
        let _ = entered_tx.send(());
        let _ = release_rx.lock().unwrap().recv_timeout(WAIT);
        Ok(Response::status(200))
    };
    let (layer, handle) = config()
        .queue_size(2)
        .dedup_window(Duration::ZERO)
        .build_with_transport(transport);
    let subscriber = tracing_subscriber::registry().with(layer);
    let dispatch = tracing::Dispatch::new(subscriber);
    tracing::dispatcher::with_default(&dispatch, || tracing::error!("first"));
    entered_rx
        .recv_timeout(WAIT)
        .expect("worker took the first item");
    tracing::dispatcher::with_default(&dispatch, || {
        for i in 0..12 {
            tracing::error!(i, "more");
        }
    });
    assert_eq!(handle.dropped(), 10);
    assert_eq!(handle.stats().pending, 3);
    drop(release_tx);
    assert!(handle.flush(WAIT));
    assert_eq!(handle.sent(), 3);
    said.assert_said("notification queue full");
}

#[test]
fn panic_event_becomes_a_trace_with_frames_oldest_first() {
    #[inline(never)]
    fn failing_function() -> std::backtrace::Backtrace {
        std::backtrace::Backtrace::force_capture()
    }
    let backtrace = failing_function();
    let (_, items) = in_memory(config(), || {
        tracing_logbook::critical!(
            target: "panic",
            panic.message = "index out of bounds",
            panic.location = "src/lib.rs:10:5",
            panic.thread = "worker-1",
            panic.backtrace = %backtrace,
            "thread 'worker-1' panicked"
        );
    });
    let item = &items[0];
    Schema::load().assert_strict(item);
    let data = &item["data"];
    assert_eq!(data["level"], "critical");
    let trace = &data["body"]["trace"];
    assert_eq!(trace["exception"]["class"], "panic");
    assert_eq!(trace["exception"]["message"], "index out of bounds");
    let methods: Vec<&str> = trace["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["method"].as_str().unwrap())
        .collect();
    let here = methods
        .iter()
        .position(|m| m.contains("failing_function"))
        .unwrap_or_else(|| panic!("no failing_function in {methods:#?}"));
    let caller = methods
        .iter()
        .position(|m| m.contains("panic_event_becomes_a_trace"))
        .expect("the test function is a frame");
    assert!(caller < here, "oldest first: {methods:#?}");
    assert!(!methods.iter().any(|m| m.contains("std::backtrace")));
    assert!(
        data["custom"].get("fields").is_none(),
        "panic.* fields are in the trace"
    );
}

// === delivery over loopback HTTP ===

#[cfg(feature = "http-client")]
mod http {
    use super::*;
    use support::server::{refused_endpoint, Reply, Server};

    fn http_config(endpoint: String) -> NotifyConfig {
        config()
            .endpoint(endpoint)
            .retry_backoff(Duration::from_millis(1))
            .connect_timeout(Duration::from_secs(5))
            .request_timeout(Duration::from_secs(10))
    }

    /// Configured in code, the environment is the mode unless set.
    #[test]
    fn the_environment_defaults_to_the_mode() {
        use tracing_logbook::{Env, LogFile, Mode};
        let server = Server::start(vec![]);
        let dir = tempfile::tempdir().unwrap();
        for (mode, config, want) in [
            (
                Mode::Development,
                NotifyConfig::rollbar("test-token"),
                "development",
            ),
            (
                Mode::Staging,
                NotifyConfig::rollbar("test-token"),
                "staging",
            ),
            (
                Mode::Development,
                NotifyConfig::rollbar("test-token").environment("qa"),
                "qa",
            ),
        ] {
            let env = Env::new(mode)
                .log_file(LogFile::Path(dir.path().join("app.log")))
                .notifier(config.endpoint(server.endpoint()));
            let (dispatch, guard) = tracing_logbook::build(env).unwrap();
            tracing::dispatcher::with_default(&dispatch, || tracing::error!("which environment"));
            assert!(guard.flush(WAIT));
            let items = server.requests();
            assert_eq!(items.last().unwrap().json()["data"]["environment"], want);
        }
    }

    #[test]
    fn posts_items_with_the_token_header() {
        let server = Server::start(vec![]);
        let (layer, handle) = http_config(server.endpoint()).build();
        run_with(layer, || tracing::error!(code = 3, "it broke"));
        assert!(handle.flush(WAIT));
        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        let r = &requests[0];
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/api/1/item/");
        assert_eq!(r.header("X-Rollbar-Access-Token"), Some("test-token"));
        assert_eq!(r.header("Content-Type"), Some("application/json"));
        let item = r.json();
        Schema::load().assert_strict(&item);
        assert!(
            item.get("access_token").is_none(),
            "the token stays in the header"
        );
        assert_eq!(handle.stats().sent, 1);
    }

    #[test]
    fn server_errors_and_dropped_connections_are_retried_with_the_same_uuid() {
        let server = Server::start(vec![
            Reply::Status(500, vec![]),
            Reply::Close,
            Reply::Status(503, vec![]),
        ]);
        let (layer, handle) = http_config(server.endpoint()).build();
        run_with(layer, || tracing::error!("flaky"));
        assert!(handle.flush(WAIT));
        let requests = server.requests();
        assert_eq!(requests.len(), 4);
        let uuids: Vec<_> = requests
            .iter()
            .map(|r| r.json()["data"]["uuid"].clone())
            .collect();
        assert!(uuids.windows(2).all(|w| w[0] == w[1]), "{uuids:?}");
        assert_eq!(
            (handle.sent(), handle.retried(), handle.failed()),
            (1, 3, 0)
        );
    }

    #[test]
    fn retries_are_bounded() {
        let said = tracing_logbook::testing::capture_diagnostics();
        let (layer, handle) = http_config(refused_endpoint()).max_attempts(3).build();
        run_with(layer, || tracing::error!("nobody listens"));
        assert!(handle.flush(WAIT));
        assert_eq!(
            (handle.sent(), handle.retried(), handle.failed()),
            (0, 2, 1)
        );
        said.assert_said("cannot deliver to Rollbar");
    }

    #[test]
    fn rate_limit_pauses_sending_then_resends() {
        let said = tracing_logbook::testing::capture_diagnostics();
        let server = Server::start(vec![Reply::Status(
            429,
            vec![
                ("X-Rate-Limit-Remaining", "0".into()),
                ("X-Rate-Limit-Remaining-Seconds", "1".into()),
            ],
        )]);
        let (layer, handle) = http_config(server.endpoint()).build();
        run_with(layer, || {
            tracing::error!("first");
            tracing::error!("second");
        });
        assert!(handle.flush(WAIT));
        let bodies: Vec<_> = server
            .requests()
            .iter()
            .map(|r| r.json()["data"]["body"]["message"]["body"].clone())
            .collect();
        // The rate-limited item is sent again (same uuid) before anything else.
        assert_eq!(bodies, ["first", "first", "second"]);
        assert_eq!((handle.sent(), handle.retried()), (2, 1));
        said.assert_said("Rollbar rate limit reached: sending paused");
    }

    /// A 429 whose headers are hostile (a pause of 1e20 s, which once panicked the
    /// delivery thread), an HTTP-date, or garbage: each is a pause (the date's, or the
    /// default 60 s, capped by `max_rate_limit_pause`), never a panic nor "retry at
    /// once", and later notifications are still delivered.
    #[test]
    fn hostile_retry_after_headers_pause_and_never_kill_the_notifier() {
        let said = tracing_logbook::testing::capture_diagnostics();
        // An hour from now, in IMF-fixdate form.
        let in_an_hour = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
        let date = in_an_hour
            .format(time::macros::format_description!(
                "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
            ))
            .unwrap();
        let server = Server::start(vec![
            Reply::Status(429, vec![("Retry-After", "1e20".into())]),
            Reply::Status(429, vec![("Retry-After", date)]),
            Reply::Status(429, vec![("Retry-After", "later, maybe".into())]),
        ]);
        const CAP: Duration = Duration::from_millis(150);
        let (layer, handle) = http_config(server.endpoint())
            .max_rate_limit_pause(CAP)
            .max_attempts(5)
            .dedup_window(Duration::ZERO)
            .build();
        let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
        let started = std::time::Instant::now();
        tracing::dispatcher::with_default(&dispatch, || tracing::error!("first"));
        let bounded = Duration::from_secs(10);
        assert!(handle.flush(bounded), "{:?}", handle.stats());
        // Three pauses of the cap each (a bare 1 ms backoff would take no time).
        let took = started.elapsed();
        assert!(took >= CAP * 3, "{took:?}");
        tracing::dispatcher::with_default(&dispatch, || tracing::error!("second"));
        assert!(handle.flush(bounded), "{:?}", handle.stats());
        let bodies: Vec<_> = server
            .requests()
            .iter()
            .map(|r| r.json()["data"]["body"]["message"]["body"].clone())
            .collect();
        assert_eq!(bodies, ["first", "first", "first", "first", "second"]);
        let stats = handle.stats();
        assert_eq!(
            (stats.sent, stats.retried, stats.failed, stats.dropped),
            (2, 3, 0, 0),
            "{stats:?}"
        );
        said.assert_said("Rollbar rate limit reached: sending paused");
    }

    /// A transport that panics (a bug, in ours or in the application's) costs the item
    /// it was sending, not the notifier.
    #[test]
    fn a_panic_while_delivering_costs_one_item_not_the_thread() {
        let said = tracing_logbook::testing::capture_diagnostics();
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = calls.clone();
        let transport = move |_: &Request<'_>| -> Result<Response, TransportError> {
            if counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                panic!("transport bug");
            }
            Ok(Response::status(200))
        };
        let (layer, handle) = config()
            .dedup_window(Duration::ZERO)
            .build_with_transport(transport);
        let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
        tracing::dispatcher::with_default(&dispatch, || tracing::error!("first"));
        let bounded = Duration::from_secs(10);
        assert!(handle.flush(bounded), "{:?}", handle.stats());
        tracing::dispatcher::with_default(&dispatch, || tracing::error!("second"));
        assert!(handle.flush(bounded), "{:?}", handle.stats());
        let stats = handle.stats();
        assert_eq!(
            (stats.sent, stats.failed, stats.pending),
            (1, 1, 0),
            "{stats:?}"
        );
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
        said.assert_said("delivering an item panicked");
    }

    #[test]
    fn too_large_is_truncated_and_sent_once_more() {
        let server = Server::start(vec![Reply::Status(413, vec![])]);
        let (layer, handle) = http_config(server.endpoint()).telemetry(50).build();
        let big = "x".repeat(100 * 1024);
        run_with(layer, || {
            for i in 0..50 {
                tracing::info!(i, "{big}");
            }
            tracing::error!(blob = %big, "too big");
        });
        assert!(handle.flush(WAIT));
        let requests = server.requests();
        assert_eq!(requests.len(), 2);
        let (first, second) = (requests[0].json(), requests[1].json());
        assert!(
            requests[0].body.len() <= 512 * 1024,
            "{}",
            requests[0].body.len()
        );
        assert!(requests[1].body.len() < requests[0].body.len());
        assert_eq!(first["data"]["uuid"], second["data"]["uuid"]);
        Schema::load().assert_strict(&first);
        Schema::load().assert_strict(&second);
        assert_eq!((handle.sent(), handle.retried()), (1, 1));
    }

    #[test]
    fn client_errors_are_not_retried() {
        let said = tracing_logbook::testing::capture_diagnostics();
        let server = Server::start(vec![Reply::Status(403, vec![])]);
        let (layer, handle) = http_config(server.endpoint()).build();
        run_with(layer, || {
            tracing::error!("rejected");
            tracing::error!("accepted");
        });
        assert!(handle.flush(WAIT));
        assert_eq!(server.requests().len(), 2);
        assert_eq!(
            (handle.sent(), handle.failed(), handle.retried()),
            (1, 1, 0)
        );
        let counts = handle.counts();
        assert_eq!((counts.written, counts.dropped, counts.failed), (1, 0, 1));
        assert!(handle.shutdown(WAIT));
        said.assert_said("Rollbar rejected an item (HTTP 403)");
    }

    #[test]
    fn shutdown_is_bounded_against_a_hanging_server() {
        let said = tracing_logbook::testing::capture_diagnostics();
        let server = Server::start(vec![Reply::Hang(Duration::from_secs(600))]);
        let (layer, handle) = http_config(server.endpoint())
            .request_timeout(Duration::from_secs(600))
            .dedup_window(Duration::ZERO)
            .build();
        run_with(layer, || {
            for _ in 0..3 {
                tracing::error!("stuck");
            }
        });
        assert!(server.wait_for(1, WAIT));
        // The server holds the first request for 10 minutes; shutdown must return at
        // its deadline with the three items not delivered, and say so.
        assert!(!handle.shutdown(Duration::from_millis(300)));
        let stats = handle.stats();
        assert_eq!(stats.sent, 0);
        assert_eq!(stats.pending, 3, "{stats:?}");
        assert_eq!(handle.counts(), tracing_logbook::Counts::default());
        server.release();
        // The hung request ends with the server's release; the worker then says what it
        // could not deliver.
        assert!(
            said.wait_for("Rollbar unreachable at shutdown", WAIT),
            "{:?}",
            said.lines()
        );
        said.assert_said("3 error notifications not delivered within the shutdown deadline");
    }

    #[test]
    fn callers_never_wait_for_a_hanging_server() {
        let said = tracing_logbook::testing::capture_diagnostics();
        let server = Server::start(vec![Reply::Hang(Duration::from_secs(600))]);
        let (layer, handle) = http_config(server.endpoint())
            .request_timeout(Duration::from_secs(600))
            .queue_size(4)
            .dedup_window(Duration::ZERO)
            .build();
        let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
        tracing::dispatcher::with_default(&dispatch, || tracing::error!("first"));
        assert!(server.wait_for(1, WAIT));
        // The worker is stuck in the first request: 4 items fit in the queue, the rest
        // are dropped on the spot. Were the caller waiting for the server, this loop
        // would not end before the server's 10-minute hang.
        tracing::dispatcher::with_default(&dispatch, || {
            for i in 0..100 {
                tracing::error!(i, "while hanging");
            }
        });
        assert_eq!(handle.dropped(), 96);
        handle.shutdown(Duration::from_millis(100));
        server.release();
        said.assert_said("notification queue full: error notifications are being dropped");
    }

    #[test]
    fn one_secret_planted_everywhere_never_reaches_the_server() {
        use support::plant::{self, SECRET};
        let server = Server::start(vec![]);
        let (layer, handle) = http_config(server.endpoint())
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
        let items: Vec<Value> = requests.iter().map(|r| r.json()).collect();
        let schema = Schema::load();
        items.iter().for_each(|item| schema.assert_strict(item));
        let error = items
            .iter()
            .find(|i| i["data"]["custom"]["fields"]["password"].is_string())
            .expect("the error item");
        let data = &error["data"];
        assert_eq!(
            data["request"]["url"],
            "https://app:***@api.example.com/login?token=***&page=2"
        );
        assert_eq!(data["request"]["headers"]["Authorization"], "***");
        assert_eq!(data["custom"]["spans"][1]["fields"]["token"], "***");
        assert_eq!(data["custom"]["spans"][1]["fields"]["table"], "orders");
        assert_eq!(
            data["title"],
            "connecting to postgres://app:***@db.internal:5432/x failed; token=***"
        );
        assert_eq!(
            data["body"]["telemetry"][0]["body"]["message"],
            // Masked at capture (every output), so the line itself reads `password=***`.
            "retrying with Authorization: Bearer *** password=***"
        );
        assert_eq!(
            data["person"],
            serde_json::json!({ "id": "ann-1", "username": "ann" })
        );
        // The error's chain as a trace_chain, outermost first: scrubbed like the rest.
        let chain = &data["body"]["trace_chain"];
        assert_eq!(chain[0]["exception"]["class"], "Outer");
        assert_eq!(chain[0]["exception"]["message"], "pool exhausted");
        assert_eq!(chain[1]["exception"]["class"], "Inner");
        assert_eq!(
            chain[1]["exception"]["message"],
            "cannot reach postgres://app:***@db.internal:5432/x"
        );
        assert!(!format!("{items:?}").contains(SECRET));
    }

    const CHILD_MARKER: &str = "TRACING_LOGBOOK_PANIC_CHILD_ENDPOINT";

    /// Runs in the child process only: installs the layer and a panic hook, then panics.
    #[test]
    fn panic_child_entry() {
        let Ok(endpoint) = std::env::var(CHILD_MARKER) else {
            return;
        };
        let (layer, handle) = http_config(endpoint).build();
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
            .unwrap();
        std::panic::set_hook(Box::new(move |info| {
            let backtrace = std::backtrace::Backtrace::force_capture();
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let location = info
                .location()
                .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                .unwrap_or_default();
            let thread = std::thread::current()
                .name()
                .unwrap_or("<unnamed>")
                .to_owned();
            tracing_logbook::critical!(
                target: "panic",
                panic.message = message.as_str(),
                panic.location = location.as_str(),
                panic.thread = thread.as_str(),
                panic.backtrace = %backtrace,
                "thread '{}' panicked at {}: {}", thread, location, message
            );
            handle.flush(Duration::from_secs(10));
        }));
        child_handler(3);
    }

    #[inline(never)]
    fn child_handler(n: usize) {
        let v: Vec<usize> = Vec::new();
        if n > 0 {
            panic!("child boom {}", v.len() + n);
        }
    }

    #[test]
    fn a_panic_in_a_child_process_reaches_the_server() {
        let server = Server::start(vec![]);
        let out = tracing_logbook_test_support::child::ChildRun::test("http::panic_child_entry")
            .env(CHILD_MARKER, server.endpoint())
            .env("RUST_BACKTRACE", "0")
            .run();
        assert!(
            !out.status.success(),
            "the child test must fail by panicking"
        );
        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        let item = requests[0].json();
        Schema::load().assert_strict(&item);
        let data = &item["data"];
        assert_eq!(data["level"], "critical");
        let trace = &data["body"]["trace"];
        assert_eq!(trace["exception"]["class"], "panic");
        assert_eq!(trace["exception"]["message"], "child boom 3");
        let frames = trace["frames"].as_array().unwrap();
        let last = frames.last().unwrap();
        assert!(
            last["method"].as_str().unwrap().contains("child_handler"),
            "innermost application frame last: {frames:#?}"
        );
        assert!(last["filename"].as_str().unwrap().ends_with("notify.rs"));
        assert!(last["lineno"].is_u64());
        // Where the panic happened, not the hook that reported it.
        let custom = &data["custom"];
        assert!(
            custom["file"]
                .as_str()
                .unwrap()
                .ends_with("tests/notify.rs"),
            "{custom:#}"
        );
        assert_eq!(custom["line"], last["lineno"], "{custom:#}");
        assert_eq!(custom["module"], "notify::http", "{custom:#}");
    }
}

// === one failed request, one notification (feature `http`) ===

#[cfg(feature = "http")]
mod requests {
    use super::*;
    use tracing_logbook::web;

    fn request(path: &str) -> ::http::Request<()> {
        ::http::Request::post(path)
            .header("host", "shop.example.com")
            .header("user-agent", "curl/8")
            .body(())
            .unwrap()
    }

    fn respond(span: &tracing::Span, status: u16) {
        let res = ::http::Response::builder().status(status).body(()).unwrap();
        web::on_response(&res, Duration::from_millis(2), span);
    }

    /// A handler that logs its error inside the request span: that error (class,
    /// causes, request) is the request's one notification; the 5xx line is not sent,
    /// also when the error itself was folded into a summary. Without a handler error,
    /// the 5xx line is, titled with method, route and status.
    #[test]
    fn a_failed_request_is_one_notification_with_its_reason() {
        let (handle, items) = in_memory(config(), || {
            for id in [17, 18] {
                let span =
                    web::request_span(&request(&format!("/users/{id}")), Some("/users/{id}"), None);
                let _in = span.enter();
                let e = lookup(&format!("{id}x")).unwrap_err();
                tracing::error!(
                    error = &e as &dyn std::error::Error,
                    "cannot load user {id}"
                );
                respond(&span, 500);
            }
            let span = web::request_span(&request("/orders?page=2"), Some("/orders"), None);
            respond(&span, 503);
        });
        assert_eq!(items.len(), 2, "{items:#?}");
        let schema = Schema::load();
        items.iter().for_each(|item| schema.assert_strict(item));
        let error = &items[0]["data"];
        assert_eq!(error["title"], "cannot load user 17");
        assert_eq!(
            error["body"]["trace_chain"][0]["exception"]["class"],
            "LookupFailed"
        );
        assert_eq!(error["request"]["method"], "POST");
        assert_eq!(error["request"]["route"], "/users/{id}");
        assert_eq!(error["context"], "/users/{id}");
        let response = &items[1]["data"];
        assert_eq!(response["title"], "POST /orders 503 Service Unavailable");
        assert_eq!(response["context"], "/orders");
        // Grouped by what failed, not by the web glue's one callsite for every route.
        assert_eq!(
            response["fingerprint"],
            "message at POST /orders 503 Service Unavailable"
        );
        // The second request's error was a repeat: folded into the summary, and its 5xx
        // line still not sent.
        assert_eq!(handle.suppressed(), 1);
    }

    /// The usual axum shape: the user recorded on the request span by the handler (the
    /// span declares the fields), the error logged after the handler returned, by a
    /// central `impl IntoResponse for AppError`: the item has the request and the user.
    #[test]
    fn a_user_recorded_on_the_request_reaches_an_error_logged_after_the_handler() {
        let (_, items) = in_memory(config(), || {
            let span = web::request_span(&request("/orders"), Some("/orders"), None);
            // The handler, with a span of its own that closes before the response.
            let result: Result<(), &str> = span.in_scope(|| {
                let _handler = tracing::info_span!("handler").entered();
                span.record("user.id", 42).record("user.name", "ann");
                Err("database is locked")
            });
            // `AppError::into_response`, inside the request span only.
            let _in = span.enter();
            if let Err(e) = result {
                tracing::error!(error = e, "database error");
            }
        });
        assert_eq!(items.len(), 1);
        let data = &items[0]["data"];
        assert_eq!(data["person"]["id"], "42", "{data:#}");
        assert_eq!(data["person"]["username"], "ann");
        assert_eq!(data["request"]["route"], "/orders");
    }

    /// Behind a trusted proxy that appends its own `X-Forwarded-For` line (HAProxy), the
    /// client's forged first line is not the client: every line is read, in order.
    #[test]
    fn every_forwarded_for_line_is_read_and_the_forged_one_is_not_the_client() {
        let (_, items) = in_memory(config().trust_proxy([10, 0, 0, 0].into(), 8), || {
            let req = ::http::Request::get("/")
                .header("x-forwarded-for", "6.6.6.6")
                .header("x-forwarded-for", "203.0.113.7:5050, 10.0.0.2")
                .body(())
                .unwrap();
            let span = web::request_span(&req, Some("/"), Some([10, 0, 0, 9].into()));
            let _in = span.enter();
            tracing::error!("failed");
        });
        assert_eq!(items.len(), 1);
        let request = &items[0]["data"]["request"];
        assert_eq!(request["user_ip"], "203.0.113.7", "{request:#}");
        assert_eq!(
            request["headers"]["X-Forwarded-For"],
            "6.6.6.6, 203.0.113.7:5050, 10.0.0.2"
        );
    }
}

/// An error whose `source()` is itself (a hand-written `Error` impl gone wrong).
#[derive(Debug)]
struct Cyclic;

impl std::fmt::Display for Cyclic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("I am my own cause")
    }
}

impl std::error::Error for Cyclic {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self)
    }
}

#[test]
fn a_cyclic_error_chain_is_cut_and_marked_on_the_line_and_in_the_item() {
    // Before the one bounded walk, this `error!` never returned.
    let captured = tracing_logbook::testing::capture(|| {
        tracing::error!(error = &Cyclic as &dyn std::error::Error, "cyclic");
    });
    let lines = captured.formatted();
    assert_eq!(lines.len(), 1, "{lines:?}");
    // The loop is seen on its first or second turn (a type can have two vtables).
    let once = "cyclic error=\"I am my own cause: [cycle: source() returns an earlier error]\"";
    let twice = "cyclic error=\"I am my own cause: I am my own cause: [cycle: source() returns an earlier error]\"";
    assert!(
        lines[0].ends_with(once) || lines[0].ends_with(twice),
        "{lines:?}"
    );
    let (_, items) = in_memory(config(), || {
        tracing::error!(error = &Cyclic as &dyn std::error::Error, "cyclic");
    });
    assert_eq!(items.len(), 1);
    Schema::load().assert_strict(&items[0]);
    let links = support::schema::chain_links(&items[0]["data"]);
    assert!((1..=2).contains(&links.len()), "{links:?}");
    assert!(
        links.iter().all(|l| *l == ("Cyclic", "I am my own cause")),
        "{links:?}"
    );
}

/// The usual central error type (`AppError` wrapping the database's error), logged at one
/// callsite for every database failure: each cause is its own issue (the seed's "database
/// is locked" was only ever a count under an earlier title), the same cause with other
/// ids one, and within the dedup window a new cause is never swallowed.
#[test]
fn one_callsite_s_different_causes_are_different_issues() {
    #[derive(Debug)]
    struct SqliteError(String);
    impl std::fmt::Display for SqliteError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }
    impl std::error::Error for SqliteError {}
    #[derive(Debug)]
    struct AppError(SqliteError);
    impl std::fmt::Display for AppError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            // thiserror's `#[error("database error: {0}")]`.
            write!(f, "database error: {}", self.0)
        }
    }
    impl std::error::Error for AppError {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
    fn respond(e: &AppError) {
        tracing::error!(error = e as &dyn std::error::Error, "database error");
    }
    let causes = [
        "UNIQUE constraint failed: users.email",
        "FOREIGN KEY constraint failed",
        "database is locked",
        "no such table: orders",
        "attempt to write a readonly database",
        "database is locked",
        "UNIQUE constraint failed: users.email",
    ];
    let (handle, items) = storm(|| {
        for cause in causes {
            respond(&AppError(SqliteError(cause.into())));
        }
        for id in [17, 18, 19] {
            respond(&AppError(SqliteError(format!("user {id} not found"))));
        }
    });
    let fingerprints: Vec<&str> = items
        .iter()
        .filter(|i| i["data"]["custom"]["repeated"].is_null())
        .map(|i| i["data"]["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(fingerprints.len(), 6, "{fingerprints:#?}");
    assert!(fingerprints[2].starts_with("AppError<SqliteError: database is locked at "));
    assert!(fingerprints[5].starts_with("AppError<SqliteError: user # not found at "));
    // The two repeats and the two other ids were folded into summaries of their own cause.
    assert_eq!(handle.suppressed(), 4);
    // The cause is not repeated on the item's error value (thiserror's `{0}`).
    let error = &items[0]["data"]["custom"]["fields"]["error"];
    assert_eq!(
        error, "database error: UNIQUE constraint failed: users.email",
        "{:#}",
        items[0]["data"]
    );
}

/// Without `capture_email`, an address in the message is scrubbed like the `user.email`
/// field; with it, both are sent.
#[test]
fn emails_in_free_text_follow_capture_email() {
    let (_, items) = in_memory(config(), || {
        tracing::error!(
            user.id = 7,
            user.email = "ann@example.com",
            "no mail for ann@example.com"
        );
    });
    let data = &items[0]["data"];
    assert_eq!(data["title"], "no mail for ***", "{data:#}");
    assert!(!items[0].to_string().contains("ann@example.com"));
    let (_, items) = in_memory(config().capture_email(true), || {
        tracing::error!(
            user.id = 7,
            user.email = "ann@example.com",
            "no mail for ann@example.com"
        );
    });
    assert_eq!(items[0]["data"]["title"], "no mail for ann@example.com");
    assert_eq!(items[0]["data"]["person"]["email"], "ann@example.com");
}

/// A failed request's held lines (fingers crossed) are in the file and, as its context,
/// in its notification's telemetry, in time order with the lines written at once.
#[test]
fn held_lines_are_the_failed_request_s_telemetry() {
    use tracing_logbook::testing::CaptureWriter;
    use tracing_logbook::{FanOut, FingersCrossed, LogbookFilter, LogbookLayer, ReloadableFilter};
    let (transport, items) = memory();
    let (notifier, handle) = config().build_with_transport(transport);
    let lines = CaptureWriter::new();
    let filter = ReloadableFilter::new(LogbookFilter::parse("info").unwrap());
    let fan_out = FanOut::builder()
        .output(LogbookLayer::builder().build(lines.clone()))
        .output(notifier)
        .fingers_crossed(FingersCrossed::new(Level::Debug), &filter)
        .build();
    let subscriber = tracing_subscriber::registry().with(filter).with(fan_out);
    tracing::subscriber::with_default(subscriber, || {
        let _request = tracing::error_span!("request", method = "GET", route = "/pay").entered();
        tracing::debug!(target: "app", "connecting");
        tracing::info!(target: "app", "calling the payment backend");
        tracing::debug!(target: "app", attempt = 1, "connection refused");
        tracing::error!(target: "app", "payment failed");
    });
    assert!(handle.flush(WAIT));
    assert_eq!(lines.take_string().lines().count(), 4);
    let items = items.lock().unwrap().clone();
    assert_eq!(items.len(), 1);
    let telemetry: Vec<&str> = items[0]["data"]["body"]["telemetry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["body"]["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        telemetry,
        [
            "connecting",
            "calling the payment backend",
            "connection refused attempt=1"
        ],
        "{:#}",
        items[0]["data"]["body"]["telemetry"]
    );
}
