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

    /// Emits `record` if this output writes lines (a line below the threshold in a
    /// request that already failed).
    fn emit_lines(&self, record: &Record<'_>) {
        if self.writes_lines() {
            self.emit(record);
        }
    }

    /// Emits a failed request's `block` (its held lines, then its error `record`) if
    /// this output writes lines, else the error alone.
    fn emit_failed(&self, block: &[Record<'_>], record: &Record<'_>) {
        if self.writes_lines() {
            self.emit_block(block);
        } else {
            self.emit(record);
        }
    }
}

/// The fan-out: each output in turn, with the record captured once.
impl Emit for Vec<Box<dyn Emit>> {
    #[inline]
    fn emit(&self, record: &Record<'_>) {
        self.iter().for_each(|o| o.emit(record));
    }

    fn emit_block(&self, records: &[Record<'_>]) {
        self.iter().for_each(|o| o.emit_block(records));
    }

    fn writes_lines(&self) -> bool {
        self.iter().any(|o| o.writes_lines())
    }

    fn emit_lines(&self, record: &Record<'_>) {
        self.iter().for_each(|o| o.emit_lines(record));
    }

    fn emit_failed(&self, block: &[Record<'_>], record: &Record<'_>) {
        self.iter().for_each(|o| o.emit_failed(block, record));
    }
}

impl Emit for Box<dyn Emit> {
    #[inline]
    fn emit(&self, record: &Record<'_>) {
        (**self).emit(record);
    }

    fn emit_block(&self, records: &[Record<'_>]) {
        (**self).emit_block(records);
    }

    fn writes_lines(&self) -> bool {
        (**self).writes_lines()
    }

    fn emit_lines(&self, record: &Record<'_>) {
        (**self).emit_lines(record);
    }

    fn emit_failed(&self, block: &[Record<'_>], record: &Record<'_>) {
        (**self).emit_failed(block, record);
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

/// The one `impl Layer` of the crate's outputs: captures each event once (one clock
/// reading, one visit) and hands the record to its output, through the fingers-crossed
/// buffers when they are on. Every public layer is a spine of one output; [`init`]
/// installs a spine of all of them (`Spine<Vec<Box<dyn Emit>>>`).
///
/// [`init`]: crate::init
pub(crate) struct Spine<O> {
    pub(crate) output: O,
    clock: Arc<dyn Clock>,
    id: usize,
    /// The dispatcher, for OpenTelemetry ids (feature `opentelemetry`).
    link: record::otel::Link,
    /// Fingers-crossed buffering, when on (then the global filter is its gate).
    crossed: Option<Crossing>,
}

impl<O: Emit> Spine<O> {
    pub(crate) fn new(output: O, clock: Arc<dyn Clock>, crossed: Option<Crossing>) -> Spine<O> {
        Spine {
            output,
            clock,
            id: record::next_layer_id(),
            link: Default::default(),
            crossed,
        }
    }

    /// The spine's output, for the public layers' accessors.
    pub(crate) fn into_output(self) -> O {
        self.output
    }
}

impl<O> fmt::Debug for Spine<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spine")
            .field("crossed", &self.crossed)
            .finish_non_exhaustive()
    }
}

impl<S, O> Layer<S> for Spine<O>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    O: Emit,
{
    record::span_hooks!();

    record::output_hooks!();

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        self.link.remember(event, &ctx);
        let Some(crossed) = &self.crossed else {
            record::capture(event, &ctx, self.clock.now_utc(), |record| {
                self.output.emit(record);
            });
            return;
        };
        let below = crossed.below(event, &ctx);
        record::capture(event, &ctx, self.clock.now_utc(), |record| {
            crossed.route(self.id, below, record, &self.output);
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

/// Implements `Layer` for a public layer type by handing every method to its spine
/// (the field named `$spine`): the public layers are spines of one output.
macro_rules! delegate_layer {
    ($spine:ident) => {
        fn on_register_dispatch(&self, dispatch: &tracing::Dispatch) {
            tracing_subscriber::Layer::<S>::on_register_dispatch(&self.$spine, dispatch);
        }

        fn register_callsite(
            &self,
            meta: &'static tracing::Metadata<'static>,
        ) -> tracing::subscriber::Interest {
            tracing_subscriber::Layer::<S>::register_callsite(&self.$spine, meta)
        }

        fn enabled(
            &self,
            meta: &tracing::Metadata<'_>,
            ctx: tracing_subscriber::layer::Context<'_, S>,
        ) -> bool {
            tracing_subscriber::Layer::<S>::enabled(&self.$spine, meta, ctx)
        }

        fn on_new_span(
            &self,
            attrs: &tracing::span::Attributes<'_>,
            id: &tracing::span::Id,
            ctx: tracing_subscriber::layer::Context<'_, S>,
        ) {
            tracing_subscriber::Layer::<S>::on_new_span(&self.$spine, attrs, id, ctx);
        }

        fn on_record(
            &self,
            id: &tracing::span::Id,
            values: &tracing::span::Record<'_>,
            ctx: tracing_subscriber::layer::Context<'_, S>,
        ) {
            tracing_subscriber::Layer::<S>::on_record(&self.$spine, id, values, ctx);
        }

        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            ctx: tracing_subscriber::layer::Context<'_, S>,
        ) {
            tracing_subscriber::Layer::<S>::on_event(&self.$spine, event, ctx);
        }

        fn on_close(&self, id: tracing::span::Id, ctx: tracing_subscriber::layer::Context<'_, S>) {
            tracing_subscriber::Layer::<S>::on_close(&self.$spine, id, ctx);
        }
    };
}
pub(crate) use delegate_layer;
