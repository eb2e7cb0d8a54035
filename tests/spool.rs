//! The notification spool (issue 20) and the preview (`LOG_NOTIFY_PREVIEW`), with real
//! processes: this test binary runs again as the application (`SPOOL_CHILD=<how>`),
//! which calls `tracing_logbook::init` in production, logs `N` distinct errors and ends
//! as `<how>` says, against a loopback tracker (127.0.0.1) that is switched off (its
//! port refuses connections) and on again (a server on the same port). Every wait is
//! bounded.

#![cfg(all(unix, feature = "http-client"))]
#![allow(clippy::print_stdout)]

use tracing_logbook_test_support as support;

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::server::Server;
use tracing_logbook::notify::NotifyConfig;
use tracing_logbook_test_support::child::{ChildRun, Outcome};

const CHILD: &str = "SPOOL_CHILD";
const TOKEN: &str = "spool-test-token-5f2c";
const WAIT: Duration = Duration::from_secs(60);

/// The application.
#[test]
fn child() {
    let Ok(how) = std::env::var(CHILD) else {
        return;
    };
    let n: usize = std::env::var("N").map_or(0, |n| n.parse().unwrap());
    let env = tracing_logbook::Env::from_env().unwrap();
    // Distinct items (no deduplication) and quick tries of a tracker that is down.
    let config = NotifyConfig::rollbar_from_env("production")
        .unwrap()
        .unwrap()
        .dedup_window(Duration::ZERO)
        .retry_backoff(Duration::from_millis(50))
        .telemetry(0);
    let guard = tracing_logbook::init(env.notifier(config)).unwrap();
    for i in 0..n {
        tracing::error!(target: "App", i, password = "hunter2", "outage error {i}");
    }
    println!("LOGGED");
    let stats = |guard: &tracing_logbook::Guard| {
        guard
            .notifier(tracing_logbook::notify::Destination::Rollbar)
            .unwrap()
            .stats()
    };
    match how.as_str() {
        "return" => {
            guard.flush(Duration::from_secs(10));
            println!("STATS {:?}", stats(&guard));
        }
        "exit" => std::process::exit(3),
        "panic" => panic!("boom during the outage"),
        "sigterm" => {
            println!("READY");
            std::thread::sleep(Duration::from_secs(30));
        }
        "replay" => {
            // Until the spool is empty (every item delivered, or another process's).
            let dir = PathBuf::from(std::env::var("LOG_NOTIFY_SPOOL").unwrap()).join("rollbar");
            let deadline = Instant::now() + Duration::from_secs(40);
            while !items(&dir).is_empty() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            std::thread::sleep(Duration::from_millis(100));
            println!("STATS {:?}", stats(&guard));
        }
        other => panic!("unknown child {other}"),
    }
}

/// The items (regular `*.item` files) in a spool directory, by name.
fn items(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.to_string_lossy().ends_with(".item")
                        && p.symlink_metadata().is_ok_and(|m| m.is_file())
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// A loopback address whose port refuses connections: the tracker, switched off.
fn switched_off() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

fn endpoint(addr: SocketAddr) -> String {
    format!("http://{addr}/api/1/item/")
}

struct App {
    dir: tempfile::TempDir,
    addr: SocketAddr,
}

impl App {
    fn new() -> App {
        App {
            dir: tempfile::tempdir().unwrap(),
            addr: switched_off(),
        }
    }

    fn spool(&self) -> PathBuf {
        self.dir.path().join("spool")
    }

    fn items(&self) -> Vec<PathBuf> {
        items(&self.spool().join("rollbar"))
    }

    fn child(&self, how: &str, n: usize, extra: &[(&str, &str)]) -> ChildRun {
        ChildRun::test("child")
            .env(CHILD, how)
            .env("N", n.to_string())
            .env("APP_ENV", "production")
            .env("LOG_FILE", self.dir.path().join("logs").join("app.log"))
            .env("ROLLBAR_ACCESS_TOKEN", TOKEN)
            .env("ROLLBAR_ENDPOINT", endpoint(self.addr))
            .env("LOG_NOTIFY_SPOOL", self.spool())
            .env_removes([
                "SENTRY_DSN",
                "RUST_LOG",
                "LOG_NOTIFY_PREVIEW",
                "LOG_NOTIFY_SPOOL_MAX",
                "LOG_FLUSH_ON_SIGNALS",
            ])
            .envs(extra.iter().copied())
            .deadline(WAIT)
    }

    fn run(&self, how: &str, n: usize, extra: &[(&str, &str)]) -> Outcome {
        self.child(how, n, extra).run()
    }
}

fn text(out: &Outcome) -> String {
    out.to_string()
}

/// The `outage error <i>` numbers and ids of the items the tracker received, in order.
fn received(server: &Server) -> Vec<(u64, String)> {
    server
        .requests()
        .iter()
        .map(|r| {
            assert_eq!(r.header("X-Rollbar-Access-Token"), Some(TOKEN));
            let item = r.json();
            let i = item["data"]["custom"]["fields"]["i"]
                .as_u64()
                .unwrap_or(u64::MAX);
            (i, item["data"]["uuid"].as_str().unwrap().to_owned())
        })
        .collect()
}

/// Runs the tracker-up child until the spool is empty; returns what the tracker got.
fn replay(app: &App, server: &Server) -> (Outcome, Vec<(u64, String)>) {
    let out = app.run("replay", 0, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(app.items().is_empty(), "{}", text(&out));
    (out, received(server))
}

fn stats(out: &Outcome) -> String {
    out.stdout
        .lines()
        .find(|l| l.starts_with("STATS"))
        .unwrap_or("")
        .to_owned()
}

/// Tracker down for a whole run that logs N errors and ends in each of the four ways;
/// the next run, with the tracker up, delivers all N, each exactly once, oldest first.
#[test]
fn an_outage_run_is_delivered_by_the_next_run_whatever_its_end() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    const N: usize = 6;
    for how in ["return", "exit", "sigterm", "panic"] {
        let app = App::new();
        let started = Instant::now();
        let out = if how == "sigterm" {
            let child = app.child(how, N, &[("LOG_FLUSH_ON_SIGNALS", "1")]).spawn();
            assert!(
                child.wait_for_stdout("READY"),
                "ended early: {}",
                child.stdout()
            );
            child.signal(libc::SIGTERM);
            child.wait()
        } else {
            app.run(how, N, &[])
        };
        let elapsed = started.elapsed();
        let expected = if how == "panic" { N + 1 } else { N };
        assert_eq!(app.items().len(), expected, "{how}: {}", text(&out));
        // A tracker that refuses does not hold the end of the process.
        assert!(elapsed < Duration::from_secs(10), "{how}: {elapsed:?}");
        // What is in the spool: scrubbed, and never the token.
        for item in app.items() {
            let body = std::fs::read_to_string(&item).unwrap();
            assert!(!body.contains("hunter2"), "{body}");
            assert!(!body.contains(TOKEN), "{body}");
            let mode = std::os::unix::fs::PermissionsExt::mode(
                &std::fs::metadata(&item).unwrap().permissions(),
            );
            assert_eq!(mode & 0o777, 0o600);
        }
        if how == "return" {
            let line = stats(&out);
            assert!(line.contains(&format!("spooled: {N}")), "{}", text(&out));
            assert!(
                line.contains("sent: 0") && line.contains("failed: 0"),
                "{line}"
            );
        }

        let server = Server::start_at(app.addr, vec![]);
        let (out, got) = replay(&app, &server);
        let numbers: Vec<u64> = got.iter().map(|(i, _)| *i).collect();
        let mut want: Vec<u64> = (0..N as u64).collect();
        if how == "panic" {
            want.push(u64::MAX); // the panic's own item, last
        }
        assert_eq!(
            numbers,
            want,
            "{how}: oldest first, each once\n{}",
            text(&out)
        );
        let stderr = out.stderr.as_str();
        assert!(
            stderr.contains(&format!(
                "{expected} undelivered error notifications wait in the spool"
            )),
            "{how}: {stderr}"
        );
        assert!(
            stats(&out).contains(&format!("replayed: {expected}")),
            "{}",
            text(&out)
        );
        // One log line when the replay starts, one when it ends.
        let log = std::fs::read_dir(app.dir.path().join("logs"))
            .unwrap()
            .flatten()
            .filter(|e| e.path().is_file() && !e.path().is_symlink())
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
            .collect::<String>();
        assert_eq!(
            log.matches("replaying spooled notifications").count(),
            1,
            "{log}"
        );
        assert_eq!(
            log.matches("spooled notifications replayed").count(),
            1,
            "{log}"
        );
    }
}

/// `kill -9` during the replay: after a restart every item arrived at least once and,
/// counting ids, none is lost; only the one in flight may arrive twice.
#[test]
fn kill_9_during_the_replay_loses_nothing() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    const N: usize = 12;
    let app = App::new();
    let out = app.run("return", N, &[]);
    assert_eq!(app.items().len(), N, "{}", text(&out));
    let server = Server::start_at(app.addr, vec![]);
    let child = app.child("replay", 0, &[]).spawn();
    // Paced at 5 a second: killed after the third.
    assert!(server.wait_for(3, Duration::from_secs(20)));
    child.signal(libc::SIGKILL);
    let killed = child.wait();
    assert!(!killed.status.success());
    let before = server.requests().len();
    assert!(before < N, "the replay was over before the kill");
    let (_, got) = replay(&app, &server);
    let mut per_id: HashMap<&str, usize> = HashMap::new();
    for (_, id) in &got {
        *per_id.entry(id).or_default() += 1;
    }
    assert_eq!(per_id.len(), N, "no item lost: {got:?}");
    let twice = per_id.values().filter(|&&n| n > 1).count();
    assert!(twice <= 1 && got.len() <= N + 1, "{got:?}");
    let mut numbers: Vec<u64> = got.iter().map(|(i, _)| *i).collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers, (0..N as u64).collect::<Vec<_>>());
}

/// Two processes replaying one spool at once never send an item twice.
#[test]
fn two_processes_on_one_spool_send_each_item_once() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    const N: usize = 16;
    let app = App::new();
    app.run("return", N, &[]);
    assert_eq!(app.items().len(), N);
    let server = Server::start_at(app.addr, vec![]);
    let a = app.child("replay", 0, &[]).spawn();
    let b = app.child("replay", 0, &[]).spawn();
    let (a, b) = (a.wait(), b.wait());
    assert!(
        a.status.success() && b.status.success(),
        "{}\n{}",
        text(&a),
        text(&b)
    );
    let got = received(&server);
    let mut ids: Vec<&str> = got.iter().map(|(_, id)| id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!((got.len(), ids.len()), (N, N), "{got:?}");
}

/// A full spool drops its oldest items (counted); an expired item is deleted unsent
/// (counted); a corrupt file is moved aside and reported; a planted link and a FIFO are
/// ignored and reported, and what they point to is left alone.
#[test]
fn full_expired_corrupt_and_planted_files() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    const N: usize = 10;
    let app = App::new();
    // Room for about four items of this size.
    let out = app.run("return", N, &[("LOG_NOTIFY_SPOOL_MAX", "4000")]);
    let kept = app.items();
    assert!((1..N).contains(&kept.len()), "{}", text(&out));
    let dropped = N - kept.len();
    assert!(
        stats(&out).contains(&format!("spool_dropped: {dropped}")),
        "{}",
        text(&out)
    );
    let dir = app.spool().join("rollbar");
    // An expired item: a copy of a good one, named as if written in 2001.
    std::fs::copy(&kept[0], dir.join("1000000000000-0000000001-000001.item")).unwrap();
    // A truncated item, a link to a secret, and a FIFO.
    let body = std::fs::read(&kept[0]).unwrap();
    let corrupt = dir.join("1999999999999-0000000001-000001.item");
    std::fs::write(&corrupt, &body[..body.len() / 2]).unwrap();
    let secret = app.dir.path().join("secret.txt");
    std::fs::write(&secret, "top secret").unwrap();
    std::os::unix::fs::symlink(&secret, dir.join("1999999999999-0000000002-000001.item")).unwrap();
    let fifo = std::ffi::CString::new(
        dir.join("1999999999999-0000000003-000001.item")
            .into_os_string()
            .into_encoded_bytes(),
    )
    .unwrap();
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);

    let server = Server::start_at(app.addr, vec![]);
    let (out, got) = replay(&app, &server);
    let numbers: Vec<u64> = got.iter().map(|(i, _)| *i).collect();
    // The newest items were kept and are delivered, oldest first.
    assert_eq!(
        numbers,
        (dropped as u64..N as u64).collect::<Vec<_>>(),
        "{}",
        text(&out)
    );
    assert!(stats(&out).contains("expired: 1"), "{}", text(&out));
    let stderr = out.stderr.as_str();
    assert_eq!(
        stderr.matches("is truncated or corrupt").count(),
        1,
        "{stderr}"
    );
    assert!(
        corrupt.with_extension("item.corrupt").exists(),
        "moved aside, not deleted"
    );
    assert_eq!(
        stderr.matches("is a symbolic link or special file").count(),
        1,
        "reported once: {stderr}"
    );
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "top secret");
    assert!(server
        .requests()
        .iter()
        .all(|r| !String::from_utf8_lossy(&r.body).contains("top secret")));
}

/// Tracker down, then up during the same run (in this process, over HTTP): what was
/// spooled arrives, and a live error is not held behind the replay.
#[test]
fn tracker_back_during_the_run_gets_the_spool_and_live_errors_first() {
    let said = tracing_logbook::testing::capture_diagnostics();
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    use tracing_subscriber::prelude::*;
    const N: u64 = 8;
    let app = App::new();
    let (layer, handle) = NotifyConfig::rollbar(TOKEN)
        .endpoint(endpoint(app.addr))
        .dedup_window(Duration::ZERO)
        .retry_backoff(Duration::from_millis(50))
        .telemetry(0)
        .spool(Some(app.spool()))
        .build();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    tracing::dispatcher::with_default(&dispatch, || {
        for i in 0..N {
            tracing::error!(i, "outage error {i}");
        }
    });
    assert!(handle.flush(Duration::from_secs(10)));
    assert_eq!(handle.stats().spooled, N, "{:?}", handle.stats());
    let server = Server::start_at(app.addr, vec![]);
    // The next try of the tracker starts the replay.
    assert!(
        server.wait_for(1, Duration::from_secs(10)),
        "{:?}",
        handle.stats()
    );
    let logged = Instant::now();
    tracing::dispatcher::with_default(&dispatch, || tracing::error!(i = 99, "live error"));
    let deadline = Instant::now() + Duration::from_secs(10);
    let live_at = loop {
        if received(&server).iter().any(|(i, _)| *i == 99) {
            break logged.elapsed();
        }
        assert!(Instant::now() < deadline, "the live error never came");
        std::thread::sleep(Duration::from_millis(5));
    };
    // At most one replayed item (its pacing) before it.
    assert!(live_at < Duration::from_millis(1000), "{live_at:?}");
    assert!(server.wait_for(N as usize + 1, Duration::from_secs(20)));
    let got = received(&server);
    let live = got.iter().position(|(i, _)| *i == 99).unwrap();
    assert!(
        live < got.len() - 1,
        "the live error came after the whole replay: {got:?}"
    );
    let mut numbers: Vec<u64> = got.iter().map(|(i, _)| *i).filter(|i| *i != 99).collect();
    assert_eq!(numbers.len(), N as usize, "each once: {got:?}");
    numbers.sort();
    assert_eq!(numbers, (0..N).collect::<Vec<_>>());
    let deadline = Instant::now() + Duration::from_secs(5);
    while handle.stats().replayed < N && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let stats = handle.stats();
    assert_eq!((stats.replayed, stats.sent), (N, 1), "{stats:?}");
    assert!(app.items().is_empty());
    assert!(handle.shutdown(Duration::from_secs(5)));
    said.assert_said("Rollbar reachable again");
}

/// `LOG_NOTIFY_PREVIEW` in development without a token or DSN: one Rollbar item and
/// one Sentry event per error, scrubbed, nothing sent; with a DSN in production, the
/// preview is byte for byte the event the tracker received, and holds no key.
#[test]
fn the_preview_is_what_the_tracker_receives() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let preview = dir.path().join("preview");
    let env = tracing_logbook::Env::development().notify_preview(Some(preview.clone()));
    let (dispatch, guard) = tracing_logbook::build(env).unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::error!(password = "hunter2", "payment failed");
    });
    drop(guard);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&preview)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 2, "{names:?}");
    assert!(names
        .iter()
        .any(|n| n.contains("-rollbar-") && n.ends_with(".json")));
    assert!(names
        .iter()
        .any(|n| n.contains("-sentry-") && n.ends_with(".json")));
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let json: Value = serde_json::from_str(&text).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("payment failed"), "{json}");
    }

    // Production with a DSN: sent and previewed, the same bytes.
    let server = Server::start(vec![]);
    let key = "0123abcdkey";
    let dsn = format!("http://{key}@{}/7", server.addr());
    let preview = dir.path().join("preview2");
    let env = tracing_logbook::Env::production()
        .log_file(tracing_logbook::LogFile::Path(dir.path().join("app.log")))
        .notify_spool(None)
        .notify_preview(Some(preview.clone()))
        .notifier(NotifyConfig::sentry(
            tracing_logbook::notify::Dsn::parse(&dsn).unwrap(),
        ));
    let (dispatch, guard) = tracing_logbook::build(env).unwrap();
    tracing::dispatcher::with_default(&dispatch, || tracing::error!(token = "abc", "disk full"));
    assert!(guard.flush(Duration::from_secs(10)));
    assert_eq!(
        guard
            .notifier(tracing_logbook::notify::Destination::Sentry)
            .unwrap()
            .stats()
            .previewed,
        1
    );
    drop(guard);
    let sent = server.requests().remove(0).body;
    let event = sent
        .strip_suffix(b"\n")
        .unwrap()
        .rsplit(|b| *b == b'\n')
        .next()
        .unwrap();
    let file = std::fs::read_dir(&preview)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let previewed = std::fs::read(file).unwrap();
    assert_eq!(previewed, event);
    assert!(!String::from_utf8_lossy(&previewed).contains(key));
    assert!(
        !String::from_utf8_lossy(&sent).contains(key),
        "the key goes in a header only"
    );
}
