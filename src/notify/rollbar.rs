//! Rollbar item payloads: what an occurrence turns into, scrubbing and size limits.

use std::time::Duration;

use serde_json::{json, Map, Value};

use super::backtrace;
use super::scrub::Scrubber;
use crate::fields::{FieldValue, Fields};
use crate::level::Level;

/// The `notifier.name` of every item.
pub const NOTIFIER_NAME: &str = "tracing-logbook";

/// The exception class of a panic's `trace`.
pub const PANIC_CLASS: &str = "panic";

/// One log line kept for telemetry.
#[derive(Clone, Debug)]
pub(crate) struct TelemetryLine {
    pub(crate) level: Level,
    pub(crate) timestamp_ms: u64,
    pub(crate) channel: String,
    pub(crate) message: String,
    pub(crate) fields: Vec<(&'static str, FieldValue)>,
}

/// What the panic hook put on its event.
#[derive(Clone, Debug, Default)]
pub(crate) struct PanicInfo {
    pub(crate) message: String,
    pub(crate) location: Option<String>,
    pub(crate) thread: Option<String>,
    pub(crate) backtrace: Option<String>,
}

/// Everything the background thread needs to build an item, captured by the caller.
#[derive(Clone, Debug)]
pub(crate) struct Occurrence {
    pub(crate) level: Level,
    pub(crate) timestamp_ms: u64,
    pub(crate) message: String,
    pub(crate) channel: String,
    pub(crate) file: Option<String>,
    pub(crate) line: Option<u32>,
    pub(crate) module: Option<String>,
    pub(crate) thread: Option<String>,
    pub(crate) fields: Vec<(&'static str, FieldValue)>,
    /// Span name and fields, root first.
    pub(crate) spans: Vec<(&'static str, Fields)>,
    pub(crate) telemetry: Vec<TelemetryLine>,
    pub(crate) panic: Option<PanicInfo>,
    /// For a storm summary: how many more times, over which window.
    pub(crate) repeated: Option<(u64, Duration)>,
}

/// The settings that go into every item.
#[derive(Clone, Debug)]
pub(crate) struct PayloadSettings {
    pub(crate) environment: String,
    pub(crate) code_version: Option<String>,
    pub(crate) host: String,
    pub(crate) scrubber: Scrubber,
}

/// Rollbar's level name for a Logbook level.
pub(crate) fn rollbar_level(level: Level) -> &'static str {
    match level {
        Level::Critical => "critical",
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Info | Level::Notice => "info",
        Level::Debug | Level::Trace => "debug",
    }
}

pub(crate) fn field_json(value: &FieldValue) -> Value {
    match value {
        FieldValue::Str(s) | FieldValue::Debug(s) => Value::String(s.clone()),
        FieldValue::I64(v) => json!(v),
        FieldValue::U64(v) => json!(v),
        FieldValue::F64(v) if v.is_finite() => json!(v),
        FieldValue::F64(v) if v.is_nan() => json!("<NaN>"),
        FieldValue::F64(v) if *v > 0.0 => json!("<Infinity>"),
        FieldValue::F64(_) => json!("<NegativeInfinity>"),
        FieldValue::Bool(v) => json!(v),
    }
}

fn fields_json<'a>(fields: impl Iterator<Item = (&'static str, &'a FieldValue)>) -> Value {
    let mut map = Map::new();
    for (k, v) in fields {
        map.insert(k.to_owned(), field_json(v));
    }
    Value::Object(map)
}

/// The text of a telemetry line: the message, then ` key=value` with secrets scrubbed.
pub(crate) fn telemetry_text(line: &TelemetryLine, scrubber: &Scrubber) -> String {
    let mut text = line.message.clone();
    for (name, value) in &line.fields {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(name);
        text.push('=');
        if scrubber.is_secret(name) {
            text.push_str(super::scrub::SCRUBBED);
        } else {
            value.render(&mut text);
        }
    }
    text
}

/// Maps the fields of a span that looks like an HTTP request onto Rollbar's `request`.
///
/// A span looks like a request when it has a method (`method`, `http.method`,
/// `http.request.method`) and a URL or path (`url`, `uri`, `path`, `target`,
/// `http.url`, `http.target`, `url.full`, `url.path`).
pub(crate) fn request_json(fields: &Fields) -> Option<Value> {
    fn key_of(name: &str) -> Option<&'static str> {
        Some(match name {
            "method" | "http.method" | "http.request.method" => "method",
            "url" | "uri" | "http.url" | "url.full" => "url",
            "path" | "target" | "http.target" | "url.path" => "path",
            "query" | "query_string" | "url.query" => "query_string",
            "status" | "status_code" | "http.status_code" | "http.response.status_code" => {
                "status_code"
            }
            "route" | "http.route" => "route",
            "user_ip" | "client_ip" | "remote_addr" | "client.address" | "http.client_ip" => {
                "user_ip"
            }
            "request_id" | "http.request_id" => "request_id",
            _ => return None,
        })
    }
    let has_method = fields.iter().any(|(k, _)| key_of(k) == Some("method"));
    let has_url = fields
        .iter()
        .any(|(k, _)| matches!(key_of(k), Some("url" | "path")));
    if !has_method || !has_url {
        return None;
    }
    let mut request = Map::new();
    let mut headers = Map::new();
    for (name, value) in fields.iter() {
        if let Some(key) = key_of(name) {
            let v = match key {
                "method" | "url" | "path" | "query_string" | "user_ip" => {
                    Value::String(value.to_text())
                }
                _ => field_json(value),
            };
            request.insert(key.to_owned(), v);
        } else if let Some(header) = name
            .strip_prefix("http.request.header.")
            .or_else(|| name.strip_prefix("headers."))
            .or_else(|| name.strip_prefix("header."))
        {
            headers.insert(header.to_owned(), Value::String(value.to_text()));
        } else if name == "user_agent" || name == "http.user_agent" {
            headers.insert("User-Agent".to_owned(), Value::String(value.to_text()));
        } else {
            request.insert(name.to_owned(), field_json(value));
        }
    }
    if !request.contains_key("url") {
        if let Some(path) = request.get("path").cloned() {
            request.insert("url".to_owned(), path);
        }
    }
    if !headers.is_empty() {
        request.insert("headers".to_owned(), Value::Object(headers));
    }
    Some(Value::Object(request))
}

fn frame_json(frame: &backtrace::Frame) -> Value {
    let mut f = Map::new();
    f.insert(
        "filename".into(),
        json!(frame.filename.as_deref().unwrap_or("<unknown>")),
    );
    if let Some(line) = frame.lineno {
        f.insert("lineno".into(), json!(line));
    }
    if let Some(col) = frame.colno {
        f.insert("colno".into(), json!(col));
    }
    f.insert("method".into(), json!(frame.method));
    Value::Object(f)
}

fn panic_body(occ: &Occurrence, panic: &PanicInfo) -> Value {
    let mut frames: Vec<Value> = panic
        .backtrace
        .as_deref()
        .map(backtrace::panic_frames)
        .unwrap_or_default()
        .iter()
        .map(frame_json)
        .collect();
    if frames.is_empty() {
        // No backtrace (disabled or unsupported): the panic location is the one frame.
        let location = panic.location.as_deref().unwrap_or("<unknown>");
        let (file, lineno, colno) = backtrace::parse_location(location);
        frames.push(frame_json(&backtrace::Frame {
            method: "<panic>".to_owned(),
            filename: Some(file.to_owned()),
            lineno,
            colno,
        }));
    }
    let mut description = match &panic.thread {
        Some(thread) => format!("thread '{thread}' panicked"),
        None => "panicked".to_owned(),
    };
    if let Some(location) = &panic.location {
        description.push_str(" at ");
        description.push_str(location);
    }
    description.push_str(": ");
    description.push_str(&panic.message);
    let _ = occ;
    json!({
        "trace": {
            "frames": frames,
            "exception": {
                "class": PANIC_CLASS,
                "message": panic.message,
                "description": description,
            }
        }
    })
}

/// The item's `title`: the message's first line, at most 255 characters.
fn title(text: &str) -> Option<String> {
    let first = text.lines().next().unwrap_or("").trim();
    if first.is_empty() {
        return None;
    }
    Some(truncate_chars(first, 255))
}

/// The complete item for `occ`, scrubbed.
pub(crate) fn build(occ: &Occurrence, settings: &PayloadSettings, uuid: &str) -> Value {
    let message = match &occ.repeated {
        Some((n, window)) => format!(
            "\"{}\" repeated {} more time{} in {} s",
            occ.message,
            n,
            if *n == 1 { "" } else { "s" },
            window.as_secs()
        ),
        None => occ.message.clone(),
    };
    let mut body = match (&occ.panic, occ.repeated) {
        (Some(panic), None) => panic_body(occ, panic),
        _ => json!({ "message": { "body": message } }),
    };
    if !occ.telemetry.is_empty() {
        let telemetry: Vec<Value> = occ
            .telemetry
            .iter()
            .map(|line| {
                json!({
                    "level": rollbar_level(line.level),
                    "type": "log",
                    "source": "server",
                    "timestamp_ms": line.timestamp_ms,
                    "body": {
                        "message": telemetry_text(line, &settings.scrubber),
                        "channel": line.channel,
                    }
                })
            })
            .collect();
        body["telemetry"] = Value::Array(telemetry);
    }

    let mut custom = Map::new();
    if !occ.fields.is_empty() {
        custom.insert(
            "fields".into(),
            fields_json(occ.fields.iter().map(|(k, v)| (*k, v))),
        );
    }
    if !occ.spans.is_empty() {
        let spans: Vec<Value> = occ
            .spans
            .iter()
            .map(|(name, fields)| json!({ "name": name, "fields": fields_json(fields.iter()) }))
            .collect();
        custom.insert("spans".into(), Value::Array(spans));
    }
    custom.insert("channel".into(), json!(occ.channel));
    if let Some(file) = &occ.file {
        custom.insert("file".into(), json!(file));
    }
    if let Some(line) = occ.line {
        custom.insert("line".into(), json!(line));
    }
    if let Some(module) = &occ.module {
        custom.insert("module".into(), json!(module));
    }
    if let Some(thread) = &occ.thread {
        custom.insert("thread".into(), json!(thread));
    }
    if let Some((n, window)) = occ.repeated {
        custom.insert("repeated".into(), json!(n));
        custom.insert("window_secs".into(), json!(window.as_secs()));
    }

    let mut data = Map::new();
    data.insert("environment".into(), json!(settings.environment));
    data.insert("level".into(), json!(rollbar_level(occ.level)));
    data.insert("timestamp".into(), json!(occ.timestamp_ms / 1000));
    data.insert("uuid".into(), json!(uuid));
    data.insert(
        "notifier".into(),
        json!({ "name": NOTIFIER_NAME, "version": env!("CARGO_PKG_VERSION") }),
    );
    data.insert("language".into(), json!("rust"));
    data.insert("platform".into(), json!(std::env::consts::OS));
    data.insert(
        "server".into(),
        json!({ "host": settings.host, "pid": std::process::id() }),
    );
    if let Some(version) = &settings.code_version {
        data.insert("code_version".into(), json!(version));
    }
    if !occ.channel.is_empty() {
        data.insert("context".into(), json!(occ.channel));
    }
    let title_source = match &occ.panic {
        Some(p) if occ.repeated.is_none() => &p.message,
        _ => &message,
    };
    if let Some(title) = title(title_source) {
        data.insert("title".into(), json!(title));
    }
    if let Some(request) = occ.spans.iter().rev().find_map(|(_, f)| request_json(f)) {
        data.insert("request".into(), request);
    }
    data.insert("custom".into(), Value::Object(custom));
    data.insert("body".into(), body.take());

    let mut item = json!({ "data": Value::Object(data) });
    settings.scrubber.scrub_value(&mut item["data"]["custom"]);
    if item["data"].get("request").is_some() {
        settings.scrubber.scrub_value(&mut item["data"]["request"]);
    }
    if let Some(telemetry) = item["data"]["body"].get_mut("telemetry") {
        settings.scrubber.scrub_value(telemetry);
    }
    item
}

// === size ===

/// Cuts `s` to at most `max` characters, the last three becoming `...`.
pub(crate) fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let keep = max.saturating_sub(3);
    let mut out: String = s.chars().take(keep).collect();
    out.push_str(&"..."[..max.min(3)]);
    out
}

fn truncate_strings(value: &mut Value, max: usize) {
    match value {
        Value::String(s) if s.len() > max => *s = truncate_chars(s, max),
        Value::Array(items) => items.iter_mut().for_each(|v| truncate_strings(v, max)),
        Value::Object(map) => map.values_mut().for_each(|v| truncate_strings(v, max)),
        _ => {}
    }
}

fn keep_frames(item: &mut Value, each_end: usize) {
    if let Some(Value::Array(frames)) = item.pointer_mut("/data/body/trace/frames") {
        if frames.len() > 2 * each_end {
            let tail = frames.split_off(frames.len() - each_end);
            frames.truncate(each_end);
            frames.extend(tail);
        }
    }
}

fn keep_telemetry(item: &mut Value, last: usize) {
    if let Some(body) = item
        .pointer_mut("/data/body")
        .and_then(Value::as_object_mut)
    {
        if last == 0 {
            body.remove("telemetry");
        } else if let Some(Value::Array(lines)) = body.get_mut("telemetry") {
            if lines.len() > last {
                lines.drain(..lines.len() - last);
            }
        }
    }
}

fn min_body(item: &mut Value) {
    keep_frames(item, 1);
    if let Some(exception) = item
        .pointer_mut("/data/body/trace/exception")
        .and_then(Value::as_object_mut)
    {
        exception.remove("description");
        if let Some(Value::String(m)) = exception.get_mut("message") {
            *m = truncate_chars(m, 255);
        }
    }
    if let Some(Value::String(m)) = item.pointer_mut("/data/body/message/body") {
        *m = truncate_chars(m, 1024);
    }
    if let Some(data) = item.get_mut("data").and_then(Value::as_object_mut) {
        data.insert("custom".into(), json!({ "truncated": true }));
        data.remove("request");
    }
}

/// Serializes `item`, truncating it step by step (as rollbar.js does) until it fits in
/// `max_bytes`: telemetry to the last 10 lines, then none; frames to 30 at each end;
/// strings to 1024, 512, 256 characters; finally a minimal body. Returns the bytes and
/// whether anything was cut.
pub(crate) fn serialize_within(item: &mut Value, max_bytes: usize) -> (Vec<u8>, bool) {
    type Step = fn(&mut Value);
    const STEPS: [Step; 8] = [
        |v| keep_telemetry(v, 10),
        |v| keep_telemetry(v, 0),
        |v| keep_frames(v, 30),
        |v| truncate_strings(v, 1024),
        |v| truncate_strings(v, 512),
        |v| truncate_strings(v, 256),
        min_body,
        |v| truncate_strings(v, 64),
    ];
    let mut bytes = serde_json::to_vec(item).unwrap_or_default();
    let mut cut = false;
    for step in STEPS {
        if bytes.len() <= max_bytes {
            break;
        }
        step(item);
        cut = true;
        bytes = serde_json::to_vec(item).unwrap_or_default();
    }
    (bytes, cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn occurrence() -> Occurrence {
        Occurrence {
            level: Level::Error,
            timestamp_ms: 1_795_462_463_123,
            message: "payment failed".into(),
            channel: "shop::pay".into(),
            file: Some("src/pay.rs".into()),
            line: Some(42),
            module: Some("shop::pay".into()),
            thread: Some("main".into()),
            fields: vec![
                ("order", FieldValue::U64(7)),
                ("password", FieldValue::Str("hunter2".into())),
            ],
            spans: vec![(
                "request",
                Fields(vec![
                    ("method", FieldValue::Str("POST".into())),
                    (
                        "uri",
                        FieldValue::Str("https://u:p@shop/pay?token=abc&x=1".into()),
                    ),
                    ("status", FieldValue::U64(500)),
                    (
                        "headers.authorization",
                        FieldValue::Str("Bearer xyz".into()),
                    ),
                ]),
            )],
            telemetry: vec![TelemetryLine {
                level: Level::Info,
                timestamp_ms: 1_795_462_463_000,
                channel: "shop".into(),
                message: "login".into(),
                fields: vec![("secret", FieldValue::Str("s3".into()))],
            }],
            panic: None,
            repeated: None,
        }
    }

    fn settings() -> PayloadSettings {
        PayloadSettings {
            environment: "production".into(),
            code_version: Some("1.2.3".into()),
            host: "web-1".into(),
            scrubber: Scrubber::new([]),
        }
    }

    #[test]
    fn message_item_has_everything_and_no_secrets() {
        let item = build(&occurrence(), &settings(), "u-1");
        let data = &item["data"];
        assert_eq!(data["level"], "error");
        assert_eq!(data["timestamp"], 1_795_462_463u64);
        assert_eq!(data["body"]["message"]["body"], "payment failed");
        assert_eq!(data["custom"]["fields"]["order"], 7);
        assert_eq!(data["custom"]["fields"]["password"], "***");
        assert_eq!(data["request"]["method"], "POST");
        assert_eq!(
            data["request"]["url"],
            "https://u:***@shop/pay?token=***&x=1"
        );
        assert_eq!(data["request"]["status_code"], 500);
        assert_eq!(data["request"]["headers"]["authorization"], "***");
        assert_eq!(
            data["body"]["telemetry"][0]["body"]["message"],
            "login secret=***"
        );
        let text = item.to_string();
        for secret in ["hunter2", "xyz", "abc", "s3\""] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }

    #[test]
    fn panic_item_has_a_trace() {
        let mut occ = occurrence();
        occ.level = Level::Critical;
        occ.panic = Some(PanicInfo {
            message: "boom".into(),
            location: Some("src/main.rs:3:5".into()),
            thread: Some("main".into()),
            backtrace: Some("disabled backtrace".into()),
        });
        let item = build(&occ, &settings(), "u-2");
        let trace = &item["data"]["body"]["trace"];
        assert_eq!(trace["exception"]["class"], "panic");
        assert_eq!(trace["exception"]["message"], "boom");
        assert_eq!(trace["frames"][0]["filename"], "src/main.rs");
        assert_eq!(trace["frames"][0]["lineno"], 3);
        assert_eq!(trace["frames"][0]["colno"], 5);
        assert_eq!(item["data"]["level"], "critical");
        assert!(item["data"]["body"].get("message").is_none());
    }

    #[test]
    fn summaries_say_how_many() {
        let mut occ = occurrence();
        occ.repeated = Some((41, Duration::from_secs(60)));
        let item = build(&occ, &settings(), "u-3");
        assert_eq!(
            item["data"]["body"]["message"]["body"],
            "\"payment failed\" repeated 41 more times in 60 s"
        );
        assert_eq!(item["data"]["custom"]["repeated"], 41);
    }

    #[test]
    fn oversized_items_are_cut_to_size() {
        let mut occ = occurrence();
        occ.message = "x".repeat(700 * 1024);
        occ.telemetry = vec![occ.telemetry[0].clone(); 500];
        let mut item = build(&occ, &settings(), "u-4");
        let (bytes, cut) = serialize_within(&mut item, 512 * 1024);
        assert!(cut);
        assert!(bytes.len() <= 512 * 1024, "{}", bytes.len());
        let (small, cut) = serialize_within(&mut build(&occurrence(), &settings(), "u"), 512);
        assert!(cut);
        assert!(small.len() <= 1024, "{}", small.len());
        assert_eq!(truncate_chars("abcdef", 5), "ab...");
        assert_eq!(truncate_chars("abc", 5), "abc");
    }
}
