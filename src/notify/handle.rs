//! [`NotifyHandle`]: flush, shutdown and the counters of a notifier.

use super::*;

/// Controls the notifier's background thread; cheap to clone.
///
/// Counters only grow: [`sent`](Self::sent) + [`failed`](Self::failed) +
/// [`abandoned`](Self::abandoned) items were finished, [`dropped`](Self::dropped) never
/// reached the queue, [`suppressed`](Self::suppressed) repeats were folded into a
/// summary.
#[derive(Clone)]
pub struct NotifyHandle {
    pub(super) shared: Arc<Shared>,
    pub(super) tx: Option<SyncSender<Msg>>,
    pub(super) destination: Destination,
}

impl fmt::Debug for NotifyHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotifyHandle")
            .field("destination", &self.destination)
            .field("stats", &self.stats())
            .finish()
    }
}

/// A snapshot of a [`NotifyHandle`]'s counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NotifyStats {
    /// Items the server accepted.
    pub sent: u64,
    /// Re-sends (after a network error, 5xx, 429 or 413).
    pub retried: u64,
    /// Items dropped because the queue was full or the notifier was shut down.
    pub dropped: u64,
    /// Items given up on: rejected (4xx) or still failing after the last attempt.
    pub failed: u64,
    /// Repeats of an error within its dedup window (sent as one summary).
    pub suppressed: u64,
    /// Items queued or in flight when shutdown's deadline passed.
    pub abandoned: u64,
    /// Items queued or being sent now.
    pub pending: u64,
    /// Items written to the [spool](crate::notify#the-spool) undelivered (the tracker
    /// was down, answered 5xx after the retries, or the process was ending).
    pub spooled: u64,
    /// Spooled items the tracker accepted later (of this run's or an earlier run's).
    pub replayed: u64,
    /// Spooled items deleted unsent because they were older than the spool's age bound.
    pub expired: u64,
    /// Spooled items deleted unsent to make room in a full spool, and items larger than
    /// the whole spool.
    pub spool_dropped: u64,
    /// Items written to the [preview](crate::notify#the-preview) directory.
    pub previewed: u64,
}

impl NotifyHandle {
    /// Where this notifier sends (the [`NotifyConfig::destination`] it was built from).
    ///
    /// ```
    /// use tracing_logbook::notify::{Destination, NotifyConfig, Request, Response, TransportError};
    ///
    /// let accept = |_: &Request<'_>| -> Result<Response, TransportError> { Ok(Response::status(200)) };
    /// let (_layer, handle) = NotifyConfig::rollbar("token").build_with_transport(accept);
    /// assert_eq!(handle.destination(), Destination::Rollbar);
    /// ```
    pub fn destination(&self) -> Destination {
        self.destination
    }

    /// Waits until every item handed over so far has been delivered or given up on, at
    /// most `timeout`. Returns false if the timeout passed first.
    ///
    /// ```
    /// use tracing_logbook::notify::NotifyConfig;
    /// let (_layer, handle) = NotifyConfig::rollbar("token").endpoint("http://127.0.0.1:9/").build();
    /// // Nothing queued: done at once.
    /// assert!(handle.flush(std::time::Duration::from_secs(1)));
    /// ```
    pub fn flush(&self, timeout: Duration) -> bool {
        if self.shared.forked() {
            return true;
        }
        let state = self.shared.lock();
        // On the notifier's own thread (a panic hook run by a panic caught there), no
        // item can finish while it waits: it would wait out the whole timeout.
        if in_worker() {
            return state.pending == 0;
        }
        let (state, _) =
            crate::lifecycle::Deadline::after(timeout)
                .wait_until(&self.shared.cond, state, |s| s.pending == 0 || s.done);
        state.pending == 0
    }

    /// Delivers what is queued (and the summaries of open dedup windows) and stops the
    /// background thread, taking at most `timeout` even against a hanging server.
    /// Items not delivered by then are counted as [`abandoned`](Self::abandoned) and
    /// reported on stderr. Events logged afterwards are dropped. Calling it again
    /// does nothing more.
    ///
    /// ```
    /// use tracing_logbook::notify::NotifyConfig;
    /// let (_layer, handle) = NotifyConfig::rollbar("token").endpoint("http://127.0.0.1:9/").build();
    /// assert!(handle.shutdown(std::time::Duration::from_secs(1)));
    /// assert_eq!(handle.abandoned(), 0);
    /// ```
    pub fn shutdown(&self, timeout: Duration) -> bool {
        if self.shared.forked() {
            return true;
        }
        let deadline = crate::lifecycle::Deadline::after(timeout);
        let mut state = self.shared.lock();
        if state.deadline.is_some() {
            drop(state);
            return self.abandoned() == 0;
        }
        // Without a representable deadline, the worker still gets a bounded one: the
        // network must never hold the process hostage.
        state.deadline = Some(
            deadline
                .instant()
                .unwrap_or_else(|| Instant::now() + crate::lifecycle::SHUTDOWN_TIMEOUT),
        );
        drop(state);
        self.shared.cond.notify_all();
        // Wake a worker blocked on an empty queue. A full queue needs no wake-up: the
        // worker is busy and looks at the deadline before its next item.
        if let Some(tx) = &self.tx {
            let _ = tx.try_send(Msg::Wake);
        }
        let state = self.shared.lock();
        let (mut state, _) = deadline.wait_until(&self.shared.cond, state, |s| s.done);
        let pending = state.pending;
        if pending > 0 && !state.done {
            // What is still queued or in flight now is what the deadline abandons; the
            // worker, finishing in the background, counts no more (see `State::gave_up`).
            state.gave_up = true;
            self.shared
                .abandoned
                .fetch_add(pending as u64, Ordering::Relaxed);
        }
        drop(state);
        if pending > 0 {
            diag::report(format_args!(
                "{pending} error notification{} not delivered within the shutdown deadline of {:.1} s",
                if pending == 1 { "" } else { "s" },
                timeout.as_secs_f64()
            ));
        }
        pending == 0
    }

    /// Items sent (`written`), dropped and failed, in the shape every background
    /// destination of the crate reports (see [`NotifyHandle::stats`] for the rest).
    ///
    /// ```
    /// use tracing_logbook::notify::NotifyConfig;
    /// let (_layer, handle) = NotifyConfig::rollbar("token").endpoint("http://127.0.0.1:9/").build();
    /// assert_eq!(handle.counts().written, 0);
    /// ```
    pub fn counts(&self) -> crate::Counts {
        crate::Counts::new(self.sent(), self.dropped(), self.failed())
    }

    /// Items the server accepted.
    ///
    /// ```
    /// use tracing_logbook::notify::NotifyConfig;
    /// let (_layer, handle) = NotifyConfig::rollbar("token").endpoint("http://127.0.0.1:9/").build();
    /// assert_eq!(handle.sent(), 0);
    /// ```
    pub fn sent(&self) -> u64 {
        self.shared.sent.load(Ordering::Relaxed)
    }

    /// Re-sends after a network error, 5xx, 429 or 413.
    ///
    /// ```
    /// use tracing_logbook::notify::NotifyConfig;
    /// let (_layer, handle) = NotifyConfig::rollbar("token").endpoint("http://127.0.0.1:9/").build();
    /// assert_eq!(handle.retried(), 0);
    /// ```
    pub fn retried(&self) -> u64 {
        self.shared.retried.load(Ordering::Relaxed)
    }

    /// Items dropped because the queue was full or the notifier was shut down.
    ///
    /// ```
    /// use tracing_logbook::notify::NotifyConfig;
    /// let (_layer, handle) = NotifyConfig::rollbar("token").endpoint("http://127.0.0.1:9/").build();
    /// assert_eq!(handle.dropped(), 0);
    /// ```
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Items given up on: rejected by the server (4xx) or failing after the last attempt.
    ///
    /// ```
    /// use tracing_logbook::notify::NotifyConfig;
    /// let (_layer, handle) = NotifyConfig::rollbar("token").endpoint("http://127.0.0.1:9/").build();
    /// assert_eq!(handle.failed(), 0);
    /// ```
    pub fn failed(&self) -> u64 {
        self.shared.failed.load(Ordering::Relaxed)
    }

    /// Repeats of an error folded into a summary by deduplication.
    ///
    /// ```
    /// use tracing_logbook::notify::NotifyConfig;
    /// let (_layer, handle) = NotifyConfig::rollbar("token").endpoint("http://127.0.0.1:9/").build();
    /// assert_eq!(handle.suppressed(), 0);
    /// ```
    pub fn suppressed(&self) -> u64 {
        self.shared.suppressed.load(Ordering::Relaxed)
    }

    /// Items still queued or in flight when [`shutdown`](Self::shutdown)'s deadline
    /// passed.
    ///
    /// ```
    /// use tracing_logbook::notify::NotifyConfig;
    /// let (_layer, handle) = NotifyConfig::rollbar("token").endpoint("http://127.0.0.1:9/").build();
    /// assert_eq!(handle.abandoned(), 0);
    /// ```
    pub fn abandoned(&self) -> u64 {
        self.shared.abandoned.load(Ordering::Relaxed)
    }

    /// All counters at once.
    ///
    /// ```
    /// use tracing_logbook::notify::NotifyConfig;
    /// let (_layer, handle) = NotifyConfig::rollbar("token").endpoint("http://127.0.0.1:9/").build();
    /// let stats = handle.stats();
    /// assert_eq!((stats.sent, stats.dropped, stats.abandoned), (0, 0, 0));
    /// ```
    pub fn stats(&self) -> NotifyStats {
        NotifyStats {
            sent: self.sent(),
            retried: self.retried(),
            dropped: self.dropped(),
            failed: self.failed(),
            suppressed: self.suppressed(),
            abandoned: self.abandoned(),
            spooled: self.shared.spooled.load(Ordering::Relaxed),
            replayed: self.shared.replayed.load(Ordering::Relaxed),
            expired: self.shared.expired.load(Ordering::Relaxed),
            spool_dropped: self.shared.spool_dropped.load(Ordering::Relaxed),
            previewed: self.shared.previewed.load(Ordering::Relaxed),
            pending: match self.shared.forked() {
                true => 0,
                false => self.shared.lock().pending as u64,
            },
        }
    }
}

impl NotifyHandle {
    /// Items that were in the spool when the notifier started.
    pub(crate) fn spool_waiting(&self) -> u64 {
        self.shared.waiting_at_start.load(Ordering::Relaxed)
    }
}

impl crate::lifecycle::Component for NotifyHandle {
    fn flush(&self, deadline: crate::lifecycle::Deadline) -> bool {
        NotifyHandle::flush(self, deadline.timeout())
    }
    fn shutdown(&self, deadline: crate::lifecycle::Deadline) -> bool {
        NotifyHandle::shutdown(self, deadline.timeout())
    }
    fn undelivered(&self) -> crate::lifecycle::Undelivered {
        crate::lifecycle::Undelivered {
            items: self.stats().pending,
            ..Default::default()
        }
    }
}
