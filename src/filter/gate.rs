//! The filter's side of fingers crossed: events below the threshold are let through
//! while a buffering span is entered on the thread (the spine's buffers decide what to
//! do with them, see [`FingersCrossed`](crate::FingersCrossed)), and [`Threshold`], the
//! per-layer filter of the program's own layers, which never see what is held.

use std::cell::Cell;

use tracing::subscriber::Interest;
use tracing::{Metadata, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::ReloadableFilter;
use crate::level::Level;
use crate::record::{may_buffer, Slot};

thread_local! {
    /// How many buffering spans are entered on this thread.
    static INSIDE: Cell<u32> = const { Cell::new(0) };
}

#[inline]
fn inside() -> bool {
    INSIDE.try_with(|n| n.get() > 0).unwrap_or(false)
}

#[inline]
fn within(level: Level, meta: &Metadata<'_>) -> bool {
    Level::of(meta) >= level
}

/// The callsite's interest: "sometimes" instead of the filter's "never" for events
/// and buffering spans down to `level`.
pub(crate) fn interest(level: Level, meta: &Metadata<'_>, base: Interest) -> Interest {
    if !base.is_always() && within(level, meta) && (meta.is_event() || may_buffer(meta)) {
        Interest::sometimes()
    } else {
        base
    }
}

/// Whether the gate lets `meta` through whatever the filter says.
#[inline]
pub(crate) fn admits(level: Level, meta: &Metadata<'_>) -> bool {
    within(level, meta)
        && if meta.is_event() {
            inside()
        } else {
            may_buffer(meta)
        }
}

/// The most verbose level enabled: the filter's or `level`.
pub(crate) fn hint(level: Level, base: Option<LevelFilter>) -> LevelFilter {
    let own = LevelFilter::from_level(level.to_tracing());
    base.map_or(own, |base| base.max(own))
}

fn buffering<S>(id: &tracing::span::Id, ctx: &Context<'_, S>) -> bool
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let Some(span) = ctx.span(id) else {
        return false;
    };
    may_buffer(span.metadata())
        && span
            .extensions()
            .get::<Slot>()
            .and_then(Slot::entry)
            .is_some_and(|e| e.crossed)
}

/// Counts a buffering span entered on this thread.
pub(crate) fn enter<S>(id: &tracing::span::Id, ctx: &Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    if buffering(id, ctx) {
        let _ = INSIDE.try_with(|n| n.set(n.get().saturating_add(1)));
    }
}

/// Counts a buffering span left on this thread.
pub(crate) fn exit<S>(id: &tracing::span::Id, ctx: &Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    if buffering(id, ctx) {
        let _ = INSIDE.try_with(|n| n.set(n.get().saturating_sub(1)));
    }
}

/// A per-layer filter for the program's own layers ([`Env::layer`](crate::Env::layer))
/// when fingers crossed is on: the threshold alone, without the gate, so they never see
/// the events the spine holds.
pub(crate) struct Threshold(ReloadableFilter);

impl Threshold {
    pub(crate) fn new(filter: ReloadableFilter) -> Threshold {
        Threshold(filter)
    }
}

impl<S> tracing_subscriber::layer::Filter<S> for Threshold
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn enabled(&self, meta: &Metadata<'_>, cx: &Context<'_, S>) -> bool {
        self.0.shows(meta, cx)
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        self.0.interest_without_gate::<S>(meta)
    }
}
