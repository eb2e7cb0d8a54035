//! Storm control: one item per error per window, then a count.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::occurrence::Occurrence;

struct Entry {
    started: Instant,
    /// Occurrences folded into the window after the first.
    count: u64,
    /// What the summary item says: the first occurrence, without telemetry, whose spans
    /// and fields are those of the latest repeat (so the summary still tells which
    /// request failed last).
    template: Occurrence,
}

/// Open windows keyed by error identity (callsite and message template).
pub(crate) struct Dedup {
    window: Duration,
    max_keys: usize,
    entries: HashMap<u64, Entry>,
    /// Summaries of windows that ended while the worker was busy (stuck on a slow
    /// endpoint, say): a repeat after the end opened the next window, and the ended
    /// window's summary waits here for the worker, one per error (a later window's
    /// count is added to it), so this too stays within `max_keys`.
    ready: Vec<(u64, Occurrence, u64)>,
}

impl Dedup {
    pub(crate) fn new(window: Duration, max_keys: usize) -> Dedup {
        Dedup {
            window,
            max_keys,
            entries: HashMap::new(),
            ready: Vec::new(),
        }
    }

    /// Whether an occurrence with identity `key` is to be sent. Repeats inside the window
    /// are counted instead, and `repeat` updates the summary's occurrence with them. When
    /// `max_keys` windows are open, new identities are sent without being tracked, so
    /// memory stays bounded.
    pub(crate) fn admit(
        &mut self,
        key: u64,
        now: Instant,
        template: impl FnOnce() -> Occurrence,
        repeat: impl FnOnce(&mut Occurrence),
    ) -> bool {
        if self.window.is_zero() {
            return true;
        }
        if let Some(entry) = self.entries.get_mut(&key) {
            if now.saturating_duration_since(entry.started) < self.window {
                entry.count += 1;
                repeat(&mut entry.template);
                return false;
            }
            // A window that ended and that the worker has not swept yet (it may be stuck
            // on a slow endpoint): this occurrence opens the next window, and the ended
            // one's summary is kept for the worker. Otherwise every repeat would pass
            // until the worker came back.
            if entry.count > 0 {
                let mut summary = std::mem::replace(&mut entry.template, template());
                summary.settle_latest();
                match self.ready.iter_mut().find(|(k, _, _)| *k == key) {
                    Some((_, waiting, count)) => {
                        *waiting = summary;
                        *count += entry.count;
                    }
                    None => self.ready.push((key, summary, entry.count)),
                }
            } else {
                entry.template = template();
            }
            entry.template.telemetry.clear();
            entry.template.spans.clear();
            entry.started = now;
            entry.count = 0;
            return true;
        }
        if self.entries.len() < self.max_keys {
            let mut template = template();
            template.telemetry.clear();
            template.spans.clear();
            self.entries.insert(
                key,
                Entry {
                    started: now,
                    count: 0,
                    template,
                },
            );
        }
        true
    }

    /// When the next open window ends (now, when a summary is waiting).
    pub(crate) fn next_expiry(&self) -> Option<Instant> {
        if !self.ready.is_empty() {
            return Some(Instant::now());
        }
        self.entries.values().map(|e| e.started + self.window).min()
    }

    /// Closes the windows that ended by `now`; returns the summaries to send.
    pub(crate) fn take_expired(&mut self, now: Instant) -> Vec<(Occurrence, u64)> {
        let window = self.window;
        let mut out = self.take_ready();
        self.entries.retain(|_, e| {
            if e.started + window <= now {
                if e.count > 0 {
                    let mut summary = e.template.clone();
                    summary.settle_latest();
                    out.push((summary, e.count));
                }
                false
            } else {
                true
            }
        });
        out
    }

    fn take_ready(&mut self) -> Vec<(Occurrence, u64)> {
        self.ready.drain(..).map(|(_, occ, n)| (occ, n)).collect()
    }

    /// Closes every window (at shutdown).
    pub(crate) fn take_all(&mut self) -> Vec<(Occurrence, u64)> {
        let mut out = self.take_ready();
        out.extend(
            self.entries
                .drain()
                .filter(|(_, e)| e.count > 0)
                .map(|(_, mut e)| {
                    e.template.settle_latest();
                    (e.template, e.count)
                }),
        );
        out
    }

    pub(crate) fn window(&self) -> Duration {
        self.window
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::Level;

    fn occ() -> Occurrence {
        Occurrence {
            level: Level::Error,
            timestamp_ms: 0,
            message: "m".into(),
            channel: "c".into(),
            file: None,
            line: None,
            module: None,
            thread: None,
            fields: Vec::new(),
            spans: Vec::new(),
            telemetry: Vec::new(),
            panic: None,
            error: Vec::new(),
            group: None,
            repeated: None,
            latest: None,
            trace: None,
        }
    }

    #[test]
    fn repeats_are_counted_and_summarised_when_the_window_ends() {
        let t0 = Instant::now();
        let mut d = Dedup::new(Duration::from_secs(60), 8);
        assert!(d.admit(1, t0, occ, |_| {}));
        assert!(!d.admit(1, t0 + Duration::from_secs(1), occ, |_| {}));
        assert!(!d.admit(1, t0 + Duration::from_secs(2), occ, |_| {}));
        assert!(d.admit(2, t0, occ, |_| {}));
        assert_eq!(d.next_expiry(), Some(t0 + Duration::from_secs(60)));
        assert!(d.take_expired(t0 + Duration::from_secs(59)).is_empty());
        let summaries = d.take_expired(t0 + Duration::from_secs(60));
        assert_eq!(summaries.len(), 1);
        assert_eq!(summaries[0].1, 2);
        assert!(d.admit(1, t0 + Duration::from_secs(61), occ, |_| {}));
    }

    /// The worker is stuck for three windows and never sweeps: each window still lets
    /// one occurrence through, and every ended window's count waits as one summary.
    #[test]
    fn an_unswept_window_lets_one_through_per_window_not_every_repeat() {
        let t0 = Instant::now();
        let mut d = Dedup::new(Duration::from_secs(60), 8);
        let mut admitted = 0;
        for second in 0..180u64 {
            for _ in 0..10 {
                if d.admit(1, t0 + Duration::from_secs(second), occ, |_| {}) {
                    admitted += 1;
                }
            }
        }
        assert_eq!(admitted, 3, "one per window");
        let ready: Vec<u64> = d.ready.iter().map(|(_, _, n)| *n).collect();
        assert_eq!(
            ready,
            [2 * 599],
            "one summary of both ended windows' repeats"
        );
        assert!(d.next_expiry().unwrap() <= Instant::now());
        let all: Vec<u64> = d.take_all().into_iter().map(|(_, n)| n).collect();
        assert_eq!(all, [2 * 599, 599]);
    }

    #[test]
    fn the_summary_carries_the_latest_repeat() {
        let t0 = Instant::now();
        let mut d = Dedup::new(Duration::from_secs(60), 8);
        assert!(d.admit(1, t0, occ, |_| unreachable!("not a repeat")));
        for n in 1..=3u64 {
            let repeat = |o: &mut Occurrence| o.message = format!("repeat {n}");
            assert!(!d.admit(1, t0, occ, repeat));
        }
        let all = d.take_all();
        assert_eq!(all.len(), 1);
        assert_eq!((all[0].0.message.as_str(), all[0].1), ("repeat 3", 3));
    }

    #[test]
    fn memory_is_bounded_and_zero_window_disables() {
        let t0 = Instant::now();
        let mut d = Dedup::new(Duration::from_secs(60), 2);
        assert!(d.admit(1, t0, occ, |_| {}));
        assert!(d.admit(2, t0, occ, |_| {}));
        assert!(d.admit(3, t0, occ, |_| {}));
        assert!(
            d.admit(3, t0, occ, |_| {}),
            "untracked identities are always sent"
        );
        assert_eq!(d.entries.len(), 2);
        let mut off = Dedup::new(Duration::ZERO, 2);
        assert!(off.admit(1, t0, occ, |_| {}) && off.admit(1, t0, occ, |_| {}));
        assert!(off.take_all().is_empty());
    }
}
