//! What the layer captures about an error (an [`Occurrence`]) and the helpers every
//! destination's payload builder shares: field values as JSON, HTTP request spans,
//! telemetry text, and size limits.

use std::net::IpAddr;
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::scrub::Scrubber;
use crate::level::Level;
use crate::record::{FieldValue, Fields};

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

/// One error of an event's error field (`error = &e as &dyn Error`), outermost first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ErrorLink {
    /// The type, as the Sentry SDK derives it from `Debug` (`ParseIntError`).
    pub(crate) class: String,
    /// Its `Display` text.
    pub(crate) message: String,
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
    /// The chain of the event's first error field, outermost first (empty: none).
    pub(crate) error: Vec<ErrorLink>,
    /// What groups it instead of the callsite: for a 5xx response line, whose callsite
    /// is the web glue's one for every route, its method, route and status.
    pub(crate) group: Option<String>,
    /// For a storm summary: how many more times, over which window.
    pub(crate) repeated: Option<(u64, Duration)>,
    /// For a storm summary: the latest repeat's fields and spans, kept as the record had
    /// them (span snapshots are shared, not copied) until the summary is sent.
    pub(crate) latest: Option<Box<Latest>>,
    /// The OpenTelemetry ids of the span the error happened in (feature `opentelemetry`).
    pub(crate) trace: Option<crate::record::otel::TraceIds>,
}

/// The latest repeat of an error, cheap to replace on every repeat (see
/// [`Occurrence::latest`]).
#[derive(Clone, Debug, Default)]
pub(crate) struct Latest {
    pub(crate) fields: crate::record::FieldList,
    pub(crate) spans: Vec<(&'static str, std::sync::Arc<crate::record::SpanData>)>,
}

impl Occurrence {
    /// The OpenTelemetry ids as `{"trace_id", "span_id"}` (W3C lower-case hex): Sentry's
    /// trace context and Rollbar's `custom` keys.
    pub(crate) fn trace_context(&self) -> Option<Map<String, Value>> {
        let (trace_id, span_id) = self.trace?.hex();
        let mut ids = Map::new();
        ids.insert("trace_id".into(), Value::String(trace_id));
        ids.insert("span_id".into(), Value::String(span_id));
        Some(ids)
    }

    /// Makes the latest repeat's fields and spans this occurrence's own (before its
    /// summary is sent).
    pub(crate) fn settle_latest(&mut self) {
        if let Some(latest) = self.latest.take() {
            self.fields = latest
                .fields
                .iter()
                .map(|(k, v)| (k, v.to_owned_value()))
                .collect();
            self.spans = latest
                .spans
                .iter()
                .map(|(name, data)| (*name, data.fields.to_fields()))
                .collect();
        }
    }
}

impl Occurrence {
    /// Where the error comes from, as `file:line` (the module or channel when the
    /// record has no file).
    pub(crate) fn callsite(&self) -> String {
        callsite(
            self.file.as_deref(),
            self.line,
            self.module.as_deref(),
            &self.channel,
        )
    }

    /// The grouping key both destinations send: the error's classes (outermost first,
    /// `message` for an event without an error) and its callsite, so that "user 17 not
    /// found" and "user 18 not found" logged at one place are one issue. The layer's
    /// dedup key is made of the same two parts ([`fingerprint_classes`], [`callsite`]),
    /// so a storm is one item plus summaries exactly when it is one issue.
    pub(crate) fn fingerprint(&self) -> [String; 2] {
        [
            fingerprint_classes(self.panic.is_some(), &self.error),
            self.group.clone().unwrap_or_else(|| self.callsite()),
        ]
    }

    /// The matched route of the innermost request span (`/users/{id}`), if any: Rollbar's
    /// `context`, Sentry's `transaction`.
    pub(crate) fn route(&self) -> Option<String> {
        self.spans.iter().rev().find_map(|(_, fields)| {
            request_json(fields, &[])?
                .get("route")
                .map(|route| match route {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
        })
    }

    /// The user, from fields named as OpenTelemetry and Sentry name them (`user.id`,
    /// `user.name` or `user.username`, `user.email`): the event's own, then its spans',
    /// innermost first. The email only with `capture_email`. `None` without an id.
    pub(crate) fn person(&self, capture_email: bool) -> Option<Person> {
        let find = |names: &[&str]| -> Option<String> {
            let own = self.fields.iter().map(|(k, v)| (*k, v));
            let spans = self.spans.iter().rev().flat_map(|(_, f)| f.iter());
            own.chain(spans)
                .find(|(k, _)| names.contains(k))
                .map(|(_, v)| v.to_text())
                .filter(|v| !v.trim().is_empty())
        };
        let id = find(&["user.id", "enduser.id"])?;
        Some(Person {
            id: truncate_chars(&id, 40),
            username: find(&["user.name", "user.username"]).map(|n| truncate_chars(&n, 255)),
            email: capture_email
                .then(|| find(&["user.email"]))
                .flatten()
                .map(|e| truncate_chars(&e, 255)),
        })
    }

    /// The title: the message's first line, or the outermost error's
    /// `Class: message` for an event logged without a message.
    pub(crate) fn title_text(&self) -> String {
        let first = self.message.lines().next().unwrap_or("").trim();
        match self.error.first() {
            Some(link) if first.is_empty() => format!("{}: {}", link.class, link.message),
            _ => first.to_owned(),
        }
    }
}

/// The first part of an occurrence's fingerprint: `panic` for a panic (whatever its
/// message); for an error, the classes of its chain outermost first and the innermost
/// cause's message with its particulars normalised away ([`cause_shape`]):
/// `AppError<Error: database is locked`, `AppError<Error: UNIQUE constraint failed:
/// users.email`; else `message`. So two different failures at one callsite (a locked
/// database and a missing table, both `rusqlite::Error`) are two issues, and the same
/// failure with other ids (`user 17 not found`, `user 18 not found`) one.
pub(crate) fn fingerprint_classes(panic: bool, error: &[ErrorLink]) -> String {
    if panic {
        return super::PANIC_CLASS.to_owned();
    }
    let Some(cause) = error.last() else {
        return "message".to_owned();
    };
    let names: Vec<&str> = error.iter().map(|l| l.class.as_str()).collect();
    let mut key = names.join("<");
    let shape = cause_shape(&cause.message);
    if !shape.is_empty() {
        key.push_str(": ");
        key.push_str(&shape);
    }
    key
}

/// How many characters of a cause's message its shape keeps.
const MAX_SHAPE: usize = 120;

/// A cause's message without its particulars: each word holding a digit (numbers, ids,
/// UUIDs, IP addresses and ports, dates) becomes `#`, each holding an `@` (e-mail
/// addresses) `@`, and each quoted value (`'...'`, `"..."`, `` `...` ``) `'?'`; at most
/// [`MAX_SHAPE`] characters, on one line. `user 17 not found` and `user 18 not found`
/// have one shape; `database is locked` and `no such table: orders` have two.
pub(crate) fn cause_shape(message: &str) -> String {
    let mut out = String::new();
    let mut chars = message.chars().peekable();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.is_empty() {
            return;
        }
        let core =
            word.trim_matches(|c: char| matches!(c, ',' | '.' | ';' | ':' | '(' | ')' | '[' | ']'));
        let (start, end) = match word.find(core) {
            Some(i) if !core.is_empty() => (i, i + core.len()),
            _ => (0, word.len()),
        };
        out.push_str(&word[..start]);
        if core.contains('@') {
            out.push('@');
        } else if core.chars().any(|c| c.is_ascii_digit()) {
            out.push('#');
        } else {
            out.push_str(core);
        }
        out.push_str(&word[end..]);
        word.clear();
    };
    while let Some(c) = chars.next() {
        if out.chars().count() >= MAX_SHAPE {
            break;
        }
        match c {
            '\'' | '"' | '`' => {
                flush(&mut word, &mut out);
                // A quoted value, up to its closing quote (or the end).
                for q in chars.by_ref() {
                    if q == c {
                        break;
                    }
                }
                out.push_str("'?'");
            }
            c if c.is_whitespace() => {
                flush(&mut word, &mut out);
                if !out.ends_with(' ') && !out.is_empty() {
                    out.push(' ');
                }
            }
            c if c.is_control() => {}
            c => word.push(c),
        }
    }
    flush(&mut word, &mut out);
    let trimmed = out.trim_end();
    trimmed.chars().take(MAX_SHAPE).collect()
}

/// The second part of an occurrence's fingerprint (unless a group replaces it): where
/// it comes from, as `file:line`, else the file, the module, or at last the channel
/// (the target). A `log` record's target can be made per request
/// (`target: &format!("req-{id}")`); its file and line are not.
pub(crate) fn callsite(
    file: Option<&str>,
    line: Option<u32>,
    module: Option<&str>,
    channel: &str,
) -> String {
    match (file, line) {
        (Some(file), Some(line)) => format!("{file}:{line}"),
        (Some(file), None) => file.to_owned(),
        _ => module.unwrap_or(channel).to_owned(),
    }
}

/// The text of a dedup summary: `"<first line>" repeated N more times in W s` (with
/// `...` inside the quotes when the message has more lines, which follow after a blank
/// line), so the title, which is the first line, is always whole. An error's or a
/// panic's summary names its classes, as its fingerprint does:
/// `"<first line>" (Outer<Inner) repeated ...`; the messages of the repeats may differ.
pub(crate) fn summary_text(occ: &Occurrence, n: u64, window: Duration) -> String {
    let message = occ.panic.as_ref().map_or(&occ.message, |p| &p.message);
    let mut lines = message.lines();
    let first = lines.next().unwrap_or("").trim();
    let first = if first.is_empty() {
        occ.title_text()
    } else {
        first.to_owned()
    };
    let more = message.trim().contains('\n');
    let [classes, _] = occ.fingerprint();
    let classes = if occ.panic.is_none() && occ.error.is_empty() {
        String::new()
    } else {
        format!(" ({classes})")
    };
    let mut text = format!(
        "\"{first}{}\"{classes} repeated {n} more time{} in {} s",
        if more { "..." } else { "" },
        if n == 1 { "" } else { "s" },
        window.as_secs()
    );
    if more {
        text.push_str("\n\n");
        text.push_str(message);
    }
    text
}

/// Who was affected: Rollbar's `person`, Sentry's `user`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Person {
    pub(crate) id: String,
    pub(crate) username: Option<String>,
    pub(crate) email: Option<String>,
}

impl Person {
    /// `{"id": ..., "username": ..., "email": ...}`, without the missing ones.
    pub(crate) fn json(&self) -> Value {
        let mut person = Map::new();
        person.insert("id".into(), json!(self.id));
        if let Some(username) = &self.username {
            person.insert("username".into(), json!(username));
        }
        if let Some(email) = &self.email {
            person.insert("email".into(), json!(email));
        }
        Value::Object(person)
    }
}

/// The settings that go into every item.
#[derive(Clone, Debug)]
pub(crate) struct PayloadSettings {
    /// Whether `user.email` is sent (otherwise it is scrubbed wherever it appears).
    pub(crate) capture_email: bool,
    /// Proxies whose `X-Forwarded-For` is believed (networks: address, prefix length).
    pub(crate) trusted_proxies: Vec<(IpAddr, u8)>,
    pub(crate) environment: String,
    pub(crate) code_version: Option<String>,
    pub(crate) host: String,
    pub(crate) scrubber: Scrubber,
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

pub(crate) fn fields_json<'a>(
    fields: impl Iterator<Item = (&'static str, &'a FieldValue)>,
) -> Value {
    let mut map = Map::new();
    for (k, v) in fields {
        map.insert(k.to_owned(), field_json(v));
    }
    Value::Object(map)
}

/// The text of a telemetry line: the message, then ` key=value` as on a Logbook line. A
/// value that is not a plain word is quoted (`%value` and `?value` too), so that the
/// scrubber, which reads `key=value` pairs in free text, finds where a secret field's
/// value ends.
pub(crate) fn telemetry_text(line: &TelemetryLine) -> String {
    let mut text = line.message.clone();
    for (name, value) in &line.fields {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(name);
        text.push('=');
        value.render(&mut text);
    }
    text
}

/// Maps the fields of a span that looks like an HTTP request onto Rollbar's `request`.
///
/// A span looks like a request when it has a method (`method`, `http.method`,
/// `http.request.method`) and a URL or path (`url`, `uri`, `path`, `target`,
/// `http.url`, `http.target`, `url.full`, `url.path`).
///
/// The client address (`user_ip`) is the socket's (`client.address`); when that is one
/// of the `trusted` proxies (networks as address and prefix length), it is the
/// right-most address of `X-Forwarded-For` that is not a trusted proxy.
pub(crate) fn request_json(fields: &Fields, trusted: &[(IpAddr, u8)]) -> Option<Value> {
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
            "server.address" | "host" => "host",
            "url.scheme" | "scheme" => "scheme",
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
            headers.insert(header_name(header), Value::String(value.to_text()));
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
    // A relative URL (a server's request target) made absolute when the host is known.
    let host = request
        .remove("host")
        .or_else(|| headers.get("Host").cloned())
        .and_then(|h| h.as_str().map(str::to_owned));
    let scheme = request
        .remove("scheme")
        .or_else(|| headers.get("X-Forwarded-Proto").cloned())
        .and_then(|s| s.as_str().map(str::to_owned))
        .filter(|s| s == "http" || s == "https")
        .unwrap_or_else(|| "http".to_owned());
    if let (Some(host), Some(Value::String(url))) = (host, request.get_mut("url")) {
        let valid_host = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b));
        if url.starts_with('/') && valid_host {
            *url = format!("{scheme}://{host}{url}");
        }
    }
    if let Some(client) = forwarded_client(&request, &headers, trusted) {
        request.insert("user_ip".to_owned(), Value::String(client));
    }
    if !headers.is_empty() {
        request.insert("headers".to_owned(), Value::Object(headers));
    }
    Some(Value::Object(request))
}

/// Whether `ip` is in one of the `trusted` networks.
pub(crate) fn is_trusted(ip: IpAddr, trusted: &[(IpAddr, u8)]) -> bool {
    let bits = |ip: IpAddr| -> (u128, u8) {
        match ip {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => (u128::from(u32::from(v4)), 32),
                None => (u128::from(v6), 128),
            },
        }
    };
    let (addr, width) = bits(ip);
    trusted.iter().any(|&(net, prefix)| {
        let (net, net_width) = bits(net);
        if net_width != width {
            return false;
        }
        let prefix = u32::from(prefix.min(width));
        let shift = u32::from(width) - prefix;
        prefix == 0 || (addr >> shift) == (net >> shift)
    })
}

/// The client behind trusted proxies (see [`request_json`]), if the socket's peer is one.
fn forwarded_client(
    request: &Map<String, Value>,
    headers: &Map<String, Value>,
    trusted: &[(IpAddr, u8)],
) -> Option<String> {
    let peer: IpAddr = request.get("user_ip")?.as_str()?.parse().ok()?;
    if trusted.is_empty() || !is_trusted(peer, trusted) {
        return None;
    }
    let forwarded = headers.get("X-Forwarded-For")?.as_str()?;
    // From the right, past our own proxies; the first hop that is not one of them is
    // the client, and a hop that does not parse ends the walk: whatever is left of it
    // was written by someone we do not trust.
    for hop in forwarded.rsplit(',').map(str::trim) {
        let hop = parse_hop(hop)?;
        if !is_trusted(hop, trusted) {
            return Some(hop.to_string());
        }
    }
    None
}

/// One hop of `X-Forwarded-For`: an address, with a port or not (`203.0.113.7`,
/// `203.0.113.7:5050`, `2001:db8::1`, `[2001:db8::1]:5050`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    hop.parse::<std::net::SocketAddr>()
        .ok()
        .map(|a| a.ip())
        .or_else(|| {
            // `[v6]` without a port.
            hop.strip_prefix('[')?
                .strip_suffix(']')?
                .parse::<std::net::Ipv6Addr>()
                .ok()
                .map(IpAddr::V6)
        })
}

/// A header's name as sent on the wire, from a field name's last part:
/// `user_agent` is `User-Agent`, `x_forwarded_for` is `X-Forwarded-For`.
fn header_name(field: &str) -> String {
    let mut name = String::with_capacity(field.len());
    let mut upper = true;
    for c in field.chars() {
        match c {
            '_' | '-' => {
                name.push('-');
                upper = true;
            }
            c if upper => {
                name.extend(c.to_uppercase());
                upper = false;
            }
            c => name.push(c),
        }
    }
    name
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

pub(crate) fn truncate_strings(value: &mut Value, max: usize) {
    match value {
        Value::String(s) if s.len() > max => *s = truncate_chars(s, max),
        Value::Array(items) => items.iter_mut().for_each(|v| truncate_strings(v, max)),
        Value::Object(map) => map.values_mut().for_each(|v| truncate_strings(v, max)),
        _ => {}
    }
}

/// Keeps the first and last `each_end` elements of the array at `pointer`.
pub(crate) fn keep_ends(item: &mut Value, pointer: &str, each_end: usize) {
    if let Some(Value::Array(items)) = item.pointer_mut(pointer) {
        if items.len() > 2 * each_end {
            let tail = items.split_off(items.len() - each_end);
            items.truncate(each_end);
            items.extend(tail);
        }
    }
}

/// Keeps the last `last` elements of the array at `pointer` (the newest lines).
pub(crate) fn keep_last(item: &mut Value, pointer: &str, last: usize) {
    if let Some(Value::Array(items)) = item.pointer_mut(pointer) {
        if items.len() > last {
            items.drain(..items.len() - last);
        }
    }
}

/// Serializes `item`, applying `steps` one by one until it fits in `max_bytes`.
/// Returns the bytes and whether anything was cut.
pub(crate) fn serialize_with_steps(
    item: &mut Value,
    max_bytes: usize,
    steps: &[fn(&mut Value)],
) -> (Vec<u8>, bool) {
    let mut bytes = serde_json::to_vec(item).unwrap_or_default();
    let mut cut = false;
    for step in steps {
        if bytes.len() <= max_bytes {
            break;
        }
        step(item);
        cut = true;
        bytes = serde_json::to_vec(item).unwrap_or_default();
    }
    (bytes, cut)
}

/// One occurrence and payload settings shared by the destinations' payload tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;
    use crate::notify::scrub::Scrubber;
    use crate::record::{FieldValue, Fields};

    pub(crate) fn occurrence() -> Occurrence {
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
                    ("client_ip", FieldValue::Str("10.0.0.9".into())),
                    (
                        "headers.authorization",
                        FieldValue::Str("Bearer xyz".into()),
                    ),
                ]),
            )],
            telemetry: vec![TelemetryLine {
                level: Level::Notice,
                timestamp_ms: 1_795_462_463_000,
                channel: "shop".into(),
                message: "login".into(),
                fields: vec![("secret", FieldValue::Str("s3".into()))],
            }],
            panic: None,
            error: Vec::new(),
            group: None,
            repeated: None,
            latest: None,
            trace: None,
        }
    }

    /// An error event: "cannot insert user" caused by a constraint violation whose
    /// message carries a planted secret.
    pub(crate) fn error_occurrence() -> Occurrence {
        let mut occ = occurrence();
        occ.message = "user 17 not saved".into();
        occ.error = vec![
            ErrorLink {
                class: "InsertFailed".into(),
                message: "cannot insert user".into(),
            },
            ErrorLink {
                class: "SqliteFailure".into(),
                message: "UNIQUE constraint failed: users.id (password=hunter2)".into(),
            },
        ];
        occ
    }

    /// What the worker sends for `payload` (a destination's `build`), scrubbed as a
    /// notifier without `capture_email` scrubs.
    pub(crate) fn scrubbed(payload: Value, skeleton: &[&str]) -> Value {
        Scrubber::new(["user.email"])
            .scrub_payload(payload, skeleton)
            .get()
            .clone()
    }

    pub(crate) fn settings() -> PayloadSettings {
        PayloadSettings {
            capture_email: false,
            trusted_proxies: Vec::new(),
            environment: "production".into(),
            code_version: Some("1.2.3".into()),
            host: "web-1".into(),
            scrubber: Scrubber::new([]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_s_shape_keeps_what_failed_and_drops_its_particulars() {
        for (message, shape) in [
            ("database is locked", "database is locked"),
            ("no such table: orders", "no such table: orders"),
            (
                "UNIQUE constraint failed: users.email",
                "UNIQUE constraint failed: users.email",
            ),
            ("user 17 not found", "user # not found"),
            ("user 18 not found", "user # not found"),
            ("row id=42, code 1555.", "row #, code #."),
            ("connect to 10.0.0.7:5432 refused", "connect to # refused"),
            ("no user 'ann' (ann@example.com)", "no user '?' (@)"),
            (
                "order 9f1c2e4a-1b7d-4c0e-9a6b-2f3e4d5c6b7a missing",
                "order # missing",
            ),
            ("two\nlines\tand  spaces", "two lines and spaces"),
            ("", ""),
        ] {
            assert_eq!(cause_shape(message), shape, "{message:?}");
        }
        assert!(cause_shape(&"x ".repeat(500)).chars().count() <= MAX_SHAPE);
    }

    #[test]
    fn the_fingerprint_names_the_innermost_cause_s_shape() {
        let chain = |messages: &[(&str, &str)]| -> Vec<ErrorLink> {
            messages
                .iter()
                .map(|(class, message)| ErrorLink {
                    class: (*class).into(),
                    message: (*message).into(),
                })
                .collect()
        };
        let locked = chain(&[
            ("AppError", "database error"),
            ("Error", "database is locked"),
        ]);
        let missing = chain(&[
            ("AppError", "database error"),
            ("Error", "no such table: x"),
        ]);
        assert_eq!(
            fingerprint_classes(false, &locked),
            "AppError<Error: database is locked"
        );
        assert_ne!(
            fingerprint_classes(false, &locked),
            fingerprint_classes(false, &missing)
        );
        assert_eq!(
            fingerprint_classes(false, &chain(&[("NotFound", "user 17 not found")])),
            fingerprint_classes(false, &chain(&[("NotFound", "user 18 not found")]))
        );
        assert_eq!(fingerprint_classes(true, &locked), "panic");
        assert_eq!(fingerprint_classes(false, &[]), "message");
    }
}
