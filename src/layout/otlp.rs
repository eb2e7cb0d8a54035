//! OTLP logs (feature `otlp`): a [`Record`] as one OpenTelemetry `LogRecord`, in
//! protobuf (`http/protobuf`) or in OTLP's JSON mapping (`http/json`), and the
//! `ExportLogsServiceRequest` around a batch of them. Pure: bytes in, bytes out; what
//! each attribute means is on [`OtlpLayer`](crate::otlp::OtlpLayer).
//!
//! Each record is rendered on the calling thread as one whole `ScopeLogs` entry of a
//! `ResourceLogs` (its channel as the scope, the record as its one log record): in
//! protobuf the entry with its field key and length, in JSON the object and a comma.
//! A batch is then those entries back to back, and the writer thread wraps them once
//! with the resource ([`OtlpLayout::request`]) without parsing anything: repeated
//! fields of protobuf concatenate.
//!
//! Protobuf is written with prost's wire-format primitives (the encoder of
//! opentelemetry-proto's generated types) straight into the reused buffer: no message
//! structs, no allocation per record. The field numbers are those of
//! `opentelemetry/proto/logs/v1/logs.proto` and `common/v1/common.proto`; the tests
//! decode the result with the OpenTelemetry project's own Python package.

use std::cell::RefCell;
use std::fmt::Write as _;

use prost::encoding::{encode_key, encode_varint, encoded_len_varint, WireType};
use time::OffsetDateTime;

use crate::level::Level;
use crate::record::text;
use crate::record::{FieldList, Record, SpanText, Value};

/// How a request's body is encoded (`OTEL_EXPORTER_OTLP_PROTOCOL`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Protocol {
    /// `http/protobuf`: binary protobuf, `Content-Type: application/x-protobuf`.
    #[default]
    HttpProtobuf,
    /// `http/json`: OTLP's JSON mapping, `Content-Type: application/json`.
    HttpJson,
}

impl Protocol {
    /// The value of `OTEL_EXPORTER_OTLP_PROTOCOL` for this protocol.
    ///
    /// ```
    /// use tracing_logbook::otlp::Protocol;
    /// assert_eq!(Protocol::HttpJson.as_str(), "http/json");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Protocol::HttpProtobuf => "http/protobuf",
            Protocol::HttpJson => "http/json",
        }
    }

    /// The request's `Content-Type`.
    pub(crate) const fn content_type(self) -> &'static str {
        match self {
            Protocol::HttpProtobuf => "application/x-protobuf",
            Protocol::HttpJson => "application/json",
        }
    }
}

/// OpenTelemetry's `severity_number` of a Logbook level: the first number of the
/// matching range (TRACE 1, DEBUG 5, INFO 9, ERROR 17, FATAL 21), with NOTICE as INFO2
/// (10), WARNING as WARN (13) and CRITICAL as FATAL (21).
///
/// ```
/// use tracing_logbook::{otlp::severity_number, Level};
/// assert_eq!(severity_number(Level::Notice), 10);
/// assert_eq!(severity_number(Level::Critical), 21);
/// ```
pub const fn severity_number(level: Level) -> u8 {
    match level {
        Level::Trace => 1,
        Level::Debug => 5,
        Level::Info => 9,
        Level::Notice => 10,
        Level::Warning => 13,
        Level::Error => 17,
        Level::Critical => 21,
    }
}

/// The OTLP renderer of one protocol.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OtlpLayout {
    pub(crate) protocol: Protocol,
}

/// A resource attribute's value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ResourceValue {
    Str(String),
    Int(i64),
}

impl OtlpLayout {
    /// Appends `record` as one `ScopeLogs` entry (see the module docs).
    pub(crate) fn render(&self, record: &Record<'_>, out: &mut Vec<u8>) {
        match self.protocol {
            Protocol::HttpProtobuf => proto::scope_logs(out, record),
            Protocol::HttpJson => json::scope_logs(out, record),
        }
    }

    /// The `Resource` message (protobuf: its content; JSON: the object) of `attrs`.
    pub(crate) fn resource(&self, attrs: &[(String, ResourceValue)]) -> Vec<u8> {
        let mut out = Vec::new();
        match self.protocol {
            Protocol::HttpProtobuf => {
                for (key, value) in attrs {
                    proto::nested(&mut out, 1, |out| {
                        proto::string(out, 1, key);
                        proto::nested(out, 2, |out| match value {
                            ResourceValue::Str(s) => proto::string(out, 1, s),
                            ResourceValue::Int(v) => proto::varint(out, 3, *v as u64),
                        });
                    });
                }
            }
            Protocol::HttpJson => {
                let mut s = String::from("{\"attributes\":[");
                for (i, (key, value)) in attrs.iter().enumerate() {
                    if i > 0 {
                        s.push(',');
                    }
                    match value {
                        ResourceValue::Str(v) => json::attr(&mut s, key, Value::Str(v)),
                        ResourceValue::Int(v) => json::attr(&mut s, key, Value::I64(*v)),
                    }
                }
                s.push_str("]}");
                out.extend_from_slice(s.as_bytes());
            }
        }
        out
    }

    /// Replaces `out` with the `ExportLogsServiceRequest` of one `ResourceLogs`: the
    /// `resource` (from [`resource`](Self::resource)) and the rendered `records`.
    pub(crate) fn request(&self, resource: &[u8], records: &[u8], out: &mut Vec<u8>) {
        out.clear();
        match self.protocol {
            Protocol::HttpProtobuf => {
                let resource_field = 1 + encoded_len_varint(resource.len() as u64) + resource.len();
                encode_key(1, WireType::LengthDelimited, out);
                encode_varint((resource_field + records.len()) as u64, out);
                encode_key(1, WireType::LengthDelimited, out);
                encode_varint(resource.len() as u64, out);
                out.extend_from_slice(resource);
                out.extend_from_slice(records);
            }
            Protocol::HttpJson => {
                out.extend_from_slice(b"{\"resourceLogs\":[{\"resource\":");
                out.extend_from_slice(resource);
                out.extend_from_slice(b",\"scopeLogs\":[");
                // Each entry ends in a comma: all but the last one's are separators.
                out.extend_from_slice(records.strip_suffix(b",").unwrap_or(records));
                out.extend_from_slice(b"]}]}");
            }
        }
    }

    /// How lost records are announced: a `WARNING` record from `tracing-logbook`,
    /// `N records dropped`, rendered as any other.
    pub(crate) fn loss_notice(self) -> crate::sink::spool::Notice {
        std::sync::Arc::new(move |time: OffsetDateTime, lost: u64, out: &mut Vec<u8>| {
            super::with_loss_record(time, lost, "records", |record| self.render(record, out));
        })
    }
}

/// What an `ExportLogsServiceResponse` says of records the collector rejected (its
/// `partial_success`): how many, and its message (raw: the caller sanitizes it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PartialSuccess {
    pub(crate) rejected: u64,
    pub(crate) message: String,
}

/// Reads the `partial_success` of a response `body`, JSON if `json`, else protobuf;
/// `None` when it rejected nothing, or when the body is not such a response (an empty
/// body is a full success; a proxy's page is not a collector's answer). Never panics:
/// the body is the server's.
pub(crate) fn partial_success(body: &[u8], json: bool) -> Option<PartialSuccess> {
    let partial = if json {
        partial_success_json(body)?
    } else {
        partial_success_proto(body)?
    };
    (partial.rejected > 0).then_some(partial)
}

/// `ExportLogsServiceResponse { partial_success (1): { rejected_log_records (1):
/// int64, error_message (2): string } }`, unknown fields skipped.
fn partial_success_proto(mut body: &[u8]) -> Option<PartialSuccess> {
    use prost::encoding::{decode_key, decode_varint, skip_field, DecodeContext};
    let mut found = None;
    while !body.is_empty() {
        let (tag, wire) = decode_key(&mut body).ok()?;
        if tag == 1 && wire == WireType::LengthDelimited {
            let len = usize::try_from(decode_varint(&mut body).ok()?).ok()?;
            let mut msg = body.get(..len)?;
            body = &body[len..];
            let mut partial = PartialSuccess::default();
            while !msg.is_empty() {
                let (tag, wire) = decode_key(&mut msg).ok()?;
                match (tag, wire) {
                    (1, WireType::Varint) => {
                        // int64: a negative count rejects nothing.
                        let v = decode_varint(&mut msg).ok()? as i64;
                        partial.rejected = u64::try_from(v).unwrap_or(0);
                    }
                    (2, WireType::LengthDelimited) => {
                        let len = usize::try_from(decode_varint(&mut msg).ok()?).ok()?;
                        let text = msg.get(..len)?;
                        partial.message = String::from_utf8_lossy(text).into_owned();
                        msg = &msg[len..];
                    }
                    _ => skip_field(wire, tag, &mut msg, DecodeContext::default()).ok()?,
                }
            }
            found = Some(partial);
        } else {
            skip_field(wire, tag, &mut body, DecodeContext::default()).ok()?;
        }
    }
    Some(found.unwrap_or_default())
}

/// `{"partialSuccess": {"rejectedLogRecords": "3", "errorMessage": "..."}}` (the
/// count as a string or a number; the proto names accepted too).
fn partial_success_json(body: &[u8]) -> Option<PartialSuccess> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Some(PartialSuccess::default());
    }
    let doc: serde_json::Value = serde_json::from_slice(body).ok()?;
    let Some(partial) = doc
        .get("partialSuccess")
        .or_else(|| doc.get("partial_success"))
    else {
        return Some(PartialSuccess::default());
    };
    let field = |camel: &str, snake: &str| partial.get(camel).or_else(|| partial.get(snake));
    let rejected = match field("rejectedLogRecords", "rejected_log_records") {
        Some(serde_json::Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(v) => v.as_i64(),
        None => Some(0),
    }?;
    let message = field("errorMessage", "error_message")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
        .to_owned();
    Some(PartialSuccess {
        rejected: u64::try_from(rejected).unwrap_or(0),
        message,
    })
}

/// Nanoseconds since the Unix epoch (0 before it).
///
/// The Unix second of the record's day is kept per thread: the day of a record is
/// that of the one before, but for one record a day, and working it out (a Julian day)
/// costs more than the rest.
#[inline]
fn unix_nanos(t: OffsetDateTime) -> u64 {
    thread_local! {
        static DAY: std::cell::Cell<(time::Date, i64)> =
            const { std::cell::Cell::new((time::Date::MIN, 0)) };
    }
    let date = t.date();
    let midnight = |date: time::Date| date.midnight().assume_utc().unix_timestamp();
    let day = DAY
        .try_with(|day| match day.get() {
            (d, secs) if d == date => secs,
            _ => {
                let secs = midnight(date);
                day.set((date, secs));
                secs
            }
        })
        .unwrap_or_else(|_| midnight(date));
    let secs =
        day + i64::from(t.hour()) * 3600 + i64::from(t.minute()) * 60 + i64::from(t.second())
            - i64::from(t.offset().whole_seconds());
    u64::try_from(i128::from(secs) * 1_000_000_000 + i128::from(t.nanosecond())).unwrap_or(0)
}

/// `a == b`, for the short strings of a callsite (its target, its file) without a call
/// to `memcmp` up to 32 bytes.
#[inline(always)]
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let w8 = |s: &[u8], at: usize| {
        s.get(at..at + 8)
            .map(|w| u64::from_ne_bytes(w.try_into().unwrap_or([0; 8])))
    };
    let w4 = |s: &[u8], at: usize| {
        s.get(at..at + 4)
            .map(|w| u32::from_ne_bytes(w.try_into().unwrap_or([0; 4])))
    };
    match n {
        4..=7 => w4(a, 0) == w4(b, 0) && w4(a, n - 4) == w4(b, n - 4),
        8..=16 => w8(a, 0) == w8(b, 0) && w8(a, n - 8) == w8(b, n - 8),
        17..=32 => {
            w8(a, 0) == w8(b, 0)
                && w8(a, 8) == w8(b, 8)
                && w8(a, n - 16) == w8(b, n - 16)
                && w8(a, n - 8) == w8(b, n - 8)
        }
        _ => a == b,
    }
}

/// The current thread's name (or its id, `ThreadId(3)`), cached per thread.
fn with_thread_name<R>(f: impl FnOnce(&str) -> R) -> R {
    thread_local! {
        static NAME: RefCell<Option<String>> = const { RefCell::new(None) };
    }
    let name = || {
        let t = std::thread::current();
        t.name()
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{:?}", t.id()))
    };
    let mut f = Some(f);
    let got = NAME.try_with(|cell| {
        let mut cell = cell.try_borrow_mut().ok()?;
        let name = cell.get_or_insert_with(name);
        Some((f.take()?)(name))
    });
    match (got, f) {
        (Ok(Some(r)), _) => r,
        (_, Some(f)) => f(&name()),
        (_, None) => unreachable!("the closure ran without a result"),
    }
}

/// The attributes every record has besides its fields, in this order: the error's
/// `exception.*`, the spans, `code.file.path`, `code.line.number`, `thread.name`.
/// Written by both encodings through this one walk (generic: no call through a
/// vtable per attribute).
trait Attrs {
    fn value(&mut self, key: &str, value: Value<'_>);
    fn strings(&mut self, key: &str, values: &mut dyn Iterator<Item = String>);
    fn spans(&mut self, record: &Record<'_>);
}

fn walk_attrs<A: Attrs>(record: &Record<'_>, a: &mut A) {
    walk_own_attrs(record, a);
    walk_site_attrs(record, a);
}

/// The attributes of the event itself: its fields, its error, its spans.
#[inline]
fn walk_own_attrs<A: Attrs>(record: &Record<'_>, a: &mut A) {
    for (name, value) in record.fields.iter() {
        a.value(name, value);
    }
    if let Some((_, chain)) = record.fields.error_chain() {
        if let Some(first) = chain.first() {
            a.value("exception.type", Value::Str(first.class));
            a.value("exception.message", Value::Str(first.message));
        }
        if chain.len() > 1 {
            a.strings(
                "exception.chain",
                &mut chain.iter().map(|l| format!("{}: {}", l.class, l.message)),
            );
        }
    }
    if !record.spans.is_empty() {
        a.spans(record);
    }
}

/// The attributes of the callsite and thread: `code.*`, `thread.name`.
fn walk_site_attrs<A: Attrs>(record: &Record<'_>, a: &mut A) {
    if let Some(file) = record.file {
        a.value("code.file.path", Value::Str(file));
    }
    if let Some(line) = record.line {
        a.value("code.line.number", Value::I64(i64::from(line)));
    }
    with_thread_name(|name| a.value("thread.name", Value::Str(name)));
}

mod proto {
    //! Protobuf, field by field, straight into the buffer. Lengths that are known
    //! beforehand (a string, a `KeyValue` of a scalar) are written first; a nested
    //! message of unknown length gets the room its length usually takes, and is moved
    //! only in the rare case the length needs another size.

    use super::*;

    /// The bytes of `v` as a varint.
    #[inline]
    pub(super) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push(v as u8 | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    /// The length of `field`'s key plus a length-delimited content of `len` bytes.
    #[inline]
    fn delimited_len(field: u32, len: usize) -> usize {
        encoded_len_varint(u64::from(field << 3)) + encoded_len_varint(len as u64) + len
    }

    #[inline]
    pub(super) fn key(out: &mut Vec<u8>, field: u32, wire: WireType) {
        put_varint(out, u64::from(field << 3 | wire as u32));
    }

    #[inline]
    pub(super) fn string(out: &mut Vec<u8>, field: u32, s: &str) {
        bytes(out, field, s.as_bytes());
    }

    #[inline]
    pub(super) fn bytes(out: &mut Vec<u8>, field: u32, b: &[u8]) {
        key(out, field, WireType::LengthDelimited);
        put_varint(out, b.len() as u64);
        out.extend_from_slice(b);
    }

    #[inline]
    pub(super) fn varint(out: &mut Vec<u8>, field: u32, v: u64) {
        key(out, field, WireType::Varint);
        put_varint(out, v);
    }

    #[inline]
    pub(super) fn fixed32(out: &mut Vec<u8>, field: u32, v: u32) {
        key(out, field, WireType::ThirtyTwoBit);
        out.extend_from_slice(&v.to_le_bytes());
    }

    /// A length-delimited field whose content `f` writes, expected to be under 128
    /// bytes (one byte of length).
    #[inline]
    pub(super) fn nested(out: &mut Vec<u8>, field: u32, f: impl FnOnce(&mut Vec<u8>)) {
        nested_in(out, field, 1, f);
    }

    /// A length-delimited field whose content `f` writes, with `room` bytes kept for
    /// its length (2: under 16 KiB). The content moves only when its length takes
    /// another number of bytes.
    #[inline]
    pub(super) fn nested_in(
        out: &mut Vec<u8>,
        field: u32,
        room: usize,
        f: impl FnOnce(&mut Vec<u8>),
    ) {
        key(out, field, WireType::LengthDelimited);
        let at = out.len();
        out.extend_from_slice(&[0u8; 10][..room]);
        f(out);
        close(out, at, room);
    }

    /// Writes the length of the content from `at + room` to the end into the `room`
    /// bytes at `at`, moving the content when its length takes another number of bytes.
    #[inline]
    fn close(out: &mut Vec<u8>, at: usize, room: usize) {
        let len = out.len() - (at + room);
        if room == 2 && (128..1 << 14).contains(&len) {
            // The usual case of a record: two bytes, the room as it was kept.
            if let Some([lo, hi]) = out.get_mut(at..at + 2) {
                *lo = len as u8 | 0x80;
                *hi = (len >> 7) as u8;
            }
        } else {
            close_moving(out, at, room);
        }
    }

    /// [`close`] when the length needs more or fewer bytes than `room`.
    #[cold]
    #[inline(never)]
    fn close_moving(out: &mut Vec<u8>, at: usize, room: usize) {
        let start = at + room;
        let end = out.len();
        let len = (end - start) as u64;
        let n = encoded_len_varint(len);
        if n > room {
            out.resize(end + n - room, 0);
            out.copy_within(start..end, at + n);
        } else if n < room {
            out.copy_within(start..end, at + n);
            out.truncate(end - (room - n));
        }
        // The length, in the room now exactly its size.
        let mut v = len;
        for b in &mut out[at..at + n] {
            *b = v as u8 | 0x80;
            v >>= 7;
        }
        out[at + n - 1] &= 0x7f;
    }

    /// Where [`append`] writes: a pointer into a `Vec<u8>`'s spare capacity, moved on
    /// by each write. Every write is checked against the end of that capacity (one
    /// comparison); a write that does not fit is skipped and marks the run as over, and
    /// [`append`] then runs it again with more room. So the room its callers reserve is
    /// an estimate for speed, never a promise memory safety rests on.
    pub(super) struct Cursor {
        p: *mut u8,
        end: *mut u8,
        /// A write did not fit.
        over: bool,
    }

    impl Cursor {
        /// Whether `n` more bytes fit. When they do not, the run is over: nothing more
        /// fits (`end` comes down to `p`), and [`append`] runs it again with more room.
        #[inline(always)]
        fn fits(&mut self, n: usize) -> bool {
            // `p <= end` always: `p` moves only by writes that fit.
            if (self.end as usize) - (self.p as usize) >= n {
                return true;
            }
            self.end = self.p;
            self.over = true;
            false
        }

        #[inline(always)]
        pub(super) fn byte(&mut self, b: u8) {
            if self.fits(1) {
                // SAFETY: `fits` found a byte of spare capacity at `p`.
                unsafe {
                    self.p.write(b);
                    self.p = self.p.add(1);
                }
            }
        }

        #[inline(always)]
        pub(super) fn varint(&mut self, mut v: u64) {
            while v >= 0x80 {
                self.byte(v as u8 | 0x80);
                v >>= 7;
            }
            self.byte(v as u8);
        }

        #[inline(always)]
        pub(super) fn fixed64(&mut self, v: u64) {
            if self.fits(8) {
                // SAFETY: as in `byte`, for 8 bytes; unaligned writes are allowed.
                unsafe {
                    self.p.cast::<[u8; 8]>().write_unaligned(v.to_le_bytes());
                    self.p = self.p.add(8);
                }
            }
        }

        /// Writes `N` bytes known at compile time in size: one check for all of them.
        #[inline(always)]
        pub(super) fn put<const N: usize>(&mut self, b: [u8; N]) {
            if self.fits(N) {
                // SAFETY: as in `byte`, for `N` bytes; unaligned writes are allowed.
                unsafe {
                    self.p.cast::<[u8; N]>().write_unaligned(b);
                    self.p = self.p.add(N);
                }
            }
        }

        /// The start of a `KeyValue` field (`tag`) of `content` bytes, whatever their
        /// lengths: its key, length, and key string.
        #[inline(always)]
        pub(super) fn key_of(&mut self, tag: u8, content: usize, key: &[u8]) {
            self.byte(tag);
            self.varint(content as u64);
            self.byte(0x0a);
            self.varint(key.len() as u64);
            self.bytes(key);
        }

        /// Copies `b`: up to 16 bytes in at most two overlapping moves of a constant
        /// size (a call to `memcpy` costs more than the copy of a short key or value).
        #[inline(always)]
        pub(super) fn bytes(&mut self, b: &[u8]) {
            let n = b.len();
            if !self.fits(n) {
                return;
            }
            let (src, dst) = (b.as_ptr(), self.p);
            // SAFETY: `n` bytes are readable at `src` (a slice of `n`) and writable at
            // `dst` (`fits`); each move below reads and writes within them.
            unsafe {
                if n >= 8 {
                    if n <= 16 {
                        let head = src.cast::<[u8; 8]>().read_unaligned();
                        let tail = src.add(n - 8).cast::<[u8; 8]>().read_unaligned();
                        dst.cast::<[u8; 8]>().write_unaligned(head);
                        dst.add(n - 8).cast::<[u8; 8]>().write_unaligned(tail);
                    } else {
                        std::ptr::copy_nonoverlapping(src, dst, n);
                    }
                } else if n >= 4 {
                    let head = src.cast::<[u8; 4]>().read_unaligned();
                    let tail = src.add(n - 4).cast::<[u8; 4]>().read_unaligned();
                    dst.cast::<[u8; 4]>().write_unaligned(head);
                    dst.add(n - 4).cast::<[u8; 4]>().write_unaligned(tail);
                } else if n > 0 {
                    *dst = *src;
                    *dst.add(n / 2) = *src.add(n / 2);
                    *dst.add(n - 1) = *src.add(n - 1);
                }
                self.p = dst.add(n);
            }
        }
    }

    /// Appends what `f` writes through a [`Cursor`], after reserving `max` bytes: one
    /// check of the capacity for a whole run of keys, lengths and contents, and one
    /// comparison per write. `max` is an estimate: a run that wanted more is undone and
    /// run again with more room (`f` writes the same bytes each time).
    #[inline(always)]
    pub(super) fn append(out: &mut Vec<u8>, max: usize, f: impl Fn(&mut Cursor)) {
        out.reserve(max);
        if !try_append(out, &f) {
            append_again(out, max, &f);
        }
    }

    /// One run of `f` into the spare capacity of `out`; false (and `out` unchanged) if
    /// a write did not fit.
    #[inline(always)]
    fn try_append(out: &mut Vec<u8>, f: &impl Fn(&mut Cursor)) -> bool {
        let len = out.len();
        let spare = out.spare_capacity_mut();
        let room = spare.len();
        let start = spare.as_mut_ptr().cast::<u8>();
        let mut c = Cursor {
            p: start,
            end: start.wrapping_add(room),
            over: false,
        };
        f(&mut c);
        if c.over {
            return false;
        }
        let wrote = c.p as usize - start as usize;
        // SAFETY: every write fitted, so the bytes from `start` to `c.p` were written
        // one after the other, within the spare capacity.
        unsafe { out.set_len(len + wrote) };
        true
    }

    /// The rare run that wanted more room than reserved: again with twice the room
    /// until it fits (it writes a bounded number of bytes).
    #[cold]
    #[inline(never)]
    fn append_again(out: &mut Vec<u8>, max: usize, f: &dyn Fn(&mut Cursor)) {
        let mut room = max.max(64);
        loop {
            room = room.saturating_mul(2);
            out.reserve(room);
            if try_append(out, &f) {
                return;
            }
        }
    }

    /// The size of `v` as a varint (1 to 10).
    #[inline(always)]
    fn vlen(v: usize) -> usize {
        encoded_len_varint(v as u64)
    }

    /// Key and value lengths (together) under which a `KeyValue` of a string has every
    /// length in one byte: its content, `2 + key + 2 + (2 + value)`, is under 128.
    pub(super) const SHORT_KV: usize = 122;

    /// A `KeyValue` field (number `field`, under 16) of `key` and `value`: every length
    /// known before it is written, the whole of it appended at once.
    #[inline(always)]
    pub(super) fn kv(out: &mut Vec<u8>, field: u32, key: &str, value: Value<'_>) {
        debug_assert!(field < 16);
        let tag = (field << 3 | WireType::LengthDelimited as u32) as u8;
        let key = key.as_bytes();
        match value {
            Value::Str(s) | Value::Debug(s) => kv_bytes(out, tag, key, s.as_bytes()),
            Value::Bool(b) => kv_scalar(out, tag, key, 2 << 3, u64::from(b)),
            Value::I64(v) => kv_scalar(out, tag, key, 3 << 3, v as u64),
            Value::U64(v) => match i64::try_from(v) {
                Ok(v) => kv_scalar(out, tag, key, 3 << 3, v as u64),
                // Beyond int64: the exact digits rather than a rounded double.
                Err(_) => kv_bytes(out, tag, key, v.to_string().as_bytes()),
            },
            Value::F64(v) => kv_f64(out, tag, key, v),
        }
    }

    /// A `KeyValue` (its key `tag`) whose `AnyValue` is a `string_value`.
    #[inline(always)]
    fn kv_bytes(out: &mut Vec<u8>, tag: u8, key: &[u8], s: &[u8]) {
        let (k, n) = (key.len(), s.len());
        if k + n < SHORT_KV {
            // Every length in one byte: the content is 6 + k + n <= 127 bytes.
            append(out, 8 + k + n, |c| {
                c.put([tag, (6 + k + n) as u8, 0x0a, k as u8]);
                c.bytes(key);
                c.put([0x12, (2 + n) as u8, 0x0a, n as u8]);
                c.bytes(s);
            });
        } else {
            let any = 1 + vlen(n) + n;
            let content = 1 + vlen(k) + k + 1 + vlen(any) + any;
            let total = 1 + vlen(content) + content;
            append(out, total, |c| {
                c.key_of(tag, content, key);
                c.byte(0x12);
                c.varint(any as u64);
                c.byte(0x0a);
                c.varint(n as u64);
                c.bytes(s);
            });
        }
    }

    /// A `KeyValue` whose `AnyValue` is a varint field (`value_key`: its key byte).
    #[inline(always)]
    fn kv_scalar(out: &mut Vec<u8>, tag: u8, key: &[u8], value_key: u8, v: u64) {
        let k = key.len();
        let any = 1 + encoded_len_varint(v);
        if k <= SHORT_KV - 10 {
            // Every length in one byte: the content is 2 + k + 2 + any <= 127 bytes.
            append(out, 6 + k + any, |c| {
                c.put([tag, (4 + k + any) as u8, 0x0a, k as u8]);
                c.bytes(key);
                c.put([0x12, any as u8, value_key]);
                c.varint(v);
            });
            return;
        }
        let content = 1 + vlen(k) + k + 2 + any;
        append(out, 11 + content, |c| {
            c.key_of(tag, content, key);
            c.byte(0x12);
            c.byte(any as u8);
            c.byte(value_key);
            c.varint(v);
        });
    }

    /// A `KeyValue` whose `AnyValue` is a `double_value`.
    #[inline]
    fn kv_f64(out: &mut Vec<u8>, tag: u8, key: &[u8], v: f64) {
        let k = key.len();
        let content = 1 + vlen(k) + k + 2 + 9;
        append(out, 11 + content, |c| {
            c.key_of(tag, content, key);
            c.put([0x12, 9, 4 << 3 | WireType::SixtyFourBit as u8]);
            c.fixed64(v.to_bits());
        });
    }

    /// A span's fields as `KeyValue` entries of a `KeyValueList` (its field 1): cached on
    /// the span.
    pub(super) fn span_fields(fields: &FieldList, out: &mut Vec<u8>) {
        for (k, v) in fields.iter() {
            kv(out, 1, k, v);
        }
    }

    /// The attributes (field 6 of `LogRecord`).
    struct Attributes<'o>(&'o mut Vec<u8>);

    impl Attrs for Attributes<'_> {
        #[inline(always)]
        fn value(&mut self, key: &str, value: Value<'_>) {
            kv(self.0, 6, key, value);
        }

        fn strings(&mut self, key: &str, values: &mut dyn Iterator<Item = String>) {
            nested_in(self.0, 6, 2, |out| {
                string(out, 1, key);
                nested_in(out, 2, 2, |out| {
                    nested_in(out, 5, 2, |out| {
                        for v in values {
                            nested_in(out, 1, 2, |out| string(out, 1, &v));
                        }
                    });
                });
            });
        }

        /// `spans`: an array of `{name, fields}` key-value lists, root first; the
        /// attribute of the last chain of spans encoded on this thread is reused (the
        /// events of one request share it).
        fn spans(&mut self, record: &Record<'_>) {
            with_spans_attr(record, |attr| self.0.extend_from_slice(attr));
        }
    }

    /// The chain of spans whose `spans` attribute this thread encoded last: their
    /// snapshots, held (a span's recorded fields make a new snapshot, so holding them
    /// means the chain cannot change under the bytes), and the attribute.
    #[derive(Default)]
    struct LastSpans {
        chain: Vec<(&'static str, std::sync::Arc<crate::record::SpanData>)>,
        attr: Vec<u8>,
    }

    impl LastSpans {
        #[inline]
        fn is_of(&self, record: &Record<'_>) -> bool {
            self.chain.len() == record.spans.len()
                && self
                    .chain
                    .iter()
                    .zip(record.spans)
                    .all(|((name, data), span)| {
                        std::ptr::eq(*name, span.name) && std::sync::Arc::ptr_eq(data, &span.data)
                    })
        }
    }

    /// Runs `f` with the `spans` attribute of `record`, from this thread's cache when
    /// its chain of spans is the one encoded last (encoded afresh if the cache is
    /// unavailable).
    pub(super) fn with_spans_attr<R>(record: &Record<'_>, f: impl FnOnce(&[u8]) -> R) -> R {
        thread_local! {
            static LAST: RefCell<LastSpans> = RefCell::new(LastSpans::default());
        }
        let mut f = Some(f);
        let got = LAST.try_with(|last| {
            let mut last = last.try_borrow_mut().ok()?;
            if !last.is_of(record) {
                let last = &mut *last;
                last.attr.clear();
                spans_attr(&mut last.attr, record);
                last.chain.clear();
                last.chain
                    .extend(record.spans.iter().map(|s| (s.name, s.data.clone())));
            }
            Some((f.take()?)(&last.attr))
        });
        match (got, f) {
            (Ok(Some(r)), _) => r,
            (_, Some(f)) => {
                let mut attr = Vec::new();
                spans_attr(&mut attr, record);
                f(&attr)
            }
            (_, None) => unreachable!("the closure ran without a result"),
        }
    }

    /// Encodes the `spans` attribute (a field 6 of `LogRecord`) of `record`.
    pub(super) fn spans_attr(out: &mut Vec<u8>, record: &Record<'_>) {
        nested_in(out, 6, 2, |out| {
            string(out, 1, "spans");
            nested_in(out, 2, 2, |out| {
                nested_in(out, 5, 2, |out| {
                    for span in record.spans {
                        let fields = span.data.otlp_bytes(span_fields);
                        nested_in(out, 1, 2, |out| {
                            nested_in(out, 6, 2, |out| {
                                kv(out, 1, "name", Value::Str(span.name));
                                nested_in(out, 1, 2, |out| {
                                    string(out, 1, "fields");
                                    nested_in(out, 2, 2, |out| bytes(out, 6, fields));
                                });
                            });
                        });
                    }
                });
            });
        });
    }

    /// What every record of one callsite on one thread has alike, encoded once: the
    /// `InstrumentationScope` field (the channel) and the `code.*` and `thread.name`
    /// attributes.
    struct Site {
        /// The target, file and line it was made for (compared by content: a `log`
        /// record's strings may be short-lived).
        target: Box<str>,
        file: Option<Box<str>>,
        line: Option<u32>,
        scope: Vec<u8>,
        attrs: Vec<u8>,
    }

    impl Site {
        #[inline]
        fn is_of(&self, record: &Record<'_>) -> bool {
            self.line == record.line
                && same(&self.target, record.target)
                && match (self.file.as_deref(), record.file) {
                    (Some(a), Some(b)) => same(a, b),
                    (a, b) => a == b,
                }
        }
    }

    /// Slots of the per-thread cache of [`Site`]s, chosen by a hash of the callsite.
    const SITES: usize = 32;

    fn make_site(record: &Record<'_>) -> Site {
        let mut scope = Vec::new();
        key(&mut scope, 1, WireType::LengthDelimited);
        put_varint(&mut scope, delimited_len(1, record.target.len()) as u64);
        string(&mut scope, 1, record.target);
        let mut attrs = Vec::new();
        walk_site_attrs(record, &mut Attributes(&mut attrs));
        Site {
            target: record.target.into(),
            file: record.file.map(Into::into),
            line: record.line,
            scope,
            attrs,
        }
    }

    /// Runs `f` with the callsite's [`Site`], from this thread's cache (made on a miss;
    /// made afresh if the cache is unavailable).
    fn with_site<R>(record: &Record<'_>, f: impl FnOnce(&Site) -> R) -> R {
        thread_local! {
            static CACHE: RefCell<Vec<Option<Site>>> = const { RefCell::new(Vec::new()) };
        }
        // Any hash will do: a collision only costs a new encoding.
        let file = record.file.map_or(0, |f| f.as_ptr() as usize);
        let slot = (file >> 3 ^ record.target.len() ^ record.line.unwrap_or(0) as usize) % SITES;
        let mut f = Some(f);
        let got = CACHE.try_with(|cache| {
            let mut cache = cache.try_borrow_mut().ok()?;
            if cache.is_empty() {
                cache.resize_with(SITES, || None);
            }
            let entry = &mut cache[slot];
            if !entry.as_ref().is_some_and(|s| s.is_of(record)) {
                *entry = Some(make_site(record));
            }
            Some((f.take()?)(entry.as_ref()?))
        });
        match (got, f) {
            (Ok(Some(r)), _) => r,
            (_, Some(f)) => f(&make_site(record)),
            (_, None) => unreachable!("the closure ran without a result"),
        }
    }

    /// A `ScopeLogs` entry (field 2 of `ResourceLogs`) holding `record`.
    pub(super) fn scope_logs(out: &mut Vec<u8>, record: &Record<'_>) {
        out.reserve(160 + record.message.len() + record.target.len() + record.fields.size_hint());
        with_site(record, |site| log_record(out, record, site));
    }

    /// The `ScopeLogs` entry: its scope and the `LogRecord`, whose two lengths get two
    /// bytes of room each (moved only when a length takes one byte, or three).
    #[inline]
    fn log_record(out: &mut Vec<u8>, record: &Record<'_>, site: &Site) {
        let nanos = unix_nanos(record.time);
        let level = record.level.as_str().as_bytes();
        let message = record.message.as_bytes();
        let body = 1 + vlen(message.len()) + message.len();
        let scope_logs = out.len() + 1;
        let log_record = scope_logs + 2 + site.scope.len() + 1;
        append(out, 30 + site.scope.len() + level.len() + body, |c| {
            c.put([2 << 3 | WireType::LengthDelimited as u8, 0, 0]);
            c.bytes(&site.scope);
            c.put([
                2 << 3 | WireType::LengthDelimited as u8,
                0,
                0,
                1 << 3 | WireType::SixtyFourBit as u8,
            ]);
            c.fixed64(nanos);
            c.put([
                2 << 3 | WireType::Varint as u8,
                severity_number(record.level),
                3 << 3 | WireType::LengthDelimited as u8,
                level.len() as u8,
            ]);
            c.bytes(level);
            c.byte(5 << 3 | WireType::LengthDelimited as u8);
            c.varint(body as u64);
            c.byte(1 << 3 | WireType::LengthDelimited as u8);
            c.varint(message.len() as u64);
            c.bytes(message);
        });
        walk_own_attrs(record, &mut Attributes(out));
        out.extend_from_slice(&site.attrs);
        if let Some(ids) = record.trace {
            fixed32(out, 8, u32::from(ids.flags));
            bytes(out, 9, &ids.trace_id.to_be_bytes());
            bytes(out, 10, &ids.span_id.to_be_bytes());
        }
        append(out, 9, |c| {
            c.byte(11 << 3 | WireType::SixtyFourBit as u8);
            c.fixed64(nanos);
        });
        close(out, log_record, 2);
        close(out, scope_logs, 2);
    }
}

mod json {
    //! OTLP's JSON mapping: lowerCamelCase names, 64-bit integers as strings, ids as
    //! hex, enums as numbers.

    use super::*;

    pub(super) fn any(s: &mut String, value: Value<'_>) {
        match value {
            Value::Str(v) | Value::Debug(v) => {
                s.push_str("{\"stringValue\":");
                text::push_json_str(s, v);
            }
            Value::Bool(b) => {
                s.push_str("{\"boolValue\":");
                s.push_str(if b { "true" } else { "false" });
            }
            Value::I64(v) => {
                let _ = write!(s, "{{\"intValue\":\"{v}\"");
            }
            Value::U64(v) => match i64::try_from(v) {
                Ok(v) => {
                    let _ = write!(s, "{{\"intValue\":\"{v}\"");
                }
                Err(_) => {
                    let _ = write!(s, "{{\"stringValue\":\"{v}\"");
                }
            },
            Value::F64(v) => {
                s.push_str("{\"doubleValue\":");
                if v.is_nan() {
                    s.push_str("\"NaN\"");
                } else if v.is_infinite() {
                    s.push_str(if v > 0.0 {
                        "\"Infinity\""
                    } else {
                        "\"-Infinity\""
                    });
                } else {
                    text::push_json_f64(s, v);
                }
            }
        }
        s.push('}');
    }

    pub(super) fn attr(s: &mut String, key: &str, value: Value<'_>) {
        s.push_str("{\"key\":");
        text::push_json_str(s, key);
        s.push_str(",\"value\":");
        any(s, value);
        s.push('}');
    }

    /// The attributes array's items, separated by commas.
    struct Attributes<'o> {
        s: &'o mut String,
        first: bool,
    }

    impl Attributes<'_> {
        fn sep(&mut self) {
            if !std::mem::take(&mut self.first) {
                self.s.push(',');
            }
        }
    }

    impl Attrs for Attributes<'_> {
        fn value(&mut self, key: &str, value: Value<'_>) {
            self.sep();
            attr(self.s, key, value);
        }

        fn strings(&mut self, key: &str, values: &mut dyn Iterator<Item = String>) {
            self.sep();
            self.s.push_str("{\"key\":");
            text::push_json_str(self.s, key);
            self.s.push_str(",\"value\":{\"arrayValue\":{\"values\":[");
            for (i, v) in values.enumerate() {
                if i > 0 {
                    self.s.push(',');
                }
                any(self.s, Value::Str(&v));
            }
            self.s.push_str("]}}}");
        }

        fn spans(&mut self, record: &Record<'_>) {
            self.sep();
            let s = &mut *self.s;
            s.push_str("{\"key\":\"spans\",\"value\":{\"arrayValue\":{\"values\":[");
            for (i, span) in record.spans.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                s.push_str("{\"kvlistValue\":{\"values\":[");
                attr(s, "name", Value::Str(span.name));
                s.push_str(",{\"key\":\"fields\",\"value\":{\"kvlistValue\":{\"values\":[");
                s.push_str(span.data.text(SpanText::OtlpJson, |fields, out| {
                    for (j, (k, v)) in fields.iter().enumerate() {
                        if j > 0 {
                            out.push(',');
                        }
                        attr(out, k, v);
                    }
                }));
                s.push_str("]}}}]}}");
            }
            s.push_str("]}}}");
        }
    }

    pub(super) fn scope_logs(out: &mut Vec<u8>, record: &Record<'_>) {
        crate::record::with_line(|s| {
            s.push_str("{\"scope\":{\"name\":");
            text::push_json_str(s, record.target);
            let nanos = unix_nanos(record.time);
            let _ = write!(
                s,
                "}},\"logRecords\":[{{\"timeUnixNano\":\"{nanos}\",\
                 \"observedTimeUnixNano\":\"{nanos}\",\"severityNumber\":{},\
                 \"severityText\":\"{}\",\"body\":",
                severity_number(record.level),
                record.level.as_str()
            );
            any(s, Value::Str(record.message));
            s.push_str(",\"attributes\":[");
            walk_attrs(record, &mut Attributes { s, first: true });
            s.push(']');
            if let Some(ids) = record.trace {
                s.push_str(",\"traceId\":\"");
                ids.push_trace_id(s);
                s.push_str("\",\"spanId\":\"");
                ids.push_span_id(s);
                let _ = write!(s, "\",\"flags\":{}", ids.flags);
            }
            s.push_str("}]},");
            out.extend_from_slice(s.as_bytes());
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::encoding::decode_varint;

    /// A minimal protobuf reader for the tests: the fields of one message.
    #[derive(Debug, PartialEq)]
    enum F {
        V(u64),
        I64(u64),
        I32(u32),
        B(Vec<u8>),
    }

    fn decode(mut buf: &[u8]) -> Vec<(u32, F)> {
        let mut out = Vec::new();
        while !buf.is_empty() {
            let (tag, wire) = prost::encoding::decode_key(&mut buf).unwrap();
            let f = match wire {
                WireType::Varint => F::V(decode_varint(&mut buf).unwrap()),
                WireType::SixtyFourBit => {
                    let v = u64::from_le_bytes(buf[..8].try_into().unwrap());
                    buf = &buf[8..];
                    F::I64(v)
                }
                WireType::ThirtyTwoBit => {
                    let v = u32::from_le_bytes(buf[..4].try_into().unwrap());
                    buf = &buf[4..];
                    F::I32(v)
                }
                WireType::LengthDelimited => {
                    let n = decode_varint(&mut buf).unwrap() as usize;
                    let v = buf[..n].to_vec();
                    buf = &buf[n..];
                    F::B(v)
                }
                other => panic!("{other:?}"),
            };
            out.push((tag, f));
        }
        out
    }

    fn bytes(f: &F) -> &[u8] {
        match f {
            F::B(b) => b,
            other => panic!("not bytes: {other:?}"),
        }
    }

    fn one(msg: &[u8], tag: u32) -> F {
        let mut all: Vec<F> = decode(msg)
            .into_iter()
            .filter(|(t, _)| *t == tag)
            .map(|(_, f)| f)
            .collect();
        assert_eq!(all.len(), 1, "field {tag}");
        all.remove(0)
    }

    /// `key -> AnyValue` of a `LogRecord`'s attributes.
    fn attrs(log_record: &[u8]) -> Vec<(String, Vec<(u32, F)>)> {
        decode(log_record)
            .into_iter()
            .filter(|(t, _)| *t == 6)
            .map(|(_, kv)| {
                let kv = bytes(&kv).to_vec();
                let key = String::from_utf8(bytes(&one(&kv, 1)).to_vec()).unwrap();
                (key, decode(bytes(&one(&kv, 2))))
            })
            .collect()
    }

    fn sample(fields: &FieldList, f: impl FnOnce(&Record<'_>)) {
        let time = time::macros::datetime!(2026-11-23 19:28:08.123456789 UTC);
        let mut record = Record::notice(time, Level::Notice, "listening", fields);
        record.target = "App";
        record.file = Some("src/main.rs");
        record.line = Some(12);
        record.trace = Some(crate::record::otel::TraceIds {
            trace_id: 0x4bf92f3577b34da6a3ce929d0e0e4736,
            span_id: 0x00f067aa0ba902b7,
            flags: 1,
        });
        f(&record);
    }

    fn typed_fields() -> FieldList {
        let mut fields = FieldList::default();
        fields.push_value("user", Value::Str("ann"));
        fields.push_value("port", Value::I64(-8080));
        fields.push_value("big", Value::U64(u64::MAX));
        fields.push_value("ratio", Value::F64(0.5));
        fields.push_value("ok", Value::Bool(false));
        fields
    }

    #[test]
    fn protobuf_record_field_by_field() {
        let fields = typed_fields();
        let layout = OtlpLayout {
            protocol: Protocol::HttpProtobuf,
        };
        sample(&fields, |record| {
            let mut out = Vec::new();
            layout.render(record, &mut out);
            // One ScopeLogs entry: field 2 of ResourceLogs.
            let entry = fields_of(&out);
            assert_eq!(entry.len(), 1);
            assert_eq!(entry[0].0, 2);
            let scope_logs = bytes(&entry[0].1);
            let scope = bytes(&one(scope_logs, 1)).to_vec();
            assert_eq!(bytes(&one(&scope, 1)), b"App");
            let lr = bytes(&one(scope_logs, 2)).to_vec();
            let nanos = 1_795_462_088_123_456_789u64;
            assert_eq!(one(&lr, 1), F::I64(nanos));
            assert_eq!(one(&lr, 11), F::I64(nanos));
            assert_eq!(one(&lr, 2), F::V(10));
            assert_eq!(bytes(&one(&lr, 3)), b"NOTICE");
            assert_eq!(bytes(&one(bytes(&one(&lr, 5)), 1)), b"listening");
            assert_eq!(one(&lr, 8), F::I32(1));
            assert_eq!(
                bytes(&one(&lr, 9)),
                0x4bf92f3577b34da6a3ce929d0e0e4736u128.to_be_bytes()
            );
            assert_eq!(bytes(&one(&lr, 10)), 0x00f067aa0ba902b7u64.to_be_bytes());
            let a = attrs(&lr);
            let keys: Vec<&str> = a.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(
                keys,
                [
                    "user",
                    "port",
                    "big",
                    "ratio",
                    "ok",
                    "code.file.path",
                    "code.line.number",
                    "thread.name"
                ]
            );
            assert_eq!(a[0].1, [(1, F::B(b"ann".to_vec()))]);
            assert_eq!(a[1].1, [(3, F::V(-8080i64 as u64))]);
            assert_eq!(a[2].1, [(1, F::B(u64::MAX.to_string().into_bytes()))]);
            assert_eq!(a[3].1, [(4, F::I64(0.5f64.to_bits()))]);
            assert_eq!(a[4].1, [(2, F::V(0))]);
            assert_eq!(a[6].1, [(3, F::V(12))]);
        });
    }

    fn fields_of(b: &[u8]) -> Vec<(u32, F)> {
        decode(b)
    }

    #[test]
    fn a_request_is_the_resource_and_the_entries() {
        let layout = OtlpLayout {
            protocol: Protocol::HttpProtobuf,
        };
        let resource = layout.resource(&[
            ("service.name".into(), ResourceValue::Str("shop".into())),
            ("process.pid".into(), ResourceValue::Int(42)),
        ]);
        let fields = FieldList::default();
        let mut records = Vec::new();
        sample(&fields, |r| {
            layout.render(r, &mut records);
            layout.render(r, &mut records);
        });
        let mut req = Vec::new();
        layout.request(&resource, &records, &mut req);
        let top = decode(&req);
        assert_eq!(top.len(), 1);
        let rl = decode(bytes(&top[0].1));
        assert_eq!(rl.len(), 3);
        assert_eq!((rl[0].0, rl[1].0, rl[2].0), (1, 2, 2));
        let res = bytes(&rl[0].1);
        assert_eq!(res, &resource[..]);
        assert_eq!(decode(res).len(), 2);
    }

    #[test]
    fn json_request_parses_with_otlp_names() {
        let layout = OtlpLayout {
            protocol: Protocol::HttpJson,
        };
        let resource = layout.resource(&[("process.pid".into(), ResourceValue::Int(42))]);
        let fields = typed_fields();
        let mut records = Vec::new();
        sample(&fields, |r| {
            layout.render(r, &mut records);
            layout.render(r, &mut records);
        });
        let notice = layout.loss_notice();
        notice(time::OffsetDateTime::UNIX_EPOCH, 3, &mut records);
        let mut req = Vec::new();
        layout.request(&resource, &records, &mut req);
        let v: serde_json::Value = serde_json::from_slice(&req).unwrap();
        let rl = &v["resourceLogs"][0];
        assert_eq!(rl["resource"]["attributes"][0]["value"]["intValue"], "42");
        let scopes = rl["scopeLogs"].as_array().unwrap();
        assert_eq!(scopes.len(), 3);
        assert_eq!(scopes[0]["scope"]["name"], "App");
        let lr = &scopes[0]["logRecords"][0];
        assert_eq!(lr["timeUnixNano"], "1795462088123456789");
        assert_eq!(lr["severityNumber"], 10);
        assert_eq!(lr["severityText"], "NOTICE");
        assert_eq!(lr["body"]["stringValue"], "listening");
        assert_eq!(lr["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(lr["spanId"], "00f067aa0ba902b7");
        assert_eq!(lr["flags"], 1);
        let a = &lr["attributes"];
        assert_eq!(a[1]["value"]["intValue"], "-8080");
        assert_eq!(a[3]["value"]["doubleValue"], 0.5);
        assert_eq!(a[4]["value"]["boolValue"], false);
        let n = &scopes[2];
        assert_eq!(n["scope"]["name"], "tracing-logbook");
        assert_eq!(
            n["logRecords"][0]["body"]["stringValue"],
            "3 records dropped"
        );
        assert_eq!(n["logRecords"][0]["severityNumber"], 13);
    }

    #[test]
    fn the_spans_attribute_is_reused_only_for_the_same_snapshots() {
        use crate::record::{SpanData, SpanRef};
        use std::sync::Arc;
        let snapshot = |id: i64| {
            let mut fields = FieldList::default();
            fields.push_value("id", Value::I64(id));
            Arc::new(SpanData::new(fields))
        };
        let span = |name: &'static str, data: &Arc<SpanData>| SpanRef {
            name,
            entry: None,
            data: data.clone(),
        };
        let fields = FieldList::default();
        let attr = |spans: &[SpanRef]| {
            let time = time::macros::datetime!(2026-11-23 19:28:08 UTC);
            let mut record = Record::notice(time, Level::Info, "m", &fields);
            record.spans = spans;
            let mut fresh = Vec::new();
            proto::spans_attr(&mut fresh, &record);
            let reused = proto::with_spans_attr(&record, <[u8]>::to_vec);
            assert_eq!(reused, fresh);
            fresh
        };
        let (one, two) = (snapshot(1), snapshot(2));
        let first = attr(&[span("request", &one)]);
        assert_eq!(attr(&[span("request", &one)]), first);
        // A new snapshot of the span (a field recorded), another span, a longer chain.
        assert_ne!(attr(&[span("request", &two)]), first);
        assert_ne!(attr(&[span("job", &one)]), first);
        attr(&[span("request", &one), span("job", &two)]);
        assert_eq!(attr(&[span("request", &one)]), first);
        drop((one, two));
        // Snapshots made after others were freed are new snapshots, whatever their address.
        for id in 3..10 {
            let data = snapshot(id);
            assert_ne!(attr(&[span("request", &data)]), first);
        }
    }

    #[test]
    fn partial_success_in_both_encodings() {
        // ExportLogsServiceResponse { partial_success { rejected_log_records: 300,
        // error_message: "too old" } }, with an unknown field before it.
        let mut inner = Vec::new();
        proto::varint(&mut inner, 1, 300);
        proto::string(&mut inner, 2, "too old");
        let mut body = Vec::new();
        proto::varint(&mut body, 7, 1);
        proto::bytes(&mut body, 1, &inner);
        let want = PartialSuccess {
            rejected: 300,
            message: "too old".into(),
        };
        assert_eq!(partial_success(&body, false), Some(want.clone()));
        let json = br#"{"partialSuccess":{"rejectedLogRecords":"300","errorMessage":"too old"}}"#;
        assert_eq!(partial_success(json, true), Some(want.clone()));
        let json = br#"{"partial_success":{"rejected_log_records":300,"error_message":"too old"}}"#;
        assert_eq!(partial_success(json, true), Some(want));
        // Full successes, and what is not a collector's answer.
        for (body, json) in [
            (&b""[..], false),
            (b"", true),
            (b"{}", true),
            (br#"{"partialSuccess":{}}"#, true),
            (br#"{"partialSuccess":{"rejectedLogRecords":"-4"}}"#, true),
            (b"<html>bad gateway</html>", true),
            (b"\x0a\xff\xff\xff", false),
            (b"\x0a\x05\x08", false),
        ] {
            assert_eq!(partial_success(body, json), None, "{body:?}");
        }
    }

    #[test]
    fn severities() {
        let got: Vec<u8> = Level::ALL.iter().map(|l| severity_number(*l)).collect();
        assert_eq!(got, [1, 5, 9, 10, 13, 17, 21]);
    }

    /// The room reserved for a run is an estimate: a run that writes more than it
    /// reserved (here, none) is undone and run again with the room it wanted, and the
    /// bytes are the same as with room enough; what was in the buffer stays.
    #[test]
    fn a_run_beyond_its_reservation_is_written_whole() {
        let run = |c: &mut proto::Cursor| {
            c.byte(0x0a);
            c.varint(300);
            c.bytes(b"a key of 21 bytes....");
            c.bytes(b"tiny");
            c.fixed64(u64::MAX - 1);
        };
        let mut roomy = b"kept".to_vec();
        proto::append(&mut roomy, 64, run);
        for reserved in [0, 1, 3, 10, 30] {
            let mut tight = b"kept".to_vec();
            tight.shrink_to_fit();
            proto::append(&mut tight, reserved, run);
            assert_eq!(tight, roomy, "reserved {reserved}");
        }
        let mut want = b"kept".to_vec();
        want.extend([0x0a, 0xac, 0x02]);
        want.extend(b"a key of 21 bytes....tiny");
        want.extend((u64::MAX - 1).to_le_bytes());
        assert_eq!(roomy, want);
    }

    #[test]
    fn long_values_get_multi_byte_lengths() {
        let layout = OtlpLayout {
            protocol: Protocol::HttpProtobuf,
        };
        let long = "x".repeat(70_000);
        let fields = FieldList::default();
        let time = time::macros::datetime!(2026-11-23 19:28:08 UTC);
        let record = Record::notice(time, Level::Info, &long, &fields);
        let mut out = Vec::new();
        layout.render(&record, &mut out);
        let entry = decode(&out);
        let lr = bytes(&one(bytes(&entry[0].1), 2)).to_vec();
        assert_eq!(bytes(&one(bytes(&one(&lr, 5)), 1)).len(), 70_000);
    }
    /// A `KeyValue` as prost encodes it: the message built inside out, each length
    /// computed by prost.
    fn reference_kv(field: u32, key: &str, value: Value<'_>) -> Vec<u8> {
        use prost::encoding as e;
        let mut any = Vec::new();
        match value {
            Value::Str(s) | Value::Debug(s) => e::string::encode(1, &s.to_owned(), &mut any),
            Value::Bool(b) => e::bool::encode(2, &b, &mut any),
            Value::I64(v) => e::int64::encode(3, &v, &mut any),
            Value::U64(v) => match i64::try_from(v) {
                Ok(v) => e::int64::encode(3, &v, &mut any),
                Err(_) => e::string::encode(1, &v.to_string(), &mut any),
            },
            Value::F64(v) => e::double::encode(4, &v, &mut any),
        }
        let mut kv = Vec::new();
        e::string::encode(1, &key.to_owned(), &mut kv);
        e::bytes::encode(2, &any, &mut kv);
        let mut out = Vec::new();
        e::bytes::encode(field, &kv, &mut out);
        out
    }

    #[test]
    fn key_values_match_prost_across_the_length_boundaries() {
        // Lengths where a copy changes its moves (3/4, 7/8, 16/17), where the key and
        // value together leave the one-byte path (`SHORT_KV`), and where one length
        // takes a second byte (127/128) or a third (16383/16384).
        let lens = [
            0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 60, 100, 113, 114, 115, 120, 121, 122, 123, 126,
            127, 128, 129, 200, 16_383, 16_384,
        ];
        let text = "k".repeat(20_000);
        let value = "v".repeat(20_000);
        let mut out = vec![0xee];
        for &k in &lens {
            let key = &text[..k];
            let mut values: Vec<Value<'_>> =
                lens.iter().map(|&n| Value::Str(&value[..n])).collect();
            values.extend([
                Value::Debug("dbg"),
                Value::Bool(true),
                Value::Bool(false),
                Value::I64(0),
                Value::I64(127),
                Value::I64(128),
                Value::I64(-1),
                Value::I64(i64::MIN),
                Value::U64(u64::MAX),
                Value::U64(1 << 40),
                Value::F64(-0.25),
                Value::F64(f64::NAN),
            ]);
            for v in values {
                for field in [1, 6] {
                    // Appended after what the buffer holds, which stays.
                    out.truncate(1);
                    proto::kv(&mut out, field, key, v);
                    assert_eq!(out[0], 0xee);
                    assert_eq!(
                        out[1..],
                        reference_kv(field, key, v)[..],
                        "key of {k} bytes, {v:?}, field {field}"
                    );
                }
            }
        }
        // The edge of the one-byte path, exactly: a content of 127 bytes, then 128.
        let at = proto::SHORT_KV - 1;
        for n in [at, at + 1] {
            let mut out = Vec::new();
            proto::kv(&mut out, 6, "", Value::Str(&value[..n]));
            assert_eq!(out, reference_kv(6, "", Value::Str(&value[..n])));
            assert_eq!(out[1] >= 0x80, n > at, "content {} bytes", out.len() - 2);
        }
    }

    #[test]
    fn records_of_every_small_size_decode() {
        // Messages whose records cross 128 bytes (the LogRecord's and the ScopeLogs'
        // lengths go from one byte to the two they are given room for) and 16 KiB.
        let layout = OtlpLayout {
            protocol: Protocol::HttpProtobuf,
        };
        let fields = FieldList::default();
        let long = "m".repeat(17_000);
        let time = time::macros::datetime!(2026-11-23 19:28:08 UTC);
        let sizes = (0..300).chain(16_200..16_450).chain([17_000]);
        for n in sizes {
            let mut record = Record::notice(time, Level::Critical, &long[..n], &fields);
            record.target = "t";
            let mut out = vec![7];
            layout.render(&record, &mut out);
            let entry = decode(&out[1..]);
            assert_eq!(entry.len(), 1, "message of {n} bytes");
            let scope_logs = bytes(&entry[0].1);
            assert_eq!(bytes(&one(bytes(&one(scope_logs, 1)), 1)), b"t");
            let lr = bytes(&one(scope_logs, 2)).to_vec();
            assert_eq!(bytes(&one(bytes(&one(&lr, 5)), 1)).len(), n);
            assert_eq!(bytes(&one(&lr, 3)), b"CRITICAL");
            assert_eq!(one(&lr, 2), F::V(21));
            assert_eq!(one(&lr, 1), one(&lr, 11));
        }
    }
    #[test]
    fn unix_nanos_as_time_computes_them() {
        use time::macros::datetime;
        for t in [
            datetime!(2026-11-23 19:28:08.123456789 UTC),
            datetime!(2026-11-23 23:59:59.999999999 UTC),
            datetime!(2026-11-24 00:00:00 UTC),
            datetime!(2026-11-24 00:00:00 +02:00),
            datetime!(2026-11-23 22:30:00.5 -05:30),
            datetime!(1970-01-01 00:00:00 UTC),
            datetime!(2262-04-11 23:47:16.854775807 UTC),
            datetime!(9999-12-31 23:59:59.999999999 UTC),
        ] {
            let want = u64::try_from(t.unix_timestamp_nanos()).unwrap_or(u64::MAX);
            // Twice: the day computed, then the day kept.
            if want != u64::MAX {
                assert_eq!(unix_nanos(t), want, "{t}");
                assert_eq!(unix_nanos(t), want, "{t}");
            }
        }
        // Before the epoch: 0.
        assert_eq!(unix_nanos(datetime!(1969-12-31 23:59:59 UTC)), 0);
    }

    #[test]
    fn same_is_equality() {
        let text = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ";
        for n in 0..text.len() {
            let a = &text[..n];
            // Another copy: equal contents at another address.
            let copy = a.to_owned();
            assert!(same(a, &copy));
            for i in 0..n {
                let mut b = a.as_bytes().to_vec();
                b[i] = b'_';
                assert!(!same(a, std::str::from_utf8(&b).unwrap()), "{n} {i}");
            }
            assert!(!same(a, &text[..n + 1]));
        }
    }
}
