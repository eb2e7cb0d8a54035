//! Trace-linked lines (feature `opentelemetry`): the W3C ids of the OpenTelemetry span an
//! event happened in, read from tracing-opentelemetry's layer once per span and kept on
//! the span's entry.
//!
//! A layer learns its dispatcher in `on_register_dispatch` (a weak reference: no cycle),
//! and before capturing an event asks tracing-opentelemetry for the context of the
//! event's span, unless the span's entry already knows it. This starts the OpenTelemetry
//! span if it was not started yet (as `Span::context()` does), so a remote parent must
//! be set (`set_parent`) before the first event inside the span, as tracing-opentelemetry
//! asks anyway. Without the feature, [`Link`] is empty and every record's ids are `None`.

use std::fmt::Write as _;

/// The W3C trace context ids of a span: a 16-byte trace id and an 8-byte span id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TraceIds {
    pub(crate) trace_id: u128,
    pub(crate) span_id: u64,
    /// The W3C trace flags (bit 0: sampled), for OTLP's `flags`.
    pub(crate) flags: u8,
}

impl TraceIds {
    /// The trace id as 32 lower-case hex digits.
    pub(crate) fn push_trace_id(&self, buf: &mut String) {
        let _ = write!(buf, "{:032x}", self.trace_id);
    }

    /// The span id as 16 lower-case hex digits.
    pub(crate) fn push_span_id(&self, buf: &mut String) {
        let _ = write!(buf, "{:016x}", self.span_id);
    }

    /// `(trace_id, span_id)` as hex strings (for notifications).
    pub(crate) fn hex(&self) -> (String, String) {
        let (mut t, mut s) = (String::with_capacity(32), String::with_capacity(16));
        self.push_trace_id(&mut t);
        self.push_span_id(&mut s);
        (t, s)
    }
}

/// A layer's link to its dispatcher, for looking up OpenTelemetry contexts.
#[derive(Debug, Default)]
pub(crate) struct Link {
    #[cfg(feature = "opentelemetry")]
    dispatch: std::sync::OnceLock<tracing::dispatcher::WeakDispatch>,
}

impl Link {
    /// Called from `Layer::on_register_dispatch`.
    #[inline]
    pub(crate) fn register(&self, dispatch: &tracing::Dispatch) {
        #[cfg(feature = "opentelemetry")]
        let _ = self.dispatch.set(dispatch.downgrade());
        #[cfg(not(feature = "opentelemetry"))]
        let _ = dispatch;
    }

    /// Makes sure the entry of `event`'s span knows its OpenTelemetry ids (see the
    /// module docs). Called before [`capture`](super::capture).
    #[inline]
    pub(crate) fn remember<S>(
        &self,
        event: &tracing::Event<'_>,
        ctx: &tracing_subscriber::layer::Context<'_, S>,
    ) where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        #[cfg(feature = "opentelemetry")]
        {
            let Some(weak) = self.dispatch.get() else {
                return;
            };
            let Some(span) = ctx.event_span(event) else {
                return;
            };
            let entry = span
                .extensions()
                .get::<super::Slot>()
                .and_then(super::Slot::entry)
                .cloned();
            let Some(entry) = entry else { return };
            if entry.trace.get().is_some() {
                return;
            }
            let Some(dispatch) = weak.upgrade() else {
                return;
            };
            // No extensions of ours are held here: tracing-opentelemetry locks them.
            let ids =
                tracing_opentelemetry::get_otel_context(&span.id(), &dispatch).and_then(|cx| {
                    use opentelemetry::trace::TraceContextExt as _;
                    let span = cx.span();
                    let sc = span.span_context();
                    sc.is_valid().then(|| TraceIds {
                        trace_id: u128::from_be_bytes(sc.trace_id().to_bytes()),
                        span_id: u64::from_be_bytes(sc.span_id().to_bytes()),
                        flags: sc.trace_flags().to_u8(),
                    })
                });
            let _ = entry.trace.set(ids);
        }
        #[cfg(not(feature = "opentelemetry"))]
        let _ = (event, ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_lower_case_hex_of_fixed_width() {
        let ids = TraceIds {
            trace_id: 0x4bf92f3577b34da6a3ce929d0e0e4736,
            span_id: 0xf,
            flags: 1,
        };
        assert_eq!(
            ids.hex(),
            (
                "4bf92f3577b34da6a3ce929d0e0e4736".to_owned(),
                "000000000000000f".to_owned()
            )
        );
    }

    #[test]
    fn every_layout_places_the_ids() {
        use crate::clock::Timezone;
        use crate::layout::{self, Layout};
        use crate::level::Level;
        use crate::record::{FieldList, Record};
        let fields = FieldList::default();
        let time = time::macros::datetime!(2026-11-23 19:28:08 UTC);
        let mut record = Record::notice(time, Level::Error, "boom", &fields);
        record.trace = Some(TraceIds {
            trace_id: 0x4bf92f3577b34da6a3ce929d0e0e4736,
            span_id: 0x00f067aa0ba902b7,
            flags: 1,
        });
        let render_record = |record: &Record<'_>, layout: &dyn Layout| {
            let mut s = String::new();
            layout.render(record, &mut s);
            s
        };
        let render = |layout: &dyn Layout| render_record(&record, layout);
        assert_eq!(
            render(&layout::logbook::LogbookLayout::new(
                Timezone::Utc,
                false,
                Vec::new()
            )),
            "[2026-11-23 19:28:08.000000] ERROR: tracing-logbook: boom \
             trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7\n"
        );
        let json: serde_json::Value =
            serde_json::from_str(&render(&layout::json::JsonLayout::new(Timezone::Utc))).unwrap();
        assert_eq!(json["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(json["span_id"], "00f067aa0ba902b7");
        let ecs: serde_json::Value =
            serde_json::from_str(&render(&layout::ecs::EcsLayout::new(Timezone::Utc))).unwrap();
        assert_eq!(ecs["trace.id"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(ecs["span.id"], "00f067aa0ba902b7");
        let syslog = render(&layout::syslog::SyslogLayout {
            facility: 1,
            prefix: " host app 1 - ".into(),
        });
        assert!(
            syslog.contains("[logbook@32473 channel=\"tracing-logbook\" level=\"ERROR\"]\
                 [opentelemetry trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\" span_id=\"00f067aa0ba902b7\"] "),
            "{syslog}"
        );
        let without = Record::notice(time, Level::Error, "boom", &fields);
        assert!(
            !render_record(&without, &layout::json::JsonLayout::new(Timezone::Utc))
                .contains("trace_id")
        );
    }
}
