//! Fingers crossed, per request: a request span keeps its lines below the threshold in a
//! buffer of its own, and writes them only when an error happens inside it.
//!
//! Three pieces, all inside the spine:
//!
//! * The [gate](crate::filter::gate) in the subscriber's [`ReloadableFilter`] lets an event below the
//!   threshold (down to the fingers-crossed level) through only while a buffering span
//!   is entered on the thread, which it knows from a per-thread count kept in
//!   `on_enter`/`on_exit`.
//! * The [`Spine`](crate::layer::Spine) asks the filter again, for such events only,
//!   whether the threshold shows them; those it does not show become [`Held`] copies in
//!   the innermost buffering span's [`Buffer`] (span side data of the spine).
//! * An `ERROR` or `CRITICAL` record inside buffering spans takes their buffers, merges
//!   them by sequence number and hands them with the error, as one block, to the line
//!   outputs (stdout, the file, syslog; never the notifiers). From then on the span's
//!   lines below the threshold are written at once. A span that closes without an error
//!   drops its buffer.
//!
//! Layers of the program's own ([`Env::layer`](crate::Env::layer)) sit behind
//! [`Threshold`](crate::filter::gate::Threshold), a per-layer filter of the threshold alone, so they never see what is
//! held.
//!
//! # Cost
//!
//! Outside buffering spans: callsites between the fingers-crossed level and the
//! threshold (the `debug!`s under `RUST_LOG=info` and `LOG_FINGERS_CROSSED=debug`) lose
//! tracing's "never" interest cache: each call asks the subscriber, which reads one
//! thread-local counter and runs the filter (about 23 ns instead of 0.35 ns, measured in
//! `benches/benches/crossed.rs`).
//! Callsites more verbose than the fingers-crossed level stay free. Inside them: a
//! buffered line costs its capture plus a copy of the message and fields (no rendering;
//! a line is rendered only if it is ever written).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use time::OffsetDateTime;
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

#[cfg(test)]
use crate::filter::LogbookFilter;
use crate::filter::ReloadableFilter;
use crate::layer::Emit;
use crate::level::Level;
use crate::record::{FieldList, Record, SpanEntry, SpanRef};

/// Fingers-crossed buffering per request (`LOG_FINGERS_CROSSED`, [`Env::fingers_crossed`]).
///
/// The threshold (`RUST_LOG`) stays as it is for every line. Spans named `request`
/// (the `web` module's request span) and spans created with
/// `logbook.fingers_crossed = true` also keep their lines below the threshold, down to
/// [`level`](Self::level), in a buffer of their own. When an `ERROR` or `CRITICAL` is
/// logged inside such a span, its buffered lines are written first, in order and with
/// their own timestamps, then the error and every later line of the span; when the span
/// closes without one, the buffer is dropped.
///
/// Bounded: at most [`max_lines`](Self::max_lines) lines per span and
/// [`max_bytes`](Self::max_bytes) in all buffers together; the oldest lines of the
/// span go first, and a flushed buffer starts with `N buffered lines dropped`.
///
/// ```text
/// [2026-11-23 19:28:08.151001] DEBUG: app: connecting backend=payments in request{method=GET url=/fail request_id=e2d9f0… route=/fail}
/// [2026-11-23 19:28:08.151090] DEBUG: app: connection refused attempt=1 in request{method=GET url=/fail request_id=e2d9f0… route=/fail}
/// [2026-11-23 19:28:08.151208] ERROR: http: 500 Internal Server Error latency_ms=1.03 in request{method=GET url=/fail request_id=e2d9f0… route=/fail status=500}
/// ```
///
/// # In detail
///
/// * The held lines and the error are written in one piece (no other request's line
///   between them; a custom [`LineWriter`](crate::LineWriter) gets them through
///   `write_lines`), and, from then on, every later line of that span at once. Lines at
///   or above the threshold are written at once as always, so a held line can follow a
///   later `INFO` line in the file. Nested buffering spans flush together, in order.
/// * A held line is an event logged while the span is entered on that thread (an event
///   given the span only as explicit `parent:` from outside it is not held); `log`
///   records count too.
/// * The held lines go to the line outputs (stdout, the file, syslog); the notifiers see
///   exactly what they saw without fingers crossed.
/// * Defaults: [`DEFAULT_MAX_LINES`](Self::DEFAULT_MAX_LINES) (1000) per span and
///   [`DEFAULT_MAX_BYTES`](Self::DEFAULT_MAX_BYTES) (32 MiB) for all buffers.
///   [`Guard::buffered`](crate::Guard::buffered) reports the lines and bytes held, the
///   lines dropped and the buffers flushed.
/// * `logbook.fingers_crossed = false` turns it off for one `request` span; the field is
///   never printed, and only its value at the span's creation counts.
/// * Layers added with [`Env::layer`](crate::Env::layer) (OpenTelemetry) see what the
///   threshold shows, never the held lines (they sit behind a per-layer filter of the
///   threshold while this is on).
/// * Tested with 100 concurrent requests over loopback: every failed request's DEBUG
///   lines are in the file just before its error, each line in its own request; no DEBUG
///   line of a successful request is anywhere.
///
/// **What it costs** (`cargo bench -p tracing-logbook-bench --bench crossed`; figures in
/// the repository's `benches/README.md`): a request span with 10 held DEBUG lines that
/// succeeds costs about 6.7 µs instead of 0.32 µs, about 640 ns per held line (its
/// capture and an owned copy; nothing is rendered unless it is written), and holds about
/// 430 bytes per line. Outside request spans, a `debug!` callsite between the buffered
/// level and the threshold loses tracing's cached "never": about 23 ns per call instead
/// of 0.35 ns. Everything else costs what it did.
///
/// [`Env::fingers_crossed`]: crate::Env::fingers_crossed
///
/// # Examples
///
/// ```
/// use tracing_logbook::{Env, FingersCrossed, Level, Mode};
///
/// let env = Env::new(Mode::Production)
///     .fingers_crossed(Some(FingersCrossed::new(Level::Debug).max_lines(200)));
/// let from_env = Env::from_lookup(|name| {
///     (name == "LOG_FINGERS_CROSSED").then(|| "debug".to_owned())
/// })?;
/// # Ok::<(), tracing_logbook::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FingersCrossed {
    level: Level,
    max_lines: usize,
    max_bytes: usize,
}

impl FingersCrossed {
    /// The default [`max_lines`](Self::max_lines): 1000 lines per span.
    pub const DEFAULT_MAX_LINES: usize = 1000;
    /// The default [`max_bytes`](Self::max_bytes): 32 MiB for all buffers together.
    pub const DEFAULT_MAX_BYTES: usize = 32 << 20;

    /// Buffers lines down to `level` (inclusive), with the default bounds.
    pub fn new(level: Level) -> FingersCrossed {
        FingersCrossed {
            level,
            max_lines: Self::DEFAULT_MAX_LINES,
            max_bytes: Self::DEFAULT_MAX_BYTES,
        }
    }

    /// Keeps at most `n` lines (at least 1) per span; older lines are dropped first.
    #[must_use]
    pub fn max_lines(mut self, n: usize) -> FingersCrossed {
        self.max_lines = n.max(1);
        self
    }

    /// Keeps at most `bytes` of buffered lines in all spans together (counting each
    /// line's text, fields and bookkeeping, and the span fields it keeps alive: a
    /// `span.record` between two held lines leaves the span's older fields with the
    /// first); a span that would pass it drops its own oldest lines.
    #[must_use]
    pub fn max_bytes(mut self, bytes: usize) -> FingersCrossed {
        self.max_bytes = bytes;
        self
    }

    /// The most verbose level buffered.
    pub fn level(&self) -> Level {
        self.level
    }
}

/// What the fingers-crossed buffers hold now, and what they dropped (see
/// [`Guard::buffered`](crate::Guard::buffered)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BufferStats {
    /// Lines held in all buffers now.
    pub lines: usize,
    /// Bytes held in all buffers now (the quantity [`FingersCrossed::max_bytes`] bounds).
    pub bytes: usize,
    /// Lines dropped so far because a buffer was full.
    pub dropped: u64,
    /// Buffers written so far because of an error.
    pub flushed: u64,
}

/// The counters every buffer shares.
#[derive(Debug, Default)]
pub(crate) struct Memory {
    lines: AtomicUsize,
    bytes: AtomicUsize,
    dropped: AtomicU64,
    flushed: AtomicU64,
    /// The order of held lines across spans, for merging nested buffers.
    seq: AtomicU64,
}

impl Memory {
    pub(crate) fn stats(&self) -> BufferStats {
        BufferStats {
            lines: self.lines.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            flushed: self.flushed.load(Ordering::Relaxed),
        }
    }
}

// === the spine's side: held lines and their buffers ===

/// A record kept for later: everything a layout reads, owned.
#[derive(Debug)]
struct Held {
    seq: u64,
    /// The event's name (`http.response`, or tracing's `event file:line`).
    name: &'static str,
    time: OffsetDateTime,
    level: Level,
    line: Option<u32>,
    /// The message, then the target, the file and the module path.
    text: String,
    message_end: usize,
    target_end: usize,
    file_end: Option<usize>,
    module_end: Option<usize>,
    fields: FieldList,
    spans: Vec<SpanRef>,
    trace: Option<crate::record::otel::TraceIds>,
}

impl Held {
    fn of(record: &Record<'_>, seq: u64) -> Held {
        let mut text = String::with_capacity(
            record.message.len()
                + record.target.len()
                + record.file.map_or(0, str::len)
                + record.module.map_or(0, str::len),
        );
        text.push_str(record.message);
        let message_end = text.len();
        text.push_str(record.target);
        let target_end = text.len();
        let file_end = record.file.map(|f| {
            text.push_str(f);
            text.len()
        });
        let module_end = record.module.map(|m| {
            text.push_str(m);
            text.len()
        });
        Held {
            seq,
            name: record.name,
            time: record.time,
            level: record.level,
            line: record.line,
            text,
            message_end,
            target_end,
            file_end,
            module_end,
            fields: record.fields.clone(),
            // The span snapshots, without the entries: a buffer lives in an entry, and
            // must not keep one alive.
            spans: record
                .spans
                .iter()
                .map(|s| SpanRef {
                    name: s.name,
                    entry: None,
                    data: s.data.clone(),
                })
                .collect(),
            trace: record.trace,
        }
    }

    /// The bytes this line holds itself (what [`FingersCrossed::max_bytes`] bounds,
    /// with the span snapshots [`Buffer::push`] charges it).
    fn size(&self) -> usize {
        std::mem::size_of::<Held>()
            + self.text.capacity()
            + self.fields.retained_size()
            + self.spans.capacity() * std::mem::size_of::<SpanRef>()
    }

    fn record(&self) -> Record<'_> {
        let file = self.file_end.map(|end| &self.text[self.target_end..end]);
        let module_start = self.file_end.unwrap_or(self.target_end);
        Record {
            name: self.name,
            time: self.time,
            level: self.level,
            target: &self.text[self.message_end..self.target_end],
            file,
            line: self.line,
            module: self.module_end.map(|end| &self.text[module_start..end]),
            message: &self.text[..self.message_end],
            fields: &self.fields,
            spans: &self.spans,
            trace: self.trace,
        }
    }
}

/// One span's held lines (side data of the spine on the span's entry).
#[derive(Debug)]
struct Buffer {
    lines: VecDeque<(usize, Held)>,
    bytes: usize,
    dropped: u64,
    /// An error happened in this span: later lines are written at once.
    triggered: bool,
    memory: Arc<Memory>,
}

impl Buffer {
    fn new(memory: Arc<Memory>) -> Buffer {
        Buffer {
            lines: VecDeque::new(),
            bytes: 0,
            dropped: 0,
            triggered: false,
            memory,
        }
    }

    /// The bytes of the snapshots in `held` that `previous` does not keep alive: a span
    /// snapshot is charged to the oldest line that keeps it (a `span.record` between
    /// two lines makes a new snapshot, and the old one lives on in the held line: a
    /// request span recording 1 KB before each of 1,000 lines keeps 500 MB of them).
    fn snapshots_charged(held: &Held, previous: Option<&Held>) -> usize {
        held.spans
            .iter()
            .filter(|s| {
                previous.is_none_or(|p| !p.spans.iter().any(|q| Arc::ptr_eq(&q.data, &s.data)))
            })
            .map(|s| s.data.retained_size())
            .sum()
    }

    fn pop_oldest(&mut self) -> bool {
        let Some((mut size, oldest)) = self.lines.pop_front() else {
            return false;
        };
        // The snapshots the next line shares with it stay alive: their charge moves on.
        if let Some((next_size, next)) = self.lines.front_mut() {
            let shared = oldest
                .spans
                .iter()
                .filter(|s| next.spans.iter().any(|q| Arc::ptr_eq(&q.data, &s.data)));
            let moved: usize = shared
                .map(|s| s.data.retained_size())
                .sum::<usize>()
                .min(size);
            *next_size += moved;
            size -= moved;
        }
        self.release(size, 1);
        self.dropped += 1;
        self.memory.dropped.fetch_add(1, Ordering::Relaxed);
        true
    }

    fn release(&mut self, bytes: usize, lines: usize) {
        self.bytes -= bytes;
        self.memory.bytes.fetch_sub(bytes, Ordering::Relaxed);
        self.memory.lines.fetch_sub(lines, Ordering::Relaxed);
    }

    fn push(&mut self, held: Held, config: &FingersCrossed) {
        while self.lines.len() >= config.max_lines {
            self.pop_oldest();
        }
        let size = held.size() + Self::snapshots_charged(&held, self.lines.back().map(|(_, h)| h));
        // Reserve the room with one compare-and-swap, so that concurrent spans never
        // pass the cap together.
        let mut now = self.memory.bytes.load(Ordering::Relaxed);
        loop {
            if now.saturating_add(size) <= config.max_bytes {
                match self.memory.bytes.compare_exchange_weak(
                    now,
                    now + size,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => break,
                    Err(actual) => now = actual,
                }
            } else if self.pop_oldest() {
                now = self.memory.bytes.load(Ordering::Relaxed);
            } else {
                // Nothing of ours left to give up: the new line is the one dropped.
                self.dropped += 1;
                self.memory.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        self.memory.lines.fetch_add(1, Ordering::Relaxed);
        self.bytes += size;
        self.lines.push_back((size, held));
    }

    /// Marks the buffer triggered and hands over its lines and drop count.
    fn take(&mut self, into: &mut Vec<Held>) -> u64 {
        self.triggered = true;
        let lines = self.lines.len();
        let bytes = self.bytes;
        into.extend(self.lines.drain(..).map(|(_, held)| held));
        self.release(bytes, lines);
        std::mem::take(&mut self.dropped)
    }

    fn clear(&mut self) {
        let lines = self.lines.len();
        let bytes = self.bytes;
        self.lines.clear();
        self.release(bytes, lines);
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        self.clear();
    }
}

impl crate::record::Side for Buffer {
    fn reset(&mut self) {
        self.clear();
        self.dropped = 0;
        self.triggered = false;
    }
}

/// The spine's fingers-crossed state: the settings, the filter it asks again, and the
/// counters.
pub(crate) struct Crossing {
    filter: ReloadableFilter,
    config: FingersCrossed,
    pub(crate) memory: Arc<Memory>,
}

impl std::fmt::Debug for Crossing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crossing")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Crossing {
    pub(crate) fn new(filter: ReloadableFilter, config: FingersCrossed) -> Crossing {
        Crossing {
            filter,
            config,
            memory: Arc::new(Memory::default()),
        }
    }

    /// The most verbose level buffered.
    pub(crate) fn level(&self) -> Level {
        self.config.level
    }

    /// Whether `event` is below the threshold (it came through the [gate](crate::filter::gate) only).
    pub(crate) fn below<S>(&self, event: &Event<'_>, ctx: &Context<'_, S>) -> bool
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let normalized = crate::record::from_log::normalized(event);
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        let level = Level::of(meta);
        if level < self.config.level || self.filter.floor().is_some_and(|floor| level >= floor) {
            return false;
        }
        !self.filter.shows(meta, ctx)
    }

    /// Hands `record` to `output`, buffering, flushing or dropping as its spans say.
    /// `id` is the spine's layer id (its side data on span entries).
    pub(crate) fn route<O: Emit + ?Sized>(
        &self,
        id: usize,
        below: bool,
        record: &Record<'_>,
        output: &O,
    ) {
        let innermost = record
            .spans
            .iter()
            .rposition(|s| s.entry.as_ref().is_some_and(|e| e.crossed));
        let make = || Buffer::new(self.memory.clone());
        if below {
            // Admitted by the gate for a buffering span it turned out not to be in (an
            // explicit parent elsewhere): below the threshold, so not shown.
            let Some(i) = innermost else { return };
            let Some(entry) = &record.spans[i].entry else {
                return;
            };
            // A buffering span opened inside one that already failed is failed too:
            // its lines are written at once, like its parent's.
            let failed_outside = record.spans[..i].iter().any(|s| {
                s.entry
                    .as_ref()
                    .filter(|e| e.crossed)
                    .is_some_and(|e| e.read_side(id, |b: &Buffer| b.triggered).unwrap_or(false))
            });
            let seq = self.memory.seq.fetch_add(1, Ordering::Relaxed);
            let written = entry.with_side(id, make, |buffer| {
                buffer.triggered |= failed_outside;
                if !buffer.triggered {
                    buffer.push(Held::of(record, seq), &self.config);
                }
                buffer.triggered
            });
            if written {
                output.emit_lines(record);
            }
            return;
        }
        if let (Some(i), true) = (innermost, record.level >= Level::Error) {
            let mut held = Vec::new();
            let mut dropped = 0;
            for span in &record.spans[..=i] {
                if let Some(entry) = span.entry.as_ref().filter(|e| e.crossed) {
                    dropped += entry.with_side(id, make, |buffer| buffer.take(&mut held));
                }
            }
            if !held.is_empty() || dropped > 0 {
                self.memory.flushed.fetch_add(1, Ordering::Relaxed);
            }
            held.sort_by_key(|h| h.seq);
            let message = format!("{dropped} buffered lines dropped");
            let fields = FieldList::default();
            let mut block = Vec::with_capacity(held.len() + 2);
            if dropped > 0 {
                let mut notice = Record::notice(
                    held.first().map_or(record.time, |h| h.time),
                    Level::Warning,
                    &message,
                    &fields,
                );
                notice.spans = &record.spans[..=i];
                block.push(notice);
            }
            block.extend(held.iter().map(Held::record));
            block.push(record.reborrow());
            // The held lines and the error in one piece per line output; the error
            // alone to the others.
            output.emit_failed(&block, record);
            return;
        }
        output.emit(record);
    }

    /// Drops the buffer of a closing span.
    pub(crate) fn close(&self, id: usize, entry: &SpanEntry) {
        if entry.crossed {
            entry.with_side(id, || Buffer::new(self.memory.clone()), Buffer::clear);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use time::macros::datetime;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::clock::{ManualClock, Timezone};
    use crate::layer::{Formatted, Spine};
    use crate::layout::logbook::LogbookLayout;
    use crate::sink::CaptureWriter;

    struct Setup {
        dispatch: tracing::Dispatch,
        out: CaptureWriter,
        clock: ManualClock,
        memory: Arc<Memory>,
        filter: ReloadableFilter,
    }

    /// The spine with one Logbook output, the filter `spec` and fingers crossed `config`.
    fn setup(spec: &str, config: FingersCrossed) -> Setup {
        let out = CaptureWriter::new();
        let clock = ManualClock::new(datetime!(2026-11-23 19:28:08 UTC));
        let filter = ReloadableFilter::new(LogbookFilter::parse(spec).unwrap());
        filter.set_fingers_crossed(config.level());
        let crossing = Crossing::new(filter.clone(), config);
        let memory = crossing.memory.clone();
        let layout = LogbookLayout::new(Timezone::Utc, false, Vec::new());
        let outputs: Vec<Box<dyn Emit>> = vec![Box::new(Formatted::new(layout, out.clone()))];
        let clock_arc: Arc<dyn crate::clock::Clock> = Arc::new(clock.clone());
        let subscriber = tracing_subscriber::registry()
            .with(filter.clone())
            .with(Spine::new(
                crate::layer::Outputs::new(outputs, clock_arc.clone()),
                clock_arc,
                Some(crossing),
            ));
        Setup {
            dispatch: tracing::Dispatch::new(subscriber),
            out,
            clock,
            memory,
            filter,
        }
    }

    fn lines(out: &CaptureWriter) -> Vec<String> {
        out.take_string().lines().map(str::to_owned).collect()
    }

    #[test]
    fn an_error_writes_the_buffer_first_with_its_own_times() {
        let s = setup("info", FingersCrossed::new(Level::Debug));
        tracing::dispatcher::with_default(&s.dispatch, || {
            let span = tracing::error_span!(target: "http", "request", id = 7);
            let _in = span.enter();
            tracing::debug!(target: "app", step = 1, "parsing");
            s.clock.advance(time::Duration::milliseconds(1));
            tracing::info!(target: "app", "shown at once");
            s.clock.advance(time::Duration::milliseconds(1));
            tracing::trace!(target: "app", "below the buffered level");
            tracing::debug!(target: "app", "querying");
            assert_eq!(s.memory.stats().lines, 2);
            s.clock.advance(time::Duration::milliseconds(1));
            tracing::error!(target: "app", "query failed");
            s.clock.advance(time::Duration::milliseconds(1));
            tracing::debug!(target: "app", "after the error");
        });
        assert_eq!(
            lines(&s.out),
            [
                "[2026-11-23 19:28:08.001000] INFO: app: shown at once in request{id=7}",
                "[2026-11-23 19:28:08.000000] DEBUG: app: parsing step=1 in request{id=7}",
                "[2026-11-23 19:28:08.002000] DEBUG: app: querying in request{id=7}",
                "[2026-11-23 19:28:08.003000] ERROR: app: query failed in request{id=7}",
                "[2026-11-23 19:28:08.004000] DEBUG: app: after the error in request{id=7}",
            ]
        );
        let stats = s.memory.stats();
        assert_eq!((stats.lines, stats.bytes, stats.flushed), (0, 0, 1));
    }

    #[test]
    fn a_span_without_an_error_drops_its_buffer() {
        let s = setup("info", FingersCrossed::new(Level::Debug));
        tracing::dispatcher::with_default(&s.dispatch, || {
            tracing::debug!("outside any request");
            {
                let _in = tracing::error_span!("request").entered();
                tracing::debug!("held");
                tracing::warn!("slow");
                assert!(s.memory.stats().bytes > 0);
            }
            assert_eq!(s.memory.stats().bytes, 0);
            tracing::error!("an error outside the request");
        });
        let lines = lines(&s.out);
        assert_eq!(lines.len(), 2, "{lines:#?}");
        assert!(
            lines[0].ends_with("WARNING: tracing_logbook::layer::crossed::tests: slow in request")
        );
        assert!(lines[1].contains("ERROR: "), "{lines:#?}");
    }

    #[test]
    fn the_field_turns_buffering_on_and_off() {
        let s = setup("warning", FingersCrossed::new(Level::Info));
        tracing::dispatcher::with_default(&s.dispatch, || {
            {
                // Below the threshold itself: the field still makes it exist.
                let _job = tracing::info_span!("job", logbook.fingers_crossed = true).entered();
                tracing::info!("job step");
                tracing::error!("job failed");
            }
            {
                let _quiet =
                    tracing::error_span!("request", logbook.fingers_crossed = false).entered();
                tracing::info!("not buffered");
                tracing::error!("request failed");
            }
        });
        let lines = lines(&s.out);
        let tails: Vec<&str> = lines.iter().map(|l| &l[29..]).collect();
        assert_eq!(
            tails,
            [
                "INFO: tracing_logbook::layer::crossed::tests: job step in job",
                "ERROR: tracing_logbook::layer::crossed::tests: job failed in job",
                "ERROR: tracing_logbook::layer::crossed::tests: request failed in request",
            ]
        );
    }

    #[test]
    fn targets_the_threshold_shows_are_written_at_once() {
        let s = setup(
            "info,shown=debug,silent=off",
            FingersCrossed::new(Level::Debug),
        );
        tracing::dispatcher::with_default(&s.dispatch, || {
            let _in = tracing::error_span!("request").entered();
            tracing::debug!(target: "shown", "one");
            tracing::debug!(target: "other", "two");
            tracing::error!(target: "silent", "three");
            assert_eq!(s.memory.stats().lines, 2);
            tracing::error!(target: "other", "four");
        });
        let lines = lines(&s.out);
        let messages: Vec<&str> = lines
            .iter()
            .map(|l| l.rsplit(": ").next().unwrap())
            .collect();
        assert_eq!(
            messages,
            [
                "one in request",
                "two in request",
                "three in request",
                "four in request"
            ]
        );
        assert!(lines[2].contains("ERROR: silent: "), "{lines:#?}");
    }

    #[test]
    fn a_reloaded_filter_moves_the_threshold_under_the_buffers() {
        let s = setup("info", FingersCrossed::new(Level::Debug));
        tracing::dispatcher::with_default(&s.dispatch, || {
            let _in = tracing::error_span!("request").entered();
            tracing::debug!("held");
            s.filter.set(LogbookFilter::parse("debug").unwrap());
            assert_eq!(s.filter.floor(), Some(Level::Debug));
            tracing::debug!("shown at once");
            s.filter.set(LogbookFilter::parse("info").unwrap());
            tracing::debug!("held again");
            assert_eq!(s.memory.stats().lines, 2);
        });
        // `set` also moved the `log` crate's global maximum: give it back.
        log::set_max_level(log::LevelFilter::Trace);
        let lines = lines(&s.out);
        assert_eq!(lines.len(), 1, "{lines:#?}");
        assert!(lines[0]
            .ends_with("DEBUG: tracing_logbook::layer::crossed::tests: shown at once in request"));
    }

    #[test]
    fn the_floor_is_the_most_severe_threshold() {
        let floor = |spec: &str| LogbookFilter::parse(spec).unwrap().floor();
        assert_eq!(floor(""), Some(Level::Info));
        assert_eq!(floor("debug"), Some(Level::Debug));
        assert_eq!(floor("my_app=trace"), Some(Level::Info));
        assert_eq!(floor("debug,hyper=warn"), Some(Level::Warning));
        assert_eq!(floor("notice"), Some(Level::Notice));
        assert_eq!(floor("info,noisy=off"), None);
        assert_eq!(floor("info,[request]=debug"), None);
    }

    #[test]
    fn span_directives_are_asked_for_every_line() {
        let s = setup("info,[request]=debug", FingersCrossed::new(Level::Trace));
        tracing::dispatcher::with_default(&s.dispatch, || {
            let _in = tracing::error_span!("request").entered();
            tracing::debug!("shown by the span directive");
            tracing::trace!("held");
            assert_eq!(s.memory.stats().lines, 1);
        });
        let lines = lines(&s.out);
        assert_eq!(lines.len(), 1, "{lines:#?}");
        assert!(lines[0].contains("DEBUG: "), "{lines:#?}");
    }

    #[test]
    fn full_buffers_drop_their_oldest_lines_and_say_so() {
        let s = setup("info", FingersCrossed::new(Level::Debug).max_lines(3));
        tracing::dispatcher::with_default(&s.dispatch, || {
            let _in = tracing::error_span!("request").entered();
            for i in 0..5 {
                tracing::debug!(i, "step");
            }
            tracing::error!("failed");
        });
        let lines = lines(&s.out);
        let tails: Vec<&str> = lines.iter().map(|l| &l[29..]).collect();
        assert_eq!(
            tails,
            [
                "WARNING: tracing-logbook: 2 buffered lines dropped in request",
                "DEBUG: tracing_logbook::layer::crossed::tests: step i=2 in request",
                "DEBUG: tracing_logbook::layer::crossed::tests: step i=3 in request",
                "DEBUG: tracing_logbook::layer::crossed::tests: step i=4 in request",
                "ERROR: tracing_logbook::layer::crossed::tests: failed in request",
            ]
        );
        assert_eq!(s.memory.stats().dropped, 2);
    }

    #[test]
    fn all_buffers_together_stay_under_the_memory_cap() {
        let cap = 8 * 1024;
        let s = setup("info", FingersCrossed::new(Level::Debug).max_bytes(cap));
        let max_seen = AtomicUsize::new(0);
        // A span that starts when the others have taken all the room keeps none (a
        // span gives up only its own lines): the failing span starts first.
        let started = std::sync::Barrier::new(8);
        std::thread::scope(|scope| {
            for t in 0..8 {
                let (s, max_seen, started) = (&s, &max_seen, &started);
                scope.spawn(move || {
                    tracing::dispatcher::with_default(&s.dispatch, || {
                        let _in = tracing::error_span!("request", t).entered();
                        if t != 0 {
                            started.wait();
                        }
                        for i in 0..200 {
                            tracing::debug!(i, "a line of some length to fill the buffer");
                            max_seen.fetch_max(s.memory.stats().bytes, Ordering::Relaxed);
                            if t == 0 && i == 4 {
                                started.wait();
                            }
                        }
                        if t == 0 {
                            tracing::error!("failed");
                        }
                    });
                });
            }
        });
        assert!(max_seen.load(Ordering::Relaxed) <= cap);
        let stats = s.memory.stats();
        assert_eq!((stats.lines, stats.bytes), (0, 0));
        assert!(stats.dropped > 0);
        let lines = lines(&s.out);
        assert!(
            lines[0].contains("buffered lines dropped in request{t=0}"),
            "{}",
            lines[0]
        );
        assert!(lines.len() > 2 && lines.iter().all(|l| l.ends_with("request{t=0}")));
        assert!(lines.last().unwrap().contains("ERROR"));
    }

    #[test]
    fn a_buffering_span_opened_after_its_request_failed_writes_at_once() {
        let s = setup("info", FingersCrossed::new(Level::Debug));
        tracing::dispatcher::with_default(&s.dispatch, || {
            let request = tracing::error_span!("request", id = 7);
            let _in = request.enter();
            tracing::error!("failed");
            let job = tracing::info_span!("job", logbook.fingers_crossed = true);
            let _job = job.enter();
            tracing::debug!("inside the job");
            // A nested request span too.
            let inner = tracing::error_span!("request", id = 8);
            let _inner = inner.enter();
            tracing::debug!("inside the inner request");
        });
        let lines = lines(&s.out);
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(lines[1].contains(": inside the job"), "{}", lines[1]);
        assert!(
            lines[2].contains("DEBUG: ") && lines[2].contains(": inside the inner request"),
            "{}",
            lines[2]
        );
        assert_eq!(s.memory.stats().lines, 0);
    }

    /// A span that records between its lines makes a new snapshot each time; the held
    /// lines keep the old ones alive, and those count against the cap.
    #[test]
    fn span_snapshots_kept_by_held_lines_count_against_the_cap() {
        let cap = 256 * 1024;
        let s = setup("info", FingersCrossed::new(Level::Debug).max_bytes(cap));
        let kilobyte = "x".repeat(1024);
        let max_seen = AtomicUsize::new(0);
        tracing::dispatcher::with_default(&s.dispatch, || {
            let span = tracing::error_span!("request", data = tracing::field::Empty);
            let _in = span.enter();
            for i in 0..400 {
                span.record("data", kilobyte.as_str());
                tracing::debug!(i, "after a record");
                max_seen.fetch_max(s.memory.stats().bytes, Ordering::Relaxed);
            }
            // Counted without the snapshots, 400 short lines fit in 256 KiB; with them,
            // (snapshots of 1 KiB, 2 KiB, ... each) only the last dozen or so can.
            let stats = s.memory.stats();
            assert!(stats.lines < 30, "{stats:?}");
            assert!(stats.dropped > 370, "{stats:?}");
            tracing::error!("failed");
        });
        assert!(max_seen.load(Ordering::Relaxed) <= cap);
        let stats = s.memory.stats();
        assert_eq!((stats.lines, stats.bytes), (0, 0), "every charge released");
        let lines = lines(&s.out);
        assert!(lines[0].contains("buffered lines dropped"), "{}", lines[0]);
        let last = lines.last().unwrap();
        assert!(
            last.contains("ERROR: ") && last.contains(": failed in request"),
            "{last:.200}"
        );
    }

    #[test]
    fn concurrent_requests_never_mix() {
        let s = setup("info", FingersCrossed::new(Level::Debug));
        std::thread::scope(|scope| {
            for t in 0..16 {
                let s = &s;
                scope.spawn(move || {
                    tracing::dispatcher::with_default(&s.dispatch, || {
                        for r in 0..20 {
                            let id = t * 100 + r;
                            let _in = tracing::error_span!("request", id).entered();
                            for step in 0..5 {
                                tracing::debug!(id, step, "working");
                            }
                            if id % 3 == 0 {
                                tracing::error!(id, "failed");
                            }
                        }
                    });
                });
            }
        });
        let lines = lines(&s.out);
        let mut steps: std::collections::BTreeMap<u32, Vec<u32>> = Default::default();
        for (at, line) in lines.iter().enumerate() {
            // A flushed buffer is one piece: the five lines just before the error.
            if line.contains("ERROR") {
                let span = &line[line.rfind(" in request{").unwrap()..];
                let before = &lines[at - 5..at];
                assert!(
                    before
                        .iter()
                        .all(|l| l.contains("DEBUG") && l.ends_with(span)),
                    "{line}: {before:#?}"
                );
            }
            let id: u32 = line
                .split(" id=")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            assert!(line.ends_with(&format!("in request{{id={id}}}")), "{line}");
            assert_eq!(id % 3, 0, "a line of a request without an error: {line}");
            if line.contains("DEBUG") {
                let step = line
                    .split("step=")
                    .nth(1)
                    .unwrap()
                    .split(' ')
                    .next()
                    .unwrap();
                steps.entry(id).or_default().push(step.parse().unwrap());
            } else {
                // The error comes after all five of its request's lines.
                assert_eq!(steps[&id], [0, 1, 2, 3, 4], "{line}");
            }
        }
        assert_eq!(
            steps.len(),
            (0..16 * 100).filter(|i| i % 100 < 20 && i % 3 == 0).count()
        );
    }

    #[test]
    fn nested_buffering_spans_flush_together_in_order() {
        let s = setup("info", FingersCrossed::new(Level::Debug));
        tracing::dispatcher::with_default(&s.dispatch, || {
            let request = tracing::error_span!("request");
            let _in = request.enter();
            tracing::debug!("one");
            let job = tracing::info_span!("job", logbook.fingers_crossed = true);
            job.in_scope(|| tracing::debug!("two"));
            tracing::debug!("three");
            job.in_scope(|| tracing::error!("four"));
        });
        let lines = lines(&s.out);
        let tails: Vec<&str> = lines
            .iter()
            .map(|l| l.rsplit(": ").next().unwrap())
            .collect();
        assert_eq!(
            tails,
            [
                "one in request",
                "two in request:job",
                "three in request",
                "four in request:job"
            ]
        );
    }
}
