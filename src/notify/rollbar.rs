//! The Rollbar destination: item payloads (`POST /api/1/item/`), their size limits and
//! Rollbar's rate-limit headers.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use super::backtrace;
use super::destination::{
    network_secs, retry_after, Protocol, RateLimit, DEFAULT_RATE_LIMIT_PAUSE,
};
use super::occurrence::{
    fields_json, keep_ends, keep_last, request_json, serialize_with_steps, summary_text,
    telemetry_text, truncate_chars, truncate_strings, Occurrence, PanicInfo, PayloadSettings,
};
use super::scrub::Scrubbed;
use super::transport::{AccessToken, Response};
use crate::level::Level;

/// The `notifier.name` of every item.
pub const NOTIFIER_NAME: &str = "tracing-logbook";

/// The exception class of a panic's `trace`.
pub const PANIC_CLASS: &str = "panic";

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
    let (frames, useful) =
        backtrace::panic_trace(panic.backtrace.as_deref(), panic.location.as_deref());
    let frames: Vec<Value> = frames.iter().map(frame_json).collect();
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
    if !useful && panic.backtrace.as_deref().is_some_and(|b| b.contains(": ")) {
        description.push_str(" (");
        description.push_str(backtrace::NO_LINE_TABLES);
        description.push(')');
    }
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

/// An event with an error field: one trace per link of the error's `source()` chain,
/// outermost first (as pyrollbar orders `trace_chain`). The outermost trace's one frame
/// is the callsite that logged it; the event's message is its description.
fn trace_chain(occ: &Occurrence) -> Value {
    let chain: Vec<Value> = occ
        .error
        .iter()
        .enumerate()
        .map(|(i, link)| {
            let mut exception = json!({ "class": link.class, "message": link.message });
            let mut frames = Vec::new();
            if i == 0 {
                if !occ.message.is_empty() {
                    exception["description"] = json!(occ.message);
                }
                if let Some(file) = &occ.file {
                    let mut frame = json!({ "filename": file });
                    if let Some(line) = occ.line {
                        frame["lineno"] = json!(line);
                    }
                    if let Some(module) = &occ.module {
                        frame["method"] = json!(module);
                    }
                    frames.push(frame);
                }
            }
            json!({ "frames": frames, "exception": exception })
        })
        .collect();
    json!({ "trace_chain": chain })
}

/// The item's `title` (cut to 255 characters by [`serialize_within`], after
/// scrubbing: a cut could hide a secret from the scrubber).
fn title(text: &str) -> Option<String> {
    let first = text.lines().next().unwrap_or("").trim();
    (!first.is_empty()).then(|| first.to_owned())
}

/// The keys of the item's own structure: a scrub name never replaces them wholesale
/// (see [`Scrubber::scrub_payload`](super::scrub::Scrubber::scrub_payload)).
pub(crate) const SKELETON: &[&str] = &[
    "/data",
    "/data/environment",
    "/data/level",
    "/data/timestamp",
    "/data/uuid",
    "/data/language",
    "/data/platform",
    "/data/code_version",
    "/data/context",
    "/data/title",
    "/data/notifier",
    "/data/notifier/name",
    "/data/notifier/version",
    "/data/server",
    "/data/server/host",
    "/data/server/pid",
    "/data/body",
    "/data/body/message",
    "/data/body/message/body",
    "/data/body/trace",
    "/data/body/trace/frames",
    "/data/body/trace/frames/*/filename",
    "/data/body/trace/frames/*/lineno",
    "/data/body/trace/frames/*/colno",
    "/data/body/trace/frames/*/method",
    "/data/body/trace/exception",
    "/data/body/trace/exception/class",
    "/data/body/trace/exception/message",
    "/data/body/trace/exception/description",
    "/data/body/trace_chain",
    "/data/body/trace_chain/*/frames",
    "/data/body/trace_chain/*/frames/*/filename",
    "/data/body/trace_chain/*/frames/*/lineno",
    "/data/body/trace_chain/*/frames/*/method",
    "/data/body/trace_chain/*/exception",
    "/data/body/trace_chain/*/exception/class",
    "/data/body/trace_chain/*/exception/message",
    "/data/body/trace_chain/*/exception/description",
    "/data/fingerprint",
    "/data/body/telemetry",
    "/data/body/telemetry/*/level",
    "/data/body/telemetry/*/type",
    "/data/body/telemetry/*/source",
    "/data/body/telemetry/*/timestamp_ms",
    "/data/body/telemetry/*/body",
    "/data/body/telemetry/*/body/message",
    "/data/body/telemetry/*/body/channel",
    "/data/request",
    "/data/request/headers",
    "/data/person",
    "/data/person/id",
    "/data/person/username",
    "/data/person/email",
    "/data/custom",
    "/data/custom/fields",
    "/data/custom/spans",
    "/data/custom/spans/*/name",
    "/data/custom/spans/*/fields",
    "/data/custom/channel",
    "/data/custom/file",
    "/data/custom/line",
    "/data/custom/trace_id",
    "/data/custom/span_id",
    "/data/custom/module",
    "/data/custom/thread",
    "/data/custom/repeated",
    "/data/custom/window_secs",
];

/// The complete item for `occ`, not scrubbed: the worker scrubs it whole
/// ([`payload`](super::destination::payload)).
pub(crate) fn build(occ: &Occurrence, settings: &PayloadSettings, uuid: &str) -> Value {
    let message = match occ.repeated {
        Some((n, window)) => summary_text(occ, n, window),
        None => occ.message.clone(),
    };
    let mut body = match (&occ.panic, occ.repeated) {
        (Some(panic), None) => panic_body(occ, panic),
        (None, None) if !occ.error.is_empty() => trace_chain(occ),
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
                        "message": telemetry_text(line),
                        "channel": line.channel,
                    }
                })
            })
            .collect();
        body["telemetry"] = Value::Array(telemetry);
    }

    let mut custom = occ.trace_context().unwrap_or_default();
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
    // The route a request error happened on, else the channel.
    match occ.route() {
        Some(route) => {
            data.insert("context".into(), json!(route));
        }
        None if !occ.channel.is_empty() => {
            data.insert("context".into(), json!(occ.channel));
        }
        None => {}
    }
    let title_source = match &occ.panic {
        Some(p) if occ.repeated.is_none() => p.message.clone(),
        _ if occ.repeated.is_none() => occ.title_text(),
        _ => message,
    };
    if let Some(title) = title(&title_source) {
        data.insert("title".into(), json!(title));
    }
    let [classes, callsite] = occ.fingerprint();
    data.insert(
        "fingerprint".into(),
        json!(format!("{classes} at {callsite}")),
    );
    if let Some(request) = occ
        .spans
        .iter()
        .rev()
        .find_map(|(_, f)| request_json(f, &settings.trusted_proxies))
    {
        data.insert("request".into(), request);
    }
    if let Some(person) = occ.person(settings.capture_email) {
        data.insert("person".into(), person.json());
    }
    data.insert("custom".into(), Value::Object(custom));
    data.insert("body".into(), body.take());

    json!({ "data": Value::Object(data) })
}

// === size ===

fn drop_telemetry(item: &mut Value) {
    if let Some(body) = item
        .pointer_mut("/data/body")
        .and_then(Value::as_object_mut)
    {
        body.remove("telemetry");
    }
}

fn min_body(item: &mut Value) {
    keep_ends(item, FRAMES, 1);
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

const TELEMETRY: &str = "/data/body/telemetry";
const FRAMES: &str = "/data/body/trace/frames";

/// Serializes `item` (scrubbed), its title cut to 255 characters, truncating it step by
/// step (as rollbar.js does) until it fits in `max_bytes`: telemetry to the last 10
/// lines, then none; frames to 30 at each end; strings to 1024, 512, 256 characters;
/// finally a minimal body. Returns the bytes and whether anything was cut.
pub(crate) fn serialize_within(item: &mut Value, max_bytes: usize) -> (Vec<u8>, bool) {
    if let Some(Value::String(title)) = item.pointer_mut("/data/title") {
        if title.chars().nth(255).is_some() {
            *title = truncate_chars(title, 255);
        }
    }
    serialize_with_steps(
        item,
        max_bytes,
        &[
            |v| keep_last(v, TELEMETRY, 10),
            drop_telemetry,
            |v| keep_ends(v, FRAMES, 30),
            |v| truncate_strings(v, 1024),
            |v| truncate_strings(v, 512),
            |v| truncate_strings(v, 256),
            min_body,
            |v| truncate_strings(v, 64),
        ],
    )
}

// === the destination ===

/// Rollbar's item API: `POST <endpoint>` with `X-Rollbar-Access-Token`.
#[derive(Debug)]
pub(crate) struct Rollbar {
    pub(crate) endpoint: String,
    pub(crate) token: AccessToken,
}

impl Protocol for Rollbar {
    fn name(&self) -> &'static str {
        "Rollbar"
    }

    fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn secret(&self) -> &AccessToken {
        &self.token
    }

    fn headers(&self) -> Vec<(String, String)> {
        vec![
            ("Content-Type".into(), "application/json".into()),
            (
                "X-Rollbar-Access-Token".into(),
                self.token.expose().to_owned(),
            ),
        ]
    }

    fn build(&self, occ: &Occurrence, settings: &PayloadSettings, id: uuid::Uuid) -> Value {
        build(occ, settings, &id.hyphenated().to_string())
    }

    fn skeleton(&self) -> &'static [&'static str] {
        SKELETON
    }

    fn serialize(&self, payload: &mut Scrubbed, max_bytes: usize) -> Vec<u8> {
        serialize_within(payload.cut(), max_bytes).0
    }

    fn rate_limit(&self, response: &Response, now: SystemTime) -> Option<RateLimit> {
        (response.status == 429).then(|| RateLimit {
            pause: Some(rate_limit_pause(response, now)),
        })
    }
}

/// How long to stop sending after a 429, from the rate-limit headers: the first of
/// `X-Rate-Limit-Remaining-Seconds` (seconds), `X-Rate-Limit-Reset` (Unix time, or
/// seconds when smaller than a day) and `Retry-After` (seconds or an HTTP-date) that
/// parses, else [`DEFAULT_RATE_LIMIT_PAUSE`]. Every number is clamped before it becomes
/// a duration (see [`network_secs`]): no header can panic the worker.
pub(crate) fn rate_limit_pause(response: &Response, now: SystemTime) -> Duration {
    let number = |name: &str| {
        response
            .header(name)
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| !v.is_nan())
    };
    if let Some(pause) = number("X-Rate-Limit-Remaining-Seconds").and_then(network_secs) {
        return pause;
    }
    if let Some(reset) = number("X-Rate-Limit-Reset") {
        const DAY: f64 = 86_400.0;
        let secs = if reset < DAY {
            reset
        } else {
            let now = now
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs_f64();
            reset - now
        };
        if let Some(pause) = network_secs(secs) {
            return pause;
        }
    }
    response
        .header("Retry-After")
        .and_then(|v| retry_after(v, now))
        .unwrap_or(DEFAULT_RATE_LIMIT_PAUSE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::occurrence::fixtures::{error_occurrence, occurrence, scrubbed, settings};
    use crate::record::FieldValue;

    /// The item the worker sends for `occ`.
    fn item(occ: &Occurrence) -> Value {
        scrubbed(build(occ, &settings(), "u"), SKELETON)
    }

    #[test]
    fn message_item_has_everything_and_no_secrets() {
        let item = item(&occurrence());
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
        assert_eq!(data["request"]["headers"]["Authorization"], "***");
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
        let item = item(&occ);
        let trace = &item["data"]["body"]["trace"];
        assert_eq!(trace["exception"]["class"], "panic");
        assert_eq!(trace["exception"]["message"], "boom");
        assert_eq!(trace["frames"][0]["filename"], "src/main.rs");
        assert_eq!(trace["frames"][0]["lineno"], 3);
        assert_eq!(trace["frames"][0]["colno"], 5);
        assert_eq!(item["data"]["level"], "critical");
        assert!(item["data"]["body"].get("message").is_none());
        assert!(!item.to_string().contains("line-tables-only"));

        // A release build's backtrace: no files. The location is the frame, and the
        // item says why there is no more.
        occ.panic.as_mut().unwrap().backtrace = Some("   0: <unknown>\n   1: main\n".into());
        let item = super::tests::item(&occ);
        let trace = &item["data"]["body"]["trace"];
        assert_eq!(trace["frames"].as_array().unwrap().len(), 1);
        assert_eq!(trace["frames"][0]["filename"], "src/main.rs");
        let description = trace["exception"]["description"].as_str().unwrap();
        assert!(
            description.contains("debug = \"line-tables-only\""),
            "{description}"
        );
    }

    #[test]
    fn error_items_carry_a_trace_chain_outermost_first_and_a_fingerprint() {
        let occ = error_occurrence();
        let sent = item(&occ);
        let data = &sent["data"];
        assert!(data["body"].get("message").is_none());
        let chain = data["body"]["trace_chain"].as_array().unwrap();
        assert_eq!(chain.len(), 2);
        assert_eq!(chain[0]["exception"]["class"], "InsertFailed");
        assert_eq!(chain[0]["exception"]["message"], "cannot insert user");
        assert_eq!(chain[0]["exception"]["description"], "user 17 not saved");
        assert_eq!(chain[0]["frames"][0]["filename"], "src/pay.rs");
        assert_eq!(chain[0]["frames"][0]["lineno"], 42);
        assert_eq!(chain[1]["exception"]["class"], "SqliteFailure");
        assert_eq!(chain[1]["frames"], json!([]));
        // The planted secret in a cause's message is scrubbed like everything else.
        assert_eq!(
            chain[1]["exception"]["message"],
            "UNIQUE constraint failed: users.id (password=***)"
        );
        assert!(!sent.to_string().contains("hunter2"));
        assert_eq!(data["title"], "user 17 not saved");
        assert_eq!(
            data["fingerprint"],
            "InsertFailed<SqliteFailure: UNIQUE constraint failed: users.id (#) at src/pay.rs:42"
        );
        // Another id from the same callsite: the same fingerprint.
        let mut other = error_occurrence();
        other.message = "user 18 not saved".into();
        assert_eq!(item(&other)["data"]["fingerprint"], data["fingerprint"]);
        // Without a message, the title is the error.
        other.message.clear();
        assert_eq!(
            item(&other)["data"]["title"],
            "InsertFailed: cannot insert user"
        );
    }

    /// The user from span fields: `person`, the email only when opted in (and scrubbed
    /// everywhere otherwise); header names as on the wire; an absolute URL.
    #[test]
    fn who_and_what() {
        let mut occ = occurrence();
        occ.spans[0].1 .0.extend([
            ("server.address", FieldValue::Str("shop.example.com".into())),
            (
                "http.request.header.user_agent",
                FieldValue::Str("curl/8".into()),
            ),
        ]);
        occ.spans[0].1 .0.retain(|(k, _)| *k != "uri");
        occ.spans[0]
            .1
             .0
            .push(("url", FieldValue::Str("/pay?x=1".into())));
        occ.spans.push((
            "user",
            crate::record::Fields(vec![
                ("user.id", FieldValue::U64(17)),
                ("user.name", FieldValue::Str("ann".into())),
                ("user.email", FieldValue::Str("ann@example.com".into())),
            ]),
        ));
        let sent = item(&occ);
        let data = &sent["data"];
        assert_eq!(data["person"], json!({ "id": "17", "username": "ann" }));
        assert!(!sent.to_string().contains("ann@example.com"), "{sent:#}");
        assert_eq!(data["request"]["url"], "http://shop.example.com/pay?x=1");
        assert_eq!(data["request"]["headers"]["User-Agent"], "curl/8");
        let mut opted_in = settings();
        opted_in.capture_email = true;
        opted_in.scrubber = crate::notify::scrub::Scrubber::new([]);
        let sent = opted_in
            .scrubber
            .scrub_payload(build(&occ, &opted_in, "u"), SKELETON)
            .get()
            .clone();
        assert_eq!(sent["data"]["person"]["email"], "ann@example.com");
    }

    /// `X-Forwarded-For` names the client only behind a trusted proxy.
    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let mut occ = occurrence();
        occ.spans[0].1 .0.push((
            "http.request.header.x_forwarded_for",
            FieldValue::Str("6.6.6.6, 203.0.113.7, 10.0.0.2".into()),
        ));
        // The socket peer (client_ip 10.0.0.9) is not trusted: it is the client.
        assert_eq!(item(&occ)["data"]["request"]["user_ip"], "10.0.0.9");
        let mut trusting = settings();
        trusting.trusted_proxies = vec![("10.0.0.0".parse().unwrap(), 8)];
        let sent = scrubbed(build(&occ, &trusting, "u"), SKELETON);
        // 10.0.0.2 is a trusted proxy too; 203.0.113.7 is the client (6.6.6.6 is
        // whatever the client claimed).
        assert_eq!(sent["data"]["request"]["user_ip"], "203.0.113.7");
        // The walk stops at the first hop that is not ours or that does not parse;
        // ports are allowed on a hop (HAProxy, Azure's front door write them).
        for (forwarded, client) in [
            ("6.6.6.6, 203.0.113.7:5050, 10.0.0.2", Some("203.0.113.7")),
            (
                "6.6.6.6, [2001:db8::7]:443, 10.0.0.2:80",
                Some("2001:db8::7"),
            ),
            ("6.6.6.6, [2001:db8::7], 10.0.0.2", Some("2001:db8::7")),
            // The forged value left of an unparseable hop is never the client.
            ("6.6.6.6, unknown, 10.0.0.2", None),
            ("6.6.6.6, 203.0.113.7 garbage", None),
            ("10.0.0.3, 10.0.0.2", None),
        ] {
            let mut occ = occurrence();
            occ.spans[0].1 .0.push((
                "http.request.header.x_forwarded_for",
                FieldValue::Str(forwarded.into()),
            ));
            let sent = scrubbed(build(&occ, &trusting, "u"), SKELETON);
            // No client found: the socket's peer stays the address.
            let expected = client.unwrap_or("10.0.0.9");
            assert_eq!(sent["data"]["request"]["user_ip"], expected, "{forwarded}");
        }
        use crate::notify::occurrence::is_trusted;
        let v6: std::net::IpAddr = "2001:db8::1".parse().unwrap();
        assert!(is_trusted(v6, &[("2001:db8::".parse().unwrap(), 32)]));
        assert!(!is_trusted(v6, &[("10.0.0.0".parse().unwrap(), 8)]));
        let mapped: std::net::IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert!(is_trusted(mapped, &[("10.0.0.0".parse().unwrap(), 8)]));
        assert!(is_trusted(v6, &[("::".parse().unwrap(), 0)]));
    }

    #[test]
    fn summaries_say_how_many() {
        let mut occ = occurrence();
        occ.repeated = Some((41, Duration::from_secs(60)));
        let item = item(&occ);
        assert_eq!(
            item["data"]["body"]["message"]["body"],
            "\"payment failed\" repeated 41 more times in 60 s"
        );
        assert_eq!(item["data"]["custom"]["repeated"], 41);
    }

    /// An error's summary names its classes, as its fingerprint does: two classes at
    /// one callsite are two summaries that say which is which.
    #[test]
    fn an_error_summary_names_its_classes_like_its_fingerprint() {
        let mut occ = error_occurrence();
        occ.repeated = Some((3, Duration::from_secs(60)));
        let sent = item(&occ);
        assert_eq!(
            sent["data"]["body"]["message"]["body"],
            "\"user 17 not saved\" (InsertFailed<SqliteFailure: UNIQUE constraint failed: users.id (#)) repeated 3 more times in 60 s"
        );
        assert_eq!(
            sent["data"]["fingerprint"],
            "InsertFailed<SqliteFailure: UNIQUE constraint failed: users.id (#) at src/pay.rs:42"
        );
        let mut panic = occurrence();
        panic.panic = Some(PanicInfo {
            message: "index out of bounds".into(),
            location: Some("src/main.rs:3:5".into()),
            ..PanicInfo::default()
        });
        panic.repeated = Some((1, Duration::from_secs(60)));
        assert_eq!(
            item(&panic)["data"]["body"]["message"]["body"],
            "\"index out of bounds\" (panic) repeated 1 more time in 60 s"
        );
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

    fn response(headers: &[(&str, &str)]) -> Response {
        Response {
            status: 429,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Response::default()
        }
    }

    #[test]
    fn rate_limit_headers() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(
            rate_limit_pause(&response(&[("x-rate-limit-remaining-seconds", "7")]), now),
            Duration::from_secs(7)
        );
        assert_eq!(
            rate_limit_pause(&response(&[("X-Rate-Limit-Reset", "1000012")]), now),
            Duration::from_secs(12)
        );
        assert_eq!(
            rate_limit_pause(&response(&[("X-Rate-Limit-Reset", "999990")]), now),
            Duration::ZERO
        );
        assert_eq!(
            rate_limit_pause(&response(&[("Retry-After", "3")]), now),
            Duration::from_secs(3)
        );
    }

    /// Whatever a 429 says, reading it never panics: huge numbers are clamped (the
    /// worker then caps them by `max_rate_limit_pause`), an HTTP-date is a date, and
    /// what does not parse is the default 60 s, not "retry at once".
    #[test]
    fn hostile_rate_limit_headers_never_panic() {
        const YEAR: Duration = crate::lifecycle::FOREVER;
        // 1994-11-06 08:49:37 UTC.
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777);
        let pause = |headers: &[(&str, &str)]| rate_limit_pause(&response(headers), now);
        assert_eq!(pause(&[("Retry-After", "1e20")]), YEAR);
        assert_eq!(pause(&[("Retry-After", "inf")]), YEAR);
        assert_eq!(pause(&[("Retry-After", "-5")]), Duration::ZERO);
        assert_eq!(pause(&[("X-Rate-Limit-Remaining-Seconds", "1e300")]), YEAR);
        assert_eq!(pause(&[("X-Rate-Limit-Reset", "1e20")]), YEAR);
        assert_eq!(pause(&[("X-Rate-Limit-Reset", "-1e20")]), Duration::ZERO);
        assert_eq!(
            pause(&[("Retry-After", "Sun, 06 Nov 1994 08:50:07 GMT")]),
            Duration::from_secs(30)
        );
        assert_eq!(
            pause(&[("Retry-After", "Sun, 06 Nov 1994 08:00:00 GMT")]),
            Duration::ZERO,
            "a date past"
        );
        for garbage in [
            "soon",
            "",
            "NaN",
            "Sun, 06 Nov 1994",
            "30 seconds",
            "\u{1F980}",
        ] {
            assert_eq!(
                pause(&[("Retry-After", garbage)]),
                DEFAULT_RATE_LIMIT_PAUSE,
                "{garbage:?}"
            );
        }
        assert_eq!(pause(&[]), DEFAULT_RATE_LIMIT_PAUSE, "a bare 429");
        // A header that does not parse gives way to the next one.
        assert_eq!(
            pause(&[
                ("X-Rate-Limit-Remaining-Seconds", "nan"),
                ("Retry-After", "4")
            ]),
            Duration::from_secs(4)
        );
    }
}
