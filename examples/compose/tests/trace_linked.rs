//! Trace-linked lines: with tracing-opentelemetry's layer in the registry, every output
//! carries the W3C ids of the span the event happened in, and they are the ids
//! OpenTelemetry exported for that span.

use std::net::UdpSocket;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use serde_json::Value;
use tracing_logbook::notify::{Dsn, NotifyConfig, Request, Response, TransportError};
use tracing_logbook::syslog::SyslogLayer;
use tracing_logbook::testing::CaptureWriter;
use tracing_logbook::{JsonLayer, LogbookFilter, LogbookLayer};
use tracing_subscriber::prelude::*;

const WAIT: Duration = Duration::from_secs(20);

/// An OpenTelemetry SDK that keeps the spans it exports in memory.
fn tracer_provider() -> (InMemorySpanExporter, SdkTracerProvider) {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    (exporter, provider)
}

/// Each Logbook line of `text` without its `[timestamp] `.
fn without_timestamps(text: &str) -> Vec<&str> {
    text.lines()
        .map(|l| l.split_once("] ").unwrap().1)
        .collect()
}

/// The request bodies a [`recorder`] transport was given.
type Bodies = Arc<Mutex<Vec<Vec<u8>>>>;

/// A transport that keeps every body it is given.
fn recorder() -> (
    Bodies,
    impl Fn(&Request<'_>) -> Result<Response, TransportError> + Send + Sync + 'static,
) {
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let sink = bodies.clone();
    (bodies, move |req: &Request<'_>| {
        sink.lock().unwrap().push(req.body.to_vec());
        Ok(Response::status(200))
    })
}

#[test]
fn the_ids_in_lines_json_syslog_and_notifications_are_the_active_spans() {
    let (exporter, provider) = tracer_provider();
    let lines = CaptureWriter::new();
    let json = CaptureWriter::new();
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_read_timeout(Some(WAIT)).unwrap();
    let (syslog, syslog_handle) =
        SyslogLayer::builder(&format!("udp://{}", udp.local_addr().unwrap()))
            .unwrap()
            .build()
            .unwrap();
    let (rollbar_bodies, rollbar_transport) = recorder();
    let (sentry_bodies, sentry_transport) = recorder();
    let (rollbar, rollbar_handle) =
        NotifyConfig::rollbar("t").build_with_transport(rollbar_transport);
    let dsn = Dsn::parse("http://0123456789abcdef0123456789abcdef@127.0.0.1:9/1").unwrap();
    let (sentry, sentry_handle) = NotifyConfig::sentry(dsn).build_with_transport(sentry_transport);
    let subscriber = tracing_subscriber::registry()
        .with(LogbookFilter::parse("info").unwrap())
        .with(LogbookLayer::builder().build(lines.clone()))
        .with(JsonLayer::builder().build(json.clone()))
        .with(syslog)
        .with(rollbar)
        .with(sentry)
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(target: "App", "outside any span");
        let request = tracing::info_span!("request", method = "GET", route = "/orders");
        let _request = request.enter();
        tracing::info!(target: "App", "in the request");
        let query = tracing::info_span!("query");
        let _query = query.enter();
        tracing::error!(target: "App", "query failed");
    });
    assert!(rollbar_handle.flush(WAIT) && sentry_handle.flush(WAIT));
    assert!(syslog_handle.flush(WAIT));
    provider.force_flush().unwrap();

    let spans = exporter.get_finished_spans().unwrap();
    let ids_of = |name: &str| {
        let span = spans.iter().find(|s| s.name == name).unwrap();
        (
            span.span_context.trace_id().to_string(),
            span.span_context.span_id().to_string(),
        )
    };
    let (trace, request_span) = ids_of("request");
    let (query_trace, query_span) = ids_of("query");
    assert_eq!(trace, query_trace);
    assert_ne!(request_span, query_span);
    assert_eq!((trace.len(), query_span.len()), (32, 16));
    assert!(trace
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));

    // Logbook lines: the ids at the end, of the innermost span; none outside spans.
    let text = lines.take_string();
    let got = without_timestamps(&text);
    assert_eq!(
        got,
        [
            "INFO: App: outside any span".to_owned(),
            format!("INFO: App: in the request in request{{route=/orders}} trace_id={trace} span_id={request_span}"),
            format!("ERROR: App: query failed in request{{route=/orders}}:query trace_id={trace} span_id={query_span}"),
        ]
    );

    // JSON: top-level keys.
    let objects: Vec<Value> = json
        .take_string()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects[0].get("trace_id"), None);
    assert_eq!(objects[1]["trace_id"], trace.as_str());
    assert_eq!(objects[1]["span_id"], request_span.as_str());
    assert_eq!(objects[2]["trace_id"], trace.as_str());
    assert_eq!(objects[2]["span_id"], query_span.as_str());

    // Syslog: an `opentelemetry` structured data element.
    let mut datagrams = Vec::new();
    let mut buf = [0u8; 4096];
    for _ in 0..3 {
        let n = udp.recv(&mut buf).expect("a syslog datagram");
        datagrams.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert!(!datagrams[0].contains("[opentelemetry"), "{}", datagrams[0]);
    let element = format!("[opentelemetry trace_id=\"{trace}\" span_id=\"{query_span}\"]");
    assert!(datagrams[2].contains(&element), "{}", datagrams[2]);

    // Rollbar: `custom.trace_id` / `custom.span_id`.
    let items = rollbar_bodies.lock().unwrap().clone();
    assert_eq!(items.len(), 1);
    let item: Value = serde_json::from_slice(&items[0]).unwrap();
    assert_eq!(item["data"]["custom"]["trace_id"], trace.as_str());
    assert_eq!(item["data"]["custom"]["span_id"], query_span.as_str());

    // Sentry: the trace context.
    let envelopes = sentry_bodies.lock().unwrap().clone();
    assert_eq!(envelopes.len(), 1);
    let text = String::from_utf8(envelopes[0].clone()).unwrap();
    let event: Value = serde_json::from_str(text.trim_end().rsplit('\n').next().unwrap()).unwrap();
    let context = &event["contexts"]["trace"];
    assert_eq!(context["type"], "trace");
    assert_eq!(context["trace_id"], trace.as_str());
    assert_eq!(context["span_id"], query_span.as_str());
}

/// A loopback OTLP/HTTP collector: answers 200 to every request and keeps the bodies.
fn collector() -> (String, Bodies) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1/logs", listener.local_addr().unwrap());
    let bodies: Bodies = Arc::default();
    let kept = bodies.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            conn.set_read_timeout(Some(WAIT)).unwrap();
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut len = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            kept.lock().unwrap().push(body);
            let _ = conn
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (url, bodies)
}

/// Through `build` with `Env::layer`: the daily file's lines carry the exported span's
/// ids, the fingers-crossed lines of a failed request included, and the OpenTelemetry
/// layer never sees the held line. The OTLP log records carry the same ids (and the
/// sampled flag), the held line included: it goes to OTLP as it goes to the file.
#[test]
fn init_with_env_layer_links_the_file_and_the_buffered_lines() {
    use tracing_logbook::{Env, FingersCrossed, Level, LogFile, Mode};
    let (exporter, provider) = tracer_provider();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (otlp_url, otlp_bodies) = collector();
    let env = Env::new(Mode::Production)
        .log_file(LogFile::Path(dir.join("app.log")))
        .otlp_endpoint(otlp_url)
        .unwrap()
        .otlp_protocol(tracing_logbook::otlp::Protocol::HttpJson)
        .fingers_crossed(Some(FingersCrossed::new(Level::Debug)))
        .layer(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    let (dispatch, guard) = tracing_logbook::build(env).unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        let request = tracing::error_span!("request", method = "GET", route = "/orders");
        let _in = request.enter();
        tracing::debug!(target: "App", "held until the error");
        tracing::error!(target: "App", "failed");
    });
    assert!(guard.flush(WAIT));
    assert_eq!(guard.otlp().unwrap().counts().written, 2);
    drop(guard);
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    let span = spans.iter().find(|s| s.name == "request").unwrap();
    // OpenTelemetry sees what the threshold shows, not the line held for the file.
    let events: Vec<&str> = span.events.iter().map(|e| e.name.as_ref()).collect();
    assert_eq!(events, ["failed"]);
    let ids = format!(
        "trace_id={} span_id={}",
        span.span_context.trace_id(),
        span.span_context.span_id()
    );
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            text.push_str(&std::fs::read_to_string(entry.path()).unwrap());
        }
    }
    let got = without_timestamps(&text);
    assert_eq!(
        got,
        [
            format!("DEBUG: App: held until the error in request{{route=/orders}} {ids}"),
            format!("ERROR: App: failed in request{{route=/orders}} {ids}"),
        ]
    );
    // OTLP: the same records, with the same ids.
    let mut otlp = Vec::new();
    for body in otlp_bodies.lock().unwrap().iter() {
        let request: Value = serde_json::from_slice(body).unwrap();
        for scope in request["resourceLogs"][0]["scopeLogs"].as_array().unwrap() {
            let record = &scope["logRecords"][0];
            otlp.push((
                record["severityText"].as_str().unwrap().to_owned(),
                record["body"]["stringValue"].as_str().unwrap().to_owned(),
                format!(
                    "trace_id={} span_id={}",
                    record["traceId"].as_str().unwrap(),
                    record["spanId"].as_str().unwrap()
                ),
                record["flags"].as_u64().unwrap(),
            ));
        }
    }
    assert_eq!(
        otlp,
        [
            (
                "DEBUG".to_owned(),
                "held until the error".to_owned(),
                ids.clone(),
                1
            ),
            ("ERROR".to_owned(), "failed".to_owned(), ids.clone(), 1),
        ]
    );
}
