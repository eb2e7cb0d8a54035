//! JSON lines validated line by line, with hostile content everywhere a caller can put it.

use serde_json::Value;
use time::macros::datetime;
use tracing_logbook::testing::{CaptureWriter, ManualClock};
use tracing_logbook::JsonLayer;
use tracing_subscriber::prelude::*;

const HOSTILE: &[&str] = &[
    "",
    "plain",
    "quote \" backslash \\ slash /",
    "newline\nreturn\rtab\t",
    "nul\0 bell\x07 esc\x1b[31m del\x7f",
    "c1\u{85}\u{9b} ls\u{2028} ps\u{2029} rlo\u{202e} lri\u{2066}",
    "unicode ünïcødé 日本語 🎉",
    "{\"looks\":\"like json\"}",
    "\u{ffff}\u{10ffff}",
];

fn lines(f: impl FnOnce()) -> Vec<Value> {
    let out = CaptureWriter::new();
    let layer = JsonLayer::builder()
        .clock(ManualClock::new(datetime!(2026-11-23 19:28:08.000001 UTC)))
        .build(out.clone());
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), f);
    let text = out.take_string();
    assert!(text.ends_with('\n'));
    text.lines()
        .map(|line| {
            assert!(
                !line.chars().any(char::is_control),
                "raw control character in {line:?}"
            );
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
        })
        .collect()
}

#[test]
fn hostile_strings_survive_in_every_position() {
    for s in HOSTILE {
        let got = lines(|| {
            let span = tracing::info_span!("request", path = *s, n = 1);
            let _e = span.enter();
            tracing::warn!(target: "App", text = *s, debug = ?s, "{}", s);
            tracing_log::format_trace(
                &log::Record::builder()
                    .target(s)
                    .level(log::Level::Error)
                    .args(format_args!("from log"))
                    .build(),
            )
            .unwrap();
        });
        assert_eq!(got.len(), 2, "{s:?}");
        let v = &got[0];
        assert_eq!(v["timestamp"], "2026-11-23T19:28:08.000001Z");
        assert_eq!(v["level"], "WARNING");
        assert_eq!(v["channel"], "App");
        assert_eq!(v["message"], *s);
        assert_eq!(v["fields"]["text"], *s);
        assert_eq!(v["fields"]["debug"], format!("{s:?}"));
        assert_eq!(v["spans"][0]["name"], "request");
        assert_eq!(v["spans"][0]["fields"]["path"], *s);
        assert_eq!(v["spans"][0]["fields"]["n"], 1);
        assert_eq!(v["file"], "tests/json.rs");
        assert!(v["line"].as_u64().is_some());
        assert!(v["thread"].is_string());
        let log = &got[1];
        assert_eq!(log["level"], "ERROR");
        assert_eq!(log["channel"], *s, "the log record's real target");
        assert_eq!(
            log["fields"],
            serde_json::json!({}),
            "log.* fields are hidden"
        );
    }
}

#[test]
fn keys_come_in_the_documented_order() {
    let out = CaptureWriter::new();
    let layer = JsonLayer::builder().build(out.clone());
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        tracing::info!(target: "App", k = 1, "m");
    });
    let line = out.take_string();
    let order = [
        "\"timestamp\":",
        "\"level\":",
        "\"channel\":",
        "\"message\":",
        "\"fields\":",
        "\"spans\":",
        "\"file\":",
        "\"line\":",
        "\"thread\":",
    ];
    let positions: Vec<usize> = order.iter().map(|k| line.find(k).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{line}");
    assert!(line.starts_with("{\"timestamp\":\""));
}

#[test]
fn typed_values_and_stable_keys() {
    let got = lines(|| {
        tracing_logbook::critical!(
            target: "App",
            int = -3i64,
            uint = 7u64,
            float = 1.5,
            whole = 2.0,
            nan = f64::NAN,
            yes = true,
            err = &std::io::Error::other("disk") as &(dyn std::error::Error + 'static),
            "done"
        );
        tracing::info!(target: "App", only = 1);
    });
    let v = &got[0];
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "channel",
            "fields",
            "file",
            "level",
            "line",
            "message",
            "spans",
            "thread",
            "timestamp"
        ]
    );
    assert_eq!(v["level"], "CRITICAL");
    assert_eq!(
        v["fields"],
        serde_json::json!({"int": -3, "uint": 7, "float": 1.5, "whole": 2.0, "nan": "NaN", "yes": true, "err": "disk"})
    );
    assert!(v["fields"]["whole"].is_f64());
    assert_eq!(got[1]["message"], "");
    assert_eq!(got[1]["fields"]["only"], 1);
}

/// `LOG_FORMAT=ecs` through `build`: every line of the daily file parses, with the ECS
/// keys, hostile strings intact, and the fingers-crossed lines in the same format.
#[test]
fn ecs_lines_in_the_daily_file_field_by_field() {
    use tracing_logbook::{Env, FingersCrossed, Format, Level, LogFile, Mode};
    let dir = tempfile::tempdir().unwrap();
    let from_env = Env::from_lookup(|name| (name == "LOG_FORMAT").then(|| "ecs".to_owned()));
    assert!(format!("{:?}", from_env.unwrap()).contains("format: Ecs"));
    let env = Env::new(Mode::Production)
        .format(Format::Ecs)
        .clock(ManualClock::new(datetime!(2026-11-23 19:28:08.000001 UTC)))
        .log_file(LogFile::Path(dir.path().join("app.log")))
        .fingers_crossed(Some(FingersCrossed::new(Level::Debug).max_lines(1)));
    let (dispatch, guard) = tracing_logbook::build(env).unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        for s in HOSTILE {
            tracing::warn!(target: "App", value = *s, "{s}");
        }
        let _in = tracing::error_span!("request", method = "GET", url = "/a b").entered();
        tracing::debug!(target: "App", "dropped");
        tracing::debug!(target: "App", step = 2, "kept");
        tracing_logbook::critical!(target: "App", "boom");
    });
    assert!(guard.flush(std::time::Duration::from_secs(10)));
    let mut text = String::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let entry = entry.unwrap();
        // The dated files only, not the link to the current one.
        if entry.file_type().unwrap().is_file() {
            text.push_str(&std::fs::read_to_string(entry.path()).unwrap());
        }
    }
    let lines: Vec<Value> = text
        .lines()
        .map(|line| {
            assert!(!line.chars().any(char::is_control), "{line:?}");
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
        })
        .collect();
    assert_eq!(lines.len(), HOSTILE.len() + 3, "{text}");
    for (line, s) in lines.iter().zip(HOSTILE) {
        assert_eq!(line["@timestamp"], "2026-11-23T19:28:08.000001Z");
        assert_eq!(line["log.level"], "warning");
        assert_eq!(line["log.logger"], "App");
        assert_eq!(line["ecs.version"], "8.11.0");
        assert_eq!(line["message"], *s);
        assert_eq!(line["value"], *s);
        assert_eq!(line["log.origin.file.name"], file!());
        assert!(line["log.origin.file.line"].is_u64());
        assert!(line["process.thread.name"].is_string());
        assert!(line.get("logbook.spans").is_none());
    }
    let tail = &lines[HOSTILE.len()..];
    let summary: Vec<(&str, &str, &str)> = tail
        .iter()
        .map(|l| {
            (
                l["log.level"].as_str().unwrap(),
                l["log.logger"].as_str().unwrap(),
                l["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("warning", "tracing-logbook", "1 buffered lines dropped"),
            ("debug", "App", "kept"),
            ("critical", "App", "boom"),
        ]
    );
    for line in tail {
        assert_eq!(line["logbook.spans"], serde_json::json!(["request"]));
        assert_eq!(line["method"], "GET");
        assert_eq!(line["url"], "/a b");
    }
    assert_eq!(tail[1]["step"], 2);
}
