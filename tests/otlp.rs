//! The OTLP exporter against implementations we did not write: every request the
//! crate sends to a loopback collector is decoded by the OpenTelemetry project's own
//! Python package (`opentelemetry-proto` from PyPI, with Google's `protobuf`), in both
//! encodings (`http/protobuf`, gzip-compressed, and `http/json`, parsed against the
//! same schema, which refuses unknown names), and checked field by field: every level,
//! every field type, a span, an error with its chain, the resource.
//!
//! The package is installed in a virtualenv under the target directory on first use.
//! When `python3`, `venv` or the package index is unavailable, the decoding tests print
//! `*** SKIPPED ... ***` on stderr and pass, unless `LOGBOOK_REQUIRE_SERVERS` is set (as
//! `.ci/run` does): then they fail. The outage test needs no Python.

#![cfg(feature = "otlp")]
#![allow(clippy::print_stderr, clippy::print_stdout)]

use tracing_logbook_test_support as support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::external::skip_or_fail;
use support::server::{Recorded, Reply, Server};
use tracing_logbook::otlp::Protocol;
use tracing_logbook::testing::ManualClock;
use tracing_logbook::{Compression, Env, LogFile, Mode};

const WAIT: Duration = Duration::from_secs(30);
/// The version of the OpenTelemetry project's Python package that decodes.
const PROTO_VERSION: &str = "1.45.2";

/// The virtualenv's python with `opentelemetry-proto`, or why not.
fn decoder_python() -> Result<PathBuf, String> {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is target/tmp");
    let requirement = format!("opentelemetry-proto=={PROTO_VERSION}");
    let venv = support::python::venv(target, "otlp-venv", &requirement, (3, 9))?;
    Ok(venv.join("bin/python"))
}

/// Decodes each request body with the official package; returns one
/// `ExportLogsServiceRequest` per request as `MessageToDict` gives it (proto field
/// names, 64-bit integers as strings, bytes as base64).
const DECODE: &str = r#"
import base64, gzip, json, sys
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

def hex_ids_to_base64(node):
    # OTLP/JSON writes trace and span ids as hex; protobuf's JSON mapping wants base64.
    if isinstance(node, dict):
        for key in ("traceId", "spanId"):
            if key in node:
                node[key] = base64.b64encode(bytes.fromhex(node[key])).decode()
        for value in node.values():
            hex_ids_to_base64(value)
    elif isinstance(node, list):
        for value in node:
            hex_ids_to_base64(value)

out = []
for path in sys.argv[1:]:
    body = open(path, "rb").read()
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    msg = ExportLogsServiceRequest()
    if path.endswith(".json"):
        doc = json.loads(body)
        hex_ids_to_base64(doc)
        json_format.ParseDict(doc, msg)  # unknown names are errors
    else:
        msg.ParseFromString(body)
    out.append(json_format.MessageToDict(msg, preserving_proto_field_name=True))
print(json.dumps(out))
"#;

fn decode(python: &Path, requests: &[Recorded], json: bool) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(python);
    cmd.arg("-c").arg(DECODE);
    for (i, r) in requests.iter().enumerate() {
        let path = dir
            .path()
            .join(format!("{i}.{}", if json { "json" } else { "pb" }));
        std::fs::write(&path, &r.body).unwrap();
        cmd.arg(path);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "the official decoder refused a request: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every log record of the decoded requests, in order, with its scope's name.
fn records(decoded: &[Value]) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for req in decoded {
        for rl in req["resource_logs"].as_array().unwrap() {
            for sl in rl["scope_logs"].as_array().unwrap() {
                let scope = sl["scope"]["name"].as_str().unwrap().to_owned();
                for lr in sl["log_records"].as_array().unwrap() {
                    out.push((scope.clone(), lr.clone()));
                }
            }
        }
    }
    out
}

/// `key -> value` of an attribute list.
fn attr<'a>(list: &'a Value, key: &str) -> &'a Value {
    list.as_array()
        .unwrap_or_else(|| panic!("no attribute list: {list}"))
        .iter()
        .find(|kv| kv["key"] == key)
        .map(|kv| &kv["value"])
        .unwrap_or_else(|| panic!("no attribute {key} in {list}"))
}

#[derive(Debug)]
struct DbError;
impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset")
    }
}
impl std::error::Error for DbError {}

#[derive(Debug)]
struct SaveFailed(DbError);
impl std::fmt::Display for SaveFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("cannot save the order")
    }
}
impl std::error::Error for SaveFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

const START: time::OffsetDateTime = time::macros::datetime!(2026-11-23 19:28:08.123456 UTC);

/// Logs the scenario through `init`'s subscriber exporting to `server`.
fn log_scenario(server: &Server, protocol: Protocol, compression: Compression) {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::new(Mode::Production)
        .filter("trace")
        .unwrap()
        .log_file(LogFile::Path(dir.path().join("app.log")))
        .clock(ManualClock::new(START))
        .otlp_endpoint(format!("http://{}/v1/logs", server.addr()))
        .unwrap()
        .otlp_headers("x-api-key=s3cr3t%20token")
        .unwrap()
        .otlp_protocol(protocol)
        .otlp_compression(compression)
        .service_name("shop")
        .resource_attributes("deployment.environment=ci")
        .unwrap();
    let (dispatch, guard) = tracing_logbook::build(env).unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::trace!(target: "App", "level trace");
        tracing::debug!(target: "App", "level debug");
        tracing::info!(target: "App", "level info");
        tracing_logbook::notice!(target: "App", "level notice");
        tracing::warn!(target: "App", "level warning");
        tracing::error!(target: "App", "level error");
        tracing_logbook::critical!(target: "App", "level critical");
        tracing::info!(
            target: "db",
            neg = -7i64,
            small = 7u64,
            huge = u64::MAX,
            ratio = 0.5,
            flag = true,
            name = "ann",
            list = ?vec![1, 2],
            "typed"
        );
        let request = tracing::info_span!("request", method = "GET", id = 42);
        let _entered = request.enter();
        let err = SaveFailed(DbError);
        tracing::error!(target: "App", error = &err as &dyn std::error::Error, "in a span");
    });
    assert!(guard.flush(WAIT));
    let counts = guard.otlp().unwrap().counts();
    assert_eq!((counts.written, counts.dropped, counts.failed), (9, 0, 0));
    // The header's value appears in no output of ours.
    assert!(!format!("{guard:?} {:?}", guard.otlp()).contains("s3cr3t"));
}

fn check_scenario(protocol: Protocol, compression: Compression) {
    let python = match decoder_python() {
        Ok(p) => p,
        Err(reason) => return skip_or_fail("OTLP decoding test", reason),
    };
    let server = Server::start(Vec::new());
    log_scenario(&server, protocol, compression);
    let requests = server.requests();
    assert!(!requests.is_empty());
    for r in &requests {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/v1/logs");
        assert_eq!(r.header("x-api-key"), Some("s3cr3t token"));
        let want_type = match protocol {
            Protocol::HttpProtobuf => "application/x-protobuf",
            _ => "application/json",
        };
        assert_eq!(r.header("content-type"), Some(want_type));
        let gzip = compression == Compression::Gzip;
        assert_eq!(r.header("content-encoding") == Some("gzip"), gzip);
    }
    let decoded = decode(&python, &requests, protocol == Protocol::HttpJson);
    // The resource.
    let resource = &decoded[0]["resource_logs"][0]["resource"]["attributes"];
    assert_eq!(attr(resource, "service.name")["string_value"], "shop");
    assert_eq!(
        attr(resource, "deployment.environment")["string_value"],
        "ci"
    );
    assert_eq!(
        attr(resource, "process.pid")["int_value"],
        std::process::id().to_string()
    );
    assert!(attr(resource, "host.name")["string_value"].is_string());

    let records = records(&decoded);
    assert_eq!(records.len(), 9, "{records:#?}");
    let nanos = (START.unix_timestamp_nanos()).to_string();
    let levels = [
        ("TRACE", 1),
        ("DEBUG", 5),
        ("INFO", 9),
        ("NOTICE", 10),
        ("WARNING", 13),
        ("ERROR", 17),
        ("CRITICAL", 21),
    ];
    let numbers = [
        "SEVERITY_NUMBER_TRACE",
        "SEVERITY_NUMBER_DEBUG",
        "SEVERITY_NUMBER_INFO",
        "SEVERITY_NUMBER_INFO2",
        "SEVERITY_NUMBER_WARN",
        "SEVERITY_NUMBER_ERROR",
        "SEVERITY_NUMBER_FATAL",
    ];
    for (i, ((text, _n), name)) in levels.iter().zip(numbers).enumerate() {
        let (scope, lr) = &records[i];
        assert_eq!(scope, "App");
        assert_eq!(lr["severity_text"], *text, "{lr}");
        assert_eq!(lr["severity_number"], name, "{lr}");
        assert_eq!(
            lr["body"]["string_value"],
            format!("level {}", text.to_lowercase())
        );
        assert_eq!(lr["time_unix_nano"], nanos);
        assert_eq!(lr["observed_time_unix_nano"], nanos);
        let a = &lr["attributes"];
        assert!(attr(a, "code.file.path")["string_value"]
            .as_str()
            .unwrap()
            .ends_with("otlp.rs"));
        assert!(attr(a, "code.line.number")["int_value"].is_string());
        assert!(attr(a, "thread.name")["string_value"].is_string());
        assert!(lr.get("trace_id").is_none());
    }
    // Every field type.
    let (scope, typed) = &records[7];
    assert_eq!(scope, "db");
    let a = &typed["attributes"];
    assert_eq!(attr(a, "neg")["int_value"], "-7");
    assert_eq!(attr(a, "small")["int_value"], "7");
    assert_eq!(attr(a, "huge")["string_value"], u64::MAX.to_string());
    assert_eq!(attr(a, "ratio")["double_value"], 0.5);
    assert_eq!(attr(a, "flag")["bool_value"], true);
    assert_eq!(attr(a, "name")["string_value"], "ann");
    assert_eq!(attr(a, "list")["string_value"], "[1, 2]");
    // A span with its fields, and an error with its chain.
    let (_, failed) = &records[8];
    let a = &failed["attributes"];
    assert_eq!(
        attr(a, "error")["string_value"],
        "cannot save the order: connection reset"
    );
    assert_eq!(attr(a, "exception.type")["string_value"], "SaveFailed");
    assert_eq!(
        attr(a, "exception.message")["string_value"],
        "cannot save the order"
    );
    let chain: Vec<&str> = attr(a, "exception.chain")["array_value"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["string_value"].as_str().unwrap())
        .collect();
    assert_eq!(
        chain,
        [
            "SaveFailed: cannot save the order",
            "DbError: connection reset"
        ]
    );
    let spans = attr(a, "spans")["array_value"]["values"]
        .as_array()
        .unwrap();
    assert_eq!(spans.len(), 1);
    let span = &spans[0]["kvlist_value"]["values"];
    assert_eq!(attr(span, "name")["string_value"], "request");
    let fields = &attr(span, "fields")["kvlist_value"]["values"];
    assert_eq!(attr(fields, "method")["string_value"], "GET");
    assert_eq!(attr(fields, "id")["int_value"], "42");
}

#[test]
fn protobuf_gzip_requests_decode_field_by_field_with_the_official_package() {
    check_scenario(Protocol::HttpProtobuf, Compression::Gzip);
}

#[test]
fn json_requests_parse_field_by_field_against_the_official_schema() {
    check_scenario(Protocol::HttpJson, Compression::None);
}

/// The collector is down, then up: every record logged is either delivered or
/// announced as lost by a `N records dropped` record that is delivered, exactly; and
/// the handle's counts say the same.
#[test]
fn an_outage_costs_exactly_the_losses_it_announces() {
    let said = tracing_logbook::testing::capture_diagnostics();
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = Env::new(Mode::Production)
        .log_file(LogFile::Path(dir.path().join("app.log")))
        .otlp_endpoint(format!("http://{addr}/v1/logs"))
        .unwrap()
        .otlp_protocol(Protocol::HttpJson)
        .otlp(|b| {
            b.queue(32)
                .max_batch(20)
                .retry_for(Duration::from_millis(300))
        });
    let (dispatch, guard) = tracing_logbook::build(env).unwrap();
    let logged = std::cell::Cell::new(0u64);
    let log = |n: u64| {
        tracing::dispatcher::with_default(&dispatch, || {
            for _ in 0..n {
                logged.set(logged.get() + 1);
                tracing::info!(target: "App", seq = logged.get(), "record");
            }
        })
    };
    log(300);
    assert!(guard.flush(WAIT));
    let otlp = guard.otlp().unwrap();
    let down = otlp.counts();
    assert_eq!(down.written, 0);
    assert!(down.failed > 0, "{down:?}");
    let server = Server::start_at(addr.to_string().parse().unwrap(), vec![Reply::ok()]);
    log(200);
    assert!(guard.flush(WAIT));
    // A flush announces the losses since the last batch; a second sends that notice.
    assert!(guard.flush(WAIT));
    let counts = otlp.counts();
    assert_eq!(counts.written + counts.dropped + counts.failed, 500);
    let mut delivered = 0u64;
    let mut announced = 0u64;
    let mut seqs = Vec::new();
    for r in server.requests() {
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        for sl in v["resourceLogs"][0]["scopeLogs"].as_array().unwrap() {
            let lr = &sl["logRecords"][0];
            let body = lr["body"]["stringValue"].as_str().unwrap();
            if sl["scope"]["name"] == "tracing-logbook" {
                let n: u64 = body
                    .strip_suffix(" records dropped")
                    .unwrap()
                    .parse()
                    .unwrap();
                announced += n;
            } else {
                delivered += 1;
                seqs.push(
                    attr(&lr["attributes"], "seq")["intValue"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                );
            }
        }
    }
    assert_eq!(delivered, counts.written);
    assert_eq!(announced, counts.dropped + counts.failed, "{counts:?}");
    assert_eq!(delivered + announced, logged.get());
    // Nothing delivered twice.
    let unique: std::collections::HashSet<_> = seqs.iter().collect();
    assert_eq!(unique.len(), seqs.len());
    // The file announces the exporter's losses too, with the next record logged: as
    // many as were counted, in a few WARNING lines from tracing-logbook.
    let lost = counts.dropped + counts.failed;
    // At most one such line per second: the next record is in another second.
    std::thread::sleep(Duration::from_millis(1100));
    log(1);
    assert!(guard.flush(WAIT));
    let text = std::fs::read_to_string(dir.path().join("app.log")).unwrap();
    let mut in_file = 0u64;
    let notices: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("OTLP records dropped"))
        .collect();
    // At most one per second with the records (the test spans three seconds at most),
    // and one by each of the four flushes: never one per lost record.
    assert!(
        notices.len() <= 3 + 4,
        "one line per second and per flush at most: {notices:?}"
    );
    for line in notices {
        assert!(line.contains("WARNING: tracing-logbook: "), "{line}");
        let before = line.split(" OTLP records dropped").next().unwrap();
        in_file += before.rsplit(' ').next().unwrap().parse::<u64>().unwrap();
    }
    assert_eq!(in_file, lost, "{text}");
    // Every record is in the file besides the notices.
    assert_eq!(text.matches("App: record").count() as u64, logged.get());
    said.assert_said("cannot send to");
    said.assert_said("sending works again");
}

/// The scenario a child process runs (`TRACING_LOGBOOK_OTLP_CHILD=<scenario>`): the
/// tests that read the exporter's diagnostics on stderr.
const CHILD: &str = "TRACING_LOGBOOK_OTLP_CHILD";

/// Runs in child processes only.
#[test]
fn child() {
    let Ok(scenario) = std::env::var(CHILD) else {
        return; // not a child
    };
    match scenario.as_str() {
        "outage_until_shutdown" => outage_until_shutdown_child(),
        "partial_success" => partial_success_child(),
        other => panic!("unknown scenario {other}"),
    }
}

/// Logs 50 records while the collector is down, and stops the logger while it still
/// is: prints `STOPPED true` when everything was counted in time.
fn outage_until_shutdown_child() {
    let dir = PathBuf::from(std::env::var("CHILD_DIR").unwrap());
    let env = Env::new(Mode::Production)
        .log_file(LogFile::Path(dir.join("app.log")))
        .otlp_endpoint(std::env::var("CHILD_ENDPOINT").unwrap())
        .unwrap()
        .otlp(|b| b.queue(16).retry_for(Duration::from_millis(200)));
    let (dispatch, guard) = tracing_logbook::build(env).unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        for seq in 0..50u64 {
            tracing::info!(target: "App", seq, "record");
        }
    });
    println!("STOPPED {}", guard.shutdown());
}

/// The sum of the `N OTLP records dropped` lines of `text`, and the last one's `N`.
fn otlp_notices_in(text: &str) -> (u64, Option<u64>) {
    let mut sum = 0;
    let mut last = None;
    for line in text.lines().filter(|l| l.contains(" OTLP records dropped")) {
        assert!(line.contains("WARNING: tracing-logbook: "), "{line}");
        let before = line.split(" OTLP records dropped").next().unwrap();
        let n: u64 = before.rsplit(' ').next().unwrap().parse().unwrap();
        sum += n;
        last = Some(n);
    }
    (sum, last)
}

/// The collector is down until the logger stops: no later record, no later batch can
/// announce the losses, so the shutdown does, in the file and on stderr, exactly.
#[test]
fn losses_at_shutdown_are_announced_in_the_file_and_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let out = support::child::ChildRun::test("child")
        .env(CHILD, "outage_until_shutdown")
        .env("CHILD_DIR", dir.path())
        .env("CHILD_ENDPOINT", format!("http://{closed}/v1/logs"))
        .env_removes(["RUST_LOG", "APP_ENV", "OTEL_EXPORTER_OTLP_ENDPOINT"])
        .deadline(WAIT)
        .run();
    assert!(out.success(), "{out}");
    assert!(out.stdout.contains("STOPPED true"), "{out}");
    let text = std::fs::read_to_string(dir.path().join("app.log")).unwrap();
    assert_eq!(text.matches("App: record").count(), 50, "{text}");
    // Nothing delivered: every record is announced as lost, exactly once.
    let (announced, last) = otlp_notices_in(&text);
    assert_eq!(announced, 50, "{text}");
    let last = last.unwrap();
    assert!(
        out.stderr.contains(&format!("{last} records lost")),
        "{}",
        out.stderr
    );
}

/// Logs 5 records and flushes, twice, to the collector at `CHILD_ENDPOINT` in
/// `CHILD_PROTOCOL`: prints `COUNTS written dropped failed`.
fn partial_success_child() {
    let dir = tempfile::tempdir().unwrap();
    let protocol = match std::env::var("CHILD_PROTOCOL").unwrap().as_str() {
        "http/json" => Protocol::HttpJson,
        _ => Protocol::HttpProtobuf,
    };
    let env = Env::new(Mode::Production)
        .log_file(LogFile::Path(dir.path().join("app.log")))
        .otlp_endpoint(std::env::var("CHILD_ENDPOINT").unwrap())
        .unwrap()
        .otlp_headers("x-api-key=s3cr3t")
        .unwrap()
        .otlp_protocol(protocol);
    let (dispatch, guard) = tracing_logbook::build(env).unwrap();
    for _ in 0..2 {
        tracing::dispatcher::with_default(&dispatch, || {
            for seq in 0..5u64 {
                tracing::info!(target: "App", seq, "entry");
            }
        });
        assert!(guard.flush(WAIT));
    }
    let c = guard.otlp().unwrap().counts();
    println!("COUNTS {} {} {}", c.written, c.dropped, c.failed);
}

/// An `ExportLogsServiceResponse` whose `partial_success` rejects `rejected` records
/// with `message`, in `protocol`'s encoding.
fn partial_answer(protocol: Protocol, rejected: u64, message: &str) -> Reply {
    match protocol {
        Protocol::HttpJson => {
            let doc = serde_json::json!({
                "partialSuccess": {"rejectedLogRecords": rejected.to_string(), "errorMessage": message}
            });
            Reply::Body(200, "application/json", doc.to_string().into_bytes())
        }
        _ => {
            // Field 1 (partial_success) { 1: rejected_log_records, 2: error_message }.
            let mut inner = vec![0x08];
            let mut v = rejected;
            while v >= 0x80 {
                inner.push((v as u8) | 0x80);
                v >>= 7;
            }
            inner.push(v as u8);
            inner.push(0x12);
            let mut len = message.len();
            while len >= 0x80 {
                inner.push((len as u8) | 0x80);
                len >>= 7;
            }
            inner.push(len as u8);
            inner.extend_from_slice(message.as_bytes());
            let mut body = vec![0x0a];
            let mut len = inner.len();
            while len >= 0x80 {
                body.push((len as u8) | 0x80);
                len >>= 7;
            }
            body.push(len as u8);
            body.extend(inner);
            Reply::Body(200, "application/x-protobuf", body)
        }
    }
}

/// A collector that takes a request but rejects some of its records
/// (`partial_success`): they count as failed, and its message is said once on stderr,
/// cut short, without control characters and without the header's secret it echoed.
fn check_partial_success(protocol: Protocol) {
    let hostile = format!(
        "bad\u{1b}[31m record\r\n{}\u{7} s3cr3t {}",
        "x".repeat(300),
        "y".repeat(5000)
    );
    let server = Server::start(vec![
        partial_answer(protocol, 2, &hostile),
        partial_answer(protocol, 3, &hostile),
    ]);
    let out = support::child::ChildRun::test("child")
        .env(CHILD, "partial_success")
        .env(
            "CHILD_ENDPOINT",
            format!("http://{}/v1/logs", server.addr()),
        )
        .env("CHILD_PROTOCOL", protocol.as_str())
        .env_removes(["RUST_LOG", "APP_ENV", "OTEL_EXPORTER_OTLP_ENDPOINT"])
        .deadline(WAIT)
        .run();
    assert!(out.success(), "{out}");
    // 10 records sent; the first request's 2 and the second's 3 rejected (fewer if the
    // writer took fewer records into a request: a collector rejects at most what it got).
    let entries = |r: &Recorded| r.body.windows(5).filter(|w| w == b"entry").count() as u64;
    let requests = server.requests();
    let first = 2.min(entries(&requests[0]));
    let rejected = first + 3.min(entries(&requests[1]));
    let want = format!("COUNTS {} 0 {rejected}", 10 - rejected);
    assert!(out.stdout.contains(&want), "{want}: {out}");
    let said: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("rejected"))
        .collect();
    assert_eq!(said.len(), 1, "{}", out.stderr);
    let line = said[0];
    assert!(
        line.contains(&format!("rejected {first} records")),
        "{line}"
    );
    assert!(line.contains("bad[31m record"), "{line}");
    assert!(!line.contains("s3cr3t"), "{line}");
    assert!(!line.chars().any(|c| c.is_control()), "{line:?}");
    assert!(line.len() < 600, "{line}");
}

#[test]
fn a_partial_success_in_protobuf_counts_the_rejected_records_as_failed() {
    check_partial_success(Protocol::HttpProtobuf);
}

#[test]
fn a_partial_success_in_json_counts_the_rejected_records_as_failed() {
    check_partial_success(Protocol::HttpJson);
}

/// A collector that refuses bodies over 1 KB with 413 (about two records): the requests
/// are halved until they pass, every record arrives exactly once, and only the one record too large on
/// its own is lost, counted and announced.
#[test]
fn a_request_too_large_is_split_until_it_passes() {
    let said = tracing_logbook::testing::capture_diagnostics();
    const LIMIT: usize = 1024;
    let server = Server::start_with(|r| {
        if r.body.len() > LIMIT {
            Reply::Status(413, Vec::new())
        } else {
            Reply::ok()
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let env = Env::new(Mode::Production)
        .log_file(LogFile::Path(dir.path().join("app.log")))
        .otlp_endpoint(format!("http://{}/v1/logs", server.addr()))
        .unwrap()
        .otlp_protocol(Protocol::HttpJson);
    let (dispatch, guard) = tracing_logbook::build(env).unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        for seq in 0..40u64 {
            if seq == 17 {
                tracing::info!(target: "App", seq, big = "z".repeat(3 * LIMIT), "record");
            } else {
                tracing::info!(target: "App", seq, "record");
            }
        }
    });
    assert!(guard.flush(WAIT));
    // The notice of the lost record goes with the next request.
    assert!(guard.flush(WAIT));
    let counts = guard.otlp().unwrap().counts();
    assert_eq!((counts.written, counts.dropped, counts.failed), (39, 0, 1));
    let mut seqs = Vec::new();
    let mut announced = 0;
    let mut refused = 0;
    let mut halved = false;
    for r in server.requests() {
        if r.body.len() > LIMIT {
            refused += 1;
            let records = r.body.windows(5).filter(|w| w == b"\"seq\"").count();
            halved |= records > 1;
            continue;
        }
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        for sl in v["resourceLogs"][0]["scopeLogs"].as_array().unwrap() {
            let lr = &sl["logRecords"][0];
            if sl["scope"]["name"] == "tracing-logbook" {
                assert_eq!(lr["body"]["stringValue"], "1 records dropped");
                announced += 1;
            } else {
                let seq = attr(&lr["attributes"], "seq")["intValue"].as_str().unwrap();
                seqs.push(seq.parse::<u64>().unwrap());
            }
        }
    }
    assert!(refused >= 1, "the lone large record");
    assert!(
        halved,
        "a refused request of several records was sent again in halves"
    );
    assert_eq!(announced, 1);
    seqs.sort();
    let want: Vec<u64> = (0..40).filter(|&s| s != 17).collect();
    assert_eq!(seqs, want);
    said.assert_said("HTTP 413");
    said.assert_said("records lost since the last count");
}

/// From the environment, an endpoint exports in every mode but `test`; set in code, in
/// every mode. A bad value is an error naming its variable, and `Env`'s `Debug` never
/// shows a header's value.
#[test]
fn the_environment_turns_it_on_in_every_mode_but_test() {
    let from = |mode: &str| {
        let vars = [
            ("APP_ENV", mode.to_owned()),
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "http://127.0.0.1:9".to_owned(),
            ),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "authorization=s3cr3t".to_owned(),
            ),
        ];
        Env::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        })
        .unwrap()
    };
    for (mode, on) in [
        ("development", true),
        ("test", false),
        ("staging", true),
        ("production", true),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let env = from(mode).log_file(LogFile::Path(dir.path().join("app.log")));
        assert!(!format!("{env:?}").contains("s3cr3t"));
        let (_dispatch, guard) = tracing_logbook::build(env).unwrap();
        assert_eq!(guard.otlp().is_some(), on, "{mode}");
    }
    let env = Env::new(Mode::Test)
        .otlp_endpoint("http://127.0.0.1:9/v1/logs")
        .unwrap();
    let (_dispatch, guard) = tracing_logbook::build(env).unwrap();
    assert!(guard.otlp().is_some());
    let err = Env::from_lookup(|name| {
        (name == "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT").then(|| "soon".to_owned())
    });
    // Without an endpoint the other variables are not read.
    assert!(err.is_ok());
}
