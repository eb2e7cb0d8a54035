//! Layouts: pure renderers from a [`Record`] into a reused buffer. Logbook lines, JSON
//! lines and RFC 5424 messages are the three; every name and value in them goes through
//! [`record::text`](crate::record::text), and the crate's own notices (`N lines
//! dropped`) are records rendered by the destination's own layout.

pub(crate) mod ecs;
pub(crate) mod json;
pub(crate) mod logbook;
#[cfg(feature = "otlp")]
pub(crate) mod otlp;
pub(crate) mod syslog;

use std::sync::Arc;

use time::OffsetDateTime;

use crate::level::Level;
use crate::record::{FieldList, Record};
use crate::sink::spool::Notice;

/// Renders records.
pub(crate) trait Layout: Send + Sync + 'static {
    /// Appends `record` to `out` as one complete record (ending in `\n` for lines).
    fn render(&self, record: &Record<'_>, out: &mut String);

    /// The record's time as this layout shows it (in its time zone); it also decides
    /// which daily file the record belongs to.
    fn shown_time(&self, utc: OffsetDateTime) -> OffsetDateTime;
}

/// Runs `f` with the crate's notice of `lost` records: a `WARNING` record from
/// `tracing-logbook`, `N {unit} dropped`, stamped `time`. The one form of every loss
/// notice, whichever output renders it.
pub(crate) fn with_loss_record<R>(
    time: OffsetDateTime,
    lost: u64,
    unit: &str,
    f: impl FnOnce(&Record<'_>) -> R,
) -> R {
    let message = format!("{lost} {unit} dropped");
    let fields = FieldList::default();
    let utc = time.to_offset(time::UtcOffset::UTC);
    f(&Record::notice(utc, Level::Warning, &message, &fields))
}

/// How `layout` announces lost records: a `WARNING` record from `tracing-logbook`
/// (`N lines dropped`, with `unit` for "lines"), in the layout's own format.
pub(crate) fn loss_notice<L: Layout>(layout: Arc<L>, unit: &'static str) -> Notice {
    Arc::new(move |time: OffsetDateTime, lost: u64, out: &mut Vec<u8>| {
        with_loss_record(time, lost, unit, |record| {
            let mut text = String::new();
            layout.render(record, &mut text);
            out.extend_from_slice(text.as_bytes());
        });
    })
}
