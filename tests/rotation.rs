//! Daily files through a `LogbookLayer`: names, rollover, retention, size rollover,
//! threads, write errors, flush and shutdown.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use time::macros::datetime;
use time::OffsetDateTime;
use tracing_logbook::testing::ManualClock;
use tracing_logbook::{
    ColorChoice, DailyFile, DailyFileBuilder, LineWriter, LogbookLayer, Timezone,
};
use tracing_logbook_test_support::child::ChildRun;
use tracing_subscriber::prelude::*;

const WAIT: Duration = Duration::from_secs(30);

/// Every regular file in `dir` with its contents.
fn files(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            let name = entry.file_name().into_string().unwrap();
            out.insert(name, std::fs::read_to_string(entry.path()).unwrap());
        }
    }
    out
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A `DailyFile` behind a `LogbookLayer` with a manual clock.
struct Log {
    file: DailyFile,
    clock: ManualClock,
    dispatch: tracing::Dispatch,
}

impl Log {
    fn new(builder: DailyFileBuilder) -> Log {
        Log::with_tz(builder, Timezone::Utc, datetime!(2024-03-01 10:00 UTC))
    }

    fn with_tz(builder: DailyFileBuilder, tz: Timezone, start: OffsetDateTime) -> Log {
        let file = builder.build().unwrap();
        let clock = ManualClock::new(start);
        let layer = LogbookLayer::builder()
            .clock(clock.clone())
            .timezone(tz)
            .color(ColorChoice::Never)
            .build(file.clone());
        let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
        Log {
            file,
            clock,
            dispatch,
        }
    }

    /// Logs `message` with channel `rot` at `time`.
    fn at(&self, time: OffsetDateTime, message: &str) {
        self.clock.set(time);
        tracing::dispatcher::with_default(&self.dispatch, || {
            tracing::info!(target: "rot", "{message}");
        });
    }

    fn flush(&self) {
        assert!(self.file.flush(WAIT), "flush timed out");
    }
}

fn golden() -> serde_json::Value {
    let text = include_str!("data/golden_rotation.json");
    serde_json::from_str(text).unwrap()
}

fn parse_time(s: &str) -> OffsetDateTime {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap()
}

fn json_files(v: &serde_json::Value) -> BTreeMap<String, String> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

/// Replays one golden scenario; `fix(step, expected)` applies our documented fixes to
/// Logbook's expected directory contents.
fn replay(name: &str, fix: impl Fn(usize, &mut BTreeMap<String, String>)) {
    let golden = golden();
    let scenario = golden["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no scenario {name}"));
    let dir = tempfile::tempdir().unwrap();
    if let Some(pre) = scenario["preexisting"].as_object() {
        for (file, spec) in pre {
            std::fs::write(dir.path().join(file), spec["content"].as_str().unwrap()).unwrap();
        }
    }
    let keep = scenario["handler_kwargs"]["backup_count"]
        .as_u64()
        .unwrap_or(0) as usize;
    let path = dir.path().join(scenario["filename_arg"].as_str().unwrap());
    let log = Log::new(DailyFile::builder(path).max_files(keep));
    for (i, step) in scenario["steps"].as_array().unwrap().iter().enumerate() {
        log.at(
            parse_time(step["record_time_utc"].as_str().unwrap()),
            step["message"].as_str().unwrap(),
        );
        log.flush();
        let mut want = json_files(&step["files"]);
        fix(i, &mut want);
        assert_eq!(files(dir.path()), want, "{name} step {i}");
    }
    assert!(log.file.shutdown(WAIT));
    assert_eq!((log.file.dropped_lines(), log.file.failed_lines()), (0, 0));
}

#[test]
fn golden_names_and_daily_rollover_match_logbook() {
    // Where Logbook has nothing to fix, we match it file for file, byte for byte.
    for name in [
        "timed_default_no_backup_count",
        "timed_backup1",
        "timed_first_record_other_day",
        "timed_no_extension",
        "timed_double_extension",
    ] {
        replay(name, |_, _| {});
    }
}

#[test]
fn golden_clock_going_back_appends_and_retention_goes_by_name_date() {
    let day3 = "[2024-03-03 12:00:00.000000] INFO: rot: day3\n";
    let back = "[2024-03-03 13:00:00.000000] INFO: rot: back to day3 (clock went backwards)\n";
    let day5 = "[2024-03-05 09:30:00.000000] INFO: rot: day5 (day4 skipped: no file is ever created for it)\n";
    let day6 = "[2024-03-06 00:00:01.000000] INFO: rot: day6\n";
    replay("timed_default_backup2", |step, want| match step {
        // Logbook truncates app-2024-03-03.log when the clock goes back: we append.
        6 => {
            *want = map(&[
                ("app-2024-03-03.log", &format!("{day3}{back}")),
                ("app-2024-03-05.log", day5),
            ])
        }
        // Logbook keeps the file with the newest mtime (03-03); the newest by name is 03-05.
        7 => *want = map(&[("app-2024-03-05.log", day5), ("app-2024-03-06.log", day6)]),
        _ => {}
    });
}

#[test]
fn golden_restart_appends_prunes_at_startup_and_spares_unrelated_files() {
    let said = tracing_logbook::testing::capture_diagnostics();
    replay("timed_startup_with_existing_files_backup2", |step, want| {
        // Pruning also ran at startup: only the newest 2 dated files were kept.
        want.remove("app-2024-02-27.log");
        want.remove("app-2024-02-28.log");
        if step == 0 {
            assert!(want.contains_key("app-2024-02-29.log"));
        }
        // Logbook's unanchored regex deletes app-notes.log at rollover; we never do.
        want.insert(
            "app-notes.log".into(),
            "unrelated but matches the cleanup regex\n".into(),
        );
    });
    said.assert_said("exists and is not a symbolic link, so it is left alone");
}

#[test]
fn local_time_restart_appends_issue280() {
    // Logbook issue #280: a restart between local and UTC midnight wiped today's file.
    let dir = tempfile::tempdir().unwrap();
    let earlier = "[2024-03-01 09:00:00.000000-0500] INFO: rot: written earlier today\n";
    std::fs::write(dir.path().join("app-2024-03-01.log"), earlier).unwrap();
    let log = Log::with_tz(
        DailyFile::builder(dir.path().join("app.log")).max_files(0),
        Timezone::parse("-05:00").unwrap(),
        datetime!(2024-03-02 01:00 UTC),
    );
    log.at(datetime!(2024-03-02 01:00 UTC), "restart");
    log.flush();
    assert_eq!(
        files(dir.path()),
        map(&[(
            "app-2024-03-01.log",
            &format!("{earlier}[2024-03-01 20:00:00.000000-0500] INFO: rot: restart\n")
        )])
    );
}

#[test]
fn midnight_month_end_and_year_end() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::new(DailyFile::builder(dir.path().join("app.log")).max_files(0));
    let times = [
        datetime!(2024-01-31 23:59:59.999999 UTC),
        datetime!(2024-02-01 00:00:00 UTC),
        datetime!(2024-02-29 23:59:59.999999999 UTC),
        datetime!(2024-03-01 00:00:00 UTC),
        datetime!(2026-12-31 23:59:59.999999 UTC),
        datetime!(2027-01-01 00:00:00.000001 UTC),
    ];
    for t in times {
        log.at(t, "tick");
    }
    log.flush();
    let line = |ts: &str| format!("[{ts}] INFO: rot: tick\n");
    assert_eq!(
        files(dir.path()),
        map(&[
            ("app-2024-01-31.log", &line("2024-01-31 23:59:59.999999")),
            ("app-2024-02-01.log", &line("2024-02-01 00:00:00.000000")),
            ("app-2024-02-29.log", &line("2024-02-29 23:59:59.999999")),
            ("app-2024-03-01.log", &line("2024-03-01 00:00:00.000000")),
            ("app-2026-12-31.log", &line("2026-12-31 23:59:59.999999")),
            ("app-2027-01-01.log", &line("2027-01-01 00:00:00.000001")),
        ])
    );
}

#[test]
fn rollover_at_midnight_of_the_display_offset() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::with_tz(
        DailyFile::builder(dir.path().join("app.log")),
        Timezone::parse("+05:30").unwrap(),
        datetime!(2026-11-23 10:00 UTC),
    );
    log.at(datetime!(2026-11-23 18:29:59.999999 UTC), "late");
    log.at(datetime!(2026-11-23 18:30:00 UTC), "early");
    log.flush();
    assert_eq!(
        files(dir.path()),
        map(&[
            (
                "app-2026-11-23.log",
                "[2026-11-23 23:59:59.999999+0530] INFO: rot: late\n"
            ),
            (
                "app-2026-11-24.log",
                "[2026-11-24 00:00:00.000000+0530] INFO: rot: early\n"
            ),
        ])
    );
}

#[test]
fn restart_appends_to_todays_file() {
    let dir = tempfile::tempdir().unwrap();
    for run in ["first run", "second run"] {
        let log = Log::new(DailyFile::builder(dir.path().join("app.log")));
        log.at(datetime!(2026-11-23 10:00 UTC), run);
        assert!(log.file.shutdown(WAIT));
    }
    assert_eq!(
        files(dir.path()),
        map(&[(
            "app-2026-11-23.log",
            "[2026-11-23 10:00:00.000000] INFO: rot: first run\n\
             [2026-11-23 10:00:00.000000] INFO: rot: second run\n"
        )])
    );
}

const UNRELATED: [&str; 8] = [
    "app-notes.log",
    "app.log",
    "app.log.gz",
    // Compressed days (`app-<date>.log.gz`) are the log's own; these are not.
    "app-2024-01-01.log.gz.tmp",
    "app-2024-01-01.log.zip",
    "app-2024-01-01.log.1",
    "other-2024-01-01.log",
    "app-2024-01-01.0.log",
];

fn populate(dir: &Path, dated: &[&str]) {
    for name in UNRELATED.iter().chain(dated) {
        std::fs::write(dir.join(name), format!("{name}\n")).unwrap();
    }
}

fn names(dir: &Path) -> Vec<String> {
    files(dir).into_keys().collect()
}

fn with_unrelated(dated: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = UNRELATED
        .iter()
        .chain(dated)
        .map(|s| s.to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn retention_at_startup_spares_unrelated_files() {
    let dir = tempfile::tempdir().unwrap();
    populate(
        dir.path(),
        &[
            "app-2023-12-31.log",
            "app-2024-01-02.log",
            // A day half compressed counts once, and goes as a whole.
            "app-2024-01-02.1.log.gz",
            "app-2024-01-03.log",
            "app-2024-01-03.1.log",
            "app-2024-01-05.log",
        ],
    );
    // Oldest name gets the newest mtime: retention must go by the name.
    std::fs::write(dir.path().join("app-2023-12-31.log"), "touched\n").unwrap();
    let file = DailyFile::builder(dir.path().join("app.log"))
        .max_files(2)
        .build()
        .unwrap();
    assert!(file.flush(WAIT), "startup pruning did not finish");
    // Two days kept, the 3rd with both its pieces; the 2nd went with its `.gz`.
    assert_eq!(
        names(dir.path()),
        with_unrelated(&[
            "app-2024-01-03.log",
            "app-2024-01-03.1.log",
            "app-2024-01-05.log"
        ])
    );
    assert!(file.shutdown(WAIT));
}

#[test]
fn retention_at_rollover_spares_unrelated_files() {
    let said = tracing_logbook::testing::capture_diagnostics();
    let dir = tempfile::tempdir().unwrap();
    populate(dir.path(), &["app-2024-02-27.log", "app-2024-02-28.log"]);
    let log = Log::new(DailyFile::builder(dir.path().join("app.log")).max_files(3));
    log.flush();
    assert_eq!(
        names(dir.path()),
        with_unrelated(&["app-2024-02-27.log", "app-2024-02-28.log"])
    );
    log.at(datetime!(2024-03-01 10:00 UTC), "day 1");
    log.flush();
    assert_eq!(
        names(dir.path()),
        with_unrelated(&[
            "app-2024-02-27.log",
            "app-2024-02-28.log",
            "app-2024-03-01.log"
        ])
    );
    log.at(datetime!(2024-03-02 10:00 UTC), "day 2");
    log.at(datetime!(2024-03-03 10:00 UTC), "day 3");
    log.flush();
    assert_eq!(
        names(dir.path()),
        with_unrelated(&[
            "app-2024-03-01.log",
            "app-2024-03-02.log",
            "app-2024-03-03.log"
        ])
    );
    said.assert_said("exists and is not a symbolic link, so it is left alone");
}

#[test]
fn size_rollover_numbers_files_within_the_day() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    // Each line is 58 bytes, as in Logbook's size_max150 fixture: two fit in 150.
    let line =
        |n: u32| format!("[2024-03-01 00:00:{n:02}.000000] INFO: rot: message number {n:02}\n");
    let log = Log::new(DailyFile::builder(&path).max_size(Some(150)).max_files(0));
    for n in 1..=5 {
        log.at(
            datetime!(2024-03-01 00:00 UTC) + time::Duration::seconds(n.into()),
            &format!("message number {n:02}"),
        );
    }
    // A record larger than the limit gets a file of its own; no empty file is made.
    let big = "L".repeat(200);
    log.at(datetime!(2024-03-01 00:00:06 UTC), &big);
    log.at(datetime!(2024-03-01 00:00:07 UTC), "message number 07");
    log.at(datetime!(2024-03-02 00:00:00 UTC), "next day");
    assert!(log.file.shutdown(WAIT));
    let pair = |a, b| format!("{}{}", line(a), line(b));
    let big_line = format!("[2024-03-01 00:00:06.000000] INFO: rot: {big}\n");
    assert_eq!(
        files(dir.path()),
        map(&[
            ("app-2024-03-01.log", &pair(1, 2)),
            ("app-2024-03-01.1.log", &pair(3, 4)),
            ("app-2024-03-01.2.log", &line(5)),
            ("app-2024-03-01.3.log", &big_line),
            ("app-2024-03-01.4.log", &line(7)),
            (
                "app-2024-03-02.log",
                "[2024-03-02 00:00:00.000000] INFO: rot: next day\n"
            ),
        ])
    );

    // A restart continues in the day's last file, and numbering goes on from there.
    let log = Log::new(DailyFile::builder(&path).max_size(Some(150)).max_files(0));
    log.at(datetime!(2024-03-01 00:00:08 UTC), "message number 08");
    log.at(datetime!(2024-03-01 00:00:09 UTC), "message number 09");
    assert!(log.file.shutdown(WAIT));
    let after = files(dir.path());
    assert_eq!(after["app-2024-03-01.4.log"], pair(7, 8));
    assert_eq!(after["app-2024-03-01.5.log"], line(9));
}

/// Checks that `line` is one whole Logbook record as logged by `hammer`; returns
/// (thread, index).
fn parse_record(line: &str) -> (usize, usize) {
    let rest = line
        .strip_prefix("[2026-11-23 10:00:00.000000] INFO: load: line t=")
        .unwrap_or_else(|| panic!("torn or foreign line: {line:?}"));
    let (t, i) = rest.split_once(" i=").unwrap();
    let (i, pad) = i.split_once(" pad=").unwrap();
    assert_eq!(pad, "x".repeat(40), "{line:?}");
    (t.parse().unwrap(), i.parse().unwrap())
}

#[test]
fn eight_threads_exact_counts_no_torn_lines() {
    const THREADS: usize = 8;
    const LINES: usize = 10_000;
    let dir = tempfile::tempdir().unwrap();
    // A small buffer makes the callers wait for the writer often (backpressure).
    let log = Log::with_tz(
        DailyFile::builder(dir.path().join("app.log")).buffer_lines(64),
        Timezone::Utc,
        datetime!(2026-11-23 10:00 UTC),
    );
    log_from_threads(&log, THREADS, LINES);
    log.flush();
    let text = std::fs::read_to_string(dir.path().join("app-2026-11-23.log")).unwrap();
    assert!(text.ends_with('\n'));
    let mut seen = vec![vec![false; LINES]; THREADS];
    let mut next = [0; THREADS];
    let mut count = 0;
    for line in text.lines() {
        let (t, i) = parse_record(line);
        assert!(!seen[t][i], "duplicate {t} {i}");
        seen[t][i] = true;
        // Each thread's lines stay in order.
        assert_eq!(i, next[t], "thread {t} out of order");
        next[t] += 1;
        count += 1;
    }
    assert_eq!(count, THREADS * LINES);
    assert_eq!((log.file.dropped_lines(), log.file.failed_lines()), (0, 0));
}

#[test]
fn lossy_mode_counts_drops_and_writes_them_into_the_log() {
    const THREADS: usize = 4;
    const LINES: usize = 5_000;
    let dir = tempfile::tempdir().unwrap();
    let log = Log::with_tz(
        DailyFile::builder(dir.path().join("app.log"))
            .lossy(true)
            .buffer_lines(4),
        Timezone::Utc,
        datetime!(2026-11-23 10:00 UTC),
    );
    // Bursts from four threads into a buffer of four lines: the writer falls behind
    // and lines are dropped (lossless mode would make the threads wait instead). A
    // machine fast enough to keep up gets another burst, at most ten.
    let mut total = 0u64;
    for _ in 0..10 {
        log_from_threads(&log, THREADS, LINES);
        total += (THREADS * LINES) as u64;
        if log.file.dropped_lines() > 0 {
            break;
        }
    }
    log.flush();
    assert!(
        log.file.dropped_lines() > 0,
        "lossy mode never dropped a line"
    );
    let text = std::fs::read_to_string(dir.path().join("app-2026-11-23.log")).unwrap();
    let (mut written, mut reported) = (0u64, 0u64);
    for line in text.lines() {
        if let Some(rest) =
            line.strip_prefix("[2026-11-23 10:00:00.000000] WARNING: tracing-logbook: ")
        {
            reported += rest
                .strip_suffix(" lines dropped")
                .unwrap()
                .parse::<u64>()
                .unwrap();
        } else {
            parse_record(line);
            written += 1;
        }
    }
    let dropped = log.file.dropped_lines();
    assert_eq!(written + dropped, total);
    assert_eq!(reported, dropped, "every drop is reported in the log");
    assert_eq!(log.file.failed_lines(), 0);
}

#[test]
fn lossless_by_default_with_a_tiny_buffer() {
    let dir = tempfile::tempdir().unwrap();
    let file = DailyFile::builder(dir.path().join("app.log"))
        .buffer_lines(1)
        .build()
        .unwrap();
    let t = datetime!(2026-11-23 10:00 UTC);
    for i in 0..2_000 {
        file.write_line(
            t,
            format!("[2026-11-23 10:00:00.000000] INFO: x: {i}\n").as_bytes(),
        );
    }
    assert!(file.flush(WAIT));
    let text = std::fs::read_to_string(dir.path().join("app-2026-11-23.log")).unwrap();
    assert_eq!(text.lines().count(), 2_000);
    assert_eq!(file.dropped_lines(), 0);
}

#[test]
fn unwritable_paths_are_errors_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plain-file"), "").unwrap();
    let err = DailyFile::builder(dir.path().join("plain-file/logs/app.log"))
        .build()
        .unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("cannot create log directory "), "{text}");
    assert!(text.contains("plain-file"), "{text}");

    let err = DailyFile::builder(dir.path().join("logs/.."))
        .build()
        .unwrap_err();
    assert!(
        err.to_string().contains("does not end in a file name"),
        "{err}"
    );

    // The directory is created when missing.
    DailyFile::builder(dir.path().join("a/b/c/app.log"))
        .build()
        .unwrap();
    assert!(dir.path().join("a/b/c").is_dir());
}

#[test]
fn unopenable_dated_paths_are_errors_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let today = OffsetDateTime::now_utc().date();

    // A directory where today's file would go.
    let taken = dir.path().join(format!("app-{today}.log"));
    std::fs::create_dir(&taken).unwrap();
    let err = DailyFile::builder(dir.path().join("app.log"))
        .build()
        .unwrap_err();
    assert_eq!(err.path(), Some(taken.as_path()), "{err}");
    assert!(err.to_string().contains("not a regular file"), "{err}");

    // A name the file system cannot hold once the date is added (255 bytes on Linux).
    let long = format!("{}.log", "n".repeat(247));
    let err = DailyFile::builder(dir.path().join(&long))
        .build()
        .unwrap_err();
    assert!(
        err.to_string().starts_with("cannot open log file "),
        "{err}"
    );

    // The configured path is a directory: never a dated file beside it.
    let err = DailyFile::builder(dir.path()).build().unwrap_err();
    assert!(err.to_string().contains("it is a directory"), "{err}");
    // Nothing was left behind by the checks.
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "{left:?}");
}

#[test]
fn a_kept_day_keeps_all_its_size_pieces() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let log = Log::new(DailyFile::builder(&path).max_size(Some(150)).max_files(2));
    for day in 1..=3u8 {
        let start = datetime!(2024-03-01 00:00 UTC).replace_day(day).unwrap();
        for n in 1..=5 {
            log.at(
                start + time::Duration::seconds(n),
                &format!("message number {n:02}"),
            );
        }
        log.flush();
    }
    assert!(log.file.shutdown(WAIT));
    let names: Vec<String> = files(dir.path()).into_keys().collect();
    // Two days of three pieces each: the pieces of a kept day are never counted as days.
    assert_eq!(
        names,
        [
            "app-2024-03-02.1.log",
            "app-2024-03-02.2.log",
            "app-2024-03-02.log",
            "app-2024-03-03.1.log",
            "app-2024-03-03.2.log",
            "app-2024-03-03.log",
        ]
    );
}

#[cfg(unix)]
#[test]
fn the_configured_name_links_to_the_current_file_across_rollovers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let log = Log::new(DailyFile::builder(&path).max_size(Some(150)).max_files(0));
    let link = || std::fs::read_link(&path).unwrap();
    log.at(datetime!(2024-03-01 10:00 UTC), "first day");
    log.flush();
    assert_eq!(link(), Path::new("app-2024-03-01.log"));
    log.at(datetime!(2024-03-02 10:00 UTC), "second day");
    log.flush();
    assert_eq!(link(), Path::new("app-2024-03-02.log"));
    // A size rollover moves it too.
    for n in 0..3 {
        log.at(datetime!(2024-03-02 11:00 UTC), &format!("line {n}"));
    }
    log.flush();
    assert_eq!(link(), Path::new("app-2024-03-02.1.log"));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.ends_with("INFO: rot: line 2\n"), "{text}");
    assert!(log.file.shutdown(WAIT));
    // The link is not a dated file: retention and the golden listings never see it.
    assert!(!files(dir.path()).contains_key("app.log"));
}

#[cfg(unix)]
#[test]
fn a_regular_file_at_the_configured_name_is_left_alone() {
    let said = tracing_logbook::testing::capture_diagnostics();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    std::fs::write(&path, "an older, undated log\n").unwrap();
    let log = Log::new(DailyFile::builder(&path));
    log.at(datetime!(2024-03-01 10:00 UTC), "dated");
    assert!(log.file.shutdown(WAIT));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "an older, undated log\n"
    );
    assert!(files(dir.path())["app-2024-03-01.log"].ends_with("INFO: rot: dated\n"));
    said.assert_said("exists and is not a symbolic link, so it is left alone");
}

fn raw_line(file: &DailyFile, n: u32) {
    let t = datetime!(2026-11-23 10:00 UTC);
    file.write_line(
        t,
        format!("[2026-11-23 10:00:00.000000] INFO: x: {n}\n").as_bytes(),
    );
}

#[cfg(unix)]
#[test]
fn disk_full_is_counted_and_writing_resumes() {
    let said = tracing_logbook::testing::capture_diagnostics();
    if !Path::new("/dev/full").exists() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dated = dir.path().join("app-2026-11-23.log");
    std::os::unix::fs::symlink("/dev/full", &dated).unwrap();
    let file = DailyFile::builder(dir.path().join("app.log"))
        .build()
        .unwrap();
    for n in 0..3 {
        raw_line(&file, n);
    }
    assert!(file.flush(WAIT));
    assert_eq!(file.failed_lines(), 3);
    // The condition clears: the next batch reopens a real file.
    std::fs::remove_file(&dated).unwrap();
    raw_line(&file, 3);
    raw_line(&file, 4);
    assert!(file.flush(WAIT));
    assert_eq!(file.failed_lines(), 3);
    assert_eq!(
        std::fs::read_to_string(&dated).unwrap(),
        "[2026-11-23 10:00:00.000000] INFO: x: 3\n[2026-11-23 10:00:00.000000] INFO: x: 4\n"
    );
    assert!(file.shutdown(WAIT));
    said.assert_said("is a symbolic link, and log files are never opened through one");
    said.assert_said("works again");
}

#[test]
fn deleted_directory_is_recreated() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let file = DailyFile::builder(logs.join("app.log")).build().unwrap();
    raw_line(&file, 1);
    assert!(file.flush(WAIT));
    std::fs::remove_dir_all(&logs).unwrap();
    raw_line(&file, 2);
    assert!(file.flush(WAIT));
    assert_eq!(
        std::fs::read_to_string(logs.join("app-2026-11-23.log")).unwrap(),
        "[2026-11-23 10:00:00.000000] INFO: x: 2\n"
    );
    assert_eq!(file.failed_lines(), 0);
}

#[test]
fn directory_replaced_by_a_file_fails_then_resumes() {
    let said = tracing_logbook::testing::capture_diagnostics();
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let file = DailyFile::builder(logs.join("app.log")).build().unwrap();
    raw_line(&file, 1);
    assert!(file.flush(WAIT));
    std::fs::remove_dir_all(&logs).unwrap();
    std::fs::write(&logs, "in the way\n").unwrap();
    raw_line(&file, 2);
    raw_line(&file, 3);
    assert!(file.flush(WAIT));
    assert_eq!(file.failed_lines(), 2);
    std::fs::remove_file(&logs).unwrap();
    raw_line(&file, 4);
    assert!(file.flush(WAIT));
    assert_eq!(file.failed_lines(), 2);
    assert_eq!(
        std::fs::read_to_string(logs.join("app-2026-11-23.log")).unwrap(),
        "[2026-11-23 10:00:00.000000] INFO: x: 4\n"
    );
    said.assert_said("cannot write log lines to");
    said.assert_said("works again");
}

/// Runs the disk-full scenario in a child process and checks its stderr: one report
/// when writing fails, one when it works again, with the crate's prefix.
#[cfg(unix)]
#[test]
fn write_errors_are_reported_once_on_stderr() {
    if std::env::var_os("ROTATION_CHILD").is_some() {
        let dir = tempfile::tempdir().unwrap();
        let dated = dir.path().join("app-2026-11-23.log");
        // A link (to `/dev/full`) at the dated name: never followed, so every write
        // fails until it is gone.
        std::os::unix::fs::symlink("/dev/full", &dated).unwrap();
        let file = DailyFile::builder(dir.path().join("app.log"))
            .build()
            .unwrap();
        for n in 0..5 {
            raw_line(&file, n);
            assert!(file.flush(WAIT));
        }
        std::fs::remove_file(&dated).unwrap();
        raw_line(&file, 5);
        assert!(file.flush(WAIT));
        return;
    }
    if !Path::new("/dev/full").exists() {
        return;
    }
    let out = ChildRun::test("write_errors_are_reported_once_on_stderr")
        .nocapture(false)
        .env("ROTATION_CHILD", "1")
        .run();
    assert!(out.status.success(), "{out}");
    let stderr = out.stderr;
    // The link itself is reported once, when the writer starts and lists the names.
    let planted = "is not a regular file (a symbolic link, FIFO, socket or device)";
    assert_eq!(stderr.matches(planted).count(), 1, "{stderr}");
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("[tracing-logbook]") && !l.contains(planted))
        .collect();
    assert_eq!(ours.len(), 2, "{stderr}");
    assert!(ours[0].contains("symbolic link"), "{stderr}");
    assert!(ours[0].contains("cannot write log lines to "), "{stderr}");
    assert!(ours[0].contains("app-2026-11-23.log"), "{stderr}");
    assert!(ours[1].contains("works again"), "{stderr}");
}

#[test]
fn shutdown_is_bounded_and_later_lines_are_counted() {
    let said = tracing_logbook::testing::capture_diagnostics();
    let dir = tempfile::tempdir().unwrap();
    let file = DailyFile::builder(dir.path().join("app.log"))
        .build()
        .unwrap();
    raw_line(&file, 1);
    assert!(file.shutdown(WAIT));
    assert!(file.shutdown(WAIT), "a second shutdown is harmless");
    raw_line(&file, 2);
    assert_eq!(file.dropped_lines(), 1);
    assert!(file.flush(WAIT), "nothing is pending after shutdown");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("app-2026-11-23.log")).unwrap(),
        "[2026-11-23 10:00:00.000000] INFO: x: 1\n"
    );
    said.assert_said("was shut down");
}

#[test]
fn dropping_the_last_handle_flushes_and_stops() {
    let dir = tempfile::tempdir().unwrap();
    let file = DailyFile::builder(dir.path().join("app.log"))
        .build()
        .unwrap();
    let clone = file.clone();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for n in 0..1_000 {
            raw_line(&clone, n);
        }
        drop(clone);
        drop(file);
        let _ = tx.send(());
    });
    rx.recv_timeout(WAIT).expect("drop did not finish");
    let text = std::fs::read_to_string(dir.path().join("app-2026-11-23.log")).unwrap();
    assert_eq!(text.lines().count(), 1_000);
}

#[test]
fn flush_with_zero_timeout_does_not_block() {
    let dir = tempfile::tempdir().unwrap();
    let file = DailyFile::builder(dir.path().join("app.log"))
        .build()
        .unwrap();
    raw_line(&file, 1);
    // Whatever it returns, it returns.
    let _ = file.flush(Duration::ZERO);
    assert!(file.flush(WAIT));
}

/// Logs `lines` records `line t=<thread> i=<n> pad=...` from each of `threads` threads.
fn log_from_threads(log: &Log, threads: usize, lines: usize) {
    let pad = "x".repeat(40);
    std::thread::scope(|s| {
        for t in 0..threads {
            let dispatch = log.dispatch.clone();
            let pad = &pad;
            s.spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || {
                    for i in 0..lines {
                        tracing::info!(target: "load", t, i, pad = pad.as_str(), "line");
                    }
                });
            });
        }
    });
}
