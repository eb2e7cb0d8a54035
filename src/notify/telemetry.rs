//! Telemetry: the recent lines an error takes along, kept per request span or in a
//! sharded ring for lines outside requests, without an allocation per line.

use super::*;

/// A telemetry line as the hot path keeps it: overwritten in place, so the ring costs no
/// allocation per line once it is full. Turned into a [`TelemetryLine`] only when an
/// error takes it along.
#[derive(Debug)]
pub(super) struct LineSlot {
    level: Option<Level>,
    /// The record's one clock reading: shards and held lines merge in its order; the
    /// milliseconds a tracker wants are derived only when an error takes the line.
    time: time::OffsetDateTime,
    channel: String,
    message: String,
    fields: FieldList,
}

impl Default for LineSlot {
    fn default() -> Self {
        LineSlot {
            level: None,
            time: time::OffsetDateTime::UNIX_EPOCH,
            channel: String::new(),
            message: String::new(),
            fields: FieldList::default(),
        }
    }
}

impl LineSlot {
    fn fill(&mut self, record: &Record<'_>) {
        self.level = Some(record.level);
        self.time = record.time;
        self.channel.clear();
        self.channel.push_str(record.target);
        self.message.clear();
        self.message.push_str(record.message);
        self.fields.clone_from(record.fields);
    }

    /// The bytes its buffers hold.
    fn retained_size(&self) -> usize {
        self.channel.capacity() + self.message.capacity() + self.fields.retained_size()
    }

    fn to_line(&self) -> TelemetryLine {
        TelemetryLine {
            level: self.level.unwrap_or(Level::Info),
            timestamp_ms: unix_ms(self.time),
            channel: self.channel.clone(),
            message: self.message.clone(),
            fields: self
                .fields
                .iter()
                .map(|(k, v)| (k, v.to_owned_value()))
                .collect(),
        }
    }
}

/// The last lines, newest last, bounded; slots are reused. On a request span, also
/// whether an error of the request was notified (or folded into a summary).
#[derive(Debug, Default)]
pub(super) struct LineRing {
    /// Filled in place: once `max` are there, `next` is the oldest, overwritten next.
    lines: Vec<LineSlot>,
    next: usize,
    pub(super) notified: bool,
    /// Slots of an earlier span (see [`Side`](crate::record::Side)), filled before new
    /// ones are made.
    spare: Vec<LineSlot>,
}

/// A slot holding more than this is not kept for another span.
const SPARE_SLOT_BYTES: usize = 4096;

impl crate::record::Side for LineRing {
    fn reset(&mut self) {
        self.notified = false;
        self.next = 0;
        let spare = &mut self.spare;
        spare.extend(
            self.lines
                .drain(..)
                .filter(|slot| slot.retained_size() <= SPARE_SLOT_BYTES),
        );
    }
}

impl LineRing {
    pub(super) fn push(&mut self, record: &Record<'_>, max: usize) {
        if max == 0 {
            return;
        }
        if self.lines.len() < max {
            let mut slot = self.spare.pop().unwrap_or_default();
            slot.fill(record);
            self.lines.push(slot);
            return;
        }
        self.lines.truncate(max);
        let oldest = self.next % max;
        self.lines[oldest].fill(record);
        self.next = (oldest + 1) % max;
    }

    /// The slots in the order they were filled, oldest first.
    fn in_order(&self) -> impl Iterator<Item = &LineSlot> {
        let split = self.next.min(self.lines.len());
        self.lines[split..].iter().chain(&self.lines[..split])
    }

    /// Adds lines logged before some of those in the ring (a failed request's held lines),
    /// keeping the newest `max` by time.
    pub(super) fn merge_older(&mut self, records: &[Record<'_>], max: usize) {
        // In filling order first, so that a stable sort keeps lines of one time in order.
        let split = self.next.min(self.lines.len());
        self.lines.rotate_left(split);
        self.next = 0;
        for record in records {
            let mut slot = LineSlot::default();
            slot.fill(record);
            self.lines.push(slot);
        }
        self.lines.sort_by_key(|slot| slot.time);
        let excess = self.lines.len().saturating_sub(max);
        self.lines.drain(..excess);
    }

    /// The lines, oldest first (a failed request's held lines join its ring after the
    /// lines written at once, see `Notifier::emit_failed`).
    pub(super) fn lines(&self) -> Vec<TelemetryLine> {
        let mut slots: Vec<&LineSlot> = self.in_order().collect();
        slots.sort_by_key(|slot| slot.time);
        slots.into_iter().map(LineSlot::to_line).collect()
    }
}

/// How many rings the lines logged outside requests are spread over: each thread
/// writes to one ring of its own (mostly), so threads logging at once do not contend on
/// one lock. An error merges them.
pub(super) const SHARDS: usize = 8;

/// A ring on a cache line of its own.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(super) struct Shard(Mutex<LineRing>);

/// The lines logged outside requests, over [`SHARDS`] rings.
#[derive(Debug)]
pub(super) struct SharedLines {
    shards: Box<[Shard]>,
}

impl SharedLines {
    pub(super) fn new() -> SharedLines {
        SharedLines {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
        }
    }

    /// This thread's ring.
    fn mine(&self) -> &Mutex<LineRing> {
        use std::cell::Cell;
        use std::sync::atomic::AtomicUsize;
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        thread_local! {
            static SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
        }
        let i = SHARD
            .try_with(|shard| {
                if shard.get() == usize::MAX {
                    shard.set(NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS);
                }
                shard.get()
            })
            .unwrap_or(0);
        &self.shards[i].0
    }

    pub(super) fn push(&self, record: &Record<'_>, max: usize) {
        self.mine()
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(record, max);
    }

    /// The last `max` lines of all threads, oldest first.
    pub(super) fn lines(&self, max: usize) -> Vec<TelemetryLine> {
        let mut all: Vec<(time::OffsetDateTime, TelemetryLine)> = Vec::new();
        for shard in self.shards.iter() {
            let ring = shard.0.lock().unwrap_or_else(PoisonError::into_inner);
            all.extend(ring.in_order().map(|slot| (slot.time, slot.to_line())));
        }
        // Stable: lines of one thread with the same time keep their order.
        all.sort_by_key(|(time, _)| *time);
        let skip = all.len().saturating_sub(max);
        all.into_iter().skip(skip).map(|(_, line)| line).collect()
    }
}

/// Milliseconds since the Unix epoch.
pub(super) fn unix_ms(t: time::OffsetDateTime) -> u64 {
    // i64 arithmetic: an i128 division is a library call, on every line.
    u64::try_from(t.unix_timestamp()).map_or(0, |s| {
        s.saturating_mul(1000)
            .saturating_add(u64::from(t.millisecond()))
    })
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::record::{FieldList, Side as _};

    fn messages(ring: &LineRing) -> Vec<String> {
        ring.lines().into_iter().map(|l| l.message).collect()
    }

    /// Filled in place, the ring keeps the newest `max` in the order they came, also
    /// when they share one time (a manual clock, or a coarse one), across a merge of
    /// older held lines and a reuse for another span.
    #[test]
    fn the_ring_keeps_the_newest_in_order() {
        let t = datetime!(2026-11-23 19:28:08 UTC);
        let fields = FieldList::default();
        let texts: Vec<String> = (0..7).map(|i| format!("line {i}")).collect();
        let mut ring = LineRing::default();
        for text in &texts {
            ring.push(&Record::notice(t, Level::Info, text, &fields), 3);
        }
        assert_eq!(messages(&ring), ["line 4", "line 5", "line 6"]);
        // Held lines from before: merged by time, the newest 4 kept.
        let early = datetime!(2026-11-23 19:28:07 UTC);
        let held = [Record::notice(early, Level::Debug, "held", &fields)];
        ring.merge_older(&held, 4);
        assert_eq!(messages(&ring), ["held", "line 4", "line 5", "line 6"]);
        ring.push(&Record::notice(t, Level::Info, "line 7", &fields), 4);
        assert_eq!(messages(&ring), ["line 4", "line 5", "line 6", "line 7"]);
        // Reused for another span: empty, then filled again from its spare slots.
        ring.reset();
        assert!(messages(&ring).is_empty());
        ring.push(&Record::notice(t, Level::Info, "next", &fields), 4);
        assert_eq!(messages(&ring), ["next"]);
    }
}
