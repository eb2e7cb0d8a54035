//! Fingers crossed under load: `init` in production with `LOG_FINGERS_CROSSED=debug` and
//! the default threshold (`info`), 100 concurrent requests of which half fail. A failed
//! request's DEBUG lines are in the file before its error, in order and with their own
//! times; a successful request's DEBUG lines are nowhere.
//!
//! `init` is global: this file holds this one test (its own process).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tracing_logbook::Env;

#[path = "../src/app.rs"]
#[allow(dead_code)]
mod app;

const IO_TIMEOUT: Duration = Duration::from_secs(30);
const CONCURRENT: usize = 100;
const CLIENT_THREADS: usize = 16;

/// One HTTP/1.1 request with `Connection: close`; returns the status code.
fn get(addr: SocketAddr, target: &str, request_id: &str) -> u16 {
    let mut stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect");
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nx-request-id: {request_id}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).expect("write request");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read response");
    let response = String::from_utf8_lossy(&response);
    response
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"))
        .parse()
        .unwrap()
}

/// The value of `request_id=` in a line.
fn request_id(line: &str) -> &str {
    let rest = &line[line.find("request_id=").unwrap_or_else(|| panic!("{line}")) + 11..];
    &rest[..rest.find([' ', '}']).unwrap()]
}

#[test]
fn failed_requests_write_their_debug_lines_before_their_error() {
    let dir = tempfile::tempdir().unwrap();
    let log_file = dir.path().join("web.log");
    let vars: BTreeMap<&str, String> = [
        ("APP_ENV", "production".to_owned()),
        ("LOG_FILE", log_file.display().to_string()),
        ("LOG_FINGERS_CROSSED", "debug".to_owned()),
    ]
    .into();
    let env = Env::from_lookup(|name| vars.get(name).cloned()).unwrap();
    let guard = tracing_logbook::init(env).unwrap();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(app::serve(listener, async {
        let _ = stopped.await;
    }));

    // Even requests succeed (one DEBUG line each), odd ones fail (two DEBUG lines).
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..CLIENT_THREADS {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= CONCURRENT {
                    break;
                }
                let (target, status) = if i.is_multiple_of(2) {
                    (format!("/items/{i}"), 200)
                } else {
                    ("/fail".to_owned(), 500)
                };
                assert_eq!(get(addr, &target, &format!("r-{i}")), status, "{target}");
            });
        }
    });
    stop.send(()).unwrap();
    runtime.block_on(server).unwrap().unwrap();
    drop(runtime);
    let buffered = guard.buffered().unwrap();
    drop(guard);

    let mut text = String::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let entry = entry.unwrap();
        // The dated files only, not the link to the current one.
        if entry.file_type().unwrap().is_file() {
            text.push_str(&std::fs::read_to_string(entry.path()).unwrap());
        }
    }
    // Per request, its lines in file order: (timestamp, level and message).
    let mut requests: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for line in text.lines() {
        let (stamp, rest) = line.split_once("] ").unwrap();
        let id = request_id(rest).to_owned();
        let what = rest[..rest.find(" in request{").unwrap()].to_owned();
        requests
            .entry(id)
            .or_default()
            .push((stamp.to_owned(), what));
    }
    assert_eq!(requests.len(), CONCURRENT, "every request has lines");
    let mut failed = BTreeSet::new();
    for (id, lines) in &requests {
        let i: usize = id[2..].parse().unwrap();
        let what: Vec<&str> = lines.iter().map(|(_, w)| w.as_str()).collect();
        if i.is_multiple_of(2) {
            assert_eq!(what.len(), 1, "{id}: {what:#?}");
            assert!(
                what[0].starts_with("INFO: http: 200 OK "),
                "{id}: {what:#?}"
            );
            continue;
        }
        failed.insert(i);
        // The INFO line was written at once; the two DEBUG lines when the error came,
        // just before it, with the times they were logged at; after the error, the
        // request's later DEBUG lines (tower-http's end of stream) at once.
        let (head, tail) = what.split_at(4.min(what.len()));
        assert!(
            head.len() == 4
                && head[0].starts_with("INFO: ")
                && head[0].ends_with("app: calling the payment backend")
                && head[1].starts_with("DEBUG: ")
                && head[1].ends_with("app: connecting backend=payments")
                && head[2].starts_with("DEBUG: ")
                && head[2].ends_with("app: connection refused attempt=1")
                && head[3].starts_with("ERROR: http: 500 Internal Server Error"),
            "{id}: {what:#?}"
        );
        assert!(
            tail.iter().all(|w| w.starts_with("DEBUG: tower_http::")),
            "{id}: {what:#?}"
        );
        let stamps: Vec<&str> = lines.iter().map(|(s, _)| s.as_str()).collect();
        assert!(
            stamps[1] <= stamps[0] && stamps[0] <= stamps[2] && stamps[2] <= stamps[3],
            "{id}: {stamps:?}"
        );
    }
    assert_eq!(failed.len(), CONCURRENT / 2);
    // No DEBUG line of a successful request ("looking the item up") anywhere.
    assert!(!text.contains("looking the item up"), "{text}");
    assert_eq!(
        (buffered.lines, buffered.bytes, buffered.dropped),
        (0, 0, 0)
    );
    assert_eq!(buffered.flushed, (CONCURRENT / 2) as u64);
}
