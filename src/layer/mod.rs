//! Layers: the only `impl Layer` for outputs. A [`Spine`] captures each event once and
//! hands the record to its output: a [`Formatted`] destination (a layout and a writer),
//! a notifier, the test capture, or a list of them (the fan-out [`init`](crate::init)
//! installs), with fingers-crossed buffering ([`crossed`]) in between when it is on.

pub(crate) mod crossed;
pub(crate) mod ecs;
pub(crate) mod json;
pub(crate) mod logbook;
pub(crate) mod notify;

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::clock::Clock;
use crate::file::DailyFile;
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

    /// Whether this output's losses are announced in the other outputs' lines (see
    /// [`take_losses`](Self::take_losses)); decided once, when a fan-out is built.
    fn lends_losses(&self) -> bool {
        false
    }

    /// Losses of this output to be announced in the others' lines, taken once, when a
    /// record stamped `time` is logged (`last`: by the output's own flush or shutdown,
    /// after which no record may come to announce them): how many records, and what
    /// they are called (`OTLP records`). The OTLP exporter's; the others announce their
    /// own losses in their own output.
    fn take_losses(&self, _time: time::OffsetDateTime, _last: bool) -> Option<(u64, &'static str)> {
        None
    }

    /// Called once by the fan-out holding this output if it
    /// [lends its losses](Self::lends_losses): the way to announce them from its own
    /// flush and shutdown ([`Lent::announce_last`]).
    fn lend_to(&self, _lent: Lent) {}
}

/// The outputs of a fan-out, shared with the outputs that lend their losses (weakly:
/// the fan-out owns them).
type List = Vec<Box<dyn Emit>>;

/// The fan-out: each output in turn, with the record captured once; and the losses of
/// an output that lends them (the OTLP exporter) announced in the others' lines.
pub(crate) struct Outputs {
    list: Arc<List>,
    /// The outputs whose losses the others announce: none in most stacks, so the
    /// per-record look costs nothing there.
    lenders: Vec<usize>,
}

impl Outputs {
    /// The fan-out of `list`; `clock` stamps the notices its lenders announce at their
    /// flush and shutdown.
    pub(crate) fn new(list: Vec<Box<dyn Emit>>, clock: Arc<dyn Clock>) -> Outputs {
        let lenders: Vec<usize> = (0..list.len())
            .filter(|&i| list[i].lends_losses())
            .collect();
        let list = Arc::new(list);
        for &index in &lenders {
            list[index].lend_to(Lent {
                outputs: Arc::downgrade(&list),
                index,
                clock: clock.clone(),
            });
        }
        Outputs { list, lenders }
    }

    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    /// Announces the lenders' losses in the other outputs that write lines.
    #[inline]
    fn announce_losses(&self, time: time::OffsetDateTime) {
        for &i in &self.lenders {
            announce(&self.list, i, time, false);
        }
    }
}

/// Announces the losses of output `i` of `list` in the other outputs that write lines:
/// the crate's `WARNING` notice (`N OTLP records dropped`), as a file announces its own,
/// stamped `time`. Returns how many were announced.
fn announce(list: &List, i: usize, time: time::OffsetDateTime, last: bool) -> u64 {
    let Some((lost, unit)) = list[i].take_losses(time, last) else {
        return 0;
    };
    crate::layout::with_loss_record(time, lost, unit, |notice| {
        for (j, other) in list.iter().enumerate() {
            if j != i {
                other.emit_lines(notice);
            }
        }
    });
    lost
}

/// An output's way back to the fan-out that holds it, for the losses no later record
/// would announce: those its flush and shutdown find.
#[derive(Clone)]
// Only the OTLP exporter lends its losses.
#[cfg_attr(not(feature = "otlp"), allow(dead_code))]
pub(crate) struct Lent {
    outputs: std::sync::Weak<List>,
    index: usize,
    clock: Arc<dyn Clock>,
}

#[cfg_attr(not(feature = "otlp"), allow(dead_code))]
impl Lent {
    /// Announces every loss of the lending output not announced yet in the other
    /// outputs, stamped now: how many, or `None` once the fan-out is gone.
    pub(crate) fn announce_last(&self) -> Option<u64> {
        let list = self.outputs.upgrade()?;
        Some(announce(&list, self.index, self.clock.now_utc(), true))
    }
}

impl Emit for Outputs {
    #[inline]
    fn emit(&self, record: &Record<'_>) {
        self.list.iter().for_each(|o| o.emit(record));
        self.announce_losses(record.time);
    }

    fn emit_block(&self, records: &[Record<'_>]) {
        self.list.iter().for_each(|o| o.emit_block(records));
        if let Some(last) = records.last() {
            self.announce_losses(last.time);
        }
    }

    fn writes_lines(&self) -> bool {
        self.list.iter().any(|o| o.writes_lines())
    }

    fn emit_lines(&self, record: &Record<'_>) {
        self.list.iter().for_each(|o| o.emit_lines(record));
    }

    fn emit_failed(&self, block: &[Record<'_>], record: &Record<'_>) {
        self.list.iter().for_each(|o| o.emit_failed(block, record));
    }
}

/// A layout writing to a [`LineWriter`]: the body of the Logbook and JSON layers.
pub(crate) struct Formatted<L, W> {
    pub(crate) layout: Arc<L>,
    pub(crate) writer: W,
}

impl<L: Layout, W: LineWriter> Formatted<L, W> {
    /// The layout writing to `writer`. A daily file (the one writer that can lose
    /// records) is told to announce its losses in this layout.
    pub(crate) fn new(layout: L, writer: W) -> Self {
        let layout = Arc::new(layout);
        if let Some(file) = daily_file(&writer) {
            file.set_loss_notice(LossNotice(loss_notice(layout.clone(), "lines")));
        }
        Formatted { layout, writer }
    }
}

/// The daily file `writer` is, directly or behind an `Arc` or a `Box`.
fn daily_file<W: LineWriter>(writer: &W) -> Option<&DailyFile> {
    let writer: &dyn Any = writer;
    writer
        .downcast_ref::<DailyFile>()
        .or_else(|| writer.downcast_ref::<Arc<DailyFile>>().map(|f| &**f))
        .or_else(|| writer.downcast_ref::<Box<DailyFile>>().map(|f| &**f))
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

/// The methods every spine has besides `span_hooks!`: registration with the dispatcher (for the OpenTelemetry
/// link, a `link` field), and the HTTP client's own output on the notifier's thread,
/// which carries the credentials, disabled for every output.
macro_rules! output_hooks {
    () => {
        fn on_register_dispatch(&self, dispatch: &tracing::Dispatch) {
            self.link.register(dispatch);
        }

        fn register_callsite(
            &self,
            meta: &'static tracing::Metadata<'static>,
        ) -> tracing::subscriber::Interest {
            $crate::filter::client::client_interest(meta)
        }

        fn enabled(
            &self,
            meta: &tracing::Metadata<'_>,
            _ctx: tracing_subscriber::layer::Context<'_, S>,
        ) -> bool {
            !$crate::filter::client::is_client_output(meta)
        }
    };
}

/// The one `impl Layer` of the crate's outputs: captures each event once (one clock
/// reading, one visit) and hands the record to its output, through the fingers-crossed
/// buffers when they are on. Every public layer is a spine of one output; [`init`]
/// installs a spine of all of them (`Spine<Outputs>`).
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

    output_hooks!();

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
        let entry = span
            .extensions()
            .get::<record::Slot>()
            .and_then(record::Slot::entry)
            .cloned();
        if let Some(entry) = entry {
            crossed.close(self.id, &entry);
        }
    }
}

/// Everything the layers that write JSON objects ([`JsonLayer`](crate::JsonLayer),
/// [`EcsLayer`](crate::EcsLayer)) share besides their docs and layout: the builder's
/// clock and time-zone setters, `build` and `build_stdout`; the layer's `builder`,
/// `writer` and `into_output`; `Debug`; and `Layer` by delegation to the spine. For a
/// layer `$layer<W>` holding `spine: Spine<Formatted<$layout, W>>` and a builder
/// `$builder` with `clock: Option<Arc<dyn Clock>>` and `timezone: Timezone`.
macro_rules! object_layer {
    ($layer:ident, $builder:ident, $layout:ty) => {
        impl $builder {
            #[doc = concat!(
                "Uses `clock` instead of the system clock (for tests).\n\n```\n",
                "use tracing_logbook::testing::{CaptureWriter, ManualClock};\n",
                "use tracing_subscriber::prelude::*;\n\n",
                "let out = CaptureWriter::new();\n",
                "let clock = ManualClock::new(time::macros::datetime!(2026-11-23 19:28:08.123456 UTC));\n",
                "let layer = tracing_logbook::", stringify!($layer), "::builder().clock(clock).build(out.clone());\n",
                "tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {\n",
                "    tracing::info!(\"fixed\");\n",
                "});\n",
                "assert!(out.take_string().contains(\"2026-11-23T19:28:08.123456Z\"));\n```"
            )]
            pub fn clock(mut self, clock: impl $crate::Clock) -> Self {
                self.clock = Some(std::sync::Arc::new(clock));
                self
            }

            #[doc = concat!(
                "Uses a shared clock.\n\n```\n",
                "let clock: std::sync::Arc<dyn tracing_logbook::Clock> = std::sync::Arc::new(tracing_logbook::SystemClock);\n",
                "let layer = tracing_logbook::", stringify!($layer), "::builder().shared_clock(clock).build_stdout();\n```"
            )]
            pub fn shared_clock(mut self, clock: std::sync::Arc<dyn $crate::Clock>) -> Self {
                self.clock = Some(clock);
                self
            }

            #[doc = concat!(
                "Sets where the day of a daily file begins. Timestamps in the objects are always ",
                "UTC; the zone only decides which daily file a record goes to.\n\n```\n",
                "let layer = tracing_logbook::", stringify!($layer), "::builder()\n",
                "    .timezone(tracing_logbook::Timezone::Local)\n",
                "    .build_stdout();\n```"
            )]
            pub fn timezone(mut self, timezone: $crate::Timezone) -> Self {
                self.timezone = timezone;
                self
            }

            #[doc = concat!(
                "Builds the layer writing to `writer`.\n\n```\n",
                "use tracing_subscriber::prelude::*;\n",
                "let out = tracing_logbook::testing::CaptureWriter::new();\n",
                "let layer = tracing_logbook::", stringify!($layer), "::builder().build(out.clone());\n",
                "tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {\n",
                "    tracing_logbook::notice!(port = 8080, \"listening\");\n",
                "});\n",
                "let object: serde_json::Value = serde_json::from_str(out.take_string().trim()).unwrap();\n",
                "assert!(object.to_string().contains(\"listening\"));\n```"
            )]
            pub fn build<W: $crate::LineWriter>(self, writer: W) -> $layer<W> {
                $layer {
                    spine: $crate::layer::Spine::new(
                        $crate::layer::Formatted::new(<$layout>::new(self.timezone), writer),
                        self.clock
                            .unwrap_or_else(|| std::sync::Arc::new($crate::SystemClock)),
                        None,
                    ),
                }
            }

            #[doc = concat!(
                "Builds the layer writing to standard output.\n\n```\n",
                "use tracing_subscriber::prelude::*;\n",
                "let layer = tracing_logbook::", stringify!($layer), "::builder().build_stdout();\n",
                "tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {\n",
                "    tracing::info!(\"one JSON object on stdout\");\n",
                "});\n```"
            )]
            pub fn build_stdout(self) -> $layer<$crate::Stdout> {
                self.build($crate::Stdout::new())
            }
        }

        impl $layer<$crate::Stdout> {
            #[doc = concat!(
                "A builder with the [default values](", stringify!($builder), "#default-values).\n\n```\n",
                "let layer = tracing_logbook::", stringify!($layer), "::builder().build_stdout();\n```"
            )]
            pub fn builder() -> $builder {
                $builder::default()
            }
        }

        impl<W: $crate::LineWriter> $layer<W> {
            #[doc = concat!(
                "The destination.\n\n```\n",
                "let out = tracing_logbook::testing::CaptureWriter::new();\n",
                "let layer = tracing_logbook::", stringify!($layer), "::builder().build(out);\n",
                "assert!(layer.writer().contents().is_empty());\n```"
            )]
            pub fn writer(&self) -> &W {
                &self.spine.output.writer
            }

            /// The layer's output, for the fan-out `init` installs.
            pub(crate) fn into_output(self) -> $crate::layer::Formatted<$layout, W> {
                self.spine.into_output()
            }
        }

        impl<W> std::fmt::Debug for $layer<W> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($layer)).finish_non_exhaustive()
            }
        }

        impl<S, W> tracing_subscriber::layer::Layer<S> for $layer<W>
        where
            S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
            W: $crate::LineWriter,
        {
            $crate::layer::delegate_layer!(spine);
        }
    };
}
pub(crate) use object_layer;

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

// === the fan-out, by hand ===

pub(crate) mod sealed {
    /// The output inside a public layer, handed over to a [`FanOut`](super::FanOut).
    #[allow(unreachable_pub)] // nameable nowhere outside the crate: the trait is sealed
    pub struct Boxed(pub(crate) Box<dyn super::Emit>);

    impl std::fmt::Debug for Boxed {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("Boxed")
        }
    }

    #[allow(unreachable_pub)]
    pub trait Sealed {
        fn into_boxed(self) -> Boxed;
    }
}

/// A layer of this crate that can be one output of a [`FanOut`]: [`LogbookLayer`],
/// [`JsonLayer`], [`EcsLayer`], [`SyslogLayer`], [`NotifyLayer`],
/// [`CaptureLayer`] and, with the `otlp` feature, `otlp::OtlpLayer`. Sealed:
/// implemented by these types only.
///
/// [`LogbookLayer`]: crate::LogbookLayer
/// [`JsonLayer`]: crate::JsonLayer
/// [`EcsLayer`]: crate::EcsLayer
/// [`SyslogLayer`]: crate::syslog::SyslogLayer
/// [`NotifyLayer`]: crate::NotifyLayer
/// [`CaptureLayer`]: crate::testing::CaptureLayer
pub trait Output: sealed::Sealed + Send + Sync + 'static {}

/// Makes a public layer (a spine of one output, with an `into_output`) an [`Output`]
/// of a [`FanOut`].
macro_rules! output {
    ($([$($generics:tt)*] $ty:ty;)*) => {$(
        impl<$($generics)*> $crate::layer::sealed::Sealed for $ty {
            fn into_boxed(self) -> $crate::layer::sealed::Boxed {
                $crate::layer::sealed::Boxed(Box::new(self.into_output()))
            }
        }
        impl<$($generics)*> $crate::layer::Output for $ty {}
    )*};
}

output! {
    [W: LineWriter] crate::LogbookLayer<W>;
    [W: LineWriter] crate::JsonLayer<W>;
    [W: LineWriter] crate::EcsLayer<W>;
}
pub(crate) use output;

/// Several outputs behind one capture per event, with fingers-crossed buffering if you
/// want it: the layer [`init`](crate::init) installs, built by hand from the same
/// layers, for programs that compose their subscriber themselves.
///
/// A stack of separate layers (`.with(LogbookLayer).with(JsonLayer)`) captures each
/// event once per layer, and cannot hold a request's lines for all of them at once; a
/// `FanOut` captures once (one clock reading, one visit of the fields), hands the
/// record to each output in turn, and with [`fingers_crossed`](FanOutBuilder::fingers_crossed)
/// keeps a request's lines below the threshold until an error says they are needed.
///
/// # Examples
///
/// ```
/// use tracing_logbook::testing::CaptureWriter;
/// use tracing_logbook::{
///     FanOut, FingersCrossed, JsonLayer, Level, LogbookFilter, LogbookLayer, ReloadableFilter,
/// };
/// use tracing_subscriber::prelude::*;
///
/// let (lines, json) = (CaptureWriter::new(), CaptureWriter::new());
/// let filter = ReloadableFilter::new(LogbookFilter::parse("info").unwrap());
/// let fan_out = FanOut::builder()
///     .output(LogbookLayer::builder().build(lines.clone()))
///     .output(JsonLayer::builder().build(json.clone()))
///     .fingers_crossed(FingersCrossed::new(Level::Debug), &filter)
///     .build();
/// let subscriber = tracing_subscriber::registry().with(filter).with(fan_out);
/// tracing::subscriber::with_default(subscriber, || {
///     let _request = tracing::error_span!("request", id = 7).entered();
///     tracing::debug!("held until the error");
///     tracing::error!("failed");
/// });
/// assert_eq!(lines.take_string().lines().count(), 2);
/// assert_eq!(json.take_string().lines().count(), 2);
/// ```
pub struct FanOut {
    spine: Spine<Outputs>,
    buffers: Option<Arc<crossed::Memory>>,
}

/// Builds a [`FanOut`].
///
/// # Default values
///
/// | setting | default |
/// |---|---|
/// | [`output`](Self::output) | none (a fan-out without outputs writes nothing) |
/// | [`clock`](Self::clock) | [`SystemClock`](crate::SystemClock), read once per event for every output |
/// | [`fingers_crossed`](Self::fingers_crossed) | off |
#[must_use]
#[derive(Default)]
pub struct FanOutBuilder {
    outputs: Vec<Box<dyn Emit>>,
    clock: Option<Arc<dyn Clock>>,
    crossed: Option<(crossed::FingersCrossed, crate::ReloadableFilter)>,
}

impl fmt::Debug for FanOutBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FanOutBuilder")
            .field("outputs", &self.outputs.len())
            .field("fingers_crossed", &self.crossed.as_ref().map(|(c, _)| c))
            .finish_non_exhaustive()
    }
}

impl FanOutBuilder {
    /// Adds `layer`'s output. The layer's own clock is not used: the fan-out reads one
    /// clock per event for all its outputs.
    ///
    /// ```
    /// let fan_out = tracing_logbook::FanOut::builder()
    ///     .output(tracing_logbook::LogbookLayer::builder().build_stdout())
    ///     .build();
    /// ```
    pub fn output(mut self, layer: impl Output) -> Self {
        self.outputs.push(layer.into_boxed().0);
        self
    }

    /// Reads the time from `clock` (for tests).
    ///
    /// ```
    /// use tracing_logbook::testing::ManualClock;
    /// let clock = ManualClock::new(time::OffsetDateTime::UNIX_EPOCH);
    /// let fan_out = tracing_logbook::FanOut::builder().clock(clock).build();
    /// ```
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Turns fingers-crossed buffering on (see [`FingersCrossed`](crate::FingersCrossed)).
    /// `filter` must be the subscriber's global filter (the registry's first layer, not a
    /// per-layer filter): it lets the held events through while a buffering span is
    /// entered. A filter's buffered level is set once; a second fan-out on the same
    /// filter uses the first's level.
    ///
    /// ```
    /// use tracing_logbook::{FanOut, FingersCrossed, Level, LogbookFilter, ReloadableFilter};
    /// let filter = ReloadableFilter::new(LogbookFilter::parse("info").unwrap());
    /// let fan_out = FanOut::builder()
    ///     .fingers_crossed(FingersCrossed::new(Level::Debug), &filter)
    ///     .build();
    /// ```
    pub fn fingers_crossed(
        mut self,
        config: crossed::FingersCrossed,
        filter: &crate::ReloadableFilter,
    ) -> Self {
        self.crossed = Some((config, filter.clone()));
        self
    }

    /// Builds the layer.
    ///
    /// ```
    /// let fan_out = tracing_logbook::FanOut::builder().build();
    /// ```
    pub fn build(self) -> FanOut {
        let crossing = self.crossed.map(|(config, filter)| {
            filter.set_fingers_crossed(config.level());
            Crossing::new(filter, config)
        });
        let clock = self
            .clock
            .unwrap_or_else(|| Arc::new(crate::clock::SystemClock));
        FanOut::from_parts(self.outputs, clock, crossing)
    }
}

impl FanOut {
    /// A builder with the [default values](FanOutBuilder#default-values).
    ///
    /// ```
    /// let builder = tracing_logbook::FanOut::builder();
    /// ```
    pub fn builder() -> FanOutBuilder {
        FanOutBuilder::default()
    }

    /// A reader of what the fingers-crossed buffers hold, if they are on; it stays
    /// valid after the layer is moved into a subscriber.
    ///
    /// ```
    /// use tracing_logbook::{FanOut, FingersCrossed, Level, LogbookFilter, ReloadableFilter};
    /// let filter = ReloadableFilter::new(LogbookFilter::parse("info").unwrap());
    /// let fan_out = FanOut::builder()
    ///     .fingers_crossed(FingersCrossed::new(Level::Debug), &filter)
    ///     .build();
    /// let buffers = fan_out.buffers().unwrap();
    /// assert_eq!(buffers.stats().lines, 0);
    /// ```
    pub fn buffers(&self) -> Option<Buffers> {
        self.buffers.clone().map(Buffers)
    }

    /// The buffers' counters, for `init`'s guard.
    pub(crate) fn buffers_memory(&self) -> Option<Arc<crossed::Memory>> {
        self.buffers.clone()
    }

    /// The fan-out `init` installs.
    pub(crate) fn from_parts(
        outputs: Vec<Box<dyn Emit>>,
        clock: Arc<dyn Clock>,
        crossing: Option<Crossing>,
    ) -> FanOut {
        FanOut {
            buffers: crossing.as_ref().map(|c| c.memory.clone()),
            spine: Spine::new(Outputs::new(outputs, clock.clone()), clock, crossing),
        }
    }
}

/// Reads what a [`FanOut`]'s fingers-crossed buffers hold now (see
/// [`FanOut::buffers`]).
#[derive(Clone)]
pub struct Buffers(Arc<crossed::Memory>);

impl Buffers {
    /// Lines and bytes held now, and what was dropped and flushed so far.
    ///
    /// ```
    /// # use tracing_logbook::{FanOut, FingersCrossed, Level, LogbookFilter, ReloadableFilter};
    /// # let filter = ReloadableFilter::new(LogbookFilter::parse("info").unwrap());
    /// # let fan_out = FanOut::builder().fingers_crossed(FingersCrossed::new(Level::Debug), &filter).build();
    /// let stats = fan_out.buffers().unwrap().stats();
    /// assert_eq!((stats.lines, stats.dropped), (0, 0));
    /// ```
    pub fn stats(&self) -> crossed::BufferStats {
        self.0.stats()
    }
}

impl fmt::Debug for Buffers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Buffers").field(&self.stats()).finish()
    }
}

impl fmt::Debug for FanOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FanOut")
            .field("outputs", &self.spine.output.len())
            .field("fingers_crossed", &self.buffers.is_some())
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for FanOut
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    delegate_layer!(spine);
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering::Relaxed;
    use std::time::Duration;

    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    /// A layer tells the daily file it writes to, even behind an `Arc`, to announce its
    /// losses in the layer's own format: a JSON layer's file gets JSON notices.
    #[test]
    fn a_json_layer_s_file_announces_losses_in_json() {
        let dir = tempfile::tempdir().unwrap();
        let (file, faults) = DailyFile::lossy_with_faults(&dir.path().join("app.log"));
        let clock = crate::clock::ManualClock::new(time::macros::datetime!(2026-11-23 10:00 UTC));
        let layer = crate::JsonLayer::builder()
            .clock(clock)
            .build(Arc::new(file.clone()));
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            // The writer is stuck: at most two batches of two get in, the rest is
            // dropped.
            faults.paused.store(true, Relaxed);
            for n in 0..20 {
                tracing::info!(target: "app", n, "record");
            }
            faults.paused.store(false, Relaxed);
        });
        assert!(file.flush(Duration::from_secs(30)));
        assert!(file.dropped_lines() > 0);
        let text = std::fs::read_to_string(dir.path().join("app-2026-11-23.log")).unwrap();
        let notices: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .filter(|line: &serde_json::Value| line["channel"] == "tracing-logbook")
            .collect();
        assert!(!notices.is_empty(), "{text}");
        for notice in notices {
            assert_eq!(notice["level"], "WARNING");
            assert!(notice["message"]
                .as_str()
                .unwrap()
                .ends_with(" lines dropped"));
        }
    }
}
