//! The Sentry destination: events in envelopes (`POST /api/<project>/envelope/`) for
//! Sentry and the trackers that speak its protocol (GlitchTip, Bugsink, ...).

use std::fmt;
use std::time::{Duration, SystemTime};

use serde_json::{json, Map, Value};

use super::backtrace;
use super::destination::{parse_secs, retry_after, Protocol, RateLimit, DEFAULT_RATE_LIMIT_PAUSE};
use super::occurrence::{
    field_json, keep_ends, keep_last, request_json, serialize_with_steps, summary_text,
    truncate_chars, truncate_strings, Occurrence, PayloadSettings,
};
use super::rollbar::{NOTIFIER_NAME, PANIC_CLASS};
use super::scrub::{query_start, Scrubbed};
use super::transport::{AccessToken, Response};
use crate::error::Error;
use crate::level::Level;

/// Enables the Sentry destination: the project's DSN,
/// `https://<public key>@<host>/<project id>`.
pub const SENTRY_DSN: &str = "SENTRY_DSN";
/// The release sent with every event (default: none).
pub const SENTRY_RELEASE: &str = "SENTRY_RELEASE";
/// The Sentry environment (default: the mode, e.g. `production`).
pub const SENTRY_ENVIRONMENT: &str = "SENTRY_ENVIRONMENT";

/// A parsed Sentry DSN: `{scheme}://{public_key}[:{secret}]@{host}[:{port}][/{path}]/{project_id}`.
///
/// Its `Debug` and `Display` show the DSN with the key replaced by `<redacted>`.
///
/// # Examples
///
/// ```
/// use tracing_logbook::notify::Dsn;
///
/// let dsn = Dsn::parse("https://abc123@o1.ingest.example.com/42").unwrap();
/// assert_eq!(dsn.project_id(), "42");
/// assert_eq!(dsn.envelope_url(), "https://o1.ingest.example.com/api/42/envelope/");
/// assert_eq!(dsn.to_string(), "https://<redacted>@o1.ingest.example.com/42");
///
/// let err = Dsn::parse("https://o1.ingest.example.com/42").unwrap_err();
/// assert_eq!(err.var(), Some("SENTRY_DSN"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Dsn {
    scheme: String,
    key: AccessToken,
    host: String,
    path: String,
    project_id: String,
}

/// `dsn` with its userinfo (the key, and a legacy secret) replaced by `<redacted>`; all
/// of it when it does not look like a URL.
fn redact_dsn(dsn: &str) -> String {
    match dsn.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            match rest[..authority_end].rsplit_once('@') {
                Some((_, host)) => {
                    format!("{scheme}://<redacted>@{host}{}", &rest[authority_end..])
                }
                None => dsn.to_owned(),
            }
        }
        None if dsn.is_empty() => String::new(),
        None => "<redacted>".to_owned(),
    }
}

impl Dsn {
    /// Parses a DSN.
    ///
    /// # Errors
    ///
    /// An [`Error`] naming [`SENTRY_DSN`], with the key redacted from the value shown,
    /// when `dsn` is not an `http://` or `https://` URL with a key, a valid host (and
    /// port from 1 to 65535) and a numeric project id.
    ///
    /// ```
    /// use tracing_logbook::notify::Dsn;
    /// let dsn = Dsn::parse("https://0123abcd@sentry.example.com/7")?;
    /// assert_eq!(dsn.project_id(), "7");
    /// assert!(Dsn::parse("https://sentry.example.com/7").is_err()); // no key
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn parse(dsn: &str) -> Result<Dsn, Error> {
        let invalid = |why: &str| {
            Error::value(
                SENTRY_DSN,
                redact_dsn(dsn),
                format!(
                    "expected a DSN such as https://<public key>@o0.ingest.sentry.io/<project id> ({why})"
                ),
            )
        };
        if dsn.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("it contains spaces or control characters"));
        }
        let (scheme, rest) = dsn
            .split_once("://")
            .ok_or_else(|| invalid("no http:// or https://"))?;
        if scheme != "http" && scheme != "https" {
            return Err(invalid("the scheme is not http or https"));
        }
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (userinfo, host) = rest[..authority_end]
            .rsplit_once('@')
            .ok_or_else(|| invalid("no public key before the host"))?;
        let key = userinfo.split(':').next().unwrap_or("");
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(invalid("the public key is missing or not alphanumeric"));
        }
        super::destination::check_host_port(host).map_err(invalid)?;
        let path = &rest[authority_end..];
        if path.contains(['?', '#']) {
            return Err(invalid("it has a query or fragment"));
        }
        let path = path.trim_end_matches('/');
        let (prefix, project_id) = path.rsplit_once('/').unwrap_or(("", ""));
        if project_id.is_empty() || !project_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("the path does not end with a numeric project id"));
        }
        Ok(Dsn {
            scheme: scheme.to_owned(),
            key: AccessToken::new(key),
            host: host.to_owned(),
            path: prefix.to_owned(),
            project_id: project_id.to_owned(),
        })
    }

    /// The project id (the DSN's last path segment).
    ///
    /// ```
    /// let dsn = tracing_logbook::notify::Dsn::parse("https://k@o1.ingest.example.com/42")?;
    /// assert_eq!(dsn.project_id(), "42");
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn project_id(&self) -> &str {
        &self.project_id
    }

    /// The public key, which authenticates the events.
    pub fn public_key(&self) -> &AccessToken {
        &self.key
    }

    /// Where events are sent: `{scheme}://{host}{path}/api/{project_id}/envelope/`.
    ///
    /// ```
    /// let dsn = tracing_logbook::notify::Dsn::parse("https://k@sentry.example.com/7")?;
    /// assert_eq!(dsn.envelope_url(), "https://sentry.example.com/api/7/envelope/");
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn envelope_url(&self) -> String {
        format!(
            "{}://{}{}/api/{}/envelope/",
            self.scheme, self.host, self.path, self.project_id
        )
    }
}

impl fmt::Display for Dsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://<redacted>@{}{}/{}",
            self.scheme, self.host, self.path, self.project_id
        )
    }
}

impl fmt::Debug for Dsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dsn({self})")
    }
}

/// The `X-Sentry-Auth` header's value for `key`.
pub(crate) fn auth_header(key: &AccessToken) -> String {
    format!(
        "Sentry sentry_version=7, sentry_key={}, sentry_client={NOTIFIER_NAME}/{}",
        key.expose(),
        env!("CARGO_PKG_VERSION")
    )
}

/// Sentry's level name for a Logbook level.
pub(crate) fn sentry_level(level: Level) -> &'static str {
    match level {
        Level::Critical => "fatal",
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Info | Level::Notice => "info",
        Level::Debug | Level::Trace => "debug",
    }
}

fn seconds(timestamp_ms: u64) -> Value {
    json!(timestamp_ms as f64 / 1000.0)
}

fn frame_json(frame: &backtrace::Frame) -> Value {
    let mut f = Map::new();
    f.insert("function".into(), json!(frame.method));
    if let Some(file) = &frame.filename {
        f.insert("filename".into(), json!(file));
        if file.starts_with('/') {
            f.insert("abs_path".into(), json!(file));
        }
    }
    if let Some(line) = frame.lineno {
        f.insert("lineno".into(), json!(line));
    }
    if let Some(col) = frame.colno {
        f.insert("colno".into(), json!(col));
    }
    f.insert("in_app".into(), json!(backtrace::in_app(frame)));
    Value::Object(f)
}

/// Sentry's `request` from the fields of an HTTP request span. The URL is split where
/// the scrubber sees its query start (after the userinfo, whose password may hold a `?`),
/// so that the scrubber finds the password in `url` and the parameters in
/// `query_string`.
fn request(fields: &crate::record::Fields, trusted: &[(std::net::IpAddr, u8)]) -> Option<Value> {
    let Value::Object(mut r) = request_json(fields, trusted)? else {
        return None;
    };
    let mut out = Map::new();
    for key in ["method", "headers"] {
        if let Some(v) = r.remove(key) {
            out.insert(key.into(), v);
        }
    }
    let mut query = r.remove("query_string");
    if let Some(Value::String(url)) = r.remove("url") {
        match query_start(&url) {
            Some(i) => {
                out.insert("url".into(), json!(url[..i]));
                if query.is_none() {
                    query = Some(json!(url[i + 1..]));
                }
            }
            None => {
                out.insert("url".into(), json!(url));
            }
        }
    }
    if let Some(q) = query {
        out.insert("query_string".into(), json!(q));
    }
    r.remove("path");
    let mut env = Map::new();
    if let Some(ip) = r.remove("user_ip") {
        env.insert("REMOTE_ADDR".into(), ip);
    }
    for (k, v) in r {
        let text = match v {
            Value::String(s) => s,
            other => other.to_string(),
        };
        env.insert(k, Value::String(text));
    }
    if !env.is_empty() {
        out.insert("env".into(), Value::Object(env));
    }
    Some(Value::Object(out))
}

fn exception(occ: &Occurrence, panic: &super::occurrence::PanicInfo) -> Value {
    let (frames, useful) =
        backtrace::panic_trace(panic.backtrace.as_deref(), panic.location.as_deref());
    let frames: Vec<Value> = frames
        .iter()
        .map(|frame| {
            let mut json = frame_json(frame);
            if !useful {
                // The panic's own location: the application's.
                json["in_app"] = json!(true);
            }
            json
        })
        .collect();
    let mut value = json!({
        "type": PANIC_CLASS,
        "value": panic.message,
        "mechanism": { "type": "panic", "handled": false },
        "stacktrace": { "frames": frames },
    });
    if !useful && panic.backtrace.as_deref().is_some_and(|b| b.contains(": ")) {
        value["mechanism"]["description"] = json!(backtrace::NO_LINE_TABLES);
    }
    if let Some(thread) = panic.thread.as_deref().or(occ.thread.as_deref()) {
        value["thread_id"] = json!(thread);
    }
    json!({ "values": [value] })
}

/// An event with an error field: Sentry's `exception.values`, root cause first and the
/// outermost error (the one logged) last, as the Sentry SDK orders a `source()` chain;
/// the outermost carries the callsite as its one frame.
fn error_exception(occ: &Occurrence) -> Value {
    let values: Vec<Value> = occ
        .error
        .iter()
        .enumerate()
        .rev()
        .map(|(i, link)| {
            let mut value = json!({
                "type": link.class,
                "value": link.message,
                "mechanism": { "type": "tracing", "handled": true },
            });
            if i == 0 {
                if let Some(file) = &occ.file {
                    let mut frame = json!({ "filename": file, "in_app": true });
                    if let Some(line) = occ.line {
                        frame["lineno"] = json!(line);
                    }
                    if let Some(module) = &occ.module {
                        frame["function"] = json!(module);
                        frame["module"] = json!(module);
                    }
                    value["stacktrace"] = json!({ "frames": [frame] });
                }
            }
            value
        })
        .collect();
    json!({ "values": values })
}

/// The keys of the event's own structure: a scrub name never replaces them wholesale
/// (see [`Scrubber::scrub_payload`](super::scrub::Scrubber::scrub_payload)).
pub(crate) const SKELETON: &[&str] = &[
    "/event_id",
    "/timestamp",
    "/platform",
    "/level",
    "/logger",
    "/server_name",
    "/transaction",
    "/environment",
    "/release",
    "/sdk",
    "/sdk/name",
    "/sdk/version",
    "/exception",
    "/exception/values",
    "/exception/values/*/type",
    "/exception/values/*/value",
    "/exception/values/*/mechanism",
    "/exception/values/*/mechanism/type",
    "/exception/values/*/mechanism/handled",
    "/exception/values/*/mechanism/description",
    "/exception/values/*/stacktrace",
    "/exception/values/*/stacktrace/frames",
    "/exception/values/*/stacktrace/frames/*/function",
    "/exception/values/*/stacktrace/frames/*/filename",
    "/exception/values/*/stacktrace/frames/*/abs_path",
    "/exception/values/*/stacktrace/frames/*/lineno",
    "/exception/values/*/stacktrace/frames/*/colno",
    "/exception/values/*/stacktrace/frames/*/in_app",
    "/exception/values/*/stacktrace/frames/*/module",
    "/fingerprint",
    "/exception/values/*/thread_id",
    "/logentry",
    "/logentry/formatted",
    "/tags",
    "/tags/channel",
    "/tags/thread",
    "/extra",
    "/extra/repeated",
    "/extra/window_secs",
    "/contexts",
    "/contexts/os",
    "/contexts/os/type",
    "/contexts/os/name",
    "/contexts/callsite",
    "/contexts/callsite/file",
    "/contexts/callsite/line",
    "/contexts/callsite/module",
    "/contexts/*/depth",
    "/contexts/trace",
    "/contexts/trace/type",
    "/contexts/trace/trace_id",
    "/contexts/trace/span_id",
    "/request",
    "/request/headers",
    "/user",
    "/user/id",
    "/user/username",
    "/user/email",
    "/request/env",
    "/breadcrumbs",
    "/breadcrumbs/values",
    "/breadcrumbs/values/*/timestamp",
    "/breadcrumbs/values/*/type",
    "/breadcrumbs/values/*/category",
    "/breadcrumbs/values/*/level",
    "/breadcrumbs/values/*/message",
    "/breadcrumbs/values/*/data",
];

/// The complete event for `occ`, not scrubbed: the worker scrubs it whole
/// ([`payload`](super::destination::payload)).
pub(crate) fn build(occ: &Occurrence, settings: &PayloadSettings, event_id: &str) -> Value {
    let mut event = Map::new();
    event.insert("event_id".into(), json!(event_id));
    event.insert("timestamp".into(), seconds(occ.timestamp_ms));
    event.insert("platform".into(), json!("native"));
    event.insert("level".into(), json!(sentry_level(occ.level)));
    if !occ.channel.is_empty() {
        event.insert("logger".into(), json!(occ.channel));
    }
    event.insert("server_name".into(), json!(settings.host));
    if let Some(route) = occ.route() {
        event.insert("transaction".into(), json!(route));
    }
    event.insert("environment".into(), json!(settings.environment));
    if let Some(release) = &settings.code_version {
        event.insert("release".into(), json!(release));
    }
    event.insert(
        "sdk".into(),
        json!({ "name": NOTIFIER_NAME, "version": env!("CARGO_PKG_VERSION") }),
    );
    match (&occ.panic, occ.repeated) {
        (Some(panic), None) => {
            event.insert("exception".into(), exception(occ, panic));
        }
        (_, Some((n, window))) => {
            let text = summary_text(occ, n, window);
            event.insert("logentry".into(), json!({ "formatted": text }));
        }
        (None, None) => {
            if !occ.error.is_empty() {
                event.insert("exception".into(), error_exception(occ));
            }
            if !occ.message.is_empty() || occ.error.is_empty() {
                event.insert("logentry".into(), json!({ "formatted": occ.message }));
            }
        }
    }
    event.insert("fingerprint".into(), json!(occ.fingerprint()));

    let mut tags = Map::new();
    if !occ.channel.is_empty() {
        tags.insert("channel".into(), json!(occ.channel));
    }
    if let Some(thread) = &occ.thread {
        tags.insert("thread".into(), json!(thread));
    }
    event.insert("tags".into(), Value::Object(tags));

    let mut extra = Map::new();
    for (name, value) in &occ.fields {
        extra.insert((*name).to_owned(), field_json(value));
    }
    if let Some((n, window)) = occ.repeated {
        extra.insert("repeated".into(), json!(n));
        extra.insert("window_secs".into(), json!(window.as_secs()));
    }
    event.insert("extra".into(), Value::Object(extra));

    let mut contexts = Map::new();
    contexts.insert(
        "os".into(),
        json!({ "type": "os", "name": std::env::consts::OS }),
    );
    let mut callsite = Map::new();
    if let Some(file) = &occ.file {
        callsite.insert("file".into(), json!(file));
    }
    if let Some(line) = occ.line {
        callsite.insert("line".into(), json!(line));
    }
    if let Some(module) = &occ.module {
        callsite.insert("module".into(), json!(module));
    }
    if !callsite.is_empty() {
        contexts.insert("callsite".into(), Value::Object(callsite));
    }
    for (i, (name, fields)) in occ.spans.iter().enumerate() {
        let mut key = format!("span {name}");
        if contexts.contains_key(&key) {
            key = format!("span {name} #{i}");
        }
        let mut ctx = Map::new();
        ctx.insert("depth".into(), json!(i));
        for (k, v) in fields.iter() {
            ctx.insert(k.to_owned(), field_json(v));
        }
        contexts.insert(key, Value::Object(ctx));
    }
    if let Some(mut trace) = occ.trace_context() {
        trace.insert("type".into(), json!("trace"));
        contexts.insert("trace".into(), Value::Object(trace));
    }
    event.insert("contexts".into(), Value::Object(contexts));

    if let Some(request) = occ
        .spans
        .iter()
        .rev()
        .find_map(|(_, f)| request(f, &settings.trusted_proxies))
    {
        event.insert("request".into(), request);
    }
    if let Some(person) = occ.person(settings.capture_email) {
        event.insert("user".into(), person.json());
    }

    if !occ.telemetry.is_empty() {
        let crumbs: Vec<Value> = occ
            .telemetry
            .iter()
            .map(|line| {
                let mut crumb = json!({
                    "timestamp": seconds(line.timestamp_ms),
                    "type": "default",
                    "category": line.channel,
                    "level": sentry_level(line.level),
                    "message": line.message,
                });
                if !line.fields.is_empty() {
                    let mut data = Map::new();
                    for (k, v) in &line.fields {
                        data.insert((*k).to_owned(), field_json(v));
                    }
                    crumb["data"] = Value::Object(data);
                }
                crumb
            })
            .collect();
        event.insert("breadcrumbs".into(), json!({ "values": crumbs }));
    }

    Value::Object(event)
}

// === size ===

const BREADCRUMBS: &str = "/breadcrumbs/values";
const FRAMES: &str = "/exception/values/0/stacktrace/frames";

fn drop_breadcrumbs(event: &mut Value) {
    if let Some(map) = event.as_object_mut() {
        map.remove("breadcrumbs");
    }
}

fn min_event(event: &mut Value) {
    keep_ends(event, FRAMES, 1);
    if let Some(Value::String(m)) = event.pointer_mut("/logentry/formatted") {
        *m = truncate_chars(m, 1024);
    }
    if let Some(Value::String(m)) = event.pointer_mut("/exception/values/0/value") {
        *m = truncate_chars(m, 255);
    }
    if let Some(map) = event.as_object_mut() {
        map.insert("extra".into(), json!({ "truncated": true }));
        map.remove("contexts");
        map.remove("request");
    }
}

/// The event (scrubbed) serialized within `max_bytes` (breadcrumbs to the last 10, then none;
/// frames to 30 at each end; strings to 1024, 512, 256 characters; a minimal event),
/// wrapped in an envelope.
pub(crate) fn envelope(event: &mut Value, max_bytes: usize) -> Vec<u8> {
    let (payload, _) = serialize_with_steps(
        event,
        max_bytes,
        &[
            |v| keep_last(v, BREADCRUMBS, 10),
            drop_breadcrumbs,
            |v| keep_ends(v, FRAMES, 30),
            |v| truncate_strings(v, 1024),
            |v| truncate_strings(v, 512),
            |v| truncate_strings(v, 256),
            min_event,
            |v| truncate_strings(v, 64),
        ],
    );
    let header = json!({
        "event_id": event.get("event_id").cloned().unwrap_or(Value::Null),
        "sdk": { "name": NOTIFIER_NAME, "version": env!("CARGO_PKG_VERSION") },
    });
    let item = json!({
        "type": "event",
        "length": payload.len(),
        "content_type": "application/json",
    });
    let mut out = Vec::with_capacity(payload.len() + 200);
    out.extend_from_slice(header.to_string().as_bytes());
    out.push(b'\n');
    out.extend_from_slice(item.to_string().as_bytes());
    out.push(b'\n');
    out.extend_from_slice(&payload);
    out.push(b'\n');
    out
}

// === rate limits ===

/// The pause `X-Sentry-Rate-Limits` asks for events: the longest `retry_after` of the
/// limits whose categories are empty (all) or include `error` or `default`.
/// `retry_after:categories:scope[:reason[:namespaces]]`, comma-separated.
pub(crate) fn sentry_rate_limits(header: &str) -> Option<Duration> {
    header
        .split(',')
        .filter_map(|limit| {
            let mut parts = limit.trim().split(':');
            // Clamped: `1e20` must not panic the worker (the worker's
            // `max_rate_limit_pause` then caps it).
            let pause = parse_secs(parts.next()?)?;
            let categories = parts.next().unwrap_or("").trim();
            let applies = categories.is_empty()
                || categories
                    .split(';')
                    .any(|c| matches!(c.trim(), "error" | "default"));
            applies.then_some(pause)
        })
        .max()
}

/// Sentry's item API: envelopes authenticated with `X-Sentry-Auth`.
#[derive(Debug)]
pub(crate) struct Sentry {
    pub(crate) endpoint: String,
    pub(crate) key: AccessToken,
}

impl Protocol for Sentry {
    fn name(&self) -> &'static str {
        "Sentry"
    }

    fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn secret(&self) -> &AccessToken {
        &self.key
    }

    fn headers(&self) -> Vec<(String, String)> {
        vec![
            (
                "Content-Type".into(),
                "application/x-sentry-envelope".into(),
            ),
            ("X-Sentry-Auth".into(), auth_header(&self.key)),
        ]
    }

    fn build(&self, occ: &Occurrence, settings: &PayloadSettings, id: uuid::Uuid) -> Value {
        build(occ, settings, &id.simple().to_string())
    }

    fn skeleton(&self) -> &'static [&'static str] {
        SKELETON
    }

    fn serialize(&self, payload: &mut Scrubbed, max_bytes: usize) -> Vec<u8> {
        envelope(payload.cut(), max_bytes)
    }

    /// The event: the envelope's last line.
    fn preview<'a>(&self, body: &'a [u8]) -> &'a [u8] {
        body.strip_suffix(b"\n")
            .unwrap_or(body)
            .rsplit(|b| *b == b'\n')
            .next()
            .unwrap_or(body)
    }

    /// Three lines (envelope header, item header, event), each one JSON document.
    fn valid_body(&self, body: &[u8]) -> bool {
        let Some(body) = body.strip_suffix(b"\n") else {
            return false;
        };
        let lines: Vec<&[u8]> = body.split(|b| *b == b'\n').collect();
        lines.len() == 3
            && lines
                .iter()
                .all(|l| serde_json::from_slice::<Value>(l).is_ok())
    }

    /// `X-Sentry-Rate-Limits` (on any status) first; on a 429 without it,
    /// `Retry-After` (seconds or an HTTP-date), else [`DEFAULT_RATE_LIMIT_PAUSE`].
    fn rate_limit(&self, response: &Response, now: SystemTime) -> Option<RateLimit> {
        if let Some(pause) = response
            .header("X-Sentry-Rate-Limits")
            .and_then(sentry_rate_limits)
        {
            return Some(RateLimit { pause: Some(pause) });
        }
        if response.status != 429 {
            return None;
        }
        let pause = response
            .header("Retry-After")
            .and_then(|v| retry_after(v, now))
            .unwrap_or(DEFAULT_RATE_LIMIT_PAUSE);
        Some(RateLimit { pause: Some(pause) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::occurrence::fixtures::{error_occurrence, occurrence, scrubbed, settings};
    use crate::notify::occurrence::PanicInfo;

    /// The event the worker sends for `occ`.
    fn sent(occ: &Occurrence) -> Value {
        scrubbed(build(occ, &settings(), "e1"), SKELETON)
    }

    #[test]
    fn dsns() {
        let dsn = Dsn::parse("http://0123abcd@127.0.0.1:9000/sub/path/7/").unwrap();
        assert_eq!(
            dsn.envelope_url(),
            "http://127.0.0.1:9000/sub/path/api/7/envelope/"
        );
        assert_eq!(dsn.public_key().expose(), "0123abcd");
        assert!(!format!("{dsn:?}").contains("0123abcd"));
        let legacy = Dsn::parse("https://pub:sec@h/1").unwrap();
        assert_eq!(legacy.public_key().expose(), "pub");
        for bad in [
            "",
            "0123abcd",
            "ftp://k@h/1",
            "https://h/1",
            "https://k@/1",
            "https://k@h",
            "https://k@h/abc",
            "https://k@h/1?x=1",
            "https://k y@h/1",
            "https://k@h:99999/1",
            "https://k@h:0/1",
            "https://k@bad..host/1",
            "https://k@h:x/1",
            "https://k@[::1/1",
        ] {
            let err = Dsn::parse(bad).unwrap_err();
            assert_eq!(err.var(), Some(SENTRY_DSN), "{bad}");
            let text = err.to_string();
            assert!(
                !text.contains("0123abcd") && !text.contains("k y"),
                "{text}"
            );
        }
        assert_eq!(
            redact_dsn("https://secretkey@h/x"),
            "https://<redacted>@h/x"
        );
    }

    #[test]
    fn error_event_has_everything_and_no_secrets() {
        let event = sent(&occurrence());
        assert_eq!(event["level"], "error");
        assert_eq!(event["logger"], "shop::pay");
        assert_eq!(event["logentry"]["formatted"], "payment failed");
        assert_eq!(event["platform"], "native");
        assert_eq!(event["server_name"], "web-1");
        assert_eq!(event["release"], "1.2.3");
        assert_eq!(event["environment"], "production");
        assert_eq!(event["timestamp"], 1_795_462_463.123);
        assert_eq!(event["extra"]["order"], 7);
        assert_eq!(event["extra"]["password"], "***");
        assert_eq!(event["tags"]["channel"], "shop::pay");
        assert_eq!(event["contexts"]["span request"]["method"], "POST");
        let request = &event["request"];
        assert_eq!(request["method"], "POST");
        assert_eq!(request["url"], "https://u:***@shop/pay");
        assert_eq!(request["query_string"], "token=***&x=1");
        assert_eq!(request["headers"]["Authorization"], "***");
        assert_eq!(request["env"]["REMOTE_ADDR"], "10.0.0.9");
        assert_eq!(request["env"]["status_code"], "500");
        let crumb = &event["breadcrumbs"]["values"][0];
        assert_eq!(crumb["message"], "login");
        assert_eq!(crumb["level"], "info");
        assert_eq!(crumb["category"], "shop");
        assert_eq!(crumb["data"]["secret"], "***");
        let text = event.to_string();
        for secret in ["hunter2", "xyz", "abc", "s3\""] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }

    #[test]
    fn error_events_carry_the_chain_root_cause_first_and_a_fingerprint() {
        let event = sent(&error_occurrence());
        let values = event["exception"]["values"].as_array().unwrap();
        assert_eq!(values.len(), 2);
        assert_eq!(values[0]["type"], "SqliteFailure");
        assert_eq!(
            values[0]["value"],
            "UNIQUE constraint failed: users.id (password=***)"
        );
        assert_eq!(values[1]["type"], "InsertFailed");
        assert_eq!(values[1]["value"], "cannot insert user");
        assert_eq!(values[1]["mechanism"]["handled"], true);
        let frame = &values[1]["stacktrace"]["frames"][0];
        assert_eq!(frame["filename"], "src/pay.rs");
        assert_eq!(frame["lineno"], 42);
        assert_eq!(frame["in_app"], true);
        assert_eq!(event["logentry"]["formatted"], "user 17 not saved");
        assert_eq!(
            event["fingerprint"],
            json!([
                "InsertFailed<SqliteFailure: UNIQUE constraint failed: users.id (#)",
                "src/pay.rs:42"
            ])
        );
        assert!(!event.to_string().contains("hunter2"));
    }

    #[test]
    fn levels() {
        let names: Vec<_> = [
            Level::Critical,
            Level::Error,
            Level::Warning,
            Level::Notice,
            Level::Info,
            Level::Debug,
            Level::Trace,
        ]
        .into_iter()
        .map(sentry_level)
        .collect();
        assert_eq!(
            names,
            ["fatal", "error", "warning", "info", "info", "debug", "debug"]
        );
    }

    #[test]
    fn panic_event_has_an_exception_with_frames_oldest_first() {
        let mut occ = occurrence();
        occ.level = Level::Critical;
        occ.panic = Some(PanicInfo {
            message: "boom".into(),
            location: Some("src/main.rs:10:5".into()),
            thread: Some("main".into()),
            backtrace: Some(
                "   0: std::panicking::rust_panic_with_hook\n   1: core::panicking::panic_fmt\n   2: my_app::handler\n             at ./src/main.rs:10:5\n   3: my_app::main\n             at ./src/main.rs:4:5\n   4: core::ops::function::FnOnce::call_once\n             at /rustc/abc/library/core/src/ops/function.rs:250:5\n   5: std::sys::backtrace::__rust_begin_short_backtrace\n"
                    .into(),
            ),
        });
        let event = sent(&occ);
        assert_eq!(event["level"], "fatal");
        assert!(event.get("logentry").is_none());
        let exc = &event["exception"]["values"][0];
        assert_eq!(exc["type"], "panic");
        assert_eq!(exc["value"], "boom");
        assert_eq!(exc["mechanism"]["handled"], false);
        let frames = exc["stacktrace"]["frames"].as_array().unwrap();
        let functions: Vec<_> = frames
            .iter()
            .map(|f| f["function"].as_str().unwrap())
            .collect();
        assert_eq!(
            functions,
            [
                "core::ops::function::FnOnce::call_once",
                "my_app::main",
                "my_app::handler"
            ]
        );
        assert_eq!(frames[0]["in_app"], false);
        assert_eq!(frames[2]["in_app"], true);
        assert_eq!(frames[2]["filename"], "./src/main.rs");
        assert_eq!(frames[2]["lineno"], 10);

        occ.panic.as_mut().unwrap().backtrace = Some("disabled backtrace".into());
        let event = sent(&occ);
        let frame = &event["exception"]["values"][0]["stacktrace"]["frames"][0];
        assert_eq!(frame["filename"], "src/main.rs");
        assert_eq!(frame["in_app"], true);
    }

    #[test]
    fn envelopes_have_three_lines_and_fit() {
        let mut occ = occurrence();
        occ.message = "x".repeat(700 * 1024);
        occ.telemetry = vec![occ.telemetry[0].clone(); 500];
        let mut event = build(&occ, &settings(), "0123456789abcdef0123456789abcdef");
        let bytes = envelope(&mut event, 512 * 1024);
        let text = String::from_utf8(bytes).unwrap();
        let lines: Vec<&str> = text.trim_end().split('\n').collect();
        assert_eq!(lines.len(), 3);
        let header: Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(header["event_id"], "0123456789abcdef0123456789abcdef");
        let item: Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(item["type"], "event");
        assert_eq!(item["length"], lines[2].len());
        assert!(lines[2].len() <= 512 * 1024);
        let event: Value = serde_json::from_str(lines[2]).unwrap();
        assert!(event["breadcrumbs"].is_null());
    }

    #[test]
    fn rate_limit_headers() {
        assert_eq!(
            sentry_rate_limits("60:transaction:key, 2700:default;error;security:organization"),
            Some(Duration::from_secs(2700))
        );
        assert_eq!(
            sentry_rate_limits("30::organization"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(sentry_rate_limits("60:transaction:key"), None);
        assert_eq!(sentry_rate_limits("soon"), None);
        // Hostile numbers are clamped to a year (then capped by the worker), never a
        // panic: this one on a 200 killed the delivery thread.
        const YEAR: Duration = crate::lifecycle::FOREVER;
        assert_eq!(sentry_rate_limits("1e20::organization"), Some(YEAR));
        assert_eq!(sentry_rate_limits("inf:error:project"), Some(YEAR));
        assert_eq!(sentry_rate_limits("-3::key"), Some(Duration::ZERO));
        assert_eq!(
            sentry_rate_limits("nan::key, 5:error:key"),
            Some(Duration::from_secs(5))
        );
        let sentry = Sentry {
            endpoint: String::new(),
            key: AccessToken::new("k"),
        };
        let now = SystemTime::now();
        let mut r = Response::status(429);
        assert_eq!(
            sentry.rate_limit(&r, now),
            Some(RateLimit {
                pause: Some(DEFAULT_RATE_LIMIT_PAUSE)
            })
        );
        r.headers.push(("retry-after".into(), "7".into()));
        assert_eq!(
            sentry.rate_limit(&r, now).unwrap().pause,
            Some(Duration::from_secs(7))
        );
        r.headers[0].1 = "1e20".into();
        assert_eq!(
            sentry.rate_limit(&r, now).unwrap().pause,
            Some(crate::lifecycle::FOREVER),
            "clamped, not a panic"
        );
        r.headers[0].1 = "soon".into();
        assert_eq!(
            sentry.rate_limit(&r, now).unwrap().pause,
            Some(DEFAULT_RATE_LIMIT_PAUSE)
        );
        let in_90s = time::OffsetDateTime::from(now) + time::Duration::seconds(90);
        r.headers[0].1 = in_90s
            .format(&time::format_description::well_known::Rfc2822)
            .unwrap();
        let pause = sentry.rate_limit(&r, now).unwrap().pause.unwrap();
        assert!(
            pause > Duration::from_secs(88) && pause <= Duration::from_secs(90),
            "{pause:?} for {}",
            r.headers[0].1
        );
        let mut ok = Response::status(200);
        assert_eq!(sentry.rate_limit(&ok, now), None);
        ok.headers
            .push(("X-Sentry-Rate-Limits".into(), "5:error:project".into()));
        assert_eq!(
            sentry.classify(&ok, now),
            super::super::destination::Verdict::Accepted(Some(Duration::from_secs(5)))
        );
    }
}
