//! The spool: the one bounded queue and writer thread behind every background
//! destination (the [daily file](crate::DailyFile), [syslog](crate::syslog)).
//!
//! A caller copies its finished record into the shared [`Batch`] under a short lock and
//! returns; the writer thread swaps the batch for an empty one and hands it to its
//! [`Output`], which writes it (one `write` per file for the daily file, one datagram or
//! frame per message for syslog). The spool owns everything around that:
//!
//! * **Backpressure or loss**: when [`Config::capacity`] records wait, callers wait for
//!   room, at most [`Config::max_wait`]; or, [lossy](Config::lossy), drop at once. Every
//!   drop is counted. A caller whose wait ran out drops its record, and while the writer
//!   makes no progress (a hung file system) later callers drop at once instead of each
//!   waiting again; backpressure returns when the writer takes the next batch.
//! * **Loss notices**: records that were dropped (and, with
//!   [`Config::announce_failures`], records the output failed to write) are announced by
//!   a notice in the destination's own format ([`Notice`]), put into the batch before the
//!   next record that gets in, or by flush and shutdown.
//! * **Tickets**: each record (and notice) takes a ticket; a flush waits until the writer
//!   has finished the batch holding its last ticket, by a [`Deadline`].
//! * **Shutdown by a deadline**: the writer drains what is queued and ends; a writer
//!   stuck in a hung `write` is left behind, and what it did not write is reported.
//! * **One stats shape**: records `written`, `dropped` (never queued), `failed` (queued
//!   but lost by the output). Notices count in none of them.
//! * **A closed door** ([`Spool::close_door`]): only one thread's records get in, the
//!   others' are dropped and counted (`refused`), unannounced: the signal thread's NOTICE
//!   is the last record.
//! * **Whole records at the end**: the writer hands whole batches to the output, and
//!   shutdown returns only once the writer has left its loop, between batches: a process
//!   that ends after it never cuts a record in half.
//! * **Fork**: in a forked child there is no writer thread, and the parent's threads may
//!   have held the lock at the fork: the child never takes it. Its records are dropped
//!   and counted, flush and shutdown return at once.

use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use time::OffsetDateTime;

use crate::diag;
use crate::lifecycle::{Born, Deadline, SHUTDOWN_TIMEOUT};

/// A batch never grows past this many bytes before the writer takes it (a single larger
/// record is still accepted into an empty batch).
pub(crate) const MAX_BATCH_BYTES: usize = 4 << 20;

/// How long the writer lets a small batch grow before writing it. Fewer, larger writes
/// (and fewer wake-ups of the writer) cost the callers less; a flush, shutdown or a
/// half-full buffer ends the wait at once.
const LINGER: Duration = Duration::from_millis(1);

/// Renders the notice for `lost` records, the last of them lost at `time`, appending the
/// whole record (with its final `\n` where the destination has lines) to the buffer.
pub(crate) type Notice = Arc<dyn Fn(OffsetDateTime, u64, &mut Vec<u8>) + Send + Sync>;

/// Where a spool's batches go. Runs on the writer thread only.
pub(crate) trait Output: Send + 'static {
    /// What records are grouped by in a batch (the daily file: the date).
    type Key: Copy + PartialEq + Send + 'static;

    /// The key of a record stamped `time`.
    fn key(time: OffsetDateTime) -> Self::Key;

    /// Runs once on the writer thread before the first batch (the daily file prunes old
    /// files); a flush right after start waits for it.
    fn start(&mut self) {}

    /// Writes `batch`, telling `tally` which segments were written and which were lost.
    /// Must not panic.
    fn write(&mut self, batch: &Batch<Self::Key>, tally: &Tally);
}

/// How a spool behaves.
pub(crate) struct Config {
    /// The writer thread's name.
    pub(crate) thread_name: String,
    /// Names the writer in diagnostics: `the log file writer for /var/log/app.log`.
    pub(crate) label: String,
    /// What the records are called in diagnostics: `lines`, `messages`.
    pub(crate) unit: &'static str,
    /// What the writer does with them: `written`, `sent`.
    pub(crate) verb: &'static str,
    /// How many records may wait for the writer; at least 1.
    pub(crate) capacity: usize,
    /// Drop (and count) instead of waiting for room.
    pub(crate) lossy: bool,
    /// How long a caller waits for room when not lossy ([`Duration::MAX`]: no bound).
    pub(crate) max_wait: Duration,
    /// One segment per record (otherwise consecutive records of one key share one).
    pub(crate) per_record: bool,
    /// Records are lines: one that does not end in `\n` gets one.
    pub(crate) newline: bool,
    /// Notices also announce records the output failed to write.
    pub(crate) announce_failures: bool,
    /// Renders loss notices.
    pub(crate) notice: Notice,
}

/// The counters of a spool, shared with its output.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    written: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
    /// Losses announced by notices that were themselves lost: announced again.
    unannounced: AtomicU64,
}

impl Tally {
    /// The records of `segs` were written.
    #[inline]
    pub(crate) fn wrote<K>(&self, segs: &[Seg<K>]) {
        let records: usize = segs.iter().map(|s| s.records).sum();
        if records > 0 {
            self.written.fetch_add(records as u64, Ordering::Relaxed);
        }
    }

    /// The records of `segs` were delivered, but the receiver says it rejected
    /// `rejected` of them (which ones, it does not say): those count as failed, the
    /// others as written. Returns how many were counted as failed (at most the records
    /// of `segs`).
    #[cfg(feature = "otlp")]
    pub(crate) fn wrote_but_rejected<K>(&self, segs: &[Seg<K>], rejected: u64) -> u64 {
        let records = segs.iter().map(|s| s.records as u64).sum::<u64>();
        let rejected = rejected.min(records);
        self.written
            .fetch_add(records - rejected, Ordering::Relaxed);
        self.failed.fetch_add(rejected, Ordering::Relaxed);
        rejected
    }

    /// The records of `segs` were lost; returns how many (notices not counted).
    pub(crate) fn lost<K>(&self, segs: &[Seg<K>]) -> u64 {
        let records: usize = segs.iter().map(|s| s.records).sum();
        let announced: u64 = segs.iter().map(|s| s.announced).sum();
        self.failed.fetch_add(records as u64, Ordering::Relaxed);
        if announced > 0 {
            self.unannounced.fetch_add(announced, Ordering::Relaxed);
        }
        records as u64
    }
}

/// Records waiting to be written: their bytes back to back, in segments of one key.
pub(crate) struct Batch<K> {
    bytes: Vec<u8>,
    segs: Vec<Seg<K>>,
    /// Records and notices in the batch.
    len: usize,
}

/// A run of records of one key in a [`Batch`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seg<K> {
    /// Where the segment ends in the batch's bytes (it starts where the previous ends).
    pub(crate) end: usize,
    pub(crate) key: K,
    /// Records in the segment, notices not counted.
    pub(crate) records: usize,
    /// Losses announced by the notices in the segment.
    pub(crate) announced: u64,
}

impl<K> Default for Batch<K> {
    fn default() -> Self {
        Batch {
            bytes: Vec::new(),
            segs: Vec::new(),
            len: 0,
        }
    }
}

impl<K: Copy + PartialEq> Batch<K> {
    /// All the bytes of the batch.
    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The segments, in order.
    #[inline]
    pub(crate) fn segs(&self) -> &[Seg<K>] {
        &self.segs
    }

    /// Where segment `i` starts in [`bytes`](Self::bytes).
    #[inline]
    pub(crate) fn start(&self, i: usize) -> usize {
        if i == 0 {
            0
        } else {
            self.segs[i - 1].end
        }
    }

    /// The bytes of segment `i`.
    #[inline]
    pub(crate) fn seg_bytes(&self, i: usize) -> &[u8] {
        &self.bytes[self.start(i)..self.segs[i].end]
    }

    #[inline]
    fn push(&mut self, key: K, line: &[u8], records: usize, per_record: bool, newline: bool) {
        self.bytes.extend_from_slice(line);
        if newline && line.last() != Some(&b'\n') {
            self.bytes.push(b'\n');
        }
        self.add(key, per_record, records, 0);
    }

    #[inline]
    fn add(&mut self, key: K, per_record: bool, records: usize, announced: u64) {
        self.len += 1;
        let end = self.bytes.len();
        match self.segs.last_mut() {
            Some(seg) if !per_record && seg.key == key => {
                seg.end = end;
                seg.records += records;
                seg.announced += announced;
            }
            _ => self.segs.push(Seg {
                end,
                key,
                records,
                announced,
            }),
        }
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.segs.clear();
        self.len = 0;
        if self.bytes.capacity() > 2 * MAX_BATCH_BYTES {
            self.bytes = Vec::new();
        }
    }
}

/// A bounded queue of records and the thread that writes them to `O`. Dropping it
/// shuts it down, waiting at most [`SHUTDOWN_TIMEOUT`].
pub(crate) struct Spool<O: Output> {
    shared: Arc<Shared<O>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl<O: Output> fmt::Debug for Spool<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spool")
            .field("label", &self.shared.label)
            .field("lossy", &self.shared.lossy)
            .field("written", &self.written())
            .field("dropped", &self.dropped())
            .field("failed", &self.failed())
            .finish_non_exhaustive()
    }
}

impl<O: Output> Spool<O> {
    /// Starts the writer thread, which first runs [`Output::start`].
    pub(crate) fn start(config: Config, output: O) -> std::io::Result<Spool<O>> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            writer_cv: Condvar::new(),
            space_cv: Condvar::new(),
            done_cv: Condvar::new(),
            tally: Tally::default(),
            refused: AtomicU64::new(0),
            born: Born::default(),
            lossy: config.lossy,
            per_record: config.per_record,
            newline: config.newline,
            announce_failures: config.announce_failures,
            cap: config.capacity.max(1),
            max_wait: config.max_wait,
            notice: Mutex::new(config.notice),
            label: config.label,
            unit: config.unit,
            verb: config.verb,
            after_close: diag::Once::new(),
            stall: diag::Once::new(),
            slow: diag::Once::new(),
            output: PhantomData,
        });
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name(config.thread_name)
            .spawn(move || run(thread_shared, output))?;
        Ok(Spool {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Renders later loss notices with `notice` (the format of the layer that writes
    /// into this spool).
    pub(crate) fn set_notice(&self, notice: Notice) {
        *self
            .shared
            .notice
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = notice;
    }

    /// Hands over one record stamped `time`. Never blocks longer than
    /// [`Config::max_wait`] (not at all when lossy); never panics.
    #[inline]
    pub(crate) fn push(&self, time: OffsetDateTime, line: &[u8]) {
        self.push_records(time, line, 1);
    }

    /// Hands over `records` whole records in one piece (written together, counted as
    /// `records`), as [`push`](Self::push) does one.
    #[inline]
    pub(crate) fn push_records(&self, time: OffsetDateTime, line: &[u8], records: usize) {
        let shared = &*self.shared;
        if shared.born.forked() {
            shared.drop_forked(records);
            return;
        }
        let mut st = shared.lock();
        if !shared.has_room(&st) || st.closing || st.exited || st.door.is_some() {
            st = match shared.wait_for_room(st, time, records) {
                Some(st) => st,
                None => return,
            };
        }
        if st.unreported > 0 {
            shared.push_notice(&mut st);
        }
        st.batch.push(
            O::key(time),
            line,
            records,
            shared.per_record,
            shared.newline,
        );
        st.handed += 1;
        if st.writer_waiting
            || (st.writer_lingering
                && (st.batch.len >= shared.cap.div_ceil(2)
                    || st.batch.bytes.len() >= MAX_BATCH_BYTES / 2))
        {
            st.writer_waiting = false;
            st.writer_lingering = false;
            shared.writer_cv.notify_one();
        }
    }

    /// Waits until every record handed over so far has been written (or counted as
    /// failed), by `deadline`. False if the deadline passed first or the writer has
    /// stopped with records unwritten.
    pub(crate) fn flush(&self, deadline: Deadline) -> bool {
        let shared = &*self.shared;
        if shared.born.forked() {
            // Nothing of this process was queued; the parent writes its own.
            return true;
        }
        let mut st = shared.lock();
        st.done_waiters += 1;
        if !st.closing {
            shared.report_losses(&mut st);
        }
        let target = st.handed;
        let (mut st, _) =
            deadline.wait_until(&shared.done_cv, st, |st| st.done >= target || st.exited);
        st.done_waiters -= 1;
        st.done >= target
    }

    /// Flushes, stops the writer and waits for it, within `timeout` in all. True when
    /// everything was written and the thread has ended; otherwise a diagnostic says how
    /// many records were left, and the thread is left to finish on its own.
    pub(crate) fn shutdown(&self, timeout: Duration) -> bool {
        let deadline = Deadline::after(timeout);
        let shared = &*self.shared;
        if shared.born.forked() {
            return true;
        }
        let mut st = shared.lock();
        if !st.closing {
            shared.report_losses(&mut st);
            st.closing = true;
            shared.writer_cv.notify_one();
            shared.space_cv.notify_all();
        }
        st.done_waiters += 1;
        let (mut st, finished) = deadline.wait_until(&shared.done_cv, st, |st| st.exited);
        st.done_waiters -= 1;
        let left = st.handed.saturating_sub(st.done);
        drop(st);
        if finished {
            crate::lifecycle::join_ended(&self.thread);
            left == 0
        } else {
            diag::report(format_args!(
                "{} did not finish within {timeout:?}; {left} {} were not {}",
                shared.label, shared.unit, shared.verb
            ));
            false
        }
    }

    /// Lets only the calling thread's records in from now on; other threads' are
    /// dropped and counted ([`refused`](Self::refused)), without a loss notice. Losses
    /// not yet announced are announced first, so that the caller's next record is the
    /// last one.
    pub(crate) fn close_door(&self) {
        let shared = &*self.shared;
        if shared.born.forked() {
            return;
        }
        let mut st = shared.lock();
        shared.report_losses(&mut st);
        st.door = Some(std::thread::current().id());
        drop(st);
        // Callers waiting for room are dropped at once.
        shared.space_cv.notify_all();
    }

    /// Records queued (notices included) and not written yet; none in a forked child.
    pub(crate) fn backlog(&self) -> u64 {
        let shared = &*self.shared;
        if shared.born.forked() {
            return 0;
        }
        let st = shared.lock();
        st.handed.saturating_sub(st.done)
    }

    /// Records of other threads dropped since [`close_door`](Self::close_door).
    pub(crate) fn refused(&self) -> u64 {
        self.shared.refused.load(Ordering::Relaxed)
    }

    /// Records written.
    pub(crate) fn written(&self) -> u64 {
        self.shared.tally.written.load(Ordering::Relaxed)
    }

    /// Records dropped before they were queued: no room (lossy, or the writer stalled),
    /// or after shutdown.
    pub(crate) fn dropped(&self) -> u64 {
        self.shared.tally.dropped.load(Ordering::Relaxed)
    }

    /// Records queued but lost by the output (write errors).
    pub(crate) fn failed(&self) -> u64 {
        self.shared.tally.failed.load(Ordering::Relaxed)
    }

    /// Whether the spool drops instead of waiting.
    pub(crate) fn lossy(&self) -> bool {
        self.shared.lossy
    }
}

impl<O: Output> Drop for Spool<O> {
    fn drop(&mut self) {
        self.shutdown(SHUTDOWN_TIMEOUT);
    }
}

/// State shared by the callers and the writer thread.
struct Shared<O: Output> {
    state: Mutex<State<O::Key>>,
    /// The writer waits here for records, flush requests or shutdown.
    writer_cv: Condvar,
    /// Callers wait here for room in the batch.
    space_cv: Condvar,
    /// Flushers and shutdown wait here for the writer's progress.
    done_cv: Condvar,
    tally: Tally,
    /// Records dropped by a closed door (also counted as dropped).
    refused: AtomicU64,
    /// The process the writer thread runs in.
    born: Born,
    lossy: bool,
    per_record: bool,
    newline: bool,
    announce_failures: bool,
    cap: usize,
    max_wait: Duration,
    /// Replaced by [`Spool::set_notice`] when a layer tells its writer its format.
    notice: Mutex<Notice>,
    label: String,
    unit: &'static str,
    verb: &'static str,
    after_close: diag::Once,
    /// Reported when callers start dropping because the writer makes no progress.
    stall: diag::Once,
    /// Reported (once) when a caller's wait ran out while the writer did progress.
    slow: diag::Once,
    output: PhantomData<fn() -> O>,
}

struct State<K> {
    batch: Batch<K>,
    /// Tickets handed out: records and notices put into batches so far.
    handed: u64,
    /// `handed` as of the last batch the writer finished.
    done: u64,
    /// Batches the writer has taken: its progress.
    taken: u64,
    /// A caller waited [`Config::max_wait`] while the writer took no batch: until it
    /// takes one, callers drop at once instead of waiting.
    stalled: bool,
    writer_waiting: bool,
    /// The writer is letting a small batch grow (see [`LINGER`]).
    writer_lingering: bool,
    space_waiters: usize,
    done_waiters: usize,
    closing: bool,
    exited: bool,
    /// The only thread whose records still get in ([`Spool::close_door`]).
    door: Option<std::thread::ThreadId>,
    /// Losses not yet announced by a notice, and the time of the last one.
    unreported: u64,
    last_loss: Option<OffsetDateTime>,
}

impl<K> Default for State<K> {
    fn default() -> Self {
        State {
            batch: Batch::default(),
            // The output's start counts as the first ticket, so that a flush right
            // after start also waits for it.
            handed: 1,
            done: 0,
            taken: 0,
            stalled: false,
            writer_waiting: false,
            writer_lingering: false,
            space_waiters: 0,
            done_waiters: 0,
            closing: false,
            exited: false,
            door: None,
            unreported: 0,
            last_loss: None,
        }
    }
}

impl<O: Output> Shared<O> {
    #[inline]
    fn lock(&self) -> MutexGuard<'_, State<O::Key>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[inline]
    fn has_room(&self, st: &State<O::Key>) -> bool {
        let b = &st.batch;
        b.len == 0 || (b.len < self.cap && b.bytes.len() < MAX_BATCH_BYTES)
    }

    /// The slow path of `push`: waits for room, or drops and counts. Returns the guard
    /// when the record may go into the batch.
    #[cold]
    #[inline(never)]
    fn wait_for_room<'a>(
        &'a self,
        mut st: MutexGuard<'a, State<O::Key>>,
        time: OffsetDateTime,
        records: usize,
    ) -> Option<MutexGuard<'a, State<O::Key>>> {
        let mut deadline = None;
        let taken_before = st.taken;
        loop {
            if st
                .door
                .is_some_and(|only| only != std::thread::current().id())
            {
                drop(st);
                self.tally
                    .dropped
                    .fetch_add(records as u64, Ordering::Relaxed);
                self.refused.fetch_add(records as u64, Ordering::Relaxed);
                return None;
            }
            if st.closing || st.exited {
                drop(st);
                self.tally
                    .dropped
                    .fetch_add(records as u64, Ordering::Relaxed);
                self.after_close.report(format_args!(
                    "{} was shut down (Guard::shutdown, or the drop of a guard from \
                     tracing_logbook::build): {} logged later are dropped and counted",
                    self.label, self.unit
                ));
                return None;
            }
            if self.has_room(&st) {
                return Some(st);
            }
            // The thread that closed the door waits for room (bounded) even when lossy:
            // its next record is the one that must be last (a signal's NOTICE).
            let keeper = st.door.is_some();
            if (self.lossy && !keeper) || st.stalled {
                self.lose(st, time, records);
                return None;
            }
            let deadline = *deadline.get_or_insert_with(|| Deadline::after(self.max_wait));
            if deadline.passed() {
                // No batch taken during the whole wait: the writer is stuck.
                if st.taken == taken_before {
                    st.stalled = true;
                }
                let stalled = st.stalled;
                self.lose(st, time, records);
                if stalled {
                    self.stall.report(format_args!(
                        "{} made no progress for {:?}; {} are dropped and counted until \
                         it does",
                        self.label, self.max_wait, self.unit
                    ));
                } else {
                    self.slow.report(format_args!(
                        "{} kept a caller waiting for room longer than {:?}; such {} are \
                         dropped and counted",
                        self.label, self.max_wait, self.unit
                    ));
                }
                return None;
            }
            self.wake_writer(&mut st);
            st.space_waiters += 1;
            st = match deadline.remaining() {
                None => self
                    .space_cv
                    .wait(st)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(left) => {
                    self.space_cv
                        .wait_timeout(st, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
            st.space_waiters -= 1;
        }
    }

    /// Drops and counts a record of a forked child, which has no writer thread.
    #[cold]
    #[inline(never)]
    fn drop_forked(&self, records: usize) {
        self.tally
            .dropped
            .fetch_add(records as u64, Ordering::Relaxed);
        crate::lifecycle::report_forked();
    }

    /// Counts a dropped record, to be announced.
    fn lose(&self, mut st: MutexGuard<'_, State<O::Key>>, time: OffsetDateTime, records: usize) {
        st.unreported += records as u64;
        st.last_loss = Some(time);
        drop(st);
        self.tally
            .dropped
            .fetch_add(records as u64, Ordering::Relaxed);
    }

    /// Wakes the writer if it waits or lingers (for flush and shutdown).
    fn wake_writer(&self, st: &mut State<O::Key>) {
        if st.writer_waiting || st.writer_lingering {
            st.writer_waiting = false;
            st.writer_lingering = false;
            self.writer_cv.notify_one();
        }
    }

    /// Puts the pending notice into the batch and wakes the writer (flush, shutdown).
    fn report_losses(&self, st: &mut State<O::Key>) {
        if st.unreported > 0 {
            self.push_notice(st);
        }
        self.wake_writer(st);
    }

    /// Puts a notice of the unreported losses into the batch, whatever its fill.
    #[cold]
    fn push_notice(&self, st: &mut State<O::Key>) {
        let time = st.last_loss.unwrap_or_else(OffsetDateTime::now_utc);
        let lost = std::mem::take(&mut st.unreported);
        let notice = self
            .notice
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        notice(time, lost, &mut st.batch.bytes);
        st.batch.add(O::key(time), self.per_record, 0, lost);
        st.handed += 1;
    }
}

/// The writer thread.
fn run<O: Output>(shared: Arc<Shared<O>>, mut out: O) {
    /// Marks the writer as gone however the thread ends, so nobody waits for it.
    struct Exit<'a, O: Output>(&'a Shared<O>);
    impl<O: Output> Drop for Exit<'_, O> {
        fn drop(&mut self) {
            let mut st = self.0.lock();
            st.exited = true;
            drop(st);
            self.0.done_cv.notify_all();
            self.0.space_cv.notify_all();
        }
    }
    let _exit = Exit(&shared);

    out.start();
    {
        let mut st = shared.lock();
        st.done = 1;
        if st.done_waiters > 0 {
            shared.done_cv.notify_all();
        }
    }
    let mut batch = Batch::default();
    loop {
        let (target, resumed) = {
            let mut st = shared.lock();
            while st.batch.len == 0 && !st.closing {
                st.writer_waiting = true;
                st = shared
                    .writer_cv
                    .wait(st)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            st.writer_waiting = false;
            if st.batch.len == 0 {
                // Closing, and everything is written.
                break;
            }
            if !st.closing
                && st.done_waiters == 0
                && st.space_waiters == 0
                && st.batch.len < shared.cap.div_ceil(2)
            {
                st.writer_lingering = true;
                st = shared
                    .writer_cv
                    .wait_timeout(st, LINGER)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
                st.writer_lingering = false;
            }
            std::mem::swap(&mut st.batch, &mut batch);
            st.taken += 1;
            let resumed = std::mem::take(&mut st.stalled);
            if st.space_waiters > 0 || resumed {
                shared.space_cv.notify_all();
            }
            (st.handed, resumed)
        };
        if resumed && shared.stall.reset() {
            diag::report(format_args!("{} makes progress again", shared.label));
        }
        let failed_before = shared.tally.failed.load(Ordering::Relaxed);
        out.write(&batch, &shared.tally);
        batch.clear();
        let relost = shared.tally.unannounced.swap(0, Ordering::Relaxed);
        let failed = match shared.announce_failures {
            true => shared.tally.failed.load(Ordering::Relaxed) - failed_before,
            false => 0,
        };
        let mut st = shared.lock();
        if relost + failed > 0 {
            st.unreported += relost + failed;
            // A failure happened just now; a lost notice keeps the time it had.
            if failed > 0 || st.last_loss.is_none() {
                st.last_loss = Some(OffsetDateTime::now_utc());
            }
        }
        st.done = target;
        if st.done_waiters > 0 {
            shared.done_cv.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn batch_segments() {
        let d1 = time::macros::date!(2026 - 11 - 23);
        let d2 = time::macros::date!(2026 - 11 - 24);
        let mut b = Batch::default();
        b.push(d1, b"a\n", 1, false, true);
        b.push(d1, b"b", 1, false, true);
        b.push(d2, b"c\n", 1, false, true);
        assert_eq!(b.bytes, b"a\nb\nc\n");
        assert_eq!(b.segs.len(), 2);
        assert_eq!((b.segs[0].end, b.segs[0].records), (4, 2));
        assert_eq!(b.seg_bytes(1), b"c\n");
        let mut r = Batch::default();
        r.push(d1, b"a\n", 1, true, true);
        r.push(d1, b"b", 1, true, false);
        assert_eq!(r.segs.len(), 2);
        assert_eq!(r.bytes, b"a\nb");
        // A block of records in one piece counts them all.
        let mut k = Batch::default();
        k.push(d1, b"a\nb\nc\n", 3, false, true);
        k.push(d1, b"d\n", 1, false, true);
        assert_eq!((k.segs.len(), k.segs[0].records), (1, 4));
    }

    /// Collects what it is given; fails the records of keys listed in `fail`.
    struct Collect {
        got: Arc<Mutex<Vec<u8>>>,
        fail: Arc<Mutex<bool>>,
    }

    impl Output for Collect {
        type Key = ();
        fn key(_time: OffsetDateTime) {}
        fn write(&mut self, batch: &Batch<()>, tally: &Tally) {
            let fail = *self.fail.lock().unwrap();
            for (i, seg) in batch.segs().iter().enumerate() {
                if fail {
                    tally.lost(std::slice::from_ref(seg));
                } else {
                    self.got
                        .lock()
                        .unwrap()
                        .extend_from_slice(batch.seg_bytes(i));
                    tally.wrote(std::slice::from_ref(seg));
                }
            }
        }
    }

    fn config(announce_failures: bool) -> Config {
        Config {
            thread_name: "spool-test".into(),
            label: "the test spool".into(),
            unit: "lines",
            verb: "written",
            capacity: 16,
            lossy: true,
            max_wait: Duration::from_secs(1),
            per_record: true,
            newline: true,
            announce_failures,
            notice: Arc::new(|_time, lost, out: &mut Vec<u8>| {
                out.extend_from_slice(format!("LOST {lost}\n").as_bytes());
            }),
        }
    }

    const WAIT: Duration = Duration::from_secs(30);

    #[test]
    fn announced_failures_and_lost_notices_are_announced_again() {
        let got = Arc::new(Mutex::new(Vec::new()));
        let fail = Arc::new(Mutex::new(true));
        let out = Collect {
            got: got.clone(),
            fail: fail.clone(),
        };
        let spool = Spool::start(config(true), out).unwrap();
        let t = datetime!(2026-11-23 10:00 UTC);
        spool.push(t, b"a");
        spool.push(t, b"b");
        assert!(spool.flush(Deadline::after(WAIT)));
        // Still failing: the notice of the first two is lost as well, and is not a
        // record of its own in the counts.
        spool.push(t, b"c");
        assert!(spool.flush(Deadline::after(WAIT)));
        assert_eq!((spool.written(), spool.failed()), (0, 3));
        *fail.lock().unwrap() = false;
        spool.push(t, b"d");
        assert!(spool.flush(Deadline::after(WAIT)));
        assert_eq!(&*got.lock().unwrap(), b"LOST 3\nd\n");
        assert_eq!(
            (spool.written(), spool.dropped(), spool.failed()),
            (1, 0, 3)
        );
        assert!(spool.shutdown(WAIT));
    }

    #[test]
    fn a_closed_door_lets_only_its_thread_in_and_its_record_is_last() {
        let got = Arc::new(Mutex::new(Vec::new()));
        let out = Collect {
            got: got.clone(),
            fail: Arc::new(Mutex::new(false)),
        };
        let mut config = config(false);
        config.capacity = 1;
        let spool = Arc::new(Spool::start(config, out).unwrap());
        let t = datetime!(2026-11-23 10:00 UTC);
        spool.push(t, b"a");
        // A loss before the door closes is announced before the last record.
        spool.push(t, b"lost");
        spool.close_door();
        let other = spool.clone();
        std::thread::spawn(move || {
            for _ in 0..3 {
                other.push(t, b"refused");
            }
        })
        .join()
        .unwrap();
        spool.push(t, b"last");
        assert!(spool.shutdown(WAIT));
        let got = String::from_utf8(got.lock().unwrap().clone()).unwrap();
        assert!(got.ends_with("last\n"), "{got}");
        assert!(!got.contains("refused"), "{got}");
        assert_eq!(spool.refused(), 3);
        assert_eq!(spool.backlog(), 0);
    }

    #[test]
    fn failures_are_not_announced_unless_asked() {
        let got = Arc::new(Mutex::new(Vec::new()));
        let fail = Arc::new(Mutex::new(true));
        let out = Collect {
            got: got.clone(),
            fail: fail.clone(),
        };
        let spool = Spool::start(config(false), out).unwrap();
        let t = datetime!(2026-11-23 10:00 UTC);
        spool.push(t, b"a");
        assert!(spool.flush(Deadline::after(WAIT)));
        *fail.lock().unwrap() = false;
        spool.push(t, b"b");
        assert!(spool.flush(Deadline::after(WAIT)));
        assert_eq!(&*got.lock().unwrap(), b"b\n");
        assert_eq!((spool.written(), spool.failed()), (1, 1));
    }
}
