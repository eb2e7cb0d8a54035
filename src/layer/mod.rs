//! Layers: the only `impl Layer` for outputs. A [`Spine`] captures each event once and
//! hands the record to its output: a [`Formatted`] destination (a layout and a writer),
//! a notifier, the test capture, or a list of them (the fan-out [`init`](crate::init)
//! installs), with fingers-crossed buffering ([`crossed`]) in between when it is on.

pub(crate) mod crossed;

use std::fmt;
use std::sync::Arc;

use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::clock::Clock;
use crate::layout::{loss_notice, Layout};
use crate::record::{self, Record};
use crate::sink::{LineWriter, LossNotice};
use crossed::Crossing;

/// What an output does with a captured record.
pub(crate) trait Emit: Send + Sync + 'static {
    fn emit(&self, record: &Record<'_>);

    /// Emits `records` in order, together where the output can (a failed request's
    /// held lines and its error: no other thread's line between them).
    fn emit_block(&self, records: &[Record<'_>]) {
        records.iter().for_each(|r| self.emit(r));
    }

    /// Whether this output writes lines (stdout, a file, syslog), and so also writes
    /// the fingers-crossed lines of a failed request; notifiers do not.
    fn writes_lines(&self) -> bool {
        false
    }
}

/// A layout writing to a [`LineWriter`]: the body of the Logbook and JSON layers.
pub(crate) struct Formatted<L, W> {
    pub(crate) layout: Arc<L>,
    pub(crate) writer: W,
}

impl<L: Layout, W: LineWriter> Formatted<L, W> {
    pub(crate) fn new(layout: L, writer: W) -> Self {
        let layout = Arc::new(layout);
        writer.set_loss_notice(LossNotice(loss_notice(layout.clone(), "lines")));
        Formatted { layout, writer }
    }
}

impl<L: Layout, W: LineWriter> Emit for Formatted<L, W> {
    #[inline]
    fn emit(&self, record: &Record<'_>) {
        let shown = self.layout.shown_time(record.time);
        record::with_line(|buf| {
            self.layout.render(record, buf);
            self.writer.write_line(shown, buf.as_bytes());
        });
    }

    /// All records of one displayed day in one write (so a day's file gets that day's
    /// lines, as always).
    fn emit_block(&self, records: &[Record<'_>]) {
        record::with_line(|buf| {
            let mut day = None;
            let mut count = 0;
            let mut last = None;
            for record in records {
                let shown = self.layout.shown_time(record.time);
                if day.is_some_and(|d| d != shown.date()) {
                    if let Some(last) = last {
                        self.writer.write_lines(last, buf.as_bytes(), count);
                    }
                    buf.clear();
                    count = 0;
                }
                day = Some(shown.date());
                last = Some(shown);
                self.layout.render(record, buf);
                count += 1;
            }
            if let (Some(last), true) = (last, count > 0) {
                self.writer.write_lines(last, buf.as_bytes(), count);
            }
        });
    }

    fn writes_lines(&self) -> bool {
        true
    }
}

/// The layer [`init`](crate::init) installs: one capture per event, then every output.
pub(crate) struct Spine {
    outputs: Vec<Box<dyn Emit>>,
    clock: Arc<dyn Clock>,
    id: usize,
    /// The dispatcher, for OpenTelemetry ids (feature `opentelemetry`).
    link: record::otel::Link,
    /// Fingers-crossed buffering, when on (then the global filter is its `Gate`).
    crossed: Option<Crossing>,
}

impl Spine {
    pub(crate) fn new(
        outputs: Vec<Box<dyn Emit>>,
        clock: Arc<dyn Clock>,
        crossed: Option<Crossing>,
    ) -> Spine {
        Spine {
            outputs,
            clock,
            id: record::next_layer_id(),
            link: Default::default(),
            crossed,
        }
    }
}

impl fmt::Debug for Spine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spine")
            .field("outputs", &self.outputs.len())
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for Spine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    record::span_hooks!();

    record::output_hooks!();

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        self.link.remember(event, &ctx);
        if self.outputs.is_empty() {
            return;
        }
        let Some(crossed) = &self.crossed else {
            record::capture(event, &ctx, self.clock.now_utc(), |record| {
                for output in &self.outputs {
                    output.emit(record);
                }
            });
            return;
        };
        let below = crossed.below(event, &ctx);
        record::capture(event, &ctx, self.clock.now_utc(), |record| {
            crossed.route(self.id, below, record, &self.outputs);
        });
    }

    fn on_close(&self, id: tracing::span::Id, ctx: Context<'_, S>) {
        let Some(crossed) = &self.crossed else { return };
        let Some(span) = ctx.span(&id) else { return };
        let entry = span.extensions().get::<Arc<record::SpanEntry>>().cloned();
        if let Some(entry) = entry {
            crossed.close(self.id, &entry);
        }
    }
}
