//! `LOG_COMPRESS=gzip` through `build`: past days become `.gz` on the compression thread
//! after a day change (with the injected clock), and a restart finishes what an
//! interrupted run left: a half-written `.tmp`, and an original still beside its `.gz`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use time::macros::datetime;
use tracing_logbook::testing::ManualClock;
use tracing_logbook::{Compression, Env, LogFile, Mode};

const WAIT: Duration = Duration::from_secs(30);

/// Every regular file in `dir`: its text, decompressed when it is a `.gz`.
fn files(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if !entry.file_type().unwrap().is_file() {
            continue;
        }
        let name = entry.file_name().into_string().unwrap();
        // A file being compressed, or one compressed away since the listing.
        let Ok(bytes) = std::fs::read(entry.path()) else {
            continue;
        };
        if name.ends_with(".tmp") {
            out.insert(name, String::new());
            continue;
        }
        let text = if name.ends_with(".gz") {
            let mut text = String::new();
            flate2::read::MultiGzDecoder::new(&bytes[..])
                .read_to_string(&mut text)
                .unwrap();
            text
        } else {
            String::from_utf8(bytes).unwrap()
        };
        out.insert(name, text);
    }
    out
}

fn gzip(text: &str) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

/// Waits (bounded) until `done` holds for the files of `dir`.
fn wait_for(
    dir: &Path,
    done: impl Fn(&BTreeMap<String, String>) -> bool,
) -> BTreeMap<String, String> {
    let deadline = Instant::now() + WAIT;
    loop {
        let now = files(dir);
        if done(&now) || Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The message part of each Logbook line.
fn messages(text: &str) -> Vec<&str> {
    text.lines()
        .map(|l| l.rsplit(": ").next().unwrap())
        .collect()
}

#[test]
fn days_before_yesterday_are_compressed_and_a_restart_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // What an interrupted earlier run left: a crash while compressing the 20th (a
    // partial `.tmp` beside the original), and one after renaming the 21st's `.gz`
    // but before removing the original.
    std::fs::write(d.join("app-2026-11-20.log"), "[x] INFO: app: twentieth\n").unwrap();
    std::fs::write(
        d.join("app-2026-11-20.log.gz.tmp"),
        b"\x1f\x8b\x08 cut short",
    )
    .unwrap();
    std::fs::write(
        d.join("app-2026-11-21.log"),
        "[x] INFO: app: twenty-first\n",
    )
    .unwrap();
    std::fs::write(
        d.join("app-2026-11-21.log.gz"),
        gzip("[x] INFO: app: twenty-first\n"),
    )
    .unwrap();

    let clock = ManualClock::new(datetime!(2026-11-23 23:59:59 UTC));
    let from_env =
        Env::from_lookup(|name| (name == "LOG_COMPRESS").then(|| "gzip".to_owned())).unwrap();
    assert!(format!("{from_env:?}").contains("compression: Gzip"));
    let env = Env::new(Mode::Production)
        .compression(Compression::Gzip)
        .log_file(LogFile::Path(d.join("app.log")))
        .max_files(0)
        .clock(clock.clone());
    let (dispatch, guard) = tracing_logbook::build(env).unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::info!(target: "app", "last of the 23rd");
        assert!(guard.flush(WAIT));
        // The restart's leftovers are done, and the day being written is not touched.
        let now = wait_for(d, |f| {
            f.contains_key("app-2026-11-20.log.gz")
                && !f.contains_key("app-2026-11-20.log")
                && !f.contains_key("app-2026-11-21.log")
        });
        assert!(now.contains_key("app-2026-11-23.log"), "{now:#?}");
        clock.advance(time::Duration::seconds(2));
        tracing::info!(target: "app", "first of the 24th");
        assert!(guard.flush(WAIT));
        // Yesterday's file stays for a log shipper still reading it.
        std::thread::sleep(Duration::from_millis(200));
        assert!(files(d).contains_key("app-2026-11-23.log"));
        clock.advance(time::Duration::days(1));
        tracing::info!(target: "app", "first of the 25th");
        assert!(guard.flush(WAIT));
    });
    let now = wait_for(d, |f| {
        f.contains_key("app-2026-11-23.log.gz") && !f.contains_key("app-2026-11-23.log")
    });
    drop(guard);
    let names: Vec<&str> = now.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "app-2026-11-20.log.gz",
            "app-2026-11-21.log.gz",
            "app-2026-11-23.log.gz",
            "app-2026-11-24.log",
            "app-2026-11-25.log"
        ]
    );
    assert_eq!(messages(&now["app-2026-11-20.log.gz"]), ["twentieth"]);
    // Once, not twice: the `.gz` already held the original.
    assert_eq!(messages(&now["app-2026-11-21.log.gz"]), ["twenty-first"]);
    assert_eq!(
        messages(&now["app-2026-11-23.log.gz"]),
        ["last of the 23rd"]
    );
    assert_eq!(messages(&now["app-2026-11-24.log"]), ["first of the 24th"]);
    assert_eq!(messages(&now["app-2026-11-25.log"]), ["first of the 25th"]);
}

/// A shutdown while a large archive is being compressed gives the compression up before
/// its deadline and joins the thread: the day's file stays whole, its `.gz.tmp` is gone
/// by the time `shutdown` returns (the thread removed it before it ended), no `.gz` is
/// ever made of it, and `shutdown` says something was left undone. The next start
/// compresses it.
#[test]
fn shutdown_abandons_a_running_compression_and_leaves_no_partial_archive() {
    let said = tracing_logbook::testing::capture_diagnostics();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 48 MiB that deflate works hard on (xorshift bytes): seconds of compression, far
    // longer than the deadline below, whatever the machine.
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let big: Vec<u8> = (0..48 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect();
    std::fs::write(d.join("app-2000-01-01.log"), &big).unwrap();
    // A later day: at start, every day before the day before it is compressed.
    std::fs::write(d.join("app-2000-01-03.log"), b"later\n").unwrap();
    let file = tracing_logbook::DailyFile::builder(d.join("app.log"))
        .compression(Compression::Gzip)
        .build()
        .unwrap();
    let tmp = d.join("app-2000-01-01.log.gz.tmp");
    let deadline = Instant::now() + WAIT;
    while !tmp.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(tmp.exists(), "the compression did not start");

    let clean = file.shutdown(Duration::from_millis(500));

    assert!(!clean, "an abandoned compression is something left undone");
    assert!(
        !tmp.exists(),
        "the thread removed its temporary file before it ended"
    );
    assert!(!d.join("app-2000-01-01.log.gz").exists());
    let kept = std::fs::read(d.join("app-2000-01-01.log")).unwrap();
    assert!(kept == big, "the day's file is kept whole");
    // Nothing else happens later either: the thread is gone.
    drop(file);
    let names: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        !names.iter().any(|n| n.starts_with("app-2000-01-01.log.gz")),
        "{names:?}"
    );
    said.assert_said("was abandoned at the shutdown deadline");
}
