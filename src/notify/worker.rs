//! The background delivery thread and the state it shares with the layer and handle.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::dedup::Dedup;
use super::destination::{self, Protocol, Verdict};
use super::occurrence::{truncate_chars, Occurrence, PayloadSettings};
use super::spool::{Claim, Preview, Spool};
use super::transport::{Request, Transport};
use crate::diag;

/// The name of the background thread.
pub const THREAD_NAME: &str = "tracing-logbook-notify";

/// A message to the worker.
pub(crate) enum Msg {
    Item(Box<Occurrence>),
    /// Wakes the worker to look at the shutdown state.
    Wake,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    /// Items accepted into the queue and not finished yet.
    pub(crate) pending: usize,
    /// Set by `shutdown`: deliver what is queued until then, then stop.
    pub(crate) deadline: Option<Instant>,
    /// Set when the worker has exited (or never started).
    pub(crate) done: bool,
    /// Set by `shutdown` when its deadline passed with items pending: it counted them as
    /// abandoned, so the worker, still finishing in the background, counts no more.
    pub(crate) gave_up: bool,
}

/// Counters and state shared by the layer, the handle and the worker.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    pub(crate) cond: Condvar,
    pub(crate) sent: AtomicU64,
    pub(crate) retried: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) suppressed: AtomicU64,
    pub(crate) abandoned: AtomicU64,
    pub(crate) queue_full: diag::Once,
    pub(crate) unreachable: diag::Once,
    pub(crate) rejected: diag::Once,
    pub(crate) rate_limited: diag::Once,
    /// The process the worker runs in: a forked child has no worker, and never takes
    /// `state`'s lock, which the parent's threads may have held at the fork.
    pub(crate) born: crate::lifecycle::Born,
    /// Reported once when delivering an item panicked (the item is counted as failed,
    /// the thread goes on).
    pub(crate) item_panicked: diag::Once,
    /// Items written to the spool, undelivered.
    pub(crate) spooled: AtomicU64,
    /// Spooled items delivered later.
    pub(crate) replayed: AtomicU64,
    /// Spooled items deleted unsent for their age.
    pub(crate) expired: AtomicU64,
    /// Spooled items deleted unsent to make room, and items larger than the spool.
    pub(crate) spool_dropped: AtomicU64,
    /// Items written to the preview directory.
    pub(crate) previewed: AtomicU64,
    /// Items in the spool when the notifier started.
    pub(crate) waiting_at_start: AtomicU64,
    /// Set when there is a spool: items that do not fit in the full queue wait here (at
    /// most [`OVERFLOW`]) for the worker to write them to the spool.
    pub(crate) spooling: std::sync::atomic::AtomicBool,
    pub(crate) overflow: Mutex<std::collections::VecDeque<Box<Occurrence>>>,
}

/// How many items may wait for the spool beyond a full queue.
pub(crate) const OVERFLOW: usize = 256;

/// The pace of a replay after its first success: at most 5 items a second.
pub(crate) const REPLAY_INTERVAL: Duration = Duration::from_millis(200);

/// The longest wait between two tries of a tracker that is down.
const MAX_PROBE_WAIT: Duration = Duration::from_secs(30);

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether this process is a forked child of the worker's (see `born`).
    #[inline]
    pub(crate) fn forked(&self) -> bool {
        self.born.forked()
    }

    /// Counts one finished item in `counter`, unless `shutdown` already gave up on it.
    fn count(&self, counter: &AtomicU64) {
        if !self.lock().gave_up {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn finish_one(&self) {
        let mut state = self.lock();
        state.pending = state.pending.saturating_sub(1);
        drop(state);
        self.cond.notify_all();
    }

    /// Waits for `duration`, or less if shutdown's deadline comes first (or, with
    /// `until_shutdown`, as soon as shutdown starts: a retry's backoff does not hold up
    /// the exit). Returns false when the deadline has passed (the caller must give up).
    fn wait(&self, duration: Duration, until_shutdown: bool) -> bool {
        // A wait too long to represent is capped: "forever" for a backoff.
        let until = crate::lifecycle::Deadline::after(duration).instant_or_forever();
        let mut state = self.lock();
        loop {
            let now = Instant::now();
            if state.deadline.is_some_and(|d| now >= d) {
                return false;
            }
            if now >= until || (until_shutdown && state.deadline.is_some()) {
                return true;
            }
            let limit = state.deadline.map_or(until, |d| d.min(until));
            state = self
                .cond
                .wait_timeout(state, limit.saturating_duration_since(now))
                .map(|(s, _)| s)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }

    fn deadline(&self) -> Option<Instant> {
        self.lock().deadline
    }

    fn past_deadline(&self) -> bool {
        self.deadline().is_some_and(|d| Instant::now() >= d)
    }
}

/// How the worker retries.
#[derive(Clone, Debug)]
pub(crate) struct Policy {
    pub(crate) max_attempts: u32,
    pub(crate) retry_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) max_pause: Duration,
    pub(crate) max_payload_bytes: usize,
}

pub(crate) struct Worker<T> {
    pub(crate) rx: Receiver<Msg>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) transport: T,
    pub(crate) settings: PayloadSettings,
    pub(crate) policy: Policy,
    pub(crate) destination: Box<dyn Protocol>,
    pub(crate) dedup: Arc<Mutex<Dedup>>,
    pub(crate) paused_until: Option<Instant>,
    /// Set when, after shutdown began, a request got no answer at all (refused,
    /// unresolvable, timed out): the rest is abandoned at once rather than tried in
    /// turn, so a tracker that is down does not hold up the exit.
    pub(crate) down_at_shutdown: Option<String>,
    /// Items abandoned because of `down_at_shutdown`.
    pub(crate) abandoned_down: u64,
    pub(crate) spool: Option<SpoolState>,
    pub(crate) preview: Option<Preview>,
}

/// The worker's side of the spool: what to replay and whether the tracker is down.
pub(crate) struct SpoolState {
    pub(crate) spool: Spool,
    /// Names still to replay, oldest first.
    backlog: std::collections::VecDeque<String>,
    /// The spool may hold items not in `backlog` (at start, after spooling).
    dirty: bool,
    /// The tracker gave no answer (or 5xx) to the last try: new items go straight to
    /// the spool until `next_try`.
    down: bool,
    next_try: Instant,
    probe_wait: Duration,
    /// A replay run is under way (its start was logged).
    replaying: bool,
    run_replayed: u64,
}

impl SpoolState {
    pub(crate) fn new(spool: Spool) -> SpoolState {
        SpoolState {
            spool,
            backlog: Default::default(),
            dirty: true,
            down: false,
            next_try: Instant::now(),
            probe_wait: Duration::ZERO,
            replaying: false,
            run_replayed: 0,
        }
    }

    fn mark_down(&mut self, backoff: Duration) {
        self.down = true;
        self.probe_wait =
            (self.probe_wait * 2).clamp(backoff.max(Duration::from_millis(50)), MAX_PROBE_WAIT);
        self.next_try = Instant::now() + self.probe_wait;
    }

    fn mark_up(&mut self) {
        if self.down {
            self.dirty = true;
        }
        self.down = false;
        self.probe_wait = Duration::ZERO;
    }

    /// Logs the end of a replay run, if one is under way.
    fn end_run(&mut self, destination: &str) {
        if std::mem::take(&mut self.replaying) {
            let n = std::mem::take(&mut self.run_replayed);
            crate::notice!(
                target: "tracing_logbook::notify",
                replayed = n,
                "{destination}: spooled notifications replayed"
            );
        }
    }

    /// When the next replay step is due, if there may be something to replay.
    fn due(&self) -> Option<Instant> {
        (self.dirty || !self.backlog.is_empty()).then_some(self.next_try)
    }
}

enum Outcome {
    Sent,
    /// Rejected for good (4xx).
    Failed,
    /// No answer, or 5xx after the last attempt.
    Undelivered,
    Abandoned,
}

impl<T: Transport> Worker<T> {
    pub(crate) fn run(mut self) {
        crate::filter::client::IN_WORKER.with(|w| w.set(true));
        // Should the thread ever end by a panic after all, the notifier says so and
        // stops taking items: they are counted as dropped, never left pending.
        let _exit = ExitGuard(self.shared.clone());
        loop {
            self.send_expired_summaries();
            let deadline = self.shared.deadline();
            self.spool_overflow();
            let msg = if deadline.is_some() {
                match self.rx.try_recv() {
                    Ok(msg) => Some(msg),
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                }
            } else {
                match self.rx.try_recv() {
                    Ok(msg) => Some(msg),
                    Err(TryRecvError::Disconnected) => break,
                    Err(TryRecvError::Empty) => {
                        // Live items first: the replay goes on only when none waits.
                        let replay = self.spool.as_ref().and_then(SpoolState::due);
                        if replay.is_some_and(|at| at <= Instant::now()) {
                            self.replay_step();
                            continue;
                        }
                        let now = Instant::now();
                        let wait = self
                            .dedup_lock()
                            .next_expiry()
                            .into_iter()
                            .chain(replay)
                            .min()
                            .map_or(Duration::from_secs(3600), |t| {
                                t.saturating_duration_since(now)
                            });
                        match self.rx.recv_timeout(wait) {
                            Ok(msg) => Some(msg),
                            Err(RecvTimeoutError::Timeout) => None,
                            Err(RecvTimeoutError::Disconnected) => break,
                        }
                    }
                }
            };
            if let Some(Msg::Item(occ)) = msg {
                if self.shared.past_deadline() || self.down_at_shutdown.is_some() {
                    self.keep_or_abandon(&occ);
                } else {
                    self.deliver(&occ);
                }
                self.shared.finish_one();
            }
        }
        self.spool_overflow();
        // Summaries of the windows still open, then stop.
        let open = self.dedup_lock().take_all();
        for (occ, n) in open {
            self.send_summary(occ, n);
        }
        // Items the spool kept are not lost: only the abandoned ones are said.
        if let (Some(why), n @ 1..) = (&self.down_at_shutdown, self.abandoned_down) {
            diag::report(format_args!(
                "{} unreachable at shutdown ({why}): {n} error notification{} not delivered",
                self.destination.name(),
                if n == 1 { "" } else { "s" }
            ));
        }
        let mut state = self.shared.lock();
        state.done = true;
        drop(state);
        self.shared.cond.notify_all();
    }

    fn dedup_lock(&self) -> MutexGuard<'_, Dedup> {
        self.dedup.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn send_expired_summaries(&mut self) {
        let expired = self.dedup_lock().take_expired(Instant::now());
        for (occ, n) in expired {
            self.send_summary(occ, n);
        }
    }

    /// Counts an item given up on at shutdown.
    fn abandon(&mut self) {
        if self.down_at_shutdown.is_some() {
            self.abandoned_down += 1;
        }
        self.shared.count(&self.shared.abandoned);
    }

    fn send_summary(&mut self, mut occ: Occurrence, n: u64) {
        let window = self.dedup_lock().window();
        occ.repeated = Some((n, window));
        occ.timestamp_ms = now_ms();
        if self.shared.past_deadline() || self.down_at_shutdown.is_some() {
            self.keep_or_abandon(&occ);
            return;
        }
        self.deliver(&occ);
    }

    /// An item that will not be sent now (shutdown's deadline passed, or the tracker
    /// was down at shutdown): into the spool, else abandoned.
    fn keep_or_abandon(&mut self, occ: &Occurrence) {
        if self.spool.is_none() && self.preview.is_none() {
            return self.abandon();
        }
        let caught = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let id = uuid::Uuid::new_v4();
            let mut payload = destination::payload(&*self.destination, occ, &self.settings, id);
            let body = self
                .destination
                .serialize(&mut payload, self.policy.max_payload_bytes);
            if self.write_preview(id, &body) {
                return true;
            }
            self.spool_write(&body).is_some()
        }));
        match caught {
            Ok(true) => {
                if self.preview.as_ref().is_none_or(|p| !p.only) {
                    self.shared.count(&self.shared.spooled);
                }
            }
            _ => self.abandon(),
        }
    }

    /// Writes the items that did not fit in the full queue to the spool.
    fn spool_overflow(&mut self) {
        if self.spool.is_none() {
            return;
        }
        loop {
            let next = self
                .shared
                .overflow
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop_front();
            let Some(occ) = next else { break };
            let id = uuid::Uuid::new_v4();
            let kept = std::panic::catch_unwind(AssertUnwindSafe(|| {
                let mut payload =
                    destination::payload(&*self.destination, &occ, &self.settings, id);
                let body = self
                    .destination
                    .serialize(&mut payload, self.policy.max_payload_bytes);
                self.write_preview(id, &body);
                self.spool_write(&body).is_some()
            }));
            match kept {
                Ok(true) => {
                    self.shared.spooled.fetch_add(1, Ordering::Relaxed);
                }
                _ => {
                    self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            self.shared.finish_one();
        }
    }

    /// Writes `body` to the spool (claimed); counts what made room for it.
    fn spool_write(&mut self, body: &[u8]) -> Option<Claim> {
        let state = self.spool.as_mut()?;
        let mut evicted = 0;
        let claim = state.spool.write(body, &mut evicted);
        state.dirty = true;
        if evicted > 0 {
            self.shared
                .spool_dropped
                .fetch_add(evicted, Ordering::Relaxed);
        }
        claim
    }

    /// Writes the preview of `body`; true when nothing is to be sent (preview only).
    fn write_preview(&self, id: uuid::Uuid, body: &[u8]) -> bool {
        let Some(preview) = &self.preview else {
            return false;
        };
        let id = match self.destination.name() {
            "Sentry" => id.simple().to_string(),
            _ => id.hyphenated().to_string(),
        };
        if preview.write(self.destination.name(), &id, self.destination.preview(body)) {
            self.shared.previewed.fetch_add(1, Ordering::Relaxed);
        }
        preview.only
    }

    /// Delivers `occ`, surviving whatever happens on the way: a panic in building,
    /// scrubbing, serializing, sending or reading the answer (a bug, or a transport's)
    /// costs this item (counted as failed, reported once), not the thread and every
    /// later notification.
    fn deliver(&mut self, occ: &Occurrence) {
        let caught = std::panic::catch_unwind(AssertUnwindSafe(|| self.try_deliver(occ)));
        if let Err(payload) = caught {
            let why = panic_text(&*payload);
            self.shared.item_panicked.report(format_args!(
                "{} notifier: delivering an item panicked ({why}); the item is lost, the notifier goes on (further panics are not reported)",
                self.destination.name()
            ));
            self.shared.count(&self.shared.failed);
        }
    }

    fn try_deliver(&mut self, occ: &Occurrence) {
        let id = uuid::Uuid::new_v4();
        let dest = &*self.destination;
        let mut payload = destination::payload(dest, occ, &self.settings, id);
        let body = dest.serialize(&mut payload, self.policy.max_payload_bytes);
        if self.write_preview(id, &body) {
            return;
        }
        // Written ahead: a crash, an exit or a hanging tracker cannot lose it now.
        let claim = self.spool_write(&body);
        if claim.is_some() {
            if let Some(state) = &self.spool {
                if state.down && Instant::now() < state.next_try {
                    // The tracker is down: to the spool at once, tried again later.
                    self.shared.count(&self.shared.spooled);
                    return;
                }
            }
        }
        let outcome = self.send(&mut payload, body, claim.is_some());
        self.settle(outcome, claim, false);
    }

    /// What becomes of an item (live, or replayed from the spool when `replayed`) after
    /// its attempts.
    fn settle(&mut self, outcome: Outcome, claim: Option<Claim>, replayed: bool) {
        let name = self.destination.name();
        let backoff = self.policy.retry_backoff;
        match (outcome, claim) {
            (Outcome::Sent, claim) => {
                if let Some(claim) = claim {
                    claim.delete();
                }
                self.shared.count(if replayed {
                    &self.shared.replayed
                } else {
                    &self.shared.sent
                });
                if let Some(state) = &mut self.spool {
                    state.mark_up();
                }
                if self.shared.unreachable.reset() {
                    diag::report(format_args!("{name} reachable again"));
                }
            }
            (Outcome::Failed, claim) => {
                if let Some(claim) = claim {
                    claim.delete();
                }
                self.shared.count(&self.shared.failed);
            }
            (Outcome::Undelivered | Outcome::Abandoned, Some(claim)) => {
                drop(claim);
                if let Some(state) = &mut self.spool {
                    state.mark_down(backoff);
                }
                if !replayed {
                    self.shared.count(&self.shared.spooled);
                }
            }
            (Outcome::Undelivered, None) => self.shared.count(&self.shared.failed),
            (Outcome::Abandoned, None) => self.abandon(),
        }
    }

    /// One step of the replay: the oldest spooled item, unless it expired or is
    /// damaged, is sent once; deleted only after a 2xx.
    fn replay_step(&mut self) {
        let Some(state) = &mut self.spool else { return };
        if state.backlog.is_empty() && state.dirty {
            state.dirty = false;
            state.backlog = state.spool.backlog();
        }
        let Some(name) = state.backlog.pop_front() else {
            state.end_run(self.destination.name());
            return;
        };
        let Some(claim) = state.spool.claim(&name) else {
            return;
        };
        if state.spool.expired(&name) {
            claim.delete();
            self.shared.expired.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let body = match state.spool.read(&claim) {
            Some(body) if self.destination.valid_body(&body) => body,
            _ => {
                state.spool.move_aside(claim);
                return;
            }
        };
        let caught = std::panic::catch_unwind(AssertUnwindSafe(|| self.replay_one(&body)));
        let outcome = caught.unwrap_or(Outcome::Failed);
        let Some(state) = &mut self.spool else { return };
        match outcome {
            Outcome::Sent => {
                if !state.replaying {
                    state.replaying = true;
                    let waiting = state.backlog.len() + 1;
                    crate::notice!(
                        target: "tracing_logbook::notify",
                        waiting,
                        "{}: replaying spooled notifications",
                        self.destination.name()
                    );
                }
                state.run_replayed += 1;
                state.next_try = Instant::now() + REPLAY_INTERVAL;
                if state.backlog.is_empty() {
                    // The last one? Then the run ends now, not a pacing later.
                    state.backlog = state.spool.backlog();
                    state.dirty = false;
                    state.backlog.retain(|n| *n != name);
                    if state.backlog.is_empty() {
                        state.end_run(self.destination.name());
                    }
                }
            }
            Outcome::Undelivered | Outcome::Abandoned => state.backlog.push_front(name),
            Outcome::Failed => {}
        }
        self.settle(outcome, Some(claim), true);
    }

    /// Sends a spooled body once (a 429 pauses as for live items, and the item waits).
    fn replay_one(&mut self, body: &[u8]) -> Outcome {
        if !self.wait_for_pause() {
            return Outcome::Abandoned;
        }
        let headers = self.destination.headers();
        let request = Request {
            endpoint: self.destination.endpoint(),
            token: self.destination.secret(),
            headers: &headers,
            body,
        };
        let name = self.destination.name();
        match self.transport.send(&request) {
            Ok(r) => match self.destination.classify(&r, SystemTime::now()) {
                Verdict::Accepted(pause) => {
                    if let Some(pause) = pause {
                        self.pause(name, pause);
                    }
                    Outcome::Sent
                }
                Verdict::RateLimited(pause) => {
                    self.pause(name, pause.unwrap_or(self.policy.retry_backoff));
                    Outcome::Abandoned
                }
                Verdict::Retry => Outcome::Undelivered,
                Verdict::TooLarge | Verdict::Rejected => {
                    let reason = self.redact(&r.body);
                    self.shared.rejected.report(format_args!(
                        "{name} rejected a spooled item (HTTP {}): {}; it is deleted (further rejections are not reported)",
                        r.status, reason
                    ));
                    Outcome::Failed
                }
            },
            Err(_) => Outcome::Undelivered,
        }
    }

    /// Sends `body` with retries, backoff, pauses and one cut on a 413; with a spool
    /// (`spooled`), a request that gets no answer is not retried: the item waits in
    /// the spool.
    fn send(
        &mut self,
        payload: &mut super::scrub::Scrubbed,
        mut body: Vec<u8>,
        spooled: bool,
    ) -> Outcome {
        let dest = &*self.destination;
        let headers = dest.headers();
        let name = dest.name();
        let mut attempt = 0u32;
        let mut shrunk = false;
        loop {
            if !self.wait_for_pause() {
                break Outcome::Abandoned;
            }
            attempt += 1;
            let request = Request {
                endpoint: self.destination.endpoint(),
                token: self.destination.secret(),
                headers: &headers,
                body: &body,
            };
            let retry = match self.transport.send(&request) {
                Ok(r) => match self.destination.classify(&r, SystemTime::now()) {
                    Verdict::Accepted(pause) => {
                        if let Some(pause) = pause {
                            self.pause(name, pause);
                        }
                        break Outcome::Sent;
                    }
                    Verdict::RateLimited(pause) => {
                        self.pause(name, pause.unwrap_or(self.policy.retry_backoff));
                        true
                    }
                    Verdict::TooLarge if !shrunk => {
                        shrunk = true;
                        let target = (body.len() / 2).min(self.policy.max_payload_bytes);
                        body = self.destination.serialize(payload, target);
                        self.shared.retried.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    Verdict::Retry => {
                        self.note_unreachable(
                            name,
                            attempt,
                            spooled,
                            format_args!("HTTP {}", r.status),
                        );
                        true
                    }
                    Verdict::TooLarge | Verdict::Rejected => {
                        let reason = self.redact(&r.body);
                        self.shared.rejected.report(format_args!(
                            "{name} rejected an item (HTTP {}): {}; not retrying (further rejections are not reported)",
                            r.status,
                            reason
                        ));
                        break Outcome::Failed;
                    }
                },
                Err(e) => {
                    if self.shared.deadline().is_some() {
                        self.down_at_shutdown = Some(e.to_string());
                        break Outcome::Abandoned;
                    }
                    if spooled {
                        self.shared.unreachable.report(format_args!(
                            "cannot deliver to {name} ({e}); notifications wait in the spool until it answers"
                        ));
                        break Outcome::Undelivered;
                    }
                    self.note_unreachable(name, attempt, false, format_args!("{e}"));
                    true
                }
            };
            if !retry {
                break Outcome::Failed;
            }
            if attempt >= self.policy.max_attempts {
                break Outcome::Undelivered;
            }
            self.shared.retried.fetch_add(1, Ordering::Relaxed);
            if self.paused_until.is_none() {
                let factor = 1u32 << (attempt - 1).min(16);
                let backoff = self
                    .policy
                    .retry_backoff
                    .saturating_mul(factor)
                    .min(self.policy.max_backoff);
                if !self.shared.wait(backoff, true) {
                    break Outcome::Abandoned;
                }
            }
        }
    }

    /// Stops sending for `pause` (at most the configured maximum).
    fn pause(&mut self, name: &str, pause: Duration) {
        let pause = pause.min(self.policy.max_pause);
        let until = crate::lifecycle::Deadline::after(pause).instant_or_forever();
        self.paused_until = Some(self.paused_until.map_or(until, |u| u.max(until)));
        self.shared.rate_limited.report(format_args!(
            "{name} rate limit reached: sending paused for {:.1} s",
            pause.as_secs_f64()
        ));
    }

    fn note_unreachable(
        &self,
        name: &str,
        attempt: u32,
        spooled: bool,
        why: std::fmt::Arguments<'_>,
    ) {
        if attempt >= self.policy.max_attempts {
            let fate = match spooled {
                true => "notifications wait in the spool until it answers",
                false => "items are being lost",
            };
            self.shared.unreachable.report(format_args!(
                "cannot deliver to {name} ({why}) after {attempt} attempts; {fate}"
            ));
        }
    }

    /// Waits out a rate-limit pause; false when shutdown's deadline comes first.
    fn wait_for_pause(&mut self) -> bool {
        if let Some(until) = self.paused_until {
            let now = Instant::now();
            if let Some(deadline) = self.shared.deadline() {
                if until > deadline {
                    return false;
                }
            }
            if until > now && !self.shared.wait(until - now, false) {
                return false;
            }
            self.paused_until = None;
        }
        !self.shared.past_deadline()
    }

    /// The server's text, cut short and with the token removed should it be echoed.
    fn redact(&self, text: &str) -> String {
        super::transport::server_text(text, &[self.destination.secret().expose()])
    }
}

/// The text of a panic's payload (`&str` or `String`), cut short.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("Box<dyn Any>");
    truncate_chars(text, 200)
}

/// Dropped when the worker's `run` ends. If it ends by unwinding (a panic that escaped
/// the per-item guard), the notifier is marked done, so later notifications are counted
/// as dropped at once; the items still queued are counted as dropped too (no flush
/// waits for them), and it is said once on stderr.
struct ExitGuard(Arc<Shared>);

impl Drop for ExitGuard {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let mut state = self.0.lock();
        let pending = std::mem::take(&mut state.pending);
        // Items that shutdown already counted as abandoned are not counted again.
        let pending = if state.gave_up { 0 } else { pending };
        state.done = true;
        drop(state);
        self.0.dropped.fetch_add(pending as u64, Ordering::Relaxed);
        self.0.cond.notify_all();
        diag::report(format_args!(
            "the notifier thread {THREAD_NAME} died; {pending} queued error notification{} and every later one are dropped",
            if pending == 1 { "" } else { "s" }
        ));
    }
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A worker thread that dies anyway (a panic outside the per-item guard) leaves no
    /// item pending: they are counted as dropped, and the layer sees it is done.
    #[test]
    fn a_dying_worker_leaves_nothing_pending() {
        let said = crate::testing::capture_diagnostics();
        let shared = Arc::new(Shared::default());
        shared.lock().pending = 3;
        let dying = shared.clone();
        let joined = std::thread::spawn(move || {
            let _exit = ExitGuard(dying);
            panic!("worker bug");
        })
        .join();
        assert!(joined.is_err());
        let state = shared.lock();
        assert_eq!((state.pending, state.done), (0, true));
        drop(state);
        assert_eq!(shared.dropped.load(Ordering::Relaxed), 3);
        // An ordinary end leaves the counts alone.
        let calm = Arc::new(Shared::default());
        calm.lock().pending = 1;
        drop(ExitGuard(calm.clone()));
        let state = calm.lock();
        assert_eq!((state.pending, state.done), (1, false));
        said.assert_said("the notifier thread tracing-logbook-notify died");
    }
}
