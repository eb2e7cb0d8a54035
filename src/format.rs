//! [`LogbookLayer`]: renders each event as one Logbook line.
//!
//! ```text
//! [2026-11-23 19:28:08.123456] NOTICE: App: listening port=8080 in request{method=GET}
//! ```
//!
//! For an event with only a message the line is byte-identical to Logbook's default
//! format, `[%Y-%m-%d %H:%M:%S.%f%z] LEVEL: channel: message`. Fields and spans follow
//! the message as described in the [`fields`](crate::fields) module docs, which also
//! describe how newlines and control characters are neutralised.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::sync::Arc;

use time::OffsetDateTime;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::clock::{Clock, SystemClock, Timezone, Zone};
use crate::fields::{self, escape_tail, push_escaped, push_str_value, Mode, SpanFields};
use crate::level::Level;
use crate::sink::{LineWriter, Stdout};

/// Logbook's color for `ERROR` and `CRITICAL` (ColorizedStderrHandler's `red`).
pub const RED: &str = "\x1b[31;01m";
/// Logbook's color for `NOTICE` and `WARNING` (`yellow`).
pub const YELLOW: &str = "\x1b[33;01m";
/// Logbook's color for `TRACE`, `DEBUG` and `INFO` (`lightgray`).
pub const LIGHTGRAY: &str = "\x1b[37m";
/// Logbook's reset sequence, written after the whole record and before its newline.
pub const RESET: &str = "\x1b[39;49;00m";

/// When lines are colored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ColorChoice {
    /// Colors when the destination is a terminal and `NO_COLOR` is unset or empty.
    #[default]
    Auto,
    /// Always colors (Logbook's `force_color()`).
    Always,
    /// Never colors (Logbook's `forbid_color()`).
    Never,
}

/// The color Logbook's ColorizedStderrHandler gives a level.
pub const fn level_color(level: Level) -> &'static str {
    match level {
        Level::Error | Level::Critical => RED,
        Level::Notice | Level::Warning => YELLOW,
        Level::Trace | Level::Debug | Level::Info => LIGHTGRAY,
    }
}

/// A [`Layer`] that writes each event as one Logbook line to a [`LineWriter`].
///
/// Build it with [`LogbookLayer::builder`]; [`init`](crate::init) builds one for you.
///
/// # Examples
///
/// Composing it with your own layers:
///
/// ```
/// use tracing_logbook::{LogbookFilter, LogbookLayer};
/// use tracing_subscriber::prelude::*;
///
/// let subscriber = tracing_subscriber::registry()
///     .with(LogbookFilter::parse("info,my_app::db=trace").unwrap())
///     .with(LogbookLayer::builder().build_stdout());
/// tracing::subscriber::with_default(subscriber, || {
///     tracing_logbook::notice!(target: "App", port = 8080, "listening");
/// });
/// ```
pub struct LogbookLayer<W = Stdout> {
    writer: W,
    clock: Arc<dyn Clock>,
    zone: Zone,
    color: bool,
    channels: Vec<(String, String)>,
    id: usize,
}

/// Builds a [`LogbookLayer`].
///
/// # Default values
///
/// | setting | default |
/// |---|---|
/// | [`clock`](Self::clock) | [`SystemClock`] |
/// | [`timezone`](Self::timezone) | [`Timezone::Utc`] (no offset printed, as Logbook) |
/// | [`color`](Self::color) | [`ColorChoice::Auto`] |
/// | [`channel`](Self::channel) | none: the channel is the event's target |
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct LogbookLayerBuilder {
    clock: Option<Arc<dyn Clock>>,
    timezone: Timezone,
    color: ColorChoice,
    channels: Vec<(String, String)>,
}

impl LogbookLayerBuilder {
    /// Uses `clock` instead of the system clock (for tests).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Uses a shared clock.
    pub fn shared_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Sets how timestamps are displayed.
    pub fn timezone(mut self, timezone: Timezone) -> Self {
        self.timezone = timezone;
        self
    }

    /// Sets when lines are colored.
    pub fn color(mut self, color: ColorChoice) -> Self {
        self.color = color;
        self
    }

    /// Prints `name` as the channel of every event whose target is `module` or lies
    /// under it (`module::...`): one channel for a whole program, as Logbook's
    /// `Logger("App")`.
    ///
    /// ```
    /// # use tracing_logbook::LogbookLayer;
    /// let layer = LogbookLayer::builder()
    ///     .channel(env!("CARGO_CRATE_NAME"), "App")
    ///     .build_stdout();
    /// ```
    pub fn channel(mut self, module: impl Into<String>, name: impl Into<String>) -> Self {
        self.channels.push((module.into(), name.into()));
        self
    }

    /// Builds the layer writing to `writer`.
    pub fn build<W: LineWriter>(self, writer: W) -> LogbookLayer<W> {
        let color = match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                writer.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        LogbookLayer {
            writer,
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            zone: Zone::new(self.timezone),
            color,
            channels: self.channels,
            id: fields::next_layer_id(),
        }
    }

    /// Builds the layer writing to standard output.
    pub fn build_stdout(self) -> LogbookLayer<Stdout> {
        self.build(Stdout::new())
    }
}

impl LogbookLayer<Stdout> {
    /// A builder with the [default values](LogbookLayerBuilder#default-values).
    pub fn builder() -> LogbookLayerBuilder {
        LogbookLayerBuilder::default()
    }
}

impl<W: LineWriter> LogbookLayer<W> {
    /// The destination.
    pub fn writer(&self) -> &W {
        &self.writer
    }

    /// Whether this layer colors its lines.
    pub fn is_colored(&self) -> bool {
        self.color
    }

    fn channel<'a>(&'a self, target: &'a str) -> &'a str {
        for (module, name) in &self.channels {
            if let Some(rest) = target.strip_prefix(module.as_str()) {
                if rest.is_empty() || rest.starts_with("::") {
                    return name;
                }
            }
        }
        target
    }

    /// Renders one record into `buf` (cleared first), ending in `\n`.
    fn render<S>(
        &self,
        buf: &mut String,
        extra: &mut String,
        time: OffsetDateTime,
        event: &Event<'_>,
        ctx: &Context<'_, S>,
    ) where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let normalized = event.normalized_metadata();
        let from_log = normalized.is_some();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        let level = Level::of(meta);

        if self.color {
            buf.push_str(level_color(level));
        }
        buf.push('[');
        push_timestamp(buf, time, self.zone.timezone().shows_offset());
        buf.push_str("] ");
        buf.push_str(level.as_str());
        buf.push_str(": ");
        push_escaped(buf, self.channel(meta.target()), Mode::Inline);
        buf.push_str(": ");

        let message_start = buf.len();
        event.record(&mut EventVisitor {
            message: buf,
            extra,
            from_log,
        });
        if buf.len() == message_start && !extra.is_empty() {
            buf.push_str(&extra[1..]);
        } else {
            buf.push_str(extra);
        }

        if let Some(scope) = ctx.event_scope(event) {
            let mut first = true;
            for span in scope.from_root() {
                buf.push_str(if first { " in " } else { ":" });
                first = false;
                buf.push_str(span.name());
                let ext = span.extensions();
                if let Some(stored) = ext.get::<SpanFields>() {
                    if !stored.fields.is_empty() {
                        buf.push('{');
                        stored.fields.render(buf);
                        buf.push('}');
                    }
                }
            }
        }

        if self.color {
            buf.push_str(RESET);
        }
        buf.push('\n');
    }
}

impl<W> fmt::Debug for LogbookLayer<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogbookLayer")
            .field("timezone", &self.zone.timezone())
            .field("color", &self.color)
            .field("channels", &self.channels)
            .finish_non_exhaustive()
    }
}

impl<S, W> Layer<S> for LogbookLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: LineWriter,
{
    crate::fields::span_field_hooks!();

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let time = self.zone.display(self.clock.now_utc());
        with_buffers(|buf, extra| {
            self.render(buf, extra, time, event, &ctx);
            self.writer.write_line(time, buf.as_bytes());
        });
    }
}

/// Runs `f` with two cleared, reused per-thread buffers; fresh ones if re-entered (an
/// event logged while formatting another, e.g. from a `Display` impl).
pub(crate) fn with_buffers<R>(f: impl FnOnce(&mut String, &mut String) -> R) -> R {
    thread_local! {
        static BUFFERS: RefCell<(String, String)> = const { RefCell::new((String::new(), String::new())) };
    }
    let mut f = Some(f);
    let result = BUFFERS.try_with(|cell| {
        let mut bufs = cell.try_borrow_mut().ok()?;
        let (a, b) = &mut *bufs;
        a.clear();
        b.clear();
        let r = (f.take()?)(a, b);
        // Do not keep one huge record's allocation forever.
        if a.capacity() > 64 * 1024 {
            *a = String::new();
        }
        if b.capacity() > 64 * 1024 {
            *b = String::new();
        }
        Some(r)
    });
    match (result, f) {
        (Ok(Some(r)), _) => r,
        (_, Some(f)) => f(&mut String::new(), &mut String::new()),
        // `f` ran but the result was lost: impossible, since `Some(r)` is returned
        // whenever `f` ran.
        (_, None) => unreachable_result(),
    }
}

#[cold]
fn unreachable_result<R>() -> R {
    unreachable!("with_buffers: closure ran without producing a result")
}

/// The second a thread last printed (date, hour, minute, second; offset) and its text.
type CachedSecond = (Option<(time::Date, u8, u8, u8)>, i32, String);

/// Appends `YYYY-MM-DD HH:MM:SS.ffffff` (and `+HHMM` when `offset`).
///
/// The part up to the seconds is cached per thread: consecutive records within one
/// second only format their microseconds.
pub(crate) fn push_timestamp(buf: &mut String, t: OffsetDateTime, offset: bool) {
    thread_local! {
        static SECOND: RefCell<CachedSecond> = const { RefCell::new((None, 0, String::new())) };
    }
    let key = Some((t.date(), t.hour(), t.minute(), t.second()));
    let off = t.offset().whole_seconds();
    let year = t.year();
    if !(0..=9999).contains(&year) {
        let _ = write!(
            buf,
            "{year}-{:02}-{:02} {:02}:{:02}:{:02}",
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
    } else {
        let hit = SECOND
            .try_with(|c| {
                let Ok(mut c) = c.try_borrow_mut() else {
                    return false;
                };
                if c.0 != key || c.1 != off {
                    let s = &mut c.2;
                    s.clear();
                    push_digits(s, year as u32, 4);
                    s.push('-');
                    push_digits(s, u8::from(t.month()) as u32, 2);
                    s.push('-');
                    push_digits(s, t.day() as u32, 2);
                    s.push(' ');
                    push_digits(s, t.hour() as u32, 2);
                    s.push(':');
                    push_digits(s, t.minute() as u32, 2);
                    s.push(':');
                    push_digits(s, t.second() as u32, 2);
                    c.0 = key;
                    c.1 = off;
                }
                buf.push_str(&c.2);
                true
            })
            .unwrap_or(false);
        if !hit {
            let _ = write!(
                buf,
                "{year:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            );
        }
    }
    buf.push('.');
    push_digits(buf, t.microsecond(), 6);
    if offset {
        let off = t.offset();
        buf.push(if off.is_negative() { '-' } else { '+' });
        push_digits(buf, off.whole_hours().unsigned_abs() as u32, 2);
        push_digits(buf, off.minutes_past_hour().unsigned_abs() as u32, 2);
    }
}

/// Appends an RFC 3339 UTC timestamp with microseconds: `2026-11-23T19:28:08.123456Z`.
pub(crate) fn push_rfc3339(buf: &mut String, t: OffsetDateTime) {
    let t = t.to_offset(time::UtcOffset::UTC);
    let start = buf.len();
    push_timestamp(buf, t, false);
    // `YYYY-MM-DD HH:...`: the date/time separator becomes `T`.
    if let Some(pos) = buf[start..].find(' ') {
        buf.replace_range(start + pos..start + pos + 1, "T");
    }
    buf.push('Z');
}

/// Appends a decimal integer without going through `fmt`.
#[inline]
pub(crate) fn push_u64(buf: &mut String, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if let Ok(s) = std::str::from_utf8(&tmp[i..]) {
        buf.push_str(s);
    }
}

/// Appends a signed decimal integer without going through `fmt`.
#[inline]
pub(crate) fn push_i64(buf: &mut String, v: i64) {
    if v < 0 {
        buf.push('-');
    }
    push_u64(buf, v.unsigned_abs());
}

/// Appends `v` zero-padded to `width` digits (at most 10).
#[inline]
fn push_digits(buf: &mut String, mut v: u32, width: usize) {
    let mut tmp = [b'0'; 10];
    for d in tmp[..width].iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
    buf.extend(tmp[..width].iter().map(|&d| d as char));
}

/// Writes the message straight into the line and the other fields into `extra`.
struct EventVisitor<'a> {
    message: &'a mut String,
    extra: &'a mut String,
    from_log: bool,
}

impl EventVisitor<'_> {
    #[inline]
    fn key(&mut self, field: &Field) -> bool {
        // The panic hook's structured fields repeat what its message says.
        if fields::is_hidden(field.name(), self.from_log) || field.name().starts_with("panic.") {
            return false;
        }
        self.extra.push(' ');
        self.extra.push_str(field.name());
        self.extra.push('=');
        true
    }
}

impl Visit for EventVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            push_escaped(self.message, value, Mode::Message);
        } else if self.key(field) {
            push_str_value(self.extra, value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let start = self.message.len();
            let _ = write!(self.message, "{value:?}");
            // Also drops trailing newlines (see the `fields` module docs).
            escape_tail(self.message, start, Mode::Message);
        } else if self.key(field) {
            let start = self.extra.len();
            let _ = write!(self.extra, "{value:?}");
            escape_tail(self.extra, start, Mode::Inline);
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if self.key(field) {
            push_escaped(self.extra, &fields::error_chain(value), Mode::Inline);
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.key(field) {
            push_i64(self.extra, value);
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.key(field) {
            push_u64(self.extra, value);
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.key(field) {
            self.extra.push_str(if value { "true" } else { "false" });
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if self.key(field) {
            let _ = write!(self.extra, "{value}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn timestamps() {
        let cases = [
            (
                datetime!(2024-01-02 03:04:05 UTC),
                false,
                "2024-01-02 03:04:05.000000",
            ),
            (
                datetime!(2024-01-02 03:04:05.000007 UTC),
                false,
                "2024-01-02 03:04:05.000007",
            ),
            (
                datetime!(1999-12-31 23:59:59.999999999 UTC),
                false,
                "1999-12-31 23:59:59.999999",
            ),
            (
                datetime!(2024-03-01 18:04:56.789012 +05:30),
                true,
                "2024-03-01 18:04:56.789012+0530",
            ),
            (
                datetime!(2024-03-01 04:34:56.789012 -08:00),
                true,
                "2024-03-01 04:34:56.789012-0800",
            ),
            (
                datetime!(2024-03-01 12:34:56.789012 UTC),
                true,
                "2024-03-01 12:34:56.789012+0000",
            ),
            (
                datetime!(2024-03-01 12:00:00 -00:30),
                true,
                "2024-03-01 12:00:00.000000-0030",
            ),
        ];
        for (t, offset, want) in cases {
            let mut b = String::new();
            push_timestamp(&mut b, t, offset);
            assert_eq!(b, want);
        }
    }

    #[test]
    fn integers() {
        let mut b = String::new();
        for v in [0i64, 7, -7, 10, 8080, i64::MIN, i64::MAX] {
            b.clear();
            push_i64(&mut b, v);
            assert_eq!(b, v.to_string());
        }
        b.clear();
        push_u64(&mut b, u64::MAX);
        assert_eq!(b, u64::MAX.to_string());
    }

    #[test]
    fn cached_second_is_keyed_by_offset_too() {
        let mut a = String::new();
        push_timestamp(&mut a, datetime!(2024-03-01 12:00:00.5 UTC), false);
        push_timestamp(&mut a, datetime!(2024-03-01 13:00:00.5 +01:00), true);
        assert_eq!(
            a,
            "2024-03-01 12:00:00.5000002024-03-01 13:00:00.500000+0100"
        );
    }

    #[test]
    fn reentrant_buffers_do_not_panic() {
        let out = with_buffers(|a, _| {
            a.push_str("outer");
            with_buffers(|b, _| {
                b.push_str("inner");
                b.clone()
            })
        });
        assert_eq!(out, "inner");
    }
}
