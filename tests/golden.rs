//! Lines compared byte for byte with golden output produced by Python Logbook 1.10.1
//! (`tests/data/logbook`, copied from `shared/spec/logbook`).

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tracing_logbook::testing::{CaptureWriter, ManualClock};
use tracing_logbook::{ColorChoice, LogbookLayer, Timezone};
use tracing_subscriber::prelude::*;

fn cases(file: &str) -> Vec<Value> {
    let path = format!("{}/tests/data/logbook/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn s<'a>(case: &'a Value, key: &str) -> &'a str {
    case[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {case}"))
}

/// Renders what `f` logs with the clock at the case's time.
fn render(time: &str, color: ColorChoice, f: impl FnOnce()) -> String {
    let t = OffsetDateTime::parse(time, &Rfc3339).unwrap();
    let tz = if time.ends_with('Z') {
        Timezone::Utc
    } else {
        Timezone::Fixed(t.offset())
    };
    let out = CaptureWriter::new();
    let layer = LogbookLayer::builder()
        .clock(ManualClock::new(t))
        .timezone(tz)
        .color(color)
        .build(out.clone());
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), f);
    out.take_string()
}

/// Emits a message-only event at a Logbook level on a channel. `app` uses tracing's
/// macros; other channels are runtime strings, so they come through the `log` bridge,
/// as a web framework's records would.
fn emit(level: &str, channel: &str, message: &str) {
    if channel == "app" {
        match level {
            "TRACE" => tracing::trace!(target: "app", "{}", message),
            "DEBUG" => tracing::debug!(target: "app", "{}", message),
            "INFO" => tracing::info!(target: "app", "{}", message),
            "NOTICE" => tracing_logbook::notice!(target: "app", "{}", message),
            "WARNING" => tracing::warn!(target: "app", "{}", message),
            "ERROR" => tracing::error!(target: "app", "{}", message),
            "CRITICAL" => tracing_logbook::critical!(target: "app", "{}", message),
            other => panic!("level {other}"),
        }
    } else {
        assert_eq!(level, "INFO", "runtime channels are tested at INFO");
        tracing_log::format_trace(
            &log::Record::builder()
                .target(channel)
                .level(log::Level::Info)
                .args(format_args!("{message}"))
                .build(),
        )
        .unwrap();
    }
}

/// Cases whose output deliberately differs from Logbook: no content may forge a record
/// or reach the terminal raw (see the `fields` module docs).
fn hardened(case: &str) -> Option<&'static str> {
    Some(match case {
        "msg_newline" => "[2024-03-01 12:34:56.789012] INFO: app: line one\n  line two\n  line three\n",
        "msg_trailing_newline" => "[2024-03-01 12:34:56.789012] INFO: app: ends with newline\n",
        "msg_crlf" => "[2024-03-01 12:34:56.789012] INFO: app: crlf\n  next\n",
        "msg_control_chars" => "[2024-03-01 12:34:56.789012] INFO: app: nul\\u{0} bell\\u{7} bs\\u{8} vt\\u{b} ff\\u{c} del\\u{7f} end\n",
        "msg_ansi_escape" => "[2024-03-01 12:34:56.789012] INFO: app: \\u{1b}[31mred text\\u{1b}[0m normal\n",
        _ => return None,
    })
}

/// Python `str.format` cases, written as the Rust format call a user would write.
#[allow(clippy::approx_constant)] // 3.14159 is the golden case's own input
fn formatted(case: &str) -> Option<fn()> {
    Some(match case {
        "fmt_positional" => || tracing::info!(target: "app", "{0} + {1} = {2}", 1, 2, 3),
        "fmt_auto_positional" => || tracing::info!(target: "app", "{} and {}", "a", "b"),
        "fmt_keyword" => {
            || tracing::info!(target: "app", "{name} is {age} years", name = "Ann", age = 31)
        }
        "fmt_mixed" => || tracing::info!(target: "app", "{0} by {user}", "login", user = "bob"),
        "fmt_spec" => {
            || tracing::info!(target: "app", "pi={0:.3} pad=[{1:>6}] hex={2:#x}", 3.14159, "ab", 255)
        }
        "fmt_repr_conversion" => || tracing::info!(target: "app", "value='{}'", "quoted"),
        "fmt_escaped_braces_with_args" => || tracing::info!(target: "app", "{{literal}} {0}", "x"),
        "fmt_unicode_args" => || tracing::info!(target: "app", "user={0}", "Zoë 🚀"),
        "fmt_unused_kwargs" => || tracing::info!(target: "app", "hello {0}", "world"),
        _ => return None,
    })
}

/// Cases with no Rust meaning, and why.
const SKIPPED: &[(&str, &str)] = &[
    (
        "fmt_error_missing_arg",
        "a missing format argument is a compile error in Rust",
    ),
    (
        "exc_",
        "Python tracebacks; panics are tested in the production tests",
    ),
    (
        "channel_none",
        "a nameless Logger prints Python's None; a Rust target always has a name",
    ),
];

#[test]
fn every_golden_format_case() {
    let mut checked = 0;
    for case in cases("golden_format.jsonl") {
        let name = s(&case, "case");
        let time = s(&case, "time_utc");
        if SKIPPED.iter().any(|(prefix, _)| name.starts_with(prefix)) {
            continue;
        }
        let has_args = case.get("args").is_some() || case.get("kwargs").is_some();
        let got = if let Some(f) = formatted(name) {
            render(time, ColorChoice::Never, f)
        } else {
            assert!(
                !has_args,
                "{name}: a formatting case without a Rust equivalent"
            );
            // Non-string messages (42, a dict) print their str(), which is the template.
            let message = case["message"].as_str().unwrap_or(s(&case, "msg_template"));
            assert_eq!(s(&case, "msg_template"), message, "{name}");
            render(time, ColorChoice::Never, || {
                emit(s(&case, "level"), s(&case, "channel"), message)
            })
        };
        let want = hardened(name)
            .map(str::to_owned)
            .unwrap_or_else(|| s(&case, "output").to_owned());
        assert_eq!(got, want, "case {name}");
        checked += 1;
    }
    assert_eq!(checked, 46, "golden cases checked");
}

#[test]
fn hardened_cases_are_one_record_each() {
    for case in cases("golden_format.jsonl") {
        let name = s(&case, "case");
        if hardened(name).is_none() {
            continue;
        }
        let out = render(s(&case, "time_utc"), ColorChoice::Always, || {
            emit("WARNING", "app", s(&case, "message"))
        });
        let records = out
            .lines()
            .filter(|l| l.starts_with("\x1b[33;01m["))
            .count();
        assert_eq!(records, 1, "{name}: {out:?}");
        assert!(
            out.lines().skip(1).all(|l| l.starts_with("  ")),
            "{name}: {out:?}"
        );
        // The only ESC bytes are our own color codes.
        assert_eq!(out.matches('\x1b').count(), 2, "{name}: {out:?}");
        assert!(!out
            .bytes()
            .any(|b| (b < 0x20 && b != b'\n' && b != 0x1b) || b == 0x7f));
    }
}

#[test]
fn every_golden_color_case() {
    let mut checked = 0;
    for case in cases("golden_colors.jsonl") {
        let name = s(&case, "case");
        if name == "color_exception" {
            continue; // a Python traceback
        }
        let color = match s(&case, "color_mode") {
            "force" => ColorChoice::Always,
            "forbid" => ColorChoice::Never,
            // The capture writer is not a terminal, as the golden stream was not a tty.
            "auto" => ColorChoice::Auto,
            other => panic!("{other}"),
        };
        let line = s(&case, "line");
        let message = line
            .split_once("] ")
            .and_then(|(_, rest)| rest.split_once(": app: "))
            .map(|(_, m)| m.trim_end_matches("\x1b[39;49;00m"))
            .unwrap();
        let level = s(&case, "level");
        let got = render(s(&case, "time_utc"), color, || emit(level, "app", message));
        let want = if name == "color_multiline" {
            s(&case, "output").replace("\nline two", "\n  line two")
        } else {
            s(&case, "output").to_owned()
        };
        assert_eq!(got, want, "case {name}");
        checked += 1;
    }
    assert_eq!(checked, 10);
}
