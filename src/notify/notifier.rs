//! The [`Notifier`], the output that decides what is a notification (the layer around
//! it, `NotifyLayer`, is in `layer/notify.rs`).

use super::*;

/// The notifier's side of a record: decides whether it is a notification, keeps the
/// recent lines for telemetry, and hands items to the delivery thread.
pub(crate) struct Notifier {
    pub(super) tx: Option<SyncSender<Msg>>,
    pub(super) shared: Arc<Shared>,
    pub(crate) threshold: Level,
    pub(super) levels: Vec<(LevelRule, Option<Level>)>,
    pub(crate) telemetry_size: usize,
    pub(super) telemetry: SharedLines,
    pub(super) dedup: Arc<Mutex<Dedup>>,
    pub(super) queue_size: usize,
    /// This notifier's side data on spans (a request's recent lines).
    pub(super) id: usize,
}

impl Notifier {
    fn enqueue(&self, occ: Occurrence) {
        if self.shared.forked() {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let Some(tx) = &self.tx else {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        {
            let mut state = self.shared.lock();
            if state.deadline.is_some() || state.done {
                drop(state);
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
            state.pending += 1;
        }
        if let Err(e) = tx.try_send(Msg::Item(Box::new(occ))) {
            let mut state = self.shared.lock();
            state.pending = state.pending.saturating_sub(1);
            drop(state);
            self.shared.cond.notify_all();
            if let TrySendError::Full(Msg::Item(occ)) = e {
                self.overflow(occ);
            } else {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// A forked child's record: an error is dropped and counted (the child has no
    /// worker to deliver it).
    #[cold]
    fn drop_forked(&self, record: &Record<'_>) {
        if record.level >= self.threshold && self.tx.is_some() {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            crate::lifecycle::report_forked();
        }
    }

    /// An item that does not fit in the full queue: with a spool it waits (at most
    /// [`OVERFLOW`] of them) for the worker to spool it, else it is dropped.
    fn overflow(&self, occ: Box<Occurrence>) {
        if self.shared.spooling.load(Ordering::Relaxed) {
            let mut waiting = self
                .shared
                .overflow
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if waiting.len() < OVERFLOW {
                let mut state = self.shared.lock();
                if state.deadline.is_none() && !state.done {
                    state.pending += 1;
                    drop(state);
                    waiting.push_back(occ);
                    return;
                }
            }
        }
        self.drop_full();
    }

    fn drop_full(&self) {
        self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        self.shared.queue_full.report(format_args!(
            "notification queue full: error notifications are being dropped"
        ));
    }
}

/// What the layer's output does (its `Emit` is in `layer/notify.rs`).
impl Notifier {
    /// Notifies `record` if it is an error to send, and keeps it as telemetry.
    pub(crate) fn on_record(&self, record: &Record<'_>) {
        if in_worker() {
            return;
        }
        if self.shared.forked() {
            // A forked child: no worker, and locks the parent's threads may have held.
            return self.drop_forked(record);
        }
        // The level it is sent at: its own, or the first matching rule's.
        let level = match self.levels.iter().find(|(rule, _)| rule.matches(record)) {
            Some((_, level)) => *level,
            None => Some(record.level),
        };
        let notify = level.is_some_and(|l| l >= self.threshold) && self.tx.is_some();
        if !notify && self.telemetry_size == 0 {
            return;
        }
        let request = request_span(record);
        if let (true, Some(level)) = (notify, level) {
            self.notify(record, level, request, unix_ms(record.time));
        }
        if self.telemetry_size > 0 {
            // A request's lines are kept on its span, so its error carries them rather
            // than its neighbours' (see `request_span`); other lines go to the ring, which
            // serves errors outside requests. Concurrent requests so share no lock.
            if let Some(entry) = request.and_then(|span| span.entry.as_ref()) {
                entry.with_side(self.id, LineRing::default, |ring: &mut LineRing| {
                    ring.push(record, self.telemetry_size)
                });
                return;
            }
            self.telemetry.push(record, self.telemetry_size);
        }
    }

    /// A failed request's held lines (fingers crossed) are its context: they join the
    /// request's telemetry, in time order with its other lines, before its error is
    /// notified with them.
    pub(crate) fn on_failed_request(&self, block: &[Record<'_>], record: &Record<'_>) {
        if self.telemetry_size > 0 && !in_worker() && !self.shared.forked() {
            let held = &block[..block.len().saturating_sub(1)];
            // Only the newest can stay in the ring.
            let held = &held[held.len().saturating_sub(self.telemetry_size)..];
            if let Some(entry) = request_span(record).and_then(|span| span.entry.as_ref()) {
                entry.with_side(self.id, LineRing::default, |ring: &mut LineRing| {
                    ring.merge_older(held, self.telemetry_size)
                });
            }
        }
        self.on_record(record);
    }
}

impl Notifier {
    fn notify(
        &self,
        record: &Record<'_>,
        level: Level,
        request: Option<&SpanRef>,
        timestamp_ms: u64,
    ) {
        let is_response = record.name == RESPONSE_EVENT;
        if !self.first_of_request(request, is_response) {
            return;
        }
        let message = match request {
            Some(span) if is_response => response_title(span, record.message),
            _ => record.message.to_owned(),
        };
        let panic = split_panic(record);
        // The event's fields as sent: a panic's without the hook's structured fields.
        let fields = || match &panic {
            Some((_, fields)) => fields.clone(),
            None => owned_fields(record),
        };
        let panic_info = panic.as_ref().map(|(info, _)| info);
        let error = error_links(record);

        let spans_of = || -> Vec<(&'static str, Fields)> {
            record
                .spans
                .iter()
                .map(|span| (span.name, span.data.fields.to_fields()))
                .collect()
        };

        let (file, line, module) = location(record, panic_info);
        let group = is_response.then(|| message.clone());
        let key = identity(
            panic_info.is_some(),
            &error,
            group.as_deref(),
            occurrence::callsite(file.as_deref(), line, module.as_deref(), record.target),
            request,
        );
        let make = |telemetry: Vec<TelemetryLine>, spans: Vec<(&'static str, Fields)>| Occurrence {
            level,
            timestamp_ms,
            message: message.clone(),
            channel: record.target.to_owned(),
            file: file.clone(),
            line,
            module: module.clone(),
            thread: std::thread::current().name().map(str::to_owned),
            fields: fields(),
            spans,
            telemetry,
            panic: panic_info.cloned(),
            error: error.clone(),
            group: group.clone(),
            repeated: None,
            latest: None,
            trace: record.trace,
        };
        let admitted = self.dedup.lock().unwrap_or_else(|e| e.into_inner()).admit(
            key,
            Instant::now(),
            || make(Vec::new(), Vec::new()),
            |summary| {
                // The summary tells the latest repeat's fields and request: the fields
                // are refilled into one reused list, span snapshots are shared.
                if panic_info.is_some() {
                    summary.spans = spans_of();
                    summary.fields = fields();
                    return;
                }
                let latest = summary.latest.get_or_insert_with(Default::default);
                latest.fields.clone_from(record.fields);
                latest.spans.clear();
                latest.spans.extend(
                    record
                        .spans
                        .iter()
                        .map(|span| (span.name, span.data.clone())),
                );
            },
        );
        if !admitted {
            self.shared.suppressed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        // More pending than the queue holds plus the item in flight: the queue is
        // certainly full, so drop before copying telemetry and spans.
        if self.shared.lock().pending > self.queue_size {
            if self.shared.spooling.load(Ordering::Relaxed) {
                let telemetry = self.telemetry_for(request);
                return self.overflow(Box::new(make(telemetry, spans_of())));
            }
            self.drop_full();
            return;
        }
        let telemetry = self.telemetry_for(request);
        self.enqueue(make(telemetry, spans_of()));
    }

    /// One failed request, one notification: an error the handler logged is the
    /// request's notification (marked on its span), and its 5xx response line is then
    /// not sent. False for a response line that must not be sent.
    fn first_of_request(&self, request: Option<&SpanRef>, is_response: bool) -> bool {
        let Some(entry) = request.and_then(|span| span.entry.as_ref()) else {
            return true;
        };
        if is_response {
            return !entry
                .read_side(self.id, |side: &LineRing| side.notified)
                .unwrap_or(false);
        }
        entry.with_side(self.id, LineRing::default, |side: &mut LineRing| {
            side.notified = true
        });
        true
    }

    /// The recent lines an item takes along: inside a request, that request's own,
    /// never its neighbours'; outside, the shared ring's.
    fn telemetry_for(&self, request: Option<&SpanRef>) -> Vec<TelemetryLine> {
        if self.telemetry_size == 0 {
            Vec::new()
        } else if let Some(span) = request {
            span.entry
                .as_ref()
                .and_then(|entry| entry.read_side(self.id, LineRing::lines))
                .unwrap_or_default()
        } else {
            self.telemetry.lines(self.telemetry_size)
        }
    }
}

/// The record's fields, owned.
fn owned_fields(record: &Record<'_>) -> Vec<(&'static str, FieldValue)> {
    record
        .fields
        .iter()
        .map(|(k, v)| (k, v.to_owned_value()))
        .collect()
}

/// A panic hook's record: the panic (message, location, thread, backtrace, from the
/// hook's structured fields) and the record's other fields.
fn split_panic(record: &Record<'_>) -> Option<(PanicInfo, Vec<(&'static str, FieldValue)>)> {
    let is_panic = record.target == "panic"
        && record
            .fields
            .iter()
            .any(|(k, _)| k == crate::panic::FIELD_MESSAGE);
    if !is_panic {
        return None;
    }
    let mut fields = owned_fields(record);
    let mut info = PanicInfo::default();
    fields.retain(|(name, value)| {
        let slot = match *name {
            crate::panic::FIELD_MESSAGE => {
                info.message = value.to_text();
                return false;
            }
            crate::panic::FIELD_LOCATION => &mut info.location,
            crate::panic::FIELD_THREAD => &mut info.thread,
            crate::panic::FIELD_BACKTRACE => &mut info.backtrace,
            _ => return true,
        };
        *slot = Some(value.to_text());
        false
    });
    Some((info, fields))
}

/// The links of the record's first error field, owned.
fn error_links(record: &Record<'_>) -> Vec<ErrorLink> {
    record
        .fields
        .error_chain()
        .map(|(_, chain)| {
            chain
                .iter()
                .map(|link| ErrorLink {
                    class: link.class.to_owned(),
                    message: link.message.to_owned(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Where it happened: the callsite, or for a panic the panic's own location and the
/// module of its innermost application frame (not the hook's).
fn location(
    record: &Record<'_>,
    panic: Option<&PanicInfo>,
) -> (Option<String>, Option<u32>, Option<String>) {
    match panic {
        Some(p) => {
            let (frames, _) = backtrace::panic_trace(p.backtrace.as_deref(), p.location.as_deref());
            let (file, line, _) = backtrace::parse_location(p.location.as_deref().unwrap_or(""));
            (
                (!file.is_empty()).then(|| file.to_owned()),
                line,
                backtrace::panic_module(&frames),
            )
        }
        None => (
            record.file.map(str::to_owned),
            record.line,
            record.module.map(str::to_owned),
        ),
    }
}

/// The error's identity (its dedup key), the same as its fingerprint (see
/// `Occurrence::fingerprint`): its classes (`panic` for a panic, whatever the message;
/// each error class on its own) and where it happened (its group, else its callsite: a
/// panic's location, an event's file and line, never a `log` record's runtime target),
/// plus inside an HTTP request the route. A storm of any shape so folds into one item
/// per window, and its summary names what its fingerprint names.
fn identity(
    is_panic: bool,
    error: &[ErrorLink],
    group: Option<&str>,
    callsite: impl Hash,
    request: Option<&SpanRef>,
) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    occurrence::fingerprint_classes(is_panic, error).hash(&mut hasher);
    match group {
        Some(group) => group.hash(&mut hasher),
        None => callsite.hash(&mut hasher),
    }
    if let Some(route) = request.and_then(|span| {
        span.data
            .fields
            .iter()
            .find(|(name, _)| matches!(*name, "route" | "http.route"))
            .map(|(_, value)| value.to_owned_value().to_text())
    }) {
        route.hash(&mut hasher);
    }
    hasher.finish()
}
