//! [`OtlpLayer`]: OpenTelemetry logs over OTLP/HTTP (feature `otlp`), sent from the
//! crate's own thread: no async runtime, no OpenTelemetry SDK.
//!
//! [`init`](crate::init) turns it on when `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, in every mode but `test` (or in every mode
//! when [`Env::otlp_endpoint`](crate::Env::otlp_endpoint) set it in code), besides the
//! file, stdout, syslog and the notifiers: the same record, the same ids, every loss
//! counted.
//!
//! # The variables
//!
//! The standard ones of the OpenTelemetry specification; a `LOGS_` variable wins over
//! its general form. A value not understood is an init error naming the variable (a
//! header's value is never shown: it is usually a token).
//!
//! | variable | values | default |
//! |---|---|---|
//! | `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT` | the full URL of the logs endpoint | |
//! | `OTEL_EXPORTER_OTLP_ENDPOINT` | the collector's base URL; `/v1/logs` is appended | off |
//! | `OTEL_EXPORTER_OTLP_(LOGS_)HEADERS` | `name=value,name2=value2` (values percent-decoded) | none |
//! | `OTEL_EXPORTER_OTLP_(LOGS_)PROTOCOL` | `http/protobuf`, `http/json` | `http/protobuf` |
//! | `OTEL_EXPORTER_OTLP_(LOGS_)COMPRESSION` | `gzip`, `none` | `none` |
//! | `OTEL_EXPORTER_OTLP_(LOGS_)TIMEOUT` | milliseconds per request | `10000` |
//! | `OTEL_SERVICE_NAME` | the resource's `service.name` | the program's name |
//! | `OTEL_RESOURCE_ATTRIBUTES` | `key=value,key2=value2` resource attributes | none |
//!
//! # Each record
//!
//! One OTLP `LogRecord` per line, in a `ScopeLogs` whose scope is the channel:
//!
//! | OTLP | from |
//! |---|---|
//! | `time_unix_nano`, `observed_time_unix_nano` | the record's one clock reading (the time on the line) |
//! | `severity_number` | [`severity_number`]: TRACE 1, DEBUG 5, INFO 9, NOTICE 10, WARNING 13, ERROR 17, CRITICAL 21 |
//! | `severity_text` | Logbook's name: `NOTICE`, `WARNING`, `CRITICAL`... |
//! | `body` | the message (a string) |
//! | attributes | the event's fields, typed: integers as `int` (an unsigned beyond `i64` as its digits), floats as `double`, booleans as `bool`, everything else as `string` |
//! | `exception.type`, `exception.message` | the first error field (`error = &e as &dyn Error`): its type and message; `exception.chain` lists every `Type: message` of its `source()` chain when it has causes |
//! | `spans` | the enclosing spans, root first: an array of `{name, fields}` key-value lists |
//! | `code.file.path`, `code.line.number`, `thread.name` | where the event was logged, per the semantic conventions |
//! | `trace_id`, `span_id`, `flags` | with the `opentelemetry` feature, inside a span tracing-opentelemetry knows: the ids on the line, in JSON, syslog and the notification |
//!
//! The resource: `service.name` (`OTEL_SERVICE_NAME`, else one in
//! `OTEL_RESOURCE_ATTRIBUTES`, else the program's name), `host.name`, `process.pid` and
//! `OTEL_RESOURCE_ATTRIBUTES`.
//!
//! # Delivery
//!
//! The caller encodes its record (protobuf with prost's encoder, or OTLP's JSON) into
//! the same bounded queue the daily file and syslog use, and returns: it never waits
//! on the network, and when the queue is full the record is dropped and counted. The
//! thread `tracing-logbook-otlp` sends batches of at most
//! [`max_batch`](OtlpLayerBuilder::max_batch) records, gzip-compressed if asked, with
//! the HTTP client the notifiers use. Answers 429, 502, 503 and 504 and connection
//! failures are retried with backoff, honouring `Retry-After`, for at most
//! [`retry_for`](OtlpLayerBuilder::retry_for). An answer 413 (payload too large) sends
//! the request again as two halves, each in turn, down to single records; a record
//! refused on its own fails. Other answers fail the batch. A collector that takes a
//! request but rejects some of its records (`partial_success`) has them counted as
//! failed, and its message said once on stderr (sanitized: the server may be hostile).
//! Lost records (dropped or failed) are counted ([`OtlpHandle::counts`]), reported on
//! stderr once, and announced by a `WARNING` record `N records dropped` (channel
//! `tracing-logbook`) in the next batch that gets through, and by a `WARNING` line
//! `N OTLP records dropped` in the log's other outputs (file, stdout, syslog) with the
//! next record logged (at most one such line per second) and by the exporter's flush
//! and shutdown, which also say on stderr how many they announce. Fingers-crossed lines go to
//! OTLP as they go to the file. Dropping the [`Guard`](crate::Guard) sends what is
//! queued within [`SHUTDOWN_TIMEOUT`](crate::SHUTDOWN_TIMEOUT) and reports what it could
//! not.

use std::fmt;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use time::OffsetDateTime;
use tracing::Subscriber;
use tracing_subscriber::layer::Layer;
use tracing_subscriber::registry::LookupSpan;

use crate::clock::{Clock, SystemClock};
use crate::diag;
use crate::error::Error;
use crate::file::Compression;
use crate::layer::{self, Emit, Lent, Spine};
use crate::layout::otlp::{partial_success, OtlpLayout, PartialSuccess, ResourceValue};
use crate::lifecycle::Deadline;
use crate::notify::{AccessToken, Request, Transport, UreqTransport};
use crate::record::Record;
use crate::sink::spool::{Batch, Config, Output, Spool, Tally};

pub use crate::layout::otlp::{severity_number, Protocol};

/// The full URL of the logs endpoint.
pub const OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT";
/// The collector's base URL (`/v1/logs` is appended).
pub const OTEL_EXPORTER_OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// Request headers for the logs endpoint.
pub const OTEL_EXPORTER_OTLP_LOGS_HEADERS: &str = "OTEL_EXPORTER_OTLP_LOGS_HEADERS";
/// Request headers.
pub const OTEL_EXPORTER_OTLP_HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
/// The protocol for logs.
pub const OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL";
/// The protocol.
pub const OTEL_EXPORTER_OTLP_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
/// The compression for logs.
pub const OTEL_EXPORTER_OTLP_LOGS_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION";
/// The compression.
pub const OTEL_EXPORTER_OTLP_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_COMPRESSION";
/// The request timeout for logs, in milliseconds.
pub const OTEL_EXPORTER_OTLP_LOGS_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT";
/// The request timeout, in milliseconds.
pub const OTEL_EXPORTER_OTLP_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
/// The resource's `service.name`.
pub const OTEL_SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
/// More resource attributes, `key=value,key2=value2`.
pub const OTEL_RESOURCE_ATTRIBUTES: &str = "OTEL_RESOURCE_ATTRIBUTES";

/// The background thread's name.
pub const THREAD_NAME: &str = "tracing-logbook-otlp";

/// The most bytes of records one request carries (a single larger record goes alone):
/// below the 20 MiB an OpenTelemetry Collector accepts by default, large enough that
/// the per-request cost of HTTP is small against the records.
const MAX_REQUEST_BYTES: usize = 4 << 20;

/// Builds an [`OtlpLayer`].
///
/// # Default values
///
/// | setting | default |
/// |---|---|
/// | [`protocol`](Self::protocol) | [`Protocol::HttpProtobuf`] |
/// | [`compression`](Self::compression) | [`Compression::None`] |
/// | [`timeout`](Self::timeout) | 10 s per request |
/// | [`service_name`](Self::service_name) | the program's name |
/// | [`queue`](Self::queue) | 8192 records |
/// | [`max_batch`](Self::max_batch) | 8192 records (and at most 4 MiB) per request |
/// | [`retry_for`](Self::retry_for) | 30 s per batch |
///
/// Its `Debug` shows header names, never their values.
#[derive(Clone)]
#[must_use]
pub struct OtlpLayerBuilder {
    endpoint: String,
    headers: Vec<(String, String)>,
    protocol: Protocol,
    compression: Compression,
    timeout: Duration,
    service_name: Option<String>,
    resource: Vec<(String, String)>,
    queue: usize,
    max_batch: usize,
    retry_for: Duration,
    clock: Option<Arc<dyn Clock>>,
}

impl fmt::Debug for OtlpLayerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("OtlpLayerBuilder")
            .field("endpoint", &self.endpoint)
            .field("headers", &names)
            .field("protocol", &self.protocol)
            .field("compression", &self.compression)
            .field("timeout", &self.timeout)
            .field("service_name", &self.service_name)
            .field("resource", &self.resource)
            .field("queue", &self.queue)
            .field("max_batch", &self.max_batch)
            .field("retry_for", &self.retry_for)
            .finish_non_exhaustive()
    }
}

/// Checks an endpoint URL: `http://` or `https://`, a valid host and port.
fn check_endpoint(var: &'static str, url: &str) -> Result<(), Error> {
    let bad = |why: &str| {
        Error::value(
            var,
            url,
            format!("expected an http:// or https:// URL: {why}"),
        )
    };
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| bad("no http:// or https://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    crate::notify::destination::check_host_port(authority).map_err(bad)
}

/// Percent-decodes `s` (`%20` → space); `None` for a broken escape or non-UTF-8 result.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Parses `key=value,key2=value2` (W3C baggage's form, values percent-decoded).
fn parse_pairs(value: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    for item in value.split(',') {
        if item.trim().is_empty() {
            continue;
        }
        let (k, v) = item.split_once('=')?;
        let k = k.trim();
        if k.is_empty() {
            return None;
        }
        out.push((percent_decode(k)?, percent_decode(v.trim())?));
    }
    Some(out)
}

/// Parses `OTEL_RESOURCE_ATTRIBUTES`.
pub(crate) fn parse_resource(value: &str) -> Result<Vec<(String, String)>, Error> {
    parse_pairs(value).ok_or_else(|| {
        Error::value(
            OTEL_RESOURCE_ATTRIBUTES,
            value,
            "expected key=value pairs separated by commas (values percent-encoded)",
        )
    })
}

/// Parses a headers variable; the error never shows the value.
pub(crate) fn parse_headers(
    var: &'static str,
    value: &str,
) -> Result<Vec<(String, String)>, Error> {
    let bad = || {
        Error::value(
            var,
            "<redacted>",
            "expected name=value pairs separated by commas (values percent-encoded)",
        )
    };
    let pairs = parse_pairs(value).ok_or_else(bad)?;
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    let value_ok = |s: &str| s.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b));
    if pairs.iter().all(|(k, v)| token(k) && value_ok(v)) {
        Ok(pairs)
    } else {
        Err(bad())
    }
}

impl OtlpLayerBuilder {
    /// Reads the settings from `OTEL_*` variables through `lookup` (see the
    /// [module docs](self)); `None` when no endpoint is set.
    ///
    /// # Errors
    ///
    /// An [`Error`] naming the variable whose value is not understood (a header's value
    /// is shown as `<redacted>`).
    ///
    /// ```
    /// use tracing_logbook::otlp::OtlpLayerBuilder;
    ///
    /// let builder = OtlpLayerBuilder::from_lookup(|name| match name {
    ///     "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://127.0.0.1:4318".to_owned()),
    ///     "OTEL_EXPORTER_OTLP_HEADERS" => Some("authorization=Bearer%20s3cr3t".to_owned()),
    ///     _ => None,
    /// })?
    /// .unwrap();
    /// assert_eq!(builder.endpoint(), "http://127.0.0.1:4318/v1/logs");
    /// assert!(!format!("{builder:?}").contains("s3cr3t"));
    /// let err = OtlpLayerBuilder::from_lookup(|name| match name {
    ///     "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://127.0.0.1:4318".to_owned()),
    ///     "OTEL_EXPORTER_OTLP_PROTOCOL" => Some("grpc".to_owned()),
    ///     _ => None,
    /// })
    /// .unwrap_err();
    /// assert_eq!(err.var(), Some("OTEL_EXPORTER_OTLP_PROTOCOL"));
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<OtlpLayerBuilder>, Error> {
        // The logs variable if set, else the general one; with the name it came from.
        let pick = |logs: &'static str, general: &'static str| {
            lookup(logs)
                .map(|v| (logs, v))
                .or_else(|| lookup(general).map(|v| (general, v)))
        };
        let endpoint = match lookup(OTEL_EXPORTER_OTLP_LOGS_ENDPOINT) {
            Some(url) if !url.trim().is_empty() => {
                let url = url.trim().to_owned();
                check_endpoint(OTEL_EXPORTER_OTLP_LOGS_ENDPOINT, &url)?;
                url
            }
            _ => match lookup(OTEL_EXPORTER_OTLP_ENDPOINT) {
                Some(base) if !base.trim().is_empty() => {
                    let base = base.trim();
                    check_endpoint(OTEL_EXPORTER_OTLP_ENDPOINT, base)?;
                    format!("{}/v1/logs", base.trim_end_matches('/'))
                }
                _ => return Ok(None),
            },
        };
        let mut b = OtlpLayerBuilder::new(endpoint);
        if let Some((var, value)) =
            pick(OTEL_EXPORTER_OTLP_LOGS_HEADERS, OTEL_EXPORTER_OTLP_HEADERS)
        {
            b.headers = parse_headers(var, &value)?;
        }
        if let Some((var, value)) = pick(
            OTEL_EXPORTER_OTLP_LOGS_PROTOCOL,
            OTEL_EXPORTER_OTLP_PROTOCOL,
        ) {
            b.protocol = match value.trim() {
                "http/protobuf" | "" => Protocol::HttpProtobuf,
                "http/json" => Protocol::HttpJson,
                "grpc" => {
                    return Err(Error::value(
                        var,
                        value,
                        "gRPC is not supported: use http/protobuf (port 4318 of a collector) or http/json",
                    ))
                }
                _ => return Err(Error::value(var, value, "expected http/protobuf or http/json")),
            };
        }
        if let Some((var, value)) = pick(
            OTEL_EXPORTER_OTLP_LOGS_COMPRESSION,
            OTEL_EXPORTER_OTLP_COMPRESSION,
        ) {
            b.compression = match value.trim() {
                "gzip" => Compression::Gzip,
                "none" | "" => Compression::None,
                _ => return Err(Error::value(var, value, "expected gzip or none")),
            };
        }
        if let Some((var, value)) =
            pick(OTEL_EXPORTER_OTLP_LOGS_TIMEOUT, OTEL_EXPORTER_OTLP_TIMEOUT)
        {
            let ms: u64 = value
                .trim()
                .parse()
                .ok()
                .filter(|&ms| ms > 0)
                .ok_or_else(|| Error::value(var, &value, "expected a number of milliseconds"))?;
            b.timeout = Duration::from_millis(ms);
        }
        if let Some(value) = lookup(OTEL_RESOURCE_ATTRIBUTES) {
            b.resource = parse_resource(&value)?;
        }
        if let Some(name) = lookup(OTEL_SERVICE_NAME).filter(|n| !n.trim().is_empty()) {
            b.service_name = Some(name.trim().to_owned());
        }
        Ok(Some(b))
    }

    fn new(endpoint: String) -> OtlpLayerBuilder {
        OtlpLayerBuilder {
            endpoint,
            headers: Vec::new(),
            protocol: Protocol::HttpProtobuf,
            compression: Compression::None,
            timeout: Duration::from_secs(10),
            service_name: None,
            resource: Vec::new(),
            queue: 8192,
            max_batch: 8192,
            retry_for: Duration::from_secs(30),
            clock: None,
        }
    }

    /// This builder's settings with `other`'s endpoint.
    pub(crate) fn with_endpoint_of(mut self, other: OtlpLayerBuilder) -> Self {
        self.endpoint = other.endpoint;
        self
    }

    /// The URL requests go to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Adds a request header (an API key, `authorization`). Its value never appears in
    /// `Debug`, errors or diagnostics.
    ///
    /// ```
    /// let b = tracing_logbook::otlp::OtlpLayer::builder("https://otlp.example.com/v1/logs")?
    ///     .header("x-api-key", "s3cr3t");
    /// assert!(!format!("{b:?}").contains("s3cr3t"));
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the encoding of the requests.
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Compresses request bodies ([`Compression::Gzip`]: `Content-Encoding: gzip`).
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Sets how long one request may take, connecting included.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the resource's `service.name`.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// Adds a resource attribute (a string).
    pub fn resource_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.resource.push((key.into(), value.into()));
        self
    }

    /// Sets how many records may wait for the background thread; more are dropped and
    /// counted.
    pub fn queue(mut self, records: usize) -> Self {
        self.queue = records.max(1);
        self
    }

    /// Sets the most records one request carries (a request also carries at most 4 MiB
    /// of records).
    pub fn max_batch(mut self, records: usize) -> Self {
        self.max_batch = records.max(1);
        self
    }

    /// Sets how long a batch is retried (429, 502, 503, 504, no connection) before it
    /// counts as failed.
    pub fn retry_for(mut self, duration: Duration) -> Self {
        self.retry_for = duration;
        self
    }

    /// Uses `clock` instead of the system clock (for tests).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// The resource attributes, in order: `service.name`, `host.name`, `process.pid`,
    /// then `OTEL_RESOURCE_ATTRIBUTES` (but its `service.name`, which is the first's).
    fn resource_attrs(&self) -> Vec<(String, ResourceValue)> {
        let from_attrs = self
            .resource
            .iter()
            .find(|(k, _)| k == "service.name")
            .map(|(_, v)| v.clone());
        let service = self
            .service_name
            .clone()
            .or(from_attrs)
            .or_else(crate::host::program_name)
            .unwrap_or_else(|| "unknown_service".to_owned());
        let mut attrs = vec![("service.name".to_owned(), ResourceValue::Str(service))];
        if let Some(host) = crate::host::hostname() {
            attrs.push(("host.name".to_owned(), ResourceValue::Str(host)));
        }
        attrs.push((
            "process.pid".to_owned(),
            ResourceValue::Int(i64::from(std::process::id())),
        ));
        attrs.extend(
            self.resource
                .iter()
                .filter(|(k, _)| k != "service.name")
                .map(|(k, v)| (k.clone(), ResourceValue::Str(v.clone()))),
        );
        attrs
    }

    /// Starts the background thread and returns the layer and its handle. Nothing is
    /// sent until the first record; an unreachable collector costs counted, reported
    /// losses, never an error here.
    ///
    /// # Errors
    ///
    /// An [`Error`] if the background thread cannot be started.
    pub fn build(self) -> Result<(OtlpLayer, OtlpHandle), Error> {
        let layout = OtlpLayout {
            protocol: self.protocol,
        };
        let mut headers = self.headers.clone();
        headers.push(("Content-Type".into(), self.protocol.content_type().into()));
        if self.compression == Compression::Gzip {
            headers.push(("Content-Encoding".into(), "gzip".into()));
        }
        let closing = Arc::new(AtomicBool::new(false));
        let output = HttpOutput {
            layout,
            endpoint: self.endpoint.clone(),
            headers,
            gzip: self.compression == Compression::Gzip,
            transport: Box::new(UreqTransport::new(
                self.timeout.min(Duration::from_secs(10)),
                self.timeout,
            )),
            resource: layout.resource(&self.resource_attrs()),
            max_batch: self.max_batch,
            retry_for: self.retry_for,
            closing: closing.clone(),
            body: Vec::new(),
            zipped: Vec::new(),
            report: diag::Once::new(),
            secret_headers: 0..self.headers.len(),
            rejections: diag::Once::new(),
        };
        let config = Config {
            thread_name: THREAD_NAME.into(),
            label: format!("the OTLP exporter for {}", self.endpoint),
            unit: "records",
            verb: "sent",
            capacity: self.queue,
            // Never blocks the caller.
            lossy: true,
            max_wait: Duration::ZERO,
            per_record: true,
            newline: false,
            announce_failures: true,
            notice: layout.loss_notice(),
        };
        let spool = Spool::start(config, output)
            .map_err(|e| Error::io("start the OTLP thread for", self.endpoint.clone(), e))?;
        let spool = Arc::new(spool);
        let losses = Arc::new(Lender {
            announced: AtomicU64::new(0),
            announced_at: AtomicI64::new(i64::MIN),
            lent: OnceLock::new(),
        });
        let layer = OtlpLayer {
            spine: Spine::new(
                OtlpOutput {
                    spool: spool.clone(),
                    layout,
                    losses: losses.clone(),
                },
                self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                None,
            ),
        };
        let handle = OtlpHandle {
            spool,
            closing,
            losses,
            endpoint: self.endpoint,
        };
        Ok((layer, handle))
    }
}

/// A [`Layer`] sending each event as an OTLP log record (see the [module docs](self)).
///
/// # Examples
///
/// ```
/// use tracing_logbook::otlp::OtlpLayer;
/// use tracing_subscriber::prelude::*;
///
/// // A collector that answers every request with 200.
/// let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// let url = format!("http://{}/v1/logs", server.local_addr().unwrap());
/// std::thread::spawn(move || {
///     use std::io::{Read, Write};
///     for conn in server.incoming() {
///         let mut conn = conn.unwrap();
///         let mut buf = [0; 65536];
///         let _ = conn.read(&mut buf);
///         let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
///     }
/// });
/// let (layer, handle) = OtlpLayer::builder(&url)?.service_name("shop").build()?;
/// tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
///     tracing_logbook::notice!(target: "App", port = 8080, "listening");
/// });
/// assert!(handle.flush(std::time::Duration::from_secs(10)));
/// assert_eq!(handle.counts().written, 1);
/// # Ok::<(), tracing_logbook::Error>(())
/// ```
pub struct OtlpLayer {
    spine: Spine<OtlpOutput>,
}

impl OtlpLayer {
    /// A builder for the logs endpoint `url` (the full URL, `.../v1/logs`) with the
    /// [default values](OtlpLayerBuilder#default-values).
    ///
    /// # Errors
    ///
    /// An [`Error`] naming `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT` if `url` is not an
    /// `http://` or `https://` URL.
    ///
    /// ```
    /// use tracing_logbook::otlp::OtlpLayer;
    /// assert!(OtlpLayer::builder("http://127.0.0.1:4318/v1/logs").is_ok());
    /// assert!(OtlpLayer::builder("127.0.0.1:4318").is_err());
    /// ```
    pub fn builder(url: &str) -> Result<OtlpLayerBuilder, Error> {
        check_endpoint(OTEL_EXPORTER_OTLP_LOGS_ENDPOINT, url)?;
        Ok(OtlpLayerBuilder::new(url.to_owned()))
    }

    /// The layer's output, for the fan-out `init` installs.
    pub(crate) fn into_output(self) -> OtlpOutput {
        self.spine.into_output()
    }
}

impl fmt::Debug for OtlpLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpLayer")
            .field("protocol", &self.spine.output.layout.protocol)
            .finish_non_exhaustive()
    }
}

layer::output! { [] OtlpLayer; }

impl<S> Layer<S> for OtlpLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    layer::delegate_layer!(spine);
}

/// The OTLP destination: encoded records into the exporter's spool.
pub(crate) struct OtlpOutput {
    spool: Arc<Spool<HttpOutput>>,
    layout: OtlpLayout,
    losses: Arc<Lender>,
}

/// What the exporter's losses announced in the other outputs ([`Emit::take_losses`])
/// need, shared by the output and the handle (whose flush and shutdown announce the
/// last ones).
struct Lender {
    /// Losses already announced in the other outputs.
    announced: AtomicU64,
    /// The second (Unix time) of the last announcement with a record.
    announced_at: AtomicI64,
    /// The fan-out holding the output, if one does.
    lent: OnceLock<Lent>,
}

impl Lender {
    /// Takes the losses of `spool` not announced yet: at most once per second of the
    /// records' time with a record stamped `time`, all of them at the end (`None`). One
    /// caller announces each loss. Asked on every record: the record's second is worked
    /// out only when there is a loss.
    #[inline]
    fn take(&self, lost: u64, time: Option<OffsetDateTime>) -> Option<u64> {
        let announced = self.announced.load(Ordering::Relaxed);
        if lost <= announced {
            return None;
        }
        if let Some(second) = time.map(OffsetDateTime::unix_timestamp) {
            let last = self.announced_at.load(Ordering::Relaxed);
            if second == last
                || self
                    .announced_at
                    .compare_exchange(last, second, Ordering::Relaxed, Ordering::Relaxed)
                    .is_err()
            {
                return None;
            }
        }
        self.announced
            .compare_exchange(announced, lost, Ordering::Relaxed, Ordering::Relaxed)
            .ok()
            .map(|_| lost - announced)
    }
}

impl Emit for OtlpOutput {
    fn emit(&self, record: &Record<'_>) {
        with_bytes(|buf| {
            self.layout.render(record, buf);
            self.spool.push(record.time, buf);
        });
    }

    fn writes_lines(&self) -> bool {
        true
    }

    /// Records dropped or failed since the last call: announced in the other outputs,
    /// at most once per second of the records' time (a collector that cannot keep up
    /// loses records one by one: one line each would double the file), and all of
    /// them by the handle's flush and shutdown.
    fn lends_losses(&self) -> bool {
        true
    }

    #[inline]
    fn take_losses(&self, time: OffsetDateTime, last: bool) -> Option<(u64, &'static str)> {
        let lost = self.spool.dropped() + self.spool.failed();
        self.losses
            .take(lost, (!last).then_some(time))
            .map(|n| (n, "OTLP records"))
    }

    fn lend_to(&self, lent: Lent) {
        let _ = self.losses.lent.set(lent);
    }
}

/// Runs `f` with a cleared, reused per-thread byte buffer (a fresh one if re-entered).
fn with_bytes<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    crate::record::with_reused(&BUF, f)
}

/// Controls the OTLP background thread: flush, stop, counters.
///
/// Every record the layer encodes is, in the end, counted once: `written` (accepted by
/// the collector), `dropped` (the queue was full, or after shutdown) or `failed` (the
/// collector did not take it, or took the request but rejected the record). The `N
/// records dropped` notices are counted in none.
pub struct OtlpHandle {
    spool: Arc<Spool<HttpOutput>>,
    closing: Arc<AtomicBool>,
    losses: Arc<Lender>,
    endpoint: String,
}

impl fmt::Debug for OtlpHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpHandle")
            .field("counts", &self.counts())
            .finish()
    }
}

impl OtlpHandle {
    /// Records sent (`written`), dropped and failed.
    ///
    /// ```
    /// let (_layer, handle) = tracing_logbook::otlp::OtlpLayer::builder("http://127.0.0.1:9/v1/logs")?.build()?;
    /// assert_eq!(handle.counts(), tracing_logbook::Counts::default());
    /// # Ok::<(), tracing_logbook::Error>(())
    /// ```
    pub fn counts(&self) -> crate::Counts {
        crate::Counts::new(
            self.spool.written(),
            self.spool.dropped(),
            self.spool.failed(),
        )
    }

    /// Waits until every record queued so far was sent (or counted as failed); false
    /// on timeout. Then the losses not announced yet are announced: by a `WARNING` line
    /// `N OTLP records dropped` in the log's other outputs (when the layer is one output
    /// of a [`FanOut`](crate::FanOut) or of `init`), and on stderr.
    pub fn flush(&self, timeout: Duration) -> bool {
        let done = self.spool.flush(Deadline::after(timeout));
        self.announce_last();
        done
    }

    /// Flushes without retrying, then stops the thread, within `timeout`; false if the
    /// deadline passed first (a diagnostic then says how many records were not sent).
    /// The losses not announced yet are announced as [`flush`](Self::flush) does:
    /// stop this handle before the outputs that announce them (the daily file), as the
    /// [`Guard`](crate::Guard) does. Records logged afterwards are dropped and counted.
    pub fn shutdown(&self, timeout: Duration) -> bool {
        self.closing.store(true, Ordering::Relaxed);
        let done = self.spool.shutdown(timeout);
        self.announce_last();
        done
    }

    /// Announces the losses that no later record may announce (see
    /// [`flush`](Self::flush)), once each: in the other outputs, and on stderr.
    fn announce_last(&self) {
        let in_lines = self.losses.lent.get().and_then(Lent::announce_last);
        let lost = match in_lines {
            Some(n) => n,
            None => self
                .losses
                .take(self.spool.dropped() + self.spool.failed(), None)
                .unwrap_or(0),
        };
        if lost > 0 {
            diag::report(format_args!(
                "the OTLP exporter for {}: {lost} records lost since the last count (queue \
                 full, collector unreachable or refusing them){}",
                self.endpoint,
                if in_lines.is_some() {
                    "; announced in the log's other outputs"
                } else {
                    ""
                }
            ));
        }
    }
}

/// The part of `deadline` the exporter may use when the outputs that announce its last
/// losses are flushed or stopped after it (as the [`Guard`](crate::Guard) does): all but
/// half the time left, and at most 1 s of it, so that a collector that hangs never
/// leaves the daily file without time for its last lines.
fn before_the_lines(deadline: Deadline) -> Deadline {
    match deadline.remaining() {
        Some(left) => deadline.earlier(Deadline::after(
            left - (left / 2).min(Duration::from_secs(1)),
        )),
        None => deadline,
    }
}

impl crate::lifecycle::Component for OtlpHandle {
    fn flush(&self, deadline: Deadline) -> bool {
        let done = self.spool.flush(before_the_lines(deadline));
        self.announce_last();
        done
    }
    fn shutdown(&self, deadline: Deadline) -> bool {
        OtlpHandle::shutdown(self, before_the_lines(deadline).timeout())
    }
    fn undelivered(&self) -> crate::lifecycle::Undelivered {
        crate::lifecycle::Undelivered {
            lines: self.spool.backlog(),
            items: 0,
            refused: self.spool.refused(),
        }
    }
    fn close_door(&self) {
        self.spool.close_door();
    }
}

// === the background thread ===

/// The OTLP [`Output`]: wraps batches into requests and POSTs them, with retries.
struct HttpOutput {
    layout: OtlpLayout,
    endpoint: String,
    /// Every header sent (the configured ones, `Content-Type`, `Content-Encoding`).
    headers: Vec<(String, String)>,
    gzip: bool,
    transport: Box<dyn Transport>,
    /// The encoded resource.
    resource: Vec<u8>,
    max_batch: usize,
    retry_for: Duration,
    /// Set by shutdown: no more retries.
    closing: Arc<AtomicBool>,
    /// The request body and its gzip form, kept to reuse their allocations.
    body: Vec<u8>,
    zipped: Vec<u8>,
    report: diag::Once,
    /// Indexes in `headers` of the configured ones (their values are secrets).
    secret_headers: std::ops::Range<usize>,
    /// Said once: the collector rejected records of a request it took.
    rejections: diag::Once,
}

/// Whether an answer asks to send the same request again later.
fn retryable(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

impl Output for HttpOutput {
    type Key = ();

    fn key(_time: OffsetDateTime) {}

    fn start(&mut self) {
        // The HTTP client's own log output on this thread carries the headers: vetoed.
        let _ = crate::filter::client::IN_WORKER.try_with(|w| w.set(true));
    }

    fn write(&mut self, batch: &Batch<()>, tally: &Tally) {
        let segs = batch.segs();
        let mut i = 0;
        while i < segs.len() {
            // At most max_batch records and MAX_REQUEST_BYTES (but at least one record).
            let from = batch.start(i);
            let mut n = 1;
            while n < self.max_batch.min(segs.len() - i)
                && segs[i + n].end - from <= MAX_REQUEST_BYTES
            {
                n += 1;
            }
            self.deliver(batch, i..i + n, tally, 0);
            i += n;
        }
    }
}

/// How many times a request refused as too large (413) is halved, at most: a request
/// of 65,536 records is down to single ones by then.
const MAX_SPLITS: u32 = 16;

/// Why a request was not delivered.
enum Failure {
    /// 413 Payload Too Large: smaller requests may get through.
    TooLarge,
    /// Anything else, said in a diagnostic.
    Other(String),
}

impl HttpOutput {
    /// Sends the segments `range` of `batch` in one request, and counts them. A
    /// request refused as too large (413) is sent again as two halves, each in turn
    /// (at most [`MAX_SPLITS`] deep); a single record still refused is lost, counted
    /// as failed.
    fn deliver(
        &mut self,
        batch: &Batch<()>,
        range: std::ops::Range<usize>,
        tally: &Tally,
        depth: u32,
    ) {
        let chunk = &batch.segs()[range.clone()];
        let Some(last) = chunk.last() else { return };
        let records = &batch.bytes()[batch.start(range.start)..last.end];
        match self.send(records) {
            Ok(None) => {
                tally.wrote(chunk);
                if self.report.reset() {
                    diag::report(format_args!("OTLP: sending works again"));
                }
            }
            Ok(Some(partial)) => {
                let rejected = tally.wrote_but_rejected(chunk, partial.rejected);
                let message = crate::notify::server_text(&partial.message, &self.secrets());
                self.rejections.report(format_args!(
                    "OTLP: the collector at {} rejected {rejected} records of a request \
                     (counted as failed, and announced): {message:?} (said once)",
                    self.endpoint
                ));
            }
            Err(Failure::TooLarge) if chunk.len() > 1 && depth < MAX_SPLITS => {
                let half = range.start + chunk.len() / 2;
                self.deliver(batch, range.start..half, tally, depth + 1);
                self.deliver(batch, half..range.end, tally, depth + 1);
            }
            Err(failure) => {
                let lost = tally.lost(chunk);
                let why = match failure {
                    Failure::TooLarge => format!(
                        "HTTP 413: a request of {} bytes of records is too large",
                        records.len()
                    ),
                    Failure::Other(why) => why,
                };
                self.report.report(format_args!(
                    "OTLP: cannot send to {}: {why}; {lost} records lost, counted and \
                     announced in the next batch that gets through",
                    self.endpoint
                ));
            }
        }
    }

    /// The configured header values (tokens), never to be shown.
    fn secrets(&self) -> Vec<&str> {
        self.headers[self.secret_headers.clone()]
            .iter()
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// Sends one request of `records`, retrying as the module docs say. `Ok` with what
    /// the collector rejected of it, if anything (its `partial_success`).
    fn send(&mut self, records: &[u8]) -> Result<Option<PartialSuccess>, Failure> {
        self.layout.request(&self.resource, records, &mut self.body);
        if self.gzip {
            self.zipped.clear();
            let mut enc =
                flate2::write::GzEncoder::new(&mut self.zipped, flate2::Compression::fast());
            enc.write_all(&self.body)
                .and_then(|()| enc.finish().map(|_| ()))
                .map_err(|e| Failure::Other(format!("gzip: {e}")))?;
        }
        let body = if self.gzip { &self.zipped } else { &self.body };
        let token = AccessToken::new(String::new());
        let request = Request {
            endpoint: &self.endpoint,
            token: &token,
            headers: &self.headers,
            body,
        };
        let started = Instant::now();
        let mut backoff = Duration::from_millis(100);
        loop {
            let (why, pause) = match self.transport.send(&request) {
                Ok(r) if (200..300).contains(&r.status) => {
                    // The answer is encoded as the request was, unless it says otherwise.
                    let json = match r.header("content-type") {
                        Some(t) => t.trim_start().starts_with("application/json"),
                        None => self.layout.protocol == Protocol::HttpJson,
                    };
                    return Ok(partial_success(&r.body_bytes, json));
                }
                Ok(r) if r.status == 413 => return Err(Failure::TooLarge),
                Ok(r) if retryable(r.status) => {
                    let pause = r
                        .header("retry-after")
                        .and_then(|v| crate::notify::destination::retry_after(v, SystemTime::now()))
                        .unwrap_or(backoff);
                    (format!("HTTP {}", r.status), pause)
                }
                Ok(r) => return Err(Failure::Other(format!("HTTP {} (not retried)", r.status))),
                Err(e) => (e.to_string(), backoff),
            };
            if self.closing.load(Ordering::Relaxed) || started.elapsed() + pause > self.retry_for {
                return Err(Failure::Other(why));
            }
            // In slices, so that a shutdown stops the wait.
            let until = Instant::now() + pause;
            while Instant::now() < until && !self.closing.load(Ordering::Relaxed) {
                std::thread::sleep(
                    until
                        .saturating_duration_since(Instant::now())
                        .min(Duration::from_millis(20)),
                );
            }
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(vars: &[(&str, &str)]) -> Result<Option<OtlpLayerBuilder>, Error> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        OtlpLayerBuilder::from_lookup(move |name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn off_without_an_endpoint() {
        assert!(lookup(&[("OTEL_SERVICE_NAME", "x")]).unwrap().is_none());
    }

    #[test]
    fn logs_variables_win_over_general_ones() {
        let b = lookup(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "a=1"),
            (
                "OTEL_EXPORTER_OTLP_LOGS_HEADERS",
                "api-key=s%3Dcret,x-team=core",
            ),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "service.name=from-attrs,deployment.environment=prod%20eu",
            ),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(b.endpoint, "http://collector:4318/v1/logs");
        assert_eq!(b.protocol, Protocol::HttpJson);
        assert_eq!(b.compression, Compression::Gzip);
        assert_eq!(b.timeout, Duration::from_millis(2500));
        assert_eq!(
            b.headers,
            [
                ("api-key".into(), "s=cret".into()),
                ("x-team".into(), "core".into())
            ]
        );
        let attrs = b.resource_attrs();
        assert_eq!(
            attrs[0],
            (
                "service.name".into(),
                ResourceValue::Str("from-attrs".into())
            )
        );
        assert!(attrs.contains(&(
            "deployment.environment".into(),
            ResourceValue::Str("prod eu".into())
        )));
        let b = b.service_name("svc");
        assert_eq!(b.resource_attrs()[0].1, ResourceValue::Str("svc".into()));
        let full = lookup(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            (
                "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
                "https://logs.example.com/ingest",
            ),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(full.endpoint, "https://logs.example.com/ingest");
    }

    #[test]
    fn bad_values_name_their_variable_and_never_show_a_header_value() {
        for (var, value) in [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
            (
                "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
                "http://bad host/v1/logs",
            ),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "zstd"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "10s"),
            ("OTEL_RESOURCE_ATTRIBUTES", "novalue"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "s3cr3t-no-name"),
            (
                "OTEL_EXPORTER_OTLP_LOGS_HEADERS",
                "authorization=Bearer s3cr3t\u{1}",
            ),
        ] {
            let mut vars = vec![(var, value)];
            if !var.ends_with("ENDPOINT") {
                vars.push(("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"));
            }
            let err = lookup(&vars).unwrap_err();
            assert_eq!(err.var(), Some(var), "{var}");
            if var.contains("HEADERS") {
                assert!(!err.to_string().contains("s3cr3t"), "{err}");
                assert!(!format!("{err:?}").contains("s3cr3t"), "{err:?}");
            }
        }
    }

    #[test]
    fn retryable_statuses() {
        let got: Vec<u16> = (400..600).filter(|s| retryable(*s)).collect();
        assert_eq!(got, [429, 502, 503, 504]);
    }
}
